#include "common/crypto.h"

#include <sodium.h>

namespace kentra {

absl::Status InitCrypto() {
  if (sodium_init() < 0) return absl::InternalError("libsodium could not be initialised");
  return absl::OkStatus();
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

std::string HmacSha256(absl::string_view key, absl::string_view message) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return std::string(reinterpret_cast<char*>(mac), sizeof(mac));
}

bool VerifyHmacSha256(absl::string_view key, absl::string_view message, absl::string_view mac) {
  if (mac.size() != crypto_auth_hmacsha256_BYTES) return false;
  std::string expected = HmacSha256(key, message);
  return sodium_memcmp(expected.data(), mac.data(), mac.size()) == 0;
}

std::string Digest(absl::string_view message) {
  unsigned char out[32];
  crypto_generichash(out, sizeof(out), reinterpret_cast<const unsigned char*>(message.data()),
                     message.size(), nullptr, 0);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

std::string Base64UrlEncode(absl::string_view bytes) {
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(out.size() - 1);  // drop the terminating NUL
  return out;
}

std::optional<std::string> Base64UrlDecode(absl::string_view text) {
  std::string out(text.size(), '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

std::string HexEncode(absl::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  out.pop_back();
  return out;
}

}  // namespace kentra
