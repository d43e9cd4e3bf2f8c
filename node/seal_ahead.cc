#include "node/seal_ahead.h"

namespace kentra::node {

SealAhead::SealAhead(SealFunction seal, size_t capacity)
    : seal_(std::move(seal)), capacity_(capacity), thread_([this] { Run(); }) {}

SealAhead::~SealAhead() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    queued_.SignalAll();
    for (auto& [key, entry] : entries_) entry.done = true;  // nothing more gets sealed
    sealed_.SignalAll();
  }
  thread_.join();
}

void SealAhead::Start(const std::string& key, kentra::storage::v1::OutboxItem item) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || capacity_ == 0) return;
  // Full: the oldest goes, likely an item whose write failed or which was
  // deleted unposted (a Take waiting on it seals it itself).
  if (entries_.size() >= capacity_) {
    entries_.erase(entries_.begin());
    sealed_.SignalAll();
  }
  if (!entries_.try_emplace(key).second) return;
  queue_.emplace_back(key, std::move(item));
  queued_.Signal();
}

std::optional<std::string> SealAhead::Take(const std::string& key) {
  absl::MutexLock lock(&mu_);
  for (;;) {
    auto entry = entries_.find(key);
    if (entry == entries_.end()) return std::nullopt;
    if (entry->second.done) {
      std::optional<std::string> sealed = std::move(entry->second.sealed);
      entries_.erase(entry);
      return sealed;
    }
    sealed_.Wait(&mu_);
  }
}

void SealAhead::ForgetBelow(const std::string& key) {
  absl::MutexLock lock(&mu_);
  entries_.erase(entries_.begin(), entries_.lower_bound(key));
  sealed_.SignalAll();  // a Take waiting on one of them returns
}

size_t SealAhead::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

void SealAhead::Run() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    while (!stopping_ && queue_.empty()) queued_.Wait(&mu_);
    if (stopping_) return;
    auto [key, item] = std::move(queue_.front());
    queue_.pop_front();
    if (!entries_.contains(key)) continue;  // forgotten meanwhile
    mu_.Unlock();
    absl::StatusOr<std::string> sealed = seal_(item);
    mu_.Lock();
    if (auto entry = entries_.find(key); entry != entries_.end()) {
      entry->second.done = true;
      if (sealed.ok()) entry->second.sealed = *std::move(sealed);
    }
    sealed_.SignalAll();
  }
}

}  // namespace kentra::node
