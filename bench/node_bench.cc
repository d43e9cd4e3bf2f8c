// kentra-bench-node: kentra-node's throughput and latency over loopback, side by
// side with the two limits it cannot beat, measured in the same run:
//   - a bare gRPC echo server (same libraries, same transport, same message sizes):
//     the limit for one RPC;
//   - bare RocksDB synced WriteBatches of the same operations and bytes as the
//     node's own writes, from the same number of threads: the limit for one
//     durable write;
//   - for writes, the echo server also writing that batch: the best a server doing
//     nothing else reaches on this machine.
// Each workload's windows alternate for a few rounds and the median ratio is
// reported. The node and the echo server run as separate processes; the node
// holds Thessaloniki's synthetic data. Resident memory and disk size are reported.
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/echo_server.h"
#include "bench/load.h"
#include "bench/proc_stats.h"
#include "bench/shaped_write.h"
#include "bench/workloads.h"
#include "common/config.h"
#include "common/server.h"
#include "common/status.h"
#include "common/storage.h"
#include "common/time_util.h"
#include "node/node_server.h"
#include "node/schema.h"
#include "node/synthetic/synthetic.h"
#include "tests/testing/process.h"

ABSL_FLAG(int, clients, 8, "Concurrent clients (threads, each with its own connection).");
ABSL_FLAG(double, seconds, 4, "Measured seconds per workload.");
ABSL_FLAG(double, warmup_seconds, 1, "Unmeasured seconds before each workload's window.");
ABSL_FLAG(double, scale, 1.0, "Size of the synthetic Thessaloniki data (1.0 = 6000 people).");
ABSL_FLAG(int, seed_threads, 4, "Parallel writers while seeding.");
ABSL_FLAG(std::string, node_binary, KENTRA_NODE_BINARY, "The kentra-node binary to measure.");
ABSL_FLAG(std::string, config, KENTRA_SOURCE_DIR "/configs/centres/thessaloniki.textproto",
          "The centre config the node runs with.");
ABSL_FLAG(std::string, only, "", "Run only the workloads whose title contains this (e.g. ListCases).");
ABSL_FLAG(int, rounds, 3,
          "Each workload's windows (echo, the write baselines, the node) run this many times in turn; its "
          "ratio is the median of the rounds' ratios, so that the drift of a shared machine falls on both sides.");
ABSL_FLAG(bool, serve_echo, false, "Internal: run as the echo server and print its port.");
ABSL_FLAG(std::string, echo_store_dir, "", "Internal: the echo server's store, for calls that also write.");

namespace kentra::bench {
namespace {

namespace nv1 = kentra::node::v1;

// A unique-enough tag for this run's request ids.
std::string RunTag() { return absl::StrFormat("%x", std::random_device()()); }

// Sums the sizes of the files under `dir`; `wal_bytes` gets the part in WAL files.
int64_t DirectoryBytes(const std::string& dir, int64_t* wal_bytes) {
  int64_t total = 0;
  *wal_bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const auto size = static_cast<int64_t>(entry.file_size());
    total += size;
    if (entry.path().extension() == ".log") *wal_bytes += size;
  }
  return total;
}

std::string Mib(int64_t bytes) { return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20)); }

void PrintHeader() {
  std::printf("%-44s %9s %9s %9s %9s\n", "", "calls", "QPS", "p50 ms", "p99 ms");
}

void PrintRow(const std::string& label, const LoadResult& r, const std::string& tail = "") {
  std::printf("  %-42s %9lld %9.0f %9.2f %9.2f  %s\n", label.c_str(), static_cast<long long>(r.calls), r.qps,
              r.p50_ms, r.p99_ms, tail.c_str());
  if (r.errors > 0) std::printf("    %lld errors, first: %s\n", static_cast<long long>(r.errors), r.first_error.c_str());
}

// Bare RocksDB: `clients` threads writing synced batches of `shape` into a store
// with the node's column families.
LoadResult RunRawRocksDb(const std::string& dir, const WriteShape& shape, const LoadOptions& options) {
  auto store = Store::Open(dir, node::ColumnFamilyNames());
  if (!store.ok()) {
    LoadResult failed;
    failed.errors = 1;
    failed.first_error = store.status().ToString();
    return failed;
  }
  const ShapedWriter writer(static_cast<int>(shape.operations + 0.5), shape.bytes);
  return RunClosedLoop(options, [&](int client, int64_t n) { return writer.Write(**store, client, n); });
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  if (n == 0) return 0;
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

struct Comparison {
  std::string what;
  double ratio;
  double target;
};

int Run() {
  LoadOptions load;
  load.clients = absl::GetFlag(FLAGS_clients);
  load.measure = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  load.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds));
  auto centre = LoadCentreConfig(absl::GetFlag(FLAGS_config));
  if (!centre.ok()) {
    std::cerr << "kentra-bench-node: " << centre.status() << "\n";
    return 1;
  }
  char tmpl[] = "/tmp/kentra-bench-XXXXXX";
  const std::string tmp = mkdtemp(tmpl);
  const auto cleanup = [&] { std::filesystem::remove_all(tmp); };

  const absl::CivilDay today = TodayAt(absl::Now());
  const Templates templates(*centre, today);
  const std::string tag = RunTag();

  // 1. The shape and sizes of the node's calls, from an in-process node.
  auto profile = ProfileNode(*centre, templates, tmp + "/profile");
  if (!profile.ok()) {
    std::cerr << "kentra-bench-node: profiling the node: " << profile.status() << "\n";
    cleanup();
    return 1;
  }

  // 2. The servers, as separate processes.
  kentra::testing::ChildProcess echo({SelfPath(), "--serve_echo", "--echo_store_dir=" + tmp + "/echo-store"});
  const std::string data_dir = tmp + "/node";
  if (absl::Status s = AddBenchUser(*centre, data_dir); !s.ok()) {
    std::cerr << "kentra-bench-node: " << s << "\n";
    cleanup();
    return 1;
  }
  kentra::testing::ChildProcess node({absl::GetFlag(FLAGS_node_binary), "--config=" + absl::GetFlag(FLAGS_config),
                                      "--data_dir=" + data_dir, "--listen=127.0.0.1:0", "--insecure"});
  if (echo.port() == 0 || node.port() == 0) {
    std::cerr << "kentra-bench-node: a server did not start\n";
    cleanup();
    return 1;
  }

  // 3. Thessaloniki's synthetic data.
  synthetic::SyntheticCentre generator(*centre, 2026, absl::GetFlag(FLAGS_scale), today);
  auto seed_channel = Connect(node.port(), 0);
  auto token = LogIn(seed_channel);
  if (!token.ok()) {
    std::cerr << "kentra-bench-node: logging in: " << token.status() << "\n";
    cleanup();
    return 1;
  }
  auto seed_stub = nv1::StaffService::NewStub(seed_channel);
  const absl::Time seed_start = absl::Now();
  auto seeded = synthetic::SeedNode(generator, seed_stub.get(), *token, absl::GetFlag(FLAGS_seed_threads), nullptr);
  const double seed_seconds = absl::ToDoubleSeconds(absl::Now() - seed_start);
  if (!seeded.ok()) {
    std::cerr << "kentra-bench-node: seeding: " << seeded.status() << "\n";
    cleanup();
    return 1;
  }
  const int seed_calls = seeded->beneficiaries + seeded->cases + seeded->service_events;
  auto targets = CollectTargets(seed_stub.get(), *token);
  if (!targets.ok()) {
    std::cerr << "kentra-bench-node: listing the seeded records: " << targets.status() << "\n";
    cleanup();
    return 1;
  }
  const int64_t rss_seeded_kib = ProcStatusValue(node.pid(), "VmRSS");
  int64_t seeded_wal_bytes = 0;
  const int64_t seeded_disk_bytes = DirectoryBytes(data_dir, &seeded_wal_bytes);

  std::printf("kentra-bench-node: %d clients, %.1f s measured after %.1f s warm-up per workload, %d cores\n",
              load.clients, absl::ToDoubleSeconds(load.measure), absl::ToDoubleSeconds(load.warmup),
              static_cast<int>(std::thread::hardware_concurrency()));
  std::printf("seeded %s: %d beneficiaries, %d cases, %d service events in %.1f s (%.0f writes/s, %d writers)\n\n",
              centre->id().c_str(), seeded->beneficiaries, seeded->cases, seeded->service_events, seed_seconds,
              seed_calls / seed_seconds, absl::GetFlag(FLAGS_seed_threads));

  // 4. Each node call beside its limits.
  auto echo_clients = std::make_unique<Clients>(echo.port(), load.clients);
  auto node_clients = std::make_unique<Clients>(node.port(), load.clients);
  std::vector<Comparison> comparisons;
  bool any_errors = false;
  PrintHeader();
  NodeCaller caller(&templates, &*targets, tag, load.clients, *token);
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  for (const Workload& w : *profile) {
    if (!absl::StrContains(w.title, absl::GetFlag(FLAGS_only))) continue;
    std::printf("%s\n", w.title.c_str());
    const double target = w.shape.has_value() ? 0.70 : 0.60;
    std::vector<double> ratios, of_both, ceilings;
    for (int round = 1; round <= rounds; ++round) {
      if (rounds > 1) std::printf("  round %d of %d\n", round, rounds);
      LoadResult echo_result = RunClosedLoop(load, EchoCall(echo_clients.get(), w.request_bytes, w.response_bytes));
      PrintRow(absl::StrFormat("grpc echo (%d B -> %d B)", w.request_bytes, w.response_bytes), echo_result);
      double limit = echo_result.qps;
      std::optional<LoadResult> both;
      if (w.shape.has_value()) {
        LoadResult raw = RunRawRocksDb(absl::StrCat(tmp, "/raw-", comparisons.size(), "-", round), *w.shape, load);
        PrintRow(absl::StrFormat("rocksdb synced batch (%.1f ops, %.0f B)", w.shape->operations, w.shape->bytes),
                 raw);
        limit = std::min(limit, raw.qps);
        // Not a target's limit, but what a server that did nothing besides the
        // call and the write would reach on this machine.
        both = RunClosedLoop(load, EchoCall(echo_clients.get(), w.request_bytes, w.response_bytes, w.shape));
        if (limit > 0) ceilings.push_back(both->qps / limit);
        PrintRow("grpc echo + the same synced batch", *both,
                 limit > 0 ? absl::StrFormat("%.0f%% of the lower limit", 100 * ceilings.back()) : "");
        any_errors |= raw.errors > 0 || both->errors > 0;
      }
      LoadResult node_result = RunClosedLoop(load, NodeCall(&caller, node_clients.get(), w.kind));
      ratios.push_back(limit > 0 ? node_result.qps / limit : 0);
      std::string against_both;
      if (both.has_value() && both->qps > 0) {
        of_both.push_back(node_result.qps / both->qps);
        against_both = absl::StrFormat("; %.0f%% of echo + batch", 100 * of_both.back());
      }
      PrintRow("kentra-node", node_result,
               absl::StrFormat("%.0f%% of %s (target %.0f%%)%s", 100 * ratios.back(),
                               w.shape.has_value() ? "the lower limit" : "echo", 100 * target, against_both));
      any_errors |= echo_result.errors > 0 || node_result.errors > 0;
    }
    const double ratio = Median(ratios);
    if (rounds > 1) {
      std::printf("  median of the rounds: %.0f%% (target %.0f%%)%s\n", 100 * ratio, 100 * target,
                  of_both.empty() ? "" : absl::StrFormat("; %.0f%% of echo + batch", 100 * Median(of_both)).c_str());
      if (!ceilings.empty()) {
        std::printf("  echo + the same synced batch, the most any server does here: %.0f%% of the lower limit\n",
                    100 * Median(ceilings));
      }
    }
    comparisons.push_back({w.title, ratio, target});
  }

  // 5. Memory and disk.
  int64_t wal_bytes = 0;
  const int64_t disk_bytes = DirectoryBytes(data_dir, &wal_bytes);
  std::printf("\nkentra-node with %s's data: resident %s after seeding, %s after the run (peak %s)\n",
              centre->id().c_str(), Mib(rss_seeded_kib * 1024).c_str(),
              Mib(ProcStatusValue(node.pid(), "VmRSS") * 1024).c_str(),
              Mib(ProcStatusValue(node.pid(), "VmHWM") * 1024).c_str());
  std::printf("data directory: %s on disk after seeding (%s of it write-ahead log), %s after the run (%s)\n\n",
              Mib(seeded_disk_bytes).c_str(), Mib(seeded_wal_bytes).c_str(), Mib(disk_bytes).c_str(),
              Mib(wal_bytes).c_str());

  for (const Comparison& c : comparisons) {
    std::printf("%-6s %-40s %5.0f%% (target %.0f%%)\n", c.ratio >= c.target ? "MET" : "MISSED", c.what.c_str(),
                100 * c.ratio, 100 * c.target);
  }
  // Idle sync-client connections are never polled, so they would not see the
  // servers' GOAWAY and would hold their shutdown until its grace ran out.
  seed_stub.reset();
  node_clients.reset();
  echo_clients.reset();
  node.Stop(SIGTERM);
  echo.Stop(SIGTERM);
  cleanup();
  if (any_errors) {
    std::printf("\ncalls failed during the run; the figures above are not trustworthy\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace kentra::bench

int main(int argc, char** argv) {
  kentra::InitServerProcess();
  absl::SetProgramUsageMessage("kentra-bench-node [--clients=N] [--seconds=S] [--scale=X]");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_serve_echo)) return kentra::bench::ServeEcho("", absl::GetFlag(FLAGS_echo_store_dir));
  return kentra::bench::Run();
}
