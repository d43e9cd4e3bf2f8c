#include "common/keys.h"

#include <gtest/gtest.h>

namespace kentra::keys {
namespace {

TEST(KeysTest, NumbersSortAsBytes) {
  const int64_t values[] = {-5000000000, -1, 0, 1, 255, 256, 1700000000000000};
  std::string previous;
  for (int64_t v : values) {
    std::string k;
    AppendInt64(&k, v);
    EXPECT_EQ(ReadInt64(k, 0), v);
    if (!previous.empty()) {
      EXPECT_LT(previous, k) << v;
    }
    previous = k;
  }
  std::string u;
  AppendUint64(&u, 0x0102030405060708ULL);
  EXPECT_EQ(u, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_FALSE(ReadUint64("short", 0).has_value());
}

TEST(KeysTest, PaddedIdsRoundTripAndSort) {
  EXPECT_EQ(PaddedId(42), "0000000000000042");
  EXPECT_EQ(PaddedId(0), "0000000000000000");
  EXPECT_EQ(PaddedId(1234567890123456), "1234567890123456");
  EXPECT_EQ(PaddedId(12345678901234567), "12345678901234567");  // wider than 16, never cut
  EXPECT_EQ(PaddedSequence(18446744073709551615u), "18446744073709551615");
  EXPECT_EQ(PaddedSequence(1), "00000000000000000001");
  EXPECT_LT(PaddedId(9), PaddedId(10));
  EXPECT_EQ(ParsePadded(PaddedSequence(7), 20), 7u);
  EXPECT_FALSE(ParsePadded("00000000000000x2", 16).has_value());
  EXPECT_FALSE(ParsePadded("42", 16).has_value());
}

TEST(KeysTest, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixSuccessor("\xff\xff"), "");
}

}  // namespace
}  // namespace kentra::keys
