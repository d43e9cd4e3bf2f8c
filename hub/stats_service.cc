#include "hub/stats_service.h"

#include <algorithm>
#include <iterator>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/anon/codebook.h"
#include "common/anon/sketch.h"
#include "common/proto_util.h"
#include "common/status.h"
#include "common/text_fold.h"
#include "common/time_util.h"

namespace kentra::hub {
namespace {

constexpr int kMaxMonths = 36;

// What may be published of `sum`: itself, or only that it is below `k`.
v1::Value Published(int64_t sum, int k) {
  v1::Value v;
  if (sum < k) {
    v.set_below_threshold(true);
  } else {
    v.set_count(sum);
  }
  return v;
}

// Adds each value's share of its column total where both reach the threshold.
void AddPercent(v1::Value* v, int64_t value, int64_t column_total, int k) {
  if (value >= k && column_total >= k) v->set_percent(100.0 * static_cast<double>(value) / static_cast<double>(column_total));
}

absl::StatusOr<std::string> Prefix(v1::Breakdown b) {
  switch (b) {
    case v1::BREAKDOWN_GENDER_AGE: return std::string("T1.");
    case v1::BREAKDOWN_TARGET_GROUP: return std::string("T2.");
    case v1::BREAKDOWN_SERVICE_PERSONS: return std::string("T3.");
    case v1::BREAKDOWN_SERVICE_EVENTS: return std::string("T4.");
    default: return absl::InvalidArgumentError("breakdown: choose one of the BREAKDOWN_ values");
  }
}

// FAILED_PRECONDITION for a range of which no month is released: when each will be.
absl::Status NoneReleased(absl::string_view start, absl::string_view end,
                          const std::vector<v1::WithheldPeriod>& withheld) {
  std::vector<std::string> when;
  for (const auto& w : withheld) {
    when.push_back(absl::StrCat(w.period(), " on ", FormatDate(w.release_date()), " (sooner if it is closed at: ",
                                absl::StrJoin(w.open_centres(), ", "), ")"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("no month of ", start, "..", end, " is released yet: ", absl::StrJoin(when, "; "),
                   ". Authorities see a month once it is final, so that two answers never differ by one person"));
}

}  // namespace

std::string DisclosureNote(int k) {
  return absl::StrCat(
      "How to read these figures. Every count is a sum of the centres' protected counts: before a count leaves "
      "a centre it gets stable noise of at most 3 (cell key method; never 1 or 2, and a true 0 stays 0), so "
      "small differences mean nothing, and a shown 0 may stand for a true count of 1 to 3 (see "
      "docs/disclosure-table.md). Totals are sums of the same protected counts, not of true ones. \"<",
      k, "\" is a sum under ", k,
      ": it is not shown as a reading aid, but what protects people is the noise, not the threshold (a hidden "
      "value can be worked out from the totals beside it, and is still only a protected value). Percentages are "
      "given only where both parts reach ", k, ". Distinct persons across months and centres are estimates, "
      "shown from ", anon::kMinReleasedEstimate, " up, rounded to ", anon::kEstimateRounding,
      ". A month appears once it is released (closed by every centre, or on its release day) and never changes "
      "after; months not yet released are listed as withheld.");
}

absl::StatusOr<std::string> StatsServiceImpl::RegionOf(const Principal& caller, absl::string_view requested) const {
  if (!requested.empty() && requested != caller.id) {
    return absl::PermissionDeniedError(
        absl::StrCat(caller.ToString(), " may see only its own region, not '", Utf8Prefix(requested, 64), "'"));
  }
  return caller.id;
}

absl::Status StatsServiceImpl::AddCells(const std::vector<std::string>& centres, const std::string& period,
                                        const std::vector<size_t>& positions, std::vector<int64_t>* sums,
                                        std::vector<std::shared_ptr<const IndicatorStore::Held>>* held_months) const {
  for (const std::string& centre : centres) {
    KENTRA_ASSIGN_OR_RETURN(auto held, store_->Values(centre, period));
    if (held == nullptr) continue;  // not synced for that month: nothing to add
    for (size_t i = 0; i < positions.size(); ++i) {
      // Stored cells were checked against the codebook: position i is cell i.
      if (positions[i] < held->values.size()) (*sums)[i] += held->values[positions[i]];
    }
    if (held_months != nullptr) held_months->push_back(std::move(held));
  }
  return absl::OkStatus();
}

absl::StatusOr<StatsServiceImpl::Scope> StatsServiceImpl::ScopeOf(
    const Principal& caller, absl::string_view region, const google::protobuf::RepeatedPtrField<std::string>& centres,
    const std::string& start_period, const std::string& end_period) const {
  Scope scope;
  KENTRA_ASSIGN_OR_RETURN(scope.region, RegionOf(caller, region));
  // A centre named twice would be added twice: its protected cells multiplied.
  KENTRA_RETURN_IF_ERROR(RefuseRepeats(centres, "centres"));
  if (centres.empty()) {
    for (const auto* c : registry_->CentresOf(scope.region)) scope.centres.push_back(c->id());
  }
  for (const std::string& id : centres) {
    const auto* c = registry_->Centre(id);
    if (c == nullptr || c->region() != scope.region) {
      return absl::PermissionDeniedError(
          absl::StrCat("centres: '", Utf8Prefix(id, 64), "' is not a centre of ", scope.region));
    }
    scope.centres.push_back(id);
  }
  absl::CivilMonth start, end;
  if (!anon::ParsePeriod(start_period, &start)) return absl::InvalidArgumentError("start_period: must be YYYY-MM");
  if (!anon::ParsePeriod(end_period, &end)) return absl::InvalidArgumentError("end_period: must be YYYY-MM");
  if (end < start) return absl::InvalidArgumentError("end_period: is before start_period");
  if (end - start >= kMaxMonths) {
    return absl::InvalidArgumentError(absl::StrCat("end_period: a table covers at most ", kMaxMonths, " months"));
  }
  KENTRA_RETURN_IF_ERROR(NotAfterThisMonth(end, "end_period"));
  std::vector<absl::CivilMonth> months;
  for (absl::CivilMonth m = start; m <= end; ++m) months.push_back(m);
  KENTRA_RETURN_IF_ERROR(SplitReleased(scope.centres, months, &scope.months, &scope.withheld));
  if (scope.months.empty()) return NoneReleased(start_period, end_period, scope.withheld);
  return scope;
}

absl::Status StatsServiceImpl::NotAfterThisMonth(absl::CivilMonth month, absl::string_view field) const {
  const absl::CivilMonth current(TodayAt(clock_->Now()));
  if (month > current) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", anon::PeriodName(month),
                                                   " has not begun; the latest month is ", anon::PeriodName(current)));
  }
  return absl::OkStatus();
}

absl::Status StatsServiceImpl::SplitReleased(const std::vector<std::string>& centres,
                                             const std::vector<absl::CivilMonth>& months,
                                             std::vector<std::string>* released,
                                             std::vector<v1::WithheldPeriod>* withheld) const {
  for (absl::CivilMonth m : months) {
    v1::WithheldPeriod w;
    for (const std::string& centre : centres) {
      KENTRA_ASSIGN_OR_RETURN(bool done, store_->Released(centre, m));
      if (!done) w.add_open_centres(centre);
    }
    if (w.open_centres().empty()) {
      released->push_back(anon::PeriodName(m));
    } else {
      w.set_period(anon::PeriodName(m));
      *w.mutable_release_date() = ToDate(store_->ReleaseDay(m));
      withheld->push_back(std::move(w));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::IndicatorTable> StatsServiceImpl::Query(const Principal& caller,
                                                           const v1::QueryIndicatorsRequest& req) const {
  KENTRA_ASSIGN_OR_RETURN(Scope scope,
                          ScopeOf(caller, req.region(), req.centres(), req.start_period(), req.end_period()));
  KENTRA_ASSIGN_OR_RETURN(std::string prefix, Prefix(req.breakdown()));
  const int k = registry_->hub().display_threshold();
  const std::vector<std::string>& centres = scope.centres;
  const std::vector<std::string>& months = scope.months;

  v1::IndicatorTable table;
  table.set_region(scope.region);
  for (const auto& c : centres) table.add_centres(c);
  table.set_threshold(k);
  for (const auto& m : months) table.add_columns(m);
  for (const auto& w : scope.withheld) *table.add_withheld_periods() = w;
  // sums[row][column], from protected cells only.
  std::vector<std::string> rows;
  std::vector<size_t> positions;
  for (size_t i = 0; i < anon::Codebook().size(); ++i) {
    if (!absl::StartsWith(anon::Codebook()[i].id, prefix)) continue;
    rows.push_back(anon::Codebook()[i].id);
    positions.push_back(i);
  }
  std::vector<std::vector<int64_t>> sums(rows.size(), std::vector<int64_t>(months.size(), 0));
  std::vector<int64_t> column_totals(months.size(), 0);
  int64_t grand_total = 0;
  std::vector<std::shared_ptr<const IndicatorStore::Held>> held_months;  // for distinct persons
  for (size_t m = 0; m < months.size(); ++m) {
    std::vector<int64_t> column(rows.size(), 0);
    KENTRA_RETURN_IF_ERROR(AddCells(centres, months[m], positions, &column, &held_months));
    for (size_t r = 0; r < rows.size(); ++r) {
      sums[r][m] = column[r];
      column_totals[m] += column[r];
      grand_total += column[r];
    }
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    v1::Row* row = table.add_rows();
    row->set_label(absl::StrReplaceAll(rows[r].substr(prefix.size()), {{".", " "}}));
    int64_t row_total = 0;
    for (size_t m = 0; m < months.size(); ++m) {
      v1::Value* v = row->add_values();
      *v = Published(sums[r][m], k);
      AddPercent(v, sums[r][m], column_totals[m], k);
      row_total += sums[r][m];
    }
    *row->mutable_total() = Published(row_total, k);
    AddPercent(row->mutable_total(), row_total, grand_total, k);
  }
  v1::Row* totals = table.mutable_totals();
  totals->set_label("total");
  for (int64_t t : column_totals) *totals->add_values() = Published(t, k);
  *totals->mutable_total() = Published(grand_total, k);
  // Everyone served by the chosen centres over the range, from the months'
  // private sketches, merged with coins of the scope's own (the same question
  // always gets the same answer); none if a month with anyone in it came
  // without one (its node is older than the private sketches).
  anon::SketchMerger merger(absl::StrCat(absl::StrJoin(centres, ","), "/", absl::StrJoin(months, ",")));
  bool sketch_missing = false;
  for (const auto& held : held_months) {
    if (!held->sketch.empty()) {
      merger.Add(held->sketch);
    } else if (std::any_of(held->values.begin(), held->values.end(), [](int64_t v) { return v != 0; })) {
      sketch_missing = true;
    }
  }
  const anon::DistinctEstimate estimate = anon::EstimateDistinct(merger.merged());
  const int64_t distinct = sketch_missing ? -1 : anon::ReleasedEstimate(estimate);
  if (distinct < 0) {
    table.mutable_distinct_persons()->set_below_threshold(true);
  } else {
    table.mutable_distinct_persons()->set_count(distinct);
    table.set_distinct_persons_relative_error(estimate.relative_error);
  }
  table.set_note(absl::StrCat(req.breakdown() == v1::BREAKDOWN_SERVICE_EVENTS
                                   ? "Counts are service events. "
                                   : "Counts are persons per month; totals over months are person-months. ",
                               DisclosureNote(k)));
  return table;
}

absl::StatusOr<v1::EsfReport> StatsServiceImpl::Esf(const Principal& caller, const v1::GetEsfReportRequest& req) const {
  KENTRA_ASSIGN_OR_RETURN(std::string region, RegionOf(caller, req.region()));
  if (req.mis_code().empty() || req.mis_code().size() > 32) return absl::InvalidArgumentError("mis_code: is required");
  absl::CivilMonth end;
  if (!anon::ParsePeriod(req.period(), &end)) return absl::InvalidArgumentError("period: must be YYYY-MM");
  v1::EsfReport report;
  std::vector<std::string> centres;
  for (const auto* c : registry_->CentresOf(region)) {
    if (c->operation().mis_code() != req.mis_code()) continue;
    centres.push_back(c->id());
    report.add_centres(c->id());
    report.set_title(c->operation().title_el());
  }
  if (centres.empty()) {
    return absl::NotFoundError(absl::StrCat("mis_code: no centre of ", region, " runs operation ", req.mis_code()));
  }
  KENTRA_RETURN_IF_ERROR(NotAfterThisMonth(end, "period"));
  // The latest released month from January to `end`: its cells count from January.
  std::vector<absl::CivilMonth> asked;
  for (absl::CivilMonth m(end.year(), 1); m <= end; ++m) asked.push_back(m);
  std::vector<std::string> released;
  std::vector<v1::WithheldPeriod> withheld;
  KENTRA_RETURN_IF_ERROR(SplitReleased(centres, asked, &released, &withheld));
  if (released.empty()) return NoneReleased(anon::PeriodName(asked.front()), req.period(), withheld);
  for (const auto& w : withheld) {
    if (w.period() > released.back()) *report.add_withheld_periods() = w;
  }
  const int k = registry_->hub().display_threshold();
  report.set_mis_code(req.mis_code());
  report.set_start_period(anon::PeriodName(absl::CivilMonth(end.year(), 1)));
  report.set_end_period(released.back());
  report.set_threshold(k);
  report.set_note(absl::StrCat("Distinct participants from January to ", released.back(), ", by gender. ",
                               DisclosureNote(k)));
  for (const auto& indicator : anon::EsfIndicators()) {
    v1::EsfRow* row = report.add_rows();
    row->set_code(indicator.code);
    row->set_title(indicator.title);
    std::vector<size_t> positions;
    for (const char* gender : {"female", "male", "non-binary"}) {
      const std::string id = absl::StrCat("E.", indicator.code, ".", gender);
      for (size_t i = 0; i < anon::Codebook().size(); ++i) {
        if (anon::Codebook()[i].id == id) positions.push_back(i);
      }
    }
    std::vector<int64_t> sums(positions.size(), 0);
    KENTRA_RETURN_IF_ERROR(AddCells(centres, report.end_period(), positions, &sums, nullptr));
    *row->mutable_female() = Published(sums[0], k);
    *row->mutable_male() = Published(sums[1], k);
    *row->mutable_non_binary() = Published(sums[2], k);
    *row->mutable_total() = Published(sums[0] + sums[1] + sums[2], k);
  }
  return report;
}

absl::StatusOr<v1::ReferralReport> StatsServiceImpl::Referrals(const Principal& caller,
                                                               const v1::GetReferralReportRequest& req) const {
  KENTRA_ASSIGN_OR_RETURN(Scope scope,
                          ScopeOf(caller, req.region(), req.centres(), req.start_period(), req.end_period()));
  const int k = registry_->hub().display_threshold();
  v1::ReferralReport report;
  report.set_region(scope.region);
  for (const auto& c : scope.centres) report.add_centres(c);
  report.set_start_period(scope.months.front());
  report.set_end_period(scope.months.back());
  report.set_threshold(k);
  for (const auto& w : scope.withheld) *report.add_withheld_periods() = w;

  // Per service (codebook order of R1.sent.*), the positions of its five stage
  // cells and of its day bands, summed over the months.
  constexpr anon::ReferralStage kStages[] = {anon::ReferralStage::kSent, anon::ReferralStage::kReceived,
                                             anon::ReferralStage::kAccepted, anon::ReferralStage::kRejected,
                                             anon::ReferralStage::kCompleted};
  const size_t stages = std::size(kStages), bands = anon::AcceptanceBands().size();
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < anon::Codebook().size(); ++i) position[anon::Codebook()[i].id] = i;
  std::vector<std::string> services;
  std::vector<size_t> positions;
  for (int s = 1; s < kentra::type::v1::ServiceType_descriptor()->value_count(); ++s) {
    const auto service = static_cast<kentra::type::v1::ServiceType>(
        kentra::type::v1::ServiceType_descriptor()->value(s)->number());
    const std::string sent = anon::ReferralCell(anon::ReferralStage::kSent, service);
    services.push_back(sent.substr(std::string("R1.sent.").size()));
    for (auto stage : kStages) positions.push_back(position.at(anon::ReferralCell(stage, service)));
    for (const auto& band : anon::AcceptanceBands()) {
      positions.push_back(position.at(absl::StrCat("R2.", services.back(), ".", band.label)));
    }
  }
  std::vector<int64_t> sums(positions.size(), 0);
  for (const auto& month : scope.months) KENTRA_RETURN_IF_ERROR(AddCells(scope.centres, month, positions, &sums, nullptr));

  // The band holding the median of `counts`, shown only if the acceptances of
  // the scope asked for (`accepted`, the protected count) and the banded ones
  // both reach k.
  auto median = [&](const std::vector<int64_t>& counts, int64_t accepted) -> std::string {
    int64_t total = 0;
    for (int64_t c : counts) total += c;
    if (total < k || accepted < k) return "";
    int64_t seen = 0;
    for (size_t b = 0; b < counts.size(); ++b) {
      seen += counts[b];
      if (2 * seen >= total) return anon::AcceptanceBands()[b].label;
    }
    return "";
  };
  auto fill = [&](v1::ReferralRow* row, const std::vector<int64_t>& stage_sums, const std::vector<int64_t>& band_sums) {
    v1::Value* values[] = {row->mutable_sent(), row->mutable_received(), row->mutable_accepted(),
                           row->mutable_rejected(), row->mutable_completed()};
    for (size_t i = 0; i < stages; ++i) *values[i] = Published(stage_sums[i], k);
    row->set_median_days_to_acceptance(median(band_sums, stage_sums[2]));  // [2]: accepted
  };
  std::vector<int64_t> all_stages(stages, 0), all_bands(bands, 0);
  for (size_t s = 0; s < services.size(); ++s) {
    const auto* at = sums.data() + s * (stages + bands);
    const std::vector<int64_t> stage_sums(at, at + stages), band_sums(at + stages, at + stages + bands);
    for (size_t i = 0; i < stages; ++i) all_stages[i] += stage_sums[i];
    for (size_t b = 0; b < bands; ++b) all_bands[b] += band_sums[b];
    v1::ReferralRow* row = report.add_rows();
    row->set_service(services[s]);
    fill(row, stage_sums, band_sums);
  }
  report.mutable_totals()->set_service("total");
  fill(report.mutable_totals(), all_stages, all_bands);
  report.set_note(absl::StrCat(
      "Sent counts the referring centres, the other columns the receiving ones: with only some centres chosen, "
      "the columns cover different referrals. The median is the band of whole days from sending to acceptance that "
      "holds it, shown only where the acceptances reach ", k, ". ", DisclosureNote(k)));
  return report;
}

absl::StatusOr<Principal> StatsServiceImpl::AdmitQuery(grpc::ServerContext* ctx, absl::string_view method) const {
  KENTRA_ASSIGN_OR_RETURN(Principal caller, access_->Admit(ctx, "StatsService", method));
  if (absl::Status spent = budget_->Spend(caller.id); !spent.ok()) {
    access_->Audit(ctx, caller, "StatsService", method, kOverBudgetDetail, spent);
    return spent;
  }
  return caller;
}

grpc::Status StatsServiceImpl::QueryIndicators(grpc::ServerContext* ctx, const v1::QueryIndicatorsRequest* req,
                                               v1::IndicatorTable* resp) {
  auto caller = AdmitQuery(ctx, "QueryIndicators");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto table = Query(*caller, *req);
  access_->Audit(ctx, *caller, "StatsService", "QueryIndicators",
                 absl::StrCat(req->region(), " [", absl::StrJoin(req->centres(), ","), "] ", req->start_period(), "..",
                              req->end_period(), " ", v1::Breakdown_Name(req->breakdown())),
                 table.status());
  if (!table.ok()) return ToGrpcStatus(table.status());
  *resp = *std::move(table);
  return grpc::Status::OK;
}

grpc::Status StatsServiceImpl::GetReferralReport(grpc::ServerContext* ctx, const v1::GetReferralReportRequest* req,
                                                 v1::ReferralReport* resp) {
  auto caller = AdmitQuery(ctx, "GetReferralReport");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto report = Referrals(*caller, *req);
  access_->Audit(ctx, *caller, "StatsService", "GetReferralReport",
                 absl::StrCat(req->region(), " [", absl::StrJoin(req->centres(), ","), "] ", req->start_period(), "..",
                              req->end_period()),
                 report.status());
  if (!report.ok()) return ToGrpcStatus(report.status());
  *resp = *std::move(report);
  return grpc::Status::OK;
}

grpc::Status StatsServiceImpl::GetEsfReport(grpc::ServerContext* ctx, const v1::GetEsfReportRequest* req,
                                            v1::EsfReport* resp) {
  auto caller = AdmitQuery(ctx, "GetEsfReport");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto report = Esf(*caller, *req);
  // The months the report covered, as the other queries' entries give them.
  const std::string months =
      report.ok() ? absl::StrCat(report->start_period(), "..", report->end_period()) : req->period();
  access_->Audit(ctx, *caller, "StatsService", "GetEsfReport", absl::StrCat("MIS ", req->mis_code(), " ", months),
                 report.status());
  if (!report.ok()) return ToGrpcStatus(report.status());
  *resp = *std::move(report);
  return grpc::Status::OK;
}

}  // namespace kentra::hub
