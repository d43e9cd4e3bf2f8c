// kentra-anon/v2: the perturbation table's rules, the codebook, and the keys.
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "common/anon/codebook.h"
#include "common/anon/keys.h"
#include "common/anon/ptable.h"
#include "tests/testing/test_util.h"

namespace kentra::anon {
namespace {

namespace tv1 = kentra::type::v1;

// docs/disclosure-table.md is what the table in configs/anon/ptable-v1.csv gives
// for the default threshold, and says what a statistician must know of it.
TEST(PerturbationTableTest, ThePublishedDisclosureTableIsTheOneTheTableGives) {
  std::ifstream in(::kentra::testing::SourceDir() + "/docs/disclosure-table.md");
  std::stringstream doc;
  doc << in.rdbuf();
  const std::string expected = DisclosureTableMarkdown(PerturbationTableV1(), 10);
  EXPECT_EQ(doc.str(), expected)
      << "regenerate: build/cli/kentractl stats disclosure-table --threshold=10 > docs/disclosure-table.md";
  // A published 0 can hide a true 1, 2 or 3, and never a 4.
  EXPECT_NE(expected.find("| 0 | 0 (100.0%), 1 ("), std::string::npos);
  EXPECT_NE(expected.find(", 3 ("), std::string::npos);
  EXPECT_EQ(expected.find("| 1 |"), std::string::npos) << "1 is never published";
  // Each row's chances come from the table: a true 5 is published as 5 for as
  // many keys as its row has zeros.
  int zeros = 0;
  for (uint32_t key = 0; key < kCellKeyModulus; ++key) zeros += PerturbationTableV1()[5][key] == 0;
  EXPECT_NE(expected.find(absl::StrFormat("5 (%.1f%%)", 100.0 * zeros / kCellKeyModulus)), std::string::npos);
}

TEST(PerturbationTableTest, EveryRowKeepsTheRules) {
  const PerturbationTable& table = PerturbationTableV1();
  for (int count = 0; count < kTableRows; ++count) {
    SCOPED_TRACE(count);
    int64_t sum = 0;
    for (uint32_t key = 0; key < kCellKeyModulus; ++key) {
      const int noise = table[static_cast<size_t>(count)][key];
      sum += noise;
      EXPECT_LE(std::abs(noise), 3);
      EXPECT_GE(count + noise, 0);
      if (count == 0) {
        EXPECT_EQ(noise, 0) << "zero must stay zero";
      }
      EXPECT_NE(count + noise, 1);
      EXPECT_NE(count + noise, 2);
    }
    EXPECT_EQ(sum, 0) << "the noise of a row must be zero-mean";
  }
  // Most cells of a large count change by little: the table is not all ±3.
  int small = 0;
  for (uint32_t key = 0; key < kCellKeyModulus; ++key) small += std::abs(table[15][key]) <= 1;
  EXPECT_GE(small, 180);
}

TEST(PerturbationTableTest, ProtectedValuesNeverShowOneOrTwoAndAreStable) {
  for (int64_t count = 0; count < 5000; ++count) {
    for (uint64_t key : {0ull, 1ull, 77ull, 255ull, 256ull + 77, 123456789ull}) {
      const int64_t p = Protect(count, key);
      EXPECT_NE(p, 1);
      EXPECT_NE(p, 2);
      EXPECT_GE(p, 0);
      EXPECT_LE(std::abs(p - count), 3);
      EXPECT_EQ(p, Protect(count, key)) << "the same cell must get the same noise";
      if (count == 0) {
        EXPECT_EQ(p, 0);
      }
    }
  }
  EXPECT_EQ(Protect(7, 77), Protect(7, 256 + 77)) << "cell keys count modulo 256";
}

TEST(CodebookTest, CellsAreFixedUniqueAndIncludeEveryCategory) {
  std::set<std::string> ids;
  for (const CellSpec& c : Codebook()) EXPECT_TRUE(ids.insert(c.id).second) << c.id << " twice";
  // 3 genders x 5 bands + 11 groups + 11 services x 2 + year-to-date + 7 ESF+ x 3 genders,
  // then the referral cells: 5 stages x 11 services + 11 services x 5 day bands.
  EXPECT_EQ(ids.size(), 15u + 11u + 22u + 1u + 21u + 55u + 55u);
  for (const char* id : {"T1.female.0-17", "T1.non-binary.65+", "T2.roma", "T3.counselling", "T4.roma-support",
                         "Y1.persons", "E.EECO15.male", "E.EECO01.female", "R1.sent.counselling",
                         "R1.completed.migrant-integration-support", "R2.roma-support.15+"}) {
    EXPECT_TRUE(ids.count(id)) << id;
  }
  // v2 appends: every v1 cell keeps its position, so months stored under v1 read the same.
  EXPECT_EQ(Codebook()[69].id, "E.EECO16.non-binary");
  EXPECT_EQ(Codebook()[70].id, "R1.sent.information-linkage");
}

TEST(CodebookTest, ReferralStepsAndDaysToAcceptance) {
  EXPECT_EQ(ReferralCell(ReferralStage::kAccepted, tv1::SERVICE_TYPE_COUNSELLING), "R1.accepted.counselling");
  const std::vector<std::pair<int, std::string>> days = {{0, "0-1"}, {1, "0-1"}, {2, "2-3"}, {3, "2-3"}, {4, "4-7"},
                                                         {7, "4-7"}, {8, "8-14"}, {14, "8-14"}, {15, "15+"}, {90, "15+"}};
  for (const auto& [d, band] : days) {
    EXPECT_EQ(AcceptanceCell(tv1::SERVICE_TYPE_COUNSELLING, d), "R2.counselling." + band) << d;
  }
  CellKind kind;
  ASSERT_TRUE(FindCell("R2.counselling.15+", &kind));
  EXPECT_EQ(kind, CellKind::kMonthlyEvents);
}

TEST(CodebookTest, AnEventCountsInItsPersonsCells) {
  kentra::node::v1::Beneficiary b = ::kentra::testing::SampleBeneficiary(1);  // woman born 1985-03-25, ΚΕΑ
  b.add_target_groups(tv1::TARGET_GROUP_ROMA);
  const Contribution c = CellsFor(b, tv1::SERVICE_TYPE_COUNSELLING, absl::CivilDay(2015, 3, 24));
  EXPECT_EQ(c.monthly_persons, (std::vector<std::string>{"T1.female.18-29", "T2.kea-beneficiary", "T2.roma",
                                                          "T3.counselling"}));
  EXPECT_EQ(c.monthly_events, "T4.counselling");
  EXPECT_EQ(c.year_to_date, (std::vector<std::string>{"Y1.persons", "E.EECO01.female", "E.EECO15.female"}));
  // Her band is her age on the first of the month: one band for the whole month
  // her 30th birthday falls in, the next from the month after.
  EXPECT_EQ(CellsFor(b, tv1::SERVICE_TYPE_COUNSELLING, absl::CivilDay(2015, 3, 25)).monthly_persons[0],
            "T1.female.18-29");
  EXPECT_EQ(CellsFor(b, tv1::SERVICE_TYPE_COUNSELLING, absl::CivilDay(2015, 4, 1)).monthly_persons[0],
            "T1.female.30-44");
  for (const auto& id : c.monthly_persons) {
    CellKind kind;
    EXPECT_TRUE(FindCell(id, &kind)) << id;
  }
}

TEST(CodebookTest, Periods) {
  absl::CivilMonth m;
  ASSERT_TRUE(ParsePeriod("2026-10", &m));
  EXPECT_EQ(PeriodName(m), "2026-10");
  for (const char* bad : {"2026-13", "2026-1", "26-10", "2026/10", "", "1999-01"}) EXPECT_FALSE(ParsePeriod(bad, &m)) << bad;
}

TEST(AnonKeysTest, PseudonymsAgreeAcrossCentresAndRecordKeysAreSpread) {
  const AnonKeys keys = AnonKeys::Derive(std::string(32, 's'));
  const AnonKeys other_federation = AnonKeys::Derive(std::string(32, 't'));
  const auto b = ::kentra::testing::SampleBeneficiary(1);
  EXPECT_EQ(Pseudonym(keys, "kassandra", b), Pseudonym(keys, "thessaloniki", b));
  EXPECT_NE(Pseudonym(keys, "kassandra", b), Pseudonym(other_federation, "kassandra", b));
  auto no_id = b;
  no_id.clear_national_id();
  no_id.set_name("beneficiaries/4");
  EXPECT_NE(Pseudonym(keys, "kassandra", no_id), Pseudonym(keys, "thessaloniki", no_id));
  std::set<uint32_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const uint32_t k = RecordKey(keys, std::to_string(i));
    EXPECT_LT(k, kCellKeyModulus);
    seen.insert(k);
  }
  EXPECT_GT(seen.size(), 240u) << "record keys must cover the key space";
}

// The same referral counted by the sender ("sent") and the receiver ("received",
// "accepted") must get unrelated noise, or the noise links the two centres'
// cells: their keys agree no more often than chance (1 in 256).
TEST(AnonKeysTest, AReferralsStepKeysAreIndependentAcrossCentresAndCells) {
  const AnonKeys keys = AnonKeys::Derive(std::string(32, 's'));
  const std::string sent = ReferralCell(ReferralStage::kSent, tv1::SERVICE_TYPE_COUNSELLING);
  const std::string received = ReferralCell(ReferralStage::kReceived, tv1::SERVICE_TYPE_COUNSELLING);
  const std::string accepted = ReferralCell(ReferralStage::kAccepted, tv1::SERVICE_TYPE_COUNSELLING);
  int across_centres = 0, across_steps = 0;
  constexpr int kReferrals = 4096;
  for (int i = 0; i < kReferrals; ++i) {
    const std::string id = absl::StrFormat("%032x", i * 7919);
    across_centres += ReferralStepKey(keys, "kassandra", sent, id) == ReferralStepKey(keys, "thessaloniki", received, id);
    across_steps += ReferralStepKey(keys, "thessaloniki", received, id) ==
                    ReferralStepKey(keys, "thessaloniki", accepted, id);
  }
  // Expected 16 each; 40 is far beyond chance, far below "always" (4096).
  EXPECT_LT(across_centres, 40);
  EXPECT_LT(across_steps, 40);
  EXPECT_EQ(ReferralStepKey(keys, "kassandra", sent, "ab"), ReferralStepKey(keys, "kassandra", sent, "ab"))
      << "stable: the same step always gets the same noise";
}

}  // namespace
}  // namespace kentra::anon
