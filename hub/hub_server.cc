#include "hub/hub_server.h"

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "common/private_dir.h"
#include "common/status.h"
#include "common/time_util.h"

namespace kentra::hub {
namespace {

// Counts into `budget` the authorities' statistics queries of the last day, from
// the audit log (newest first), so that a restart does not refill a budget.
absl::Status RestoreQueryBudget(const HubAuditLog& audit, absl::Time now, QueryBudget* budget) {
  v1::ListHubAuditEntriesRequest request;
  request.set_page_size(1000);
  for (;;) {
    KENTRA_ASSIGN_OR_RETURN(v1::ListHubAuditEntriesResponse page, audit.List(request));
    for (const auto& e : page.hub_audit_entries()) {
      const absl::Time when = FromTimestamp(e.time());
      if (when <= now - absl::Hours(24)) return absl::OkStatus();
      absl::string_view authority = e.principal();
      if (absl::StartsWith(e.method(), "StatsService.") && absl::ConsumePrefix(&authority, "authority/") &&
          e.detail() != kOverBudgetDetail) {
        budget->Restore(std::string(authority), when);
      }
    }
    if (page.next_page_token().empty()) return absl::OkStatus();
    request.set_page_token(page.next_page_token());
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<HubServer>> HubServer::Start(HubOptions options) {
  auto hub = std::unique_ptr<HubServer>(new HubServer());
  if (options.secrets_dir.empty()) return absl::FailedPreconditionError("--secrets_dir is required: the hub speaks only mutual TLS");
  KENTRA_ASSIGN_OR_RETURN(TlsIdentity tls, LoadTlsIdentity(options.secrets_dir, "server"));
  KENTRA_ASSIGN_OR_RETURN(hub->verifier_, PeerVerifier::Create(tls.ca_pem, options.revoked_serials, SystemClock::Get()));
  const int max_request_bytes = options.setup.hub.max_request_bytes();
  hub->registry_ = std::make_unique<CentreRegistry>(std::move(options.setup));
  KENTRA_RETURN_IF_ERROR(EnsurePrivateDirectory(options.data_dir, "the data directory"));
  KENTRA_RETURN_IF_ERROR(BackupDirectory::CheckOptions(options.data_dir, options.backups));
  KENTRA_RETURN_IF_ERROR(BackupSchedule::CheckEvery(options.backup_every, !options.backups.dir.empty()));
  KENTRA_ASSIGN_OR_RETURN(hub->store_, IndicatorStore::Open(options.data_dir + "/indicators", options.clock,
                                                             hub->registry_->hub().release_after_days()));
  KENTRA_ASSIGN_OR_RETURN(hub->mailbox_, Mailbox::Open(options.data_dir + "/mailbox", options.clock,
                                                       absl::Hours(24) * hub->registry_->hub().mailbox_ttl_days()));
  KENTRA_ASSIGN_OR_RETURN(hub->audit_, HubAuditLog::Open(options.data_dir + "/audit", options.clock));
  for (const auto& [part, store] : std::vector<std::pair<const char*, const Store*>>{
           {"indicators", hub->store_->store()}, {"mailbox", hub->mailbox_->store()}, {"audit", hub->audit_->store()}}) {
    std::fprintf(stderr, "kentra-hub: checked the checksums of its %s store in %s\n", part,
                 absl::FormatDuration(store->verify_time()).c_str());
    if (store->damage().ok()) continue;
    std::fprintf(stderr,
                 "kentra-hub: THE %s STORE IS DAMAGED: %s\n"
                 "kentra-hub: it serves reads and refuses writes to it. Restore the newest backup: stop kentra-hub, "
                 "move %s aside, copy the newest directory of --backup_dir (kentractl admin backup list) to it, and "
                 "start kentra-hub; the nodes push their months and post their referral mail again.\n",
                 part, std::string(store->damage().message()).c_str(), options.data_dir.c_str());
  }
  hub->access_ = std::make_unique<HubAccess>(hub->verifier_.get(), hub->audit_.get());
  hub->sync_ = std::make_unique<SyncServiceImpl>(hub->access_.get(), hub->store_.get(), hub->registry_.get(), options.clock);
  const auto& budget = hub->registry_->hub().query_budget();
  hub->budget_ = std::make_unique<QueryBudget>(options.clock, budget.per_minute(), budget.per_day());
  KENTRA_RETURN_IF_ERROR(RestoreQueryBudget(*hub->audit_, options.clock->Now(), hub->budget_.get()));
  hub->stats_ = std::make_unique<StatsServiceImpl>(hub->access_.get(), hub->store_.get(), hub->registry_.get(),
                                                   hub->budget_.get(), options.clock);
  // Laid out as the data directory lays them out, so the hub starts on a copy of a backup.
  hub->backups_ = std::make_unique<BackupDirectory>(
      std::vector<BackupDirectory::Part>{{"indicators", hub->store_->store()},
                                         {"mailbox", hub->mailbox_->store()},
                                         {"audit", hub->audit_->store()}},
      options.clock, "hub", options.backups);
  if (options.backup_every != absl::ZeroDuration()) {
    BackupDirectory* backups = hub->backups_.get();
    HubAuditLog* audit = hub->audit_.get();
    hub->backup_schedule_ = std::make_unique<BackupSchedule>(
        options.clock, BackupSchedule::Options{options.backup_every, absl::Minutes(1), "kentra-hub"},
        [backups] { return backups->Newest(); },
        [backups, audit] {
          auto taken = backups->Take("kentra-hub --backup_dir");
          // In the audit log as the operator's own backups are, by the hub itself.
          absl::Status written = audit->Record("hub/backup-schedule", "", "AdminService.CreateBackup",
                                               taken.ok() ? taken->path : "", taken.status());
          if (!written.ok()) std::fprintf(stderr, "kentra-hub: could not audit a backup: %s\n", written.ToString().c_str());
          return taken.status();
        });
    hub->backup_schedule_->Start();
  }
  hub->admin_ = std::make_unique<AdminServiceImpl>(hub->access_.get(), hub->store_.get(), hub->mailbox_.get(),
                                                   hub->registry_.get(), hub->audit_.get(), hub->backups_.get(),
                                                   hub->budget_.get(), options.clock);
  hub->mailbox_service_ = std::make_unique<MailboxServiceImpl>(hub->access_.get(), hub->mailbox_.get(),
                                                               hub->registry_.get());
  hub->directory_service_ = std::make_unique<DirectoryServiceImpl>(hub->access_.get(), hub->registry_.get(),
                                                                   options.directory_path);
  if (!options.directory_path.empty()) KENTRA_RETURN_IF_ERROR(hub->directory_service_->Current().status());
  ServerOptions server_options;
  server_options.listen_address = options.listen_address;
  server_options.max_receive_bytes = max_request_bytes;
  server_options.credentials = MakeServerCredentials(tls);
  server_options.interceptors = std::move(options.interceptors);
  KENTRA_ASSIGN_OR_RETURN(RunningServer running,
                          StartServer(server_options, {hub->sync_.get(), hub->stats_.get(), hub->admin_.get(),
                                                          hub->mailbox_service_.get(), hub->directory_service_.get()}));
  hub->server_ = std::move(running.server);
  hub->port_ = running.port;
  if (options.expire_messages) {
    HubServer* self = hub.get();
    hub->expiry_ = std::thread([self] { self->ExpireLoop(); });
  }
  return hub;
}

void HubServer::ExpireLoop() {
  absl::MutexLock lock(&expiry_mu_);
  while (!expiry_mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Minutes(1))) {
    expiry_mu_.Unlock();
    absl::StatusOr<int> expired = mailbox_->ExpireOld();
    if (!expired.ok()) {
      std::fprintf(stderr, "kentra-hub: expiring old referral messages failed: %s\n", expired.status().ToString().c_str());
    } else if (*expired > 0) {
      std::fprintf(stderr, "kentra-hub: %d referral messages expired undelivered; their senders are told\n", *expired);
    }
    expiry_mu_.Lock();
  }
}

void HubServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  {
    absl::MutexLock lock(&expiry_mu_);
    stopping_ = true;
  }
  if (expiry_.joinable()) expiry_.join();
  mailbox_->Close();  // ends the watches, which would otherwise hold the drain for their grace
  ShutdownServer(server_.get(), grace);
}

HubServer::~HubServer() {
  Shutdown(absl::Seconds(5));
  backup_schedule_.reset();  // waits for a backup under way
  server_.reset();
  mailbox_service_.reset();
  directory_service_.reset();
  mailbox_.reset();
  store_.reset();
  audit_.reset();
}

}  // namespace kentra::hub
