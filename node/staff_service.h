// The gRPC face of CentreRecords: reads who is calling, hands the request to the
// records, and turns absl::Status into grpc::Status. No logic of its own.
#ifndef KENTRA_NODE_STAFF_SERVICE_H_
#define KENTRA_NODE_STAFF_SERVICE_H_

#include "kentra/node/v1/staff_service.grpc.pb.h"
#include "node/records.h"

namespace kentra::node {

// Metadata key naming the staff member making a call (until staff log-in exists,
// kentractl sends the operating-system user).
inline constexpr char kUserMetadataKey[] = "x-kentra-user";

class StaffServiceImpl final : public v1::StaffService::Service {
 public:
  // `records` is not owned and must outlive the service.
  explicit StaffServiceImpl(CentreRecords* records) : records_(records) {}

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
  CentreRecords* records_;
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_STAFF_SERVICE_H_
