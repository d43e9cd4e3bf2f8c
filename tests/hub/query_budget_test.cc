// QueryBudget on a fake clock: sliding windows of a minute and a day, the time to
// retry, and a budget rebuilt from what was spent.
#include "hub/query_budget.h"

#include <gtest/gtest.h>

#include "tests/testing/test_util.h"

namespace kentra::hub {
namespace {

using ::kentra::testing::StatusIs;

TEST(QueryBudgetTest, TheMinuteAndTheDayAreSlidingWindowsWithTheTimeToRetry) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  QueryBudget budget(&clock, 3, 5);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(budget.Spend("central-macedonia").ok());
    clock.Advance(absl::Seconds(10));
  }
  EXPECT_THAT(budget.Spend("central-macedonia"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       "authority/central-macedonia has spent its query budget of 3 queries a minute; retry in 30 s"));
  EXPECT_TRUE(budget.Spend("peloponnese").ok()) << "each authority has its own";
  clock.Advance(absl::Seconds(30));  // the first query is a minute old
  EXPECT_TRUE(budget.Spend("central-macedonia").ok());
  clock.Advance(absl::Minutes(5));
  EXPECT_TRUE(budget.Spend("central-macedonia").ok());
  // Five in the day: the next fits when the first is a day old.
  EXPECT_THAT(budget.Spend("central-macedonia"),
              StatusIs(absl::StatusCode::kResourceExhausted, "5 queries a day; retry in 86040 s"));
  clock.Advance(absl::Seconds(86040));
  EXPECT_TRUE(budget.Spend("central-macedonia").ok());

  const auto usage = budget.UsageNow();
  ASSERT_EQ(usage.size(), 2u);
  EXPECT_EQ(usage[0].authority, "central-macedonia");
  EXPECT_EQ(usage[0].last_day, 5);
  EXPECT_EQ(usage[0].last_minute, 1);
  EXPECT_EQ(usage[0].refused_last_day, 2);
  EXPECT_EQ(usage[0].last_query, clock.Now());
}

TEST(QueryBudgetTest, ABudgetRebuiltFromWhatWasSpentRefusesAsBefore) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  QueryBudget budget(&clock, 2, 100);
  budget.Restore("central-macedonia", clock.Now() - absl::Seconds(5));
  budget.Restore("central-macedonia", clock.Now() - absl::Seconds(50));
  EXPECT_THAT(budget.Spend("central-macedonia"), StatusIs(absl::StatusCode::kResourceExhausted, "retry in 10 s"));
}

}  // namespace
}  // namespace kentra::hub
