// ReferralDirectory: this node's copy of the federation directory (centres,
// sites, services, areas served), checked against the operator's root key and
// kept in RocksDB, so that it survives restarts and serves while the hub is
// down. Only a newer version replaces it. Referral targets are resolved from it
// locally: the hub never learns whom a centre looked up. Thread-safe.
#ifndef KENTRA_NODE_REFERRAL_DIRECTORY_H_
#define KENTRA_NODE_REFERRAL_DIRECTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/storage.h"
#include "kentra/node/v1/referral_service.pb.h"
#include "kentra/referral/v1/directory.pb.h"

namespace kentra::node {

class ReferralDirectory {
 public:
  // `store` is not owned; the cached copy lives in its column family `cf` and is
  // checked again against `root_public` (the operator's Ed25519 key) on load.
  static absl::StatusOr<std::unique_ptr<ReferralDirectory>> Open(Store* store, int cf, std::string root_public);

  // Takes `signed_directory` (as the hub published it) if the operator signed it
  // and it is newer than the one held; true if it replaced it. PERMISSION_DENIED
  // for a bad signature, FAILED_PRECONDITION for an older version; nothing changes.
  absl::StatusOr<bool> Offer(const kentra::referral::v1::SignedDirectory& signed_directory);

  // The directory held, or null before the first one arrived.
  std::shared_ptr<const kentra::referral::v1::Directory> Current() const;
  int64_t version() const;

 private:
  ReferralDirectory(Store* store, int cf, std::string root_public)
      : store_(store), cf_(cf), root_public_(std::move(root_public)) {}

  Store* store_;
  int cf_;
  const std::string root_public_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const kentra::referral::v1::Directory> current_ ABSL_GUARDED_BY(mu_);
};

// Where a person living in `municipality` could be referred for `service`, best
// first, leaving out centre `sender`: first the centres that serve the
// municipality (its areas, or the municipality's own name) and offer the service;
// if none does, the centres of the same region that offer it (the region of the
// municipality's centres, else the sender's). Within a centre, the site with the
// branch the service belongs to (ΚΕΜ for migrant integration, the Roma branch for
// Roma support), or its only site.
std::vector<v1::ReferralTarget> ResolveTargets(const kentra::referral::v1::Directory& directory,
                                               kentra::type::v1::ServiceType service, absl::string_view municipality,
                                               absl::string_view sender);

// INVALID_ARGUMENT naming `field` unless `site` is empty or one of `centre`'s
// sites in `directory`; OK as well for a centre the directory does not list.
absl::Status CheckSite(const kentra::referral::v1::Directory& directory, absl::string_view centre,
                       absl::string_view site, absl::string_view field);

}  // namespace kentra::node

#endif  // KENTRA_NODE_REFERRAL_DIRECTORY_H_
