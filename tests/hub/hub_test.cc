// The hub with real nodes over mTLS: syncs land whole and idempotently, an
// authority sees only its region and never a value under k, and the hub's table
// refuses every other caller.
#include <filesystem>

#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/escaping.h"
#include "common/anon/codebook.h"
#include "common/anon/keys.h"
#include "common/anon/sketch.h"
#include "common/crypto.h"
#include "hub/access.h"
#include "common/sealing.h"
#include "common/text_fold.h"
#include "kentra/hub/v1/admin_service.grpc.pb.h"
#include "kentra/hub/v1/directory_service.grpc.pb.h"
#include "kentra/hub/v1/mailbox_service.grpc.pb.h"
#include "kentra/hub/v1/stats_service.grpc.pb.h"
#include "kentra/hub/v1/sync_service.grpc.pb.h"
#include "tests/testing/anon_oracle.h"
#include "tests/testing/test_util.h"

namespace kentra::hub {
namespace {

namespace nv1 = kentra::node::v1;
namespace tv1 = kentra::type::v1;
using ::kentra::testing::GrpcStatusIs;
using ::kentra::testing::SampleBeneficiary;
using ::kentra::testing::TestHub;
using ::kentra::testing::TestNode;

// Registers `people` people at `node`, each served twice in `month`.
void Activity(TestNode& node, int people, absl::CivilMonth month, int first_serial = 1) {
  ::kentra::testing::RecordActivity(node.NewStub().get(), node.Token("m.papadaki"), people, month, first_serial);
}

nv1::SyncRun Sync(TestNode& node) {
  nv1::SyncRun run;
  grpc::Status s = node.NewStub()->SyncNow(node.Context("coord").get(), nv1::SyncNowRequest(), &run);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return run;
}

kentra::anon::v1::PeriodCells NodeCells(TestNode& node, const std::string& period) {
  nv1::GetIndicatorsRequest r;
  r.set_period(period);
  kentra::anon::v1::PeriodCells cells;
  EXPECT_TRUE(node.NewStub()->GetIndicators(node.Context("coord").get(), r, &cells).ok());
  return cells;
}

v1::QueryIndicatorsRequest Query(const std::string& region, const std::string& start, const std::string& end,
                                 v1::Breakdown breakdown) {
  v1::QueryIndicatorsRequest q;
  q.set_region(region);
  q.set_start_period(start);
  q.set_end_period(end);
  q.set_breakdown(breakdown);
  return q;
}

// Every Value in a table, for the "never 1..k-1" check.
std::vector<v1::Value> AllValues(const v1::IndicatorTable& t) {
  std::vector<v1::Value> out;
  for (const auto& row : t.rows()) {
    out.insert(out.end(), row.values().begin(), row.values().end());
    out.push_back(row.total());
  }
  out.insert(out.end(), t.totals().values().begin(), t.totals().values().end());
  out.push_back(t.totals().total());
  return out;
}

TEST(HubSyncTest, ASyncLandsExactlyWhatTheNodeShowsAndRepeatsChangeNothing) {
  TestHub hub;
  TestNode node("kassandra", absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0), absl::UTCTimeZone()),
                hub.address());
  Activity(node, 14, absl::CivilMonth(2026, 10));
  Activity(node, 3, absl::CivilMonth(2026, 11), 100);
  const nv1::SyncRun first = Sync(node);
  EXPECT_TRUE(first.succeeded()) << first.error();
  EXPECT_EQ(first.periods_pushed(), 2);  // October and November
  EXPECT_EQ(first.periods_changed(), 2);
  for (const char* period : {"2026-10", "2026-11"}) {
    auto held = hub.server().store()->Get("kassandra", period);
    ASSERT_TRUE(held.ok() && held->has_value()) << period;
    EXPECT_EQ((*held)->SerializeAsString(), NodeCells(node, period).SerializeAsString()) << period;
  }
  const std::string after_one = hub.server().store()->Fingerprint();
  for (int i = 0; i < 2; ++i) {
    const nv1::SyncRun again = Sync(node);
    EXPECT_TRUE(again.succeeded());
    EXPECT_EQ(again.periods_pushed(), 0) << "nothing changed since";
  }
  EXPECT_EQ(hub.server().store()->Fingerprint(), after_one);
  // After a hub restart, a new change pushes only its month.
  hub.Restart();
  Activity(node, 1, absl::CivilMonth(2026, 11), 200);
  const nv1::SyncRun third = Sync(node);
  EXPECT_TRUE(third.succeeded()) << third.error();
  EXPECT_EQ(third.periods_pushed(), 1);
  nv1::ListSyncRunsResponse runs;
  ASSERT_TRUE(node.NewStub()->ListSyncRuns(node.Context("coord").get(), nv1::ListSyncRunsRequest(), &runs).ok());
  ASSERT_EQ(runs.sync_runs_size(), 4);
  EXPECT_EQ(runs.sync_runs(0).periods_pushed(), 1) << "newest first";
}

// Captures, on the hub's side of the wire, every PushPeriod request received.
class PushRecorder final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new Capture(this, std::string(info->method()) == "/kentra.hub.v1.SyncService/PushPeriod");
  }
  std::vector<v1::PushPeriodRequest> pushes() {
    absl::MutexLock lock(&mu_);
    return pushes_;
  }

 private:
  class Capture final : public grpc::experimental::Interceptor {
   public:
    Capture(PushRecorder* recorder, bool is_push) : recorder_(recorder), is_push_(is_push) {}
    void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
      if (is_push_ &&
          methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::POST_RECV_MESSAGE)) {
        const auto* request = static_cast<const v1::PushPeriodRequest*>(methods->GetRecvMessage());
        if (request != nullptr) {
          absl::MutexLock lock(&recorder_->mu_);
          recorder_->pushes_.push_back(*request);
        }
      }
      methods->Proceed();
    }

   private:
    PushRecorder* recorder_;
    bool is_push_;
  };
  absl::Mutex mu_;
  std::vector<v1::PushPeriodRequest> pushes_ ABSL_GUARDED_BY(mu_);
};

TEST(HubSyncTest, EveryCountANodeSendsEqualsAnIndependentComputation) {
  auto recorder = std::make_shared<PushRecorder>();
  TestHub hub(absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0), absl::UTCTimeZone()), {recorder});
  TestNode node("kassandra", absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0), absl::UTCTimeZone()),
                hub.address());
  std::vector<::kentra::testing::OracleEvent> events;
  for (const auto& [people, month, first] : std::vector<std::tuple<int, absl::CivilMonth, int>>{
           {9, absl::CivilMonth(2026, 8), 1}, {14, absl::CivilMonth(2026, 10), 20}, {4, absl::CivilMonth(2026, 11), 40}}) {
    Activity(node, people, month, first);
    for (int i = 0; i < people; ++i) {
      nv1::Beneficiary b = SampleBeneficiary(first + i);
      if (i % 3 == 0) b.add_target_groups(tv1::TARGET_GROUP_ROMA);
      for (int k = 0; k < 2; ++k) {
        const absl::CivilDay day(month.year(), month.month(), 1 + (i + k) % 27);
        events.push_back({b, day, k == 0 ? tv1::SERVICE_TYPE_INFORMATION_LINKAGE : tv1::SERVICE_TYPE_ROMA_SUPPORT,
                          absl::CivilMonth(day)});
      }
    }
  }
  ASSERT_TRUE(Sync(node).succeeded());
  const auto pushes = recorder->pushes();
  // August to November: September has no events, but its year-to-date cells
  // include August's people.
  ASSERT_EQ(pushes.size(), 4u);
  const anon::AnonKeys keys = ::kentra::testing::TestCentreKeys("kassandra");
  for (const auto& push : pushes) {
    SCOPED_TRACE(push.cells().period());
    absl::CivilMonth month;
    ASSERT_TRUE(anon::ParsePeriod(push.cells().period(), &month));
    std::map<std::string, int64_t> sent;
    for (const auto& c : push.cells().cells()) sent[c.id()] = c.value();
    EXPECT_EQ(sent, ::kentra::testing::ExpectedCells(events, keys, "kassandra", month));
  }
}

TEST(HubSyncTest, AFailedSyncResumesWithoutLossWhenTheHubIsBack) {
  auto hub = std::make_unique<TestHub>();
  const std::string address = hub->address();
  TestNode node("kassandra", absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0), absl::UTCTimeZone()),
                address);
  Activity(node, 5, absl::CivilMonth(2026, 9));
  hub->server().Shutdown(absl::ZeroDuration());
  const nv1::SyncRun failed = Sync(node);
  EXPECT_FALSE(failed.succeeded());
  EXPECT_NE(failed.error(), "");
  hub->Restart();
  // As the node's schedule does, retry until the hub answers (bounded: 40 x 250 ms).
  nv1::SyncRun resumed;
  for (int attempt = 0; attempt < 40; ++attempt) {
    resumed = Sync(node);
    if (resumed.succeeded()) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_TRUE(resumed.succeeded()) << resumed.error();
  EXPECT_EQ(resumed.periods_pushed(), 3) << "September, and the year-to-date cells of October and November";
  auto held = hub->server().store()->Get("kassandra", "2026-09");
  ASSERT_TRUE(held.ok() && held->has_value());
}

TEST(HubSyncTest, PushesAreCheckedAndANodeActsOnlyForItself) {
  TestHub hub;
  auto stub = v1::SyncService::NewStub(hub.Channel("centres/kassandra"));
  v1::PushPeriodRequest push;
  push.set_batch_id("b1");
  auto* cells = push.mutable_cells();
  cells->set_centre("kassandra");
  cells->set_period("2026-10");
  cells->set_codebook("kentra-anon/v2");
  for (const auto& spec : anon::Codebook()) {
    auto* c = cells->add_cells();
    c->set_id(spec.id);
    c->set_value(0);
  }
  v1::PushPeriodResponse out;
  auto ctx = [] { return ::kentra::testing::SessionContext(""); };
  ASSERT_TRUE(stub->PushPeriod(ctx().get(), push, &out).ok());
  const std::string before = hub.server().store()->Fingerprint();
  struct Bad {
    std::string what;
    std::function<void(v1::PushPeriodRequest&)> edit;
    grpc::StatusCode code;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {"another centre's cells", [](auto& r) { r.mutable_cells()->set_centre("thessaloniki"); }, grpc::PERMISSION_DENIED,
       "centre/kassandra may push only its own cells"},
      {"a count of 1", [](auto& r) { r.mutable_cells()->mutable_cells(3)->set_value(1); }, grpc::INVALID_ARGUMENT,
       "nodes never send 1 or 2"},
      {"a missing cell", [](auto& r) { r.mutable_cells()->mutable_cells()->RemoveLast(); }, grpc::INVALID_ARGUMENT,
       "must hold the"},
      {"cells out of order", [](auto& r) { r.mutable_cells()->mutable_cells()->SwapElements(0, 1); },
       grpc::INVALID_ARGUMENT, "cells.cells[0].id: expected"},
      {"another codebook", [](auto& r) { r.mutable_cells()->set_codebook("v0"); }, grpc::INVALID_ARGUMENT, "codebook"},
      {"a future month", [](auto& r) { r.mutable_cells()->set_period("2027-01"); }, grpc::INVALID_ARGUMENT, "future"},
      {"a bad batch id", [](auto& r) { r.set_batch_id("no spaces allowed"); }, grpc::INVALID_ARGUMENT, "batch_id"},
      {"a negative count", [](auto& r) { r.mutable_cells()->mutable_cells(0)->set_value(-4); }, grpc::INVALID_ARGUMENT,
       "must be 0 to"},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.what);
    v1::PushPeriodRequest r = push;
    r.mutable_cells()->mutable_cells(5)->set_value(7);  // would change the month if accepted
    b.edit(r);
    EXPECT_THAT(stub->PushPeriod(ctx().get(), r, &out), GrpcStatusIs(b.code, b.message));
    EXPECT_EQ(hub.server().store()->Fingerprint(), before);
  }
  // A closed month never changes; the same closed cells again are fine.
  push.mutable_cells()->set_closed(true);
  ASSERT_TRUE(stub->PushPeriod(ctx().get(), push, &out).ok());
  ASSERT_TRUE(stub->PushPeriod(ctx().get(), push, &out).ok());
  EXPECT_FALSE(out.changed());
  push.mutable_cells()->mutable_cells(5)->set_value(7);
  EXPECT_THAT(stub->PushPeriod(ctx().get(), push, &out), GrpcStatusIs(grpc::FAILED_PRECONDITION, "closed"));
}

TEST(HubReferralReportTest, StagesPerServiceAndTheMedianBandFromProtectedCellsOnly) {
  TestHub hub;
  // What two centres pushed for October 2026 (protected values as nodes send them).
  auto push = [&](const std::string& centre, const std::map<std::string, int64_t>& values) {
    auto stub = v1::SyncService::NewStub(hub.Channel("centres/" + centre));
    v1::PushPeriodRequest request;
    request.set_batch_id("b-" + centre);
    auto* cells = request.mutable_cells();
    cells->set_centre(centre);
    cells->set_period("2026-10");
    cells->set_codebook(anon::kCodebookVersion);
    for (const auto& spec : anon::Codebook()) {
      auto* c = cells->add_cells();
      c->set_id(spec.id);
      c->set_value(values.count(spec.id) ? values.at(spec.id) : 0);
    }
    v1::PushPeriodResponse out;
    grpc::Status status = stub->PushPeriod(::kentra::testing::SessionContext("").get(), request, &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
  };
  push("kassandra", {{"R1.sent.migrant-integration-support", 14}, {"R1.sent.counselling", 4}});
  push("chalkidona", {{"R1.sent.migrant-integration-support", 3}});
  push("thessaloniki", {{"R1.received.migrant-integration-support", 16},
                        {"R1.accepted.migrant-integration-support", 12},
                        {"R1.rejected.migrant-integration-support", 4},
                        {"R1.completed.migrant-integration-support", 9},
                        {"R2.migrant-integration-support.0-1", 3},
                        {"R2.migrant-integration-support.2-3", 5},
                        {"R2.migrant-integration-support.8-14", 4}});
  // The Peloponnese's centre counts only for its own authority.
  push("ermionida", {{"R1.sent.counselling", 40}});

  v1::GetReferralReportRequest q;
  q.set_start_period("2026-09");
  q.set_end_period("2026-11");
  auto report = hub.server().stats().Referrals(Principal{Principal::Kind::kAuthority, "central-macedonia", ""}, q);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->threshold(), 10);
  const v1::ReferralRow* migrant = nullptr;
  const v1::ReferralRow* counselling = nullptr;
  for (const auto& row : report->rows()) {
    if (row.service() == "migrant-integration-support") migrant = &row;
    if (row.service() == "counselling") counselling = &row;
  }
  ASSERT_NE(migrant, nullptr);
  ASSERT_NE(counselling, nullptr);
  EXPECT_EQ(migrant->sent().count(), 17);
  EXPECT_EQ(migrant->received().count(), 16);
  EXPECT_EQ(migrant->accepted().count(), 12);
  EXPECT_TRUE(migrant->rejected().below_threshold());  // 4 < k
  EXPECT_TRUE(migrant->completed().below_threshold());
  // 12 accepted: 3 within a day, 5 in 2-3 days (the 6th and 7th are there), 4 in 8-14.
  EXPECT_EQ(migrant->median_days_to_acceptance(), "2-3");
  EXPECT_TRUE(counselling->sent().below_threshold()) << "Ermionida's 40 are not Central Macedonia's";
  EXPECT_EQ(counselling->median_days_to_acceptance(), "");
  EXPECT_EQ(report->totals().sent().count(), 21);
  // One centre only: Kassandra sent 14, and received nothing.
  q.add_centres("kassandra");
  report = hub.server().stats().Referrals(Principal{Principal::Kind::kAuthority, "central-macedonia", ""}, q);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->totals().sent().count(), 18);
  EXPECT_TRUE(report->totals().received().below_threshold());
  // Another region's centre, or a bad range, is refused.
  q.set_centres(0, "ermionida");
  EXPECT_EQ(hub.server().stats().Referrals(Principal{Principal::Kind::kAuthority, "central-macedonia", ""}, q).status().code(),
            absl::StatusCode::kPermissionDenied);
  q.clear_centres();
  q.set_end_period("2026-08");
  EXPECT_EQ(hub.server().stats().Referrals(Principal{Principal::Kind::kAuthority, "central-macedonia", ""}, q).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HubTableTest, EveryCallerKindAgainstEveryHubMethod) {
  TestHub hub;
  struct Caller {
    std::string identity;
    Principal::Kind kind;
  };
  const std::vector<Caller> callers = {{"centres/kassandra", Principal::Kind::kCentre},
                                       {"centres/kassandra/staff", Principal::Kind::kStaffTerminal},
                                       {"authorities/central-macedonia", Principal::Kind::kAuthority},
                                       {"operator", Principal::Kind::kOperator}};
  int checked = 0;
  for (const auto* service : {v1::SyncService::service_full_name(), v1::StatsService::service_full_name(),
                              v1::AdminService::service_full_name(), v1::MailboxService::service_full_name(),
                              v1::DirectoryService::service_full_name()}) {
    const auto* d = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    for (int i = 0; i < d->method_count(); ++i) {
      const auto* m = d->method(i);
      for (const Caller& caller : callers) {
        SCOPED_TRACE(caller.identity + " calls " + m->full_name());
        const bool allowed = AuthorizeHubCall(d->name(), m->name(), Principal{caller.kind, "x", ""}).ok();
        const grpc::Status status = ::kentra::testing::CallUnaryGeneric(
            hub.Channel(caller.identity), absl::StrCat("/", d->full_name(), "/", m->name()), "", "",
            m->server_streaming() ? absl::Milliseconds(300) : absl::Seconds(30));
        // The table's refusals say "may not call"; an allowed call may still be
        // refused for what its (here empty) body claims.
        const bool refused_by_table = status.error_code() == grpc::PERMISSION_DENIED &&
                                      status.error_message().find("may not call") != std::string::npos;
        EXPECT_EQ(refused_by_table, !allowed) << status.error_code() << " " << status.error_message();
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, static_cast<int>(HubAuthorizationTable().size()) * 4);
  // The policy itself: nodes sync, authorities query, the operator administers.
  EXPECT_TRUE(AuthorizeHubCall("SyncService", "PushPeriod", Principal{Principal::Kind::kCentre, "a", ""}).ok());
  EXPECT_FALSE(AuthorizeHubCall("StatsService", "QueryIndicators", Principal{Principal::Kind::kCentre, "a", ""}).ok());
  EXPECT_FALSE(AuthorizeHubCall("SyncService", "PushPeriod", Principal{Principal::Kind::kAuthority, "a", ""}).ok());
  EXPECT_TRUE(AuthorizeHubCall("AdminService", "ListCentres", Principal{Principal::Kind::kOperator, "", ""}).ok());
}

TEST(HubDirectoryTest, PublishesWhatTheOperatorSignedAndNothingTwice) {
  TestHub hub;
  auto stub = v1::DirectoryService::NewStub(hub.Channel("centres/kassandra"));
  auto get = [&](int64_t known, kentra::referral::v1::SignedDirectory* out) {
    v1::GetDirectoryRequest request;
    request.set_known_version(known);
    grpc::ClientContext ctx;
    return stub->GetDirectory(&ctx, request, out);
  };
  kentra::referral::v1::SignedDirectory published;
  ASSERT_TRUE(get(0, &published).ok());
  auto directory = VerifyDirectory(::kentra::testing::TestRootKeys().public_key, published);
  ASSERT_TRUE(directory.ok()) << directory.status();
  EXPECT_EQ(directory->version(), 1);
  EXPECT_EQ(directory->centres_size(), 5);
  EXPECT_EQ(directory->centres(0).id(), "chalkidona");
  // The caller holds it already: nothing is sent again.
  kentra::referral::v1::SignedDirectory again;
  ASSERT_TRUE(get(1, &again).ok());
  EXPECT_TRUE(again.directory().empty());
  EXPECT_EQ(get(-1, &again).error_code(), grpc::INVALID_ARGUMENT);

  // A half-copied or wrong file is not served; the last good one is.
  {
    std::ofstream broken(hub.directory_path(), std::ios::trunc);
    broken << "not a directory";
  }
  ASSERT_TRUE(get(0, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), published.SerializeAsString());
  // Replacing the file publishes the new one at the next request.
  ::kentra::testing::WriteTestDirectory(hub.directory_path(), ::kentra::testing::TestDirectory(2));
  ASSERT_TRUE(get(1, &again).ok());
  EXPECT_EQ(VerifyDirectory(::kentra::testing::TestRootKeys().public_key, again)->version(), 2);
}

class HubStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"kassandra", "thessaloniki", "ermionida"}) {
      nodes_.push_back(std::make_unique<TestNode>(
          id, absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0), absl::UTCTimeZone()), hub_.address()));
    }
    Activity(*nodes_[0], 13, absl::CivilMonth(2026, 9));
    Activity(*nodes_[0], 4, absl::CivilMonth(2026, 10), 50);
    Activity(*nodes_[1], 25, absl::CivilMonth(2026, 10));
    Activity(*nodes_[2], 12, absl::CivilMonth(2026, 10));
    for (auto& n : nodes_) ASSERT_TRUE(Sync(*n).succeeded());
  }
  v1::IndicatorTable Table(const v1::QueryIndicatorsRequest& q, const std::string& as = "central-macedonia") {
    auto table = hub_.server().stats().Query(Principal{Principal::Kind::kAuthority, as, ""}, q);
    EXPECT_TRUE(table.ok()) << table.status();
    return table.ok() ? *table : v1::IndicatorTable();
  }
  TestHub hub_;
  std::vector<std::unique_ptr<TestNode>> nodes_;
};

TEST_F(HubStatsTest, AuthoritiesSeeOnlyTheirRegionAndNeverAValueUnderK) {
  auto stub = v1::StatsService::NewStub(hub_.Channel("authorities/central-macedonia"));
  v1::IndicatorTable table;
  auto q = Query("central-macedonia", "2026-09", "2026-10", v1::BREAKDOWN_TARGET_GROUP);
  ASSERT_TRUE(stub->QueryIndicators(::kentra::testing::SessionContext("").get(), q, &table).ok());
  EXPECT_EQ(table.centres_size(), 4) << "every centre of the region";
  for (const auto& v : AllValues(table)) {
    if (v.has_count()) {
      EXPECT_GE(v.count(), 10);
    }
  }
  // Outside the region: refused, whether by region or by centre.
  EXPECT_THAT(stub->QueryIndicators(::kentra::testing::SessionContext("").get(),
                                    Query("peloponnese", "2026-09", "2026-10", v1::BREAKDOWN_TARGET_GROUP), &table),
              GrpcStatusIs(grpc::PERMISSION_DENIED, "only its own region"));
  q.add_centres("ermionida");
  EXPECT_THAT(stub->QueryIndicators(::kentra::testing::SessionContext("").get(), q, &table),
              GrpcStatusIs(grpc::PERMISSION_DENIED, "'ermionida' is not a centre of central-macedonia"));
  v1::EsfReport report;
  v1::GetEsfReportRequest esf;
  esf.set_region("central-macedonia");
  esf.set_mis_code("5002672");  // Kassandra's operation
  esf.set_period("2026-10");
  ASSERT_TRUE(stub->GetEsfReport(::kentra::testing::SessionContext("").get(), esf, &report).ok());
  EXPECT_EQ(report.rows_size(), 7);
  EXPECT_EQ(report.rows(0).code(), "EECO01");
  esf.set_mis_code("no-such-operation");
  EXPECT_THAT(stub->GetEsfReport(::kentra::testing::SessionContext("").get(), esf, &report),
              GrpcStatusIs(grpc::NOT_FOUND, "runs operation"));
}

TEST_F(HubStatsTest, DifferencingYieldsOnlyProtectedCellsAndAnswersNeverVary) {
  // Rows over September..October minus rows over October alone equal September's
  // protected cells: exactly what Kassandra's node sent, never a true count.
  v1::QueryIndicatorsRequest both = Query("central-macedonia", "2026-09", "2026-10", v1::BREAKDOWN_SERVICE_EVENTS);
  both.add_centres("kassandra");
  v1::QueryIndicatorsRequest oct = Query("central-macedonia", "2026-10", "2026-10", v1::BREAKDOWN_SERVICE_EVENTS);
  oct.add_centres("kassandra");
  const auto sent = NodeCells(*nodes_[0], "2026-09");
  const auto a = Table(both);
  const auto b = Table(oct);
  for (int r = 0; r < a.rows_size(); ++r) {
    const auto& x = a.rows(r).values(0);  // September column of the two-month table
    if (!x.has_count()) continue;
    for (const auto& c : sent.cells()) {
      if (c.id() == "T4." + a.rows(r).label()) {
        EXPECT_EQ(x.count(), c.value()) << c.id();
      }
    }
    if (a.rows(r).total().has_count() && b.rows(r).total().has_count()) {
      EXPECT_EQ(a.rows(r).total().count() - b.rows(r).total().count(), x.count());
    }
  }
  // The region minus Kassandra gives the other centres' protected sums, nothing finer.
  v1::QueryIndicatorsRequest region = Query("central-macedonia", "2026-10", "2026-10", v1::BREAKDOWN_TARGET_GROUP);
  v1::QueryIndicatorsRequest rest = region;
  for (const char* c : {"thessaloniki", "pylaia-chortiatis", "chalkidona"}) rest.add_centres(c);
  v1::QueryIndicatorsRequest kassandra = region;
  kassandra.add_centres("kassandra");
  const auto all = Table(region), others = Table(rest), one = Table(kassandra);
  int compared = 0;
  for (int r = 0; r < all.rows_size(); ++r) {
    const auto &x = all.rows(r).values(0), &y = others.rows(r).values(0), &z = one.rows(r).values(0);
    if (x.has_count() && y.has_count() && z.has_count()) {
      EXPECT_EQ(x.count() - z.count(), y.count()) << all.rows(r).label();
      ++compared;
    }
  }
  // 1,000 asks of the same question give one answer.
  const std::string first = Table(both).SerializeAsString();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(Table(both).SerializeAsString(), first);
}

TEST_F(HubStatsTest, SmallDistinctEstimatesAreWithheld) {
  // 29 people in the region over the two months: under 50, not released.
  const auto t = Table(Query("central-macedonia", "2026-09", "2026-10", v1::BREAKDOWN_TARGET_GROUP));
  EXPECT_TRUE(t.distinct_persons().below_threshold());
}

// Distinct persons come from the closed months' private sketches, merged: an
// estimate with its error, which counts the people two centres share once.
// (That the merge counts a union once is checked exactly in sketch_test.cc; here,
// with the nodes' own random coins, within the error the hub states.)
TEST(HubDistinctTest, APersonServedAtTwoCentresIsCountedOnceWithinTheStatedError) {
  TestHub hub;
  const absl::Time start = absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0), absl::UTCTimeZone());
  TestNode kassandra("kassandra", start, hub.address());
  TestNode thessaloniki("thessaloniki", start, hub.address());
  Activity(kassandra, 150, absl::CivilMonth(2026, 10), 1);       // people 1..150
  Activity(thessaloniki, 150, absl::CivilMonth(2026, 10), 76);   // people 76..225: 75 shared
  const auto q = Query("central-macedonia", "2026-10", "2026-10", v1::BREAKDOWN_GENDER_AGE);
  const Principal authority{Principal::Kind::kAuthority, "central-macedonia", ""};
  // While October is open at the nodes, no sketch leaves them: no estimate.
  ASSERT_TRUE(Sync(kassandra).succeeded());
  ASSERT_TRUE(Sync(thessaloniki).succeeded());
  auto held = hub.server().store()->Get("kassandra", "2026-10");
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_TRUE((*held)->persons_sketch().empty());
  for (TestNode* node : {&kassandra, &thessaloniki}) {
    nv1::CloseMonthRequest close;
    close.set_period("2026-10");
    kentra::anon::v1::PeriodCells closed;
    ASSERT_TRUE(node->NewStub()->CloseMonth(node->Context("coord").get(), close, &closed).ok());
    EXPECT_EQ(closed.persons_sketch().size(), anon::kSketchBytes);
    ASSERT_TRUE(Sync(*node).succeeded());
  }
  auto table = hub.server().stats().Query(authority, q);
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_TRUE(table->distinct_persons().has_count());
  const double error = table->distinct_persons_relative_error();
  EXPECT_GT(error, 0);
  EXPECT_LE(error, anon::kMaxReleasedRelativeError);
  EXPECT_NEAR(static_cast<double>(table->distinct_persons().count()), 225, 3 * error * 225 + 10)
      << "225 people, not 300";
  // The sums of the monthly cells count the shared people twice (300 person-months).
  ASSERT_TRUE(table->totals().total().has_count());
  EXPECT_NEAR(static_cast<double>(table->totals().total().count()), 300, 20);
}

TEST_F(HubStatsTest, TheHubHoldsNoIdentifierNameOrPseudonym) {
  const std::string held = hub_.server().store()->Fingerprint();
  ASSERT_GT(held.size(), 1000u);
  const anon::AnonKeys keys = ::kentra::testing::TestCentreKeys("kassandra");
  for (int serial : {1, 2, 3, 50, 51}) {
    const nv1::Beneficiary b = SampleBeneficiary(serial);
    EXPECT_EQ(held.find(b.national_id().value()), std::string::npos) << "an ΑΜΚΑ reached the hub";
    EXPECT_EQ(held.find(anon::Pseudonym(keys, "kassandra", b)), std::string::npos) << "a pseudonym reached the hub";
    EXPECT_EQ(held.find(HexEncode(anon::Pseudonym(keys, "kassandra", b))), std::string::npos);
  }
  EXPECT_EQ(held.find("Παπαδοπούλου"), std::string::npos) << "a name reached the hub";
  EXPECT_EQ(held.find("Ελένη"), std::string::npos);
}

TEST_F(HubStatsTest, EveryCallAndRefusalIsInTheHubsAuditLog) {
  auto stats = v1::StatsService::NewStub(hub_.Channel("authorities/central-macedonia"));
  v1::IndicatorTable table;
  ASSERT_TRUE(stats->QueryIndicators(::kentra::testing::SessionContext("").get(),
                                     Query("central-macedonia", "2026-09", "2026-10", v1::BREAKDOWN_TARGET_GROUP), &table)
                  .ok());
  v1::GetEsfReportRequest esf;
  esf.set_region("central-macedonia");
  esf.set_mis_code("5002672");
  esf.set_period("2026-10");  // the report runs from January
  v1::EsfReport report;
  ASSERT_TRUE(stats->GetEsfReport(::kentra::testing::SessionContext("").get(), esf, &report).ok());
  EXPECT_FALSE(stats->QueryIndicators(::kentra::testing::SessionContext("").get(),
                                      Query("peloponnese", "2026-09", "2026-10", v1::BREAKDOWN_TARGET_GROUP), &table)
                   .ok());
  // A long Greek name, which the refusal quotes cut short: never in the middle of a letter.
  std::string long_region = "x";
  for (int i = 0; i < 300; ++i) long_region += "Α";
  EXPECT_FALSE(stats->QueryIndicators(::kentra::testing::SessionContext("").get(),
                                      Query(long_region, "2026-09", "2026-10", v1::BREAKDOWN_TARGET_GROUP), &table)
                   .ok());
  auto admin = v1::AdminService::NewStub(hub_.Channel("operator"));
  v1::ListHubAuditEntriesResponse log;
  {
    grpc::Status listed = admin->ListHubAuditEntries(::kentra::testing::SessionContext("").get(), {}, &log);
    ASSERT_TRUE(listed.ok()) << listed.error_message();
  }
  ASSERT_GE(log.hub_audit_entries_size(), 6);
  EXPECT_TRUE(IsCleanUtf8(log.hub_audit_entries(0).outcome())) << log.hub_audit_entries(0).outcome();
  EXPECT_TRUE(IsCleanUtf8(log.hub_audit_entries(0).detail()));
  log.mutable_hub_audit_entries()->DeleteSubrange(0, 1);
  EXPECT_EQ(log.hub_audit_entries(0).method(), "StatsService.QueryIndicators") << "newest first";
  EXPECT_EQ(log.hub_audit_entries(0).principal(), "authority/central-macedonia");
  EXPECT_NE(log.hub_audit_entries(0).outcome().find("PERMISSION_DENIED"), std::string::npos);
  EXPECT_NE(log.hub_audit_entries(0).detail().find("peloponnese"), std::string::npos);
  EXPECT_EQ(log.hub_audit_entries(1).method(), "StatsService.GetEsfReport");
  EXPECT_EQ(log.hub_audit_entries(1).detail(), "MIS 5002672 2026-01..2026-10") << "the months it covered";
  EXPECT_EQ(log.hub_audit_entries(2).outcome(), "OK");
  int pushes = 0;
  for (const auto& e : log.hub_audit_entries()) pushes += e.method() == "SyncService.PushPeriod";
  EXPECT_GT(pushes, 0) << "the syncs of the set-up are audited too";
  // Only the operator reads it.
  EXPECT_EQ(v1::AdminService::NewStub(hub_.Channel("authorities/central-macedonia"))
                ->ListHubAuditEntries(::kentra::testing::SessionContext("").get(), {}, &log)
                .error_code(),
            grpc::PERMISSION_DENIED);
}

TEST_F(HubStatsTest, TheOperatorBacksUpTheHubAndTheHubStartsOnIt) {
  const std::string before = hub_.server().store()->Fingerprint();
  kentra::type::v1::Backup backup;
  EXPECT_EQ(v1::AdminService::NewStub(hub_.Channel("authorities/central-macedonia"))
                ->CreateBackup(::kentra::testing::SessionContext("").get(), {}, &backup)
                .error_code(),
            grpc::PERMISSION_DENIED);
  auto admin = v1::AdminService::NewStub(hub_.Channel("operator"));
  ASSERT_TRUE(admin->CreateBackup(::kentra::testing::SessionContext("").get(), {}, &backup).ok());
  EXPECT_EQ(backup.name(), "backups/hub-20261120T100000Z");
  EXPECT_EQ(backup.path(), hub_.backup_dir() + "/hub-20261120T100000Z");
  EXPECT_GT(backup.size_bytes(), 0);
  kentra::type::v1::ListBackupsResponse list;
  ASSERT_TRUE(admin->ListBackups(::kentra::testing::SessionContext("").get(), {}, &list).ok());
  ASSERT_EQ(list.backups_size(), 1);
  EXPECT_EQ(list.backups(0).name(), backup.name());
  v1::ListHubAuditEntriesResponse log;
  ASSERT_TRUE(admin->ListHubAuditEntries(::kentra::testing::SessionContext("").get(), {}, &log).ok());
  ASSERT_GE(log.hub_audit_entries_size(), 2);
  EXPECT_EQ(log.hub_audit_entries(0).method(), "AdminService.CreateBackup");
  EXPECT_EQ(log.hub_audit_entries(0).detail(), backup.path());
  EXPECT_EQ(log.hub_audit_entries(1).method(), "AdminService.CreateBackup");
  EXPECT_NE(log.hub_audit_entries(1).outcome().find("PERMISSION_DENIED"), std::string::npos) << "the authority's";
  // Nothing synced after the backup survives a restore; everything before does.
  // (November: October is released at the hub and never changes there.)
  Activity(*nodes_[1], 18, absl::CivilMonth(2026, 11), 100);  // served by the 19th: the test's today is the 20th
  const auto after_backup = Sync(*nodes_[1]);
  ASSERT_TRUE(after_backup.succeeded());
  ASSERT_GT(after_backup.periods_pushed(), 0);
  const std::string after = hub_.server().store()->Fingerprint();
  ASSERT_NE(after, before);

  hub_.Stop();
  std::filesystem::rename(hub_.data_dir(), hub_.data_dir() + ".broken");
  std::filesystem::copy(backup.path(), hub_.data_dir(), std::filesystem::copy_options::recursive);
  hub_.Restart();
  EXPECT_EQ(hub_.server().store()->Fingerprint(), before) << "the cells as they were at the backup";
  v1::ListCentresResponse centres;
  ASSERT_TRUE(admin->ListCentres(::kentra::testing::SessionContext("").get(), {}, &centres).ok());
  int synced = 0;
  for (const auto& c : centres.centres()) synced += c.has_last_sync_time();
  EXPECT_EQ(synced, 3) << "the syncs' records too";
  // Thessaloniki's next sync finds the hub holding older months, and pushes them
  // again: those it pushed after the backup, no more. The others' find the hub as
  // they left it.
  const auto resync = Sync(*nodes_[1]);
  ASSERT_TRUE(resync.succeeded()) << resync.error();
  EXPECT_EQ(resync.periods_pushed(), after_backup.periods_pushed());
  EXPECT_EQ(hub_.server().store()->Fingerprint(), after) << "the hub again holds what the node holds";
  EXPECT_EQ(Sync(*nodes_[0]).periods_pushed(), 0);
}

// A node restored from a backup taken before it closed a month finds the hub
// holding that month released: it leaves it be (a released month never changes
// at the hub) and its syncs go on.
TEST_F(HubStatsTest, ANodeRestoredFromAnOlderBackupSyncsPastAMonthTheHubHoldsReleased) {
  TestNode& kassandra = *nodes_[0];
  kentra::type::v1::Backup backup;
  ASSERT_TRUE(kassandra.NewStub()->CreateBackup(kassandra.Context("coord").get(), {}, &backup).ok());
  nv1::CloseMonthRequest close;
  close.set_period("2026-10");
  kentra::anon::v1::PeriodCells closed;
  ASSERT_TRUE(kassandra.NewStub()->CloseMonth(kassandra.Context("coord").get(), close, &closed).ok());
  ASSERT_TRUE(Sync(kassandra).succeeded());
  auto released = hub_.server().store()->Get("kassandra", "2026-10");
  ASSERT_TRUE(released.ok() && released->has_value());

  kassandra.Stop();
  std::filesystem::rename(kassandra.data_dir(), kassandra.data_dir() + ".lost");
  std::filesystem::copy(backup.path(), kassandra.data_dir(), std::filesystem::copy_options::recursive);
  kassandra.Restart();
  Activity(kassandra, 3, absl::CivilMonth(2026, 10), 300);  // October is open again at the restored node
  const auto run = Sync(kassandra);
  EXPECT_TRUE(run.succeeded()) << run.error();
  EXPECT_EQ(run.periods_pushed(), 1) << "November's year-to-date cells; October is released at the hub";
  auto held = hub_.server().store()->Get("kassandra", "2026-10");
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_EQ((*held)->SerializeAsString(), (*released)->SerializeAsString()) << "the hub keeps October as released";
  EXPECT_TRUE(*hub_.server().store()->Released("kassandra", absl::CivilMonth(2026, 10)));
}

TEST_F(HubStatsTest, TheOperatorSeesEveryCentresLastSync) {
  auto stub = v1::AdminService::NewStub(hub_.Channel("operator"));
  v1::ListCentresResponse list;
  ASSERT_TRUE(stub->ListCentres(::kentra::testing::SessionContext("").get(), v1::ListCentresRequest(), &list).ok());
  ASSERT_EQ(list.centres_size(), 5);
  for (const auto& c : list.centres()) {
    const bool synced = c.centre() == "kassandra" || c.centre() == "thessaloniki" || c.centre() == "ermionida";
    EXPECT_EQ(c.stale(), !synced) << c.centre();
    EXPECT_EQ(c.has_last_sync_time(), synced) << c.centre();
  }
  hub_.clock().Advance(absl::Hours(37));
  ASSERT_TRUE(stub->ListCentres(::kentra::testing::SessionContext("").get(), v1::ListCentresRequest(), &list).ok());
  for (const auto& c : list.centres()) EXPECT_TRUE(c.stale()) << c.centre();
}

}  // namespace
}  // namespace kentra::hub
