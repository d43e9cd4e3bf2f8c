// How the courier cuts its outbox into BatchPostMessages calls, and where its
// scan of the outbox starts. (Its posting, watching and retrying are covered end
// to end in referrals_test.cc.)
#include "node/referral_courier.h"

#include <gtest/gtest.h>

#include "common/sealing.h"

namespace kentra::node {
namespace {

constexpr size_t kMiB = 1 << 20;

TEST(PostBatchLengthTest, StopsAtTheCountOrTheBytesButAlwaysTakesOne) {
  // Sealed sizes are a bucket plus the sealed box's overhead.
  const size_t small = kSealBuckets[0] + 100;
  const size_t largest = kSealBuckets[4] + 100;
  EXPECT_EQ(PostBatchLength({}, 100, kMiB), 0u);
  EXPECT_EQ(PostBatchLength(std::vector<size_t>(150, small), 100, kMiB), 100u) << "the hub takes 100 per call";
  EXPECT_EQ(PostBatchLength(std::vector<size_t>(5, largest), 100, kMiB), 3u) << "a fourth would pass 1 MiB";
  EXPECT_EQ(PostBatchLength({small, small, largest, largest, largest, largest}, 100, kMiB), 5u);
  EXPECT_EQ(PostBatchLength({2 * kMiB, small}, 100, kMiB), 1u) << "one message always goes, whatever its size";
  EXPECT_EQ(PostBatchLength({kMiB - small, small, 1}, 100, kMiB), 2u) << "exactly 1 MiB fits";
}

// The whole outbox goes, in order, in as few calls as the limits allow.
TEST(PostBatchLengthTest, CuttingAnOutboxRepeatedlyTakesEveryMessageOnceInOrder) {
  std::vector<size_t> outbox;
  for (int i = 0; i < 400; ++i) outbox.push_back(kSealBuckets[i % 5] + 100);
  size_t total = 0;
  for (size_t s : outbox) total += s;
  int calls = 0;
  size_t posted = 0;
  while (posted < outbox.size()) {
    const std::vector<size_t> rest(outbox.begin() + static_cast<long>(posted), outbox.end());
    const size_t n = PostBatchLength(rest, 100, kMiB);
    ASSERT_GE(n, 1u);
    size_t bytes = 0;
    for (size_t i = 0; i < n; ++i) bytes += rest[i];
    EXPECT_LE(bytes, kMiB);
    posted += n;
    ++calls;
  }
  EXPECT_EQ(posted, outbox.size());
  EXPECT_GE(calls, static_cast<int>(total / kMiB) + 1);
  EXPECT_LE(calls, static_cast<int>(2 * (total / kMiB) + 2)) << "each call but the last is more than half full";
}

// The courier scans its outbox from a floor below which every item is posted.
TEST(OutboxFloorTest, MovesOnlyOverAnUnbrokenRunOfPostedKeys) {
  EXPECT_EQ(OutboxFloorAfter(5, {5, 6, 7}), 8u);
  // 6 was taken by a writer that has not committed it yet: 7 is posted first.
  EXPECT_EQ(OutboxFloorAfter(5, {5, 7}), 6u);
  EXPECT_EQ(OutboxFloorAfter(6, {6, 8}), 7u) << "6 came later and was posted; 7 is already gone";
  EXPECT_EQ(OutboxFloorAfter(5, {7, 8}), 5u);
  EXPECT_EQ(OutboxFloorAfter(5, {}), 5u);
}

}  // namespace
}  // namespace kentra::node
