#include "node/authorization.h"

#include "absl/strings/str_cat.h"

namespace kentra::node {
namespace {

constexpr uint32_t Bit(CallerKind k) { return 1u << static_cast<int>(k); }

constexpr uint32_t kCoordinatorOnly = Bit(CallerKind::kCoordinator);
// Who may change records: everyone at the centre but viewers.
constexpr uint32_t kWriters = Bit(CallerKind::kCoordinator) | Bit(CallerKind::kSocialWorker) |
                              Bit(CallerKind::kPsychologist);
// Who may read records: every logged-in staff member.
constexpr uint32_t kReaders = kWriters | Bit(CallerKind::kViewer);
// Log-in needs only one of the centre's terminals (with or without a session).
constexpr uint32_t kTerminals = kReaders | Bit(CallerKind::kTerminal);

}  // namespace

std::string CallerKindName(CallerKind kind) {
  switch (kind) {
    case CallerKind::kCoordinator: return "coordinator";
    case CallerKind::kSocialWorker: return "social_worker";
    case CallerKind::kPsychologist: return "psychologist";
    case CallerKind::kViewer: return "viewer";
    case CallerKind::kTerminal: return "staff terminal without a session";
    case CallerKind::kOtherCentreTerminal: return "another centre's staff terminal";
    case CallerKind::kCentreNode: return "a centre's node";
    case CallerKind::kHub: return "the hub";
    case CallerKind::kAuthority: return "a regional authority";
    case CallerKind::kOperator: return "the operator";
    case CallerKind::kCount: break;
  }
  return "unknown caller";
}

CallerKind CallerKindOf(kentra::node::v1::StaffRole role) {
  switch (role) {
    case kentra::node::v1::STAFF_ROLE_COORDINATOR: return CallerKind::kCoordinator;
    case kentra::node::v1::STAFF_ROLE_SOCIAL_WORKER: return CallerKind::kSocialWorker;
    case kentra::node::v1::STAFF_ROLE_PSYCHOLOGIST: return CallerKind::kPsychologist;
    case kentra::node::v1::STAFF_ROLE_VIEWER: return CallerKind::kViewer;
    default: return CallerKind::kTerminal;  // no usable role: as good as no session
  }
}

const std::vector<MethodRule>& AuthorizationTable() {
  static const auto* table = new std::vector<MethodRule>{
      {"AccountService", "Login", kTerminals},
      {"AccountService", "Logout", kReaders},
      {"AccountService", "ChangePassword", kReaders},
      {"AccountService", "CreateUser", kCoordinatorOnly},
      {"AccountService", "ListUsers", kCoordinatorOnly},
      {"AccountService", "UpdateUser", kCoordinatorOnly},
      {"AccountService", "ResetPassword", kCoordinatorOnly},

      {"StaffService", "CreateBeneficiary", kWriters},
      {"StaffService", "GetBeneficiary", kReaders},
      {"StaffService", "UpdateBeneficiary", kWriters},
      {"StaffService", "ListBeneficiaries", kReaders},
      {"StaffService", "SearchBeneficiaries", kReaders},
      {"StaffService", "RecordConsent", kWriters},
      {"StaffService", "OpenCase", kWriters},
      {"StaffService", "GetCase", kReaders},
      {"StaffService", "ListCases", kReaders},
      {"StaffService", "CloseCase", kWriters},
      {"StaffService", "ReopenCase", kWriters},
      {"StaffService", "RecordServiceEvent", kWriters},
      {"StaffService", "ListServiceEvents", kReaders},
      {"StaffService", "ListAuditEntries", kCoordinatorOnly},
      {"StaffService", "GetIndicators", kReaders},
      {"StaffService", "CloseMonth", kCoordinatorOnly},
      {"StaffService", "SyncNow", kCoordinatorOnly},
      {"StaffService", "StreamSync", kCoordinatorOnly},
      {"StaffService", "ListSyncRuns", kCoordinatorOnly},
      {"StaffService", "CreateBackup", kCoordinatorOnly},
      {"StaffService", "ListBackups", kCoordinatorOnly},

      {"ReferralService", "CreateReferral", kWriters},
      {"ReferralService", "ResolveReferralTargets", kReaders},
      {"ReferralService", "GetReferral", kReaders},
      {"ReferralService", "ListReferrals", kReaders},
      {"ReferralService", "AcceptReferral", kWriters},
      {"ReferralService", "RejectReferral", kWriters},
      {"ReferralService", "StartReferral", kWriters},
      {"ReferralService", "CompleteReferral", kWriters},
      {"ReferralService", "CancelReferral", kWriters},
      {"ReferralService", "WatchReferrals", kReaders},
  };
  return *table;
}

absl::Status Authorize(absl::string_view service, absl::string_view method, CallerKind kind) {
  for (const MethodRule& rule : AuthorizationTable()) {
    if (rule.service != service || rule.method != method) continue;
    if ((rule.allowed & Bit(kind)) != 0) return absl::OkStatus();
    if (kind == CallerKind::kTerminal && (rule.allowed & kReaders) != 0) {
      return absl::UnauthenticatedError(absl::StrCat(method, " needs a staff session: log in first (kentractl login)"));
    }
    return absl::PermissionDeniedError(absl::StrCat(CallerKindName(kind), " may not call ", method));
  }
  return absl::PermissionDeniedError(absl::StrCat(service, ".", method, " is not in the authorization table"));
}

}  // namespace kentra::node
