// Disclosure control as a property over many random data sets: whatever the
// centres pushed, differencing two answers (over months or over sets of centres)
// gives back only a centre's protected cell, and no answer shows a value under k.
#include <random>

#include <gtest/gtest.h>

#include "common/anon/codebook.h"
#include "tests/testing/test_util.h"

namespace kentra::hub {
namespace {

const std::vector<std::string> kCentres = {"chalkidona", "kassandra", "pylaia-chortiatis", "thessaloniki"};

// Random protected cells: what nodes send never holds a 1 or a 2.
kentra::anon::v1::PeriodCells RandomCells(const std::string& centre, absl::CivilMonth month, std::mt19937_64& rng) {
  kentra::anon::v1::PeriodCells cells;
  cells.set_centre(centre);
  cells.set_period(anon::PeriodName(month));
  cells.set_codebook(anon::kCodebookVersion);
  for (const auto& spec : anon::Codebook()) {
    auto* c = cells.add_cells();
    c->set_id(spec.id);
    const int64_t v = static_cast<int64_t>(rng() % 30);
    c->set_value(v == 1 || v == 2 ? 0 : v);
  }
  return cells;
}

TEST(DisclosureTest, DifferencingGivesOnlyProtectedCellsOverManyDataSets) {
  ::kentra::testing::TestHub hub;
  const Principal authority{Principal::Kind::kAuthority, "central-macedonia", ""};
  const int k = hub.server().registry().hub().display_threshold();
  int differences_checked = 0;
  for (int trial = 0; trial < 40; ++trial) {  // bounded: 40 random data sets
    SCOPED_TRACE(trial);
    std::mt19937_64 rng(static_cast<uint64_t>(trial) * 7919 + 17);
    const absl::CivilMonth first(2016 + trial / 4, 1 + (trial % 4) * 3);
    std::map<std::pair<std::string, int>, kentra::anon::v1::PeriodCells> pushed;
    for (const auto& centre : kCentres) {
      for (int m = 0; m < 3; ++m) {
        auto cells = RandomCells(centre, first + m, rng);
        ASSERT_TRUE(hub.server().store()->ReplacePeriod(cells).ok());
        pushed[{centre, m}] = cells;
      }
    }
    const auto breakdown = static_cast<v1::Breakdown>(1 + trial % 4);
    auto query = [&](absl::CivilMonth from, absl::CivilMonth to, std::vector<std::string> centres) {
      v1::QueryIndicatorsRequest q;
      q.set_start_period(anon::PeriodName(from));
      q.set_end_period(anon::PeriodName(to));
      q.set_breakdown(breakdown);
      for (const auto& c : centres) q.add_centres(c);
      auto t = hub.server().stats().Query(authority, q);
      EXPECT_TRUE(t.ok()) << t.status();
      return t.ok() ? *t : v1::IndicatorTable();
    };
    const auto three = query(first, first + 2, {"kassandra"});
    const auto later_two = query(first + 1, first + 2, {"kassandra"});
    const auto region = query(first, first, kCentres);
    const auto without = query(first, first, {"chalkidona", "pylaia-chortiatis", "thessaloniki"});
    for (const auto* t : {&three, &later_two, &region, &without}) {
      for (const auto& row : t->rows()) {
        for (const auto& v : row.values()) {
          if (v.has_count()) {
            EXPECT_GE(v.count(), k) << "a value under k was shown";
          }
          if (v.has_percent()) {
            EXPECT_TRUE(v.has_count());
          }
        }
        if (row.total().has_count()) {
          EXPECT_GE(row.total().count(), k);
        }
      }
    }
    // A protected cell of kassandra's first month, looked up by row label.
    auto sent = [&](const std::string& centre, int month, const std::string& label) -> int64_t {
      const std::string prefix = std::string("T") + std::to_string(static_cast<int>(breakdown)) + ".";
      std::string id = prefix + label;
      std::replace(id.begin() + static_cast<long>(prefix.size()), id.end(), ' ', '.');
      for (const auto& c : pushed[{centre, month}].cells()) {
        if (c.id() == id) return c.value();
      }
      ADD_FAILURE() << "no cell " << id;
      return -1;
    };
    for (int r = 0; r < three.rows_size(); ++r) {
      const std::string& label = three.rows(r).label();
      // Months: (first .. first+2) minus (first+1 .. first+2) = kassandra's protected first month.
      if (three.rows(r).total().has_count() && later_two.rows(r).total().has_count()) {
        EXPECT_EQ(three.rows(r).total().count() - later_two.rows(r).total().count(), sent("kassandra", 0, label));
        ++differences_checked;
      }
      // Centres: the region minus the other three = kassandra's protected cell.
      const auto& all = region.rows(r).values(0);
      const auto& rest = without.rows(r).values(0);
      if (all.has_count() && rest.has_count()) {
        EXPECT_EQ(all.count() - rest.count(), sent("kassandra", 0, label));
        ++differences_checked;
      }
    }
  }
  EXPECT_GT(differences_checked, 200) << "the data sets must exercise the differences";
}

}  // namespace
}  // namespace kentra::hub
