// Key encoding for RocksDB: fixed-width big-endian numbers and separators, so that
// byte order is the order kentra wants. Every key layout is built from these.
#ifndef KENTRA_COMMON_KEYS_H_
#define KENTRA_COMMON_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace kentra::keys {

// Appends `v` as 8 big-endian bytes.
void AppendUint64(std::string* out, uint64_t v);
// Appends `v` so that signed order is byte order (sign bit flipped, big-endian).
void AppendInt64(std::string* out, int64_t v);
// Reads 8 big-endian bytes at `pos`; nullopt if the key is too short.
std::optional<uint64_t> ReadUint64(absl::string_view key, size_t pos);
std::optional<int64_t> ReadInt64(absl::string_view key, size_t pos);

// The smallest key greater than every key that starts with `prefix`
// ("" if there is none, i.e. the prefix is all 0xff).
std::string PrefixSuccessor(absl::string_view prefix);

// Zero-padded decimal, width 16 (ids) or 20 (sequences): text order is number order.
std::string PaddedId(uint64_t id);
std::string PaddedSequence(uint64_t seq);
// Parses a PaddedId/PaddedSequence-style string of exactly `width` digits.
std::optional<uint64_t> ParsePadded(absl::string_view text, size_t width);

}  // namespace kentra::keys

#endif  // KENTRA_COMMON_KEYS_H_
