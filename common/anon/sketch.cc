#include "common/anon/sketch.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"

namespace kentra::anon {

SketchUpdate SketchUpdateFor(const AnonKeys& keys, absl::string_view pseudonym) {
  const std::string mac = HmacSha256(keys.sketch, pseudonym);
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | static_cast<unsigned char>(mac[static_cast<size_t>(i)]);
  const auto index = static_cast<uint16_t>(h >> (64 - kSketchLgK));
  const uint64_t rest = h << kSketchLgK;  // the other 52 bits, at the top
  int rank = 1;
  for (uint64_t bit = uint64_t{1} << 63; rank <= 64 - kSketchLgK && (rest & bit) == 0; bit >>= 1) ++rank;
  return {index, static_cast<uint8_t>(rank)};
}

void ApplySketchUpdate(std::string* sketch, SketchUpdate update) {
  if (sketch->size() != kSketchRegisters) sketch->assign(kSketchRegisters, '\0');
  char& r = (*sketch)[update.index];
  if (static_cast<unsigned char>(r) < update.rank) r = static_cast<char>(update.rank);
}

void MergeSketch(std::string* into, absl::string_view other) {
  if (other.size() != kSketchRegisters) return;
  if (into->size() != kSketchRegisters) into->assign(kSketchRegisters, '\0');
  // A plain loop over unsigned bytes, which the compiler vectorises.
  auto* a = reinterpret_cast<unsigned char*>(into->data());
  const auto* b = reinterpret_cast<const unsigned char*>(other.data());
  for (size_t i = 0; i < kSketchRegisters; ++i) a[i] = a[i] < b[i] ? b[i] : a[i];
}

absl::Status ValidateSketch(absl::string_view sketch) {
  if (sketch.empty()) return absl::OkStatus();
  if (sketch.size() != kSketchRegisters) {
    return absl::InvalidArgumentError(absl::StrCat("must be empty or ", kSketchRegisters, " registers"));
  }
  for (char c : sketch) {
    if (static_cast<unsigned char>(c) > 64 - kSketchLgK + 1) return absl::InvalidArgumentError("holds a register out of range");
  }
  return absl::OkStatus();
}

double EstimateDistinct(absl::string_view sketch) {
  if (sketch.size() != kSketchRegisters) return 0;
  const double m = static_cast<double>(kSketchRegisters);
  double sum = 0;
  int zeros = 0;
  for (char c : sketch) {
    const int r = static_cast<unsigned char>(c);
    sum += std::ldexp(1.0, -r);
    zeros += r == 0;
  }
  const double alpha = 0.7213 / (1 + 1.079 / m);
  const double raw = alpha * m * m / sum;
  // Small ranges: linear counting is far more accurate while registers are empty.
  if (raw <= 2.5 * m && zeros > 0) return m * std::log(m / zeros);
  return raw;
}

int64_t ReleasedEstimate(double estimate) {
  const auto rounded = static_cast<int64_t>(std::llround(estimate / kEstimateRounding)) * kEstimateRounding;
  return estimate < kMinReleasedEstimate || rounded < kMinReleasedEstimate ? -1 : rounded;
}

}  // namespace kentra::anon
