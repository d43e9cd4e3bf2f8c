#include "node/referrals.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/anon/codebook.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/proto_util.h"
#include "common/status.h"
#include "common/time_util.h"
#include "node/referral_rules.h"
#include "node/schema.h"
#include "node/validation.h"

namespace kentra::node {

namespace rv1 = kentra::referral::v1;

// ---- Watchers ----

absl::StatusOr<int> ReferralWatchers::Add(const std::string& user) {
  absl::MutexLock lock(&mu_);
  int& open = open_by_user_[user];
  if (open >= kMaxWatchesPerUser) {
    return absl::ResourceExhaustedError(absl::StrCat(user, " holds ", kMaxWatchesPerUser,
                                                     " referral watches open already; close one first"));
  }
  ++open;
  queues_[++next_id_];
  user_of_[next_id_] = user;
  return next_id_;
}

void ReferralWatchers::Remove(int id) {
  absl::MutexLock lock(&mu_);
  queues_.erase(id);
  auto user = user_of_.find(id);
  if (user == user_of_.end()) return;
  if (--open_by_user_[user->second] == 0) open_by_user_.erase(user->second);
  user_of_.erase(user);
}

void ReferralWatchers::Publish(const v1::Referral& referral, v1::ReferralAction action, absl::Time stored) {
  absl::MutexLock lock(&mu_);
  for (auto& [id, queue] : queues_) {
    if (queue.size() == kMaxQueued) queue.pop_front();
    queue.push_back(Event{referral, action, stored});
  }
}

std::vector<ReferralWatchers::Event> ReferralWatchers::Take(int id, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto has_events = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = queues_.find(id);
    return it == queues_.end() || !it->second.empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&has_events), timeout);
  std::vector<Event> events;
  auto it = queues_.find(id);
  if (it == queues_.end()) return events;
  events.assign(std::make_move_iterator(it->second.begin()), std::make_move_iterator(it->second.end()));
  it->second.clear();
  return events;
}

// ---- Opening ----

absl::StatusOr<std::unique_ptr<CentreReferrals>> CentreReferrals::Open(Store* store, CentreRecords* records,
                                                                       const Clock* clock, std::string centre_id,
                                                                       std::optional<ReferralKeys> keys,
                                                                       Options options) {
  auto referrals = std::unique_ptr<CentreReferrals>(
      new CentreReferrals(store, records, clock, std::move(centre_id), std::move(keys), options));
  KENTRA_RETURN_IF_ERROR(referrals->Load());
  if (referrals->keys_) {
    KENTRA_ASSIGN_OR_RETURN(referrals->directory_, ReferralDirectory::Open(store, kMeta, referrals->keys_->root_public));
  }
  CentreReferrals* self = referrals.get();
  CentreRecords::ConsentHook hook;
  hook.before_commit = [self](WriteBatch& batch, const Actor& actor, const v1::Beneficiary& b,
                              const v1::Consent& consent) { return self->OnConsent(batch, actor, b, consent); };
  hook.after_commit = [self] {
    if (self->outbox_listener_) self->outbox_listener_();
  };
  records->SetConsentHook(std::move(hook));
  return referrals;
}

absl::Status CentreReferrals::Load() {
  auto last_in = [&](int cf, absl::string_view prefix) -> absl::StatusOr<uint64_t> {
    auto it = store_->NewIterator(cf);
    it->SeekForPrev(absl::StrCat(prefix, "\xff"));
    KENTRA_RETURN_IF_ERROR(it->status());
    if (!it->Valid() || !absl::StartsWith(it->key(), prefix)) return 0;
    auto seq = keys::ParsePadded(it->key().substr(prefix.size()), 20);
    if (!seq) return absl::DataLossError(absl::StrCat("referrals: a corrupt key ", it->key()));
    return *seq;
  };
  KENTRA_ASSIGN_OR_RETURN(uint64_t listed, last_in(kReferrals, kListAll));
  KENTRA_ASSIGN_OR_RETURN(uint64_t queued, last_in(kOutbox, ""));
  last_listed_ = listed;
  last_outbox_ = queued;
  // Nothing is being written yet, so every key below the first one there is posted.
  auto first = store_->NewIterator(kOutbox);
  first->Seek("");
  KENTRA_RETURN_IF_ERROR(first->status());
  outbox_floor_ = queued + 1;
  if (first->Valid()) {
    auto seq = keys::ParsePadded(first->key(), 20);
    if (!seq) return absl::DataLossError(absl::StrCat("outbox: a corrupt key ", first->key()));
    outbox_floor_ = *seq;
  }
  KENTRA_ASSIGN_OR_RETURN(auto stored, store_->Get(kMeta, kMetaMailboxStoredThrough));
  if (stored) {
    int64_t through = 0;
    if (!absl::SimpleAtoi(*stored, &through)) return absl::DataLossError("referrals: a corrupt mailbox position");
    absl::MutexLock lock(&stored_mu_);
    stored_through_ = through;
  }
  return absl::OkStatus();
}

// ---- Storage helpers ----

absl::StatusOr<std::optional<v1::Referral>> CentreReferrals::Read(absl::string_view id) const {
  KENTRA_ASSIGN_OR_RETURN(auto bytes, store_->Get(kReferrals, ReferralRecordKey(id)));
  if (!bytes) return std::optional<v1::Referral>();
  v1::Referral r;
  if (!r.ParseFromString(*bytes)) return absl::DataLossError(absl::StrCat("referrals: a corrupt record ", id));
  return std::optional<v1::Referral>(std::move(r));
}

absl::StatusOr<v1::Referral> CentreReferrals::Load(absl::string_view name, absl::string_view field) const {
  auto id = ParseReferralName(name);
  if (!id) return absl::InvalidArgumentError(absl::StrCat(field, ": must be a referral name (referrals/{32 hex digits})"));
  KENTRA_ASSIGN_OR_RETURN(auto r, Read(*id));
  if (!r) return absl::NotFoundError(absl::StrCat(field, ": ", name, " does not exist"));
  return *std::move(r);
}

void CentreReferrals::PutReferral(WriteBatch& batch, const v1::Referral& referral, bool is_new) {
  const std::string id = ReferralIdOf(referral.name());
  batch.Put(kReferrals, ReferralRecordKey(id), referral.SerializeAsString());
  if (!is_new) return;
  const uint64_t seq = ++last_listed_;
  const bool outgoing = referral.direction() == v1::REFERRAL_DIRECTION_OUTGOING;
  batch.Put(kReferrals, ReferralListKey(kListAll, seq), id);
  batch.Put(kReferrals, ReferralListKey(outgoing ? kListOutgoing : kListIncoming, seq), id);
  if (outgoing) batch.Put(kReferrals, ReferralBeneficiaryKey(referral.beneficiary(), id), "");
}

absl::Status CentreReferrals::QueueMessage(WriteBatch& batch, const std::string& recipient,
                                           const std::string& referral_id, rv1::ReferralMessage message) {
  if (!keys_) return absl::FailedPreconditionError("this node has no roster: it cannot seal referrals");
  if (RosterEntryOf(keys_->roster, recipient) == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("centre ", recipient, " is not on this node's roster"));
  }
  message.set_message_id(absl::BytesToHexString(RandomBytes(16)));
  rv1::SignedPayload payload;
  payload.set_sender(centre_id_);
  payload.set_recipient(recipient);
  payload.set_referral_id(referral_id);
  payload.set_body(message.SerializeAsString());
  *payload.mutable_sign_time() = ToTimestamp(clock_->Now());
  // Signed and sealed when posted (Outbox), or just before (SealAhead);
  // whether it can be is known now.
  KENTRA_RETURN_IF_ERROR(SealedSize(payload).status());
  kentra::storage::v1::OutboxItem item;
  item.set_recipient(recipient);
  item.set_message_id(message.message_id());
  item.set_referral_id(referral_id);
  item.set_payload(payload.SerializeAsString());
  item.set_carries_person(message.has_request());
  item.set_queue_time_micros(absl::ToUnixMicros(clock_->Now()));
  const std::string key = keys::PaddedSequence(++last_outbox_);
  batch.Put(kOutbox, key, item.SerializeAsString());
  batch.Put(kReferrals, UnsentMessageKey(referral_id, key), "");
  seal_ahead_.Start(key, std::move(item));  // while the batch is written
  return absl::OkStatus();
}

void CentreReferrals::Notify(const v1::Referral& referral, v1::ReferralAction action) {
  watchers_.Publish(referral, action, clock_->Now());
}

// ---- Staff actions ----

absl::StatusOr<v1::Referral> CentreReferrals::Create(const Actor& actor, const v1::CreateReferralRequest& request) {
  if (!keys_) {
    return absl::FailedPreconditionError(
        "this node has no roster of centres (--roster, --roster_root_key): it cannot send referrals");
  }
  KENTRA_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  v1::Referral in = request.referral();
  KENTRA_RETURN_IF_ERROR(ValidateNewReferral(in, centre_id_, "referral"));
  const std::shared_ptr<const rv1::Directory> directory = directory_->Current();
  if (directory) KENTRA_RETURN_IF_ERROR(CheckSite(*directory, in.receiving_centre(), in.receiving_site(), "referral.receiving_site"));
  const std::string digest = DigestWithout(request, {"request_id"});
  auto guard = locks_.Lock({in.beneficiary(), absl::StrCat("CreateReferral/", request.request_id())});
  KENTRA_ASSIGN_OR_RETURN(auto prior, records_->PriorRequest("CreateReferral", request.request_id(), digest));
  if (prior) {
    KENTRA_ASSIGN_OR_RETURN(v1::Referral first, Load(*prior, "request_id"));
    return Present(std::move(first));
  }
  KENTRA_ASSIGN_OR_RETURN(v1::Beneficiary person, records_->ReadBeneficiary(in.beneficiary(), "referral.beneficiary"));
  const v1::Consent* consent = CurrentReferralConsent(person);
  if (consent == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "referral.beneficiary: ", in.beneficiary(),
        " has no current consent to share data for referral (record it with RecordConsent first)"));
  }
  if (in.receiving_centre().empty()) {
    // Resolved here, from the cached directory: the hub learns only the result.
    if (!directory) {
      return absl::FailedPreconditionError(
          "referral.receiving_centre: this node has no federation directory yet to resolve a target from; "
          "name the receiving centre");
    }
    const auto targets = kentra::node::ResolveTargets(*directory, in.service(), person.municipality(), centre_id_);
    if (targets.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "referral.receiving_centre: no centre in the federation directory offers ",
          kentra::type::v1::ServiceType_Name(in.service()), " to ", person.municipality(),
          " or its region; name the receiving centre"));
    }
    in.set_receiving_centre(targets.front().centre());
    in.set_receiving_site(targets.front().site());
  }
  if (RosterEntryOf(keys_->roster, in.receiving_centre()) == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("referral.receiving_centre: ", in.receiving_centre(),
                                                      " is not on this node's roster of centres"));
  }
  const absl::Time now = clock_->Now();
  const std::string id = absl::BytesToHexString(RandomBytes(16));
  v1::Referral r;
  r.set_name(ReferralName(id));
  r.set_direction(v1::REFERRAL_DIRECTION_OUTGOING);
  r.set_sending_centre(centre_id_);
  r.set_receiving_centre(in.receiving_centre());
  r.set_receiving_site(in.receiving_site());
  r.set_beneficiary(in.beneficiary());
  *r.mutable_person() = MinimumDataSet(person, *consent);
  r.set_service(in.service());
  r.set_urgency(in.urgency());
  r.set_reason(in.reason());
  r.set_note(in.note());
  r.set_state(v1::REFERRAL_STATE_REQUESTED);
  *r.mutable_create_time() = ToTimestamp(now);
  *r.mutable_update_time() = ToTimestamp(now);
  *r.mutable_accept_deadline() = ToTimestamp(AddWorkingDays(now, options_.accept_working_days));
  r.set_delivery(v1::REFERRAL_DELIVERY_QUEUED);
  *r.add_history() = MakeTransition(v1::REFERRAL_ACTION_SEND, v1::REFERRAL_STATE_REQUESTED, now, centre_id_, actor.name);

  rv1::ReferralMessage message;
  v1::Referral* carried = message.mutable_request()->mutable_referral();
  *carried = r;
  carried->clear_beneficiary();  // this centre's record name means nothing there
  carried->clear_delivery();
  WriteBatch batch;
  PutReferral(batch, r, /*is_new=*/true);
  CountStep(batch, r, r.history(0));
  KENTRA_RETURN_IF_ERROR(QueueMessage(batch, r.receiving_centre(), id, std::move(message)));
  records_->PutRequest(batch, "CreateReferral", request.request_id(), digest, r.name());
  records_->PutAudit(batch, actor, "CreateReferral", r.name(),
                     absl::StrCat("to ", r.receiving_centre(), r.receiving_site().empty() ? "" : "/",
                                  r.receiving_site(), " for ", r.beneficiary(), ", ",
                                  kentra::type::v1::ServiceType_Name(r.service())));
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  Notify(r, v1::REFERRAL_ACTION_SEND);
  if (outbox_listener_) outbox_listener_();
  return Present(std::move(r));  // the sender sees at once if the hub is known to be out of reach
}

absl::StatusOr<v1::ResolveReferralTargetsResponse> CentreReferrals::ResolveTargets(
    const v1::ResolveReferralTargetsRequest& request) const {
  if (request.service() == kentra::type::v1::SERVICE_TYPE_UNSPECIFIED ||
      !kentra::type::v1::ServiceType_IsValid(request.service())) {
    return absl::InvalidArgumentError("service: choose one of the SERVICE_TYPE_ values");
  }
  if (request.municipality().empty()) return absl::InvalidArgumentError("municipality: is required");
  KENTRA_RETURN_IF_ERROR(ValidateText(request.municipality(), kMaxMunicipalityChars, "municipality"));
  const auto directory = directory_ ? directory_->Current() : nullptr;
  if (!directory) {
    return absl::FailedPreconditionError(
        "this node has no federation directory yet (it fetches the hub's at start-up and at each sync)");
  }
  v1::ResolveReferralTargetsResponse out;
  for (auto& t : kentra::node::ResolveTargets(*directory, request.service(), request.municipality(), centre_id_)) {
    *out.add_targets() = std::move(t);
  }
  out.set_directory_version(directory->version());
  return out;
}

absl::StatusOr<v1::Referral> CentreReferrals::Get(const Actor& actor, absl::string_view name) {
  KENTRA_ASSIGN_OR_RETURN(v1::Referral r, Load(name, "name"));
  KENTRA_RETURN_IF_ERROR(records_->AuditRead(actor, "GetReferral", r.name(), {r.name()}, ""));
  return Present(std::move(r));
}

absl::StatusOr<v1::ListReferralsResponse> CentreReferrals::List(const Actor& actor,
                                                                const v1::ListReferralsRequest& request) {
  KENTRA_ASSIGN_OR_RETURN(int page_size, EffectivePageSize(request.page_size(), options_.max_page_size));
  if (!v1::ReferralDirection_IsValid(request.direction())) {
    return absl::InvalidArgumentError("direction: not a REFERRAL_DIRECTION_ value");
  }
  if (!v1::ReferralState_IsValid(request.state())) {
    return absl::InvalidArgumentError("state: not a REFERRAL_STATE_ value");
  }
  const absl::string_view prefix = request.direction() == v1::REFERRAL_DIRECTION_OUTGOING   ? kListOutgoing
                                   : request.direction() == v1::REFERRAL_DIRECTION_INCOMING ? kListIncoming
                                                                                            : kListAll;
  v1::ListReferralsResponse response;
  KENTRA_ASSIGN_OR_RETURN(
      std::string next,
      ListNewestFirst(*store_, kReferrals, prefix, page_size, page_size, request.page_token(),
                      [&](absl::string_view id) -> absl::Status {
                        KENTRA_ASSIGN_OR_RETURN(auto r, Read(id));
                        if (!r) return absl::DataLossError(absl::StrCat("referrals: an index names ", id));
                        if (request.state() == v1::REFERRAL_STATE_UNSPECIFIED || r->state() == request.state()) {
                          KENTRA_ASSIGN_OR_RETURN(*response.add_referrals(), Present(*std::move(r)));
                        }
                        return absl::OkStatus();
                      }));
  response.set_next_page_token(next);
  KENTRA_RETURN_IF_ERROR(records_->AuditRead(actor, "ListReferrals", "", NamesOf(response.referrals()), ""));
  return response;
}

absl::StatusOr<v1::Referral> CentreReferrals::Act(
    const Actor& actor, absl::string_view name, v1::ReferralAction action, absl::string_view note,
    const std::function<void(v1::ReferralTransition&, v1::Referral&)>& finish) {
  KENTRA_RETURN_IF_ERROR(ValidateText(note, kMaxReferralNoteChars, "note"));
  auto id = ParseReferralName(name);
  if (!id) return absl::InvalidArgumentError("name: must be a referral name (referrals/{32 hex digits})");
  auto guard = locks_.Lock({*id});
  KENTRA_ASSIGN_OR_RETURN(v1::Referral r, Load(name, "name"));
  KENTRA_ASSIGN_OR_RETURN(v1::ReferralState next, NextReferralState(r.state(), action, OwnSide(r)));
  const absl::Time now = clock_->Now();
  if (action == v1::REFERRAL_ACTION_ACCEPT && now > FromTimestamp(r.accept_deadline())) {
    return absl::FailedPreconditionError(absl::StrCat("name: the time to accept ", r.name(), " ended at ",
                                                      FormatLocalMinute(FromTimestamp(r.accept_deadline()))));
  }
  v1::ReferralTransition t = MakeTransition(action, next, now, centre_id_, actor.name, note);
  if (finish) finish(t, r);
  KENTRA_RETURN_IF_ERROR(CommitTransition(actor, r, t, absl::StrCat(ActionVerb(action), "Referral"),
                                          v1::ReferralState_Name(next)));
  return Present(std::move(r));  // queued to tell the other centre, and why it has not gone if the hub is out
}

void CentreReferrals::CountStep(WriteBatch& batch, const v1::Referral& r, const v1::ReferralTransition& t) {
  using anon::ReferralStage;
  ReferralStage stage;
  switch (t.action()) {
    case v1::REFERRAL_ACTION_SEND: stage = ReferralStage::kSent; break;
    case v1::REFERRAL_ACTION_RECEIVE: stage = ReferralStage::kReceived; break;
    case v1::REFERRAL_ACTION_ACCEPT: stage = ReferralStage::kAccepted; break;
    case v1::REFERRAL_ACTION_REJECT: stage = ReferralStage::kRejected; break;
    case v1::REFERRAL_ACTION_COMPLETE: stage = ReferralStage::kCompleted; break;
    default: return;  // starts, cancellations and expiries are not indicators
  }
  std::vector<std::string> cells = {anon::ReferralCell(stage, r.service())};
  if (stage == ReferralStage::kAccepted) {
    absl::Duration rest;
    const int64_t days = absl::IDivDuration(FromTimestamp(t.time()) - FromTimestamp(r.create_time()), absl::Hours(24), &rest);
    cells.push_back(anon::AcceptanceCell(r.service(), std::max<int64_t>(days, 0)));
  }
  records_->indicators().CountReferral(batch, ReferralIdOf(r.name()), cells);
}

absl::Status CentreReferrals::CommitTransition(const Actor& actor, v1::Referral& r, const v1::ReferralTransition& t,
                                               absl::string_view audit_action, absl::string_view detail) {
  RecordTransition(r, t, FromTimestamp(t.time()));
  rv1::ReferralMessage message;
  *message.mutable_update()->mutable_transition() = t;
  const bool outgoing = r.direction() == v1::REFERRAL_DIRECTION_OUTGOING;
  WriteBatch batch;
  PutReferral(batch, r, /*is_new=*/false);
  CountStep(batch, r, t);
  KENTRA_RETURN_IF_ERROR(QueueMessage(batch, outgoing ? r.receiving_centre() : r.sending_centre(),
                                      ReferralIdOf(r.name()), std::move(message)));
  records_->PutAudit(batch, actor, audit_action, r.name(), detail);
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  Notify(r, t.action());
  if (outbox_listener_) outbox_listener_();
  return absl::OkStatus();
}

absl::StatusOr<v1::Referral> CentreReferrals::Accept(const Actor& actor, const v1::AcceptReferralRequest& request) {
  // Checked before anyone is registered: the case's own check comes after that.
  KENTRA_RETURN_IF_ERROR(RefuseRepeats(request.needs(), "needs"));
  std::string beneficiary;
  std::string local_case;
  if (request.open_case()) {
    KENTRA_ASSIGN_OR_RETURN(v1::Referral r, Load(request.name(), "name"));
    // Fail before registering anyone if the referral cannot be accepted.
    KENTRA_RETURN_IF_ERROR(NextReferralState(r.state(), v1::REFERRAL_ACTION_ACCEPT, OwnSide(r)).status());
    if (!r.has_person()) {
      return absl::FailedPreconditionError(absl::StrCat("open_case: the person's data was purged (", r.purge_reason(),
                                                        "); accept without open_case"));
    }
    // Derived request ids make a retried accept reuse what the first one made.
    const std::string request_id = absl::StrCat("referral-", ReferralIdOf(r.name()));
    std::optional<std::string> known;
    if (r.person().has_national_id()) {
      KENTRA_ASSIGN_OR_RETURN(known, records_->BeneficiaryWithNationalId(r.person().national_id()));
    }
    if (known) {
      beneficiary = *known;
    } else {
      v1::CreateBeneficiaryRequest create;
      *create.mutable_beneficiary() = r.person();
      create.mutable_beneficiary()->clear_consents();  // consent to share was given there, for the referral
      create.set_request_id(request_id);
      KENTRA_ASSIGN_OR_RETURN(v1::Beneficiary b, records_->CreateBeneficiary(actor, create));
      beneficiary = b.name();
    }
    v1::OpenCaseRequest open;
    v1::Case* c = open.mutable_case_();
    c->set_beneficiary(beneficiary);
    c->set_assigned_worker(actor.user);
    if (request.needs_size() > 0) {
      *c->mutable_needs() = request.needs();
    } else {
      c->add_needs(NeedFor(r.service()));
    }
    c->set_notes(absl::StrCat("Referred by ", r.sending_centre(), " (", r.name(), "): ", r.reason()));
    open.set_request_id(request_id);
    KENTRA_ASSIGN_OR_RETURN(v1::Case opened, records_->OpenCase(actor, open));
    local_case = opened.name();
  }
  return Act(actor, request.name(), v1::REFERRAL_ACTION_ACCEPT, request.note(),
             [&](v1::ReferralTransition&, v1::Referral& r) {
               if (!beneficiary.empty()) r.set_beneficiary(beneficiary);
               if (!local_case.empty()) r.set_local_case(local_case);
             });
}

absl::StatusOr<v1::Referral> CentreReferrals::Reject(const Actor& actor, const v1::RejectReferralRequest& request) {
  if (request.reason() == v1::REJECT_REASON_UNSPECIFIED || !v1::RejectReason_IsValid(request.reason())) {
    return absl::InvalidArgumentError("reason: choose one of the REJECT_REASON_ values");
  }
  return Act(actor, request.name(), v1::REFERRAL_ACTION_REJECT, request.note(),
             [&](v1::ReferralTransition& t, v1::Referral&) { t.set_reject_reason(request.reason()); });
}

absl::StatusOr<v1::Referral> CentreReferrals::Start(const Actor& actor, const v1::StartReferralRequest& request) {
  return Act(actor, request.name(), v1::REFERRAL_ACTION_START, request.note(), nullptr);
}

absl::StatusOr<v1::Referral> CentreReferrals::Complete(const Actor& actor,
                                                       const v1::CompleteReferralRequest& request) {
  if (request.outcome() == v1::REFERRAL_OUTCOME_UNSPECIFIED || !v1::ReferralOutcome_IsValid(request.outcome())) {
    return absl::InvalidArgumentError("outcome: choose one of the REFERRAL_OUTCOME_ values");
  }
  return Act(actor, request.name(), v1::REFERRAL_ACTION_COMPLETE, request.note(),
             [&](v1::ReferralTransition& t, v1::Referral&) { t.set_outcome(request.outcome()); });
}

absl::StatusOr<v1::Referral> CentreReferrals::Cancel(const Actor& actor, const v1::CancelReferralRequest& request) {
  return Act(actor, request.name(), v1::REFERRAL_ACTION_CANCEL, request.note(), nullptr);
}

}  // namespace kentra::node
