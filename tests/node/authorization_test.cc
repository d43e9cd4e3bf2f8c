// The authorization table, cell by cell: every method of every service the node
// serves, called over real mTLS by every kind of caller. Each refusal has the
// status the policy below says and changes nothing but the audit log.
#include "node/authorization.h"

#include <fstream>
#include <iterator>
#include <map>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "kentra/node/v1/account_service.grpc.pb.h"
#include "kentra/node/v1/referral_service.grpc.pb.h"
#include "kentra/node/v1/staff_service.grpc.pb.h"
#include "tests/testing/test_util.h"

namespace kentra::node {
namespace {

using ::kentra::testing::TestNode;
using ::kentra::testing::TestPkiDir;

// The policy, written out by hand: for each method, whether a coordinator, social
// worker, psychologist, viewer, and a staff terminal without a session may call
// it ('y') or not ('-'). Everyone else (other centres, nodes, authorities, the
// operator) may call nothing on a node.
const std::map<std::string, std::string>& Policy() {
  static const auto* policy = new std::map<std::string, std::string>{
      //                                  CSPVT
      {"AccountService.Login",           "yyyyy"},
      {"AccountService.Logout",          "yyyy-"},
      {"AccountService.ChangePassword",  "yyyy-"},
      {"AccountService.CreateUser",      "y----"},
      {"AccountService.ListUsers",       "y----"},
      {"AccountService.UpdateUser",      "y----"},
      {"AccountService.ResetPassword",   "y----"},
      {"StaffService.CreateBeneficiary", "yyy--"},
      {"StaffService.GetBeneficiary",    "yyyy-"},
      {"StaffService.UpdateBeneficiary", "yyy--"},
      {"StaffService.ListBeneficiaries", "yyyy-"},
      {"StaffService.SearchBeneficiaries", "yyyy-"},
      {"StaffService.RecordConsent",     "yyy--"},
      {"StaffService.OpenCase",          "yyy--"},
      {"StaffService.GetCase",           "yyyy-"},
      {"StaffService.ListCases",         "yyyy-"},
      {"StaffService.CloseCase",         "yyy--"},
      {"StaffService.ReopenCase",        "yyy--"},
      {"StaffService.RecordServiceEvent", "yyy--"},
      {"StaffService.ListServiceEvents", "yyyy-"},
      {"StaffService.ListAuditEntries",  "y----"},
      {"StaffService.GetIndicators",     "yyyy-"},
      {"StaffService.CloseMonth",        "y----"},
      {"StaffService.SyncNow",           "y----"},
      {"StaffService.StreamSync",        "y----"},
      {"StaffService.ListSyncRuns",      "y----"},
      {"StaffService.CreateBackup",      "y----"},
      {"StaffService.ListBackups",       "y----"},
      {"ReferralService.CreateReferral", "yyy--"},
      {"ReferralService.ResolveReferralTargets", "yyyy-"},
      {"ReferralService.GetReferral",    "yyyy-"},
      {"ReferralService.ListReferrals",  "yyyy-"},
      {"ReferralService.AcceptReferral", "yyy--"},
      {"ReferralService.RejectReferral", "yyy--"},
      {"ReferralService.StartReferral",  "yyy--"},
      {"ReferralService.CompleteReferral", "yyy--"},
      {"ReferralService.CancelReferral", "yyy--"},
      {"ReferralService.WatchReferrals", "yyyy-"},
  };
  return *policy;
}

// The methods the node serves, from the service descriptors themselves, so that a
// new RPC cannot slip past this test.
std::vector<const google::protobuf::MethodDescriptor*> AllMethods() {
  std::vector<const google::protobuf::MethodDescriptor*> out;
  for (const auto* service : {v1::StaffService::service_full_name(), v1::AccountService::service_full_name(),
                              v1::ReferralService::service_full_name()}) {
    const auto* d = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    for (int i = 0; i < d->method_count(); ++i) out.push_back(d->method(i));
  }
  return out;
}

std::string Key(const google::protobuf::MethodDescriptor* m) {
  return absl::StrCat(m->service()->name(), ".", m->name());
}

TEST(AuthorizationTableTest, TheCodeTableIsThePolicyAndCoversEveryMethod) {
  const auto methods = AllMethods();
  EXPECT_EQ(methods.size(), Policy().size()) << "a method without a written policy, or a policy without a method";
  EXPECT_EQ(AuthorizationTable().size(), methods.size());
  const CallerKind staff[] = {CallerKind::kCoordinator, CallerKind::kSocialWorker, CallerKind::kPsychologist,
                              CallerKind::kViewer, CallerKind::kTerminal};
  for (const auto* m : methods) {
    SCOPED_TRACE(Key(m));
    auto policy = Policy().find(Key(m));
    ASSERT_NE(policy, Policy().end());
    for (int k = 0; k < 5; ++k) {
      EXPECT_EQ(Authorize(m->service()->name(), m->name(), staff[k]).ok(), policy->second[k] == 'y')
          << CallerKindName(staff[k]);
    }
    for (CallerKind other : {CallerKind::kOtherCentreTerminal, CallerKind::kCentreNode, CallerKind::kHub,
                             CallerKind::kAuthority, CallerKind::kOperator}) {
      EXPECT_EQ(Authorize(m->service()->name(), m->name(), other).code(), absl::StatusCode::kPermissionDenied)
          << CallerKindName(other);
    }
  }
  EXPECT_EQ(Authorize("StaffService", "NoSuchMethod", CallerKind::kCoordinator).code(),
            absl::StatusCode::kPermissionDenied);
}

// One kind of caller: the certificate it presents, the session it sends, and what
// the policy column for it is (-1: none of the staff columns; refused always).
struct Caller {
  std::string label;
  std::string identity;  // "" for no client certificate
  std::string user;      // log in as this user ("" for no session)
  int column;
};

// Calls `method` with an empty request (Login with a real one).
grpc::Status CallWithEmptyBody(const std::shared_ptr<grpc::Channel>& channel,
                               const google::protobuf::MethodDescriptor* m, const std::string& token) {
  std::string body;
  if (m->name() == "Login") {
    v1::LoginRequest login;
    login.set_user_id("viewer");
    login.set_password(::kentra::testing::kTestPassword);
    body = login.SerializeAsString();
  }
  // An admitted watch runs until its deadline.
  return ::kentra::testing::CallUnaryGeneric(channel, absl::StrCat("/", m->service()->full_name(), "/", m->name()),
                                             body, token,
                                             m->server_streaming() ? absl::Milliseconds(300) : absl::Seconds(30));
}

std::shared_ptr<grpc::Channel> ChannelAs(const TestNode& node, const std::string& identity) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (identity.empty()) {
    grpc::SslCredentialsOptions tls;  // verifies the node, presents nothing
    std::ifstream ca(TestPkiDir() + "/ca.crt");
    tls.pem_root_certs.assign(std::istreambuf_iterator<char>(ca), std::istreambuf_iterator<char>());
    creds = grpc::SslCredentials(tls);
  } else {
    creds = ::kentra::testing::TestCredentials(identity);
  }
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", node.port()), creds);
}

TEST(AuthorizationTableTest, EveryMethodWithEveryCallerOverTheWire) {
  TestNode node("kassandra");
  const std::vector<Caller> callers = {
      {"coordinator", "centres/kassandra/staff", "coord", 0},
      {"social worker", "centres/kassandra/staff", "m.papadaki", 1},
      {"psychologist", "centres/kassandra/staff", "psy", 2},
      {"viewer", "centres/kassandra/staff", "viewer", 3},
      {"own terminal, no session", "centres/kassandra/staff", "", 4},
      // A coordinator's valid token does not help from the wrong certificate.
      {"another centre's terminal", "centres/ermionida/staff", "coord", -1},
      {"this centre's node", "centres/kassandra", "coord", -1},
      {"another centre's node", "centres/thessaloniki", "", -1},
      {"authority central-macedonia", "authorities/central-macedonia", "", -1},
      {"authority peloponnese", "authorities/peloponnese", "", -1},
      {"operator", "operator", "", -1},
      {"no certificate", "", "", -2},
  };
  int cells = 0;
  for (const Caller& caller : callers) {
    auto channel = ChannelAs(node, caller.identity);
    for (const auto* m : AllMethods()) {
      // Logout ends the session it is called in: log in afresh for every call.
      node.ForgetTokens();
      const std::string token = caller.user.empty() ? "" : node.Token(caller.user);
      SCOPED_TRACE(absl::StrCat(caller.label, " calls ", Key(m)));
      const std::string& policy = Policy().at(Key(m));
      const bool allowed = caller.column >= 0 && policy[static_cast<size_t>(caller.column)] == 'y';
      const std::string before = node.FingerprintWithoutAudit();
      grpc::Status status = CallWithEmptyBody(channel, m, token);
      ++cells;
      if (allowed) {
        EXPECT_NE(status.error_code(), grpc::PERMISSION_DENIED) << status.error_message();
        EXPECT_NE(status.error_code(), grpc::UNAUTHENTICATED) << status.error_message();
        continue;
      }
      const grpc::StatusCode expected =
          caller.column == -2 || caller.column == 4 ? grpc::UNAUTHENTICATED : grpc::PERMISSION_DENIED;
      EXPECT_EQ(status.error_code(), expected) << status.error_message();
      EXPECT_EQ(node.FingerprintWithoutAudit(), before) << "a refused call changed the store";
    }
  }
  EXPECT_EQ(cells, static_cast<int>(callers.size() * Policy().size()));
}

}  // namespace
}  // namespace kentra::node
