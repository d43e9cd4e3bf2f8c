#include "hub/mailbox_service.h"

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/proto_util.h"
#include "common/sealing.h"
#include "common/status.h"
#include "common/text_fold.h"

namespace kentra::hub {
namespace {

constexpr char kService[] = "MailboxService";

bool IsOpaqueId(absl::string_view id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
  });
}

}  // namespace

absl::Status MailboxServiceImpl::ValidatePost(const v1::PostMessageRequest& req, absl::string_view sender,
                                              absl::string_view field_prefix) const {
  auto invalid = [&](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field_prefix, field, ": ", why));
  };
  if (!IsOpaqueId(req.message_id())) return invalid("message_id", "must be 32 lowercase hex digits");
  if (!IsOpaqueId(req.referral_id())) return invalid("referral_id", "must be 32 lowercase hex digits");
  if (registry_->Centre(req.recipient()) == nullptr) return invalid("recipient", "not a centre of this federation");
  if (req.recipient() == sender) return invalid("recipient", "is the sender");
  if (!IsSealedSize(req.sealed().size())) return invalid("sealed", "its size is not one of the sealed bucket sizes");
  return absl::OkStatus();
}

v1::MailboxMessage MailboxServiceImpl::MessageOf(const v1::PostMessageRequest& req, const std::string& sender) {
  v1::MailboxMessage message;
  message.set_sender(sender);
  message.set_recipient(req.recipient());
  message.set_message_id(req.message_id());
  message.set_referral_id(req.referral_id());
  message.set_sealed(req.sealed());
  return message;
}

HubAuditLog::Line MailboxServiceImpl::PostLine(const v1::PostMessageRequest& req,
                                               const absl::StatusOr<v1::PostMessageResponse>& receipt) {
  return HubAuditLog::Line{
      absl::StrCat("to ", Utf8Prefix(req.recipient(), 64), ", message ", Utf8Prefix(req.message_id(), 32),
                   ", referral ", Utf8Prefix(req.referral_id(), 32), ", ", req.sealed().size(), " B",
                   receipt.ok() ? absl::StrCat(", sequence ", receipt->sequence()) : ""),
      receipt.status()};
}

grpc::Status MailboxServiceImpl::PostMessage(grpc::ServerContext* ctx, const v1::PostMessageRequest* req,
                                             v1::PostMessageResponse* resp) {
  auto sender = access_->AdmitCentre(ctx, kService, "PostMessage", *registry_);
  if (!sender.ok()) return ToGrpcStatus(sender.status());
  // (A StatusOr must never be made from an OK status: Debian's Abseil aborts on it.)
  const absl::Status valid = ValidatePost(*req, *sender, "");
  absl::StatusOr<v1::PostMessageResponse> receipt =
      valid.ok() ? mailbox_->Post(MessageOf(*req, *sender)) : absl::StatusOr<v1::PostMessageResponse>(valid);
  access_->AuditAll(ctx, Principal{Principal::Kind::kCentre, *sender, ""}, kService, "PostMessage",
                    {PostLine(*req, receipt)});
  if (!receipt.ok()) return ToGrpcStatus(receipt.status());
  *resp = *std::move(receipt);
  return grpc::Status::OK;
}

grpc::Status MailboxServiceImpl::BatchPostMessages(grpc::ServerContext* ctx, const v1::BatchPostMessagesRequest* req,
                                                   v1::BatchPostMessagesResponse* resp) {
  auto sender = access_->AdmitCentre(ctx, kService, "BatchPostMessages", *registry_);
  if (!sender.ok()) return ToGrpcStatus(sender.status());
  absl::Status valid;
  if (req->requests_size() == 0 || req->requests_size() > kMaxBatchPost) {
    valid = absl::InvalidArgumentError(absl::StrCat("requests: give 1 to ", kMaxBatchPost));
  }
  std::vector<v1::MailboxMessage> messages;
  for (int i = 0; valid.ok() && i < req->requests_size(); ++i) {
    valid = ValidatePost(req->requests(i), *sender, absl::StrCat("requests[", i, "]."));
    messages.push_back(MessageOf(req->requests(i), *sender));
  }
  if (valid.ok()) {
    std::vector<absl::string_view> ids;
    for (const auto& r : req->requests()) ids.push_back(r.message_id());
    valid = RefuseRepeats(ids, "requests.message_id");
  }
  absl::StatusOr<std::vector<v1::PostMessageResponse>> receipts =
      valid.ok() ? mailbox_->PostAll(std::move(messages)) : absl::StatusOr<std::vector<v1::PostMessageResponse>>(valid);
  if (!receipts.ok()) {
    access_->Audit(ctx, Principal{Principal::Kind::kCentre, *sender, ""}, kService, "BatchPostMessages",
                   absl::StrCat(req->requests_size(), " messages"), receipts.status());
    return ToGrpcStatus(receipts.status());
  }
  // One audit line per message, as if each had been posted alone, all in one write.
  std::vector<HubAuditLog::Line> lines;
  for (int i = 0; i < req->requests_size(); ++i) lines.push_back(PostLine(req->requests(i), (*receipts)[i]));
  access_->AuditAll(ctx, Principal{Principal::Kind::kCentre, *sender, ""}, kService, "BatchPostMessages", lines);
  resp->mutable_receipts()->Assign(receipts->begin(), receipts->end());
  return grpc::Status::OK;
}

grpc::Status MailboxServiceImpl::FetchMessages(grpc::ServerContext* ctx, const v1::FetchMessagesRequest* req,
                                               v1::FetchMessagesResponse* resp) {
  auto me = access_->AdmitCentre(ctx, kService, "FetchMessages", *registry_);
  if (!me.ok()) return ToGrpcStatus(me.status());
  absl::Status valid;
  if (req->page_size() < 0 || req->page_size() > kMaxFetchPage) {
    valid = absl::InvalidArgumentError(absl::StrCat("page_size: must be 0 to ", kMaxFetchPage));
  } else if (req->after_sequence() < 0) {
    valid = absl::InvalidArgumentError("after_sequence: must not be negative");
  }
  bool more = false;
  absl::StatusOr<std::vector<v1::MailboxMessage>> messages =
      valid.ok() ? mailbox_->Fetch(*me, req->after_sequence(),
                                   req->page_size() == 0 ? kDefaultFetchPage : req->page_size(), &more)
                 : absl::StatusOr<std::vector<v1::MailboxMessage>>(valid);
  access_->Audit(ctx, Principal{Principal::Kind::kCentre, *me, ""}, kService, "FetchMessages",
                 absl::StrCat("after ", req->after_sequence(),
                              messages.ok() ? absl::StrCat(": ", messages->size(), " messages") : ""),
                 messages.status());
  if (!messages.ok()) return ToGrpcStatus(messages.status());
  for (auto& m : *messages) *resp->add_messages() = std::move(m);
  resp->set_more(more);
  return grpc::Status::OK;
}

grpc::Status MailboxServiceImpl::WatchMessages(grpc::ServerContext* ctx, const v1::WatchMessagesRequest* req,
                                               grpc::ServerWriter<v1::WatchMessagesResponse>* writer) {
  auto me = access_->AdmitCentre(ctx, kService, "WatchMessages", *registry_);
  if (!me.ok()) return ToGrpcStatus(me.status());
  const Principal caller{Principal::Kind::kCentre, *me, ""};
  if (req->after_sequence() < 0) {
    const auto refusal = absl::InvalidArgumentError("after_sequence: must not be negative");
    access_->Audit(ctx, caller, kService, "WatchMessages", "", refusal);
    return ToGrpcStatus(refusal);
  }
  access_->Audit(ctx, caller, kService, "WatchMessages", absl::StrCat("after ", req->after_sequence()),
                 absl::OkStatus());
  const uint64_t watch = mailbox_->WatchOpened(*me);
  absl::Cleanup closed = [&] { mailbox_->WatchClosed(*me); };
  int64_t after = req->after_sequence();
  bool look = true;  // whether the mailbox may hold something after `after`
  for (;;) {
    // Wakes at once for a new message. A caller gone away is seen by the next
    // Write, or while idle, once a second: asking the sync server whether the
    // call is cancelled polls its completion queue, which on every message
    // cost some 6% of a busy hub's CPU.
    if (mailbox_->WatchReplaced(*me, watch)) {
      return grpc::Status(grpc::StatusCode::ABORTED,
                          absl::StrCat("centre/", *me, " opened a newer watch of its mailbox, which replaces this one"));
    }
    if (!look) {
      look = mailbox_->AwaitAfter(*me, after, absl::Seconds(1), watch);
      if (!look && (mailbox_->closed() || ctx->IsCancelled())) break;
      continue;
    }
    bool more = false;
    auto messages = mailbox_->Fetch(*me, after, kDefaultFetchPage, &more);
    if (!messages.ok()) return ToGrpcStatus(messages.status());
    // What waits goes in as few responses as the size limit allows, so the
    // node can store a backlog in a few writes.
    v1::WatchMessagesResponse out;
    size_t bytes = 0;
    for (auto& m : *messages) {
      const size_t size = m.ByteSizeLong();
      if (out.messages_size() > 0 && bytes + size > kMaxWatchResponseBytes) {
        if (!writer->Write(out)) return grpc::Status::CANCELLED;
        out.Clear();
        bytes = 0;
      }
      after = m.sequence();
      bytes += size;
      *out.add_messages() = std::move(m);
    }
    if (out.messages_size() > 0 && !writer->Write(out)) return grpc::Status::CANCELLED;
    look = more;
  }
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the hub is stopping; watch again");
}

grpc::Status MailboxServiceImpl::AckMessages(grpc::ServerContext* ctx, const v1::AckMessagesRequest* req,
                                             v1::AckMessagesResponse* resp) {
  auto me = access_->AdmitCentre(ctx, kService, "AckMessages", *registry_);
  if (!me.ok()) return ToGrpcStatus(me.status());
  absl::Status valid;
  if (req->sequences_size() == 0 || req->sequences_size() > kMaxAcks) {
    valid = absl::InvalidArgumentError(absl::StrCat("sequences: give 1 to ", kMaxAcks));
  }
  for (int i = 0; valid.ok() && i < req->sequences_size(); ++i) {
    if (req->sequences(i) <= 0) valid = absl::InvalidArgumentError(absl::StrCat("sequences[", i, "]: must be positive"));
  }
  if (valid.ok()) valid = RefuseRepeats(req->sequences(), "sequences");
  absl::StatusOr<int> deleted = valid.ok() ? mailbox_->Ack(*me, {req->sequences().begin(), req->sequences().end()})
                                           : absl::StatusOr<int>(valid);
  access_->Audit(ctx, Principal{Principal::Kind::kCentre, *me, ""}, kService, "AckMessages",
                 absl::StrCat(req->sequences_size(), " acknowledged",
                              deleted.ok() ? absl::StrCat(", ", *deleted, " deleted") : ""),
                 deleted.status());
  if (!deleted.ok()) return ToGrpcStatus(deleted.status());
  resp->set_deleted(*deleted);
  return grpc::Status::OK;
}

grpc::Status MailboxServiceImpl::CheckPosts(grpc::ServerContext* ctx, const v1::CheckPostsRequest* req,
                                            v1::CheckPostsResponse* resp) {
  auto me = access_->AdmitCentre(ctx, kService, "CheckPosts", *registry_);
  if (!me.ok()) return ToGrpcStatus(me.status());
  absl::Status valid;
  if (req->message_ids_size() == 0 || req->message_ids_size() > kMaxCheckPosts) {
    valid = absl::InvalidArgumentError(absl::StrCat("message_ids: give 1 to ", kMaxCheckPosts));
  }
  for (int i = 0; valid.ok() && i < req->message_ids_size(); ++i) {
    if (!IsOpaqueId(req->message_ids(i))) {
      valid = absl::InvalidArgumentError(absl::StrCat("message_ids[", i, "]: must be 32 lowercase hex digits"));
    }
  }
  if (valid.ok()) valid = RefuseRepeats(req->message_ids(), "message_ids");
  absl::StatusOr<std::vector<std::string>> unknown =
      valid.ok() ? mailbox_->UnknownPosts(*me, {req->message_ids().begin(), req->message_ids().end()})
                 : absl::StatusOr<std::vector<std::string>>(valid);
  access_->Audit(ctx, Principal{Principal::Kind::kCentre, *me, ""}, kService, "CheckPosts",
                 absl::StrCat(req->message_ids_size(), " asked about",
                              unknown.ok() ? absl::StrCat(", ", unknown->size(), " unknown") : ""),
                 unknown.status());
  if (!unknown.ok()) return ToGrpcStatus(unknown.status());
  for (auto& id : *unknown) resp->add_unknown_message_ids(std::move(id));
  resp->mutable_post_ttl()->set_seconds(absl::ToInt64Seconds(mailbox_->ttl()));
  return grpc::Status::OK;
}

grpc::Status MailboxServiceImpl::ReconcileMailbox(grpc::ServerContext* ctx, const v1::ReconcileMailboxRequest* req,
                                                  v1::ReconcileMailboxResponse* resp) {
  auto me = access_->AdmitCentre(ctx, kService, "ReconcileMailbox", *registry_);
  if (!me.ok()) return ToGrpcStatus(me.status());
  absl::StatusOr<int> lost = req->stored_through() < 0
                                 ? absl::StatusOr<int>(absl::InvalidArgumentError("stored_through: must not be negative"))
                                 : mailbox_->ForgetLostDeliveries(*me, req->stored_through());
  access_->Audit(ctx, Principal{Principal::Kind::kCentre, *me, ""}, kService, "ReconcileMailbox",
                 absl::StrCat("stored through ", req->stored_through(),
                              lost.ok() ? absl::StrCat(": ", *lost, " lost, posted again by their senders") : ""),
                 lost.status());
  if (!lost.ok()) return ToGrpcStatus(lost.status());
  if (*lost > 0) {
    std::fprintf(stderr, "kentra-hub: %s lost %d referral messages it had acknowledged (restored from a backup?); "
                 "their senders post them again (the hub its own notices)\n", me->c_str(), *lost);
  }
  resp->set_lost_messages(*lost);
  return grpc::Status::OK;
}

}  // namespace kentra::hub
