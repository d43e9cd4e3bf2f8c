// kentra-node: a Community Centre's own server. Flags, config, storage, service, wait.
#include <cstdio>
#include <iostream>

#include <google/protobuf/text_format.h>


#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/config.h"
#include "common/server.h"
#include "common/sealing.h"
#include "common/terminal.h"
#include "common/tls.h"
#include "node/node_server.h"

ABSL_FLAG(std::string, config, "", "The centre's config (configs/centres/<id>.textproto).");
ABSL_FLAG(std::string, data_dir, "", "Directory of the node's RocksDB database (created if missing).");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "HOST:PORT to serve on; port 0 picks a free one.");
ABSL_FLAG(std::string, secrets_dir, "",
          "The centre's certificates, keys and secrets (ca.crt, server.crt/key, node.key, federation.secret).");
ABSL_FLAG(std::string, federation, "", "The federation config (configs/federation.textproto): revoked certificates.");
ABSL_FLAG(std::string, roster, "", "The signed roster of node keys (kentractl roster sign).");
ABSL_FLAG(std::string, roster_root_key, "", "The operator's root public key the roster must be signed with (64 hex digits).");
ABSL_FLAG(bool, print_roster_entry, false, "Print this node's public keys as a roster entry (for the operator), then exit.");
ABSL_FLAG(std::string, hub, "", "The hub to sync with, HOST:PORT (empty: no sync).");
ABSL_FLAG(bool, insecure, false, "Serve plaintext, without certificates (allowed only on a loopback address).");
ABSL_FLAG(std::string, bootstrap_coordinator, "",
          "Create (or re-key) this centre's first coordinator with a password read from standard "
          "input, then exit. Only while the node is stopped, and only if no other coordinator is active.");
ABSL_FLAG(std::string, backup_dir, "",
          "Where backups of the store go (kentractl backup create); outside the data directory. Empty: none.");
ABSL_FLAG(int, backups_kept, 14, "How many backups stay in --backup_dir; older ones are deleted.");
ABSL_FLAG(absl::Duration, backup_every, absl::ZeroDuration(),
          "Take a backup into --backup_dir whenever the newest there is this old (e.g. 24h; at least 1m), and at "
          "start if there is none. 0: only on request (kentractl backup create).");
ABSL_FLAG(bool, check, false, "Check that every index agrees with its records, then exit.");

int main(int argc, char** argv) {
  kentra::InitServerProcess();
  absl::SetProgramUsageMessage(
      "kentra-node --config=FILE --data_dir=DIR --secrets_dir=DIR [--federation=FILE] [--listen=HOST:PORT]");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_config).empty() ||
      (absl::GetFlag(FLAGS_data_dir).empty() && !absl::GetFlag(FLAGS_print_roster_entry))) {
    std::cerr << "kentra-node: --config and --data_dir are required\n";
    return 1;
  }
  auto centre = kentra::LoadCentreConfig(absl::GetFlag(FLAGS_config));
  if (!centre.ok()) {
    std::cerr << "kentra-node: bad config: " << centre.status().message() << "\n";
    return 1;
  }
  kentra::node::NodeOptions options;
  options.centre = *centre;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.insecure = absl::GetFlag(FLAGS_insecure);
  options.secrets_dir = absl::GetFlag(FLAGS_secrets_dir);
  options.hub_address = absl::GetFlag(FLAGS_hub);
  options.roster_path = absl::GetFlag(FLAGS_roster);
  options.roster_root_key_path = absl::GetFlag(FLAGS_roster_root_key);
  options.backup_dir = absl::GetFlag(FLAGS_backup_dir);
  options.backups_kept = absl::GetFlag(FLAGS_backups_kept);
  options.backup_every = absl::GetFlag(FLAGS_backup_every);
  if (absl::GetFlag(FLAGS_print_roster_entry)) {
    auto seed = kentra::ReadHexSecretFile(options.secrets_dir + "/node.key");
    auto keys = seed.ok() ? kentra::NodeKeys::FromSeed(*seed)
                          : absl::StatusOr<kentra::NodeKeys>(seed.status());
    if (!keys.ok()) {
      std::cerr << "kentra-node: " << keys.status().message() << "\n";
      return 1;
    }
    std::string text;
    google::protobuf::TextFormat::PrintToString(keys->Entry(centre->id()), &text);
    std::cout << text;
    return 0;
  }
  if (!absl::GetFlag(FLAGS_federation).empty()) {
    auto federation = kentra::LoadFederationConfig(absl::GetFlag(FLAGS_federation));
    if (!federation.ok()) {
      std::cerr << "kentra-node: bad federation config: " << federation.status().message() << "\n";
      return 1;
    }
    options.revoked_serials = kentra::RevokedSerials(*federation);
  }
  if (const std::string user = absl::GetFlag(FLAGS_bootstrap_coordinator); !user.empty()) {
    auto password = kentra::ReadNewSecret("password for coordinator " + user + ": ");
    absl::Status created = password.status();
    if (password.ok()) created = kentra::node::BootstrapCoordinator(options, user, *password).status();
    if (!created.ok()) {
      std::cerr << "kentra-node: cannot bootstrap the coordinator: " << created.message() << "\n";
      return 1;
    }
    std::cout << "kentra-node " << centre->id() << ": coordinator " << user
              << " can now log in (kentractl login --user=" << user << ")" << std::endl;
    return 0;
  }
  auto node = kentra::node::NodeServer::Start(options);
  if (!node.ok()) {
    std::cerr << "kentra-node: cannot start: " << node.status().message() << "\n";
    return 1;
  }
  if (absl::GetFlag(FLAGS_check)) {
    absl::Status s = (*node)->records()->CheckConsistency();
    std::cout << (s.ok() ? "consistent" : std::string(s.message())) << std::endl;
    return s.ok() ? 0 : 2;
  }
  // Scripts and tests read this line to learn the port.
  std::printf("kentra-node %s listening on port %d\n", centre->id().c_str(), (*node)->port());
  std::fflush(stdout);
  int sig = kentra::WaitForTerminationSignal();
  std::fprintf(stderr, "kentra-node: signal %d, draining\n", sig);
  (*node)->Shutdown(absl::Seconds(10));
  node->reset();  // closes RocksDB
  std::fprintf(stderr, "kentra-node: stopped cleanly\n");
  return 0;
}
