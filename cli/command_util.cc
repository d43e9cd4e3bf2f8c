#include "cli/command_util.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/output.h"
#include "common/time_util.h"

namespace kentra::cli {

std::set<std::string> With(std::initializer_list<const char*> more) {
  std::set<std::string> s = CommonOptions();
  for (const char* m : more) s.insert(m);
  return s;
}

std::string Named(const std::string& collection, const std::string& id) {
  return id.rfind(collection + "/", 0) == 0 ? id : absl::StrCat(collection, "/", id);
}

absl::StatusOr<std::string> OneId(const Args& args, const char* what) {
  if (args.positional().size() != 3) {
    return UsageError(absl::StrCat("give exactly one ", what, " id"));
  }
  return args.positional()[2];
}

std::string ShortName(const std::string& name) { return name.substr(name.rfind('/') + 1); }

std::string Time(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "";
  return absl::FormatTime("%Y-%m-%d %H:%M", FromTimestamp(ts), CentreTimeZone());
}

std::string Words(const google::protobuf::RepeatedField<int>& values, const google::protobuf::EnumDescriptor* d) {
  std::vector<std::string> words;
  for (int v : values) words.push_back(EnumWord(d, v));
  return absl::StrJoin(words, ",");
}

absl::Status ParseEnumList(const Args& args, const char* option, const google::protobuf::EnumDescriptor* d,
                           google::protobuf::RepeatedField<int>* out) {
  auto text = args.Get(option);
  if (!text || text->empty()) return absl::OkStatus();
  for (absl::string_view word : absl::StrSplit(*text, ',', absl::SkipEmpty())) {
    KENTRA_ASSIGN_OR_RETURN(int v, ParseEnumWord(d, option, std::string(word)));
    out->Add(v);
  }
  return absl::OkStatus();
}

}  // namespace kentra::cli
