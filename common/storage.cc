#include "common/storage.h"

#include <chrono>

#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/options_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/status.h"

namespace kentra {
namespace {

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

// Adds Counters lane by lane (WriteBatch::AddToCounter).
class CounterMergeOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    Counter sum, add;
    if (existing != nullptr && !DecodeCounter(ToView(*existing), &sum)) return false;
    if (!DecodeCounter(ToView(value), &add)) return false;
    sum.count += add.count;
    sum.key_sum += add.key_sum;
    *new_value = EncodeCounter(sum);
    return true;
  }
  const char* Name() const override { return "kentra.CounterAdd"; }
};

// Raises registers (WriteBatch::RaiseRegister). Operands are 3-byte raises or
// whole register arrays; every merge result is a whole array.
class RegisterMaxMergeOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  explicit RegisterMaxMergeOperator(size_t count) : count_(count) {}
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    new_value->assign(count_, '\0');
    return (existing == nullptr || Apply(ToView(*existing), new_value)) && Apply(ToView(value), new_value);
  }
  const char* Name() const override { return "kentra.RegisterMax"; }

 private:
  bool Apply(absl::string_view operand, std::string* registers) const {
    auto raise = [&](size_t i, unsigned char v) {
      if (static_cast<unsigned char>((*registers)[i]) < v) (*registers)[i] = static_cast<char>(v);
    };
    if (operand.size() == count_) {
      for (size_t i = 0; i < count_; ++i) raise(i, static_cast<unsigned char>(operand[i]));
      return true;
    }
    if (operand.size() != 3) return false;
    const size_t i = (static_cast<size_t>(static_cast<unsigned char>(operand[0])) << 8) |
                     static_cast<unsigned char>(operand[1]);
    if (i >= count_) return false;
    raise(i, static_cast<unsigned char>(operand[2]));
    return true;
  }
  size_t count_;
};

// RocksDB opens a store with kentra's own options and writes a fresh OPTIONS
// file, so a damaged one would go unnoticed: it is read first. DATA_LOSS if it
// cannot be (a sign that the disk lost data); OK if there is none yet.
absl::Status CheckOptionsFile(const std::string& dir) {
  rocksdb::ConfigOptions config;
  config.ignore_unknown_options = true;
  config.ignore_unsupported_options = true;
  rocksdb::DBOptions db_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  rocksdb::Status s = rocksdb::LoadLatestOptions(config, dir, &db_options, &descriptors);
  if (s.ok() || s.IsNotFound()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("the OPTIONS file of ", dir, " cannot be read: ", s.ToString()));
}

// The one place rocksdb::Status becomes absl::Status.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": the data directory is in use by another process; stop it first"));
  }
  if (s.IsCorruption()) {
    return absl::DataLossError(absl::StrCat(what, ": stored data is corrupt (", s.ToString(), ")"));
  }
  if (s.IsNoSpace()) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": the disk is full"));
  }
  return absl::InternalError(absl::StrCat(what, ": ", s.ToString()));
}

class RocksIterator final : public StoreIterator {
 public:
  explicit RocksIterator(rocksdb::Iterator* it) : it_(it) {}
  // Owns the bounds `options` points at, which must outlive the RocksDB iterator.
  RocksIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string prefix)
      : prefix_(std::move(prefix)), end_(keys::PrefixSuccessor(prefix_)), lower_(prefix_), upper_(end_) {
    rocksdb::ReadOptions options;
    options.iterate_lower_bound = &lower_;
    if (!end_.empty()) options.iterate_upper_bound = &upper_;
    it_.reset(db->NewIterator(options, cf));
  }
  void Seek(absl::string_view key) override { it_->Seek(ToSlice(key)); }
  void SeekForPrev(absl::string_view key) override { it_->SeekForPrev(ToSlice(key)); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  absl::string_view key() const override { return ToView(it_->key()); }
  absl::string_view value() const override { return ToView(it_->value()); }
  absl::Status status() const override { return FromRocks(it_->status(), "reading the store"); }

 private:
  std::string prefix_, end_;
  rocksdb::Slice lower_, upper_;
  std::unique_ptr<rocksdb::Iterator> it_;  // destroyed before the bounds
};

// Store::Options::insert_runs as RocksDB's memtable insert hint, which keeps the
// place of the last key inserted under each prefix.
class InsertRunPrefix : public rocksdb::SliceTransform {
 public:
  explicit InsertRunPrefix(Store::InsertRunFn run) : run_(std::move(run)) {}
  const char* Name() const override { return "kentra.InsertRunPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), std::min(run_(ToView(key)).value_or(0), key.size()));
  }
  bool InDomain(const rocksdb::Slice& key) const override { return run_(ToView(key)).has_value(); }

 private:
  Store::InsertRunFn run_;
};

}  // namespace

void WriteBatch::Put(int cf, absl::string_view key, absl::string_view value) {
  ops_.push_back(Op{cf, Kind::kPut, std::string(key), std::string(value)});
}

void WriteBatch::Append(WriteBatch&& other) {
  ops_.insert(ops_.end(), std::make_move_iterator(other.ops_.begin()), std::make_move_iterator(other.ops_.end()));
  other.ops_.clear();
}

void WriteBatch::Delete(int cf, absl::string_view key) {
  ops_.push_back(Op{cf, Kind::kDelete, std::string(key), std::string()});
}

void WriteBatch::AddToCounter(int cf, absl::string_view key, int64_t count, int64_t key_sum) {
  ops_.push_back(Op{cf, Kind::kMerge, std::string(key), EncodeCounter({count, key_sum})});
}

void WriteBatch::RaiseRegister(int cf, absl::string_view key, uint16_t index, uint8_t value) {
  std::string operand(3, '\0');
  operand[0] = static_cast<char>(index >> 8);
  operand[1] = static_cast<char>(index & 0xff);
  operand[2] = static_cast<char>(value);
  ops_.push_back(Op{cf, Kind::kMerge, std::string(key), std::move(operand)});
}

std::string EncodeCounter(const Counter& c) {
  std::string out(16, '\0');
  for (int i = 0; i < 8; ++i) {
    out[static_cast<size_t>(i)] = static_cast<char>((static_cast<uint64_t>(c.count) >> (8 * i)) & 0xff);
    out[static_cast<size_t>(8 + i)] = static_cast<char>((static_cast<uint64_t>(c.key_sum) >> (8 * i)) & 0xff);
  }
  return out;
}

bool DecodeCounter(absl::string_view bytes, Counter* c) {
  if (bytes.size() != 16) return false;
  uint64_t count = 0, key_sum = 0;
  for (int i = 0; i < 8; ++i) {
    count |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(i)])) << (8 * i);
    key_sum |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(8 + i)])) << (8 * i);
  }
  c->count = static_cast<int64_t>(count);
  c->key_sum = static_cast<int64_t>(key_sum);
  return true;
}

int WriteBatch::Count() const { return static_cast<int>(ops_.size()); }

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir,
                                                   const std::vector<std::string>& column_families,
                                                   const Options& options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 5;
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(static_cast<size_t>(options.block_cache_bytes));
  // Many point reads of a write path ask for keys that are not there (an unused
  // request id, a person not yet counted in a month): once such keys live in
  // files, bloom filters answer without reading their blocks. (Memtable blooms
  // were measured too: no gain for writes, 40 MiB more resident.)
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.merge_operator = std::make_shared<CounterMergeOperator>();
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.compression = rocksdb::kNoCompression;

  rocksdb::ColumnFamilyOptions register_options = cf_options;
  register_options.merge_operator = std::make_shared<RegisterMaxMergeOperator>(options.register_count);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (size_t i = 0; i < column_families.size(); ++i) {
    const bool registers = options.register_families.count(static_cast<int>(i)) > 0;
    descriptors.emplace_back(column_families[i], registers ? register_options : cf_options);
    if (auto run = options.insert_runs.find(static_cast<int>(i)); run != options.insert_runs.end()) {
      descriptors.back().options.memtable_insert_with_hint_prefix_extractor =
          std::make_shared<InsertRunPrefix>(run->second);
    }
  }

  auto store = std::unique_ptr<Store>(new Store());
  store->dir_ = dir;
  store->options_damage_ = CheckOptionsFile(dir);
  store->sync_writes_ = options.sync_writes;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, descriptors, &handles, &store->db_);
  if (!s.ok()) {
    if (s.IsInvalidArgument() && s.ToString().find("Column famil") != std::string::npos) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the data directory holds column families this version does not know (",
          s.ToString(), "); it was written by a newer kentra"));
    }
    return FromRocks(s, "opening the data directory");
  }
  // handles[0] is "default", which kentra does not use; the caller's index i is handles[i+1].
  store->handles_.assign(handles.begin() + 1, handles.end());
  store->db_->DestroyColumnFamilyHandle(handles[0]);
  if (options.verify_checksums) {
    const auto began = std::chrono::steady_clock::now();
    store->damage_ = store->VerifyChecksums();
    store->verify_time_ = absl::FromChrono(std::chrono::steady_clock::now() - began);
    if (!store->damage_.ok()) {
      store->RefuseWrites(absl::DataLossError(absl::StrCat(
          store->damage_.message(), "; the store refuses writes until it is restored from a backup")));
    }
  }
  return store;
}

Store::~Store() {
  if (db_ == nullptr) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
  delete db_;
}

absl::StatusOr<std::optional<std::string>> Store::Get(int cf, absl::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_.at(cf), ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading the store");
  return std::optional<std::string>(std::move(value));
}

absl::Status Store::VerifyChecksums() const {
  rocksdb::Status s = db_->VerifyChecksum();
  if (!s.ok()) {
    return absl::DataLossError(absl::StrCat("a table file of ", dir_, " fails its checksum: ", s.ToString()));
  }
  return options_damage_;
}

void Store::RefuseWrites(absl::Status why) {
  absl::MutexLock lock(&refusal_mu_);
  refusal_ = std::move(why);
  refusing_writes_.store(true);
}

absl::Status Store::WriteRefusal() const {
  if (!refusing_writes_.load(std::memory_order_relaxed)) return absl::OkStatus();
  absl::MutexLock lock(&refusal_mu_);
  return refusal_;
}

absl::Status Store::Write(WriteBatch& batch, Durability durability) {
  KENTRA_RETURN_IF_ERROR(WriteRefusal());
  rocksdb::WriteBatch rb;
  int64_t bytes = 0;
  for (const auto& op : batch.ops_) {
    bytes += static_cast<int64_t>(op.key.size() + op.value.size());
    rocksdb::Status s;
    switch (op.kind) {
      case WriteBatch::Kind::kPut: s = rb.Put(handles_.at(op.cf), ToSlice(op.key), ToSlice(op.value)); break;
      case WriteBatch::Kind::kDelete: s = rb.Delete(handles_.at(op.cf), ToSlice(op.key)); break;
      case WriteBatch::Kind::kMerge: s = rb.Merge(handles_.at(op.cf), ToSlice(op.key), ToSlice(op.value)); break;
    }
    if (!s.ok()) return FromRocks(s, "preparing a write");
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_ && durability == Durability::kSynced;
  KENTRA_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &rb), "writing to the store"));
  written_batches_.fetch_add(1, std::memory_order_relaxed);
  written_operations_.fetch_add(static_cast<int64_t>(batch.ops_.size()), std::memory_order_relaxed);
  written_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status Store::SyncWritten() {
  KENTRA_RETURN_IF_ERROR(WriteRefusal());
  if (!sync_writes_) return absl::OkStatus();
  // A write is seen once its sequence number is published, which RocksDB does
  // only after writing it to the log file; a sync after that covers it.
  const uint64_t mine = db_->GetLatestSequenceNumber();
  absl::MutexLock lock(&sync_mu_);
  while (synced_ < mine) {
    if (syncing_) {
      sync_done_.Wait(&sync_mu_);
      continue;
    }
    // Lead one sync for every write seen by now.
    syncing_ = true;
    const uint64_t covers = db_->GetLatestSequenceNumber();
    sync_mu_.Unlock();
    const absl::Status s = FromRocks(db_->SyncWAL(), "syncing the write-ahead log");
    wal_syncs_.fetch_add(1, std::memory_order_relaxed);
    sync_mu_.Lock();
    syncing_ = false;
    sync_done_.SignalAll();
    if (!s.ok()) return s;
    synced_ = std::max(synced_, covers);
  }
  return absl::OkStatus();
}

absl::Status Store::Checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  KENTRA_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_, &raw), "starting a checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // The memtables are flushed first, so the copy needs no write-ahead log replay.
  return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0), "writing a checkpoint");
}

Store::WriteStats Store::write_stats() const {
  WriteStats stats;
  stats.batches = written_batches_.load(std::memory_order_relaxed);
  stats.operations = written_operations_.load(std::memory_order_relaxed);
  stats.bytes = written_bytes_.load(std::memory_order_relaxed);
  stats.wal_syncs = wal_syncs_.load(std::memory_order_relaxed);
  return stats;
}

std::unique_ptr<StoreIterator> Store::NewIterator(int cf) const {
  return std::make_unique<RocksIterator>(db_->NewIterator(rocksdb::ReadOptions(), handles_.at(cf)));
}

std::unique_ptr<StoreIterator> Store::NewPrefixIterator(int cf, absl::string_view prefix) const {
  return std::make_unique<RocksIterator>(db_, handles_.at(cf), std::string(prefix));
}

absl::StatusOr<std::string> ListNewestFirst(const Store& store, int cf, absl::string_view prefix, int page_size,
                                            int default_size, absl::string_view page_token,
                                            const std::function<absl::Status(absl::string_view value)>& visit) {
  if (page_size < 0 || page_size > 1000) return absl::InvalidArgumentError("page_size: must be 0 to 1000");
  if (page_size == 0) page_size = default_size;
  // The token is the sequence just above the next page's first entry.
  std::string start = absl::StrCat(prefix, "\xff");
  if (!page_token.empty()) {
    auto above = keys::ParsePadded(page_token, 20);
    if (!above || *above == 0) return absl::InvalidArgumentError("page_token: is not one this server issued");
    start = absl::StrCat(prefix, keys::PaddedSequence(*above - 1));
  }
  auto it = store.NewIterator(cf);
  int listed = 0;
  for (it->SeekForPrev(start); it->Valid() && absl::StartsWith(it->key(), prefix); it->Prev()) {
    if (listed == page_size) {
      const auto seq = keys::ParsePadded(it->key().substr(prefix.size()), 20);
      return keys::PaddedSequence(seq.value_or(0) + 1);
    }
    KENTRA_RETURN_IF_ERROR(visit(it->value()));
    ++listed;
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  return std::string();
}

}  // namespace kentra
