#include "common/backup_schedule.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kentra {

absl::Status BackupSchedule::CheckEvery(absl::Duration every, bool has_backup_dir) {
  if (every == absl::ZeroDuration()) return absl::OkStatus();
  if (every < kMinEvery) {
    return absl::InvalidArgumentError(absl::StrCat("--backup_every: must be at least ", absl::FormatDuration(kMinEvery),
                                                   " (e.g. 24h), or 0 for no scheduled backups"));
  }
  if (!has_backup_dir) return absl::InvalidArgumentError("--backup_every: needs --backup_dir");
  return absl::OkStatus();
}

BackupSchedule::BackupSchedule(const Clock* clock, Options options, NewestFn newest, TakeFn take)
    : clock_(clock), options_(std::move(options)), newest_(std::move(newest)), take_(std::move(take)) {}

BackupSchedule::~BackupSchedule() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<bool> BackupSchedule::RunIfDue() {
  KENTRA_ASSIGN_OR_RETURN(std::optional<absl::Time> newest, newest_());
  if (newest.has_value() && clock_->Now() - *newest < options_.every) return false;
  KENTRA_RETURN_IF_ERROR(take_());
  return true;
}

void BackupSchedule::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void BackupSchedule::Loop() {
  absl::MutexLock lock(&mu_);
  do {
    mu_.Unlock();
    absl::StatusOr<bool> looked = RunIfDue();
    if (!looked.ok() && !failing_) {
      std::fprintf(stderr, "%s: a scheduled backup failed (trying again every %s): %s\n", options_.server.c_str(),
                   absl::FormatDuration(options_.check).c_str(), looked.status().ToString().c_str());
    } else if (looked.ok() && failing_) {
      std::fprintf(stderr, "%s: scheduled backups work again\n", options_.server.c_str());
    }
    failing_ = !looked.ok();
    mu_.Lock();
  } while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.check));
}

}  // namespace kentra
