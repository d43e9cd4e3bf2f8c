#include "hub/mailbox.h"

#include <filesystem>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/status.h"
#include "common/time_util.h"

namespace kentra::hub {
namespace {

using v1::MailboxMessage;

enum Cf : int {
  kMessages = 0,  // "<recipient>/<sequence>" -> MailboxMessage
  kPosts,         // "<sender>/<message_id>" -> MailboxMessage without the sealed bytes (the receipt)
  kBoxes,         // "<recipient>" -> the sequence numbers reserved, as decimal: none above it was ever given out
  kAcknowledged,  // "<recipient>" -> the highest sequence number it acknowledged, as decimal
};

// How many sequence numbers a mailbox reserves at a time. A hub starting again
// skips what is left of its reservations, since it cannot know which of those
// numbers went out with messages it then lost.
constexpr int64_t kSequenceReserve = 1 << 16;

std::string MessageKey(absl::string_view recipient, int64_t sequence) {
  return absl::StrCat(recipient, "/", keys::PaddedSequence(static_cast<uint64_t>(sequence)));
}

std::string PostKey(absl::string_view sender, absl::string_view message_id) {
  return absl::StrCat(sender, "/", message_id);
}

v1::PostMessageResponse ReceiptOf(const MailboxMessage& m) {
  v1::PostMessageResponse receipt;
  receipt.set_sequence(m.sequence());
  *receipt.mutable_post_time() = m.post_time();
  return receipt;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Mailbox>> Mailbox::Open(const std::string& dir, const Clock* clock,
                                                       absl::Duration ttl) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot create the data directory ", dir, ": ", ec.message()));
  Store::Options options;
  // Each recipient's messages grow at the end of its run.
  options.insert_runs[kMessages] = [](absl::string_view key) -> std::optional<size_t> {
    const size_t slash = key.rfind('/');
    if (slash == absl::string_view::npos) return std::nullopt;
    return slash + 1;
  };
  KENTRA_ASSIGN_OR_RETURN(auto store, Store::Open(dir, {"messages", "posts", "boxes", "acknowledged"}, options));
  auto mailbox = std::unique_ptr<Mailbox>(new Mailbox(std::move(store), clock, ttl));
  KENTRA_RETURN_IF_ERROR(mailbox->Load());
  return mailbox;
}

absl::Status Mailbox::Load() {
  absl::MutexLock lock(&mu_);
  auto boxes = store_->NewIterator(kBoxes);
  for (boxes->Seek(""); boxes->Valid(); boxes->Next()) {
    int64_t last = 0;
    if (!absl::SimpleAtoi(boxes->value(), &last)) return absl::DataLossError("mailbox: a corrupt sequence number");
    Box& box = boxes_[std::string(boxes->key())];
    box.last_sequence = last;
    box.reserved = last;
  }
  KENTRA_RETURN_IF_ERROR(boxes->status());
  auto acknowledged = store_->NewIterator(kAcknowledged);
  for (acknowledged->Seek(""); acknowledged->Valid(); acknowledged->Next()) {
    int64_t through = 0;
    if (!absl::SimpleAtoi(acknowledged->value(), &through)) {
      return absl::DataLossError("mailbox: a corrupt acknowledged sequence number");
    }
    boxes_[std::string(acknowledged->key())].acknowledged_through = through;
  }
  KENTRA_RETURN_IF_ERROR(acknowledged->status());
  auto it = store_->NewIterator(kMessages);
  for (it->Seek(""); it->Valid(); it->Next()) {
    MailboxMessage m;
    if (!m.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("mailbox: a corrupt message at ", it->key()));
    }
    Box& box = boxes_[m.recipient()];
    // (A mailbox written before reservations recorded only the highest number.)
    box.last_sequence = std::max(box.last_sequence, m.sequence());
    ++box.pending;
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  for (auto& [recipient, box] : boxes_) box.visible_through = box.last_sequence;
  return absl::OkStatus();
}

absl::StatusOr<v1::PostMessageResponse> Mailbox::Post(MailboxMessage message) {
  std::vector<MailboxMessage> one;
  one.push_back(std::move(message));
  KENTRA_ASSIGN_OR_RETURN(auto receipts, PostAll(std::move(one)));
  return receipts.front();
}

absl::StatusOr<std::vector<v1::PostMessageResponse>> Mailbox::PostAll(std::vector<MailboxMessage> messages) {
  std::vector<std::string> post_keys;
  for (const MailboxMessage& m : messages) post_keys.push_back(PostKey(m.sender(), m.message_id()));
  auto guard = post_locks_.Lock(post_keys);
  std::vector<v1::PostMessageResponse> receipts(messages.size());
  // Each post already taken (before, or earlier in this call) gets that first receipt.
  std::vector<size_t> fresh;
  absl::flat_hash_map<std::string, size_t> first_in_call;  // post key -> index of its first post here
  for (size_t i = 0; i < messages.size(); ++i) {
    const MailboxMessage& m = messages[i];
    auto same_post = [&](const MailboxMessage& first) -> absl::Status {
      if (first.recipient() == m.recipient() && first.referral_id() == m.referral_id()) return absl::OkStatus();
      return absl::InvalidArgumentError(
          absl::StrCat("message_id: ", m.message_id(), " was posted before for another recipient or referral"));
    };
    if (auto earlier = first_in_call.find(post_keys[i]); earlier != first_in_call.end()) {
      KENTRA_RETURN_IF_ERROR(same_post(messages[earlier->second]));
      continue;
    }
    KENTRA_ASSIGN_OR_RETURN(auto prior, store_->Get(kPosts, post_keys[i]));
    if (prior) {
      MailboxMessage first;
      if (!first.ParseFromString(*prior)) return absl::DataLossError("mailbox: a corrupt post receipt");
      KENTRA_RETURN_IF_ERROR(same_post(first));
      receipts[i] = ReceiptOf(first);
      continue;
    }
    first_in_call[post_keys[i]] = i;
    fresh.push_back(i);
  }
  if (fresh.empty()) return receipts;  // every one a repeat of an earlier call
  const absl::Time now = clock_->Now();
  absl::flat_hash_map<std::string, int64_t> highest;  // per mailbox, in this call
  bool beyond_reserved = false;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i : fresh) {
      Box& box = boxes_[messages[i].recipient()];
      messages[i].set_sequence(++box.last_sequence);
      box.in_flight.insert(messages[i].sequence());
      highest[messages[i].recipient()] = messages[i].sequence();
      beyond_reserved |= box.last_sequence > box.reserved;
    }
  }
  absl::Status written = beyond_reserved ? Reserve(highest) : absl::OkStatus();
  WriteBatch batch;
  for (size_t i : fresh) {
    MailboxMessage& m = messages[i];
    *m.mutable_post_time() = ToTimestamp(now);
    *m.mutable_expire_time() = ToTimestamp(now + ttl_);
    batch.Put(kMessages, MessageKey(m.recipient(), m.sequence()), m.SerializeAsString());
    MailboxMessage receipt = m;
    receipt.clear_sealed();
    batch.Put(kPosts, post_keys[i], receipt.SerializeAsString());
    receipts[i] = ReceiptOf(m);
  }
  // Written outside mu_ so that posts share syncs; a message becomes visible only
  // once every lower sequence number of its mailbox is written (or abandoned).
  // It is visible, and so on its way to a watching recipient, before it is
  // synced: the sender has no receipt until it is, and posts it again if the
  // hub loses it, which the recipient, storing each message once, takes in its
  // stride. Its sequence number was reserved durably before, so a hub that
  // loses it never gives that number to another message, which an
  // acknowledgement meant for the lost one could delete.
  if (written.ok()) written = store_->Write(batch, Store::Durability::kProcessCrashed);
  {
    absl::MutexLock lock(&mu_);
    for (size_t i : fresh) {
      Box& box = boxes_[messages[i].recipient()];
      box.in_flight.erase(messages[i].sequence());
      box.visible_through = box.in_flight.empty() ? box.last_sequence : *box.in_flight.begin() - 1;
      if (written.ok()) ++box.pending;
      box.changed.SignalAll();
    }
  }
  KENTRA_RETURN_IF_ERROR(written);
  KENTRA_RETURN_IF_ERROR(store_->SyncWritten());
  for (size_t i = 0; i < messages.size(); ++i) {
    if (auto first = first_in_call.find(post_keys[i]); first != first_in_call.end()) receipts[i] = receipts[first->second];
  }
  return receipts;
}

absl::Status Mailbox::Reserve(const absl::flat_hash_map<std::string, int64_t>& highest) {
  absl::MutexLock reserving(&reserve_mu_);
  WriteBatch batch;
  std::vector<std::pair<std::string, int64_t>> raised;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [recipient, sequence] : highest) {
      if (sequence <= boxes_[recipient].reserved) continue;  // another post reserved them meanwhile
      raised.emplace_back(recipient, sequence + kSequenceReserve);
      batch.Put(kBoxes, recipient, absl::StrCat(raised.back().second));
    }
  }
  if (raised.empty()) return absl::OkStatus();
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  absl::MutexLock lock(&mu_);
  for (const auto& [recipient, through] : raised) boxes_[recipient].reserved = through;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MailboxMessage>> Mailbox::Fetch(absl::string_view recipient, int64_t after, int limit,
                                                           bool* more) const {
  int64_t visible;
  {
    absl::MutexLock lock(&mu_);
    auto box = boxes_.find(recipient);
    visible = box == boxes_.end() ? 0 : box->second.visible_through;
  }
  std::vector<MailboxMessage> messages;
  *more = false;
  // Bounded to this mailbox: past its end lie the other mailboxes' acknowledged
  // (deleted) messages, which an unbounded cursor would step through.
  auto it = store_->NewPrefixIterator(kMessages, absl::StrCat(recipient, "/"));
  for (it->Seek(MessageKey(recipient, std::max<int64_t>(after, 0) + 1)); it->Valid(); it->Next()) {
    MailboxMessage m;
    if (!m.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("mailbox: a corrupt message at ", it->key()));
    }
    if (m.sequence() > visible) break;
    if (static_cast<int>(messages.size()) == limit) {
      *more = true;
      break;
    }
    messages.push_back(std::move(m));
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  return messages;
}

bool Mailbox::AwaitAfter(absl::string_view recipient, int64_t after, absl::Duration timeout, uint64_t watch) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  Box& box = boxes_[recipient];
  auto has_new = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return box.visible_through > after && box.pending > 0; };
  while (!closed_ && !has_new() && (watch == 0 || box.newest_watch == watch)) {
    if (box.changed.WaitWithDeadline(&mu_, deadline)) break;  // timed out
  }
  return !closed_ && has_new();
}

absl::StatusOr<int> Mailbox::Ack(absl::string_view recipient, const std::vector<int64_t>& sequences) {
  return Remove(recipient, sequences, /*acknowledged_by_recipient=*/true);
}

absl::StatusOr<int> Mailbox::Remove(absl::string_view recipient, const std::vector<int64_t>& sequences,
                                    bool acknowledged_by_recipient) {
  auto guard = box_locks_.Lock({recipient});  // (acknowledged_through changes only under it)
  int64_t visible, acknowledged;
  {
    absl::MutexLock lock(&mu_);
    auto box = boxes_.find(recipient);
    if (box == boxes_.end()) return 0;
    visible = box->second.visible_through;
    acknowledged = box->second.acknowledged_through;
  }
  WriteBatch batch;
  int deleted = 0;
  int64_t highest = 0;
  std::set<int64_t> seen;
  for (int64_t sequence : sequences) {
    if (sequence <= 0 || sequence > visible || !seen.insert(sequence).second) continue;
    const std::string key = MessageKey(recipient, sequence);
    KENTRA_ASSIGN_OR_RETURN(auto held, store_->Get(kMessages, key));
    if (!held) continue;
    batch.Delete(kMessages, key);
    ++deleted;
    highest = std::max(highest, sequence);
  }
  if (deleted == 0) return 0;
  const bool raised = acknowledged_by_recipient && highest > acknowledged;
  if (raised) batch.Put(kAcknowledged, recipient, absl::StrCat(highest));
  // Not fsynced: if a machine crash loses the deletion, the messages are still
  // held and are delivered again, and the recipient, which stores each message
  // once, acknowledges them again. (A later synced write, as every post is,
  // makes this one durable too: the write-ahead log is synced in order.)
  KENTRA_RETURN_IF_ERROR(store_->Write(batch, Store::Durability::kProcessCrashed));
  absl::MutexLock lock(&mu_);
  Box& box = boxes_[recipient];
  box.pending -= deleted;
  if (raised) box.acknowledged_through = highest;
  return deleted;
}

absl::StatusOr<int> Mailbox::ForgetLostDeliveries(absl::string_view recipient, int64_t stored_through) {
  auto guard = box_locks_.Lock({recipient});  // no acknowledgement meanwhile
  int64_t acknowledged;
  {
    absl::MutexLock lock(&mu_);
    auto box = boxes_.find(recipient);
    if (box == boxes_.end()) return 0;
    acknowledged = box->second.acknowledged_through;
  }
  if (stored_through >= acknowledged) return 0;
  // The posts of what was acknowledged after `stored_through`: delivered, and
  // lost since by the recipient. (What is still held is delivered again anyway.)
  WriteBatch batch;
  std::vector<MailboxMessage> notices;  // the hub's own, lost with the rest
  auto posts = store_->NewIterator(kPosts);
  for (posts->Seek(""); posts->Valid(); posts->Next()) {
    MailboxMessage receipt;
    if (!receipt.ParseFromArray(posts->value().data(), static_cast<int>(posts->value().size()))) {
      return absl::DataLossError(absl::StrCat("mailbox: a corrupt post receipt at ", posts->key()));
    }
    if (receipt.recipient() != recipient || receipt.sequence() <= stored_through ||
        receipt.sequence() > acknowledged) {
      continue;
    }
    KENTRA_ASSIGN_OR_RETURN(auto held, store_->Get(kMessages, MessageKey(recipient, receipt.sequence())));
    if (held) continue;
    batch.Delete(kPosts, posts->key());
    // A notice's receipt is the whole notice: it carries nothing sealed.
    if (receipt.sender() == kHubSender) notices.push_back(std::move(receipt));
  }
  KENTRA_RETURN_IF_ERROR(posts->status());
  const int forgotten = batch.Count();
  batch.Put(kAcknowledged, recipient, absl::StrCat(stored_through));
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  {
    absl::MutexLock lock(&mu_);
    boxes_[recipient].acknowledged_through = stored_through;
  }
  if (!notices.empty()) {
    // No node posts these again: the hub does, under the same ids (with a new
    // sequence and post time), which a node that does hold one already refuses
    // as applied before.
    KENTRA_RETURN_IF_ERROR(PostAll(std::move(notices)).status());
  }
  return forgotten;
}

absl::StatusOr<std::vector<std::string>> Mailbox::UnknownPosts(absl::string_view sender,
                                                               const std::vector<std::string>& message_ids) const {
  std::vector<std::string> unknown;
  for (const std::string& id : message_ids) {
    KENTRA_ASSIGN_OR_RETURN(auto held, store_->Get(kPosts, PostKey(sender, id)));
    if (!held) unknown.push_back(id);
  }
  return unknown;
}

absl::StatusOr<int> Mailbox::ExpireOld() {
  const absl::Time now = clock_->Now();
  std::vector<MailboxMessage> expired;
  auto it = store_->NewIterator(kMessages);
  for (it->Seek(""); it->Valid(); it->Next()) {
    MailboxMessage m;
    if (!m.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("mailbox: a corrupt message at ", it->key()));
    }
    if (FromTimestamp(m.expire_time()) <= now) expired.push_back(std::move(m));
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  int count = 0;
  for (const MailboxMessage& m : expired) {
    // Dropped, not acknowledged: the recipient never stored it.
    KENTRA_ASSIGN_OR_RETURN(int dropped, Remove(m.recipient(), {m.sequence()}, /*acknowledged_by_recipient=*/false));
    if (dropped == 0 || m.sender() == kHubSender) continue;  // acknowledged meanwhile, or a notice itself
    ++count;
    MailboxMessage notice;
    notice.set_sender(std::string(kHubSender));
    notice.set_recipient(m.sender());
    notice.set_message_id(absl::BytesToHexString(RandomBytes(16)));
    notice.set_referral_id(m.referral_id());
    auto* undelivered = notice.mutable_undelivered();
    undelivered->set_recipient(m.recipient());
    undelivered->set_message_id(m.message_id());
    undelivered->set_referral_id(m.referral_id());
    *undelivered->mutable_post_time() = m.post_time();
    KENTRA_RETURN_IF_ERROR(Post(std::move(notice)).status());
  }
  // Forget receipts once a repeat of their post could no longer find the message.
  std::vector<std::string> old_posts;
  auto posts = store_->NewIterator(kPosts);
  for (posts->Seek(""); posts->Valid(); posts->Next()) {
    MailboxMessage receipt;
    if (receipt.ParseFromArray(posts->value().data(), static_cast<int>(posts->value().size())) &&
        FromTimestamp(receipt.post_time()) + ttl_ <= now) {
      old_posts.emplace_back(posts->key());
    }
  }
  KENTRA_RETURN_IF_ERROR(posts->status());
  if (!old_posts.empty()) {
    WriteBatch batch;
    for (const auto& key : old_posts) batch.Delete(kPosts, key);
    KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  }
  return count;
}

void Mailbox::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  for (auto& [recipient, box] : boxes_) box.changed.SignalAll();
}

int Mailbox::Pending(absl::string_view recipient) const {
  absl::MutexLock lock(&mu_);
  auto box = boxes_.find(recipient);
  return box == boxes_.end() ? 0 : box->second.pending;
}

absl::StatusOr<Mailbox::Status> Mailbox::StatusOf(absl::string_view recipient) const {
  Status status;
  {
    absl::MutexLock lock(&mu_);
    auto box = boxes_.find(recipient);
    if (box == boxes_.end()) return status;
    status.waiting = box->second.pending;
    status.watched = box->second.watches > 0;
  }
  if (status.waiting == 0) return status;
  // The lowest sequence held is the oldest post.
  auto it = store_->NewPrefixIterator(kMessages, absl::StrCat(recipient, "/"));
  it->Seek(MessageKey(recipient, 1));
  if (it->Valid()) {
    MailboxMessage m;
    if (!m.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("mailbox: a corrupt message at ", it->key()));
    }
    status.oldest_post = FromTimestamp(m.post_time());
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  return status;
}

uint64_t Mailbox::WatchOpened(absl::string_view recipient) {
  absl::MutexLock lock(&mu_);
  Box& box = boxes_[recipient];
  ++box.watches;
  box.changed.SignalAll();  // a watch it replaces ends now
  return ++box.newest_watch;
}

bool Mailbox::WatchReplaced(absl::string_view recipient, uint64_t watch) const {
  absl::MutexLock lock(&mu_);
  auto box = boxes_.find(recipient);
  return box != boxes_.end() && box->second.newest_watch != watch;
}

void Mailbox::WatchClosed(absl::string_view recipient) {
  absl::MutexLock lock(&mu_);
  --boxes_[recipient].watches;
}

}  // namespace kentra::hub
