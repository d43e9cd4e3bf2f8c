// The gRPC face of CentreRecords: establishes who is calling (the verified client
// certificate), refuses callers who may not use the staff API (logged and
// audited), hands the request to the records, and turns absl::Status into
// grpc::Status. No record logic of its own.
#ifndef KENTRA_NODE_STAFF_SERVICE_H_
#define KENTRA_NODE_STAFF_SERVICE_H_

#include <functional>
#include <string>

#include "common/tls.h"
#include "kentra/node/v1/staff_service.grpc.pb.h"
#include "node/records.h"

namespace kentra::node {

// Metadata key naming the staff member making a call (until staff log-in exists,
// kentractl sends the operating-system user; the terminal's certificate is verified).
inline constexpr char kUserMetadataKey[] = "x-kentra-user";

class StaffServiceImpl final : public v1::StaffService::Service {
 public:
  // `records` and `verifier` are not owned and must outlive the service. A null
  // verifier means plaintext on loopback (--insecure): callers are local.
  StaffServiceImpl(CentreRecords* records, std::string centre_id, const PeerVerifier* verifier)
      : records_(records), centre_id_(std::move(centre_id)), verifier_(verifier) {}

  grpc::Status CreateBeneficiary(grpc::ServerContext* ctx, const v1::CreateBeneficiaryRequest* req,
                                 v1::Beneficiary* resp) override;
  grpc::Status GetBeneficiary(grpc::ServerContext* ctx, const v1::GetBeneficiaryRequest* req,
                              v1::Beneficiary* resp) override;
  grpc::Status UpdateBeneficiary(grpc::ServerContext* ctx, const v1::UpdateBeneficiaryRequest* req,
                                 v1::Beneficiary* resp) override;
  grpc::Status ListBeneficiaries(grpc::ServerContext* ctx, const v1::ListBeneficiariesRequest* req,
                                 v1::ListBeneficiariesResponse* resp) override;
  grpc::Status SearchBeneficiaries(grpc::ServerContext* ctx, const v1::SearchBeneficiariesRequest* req,
                                   v1::SearchBeneficiariesResponse* resp) override;
  grpc::Status RecordConsent(grpc::ServerContext* ctx, const v1::RecordConsentRequest* req,
                             v1::Beneficiary* resp) override;
  grpc::Status OpenCase(grpc::ServerContext* ctx, const v1::OpenCaseRequest* req, v1::Case* resp) override;
  grpc::Status GetCase(grpc::ServerContext* ctx, const v1::GetCaseRequest* req, v1::Case* resp) override;
  grpc::Status ListCases(grpc::ServerContext* ctx, const v1::ListCasesRequest* req,
                         v1::ListCasesResponse* resp) override;
  grpc::Status CloseCase(grpc::ServerContext* ctx, const v1::CloseCaseRequest* req, v1::Case* resp) override;
  grpc::Status ReopenCase(grpc::ServerContext* ctx, const v1::ReopenCaseRequest* req, v1::Case* resp) override;
  grpc::Status RecordServiceEvent(grpc::ServerContext* ctx, const v1::RecordServiceEventRequest* req,
                                  v1::ServiceEvent* resp) override;
  grpc::Status ListServiceEvents(grpc::ServerContext* ctx, const v1::ListServiceEventsRequest* req,
                                 v1::ListServiceEventsResponse* resp) override;
  grpc::Status ListAuditEntries(grpc::ServerContext* ctx, const v1::ListAuditEntriesRequest* req,
                                v1::ListAuditEntriesResponse* resp) override;

 private:
  // Verifies the caller of `method` and runs `body` as them, or refuses the call
  // (UNAUTHENTICATED, PERMISSION_DENIED), logging and auditing the refusal.
  grpc::Status Serve(grpc::ServerContext* ctx, const char* method,
                     const std::function<grpc::Status(const Actor&)>& body);

  CentreRecords* records_;
  std::string centre_id_;
  const PeerVerifier* verifier_;
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_STAFF_SERVICE_H_
