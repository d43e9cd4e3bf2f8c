#include "common/anon/keys.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/anon/ptable.h"
#include "common/crypto.h"

namespace kentra::anon {

AnonKeys AnonKeys::Derive(absl::string_view federation_secret) {
  return {HmacSha256(federation_secret, "kentra-anon/v1 pseudonym"),
          HmacSha256(federation_secret, "kentra-anon/v1 record key"),
          HmacSha256(federation_secret, "kentra-anon/v1 sketch")};
}

std::string Pseudonym(const AnonKeys& keys, absl::string_view centre_id, const kentra::node::v1::Beneficiary& b) {
  if (!b.national_id().value().empty()) {
    return HmacSha256(keys.pseudonym, absl::StrCat("id:", static_cast<int>(b.national_id().type()), ":",
                                                   absl::AsciiStrToUpper(b.national_id().value())));
  }
  return HmacSha256(keys.pseudonym, absl::StrCat("local:", centre_id, ":", b.name()));
}

uint32_t RecordKey(const AnonKeys& keys, absl::string_view pseudonym) {
  const std::string mac = HmacSha256(keys.record_key, pseudonym);
  const uint32_t value = (static_cast<uint32_t>(static_cast<unsigned char>(mac[0])) << 24) |
                         (static_cast<uint32_t>(static_cast<unsigned char>(mac[1])) << 16) |
                         (static_cast<uint32_t>(static_cast<unsigned char>(mac[2])) << 8) |
                         static_cast<uint32_t>(static_cast<unsigned char>(mac[3]));
  return value % kCellKeyModulus;
}

uint32_t ReferralStepKey(const AnonKeys& keys, absl::string_view centre_id, absl::string_view cell,
                         absl::string_view referral_id) {
  // Length-prefixed parts, so that no two different triples give the same input.
  return RecordKey(keys, absl::StrCat("referral-step:", centre_id.size(), ":", centre_id, cell.size(), ":", cell,
                                      referral_id));
}

}  // namespace kentra::anon
