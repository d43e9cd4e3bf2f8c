// The gRPC face of StaffAccounts: log-in, sessions and the coordinator's user
// management, each call admitted by AccessControl. No account logic of its own.
#ifndef KENTRA_NODE_ACCOUNT_SERVICE_H_
#define KENTRA_NODE_ACCOUNT_SERVICE_H_

#include "kentra/node/v1/account_service.grpc.pb.h"
#include "node/access.h"

namespace kentra::node {

class AccountServiceImpl final : public v1::AccountService::Service {
 public:
  // `access` is not owned and must outlive the service.
  explicit AccountServiceImpl(AccessControl* access) : access_(access) {}

  grpc::Status Login(grpc::ServerContext* ctx, const v1::LoginRequest* req, v1::LoginResponse* resp) override;
  grpc::Status Logout(grpc::ServerContext* ctx, const v1::LogoutRequest* req, v1::LogoutResponse* resp) override;
  grpc::Status ChangePassword(grpc::ServerContext* ctx, const v1::ChangePasswordRequest* req,
                              v1::ChangePasswordResponse* resp) override;
  grpc::Status CreateUser(grpc::ServerContext* ctx, const v1::CreateUserRequest* req, v1::User* resp) override;
  grpc::Status ListUsers(grpc::ServerContext* ctx, const v1::ListUsersRequest* req,
                         v1::ListUsersResponse* resp) override;
  grpc::Status UpdateUser(grpc::ServerContext* ctx, const v1::UpdateUserRequest* req, v1::User* resp) override;
  grpc::Status ResetPassword(grpc::ServerContext* ctx, const v1::ResetPasswordRequest* req,
                             v1::User* resp) override;

 private:
  AccessControl* access_;
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_ACCOUNT_SERVICE_H_
