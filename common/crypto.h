// Small wrappers over libsodium for what kentra needs everywhere: random bytes,
// keyed MACs and digests, and URL-safe base64. Call InitCrypto() once in main.
#ifndef KENTRA_COMMON_CRYPTO_H_
#define KENTRA_COMMON_CRYPTO_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kentra {

// Initialises libsodium; safe to call many times. INTERNAL if it cannot.
absl::Status InitCrypto();

// `n` cryptographically random bytes.
std::string RandomBytes(size_t n);

// HMAC-SHA-256 of `message` under `key` (32 bytes).
std::string HmacSha256(absl::string_view key, absl::string_view message);
// Constant-time check that `mac` is HmacSha256(key, message).
bool VerifyHmacSha256(absl::string_view key, absl::string_view message, absl::string_view mac);

// Unkeyed 32-byte BLAKE2b digest (request bodies, filters).
std::string Digest(absl::string_view message);

// URL-safe base64 without padding, and back (nullopt if `text` is not such base64).
std::string Base64UrlEncode(absl::string_view bytes);
std::optional<std::string> Base64UrlDecode(absl::string_view text);

// Lower-case hex.
std::string HexEncode(absl::string_view bytes);

}  // namespace kentra

#endif  // KENTRA_COMMON_CRYPTO_H_
