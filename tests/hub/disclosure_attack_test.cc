// An authority attacking the statistics API with an ordinary certificate: each
// test is one class of hole, played as the attacker would play it, and what the
// hub must answer instead. (What held before stays tested in hub_test.cc and
// disclosure_test.cc: repeated queries agree, no value 1..k-1 is shown, other
// regions are refused.)
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "common/anon/codebook.h"
#include "common/anon/sketch.h"
#include "common/crypto.h"
#include "common/time_util.h"
#include "kentra/hub/v1/admin_service.grpc.pb.h"
#include "kentra/hub/v1/mailbox_service.grpc.pb.h"
#include "kentra/hub/v1/stats_service.grpc.pb.h"
#include "kentra/hub/v1/sync_service.grpc.pb.h"
#include "tests/testing/test_util.h"

namespace kentra::hub {
namespace {

namespace nv1 = kentra::node::v1;
using ::kentra::testing::GrpcStatusIs;
using ::kentra::testing::SessionContext;
using ::kentra::testing::StatusIs;
using ::kentra::testing::TestHub;
using ::kentra::testing::TestNode;

const Principal kCentralMacedonia{Principal::Kind::kAuthority, "central-macedonia", ""};

absl::Time At(int year, int month, int day) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, 10, 0, 0), absl::UTCTimeZone());
}

// Cells of `centre` for `month` as a node sends them: `value(cell id)` for each
// cell (never 1 or 2), closed or not.
kentra::anon::v1::PeriodCells Cells(const std::string& centre, absl::CivilMonth month, bool closed,
                                    const std::function<int64_t(const std::string&)>& value) {
  kentra::anon::v1::PeriodCells cells;
  cells.set_centre(centre);
  cells.set_period(anon::PeriodName(month));
  cells.set_codebook(anon::kCodebookVersion);
  cells.set_closed(closed);
  for (const auto& spec : anon::Codebook()) {
    auto* c = cells.add_cells();
    c->set_id(spec.id);
    c->set_value(value(spec.id));
  }
  return cells;
}

v1::QueryIndicatorsRequest Query(const std::string& start, const std::string& end,
                                 const std::vector<std::string>& centres = {}) {
  v1::QueryIndicatorsRequest q;
  q.set_region("central-macedonia");
  q.set_start_period(start);
  q.set_end_period(end);
  q.set_breakdown(v1::BREAKDOWN_TARGET_GROUP);
  for (const auto& c : centres) q.add_centres(c);
  return q;
}

// Attack 1: naming a centre ten times multiplied its protected cells by ten,
// which made every "<10" cell of it readable. Every repeated field of every
// request that names centres, codes or ids refuses a repeat, naming it.
TEST(DisclosureAttackTest, ACentreOrAnIdNamedTwiceIsRefusedNamingTheRepeat) {
  TestHub hub;
  ASSERT_TRUE(hub.server()
                  .store()
                  ->ReplacePeriod(Cells("kassandra", absl::CivilMonth(2026, 10), true,
                                        [](const std::string&) { return int64_t{4}; }))
                  .ok());
  auto stats = v1::StatsService::NewStub(hub.Channel("authorities/central-macedonia"));
  v1::IndicatorTable table;
  auto q = Query("2026-10", "2026-10", std::vector<std::string>(10, "kassandra"));
  EXPECT_THAT(stats->QueryIndicators(SessionContext("").get(), q, &table),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "centres[1]: repeats centres[0]"));
  ASSERT_TRUE(stats->QueryIndicators(SessionContext("").get(), Query("2026-10", "2026-10", {"kassandra"}), &table).ok());
  for (const auto& row : table.rows()) EXPECT_TRUE(row.values(0).below_threshold()) << row.label();

  v1::GetReferralReportRequest r;
  r.set_region("central-macedonia");
  r.set_start_period("2026-10");
  r.set_end_period("2026-10");
  for (const char* c : {"kassandra", "thessaloniki", "kassandra"}) r.add_centres(c);
  v1::ReferralReport report;
  EXPECT_THAT(stats->GetReferralReport(SessionContext("").get(), r, &report),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "centres[2]: repeats centres[0]"));

  // The centres' calls to the hub name ids too.
  auto mailbox = v1::MailboxService::NewStub(hub.Channel("centres/kassandra"));
  v1::AckMessagesRequest ack;
  for (int64_t s : {4, 5, 4}) ack.add_sequences(s);
  v1::AckMessagesResponse acked;
  grpc::ClientContext ack_ctx;
  EXPECT_THAT(mailbox->AckMessages(&ack_ctx, ack, &acked),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "sequences[2]: repeats sequences[0]"));
  v1::CheckPostsRequest check;
  const std::string id = absl::BytesToHexString(RandomBytes(16));
  check.add_message_ids(id);
  check.add_message_ids(id);
  v1::CheckPostsResponse checked;
  grpc::ClientContext check_ctx;
  EXPECT_THAT(mailbox->CheckPosts(&check_ctx, check, &checked),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "message_ids[1]: repeats message_ids[0]"));
}

// Attack 2: the open month changes with every push, so two answers a day apart
// showed exactly the cells one newly served person changed. An authority sees
// a month only once it is released, and then never anything else of it.
class ReleasedMonthsTest : public ::testing::Test {
 protected:
  ReleasedMonthsTest() : hub_(At(2026, 11, 5)), kassandra_("kassandra", At(2026, 11, 5), hub_.address()) {
    kassandra_.set_release_after_days(10);
    kassandra_.Restart();
  }
  // Serves `people` new people twice each in `month` (days 1 to people + 1).
  void Serve(int people, absl::CivilMonth month, int first_serial) {
    ::kentra::testing::RecordActivity(kassandra_.NewStub().get(), kassandra_.Token("m.papadaki"), people, month,
                                      first_serial);
  }
  void Sync() {
    nv1::SyncRun run;
    ASSERT_TRUE(kassandra_.NewStub()->SyncNow(kassandra_.Context("coord").get(), {}, &run).ok());
    ASSERT_TRUE(run.succeeded()) << run.error();
  }
  absl::StatusOr<v1::IndicatorTable> Ask(const v1::QueryIndicatorsRequest& q) {
    return hub_.server().stats().Query(kCentralMacedonia, q);
  }
  void AdvanceBoth(absl::Duration d) {
    hub_.clock().Advance(d);
    kassandra_.clock().Advance(d);
  }
  TestHub hub_;
  TestNode kassandra_;
};

TEST_F(ReleasedMonthsTest, APlantedPersonNeverShowsAsTheDifferenceBetweenTwoAnswers) {
  Serve(15, absl::CivilMonth(2026, 10), 1);
  Sync();
  // October is open (released on 12 November at the latest): a range of it
  // alone is refused with the day, a longer one leaves it out and says so.
  EXPECT_THAT(Ask(Query("2026-10", "2026-10", {"kassandra"})),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "no month of 2026-10..2026-10 is released yet: 2026-10 on 2026-11-12 (sooner if it is closed at: kassandra)"));
  auto before = Ask(Query("2026-09", "2026-10", {"kassandra"}));
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ(before->columns_size(), 1);
  EXPECT_EQ(before->columns(0), "2026-09");
  ASSERT_EQ(before->withheld_periods_size(), 1);
  EXPECT_EQ(before->withheld_periods(0).period(), "2026-10");
  EXPECT_EQ(FormatDate(before->withheld_periods(0).release_date()), "2026-11-12");
  EXPECT_EQ(before->withheld_periods(0).open_centres(0), "kassandra");

  // The planted person, alone of his kind, is served the next day: nothing an
  // authority can ask shows him.
  AdvanceBoth(absl::Hours(24));
  Serve(1, absl::CivilMonth(2026, 10), 500);
  Sync();
  auto after = Ask(Query("2026-09", "2026-10", {"kassandra"}));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->SerializeAsString(), before->SerializeAsString());

  // Closed by its coordinator, October is released at once for Kassandra alone;
  // a scope with centres that have not closed it still leaves it out.
  nv1::CloseMonthRequest close;
  close.set_period("2026-10");
  kentra::anon::v1::PeriodCells closed;
  ASSERT_TRUE(kassandra_.NewStub()->CloseMonth(kassandra_.Context("coord").get(), close, &closed).ok());
  Sync();
  auto released = Ask(Query("2026-10", "2026-10", {"kassandra"}));
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->withheld_periods_size(), 0);
  auto region = Ask(Query("2026-09", "2026-10"));
  ASSERT_TRUE(region.ok()) << region.status();
  ASSERT_EQ(region->withheld_periods_size(), 1);
  EXPECT_EQ(region->withheld_periods(0).open_centres_size(), 3) << "every centre of the region but Kassandra";

  // Another planted person, dated in October after it was released: he counts
  // in November at the node, and October's answers never change again.
  Serve(1, absl::CivilMonth(2026, 10), 600);
  Sync();
  auto again = Ask(Query("2026-10", "2026-10", {"kassandra"}));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->SerializeAsString(), released->SerializeAsString());

  // On the release day every centre's October is released, as the hub holds it.
  AdvanceBoth(absl::Hours(24 * 7));
  auto whole = Ask(Query("2026-10", "2026-10"));
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->withheld_periods_size(), 0);
  // A push that would change a released month is refused, and changes nothing.
  const std::string held = hub_.server().store()->Fingerprint();
  EXPECT_THAT(hub_.server().store()->ReplacePeriod(Cells("thessaloniki", absl::CivilMonth(2026, 10), false,
                                                         [](const std::string&) { return int64_t{7}; })),
              StatusIs(absl::StatusCode::kOk, ""));  // the first arrival of a month it never held is taken
  EXPECT_THAT(hub_.server().store()->ReplacePeriod(Cells("thessaloniki", absl::CivilMonth(2026, 10), false,
                                                         [](const std::string&) { return int64_t{8}; })),
              StatusIs(absl::StatusCode::kFailedPrecondition, "released to the authorities since 2026-11-12"));
  EXPECT_NE(hub_.server().store()->Fingerprint(), held);
}

TEST_F(ReleasedMonthsTest, EveryReportCoversReleasedMonthsOnlyAndNamesTheOthers) {
  Serve(12, absl::CivilMonth(2026, 10), 1);
  Serve(3, absl::CivilMonth(2026, 11), 100);
  Sync();
  const Principal authority = kCentralMacedonia;
  // The ESF+ report of Kassandra's operation up to November ends with the last
  // released month.
  v1::GetEsfReportRequest esf;
  esf.set_mis_code("5002672");
  esf.set_period("2026-11");
  auto report = hub_.server().stats().Esf(authority, esf);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->end_period(), "2026-09");
  ASSERT_EQ(report->withheld_periods_size(), 2);
  EXPECT_EQ(report->withheld_periods(0).period(), "2026-10");
  EXPECT_EQ(report->withheld_periods(1).period(), "2026-11");
  EXPECT_NE(report->note().find("noise"), std::string::npos);
  // Referrals likewise.
  v1::GetReferralReportRequest referrals;
  referrals.set_start_period("2026-09");
  referrals.set_end_period("2026-11");
  auto r = hub_.server().stats().Referrals(authority, referrals);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->end_period(), "2026-09");
  EXPECT_EQ(r->withheld_periods_size(), 2);
  // A month that has not begun is not a question.
  EXPECT_THAT(hub_.server().stats().Query(authority, Query("2026-11", "2026-12")),
              StatusIs(absl::StatusCode::kInvalidArgument, "end_period: 2026-12 has not begun"));
  esf.set_period("2027-01");
  EXPECT_THAT(hub_.server().stats().Esf(authority, esf), StatusIs(absl::StatusCode::kInvalidArgument, "period: 2027-01"));
}

// The node closes a month on its own release_after_days after it ends: its
// cells are final from then on, late records count in the open month, and the
// hub gets the month closed.
TEST_F(ReleasedMonthsTest, ANodeClosesAMonthOnItsOwnAndSendsItClosed) {
  Serve(4, absl::CivilMonth(2026, 10), 1);
  Sync();
  AdvanceBoth(absl::Hours(24 * 6));  // 11 November: October closed itself at the node yesterday
  nv1::GetIndicatorsRequest get;
  get.set_period("2026-10");
  kentra::anon::v1::PeriodCells october;
  ASSERT_TRUE(kassandra_.NewStub()->GetIndicators(kassandra_.Context("coord").get(), get, &october).ok());
  EXPECT_TRUE(october.closed());
  nv1::CloseMonthRequest close;
  close.set_period("2026-10");
  kentra::anon::v1::PeriodCells closed;
  EXPECT_THAT(kassandra_.NewStub()->CloseMonth(kassandra_.Context("coord").get(), close, &closed),
              GrpcStatusIs(grpc::FAILED_PRECONDITION, "closed on its own on 2026-11-10, 10 days after it ended"));
  Serve(2, absl::CivilMonth(2026, 10), 50);  // late: counted in November
  kentra::anon::v1::PeriodCells unchanged;
  ASSERT_TRUE(kassandra_.NewStub()->GetIndicators(kassandra_.Context("coord").get(), get, &unchanged).ok());
  EXPECT_EQ(unchanged.SerializeAsString(), october.SerializeAsString());
  Sync();
  auto held = hub_.server().store()->Get("kassandra", "2026-10");
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_TRUE((*held)->closed()) << "the node sent its closing before the hub's own release day";
  EXPECT_EQ((*held)->SerializeAsString(), october.SerializeAsString());
}

// Attack 3 at the hub: a plain persons sketch (4096 HyperLogLog registers, as
// nodes sent them before the private sketches) lets anyone with the nodes' hash
// key test whether a person was served. The hub never keeps one: it deletes
// those an earlier version kept, and drops one an older node pushes.
TEST(DisclosureAttackTest, TheHubKeepsNoPlainSketch) {
  TestHub hub;
  auto with_plain = Cells("kassandra", absl::CivilMonth(2026, 10), true, [](const std::string&) { return int64_t{4}; });
  with_plain.set_persons_sketch(std::string(kPlainSketchBytes, '\x05'));
  ASSERT_TRUE(hub.server().store()->ReplacePeriod(with_plain).ok());  // as an earlier hub kept it
  hub.Restart();
  auto held = hub.server().store()->Get("kassandra", "2026-10");
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_TRUE((*held)->persons_sketch().empty());
  EXPECT_EQ((*held)->cells_size(), with_plain.cells_size()) << "the cells stay";

  auto sync = v1::SyncService::NewStub(hub.Channel("centres/thessaloniki"));
  v1::PushPeriodRequest push;
  *push.mutable_cells() = with_plain;
  push.mutable_cells()->set_centre("thessaloniki");
  push.set_batch_id("older-node");
  v1::PushPeriodResponse pushed;
  grpc::ClientContext ctx;
  ASSERT_TRUE(sync->PushPeriod(&ctx, push, &pushed).ok());
  held = hub.server().store()->Get("thessaloniki", "2026-10");
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_TRUE((*held)->persons_sketch().empty());
  // A private sketch travels only with a closed month.
  push.mutable_cells()->set_period("2026-11");
  push.mutable_cells()->set_closed(false);
  push.mutable_cells()->set_persons_sketch(std::string(anon::kSketchBytes, '\0'));
  grpc::ClientContext open_ctx;
  EXPECT_THAT(sync->PushPeriod(&open_ctx, push, &pushed),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "cells.persons_sketch: only a closed month carries one"));
  EXPECT_FALSE(*hub.server().store()->Released("thessaloniki", absl::CivilMonth(2026, 11)));
}

// Attack 4 (second half): the median band of days to acceptance read where the
// scope's acceptances are fewer than k, from band cells whose noise added up.
TEST(DisclosureAttackTest, TheMedianBandNeedsKAcceptancesInTheScopeAskedFor) {
  TestHub hub;
  // Counselling: 0 acceptances but bands whose protected values reach 12;
  // learning support: 12 acceptances banded alike.
  ASSERT_TRUE(hub.server()
                  .store()
                  ->ReplacePeriod(Cells("kassandra", absl::CivilMonth(2026, 10), true,
                                        [](const std::string& id) -> int64_t {
                                          if (id == "R2.counselling.0-1" || id == "R2.counselling.2-3") return 6;
                                          if (id == "R2.learning-support.0-1" || id == "R2.learning-support.2-3") return 6;
                                          if (id == "R1.accepted.learning-support") return 12;
                                          return 0;
                                        }))
                  .ok());
  v1::GetReferralReportRequest req;
  req.add_centres("kassandra");
  req.set_start_period("2026-10");
  req.set_end_period("2026-10");
  auto report = hub.server().stats().Referrals(kCentralMacedonia, req);
  ASSERT_TRUE(report.ok()) << report.status();
  std::map<std::string, std::string> median;
  for (const auto& row : report->rows()) median[row.service()] = row.median_days_to_acceptance();
  EXPECT_EQ(median["counselling"], "") << "no acceptance in the scope";
  EXPECT_EQ(median["learning-support"], "0-1");
}

// Attack 5: 100 queries in 1.3 s, none refused. Each authority has a budget; the
// operator sees its use, and a restart does not refill it.
TEST(DisclosureAttackTest, AnAuthorityOverItsQueryBudgetIsRefusedWithTheTimeToRetry) {
  TestHub hub;
  ASSERT_TRUE(hub.server()
                  .store()
                  ->ReplacePeriod(Cells("kassandra", absl::CivilMonth(2026, 10), true,
                                        [](const std::string&) { return int64_t{12}; }))
                  .ok());
  const int per_minute = hub.server().registry().hub().query_budget().per_minute();
  ASSERT_EQ(per_minute, 30) << "the default";
  auto stats = v1::StatsService::NewStub(hub.Channel("authorities/central-macedonia"));
  v1::IndicatorTable table;
  for (int i = 0; i < per_minute; ++i) {
    ASSERT_TRUE(stats->QueryIndicators(SessionContext("").get(), Query("2026-10", "2026-10"), &table).ok()) << i;
  }
  hub.clock().Advance(absl::Seconds(20));
  EXPECT_THAT(stats->QueryIndicators(SessionContext("").get(), Query("2026-10", "2026-10"), &table),
              GrpcStatusIs(grpc::RESOURCE_EXHAUSTED, "query budget of 30 queries a minute; retry in 40 s"));
  // Another authority's budget is its own.
  auto peloponnese = v1::StatsService::NewStub(hub.Channel("authorities/peloponnese"));
  v1::QueryIndicatorsRequest own = Query("2026-09", "2026-10");
  own.set_region("peloponnese");
  EXPECT_TRUE(peloponnese->QueryIndicators(SessionContext("").get(), own, &table).ok());

  auto admin = v1::AdminService::NewStub(hub.Channel("operator"));
  auto usage = [&] {
    v1::ListAuthorityUsageResponse out;
    EXPECT_TRUE(admin->ListAuthorityUsage(SessionContext("").get(), {}, &out).ok());
    std::map<std::string, v1::AuthorityUsage> by_region;
    for (const auto& u : out.authority_usages()) by_region[u.region()] = u;
    return by_region;
  };
  auto seen = usage();
  EXPECT_EQ(seen["central-macedonia"].queries_last_minute(), per_minute);
  EXPECT_EQ(seen["central-macedonia"].refused_last_day(), 1);
  EXPECT_EQ(seen["peloponnese"].queries_last_day(), 1);
  v1::ListAuthorityUsageResponse refused;
  EXPECT_EQ(v1::AdminService::NewStub(hub.Channel("authorities/central-macedonia"))
                ->ListAuthorityUsage(SessionContext("").get(), {}, &refused)
                .error_code(),
            grpc::PERMISSION_DENIED);

  // A restart keeps what was spent; a minute later the budget has room again.
  hub.Restart();
  EXPECT_THAT(stats->QueryIndicators(SessionContext("").get(), Query("2026-10", "2026-10"), &table),
              GrpcStatusIs(grpc::RESOURCE_EXHAUSTED, "30 queries a minute"));
  EXPECT_EQ(usage()["central-macedonia"].queries_last_day(), per_minute);
  hub.clock().Advance(absl::Seconds(41));
  EXPECT_TRUE(stats->QueryIndicators(SessionContext("").get(), Query("2026-10", "2026-10"), &table).ok());
}

}  // namespace
}  // namespace kentra::hub
