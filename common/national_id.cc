#include "common/national_id.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace kentra {
namespace {

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int Digit(char c) { return c - '0'; }

// Whether DD/MM/YY is a date in some year ending in YY (29 February needs a leap year).
bool IsPossibleDate(int day, int month, int yy) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1]) return false;
  if (month == 2 && day == 29) return yy % 4 == 0;  // 1900+yy or 2000+yy; 2000 is leap
  return true;
}

}  // namespace

int LuhnCheckDigit(absl::string_view digits) {
  int sum = 0;
  bool twice = true;  // the rightmost payload digit is doubled
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = Digit(*it);
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return (10 - sum % 10) % 10;
}

absl::Status ValidateAmka(absl::string_view amka) {
  if (amka.size() != 11 || !AllDigits(amka)) {
    return absl::InvalidArgumentError("ΑΜΚΑ must be exactly 11 digits");
  }
  int day = Digit(amka[0]) * 10 + Digit(amka[1]);
  int month = Digit(amka[2]) * 10 + Digit(amka[3]);
  int yy = Digit(amka[4]) * 10 + Digit(amka[5]);
  if (!IsPossibleDate(day, month, yy)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ΑΜΚΑ must start with a birth date DDMMYY; '", amka.substr(0, 6), "' is not a date"));
  }
  if (LuhnCheckDigit(amka.substr(0, 10)) != Digit(amka[10])) {
    return absl::InvalidArgumentError("ΑΜΚΑ check digit does not match (mistyped digit?)");
  }
  return absl::OkStatus();
}

absl::Status ValidatePersonalNumber(absl::string_view pn) {
  if (pn.size() != 12) {
    return absl::InvalidArgumentError("Personal Number must be exactly 12 characters");
  }
  for (char c : pn.substr(0, 3)) {
    if (!(absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'A' && c <= 'Z'))) {
      return absl::InvalidArgumentError(
          "Personal Number must start with 3 upper-case Latin letters or digits");
    }
  }
  absl::string_view afm = pn.substr(3);
  if (!AllDigits(afm)) {
    return absl::InvalidArgumentError("Personal Number must end with the 9-digit ΑΦΜ");
  }
  int sum = 0;
  for (int i = 0; i < 8; ++i) sum += Digit(afm[i]) << (8 - i);
  if (sum % 11 % 10 != Digit(afm[8])) {
    return absl::InvalidArgumentError("Personal Number's ΑΦΜ check digit does not match");
  }
  return absl::OkStatus();
}

}  // namespace kentra
