#include "node/referral_rules.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/time_util.h"
#include "node/validation.h"

namespace kentra::node {

namespace {
constexpr absl::string_view kNamePrefix = "referrals/";
}  // namespace

bool IsReferralId(absl::string_view id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
         });
}

std::string ReferralName(absl::string_view id) { return absl::StrCat(kNamePrefix, id); }

std::optional<std::string> ParseReferralName(absl::string_view name) {
  if (!absl::StartsWith(name, kNamePrefix)) return std::nullopt;
  absl::string_view id = name.substr(kNamePrefix.size());
  if (!IsReferralId(id)) return std::nullopt;
  return std::string(id);
}

std::string ReferralIdOf(absl::string_view name) { return ParseReferralName(name).value_or(""); }

std::string ReferralRecordKey(absl::string_view id) { return absl::StrCat(kReferralRecordPrefix, id); }
std::string ReferralListKey(absl::string_view list, uint64_t seq) {
  return absl::StrCat(list, keys::PaddedSequence(seq));
}
std::string ReferralBeneficiaryPrefix(absl::string_view beneficiary) { return absl::StrCat("b/", beneficiary, "/"); }
std::string ReferralBeneficiaryKey(absl::string_view beneficiary, absl::string_view id) {
  return absl::StrCat(ReferralBeneficiaryPrefix(beneficiary), id);
}
std::string UnsentMessagePrefix(absl::string_view id) { return absl::StrCat("q/", id, "/"); }
std::string UnsentMessageKey(absl::string_view id, absl::string_view outbox_key) {
  return absl::StrCat(UnsentMessagePrefix(id), outbox_key);
}
std::string AppliedMessageKey(absl::string_view sender, absl::string_view message_id) {
  return absl::StrCat("m/", sender, "/", message_id);
}

absl::Status ValidateNewReferral(const v1::Referral& r, absl::string_view own_centre, absl::string_view field) {
  auto f = [&](absl::string_view name) { return absl::StrCat(field, ".", name); };
  if (r.beneficiary().empty()) return absl::InvalidArgumentError(absl::StrCat(f("beneficiary"), ": is required"));
  if (r.receiving_centre().empty() && !r.receiving_site().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(f("receiving_site"), ": needs a receiving_centre"));
  }
  if (r.receiving_centre() == own_centre) {
    return absl::InvalidArgumentError(absl::StrCat(f("receiving_centre"), ": is this centre"));
  }
  const auto& site = r.receiving_site();
  if (site.size() > 32 || !std::all_of(site.begin(), site.end(), [](char c) {
        return absl::ascii_islower(static_cast<unsigned char>(c)) || absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
               c == '-';
      })) {
    return absl::InvalidArgumentError(absl::StrCat(f("receiving_site"), ": must be a site id, 0 to 32 of [a-z0-9-]"));
  }
  if (r.service() == kentra::type::v1::SERVICE_TYPE_UNSPECIFIED || !kentra::type::v1::ServiceType_IsValid(r.service())) {
    return absl::InvalidArgumentError(absl::StrCat(f("service"), ": choose one of the SERVICE_TYPE_ values"));
  }
  if (r.urgency() == v1::REFERRAL_URGENCY_UNSPECIFIED || !v1::ReferralUrgency_IsValid(r.urgency())) {
    return absl::InvalidArgumentError(absl::StrCat(f("urgency"), ": choose one of the REFERRAL_URGENCY_ values"));
  }
  if (r.reason().empty()) return absl::InvalidArgumentError(absl::StrCat(f("reason"), ": is required"));
  if (absl::Status s = ValidateText(r.reason(), kMaxReferralReasonChars, f("reason")); !s.ok()) return s;
  return ValidateText(r.note(), kMaxReferralNoteChars, f("note"));
}

const v1::Consent* CurrentReferralConsent(const v1::Beneficiary& b) {
  const v1::Consent* latest = nullptr;
  for (const auto& c : b.consents()) {
    if (c.purpose() == v1::CONSENT_PURPOSE_REFERRAL_SHARING) latest = &c;
  }
  return latest != nullptr && latest->state() == v1::CONSENT_STATE_GIVEN ? latest : nullptr;
}

v1::Beneficiary MinimumDataSet(const v1::Beneficiary& b, const v1::Consent& consent) {
  v1::Beneficiary person = b;
  person.clear_name();
  person.clear_create_time();
  person.clear_update_time();
  person.clear_consents();
  *person.add_consents() = consent;
  return person;
}

v1::Need NeedFor(kentra::type::v1::ServiceType service) {
  using kentra::type::v1::ServiceType;
  switch (service) {
    case ServiceType::SERVICE_TYPE_COUNSELLING: return v1::NEED_PSYCHOSOCIAL;
    case ServiceType::SERVICE_TYPE_LEARNING_SUPPORT: return v1::NEED_EDUCATION;
    case ServiceType::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT:
    case ServiceType::SERVICE_TYPE_ROMA_SUPPORT: return v1::NEED_DOCUMENTATION;
    default: return v1::NEED_INCOME;
  }
}

std::string ActionVerb(v1::ReferralAction action) {
  switch (action) {
    case v1::REFERRAL_ACTION_RECEIVE: return "Receive";
    case v1::REFERRAL_ACTION_ACCEPT: return "Accept";
    case v1::REFERRAL_ACTION_REJECT: return "Reject";
    case v1::REFERRAL_ACTION_START: return "Start";
    case v1::REFERRAL_ACTION_COMPLETE: return "Complete";
    case v1::REFERRAL_ACTION_CANCEL: return "Cancel";
    case v1::REFERRAL_ACTION_EXPIRE: return "Expire";
    case v1::REFERRAL_ACTION_SEND: return "Send";
    default: return "Change";
  }
}

v1::ReferralTransition MakeTransition(v1::ReferralAction action, v1::ReferralState state, absl::Time now,
                                      absl::string_view centre, absl::string_view actor, absl::string_view note) {
  v1::ReferralTransition t;
  t.set_action(action);
  t.set_state(state);
  *t.mutable_time() = ToTimestamp(now);
  t.set_centre(std::string(centre));
  t.set_actor(std::string(actor));
  t.set_note(std::string(note));
  return t;
}

ReferralSide OwnSide(const v1::Referral& r) {
  return r.direction() == v1::REFERRAL_DIRECTION_OUTGOING ? ReferralSide::kSender : ReferralSide::kReceiver;
}

void RecordTransition(v1::Referral& r, const v1::ReferralTransition& t, absl::Time now) {
  r.set_state(t.state());
  *r.add_history() = t;
  *r.mutable_update_time() = ToTimestamp(now);
  if (t.action() == v1::REFERRAL_ACTION_REJECT) r.set_reject_reason(t.reject_reason());
  if (t.action() == v1::REFERRAL_ACTION_COMPLETE) r.set_outcome(t.outcome());
}

const kentra::referral::v1::RosterEntry* RosterEntryOf(const kentra::referral::v1::Roster& roster,
                                                       absl::string_view centre) {
  for (const auto& e : roster.entries()) {
    if (e.centre() == centre) return &e;
  }
  return nullptr;
}

}  // namespace kentra::node
