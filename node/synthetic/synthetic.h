// A deterministic generator of realistic synthetic people, cases and services for
// one centre (same seed, same centre, same data), and a seeder that writes them to
// a running node through the staff API. Used by the demo, tests and benchmarks.
#ifndef KENTRA_NODE_SYNTHETIC_SYNTHETIC_H_
#define KENTRA_NODE_SYNTHETIC_SYNTHETIC_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "kentra/config/v1/centre.pb.h"
#include "kentra/node/v1/staff_service.grpc.pb.h"

namespace kentra::synthetic {

// One case of a synthetic person, with the services given in it.
struct CasePlan {
  kentra::node::v1::Case case_template;  // beneficiary filled in by the seeder
  std::vector<kentra::node::v1::ServiceEvent> events;
  kentra::node::v1::CloseReason close_reason = kentra::node::v1::CLOSE_REASON_UNSPECIFIED;
};

// One synthetic person and everything the centre did for them.
struct Person {
  kentra::node::v1::Beneficiary beneficiary;
  std::vector<CasePlan> cases;
};

class SyntheticCentre {
 public:
  // People for `centre`, with `scale` times its base size (Thessaloniki largest),
  // histories spread over the 36 months up to `today`.
  SyntheticCentre(const kentra::config::v1::CentreConfig& centre, uint64_t seed, double scale,
                  absl::CivilDay today);

  int person_count() const { return count_; }
  // Person `i` (0 <= i < person_count()); the same every time.
  Person MakePerson(int i) const;
  // The staff user names of the centre.
  const std::vector<std::string>& workers() const { return workers_; }

  // The base number of people of a centre at scale 1.
  static int BaseSize(const std::string& centre_id);

 private:
  kentra::config::v1::CentreConfig centre_;
  uint64_t seed_;
  int count_;
  absl::CivilDay today_;
  std::vector<std::string> workers_;
};

// A deterministic 11-digit ΑΜΚΑ for a birth date and a serial (0-9999).
std::string MakeAmka(absl::CivilDay birth, int serial);

struct SeedStats {
  int beneficiaries = 0;
  int cases = 0;
  int service_events = 0;
};

// Writes people [0, person_count) to the node behind `stub` with `threads` parallel
// writers, each call with a request_id derived from the seed (so a re-run changes
// nothing), with session `token`. `progress(done, total)` is called now and then.
// Stops at the first error.
absl::StatusOr<SeedStats> SeedNode(const SyntheticCentre& centre,
                                   kentra::node::v1::StaffService::Stub* stub, const std::string& token, int threads,
                                   const std::function<void(int, int)>& progress);

}  // namespace kentra::synthetic

#endif  // KENTRA_NODE_SYNTHETIC_SYNTHETIC_H_
