/*
** tp_format.c: tracefs `format` text -> field table, and raw tracepoint
** samples -> TraceLogging fields (see tp_format.h).
*/
#include "tp_format.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ============================================================== text */

typedef struct span {
  const char *p;
  size_t n;
} span;

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }
static int is_ident(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static span trim(span s) {
  while (s.n && is_space(s.p[0])) { s.p++; s.n--; }
  while (s.n && is_space(s.p[s.n - 1])) s.n--;
  return s;
}

static int starts(span s, const char *lit) {
  size_t n = strlen(lit);
  return s.n >= n && memcmp(s.p, lit, n) == 0;
}

static int eq(span s, const char *lit) { return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0; }

/* Decimal number of the whole span, at most `max`; -1 otherwise. */
static long long num(span s, long long max) {
  s = trim(s);
  if (s.n == 0 || s.n > 19) return -1;
  long long v = 0;
  for (size_t i = 0; i < s.n; i++) {
    if (s.p[i] < '0' || s.p[i] > '9') return -1;
    v = v * 10 + (s.p[i] - '0');
    if (v > max) return -1;
  }
  return v;
}

static int copy(char *dst, size_t cap, span s) {
  if (s.n >= cap) return -1;
  memcpy(dst, s.p, s.n);
  dst[s.n] = 0;
  return 0;
}

static int fail(char *err, size_t cap, unsigned line, const char *fmt, ...) {
  if (err && cap) {
    int k = snprintf(err, cap, "format line %u: ", line);
    va_list ap;
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < cap) vsnprintf(err + k, cap - (size_t)k, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* ============================================================= types */

/* Bytes of one item of a C integer type name as tracefs spells them; 0 if
** unknown (the items are then decoded as bytes). */
static unsigned type_size(span t) {
  static const struct { const char *name; unsigned size; } tab[] = {
    {"char", 1}, {"unsigned char", 1}, {"signed char", 1}, {"u8", 1}, {"s8", 1},
    {"__u8", 1}, {"bool", 1}, {"short", 2}, {"unsigned short", 2}, {"u16", 2}, {"s16", 2},
    {"__u16", 2}, {"__be16", 2}, {"int", 4}, {"unsigned int", 4}, {"u32", 4}, {"s32", 4},
    {"__u32", 4}, {"__be32", 4}, {"pid_t", 4}, {"unsigned", 4}, {"long", 8},
    {"unsigned long", 8}, {"long long", 8}, {"unsigned long long", 8}, {"u64", 8},
    {"s64", 8}, {"__u64", 8}, {"size_t", 8}, {NULL, 0}};
  t = trim(t);
  if (starts(t, "const ")) { t.p += 6; t.n -= 6; t = trim(t); }
  for (int i = 0; tab[i].name; i++)
    if (eq(t, tab[i].name)) return tab[i].size;
  return 0;
}

static int is_char(span t) {
  t = trim(t);
  if (starts(t, "const ")) { t.p += 6; t.n -= 6; t = trim(t); }
  return eq(t, "char");
}

/* "TYPE NAME" or "TYPE NAME[N]": the name, the type, and the count text
** (count.p NULL without brackets). */
static int split_decl(span d, span *type, span *name, span *count) {
  d = trim(d);
  count->p = NULL;
  count->n = 0;
  if (d.n && d.p[d.n - 1] == ']') {
    size_t i = d.n - 1;
    while (i > 0 && d.p[i - 1] != '[') i--;
    if (i == 0) return -1;
    count->p = d.p + i;
    count->n = d.n - 1 - i;
    d.n = i - 1;
    d = trim(d);
  }
  size_t e = d.n;
  while (e > 0 && is_ident(d.p[e - 1])) e--;
  if (e == d.n) return -1;
  name->p = d.p + e;
  name->n = d.n - e;
  type->p = d.p;
  type->n = e;
  *type = trim(*type);
  return type->n ? 0 : -1;
}

/* Kind, item size and flags of a field from its declaration and size. */
static int classify(tpf_field *f, span type, span count, unsigned line, char *err, size_t cap) {
  int loc = starts(type, "__data_loc ") ? 11 : starts(type, "__rel_loc ") ? 10 : 0;
  if (loc) {
    f->rel = type.p[2] == 'r';
    span t = {type.p + loc, type.n - (size_t)loc};
    t = trim(t);
    if (t.n >= 2 && t.p[t.n - 2] == '[' && t.p[t.n - 1] == ']') t.n -= 2;
    if (f->size != 4) return fail(err, cap, line, "'%s' is a data location of size %u, not 4",
                                  f->name, f->size);
    f->kind = is_char(t) ? TPF_LOC_STR : TPF_LOC_ARRAY;
    f->elem = (uint8_t)type_size(t);
    return 0;
  }
  if (memchr(type.p, '*', type.n)) {
    f->is_ptr = 1;
    f->kind = (f->size == 4 || f->size == 8) && !count.p ? TPF_INT : TPF_BYTES;
    return 0;
  }
  if (count.p) {
    long long n = num(count, 65535);
    unsigned es = n > 0 && f->size % n == 0 ? f->size / (unsigned)n : 0;
    if (is_char(type)) f->kind = TPF_STR;
    else if (es == 1 || es == 2 || es == 4 || es == 8) {
      f->kind = TPF_ARRAY;
      f->elem = (uint8_t)es;
    } else f->kind = TPF_BYTES;
    return 0;
  }
  if (f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8) f->kind = TPF_INT;
  else f->kind = TPF_BYTES;
  return 0;
}

/* ============================================================ fields */

/* "field:DECL;\toffset:N;\tsize:N;\tsigned:N;" */
static int parse_field(span line, unsigned ln, tpf_format *out, char *err, size_t cap) {
  if (out->nfields >= TPF_MAX_FIELDS)
    return fail(err, cap, ln, "more than %d fields", TPF_MAX_FIELDS);
  tpf_field *f = &out->fields[out->nfields];
  memset(f, 0, sizeof *f);
  span decl = {0, 0};
  long long off = -1, size = -1, sgn = 0;
  while (line.n) {
    const char *semi = memchr(line.p, ';', line.n);
    span item = {line.p, semi ? (size_t)(semi - line.p) : line.n};
    line.p += item.n + (semi ? 1 : 0);
    line.n -= item.n + (semi ? 1 : 0);
    item = trim(item);
    const char *colon = memchr(item.p, ':', item.n);
    if (!colon) continue;
    span key = {item.p, (size_t)(colon - item.p)};
    span val = {colon + 1, item.n - key.n - 1};
    if (eq(key, "field")) decl = val;
    else if (eq(key, "offset")) off = num(val, 65535);
    else if (eq(key, "size")) size = num(val, 65535);
    else if (eq(key, "signed")) sgn = num(val, 1);
  }
  if (!decl.p) return fail(err, cap, ln, "no field declaration");
  span type, name, count;
  if (split_decl(decl, &type, &name, &count) != 0)
    return fail(err, cap, ln, "field declaration is not 'TYPE NAME' or 'TYPE NAME[N]'");
  if (copy(f->name, sizeof f->name, name) || copy(f->type, sizeof f->type, type))
    return fail(err, cap, ln, "field name or type too long");
  if (off < 0 || size < 0 || off + size > 65535)
    return fail(err, cap, ln, "'%s' needs offset and size of 0..65535 in all", f->name);
  if (sgn < 0) return fail(err, cap, ln, "'%s' has signed other than 0 or 1", f->name);
  f->offset = (uint16_t)off;
  f->size = (uint16_t)size;
  f->is_signed = (uint8_t)sgn;
  f->common = strncmp(f->name, "common_", 7) == 0;
  if (classify(f, type, count, ln, err, cap) != 0) return -1;
  out->nfields++;
  return 0;
}

int tpf_parse(const char *text, size_t len, tpf_format *out, char *err, size_t cap) {
  memset(out, 0, sizeof *out);
  if (err && cap) err[0] = 0;
  if (!text || len > (1u << 20)) return fail(err, cap, 0, "text missing or above 1 MB");
  int have_name = 0, have_id = 0, have_format = 0;
  unsigned ln = 0;
  span rest = {text, len};
  while (rest.n) {
    const char *nl = memchr(rest.p, '\n', rest.n);
    span line = {rest.p, nl ? (size_t)(nl - rest.p) : rest.n};
    rest.p += line.n + (nl ? 1 : 0);
    rest.n -= line.n + (nl ? 1 : 0);
    ln++;
    line = trim(line);
    if (starts(line, "name:")) {
      span v = {line.p + 5, line.n - 5};
      if (copy(out->name, sizeof out->name, trim(v)) || trim(v).n == 0)
        return fail(err, cap, ln, "event name empty or too long");
      have_name = 1;
    } else if (starts(line, "ID:")) {
      long long id = num((span){line.p + 3, line.n - 3}, 0xffffffffLL);
      if (id < 0) return fail(err, cap, ln, "ID is not a number of 0..4294967295");
      out->id = (uint32_t)id;
      have_id = 1;
    } else if (eq(line, "format:")) {
      have_format = 1;
    } else if (starts(line, "field:")) {
      if (!have_format) return fail(err, cap, ln, "field before 'format:'");
      if (parse_field(line, ln, out, err, cap) != 0) return -1;
    } else if (starts(line, "print fmt:")) {
      break;
    }
  }
  if (!have_name || !have_id || !have_format)
    return fail(err, cap, ln, "missing %s", !have_name ? "'name:'" : !have_id ? "'ID:'" : "'format:'");
  return 0;
}

int tpf_find(const tpf_format *f, const char *name) {
  for (unsigned i = 0; i < f->nfields; i++)
    if (strcmp(f->fields[i].name, name) == 0) return (int)i;
  return -1;
}

/* ============================================================ values */

static uint64_t load(const uint8_t *p, unsigned size, int sgn) {
  switch (size) {
  case 1: { uint8_t v = p[0]; return sgn ? (uint64_t)(int64_t)(int8_t)v : v; }
  case 2: { uint16_t v; memcpy(&v, p, 2); return sgn ? (uint64_t)(int64_t)(int16_t)v : v; }
  case 4: { uint32_t v; memcpy(&v, p, 4); return sgn ? (uint64_t)(int64_t)(int32_t)v : v; }
  case 8: { uint64_t v; memcpy(&v, p, 8); return v; }
  default: return 0;
  }
}

static int inside(const tpf_field *fl, size_t len) {
  return (size_t)fl->offset + fl->size <= len;
}

uint64_t tpf_get_int(const tpf_field *fl, const uint8_t *raw, size_t len) {
  if (!inside(fl, len) || fl->kind != TPF_INT) return 0;
  return load(raw + fl->offset, fl->size, fl->is_signed);
}

/* Where a __data_loc / __rel_loc field's bytes are; -1 if outside. */
static int locate(const tpf_field *fl, const uint8_t *raw, size_t len, size_t *off, size_t *n) {
  if (!inside(fl, len)) return -1;
  uint32_t v = (uint32_t)load(raw + fl->offset, 4, 0);
  *off = (v & 0xffff) + (fl->rel ? (size_t)fl->offset + 4 : 0);
  *n = v >> 16;
  return *off + *n <= len ? 0 : -1;
}

static size_t cut(const uint8_t *p, size_t n) {
  const uint8_t *z = memchr(p, 0, n);
  return z ? (size_t)(z - p) : n;
}

const char *tpf_get_str(const tpf_field *fl, const uint8_t *raw, size_t len, size_t *n) {
  size_t off, cnt;
  if (fl->kind == TPF_STR) {
    if (!inside(fl, len)) return NULL;
    off = fl->offset;
    cnt = fl->size;
  } else if (fl->kind != TPF_LOC_STR || locate(fl, raw, len, &off, &cnt) != 0) {
    return NULL;
  }
  *n = cut(raw + off, cnt);
  return (const char *)raw + off;
}

static unsigned int_type(unsigned size, int sgn) {
  switch (size) {
  case 1: return sgn ? TLG_IN_INT8 : TLG_IN_UINT8;
  case 2: return sgn ? TLG_IN_INT16 : TLG_IN_UINT16;
  case 4: return sgn ? TLG_IN_INT32 : TLG_IN_UINT32;
  default: return sgn ? TLG_IN_INT64 : TLG_IN_UINT64;
  }
}

/* Items packed in host order; TraceLogging wants little-endian. */
static int add_items(tlg_builder *b, const tlg_build_field *tf, const tpf_field *fl,
                     const uint8_t *p, size_t n) {
  if (!fl->elem || n % fl->elem) return tlg_build_add_bytes(b, tf, TLG_IN_BINARY, p, n);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return tlg_build_add_array(b, tf, int_type(fl->elem, fl->is_signed), p, n / fl->elem);
#else
  tlg_seq s;
  int st = tlg_build_seq_begin(b, tf, int_type(fl->elem, fl->is_signed), &s);
  for (size_t i = 0; st == TLG_OK && i < n; i += fl->elem)
    st = tlg_build_seq_fixed(b, &s, load(p + i, fl->elem, 0));
  return st;
#endif
}

/* Add one field; 1 = skipped (outside the sample), 0 = added, -1 = builder refused. */
static int add_field(tlg_builder *b, const tpf_field *fl, const uint8_t *raw, size_t len) {
  tlg_build_field tf = {fl->name, strlen(fl->name), 0, 0};
  size_t off = fl->offset, n = fl->size;
  int st;
  switch (fl->kind) {
  case TPF_INT:
    if (!inside(fl, len)) return 1;
    if (fl->is_ptr)
      st = tlg_build_add_fixed(b, &tf, fl->size == 8 ? TLG_IN_HEXINT64 : TLG_IN_HEXINT32,
                               load(raw + off, fl->size, 0));
    else
      st = tlg_build_add_fixed(b, &tf, int_type(fl->size, fl->is_signed),
                               load(raw + off, fl->size, fl->is_signed));
    break;
  case TPF_STR: case TPF_LOC_STR: {
    const char *s = tpf_get_str(fl, raw, len, &n);
    if (!s) return 1;
    tf.out_type = TLG_OUT_UTF8;
    st = tlg_build_add_bytes(b, &tf, TLG_IN_ANSISTRING, s, n);
    break;
  }
  case TPF_ARRAY:
    if (!inside(fl, len)) return 1;
    st = add_items(b, &tf, fl, raw + off, n);
    break;
  case TPF_LOC_ARRAY:
    if (locate(fl, raw, len, &off, &n) != 0) return 1;
    st = add_items(b, &tf, fl, raw + off, n);
    break;
  default:
    if (!inside(fl, len)) return 1;
    st = tlg_build_add_bytes(b, &tf, TLG_IN_BINARY, raw + off, n);
    break;
  }
  return st == TLG_OK ? 0 : -1;
}

int tpf_decode(const tpf_format *f, const uint8_t *raw, size_t len, tlg_builder *b) {
  int skipped = 0;
  for (unsigned i = 0; i < f->nfields; i++) {
    if (f->fields[i].common) continue;
    int r = add_field(b, &f->fields[i], raw, len);
    if (r < 0) return -1;
    skipped += r;
  }
  return skipped;
}
