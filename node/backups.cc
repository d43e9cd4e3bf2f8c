#include "node/backups.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kentra::node {
namespace {

constexpr absl::string_view kFlag = "kentra-node --backup_dir";

}  // namespace

absl::StatusOr<kentra::type::v1::Backup> NodeBackups::Create(const Actor& actor) {
  // Every audit entry made so far goes into the backup.
  KENTRA_RETURN_IF_ERROR(records_->CatchUpAudit());
  KENTRA_ASSIGN_OR_RETURN(BackupDirectory::Backup taken, backups_.Take(kFlag));
  kentra::type::v1::Backup backup = ToBackupResource(taken);
  WriteBatch batch;
  records_->PutAudit(batch, actor, "CreateBackup", backup.name(), backup.path());
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  return backup;
}

absl::StatusOr<kentra::type::v1::ListBackupsResponse> NodeBackups::List(
    const kentra::type::v1::ListBackupsRequest& request) const {
  KENTRA_ASSIGN_OR_RETURN(BackupDirectory::Page page,
                          backups_.List(request.page_size(), request.page_token(), kFlag));
  kentra::type::v1::ListBackupsResponse response;
  for (const auto& b : page.backups) *response.add_backups() = ToBackupResource(b);
  response.set_next_page_token(page.next_page_token);
  return response;
}

}  // namespace kentra::node
