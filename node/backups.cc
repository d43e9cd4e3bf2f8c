#include "node/backups.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/time_util.h"
#include "node/validation.h"

namespace kentra::node {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kTimeFormat = "%E4Y%m%dT%H%M%SZ";  // %Y would take every digit
constexpr size_t kTimeChars = 16;  // YYYYMMDDTHHMMSSZ

// Where a backup directory's name sorts: by its time, then by the number that
// tells apart two taken in the same second.
struct BackupKey {
  absl::Time time;
  int64_t same_second = 0;
  bool operator<(const BackupKey& o) const {
    return time != o.time ? time < o.time : same_second < o.same_second;
  }
};

// "<centre>-YYYYMMDDTHHMMSSZ" or "<centre>-YYYYMMDDTHHMMSSZ-N", else nullopt.
std::optional<BackupKey> ParseBackupName(absl::string_view centre, absl::string_view name) {
  const std::string prefix = absl::StrCat(centre, "-");
  if (!absl::StartsWith(name, prefix) || name.size() < prefix.size() + kTimeChars) return std::nullopt;
  name.remove_prefix(prefix.size());
  BackupKey key;
  std::string error;
  if (!absl::ParseTime(kTimeFormat, name.substr(0, kTimeChars), absl::UTCTimeZone(), &key.time, &error)) {
    return std::nullopt;
  }
  name.remove_prefix(kTimeChars);
  if (name.empty()) return key;
  if (name.size() < 2 || name[0] != '-' || !absl::SimpleAtoi(name.substr(1), &key.same_second) ||
      key.same_second < 1 || name.substr(1) != absl::StrCat(key.same_second)) {
    return std::nullopt;
  }
  return key;
}

absl::Status FsError(const std::error_code& ec, absl::string_view what, const fs::path& path) {
  return absl::InternalError(absl::StrCat(what, " ", path.string(), ": ", ec.message()));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> NodeBackups::Names() const {
  std::vector<std::pair<BackupKey, std::string>> found;
  std::error_code ec;
  fs::directory_iterator it(options_.dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return std::vector<std::string>();
  if (ec) return FsError(ec, "reading the backup directory", options_.dir);
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return FsError(ec, "reading the backup directory", options_.dir);
    const std::string name = it->path().filename().string();
    auto key = ParseBackupName(centre_id_, name);
    if (key && it->is_directory(ec)) found.emplace_back(*key, name);
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> names;
  for (auto& [key, name] : found) names.push_back(std::move(name));
  return names;
}

absl::StatusOr<v1::Backup> NodeBackups::Describe(const std::string& id) const {
  const fs::path path = fs::path(options_.dir) / id;
  v1::Backup backup;
  backup.set_name(absl::StrCat("backups/", id));
  backup.set_path(path.string());
  if (auto key = ParseBackupName(centre_id_, id)) *backup.mutable_create_time() = ToTimestamp(key->time);
  int64_t bytes = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) bytes += static_cast<int64_t>(it->file_size(ec));
  }
  if (ec) return FsError(ec, "reading the backup", path);
  backup.set_size_bytes(bytes);
  return backup;
}

absl::Status NodeBackups::CheckConfigured() const {
  if (options_.dir.empty()) {
    return absl::FailedPreconditionError("this node has no backup directory (kentra-node --backup_dir)");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Backup> NodeBackups::Create(const Actor& actor) {
  KENTRA_RETURN_IF_ERROR(CheckConfigured());
  absl::MutexLock lock(&mu_);
  std::error_code ec;
  if (!fs::exists(options_.dir, ec)) {
    fs::create_directories(options_.dir, ec);
    if (ec) return FsError(ec, "creating the backup directory", options_.dir);
    // Backups hold everything the store holds: for the node's user only.
    fs::permissions(options_.dir, fs::perms::owner_all, ec);
    if (ec) return FsError(ec, "restricting the backup directory", options_.dir);
  }
  const std::string base =
      absl::StrCat(centre_id_, "-", absl::FormatTime(kTimeFormat, clock_->Now(), absl::UTCTimeZone()));
  std::string id = base;
  for (int n = 1; fs::exists(fs::path(options_.dir) / id, ec); ++n) id = absl::StrCat(base, "-", n);
  const fs::path path = fs::path(options_.dir) / id;

  // Every audit entry made so far goes into the backup.
  KENTRA_RETURN_IF_ERROR(records_->CatchUpAudit());
  KENTRA_RETURN_IF_ERROR(store_->Checkpoint(path.string()));
  fs::permissions(path, fs::perms::owner_all, ec);
  if (ec) return FsError(ec, "restricting the backup", path);
  WriteBatch batch;
  records_->PutAudit(batch, actor, "CreateBackup", absl::StrCat("backups/", id), path.string());
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));

  KENTRA_ASSIGN_OR_RETURN(std::vector<std::string> names, Names());
  for (size_t i = 0; i + static_cast<size_t>(options_.kept) < names.size(); ++i) {
    const fs::path old = fs::path(options_.dir) / names[i];
    fs::remove_all(old, ec);
    if (ec) {
      std::fprintf(stderr, "kentra-node: cannot delete the old backup %s: %s\n", old.c_str(), ec.message().c_str());
    } else {
      std::fprintf(stderr, "kentra-node: deleted the old backup %s (the newest %d stay)\n", old.c_str(),
                   options_.kept);
    }
  }
  return Describe(id);
}

absl::StatusOr<v1::ListBackupsResponse> NodeBackups::List(const v1::ListBackupsRequest& request) const {
  KENTRA_RETURN_IF_ERROR(CheckConfigured());
  KENTRA_ASSIGN_OR_RETURN(int page_size, EffectivePageSize(request.page_size(), kMaxPageSize));
  std::optional<BackupKey> after;
  if (!request.page_token().empty()) {
    after = ParseBackupName(centre_id_, request.page_token());
    if (!after) return absl::InvalidArgumentError("page_token: is not one this server issued");
  }
  KENTRA_ASSIGN_OR_RETURN(std::vector<std::string> names, Names());
  v1::ListBackupsResponse response;
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (after && !(*ParseBackupName(centre_id_, *it) < *after)) continue;
    if (response.backups_size() == page_size) {
      response.set_next_page_token(response.backups().rbegin()->name().substr(sizeof("backups/") - 1));
      break;
    }
    KENTRA_ASSIGN_OR_RETURN(*response.add_backups(), Describe(*it));
  }
  return response;
}

}  // namespace kentra::node
