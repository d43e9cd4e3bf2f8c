#include "bench/shaped_write.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_format.h"
#include "node/schema.h"

namespace kentra::bench {

namespace {
constexpr int kKeyBytes = 28;
constexpr size_t kNoiseSpread = 4096;
}  // namespace

ShapedWriter::ShapedWriter(int operations, double bytes)
    : operations_(std::max(1, operations)),
      value_bytes_(static_cast<size_t>(std::max(0.0, bytes / operations_ - kKeyBytes))) {
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < value_bytes_ + kNoiseSpread; ++i) noise_.push_back(static_cast<char>(rng()));
}

absl::Status ShapedWriter::Write(Store& store, int writer, int64_t n) const {
  WriteBatch batch;
  for (int op = 0; op < operations_; ++op) {
    const std::string key = absl::StrFormat("raw%03d%012d%012d", writer, n, op);  // kKeyBytes
    const size_t offset = static_cast<size_t>((n * 131 + op * 17) % static_cast<int64_t>(kNoiseSpread));
    batch.Put(1 + op % (node::kCfCount - 1), key, absl::string_view(noise_).substr(offset, value_bytes_));
  }
  return store.Write(batch);
}

}  // namespace kentra::bench
