// kentractl's referral commands, run in-process against the referral fixture's
// federation (a hub and three nodes on loopback): what each side's staff type and
// read, the refusals they get, and what a referral says while it cannot go.
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/cli/run_kentractl.h"
#include "tests/node/referral_fixture.h"

namespace kentra::cli {
namespace {

using ::kentra::testing::kTestPassword;
using ::kentra::testing::TestNode;
namespace nv1 = kentra::node::v1;

class ReferralCommandsTest : public ::kentra::testing::ReferralTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(Run(kassandra_, {"login", "--user=m.papadaki"}, {kTestPassword}), 0) << err_.str();
    ASSERT_EQ(Run(thessaloniki_, {"login", "--user=m.papadaki"}, {kTestPassword}), 0) << err_.str();
  }

  // Runs kentractl as a social worker at `node`'s staff terminal.
  int Run(TestNode& node, std::vector<std::string> args, const std::vector<std::string>& stdin_lines = {}) {
    const std::string centre = &node == &kassandra_ ? "kassandra" : "thessaloniki";
    args.push_back(absl::StrCat("--node=127.0.0.1:", node.port()));
    args.push_back("--identity_dir=" + ::kentra::testing::TestPkiDir() + "/centres/" + centre + "/staff");
    args.push_back("--session_dir=" + sessions_.path() + "/" + centre);
    return RunWithInput(args, stdin_lines, out_, err_);
  }

  // Sends a referral of a new person from Kassandra to Thessaloniki's west site;
  // returns its name ("referrals/..."), the first word `referral send` prints.
  std::string SendFromKassandra(int serial) {
    const std::string person = Person(kassandra_, serial);
    EXPECT_EQ(Run(kassandra_, {"referral", "send", "--beneficiary=" + person, "--to=thessaloniki/west",
                               "--service=migrant-integration-support", "--urgency=urgent",
                               "--reason=Residence permit renewal", "--request-id=cli-" + std::to_string(serial)}),
              0)
        << err_.str();
    const std::vector<std::string> words = absl::StrSplit(out_.str(), ' ');
    return words.empty() ? "" : words[0];
  }

  std::string IdOf(const std::string& name) { return name.substr(name.find('/') + 1); }

  ::kentra::testing::TempDir sessions_;
  std::ostringstream out_, err_;
};

TEST_F(ReferralCommandsTest, TheReceiverRejectsWithAReasonAndTheSenderReadsIt) {
  const std::string name = SendFromKassandra(1);
  ASSERT_EQ(name.rfind("referrals/", 0), 0u) << out_.str();
  EXPECT_NE(out_.str().find("(outgoing, to thessaloniki/west)"), std::string::npos) << out_.str();
  ASSERT_TRUE(Reaches(thessaloniki_, name, nv1::REFERRAL_STATE_RECEIVED));

  ASSERT_EQ(Run(thessaloniki_, {"referral", "inbox", "--output=csv"}), 0) << err_.str();
  EXPECT_NE(out_.str().find(",received,"), std::string::npos) << out_.str();
  // A rejection needs its reason, one of the list.
  EXPECT_EQ(Run(thessaloniki_, {"referral", "reject", IdOf(name)}), 2);
  EXPECT_NE(err_.str().find("--reason is required"), std::string::npos) << err_.str();
  EXPECT_EQ(Run(thessaloniki_, {"referral", "reject", IdOf(name), "--reason=too-busy"}), 2);
  EXPECT_NE(err_.str().find("no-capacity"), std::string::npos) << "the error lists the reasons: " << err_.str();
  // Only the sender cancels: the server's refusal, exit 1.
  EXPECT_EQ(Run(thessaloniki_, {"referral", "cancel", IdOf(name)}), 1);
  EXPECT_NE(err_.str().find("PERMISSION_DENIED"), std::string::npos) << err_.str();
  ASSERT_EQ(Run(thessaloniki_, {"referral", "reject", IdOf(name), "--reason=no-capacity", "--note=Full until March"}),
            0)
      << err_.str();
  EXPECT_NE(out_.str().find("state:    rejected (no-capacity)"), std::string::npos) << out_.str();

  ASSERT_TRUE(Reaches(kassandra_, name, nv1::REFERRAL_STATE_REJECTED));
  ASSERT_EQ(Run(kassandra_, {"referral", "show", name}), 0) << err_.str();
  EXPECT_NE(out_.str().find("state:    rejected (no-capacity)"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("delivery: delivered"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("no-capacity: Full until March"), std::string::npos) << "in the history: " << out_.str();
  // The receiving side's show says where its own answer is.
  ASSERT_TRUE(::kentra::testing::WaitFor(
      [&] { return Get(thessaloniki_, name).delivery() == nv1::REFERRAL_DELIVERY_AT_HUB; }));
  ASSERT_EQ(Run(thessaloniki_, {"referral", "show", name}), 0) << err_.str();
  EXPECT_NE(out_.str().find("replies:  at-hub"), std::string::npos) << out_.str();
  // Rejected is final: a late cancellation is refused.
  EXPECT_EQ(Run(kassandra_, {"referral", "cancel", IdOf(name)}), 1);
  EXPECT_NE(err_.str().find("FAILED_PRECONDITION"), std::string::npos) << err_.str();
}

TEST_F(ReferralCommandsTest, TheSenderCancelsAndTheReceiverSeesItCancelled) {
  const std::string name = SendFromKassandra(2);
  ASSERT_TRUE(Reaches(thessaloniki_, name, nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_EQ(Run(kassandra_, {"referral", "cancel", IdOf(name), "--note=The family moved back"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("state:    cancelled"), std::string::npos) << out_.str();
  ASSERT_TRUE(Reaches(thessaloniki_, name, nv1::REFERRAL_STATE_CANCELLED));
  ASSERT_EQ(Run(thessaloniki_, {"referral", "inbox", "--state=cancelled", "--output=csv"}), 0) << err_.str();
  EXPECT_NE(out_.str().find(",cancelled,"), std::string::npos) << out_.str();
  EXPECT_EQ(Run(thessaloniki_, {"referral", "accept", IdOf(name)}), 1) << "too late";
  EXPECT_NE(err_.str().find("FAILED_PRECONDITION"), std::string::npos) << err_.str();
}

TEST_F(ReferralCommandsTest, AReferralThatCannotGoSaysWhyInTheOutboxAndInShow) {
  hub_.Stop();
  const std::string name = SendFromKassandra(3);
  ASSERT_TRUE(::kentra::testing::WaitFor([&] { return !Get(kassandra_, name).delivery_problem().empty(); }));
  ASSERT_EQ(Run(kassandra_, {"referral", "outbox"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("requested (not sent: see show)"), std::string::npos) << out_.str();
  ASSERT_EQ(Run(kassandra_, {"referral", "show", IdOf(name)}), 0) << err_.str();
  EXPECT_NE(out_.str().find("delivery: queued\n  not sent: this node's messages have not reached the hub since"),
            std::string::npos)
      << out_.str();

  hub_.Restart();
  ASSERT_TRUE(Reaches(kassandra_, name, nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_EQ(Run(kassandra_, {"referral", "show", IdOf(name)}), 0) << err_.str();
  EXPECT_EQ(out_.str().find("not sent"), std::string::npos) << out_.str();
}

}  // namespace
}  // namespace kentra::cli
