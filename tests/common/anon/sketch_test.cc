// The private persons sketches of kentra-anon/v2: what one release gives away
// about one person to an attacker who holds the nodes' hash key and the hub's
// store (played, 2,000 times), and what the estimates are still worth.
#include "common/anon/sketch.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace kentra::anon {
namespace {

const AnonKeys& Keys() {
  static const AnonKeys keys = AnonKeys::Derive(std::string(32, 's'));
  return keys;
}

// The true sketch of people "person-<from>" .. "person-<to - 1>".
std::string TrueBits(int from, int to) {
  std::string bits(kSketchBits, '\0');
  for (int i = from; i < to; ++i) bits[SketchBitFor(Keys(), absl::StrCat("person-", i))] = 1;
  return bits;
}

int Ones(absl::string_view packed) {
  int n = 0;
  for (char c : packed) n += __builtin_popcount(static_cast<unsigned char>(c));
  return n;
}

// The attack of the issue: a centre-month of 4 people, and a planted person
// present or absent. The attacker computes the planted person's bit from the
// federation secret and reads it in the released sketch. Over 2,000 trials his
// balanced accuracy stays within the bound that ε = ln 7 gives (7/8), where on a
// plain sketch (the bits as they are) it is certain.
TEST(SketchAttackTest, AMembershipTestOnOneReleaseIsRightNoMoreOftenThanTheBound) {
  std::mt19937_64 rng(2026);
  constexpr int kTrials = 2000;
  int right_private = 0, right_plain = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const bool present = trial % 2 == 0;
    const std::string target = absl::StrCat("planted-", trial);
    std::string bits(kSketchBits, '\0');
    for (int k = 0; k < 4; ++k) bits[SketchBitFor(Keys(), absl::StrCat("other-", rng()))] = 1;
    const uint16_t bit = SketchBitFor(Keys(), target);
    if (present) bits[bit] = 1;
    const std::string noise_key = absl::StrCat("node-secret-", rng());  // the attacker does not have it
    const std::string released = PrivateSketch(bits, noise_key, "2026-10");
    const bool guess = (static_cast<unsigned char>(released[bit / 8]) >> (bit % 8)) & 1;
    right_private += guess == present;
    right_plain += (bits[bit] != 0) == present;
  }
  const double accuracy = static_cast<double>(right_private) / kTrials;
  const double bound = std::exp(SketchEpsilon()) / (1 + std::exp(SketchEpsilon()));  // 7/8
  const double sigma = std::sqrt(bound * (1 - bound) / kTrials);
  std::printf("membership test on one release: right %.3f of the time (bound %.3f; plain sketch %.3f)\n", accuracy,
              bound, static_cast<double>(right_plain) / kTrials);
  EXPECT_LE(accuracy, bound + 3 * sigma);
  EXPECT_GT(right_plain, kTrials * 99 / 100) << "the plain sketch gives everyone away";
  EXPECT_NEAR(SketchEpsilon(), std::log(7.0), 1e-12);
}

// The number of bits set is no longer a count of anyone: whoever was served,
// about one bit in eight is set, and one more person moves it by at most one.
TEST(SketchAttackTest, TheBitsSetCountNobody) {
  const std::string nobody = PrivateSketch("", "node-secret", "2026-10");
  const std::string four = PrivateSketch(TrueBits(0, 4), "node-secret", "2026-10");
  EXPECT_EQ(nobody.size(), kSketchBytes);
  EXPECT_GT(Ones(nobody), 400);
  EXPECT_LT(Ones(nobody), 630);
  EXPECT_LE(std::abs(Ones(four) - Ones(nobody)), 4);
  // The same month always gives the same sketch; another month or node, other coins.
  EXPECT_EQ(PrivateSketch(TrueBits(0, 4), "node-secret", "2026-10"), four);
  EXPECT_NE(PrivateSketch(TrueBits(0, 4), "node-secret", "2026-11"), four);
  EXPECT_NE(PrivateSketch(TrueBits(0, 4), "other-node", "2026-10"), four);
  EXPECT_TRUE(ValidateSketch(four).ok());
  EXPECT_TRUE(ValidateSketch("").ok());
  EXPECT_FALSE(ValidateSketch(std::string(4096, '\0')).ok()) << "a plain sketch";
}

// Estimates of one release and of merged ones, against the truth, within the
// error each states (3 standard errors), and a union counted once.
TEST(SketchTest, EstimatesDistinctPersonsAndMergesAsAUnionWithinTheirStatedError) {
  for (int n : {500, 5000}) {
    SketchMerger one("scope");
    one.Add(PrivateSketch(TrueBits(0, n), "node", "2026-10"));
    const DistinctEstimate e = EstimateDistinct(one.merged());
    SCOPED_TRACE(n);
    EXPECT_LT(e.relative_error, 0.15);
    EXPECT_NEAR(e.estimate, n, 3 * e.relative_error * n);
  }
  // Two centres sharing 1,000 of their people: the union is 5,000, not 6,000.
  SketchMerger two("scope");
  two.Add(PrivateSketch(TrueBits(0, 3000), "kassandra", "2026-10"));
  two.Add(PrivateSketch(TrueBits(2000, 5000), "thessaloniki", "2026-10"));
  const DistinctEstimate both = EstimateDistinct(two.merged());
  EXPECT_NEAR(both.estimate, 5000, 3 * both.relative_error * 5000);
  EXPECT_LT(both.estimate, 5600);
  EXPECT_LT(two.merged().p1 - two.merged().p0, 0.75) << "merging costs accuracy";
  // The same merge under the same seed is the same answer.
  SketchMerger again("scope");
  again.Add(PrivateSketch(TrueBits(0, 3000), "kassandra", "2026-10"));
  again.Add(PrivateSketch(TrueBits(2000, 5000), "thessaloniki", "2026-10"));
  EXPECT_EQ(again.merged().bits, two.merged().bits);
  // Nothing merged, nothing said.
  EXPECT_EQ(ReleasedEstimate(EstimateDistinct(SketchMerger("none").merged())), -1);
}

TEST(SketchTest, OnlyRoundedEstimatesFromFiftyUpWithABoundedErrorAreReleased) {
  EXPECT_EQ(ReleasedEstimate({0, 0.1}), -1);
  EXPECT_EQ(ReleasedEstimate({49.9, 0.1}), -1);
  EXPECT_EQ(ReleasedEstimate({50.2, 0.1}), 50);
  EXPECT_EQ(ReleasedEstimate({54.9, 0.1}), 50);
  EXPECT_EQ(ReleasedEstimate({55.1, 0.1}), 60);
  EXPECT_EQ(ReleasedEstimate({1234.0, 0.5}), 1230);
  EXPECT_EQ(ReleasedEstimate({1234.0, 0.51}), -1) << "too uncertain to show";
  EXPECT_EQ(ReleasedEstimate({1234.0, std::numeric_limits<double>::infinity()}), -1);
}

}  // namespace
}  // namespace kentra::anon
