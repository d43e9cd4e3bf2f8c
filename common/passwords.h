// Staff passwords: Argon2id hashing (libsodium crypto_pwhash_str) with a bound on
// how many hashes run at once, since each takes tens of MiB and most of a core.
#ifndef KENTRA_COMMON_PASSWORDS_H_
#define KENTRA_COMMON_PASSWORDS_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace kentra {

// Argon2id parameters.
struct PasswordCost {
  unsigned long long ops_limit;
  size_t mem_limit;

  static PasswordCost Interactive();     // 64 MiB, 2 passes
  static PasswordCost Moderate();        // 256 MiB, 3 passes
  static PasswordCost MinimumForTests(); // libsodium's minimum; tests only
};

// Length limits of a password, in bytes.
inline constexpr size_t kMinPasswordBytes = 10;
inline constexpr size_t kMaxPasswordBytes = 128;

// INVALID_ARGUMENT naming `field` unless `password` is 10 to 128 bytes of UTF-8
// without control characters and differs from `user_id`.
absl::Status ValidateNewPassword(absl::string_view password, absl::string_view user_id,
                                 absl::string_view field);

// Hashes and verifies passwords at one cost, at most `max_concurrent` at a time.
// Thread-safe.
class PasswordHasher {
 public:
  explicit PasswordHasher(PasswordCost cost, int max_concurrent = 2);

  // The crypto_pwhash_str string (algorithm, parameters, salt, hash).
  absl::StatusOr<std::string> Hash(absl::string_view password) const;
  // Whether `password` matches `hash` (in constant time for equal lengths).
  bool Verify(absl::string_view hash, absl::string_view password) const;
  // Spends the time of one verification and returns false: used for unknown users
  // so that a failed log-in takes as long whether or not the user exists.
  bool VerifyNobody(absl::string_view password) const;

 private:
  // Waits for a free slot; the returned object frees it.
  class Slot;
  PasswordCost cost_;
  int max_concurrent_;
  std::string nobody_hash_;
  mutable absl::Mutex mu_;
  mutable int running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace kentra

#endif  // KENTRA_COMMON_PASSWORDS_H_
