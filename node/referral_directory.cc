#include "node/referral_directory.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/sealing.h"
#include "common/status.h"
#include "common/text_fold.h"
#include "node/schema.h"

namespace kentra::node {
namespace {

namespace rv1 = kentra::referral::v1;
namespace tv1 = kentra::type::v1;
namespace cv1 = kentra::config::v1;


// The branch that provides `service`, if one does.
cv1::Branch BranchFor(tv1::ServiceType service) {
  switch (service) {
    case tv1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT: return cv1::BRANCH_MIGRANT_INTEGRATION;
    case tv1::SERVICE_TYPE_ROMA_SUPPORT: return cv1::BRANCH_ROMA;
    default: return cv1::BRANCH_UNSPECIFIED;
  }
}

// "Δήμος Θεσσαλονίκης" -> "θεσσαλονικης"; other names are only folded.
std::string FoldPlace(absl::string_view name) {
  std::string folded = FoldForSearch(name);
  for (absl::string_view prefix : {"δημος ", "δημοτικη ενοτητα ", "δημοτικη κοινοτητα "}) {
    if (absl::StartsWith(folded, prefix)) return folded.substr(prefix.size());
  }
  return folded;
}

bool Serves(const rv1::DirectoryCentre& c, const std::string& place) {
  if (FoldPlace(c.municipality().el()) == place || FoldPlace(c.municipality().latin()) == place) return true;
  return std::any_of(c.areas_served().begin(), c.areas_served().end(),
                     [&](const std::string& area) { return FoldPlace(area) == place; });
}

bool Offers(const rv1::DirectoryCentre& c, tv1::ServiceType service) {
  return std::find(c.services().begin(), c.services().end(), service) != c.services().end();
}

v1::ReferralTarget TargetAt(const rv1::DirectoryCentre& c, tv1::ServiceType service, v1::ReferralTargetMatch match) {
  v1::ReferralTarget t;
  t.set_centre(c.id());
  *t.mutable_centre_name() = c.name();
  t.set_match(match);
  const cv1::Site* site = c.sites_size() == 1 ? &c.sites(0) : nullptr;
  if (const cv1::Branch branch = BranchFor(service); branch != cv1::BRANCH_UNSPECIFIED) {
    for (const auto& s : c.sites()) {
      if (std::find(s.branches().begin(), s.branches().end(), branch) != s.branches().end()) {
        site = &s;
        break;
      }
    }
  }
  if (site != nullptr) {
    t.set_site(site->id());
    *t.mutable_site_details() = *site;
  }
  return t;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReferralDirectory>> ReferralDirectory::Open(Store* store, int cf,
                                                                           std::string root_public) {
  auto directory = std::unique_ptr<ReferralDirectory>(new ReferralDirectory(store, cf, std::move(root_public)));
  KENTRA_ASSIGN_OR_RETURN(auto cached, store->Get(cf, kMetaReferralDirectory));
  if (!cached) return directory;
  rv1::SignedDirectory signed_directory;
  if (!signed_directory.ParseFromString(*cached)) return absl::DataLossError("the cached directory cannot be read");
  // Checked again: a root key changed since (a new operator key) drops it.
  absl::StatusOr<rv1::Directory> verified = VerifyDirectory(directory->root_public_, signed_directory);
  if (verified.ok()) directory->current_ = std::make_shared<const rv1::Directory>(*std::move(verified));
  return directory;
}

absl::StatusOr<bool> ReferralDirectory::Offer(const rv1::SignedDirectory& signed_directory) {
  KENTRA_ASSIGN_OR_RETURN(rv1::Directory directory, VerifyDirectory(root_public_, signed_directory));
  absl::MutexLock lock(&mu_);
  const int64_t held = current_ ? current_->version() : 0;
  if (directory.version() == held) return false;
  if (directory.version() < held) {
    return absl::FailedPreconditionError(absl::StrCat("the directory offered is version ", directory.version(),
                                                      ", older than version ", held, " held here"));
  }
  WriteBatch batch;
  batch.Put(cf_, kMetaReferralDirectory, signed_directory.SerializeAsString());
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  current_ = std::make_shared<const rv1::Directory>(std::move(directory));
  return true;
}

std::shared_ptr<const rv1::Directory> ReferralDirectory::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

int64_t ReferralDirectory::version() const {
  absl::MutexLock lock(&mu_);
  return current_ ? current_->version() : 0;
}

std::vector<v1::ReferralTarget> ResolveTargets(const rv1::Directory& directory, tv1::ServiceType service,
                                               absl::string_view municipality, absl::string_view sender) {
  const std::string place = FoldPlace(municipality);
  std::vector<v1::ReferralTarget> out;
  std::vector<std::string> regions;  // of the centres serving the place
  for (const auto& c : directory.centres()) {
    if (!Serves(c, place)) continue;
    regions.push_back(c.region());
    if (c.id() != sender && Offers(c, service)) out.push_back(TargetAt(c, service, v1::REFERRAL_TARGET_MATCH_SERVES_AREA));
  }
  if (!out.empty()) return out;
  if (regions.empty()) {
    for (const auto& c : directory.centres()) {
      if (c.id() == sender) regions.push_back(c.region());
    }
  }
  for (const auto& c : directory.centres()) {
    if (c.id() == sender || !Offers(c, service)) continue;
    if (std::find(regions.begin(), regions.end(), c.region()) == regions.end()) continue;
    out.push_back(TargetAt(c, service, v1::REFERRAL_TARGET_MATCH_SAME_REGION));
  }
  return out;
}

absl::Status CheckSite(const rv1::Directory& directory, absl::string_view centre, absl::string_view site,
                       absl::string_view field) {
  if (site.empty()) return absl::OkStatus();
  for (const auto& c : directory.centres()) {
    if (c.id() != centre) continue;
    std::vector<std::string> ids;
    for (const auto& s : c.sites()) {
      if (s.id() == site) return absl::OkStatus();
      ids.push_back(s.id());
    }
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", centre, " has no site '", site, "' (its sites: ",
                                                   ids.empty() ? "none" : absl::StrJoin(ids, ", "), ")"));
  }
  return absl::OkStatus();
}

}  // namespace kentra::node
