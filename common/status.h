// Status helpers shared by every kentra library: early-return macros, and the one
// seam where absl::Status becomes grpc::Status at the RPC edge.
#ifndef KENTRA_COMMON_STATUS_H_
#define KENTRA_COMMON_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KENTRA_STATUS_CONCAT_INNER_(a, b) a##b
#define KENTRA_STATUS_CONCAT_(a, b) KENTRA_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define KENTRA_RETURN_IF_ERROR(expr)             \
  do {                                           \
    ::absl::Status kentra_status_ = (expr);      \
    if (!kentra_status_.ok()) return kentra_status_; \
  } while (0)

#define KENTRA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(*tmp)

// `lhs = value of expr` (an absl::StatusOr<T>), or returns its error.
#define KENTRA_ASSIGN_OR_RETURN(lhs, expr) \
  KENTRA_ASSIGN_OR_RETURN_IMPL_(KENTRA_STATUS_CONCAT_(kentra_statusor_, __LINE__), lhs, expr)

namespace kentra {

// Converts an absl::Status to the grpc::Status sent to a client: same code, same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Converts a grpc::Status received from a server to an absl::Status.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace kentra

#endif  // KENTRA_COMMON_STATUS_H_
