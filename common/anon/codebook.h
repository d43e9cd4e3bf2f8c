// The codebook of kentra-anon/v2: the fixed list of indicator cells every node
// sends for every centre and month (zeros included, so whether a cell exists never
// depends on the data), and which cells one service event counts in.
//
// Cell ids are dotted words:
//   T1.<gender>.<age band>   persons served in the month, by gender and age band
//                            (their age on the first day of the month)
//   T2.<target group>        persons served in the month with that flag (never crossed)
//   T3.<service type>        distinct persons given that service in the month
//   T4.<service type>        service events of that type (at most kEventCapPerPerson
//                            per person and month)
//   Y1.persons               distinct persons served from January to the month
//   E.<EECO code>.<gender>   ESF+ common output indicators, distinct participants
//                            from January to the month, by gender
//   R1.<stage>.<service>     referrals for that service reaching the stage in the
//                            month: "sent" counted by the sending centre; "received",
//                            "accepted", "rejected", "completed" by the receiving one
//   R2.<service>.<days>      referrals accepted in the month, by whole days from
//                            sending to acceptance (0-1, 2-3, 4-7, 8-14, 15+)
// v2 is v1 with the R cells appended: every v1 cell keeps its place.
#ifndef KENTRA_COMMON_ANON_CODEBOOK_H_
#define KENTRA_COMMON_ANON_CODEBOOK_H_

#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "kentra/anon/v1/indicators.pb.h"
#include "kentra/node/v1/beneficiary.pb.h"
#include "kentra/type/v1/vocabulary.pb.h"

namespace kentra::anon {

inline constexpr char kCodebookVersion[] = "kentra-anon/v2";
// Events of one type by one person in one month beyond this are not counted.
inline constexpr int kEventCapPerPerson = 10;

// How a cell counts.
enum class CellKind {
  kMonthlyPersons,  // distinct persons within the month (T1, T2, T3)
  kMonthlyEvents,   // events within the month (T4)
  kYearToDate,      // distinct persons from January to the month (Y1, E)
};

struct CellSpec {
  std::string id;
  CellKind kind;
};

// Every cell, in codebook order.
const std::vector<CellSpec>& Codebook();
// The kind of cell `id`; false if the codebook has no such cell.
bool FindCell(const std::string& id, CellKind* kind);

// The ESF+ common output indicators the data supports, with the target groups
// that make a participant count in each (none: every participant).
struct EsfIndicator {
  std::string code;   // "EECO02"
  std::string title;  // "Unemployed, including long-term unemployed"
  std::vector<kentra::type::v1::TargetGroup> groups;
};
const std::vector<EsfIndicator>& EsfIndicators();

// The cells one service event of `type` on `day` counts in, for a person with
// record `person` (gender, birth date, target groups).
struct Contribution {
  std::vector<std::string> monthly_persons;
  std::string monthly_events;
  std::vector<std::string> year_to_date;
};
Contribution CellsFor(const kentra::node::v1::Beneficiary& person, kentra::type::v1::ServiceType type,
                      absl::CivilDay day);

// Referral cells (R1, R2).
enum class ReferralStage { kSent, kReceived, kAccepted, kRejected, kCompleted };
std::string ReferralCell(ReferralStage stage, kentra::type::v1::ServiceType service);
// The R2 cell of a referral accepted `days` whole days after it was sent.
std::string AcceptanceCell(kentra::type::v1::ServiceType service, int64_t days);
// R2's day bands, in order ("0-1", ..., "15+"), and the first day of each.
struct DayBand {
  const char* label;
  int first_day;
};
const std::vector<DayBand>& AcceptanceBands();

// "2026-10" for October 2026; and back (false if malformed).
std::string PeriodName(absl::CivilMonth month);
bool ParsePeriod(const std::string& text, absl::CivilMonth* month);

// The day (at the centres) from which `month` counts as closed when months close
// `days_after_end` days after they end: its last day plus that many days (October
// with 10: 10 November).
absl::CivilDay ReleaseDay(absl::CivilMonth month, int days_after_end);

// The name of a push of `cells`, made from their content (the same cells always
// make the same batch): what a node names its push with, and what the hub
// reports for the cells it holds, so that the two can tell whether they agree.
std::string CellsBatchId(const kentra::anon::v1::PeriodCells& cells);

}  // namespace kentra::anon

#endif  // KENTRA_COMMON_ANON_CODEBOOK_H_
