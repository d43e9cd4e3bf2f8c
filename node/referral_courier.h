// ReferralCourier: carries a node's sealed referral messages to and from the
// hub's MailboxService. One thread posts the outbox, oldest first, in batches
// of up to 100 that the hub stores in order (so the other centre receives a
// referral's messages in order), retrying
// with backoff from 1 s to 5 min while the hub is unreachable (meanwhile every
// referral still queued says so: CentreReferrals::SetHubProblem), and runs the
// referral deadlines every minute. Another keeps a WatchMessages stream open,
// applies each arriving message durably and only then acknowledges it (a third
// thread sends the acknowledgements, gathering what the watch stored meanwhile
// into one call, so the watch never waits on them), and reconnects after any
// failure. Exchange() does one full round of both for the
// nightly sync, so a node that does not watch still gets its mail every night.
// The courier also keeps the node's copy of the federation directory current:
// at start-up, every hour, and at each sync. And it makes good what a restore
// from a backup loses: it asks the hub which of the messages it posted (kept
// for as long as the hub remembers posts) the hub lacks, at start-up, when its
// watch ends, every hour and at each sync, and posts those again; and it tells
// the hub how far it holds its own mailbox stored, so that the hub has the
// senders post again what this node lost.
#ifndef KENTRA_NODE_REFERRAL_COURIER_H_
#define KENTRA_NODE_REFERRAL_COURIER_H_

#include <memory>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "kentra/hub/v1/directory_service.grpc.pb.h"
#include "kentra/hub/v1/mailbox_service.grpc.pb.h"
#include "node/referrals.h"

namespace kentra::node {

// How many of the outbox messages with these sealed sizes (oldest first) go in
// one BatchPostMessages call: at most `max_count`, and no more than `max_bytes`
// of sealed bytes, except that a single message always goes (even one larger).
size_t PostBatchLength(const std::vector<size_t>& sealed_sizes, size_t max_count, size_t max_bytes);

class ReferralCourier {
 public:
  // `referrals` is not owned; registers itself as its outbox listener.
  ReferralCourier(CentreReferrals* referrals, std::shared_ptr<grpc::Channel> hub);
  // Stops the threads, if started.
  ~ReferralCourier();

  // Starts posting (and the deadline sweep); with `watch`, also the live inbox.
  void Start(bool watch);

  // One round: posts the whole outbox, then fetches, applies and acknowledges
  // everything waiting in the mailbox.
  struct Round {
    int reposted = 0;  // lost by the hub and posted again
    int posted = 0;
    int received = 0;
    int64_t directory_version = 0;  // held after the round
  };
  absl::StatusOr<Round> Exchange();

  // Fetches the hub's directory unless this node holds its version; true if a
  // newer one replaced the node's copy.
  absl::StatusOr<bool> RefreshDirectory();

 private:
  absl::StatusOr<int> PostOutbox();
  // Asks the hub which of the posted messages kept here it holds no post of
  // (it was restored from a backup taken before they were posted) and puts
  // those back into the outbox, ahead of what was queued after them; forgets the
  // kept ones the hub no longer remembers either way. Returns how many went back.
  absl::StatusOr<int> RepostLost();
  // Has the posting thread run RepostLost() before it next posts.
  void RepostLostSoon();
  // Tells the hub through which sequence this node holds its mailbox stored: if
  // it acknowledged more (this node was restored from a backup), the hub has
  // their senders post them again (RepostLost, at their next check). Logs what
  // it learns; the mail goes on either way.
  void ReconcileMailbox();
  // Applies the messages and acknowledges them once stored.
  absl::StatusOr<int> ApplyAndAck(const google::protobuf::RepeatedPtrField<kentra::hub::v1::MailboxMessage>& messages);
  void PostLoop();
  void WatchLoop();
  void AckLoop();
  // Queues these messages (stored durably) for the acknowledging thread.
  void QueueAcks(const google::protobuf::RepeatedPtrField<kentra::hub::v1::MailboxMessage>& stored);
  // Sleeps up to `d`, or until Wake() if `wake_early`; true if stopping.
  bool SleepFor(absl::Duration d, bool wake_early = true);
  void Wake();

  CentreReferrals* referrals_;
  std::unique_ptr<kentra::hub::v1::MailboxService::Stub> hub_;
  std::unique_ptr<kentra::hub::v1::DirectoryService::Stub> directory_hub_;
  absl::Mutex post_mu_;  // one poster at a time keeps the outbox's order
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool check_posts_ ABSL_GUARDED_BY(mu_) = true;  // RepostLost() is due (at start-up, and after a watch ended)
  absl::Duration post_ttl_ ABSL_GUARDED_BY(post_mu_) = absl::Hours(24 * 30);  // the hub's, once it says
  grpc::ClientContext* watch_ctx_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<int64_t> acks_ ABSL_GUARDED_BY(mu_);  // stored, not yet acknowledged
  std::thread poster_;
  std::thread watcher_;
  std::thread acker_;
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_REFERRAL_COURIER_H_
