// The hub's mailbox over real mTLS and gRPC: a single post and a batch of posts
// are checked (a batch whole) and stored (a batch whole), in order and
// idempotently; a watch hands a backlog over in
// few responses, in order; the operator sees whose mail waits and which nodes
// watch. A message is shown before it is synced, and its sequence number is
// never given to another message even if a crash loses it. A notice of the
// hub's that a restored node lost is posted again. A waiting watch wakes for its
// own mail, and every one at the hub's close.
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/sealing.h"
#include "common/storage.h"
#include "hub/mailbox_service.h"
#include "kentra/hub/v1/admin_service.grpc.pb.h"
#include "kentra/hub/v1/mailbox_service.grpc.pb.h"
#include "tests/testing/test_util.h"

namespace kentra::hub {
namespace {

using ::kentra::testing::GrpcStatusIs;
using ::kentra::testing::TestHub;

v1::PostMessageRequest Post(const std::string& recipient) {
  v1::PostMessageRequest r;
  r.set_recipient(recipient);
  r.set_message_id(absl::BytesToHexString(RandomBytes(16)));
  r.set_referral_id(absl::BytesToHexString(RandomBytes(16)));
  r.set_sealed(std::string(kSealBuckets[0] + 48, 'x'));  // opaque to the hub; only its size is checked
  return r;
}

class MailboxTest : public ::testing::Test {
 protected:
  grpc::Status BatchPost(const std::vector<v1::PostMessageRequest>& posts, v1::BatchPostMessagesResponse* out) {
    v1::BatchPostMessagesRequest request;
    for (const auto& p : posts) *request.add_requests() = p;
    grpc::ClientContext ctx;
    return kassandra_->BatchPostMessages(&ctx, request, out);
  }
  int Pending(const std::string& recipient) { return hub_.server().mailbox()->Pending(recipient); }
  // `centre` acknowledges these of its messages; how many the hub deleted (-1 if the call failed).
  int Ack(const std::string& centre, const std::vector<int64_t>& sequences) {
    v1::AckMessagesRequest ack;
    for (int64_t s : sequences) ack.add_sequences(s);
    v1::AckMessagesResponse acked;
    grpc::ClientContext ctx;
    if (!v1::MailboxService::NewStub(hub_.Channel("centres/" + centre))->AckMessages(&ctx, ack, &acked).ok()) return -1;
    return acked.deleted();
  }

  TestHub hub_;
  std::unique_ptr<v1::MailboxService::Stub> kassandra_ = v1::MailboxService::NewStub(hub_.Channel("centres/kassandra"));
};

TEST_F(MailboxTest, ABatchWithOneBadPostIsRefusedWholeNamingIt) {
  auto bad_id = Post("thessaloniki");
  bad_id.set_message_id("not-hex");
  auto to_self = Post("kassandra");
  auto unknown = Post("atlantis");
  auto odd_size = Post("thessaloniki");
  odd_size.set_sealed("short");
  std::vector<v1::PostMessageRequest> too_many;
  for (int i = 0; i <= kMaxBatchPost; ++i) too_many.push_back(Post("thessaloniki"));
  const auto first = Post("thessaloniki");
  auto same_id_other_referral = first;
  same_id_other_referral.set_referral_id(absl::BytesToHexString(RandomBytes(16)));
  struct Case {
    const char* what;
    std::vector<v1::PostMessageRequest> posts;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"none", {}, "requests: give 1 to 100"},
      {"over the limit", too_many, "requests: give 1 to 100"},
      {"a bad message id second", {Post("thessaloniki"), bad_id}, "requests[1].message_id"},
      {"to itself", {Post("thessaloniki"), Post("chalkidona"), to_self}, "requests[2].recipient: is the sender"},
      {"an unknown centre", {unknown}, "requests[0].recipient: not a centre"},
      {"not a sealed size", {odd_size, Post("thessaloniki")}, "requests[0].sealed"},
      {"one message id for two referrals", {first, same_id_other_referral},
       "requests.message_id[1]: repeats requests.message_id[0]"},
      {"one message twice", {first, first}, "requests.message_id[1]: repeats requests.message_id[0]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    v1::BatchPostMessagesResponse out;
    EXPECT_THAT(BatchPost(c.posts, &out), GrpcStatusIs(grpc::INVALID_ARGUMENT, c.error));
    EXPECT_EQ(out.receipts_size(), 0);
    EXPECT_EQ(Pending("thessaloniki"), 0);
    EXPECT_EQ(Pending("chalkidona"), 0);
  }
}

TEST_F(MailboxTest, ASinglePostIsStoredOnceAndABadOneIsRefusedNamingTheField) {
  const auto post = Post("thessaloniki");
  v1::PostMessageResponse first;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(kassandra_->PostMessage(&ctx, post, &first).ok());
  }
  EXPECT_EQ(first.sequence(), 1);
  v1::PostMessageResponse again;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(kassandra_->PostMessage(&ctx, post, &again).ok());
  }
  EXPECT_EQ(again.sequence(), first.sequence());
  EXPECT_EQ(again.post_time().nanos(), first.post_time().nanos());
  EXPECT_EQ(Pending("thessaloniki"), 1);

  auto bad_id = Post("thessaloniki");
  bad_id.set_message_id("not-hex");
  auto unknown = Post("atlantis");
  auto odd_size = Post("thessaloniki");
  odd_size.set_sealed("short");
  for (const auto& [bad, error] : std::vector<std::pair<v1::PostMessageRequest, std::string>>{
           {bad_id, "message_id: must be 32 lowercase hex digits"},
           {unknown, "recipient: not a centre of this federation"},
           {odd_size, "sealed: its size is not one of the sealed bucket sizes"}}) {
    SCOPED_TRACE(error);
    grpc::ClientContext ctx;
    v1::PostMessageResponse out;
    EXPECT_THAT(kassandra_->PostMessage(&ctx, bad, &out), GrpcStatusIs(grpc::INVALID_ARGUMENT, error));
    EXPECT_EQ(Pending("thessaloniki"), 1);
  }
}

TEST_F(MailboxTest, ABatchIsStoredInOrderAndARepeatGetsTheFirstReceipts) {
  const std::vector<v1::PostMessageRequest> posts = {Post("thessaloniki"), Post("chalkidona"), Post("thessaloniki")};
  v1::BatchPostMessagesResponse first;
  ASSERT_TRUE(BatchPost(posts, &first).ok());
  ASSERT_EQ(first.receipts_size(), 3);
  EXPECT_EQ(first.receipts(0).sequence(), 1);
  EXPECT_EQ(first.receipts(1).sequence(), 1);  // Chalkidona's own mailbox
  EXPECT_EQ(first.receipts(2).sequence(), 2);
  EXPECT_EQ(Pending("thessaloniki"), 2);
  // The operator's audit log has a line for each message, as if posted alone.
  v1::ListHubAuditEntriesResponse log;
  {
    grpc::Status listed = v1::AdminService::NewStub(hub_.Channel("operator"))
                              ->ListHubAuditEntries(::kentra::testing::SessionContext("").get(), {}, &log);
    ASSERT_TRUE(listed.ok()) << listed.error_message();
  }
  ASSERT_GE(log.hub_audit_entries_size(), 3);
  for (int i = 0; i < 3; ++i) {  // newest first
    const auto& line = log.hub_audit_entries(i);
    const auto& post = posts[static_cast<size_t>(2 - i)];
    SCOPED_TRACE(line.detail());
    EXPECT_EQ(line.method(), "MailboxService.BatchPostMessages");
    EXPECT_EQ(line.principal(), "centre/kassandra");
    EXPECT_EQ(line.outcome(), "OK");
    EXPECT_EQ(line.detail(), absl::StrCat("to ", post.recipient(), ", message ", post.message_id(), ", referral ",
                                          post.referral_id(), ", ", post.sealed().size(), " B, sequence ",
                                          first.receipts(2 - i).sequence()));
  }

  // Sent again (the node never heard the answer), and with a new one after a
  // new one after them: the old ones are not stored twice. (A repeat inside one
  // batch is refused: see ABatchWithOneBadPostIsRefusedWholeNamingIt.)
  const auto fresh = Post("thessaloniki");
  v1::BatchPostMessagesResponse again;
  ASSERT_TRUE(BatchPost({posts[0], posts[1], posts[2], fresh}, &again).ok());
  ASSERT_EQ(again.receipts_size(), 4);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(again.receipts(i).sequence(), first.receipts(i).sequence());
    EXPECT_EQ(again.receipts(i).post_time().seconds(), first.receipts(i).post_time().seconds());
  }
  EXPECT_EQ(again.receipts(3).sequence(), 3);
  EXPECT_EQ(Pending("thessaloniki"), 3);
  EXPECT_EQ(Pending("chalkidona"), 1);

  // What Thessaloniki fetches is exactly that, in the order posted.
  v1::FetchMessagesResponse box;
  grpc::ClientContext ctx;
  ASSERT_TRUE(v1::MailboxService::NewStub(hub_.Channel("centres/thessaloniki"))
                  ->FetchMessages(&ctx, v1::FetchMessagesRequest(), &box)
                  .ok());
  ASSERT_EQ(box.messages_size(), 3);
  EXPECT_EQ(box.messages(0).message_id(), posts[0].message_id());
  EXPECT_EQ(box.messages(1).message_id(), posts[2].message_id());
  EXPECT_EQ(box.messages(2).message_id(), fresh.message_id());
  EXPECT_EQ(box.messages(2).sender(), "kassandra");
}

// A sender asks which of its posts the hub holds: those it posted, and that
// were acknowledged since, are known; another centre's, and those never
// posted, are not. Bad requests are refused whole.
TEST_F(MailboxTest, CheckPostsNamesThePostsTheHubHoldsNoneOf) {
  const auto delivered = Post("thessaloniki");
  const auto waiting = Post("chalkidona");
  v1::BatchPostMessagesResponse receipts;
  ASSERT_TRUE(BatchPost({delivered, waiting}, &receipts).ok());
  auto thessaloniki = v1::MailboxService::NewStub(hub_.Channel("centres/thessaloniki"));
  ASSERT_EQ(Ack("thessaloniki", {receipts.receipts(0).sequence()}), 1);
  const std::string never = absl::BytesToHexString(RandomBytes(16));
  v1::CheckPostsRequest check;
  for (const auto& id : {delivered.message_id(), never, waiting.message_id()}) check.add_message_ids(id);
  v1::CheckPostsResponse out;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(kassandra_->CheckPosts(&ctx, check, &out).ok());
  }
  ASSERT_EQ(out.unknown_message_ids_size(), 1);
  EXPECT_EQ(out.unknown_message_ids(0), never);
  EXPECT_EQ(out.post_ttl().seconds(), 30 * 24 * 3600);
  // Kassandra's posts are no other centre's.
  {
    grpc::ClientContext ctx;
    v1::CheckPostsResponse theirs;
    ASSERT_TRUE(thessaloniki->CheckPosts(&ctx, check, &theirs).ok());
    EXPECT_EQ(theirs.unknown_message_ids_size(), 3);
  }

  v1::CheckPostsRequest none, too_many, bad_id;
  for (int i = 0; i <= kMaxCheckPosts; ++i) too_many.add_message_ids(never);
  bad_id.add_message_ids(never);
  bad_id.add_message_ids("ABC");
  for (const auto& [bad, error] : std::vector<std::pair<v1::CheckPostsRequest, std::string>>{
           {none, "message_ids: give 1 to 1000"},
           {too_many, "message_ids: give 1 to 1000"},
           {bad_id, "message_ids[1]: must be 32 lowercase hex digits"}}) {
    SCOPED_TRACE(error);
    grpc::ClientContext ctx;
    v1::CheckPostsResponse refused;
    EXPECT_THAT(kassandra_->CheckPosts(&ctx, bad, &refused), GrpcStatusIs(grpc::INVALID_ARGUMENT, error));
  }
}

// A centre that stored less than it acknowledged (its node restored from a
// backup) makes the hub forget the posts of what it lost, and only of that:
// their senders find them unknown and post them again.
TEST_F(MailboxTest, ReconcileMailboxForgetsThePostsOfWhatTheRecipientLost) {
  const std::vector<v1::PostMessageRequest> posts = {Post("thessaloniki"), Post("thessaloniki"), Post("thessaloniki"),
                                                     Post("chalkidona")};
  v1::BatchPostMessagesResponse receipts;
  ASSERT_TRUE(BatchPost(posts, &receipts).ok());
  auto thessaloniki = v1::MailboxService::NewStub(hub_.Channel("centres/thessaloniki"));
  ASSERT_EQ(Ack("thessaloniki", {1, 2}), 2);  // the third still waits
  auto reconcile = [&](int64_t stored_through, v1::ReconcileMailboxResponse* out) {
    v1::ReconcileMailboxRequest request;
    request.set_stored_through(stored_through);
    grpc::ClientContext ctx;
    return thessaloniki->ReconcileMailbox(&ctx, request, out);
  };
  v1::ReconcileMailboxResponse out;
  ASSERT_TRUE(reconcile(2, &out).ok());
  EXPECT_EQ(out.lost_messages(), 0) << "it holds what it acknowledged";
  ASSERT_TRUE(reconcile(1, &out).ok());
  EXPECT_EQ(out.lost_messages(), 1);
  ASSERT_TRUE(reconcile(1, &out).ok());
  EXPECT_EQ(out.lost_messages(), 0) << "told once";
  v1::CheckPostsRequest check;
  for (const auto& p : posts) check.add_message_ids(p.message_id());
  v1::CheckPostsResponse unknown;
  grpc::ClientContext ctx;
  ASSERT_TRUE(kassandra_->CheckPosts(&ctx, check, &unknown).ok());
  ASSERT_EQ(unknown.unknown_message_ids_size(), 1);
  EXPECT_EQ(unknown.unknown_message_ids(0), posts[1].message_id()) << "not the one still waiting, nor Chalkidona's";
  // Restarted, the hub still knows what was acknowledged.
  hub_.Restart();
  thessaloniki = v1::MailboxService::NewStub(hub_.Channel("centres/thessaloniki"));
  ASSERT_TRUE(reconcile(0, &out).ok());
  EXPECT_EQ(out.lost_messages(), 1) << "the first";
  EXPECT_THAT(reconcile(-1, &out), GrpcStatusIs(grpc::INVALID_ARGUMENT, "stored_through: must not be negative"));
}

TEST_F(MailboxTest, AWatchHandsABacklogOverInFewResponsesInOrder) {
  constexpr int kBacklog = 120;
  std::vector<std::string> posted;
  for (int sent = 0; sent < kBacklog;) {
    std::vector<v1::PostMessageRequest> posts;
    for (int i = 0; i < 40; ++i, ++sent) posts.push_back(Post("thessaloniki"));
    for (const auto& p : posts) posted.push_back(p.message_id());
    v1::BatchPostMessagesResponse out;
    ASSERT_TRUE(BatchPost(posts, &out).ok());
  }
  grpc::ClientContext ctx;
  auto watch = v1::MailboxService::NewStub(hub_.Channel("centres/thessaloniki"))
                   ->WatchMessages(&ctx, v1::WatchMessagesRequest());
  std::vector<std::string> received;
  int responses = 0;
  v1::WatchMessagesResponse response;
  while (static_cast<int>(received.size()) < kBacklog && watch->Read(&response)) {
    ++responses;
    for (const auto& m : response.messages()) {
      EXPECT_EQ(m.sequence(), static_cast<int64_t>(received.size()) + 1);
      received.push_back(m.message_id());
    }
  }
  ctx.TryCancel();
  watch->Finish();
  EXPECT_EQ(received, posted);
  // 50 per page: 3 responses, where one per message would be 120.
  EXPECT_LE(responses, 3);
}

// The operator's view of one centre, by ListCentres.
v1::CentreStatus CentreStatusOf(TestHub& hub, const std::string& centre) {
  v1::ListCentresResponse all;
  grpc::ClientContext ctx;
  EXPECT_TRUE(v1::AdminService::NewStub(hub.Channel("operator"))->ListCentres(&ctx, v1::ListCentresRequest(), &all).ok());
  for (const auto& c : all.centres()) {
    if (c.centre() == centre) return c;
  }
  ADD_FAILURE() << centre << " is not listed";
  return v1::CentreStatus();
}

TEST_F(MailboxTest, TheOperatorSeesWhoseMailWaitsSinceWhenAndWhichNodesWatch) {
  EXPECT_EQ(CentreStatusOf(hub_, "thessaloniki").mail_waiting(), 0);
  EXPECT_FALSE(CentreStatusOf(hub_, "thessaloniki").has_oldest_mail_time());
  v1::BatchPostMessagesResponse posted;
  ASSERT_TRUE(BatchPost({Post("thessaloniki"), Post("thessaloniki")}, &posted).ok());
  v1::CentreStatus thessaloniki = CentreStatusOf(hub_, "thessaloniki");
  EXPECT_EQ(thessaloniki.mail_waiting(), 2);
  EXPECT_EQ(thessaloniki.oldest_mail_time().seconds(), posted.receipts(0).post_time().seconds());
  EXPECT_FALSE(thessaloniki.watching()) << "its node is not watching: the mail waits for its sync";

  // Thessaloniki's node watches, takes both and acknowledges them.
  auto thessaloniki_node = v1::MailboxService::NewStub(hub_.Channel("centres/thessaloniki"));
  grpc::ClientContext watch_ctx;
  auto watch = thessaloniki_node->WatchMessages(&watch_ctx, v1::WatchMessagesRequest());
  v1::WatchMessagesResponse got;
  ASSERT_TRUE(watch->Read(&got));
  ASSERT_EQ(got.messages_size(), 2);
  EXPECT_TRUE(CentreStatusOf(hub_, "thessaloniki").watching());
  EXPECT_FALSE(CentreStatusOf(hub_, "chalkidona").watching());
  std::vector<int64_t> sequences;
  for (const auto& m : got.messages()) sequences.push_back(m.sequence());
  ASSERT_GE(Ack("thessaloniki", sequences), 0);
  thessaloniki = CentreStatusOf(hub_, "thessaloniki");
  EXPECT_EQ(thessaloniki.mail_waiting(), 0);
  EXPECT_FALSE(thessaloniki.has_oldest_mail_time());

  // The watch ends: within its once-a-second check, the hub no longer counts it.
  watch_ctx.TryCancel();
  watch->Finish();
  for (int i = 0; i < 50 && CentreStatusOf(hub_, "thessaloniki").watching(); ++i) absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(CentreStatusOf(hub_, "thessaloniki").watching());
}

v1::MailboxMessage Message(const std::string& sender, const std::string& recipient) {
  return MailboxServiceImpl::MessageOf(Post(recipient), sender);
}

TEST(MailboxSequenceTest, ANumberIsNeverGivenTwiceEvenIfTheMessageItWentWithIsLost) {
  // A message is shown to its recipient's watch as soon as it is written, before
  // the sync that a crash of the machine could come before. Losing it then must
  // not let its number go to the next message, or the recipient's
  // acknowledgement of the lost one would delete that one.
  kentra::testing::TempDir dir;
  FakeClock clock(absl::FromUnixSeconds(1795000000));
  v1::MailboxMessage lost = Message("kassandra", "thessaloniki");
  int64_t lost_sequence = 0;
  {
    auto mailbox = Mailbox::Open(dir.path(), &clock, absl::Hours(24 * 30));
    ASSERT_OK(mailbox);
    ASSERT_OK((*mailbox)->Post(Message("kassandra", "thessaloniki")));
    auto receipt = (*mailbox)->Post(lost);
    ASSERT_OK(receipt);
    lost_sequence = receipt->sequence();
    bool more = false;
    auto seen = (*mailbox)->Fetch("thessaloniki", 0, 10, &more);
    ASSERT_OK(seen);
    ASSERT_EQ(seen->size(), 2u);
    EXPECT_EQ(seen->back().sequence(), lost_sequence);
  }
  {
    // What the lost message's own write held: the message and its post receipt.
    auto store = Store::Open(dir.path(), {"messages", "posts", "boxes", "acknowledged"});
    ASSERT_OK(store);
    WriteBatch crash;
    crash.Delete(0, absl::StrCat("thessaloniki/", keys::PaddedSequence(static_cast<uint64_t>(lost_sequence))));
    crash.Delete(1, absl::StrCat("kassandra/", lost.message_id()));
    ASSERT_OK((*store)->Write(crash));
  }
  auto mailbox = Mailbox::Open(dir.path(), &clock, absl::Hours(24 * 30));
  ASSERT_OK(mailbox);
  EXPECT_EQ((*mailbox)->Pending("thessaloniki"), 1);
  auto next = (*mailbox)->Post(Message("chalkidona", "thessaloniki"));
  ASSERT_OK(next);
  EXPECT_GT(next->sequence(), lost_sequence);
  // The recipient acknowledges the lost message: nothing else goes.
  EXPECT_EQ(*(*mailbox)->Ack("thessaloniki", {lost_sequence}), 0);
  EXPECT_EQ((*mailbox)->Pending("thessaloniki"), 2);
  // The sender, with no receipt, posts it again: it is stored anew.
  auto again = (*mailbox)->Post(lost);
  ASSERT_OK(again);
  EXPECT_GT(again->sequence(), next->sequence());
  EXPECT_EQ((*mailbox)->Pending("thessaloniki"), 3);
}

TEST(MailboxNoticeTest, ANoticeTheRecipientLostIsPostedAgainByTheHub) {
  // A node restored from a backup taken before it stored the hub's notice that
  // one of its messages expired undelivered: no node would post that again.
  kentra::testing::TempDir dir;
  FakeClock clock(absl::FromUnixSeconds(1795000000));
  auto mailbox = Mailbox::Open(dir.path(), &clock, absl::Hours(24 * 30));
  ASSERT_OK(mailbox);
  const v1::MailboxMessage never_collected = Message("kassandra", "chalkidona");
  ASSERT_OK((*mailbox)->Post(never_collected));
  auto stored = (*mailbox)->Post(Message("thessaloniki", "kassandra"));  // stored by Kassandra, before the backup
  ASSERT_OK(stored);
  ASSERT_EQ(*(*mailbox)->Ack("kassandra", {stored->sequence()}), 1);
  clock.Advance(absl::Hours(24 * 30) + absl::Seconds(1));
  ASSERT_EQ(*(*mailbox)->ExpireOld(), 1);
  bool more = false;
  auto delivered = (*mailbox)->Fetch("kassandra", 0, 10, &more);
  ASSERT_OK(delivered);
  ASSERT_EQ(delivered->size(), 1u);
  const v1::MailboxMessage notice = delivered->front();
  ASSERT_EQ(notice.sender(), kHubSender);
  ASSERT_EQ(notice.undelivered().message_id(), never_collected.message_id());
  ASSERT_EQ(*(*mailbox)->Ack("kassandra", {notice.sequence()}), 1);
  ASSERT_EQ((*mailbox)->Pending("kassandra"), 0);

  // Restored, Kassandra holds its mail through the first message only.
  EXPECT_EQ(*(*mailbox)->ForgetLostDeliveries("kassandra", stored->sequence()), 1);
  auto again = (*mailbox)->Fetch("kassandra", notice.sequence(), 10, &more);
  ASSERT_OK(again);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_GT(again->front().sequence(), notice.sequence());
  EXPECT_EQ(again->front().sender(), kHubSender);
  EXPECT_EQ(again->front().message_id(), notice.message_id());
  EXPECT_EQ(again->front().undelivered().SerializeAsString(), notice.undelivered().SerializeAsString());
  EXPECT_EQ(again->front().post_time().seconds(), absl::ToUnixSeconds(clock.Now()));
  // Told once: the notice posted again waits, and is not lost.
  EXPECT_EQ(*(*mailbox)->ForgetLostDeliveries("kassandra", stored->sequence()), 0);
  EXPECT_EQ((*mailbox)->Pending("kassandra"), 1);
}

TEST(MailboxWaitTest, AWaitingWatchWakesForItsOwnMailAndEveryOneAtClose) {
  // Bounds far beyond any wake-up: a watch not woken would sit out its whole timeout.
  constexpr absl::Duration kLong = absl::Seconds(120);
  constexpr absl::Duration kWoken = absl::Seconds(60);
  kentra::testing::TempDir dir;
  FakeClock clock(absl::FromUnixSeconds(1795000000));
  auto mailbox = Mailbox::Open(dir.path(), &clock, absl::Hours(24 * 30));
  ASSERT_OK(mailbox);
  Mailbox& box = **mailbox;
  // Nothing waits: a short wait times out empty-handed.
  EXPECT_FALSE(box.AwaitAfter("thessaloniki", 0, absl::Milliseconds(10)));

  // A post to another centre does not count; one to Thessaloniki wakes its watch.
  bool thessaloniki_woke = false;
  absl::Duration thessaloniki_waited;
  std::thread watch([&] {
    const absl::Time start = absl::Now();
    thessaloniki_woke = box.AwaitAfter("thessaloniki", 0, kLong);
    thessaloniki_waited = absl::Now() - start;
  });
  ASSERT_OK(box.Post(Message("kassandra", "chalkidona")));
  ASSERT_OK(box.Post(Message("kassandra", "thessaloniki")));
  watch.join();
  EXPECT_TRUE(thessaloniki_woke);
  EXPECT_LT(thessaloniki_waited, kWoken);
  // Past what it holds, it waits again; Close wakes every watch, with nothing.
  std::vector<std::thread> watches;
  std::vector<int> woke(2, -1);
  std::vector<absl::Duration> waited(2);
  const std::vector<std::string> recipients = {"thessaloniki", "ermionida"};
  for (size_t i = 0; i < recipients.size(); ++i) {
    watches.emplace_back([&, i] {
      const absl::Time start = absl::Now();
      woke[i] = box.AwaitAfter(recipients[i], 1, kLong) ? 1 : 0;
      waited[i] = absl::Now() - start;
    });
  }
  absl::SleepFor(absl::Milliseconds(50));  // (both waiting, most likely; Close holds either way)
  box.Close();
  for (auto& w : watches) w.join();
  for (size_t i = 0; i < recipients.size(); ++i) {
    SCOPED_TRACE(recipients[i]);
    EXPECT_EQ(woke[i], 0);
    EXPECT_LT(waited[i], kWoken);
  }
}

// One client held 200 watches of one mailbox open. A centre has one watch: a
// new one replaces the old, which ends at once, and mail goes to the new one.
TEST_F(MailboxTest, ANewWatchReplacesTheCentresOldOne) {
  auto stub = v1::MailboxService::NewStub(hub_.Channel("centres/thessaloniki"));
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::WatchMessagesResponse>>> watches;
  for (int i = 0; i < 3; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    watches.push_back(stub->WatchMessages(contexts.back().get(), v1::WatchMessagesRequest()));
    // Each is open at the hub before the next (its first post reaches it).
    v1::BatchPostMessagesResponse out;
    ASSERT_TRUE(BatchPost({Post("thessaloniki")}, &out).ok());
    v1::WatchMessagesResponse got;
    ASSERT_TRUE(watches.back()->Read(&got));
  }
  for (int i = 0; i < 2; ++i) {
    v1::WatchMessagesResponse more;
    while (watches[static_cast<size_t>(i)]->Read(&more)) {
    }
    EXPECT_THAT(watches[static_cast<size_t>(i)]->Finish(),
                GrpcStatusIs(grpc::ABORTED, "centre/thessaloniki opened a newer watch of its mailbox"));
  }
  EXPECT_TRUE(hub_.server().mailbox()->StatusOf("thessaloniki")->watched);
  contexts.back()->TryCancel();
  watches.back()->Finish();
}

}  // namespace
}  // namespace kentra::hub
