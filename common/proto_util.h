// Helpers over protobuf messages that several kentra parts need.
#ifndef KENTRA_COMMON_PROTO_UTIL_H_
#define KENTRA_COMMON_PROTO_UTIL_H_

#include <initializer_list>
#include <string>

#include <google/protobuf/message.h>

namespace kentra {

// 32-byte digest of `message` serialized deterministically with `cleared_fields`
// (top-level field names) cleared first; equal requests give equal digests.
std::string DigestWithout(const google::protobuf::Message& message,
                          std::initializer_list<const char*> cleared_fields);

}  // namespace kentra

#endif  // KENTRA_COMMON_PROTO_UTIL_H_
