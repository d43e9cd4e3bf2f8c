#include "node/referral_state.h"

#include "absl/strings/str_cat.h"

namespace kentra::node {
namespace {

using v1::ReferralAction;
using v1::ReferralState;

// Which side owns each action.
ReferralSide OwnerOf(ReferralAction action) {
  switch (action) {
    case v1::REFERRAL_ACTION_CANCEL: return ReferralSide::kSender;
    case v1::REFERRAL_ACTION_EXPIRE: return ReferralSide::kSystem;
    default: return ReferralSide::kReceiver;
  }
}

const char* SideName(ReferralSide side) {
  switch (side) {
    case ReferralSide::kSender: return "the referring centre";
    case ReferralSide::kReceiver: return "the receiving centre";
    case ReferralSide::kSystem: return "the deadline";
  }
  return "?";
}

}  // namespace

bool IsFinalReferralState(ReferralState state) {
  return state == v1::REFERRAL_STATE_REJECTED || state == v1::REFERRAL_STATE_COMPLETED ||
         state == v1::REFERRAL_STATE_CANCELLED || state == v1::REFERRAL_STATE_EXPIRED;
}

absl::StatusOr<ReferralState> NextReferralState(ReferralState state, ReferralAction action, ReferralSide side) {
  if (action == v1::REFERRAL_ACTION_UNSPECIFIED || !v1::ReferralAction_IsValid(action)) {
    return absl::InvalidArgumentError("action: choose one of the REFERRAL_ACTION_ values");
  }
  const std::string what = absl::StrCat(v1::ReferralAction_Name(action), " in ", v1::ReferralState_Name(state));
  if (OwnerOf(action) != side) {
    return absl::PermissionDeniedError(absl::StrCat(what, ": only ", SideName(OwnerOf(action)), " may do this"));
  }
  struct Edge {
    ReferralState from;
    ReferralAction action;
    ReferralState to;
  };
  static constexpr Edge kEdges[] = {
      {v1::REFERRAL_STATE_REQUESTED, v1::REFERRAL_ACTION_RECEIVE, v1::REFERRAL_STATE_RECEIVED},
      {v1::REFERRAL_STATE_RECEIVED, v1::REFERRAL_ACTION_ACCEPT, v1::REFERRAL_STATE_ACCEPTED},
      {v1::REFERRAL_STATE_RECEIVED, v1::REFERRAL_ACTION_REJECT, v1::REFERRAL_STATE_REJECTED},
      {v1::REFERRAL_STATE_ACCEPTED, v1::REFERRAL_ACTION_START, v1::REFERRAL_STATE_IN_PROGRESS},
      {v1::REFERRAL_STATE_IN_PROGRESS, v1::REFERRAL_ACTION_COMPLETE, v1::REFERRAL_STATE_COMPLETED},
      // The sender may withdraw at any point before completion.
      {v1::REFERRAL_STATE_REQUESTED, v1::REFERRAL_ACTION_CANCEL, v1::REFERRAL_STATE_CANCELLED},
      {v1::REFERRAL_STATE_RECEIVED, v1::REFERRAL_ACTION_CANCEL, v1::REFERRAL_STATE_CANCELLED},
      {v1::REFERRAL_STATE_ACCEPTED, v1::REFERRAL_ACTION_CANCEL, v1::REFERRAL_STATE_CANCELLED},
      {v1::REFERRAL_STATE_IN_PROGRESS, v1::REFERRAL_ACTION_CANCEL, v1::REFERRAL_STATE_CANCELLED},
      // Not accepted in time (or never delivered).
      {v1::REFERRAL_STATE_REQUESTED, v1::REFERRAL_ACTION_EXPIRE, v1::REFERRAL_STATE_EXPIRED},
      {v1::REFERRAL_STATE_RECEIVED, v1::REFERRAL_ACTION_EXPIRE, v1::REFERRAL_STATE_EXPIRED},
  };
  for (const Edge& e : kEdges) {
    if (e.from == state && e.action == action) return e.to;
  }
  return absl::FailedPreconditionError(absl::StrCat(what, ": not allowed",
                                                    IsFinalReferralState(state) ? " (the referral is closed)" : ""));
}

}  // namespace kentra::node
