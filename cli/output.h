// How kentractl prints results: an aligned table for people, or JSON (protobuf's
// JSON mapping) or CSV for programs.
#ifndef KENTRA_CLI_OUTPUT_H_
#define KENTRA_CLI_OUTPUT_H_

#include <ostream>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "absl/status/statusor.h"

namespace kentra::cli {

enum class Format { kTable, kJson, kCsv };

// Parses "table", "json" or "csv".
absl::StatusOr<Format> ParseFormat(const std::string& text);

// Rows of cells under a header, printed in one of the formats. For JSON, the
// message list is printed instead of the cells.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

void PrintTable(const Table& table, Format format, std::ostream& out);
// Prints messages as a JSON array (one message: a JSON object).
void PrintJson(const std::vector<const google::protobuf::Message*>& messages, bool single,
               std::ostream& out);

// "TARGET_GROUP_KEA_BENEFICIARY" -> "kea-beneficiary" (prefix removed).
std::string EnumWord(const google::protobuf::EnumDescriptor* type, int value);
// The inverse of EnumWord; INVALID_ARGUMENT listing the accepted words.
absl::StatusOr<int> ParseEnumWord(const google::protobuf::EnumDescriptor* type,
                                  const std::string& option, const std::string& word);

}  // namespace kentra::cli

#endif  // KENTRA_CLI_OUTPUT_H_
