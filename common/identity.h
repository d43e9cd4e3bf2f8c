// Who is at the other end of a connection: the kentra identity that the peer's
// verified certificate names in its subject alternative name, as a URI
// (kentra://centre/thessaloniki, kentra://staff/kassandra,
// kentra://authority/central-macedonia, kentra://operator, kentra://hub).
#ifndef KENTRA_COMMON_IDENTITY_H_
#define KENTRA_COMMON_IDENTITY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kentra {

struct Principal {
  enum class Kind {
    kNone,            // no verified identity
    kHub,             // the federation hub
    kCentre,          // a centre's node; id is the centre
    kStaffTerminal,   // a staff terminal of a centre; id is the centre
    kAuthority,       // a regional authority; id is its region
    kOperator,        // the federation operator
    kLocalInsecure,   // a plaintext caller on loopback (--insecure, development only)
  };
  Kind kind = Kind::kNone;
  std::string id;
  // The certificate's serial number in upper-case hex ("" without a certificate).
  std::string serial;

  // "centre/thessaloniki", "staff/kassandra", "authority/peloponnese", "operator",
  // "hub", "insecure-loopback" or "unauthenticated".
  std::string ToString() const;
};

// Parses "kentra://<kind>[/<id>]". INVALID_ARGUMENT for anything else.
absl::StatusOr<Principal> PrincipalFromUri(absl::string_view uri);

}  // namespace kentra

#endif  // KENTRA_COMMON_IDENTITY_H_
