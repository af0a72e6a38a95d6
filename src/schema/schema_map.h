/*
** schema_map.h: value maps carried in a compiled blob (man_compile.c puts
** each after its name): value -> text, for ev:mapped() and the text / JSON
** writers. Header-only so the engine's TDH formatter reads them without
** linking the manifest loader (and expat). Never trusts the blob: every
** offset is bounds-checked.
**
** schema_map_lookup: the name `value` maps to by the map whose name is at
** `map_off` of the blob (a property's MapNameOffset), UTF-8 into out: value
** maps the entry's text, bitmaps the texts of its set bits joined by "|"
** (bits no entry names are left out). Returns the length, 0 when the blob
** carries no such map or nothing matches.
*/
#ifndef SCHEMA_MAP_H
#define SCHEMA_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t schema_map_get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* UTF-16LE at off (NUL-terminated) appended to out as UTF-8; the new length */
static inline size_t schema_map_append16(const uint8_t *b, size_t len, uint32_t off, char *out, size_t n,
                       size_t cap) {
  for (size_t i = off; off && i + 1 < len; i += 2) {
    uint32_t c = (uint32_t)b[i] | (uint32_t)b[i + 1] << 8;
    if (!c) break;
    if (c >= 0xD800 && c < 0xDC00 && i + 3 < len) {
      uint32_t lo = (uint32_t)b[i + 2] | (uint32_t)b[i + 3] << 8;
      if (lo >= 0xDC00 && lo < 0xE000) { c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00); i += 2; }
      else c = 0xFFFD;
    } else if (c >= 0xD800 && c < 0xE000) c = 0xFFFD;
    char u[4];
    size_t k;
    if (c < 0x80) { u[0] = (char)c; k = 1; }
    else if (c < 0x800) { u[0] = (char)(0xC0 | c >> 6); u[1] = (char)(0x80 | (c & 0x3F)); k = 2; }
    else if (c < 0x10000) {
      u[0] = (char)(0xE0 | c >> 12); u[1] = (char)(0x80 | (c >> 6 & 0x3F));
      u[2] = (char)(0x80 | (c & 0x3F)); k = 3;
    } else {
      u[0] = (char)(0xF0 | c >> 18); u[1] = (char)(0x80 | (c >> 12 & 0x3F));
      u[2] = (char)(0x80 | (c >> 6 & 0x3F)); u[3] = (char)(0x80 | (c & 0x3F)); k = 4;
    }
    if (n + k >= cap) break;
    memcpy(out + n, u, k);
    n += k;
  }
  /* manifests often end map texts with blanks; the name is the text without them */
  while (n && out[n - 1] == ' ') n--;
  out[n] = 0;
  return n;
}

static inline size_t schema_map_lookup(const uint8_t *b, size_t len, uint32_t map_off, uint64_t value,
                         char *out, size_t cap) {
  if (!cap) return 0;
  out[0] = 0;
  if (!b || map_off == 0 || map_off >= len) return 0;
  size_t i = map_off;
  while (i + 1 < len && (b[i] | b[i + 1])) i += 2;     /* past the name */
  i += 2;
  i = (i + 3) & ~(size_t)3;
  if (i > len || len - i < 12 || memcmp(b + i, "EWLM", 4) != 0) return 0;
  uint32_t bitmap = schema_map_get32(b + i + 4) & 1, n = schema_map_get32(b + i + 8);
  if (n > (len - i - 12) / 8) return 0;
  size_t out_n = 0;
  for (uint32_t k = 0; k < n; k++) {
    const uint8_t *e = b + i + 12 + 8 * (size_t)k;
    uint32_t v = schema_map_get32(e), so = schema_map_get32(e + 4);
    int hit = bitmap ? v != 0 && (value & v) == v : value == v;
    if (!hit || so >= len) continue;
    if (bitmap && out_n && out_n + 1 < cap) out[out_n++] = '|';
    out_n = schema_map_append16(b, len, so, out, out_n, cap);
    if (!bitmap) break;
  }
  if (out_n && out[out_n - 1] == '|') out[--out_n] = 0;
  return out_n;
}

#endif
