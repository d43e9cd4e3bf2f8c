#include "common/identity.h"

#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"

namespace kentra {

std::string Principal::ToString() const {
  switch (kind) {
    case Kind::kNone: return "unauthenticated";
    case Kind::kHub: return "hub";
    case Kind::kCentre: return absl::StrCat("centre/", id);
    case Kind::kStaffTerminal: return absl::StrCat("staff/", id);
    case Kind::kAuthority: return absl::StrCat("authority/", id);
    case Kind::kOperator: return "operator";
    case Kind::kLocalInsecure: return "insecure-loopback";
  }
  return "unauthenticated";
}

absl::StatusOr<Principal> PrincipalFromUri(absl::string_view uri) {
  constexpr absl::string_view kScheme = "kentra://";
  if (!absl::ConsumePrefix(&uri, kScheme)) {
    return absl::InvalidArgumentError("the certificate names no kentra:// identity");
  }
  Principal p;
  if (uri == "hub") {
    p.kind = Principal::Kind::kHub;
    return p;
  }
  if (uri == "operator") {
    p.kind = Principal::Kind::kOperator;
    return p;
  }
  const size_t slash = uri.find('/');
  if (slash == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("unknown kentra identity kentra://", uri));
  }
  const absl::string_view kind = uri.substr(0, slash);
  p.id = std::string(uri.substr(slash + 1));
  if (!IsValidSlug(p.id)) {
    return absl::InvalidArgumentError(absl::StrCat("malformed kentra identity kentra://", uri));
  }
  if (kind == "centre") {
    p.kind = Principal::Kind::kCentre;
  } else if (kind == "staff") {
    p.kind = Principal::Kind::kStaffTerminal;
  } else if (kind == "authority") {
    p.kind = Principal::Kind::kAuthority;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown kentra identity kentra://", uri));
  }
  return p;
}

}  // namespace kentra
