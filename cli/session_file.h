// Where kentractl keeps a staff session token between commands: one file per
// node address under the user's config dir, readable by the user alone.
#ifndef KENTRA_CLI_SESSION_FILE_H_
#define KENTRA_CLI_SESSION_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace kentra::cli {

// The file of the session with node `target` ("127.0.0.1:50051") under `dir`.
std::string SessionFilePath(const std::string& dir, const std::string& target);

// The token in `path`; NOT_FOUND when there is none, FAILED_PRECONDITION when
// the file is readable by group or others.
absl::StatusOr<std::string> ReadSessionToken(const std::string& path);

// Writes `token` to `path` with mode 0600 (its directory 0700), replacing it atomically.
absl::Status WriteSessionToken(const std::string& path, const std::string& token);

// Removes the session file, if any.
void RemoveSessionToken(const std::string& path);

}  // namespace kentra::cli

#endif  // KENTRA_CLI_SESSION_FILE_H_
