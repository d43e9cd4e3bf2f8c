#include "common/lock_table.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace kentra {

LockTable::LockTable(size_t stripes) : mutexes_(new absl::Mutex[stripes]), size_(stripes) {}

template <typename Keys>
LockTable::Guard LockTable::LockAll(const Keys& keys) {
  std::vector<size_t> stripes;
  for (absl::string_view key : keys) {
    if (!key.empty()) stripes.push_back(absl::Hash<absl::string_view>()(key) % size_);
  }
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  return Guard(this, std::move(stripes));
}

LockTable::Guard LockTable::Lock(std::initializer_list<absl::string_view> keys) { return LockAll(keys); }

LockTable::Guard LockTable::Lock(const std::vector<std::string>& keys) { return LockAll(keys); }

LockTable::Guard::Guard(LockTable* table, std::vector<size_t> stripes)
    : table_(table), stripes_(std::move(stripes)) {
  for (size_t s : stripes_) table_->mutexes_[s].Lock();
}

LockTable::Guard::~Guard() {
  for (auto it = stripes_.rbegin(); it != stripes_.rend(); ++it) table_->mutexes_[*it].Unlock();
}

}  // namespace kentra
