// The storage layer: one RocksDB database per process, with column families chosen
// by index. This is the only code that sees RocksDB; it turns rocksdb::Status into
// absl::Status with messages that say what to do.
#ifndef KENTRA_COMMON_STORAGE_H_
#define KENTRA_COMMON_STORAGE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Iterator;
class WriteBatch;
}  // namespace rocksdb

namespace kentra {

// The changes of one logical operation; applied all together or not at all by
// Store::Write. Not thread-safe.
class WriteBatch {
 public:
  WriteBatch() = default;
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;

  // Sets `key` to `value` in column family `cf`.
  void Put(int cf, absl::string_view key, absl::string_view value);
  // Removes `key` from column family `cf` (no error if absent).
  void Delete(int cf, absl::string_view key);
  // Adds `count` and `key_sum` to the Counter at `key` (absent counts as zero).
  // Concurrent additions from different batches never lose one another.
  void AddToCounter(int cf, absl::string_view key, int64_t count, int64_t key_sum);
  // Raises register `index` of the register array at `key` to at least `value`,
  // in a column family opened as a register family (Store::Options). Concurrent
  // raises never lose one another.
  void RaiseRegister(int cf, absl::string_view key, uint16_t index, uint8_t value);
  // Moves every operation of `other` to the end of this batch.
  void Append(WriteBatch&& other);
  // Number of operations queued.
  int Count() const;

 private:
  friend class Store;
  enum class Kind { kPut, kDelete, kMerge };
  struct Op {
    int cf;
    Kind kind;
    std::string key;
    std::string value;
  };
  std::vector<Op> ops_;
};

// A pair of additive counters stored under one key (see WriteBatch::AddToCounter):
// a count, and the sum of the record keys of what was counted.
struct Counter {
  int64_t count = 0;
  int64_t key_sum = 0;
};
std::string EncodeCounter(const Counter& c);
// False if `bytes` is not an encoded Counter.
bool DecodeCounter(absl::string_view bytes, Counter* c);

// A forward/backward cursor over one column family, ordered by key bytes.
// Not thread-safe; must not outlive its Store.
class StoreIterator {
 public:
  virtual ~StoreIterator() = default;
  // Positions at the first key >= `key`.
  virtual void Seek(absl::string_view key) = 0;
  // Positions at the last key <= `key`.
  virtual void SeekForPrev(absl::string_view key) = 0;
  // Whether the cursor is on an entry.
  virtual bool Valid() const = 0;
  // Moves to the next / previous entry. Requires Valid().
  virtual void Next() = 0;
  virtual void Prev() = 0;
  // The current entry. Requires Valid(); views stay valid until the cursor moves.
  virtual absl::string_view key() const = 0;
  virtual absl::string_view value() const = 0;
  // OK unless reading failed.
  virtual absl::Status status() const = 0;
};

// A RocksDB database. Thread-safe. Writes are synced to disk before Write returns
// (unless opened with sync_writes = false, which only benchmarks do).
class Store {
 public:
  using InsertRunFn = std::function<std::optional<size_t>(absl::string_view key)>;
  struct Options {
    // fsync the WAL on every Write: a write that returned OK survives a crash.
    bool sync_writes = true;
    // Block cache for reads, in bytes.
    int64_t block_cache_bytes = 32 << 20;
    // Column families (by index) whose values are arrays of `register_count`
    // one-byte registers, raised by WriteBatch::RaiseRegister; the others hold
    // Counters for WriteBatch::AddToCounter.
    std::set<int> register_families;
    size_t register_count = 4096;
    // Column families (by index) whose keys are mostly written in increasing
    // order within runs, each with how to find a key's run: the length of the
    // prefix the key shares with its run, or nullopt for a key in no run. The
    // memtable then puts a key next to the last one written in its run instead
    // of searching for its place from the top. A speed-up only: a wrong guess
    // costs a search, never the order or the content.
    std::map<int, InsertRunFn> insert_runs;
    // Read every table file through at Open and check its checksums (and that
    // the OPTIONS file is readable). A store that fails is opened all the same,
    // for reading, but refuses every write: damage() says why. Reads the whole
    // store once; verify_time() says how long that took.
    bool verify_checksums = true;
  };

  // Opens (creating if needed) the database in `dir` with exactly these column
  // families, in this order; index i in every call means column_families[i].
  // FAILED_PRECONDITION if another process holds the directory.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir,
                                                     const std::vector<std::string>& column_families,
                                                     const Options& options);
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir,
                                                     const std::vector<std::string>& column_families) {
    return Open(dir, column_families, Options());
  }
  ~Store();  // Flushes nothing; the WAL already holds every acknowledged write.

  // The value of `key` in `cf`, or nullopt if absent.
  absl::StatusOr<std::optional<std::string>> Get(int cf, absl::string_view key) const;
  // How far a write must reach before Write returns.
  enum class Durability {
    kSynced,          // on disk (fsync): survives a power cut (unless Options say otherwise)
    kProcessCrashed,  // in the OS: survives the process dying, not the machine
  };
  // Applies `batch` atomically, as durable as `durability` says.
  absl::Status Write(WriteBatch& batch, Durability durability = Durability::kSynced);
  // Makes every write that returned before this call survive a power cut, as
  // kSynced would have. Unlike a kSynced write, whose changes are seen only once
  // they are on disk, a kProcessCrashed write followed by this is seen before:
  // for a caller that may act on a change early (a copy of it sent on, which a
  // crash losing it cannot harm) but answers only after it is durable.
  // Concurrent callers share syncs: one fsync covers every write seen before it,
  // and a call with nothing new to sync makes none.
  absl::Status SyncWritten();
  // Writes a consistent copy of the whole store, as of now, into `dir` (which
  // must not exist; its parent must): a database Open() takes as it is. Files
  // are hard-linked where the file system allows, copied where not. Safe while
  // others read and write.
  absl::Status Checkpoint(const std::string& dir) const;
  // A cursor over `cf` seeing a consistent snapshot taken now.
  std::unique_ptr<StoreIterator> NewIterator(int cf) const;
  // The same, seeing only keys that start with `prefix`. Use it for a scan that
  // stops at the prefix's end: RocksDB then does not step through the deleted
  // keys beyond it (a queue's tombstones) to find the next live one.
  std::unique_ptr<StoreIterator> NewPrefixIterator(int cf, absl::string_view prefix) const;

  // Reads every table file through and checks its checksums (RocksDB
  // VerifyChecksum), and reports whether the OPTIONS file Open found could be
  // read: DATA_LOSS naming what is corrupt. It reads the whole store once.
  absl::Status VerifyChecksums() const;
  // From now on every Write and SyncWritten returns `why` (which must not be
  // OK) and changes nothing; reads go on. For a store found corrupt.
  void RefuseWrites(absl::Status why);
  // What the check at Open found (OK if sound or not checked), and its time.
  const absl::Status& damage() const { return damage_; }
  absl::Duration verify_time() const { return verify_time_; }

  // What Write has applied since Open: for operators' status and for benchmarks
  // that replay the same shape of write against bare RocksDB.
  struct WriteStats {
    int64_t batches = 0;
    int64_t operations = 0;
    int64_t bytes = 0;  // keys plus values
    int64_t wal_syncs = 0;  // the syncs SyncWritten made
  };
  WriteStats write_stats() const;

 private:
  Store() = default;
  // Why writes are refused, if they are.
  absl::Status WriteRefusal() const;
  std::string dir_;
  absl::Status options_damage_;  // what reading the OPTIONS file at Open found
  absl::Status damage_;
  absl::Duration verify_time_;
  rocksdb::DB* db_ = nullptr;
  std::atomic<bool> refusing_writes_{false};
  mutable absl::Mutex refusal_mu_;
  absl::Status refusal_ ABSL_GUARDED_BY(refusal_mu_);
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  bool sync_writes_ = true;
  // SyncWritten's shared syncs: synced_ is the last RocksDB sequence number a
  // finished sync covered.
  absl::Mutex sync_mu_;
  uint64_t synced_ ABSL_GUARDED_BY(sync_mu_) = 0;
  bool syncing_ ABSL_GUARDED_BY(sync_mu_) = false;
  absl::CondVar sync_done_;
  std::atomic<int64_t> wal_syncs_{0};
  std::atomic<int64_t> written_batches_{0};
  std::atomic<int64_t> written_operations_{0};
  std::atomic<int64_t> written_bytes_{0};
};

// One page of the entries of `cf` whose keys are `prefix` + PaddedSequence(n),
// newest (highest n) first: `page_size` 0 means `default_size`, at most 1000;
// `page_token` is what the previous page returned. `visit` gets each value.
// Returns the token of the next page ("" after the last). INVALID_ARGUMENT for a
// bad page size or token.
absl::StatusOr<std::string> ListNewestFirst(const Store& store, int cf, absl::string_view prefix, int page_size,
                                            int default_size, absl::string_view page_token,
                                            const std::function<absl::Status(absl::string_view value)>& visit);

}  // namespace kentra

#endif  // KENTRA_COMMON_STORAGE_H_
