// HubSync: the node's side of the nightly sync. A run pushes, one month at a
// time, the protected cells of every month that changed since its last push
// (the hub replaces that month whole, so a re-sent month changes nothing), then
// tells the hub the sync finished. It first asks the hub what it holds, and pushes
// again each month the hub lacks or holds otherwise than last pushed (a hub
// restored from a backup, or rebuilt), so the hub always ends up with the node's
// months. A failed run leaves its months pending, so the next run resumes where
// it stopped. Runs happen on a schedule (a local time of day plus jitter,
// retried with backoff) or on demand, one at a time, and each is kept in a
// history ("runs/<seq>" in the indicators column family).
#ifndef KENTRA_NODE_HUB_SYNC_H_
#define KENTRA_NODE_HUB_SYNC_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/storage.h"
#include "kentra/hub/v1/sync_service.grpc.pb.h"
#include "kentra/node/v1/staff_service.pb.h"
#include "node/indicators.h"

namespace kentra::node {

// The next scheduled run after `now`: the next `time_of_day` (minutes after
// midnight, Europe/Athens) plus `jitter_offset`.
absl::Time NextScheduledRun(absl::Time now, int time_of_day, absl::Duration jitter_offset);

class HubSync {
 public:
  // None is owned; `cf` is the indicators column family.
  HubSync(Store* store, int cf, IndicatorCounters* indicators, std::shared_ptr<grpc::Channel> hub,
          const Clock* clock);
  // Stops the schedule, if started, waiting for a running sync to end.
  ~HubSync();

  // Called after each month reaches the hub: the month, months done, months to do.
  using Progress = std::function<void(const std::string& period, int done, int total)>;

  // Runs one sync now (after any running one). The run is recorded whatever
  // its outcome; its error is in the returned SyncRun, not in the status.
  absl::StatusOr<v1::SyncRun> RunOnce(const std::string& trigger, const Progress& progress = nullptr);
  // Called by each run after the indicators: exchanges referral messages and
  // counts them into the run; its error fails the run (pending messages wait
  // for the next one).
  using ReferralExchange = std::function<absl::Status(v1::SyncRun* run)>;
  void SetReferralExchange(ReferralExchange exchange) { exchange_ = std::move(exchange); }

  // Past runs, newest first.
  absl::StatusOr<v1::ListSyncRunsResponse> ListRuns(const v1::ListSyncRunsRequest& request) const;

  // Starts a thread that syncs daily at `time_of_day` (minutes after midnight,
  // Athens) plus a random delay of up to `jitter`, retrying a failed run after 1,
  // 2, 4, ... minutes (at most an hour apart) until it succeeds.
  void StartSchedule(int time_of_day, absl::Duration jitter);

 private:
  absl::Status Push(v1::SyncRun* run, const Progress& progress);
  // Each month the hub holds for this centre, with the batch id of its cells.
  absl::StatusOr<absl::flat_hash_map<std::string, IndicatorCounters::HeldAtHub>> HeldAtHub();
  void ScheduleLoop(int time_of_day, absl::Duration jitter);

  Store* store_;
  int cf_;
  IndicatorCounters* indicators_;
  std::unique_ptr<kentra::hub::v1::SyncService::Stub> hub_;
  const Clock* clock_;
  ReferralExchange exchange_;
  absl::Mutex run_mu_;  // one run at a time
  std::atomic<uint64_t> last_run_{0};
  absl::Mutex stop_mu_;
  bool stopping_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread scheduler_;
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_HUB_SYNC_H_
