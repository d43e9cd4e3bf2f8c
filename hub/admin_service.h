// The hub's AdminService, for the federation operator: every centre's last sync,
// with the stale ones flagged, and its referral mail (how much waits, since when,
// whether its node watches); each authority's use of its query budget; the hub's
// audit log; backups of the hub's stores.
#ifndef KENTRA_HUB_ADMIN_SERVICE_H_
#define KENTRA_HUB_ADMIN_SERVICE_H_

#include "common/backup_directory.h"
#include "common/clock.h"
#include "hub/access.h"
#include "hub/centre_registry.h"
#include "hub/indicator_store.h"
#include "hub/mailbox.h"
#include "hub/query_budget.h"
#include "kentra/hub/v1/admin_service.grpc.pb.h"

namespace kentra::hub {

class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  // None is owned.
  AdminServiceImpl(const HubAccess* access, const IndicatorStore* store, const Mailbox* mailbox,
                   const CentreRegistry* registry, const HubAuditLog* audit, BackupDirectory* backups,
                   const QueryBudget* budget, const Clock* clock)
      : access_(access), store_(store), mailbox_(mailbox), registry_(registry), audit_(audit), backups_(backups),
        budget_(budget), clock_(clock) {}

  grpc::Status ListCentres(grpc::ServerContext* ctx, const v1::ListCentresRequest* req,
                           v1::ListCentresResponse* resp) override;
  grpc::Status ListHubAuditEntries(grpc::ServerContext* ctx, const v1::ListHubAuditEntriesRequest* req,
                                   v1::ListHubAuditEntriesResponse* resp) override;
  grpc::Status CreateBackup(grpc::ServerContext* ctx, const kentra::type::v1::CreateBackupRequest* req,
                            kentra::type::v1::Backup* resp) override;
  grpc::Status ListBackups(grpc::ServerContext* ctx, const kentra::type::v1::ListBackupsRequest* req,
                           kentra::type::v1::ListBackupsResponse* resp) override;
  grpc::Status ListAuthorityUsage(grpc::ServerContext* ctx, const v1::ListAuthorityUsageRequest* req,
                                  v1::ListAuthorityUsageResponse* resp) override;

 private:
  const HubAccess* access_;
  const IndicatorStore* store_;
  const Mailbox* mailbox_;
  const CentreRegistry* registry_;
  const HubAuditLog* audit_;
  BackupDirectory* backups_;
  const QueryBudget* budget_;
  const Clock* clock_;
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_ADMIN_SERVICE_H_
