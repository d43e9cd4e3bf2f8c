#include "cli/session_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/tls.h"

namespace kentra::cli {

std::string SessionFilePath(const std::string& dir, const std::string& target) {
  std::string name;
  for (char c : target) name += absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  return absl::StrCat(dir, "/", name, ".session");
}

absl::StatusOr<std::string> ReadSessionToken(const std::string& path) {
  if (!std::filesystem::exists(path)) return absl::NotFoundError("not logged in to this node: kentractl login");
  auto text = ReadSecretFile(path);
  if (!text.ok()) return text.status();
  return std::string(absl::StripAsciiWhitespace(*text));
}

absl::Status WriteSessionToken(const std::string& path, const std::string& token) {
  const std::filesystem::path file(path);
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot create ", file.parent_path().string(), ": ", ec.message()));
  chmod(file.parent_path().c_str(), 0700);
  const std::string scratch = absl::StrCat(path, ".", getpid());
  int fd = open(scratch.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::FailedPreconditionError(absl::StrCat("cannot write ", scratch, ": ", std::strerror(errno)));
  const std::string line = token + "\n";
  const bool written = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  close(fd);
  if (!written || rename(scratch.c_str(), path.c_str()) != 0) {
    unlink(scratch.c_str());
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

void RemoveSessionToken(const std::string& path) { unlink(path.c_str()); }

}  // namespace kentra::cli
