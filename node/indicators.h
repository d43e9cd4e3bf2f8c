// IndicatorCounters: a centre's kentra-anon/v1 counters, kept current on every
// service event in the same WriteBatch as the event, and the protected cells made
// from them: the only form in which the centre's data leaves the node.
//
// Layout in the indicators column family (P = "YYYY-MM", p = person's pseudonym):
//   c/P/<cell>          Counter: persons or events of a monthly cell
//   y/P/<cell>          Counter: persons first counted in P's year in month P
//                       (a year-to-date cell of month P sums y/ from January to P)
//   m/P/<cell>\0p       "": p is counted in monthly cell <cell> of P
//   e/P/<cell>\0p       events of p counted in T4 cell <cell> of P (capped)
//   f/YYYY/<cell>\0p    "P": the month p was first counted in year-to-date <cell>
//   touched/P           "": P changed since the hub last took it
//   closed/P            close time: P is final; later events count in the open month
#ifndef KENTRA_NODE_INDICATORS_H_
#define KENTRA_NODE_INDICATORS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "common/anon/keys.h"
#include "common/clock.h"
#include "common/lock_table.h"
#include "common/storage.h"
#include "kentra/anon/v1/indicators.pb.h"
#include "kentra/node/v1/beneficiary.pb.h"
#include "kentra/node/v1/service_event.pb.h"

namespace kentra::node {

class IndicatorCounters {
 public:
  // `store` and `clock` are not owned; `cf` is the indicators column family.
  IndicatorCounters(Store* store, int cf, const Clock* clock, std::string centre_id, anon::AnonKeys keys)
      : store_(store), cf_(cf), clock_(clock), centre_id_(std::move(centre_id)), keys_(std::move(keys)) {}

  // Queues into `batch` what service event `e` of `person` changes. The returned
  // guard serialises the person's events and must be held until `batch` is
  // written. An event dated in a closed month counts in the current month.
  absl::StatusOr<LockTable::Guard> CountEvent(WriteBatch& batch, const kentra::node::v1::Beneficiary& person,
                                              const kentra::node::v1::ServiceEvent& e);

  // Every cell of month `period`, protected, in codebook order.
  absl::StatusOr<kentra::anon::v1::PeriodCells> Protected(absl::CivilMonth period) const;

  // Whether `period` is closed.
  absl::StatusOr<bool> IsClosed(absl::CivilMonth period) const;
  // Queues the closing of `period`: FAILED_PRECONDITION unless it is over (before
  // the current month) and still open.
  absl::Status PutClose(WriteBatch& batch, absl::CivilMonth period) const;

 private:
  Store* store_;
  int cf_;
  const Clock* clock_;
  std::string centre_id_;
  anon::AnonKeys keys_;
  LockTable person_locks_;
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_INDICATORS_H_
