// Shared helpers for kentra's tests: status matchers, temporary directories, and an
// in-process kentra-node on 127.0.0.1:0 with a fake clock.
#ifndef KENTRA_TESTS_TESTING_TEST_UTIL_H_
#define KENTRA_TESTS_TESTING_TEST_UTIL_H_

#include <map>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "kentra/node/v1/account_service.grpc.pb.h"
#include "kentra/node/v1/referral_service.grpc.pb.h"
#include "kentra/node/v1/staff_service.grpc.pb.h"
#include "hub/hub_server.h"
#include "node/node_server.h"

namespace kentra::testing {

// EXPECT_OK / ASSERT_OK for absl::Status and absl::StatusOr.
inline const absl::Status& ToStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& ToStatus(const absl::StatusOr<T>& s) { return s.status(); }
#define EXPECT_OK(expr) EXPECT_TRUE(::kentra::testing::ToStatus(expr).ok()) << ::kentra::testing::ToStatus(expr)
#define ASSERT_OK(expr) ASSERT_TRUE(::kentra::testing::ToStatus(expr).ok()) << ::kentra::testing::ToStatus(expr)

// Matches an absl::Status or StatusOr with `code` whose message contains `substring`.
MATCHER_P2(StatusIs, code, substring, "") {
  const absl::Status& s = ::kentra::testing::ToStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code && s.message().find(substring) != absl::string_view::npos;
}

// Matches a grpc::Status with `code` whose message contains `substring`.
MATCHER_P2(GrpcStatusIs, code, substring, "") {
  *result_listener << "status is " << arg.error_code() << ": " << arg.error_message();
  return arg.error_code() == code && arg.error_message().find(substring) != std::string::npos;
}

// A fresh directory under $TEST_TMPDIR or /tmp, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The repository's root (for configs/ and scripts/).
std::string SourceDir();
// Loads configs/centres/<id>.textproto.
kentra::config::v1::CentreConfig CentreConfig(const std::string& id);

// A federation PKI made by scripts/dev-pki --test-extras, shared by the tests of
// one build (ctest's test_pki fixture makes it fresh; made here if missing).
const std::string& TestPkiDir();
// Client credentials of a PKI identity ("centres/kassandra/staff", "bad/expired").
std::shared_ptr<grpc::ChannelCredentials> TestCredentials(const std::string& identity);

// Writes the test PKI's roster (every centre's node keys, signed with the
// operator's root key) into `dir` as roster.pb and root.pub, without centre
// `leave_out` if one is given; returns the roster.
kentra::referral::v1::Roster WriteTestRoster(const std::string& dir, const std::string& leave_out = "");
// The test PKI's operator root key pair.
RootKeys TestRootKeys();
// The federation directory of configs/hub.textproto's centres at `version`.
kentra::referral::v1::Directory TestDirectory(int64_t version);
// Writes `directory` signed with `root` (the test operator's by default) to `path`.
void WriteTestDirectory(const std::string& path, const kentra::referral::v1::Directory& directory,
                        const RootKeys* root = nullptr);
// The node keys of `centre` in the test PKI.
NodeKeys TestNodeKeys(const std::string& centre);

// The password of every user the tests create.
inline constexpr char kTestPassword[] = "correct horse battery";

// Logs `user` in to the node on 127.0.0.1:`port` from PKI identity `identity`
// (e.g. "centres/kassandra/staff"); returns the session token ("" on failure,
// which is also reported as a test failure).
std::string LogIn(int port, const std::string& identity, const std::string& user,
                  const std::string& password = kTestPassword);
// A client context with a 10 s deadline carrying session `token` (none if empty).
std::unique_ptr<grpc::ClientContext> SessionContext(const std::string& token);
// Calls method `path` ("/pkg.Service/Method") on `channel` with the serialized
// `body` and session `token` (none if empty), whatever its types, as a unary
// call with a `deadline` (a server-streaming method admitted runs until it).
grpc::Status CallUnaryGeneric(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                              const std::string& body, const std::string& token = "",
                              absl::Duration deadline = absl::Seconds(30));

// Gives a stopped node's data dir the coordinator `user` (password kTestPassword).
void BootstrapForTests(const std::string& centre_id, const std::string& data_dir, const std::string& user = "coord");

// A kentra-node serving mTLS on 127.0.0.1:0 in this process, with its own temp
// store and the test PKI (the bad/revoked certificate is revoked). Its staff:
// "coord" (coordinator), "m.papadaki" (social worker), "psy" (psychologist) and
// "viewer", all with kTestPassword; password hashing at the minimum cost.
class TestNode {
 public:
  // With a `hub_address`, the node syncs with that hub on demand (never on a schedule).
  explicit TestNode(const std::string& centre_id = "kassandra",
                    absl::Time start = absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0),
                                                       absl::UTCTimeZone()),
                    std::string hub_address = "");
  ~TestNode();

  // A stub on a fresh channel, presenting `identity` from the test PKI (default:
  // this centre's staff terminal).
  std::unique_ptr<kentra::node::v1::StaffService::Stub> NewStub(const std::string& identity = "") const;
  std::unique_ptr<kentra::node::v1::AccountService::Stub> NewAccountStub(const std::string& identity = "") const;
  std::unique_ptr<kentra::node::v1::ReferralService::Stub> NewReferralStub(const std::string& identity = "") const;
  // A client context with a 10 s deadline and a session of `user` (logged in
  // once, from this centre's staff terminal).
  std::unique_ptr<grpc::ClientContext> Context(const std::string& user = "m.papadaki");
  // The session token of `user` (logging in on first use).
  const std::string& Token(const std::string& user);
  // Forgets the cached tokens (e.g. after sessions were ended).
  void ForgetTokens() { tokens_.clear(); }
  // The node's audit entries of `action`, newest first, read as its coordinator.
  std::vector<kentra::node::v1::AuditEntry> AuditEntriesOf(const std::string& action);
  // A digest of every key and value in every column family.
  std::string StoreFingerprint() const;
  // The same without the audit log and its index entries: what a refused call
  // must leave as it was.
  std::string FingerprintWithoutAudit() const;
  // Stops the server and reopens the same data dir (a clean restart).
  void Restart();
  // Stops the server (Restart() starts it again).
  void Stop() { server_.reset(); }
  // Whether the node keeps a live watch on its referral mailbox (default yes);
  // takes effect at the next Restart().
  void set_watch_referrals(bool watch) { watch_referrals_ = watch; }
  // Leaves `centre` off the node's roster (none if empty) from the next Restart().
  void set_roster_without(const std::string& centre) { roster_without_ = centre; }
  // Where the node puts backups (default: "backups" beside its data dir; empty:
  // none) and how many it keeps (default 14); from the next Restart().
  void set_backups(std::string dir, int kept) {
    backup_dir_ = std::move(dir);
    backups_kept_ = kept;
  }
  const std::string& backup_dir() const { return backup_dir_; }
  // Backups on the node's own schedule (zero: none), from the next Restart().
  void set_backup_every(absl::Duration every) { backup_every_ = every; }
  // Months close on their own this many days after they end (90 unless set),
  // from the next Restart().
  void set_release_after_days(int days) { centre_.mutable_node()->set_release_after_days(days); }
  // The node's RocksDB directory.
  std::string data_dir() const { return dir_.path() + "/db"; }

  FakeClock& clock() { return clock_; }
  kentra::node::NodeServer& server() { return *server_; }
  int port() const { return server_->port(); }

 private:
  void Start();
  std::string StaffIdentity() const;
  TempDir dir_;
  // Per user, the session token and when it was issued (by the fake clock).
  std::map<std::string, std::pair<std::string, absl::Time>> tokens_;
  FakeClock clock_;
  std::string hub_address_;
  bool watch_referrals_ = true;
  std::string roster_without_;
  std::string backup_dir_ = dir_.path() + "/backups";
  int backups_kept_ = 14;
  absl::Duration backup_every_ = absl::ZeroDuration();
  kentra::config::v1::CentreConfig centre_;
  std::unique_ptr<kentra::node::NodeServer> server_;
};

// A kentra-hub serving mTLS on 127.0.0.1:0 in this process with configs/hub.textproto
// (the five centres), the test PKI's hub certificate and its own temp store.
class TestHub {
 public:
  explicit TestHub(absl::Time start = absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0), absl::UTCTimeZone()),
                   std::vector<std::shared_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors = {});
  ~TestHub();
  std::string address() const { return absl::StrCat("127.0.0.1:", server_->port()); }
  // A channel presenting `identity` from the test PKI (e.g. "authorities/peloponnese").
  std::shared_ptr<grpc::Channel> Channel(const std::string& identity) const;
  // Stops the hub (Restart() starts it again).
  void Stop();
  // Stops the hub if it runs and starts it again on the same data dir and port.
  void Restart();
  // Leaves `centre` out of the hub's registry (none if empty) from the next
  // Restart(), while the nodes' roster still has it: a misconfigured federation.
  void set_registry_without(const std::string& centre) { registry_without_ = centre; }
  // Backups on the hub's own schedule (zero: none), from the next Restart().
  void set_backup_every(absl::Duration every) { backup_every_ = every; }
  // The signed directory the hub publishes (TestDirectory(1) until replaced).
  std::string directory_path() const { return dir_.path() + "/directory.pb"; }
  kentra::hub::HubServer& server() { return *server_; }
  FakeClock& clock() { return clock_; }
  // The hub's data directory, and where it puts backups.
  std::string data_dir() const { return dir_.path() + "/hub"; }
  std::string backup_dir() const { return dir_.path() + "/backups"; }

 private:
  void Start(const std::string& listen);
  TempDir dir_;
  FakeClock clock_;
  std::string listen_;  // where it listens, kept while stopped
  std::string registry_without_;
  absl::Duration backup_every_ = absl::ZeroDuration();
  std::vector<std::shared_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors_;
  std::unique_ptr<kentra::hub::HubServer> server_;
};

// Registers `people` people (SampleBeneficiary(first_serial ...), every third
// also Roma) through `stub` with session `token`, each with a case and served
// twice in `month` (information, then Roma support).
void RecordActivity(kentra::node::v1::StaffService::Stub* stub, const std::string& token, int people,
                    absl::CivilMonth month, int first_serial);

// A valid beneficiary for tests (ΑΜΚΑ derived from `serial`).
kentra::node::v1::Beneficiary SampleBeneficiary(int serial = 1);

}  // namespace kentra::testing

#endif  // KENTRA_TESTS_TESTING_TEST_UTIL_H_
