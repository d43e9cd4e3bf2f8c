// NodeBackups: backups of a node's whole store, taken while it serves. Each is a
// RocksDB checkpoint (hard links where the file system allows, so it costs
// little space until the live store moves on) in a new directory under the
// node's backup directory, named for the centre and the time it was taken; the
// audit journal is moved into the store first, so the backup holds every audit
// entry made before it. A backup is a data directory: to restore, stop the node
// and start it on a copy of the backup. The newest `kept` backups stay, older
// ones are deleted. Thread-safe; one backup is taken at a time.
#ifndef KENTRA_NODE_BACKUPS_H_
#define KENTRA_NODE_BACKUPS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/storage.h"
#include "kentra/node/v1/backup.pb.h"
#include "node/records.h"

namespace kentra::node {

class NodeBackups {
 public:
  struct Options {
    // Where backups go; created (owner-only) if missing. Empty: the node takes none.
    std::string dir;
    // How many of this centre's backups stay there; at least 1.
    int kept = 14;
  };
  // `store` and `records` are not owned and must outlive this.
  NodeBackups(Store* store, CentreRecords* records, const Clock* clock, std::string centre_id, Options options)
      : store_(store), records_(records), clock_(clock), centre_id_(std::move(centre_id)),
        options_(std::move(options)) {}

  // Takes a backup now, audited as `actor`'s, then deletes the oldest beyond `kept`.
  absl::StatusOr<v1::Backup> Create(const Actor& actor);
  // This centre's backups in the directory, newest first.
  absl::StatusOr<v1::ListBackupsResponse> List(const v1::ListBackupsRequest& request) const;

  static constexpr int kMaxPageSize = 100;

 private:
  // FAILED_PRECONDITION without a backup directory.
  absl::Status CheckConfigured() const;
  // The names of this centre's backups in the directory, oldest first.
  absl::StatusOr<std::vector<std::string>> Names() const;
  // The backup in directory `id`.
  absl::StatusOr<v1::Backup> Describe(const std::string& id) const;

  Store* store_;
  CentreRecords* records_;
  const Clock* clock_;
  const std::string centre_id_;
  const Options options_;
  absl::Mutex mu_;  // held while a backup is taken
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_BACKUPS_H_
