// kentra-bench-sync: what a node's sync with the hub costs, side by side in one
// run: the first sync of a centre's whole history, the sync after one day of
// activity, and a sync with nothing to send. Hub and node are separate processes
// talking mutual TLS; the node holds Thessaloniki's synthetic data.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "bench/workloads.h"
#include "common/config.h"
#include "common/server.h"
#include "common/status.h"
#include "common/time_util.h"
#include "common/tls.h"
#include "node/synthetic/synthetic.h"
#include "tests/testing/process.h"

ABSL_FLAG(double, scale, 1.0, "Size of the synthetic Thessaloniki data (1.0 = 6000 people).");
ABSL_FLAG(int, day_events, 100, "Service events recorded in the one day of activity.");
ABSL_FLAG(std::string, node_binary, KENTRA_NODE_BINARY, "The kentra-node binary.");
ABSL_FLAG(std::string, hub_binary, KENTRA_HUB_BINARY, "The kentra-hub binary.");

namespace kentra::bench {
namespace {

namespace nv1 = kentra::node::v1;

std::unique_ptr<grpc::ClientContext> Session(const std::string& token, absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

absl::StatusOr<nv1::SyncRun> SyncNow(nv1::StaffService::Stub* stub, const std::string& token) {
  nv1::SyncRun run;
  KENTRA_RETURN_IF_ERROR(FromGrpcStatus(stub->SyncNow(Session(token, absl::Minutes(10)).get(), {}, &run)));
  if (!run.succeeded()) return absl::InternalError(run.error());
  return run;
}

void Print(const char* what, const nv1::SyncRun& run) {
  const double seconds = absl::ToDoubleSeconds(FromTimestamp(run.end_time()) - FromTimestamp(run.start_time()));
  std::printf("%-34s %7d %12lld %10.3f\n", what, run.periods_pushed(), static_cast<long long>(run.bytes_sent()),
              seconds);
}

int Run() {
  const std::string config = KENTRA_SOURCE_DIR "/configs/centres/thessaloniki.textproto";
  auto centre = LoadCentreConfig(config);
  if (!centre.ok()) {
    std::cerr << "kentra-bench-sync: " << centre.status() << "\n";
    return 1;
  }
  char tmpl[] = "/tmp/kentra-bench-sync-XXXXXX";
  const std::string tmp = mkdtemp(tmpl);
  auto fail = [&](const std::string& what, const absl::Status& s) {
    std::cerr << "kentra-bench-sync: " << what << ": " << s << "\n";
    std::filesystem::remove_all(tmp);
    return 1;
  };
  const std::string pki = tmp + "/pki";
  if (std::system(absl::StrCat(KENTRA_SOURCE_DIR "/scripts/dev-pki ", pki, " --centres=thessaloniki >/dev/null").c_str()) != 0) {
    return fail("scripts/dev-pki", absl::InternalError("failed"));
  }
  const std::string data_dir = tmp + "/node";
  if (absl::Status s = AddBenchUser(*centre, data_dir); !s.ok()) return fail("adding the bench user", s);

  kentra::testing::ChildProcess hub({absl::GetFlag(FLAGS_hub_binary), "--config=" KENTRA_SOURCE_DIR "/configs/hub.textproto",
                                     "--data_dir=" + tmp + "/hub", "--listen=127.0.0.1:0", "--secrets_dir=" + pki + "/hub"});
  if (hub.port() == 0) return fail("starting the hub", absl::InternalError("no port"));
  kentra::testing::ChildProcess node({absl::GetFlag(FLAGS_node_binary), "--config=" + config, "--data_dir=" + data_dir,
                                      "--listen=127.0.0.1:0", "--secrets_dir=" + pki + "/centres/thessaloniki",
                                      absl::StrCat("--hub=127.0.0.1:", hub.port())});
  if (node.port() == 0) return fail("starting the node", absl::InternalError("no port"));
  auto staff = LoadTlsIdentity(pki + "/centres/thessaloniki/staff", "client");
  if (!staff.ok()) return fail("the staff certificate", staff.status());
  auto channel = Connect(node.port(), 0, MakeClientCredentials(*staff));
  auto token = LogIn(channel);
  if (!token.ok()) return fail("logging in", token.status());
  auto stub = nv1::StaffService::NewStub(channel);

  const absl::CivilDay today = TodayAt(absl::Now());
  synthetic::SyntheticCentre generator(*centre, 2026, absl::GetFlag(FLAGS_scale), today);
  auto seeded = synthetic::SeedNode(generator, stub.get(), *token, 4, nullptr);
  if (!seeded.ok()) return fail("seeding", seeded.status());
  auto targets = CollectTargets(stub.get(), *token);
  if (!targets.ok()) return fail("listing", targets.status());

  auto full = SyncNow(stub.get(), *token);
  if (!full.ok()) return fail("the first sync", full.status());
  const Templates templates(*centre, today);
  NodeCaller caller(&templates, &*targets, "day", 1, *token);
  Clients clients(node.port(), 1, MakeClientCredentials(*staff));
  for (int n = 0; n < absl::GetFlag(FLAGS_day_events); ++n) {
    if (absl::Status s = caller.Call(Kind::kRecordServiceEvent, &clients, 0); !s.ok()) return fail("a day's event", s);
  }
  auto day = SyncNow(stub.get(), *token);
  if (!day.ok()) return fail("the day's sync", day.status());
  auto idle = SyncNow(stub.get(), *token);
  if (!idle.ok()) return fail("the idle sync", idle.status());

  std::printf("kentra-bench-sync: %s with %d people, %d cases, %d service events; hub and node over mTLS\n\n",
              centre->id().c_str(), seeded->beneficiaries, seeded->cases, seeded->service_events);
  std::printf("%-34s %7s %12s %10s\n", "sync", "months", "bytes sent", "seconds");
  Print("first sync, the whole history", *full);
  Print(absl::StrCat("after one day (", absl::GetFlag(FLAGS_day_events), " events)").c_str(), *day);
  Print("nothing changed", *idle);
  stub.reset();
  channel.reset();
  node.Stop(SIGTERM);
  hub.Stop(SIGTERM);
  std::filesystem::remove_all(tmp);
  return 0;
}

}  // namespace
}  // namespace kentra::bench

int main(int argc, char** argv) {
  kentra::InitServerProcess();
  absl::SetProgramUsageMessage("kentra-bench-sync [--scale=X] [--day_events=N]");
  absl::ParseCommandLine(argc, argv);
  return kentra::bench::Run();
}
