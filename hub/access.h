// Who may call what on the hub, and the door every hub RPC goes through: the
// caller's identity comes from its verified certificate only; one table says which
// kinds of caller each method allows; every refusal is logged.
#ifndef KENTRA_HUB_ACCESS_H_
#define KENTRA_HUB_ACCESS_H_

#include <cstdint>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "common/identity.h"
#include "common/tls.h"
#include "hub/audit_log.h"
#include "hub/centre_registry.h"

namespace kentra::hub {

// One row of the hub's table: which principal kinds may call service.method
// (bit 1 << Principal::Kind).
struct HubMethodRule {
  absl::string_view service;
  absl::string_view method;
  uint32_t allowed;
};
const std::vector<HubMethodRule>& HubAuthorizationTable();

// OK if `caller`'s kind may call `service`.`method`, else PERMISSION_DENIED (also
// for a method the table does not list).
absl::Status AuthorizeHubCall(absl::string_view service, absl::string_view method, const Principal& caller);

class HubAccess {
 public:
  // Neither is owned; both must outlive this. The hub has no plaintext mode:
  // every caller's identity is a verified certificate.
  HubAccess(const PeerVerifier* verifier, HubAuditLog* audit) : verifier_(verifier), audit_(audit) {}

  // The verified caller of `service`.`method`, or the refusal (logged and
  // audited): UNAUTHENTICATED or PERMISSION_DENIED.
  absl::StatusOr<Principal> Admit(grpc::ServerContext* ctx, absl::string_view service,
                                  absl::string_view method) const;
  // Like Admit, for methods only centres call: the calling centre's id, if the
  // certificate names a centre `registry` knows; else PERMISSION_DENIED (audited).
  absl::StatusOr<std::string> AdmitCentre(grpc::ServerContext* ctx, absl::string_view service,
                                          absl::string_view method, const CentreRegistry& registry) const;
  // Audits an admitted call: what was asked and what it got.
  void Audit(grpc::ServerContext* ctx, const Principal& caller, absl::string_view service, absl::string_view method,
             absl::string_view detail, const absl::Status& outcome) const;
  // Audits the parts of an admitted call (a batch's messages), a line each, in one write.
  void AuditAll(grpc::ServerContext* ctx, const Principal& caller, absl::string_view service,
                absl::string_view method, const std::vector<HubAuditLog::Line>& lines) const;

 private:
  const PeerVerifier* verifier_;
  HubAuditLog* audit_;
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_ACCESS_H_
