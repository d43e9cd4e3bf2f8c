#include "hub/query_budget.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace kentra::hub {
namespace {

constexpr absl::Duration kMinute = absl::Minutes(1);
constexpr absl::Duration kDay = absl::Hours(24);

// Whole seconds until `d` has passed, at least 1.
int64_t RetrySeconds(absl::Duration d) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(d))));
}

}  // namespace

void QueryBudget::Forget(Spent& s, absl::Time now) {
  while (!s.queries.empty() && s.queries.front() <= now - kDay) s.queries.pop_front();
  while (!s.refused.empty() && s.refused.front() <= now - kDay) s.refused.pop_front();
}

absl::Status QueryBudget::Spend(const std::string& authority) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  Spent& s = spent_[authority];
  Forget(s, now);
  // The queries of the last minute are the newest ones.
  const auto minute_start = std::upper_bound(s.queries.begin(), s.queries.end(), now - kMinute);
  const auto in_minute = s.queries.end() - minute_start;
  absl::Duration wait = absl::ZeroDuration();
  std::string limit;
  if (static_cast<int>(s.queries.size()) >= per_day_) {
    wait = s.queries[s.queries.size() - static_cast<size_t>(per_day_)] + kDay - now;
    limit = absl::StrCat(per_day_, " queries a day");
  } else if (in_minute >= per_minute_) {
    wait = *(s.queries.end() - per_minute_) + kMinute - now;
    limit = absl::StrCat(per_minute_, " queries a minute");
  }
  if (!limit.empty()) {
    s.refused.push_back(now);
    return absl::ResourceExhaustedError(absl::StrCat("authority/", authority, " has spent its query budget of ",
                                                     limit, "; retry in ", RetrySeconds(wait), " s"));
  }
  s.queries.push_back(now);
  return absl::OkStatus();
}

void QueryBudget::Restore(const std::string& authority, absl::Time when) {
  absl::MutexLock lock(&mu_);
  auto& queries = spent_[authority].queries;
  queries.insert(std::upper_bound(queries.begin(), queries.end(), when), when);
}

std::vector<QueryBudget::Usage> QueryBudget::UsageNow() const {
  const absl::Time now = clock_->Now();
  std::vector<Usage> out;
  absl::MutexLock lock(&mu_);
  for (auto& [authority, s] : spent_) {
    Forget(s, now);
    if (s.queries.empty() && s.refused.empty()) continue;
    Usage u;
    u.authority = authority;
    u.last_day = static_cast<int>(s.queries.size());
    u.last_minute = static_cast<int>(s.queries.end() -
                                     std::upper_bound(s.queries.begin(), s.queries.end(), now - kMinute));
    u.refused_last_day = static_cast<int>(s.refused.size());
    if (!s.queries.empty()) u.last_query = s.queries.back();
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace kentra::hub
