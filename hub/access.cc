#include "hub/access.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace kentra::hub {
namespace {

constexpr uint32_t Bit(Principal::Kind k) { return 1u << static_cast<int>(k); }

}  // namespace

const std::vector<HubMethodRule>& HubAuthorizationTable() {
  static const auto* table = new std::vector<HubMethodRule>{
      {"SyncService", "PushPeriod", Bit(Principal::Kind::kCentre)},
      {"SyncService", "FinishSync", Bit(Principal::Kind::kCentre)},
      {"StatsService", "QueryIndicators", Bit(Principal::Kind::kAuthority)},
      {"StatsService", "GetEsfReport", Bit(Principal::Kind::kAuthority)},
      {"StatsService", "GetReferralReport", Bit(Principal::Kind::kAuthority)},
      {"SyncService", "ListHeldPeriods", Bit(Principal::Kind::kCentre)},
      {"MailboxService", "PostMessage", Bit(Principal::Kind::kCentre)},
      {"MailboxService", "BatchPostMessages", Bit(Principal::Kind::kCentre)},
      {"MailboxService", "FetchMessages", Bit(Principal::Kind::kCentre)},
      {"MailboxService", "WatchMessages", Bit(Principal::Kind::kCentre)},
      {"MailboxService", "AckMessages", Bit(Principal::Kind::kCentre)},
      {"MailboxService", "CheckPosts", Bit(Principal::Kind::kCentre)},
      {"MailboxService", "ReconcileMailbox", Bit(Principal::Kind::kCentre)},
      {"DirectoryService", "GetDirectory", Bit(Principal::Kind::kCentre)},
      {"AdminService", "ListCentres", Bit(Principal::Kind::kOperator)},
      {"AdminService", "ListHubAuditEntries", Bit(Principal::Kind::kOperator)},
      {"AdminService", "CreateBackup", Bit(Principal::Kind::kOperator)},
      {"AdminService", "ListBackups", Bit(Principal::Kind::kOperator)},
      {"AdminService", "ListAuthorityUsage", Bit(Principal::Kind::kOperator)},
  };
  return *table;
}

absl::Status AuthorizeHubCall(absl::string_view service, absl::string_view method, const Principal& caller) {
  for (const HubMethodRule& rule : HubAuthorizationTable()) {
    if (rule.service != service || rule.method != method) continue;
    if ((rule.allowed & Bit(caller.kind)) != 0) return absl::OkStatus();
    return absl::PermissionDeniedError(absl::StrCat(caller.ToString(), " may not call ", method));
  }
  return absl::PermissionDeniedError(absl::StrCat(service, ".", method, " is not in the hub's authorization table"));
}

absl::StatusOr<Principal> HubAccess::Admit(grpc::ServerContext* ctx, absl::string_view service,
                                           absl::string_view method) const {
  absl::StatusOr<Principal> principal = verifier_->Verify(*ctx->auth_context());
  absl::Status refusal = principal.ok() ? AuthorizeHubCall(service, method, *principal) : principal.status();
  if (refusal.ok()) return principal;
  std::fprintf(stderr, "kentra-hub: refused %.*s.%.*s from %s (%s): %s\n", static_cast<int>(service.size()),
               service.data(), static_cast<int>(method.size()), method.data(), ctx->peer().c_str(),
               principal.ok() ? principal->ToString().c_str() : "unauthenticated", refusal.ToString().c_str());
  Audit(ctx, principal.ok() ? *principal : Principal(), service, method, "", refusal);
  return refusal;
}

absl::StatusOr<std::string> HubAccess::AdmitCentre(grpc::ServerContext* ctx, absl::string_view service,
                                                   absl::string_view method, const CentreRegistry& registry) const {
  absl::StatusOr<Principal> caller = Admit(ctx, service, method);
  if (!caller.ok()) return caller.status();
  if (registry.Centre(caller->id) == nullptr) {
    const auto refusal = absl::PermissionDeniedError(absl::StrCat(caller->ToString(), " is not a centre of this federation"));
    Audit(ctx, *caller, service, method, "", refusal);
    return refusal;
  }
  return caller->id;
}

void HubAccess::Audit(grpc::ServerContext* ctx, const Principal& caller, absl::string_view service,
                      absl::string_view method, absl::string_view detail, const absl::Status& outcome) const {
  AuditAll(ctx, caller, service, method, {HubAuditLog::Line{std::string(detail), outcome}});
}

void HubAccess::AuditAll(grpc::ServerContext* ctx, const Principal& caller, absl::string_view service,
                         absl::string_view method, const std::vector<HubAuditLog::Line>& lines) const {
  absl::Status written = audit_->RecordAll(caller.ToString(), ctx->peer(), absl::StrCat(service, ".", method), lines);
  if (!written.ok()) std::fprintf(stderr, "kentra-hub: could not audit a call: %s\n", written.ToString().c_str());
}

}  // namespace kentra::hub
