// kentractl's backup commands: the node's coordinator (backup create|list) or the
// hub's operator (admin backup create|list) has the server back up its stores
// while it serves, and lists the backups it keeps. Node and hub serve the same
// kentra.type.v1 Backup calls.
#include <iostream>

#include "absl/strings/str_format.h"
#include "cli/command_util.h"
#include "cli/kentractl.h"
#include "common/status.h"
#include "common/time_util.h"
#include "kentra/hub/v1/admin_service.grpc.pb.h"

namespace kentra::cli {
namespace {

namespace tv1 = kentra::type::v1;

void PrintBackups(const StaffSession& s, const std::vector<const tv1::Backup*>& backups, bool single) {
  if (s.format == Format::kJson) {
    PrintJson({backups.begin(), backups.end()}, single, *s.out);
    return;
  }
  Table t{{"BACKUP", "TAKEN", "SIZE", "PATH"}, {}};
  for (const auto* b : backups) {
    t.rows.push_back({b->name().substr(b->name().find('/') + 1), FormatLocalMinute(FromTimestamp(b->create_time())),
                      absl::StrFormat("%.1f MiB", static_cast<double>(b->size_bytes()) / (1 << 20)), b->path()});
  }
  PrintTable(t, s.format, *s.out);
}

// `verb` (create or list) against `stub`: the node's StaffService or the hub's AdminService.
template <typename Stub>
absl::Status RunBackupVerb(const std::string& verb, const Args& args, StaffSession& s, Stub& stub,
                           absl::string_view usage) {
  if (verb == "create") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(CommonOptions()));
    s.timeout = std::max(s.timeout, absl::Minutes(5));  // a large store takes a while to flush and link
    tv1::Backup backup;
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(stub.CreateBackup(s.Context().get(), tv1::CreateBackupRequest(), &backup)));
    PrintBackups(s, {&backup}, true);
    return absl::OkStatus();
  }
  if (verb == "list") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"all"})));
    tv1::ListBackupsRequest req;
    tv1::ListBackupsResponse all;
    do {
      tv1::ListBackupsResponse page;
      KENTRA_RETURN_IF_ERROR(FromGrpcStatus(stub.ListBackups(s.Context().get(), req, &page)));
      for (auto& b : *page.mutable_backups()) *all.add_backups() = std::move(b);
      req.set_page_token(page.next_page_token());
    } while (!req.page_token().empty() && args.Has("all"));
    std::vector<const tv1::Backup*> list;
    for (const auto& b : all.backups()) list.push_back(&b);
    PrintBackups(s, list, false);
    if (!req.page_token().empty() && s.format == Format::kTable) *s.out << "(more: add --all to list every page)\n";
    return absl::OkStatus();
  }
  return UsageError(usage);
}

}  // namespace

absl::Status RunBackupCommand(const Args& args, StaffSession& s) {
  const std::string verb = args.positional().size() > 1 ? args.positional()[1] : "";
  return RunBackupVerb(verb, args, s, *s.stub, "use 'backup create' or 'backup list [--all]'");
}

absl::Status RunHubBackupCommand(const Args& args, StaffSession& s) {
  const std::string verb = args.positional().size() > 2 ? args.positional()[2] : "";
  auto stub = kentra::hub::v1::AdminService::NewStub(s.channel);
  return RunBackupVerb(verb, args, s, *stub, "use 'admin backup create' or 'admin backup list [--all]'");
}

}  // namespace kentra::cli
