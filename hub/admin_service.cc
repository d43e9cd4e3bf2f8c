#include "hub/admin_service.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/time_util.h"

namespace kentra::hub {

grpc::Status AdminServiceImpl::ListCentres(grpc::ServerContext* ctx, const v1::ListCentresRequest* req,
                                           v1::ListCentresResponse* resp) {
  auto caller = access_->Admit(ctx, "AdminService", "ListCentres");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (req->page_size() < 0 || req->page_size() > 1000) {
    return ToGrpcStatus(absl::InvalidArgumentError("page_size: must be 0 to 1000"));
  }
  const int page_size = req->page_size() == 0 ? 100 : req->page_size();
  const absl::Time now = clock_->Now();
  const absl::Duration stale_after = absl::Hours(registry_->hub().staleness_hours());
  for (const auto* c : registry_->All()) {
    if (!req->page_token().empty() && c->id() <= req->page_token()) continue;
    if (resp->centres_size() == page_size) {
      resp->set_next_page_token(resp->centres(page_size - 1).centre());
      break;
    }
    v1::CentreStatus* status = resp->add_centres();
    status->set_centre(c->id());
    status->set_region(c->region());
    status->set_name_el(c->name().el());
    auto last = store_->LastSync(c->id());
    auto held = store_->PeriodsHeld(c->id());
    if (!last.ok() || !held.ok()) return ToGrpcStatus(!last.ok() ? last.status() : held.status());
    status->set_periods_held(*held);
    auto mail = mailbox_->StatusOf(c->id());
    if (!mail.ok()) return ToGrpcStatus(mail.status());
    status->set_mail_waiting(mail->waiting);
    if (mail->oldest_post) *status->mutable_oldest_mail_time() = ToTimestamp(*mail->oldest_post);
    status->set_watching(mail->watched);
    if (*last) {
      const absl::Time when = absl::FromUnixMicros((*last)->finish_time_micros());
      *status->mutable_last_sync_time() = ToTimestamp(when);
      status->set_stale(now - when > stale_after);
    } else {
      status->set_stale(true);
    }
  }
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListHubAuditEntries(grpc::ServerContext* ctx, const v1::ListHubAuditEntriesRequest* req,
                                                   v1::ListHubAuditEntriesResponse* resp) {
  auto caller = access_->Admit(ctx, "AdminService", "ListHubAuditEntries");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto page = audit_->List(*req);
  if (!page.ok()) return ToGrpcStatus(page.status());
  *resp = *std::move(page);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListAuthorityUsage(grpc::ServerContext* ctx, const v1::ListAuthorityUsageRequest*,
                                                  v1::ListAuthorityUsageResponse* resp) {
  auto caller = access_->Admit(ctx, "AdminService", "ListAuthorityUsage");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  std::map<std::string, QueryBudget::Usage> usage;
  for (auto& u : budget_->UsageNow()) usage[u.authority] = std::move(u);
  for (const auto& region : registry_->hub().regions()) {
    v1::AuthorityUsage* out = resp->add_authority_usages();
    out->set_region(region.id());
    auto it = usage.find(region.id());
    if (it == usage.end()) continue;
    out->set_queries_last_minute(it->second.last_minute);
    out->set_queries_last_day(it->second.last_day);
    out->set_refused_last_day(it->second.refused_last_day);
    if (it->second.last_query != absl::InfinitePast()) *out->mutable_last_query_time() = ToTimestamp(it->second.last_query);
  }
  resp->set_per_minute(budget_->per_minute());
  resp->set_per_day(budget_->per_day());
  return grpc::Status::OK;
}

namespace {

constexpr absl::string_view kBackupFlag = "kentra-hub --backup_dir";

}  // namespace

grpc::Status AdminServiceImpl::CreateBackup(grpc::ServerContext* ctx, const kentra::type::v1::CreateBackupRequest*,
                                            kentra::type::v1::Backup* resp) {
  auto caller = access_->Admit(ctx, "AdminService", "CreateBackup");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto taken = backups_->Take(kBackupFlag);
  access_->Audit(ctx, *caller, "AdminService", "CreateBackup", taken.ok() ? taken->path : "", taken.status());
  if (!taken.ok()) return ToGrpcStatus(taken.status());
  *resp = ToBackupResource(*taken);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListBackups(grpc::ServerContext* ctx, const kentra::type::v1::ListBackupsRequest* req,
                                           kentra::type::v1::ListBackupsResponse* resp) {
  auto caller = access_->Admit(ctx, "AdminService", "ListBackups");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto page = backups_->List(req->page_size(), req->page_token(), kBackupFlag);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& b : page->backups) *resp->add_backups() = ToBackupResource(b);
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

}  // namespace kentra::hub
