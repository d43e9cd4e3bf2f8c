// Referrals seen from beyond the two centres: messages a hostile hub or a
// forging sender could deliver, what the hub itself gets to see (a canary), the
// operator's signed directory that resolves targets at the sender, and the
// protected indicators each step counts in.
#include <functional>
#include <map>

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "common/anon/codebook.h"
#include "common/anon/ptable.h"
#include "common/crypto.h"
#include "common/sealing.h"
#include "kentra/hub/v1/mailbox_service.grpc.pb.h"
#include "kentra/referral/v1/message.pb.h"
#include "node/schema.h"
#include "tests/node/referral_fixture.h"
#include "tests/testing/anon_oracle.h"
#include "tests/testing/test_util.h"

namespace kentra::testing {
namespace {

namespace nv1 = kentra::node::v1;
namespace rv1 = kentra::referral::v1;

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

  // What each node counted and will send for November, against an independent
  // computation: each referral's key is its step key for that centre and cell.
  using Counts = std::map<std::string, std::pair<int64_t, int64_t>>;  // cell -> (count, key sum)
  auto raw = [](const std::string& centre, const std::string& cell, const std::vector<std::string>& names) {
    uint64_t key_sum = 0;
    for (const auto& n : names) {
      key_sum += anon::ReferralStepKey(TestCentreKeys(centre), centre, cell, n.substr(std::string("referrals/").size()));
    }
    return std::make_pair(static_cast<int64_t>(names.size()), static_cast<int64_t>(key_sum));
  };
  auto expected = [&](const std::string& centre, const std::string& cell, const std::vector<std::string>& names) {
    const auto [count, key_sum] = raw(centre, cell, names);
    return anon::Protect(count, static_cast<uint64_t>(key_sum));
  };
  auto counted = [](TestNode& node) {
    Counts out;
    const std::string prefix = "c/2026-11/R";
    auto it = node.server().store()->NewPrefixIterator(node::kIndicators, prefix);
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      Counter c;
      EXPECT_TRUE(DecodeCounter(it->value(), &c)) << it->key();
      out[std::string(it->key().substr(prefix.size() - 1))] = {c.count, c.key_sum};
    }
    return out;
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
  const std::string sent = anon::ReferralCell(anon::ReferralStage::kSent, service),
                    received = anon::ReferralCell(anon::ReferralStage::kReceived, service),
                    accepted = anon::ReferralCell(anon::ReferralStage::kAccepted, service),
                    rejected = anon::ReferralCell(anon::ReferralStage::kRejected, service),
                    completed = anon::ReferralCell(anon::ReferralStage::kCompleted, service),
                    same_day = anon::AcceptanceCell(service, 0), four_to_seven = "R2.migrant-integration-support.4-7";
  std::map<std::string, int64_t> at_kassandra = {{sent, expected("kassandra", sent, ids)}};
  std::map<std::string, int64_t> at_thessaloniki = {
      {received, expected("thessaloniki", received, ids)},
      {accepted, expected("thessaloniki", accepted, {ids[0], ids[1]})},
      {rejected, expected("thessaloniki", rejected, {ids[2]})},
      {completed, expected("thessaloniki", completed, {ids[0]})},
      {same_day, expected("thessaloniki", same_day, {ids[0]})},
      {four_to_seven, expected("thessaloniki", four_to_seven, {ids[1]})},
  };
  // Protection may turn a true 1 into 0; only non-zero cells are listed.
  for (auto* m : {&at_kassandra, &at_thessaloniki}) {
    for (auto it = m->begin(); it != m->end();) it = it->second == 0 ? m->erase(it) : std::next(it);
  }
  // The counts themselves, which protection hides (it may turn every one of
  // these small counts into 0).
  EXPECT_EQ(counted(kassandra_), (Counts{{sent, raw("kassandra", sent, ids)}}));
  EXPECT_EQ(counted(thessaloniki_),
            (Counts{{received, raw("thessaloniki", received, ids)},
                    {accepted, raw("thessaloniki", accepted, {ids[0], ids[1]})},
                    {rejected, raw("thessaloniki", rejected, {ids[2]})},
                    {completed, raw("thessaloniki", completed, {ids[0]})},
                    {same_day, raw("thessaloniki", same_day, {ids[0]})},
                    {four_to_seven, raw("thessaloniki", four_to_seven, {ids[1]})}}));
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
  ASSERT_TRUE(SyncNow(kassandra_, &run).ok());
  EXPECT_EQ(run.directory_version(), 1);
  EXPECT_EQ(Resolve(kassandra_, tv1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT, "Κασσάνδρα").targets(0).centre(),
            "thessaloniki");
  // ... until the operator's signed one is published.
  WriteTestDirectory(hub_.directory_path(), moved);
  ASSERT_TRUE(SyncNow(kassandra_, &run).ok());
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

// Records, on the hub's side of the wire, every message the hub receives or sends.
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
