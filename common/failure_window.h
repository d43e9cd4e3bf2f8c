// Counts failures per key (e.g. failed log-ins per network address) over a sliding
// window, in memory, so that a flood from one source can be refused before it
// costs a password hash each. Bounded: the oldest keys are forgotten first.
#ifndef KENTRA_COMMON_FAILURE_WINDOW_H_
#define KENTRA_COMMON_FAILURE_WINDOW_H_

#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace kentra {

class FailureWindow {
 public:
  // Refuses a key once it has `max_failures` within `window`. `clock` is not owned.
  FailureWindow(int max_failures, absl::Duration window, const Clock* clock, size_t max_keys = 10000);

  // Zero if `key` may try now, else how long until its oldest failure leaves the window.
  absl::Duration RetryAfter(const std::string& key) const;
  // Counts one failure of `key`.
  void RecordFailure(const std::string& key);

 private:
  void ForgetOldestKey() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int max_failures_;
  const absl::Duration window_;
  const Clock* clock_;
  const size_t max_keys_;
  mutable absl::Mutex mu_;
  // Per key, the times of its failures within the window, oldest first.
  absl::flat_hash_map<std::string, std::deque<absl::Time>> failures_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kentra

#endif  // KENTRA_COMMON_FAILURE_WINDOW_H_
