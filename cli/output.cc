#include "cli/output.h"

#include "cli/args.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/text_fold.h"

namespace kentra::cli {
namespace {

// The common prefix of an enum's value names, e.g. "TARGET_GROUP_".
std::string EnumPrefix(const google::protobuf::EnumDescriptor* type) {
  std::string unspecified = type->value(0)->name();
  size_t pos = unspecified.rfind("UNSPECIFIED");
  return pos == std::string::npos ? std::string() : unspecified.substr(0, pos);
}

std::string CsvCell(const std::string& cell) {
  if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
  return absl::StrCat("\"", absl::StrReplaceAll(cell, {{"\"", "\"\""}}), "\"");
}

}  // namespace

absl::StatusOr<Format> ParseFormat(const std::string& text) {
  if (text == "table") return Format::kTable;
  if (text == "json") return Format::kJson;
  if (text == "csv") return Format::kCsv;
  return UsageError("--output must be table, json or csv");
}

void PrintTable(const Table& table, Format format, std::ostream& out) {
  if (format == Format::kCsv) {
    std::vector<std::string> cells;
    for (const auto& h : table.header) cells.push_back(CsvCell(h));
    out << absl::StrJoin(cells, ",") << "\n";
    for (const auto& row : table.rows) {
      cells.clear();
      for (const auto& c : row) cells.push_back(CsvCell(c));
      out << absl::StrJoin(cells, ",") << "\n";
    }
    return;
  }
  std::vector<size_t> width(table.header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], CodePointCount(row[i]));
    }
  };
  measure(table.header);
  for (const auto& row : table.rows) measure(row);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - CodePointCount(row[i]) + 2, ' ');
    }
    out << line << "\n";
  };
  print(table.header);
  for (const auto& row : table.rows) print(row);
  if (table.rows.empty()) out << "(none)\n";
}

void PrintJson(const std::vector<const google::protobuf::Message*>& messages, bool single,
               std::ostream& out) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = false;
  std::vector<std::string> parts;
  for (const auto* m : messages) {
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(*m, &json, options);
    while (!json.empty() && json.back() == '\n') json.pop_back();
    parts.push_back(json);
  }
  if (single && parts.size() == 1) {
    out << parts[0] << "\n";
  } else {
    out << "[" << absl::StrJoin(parts, ",\n") << "]\n";
  }
}

std::string EnumWord(const google::protobuf::EnumDescriptor* type, int value) {
  const auto* v = type->FindValueByNumber(value);
  if (v == nullptr) return absl::StrCat(value);
  std::string name = v->name().substr(EnumPrefix(type).size());
  return absl::StrReplaceAll(absl::AsciiStrToLower(name), {{"_", "-"}});
}

absl::StatusOr<int> ParseEnumWord(const google::protobuf::EnumDescriptor* type,
                                  const std::string& option, const std::string& word) {
  std::vector<std::string> accepted;
  for (int i = 1; i < type->value_count(); ++i) {
    std::string w = EnumWord(type, type->value(i)->number());
    if (w == word) return type->value(i)->number();
    accepted.push_back(w);
  }
  return UsageError(absl::StrCat("--", option, ": '", word, "' is not one of: ",
                                                 absl::StrJoin(accepted, ", ")));
}

}  // namespace kentra::cli
