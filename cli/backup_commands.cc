// kentractl's backup commands: the coordinator has the node take a backup of its
// whole store while it serves, and lists the backups it keeps.
#include <iostream>

#include "absl/strings/str_format.h"
#include "cli/command_util.h"
#include "cli/kentractl.h"
#include "common/status.h"
#include "common/time_util.h"

namespace kentra::cli {
namespace {

namespace nv1 = kentra::node::v1;

void PrintBackups(const StaffSession& s, const std::vector<const nv1::Backup*>& backups, bool single) {
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

}  // namespace

absl::Status RunBackupCommand(const Args& args, StaffSession& s) {
  const std::string verb = args.positional().size() > 1 ? args.positional()[1] : "";
  if (verb == "create") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(CommonOptions()));
    // A large store takes a while to flush and link.
    s.timeout = std::max(s.timeout, absl::Minutes(5));
    nv1::Backup backup;
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(s.stub->CreateBackup(s.Context().get(), nv1::CreateBackupRequest(), &backup)));
    PrintBackups(s, {&backup}, true);
    return absl::OkStatus();
  }
  if (verb == "list") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"all"})));
    nv1::ListBackupsRequest req;
    nv1::ListBackupsResponse all;
    do {
      nv1::ListBackupsResponse page;
      KENTRA_RETURN_IF_ERROR(FromGrpcStatus(s.stub->ListBackups(s.Context().get(), req, &page)));
      for (auto& b : *page.mutable_backups()) *all.add_backups() = std::move(b);
      req.set_page_token(page.next_page_token());
    } while (!req.page_token().empty() && args.Has("all"));
    std::vector<const nv1::Backup*> list;
    for (const auto& b : all.backups()) list.push_back(&b);
    PrintBackups(s, list, false);
    if (!req.page_token().empty() && s.format == Format::kTable) *s.out << "(more: add --all to list every page)\n";
    return absl::OkStatus();
  }
  return UsageError("use 'backup create' or 'backup list [--all]'");
}

}  // namespace kentra::cli
