#include "common/failure_window.h"

namespace kentra {

FailureWindow::FailureWindow(int max_failures, absl::Duration window, const Clock* clock, size_t max_keys)
    : max_failures_(max_failures), window_(window), clock_(clock), max_keys_(max_keys) {}

absl::Duration FailureWindow::RetryAfter(const std::string& key) const {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return absl::ZeroDuration();
  const std::deque<absl::Time>& times = it->second;
  // Failures older than the window no longer count.
  size_t live = 0;
  for (absl::Time t : times) live += (now - t < window_) ? 1 : 0;
  if (static_cast<int>(live) < max_failures_) return absl::ZeroDuration();
  // The (live - max + 1)-th oldest live failure must leave the window first.
  const size_t first_live = times.size() - live;
  return times[first_live + live - max_failures_] + window_ - now;
}

void FailureWindow::RecordFailure(const std::string& key) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  if (!failures_.contains(key) && failures_.size() >= max_keys_) ForgetOldestKey();
  std::deque<absl::Time>& times = failures_[key];
  times.push_back(now);
  while (!times.empty() && now - times.front() >= window_) times.pop_front();
  while (static_cast<int>(times.size()) > max_failures_) times.pop_front();
}

void FailureWindow::ForgetOldestKey() {
  auto oldest = failures_.end();
  for (auto it = failures_.begin(); it != failures_.end(); ++it) {
    if (oldest == failures_.end() || it->second.back() < oldest->second.back()) oldest = it;
  }
  if (oldest != failures_.end()) failures_.erase(oldest);
}

}  // namespace kentra
