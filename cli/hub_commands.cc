// kentractl's hub commands: an authority's statistics and the operator's view.
// They talk to the hub (--hub) with the authority's or operator's certificate.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/kentractl.h"
#include "common/anon/codebook.h"
#include "common/status.h"
#include "common/time_util.h"
#include "kentra/hub/v1/admin_service.grpc.pb.h"
#include "kentra/hub/v1/stats_service.grpc.pb.h"

namespace kentra::cli {
namespace {

namespace hv1 = kentra::hub::v1;

std::string Shown(const hv1::Value& v, int k) {
  return v.has_count() ? absl::StrCat(v.count()) : absl::StrCat("<", k);
}

// The months an answer left out, a line each, for a statistician.
void PrintWithheld(const google::protobuf::RepeatedPtrField<hv1::WithheldPeriod>& withheld, std::ostream& out) {
  for (const auto& w : withheld) {
    out << "withheld: " << w.period() << " is not released yet; it will be on " << FormatDate(w.release_date())
        << " at the latest, sooner if it is closed at: " << absl::StrJoin(w.open_centres(), ", ") << "\n";
  }
}

absl::StatusOr<hv1::Breakdown> ParseBreakdown(const std::string& word) {
  if (word == "gender-age") return hv1::BREAKDOWN_GENDER_AGE;
  if (word == "target-group") return hv1::BREAKDOWN_TARGET_GROUP;
  if (word == "service") return hv1::BREAKDOWN_SERVICE_PERSONS;
  if (word == "service-events") return hv1::BREAKDOWN_SERVICE_EVENTS;
  return UsageError("--by must be gender-age, target-group, service or service-events");
}

absl::Status StatsIndicators(const Args& args, StaffSession& s) {
  std::set<std::string> allowed = CommonOptions();
  allowed.insert({"region", "centres", "from", "to", "by"});
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(allowed));
  hv1::QueryIndicatorsRequest req;
  req.set_region(args.GetOr("region", ""));
  for (absl::string_view c : absl::StrSplit(args.GetOr("centres", ""), ',', absl::SkipEmpty())) req.add_centres(std::string(c));
  KENTRA_ASSIGN_OR_RETURN(*req.mutable_start_period(), args.Require("from"));
  req.set_end_period(args.GetOr("to", req.start_period()));
  KENTRA_ASSIGN_OR_RETURN(hv1::Breakdown by, ParseBreakdown(args.GetOr("by", "target-group")));
  req.set_breakdown(by);
  hv1::IndicatorTable table;
  KENTRA_RETURN_IF_ERROR(FromGrpcStatus(
      hv1::StatsService::NewStub(s.channel)->QueryIndicators(s.Context().get(), req, &table)));
  if (s.format == Format::kJson) {
    PrintJson({&table}, true, *s.out);
    return absl::OkStatus();
  }
  const int k = table.threshold();
  Table t;
  t.header.push_back("CATEGORY");
  for (const auto& c : table.columns()) t.header.push_back(c);
  t.header.push_back("TOTAL");
  for (const auto& r : table.rows()) {
    std::vector<std::string> cells = {r.label()};
    for (const auto& v : r.values()) cells.push_back(Shown(v, k));
    cells.push_back(Shown(r.total(), k));
    t.rows.push_back(std::move(cells));
  }
  std::vector<std::string> totals = {"total"};
  for (const auto& v : table.totals().values()) totals.push_back(Shown(v, k));
  totals.push_back(Shown(table.totals().total(), k));
  t.rows.push_back(std::move(totals));
  if (s.format == Format::kTable) {
    *s.out << table.region() << " (" << table.centres_size() << " centres: ";
    for (int i = 0; i < table.centres_size(); ++i) *s.out << (i ? ", " : "") << table.centres(i);
    *s.out << ")\n";
  }
  PrintTable(t, s.format, *s.out);
  if (s.format == Format::kTable) {
    PrintWithheld(table.withheld_periods(), *s.out);
    *s.out << "distinct persons over the whole range (estimate): "
           << (table.distinct_persons().has_count() ? absl::StrCat("about ", table.distinct_persons().count())
                                                    : std::string("<50"))
           << "\n" << table.note() << "\n";
  }
  return absl::OkStatus();
}

absl::Status StatsEsf(const Args& args, StaffSession& s) {
  std::set<std::string> allowed = CommonOptions();
  allowed.insert({"region", "mis", "month"});
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(allowed));
  hv1::GetEsfReportRequest req;
  req.set_region(args.GetOr("region", ""));
  KENTRA_ASSIGN_OR_RETURN(*req.mutable_mis_code(), args.Require("mis"));
  KENTRA_ASSIGN_OR_RETURN(*req.mutable_period(), args.Require("month"));
  hv1::EsfReport report;
  KENTRA_RETURN_IF_ERROR(
      FromGrpcStatus(hv1::StatsService::NewStub(s.channel)->GetEsfReport(s.Context().get(), req, &report)));
  if (s.format == Format::kJson) {
    PrintJson({&report}, true, *s.out);
    return absl::OkStatus();
  }
  const int k = report.threshold();
  if (s.format == Format::kTable) {
    *s.out << "ESF+ common output indicators, operation MIS " << report.mis_code() << " (" << report.title() << "), "
           << report.start_period() << " to " << report.end_period() << "\n";
  }
  Table t{{"CODE", "INDICATOR", "WOMEN", "MEN", "NON-BINARY", "TOTAL"}, {}};
  for (const auto& r : report.rows()) {
    t.rows.push_back({r.code(), r.title(), Shown(r.female(), k), Shown(r.male(), k), Shown(r.non_binary(), k),
                      Shown(r.total(), k)});
  }
  PrintTable(t, s.format, *s.out);
  if (s.format == Format::kTable) {
    PrintWithheld(report.withheld_periods(), *s.out);
    *s.out << report.note() << "\n";
  }
  return absl::OkStatus();
}

absl::Status StatsReferrals(const Args& args, StaffSession& s) {
  std::set<std::string> allowed = CommonOptions();
  allowed.insert({"region", "centres", "from", "to"});
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(allowed));
  hv1::GetReferralReportRequest req;
  req.set_region(args.GetOr("region", ""));
  for (absl::string_view c : absl::StrSplit(args.GetOr("centres", ""), ',', absl::SkipEmpty())) req.add_centres(std::string(c));
  KENTRA_ASSIGN_OR_RETURN(*req.mutable_start_period(), args.Require("from"));
  req.set_end_period(args.GetOr("to", req.start_period()));
  hv1::ReferralReport report;
  KENTRA_RETURN_IF_ERROR(
      FromGrpcStatus(hv1::StatsService::NewStub(s.channel)->GetReferralReport(s.Context().get(), req, &report)));
  if (s.format == Format::kJson) {
    PrintJson({&report}, true, *s.out);
    return absl::OkStatus();
  }
  const int k = report.threshold();
  if (s.format == Format::kTable) {
    *s.out << "Referrals between centres, " << report.region() << ", " << report.start_period() << " to "
           << report.end_period() << " (" << report.centres_size() << " centres)\n";
  }
  Table t{{"SERVICE", "SENT", "RECEIVED", "ACCEPTED", "REJECTED", "COMPLETED", "MEDIAN DAYS TO ACCEPT"}, {}};
  auto add = [&](const hv1::ReferralRow& r) {
    t.rows.push_back({r.service(), Shown(r.sent(), k), Shown(r.received(), k), Shown(r.accepted(), k),
                      Shown(r.rejected(), k), Shown(r.completed(), k),
                      r.median_days_to_acceptance().empty() ? "-" : r.median_days_to_acceptance()});
  };
  for (const auto& r : report.rows()) add(r);
  add(report.totals());
  PrintTable(t, s.format, *s.out);
  if (s.format == Format::kTable) {
    PrintWithheld(report.withheld_periods(), *s.out);
    *s.out << report.note() << "\n";
  }
  return absl::OkStatus();
}

absl::Status AdminCentres(const Args& args, StaffSession& s) {
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(CommonOptions()));
  auto stub = hv1::AdminService::NewStub(s.channel);
  hv1::ListCentresRequest req;
  std::vector<hv1::CentreStatus> all;
  do {
    hv1::ListCentresResponse page;
    KENTRA_RETURN_IF_ERROR(FromGrpcStatus(stub->ListCentres(s.Context().get(), req, &page)));
    all.insert(all.end(), page.centres().begin(), page.centres().end());
    req.set_page_token(page.next_page_token());
  } while (!req.page_token().empty());
  Table t{{"CENTRE", "REGION", "LAST SYNC", "MONTHS HELD", "STATE", "MAIL WAITING", "OLDEST MAIL", "WATCHING"}, {}};
  for (const auto& c : all) {
    t.rows.push_back({c.centre(), c.region(),
                      c.has_last_sync_time() ? FormatLocalMinute(FromTimestamp(c.last_sync_time())) : "never",
                      absl::StrCat(c.periods_held()), c.stale() ? "STALE" : "ok", absl::StrCat(c.mail_waiting()),
                      c.has_oldest_mail_time() ? FormatLocalMinute(FromTimestamp(c.oldest_mail_time())) : "",
                      c.watching() ? "yes" : "no"});
  }
  PrintTable(t, s.format, *s.out);
  return absl::OkStatus();
}

absl::Status AdminAuthorities(const Args& args, StaffSession& s) {
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(CommonOptions()));
  hv1::ListAuthorityUsageResponse usage;
  KENTRA_RETURN_IF_ERROR(FromGrpcStatus(
      hv1::AdminService::NewStub(s.channel)->ListAuthorityUsage(s.Context().get(), {}, &usage)));
  if (s.format == Format::kJson) {
    PrintJson({&usage}, true, *s.out);
    return absl::OkStatus();
  }
  Table t{{"REGION", "QUERIES LAST MINUTE", "QUERIES LAST DAY", "REFUSED LAST DAY", "LAST QUERY"}, {}};
  for (const auto& u : usage.authority_usages()) {
    t.rows.push_back({u.region(), absl::StrCat(u.queries_last_minute(), "/", usage.per_minute()),
                      absl::StrCat(u.queries_last_day(), "/", usage.per_day()), absl::StrCat(u.refused_last_day()),
                      u.has_last_query_time() ? FormatLocalMinute(FromTimestamp(u.last_query_time())) : ""});
  }
  PrintTable(t, s.format, *s.out);
  return absl::OkStatus();
}

absl::Status AdminAudit(const Args& args, StaffSession& s) {
  std::set<std::string> allowed = CommonOptions();
  allowed.insert("page-size");
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(allowed));
  hv1::ListHubAuditEntriesRequest req;
  KENTRA_ASSIGN_OR_RETURN(int page_size, args.GetInt("page-size", 50));
  req.set_page_size(page_size);
  hv1::ListHubAuditEntriesResponse page;
  KENTRA_RETURN_IF_ERROR(
      FromGrpcStatus(hv1::AdminService::NewStub(s.channel)->ListHubAuditEntries(s.Context().get(), req, &page)));
  if (s.format == Format::kJson) {
    PrintJson({&page}, true, *s.out);
    return absl::OkStatus();
  }
  Table t{{"TIME", "CALLER", "METHOD", "DETAIL", "OUTCOME"}, {}};
  for (const auto& e : page.hub_audit_entries()) {
    t.rows.push_back({FormatLocalMinute(FromTimestamp(e.time())), e.principal(), e.method(), e.detail(), e.outcome()});
  }
  PrintTable(t, s.format, *s.out);
  return absl::OkStatus();
}

}  // namespace

bool IsHubCommand(const std::string& noun) { return noun == "stats" || noun == "admin"; }

absl::Status RunHubCommand(const std::string& noun, const Args& args, StaffSession& s) {
  const std::string verb = args.positional().size() > 1 ? args.positional()[1] : "";
  if (noun == "stats" && verb == "indicators") return StatsIndicators(args, s);
  if (noun == "stats" && verb == "esf") return StatsEsf(args, s);
  if (noun == "stats" && verb == "referrals") return StatsReferrals(args, s);
  if (noun == "admin" && verb == "centres") return AdminCentres(args, s);
  if (noun == "admin" && verb == "audit") return AdminAudit(args, s);
  if (noun == "admin" && verb == "authorities") return AdminAuthorities(args, s);
  if (noun == "admin" && verb == "backup") return RunHubBackupCommand(args, s);
  return UsageError(
      "use 'stats indicators', 'stats esf', 'stats referrals', 'admin centres', 'admin authorities', 'admin audit' or "
      "'admin backup'");
}

}  // namespace kentra::cli
