// StaffAccounts: a centre's staff users and their sessions in RocksDB. Checks
// passwords (Argon2id), locks accounts after repeated failures, refuses addresses
// that fail too often, issues session tokens (stored only as digests) and resolves
// them on every call, from a small cache that every account or session write
// empties. Every change commits with its audit entry. Thread-safe.
#ifndef KENTRA_NODE_ACCOUNTS_H_
#define KENTRA_NODE_ACCOUNTS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/failure_window.h"
#include "common/lock_table.h"
#include "common/passwords.h"
#include "common/storage.h"
#include "kentra/config/v1/centre.pb.h"
#include "kentra/node/v1/account_service.pb.h"
#include "kentra/storage/v1/records.pb.h"
#include "node/page_token.h"
#include "node/records.h"

namespace kentra::node {

// The one message every failed log-in gets, whatever the cause (unknown user,
// wrong password, locked or disabled account): the audit log holds the cause.
inline constexpr char kLoginFailed[] =
    "log-in failed: wrong user name or password, or the account is locked or disabled";

// The metadata key and scheme of a session token.
inline constexpr char kAuthorizationMetadataKey[] = "authorization";
inline constexpr char kBearerPrefix[] = "Bearer ";

// A session resolved from its token.
struct StaffSession {
  std::string user_id;
  v1::StaffRole role = v1::STAFF_ROLE_UNSPECIFIED;
  bool password_change_required = false;
  // Digest of the token: the session's key.
  std::string key;
};

class StaffAccounts {
 public:
  struct Limits {
    absl::Duration session_lifetime = absl::Hours(8);
    int lockout_failures = 5;
    absl::Duration lockout = absl::Minutes(15);
    int peer_failures_per_10_minutes = 20;
    PasswordCost cost = PasswordCost::Interactive();
  };
  // The limits a centre's node settings ask for.
  static Limits LimitsFrom(const kentra::config::v1::NodeSettings& settings);

  // `store`, `audit` and `clock` are not owned. `centre_id` names the tokens this
  // node issues, so that another node's token is recognised as such.
  static absl::StatusOr<std::unique_ptr<StaffAccounts>> Open(Store* store, CentreRecords* audit,
                                                             const Clock* clock, std::string centre_id,
                                                             const Limits& limits);

  // Checks the password of `request.user_id()` and opens a session. Every failure
  // is UNAUTHENTICATED kLoginFailed, or RESOURCE_EXHAUSTED when `from.peer` has
  // failed too often; each is audited with its true cause.
  absl::StatusOr<v1::LoginResponse> Login(const Actor& from, const v1::LoginRequest& request);
  // The session of a bearer token; UNAUTHENTICATED saying why it is not valid
  // (malformed, another centre's, unknown, expired, ended, account disabled).
  absl::StatusOr<StaffSession> Authenticate(absl::string_view token) const;
  // Ends `session`.
  absl::Status Logout(const Actor& actor, const StaffSession& session);
  // Changes the actor's password, ends all their sessions and opens a new one.
  absl::StatusOr<v1::ChangePasswordResponse> ChangePassword(const Actor& actor,
                                                            const v1::ChangePasswordRequest& request);

  // Coordinator operations.
  absl::StatusOr<v1::User> CreateUser(const Actor& actor, const v1::CreateUserRequest& request);
  absl::StatusOr<v1::ListUsersResponse> ListUsers(const v1::ListUsersRequest& request) const;
  absl::StatusOr<v1::User> UpdateUser(const Actor& actor, const v1::UpdateUserRequest& request);
  absl::StatusOr<v1::User> ResetPassword(const Actor& actor, const v1::ResetPasswordRequest& request);

  // The local bootstrap (kentra-node --bootstrap_coordinator): creates coordinator
  // `user_id` with `password`, or re-enables and re-keys that user if it exists.
  // FAILED_PRECONDITION if another active coordinator exists: then staff are
  // managed over the network by that coordinator.
  absl::StatusOr<v1::User> BootstrapCoordinator(absl::string_view user_id, absl::string_view password);

  // Creates a user directly, for tests and benchmarks that need staff at once.
  absl::StatusOr<v1::User> CreateUserForTesting(absl::string_view user_id, v1::StaffRole role,
                                                absl::string_view password);

 private:
  StaffAccounts(Store* store, CentreRecords* audit, const Clock* clock, std::string centre_id,
                const Limits& limits, std::string page_key);

  absl::StatusOr<std::optional<kentra::storage::v1::StoredUser>> ReadUser(absl::string_view user_id) const;
  absl::StatusOr<kentra::storage::v1::StoredUser> LoadUser(absl::string_view name, absl::string_view field) const;
  // Queues a new session for `user_id` into `batch`; returns its token.
  std::string PutSession(WriteBatch& batch, const Actor& from,
                         const kentra::storage::v1::StoredUser& user, absl::Time expire);
  // Queues the deletion of every expired session.
  absl::Status PutExpiredSessionDeletes(WriteBatch& batch) const;
  // Counts a failed log-in and audits it with `cause`; returns the error to send.
  absl::Status FailLogin(const Actor& from, absl::string_view user_id, absl::string_view cause,
                         kentra::storage::v1::StoredUser* user);
  // Writes `batch`, then empties the session cache. Every write of this class
  // goes through here, so that no cached session outlives a change to its
  // account or to itself (a logout, a password change, a disabled user, a new role).
  absl::Status Commit(WriteBatch& batch, Store::Durability durability = Store::Durability::kSynced);
  // Whether some active coordinator other than `except` exists.
  absl::StatusOr<bool> OtherActiveCoordinator(absl::string_view except) const;

  Store* store_;
  CentreRecords* audit_;
  const Clock* clock_;
  std::string centre_id_;
  std::string token_prefix_;
  Limits limits_;
  PasswordHasher hasher_;
  // Failed log-ins per network address, counted once per user name in the
  // window: a guesser trying many names is stopped at the limit, while one
  // person's typos (which lock that person's account) never shut out everyone
  // else behind the same address (a centre's NAT, a web front end). Beside it,
  // every failure counts in a window five times as large, so that one name
  // tried over and over cannot burn a password hash each time without end.
  FailureWindow peer_failures_;
  FailureWindow peer_user_failed_;
  FailureWindow peer_all_failures_;
  PageTokens page_tokens_;
  LockTable locks_;

  // Sessions resolved since the last account write, by token digest.
  struct CachedSession {
    StaffSession session;
    absl::Time expire;
  };
  static constexpr size_t kMaxCachedSessions = 4096;
  mutable absl::Mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, CachedSession> cache_ ABSL_GUARDED_BY(cache_mu_);
  // Counts account writes, so that a session read before one is not cached after it.
  uint64_t generation_ ABSL_GUARDED_BY(cache_mu_) = 0;
};

// The user id of "users/{user}", or nullopt.
std::optional<std::string> ParseUserName(absl::string_view name);

}  // namespace kentra::node

#endif  // KENTRA_NODE_ACCOUNTS_H_
