#include "node/page_token.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/proto_util.h"
#include "kentra/storage/v1/records.pb.h"

namespace kentra::node {
namespace {
constexpr size_t kMacBytes = 32;
}

std::string PageTokens::FilterDigest(const google::protobuf::Message& request) {
  return DigestWithout(request, {"page_token", "page_size"});
}

std::string PageTokens::Issue(absl::string_view listing, absl::string_view filter_digest,
                              absl::string_view last_key) const {
  kentra::storage::v1::PageCursor cursor;
  cursor.set_listing(std::string(listing));
  cursor.set_filter_digest(std::string(filter_digest));
  cursor.set_last_key(std::string(last_key));
  cursor.set_issue_time_seconds(absl::ToUnixSeconds(clock_->Now()));
  std::string body = cursor.SerializeAsString();
  return Base64UrlEncode(body + HmacSha256(key_, body));
}

absl::StatusOr<std::string> PageTokens::Resume(absl::string_view token, absl::string_view listing,
                                               absl::string_view filter_digest) const {
  if (token.empty()) return std::string();
  auto invalid = [](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("page_token: ", why));
  };
  if (token.size() > 4096) return invalid("is not a token this node issued");
  auto raw = Base64UrlDecode(token);
  if (!raw || raw->size() < kMacBytes) return invalid("is not a token this node issued");
  absl::string_view body = absl::string_view(*raw).substr(0, raw->size() - kMacBytes);
  absl::string_view mac = absl::string_view(*raw).substr(raw->size() - kMacBytes);
  if (!VerifyHmacSha256(key_, body, mac)) return invalid("is not a token this node issued");
  kentra::storage::v1::PageCursor cursor;
  if (!cursor.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return invalid("is not a token this node issued");
  }
  if (cursor.listing() != listing) {
    return invalid(absl::StrCat("was issued by ", cursor.listing(), ", not ", listing));
  }
  if (cursor.filter_digest() != filter_digest) {
    return invalid("was issued for different filters; start again without a token");
  }
  absl::Time issued = absl::FromUnixSeconds(cursor.issue_time_seconds());
  if (clock_->Now() - issued > kLifetime) {
    return invalid("has expired; start the listing again");
  }
  return cursor.last_key();
}

}  // namespace kentra::node
