// Opaque List page tokens: the last key read, bound to the listing and its filters,
// MAC'ed with a node-local key so a client cannot forge or alter one, and expiring.
#ifndef KENTRA_NODE_PAGE_TOKEN_H_
#define KENTRA_NODE_PAGE_TOKEN_H_

#include <string>

#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace kentra::node {

class PageTokens {
 public:
  // How long a token stays valid.
  static constexpr absl::Duration kLifetime = absl::Hours(24);

  // `key`: 32 secret bytes; `clock` is not owned. Thread-safe.
  PageTokens(std::string key, const Clock* clock) : key_(std::move(key)), clock_(clock) {}

  // Digest of a List request with its page_token and page_size cleared: what a
  // token is bound to.
  static std::string FilterDigest(const google::protobuf::Message& request);

  // A token that resumes `listing` after `last_key`.
  std::string Issue(absl::string_view listing, absl::string_view filter_digest,
                    absl::string_view last_key) const;

  // The last key to resume after ("" for an empty token). INVALID_ARGUMENT naming
  // page_token if it is malformed, forged, expired or issued for other filters.
  absl::StatusOr<std::string> Resume(absl::string_view token, absl::string_view listing,
                                     absl::string_view filter_digest) const;

 private:
  std::string key_;
  const Clock* clock_;
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_PAGE_TOKEN_H_
