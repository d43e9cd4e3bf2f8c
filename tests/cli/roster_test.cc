// The roster of node keys: the operator signs it with kentractl, a node starts
// only with a roster the pinned root key signed and that carries its own keys;
// the federation directory the operator signs from the centre configs.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "cli/kentractl.h"
#include "common/sealing.h"
#include "tests/testing/test_util.h"

namespace kentra::cli {
namespace {

using ::kentra::testing::StatusIs;
using ::kentra::testing::TempDir;
using ::kentra::testing::TestPkiDir;

int Sign(const std::vector<std::string>& extra, const std::string& out) {
  std::vector<std::string> args = {"roster", "sign", "--version=1", "--out=" + out};
  args.insert(args.end(), extra.begin(), extra.end());
  std::ostringstream o, e;
  const int code = RunKentractl(args, o, e);
  EXPECT_EQ(code, 0) << e.str();
  return code;
}

absl::StatusOr<std::unique_ptr<kentra::node::NodeServer>> StartWith(const TempDir& dir, const std::string& roster,
                                                                     const std::string& root_pub) {
  kentra::node::NodeOptions options;
  options.centre = ::kentra::testing::CentreConfig("kassandra");
  options.data_dir = dir.path() + "/db";
  options.secrets_dir = TestPkiDir() + "/centres/kassandra";
  options.roster_path = roster;
  options.roster_root_key_path = root_pub;
  return kentra::node::NodeServer::Start(options);
}

TEST(RosterTest, ANodeStartsOnlyWithARosterTheRootSignedThatCarriesItsKeys) {
  TempDir dir;
  const std::string roster = dir.path() + "/roster.pb", root_pub = dir.path() + "/root.pub";
  ASSERT_EQ(Sign({"--root_seed=" + TestPkiDir() + "/operator/root.seed", "--node_keys=" + TestPkiDir() + "/centres",
                  "--root_pub_out=" + root_pub},
                 roster),
            0);
  {
    auto node = StartWith(dir, roster, root_pub);
    ASSERT_TRUE(node.ok()) << node.status();
    ASSERT_TRUE((*node)->roster().has_value());
    EXPECT_EQ((*node)->roster()->entries_size(), 5);
  }
  // A roster signed by another key than the pinned root.
  const std::string other_seed = dir.path() + "/other.seed";
  {
    std::ofstream(other_seed) << std::string(64, 'a') << "\n";
    chmod(other_seed.c_str(), 0600);
  }
  const std::string forged = dir.path() + "/forged.pb";
  ASSERT_EQ(Sign({"--root_seed=" + other_seed, "--node_keys=" + TestPkiDir() + "/centres"}, forged), 0);
  EXPECT_THAT(StartWith(dir, forged, root_pub),
              StatusIs(absl::StatusCode::kFailedPrecondition, "not signed by the operator's root key"));
  // A roster without Kassandra's keys.
  const std::string entry = dir.path() + "/thessaloniki.textproto";
  {
    const auto e = ::kentra::testing::TestNodeKeys("thessaloniki").Entry("thessaloniki");
    std::ofstream(entry) << "centre: \"thessaloniki\" signing_key: \"" << absl::CEscape(e.signing_key())
                         << "\" sealing_key: \"" << absl::CEscape(e.sealing_key()) << "\"\n";
  }
  const std::string partial = dir.path() + "/partial.pb";
  ASSERT_EQ(Sign({"--root_seed=" + TestPkiDir() + "/operator/root.seed", "--entries=" + entry}, partial), 0);
  EXPECT_THAT(StartWith(dir, partial, root_pub),
              StatusIs(absl::StatusCode::kFailedPrecondition, "this node's keys are not on the roster"));
  EXPECT_THAT(StartWith(dir, roster, ""), StatusIs(absl::StatusCode::kFailedPrecondition, "go together"));
  // The root seed is a secret: refused if others can read it.
  chmod(other_seed.c_str(), 0644);
  std::ostringstream o, e;
  EXPECT_NE(RunKentractl({"roster", "sign", "--version=2", "--root_seed=" + other_seed,
                          "--node_keys=" + TestPkiDir() + "/centres", "--out=" + forged},
                         o, e),
            0);
  EXPECT_NE(e.str().find("read by others"), std::string::npos) << e.str();
}

}  // namespace
}  // namespace kentra::cli

namespace kentra::cli {
namespace {

TEST(DirectorySignTest, TheOperatorSignsTheCentreConfigsPublicFactsOnly) {
  kentra::testing::TempDir dir;
  const std::string out = dir.path() + "/directory.pb";
  std::ostringstream o, e;
  ASSERT_EQ(RunKentractl({"directory", "sign", "--root_seed=" + kentra::testing::TestPkiDir() + "/operator/root.seed",
                          "--hub_config=" + kentra::testing::SourceDir() + "/configs/hub.textproto", "--version=3",
                          "--out=" + out},
                         o, e),
            0)
      << e.str();
  std::ifstream in(out, std::ios::binary);
  kentra::referral::v1::SignedDirectory signed_directory;
  ASSERT_TRUE(signed_directory.ParseFromIstream(&in));
  auto directory = VerifyDirectory(kentra::testing::TestRootKeys().public_key, signed_directory);
  ASSERT_TRUE(directory.ok()) << directory.status();
  EXPECT_EQ(directory->version(), 3);
  ASSERT_EQ(directory->centres_size(), 5);
  const auto& thessaloniki = directory->centres(4);
  EXPECT_EQ(thessaloniki.id(), "thessaloniki");
  EXPECT_EQ(thessaloniki.sites(1).id(), "west");
  EXPECT_EQ(thessaloniki.areas_served(1), "Τριανδρία");
  // Budgets, staff and node settings stay in the configs.
  EXPECT_EQ(signed_directory.directory().find("Κοινωνικός Λειτουργός"), std::string::npos);

  // Usage errors exit 2 and write nothing.
  std::ostringstream o2, e2;
  EXPECT_EQ(RunKentractl({"directory", "sign", "--root_seed=x", "--hub_config=y", "--version=0", "--out=" + out + "2"},
                         o2, e2),
            2);
  EXPECT_FALSE(std::filesystem::exists(out + "2"));
}

}  // namespace
}  // namespace kentra::cli
