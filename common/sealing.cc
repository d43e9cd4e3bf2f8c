#include "common/sealing.h"

#include <sodium.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status.h"
#include "common/text_fold.h"
#include "common/tls.h"
#include "common/time_util.h"

namespace kentra {
namespace {

namespace rv1 = kentra::referral::v1;

const unsigned char* U(absl::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string Sign(absl::string_view secret, absl::string_view message) {
  std::string signature(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr, U(message), message.size(),
                       U(secret));
  return signature;
}

bool Verify(absl::string_view public_key, absl::string_view message, absl::string_view signature) {
  return public_key.size() == crypto_sign_PUBLICKEYBYTES && signature.size() == crypto_sign_BYTES &&
         crypto_sign_verify_detached(U(signature), U(message), message.size(), U(public_key)) == 0;
}

// What the root key signs: the kind of document, then its bytes, so that the
// signature on one kind (a roster) never verifies as another (a directory).
std::string RootSigned(absl::string_view kind, absl::string_view bytes) {
  return absl::StrCat("kentra ", kind, " v1\n", bytes);
}

}  // namespace

absl::StatusOr<NodeKeys> NodeKeys::FromSeed(absl::string_view seed) {
  if (InitCrypto() != absl::OkStatus()) return absl::InternalError("libsodium is not available");
  if (seed.size() != 32) return absl::InvalidArgumentError("a node key seed is 32 bytes");
  NodeKeys k;
  const std::string sign_seed = HmacSha256(seed, "kentra node signing key");
  const std::string box_seed = HmacSha256(seed, "kentra node sealing key");
  k.signing_public.resize(crypto_sign_PUBLICKEYBYTES);
  k.signing_secret.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(k.signing_public.data()),
                           reinterpret_cast<unsigned char*>(k.signing_secret.data()), U(sign_seed));
  k.sealing_public.resize(crypto_box_PUBLICKEYBYTES);
  k.sealing_secret.resize(crypto_box_SECRETKEYBYTES);
  crypto_box_seed_keypair(reinterpret_cast<unsigned char*>(k.sealing_public.data()),
                          reinterpret_cast<unsigned char*>(k.sealing_secret.data()), U(box_seed));
  return k;
}

rv1::RosterEntry NodeKeys::Entry(absl::string_view centre) const {
  rv1::RosterEntry e;
  e.set_centre(std::string(centre));
  e.set_signing_key(signing_public);
  e.set_sealing_key(sealing_public);
  return e;
}

absl::StatusOr<RootKeys> RootKeys::FromSeed(absl::string_view seed) {
  if (InitCrypto() != absl::OkStatus()) return absl::InternalError("libsodium is not available");
  if (seed.size() != 32) return absl::InvalidArgumentError("a root key seed is 32 bytes");
  RootKeys k;
  k.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  k.secret_key.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(k.public_key.data()),
                           reinterpret_cast<unsigned char*>(k.secret_key.data()), U(seed));
  return k;
}

size_t SealBucket(size_t n) {
  for (size_t b : kSealBuckets) {
    if (n < b) return b;  // sodium_pad needs at least one byte of padding
  }
  return 0;
}

static_assert(kSealOverheadBytes == crypto_box_SEALBYTES);

bool IsSealedSize(size_t n) {
  for (size_t b : kSealBuckets) {
    if (n == b + kSealOverheadBytes) return true;
  }
  return false;
}

namespace {

// The bucket for a signed envelope of `n` bytes, or why there is none.
absl::StatusOr<size_t> BucketFor(size_t n) {
  const size_t bucket = SealBucket(n);
  if (bucket == 0) {
    return absl::InvalidArgumentError(absl::StrCat("the referral is ", n, " bytes; at most ",
                                                   kSealBuckets[std::size(kSealBuckets) - 1] - 1, " can be sealed"));
  }
  return bucket;
}

}  // namespace

absl::StatusOr<size_t> SealedSize(const rv1::SignedPayload& payload) {
  rv1::SignedEnvelope envelope;
  envelope.set_payload(payload.SerializeAsString());
  envelope.set_signature(std::string(crypto_sign_BYTES, '\0'));  // every signature is this long
  KENTRA_ASSIGN_OR_RETURN(const size_t bucket, BucketFor(envelope.ByteSizeLong()));
  return bucket + crypto_box_SEALBYTES;
}

absl::StatusOr<std::string> Seal(const NodeKeys& sender_keys, rv1::SignedPayload payload,
                                 absl::string_view recipient_sealing_key) {
  if (recipient_sealing_key.size() != crypto_box_PUBLICKEYBYTES) {
    return absl::InvalidArgumentError("the recipient's sealing key is not an X25519 public key");
  }
  rv1::SignedEnvelope envelope;
  envelope.set_payload(payload.SerializeAsString());
  envelope.set_signature(Sign(sender_keys.signing_secret, envelope.payload()));
  std::string plain = envelope.SerializeAsString();
  KENTRA_ASSIGN_OR_RETURN(const size_t bucket, BucketFor(plain.size()));
  const size_t unpadded = plain.size();
  plain.resize(bucket);
  size_t padded = 0;
  if (sodium_pad(&padded, reinterpret_cast<unsigned char*>(plain.data()), unpadded, bucket, bucket) != 0 ||
      padded != bucket) {
    return absl::InternalError("padding failed");
  }
  std::string sealed(bucket + crypto_box_SEALBYTES, '\0');
  if (crypto_box_seal(reinterpret_cast<unsigned char*>(sealed.data()), U(plain), plain.size(),
                      U(recipient_sealing_key)) != 0) {
    return absl::InternalError("sealing failed");
  }
  return sealed;
}

absl::StatusOr<rv1::SignedPayload> Open(const NodeKeys& my_keys, absl::string_view me, absl::string_view sealed,
                                        const rv1::Roster& roster) {
  if (sealed.size() < crypto_box_SEALBYTES + 1) return absl::InvalidArgumentError("the sealed referral is too short");
  std::string plain(sealed.size() - crypto_box_SEALBYTES, '\0');
  if (crypto_box_seal_open(reinterpret_cast<unsigned char*>(plain.data()), U(sealed), sealed.size(),
                           U(my_keys.sealing_public), U(my_keys.sealing_secret)) != 0) {
    return absl::PermissionDeniedError("the sealed referral does not open with this node's key (tampered, or sealed for another)");
  }
  size_t unpadded = 0;
  if (sodium_unpad(&unpadded, reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), plain.size()) != 0) {
    return absl::InvalidArgumentError("the sealed referral is not padded as kentra pads");
  }
  plain.resize(unpadded);
  rv1::SignedEnvelope envelope;
  rv1::SignedPayload payload;
  if (!envelope.ParseFromString(plain) || !payload.ParseFromString(envelope.payload())) {
    return absl::InvalidArgumentError("the sealed referral holds no signed payload");
  }
  if (payload.recipient() != me) {
    return absl::PermissionDeniedError(absl::StrCat("the referral was signed for ", Utf8Prefix(payload.recipient(), 64),
                                                    ", not for ", me));
  }
  const rv1::RosterEntry* sender = nullptr;
  for (const auto& e : roster.entries()) {
    if (e.centre() == payload.sender()) sender = &e;
  }
  if (sender == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("the sender '", Utf8Prefix(payload.sender(), 64),
                                                    "' is not on the roster"));
  }
  if (!Verify(sender->signing_key(), envelope.payload(), envelope.signature())) {
    return absl::PermissionDeniedError(absl::StrCat("the signature is not ", payload.sender(),
                                                    "'s key on the roster"));
  }
  return payload;
}

rv1::SignedRoster SignRoster(const RootKeys& root, const rv1::Roster& roster) {
  rv1::SignedRoster out;
  out.set_roster(roster.SerializeAsString());
  out.set_signature(Sign(root.secret_key, RootSigned("roster", out.roster())));
  return out;
}

absl::StatusOr<rv1::Roster> VerifyRoster(absl::string_view root_public, const rv1::SignedRoster& signed_roster) {
  if (!Verify(root_public, RootSigned("roster", signed_roster.roster()), signed_roster.signature())) {
    return absl::PermissionDeniedError("the roster is not signed by the operator's root key");
  }
  rv1::Roster roster;
  if (!roster.ParseFromString(signed_roster.roster())) return absl::InvalidArgumentError("the roster cannot be read");
  return roster;
}

rv1::SignedDirectory SignDirectory(const RootKeys& root, const rv1::Directory& directory) {
  rv1::SignedDirectory out;
  out.set_directory(directory.SerializeAsString());
  out.set_signature(Sign(root.secret_key, RootSigned("directory", out.directory())));
  return out;
}

absl::StatusOr<rv1::Directory> VerifyDirectory(absl::string_view root_public, const rv1::SignedDirectory& signed_directory) {
  if (!Verify(root_public, RootSigned("directory", signed_directory.directory()), signed_directory.signature())) {
    return absl::PermissionDeniedError("the directory is not signed by the operator's root key");
  }
  rv1::Directory directory;
  if (!directory.ParseFromString(signed_directory.directory())) {
    return absl::InvalidArgumentError("the directory cannot be read");
  }
  return directory;
}

absl::StatusOr<std::string> LoadRootPublicKey(const std::string& root_key_path) {
  std::ifstream key_in(root_key_path);
  std::string hex;
  key_in >> hex;
  if (hex.size() != 2 * crypto_sign_PUBLICKEYBYTES || !absl::c_all_of(hex, [](char c) { return absl::ascii_isxdigit(c); })) {
    return absl::FailedPreconditionError(absl::StrCat(root_key_path, " must hold the operator's root public key, 64 hex digits"));
  }
  return absl::HexStringToBytes(hex);
}

absl::StatusOr<rv1::Roster> LoadRoster(const std::string& roster_path, absl::string_view root_public) {
  std::ifstream in(roster_path, std::ios::binary);
  rv1::SignedRoster signed_roster;
  if (!in || !signed_roster.ParseFromIstream(&in)) {
    return absl::FailedPreconditionError(absl::StrCat(roster_path, " is not a signed roster (kentractl roster sign)"));
  }
  auto roster = VerifyRoster(root_public, signed_roster);
  if (!roster.ok()) return absl::FailedPreconditionError(absl::StrCat(roster_path, ": ", roster.status().message()));
  return roster;
}

absl::StatusOr<std::vector<rv1::RosterEntry>> DevPkiRosterEntries(const std::string& centres_dir) {
  std::vector<rv1::RosterEntry> entries;
  std::error_code ec;
  for (const auto& centre : std::filesystem::directory_iterator(centres_dir, ec)) {
    if (!std::filesystem::exists(centre.path() / "node.key")) continue;
    KENTRA_ASSIGN_OR_RETURN(std::string seed, ReadHexSecretFile((centre.path() / "node.key").string()));
    KENTRA_ASSIGN_OR_RETURN(NodeKeys keys, NodeKeys::FromSeed(seed));
    entries.push_back(keys.Entry(centre.path().filename().string()));
  }
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot read ", centres_dir, ": ", ec.message()));
  // Directory order is the file system's; a roster lists its centres in a fixed order.
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.centre() < b.centre(); });
  return entries;
}

absl::Status WriteSignedRoster(const RootKeys& root, const rv1::Roster& roster, const std::string& roster_path,
                               const std::string& root_pub_path) {
  std::ofstream file(roster_path, std::ios::binary | std::ios::trunc);
  if (!SignRoster(root, roster).SerializeToOstream(&file) || !file.flush()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", roster_path));
  }
  if (root_pub_path.empty()) return absl::OkStatus();
  std::ofstream pub(root_pub_path, std::ios::trunc);
  pub << absl::BytesToHexString(root.public_key) << "\n";
  return pub.flush() ? absl::OkStatus() : absl::FailedPreconditionError(absl::StrCat("cannot write ", root_pub_path));
}

}  // namespace kentra
