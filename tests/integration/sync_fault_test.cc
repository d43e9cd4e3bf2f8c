// Fault tests of the nightly sync with real processes: the hub SIGKILLed while a
// node pushes, and a node SIGKILLed while it pushes. Whatever moment the kill
// lands on, once the sync has run again the hub holds exactly the node's cells:
// every month, nothing lost, nothing counted twice, nothing else.
#include <signal.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/anon/codebook.h"
#include "common/time_util.h"
#include "hub/indicator_store.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace kentra::testing {
namespace {

namespace nv1 = kentra::node::v1;

// How long the tests' nodes leave a month open: long, so that several months
// take work and the sync pushes each of them.
constexpr int kReleaseAfterDays = 90;

// The months the tests record activity in: those still open at `now`.
std::vector<absl::CivilMonth> Months(absl::Time now) {
  const absl::CivilDay today = TodayAt(now);
  absl::CivilMonth first(today);
  while (anon::ReleaseDay(first - 1, kReleaseAfterDays) > today) --first;
  std::vector<absl::CivilMonth> out;
  for (absl::CivilMonth m = first; m <= absl::CivilMonth(today); ++m) out.push_back(m);
  return out;
}

// Syncs until a run succeeds (bounded: 60 tries, 250 ms apart).
nv1::SyncRun SyncUntilDone(nv1::StaffService::Stub* stub, const std::string& token) {
  nv1::SyncRun run;
  for (int attempt = 0; attempt < 60; ++attempt) {
    grpc::Status s = stub->SyncNow(SessionContext(token).get(), nv1::SyncNowRequest(), &run);
    if (s.ok() && run.succeeded()) return run;
    absl::SleepFor(absl::Milliseconds(250));
  }
  ADD_FAILURE() << "the sync never succeeded: " << run.error();
  return run;
}

std::map<std::string, std::string> NodeCells(nv1::StaffService::Stub* stub, const std::string& token,
                                             const std::vector<absl::CivilMonth>& months) {
  std::map<std::string, std::string> out;
  for (absl::CivilMonth m : months) {
    nv1::GetIndicatorsRequest r;
    r.set_period(anon::PeriodName(m));
    kentra::anon::v1::PeriodCells cells;
    EXPECT_TRUE(stub->GetIndicators(SessionContext(token).get(), r, &cells).ok());
    out[r.period()] = cells.SerializeAsString();
  }
  return out;
}

std::map<std::string, std::string> HubCells(const hub::IndicatorStore& store,
                                            const std::vector<absl::CivilMonth>& months) {
  std::map<std::string, std::string> out;
  for (absl::CivilMonth m : months) {
    auto held = store.Get("kassandra", anon::PeriodName(m));
    EXPECT_TRUE(held.ok());
    if (held.ok() && held->has_value()) out[anon::PeriodName(m)] = (*held)->SerializeAsString();
  }
  return out;
}

std::vector<std::string> HubArgs(const std::string& data_dir, const std::string& listen) {
  return {KENTRA_HUB_BINARY, "--config=" + SourceDir() + "/configs/hub.textproto", "--data_dir=" + data_dir,
          "--listen=" + listen, "--secrets_dir=" + TestPkiDir() + "/hub"};
}

TEST(SyncFaultTest, HubKilledWhileANodePushes) {
  // Bounded: a kill at three different moments of the sync.
  for (int delay_ms : {0, 4, 12}) {
    SCOPED_TRACE(absl::StrCat("hub killed ", delay_ms, " ms into the sync"));
    TempDir dir;
    const std::string hub_dir = dir.path() + "/hub";
    auto hub = std::make_unique<ChildProcess>(HubArgs(hub_dir, "127.0.0.1:0"));
    ASSERT_GT(hub->port(), 0);
    const std::string address = absl::StrCat("127.0.0.1:", hub->port());
    TestNode node("kassandra", absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0), absl::UTCTimeZone()),
                  address);
    node.set_release_after_days(kReleaseAfterDays);
    node.Restart();
    const auto months = Months(node.clock().Now());
    ASSERT_GE(months.size(), 3u);
    const std::string token = node.Token("coord");
    int serial = 1;
    for (absl::CivilMonth m : months) {
      RecordActivity(node.NewStub().get(), token, 2, m, serial);
      serial += 2;
    }
    std::thread sync([&] {
      nv1::SyncRun run;
      node.NewStub()->SyncNow(SessionContext(token).get(), nv1::SyncNowRequest(), &run);
    });
    absl::SleepFor(absl::Milliseconds(delay_ms));
    hub->Stop(SIGKILL);
    sync.join();
    hub = std::make_unique<ChildProcess>(HubArgs(hub_dir, address));
    ASSERT_GT(hub->port(), 0);
    SyncUntilDone(node.NewStub().get(), token);
    const auto expected = NodeCells(node.NewStub().get(), token, months);
    hub->Stop(SIGTERM);
    auto store = hub::IndicatorStore::Open(hub_dir + "/indicators", SystemClock::Get(), 12);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(HubCells(**store, months), expected);
  }
}

TEST(SyncFaultTest, NodeKilledWhileItPushes) {
  for (int delay_ms : {0, 4, 12}) {
    SCOPED_TRACE(absl::StrCat("node killed ", delay_ms, " ms into the sync"));
    TempDir dir;
    TestHub hub(absl::Now());  // the node process keeps the real time, and pushes its month
    const std::string data = dir.path() + "/node";
    BootstrapForTests("kassandra", data);
    // Kassandra's config, with months left open longer.
    const std::string config = dir.path() + "/kassandra.textproto";
    {
      std::ifstream in(SourceDir() + "/configs/centres/kassandra.textproto");
      std::ofstream out(config);
      out << in.rdbuf() << "\nnode { release_after_days: " << kReleaseAfterDays << " }\n";
    }
    const auto months = Months(absl::Now());
    ASSERT_GE(months.size(), 3u);
    auto args = [&](const std::string& listen) {
      return std::vector<std::string>{KENTRA_NODE_BINARY, "--config=" + config,
                                      "--data_dir=" + data, "--listen=" + listen,
                                      "--secrets_dir=" + TestPkiDir() + "/centres/kassandra", "--hub=" + hub.address()};
    };
    auto node = std::make_unique<ChildProcess>(args("127.0.0.1:0"));
    ASSERT_GT(node->port(), 0);
    const std::string listen = absl::StrCat("127.0.0.1:", node->port());
    auto connect = [&] {
      return nv1::StaffService::NewStub(grpc::CreateChannel(listen, TestCredentials("centres/kassandra/staff")));
    };
    const std::string token = LogIn(node->port(), "centres/kassandra/staff", "coord");
    int serial = 1;
    for (absl::CivilMonth m : months) {
      RecordActivity(connect().get(), token, 2, m, serial);
      serial += 2;
    }
    std::thread sync([&] {
      nv1::SyncRun run;
      connect()->SyncNow(SessionContext(token).get(), nv1::SyncNowRequest(), &run);
    });
    absl::SleepFor(absl::Milliseconds(delay_ms));
    node->Stop(SIGKILL);
    sync.join();
    node = std::make_unique<ChildProcess>(args(listen));
    ASSERT_GT(node->port(), 0);
    SyncUntilDone(connect().get(), token);
    EXPECT_EQ(HubCells(*hub.server().store(), months), NodeCells(connect().get(), token, months));
    node->Stop(SIGTERM);
  }
}

}  // namespace
}  // namespace kentra::testing
