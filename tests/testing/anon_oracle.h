// An independent computation, for tests, of the protected cells a node must send:
// straight from the list of service events recorded, without the node's counters.
#ifndef KENTRA_TESTS_TESTING_ANON_ORACLE_H_
#define KENTRA_TESTS_TESTING_ANON_ORACLE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "common/anon/keys.h"
#include "kentra/node/v1/beneficiary.pb.h"
#include "kentra/type/v1/vocabulary.pb.h"

namespace kentra::testing {

// One recorded service event, and the month it counts in (its own month unless
// that month was closed when it was recorded).
struct OracleEvent {
  kentra::node::v1::Beneficiary person;
  absl::CivilDay day;
  kentra::type::v1::ServiceType type;
  absl::CivilMonth counted_in;
};

// The keys of a centre of the test PKI (from its federation.secret).
anon::AnonKeys TestCentreKeys(const std::string& centre_id);

// Every codebook cell of `period` for `centre_id`, protected, from `events`.
std::map<std::string, int64_t> ExpectedCells(const std::vector<OracleEvent>& events, const anon::AnonKeys& keys,
                                             const std::string& centre_id, absl::CivilMonth period);

}  // namespace kentra::testing

#endif  // KENTRA_TESTS_TESTING_ANON_ORACLE_H_
