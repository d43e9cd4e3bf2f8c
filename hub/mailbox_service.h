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

class MailboxServiceImpl final : public v1::MailboxService::Service {
 public:
  // None is owned.
  MailboxServiceImpl(const HubAccess* access, Mailbox* mailbox, const CentreRegistry* registry)
      : access_(access), mailbox_(mailbox), registry_(registry) {}

  grpc::Status PostMessage(grpc::ServerContext* ctx, const v1::PostMessageRequest* req,
                           v1::PostMessageResponse* resp) override;
  grpc::Status FetchMessages(grpc::ServerContext* ctx, const v1::FetchMessagesRequest* req,
                             v1::FetchMessagesResponse* resp) override;
  grpc::Status WatchMessages(grpc::ServerContext* ctx, const v1::WatchMessagesRequest* req,
                             grpc::ServerWriter<v1::WatchMessagesResponse>* writer) override;
  grpc::Status AckMessages(grpc::ServerContext* ctx, const v1::AckMessagesRequest* req,
                           v1::AckMessagesResponse* resp) override;

 private:
  const HubAccess* access_;
  Mailbox* mailbox_;
  const CentreRegistry* registry_;
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_MAILBOX_SERVICE_H_
