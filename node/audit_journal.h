// AuditJournal: the way in for the audit entries of reads and refusals. Each entry
// is appended to a file beside the database with one write(2), so it has reached
// the OS before the audited read returns (the promise an unsynced RocksDB write
// made, without every read joining RocksDB's write group). A background thread
// moves the entries, with their index entries, into the store in large batches,
// recording in the same batch how far it got; on opening, whatever the file holds
// past that point is moved first. Anyone reading the audit log calls CatchUp()
// before, and so sees every entry appended until then. Thread-safe.
#ifndef KENTRA_NODE_AUDIT_JOURNAL_H_
#define KENTRA_NODE_AUDIT_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/storage.h"
#include "kentra/node/v1/audit.pb.h"

namespace kentra::node {

class AuditJournal {
 public:
  // Adds one entry and its index entries to a batch (the keys are the entry's own,
  // so moving an entry twice writes the same thing twice).
  // `bytes` is `entry` serialized.
  using PutFn =
      std::function<void(WriteBatch& batch, const v1::AuditEntry& entry, absl::string_view bytes)>;

  struct Options {
    // Once everything in the file is in the store and the file has grown past
    // this, it starts again empty.
    int64_t restart_after_bytes = 16 << 20;
    // How long entries wait in the file at most when nobody asks for them.
    absl::Duration move_interval = absl::Milliseconds(20);
  };

  // Opens (creating) the journal at `path`, moves what it holds into `store` (not
  // owned, outlives the journal) with `put`, and starts the mover thread.
  // DATA_LOSS if a complete, checksummed entry cannot be read back.
  static absl::StatusOr<std::unique_ptr<AuditJournal>> Open(const std::string& path, Store* store,
                                                            PutFn put, Options options);
  static absl::StatusOr<std::unique_ptr<AuditJournal>> Open(const std::string& path, Store* store,
                                                            PutFn put) {
    return Open(path, store, std::move(put), Options());
  }
  // Stops the thread, then moves what is left into the store.
  ~AuditJournal();
  AuditJournal(const AuditJournal&) = delete;
  AuditJournal& operator=(const AuditJournal&) = delete;

  // Appends `entry`; OK once it is in the file (not fsynced). An error means the
  // entry was not recorded (and the file is as before).
  absl::Status Append(const v1::AuditEntry& entry);

  // Moves into the store every entry appended before this call.
  absl::Status CatchUp();

  // The meta key where the store records how far the journal has been moved.
  static constexpr absl::string_view kMetaKey = "audit_journal_position";

 private:
  AuditJournal(std::string path, Store* store, PutFn put, Options options);
  // Opens the file (creating it, or starting it again if its header is torn) and
  // finds where moving resumes.
  absl::Status OpenFile();
  // Reads whole frames from `from` up to at most `to`, adding each entry to
  // `batch`; returns the end of the last whole frame (== from if none fits).
  absl::StatusOr<int64_t> ReadFrames(int64_t from, int64_t to, WriteBatch& batch) const;
  // Moves everything appended so far into the store.
  absl::Status MoveLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mover_mu_);
  // Once everything is moved: empties the file under a new generation.
  absl::Status RestartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mover_mu_);
  absl::Status WriteHeaderLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  void MoverLoop();

  const std::string path_;
  Store* const store_;
  const PutFn put_;
  const Options options_;

  int fd_ = -1;  // opened for appending and reading; set before the mover starts
  // Appenders hold append_mu_; appended_ is the end of the last whole frame.
  mutable absl::Mutex append_mu_;
  int64_t appended_ ABSL_GUARDED_BY(append_mu_) = 0;
  std::string generation_ ABSL_GUARDED_BY(append_mu_);

  // The mover (thread or CatchUp) holds mover_mu_; everything before moved_ is in the store.
  absl::Mutex mover_mu_ ABSL_ACQUIRED_BEFORE(append_mu_);
  int64_t moved_ ABSL_GUARDED_BY(mover_mu_) = 0;
  bool failing_ ABSL_GUARDED_BY(mover_mu_) = false;  // logged once per failing spell

  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread mover_;
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_AUDIT_JOURNAL_H_
