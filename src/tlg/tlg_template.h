/*
** tlg_template.h: event templates, the metadata of one event built once
** and a program of value slots; each write then only appends values.
** Pure C: used by the Lua binding (src/lua/ltemplate.c) and the C API.
** The bytes are those tlg_build gives for the same calls (the metadata is
** made by running the builder once with placeholder values).
*/
#ifndef TLG_TEMPLATE_H
#define TLG_TEMPLATE_H

#include <string.h>

#include "tlg_types.h"

/* One entry of a template's field list: the builder calls, flattened. A
** struct (intype TLG_IN_STRUCT) takes `count` (1..127) following entries
** as its members, like tlg_build_add_struct; its out_type is ignored. */
typedef struct tlg_tfield {
  const char *name;
  size_t name_len;
  uint8_t intype;      /* TLG_IN_* accepted by the tlg_build_add_* functions */
  uint8_t seq;         /* 1: a VCOUNT sequence of intype */
  uint8_t count;       /* struct: member count */
  uint64_t out_type, tag;
} tlg_tfield;

/* One value slot of the compiled program (struct headers take none). */
typedef struct tlg_tslot {
  uint8_t intype, seq;
  uint8_t size;        /* a fixed-size scalar: its size (1, 2, 4, 8); else 0 */
  uint16_t field;      /* index in the field list, for error messages */
  uint32_t name_off;   /* the field's name in meta, NUL-terminated */
} tlg_tslot;

typedef struct tlg_template {
  tlg_desc desc;
  uint8_t *meta;       /* with its u16 size filled in */
  size_t meta_len;
  size_t event_name_off; /* the event name in meta, NUL-terminated */
  tlg_tslot *slots;
  unsigned nslots;
  uint32_t *name_off;  /* per field-list entry: its name in meta (NUL-terminated) */
  unsigned nfields;
} tlg_template;

/* Compile: checks as the builder does (TLG_E_TAG, TLG_E_NAME_NUL,
** TLG_E_FIELDS, TLG_E_META, TLG_E_STRUCT_COUNT, TLG_E_DEPTH, TLG_E_ARG for
** an intype the builder refuses, TLG_E_STRUCT_OPEN when the list ends
** inside a struct, TLG_E_NOMEM). On failure *bad (if not NULL) gets the
** index of the offending entry (n for STRUCT_OPEN, 0 for event-level
** errors) and `t` holds nothing to free. */
int tlg_tmpl_init(tlg_template *t, const char *name, size_t len, const tlg_desc *d,
                  uint32_t tag, const tlg_tfield *f, size_t n, size_t *bad);
void tlg_tmpl_free(tlg_template *t);

/* --- data being encoded --------------------------------------------------
** A growable buffer that starts in `local` (no allocation for small
** events) and moves to the heap up to TLG_MAX_DATA bytes. */
#define TLG_TBUF_LOCAL 256
typedef struct tlg_tbuf {
  uint8_t *p;
  size_t len, cap;
  uint8_t *heap;
  uint8_t local[TLG_TBUF_LOCAL];
} tlg_tbuf;

void tlg_tbuf_init(tlg_tbuf *d);
void tlg_tbuf_free(tlg_tbuf *d);
static inline void tlg_tbuf_clear(tlg_tbuf *d) { d->len = 0; }

/* Room for `need` more bytes: TLG_OK, TLG_E_DATA past 65536, TLG_E_NOMEM. */
int tlg_tbuf_grow(tlg_tbuf *d, size_t need);
static inline int tlg_tbuf_room(tlg_tbuf *d, size_t need) {
  return need <= d->cap - d->len ? TLG_OK : tlg_tbuf_grow(d, need);
}

/* Inline stores for the hot path (ltemplate.c), after the caller checked
** the value: an integer of `size` (1, 2, 4 or 8) bytes, little-endian; a
** counted string or binary (u16 length, then the n <= 65535 bytes). The
** byte-by-byte shifts compile to one store on little-endian machines. */
static inline int tlg_tput_le(tlg_tbuf *d, unsigned size, uint64_t bits) {
  int st = tlg_tbuf_room(d, size);
  if (st != TLG_OK) return st;
  uint8_t *q = d->p + d->len;
  switch (size) {
  case 1: q[0] = (uint8_t)bits; break;
  case 2: q[0] = (uint8_t)bits; q[1] = (uint8_t)(bits >> 8); break;
  case 4:
    q[0] = (uint8_t)bits; q[1] = (uint8_t)(bits >> 8);
    q[2] = (uint8_t)(bits >> 16); q[3] = (uint8_t)(bits >> 24);
    break;
  default:
    q[0] = (uint8_t)bits; q[1] = (uint8_t)(bits >> 8);
    q[2] = (uint8_t)(bits >> 16); q[3] = (uint8_t)(bits >> 24);
    q[4] = (uint8_t)(bits >> 32); q[5] = (uint8_t)(bits >> 40);
    q[6] = (uint8_t)(bits >> 48); q[7] = (uint8_t)(bits >> 56);
    break;
  }
  d->len += size;
  return TLG_OK;
}

/* memcpy for the short strings of events, inline: two overlapping moves
** of 8 or 4 bytes below 16, libc above. Reads only [s, s + n). */
static inline void tlg_copy(uint8_t *d, const void *src, size_t n) {
  const uint8_t *s = src;
  if (n > 16) memcpy(d, s, n);
  else if (n >= 8) { memcpy(d, s, 8); memcpy(d + n - 8, s + n - 8, 8); }
  else if (n >= 4) { memcpy(d, s, 4); memcpy(d + n - 4, s + n - 4, 4); }
  else if (n) { d[0] = s[0]; d[n / 2] = s[n / 2]; d[n - 1] = s[n - 1]; }
}

static inline int tlg_tput_counted(tlg_tbuf *d, const void *p, size_t n) {
  if (n > 0xFFFF) return TLG_E_ARG;
  int st = tlg_tbuf_room(d, 2 + n);
  if (st != TLG_OK) return st;
  uint8_t *q = d->p + d->len;
  q[0] = (uint8_t)n;
  q[1] = (uint8_t)(n >> 8);
  tlg_copy(q + 2, p, n);
  d->len += 2 + n;
  return TLG_OK;
}

/* Append one item of `intype` (a scalar, or one item of a sequence): the
** same encodings and value errors as tlg_build_add_fixed / _bytes / _str16. */
int tlg_tput_fixed(tlg_tbuf *d, unsigned intype, uint64_t bits);
int tlg_tput_bytes(tlg_tbuf *d, unsigned intype, const void *p, size_t n);
int tlg_tput_str16(tlg_tbuf *d, unsigned intype, const char *utf8, size_t n);

/* A sequence: tlg_tput_count reserves its u16 count and gives its offset;
** tlg_tset_count fills it in (count <= TLG_MAX_SEQ, checked by the caller). */
int tlg_tput_count(tlg_tbuf *d, size_t *off);
void tlg_tset_count(tlg_tbuf *d, size_t off, unsigned count);

/* A whole sequence of a fixed-size intype packed little-endian at items. */
int tlg_tput_array(tlg_tbuf *d, unsigned intype, const void *items, size_t count);

#endif
