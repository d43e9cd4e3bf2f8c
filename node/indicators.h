// IndicatorCounters: a centre's kentra-anon/v2 counters, kept current on every
// service event in the same WriteBatch as the event, and the protected cells made
// from them: the only form in which the centre's data leaves the node.
//
// Layout in the indicators column family (P = "YYYY-MM", p = person's pseudonym):
//   c/P/<cell>          Counter: persons or events of a monthly cell
//   y/P/<cell>          Counter: persons first counted in P's year in month P
//                       (a year-to-date cell of month P sums y/ from January to P)
//   pm/P\0p             IndicatorPersonMonth: the monthly cells p is counted in
//                       in P, and p's events counted in each T4 cell (capped)
//   py/YYYY\0p          IndicatorPersonYear: per year-to-date cell, the month p
//                       was first counted in
//   touched/P           a fresh marker each time P changes
//   synced/P            the marker of P's last push to the hub: P is pending while
//                       touched/P differs (never deleted, so no change is lost
//                       to a sync running at the same time)
//   closed/P            close time: P is final; later events count in the open month
//   frozen/P            P's protected cells as they were when it closed: what it
//                       shows for good
// A month also closes on its own release_after_days after it ends (ReleaseDay):
// from that day on no event counts in it or in an earlier month, so its counters
// no longer change and its cells are final without a frozen copy.
#ifndef KENTRA_NODE_INDICATORS_H_
#define KENTRA_NODE_INDICATORS_H_

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/message_lite.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "common/anon/keys.h"
#include "common/clock.h"
#include "common/lock_table.h"
#include "common/storage.h"
#include "node/schema.h"
#include "kentra/anon/v1/indicators.pb.h"
#include "kentra/node/v1/beneficiary.pb.h"
#include "kentra/node/v1/service_event.pb.h"

namespace kentra::node {

class IndicatorCounters {
 public:
  // `store` and `clock` are not owned; `cf` is the indicators column family and
  // `sketch_cf` the register family of the months' true persons sketches,
  // released private with the coins of `sketch_noise_key`. Months close on
  // their own `release_after_days` after they end.
  IndicatorCounters(Store* store, int cf, int sketch_cf, const Clock* clock, std::string centre_id,
                    anon::AnonKeys keys, std::string sketch_noise_key, int release_after_days)
      : store_(store),
        cf_(cf),
        sketch_cf_(sketch_cf),
        clock_(clock),
        centre_id_(std::move(centre_id)),
        keys_(std::move(keys)),
        sketch_noise_key_(std::move(sketch_noise_key)),
        release_after_days_(release_after_days) {}

  // Queues into `batch` what service event `e` of `person` changes. The returned
  // guard serialises the person's events and must be held until `batch` is
  // written. An event dated in a closed month counts in the current month.
  absl::StatusOr<LockTable::Guard> CountEvent(WriteBatch& batch, const kentra::node::v1::Beneficiary& person,
                                              const kentra::node::v1::ServiceEvent& e);

  // Queues into `batch` one referral step: +1 in each of `cells` (R1, R2) of the
  // current month, each with the referral's own key for this centre and cell
  // (anon::ReferralStepKey; each step of a referral happens once, so no
  // per-person bookkeeping is needed).
  void CountReferral(WriteBatch& batch, absl::string_view referral_id, const std::vector<std::string>& cells);

  // Every cell of month `period`, protected, in codebook order; with the
  // month's private persons sketch once it is closed (one release a month).
  absl::StatusOr<kentra::anon::v1::PeriodCells> Protected(absl::CivilMonth period) const;

  // The months to push, oldest first, each with the marker to record once its
  // push succeeded: those whose cells changed since they were last pushed and,
  // given what the hub holds (`held`, by month), those it lacks or holds
  // otherwise than they were last pushed, or holds open while they have closed
  // here. Never a month the hub holds closed, nor one it has released with
  // other values than the node's now (a released month never changes at the
  // hub; a node restored from an older backup must not stall on it): of a
  // released month only the closing of the values it holds goes.
  struct Pending {
    absl::CivilMonth period;
    std::string marker;
  };
  struct HeldAtHub {
    std::string batch_id;
    bool closed = false;
    bool released = false;  // closed, or past the hub's release day
  };
  absl::StatusOr<std::vector<Pending>> PendingPeriods(
      const absl::flat_hash_map<std::string, HeldAtHub>* held = nullptr) const;
  // Records that `pending` reached the hub as the batch `batch_id`.
  absl::Status MarkSynced(const Pending& pending, absl::string_view batch_id);

  // Whether `period` is closed: by its coordinator, or on its own from its
  // release day on.
  absl::StatusOr<bool> IsClosed(absl::CivilMonth period) const;
  // Queues the closing of `period`: FAILED_PRECONDITION unless it is over (before
  // the current month) and still open (neither closed nor past its release day).
  absl::Status PutClose(WriteBatch& batch, absl::CivilMonth period) const;

 private:
  Store* store_;
  int cf_;
  int sketch_cf_;
  const Clock* clock_;
  std::string centre_id_;
  anon::AnonKeys keys_;
  std::string sketch_noise_key_;
  int release_after_days_;
  // The released form of `period`'s persons sketch.
  absl::StatusOr<std::string> PrivateSketchOf(absl::CivilMonth period) const;
  // Whether `period`'s release day has come.
  bool PastReleaseDay(absl::CivilMonth period) const;
  // A marker no other change of this process has used.
  std::string NewMarker() const;
  // Reads the bookkeeping record at `key` into `record` (left empty if absent).
  absl::Status ReadPersonRecord(const std::string& key, google::protobuf::MessageLite* record) const;

  LockTable person_locks_;
  mutable std::atomic<uint64_t> markers_{0};
};

// Schema version 5 keeps a person's bookkeeping in one record per month and one
// per year (pm/, py/), where version 4 kept a key per cell (m/P/<cell>\0p,
// e/P/<cell>\0p, f/YYYY/<cell>\0p). Rewrites the old keys of indicators family
// `cf` into the new records, through `out`; does not record the version. Cut
// short, it resumes.
absl::Status MigrateIndicatorBookkeepingToVersion5(Store* store, int cf, MigrationWriter& out);

// Schema version 6 keeps in register family `sketch_cf` each month's true
// persons sketch as kSketchBits bits (anon::SketchBitFor) where version 5 kept
// HyperLogLog registers, and a closed month's frozen copy carries its private
// sketch. Rebuilds both from the person-month records of indicators family `cf`
// (what a person's pseudonym was counted in), through `out`; does not record the
// version. Cut short, it starts over.
absl::Status MigrateSketchesToVersion6(Store* store, int cf, int sketch_cf, const anon::AnonKeys& keys,
                                       absl::string_view noise_key, MigrationWriter& out);

}  // namespace kentra::node

#endif  // KENTRA_NODE_INDICATORS_H_
