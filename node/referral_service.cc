#include "node/referral_service.h"

#include "common/status.h"
#include "common/time_util.h"

namespace kentra::node {

template <typename Response, typename Body>
grpc::Status ReferralServiceImpl::Serve(grpc::ServerContext* ctx, const char* method, Response* response,
                                        const Body& body) {
  return ServeAdmitted(*access_, ctx, "ReferralService", method, response,
                       [&](const Actor& actor, const StaffSession&) { return body(actor); });
}

grpc::Status ReferralServiceImpl::CreateReferral(grpc::ServerContext* ctx, const v1::CreateReferralRequest* req,
                                                 v1::Referral* resp) {
  return Serve(ctx, "CreateReferral", resp, [&](const Actor& actor) { return referrals_->Create(actor, *req); });
}
grpc::Status ReferralServiceImpl::ResolveReferralTargets(grpc::ServerContext* ctx,
                                                         const v1::ResolveReferralTargetsRequest* req,
                                                         v1::ResolveReferralTargetsResponse* resp) {
  return Serve(ctx, "ResolveReferralTargets", resp, [&](const Actor&) { return referrals_->ResolveTargets(*req); });
}
grpc::Status ReferralServiceImpl::GetReferral(grpc::ServerContext* ctx, const v1::GetReferralRequest* req,
                                              v1::Referral* resp) {
  return Serve(ctx, "GetReferral", resp, [&](const Actor& actor) { return referrals_->Get(actor, req->name()); });
}
grpc::Status ReferralServiceImpl::ListReferrals(grpc::ServerContext* ctx, const v1::ListReferralsRequest* req,
                                                v1::ListReferralsResponse* resp) {
  return Serve(ctx, "ListReferrals", resp, [&](const Actor& actor) { return referrals_->List(actor, *req); });
}
grpc::Status ReferralServiceImpl::AcceptReferral(grpc::ServerContext* ctx, const v1::AcceptReferralRequest* req,
                                                 v1::Referral* resp) {
  return Serve(ctx, "AcceptReferral", resp, [&](const Actor& actor) { return referrals_->Accept(actor, *req); });
}
grpc::Status ReferralServiceImpl::RejectReferral(grpc::ServerContext* ctx, const v1::RejectReferralRequest* req,
                                                 v1::Referral* resp) {
  return Serve(ctx, "RejectReferral", resp, [&](const Actor& actor) { return referrals_->Reject(actor, *req); });
}
grpc::Status ReferralServiceImpl::StartReferral(grpc::ServerContext* ctx, const v1::StartReferralRequest* req,
                                                v1::Referral* resp) {
  return Serve(ctx, "StartReferral", resp, [&](const Actor& actor) { return referrals_->Start(actor, *req); });
}
grpc::Status ReferralServiceImpl::CompleteReferral(grpc::ServerContext* ctx, const v1::CompleteReferralRequest* req,
                                                   v1::Referral* resp) {
  return Serve(ctx, "CompleteReferral", resp, [&](const Actor& actor) { return referrals_->Complete(actor, *req); });
}
grpc::Status ReferralServiceImpl::CancelReferral(grpc::ServerContext* ctx, const v1::CancelReferralRequest* req,
                                                 v1::Referral* resp) {
  return Serve(ctx, "CancelReferral", resp, [&](const Actor& actor) { return referrals_->Cancel(actor, *req); });
}

grpc::Status ReferralServiceImpl::WatchReferrals(grpc::ServerContext* ctx, const v1::WatchReferralsRequest*,
                                                 grpc::ServerWriter<v1::WatchReferralsResponse>* writer) {
  StaffSession session;
  absl::StatusOr<Actor> actor = access_->Admit(ctx, "ReferralService", "WatchReferrals", &session);
  if (!actor.ok()) return ToGrpcStatus(actor.status());
  ReferralWatchers& watchers = referrals_->watchers();
  absl::StatusOr<int> added = watchers.Add(actor->name);
  if (!added.ok()) return ToGrpcStatus(added.status());
  const int id = *added;
  grpc::Status result = grpc::Status::OK;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        result = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the node is stopping");
        break;
      }
    }
    auto events = watchers.Take(id, absl::Seconds(1));
    // A watcher gone away is seen by the next Write, or while idle, once a
    // second (on the sync server, asking polls the completion queue).
    if (events.empty() && ctx->IsCancelled()) break;
    bool gone = false;
    for (auto& event : events) {
      // What a watcher sees of a person is a read like any other.
      if (!access_->records()->AuditRead(*actor, "WatchReferrals", event.referral.name(),
                                         {event.referral.name()}, "")
               .ok()) {
        result = grpc::Status(grpc::StatusCode::INTERNAL, "could not audit a read");
        gone = true;
        break;
      }
      v1::WatchReferralsResponse out;
      *out.mutable_referral() = std::move(event.referral);
      out.set_action(event.action);
      *out.mutable_store_time() = ToTimestamp(event.stored);
      if (!writer->Write(out)) {
        gone = true;
        break;
      }
    }
    if (gone) break;
  }
  watchers.Remove(id);
  return result;
}

void ReferralServiceImpl::StopWatches() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
}

}  // namespace kentra::node
