// IndicatorStore: what the hub holds, in RocksDB: each centre's protected cells per
// month (replaced whole by each push, never added to) and each centre's last
// successful sync. It never holds anything about a person. Thread-safe.
#ifndef KENTRA_HUB_INDICATOR_STORE_H_
#define KENTRA_HUB_INDICATOR_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "common/clock.h"
#include "common/lock_table.h"
#include "common/storage.h"
#include "kentra/anon/v1/indicators.pb.h"
#include "kentra/storage/v1/records.pb.h"

namespace kentra::hub {

// The size of the plain HyperLogLog persons sketch that nodes before kentra-anon/v2's
// private sketches sent (4096 registers): the hub never keeps one.
inline constexpr size_t kPlainSketchBytes = 4096;

class IndicatorStore {
 public:
  // Opens (creating) the hub's database in `dir`. `clock` is not owned. A month
  // is released `release_after_days` after it ends if no centre closed it sooner.
  // Plain persons sketches a hub of an earlier version kept are deleted first.
  static absl::StatusOr<std::unique_ptr<IndicatorStore>> Open(const std::string& dir, const Clock* clock,
                                                              int release_after_days);

  // Replaces the cells of (cells.centre, cells.period) atomically. Returns whether
  // anything changed. A released month never changes: FAILED_PRECONDITION if it
  // is held released with other values (the same values closed only mark it
  // closed). A month the hub holds nothing of is taken whenever it comes.
  absl::StatusOr<bool> ReplacePeriod(const kentra::anon::v1::PeriodCells& cells);
  // The cells of one centre and month, if held.
  absl::StatusOr<std::optional<kentra::anon::v1::PeriodCells>> Get(absl::string_view centre,
                                                                   absl::string_view period) const;
  // What queries need of one centre and month: the cells' values in codebook
  // order and the persons sketch.
  struct Held {
    std::vector<int64_t> values;
    std::string sketch;
    bool closed = false;  // its centre closed it: final
  };
  // Held cells of one centre and month, or null if not held. Served from memory
  // after the first read (250 centres x 36 months is a few tens of MiB), so
  // queries only add up.
  absl::StatusOr<std::shared_ptr<const Held>> Values(absl::string_view centre, absl::string_view period) const;
  // How many months the hub holds for `centre`.
  absl::StatusOr<int> PeriodsHeld(absl::string_view centre) const;
  // Up to `limit` of the months held for `centre` after `after_period` ("" for
  // the first), oldest first, with their cells.
  absl::StatusOr<std::vector<kentra::anon::v1::PeriodCells>> HeldPeriods(absl::string_view centre,
                                                                        absl::string_view after_period,
                                                                        int limit) const;

  // The day from which every centre's `period` is released, closed or not, and
  // whether it has come.
  absl::CivilDay ReleaseDay(absl::CivilMonth period) const;
  bool PastReleaseDay(absl::CivilMonth period) const;
  // Whether `centre`'s `period` is released to the authorities: held closed, or
  // its release day has come (held or not: a centre with nothing of it adds 0).
  absl::StatusOr<bool> Released(absl::string_view centre, absl::CivilMonth period) const;

  // Records a finished sync of `centre`; returns when.
  absl::StatusOr<absl::Time> RecordSync(absl::string_view centre, absl::string_view sync_id, int periods_pushed);
  absl::StatusOr<std::optional<kentra::storage::v1::HubSyncRecord>> LastSync(absl::string_view centre) const;

  // Every cell held, as one string, for tests that compare what two hubs hold.
  std::string Fingerprint() const;

  // The RocksDB store underneath, for backups.
  const Store* store() const { return store_.get(); }

 private:
  IndicatorStore(std::unique_ptr<Store> store, const Clock* clock, int release_after_days)
      : store_(std::move(store)), clock_(clock), release_after_days_(release_after_days) {}
  std::unique_ptr<Store> store_;
  const Clock* clock_;
  int release_after_days_;
  LockTable locks_;
  mutable absl::Mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, std::shared_ptr<const Held>> cache_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_INDICATOR_STORE_H_
