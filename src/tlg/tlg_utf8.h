/*
** tlg_utf8.h: the one strict UTF-8 decoder of the codec (provider-id
** hashing, UTF-8 -> UTF-16 in the builder, JSON output of 8-bit text).
*/
#ifndef TLG_UTF8_H
#define TLG_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode the code point at s (n > 0 bytes available). Strict: no overlong
** forms, no surrogates, nothing above U+10FFFF. Returns its byte length
** (1..4) with *cp set, or 0 when the bytes are not valid UTF-8. */
static inline size_t tlg_utf8_next(const uint8_t *s, size_t n, uint32_t *cp) {
  static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
  uint8_t c = s[0];
  size_t len;
  uint32_t v;
  if (c < 0x80) { *cp = c; return 1; }
  if ((c & 0xE0) == 0xC0) { len = 2; v = c & 0x1F; }
  else if ((c & 0xF0) == 0xE0) { len = 3; v = c & 0x0F; }
  else if ((c & 0xF8) == 0xF0) { len = 4; v = c & 0x07; }
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = v << 6 | (s[i] & 0x3F);
  }
  if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

#endif
