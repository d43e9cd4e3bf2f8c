#include "node/synthetic/synthetic.h"

#include <set>

#include <gtest/gtest.h>

#include "common/national_id.h"
#include "node/validation.h"
#include "tests/testing/test_util.h"

namespace kentra::synthetic {
namespace {

const absl::CivilDay kToday(2026, 11, 20);
const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 20, 12, 0, 0), absl::UTCTimeZone());

TEST(SyntheticTest, SameSeedSameData) {
  SyntheticCentre a(::kentra::testing::CentreConfig("pylaia-chortiatis"), 7, 0.1, kToday);
  SyntheticCentre b(::kentra::testing::CentreConfig("pylaia-chortiatis"), 7, 0.1, kToday);
  SyntheticCentre c(::kentra::testing::CentreConfig("pylaia-chortiatis"), 8, 0.1, kToday);
  EXPECT_EQ(a.MakePerson(5).beneficiary.SerializeAsString(), b.MakePerson(5).beneficiary.SerializeAsString());
  EXPECT_NE(a.MakePerson(5).beneficiary.SerializeAsString(), c.MakePerson(5).beneficiary.SerializeAsString());
}

TEST(SyntheticTest, PeopleAreValidAndPlausible) {
  auto config = ::kentra::testing::CentreConfig("thessaloniki");
  SyntheticCentre centre(config, 1, 0.2, kToday);
  EXPECT_EQ(centre.person_count(), 1200);
  std::set<std::string> amkas;
  int migrants = 0, kea = 0, events = 0;
  for (int i = 0; i < centre.person_count(); ++i) {
    Person p = centre.MakePerson(i);
    ASSERT_TRUE(node::ValidateBeneficiary(p.beneficiary, kNow, "b").ok()) << i;
    if (p.beneficiary.has_national_id()) {
      EXPECT_TRUE(amkas.insert(p.beneficiary.national_id().value()).second) << "duplicate ΑΜΚΑ";
    }
    for (int g : p.beneficiary.target_groups()) {
      migrants += g == type::v1::TARGET_GROUP_MIGRANT;
      kea += g == type::v1::TARGET_GROUP_KEA_BENEFICIARY;
    }
    for (const auto& plan : p.cases) {
      ASSERT_TRUE(node::ValidateNewCase([&] { auto c = plan.case_template; c.set_beneficiary("beneficiaries/1"); return c; }(), "c").ok());
      for (const auto& e : plan.events) {
        ASSERT_TRUE(node::ValidateServiceEvent(e, kNow, "e").ok()) << e.DebugString();
        ++events;
      }
    }
  }
  EXPECT_NEAR(migrants / 1200.0, 0.15, 0.04);
  EXPECT_NEAR(kea / 1200.0, 0.35, 0.05);
  EXPECT_GT(events, 1200 * 2);
  EXPECT_GT(SyntheticCentre::BaseSize("thessaloniki"), SyntheticCentre::BaseSize("pylaia-chortiatis"));
}

}  // namespace
}  // namespace kentra::synthetic
