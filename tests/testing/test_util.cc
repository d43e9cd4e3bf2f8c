#include "tests/testing/test_util.h"

#include <unistd.h>

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/crypto.h"
#include "common/directory.h"
#include "common/sealing.h"
#include "common/tls.h"
#include "node/audit_journal.h"
#include "node/schema.h"
#include "node/synthetic/synthetic.h"

namespace kentra::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(base != nullptr ? base : "/tmp", "/kentra-test-XXXXXX");
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  char* made = mkdtemp(buf.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << pattern;
  } else {
    path_ = made;
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string SourceDir() { return KENTRA_SOURCE_DIR; }

kentra::config::v1::CentreConfig CentreConfig(const std::string& id) {
  auto c = LoadCentreConfig(absl::StrCat(SourceDir(), "/configs/centres/", id, ".textproto"));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : kentra::config::v1::CentreConfig();
}

const std::string& TestPkiDir() {
  static const std::string* dir = [] {
    auto* path = new std::string(KENTRA_TEST_PKI_DIR);
    if (std::filesystem::exists(*path + "/ca.crt")) return path;
    // Made in a scratch dir and renamed, so parallel test processes never see half a PKI.
    const std::string scratch = absl::StrCat(*path, ".", getpid());
    const std::string command =
        absl::StrCat(SourceDir(), "/scripts/dev-pki ", scratch, " --test-extras >/dev/null");
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    std::error_code ec;
    std::filesystem::rename(scratch, *path, ec);
    if (ec) std::filesystem::remove_all(scratch, ec);  // another process got there first
    return path;
  }();
  return *dir;
}

NodeKeys TestNodeKeys(const std::string& centre) {
  auto seed = ReadHexSecretFile(absl::StrCat(TestPkiDir(), "/centres/", centre, "/node.key"));
  auto keys = seed.ok() ? NodeKeys::FromSeed(*seed) : absl::StatusOr<NodeKeys>(seed.status());
  EXPECT_TRUE(keys.ok()) << keys.status();
  return keys.ok() ? *keys : NodeKeys();
}

RootKeys TestRootKeys() {
  auto seed = ReadHexSecretFile(TestPkiDir() + "/operator/root.seed");
  auto root = seed.ok() ? RootKeys::FromSeed(*seed) : absl::StatusOr<RootKeys>(seed.status());
  EXPECT_TRUE(root.ok()) << root.status();
  return root.ok() ? *std::move(root) : RootKeys{};
}

kentra::referral::v1::Roster WriteTestRoster(const std::string& dir, const std::string& leave_out) {
  kentra::referral::v1::Roster roster;
  roster.set_version(1);
  auto entries = DevPkiRosterEntries(TestPkiDir() + "/centres");
  EXPECT_TRUE(entries.ok()) << entries.status();
  if (entries.ok()) {
    for (const auto& entry : *entries) {
      if (entry.centre() != leave_out) *roster.add_entries() = entry;
    }
  }
  EXPECT_OK(WriteSignedRoster(TestRootKeys(), roster, dir + "/roster.pb", dir + "/root.pub"));
  return roster;
}

kentra::referral::v1::Directory TestDirectory(int64_t version) {
  auto setup = LoadHubConfig(SourceDir() + "/configs/hub.textproto");
  EXPECT_TRUE(setup.ok()) << setup.status();
  return BuildDirectory(setup.ok() ? setup->centres : std::vector<kentra::config::v1::CentreConfig>{}, version,
                        absl::FromUnixSeconds(1795000000));
}

void WriteTestDirectory(const std::string& path, const kentra::referral::v1::Directory& directory,
                        const RootKeys* root) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    EXPECT_TRUE(SignDirectory(root != nullptr ? *root : TestRootKeys(), directory).SerializeToOstream(&out));
  }
  std::filesystem::rename(tmp, path);  // as an operator would: the hub never reads half a file
}

std::shared_ptr<grpc::ChannelCredentials> TestCredentials(const std::string& identity) {
  auto tls = LoadTlsIdentity(absl::StrCat(TestPkiDir(), "/", identity), "client");
  EXPECT_TRUE(tls.ok()) << tls.status();
  return tls.ok() ? MakeClientCredentials(*tls) : grpc::InsecureChannelCredentials();
}

std::string LogIn(int port, const std::string& identity, const std::string& user, const std::string& password) {
  auto stub = kentra::node::v1::AccountService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), TestCredentials(identity)));
  kentra::node::v1::LoginRequest request;
  request.set_user_id(user);
  request.set_password(password);
  kentra::node::v1::LoginResponse response;
  grpc::Status status = stub->Login(SessionContext("").get(), request, &response);
  EXPECT_TRUE(status.ok()) << user << " could not log in: " << status.error_message();
  return response.token();
}

std::unique_ptr<grpc::ClientContext> SessionContext(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

grpc::Status CallUnaryGeneric(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                              const std::string& body, const std::string& token, absl::Duration deadline) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(body);
  grpc::ByteBuffer request(&slice, 1), response;
  auto ctx = SessionContext(token);
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(ctx.get(), path, request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(cq.Next(&tag, &ok));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

void BootstrapForTests(const std::string& centre_id, const std::string& data_dir, const std::string& user) {
  kentra::node::NodeOptions options;
  options.centre = CentreConfig(centre_id);
  options.data_dir = data_dir;
  auto created = kentra::node::BootstrapCoordinator(options, user, kTestPassword);
  EXPECT_TRUE(created.ok()) << created.status();
}

TestNode::TestNode(const std::string& centre_id, absl::Time start, std::string hub_address)
    : clock_(start), hub_address_(std::move(hub_address)), centre_(CentreConfig(centre_id)) {
  centre_.mutable_node()->set_password_hashing(kentra::config::v1::PASSWORD_HASHING_MINIMUM_FOR_TESTS);
  // The tests' clock starts on 20 November and records October's work in
  // October: months close on their own only where a test sets it.
  centre_.mutable_node()->set_release_after_days(90);
  Start();
  if (server_ == nullptr) return;
  using kentra::node::v1::StaffRole;
  for (const auto& [user, role] : std::vector<std::pair<std::string, StaffRole>>{
           {"coord", kentra::node::v1::STAFF_ROLE_COORDINATOR},
           {"m.papadaki", kentra::node::v1::STAFF_ROLE_SOCIAL_WORKER},
           {"psy", kentra::node::v1::STAFF_ROLE_PSYCHOLOGIST},
           {"viewer", kentra::node::v1::STAFF_ROLE_VIEWER}}) {
    auto created = server_->accounts()->CreateUserForTesting(user, role, kTestPassword);
    EXPECT_TRUE(created.ok()) << created.status();
  }
}

TestNode::~TestNode() = default;

void TestNode::Start() {
  kentra::node::NodeOptions options;
  options.centre = centre_;
  options.data_dir = data_dir();
  options.backup_dir = backup_dir_;
  options.backups_kept = backups_kept_;
  options.backup_every = backup_every_;
  options.listen_address = "127.0.0.1:0";
  options.secrets_dir = absl::StrCat(TestPkiDir(), "/centres/", centre_.id());
  std::ifstream revoked(TestPkiDir() + "/bad/revoked/serial");
  std::string serial;
  revoked >> serial;
  options.revoked_serials = {serial};
  options.clock = &clock_;
  options.hub_address = hub_address_;
  options.schedule_sync = false;
  options.watch_referrals = watch_referrals_;
  WriteTestRoster(dir_.path(), roster_without_);
  options.roster_path = dir_.path() + "/roster.pb";
  options.roster_root_key_path = dir_.path() + "/root.pub";
  auto server = kentra::node::NodeServer::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  if (server.ok()) server_ = *std::move(server);
}

void TestNode::Restart() {
  server_.reset();
  Start();
}

std::string TestNode::StaffIdentity() const { return absl::StrCat("centres/", centre_.id(), "/staff"); }

std::unique_ptr<kentra::node::v1::StaffService::Stub> TestNode::NewStub(const std::string& identity) const {
  return kentra::node::v1::StaffService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server_->port()), TestCredentials(identity.empty() ? StaffIdentity() : identity)));
}

std::unique_ptr<kentra::node::v1::AccountService::Stub> TestNode::NewAccountStub(const std::string& identity) const {
  return kentra::node::v1::AccountService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server_->port()), TestCredentials(identity.empty() ? StaffIdentity() : identity)));
}

std::unique_ptr<kentra::node::v1::ReferralService::Stub> TestNode::NewReferralStub(const std::string& identity) const {
  return kentra::node::v1::ReferralService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server_->port()), TestCredentials(identity.empty() ? StaffIdentity() : identity)));
}

const std::string& TestNode::Token(const std::string& user) {
  const absl::Duration lifetime = absl::Minutes(EffectiveNodeSettings(centre_).session_minutes());
  auto& [token, issued] = tokens_[user];
  // Tests move the clock by days; a session that has expired since is renewed.
  if (token.empty() || clock_.Now() >= issued + lifetime) {
    token = LogIn(port(), StaffIdentity(), user);
    issued = clock_.Now();
  }
  return token;
}

std::unique_ptr<grpc::ClientContext> TestNode::Context(const std::string& user) {
  return SessionContext(Token(user));
}

std::string TestNode::StoreFingerprint() const {
  std::string all;
  for (int cf = 0; cf < kentra::node::kCfCount; ++cf) {
    auto it = server_->store()->NewIterator(cf);
    for (it->Seek(""); it->Valid(); it->Next()) {
      absl::StrAppend(&all, cf, ":", it->key().size(), ":", it->key(), it->value().size(), ":", it->value());
    }
  }
  return Digest(all);
}

std::vector<kentra::node::v1::AuditEntry> TestNode::AuditEntriesOf(const std::string& action) {
  kentra::node::v1::ListAuditEntriesRequest request;
  request.set_page_size(200);
  std::vector<kentra::node::v1::AuditEntry> out;
  for (int page = 0; page < 100; ++page) {
    kentra::node::v1::ListAuditEntriesResponse response;
    EXPECT_TRUE(NewStub()->ListAuditEntries(Context("coord").get(), request, &response).ok());
    for (const auto& e : response.audit_entries()) {
      if (e.action() == action) out.push_back(e);
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string TestNode::FingerprintWithoutAudit() const {
  using namespace kentra::node;  // column families and index prefixes
  std::string all;
  for (int cf = 0; cf < kCfCount; ++cf) {
    if (cf == kAudit) continue;
    auto it = server_->store()->NewIterator(cf);
    for (it->Seek(""); it->Valid(); it->Next()) {
      if (cf == kIndexes && (absl::StartsWith(it->key(), kIdxAuditResource) ||
                             absl::StartsWith(it->key(), kIdxAuditActor))) {
        continue;
      }
      // The cached federation directory is no record: the courier refreshes it whenever.
      if (cf == kMeta && it->key() == kMetaReferralDirectory) continue;
      // Nor is how far the audit journal has been moved into the store, nor how
      // far the mailbox is stored (a refused message is stored, as refused).
      if (cf == kMeta && (it->key() == AuditJournal::kMetaKey || it->key() == kMetaMailboxStoredThrough)) continue;
      absl::StrAppend(&all, cf, ":", it->key().size(), ":", it->key(), it->value().size(), ":", it->value());
    }
  }
  return Digest(all);
}

TestHub::TestHub(absl::Time start,
                 std::vector<std::shared_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors)
    : clock_(start), interceptors_(std::move(interceptors)) {
  Start("127.0.0.1:0");
}

TestHub::~TestHub() = default;

void TestHub::Start(const std::string& listen) {
  auto setup = LoadHubConfig(SourceDir() + "/configs/hub.textproto");
  EXPECT_TRUE(setup.ok()) << setup.status();
  kentra::hub::HubOptions options;
  if (setup.ok()) options.setup = *std::move(setup);
  auto& centres = options.setup.centres;
  centres.erase(std::remove_if(centres.begin(), centres.end(),
                               [&](const auto& c) { return c.id() == registry_without_; }),
                centres.end());
  options.data_dir = data_dir();
  options.backups = {backup_dir(), 14};
  options.backup_every = backup_every_;
  options.listen_address = listen;
  options.interceptors = interceptors_;
  options.secrets_dir = TestPkiDir() + "/hub";
  options.clock = &clock_;
  if (!std::filesystem::exists(directory_path())) WriteTestDirectory(directory_path(), TestDirectory(1));
  options.directory_path = directory_path();
  auto server = kentra::hub::HubServer::Start(std::move(options));
  EXPECT_TRUE(server.ok()) << server.status();
  if (server.ok()) server_ = *std::move(server);
}

void TestHub::Stop() {
  if (server_) listen_ = address();
  server_.reset();
}

void TestHub::Restart() {
  Stop();
  Start(listen_);
}

std::shared_ptr<grpc::Channel> TestHub::Channel(const std::string& identity) const {
  return grpc::CreateChannel(address(), TestCredentials(identity));
}

void RecordActivity(kentra::node::v1::StaffService::Stub* stub, const std::string& token, int people,
                    absl::CivilMonth month, int first_serial) {
  namespace nv1 = kentra::node::v1;
  namespace tv1 = kentra::type::v1;
  for (int i = 0; i < people; ++i) {
    nv1::CreateBeneficiaryRequest create;
    *create.mutable_beneficiary() = SampleBeneficiary(first_serial + i);
    if (i % 3 == 0) create.mutable_beneficiary()->add_target_groups(tv1::TARGET_GROUP_ROMA);
    nv1::Beneficiary b;
    ASSERT_TRUE(stub->CreateBeneficiary(SessionContext(token).get(), create, &b).ok());
    nv1::OpenCaseRequest open;
    open.mutable_case_()->set_beneficiary(b.name());
    open.mutable_case_()->set_assigned_worker("m.papadaki");
    open.mutable_case_()->add_needs(nv1::NEED_INCOME);
    nv1::Case c;
    ASSERT_TRUE(stub->OpenCase(SessionContext(token).get(), open, &c).ok());
    for (int k = 0; k < 2; ++k) {
      nv1::RecordServiceEventRequest r;
      r.set_parent(c.name());
      auto* e = r.mutable_service_event();
      e->mutable_service_date()->set_year(static_cast<int>(month.year()));
      e->mutable_service_date()->set_month(month.month());
      e->mutable_service_date()->set_day(1 + (i + k) % 27);
      e->set_service_type(k == 0 ? tv1::SERVICE_TYPE_INFORMATION_LINKAGE : tv1::SERVICE_TYPE_ROMA_SUPPORT);
      e->set_worker("m.papadaki");
      nv1::ServiceEvent out;
      ASSERT_TRUE(stub->RecordServiceEvent(SessionContext(token).get(), r, &out).ok());
    }
  }
}

kentra::node::v1::Beneficiary SampleBeneficiary(int serial) {
  kentra::node::v1::Beneficiary b;
  b.set_given_name("Ελένη");
  b.set_family_name("Παπαδοπούλου");
  b.mutable_birth_date()->set_year(1985);
  b.mutable_birth_date()->set_month(3);
  b.mutable_birth_date()->set_day(25);
  b.set_gender(kentra::type::v1::GENDER_FEMALE);
  b.set_municipality("Κασσάνδρα");
  b.set_household_size(3);
  b.mutable_national_id()->set_type(kentra::node::v1::NATIONAL_ID_TYPE_AMKA);
  b.mutable_national_id()->set_value(synthetic::MakeAmka(absl::CivilDay(1985, 3, 25), serial));
  b.add_target_groups(kentra::type::v1::TARGET_GROUP_KEA_BENEFICIARY);
  return b;
}

}  // namespace kentra::testing
