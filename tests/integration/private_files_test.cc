// Personal data closed to the machine's other accounts: a node's store, its
// write-ahead log and audit journal, its backups and the hub's store are its
// owner's only, and a server refuses a data or backup directory others can open,
// saying what to run.
#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "node/node_server.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace kentra::testing {
namespace {

namespace fs = std::filesystem;

mode_t ModeOf(const fs::path& p) {
  struct stat st;
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::vector<std::string> NodeArgs(const std::string& data, const std::string& backups) {
  return {KENTRA_NODE_BINARY, "--config=" + SourceDir() + "/configs/centres/kassandra.textproto",
          "--data_dir=" + data, "--backup_dir=" + backups, "--backup_every=24h", "--listen=127.0.0.1:0",
          "--secrets_dir=" + TestPkiDir() + "/centres/kassandra"};
}

TEST(PrivateFilesTest, EverythingANodeWritesIsItsOwnersOnly) {
  TempDir dir;
  const std::string data = dir.path() + "/var/kassandra", backups = dir.path() + "/backups";
  {
    ChildProcess node(NodeArgs(data, backups));
    ASSERT_GT(node.port(), 0);
    EXPECT_EQ(node.Stop(SIGTERM), 0);
  }
  int files = 0;
  for (const std::string& top : {data, backups}) {
    EXPECT_EQ(ModeOf(top), 0700u) << top;
    for (const auto& entry : fs::recursive_directory_iterator(top)) {
      const mode_t mode = ModeOf(entry.path());
      EXPECT_EQ(mode & 077, 0u) << entry.path() << " has mode " << std::oct << mode;
      files += entry.is_regular_file();
    }
  }
  EXPECT_GT(files, 5) << "the store's files, its journal, and the backup taken at start";
}

TEST(PrivateFilesTest, AServerRefusesADirectoryOthersCanOpenAndSaysWhatToRun) {
  TempDir dir;
  const std::string data = dir.path() + "/kassandra";
  fs::create_directories(data);
  fs::permissions(data, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  kentra::node::NodeOptions options;
  options.centre = CentreConfig("kassandra");
  options.data_dir = data;
  auto refused = kentra::node::BootstrapCoordinator(options, "coord", kTestPassword);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition,
                                absl::StrCat("the data directory ", data,
                                             " can be read or entered by other accounts of this machine (mode 0755)")));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition, absl::StrCat("run `chmod 700 ", data, "`")));
  EXPECT_TRUE(fs::is_empty(data)) << "nothing was written";
  const std::string backups = dir.path() + "/backups";
  fs::create_directories(backups);
  fs::permissions(backups, fs::perms::others_read, fs::perm_options::add);
  EXPECT_NE(RunToExit(NodeArgs(dir.path() + "/fresh", backups)), 0) << "a backup directory others can read";
  fs::permissions(data, fs::perms::owner_all);
  EXPECT_NE(RunToExit(NodeArgs(data, backups)), 0);
  fs::permissions(backups, fs::perms::owner_all);
  EXPECT_TRUE(kentra::node::BootstrapCoordinator(options, "coord", kTestPassword).ok()) << "once closed, it starts";
  // The hub likewise.
  const std::string hub_data = dir.path() + "/hub";
  fs::create_directories(hub_data);
  fs::permissions(hub_data, fs::perms::group_read, fs::perm_options::add);
  EXPECT_NE(RunToExit({KENTRA_HUB_BINARY, "--config=" + SourceDir() + "/configs/hub.textproto",
                       "--data_dir=" + hub_data, "--listen=127.0.0.1:0", "--secrets_dir=" + TestPkiDir() + "/hub"}),
            0);
}

}  // namespace
}  // namespace kentra::testing
