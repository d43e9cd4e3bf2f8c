#include "hub/indicator_store.h"

#include <cstdio>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/anon/codebook.h"
#include "common/status.h"
#include "common/time_util.h"

namespace kentra::hub {
namespace {

enum Cf : int { kCells = 0, kSyncs };

std::string CellsKey(absl::string_view centre, absl::string_view period) {
  return absl::StrCat(centre, "/", period);
}

// Rewrites every held month that carries a plain persons sketch without it: a
// plain sketch is a record of who was served (synced writes, one per month).
absl::Status DeletePlainSketches(Store& store) {
  auto it = store.NewIterator(kCells);
  int rewritten = 0;
  for (it->Seek(""); it->Valid(); it->Next()) {
    kentra::anon::v1::PeriodCells cells;
    if (!cells.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("stored cells cannot be read at ", it->key()));
    }
    if (cells.persons_sketch().size() != kPlainSketchBytes) continue;
    cells.clear_persons_sketch();
    WriteBatch batch;
    batch.Put(kCells, it->key(), cells.SerializeAsString());
    KENTRA_RETURN_IF_ERROR(store.Write(batch));
    ++rewritten;
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  if (rewritten > 0) {
    std::fprintf(stderr, "kentra-hub: deleted the plain persons sketches of %d held months\n", rewritten);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<IndicatorStore>> IndicatorStore::Open(const std::string& dir, const Clock* clock,
                                                                     int release_after_days) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot create the data directory ", dir, ": ", ec.message()));
  KENTRA_ASSIGN_OR_RETURN(auto store, Store::Open(dir, {"cells", "syncs"}));
  KENTRA_RETURN_IF_ERROR(DeletePlainSketches(*store));
  return std::unique_ptr<IndicatorStore>(new IndicatorStore(std::move(store), clock, release_after_days));
}

absl::CivilDay IndicatorStore::ReleaseDay(absl::CivilMonth period) const {
  return anon::ReleaseDay(period, release_after_days_);
}

bool IndicatorStore::PastReleaseDay(absl::CivilMonth period) const {
  return TodayAt(clock_->Now()) >= ReleaseDay(period);
}

absl::StatusOr<bool> IndicatorStore::Released(absl::string_view centre, absl::CivilMonth period) const {
  if (PastReleaseDay(period)) return true;
  KENTRA_ASSIGN_OR_RETURN(auto held, Values(centre, anon::PeriodName(period)));
  return held != nullptr && held->closed;
}

absl::StatusOr<bool> IndicatorStore::ReplacePeriod(const kentra::anon::v1::PeriodCells& cells) {
  const std::string key = CellsKey(cells.centre(), cells.period());
  auto guard = locks_.Lock({key});
  KENTRA_ASSIGN_OR_RETURN(auto held, Get(cells.centre(), cells.period()));
  const std::string bytes = cells.SerializeAsString();
  if (held) {
    if (held->SerializeAsString() == bytes) return false;
    absl::CivilMonth month;
    const bool past_release = anon::ParsePeriod(cells.period(), &month) && PastReleaseDay(month);
    if (held->closed() || past_release) {
      // Released: only its centre's closing of it (the same values, with the
      // month's private sketch) may come.
      kentra::anon::v1::PeriodCells reopened = cells, held_cells = *held;
      reopened.set_closed(false);
      reopened.clear_persons_sketch();
      held_cells.clear_persons_sketch();
      const bool only_closes =
          !held->closed() && cells.closed() && held_cells.SerializeAsString() == reopened.SerializeAsString();
      if (!only_closes) {
        return absl::FailedPreconditionError(absl::StrCat(
            cells.centre(), " ", cells.period(), " is released to the authorities",
            held->closed() ? " (closed by its centre)" : absl::StrCat(" since ", absl::FormatCivilTime(ReleaseDay(month))),
            "; a released month never changes: late records count in the open month"));
      }
    }
  }
  WriteBatch batch;
  batch.Put(kCells, key, bytes);
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  // Set (not erased) after the write, so that a reader that fetched the old cells
  // before the write cannot leave them cached: its emplace below comes to nothing.
  auto held_now = std::make_shared<Held>();
  for (const auto& c : cells.cells()) held_now->values.push_back(c.value());
  held_now->sketch = cells.persons_sketch();
  held_now->closed = cells.closed();
  absl::MutexLock lock(&cache_mu_);
  cache_.insert_or_assign(key, std::move(held_now));
  return true;
}

absl::StatusOr<std::shared_ptr<const IndicatorStore::Held>> IndicatorStore::Values(absl::string_view centre,
                                                                                   absl::string_view period) const {
  const std::string key = CellsKey(centre, period);
  {
    absl::MutexLock lock(&cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
  }
  KENTRA_ASSIGN_OR_RETURN(auto cells, Get(centre, period));
  std::shared_ptr<const Held> values;
  if (cells) {
    auto v = std::make_shared<Held>();
    v->values.reserve(static_cast<size_t>(cells->cells_size()));
    for (const auto& c : cells->cells()) v->values.push_back(c.value());
    v->sketch = cells->persons_sketch();
    v->closed = cells->closed();
    values = std::move(v);
  }
  absl::MutexLock lock(&cache_mu_);
  cache_.emplace(key, values);  // an absent month is remembered as null until pushed
  return values;
}

absl::StatusOr<std::optional<kentra::anon::v1::PeriodCells>> IndicatorStore::Get(absl::string_view centre,
                                                                                  absl::string_view period) const {
  KENTRA_ASSIGN_OR_RETURN(auto bytes, store_->Get(kCells, CellsKey(centre, period)));
  if (!bytes) return std::optional<kentra::anon::v1::PeriodCells>();
  kentra::anon::v1::PeriodCells cells;
  if (!cells.ParseFromString(*bytes)) return absl::DataLossError("stored cells cannot be read");
  return std::optional<kentra::anon::v1::PeriodCells>(std::move(cells));
}

absl::StatusOr<int> IndicatorStore::PeriodsHeld(absl::string_view centre) const {
  const std::string prefix = absl::StrCat(centre, "/");
  auto it = store_->NewIterator(kCells);
  int n = 0;
  for (it->Seek(prefix); it->Valid() && absl::StartsWith(it->key(), prefix); it->Next()) ++n;
  KENTRA_RETURN_IF_ERROR(it->status());
  return n;
}

absl::StatusOr<std::vector<kentra::anon::v1::PeriodCells>> IndicatorStore::HeldPeriods(
    absl::string_view centre, absl::string_view after_period, int limit) const {
  const std::string prefix = absl::StrCat(centre, "/");
  auto it = store_->NewPrefixIterator(kCells, prefix);
  it->Seek(after_period.empty() ? prefix : absl::StrCat(CellsKey(centre, after_period), "\x01"));
  std::vector<kentra::anon::v1::PeriodCells> held;
  for (; it->Valid() && static_cast<int>(held.size()) < limit; it->Next()) {
    if (!held.emplace_back().ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("stored cells cannot be read at ", it->key()));
    }
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  return held;
}

absl::StatusOr<absl::Time> IndicatorStore::RecordSync(absl::string_view centre, absl::string_view sync_id,
                                                      int periods_pushed) {
  const absl::Time now = clock_->Now();
  kentra::storage::v1::HubSyncRecord record;
  record.set_finish_time_micros(absl::ToUnixMicros(now));
  record.set_sync_id(std::string(sync_id));
  record.set_periods_pushed(periods_pushed);
  WriteBatch batch;
  batch.Put(kSyncs, centre, record.SerializeAsString());
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  return now;
}

absl::StatusOr<std::optional<kentra::storage::v1::HubSyncRecord>> IndicatorStore::LastSync(
    absl::string_view centre) const {
  KENTRA_ASSIGN_OR_RETURN(auto bytes, store_->Get(kSyncs, centre));
  if (!bytes) return std::optional<kentra::storage::v1::HubSyncRecord>();
  kentra::storage::v1::HubSyncRecord record;
  if (!record.ParseFromString(*bytes)) return absl::DataLossError("a stored sync record cannot be read");
  return std::optional<kentra::storage::v1::HubSyncRecord>(std::move(record));
}

std::string IndicatorStore::Fingerprint() const {
  std::string all;
  auto it = store_->NewIterator(kCells);
  for (it->Seek(""); it->Valid(); it->Next()) absl::StrAppend(&all, it->key(), "=", it->value(), ";");
  return all;
}

}  // namespace kentra::hub
