/*
** tlg_template.c: event templates (tlg_template.h). The metadata comes from
** one run of the builder, so it is the builder's by construction; the data
** encoders reuse the builder's item encodings (tlg_build_value.c).
*/
#include <stdlib.h>
#include <string.h>

#include "tlg_build_int.h"
#include "tlg_template.h"

/* Add entry f to b with a placeholder value; metadata is all that is kept. */
static int add_placeholder(tlg_builder *b, const tlg_tfield *f) {
  static const uint8_t zeros[16];
  tlg_build_field bf = {f->name, f->name_len, f->out_type, f->tag};
  tlg_seq s;
  if (f->intype == TLG_IN_STRUCT) return tlg_build_add_struct(b, &bf, f->count);
  if (f->seq) return tlg_build_seq_begin(b, &bf, f->intype, &s);
  if (tlg_intype_fixed_size(f->intype)) return tlg_build_add_fixed(b, &bf, f->intype, 0);
  switch (f->intype) {
  case TLG_IN_GUID: case TLG_IN_SYSTEMTIME: return tlg_build_add_bytes(b, &bf, f->intype, zeros, 16);
  case TLG_IN_SID: return tlg_build_add_bytes(b, &bf, f->intype, zeros, 8);
  default: return tlg_build_add_bytes(b, &bf, f->intype, zeros, 0);
  }
}

static int compile(tlg_template *t, tlg_builder *b, const tlg_tfield *f, size_t n, size_t *bad) {
  for (size_t i = 0; i < n; i++) {
    size_t off = b->meta_len;
    int st = add_placeholder(b, &f[i]);
    if (st != TLG_OK) { *bad = i; return st; }
    t->name_off[i] = (uint32_t)off;
    t->nfields = (unsigned)i + 1;
    if (f[i].intype == TLG_IN_STRUCT) continue;
    tlg_tslot *s = &t->slots[t->nslots++];
    s->intype = f[i].intype;
    s->seq = f[i].seq ? 1 : 0;
    s->size = s->seq ? 0 : (uint8_t)tlgb_fixed(s->intype);
    s->field = (uint16_t)i;
    s->name_off = (uint32_t)off;
  }
  const char *sname;
  size_t slen;
  unsigned declared, has;
  if (tlg_build_open_struct(b, &sname, &slen, &declared, &has)) {
    *bad = n;
    return TLG_E_STRUCT_OPEN;
  }
  return TLG_OK;
}

int tlg_tmpl_init(tlg_template *t, const char *name, size_t len, const tlg_desc *d,
                  uint32_t tag, const tlg_tfield *f, size_t n, size_t *bad) {
  tlg_builder b;
  size_t where = 0, mlen;
  memset(t, 0, sizeof *t);
  /* more entries than field slots can never fit: refuse before allocating */
  if (n > TLG_MAX_FIELDS + 1) n = TLG_MAX_FIELDS + 1;
  t->slots = malloc((n ? n : 1) * sizeof *t->slots);
  t->name_off = malloc((n ? n : 1) * sizeof *t->name_off);
  if (!t->slots || !t->name_off) {
    tlg_tmpl_free(t);
    return TLG_E_NOMEM;
  }
  tlg_build_init(&b, 0, 0);
  int st = tlg_build_reset(&b, name, len, d, tag);
  if (st == TLG_OK) st = compile(t, &b, f, n, &where);
  if (st == TLG_OK) {
    const uint8_t *meta = tlg_build_meta(&b, &mlen);
    t->meta = malloc(mlen);
    if (t->meta) memcpy(t->meta, meta, mlen);
    else st = TLG_E_NOMEM;
    t->meta_len = mlen;
    t->desc = b.desc;
    t->event_name_off = b.name_off;
  }
  tlg_build_free(&b);
  if (st != TLG_OK) {
    if (bad) *bad = where;
    tlg_tmpl_free(t);
  }
  return st;
}

void tlg_tmpl_free(tlg_template *t) {
  free(t->meta);
  free(t->slots);
  free(t->name_off);
  memset(t, 0, sizeof *t);
}

/* --- data ---------------------------------------------------------------- */

void tlg_tbuf_init(tlg_tbuf *d) {
  d->p = d->local;
  d->len = 0;
  d->cap = sizeof d->local;
  d->heap = NULL;
}

void tlg_tbuf_free(tlg_tbuf *d) {
  free(d->heap);
  tlg_tbuf_init(d);
}

int tlg_tbuf_grow(tlg_tbuf *d, size_t need) {
  if (need > TLG_MAX_DATA - d->len) return TLG_E_DATA;
  size_t cap = d->cap;
  while (cap - d->len < need) cap *= 2;
  if (cap > TLG_MAX_DATA) cap = TLG_MAX_DATA;
  uint8_t *p = realloc(d->heap, cap);
  if (!p) return TLG_E_NOMEM;
  if (!d->heap) memcpy(p, d->local, d->len);
  d->heap = d->p = p;
  d->cap = cap;
  return TLG_OK;
}

/* Fixed-size stores: a memcpy of a variable size compiles to `rep movs`,
** several times slower than these for 1..8 bytes. */
int tlg_tput_fixed(tlg_tbuf *d, unsigned intype, uint64_t bits) {
  size_t size = tlgb_fixed(intype);
  if (size == 0) return TLG_E_ARG;
  int st = tlg_tbuf_room(d, size);
  if (st != TLG_OK) return st;
  uint8_t *q = d->p + d->len;
#if TLGB_LITTLE_ENDIAN
  switch (size) {
  case 1: *q = (uint8_t)bits; break;
  case 2: { uint16_t v = (uint16_t)bits; memcpy(q, &v, 2); break; }
  case 4: { uint32_t v = (uint32_t)bits; memcpy(q, &v, 4); break; }
  default: memcpy(q, &bits, 8); break;
  }
#else
  tlgb_put_le(q, bits, size);
#endif
  d->len += size;
  return TLG_OK;
}

int tlg_tput_bytes(tlg_tbuf *d, unsigned intype, const void *p, size_t n) {
  size_t size = 0;
  int st = tlgb_bytes_size(intype, p, n, &size);
  if (st == TLG_OK) st = tlg_tbuf_room(d, size);
  if (st != TLG_OK) return st;
  tlgb_bytes_write(d->p + d->len, intype, p, n, size);
  d->len += size;
  return TLG_OK;
}

int tlg_tput_str16(tlg_tbuf *d, unsigned intype, const char *s, size_t n) {
  size_t size = 0;
  int st = tlgb_str16_size(intype, s, n, &size);
  if (st == TLG_OK) st = tlg_tbuf_room(d, size);
  if (st != TLG_OK) return st;
  tlgb_str16_write(d->p + d->len, intype, s, n, size);
  d->len += size;
  return TLG_OK;
}

int tlg_tput_count(tlg_tbuf *d, size_t *off) {
  int st = tlg_tbuf_room(d, 2);
  if (st != TLG_OK) return st;
  *off = d->len;
  tlgb_put_u16(d->p + d->len, 0);
  d->len += 2;
  return TLG_OK;
}

void tlg_tset_count(tlg_tbuf *d, size_t off, unsigned count) {
  tlgb_put_u16(d->p + off, count);
}

int tlg_tput_array(tlg_tbuf *d, unsigned intype, const void *items, size_t count) {
  size_t size = tlgb_fixed(intype);
  if (size == 0) return TLG_E_ARG;
  if (count > TLG_MAX_SEQ) return TLG_E_SEQ;
  size_t bytes = size * count;
  int st = tlg_tbuf_room(d, 2 + bytes);
  if (st != TLG_OK) return st;
  tlgb_put_u16(d->p + d->len, count);
#if TLGB_LITTLE_ENDIAN
  if (bytes) memcpy(d->p + d->len + 2, items, bytes);
#else
  for (size_t i = 0; i < count; i++) { /* native items of 1, 2, 4 or 8 bytes */
    const uint8_t *q = (const uint8_t *)items + i * size;
    uint8_t u8; uint16_t u16; uint32_t u32; uint64_t v;
    switch (size) {
    case 1: memcpy(&u8, q, 1); v = u8; break;
    case 2: memcpy(&u16, q, 2); v = u16; break;
    case 4: memcpy(&u32, q, 4); v = u32; break;
    default: memcpy(&v, q, 8); break;
    }
    tlgb_put_le(d->p + d->len + 2 + i * size, v, size);
  }
#endif
  d->len += 2 + bytes;
  return TLG_OK;
}
