// What a benchmark reads of another process from /proc: memory and CPU time.
#ifndef KENTRA_BENCH_PROC_STATS_H_
#define KENTRA_BENCH_PROC_STATS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace kentra::bench {

// The number a field of /proc/<pid>/status gives: KiB for "VmRSS" and "VmHWM",
// a count for "Threads"; -1 if there is none.
int64_t ProcStatusValue(pid_t pid, const std::string& field);
// User plus system CPU seconds the process has used, or -1.
double ProcCpuSeconds(pid_t pid);

}  // namespace kentra::bench

#endif  // KENTRA_BENCH_PROC_STATS_H_
