// Who may call what on a centre's node: one table, one row per RPC, saying which
// kinds of caller it allows. Every handler is admitted through Authorize(); a test
// walks every method of every service against every kind of caller.
#ifndef KENTRA_NODE_AUTHORIZATION_H_
#define KENTRA_NODE_AUTHORIZATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "kentra/node/v1/account_service.pb.h"

namespace kentra::node {

// The kinds of caller the table distinguishes.
enum class CallerKind : int {
  // A staff member logged in at one of this centre's terminals, by role.
  kCoordinator = 0,
  kSocialWorker,
  kPsychologist,
  kViewer,
  // One of this centre's staff terminals without a session.
  kTerminal,
  // Another centre's staff terminal.
  kOtherCentreTerminal,
  // A centre's node (this one's or another's).
  kCentreNode,
  kHub,
  kAuthority,
  kOperator,
  kCount,
};

// A short word for `kind` ("coordinator", "another centre's terminal", ...).
std::string CallerKindName(CallerKind kind);
// The caller kind of a logged-in staff role.
CallerKind CallerKindOf(kentra::node::v1::StaffRole role);

// One row of the table: `service` and `method` as the proto names them, and the
// set of caller kinds allowed (bit 1 << kind).
struct MethodRule {
  absl::string_view service;
  absl::string_view method;
  uint32_t allowed;
};

// Every RPC the node serves, with who may call it.
const std::vector<MethodRule>& AuthorizationTable();

// Whether `kind` may call `service`.`method`: OK; UNAUTHENTICATED when a terminal
// without a session calls a method that needs one; PERMISSION_DENIED otherwise,
// and for a method the table does not list.
absl::Status Authorize(absl::string_view service, absl::string_view method, CallerKind kind);

}  // namespace kentra::node

#endif  // KENTRA_NODE_AUTHORIZATION_H_
