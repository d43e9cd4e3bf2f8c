// kentractl's indicator commands: what the centre's node sends the hub for a
// month, and the coordinator's closing of a month.
#include <unistd.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/kentractl.h"
#include "common/anon/codebook.h"
#include "common/status.h"
#include "common/time_util.h"

namespace kentra::cli {
namespace {

namespace nv1 = kentra::node::v1;

void PrintCells(const StaffSession& s, const kentra::anon::v1::PeriodCells& cells) {
  if (s.format == Format::kJson) {
    PrintJson({&cells}, true, *s.out);
    return;
  }
  if (s.format == Format::kTable) {
    *s.out << cells.centre() << ", " << cells.period() << " (" << cells.codebook() << ", "
           << (cells.closed() ? "closed: final" : "open: may still change") << ")\n"
           << "These protected values are all that leaves the centre for this month.\n";
  }
  Table t{{"CELL", "VALUE"}, {}};
  for (const auto& c : cells.cells()) t.rows.push_back({c.id(), absl::StrCat(c.value())});
  PrintTable(t, s.format, *s.out);
}

absl::StatusOr<std::string> Month(const Args& args, int position) {
  std::string month = args.positional().size() > static_cast<size_t>(position)
                          ? args.positional()[static_cast<size_t>(position)]
                          : args.GetOr("month", anon::PeriodName(absl::CivilMonth(TodayAt(absl::Now()))));
  absl::CivilMonth parsed;
  if (!anon::ParsePeriod(month, &parsed)) return UsageError("the month must be YYYY-MM");
  return month;
}

}  // namespace

bool IsIndicatorCommand(const std::string& noun) { return noun == "indicators" || noun == "month" || noun == "sync"; }

absl::Status RunIndicatorCommand(const std::string& noun, const Args& args, StaffSession& s) {
  const std::string verb = args.positional().size() > 1 ? args.positional()[1] : "";
  std::set<std::string> allowed = CommonOptions();
  if (noun == "indicators" && verb == "show") {
    allowed.insert("month");
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(allowed));
    nv1::GetIndicatorsRequest req;
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_period(), Month(args, 99));
    kentra::anon::v1::PeriodCells cells;
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(s.stub->GetIndicators(s.Context().get(), req, &cells)));
    PrintCells(s, cells);
    return absl::OkStatus();
  }
  if (noun == "month" && verb == "close") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(allowed));
    if (args.positional().size() != 3) return UsageError("give the month to close: kentractl month close YYYY-MM");
    nv1::CloseMonthRequest req;
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_period(), Month(args, 2));
    kentra::anon::v1::PeriodCells cells;
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(s.stub->CloseMonth(s.Context().get(), req, &cells)));
    *s.out << "closed " << cells.period() << ": its indicators are final\n";
    return absl::OkStatus();
  }
  if (noun == "sync" && (verb.empty() || verb == "history")) {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(allowed));
    std::vector<nv1::SyncRun> runs;
    if (verb.empty()) {
      // A sync may take longer than one call's default timeout; months show as they land.
      s.timeout = std::max(s.timeout, absl::Minutes(5));
      auto ctx = s.Context();
      auto reader = s.stub->StreamSync(ctx.get(), nv1::StreamSyncRequest());
      // The moving bar only on a terminal; in a log, the summary alone.
      const bool live = s.format == Format::kTable && s.out == &std::cout && isatty(STDOUT_FILENO);
      nv1::SyncProgress step;
      while (reader->Read(&step)) {
        if (step.has_run()) {
          runs.push_back(step.run());
        } else if (live) {
          const int width = 30;
          const int filled = step.periods_total() == 0 ? width : step.periods_done() * width / step.periods_total();
          *s.out << absl::StrFormat("\rsyncing [%s%s] %d/%d months, last %s", std::string(filled, '#'),
                                    std::string(width - filled, '.'), step.periods_done(), step.periods_total(),
                                    step.period_pushed())
                 << std::flush;
        }
      }
      KENTRA_RETURN_IF_ERROR(FromGrpcStatus(reader->Finish()));
      if (live) *s.out << "\n";
      if (runs.empty()) return absl::InternalError("the node ended the sync without a result");
    } else {
      nv1::ListSyncRunsResponse page;
      KENTRA_RETURN_IF_ERROR(FromGrpcStatus(s.stub->ListSyncRuns(s.Context().get(), nv1::ListSyncRunsRequest(), &page)));
      runs.assign(page.sync_runs().begin(), page.sync_runs().end());
    }
    // Referral mail: sealed messages posted to the hub (of which the hub had
    // lost some, posted again) and taken from this centre's mailbox.
    Table t{{"RUN", "TRIGGER", "STARTED", "SECONDS", "MONTHS PUSHED", "CHANGED", "MAIL OUT", "MAIL IN", "RESULT"}, {}};
    for (const auto& r : runs) {
      const absl::Duration took = FromTimestamp(r.end_time()) - FromTimestamp(r.start_time());
      std::string id = r.name().substr(r.name().find('/') + 1);
      id.erase(0, std::min(id.find_first_not_of('0'), id.size() - 1));
      t.rows.push_back({id, r.trigger(), FormatLocalMinute(FromTimestamp(r.start_time())),
                        absl::StrFormat("%.1f", absl::ToDoubleSeconds(took)), absl::StrCat(r.periods_pushed()),
                        absl::StrCat(r.periods_changed()),
                        absl::StrCat(r.referral_messages_posted(),
                                     r.referral_messages_reposted() > 0
                                         ? absl::StrCat(" (", r.referral_messages_reposted(), " lost by the hub)")
                                         : ""),
                        absl::StrCat(r.referral_messages_received()), r.succeeded() ? "ok" : "FAILED: " + r.error()});
    }
    PrintTable(t, s.format, *s.out);
    if (!runs.empty() && verb.empty() && !runs[0].succeeded()) {
      return absl::UnavailableError("the sync did not finish; it resumes from where it stopped on the next run");
    }
    return absl::OkStatus();
  }
  return UsageError("use 'indicators show [--month=YYYY-MM]', 'month close YYYY-MM', 'sync' or 'sync history'");
}

}  // namespace kentra::cli
