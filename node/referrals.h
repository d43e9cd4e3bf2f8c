// CentreReferrals: a centre's referrals in RocksDB, those it sends and those it
// receives, and the sealed messages the two centres exchange about them. A staff
// action and a message applied from the other centre each commit as one synced
// WriteBatch: the referral, its indexes, the sealed message queued for the other
// centre in the outbox, the audit entry. Messages arrive through the hub
// (ReferralCourier) and are applied idempotently: one seen before changes
// nothing, one that fails to open or to verify is refused and audited. Every
// transition is checked against the state machine (referral_state.h) for the side
// that makes it. Thread-safe.
#ifndef KENTRA_NODE_REFERRALS_H_
#define KENTRA_NODE_REFERRALS_H_

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/lock_table.h"
#include "common/sealing.h"
#include "common/storage.h"
#include "kentra/hub/v1/mailbox_service.pb.h"
#include "kentra/node/v1/referral_service.pb.h"
#include "kentra/referral/v1/message.pb.h"
#include "kentra/storage/v1/records.pb.h"
#include "node/records.h"
#include "node/referral_directory.h"
#include "node/referral_rules.h"
#include "node/referral_state.h"
#include "node/seal_ahead.h"

namespace kentra::node {

// What a node needs to seal and open referrals: its own keys, the verified
// roster, and the operator's root key that also signs the federation directory.
struct ReferralKeys {
  NodeKeys mine;
  kentra::referral::v1::Roster roster;
  std::string root_public;
};

// Live changes of referrals, for WatchReferrals: each watcher has a bounded queue.
class ReferralWatchers {
 public:
  struct Event {
    v1::Referral referral;
    v1::ReferralAction action;
    absl::Time stored;  // when the change was durable
  };
  // Open watches one staff member may hold (a browser tab each, a terminal).
  static constexpr int kMaxWatchesPerUser = 8;
  // A new watcher's id, for staff member `user`; RESOURCE_EXHAUSTED if the user
  // holds kMaxWatchesPerUser already.
  absl::StatusOr<int> Add(const std::string& user);
  void Remove(int id);
  void Publish(const v1::Referral& referral, v1::ReferralAction action, absl::Time stored);
  // The watcher's events, waiting up to `timeout` for the first.
  std::vector<Event> Take(int id, absl::Duration timeout);

 private:
  static constexpr size_t kMaxQueued = 1000;  // a watcher that falls this far behind loses the oldest
  absl::Mutex mu_;
  int next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int, std::deque<Event>> queues_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::string> user_of_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> open_by_user_ ABSL_GUARDED_BY(mu_);
};

// The outbox floor (every key below it posted) once the items with keys
// `posted` (in key order) are posted: it moves over the unbroken run of keys that
// starts at `floor`, and no further, since a missing key may still be written.
uint64_t OutboxFloorAfter(uint64_t floor, const std::vector<uint64_t>& posted);

class CentreReferrals {
 public:
  struct Options {
    // A referral sent from here expires unless accepted within this many working days.
    int accept_working_days = 10;
    int max_page_size = 200;
  };

  // None is owned. Without `keys` the node can neither send nor receive referrals
  // (FAILED_PRECONDITION saying so). Registers a consent hook with `records`.
  static absl::StatusOr<std::unique_ptr<CentreReferrals>> Open(Store* store, CentreRecords* records,
                                                               const Clock* clock, std::string centre_id,
                                                               std::optional<ReferralKeys> keys, Options options);

  // Staff actions. Create: FAILED_PRECONDITION without the person's current consent
  // to share for referral or for a centre not on the roster; without a receiving
  // centre, the best target from the directory for the service and the person's
  // municipality. Idempotent on request_id.
  absl::StatusOr<v1::Referral> Create(const Actor& actor, const v1::CreateReferralRequest& request);
  absl::StatusOr<v1::ResolveReferralTargetsResponse> ResolveTargets(const v1::ResolveReferralTargetsRequest& request) const;
  absl::StatusOr<v1::Referral> Get(const Actor& actor, absl::string_view name);
  absl::StatusOr<v1::ListReferralsResponse> List(const Actor& actor, const v1::ListReferralsRequest& request);
  absl::StatusOr<v1::Referral> Accept(const Actor& actor, const v1::AcceptReferralRequest& request);
  absl::StatusOr<v1::Referral> Reject(const Actor& actor, const v1::RejectReferralRequest& request);
  absl::StatusOr<v1::Referral> Start(const Actor& actor, const v1::StartReferralRequest& request);
  absl::StatusOr<v1::Referral> Complete(const Actor& actor, const v1::CompleteReferralRequest& request);
  absl::StatusOr<v1::Referral> Cancel(const Actor& actor, const v1::CancelReferralRequest& request);

  // Applies one message from this centre's mailbox at the hub. OK when the hub may
  // delete it: applied, applied before, or refused (audited; a message that fails
  // to open or verify is never retried). An error only when storing failed.
  absl::Status Apply(const kentra::hub::v1::MailboxMessage& message);
  // Applies these messages, in order, as Apply does each, with as few synced
  // writes as their referrals allow (one unless two are about the same
  // referral). An error only when storing failed; then none after the last
  // stored run is stored.
  absl::Status ApplyAll(const google::protobuf::RepeatedPtrField<kentra::hub::v1::MailboxMessage>& messages);

  // The highest sequence number of this centre's mailbox at the hub through
  // which every message is stored (or refused) durably; none if this store has
  // not recorded it yet. The courier tells the hub (ReconcileMailbox), which so
  // learns what a node restored from a backup has lost.
  std::optional<int64_t> MailboxStoredThrough() const {
    absl::MutexLock lock(&stored_mu_);
    return stored_through_;
  }

  // Expires every referral not accepted by its deadline that this side owns the
  // expiry of (sent and never received; received and not acted on), telling the
  // other centre. Returns how many expired.
  absl::StatusOr<int> ExpireDue();

  // The outbox: messages for the hub, oldest first, with their keys, each
  // signed and sealed now for its recipient. An item whose recipient has left
  // the roster stays queued, and its referral says why (delivery_problem,
  // logged when it starts); so does one the hub refused (RefusedByHub), for a
  // while. A referral's later messages wait behind its first that does not
  // go, so that they arrive in order. The scan starts at the outbox floor, below which
  // every item is posted, so it does not step over the deleted items of what
  // was posted before.
  absl::StatusOr<std::vector<std::pair<std::string, kentra::storage::v1::OutboxItem>>> Outbox(int limit);
  // The hub holds these outbox items (key, item with its post_time_micros):
  // moves them from the outbox to the posted items kept (below), and marks their
  // referrals as at the hub with no delivery problem.
  absl::Status MarkPosted(const std::vector<std::pair<std::string, kentra::storage::v1::OutboxItem>>& items);
  // Posted items are kept, sealed as posted, for as long as the hub remembers
  // posts, so that what a hub restored from a backup lost can be posted again.
  // Up to `limit` of them with keys after `after_key`, oldest first.
  absl::StatusOr<std::vector<std::pair<std::string, kentra::storage::v1::OutboxItem>>> PostedItems(
      absl::string_view after_key, int limit) const;
  // The hub lost these posted items (by key): they go back into the outbox
  // under their keys, ahead of anything queued after them, and are posted again.
  absl::Status RequeuePosted(const std::vector<std::string>& keys);
  // Deletes these posted items (by key): the hub no longer remembers them either way.
  absl::Status ForgetPosted(const std::vector<std::string>& keys);
  // The clock of this centre's records (and of its posted items' ages).
  const Clock* clock() const { return clock_; }
  // The courier's word on posting to the hub while it fails (empty once it
  // works again), or the node's that it has no hub: until then every referral
  // with a message still queued shows it as its delivery_problem, unless it has
  // a problem of its own. Held in memory only; a node that starts again learns it
  // at its first post.
  void SetHubProblem(std::string problem);
  // The hub refused these outbox items for what they are (e.g. for a centre it
  // does not know), not for being unreachable: their referrals say why
  // (delivery_problem), and the outbox passes over them, and over every later
  // message of their referrals, for kRefusedRetry, then offers them again. The
  // rest of the outbox goes meanwhile.
  absl::Status RefusedByHub(const std::vector<std::pair<std::string, kentra::storage::v1::OutboxItem>>& items,
                            absl::string_view why);
  static constexpr absl::Duration kRefusedRetry = absl::Minutes(5);
  // Called (without locks held) after something is queued in the outbox.
  void SetOutboxListener(std::function<void()> listener) { outbox_listener_ = std::move(listener); }

  ReferralWatchers& watchers() { return watchers_; }
  bool can_refer() const { return keys_.has_value(); }
  // The node's keys and verified roster, if it has them.
  const std::optional<ReferralKeys>& keys() const { return keys_; }
  // The federation directory this node caches; null without keys.
  ReferralDirectory* directory() { return directory_.get(); }

 private:
  CentreReferrals(Store* store, CentreRecords* records, const Clock* clock, std::string centre_id,
                  std::optional<ReferralKeys> keys, Options options)
      : store_(store), records_(records), clock_(clock), centre_id_(std::move(centre_id)), keys_(std::move(keys)),
        options_(options) {}

  absl::Status Load();
  absl::StatusOr<std::optional<v1::Referral>> Read(absl::string_view id) const;
  absl::StatusOr<v1::Referral> Load(absl::string_view name, absl::string_view field) const;
  // Queues `referral` (new or changed) with its indexes.
  void PutReferral(WriteBatch& batch, const v1::Referral& referral, bool is_new);
  // Records on each referral (by id) why its messages are held back, where that
  // is news.
  absl::Status NoteHeldBack(const std::map<std::string, std::string>& problems);
  // `r` as staff see it: QUEUED while a message of this centre about it waits
  // in the outbox (AT_HUB for an incoming one with none waiting), and then with
  // the hub problem unless it has a problem of its own.
  absl::StatusOr<v1::Referral> Present(v1::Referral r) const;
  // The outbox keys the hub refused, with when they are offered again; drops
  // those whose time has come.
  absl::flat_hash_map<std::string, absl::Time> RefusedNow();
  // Queues `message` for `recipient` in the outbox, to be signed and sealed
  // when posted; INVALID_ARGUMENT now if it is too large to seal.
  absl::Status QueueMessage(WriteBatch& batch, const std::string& recipient, const std::string& referral_id,
                            kentra::referral::v1::ReferralMessage message);
  // The sealed form of a queued outbox item, for its recipient's key on the roster.
  absl::StatusOr<std::string> SealQueued(const kentra::storage::v1::OutboxItem& item) const;
  // A staff action on referral `name`: checks and applies `action` for this
  // centre's side, lets `finish` fill in what the action adds, tells the other
  // centre, audits, commits.
  absl::StatusOr<v1::Referral> Act(const Actor& actor, absl::string_view name, v1::ReferralAction action,
                                   absl::string_view note, const std::function<void(v1::ReferralTransition&,
                                                                                    v1::Referral&)>& finish);
  // Records this centre's transition `t` in `r`, tells the other centre, audits
  // it as `audit_action`, commits, and notifies watchers and the courier.
  absl::Status CommitTransition(const Actor& actor, v1::Referral& r, const v1::ReferralTransition& t,
                                absl::string_view audit_action, absl::string_view detail);
  // Counts this centre's step `t` of `r` in the referral indicators (R1, R2), in
  // the same `batch` as the step itself.
  void CountStep(WriteBatch& batch, const v1::Referral& r, const v1::ReferralTransition& t);
  // Applies a transition `t` that centre `sender` made (or its deadline); false
  // when it is no news (an expiry already seen).
  absl::StatusOr<bool> ApplyUpdate(WriteBatch& batch, const Actor& from, const std::string& sender,
                                   v1::Referral& referral, const v1::ReferralTransition& t);
  // A message from the mailbox, opened and verified (or refused, and why).
  struct Arrival {
    const kentra::hub::v1::MailboxMessage* message = nullptr;
    absl::Status refusal;
    std::string referral_id;  // authenticated (a notice's from the hub); empty if refused
    kentra::referral::v1::ReferralMessage body;
  };
  Arrival OpenArrival(const kentra::hub::v1::MailboxMessage& message) const;
  // Applies arrivals about distinct referrals in one synced write, then tells
  // watchers and the courier.
  absl::Status ApplyRun(absl::Span<const Arrival> run);
  // Adds what `arrival` changes (or its refusal) to `batch`; returns the referral
  // it changed, with the action, for the watchers. Requires its referral's lock.
  absl::StatusOr<std::optional<std::pair<v1::Referral, v1::ReferralAction>>> ApplyArrival(WriteBatch& batch,
                                                                                          const Arrival& arrival);
  absl::Status ApplyRequest(WriteBatch& batch, const Actor& from, const std::string& sender,
                            const kentra::referral::v1::ReferralRequest& request, v1::Referral* stored);
  // Adds a refused message's audit entry to `batch`, and logs it. With an
  // `applied_key` (an authentic message refused for what it says), also marks it
  // applied, so a repeat is recognised.
  void Refuse(WriteBatch& batch, const kentra::hub::v1::MailboxMessage& message, const absl::Status& why,
              const std::string& applied_key = "");
  // RecordConsent's hook: on a withdrawal of referral sharing, tells every
  // centre this person was referred to.
  absl::Status OnConsent(WriteBatch& batch, const Actor& actor, const v1::Beneficiary& beneficiary,
                         const v1::Consent& consent);
  void Notify(const v1::Referral& referral, v1::ReferralAction action);

  Store* store_;
  CentreRecords* records_;
  const Clock* clock_;
  std::string centre_id_;
  std::optional<ReferralKeys> keys_;
  std::unique_ptr<ReferralDirectory> directory_;
  Options options_;
  LockTable locks_;  // by referral id, and by beneficiary name (a send against a consent withdrawal)
  std::atomic<uint64_t> last_listed_{0};
  std::atomic<uint64_t> last_outbox_{0};
  // Every outbox key below this is posted. It moves only over an unbroken run of
  // posted keys: a key taken but not yet written (a writer may commit a later key
  // first) stops it until it is posted too. A key whose write failed stops it
  // until the next start; the scan is then only as slow as without a floor.
  std::atomic<uint64_t> outbox_floor_{0};
  // The highest mailbox sequence stored durably (kMetaMailboxStoredThrough);
  // unknown in a store from before it was recorded. Writes that raise it hold
  // stored_mu_ until they are done, so that it only grows on disk.
  mutable absl::Mutex stored_mu_;
  std::optional<int64_t> stored_through_ ABSL_GUARDED_BY(stored_mu_);
  std::function<void()> outbox_listener_;
  mutable absl::Mutex courier_mu_;  // what the courier reports
  std::string hub_problem_ ABSL_GUARDED_BY(courier_mu_);
  absl::flat_hash_map<std::string, absl::Time> refused_ ABSL_GUARDED_BY(courier_mu_);  // outbox key -> offered again
  ReferralWatchers watchers_;
  // Last, so that its thread, which seals with keys_, stops first.
  SealAhead seal_ahead_{[this](const kentra::storage::v1::OutboxItem& item) { return SealQueued(item); }};
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_REFERRALS_H_
