#include "hub/mailbox_service.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/sealing.h"
#include "common/status.h"

namespace kentra::hub {
namespace {

constexpr char kService[] = "MailboxService";

absl::Status ValidateOpaqueId(absl::string_view id, absl::string_view field) {
  const bool ok = id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
  });
  return ok ? absl::OkStatus() : absl::InvalidArgumentError(absl::StrCat(field, ": must be 32 lowercase hex digits"));
}

}  // namespace

grpc::Status MailboxServiceImpl::PostMessage(grpc::ServerContext* ctx, const v1::PostMessageRequest* req,
                                             v1::PostMessageResponse* resp) {
  auto sender = access_->AdmitCentre(ctx, kService, "PostMessage", *registry_);
  if (!sender.ok()) return ToGrpcStatus(sender.status());
  absl::Status valid = ValidateOpaqueId(req->message_id(), "message_id");
  if (valid.ok()) valid = ValidateOpaqueId(req->referral_id(), "referral_id");
  if (valid.ok() && registry_->Centre(req->recipient()) == nullptr) {
    valid = absl::InvalidArgumentError("recipient: not a centre of this federation");
  }
  if (valid.ok() && req->recipient() == *sender) valid = absl::InvalidArgumentError("recipient: is the sender");
  if (valid.ok() && !IsSealedSize(req->sealed().size())) {
    valid = absl::InvalidArgumentError("sealed: its size is not one of the sealed bucket sizes");
  }
  auto post = [&]() -> absl::StatusOr<v1::PostMessageResponse> {
    KENTRA_RETURN_IF_ERROR(valid);
    v1::MailboxMessage message;
    message.set_sender(*sender);
    message.set_recipient(req->recipient());
    message.set_message_id(req->message_id());
    message.set_referral_id(req->referral_id());
    message.set_sealed(req->sealed());
    return mailbox_->Post(std::move(message));
  };
  absl::StatusOr<v1::PostMessageResponse> receipt = post();
  access_->Audit(ctx, Principal{Principal::Kind::kCentre, *sender, ""}, kService, "PostMessage",
                 absl::StrCat("to ", req->recipient().substr(0, 64), ", message ", req->message_id().substr(0, 32),
                              ", referral ", req->referral_id().substr(0, 32), ", ", req->sealed().size(), " B",
                              receipt.ok() ? absl::StrCat(", sequence ", receipt->sequence()) : ""),
                 receipt.status());
  if (!receipt.ok()) return ToGrpcStatus(receipt.status());
  *resp = *std::move(receipt);
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
  int64_t after = req->after_sequence();
  int delivered = 0;
  while (!ctx->IsCancelled()) {
    bool more = false;
    auto messages = mailbox_->Fetch(*me, after, kDefaultFetchPage, &more);
    if (!messages.ok()) return ToGrpcStatus(messages.status());
    for (auto& m : *messages) {
      after = m.sequence();
      v1::WatchMessagesResponse out;
      *out.mutable_message() = std::move(m);
      if (!writer->Write(out)) return grpc::Status::CANCELLED;
      ++delivered;
    }
    if (more) continue;
    // Wakes at once for a new message; checks for a caller gone away each second.
    if (!mailbox_->AwaitAfter(*me, after, absl::Seconds(1)) && mailbox_->closed()) break;
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

}  // namespace kentra::hub
