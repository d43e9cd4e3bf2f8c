// Validation of Greek national identifiers at intake: ΑΜΚΑ (social security number)
// and the 12-character Personal Number (Προσωπικός Αριθμός).
#ifndef KENTRA_COMMON_NATIONAL_ID_H_
#define KENTRA_COMMON_NATIONAL_ID_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kentra {

// OK if `amka` is 11 digits whose first six are a real date DDMMYY and whose last
// digit is the Luhn check digit of the first ten; INVALID_ARGUMENT saying which rule failed.
absl::Status ValidateAmka(absl::string_view amka);

// OK if `pn` is 3 upper-case Latin letters or digits followed by a 9-digit ΑΦΜ with a
// valid check digit; INVALID_ARGUMENT saying which rule failed.
absl::Status ValidatePersonalNumber(absl::string_view pn);

// The Luhn check digit (0-9) that completes `digits` (all decimal digits).
int LuhnCheckDigit(absl::string_view digits);

}  // namespace kentra

#endif  // KENTRA_COMMON_NATIONAL_ID_H_
