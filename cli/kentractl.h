// kentractl, the command line of staff, authority and operator, as a library: the
// binary's main and the tests both call RunKentractl.
#ifndef KENTRA_CLI_KENTRACTL_H_
#define KENTRA_CLI_KENTRACTL_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "cli/output.h"
#include "kentra/node/v1/account_service.grpc.pb.h"
#include "kentra/node/v1/staff_service.grpc.pb.h"

namespace kentra::cli {

// What every staff command needs: a connection, the staff session and how to print.
struct StaffSession {
  std::unique_ptr<kentra::node::v1::StaffService::Stub> stub;
  std::unique_ptr<kentra::node::v1::AccountService::Stub> accounts;
  // The channel of the command: to the node, or to the hub for hub commands.
  std::shared_ptr<grpc::Channel> channel;
  // The node's address, and the file that keeps the session token for it.
  std::string target;
  std::string session_file;
  // The session token ("" when not logged in).
  std::string token;
  Format format = Format::kTable;
  absl::Duration timeout = absl::Seconds(10);
  std::ostream* out = nullptr;

  // A client context with the deadline and the session token set.
  std::unique_ptr<grpc::ClientContext> Context() const;
};

// Runs one kentractl command (argv without the program name). Returns the exit
// code: 0 on success, 2 for a usage error, 1 for an error from the server, whose
// message is printed to `err`.
int RunKentractl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Options every command accepts.
const std::set<std::string>& CommonOptions();

// The staff commands (beneficiary, case, service, audit), dispatched on the noun.
absl::Status RunStaffCommand(const std::string& noun, const Args& args, StaffSession& session);

// Whether `noun` is an indicator command (indicators, month), and runs one.
bool IsIndicatorCommand(const std::string& noun);
absl::Status RunIndicatorCommand(const std::string& noun, const Args& args, StaffSession& session);

// kentractl backup create|list (the node's coordinator) and admin backup create|list
// (the hub's operator).
absl::Status RunBackupCommand(const Args& args, StaffSession& session);
absl::Status RunHubBackupCommand(const Args& args, StaffSession& session);

// kentractl referral targets|send|inbox|outbox|show|accept|reject|start|complete|cancel|watch.
absl::Status RunReferralCommand(const Args& args, StaffSession& session);

// kentractl roster sign and directory sign: local, talk to no server.
absl::Status RunRosterCommand(const Args& args, std::ostream& out);
absl::Status RunDirectoryCommand(const Args& args, std::ostream& out);

// Whether `noun` is a hub command (stats, admin), and runs one.
bool IsHubCommand(const std::string& noun);
absl::Status RunHubCommand(const std::string& noun, const Args& args, StaffSession& session);

// Whether `noun` is an account command (login, logout, passwd, user).
bool IsAccountCommand(const std::string& noun);
// The account commands. Passwords are read from the terminal without echo, or
// one per line from standard input when it is not a terminal; never from flags.
absl::Status RunAccountCommand(const std::string& noun, const Args& args, StaffSession& session);

}  // namespace kentra::cli

#endif  // KENTRA_CLI_KENTRACTL_H_
