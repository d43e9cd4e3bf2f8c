#include "common/private_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kentra {

absl::Status EnsurePrivateDirectory(const std::string& dir, absl::string_view what) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::FailedPreconditionError(absl::StrCat("cannot read ", what, " ", dir, ": ", std::strerror(errno)));
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (!ec) std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot create ", what, " ", dir, ": ", ec.message()));
    return absl::OkStatus();
  }
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(absl::StrCat(what, " ", dir, " is not a directory"));
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s %s can be read or entered by other accounts of this machine (mode %04o): it holds personal data; run "
        "`chmod 700 %s` and start again",
        what, dir, st.st_mode & 07777, dir));
  }
  return absl::OkStatus();
}

}  // namespace kentra
