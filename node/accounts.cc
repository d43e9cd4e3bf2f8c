#include "node/accounts.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "common/status.h"
#include "common/text_fold.h"
#include "common/time_util.h"
#include "node/schema.h"
#include "node/validation.h"

namespace kentra::node {
namespace {

using kentra::storage::v1::StoredSession;
using kentra::storage::v1::StoredUser;

constexpr char kTokenScheme[] = "kentra-session.";
constexpr size_t kMaxTokenBytes = 200;
constexpr size_t kMaxDisplayNameChars = 100;

std::string UserName(absl::string_view user_id) { return absl::StrCat("users/", user_id); }

// "ipv4:10.0.0.7:51234" -> "ipv4:10.0.0.7": failures count per address, not per connection.
std::string PeerAddress(absl::string_view peer) {
  size_t colon = peer.rfind(':');
  return std::string(colon == absl::string_view::npos || colon < 5 ? peer : peer.substr(0, colon));
}

std::string RoleWord(v1::StaffRole role) {
  switch (role) {
    case v1::STAFF_ROLE_COORDINATOR: return "coordinator";
    case v1::STAFF_ROLE_SOCIAL_WORKER: return "social_worker";
    case v1::STAFF_ROLE_PSYCHOLOGIST: return "psychologist";
    case v1::STAFF_ROLE_VIEWER: return "viewer";
    default: return "none";
  }
}

absl::Status ValidateRole(v1::StaffRole role, absl::string_view field) {
  if (role == v1::STAFF_ROLE_UNSPECIFIED || !v1::StaffRole_IsValid(role)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": choose coordinator, social_worker, psychologist or viewer"));
  }
  return absl::OkStatus();
}

bool IsActiveCoordinator(const v1::User& u) {
  return u.role() == v1::STAFF_ROLE_COORDINATOR && !u.disabled();
}

// The user as the API shows it, with the lock cleared once it has passed.
v1::User Visible(const StoredUser& stored, absl::Time now) {
  v1::User u = stored.user();
  if (u.has_locked_until() && FromTimestamp(u.locked_until()) <= now) u.clear_locked_until();
  return u;
}

absl::Status Unauthenticated(absl::string_view why) { return absl::UnauthenticatedError(why); }

}  // namespace

std::optional<std::string> ParseUserName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, "users/")) return std::nullopt;
  if (!ValidateUserName(name, "name").ok()) return std::nullopt;
  return std::string(name);
}

StaffAccounts::Limits StaffAccounts::LimitsFrom(const kentra::config::v1::NodeSettings& s) {
  Limits limits;
  limits.session_lifetime = absl::Minutes(s.session_minutes());
  limits.lockout_failures = s.lockout_failures();
  limits.lockout = absl::Minutes(s.lockout_minutes());
  limits.peer_failures_per_10_minutes = s.peer_failures_per_10_minutes();
  switch (s.password_hashing()) {
    case kentra::config::v1::PASSWORD_HASHING_MODERATE: limits.cost = PasswordCost::Moderate(); break;
    case kentra::config::v1::PASSWORD_HASHING_MINIMUM_FOR_TESTS: limits.cost = PasswordCost::MinimumForTests(); break;
    default: limits.cost = PasswordCost::Interactive(); break;
  }
  return limits;
}

absl::StatusOr<std::unique_ptr<StaffAccounts>> StaffAccounts::Open(Store* store, CentreRecords* audit,
                                                                   const Clock* clock, std::string centre_id,
                                                                   const Limits& limits) {
  KENTRA_ASSIGN_OR_RETURN(auto page_key, store->Get(kMeta, kMetaPageTokenKey));
  if (!page_key) return absl::FailedPreconditionError("open the centre's records before its accounts");
  return std::unique_ptr<StaffAccounts>(
      new StaffAccounts(store, audit, clock, std::move(centre_id), limits, *page_key));
}

StaffAccounts::StaffAccounts(Store* store, CentreRecords* audit, const Clock* clock, std::string centre_id,
                             const Limits& limits, std::string page_key)
    : store_(store),
      audit_(audit),
      clock_(clock),
      centre_id_(std::move(centre_id)),
      token_prefix_(absl::StrCat(kTokenScheme, centre_id_, ".")),
      limits_(limits),
      hasher_(limits.cost),
      peer_failures_(limits.peer_failures_per_10_minutes, absl::Minutes(10), clock),
      peer_user_failed_(1, absl::Minutes(10), clock),
      peer_all_failures_(5 * limits.peer_failures_per_10_minutes, absl::Minutes(10), clock),
      page_tokens_(std::move(page_key), clock) {}

absl::StatusOr<std::optional<StoredUser>> StaffAccounts::ReadUser(absl::string_view user_id) const {
  KENTRA_ASSIGN_OR_RETURN(auto bytes, store_->Get(kUsers, user_id));
  if (!bytes) return std::optional<StoredUser>();
  StoredUser user;
  if (!user.ParseFromString(*bytes)) return absl::DataLossError(absl::StrCat("the record of ", UserName(user_id), " cannot be read"));
  return std::optional<StoredUser>(std::move(user));
}

absl::StatusOr<StoredUser> StaffAccounts::LoadUser(absl::string_view name, absl::string_view field) const {
  auto user_id = ParseUserName(name);
  if (!user_id) return absl::InvalidArgumentError(absl::StrCat(field, ": must be users/{user}"));
  KENTRA_ASSIGN_OR_RETURN(auto user, ReadUser(*user_id));
  if (!user) return absl::NotFoundError(absl::StrCat(field, ": ", name, " does not exist"));
  return *std::move(user);
}

std::string StaffAccounts::PutSession(WriteBatch& batch, const Actor& from, const StoredUser& user,
                                      absl::Time expire) {
  const std::string token = absl::StrCat(token_prefix_, Base64UrlEncode(RandomBytes(32)));
  StoredSession session;
  session.set_user_id(*ParseUserName(user.user().name()));
  session.set_issue_time_micros(absl::ToUnixMicros(clock_->Now()));
  session.set_expire_time_micros(absl::ToUnixMicros(expire));
  session.set_peer(from.peer);
  session.set_principal(from.principal);
  session.set_epoch(user.session_epoch());
  batch.Put(kSessions, Digest(token), session.SerializeAsString());
  return token;
}

absl::Status StaffAccounts::PutExpiredSessionDeletes(WriteBatch& batch) const {
  const int64_t now = absl::ToUnixMicros(clock_->Now());
  auto it = store_->NewIterator(kSessions);
  for (it->Seek(""); it->Valid(); it->Next()) {
    StoredSession session;
    if (!session.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())) ||
        session.expire_time_micros() <= now) {
      batch.Delete(kSessions, it->key());
    }
  }
  return it->status();
}

absl::Status StaffAccounts::FailLogin(const Actor& from, absl::string_view user_id, absl::string_view cause,
                                      StoredUser* user) {
  const std::string address = PeerAddress(from.peer);
  const std::string address_and_user = absl::StrCat(address, std::string(1, '\0'), user_id);
  if (peer_user_failed_.RetryAfter(address_and_user) == absl::ZeroDuration()) peer_failures_.RecordFailure(address);
  peer_user_failed_.RecordFailure(address_and_user);
  peer_all_failures_.RecordFailure(address);
  WriteBatch batch;
  std::string detail(cause);
  if (user != nullptr) {
    v1::User* u = user->mutable_user();
    u->set_failed_logins(u->failed_logins() + 1);
    if (u->failed_logins() >= limits_.lockout_failures) {
      const absl::Time until = clock_->Now() + limits_.lockout;
      *u->mutable_locked_until() = ToTimestamp(until);
      absl::StrAppend(&detail, "; ", u->failed_logins(), " failures in a row: locked until ",
                      FormatLocalMinute(until));
    }
    batch.Put(kUsers, user_id, user->SerializeAsString());
  }
  audit_->PutAudit(batch, from, "Login", user_id.empty() ? "" : UserName(user_id), "",
                   absl::StrCat("UNAUTHENTICATED: ", detail));
  // A changed account (a failure counted towards its lockout) must survive a
  // power cut; a bare audit line need only reach the OS.
  KENTRA_RETURN_IF_ERROR(Commit(
      batch, user != nullptr ? Store::Durability::kSynced : Store::Durability::kProcessCrashed));
  return Unauthenticated(kLoginFailed);
}

absl::StatusOr<v1::LoginResponse> StaffAccounts::Login(const Actor& from, const v1::LoginRequest& request) {
  const absl::Duration wait = std::max(peer_failures_.RetryAfter(PeerAddress(from.peer)),
                                       peer_all_failures_.RetryAfter(PeerAddress(from.peer)));
  const bool valid_id = ValidateUserName(request.user_id(), "user_id").ok();
  if (wait > absl::ZeroDuration()) {
    const auto refusal = absl::ResourceExhaustedError(absl::StrCat(
        "too many failed log-ins from this address; try again in ",
        absl::ToInt64Minutes(wait) + 1, " minutes"));
    WriteBatch batch;
    audit_->PutAudit(batch, from, "Login", valid_id ? UserName(request.user_id()) : "", "",
                     absl::StrCat("RESOURCE_EXHAUSTED: ", refusal.message()));
    KENTRA_RETURN_IF_ERROR(Commit(batch, Store::Durability::kProcessCrashed));
    return refusal;
  }
  if (!valid_id || request.password().empty() || request.password().size() > kMaxPasswordBytes) {
    hasher_.VerifyNobody(request.password().substr(0, kMaxPasswordBytes));
    return FailLogin(from, valid_id ? request.user_id() : "", "malformed user id or password", nullptr);
  }
  const std::string& user_id = request.user_id();
  auto guard = locks_.Lock({user_id});
  KENTRA_ASSIGN_OR_RETURN(auto user, ReadUser(user_id));
  const absl::Time now = clock_->Now();
  if (!user) {
    hasher_.VerifyNobody(request.password());
    return FailLogin(from, user_id, "no such user", nullptr);
  }
  if (user->user().disabled()) {
    hasher_.VerifyNobody(request.password());
    return FailLogin(from, user_id, "account disabled", nullptr);
  }
  if (user->user().has_locked_until() && FromTimestamp(user->user().locked_until()) > now) {
    hasher_.VerifyNobody(request.password());
    return FailLogin(from, user_id,
                     absl::StrCat("account locked until ", FormatLocalMinute(FromTimestamp(user->user().locked_until()))),
                     nullptr);
  }
  if (!hasher_.Verify(user->password_hash(), request.password())) {
    return FailLogin(from, user_id, "wrong password", &*user);
  }
  v1::User* u = user->mutable_user();
  u->set_failed_logins(0);
  u->clear_locked_until();
  *u->mutable_last_login_time() = ToTimestamp(now);
  Actor actor = from;
  actor.name = UserName(user_id);
  actor.user = user_id;
  actor.role = u->role();
  const absl::Time expire = now + limits_.session_lifetime;
  WriteBatch batch;
  KENTRA_RETURN_IF_ERROR(PutExpiredSessionDeletes(batch));
  v1::LoginResponse response;
  response.set_token(PutSession(batch, actor, *user, expire));
  *response.mutable_expire_time() = ToTimestamp(expire);
  batch.Put(kUsers, user_id, user->SerializeAsString());
  audit_->PutAudit(batch, actor, "Login", u->name(), absl::StrCat("session until ", FormatLocalMinute(expire)));
  KENTRA_RETURN_IF_ERROR(Commit(batch));
  *response.mutable_user() = Visible(*user, now);
  return response;
}

absl::StatusOr<StaffSession> StaffAccounts::Authenticate(absl::string_view token) const {
  if (token.size() > kMaxTokenBytes || !absl::StartsWith(token, kTokenScheme)) {
    return Unauthenticated("the authorization metadata is not a kentra session token; log in again");
  }
  if (!absl::StartsWith(token, token_prefix_)) {
    absl::string_view issuer = token.substr(sizeof(kTokenScheme) - 1);
    issuer = issuer.substr(0, issuer.find('.'));
    return Unauthenticated(absl::StrCat("the session token was issued by another centre's node (",
                                        Utf8Prefix(issuer, 64), "); log in to ", centre_id_));
  }
  StaffSession out;
  out.key = Digest(token);
  uint64_t generation;
  {
    absl::ReaderMutexLock lock(&cache_mu_);
    auto cached = cache_.find(out.key);
    // An expired one goes the long way, which says so.
    if (cached != cache_.end() && clock_->Now() < cached->second.expire) return cached->second.session;
    generation = generation_;
  }
  KENTRA_ASSIGN_OR_RETURN(auto bytes, store_->Get(kSessions, out.key));
  StoredSession session;
  if (!bytes || !session.ParseFromString(*bytes)) {
    return Unauthenticated("the session token is not valid here (logged out, ended, or never issued); log in again");
  }
  const absl::Time expire = absl::FromUnixMicros(session.expire_time_micros());
  if (clock_->Now() >= expire) {
    return Unauthenticated(absl::StrCat("the session expired at ", FormatLocalMinute(expire), "; log in again"));
  }
  KENTRA_ASSIGN_OR_RETURN(auto user, ReadUser(session.user_id()));
  if (!user || user->user().disabled()) return Unauthenticated("the account is disabled");
  if (user->session_epoch() != session.epoch()) {
    return Unauthenticated("the session was ended by a password change or reset; log in again");
  }
  out.user_id = session.user_id();
  out.role = user->user().role();
  out.password_change_required = user->user().password_change_required();
  absl::MutexLock lock(&cache_mu_);
  // Unless an account write came between the reads above and now.
  if (generation_ == generation) {
    if (cache_.size() >= kMaxCachedSessions) cache_.clear();
    cache_[out.key] = CachedSession{out, expire};
  }
  return out;
}

absl::Status StaffAccounts::Commit(WriteBatch& batch, Store::Durability durability) {
  absl::Status written = store_->Write(batch, durability);
  // After the write, whether or not it took: a session resolved before it may be stale.
  absl::MutexLock lock(&cache_mu_);
  ++generation_;
  cache_.clear();
  return written;
}

absl::Status StaffAccounts::Logout(const Actor& actor, const StaffSession& session) {
  WriteBatch batch;
  batch.Delete(kSessions, session.key);
  audit_->PutAudit(batch, actor, "Logout", UserName(session.user_id), "");
  return Commit(batch);
}

absl::StatusOr<v1::ChangePasswordResponse> StaffAccounts::ChangePassword(
    const Actor& actor, const v1::ChangePasswordRequest& request) {
  KENTRA_RETURN_IF_ERROR(ValidateNewPassword(request.new_password(), actor.user, "new_password"));
  if (request.new_password() == request.current_password()) {
    return absl::InvalidArgumentError("new_password: must differ from the current password");
  }
  auto guard = locks_.Lock({actor.user});
  KENTRA_ASSIGN_OR_RETURN(auto user, ReadUser(actor.user));
  if (!user) return Unauthenticated("the account no longer exists");
  if (request.current_password().size() > kMaxPasswordBytes ||
      !hasher_.Verify(user->password_hash(), request.current_password())) {
    // A stolen session must not become a way to guess the password.
    FailLogin(actor, actor.user, "ChangePassword with a wrong current password", &*user).IgnoreError();
    return Unauthenticated("current_password is wrong");
  }
  KENTRA_ASSIGN_OR_RETURN(std::string hash, hasher_.Hash(request.new_password()));
  user->set_password_hash(hash);
  user->set_session_epoch(user->session_epoch() + 1);
  user->mutable_user()->set_password_change_required(false);
  user->mutable_user()->set_failed_logins(0);
  const absl::Time expire = clock_->Now() + limits_.session_lifetime;
  WriteBatch batch;
  v1::ChangePasswordResponse response;
  response.set_token(PutSession(batch, actor, *user, expire));
  *response.mutable_expire_time() = ToTimestamp(expire);
  batch.Put(kUsers, actor.user, user->SerializeAsString());
  audit_->PutAudit(batch, actor, "ChangePassword", user->user().name(), "other sessions ended");
  KENTRA_RETURN_IF_ERROR(Commit(batch));
  return response;
}

absl::StatusOr<v1::User> StaffAccounts::CreateUser(const Actor& actor, const v1::CreateUserRequest& request) {
  KENTRA_RETURN_IF_ERROR(ValidateUserName(request.user_id(), "user_id"));
  KENTRA_RETURN_IF_ERROR(ValidateText(request.user().display_name(), kMaxDisplayNameChars, "user.display_name"));
  KENTRA_RETURN_IF_ERROR(ValidateRole(request.user().role(), "user.role"));
  KENTRA_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  KENTRA_RETURN_IF_ERROR(ValidateNewPassword(request.initial_password(), request.user_id(), "initial_password"));
  v1::CreateUserRequest digested;
  *digested.mutable_user() = request.user();
  digested.set_user_id(request.user_id());
  const std::string digest = Digest(digested.SerializeAsString());

  auto guard = locks_.Lock({request.user_id()});
  KENTRA_ASSIGN_OR_RETURN(auto existing, ReadUser(request.user_id()));
  const absl::Time now = clock_->Now();
  if (existing) {
    if (!request.request_id().empty() && existing->create_request_id() == request.request_id() &&
        existing->create_request_digest() == digest) {
      return Visible(*existing, now);
    }
    return absl::AlreadyExistsError(absl::StrCat(UserName(request.user_id()), " already exists"));
  }
  StoredUser user;
  v1::User* u = user.mutable_user();
  u->set_name(UserName(request.user_id()));
  u->set_display_name(request.user().display_name());
  u->set_role(request.user().role());
  u->set_password_change_required(true);
  *u->mutable_create_time() = ToTimestamp(now);
  KENTRA_ASSIGN_OR_RETURN(*user.mutable_password_hash(), hasher_.Hash(request.initial_password()));
  user.set_create_request_id(request.request_id());
  user.set_create_request_digest(digest);
  WriteBatch batch;
  batch.Put(kUsers, request.user_id(), user.SerializeAsString());
  audit_->PutAudit(batch, actor, "CreateUser", u->name(), absl::StrCat("role ", RoleWord(u->role())));
  KENTRA_RETURN_IF_ERROR(Commit(batch));
  return Visible(user, now);
}

absl::StatusOr<v1::ListUsersResponse> StaffAccounts::ListUsers(const v1::ListUsersRequest& request) const {
  KENTRA_ASSIGN_OR_RETURN(int page_size, EffectivePageSize(request.page_size(), 1000));
  KENTRA_ASSIGN_OR_RETURN(std::string resume, page_tokens_.Resume(request.page_token(), "ListUsers", ""));
  v1::ListUsersResponse response;
  const absl::Time now = clock_->Now();
  auto it = store_->NewIterator(kUsers);
  it->Seek(resume);
  if (it->Valid() && !resume.empty() && it->key() == resume) it->Next();
  std::string last;
  for (; it->Valid(); it->Next()) {
    if (response.users_size() == page_size) {
      response.set_next_page_token(page_tokens_.Issue("ListUsers", "", last));
      break;
    }
    StoredUser user;
    if (!user.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("the record of users/", it->key(), " cannot be read"));
    }
    *response.add_users() = Visible(user, now);
    last = std::string(it->key());
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  return response;
}

absl::StatusOr<bool> StaffAccounts::OtherActiveCoordinator(absl::string_view except) const {
  auto it = store_->NewIterator(kUsers);
  for (it->Seek(""); it->Valid(); it->Next()) {
    StoredUser user;
    if (it->key() == except) continue;
    if (user.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())) &&
        IsActiveCoordinator(user.user())) {
      return true;
    }
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  return false;
}

absl::StatusOr<v1::User> StaffAccounts::UpdateUser(const Actor& actor, const v1::UpdateUserRequest& request) {
  if (request.update_mask().paths_size() == 0) {
    return absl::InvalidArgumentError("update_mask: name at least one of display_name, role, disabled");
  }
  auto user_id = ParseUserName(request.user().name());
  if (!user_id) return absl::InvalidArgumentError("user.name: must be users/{user}");
  auto guard = locks_.Lock({*user_id, "coordinators"});
  KENTRA_ASSIGN_OR_RETURN(StoredUser user, LoadUser(request.user().name(), "user.name"));
  const bool was_active_coordinator = IsActiveCoordinator(user.user());
  v1::User* u = user.mutable_user();
  std::vector<std::string> changes;
  for (const std::string& path : request.update_mask().paths()) {
    if (path == "display_name") {
      KENTRA_RETURN_IF_ERROR(ValidateText(request.user().display_name(), kMaxDisplayNameChars, "user.display_name"));
      u->set_display_name(request.user().display_name());
      changes.push_back("display_name");
    } else if (path == "role") {
      KENTRA_RETURN_IF_ERROR(ValidateRole(request.user().role(), "user.role"));
      changes.push_back(absl::StrCat("role ", RoleWord(u->role()), " -> ", RoleWord(request.user().role())));
      u->set_role(request.user().role());
    } else if (path == "disabled") {
      u->set_disabled(request.user().disabled());
      changes.push_back(request.user().disabled() ? "disabled" : "enabled");
      if (request.user().disabled()) user.set_session_epoch(user.session_epoch() + 1);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask: '", path, "' cannot be changed; use display_name, role or disabled"));
    }
  }
  if (was_active_coordinator && !IsActiveCoordinator(*u)) {
    KENTRA_ASSIGN_OR_RETURN(bool other, OtherActiveCoordinator(*user_id));
    if (!other) {
      return absl::FailedPreconditionError(
          absl::StrCat("the change would leave ", centre_id_, " without an active coordinator"));
    }
  }
  WriteBatch batch;
  batch.Put(kUsers, *user_id, user.SerializeAsString());
  audit_->PutAudit(batch, actor, "UpdateUser", u->name(), absl::StrJoin(changes, "; "));
  KENTRA_RETURN_IF_ERROR(Commit(batch));
  return Visible(user, clock_->Now());
}

absl::StatusOr<v1::User> StaffAccounts::ResetPassword(const Actor& actor, const v1::ResetPasswordRequest& request) {
  auto user_id = ParseUserName(request.name());
  if (!user_id) return absl::InvalidArgumentError("name: must be users/{user}");
  KENTRA_RETURN_IF_ERROR(ValidateNewPassword(request.new_password(), *user_id, "new_password"));
  auto guard = locks_.Lock({*user_id});
  KENTRA_ASSIGN_OR_RETURN(StoredUser user, LoadUser(request.name(), "name"));
  KENTRA_ASSIGN_OR_RETURN(*user.mutable_password_hash(), hasher_.Hash(request.new_password()));
  user.set_session_epoch(user.session_epoch() + 1);
  v1::User* u = user.mutable_user();
  u->set_password_change_required(true);
  u->set_failed_logins(0);
  u->clear_locked_until();
  WriteBatch batch;
  batch.Put(kUsers, *user_id, user.SerializeAsString());
  audit_->PutAudit(batch, actor, "ResetPassword", u->name(), "temporary password set; unlocked; sessions ended");
  KENTRA_RETURN_IF_ERROR(Commit(batch));
  return Visible(user, clock_->Now());
}

absl::StatusOr<v1::User> StaffAccounts::BootstrapCoordinator(absl::string_view user_id, absl::string_view password) {
  KENTRA_RETURN_IF_ERROR(ValidateUserName(user_id, "user"));
  KENTRA_RETURN_IF_ERROR(ValidateNewPassword(password, user_id, "password"));
  auto guard = locks_.Lock({user_id, "coordinators"});
  KENTRA_ASSIGN_OR_RETURN(bool other, OtherActiveCoordinator(user_id));
  if (other) {
    return absl::FailedPreconditionError(
        "the centre already has an active coordinator; staff are managed with kentractl user");
  }
  KENTRA_ASSIGN_OR_RETURN(auto existing, ReadUser(user_id));
  StoredUser user = existing ? *existing : StoredUser();
  v1::User* u = user.mutable_user();
  const absl::Time now = clock_->Now();
  u->set_name(UserName(user_id));
  u->set_role(v1::STAFF_ROLE_COORDINATOR);
  u->set_disabled(false);
  u->set_password_change_required(false);
  u->set_failed_logins(0);
  u->clear_locked_until();
  if (!u->has_create_time()) *u->mutable_create_time() = ToTimestamp(now);
  KENTRA_ASSIGN_OR_RETURN(*user.mutable_password_hash(), hasher_.Hash(password));
  user.set_session_epoch(user.session_epoch() + 1);
  Actor actor;
  actor.name = "system/bootstrap";
  actor.peer = "local";
  WriteBatch batch;
  batch.Put(kUsers, user_id, user.SerializeAsString());
  audit_->PutAudit(batch, actor, "BootstrapCoordinator", u->name(), existing ? "re-enabled and re-keyed" : "created");
  KENTRA_RETURN_IF_ERROR(Commit(batch));
  return Visible(user, now);
}

absl::StatusOr<v1::User> StaffAccounts::CreateUserForTesting(absl::string_view user_id, v1::StaffRole role,
                                                             absl::string_view password) {
  StoredUser user;
  user.mutable_user()->set_name(UserName(user_id));
  user.mutable_user()->set_role(role);
  *user.mutable_user()->mutable_create_time() = ToTimestamp(clock_->Now());
  KENTRA_ASSIGN_OR_RETURN(*user.mutable_password_hash(), hasher_.Hash(password));
  WriteBatch batch;
  batch.Put(kUsers, user_id, user.SerializeAsString());
  KENTRA_RETURN_IF_ERROR(Commit(batch));
  return user.user();
}

}  // namespace kentra::node
