/*
** tlg_json.h: the one JSON writer of etwlua. Events (ev:json()), the
** TraceLogging field formatter and the command line (etw.json_encode) all
** write through it, so one set of rules holds everywhere (README, "Events"):
**   - integers are numbers when |v| <= 2^53, else decimal strings (a JSON
**     reader that uses doubles would lose bits);
**   - floats are the shortest text that reads back to the same value; NaN
**     and infinities are the strings "nan", "inf", "-inf";
**   - strings are always valid UTF-8: ", \ and controls are escaped; bytes
**     that are not valid UTF-8 are read as Windows-1252 (8-bit event text)
**     or become U+FFFD (names and other Lua strings), as the caller asks.
** Pure C: output goes to a caller-supplied sink through a small buffer; no
** allocation. Structure (commas, brackets) is the caller's.
*/
#ifndef TLG_JSON_H
#define TLG_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Output callback; `write` may be called many times with short pieces. */
typedef struct tlg_sink {
  void (*write)(void *ctx, const char *s, size_t n);
  void *ctx;
} tlg_sink;

/* A buffered writer over a sink; call tlg_json_flush before reading the
** sink's output. The buffer is its own (tlg_json_init) or the caller's
** (tlg_json_init_buf: a large one, so that a whole line goes out in one
** write). Pieces that fit are copied inline: most are a few bytes. */
typedef struct tlg_json {
  const tlg_sink *o;
  char *buf;
  size_t n, cap;      /* cap >= 64 */
  uint64_t flushed;   /* bytes that went to the sink so far */
  char own[512];
} tlg_json;

/* What a string's bytes that are not valid UTF-8 become. */
enum tlg_json_bad {
  TLG_JSON_CP1252 = 0, /* each read as Windows-1252 (ANSI event text) */
  TLG_JSON_REPLACE = 1 /* each becomes U+FFFD */
};

#define TLG_JSON_MAX_SAFE_INT (1ull << 53)

static inline void tlg_json_init(tlg_json *j, const tlg_sink *o) {
  j->o = o;
  j->buf = j->own;
  j->cap = sizeof j->own;
  j->n = 0;
  j->flushed = 0;
}
/* Over the caller's buffer (cap > 0), which must outlive the writer. */
static inline void tlg_json_init_buf(tlg_json *j, const tlg_sink *o, char *buf, size_t cap) {
  j->o = o;
  j->buf = buf;
  j->cap = cap;
  j->n = 0;
  j->flushed = 0;
}
void tlg_json_flush(tlg_json *j);
/* Bytes written since init (flushed or not). */
static inline uint64_t tlg_json_tell(const tlg_json *j) { return j->flushed + j->n; }
/* A sink that appends to j (for code that writes to a sink). */
void tlg_json_sink(tlg_json *j, tlg_sink *out);

/* Raw text, copied as is (punctuation, literals, already-formed JSON). */
void tlg_json_raw_slow(tlg_json *j, const char *s, size_t n);
static inline void tlg_json_raw(tlg_json *j, const char *s, size_t n) {
  if (n <= j->cap - j->n) {
    memcpy(j->buf + j->n, s, n);
    j->n += n;
  } else {
    tlg_json_raw_slow(j, s, n);
  }
}
/* inline: the length of a literal is then known when compiling */
static inline void tlg_json_cstr(tlg_json *j, const char *s) { tlg_json_raw(j, s, strlen(s)); }
static inline void tlg_json_char(tlg_json *j, char c) {
  if (j->n == j->cap) tlg_json_flush(j);
  j->buf[j->n++] = c;
}
/* Room for n bytes at tlg_json_room(j, n) (n <= 64), to be filled and then
** counted with j->n += used. */
static inline char *tlg_json_room(tlg_json *j, size_t n) {
  if (n > j->cap - j->n) tlg_json_flush(j);
  return j->buf + j->n;
}
#if defined(__GNUC__)
void tlg_json_printf(tlg_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#else
void tlg_json_printf(tlg_json *j, const char *fmt, ...);
#endif

/* One code point as UTF-8; with `esc`, JSON-escaped (", \, controls). */
void tlg_json_cp(tlg_json *j, uint32_t cp, int esc);

/* The high bit of each of the 8 bytes of x (little-endian load) that
** needs an escape or a UTF-8 check: below 0x20, from 0x80, '"' or '\\'
** (bit tricks on 8 bytes at once). Exact up to the lowest flagged byte;
** above it a borrow may flag more. */
static inline uint64_t tlg_json_bad8(uint64_t x) {
  const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
  return (x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high;
}

/* 1 if none of the 8 bytes of x needs an escape or a UTF-8 check. */
static inline int tlg_json_plain8(uint64_t x) { return tlg_json_bad8(x) == 0; }

/* A quoted JSON string of 8-bit text; `bad` is a tlg_json_bad. */
void tlg_json_string(tlg_json *j, const char *p, size_t n, int bad);

/* The decimal digits of v, written backwards ending just before `end`
** (at most 20); returns their count. */
size_t tlg_u64_text(char *end, uint64_t v);
/* The decimal digits of v at o (at most 10); returns their end. */
char *tlg_u32_at(char *o, uint32_t v);

/* Integers: numbers when |v| <= 2^53, else quoted decimal. One digit (most
** header fields) inline. */
void tlg_json_u64_(tlg_json *j, uint64_t v);
static inline void tlg_json_u64(tlg_json *j, uint64_t v) {
  if (v < 10) tlg_json_char(j, (char)('0' + v));
  else tlg_json_u64_(j, v);
}
void tlg_json_i64(tlg_json *j, int64_t v);

/* A float (float32 precision when `f32`): shortest round-trip text, or
** "nan" / "inf" / "-inf" quoted when `quote_special` (JSON), bare if not
** (the one-line text form). */
void tlg_json_double(tlg_json *j, double v, int f32, int quote_special);

/* Bytes as a quoted lowercase hex string "0aff". */
void tlg_json_hex(tlg_json *j, const uint8_t *p, size_t n);

#endif
