// CentreReferrals, continued: what arrives from the other centres through the
// hub's mailbox, the deadlines, consent withdrawals, and the outbox.
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/status.h"
#include "common/text_fold.h"
#include "common/time_util.h"
#include "node/referrals.h"
#include "node/schema.h"

namespace kentra::node {

namespace rv1 = kentra::referral::v1;
using kentra::hub::v1::MailboxMessage;

namespace {

Actor CentreActor(absl::string_view centre) {
  Actor a;
  a.name = absl::StrCat("centre/", centre);
  a.principal = a.name;
  return a;
}

Actor SystemActor(absl::string_view what) {
  Actor a;
  a.name = absl::StrCat("system/", what);
  return a;
}

}  // namespace

void CentreReferrals::Refuse(WriteBatch& batch, const MailboxMessage& message, const absl::Status& why,
                             const std::string& applied_key) {
  std::fprintf(stderr, "kentra-node: refused referral message %s from %s: %s\n", message.message_id().c_str(),
               message.sender().c_str(), why.ToString().c_str());
  records_->PutAudit(batch, CentreActor(message.sender()), "ReceiveReferralMessage",
                     IsReferralId(message.referral_id()) ? ReferralName(message.referral_id()) : "",
                     absl::StrCat("message ", Utf8Prefix(message.message_id(), 32), ", mailbox sequence ",
                                  message.sequence()),
                     why.ToString());
  if (!applied_key.empty()) batch.Put(kReferrals, applied_key, absl::StrCat(message.sequence()));
}

CentreReferrals::Arrival CentreReferrals::OpenArrival(const MailboxMessage& message) const {
  Arrival a;
  a.message = &message;
  if (message.has_undelivered()) {
    if (message.sender() != kHubNoticeSender) {
      a.refusal = absl::PermissionDeniedError("an undelivered notice not from the hub");
    } else if (!IsReferralId(message.undelivered().referral_id())) {
      a.refusal = absl::InvalidArgumentError("a notice without a referral id");
    } else {
      a.referral_id = message.undelivered().referral_id();
    }
    return a;
  }
  absl::StatusOr<rv1::SignedPayload> payload = kentra::Open(keys_->mine, centre_id_, message.sealed(), keys_->roster);
  if (!payload.ok()) {
    a.refusal = payload.status();
  } else if (payload->sender() != message.sender()) {
    a.refusal = absl::PermissionDeniedError(
        absl::StrCat("signed by centre ", payload->sender(), " but delivered as from ", message.sender()));
  } else if (payload->referral_id() != message.referral_id() || !IsReferralId(payload->referral_id())) {
    a.refusal = absl::PermissionDeniedError("the signed referral id is not the one it was delivered with");
  } else if (!a.body.ParseFromString(payload->body())) {
    a.refusal = absl::InvalidArgumentError("the signed payload holds no referral message");
  } else if (a.body.message_id() != message.message_id()) {
    a.refusal = absl::PermissionDeniedError("the signed message id is not the one it was delivered with");
  } else {
    a.referral_id = payload->referral_id();
  }
  return a;
}

absl::Status CentreReferrals::Apply(const MailboxMessage& message) {
  google::protobuf::RepeatedPtrField<MailboxMessage> one;
  *one.Add() = message;
  return ApplyAll(one);
}

absl::Status CentreReferrals::ApplyAll(const google::protobuf::RepeatedPtrField<MailboxMessage>& messages) {
  if (!keys_) return absl::FailedPreconditionError("this node has no roster: it cannot open referrals");
  // Opening and verifying, the costly part, needs no lock.
  std::vector<Arrival> arrivals;
  arrivals.reserve(messages.size());
  for (const MailboxMessage& m : messages) arrivals.push_back(OpenArrival(m));
  // One write per run of messages about distinct referrals: a message reads what
  // an earlier one about the same referral wrote, so that one must be stored first.
  for (size_t begin = 0; begin < arrivals.size();) {
    absl::flat_hash_set<std::string> ids;
    size_t end = begin;
    while (end < arrivals.size() && (arrivals[end].referral_id.empty() || ids.insert(arrivals[end].referral_id).second)) {
      ++end;
    }
    KENTRA_RETURN_IF_ERROR(ApplyRun(absl::MakeConstSpan(arrivals).subspan(begin, end - begin)));
    begin = end;
  }
  return absl::OkStatus();
}

absl::Status CentreReferrals::ApplyRun(absl::Span<const Arrival> run) {
  std::vector<std::string> ids;
  for (const Arrival& a : run) ids.push_back(a.referral_id);
  auto guard = locks_.Lock(ids);
  WriteBatch batch;
  std::vector<std::pair<v1::Referral, v1::ReferralAction>> changed;
  for (const Arrival& a : run) {
    KENTRA_ASSIGN_OR_RETURN(auto change, ApplyArrival(batch, a));
    if (change) changed.push_back(*std::move(change));
  }
  if (batch.Count() == 0) return absl::OkStatus();  // only messages stored before, delivered again
  {
    // How far the mailbox is stored goes with what was stored.
    int64_t highest = 0;
    for (const Arrival& a : run) highest = std::max(highest, a.message->sequence());
    absl::MutexLock stored(&stored_mu_);
    const bool raised = !stored_through_ || highest > *stored_through_;
    if (raised) batch.Put(kMeta, kMetaMailboxStoredThrough, absl::StrCat(highest));
    KENTRA_RETURN_IF_ERROR(store_->Write(batch));
    if (raised) stored_through_ = highest;
  }
  bool receipts = false;
  for (const auto& [referral, action] : changed) {
    Notify(referral, action);
    receipts |= action == v1::REFERRAL_ACTION_RECEIVE;  // only a new referral queues a message (its receipt)
  }
  if (receipts && outbox_listener_) outbox_listener_();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::pair<v1::Referral, v1::ReferralAction>>> CentreReferrals::ApplyArrival(
    WriteBatch& batch, const Arrival& a) {
  using Change = std::optional<std::pair<v1::Referral, v1::ReferralAction>>;
  const MailboxMessage& message = *a.message;
  if (!a.refusal.ok()) {
    Refuse(batch, message, a.refusal);
    return Change();
  }
  if (message.has_undelivered()) {
    const auto& notice = message.undelivered();
    KENTRA_ASSIGN_OR_RETURN(auto r, Read(notice.referral_id()));
    const Actor hub = SystemActor("hub-mailbox");
    const std::string what = absl::StrCat("a message for ", notice.recipient(), " posted ",
                                          FormatLocalMinute(FromTimestamp(notice.post_time())),
                                          " was never collected and expired at the hub");
    if (r && r->direction() == v1::REFERRAL_DIRECTION_OUTGOING && r->state() == v1::REFERRAL_STATE_REQUESTED) {
      const absl::Time now = clock_->Now();
      RecordTransition(*r, MakeTransition(v1::REFERRAL_ACTION_EXPIRE, v1::REFERRAL_STATE_EXPIRED, now, centre_id_,
                                          hub.name, what),
                       now);
      PutReferral(batch, *r, /*is_new=*/false);
    }
    records_->PutAudit(batch, hub, "ExpireUndeliveredReferral", r ? r->name() : "", what);
    if (!r) return Change();
    return Change(std::make_pair(*std::move(r), v1::REFERRAL_ACTION_EXPIRE));
  }
  const rv1::ReferralMessage& body = a.body;
  const std::string& sender = message.sender();
  const std::string& id = a.referral_id;
  const std::string applied_key = AppliedMessageKey(sender, body.message_id());
  KENTRA_ASSIGN_OR_RETURN(auto applied, store_->Get(kReferrals, applied_key));
  if (applied) {
    // The same mailbox entry again (we stored it, the acknowledgement was lost): done.
    if (*applied == absl::StrCat(message.sequence())) return Change();
    Refuse(batch, message,
           absl::PermissionDeniedError(absl::StrCat("a replay: message ", body.message_id(), " from ", sender,
                                                    " was applied before (mailbox sequence ", *applied, ")")));
    return Change();
  }
  const Actor from = CentreActor(sender);
  // What the message adds goes into a batch of its own first: a refused message
  // must leave nothing of it behind.
  WriteBatch own;
  Change change;
  absl::Status outcome;
  switch (body.kind_case()) {
    case rv1::ReferralMessage::kRequest: {
      v1::Referral stored;
      outcome = ApplyRequest(own, from, sender, body.request(), &stored);
      if (outcome.ok()) change = std::make_pair(std::move(stored), v1::REFERRAL_ACTION_RECEIVE);
      break;
    }
    case rv1::ReferralMessage::kUpdate:
    case rv1::ReferralMessage::kConsentWithdrawal: {
      KENTRA_ASSIGN_OR_RETURN(auto r, Read(id));
      if (!r) {
        outcome = absl::NotFoundError(absl::StrCat("no referral ", id, " is held here"));
        break;
      }
      const bool ours = r->direction() == v1::REFERRAL_DIRECTION_OUTGOING;
      if ((ours ? r->receiving_centre() : r->sending_centre()) != sender) {
        outcome = absl::PermissionDeniedError(absl::StrCat("centre ", sender, " is not the other side of ", r->name()));
        break;
      }
      if (body.has_update()) {
        absl::StatusOr<bool> news = ApplyUpdate(own, from, sender, *r, body.update().transition());
        outcome = news.status();
        if (news.ok() && *news) change = std::make_pair(*r, body.update().transition().action());
      } else if (ours) {
        outcome = absl::PermissionDeniedError("only the referring centre sends consent withdrawals");
      } else {
        v1::Referral& held = *r;
        held.clear_person();
        held.set_purge_reason(absl::StrCat("the person withdrew consent to share data for referral (",
                                           sender, ", ",
                                           FormatLocalMinute(FromTimestamp(body.consent_withdrawal().record_time())),
                                           "); their data from the referral was deleted"));
        *held.mutable_update_time() = ToTimestamp(clock_->Now());
        PutReferral(own, held, /*is_new=*/false);
        records_->PutAudit(own, from, "PurgeReferralPerson", held.name(), "consent to share withdrawn");
        change = std::make_pair(held, v1::REFERRAL_ACTION_UNSPECIFIED);
      }
      break;
    }
    default:
      outcome = absl::InvalidArgumentError("an empty referral message");
  }
  // Authentic but refused for what it says: a repeat is not applied again.
  if (!outcome.ok()) {
    Refuse(batch, message, outcome, applied_key);
    return Change();
  }
  batch.Append(std::move(own));
  batch.Put(kReferrals, applied_key, absl::StrCat(message.sequence()));
  return change;
}

absl::Status CentreReferrals::ApplyRequest(WriteBatch& batch, const Actor& from, const std::string& sender,
                                           const rv1::ReferralRequest& request, v1::Referral* stored) {
  const v1::Referral& in = request.referral();
  const std::string id = ReferralIdOf(in.name());
  if (id.empty()) return absl::InvalidArgumentError("the referral has no valid name");
  if (in.sending_centre() != sender || in.receiving_centre() != centre_id_) {
    return absl::PermissionDeniedError("the referral names other centres than its envelope");
  }
  KENTRA_ASSIGN_OR_RETURN(auto held, Read(id));
  if (held) return absl::AlreadyExistsError(absl::StrCat(in.name(), " is already held here"));
  const absl::Time now = clock_->Now();
  v1::Referral r = in;
  r.set_direction(v1::REFERRAL_DIRECTION_INCOMING);
  r.clear_beneficiary();
  r.clear_local_case();
  r.clear_delivery();
  r.clear_purge_reason();
  KENTRA_ASSIGN_OR_RETURN(v1::ReferralState next,
                          NextReferralState(r.state(), v1::REFERRAL_ACTION_RECEIVE, ReferralSide::kReceiver));
  const v1::ReferralTransition t =
      MakeTransition(v1::REFERRAL_ACTION_RECEIVE, next, now, centre_id_, SystemActor("referral-inbox").name);
  RecordTransition(r, t, now);
  PutReferral(batch, r, /*is_new=*/true);
  CountStep(batch, r, t);
  rv1::ReferralMessage receipt;
  *receipt.mutable_update()->mutable_transition() = t;
  KENTRA_RETURN_IF_ERROR(QueueMessage(batch, sender, id, std::move(receipt)));
  records_->PutAudit(batch, from, "ReceiveReferral", r.name(),
                     absl::StrCat("from ", sender, ", ", kentra::type::v1::ServiceType_Name(r.service())));
  *stored = std::move(r);
  return absl::OkStatus();
}

absl::StatusOr<bool> CentreReferrals::ApplyUpdate(WriteBatch& batch, const Actor& from, const std::string& sender,
                                                  v1::Referral& r, const v1::ReferralTransition& in) {
  const bool ours = r.direction() == v1::REFERRAL_DIRECTION_OUTGOING;
  // The other centre acts as the side this one is not; a deadline as itself.
  const ReferralSide side = in.action() == v1::REFERRAL_ACTION_EXPIRE ? ReferralSide::kSystem
                            : ours                                    ? ReferralSide::kReceiver
                                                                      : ReferralSide::kSender;
  // Both sides may see the same deadline pass; the second expiry is no news.
  if (in.action() == v1::REFERRAL_ACTION_EXPIRE && r.state() == v1::REFERRAL_STATE_EXPIRED) return false;
  // A receipt for a referral past being requested: one that crossed this
  // centre's cancellation (or its expiry of the referral) on the way, or a
  // second (the other centre, restored from a backup, received it again). The
  // other centre did get the referral; it closes no step.
  if (ours && in.action() == v1::REFERRAL_ACTION_RECEIVE && r.state() != v1::REFERRAL_STATE_REQUESTED) {
    if (r.delivery() == v1::REFERRAL_DELIVERY_DELIVERED) return false;
    r.set_delivery(v1::REFERRAL_DELIVERY_DELIVERED);
    PutReferral(batch, r, /*is_new=*/false);
    records_->PutAudit(batch, from, "ReceiveReferral", r.name(),
                       absl::StrCat("received, when it was ", v1::ReferralState_Name(r.state()), " here"));
    return false;
  }
  KENTRA_ASSIGN_OR_RETURN(v1::ReferralState next, NextReferralState(r.state(), in.action(), side));
  const absl::Time now = clock_->Now();
  v1::ReferralTransition t = in;
  t.set_state(next);
  t.set_centre(sender);
  if (!t.has_time()) *t.mutable_time() = ToTimestamp(now);
  RecordTransition(r, t, now);
  if (ours && in.action() == v1::REFERRAL_ACTION_RECEIVE) r.set_delivery(v1::REFERRAL_DELIVERY_DELIVERED);
  PutReferral(batch, r, /*is_new=*/false);
  records_->PutAudit(batch, from, absl::StrCat(ActionVerb(in.action()), "Referral"), r.name(),
                     v1::ReferralState_Name(next));
  return true;
}

absl::StatusOr<int> CentreReferrals::ExpireDue() {
  if (!keys_) return 0;
  const absl::Time now = clock_->Now();
  std::vector<std::string> due;
  auto it = store_->NewIterator(kReferrals);
  for (it->Seek(kReferralRecordPrefix); it->Valid() && absl::StartsWith(it->key(), kReferralRecordPrefix); it->Next()) {
    v1::Referral r;
    if (!r.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("referrals: a corrupt record at ", it->key()));
    }
    const bool owns_expiry = r.direction() == v1::REFERRAL_DIRECTION_OUTGOING
                                 ? r.state() == v1::REFERRAL_STATE_REQUESTED
                                 : r.state() == v1::REFERRAL_STATE_RECEIVED;
    if (owns_expiry && FromTimestamp(r.accept_deadline()) < now) due.push_back(ReferralIdOf(r.name()));
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  const Actor deadline = SystemActor("referral-deadline");
  int expired = 0;
  for (const std::string& id : due) {
    auto guard = locks_.Lock({id});
    KENTRA_ASSIGN_OR_RETURN(auto r, Read(id));
    if (!r) continue;
    auto next = NextReferralState(r->state(), v1::REFERRAL_ACTION_EXPIRE, ReferralSide::kSystem);
    if (!next.ok()) continue;  // acted on meanwhile
    const auto t = MakeTransition(v1::REFERRAL_ACTION_EXPIRE, *next, now, centre_id_, deadline.name,
                                  absl::StrCat("not accepted by ", FormatLocalMinute(FromTimestamp(r->accept_deadline()))));
    KENTRA_RETURN_IF_ERROR(CommitTransition(deadline, *r, t, "ExpireReferral", "the time to accept passed"));
    ++expired;
  }
  return expired;
}

absl::Status CentreReferrals::OnConsent(WriteBatch& batch, const Actor& actor, const v1::Beneficiary& beneficiary,
                                        const v1::Consent& consent) {
  if (consent.purpose() != v1::CONSENT_PURPOSE_REFERRAL_SHARING || consent.state() != v1::CONSENT_STATE_WITHDRAWN) {
    return absl::OkStatus();
  }
  auto guard = locks_.Lock({beneficiary.name()});
  const std::string prefix = ReferralBeneficiaryPrefix(beneficiary.name());
  std::vector<std::string> ids;
  auto it = store_->NewIterator(kReferrals);
  for (it->Seek(prefix); it->Valid() && absl::StartsWith(it->key(), prefix); it->Next()) {
    ids.emplace_back(it->key().substr(prefix.size()));
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  // The sealed copies of the referrals kept in case the hub loses them go too.
  const absl::flat_hash_set<std::string> withdrawn(ids.begin(), ids.end());
  auto posted = store_->NewIterator(kPosted);
  for (posted->Seek(""); !withdrawn.empty() && posted->Valid(); posted->Next()) {
    kentra::storage::v1::OutboxItem item;
    if (!item.ParseFromArray(posted->value().data(), static_cast<int>(posted->value().size()))) {
      return absl::DataLossError(absl::StrCat("posted items: a corrupt item at ", posted->key()));
    }
    if (item.carries_person() && withdrawn.contains(item.referral_id())) batch.Delete(kPosted, posted->key());
  }
  KENTRA_RETURN_IF_ERROR(posted->status());
  for (const std::string& id : ids) {
    KENTRA_ASSIGN_OR_RETURN(auto r, Read(id));
    if (!r) continue;
    rv1::ReferralMessage message;
    *message.mutable_consent_withdrawal()->mutable_record_time() = consent.record_time();
    KENTRA_RETURN_IF_ERROR(QueueMessage(batch, r->receiving_centre(), id, std::move(message)));
    records_->PutAudit(batch, actor, "WithdrawReferralConsent", r->name(),
                       absl::StrCat("told ", r->receiving_centre(), " to delete the person's data"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, kentra::storage::v1::OutboxItem>>> CentreReferrals::Outbox(
    int limit) {
  std::vector<std::pair<std::string, kentra::storage::v1::OutboxItem>> items;
  std::map<std::string, std::string> held;  // referral id -> why
  // Referrals with an earlier message that does not go now: their later ones wait behind it.
  absl::flat_hash_set<std::string> behind;
  const absl::flat_hash_map<std::string, absl::Time> refused = RefusedNow();
  seal_ahead_.ForgetBelow(keys::PaddedSequence(outbox_floor_));  // posted, all of them
  auto it = store_->NewIterator(kOutbox);
  for (it->Seek(keys::PaddedSequence(outbox_floor_)); it->Valid() && static_cast<int>(items.size()) < limit;
       it->Next()) {
    kentra::storage::v1::OutboxItem item;
    if (!item.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("outbox: a corrupt item at ", it->key()));
    }
    if (behind.contains(item.referral_id()) || refused.contains(it->key())) {
      behind.insert(item.referral_id());
      continue;
    }
    if (item.sealed().empty()) {
      std::optional<std::string> ahead = seal_ahead_.Take(std::string(it->key()));
      absl::StatusOr<std::string> sealed = ahead ? *std::move(ahead) : SealQueued(item);
      if (!sealed.ok()) {
        held.emplace(item.referral_id(), std::string(sealed.status().message()));
        behind.insert(item.referral_id());
        continue;
      }
      item.set_sealed(*std::move(sealed));
      item.clear_payload();
    }
    items.emplace_back(std::string(it->key()), std::move(item));
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  // What is held back does not stop the rest.
  if (absl::Status noted = NoteHeldBack(held); !noted.ok()) {
    std::fprintf(stderr, "kentra-node: cannot record why outbox items are held back: %s\n", noted.ToString().c_str());
  }
  return items;
}

absl::Status CentreReferrals::NoteHeldBack(const std::map<std::string, std::string>& problems) {
  if (problems.empty()) return absl::OkStatus();
  std::vector<std::string> ids;
  for (const auto& [id, problem] : problems) ids.push_back(id);
  auto guard = locks_.Lock(ids);
  WriteBatch batch;
  bool changed = false;
  for (const auto& [id, problem] : problems) {
    KENTRA_ASSIGN_OR_RETURN(auto r, Read(id));
    if (!r || r->delivery_problem() == problem) continue;
    const std::string& other =
        r->direction() == v1::REFERRAL_DIRECTION_OUTGOING ? r->receiving_centre() : r->sending_centre();
    std::fprintf(stderr, "kentra-node: the messages of %s for %s are held back: %s\n", r->name().c_str(),
                 other.c_str(), problem.c_str());
    r->set_delivery_problem(problem);
    PutReferral(batch, *r, /*is_new=*/false);
    changed = true;
  }
  // Like a change of delivery, not a step of the referral: no watcher is told.
  return changed ? store_->Write(batch) : absl::OkStatus();
}

void CentreReferrals::SetHubProblem(std::string problem) {
  absl::MutexLock lock(&courier_mu_);
  hub_problem_ = std::move(problem);
}

absl::StatusOr<v1::Referral> CentreReferrals::Present(v1::Referral r) const {
  auto unsent = store_->NewPrefixIterator(kReferrals, UnsentMessagePrefix(ReferralIdOf(r.name())));
  unsent->Seek(UnsentMessagePrefix(ReferralIdOf(r.name())));
  KENTRA_RETURN_IF_ERROR(unsent->status());
  if (unsent->Valid()) {
    r.set_delivery(v1::REFERRAL_DELIVERY_QUEUED);
  } else if (r.delivery() == v1::REFERRAL_DELIVERY_UNSPECIFIED || r.delivery() == v1::REFERRAL_DELIVERY_QUEUED) {
    // Nothing of this centre's waits here: an incoming referral's receipt and
    // answers are all at the hub (or taken from it).
    r.set_delivery(v1::REFERRAL_DELIVERY_AT_HUB);
  }
  if (r.delivery() != v1::REFERRAL_DELIVERY_QUEUED || !r.delivery_problem().empty()) return r;
  absl::MutexLock lock(&courier_mu_);
  r.set_delivery_problem(hub_problem_);
  return r;
}

absl::Status CentreReferrals::RefusedByHub(const std::vector<std::pair<std::string, kentra::storage::v1::OutboxItem>>& items,
                                           absl::string_view why) {
  std::map<std::string, std::string> problems;
  {
    absl::MutexLock lock(&courier_mu_);
    for (const auto& [key, item] : items) {
      refused_[key] = absl::Now() + kRefusedRetry;
      problems[item.referral_id()] = absl::StrCat("the hub refused a message of it (", Utf8Prefix(why, 300),
                                                  "); it is offered again every ", absl::FormatDuration(kRefusedRetry));
    }
  }
  return NoteHeldBack(problems);
}

absl::flat_hash_map<std::string, absl::Time> CentreReferrals::RefusedNow() {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&courier_mu_);
  absl::erase_if(refused_, [now](const auto& entry) { return entry.second <= now; });
  return refused_;
}

absl::StatusOr<std::string> CentreReferrals::SealQueued(const kentra::storage::v1::OutboxItem& item) const {
  if (!keys_) return absl::FailedPreconditionError("this node has no roster now: it cannot seal referrals");
  const rv1::RosterEntry* entry = RosterEntryOf(keys_->roster, item.recipient());
  if (entry == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("centre ", item.recipient(), " is no longer on this node's roster"));
  }
  rv1::SignedPayload payload;
  if (!payload.ParseFromString(item.payload())) return absl::DataLossError("a corrupt payload");
  return Seal(keys_->mine, std::move(payload), entry->sealing_key());
}

absl::Status CentreReferrals::MarkPosted(const std::vector<std::pair<std::string, kentra::storage::v1::OutboxItem>>& items) {
  std::vector<std::string> ids;
  for (const auto& [key, item] : items) ids.push_back(item.referral_id());
  auto guard = locks_.Lock(ids);
  WriteBatch batch;
  absl::flat_hash_set<std::string> marked;
  for (const auto& [key, item] : items) {
    batch.Delete(kOutbox, key);
    batch.Delete(kReferrals, UnsentMessageKey(item.referral_id(), key));
    kentra::storage::v1::OutboxItem kept = item;
    kept.clear_payload();  // it is posted sealed again, if at all
    batch.Put(kPosted, key, kept.SerializeAsString());
    if (!marked.insert(item.referral_id()).second) continue;
    KENTRA_ASSIGN_OR_RETURN(auto r, Read(item.referral_id()));
    if (r && (r->delivery() == v1::REFERRAL_DELIVERY_QUEUED || !r->delivery_problem().empty())) {
      if (r->delivery() == v1::REFERRAL_DELIVERY_QUEUED) r->set_delivery(v1::REFERRAL_DELIVERY_AT_HUB);
      r->clear_delivery_problem();
      PutReferral(batch, *r, /*is_new=*/false);
    }
  }
  // Not fsynced: if a crash loses this, the items are posted again and the hub,
  // which keeps every post's receipt, answers with the first ones.
  KENTRA_RETURN_IF_ERROR(store_->Write(batch, Store::Durability::kProcessCrashed));
  std::vector<uint64_t> posted;
  for (const auto& [key, item] : items) posted.push_back(keys::ParsePadded(key, 20).value_or(0));
  outbox_floor_ = OutboxFloorAfter(outbox_floor_, posted);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, kentra::storage::v1::OutboxItem>>> CentreReferrals::PostedItems(
    absl::string_view after_key, int limit) const {
  std::vector<std::pair<std::string, kentra::storage::v1::OutboxItem>> items;
  auto it = store_->NewIterator(kPosted);
  it->Seek(after_key);
  if (it->Valid() && !after_key.empty() && it->key() == after_key) it->Next();
  for (; it->Valid() && static_cast<int>(items.size()) < limit; it->Next()) {
    kentra::storage::v1::OutboxItem item;
    if (!item.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("posted items: a corrupt item at ", it->key()));
    }
    items.emplace_back(std::string(it->key()), std::move(item));
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  return items;
}

absl::Status CentreReferrals::RequeuePosted(const std::vector<std::string>& keys) {
  if (keys.empty()) return absl::OkStatus();
  WriteBatch batch;
  uint64_t lowest = outbox_floor_;
  for (const std::string& key : keys) {
    KENTRA_ASSIGN_OR_RETURN(auto held, store_->Get(kPosted, key));
    if (!held) continue;
    kentra::storage::v1::OutboxItem item;
    if (!item.ParseFromString(*held)) return absl::DataLossError(absl::StrCat("posted items: a corrupt item at ", key));
    std::fprintf(stderr, "kentra-node: the hub has lost referral message %s for %s (posted %s): posting it again\n",
                 item.message_id().c_str(), item.recipient().c_str(),
                 FormatLocalMinute(absl::FromUnixMicros(item.post_time_micros())).c_str());
    item.clear_post_time_micros();
    batch.Delete(kPosted, key);
    batch.Put(kOutbox, key, item.SerializeAsString());
    batch.Put(kReferrals, UnsentMessageKey(item.referral_id(), key), "");
    lowest = std::min(lowest, keys::ParsePadded(key, 20).value_or(lowest));
  }
  if (batch.Count() == 0) return absl::OkStatus();
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  // Below the floor now: the outbox scan must start at the lowest of them.
  outbox_floor_ = std::min<uint64_t>(outbox_floor_, lowest);
  return absl::OkStatus();
}

absl::Status CentreReferrals::ForgetPosted(const std::vector<std::string>& keys) {
  if (keys.empty()) return absl::OkStatus();
  WriteBatch batch;
  for (const std::string& key : keys) batch.Delete(kPosted, key);
  return store_->Write(batch, Store::Durability::kProcessCrashed);
}

uint64_t OutboxFloorAfter(uint64_t floor, const std::vector<uint64_t>& posted) {
  for (uint64_t key : posted) {
    if (key != floor) break;
    ++floor;
  }
  return floor;
}

}  // namespace kentra::node
