// Referrals across real processes: a kentra-hub and three kentra-nodes on
// 127.0.0.1, each in its own process with its own RocksDB. The full loop; a
// referral sent while the hub is down, which says so until it goes; the
// hub SIGKILLed while referrals flow and the receiving node SIGKILLed while it
// stores them (each referral still arrives exactly once); and a canary: the ΑΜΚΑ
// and name carried by a referral appear nowhere in the hub's storage or logs,
// while the same search finds them at the receiving node.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace kentra::testing {
namespace {

namespace nv1 = kentra::node::v1;

bool WaitFor(const std::function<bool()>& done, absl::Duration limit = absl::Seconds(20)) {
  const absl::Time until = absl::Now() + limit;
  while (absl::Now() < until) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

// Whether any file under `dir` (or `dir` itself, if a file) holds `needle`.
bool AnyFileHolds(const std::string& dir, const std::string& needle) {
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_regular_file(dir)) {
    files.push_back(dir);
  } else {
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) return true;
  }
  return false;
}

// A federation of processes: the hub (its stderr kept in a file) and nodes,
// each started, stopped and killed on its own data dir and port.
class Federation {
 public:
  Federation() {
    WriteTestRoster(dir_.path());
    StartHub("127.0.0.1:0");
  }

  void StartHub(const std::string& listen) {
    const std::string command =
        absl::StrCat("exec '", KENTRA_HUB_BINARY, "' --config='", SourceDir(), "/configs/hub.textproto' --data_dir='",
                     HubDir(), "' --listen=", listen, " --secrets_dir='", TestPkiDir(), "/hub' 2>>'", HubLog(), "'");
    hub_ = std::make_unique<ChildProcess>(std::vector<std::string>{"/bin/sh", "-c", command});
    ASSERT_GT(hub_->port(), 0);
    hub_address_ = absl::StrCat("127.0.0.1:", hub_->port());
  }
  void KillHub() { hub_->Stop(SIGKILL); }
  void RestartHub() { StartHub(hub_address_); }
  void StopHub() { hub_->Stop(SIGTERM); }

  void StartNode(const std::string& centre, const std::string& listen = "127.0.0.1:0") {
    const std::string data = NodeDir(centre);
    if (!std::filesystem::exists(data)) BootstrapForTests(centre, data);
    auto& node = nodes_[centre];
    node = std::make_unique<ChildProcess>(std::vector<std::string>{
        KENTRA_NODE_BINARY, "--config=" + SourceDir() + "/configs/centres/" + centre + ".textproto",
        "--data_dir=" + data, "--listen=" + listen, "--secrets_dir=" + TestPkiDir() + "/centres/" + centre,
        "--hub=" + hub_address_, "--roster=" + dir_.path() + "/roster.pb",
        "--roster_root_key=" + dir_.path() + "/root.pub"});
    ASSERT_GT(node->port(), 0);
    ports_[centre] = node->port();
    if (tokens_[centre].empty()) tokens_[centre] = LogIn(node->port(), Staff(centre), "coord");
  }
  void KillNode(const std::string& centre) { nodes_[centre]->Stop(SIGKILL); }
  void RestartNode(const std::string& centre) { StartNode(centre, absl::StrCat("127.0.0.1:", ports_[centre])); }
  void StopAll() {
    for (auto& [id, node] : nodes_) node->Stop(SIGTERM);
    StopHub();
  }

  std::unique_ptr<nv1::StaffService::Stub> StaffStub(const std::string& centre) {
    return nv1::StaffService::NewStub(Channel(centre));
  }
  std::unique_ptr<nv1::ReferralService::Stub> Referrals(const std::string& centre) {
    return nv1::ReferralService::NewStub(Channel(centre));
  }
  std::unique_ptr<grpc::ClientContext> Context(const std::string& centre) { return SessionContext(tokens_[centre]); }

  std::string HubDir() const { return dir_.path() + "/hub"; }
  std::string HubLog() const { return dir_.path() + "/hub.log"; }
  std::string NodeDir(const std::string& centre) const { return dir_.path() + "/" + centre; }

 private:
  static std::string Staff(const std::string& centre) { return "centres/" + centre + "/staff"; }
  std::shared_ptr<grpc::Channel> Channel(const std::string& centre) {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", ports_[centre]), TestCredentials(Staff(centre)));
  }

  TempDir dir_;
  std::unique_ptr<ChildProcess> hub_;
  std::string hub_address_;
  std::map<std::string, std::unique_ptr<ChildProcess>> nodes_;
  std::map<std::string, int> ports_;
  std::map<std::string, std::string> tokens_;
};

// Registers a person at `centre` with consent to share for referral.
std::string Person(Federation& f, const std::string& centre, int serial) {
  nv1::CreateBeneficiaryRequest create;
  *create.mutable_beneficiary() = SampleBeneficiary(serial);
  auto* consent = create.mutable_beneficiary()->add_consents();
  consent->set_purpose(nv1::CONSENT_PURPOSE_REFERRAL_SHARING);
  consent->set_state(nv1::CONSENT_STATE_GIVEN);
  nv1::Beneficiary b;
  grpc::Status s = f.StaffStub(centre)->CreateBeneficiary(f.Context(centre).get(), create, &b);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return b.name();
}

nv1::CreateReferralRequest Request(const std::string& beneficiary, const std::string& to, const std::string& id) {
  nv1::CreateReferralRequest r;
  r.set_request_id(id);
  r.mutable_referral()->set_beneficiary(beneficiary);
  r.mutable_referral()->set_receiving_centre(to);
  r.mutable_referral()->set_service(kentra::type::v1::SERVICE_TYPE_COUNSELLING);
  r.mutable_referral()->set_urgency(nv1::REFERRAL_URGENCY_URGENT);
  r.mutable_referral()->set_reason("Domestic-violence counselling, closer to the person's new home");
  return r;
}

// `centre`'s referrals in one direction (all pages).
std::vector<nv1::Referral> ListAll(Federation& f, const std::string& centre, nv1::ReferralDirection way) {
  std::vector<nv1::Referral> out;
  nv1::ListReferralsRequest req;
  req.set_direction(way);
  req.set_page_size(200);
  for (int page = 0; page < 20; ++page) {
    nv1::ListReferralsResponse resp;
    if (!f.Referrals(centre)->ListReferrals(f.Context(centre).get(), req, &resp).ok()) return {};
    out.insert(out.end(), resp.referrals().begin(), resp.referrals().end());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  return out;
}

// Referral `name` as `centre` holds it; empty (no name) if it cannot be read.
nv1::Referral ReferralAt(Federation& f, const std::string& centre, const std::string& name) {
  nv1::GetReferralRequest req;
  req.set_name(name);
  nv1::Referral r;
  if (!f.Referrals(centre)->GetReferral(f.Context(centre).get(), req, &r).ok()) return {};
  return r;
}

nv1::ReferralState StateAt(Federation& f, const std::string& centre, const std::string& name) {
  return ReferralAt(f, centre, name).state();
}

TEST(ReferralProcessTest, TheFullLoopAcrossAHubAndThreeNodesLeavesNothingPersonalAtTheHub) {
  Federation f;
  for (const char* c : {"kassandra", "thessaloniki", "chalkidona"}) f.StartNode(c);
  // The canary: a planted ΑΜΚΑ and name, carried to Thessaloniki.
  const nv1::Beneficiary canary = SampleBeneficiary(4242);
  const std::string from_kassandra = Person(f, "kassandra", 4242);
  const std::string from_chalkidona = Person(f, "chalkidona", 77);
  nv1::Referral a, b;
  ASSERT_TRUE(f.Referrals("kassandra")->CreateReferral(f.Context("kassandra").get(),
                                                       Request(from_kassandra, "thessaloniki", "loop-a"), &a).ok());
  ASSERT_TRUE(f.Referrals("chalkidona")->CreateReferral(f.Context("chalkidona").get(),
                                                        Request(from_chalkidona, "thessaloniki", "loop-b"), &b).ok());
  ASSERT_TRUE(WaitFor([&] { return StateAt(f, "thessaloniki", a.name()) == nv1::REFERRAL_STATE_RECEIVED; }));
  ASSERT_TRUE(WaitFor([&] { return StateAt(f, "thessaloniki", b.name()) == nv1::REFERRAL_STATE_RECEIVED; }));

  auto thessaloniki = f.Referrals("thessaloniki");
  nv1::Referral out;
  nv1::AcceptReferralRequest accept;
  accept.set_name(a.name());
  accept.set_open_case(true);
  ASSERT_TRUE(thessaloniki->AcceptReferral(f.Context("thessaloniki").get(), accept, &out).ok());
  nv1::StartReferralRequest start;
  start.set_name(a.name());
  ASSERT_TRUE(thessaloniki->StartReferral(f.Context("thessaloniki").get(), start, &out).ok());
  nv1::CompleteReferralRequest complete;
  complete.set_name(a.name());
  complete.set_outcome(nv1::REFERRAL_OUTCOME_SUCCESSFUL);
  ASSERT_TRUE(thessaloniki->CompleteReferral(f.Context("thessaloniki").get(), complete, &out).ok());
  nv1::RejectReferralRequest reject;
  reject.set_name(b.name());
  reject.set_reason(nv1::REJECT_REASON_NO_CAPACITY);
  ASSERT_TRUE(thessaloniki->RejectReferral(f.Context("thessaloniki").get(), reject, &out).ok());
  EXPECT_TRUE(WaitFor([&] { return StateAt(f, "kassandra", a.name()) == nv1::REFERRAL_STATE_COMPLETED; }));
  EXPECT_TRUE(WaitFor([&] { return StateAt(f, "chalkidona", b.name()) == nv1::REFERRAL_STATE_REJECTED; }));
  f.StopAll();

  // The receiving node holds the person (the search works)...
  EXPECT_TRUE(AnyFileHolds(f.NodeDir("thessaloniki"), canary.national_id().value()));
  // ...and the hub, which carried it, holds nothing of them anywhere.
  for (const std::string& needle : {canary.national_id().value(), canary.family_name(), canary.given_name()}) {
    SCOPED_TRACE(needle);
    EXPECT_FALSE(AnyFileHolds(f.HubDir(), needle));
    EXPECT_FALSE(AnyFileHolds(f.HubLog(), needle));
  }
}

TEST(ReferralProcessTest, AReferralSentWhileTheHubIsDownSaysWhyUntilItGoes) {
  Federation f;
  for (const char* c : {"kassandra", "thessaloniki"}) f.StartNode(c);
  const std::string person = Person(f, "kassandra", 31);
  f.StopHub();
  nv1::Referral sent;
  ASSERT_TRUE(f.Referrals("kassandra")
                  ->CreateReferral(f.Context("kassandra").get(), Request(person, "thessaloniki", "hub-down"), &sent)
                  .ok());
  // The courier's first post fails at once: the referral says so, in Get and in List.
  ASSERT_TRUE(WaitFor([&] { return !ReferralAt(f, "kassandra", sent.name()).delivery_problem().empty(); }));
  const nv1::Referral waiting = ReferralAt(f, "kassandra", sent.name());
  EXPECT_EQ(waiting.delivery(), nv1::REFERRAL_DELIVERY_QUEUED);
  EXPECT_NE(waiting.delivery_problem().find("have not reached the hub since"), std::string::npos)
      << waiting.delivery_problem();
  EXPECT_NE(waiting.delivery_problem().find("UNAVAILABLE"), std::string::npos) << waiting.delivery_problem();
  const auto listed = ListAll(f, "kassandra", nv1::REFERRAL_DIRECTION_OUTGOING);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].delivery_problem(), waiting.delivery_problem());

  // Back on the same address: the retry delivers it and the problem is gone.
  f.RestartHub();
  EXPECT_TRUE(WaitFor([&] { return StateAt(f, "thessaloniki", sent.name()) == nv1::REFERRAL_STATE_RECEIVED; },
                      absl::Seconds(40)));
  EXPECT_TRUE(WaitFor([&] {
    return ReferralAt(f, "kassandra", sent.name()).delivery() == nv1::REFERRAL_DELIVERY_DELIVERED;
  }));
  EXPECT_EQ(ReferralAt(f, "kassandra", sent.name()).delivery_problem(), "");
  f.StopAll();
}

TEST(ReferralProcessTest, EveryReferralArrivesOnceThoughTheHubAndTheReceiverAreKilled) {
  Federation f;
  for (const char* c : {"kassandra", "thessaloniki"}) f.StartNode(c);
  constexpr int kReferrals = 24;
  std::vector<std::string> people;
  for (int i = 0; i < kReferrals; ++i) people.push_back(Person(f, "kassandra", 100 + i));
  std::thread sender([&] {
    for (int i = 0; i < kReferrals; ++i) {
      // Each is retried with its request id until the node answers: one referral each.
      for (int attempt = 0; attempt < 50; ++attempt) {
        nv1::Referral out;
        if (f.Referrals("kassandra")
                ->CreateReferral(f.Context("kassandra").get(),
                                 Request(people[static_cast<size_t>(i)], "thessaloniki", absl::StrCat("kill-", i)), &out)
                .ok()) {
          break;
        }
        absl::SleepFor(absl::Milliseconds(50));
      }
      absl::SleepFor(absl::Milliseconds(15));
    }
  });
  // Bounded: the hub and the receiving node each SIGKILLed twice while referrals
  // flow, and restarted on the same port and data.
  for (int round = 0; round < 2; ++round) {
    absl::SleepFor(absl::Milliseconds(60));
    f.KillHub();
    absl::SleepFor(absl::Milliseconds(40));
    f.RestartHub();
    absl::SleepFor(absl::Milliseconds(60));
    f.KillNode("thessaloniki");
    absl::SleepFor(absl::Milliseconds(40));
    f.RestartNode("thessaloniki");
  }
  sender.join();
  // Every referral the sender holds reaches the receiver exactly once, and every
  // receipt comes back.
  ASSERT_TRUE(WaitFor([&] { return ListAll(f, "thessaloniki", nv1::REFERRAL_DIRECTION_INCOMING).size() >= kReferrals; },
                      absl::Seconds(60)));
  const auto outgoing = ListAll(f, "kassandra", nv1::REFERRAL_DIRECTION_OUTGOING);
  const auto incoming = ListAll(f, "thessaloniki", nv1::REFERRAL_DIRECTION_INCOMING);
  EXPECT_EQ(outgoing.size(), static_cast<size_t>(kReferrals));
  EXPECT_EQ(incoming.size(), static_cast<size_t>(kReferrals));
  std::set<std::string> names;
  for (const auto& r : incoming) names.insert(r.name());
  EXPECT_EQ(names.size(), static_cast<size_t>(kReferrals)) << "a referral stored twice";
  EXPECT_TRUE(WaitFor([&] {
    for (const auto& r : ListAll(f, "kassandra", nv1::REFERRAL_DIRECTION_OUTGOING)) {
      if (r.state() != nv1::REFERRAL_STATE_RECEIVED) return false;
    }
    return true;
  }, absl::Seconds(60)));
  f.StopAll();
}

}  // namespace
}  // namespace kentra::testing
