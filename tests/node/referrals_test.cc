// Referrals between centres, in one process: a hub and nodes on 127.0.0.1 over
// real mTLS and gRPC. The whole loop, the consent gate, idempotent sends, every
// transition refused to the wrong side or in the wrong state, an offline target,
// messages a hostile hub or sender could forge, and the deadlines on fake clocks.
#include <functional>

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/sealing.h"
#include "common/time_util.h"
#include "kentra/hub/v1/mailbox_service.grpc.pb.h"
#include "kentra/referral/v1/message.pb.h"
#include "common/anon/codebook.h"
#include "common/anon/ptable.h"
#include "tests/testing/anon_oracle.h"
#include "tests/testing/test_util.h"

namespace kentra::testing {
namespace {

namespace nv1 = kentra::node::v1;
namespace rv1 = kentra::referral::v1;

// Polls `done` every 20 ms for up to 10 s.
bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

class ReferralTest : public ::testing::Test {
 protected:
  ReferralTest()
      : kassandra_("kassandra", kStart, hub_.address()),
        thessaloniki_("thessaloniki", kStart, hub_.address()),
        chalkidona_("chalkidona", kStart, hub_.address()) {
    // Each courier fetches the hub's directory as it starts.
    for (TestNode* node : {&kassandra_, &thessaloniki_, &chalkidona_}) {
      EXPECT_TRUE(WaitFor([node] { return node->server().referrals()->directory()->version() == 1; }));
    }
  }

  static inline const absl::Time kStart = absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0), absl::UTCTimeZone());

  // Registers a person at `node` (with consent to share for referral unless not).
  std::string Person(TestNode& node, int serial, bool consent = true) {
    auto stub = node.NewStub();
    nv1::CreateBeneficiaryRequest create;
    *create.mutable_beneficiary() = SampleBeneficiary(serial);
    nv1::Beneficiary b;
    EXPECT_TRUE(stub->CreateBeneficiary(node.Context().get(), create, &b).ok());
    if (consent) Consent(node, b.name(), nv1::CONSENT_STATE_GIVEN);
    return b.name();
  }

  void Consent(TestNode& node, const std::string& beneficiary, nv1::ConsentState state) {
    nv1::RecordConsentRequest r;
    r.set_name(beneficiary);
    r.mutable_consent()->set_purpose(nv1::CONSENT_PURPOSE_REFERRAL_SHARING);
    r.mutable_consent()->set_state(state);
    r.mutable_consent()->set_evidence("signed form 2026/114");
    nv1::Beneficiary b;
    grpc::Status s = node.NewStub()->RecordConsent(node.Context().get(), r, &b);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  static nv1::CreateReferralRequest Request(const std::string& beneficiary, const std::string& to = "thessaloniki") {
    nv1::CreateReferralRequest r;
    r.mutable_referral()->set_beneficiary(beneficiary);
    r.mutable_referral()->set_receiving_centre(to);
    if (to == "thessaloniki") r.mutable_referral()->set_receiving_site("west");
    r.mutable_referral()->set_service(kentra::type::v1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT);
    r.mutable_referral()->set_urgency(nv1::REFERRAL_URGENCY_ROUTINE);
    r.mutable_referral()->set_reason("Needs help with residence permit renewal; ΚΕΜ Thessaloniki");
    return r;
  }

  grpc::Status Send(TestNode& node, const nv1::CreateReferralRequest& r, nv1::Referral* out) {
    return node.NewReferralStub()->CreateReferral(node.Context().get(), r, out);
  }

  nv1::Referral Get(TestNode& node, const std::string& name) {
    nv1::GetReferralRequest r;
    r.set_name(name);
    nv1::Referral out;
    grpc::Status s = node.NewReferralStub()->GetReferral(node.Context().get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // Waits until `node` holds `name` in `state`.
  bool Reaches(TestNode& node, const std::string& name, nv1::ReferralState state) {
    return WaitFor([&] {
      nv1::GetReferralRequest r;
      r.set_name(name);
      nv1::Referral out;
      return node.NewReferralStub()->GetReferral(node.Context().get(), r, &out).ok() && out.state() == state;
    });
  }

  TestHub hub_{kStart};
  TestNode kassandra_;
  TestNode thessaloniki_;
  TestNode chalkidona_;
};

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
  nv1::GetReferralRequest get;
  get.set_name(by_sync.name());
  nv1::Referral out;
  EXPECT_EQ(thessaloniki_.NewReferralStub()->GetReferral(thessaloniki_.Context().get(), get, &out).error_code(),
            grpc::NOT_FOUND);
  nv1::SyncRun run;
  ASSERT_TRUE(thessaloniki_.NewStub()->SyncNow(thessaloniki_.Context("coord").get(), nv1::SyncNowRequest(), &run).ok());
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
}

// What a hostile hub or a forging sender could deliver, applied as the hub would
// deliver it; each is refused, audited, and creates nothing.
TEST_F(ReferralTest, ForgedTamperedReplayedAndMisdirectedMessagesAreRefused) {
  // Log in first: a session is a change too.
  thessaloniki_.AuditEntriesOf("");
  chalkidona_.AuditEntriesOf("");

  const std::string id = absl::BytesToHexString(RandomBytes(16));
  auto make = [&](const NodeKeys& signer, const std::string& signed_sender, const std::string& signed_recipient,
                  const std::string& seal_to) {
    rv1::ReferralMessage body;
    body.set_message_id(absl::BytesToHexString(RandomBytes(16)));
    auto* r = body.mutable_request()->mutable_referral();
    r->set_name("referrals/" + id);
    r->set_sending_centre(signed_sender);
    r->set_receiving_centre(signed_recipient);
    r->set_state(nv1::REFERRAL_STATE_REQUESTED);
    rv1::SignedPayload payload;
    payload.set_sender(signed_sender);
    payload.set_recipient(signed_recipient);
    payload.set_referral_id(id);
    payload.set_body(body.SerializeAsString());
    auto sealed = Seal(signer, payload, TestNodeKeys(seal_to).sealing_public);
    EXPECT_TRUE(sealed.ok());
    kentra::hub::v1::MailboxMessage m;
    m.set_sequence(1000);
    m.set_sender(signed_sender);
    m.set_recipient(seal_to);
    m.set_message_id(body.message_id());
    m.set_referral_id(id);
    m.set_sealed(sealed.value_or(""));
    return m;
  };
  const NodeKeys kassandra_keys = TestNodeKeys("kassandra");
  auto forged_keys = NodeKeys::FromSeed(RandomBytes(32));
  ASSERT_TRUE(forged_keys.ok());

  auto tampered = make(kassandra_keys, "kassandra", "thessaloniki", "thessaloniki");
  tampered.mutable_sealed()->at(100) ^= 0x01;
  auto for_another = make(kassandra_keys, "kassandra", "thessaloniki", "thessaloniki");
  // The hub claims another sender than the one who signed.
  auto wrong_sender = make(kassandra_keys, "kassandra", "thessaloniki", "thessaloniki");
  wrong_sender.set_sender("pylaia-chortiatis");
  // Signed by a key the roster does not give Kassandra (the hub swapped keys).
  auto swapped_key = make(*forged_keys, "kassandra", "thessaloniki", "thessaloniki");
  // Signed for Thessaloniki but sealed to Chalkidona's key and delivered there.
  auto resealed = make(kassandra_keys, "kassandra", "thessaloniki", "chalkidona");

  struct Forgery {
    const char* what;
    TestNode* to;
    kentra::hub::v1::MailboxMessage message;
    const char* error;
  };
  const std::vector<Forgery> forgeries = {
      {"tampered ciphertext", &thessaloniki_, tampered, "does not open"},
      {"a payload for Thessaloniki delivered to Chalkidona", &chalkidona_, for_another, "does not open"},
      {"a sender the signature does not bear out", &thessaloniki_, wrong_sender, "signed by centre kassandra"},
      {"a key not on the signed roster", &thessaloniki_, swapped_key, "signature"},
      {"signed for Thessaloniki, sealed to Chalkidona", &chalkidona_, resealed, "thessaloniki"},
  };
  for (const Forgery& f : forgeries) {
    SCOPED_TRACE(f.what);
    const size_t refusals = f.to->AuditEntriesOf("ReceiveReferralMessage").size();
    const std::string before = f.to->FingerprintWithoutAudit();
    EXPECT_OK(f.to->server().referrals()->Apply(f.message));
    EXPECT_EQ(f.to->FingerprintWithoutAudit(), before);
    const auto audit = f.to->AuditEntriesOf("ReceiveReferralMessage");
    ASSERT_EQ(audit.size(), refusals + 1);
    EXPECT_THAT(audit.front().refusal(), ::testing::HasSubstr(f.error));
  }

  // A replay: a genuine message applied once, delivered again under another
  // mailbox sequence, is refused; the same delivery again is quietly recognised.
  auto genuine = make(kassandra_keys, "kassandra", "thessaloniki", "thessaloniki");
  ASSERT_OK(thessaloniki_.server().referrals()->Apply(genuine));
  EXPECT_EQ(Get(thessaloniki_, "referrals/" + id).state(), nv1::REFERRAL_STATE_RECEIVED);
  const std::string before = thessaloniki_.FingerprintWithoutAudit();
  ASSERT_OK(thessaloniki_.server().referrals()->Apply(genuine));  // redelivered after a lost ack
  EXPECT_EQ(thessaloniki_.FingerprintWithoutAudit(), before);
  auto replay = genuine;
  replay.set_sequence(2000);
  ASSERT_OK(thessaloniki_.server().referrals()->Apply(replay));
  EXPECT_EQ(thessaloniki_.FingerprintWithoutAudit(), before);
  EXPECT_THAT(thessaloniki_.AuditEntriesOf("ReceiveReferralMessage").front().refusal(), ::testing::HasSubstr("replay"));
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
}

TEST_F(ReferralTest, EachStepCountsInTheProtectedIndicatorsOfTheCentreThatMadeIt) {
  namespace tv1 = kentra::type::v1;
  // Three referrals from Kassandra: one accepted the same day and completed, one
  // accepted five days later, one rejected.
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    nv1::Referral sent;
    ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 31 + i)), &sent).ok());
    ASSERT_TRUE(Reaches(thessaloniki_, sent.name(), nv1::REFERRAL_STATE_RECEIVED));
    ids.push_back(sent.name());
  }
  auto stub = thessaloniki_.NewReferralStub();
  auto accept = [&](const std::string& name) {
    nv1::AcceptReferralRequest r;
    r.set_name(name);
    nv1::Referral out;
    ASSERT_TRUE(stub->AcceptReferral(thessaloniki_.Context().get(), r, &out).ok());
  };
  accept(ids[0]);
  nv1::StartReferralRequest start;
  start.set_name(ids[0]);
  nv1::Referral out;
  ASSERT_TRUE(stub->StartReferral(thessaloniki_.Context().get(), start, &out).ok());
  nv1::CompleteReferralRequest complete;
  complete.set_name(ids[0]);
  complete.set_outcome(nv1::REFERRAL_OUTCOME_SUCCESSFUL);
  ASSERT_TRUE(stub->CompleteReferral(thessaloniki_.Context().get(), complete, &out).ok());
  thessaloniki_.clock().Advance(absl::Hours(24 * 5));
  accept(ids[1]);
  nv1::RejectReferralRequest reject;
  reject.set_name(ids[2]);
  reject.set_reason(nv1::REJECT_REASON_NO_CAPACITY);
  ASSERT_TRUE(stub->RejectReferral(thessaloniki_.Context().get(), reject, &out).ok());

  // What each node will send for November, against an independent computation:
  // each referral's key is its id's record key under the centre's own keys.
  auto expected = [](const std::string& centre, const std::vector<std::string>& names) {
    uint64_t key_sum = 0;
    for (const auto& n : names) key_sum += anon::RecordKey(TestCentreKeys(centre), n.substr(std::string("referrals/").size()));
    return anon::Protect(static_cast<int64_t>(names.size()), key_sum);
  };
  auto cells = [](TestNode& node) {
    auto protected_cells = node.server().records()->indicators().Protected(absl::CivilMonth(2026, 11));
    EXPECT_TRUE(protected_cells.ok()) << protected_cells.status();
    std::map<std::string, int64_t> out;
    for (const auto& c : protected_cells->cells()) {
      if (c.id().rfind("R", 0) == 0 && c.value() != 0) out[c.id()] = c.value();
    }
    return out;
  };
  const auto service = tv1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT;
  std::map<std::string, int64_t> at_kassandra = {{anon::ReferralCell(anon::ReferralStage::kSent, service),
                                                  expected("kassandra", ids)}};
  std::map<std::string, int64_t> at_thessaloniki = {
      {anon::ReferralCell(anon::ReferralStage::kReceived, service), expected("thessaloniki", ids)},
      {anon::ReferralCell(anon::ReferralStage::kAccepted, service), expected("thessaloniki", {ids[0], ids[1]})},
      {anon::ReferralCell(anon::ReferralStage::kRejected, service), expected("thessaloniki", {ids[2]})},
      {anon::ReferralCell(anon::ReferralStage::kCompleted, service), expected("thessaloniki", {ids[0]})},
      {anon::AcceptanceCell(service, 0), expected("thessaloniki", {ids[0]})},
      {"R2.migrant-integration-support.4-7", expected("thessaloniki", {ids[1]})},
  };
  // Protection may turn a true 1 into 0; only non-zero cells are listed.
  for (auto* m : {&at_kassandra, &at_thessaloniki}) {
    for (auto it = m->begin(); it != m->end();) it = it->second == 0 ? m->erase(it) : std::next(it);
  }
  ASSERT_FALSE(at_thessaloniki.empty());
  EXPECT_EQ(cells(kassandra_), at_kassandra);
  EXPECT_EQ(cells(thessaloniki_), at_thessaloniki);
  // The month is pending for the next sync at both.
  EXPECT_FALSE(kassandra_.server().records()->indicators().PendingPeriods()->empty());
}

nv1::ResolveReferralTargetsResponse Resolve(TestNode& node, kentra::type::v1::ServiceType service,
                                            const std::string& municipality, grpc::Status* status = nullptr) {
  nv1::ResolveReferralTargetsRequest q;
  q.set_service(service);
  q.set_municipality(municipality);
  nv1::ResolveReferralTargetsResponse out;
  grpc::Status s = node.NewReferralStub()->ResolveReferralTargets(node.Context().get(), q, &out);
  if (status != nullptr) *status = s;
  else EXPECT_TRUE(s.ok()) << s.error_message();
  return out;
}

TEST_F(ReferralTest, TheTargetIsResolvedAtTheSenderFromTheOperatorsDirectory) {
  namespace tv1 = kentra::type::v1;
  // Nobody serving Kassandra offers migrant integration; Thessaloniki's ΚΕΜ (west) does.
  auto targets = Resolve(kassandra_, tv1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT, "κασσανδρα");
  EXPECT_EQ(targets.directory_version(), 1);
  ASSERT_EQ(targets.targets_size(), 1);
  EXPECT_EQ(targets.targets(0).centre(), "thessaloniki");
  EXPECT_EQ(targets.targets(0).site(), "west");
  EXPECT_EQ(targets.targets(0).site_details().address_el(), "Μοναστηρίου 93Β (προσωρινά)");

  // A send without a centre goes where the directory points, for the person's municipality.
  const std::string person = Person(kassandra_, 21);  // lives in Κασσάνδρα
  auto request = Request(person);
  request.mutable_referral()->clear_receiving_centre();
  request.mutable_referral()->clear_receiving_site();
  nv1::Referral sent;
  ASSERT_TRUE(Send(kassandra_, request, &sent).ok());
  EXPECT_EQ(sent.receiving_centre(), "thessaloniki");
  EXPECT_EQ(sent.receiving_site(), "west");
  ASSERT_TRUE(Reaches(thessaloniki_, sent.name(), nv1::REFERRAL_STATE_RECEIVED));
  EXPECT_EQ(Get(thessaloniki_, sent.name()).receiving_site(), "west");

  // Bad questions.
  grpc::Status status;
  Resolve(kassandra_, tv1::SERVICE_TYPE_UNSPECIFIED, "Κασσάνδρα", &status);
  EXPECT_THAT(status, GrpcStatusIs(grpc::INVALID_ARGUMENT, "service"));
  Resolve(kassandra_, tv1::SERVICE_TYPE_COUNSELLING, "", &status);
  EXPECT_THAT(status, GrpcStatusIs(grpc::INVALID_ARGUMENT, "municipality: is required"));
  Resolve(kassandra_, tv1::SERVICE_TYPE_COUNSELLING, std::string(101, 'x'), &status);
  EXPECT_THAT(status, GrpcStatusIs(grpc::INVALID_ARGUMENT, "municipality"));

  // The ΚΕΜ moves to Chalkidona. A directory saying so but not signed by the
  // operator (the hub's own doing) is refused at the sync, and the node keeps its copy ...
  rv1::Directory moved = TestDirectory(2);
  for (auto& c : *moved.mutable_centres()) {
    if (c.id() == "chalkidona") c.add_services(tv1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT);
    if (c.id() == "thessaloniki") c.mutable_services()->RemoveLast();
  }
  auto forger = RootKeys::FromSeed(std::string(32, '\x42'));
  ASSERT_TRUE(forger.ok());
  WriteTestDirectory(hub_.directory_path(), moved, &*forger);
  nv1::SyncRun run;
  ASSERT_TRUE(kassandra_.NewStub()->SyncNow(kassandra_.Context("coord").get(), nv1::SyncNowRequest(), &run).ok());
  EXPECT_EQ(run.directory_version(), 1);
  EXPECT_EQ(Resolve(kassandra_, tv1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT, "Κασσάνδρα").targets(0).centre(),
            "thessaloniki");
  // ... until the operator's signed one is published.
  WriteTestDirectory(hub_.directory_path(), moved);
  ASSERT_TRUE(kassandra_.NewStub()->SyncNow(kassandra_.Context("coord").get(), nv1::SyncNowRequest(), &run).ok());
  EXPECT_EQ(run.directory_version(), 2);
  targets = Resolve(kassandra_, tv1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT, "Κασσάνδρα");
  EXPECT_EQ(targets.directory_version(), 2);
  ASSERT_EQ(targets.targets_size(), 1);
  EXPECT_EQ(targets.targets(0).centre(), "chalkidona");
  EXPECT_EQ(targets.targets(0).site(), "koufalia");
  // The node kept it: after a restart it still resolves with version 2.
  kassandra_.Restart();
  EXPECT_EQ(kassandra_.server().referrals()->directory()->version(), 2);
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

// Records, on the hub's side of the wire, every message the hub receives or sends.
TEST(OutboxFloorTest, MovesOnlyOverAnUnbrokenRunOfPostedKeys) {
  EXPECT_EQ(kentra::node::OutboxFloorAfter(5, {5, 6, 7}), 8u);
  // 6 was taken by a writer that has not committed it yet: 7 is posted first.
  EXPECT_EQ(kentra::node::OutboxFloorAfter(5, {5, 7}), 6u);
  EXPECT_EQ(kentra::node::OutboxFloorAfter(6, {6, 8}), 7u) << "6 came later and was posted; 7 is already gone";
  EXPECT_EQ(kentra::node::OutboxFloorAfter(5, {7, 8}), 5u);
  EXPECT_EQ(kentra::node::OutboxFloorAfter(5, {}), 5u);
}

class WireRecorder final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo*) override {
    return new Capture(this);
  }
  std::string All() {
    absl::MutexLock lock(&mu_);
    return bytes_;
  }

 private:
  class Capture final : public grpc::experimental::Interceptor {
   public:
    explicit Capture(WireRecorder* recorder) : recorder_(recorder) {}
    void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
      using grpc::experimental::InterceptionHookPoints;
      const google::protobuf::Message* m = nullptr;
      if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
        m = static_cast<const google::protobuf::Message*>(methods->GetRecvMessage());
      } else if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
        m = static_cast<const google::protobuf::Message*>(methods->GetSendMessage());
      }
      if (m != nullptr) {
        absl::MutexLock lock(&recorder_->mu_);
        recorder_->bytes_ += m->SerializeAsString();
        recorder_->bytes_ += m->DebugString();
      }
      methods->Proceed();
    }

   private:
    WireRecorder* recorder_;
  };
  absl::Mutex mu_;
  std::string bytes_ ABSL_GUARDED_BY(mu_);
};

TEST(ReferralCanaryTest, NothingTheHubReceivesOrSendsCarriesThePerson) {
  const absl::Time start = absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0), absl::UTCTimeZone());
  auto recorder = std::make_shared<WireRecorder>();
  TestHub hub(start, {recorder});
  TestNode kassandra("kassandra", start, hub.address());
  TestNode thessaloniki("thessaloniki", start, hub.address());
  const nv1::Beneficiary canary = SampleBeneficiary(31337);
  nv1::CreateBeneficiaryRequest create;
  *create.mutable_beneficiary() = canary;
  auto* consent = create.mutable_beneficiary()->add_consents();
  consent->set_purpose(nv1::CONSENT_PURPOSE_REFERRAL_SHARING);
  consent->set_state(nv1::CONSENT_STATE_GIVEN);
  nv1::Beneficiary b;
  ASSERT_TRUE(kassandra.NewStub()->CreateBeneficiary(kassandra.Context().get(), create, &b).ok());
  nv1::CreateReferralRequest request;
  request.mutable_referral()->set_beneficiary(b.name());
  request.mutable_referral()->set_receiving_centre("thessaloniki");
  request.mutable_referral()->set_service(kentra::type::v1::SERVICE_TYPE_COUNSELLING);
  request.mutable_referral()->set_urgency(nv1::REFERRAL_URGENCY_URGENT);
  request.mutable_referral()->set_reason("Canary reason text 7c1e");
  nv1::Referral sent;
  ASSERT_TRUE(kassandra.NewReferralStub()->CreateReferral(kassandra.Context().get(), request, &sent).ok());
  ASSERT_TRUE(WaitFor([&] {
    nv1::GetReferralRequest get;
    get.set_name(sent.name());
    nv1::Referral r;
    return kassandra.NewReferralStub()->GetReferral(kassandra.Context().get(), get, &r).ok() &&
           r.state() == nv1::REFERRAL_STATE_RECEIVED;
  }));
  const std::string wire = recorder->All();
  // The hub did carry the referral (its id is routing metadata)...
  EXPECT_NE(wire.find(sent.name().substr(std::string("referrals/").size())), std::string::npos);
  // ...and none of what it says.
  for (const std::string& needle : {canary.national_id().value(), canary.family_name(), canary.given_name(),
                                    std::string("Canary reason text 7c1e")}) {
    EXPECT_EQ(wire.find(needle), std::string::npos) << needle;
  }
}

}  // namespace
}  // namespace kentra::testing
