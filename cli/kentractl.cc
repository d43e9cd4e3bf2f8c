#include "cli/kentractl.h"

#include "common/anon/ptable.h"

#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/anon/ptable.h"
#include "common/config.h"
#include "common/status.h"
#include "common/tls.h"
#include "common/time_util.h"
#include "cli/session_file.h"
#include "node/synthetic/synthetic.h"

namespace kentra::cli {
namespace {

constexpr char kUsage[] = R"(kentractl: the command line of kentra.

Staff session (passwords are typed at the prompt, or one per line on stdin):
  login [--user=NAME]          open a session (default user $KENTRA_USER, else $USER)
  logout
  passwd                       change your password (opens a fresh session)
Staff users (coordinator):
  user add NAME --role=coordinator|social-worker|psychologist|viewer [--display-name=D]
                               (prompts for a temporary password)
  user list
  user disable NAME | user enable NAME
  user set-role NAME --role=R
  user reset-password NAME     (prompts for a temporary password; unlocks the account)

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
                 [--programme=P] [--topic=T] [--notes=T] [--confidential]
  service timeline CASE_ID
  audit list [--resource=NAME] [--actor=NAME] [--all]     (coordinator)
Referrals (sealed end to end; the other centre sees every step):
  referral targets --service=T --municipality=M   where the directory says to refer, best first
  referral send --beneficiary=ID [--to=CENTRE[/SITE]] --service=T --reason=TEXT
                [--urgency=routine|urgent|emergency] [--note=T] [--request-id=UUID]
                (needs the person's consent to share for referral; without --to, the first target)
  referral inbox | outbox [--state=S] [--all]
  referral show ID
  referral accept ID [--open-case [--needs=n1,n2]] [--note=T]
  referral reject ID --reason=service-not-offered|out-of-area|not-eligible|no-capacity|incomplete|duplicate
  referral start ID [--note=T]
  referral complete ID --outcome=successful|person-did-not-attend|person-declined|not-possible [--note=T]
  referral cancel ID [--note=T]
  referral watch [--count=N]   print referrals as they arrive and change
Indicators (what the node sends the hub; protected, kentra-anon/v2):
  indicators show [--month=YYYY-MM]
  month close YYYY-MM          (coordinator) the month's indicators become final
  sync                         (coordinator) sync with the hub now
  sync history                 (coordinator) past syncs, newest first
Backups (coordinator; the node needs --backup_dir):
  backup create                a consistent copy of the whole store, taken while the node serves
  backup list [--all]          the backups the node keeps, newest first
Regional authority and operator (to the hub, with their certificate):
  stats indicators --from=YYYY-MM [--to=YYYY-MM] [--by=target-group|gender-age|service|service-events]
                   [--region=R] [--centres=a,b]
  stats esf --mis=CODE --month=YYYY-MM [--region=R]
  stats referrals --from=YYYY-MM [--to=YYYY-MM] [--region=R] [--centres=a,b]
                               sent, received, accepted, rejected, completed per service;
                               median days from sending to acceptance
  stats disclosure-table [--threshold=10]
                               what each published value can stand for (talks to no server)
  admin centres                (operator) last sync of every centre; stale ones flagged
  admin authorities            (operator) each authority's use of its query budget
  admin audit [--page-size=N]  (operator) the hub's audit log, newest first
  admin backup create | list [--all]
                               (operator) back up the hub's stores while it serves (needs --backup_dir)
Operator, on the machine with the root key (talks to no server):
  roster sign --root_seed=FILE (--entries=a.textproto,... | --node_keys=PKI/centres) --version=N
              --out=roster.pb [--root_pub_out=root.pub]
  directory sign --root_seed=FILE --hub_config=configs/hub.textproto --version=N --out=directory.pb
Development:
  seed --centre=CONFIG [--scale=1.0] [--seed=1] [--threads=4]

Options for every command:
  --node=HOST:PORT   the node (default $KENTRA_NODE, else 127.0.0.1:50051)
  --hub=HOST:PORT    the hub, for stats and admin (default $KENTRA_HUB, else 127.0.0.1:50050)
  --identity_dir=DIR your certificate: ca.crt, client.crt, client.key (default
                     $KENTRA_IDENTITY_DIR, else ~/.config/kentra)
  --insecure         plaintext, no certificates (loopback only, development)
  --session_dir=DIR  where session tokens are kept (default $KENTRA_SESSION_DIR,
                     else ~/.config/kentra/sessions)
  --output=table|json|csv
  --timeout=SECONDS  per call (default 10)
)";

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

absl::Status RunSeed(const Args& args, StaffSession& session, std::ostream& err) {
  std::set<std::string> allowed = CommonOptions();
  allowed.insert({"centre", "scale", "seed", "threads"});
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(allowed));
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
  KENTRA_ASSIGN_OR_RETURN(auto stats, synthetic::SeedNode(generator, session.stub.get(), session.token, threads,
                                                          progress));
  *session.out << absl::StrFormat("seeded %s: %d beneficiaries, %d cases, %d service events in %.1fs\n",
                                  centre.id(), stats.beneficiaries, stats.cases, stats.service_events,
                                  absl::ToDoubleSeconds(absl::Now() - start));
  return absl::OkStatus();
}

}  // namespace

const std::set<std::string>& CommonOptions() {
  static const auto* options =
      new std::set<std::string>{"node", "hub", "insecure", "identity_dir", "session_dir", "output", "timeout"};
  return *options;
}

std::unique_ptr<grpc::ClientContext> StaffSession::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

int RunKentractl(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  Args args = Args::Parse(argv);
  if (args.positional().empty() || args.Has("help") || args.positional()[0] == "help") {
    (args.positional().empty() && !args.Has("help") ? err : out) << kUsage;
    return args.positional().empty() && !args.Has("help") ? 2 : 0;
  }
  if (args.positional().size() > 1 && args.positional()[0] == "stats" && args.positional()[1] == "disclosure-table") {
    absl::Status status = args.CheckAllowed({"threshold"});
    auto k = args.GetInt("threshold", 10);
    if (status.ok() && (!k.ok() || *k < 5 || *k > 1000)) status = UsageError("--threshold must be 5 to 1000");
    if (status.ok()) {
      out << anon::DisclosureTableMarkdown(anon::PerturbationTableV1(), *k);
      return 0;
    }
    err << "kentractl: " << status.message() << "\n";
    return 2;
  }
  if (args.positional()[0] == "roster" || args.positional()[0] == "directory") {
    absl::Status status =
        args.positional()[0] == "roster" ? RunRosterCommand(args, out) : RunDirectoryCommand(args, out);
    if (status.ok()) return 0;
    err << "kentractl: " << status.message() << "\n";
    return IsUsageError(status) ? 2 : 1;
  }
  StaffSession session;
  session.out = &out;
  auto format = ParseFormat(args.GetOr("output", "table"));
  auto timeout = args.GetInt("timeout", 10);
  if (!format.ok() || !timeout.ok() || *timeout <= 0) {
    err << "kentractl: " << (!format.ok() ? format.status().message() : "--timeout must be a positive number of seconds") << "\n";
    return 2;
  }
  session.format = *format;
  session.timeout = absl::Seconds(*timeout);
  const std::string& noun = args.positional()[0];
  const std::string target = IsHubCommand(noun) ? args.GetOr("hub", EnvOr("KENTRA_HUB", "127.0.0.1:50050"))
                                                : args.GetOr("node", EnvOr("KENTRA_NODE", "127.0.0.1:50051"));
  const std::string home = EnvOr("HOME", "");
  const std::string config_home = EnvOr("XDG_CONFIG_HOME", home.empty() ? "" : home + "/.config");
  session.target = target;
  session.session_file = SessionFilePath(
      args.GetOr("session_dir", EnvOr("KENTRA_SESSION_DIR", config_home + "/kentra/sessions")), target);
  if (auto token = ReadSessionToken(session.session_file); token.ok()) {
    session.token = *token;
  } else if (token.status().code() != absl::StatusCode::kNotFound) {
    err << "kentractl: ignoring the saved session: " << token.status().message() << "\n";
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!args.Has("insecure")) {
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
  session.channel = grpc::CreateCustomChannel(target, credentials, channel_args);
  session.stub = kentra::node::v1::StaffService::NewStub(session.channel);
  session.accounts = kentra::node::v1::AccountService::NewStub(session.channel);

  absl::Status status = noun == "seed"                ? RunSeed(args, session, err)
                        : IsHubCommand(noun)          ? RunHubCommand(noun, args, session)
                        : IsAccountCommand(noun)      ? RunAccountCommand(noun, args, session)
                        : IsIndicatorCommand(noun)    ? RunIndicatorCommand(noun, args, session)
                        : noun == "referral"          ? RunReferralCommand(args, session)
                        : noun == "backup"            ? RunBackupCommand(args, session)
                                                      : RunStaffCommand(noun, args, session);
  if (status.ok()) return 0;
  if (IsUsageError(status)) {
    err << "kentractl: " << status.message() << "\n";
    return 2;
  }
  err << "kentractl: " << absl::StatusCodeToString(status.code()) << ": " << status.message() << "\n";
  if (status.code() == absl::StatusCode::kUnauthenticated && !IsAccountCommand(noun) && !IsHubCommand(noun)) {
    err << "kentractl: log in with: kentractl login --node=" << target << "\n";
  }
  return 1;
}

}  // namespace kentra::cli
