#include "common/text_fold.h"

#include <cstdint>

namespace kentra {
namespace {

// Decodes one code point at s[*i]; advances *i. Returns -1 on invalid UTF-8.
int32_t NextCodePoint(absl::string_view s, size_t* i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(*i);
  int len;
  int32_t cp;
  if (c < 0x80) {
    ++*i;
    return c;
  } else if ((c & 0xe0) == 0xc0) {
    len = 2;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4;
    cp = c & 0x07;
  } else {
    ++*i;
    return -1;
  }
  if (*i + len > s.size()) {
    *i = s.size();
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    unsigned char cc = byte(*i + k);
    if ((cc & 0xc0) != 0x80) {
      *i += k;
      return -1;
    }
    cp = (cp << 6) | (cc & 0x3f);
  }
  static constexpr int32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  *i += len;
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  return cp;
}

void AppendUtf8(std::string* out, int32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// Maps a code point to its folded form: 0 drops it, ' ' is a separator.
int32_t Fold(int32_t cp) {
  if (cp >= 'a' && cp <= 'z') return cp - 32;
  if ((cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9')) return cp;
  if (cp == ' ' || cp == '-' || cp == '\t' || cp == '\n' || cp == '.' || cp == ',' || cp == '\'') {
    return ' ';
  }
  if (cp >= 0x0300 && cp <= 0x036f) return 0;  // combining accents (decomposed input)
  switch (cp) {
    // Greek with tonos or dialytika, upper and lower case.
    case 0x0386: case 0x03ac: return 0x0391;  // Α
    case 0x0388: case 0x03ad: return 0x0395;  // Ε
    case 0x0389: case 0x03ae: return 0x0397;  // Η
    case 0x038a: case 0x03af: case 0x0390: case 0x03aa: case 0x03ca: return 0x0399;  // Ι
    case 0x038c: case 0x03cc: return 0x039f;  // Ο
    case 0x038e: case 0x03cd: case 0x03b0: case 0x03ab: case 0x03cb: return 0x03a5;  // Υ
    case 0x038f: case 0x03ce: return 0x03a9;  // Ω
    case 0x03c2: return 0x03a3;  // final ς
    default: break;
  }
  if (cp >= 0x03b1 && cp <= 0x03c9) return cp - 0x20;  // Greek lower case
  if (cp >= 0x0391 && cp <= 0x03a9) return cp;
  // Latin-1 letters with accents.
  if (cp >= 0x00c0 && cp <= 0x00ff) {
    static const char kBase[] =
        "AAAAAAACEEEEIIII"  // C0-CF
        "DNOOOOO OUUUUYTs"  // D0-DF
        "AAAAAAACEEEEIIII"  // E0-EF
        "DNOOOOO OUUUUYTY";  // F0-FF
    char b = kBase[cp - 0x00c0];
    return b == ' ' ? 0 : (b == 's' ? 'S' : b);
  }
  return cp;  // other scripts kept as they are
}

}  // namespace

std::string FoldForSearch(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  size_t i = 0;
  while (i < text.size()) {
    int32_t cp = NextCodePoint(text, &i);
    if (cp < 0) continue;
    int32_t f = Fold(cp);
    if (f == 0) continue;
    if (f == ' ') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    AppendUtf8(&out, f);
  }
  return out;
}

bool IsCleanUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    int32_t cp = NextCodePoint(text, &i);
    if (cp < 0) return false;
    if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f) return false;
  }
  return true;
}

size_t CodePointCount(absl::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
  }
  return n;
}

absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  return text.substr(0, cut);
}

}  // namespace kentra
