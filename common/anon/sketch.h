// HyperLogLog sketches of kentra-anon/v1 (lg_k 12: 4096 one-byte registers) for
// distinct persons across centres. A node adds each person it serves in a month,
// hashed with a keyed PRF of the pseudonym (keys only nodes hold); the hub merges
// sketches register by register and releases only rounded estimates, never a
// sketch.
#ifndef KENTRA_COMMON_ANON_SKETCH_H_
#define KENTRA_COMMON_ANON_SKETCH_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/anon/keys.h"

namespace kentra::anon {

inline constexpr int kSketchLgK = 12;
inline constexpr size_t kSketchRegisters = size_t{1} << kSketchLgK;
// Estimates under this are not released; larger ones are rounded to kEstimateRounding.
inline constexpr int64_t kMinReleasedEstimate = 50;
inline constexpr int64_t kEstimateRounding = 10;

// What adding one person does to a sketch: register `index` becomes at least `rank`.
struct SketchUpdate {
  uint16_t index;
  uint8_t rank;
};
SketchUpdate SketchUpdateFor(const AnonKeys& keys, absl::string_view pseudonym);

// Applies `update` to a dense sketch (kSketchRegisters bytes; empty means all zero).
void ApplySketchUpdate(std::string* sketch, SketchUpdate update);
// Merges dense sketch `other` into `into` (either may be empty: all zero).
void MergeSketch(std::string* into, absl::string_view other);
// INVALID_ARGUMENT unless `sketch` is empty or kSketchRegisters registers of at most 64 - lg_k + 1.
absl::Status ValidateSketch(absl::string_view sketch);
// The HyperLogLog estimate of the number of distinct persons added.
double EstimateDistinct(absl::string_view sketch);
// What may be released of an estimate: rounded to 10 if at least 50, else -1.
int64_t ReleasedEstimate(double estimate);

}  // namespace kentra::anon

#endif  // KENTRA_COMMON_ANON_SKETCH_H_
