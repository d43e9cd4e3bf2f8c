// Persons sketches of kentra-anon/v2: how many distinct people the chosen centres
// served over the chosen months, counting someone served at two centres or in
// two months once, without any sketch identifying anyone.
//
// A plain cardinality sketch is a record of who was served: anyone holding the
// nodes' hash key (every node holds it) can test a person against it, and it
// cannot be made private after the fact (Desfontaines, Lochbihler, Basin,
// PoPETs 2019). So what a node sends is a Sketch-Flip-Merge sketch (Hehir, Ting,
// Cormode, ICML 2023):
//   - a PCSA bit matrix of kSketchBuckets x kSketchLevels bits: each person sets
//     one bit, chosen by a keyed hash of their pseudonym (bucket, and a level
//     that is l with probability 2^-(l+1));
//   - before it leaves the node, every bit is flipped with probability 1/8 by
//     coins only that node has (a PRF of a node-local key and the month), so
//     the same month always gives the same sketch;
//   - a node sends it only with a closed month: one release per centre and month.
// Adding or removing one person changes at most one bit of the true sketch, and
// each bit is reported truly with probability 7/8: each release is ε-differentially
// private with ε = ln 7 (about 1.95) for each person, against an attacker who
// holds the hash key and every sketch. A person served in each of the 12 months
// of a year at one centre is in 12 releases: ε = 12 ln 7 (about 23.4) over the year.
// No test of one release tells whether a given person is in it with a balanced
// accuracy above 7/8 (an advantage, true minus false positive rate, of 3/4).
//
// The hub merges released sketches with the randomised merge of Sketch-Flip-Merge,
// which keeps the result an exact randomised response of the union's bits with
// known flip probabilities, and estimates the union's size by maximum
// likelihood, with its relative standard error. Merged sketches get noisier with
// each merge: the hub releases an estimate only while its error is bounded.
#ifndef KENTRA_COMMON_ANON_SKETCH_H_
#define KENTRA_COMMON_ANON_SKETCH_H_

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/anon/keys.h"

namespace kentra::anon {

inline constexpr int kSketchBuckets = 256;
inline constexpr int kSketchLevels = 16;
// The node keeps a month's true sketch as this many one-byte registers, each 0 or 1.
inline constexpr size_t kSketchBits = static_cast<size_t>(kSketchBuckets) * kSketchLevels;
// The released sketch: the bits packed, 8 to a byte.
inline constexpr size_t kSketchBytes = kSketchBits / 8;
// Each bit of a released sketch is flipped with this probability: ε = ln 7 a release.
inline constexpr double kSketchFlipProbability = 1.0 / 8;
// ln((1 - p) / p): the privacy loss of one release for one person.
double SketchEpsilon();

// Estimates under this are not released; larger ones are rounded to kEstimateRounding.
inline constexpr int64_t kMinReleasedEstimate = 50;
inline constexpr int64_t kEstimateRounding = 10;
// An estimate whose relative standard error is above this is not released.
inline constexpr double kMaxReleasedRelativeError = 0.5;

// The bit of the true sketch one person sets: bucket * kSketchLevels + level.
uint16_t SketchBitFor(const AnonKeys& keys, absl::string_view pseudonym);

// The released form of a month's true sketch (`true_bits`: kSketchBits bytes of
// 0 or 1, or empty for nobody served): every bit flipped with probability 1/8 by
// a PRF of `noise_key` (the node's, never sent) and `period`, packed into
// kSketchBytes. The same arguments always give the same sketch.
std::string PrivateSketch(absl::string_view true_bits, absl::string_view noise_key, absl::string_view period);

// INVALID_ARGUMENT unless `sketch` is empty or kSketchBytes bytes.
absl::Status ValidateSketch(absl::string_view sketch);

// The union of released sketches, as a randomised response of its bits: a bit
// whose true value is 0 reads 1 with probability p0, one whose true value is 1
// with probability p1.
struct MergedSketch {
  std::string bits;  // kSketchBits bytes, 0 or 1
  double p0 = kSketchFlipProbability;
  double p1 = 1 - kSketchFlipProbability;
  int sketches = 0;
};

// Merges released sketches one by one. Its coins come from `seed`, so the same
// sketches merged under the same seed always give the same result.
class SketchMerger {
 public:
  explicit SketchMerger(absl::string_view seed);
  // Adds a released sketch (kSketchBytes bytes; anything else is ignored).
  void Add(absl::string_view released);
  const MergedSketch& merged() const { return merged_; }

 private:
  MergedSketch merged_;
  std::mt19937_64 rng_;
};

// The maximum-likelihood size of the union a merged sketch stands for, and the
// estimate's relative standard error (from the Fisher information; infinite
// when the sketch says nothing).
struct DistinctEstimate {
  double estimate = 0;
  double relative_error = 0;
};
DistinctEstimate EstimateDistinct(const MergedSketch& merged);

// What may be released of an estimate: rounded to 10 if at least 50 and its
// relative error at most kMaxReleasedRelativeError, else -1.
int64_t ReleasedEstimate(const DistinctEstimate& e);

}  // namespace kentra::anon

#endif  // KENTRA_COMMON_ANON_SKETCH_H_
