// Keyed pseudonyms and record keys of kentra-anon/v1. Every key is derived, per
// purpose, from the federation secret that all nodes hold and the hub never does,
// so the same person has the same pseudonym and record key at every centre (their
// noise agrees, and cross-centre sketches merge) while the hub can compute neither.
#ifndef KENTRA_COMMON_ANON_KEYS_H_
#define KENTRA_COMMON_ANON_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "kentra/node/v1/beneficiary.pb.h"

namespace kentra::anon {

// The keys a node derives from its federation secret.
struct AnonKeys {
  std::string pseudonym;   // keys Pseudonym()
  std::string record_key;  // keys RecordKey()
  std::string sketch;      // keys the cross-centre sketches' hashes

  // Derives the three keys (HMAC-SHA-256 of the purpose under the secret).
  static AnonKeys Derive(absl::string_view federation_secret);
};

// A person's 32-byte pseudonym: from the national identifier when there is one
// (the same at every centre), else from the centre and the record's name (local).
std::string Pseudonym(const AnonKeys& keys, absl::string_view centre_id,
                      const kentra::node::v1::Beneficiary& b);

// A person's record key in [0, kCellKeyModulus).
uint32_t RecordKey(const AnonKeys& keys, absl::string_view pseudonym);

// The record key of one referral step: referral `referral_id` counted by centre
// `centre_id` in cell `cell`. Each centre and each cell gets its own key for the
// same referral, so that its noise is independent in the sender's "sent" and the
// receiver's "received", "accepted" ... cells and links none of them.
uint32_t ReferralStepKey(const AnonKeys& keys, absl::string_view centre_id, absl::string_view cell,
                         absl::string_view referral_id);

}  // namespace kentra::anon

#endif  // KENTRA_COMMON_ANON_KEYS_H_
