// Staff accounts under attack and in daily use: brute force hits the lockout, one
// address cannot flood log-ins, bad tokens (expired, forged, another node's) are
// refused and audited, confidential notes stay with their author and the
// coordinator, and a request body cannot claim to be someone else.
#include "node/accounts.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "node/node_server.h"
#include "node/schema.h"
#include "tests/testing/test_util.h"

namespace kentra::node {
namespace {

namespace nv1 = kentra::node::v1;
namespace tv1 = kentra::type::v1;
using ::kentra::testing::GrpcStatusIs;
using ::kentra::testing::kTestPassword;
using ::kentra::testing::SampleBeneficiary;
using ::kentra::testing::SessionContext;
using ::kentra::testing::TestNode;

grpc::Status TryLogin(TestNode& node, const std::string& user, const std::string& password,
                      nv1::LoginResponse* response = nullptr) {
  nv1::LoginRequest request;
  request.set_user_id(user);
  request.set_password(password);
  nv1::LoginResponse ignored;
  return node.NewAccountStub()->Login(SessionContext("").get(), request, response ? response : &ignored);
}

grpc::Status ListWith(TestNode& node, const std::string& token) {
  nv1::ListBeneficiariesRequest request;
  nv1::ListBeneficiariesResponse response;
  return node.NewStub()->ListBeneficiaries(SessionContext(token).get(), request, &response);
}

nv1::User UserRecord(TestNode& node, const std::string& user_id) {
  nv1::ListUsersRequest request;
  nv1::ListUsersResponse response;
  EXPECT_TRUE(node.NewAccountStub()->ListUsers(node.Context("coord").get(), request, &response).ok());
  for (const auto& u : response.users()) {
    if (u.name() == "users/" + user_id) return u;
  }
  ADD_FAILURE() << user_id << " not listed";
  return nv1::User();
}

TEST(AccountsTest, BruteForceHitsTheLockoutAndEveryFailureLooksTheSame) {
  TestNode node;
  const grpc::Status unknown = TryLogin(node, "nobody", "some password");
  EXPECT_THAT(unknown, GrpcStatusIs(grpc::UNAUTHENTICATED, kLoginFailed));
  // Bounded: ten guesses; the lockout (5 failures) must come within them.
  int failures = 0;
  for (int i = 0; i < 10; ++i) {
    grpc::Status s = TryLogin(node, "m.papadaki", absl::StrCat("guess-", i));
    EXPECT_EQ(s.error_message(), unknown.error_message()) << "a failure must not say why";
    failures += s.error_code() == grpc::UNAUTHENTICATED;
  }
  EXPECT_EQ(failures, 10);
  // Locked: even the right password is refused, with the same message.
  EXPECT_THAT(TryLogin(node, "m.papadaki", kTestPassword), GrpcStatusIs(grpc::UNAUTHENTICATED, kLoginFailed));
  const nv1::User locked = UserRecord(node, "m.papadaki");
  EXPECT_TRUE(locked.has_locked_until());
  EXPECT_EQ(locked.failed_logins(), 5);
  // The audit log holds the true causes.
  const auto logins = node.AuditEntriesOf("Login");
  int wrong = 0, lock_started = 0, while_locked = 0, no_user = 0;
  for (const auto& e : logins) {
    wrong += e.refusal().find("wrong password") != std::string::npos;
    lock_started += e.refusal().find("locked until") != std::string::npos &&
                    e.refusal().find("wrong password") != std::string::npos;
    while_locked += e.refusal().find("account locked until") != std::string::npos;
    no_user += e.refusal().find("no such user") != std::string::npos;
  }
  EXPECT_EQ(wrong, 5);
  EXPECT_EQ(lock_started, 1);
  EXPECT_EQ(while_locked, 6);
  EXPECT_EQ(no_user, 1);
  // The lock survives a restart, and lifts when its time has passed.
  node.Restart();
  EXPECT_THAT(TryLogin(node, "m.papadaki", kTestPassword), GrpcStatusIs(grpc::UNAUTHENTICATED, kLoginFailed));
  node.clock().Advance(absl::Minutes(16));
  node.ForgetTokens();
  EXPECT_TRUE(TryLogin(node, "m.papadaki", kTestPassword).ok());
  EXPECT_EQ(UserRecord(node, "m.papadaki").failed_logins(), 0);
}

TEST(AccountsTest, OneAddressCannotFloodLogIns) {
  TestNode node;
  // Bounded: the default limit is 20 failures per 10 minutes per address.
  for (int i = 0; i < 20; ++i) {
    EXPECT_THAT(TryLogin(node, absl::StrCat("guess", i), "password-guess"),
                GrpcStatusIs(grpc::UNAUTHENTICATED, kLoginFailed));
  }
  EXPECT_THAT(TryLogin(node, "m.papadaki", kTestPassword),
              GrpcStatusIs(grpc::RESOURCE_EXHAUSTED, "too many failed log-ins from this address"));
  // Once the window has passed, the address may try again.
  node.clock().Advance(absl::Minutes(11));
  EXPECT_TRUE(TryLogin(node, "m.papadaki", kTestPassword).ok());
  int refused = 0;
  for (const auto& e : node.AuditEntriesOf("Login")) refused += e.refusal().find("RESOURCE_EXHAUSTED") == 0;
  EXPECT_EQ(refused, 1);
}

// A centre's staff share one address (its NAT; soon the web front end): one
// person's typos lock that person's account, never everyone else's log-ins; a
// name tried over and over from one address is stopped all the same.
TEST(AccountsTest, OnePersonsTyposDoNotShutOutTheOthersBehindTheirAddress) {
  TestNode node;
  for (int i = 0; i < 25; ++i) {
    EXPECT_THAT(TryLogin(node, "m.papadaki", "wrong-password"), GrpcStatusIs(grpc::UNAUTHENTICATED, kLoginFailed));
  }
  EXPECT_TRUE(TryLogin(node, "coord", kTestPassword).ok()) << "another user behind the same address";
  EXPECT_THAT(TryLogin(node, "m.papadaki", kTestPassword), GrpcStatusIs(grpc::UNAUTHENTICATED, kLoginFailed))
      << "her own account is locked";
  // One name tried again and again: 26 failures so far, 74 more make the
  // address's 100, and it is stopped before the 101st password hash.
  for (int i = 0; i < 100 - 26; ++i) {
    EXPECT_THAT(TryLogin(node, "nobody", "password-guess"), GrpcStatusIs(grpc::UNAUTHENTICATED, kLoginFailed));
  }
  EXPECT_THAT(TryLogin(node, "viewer", kTestPassword),
              GrpcStatusIs(grpc::RESOURCE_EXHAUSTED, "too many failed log-ins from this address"));
}

TEST(AccountsTest, BadTokensAreRefusedAuditedAndChangeNothing) {
  TestNode node;
  TestNode other("thessaloniki");
  const std::string theirs =
      ::kentra::testing::LogIn(other.port(), "centres/thessaloniki/staff", "m.papadaki");
  ASSERT_FALSE(theirs.empty());
  const std::string ours = node.Token("m.papadaki");
  ASSERT_TRUE(ListWith(node, ours).ok());
  const std::string before = node.FingerprintWithoutAudit();
  struct Bad {
    std::string token;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {"garbage", "not a kentra session token"},
      {"kentra-session.kassandra." + Base64UrlEncode(RandomBytes(32)), "not valid here"},
      {theirs, "issued by another centre's node (thessaloniki)"},
      {ours + "x", "not valid here"},
      {std::string(300, 'a'), "not a kentra session token"},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.token.substr(0, 40));
    nv1::CreateBeneficiaryRequest request;
    *request.mutable_beneficiary() = SampleBeneficiary(3);
    nv1::Beneficiary out;
    EXPECT_THAT(node.NewStub()->CreateBeneficiary(SessionContext(b.token).get(), request, &out),
                GrpcStatusIs(grpc::UNAUTHENTICATED, b.message));
  }
  // Expired: the session ends after 8 hours.
  node.clock().Advance(absl::Hours(8) + absl::Minutes(1));
  EXPECT_THAT(ListWith(node, ours), GrpcStatusIs(grpc::UNAUTHENTICATED, "the session expired"));
  // Refusals reach the audit log and nothing else.
  EXPECT_EQ(node.FingerprintWithoutAudit(), before);
  int audited = 0;
  for (const auto& e : node.AuditEntriesOf("CreateBeneficiary")) audited += !e.refusal().empty();
  EXPECT_EQ(audited, 5);
  EXPECT_EQ(node.AuditEntriesOf("CreateBeneficiary").size(), 5u) << "no beneficiary was created";
}

TEST(AccountsTest, LogoutPasswordChangeAndDisableEndSessions) {
  TestNode node;
  const std::string first = node.Token("m.papadaki");
  const std::string second = ::kentra::testing::LogIn(node.port(), "centres/kassandra/staff", "m.papadaki");
  nv1::LogoutResponse out;
  ASSERT_TRUE(node.NewAccountStub()->Logout(SessionContext(first).get(), nv1::LogoutRequest(), &out).ok());
  EXPECT_THAT(ListWith(node, first), GrpcStatusIs(grpc::UNAUTHENTICATED, "not valid here"));
  ASSERT_TRUE(ListWith(node, second).ok());

  nv1::ChangePasswordRequest change;
  change.set_current_password("not my password");
  change.set_new_password("a brand new password");
  nv1::ChangePasswordResponse changed;
  EXPECT_THAT(node.NewAccountStub()->ChangePassword(SessionContext(second).get(), change, &changed),
              GrpcStatusIs(grpc::UNAUTHENTICATED, "current_password is wrong"));
  change.set_current_password(kTestPassword);
  change.set_new_password("short");
  EXPECT_THAT(node.NewAccountStub()->ChangePassword(SessionContext(second).get(), change, &changed),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "new_password: must be at least 10 bytes"));
  change.set_new_password("a brand new password");
  ASSERT_TRUE(node.NewAccountStub()->ChangePassword(SessionContext(second).get(), change, &changed).ok());
  EXPECT_THAT(ListWith(node, second), GrpcStatusIs(grpc::UNAUTHENTICATED, "ended by a password change"));
  ASSERT_TRUE(ListWith(node, changed.token()).ok());

  nv1::UpdateUserRequest disable;
  disable.mutable_user()->set_name("users/m.papadaki");
  disable.mutable_user()->set_disabled(true);
  disable.mutable_update_mask()->add_paths("disabled");
  nv1::User user;
  ASSERT_TRUE(node.NewAccountStub()->UpdateUser(node.Context("coord").get(), disable, &user).ok());
  EXPECT_THAT(ListWith(node, changed.token()), GrpcStatusIs(grpc::UNAUTHENTICATED, "disabled"));
  EXPECT_THAT(TryLogin(node, "m.papadaki", "a brand new password"), GrpcStatusIs(grpc::UNAUTHENTICATED, kLoginFailed));
}

// A session is resolved from a cache after its first call; every account change
// must still take effect on the very next call.
TEST(AccountsTest, ARoleChangeTakesEffectOnTheNextCall) {
  TestNode node;
  const std::string token = node.Token("m.papadaki");
  auto create = [&] {
    nv1::CreateBeneficiaryRequest request;
    *request.mutable_beneficiary() = SampleBeneficiary(4);
    nv1::Beneficiary out;
    return node.NewStub()->CreateBeneficiary(SessionContext(token).get(), request, &out);
  };
  ASSERT_TRUE(ListWith(node, token).ok());
  ASSERT_TRUE(ListWith(node, token).ok());  // now from the cache

  auto set_role = [&](nv1::StaffRole role) {
    nv1::UpdateUserRequest update;
    update.mutable_user()->set_name("users/m.papadaki");
    update.mutable_user()->set_role(role);
    update.mutable_update_mask()->add_paths("role");
    nv1::User user;
    return node.NewAccountStub()->UpdateUser(node.Context("coord").get(), update, &user);
  };
  ASSERT_TRUE(set_role(nv1::STAFF_ROLE_VIEWER).ok());
  EXPECT_THAT(create(), GrpcStatusIs(grpc::PERMISSION_DENIED, "may not call CreateBeneficiary"));
  EXPECT_TRUE(ListWith(node, token).ok()) << "a viewer still reads";
  ASSERT_TRUE(set_role(nv1::STAFF_ROLE_SOCIAL_WORKER).ok());
  EXPECT_TRUE(create().ok());
}

TEST(AccountsTest, CoordinatorOperationsRefuseBadInputAndKeepACoordinator) {
  TestNode node;
  auto accounts = node.NewAccountStub();
  nv1::CreateUserRequest create;
  create.set_user_id("Bad Name");
  create.mutable_user()->set_role(nv1::STAFF_ROLE_VIEWER);
  create.set_initial_password("long enough password");
  nv1::User out;
  EXPECT_THAT(accounts->CreateUser(node.Context("coord").get(), create, &out),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "user_id"));
  create.set_user_id("n.new");
  create.mutable_user()->set_role(nv1::STAFF_ROLE_UNSPECIFIED);
  EXPECT_THAT(accounts->CreateUser(node.Context("coord").get(), create, &out),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "user.role"));
  create.mutable_user()->set_role(nv1::STAFF_ROLE_VIEWER);
  create.set_initial_password("n.new");
  EXPECT_THAT(accounts->CreateUser(node.Context("coord").get(), create, &out),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "initial_password"));
  create.set_initial_password("long enough password");
  create.set_request_id("add-n-new");
  ASSERT_TRUE(accounts->CreateUser(node.Context("coord").get(), create, &out).ok());
  EXPECT_TRUE(out.password_change_required());
  // A retry returns the first result; another create of the name is refused.
  ASSERT_TRUE(accounts->CreateUser(node.Context("coord").get(), create, &out).ok());
  create.set_request_id("");
  EXPECT_THAT(accounts->CreateUser(node.Context("coord").get(), create, &out),
              GrpcStatusIs(grpc::ALREADY_EXISTS, "users/n.new already exists"));

  nv1::UpdateUserRequest demote;
  demote.mutable_user()->set_name("users/coord");
  demote.mutable_user()->set_role(nv1::STAFF_ROLE_VIEWER);
  demote.mutable_update_mask()->add_paths("role");
  EXPECT_THAT(accounts->UpdateUser(node.Context("coord").get(), demote, &out),
              GrpcStatusIs(grpc::FAILED_PRECONDITION, "without an active coordinator"));
  demote.mutable_update_mask()->set_paths(0, "password_hash");
  EXPECT_THAT(accounts->UpdateUser(node.Context("coord").get(), demote, &out),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "'password_hash' cannot be changed"));
  nv1::ResetPasswordRequest reset;
  reset.set_name("users/ghost");
  reset.set_new_password("long enough password");
  EXPECT_THAT(accounts->ResetPassword(node.Context("coord").get(), reset, &out),
              GrpcStatusIs(grpc::NOT_FOUND, "users/ghost does not exist"));
}

TEST(AccountsTest, BootstrapOnlyWithoutAnActiveCoordinator) {
  ::kentra::testing::TempDir dir;
  NodeOptions options;
  options.centre = ::kentra::testing::CentreConfig("kassandra");
  options.centre.mutable_node()->set_password_hashing(kentra::config::v1::PASSWORD_HASHING_MINIMUM_FOR_TESTS);
  options.data_dir = dir.path() + "/db";
  EXPECT_THAT(BootstrapCoordinator(options, "first", "short"),
              ::kentra::testing::StatusIs(absl::StatusCode::kInvalidArgument, "password"));
  auto first = BootstrapCoordinator(options, "first", "first coordinator password");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->role(), nv1::STAFF_ROLE_COORDINATOR);
  EXPECT_THAT(BootstrapCoordinator(options, "second", "second coordinator password"),
              ::kentra::testing::StatusIs(absl::StatusCode::kFailedPrecondition, "already has an active coordinator"));
  // The same coordinator may be re-keyed locally (a forgotten password).
  EXPECT_TRUE(BootstrapCoordinator(options, "first", "a new first password").ok());
}

// Records a counselling event in `case_name` as `user`.
nv1::ServiceEvent RecordCounselling(TestNode& node, const std::string& user, const std::string& case_name,
                                    bool confidential, const std::string& claimed_recorder = "") {
  nv1::RecordServiceEventRequest request;
  request.set_parent(case_name);
  auto* e = request.mutable_service_event();
  e->mutable_service_date()->set_year(2026);
  e->mutable_service_date()->set_month(11);
  e->mutable_service_date()->set_day(19);
  e->set_service_type(tv1::SERVICE_TYPE_COUNSELLING);
  e->set_counselling_topic(tv1::COUNSELLING_TOPIC_PSYCHOSOCIAL);
  e->set_worker(user);
  e->set_notes("session notes: " + user);
  e->set_confidential(confidential);
  e->set_recorded_by(claimed_recorder);
  nv1::ServiceEvent out;
  EXPECT_TRUE(node.NewStub()->RecordServiceEvent(node.Context(user).get(), request, &out).ok());
  return out;
}

TEST(AccountsTest, ConfidentialNotesOnlyForTheirAuthorAndTheCoordinator) {
  TestNode node;
  nv1::CreateBeneficiaryRequest create;
  *create.mutable_beneficiary() = SampleBeneficiary(1);
  nv1::Beneficiary b;
  ASSERT_TRUE(node.NewStub()->CreateBeneficiary(node.Context().get(), create, &b).ok());
  nv1::OpenCaseRequest open;
  open.mutable_case_()->set_beneficiary(b.name());
  open.mutable_case_()->set_assigned_worker("m.papadaki");
  open.mutable_case_()->add_needs(nv1::NEED_INCOME);
  nv1::Case c;
  ASSERT_TRUE(node.NewStub()->OpenCase(node.Context().get(), open, &c).ok());
  const auto secret = RecordCounselling(node, "psy", c.name(), true);
  EXPECT_EQ(secret.recorded_by(), "psy");
  // A social worker claiming in the body to be the psychologist is not believed.
  const auto claimed = RecordCounselling(node, "m.papadaki", c.name(), true, "psy");
  EXPECT_EQ(claimed.recorded_by(), "m.papadaki");

  auto notes_seen_by = [&](const std::string& user) {
    nv1::ListServiceEventsRequest request;
    request.set_parent(c.name());
    nv1::ListServiceEventsResponse response;
    EXPECT_TRUE(node.NewStub()->ListServiceEvents(node.Context(user).get(), request, &response).ok());
    std::vector<std::string> notes;
    for (const auto& e : response.service_events()) {
      notes.push_back(e.notes_withheld() ? "(withheld)" : e.notes());
    }
    return notes;
  };
  EXPECT_EQ(notes_seen_by("psy"),
            (std::vector<std::string>{"session notes: psy", "(withheld)"}));
  EXPECT_EQ(notes_seen_by("m.papadaki"),
            (std::vector<std::string>{"(withheld)", "session notes: m.papadaki"}));
  EXPECT_EQ(notes_seen_by("viewer"), (std::vector<std::string>{"(withheld)", "(withheld)"}));
  EXPECT_EQ(notes_seen_by("coord"),
            (std::vector<std::string>{"session notes: psy", "session notes: m.papadaki"}));
  // Each read is audited, with what was withheld.
  int withheld_reads = 0;
  for (const auto& e : node.AuditEntriesOf("ListServiceEvents")) {
    withheld_reads += e.detail().find("withheld") != std::string::npos;
  }
  EXPECT_EQ(withheld_reads, 3);
}

TEST(AccountsTest, EveryReadOfAPersonIsAuditedAndFindableByTheirName) {
  TestNode node;
  nv1::CreateBeneficiaryRequest create;
  *create.mutable_beneficiary() = SampleBeneficiary(1);
  nv1::Beneficiary b;
  ASSERT_TRUE(node.NewStub()->CreateBeneficiary(node.Context().get(), create, &b).ok());
  nv1::GetBeneficiaryRequest get;
  get.set_name(b.name());
  ASSERT_TRUE(node.NewStub()->GetBeneficiary(node.Context("viewer").get(), get, &b).ok());
  nv1::SearchBeneficiariesRequest search;
  search.set_name_prefix("παπαδ");
  nv1::SearchBeneficiariesResponse found;
  ASSERT_TRUE(node.NewStub()->SearchBeneficiaries(node.Context("psy").get(), search, &found).ok());
  ASSERT_TRUE(ListWith(node, node.Token("m.papadaki")).ok());
  // A body naming another centre's record is refused, not resolved.
  get.set_name("centres/thessaloniki/beneficiaries/1");
  EXPECT_THAT(node.NewStub()->GetBeneficiary(node.Context().get(), get, &b),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "is not a beneficiary name"));

  nv1::ListAuditEntriesRequest request;
  request.set_resource(b.name());
  nv1::ListAuditEntriesResponse response;
  ASSERT_TRUE(node.NewStub()->ListAuditEntries(node.Context("coord").get(), request, &response).ok());
  std::vector<std::string> who;
  for (const auto& e : response.audit_entries()) who.push_back(e.action() + " by " + e.actor());
  EXPECT_EQ(who, (std::vector<std::string>{"CreateBeneficiary by users/m.papadaki", "GetBeneficiary by users/viewer",
                                           "SearchBeneficiaries by users/psy",
                                           "ListBeneficiaries by users/m.papadaki"}));
  EXPECT_TRUE(node.server().records()->CheckConsistency().ok());
}

}  // namespace
}  // namespace kentra::node
