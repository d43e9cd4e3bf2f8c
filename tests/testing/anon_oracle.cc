#include "tests/testing/anon_oracle.h"

#include <algorithm>
#include <fstream>
#include <set>

#include "common/tls.h"
#include "common/anon/codebook.h"
#include "common/anon/ptable.h"
#include "tests/testing/test_util.h"

namespace kentra::testing {

anon::AnonKeys TestCentreKeys(const std::string& centre_id) {
  auto secret = ReadHexSecretFile(TestPkiDir() + "/centres/" + centre_id + "/federation.secret");
  EXPECT_TRUE(secret.ok()) << secret.status();
  return anon::AnonKeys::Derive(secret.value_or(""));
}

std::map<std::string, int64_t> ExpectedCells(const std::vector<OracleEvent>& events, const anon::AnonKeys& keys,
                                             const std::string& centre_id, absl::CivilMonth period) {
  std::map<std::string, std::set<std::string>> persons;       // cell -> pseudonyms
  std::map<std::string, std::map<std::string, int>> counted;  // cell -> pseudonym -> events
  for (const OracleEvent& ev : events) {
    const bool in_month = ev.counted_in == period;
    const bool in_year = ev.counted_in.year() == period.year() && ev.counted_in <= period;
    if (!in_year) continue;
    const std::string p = anon::Pseudonym(keys, centre_id, ev.person);
    const anon::Contribution cells = anon::CellsFor(ev.person, ev.type, ev.day);
    if (in_month) {
      for (const auto& c : cells.monthly_persons) persons[c].insert(p);
      counted[cells.monthly_events][p]++;
    }
    for (const auto& c : cells.year_to_date) persons[c].insert(p);
  }
  std::map<std::string, int64_t> out;
  for (const auto& spec : anon::Codebook()) {
    int64_t count = 0, key_sum = 0;
    for (const auto& p : persons[spec.id]) {
      ++count;
      key_sum += anon::RecordKey(keys, p);
    }
    for (const auto& [p, n] : counted[spec.id]) {
      const int c = std::min(n, anon::kEventCapPerPerson);
      count += c;
      key_sum += static_cast<int64_t>(c) * anon::RecordKey(keys, p);
    }
    out[spec.id] = anon::Protect(count, static_cast<uint64_t>(key_sum));
  }
  return out;
}

}  // namespace kentra::testing
