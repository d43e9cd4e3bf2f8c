#include "node/access.h"

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "node/authorization.h"

namespace kentra::node {
namespace {

// The table's view of a verified certificate identity.
CallerKind KindOf(const Principal& p, absl::string_view centre_id) {
  switch (p.kind) {
    case Principal::Kind::kStaffTerminal:
      return p.id == centre_id ? CallerKind::kTerminal : CallerKind::kOtherCentreTerminal;
    case Principal::Kind::kLocalInsecure: return CallerKind::kTerminal;
    case Principal::Kind::kCentre: return CallerKind::kCentreNode;
    case Principal::Kind::kHub: return CallerKind::kHub;
    case Principal::Kind::kAuthority: return CallerKind::kAuthority;
    case Principal::Kind::kOperator: return CallerKind::kOperator;
    case Principal::Kind::kNone: break;
  }
  return CallerKind::kCount;
}

// The bearer token in the call's metadata, if any.
std::optional<std::string> BearerToken(const grpc::ServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(kAuthorizationMetadataKey);
  if (it == md.end()) return std::nullopt;
  absl::string_view value(it->second.data(), it->second.size());
  absl::ConsumePrefix(&value, kBearerPrefix);
  return std::string(value);
}

}  // namespace

absl::Status AccessControl::Refuse(const Actor& actor, absl::string_view method, const absl::Status& refusal) {
  std::fprintf(stderr, "kentra-node %s: refused %.*s from %s (%s): %s\n", centre_id_.c_str(),
               static_cast<int>(method.size()), method.data(), actor.peer.c_str(), actor.name.c_str(),
               refusal.ToString().c_str());
  absl::Status audited = audit_->AuditRefusal(actor, method, refusal);
  if (!audited.ok()) {
    std::fprintf(stderr, "kentra-node %s: could not audit a refusal: %s\n", centre_id_.c_str(),
                 audited.ToString().c_str());
  }
  return refusal;
}

absl::StatusOr<Actor> AccessControl::Admit(grpc::ServerContext* ctx, absl::string_view service,
                                           absl::string_view method, StaffSession* session) {
  Actor actor;
  actor.peer = ctx->peer();
  Principal principal{Principal::Kind::kLocalInsecure, "", ""};
  if (verifier_ != nullptr) {
    absl::StatusOr<Principal> verified = verifier_->Verify(*ctx->auth_context());
    if (!verified.ok()) {
      actor.name = actor.principal = Principal().ToString();
      return Refuse(actor, method, verified.status());
    }
    principal = *std::move(verified);
  }
  actor.name = actor.principal = principal.ToString();
  CallerKind kind = KindOf(principal, centre_id_);
  if (kind == CallerKind::kCount) {
    return Refuse(actor, method, absl::UnauthenticatedError("the certificate names no kentra identity"));
  }
  if (kind == CallerKind::kTerminal && method != "Login") {
    if (std::optional<std::string> token = BearerToken(ctx)) {
      absl::StatusOr<StaffSession> found = accounts_->Authenticate(*token);
      if (!found.ok()) return Refuse(actor, method, found.status());
      *session = *std::move(found);
      actor.name = absl::StrCat("users/", session->user_id);
      actor.user = session->user_id;
      actor.role = session->role;
      kind = CallerKindOf(session->role);
    }
  }
  absl::Status allowed = Authorize(service, method, kind);
  if (!allowed.ok()) return Refuse(actor, method, allowed);
  if (session->password_change_required && method != "ChangePassword" && method != "Logout") {
    return Refuse(actor, method,
                  absl::FailedPreconditionError(
                      "the password is temporary: change it first (kentractl passwd)"));
  }
  return actor;
}

}  // namespace kentra::node
