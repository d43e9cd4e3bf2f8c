// A closed-loop load generator: N clients each call as fast as answers come back,
// for a fixed time after a warm-up; throughput and latency percentiles come out.
#ifndef KENTRA_BENCH_LOAD_H_
#define KENTRA_BENCH_LOAD_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace kentra::bench {

struct LoadOptions {
  int clients = 8;
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration measure = absl::Seconds(4);
};

struct LoadResult {
  int64_t calls = 0;   // completed inside the measured window
  int64_t errors = 0;  // failed calls anywhere in the run
  std::string first_error;
  double qps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

// One call of client `client` (0-based); `n` counts that client's calls from 0.
using CallFn = std::function<absl::Status(int client, int64_t n)>;

// Runs `call` from options.clients threads until warm-up plus measure have passed.
// Only calls that start after the warm-up and end inside the window are counted.
LoadResult RunClosedLoop(const LoadOptions& options, const CallFn& call);

}  // namespace kentra::bench

#endif  // KENTRA_BENCH_LOAD_H_
