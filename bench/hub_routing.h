// The hub's routing alone: sealed messages posted by several centres to one
// recipient, stored, delivered on the recipient's watch and acknowledged, with
// the centres played by the bench itself (their own certificates, no kentra-node).
// What one hub carries when the nodes run on machines of their own, as they do
// in the federation, and not on the cores the hub shares here.
#ifndef KENTRA_BENCH_HUB_ROUTING_H_
#define KENTRA_BENCH_HUB_ROUTING_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kentra::bench {

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
  int64_t routed = 0;   // posted in the run and acknowledged by the recipient (so deleted)
  int64_t posted = 0;   // posted in the run, warm-up included
  double seconds = 0;   // from the first post to the last acknowledgement
  double hub_cpu_seconds = -1;  // the hub's user and system time meanwhile, if its pid was given
  double routed_per_second() const { return seconds > 0 ? static_cast<double>(routed) / seconds : 0; }
};

// Each client posts one message per call, as a node's courier does when its
// outbox holds one; the recipient watches from the start of its mailbox and
// acknowledges what it got in batches from a second thread, as the courier
// does. Fails if a post fails or if a posted message is not acknowledged within
// 30 s after the last post.
absl::StatusOr<HubRoutingResult> RouteThroughHub(const HubRoutingOptions& options);

}  // namespace kentra::bench

#endif  // KENTRA_BENCH_HUB_ROUTING_H_
