// Runs kentractl in-process, as the CLI tests do: the given lines (passwords)
// as its standard input, its output and errors caught.
#ifndef KENTRA_TESTS_CLI_RUN_KENTRACTL_H_
#define KENTRA_TESTS_CLI_RUN_KENTRACTL_H_

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/kentractl.h"

namespace kentra::cli {

// Runs kentractl with `args`, reading `stdin_lines` from standard input; `out`
// and `err` are emptied first. Returns its exit code.
inline int RunWithInput(const std::vector<std::string>& args, const std::vector<std::string>& stdin_lines,
                        std::ostringstream& out, std::ostringstream& err) {
  std::string input;
  for (const auto& line : stdin_lines) input += line + "\n";
  std::istringstream in(input);
  std::streambuf* saved = std::cin.rdbuf(in.rdbuf());
  out.str("");
  err.str("");
  const int code = RunKentractl(args, out, err);
  std::cin.rdbuf(saved);
  return code;
}

}  // namespace kentra::cli

#endif  // KENTRA_TESTS_CLI_RUN_KENTRACTL_H_
