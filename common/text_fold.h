// Folding of names for search: upper case, Greek and Latin accents removed, final
// sigma made plain, runs of spaces and hyphens made one space. "Παπαδοπούλου" and
// "ΠΑΠΑΔΟΠΟΥΛΟΥ" fold to the same key.
#ifndef KENTRA_COMMON_TEXT_FOLD_H_
#define KENTRA_COMMON_TEXT_FOLD_H_

#include <string>

#include "absl/strings/string_view.h"

namespace kentra {

// The search key of `text` (UTF-8). Invalid UTF-8 bytes are dropped.
std::string FoldForSearch(absl::string_view text);

// Whether `text` is valid UTF-8 with no control characters other than \n and \t.
bool IsCleanUtf8(absl::string_view text);

// Number of Unicode code points in valid UTF-8 `text`.
size_t CodePointCount(absl::string_view text);

// The longest prefix of UTF-8 `text` of at most `max_bytes` that does not end
// inside a character: how text is cut short for a message or a record, whose
// string fields must stay valid UTF-8.
absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes);

}  // namespace kentra

#endif  // KENTRA_COMMON_TEXT_FOLD_H_
