#include "hub/directory_service.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kentra::hub {
namespace {

namespace rv1 = kentra::referral::v1;
constexpr char kService[] = "DirectoryService";

}  // namespace

absl::StatusOr<DirectoryServiceImpl::Published> DirectoryServiceImpl::Current() {
  if (path_.empty()) return absl::NotFoundError("the operator has published no directory on this hub (--directory)");
  absl::MutexLock lock(&mu_);
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(path_, ec);
  if (!ec && loaded_ && mtime == loaded_mtime_) return current_;
  Published fresh;
  std::ifstream in(path_, std::ios::binary);
  rv1::Directory directory;
  if (ec || !in || !fresh.signed_directory.ParseFromIstream(&in) ||
      !directory.ParseFromString(fresh.signed_directory.directory()) || directory.version() <= 0) {
    const std::string why = absl::StrCat(path_, " is not a signed directory (kentractl directory sign)");
    std::fprintf(stderr, "kentra-hub: %s%s\n", why.c_str(), loaded_ ? "; still serving the last good one" : "");
    if (loaded_) return current_;
    return absl::FailedPreconditionError(why);
  }
  fresh.version = directory.version();
  if (loaded_ && fresh.version != current_.version) {
    std::fprintf(stderr, "kentra-hub: now publishing directory version %lld\n", static_cast<long long>(fresh.version));
  }
  current_ = std::move(fresh);
  loaded_mtime_ = mtime;
  loaded_ = true;
  return current_;
}

grpc::Status DirectoryServiceImpl::GetDirectory(grpc::ServerContext* ctx, const v1::GetDirectoryRequest* req,
                                                rv1::SignedDirectory* resp) {
  auto caller = access_->AdmitCentre(ctx, kService, "GetDirectory", *registry_);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<Published> current = Current();
  absl::Status status = current.status();
  if (status.ok() && req->known_version() < 0) status = absl::InvalidArgumentError("known_version: must not be negative");
  access_->Audit(ctx, Principal{Principal::Kind::kCentre, *caller, ""}, kService, "GetDirectory",
                 absl::StrCat("known version ", req->known_version(), current.ok() ? absl::StrCat(", current ", current->version) : ""),
                 status);
  if (!status.ok()) return ToGrpcStatus(status);
  if (req->known_version() != current->version) *resp = current->signed_directory;
  return grpc::Status::OK;
}

}  // namespace kentra::hub
