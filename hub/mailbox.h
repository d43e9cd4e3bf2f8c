// Mailbox: the hub's store-and-forward of sealed referral messages, in RocksDB
// (DATA_DIR/mailbox). Each recipient centre's messages get increasing sequence
// numbers; a message stays until its recipient acknowledges it or its time to
// live passes, and then the hub posts an UndeliveredNotice to the sender. A post
// is idempotent on (sender, message_id) for as long as the message could live.
// It never holds anything but routing metadata and ciphertext. Thread-safe.
#ifndef KENTRA_HUB_MAILBOX_H_
#define KENTRA_HUB_MAILBOX_H_

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/lock_table.h"
#include "common/storage.h"
#include "kentra/hub/v1/mailbox_service.pb.h"

namespace kentra::hub {

// The sender id of the hub's own notices.
inline constexpr absl::string_view kHubSender = "hub";

class Mailbox {
 public:
  // Opens (creating) the mailboxes in `dir`; messages live `ttl`. `clock` is not owned.
  static absl::StatusOr<std::unique_ptr<Mailbox>> Open(const std::string& dir, const Clock* clock,
                                                       absl::Duration ttl);

  // Puts `message` (sender, recipient, ids, sealed; sequence and times are set
  // here) into the recipient's mailbox, synced before it returns. A watch on
  // the mailbox may see it a little before: as soon as it is written. A repeat of
  // the same (sender, message_id) returns the first receipt and stores nothing;
  // with another recipient or referral id it is INVALID_ARGUMENT.
  absl::StatusOr<kentra::hub::v1::PostMessageResponse> Post(kentra::hub::v1::MailboxMessage message);
  // Posts each of `messages` as Post does, in order, in one synced write: all or
  // none. Returns their receipts in the same order.
  absl::StatusOr<std::vector<kentra::hub::v1::PostMessageResponse>> PostAll(
      std::vector<kentra::hub::v1::MailboxMessage> messages);

  // Up to `limit` of `recipient`'s messages after `after`, oldest first; `more`
  // says whether others follow.
  absl::StatusOr<std::vector<kentra::hub::v1::MailboxMessage>> Fetch(absl::string_view recipient, int64_t after,
                                                                     int limit, bool* more) const;

  // Waits up to `timeout` until `recipient` has a message after `after`, or
  // Close() is called, or (with a `watch` from WatchOpened) a newer watch
  // replaced that one. Returns whether a message is there.
  bool AwaitAfter(absl::string_view recipient, int64_t after, absl::Duration timeout, uint64_t watch = 0);

  // Deletes these of `recipient`'s messages; returns how many were there. The
  // deletion survives the hub's process crashing, not the machine's: after a
  // machine crash the messages may be delivered again (the recipient stores
  // each once).
  absl::StatusOr<int> Ack(absl::string_view recipient, const std::vector<int64_t>& sequences);

  // Of these message ids that `sender` posted, those with no post held here (a
  // post is remembered for the time to live), in the order given.
  absl::StatusOr<std::vector<std::string>> UnknownPosts(absl::string_view sender,
                                                        const std::vector<std::string>& message_ids) const;
  absl::Duration ttl() const { return ttl_; }

  // `recipient` says it has stored its messages through `stored_through`. If it
  // acknowledged later ones (its node was restored from a backup taken before
  // it stored them), the hub forgets their posts, so that their senders, asking
  // which of their posts the hub holds (UnknownPosts), post them again; the
  // hub's own notices among them it posts again itself. Returns how many it
  // forgot.
  absl::StatusOr<int> ForgetLostDeliveries(absl::string_view recipient, int64_t stored_through);

  // Drops every message whose time has passed, telling each sender with an
  // UndeliveredNotice, and forgets post receipts older than the time to live.
  // Returns how many messages expired.
  absl::StatusOr<int> ExpireOld();

  // Wakes every AwaitAfter for good (the hub is stopping).
  void Close();
  bool closed() const {
    absl::MutexLock lock(&mu_);
    return closed_;
  }

  // How many messages wait for `recipient`.
  int Pending(absl::string_view recipient) const;

  // What the operator sees of a mailbox: how much waits, since when, and
  // whether its node watches it.
  struct Status {
    int waiting = 0;
    std::optional<absl::Time> oldest_post;
    bool watched = false;
  };
  absl::StatusOr<Status> StatusOf(absl::string_view recipient) const;
  // Counts the open watches on `recipient`'s mailbox (WatchMessages calls
  // these). A centre has one watch: each one opened replaces those before it
  // (WatchReplaced), and wakes them. Returns the new watch's number.
  uint64_t WatchOpened(absl::string_view recipient);
  void WatchClosed(absl::string_view recipient);
  // Whether watch `watch` of `recipient` was replaced by a newer one.
  bool WatchReplaced(absl::string_view recipient, uint64_t watch) const;

  // The RocksDB store underneath, for backups.
  const Store* store() const { return store_.get(); }

 private:
  Mailbox(std::unique_ptr<Store> store, const Clock* clock, absl::Duration ttl)
      : store_(std::move(store)), clock_(clock), ttl_(ttl) {}
  absl::Status Load();
  // Deletes these of `recipient`'s messages (Ack), counting them as
  // acknowledged (ForgetLostDeliveries) only if `acknowledged_by_recipient`.
  absl::StatusOr<int> Remove(absl::string_view recipient, const std::vector<int64_t>& sequences,
                             bool acknowledged_by_recipient);
  // Durably reserves sequence numbers past each mailbox's highest in `highest`
  // (recipient -> sequence) that lies beyond its reservation.
  absl::Status Reserve(const absl::flat_hash_map<std::string, int64_t>& highest);

  std::unique_ptr<Store> store_;
  const Clock* clock_;
  absl::Duration ttl_;
  LockTable post_locks_;  // by (sender, message_id): one post of a message at a time
  LockTable box_locks_;   // by recipient: one deletion from a mailbox at a time
  absl::Mutex reserve_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // one reservation write at a time
  mutable absl::Mutex mu_;
  struct Box {
    int64_t last_sequence = 0;    // the highest given out
    int64_t reserved = 0;         // on disk: none above it was given out
    int64_t visible_through = 0;  // every message up to here is written (or abandoned)
    std::set<int64_t> in_flight;  // given out, being written
    int pending = 0;              // messages held
    int watches = 0;              // open WatchMessages streams
    uint64_t newest_watch = 0;    // the number of the one that counts
    int64_t acknowledged_through = 0;  // on disk: the highest sequence its recipient acknowledged
    // Signalled when visible_through moves, and at Close(). Each mailbox has its
    // own, so that a post wakes only its recipient's watches: a Condition on mu_
    // would be checked for every open watch (one per centre) at each unlock.
    absl::CondVar changed;
  };
  // Node-based: a Box (its CondVar) never moves while a watch waits on it.
  absl::node_hash_map<std::string, Box> boxes_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_MAILBOX_H_
