#include "common/backup_directory.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/testing/test_util.h"

namespace kentra {
namespace {

namespace fs = std::filesystem;
using ::kentra::testing::StatusIs;
using ::kentra::testing::TempDir;

// A server with two stores, as the hub has: each lands in its own place in the
// backup, which opens with what it held, while what is not a whole backup of
// this owner is passed over, and what a cut-short backup left is cleared.
TEST(BackupDirectoryTest, EachStoreLandsWhereTheDataDirectoryHasIt) {
  TempDir data, backups;
  auto mail = Store::Open(data.path() + "/mailbox", {"m"});
  auto audit = Store::Open(data.path() + "/audit", {"a"});
  ASSERT_TRUE(mail.ok() && audit.ok());
  WriteBatch b1, b2;
  b1.Put(0, "message", "sealed");
  b2.Put(0, "entry", "who");
  ASSERT_TRUE((*mail)->Write(b1).ok());
  ASSERT_TRUE((*audit)->Write(b2).ok());
  FakeClock clock(absl::FromUnixSeconds(1795168800));  // 2026-11-20 10:00 UTC
  fs::create_directories(backups.path() + "/.hub-20261119T000000Z.partial/mailbox");
  fs::create_directories(backups.path() + "/hub-notes");  // the operator's, not a backup
  fs::create_directories(backups.path() + "/other-20261119T000000Z");
  BackupDirectory dir({{"mailbox", mail->get()}, {"audit", audit->get()}}, &clock, "hub", {backups.path(), 3});

  auto taken = dir.Take("--backup_dir");
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->id, "hub-20261120T100000Z");
  EXPECT_EQ(taken->time, clock.Now());
  EXPECT_FALSE(fs::exists(backups.path() + "/.hub-20261119T000000Z.partial")) << "the cut-short one is cleared";
  EXPECT_TRUE(fs::exists(backups.path() + "/hub-notes"));
  EXPECT_EQ(fs::status(taken->path).permissions() & fs::perms::all, fs::perms::owner_all);
  mail->reset();
  audit->reset();
  auto mail_copy = Store::Open(taken->path + "/mailbox", {"m"});
  auto audit_copy = Store::Open(taken->path + "/audit", {"a"});
  ASSERT_TRUE(mail_copy.ok() && audit_copy.ok());
  EXPECT_EQ(*(*mail_copy)->Get(0, "message").value(), "sealed");
  EXPECT_EQ(*(*audit_copy)->Get(0, "entry").value(), "who");

  auto page = dir.List(0, "", "--backup_dir");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->backups.size(), 1u) << "only this owner's whole backups";
  EXPECT_EQ(page->backups[0].id, "hub-20261120T100000Z");
}

TEST(BackupDirectoryTest, OptionsThatMakeNoSenseAreRefused) {
  TempDir data;
  EXPECT_THAT(BackupDirectory::CheckOptions(data.path(), {data.path() + "/backups", 3}),
              StatusIs(absl::StatusCode::kInvalidArgument, "outside the data directory"));
  EXPECT_THAT(BackupDirectory::CheckOptions(data.path() + "/db", {data.path(), 3}),
              StatusIs(absl::StatusCode::kInvalidArgument, "outside the data directory"));
  EXPECT_THAT(BackupDirectory::CheckOptions(data.path() + "/db", {data.path() + "/backups", 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, "at least 1"));
  EXPECT_TRUE(BackupDirectory::CheckOptions(data.path() + "/db", {data.path() + "/backups", 1}).ok());
  EXPECT_TRUE(BackupDirectory::CheckOptions(data.path() + "/db", {"", 14}).ok()) << "no backups";
}

}  // namespace
}  // namespace kentra
