// Who may call a node's staff API: every refused certificate and every wrong kind
// of caller gets its precise status, is audited, and changes no record.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/node_server.h"
#include "kentra/node/v1/staff_service.grpc.pb.h"
#include "node/schema.h"
#include "tests/testing/test_util.h"

namespace kentra::node {
namespace {

namespace nv1 = kentra::node::v1;
using ::kentra::testing::GrpcStatusIs;
using ::kentra::testing::SampleBeneficiary;
using ::kentra::testing::TestNode;

// Every record family except the audit log and its index entries.
std::string RecordsFingerprint(TestNode& node) {
  std::string all;
  for (int cf : {kBeneficiaries, kCases, kServiceEvents, kRequests}) {
    auto it = node.server().store()->NewIterator(cf);
    for (it->Seek(""); it->Valid(); it->Next()) absl::StrAppend(&all, cf, it->key(), "=", it->value(), ";");
  }
  return all;
}

// The audit entries of `action` (log-ins, for one, are audited too).
std::vector<nv1::AuditEntry> Audit(TestNode& node, const std::string& action = "CreateBeneficiary") {
  return node.AuditEntriesOf(action);
}

grpc::Status TryCreate(TestNode& node, const std::string& identity) {
  nv1::CreateBeneficiaryRequest request;
  *request.mutable_beneficiary() = SampleBeneficiary(7);
  nv1::Beneficiary created;
  return node.NewStub(identity)->CreateBeneficiary(node.Context().get(), request, &created);
}

struct Refused {
  std::string identity;
  grpc::StatusCode code;
  std::string message;
  std::string audited_principal;
};

void PrintTo(const Refused& r, std::ostream* os) { *os << r.identity; }

class AuthTest : public ::testing::TestWithParam<Refused> {};

TEST_P(AuthTest, RefusedCallerChangesNothingAndIsAudited) {
  const Refused& c = GetParam();
  TestNode node("kassandra");
  const std::string before = RecordsFingerprint(node);
  EXPECT_THAT(TryCreate(node, c.identity), GrpcStatusIs(c.code, c.message));
  EXPECT_EQ(RecordsFingerprint(node), before);

  const auto audit = Audit(node);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action(), "CreateBeneficiary");
  EXPECT_EQ(audit[0].principal(), c.audited_principal);
  EXPECT_NE(audit[0].refusal().find(c.message), std::string::npos) << audit[0].refusal();
  EXPECT_NE(audit[0].peer().find("127.0.0.1"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Certificates, AuthTest,
    ::testing::Values(
        Refused{"bad/expired", grpc::UNAUTHENTICATED, "it has expired", "unauthenticated"},
        Refused{"bad/not-yet-valid", grpc::UNAUTHENTICATED, "not valid yet", "unauthenticated"},
        Refused{"bad/revoked", grpc::UNAUTHENTICATED, "is revoked", "unauthenticated"},
        Refused{"bad/self-signed", grpc::UNAUTHENTICATED, "not issued by the federation CA", "unauthenticated"},
        Refused{"bad/other-ca", grpc::UNAUTHENTICATED, "not issued by the federation CA", "unauthenticated"},
        Refused{"bad/unknown-identity", grpc::UNAUTHENTICATED, "exactly one kentra:// identity", "unauthenticated"},
        Refused{"centres/ermionida/staff", grpc::PERMISSION_DENIED,
                "another centre's staff terminal may not call CreateBeneficiary", "staff/ermionida"},
        Refused{"centres/kassandra", grpc::PERMISSION_DENIED, "a centre's node may not call CreateBeneficiary",
                "centre/kassandra"},
        Refused{"centres/thessaloniki", grpc::PERMISSION_DENIED, "a centre's node may not call", "centre/thessaloniki"},
        Refused{"authorities/central-macedonia", grpc::PERMISSION_DENIED, "a regional authority may not call",
                "authority/central-macedonia"},
        Refused{"operator", grpc::PERMISSION_DENIED, "the operator may not call", "operator"}),
    [](const ::testing::TestParamInfo<Refused>& info) {
      std::string name = info.param.identity;
      for (char& ch : name) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(AuthTest, ClientWithoutCertificateIsRefused) {
  TestNode node("kassandra");
  const std::string before = RecordsFingerprint(node);
  // TLS that verifies the node but presents no certificate of its own.
  grpc::SslCredentialsOptions tls;
  std::ifstream ca(::kentra::testing::TestPkiDir() + "/ca.crt");
  tls.pem_root_certs.assign(std::istreambuf_iterator<char>(ca), std::istreambuf_iterator<char>());
  auto stub = nv1::StaffService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", node.port()), grpc::SslCredentials(tls)));
  nv1::CreateBeneficiaryRequest request;
  *request.mutable_beneficiary() = SampleBeneficiary(7);
  nv1::Beneficiary created;
  EXPECT_THAT(stub->CreateBeneficiary(node.Context().get(), request, &created),
              GrpcStatusIs(grpc::UNAUTHENTICATED, "presented no certificate"));
  EXPECT_EQ(RecordsFingerprint(node), before);
  ASSERT_EQ(Audit(node).size(), 1u);
}

TEST(AuthTest, PlaintextClientCannotTalkToTlsNode) {
  TestNode node("kassandra");
  auto stub = nv1::StaffService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", node.port()), grpc::InsecureChannelCredentials()));
  nv1::GetBeneficiaryRequest request;
  request.set_name("beneficiaries/1");
  nv1::Beneficiary b;
  EXPECT_THAT(stub->GetBeneficiary(node.Context().get(), request, &b), GrpcStatusIs(grpc::UNAVAILABLE, ""));
  EXPECT_TRUE(Audit(node, "GetBeneficiary").empty());
}

TEST(AuthTest, OwnStaffTerminalIsServedAndNamedInTheAudit) {
  TestNode node("kassandra");
  EXPECT_TRUE(TryCreate(node, "centres/kassandra/staff").ok());
  const auto audit = Audit(node);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].principal(), "staff/kassandra");
  EXPECT_EQ(audit[0].actor(), "users/m.papadaki");
  EXPECT_TRUE(audit[0].refusal().empty());
}

TEST(AuthTest, NodeRefusesToStartWithoutCertificatesOrWithOpenKeys) {
  ::kentra::testing::TempDir dir;
  NodeOptions options;
  options.centre = ::kentra::testing::CentreConfig("kassandra");
  options.data_dir = dir.path() + "/db";
  EXPECT_THAT(NodeServer::Start(options),
              ::kentra::testing::StatusIs(absl::StatusCode::kFailedPrecondition, "--secrets_dir is required"));

  // A copy of the centre's secrets with the federation secret readable by all.
  const std::string secrets = dir.path() + "/secrets";
  std::filesystem::copy(::kentra::testing::TestPkiDir() + "/centres/kassandra", secrets);
  options.secrets_dir = secrets;
  std::filesystem::permissions(secrets + "/federation.secret", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  EXPECT_THAT(NodeServer::Start(options),
              ::kentra::testing::StatusIs(absl::StatusCode::kFailedPrecondition, "chmod 600"));
  std::filesystem::permissions(secrets + "/federation.secret", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::remove);
  std::filesystem::permissions(secrets + "/server.key", std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  EXPECT_THAT(NodeServer::Start(options),
              ::kentra::testing::StatusIs(absl::StatusCode::kFailedPrecondition, "server.key can be read by others"));
  std::filesystem::permissions(secrets + "/server.key", std::filesystem::perms::group_read,
                               std::filesystem::perm_options::remove);
  auto node = NodeServer::Start(options);
  EXPECT_TRUE(node.ok()) << node.status();
}

}  // namespace
}  // namespace kentra::node
