// Command-line words for kentractl: positional words and --name=value options,
// checked against what each command accepts.
#ifndef KENTRA_CLI_ARGS_H_
#define KENTRA_CLI_ARGS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kentra::cli {

// An error in how kentractl was called (exit code 2), found before any call.
absl::Status UsageError(absl::string_view message);
// Whether `status` came from UsageError.
bool IsUsageError(const absl::Status& status);

class Args {
 public:
  // Splits argv into positionals and --options ("--flag" alone means "true").
  static Args Parse(const std::vector<std::string>& argv);

  const std::vector<std::string>& positional() const { return positional_; }
  // INVALID_ARGUMENT naming the first option not in `allowed`.
  absl::Status CheckAllowed(const std::set<std::string>& allowed) const;
  std::optional<std::string> Get(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  // INVALID_ARGUMENT "--name is required" when absent or empty.
  absl::StatusOr<std::string> Require(const std::string& name) const;
  absl::StatusOr<int> GetInt(const std::string& name, int fallback) const;
  bool Has(const std::string& name) const { return options_.count(name) > 0; }

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> options_;
};

}  // namespace kentra::cli

#endif  // KENTRA_CLI_ARGS_H_
