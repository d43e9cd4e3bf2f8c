// Small helpers the staff-facing command families share: option sets, ids and
// resource names, times, enum lists, and paging with --all.
#ifndef KENTRA_CLI_COMMAND_UTIL_H_
#define KENTRA_CLI_COMMAND_UTIL_H_

#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include <google/protobuf/repeated_field.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "cli/kentractl.h"
#include "common/status.h"

namespace kentra::cli {

// The common options plus `more`.
std::set<std::string> With(std::initializer_list<const char*> more);

// Pointers to the elements of a repeated field, as the printers take them.
template <typename Out = void, typename T>
auto Ptrs(const google::protobuf::RepeatedPtrField<T>& field) {
  using Elem = std::conditional_t<std::is_void_v<Out>, T, Out>;
  std::vector<const Elem*> out;
  for (const auto& item : field) out.push_back(&item);
  return out;
}

inline absl::Status Call(const grpc::Status& status) { return FromGrpcStatus(status); }

// "42" or "beneficiaries/42" -> "beneficiaries/42".
std::string Named(const std::string& collection, const std::string& id);
// The one id after "NOUN VERB"; a usage error naming `what` otherwise.
absl::StatusOr<std::string> OneId(const Args& args, const char* what);
// The last segment of a resource name.
std::string ShortName(const std::string& name);
// "YYYY-MM-DD HH:MM" at the centres; "" for an unset time.
std::string Time(const google::protobuf::Timestamp& ts);
// Enum values as their words, comma-separated.
std::string Words(const google::protobuf::RepeatedField<int>& values, const google::protobuf::EnumDescriptor* d);
// Parses --option=word,word into enum values.
absl::Status ParseEnumList(const Args& args, const char* option, const google::protobuf::EnumDescriptor* d,
                           google::protobuf::RepeatedField<int>* out);

// Fetches pages while --all is given and more remain; prints each page's items.
template <typename Request, typename Response, typename Fetch, typename Print>
absl::Status Paged(const Args& args, StaffSession& s, Request request, Fetch fetch, Print print) {
  KENTRA_ASSIGN_OR_RETURN(int page_size, args.GetInt("page-size", 0));
  request.set_page_size(page_size);
  const bool all = args.Has("all");
  Response all_items;
  do {
    Response page;
    KENTRA_RETURN_IF_ERROR(fetch(request, &page));
    all_items.MergeFrom(page);
    request.set_page_token(page.next_page_token());
  } while (all && !request.page_token().empty());
  print(all_items);
  if (!all && !request.page_token().empty() && s.format == Format::kTable) {
    *s.out << "(more: add --all to list every page)\n";
  }
  return absl::OkStatus();
}

}  // namespace kentra::cli

#endif  // KENTRA_CLI_COMMAND_UTIL_H_
