// Directories that hold personal data (a server's data and backups, a staff
// member's sessions): readable, writable and enterable by their owner only.
#ifndef KENTRA_COMMON_PRIVATE_DIR_H_
#define KENTRA_COMMON_PRIVATE_DIR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kentra {

// Creates `dir` (with any missing parents) as 0700, or checks that an existing
// one is closed to other accounts: FAILED_PRECONDITION naming `what`, the
// directory, its mode and the chmod to run if group or others have any access,
// or if it is not a directory.
absl::Status EnsurePrivateDirectory(const std::string& dir, absl::string_view what);

}  // namespace kentra

#endif  // KENTRA_COMMON_PRIVATE_DIR_H_
