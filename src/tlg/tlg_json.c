/*
** tlg_json.c: the JSON writer (see tlg_json.h).
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlg_dtoa.h"
#include "tlg_json.h"
#include "tlg_utf8.h"

void tlg_json_flush(tlg_json *j) {
  if (j->n) j->o->write(j->o->ctx, j->buf, j->n);
  j->flushed += j->n;
  j->n = 0;
}

static void append(void *ctx, const char *s, size_t n) { tlg_json_raw(ctx, s, n); }

void tlg_json_sink(tlg_json *j, tlg_sink *out) {
  out->write = append;
  out->ctx = j;
}

void tlg_json_raw_slow(tlg_json *j, const char *s, size_t n) {
  tlg_json_flush(j);
  if (n > j->cap) {
    j->o->write(j->o->ctx, s, n);
    j->flushed += n;
    return;
  }
  memcpy(j->buf, s, n);
  j->n = n;
}

void tlg_json_printf(tlg_json *j, const char *fmt, ...) {
  char tmp[64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) tlg_json_raw(j, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void tlg_json_cp(tlg_json *j, uint32_t cp, int esc) {
  char b[4];
  if (esc && (cp < 0x20 || cp == '"' || cp == '\\')) {
    static const char short_esc[] = "btn\0fr";
    if (cp == '"' || cp == '\\') {
      tlg_json_char(j, '\\');
      tlg_json_char(j, (char)cp);
    } else if (cp >= 8 && cp <= 13 && short_esc[cp - 8]) {
      tlg_json_char(j, '\\');
      tlg_json_char(j, short_esc[cp - 8]);
    } else {
      tlg_json_printf(j, "\\u%04x", (unsigned)cp);
    }
  } else if (cp < 0x80) {
    tlg_json_char(j, (char)cp);
  } else if (cp < 0x800) {
    b[0] = (char)(0xC0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3F));
    tlg_json_raw(j, b, 2);
  } else if (cp < 0x10000) {
    b[0] = (char)(0xE0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    tlg_json_raw(j, b, 3);
  } else {
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    tlg_json_raw(j, b, 4);
  }
}

/* Windows-1252's 0x80..0x9F; the undefined five map to the C1 controls. */
static const uint16_t cp1252[32] = {
  0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030,
  0x160, 0x2039, 0x152, 0x8D, 0x17D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C,
  0x201D, 0x2022, 0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A, 0x153, 0x9D,
  0x17E, 0x178};

static uint32_t bad_byte(uint8_t c, int bad) {
  if (bad == TLG_JSON_REPLACE) return 0xFFFD;
  return c >= 0x80 && c < 0xA0 ? cp1252[c - 0x80] : c;
}

/* 1 for the bytes a JSON string carries as they are: printable ASCII but
** the quote and the backslash. */
static const uint8_t plain[256] = {
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static int plain8(uint64_t x) { return tlg_json_plain8(x); }

/* 4 bytes for plain8: the high half set to plain 'a's. */
static uint64_t load4(const char *s) {
  uint32_t v;
  memcpy(&v, s, 4);
  return v | 0x6161616100000000ull;
}

/* Copies the leading bytes of s (n of them) that go out as they are to o,
** which has room for n + 8; returns their count (n when all do). Blocks
** of 8 (or 4) bytes, the last one overlapping the one before it. */
static size_t copy_plain(char *o, const char *s, size_t n) {
  uint64_t x;
  size_t i = 0;
  if (n >= 8) {
    for (; i + 8 <= n; i += 8) {
      memcpy(&x, s + i, 8);
      if (!plain8(x)) return i;
      memcpy(o + i, &x, 8);
    }
    memcpy(&x, s + n - 8, 8);
    if (!plain8(x)) return i;
    memcpy(o + n - 8, &x, 8);
    return n;
  }
  if (n >= 4) {
    if (!plain8(load4(s)) || !plain8(load4(s + n - 4))) return 0;
    memcpy(o, s, 4);
    memcpy(o + n - 4, s + n - 4, 4);
    return n;
  }
  for (; i < n && plain[(uint8_t)s[i]]; i++) o[i] = s[i];
  return i;
}

/* The escapes and UTF-8 checks of s from byte i on, then the closing quote. */
static void string_rest(tlg_json *j, const char *s, size_t i, size_t n, int bad) {
  const uint8_t *p = (const uint8_t *)s;
  while (i < n) {
    size_t run = i; /* plain ASCII goes out in one piece */
    while (run < n && plain[p[run]]) run++;
    if (run > i) {
      tlg_json_raw(j, s + i, run - i);
      i = run;
      if (i == n) break;
    }
    uint32_t cp;
    size_t len = tlg_utf8_next(p + i, n - i, &cp);
    if (len == 0) {
      cp = bad_byte(p[i], bad);
      len = 1;
    }
    tlg_json_cp(j, cp, 1);
    i += len;
  }
  tlg_json_char(j, '"');
}

void tlg_json_string(tlg_json *j, const char *s, size_t n, int bad) {
  size_t i = 0;
  if (n + 10 <= j->cap - j->n) { /* the common case: no escapes, all ASCII */
    char *o = j->buf + j->n;
    o[0] = '"';
    i = copy_plain(o + 1, s, n);
    j->n += i + 1;
    if (i == n) {
      o[n + 1] = '"';
      j->n++;
      return;
    }
  } else {
    tlg_json_char(j, '"');
  }
  string_rest(j, s, i, n, bad);
}

/* Two decimal digits of each 0..99, for tlg_u64_text. */
static const char digit_pairs[201] =
  "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
  "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
  "8081828384858687888990919293949596979899";

size_t tlg_u64_text(char *end, uint64_t v) {
  char *p = end;
  while (v >= 100) {
    unsigned r = (unsigned)(v % 100);
    v /= 100;
    p -= 2;
    memcpy(p, digit_pairs + 2 * r, 2);
  }
  if (v >= 10) {
    p -= 2;
    memcpy(p, digit_pairs + 2 * v, 2);
  } else {
    *--p = (char)('0' + v);
  }
  return (size_t)(end - p);
}

char *tlg_u32_at(char *o, uint32_t v) {
  unsigned n = v < 100 ? 1 + (v >= 10) : v < 10000 ? 3 + (v >= 1000) :
               v < 1000000 ? 5 + (v >= 100000) : v < 100000000 ? 7 + (v >= 10000000) :
               9 + (v >= 1000000000);
  char *p = o + n;
  for (; v >= 100; v /= 100) memcpy(p -= 2, digit_pairs + 2 * (v % 100), 2);
  if (v >= 10) memcpy(p - 2, digit_pairs + 2 * v, 2);
  else p[-1] = (char)('0' + v);
  return o + n;
}

/* Decimal digits of -mag (neg) or mag, quoted when beyond 2^53; without
** printf, which costs more than the rest of a small event's line. */
static void put_int(tlg_json *j, uint64_t mag, int neg) {
  char t[24], *p = t + sizeof t;
  int quote = mag > TLG_JSON_MAX_SAFE_INT;
  if (quote) *--p = '"';
  p -= tlg_u64_text(p, mag);
  if (neg) *--p = '-';
  if (quote) *--p = '"';
  tlg_json_raw(j, p, (size_t)(t + sizeof t - p));
}

void tlg_json_u64_(tlg_json *j, uint64_t v) {
  if (v >> 32) {
    put_int(j, v, 0);
    return;
  }
  char *o = tlg_json_room(j, 10);
  j->n = (size_t)(tlg_u32_at(o, (uint32_t)v) - j->buf);
}

void tlg_json_i64(tlg_json *j, int64_t v) {
  put_int(j, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

void tlg_json_double(tlg_json *j, double v, int f32, int quote_special) {
  if (isnan(v) || isinf(v)) {
    const char *s = isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
    if (quote_special) tlg_json_char(j, '"');
    tlg_json_cstr(j, s);
    if (quote_special) tlg_json_char(j, '"');
    return;
  }
  /* a double that is a whole number below 10^15: its digits are what %.15g
  ** would print (no exponent below 10^precision), without printf */
  if (!f32 && fabs(v) < 1e15 && v == (double)(int64_t)v && (v != 0 || !signbit(v))) {
    tlg_json_i64(j, (int64_t)v);
    return;
  }
  char *o = tlg_json_room(j, TLG_DTOA_SIZE); /* the text goes straight in */
  j->n += tlg_dtoa(o, v, f32);
}

void tlg_json_hex(tlg_json *j, const uint8_t *p, size_t n) {
  static const char hx[] = "0123456789abcdef";
  tlg_json_char(j, '"');
  for (size_t i = 0; i < n; i++) {
    tlg_json_char(j, hx[p[i] >> 4]);
    tlg_json_char(j, hx[p[i] & 15]);
  }
  tlg_json_char(j, '"');
}
