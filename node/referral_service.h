// The gRPC face of CentreReferrals: each call is admitted by AccessControl and
// handed to the referrals as that actor. No referral logic of its own.
#ifndef KENTRA_NODE_REFERRAL_SERVICE_H_
#define KENTRA_NODE_REFERRAL_SERVICE_H_

#include "kentra/node/v1/referral_service.grpc.pb.h"
#include "node/access.h"
#include "node/referrals.h"

namespace kentra::node {

class ReferralServiceImpl final : public v1::ReferralService::Service {
 public:
  // Neither is owned.
  ReferralServiceImpl(AccessControl* access, CentreReferrals* referrals)
      : access_(access), referrals_(referrals) {}

  grpc::Status CreateReferral(grpc::ServerContext* ctx, const v1::CreateReferralRequest* req,
                              v1::Referral* resp) override;
  grpc::Status ResolveReferralTargets(grpc::ServerContext* ctx, const v1::ResolveReferralTargetsRequest* req,
                                      v1::ResolveReferralTargetsResponse* resp) override;
  grpc::Status GetReferral(grpc::ServerContext* ctx, const v1::GetReferralRequest* req, v1::Referral* resp) override;
  grpc::Status ListReferrals(grpc::ServerContext* ctx, const v1::ListReferralsRequest* req,
                             v1::ListReferralsResponse* resp) override;
  grpc::Status AcceptReferral(grpc::ServerContext* ctx, const v1::AcceptReferralRequest* req,
                              v1::Referral* resp) override;
  grpc::Status RejectReferral(grpc::ServerContext* ctx, const v1::RejectReferralRequest* req,
                              v1::Referral* resp) override;
  grpc::Status StartReferral(grpc::ServerContext* ctx, const v1::StartReferralRequest* req,
                             v1::Referral* resp) override;
  grpc::Status CompleteReferral(grpc::ServerContext* ctx, const v1::CompleteReferralRequest* req,
                                v1::Referral* resp) override;
  grpc::Status CancelReferral(grpc::ServerContext* ctx, const v1::CancelReferralRequest* req,
                              v1::Referral* resp) override;
  grpc::Status WatchReferrals(grpc::ServerContext* ctx, const v1::WatchReferralsRequest* req,
                              grpc::ServerWriter<v1::WatchReferralsResponse>* writer) override;

  // Ends every WatchReferrals (the node is stopping).
  void StopWatches();

 private:
  template <typename Response, typename Body>
  grpc::Status Serve(grpc::ServerContext* ctx, const char* method, Response* response, const Body& body);

  AccessControl* access_;
  CentreReferrals* referrals_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_REFERRAL_SERVICE_H_
