// The federation directory at the node: where a person is referred for a
// service, resolved from the real centre configs; the cached copy that only the
// operator's signature and a newer version replace, and that survives a restart.
#include "node/referral_directory.h"

#include <gtest/gtest.h>

#include "common/sealing.h"
#include "node/schema.h"
#include "tests/testing/test_util.h"

namespace kentra::node {
namespace {

namespace tv1 = kentra::type::v1;
namespace rv1 = kentra::referral::v1;
using ::kentra::testing::TestDirectory;
using ::kentra::testing::TestRootKeys;

// "centre/site (match)" for each target, best first.
std::vector<std::string> Targets(tv1::ServiceType service, const std::string& municipality, const std::string& sender) {
  std::vector<std::string> out;
  for (const auto& t : ResolveTargets(TestDirectory(1), service, municipality, sender)) {
    out.push_back(absl::StrCat(t.centre(), "/", t.site(), " ",
                               t.match() == v1::REFERRAL_TARGET_MATCH_SERVES_AREA ? "area" : "region"));
  }
  return out;
}

TEST(ReferralDirectoryTest, ResolvesTheCentreServingTheMunicipality) {
  // Κουφάλια is Chalkidona's; its only site is named.
  EXPECT_EQ(Targets(tv1::SERVICE_TYPE_COUNSELLING, "Κουφάλια", "kassandra"),
            std::vector<std::string>{"chalkidona/koufalia area"});
  // Case, accents and "Δήμος" do not matter.
  EXPECT_EQ(Targets(tv1::SERVICE_TYPE_COUNSELLING, "ΔΗΜΟΣ ΘΕΣΣΑΛΟΝΊΚΗΣ", "kassandra"),
            std::vector<std::string>{"thessaloniki/ area"});  // two sites, none specific to counselling
  EXPECT_EQ(Targets(tv1::SERVICE_TYPE_COUNSELLING, "τριανδρια", "kassandra"),
            std::vector<std::string>{"thessaloniki/ area"});
}

TEST(ReferralDirectoryTest, FallsBackToTheRegionAndPicksTheBranchSite) {
  // Nobody in Kassandra offers migrant integration: Thessaloniki's ΚΕΜ, in the region, does.
  const auto targets = ResolveTargets(TestDirectory(1), tv1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT, "Κασσάνδρα", "kassandra");
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].centre(), "thessaloniki");
  EXPECT_EQ(targets[0].site(), "west");
  EXPECT_EQ(targets[0].match(), v1::REFERRAL_TARGET_MATCH_SAME_REGION);
  EXPECT_EQ(targets[0].site_details().phone(), "2313 318531");
  EXPECT_EQ(targets[0].centre_name().latin(), "Community Centre of Thessaloniki with migrant-integration branch");
  // Not across regions: nobody in the Peloponnese offers it.
  EXPECT_TRUE(Targets(tv1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT, "Κρανίδι", "ermionida").empty());
  // The sender is never its own target: Pylaia's own counselling is left out, the region's listed.
  EXPECT_EQ(Targets(tv1::SERVICE_TYPE_COUNSELLING, "Πυλαία", "pylaia-chortiatis"),
            (std::vector<std::string>{"chalkidona/koufalia region", "kassandra/kallithea region", "thessaloniki/ region"}));
  // A place no centre serves: the sender's region.
  EXPECT_EQ(Targets(tv1::SERVICE_TYPE_LEARNING_SUPPORT, "Ατλαντίδα", "ermionida"), std::vector<std::string>{});
  EXPECT_EQ(Targets(tv1::SERVICE_TYPE_LEARNING_SUPPORT, "Ατλαντίδα", "thessaloniki"),
            (std::vector<std::string>{"chalkidona/koufalia region", "kassandra/kallithea region"}));
}

TEST(ReferralDirectoryTest, ChecksTheSiteAgainstTheCentresSites) {
  const rv1::Directory d = TestDirectory(1);
  EXPECT_TRUE(CheckSite(d, "thessaloniki", "west", "f").ok());
  EXPECT_TRUE(CheckSite(d, "thessaloniki", "", "f").ok());
  const absl::Status bad = CheckSite(d, "thessaloniki", "north", "referral.receiving_site");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "referral.receiving_site: thessaloniki has no site 'north' (its sites: east, west)");
  EXPECT_TRUE(CheckSite(d, "not-listed-yet", "any", "f").ok());  // a stale directory does not block the roster
}

class ReferralDirectoryCacheTest : public ::testing::Test {
 protected:
  void Open(const std::string& root_public) {
    directory_.reset();
    store_.reset();
    auto store = Store::Open(dir_.path(), ColumnFamilyNames(), NodeStoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto directory = ReferralDirectory::Open(store_.get(), kMeta, root_public);
    ASSERT_TRUE(directory.ok()) << directory.status();
    directory_ = *std::move(directory);
  }
  kentra::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ReferralDirectory> directory_;
};

TEST_F(ReferralDirectoryCacheTest, OnlyTheOperatorsNewerDirectoryReplacesTheCachedOne) {
  const RootKeys root = TestRootKeys();
  Open(root.public_key);
  EXPECT_EQ(directory_->Current(), nullptr);
  EXPECT_EQ(directory_->version(), 0);

  ASSERT_TRUE(directory_->Offer(SignDirectory(root, TestDirectory(2))).value());
  EXPECT_EQ(directory_->version(), 2);
  EXPECT_FALSE(directory_->Offer(SignDirectory(root, TestDirectory(2))).value());  // the same: no news
  EXPECT_EQ(directory_->Offer(SignDirectory(root, TestDirectory(1))).status().code(),
            absl::StatusCode::kFailedPrecondition);  // a replayed older one

  // Signed by someone else (the hub, say), or a tampered byte: refused, nothing changes.
  auto other = RootKeys::FromSeed(std::string(32, '\x07'));
  ASSERT_TRUE(other.ok());
  rv1::Directory shrunk = TestDirectory(3);
  shrunk.mutable_centres()->RemoveLast();
  EXPECT_EQ(directory_->Offer(SignDirectory(*other, shrunk)).status().code(), absl::StatusCode::kPermissionDenied);
  rv1::SignedDirectory tampered = SignDirectory(root, TestDirectory(3));
  tampered.mutable_directory()->back() ^= 1;
  EXPECT_EQ(directory_->Offer(tampered).status().code(), absl::StatusCode::kPermissionDenied);
  // The operator's signature on a roster is no signature on a directory.
  rv1::Roster roster;
  roster.set_version(9);
  const rv1::SignedRoster signed_roster = SignRoster(root, roster);
  rv1::SignedDirectory passed_off;
  passed_off.set_directory(signed_roster.roster());
  passed_off.set_signature(signed_roster.signature());
  EXPECT_EQ(directory_->Offer(passed_off).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(directory_->version(), 2);
  EXPECT_EQ(directory_->Current()->centres_size(), 5);

  // Kept across a restart; dropped if the pinned root key is no longer the one that signed it.
  Open(root.public_key);
  EXPECT_EQ(directory_->version(), 2);
  Open(other->public_key);
  EXPECT_EQ(directory_->version(), 0);
}

}  // namespace
}  // namespace kentra::node
