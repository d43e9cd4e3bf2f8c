#include "common/keys.h"

#include <algorithm>

namespace kentra::keys {

void AppendUint64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

void AppendInt64(std::string* out, int64_t v) {
  AppendUint64(out, static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
}

std::optional<uint64_t> ReadUint64(absl::string_view key, size_t pos) {
  if (key.size() < pos + 8) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(key[pos + i]);
  return v;
}

std::optional<int64_t> ReadInt64(absl::string_view key, size_t pos) {
  auto u = ReadUint64(key, pos);
  if (!u) return std::nullopt;
  return static_cast<int64_t>(*u ^ (uint64_t{1} << 63));
}

std::string PrefixSuccessor(absl::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    unsigned char last = static_cast<unsigned char>(s.back());
    if (last != 0xff) {
      s.back() = static_cast<char>(last + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

namespace {

// `v` in decimal, zero-padded to `width` digits (more if it needs them). By hand:
// StrFormat's parsing of the format showed in the profiles of every read.
std::string ZeroPadded(uint64_t v, size_t width) {
  char digits[20];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  std::string out(std::max(width, n), '0');
  for (size_t i = 0; i < n; ++i) out[out.size() - 1 - i] = digits[i];
  return out;
}

}  // namespace

std::string PaddedId(uint64_t id) { return ZeroPadded(id, 16); }
std::string PaddedSequence(uint64_t seq) { return ZeroPadded(seq, 20); }

std::optional<uint64_t> ParsePadded(absl::string_view text, size_t width) {
  if (text.size() != width) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return std::nullopt;  // overflow
    v = next;
  }
  return v;
}

}  // namespace kentra::keys
