#include "bench/load.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace kentra::bench {
namespace {

double PercentileMs(std::vector<int64_t>& micros, double fraction) {
  if (micros.empty()) return 0;
  size_t at = static_cast<size_t>(fraction * static_cast<double>(micros.size() - 1));
  std::nth_element(micros.begin(), micros.begin() + static_cast<std::ptrdiff_t>(at), micros.end());
  return static_cast<double>(micros[at]) / 1000.0;
}

}  // namespace

LoadResult RunClosedLoop(const LoadOptions& options, const CallFn& call) {
  const absl::Time start = absl::Now();
  const absl::Time window_start = start + options.warmup;
  const absl::Time window_end = window_start + options.measure;
  absl::Mutex mu;
  LoadResult result;
  std::vector<int64_t> latencies;

  auto client = [&](int id) {
    std::vector<int64_t> mine;
    int64_t errors = 0;
    std::string first_error;
    for (int64_t n = 0;; ++n) {
      const absl::Time begin = absl::Now();
      if (begin >= window_end) break;
      absl::Status s = call(id, n);
      const absl::Time end = absl::Now();
      if (!s.ok()) {
        if (errors++ == 0) first_error = s.ToString();
        continue;
      }
      if (begin >= window_start && end <= window_end) {
        mine.push_back(absl::ToInt64Microseconds(end - begin));
      }
    }
    absl::MutexLock lock(&mu);
    latencies.insert(latencies.end(), mine.begin(), mine.end());
    result.errors += errors;
    if (result.first_error.empty()) result.first_error = first_error;
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < options.clients; ++i) threads.emplace_back(client, i);
  for (auto& t : threads) t.join();

  result.calls = static_cast<int64_t>(latencies.size());
  result.qps = static_cast<double>(result.calls) / absl::ToDoubleSeconds(options.measure);
  result.p50_ms = PercentileMs(latencies, 0.50);
  result.p99_ms = PercentileMs(latencies, 0.99);
  return result;
}

}  // namespace kentra::bench
