// QueryBudget: how many statistics queries each regional authority may make, per
// minute and per day (sliding windows), so that no one builds a tracker out of
// thousands of overlapping queries. The hub rebuilds what was spent in the last
// day from its audit log when it starts, so a restart does not refill it.
// Thread-safe.
#ifndef KENTRA_HUB_QUERY_BUDGET_H_
#define KENTRA_HUB_QUERY_BUDGET_H_

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace kentra::hub {

class QueryBudget {
 public:
  // `clock` is not owned. Limits are at least 1.
  QueryBudget(const Clock* clock, int per_minute, int per_day)
      : clock_(clock), per_minute_(per_minute), per_day_(per_day) {}

  // Spends one query of `authority` now: OK, or RESOURCE_EXHAUSTED naming the
  // limit and the whole seconds until a query fits again (nothing is spent).
  absl::Status Spend(const std::string& authority);
  // Counts a query `authority` made at `when` (rebuilding from the audit log).
  void Restore(const std::string& authority, absl::Time when);

  // What one authority has spent, for the operator.
  struct Usage {
    std::string authority;
    int last_minute = 0;
    int last_day = 0;
    int refused_last_day = 0;
    absl::Time last_query = absl::InfinitePast();  // InfinitePast: none in the last day
  };
  // Every authority that queried or was refused in the last day, by name.
  std::vector<Usage> UsageNow() const;
  int per_minute() const { return per_minute_; }
  int per_day() const { return per_day_; }

 private:
  struct Spent {
    std::deque<absl::Time> queries;  // in the last day, oldest first
    std::deque<absl::Time> refused;  // likewise
  };
  // Drops what is older than a day.
  static void Forget(Spent& s, absl::Time now);

  const Clock* clock_;
  const int per_minute_;
  const int per_day_;
  mutable absl::Mutex mu_;
  mutable std::map<std::string, Spent> spent_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_QUERY_BUDGET_H_
