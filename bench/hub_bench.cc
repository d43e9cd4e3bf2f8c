// kentra-bench-hub: one hub and 250 simulated centres (synthetic configs over 13
// regions, each with its own client certificate). Every centre keeps its
// mailbox watch open throughout, as a node does, and gets two sealed messages
// through it; one centre then gets steady traffic from four others while the
// rest watch; then all sync at once: a full 36-month resync and a nightly round,
// with the hub's time, CPU and peak memory; then an authority's region-wide
// quarter by target group against an echo's latency, in the same run. Hub and
// echo are separate processes; all talk mutual TLS.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/barrier.h"
#include "bench/echo_server.h"
#include "bench/hub_routing.h"
#include "bench/load.h"
#include "bench/proc_stats.h"
#include "bench/workloads.h"
#include "common/anon/codebook.h"
#include "common/anon/keys.h"
#include "common/anon/sketch.h"
#include "common/crypto.h"
#include "common/sealing.h"
#include "common/server.h"
#include "common/status.h"
#include "common/time_util.h"
#include "common/tls.h"
#include "kentra/hub/v1/mailbox_service.grpc.pb.h"
#include "kentra/hub/v1/stats_service.grpc.pb.h"
#include "kentra/hub/v1/sync_service.grpc.pb.h"
#include "tests/testing/process.h"

ABSL_FLAG(int, centres, 250, "Simulated centres.");
ABSL_FLAG(int, regions, 13, "Regions they are spread over.");
ABSL_FLAG(int, months, 36, "Months of history in the full resync.");
ABSL_FLAG(int, clients, 4, "Concurrent authority clients for the query latency.");
ABSL_FLAG(double, seconds, 4, "Measured seconds of the query latency runs.");
ABSL_FLAG(bool, watch, true, "Every centre keeps its mailbox watch open throughout, as a node does.");
ABSL_FLAG(std::string, hub_binary, KENTRA_HUB_BINARY, "The kentra-hub binary.");
ABSL_FLAG(bool, serve_echo, false, "Internal: run as the echo server and print its port.");
ABSL_FLAG(std::string, secrets_dir, "", "Internal: the echo server's TLS directory.");

namespace kentra::bench {
namespace {

namespace hv1 = kentra::hub::v1;

std::string CentreId(int i) { return absl::StrFormat("c%03d", i + 1); }
std::string RegionId(int r) { return absl::StrFormat("r%02d", r + 1); }

// Writes the synthetic federation: centre configs (Kassandra's facts under new
// ids, regions and MIS codes) and the hub config naming the regions.
absl::Status WriteFederation(const std::string& dir, int centres, int regions) {
  std::ifstream in(KENTRA_SOURCE_DIR "/configs/centres/kassandra.textproto");
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::create_directories(dir + "/centres");
  for (int i = 0; i < centres; ++i) {
    std::ofstream out(absl::StrCat(dir, "/centres/", CentreId(i), ".textproto"));
    out << absl::StrReplaceAll(text.str(), {{"id: \"kassandra\"", absl::StrCat("id: \"", CentreId(i), "\"")},
                                            {"region: \"central-macedonia\"", absl::StrCat("region: \"", RegionId(i % regions), "\"")},
                                            {"mis_code: \"5002672\"", absl::StrFormat("mis_code: \"9%06d\"", i)}});
  }
  std::ofstream hub(dir + "/hub.textproto");
  for (int r = 0; r < regions; ++r) {
    hub << "regions { id: \"" << RegionId(r) << "\" name { el: \"Περιφέρεια " << r + 1 << "\" latin: \"Region "
        << r + 1 << "\" } }\n";
  }
  hub << "centres_dir: \"centres\"\n";
  // The bench measures the hub answering, not the budget that limits an authority.
  hub << "query_budget { per_minute: 1000000 per_day: 10000000 }\n";
  return hub.good() ? absl::OkStatus() : absl::InternalError("cannot write the hub config");
}

// Plausible protected cells of one centre and month: many zeros, never 1 or 2,
// and, for a past (closed) month, a private persons sketch of about 150 people.
kentra::anon::v1::PeriodCells Cells(const std::string& centre, absl::CivilMonth month, uint64_t seed) {
  static const anon::AnonKeys keys = anon::AnonKeys::Derive(std::string(32, 'k'));
  std::mt19937_64 rng(seed);
  std::string bits(anon::kSketchBits, '\0');
  for (int p = 0; p < 150; ++p) bits[anon::SketchBitFor(keys, absl::StrCat(centre, "-", rng() % 2000))] = 1;
  const bool closed = month < absl::CivilMonth(TodayAt(absl::Now()));
  kentra::anon::v1::PeriodCells cells;
  cells.set_centre(centre);
  cells.set_period(anon::PeriodName(month));
  cells.set_codebook(anon::kCodebookVersion);
  for (const auto& spec : anon::Codebook()) {
    auto* c = cells.add_cells();
    c->set_id(spec.id);
    c->set_value(rng() % 2 == 0 ? 0 : 3 + static_cast<int64_t>(rng() % 40));
  }
  // Past months come closed, as nodes send them once they close: released.
  cells.set_closed(closed);
  if (closed) cells.set_persons_sketch(anon::PrivateSketch(bits, centre, cells.period()));
  return cells;
}

struct Round {
  double seconds = 0;
  double hub_cpu_seconds = 0;
  int64_t hub_peak_kib = 0;
  int64_t pushes = 0;
  int64_t failures = 0;
};

// Every centre pushes `months` (ending with the current month) and finishes its sync, all at once.
Round SyncRound(const std::vector<std::unique_ptr<hv1::SyncService::Stub>>& stubs, int months, pid_t hub_pid,
                uint64_t seed) {
  const absl::CivilMonth last(TodayAt(absl::Now()));
  Round round;
  // Every request is made before the clock starts: the round measures the hub.
  std::vector<std::vector<hv1::PushPeriodRequest>> requests(stubs.size());
  for (size_t i = 0; i < stubs.size(); ++i) {
    for (int m = months - 1; m >= 0; --m) {
      hv1::PushPeriodRequest req;
      *req.mutable_cells() = Cells(CentreId(static_cast<int>(i)), last - m, seed * 1000003 + i * 101 + m);
      req.set_batch_id(absl::StrCat("b", seed, "-", m));
      requests[i].push_back(std::move(req));
    }
  }
  std::atomic<int64_t> pushes{0}, failures{0};
  absl::Barrier* start = new absl::Barrier(static_cast<int>(stubs.size()) + 1);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < stubs.size(); ++i) {
    threads.emplace_back([&, i] {
      if (start->Block()) delete start;
      for (const auto& req : requests[i]) {
        hv1::PushPeriodResponse resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
        (stubs[i]->PushPeriod(&ctx, req, &resp).ok() ? pushes : failures)++;
      }
      hv1::FinishSyncRequest finish;
      finish.set_sync_id(absl::StrCat("s", seed));
      finish.set_periods_pushed(months);
      hv1::FinishSyncResponse done;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
      if (!stubs[i]->FinishSync(&ctx, finish, &done).ok()) failures++;
    });
  }
  const double cpu_before = ProcCpuSeconds(hub_pid);
  const absl::Time began = absl::Now();
  if (start->Block()) delete start;
  for (auto& t : threads) t.join();
  round.seconds = absl::ToDoubleSeconds(absl::Now() - began);
  round.hub_cpu_seconds = ProcCpuSeconds(hub_pid) - cpu_before;
  round.hub_peak_kib = ProcStatusValue(hub_pid, "VmHWM");
  round.pushes = pushes;
  round.failures = failures;
  return round;
}

struct Delivery {
  int64_t delivered = 0;  // messages acknowledged by their recipient's watch
  double p50_ms = 0;      // from the post's start to its arrival on the watch
  double p99_ms = 0;
  std::string first_error;
};

// Each centre i gets one sealed message from centre i+1, posted 8 at a time
// while every watch is open; each must arrive on its recipient's watch and be
// acknowledged there, as the `round`-th message of that watch.
Delivery DeliverOneEach(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                        const std::vector<std::unique_ptr<MailboxWatch>>& watches, const std::string& tag, int round) {
  const size_t n = channels.size();
  const std::string sealed = RandomBytes(kSealBuckets[0] + kSealOverheadBytes);
  std::vector<MailboxWatch::Clock::time_point> posted(n);
  std::atomic<size_t> next{0};
  absl::Mutex mu;
  Delivery out;
  std::vector<std::thread> posters;
  for (int t = 0; t < 8; ++t) {
    posters.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) {
        hv1::PostMessageRequest post;
        post.set_recipient(CentreId(static_cast<int>(i)));
        post.set_message_id(absl::StrFormat("%s%08x%016x", tag, round, i));
        post.set_referral_id(absl::StrFormat("%016x%016x", round, i));
        post.set_sealed(sealed);
        hv1::PostMessageResponse receipt;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        posted[i] = MailboxWatch::Clock::now();
        grpc::Status s = hv1::MailboxService::NewStub(channels[(i + 1) % n])->PostMessage(&ctx, post, &receipt);
        if (!s.ok()) {
          absl::MutexLock lock(&mu);
          if (out.first_error.empty()) out.first_error = s.error_message();
        }
      }
    });
  }
  for (auto& t : posters) t.join();
  std::vector<double> ms;
  for (size_t i = 0; i < n; ++i) {
    if (!watches[i]->AwaitAcknowledged(round, absl::Seconds(30))) {
      if (out.first_error.empty()) {
        out.first_error = absl::StrCat(CentreId(static_cast<int>(i)), "'s message did not arrive: ",
                                       watches[i]->failure().ToString());
      }
      continue;
    }
    ++out.delivered;
    ms.push_back(std::chrono::duration<double, std::milli>(watches[i]->last_arrival() - posted[i]).count());
  }
  std::sort(ms.begin(), ms.end());
  if (!ms.empty()) {
    out.p50_ms = ms[ms.size() / 2];
    out.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  }
  return out;
}

// Steady routing while every other centre's watch stays open, as at a real
// hub: 8 senders (centres 2 to 5) post to centre 1, whose own watch is closed
// for the bench's routing watch, beside an echo of the same size.
absl::Status RouteWhileAllWatch(const std::string& pki, const kentra::testing::ChildProcess& hub,
                                const kentra::testing::ChildProcess& echo,
                                std::vector<std::unique_ptr<MailboxWatch>>& watches) {
  HubRoutingOptions routing;
  routing.hub_port = hub.port();
  routing.hub_pid = hub.pid();
  for (int i = 1; i <= 4 && i < static_cast<int>(watches.size()); ++i) {
    KENTRA_ASSIGN_OR_RETURN(TlsIdentity tls, LoadTlsIdentity(absl::StrCat(pki, "/centres/", CentreId(i)), "client"));
    routing.senders[CentreId(i)] = MakeClientCredentials(tls);
  }
  KENTRA_ASSIGN_OR_RETURN(TlsIdentity recipient, LoadTlsIdentity(absl::StrCat(pki, "/centres/", CentreId(0)), "client"));
  routing.recipient = CentreId(0);
  routing.recipient_credentials = MakeClientCredentials(recipient);
  routing.measure = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  routing.sealed_bytes = static_cast<int>(kSealBuckets[0] + kSealOverheadBytes);
  watches[0].reset();
  LoadOptions load;
  load.clients = routing.clients;
  load.measure = routing.measure;
  Clients echo_clients(echo.port(), load.clients, routing.senders.begin()->second);
  const LoadResult e = RunClosedLoop(load, EchoCall(&echo_clients, routing.sealed_bytes, 64));
  if (e.errors > 0) return absl::InternalError("the echo failed: " + e.first_error);
  KENTRA_ASSIGN_OR_RETURN(HubRoutingResult r, RouteThroughHub(routing));
  std::printf("  steady routing, %d senders to one centre while the other %zu watch: %.0f /s stored, delivered and\n"
              "  acknowledged (%.1f%% of an echo of the same size, %.0f QPS)",
              routing.clients, watches.size() - 1, r.routed_per_second(), 100 * r.routed_per_second() / e.qps, e.qps);
  if (r.hub_cpu_seconds > 0 && r.routed > 0) {
    std::printf("; hub CPU %.0f us a message", 1e6 * r.hub_cpu_seconds / static_cast<double>(r.routed));
  }
  std::printf("\n\n");
  return absl::OkStatus();
}

void PrintRound(const char* what, const Round& r, double target_seconds) {
  std::printf("%-30s %8lld %9.2f %10.2f %12.1f   target < %.0f s, < 500 MiB: %s\n", what,
              static_cast<long long>(r.pushes), r.seconds, r.hub_cpu_seconds, r.hub_peak_kib / 1024.0,
              target_seconds, r.seconds < target_seconds && r.hub_peak_kib < 500 * 1024 ? "MET" : "MISSED");
}

int Run() {
  const int centres = absl::GetFlag(FLAGS_centres), regions = absl::GetFlag(FLAGS_regions);
  char tmpl[] = "/tmp/kentra-bench-hub-XXXXXX";
  const std::string tmp = mkdtemp(tmpl);
  auto fail = [&](const std::string& what) {
    std::cerr << "kentra-bench-hub: " << what << "\n";
    std::filesystem::remove_all(tmp);
    return 1;
  };
  if (!WriteFederation(tmp, centres, regions).ok()) return fail("cannot write the synthetic federation");
  std::vector<std::string> ids, region_ids;
  for (int i = 0; i < centres; ++i) ids.push_back(CentreId(i));
  for (int r = 0; r < regions; ++r) region_ids.push_back(RegionId(r));
  const std::string pki = tmp + "/pki";
  const std::string make_pki = absl::StrCat(KENTRA_SOURCE_DIR "/scripts/dev-pki ", pki, " --centres=",
                                            absl::StrJoin(ids, ","), " --regions=", absl::StrJoin(region_ids, ","),
                                            " >/dev/null");
  if (std::system(make_pki.c_str()) != 0) return fail("scripts/dev-pki failed");

  kentra::testing::ChildProcess hub({absl::GetFlag(FLAGS_hub_binary), "--config=" + tmp + "/hub.textproto",
                                     "--data_dir=" + tmp + "/hub", "--listen=127.0.0.1:0", "--secrets_dir=" + pki + "/hub"});
  kentra::testing::ChildProcess echo({SelfPath(), "--serve_echo", "--secrets_dir=" + pki + "/hub"});
  if (hub.port() == 0 || echo.port() == 0) return fail("a server did not start");
  std::vector<std::shared_ptr<grpc::Channel>> channels;  // one connection per centre, as a node has
  std::vector<std::unique_ptr<hv1::SyncService::Stub>> stubs;
  for (int i = 0; i < centres; ++i) {
    auto tls = LoadTlsIdentity(absl::StrCat(pki, "/centres/", CentreId(i)), "client");
    if (!tls.ok()) return fail(tls.status().ToString());
    channels.push_back(Connect(hub.port(), i, MakeClientCredentials(*tls)));
    stubs.push_back(hv1::SyncService::NewStub(channels.back()));
  }

  std::printf("kentra-bench-hub: %d centres over %d regions syncing at once into one hub (%d cores)\n\n", centres,
              regions, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::unique_ptr<MailboxWatch>> watches;
  Delivery delivery;
  if (absl::GetFlag(FLAGS_watch)) {
    const int64_t threads_before = ProcStatusValue(hub.pid(), "Threads");
    const std::string tag = HexEncode(RandomBytes(4));
    for (int i = 0; i < centres; ++i) watches.push_back(std::make_unique<MailboxWatch>(channels[i], tag));
    // The first message to each also waits for its watch's connection; the second shows delivery.
    delivery = DeliverOneEach(channels, watches, tag, 1);
    if (delivery.first_error.empty()) delivery = DeliverOneEach(channels, watches, tag, 2);
    std::printf("every centre watching its mailbox (%d watches): hub threads %lld (%lld before), resident %.1f MiB\n",
                centres, static_cast<long long>(ProcStatusValue(hub.pid(), "Threads")),
                static_cast<long long>(threads_before), ProcStatusValue(hub.pid(), "VmRSS") / 1024.0);
    std::printf("  one more sealed message to each, 8 posting at once: %lld of %d delivered and acknowledged, post to\n"
                "  arrival p50 %.2f ms, p99 %.2f ms\n",
                static_cast<long long>(delivery.delivered), centres, delivery.p50_ms, delivery.p99_ms);
    if (delivery.first_error.empty()) {
      const absl::Status routed = RouteWhileAllWatch(pki, hub, echo, watches);
      if (!routed.ok()) delivery.first_error = routed.ToString();
    }
  }
  std::printf("%-30s %8s %9s %10s %12s\n", "round", "pushes", "seconds", "hub CPU s", "hub peak MiB");
  const Round full = SyncRound(stubs, absl::GetFlag(FLAGS_months), hub.pid(), 1);
  PrintRound(absl::StrCat("full resync, ", absl::GetFlag(FLAGS_months), " months").c_str(), full, 120);
  const Round nightly = SyncRound(stubs, 1, hub.pid(), 2);
  PrintRound("nightly round, 1 month", nightly, 10);
  stubs.clear();

  // An authority's region-wide quarter by target group, beside an echo of the same size.
  auto authority = LoadTlsIdentity(pki + "/authorities/" + RegionId(0), "client");
  if (!authority.ok()) return fail(authority.status().ToString());
  const auto creds = MakeClientCredentials(*authority);
  const absl::CivilMonth last(TodayAt(absl::Now()));
  hv1::QueryIndicatorsRequest query;
  query.set_region(RegionId(0));
  query.set_start_period(anon::PeriodName(last - 2));
  query.set_end_period(anon::PeriodName(last));
  query.set_breakdown(hv1::BREAKDOWN_TARGET_GROUP);
  LoadOptions load;
  load.clients = absl::GetFlag(FLAGS_clients);
  load.measure = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::vector<std::unique_ptr<hv1::StatsService::Stub>> stats;
  for (int c = 0; c < load.clients; ++c) stats.push_back(hv1::StatsService::NewStub(Connect(hub.port(), 1000 + c, creds)));
  int response_bytes = 0;
  const LoadResult q = RunClosedLoop(load, [&](int client, int64_t) {
    hv1::IndicatorTable table;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    absl::Status s = FromGrpcStatus(stats[static_cast<size_t>(client)]->QueryIndicators(&ctx, query, &table));
    response_bytes = static_cast<int>(table.ByteSizeLong());
    return s;
  });
  Clients echo_clients(echo.port(), load.clients, creds);
  const LoadResult e = RunClosedLoop(load, EchoCall(&echo_clients, static_cast<int>(query.ByteSizeLong()), response_bytes));
  std::printf("\nregion-wide quarter by target group (%s, %d centres, %d B answer), %d clients:\n", RegionId(0).c_str(),
              (centres + regions - 1) / regions, response_bytes, load.clients);
  std::printf("  %-26s %9.0f QPS  p50 %7.2f ms  p99 %7.2f ms\n", "grpc echo, same sizes", e.qps, e.p50_ms, e.p99_ms);
  std::printf("  %-26s %9.0f QPS  p50 %7.2f ms  p99 %7.2f ms  p99 %.1fx echo's (target within 10x): %s\n",
              "kentra-hub QueryIndicators", q.qps, q.p50_ms, q.p99_ms, q.p99_ms / e.p99_ms,
              q.p99_ms <= 10 * e.p99_ms ? "MET" : "MISSED");
  stats.clear();
  for (auto& w : watches) {
    if (w != nullptr && !w->failure().ok() && delivery.first_error.empty()) delivery.first_error = w->failure().ToString();
  }
  watches.clear();
  hub.Stop(SIGTERM);
  echo.Stop(SIGTERM);
  std::filesystem::remove_all(tmp);
  const bool errors = full.failures + nightly.failures > 0 || q.errors > 0 || e.errors > 0 || !delivery.first_error.empty();
  if (errors) {
    std::printf("\ncalls failed (%s); the figures above are not trustworthy\n",
                (delivery.first_error.empty() ? q.first_error : delivery.first_error).c_str());
  }
  return errors ? 1 : 0;
}

}  // namespace
}  // namespace kentra::bench

int main(int argc, char** argv) {
  kentra::InitServerProcess();
  absl::SetProgramUsageMessage("kentra-bench-hub [--centres=N] [--months=M]");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_serve_echo)) return kentra::bench::ServeEcho(absl::GetFlag(FLAGS_secrets_dir));
  return kentra::bench::Run();
}
