// kentractl's account commands: login, logout, passwd, and the coordinator's user.
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "cli/kentractl.h"
#include "cli/session_file.h"
#include "common/status.h"
#include "common/terminal.h"
#include "common/time_util.h"

namespace kentra::cli {
namespace {

namespace nv1 = kentra::node::v1;

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::set<std::string> With(std::initializer_list<const char*> more) {
  std::set<std::string> s = CommonOptions();
  for (const char* m : more) s.insert(m);
  return s;
}

absl::StatusOr<std::string> OneUser(const Args& args) {
  if (args.positional().size() != 3) return UsageError("give exactly one user name");
  return args.positional()[2];
}

std::string When(const google::protobuf::Timestamp& ts) {
  return ts.seconds() == 0 ? "" : FormatLocalMinute(FromTimestamp(ts));
}

absl::StatusOr<nv1::StaffRole> ParseRole(const Args& args) {
  KENTRA_ASSIGN_OR_RETURN(std::string word, args.Require("role"));
  KENTRA_ASSIGN_OR_RETURN(int role, ParseEnumWord(nv1::StaffRole_descriptor(), "role", word));
  return static_cast<nv1::StaffRole>(role);
}

void PrintUsers(const StaffSession& s, const std::vector<const nv1::User*>& users, bool single) {
  if (s.format == Format::kJson) {
    PrintJson({users.begin(), users.end()}, single, *s.out);
    return;
  }
  Table t{{"USER", "DISPLAY NAME", "ROLE", "STATE", "LAST LOG-IN", "FAILED", "LOCKED UNTIL"}, {}};
  for (const nv1::User* u : users) {
    std::string state = u->disabled() ? "disabled" : u->password_change_required() ? "temporary password" : "active";
    t.rows.push_back({u->name().substr(u->name().find('/') + 1), u->display_name(),
                      EnumWord(nv1::StaffRole_descriptor(), u->role()), state, When(u->last_login_time()),
                      absl::StrCat(u->failed_logins()), When(u->locked_until())});
  }
  PrintTable(t, s.format, *s.out);
}

absl::Status Login(const Args& args, StaffSession& s) {
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"user"})));
  const std::string user = args.GetOr("user", EnvOr("KENTRA_USER", EnvOr("USER", "")));
  if (user.empty()) return UsageError("--user is required (or set $KENTRA_USER)");
  KENTRA_ASSIGN_OR_RETURN(std::string password,
                          ReadSecretLine(absl::StrCat("password for ", user, " at ", s.target, ": ")));
  nv1::LoginRequest req;
  req.set_user_id(user);
  req.set_password(password);
  nv1::LoginResponse resp;
  s.token.clear();  // Login needs only the terminal's certificate
  KENTRA_RETURN_IF_ERROR(FromGrpcStatus(s.accounts->Login(s.Context().get(), req, &resp)));
  KENTRA_RETURN_IF_ERROR(WriteSessionToken(s.session_file, resp.token()));
  *s.out << "logged in as " << user << " ("
         << EnumWord(nv1::StaffRole_descriptor(), resp.user().role()) << ") until "
         << When(resp.expire_time()) << "\n";
  if (resp.user().password_change_required()) {
    *s.out << "your password is temporary: change it now with kentractl passwd\n";
  }
  return absl::OkStatus();
}

absl::Status Logout(const Args& args, StaffSession& s) {
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(CommonOptions()));
  absl::Status ended = absl::OkStatus();
  if (!s.token.empty()) {
    nv1::LogoutResponse resp;
    ended = FromGrpcStatus(s.accounts->Logout(s.Context().get(), nv1::LogoutRequest(), &resp));
  }
  RemoveSessionToken(s.session_file);
  // A session the node no longer knows is as good as ended.
  if (!ended.ok() && ended.code() != absl::StatusCode::kUnauthenticated) return ended;
  *s.out << "logged out\n";
  return absl::OkStatus();
}

absl::Status Passwd(const Args& args, StaffSession& s) {
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(CommonOptions()));
  nv1::ChangePasswordRequest req;
  KENTRA_ASSIGN_OR_RETURN(*req.mutable_current_password(), ReadSecretLine("current password: "));
  KENTRA_ASSIGN_OR_RETURN(*req.mutable_new_password(), ReadNewSecret("new password: "));
  nv1::ChangePasswordResponse resp;
  KENTRA_RETURN_IF_ERROR(FromGrpcStatus(s.accounts->ChangePassword(s.Context().get(), req, &resp)));
  KENTRA_RETURN_IF_ERROR(WriteSessionToken(s.session_file, resp.token()));
  *s.out << "password changed; your other sessions have ended\n";
  return absl::OkStatus();
}

// Sets `field` of user NAME (the mask's one path) from `user`.
absl::Status UpdateOne(StaffSession& s, const std::string& name, nv1::User user, const char* field) {
  nv1::UpdateUserRequest req;
  *req.mutable_user() = std::move(user);
  req.mutable_user()->set_name("users/" + name);
  req.mutable_update_mask()->add_paths(field);
  nv1::User out;
  KENTRA_RETURN_IF_ERROR(FromGrpcStatus(s.accounts->UpdateUser(s.Context().get(), req, &out)));
  PrintUsers(s, {&out}, true);
  return absl::OkStatus();
}

absl::Status UserCommand(const std::string& verb, const Args& args, StaffSession& s) {
  if (verb == "add") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"role", "display-name", "request-id"})));
    nv1::CreateUserRequest req;
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_user_id(), OneUser(args));
    KENTRA_ASSIGN_OR_RETURN(nv1::StaffRole role, ParseRole(args));
    req.mutable_user()->set_role(role);
    req.mutable_user()->set_display_name(args.GetOr("display-name", ""));
    req.set_request_id(args.GetOr("request-id", ""));
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_initial_password(),
                            ReadNewSecret(absl::StrCat("temporary password for ", req.user_id(), ": ")));
    nv1::User out;
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(s.accounts->CreateUser(s.Context().get(), req, &out)));
    PrintUsers(s, {&out}, true);
    return absl::OkStatus();
  }
  if (verb == "list") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(CommonOptions()));
    nv1::ListUsersRequest req;
    std::vector<nv1::User> all;
    do {
      nv1::ListUsersResponse page;
      KENTRA_RETURN_IF_ERROR(FromGrpcStatus(s.accounts->ListUsers(s.Context().get(), req, &page)));
      all.insert(all.end(), page.users().begin(), page.users().end());
      req.set_page_token(page.next_page_token());
    } while (!req.page_token().empty());
    std::vector<const nv1::User*> ptrs;
    for (const auto& u : all) ptrs.push_back(&u);
    PrintUsers(s, ptrs, false);
    return absl::OkStatus();
  }
  if (verb == "disable" || verb == "enable") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(CommonOptions()));
    KENTRA_ASSIGN_OR_RETURN(std::string name, OneUser(args));
    nv1::User user;
    user.set_disabled(verb == "disable");
    return UpdateOne(s, name, user, "disabled");
  }
  if (verb == "set-role") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"role"})));
    KENTRA_ASSIGN_OR_RETURN(std::string name, OneUser(args));
    nv1::User user;
    KENTRA_ASSIGN_OR_RETURN(nv1::StaffRole role, ParseRole(args));
    user.set_role(role);
    return UpdateOne(s, name, user, "role");
  }
  if (verb == "reset-password") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(CommonOptions()));
    nv1::ResetPasswordRequest req;
    KENTRA_ASSIGN_OR_RETURN(std::string name, OneUser(args));
    req.set_name("users/" + name);
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_new_password(),
                            ReadNewSecret(absl::StrCat("temporary password for ", name, ": ")));
    nv1::User out;
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(s.accounts->ResetPassword(s.Context().get(), req, &out)));
    PrintUsers(s, {&out}, true);
    return absl::OkStatus();
  }
  return UsageError("user: use add, list, disable, enable, set-role or reset-password");
}

}  // namespace

bool IsAccountCommand(const std::string& noun) {
  return noun == "login" || noun == "logout" || noun == "passwd" || noun == "user";
}

absl::Status RunAccountCommand(const std::string& noun, const Args& args, StaffSession& session) {
  if (noun == "login") return Login(args, session);
  if (noun == "logout") return Logout(args, session);
  if (noun == "passwd") return Passwd(args, session);
  const std::string verb = args.positional().size() > 1 ? args.positional()[1] : "";
  return UserCommand(verb, args, session);
}

}  // namespace kentra::cli
