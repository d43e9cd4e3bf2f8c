#include "common/anon/codebook.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/crypto.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/time_util.h"

namespace kentra::anon {
namespace {

namespace tv1 = kentra::type::v1;

// "TARGET_GROUP_KEA_BENEFICIARY" -> "kea-beneficiary".
std::string Word(const google::protobuf::EnumDescriptor* type, int value, absl::string_view prefix) {
  const auto* v = type->FindValueByNumber(value);
  std::string name = v == nullptr ? "unknown" : v->name();
  if (absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
  return absl::StrReplaceAll(absl::AsciiStrToLower(name), {{"_", "-"}});
}

const char* const kAgeBands[] = {"0-17", "18-29", "30-44", "45-64", "65+"};

const char* AgeBand(int age) {
  if (age < 18) return kAgeBands[0];
  if (age < 30) return kAgeBands[1];
  if (age < 45) return kAgeBands[2];
  if (age < 65) return kAgeBands[3];
  return kAgeBands[4];
}

std::vector<int> Values(const google::protobuf::EnumDescriptor* type) {
  std::vector<int> out;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() != 0) out.push_back(type->value(i)->number());
  }
  return out;
}

std::string GenderWord(int g) { return Word(tv1::Gender_descriptor(), g, "GENDER_"); }
std::string GroupWord(int g) { return Word(tv1::TargetGroup_descriptor(), g, "TARGET_GROUP_"); }
std::string ServiceWord(int s) { return Word(tv1::ServiceType_descriptor(), s, "SERVICE_TYPE_"); }

const char* const kStageWords[] = {"sent", "received", "accepted", "rejected", "completed"};
constexpr ReferralStage kStages[] = {ReferralStage::kSent, ReferralStage::kReceived, ReferralStage::kAccepted,
                                     ReferralStage::kRejected, ReferralStage::kCompleted};

}  // namespace

const std::vector<EsfIndicator>& EsfIndicators() {
  static const auto* indicators = new std::vector<EsfIndicator>{
      {"EECO01", "Total number of participants", {}},
      {"EECO02", "Unemployed, including long-term unemployed", {tv1::TARGET_GROUP_UNEMPLOYED}},
      {"EECO12", "Participants with disabilities", {tv1::TARGET_GROUP_DISABILITY}},
      {"EECO13", "Third-country nationals",
       {tv1::TARGET_GROUP_MIGRANT, tv1::TARGET_GROUP_INTERNATIONAL_PROTECTION, tv1::TARGET_GROUP_ASYLUM_SEEKER}},
      {"EECO14", "Participants with a foreign background",
       {tv1::TARGET_GROUP_MIGRANT, tv1::TARGET_GROUP_INTERNATIONAL_PROTECTION, tv1::TARGET_GROUP_ASYLUM_SEEKER}},
      {"EECO15", "Minorities (including marginalised communities such as the Roma)", {tv1::TARGET_GROUP_ROMA}},
      {"EECO16", "Homeless or affected by housing exclusion", {tv1::TARGET_GROUP_HOMELESS}},
  };
  return *indicators;
}

const std::vector<CellSpec>& Codebook() {
  static const auto* cells = [] {
    auto* out = new std::vector<CellSpec>;
    for (int g : Values(tv1::Gender_descriptor())) {
      for (const char* band : kAgeBands) out->push_back({absl::StrCat("T1.", GenderWord(g), ".", band), CellKind::kMonthlyPersons});
    }
    for (int t : Values(tv1::TargetGroup_descriptor())) {
      out->push_back({absl::StrCat("T2.", GroupWord(t)), CellKind::kMonthlyPersons});
    }
    for (int s : Values(tv1::ServiceType_descriptor())) {
      out->push_back({absl::StrCat("T3.", ServiceWord(s)), CellKind::kMonthlyPersons});
    }
    for (int s : Values(tv1::ServiceType_descriptor())) {
      out->push_back({absl::StrCat("T4.", ServiceWord(s)), CellKind::kMonthlyEvents});
    }
    out->push_back({"Y1.persons", CellKind::kYearToDate});
    for (const auto& e : EsfIndicators()) {
      for (int g : Values(tv1::Gender_descriptor())) {
        out->push_back({absl::StrCat("E.", e.code, ".", GenderWord(g)), CellKind::kYearToDate});
      }
    }
    for (ReferralStage stage : kStages) {
      for (int s : Values(tv1::ServiceType_descriptor())) {
        out->push_back({ReferralCell(stage, static_cast<tv1::ServiceType>(s)), CellKind::kMonthlyEvents});
      }
    }
    for (int s : Values(tv1::ServiceType_descriptor())) {
      for (const DayBand& band : AcceptanceBands()) {
        out->push_back({absl::StrCat("R2.", ServiceWord(s), ".", band.label), CellKind::kMonthlyEvents});
      }
    }
    return out;
  }();
  return *cells;
}

bool FindCell(const std::string& id, CellKind* kind) {
  for (const CellSpec& c : Codebook()) {
    if (c.id == id) {
      *kind = c.kind;
      return true;
    }
  }
  return false;
}

Contribution CellsFor(const kentra::node::v1::Beneficiary& person, tv1::ServiceType type, absl::CivilDay day) {
  Contribution c;
  // Age on the first day of the month, so that a person is in one age band for the
  // whole month even if a birthday falls in it.
  const absl::CivilDay birth = ToCivilDay(person.birth_date());
  const absl::CivilDay first(day.year(), day.month(), 1);
  int age = static_cast<int>(first.year() - birth.year());
  if (first.month() < birth.month() || (first.month() == birth.month() && first.day() < birth.day())) --age;
  const std::string gender = GenderWord(person.gender());
  c.monthly_persons.push_back(absl::StrCat("T1.", gender, ".", AgeBand(std::max(age, 0))));
  for (int t : person.target_groups()) c.monthly_persons.push_back(absl::StrCat("T2.", GroupWord(t)));
  c.monthly_persons.push_back(absl::StrCat("T3.", ServiceWord(type)));
  c.monthly_events = absl::StrCat("T4.", ServiceWord(type));
  c.year_to_date.push_back("Y1.persons");
  for (const auto& e : EsfIndicators()) {
    const bool counts = e.groups.empty() || std::any_of(e.groups.begin(), e.groups.end(), [&](tv1::TargetGroup g) {
                          return std::find(person.target_groups().begin(), person.target_groups().end(), g) !=
                                 person.target_groups().end();
                        });
    if (counts) c.year_to_date.push_back(absl::StrCat("E.", e.code, ".", gender));
  }
  return c;
}

std::string ReferralCell(ReferralStage stage, tv1::ServiceType service) {
  return absl::StrCat("R1.", kStageWords[static_cast<int>(stage)], ".", ServiceWord(service));
}

const std::vector<DayBand>& AcceptanceBands() {
  static const auto* bands = new std::vector<DayBand>{{"0-1", 0}, {"2-3", 2}, {"4-7", 4}, {"8-14", 8}, {"15+", 15}};
  return *bands;
}

std::string AcceptanceCell(tv1::ServiceType service, int64_t days) {
  const DayBand* band = &AcceptanceBands().front();
  for (const DayBand& b : AcceptanceBands()) {
    if (days >= b.first_day) band = &b;
  }
  return absl::StrCat("R2.", ServiceWord(service), ".", band->label);
}

absl::CivilDay ReleaseDay(absl::CivilMonth month, int days_after_end) {
  return absl::CivilDay(month + 1) - 1 + days_after_end;
}

std::string PeriodName(absl::CivilMonth month) { return absl::StrFormat("%04d-%02d", month.year(), month.month()); }

bool ParsePeriod(const std::string& text, absl::CivilMonth* month) {
  int year = 0, mon = 0;
  if (text.size() != 7 || text[4] != '-' || !absl::SimpleAtoi(text.substr(0, 4), &year) ||
      !absl::SimpleAtoi(text.substr(5, 2), &mon) || mon < 1 || mon > 12 || year < 2016 || year > 9999) {
    return false;
  }
  *month = absl::CivilMonth(year, mon);
  return true;
}

std::string CellsBatchId(const kentra::anon::v1::PeriodCells& cells) {
  return Base64UrlEncode(Digest(cells.SerializeAsString()).substr(0, 18));
}

}  // namespace kentra::anon
