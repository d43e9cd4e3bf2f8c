#include "common/backup_directory.h"

#include "common/private_dir.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/time_util.h"

namespace kentra {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kTimeFormat = "%E4Y%m%dT%H%M%SZ";  // %Y would take every digit
constexpr size_t kTimeChars = 16;                              // YYYYMMDDTHHMMSSZ
constexpr absl::string_view kPartialSuffix = ".partial";

// Where a backup sorts: by its time, then by the number that tells apart two
// taken in the same second.
struct BackupKey {
  absl::Time time;
  int64_t same_second = 0;
  bool operator<(const BackupKey& o) const { return time != o.time ? time < o.time : same_second < o.same_second; }
};

// "<owner>-YYYYMMDDTHHMMSSZ" or "<owner>-YYYYMMDDTHHMMSSZ-N", else nullopt.
std::optional<BackupKey> ParseId(absl::string_view owner, absl::string_view id) {
  const std::string prefix = absl::StrCat(owner, "-");
  if (!absl::StartsWith(id, prefix) || id.size() < prefix.size() + kTimeChars) return std::nullopt;
  id.remove_prefix(prefix.size());
  BackupKey key;
  std::string error;
  if (!absl::ParseTime(kTimeFormat, id.substr(0, kTimeChars), absl::UTCTimeZone(), &key.time, &error)) {
    return std::nullopt;
  }
  id.remove_prefix(kTimeChars);
  if (id.empty()) return key;
  if (id.size() < 2 || id[0] != '-' || !absl::SimpleAtoi(id.substr(1), &key.same_second) || key.same_second < 1 ||
      id.substr(1) != absl::StrCat(key.same_second)) {
    return std::nullopt;
  }
  return key;
}

absl::Status FsError(const std::error_code& ec, absl::string_view what, const fs::path& path) {
  return absl::InternalError(absl::StrCat(what, " ", path.string(), ": ", ec.message()));
}

absl::Status NotConfigured(const BackupDirectory::Options& options, absl::string_view flag) {
  if (!options.dir.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("this server has no backup directory (", flag, ")"));
}

}  // namespace

absl::Status BackupDirectory::CheckOptions(const std::string& data_dir, const Options& options) {
  if (options.kept < 1) return absl::InvalidArgumentError("backups kept: must be at least 1");
  if (options.dir.empty()) return absl::OkStatus();
  std::error_code ec;
  const std::string data = fs::weakly_canonical(data_dir, ec).string() + "/";
  const std::string backups = fs::weakly_canonical(options.dir, ec).string() + "/";
  if (ec) return absl::InvalidArgumentError(absl::StrCat("backup directory ", options.dir, ": ", ec.message()));
  if (absl::StartsWith(backups, data) || absl::StartsWith(data, backups)) {
    return absl::InvalidArgumentError(absl::StrCat("the backup directory ", options.dir,
                                                   " must lie outside the data directory, and it outside it"));
  }
  // Made 0700 by the first backup; one that is there already must be closed.
  if (!fs::exists(options.dir, ec)) return absl::OkStatus();
  return EnsurePrivateDirectory(options.dir, "the backup directory");
}

absl::StatusOr<std::vector<std::string>> BackupDirectory::Ids() const {
  std::vector<std::pair<BackupKey, std::string>> found;
  std::error_code ec;
  fs::directory_iterator it(options_.dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return std::vector<std::string>();
  if (ec) return FsError(ec, "reading the backup directory", options_.dir);
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return FsError(ec, "reading the backup directory", options_.dir);
    const std::string id = it->path().filename().string();
    auto key = ParseId(owner_, id);
    if (key && it->is_directory(ec)) found.emplace_back(*key, id);
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> ids;
  for (auto& [key, id] : found) ids.push_back(std::move(id));
  return ids;
}

absl::StatusOr<BackupDirectory::Backup> BackupDirectory::Describe(const std::string& id) const {
  const fs::path path = fs::path(options_.dir) / id;
  Backup backup;
  backup.id = id;
  backup.path = path.string();
  if (auto key = ParseId(owner_, id)) backup.time = key->time;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) backup.size_bytes += static_cast<int64_t>(it->file_size(ec));
  }
  if (ec) return FsError(ec, "reading the backup", path);
  return backup;
}

absl::StatusOr<BackupDirectory::Backup> BackupDirectory::Take(absl::string_view flag) {
  KENTRA_RETURN_IF_ERROR(NotConfigured(options_, flag));
  absl::MutexLock lock(&mu_);
  const fs::path dir(options_.dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return FsError(ec, "creating the backup directory", dir);
  fs::permissions(dir, fs::perms::owner_all, ec);
  if (ec) return FsError(ec, "restricting the backup directory", dir);
  // What a backup cut short (the process killed) left.
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (absl::StartsWith(name, ".") && absl::EndsWith(name, kPartialSuffix)) fs::remove_all(it->path(), ec);
  }

  const std::string base = absl::StrCat(owner_, "-", absl::FormatTime(kTimeFormat, clock_->Now(), absl::UTCTimeZone()));
  std::string id = base;
  for (int n = 1; fs::exists(dir / id, ec); ++n) id = absl::StrCat(base, "-", n);
  const fs::path partial = dir / absl::StrCat(".", id, kPartialSuffix);
  bool root_made = false;
  for (const auto& [where, store] : parts_) {
    if (where.empty()) {
      KENTRA_RETURN_IF_ERROR(store->Checkpoint(partial.string()));
      root_made = true;
      continue;
    }
    if (!root_made) {
      fs::create_directory(partial, ec);
      if (ec) return FsError(ec, "creating", partial);
      root_made = true;
    }
    KENTRA_RETURN_IF_ERROR(store->Checkpoint((partial / where).string()));
  }
  fs::permissions(partial, fs::perms::owner_all, ec);
  if (ec) return FsError(ec, "restricting", partial);
  fs::rename(partial, dir / id, ec);
  if (ec) return FsError(ec, "naming the backup", dir / id);

  KENTRA_ASSIGN_OR_RETURN(std::vector<std::string> ids, Ids());
  for (size_t i = 0; i + static_cast<size_t>(options_.kept) < ids.size(); ++i) {
    const fs::path old = dir / ids[i];
    fs::remove_all(old, ec);
    if (ec) {
      std::fprintf(stderr, "kentra: cannot delete the old backup %s: %s\n", old.c_str(), ec.message().c_str());
    } else {
      std::fprintf(stderr, "kentra: deleted the old backup %s (the newest %d stay)\n", old.c_str(), options_.kept);
    }
  }
  return Describe(id);
}

absl::StatusOr<BackupDirectory::Page> BackupDirectory::List(int page_size, absl::string_view page_token,
                                                            absl::string_view flag) const {
  KENTRA_RETURN_IF_ERROR(NotConfigured(options_, flag));
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page_size: must be 0 to ", kMaxPageSize));
  }
  if (page_size == 0) page_size = 50;
  std::optional<BackupKey> after;
  if (!page_token.empty()) {
    after = ParseId(owner_, page_token);
    if (!after) return absl::InvalidArgumentError("page_token: is not one this server issued");
  }
  KENTRA_ASSIGN_OR_RETURN(std::vector<std::string> ids, Ids());
  Page page;
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    if (after && !(*ParseId(owner_, *it) < *after)) continue;
    if (static_cast<int>(page.backups.size()) == page_size) {
      page.next_page_token = page.backups.back().id;
      break;
    }
    KENTRA_ASSIGN_OR_RETURN(Backup backup, Describe(*it));
    page.backups.push_back(std::move(backup));
  }
  return page;
}

absl::StatusOr<std::optional<absl::Time>> BackupDirectory::Newest() const {
  if (options_.dir.empty()) return std::optional<absl::Time>();
  KENTRA_ASSIGN_OR_RETURN(std::vector<std::string> ids, Ids());
  if (ids.empty()) return std::optional<absl::Time>();
  return std::optional<absl::Time>(ParseId(owner_, ids.back())->time);
}

kentra::type::v1::Backup ToBackupResource(const BackupDirectory::Backup& b) {
  kentra::type::v1::Backup out;
  out.set_name(absl::StrCat("backups/", b.id));
  out.set_path(b.path);
  *out.mutable_create_time() = ToTimestamp(b.time);
  out.set_size_bytes(b.size_bytes);
  return out;
}

}  // namespace kentra
