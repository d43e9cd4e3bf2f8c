// The hub's routing as the bench plays it, without kentra-node: a centre's
// watch on its mailbox (MailboxWatch), and sealed messages posted by several
// centres to one recipient, stored, delivered on its watch and acknowledged
// (RouteThroughHub), each centre with its own node certificate. What one hub
// carries when the nodes run on machines of their own, as they do in the
// federation, and not on the cores the hub shares here.
#ifndef KENTRA_BENCH_HUB_ROUTING_H_
#define KENTRA_BENCH_HUB_ROUTING_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kentra/hub/v1/mailbox_service.grpc.pb.h"

namespace kentra::bench {

// One centre's watch on its mailbox at the hub, from the mailbox's start, as a
// node's courier keeps it: a thread reads the stream and another acknowledges
// what arrived in batches (up to the hub's 500 a call), each as soon as the
// previous one is answered. Only messages whose id starts with `tag` are taken
// and acknowledged; others are left in the mailbox.
class MailboxWatch {
 public:
  using Clock = std::chrono::steady_clock;
  MailboxWatch(std::shared_ptr<grpc::Channel> hub, std::string tag);
  // Cancels the watch and joins its threads.
  ~MailboxWatch();
  MailboxWatch(const MailboxWatch&) = delete;
  MailboxWatch& operator=(const MailboxWatch&) = delete;

  // Waits until `n` messages are acknowledged (and so deleted at the hub), the
  // watch fails, or `timeout` passes; true for the first.
  bool AwaitAcknowledged(int64_t n, absl::Duration timeout);
  int64_t acknowledged();
  // When the last message arrived and when the last acknowledgement returned.
  Clock::time_point last_arrival();
  Clock::time_point last_acknowledged();
  // Why the watch or an acknowledgement failed (OK if neither has).
  absl::Status failure();

 private:
  void Fail(absl::Status status);
  void Watch();
  void Acknowledge();

  const std::string tag_;
  std::unique_ptr<kentra::hub::v1::MailboxService::Stub> stub_;
  grpc::ClientContext watch_ctx_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int64_t> unacknowledged_ ABSL_GUARDED_BY(mu_);
  int64_t acknowledged_ ABSL_GUARDED_BY(mu_) = 0;
  Clock::time_point last_arrival_ ABSL_GUARDED_BY(mu_);
  Clock::time_point last_acknowledged_ ABSL_GUARDED_BY(mu_);
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  std::thread watcher_;
  std::thread acker_;
};

struct HubRoutingOptions {
  int hub_port = 0;
  pid_t hub_pid = -1;  // to read the hub's CPU time, if known
  // The senders' node credentials by centre id; the clients are spread over them.
  std::map<std::string, std::shared_ptr<grpc::ChannelCredentials>> senders;
  std::string recipient;
  std::shared_ptr<grpc::ChannelCredentials> recipient_credentials;
  int clients = 8;
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration measure = absl::Seconds(4);
  int sealed_bytes = 0;  // one of the sealed bucket sizes
};

struct HubRoutingResult {
  double post_qps = 0;  // BatchPostMessages of one message each, answered inside the window
  double post_p50_ms = 0;
  double post_p99_ms = 0;
  int64_t routed = 0;   // posted in the run, warm-up included, and acknowledged (so deleted)
  double seconds = 0;   // from the first post to the last acknowledgement
  double hub_cpu_seconds = -1;  // the hub's user and system time meanwhile, if its pid was given
  double routed_per_second() const { return seconds > 0 ? static_cast<double>(routed) / seconds : 0; }
};

// Each client posts one message per call, as a node's courier does when its
// outbox holds one; the recipient's MailboxWatch takes them. Fails if a post
// fails or if a posted message is not acknowledged within 30 s after the last
// post (so every message posted is in `routed`).
absl::StatusOr<HubRoutingResult> RouteThroughHub(const HubRoutingOptions& options);

}  // namespace kentra::bench

#endif  // KENTRA_BENCH_HUB_ROUTING_H_
