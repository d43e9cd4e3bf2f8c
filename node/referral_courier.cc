#include "node/referral_courier.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "common/text_fold.h"
#include "common/time_util.h"

namespace kentra::node {
namespace {

namespace hv1 = kentra::hub::v1;
constexpr auto kCallTimeout = std::chrono::seconds(10);
constexpr absl::Duration kFirstBackoff = absl::Seconds(1);
constexpr absl::Duration kMaxBackoff = absl::Minutes(5);
constexpr absl::Duration kDeadlineSweep = absl::Minutes(1);
constexpr absl::Duration kDirectoryRefresh = absl::Hours(1);
constexpr int kPostBatch = 100;                // the hub's limit per BatchPostMessages
constexpr int kCheckPostsBatch = 1000;         // the hub's limit per CheckPosts
constexpr absl::Duration kCheckPostsEvery = absl::Hours(1);
constexpr size_t kPostBatchBytes = 1 << 20;  // of sealed messages per BatchPostMessages (at least one)

void WithDeadline(grpc::ClientContext& ctx) { ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout); }

// Which message of a batch the hub refused for what it is ("requests[3].recipient:
// ..."), if that is why the call failed.
std::optional<size_t> RefusedPost(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) return std::nullopt;
  const std::string text = status.error_message();  // (a copy: gRPC returns it by value)
  absl::string_view message = text;
  if (!absl::ConsumePrefix(&message, "requests[")) return std::nullopt;
  size_t index = 0;
  if (!absl::SimpleAtoi(message.substr(0, message.find(']')), &index)) return std::nullopt;
  return index;
}

// Whether the hub refused a post for what its messages hold (rather than for
// who posts, or for being busy or out of reach), so that posting them again as
// they are would be refused again.
bool RefusedForContent(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::OUT_OF_RANGE:
      return true;
    default:
      return false;
  }
}

// What a queued referral says while its node's posts to the hub fail.
std::string HubProblem(absl::Time since, const absl::Status& failure) {
  constexpr size_t kMaxCause = 200;  // the whole error goes to the log
  const absl::string_view shown = Utf8Prefix(failure.message(), kMaxCause);
  std::string cause(absl::StatusCodeToString(failure.code()));
  absl::StrAppend(&cause, ": ", shown, shown.size() < failure.message().size() ? "..." : "");
  return absl::StrCat("this node's messages have not reached the hub since ", FormatLocalMinute(since), " (", cause,
                      "); it keeps trying, at least every ", absl::FormatDuration(kMaxBackoff));
}

}  // namespace

size_t PostBatchLength(const std::vector<size_t>& sealed_sizes, size_t max_count, size_t max_bytes) {
  size_t bytes = 0, taken = 0;
  while (taken < sealed_sizes.size() && taken < max_count &&
         (taken == 0 || bytes + sealed_sizes[taken] <= max_bytes)) {
    bytes += sealed_sizes[taken++];
  }
  return taken;
}

ReferralCourier::ReferralCourier(CentreReferrals* referrals, std::shared_ptr<grpc::Channel> hub)
    : referrals_(referrals), hub_(hv1::MailboxService::NewStub(hub)), directory_hub_(hv1::DirectoryService::NewStub(hub)) {
  referrals_->SetOutboxListener([this] { Wake(); });
}

ReferralCourier::~ReferralCourier() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (watch_ctx_ != nullptr) watch_ctx_->TryCancel();
  }
  if (poster_.joinable()) poster_.join();
  if (watcher_.joinable()) watcher_.join();
  if (acker_.joinable()) acker_.join();
  referrals_->SetOutboxListener(nullptr);
}

void ReferralCourier::Start(bool watch) {
  poster_ = std::thread([this] { PostLoop(); });
  if (watch) {
    watcher_ = std::thread([this] { WatchLoop(); });
    acker_ = std::thread([this] { AckLoop(); });
  }
}

void ReferralCourier::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

bool ReferralCourier::SleepFor(absl::Duration d, bool wake_early) {
  absl::MutexLock lock(&mu_);
  auto wake = [this, wake_early]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || (wake_early && woken_); };
  mu_.AwaitWithTimeout(absl::Condition(&wake), d);
  if (wake_early) woken_ = false;
  return stopping_;
}

absl::StatusOr<int> ReferralCourier::PostOutbox() {
  absl::MutexLock lock(&post_mu_);
  int posted = 0;
  // After a refusal that names no message of its batch, the rest of this round
  // goes one message a call, so that the message refused is found (and waits,
  // as below) instead of holding up every other behind it.
  size_t batch_limit = kPostBatch;
  for (;;) {
    // Oldest first, in one call each: the hub stores them in this order.
    KENTRA_ASSIGN_OR_RETURN(auto items, referrals_->Outbox(static_cast<int>(batch_limit)));
    if (items.empty()) return posted;
    // Well under the hub's request limit (4 MiB by default), whatever the sizes.
    std::vector<size_t> sizes;
    for (const auto& [key, item] : items) sizes.push_back(item.sealed().size());
    items.resize(PostBatchLength(sizes, batch_limit, kPostBatchBytes));
    hv1::BatchPostMessagesRequest request;
    for (const auto& [key, item] : items) {
      auto* post = request.add_requests();
      post->set_recipient(item.recipient());
      post->set_message_id(item.message_id());
      post->set_referral_id(item.referral_id());
      post->set_sealed(item.sealed());
    }
    hv1::BatchPostMessagesResponse receipts;
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    grpc::Status status = hub_->BatchPostMessages(&ctx, request, &receipts);
    std::optional<size_t> bad = RefusedPost(status);
    if (!bad && RefusedForContent(status)) {
      if (items.size() > 1) {
        std::fprintf(stderr, "kentra-node: the hub refused %zu referral messages without saying which (%s); "
                     "posting them one at a time\n", items.size(), status.error_message().c_str());
        batch_limit = 1;
        continue;
      }
      bad = 0;  // alone in its call, it is the one refused
    }
    if (bad && *bad < items.size()) {
      // One message is wrong for the hub: it (and every other of this batch
      // for its recipient, if that is the cause) waits, the rest goes.
      const std::string message = status.error_message();
      std::fprintf(stderr, "kentra-node: the hub refused a referral message: %s\n", message.c_str());
      std::vector<std::pair<std::string, kentra::storage::v1::OutboxItem>> refused;
      const bool for_recipient = absl::StrContains(message, "].recipient:");
      for (const auto& entry : items) {
        if (&entry == &items[*bad] || (for_recipient && entry.second.recipient() == items[*bad].second.recipient())) {
          refused.push_back(entry);
        }
      }
      absl::string_view why = message;
      if (absl::StartsWith(why, "requests[") && why.find("].") != absl::string_view::npos) {
        why.remove_prefix(why.find("].") + 2);  // "requests[3]." means nothing to staff
      }
      KENTRA_RETURN_IF_ERROR(referrals_->RefusedByHub(refused, why));
      continue;
    }
    if (!status.ok()) {
      return absl::Status(FromGrpcStatus(status).code(),
                          absl::StrCat("posting ", items.size(), " referral messages (the first to ",
                                       items.front().second.recipient(), "): ", status.error_message()));
    }
    // Kept as posted, with the hub's time of the post (its receipt's).
    for (int i = 0; i < receipts.receipts_size() && i < static_cast<int>(items.size()); ++i) {
      items[static_cast<size_t>(i)].second.set_post_time_micros(
          absl::ToUnixMicros(FromTimestamp(receipts.receipts(i).post_time())));
    }
    KENTRA_RETURN_IF_ERROR(referrals_->MarkPosted(items));
    posted += static_cast<int>(items.size());
  }
}

absl::StatusOr<int> ReferralCourier::RepostLost() {
  absl::MutexLock lock(&post_mu_);
  // What the hub would have forgotten anyway is not asked about, and is
  // forgotten here too (an hour early, clear of the hub forgetting it as it is asked).
  const absl::Time forget_before = referrals_->clock()->Now() - post_ttl_ + absl::Hours(1);
  std::vector<std::string> lost, old;
  std::string after;
  for (;;) {
    KENTRA_ASSIGN_OR_RETURN(auto kept, referrals_->PostedItems(after, kCheckPostsBatch));
    if (kept.empty()) break;
    after = kept.back().first;
    hv1::CheckPostsRequest request;
    absl::flat_hash_map<std::string, std::string> key_of;  // message id -> posted key
    for (const auto& [key, item] : kept) {
      if (absl::FromUnixMicros(item.post_time_micros()) < forget_before) {
        old.push_back(key);
        continue;
      }
      request.add_message_ids(item.message_id());
      key_of[item.message_id()] = key;
    }
    if (request.message_ids().empty()) continue;
    hv1::CheckPostsResponse response;
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    grpc::Status status = hub_->CheckPosts(&ctx, request, &response);
    if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      // A hub older than this node cannot say: the mail must still go.
      std::fprintf(stderr, "kentra-node: the hub cannot say which posted referral messages it holds (%s); "
                   "what a restore of it lost is not posted again\n", status.error_message().c_str());
      return 0;
    }
    if (!status.ok()) {
      return absl::Status(FromGrpcStatus(status).code(),
                          absl::StrCat("asking the hub which posted referral messages it holds: ", status.error_message()));
    }
    if (response.post_ttl().seconds() > 0) post_ttl_ = absl::Seconds(response.post_ttl().seconds());
    for (const std::string& id : response.unknown_message_ids()) {
      if (auto key = key_of.find(id); key != key_of.end()) lost.push_back(key->second);
    }
    if (static_cast<int>(kept.size()) < kCheckPostsBatch) break;
  }
  KENTRA_RETURN_IF_ERROR(referrals_->ForgetPosted(old));
  KENTRA_RETURN_IF_ERROR(referrals_->RequeuePosted(lost));
  return static_cast<int>(lost.size());
}

void ReferralCourier::ReconcileMailbox() {
  const std::optional<int64_t> stored = referrals_->MailboxStoredThrough();
  if (!stored) return;  // nothing recorded yet: nothing to compare
  hv1::ReconcileMailboxRequest request;
  request.set_stored_through(*stored);
  hv1::ReconcileMailboxResponse response;
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  grpc::Status status = hub_->ReconcileMailbox(&ctx, request, &response);
  if (status.ok() && response.lost_messages() > 0) {
    std::fprintf(stderr, "kentra-node: this node has lost %d referral messages it had stored and acknowledged "
                 "(restored from a backup?); the hub has their senders post them again\n", response.lost_messages());
  } else if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE &&
             status.error_code() != grpc::StatusCode::UNIMPLEMENTED) {
    // (Unreachable, the watch says so; a hub older than this node cannot tell.)
    std::fprintf(stderr, "kentra-node: telling the hub how far this node has stored its mailbox: %s\n",
                 status.error_message().c_str());
  }
}

void ReferralCourier::RepostLostSoon() {
  absl::MutexLock lock(&mu_);
  check_posts_ = true;
  woken_ = true;
}

absl::StatusOr<int> ReferralCourier::ApplyAndAck(const google::protobuf::RepeatedPtrField<hv1::MailboxMessage>& messages) {
  // Only what is stored durably is acknowledged; on an error nothing of this page is.
  KENTRA_RETURN_IF_ERROR(referrals_->ApplyAll(messages));
  hv1::AckMessagesRequest ack;
  for (const auto& m : messages) ack.add_sequences(m.sequence());
  if (ack.sequences_size() > 0) {
    hv1::AckMessagesResponse acked;
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    // A lost acknowledgement only means the message comes again and is recognised.
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(hub_->AckMessages(&ctx, ack, &acked)));
  }
  return ack.sequences_size();
}

absl::StatusOr<bool> ReferralCourier::RefreshDirectory() {
  ReferralDirectory* directory = referrals_->directory();
  hv1::GetDirectoryRequest request;
  request.set_known_version(directory->version());
  kentra::referral::v1::SignedDirectory published;
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  grpc::Status status = directory_hub_->GetDirectory(&ctx, request, &published);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return false;  // none published yet
  if (!status.ok()) {
    return absl::Status(FromGrpcStatus(status).code(),
                        absl::StrCat("fetching the federation directory: ", status.error_message()));
  }
  if (published.directory().empty()) return false;  // ours is current
  absl::StatusOr<bool> replaced = directory->Offer(published);
  if (!replaced.ok()) {
    return absl::Status(replaced.status().code(),
                        absl::StrCat("the hub's federation directory was refused: ", replaced.status().message()));
  }
  return *replaced;
}

absl::StatusOr<ReferralCourier::Round> ReferralCourier::Exchange() {
  Round round;
  // A directory the hub cannot serve must not hold up the mail.
  if (auto refreshed = RefreshDirectory(); !refreshed.ok()) {
    std::fprintf(stderr, "kentra-node: %s\n", refreshed.status().ToString().c_str());
  }
  round.directory_version = referrals_->directory()->version();
  ReconcileMailbox();
  KENTRA_ASSIGN_OR_RETURN(round.reposted, RepostLost());
  KENTRA_ASSIGN_OR_RETURN(round.posted, PostOutbox());
  for (;;) {
    hv1::FetchMessagesRequest request;
    request.set_page_size(100);
    hv1::FetchMessagesResponse response;
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(hub_->FetchMessages(&ctx, request, &response)));
    KENTRA_ASSIGN_OR_RETURN(int received, ApplyAndAck(response.messages()));
    round.received += received;
    if (!response.more() || response.messages().empty()) break;
  }
  // Applying may have queued receipts for the senders.
  KENTRA_ASSIGN_OR_RETURN(int receipts, PostOutbox());
  round.posted += receipts;
  return round;
}

void ReferralCourier::PostLoop() {
  absl::Duration backoff = kFirstBackoff;
  std::optional<absl::Time> failing_since;  // of the posts failing now
  absl::Time next_sweep = absl::Now();
  absl::Time next_directory = absl::Now();
  absl::Time next_check = absl::Now() + kCheckPostsEvery;  // (at start-up it is due anyway)
  for (;;) {
    if (absl::Now() >= next_directory) {
      auto refreshed = RefreshDirectory();
      if (!refreshed.ok()) std::fprintf(stderr, "kentra-node: %s\n", refreshed.status().ToString().c_str());
      // Until the node holds one, ask again at every sweep.
      next_directory = absl::Now() + (refreshed.ok() && referrals_->directory()->version() > 0 ? kDirectoryRefresh
                                                                                                  : kDeadlineSweep);
    }
    if (absl::Now() >= next_sweep) {
      auto expired = referrals_->ExpireDue();
      if (!expired.ok()) std::fprintf(stderr, "kentra-node: referral deadlines: %s\n", expired.status().ToString().c_str());
      next_sweep = absl::Now() + kDeadlineSweep;
    }
    bool check_posts;
    {
      absl::MutexLock lock(&mu_);
      if (absl::Now() >= next_check) {
        // Also every hour: a centre restored from a backup makes the hub forget
        // posts of this one's that it had received (ReconcileMailbox).
        check_posts_ = true;
        next_check = absl::Now() + kCheckPostsEvery;
      }
      check_posts = check_posts_;
    }
    // After a watch that ended (the hub may have stopped, and come back
    // restored from a backup) and at start-up: first what the hub lost.
    absl::StatusOr<int> posted = check_posts ? RepostLost() : absl::StatusOr<int>(0);
    if (posted.ok() && check_posts) {
      absl::MutexLock lock(&mu_);
      check_posts_ = false;
    }
    if (posted.ok()) posted = PostOutbox();
    absl::Duration wait = next_sweep - absl::Now();
    if (!posted.ok()) {
      std::fprintf(stderr, "kentra-node: %s; retrying in %s\n", posted.status().ToString().c_str(),
                   absl::FormatDuration(backoff).c_str());
      if (!failing_since) failing_since = absl::Now();
      referrals_->SetHubProblem(HubProblem(*failing_since, posted.status()));
      wait = std::min(wait, backoff);
      backoff = std::min(backoff * 2, kMaxBackoff);
      // A failed round waits out its backoff even if something new is queued.
      if (SleepFor(wait, /*wake_early=*/false)) return;
      continue;
    }
    if (failing_since) {
      std::fprintf(stderr, "kentra-node: the referral outbox goes to the hub again (it had failed since %s)\n",
                   FormatLocalMinute(*failing_since).c_str());
      referrals_->SetHubProblem("");
      failing_since.reset();
    }
    backoff = kFirstBackoff;
    if (SleepFor(wait)) return;
  }
}

void ReferralCourier::WatchLoop() {
  absl::Duration backoff = kFirstBackoff;
  for (;;) {
    grpc::ClientContext ctx;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      watch_ctx_ = &ctx;
    }
    ReconcileMailbox();
    hv1::WatchMessagesRequest request;  // from the start: whatever is still there was not acknowledged
    auto reader = hub_->WatchMessages(&ctx, request);
    hv1::WatchMessagesResponse response;
    absl::Status failed;
    while (reader->Read(&response)) {
      backoff = kFirstBackoff;
      absl::Status applied = referrals_->ApplyAll(response.messages());
      if (!applied.ok()) {
        failed = applied;
        ctx.TryCancel();
        break;
      }
      QueueAcks(response.messages());  // only after our own write is durable
    }
    grpc::Status finished = reader->Finish();
    {
      absl::MutexLock lock(&mu_);
      watch_ctx_ = nullptr;
      if (stopping_) return;
    }
    if (failed.ok()) failed = FromGrpcStatus(finished);
    std::fprintf(stderr, "kentra-node: referral watch ended (%s); again in %s\n", failed.ToString().c_str(),
                 absl::FormatDuration(backoff).c_str());
    RepostLostSoon();
    if (SleepFor(backoff, /*wake_early=*/false)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

void ReferralCourier::QueueAcks(const google::protobuf::RepeatedPtrField<hv1::MailboxMessage>& stored) {
  absl::MutexLock lock(&mu_);
  for (const auto& m : stored) acks_.push_back(m.sequence());
}

void ReferralCourier::AckLoop() {
  for (;;) {
    hv1::AckMessagesRequest ack;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !acks_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;  // what was not acknowledged comes again and is recognised
      // A message delivered twice (a watch opened again) is acknowledged once:
      // the hub refuses a sequence named twice in one call.
      absl::flat_hash_set<int64_t> named;
      size_t n = 0;
      for (; n < acks_.size() && ack.sequences_size() < 500; ++n) {  // the hub's limit per call
        if (named.insert(acks_[n]).second) ack.add_sequences(acks_[n]);
      }
      acks_.erase(acks_.begin(), acks_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    hv1::AckMessagesResponse acked;
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    grpc::Status status = hub_->AckMessages(&ctx, ack, &acked);
    if (!status.ok()) {
      // The hub keeps them and delivers them again; applying them again changes nothing.
      std::fprintf(stderr, "kentra-node: acknowledging %d referral messages: %s\n", ack.sequences_size(),
                   status.error_message().c_str());
      if (SleepFor(kFirstBackoff, /*wake_early=*/false)) return;
    }
  }
}

}  // namespace kentra::node
