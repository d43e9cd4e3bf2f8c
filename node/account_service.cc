#include "node/account_service.h"

namespace kentra::node {
namespace {
constexpr char kService[] = "AccountService";
}  // namespace

grpc::Status AccountServiceImpl::Login(grpc::ServerContext* ctx, const v1::LoginRequest* req,
                                       v1::LoginResponse* resp) {
  return ServeAdmitted(*access_, ctx, kService, "Login", resp, [&](const Actor& actor, const StaffSession&) {
    return access_->accounts()->Login(actor, *req);
  });
}

grpc::Status AccountServiceImpl::Logout(grpc::ServerContext* ctx, const v1::LogoutRequest*,
                                        v1::LogoutResponse* resp) {
  return ServeAdmitted(*access_, ctx, kService, "Logout", resp,
                       [&](const Actor& actor, const StaffSession& session) -> absl::StatusOr<v1::LogoutResponse> {
                         KENTRA_RETURN_IF_ERROR(access_->accounts()->Logout(actor, session));
                         return v1::LogoutResponse();
                       });
}

grpc::Status AccountServiceImpl::ChangePassword(grpc::ServerContext* ctx, const v1::ChangePasswordRequest* req,
                                                v1::ChangePasswordResponse* resp) {
  return ServeAdmitted(*access_, ctx, kService, "ChangePassword", resp,
                       [&](const Actor& actor, const StaffSession&) {
                         return access_->accounts()->ChangePassword(actor, *req);
                       });
}

grpc::Status AccountServiceImpl::CreateUser(grpc::ServerContext* ctx, const v1::CreateUserRequest* req,
                                            v1::User* resp) {
  return ServeAdmitted(*access_, ctx, kService, "CreateUser", resp, [&](const Actor& actor, const StaffSession&) {
    return access_->accounts()->CreateUser(actor, *req);
  });
}

grpc::Status AccountServiceImpl::ListUsers(grpc::ServerContext* ctx, const v1::ListUsersRequest* req,
                                           v1::ListUsersResponse* resp) {
  return ServeAdmitted(*access_, ctx, kService, "ListUsers", resp, [&](const Actor&, const StaffSession&) {
    return access_->accounts()->ListUsers(*req);
  });
}

grpc::Status AccountServiceImpl::UpdateUser(grpc::ServerContext* ctx, const v1::UpdateUserRequest* req,
                                            v1::User* resp) {
  return ServeAdmitted(*access_, ctx, kService, "UpdateUser", resp, [&](const Actor& actor, const StaffSession&) {
    return access_->accounts()->UpdateUser(actor, *req);
  });
}

grpc::Status AccountServiceImpl::ResetPassword(grpc::ServerContext* ctx, const v1::ResetPasswordRequest* req,
                                               v1::User* resp) {
  return ServeAdmitted(*access_, ctx, kService, "ResetPassword", resp,
                       [&](const Actor& actor, const StaffSession&) {
                         return access_->accounts()->ResetPassword(actor, *req);
                       });
}

}  // namespace kentra::node
