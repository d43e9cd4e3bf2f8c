// kentractl run in-process against a real node on loopback.
#include <sys/stat.h>

#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/cli/run_kentractl.h"
#include "tests/testing/test_util.h"

namespace kentra::cli {
namespace {

using ::kentra::testing::TestNode;

using ::kentra::testing::kTestPassword;

class KentractlTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Run({"login", "--user=m.papadaki"}, {kTestPassword}), 0) << err_.str(); }

  // Runs kentractl with `stdin_lines` as its standard input (passwords).
  int Run(std::vector<std::string> args, const std::vector<std::string>& stdin_lines = {}) {
    args.push_back(absl::StrCat("--node=127.0.0.1:", node_.port()));
    args.push_back("--identity_dir=" + ::kentra::testing::TestPkiDir() + "/centres/kassandra/staff");
    args.push_back("--session_dir=" + sessions_.path());
    return RunWithInput(args, stdin_lines, out_, err_);
  }
  TestNode node_;
  ::kentra::testing::TempDir sessions_;
  std::ostringstream out_, err_;
};

TEST_F(KentractlTest, LoginKeepsTheTokenPrivateAndLogoutEndsIt) {
  std::vector<std::filesystem::path> files;
  for (const auto& f : std::filesystem::directory_iterator(sessions_.path())) files.push_back(f.path());
  ASSERT_EQ(files.size(), 1u);
  struct stat st {};
  ASSERT_EQ(stat(files[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(Run({"beneficiary", "list"}), 0) << err_.str();
  ASSERT_EQ(Run({"logout"}), 0) << err_.str();
  EXPECT_FALSE(std::filesystem::exists(files[0]));
  EXPECT_EQ(Run({"beneficiary", "list"}), 1);
  EXPECT_NE(err_.str().find("log in first"), std::string::npos) << err_.str();
  // A wrong password: the one message for every failed log-in, exit 1.
  EXPECT_EQ(Run({"login", "--user=m.papadaki"}, {"not the password"}), 1);
  EXPECT_NE(err_.str().find("log-in failed"), std::string::npos) << err_.str();
  // No password on standard input: nothing is sent.
  EXPECT_EQ(Run({"login", "--user=m.papadaki"}), 1);
  EXPECT_NE(err_.str().find("no password given"), std::string::npos) << err_.str();
  // The password is never an option.
  EXPECT_EQ(Run({"login", "--user=m.papadaki", "--password=x"}), 2);
}

TEST_F(KentractlTest, CoordinatorManagesStaff) {
  ASSERT_EQ(Run({"login", "--user=coord"}, {kTestPassword}), 0) << err_.str();
  ASSERT_EQ(Run({"user", "add", "a.georgiou", "--role=psychologist", "--display-name=Άννα Γεωργίου"},
                {"temporary-pass-1"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("temporary password"), std::string::npos) << out_.str();
  ASSERT_EQ(Run({"user", "list", "--output=csv"}), 0);
  EXPECT_NE(out_.str().find("a.georgiou,Άννα Γεωργίου,psychologist"), std::string::npos) << out_.str();

  // The new user must change the temporary password before anything else.
  ASSERT_EQ(Run({"login", "--user=a.georgiou"}, {"temporary-pass-1"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("kentractl passwd"), std::string::npos);
  EXPECT_EQ(Run({"beneficiary", "list"}), 1);
  EXPECT_NE(err_.str().find("FAILED_PRECONDITION: the password is temporary"), std::string::npos) << err_.str();
  ASSERT_EQ(Run({"passwd"}, {"temporary-pass-1", "her-own-password-7"}), 0) << err_.str();
  ASSERT_EQ(Run({"beneficiary", "list"}), 0) << err_.str();
  // A psychologist may not manage staff.
  EXPECT_EQ(Run({"user", "list"}), 1);
  EXPECT_NE(err_.str().find("PERMISSION_DENIED"), std::string::npos) << err_.str();

  ASSERT_EQ(Run({"login", "--user=coord"}, {kTestPassword}), 0);
  ASSERT_EQ(Run({"user", "set-role", "a.georgiou", "--role=viewer"}), 0) << err_.str();
  ASSERT_EQ(Run({"user", "disable", "a.georgiou"}), 0) << err_.str();
  EXPECT_EQ(Run({"login", "--user=a.georgiou"}, {"her-own-password-7"}), 1);
  ASSERT_EQ(Run({"user", "enable", "a.georgiou"}), 0) << err_.str();
  ASSERT_EQ(Run({"user", "reset-password", "a.georgiou"}, {"temporary-pass-2"}), 0) << err_.str();
  ASSERT_EQ(Run({"login", "--user=a.georgiou"}, {"temporary-pass-2"}), 0) << err_.str();
  // The last active coordinator cannot be disabled.
  ASSERT_EQ(Run({"login", "--user=coord"}, {kTestPassword}), 0);
  EXPECT_EQ(Run({"user", "disable", "coord"}), 1);
  EXPECT_NE(err_.str().find("without an active coordinator"), std::string::npos) << err_.str();
  ASSERT_EQ(Run({"audit", "list", "--resource=users/a.georgiou", "--output=csv"}), 0) << err_.str();
  for (const char* action : {"CreateUser", "Login", "ChangePassword", "UpdateUser", "ResetPassword"}) {
    EXPECT_NE(out_.str().find(action), std::string::npos) << action << " not audited:\n" << out_.str();
  }
}

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

TEST_F(KentractlTest, IndicatorsShowWhatLeavesAndTheCoordinatorClosesAMonth) {
  ASSERT_EQ(Run({"beneficiary", "add", "--given=Ελένη", "--family=Οικονόμου", "--birth=1990-01-15",
                 "--gender=female", "--municipality=Κασσάνδρα", "--amka=15019012341", "--groups=roma"}), 0)
      << err_.str();
  ASSERT_EQ(Run({"case", "open", "--beneficiary=1", "--worker=m.papadaki", "--needs=income"}), 0) << err_.str();
  ASSERT_EQ(Run({"service", "record", "--case=1", "--type=counselling", "--topic=legal", "--date=2026-10-12",
                 "--worker=m.papadaki"}), 0) << err_.str();
  ASSERT_EQ(Run({"indicators", "show", "--month=2026-10", "--output=csv"}), 0) << err_.str();
  EXPECT_EQ(out_.str().rfind("CELL,VALUE\n", 0), 0u) << out_.str();
  EXPECT_NE(out_.str().find("\nT2.roma,"), std::string::npos);
  EXPECT_NE(out_.str().find("\nE.EECO15.female,"), std::string::npos);
  EXPECT_EQ(Run({"month", "close", "2026-10"}), 1) << "a social worker may not close a month";
  ASSERT_EQ(Run({"login", "--user=coord"}, {kTestPassword}), 0);
  ASSERT_EQ(Run({"month", "close", "2026-10"}), 0) << err_.str();
  ASSERT_EQ(Run({"indicators", "show", "--month=2026-10"}), 0);
  EXPECT_NE(out_.str().find("closed: final"), std::string::npos) << out_.str();
  EXPECT_EQ(Run({"month", "close", "October"}), 2);
}

TEST_F(KentractlTest, TheCoordinatorTakesAndListsBackups) {
  EXPECT_EQ(Run({"backup", "create"}), 1) << "a social worker may not";
  EXPECT_NE(err_.str().find("PERMISSION_DENIED"), std::string::npos) << err_.str();
  ASSERT_EQ(Run({"login", "--user=coord"}, {kTestPassword}), 0);
  ASSERT_EQ(Run({"backup", "create"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("kassandra-20261120T100000Z"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find(node_.backup_dir()), std::string::npos) << "where it is: " << out_.str();
  ASSERT_EQ(Run({"backup", "list", "--output=csv"}), 0) << err_.str();
  EXPECT_EQ(out_.str().rfind("BACKUP,TAKEN,SIZE,PATH\nkassandra-20261120T100000Z,", 0), 0u) << out_.str();
  EXPECT_EQ(Run({"backup", "restore"}), 2) << "no such verb: restoring is done with the node stopped";
}

TEST(KentractlHubTest, SyncAndTheAuthoritysTables) {
  ::kentra::testing::TestHub hub;
  TestNode node("kassandra", absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0), absl::UTCTimeZone()),
                hub.address());
  ::kentra::testing::RecordActivity(node.NewStub().get(), node.Token("m.papadaki"), 12, absl::CivilMonth(2026, 10), 1);
  ::kentra::testing::TempDir sessions;
  std::ostringstream out, err;
  auto run = [&](std::vector<std::string> args, const std::string& identity, const std::vector<std::string>& in = {}) {
    args.push_back(absl::StrCat("--node=127.0.0.1:", node.port()));
    args.push_back("--hub=" + hub.address());
    args.push_back("--identity_dir=" + ::kentra::testing::TestPkiDir() + "/" + identity);
    args.push_back("--session_dir=" + sessions.path());
    return RunWithInput(args, in, out, err);
  };
  ASSERT_EQ(run({"login", "--user=coord"}, "centres/kassandra/staff", {kTestPassword}), 0) << err.str();
  ASSERT_EQ(run({"sync"}, "centres/kassandra/staff"), 0) << err.str();
  EXPECT_NE(out.str().find("ok"), std::string::npos) << out.str();
  ASSERT_EQ(run({"sync", "history", "--output=csv"}, "centres/kassandra/staff"), 0) << err.str();
  EXPECT_NE(out.str().find("RUN,TRIGGER,STARTED,SECONDS,MONTHS PUSHED,CHANGED,MAIL OUT,MAIL IN,RESULT\n"), std::string::npos)
      << out.str();
  ASSERT_EQ(run({"stats", "indicators", "--from=2026-10", "--by=target-group", "--output=csv"},
                "authorities/central-macedonia"), 0) << err.str();
  EXPECT_EQ(out.str().rfind("CATEGORY,2026-10,TOTAL\n", 0), 0u) << out.str();
  EXPECT_NE(out.str().find("\nroma,<10,<10\n"), std::string::npos) << out.str();
  ASSERT_EQ(run({"stats", "esf", "--mis=5002672", "--month=2026-10"}, "authorities/central-macedonia"), 0) << err.str();
  EXPECT_NE(out.str().find("EECO15"), std::string::npos);
  EXPECT_EQ(run({"stats", "indicators", "--from=2026-10", "--region=peloponnese"}, "authorities/central-macedonia"), 1);
  EXPECT_NE(err.str().find("PERMISSION_DENIED"), std::string::npos);
  ASSERT_EQ(run({"admin", "centres"}, "operator"), 0) << err.str();
  EXPECT_NE(out.str().find("STALE"), std::string::npos) << "four centres never synced";
  EXPECT_NE(out.str().find("MAIL WAITING"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("WATCHING"), std::string::npos) << out.str();
  EXPECT_EQ(run({"admin", "centres"}, "authorities/central-macedonia"), 1) << "only the operator";
  ASSERT_EQ(run({"admin", "audit", "--output=csv"}, "operator"), 0) << err.str();
  EXPECT_NE(out.str().find("authority/central-macedonia,StatsService.QueryIndicators"), std::string::npos) << out.str();
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
