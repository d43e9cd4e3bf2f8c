#include "node/staff_service.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "node/validation.h"

namespace kentra::node {
namespace {

// The staff member the call says it comes from (until log-in exists).
std::string StaffUserOf(const grpc::ServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(kUserMetadataKey);
  std::string user = it == md.end() ? "" : std::string(it->second.data(), it->second.size());
  return ValidateUserName(user, "user").ok() ? "staff/" + user : "staff/unknown";
}

// Copies a result into the response, or returns its error.
template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status StaffServiceImpl::Serve(grpc::ServerContext* ctx, const char* method,
                                     const std::function<grpc::Status(const Actor&)>& body) {
  Actor actor;
  actor.peer = ctx->peer();
  absl::Status refusal;
  if (verifier_ == nullptr) {
    actor.principal = Principal{Principal::Kind::kLocalInsecure, "", ""}.ToString();
  } else {
    absl::StatusOr<Principal> principal = verifier_->Verify(*ctx->auth_context());
    if (!principal.ok()) {
      refusal = principal.status();
      actor.principal = Principal().ToString();
    } else {
      actor.principal = principal->ToString();
      if (principal->kind != Principal::Kind::kStaffTerminal || principal->id != centre_id_) {
        refusal = absl::PermissionDeniedError(absl::StrCat(
            actor.principal, " may not use the staff API of ", centre_id_, "; only its staff terminals may"));
      }
    }
  }
  if (refusal.ok()) {
    actor.name = StaffUserOf(ctx);
    return body(actor);
  }
  actor.name = actor.principal;
  std::fprintf(stderr, "kentra-node %s: refused %s from %s: %s\n", centre_id_.c_str(), method, actor.peer.c_str(),
               refusal.ToString().c_str());
  absl::Status audited = records_->AuditRefusal(actor, method, refusal);
  if (!audited.ok()) {
    std::fprintf(stderr, "kentra-node %s: could not audit a refusal: %s\n", centre_id_.c_str(),
                 audited.ToString().c_str());
  }
  return ToGrpcStatus(refusal);
}

grpc::Status StaffServiceImpl::CreateBeneficiary(grpc::ServerContext* ctx,
                                                 const v1::CreateBeneficiaryRequest* req,
                                                 v1::Beneficiary* resp) {
  return Serve(ctx, "CreateBeneficiary", [&](const Actor& actor) { return Reply(records_->CreateBeneficiary(actor, *req), resp); });
}
grpc::Status StaffServiceImpl::GetBeneficiary(grpc::ServerContext* ctx, const v1::GetBeneficiaryRequest* req,
                                              v1::Beneficiary* resp) {
  return Serve(ctx, "GetBeneficiary", [&](const Actor&) { return Reply(records_->GetBeneficiary(req->name()), resp); });
}
grpc::Status StaffServiceImpl::UpdateBeneficiary(grpc::ServerContext* ctx,
                                                 const v1::UpdateBeneficiaryRequest* req,
                                                 v1::Beneficiary* resp) {
  return Serve(ctx, "UpdateBeneficiary", [&](const Actor& actor) { return Reply(records_->UpdateBeneficiary(actor, *req), resp); });
}
grpc::Status StaffServiceImpl::ListBeneficiaries(grpc::ServerContext* ctx,
                                                 const v1::ListBeneficiariesRequest* req,
                                                 v1::ListBeneficiariesResponse* resp) {
  return Serve(ctx, "ListBeneficiaries", [&](const Actor&) { return Reply(records_->ListBeneficiaries(*req), resp); });
}
grpc::Status StaffServiceImpl::SearchBeneficiaries(grpc::ServerContext* ctx,
                                                   const v1::SearchBeneficiariesRequest* req,
                                                   v1::SearchBeneficiariesResponse* resp) {
  return Serve(ctx, "SearchBeneficiaries", [&](const Actor&) { return Reply(records_->SearchBeneficiaries(*req), resp); });
}
grpc::Status StaffServiceImpl::RecordConsent(grpc::ServerContext* ctx, const v1::RecordConsentRequest* req,
                                             v1::Beneficiary* resp) {
  return Serve(ctx, "RecordConsent", [&](const Actor& actor) { return Reply(records_->RecordConsent(actor, *req), resp); });
}
grpc::Status StaffServiceImpl::OpenCase(grpc::ServerContext* ctx, const v1::OpenCaseRequest* req,
                                        v1::Case* resp) {
  return Serve(ctx, "OpenCase", [&](const Actor& actor) { return Reply(records_->OpenCase(actor, *req), resp); });
}
grpc::Status StaffServiceImpl::GetCase(grpc::ServerContext* ctx, const v1::GetCaseRequest* req, v1::Case* resp) {
  return Serve(ctx, "GetCase", [&](const Actor&) { return Reply(records_->GetCase(req->name()), resp); });
}
grpc::Status StaffServiceImpl::ListCases(grpc::ServerContext* ctx, const v1::ListCasesRequest* req,
                                         v1::ListCasesResponse* resp) {
  return Serve(ctx, "ListCases", [&](const Actor&) { return Reply(records_->ListCases(*req), resp); });
}
grpc::Status StaffServiceImpl::CloseCase(grpc::ServerContext* ctx, const v1::CloseCaseRequest* req,
                                         v1::Case* resp) {
  return Serve(ctx, "CloseCase", [&](const Actor& actor) { return Reply(records_->CloseCase(actor, *req), resp); });
}
grpc::Status StaffServiceImpl::ReopenCase(grpc::ServerContext* ctx, const v1::ReopenCaseRequest* req,
                                          v1::Case* resp) {
  return Serve(ctx, "ReopenCase", [&](const Actor& actor) { return Reply(records_->ReopenCase(actor, *req), resp); });
}
grpc::Status StaffServiceImpl::RecordServiceEvent(grpc::ServerContext* ctx,
                                                  const v1::RecordServiceEventRequest* req,
                                                  v1::ServiceEvent* resp) {
  return Serve(ctx, "RecordServiceEvent", [&](const Actor& actor) { return Reply(records_->RecordServiceEvent(actor, *req), resp); });
}
grpc::Status StaffServiceImpl::ListServiceEvents(grpc::ServerContext* ctx,
                                                 const v1::ListServiceEventsRequest* req,
                                                 v1::ListServiceEventsResponse* resp) {
  return Serve(ctx, "ListServiceEvents", [&](const Actor&) { return Reply(records_->ListServiceEvents(*req), resp); });
}
grpc::Status StaffServiceImpl::ListAuditEntries(grpc::ServerContext* ctx,
                                                const v1::ListAuditEntriesRequest* req,
                                                v1::ListAuditEntriesResponse* resp) {
  return Serve(ctx, "ListAuditEntries", [&](const Actor&) { return Reply(records_->ListAuditEntries(*req), resp); });
}

}  // namespace kentra::node
