#include "common/passwords.h"

#include <gtest/gtest.h>

#include "tests/testing/test_util.h"

namespace kentra {
namespace {

TEST(PasswordsTest, HashesAreArgon2idSaltedAndVerify) {
  PasswordHasher hasher(PasswordCost::MinimumForTests());
  auto a = hasher.Hash("correct horse battery");
  auto b = hasher.Hash("correct horse battery");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->rfind("$argon2id$", 0), 0u) << *a;
  EXPECT_NE(*a, *b) << "each hash has its own salt";
  EXPECT_TRUE(hasher.Verify(*a, "correct horse battery"));
  EXPECT_FALSE(hasher.Verify(*a, "correct horse batterY"));
  EXPECT_FALSE(hasher.Verify("not a hash", "correct horse battery"));
  EXPECT_FALSE(hasher.VerifyNobody("correct horse battery"));
}

TEST(PasswordsTest, NewPasswordsAreChecked) {
  EXPECT_TRUE(ValidateNewPassword("long enough one", "m.papadaki", "p").ok());
  EXPECT_THAT(ValidateNewPassword("short", "u", "p"),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, "p: must be at least 10 bytes"));
  EXPECT_THAT(ValidateNewPassword(std::string(129, 'a'), "u", "p"),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, "at most 128"));
  EXPECT_THAT(ValidateNewPassword("m.papadaki", "m.papadaki", "p"),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, "must not be the user id"));
  EXPECT_THAT(ValidateNewPassword("tab\tinside here", "u", "p"),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, "control characters"));
  EXPECT_THAT(ValidateNewPassword("bad utf8 \xff\xfe here", "u", "p"),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, "UTF-8"));
  EXPECT_TRUE(ValidateNewPassword("Ελληνικός κωδικός", "u", "p").ok());
}

}  // namespace
}  // namespace kentra
