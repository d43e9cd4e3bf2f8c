// Synced RocksDB batches of a given shape (operations and bytes), spread over the
// node's column families: the write the baselines make in place of a node call's.
#ifndef KENTRA_BENCH_SHAPED_WRITE_H_
#define KENTRA_BENCH_SHAPED_WRITE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/storage.h"

namespace kentra::bench {

class ShapedWriter {
 public:
  // Batches of `operations` puts and about `bytes` bytes (keys plus values).
  ShapedWriter(int operations, double bytes);
  // Writes one synced batch into `store` (which has the node's column families);
  // `writer` and `n` make its keys unique.
  absl::Status Write(Store& store, int writer, int64_t n) const;

 private:
  int operations_;
  size_t value_bytes_;
  std::string noise_;
};

}  // namespace kentra::bench

#endif  // KENTRA_BENCH_SHAPED_WRITE_H_
