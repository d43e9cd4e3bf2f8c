// BackupDirectory: consistent copies of a server's RocksDB stores, taken while it
// serves, each in a directory of its own named for whose it is and the time
// ("kassandra-20261123T024700Z"; "-1", "-2"... for more in the same second). A
// backup is a RocksDB checkpoint of each store (hard links where the file system
// allows), laid out as the server's data directory lays them out, so the server
// starts on a copy of it as it is. It is assembled under a hidden name and
// renamed when whole, so a backup that is listed is complete. The newest `kept`
// stay; older ones are deleted. Owner-only permissions throughout: a backup holds
// everything the stores hold. Thread-safe; one backup is taken at a time.
#ifndef KENTRA_COMMON_BACKUP_DIRECTORY_H_
#define KENTRA_COMMON_BACKUP_DIRECTORY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/storage.h"
#include "kentra/type/v1/backup.pb.h"

namespace kentra {

class BackupDirectory {
 public:
  struct Options {
    // Where backups go; created if missing. Empty: the server takes none.
    std::string dir;
    // How many backups stay; at least 1.
    int kept = 14;
  };
  // A store and where it lies in the data directory ("" for the data directory itself).
  using Part = std::pair<std::string, const Store*>;
  struct Backup {
    std::string id;  // the directory's name
    std::string path;
    absl::Time time;
    int64_t size_bytes = 0;  // files shared with the live store (hard links) count in full
  };
  struct Page {
    std::vector<Backup> backups;  // newest first
    std::string next_page_token;  // empty on the last page
  };
  static constexpr int kMaxPageSize = 100;

  // `parts` are not owned and must outlive this; `owner` names the backups.
  BackupDirectory(std::vector<Part> parts, const Clock* clock, std::string owner, Options options)
      : parts_(std::move(parts)), clock_(clock), owner_(std::move(owner)), options_(std::move(options)) {}

  // INVALID_ARGUMENT unless `options` fit a server whose data directory is
  // `data_dir`: backups outside it (and it outside them), at least one kept.
  // FAILED_PRECONDITION if the backup directory exists open to other accounts
  // (EnsurePrivateDirectory); the first backup makes it 0700.
  static absl::Status CheckOptions(const std::string& data_dir, const Options& options);

  // Takes a backup now, then deletes the oldest beyond `kept`. FAILED_PRECONDITION
  // without a directory (naming `flag`, the option that sets it).
  absl::StatusOr<Backup> Take(absl::string_view flag);
  // One page of the backups, newest first (page_size 0 means 50); the token is
  // the id of the last backup of the previous page.
  absl::StatusOr<Page> List(int page_size, absl::string_view page_token, absl::string_view flag) const;
  // When the newest backup was taken; nullopt if there is none (or no directory).
  absl::StatusOr<std::optional<absl::Time>> Newest() const;

 private:
  absl::StatusOr<std::vector<std::string>> Ids() const;  // oldest first
  absl::StatusOr<Backup> Describe(const std::string& id) const;

  const std::vector<Part> parts_;
  const Clock* clock_;
  const std::string owner_;
  const Options options_;
  absl::Mutex mu_;  // held while a backup is taken
};

// `b` as the Backup resource node and hub serve.
kentra::type::v1::Backup ToBackupResource(const BackupDirectory::Backup& b);

}  // namespace kentra

#endif  // KENTRA_COMMON_BACKUP_DIRECTORY_H_
