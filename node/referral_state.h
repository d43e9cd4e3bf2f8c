// The referral state machine, in one place: which action each side may take in
// each state. A node consults it before every change of a referral, whether the
// change comes from its own staff or from the other centre through the hub.
#ifndef KENTRA_NODE_REFERRAL_STATE_H_
#define KENTRA_NODE_REFERRAL_STATE_H_

#include "absl/status/statusor.h"
#include "kentra/node/v1/referral.pb.h"

namespace kentra::node {

// Who acts on a referral.
enum class ReferralSide {
  kSender,    // the referring centre
  kReceiver,  // the receiving centre
  kSystem,    // a deadline passing (expiry)
};

// The state `action` leads to from `state` when `side` takes it; PERMISSION_DENIED
// when the action belongs to the other side, FAILED_PRECONDITION when it is not
// allowed in `state` (both naming the state and the action).
absl::StatusOr<v1::ReferralState> NextReferralState(v1::ReferralState state, v1::ReferralAction action,
                                                    ReferralSide side);

// Whether no further action can change a referral in `state`.
bool IsFinalReferralState(v1::ReferralState state);

}  // namespace kentra::node

#endif  // KENTRA_NODE_REFERRAL_STATE_H_
