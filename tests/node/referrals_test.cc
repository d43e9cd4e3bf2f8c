// Referrals between centres, as their staff see them: the whole loop, the
// consent gate, idempotent sends, every transition refused to the wrong side or
// in the wrong state, an offline target, a backlog, the deadlines on fake clocks,
// and bad requests. (Hostile messages, what the hub sees, the directory and the
// indicators: referral_federation_test.cc.)
#include <functional>

#include <gtest/gtest.h>

#include "common/time_util.h"
#include "tests/node/referral_fixture.h"
#include "tests/testing/test_util.h"

namespace kentra::testing {
namespace {

namespace nv1 = kentra::node::v1;

TEST_F(ReferralTest, TheWholeLoopAndEveryStepTravelsBack) {
  const std::string person = Person(kassandra_, 1);
  nv1::Referral sent;
  ASSERT_TRUE(Send(kassandra_, Request(person), &sent).ok());
  EXPECT_EQ(sent.state(), nv1::REFERRAL_STATE_REQUESTED);
  EXPECT_EQ(sent.direction(), nv1::REFERRAL_DIRECTION_OUTGOING);
  // Ten working days from Friday 20 November: Friday 4 December.
  EXPECT_EQ(FromTimestamp(sent.accept_deadline()), kStart + absl::Hours(24 * 14));

  ASSERT_TRUE(Reaches(thessaloniki_, sent.name(), nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_TRUE(Reaches(kassandra_, sent.name(), nv1::REFERRAL_STATE_RECEIVED));
  EXPECT_EQ(Get(kassandra_, sent.name()).delivery(), nv1::REFERRAL_DELIVERY_DELIVERED);
  const nv1::Referral arrived = Get(thessaloniki_, sent.name());
  EXPECT_EQ(arrived.direction(), nv1::REFERRAL_DIRECTION_INCOMING);
  EXPECT_EQ(arrived.sending_centre(), "kassandra");
  EXPECT_EQ(arrived.receiving_site(), "west");
  EXPECT_EQ(arrived.person().family_name(), SampleBeneficiary(1).family_name());
  EXPECT_EQ(arrived.person().national_id().value(), SampleBeneficiary(1).national_id().value());
  EXPECT_TRUE(arrived.beneficiary().empty()) << "Kassandra's record name means nothing in Thessaloniki";

  auto stub = thessaloniki_.NewReferralStub();
  nv1::AcceptReferralRequest accept;
  accept.set_name(sent.name());
  accept.set_open_case(true);
  accept.set_note("Appointment on Tuesday at 10:00, Thessaloniki West");
  nv1::Referral accepted;
  ASSERT_TRUE(stub->AcceptReferral(thessaloniki_.Context().get(), accept, &accepted).ok());
  EXPECT_EQ(accepted.state(), nv1::REFERRAL_STATE_ACCEPTED);
  ASSERT_FALSE(accepted.local_case().empty());
  // The person is registered here and has a case, pre-filled from the referral.
  nv1::GetCaseRequest get_case;
  get_case.set_name(accepted.local_case());
  nv1::Case c;
  ASSERT_TRUE(thessaloniki_.NewStub()->GetCase(thessaloniki_.Context().get(), get_case, &c).ok());
  EXPECT_EQ(c.beneficiary(), accepted.beneficiary());
  EXPECT_EQ(c.assigned_worker(), "m.papadaki");
  EXPECT_EQ(c.needs(0), nv1::NEED_DOCUMENTATION);
  // Accepting again (a retry) is refused and registers nobody twice.
  EXPECT_EQ(stub->AcceptReferral(thessaloniki_.Context().get(), accept, &accepted).error_code(),
            grpc::FAILED_PRECONDITION);

  ASSERT_TRUE(Reaches(kassandra_, sent.name(), nv1::REFERRAL_STATE_ACCEPTED));
  nv1::StartReferralRequest start;
  start.set_name(sent.name());
  nv1::Referral out;
  ASSERT_TRUE(stub->StartReferral(thessaloniki_.Context().get(), start, &out).ok());
  nv1::CompleteReferralRequest complete;
  complete.set_name(sent.name());
  complete.set_outcome(nv1::REFERRAL_OUTCOME_SUCCESSFUL);
  ASSERT_TRUE(stub->CompleteReferral(thessaloniki_.Context().get(), complete, &out).ok());
  ASSERT_TRUE(Reaches(kassandra_, sent.name(), nv1::REFERRAL_STATE_COMPLETED));
  const nv1::Referral closed = Get(kassandra_, sent.name());
  EXPECT_EQ(closed.outcome(), nv1::REFERRAL_OUTCOME_SUCCESSFUL);
  // Both sides hold the same history: send, receive, accept, start, complete.
  ASSERT_EQ(closed.history_size(), 5);
  EXPECT_EQ(closed.history(2).note(), "Appointment on Tuesday at 10:00, Thessaloniki West");
  EXPECT_EQ(closed.history(2).centre(), "thessaloniki");
  EXPECT_EQ(Get(thessaloniki_, sent.name()).history_size(), 5);
  // Nothing is left in either mailbox at the hub.
  EXPECT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("kassandra") == 0; }));
  EXPECT_EQ(hub_.server().mailbox()->Pending("thessaloniki"), 0);
}

TEST_F(ReferralTest, NoConsentNoReferral) {
  const std::string never = Person(kassandra_, 2, /*consent=*/false);
  const std::string withdrawn = Person(kassandra_, 3);
  Consent(kassandra_, withdrawn, nv1::CONSENT_STATE_WITHDRAWN);
  for (const std::string& person : {never, withdrawn}) {
    const std::string before = kassandra_.FingerprintWithoutAudit();
    nv1::Referral out;
    EXPECT_THAT(Send(kassandra_, Request(person), &out), GrpcStatusIs(grpc::FAILED_PRECONDITION, "consent"));
    EXPECT_EQ(kassandra_.FingerprintWithoutAudit(), before);
  }
}

TEST_F(ReferralTest, WithdrawingConsentPurgesThePersonAtTheReceiver) {
  const std::string person = Person(kassandra_, 4);
  nv1::Referral sent;
  ASSERT_TRUE(Send(kassandra_, Request(person), &sent).ok());
  ASSERT_TRUE(Reaches(thessaloniki_, sent.name(), nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_TRUE(Get(thessaloniki_, sent.name()).has_person());
  Consent(kassandra_, person, nv1::CONSENT_STATE_WITHDRAWN);
  ASSERT_TRUE(WaitFor([&] { return !Get(thessaloniki_, sent.name()).has_person(); }));
  EXPECT_THAT(Get(thessaloniki_, sent.name()).purge_reason(), ::testing::HasSubstr("withdrew consent"));
  EXPECT_FALSE(thessaloniki_.AuditEntriesOf("PurgeReferralPerson").empty());
  // Accepting with a case needs the data that is gone.
  nv1::AcceptReferralRequest accept;
  accept.set_name(sent.name());
  accept.set_open_case(true);
  nv1::Referral out;
  EXPECT_THAT(thessaloniki_.NewReferralStub()->AcceptReferral(thessaloniki_.Context().get(), accept, &out),
              GrpcStatusIs(grpc::FAILED_PRECONDITION, "purged"));
}

TEST_F(ReferralTest, ARetriedSendCreatesOneReferral) {
  const std::string person = Person(kassandra_, 5);
  auto request = Request(person);
  request.set_request_id("7f1c2a0e-retry");
  nv1::Referral first, second;
  ASSERT_TRUE(Send(kassandra_, request, &first).ok());
  ASSERT_TRUE(Send(kassandra_, request, &second).ok());
  EXPECT_EQ(first.name(), second.name());
  ASSERT_TRUE(Reaches(thessaloniki_, first.name(), nv1::REFERRAL_STATE_RECEIVED));
  nv1::ListReferralsRequest list;
  nv1::ListReferralsResponse at_sender, at_receiver;
  ASSERT_TRUE(kassandra_.NewReferralStub()->ListReferrals(kassandra_.Context().get(), list, &at_sender).ok());
  ASSERT_TRUE(thessaloniki_.NewReferralStub()->ListReferrals(thessaloniki_.Context().get(), list, &at_receiver).ok());
  EXPECT_EQ(at_sender.referrals_size(), 1);
  EXPECT_EQ(at_receiver.referrals_size(), 1);
}

TEST_F(ReferralTest, WrongSideAndIllegalTransitionsChangeNothing) {
  const std::string person = Person(kassandra_, 6);
  nv1::Referral sent;
  ASSERT_TRUE(Send(kassandra_, Request(person), &sent).ok());
  ASSERT_TRUE(Reaches(kassandra_, sent.name(), nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_TRUE(Reaches(thessaloniki_, sent.name(), nv1::REFERRAL_STATE_RECEIVED));
  using Call = std::function<grpc::Status(TestNode&)>;
  auto accept = [&](TestNode& n) {
    nv1::AcceptReferralRequest r;
    r.set_name(sent.name());
    nv1::Referral out;
    return n.NewReferralStub()->AcceptReferral(n.Context().get(), r, &out);
  };
  auto accept_needing_twice = [&](TestNode& n) {
    nv1::AcceptReferralRequest r;
    r.set_name(sent.name());
    r.set_open_case(true);
    for (auto need : {nv1::NEED_INCOME, nv1::NEED_HOUSING, nv1::NEED_INCOME}) r.add_needs(need);
    nv1::Referral out;
    grpc::Status s = n.NewReferralStub()->AcceptReferral(n.Context().get(), r, &out);
    EXPECT_THAT(s, GrpcStatusIs(grpc::INVALID_ARGUMENT, "needs[2]: repeats needs[0]"));
    return s;
  };
  auto reject = [&](TestNode& n) {
    nv1::RejectReferralRequest r;
    r.set_name(sent.name());
    r.set_reason(nv1::REJECT_REASON_NO_CAPACITY);
    nv1::Referral out;
    return n.NewReferralStub()->RejectReferral(n.Context().get(), r, &out);
  };
  auto start = [&](TestNode& n) {
    nv1::StartReferralRequest r;
    r.set_name(sent.name());
    nv1::Referral out;
    return n.NewReferralStub()->StartReferral(n.Context().get(), r, &out);
  };
  auto complete = [&](TestNode& n) {
    nv1::CompleteReferralRequest r;
    r.set_name(sent.name());
    r.set_outcome(nv1::REFERRAL_OUTCOME_SUCCESSFUL);
    nv1::Referral out;
    return n.NewReferralStub()->CompleteReferral(n.Context().get(), r, &out);
  };
  auto cancel = [&](TestNode& n) {
    nv1::CancelReferralRequest r;
    r.set_name(sent.name());
    nv1::Referral out;
    return n.NewReferralStub()->CancelReferral(n.Context().get(), r, &out);
  };
  struct Case {
    const char* what;
    TestNode* node;
    Call call;
    grpc::StatusCode code;
  };
  auto check = [&](const std::vector<Case>& cases) {
    for (TestNode* node : {&kassandra_, &thessaloniki_}) {  // nothing left in flight
      ASSERT_TRUE(WaitFor([&] { return node->server().referrals()->Outbox(1)->empty(); }));
    }
    for (const Case& c : cases) {
      SCOPED_TRACE(c.what);
      const std::string before = c.node->FingerprintWithoutAudit();
      EXPECT_EQ(c.call(*c.node).error_code(), c.code);
      EXPECT_EQ(c.node->FingerprintWithoutAudit(), before);
    }
  };
  // In RECEIVED: the sender may not act for the receiver, nor the receiver cancel;
  // the receiver may not start or complete what it has not accepted.
  check({{"sender accepts", &kassandra_, accept, grpc::PERMISSION_DENIED},
         {"sender rejects", &kassandra_, reject, grpc::PERMISSION_DENIED},
         {"sender starts", &kassandra_, start, grpc::PERMISSION_DENIED},
         {"sender completes", &kassandra_, complete, grpc::PERMISSION_DENIED},
         {"receiver cancels", &thessaloniki_, cancel, grpc::PERMISSION_DENIED},
         {"receiver accepts naming a need twice", &thessaloniki_, accept_needing_twice, grpc::INVALID_ARGUMENT},
         {"receiver starts before accepting", &thessaloniki_, start, grpc::FAILED_PRECONDITION},
         {"receiver completes before accepting", &thessaloniki_, complete, grpc::FAILED_PRECONDITION}});
  ASSERT_TRUE(reject(thessaloniki_).ok());
  ASSERT_TRUE(Reaches(kassandra_, sent.name(), nv1::REFERRAL_STATE_REJECTED));
  EXPECT_EQ(Get(kassandra_, sent.name()).reject_reason(), nv1::REJECT_REASON_NO_CAPACITY);
  // Rejected is final, on both sides.
  check({{"accept after reject", &thessaloniki_, accept, grpc::FAILED_PRECONDITION},
         {"reject twice", &thessaloniki_, reject, grpc::FAILED_PRECONDITION},
         {"cancel after reject", &kassandra_, cancel, grpc::FAILED_PRECONDITION}});
  // A viewer may read but not act.
  nv1::CancelReferralRequest r;
  r.set_name(sent.name());
  nv1::Referral out;
  EXPECT_EQ(kassandra_.NewReferralStub()->CancelReferral(kassandra_.Context("viewer").get(), r, &out).error_code(),
            grpc::PERMISSION_DENIED);
}

TEST_F(ReferralTest, ACancelTravelsToTheReceiver) {
  nv1::Referral sent;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 7)), &sent).ok());
  ASSERT_TRUE(Reaches(thessaloniki_, sent.name(), nv1::REFERRAL_STATE_RECEIVED));
  nv1::CancelReferralRequest cancel;
  cancel.set_name(sent.name());
  cancel.set_note("The family found housing in Kassandra after all");
  nv1::Referral out;
  ASSERT_TRUE(kassandra_.NewReferralStub()->CancelReferral(kassandra_.Context().get(), cancel, &out).ok());
  ASSERT_TRUE(Reaches(thessaloniki_, sent.name(), nv1::REFERRAL_STATE_CANCELLED));
}

TEST_F(ReferralTest, AnOfflineTargetGetsItAtItsSyncOrWhenItWatchesAgain) {
  thessaloniki_.Stop();
  nv1::Referral by_sync, by_watch;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 8)), &by_sync).ok());
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("thessaloniki") == 1; }));
  EXPECT_EQ(Get(kassandra_, by_sync.name()).delivery(), nv1::REFERRAL_DELIVERY_AT_HUB);
  // Back without a live watch: nothing arrives until the node syncs.
  thessaloniki_.set_watch_referrals(false);
  thessaloniki_.Restart();
  absl::SleepFor(absl::Milliseconds(300));
  nv1::Referral out;
  EXPECT_EQ(GetReferral(thessaloniki_, by_sync.name(), &out).error_code(), grpc::NOT_FOUND);
  nv1::SyncRun run;
  ASSERT_TRUE(SyncNow(thessaloniki_, &run).ok());
  EXPECT_TRUE(run.succeeded()) << run.error();
  EXPECT_EQ(run.referral_messages_received(), 1);
  EXPECT_EQ(Get(thessaloniki_, by_sync.name()).state(), nv1::REFERRAL_STATE_RECEIVED);
  ASSERT_TRUE(Reaches(kassandra_, by_sync.name(), nv1::REFERRAL_STATE_RECEIVED));
  // Offline again; back with its watch: it arrives without a sync.
  thessaloniki_.Stop();
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 9)), &by_watch).ok());
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("thessaloniki") == 1; }));
  thessaloniki_.set_watch_referrals(true);
  thessaloniki_.Restart();
  ASSERT_TRUE(Reaches(thessaloniki_, by_watch.name(), nv1::REFERRAL_STATE_RECEIVED));
}

// Staff watching their node's referrals see each change once it is stored, with
// when that was: here a new referral at the receiving node, then its receipt
// back at the sender.
TEST_F(ReferralTest, AWatchShowsEachChangeOnceStoredWithWhen) {
  thessaloniki_.clock().Advance(absl::Minutes(7));  // the nodes' clocks differ: each stamps its own
  auto thessaloniki_stub = thessaloniki_.NewReferralStub();
  auto kassandra_stub = kassandra_.NewReferralStub();
  auto thessaloniki_ctx = thessaloniki_.Context();
  auto kassandra_ctx = kassandra_.Context();
  auto at_thessaloniki = thessaloniki_stub->WatchReferrals(thessaloniki_ctx.get(), nv1::WatchReferralsRequest());
  auto at_kassandra = kassandra_stub->WatchReferrals(kassandra_ctx.get(), nv1::WatchReferralsRequest());
  absl::SleepFor(absl::Milliseconds(300));  // both watches are open
  nv1::Referral sent;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 7)), &sent).ok());

  nv1::WatchReferralsResponse event;
  ASSERT_TRUE(at_thessaloniki->Read(&event));
  EXPECT_EQ(event.referral().name(), sent.name());
  EXPECT_EQ(event.action(), nv1::REFERRAL_ACTION_RECEIVE);
  EXPECT_EQ(event.referral().state(), nv1::REFERRAL_STATE_RECEIVED);
  EXPECT_EQ(FromTimestamp(event.store_time()), thessaloniki_.clock().Now());

  ASSERT_TRUE(at_kassandra->Read(&event));  // its own send first
  EXPECT_EQ(event.action(), nv1::REFERRAL_ACTION_SEND);
  EXPECT_EQ(FromTimestamp(event.store_time()), kassandra_.clock().Now());
  ASSERT_TRUE(at_kassandra->Read(&event));  // then the receipt
  EXPECT_EQ(event.referral().name(), sent.name());
  EXPECT_EQ(event.action(), nv1::REFERRAL_ACTION_RECEIVE);
  EXPECT_EQ(event.referral().state(), nv1::REFERRAL_STATE_RECEIVED);
  EXPECT_EQ(FromTimestamp(event.store_time()), kassandra_.clock().Now());
  thessaloniki_ctx->TryCancel();
  kassandra_ctx->TryCancel();
  at_thessaloniki->Finish();
  at_kassandra->Finish();
}

// Messages are signed and sealed as they are posted, with the key on the
// roster then: one for a centre that has left the roster meanwhile is held
// back (not sealed to a key the operator withdrew) while the rest of the outbox
// goes, and it goes once the centre is on the roster again.
TEST_F(ReferralTest, AMessageForACentreOffTheRosterIsHeldBackAndTheRestGoes) {
  hub_.Stop();  // so that both wait in Kassandra's outbox
  nv1::Referral to_chalkidona, to_thessaloniki;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 21), "chalkidona"), &to_chalkidona).ok());
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 22)), &to_thessaloniki).ok());
  // Meanwhile each says that the hub does not take them.
  ASSERT_TRUE(WaitFor([&] { return !Get(kassandra_, to_thessaloniki.name()).delivery_problem().empty(); }));
  EXPECT_NE(Get(kassandra_, to_thessaloniki.name()).delivery_problem().find("have not reached the hub"),
            std::string::npos);
  kassandra_.set_roster_without("chalkidona");
  kassandra_.Restart();
  hub_.Restart();
  ASSERT_TRUE(Reaches(thessaloniki_, to_thessaloniki.name(), nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_TRUE(Reaches(kassandra_, to_thessaloniki.name(), nv1::REFERRAL_STATE_RECEIVED));
  EXPECT_EQ(Get(kassandra_, to_chalkidona.name()).delivery(), nv1::REFERRAL_DELIVERY_QUEUED);
  EXPECT_EQ(hub_.server().mailbox()->Pending("chalkidona"), 0);
  EXPECT_TRUE(kassandra_.server().referrals()->Outbox(10)->empty()) << "nothing it could post";
  // The sending worker (and the operator) can see why.
  EXPECT_EQ(Get(kassandra_, to_chalkidona.name()).delivery_problem(),
            "centre chalkidona is no longer on this node's roster");
  EXPECT_EQ(Get(kassandra_, to_thessaloniki.name()).delivery_problem(), "");

  kassandra_.set_roster_without("");
  kassandra_.Restart();
  ASSERT_TRUE(Reaches(chalkidona_, to_chalkidona.name(), nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_TRUE(Reaches(kassandra_, to_chalkidona.name(), nv1::REFERRAL_STATE_RECEIVED));
  EXPECT_EQ(Get(kassandra_, to_chalkidona.name()).delivery_problem(), "") << "gone with its cause";
}

TEST_F(ReferralTest, AMessageTheHubRefusesWaitsWithItsReasonAndTheRestGo) {
  // The operator left Chalkidona out of the hub's registry, not of the roster.
  hub_.set_registry_without("chalkidona");
  hub_.Restart();
  nv1::Referral to_chalkidona, to_thessaloniki;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 26), "chalkidona"), &to_chalkidona).ok());
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 27)), &to_thessaloniki).ok());
  // Its cancellation waits behind it, so that Chalkidona would get both in order.
  nv1::CancelReferralRequest cancel;
  cancel.set_name(to_chalkidona.name());
  nv1::Referral cancelled;
  ASSERT_TRUE(kassandra_.NewReferralStub()->CancelReferral(kassandra_.Context().get(), cancel, &cancelled).ok());
  ASSERT_TRUE(Reaches(thessaloniki_, to_thessaloniki.name(), nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_TRUE(Reaches(kassandra_, to_thessaloniki.name(), nv1::REFERRAL_STATE_RECEIVED));
  const nv1::Referral held = Get(kassandra_, to_chalkidona.name());
  EXPECT_EQ(held.delivery(), nv1::REFERRAL_DELIVERY_QUEUED);
  EXPECT_EQ(held.delivery_problem(),
            "the hub refused a message of it (recipient: not a centre of this federation); it is offered again every 5m");
  EXPECT_EQ(Get(kassandra_, to_thessaloniki.name()).delivery_problem(), "");
  EXPECT_EQ(kassandra_.server().referrals()->Outbox(10)->size(), 0u) << "both of Chalkidona's wait";
}

TEST_F(ReferralTest, ABatchTheHubRefusesWithoutNamingAMessageIsPostedOneByOneAndOnlyTheRefusedWaits) {
  // A hub that refuses a whole batch without saying which message is wrong:
  // before, the courier offered the same batch again and again, and every
  // referral behind it waited.
  refusal_->Refuse("chalkidona");
  hub_.Stop();  // so that both go to the hub in one call
  nv1::Referral to_chalkidona, to_thessaloniki;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 36), "chalkidona"), &to_chalkidona).ok());
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 37)), &to_thessaloniki).ok());
  hub_.Restart();
  ASSERT_TRUE(Reaches(thessaloniki_, to_thessaloniki.name(), nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_TRUE(Reaches(kassandra_, to_thessaloniki.name(), nv1::REFERRAL_STATE_RECEIVED));
  const std::string why = "the hub refused a message of it (requests: give 1 to 100); it is offered again every 5m";
  ASSERT_TRUE(WaitFor([&] { return Get(kassandra_, to_chalkidona.name()).delivery_problem() == why; }))
      << Get(kassandra_, to_chalkidona.name()).delivery_problem();
  EXPECT_EQ(Get(kassandra_, to_chalkidona.name()).delivery(), nv1::REFERRAL_DELIVERY_QUEUED);
  EXPECT_EQ(Get(kassandra_, to_thessaloniki.name()).delivery_problem(), "");
  EXPECT_EQ(kassandra_.server().referrals()->Outbox(10)->size(), 0u) << "Chalkidona's waits, nothing else is queued";
}

// A step taken while the hub is out of reach has not reached the other centre,
// and the centre that took it sees so: the receiving worker's answer, and the
// sending worker's cancellation of a referral delivered before.
TEST_F(ReferralTest, AStepTheOtherCentreHasNotHeardOfShowsAsQueuedWithWhy) {
  nv1::Referral answered, cancelled;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 28)), &answered).ok());
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 29)), &cancelled).ok());
  for (const auto* r : {&answered, &cancelled}) ASSERT_TRUE(Reaches(kassandra_, r->name(), nv1::REFERRAL_STATE_RECEIVED));
  EXPECT_EQ(Get(kassandra_, cancelled.name()).delivery(), nv1::REFERRAL_DELIVERY_DELIVERED);
  EXPECT_EQ(Get(thessaloniki_, answered.name()).delivery(), nv1::REFERRAL_DELIVERY_AT_HUB) << "its receipt went";

  hub_.Stop();
  nv1::RejectReferralRequest reject;
  reject.set_name(answered.name());
  reject.set_reason(nv1::REJECT_REASON_NOT_ELIGIBLE);
  nv1::Referral out;
  ASSERT_TRUE(thessaloniki_.NewReferralStub()->RejectReferral(thessaloniki_.Context().get(), reject, &out).ok());
  EXPECT_EQ(out.delivery(), nv1::REFERRAL_DELIVERY_QUEUED) << "the answer to the reject itself says so";
  nv1::CancelReferralRequest cancel;
  cancel.set_name(cancelled.name());
  ASSERT_TRUE(kassandra_.NewReferralStub()->CancelReferral(kassandra_.Context().get(), cancel, &out).ok());
  EXPECT_EQ(out.delivery(), nv1::REFERRAL_DELIVERY_QUEUED) << "delivered, but not its cancellation";
  ASSERT_TRUE(WaitFor([&] {
    return Get(thessaloniki_, answered.name()).delivery_problem().find("have not reached the hub") != std::string::npos &&
           Get(kassandra_, cancelled.name()).delivery_problem().find("have not reached the hub") != std::string::npos;
  })) << Get(thessaloniki_, answered.name()).delivery_problem();
  EXPECT_EQ(Get(thessaloniki_, answered.name()).delivery(), nv1::REFERRAL_DELIVERY_QUEUED);
  EXPECT_EQ(Get(kassandra_, cancelled.name()).delivery(), nv1::REFERRAL_DELIVERY_QUEUED);
  // Restarted meanwhile, each node still knows what it has not sent.
  thessaloniki_.Restart();
  EXPECT_EQ(Get(thessaloniki_, answered.name()).delivery(), nv1::REFERRAL_DELIVERY_QUEUED);

  hub_.Restart();
  ASSERT_TRUE(Reaches(kassandra_, answered.name(), nv1::REFERRAL_STATE_REJECTED));
  ASSERT_TRUE(Reaches(thessaloniki_, cancelled.name(), nv1::REFERRAL_STATE_CANCELLED));
  const nv1::Referral answer_sent = Get(thessaloniki_, answered.name());
  EXPECT_EQ(answer_sent.delivery(), nv1::REFERRAL_DELIVERY_AT_HUB);
  EXPECT_EQ(answer_sent.delivery_problem(), "");
  ASSERT_TRUE(WaitFor([&] { return Get(kassandra_, cancelled.name()).delivery() == nv1::REFERRAL_DELIVERY_DELIVERED; }));
  EXPECT_EQ(Get(kassandra_, cancelled.name()).delivery_problem(), "");
}

TEST_F(ReferralTest, ANodeWithoutAHubSaysItsReferralsWaitForOne) {
  TestNode ermionida("ermionida", kStart);  // started without --hub
  nv1::Referral sent;
  ASSERT_TRUE(Send(ermionida, Request(Person(ermionida, 23)), &sent).ok());
  EXPECT_NE(sent.delivery_problem().find("runs without a hub"), std::string::npos) << "told as it is sent";
  const nv1::Referral held = Get(ermionida, sent.name());
  EXPECT_EQ(held.delivery(), nv1::REFERRAL_DELIVERY_QUEUED);
  EXPECT_NE(held.delivery_problem().find("runs without a hub"), std::string::npos) << held.delivery_problem();
}

// A target back after a while stores its backlog in a few writes, and in order:
// a referral and its cancellation in the same backlog both land.
TEST_F(ReferralTest, ABacklogIsStoredInFewWritesAndInOrder) {
  constexpr int kBacklog = 20;
  thessaloniki_.Stop();
  std::vector<std::string> sent;
  for (int i = 0; i < kBacklog; ++i) {
    nv1::Referral r;
    ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 40 + i)), &r).ok());
    sent.push_back(r.name());
  }
  nv1::CancelReferralRequest cancel;
  cancel.set_name(sent[5]);
  nv1::Referral out;
  ASSERT_TRUE(kassandra_.NewReferralStub()->CancelReferral(kassandra_.Context().get(), cancel, &out).ok());
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("thessaloniki") == kBacklog + 1; }));

  thessaloniki_.Restart();
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("thessaloniki") == 0; }));
  // Counted before any staff call writes: one write per message would be 21.
  EXPECT_LT(thessaloniki_.server().store()->write_stats().batches, 10) << "synced writes while storing the backlog";
  for (int i = 0; i < kBacklog; ++i) {
    EXPECT_EQ(Get(thessaloniki_, sent[i]).state(),
              i == 5 ? nv1::REFERRAL_STATE_CANCELLED : nv1::REFERRAL_STATE_RECEIVED);
    EXPECT_TRUE(Reaches(kassandra_, sent[i], i == 5 ? nv1::REFERRAL_STATE_CANCELLED : nv1::REFERRAL_STATE_RECEIVED));
  }
  // Thessaloniki's receipt of the cancelled one crossed the cancellation: at
  // Kassandra it says the referral was delivered, and is no refused message.
  ASSERT_TRUE(WaitFor([&] { return Get(kassandra_, sent[5]).delivery() == nv1::REFERRAL_DELIVERY_DELIVERED; }));
  EXPECT_EQ(Get(kassandra_, sent[5]).state(), nv1::REFERRAL_STATE_CANCELLED);
  EXPECT_TRUE(kassandra_.AuditEntriesOf("ReceiveReferralMessage").empty());
}

TEST_F(ReferralTest, DeadlinesExpireOnBothSidesAndTheHubReportsUndelivered) {
  // Received but not acted on: the receiver's deadline expires it, and tells the sender.
  nv1::Referral ignored;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 11)), &ignored).ok());
  ASSERT_TRUE(Reaches(kassandra_, ignored.name(), nv1::REFERRAL_STATE_RECEIVED));
  thessaloniki_.clock().Advance(absl::Hours(24 * 13));  // Thursday 3 December: not yet
  EXPECT_EQ(*thessaloniki_.server().referrals()->ExpireDue(), 0);
  thessaloniki_.clock().Advance(absl::Hours(24) + absl::Seconds(1));
  EXPECT_EQ(*thessaloniki_.server().referrals()->ExpireDue(), 1);
  EXPECT_EQ(Get(thessaloniki_, ignored.name()).state(), nv1::REFERRAL_STATE_EXPIRED);
  ASSERT_TRUE(Reaches(kassandra_, ignored.name(), nv1::REFERRAL_STATE_EXPIRED));
  nv1::AcceptReferralRequest accept;
  accept.set_name(ignored.name());
  nv1::Referral out;
  EXPECT_EQ(thessaloniki_.NewReferralStub()->AcceptReferral(thessaloniki_.Context().get(), accept, &out).error_code(),
            grpc::FAILED_PRECONDITION);

  // Never collected: Chalkidona is down for over 30 days; the hub drops the
  // message and tells Kassandra, whose referral expires undelivered.
  chalkidona_.Stop();
  nv1::Referral lost;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 12), "chalkidona"), &lost).ok());
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("chalkidona") == 1; }));
  EXPECT_EQ(*hub_.server().mailbox()->ExpireOld(), 0);
  hub_.clock().Advance(absl::Hours(24 * 30) + absl::Seconds(1));
  EXPECT_EQ(*hub_.server().mailbox()->ExpireOld(), 1);
  EXPECT_EQ(hub_.server().mailbox()->Pending("chalkidona"), 0);
  ASSERT_TRUE(Reaches(kassandra_, lost.name(), nv1::REFERRAL_STATE_EXPIRED));
  EXPECT_THAT(Get(kassandra_, lost.name()).history().rbegin()->note(), ::testing::HasSubstr("never collected"));

  // Sent and never received: the sender's own deadline expires it.
  nv1::Referral unread;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 13), "chalkidona"), &unread).ok());
  kassandra_.clock().Advance(absl::Hours(24 * 15));
  EXPECT_GE(*kassandra_.server().referrals()->ExpireDue(), 1);
  EXPECT_EQ(Get(kassandra_, unread.name()).state(), nv1::REFERRAL_STATE_EXPIRED);
  // Chalkidona back: it receives the referral, then its expiry. Its receipt
  // crossed the expiry, and marks the referral delivered at Kassandra.
  chalkidona_.Restart();
  ASSERT_TRUE(Reaches(chalkidona_, unread.name(), nv1::REFERRAL_STATE_EXPIRED));
  ASSERT_TRUE(WaitFor([&] { return Get(kassandra_, unread.name()).delivery() == nv1::REFERRAL_DELIVERY_DELIVERED; }));
  EXPECT_EQ(Get(kassandra_, unread.name()).state(), nv1::REFERRAL_STATE_EXPIRED);
  EXPECT_TRUE(kassandra_.AuditEntriesOf("ReceiveReferralMessage").empty());
}

TEST_F(ReferralTest, BadRequestsGetThePreciseStatusAndChangeNothing) {
  const std::string person = Person(kassandra_, 14);
  struct Bad {
    const char* what;
    std::function<void(nv1::CreateReferralRequest&)> mutate;
    grpc::StatusCode code;
    const char* field;
  };
  const std::vector<Bad> bad = {
      {"no beneficiary", [](auto& r) { r.mutable_referral()->clear_beneficiary(); }, grpc::INVALID_ARGUMENT, "beneficiary"},
      {"unknown beneficiary", [](auto& r) { r.mutable_referral()->set_beneficiary("beneficiaries/999999"); },
       grpc::NOT_FOUND, "beneficiary"},
      {"a site without a centre", [](auto& r) { r.mutable_referral()->clear_receiving_centre(); }, grpc::INVALID_ARGUMENT,
       "receiving_site: needs a receiving_centre"},
      {"a site the centre does not have", [](auto& r) { r.mutable_referral()->set_receiving_site("north"); },
       grpc::INVALID_ARGUMENT, "thessaloniki has no site 'north' (its sites: east, west)"},
      {"no target resolves",
       [](auto& r) {
         r.mutable_referral()->clear_receiving_centre();
         r.mutable_referral()->clear_receiving_site();
         r.mutable_referral()->set_service(kentra::type::v1::SERVICE_TYPE_MOBILE_UNIT_VISIT);  // nobody offers it
       },
       grpc::FAILED_PRECONDITION, "no centre in the federation directory offers SERVICE_TYPE_MOBILE_UNIT_VISIT"},
      {"itself", [](auto& r) { r.mutable_referral()->set_receiving_centre("kassandra"); }, grpc::INVALID_ARGUMENT,
       "receiving_centre"},
      {"not on the roster", [](auto& r) { r.mutable_referral()->set_receiving_centre("atlantis"); },
       grpc::FAILED_PRECONDITION, "roster"},
      {"bad site", [](auto& r) { r.mutable_referral()->set_receiving_site("West Side!"); }, grpc::INVALID_ARGUMENT,
       "receiving_site"},
      {"no service", [](auto& r) { r.mutable_referral()->clear_service(); }, grpc::INVALID_ARGUMENT, "service"},
      {"unknown service", [](auto& r) { r.mutable_referral()->set_service(static_cast<kentra::type::v1::ServiceType>(99)); },
       grpc::INVALID_ARGUMENT, "service"},
      {"no urgency", [](auto& r) { r.mutable_referral()->clear_urgency(); }, grpc::INVALID_ARGUMENT, "urgency"},
      {"no reason", [](auto& r) { r.mutable_referral()->clear_reason(); }, grpc::INVALID_ARGUMENT, "reason"},
      {"reason too long", [](auto& r) { r.mutable_referral()->set_reason(std::string(1001, 'x')); },
       grpc::INVALID_ARGUMENT, "reason"},
      {"note too long", [](auto& r) { r.mutable_referral()->set_note(std::string(2001, 'x')); }, grpc::INVALID_ARGUMENT,
       "note"},
      {"bad request id", [](auto& r) { r.set_request_id("not an id!"); }, grpc::INVALID_ARGUMENT, "request_id"},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.what);
    auto request = Request(person);
    b.mutate(request);
    const std::string before = kassandra_.FingerprintWithoutAudit();
    nv1::Referral out;
    EXPECT_THAT(Send(kassandra_, request, &out), GrpcStatusIs(b.code, b.field));
    EXPECT_EQ(kassandra_.FingerprintWithoutAudit(), before);
  }
  // The same request id with another body.
  auto first = Request(person);
  first.set_request_id("same-id");
  nv1::Referral out;
  ASSERT_TRUE(Send(kassandra_, first, &out).ok());
  first.mutable_referral()->set_reason("another reason");
  EXPECT_THAT(Send(kassandra_, first, &out), GrpcStatusIs(grpc::INVALID_ARGUMENT, "request_id"));
  // Names, page sizes and enum filters.
  auto stub = kassandra_.NewReferralStub();
  nv1::GetReferralRequest get;
  get.set_name("referrals/xyz");
  EXPECT_EQ(stub->GetReferral(kassandra_.Context().get(), get, &out).error_code(), grpc::INVALID_ARGUMENT);
  get.set_name("referrals/" + std::string(32, 'a'));
  EXPECT_EQ(stub->GetReferral(kassandra_.Context().get(), get, &out).error_code(), grpc::NOT_FOUND);
  nv1::ListReferralsRequest list;
  nv1::ListReferralsResponse page;
  list.set_page_size(-1);
  EXPECT_EQ(stub->ListReferrals(kassandra_.Context().get(), list, &page).error_code(), grpc::INVALID_ARGUMENT);
  list.set_page_size(100000);
  EXPECT_EQ(stub->ListReferrals(kassandra_.Context().get(), list, &page).error_code(), grpc::INVALID_ARGUMENT);
  list.set_page_size(10);
  list.set_page_token("forged");
  EXPECT_EQ(stub->ListReferrals(kassandra_.Context().get(), list, &page).error_code(), grpc::INVALID_ARGUMENT);
  list.clear_page_token();
  list.set_state(static_cast<nv1::ReferralState>(42));
  EXPECT_EQ(stub->ListReferrals(kassandra_.Context().get(), list, &page).error_code(), grpc::INVALID_ARGUMENT);
  nv1::RejectReferralRequest reject;
  reject.set_name(out.name());
  EXPECT_THAT(stub->RejectReferral(kassandra_.Context().get(), reject, &out),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "reason"));
}

// One client held 200 referral watches open. A staff member may hold a few (a
// browser tab each), no more; one that closes makes room.
TEST(ReferralWatchersTest, AStaffMemberHoldsAtMostEightWatches) {
  node::ReferralWatchers watchers;
  std::vector<int> ids;
  for (int i = 0; i < node::ReferralWatchers::kMaxWatchesPerUser; ++i) {
    auto id = watchers.Add("users/m.papadaki");
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  EXPECT_THAT(watchers.Add("users/m.papadaki"),
              ::kentra::testing::StatusIs(absl::StatusCode::kResourceExhausted, "holds 8 referral watches open"));
  EXPECT_TRUE(watchers.Add("users/coord").ok()) << "another's are their own";
  watchers.Remove(ids.front());
  EXPECT_TRUE(watchers.Add("users/m.papadaki").ok());
}

}  // namespace
}  // namespace kentra::testing
