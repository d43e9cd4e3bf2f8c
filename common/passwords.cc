#include "common/passwords.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/text_fold.h"

namespace kentra {

PasswordCost PasswordCost::Interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
PasswordCost PasswordCost::Moderate() {
  return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}
PasswordCost PasswordCost::MinimumForTests() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

absl::Status ValidateNewPassword(absl::string_view password, absl::string_view user_id,
                                 absl::string_view field) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
  };
  if (password.size() < kMinPasswordBytes) {
    return invalid(absl::StrCat("must be at least ", kMinPasswordBytes, " bytes long"));
  }
  if (password.size() > kMaxPasswordBytes) {
    return invalid(absl::StrCat("must be at most ", kMaxPasswordBytes, " bytes long"));
  }
  if (!IsCleanUtf8(password)) return invalid("must be UTF-8 text");
  for (unsigned char c : password) {
    if (c < 0x20 || c == 0x7f) return invalid("must not contain control characters");
  }
  if (password == user_id) return invalid("must not be the user id");
  return absl::OkStatus();
}

class PasswordHasher::Slot {
 public:
  explicit Slot(const PasswordHasher* h) : h_(h) {
    absl::MutexLock lock(&h_->mu_);
    h_->mu_.Await(absl::Condition(
        +[](const PasswordHasher* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return self->running_ < self->max_concurrent_;
        },
        h_));
    ++h_->running_;
  }
  ~Slot() {
    absl::MutexLock lock(&h_->mu_);
    --h_->running_;
  }

 private:
  const PasswordHasher* h_;
};

PasswordHasher::PasswordHasher(PasswordCost cost, int max_concurrent)
    : cost_(cost), max_concurrent_(max_concurrent < 1 ? 1 : max_concurrent) {
  auto nobody = Hash(RandomBytes(16));
  nobody_hash_ = nobody.ok() ? *nobody : "";
}

absl::StatusOr<std::string> PasswordHasher::Hash(absl::string_view password) const {
  if (InitCrypto() != absl::OkStatus()) return absl::InternalError("libsodium is not available");
  char out[crypto_pwhash_STRBYTES];
  Slot slot(this);
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost_.ops_limit, cost_.mem_limit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError("not enough memory to hash a password");
  }
  return std::string(out);
}

bool PasswordHasher::Verify(absl::string_view hash, absl::string_view password) const {
  const std::string terminated(hash);  // crypto_pwhash_str_verify reads a C string
  Slot slot(this);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

bool PasswordHasher::VerifyNobody(absl::string_view password) const {
  if (!nobody_hash_.empty()) Verify(nobody_hash_, password);
  return false;
}

}  // namespace kentra
