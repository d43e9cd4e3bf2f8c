#include "bench/hub_routing.h"

#include <atomic>
#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/load.h"
#include "bench/proc_stats.h"
#include "bench/workloads.h"
#include "common/crypto.h"
#include "common/sealing.h"
#include "common/status.h"

namespace kentra::bench {
namespace {

namespace hv1 = kentra::hub::v1;
using Clock = MailboxWatch::Clock;

constexpr int kMaxAcksPerCall = 500;  // the hub's limit, as the courier sends them
constexpr absl::Duration kDrainTimeout = absl::Seconds(30);

}  // namespace

MailboxWatch::MailboxWatch(std::shared_ptr<grpc::Channel> hub, std::string tag)
    : tag_(std::move(tag)), stub_(hv1::MailboxService::NewStub(hub)) {
  watcher_ = std::thread([this] { Watch(); });
  acker_ = std::thread([this] { Acknowledge(); });
}

MailboxWatch::~MailboxWatch() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  watch_ctx_.TryCancel();
  watcher_.join();
  acker_.join();
}

bool MailboxWatch::AwaitAcknowledged(int64_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return acknowledged_ >= n || !failure_.ok(); };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout) && failure_.ok();
}

int64_t MailboxWatch::acknowledged() {
  absl::MutexLock lock(&mu_);
  return acknowledged_;
}

MailboxWatch::Clock::time_point MailboxWatch::last_arrival() {
  absl::MutexLock lock(&mu_);
  return last_arrival_;
}

MailboxWatch::Clock::time_point MailboxWatch::last_acknowledged() {
  absl::MutexLock lock(&mu_);
  return last_acknowledged_;
}

absl::Status MailboxWatch::failure() {
  absl::MutexLock lock(&mu_);
  return failure_;
}

void MailboxWatch::Fail(absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (failure_.ok() && !stopping_) failure_ = std::move(status);
}

void MailboxWatch::Watch() {
  auto reader = stub_->WatchMessages(&watch_ctx_, hv1::WatchMessagesRequest());
  hv1::WatchMessagesResponse response;
  while (reader->Read(&response)) {
    const auto now = Clock::now();
    absl::MutexLock lock(&mu_);
    for (const auto& m : response.messages()) {
      if (!absl::StartsWith(m.message_id(), tag_)) continue;
      last_arrival_ = now;
      unacknowledged_.push_back(m.sequence());
    }
  }
  grpc::Status finished = reader->Finish();
  Fail(absl::Status(FromGrpcStatus(finished).code(), absl::StrCat("the watch ended: ", finished.error_message())));
}

void MailboxWatch::Acknowledge() {
  for (;;) {
    hv1::AckMessagesRequest ack;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !unacknowledged_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      const size_t n = std::min<size_t>(unacknowledged_.size(), kMaxAcksPerCall);
      ack.mutable_sequences()->Add(unacknowledged_.begin(), unacknowledged_.begin() + static_cast<std::ptrdiff_t>(n));
      unacknowledged_.erase(unacknowledged_.begin(), unacknowledged_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    hv1::AckMessagesResponse acked;
    grpc::Status status = stub_->AckMessages(&ctx, ack, &acked);
    if (!status.ok()) return Fail(absl::Status(FromGrpcStatus(status).code(), status.error_message()));
    if (acked.deleted() != ack.sequences_size()) {
      return Fail(absl::InternalError(
          absl::StrCat("acknowledged ", ack.sequences_size(), " messages, the hub deleted ", acked.deleted())));
    }
    absl::MutexLock lock(&mu_);
    acknowledged_ += acked.deleted();
    last_acknowledged_ = Clock::now();
  }
}

absl::StatusOr<HubRoutingResult> RouteThroughHub(const HubRoutingOptions& options) {
  if (options.senders.empty() || options.clients < 1) return absl::InvalidArgumentError("no senders");
  if (!IsSealedSize(static_cast<size_t>(options.sealed_bytes))) {
    return absl::InvalidArgumentError(absl::StrCat(options.sealed_bytes, " B is not a sealed size"));
  }
  // The run's messages are told apart from anything else in the mailbox by the
  // first 8 hex digits of their ids.
  const std::string tag = HexEncode(RandomBytes(4));
  const std::string sealed = RandomBytes(static_cast<size_t>(options.sealed_bytes));  // opaque to the hub anyway
  std::vector<std::unique_ptr<hv1::MailboxService::Stub>> stubs;
  std::vector<std::string> centres;
  for (const auto& [centre, creds] : options.senders) centres.push_back(centre);
  for (int c = 0; c < options.clients; ++c) {
    const auto& creds = options.senders.at(centres[static_cast<size_t>(c) % centres.size()]);
    stubs.push_back(hv1::MailboxService::NewStub(Connect(options.hub_port, c + 1, creds)));
  }

  MailboxWatch recipient(Connect(options.hub_port, 1000, options.recipient_credentials), tag);
  std::atomic<int64_t> posted{0};
  LoadOptions load;
  load.clients = options.clients;
  load.warmup = options.warmup;
  load.measure = options.measure;
  const double cpu_before = options.hub_pid > 0 ? ProcCpuSeconds(options.hub_pid) : -1;
  const auto start = Clock::now();
  const LoadResult posts = RunClosedLoop(load, [&](int client, int64_t n) {
    hv1::BatchPostMessagesRequest request;
    auto* post = request.add_requests();
    post->set_recipient(options.recipient);
    post->set_message_id(absl::StrFormat("%s%08x%016x", tag, client, n));
    post->set_referral_id(absl::StrFormat("%08x%08x%016x", client, 0, n));
    post->set_sealed(sealed);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    hv1::BatchPostMessagesResponse receipts;
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(stubs[static_cast<size_t>(client)]->BatchPostMessages(&ctx, request, &receipts)));
    posted.fetch_add(1);
    return absl::OkStatus();
  });
  if (posts.errors > 0) return absl::InternalError(absl::StrCat("posting: ", posts.first_error));
  if (!recipient.AwaitAcknowledged(posted.load(), kDrainTimeout)) {
    absl::Status failure = recipient.failure();
    return failure.ok() ? absl::DeadlineExceededError(absl::StrCat(recipient.acknowledged(), " of ", posted.load(),
                                                                   " messages acknowledged after 30 s"))
                        : failure;
  }
  HubRoutingResult result;
  if (cpu_before >= 0) result.hub_cpu_seconds = ProcCpuSeconds(options.hub_pid) - cpu_before;
  result.post_qps = posts.qps;
  result.post_p50_ms = posts.p50_ms;
  result.post_p99_ms = posts.p99_ms;
  result.routed = recipient.acknowledged();
  result.seconds = std::chrono::duration<double>(recipient.last_acknowledged() - start).count();
  return result;
}

}  // namespace kentra::bench
