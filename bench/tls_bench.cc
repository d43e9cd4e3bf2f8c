// kentra-bench-tls: what mutual TLS costs, measured in one run with and without it:
// the echo baseline and kentra-node's read path over reused connections (the
// per-call cost, including the per-call check of the client certificate), and
// the echo with a new connection for every call (the handshake cost).
// It makes its own PKI with scripts/dev-pki and runs every server as a process.
#include <algorithm>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/echo_server.h"
#include "bench/load.h"
#include "bench/workloads.h"
#include "common/config.h"
#include "common/server.h"
#include "common/status.h"
#include "common/time_util.h"
#include "common/tls.h"
#include "node/synthetic/synthetic.h"
#include "tests/testing/process.h"

ABSL_FLAG(int, clients, 8, "Concurrent clients (threads, each with its own connection).");
ABSL_FLAG(double, seconds, 4, "Measured seconds per workload.");
ABSL_FLAG(double, warmup_seconds, 1, "Unmeasured seconds before each workload's window.");
ABSL_FLAG(int, rounds, 3,
          "Plaintext and TLS windows alternate this many times per workload; the medians are compared, "
          "so that drift of a shared machine falls on both sides.");
ABSL_FLAG(double, scale, 0.2, "Size of the synthetic Thessaloniki data on each node (1.0 = 6000 people).");
ABSL_FLAG(std::string, node_binary, KENTRA_NODE_BINARY, "The kentra-node binary to measure.");
ABSL_FLAG(bool, serve_echo, false, "Internal: run as the echo server and print its port.");
ABSL_FLAG(std::string, secrets_dir, "", "Internal: the echo server's TLS directory (empty: plaintext).");

namespace kentra::bench {
namespace {

namespace nv1 = kentra::node::v1;
namespace bv1 = kentra::bench::v1;

void PrintRow(const std::string& label, const LoadResult& r, const std::string& tail = "") {
  std::printf("  %-30s %9lld %9.0f %9.2f %9.2f  %s\n", label.c_str(), static_cast<long long>(r.calls), r.qps,
              r.p50_ms, r.p99_ms, tail.c_str());
  if (r.errors > 0) std::printf("    %lld errors, first: %s\n", static_cast<long long>(r.errors), r.first_error.c_str());
}

// A call that opens a connection of its own, so each call pays for a handshake.
CallFn FreshConnectionEcho(int port, std::shared_ptr<grpc::ChannelCredentials> credentials) {
  return [port, credentials](int client, int64_t n) {
    auto stub = bv1::EchoService::NewStub(Connect(port, client * 1000000 + static_cast<int>(n), credentials));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    bv1::EchoRequest request;
    request.set_response_bytes(200);
    bv1::EchoResponse response;
    return FromGrpcStatus(stub->Echo(&ctx, request, &response));
  };
}

int Run() {
  LoadOptions load;
  load.clients = absl::GetFlag(FLAGS_clients);
  load.measure = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  load.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds));
  const std::string config = KENTRA_SOURCE_DIR "/configs/centres/thessaloniki.textproto";
  auto centre = LoadCentreConfig(config);
  if (!centre.ok()) {
    std::cerr << "kentra-bench-tls: " << centre.status() << "\n";
    return 1;
  }
  char tmpl[] = "/tmp/kentra-bench-tls-XXXXXX";
  const std::string tmp = mkdtemp(tmpl);
  const std::string pki = tmp + "/pki";
  const std::string make_pki = absl::StrCat(KENTRA_SOURCE_DIR "/scripts/dev-pki ", pki, " --centres=thessaloniki >/dev/null");
  if (std::system(make_pki.c_str()) != 0) {
    std::cerr << "kentra-bench-tls: scripts/dev-pki failed\n";
    std::filesystem::remove_all(tmp);
    return 1;
  }
  const std::string secrets = pki + "/centres/thessaloniki";
  auto staff = LoadTlsIdentity(secrets + "/staff", "client");
  if (!staff.ok()) {
    std::cerr << "kentra-bench-tls: " << staff.status() << "\n";
    return 1;
  }
  const auto tls = MakeClientCredentials(*staff);

  const std::string self = SelfPath();
  kentra::testing::ChildProcess echo_plain({self, "--serve_echo"});
  kentra::testing::ChildProcess echo_tls({self, "--serve_echo", "--secrets_dir=" + secrets});
  const std::string node_bin = absl::GetFlag(FLAGS_node_binary);
  for (const char* dir : {"/plain", "/tls"}) {
    if (absl::Status s = AddBenchUser(*centre, tmp + dir); !s.ok()) {
      std::cerr << "kentra-bench-tls: " << s << "\n";
      return 1;
    }
  }
  kentra::testing::ChildProcess node_plain({node_bin, "--config=" + config, "--data_dir=" + tmp + "/plain",
                                            "--listen=127.0.0.1:0", "--insecure"});
  kentra::testing::ChildProcess node_tls({node_bin, "--config=" + config, "--data_dir=" + tmp + "/tls",
                                          "--listen=127.0.0.1:0", "--secrets_dir=" + secrets});
  if (echo_plain.port() == 0 || echo_tls.port() == 0 || node_plain.port() == 0 || node_tls.port() == 0) {
    std::cerr << "kentra-bench-tls: a server did not start\n";
    std::filesystem::remove_all(tmp);
    return 1;
  }

  // The same synthetic data on both nodes.
  const absl::CivilDay today = TodayAt(absl::Now());
  synthetic::SyntheticCentre generator(*centre, 2026, absl::GetFlag(FLAGS_scale), today);
  const Templates templates(*centre, today);
  auto plain_channel = Connect(node_plain.port(), 0);
  auto tls_channel = Connect(node_tls.port(), 0, tls);
  auto plain_token = LogIn(plain_channel);
  auto tls_token = LogIn(tls_channel);
  if (!plain_token.ok() || !tls_token.ok()) {
    std::cerr << "kentra-bench-tls: logging in: " << plain_token.status() << " / " << tls_token.status() << "\n";
    std::filesystem::remove_all(tmp);
    return 1;
  }
  auto plain_stub = nv1::StaffService::NewStub(plain_channel);
  auto tls_stub = nv1::StaffService::NewStub(tls_channel);
  for (auto [stub, token] : {std::pair{plain_stub.get(), *plain_token}, std::pair{tls_stub.get(), *tls_token}}) {
    auto seeded = synthetic::SeedNode(generator, stub, token, 4, nullptr);
    if (!seeded.ok()) {
      std::cerr << "kentra-bench-tls: seeding: " << seeded.status() << "\n";
      std::filesystem::remove_all(tmp);
      return 1;
    }
  }
  auto plain_targets = CollectTargets(plain_stub.get(), *plain_token);
  auto tls_targets = CollectTargets(tls_stub.get(), *tls_token);
  if (!plain_targets.ok() || !tls_targets.ok()) {
    std::cerr << "kentra-bench-tls: listing the seeded records failed\n";
    std::filesystem::remove_all(tmp);
    return 1;
  }

  std::printf("kentra-bench-tls: %d clients, %.1f s measured after %.1f s warm-up, %d people per node\n\n",
              load.clients, absl::ToDoubleSeconds(load.measure), absl::ToDoubleSeconds(load.warmup),
              generator.person_count());
  std::printf("%-32s %9s %9s %9s %9s\n", "", "calls", "QPS", "p50 ms", "p99 ms");
  bool errors = false;
  struct Cost {
    std::string what;
    double cost;
    bool reused;
  };
  std::vector<Cost> costs;
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto pair = [&](const std::string& title, bool reused, const CallFn& plain, const CallFn& secure) {
    std::printf("%s\n", title.c_str());
    std::vector<double> plain_qps, tls_qps;
    for (int r = 0; r < rounds; ++r) {
      LoadResult p = RunClosedLoop(load, plain);
      PrintRow(absl::StrFormat("plaintext, round %d", r + 1), p);
      LoadResult t = RunClosedLoop(load, secure);
      PrintRow(absl::StrFormat("mutual TLS, round %d", r + 1), t);
      plain_qps.push_back(p.qps);
      tls_qps.push_back(t.qps);
      errors |= p.errors > 0 || t.errors > 0;
    }
    const double p = median(plain_qps), t = median(tls_qps);
    const double cost = p > 0 ? 1 - t / p : 1;
    std::printf("  median QPS: plaintext %.0f, mutual TLS %.0f: TLS costs %.1f%% of QPS\n", p, t, 100 * cost);
    costs.push_back({title, cost, reused});
  };

  {
    auto plain_clients = std::make_unique<Clients>(echo_plain.port(), load.clients);
    auto tls_clients = std::make_unique<Clients>(echo_tls.port(), load.clients, tls);
    pair("echo (40 B -> 230 B), reused connections", true, EchoCall(plain_clients.get(), 40, 230),
         EchoCall(tls_clients.get(), 40, 230));
  }
  {
    auto plain_clients = std::make_unique<Clients>(node_plain.port(), load.clients);
    auto tls_clients = std::make_unique<Clients>(node_tls.port(), load.clients, tls);
    NodeCaller plain_caller(&templates, &*plain_targets, "plain", load.clients, *plain_token);
    NodeCaller tls_caller(&templates, &*tls_targets, "tls", load.clients, *tls_token);
    for (Kind kind : {Kind::kGetBeneficiary, Kind::kListBeneficiaries}) {
      pair(kind == Kind::kGetBeneficiary ? "kentra-node GetBeneficiary" : "kentra-node ListBeneficiaries (50)",
           true, NodeCall(&plain_caller, plain_clients.get(), kind), NodeCall(&tls_caller, tls_clients.get(), kind));
    }
  }
  pair("echo, a new connection per call", false, FreshConnectionEcho(echo_plain.port(), nullptr),
       FreshConnectionEcho(echo_tls.port(), tls));

  std::printf("\n");
  for (const Cost& c : costs) {
    if (c.reused) {
      std::printf("%-6s %-40s TLS costs %4.1f%% of QPS (target under 15%%)\n", c.cost < 0.15 ? "MET" : "MISSED",
                  c.what.c_str(), 100 * c.cost);
    } else {
      std::printf("%-6s %-40s TLS costs %3.0f%% of QPS (handshake; no target)\n", "", c.what.c_str(), 100 * c.cost);
    }
  }
  // Idle sync-client connections would hold the servers' shutdown (see node_bench.cc).
  plain_stub.reset();
  tls_stub.reset();
  for (auto* child : {&node_plain, &node_tls, &echo_plain, &echo_tls}) child->Stop(SIGTERM);
  std::filesystem::remove_all(tmp);
  if (errors) {
    std::printf("\ncalls failed during the run; the figures above are not trustworthy\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace kentra::bench

int main(int argc, char** argv) {
  kentra::InitServerProcess();
  absl::SetProgramUsageMessage("kentra-bench-tls [--clients=N] [--seconds=S] [--scale=X]");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_serve_echo)) return kentra::bench::ServeEcho(absl::GetFlag(FLAGS_secrets_dir));
  return kentra::bench::Run();
}
