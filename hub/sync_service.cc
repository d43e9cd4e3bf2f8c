#include "hub/sync_service.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/anon/codebook.h"
#include "common/anon/sketch.h"
#include "common/status.h"
#include "common/text_fold.h"
#include "common/time_util.h"

namespace kentra::hub {
namespace {

constexpr int64_t kMaxCellValue = 10'000'000;

absl::Status ValidateRunId(absl::string_view id, absl::string_view field) {
  const bool ok = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return ok ? absl::OkStatus() : absl::InvalidArgumentError(absl::StrCat(field, ": must be 1 to 64 of [A-Za-z0-9_-]"));
}

}  // namespace

absl::Status ValidatePeriodCells(const kentra::anon::v1::PeriodCells& cells, absl::Time now) {
  if (cells.codebook() != anon::kCodebookVersion) {
    return absl::InvalidArgumentError(absl::StrCat("cells.codebook: this hub reads ", anon::kCodebookVersion));
  }
  absl::CivilMonth month;
  if (!anon::ParsePeriod(cells.period(), &month)) {
    return absl::InvalidArgumentError("cells.period: must be a month as YYYY-MM, 2016 or later");
  }
  if (month > absl::CivilMonth(TodayAt(now))) return absl::InvalidArgumentError("cells.period: is in the future");
  if (absl::Status s = anon::ValidateSketch(cells.persons_sketch()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cells.persons_sketch: ", s.message()));
  }
  if (!cells.persons_sketch().empty() && !cells.closed()) {
    return absl::InvalidArgumentError("cells.persons_sketch: only a closed month carries one (one release a month)");
  }
  const auto& codebook = anon::Codebook();
  if (cells.cells_size() != static_cast<int>(codebook.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("cells.cells: must hold the ", codebook.size(), " cells of the codebook, zeros included"));
  }
  for (int i = 0; i < cells.cells_size(); ++i) {
    const auto& c = cells.cells(i);
    const std::string field = absl::StrCat("cells.cells[", i, "]");
    if (c.id() != codebook[static_cast<size_t>(i)].id) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".id: expected ", codebook[static_cast<size_t>(i)].id));
    }
    if (c.value() < 0 || c.value() > kMaxCellValue) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".value: must be 0 to ", kMaxCellValue));
    }
    if (c.value() == 1 || c.value() == 2) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".value: ", c.value(),
                                                     " cannot be a protected count; nodes never send 1 or 2"));
    }
  }
  return absl::OkStatus();
}

grpc::Status SyncServiceImpl::PushPeriod(grpc::ServerContext* ctx, const v1::PushPeriodRequest* req,
                                         v1::PushPeriodResponse* resp) {
  auto centre = access_->AdmitCentre(ctx, "SyncService", "PushPeriod", *registry_);
  if (!centre.ok()) return ToGrpcStatus(centre.status());
  if (req->cells().centre() != *centre) {
    std::fprintf(stderr, "kentra-hub: refused PushPeriod: centre/%s sent cells of '%s'\n", centre->c_str(),
                 std::string(Utf8Prefix(req->cells().centre(), 64)).c_str());
    return ToGrpcStatus(absl::PermissionDeniedError(
        absl::StrCat("cells.centre: centre/", *centre, " may push only its own cells")));
  }
  // A node older than kentra-anon/v2's private sketches sends a plain one, which
  // identifies people: the hub never keeps it (its cells are taken, without).
  const kentra::anon::v1::PeriodCells* cells = &req->cells();
  kentra::anon::v1::PeriodCells without_plain_sketch;
  const bool plain_sketch = cells->persons_sketch().size() == kPlainSketchBytes;
  if (plain_sketch) {
    without_plain_sketch = *cells;
    without_plain_sketch.clear_persons_sketch();
    cells = &without_plain_sketch;
  }
  absl::Status valid = ValidateRunId(req->batch_id(), "batch_id");
  if (valid.ok()) valid = ValidatePeriodCells(*cells, clock_->Now());
  absl::StatusOr<bool> changed = valid.ok() ? store_->ReplacePeriod(*cells) : absl::StatusOr<bool>(valid);
  access_->Audit(ctx, Principal{Principal::Kind::kCentre, *centre, ""}, "SyncService", "PushPeriod",
                 absl::StrCat(Utf8Prefix(req->cells().period(), 16), changed.ok() && *changed ? " (changed)" : "",
                              plain_sketch ? " (a plain persons sketch, dropped: upgrade the node)" : ""),
                 changed.status());
  if (!changed.ok()) return ToGrpcStatus(changed.status());
  resp->set_changed(*changed);
  return grpc::Status::OK;
}

grpc::Status SyncServiceImpl::FinishSync(grpc::ServerContext* ctx, const v1::FinishSyncRequest* req,
                                         v1::FinishSyncResponse* resp) {
  auto centre = access_->AdmitCentre(ctx, "SyncService", "FinishSync", *registry_);
  if (!centre.ok()) return ToGrpcStatus(centre.status());
  absl::Status valid = ValidateRunId(req->sync_id(), "sync_id");
  if (valid.ok() && (req->periods_pushed() < 0 || req->periods_pushed() > 1200)) {
    valid = absl::InvalidArgumentError("periods_pushed: must be 0 to 1200");
  }
  if (!valid.ok()) return ToGrpcStatus(valid);
  auto when = store_->RecordSync(*centre, req->sync_id(), req->periods_pushed());
  access_->Audit(ctx, Principal{Principal::Kind::kCentre, *centre, ""}, "SyncService", "FinishSync",
                 absl::StrCat(req->sync_id(), ", ", req->periods_pushed(), " months"), when.status());
  if (!when.ok()) return ToGrpcStatus(when.status());
  *resp->mutable_record_time() = ToTimestamp(*when);
  std::fprintf(stderr, "kentra-hub: %s synced (%s, %d months pushed)\n", centre->c_str(), req->sync_id().c_str(),
               req->periods_pushed());
  return grpc::Status::OK;
}

grpc::Status SyncServiceImpl::ListHeldPeriods(grpc::ServerContext* ctx, const v1::ListHeldPeriodsRequest* req,
                                              v1::ListHeldPeriodsResponse* resp) {
  auto centre = access_->AdmitCentre(ctx, "SyncService", "ListHeldPeriods", *registry_);
  if (!centre.ok()) return ToGrpcStatus(centre.status());
  if (req->page_size() < 0 || req->page_size() > 1000) {
    return ToGrpcStatus(absl::InvalidArgumentError("page_size: must be 0 to 1000"));
  }
  absl::CivilMonth after;
  if (!req->page_token().empty() && !anon::ParsePeriod(req->page_token(), &after)) {
    return ToGrpcStatus(absl::InvalidArgumentError("page_token: is not one this server issued"));
  }
  const int page_size = req->page_size() == 0 ? 500 : req->page_size();
  auto held = store_->HeldPeriods(*centre, req->page_token(), page_size + 1);
  if (!held.ok()) return ToGrpcStatus(held.status());
  for (size_t i = 0; i < held->size() && static_cast<int>(i) < page_size; ++i) {
    v1::HeldPeriod* p = resp->add_held_periods();
    p->set_period((*held)[i].period());
    p->set_batch_id(anon::CellsBatchId((*held)[i]));
    absl::CivilMonth month;
    const bool past_release_day = anon::ParsePeriod((*held)[i].period(), &month) && store_->PastReleaseDay(month);
    p->set_closed((*held)[i].closed());
    p->set_released((*held)[i].closed() || past_release_day);
  }
  if (static_cast<int>(held->size()) > page_size) resp->set_next_page_token(resp->held_periods(page_size - 1).period());
  return grpc::Status::OK;
}

}  // namespace kentra::hub
