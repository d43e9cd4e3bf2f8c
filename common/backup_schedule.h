// BackupSchedule: a server's backups taken on its own, so that a node or hub
// started with a backup directory and an interval keeps recent backups without
// anyone remembering to run a command. A backup is due once the newest one in
// the directory is `every` old, and at once when there is none; the schedule
// looks every `check`, so a restarted server neither skips a backup nor takes
// one early. A backup that fails is logged (once per failing spell) and tried
// again at the next look. It runs on a thread of its own, which the destructor
// stops.
#ifndef KENTRA_COMMON_BACKUP_SCHEDULE_H_
#define KENTRA_COMMON_BACKUP_SCHEDULE_H_

#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace kentra {

class BackupSchedule {
 public:
  struct Options {
    // How old the newest backup may grow; at least kMinEvery.
    absl::Duration every = absl::Hours(24);
    // How often the schedule looks whether a backup is due.
    absl::Duration check = absl::Minutes(1);
    // Names the server in its log lines ("kentra-node kassandra").
    std::string server;
  };
  static constexpr absl::Duration kMinEvery = absl::Minutes(1);

  // When the newest backup was taken (nullopt if there is none).
  using NewestFn = std::function<absl::StatusOr<std::optional<absl::Time>>()>;
  // Takes a backup now (and records it where the server records its backups).
  using TakeFn = std::function<absl::Status()>;

  // INVALID_ARGUMENT naming --backup_every unless `every` is zero (no schedule)
  // or at least kMinEvery with a backup directory.
  static absl::Status CheckEvery(absl::Duration every, bool has_backup_dir);

  // Does not start the thread (see Start). `clock` is not owned.
  BackupSchedule(const Clock* clock, Options options, NewestFn newest, TakeFn take);
  // Stops the thread, waiting for a backup under way.
  ~BackupSchedule();
  BackupSchedule(const BackupSchedule&) = delete;
  BackupSchedule& operator=(const BackupSchedule&) = delete;

  // Looks once: takes a backup if one is due. True if it took one; an error if
  // finding the newest or taking one failed.
  absl::StatusOr<bool> RunIfDue();

  // Starts the thread, which looks at once and then every `check`.
  void Start();

 private:
  void Loop();

  const Clock* const clock_;
  const Options options_;
  const NewestFn newest_;
  const TakeFn take_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool failing_ = false;  // the thread's own: whether the last look failed
  std::thread thread_;
};

}  // namespace kentra

#endif  // KENTRA_COMMON_BACKUP_SCHEDULE_H_
