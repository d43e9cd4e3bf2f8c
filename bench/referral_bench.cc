// kentra-bench-referral: referrals routed through one hub between kentra-node
// processes over mutual TLS, beside a gRPC echo of the same size in the same run.
// Latency: one referral at a time from Kassandra to Thessaloniki, from the send
// call to the receiving node's durable store: the store time Thessaloniki's
// WatchReferrals stream gives with each change (the processes share this
// machine's clock), beside when the bench saw the event. Throughput: four
// centres sending at once to Thessaloniki; referrals stored there per second.
// A raw synced RocksDB write of the same size gives the "one durable write".
// The echo and the write are taken back to back and again at the referrals'
// pace (one every few ms, idle in between, as each process is between two steps
// of a referral), and the latency target is given against both.
// Last, the hub alone: the bench itself plays the centres (their certificates,
// sealed messages of the same size) with no kentra-node running, which is what
// one hub routes when the nodes have machines of their own (--hub_only runs just
// that, beside its echo).
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "bench/echo_server.h"
#include "bench/hub_routing.h"
#include "bench/load.h"
#include "bench/workloads.h"
#include "common/config.h"
#include "common/crypto.h"
#include "common/sealing.h"
#include "common/server.h"
#include "common/status.h"
#include "common/storage.h"
#include "common/time_util.h"
#include "common/tls.h"
#include "kentra/node/v1/referral_service.grpc.pb.h"
#include "tests/testing/process.h"

ABSL_FLAG(int, latency_referrals, 510,
          "Referrals sent one at a time for the latency (the first 10 warm up; of 500, the p99 is the 6th slowest).");
ABSL_FLAG(int, clients, 8, "Concurrent senders (spread over four centres) for the throughput.");
ABSL_FLAG(double, seconds, 4, "Measured seconds of the throughput and echo runs.");
ABSL_FLAG(int, backlog, 1000, "Referrals queued while the receiver is down, for the catch-up.");
ABSL_FLAG(bool, hub_only, false,
          "Only the hub alone (no kentra-node; sealed messages of the smallest size), with its echo.");
ABSL_FLAG(int, rounds, 3,
          "Rounds of the hub alone, each an echo window and then a routing window; its verdict is on the median "
          "of the rounds' ratios, so that the drift of a shared machine falls on both sides.");
ABSL_FLAG(std::string, hub_binary, KENTRA_HUB_BINARY, "The kentra-hub binary.");
ABSL_FLAG(std::string, node_binary, KENTRA_NODE_BINARY, "The kentra-node binary.");
ABSL_FLAG(bool, serve_echo, false, "Internal: run as the echo server and print its port.");
ABSL_FLAG(std::string, secrets_dir, "", "Internal: the echo server's TLS directory.");
ABSL_FLAG(std::string, echo_store_dir, "", "Internal: the echo server's store, for calls that also write.");

namespace kentra::bench {
namespace {

namespace nv1 = kentra::node::v1;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kSenders = {"kassandra", "chalkidona", "pylaia-chortiatis", "ermionida"};
constexpr char kReceiver[] = "thessaloniki";

// Signs the roster of the PKI's nodes with its operator root key.
absl::Status WriteRoster(const std::string& pki, const std::string& dir) {
  kentra::referral::v1::Roster roster;
  roster.set_version(1);
  KENTRA_ASSIGN_OR_RETURN(auto entries, DevPkiRosterEntries(pki + "/centres"));
  roster.mutable_entries()->Assign(entries.begin(), entries.end());
  KENTRA_ASSIGN_OR_RETURN(std::string seed, ReadHexSecretFile(pki + "/operator/root.seed"));
  KENTRA_ASSIGN_OR_RETURN(RootKeys root, RootKeys::FromSeed(seed));
  return WriteSignedRoster(root, roster, dir + "/roster.pb", dir + "/root.pub");
}

// A node process of `centre`, with the bench user, the hub and the roster.
struct Node {
  std::vector<std::string> argv;
  std::unique_ptr<kentra::testing::ChildProcess> process;
  std::shared_ptr<grpc::ChannelCredentials> creds;
  std::string token;
  std::string person;  // a beneficiary with consent to share for referral
};

absl::StatusOr<Node> StartNode(const std::string& centre, const std::string& tmp, const std::string& pki, int hub_port) {
  const std::string config = KENTRA_SOURCE_DIR "/configs/centres/" + centre + ".textproto";
  KENTRA_ASSIGN_OR_RETURN(auto parsed, LoadCentreConfig(config));
  const std::string data = tmp + "/" + centre;
  KENTRA_RETURN_IF_ERROR(AddBenchUser(parsed, data));
  Node node;
  node.argv = {absl::GetFlag(FLAGS_node_binary), "--config=" + config, "--data_dir=" + data, "--listen=127.0.0.1:0",
               "--secrets_dir=" + pki + "/centres/" + centre, absl::StrCat("--hub=127.0.0.1:", hub_port),
               "--roster=" + tmp + "/roster.pb", "--roster_root_key=" + tmp + "/root.pub"};
  node.process = std::make_unique<kentra::testing::ChildProcess>(node.argv);
  if (node.process->port() == 0) return absl::UnavailableError(absl::StrCat(centre, " did not start"));
  KENTRA_ASSIGN_OR_RETURN(TlsIdentity staff, LoadTlsIdentity(pki + "/centres/" + centre + "/staff", "client"));
  node.creds = MakeClientCredentials(staff);
  KENTRA_ASSIGN_OR_RETURN(node.token, LogIn(Connect(node.process->port(), 0, node.creds)));
  nv1::CreateBeneficiaryRequest create;
  auto* b = create.mutable_beneficiary();
  b->set_given_name("Bench");
  b->set_family_name("Person");
  b->mutable_birth_date()->set_year(1980);
  b->mutable_birth_date()->set_month(1);
  b->mutable_birth_date()->set_day(1);
  b->set_gender(kentra::type::v1::GENDER_FEMALE);
  b->set_municipality("Κασσάνδρα");
  auto* consent = b->add_consents();
  consent->set_purpose(nv1::CONSENT_PURPOSE_REFERRAL_SHARING);
  consent->set_state(nv1::CONSENT_STATE_GIVEN);
  nv1::Beneficiary out;
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + node.token);
  KENTRA_RETURN_IF_ERROR(FromGrpcStatus(
      nv1::StaffService::NewStub(Connect(node.process->port(), 0, node.creds))->CreateBeneficiary(&ctx, create, &out)));
  node.person = out.name();
  return node;
}

nv1::CreateReferralRequest Request(const std::string& person) {
  nv1::CreateReferralRequest r;
  r.mutable_referral()->set_beneficiary(person);
  r.mutable_referral()->set_receiving_centre(kReceiver);
  r.mutable_referral()->set_receiving_site("west");
  r.mutable_referral()->set_service(kentra::type::v1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT);
  r.mutable_referral()->set_urgency(nv1::REFERRAL_URGENCY_ROUTINE);
  r.mutable_referral()->set_reason("Residence permit renewal and Greek lessons; the family is moving to Thessaloniki");
  return r;
}

// A node's WatchReferrals: when each referral was received there (a new one
// stored at the receiving node, or its receipt back at the sender), both as
// the node's own store time and as the bench saw the event.
// Waits (up to 30 s) until the sender holds `name` as received: the receipt is
// back. Asked after the arrival is timed, so that it costs the timed path nothing
// (a watch at the sender would be told of each send as it is made).
bool ReceiptBack(nv1::ReferralService::Stub& sender, const std::string& token, const std::string& name) {
  for (int i = 0; i < 30000; ++i) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    nv1::GetReferralRequest get;
    get.set_name(name);
    nv1::Referral r;
    if (sender.GetReferral(&ctx, get, &r).ok() && r.state() == nv1::REFERRAL_STATE_RECEIVED) return true;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return false;
}

// How many incoming referrals `receiver` received (its RECEIVE step) at or
// after `since`, and when it received the last of them; read from its records,
// so that what it stored before anyone watched counts too.
struct Received {
  int64_t count = 0;
  absl::Time last = absl::InfinitePast();
};
absl::StatusOr<Received> ReceivedSince(nv1::ReferralService::Stub& receiver, const std::string& token,
                                       absl::Time since) {
  Received received;
  std::string page_token;
  do {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    nv1::ListReferralsRequest list;
    list.set_direction(nv1::REFERRAL_DIRECTION_INCOMING);
    list.set_page_size(100);
    list.set_page_token(page_token);
    nv1::ListReferralsResponse page;
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(receiver.ListReferrals(&ctx, list, &page)));
    for (const nv1::Referral& r : page.referrals()) {  // newest first
      for (const auto& step : r.history()) {
        if (step.action() != nv1::REFERRAL_ACTION_RECEIVE) continue;
        const absl::Time at = FromTimestamp(step.time());
        if (at < since) return received;
        ++received.count;
        received.last = std::max(received.last, at);
      }
    }
    page_token = page.next_page_token();
  } while (!page_token.empty());
  return received;
}

class Arrivals {
 public:
  struct Arrival {
    Clock::time_point seen;  // by the bench
    absl::Time stored;       // by the node, once durable
  };
  explicit Arrivals(const Node& receiver) {
    ctx_.AddMetadata("authorization", "Bearer " + receiver.token);
    stub_ = nv1::ReferralService::NewStub(Connect(receiver.process->port(), 999, receiver.creds));
    thread_ = std::thread([this] {
      auto reader = stub_->WatchReferrals(&ctx_, nv1::WatchReferralsRequest());
      nv1::WatchReferralsResponse event;
      while (reader->Read(&event)) {
        if (event.action() != nv1::REFERRAL_ACTION_RECEIVE) continue;
        absl::MutexLock lock(&mu_);
        arrived_[event.referral().name()] = Arrival{Clock::now(), FromTimestamp(event.store_time())};
        ++count_;
      }
      reader->Finish();
    });
  }
  ~Arrivals() {
    ctx_.TryCancel();
    thread_.join();
  }
  // When `name` arrived, waiting up to 30 s.
  std::optional<Arrival> Await(const std::string& name) {
    absl::MutexLock lock(&mu_);
    auto there = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return arrived_.contains(name); };
    if (!mu_.AwaitWithTimeout(absl::Condition(&there), absl::Seconds(30))) return std::nullopt;
    return arrived_[name];
  }
  int64_t count() {
    absl::MutexLock lock(&mu_);
    return count_;
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<nv1::ReferralService::Stub> stub_;
  std::thread thread_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Arrival> arrived_ ABSL_GUARDED_BY(mu_);
  int64_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// p99 of one synced RocksDB write of `bytes`, one at a time, each `period`
// after the one before (zero: back to back). Taken at the referrals' pace, a
// baseline leaves the machine as idle between two of its calls as a referral
// leaves each process between two of its steps. (A gRPC call to a process idle
// for a while takes this machine some 0.2-0.3 ms, against 0.07 ms back to back.)
double DurableWriteP99(const std::string& dir, int bytes, int n, std::chrono::microseconds period) {
  auto store = Store::Open(dir, {"default"});
  if (!store.ok()) return 0;
  std::vector<double> ms;
  const std::string value(static_cast<size_t>(bytes), 'x');
  for (int i = 0; i < n; ++i) {
    WriteBatch batch;
    batch.Put(0, absl::StrCat("k", i), value);
    const auto t0 = Clock::now();
    if (!(*store)->Write(batch).ok()) return 0;
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    std::this_thread::sleep_until(t0 + period);
  }
  return Percentile(ms, 0.99);
}

// `n` echo calls one at a time, each `period` after the one before.
LoadResult PacedEcho(Clients* clients, int request_bytes, int n, std::chrono::microseconds period) {
  const CallFn call = EchoCall(clients, request_bytes, 64);
  LoadResult result;
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    if (absl::Status s = call(0, i); !s.ok()) {
      if (result.errors++ == 0) result.first_error = s.ToString();
    } else {
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    std::this_thread::sleep_until(t0 + period);
  }
  result.calls = static_cast<int64_t>(ms.size());
  result.p50_ms = Percentile(ms, 0.5);
  result.p99_ms = Percentile(ms, 0.99);
  return result;
}

// The hub alone: `load.clients` post sealed messages of `sealed_bytes` straight
// to the hub with the sending nodes' certificates, and the bench watches and
// acknowledges Thessaloniki's mailbox with its node's certificate. No node may
// be watching that mailbox meanwhile.
absl::StatusOr<HubRoutingResult> RouteThroughHubAlone(const std::string& pki, const kentra::testing::ChildProcess& hub,
                                                      const LoadOptions& load, int sealed_bytes) {
  HubRoutingOptions routing;
  routing.hub_port = hub.port();
  routing.hub_pid = hub.pid();
  for (const std::string& c : kSenders) {
    KENTRA_ASSIGN_OR_RETURN(TlsIdentity identity, LoadTlsIdentity(pki + "/centres/" + c, "client"));
    routing.senders[c] = MakeClientCredentials(identity);
  }
  KENTRA_ASSIGN_OR_RETURN(TlsIdentity receiver, LoadTlsIdentity(pki + "/centres/" + kReceiver, "client"));
  routing.recipient = kReceiver;
  routing.recipient_credentials = MakeClientCredentials(receiver);
  routing.clients = load.clients;
  routing.warmup = load.warmup;
  routing.measure = load.measure;
  routing.sealed_bytes = sealed_bytes;
  return RouteThroughHub(routing);
}

// What the hub's post writes for one message: the message under its mailbox
// sequence and the post's receipt under its id (keys, routing metadata and the
// sealed bytes); the ceiling below writes a batch of that shape.
WriteShape PostWrite(int sealed_bytes) { return WriteShape{2, static_cast<double>(sealed_bytes) + 300}; }

// One round of the hub alone: the echo's window, the ceiling's, then the hub's.
struct HubAloneRound {
  double echo_qps = 0;
  // The echo server storing each call's message in a synced batch of the post's
  // shape before it answers: the least a store-and-forward hub must do before
  // its receipt, with no delivery, acknowledgement, validation or audit.
  double echo_write_qps = 0;
  HubRoutingResult routing;
  double ratio() const { return echo_qps > 0 ? routing.routed_per_second() / echo_qps : 0; }
};

// --rounds rounds of the hub alone, each beside an echo window of its own.
absl::StatusOr<std::vector<HubAloneRound>> MeasureHubAlone(const std::string& pki, const kentra::testing::ChildProcess& hub,
                                                           Clients& echo, const LoadOptions& load, int sealed_bytes) {
  std::vector<HubAloneRound> rounds;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_rounds)); ++i) {
    HubAloneRound round;
    const LoadResult em = RunClosedLoop(load, EchoCall(&echo, sealed_bytes, 64));
    if (em.errors > 0) return absl::InternalError("the echo failed: " + em.first_error);
    round.echo_qps = em.qps;
    const LoadResult ew = RunClosedLoop(load, EchoCall(&echo, sealed_bytes, 64, PostWrite(sealed_bytes)));
    if (ew.errors > 0) return absl::InternalError("the echo with a synced write failed: " + ew.first_error);
    round.echo_write_qps = ew.qps;
    KENTRA_ASSIGN_OR_RETURN(round.routing, RouteThroughHubAlone(pki, hub, load, sealed_bytes));
    rounds.push_back(round);
  }
  return rounds;
}

void PrintHubAlone(const std::vector<HubAloneRound>& rounds, int clients) {
  std::printf("\nthe hub alone: %d senders with the four centres' node certificates, Thessaloniki's mailbox watched\n"
              "and acknowledged by the bench (no kentra-node running); each round an echo window, the echo\n"
              "storing each message in a synced batch of the post's shape (the ceiling for any hub here), then the hub's:\n",
              clients);
  std::vector<double> ratios, ceilings;
  for (size_t i = 0; i < rounds.size(); ++i) {
    const HubRoutingResult& r = rounds[i].routing;
    ratios.push_back(rounds[i].ratio());
    ceilings.push_back(rounds[i].echo_qps > 0 ? rounds[i].echo_write_qps / rounds[i].echo_qps : 0);
    std::printf("  round %zu\n", i + 1);
    std::printf("    %-38s %9.0f QPS\n", "grpc echo", rounds[i].echo_qps);
    std::printf("    %-38s %9.0f QPS  %.1f%% of echo\n", "grpc echo + the same synced write", rounds[i].echo_write_qps,
                100.0 * ceilings.back());
    std::printf("    %-38s %9.0f /s (p50 %.2f ms, p99 %.2f ms)\n", "BatchPostMessages, one message each", r.post_qps,
                r.post_p50_ms, r.post_p99_ms);
    std::printf("    %-38s %9.0f /s (%lld in %.1f s)  %.1f%% of echo, %.0f%% of echo + write\n",
                "stored, delivered, acknowledged", r.routed_per_second(), static_cast<long long>(r.routed), r.seconds,
                100.0 * rounds[i].ratio(),
                rounds[i].echo_write_qps > 0 ? 100.0 * r.routed_per_second() / rounds[i].echo_write_qps : 0.0);
    if (r.hub_cpu_seconds > 0 && r.routed > 0) {
      const double micros = 1e6 * r.hub_cpu_seconds / static_cast<double>(r.routed);
      std::printf("    %-38s %9.0f us a message (one core: %.0f /s)\n", "the hub's CPU", micros, 1e6 / micros);
    }
  }
  const double median = Percentile(ratios, 0.5);
  std::printf("  median of the rounds: %.1f%% of echo (target 30%%): %s; the ceiling's median %.1f%% of echo\n",
              100.0 * median, median >= 0.3 ? "MET" : "MISSED", 100.0 * Percentile(ceilings, 0.5));
}

int Run() {
  auto fail = [](const std::string& why) {
    std::fprintf(stderr, "kentra-bench-referral: %s\n", why.c_str());
    return 1;
  };
  const std::string tmp = (std::filesystem::temp_directory_path() / absl::StrCat("kentra-bench-referral-", getpid())).string();
  std::filesystem::create_directories(tmp);
  const std::string pki = tmp + "/pki";
  if (std::system((KENTRA_SOURCE_DIR "/scripts/dev-pki " + pki + " >/dev/null").c_str()) != 0) return fail("dev-pki failed");
  if (!WriteRoster(pki, tmp).ok()) return fail("cannot sign the roster");
  kentra::testing::ChildProcess hub({absl::GetFlag(FLAGS_hub_binary), "--config=" KENTRA_SOURCE_DIR "/configs/hub.textproto",
                                     "--data_dir=" + tmp + "/hub", "--listen=127.0.0.1:0", "--secrets_dir=" + pki + "/hub"});
  kentra::testing::ChildProcess echo(
      {SelfPath(), "--serve_echo", "--secrets_dir=" + pki + "/hub", "--echo_store_dir=" + tmp + "/echo-store"});
  if (hub.port() == 0 || echo.port() == 0) return fail("the hub or the echo did not start");
  auto echo_creds = MakeClientCredentials(*LoadTlsIdentity(pki + "/centres/kassandra", "client"));
  LoadOptions many;
  many.clients = absl::GetFlag(FLAGS_clients);
  many.measure = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  if (absl::GetFlag(FLAGS_hub_only)) {
    const int sealed_bytes = static_cast<int>(kSealBuckets[0] + kSealOverheadBytes);
    Clients echo_many(echo.port(), many.clients, echo_creds);
    auto hub_only = MeasureHubAlone(pki, hub, echo_many, many, sealed_bytes);
    if (!hub_only.ok()) return fail("routing through the hub alone: " + hub_only.status().ToString());
    std::printf("kentra-bench-referral --hub_only: mutual TLS, %d B sealed, %d cores\n", sealed_bytes,
                static_cast<int>(std::thread::hardware_concurrency()));
    PrintHubAlone(*hub_only, many.clients);
    hub.Stop(SIGTERM);
    echo.Stop(SIGTERM);
    std::filesystem::remove_all(tmp);
    return 0;
  }
  std::map<std::string, Node> nodes;
  for (const std::string& c : {std::string(kReceiver), kSenders[0], kSenders[1], kSenders[2], kSenders[3]}) {
    auto node = StartNode(c, tmp, pki, hub.port());
    if (!node.ok()) return fail(node.status().ToString());
    nodes[c] = *std::move(node);
  }
  Arrivals arrivals(nodes[kReceiver]);
  absl::SleepFor(absl::Milliseconds(300));  // the watches are open

  // Latency: one at a time, from the send call to the receiving node's durable
  // store (its commit time: the processes share this machine's clock), and on
  // to the bench seeing it on that node's watch. Each referral's loop closes
  // (its receipt is stored back at Kassandra) before the next is sent, so that
  // one referral's traffic does not fall into the next one's time.
  Node& kassandra = nodes["kassandra"];
  auto stub = nv1::ReferralService::NewStub(Connect(kassandra.process->port(), 0, kassandra.creds));
  std::vector<double> stored_ms, seen_ms, answered_ms;
  int sealed_bytes = 0;
  Clock::time_point paced_from;  // the first measured send
  for (int i = 0; i < absl::GetFlag(FLAGS_latency_referrals); ++i) {
    if (i == 10) paced_from = Clock::now();
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + kassandra.token);
    nv1::Referral sent;
    const absl::Time sent_at = absl::Now();
    const auto t0 = Clock::now();
    grpc::Status s = stub->CreateReferral(&ctx, Request(kassandra.person), &sent);
    if (!s.ok()) return fail("CreateReferral: " + s.error_message());
    const auto answered = Clock::now();
    auto at = arrivals.Await(sent.name());
    if (!at) return fail("a referral never arrived");
    if (!ReceiptBack(*stub, kassandra.token, sent.name())) return fail("a referral's receipt never came back");
    if (i >= 10) {  // 10 to warm up
      stored_ms.push_back(absl::ToDoubleMilliseconds(at->stored - sent_at));
      seen_ms.push_back(std::chrono::duration<double, std::milli>(at->seen - t0).count());
      answered_ms.push_back(std::chrono::duration<double, std::milli>(answered - t0).count());
    }
    sealed_bytes = static_cast<int>(SealBucket(sent.ByteSizeLong()) + kSealOverheadBytes);
  }
  const Clock::duration latency_loop = stored_ms.empty() ? Clock::duration() : Clock::now() - paced_from;
  LoadOptions one;
  one.clients = 1;
  one.measure = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  Clients echo_one(echo.port(), 1, echo_creds);
  const LoadResult e1 = RunClosedLoop(one, EchoCall(&echo_one, sealed_bytes, 64));
  const double durable_p99 = DurableWriteP99(tmp + "/raw", sealed_bytes, 300, {});
  // The same two again at the referrals' pace: one every so often, the machine
  // idle in between, as each process is between two steps of a referral.
  // (Bounded: a loop too short to time, or a stall, leaves a pace of 0 to 50 ms.)
  const auto pace = stored_ms.empty() ? std::chrono::microseconds(0)
                                      : std::min(std::chrono::duration_cast<std::chrono::microseconds>(
                                                     latency_loop / stored_ms.size()),
                                                 std::chrono::microseconds(50'000));
  const int paced_calls = std::max<int>(static_cast<int>(stored_ms.size()), 100);
  const LoadResult e1_paced = PacedEcho(&echo_one, sealed_bytes, paced_calls, pace);
  const double durable_paced_p99 = DurableWriteP99(tmp + "/raw_paced", sealed_bytes, paced_calls, pace);

  // Throughput: many senders at once, referrals stored at the receiver per second.
  std::vector<std::unique_ptr<nv1::ReferralService::Stub>> senders;
  for (int c = 0; c < many.clients; ++c) {
    const Node& n = nodes[kSenders[static_cast<size_t>(c) % kSenders.size()]];
    senders.push_back(nv1::ReferralService::NewStub(Connect(n.process->port(), c + 1, n.creds)));
  }
  // The echo first, on a quiet machine: after the referrals, receipts are still
  // flowing back to the senders for a while and would slow it down.
  Clients echo_many(echo.port(), many.clients, echo_creds);
  const LoadResult em = RunClosedLoop(many, EchoCall(&echo_many, sealed_bytes, 64));
  const int64_t before = arrivals.count();
  const auto start = Clock::now();
  const LoadResult sends = RunClosedLoop(many, [&](int client, int64_t) {
    const Node& n = nodes[kSenders[static_cast<size_t>(client) % kSenders.size()]];
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + n.token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    nv1::Referral sent;
    return FromGrpcStatus(senders[static_cast<size_t>(client)]->CreateReferral(&ctx, Request(n.person), &sent));
  });
  // Every referral sent is waited for; the rate counts from the first send to the last arrival.
  int64_t target = before;
  for (int i = 0; i < 600 && arrivals.count() > target; ++i) {
    target = arrivals.count();
    absl::SleepFor(absl::Milliseconds(500));
  }
  const double routed_seconds = std::chrono::duration<double>(Clock::now() - start).count() - 0.5;
  const int64_t routed = arrivals.count() - before;

  // Catch-up: the receiver is down while the senders queue a backlog at the hub;
  // then it starts again and takes it all from its watch.
  nodes[kReceiver].process->Stop(SIGTERM);
  std::atomic<int> queued{0};
  {
    std::vector<std::thread> threads;
    for (int c = 0; c < many.clients; ++c) {
      threads.emplace_back([&, c] {
        const Node& n = nodes[kSenders[static_cast<size_t>(c) % kSenders.size()]];
        while (queued.fetch_add(1) < absl::GetFlag(FLAGS_backlog)) {
          grpc::ClientContext ctx;
          ctx.AddMetadata("authorization", "Bearer " + n.token);
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          nv1::Referral sent;
          if (!senders[static_cast<size_t>(c)]->CreateReferral(&ctx, Request(n.person), &sent).ok()) break;
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  absl::SleepFor(absl::Seconds(2));  // the senders' couriers post it all to the hub
  const int backlog = absl::GetFlag(FLAGS_backlog);
  const absl::Time restart = absl::Now();
  Node& receiver = nodes[kReceiver];
  receiver.process = std::make_unique<kentra::testing::ChildProcess>(receiver.argv);
  if (receiver.process->port() == 0) return fail("the receiver did not start again");
  Received caught_up;
  {
    // The node's session survives its restart. Bounded: 10 minutes at most.
    auto inbox = nv1::ReferralService::NewStub(Connect(receiver.process->port(), 998, receiver.creds));
    for (int i = 0; i < 6000; ++i) {
      auto received = ReceivedSince(*inbox, receiver.token, restart);
      if (!received.ok()) return fail("listing the receiver's referrals: " + received.status().ToString());
      caught_up = *received;
      if (caught_up.count >= backlog) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  const double catch_up_seconds = caught_up.count > 0 ? absl::ToDoubleSeconds(caught_up.last - restart) : 0;
  senders.clear();
  for (auto& [id, n] : nodes) n.process->Stop(SIGTERM);

  auto hub_only = MeasureHubAlone(pki, hub, echo_many, many, sealed_bytes);
  if (!hub_only.ok()) return fail("routing through the hub alone: " + hub_only.status().ToString());

  const double p50 = Percentile(stored_ms, 0.5), p99 = Percentile(stored_ms, 0.99);
  const double bound = 5 * e1.p99_ms + 2 * durable_p99;
  const double paced_bound = 5 * e1_paced.p99_ms + 2 * durable_paced_p99;
  std::printf("kentra-bench-referral: Kassandra, Chalkidona, Pylaia-Chortiatis, Ermionida -> hub -> Thessaloniki, "
              "mutual TLS, %d B sealed, %d cores\n\n",
              sealed_bytes, static_cast<int>(std::thread::hardware_concurrency()));
  std::printf("latency, one at a time (%zu referrals):\n", stored_ms.size());
  std::printf("  %-40s p50 %7.2f ms  p99 %7.2f ms\n", "grpc echo, 1 client, back to back", e1.p50_ms, e1.p99_ms);
  std::printf("  %-40s           p99 %7.2f ms\n", "one synced RocksDB write, back to back", durable_p99);
  std::printf("  %-40s p50 %7.2f ms  p99 %7.2f ms\n", absl::StrFormat("grpc echo, one every %.1f ms", pace.count() / 1000.0).c_str(),
              e1_paced.p50_ms, e1_paced.p99_ms);
  std::printf("  %-40s           p99 %7.2f ms\n",
              absl::StrFormat("one synced write, one every %.1f ms", pace.count() / 1000.0).c_str(), durable_paced_p99);
  std::printf("  %-40s p50 %7.2f ms  p99 %7.2f ms\n", "send -> stored at the receiving node", p50, p99);
  std::printf("    target p99 < 5x echo + 2 writes, back to back:       %5.2f ms: %s\n", bound,
              p99 < bound ? "MET" : "MISSED");
  std::printf("    target p99 < 5x echo + 2 writes, at the same pace:   %5.2f ms: %s\n", paced_bound,
              p99 < paced_bound ? "MET" : "MISSED");
  std::printf("  %-40s p50 %7.2f ms  p99 %7.2f ms\n", "  CreateReferral answered", Percentile(answered_ms, 0.5),
              Percentile(answered_ms, 0.99));
  std::printf("  %-40s p50 %7.2f ms  p99 %7.2f ms\n", "  seen on the receiver's WatchReferrals", Percentile(seen_ms, 0.5),
              Percentile(seen_ms, 0.99));
  std::printf("\nthroughput, %d senders over 4 centres:\n", many.clients);
  std::printf("  %-40s %9.0f QPS\n", "grpc echo", em.qps);
  std::printf("  %-40s %9.0f /s (p50 %.2f ms, p99 %.2f ms)\n", "CreateReferral at the senders", sends.qps, sends.p50_ms,
              sends.p99_ms);
  std::printf("  %-40s %9.0f /s (%lld in %.1f s)  %.1f%% of echo (target 30%%): %s\n", "stored at the receiver",
              static_cast<double>(routed) / routed_seconds, static_cast<long long>(routed), routed_seconds,
              100.0 * static_cast<double>(routed) / routed_seconds / em.qps,
              static_cast<double>(routed) / routed_seconds >= 0.3 * em.qps ? "MET" : "MISSED");
  std::printf("\ncatch-up: %d referrals queued while Thessaloniki was down, then it started again:\n", backlog);
  std::printf("  %-40s %9.2f s from its start to the last (%lld of %d), %.0f /s\n", "stored at the receiver",
              catch_up_seconds, static_cast<long long>(caught_up.count), backlog,
              catch_up_seconds > 0 ? static_cast<double>(caught_up.count) / catch_up_seconds : 0.0);
  PrintHubAlone(*hub_only, many.clients);
  hub.Stop(SIGTERM);
  echo.Stop(SIGTERM);
  std::filesystem::remove_all(tmp);
  if (sends.errors > 0) std::printf("\n%lld sends failed (%s)\n", static_cast<long long>(sends.errors), sends.first_error.c_str());
  return sends.errors > 0 || e1.errors > 0 || e1_paced.errors > 0 || em.errors > 0 ? 1 : 0;
}

}  // namespace
}  // namespace kentra::bench

int main(int argc, char** argv) {
  kentra::InitServerProcess();
  absl::SetProgramUsageMessage("kentra-bench-referral [--clients=N] [--seconds=S]");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_serve_echo)) return kentra::bench::ServeEcho(absl::GetFlag(FLAGS_secrets_dir), absl::GetFlag(FLAGS_echo_store_dir));
  return kentra::bench::Run();
}
