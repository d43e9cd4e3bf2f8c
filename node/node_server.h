// A whole kentra-node in one object: its store, records and gRPC server, started
// from a centre config. main.cc runs one; tests start several in one process.
#ifndef KENTRA_NODE_NODE_SERVER_H_
#define KENTRA_NODE_NODE_SERVER_H_

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "common/backup_schedule.h"
#include "common/clock.h"
#include "common/server.h"
#include "common/storage.h"
#include "common/sealing.h"
#include "common/tls.h"
#include "kentra/config/v1/centre.pb.h"
#include "node/access.h"
#include "node/account_service.h"
#include "node/accounts.h"
#include "node/backups.h"
#include "node/hub_sync.h"
#include "node/records.h"
#include "node/referral_courier.h"
#include "node/referral_service.h"
#include "node/referrals.h"
#include "node/staff_service.h"

namespace kentra::node {

struct NodeOptions {
  kentra::config::v1::CentreConfig centre;
  std::string data_dir;
  std::string listen_address = "127.0.0.1:0";
  // The centre's directory of certificates, keys and secrets (as scripts/dev-pki
  // lays out centres/<id>/): ca.crt, server.{crt,key}, client.{crt,key}, node.key,
  // federation.secret. Required unless insecure.
  std::string secrets_dir;
  // Plaintext on loopback, for development; callers count as local staff.
  bool insecure = false;
  // Client certificate serials to refuse (from the federation config).
  std::set<std::string> revoked_serials;
  // The hub to sync with ("HOST:PORT"; empty: none). Needs the secrets dir's
  // client certificate.
  std::string hub_address;
  // The signed roster of node keys (kentractl roster sign) and the operator's
  // root public key it must be signed with; both or neither (then this node
  // cannot send or receive referrals).
  std::string roster_path;
  std::string roster_root_key_path;
  // Sync on the schedule of the centre's node settings (tests sync on demand).
  bool schedule_sync = true;
  // With a hub and a roster: keep a live watch on this centre's referral mailbox
  // (without it, referrals arrive at each sync).
  bool watch_referrals = true;
  // Where CreateBackup puts backups (empty: none), and how many stay there.
  std::string backup_dir;
  int backups_kept = 14;
  // Takes a backup on its own whenever the newest in backup_dir is this old
  // (zero: only on request). Needs backup_dir.
  absl::Duration backup_every = absl::ZeroDuration();
  // The clock of records (certificates are always judged by the real time).
  const Clock* clock = SystemClock::Get();
};

// The node's secrets, read from files that only their owner may read.
struct NodeSecrets {
  std::string federation_secret;  // shared by all nodes, never by the hub
  std::string node_key_seed;      // seeds the node's signing and sealing keys
};

class NodeServer {
 public:
  // Opens the store in options.data_dir and starts serving. Errors say what to fix.
  static absl::StatusOr<std::unique_ptr<NodeServer>> Start(const NodeOptions& options);
  // Shuts down (if not already) and closes the store.
  ~NodeServer();

  int port() const { return port_; }
  const std::string& centre_id() const { return centre_id_; }
  CentreRecords* records() { return records_.get(); }
  StaffAccounts* accounts() { return accounts_.get(); }
  // The sync with the hub; null without a hub.
  HubSync* hub_sync() { return hub_sync_.get(); }
  CentreReferrals* referrals() { return referrals_.get(); }
  // The verified roster, if the node was given one.
  std::optional<kentra::referral::v1::Roster> roster() const {
    return referrals_->keys() ? std::optional(referrals_->keys()->roster) : std::nullopt;
  }
  // The courier of referral messages; null without a hub and a roster.
  ReferralCourier* courier() { return courier_.get(); }
  // The node's store, for tests that inspect it.
  Store* store() { return store_.get(); }
  // Stops accepting calls, lets running ones finish for up to `grace`.
  void Shutdown(absl::Duration grace);

 private:
  NodeServer() = default;
  std::string centre_id_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<CentreRecords> records_;
  NodeSecrets secrets_;
  std::unique_ptr<PeerVerifier> verifier_;
  std::unique_ptr<StaffAccounts> accounts_;
  std::unique_ptr<CentreReferrals> referrals_;
  std::unique_ptr<HubSync> hub_sync_;
  std::unique_ptr<ReferralCourier> courier_;
  std::unique_ptr<NodeBackups> backups_;
  std::unique_ptr<BackupSchedule> backup_schedule_;  // null unless backup_every is set
  std::unique_ptr<AccessControl> access_;
  std::unique_ptr<StaffServiceImpl> service_;
  std::unique_ptr<ReferralServiceImpl> referral_service_;
  std::unique_ptr<AccountServiceImpl> account_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

// The local bootstrap of a node's first coordinator (kentra-node
// --bootstrap_coordinator): opens options.data_dir, which no running node may
// hold, and creates or re-keys coordinator `user_id`. See
// StaffAccounts::BootstrapCoordinator.
absl::StatusOr<v1::User> BootstrapCoordinator(const NodeOptions& options, absl::string_view user_id,
                                              absl::string_view password);

}  // namespace kentra::node

#endif  // KENTRA_NODE_NODE_SERVER_H_
