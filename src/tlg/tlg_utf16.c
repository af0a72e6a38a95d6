/*
** tlg_utf16.c: UTF-16LE <-> UTF-8 under the one policy of tlg_utf16.h.
*/
#include <string.h>

#include "tlg_le.h"
#include "tlg_utf16.h"
#include "tlg_utf8.h"

static int is_high(uint32_t u) { return u >= 0xD800 && u < 0xDC00; }
static int is_low(uint32_t u) { return u >= 0xDC00 && u < 0xE000; }

size_t tlg_utf16_next(const uint8_t *p, size_t n, uint32_t *cp) {
  if (n < 2) {
    *cp = TLG_REPLACEMENT_CHAR;
    return 1;
  }
  uint32_t u = tlg_le16(p);
  if (is_high(u) && n >= 4 && is_low(tlg_le16(p + 2))) {
    *cp = 0x10000 + ((u - 0xD800) << 10) + (tlg_le16(p + 2) - 0xDC00);
    return 4;
  }
  *cp = (is_high(u) || is_low(u)) ? TLG_REPLACEMENT_CHAR : u;
  return 2;
}

size_t tlg_utf8_put(uint32_t cp, uint8_t out[4]) {
  if (cp < 0x80) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (uint8_t)(0xC0 | cp >> 6);
    out[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (uint8_t)(0xE0 | cp >> 12);
    out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (uint8_t)(0xF0 | cp >> 18);
  out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
  out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
  out[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

size_t tlg_utf16_put(uint32_t cp, uint8_t out[4]) {
  if (cp < 0x10000) {
    tlg_put16(out, (uint16_t)cp);
    return 2;
  }
  cp -= 0x10000;
  tlg_put16(out, (uint16_t)(0xD800 | cp >> 10));
  tlg_put16(out + 2, (uint16_t)(0xDC00 | (cp & 0x3FF)));
  return 4;
}

size_t tlg_utf16_to_utf8(const uint8_t *in, size_t units, char *out, size_t cap) {
  size_t o = 0, n = 2 * units;
  if (cap == 0) return 0;
  for (size_t i = 0; i + 1 < n;) {
    uint32_t cp;
    if (tlg_le16(in + i) == 0) break;
    i += tlg_utf16_next(in + i, n - i, &cp);
    uint8_t b[4];
    size_t k = tlg_utf8_put(cp, b);
    if (o + k > cap - 1) break;
    memcpy(out + o, b, k);
    o += k;
  }
  out[o] = '\0';
  return o;
}

long tlg_utf8_to_utf16(const char *s, size_t len, uint8_t *out, size_t cap_units, size_t *used) {
  const uint8_t *p = (const uint8_t *)s;
  size_t i = 0, n = 0;
  while (i < len) {
    uint32_t cp;
    size_t k = tlg_utf8_next(p + i, len - i, &cp);
    if (k == 0) return -1;
    size_t need = cp >= 0x10000 ? 2 : 1;
    if (n + need > cap_units) {
      if (!used) return -1;
      break;
    }
    n += tlg_utf16_put(cp, out + 2 * n) / 2;
    i += k;
  }
  if (used) *used = i;
  return (long)n;
}
