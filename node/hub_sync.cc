#include "node/hub_sync.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/anon/codebook.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/status.h"
#include "common/time_util.h"

namespace kentra::node {
namespace {

constexpr char kRunPrefix[] = "runs/";
constexpr auto kCallTimeout = std::chrono::seconds(30);

std::string RunKey(uint64_t seq) { return absl::StrCat(kRunPrefix, keys::PaddedSequence(seq)); }

}  // namespace

absl::Time NextScheduledRun(absl::Time now, int time_of_day, absl::Duration jitter_offset) {
  const absl::TimeZone tz = CentreTimeZone();
  const absl::CivilDay today = absl::ToCivilDay(now, tz);
  for (absl::CivilDay day = today;; ++day) {
    const absl::Time at = absl::FromCivil(absl::CivilMinute(day.year(), day.month(), day.day(), time_of_day / 60,
                                                            time_of_day % 60),
                                          tz) +
                          jitter_offset;
    if (at > now) return at;
  }
}

HubSync::HubSync(Store* store, int cf, IndicatorCounters* indicators, std::shared_ptr<grpc::Channel> hub,
                 const Clock* clock)
    : store_(store), cf_(cf), indicators_(indicators), hub_(kentra::hub::v1::SyncService::NewStub(hub)), clock_(clock) {
  auto it = store_->NewIterator(cf_);
  it->SeekForPrev(absl::StrCat(kRunPrefix, "\xff"));
  if (it->Valid() && absl::StartsWith(it->key(), kRunPrefix)) {
    last_run_ = keys::ParsePadded(it->key().substr(sizeof(kRunPrefix) - 1), 20).value_or(0);
  }
}

HubSync::~HubSync() {
  {
    absl::MutexLock lock(&stop_mu_);
    stopping_ = true;
  }
  if (scheduler_.joinable()) scheduler_.join();
}

absl::StatusOr<absl::flat_hash_map<std::string, IndicatorCounters::HeldAtHub>> HubSync::HeldAtHub() {
  absl::flat_hash_map<std::string, IndicatorCounters::HeldAtHub> held;
  kentra::hub::v1::ListHeldPeriodsRequest request;
  do {
    kentra::hub::v1::ListHeldPeriodsResponse page;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(hub_->ListHeldPeriods(&ctx, request, &page)));
    for (const auto& p : page.held_periods()) held[p.period()] = {p.batch_id(), p.closed(), p.released()};
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  return held;
}

absl::Status HubSync::Push(v1::SyncRun* run, const Progress& progress) {
  // What the hub holds: a month it lost (restored from a backup) goes again. A
  // hub of a version before the call is not asked; the changed months go.
  absl::StatusOr<absl::flat_hash_map<std::string, IndicatorCounters::HeldAtHub>> held = HeldAtHub();
  if (!held.ok() && held.status().code() != absl::StatusCode::kUnimplemented) return held.status();
  KENTRA_ASSIGN_OR_RETURN(auto pending, indicators_->PendingPeriods(held.ok() ? &*held : nullptr));
  for (const auto& p : pending) {
    kentra::hub::v1::PushPeriodRequest request;
    KENTRA_ASSIGN_OR_RETURN(*request.mutable_cells(), indicators_->Protected(p.period));
    request.set_batch_id(anon::CellsBatchId(request.cells()));
    kentra::hub::v1::PushPeriodResponse response;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(hub_->PushPeriod(&ctx, request, &response)));
    run->set_bytes_sent(run->bytes_sent() + static_cast<int64_t>(request.ByteSizeLong()));
    KENTRA_RETURN_IF_ERROR(indicators_->MarkSynced(p, request.batch_id()));
    run->set_periods_pushed(run->periods_pushed() + 1);
    run->set_periods_changed(run->periods_changed() + (response.changed() ? 1 : 0));
    if (progress) progress(request.cells().period(), run->periods_pushed(), static_cast<int>(pending.size()));
  }
  kentra::hub::v1::FinishSyncRequest finish;
  finish.set_sync_id(absl::StrCat("run-", last_run_.load()));
  finish.set_periods_pushed(run->periods_pushed());
  kentra::hub::v1::FinishSyncResponse finished;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  return FromGrpcStatus(hub_->FinishSync(&ctx, finish, &finished));
}

absl::StatusOr<v1::SyncRun> HubSync::RunOnce(const std::string& trigger, const Progress& progress) {
  absl::MutexLock lock(&run_mu_);
  const uint64_t seq = ++last_run_;
  v1::SyncRun run;
  run.set_name(absl::StrCat("syncRuns/", keys::PaddedSequence(seq)));
  run.set_trigger(trigger);
  *run.mutable_start_time() = ToTimestamp(clock_->Now());
  absl::Status pushed = Push(&run, progress);
  if (pushed.ok() && exchange_) pushed = exchange_(&run);
  run.set_succeeded(pushed.ok());
  if (!pushed.ok()) run.set_error(pushed.ToString());
  *run.mutable_end_time() = ToTimestamp(clock_->Now());
  std::fprintf(stderr, "kentra-node: sync %s (%s): %d months pushed, %d changed, %d referral messages sent (%d lost by the hub, again), %d received%s%s\n",
               run.name().c_str(), trigger.c_str(), run.periods_pushed(), run.periods_changed(),
               run.referral_messages_posted(), run.referral_messages_reposted(), run.referral_messages_received(), pushed.ok() ? "" : "; failed: ",
               run.error().c_str());
  WriteBatch batch;
  batch.Put(cf_, RunKey(seq), run.SerializeAsString());
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  return run;
}

absl::StatusOr<v1::ListSyncRunsResponse> HubSync::ListRuns(const v1::ListSyncRunsRequest& request) const {
  v1::ListSyncRunsResponse response;
  KENTRA_ASSIGN_OR_RETURN(
      *response.mutable_next_page_token(),
      ListNewestFirst(*store_, cf_, kRunPrefix, request.page_size(), 50, request.page_token(),
                      [&](absl::string_view value) {
                        if (!response.add_sync_runs()->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                          return absl::DataLossError("a stored sync run cannot be read");
                        }
                        return absl::OkStatus();
                      }));
  return response;
}

void HubSync::StartSchedule(int time_of_day, absl::Duration jitter) {
  scheduler_ = std::thread([this, time_of_day, jitter] { ScheduleLoop(time_of_day, jitter); });
}

void HubSync::ScheduleLoop(int time_of_day, absl::Duration jitter) {
  std::mt19937_64 rng(std::random_device{}());
  auto stopping = [this] { return stopping_; };
  // Sleeps until `until` or until the node stops; true if it stops.
  auto sleep_until = [&](absl::Time until) {
    absl::MutexLock lock(&stop_mu_);
    stop_mu_.AwaitWithDeadline(absl::Condition(&stopping), until);
    return stopping_;
  };
  for (;;) {
    const absl::Duration offset =
        jitter <= absl::ZeroDuration() ? absl::ZeroDuration()
                                       : absl::Seconds(static_cast<double>(rng() % 10000) / 10000.0 *
                                                       absl::ToDoubleSeconds(jitter));
    if (sleep_until(NextScheduledRun(absl::Now(), time_of_day, offset))) return;
    absl::Duration backoff = absl::Minutes(1);
    for (std::string trigger = "schedule";; trigger = "retry") {
      auto run = RunOnce(trigger);
      if (run.ok() && run->succeeded()) break;
      if (sleep_until(absl::Now() + backoff)) return;
      backoff = std::min(backoff * 2, absl::Hours(1));
    }
  }
}

}  // namespace kentra::node
