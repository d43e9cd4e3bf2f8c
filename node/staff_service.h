// The gRPC face of CentreRecords: each call is admitted by AccessControl (who is
// calling, and may they), handed to the records as that actor, and its
// absl::Status turned into grpc::Status. No record logic of its own.
#ifndef KENTRA_NODE_STAFF_SERVICE_H_
#define KENTRA_NODE_STAFF_SERVICE_H_

#include "kentra/node/v1/staff_service.grpc.pb.h"
#include "node/access.h"
#include "node/backups.h"
#include "node/hub_sync.h"

namespace kentra::node {

class StaffServiceImpl final : public v1::StaffService::Service {
 public:
  // `access` is not owned and must outlive the service.
  // `hub_sync` may be null (no hub configured); so may `backups`, which are not owned either.
  StaffServiceImpl(AccessControl* access, HubSync* hub_sync, NodeBackups* backups)
      : access_(access), records_(access->records()), hub_sync_(hub_sync), backups_(backups) {}

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
  grpc::Status GetIndicators(grpc::ServerContext* ctx, const v1::GetIndicatorsRequest* req,
                             kentra::anon::v1::PeriodCells* resp) override;
  grpc::Status CloseMonth(grpc::ServerContext* ctx, const v1::CloseMonthRequest* req,
                          kentra::anon::v1::PeriodCells* resp) override;
  grpc::Status SyncNow(grpc::ServerContext* ctx, const v1::SyncNowRequest* req, v1::SyncRun* resp) override;
  grpc::Status StreamSync(grpc::ServerContext* ctx, const v1::StreamSyncRequest* req,
                          grpc::ServerWriter<v1::SyncProgress>* writer) override;
  grpc::Status ListSyncRuns(grpc::ServerContext* ctx, const v1::ListSyncRunsRequest* req,
                            v1::ListSyncRunsResponse* resp) override;
  grpc::Status CreateBackup(grpc::ServerContext* ctx, const kentra::type::v1::CreateBackupRequest* req,
                            kentra::type::v1::Backup* resp) override;
  grpc::Status ListBackups(grpc::ServerContext* ctx, const kentra::type::v1::ListBackupsRequest* req,
                           kentra::type::v1::ListBackupsResponse* resp) override;

 private:
  // Admits the call of `method` and runs `body` on the records as its actor.
  template <typename Response, typename Body>
  grpc::Status Serve(grpc::ServerContext* ctx, const char* method, Response* response, const Body& body);

  AccessControl* access_;
  CentreRecords* records_;
  HubSync* hub_sync_;
  NodeBackups* backups_;
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_STAFF_SERVICE_H_
