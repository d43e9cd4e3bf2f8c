// SealAhead, with a seal function the test controls: what it hands out is what
// the function made, once; it waits for a seal under way; it forgets what the
// outbox no longer holds; and when it holds nothing, the caller seals.
#include "node/seal_ahead.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace kentra::node {
namespace {

using kentra::storage::v1::OutboxItem;

OutboxItem Item(const std::string& message_id) {
  OutboxItem item;
  item.set_message_id(message_id);
  return item;
}

absl::StatusOr<std::string> SealById(const OutboxItem& item) {
  if (item.message_id() == "bad") return absl::FailedPreconditionError("no key");
  return "sealed:" + item.message_id();
}

TEST(SealAheadTest, HandsOutWhatWasSealedOnceAndNothingItWasNotAsked) {
  SealAhead ahead(SealById);
  ahead.Start("001", Item("a"));
  ahead.Start("002", Item("b"));
  EXPECT_EQ(ahead.Take("002"), "sealed:b");
  EXPECT_EQ(ahead.Take("001"), "sealed:a");
  EXPECT_EQ(ahead.Take("001"), std::nullopt);  // taken already
  EXPECT_EQ(ahead.Take("003"), std::nullopt);  // never started
  EXPECT_EQ(ahead.size(), 0u);
}

TEST(SealAheadTest, AFailedSealLeavesItToTheCaller) {
  SealAhead ahead(SealById);
  ahead.Start("001", Item("bad"));
  EXPECT_EQ(ahead.Take("001"), std::nullopt);
  EXPECT_EQ(ahead.size(), 0u);
}

TEST(SealAheadTest, TakeWaitsForASealUnderWay) {
  absl::Notification sealing, go_on;
  SealAhead ahead([&](const OutboxItem& item) -> absl::StatusOr<std::string> {
    sealing.Notify();
    go_on.WaitForNotification();
    return "sealed:" + item.message_id();
  });
  ahead.Start("001", Item("a"));
  sealing.WaitForNotification();
  std::atomic<bool> taken{false};
  std::optional<std::string> got;
  std::thread taker([&] {
    got = ahead.Take("001");
    taken = true;
  });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(taken);  // still sealing
  go_on.Notify();
  taker.join();
  EXPECT_EQ(got, "sealed:a");
}

TEST(SealAheadTest, ForgetsWhatLiesBelowTheOutbox) {
  SealAhead ahead(SealById);
  ahead.Start("001", Item("a"));
  ahead.Start("002", Item("b"));
  ahead.Start("003", Item("c"));
  ahead.ForgetBelow("003");
  EXPECT_EQ(ahead.Take("001"), std::nullopt);
  EXPECT_EQ(ahead.Take("002"), std::nullopt);
  EXPECT_EQ(ahead.Take("003"), "sealed:c");
}

TEST(SealAheadTest, WhenFullTheOldestGoes) {
  SealAhead ahead(SealById, /*capacity=*/2);
  ahead.Start("001", Item("a"));
  ahead.Start("002", Item("b"));
  ahead.Start("003", Item("c"));
  EXPECT_EQ(ahead.size(), 2u);
  EXPECT_EQ(ahead.Take("001"), std::nullopt);
  EXPECT_EQ(ahead.Take("002"), "sealed:b");
  EXPECT_EQ(ahead.Take("003"), "sealed:c");
}

TEST(SealAheadTest, StopsWithSealsStillQueued) {
  std::atomic<int> sealed{0};
  {
    SealAhead ahead([&](const OutboxItem& item) -> absl::StatusOr<std::string> {
      absl::SleepFor(absl::Milliseconds(5));
      ++sealed;
      return item.message_id();
    });
    for (int i = 0; i < 100; ++i) ahead.Start(absl::StrCat(1000 + i), Item("x"));
  }  // returns without sealing all 100
  EXPECT_LT(sealed.load(), 100);
}

}  // namespace
}  // namespace kentra::node
