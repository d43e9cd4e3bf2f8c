// The small rules of referral records, shared by the staff actions and the inbox:
// names and storage keys, what a new referral must hold, the minimum data set
// that travels, and how a transition is written into a referral.
#ifndef KENTRA_NODE_REFERRAL_RULES_H_
#define KENTRA_NODE_REFERRAL_RULES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kentra/node/v1/beneficiary.pb.h"
#include "kentra/node/v1/case.pb.h"
#include "kentra/node/v1/referral.pb.h"
#include "kentra/referral/v1/sealing.pb.h"
#include "node/referral_state.h"

namespace kentra::node {

// Limits of referral fields.
inline constexpr int kMaxReferralReasonChars = 1000;
inline constexpr int kMaxReferralNoteChars = 2000;

// "referrals/{id}", id being 32 lowercase hex digits; the same at both centres.
std::string ReferralName(absl::string_view id);
std::optional<std::string> ParseReferralName(absl::string_view name);
// The id of a well-formed referral name.
std::string ReferralIdOf(absl::string_view name);
// Whether `id` is 32 lowercase hex digits.
bool IsReferralId(absl::string_view id);

// Keys in the referrals column family.
inline constexpr absl::string_view kListAll = "a/";       // + PaddedSequence -> id, newest last
inline constexpr absl::string_view kListOutgoing = "o/";  // the same, outgoing only
inline constexpr absl::string_view kListIncoming = "i/";  // the same, incoming only
std::string ReferralRecordKey(absl::string_view id);                               // -> Referral
std::string ReferralListKey(absl::string_view list, uint64_t seq);                 // -> id
std::string ReferralBeneficiaryKey(absl::string_view beneficiary, absl::string_view id);  // -> ""
std::string ReferralBeneficiaryPrefix(absl::string_view beneficiary);
// A message applied from the other centre -> the mailbox sequence it came with.
std::string AppliedMessageKey(absl::string_view sender, absl::string_view message_id);
// A message of this centre about the referral still in the outbox -> "".
std::string UnsentMessageKey(absl::string_view id, absl::string_view outbox_key);
std::string UnsentMessagePrefix(absl::string_view id);
inline constexpr absl::string_view kReferralRecordPrefix = "r/";

// The sender the hub's MailboxService gives its own notices.
inline constexpr absl::string_view kHubNoticeSender = "hub";

// INVALID_ARGUMENT naming the field unless `r` holds what a new referral needs
// (beneficiary, another centre, service, urgency, reason; site and note well-formed).
absl::Status ValidateNewReferral(const v1::Referral& r, absl::string_view own_centre, absl::string_view field);

// The person's latest consent to share data for referral, if it is given.
const v1::Consent* CurrentReferralConsent(const v1::Beneficiary& b);
// What travels about the person: who they are and how to reach them, their
// household and target groups, and the referral consent as evidence.
v1::Beneficiary MinimumDataSet(const v1::Beneficiary& b, const v1::Consent& consent);

// The case need a requested service implies, for a case opened on acceptance.
v1::Need NeedFor(kentra::type::v1::ServiceType service);
// "Accept", "Reject", ... for audit actions.
std::string ActionVerb(v1::ReferralAction action);

// A transition `action` -> `state`, made at `now` by `actor` of `centre`.
v1::ReferralTransition MakeTransition(v1::ReferralAction action, v1::ReferralState state, absl::Time now,
                                      absl::string_view centre, absl::string_view actor, absl::string_view note = "");
// The side this centre takes on `r`: the sender of an outgoing referral, the
// receiver of an incoming one.
ReferralSide OwnSide(const v1::Referral& r);

// Writes transition `t` (already checked) into `r` at `now`.
void RecordTransition(v1::Referral& r, const v1::ReferralTransition& t, absl::Time now);

// The roster entry of `centre`, or null.
const kentra::referral::v1::RosterEntry* RosterEntryOf(const kentra::referral::v1::Roster& roster,
                                                       absl::string_view centre);

}  // namespace kentra::node

#endif  // KENTRA_NODE_REFERRAL_RULES_H_
