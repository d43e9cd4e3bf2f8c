// NodeBackups: the node's backups as staff see them (CreateBackup, ListBackups):
// a BackupDirectory of its store, with the audit journal moved into the store
// before each backup, so the backup holds every audit entry made before it, and
// each backup in the audit log. To restore, stop the node and start it on a copy
// of a backup.
#ifndef KENTRA_NODE_BACKUPS_H_
#define KENTRA_NODE_BACKUPS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/backup_directory.h"
#include "common/clock.h"
#include "common/storage.h"
#include "kentra/type/v1/backup.pb.h"
#include "node/records.h"

namespace kentra::node {

class NodeBackups {
 public:
  // `store` and `records` are not owned and must outlive this.
  NodeBackups(Store* store, CentreRecords* records, const Clock* clock, const std::string& centre_id,
              BackupDirectory::Options options)
      : store_(store), records_(records), backups_({{"", store}}, clock, centre_id, std::move(options)) {}

  // Takes a backup now, audited as `actor`'s.
  absl::StatusOr<kentra::type::v1::Backup> Create(const Actor& actor);
  absl::StatusOr<kentra::type::v1::ListBackupsResponse> List(
      const kentra::type::v1::ListBackupsRequest& request) const;
  // When the newest backup was taken (nullopt if none).
  absl::StatusOr<std::optional<absl::Time>> Newest() const { return backups_.Newest(); }

 private:
  Store* store_;
  CentreRecords* records_;
  BackupDirectory backups_;
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_BACKUPS_H_
