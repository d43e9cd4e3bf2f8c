// kentractl run in-process against a real node on loopback.
#include "cli/kentractl.h"

#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/testing/test_util.h"

namespace kentra::cli {
namespace {

using ::kentra::testing::TestNode;

class KentractlTest : public ::testing::Test {
 protected:
  int Run(std::vector<std::string> args) {
    args.push_back(absl::StrCat("--node=127.0.0.1:", node_.port()));
    args.push_back("--identity_dir=" + ::kentra::testing::TestPkiDir() + "/centres/kassandra/staff");
    args.push_back("--user=m.papadaki");
    out_.str("");
    err_.str("");
    return RunKentractl(args, out_, err_);
  }
  TestNode node_;
  std::ostringstream out_, err_;
};

TEST_F(KentractlTest, StaffWorkflowEndToEnd) {
  ASSERT_EQ(Run({"beneficiary", "add", "--given=Ελένη", "--family=Οικονόμου", "--birth=1990-01-15",
                 "--gender=female", "--municipality=Κασσάνδρα", "--amka=15019012341",
                 "--groups=kea-beneficiary,unemployed", "--consents=service-provision"}), 0)
      << err_.str();
  EXPECT_NE(out_.str().find("Οικονόμου"), std::string::npos);
  ASSERT_EQ(Run({"beneficiary", "find", "--name=οικονομου"}), 0);
  EXPECT_NE(out_.str().find("15019012341"), std::string::npos);
  ASSERT_EQ(Run({"case", "open", "--beneficiary=1", "--worker=m.papadaki", "--needs=income,employment"}), 0) << err_.str();
  ASSERT_EQ(Run({"service", "record", "--case=1", "--type=benefit-application-support", "--programme=kea",
                 "--date=2026-11-02", "--worker=m.papadaki"}), 0) << err_.str();
  ASSERT_EQ(Run({"case", "show", "1"}), 0);
  EXPECT_NE(out_.str().find("benefit-application-support"), std::string::npos);
  ASSERT_EQ(Run({"case", "list", "--output=csv"}), 0);
  EXPECT_EQ(out_.str().rfind("CASE,BENEFICIARY,STATE", 0), 0u) << out_.str();
  ASSERT_EQ(Run({"beneficiary", "get", "1", "--output=json"}), 0);
  EXPECT_NE(out_.str().find("\"familyName\": \"Οικονόμου\""), std::string::npos) << out_.str();
  ASSERT_EQ(Run({"case", "close", "1", "--reason=goals-met"}), 0);
  ASSERT_EQ(Run({"case", "reopen", "1", "--note=new need"}), 0);
}

TEST_F(KentractlTest, ServerErrorsExitOneWithTheServersMessage) {
  EXPECT_EQ(Run({"beneficiary", "get", "42"}), 1);
  EXPECT_NE(err_.str().find("NOT_FOUND: name: beneficiaries/42 does not exist"), std::string::npos) << err_.str();
  EXPECT_EQ(Run({"case", "close", "1", "--reason=goals-met"}), 1);
}

TEST_F(KentractlTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({"beneficiary", "list", "--bogus=1"}), 2);
  EXPECT_NE(err_.str().find("unknown option --bogus"), std::string::npos);
  EXPECT_EQ(Run({"case", "list", "--state=maybe"}), 2);
  EXPECT_NE(err_.str().find("'maybe' is not one of: open, closed"), std::string::npos) << err_.str();
  EXPECT_EQ(Run({"frobnicate"}), 2);
}

}  // namespace
}  // namespace kentra::cli
