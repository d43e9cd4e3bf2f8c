#include "node/staff_service.h"

#include "common/status.h"
#include "node/validation.h"

namespace kentra::node {
namespace {

Actor ActorOf(const grpc::ServerContext* ctx) {
  Actor actor;
  actor.peer = ctx->peer();
  const auto& md = ctx->client_metadata();
  auto it = md.find(kUserMetadataKey);
  std::string user = it == md.end() ? "" : std::string(it->second.data(), it->second.size());
  actor.name = ValidateUserName(user, "user").ok() ? "staff/" + user : "staff/unknown";
  return actor;
}

// Copies a result into the response, or returns its error.
template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status StaffServiceImpl::CreateBeneficiary(grpc::ServerContext* ctx,
                                                 const v1::CreateBeneficiaryRequest* req,
                                                 v1::Beneficiary* resp) {
  return Reply(records_->CreateBeneficiary(ActorOf(ctx), *req), resp);
}
grpc::Status StaffServiceImpl::GetBeneficiary(grpc::ServerContext*, const v1::GetBeneficiaryRequest* req,
                                              v1::Beneficiary* resp) {
  return Reply(records_->GetBeneficiary(req->name()), resp);
}
grpc::Status StaffServiceImpl::UpdateBeneficiary(grpc::ServerContext* ctx,
                                                 const v1::UpdateBeneficiaryRequest* req,
                                                 v1::Beneficiary* resp) {
  return Reply(records_->UpdateBeneficiary(ActorOf(ctx), *req), resp);
}
grpc::Status StaffServiceImpl::ListBeneficiaries(grpc::ServerContext*,
                                                 const v1::ListBeneficiariesRequest* req,
                                                 v1::ListBeneficiariesResponse* resp) {
  return Reply(records_->ListBeneficiaries(*req), resp);
}
grpc::Status StaffServiceImpl::SearchBeneficiaries(grpc::ServerContext*,
                                                   const v1::SearchBeneficiariesRequest* req,
                                                   v1::SearchBeneficiariesResponse* resp) {
  return Reply(records_->SearchBeneficiaries(*req), resp);
}
grpc::Status StaffServiceImpl::RecordConsent(grpc::ServerContext* ctx, const v1::RecordConsentRequest* req,
                                             v1::Beneficiary* resp) {
  return Reply(records_->RecordConsent(ActorOf(ctx), *req), resp);
}
grpc::Status StaffServiceImpl::OpenCase(grpc::ServerContext* ctx, const v1::OpenCaseRequest* req,
                                        v1::Case* resp) {
  return Reply(records_->OpenCase(ActorOf(ctx), *req), resp);
}
grpc::Status StaffServiceImpl::GetCase(grpc::ServerContext*, const v1::GetCaseRequest* req, v1::Case* resp) {
  return Reply(records_->GetCase(req->name()), resp);
}
grpc::Status StaffServiceImpl::ListCases(grpc::ServerContext*, const v1::ListCasesRequest* req,
                                         v1::ListCasesResponse* resp) {
  return Reply(records_->ListCases(*req), resp);
}
grpc::Status StaffServiceImpl::CloseCase(grpc::ServerContext* ctx, const v1::CloseCaseRequest* req,
                                         v1::Case* resp) {
  return Reply(records_->CloseCase(ActorOf(ctx), *req), resp);
}
grpc::Status StaffServiceImpl::ReopenCase(grpc::ServerContext* ctx, const v1::ReopenCaseRequest* req,
                                          v1::Case* resp) {
  return Reply(records_->ReopenCase(ActorOf(ctx), *req), resp);
}
grpc::Status StaffServiceImpl::RecordServiceEvent(grpc::ServerContext* ctx,
                                                  const v1::RecordServiceEventRequest* req,
                                                  v1::ServiceEvent* resp) {
  return Reply(records_->RecordServiceEvent(ActorOf(ctx), *req), resp);
}
grpc::Status StaffServiceImpl::ListServiceEvents(grpc::ServerContext*,
                                                 const v1::ListServiceEventsRequest* req,
                                                 v1::ListServiceEventsResponse* resp) {
  return Reply(records_->ListServiceEvents(*req), resp);
}
grpc::Status StaffServiceImpl::ListAuditEntries(grpc::ServerContext*,
                                                const v1::ListAuditEntriesRequest* req,
                                                v1::ListAuditEntriesResponse* resp) {
  return Reply(records_->ListAuditEntries(*req), resp);
}

}  // namespace kentra::node
