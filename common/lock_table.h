// Striped locks keyed by strings, for read-check-write sequences that must not
// interleave (e.g. "is this ΑΜΚΑ registered?" then "register it") without
// serialising unrelated writes, so RocksDB can still group-commit their fsyncs.
#ifndef KENTRA_COMMON_LOCK_TABLE_H_
#define KENTRA_COMMON_LOCK_TABLE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace kentra {

class LockTable {
 public:
  // Holds the stripes of a set of keys until destroyed.
  class Guard {
   public:
    Guard(Guard&& other) noexcept : table_(other.table_), stripes_(std::move(other.stripes_)) {
      other.stripes_.clear();
    }
    ~Guard();

   private:
    friend class LockTable;
    Guard(LockTable* table, std::vector<size_t> stripes);
    LockTable* table_;
    std::vector<size_t> stripes_;
  };

  explicit LockTable(size_t stripes = 1024);

  // Locks every key's stripe (in a fixed order, so two callers cannot deadlock).
  Guard Lock(std::initializer_list<absl::string_view> keys);
  Guard Lock(const std::vector<std::string>& keys);

 private:
  template <typename Keys>
  Guard LockAll(const Keys& keys);

  std::unique_ptr<absl::Mutex[]> mutexes_;
  size_t size_;
};

}  // namespace kentra

#endif  // KENTRA_COMMON_LOCK_TABLE_H_
