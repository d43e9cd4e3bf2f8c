// Conversions between absl time, protobuf Timestamps and kentra Dates, in the
// centres' time zone (Europe/Athens).
#ifndef KENTRA_COMMON_TIME_UTIL_H_
#define KENTRA_COMMON_TIME_UTIL_H_

#include <google/protobuf/timestamp.pb.h>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "kentra/type/v1/vocabulary.pb.h"

namespace kentra {

// Europe/Athens (UTC if the zone database is missing, which scripts/ install).
absl::TimeZone CentreTimeZone();

google::protobuf::Timestamp ToTimestamp(absl::Time t);
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);

// OK if `date` is a real calendar day between 1900-01-01 and 9999-12-31.
absl::Status ValidateDate(const kentra::type::v1::Date& date);
absl::CivilDay ToCivilDay(const kentra::type::v1::Date& date);
kentra::type::v1::Date ToDate(absl::CivilDay day);
// Today's date at the centres.
absl::CivilDay TodayAt(absl::Time now);
// "YYYY-MM-DD".
std::string FormatDate(const kentra::type::v1::Date& date);
// "YYYY-MM-DD HH:MM" at the centres (Europe/Athens), for messages and logs.
std::string FormatLocalMinute(absl::Time t);
// `t` moved on by `days` working days (Monday to Friday) at the centres: the
// same time of day on the `days`-th weekday after t's day.
absl::Time AddWorkingDays(absl::Time t, int days);
// Parses "YYYY-MM-DD"; false if malformed or not a real day.
bool ParseDate(absl::string_view text, kentra::type::v1::Date* date);

}  // namespace kentra

#endif  // KENTRA_COMMON_TIME_UTIL_H_
