// Sealed referrals: only the recipient opens them, only the roster's keys sign
// them, the hub sees only a few sizes, and a roster is believed only if the
// operator's root key signed it.
#include "common/sealing.h"

#include <gtest/gtest.h>

#include "common/crypto.h"
#include "tests/testing/test_util.h"

namespace kentra {
namespace {

namespace rv1 = kentra::referral::v1;
using ::kentra::testing::StatusIs;

class SealingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = *NodeKeys::FromSeed(std::string(32, 'a'));
    b_ = *NodeKeys::FromSeed(std::string(32, 'b'));
    c_ = *NodeKeys::FromSeed(std::string(32, 'c'));
    root_ = *RootKeys::FromSeed(std::string(32, 'r'));
    roster_.set_version(1);
    *roster_.add_entries() = a_.Entry("kassandra");
    *roster_.add_entries() = b_.Entry("thessaloniki");
    *roster_.add_entries() = c_.Entry("ermionida");
  }
  rv1::SignedPayload Payload(const std::string& body, const std::string& to = "thessaloniki") {
    rv1::SignedPayload p;
    p.set_sender("kassandra");
    p.set_recipient(to);
    p.set_referral_id("r-1");
    p.set_body(body);
    return p;
  }
  NodeKeys a_, b_, c_;
  RootKeys root_;
  rv1::Roster roster_;
};

TEST_F(SealingTest, OnlyTheRecipientOpensAndSizesAreBuckets) {
  auto sealed = Seal(a_, Payload("ΑΜΚΑ 15019012341, Ελένη Οικονόμου"), b_.sealing_public);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->find("15019012341"), std::string::npos);
  auto opened = Open(b_, "thessaloniki", *sealed, roster_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->body(), "ΑΜΚΑ 15019012341, Ελένη Οικονόμου");
  EXPECT_EQ(opened->sender(), "kassandra");
  // Bodies of different lengths in one bucket have one sealed size.
  EXPECT_EQ(Seal(a_, Payload("x"), b_.sealing_public)->size(), sealed->size());
  EXPECT_EQ(sealed->size(), 1024u + 48u);
  EXPECT_EQ(Seal(a_, Payload(std::string(2000, 'x')), b_.sealing_public)->size(), 4096u + 48u);
  EXPECT_THAT(Seal(a_, Payload(std::string(300000, 'x')), b_.sealing_public),
              StatusIs(absl::StatusCode::kInvalidArgument, "can be sealed"));
}

TEST_F(SealingTest, SealedSizeIsKnownBeforeSealing) {
  // At a bucket's edge too: the signature is counted before it is made.
  for (size_t n : {size_t{0}, size_t{900}, size_t{1024 - 120}, size_t{1024 - 100}, size_t{1024 - 80}, size_t{2000},
                   size_t{262144 - 200}}) {
    const auto payload = Payload(std::string(n, 'x'));
    auto expected = SealedSize(payload);
    ASSERT_TRUE(expected.ok()) << n << ": " << expected.status();
    EXPECT_EQ(*expected, Seal(a_, payload, b_.sealing_public)->size()) << n;
  }
  EXPECT_THAT(SealedSize(Payload(std::string(300000, 'x'))), StatusIs(absl::StatusCode::kInvalidArgument, "can be sealed"));
}

TEST_F(SealingTest, TamperedMisdeliveredOrForgedReferralsAreRefused) {
  const std::string sealed = *Seal(a_, Payload("body"), b_.sealing_public);
  std::string tampered = sealed;
  tampered[100] ^= 1;
  EXPECT_THAT(Open(b_, "thessaloniki", tampered, roster_), StatusIs(absl::StatusCode::kPermissionDenied, "does not open"));
  // Delivered to C instead of B.
  EXPECT_THAT(Open(c_, "ermionida", sealed, roster_), StatusIs(absl::StatusCode::kPermissionDenied, "does not open"));
  // Signed for C but sealed to B (a payload passed off to another centre).
  const std::string rerouted = *Seal(a_, Payload("body", "ermionida"), b_.sealing_public);
  EXPECT_THAT(Open(b_, "thessaloniki", rerouted, roster_),
              StatusIs(absl::StatusCode::kPermissionDenied, "signed for ermionida, not for thessaloniki"));
  // The hub makes its own keys and claims to be Kassandra.
  const NodeKeys hub = *NodeKeys::FromSeed(std::string(32, 'h'));
  const std::string forged = *Seal(hub, Payload("body"), b_.sealing_public);
  EXPECT_THAT(Open(b_, "thessaloniki", forged, roster_),
              StatusIs(absl::StatusCode::kPermissionDenied, "not kassandra's key on the roster"));
  // A sender the roster does not know.
  rv1::SignedPayload stranger = Payload("body");
  stranger.set_sender("nowhere");
  EXPECT_THAT(Open(b_, "thessaloniki", *Seal(hub, stranger, b_.sealing_public), roster_),
              StatusIs(absl::StatusCode::kPermissionDenied, "not on the roster"));
  EXPECT_THAT(Open(b_, "thessaloniki", "short", roster_), StatusIs(absl::StatusCode::kInvalidArgument, "too short"));
}

TEST_F(SealingTest, ARosterIsBelievedOnlyWithTheRootsSignature) {
  const rv1::SignedRoster signed_roster = SignRoster(root_, roster_);
  auto verified = VerifyRoster(root_.public_key, signed_roster);
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->entries_size(), 3);
  // The hub swaps Thessaloniki's sealing key for its own.
  rv1::Roster swapped = roster_;
  swapped.mutable_entries(1)->set_sealing_key(std::string(32, 'x'));
  rv1::SignedRoster forged = signed_roster;
  forged.set_roster(swapped.SerializeAsString());
  EXPECT_THAT(VerifyRoster(root_.public_key, forged), StatusIs(absl::StatusCode::kPermissionDenied, "root key"));
  const RootKeys other = *RootKeys::FromSeed(std::string(32, 'o'));
  EXPECT_THAT(VerifyRoster(root_.public_key, SignRoster(other, swapped)),
              StatusIs(absl::StatusCode::kPermissionDenied, "root key"));
}

}  // namespace
}  // namespace kentra
