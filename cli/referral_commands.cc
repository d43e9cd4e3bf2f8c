// kentractl's referral commands: refer a person to another centre, follow it,
// act on the referrals other centres send here, and watch them arrive.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/command_util.h"
#include "cli/kentractl.h"
#include "common/status.h"
#include "common/time_util.h"
#include "kentra/node/v1/referral_service.grpc.pb.h"

namespace kentra::cli {
namespace {

namespace nv1 = kentra::node::v1;
namespace tv1 = kentra::type::v1;

std::string Counterpart(const nv1::Referral& r) {
  if (r.direction() == nv1::REFERRAL_DIRECTION_INCOMING) return absl::StrCat("from ", r.sending_centre());
  return absl::StrCat("to ", r.receiving_centre(), r.receiving_site().empty() ? "" : "/", r.receiving_site());
}

std::string Person(const nv1::Referral& r) {
  if (!r.has_person()) return r.purge_reason().empty() ? "" : "(purged)";
  return absl::StrCat(r.person().family_name(), " ", r.person().given_name());
}

void PrintList(const StaffSession& s, const std::vector<const nv1::Referral*>& list, bool single) {
  if (s.format == Format::kJson) {
    PrintJson({list.begin(), list.end()}, single, *s.out);
    return;
  }
  Table t{{"REFERRAL", "WAY", "PERSON", "SERVICE", "URGENCY", "STATE", "SENT", "ACCEPT BY"}, {}};
  for (const auto* r : list) {
    std::string state = EnumWord(nv1::ReferralState_descriptor(), r->state());
    if (!r->delivery_problem().empty()) state += " (not sent: see show)";
    t.rows.push_back({ShortName(r->name()), Counterpart(*r), Person(*r),
                      EnumWord(tv1::ServiceType_descriptor(), r->service()),
                      EnumWord(nv1::ReferralUrgency_descriptor(), r->urgency()), state, Time(r->create_time()),
                      Time(r->accept_deadline())});
  }
  PrintTable(t, s.format, *s.out);
}

void PrintOne(const StaffSession& s, const nv1::Referral& r) {
  if (s.format != Format::kTable) {
    PrintList(s, {&r}, true);
    return;
  }
  std::ostream& out = *s.out;
  out << r.name() << " (" << (r.direction() == nv1::REFERRAL_DIRECTION_INCOMING ? "incoming" : "outgoing") << ", "
      << Counterpart(r) << ")\n"
      << "  state:    " << EnumWord(nv1::ReferralState_descriptor(), r.state());
  if (r.state() == nv1::REFERRAL_STATE_REJECTED) out << " (" << EnumWord(nv1::RejectReason_descriptor(), r.reject_reason()) << ")";
  if (r.state() == nv1::REFERRAL_STATE_COMPLETED) out << " (" << EnumWord(nv1::ReferralOutcome_descriptor(), r.outcome()) << ")";
  out << "\n";
  if (r.delivery() != nv1::REFERRAL_DELIVERY_UNSPECIFIED) {
    // Incoming, this centre's messages are its receipt and its answers.
    out << (r.direction() == nv1::REFERRAL_DIRECTION_INCOMING ? "  replies:  " : "  delivery: ")
        << EnumWord(nv1::ReferralDelivery_descriptor(), r.delivery()) << "\n";
    if (!r.delivery_problem().empty()) out << "  not sent: " << r.delivery_problem() << "\n";
  }
  out << "  person:   " << Person(r);
  if (r.has_person()) {
    out << ", born " << FormatDate(r.person().birth_date()) << ", " << r.person().municipality();
    if (r.person().has_national_id()) out << ", " << r.person().national_id().value();
  }
  out << "\n";
  if (!r.purge_reason().empty()) out << "  purged:   " << r.purge_reason() << "\n";
  if (!r.beneficiary().empty()) out << "  here:     " << r.beneficiary() << (r.local_case().empty() ? "" : ", ") << r.local_case() << "\n";
  out << "  service:  " << EnumWord(tv1::ServiceType_descriptor(), r.service()) << ", "
      << EnumWord(nv1::ReferralUrgency_descriptor(), r.urgency()) << "\n"
      << "  reason:   " << r.reason() << "\n";
  if (!r.note().empty()) out << "  note:     " << r.note() << "\n";
  out << "  accept by " << Time(r.accept_deadline()) << "\n";
  Table t{{"WHEN", "CENTRE", "WHO", "ACTION", "STATE", "NOTE"}, {}};
  for (const auto& h : r.history()) {
    std::string note = h.note();
    if (h.reject_reason() != nv1::REJECT_REASON_UNSPECIFIED) note = EnumWord(nv1::RejectReason_descriptor(), h.reject_reason()) + (note.empty() ? "" : ": " + note);
    if (h.outcome() != nv1::REFERRAL_OUTCOME_UNSPECIFIED) note = EnumWord(nv1::ReferralOutcome_descriptor(), h.outcome()) + (note.empty() ? "" : ": " + note);
    t.rows.push_back({Time(h.time()), h.centre(), h.actor(), EnumWord(nv1::ReferralAction_descriptor(), h.action()),
                      EnumWord(nv1::ReferralState_descriptor(), h.state()), note});
  }
  PrintTable(t, s.format, out);
}

// The referral named by the one positional id ("referrals/ID" or "ID").
absl::StatusOr<std::string> ReferralArg(const Args& args) {
  KENTRA_ASSIGN_OR_RETURN(std::string id, OneId(args, "referral"));
  return Named("referrals", id);
}

absl::Status Send(const Args& args, StaffSession& s, nv1::ReferralService::Stub* stub) {
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"beneficiary", "to", "service", "urgency", "reason", "note", "request-id"})));
  for (const char* required : {"beneficiary", "service", "reason"}) {
    if (!args.Has(required)) return UsageError(absl::StrCat("--", required, " is required"));
  }
  nv1::CreateReferralRequest req;
  nv1::Referral* r = req.mutable_referral();
  r->set_beneficiary(Named("beneficiaries", *args.Get("beneficiary")));
  // Without --to, the node resolves the target from its federation directory.
  std::vector<std::string> to = absl::StrSplit(args.GetOr("to", ""), absl::MaxSplits('/', 1));
  r->set_receiving_centre(to[0]);
  if (to.size() > 1) r->set_receiving_site(to[1]);
  KENTRA_ASSIGN_OR_RETURN(int service, ParseEnumWord(tv1::ServiceType_descriptor(), "service", *args.Get("service")));
  r->set_service(static_cast<tv1::ServiceType>(service));
  KENTRA_ASSIGN_OR_RETURN(int urgency,
                          ParseEnumWord(nv1::ReferralUrgency_descriptor(), "urgency", args.GetOr("urgency", "routine")));
  r->set_urgency(static_cast<nv1::ReferralUrgency>(urgency));
  r->set_reason(*args.Get("reason"));
  r->set_note(args.GetOr("note", ""));
  req.set_request_id(args.GetOr("request-id", ""));
  nv1::Referral out;
  KENTRA_RETURN_IF_ERROR(Call(stub->CreateReferral(s.Context().get(), req, &out)));
  PrintOne(s, out);
  return absl::OkStatus();
}

absl::Status Targets(const Args& args, StaffSession& s, nv1::ReferralService::Stub* stub) {
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"service", "municipality"})));
  for (const char* required : {"service", "municipality"}) {
    if (!args.Has(required)) return UsageError(absl::StrCat("--", required, " is required"));
  }
  nv1::ResolveReferralTargetsRequest req;
  KENTRA_ASSIGN_OR_RETURN(int service, ParseEnumWord(tv1::ServiceType_descriptor(), "service", *args.Get("service")));
  req.set_service(static_cast<tv1::ServiceType>(service));
  req.set_municipality(*args.Get("municipality"));
  nv1::ResolveReferralTargetsResponse out;
  KENTRA_RETURN_IF_ERROR(Call(stub->ResolveReferralTargets(s.Context().get(), req, &out)));
  if (s.format == Format::kJson) {
    PrintJson({&out}, true, *s.out);
    return absl::OkStatus();
  }
  Table t{{"TO", "CENTRE", "WHY", "ADDRESS", "PHONE"}, {}};
  for (const auto& target : out.targets()) {
    t.rows.push_back({absl::StrCat(target.centre(), target.site().empty() ? "" : "/", target.site()),
                      target.site().empty() ? target.centre_name().el() : target.site_details().name().el(),
                      target.match() == nv1::REFERRAL_TARGET_MATCH_SERVES_AREA ? "serves the area" : "same region",
                      target.site_details().address_el(), target.site_details().phone()});
  }
  PrintTable(t, s.format, *s.out);
  if (s.format == Format::kTable) {
    *s.out << (out.targets().empty() ? "no centre in the directory offers this there\n" : "")
           << "(federation directory version " << out.directory_version() << "; the first is where 'referral send' "
           << "without --to sends)\n";
  }
  return absl::OkStatus();
}

absl::Status List(const Args& args, StaffSession& s, nv1::ReferralService::Stub* stub, nv1::ReferralDirection way) {
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"state", "page-size", "all"})));
  nv1::ListReferralsRequest req;
  req.set_direction(way);
  if (args.Has("state")) {
    KENTRA_ASSIGN_OR_RETURN(int state, ParseEnumWord(nv1::ReferralState_descriptor(), "state", *args.Get("state")));
    req.set_state(static_cast<nv1::ReferralState>(state));
  }
  return Paged<nv1::ListReferralsRequest, nv1::ListReferralsResponse>(
      args, s, req,
      [&](const nv1::ListReferralsRequest& r, nv1::ListReferralsResponse* page) {
        return Call(stub->ListReferrals(s.Context().get(), r, page));
      },
      [&](const nv1::ListReferralsResponse& all) { PrintList(s, Ptrs(all.referrals()), false); });
}

absl::Status Watch(const Args& args, StaffSession& s, nv1::ReferralService::Stub* stub) {
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"count"})));
  KENTRA_ASSIGN_OR_RETURN(int count, args.GetInt("count", 0));
  if (count < 0) return UsageError("--count must be 0 (watch until stopped) or more");
  // A watch runs until stopped (or --count changes arrive), unless --timeout is given.
  if (!args.Has("timeout")) s.timeout = absl::Hours(24 * 365);
  auto ctx = s.Context();
  auto reader = stub->WatchReferrals(ctx.get(), nv1::WatchReferralsRequest());
  if (s.format == Format::kTable) *s.out << "watching referrals (Ctrl-C to stop)\n" << std::flush;
  nv1::WatchReferralsResponse event;
  int seen = 0;
  while (reader->Read(&event)) {
    const nv1::Referral& r = event.referral();
    if (s.format == Format::kJson) {
      PrintJson({&event}, true, *s.out);
    } else {
      *s.out << Time(r.update_time()) << "  " << ShortName(r.name()) << "  "
             << EnumWord(nv1::ReferralAction_descriptor(), event.action()) << " -> "
             << EnumWord(nv1::ReferralState_descriptor(), r.state()) << "  " << Counterpart(r) << "  " << Person(r)
             << "  " << EnumWord(tv1::ServiceType_descriptor(), r.service()) << "\n";
    }
    *s.out << std::flush;
    if (count > 0 && ++seen == count) {
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (count > 0 && seen == count) return absl::OkStatus();
  return Call(status);
}

}  // namespace

absl::Status RunReferralCommand(const Args& args, StaffSession& s) {
  const std::string verb = args.positional().size() > 1 ? args.positional()[1] : "";
  auto stub = nv1::ReferralService::NewStub(s.channel);
  if (verb == "send") return Send(args, s, stub.get());
  if (verb == "targets") return Targets(args, s, stub.get());
  if (verb == "inbox") return List(args, s, stub.get(), nv1::REFERRAL_DIRECTION_INCOMING);
  if (verb == "outbox") return List(args, s, stub.get(), nv1::REFERRAL_DIRECTION_OUTGOING);
  if (verb == "watch") return Watch(args, s, stub.get());
  nv1::Referral out;
  if (verb == "show") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(CommonOptions()));
    nv1::GetReferralRequest req;
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_name(), ReferralArg(args));
    KENTRA_RETURN_IF_ERROR(Call(stub->GetReferral(s.Context().get(), req, &out)));
  } else if (verb == "accept") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"open-case", "needs", "note"})));
    nv1::AcceptReferralRequest req;
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_name(), ReferralArg(args));
    req.set_open_case(args.Has("open-case"));
    KENTRA_RETURN_IF_ERROR(ParseEnumList(args, "needs", nv1::Need_descriptor(),
                                         req.mutable_needs()));
    req.set_note(args.GetOr("note", ""));
    KENTRA_RETURN_IF_ERROR(Call(stub->AcceptReferral(s.Context().get(), req, &out)));
  } else if (verb == "reject") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"reason", "note"})));
    if (!args.Has("reason")) return UsageError("--reason is required (e.g. no-capacity, out-of-area)");
    nv1::RejectReferralRequest req;
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_name(), ReferralArg(args));
    KENTRA_ASSIGN_OR_RETURN(int reason, ParseEnumWord(nv1::RejectReason_descriptor(), "reason", *args.Get("reason")));
    req.set_reason(static_cast<nv1::RejectReason>(reason));
    req.set_note(args.GetOr("note", ""));
    KENTRA_RETURN_IF_ERROR(Call(stub->RejectReferral(s.Context().get(), req, &out)));
  } else if (verb == "start") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"note"})));
    nv1::StartReferralRequest req;
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_name(), ReferralArg(args));
    req.set_note(args.GetOr("note", ""));
    KENTRA_RETURN_IF_ERROR(Call(stub->StartReferral(s.Context().get(), req, &out)));
  } else if (verb == "complete") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"outcome", "note"})));
    if (!args.Has("outcome")) return UsageError("--outcome is required (e.g. successful, person-did-not-attend)");
    nv1::CompleteReferralRequest req;
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_name(), ReferralArg(args));
    KENTRA_ASSIGN_OR_RETURN(int outcome, ParseEnumWord(nv1::ReferralOutcome_descriptor(), "outcome", *args.Get("outcome")));
    req.set_outcome(static_cast<nv1::ReferralOutcome>(outcome));
    req.set_note(args.GetOr("note", ""));
    KENTRA_RETURN_IF_ERROR(Call(stub->CompleteReferral(s.Context().get(), req, &out)));
  } else if (verb == "cancel") {
    KENTRA_RETURN_IF_ERROR(args.CheckAllowed(With({"note"})));
    nv1::CancelReferralRequest req;
    KENTRA_ASSIGN_OR_RETURN(*req.mutable_name(), ReferralArg(args));
    req.set_note(args.GetOr("note", ""));
    KENTRA_RETURN_IF_ERROR(Call(stub->CancelReferral(s.Context().get(), req, &out)));
  } else {
    return UsageError("referral: targets, send, inbox, outbox, show, accept, reject, start, complete, cancel or watch");
  }
  PrintOne(s, out);
  return absl::OkStatus();
}

}  // namespace kentra::cli
