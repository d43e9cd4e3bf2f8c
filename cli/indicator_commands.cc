// kentractl's indicator commands: what the centre's node sends the hub for a
// month, and the coordinator's closing of a month.
#include "absl/strings/str_cat.h"
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

bool IsIndicatorCommand(const std::string& noun) { return noun == "indicators" || noun == "month"; }

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
  return UsageError("use 'indicators show [--month=YYYY-MM]' or 'month close YYYY-MM'");
}

}  // namespace kentra::cli
