#include "cli/args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace kentra::cli {

namespace {
constexpr char kUsagePayload[] = "kentra.cli/usage";
}

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) { return status.GetPayload(kUsagePayload).has_value(); }

Args Args::Parse(const std::vector<std::string>& argv) {
  Args args;
  for (const std::string& word : argv) {
    if (word.rfind("--", 0) == 0 && word.size() > 2) {
      size_t eq = word.find('=');
      if (eq == std::string::npos) {
        args.options_[word.substr(2)] = "true";
      } else {
        args.options_[word.substr(2, eq - 2)] = word.substr(eq + 1);
      }
    } else {
      args.positional_.push_back(word);
    }
  }
  return args;
}

absl::Status Args::CheckAllowed(const std::set<std::string>& allowed) const {
  for (const auto& [name, value] : options_) {
    if (!allowed.count(name)) return UsageError(absl::StrCat("unknown option --", name));
  }
  return absl::OkStatus();
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = options_.find(name);
  if (it == options_.end()) return std::nullopt;
  return it->second;
}

std::string Args::GetOr(const std::string& name, const std::string& fallback) const {
  return Get(name).value_or(fallback);
}

absl::StatusOr<std::string> Args::Require(const std::string& name) const {
  auto v = Get(name);
  if (!v || v->empty()) return UsageError(absl::StrCat("--", name, " is required"));
  return *v;
}

absl::StatusOr<int> Args::GetInt(const std::string& name, int fallback) const {
  auto v = Get(name);
  if (!v) return fallback;
  int out;
  if (!absl::SimpleAtoi(*v, &out)) {
    return UsageError(absl::StrCat("--", name, " must be a whole number"));
  }
  return out;
}

}  // namespace kentra::cli
