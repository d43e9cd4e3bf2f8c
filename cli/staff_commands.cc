// kentractl's staff commands: beneficiary, case, service, audit.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/command_util.h"
#include "cli/kentractl.h"
#include "common/status.h"
#include "common/time_util.h"

namespace kentra::cli {
namespace {

namespace nv1 = kentra::node::v1;
namespace tv1 = kentra::type::v1;

absl::Status ParseDateOption(const Args& args, const char* option, tv1::Date* date, bool* present) {
  auto text = args.Get(option);
  *present = text.has_value();
  if (!text) return absl::OkStatus();
  if (!ParseDate(*text, date)) return UsageError(absl::StrCat("--", option, " must be YYYY-MM-DD"));
  return absl::OkStatus();
}

// --- printing -------------------------------------------------------------

void PrintBeneficiaries(const StaffSession& s, const std::vector<const nv1::Beneficiary*>& list, bool single) {
  if (s.format == Format::kJson) {
    PrintJson({list.begin(), list.end()}, single, *s.out);
    return;
  }
  Table t{{"ID", "FAMILY NAME", "GIVEN NAME", "BORN", "GENDER", "MUNICIPALITY", "NATIONAL ID", "TARGET GROUPS"}, {}};
  for (const auto* b : list) {
    t.rows.push_back({ShortName(b->name()), b->family_name(), b->given_name(), FormatDate(b->birth_date()),
                      EnumWord(tv1::Gender_descriptor(), b->gender()), b->municipality(),
                      b->national_id().value(), Words(b->target_groups(), tv1::TargetGroup_descriptor())});
  }
  PrintTable(t, s.format, *s.out);
}

void PrintCases(const StaffSession& s, const std::vector<const nv1::Case*>& list, bool single) {
  if (s.format == Format::kJson) {
    PrintJson({list.begin(), list.end()}, single, *s.out);
    return;
  }
  Table t{{"CASE", "BENEFICIARY", "STATE", "WORKER", "NEEDS", "OPENED", "CLOSED", "CLOSE REASON"}, {}};
  for (const auto* c : list) {
    t.rows.push_back({ShortName(c->name()), ShortName(c->beneficiary()), EnumWord(nv1::CaseState_descriptor(), c->state()),
                      c->assigned_worker(), Words(c->needs(), nv1::Need_descriptor()), Time(c->open_time()),
                      Time(c->close_time()),
                      c->close_reason() ? EnumWord(nv1::CloseReason_descriptor(), c->close_reason()) : ""});
  }
  PrintTable(t, s.format, *s.out);
}

void PrintEvents(const StaffSession& s, const std::vector<const nv1::ServiceEvent*>& list, bool single) {
  if (s.format == Format::kJson) {
    PrintJson({list.begin(), list.end()}, single, *s.out);
    return;
  }
  Table t{{"EVENT", "DATE", "AXIS", "SERVICE", "DETAIL", "WORKER", "RECORDED BY", "NOTES"}, {}};
  for (const auto* e : list) {
    std::string detail = e->programme() ? EnumWord(tv1::Programme_descriptor(), e->programme())
                         : e->counselling_topic() ? EnumWord(tv1::CounsellingTopic_descriptor(), e->counselling_topic())
                                                  : "";
    static const char* kAxis[] = {"", "A", "B", "C"};
    t.rows.push_back({ShortName(e->name()), FormatDate(e->service_date()), kAxis[e->axis() & 3],
                      EnumWord(tv1::ServiceType_descriptor(), e->service_type()), detail, e->worker(),
                      e->recorded_by(),
                      e->notes_withheld() ? "(confidential: withheld)"
                                          : (e->confidential() ? "(confidential) " : "") + e->notes()});
  }
  PrintTable(t, s.format, *s.out);
}

// --- beneficiary ----------------------------------------------------------

absl::Status BeneficiaryAdd(const Args& args, StaffSession& s) {
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"given", "family", "birth", "gender", "municipality", "household",
                                                 "phone", "email", "address", "amka", "personal-number", "groups",
                                                 "consents", "request-id"})));
  nv1::CreateBeneficiaryRequest req;
  nv1::Beneficiary* b = req.mutable_beneficiary();
  KENTRA_ASSIGN_OR_RETURN(*b->mutable_given_name(), args.Require("given"));
  KENTRA_ASSIGN_OR_RETURN(*b->mutable_family_name(), args.Require("family"));
  KENTRA_ASSIGN_OR_RETURN(std::string birth, args.Require("birth"));
  if (!ParseDate(birth, b->mutable_birth_date())) return UsageError("--birth must be YYYY-MM-DD");
  KENTRA_ASSIGN_OR_RETURN(std::string gender, args.Require("gender"));
  KENTRA_ASSIGN_OR_RETURN(int g, ParseEnumWord(tv1::Gender_descriptor(), "gender", gender));
  b->set_gender(static_cast<tv1::Gender>(g));
  KENTRA_ASSIGN_OR_RETURN(*b->mutable_municipality(), args.Require("municipality"));
  KENTRA_ASSIGN_OR_RETURN(int household, args.GetInt("household", 0));
  b->set_household_size(household);
  b->mutable_contact()->set_phone(args.GetOr("phone", ""));
  b->mutable_contact()->set_email(args.GetOr("email", ""));
  b->mutable_contact()->set_address(args.GetOr("address", ""));
  if (args.Has("amka") && args.Has("personal-number")) {
    return UsageError("--amka and --personal-number: give at most one");
  }
  if (args.Has("amka")) {
    b->mutable_national_id()->set_type(nv1::NATIONAL_ID_TYPE_AMKA);
    b->mutable_national_id()->set_value(args.GetOr("amka", ""));
  } else if (args.Has("personal-number")) {
    b->mutable_national_id()->set_type(nv1::NATIONAL_ID_TYPE_PERSONAL_NUMBER);
    b->mutable_national_id()->set_value(args.GetOr("personal-number", ""));
  }
  KENTRA_RETURN_IF_ERROR(ParseEnumList(args, "groups", tv1::TargetGroup_descriptor(),
                                       reinterpret_cast<google::protobuf::RepeatedField<int>*>(b->mutable_target_groups())));
  google::protobuf::RepeatedField<int> purposes;
  KENTRA_RETURN_IF_ERROR(ParseEnumList(args, "consents", nv1::ConsentPurpose_descriptor(), &purposes));
  for (int p : purposes) {
    auto* c = b->add_consents();
    c->set_purpose(static_cast<nv1::ConsentPurpose>(p));
    c->set_state(nv1::CONSENT_STATE_GIVEN);
    c->set_evidence("recorded at intake with kentractl");
  }
  req.set_request_id(args.GetOr("request-id", absl::StrCat("cli-", absl::ToUnixNanos(absl::Now()))));
  nv1::Beneficiary out;
  KENTRA_RETURN_IF_ERROR(Call(s.stub->CreateBeneficiary(s.Context().get(), req, &out)));
  PrintBeneficiaries(s, {&out}, true);
  return absl::OkStatus();
}

absl::Status BeneficiaryCommand(const std::string& verb, const Args& args, StaffSession& s) {
  if (verb == "add") return BeneficiaryAdd(args, s);
  if (verb == "get") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(CommonOptions()));
    KENTRA_ASSIGN_OR_RETURN(std::string id, OneId(args, "beneficiary"));
    nv1::GetBeneficiaryRequest req;
    req.set_name(Named("beneficiaries", id));
    nv1::Beneficiary out;
    KENTRA_RETURN_IF_ERROR(Call(s.stub->GetBeneficiary(s.Context().get(), req, &out)));
    PrintBeneficiaries(s, {&out}, true);
    return absl::OkStatus();
  }
  if (verb == "find") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"amka", "national-id", "name", "page-size", "all"})));
    nv1::SearchBeneficiariesRequest req;
    req.set_national_id(args.GetOr("amka", args.GetOr("national-id", "")));
    req.set_name_prefix(args.GetOr("name", ""));
    return Paged<nv1::SearchBeneficiariesRequest, nv1::SearchBeneficiariesResponse>(
        args, s, req,
        [&](const auto& r, auto* page) { return Call(s.stub->SearchBeneficiaries(s.Context().get(), r, page)); },
        [&](const auto& all) { PrintBeneficiaries(s, Ptrs(all.beneficiaries()), false); });
  }
  if (verb == "list") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"group", "municipality", "page-size", "all"})));
    nv1::ListBeneficiariesRequest req;
    if (auto g = args.Get("group")) {
      KENTRA_ASSIGN_OR_RETURN(int v, ParseEnumWord(tv1::TargetGroup_descriptor(), "group", *g));
      req.set_target_group(static_cast<tv1::TargetGroup>(v));
    }
    req.set_municipality(args.GetOr("municipality", ""));
    return Paged<nv1::ListBeneficiariesRequest, nv1::ListBeneficiariesResponse>(
        args, s, req,
        [&](const auto& r, auto* page) { return Call(s.stub->ListBeneficiaries(s.Context().get(), r, page)); },
        [&](const auto& all) { PrintBeneficiaries(s, Ptrs(all.beneficiaries()), false); });
  }
  return UsageError(absl::StrCat("unknown verb 'beneficiary ", verb, "' (add, get, find, list)"));
}

// --- case -----------------------------------------------------------------

absl::Status CaseCommand(const std::string& verb, const Args& args, StaffSession& s) {
  if (verb == "open") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"beneficiary", "worker", "needs", "notes", "request-id"})));
    nv1::OpenCaseRequest req;
    KENTRA_ASSIGN_OR_RETURN(std::string ben, args.Require("beneficiary"));
    req.mutable_case_()->set_beneficiary(Named("beneficiaries", ben));
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_case_()->mutable_assigned_worker(), args.Require("worker"));
    KENTRA_RETURN_IF_ERROR(ParseEnumList(args, "needs", nv1::Need_descriptor(),
                                         reinterpret_cast<google::protobuf::RepeatedField<int>*>(req.mutable_case_()->mutable_needs())));
    req.mutable_case_()->set_notes(args.GetOr("notes", ""));
    req.set_request_id(args.GetOr("request-id", absl::StrCat("cli-", absl::ToUnixNanos(absl::Now()))));
    nv1::Case out;
    KENTRA_RETURN_IF_ERROR(Call(s.stub->OpenCase(s.Context().get(), req, &out)));
    PrintCases(s, {&out}, true);
    return absl::OkStatus();
  }
  if (verb == "list") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"state", "worker", "group", "from", "to", "page-size", "all"})));
    nv1::ListCasesRequest req;
    if (auto st = args.Get("state")) {
      KENTRA_ASSIGN_OR_RETURN(int v, ParseEnumWord(nv1::CaseState_descriptor(), "state", *st));
      req.set_state(static_cast<nv1::CaseState>(v));
    }
    req.set_assigned_worker(args.GetOr("worker", ""));
    if (auto g = args.Get("group")) {
      KENTRA_ASSIGN_OR_RETURN(int v, ParseEnumWord(tv1::TargetGroup_descriptor(), "group", *g));
      req.set_target_group(static_cast<tv1::TargetGroup>(v));
    }
    bool present;
    KENTRA_RETURN_IF_ERROR(ParseDateOption(args, "from", req.mutable_opened_from(), &present));
    if (!present) req.clear_opened_from();
    KENTRA_RETURN_IF_ERROR(ParseDateOption(args, "to", req.mutable_opened_to(), &present));
    if (!present) req.clear_opened_to();
    return Paged<nv1::ListCasesRequest, nv1::ListCasesResponse>(
        args, s, req, [&](const auto& r, auto* page) { return Call(s.stub->ListCases(s.Context().get(), r, page)); },
        [&](const auto& all) { PrintCases(s, Ptrs(all.cases()), false); });
  }
  if (verb == "show") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(CommonOptions()));
    KENTRA_ASSIGN_OR_RETURN(std::string id, OneId(args, "case"));
    nv1::GetCaseRequest req;
    req.set_name(Named("cases", id));
    nv1::Case c;
    KENTRA_RETURN_IF_ERROR(Call(s.stub->GetCase(s.Context().get(), req, &c)));
    nv1::ListServiceEventsRequest events_req;
    events_req.set_parent(c.name());
    nv1::ListServiceEventsResponse events;
    do {
      nv1::ListServiceEventsResponse page;
      KENTRA_RETURN_IF_ERROR(Call(s.stub->ListServiceEvents(s.Context().get(), events_req, &page)));
      events.MergeFrom(page);
      events_req.set_page_token(page.next_page_token());
    } while (!events_req.page_token().empty());
    if (s.format == Format::kJson) {
      PrintJson({&c, &events}, false, *s.out);
      return absl::OkStatus();
    }
    PrintCases(s, {&c}, true);
    if (!c.notes().empty() && s.format == Format::kTable) *s.out << "notes: " << c.notes() << "\n";
    if (s.format == Format::kTable) *s.out << "\ntimeline:\n";
    PrintEvents(s, Ptrs(events.service_events()), false);
    return absl::OkStatus();
  }
  if (verb == "close") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"reason", "note"})));
    KENTRA_ASSIGN_OR_RETURN(std::string id, OneId(args, "case"));
    nv1::CloseCaseRequest req;
    req.set_name(Named("cases", id));
    KENTRA_ASSIGN_OR_RETURN(std::string reason, args.Require("reason"));
    KENTRA_ASSIGN_OR_RETURN(int r, ParseEnumWord(nv1::CloseReason_descriptor(), "reason", reason));
    req.set_reason(static_cast<nv1::CloseReason>(r));
    req.set_note(args.GetOr("note", ""));
    nv1::Case out;
    KENTRA_RETURN_IF_ERROR(Call(s.stub->CloseCase(s.Context().get(), req, &out)));
    PrintCases(s, {&out}, true);
    return absl::OkStatus();
  }
  if (verb == "reopen") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"note"})));
    KENTRA_ASSIGN_OR_RETURN(std::string id, OneId(args, "case"));
    nv1::ReopenCaseRequest req;
    req.set_name(Named("cases", id));
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_note(), args.Require("note"));
    nv1::Case out;
    KENTRA_RETURN_IF_ERROR(Call(s.stub->ReopenCase(s.Context().get(), req, &out)));
    PrintCases(s, {&out}, true);
    return absl::OkStatus();
  }
  return UsageError(absl::StrCat("unknown verb 'case ", verb, "' (open, list, show, close, reopen)"));
}

// --- service --------------------------------------------------------------

absl::Status ServiceCommand(const std::string& verb, const Args& args, StaffSession& s) {
  if (verb == "record") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"case", "type", "date", "worker", "programme", "topic", "notes", "confidential", "request-id"})));
    nv1::RecordServiceEventRequest req;
    KENTRA_ASSIGN_OR_RETURN(std::string c, args.Require("case"));
    req.set_parent(Named("cases", c));
    nv1::ServiceEvent* e = req.mutable_service_event();
    KENTRA_ASSIGN_OR_RETURN(std::string type, args.Require("type"));
    KENTRA_ASSIGN_OR_RETURN(int t, ParseEnumWord(tv1::ServiceType_descriptor(), "type", type));
    e->set_service_type(static_cast<tv1::ServiceType>(t));
    std::string date = args.GetOr("date", absl::FormatCivilTime(TodayAt(absl::Now())));
    if (!ParseDate(date, e->mutable_service_date())) return UsageError("--date must be YYYY-MM-DD");
    KENTRA_ASSIGN_OR_RETURN(*e->mutable_worker(), args.Require("worker"));
    if (auto p = args.Get("programme")) {
      KENTRA_ASSIGN_OR_RETURN(int v, ParseEnumWord(tv1::Programme_descriptor(), "programme", *p));
      e->set_programme(static_cast<tv1::Programme>(v));
    }
    if (auto topic = args.Get("topic")) {
      KENTRA_ASSIGN_OR_RETURN(int v, ParseEnumWord(tv1::CounsellingTopic_descriptor(), "topic", *topic));
      e->set_counselling_topic(static_cast<tv1::CounsellingTopic>(v));
    }
    e->set_notes(args.GetOr("notes", ""));
    e->set_confidential(args.Has("confidential"));
    req.set_request_id(args.GetOr("request-id", absl::StrCat("cli-", absl::ToUnixNanos(absl::Now()))));
    nv1::ServiceEvent out;
    KENTRA_RETURN_IF_ERROR(Call(s.stub->RecordServiceEvent(s.Context().get(), req, &out)));
    PrintEvents(s, {&out}, true);
    return absl::OkStatus();
  }
  if (verb == "timeline") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"page-size", "all"})));
    KENTRA_ASSIGN_OR_RETURN(std::string id, OneId(args, "case"));
    nv1::ListServiceEventsRequest req;
    req.set_parent(Named("cases", id));
    return Paged<nv1::ListServiceEventsRequest, nv1::ListServiceEventsResponse>(
        args, s, req,
        [&](const auto& r, auto* page) { return Call(s.stub->ListServiceEvents(s.Context().get(), r, page)); },
        [&](const auto& all) { PrintEvents(s, Ptrs(all.service_events()), false); });
  }
  return UsageError(absl::StrCat("unknown verb 'service ", verb, "' (record, timeline)"));
}

absl::Status AuditCommand(const std::string& verb, const Args& args, StaffSession& s) {
  if (verb != "list") return UsageError("unknown verb; use 'audit list'");
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"resource", "actor", "page-size", "all"})));
  nv1::ListAuditEntriesRequest req;
  req.set_resource(args.GetOr("resource", ""));
  req.set_actor(args.GetOr("actor", ""));
  return Paged<nv1::ListAuditEntriesRequest, nv1::ListAuditEntriesResponse>(
      args, s, req,
      [&](const auto& r, auto* page) { return Call(s.stub->ListAuditEntries(s.Context().get(), r, page)); },
      [&](const auto& all) {
        if (s.format == Format::kJson) {
          PrintJson(Ptrs<google::protobuf::Message>(all.audit_entries()), false, *s.out);
          return;
        }
        Table t{{"SEQ", "TIME", "ACTOR", "CERTIFICATE", "ACTION", "RESOURCE", "DETAIL"}, {}};
        for (const auto& e : all.audit_entries()) {
          std::string seq = ShortName(e.name());
          seq.erase(0, std::min(seq.find_first_not_of('0'), seq.size() - 1));
          // A refused call shows its refusal where a done one shows what changed.
          t.rows.push_back({seq, Time(e.time()), e.actor(), e.principal(), e.action(), e.resource(),
                            e.refusal().empty() ? e.detail() : "REFUSED " + e.refusal()});
        }
        PrintTable(t, s.format, *s.out);
      });
}

}  // namespace

absl::Status RunStaffCommand(const std::string& noun, const Args& args, StaffSession& session) {
  const std::string verb = args.positional().size() > 1 ? args.positional()[1] : "";
  if (noun == "beneficiary") return BeneficiaryCommand(verb, args, session);
  if (noun == "case") return CaseCommand(verb, args, session);
  if (noun == "service") return ServiceCommand(verb, args, session);
  if (noun == "audit") return AuditCommand(verb, args, session);
  return UsageError(absl::StrCat("unknown command '", noun, "'; see kentractl help"));
}

}  // namespace kentra::cli
