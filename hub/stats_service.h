// The hub's StatsService: tables for a regional authority, summed from the
// protected cells its region's centres pushed, over released months only. Nothing
// under the display threshold is shown, percentages only where both parts reach
// it, an authority never sees another region's centres, and each authority's
// queries are limited by its QueryBudget.
#ifndef KENTRA_HUB_STATS_SERVICE_H_
#define KENTRA_HUB_STATS_SERVICE_H_

#include "hub/access.h"
#include "hub/centre_registry.h"
#include "hub/indicator_store.h"
#include "hub/query_budget.h"
#include "kentra/hub/v1/stats_service.grpc.pb.h"

namespace kentra::hub {

class StatsServiceImpl final : public v1::StatsService::Service {
 public:
  // None is owned.
  StatsServiceImpl(const HubAccess* access, const IndicatorStore* store, const CentreRegistry* registry,
                   QueryBudget* budget, const Clock* clock)
      : access_(access), store_(store), registry_(registry), budget_(budget), clock_(clock) {}

  grpc::Status QueryIndicators(grpc::ServerContext* ctx, const v1::QueryIndicatorsRequest* req,
                               v1::IndicatorTable* resp) override;
  grpc::Status GetEsfReport(grpc::ServerContext* ctx, const v1::GetEsfReportRequest* req,
                            v1::EsfReport* resp) override;
  grpc::Status GetReferralReport(grpc::ServerContext* ctx, const v1::GetReferralReportRequest* req,
                                 v1::ReferralReport* resp) override;

  // The work of each call once the caller is known and within its budget
  // (tests call these directly).
  absl::StatusOr<v1::IndicatorTable> Query(const Principal& caller, const v1::QueryIndicatorsRequest& req) const;
  absl::StatusOr<v1::EsfReport> Esf(const Principal& caller, const v1::GetEsfReportRequest& req) const;
  absl::StatusOr<v1::ReferralReport> Referrals(const Principal& caller, const v1::GetReferralReportRequest& req) const;

 private:
  // The region the caller may see, checked against the one the request names.
  absl::StatusOr<std::string> RegionOf(const Principal& caller, absl::string_view requested) const;
  // What a table covers: the caller's region, the centres asked for (all of the
  // region's if none), the released months from start to end and the others.
  // FAILED_PRECONDITION if none is released.
  struct Scope {
    std::string region;
    std::vector<std::string> centres;
    std::vector<std::string> months;
    std::vector<v1::WithheldPeriod> withheld;
  };
  absl::StatusOr<Scope> ScopeOf(const Principal& caller, absl::string_view region,
                                const google::protobuf::RepeatedPtrField<std::string>& centres,
                                const std::string& start_period, const std::string& end_period) const;
  // Splits `months` into the released ones (for every centre of `centres`) and
  // the withheld ones.
  absl::Status SplitReleased(const std::vector<std::string>& centres, const std::vector<absl::CivilMonth>& months,
                             std::vector<std::string>* released, std::vector<v1::WithheldPeriod>* withheld) const;
  // INVALID_ARGUMENT naming `field` if `month` is after the current one.
  absl::Status NotAfterThisMonth(absl::CivilMonth month, absl::string_view field) const;
  // Admits an authority's call and spends one query of its budget.
  absl::StatusOr<Principal> AdmitQuery(grpc::ServerContext* ctx, absl::string_view method) const;
  // Adds, for each i, the protected value of codebook cell positions[i] of
  // `period` of every centre in `centres` to (*sums)[i], and appends what is
  // held of each to `held_months` (if not null).
  absl::Status AddCells(const std::vector<std::string>& centres, const std::string& period,
                        const std::vector<size_t>& positions, std::vector<int64_t>* sums,
                        std::vector<std::shared_ptr<const IndicatorStore::Held>>* held_months) const;

  const HubAccess* access_;
  const IndicatorStore* store_;
  const CentreRegistry* registry_;
  QueryBudget* budget_;
  const Clock* clock_;
};

// The audit detail of a query refused for being over the budget (not counted
// when the budget is rebuilt from the audit log).
inline constexpr char kOverBudgetDetail[] = "over the query budget";

// What every answer to an authority says of how to read it, with display
// threshold `k`: what protects and what does not.
std::string DisclosureNote(int k);

}  // namespace kentra::hub

#endif  // KENTRA_HUB_STATS_SERVICE_H_
