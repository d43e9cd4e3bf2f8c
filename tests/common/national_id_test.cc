#include "common/national_id.h"

#include <gtest/gtest.h>

#include "node/synthetic/synthetic.h"

namespace kentra {
namespace {

TEST(AmkaTest, AcceptsValidNumbers) {
  EXPECT_TRUE(ValidateAmka(synthetic::MakeAmka(absl::CivilDay(1980, 5, 14), 1234)).ok());
  EXPECT_TRUE(ValidateAmka(synthetic::MakeAmka(absl::CivilDay(2000, 2, 29), 1)).ok());
  EXPECT_TRUE(ValidateAmka("14058012346").ok());
}

TEST(AmkaTest, RejectsEachBrokenRule) {
  struct Case {
    const char* amka;
    const char* why;
  };
  const Case cases[] = {
      {"1405801234", "11 digits"},     // too short
      {"140580123467", "11 digits"},   // too long
      {"14058O12346", "11 digits"},    // a letter
      {"14058012345", "check digit"},  // wrong Luhn digit
      {"32018012343", "not a date"},   // 32 January
      {"31048012345", "not a date"},   // 31 April
      {"29028112341", "not a date"},   // 29 February 1981/2081
      {"00128012345", "not a date"},
  };
  for (const auto& c : cases) {
    absl::Status s = ValidateAmka(c.amka);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.amka;
    EXPECT_NE(s.message().find(c.why), absl::string_view::npos) << c.amka << ": " << s;
  }
}

TEST(AmkaTest, LuhnMatchesKnownValue) {
  EXPECT_EQ(LuhnCheckDigit("7992739871"), 3);  // the classic Luhn example
}

TEST(PersonalNumberTest, ChecksShapeAndAfmDigit) {
  EXPECT_TRUE(ValidatePersonalNumber("AB1090000010").ok());  // ΑΦΜ 090000016 is valid
  EXPECT_FALSE(ValidatePersonalNumber("AB109000001").ok());
  EXPECT_FALSE(ValidatePersonalNumber("ab1090000016").ok());
  EXPECT_FALSE(ValidatePersonalNumber("AB1090000011").ok());
  EXPECT_FALSE(ValidatePersonalNumber("AB10900000X0").ok());
}

}  // namespace
}  // namespace kentra
