// Backups of a node's store, taken while it serves: what a backup holds, that a
// node starts on it, who may take one, how many stay, and a node without a
// backup directory.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/time_util.h"
#include "tests/testing/test_util.h"

namespace kentra::testing {
namespace {

namespace fs = std::filesystem;
namespace nv1 = kentra::node::v1;
namespace tv1 = kentra::type::v1;

class BackupTest : public ::testing::Test {
 protected:
  std::string Register(int serial) {
    nv1::CreateBeneficiaryRequest r;
    *r.mutable_beneficiary() = SampleBeneficiary(serial);
    nv1::Beneficiary out;
    grpc::Status s = node_.NewStub()->CreateBeneficiary(node_.Context().get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.name();
  }
  grpc::Status Read(const std::string& name) {
    nv1::GetBeneficiaryRequest r;
    r.set_name(name);
    nv1::Beneficiary out;
    return node_.NewStub()->GetBeneficiary(node_.Context().get(), r, &out);
  }
  grpc::Status Backup(tv1::Backup* out, const std::string& user = "coord") {
    return node_.NewStub()->CreateBackup(node_.Context(user).get(), tv1::CreateBackupRequest(), out);
  }
  grpc::Status List(const tv1::ListBackupsRequest& r, tv1::ListBackupsResponse* out) {
    return node_.NewStub()->ListBackups(node_.Context("coord").get(), r, out);
  }

  TestNode node_{"kassandra"};
};

TEST_F(BackupTest, ABackupIsTheStoreAsItWasAndTheNodeStartsOnIt) {
  const std::string before = Register(1);
  ASSERT_TRUE(Read(before).ok());  // an audited read, still in the audit journal
  tv1::Backup backup;
  ASSERT_TRUE(Backup(&backup).ok());
  EXPECT_EQ(backup.name(), "backups/kassandra-20261120T100000Z");
  EXPECT_EQ(backup.path(), node_.backup_dir() + "/kassandra-20261120T100000Z");
  EXPECT_EQ(FromTimestamp(backup.create_time()), node_.clock().Now());
  EXPECT_GT(backup.size_bytes(), 0);
  struct stat st;
  ASSERT_EQ(stat(backup.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "a backup holds personal data: the node's user only";
  const auto audited = node_.AuditEntriesOf("CreateBackup");
  ASSERT_EQ(audited.size(), 1u);
  EXPECT_EQ(audited[0].resource(), backup.name());
  EXPECT_EQ(audited[0].actor(), "users/coord");
  const std::string after = Register(2);

  // The operator restores it: the node stopped, the backup copied in as its data directory.
  node_.Stop();
  fs::rename(node_.data_dir(), node_.data_dir() + ".broken");
  fs::copy(backup.path(), node_.data_dir(), fs::copy_options::recursive);
  node_.Restart();
  EXPECT_EQ(node_.AuditEntriesOf("GetBeneficiary").size(), 1u) << "the read just before the backup is in its audit log";
  EXPECT_EQ(node_.AuditEntriesOf("CreateBeneficiary").size(), 1u);
  EXPECT_TRUE(Read(before).ok());
  EXPECT_EQ(Read(after).error_code(), grpc::NOT_FOUND) << "registered after the backup";
  EXPECT_TRUE(node_.server().records()->CheckConsistency().ok());
  // Staff accounts and sessions came back with it: the coordinator's session still works.
  tv1::ListBackupsResponse list;
  ASSERT_TRUE(List({}, &list).ok());
  ASSERT_EQ(list.backups_size(), 1);
  EXPECT_EQ(list.backups(0).name(), backup.name());
}

TEST_F(BackupTest, OnlyTheCoordinatorTakesOrListsThem) {
  tv1::Backup backup;
  EXPECT_EQ(Backup(&backup, "m.papadaki").error_code(), grpc::PERMISSION_DENIED);
  tv1::ListBackupsResponse list;
  EXPECT_EQ(node_.NewStub()->ListBackups(node_.Context("viewer").get(), {}, &list).error_code(),
            grpc::PERMISSION_DENIED);
  EXPECT_FALSE(fs::exists(node_.backup_dir())) << "nothing was written";
}

TEST_F(BackupTest, TheNewestKeptStayAndTheListPages) {
  node_.set_backups(node_.backup_dir(), 2);
  node_.Restart();
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) {
    tv1::Backup backup;
    ASSERT_TRUE(Backup(&backup).ok());
    names.push_back(backup.name());
    if (i == 0) node_.clock().Advance(absl::Hours(24));  // the second and third in the same second
  }
  EXPECT_EQ(names[1], "backups/kassandra-20261121T100000Z");
  EXPECT_EQ(names[2], "backups/kassandra-20261121T100000Z-1");
  EXPECT_FALSE(fs::exists(node_.backup_dir() + "/kassandra-20261120T100000Z")) << "the oldest is deleted";

  tv1::ListBackupsRequest r;
  r.set_page_size(1);
  tv1::ListBackupsResponse page;
  ASSERT_TRUE(List(r, &page).ok());
  ASSERT_EQ(page.backups_size(), 1);
  EXPECT_EQ(page.backups(0).name(), names[2]) << "newest first";
  ASSERT_FALSE(page.next_page_token().empty());
  r.set_page_token(page.next_page_token());
  ASSERT_TRUE(List(r, &page).ok());
  ASSERT_EQ(page.backups_size(), 1);
  EXPECT_EQ(page.backups(0).name(), names[1]);
  EXPECT_TRUE(page.next_page_token().empty());

  r.set_page_size(-1);
  EXPECT_THAT(List(r, &page), GrpcStatusIs(grpc::INVALID_ARGUMENT, "page_size"));
  r.set_page_size(101);
  EXPECT_THAT(List(r, &page), GrpcStatusIs(grpc::INVALID_ARGUMENT, "page_size"));
  r.set_page_size(0);
  r.set_page_token("../../etc");
  EXPECT_THAT(List(r, &page), GrpcStatusIs(grpc::INVALID_ARGUMENT, "page_token"));
}

TEST_F(BackupTest, OnItsOwnScheduleTheNodeBacksUpAtOnceAndThenWhenTheNewestIsOldEnough) {
  node_.set_backup_every(absl::Hours(24));
  node_.Restart();
  auto count = [&] {
    tv1::ListBackupsResponse list;
    return List({}, &list).ok() ? list.backups_size() : -1;
  };
  auto eventually = [&](int n) {
    for (int i = 0; i < 500 && count() != n; ++i) absl::SleepFor(absl::Milliseconds(20));
    return count() == n;
  };
  ASSERT_TRUE(eventually(1)) << "none yet, so one as the node starts";
  auto audited = node_.AuditEntriesOf("CreateBackup");
  ASSERT_EQ(audited.size(), 1u);
  EXPECT_EQ(audited[0].actor(), "system/backup-schedule");
  // A node restarted a day later, or running on, takes the next one.
  node_.clock().Advance(absl::Hours(25));
  node_.Restart();
  ASSERT_TRUE(eventually(2));
  EXPECT_EQ(node_.AuditEntriesOf("CreateBackup").size(), 2u);
}

TEST_F(BackupTest, ANodeWithoutABackupDirectorySaysSo) {
  node_.set_backups("", 14);
  node_.Restart();
  tv1::Backup backup;
  EXPECT_THAT(Backup(&backup), GrpcStatusIs(grpc::FAILED_PRECONDITION, "--backup_dir"));
  tv1::ListBackupsResponse list;
  EXPECT_THAT(List({}, &list), GrpcStatusIs(grpc::FAILED_PRECONDITION, "--backup_dir"));
}

// A store with a table file that fails its checksum is found when the node
// starts, not when a read lands on the damaged block: the node serves reads,
// refuses every write with DATA_LOSS, and its log says how to restore.
TEST_F(BackupTest, ANodeOnADamagedStoreRefusesWritesAndSaysHowToRestore) {
  for (int i = 1; i <= 30; ++i) Register(i);
  tv1::Backup backup;
  ASSERT_TRUE(Backup(&backup).ok());  // flushes the store into table files
  node_.Stop();
  fs::remove_all(backup.path());  // its files are hard links of the store's: damage the store's alone
  bool damaged = false;
  for (const auto& entry : fs::directory_iterator(node_.data_dir())) {
    if (entry.path().extension() != ".sst" || entry.file_size() < 4096) continue;
    std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(entry.file_size() / 3));
    f.write("damaged by the test, damaged by the test", 40);
    damaged = true;
    break;
  }
  ASSERT_TRUE(damaged) << "no table file to damage";
  node_.Restart();
  ASSERT_TRUE(node_.server().store()->damage().code() == absl::StatusCode::kDataLoss) << node_.server().store()->damage();
  const std::string before = node_.StoreFingerprint();
  nv1::CreateBeneficiaryRequest r;
  *r.mutable_beneficiary() = SampleBeneficiary(99);
  nv1::Beneficiary out;
  EXPECT_THAT(node_.NewStub()->CreateBeneficiary(node_.Context().get(), r, &out),
              GrpcStatusIs(grpc::DATA_LOSS, "refuses writes until it is restored from a backup"));
  EXPECT_EQ(node_.StoreFingerprint(), before);
}

}  // namespace
}  // namespace kentra::testing
