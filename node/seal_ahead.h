// SealAhead: seals a node's outgoing referral messages on a thread of its own
// as soon as they are queued, while the write that queues them is being synced,
// so that the courier, posting them right after that write, finds them sealed
// instead of sealing them then (signing and sealing took about 0.12 ms of the
// way from a worker's send to the other centre). It is only a cache in memory:
// the outbox item stays the record, and an item it does not hold sealed (never
// started, dropped when full, forgotten, or failed) is sealed when posted, as
// before. Thread-safe.
#ifndef KENTRA_NODE_SEAL_AHEAD_H_
#define KENTRA_NODE_SEAL_AHEAD_H_

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "kentra/storage/v1/records.pb.h"

namespace kentra::node {

class SealAhead {
 public:
  using SealFunction = std::function<absl::StatusOr<std::string>(const kentra::storage::v1::OutboxItem&)>;

  // `seal` turns an outbox item into its sealed bytes; at most `capacity`
  // items are held (started or sealed) at a time, the newest.
  explicit SealAhead(SealFunction seal, size_t capacity = 256);
  // Stops the thread; what is still queued is dropped.
  ~SealAhead();
  SealAhead(const SealAhead&) = delete;
  SealAhead& operator=(const SealAhead&) = delete;

  // Starts sealing `item`, which is being queued in the outbox under `key`
  // (a key is never given to another item). When full, forgets the oldest.
  void Start(const std::string& key, kentra::storage::v1::OutboxItem item);
  // The sealed bytes of the item under `key`, waiting if they are being made
  // now, and forgets them; nullopt if it holds none (or sealing failed).
  std::optional<std::string> Take(const std::string& key);
  // Forgets every item under a key below `key`: the outbox holds none of them
  // any more (posted, deleted, or their write failed).
  void ForgetBelow(const std::string& key);
  // How many items it holds, started or sealed.
  size_t size() const;

 private:
  struct Entry {
    bool done = false;
    std::optional<std::string> sealed;
  };
  void Run();

  const SealFunction seal_;
  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::CondVar queued_;  // something to seal, or stopping
  absl::CondVar sealed_;  // an entry is done
  std::deque<std::pair<std::string, kentra::storage::v1::OutboxItem>> queue_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);  // by outbox key
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_SEAL_AHEAD_H_
