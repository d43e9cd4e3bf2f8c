// The referral state machine, every state x action x side against the issue's
// lifecycle written out by hand.
#include "node/referral_state.h"

#include <map>
#include <tuple>

#include <gtest/gtest.h>

namespace kentra::node {
namespace {

namespace nv1 = kentra::node::v1;

TEST(ReferralStateTest, EveryCellOfTheLifecycle) {
  // requested -> received -> accepted | rejected -> in_progress -> completed;
  // cancelled by the sender before completion; expired if not accepted in time.
  const std::map<std::pair<nv1::ReferralState, nv1::ReferralAction>, nv1::ReferralState> allowed = {
      {{nv1::REFERRAL_STATE_REQUESTED, nv1::REFERRAL_ACTION_RECEIVE}, nv1::REFERRAL_STATE_RECEIVED},
      {{nv1::REFERRAL_STATE_RECEIVED, nv1::REFERRAL_ACTION_ACCEPT}, nv1::REFERRAL_STATE_ACCEPTED},
      {{nv1::REFERRAL_STATE_RECEIVED, nv1::REFERRAL_ACTION_REJECT}, nv1::REFERRAL_STATE_REJECTED},
      {{nv1::REFERRAL_STATE_ACCEPTED, nv1::REFERRAL_ACTION_START}, nv1::REFERRAL_STATE_IN_PROGRESS},
      {{nv1::REFERRAL_STATE_IN_PROGRESS, nv1::REFERRAL_ACTION_COMPLETE}, nv1::REFERRAL_STATE_COMPLETED},
      {{nv1::REFERRAL_STATE_REQUESTED, nv1::REFERRAL_ACTION_CANCEL}, nv1::REFERRAL_STATE_CANCELLED},
      {{nv1::REFERRAL_STATE_RECEIVED, nv1::REFERRAL_ACTION_CANCEL}, nv1::REFERRAL_STATE_CANCELLED},
      {{nv1::REFERRAL_STATE_ACCEPTED, nv1::REFERRAL_ACTION_CANCEL}, nv1::REFERRAL_STATE_CANCELLED},
      {{nv1::REFERRAL_STATE_IN_PROGRESS, nv1::REFERRAL_ACTION_CANCEL}, nv1::REFERRAL_STATE_CANCELLED},
      {{nv1::REFERRAL_STATE_REQUESTED, nv1::REFERRAL_ACTION_EXPIRE}, nv1::REFERRAL_STATE_EXPIRED},
      {{nv1::REFERRAL_STATE_RECEIVED, nv1::REFERRAL_ACTION_EXPIRE}, nv1::REFERRAL_STATE_EXPIRED},
  };
  auto owner = [](nv1::ReferralAction a) {
    return a == nv1::REFERRAL_ACTION_CANCEL   ? ReferralSide::kSender
           : a == nv1::REFERRAL_ACTION_EXPIRE ? ReferralSide::kSystem
                                              : ReferralSide::kReceiver;
  };
  int cells = 0;
  for (int s = nv1::REFERRAL_STATE_REQUESTED; s <= nv1::REFERRAL_STATE_EXPIRED; ++s) {
    for (int a = nv1::REFERRAL_ACTION_RECEIVE; a <= nv1::REFERRAL_ACTION_EXPIRE; ++a) {
      for (ReferralSide side : {ReferralSide::kSender, ReferralSide::kReceiver, ReferralSide::kSystem}) {
        const auto state = static_cast<nv1::ReferralState>(s);
        const auto action = static_cast<nv1::ReferralAction>(a);
        SCOPED_TRACE(nv1::ReferralState_Name(state) + " " + nv1::ReferralAction_Name(action));
        auto next = NextReferralState(state, action, side);
        ++cells;
        if (side != owner(action)) {
          EXPECT_EQ(next.status().code(), absl::StatusCode::kPermissionDenied);
          continue;
        }
        auto it = allowed.find({state, action});
        if (it == allowed.end()) {
          EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition);
        } else {
          ASSERT_TRUE(next.ok()) << next.status();
          EXPECT_EQ(*next, it->second);
        }
      }
    }
  }
  EXPECT_EQ(cells, 8 * 7 * 3);
  EXPECT_EQ(NextReferralState(nv1::REFERRAL_STATE_RECEIVED, nv1::REFERRAL_ACTION_UNSPECIFIED, ReferralSide::kReceiver)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  for (auto final_state : {nv1::REFERRAL_STATE_REJECTED, nv1::REFERRAL_STATE_COMPLETED, nv1::REFERRAL_STATE_CANCELLED,
                           nv1::REFERRAL_STATE_EXPIRED}) {
    EXPECT_TRUE(IsFinalReferralState(final_state));
  }
  EXPECT_FALSE(IsFinalReferralState(nv1::REFERRAL_STATE_IN_PROGRESS));
}

}  // namespace
}  // namespace kentra::node
