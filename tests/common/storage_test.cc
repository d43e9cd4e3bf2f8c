#include "common/storage.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "tests/testing/test_util.h"

namespace kentra {
namespace {

using ::kentra::testing::StatusIs;
using ::kentra::testing::TempDir;

TEST(StoreTest, BatchIsAtomicAndSurvivesReopen) {
  TempDir dir;
  {
    auto store = Store::Open(dir.path(), {"a", "b"});
    ASSERT_OK(store);
    WriteBatch batch;
    batch.Put(0, "k1", "v1");
    batch.Put(1, "k2", "v2");
    batch.Delete(0, "missing");
    ASSERT_OK((*store)->Write(batch));
  }
  auto store = Store::Open(dir.path(), {"a", "b"});
  ASSERT_OK(store);
  EXPECT_EQ(*(*store)->Get(0, "k1"), std::optional<std::string>("v1"));
  EXPECT_EQ(*(*store)->Get(1, "k2"), std::optional<std::string>("v2"));
  EXPECT_EQ(*(*store)->Get(1, "k1"), std::optional<std::string>());  // families are separate
}

// Flips a byte in the middle of the first file in `dir` whose name ends in `suffix`
// (or starts with it, for OPTIONS); false if there is none.
bool CorruptFile(const std::string& dir, const std::string& match) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(match) == std::string::npos) continue;
    std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    const auto size = static_cast<std::streamoff>(entry.file_size());
    for (std::streamoff at = size / 3; at < size / 3 + 64 && at < size; ++at) {
      f.seekg(at);
      const char c = static_cast<char>(f.get());
      f.seekp(at);
      f.put(static_cast<char>(c ^ 0x5a));
    }
    return true;
  }
  return false;
}

// A table file that fails its checksum, or a damaged OPTIONS file, is found at
// once, not when a read happens on the damaged block; a store found corrupt can
// be told to refuse writes and still be read.
TEST(StoreTest, VerifyFindsACorruptFileAndWritesCanBeRefused) {
  TempDir dir;
  auto filled = [&](Store& store) {
    for (int i = 0; i < 200; ++i) {
      WriteBatch batch;
      batch.Put(0, absl::StrCat("key-", i), std::string(100, static_cast<char>('a' + i % 26)));
      ASSERT_OK(store.Write(batch));
    }
    ASSERT_OK(store.Checkpoint(dir.path() + "/copy"));  // flushes: the keys are in a table file (shared with the copy)
  };
  {
    auto store = Store::Open(dir.path() + "/db", {"a"});
    ASSERT_OK(store);
    filled(**store);
    EXPECT_OK((*store)->VerifyChecksums());
  }
  ASSERT_TRUE(CorruptFile(dir.path() + "/db", ".sst"));
  {
    auto store = Store::Open(dir.path() + "/db", {"a"});
    ASSERT_OK(store);
    // Found at Open: the store opens for reading and refuses writes.
    EXPECT_THAT((*store)->damage(), StatusIs(absl::StatusCode::kDataLoss, "fails its checksum"));
    WriteBatch batch;
    batch.Put(0, "new", "value");
    EXPECT_THAT((*store)->Write(batch), StatusIs(absl::StatusCode::kDataLoss, "restored from a backup"));
    EXPECT_THAT((*store)->SyncWritten(), StatusIs(absl::StatusCode::kDataLoss, "restored from a backup"));
    EXPECT_EQ(*(*store)->Get(0, "new"), std::nullopt);
    EXPECT_EQ(*(*store)->Get(0, "key-1"), std::optional<std::string>(std::string(100, 'b'))) << "a sound block reads";
  }
  // A damaged OPTIONS file is found too, though opening writes a fresh one.
  {
    auto store = Store::Open(dir.path() + "/other", {"a"});
    ASSERT_OK(store);
    EXPECT_OK((*store)->VerifyChecksums());
  }
  ASSERT_TRUE(CorruptFile(dir.path() + "/other", "OPTIONS-"));
  auto store = Store::Open(dir.path() + "/other", {"a"});
  ASSERT_OK(store);
  EXPECT_THAT((*store)->damage(), StatusIs(absl::StatusCode::kDataLoss, "OPTIONS file"));
  // Written again at Open, it reads now; the damage found stays reported.
  EXPECT_THAT((*store)->VerifyChecksums(), StatusIs(absl::StatusCode::kDataLoss, "OPTIONS file"));
}

TEST(StoreTest, CountsWhatItWrote) {
  TempDir dir;
  auto store = Store::Open(dir.path(), {"a", "b"});
  ASSERT_OK(store);
  WriteBatch batch;
  batch.Put(0, "key", "value");   // 8 bytes
  batch.Put(1, "k", "");          // 1 byte
  batch.Delete(0, "gone");        // 4 bytes
  ASSERT_OK((*store)->Write(batch));
  ASSERT_OK((*store)->Write(batch));
  const Store::WriteStats stats = (*store)->write_stats();
  EXPECT_EQ(stats.batches, 2);
  EXPECT_EQ(stats.operations, 6);
  EXPECT_EQ(stats.bytes, 26);
}

TEST(StoreTest, SyncWrittenSyncsOnceForWhatCameBeforeAndNotAgain) {
  TempDir dir;
  {
    auto store = Store::Open(dir.path(), {"a"});
    ASSERT_OK(store);
    ASSERT_OK((*store)->SyncWritten());
    EXPECT_EQ((*store)->write_stats().wal_syncs, 0) << "nothing written, nothing to sync";
    for (int i = 0; i < 50; ++i) {
      WriteBatch batch;
      batch.Put(0, absl::StrCat("k", i), "v");
      ASSERT_OK((*store)->Write(batch, Store::Durability::kProcessCrashed));
      EXPECT_EQ(*(*store)->Get(0, absl::StrCat("k", i)), std::optional<std::string>("v")) << "seen before the sync";
    }
    ASSERT_OK((*store)->SyncWritten());
    EXPECT_EQ((*store)->write_stats().wal_syncs, 1) << "one sync covers every write before it";
    ASSERT_OK((*store)->SyncWritten());
    EXPECT_EQ((*store)->write_stats().wal_syncs, 1) << "nothing new, no sync";
  }
  auto store = Store::Open(dir.path(), {"a"});
  ASSERT_OK(store);
  EXPECT_EQ(*(*store)->Get(0, "k49"), std::optional<std::string>("v"));
}

TEST(StoreTest, ConcurrentSyncWrittenCallersAllSucceedAndKeepTheirWrites) {
  TempDir dir;
  constexpr int kThreads = 8;
  constexpr int kWrites = 40;
  {
    auto store = Store::Open(dir.path(), {"a"});
    ASSERT_OK(store);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kWrites; ++i) {
          WriteBatch batch;
          batch.Put(0, absl::StrCat(t, "/", i), "v");
          if (!(*store)->Write(batch, Store::Durability::kProcessCrashed).ok() || !(*store)->SyncWritten().ok()) {
            ++failures;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_GE((*store)->write_stats().wal_syncs, 1);
  }
  auto store = Store::Open(dir.path(), {"a"});
  ASSERT_OK(store);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(*(*store)->Get(0, absl::StrCat(t, "/", kWrites - 1)), std::optional<std::string>("v"));
}

TEST(StoreTest, SecondOpenOfSameDirectoryIsRefused) {
  TempDir dir;
  auto first = Store::Open(dir.path(), {"a"});
  ASSERT_OK(first);
  EXPECT_THAT(Store::Open(dir.path(), {"a"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, "in use by another process"));
}

TEST(StoreTest, IteratesInBothDirections) {
  TempDir dir;
  auto store = Store::Open(dir.path(), {"a"});
  ASSERT_OK(store);
  WriteBatch batch;
  for (const char* k : {"b", "d", "f"}) batch.Put(0, k, k);
  ASSERT_OK((*store)->Write(batch));
  auto it = (*store)->NewIterator(0);
  it->Seek("c");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "d");
  it->SeekForPrev("e");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "d");
  it->Prev();
  EXPECT_EQ(it->key(), "b");
}


TEST(StoreTest, PrefixIteratorSeesOnlyItsPrefix) {
  TempDir dir;
  auto store = Store::Open(dir.path(), {"a"});
  ASSERT_OK(store);
  WriteBatch batch;
  for (const char* k : {"a/1", "b/1", "b/2", "b/3", "b0", "c/1"}) batch.Put(0, k, k);
  batch.Put(0, "\xff\xff/1", "top");
  ASSERT_OK((*store)->Write(batch));
  WriteBatch deletes;
  deletes.Delete(0, "b/3");
  ASSERT_OK((*store)->Write(deletes));

  auto it = (*store)->NewPrefixIterator(0, "b/");
  std::vector<std::string> seen;
  for (it->Seek(""); it->Valid(); it->Next()) seen.emplace_back(it->key());  // a seek below starts at the prefix
  EXPECT_EQ(seen, (std::vector<std::string>{"b/1", "b/2"}));
  it->SeekForPrev("z");  // one above ends at the prefix's last key
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "b/2");
  it->Prev();
  it->Prev();
  EXPECT_FALSE(it->Valid());
  ASSERT_OK(it->status());

  auto top = (*store)->NewPrefixIterator(0, "\xff\xff");  // no key follows every such key
  top->Seek("");
  ASSERT_TRUE(top->Valid());
  EXPECT_EQ(top->value(), "top");
  auto none = (*store)->NewPrefixIterator(0, "d/");
  none->Seek("d/");
  EXPECT_FALSE(none->Valid());
}
TEST(StoreTest, ListsNewestFirstPageByPage) {
  TempDir dir;
  auto store = Store::Open(dir.path(), {"a"});
  ASSERT_OK(store);
  WriteBatch batch;
  for (int i = 1; i <= 5; ++i) batch.Put(0, "runs/" + keys::PaddedSequence(i), std::to_string(i));
  batch.Put(0, "other", "x");
  ASSERT_OK((*store)->Write(batch));
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto next = ListNewestFirst(**store, 0, "runs/", 2, 50, token, [&](absl::string_view v) {
      seen.emplace_back(v);
      return absl::OkStatus();
    });
    ASSERT_OK(next);
    token = *next;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, (std::vector<std::string>{"5", "4", "3", "2", "1"}));
  EXPECT_EQ(pages, 3);
  auto bad = ListNewestFirst(**store, 0, "runs/", 2001, 50, "", [](absl::string_view) { return absl::OkStatus(); });
  EXPECT_FALSE(bad.ok());
  auto forged = ListNewestFirst(**store, 0, "runs/", 2, 50, "nope", [](absl::string_view) { return absl::OkStatus(); });
  EXPECT_FALSE(forged.ok());
}

TEST(StoreTest, ConcurrentCounterAdditionsAreNeverLost) {
  TempDir dir;
  {
    auto store = Store::Open(dir.path(), {"a"});
    ASSERT_OK(store);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 500; ++i) {  // bounded
          WriteBatch batch;
          batch.AddToCounter(0, "cell", 1, t + 1);
          EXPECT_OK((*store)->Write(batch, Store::Durability::kProcessCrashed));
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  auto reopened = Store::Open(dir.path(), {"a"});
  ASSERT_OK(reopened);
  auto bytes = (*reopened)->Get(0, "cell");
  ASSERT_OK(bytes);
  Counter c;
  ASSERT_TRUE(bytes->has_value() && DecodeCounter(**bytes, &c));
  EXPECT_EQ(c.count, 2000);
  EXPECT_EQ(c.key_sum, 500 * (1 + 2 + 3 + 4));
}

TEST(StoreTest, ConcurrentRegisterRaisesKeepTheMaximum) {
  TempDir dir;
  Store::Options options;
  options.register_families = {0};
  options.register_count = 16;
  {
    auto store = Store::Open(dir.path(), {"registers"}, options);
    ASSERT_OK(store);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 200; ++i) {  // bounded
          WriteBatch batch;
          batch.RaiseRegister(0, "sketch", static_cast<uint16_t>(i % 16), static_cast<uint8_t>((i * 7 + t) % 40));
          EXPECT_OK((*store)->Write(batch, Store::Durability::kProcessCrashed));
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  auto reopened = Store::Open(dir.path(), {"registers"}, options);
  ASSERT_OK(reopened);
  auto bytes = (*reopened)->Get(0, "sketch");
  ASSERT_OK(bytes);
  ASSERT_TRUE(bytes->has_value());
  ASSERT_EQ((*bytes)->size(), 16u);
  for (int r = 0; r < 16; ++r) {
    int expected = 0;
    for (int t = 0; t < 4; ++t) {
      for (int i = r; i < 200; i += 16) expected = std::max(expected, (i * 7 + t) % 40);
    }
    EXPECT_EQ(static_cast<unsigned char>((**bytes)[static_cast<size_t>(r)]), expected) << r;
  }
}

// Insert runs only guide where the memtable looks first: keys in order within
// their run, against it, in no run, and deleted, from several threads at once,
// all read back exactly as written, with or without the option when reading.
TEST(StoreTest, InsertRunsChangeNeitherOrderNorContent) {
  TempDir dir;
  Store::Options options;
  options.insert_runs[0] = [](absl::string_view key) -> std::optional<size_t> {
    const size_t slash = key.rfind('/');
    if (slash == absl::string_view::npos) return std::nullopt;
    return slash + 1;
  };
  // Longer than the key: taken as the whole key.
  options.insert_runs[1] = [](absl::string_view key) -> std::optional<size_t> { return key.size() + 5; };
  constexpr int kThreads = 4;
  std::vector<std::map<std::string, std::string>> written(kThreads);  // each thread's own keys
  {
    auto store = Store::Open(dir.path(), {"runs", "odd"}, options);
    ASSERT_OK(store);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        auto& mine = written[static_cast<size_t>(t)];
        for (int i = 0; i < 300; ++i) {  // bounded
          const std::string run = absl::StrCat("run", i % 3, "/");
          const std::vector<std::pair<std::string, std::string>> puts = {
              {run + keys::PaddedSequence(static_cast<uint64_t>(i * kThreads + t)), absl::StrCat("v", t, "-", i)},
              {run + keys::PaddedSequence(static_cast<uint64_t>(100000 - i * kThreads - t)), "backwards"},
              {absl::StrCat("loose-", (i * 7919) % 97, "-", t), absl::StrCat(i)},
          };
          WriteBatch batch;
          for (const auto& [k, v] : puts) {
            batch.Put(0, k, v);
            batch.Put(1, k, v);
            mine[k] = v;
          }
          if (i % 5 == 4) {  // one of this thread's earlier keys
            const std::string gone = mine.begin()->first;
            batch.Delete(0, gone);
            batch.Delete(1, gone);
            mine.erase(gone);
          }
          EXPECT_OK((*store)->Write(batch, Store::Durability::kProcessCrashed));
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  std::map<std::string, std::string> expected;
  for (const auto& mine : written) expected.insert(mine.begin(), mine.end());
  for (bool with_runs : {true, false}) {
    auto store = Store::Open(dir.path(), {"runs", "odd"}, with_runs ? options : Store::Options());
    ASSERT_OK(store);
    for (int cf : {0, 1}) {
      std::map<std::string, std::string> seen;
      std::string previous;
      auto it = (*store)->NewIterator(cf);
      for (it->Seek(""); it->Valid(); it->Next()) {
        EXPECT_LT(previous, std::string(it->key()));
        previous = std::string(it->key());
        seen[previous] = std::string(it->value());
      }
      EXPECT_EQ(seen, expected) << "family " << cf << (with_runs ? ", reopened with runs" : ", without");
    }
  }
}

}  // namespace
}  // namespace kentra
