#include "common/time_util.h"

#include "absl/strings/str_format.h"

namespace kentra {

absl::TimeZone CentreTimeZone() {
  static const absl::TimeZone zone = [] {
    absl::TimeZone tz;
    if (!absl::LoadTimeZone("Europe/Athens", &tz)) tz = absl::UTCTimeZone();
    return tz;
  }();
  return zone;
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1000000;
  int64_t rem = micros % 1000000;
  if (rem < 0) {
    rem += 1000000;
    --seconds;
  }
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(rem * 1000));
  return ts;
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::Status ValidateDate(const kentra::type::v1::Date& date) {
  if (date.year() < 1900 || date.year() > 9999) {
    return absl::InvalidArgumentError("year must be 1900 to 9999");
  }
  if (date.month() < 1 || date.month() > 12) return absl::InvalidArgumentError("month must be 1 to 12");
  absl::CivilDay day(date.year(), date.month(), date.day());
  if (date.day() < 1 || day.day() != date.day() || day.month() != date.month()) {
    return absl::InvalidArgumentError(absl::StrFormat("%04d-%02d-%02d is not a calendar day",
                                                      date.year(), date.month(), date.day()));
  }
  return absl::OkStatus();
}

absl::CivilDay ToCivilDay(const kentra::type::v1::Date& date) {
  return absl::CivilDay(date.year(), date.month(), date.day());
}

kentra::type::v1::Date ToDate(absl::CivilDay day) {
  kentra::type::v1::Date d;
  d.set_year(static_cast<int32_t>(day.year()));
  d.set_month(day.month());
  d.set_day(day.day());
  return d;
}

absl::CivilDay TodayAt(absl::Time now) { return absl::ToCivilDay(now, CentreTimeZone()); }

std::string FormatDate(const kentra::type::v1::Date& date) {
  return absl::StrFormat("%04d-%02d-%02d", date.year(), date.month(), date.day());
}

bool ParseDate(absl::string_view text, kentra::type::v1::Date* date) {
  absl::CivilDay day;
  if (text.size() != 10 || !absl::ParseCivilTime(text, &day)) return false;
  *date = ToDate(day);
  return ValidateDate(*date).ok();
}

std::string FormatLocalMinute(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M", t, CentreTimeZone());
}

absl::Time AddWorkingDays(absl::Time t, int days) {
  const absl::TimeZone zone = CentreTimeZone();
  const absl::CivilSecond local = absl::ToCivilSecond(t, zone);
  absl::CivilDay day = absl::CivilDay(local);
  while (days > 0) {
    ++day;
    const absl::Weekday w = absl::GetWeekday(day);
    if (w != absl::Weekday::saturday && w != absl::Weekday::sunday) --days;
  }
  const absl::CivilSecond moved(day.year(), day.month(), day.day(), local.hour(), local.minute(), local.second());
  return absl::FromCivil(moved, zone);
}

}  // namespace kentra
