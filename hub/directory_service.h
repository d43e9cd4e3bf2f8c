// The hub's DirectoryService: publishes the federation directory exactly as the
// operator signed it (kentractl directory sign). The hub reads the file again
// whenever it changes, so publishing a new directory is replacing the file; it
// cannot alter the directory, since every node checks the operator's signature.
#ifndef KENTRA_HUB_DIRECTORY_SERVICE_H_
#define KENTRA_HUB_DIRECTORY_SERVICE_H_

#include <filesystem>
#include <string>

#include "absl/synchronization/mutex.h"
#include "hub/access.h"
#include "hub/centre_registry.h"
#include "kentra/hub/v1/directory_service.grpc.pb.h"

namespace kentra::hub {

class DirectoryServiceImpl final : public v1::DirectoryService::Service {
 public:
  // `path` is the signed directory's file; empty when none is published. None is owned.
  DirectoryServiceImpl(const HubAccess* access, const CentreRegistry* registry, std::string path)
      : access_(access), registry_(registry), path_(std::move(path)) {}

  grpc::Status GetDirectory(grpc::ServerContext* ctx, const v1::GetDirectoryRequest* req,
                            kentra::referral::v1::SignedDirectory* resp) override;

  // The signed directory as the file holds it now, with its version; read again
  // only when the file changed. FAILED_PRECONDITION when the file is not a
  // signed directory (the last good one is still served), NOT_FOUND without one.
  struct Published {
    kentra::referral::v1::SignedDirectory signed_directory;
    int64_t version = 0;
  };
  absl::StatusOr<Published> Current();

 private:
  const HubAccess* access_;
  const CentreRegistry* registry_;
  const std::string path_;
  absl::Mutex mu_;
  // The good file's modification time. A broken file is read again at every
  // request: file times are coarse, so a half-written file and the finished one
  // can share a time, and remembering the broken one's could hide the finished one.
  std::filesystem::file_time_type loaded_mtime_ ABSL_GUARDED_BY(mu_){};
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  Published current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_DIRECTORY_SERVICE_H_
