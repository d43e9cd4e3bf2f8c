#include "node/node_server.h"

#include <cstdio>

#include <filesystem>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/private_dir.h"
#include "common/status.h"
#include "node/schema.h"

namespace kentra::node {

namespace {

// The channel to the hub: after an outage, reconnect within 30 s at most.
std::shared_ptr<grpc::Channel> HubChannel(const std::string& address, const TlsIdentity& client) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 30000);
  return grpc::CreateCustomChannel(address, MakeClientCredentials(client), args);
}

}  // namespace

absl::StatusOr<std::unique_ptr<NodeServer>> NodeServer::Start(const NodeOptions& options) {
  const auto settings = EffectiveNodeSettings(options.centre);
  auto node = std::unique_ptr<NodeServer>(new NodeServer());
  node->centre_id_ = options.centre.id();
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::optional<ReferralKeys> referral_keys;  // with a roster: this node's keys and the roster
  if (!options.insecure) {
    if (options.secrets_dir.empty()) {
      return absl::FailedPreconditionError("--secrets_dir is required (or --insecure on loopback)");
    }
    KENTRA_ASSIGN_OR_RETURN(TlsIdentity tls, LoadTlsIdentity(options.secrets_dir, "server"));
    KENTRA_ASSIGN_OR_RETURN(node->secrets_.federation_secret,
                            ReadHexSecretFile(options.secrets_dir + "/federation.secret"));
    KENTRA_ASSIGN_OR_RETURN(node->secrets_.node_key_seed, ReadHexSecretFile(options.secrets_dir + "/node.key"));
    if (!options.roster_path.empty() || !options.roster_root_key_path.empty()) {
      if (options.roster_path.empty() || options.roster_root_key_path.empty()) {
        return absl::FailedPreconditionError("--roster and --roster_root_key go together");
      }
      KENTRA_ASSIGN_OR_RETURN(std::string root_public, LoadRootPublicKey(options.roster_root_key_path));
      KENTRA_ASSIGN_OR_RETURN(auto roster, LoadRoster(options.roster_path, root_public));
      KENTRA_ASSIGN_OR_RETURN(NodeKeys keys, NodeKeys::FromSeed(node->secrets_.node_key_seed));
      const auto mine = keys.Entry(options.centre.id()).SerializeAsString();
      if (!absl::c_any_of(roster.entries(), [&](const auto& e) { return e.SerializeAsString() == mine; })) {
        return absl::FailedPreconditionError(absl::StrCat(
            "this node's keys are not on the roster ", options.roster_path,
            " (kentra-node --print_roster_entry shows them; the operator signs a new roster)"));
      }
      referral_keys = ReferralKeys{std::move(keys), std::move(roster), std::move(root_public)};
    }
    KENTRA_ASSIGN_OR_RETURN(node->verifier_,
                            PeerVerifier::Create(tls.ca_pem, options.revoked_serials, SystemClock::Get()));
    credentials = MakeServerCredentials(tls);
  }
  const BackupDirectory::Options backup_options{options.backup_dir, options.backups_kept};
  KENTRA_RETURN_IF_ERROR(BackupDirectory::CheckOptions(options.data_dir, backup_options));
  KENTRA_RETURN_IF_ERROR(BackupSchedule::CheckEvery(options.backup_every, !options.backup_dir.empty()));
  KENTRA_RETURN_IF_ERROR(EnsurePrivateDirectory(options.data_dir, "the data directory"));
  KENTRA_ASSIGN_OR_RETURN(node->store_, Store::Open(options.data_dir, ColumnFamilyNames(), NodeStoreOptions()));
  std::fprintf(stderr, "kentra-node: checked the checksums of the store in %s in %s\n", options.data_dir.c_str(),
               absl::FormatDuration(node->store_->verify_time()).c_str());
  if (!node->store_->damage().ok()) {
    std::fprintf(stderr,
                 "kentra-node: THE STORE IS DAMAGED: %s\n"
                 "kentra-node: it serves reads and refuses every write. Restore the newest backup: stop kentra-node, "
                 "move %s aside, copy the newest directory of the backup directory (kentractl backup list; "
                 "--backup_dir) to %s, check it with kentra-node --check, and start kentra-node. Referral mail "
                 "stored after the backup comes again from the hub.\n",
                 std::string(node->store_->damage().message()).c_str(), options.data_dir.c_str(),
                 options.data_dir.c_str());
  }
  KENTRA_ASSIGN_OR_RETURN(node->records_,
                          CentreRecords::Open(node->store_.get(), options.clock, settings.max_page_size(),
                                              settings.release_after_days(), node->centre_id_,
                                              options.insecure ? std::nullopt
                                                               : std::optional<std::string>(node->secrets_.federation_secret),
                                              AuditJournalPath(options.data_dir)));
  KENTRA_ASSIGN_OR_RETURN(node->accounts_,
                          StaffAccounts::Open(node->store_.get(), node->records_.get(), options.clock,
                                              node->centre_id_, StaffAccounts::LimitsFrom(settings)));
  CentreReferrals::Options referral_options;
  referral_options.accept_working_days = settings.referral_accept_working_days();
  referral_options.max_page_size = settings.max_page_size();
  KENTRA_ASSIGN_OR_RETURN(node->referrals_,
                          CentreReferrals::Open(node->store_.get(), node->records_.get(), options.clock,
                                                node->centre_id_, std::move(referral_keys), referral_options));
  if (!options.hub_address.empty()) {
    if (options.insecure) return absl::FailedPreconditionError("--hub needs the centre's client certificate, not --insecure");
    KENTRA_ASSIGN_OR_RETURN(TlsIdentity client, LoadTlsIdentity(options.secrets_dir, "client"));
    auto channel = HubChannel(options.hub_address, client);
    node->hub_sync_ = std::make_unique<HubSync>(node->store_.get(), kIndicators, &node->records_->indicators(),
                                                channel, options.clock);
    if (node->referrals_->can_refer()) {
      node->courier_ = std::make_unique<ReferralCourier>(node->referrals_.get(), channel);
      ReferralCourier* courier = node->courier_.get();
      node->hub_sync_->SetReferralExchange([courier](v1::SyncRun* run) -> absl::Status {
        KENTRA_ASSIGN_OR_RETURN(ReferralCourier::Round round, courier->Exchange());
        run->set_referral_messages_posted(round.posted);
        run->set_referral_messages_reposted(round.reposted);
        run->set_referral_messages_received(round.received);
        run->set_directory_version(round.directory_version);
        return absl::OkStatus();
      });
      node->courier_->Start(options.watch_referrals);
    }
    if (options.schedule_sync) {
      node->hub_sync_->StartSchedule(settings.sync_minute_of_day(), absl::Minutes(settings.sync_jitter_minutes()));
    }
  } else if (node->referrals_->can_refer()) {
    // Nothing posts the outbox: every referral waiting in it says so.
    node->referrals_->SetHubProblem(
        "this node runs without a hub (no --hub): its referral messages wait here until it is started with one");
  }
  node->access_ = std::make_unique<AccessControl>(node->centre_id_, node->verifier_.get(), node->accounts_.get(),
                                                  node->records_.get());
  node->backups_ = std::make_unique<NodeBackups>(node->store_.get(), node->records_.get(), options.clock,
                                                 node->centre_id_, backup_options);
  if (options.backup_every != absl::ZeroDuration()) {
    NodeBackups* backups = node->backups_.get();
    node->backup_schedule_ = std::make_unique<BackupSchedule>(
        options.clock, BackupSchedule::Options{options.backup_every, absl::Minutes(1), "kentra-node " + node->centre_id_},
        [backups] { return backups->Newest(); },
        [backups] {
          Actor scheduler;
          scheduler.name = "system/backup-schedule";
          return backups->Create(scheduler).status();
        });
    node->backup_schedule_->Start();
  }
  node->service_ =
      std::make_unique<StaffServiceImpl>(node->access_.get(), node->hub_sync_.get(), node->backups_.get());
  node->account_service_ = std::make_unique<AccountServiceImpl>(node->access_.get());
  node->referral_service_ = std::make_unique<ReferralServiceImpl>(node->access_.get(), node->referrals_.get());
  ServerOptions server_options;
  server_options.listen_address = options.listen_address;
  server_options.max_receive_bytes = settings.max_request_bytes();
  server_options.insecure = options.insecure;
  server_options.credentials = credentials;
  KENTRA_ASSIGN_OR_RETURN(RunningServer running, StartServer(server_options, {node->service_.get(), node->account_service_.get(),
                                                                    node->referral_service_.get()}));
  node->server_ = std::move(running.server);
  node->port_ = running.port;
  return node;
}

void NodeServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  referral_service_->StopWatches();
  ShutdownServer(server_.get(), grace);
}

NodeServer::~NodeServer() {
  Shutdown(absl::Seconds(5));
  backup_schedule_.reset();  // waits for a backup under way
  server_.reset();
  referral_service_.reset();
  account_service_.reset();
  service_.reset();
  access_.reset();
  courier_.reset();
  hub_sync_.reset();
  referrals_.reset();
  accounts_.reset();
  verifier_.reset();
  records_.reset();
  store_.reset();  // closes RocksDB
}

absl::StatusOr<v1::User> BootstrapCoordinator(const NodeOptions& options, absl::string_view user_id,
                                              absl::string_view password) {
  const auto settings = EffectiveNodeSettings(options.centre);
  KENTRA_RETURN_IF_ERROR(EnsurePrivateDirectory(options.data_dir, "the data directory"));
  auto store = Store::Open(options.data_dir, ColumnFamilyNames(), NodeStoreOptions());
  if (!store.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(store.status().message(),
                                                      " (is kentra-node running on this data dir? stop it first)"));
  }
  // A migration needs the federation secret, which the bootstrap does not load.
  KENTRA_ASSIGN_OR_RETURN(auto version, (*store)->Get(kMeta, kMetaSchemaVersion));
  if (version && *version != absl::StrCat(kSchemaVersion)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the data directory has schema version ", *version, "; start kentra-node on it once (it migrates the store "
        "to version ", kSchemaVersion, "), stop it, then bootstrap"));
  }
  KENTRA_ASSIGN_OR_RETURN(auto records, CentreRecords::Open(store->get(), options.clock, settings.max_page_size(),
                                                            settings.release_after_days(), options.centre.id(), std::nullopt,
                                                            AuditJournalPath(options.data_dir)));
  KENTRA_ASSIGN_OR_RETURN(auto accounts, StaffAccounts::Open(store->get(), records.get(), options.clock,
                                                             options.centre.id(), StaffAccounts::LimitsFrom(settings)));
  return accounts->BootstrapCoordinator(user_id, password);
}

}  // namespace kentra::node
