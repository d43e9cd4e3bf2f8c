// AccessControl: the door of every RPC a node serves. Reads who is calling from
// the verified client certificate and, from one of the centre's staff terminals,
// the session token; asks the authorization table whether they may call the
// method; and logs and audits every refusal. Handlers receive the Actor it admits.
#ifndef KENTRA_NODE_ACCESS_H_
#define KENTRA_NODE_ACCESS_H_

#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "common/status.h"
#include "common/tls.h"
#include "node/accounts.h"
#include "node/records.h"

namespace kentra::node {

class AccessControl {
 public:
  // None is owned. A null `verifier` means plaintext on loopback (--insecure):
  // callers count as the centre's staff terminals, and still need a session.
  AccessControl(std::string centre_id, const PeerVerifier* verifier, StaffAccounts* accounts,
                CentreRecords* audit)
      : centre_id_(std::move(centre_id)), verifier_(verifier), accounts_(accounts), audit_(audit) {}

  // The actor calling `service`.`method`, with their session if they sent one
  // (and the method is not Login); or the refusal, already logged and audited:
  // UNAUTHENTICATED (bad certificate, no or bad session), PERMISSION_DENIED (the
  // table says no), FAILED_PRECONDITION (a temporary password not yet changed).
  absl::StatusOr<Actor> Admit(grpc::ServerContext* ctx, absl::string_view service, absl::string_view method,
                              StaffSession* session);

  StaffAccounts* accounts() const { return accounts_; }
  CentreRecords* records() const { return audit_; }

 private:
  absl::Status Refuse(const Actor& actor, absl::string_view method, const absl::Status& refusal);

  std::string centre_id_;
  const PeerVerifier* verifier_;
  StaffAccounts* accounts_;
  CentreRecords* audit_;
};

// Runs `body(actor, session)` if `access` admits the call, and turns its
// absl::Status (or StatusOr, copied into `response`) into the grpc::Status.
template <typename Response, typename Body>
grpc::Status ServeAdmitted(AccessControl& access, grpc::ServerContext* ctx, absl::string_view service,
                           absl::string_view method, Response* response, const Body& body) {
  StaffSession session;
  absl::StatusOr<Actor> actor = access.Admit(ctx, service, method, &session);
  if (!actor.ok()) return ToGrpcStatus(actor.status());
  auto result = body(*actor, session);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace kentra::node

#endif  // KENTRA_NODE_ACCESS_H_
