// The hub's MailboxService: centres' nodes post sealed referral messages for one
// another, fetch or watch their own mailbox, and acknowledge what they stored.
// The caller is always the centre its certificate names: a node reads and
// deletes only its own mailbox, and a message's sender is never what the body
// claims. Each call is audited with routing metadata only.
#ifndef KENTRA_HUB_MAILBOX_SERVICE_H_
#define KENTRA_HUB_MAILBOX_SERVICE_H_

#include "hub/access.h"
#include "hub/centre_registry.h"
#include "hub/mailbox.h"
#include "kentra/hub/v1/mailbox_service.grpc.pb.h"

namespace kentra::hub {

// Limits of the mailbox API.
inline constexpr int kMaxFetchPage = 500;
inline constexpr int kDefaultFetchPage = 50;
inline constexpr int kMaxAcks = 500;
inline constexpr int kMaxBatchPost = 100;
inline constexpr int kMaxCheckPosts = 1000;
// A watch response holds messages up to this size (at least one message).
inline constexpr size_t kMaxWatchResponseBytes = 1 << 20;

class MailboxServiceImpl final : public v1::MailboxService::Service {
 public:
  // None is owned.
  MailboxServiceImpl(const HubAccess* access, Mailbox* mailbox, const CentreRegistry* registry)
      : access_(access), mailbox_(mailbox), registry_(registry) {}

  grpc::Status PostMessage(grpc::ServerContext* ctx, const v1::PostMessageRequest* req,
                           v1::PostMessageResponse* resp) override;
  grpc::Status BatchPostMessages(grpc::ServerContext* ctx, const v1::BatchPostMessagesRequest* req,
                                 v1::BatchPostMessagesResponse* resp) override;
  grpc::Status FetchMessages(grpc::ServerContext* ctx, const v1::FetchMessagesRequest* req,
                             v1::FetchMessagesResponse* resp) override;
  grpc::Status WatchMessages(grpc::ServerContext* ctx, const v1::WatchMessagesRequest* req,
                             grpc::ServerWriter<v1::WatchMessagesResponse>* writer) override;
  grpc::Status AckMessages(grpc::ServerContext* ctx, const v1::AckMessagesRequest* req,
                           v1::AckMessagesResponse* resp) override;
  grpc::Status CheckPosts(grpc::ServerContext* ctx, const v1::CheckPostsRequest* req,
                          v1::CheckPostsResponse* resp) override;
  grpc::Status ReconcileMailbox(grpc::ServerContext* ctx, const v1::ReconcileMailboxRequest* req,
                                v1::ReconcileMailboxResponse* resp) override;

  // The message the mailbox keeps for a valid post from `sender`.
  static v1::MailboxMessage MessageOf(const v1::PostMessageRequest& req, const std::string& sender);

 private:
  // OK if `req` from `sender` may be posted; else INVALID_ARGUMENT naming the
  // field after `field_prefix`.
  absl::Status ValidatePost(const v1::PostMessageRequest& req, absl::string_view sender,
                            absl::string_view field_prefix) const;
  // The audit line of one post and what it got.
  static HubAuditLog::Line PostLine(const v1::PostMessageRequest& req,
                                    const absl::StatusOr<v1::PostMessageResponse>& receipt);

  const HubAccess* access_;
  Mailbox* mailbox_;
  const CentreRegistry* registry_;
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_MAILBOX_SERVICE_H_
