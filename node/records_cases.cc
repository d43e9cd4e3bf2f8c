// CentreRecords: cases (open, get, list, close, reopen) and their service events.
#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/proto_util.h"
#include "common/status.h"
#include "common/time_util.h"
#include "node/records.h"
#include "node/schema.h"
#include "node/validation.h"

namespace kentra::node {
namespace {

int64_t DayStartMicros(const kentra::type::v1::Date& date) {
  return absl::ToUnixMicros(absl::FromCivil(ToCivilDay(date), CentreTimeZone()));
}

int32_t YyyyMmDd(const kentra::type::v1::Date& d) { return d.year() * 10000 + d.month() * 100 + d.day(); }

// Whether `actor` may read the notes of `e`: anyone unless they are confidential,
// then only their author and the coordinator.
bool MaySeeNotes(const Actor& actor, const v1::ServiceEvent& e) {
  if (!e.confidential()) return true;
  return actor.role == v1::STAFF_ROLE_COORDINATOR || (!actor.user.empty() && actor.user == e.recorded_by());
}

}  // namespace

void CentreRecords::PutCase(WriteBatch& batch, uint64_t id, const v1::Case* before, const v1::Case& after) {
  const std::string encoded = after.SerializeAsString();
  // Only the keys of `before`'s entries matter: those no longer implied go.
  ApplyIndexChanges(batch, before == nullptr ? std::vector<IndexEntry>() : IndexEntriesFor(id, *before, ""),
                    IndexEntriesFor(id, after, encoded));
  batch.Put(kCases, CaseKey(id), encoded);
}

absl::StatusOr<v1::Case> CentreRecords::OpenCase(const Actor& actor, const v1::OpenCaseRequest& request) {
  KENTRA_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  if (!request.has_case_()) return absl::InvalidArgumentError("case: is required");
  KENTRA_RETURN_IF_ERROR(ValidateNewCase(request.case_(), "case"));
  auto ben_id = ParseBeneficiaryName(request.case_().beneficiary());
  if (!ben_id) {
    return absl::InvalidArgumentError("case.beneficiary: must be a beneficiary name (beneficiaries/{id})");
  }
  const std::string digest = DigestWithout(request, {"request_id"});
  auto guard = locks_.Lock({RequestKey("OpenCase", request.request_id())});
  KENTRA_ASSIGN_OR_RETURN(auto prior, PriorRequest("OpenCase", request.request_id(), digest));
  if (prior) return LoadCase(ParseCaseName(*prior).value_or(0), "request_id");
  KENTRA_ASSIGN_OR_RETURN(v1::Beneficiary ben, LoadBeneficiary(*ben_id, "case.beneficiary"));

  const absl::Time now = clock_->Now();
  const uint64_t id = ++last_case_id_;
  v1::Case c;
  c.set_name(CaseName(id));
  c.set_beneficiary(ben.name());
  c.set_state(v1::CASE_STATE_OPEN);
  c.set_assigned_worker(request.case_().assigned_worker());
  *c.mutable_needs() = request.case_().needs();
  c.set_notes(request.case_().notes());
  *c.mutable_open_time() = ToTimestamp(now);
  *c.mutable_update_time() = ToTimestamp(now);
  *c.mutable_target_groups() = ben.target_groups();

  WriteBatch batch;
  PutCase(batch, id, nullptr, c);
  PutRequest(batch, "OpenCase", request.request_id(), digest, c.name());
  PutAudit(batch, actor, "OpenCase", c.name(), absl::StrCat("for ", ben.name(), ", assigned to ", c.assigned_worker()));
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  return c;
}

absl::StatusOr<v1::Case> CentreRecords::GetCase(const Actor& actor, absl::string_view name) {
  auto id = ParseCaseName(name);
  if (!id) return absl::InvalidArgumentError(absl::StrCat("name: '", name, "' is not a case name (cases/{id})"));
  KENTRA_ASSIGN_OR_RETURN(v1::Case c, LoadCase(*id, "name"));
  KENTRA_RETURN_IF_ERROR(AuditRead(actor, "GetCase", c.name(), {c.beneficiary()}, ""));
  return c;
}

absl::StatusOr<v1::ListCasesResponse> CentreRecords::ListCases(const Actor& actor, const v1::ListCasesRequest& request) {
  KENTRA_ASSIGN_OR_RETURN(int page_size, EffectivePageSize(request.page_size(), max_page_size_));
  if (!v1::CaseState_IsValid(request.state())) {
    return absl::InvalidArgumentError("state: must be CASE_STATE_OPEN or CASE_STATE_CLOSED");
  }
  if (!kentra::type::v1::TargetGroup_IsValid(request.target_group())) {
    return absl::InvalidArgumentError("target_group: must be one of the TARGET_GROUP_ values");
  }
  if (!request.assigned_worker().empty()) {
    KENTRA_RETURN_IF_ERROR(ValidateUserName(request.assigned_worker(), "assigned_worker"));
  }
  auto check_date = [](bool present, const kentra::type::v1::Date& date, absl::string_view field) {
    absl::Status s = present ? ValidateDate(date) : absl::OkStatus();
    return s.ok() ? s : absl::InvalidArgumentError(absl::StrCat(field, ": ", s.message()));
  };
  KENTRA_RETURN_IF_ERROR(check_date(request.has_opened_from(), request.opened_from(), "opened_from"));
  KENTRA_RETURN_IF_ERROR(check_date(request.has_opened_to(), request.opened_to(), "opened_to"));
  if (request.has_opened_from() && request.has_opened_to() &&
      ToCivilDay(request.opened_to()) < ToCivilDay(request.opened_from())) {
    return absl::InvalidArgumentError("opened_to: must not be before opened_from");
  }
  const std::string digest = PageTokens::FilterDigest(request);
  KENTRA_ASSIGN_OR_RETURN(std::string resume, page_tokens_.Resume(request.page_token(), "ListCases", digest));

  // Walk the most selective index (newest first) within the opening period: times in
  // [from's midnight, the midnight after `to`) are keys in [lo, hi).
  std::string prefix;
  if (request.state() != v1::CASE_STATE_UNSPECIFIED) {
    prefix = CaseStatePrefix(request.state());
  } else if (!request.assigned_worker().empty()) {
    prefix = CaseWorkerPrefix(request.assigned_worker());
  } else {
    prefix = std::string(kIdxCaseOpened);
  }
  const std::string lo =
      request.has_opened_to()
          ? prefix + NewestFirstKey(absl::ToUnixMicros(absl::FromCivil(ToCivilDay(request.opened_to()) + 1,
                                                                       CentreTimeZone())) - 1)
          : prefix;
  const std::string hi = request.has_opened_from()
                             ? keys::PrefixSuccessor(prefix + NewestFirstKey(DayStartMicros(request.opened_from())))
                             : keys::PrefixSuccessor(prefix);
  // The listing indexes carry each case, so no case is looked up; only a filter
  // on a case's fields needs it decoded.
  const bool filtered =
      request.target_group() != kentra::type::v1::TARGET_GROUP_UNSPECIFIED || !request.assigned_worker().empty();
  v1::ListCasesResponse response;
  std::vector<std::string> listed;
  KENTRA_ASSIGN_OR_RETURN(
      std::string next,
      Scan(kIndexes, lo, hi, resume, page_size,
           [&](absl::string_view key, absl::string_view encoded) -> absl::StatusOr<bool> {
             auto id = CaseIdOfOrderKey(key);
             if (!id || encoded.empty()) return absl::DataLossError("a case index entry cannot be read");
             if (filtered) {
               v1::Case c;
               if (!c.ParseFromArray(encoded.data(), static_cast<int>(encoded.size()))) {
                 return absl::DataLossError("a case in the case index cannot be read");
               }
               if (!request.assigned_worker().empty() && c.assigned_worker() != request.assigned_worker()) {
                 return false;
               }
               if (request.target_group() != kentra::type::v1::TARGET_GROUP_UNSPECIFIED &&
                   std::find(c.target_groups().begin(), c.target_groups().end(), request.target_group()) ==
                       c.target_groups().end()) {
                 return false;
               }
             }
             AddEncodedElement(response, v1::ListCasesResponse::kCasesFieldNumber, encoded);
             listed.push_back(CaseName(*id));
             return true;
           }));
  if (!next.empty()) response.set_next_page_token(page_tokens_.Issue("ListCases", digest, next));
  KENTRA_RETURN_IF_ERROR(AuditRead(actor, "ListCases", "", listed, ""));
  return response;
}

absl::StatusOr<v1::Case> CentreRecords::CloseCase(const Actor& actor, const v1::CloseCaseRequest& request) {
  auto id = ParseCaseName(request.name());
  if (!id) return absl::InvalidArgumentError("name: must be a case name (cases/{id})");
  if (!v1::CloseReason_IsValid(request.reason()) || request.reason() == v1::CLOSE_REASON_UNSPECIFIED) {
    return absl::InvalidArgumentError("reason: must be one of the CLOSE_REASON_ values");
  }
  KENTRA_RETURN_IF_ERROR(ValidateText(request.note(), kMaxNotesChars, "note"));
  if (request.reason() == v1::CLOSE_REASON_OTHER && request.note().empty()) {
    return absl::InvalidArgumentError("note: is required when the reason is CLOSE_REASON_OTHER");
  }
  auto guard = locks_.Lock({CaseKey(*id)});
  KENTRA_ASSIGN_OR_RETURN(v1::Case before, LoadCase(*id, "name"));
  if (before.state() != v1::CASE_STATE_OPEN) {
    return absl::FailedPreconditionError(absl::StrCat(before.name(), " is already closed"));
  }
  const absl::Time now = clock_->Now();
  v1::Case after = before;
  after.set_state(v1::CASE_STATE_CLOSED);
  after.set_close_reason(request.reason());
  after.set_close_note(request.note());
  *after.mutable_close_time() = ToTimestamp(now);
  *after.mutable_update_time() = ToTimestamp(now);
  WriteBatch batch;
  PutCase(batch, *id, &before, after);
  PutAudit(batch, actor, "CloseCase", after.name(), v1::CloseReason_Name(request.reason()));
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  return after;
}

absl::StatusOr<v1::Case> CentreRecords::ReopenCase(const Actor& actor, const v1::ReopenCaseRequest& request) {
  auto id = ParseCaseName(request.name());
  if (!id) return absl::InvalidArgumentError("name: must be a case name (cases/{id})");
  if (request.note().empty()) return absl::InvalidArgumentError("note: say why the case is reopened");
  KENTRA_RETURN_IF_ERROR(ValidateText(request.note(), kMaxNotesChars, "note"));
  auto guard = locks_.Lock({CaseKey(*id)});
  KENTRA_ASSIGN_OR_RETURN(v1::Case before, LoadCase(*id, "name"));
  if (before.state() != v1::CASE_STATE_CLOSED) {
    return absl::FailedPreconditionError(absl::StrCat(before.name(), " is open; only a closed case can be reopened"));
  }
  v1::Case after = before;
  after.set_state(v1::CASE_STATE_OPEN);
  after.clear_close_time();
  after.set_reopen_count(before.reopen_count() + 1);
  *after.mutable_update_time() = ToTimestamp(clock_->Now());
  WriteBatch batch;
  PutCase(batch, *id, &before, after);
  PutAudit(batch, actor, "ReopenCase", after.name(), absl::StrCat("reopened (", after.reopen_count(), ")"));
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  return after;
}

absl::StatusOr<v1::ServiceEvent> CentreRecords::RecordServiceEvent(
    const Actor& actor, const v1::RecordServiceEventRequest& request) {
  KENTRA_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  auto case_id = ParseCaseName(request.parent());
  if (!case_id) return absl::InvalidArgumentError("parent: must be a case name (cases/{id})");
  if (!request.has_service_event()) return absl::InvalidArgumentError("service_event: is required");
  const absl::Time now = clock_->Now();
  KENTRA_RETURN_IF_ERROR(ValidateServiceEvent(request.service_event(), now, "service_event"));
  const std::string digest = DigestWithout(request, {"request_id"});

  auto guard = locks_.Lock({CaseKey(*case_id), RequestKey("RecordServiceEvent", request.request_id())});
  KENTRA_ASSIGN_OR_RETURN(auto prior, PriorRequest("RecordServiceEvent", request.request_id(), digest));
  if (prior) {
    KENTRA_ASSIGN_OR_RETURN(auto key, store_->Get(kIndexes, *prior));
    if (!key) return absl::DataLossError("a remembered service event is missing from the index");
    KENTRA_ASSIGN_OR_RETURN(auto event, Read<v1::ServiceEvent>(kServiceEvents, *key));
    if (!event) return absl::DataLossError("a remembered service event is missing");
    return *std::move(event);
  }
  KENTRA_ASSIGN_OR_RETURN(v1::Case c, LoadCase(*case_id, "parent"));
  if (c.state() != v1::CASE_STATE_OPEN) {
    return absl::FailedPreconditionError(
        absl::StrCat(c.name(), " is closed; reopen it before recording a service"));
  }
  const uint64_t event_id = ++last_event_id_;
  v1::ServiceEvent e = request.service_event();
  e.set_name(ServiceEventName(*case_id, event_id));
  e.set_axis(AxisOf(e.service_type()));
  *e.mutable_record_time() = ToTimestamp(now);
  e.set_recorded_by(actor.user);
  e.clear_notes_withheld();
  const std::string key = EventKey(*case_id, YyyyMmDd(e.service_date()), event_id);

  KENTRA_ASSIGN_OR_RETURN(v1::Beneficiary person,
                          LoadBeneficiary(ParseBeneficiaryName(c.beneficiary()).value_or(0), "parent"));
  WriteBatch batch;
  // The indicator counters change in the same batch; the guard keeps the person's
  // events in order until the batch is written.
  KENTRA_ASSIGN_OR_RETURN(LockTable::Guard person_guard, indicators_->CountEvent(batch, person, e));
  batch.Put(kServiceEvents, key, e.SerializeAsString());
  const auto index = IndexEntriesFor(event_id, key);
  for (const auto& [k, v] : index) batch.Put(kIndexes, k, v);
  // The request record remembers the event's index key, from which a retry finds it.
  PutRequest(batch, "RecordServiceEvent", request.request_id(), digest, index.front().first);
  PutAudit(batch, actor, "RecordServiceEvent", e.name(),
           kentra::type::v1::ServiceType_Name(e.service_type()));
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  return e;
}

absl::StatusOr<v1::ListServiceEventsResponse> CentreRecords::ListServiceEvents(
    const Actor& actor, const v1::ListServiceEventsRequest& request) {
  auto case_id = ParseCaseName(request.parent());
  if (!case_id) return absl::InvalidArgumentError("parent: must be a case name (cases/{id})");
  KENTRA_ASSIGN_OR_RETURN(int page_size, EffectivePageSize(request.page_size(), max_page_size_));
  const std::string digest = PageTokens::FilterDigest(request);
  KENTRA_ASSIGN_OR_RETURN(std::string resume,
                          page_tokens_.Resume(request.page_token(), "ListServiceEvents", digest));
  KENTRA_ASSIGN_OR_RETURN(v1::Case c, LoadCase(*case_id, "parent"));
  const std::string prefix = EventPrefix(*case_id);
  int withheld = 0;
  v1::ListServiceEventsResponse response;
  KENTRA_ASSIGN_OR_RETURN(
      std::string next,
      Scan(kServiceEvents, prefix, keys::PrefixSuccessor(prefix), resume, page_size,
           [&](absl::string_view, absl::string_view value) -> absl::StatusOr<bool> {
             v1::ServiceEvent* e = response.add_service_events();
             if (!e->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
               return absl::DataLossError("a stored service event cannot be read");
             }
             if (!MaySeeNotes(actor, *e)) {
               e->clear_notes();
               e->set_notes_withheld(true);
               ++withheld;
             }
             return true;
           }));
  if (!next.empty()) response.set_next_page_token(page_tokens_.Issue("ListServiceEvents", digest, next));
  KENTRA_RETURN_IF_ERROR(AuditRead(actor, "ListServiceEvents", c.name(), {c.beneficiary()},
                                   withheld == 0 ? "" : absl::StrCat(withheld, " confidential note(s) withheld")));
  return response;
}

}  // namespace kentra::node
