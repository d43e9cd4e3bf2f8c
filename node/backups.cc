#include "node/backups.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/time_util.h"

namespace kentra::node {
namespace {

constexpr absl::string_view kFlag = "kentra-node --backup_dir";

v1::Backup ToProto(const BackupDirectory::Backup& b) {
  v1::Backup out;
  out.set_name(absl::StrCat("backups/", b.id));
  out.set_path(b.path);
  *out.mutable_create_time() = ToTimestamp(b.time);
  out.set_size_bytes(b.size_bytes);
  return out;
}

}  // namespace

absl::StatusOr<v1::Backup> NodeBackups::Create(const Actor& actor) {
  // Every audit entry made so far goes into the backup.
  KENTRA_RETURN_IF_ERROR(records_->CatchUpAudit());
  KENTRA_ASSIGN_OR_RETURN(BackupDirectory::Backup taken, backups_.Take(kFlag));
  v1::Backup backup = ToProto(taken);
  WriteBatch batch;
  records_->PutAudit(batch, actor, "CreateBackup", backup.name(), backup.path());
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  return backup;
}

absl::StatusOr<v1::ListBackupsResponse> NodeBackups::List(const v1::ListBackupsRequest& request) const {
  KENTRA_ASSIGN_OR_RETURN(BackupDirectory::Page page,
                          backups_.List(request.page_size(), request.page_token(), kFlag));
  v1::ListBackupsResponse response;
  for (const auto& b : page.backups) *response.add_backups() = ToProto(b);
  response.set_next_page_token(page.next_page_token);
  return response;
}

}  // namespace kentra::node
