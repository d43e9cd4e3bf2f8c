#include "node/indicators.h"

#include <map>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/anon/codebook.h"
#include "common/anon/ptable.h"
#include "common/anon/sketch.h"
#include "common/status.h"
#include "common/time_util.h"
#include "kentra/storage/v1/records.pb.h"

namespace kentra::node {
namespace {

using anon::PeriodName;

using kentra::storage::v1::IndicatorPersonMonth;
using kentra::storage::v1::IndicatorPersonYear;

// The key of a person's bookkeeping record for a month or a year.
std::string PersonKey(absl::string_view prefix, absl::string_view scope, absl::string_view pseudonym) {
  return absl::StrCat(prefix, scope, std::string(1, '\0'), pseudonym);
}

}  // namespace

absl::Status IndicatorCounters::ReadPersonRecord(const std::string& key, google::protobuf::MessageLite* record) const {
  KENTRA_ASSIGN_OR_RETURN(auto bytes, store_->Get(cf_, key));
  if (bytes && !record->ParseFromString(*bytes)) return absl::DataLossError("unreadable indicator bookkeeping");
  return absl::OkStatus();
}

bool IndicatorCounters::PastReleaseDay(absl::CivilMonth period) const {
  return TodayAt(clock_->Now()) >= anon::ReleaseDay(period, release_after_days_);
}

absl::StatusOr<bool> IndicatorCounters::IsClosed(absl::CivilMonth period) const {
  if (PastReleaseDay(period)) return true;
  KENTRA_ASSIGN_OR_RETURN(auto closed, store_->Get(cf_, absl::StrCat("closed/", PeriodName(period))));
  return closed.has_value();
}

absl::StatusOr<LockTable::Guard> IndicatorCounters::CountEvent(WriteBatch& batch,
                                                               const kentra::node::v1::Beneficiary& person,
                                                               const kentra::node::v1::ServiceEvent& e) {
  const std::string pseudonym = anon::Pseudonym(keys_, centre_id_, person);
  const int64_t record_key = anon::RecordKey(keys_, pseudonym);
  LockTable::Guard guard = person_locks_.Lock({pseudonym});

  const absl::CivilDay day = ToCivilDay(e.service_date());
  absl::CivilMonth month(day);
  KENTRA_ASSIGN_OR_RETURN(bool closed, IsClosed(month));
  if (closed) month = absl::CivilMonth(TodayAt(clock_->Now()));  // late corrections go to the open month
  const std::string p = PeriodName(month);
  const anon::Contribution cells = anon::CellsFor(person, e.service_type(), day);
  const std::string year = std::to_string(month.year());
  const std::string month_key = PersonKey("pm/", p, pseudonym);
  const std::string year_key = PersonKey("py/", year, pseudonym);
  IndicatorPersonMonth counted;
  IndicatorPersonYear first;
  KENTRA_RETURN_IF_ERROR(ReadPersonRecord(month_key, &counted));
  KENTRA_RETURN_IF_ERROR(ReadPersonRecord(year_key, &first));
  bool month_changed = false, year_changed = false;

  for (const std::string& cell : cells.monthly_persons) {
    if (absl::c_linear_search(counted.cells(), cell)) continue;
    counted.add_cells(cell);
    batch.AddToCounter(cf_, absl::StrCat("c/", p, "/", cell), 1, record_key);
    month_changed = true;
    // The first cell is T1, which every person served in the month is in: the
    // person joins the month's sketch exactly once.
    if (&cell == &cells.monthly_persons.front()) {
      batch.RaiseRegister(sketch_cf_, p, anon::SketchBitFor(keys_, pseudonym), 1);
    }
  }

  int32_t& so_far = (*counted.mutable_events())[cells.monthly_events];
  if (so_far < anon::kEventCapPerPerson) {
    ++so_far;
    batch.AddToCounter(cf_, absl::StrCat("c/", p, "/", cells.monthly_events), 1, record_key);
    month_changed = true;
  }

  // The earliest month whose year-to-date cells this event changes; every later
  // month of the year up to now changes with it.
  std::optional<absl::CivilMonth> ytd_from;
  for (const std::string& cell : cells.year_to_date) {
    auto was_named = first.first_months().find(cell);
    if (was_named != first.first_months().end()) {
      absl::CivilMonth was;
      if (!anon::ParsePeriod(was_named->second, &was)) return absl::DataLossError("unreadable indicator bookkeeping");
      if (was <= month) continue;
      // Counted first in a later month: move the person to this earlier one,
      // unless that later month is final.
      KENTRA_ASSIGN_OR_RETURN(bool was_closed, IsClosed(was));
      if (was_closed) continue;
      batch.AddToCounter(cf_, absl::StrCat("y/", was_named->second, "/", cell), -1, -record_key);
    }
    (*first.mutable_first_months())[cell] = p;
    batch.AddToCounter(cf_, absl::StrCat("y/", p, "/", cell), 1, record_key);
    year_changed = true;
    ytd_from = month;
  }
  if (month_changed) batch.Put(cf_, month_key, counted.SerializeAsString());
  if (year_changed) batch.Put(cf_, year_key, first.SerializeAsString());
  if (month_changed || year_changed) batch.Put(cf_, absl::StrCat("touched/", p), NewMarker());
  if (ytd_from) {
    const absl::CivilMonth now(TodayAt(clock_->Now()));
    for (absl::CivilMonth t = *ytd_from; t <= now && t.year() == ytd_from->year(); ++t) {
      batch.Put(cf_, absl::StrCat("touched/", PeriodName(t)), NewMarker());
    }
  }
  return guard;
}

void IndicatorCounters::CountReferral(WriteBatch& batch, absl::string_view referral_id,
                                      const std::vector<std::string>& cells) {
  // The current month is never closed: only months already over can be.
  const std::string p = PeriodName(absl::CivilMonth(TodayAt(clock_->Now())));
  for (const std::string& cell : cells) {
    const int64_t record_key = anon::ReferralStepKey(keys_, centre_id_, cell, referral_id);
    batch.AddToCounter(cf_, absl::StrCat("c/", p, "/", cell), 1, record_key);
  }
  batch.Put(cf_, absl::StrCat("touched/", p), NewMarker());
}

absl::StatusOr<kentra::anon::v1::PeriodCells> IndicatorCounters::Protected(absl::CivilMonth period) const {
  kentra::anon::v1::PeriodCells out;
  KENTRA_ASSIGN_OR_RETURN(auto frozen, store_->Get(cf_, absl::StrCat("frozen/", PeriodName(period))));
  if (frozen) {
    if (!out.ParseFromString(*frozen)) return absl::DataLossError("a closed month's cells cannot be read");
    return out;
  }
  out.set_centre(centre_id_);
  out.set_period(PeriodName(period));
  out.set_codebook(anon::kCodebookVersion);
  // Closed by date (a month closed by its coordinator has its frozen copy).
  out.set_closed(PastReleaseDay(period));
  if (out.closed()) {
    KENTRA_ASSIGN_OR_RETURN(*out.mutable_persons_sketch(), PrivateSketchOf(period));
  }
  auto read = [&](const std::string& key, Counter* sum) -> absl::Status {
    KENTRA_ASSIGN_OR_RETURN(auto bytes, store_->Get(cf_, key));
    Counter c;
    if (!bytes) return absl::OkStatus();
    if (!DecodeCounter(*bytes, &c)) return absl::DataLossError(absl::StrCat("unreadable counter ", key));
    sum->count += c.count;
    sum->key_sum += c.key_sum;
    return absl::OkStatus();
  };
  for (const anon::CellSpec& spec : anon::Codebook()) {
    Counter total;
    if (spec.kind == anon::CellKind::kYearToDate) {
      for (absl::CivilMonth m(period.year(), 1); m <= period; ++m) {
        KENTRA_RETURN_IF_ERROR(read(absl::StrCat("y/", PeriodName(m), "/", spec.id), &total));
      }
    } else {
      KENTRA_RETURN_IF_ERROR(read(absl::StrCat("c/", out.period(), "/", spec.id), &total));
    }
    auto* cell = out.add_cells();
    cell->set_id(spec.id);
    const uint64_t cell_key = static_cast<uint64_t>(total.key_sum % anon::kCellKeyModulus + anon::kCellKeyModulus);
    cell->set_value(anon::Protect(total.count, cell_key));
  }
  return out;
}

absl::Status IndicatorCounters::PutClose(WriteBatch& batch, absl::CivilMonth period) const {
  const absl::CivilMonth current(TodayAt(clock_->Now()));
  if (period >= current) {
    return absl::FailedPreconditionError(
        absl::StrCat("period: ", PeriodName(period), " is not over yet; only past months can be closed"));
  }
  if (PastReleaseDay(period)) {
    return absl::FailedPreconditionError(absl::StrCat("period: ", PeriodName(period), " closed on its own on ",
                                                      absl::FormatCivilTime(anon::ReleaseDay(period, release_after_days_)),
                                                      ", ", release_after_days_, " days after it ended"));
  }
  KENTRA_ASSIGN_OR_RETURN(bool closed, IsClosed(period));
  if (closed) return absl::FailedPreconditionError(absl::StrCat("period: ", PeriodName(period), " is already closed"));
  // The month's cells as they are now are its cells for good: later events dated
  // before it change the year-to-date sums of open months only.
  KENTRA_ASSIGN_OR_RETURN(kentra::anon::v1::PeriodCells frozen, Protected(period));
  frozen.set_closed(true);
  KENTRA_ASSIGN_OR_RETURN(*frozen.mutable_persons_sketch(), PrivateSketchOf(period));
  batch.Put(cf_, absl::StrCat("frozen/", PeriodName(period)), frozen.SerializeAsString());
  batch.Put(cf_, absl::StrCat("closed/", PeriodName(period)), FormatLocalMinute(clock_->Now()));
  batch.Put(cf_, absl::StrCat("touched/", PeriodName(period)), NewMarker());
  return absl::OkStatus();
}

absl::StatusOr<std::string> IndicatorCounters::PrivateSketchOf(absl::CivilMonth period) const {
  KENTRA_ASSIGN_OR_RETURN(auto bits, store_->Get(sketch_cf_, PeriodName(period)));
  return anon::PrivateSketch(bits ? *bits : "", sketch_noise_key_, PeriodName(period));
}

std::string IndicatorCounters::NewMarker() const {
  return absl::StrCat(absl::ToUnixMicros(absl::Now()), "-", markers_.fetch_add(1));
}

absl::StatusOr<std::vector<IndicatorCounters::Pending>> IndicatorCounters::PendingPeriods(
    const absl::flat_hash_map<std::string, HeldAtHub>* held) const {
  std::vector<Pending> out;
  auto it = store_->NewIterator(cf_);
  for (it->Seek("touched/"); it->Valid() && absl::StartsWith(it->key(), "touched/"); it->Next()) {
    Pending p;
    const std::string period(it->key().substr(8));
    if (!anon::ParsePeriod(period, &p.period)) return absl::DataLossError("unreadable indicator bookkeeping");
    p.marker = std::string(it->value());
    KENTRA_ASSIGN_OR_RETURN(auto synced, store_->Get(cf_, absl::StrCat("synced/", period)));
    bool due = !synced || *synced != p.marker;
    if (held != nullptr) {
      auto at_hub = held->find(period);
      if (at_hub == held->end()) {
        due = true;
      } else if (at_hub->second.closed) {
        due = false;  // final at the hub
      } else if (!at_hub->second.released) {
        // Pushed before, unchanged since: due if the hub does not hold that
        // push, or holds it open while it has closed here since.
        KENTRA_ASSIGN_OR_RETURN(auto pushed, store_->Get(cf_, absl::StrCat("pushed/", period)));
        KENTRA_ASSIGN_OR_RETURN(bool closed, IsClosed(p.period));
        due = due || !pushed || at_hub->second.batch_id != *pushed || closed;
      } else {
        // Released at the hub, not closed there: only its closing here, with
        // the values the hub holds, goes.
        KENTRA_ASSIGN_OR_RETURN(bool closed, IsClosed(p.period));
        due = false;
        if (closed) {
          KENTRA_ASSIGN_OR_RETURN(kentra::anon::v1::PeriodCells cells, Protected(p.period));
          cells.set_closed(false);
          cells.clear_persons_sketch();
          due = anon::CellsBatchId(cells) == at_hub->second.batch_id;
        }
      }
    }
    if (due) out.push_back(std::move(p));
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  return out;
}

absl::Status IndicatorCounters::MarkSynced(const Pending& pending, absl::string_view batch_id) {
  WriteBatch batch;
  batch.Put(cf_, absl::StrCat("synced/", PeriodName(pending.period)), pending.marker);
  batch.Put(cf_, absl::StrCat("pushed/", PeriodName(pending.period)), batch_id);
  return store_->Write(batch);
}

absl::Status MigrateIndicatorBookkeepingToVersion5(Store* store, int cf, MigrationWriter& out) {
  // The new records, by key, with the old keys they replace.
  struct Record {
    IndicatorPersonMonth month;
    IndicatorPersonYear year;
    std::vector<std::string> old_keys;
  };
  std::map<std::string, Record> records;
  for (absl::string_view prefix : {"m/", "e/", "f/"}) {
    auto it = store->NewPrefixIterator(cf, prefix);
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      // "m/P/<cell>\0p", "e/P/<cell>\0p" or "f/YYYY/<cell>\0p".
      const absl::string_view key = it->key();
      const size_t nul = key.find('\0');
      const size_t slash = key.find('/', prefix.size());
      if (nul == absl::string_view::npos || slash == absl::string_view::npos || slash > nul) {
        return absl::DataLossError("an unreadable indicator bookkeeping key stops the migration to schema version 5");
      }
      const absl::string_view scope = key.substr(prefix.size(), slash - prefix.size());
      const std::string cell(key.substr(slash + 1, nul - slash - 1));
      const absl::string_view pseudonym = key.substr(nul + 1);
      Record& r = records[PersonKey(prefix == "f/" ? "py/" : "pm/", scope, pseudonym)];
      r.old_keys.emplace_back(key);
      if (prefix == "m/") {
        r.month.add_cells(cell);
      } else if (prefix == "e/") {
        int32_t events = 0;
        if (!absl::SimpleAtoi(it->value(), &events)) {
          return absl::DataLossError("an unreadable event count stops the migration to schema version 5");
        }
        (*r.month.mutable_events())[cell] = events;
      } else {
        (*r.year.mutable_first_months())[cell] = std::string(it->value());
      }
    }
    KENTRA_RETURN_IF_ERROR(it->status());
  }
  // A record and the deletion of its old keys go in the same batch, so a run cut
  // short leaves each person's month or year either migrated or not at all.
  for (const auto& [key, r] : records) {
    const bool year = absl::StartsWith(key, "py/");
    out.batch().Put(cf, key, year ? r.year.SerializeAsString() : r.month.SerializeAsString());
    for (const std::string& old : r.old_keys) out.batch().Delete(cf, old);
    KENTRA_RETURN_IF_ERROR(out.MaybeWrite());
  }
  return absl::OkStatus();
}

absl::Status MigrateSketchesToVersion6(Store* store, int cf, int sketch_cf, const anon::AnonKeys& keys,
                                       absl::string_view noise_key, MigrationWriter& out) {
  // Every month's true sketch, from whom it counted: "pm/P\0p".
  std::map<std::string, std::string> bits;
  auto it = store->NewPrefixIterator(cf, "pm/");
  for (it->Seek("pm/"); it->Valid(); it->Next()) {
    const absl::string_view key = it->key();
    const size_t nul = key.find('\0');
    if (nul == absl::string_view::npos) {
      return absl::DataLossError("an unreadable person-month key stops the migration to schema version 6");
    }
    std::string& month = bits[std::string(key.substr(3, nul - 3))];
    if (month.empty()) month.assign(anon::kSketchBits, '\0');
    month[anon::SketchBitFor(keys, key.substr(nul + 1))] = 1;
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  // The old registers go; each month's bits are written whole.
  auto old = store->NewIterator(sketch_cf);
  for (old->Seek(""); old->Valid(); old->Next()) {
    if (!bits.count(std::string(old->key()))) out.batch().Delete(sketch_cf, old->key());
    KENTRA_RETURN_IF_ERROR(out.MaybeWrite());
  }
  KENTRA_RETURN_IF_ERROR(old->status());
  for (const auto& [month, b] : bits) {
    out.batch().Put(sketch_cf, month, b);
    KENTRA_RETURN_IF_ERROR(out.MaybeWrite());
  }
  // A closed month's frozen copy carried its plain sketch; now its private one.
  auto frozen = store->NewPrefixIterator(cf, "frozen/");
  for (frozen->Seek("frozen/"); frozen->Valid(); frozen->Next()) {
    kentra::anon::v1::PeriodCells cells;
    if (!cells.ParseFromArray(frozen->value().data(), static_cast<int>(frozen->value().size()))) {
      return absl::DataLossError("a closed month's cells cannot be read; the migration to schema version 6 stops");
    }
    auto month = bits.find(cells.period());
    cells.set_persons_sketch(anon::PrivateSketch(month == bits.end() ? "" : month->second, noise_key, cells.period()));
    out.batch().Put(cf, frozen->key(), cells.SerializeAsString());
    KENTRA_RETURN_IF_ERROR(out.MaybeWrite());
  }
  return frozen->status();
}

}  // namespace kentra::node
