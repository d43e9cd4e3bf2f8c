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

}  // namespace
}  // namespace kentra
