// Reading a secret (a password) typed at a terminal without echoing it, or one
// line from standard input when it is not a terminal (scripts, tests).
#ifndef KENTRA_COMMON_TERMINAL_H_
#define KENTRA_COMMON_TERMINAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kentra {

// Whether standard input is a terminal.
bool StdinIsTerminal();

// Prints `prompt` to stderr (terminal only) and reads one line from standard
// input with echo off; the line ending is dropped. NOT_FOUND at end of input.
absl::StatusOr<std::string> ReadSecretLine(absl::string_view prompt);

// A new password: at a terminal, asked twice and compared; otherwise one line.
absl::StatusOr<std::string> ReadNewSecret(absl::string_view prompt);

}  // namespace kentra

#endif  // KENTRA_COMMON_TERMINAL_H_
