/*
** tlg_format.c: JSON and text forms of decoded TraceLogging values (see
** tlg_format.h). Output is batched through a small buffer, then the sink.
*/
#include <string.h>

#include "tlg_format.h"
#include "tlg_utf16.h"
#include "tlg_utf8.h"
#include "tlg_guid.h"

typedef tlg_json wr;

/* ---- text ---- */

/* tlg_utf16.h's policy: unpaired surrogates and an odd last byte -> U+FFFD */
static void put_utf16(wr *w, const uint8_t *p, size_t n, int esc) {
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    i += tlg_utf16_next(p + i, n - i, &cp);
    tlg_json_cp(w, cp, esc);
  }
}


static void put_json_str8(wr *w, const uint8_t *p, size_t n) {
  tlg_json_string(w, (const char *)p, n, TLG_JSON_CP1252);
}

static void put_json_str16(wr *w, const uint8_t *p, size_t n) {
  tlg_json_char(w, '"');
  put_utf16(w, p, n, 1);
  tlg_json_char(w, '"');
}

/* ---- numbers ---- */

/* TEXT: plain decimal (printf's %llu / %lld), never quoted. */
static void put_u64(wr *w, uint64_t v, int mode) {
  char t[24];
  if (mode == TLG_FMT_JSON) {
    tlg_json_u64(w, v);
    return;
  }
  size_t n = tlg_u64_text(t + sizeof t, v);
  tlg_json_raw(w, t + sizeof t - n, n);
}

static void put_i64(wr *w, int64_t v, int mode) {
  if (mode == TLG_FMT_JSON) {
    tlg_json_i64(w, v);
    return;
  }
  if (v < 0) tlg_json_char(w, '-');
  put_u64(w, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, mode);
}

static void put_hex_bytes(wr *w, const uint8_t *p, size_t n, int mode) {
  if (mode == TLG_FMT_JSON) {
    tlg_json_hex(w, p, n);
    return;
  }
  static const char hx[] = "0123456789abcdef";
  tlg_json_raw(w, "0x", 2);
  for (size_t i = 0; i < n; i++) {
    tlg_json_char(w, hx[p[i] >> 4]);
    tlg_json_char(w, hx[p[i] & 15]);
  }
}

/* ---- times, GUID, SID ---- */

#define FT_UNIX_DAYS 134774           /* days from 1601-01-01 to 1970-01-01 */
#define FT_MAX 2650467743999999999LL  /* 9999-12-31T23:59:59.9999999Z */

/* The two decimal digits of each 0..99. */
static const char pairs[201] =
  "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
  "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
  "8081828384858687888990919293949596979899";

/* v as exactly n decimal digits (v < 10^n), zero-padded; returns the end.
** Two digits a step: a timestamp has 21 of them on every line. */
static char *put_digits(char *p, uint32_t v, int n) {
  for (int i = n - 2; i >= 0; i -= 2, v /= 100) memcpy(p + i, pairs + 2 * (v % 100), 2);
  if (n & 1) p[0] = (char)('0' + v % 10);
  return p + n;
}

/* "YYYY-MM-DDThh:mm:ss" of whole seconds since 1601 (within FT_MAX). */
static void date_text(char out[TLG_FT_DATE], int64_t secs) {
  int64_t z = secs / 86400 - FT_UNIX_DAYS + 719468, rem = secs % 86400;
  /* days to civil date (H. Hinnant's algorithm) */
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
  char *p = out;
  p = put_digits(p, (uint32_t)y, 4);
  *p++ = '-'; p = put_digits(p, (uint32_t)m, 2);
  *p++ = '-'; p = put_digits(p, (uint32_t)d, 2);
  *p++ = 'T'; p = put_digits(p, (uint32_t)(rem / 3600), 2);
  *p++ = ':'; p = put_digits(p, (uint32_t)(rem / 60 % 60), 2);
  *p++ = ':'; put_digits(p, (uint32_t)(rem % 60), 2);
}

/* "YYYY-MM-DDThh:mm:ss.fffffffZ", digits placed by hand: printf would cost
** more than the rest of the line (every event has a timestamp). With a
** cache, the date and time of day are made once per second, and a time
** within the cached second needs no division by 10^7. */
static void put_filetime_c(wr *w, int64_t ft, int mode, tlg_ft_cache *c) {
  if (ft < 0 || ft > FT_MAX) {
    put_i64(w, ft, mode);
    return;
  }
  char *t = tlg_json_room(w, 32), *p = t;
  int64_t frac;
  if (mode == TLG_FMT_JSON) *p++ = '"';
  /* secs = -1 (nothing cached) never matches: ft >= 0 here */
  if (c && (uint64_t)(ft - c->secs * 10000000) < 10000000) {
    frac = ft - c->secs * 10000000;
    memcpy(p, c->date, TLG_FT_DATE);
  } else {
    int64_t secs = ft / 10000000;
    frac = ft % 10000000;
    date_text(p, secs);
    if (c) {
      memcpy(c->date, p, TLG_FT_DATE);
      c->secs = secs;
    }
  }
  p += TLG_FT_DATE;
  uint32_t hi = (uint32_t)frac / 10000, lo = (uint32_t)frac % 10000; /* 3 + 4 digits */
  p[0] = '.';
  p[1] = (char)('0' + hi / 100);
  memcpy(p + 2, pairs + 2 * (hi % 100), 2);
  memcpy(p + 4, pairs + 2 * (lo / 100), 2);
  memcpy(p + 6, pairs + 2 * (lo % 100), 2);
  p[8] = 'Z';
  p += 9;
  if (mode == TLG_FMT_JSON) *p++ = '"';
  w->n += (size_t)(p - t);
}

static void put_filetime(wr *w, int64_t ft, int mode) { put_filetime_c(w, ft, mode, NULL); }

static void put_systemtime(wr *w, const uint8_t *p, int utc, int mode) {
  unsigned v[8];
  for (int i = 0; i < 8; i++) v[i] = (unsigned)tlg_get_le(p + 2 * i, 2);
  const char *q = mode == TLG_FMT_JSON ? "\"" : "";
  tlg_json_printf(w, "%s%04u-%02u-%02uT%02u:%02u:%02u.%03u%s%s", q, v[0], v[1], v[3], v[4],
       v[5], v[6], v[7], utc ? "Z" : "", q);
}

static void put_sid(wr *w, const uint8_t *p, size_t n) {
  if (n < 8 || n < 8 + 4u * p[1]) {
    tlg_json_cstr(w, "S-?");
    return;
  }
  uint64_t auth = 0;
  for (int i = 2; i < 8; i++) auth = (auth << 8) | p[i];
  tlg_json_printf(w, auth >> 32 ? "S-%u-0x%012llX" : "S-%u-%llu", p[0], (unsigned long long)auth);
  for (unsigned i = 0; i < p[1]; i++) tlg_json_printf(w, "-%u", (unsigned)tlg_get_le(p + 8 + 4 * i, 4));
}

static void put_guid(wr *w, const uint8_t *p, int mode) {
  tlg_guid g;
  char text[TLG_GUID_TEXT];
  memcpy(g.b, p, 16);
  tlg_guid_format(&g, text);
  if (mode == TLG_FMT_JSON) tlg_json_char(w, '"');
  tlg_json_raw(w, text, TLG_GUID_TEXT - 1);
  if (mode == TLG_FMT_JSON) tlg_json_char(w, '"');
}

/* ---- values ---- */

static void put_int(wr *w, const tlg_item *it, int is_signed, int mode) {
  unsigned n = it->value_len, t = it->field.in_type, out = it->field.out_type;
  uint64_t u = tlg_get_le(it->value, n);
  if (n == 1 && out == TLG_OUT_BOOLEAN) {
    tlg_json_cstr(w, u ? "true" : "false");
  } else if (mode == TLG_FMT_TEXT &&
             (out == TLG_OUT_HEX || t == TLG_IN_HEXINT32 || t == TLG_IN_HEXINT64)) {
    tlg_json_printf(w, "0x%llx", (unsigned long long)u);
  } else if (is_signed) {
    unsigned sh = 64 - 8 * n;
    put_i64(w, (int64_t)(u << sh) >> sh, mode);
  } else {
    put_u64(w, u, mode);
  }
}

static void put_value(wr *w, const tlg_item *it, int mode) {
  const uint8_t *v = it->value;
  size_t n = it->value_len;
  if (it->field.array == TLG_IN_CUSTOM) {
    put_hex_bytes(w, v, n, mode);
    return;
  }
  switch (it->field.in_type) {
  case TLG_IN_UNICODESTRING: case TLG_IN_COUNTEDSTRING:
    put_json_str16(w, v, n); break;
  case TLG_IN_ANSISTRING: case TLG_IN_COUNTEDANSISTRING:
    put_json_str8(w, v, n); break;
  case TLG_IN_INT8: case TLG_IN_INT16: case TLG_IN_INT32: case TLG_IN_INT64:
    put_int(w, it, 1, mode); break;
  case TLG_IN_FLOAT: {
    float f;
    memcpy(&f, v, 4);
    tlg_json_double(w, f, 1, mode == TLG_FMT_JSON);
    break;
  }
  case TLG_IN_DOUBLE: {
    double d;
    memcpy(&d, v, 8);
    tlg_json_double(w, d, 0, mode == TLG_FMT_JSON);
    break;
  }
  case TLG_IN_BOOL32: tlg_json_cstr(w, tlg_get_le(v, 4) ? "true" : "false"); break;
  case TLG_IN_BINARY: case TLG_IN_COUNTEDBINARY: put_hex_bytes(w, v, n, mode); break;
  case TLG_IN_GUID: put_guid(w, v, mode); break;
  case TLG_IN_FILETIME: put_filetime(w, (int64_t)tlg_get_le(v, 8), mode); break;
  case TLG_IN_SYSTEMTIME:
    put_systemtime(w, v, it->field.out_type == TLG_OUT_DATETIME_UTC, mode); break;
  case TLG_IN_SID:
    if (mode == TLG_FMT_JSON) tlg_json_char(w, '"');
    put_sid(w, v, n);
    if (mode == TLG_FMT_JSON) tlg_json_char(w, '"');
    break;
  default: put_int(w, it, 0, mode); break; /* unsigned, hexint, pointer */
  }
}

/* ---- public ---- */

#define WR(w, o) wr w; tlg_json_init(&w, (o))

void tlg_fmt_utf16(const tlg_sink *o, const uint8_t *p, size_t n) {
  WR(w, o);
  put_utf16(&w, p, n, 0);
  tlg_json_flush(&w);
}

void tlg_fmt_json_string(const tlg_sink *o, const char *p, size_t n) {
  WR(w, o);
  put_json_str8(&w, (const uint8_t *)p, n);
  tlg_json_flush(&w);
}

void tlg_fmt_sid(const tlg_sink *o, const uint8_t *p, size_t n) {
  WR(w, o);
  put_sid(&w, p, n);
  tlg_json_flush(&w);
}

void tlg_fmt_filetime(const tlg_sink *o, int64_t ft) {
  WR(w, o);
  put_filetime(&w, ft, TLG_FMT_TEXT);
  tlg_json_flush(&w);
}

void tlg_fmt_filetime_to(tlg_json *w, int64_t ft, int mode, tlg_ft_cache *c) {
  put_filetime_c(w, ft, mode, c);
}

void tlg_fmt_value(const tlg_sink *o, const tlg_item *it, int mode) {
  WR(w, o);
  put_value(&w, it, mode);
  tlg_json_flush(&w);
}

typedef struct level {
  char close, sep;
  uint8_t first;
} level;

static void put_key(wr *w, const tlg_item *it, level *lv, int mode) {
  if (!lv->first) tlg_json_char(w, lv->sep);
  lv->first = 0;
  if (it->in_array) return;
  if (mode == TLG_FMT_JSON) {
    put_json_str8(w, (const uint8_t *)it->field.name, it->field.name_len);
    tlg_json_char(w, ':');
  } else {
    tlg_json_raw(w, it->field.name, it->field.name_len);
    tlg_json_char(w, '=');
  }
}

int tlg_fmt_fields(const tlg_sink *o, tlg_decoder *d, int mode) {
  WR(w, o);
  int st = tlg_fmt_fields_to(&w, d, mode);
  tlg_json_flush(&w);
  return st;
}

/* ---- flat events: fields straight from the bytes ----
** Most events are a list of scalar fields. For those, the metadata and data
** are read here in one pass (no items, no frames) and written as they come;
** anything else (an array, a struct, a custom field, any error) rewinds the
** output and goes through the decoder, which says what is wrong exactly as
** before. The rewind needs the output still in the buffer: each byte of
** input makes at most 6 of text (a \u00XX escape; "false" for an 8-bit
** boolean), so 8 per byte and some braces always fit before any flush. */

/* The bound leaves at least 2 bytes per input byte and 64 more unused, so
** a copy of 16 bytes where fewer count stays inside it at any point. */
static size_t flat_bound(const tlg_decoder *d) {
  return 8 * ((size_t)d->meta_len + d->data_len) + 64;
}

/* Bytes of a field name: 0 its end (NUL), 1 plain text, 2 a JSON escape or
** a UTF-8 check. */
static const uint8_t name_class[256] = {
  0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* The NUL that ends the text at p (a field's name, an 8-bit string's
** value), or len when there is none. *plain is 1 when the text up to it
** needs no JSON escapes. */
static uint32_t scan_nul(const uint8_t *m, uint32_t len, uint32_t p, int *plain) {
  /* 8 bytes at a time while they fit: the lowest byte flagged by the bit
  ** tricks (below 0x20, from 0x80, '"' or '\\') is exact; when it is the
  ** NUL, the name is plain up to it */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const uint64_t ones = 0x0101010101010101ull;
  for (uint32_t q = p; len - q >= 8; q += 8) {
    uint64_t x;
    memcpy(&x, m + q, 8);
    uint64_t bad = tlg_json_bad8(x);
    if (!bad) continue;
    uint64_t first = bad & (0 - bad);      /* bit 8k+7 of the first flagged byte k */
    if (!(((x - ones) & ~x) & first)) break; /* not a NUL: the bytewise way */
    *plain = 1;
    /* k from the bit: 2^(8k) times bytes 7..0 puts k in the top byte */
    return q + (uint32_t)(((first >> 7) * 0x0001020304050607ull) >> 56);
  }
#endif
  unsigned k = 1;
  *plain = 1;
  for (; p < len && (k = name_class[m[p]]) != 0; p++)
    if (k == 2) *plain = 0;
  return p;
}

/* The end of a field's name (its NUL) from p; 0 when there is none. */
static uint32_t flat_name(const uint8_t *m, uint32_t len, uint32_t p, int *plain) {
  uint32_t end = scan_nul(m, len, p, plain);
  return end < len ? end : 0;
}

/* After the InType byte `in` at p: the OutType byte and tag, if chained, into
** f; the position after them, or 0 when the generic decoder should look. */
static uint32_t flat_types(const uint8_t *m, uint32_t len, uint32_t p, uint8_t in, tlg_field *f) {
  f->in_type = in & TLG_IN_TYPE_MASK;
  f->array = in & TLG_IN_CUSTOM;
  f->out_type = 0;
  if (f->array || f->in_type == TLG_IN_NULL || f->in_type == TLG_IN_STRUCT ||
      f->in_type > TLG_IN_COUNTEDBINARY)
    return 0;
  if (!(in & TLG_IN_CHAIN)) return p;
  if (p >= len) return 0;
  uint8_t out = m[p++];
  f->out_type = out & TLG_OUT_TYPE_MASK;
  if (!(out & TLG_OUT_CHAIN)) return p;
  for (unsigned i = 0; i < 4; i++) { /* the field tag: at most 4 chained bytes */
    if (p >= len) return 0;
    if (!(m[p++] & 0x80)) return p;
  }
  return 0;
}

/* Where the text before each value lies in the output (for the cache). */
typedef struct flat_keys {
  size_t start[TLG_SHAPE_FIELDS], end[TLG_SHAPE_FIELDS];
} flat_keys;

/* The fields by scanning their metadata: the count, or -1 for the generic
** way. Notes where each key's text went while they fit in k. */
static long flat_scan(tlg_json *w, tlg_decoder *d, int mode, tlg_item *it, uint32_t *dpp,
                      flat_keys *k) {
  const uint8_t *m = d->meta;
  const uint32_t ml = d->meta_len;
  uint32_t p = d->mpos, dp = 0, count = 0;
  int json = mode == TLG_FMT_JSON;
  while (p < ml) {
    int plain;
    uint32_t name = p, end = flat_name(m, ml, p, &plain), off, len, raw;
    if (!end || end + 1 >= ml) return -1;
    p = flat_types(m, ml, end + 2, m[end + 1], &it->field);
    if (!p || tlg_value_size(&it->field, d->data + dp, d->data_len - dp, &off, &len, &raw) != TLG_OK)
      return -1;
    it->value = d->data + dp + off;
    it->value_len = len;
    dp += raw;
    if (count < TLG_SHAPE_FIELDS) k->start[count] = w->n;
    if (count) tlg_json_char(w, json ? ',' : ' ');
    if (!json || plain) {
      if (json) tlg_json_char(w, '"');
      tlg_json_raw(w, (const char *)m + name, end - name);
      tlg_json_raw(w, json ? "\":" : "=", json ? 2 : 1);
    } else {
      put_json_str8(w, m + name, end - name);
      tlg_json_char(w, ':');
    }
    if (count < TLG_SHAPE_FIELDS) k->end[count] = w->n;
    count++;
    put_value(w, it, mode);
  }
  *dpp = dp;
  return count;
}

/* How a cached field's value is written (tlg_shape_cache.f[].kind): the
** values put_value would write as a plain integer, a boolean, a float or
** an 8-bit string (NUL-ended or counted), straight from the bytes;
** FK_VALUE: through put_value. */
enum { FK_VALUE = 0, FK_INT, FK_UINT, FK_BOOL, FK_F32, FK_F64, FK_STR8, FK_CSTR8 };

/* The kind and the fixed size of values of in-type `in`, OutType `out`, as
** put_value and put_int write them in `mode`. */
static uint8_t field_kind(unsigned in, unsigned out, int mode, uint8_t *size) {
  static const uint8_t sizes[TLG_IN_COUNTEDBINARY + 1] = {
    [TLG_IN_INT8] = 1, [TLG_IN_UINT8] = 1, [TLG_IN_INT16] = 2, [TLG_IN_UINT16] = 2,
    [TLG_IN_INT32] = 4, [TLG_IN_UINT32] = 4, [TLG_IN_HEXINT32] = 4, [TLG_IN_BOOL32] = 4,
    [TLG_IN_FLOAT] = 4, [TLG_IN_INT64] = 8, [TLG_IN_UINT64] = 8, [TLG_IN_HEXINT64] = 8,
    [TLG_IN_POINTER] = 8, [TLG_IN_DOUBLE] = 8};
  int is_signed = 0;
  *size = in < sizeof sizes ? sizes[in] : 0;
  switch (in) {
  case TLG_IN_ANSISTRING: return FK_STR8;
  case TLG_IN_COUNTEDANSISTRING: return FK_CSTR8;
  case TLG_IN_FLOAT: return FK_F32;
  case TLG_IN_DOUBLE: return FK_F64;
  case TLG_IN_BOOL32: return FK_BOOL;
  case TLG_IN_INT8: case TLG_IN_INT16: case TLG_IN_INT32: case TLG_IN_INT64:
    is_signed = 1;
    /* fall through */
  case TLG_IN_UINT8: case TLG_IN_UINT16: case TLG_IN_UINT32: case TLG_IN_UINT64:
  case TLG_IN_POINTER: case TLG_IN_HEXINT32: case TLG_IN_HEXINT64:
    if (*size == 1 && out == TLG_OUT_BOOLEAN) return FK_BOOL;
    if (mode == TLG_FMT_TEXT &&
        (out == TLG_OUT_HEX || in == TLG_IN_HEXINT32 || in == TLG_IN_HEXINT64))
      return FK_VALUE; /* 0x... */
    return is_signed ? FK_INT : FK_UINT;
  default:
    *size = 0;
    return FK_VALUE;
  }
}

/* A fixed-size little-endian value of n (1, 2, 4 or 8) bytes. */
static uint64_t load_n(const uint8_t *v, unsigned n) {
  switch (n) {
  case 1: return v[0];
  case 2: return tlg_le16(v);
  case 4: return tlg_le32(v);
  default: return tlg_le64(v);
  }
}

/* An integer value of the straight way; magnitudes of 32 bits inline (the
** room is there: see flat_bound), the rest as put_i64 / put_u64 write them. */
static void flat_int(wr *w, uint64_t u, unsigned n, int is_signed, int mode) {
  uint64_t mag = u;
  int neg = 0;
  if (is_signed) {
    unsigned sh = 64 - 8 * n;
    int64_t v = (int64_t)(u << sh) >> sh;
    neg = v < 0;
    mag = neg ? 0 - (uint64_t)v : (uint64_t)v;
  }
  if (mag >> 32) {
    if (is_signed) put_i64(w, neg ? (int64_t)(0 - mag) : (int64_t)mag, mode);
    else put_u64(w, mag, mode);
    return;
  }
  char *o = w->buf + w->n;
  *o = '-';
  w->n = (size_t)(tlg_u32_at(o + neg, (uint32_t)mag) - w->buf);
}

/* An 8-bit string from p: its bytes up to the NUL; 0 when there is none. */
static int flat_str8(wr *w, const uint8_t *data, uint32_t len, uint32_t *dp) {
  int plain;
  uint32_t p = *dp, end = scan_nul(data, len, p, &plain);
  if (end == len) return 0;
  if (plain) {
    char *o = w->buf + w->n;
    o[0] = '"';
    memcpy(o + 1, data + p, end - p);
    o[end - p + 1] = '"';
    w->n += end - p + 2;
  } else {
    put_json_str8(w, data + p, end - p);
  }
  *dp = end + 1;
  return 1;
}

/* The n bytes at s as a JSON string (room: see flat_bound); strings of 8
** to 16 plain bytes, the most common, as two overlapping 8-byte words. */
static void flat_text(wr *w, const uint8_t *s, uint32_t n) {
  uint64_t x, y;
  if (n >= 8 && n <= 16) {
    memcpy(&x, s, 8);
    memcpy(&y, s + n - 8, 8);
    if (tlg_json_plain8(x) && tlg_json_plain8(y)) {
      char *o = w->buf + w->n;
      o[0] = '"';
      memcpy(o + 1, &x, 8);
      memcpy(o + 1 + n - 8, &y, 8);
      o[n + 1] = '"';
      w->n += n + 2;
      return;
    }
  }
  put_json_str8(w, s, n);
}

/* One value of kind k (not FK_VALUE) at data + *dp; 0 when it is cut. */
static int flat_kind(wr *w, unsigned k, unsigned size, const uint8_t *data, uint32_t len,
                     uint32_t *dp, int mode) {
  const uint8_t *v = data + *dp;
  if (k == FK_STR8) return flat_str8(w, data, len, dp);
  if (k == FK_CSTR8) { /* a 16-bit count, then the bytes */
    uint32_t n;
    if (len - *dp < 2 || len - *dp - 2 < (n = tlg_le16(v))) return 0;
    flat_text(w, v + 2, n);
    *dp += 2 + n;
    return 1;
  }
  if (len - *dp < size) return 0;
  *dp += size;
  switch (k) {
  case FK_INT: flat_int(w, load_n(v, size), size, 1, mode); break;
  case FK_UINT: flat_int(w, load_n(v, size), size, 0, mode); break;
  case FK_BOOL:
    if (load_n(v, size)) tlg_json_raw(w, "true", 4);
    else tlg_json_raw(w, "false", 5);
    break;
  case FK_F32: {
    float f;
    memcpy(&f, v, 4);
    tlg_json_double(w, f, 1, mode == TLG_FMT_JSON);
    break;
  }
  default: {
    double x;
    memcpy(&x, v, 8);
    tlg_json_double(w, x, 0, mode == TLG_FMT_JSON);
    break;
  }
  }
  return 1;
}

/* The same from the cache's shape (its metadata bytes are the event's):
** the keys' text copied, each value by its kind. */
static long flat_cached(tlg_json *w, tlg_decoder *d, int mode, tlg_item *it, uint32_t *dpp,
                        const tlg_shape_cache *c) {
  uint32_t dp = 0, off, len, raw;
  size_t from = 0;
  for (unsigned i = 0; i < c->nfields; i++) {
    size_t kn = c->f[i].key_end - from;
    /* room: see flat_bound, whose slack also takes a short key's 16 bytes */
    if (kn <= 16 && from + 16 <= sizeof c->keys) memcpy(w->buf + w->n, c->keys + from, 16);
    else memcpy(w->buf + w->n, c->keys + from, kn);
    w->n += kn;
    from = c->f[i].key_end;
    if (c->f[i].kind != FK_VALUE) {
      if (!flat_kind(w, c->f[i].kind, c->f[i].size, d->data, d->data_len, &dp, mode)) return -1;
      continue;
    }
    it->field.in_type = c->f[i].in_type;
    it->field.out_type = c->f[i].out_type;
    if (tlg_value_size(&it->field, d->data + dp, d->data_len - dp, &off, &len, &raw) != TLG_OK)
      return -1;
    it->value = d->data + dp + off;
    it->value_len = len;
    dp += raw;
    put_value(w, it, mode);
  }
  *dpp = dp;
  return c->nfields;
}

static int cache_hit(const tlg_shape_cache *c, const tlg_decoder *d, int mode) {
  uint32_t n = d->meta_len - d->mpos;
  return c && c->meta_len && c->meta_len == n && c->mode == mode &&
         !memcmp(c->meta, d->meta + d->mpos, n);
}

/* Keeps the shape just written (when it fits) for the next events. */
static void cache_fill(tlg_shape_cache *c, const tlg_json *w, const tlg_decoder *d, int mode,
                       long count, const flat_keys *k) {
  uint32_t n = d->meta_len - d->mpos;
  size_t used = 0;
  c->meta_len = 0;
  if (n == 0 || n > TLG_SHAPE_META || count > TLG_SHAPE_FIELDS) return;
  for (long i = 0; i < count; i++) {
    size_t kn = k->end[i] - k->start[i];
    if (kn > sizeof c->keys - used) return;
    memcpy(c->keys + used, w->buf + k->start[i], kn);
    used += kn;
    c->f[i].key_end = (uint16_t)used;
  }
  /* the types again, from the metadata (flat_scan kept only the last) */
  const uint8_t *m = d->meta;
  uint32_t p = d->mpos;
  for (long i = 0; i < count; i++) {
    int plain;
    tlg_field f;
    uint32_t end = flat_name(m, d->meta_len, p, &plain);
    p = flat_types(m, d->meta_len, end + 2, m[end + 1], &f);
    c->f[i].in_type = f.in_type;
    c->f[i].out_type = f.out_type;
    c->f[i].kind = field_kind(f.in_type, f.out_type, mode, &c->f[i].size);
  }
  memcpy(c->meta, d->meta + d->mpos, n);
  c->nfields = (uint8_t)count;
  c->mode = (uint8_t)mode;
  c->meta_len = n;
}

int tlg_fmt_fields_flat_c(tlg_json *w, tlg_decoder *d, int mode, tlg_shape_cache *c) {
  if (d->done || d->nframes || d->err.status != TLG_OK || d->mpos != d->fields_pos || d->dpos)
    return 0;
  size_t bound = flat_bound(d);
  if (bound > w->cap) return 0;
  if (bound > w->cap - w->n) tlg_json_flush(w);
  const size_t mark = w->n;
  uint32_t dp = 0;
  int json = mode == TLG_FMT_JSON, hit = cache_hit(c, d, mode);
  long count;
  tlg_item it;
  flat_keys k;
  memset(&it, 0, sizeof it);
  it.kind = TLG_ITEM_VALUE;
  if (json) tlg_json_char(w, '{');
  count = hit ? flat_cached(w, d, mode, &it, &dp, c) : flat_scan(w, d, mode, &it, &dp, &k);
  if (count < 0 || dp != d->data_len || d->steps + (uint32_t)count + 1 > d->step_limit) {
    w->n = mark;
    return 0;
  }
  if (c && !hit) cache_fill(c, w, d, mode, count, &k);
  if (json) tlg_json_char(w, '}');
  d->mpos = d->meta_len;
  d->dpos = dp;
  d->next_index += (uint32_t)count;
  d->steps += (uint32_t)count + 1;
  d->done = 1;
  return 1;
}

int tlg_fmt_fields_flat(tlg_json *w, tlg_decoder *d, int mode) {
  return tlg_fmt_fields_flat_c(w, d, mode, NULL);
}

int tlg_fmt_fields_to_c(tlg_json *w, tlg_decoder *d, int mode, tlg_shape_cache *c) {
  if (tlg_fmt_fields_flat_c(w, d, mode, c)) return TLG_OK;
  return tlg_fmt_fields_walk(w, d, mode);
}

int tlg_fmt_fields_to(tlg_json *w, tlg_decoder *d, int mode) {
  return tlg_fmt_fields_to_c(w, d, mode, NULL);
}

int tlg_fmt_fields_walk(tlg_json *w, tlg_decoder *d, int mode) {
  level st[TLG_DECODE_MAX_FRAMES + 2];
  int top = 0, json = mode == TLG_FMT_JSON;
  tlg_item it;
  st[0] = (level){'}', json ? ',' : ' ', 1};
  if (json) tlg_json_char(w, '{');
  while (tlg_decode_next(d, &it)) {
    switch (it.kind) {
    case TLG_ITEM_VALUE:
      put_key(w, &it, &st[top], mode);
      put_value(w, &it, mode);
      break;
    case TLG_ITEM_ARRAY_BEGIN: case TLG_ITEM_STRUCT_BEGIN: {
      int arr = it.kind == TLG_ITEM_ARRAY_BEGIN;
      put_key(w, &it, &st[top], mode);
      tlg_json_char(w, arr ? '[' : '{');
      if (top < TLG_DECODE_MAX_FRAMES + 1) top++; /* the decoder caps frames */
      st[top] = (level){arr ? ']' : '}', arr || json ? ',' : ' ', 1};
      break;
    }
    default:
      tlg_json_char(w, st[top].close);
      if (top > 0) top--;
      break;
    }
  }
  for (; top > 0; top--) tlg_json_char(w, st[top].close);
  if (json) tlg_json_char(w, '}');
  return tlg_decode_status(d);
}

void tlg_fmt_error(const tlg_sink *o, const tlg_decoder *d) {
  const tlg_decode_err *e = tlg_decode_error(d);
  if (e->status == TLG_OK) return;
  WR(w, o);
  tlg_json_cstr(&w, tlg_status_name(e->status));
  tlg_json_cstr(&w, ": ");
  tlg_json_cstr(&w, tlg_strerror(e->status));
  if (e->status == TLG_E_TRAILING) {
    tlg_json_printf(&w, " (%u bytes at data offset %u)", (unsigned)(d->data_len - e->data_offset),
         (unsigned)e->data_offset);
  } else if (e->field_index >= 0) {
    tlg_json_printf(&w, " at field %ld", (long)e->field_index + 1);
    if (e->field_name) {
      tlg_json_cstr(&w, " (");
      put_json_str8(&w, (const uint8_t *)e->field_name, e->field_name_len);
      tlg_json_char(&w, ')');
    }
  } else if (d->fields_pos == 0) {
    tlg_json_cstr(&w, " in the event header");
  } else {
    tlg_json_printf(&w, " at data offset %u", (unsigned)e->data_offset);
  }
  tlg_json_flush(&w);
}
