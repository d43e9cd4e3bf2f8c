// The hub's StatsService: tables for a regional authority, summed from the
// protected cells its region's centres pushed. Nothing under the display
// threshold is shown, percentages only where both parts reach it, and an
// authority never sees another region's centres.
#ifndef KENTRA_HUB_STATS_SERVICE_H_
#define KENTRA_HUB_STATS_SERVICE_H_

#include "hub/access.h"
#include "hub/centre_registry.h"
#include "hub/indicator_store.h"
#include "kentra/hub/v1/stats_service.grpc.pb.h"

namespace kentra::hub {

class StatsServiceImpl final : public v1::StatsService::Service {
 public:
  // None is owned.
  StatsServiceImpl(const HubAccess* access, const IndicatorStore* store, const CentreRegistry* registry)
      : access_(access), store_(store), registry_(registry) {}

  grpc::Status QueryIndicators(grpc::ServerContext* ctx, const v1::QueryIndicatorsRequest* req,
                               v1::IndicatorTable* resp) override;
  grpc::Status GetEsfReport(grpc::ServerContext* ctx, const v1::GetEsfReportRequest* req,
                            v1::EsfReport* resp) override;
  grpc::Status GetReferralReport(grpc::ServerContext* ctx, const v1::GetReferralReportRequest* req,
                                 v1::ReferralReport* resp) override;

  // The work of each call once the caller is known (tests call these directly).
  absl::StatusOr<v1::IndicatorTable> Query(const Principal& caller, const v1::QueryIndicatorsRequest& req) const;
  absl::StatusOr<v1::EsfReport> Esf(const Principal& caller, const v1::GetEsfReportRequest& req) const;
  absl::StatusOr<v1::ReferralReport> Referrals(const Principal& caller, const v1::GetReferralReportRequest& req) const;

 private:
  // The region the caller may see, checked against the one the request names.
  absl::StatusOr<std::string> RegionOf(const Principal& caller, absl::string_view requested) const;
  // What a table covers: the caller's region, the centres asked for (all of the
  // region's if none) and the months from start to end.
  struct Scope {
    std::string region;
    std::vector<std::string> centres;
    std::vector<std::string> months;
  };
  absl::StatusOr<Scope> ScopeOf(const Principal& caller, absl::string_view region,
                                const google::protobuf::RepeatedPtrField<std::string>& centres,
                                const std::string& start_period, const std::string& end_period) const;
  // Adds, for each i, the protected value of codebook cell positions[i] of
  // `period` of every centre in `centres` to (*sums)[i], and merges their
  // persons sketches into `sketch` (if not null).
  absl::Status AddCells(const std::vector<std::string>& centres, const std::string& period,
                        const std::vector<size_t>& positions, std::vector<int64_t>* sums, std::string* sketch) const;

  const HubAccess* access_;
  const IndicatorStore* store_;
  const CentreRegistry* registry_;
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_STATS_SERVICE_H_
