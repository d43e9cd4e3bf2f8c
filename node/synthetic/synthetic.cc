#include "node/synthetic/synthetic.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/national_id.h"
#include "common/status.h"
#include "common/time_util.h"

namespace kentra::synthetic {
namespace {

namespace nv1 = kentra::node::v1;
namespace tv1 = kentra::type::v1;

// SplitMix64: small, fast, and the same on every platform (unlike std distributions).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  int Below(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }
  // True with probability `p` percent.
  bool Percent(double p) { return (Next() % 10000) < static_cast<uint64_t>(p * 100); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[Below(static_cast<int>(v.size()))]; }

 private:
  uint64_t state_;
};

uint64_t Mix(uint64_t a, uint64_t b) { return Rng(a * 0x100000001b3ULL ^ b).Next(); }

uint64_t HashText(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

const std::vector<std::string> kMaleGiven = {"Γιώργος", "Δημήτρης", "Κωνσταντίνος", "Νίκος", "Γιάννης",
    "Βασίλης", "Χρήστος", "Αθανάσιος", "Μιχάλης", "Παναγιώτης", "Ευάγγελος", "Σταύρος", "Αντώνης", "Ηλίας"};
const std::vector<std::string> kFemaleGiven = {"Μαρία", "Ελένη", "Αικατερίνη", "Βασιλική", "Σοφία",
    "Αγγελική", "Γεωργία", "Δήμητρα", "Κωνσταντίνα", "Παρασκευή", "Ευαγγελία", "Χριστίνα", "Ιωάννα", "Ζωή"};
// Family names in (male, female) form.
const std::vector<std::pair<std::string, std::string>> kFamily = {
    {"Παπαδόπουλος", "Παπαδοπούλου"}, {"Παπαδάκης", "Παπαδάκη"}, {"Γεωργίου", "Γεωργίου"},
    {"Νικολάου", "Νικολάου"}, {"Ιωάννου", "Ιωάννου"}, {"Δημητρίου", "Δημητρίου"},
    {"Καραγιάννης", "Καραγιάννη"}, {"Οικονόμου", "Οικονόμου"}, {"Παπαγεωργίου", "Παπαγεωργίου"},
    {"Βασιλείου", "Βασιλείου"}, {"Μακρής", "Μακρή"}, {"Αθανασίου", "Αθανασίου"},
    {"Χατζηδάκης", "Χατζηδάκη"}, {"Κωνσταντινίδης", "Κωνσταντινίδου"}, {"Αλεξίου", "Αλεξίου"},
    {"Θεοδωρίδης", "Θεοδωρίδου"}, {"Ζαχαρίου", "Ζαχαρίου"}, {"Σιδηρόπουλος", "Σιδηροπούλου"}};
const std::vector<std::string> kMigrantGivenMale = {"Ahmad", "Mohammad", "Omar", "Ali", "Hassan", "Arben"};
const std::vector<std::string> kMigrantGivenFemale = {"Fatima", "Amina", "Layla", "Mariam", "Zainab", "Elira"};
const std::vector<std::string> kMigrantFamily = {"Hosseini", "Rahimi", "Karimi", "Haddad", "Al-Sayed", "Hoxha", "Ahmadi"};
const std::vector<std::string> kWorkerNames = {"m.papadaki", "g.nikolaou", "e.ioannou", "k.dimitriou",
                                               "a.georgiou", "s.alexiou", "p.makri", "d.oikonomou"};

}  // namespace

int SyntheticCentre::BaseSize(const std::string& id) {
  if (id == "thessaloniki") return 6000;
  if (id == "pylaia-chortiatis") return 1500;
  if (id == "chalkidona") return 900;
  if (id == "kassandra") return 800;
  if (id == "ermionida") return 400;
  return 600;
}

std::string MakeAmka(absl::CivilDay birth, int serial) {
  std::string payload = absl::StrFormat("%02d%02d%02d%04d", birth.day(), birth.month(),
                                        static_cast<int>(birth.year() % 100), serial % 10000);
  return absl::StrCat(payload, LuhnCheckDigit(payload));
}

SyntheticCentre::SyntheticCentre(const kentra::config::v1::CentreConfig& centre, uint64_t seed,
                                 double scale, absl::CivilDay today)
    : centre_(centre), seed_(Mix(seed, HashText(centre.id()))), today_(today) {
  count_ = std::max(1, static_cast<int>(BaseSize(centre.id()) * scale));
  int staff = 0;
  for (const auto& post : centre.staff()) staff += post.count();
  if (staff == 0) staff = centre.id() == "thessaloniki" ? 8 : 4;
  staff = std::min<int>(staff, static_cast<int>(kWorkerNames.size()));
  workers_.assign(kWorkerNames.begin(), kWorkerNames.begin() + staff);
}

Person SyntheticCentre::MakePerson(int i) const {
  Rng rng(Mix(seed_, static_cast<uint64_t>(i)));
  Person p;
  nv1::Beneficiary& b = p.beneficiary;
  const bool urban = centre_.id() == "thessaloniki";
  const bool migrant = rng.Percent(urban ? 15 : 4);
  const bool female = rng.Percent(56);
  b.set_gender(rng.Percent(0.5) ? tv1::GENDER_NON_BINARY : (female ? tv1::GENDER_FEMALE : tv1::GENDER_MALE));
  if (migrant) {
    b.set_given_name(rng.Pick(female ? kMigrantGivenFemale : kMigrantGivenMale));
    b.set_family_name(rng.Pick(kMigrantFamily));
  } else {
    b.set_given_name(rng.Pick(female ? kFemaleGiven : kMaleGiven));
    const auto& family = rng.Pick(kFamily);
    b.set_family_name(female ? family.second : family.first);
  }
  // Ages: children, working age, elderly in the mix a centre sees.
  static const int kAgeBands[][2] = {{3, 17}, {18, 29}, {30, 44}, {45, 64}, {65, 90}};
  static const int kAgeWeights[] = {12, 18, 27, 25, 18};
  int roll = rng.Below(100), band = 0;
  while (roll >= kAgeWeights[band]) roll -= kAgeWeights[band++];
  const int age = kAgeBands[band][0] + rng.Below(kAgeBands[band][1] - kAgeBands[band][0] + 1);
  const absl::CivilDay birth = today_ - (age * 365 + rng.Below(365));
  *b.mutable_birth_date() = ToDate(birth);
  b.set_municipality(centre_.areas_served_size() > 0
                         ? centre_.areas_served(rng.Below(centre_.areas_served_size()))
                         : centre_.municipality().el());
  b.set_household_size(1 + rng.Below(6));
  b.mutable_contact()->set_phone(absl::StrFormat("69%08d", static_cast<int>(rng.Next() % 100000000)));

  const bool asylum = migrant && rng.Percent(20);
  if (!asylum) {
    b.mutable_national_id()->set_type(nv1::NATIONAL_ID_TYPE_AMKA);
    b.mutable_national_id()->set_value(MakeAmka(birth, i));
  }
  auto flag = [&](tv1::TargetGroup g, double pct) {
    if (rng.Percent(pct)) b.add_target_groups(g);
  };
  flag(tv1::TARGET_GROUP_KEA_BENEFICIARY, 35);
  if (age >= 18 && age < 65) flag(tv1::TARGET_GROUP_UNEMPLOYED, 40);
  flag(tv1::TARGET_GROUP_POVERTY_EXCLUSION, 30);
  flag(tv1::TARGET_GROUP_HOMELESS, urban ? 4 : 1);
  flag(tv1::TARGET_GROUP_DISABILITY, 10);
  if (age >= 65) b.add_target_groups(tv1::TARGET_GROUP_ELDERLY);
  if (age < 18 || b.household_size() >= 4) flag(tv1::TARGET_GROUP_VULNERABLE_CHILD_FAMILY, 35);
  if (migrant) {
    b.add_target_groups(tv1::TARGET_GROUP_MIGRANT);
    if (asylum) {
      b.add_target_groups(tv1::TARGET_GROUP_ASYLUM_SEEKER);
    } else {
      flag(tv1::TARGET_GROUP_INTERNATIONAL_PROTECTION, 25);
    }
  } else {
    flag(tv1::TARGET_GROUP_ROMA, urban ? 4 : 3);
  }
  nv1::Consent* consent = b.add_consents();
  consent->set_purpose(nv1::CONSENT_PURPOSE_SERVICE_PROVISION);
  consent->set_state(nv1::CONSENT_STATE_GIVEN);
  consent->set_evidence(absl::StrCat("intake form ", i + 1));
  if (rng.Percent(60)) {
    nv1::Consent* share = b.add_consents();
    share->set_purpose(nv1::CONSENT_PURPOSE_REFERRAL_SHARING);
    share->set_state(nv1::CONSENT_STATE_GIVEN);
  }

  const int cases = rng.Percent(15) ? 2 : 1;
  for (int c = 0; c < cases; ++c) {
    CasePlan plan;
    nv1::Case& k = plan.case_template;
    k.set_assigned_worker(rng.Pick(workers_));
    const int needs = 1 + rng.Below(3);
    for (int n = 0; n < needs; ++n) {
      auto need = static_cast<nv1::Need>(1 + rng.Below(10));
      if (std::find(k.needs().begin(), k.needs().end(), need) == k.needs().end()) k.add_needs(need);
    }
    const absl::CivilDay start = today_ - rng.Below(36 * 30);
    const int events = 1 + rng.Below(7);
    for (int e = 0; e < events; ++e) {
      nv1::ServiceEvent ev;
      absl::CivilDay day = start + rng.Below(180);
      if (day > today_) day = today_;
      *ev.mutable_service_date() = ToDate(day);
      auto type = static_cast<tv1::ServiceType>(centre_.services(rng.Below(centre_.services_size())));
      if (migrant && rng.Percent(50) &&
          std::find(centre_.services().begin(), centre_.services().end(),
                    tv1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT) != centre_.services().end()) {
        type = tv1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT;
      }
      ev.set_service_type(type);
      if (type == tv1::SERVICE_TYPE_BENEFIT_APPLICATION_SUPPORT) {
        ev.set_programme(rng.Percent(60) ? tv1::PROGRAMME_KEA : static_cast<tv1::Programme>(2 + rng.Below(8)));
      }
      if (type == tv1::SERVICE_TYPE_COUNSELLING) {
        ev.set_counselling_topic(static_cast<tv1::CounsellingTopic>(1 + rng.Below(7)));
      }
      ev.set_worker(k.assigned_worker());
      plan.events.push_back(std::move(ev));
    }
    std::sort(plan.events.begin(), plan.events.end(), [](const auto& a, const auto& b) {
      return ToCivilDay(a.service_date()) < ToCivilDay(b.service_date());
    });
    if (today_ - start > 90 && rng.Percent(60)) {
      plan.close_reason = static_cast<nv1::CloseReason>(1 + rng.Below(6));
    }
    p.cases.push_back(std::move(plan));
  }
  return p;
}

absl::StatusOr<SeedStats> SeedNode(const SyntheticCentre& centre, nv1::StaffService::Stub* stub, const std::string& token,
                                   int threads, const std::function<void(int, int)>& progress) {
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  absl::Mutex mu;
  absl::Status first_error;
  SeedStats totals;
  auto call = [&](auto method, const auto& request, auto* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    ctx.AddMetadata("authorization", "Bearer " + token);
    return FromGrpcStatus((stub->*method)(&ctx, request, response));
  };
  auto worker = [&] {
    SeedStats mine;
    for (int i = next++; i < centre.person_count(); i = next++) {
      {
        absl::MutexLock lock(&mu);
        if (!first_error.ok()) return;
      }
      Person p = centre.MakePerson(i);
      const std::string rid = absl::StrCat("seed-", i);
      nv1::CreateBeneficiaryRequest create;
      *create.mutable_beneficiary() = p.beneficiary;
      create.set_request_id(rid);
      nv1::Beneficiary ben;
      absl::Status s = call(&nv1::StaffService::Stub::CreateBeneficiary, create, &ben);
      for (size_t c = 0; s.ok() && c < p.cases.size(); ++c) {
        nv1::OpenCaseRequest open;
        *open.mutable_case_() = p.cases[c].case_template;
        open.mutable_case_()->set_beneficiary(ben.name());
        open.set_request_id(absl::StrCat(rid, "-c", c));
        nv1::Case k;
        s = call(&nv1::StaffService::Stub::OpenCase, open, &k);
        for (size_t e = 0; s.ok() && e < p.cases[c].events.size(); ++e) {
          nv1::RecordServiceEventRequest rec;
          rec.set_parent(k.name());
          *rec.mutable_service_event() = p.cases[c].events[e];
          rec.set_request_id(absl::StrCat(rid, "-c", c, "-e", e));
          nv1::ServiceEvent ev;
          s = call(&nv1::StaffService::Stub::RecordServiceEvent, rec, &ev);
          ++mine.service_events;
        }
        if (s.ok() && p.cases[c].close_reason != nv1::CLOSE_REASON_UNSPECIFIED &&
            k.state() == nv1::CASE_STATE_OPEN) {
          nv1::CloseCaseRequest close;
          close.set_name(k.name());
          close.set_reason(p.cases[c].close_reason);
          s = call(&nv1::StaffService::Stub::CloseCase, close, &k);
        }
        ++mine.cases;
      }
      ++mine.beneficiaries;
      if (!s.ok()) {
        absl::MutexLock lock(&mu);
        if (first_error.ok()) first_error = absl::Status(s.code(), absl::StrCat("person ", i, ": ", s.message()));
        return;
      }
      int n = ++done;
      if (progress && (n % 50 == 0 || n == centre.person_count())) progress(n, centre.person_count());
    }
    absl::MutexLock lock(&mu);
    totals.beneficiaries += mine.beneficiaries;
    totals.cases += mine.cases;
    totals.service_events += mine.service_events;
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (!first_error.ok()) return first_error;
  return totals;
}

}  // namespace kentra::synthetic
