#include "common/anon/sketch.h"

#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"

namespace kentra::anon {
namespace {

// The chance that one person lands on `level`: 2^-(level+1), the last level
// taking what is left.
double LevelShare(int level) {
  return level < kSketchLevels - 1 ? std::ldexp(1.0, -(level + 1)) : std::ldexp(1.0, -(kSketchLevels - 1));
}

// A uniform double in [0, 1) from 53 bits of `rng`.
double Uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// The randomised merge of Sketch-Flip-Merge for one more sketch: given the
// merged sketch's (a0, a1) and a released sketch's (p, 1 - p), the chances that
// the result is 1 when the two read (0, 1), (1, 0) and (1, 1) (it is 0 when both
// read 0), chosen so that the result reads 1 with one chance p1 whenever the
// union's bit is 1, whichever of the two held it, and with p0 when it is 0; of
// all such, the one with p1 - p0 largest.
struct MergeRule {
  double m01 = 1, m10 = 1, m11 = 1;
  double p0 = 0, p1 = 0;
};
MergeRule BestMergeRule(double a0, double a1, double p) {
  MergeRule best;
  best.p1 = -1;
  const double den = (1 - p) - p * (1 - a1) / a1;
  constexpr int kSteps = 1000;
  for (int i = 0; i <= kSteps && den > 0; ++i) {
    MergeRule r;
    r.m11 = static_cast<double>(i) / kSteps;
    r.m01 = r.m11 / den;
    r.m10 = ((1 - a1) * r.m01 + a1 * r.m11) / a1;
    if (r.m01 > 1 || r.m10 > 1) break;  // both grow with m11
    r.p0 = (1 - a0) * p * r.m01 + a0 * (1 - p) * r.m10 + a0 * p * r.m11;
    r.p1 = (1 - a1) * p * r.m01 + a1 * (1 - p) * r.m10 + a1 * p * r.m11;
    if (best.p1 < 0 || r.p1 - r.p0 > best.p1 - best.p0) best = r;
  }
  return best;
}

}  // namespace

double SketchEpsilon() { return std::log((1 - kSketchFlipProbability) / kSketchFlipProbability); }

uint16_t SketchBitFor(const AnonKeys& keys, absl::string_view pseudonym) {
  const std::string mac = HmacSha256(keys.sketch, pseudonym);
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | static_cast<unsigned char>(mac[static_cast<size_t>(i)]);
  const auto bucket = static_cast<int>(h >> 56);  // kSketchBuckets = 2^8
  const uint64_t rest = h << 8;
  int level = 0;
  while (level < kSketchLevels - 1 && (rest & (uint64_t{1} << (63 - level))) == 0) ++level;
  return static_cast<uint16_t>(bucket * kSketchLevels + level);
}

std::string PrivateSketch(absl::string_view true_bits, absl::string_view noise_key, absl::string_view period) {
  // Three coins a bit, flipped when all three come up 1 (1 in 8): a PRF stream.
  std::string coins;
  for (int block = 0; coins.size() < kSketchBits * 3 / 8; ++block) {
    coins += HmacSha256(noise_key, absl::StrCat("kentra-anon/v2 sketch noise ", period, " ", block));
  }
  auto coin = [&](size_t j) { return (static_cast<unsigned char>(coins[j / 8]) >> (j % 8)) & 1; };
  std::string packed(kSketchBytes, '\0');
  for (size_t i = 0; i < kSketchBits; ++i) {
    const bool flip = coin(3 * i) && coin(3 * i + 1) && coin(3 * i + 2);
    const bool bit = i < true_bits.size() && true_bits[i] != 0;
    if (bit != flip) packed[i / 8] = static_cast<char>(static_cast<unsigned char>(packed[i / 8]) | (1u << (i % 8)));
  }
  return packed;
}

absl::Status ValidateSketch(absl::string_view sketch) {
  if (sketch.empty() || sketch.size() == kSketchBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("must be empty or ", kSketchBytes, " bytes (a private sketch)"));
}

SketchMerger::SketchMerger(absl::string_view seed) {
  const std::string digest = Digest(absl::StrCat("kentra-anon/v2 merge ", seed));
  std::seed_seq seq(digest.begin(), digest.end());
  rng_.seed(seq);
}

void SketchMerger::Add(absl::string_view released) {
  if (released.size() != kSketchBytes) return;
  auto bit = [&](size_t i) { return (static_cast<unsigned char>(released[i / 8]) >> (i % 8)) & 1; };
  if (merged_.sketches == 0) {
    merged_.bits.assign(kSketchBits, '\0');
    for (size_t i = 0; i < kSketchBits; ++i) merged_.bits[i] = static_cast<char>(bit(i));
    merged_.sketches = 1;
    return;
  }
  const MergeRule rule = BestMergeRule(merged_.p0, merged_.p1, kSketchFlipProbability);
  for (size_t i = 0; i < kSketchBits; ++i) {
    const bool a = merged_.bits[i] != 0, b = bit(i) != 0;
    double chance = 0;
    if (a && b) chance = rule.m11;
    else if (a) chance = rule.m10;
    else if (b) chance = rule.m01;
    merged_.bits[i] = static_cast<char>(chance > 0 && Uniform(rng_) < chance);
  }
  merged_.p0 = rule.p0;
  merged_.p1 = rule.p1;
  ++merged_.sketches;
}

DistinctEstimate EstimateDistinct(const MergedSketch& merged) {
  constexpr double kUnknown = std::numeric_limits<double>::infinity();
  const double gap = merged.p1 - merged.p0;
  if (merged.sketches == 0 || merged.bits.size() != kSketchBits || gap <= 1e-6) return {0, kUnknown};
  std::vector<int> ones(kSketchLevels, 0);
  for (int b = 0; b < kSketchBuckets; ++b) {
    for (int l = 0; l < kSketchLevels; ++l) ones[static_cast<size_t>(l)] += merged.bits[static_cast<size_t>(b * kSketchLevels + l)];
  }
  auto chance = [&](double n, int l) {
    return merged.p0 + gap * -std::expm1(-n * LevelShare(l) / kSketchBuckets);
  };
  auto log_likelihood = [&](double n) {
    double sum = 0;
    for (int l = 0; l < kSketchLevels; ++l) {
      const double pi = std::min(std::max(chance(n, l), 1e-12), 1 - 1e-12);
      sum += ones[static_cast<size_t>(l)] * std::log(pi) + (kSketchBuckets - ones[static_cast<size_t>(l)]) * std::log1p(-pi);
    }
    return sum;
  };
  // Over x = log(1 + n): a coarse grid, then golden-section search around its best.
  const double top = std::log1p(1e8);
  constexpr int kGrid = 400;
  int best = 0;
  double best_value = log_likelihood(0);
  for (int i = 1; i <= kGrid; ++i) {
    const double v = log_likelihood(std::expm1(top * i / kGrid));
    if (v > best_value) best_value = v, best = i;
  }
  double lo = top * std::max(best - 1, 0) / kGrid, hi = top * std::min(best + 1, kGrid) / kGrid;
  const double golden = (std::sqrt(5.0) - 1) / 2;
  for (int i = 0; i < 100; ++i) {
    const double x1 = hi - golden * (hi - lo), x2 = lo + golden * (hi - lo);
    if (log_likelihood(std::expm1(x1)) < log_likelihood(std::expm1(x2))) {
      lo = x1;
    } else {
      hi = x2;
    }
  }
  const double n = std::expm1((lo + hi) / 2);
  if (n < 1) return {n, kUnknown};
  double information = 0;
  for (int l = 0; l < kSketchLevels; ++l) {
    const double share = LevelShare(l) / kSketchBuckets;
    const double pi = chance(n, l);
    const double slope = gap * std::exp(-n * share) * share;
    information += kSketchBuckets * slope * slope / std::max(pi * (1 - pi), 1e-12);
  }
  return {n, information > 0 ? 1 / (n * std::sqrt(information)) : kUnknown};
}

int64_t ReleasedEstimate(const DistinctEstimate& e) {
  if (!(e.relative_error <= kMaxReleasedRelativeError) || e.estimate < kMinReleasedEstimate) return -1;
  const auto rounded = static_cast<int64_t>(std::llround(e.estimate / kEstimateRounding)) * kEstimateRounding;
  return rounded < kMinReleasedEstimate ? -1 : rounded;
}

}  // namespace kentra::anon
