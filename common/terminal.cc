#include "common/terminal.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"

namespace kentra {

bool StdinIsTerminal() { return isatty(STDIN_FILENO) == 1; }

absl::StatusOr<std::string> ReadSecretLine(absl::string_view prompt) {
  const bool tty = StdinIsTerminal();
  termios saved{};
  if (tty) {
    std::fprintf(stderr, "%.*s", static_cast<int>(prompt.size()), prompt.data());
    std::fflush(stderr);
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fprintf(stderr, "\n");
  }
  if (!got) return absl::NotFoundError("no password given (end of input)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

absl::StatusOr<std::string> ReadNewSecret(absl::string_view prompt) {
  auto first = ReadSecretLine(prompt);
  if (!first.ok() || !StdinIsTerminal()) return first;
  auto again = ReadSecretLine("again: ");
  if (!again.ok()) return again.status();
  if (*again != *first) return absl::InvalidArgumentError("the two passwords differ");
  return first;
}

}  // namespace kentra
