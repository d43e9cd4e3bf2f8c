#include "node/page_token.h"

#include <gtest/gtest.h>

#include "kentra/node/v1/staff_service.pb.h"
#include "tests/testing/test_util.h"

namespace kentra::node {
namespace {

using ::kentra::testing::StatusIs;

TEST(PageTokensTest, RoundTripsAndRejectsTampering) {
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  PageTokens tokens(std::string(32, 'k'), &clock);
  v1::ListCasesRequest request;
  request.set_assigned_worker("m.papadaki");
  const std::string digest = PageTokens::FilterDigest(request);
  request.set_page_size(7);  // page size is not part of the filter
  EXPECT_EQ(PageTokens::FilterDigest(request), digest);

  std::string token = tokens.Issue("ListCases", digest, "last-key");
  EXPECT_EQ(*tokens.Resume(token, "ListCases", digest), "last-key");
  EXPECT_EQ(*tokens.Resume("", "ListCases", digest), "");

  std::string flipped = token;
  flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
  EXPECT_THAT(tokens.Resume(flipped, "ListCases", digest),
              StatusIs(absl::StatusCode::kInvalidArgument, "not a token this node issued"));
  PageTokens other_node(std::string(32, 'x'), &clock);
  EXPECT_THAT(other_node.Resume(token, "ListCases", digest),
              StatusIs(absl::StatusCode::kInvalidArgument, "not a token this node issued"));
  clock.Advance(absl::Hours(25));
  EXPECT_THAT(tokens.Resume(token, "ListCases", digest), StatusIs(absl::StatusCode::kInvalidArgument, "expired"));
}

}  // namespace
}  // namespace kentra::node
