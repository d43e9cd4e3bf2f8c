// The hub's SyncService: centres' nodes push their protected cells, a month at a
// time, and the hub replaces what it held for that centre and month. Each push is
// checked against the codebook and the caller's certificate before it is stored.
#ifndef KENTRA_HUB_SYNC_SERVICE_H_
#define KENTRA_HUB_SYNC_SERVICE_H_

#include "common/clock.h"
#include "hub/access.h"
#include "hub/centre_registry.h"
#include "hub/indicator_store.h"
#include "kentra/hub/v1/sync_service.grpc.pb.h"

namespace kentra::hub {

// INVALID_ARGUMENT naming the field unless `cells` is a full, protected cell set
// of the codebook for a month that is not in the future at `now`.
absl::Status ValidatePeriodCells(const kentra::anon::v1::PeriodCells& cells, absl::Time now);

class SyncServiceImpl final : public v1::SyncService::Service {
 public:
  // None is owned.
  SyncServiceImpl(const HubAccess* access, IndicatorStore* store, const CentreRegistry* registry, const Clock* clock)
      : access_(access), store_(store), registry_(registry), clock_(clock) {}

  grpc::Status PushPeriod(grpc::ServerContext* ctx, const v1::PushPeriodRequest* req,
                          v1::PushPeriodResponse* resp) override;
  grpc::Status FinishSync(grpc::ServerContext* ctx, const v1::FinishSyncRequest* req,
                          v1::FinishSyncResponse* resp) override;
  grpc::Status ListHeldPeriods(grpc::ServerContext* ctx, const v1::ListHeldPeriodsRequest* req,
                               v1::ListHeldPeriodsResponse* resp) override;

 private:
  const HubAccess* access_;
  IndicatorStore* store_;
  const CentreRegistry* registry_;
  const Clock* clock_;
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_SYNC_SERVICE_H_
