/*
** tlg_build_value.c: variable-size items (strings, counted values, GUID,
** SYSTEMTIME, SID) and UTF-8 -> UTF-16LE conversion (spec §2.4, §3.5).
*/
#include <string.h>

#include "tlg_build_int.h"
#include "tlg_le.h"
#include "tlg_utf16.h"
#include "tlg_utf8.h"

/* Offset of the first 00 00 pair at an even offset, or n (spec §8.4). */
static size_t utf16_cut(const uint8_t *p, size_t n) {
  for (size_t i = 0; i + 1 < n; i += 2)
    if (p[i] == 0 && p[i + 1] == 0) return i;
  return n;
}

static size_t ansi_cut(const uint8_t *p, size_t n) {
  const uint8_t *z = n ? memchr(p, 0, n) : NULL;
  return z ? (size_t)(z - p) : n;
}

static int counted_size(size_t n, size_t *size) {
  if (n > 0xFFFF) return TLG_E_COUNTED;
  *size = n + 2;
  return TLG_OK;
}

int tlgb_bytes_size(unsigned intype, const uint8_t *p, size_t n, size_t *size) {
  switch (intype) {
  case TLG_IN_ANSISTRING:
    *size = ansi_cut(p, n) + 1;
    return TLG_OK;
  case TLG_IN_UNICODESTRING:
    if (n % 2) return TLG_E_UTF16_ODD;
    *size = utf16_cut(p, n) + 2;
    return TLG_OK;
  case TLG_IN_COUNTEDSTRING:
    if (n % 2) return TLG_E_UTF16_ODD;
    return counted_size(n, size);
  case TLG_IN_COUNTEDANSISTRING: case TLG_IN_COUNTEDBINARY: case TLG_IN_BINARY:
    return counted_size(n, size);
  case TLG_IN_GUID:
    *size = 16;
    return n == 16 ? TLG_OK : TLG_E_GUID_SIZE;
  case TLG_IN_SYSTEMTIME:
    *size = 16;
    return n == 16 ? TLG_OK : TLG_E_SYSTEMTIME_SIZE;
  case TLG_IN_SID:
    /* byte 1 is SubAuthorityCount */
    *size = n;
    return n >= 2 && n == 8 + 4 * (size_t)p[1] ? TLG_OK : TLG_E_SID_SIZE;
  default:
    return TLG_E_ARG;
  }
}

void tlgb_bytes_write(uint8_t *dst, unsigned intype, const uint8_t *p, size_t n,
                      size_t size) {
  switch (intype) {
  case TLG_IN_ANSISTRING:
    if (size > 1) memcpy(dst, p, size - 1);
    dst[size - 1] = 0;
    break;
  case TLG_IN_UNICODESTRING:
    if (size > 2) memcpy(dst, p, size - 2);
    dst[size - 2] = dst[size - 1] = 0;
    break;
  case TLG_IN_GUID: case TLG_IN_SYSTEMTIME: case TLG_IN_SID:
    memcpy(dst, p, n);
    break;
  default: /* counted forms */
    tlgb_put_u16(dst, n);
    if (n) memcpy(dst + 2, p, n);
    break;
  }
}

/* --- UTF-8 -> UTF-16LE ---------------------------------------------------- */


/* UTF-16 code units of the first `upto` bytes of s; all n bytes are
** validated. Returns TLG_OK or TLG_E_UTF8. */
static int utf16_units(const uint8_t *s, size_t n, size_t upto, size_t *units) {
  size_t u = 0;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t len = tlg_utf8_next(s + i, n - i, &cp);
    if (len == 0) return TLG_E_UTF8;
    if (i < upto) u += cp >= 0x10000 ? 2 : 1;
    i += len;
  }
  *units = u;
  return TLG_OK;
}

int tlgb_str16_size(unsigned intype, const char *s, size_t n, size_t *size) {
  const uint8_t *p = (const uint8_t *)s;
  size_t units;
  if (intype == TLG_IN_UNICODESTRING) {
    /* U+0000 is the byte 00 in UTF-8 and nowhere else */
    int st = utf16_units(p, n, ansi_cut(p, n), &units);
    if (st == TLG_OK) *size = 2 * units + 2;
    return st;
  }
  if (intype != TLG_IN_COUNTEDSTRING) return TLG_E_ARG;
  int st = utf16_units(p, n, n, &units);
  if (st != TLG_OK) return st;
  if (units > 0xFFFF / 2) return TLG_E_COUNTED;
  *size = 2 * units + 2;
  return TLG_OK;
}


/* Precondition: tlgb_str16_size accepted (intype, s, n) and gave `size`. */
void tlgb_str16_write(uint8_t *dst, unsigned intype, const char *s, size_t n, size_t size) {
  const uint8_t *p = (const uint8_t *)s;
  uint8_t *out = dst;
  if (intype == TLG_IN_COUNTEDSTRING) {
    tlg_put16(out, (uint16_t)(size - 2));
    out += 2;
  }
  else n = ansi_cut(p, n);
  for (size_t i = 0; i < n;) {
    uint32_t cp = 0; /* set by tlg_utf8_next: the input was validated */
    i += tlg_utf8_next(p + i, n - i, &cp);
    out += tlg_utf16_put(cp, out);
  }
  if (intype == TLG_IN_UNICODESTRING) tlg_put16(out, 0);
}

/* --- scalar adds ------------------------------------------------------- */

/* Shared tail of the byte and text adds: limits, metadata, then the item. */
static int add_item(tlg_builder *b, const tlg_build_field *f, unsigned intype, size_t size,
                    const void *p, size_t n, int text) {
  unsigned cost = intype == TLG_IN_BINARY ? 2 : 1;
  int st = tlgb_field(b, f, (uint8_t)intype, cost, size);
  if (st != TLG_OK) return st;
  uint8_t *dst = b->data + b->data_len;
  if (text) tlgb_str16_write(dst, intype, p, n, size);
  else tlgb_bytes_write(dst, intype, p, n, size);
  b->data_len += size;
  return TLG_OK;
}

int tlg_build_add_bytes(tlg_builder *b, const tlg_build_field *f, unsigned intype,
                        const void *p, size_t n) {
  size_t size = 0;
  if (!b->ready) return TLG_E_STATE;
  int st = tlgb_bytes_size(intype, p, n, &size);
  if (st != TLG_OK) return tlgb_value_error(f, st);
  return add_item(b, f, intype, size, p, n, 0);
}

int tlg_build_add_str16(tlg_builder *b, const tlg_build_field *f, unsigned intype,
                        const char *s, size_t n) {
  size_t size = 0;
  if (!b->ready) return TLG_E_STATE;
  int st = tlgb_str16_size(intype, s, n, &size);
  if (st != TLG_OK) return tlgb_value_error(f, st);
  return add_item(b, f, intype, size, s, n, 1);
}
