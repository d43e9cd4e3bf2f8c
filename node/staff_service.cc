#include "node/staff_service.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"


namespace kentra::node {

template <typename Response, typename Body>
grpc::Status StaffServiceImpl::Serve(grpc::ServerContext* ctx, const char* method, Response* response,
                                     const Body& body) {
  return ServeAdmitted(*access_, ctx, "StaffService", method, response,
                       [&](const Actor& actor, const StaffSession&) { return body(actor); });
}

grpc::Status StaffServiceImpl::CreateBeneficiary(grpc::ServerContext* ctx,
                                                 const v1::CreateBeneficiaryRequest* req,
                                                 v1::Beneficiary* resp) {
  return Serve(ctx, "CreateBeneficiary", resp, [&](const Actor& actor) { return records_->CreateBeneficiary(actor, *req); });
}
grpc::Status StaffServiceImpl::GetBeneficiary(grpc::ServerContext* ctx, const v1::GetBeneficiaryRequest* req,
                                              v1::Beneficiary* resp) {
  return Serve(ctx, "GetBeneficiary", resp, [&](const Actor& actor) { return records_->GetBeneficiary(actor, req->name()); });
}
grpc::Status StaffServiceImpl::UpdateBeneficiary(grpc::ServerContext* ctx,
                                                 const v1::UpdateBeneficiaryRequest* req,
                                                 v1::Beneficiary* resp) {
  return Serve(ctx, "UpdateBeneficiary", resp, [&](const Actor& actor) { return records_->UpdateBeneficiary(actor, *req); });
}
grpc::Status StaffServiceImpl::ListBeneficiaries(grpc::ServerContext* ctx,
                                                 const v1::ListBeneficiariesRequest* req,
                                                 v1::ListBeneficiariesResponse* resp) {
  return Serve(ctx, "ListBeneficiaries", resp, [&](const Actor& actor) { return records_->ListBeneficiaries(actor, *req); });
}
grpc::Status StaffServiceImpl::SearchBeneficiaries(grpc::ServerContext* ctx,
                                                   const v1::SearchBeneficiariesRequest* req,
                                                   v1::SearchBeneficiariesResponse* resp) {
  return Serve(ctx, "SearchBeneficiaries", resp, [&](const Actor& actor) { return records_->SearchBeneficiaries(actor, *req); });
}
grpc::Status StaffServiceImpl::RecordConsent(grpc::ServerContext* ctx, const v1::RecordConsentRequest* req,
                                             v1::Beneficiary* resp) {
  return Serve(ctx, "RecordConsent", resp, [&](const Actor& actor) { return records_->RecordConsent(actor, *req); });
}
grpc::Status StaffServiceImpl::OpenCase(grpc::ServerContext* ctx, const v1::OpenCaseRequest* req,
                                        v1::Case* resp) {
  return Serve(ctx, "OpenCase", resp, [&](const Actor& actor) { return records_->OpenCase(actor, *req); });
}
grpc::Status StaffServiceImpl::GetCase(grpc::ServerContext* ctx, const v1::GetCaseRequest* req, v1::Case* resp) {
  return Serve(ctx, "GetCase", resp, [&](const Actor& actor) { return records_->GetCase(actor, req->name()); });
}
grpc::Status StaffServiceImpl::ListCases(grpc::ServerContext* ctx, const v1::ListCasesRequest* req,
                                         v1::ListCasesResponse* resp) {
  return Serve(ctx, "ListCases", resp, [&](const Actor& actor) { return records_->ListCases(actor, *req); });
}
grpc::Status StaffServiceImpl::CloseCase(grpc::ServerContext* ctx, const v1::CloseCaseRequest* req,
                                         v1::Case* resp) {
  return Serve(ctx, "CloseCase", resp, [&](const Actor& actor) { return records_->CloseCase(actor, *req); });
}
grpc::Status StaffServiceImpl::ReopenCase(grpc::ServerContext* ctx, const v1::ReopenCaseRequest* req,
                                          v1::Case* resp) {
  return Serve(ctx, "ReopenCase", resp, [&](const Actor& actor) { return records_->ReopenCase(actor, *req); });
}
grpc::Status StaffServiceImpl::RecordServiceEvent(grpc::ServerContext* ctx,
                                                  const v1::RecordServiceEventRequest* req,
                                                  v1::ServiceEvent* resp) {
  return Serve(ctx, "RecordServiceEvent", resp, [&](const Actor& actor) { return records_->RecordServiceEvent(actor, *req); });
}
grpc::Status StaffServiceImpl::ListServiceEvents(grpc::ServerContext* ctx,
                                                 const v1::ListServiceEventsRequest* req,
                                                 v1::ListServiceEventsResponse* resp) {
  return Serve(ctx, "ListServiceEvents", resp, [&](const Actor& actor) { return records_->ListServiceEvents(actor, *req); });
}
grpc::Status StaffServiceImpl::ListAuditEntries(grpc::ServerContext* ctx,
                                                const v1::ListAuditEntriesRequest* req,
                                                v1::ListAuditEntriesResponse* resp) {
  return Serve(ctx, "ListAuditEntries", resp, [&](const Actor& actor) { return records_->ListAuditEntries(*req); });
}

grpc::Status StaffServiceImpl::GetIndicators(grpc::ServerContext* ctx, const v1::GetIndicatorsRequest* req,
                                             kentra::anon::v1::PeriodCells* resp) {
  return Serve(ctx, "GetIndicators", resp, [&](const Actor& actor) { return records_->GetIndicators(actor, req->period()); });
}
grpc::Status StaffServiceImpl::CloseMonth(grpc::ServerContext* ctx, const v1::CloseMonthRequest* req,
                                          kentra::anon::v1::PeriodCells* resp) {
  return Serve(ctx, "CloseMonth", resp, [&](const Actor& actor) { return records_->CloseMonth(actor, req->period()); });
}

grpc::Status StaffServiceImpl::SyncNow(grpc::ServerContext* ctx, const v1::SyncNowRequest*, v1::SyncRun* resp) {
  return Serve(ctx, "SyncNow", resp, [&](const Actor& actor) -> absl::StatusOr<v1::SyncRun> {
    if (hub_sync_ == nullptr) return absl::UnavailableError("this node has no hub configured (--hub)");
    return hub_sync_->RunOnce(absl::StrCat("kentractl by ", actor.name));
  });
}
grpc::Status StaffServiceImpl::StreamSync(grpc::ServerContext* ctx, const v1::StreamSyncRequest*,
                                          grpc::ServerWriter<v1::SyncProgress>* writer) {
  StaffSession session;
  absl::StatusOr<Actor> actor = access_->Admit(ctx, "StaffService", "StreamSync", &session);
  if (!actor.ok()) return ToGrpcStatus(actor.status());
  if (hub_sync_ == nullptr) return ToGrpcStatus(absl::UnavailableError("this node has no hub configured (--hub)"));
  auto run = hub_sync_->RunOnce(absl::StrCat("kentractl by ", actor->name),
                                [&](const std::string& period, int done, int total) {
                                  v1::SyncProgress step;
                                  step.set_period_pushed(period);
                                  step.set_periods_done(done);
                                  step.set_periods_total(total);
                                  writer->Write(step);  // a watcher gone away does not stop the sync
                                });
  if (!run.ok()) return ToGrpcStatus(run.status());
  v1::SyncProgress last;
  last.set_periods_done(run->periods_pushed());
  last.set_periods_total(run->periods_pushed());
  *last.mutable_run() = *std::move(run);
  writer->Write(last);
  return grpc::Status::OK;
}

grpc::Status StaffServiceImpl::ListSyncRuns(grpc::ServerContext* ctx, const v1::ListSyncRunsRequest* req,
                                            v1::ListSyncRunsResponse* resp) {
  return Serve(ctx, "ListSyncRuns", resp, [&](const Actor&) -> absl::StatusOr<v1::ListSyncRunsResponse> {
    if (hub_sync_ == nullptr) return absl::UnavailableError("this node has no hub configured (--hub)");
    return hub_sync_->ListRuns(*req);
  });
}

grpc::Status StaffServiceImpl::CreateBackup(grpc::ServerContext* ctx,
                                            const kentra::type::v1::CreateBackupRequest*,
                                            kentra::type::v1::Backup* resp) {
  return Serve(ctx, "CreateBackup", resp, [&](const Actor& actor) { return backups_->Create(actor); });
}

grpc::Status StaffServiceImpl::ListBackups(grpc::ServerContext* ctx,
                                           const kentra::type::v1::ListBackupsRequest* req,
                                           kentra::type::v1::ListBackupsResponse* resp) {
  return Serve(ctx, "ListBackups", resp, [&](const Actor&) { return backups_->List(*req); });
}

}  // namespace kentra::node
