// A whole kentra-hub in one object: its store, its services and the gRPC server,
// started from the hub config. main.cc runs one; tests start one in-process.
#ifndef KENTRA_HUB_HUB_SERVER_H_
#define KENTRA_HUB_HUB_SERVER_H_

#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/server.h"
#include "common/tls.h"
#include "hub/access.h"
#include "hub/admin_service.h"
#include "hub/centre_registry.h"
#include "hub/directory_service.h"
#include "common/backup_directory.h"
#include "common/backup_schedule.h"
#include "hub/indicator_store.h"
#include "hub/mailbox.h"
#include "hub/mailbox_service.h"
#include "hub/stats_service.h"
#include "hub/sync_service.h"

namespace kentra::hub {

struct HubOptions {
  HubSetup setup;
  // The hub's databases: DATA_DIR/indicators (IndicatorStore), DATA_DIR/mailbox
  // (Mailbox) and DATA_DIR/audit.
  std::string data_dir;
  std::string listen_address = "127.0.0.1:0";
  // The hub's certificates (as scripts/dev-pki lays out hub/): ca.crt, server.{crt,key}.
  std::string secrets_dir;
  // The federation directory as the operator signed it; empty to publish none.
  std::string directory_path;
  // Client certificate serials to refuse (from the federation config).
  std::set<std::string> revoked_serials;
  // The hub's clock (certificates are always judged by the real time).
  const Clock* clock = SystemClock::Get();
  // Where CreateBackup puts backups (no directory: none), and how many stay there.
  BackupDirectory::Options backups;
  // Takes a backup on its own whenever the newest is this old (zero: only on
  // request). Needs backups.dir.
  absl::Duration backup_every = absl::ZeroDuration();
  // Expire old mailbox messages every minute (tests call Mailbox::ExpireOld).
  bool expire_messages = true;
  // Interceptors of every call (tests).
  std::vector<std::shared_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
};

class HubServer {
 public:
  static absl::StatusOr<std::unique_ptr<HubServer>> Start(HubOptions options);
  ~HubServer();

  int port() const { return port_; }
  IndicatorStore* store() { return store_.get(); }
  Mailbox* mailbox() { return mailbox_.get(); }
  const CentreRegistry& registry() const { return *registry_; }
  StatsServiceImpl& stats() { return *stats_; }
  void Shutdown(absl::Duration grace);

 private:
  HubServer() = default;
  void ExpireLoop();
  std::unique_ptr<CentreRegistry> registry_;
  std::unique_ptr<IndicatorStore> store_;
  std::unique_ptr<PeerVerifier> verifier_;
  std::unique_ptr<HubAuditLog> audit_;
  std::unique_ptr<BackupDirectory> backups_;
  std::unique_ptr<BackupSchedule> backup_schedule_;  // null unless backup_every is set
  std::unique_ptr<HubAccess> access_;
  std::unique_ptr<SyncServiceImpl> sync_;
  std::unique_ptr<QueryBudget> budget_;
  std::unique_ptr<StatsServiceImpl> stats_;
  std::unique_ptr<AdminServiceImpl> admin_;
  std::unique_ptr<Mailbox> mailbox_;
  std::unique_ptr<MailboxServiceImpl> mailbox_service_;
  std::unique_ptr<DirectoryServiceImpl> directory_service_;
  absl::Mutex expiry_mu_;
  bool stopping_ ABSL_GUARDED_BY(expiry_mu_) = false;
  std::thread expiry_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_HUB_SERVER_H_
