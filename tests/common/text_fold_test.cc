#include "common/text_fold.h"

#include <gtest/gtest.h>

namespace kentra {
namespace {

TEST(FoldForSearchTest, IgnoresCaseAndGreekAccents) {
  EXPECT_EQ(FoldForSearch("παπαδοπουλος"), FoldForSearch("ΠΑΠΑΔΟΠΟΎΛΟΣ"));
  EXPECT_EQ(FoldForSearch("Παπαδοπούλου"), "ΠΑΠΑΔΟΠΟΥΛΟΥ");
  EXPECT_EQ(FoldForSearch("Ζωή"), "ΖΩΗ");
  EXPECT_EQ(FoldForSearch("Ευφροσύνη Ϊ ϋ ΐ ΰ"), "ΕΥΦΡΟΣΥΝΗ Ι Υ Ι Υ");
  EXPECT_EQ(FoldForSearch("Άγιος Αθανάσιος"), "ΑΓΙΟΣ ΑΘΑΝΑΣΙΟΣ");
}

TEST(FoldForSearchTest, DropsDecomposedAccentsAndFoldsLatin) {
  EXPECT_EQ(FoldForSearch("Ελε\xCC\x81νη"), "ΕΛΕΝΗ");  // ε + combining acute
  EXPECT_EQ(FoldForSearch("José Müller"), "JOSE MULLER");
}

TEST(FoldForSearchTest, NormalisesSeparators) {
  EXPECT_EQ(FoldForSearch("  Al-Sayed   Hassan "), "AL SAYED HASSAN");
}

TEST(FoldForSearchTest, DropsInvalidUtf8) { EXPECT_EQ(FoldForSearch("a\xff" "b"), "AB"); }

TEST(CleanUtf8Test, RejectsControlsAndBrokenSequences) {
  EXPECT_TRUE(IsCleanUtf8("Καλημέρα\nline two\ttab"));
  EXPECT_FALSE(IsCleanUtf8(std::string("nul\0x", 5)));
  EXPECT_FALSE(IsCleanUtf8("bell\a"));
  EXPECT_FALSE(IsCleanUtf8("\xc3"));
  EXPECT_FALSE(IsCleanUtf8("\xc0\xaf"));  // overlong
  EXPECT_EQ(CodePointCount("Ζωή"), 3u);
}

TEST(Utf8PrefixTest, CutsShortNeverInsideALetter) {
  EXPECT_EQ(Utf8Prefix("Ζωή", 10), "Ζωή");  // short enough: all of it
  EXPECT_EQ(Utf8Prefix("Ζωή", 6), "Ζωή");
  EXPECT_EQ(Utf8Prefix("Ζωή", 5), "Ζω");   // byte 5 is inside ή
  EXPECT_EQ(Utf8Prefix("Ζωή", 4), "Ζω");
  EXPECT_EQ(Utf8Prefix("Ζωή", 1), "");
  EXPECT_EQ(Utf8Prefix("a€b", 3), "a");    // € takes three bytes
  EXPECT_EQ(Utf8Prefix("a€b", 4), "a€");
  EXPECT_EQ(Utf8Prefix("abc", 0), "");
  EXPECT_TRUE(IsCleanUtf8(std::string(Utf8Prefix("x" + std::string(50, 'a') + "ΑΑΑΑΑΑΑΑΑΑ", 56))));
}

}  // namespace
}  // namespace kentra
