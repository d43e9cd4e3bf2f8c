#include "common/failure_window.h"

#include <gtest/gtest.h>

namespace kentra {
namespace {

TEST(FailureWindowTest, RefusesAfterTheLimitUntilTheOldestFailureLeaves) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  FailureWindow window(3, absl::Minutes(10), &clock);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(window.RetryAfter("a"), absl::ZeroDuration());
    window.RecordFailure("a");
    clock.Advance(absl::Minutes(1));
  }
  // Failures at t=0, 1, 2 min; now t=3: the first leaves the window at t=10.
  EXPECT_EQ(window.RetryAfter("a"), absl::Minutes(7));
  EXPECT_EQ(window.RetryAfter("b"), absl::ZeroDuration()) << "other keys are not affected";
  clock.Advance(absl::Minutes(7));
  EXPECT_EQ(window.RetryAfter("a"), absl::ZeroDuration());
}

TEST(FailureWindowTest, ForgetsTheOldestKeysWhenFull) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  FailureWindow window(1, absl::Minutes(10), &clock, /*max_keys=*/2);
  window.RecordFailure("old");
  clock.Advance(absl::Seconds(1));
  window.RecordFailure("mid");
  clock.Advance(absl::Seconds(1));
  window.RecordFailure("new");
  EXPECT_EQ(window.RetryAfter("old"), absl::ZeroDuration());
  EXPECT_GT(window.RetryAfter("mid"), absl::ZeroDuration());
  EXPECT_GT(window.RetryAfter("new"), absl::ZeroDuration());
}

}  // namespace
}  // namespace kentra
