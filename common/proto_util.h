// Helpers over protobuf messages that several kentra parts need.
#ifndef KENTRA_COMMON_PROTO_UTIL_H_
#define KENTRA_COMMON_PROTO_UTIL_H_

#include <initializer_list>
#include <iterator>
#include <string>
#include <type_traits>

#include <google/protobuf/message.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kentra {

// 32-byte digest of `message` serialized deterministically with `cleared_fields`
// (top-level field names) cleared first; equal requests give equal digests.
std::string DigestWithout(const google::protobuf::Message& message,
                          std::initializer_list<const char*> cleared_fields);

// OK if no element of `values` (a repeated field of a request) equals an earlier
// one; else INVALID_ARGUMENT "<field>[i]: repeats <field>[j]" for the first repeat.
// A request that names a centre, a month, a code or an id twice is refused rather
// than read once or counted twice.
template <typename Range>
absl::Status RefuseRepeats(const Range& values, absl::string_view field) {
  using Value = std::decay_t<decltype(*std::begin(values))>;
  absl::flat_hash_map<Value, int> first;
  int i = 0;
  for (const auto& v : values) {
    auto [at, fresh] = first.emplace(v, i);
    if (!fresh) {
      return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "]: repeats ", field, "[", at->second, "]"));
    }
    ++i;
  }
  return absl::OkStatus();
}

}  // namespace kentra

#endif  // KENTRA_COMMON_PROTO_UTIL_H_
