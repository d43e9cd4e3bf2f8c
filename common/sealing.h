// Sealing referrals end to end (libsodium): the sending node signs the payload
// with its Ed25519 key (the recipient's id inside the signed part), pads it to a
// size bucket and seals it to the recipient's X25519 key (a sealed box), so the
// hub in between sees only an opaque blob of a few possible sizes. Node keys come
// from a roster the operator signs with an offline root key that nodes pin.
#ifndef KENTRA_COMMON_SEALING_H_
#define KENTRA_COMMON_SEALING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kentra/referral/v1/directory.pb.h"
#include "kentra/referral/v1/sealing.pb.h"

namespace kentra {

// A node's key pairs, derived from its 32-byte node.key seed.
struct NodeKeys {
  std::string signing_public;   // Ed25519, 32 bytes
  std::string signing_secret;   // Ed25519, 64 bytes
  std::string sealing_public;   // X25519, 32 bytes
  std::string sealing_secret;   // X25519, 32 bytes

  static absl::StatusOr<NodeKeys> FromSeed(absl::string_view seed);
  // This node's roster entry.
  kentra::referral::v1::RosterEntry Entry(absl::string_view centre) const;
};

// The operator's root key pair (Ed25519), from a 32-byte seed kept offline.
struct RootKeys {
  std::string public_key;
  std::string secret_key;
  static absl::StatusOr<RootKeys> FromSeed(absl::string_view seed);
};

// Sealed sizes: a payload is padded to the smallest bucket that holds it.
inline constexpr size_t kSealBuckets[] = {1024, 4096, 16384, 65536, 262144};
// What the sealed box adds to a bucket (libsodium's crypto_box_SEALBYTES).
inline constexpr size_t kSealOverheadBytes = 48;
// The bucket for a signed envelope of `n` bytes; 0 if none holds it.
size_t SealBucket(size_t n);
// Whether `n` is the size of a sealed blob (a bucket plus the sealed box's overhead).
bool IsSealedSize(size_t n);

// The sealed size of `payload` once signed: a bucket plus the overhead, or
// INVALID_ARGUMENT if it is too large to seal. For a caller that seals later.
absl::StatusOr<size_t> SealedSize(const kentra::referral::v1::SignedPayload& payload);

// Signs `payload` (sender, recipient, referral id, body) with `sender_keys` and
// seals it to `recipient_sealing_key`. INVALID_ARGUMENT if it is too large.
absl::StatusOr<std::string> Seal(const NodeKeys& sender_keys, kentra::referral::v1::SignedPayload payload,
                                 absl::string_view recipient_sealing_key);

// Opens a sealed blob addressed to centre `me`: unseals it with `my_keys`, checks
// that the signed recipient is `me` and that the signature is the signing key the
// roster gives the signed sender. Every failure is PERMISSION_DENIED or
// INVALID_ARGUMENT saying what was wrong; nothing is returned unverified.
absl::StatusOr<kentra::referral::v1::SignedPayload> Open(const NodeKeys& my_keys, absl::string_view me,
                                                         absl::string_view sealed,
                                                         const kentra::referral::v1::Roster& roster);

// Signs a roster with the operator's root key.
kentra::referral::v1::SignedRoster SignRoster(const RootKeys& root, const kentra::referral::v1::Roster& roster);
// The roster inside `signed_roster` if `root_public` signed it; else PERMISSION_DENIED.
absl::StatusOr<kentra::referral::v1::Roster> VerifyRoster(absl::string_view root_public,
                                                          const kentra::referral::v1::SignedRoster& signed_roster);

// Signs a federation directory with the operator's root key.
kentra::referral::v1::SignedDirectory SignDirectory(const RootKeys& root, const kentra::referral::v1::Directory& directory);
// The directory inside `signed_directory` if `root_public` signed it; else
// PERMISSION_DENIED (or INVALID_ARGUMENT if the signed bytes are not a directory).
absl::StatusOr<kentra::referral::v1::Directory> VerifyDirectory(
    absl::string_view root_public, const kentra::referral::v1::SignedDirectory& signed_directory);

// The operator's root public key from a file of 64 hex digits (what nodes pin);
// FAILED_PRECONDITION naming the file if it holds anything else.
absl::StatusOr<std::string> LoadRootPublicKey(const std::string& root_key_path);

// For a development PKI (scripts/dev-pki): the roster entries of every centre
// directory under `centres_dir` that holds a node.key seed.
absl::StatusOr<std::vector<kentra::referral::v1::RosterEntry>> DevPkiRosterEntries(const std::string& centres_dir);
// Writes `roster` signed with `root` to `roster_path`, and, unless empty, the
// root public key as 64 hex digits (what nodes pin) to `root_pub_path`.
absl::Status WriteSignedRoster(const RootKeys& root, const kentra::referral::v1::Roster& roster,
                               const std::string& roster_path, const std::string& root_pub_path);

// Reads a signed roster file and verifies it against `root_public` (from
// LoadRootPublicKey). FAILED_PRECONDITION naming the file if it is not one.
absl::StatusOr<kentra::referral::v1::Roster> LoadRoster(const std::string& roster_path,
                                                        absl::string_view root_public);

}  // namespace kentra

#endif  // KENTRA_COMMON_SEALING_H_
