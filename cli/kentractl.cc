#include "cli/kentractl.h"

#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/config.h"
#include "common/status.h"
#include "common/tls.h"
#include "common/time_util.h"
#include "node/synthetic/synthetic.h"

namespace kentra::cli {
namespace {

constexpr char kUsage[] = R"(kentractl: the command line of kentra.

Staff commands (to a centre's node):
  beneficiary add --given=G --family=F --birth=YYYY-MM-DD --gender=female|male|non-binary
                  --municipality=M [--household=N] [--phone=P] [--email=E] [--address=A]
                  [--amka=11DIGITS | --personal-number=12CHARS] [--groups=g1,g2]
                  [--consents=service-provision,referral-sharing]
  beneficiary get ID
  beneficiary find (--amka=X | --name=PREFIX)
  beneficiary list [--group=G] [--municipality=M] [--page-size=N] [--all]
  case open --beneficiary=ID --worker=USER --needs=n1,n2 [--notes=T]
  case list [--state=open|closed] [--worker=USER] [--group=G] [--from=DATE] [--to=DATE] [--all]
  case show ID
  case close ID --reason=R [--note=T]
  case reopen ID --note=T
  service record --case=ID --type=T --date=YYYY-MM-DD --worker=USER
                 [--programme=P] [--topic=T] [--notes=T]
  service timeline CASE_ID
  audit list [--resource=NAME] [--actor=NAME] [--all]
Development:
  seed --centre=CONFIG [--scale=1.0] [--seed=1] [--threads=4]

Options for every command:
  --node=HOST:PORT   the node (default $KENTRA_NODE, else 127.0.0.1:50051)
  --identity_dir=DIR your certificate: ca.crt, client.crt, client.key (default
                     $KENTRA_IDENTITY_DIR, else ~/.config/kentra)
  --insecure         plaintext, no certificates (loopback only, development)
  --output=table|json|csv
  --user=NAME        who you are (default $KENTRA_USER, else $USER)
  --timeout=SECONDS  per call (default 10)
)";

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

absl::Status RunSeed(const Args& args, StaffSession& session, std::ostream& err) {
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed({"centre", "scale", "seed", "threads", "node", "insecure", "identity_dir",
                                            "output", "user", "timeout"}));
  KENTRA_ASSIGN_OR_RETURN(std::string path, args.Require("centre"));
  KENTRA_ASSIGN_OR_RETURN(auto centre, LoadCentreConfig(path));
  double scale = 1.0;
  if (!absl::SimpleAtod(args.GetOr("scale", "1"), &scale) || scale <= 0 || scale > 100) {
    return UsageError("--scale must be a number above 0 and at most 100");
  }
  KENTRA_ASSIGN_OR_RETURN(int seed, args.GetInt("seed", 1));
  KENTRA_ASSIGN_OR_RETURN(int threads, args.GetInt("threads", 4));
  if (threads < 1 || threads > 64) return UsageError("--threads must be 1 to 64");
  synthetic::SyntheticCentre generator(centre, static_cast<uint64_t>(seed), scale, TodayAt(absl::Now()));
  const bool tty = isatty(STDERR_FILENO);
  const absl::Time start = absl::Now();
  auto progress = [&](int done, int total) {
    const int width = 30;
    const int filled = total == 0 ? width : done * width / total;
    err << absl::StrFormat("%sseeding %-18s [%s%s] %3d%% %d/%d people", tty ? "\r" : "",
                           centre.id(), std::string(filled, '#'), std::string(width - filled, '.'),
                           total == 0 ? 100 : done * 100 / total, done, total);
    err << (tty && done < total ? "" : "\n") << std::flush;
  };
  KENTRA_ASSIGN_OR_RETURN(auto stats, synthetic::SeedNode(generator, session.stub.get(), threads,
                                                          progress));
  *session.out << absl::StrFormat("seeded %s: %d beneficiaries, %d cases, %d service events in %.1fs\n",
                                  centre.id(), stats.beneficiaries, stats.cases, stats.service_events,
                                  absl::ToDoubleSeconds(absl::Now() - start));
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<grpc::ClientContext> StaffSession::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  ctx->AddMetadata("x-kentra-user", user);
  return ctx;
}

int RunKentractl(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  Args args = Args::Parse(argv);
  if (args.positional().empty() || args.Has("help") || args.positional()[0] == "help") {
    (args.positional().empty() && !args.Has("help") ? err : out) << kUsage;
    return args.positional().empty() && !args.Has("help") ? 2 : 0;
  }
  StaffSession session;
  session.out = &out;
  session.user = args.GetOr("user", EnvOr("KENTRA_USER", EnvOr("USER", "")));
  auto format = ParseFormat(args.GetOr("output", "table"));
  auto timeout = args.GetInt("timeout", 10);
  if (!format.ok() || !timeout.ok() || *timeout <= 0) {
    err << "kentractl: " << (!format.ok() ? format.status().message() : "--timeout must be a positive number of seconds") << "\n";
    return 2;
  }
  session.format = *format;
  session.timeout = absl::Seconds(*timeout);
  const std::string target = args.GetOr("node", EnvOr("KENTRA_NODE", "127.0.0.1:50051"));
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!args.Has("insecure")) {
    const std::string home = EnvOr("HOME", "");
    const std::string config_home = EnvOr("XDG_CONFIG_HOME", home.empty() ? "" : home + "/.config");
    const std::string dir = args.GetOr("identity_dir", EnvOr("KENTRA_IDENTITY_DIR", config_home + "/kentra"));
    auto identity = LoadTlsIdentity(dir, "client");
    if (!identity.ok()) {
      err << "kentractl: no usable certificate: " << identity.status().message()
          << " (set --identity_dir, or --insecure for a plaintext node on loopback)\n";
      return 2;
    }
    credentials = MakeClientCredentials(*identity);
  }
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(16 << 20);
  session.stub = kentra::node::v1::StaffService::NewStub(grpc::CreateCustomChannel(target, credentials, channel_args));

  const std::string& noun = args.positional()[0];
  absl::Status status = noun == "seed" ? RunSeed(args, session, err) : RunStaffCommand(noun, args, session);
  if (status.ok()) return 0;
  if (IsUsageError(status)) {
    err << "kentractl: " << status.message() << "\n";
    return 2;
  }
  err << "kentractl: " << absl::StatusCodeToString(status.code()) << ": " << status.message() << "\n";
  return 1;
}

}  // namespace kentra::cli
