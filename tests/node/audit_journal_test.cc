// AuditJournal: appended entries reach the store, survive a crash before they were
// moved (a child process appends and dies without cleaning up), a torn last entry
// is dropped, and the file starts again once everything is moved.
#include "node/audit_journal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "node/schema.h"
#include "tests/testing/test_util.h"

namespace kentra::node {
namespace {

using kentra::testing::TempDir;

void PutByName(WriteBatch& batch, const v1::AuditEntry& entry, absl::string_view bytes) {
  batch.Put(kAudit, entry.name(), std::string(bytes));
}

v1::AuditEntry Entry(int i) {
  v1::AuditEntry e;
  e.set_name(AuditEntryName(static_cast<uint64_t>(i)));
  e.set_action("GetBeneficiary");
  e.set_actor("staff/maria");
  e.set_resource(absl::StrCat("beneficiaries/", i));
  return e;
}

std::unique_ptr<Store> OpenStore(const std::string& dir) {
  auto store = Store::Open(dir, ColumnFamilyNames(), NodeStoreOptions());
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// The entries in the store, by name.
std::map<std::string, v1::AuditEntry> Stored(const Store& store) {
  std::map<std::string, v1::AuditEntry> out;
  auto it = store.NewIterator(kAudit);
  for (it->Seek(""); it->Valid(); it->Next()) {
    v1::AuditEntry e;
    EXPECT_TRUE(e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())));
    out[std::string(it->key())] = e;
  }
  return out;
}

int64_t FileSize(const std::string& path) {
  return static_cast<int64_t>(std::filesystem::file_size(path));
}

AuditJournal::Options NeverMoving() {
  AuditJournal::Options options;
  options.move_interval = absl::Hours(1);
  return options;
}

TEST(AuditJournalTest, AppendedEntriesReachTheStoreAtCatchUp) {
  TempDir dir;
  auto store = OpenStore(dir.path() + "/db");
  const std::string path = dir.path() + "/journal";
  auto journal = AuditJournal::Open(path, store.get(), PutByName, NeverMoving());
  ASSERT_TRUE(journal.ok()) << journal.status();
  for (int i = 1; i <= 100; ++i) ASSERT_TRUE((*journal)->Append(Entry(i)).ok());
  EXPECT_TRUE(Stored(*store).empty()) << "nothing moves before it is asked for";
  ASSERT_TRUE((*journal)->CatchUp().ok());
  auto stored = Stored(*store);
  ASSERT_EQ(stored.size(), 100u);
  EXPECT_EQ(stored[AuditEntryName(42)].resource(), "beneficiaries/42");
  auto position = store->Get(kMeta, AuditJournal::kMetaKey);
  ASSERT_TRUE(position.ok() && position->has_value());
  EXPECT_EQ(static_cast<int64_t>(keys::ReadUint64(**position, 16).value_or(0)), FileSize(path));
}

TEST(AuditJournalTest, TheMoverMovesWithoutBeingAsked) {
  TempDir dir;
  auto store = OpenStore(dir.path() + "/db");
  AuditJournal::Options options;
  options.move_interval = absl::Milliseconds(5);
  auto journal = AuditJournal::Open(dir.path() + "/journal", store.get(), PutByName, options);
  ASSERT_TRUE(journal.ok()) << journal.status();
  ASSERT_TRUE((*journal)->Append(Entry(1)).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Stored(*store).empty() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(Stored(*store).size(), 1u);
}

TEST(AuditJournalTest, EntriesOfACrashedProcessAreMovedAtOpenAndATornLastOneDropped) {
  TempDir dir;
  const std::string db = dir.path() + "/db";
  const std::string path = dir.path() + "/journal";
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Appends, never moves, and dies without running any destructor.
    auto store = Store::Open(db, ColumnFamilyNames(), NodeStoreOptions());
    if (!store.ok()) _exit(2);
    auto journal = AuditJournal::Open(path, store->get(), PutByName, NeverMoving());
    if (!journal.ok()) _exit(3);
    for (int i = 1; i <= 50; ++i) {
      if (!(*journal)->Append(Entry(i)).ok()) _exit(4);
    }
    // Half a frame, as a crash in the middle of a write would leave.
    int fd = open(path.c_str(), O_WRONLY | O_APPEND);
    const char torn[] = "\x40\x00\x00\x00\x01\x02";
    if (fd < 0 || write(fd, torn, sizeof(torn) - 1) != static_cast<ssize_t>(sizeof(torn) - 1))
      _exit(5);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const int64_t with_torn = FileSize(path);

  auto store = OpenStore(db);
  ASSERT_TRUE(Stored(*store).empty());
  auto journal = AuditJournal::Open(path, store.get(), PutByName, NeverMoving());
  ASSERT_TRUE(journal.ok()) << journal.status();
  EXPECT_EQ(Stored(*store).size(), 50u) << "every appended entry is moved at open";
  EXPECT_EQ(FileSize(path), with_torn - 6) << "the torn frame is cut off";
  // Appending goes on after the cut, and what follows is readable.
  ASSERT_TRUE((*journal)->Append(Entry(51)).ok());
  ASSERT_TRUE((*journal)->CatchUp().ok());
  EXPECT_EQ(Stored(*store).size(), 51u);
}

TEST(AuditJournalTest, TheFileStartsAgainOnceMovedAndAStalePositionIsHarmless) {
  TempDir dir;
  auto store = OpenStore(dir.path() + "/db");
  const std::string path = dir.path() + "/journal";
  AuditJournal::Options options = NeverMoving();
  options.restart_after_bytes = 2000;
  {
    auto journal = AuditJournal::Open(path, store.get(), PutByName, options);
    ASSERT_TRUE(journal.ok()) << journal.status();
    for (int i = 1; i <= 200; ++i) ASSERT_TRUE((*journal)->Append(Entry(i)).ok());
    EXPECT_GT(FileSize(path), 2000);
    ASSERT_TRUE((*journal)->CatchUp().ok());
    EXPECT_EQ(FileSize(path), 20) << "only the header is left";
    ASSERT_TRUE((*journal)->Append(Entry(201)).ok());
  }  // closing moves the rest
  EXPECT_EQ(Stored(*store).size(), 201u);

  // A position from another generation (a crash while the file started again):
  // the file is moved from its start, which writes the same entries again.
  WriteBatch stale;
  stale.Put(kMeta, AuditJournal::kMetaKey, std::string(24, 'x'));
  ASSERT_TRUE(store->Write(stale).ok());
  auto reopened = AuditJournal::Open(path, store.get(), PutByName, options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(Stored(*store).size(), 201u);
}

TEST(AuditJournalTest, AFileThatIsNoJournalIsRefused) {
  TempDir dir;
  auto store = OpenStore(dir.path() + "/db");
  const std::string path = dir.path() + "/journal";
  {
    std::ofstream out(path);
    out << "this is somebody's notes file, not a journal";
  }
  auto journal = AuditJournal::Open(path, store.get(), PutByName);
  ASSERT_FALSE(journal.ok());
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(journal.status().message().find("not an audit journal"), std::string::npos);
}

}  // namespace
}  // namespace kentra::node
