/*
** tlg_build.c: builder lifetime, reset, field metadata, fixed-size scalars,
** structs, limits and rollback (spec §3.3, §3.4, §4).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tlg_build_int.h"

#define DEFAULT_META 128
#define DEFAULT_DATA 512

static size_t clamp_hint(size_t hint, size_t dflt, size_t max) {
  if (hint == 0) return dflt;
  return hint > max ? max : hint;
}

void tlg_build_init(tlg_builder *b, size_t meta_hint, size_t data_hint) {
  memset(b, 0, sizeof *b);
  b->meta_cap = clamp_hint(meta_hint, DEFAULT_META, TLG_MAX_META);
  b->data_cap = clamp_hint(data_hint, DEFAULT_DATA, TLG_MAX_DATA);
}

void tlg_build_free(tlg_builder *b) {
  size_t mc = b->meta_cap, dc = b->data_cap;
  free(b->meta);
  free(b->data);
  tlg_build_init(b, mc, dc);
}

/* Grow *buf to hold `need` bytes. While *buf is NULL, *cap is only the
** initial size hint. realloc keeps the old content, so growth can never
** scramble bytes already written (the Python module's bug, spec §8.2). */
static int reserve(uint8_t **buf, size_t *cap, size_t need, size_t max) {
  size_t c = *cap ? *cap : 1;
  if (*buf && c >= need) return TLG_OK;
  while (c < need) c = c > max / 2 ? max : c * 2;
  uint8_t *p = realloc(*buf, c);
  if (!p) return TLG_E_NOMEM;
  *buf = p;
  *cap = c;
  return TLG_OK;
}

int tlgb_data_reserve(tlg_builder *b, size_t need) {
  return reserve(&b->data, &b->data_cap, b->data_len + need, TLG_MAX_DATA);
}

/* Event tag, shortest of the module's three forms (spec §3.3). */
static size_t event_tag_bytes(uint32_t tag, uint8_t out[4]) {
  if ((tag & 0x0FE00000u) == tag) {
    out[0] = (uint8_t)(tag >> 21);
    return 1;
  }
  out[0] = (uint8_t)(0x80 | tag >> 21);
  if ((tag & 0x0FFFC000u) == tag) {
    out[1] = (uint8_t)(tag >> 14 & 0x7F);
    return 2;
  }
  out[1] = (uint8_t)(0x80 | (tag >> 14 & 0x7F));
  out[2] = (uint8_t)(0x80 | (tag >> 7 & 0x7F));
  out[3] = (uint8_t)(tag & 0x7F);
  return 4;
}

int tlg_build_reset(tlg_builder *b, const char *name, size_t len,
                    const tlg_desc *d, uint32_t tag) {
  uint8_t tagb[4];
  if (tag > TLG_MAX_TAG) return TLG_E_TAG;
  if (len && memchr(name, 0, len)) return TLG_E_NAME_NUL;
  size_t taglen = event_tag_bytes(tag, tagb);
  if (len > TLG_MAX_META - 3 - taglen) return TLG_E_META;
  size_t need = 2 + taglen + len + 1;
  int st = reserve(&b->meta, &b->meta_cap, need, TLG_MAX_META);
  if (st == TLG_OK) st = reserve(&b->data, &b->data_cap, 1, TLG_MAX_DATA);
  if (st != TLG_OK) return st;
  /* The size prefix is filled by tlg_build_meta; zero until then (spec §8.14). */
  b->meta[0] = b->meta[1] = 0;
  memcpy(b->meta + 2, tagb, taglen);
  if (len) memcpy(b->meta + 2 + taglen, name, len);
  b->meta[need - 1] = 0;
  b->meta_len = need;
  b->name_off = 2 + taglen;
  b->name_len = len;
  b->data_len = 0;
  b->fields = 0;
  b->depth = 0;
  b->desc = *d;
  b->ready = 1;
  return TLG_OK;
}

int tlg_build_ready(const tlg_builder *b) { return b->ready; }

const char *tlg_build_name(const tlg_builder *b, size_t *len) {
  *len = b->ready ? b->name_len : 0;
  return b->ready ? (const char *)b->meta + b->name_off : NULL;
}

const uint8_t *tlg_build_meta(tlg_builder *b, size_t *len) {
  if (!b->ready) { *len = 0; return NULL; }
  tlgb_put_u16(b->meta, b->meta_len);
  *len = b->meta_len;
  return b->meta;
}

const uint8_t *tlg_build_data(const tlg_builder *b, size_t *len) {
  *len = b->data_len;
  return b->data;
}

unsigned tlg_build_fields(const tlg_builder *b) { return b->fields; }

void tlg_build_mark(const tlg_builder *b, tlg_mark *m) {
  m->meta_len = b->meta_len;
  m->data_len = b->data_len;
  m->fields = b->fields;
  m->depth = b->depth;
  memcpy(m->open, b->open, b->depth * sizeof *b->open);
}

void tlg_build_rollback(tlg_builder *b, const tlg_mark *m) {
  b->meta_len = m->meta_len;
  b->data_len = m->data_len;
  b->fields = m->fields;
  b->depth = m->depth;
  memcpy(b->open, m->open, m->depth * sizeof *b->open);
}

void tlgb_member(tlg_builder *b, uint8_t inmeta) {
  b->open[b->depth - 1].left--;
  if ((inmeta & TLG_IN_TYPE_MASK) == TLG_IN_STRUCT) return;
  /* a struct that got its last member closes, and so does every struct
  ** whose last member it was */
  while (b->depth && b->open[b->depth - 1].left == 0) b->depth--;
}

int tlg_build_open_struct(const tlg_builder *b, const char **name, size_t *name_len,
                          unsigned *declared, unsigned *has) {
  if (!b->ready || b->depth == 0) return 0;
  const tlg_open_struct *o = &b->open[b->depth - 1];
  *name = (const char *)b->meta + o->name_off;
  *name_len = o->name_len;
  *declared = o->declared;
  *has = (unsigned)o->declared - o->left;
  return 1;
}

const uint8_t tlgb_fixed_size[32] = {
  [TLG_IN_INT8] = 1, [TLG_IN_UINT8] = 1, [TLG_IN_INT16] = 2, [TLG_IN_UINT16] = 2,
  [TLG_IN_INT32] = 4, [TLG_IN_UINT32] = 4, [TLG_IN_FLOAT] = 4, [TLG_IN_BOOL32] = 4,
  [TLG_IN_HEXINT32] = 4, [TLG_IN_INT64] = 8, [TLG_IN_UINT64] = 8, [TLG_IN_DOUBLE] = 8,
  [TLG_IN_FILETIME] = 8, [TLG_IN_HEXINT64] = 8,
};

size_t tlg_intype_fixed_size(unsigned intype) { return tlgb_fixed(intype); }

int tlg_f32_bits(double x, uint32_t *bits) {
  /* 2^128 - 2^103 is halfway between FLT_MAX and 2^128; ties go to even,
  ** i.e. to infinity. Check first: converting an out-of-range double to
  ** float is undefined behaviour in C. */
  if (isfinite(x) && fabs(x) >= 0x1.ffffffp127) return TLG_E_FLOAT;
  float f = (float)x;
  memcpy(bits, &f, 4);
  return TLG_OK;
}

/* --- field metadata ---------------------------------------------------- */

static size_t field_meta_size(const tlg_build_field *f) {
  size_t n = f->name_len + 2;
  if (f->out_type || f->tag) n += 1;
  if (f->tag) n += 4;
  return n;
}

/* Long names, full buffers and the error cases: check in the documented
** order, grow the buffers, then append the metadata. */
int tlgb_field_slow(tlg_builder *b, const tlg_build_field *f, uint8_t inmeta, unsigned cost,
                    size_t dsize) {
  size_t n = f->name_len;
  if (n && memchr(f->name, 0, n)) return TLG_E_NAME_NUL;
  if (b->fields + cost > TLG_MAX_FIELDS) return TLG_E_FIELDS;
  if (n > TLG_MAX_META) return TLG_E_META;
  size_t mneed = field_meta_size(f);
  if (mneed > TLG_MAX_META - b->meta_len) return TLG_E_META;
  if (dsize > TLG_MAX_DATA - b->data_len) return TLG_E_DATA;
  int st = reserve(&b->meta, &b->meta_cap, b->meta_len + mneed, TLG_MAX_META);
  if (st == TLG_OK) st = tlgb_data_reserve(b, dsize);
  if (st != TLG_OK) return st;
  uint8_t *p = b->meta + b->meta_len;
  if (n) memcpy(p, f->name, n);
  p[n] = 0;
  b->meta_len = (size_t)(tlgb_put_types(p + n + 1, f, inmeta) - b->meta);
  b->fields += cost;
  if (b->depth) tlgb_member(b, inmeta);
  return TLG_OK;
}

/* --- fixed-size scalars and structs ------------------------------------- */

/* Everything but the fast case, in the documented order of checks. */
static TLGB_NOINLINE int add_fixed_slow(tlg_builder *b, const tlg_build_field *f, unsigned intype,
                          uint64_t bits) {
  size_t size = tlgb_fixed(intype);
  if (!b->ready) return TLG_E_STATE;
  if (size == 0) return tlgb_value_error(f, TLG_E_ARG);
  int st = tlgb_field(b, f, (uint8_t)intype, 1, size);
  if (st != TLG_OK) return st;
  tlgb_put_le(b->data + b->data_len, bits, size);
  b->data_len += size;
  return TLG_OK;
}

/* The fast case has 8 bytes of data room, so on little-endian hosts one
** unaligned store writes any size (bytes past the new data_len are not part
** of the event), and it calls nothing: no registers to save. */
int tlg_build_add_fixed(tlg_builder *b, const tlg_build_field *f, unsigned intype, uint64_t bits) {
  size_t size = tlgb_fixed(intype);
  if (!b->ready || size == 0 || !tlgb_fits(b, f, 1, 8)) return add_fixed_slow(b, f, intype, bits);
  int st = tlgb_put_field(b, f, (uint8_t)intype, 1);
  if (st != TLG_OK) return st;
  uint8_t *dst = b->data + b->data_len;
#if TLGB_LITTLE_ENDIAN
  memcpy(dst, &bits, 8);
#else
  tlgb_put_le(dst, bits, size);
#endif
  b->data_len += size;
  return TLG_OK;
}

int tlg_build_add_struct(tlg_builder *b, const tlg_build_field *f, unsigned count) {
  if (!b->ready) return TLG_E_STATE;
  if (count < 1 || count > TLG_MAX_STRUCT) return tlgb_value_error(f, TLG_E_STRUCT_COUNT);
  /* its members would sit at depth b->depth + 1, which must stay readable */
  if (b->depth + 1 >= TLG_MAX_DEPTH) return tlgb_value_error(f, TLG_E_DEPTH);
  /* The member count takes the OutType's place in the OutMeta byte. */
  tlg_build_field sf = *f;
  sf.out_type = count;
  size_t at = b->meta_len;
  int st = tlgb_field(b, &sf, TLG_IN_STRUCT, 1, 0);
  if (st != TLG_OK) return st;
  tlg_open_struct *o = &b->open[b->depth++];
  o->name_off = (uint16_t)at;
  o->name_len = (uint16_t)f->name_len;
  o->declared = o->left = (uint8_t)count;
  return TLG_OK;
}
