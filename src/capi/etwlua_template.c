/*
** etwlua_template.c: event templates of the C API (include/etwlua.h) over
** src/tlg/tlg_template.h. A write checks enabled first, then encodes the
** values: integers and counted strings of up to ENG_RESERVE_LOCAL bytes
** straight into the session's ring (eng_prepared_write), the rest into
** a buffer on the stack (the heap only past 256 bytes). A template is never
** written to, so threads can share it.
*/
#include <stdlib.h>
#include <string.h>

#include "etwlua.h"
#include "capi_int.h"
#include "tlg_build.h"
#include "tlg_le.h"
#include "tlg_template.h"

/* How a slot is stored on the direct path (direct_encode): an integer of
** 1, 2, 4 or 8 bytes, or a counted string or binary. */
enum { OP_COUNTED = 0, OP_OTHER = 255 };

typedef struct capi_template {
  etwlua_template pub;  /* first: the handle the caller holds */
  const capi_provider *prov;
  tlg_template t;
  eng_prepared *prep;   /* the engine's image of desc + meta: a write copies it once */
  int direct;           /* no slot is OP_OTHER */
  size_t fixed_len;     /* direct: bytes of a write before the strings' own */
  unsigned ncounted;    /* direct: OP_COUNTED slots, listed in counted[] */
  uint8_t *op;          /* per slot: its integer size, OP_COUNTED or OP_OTHER */
  uint16_t *counted;
  uint8_t plan[];       /* op[] and counted[] */
} capi_template;

_Static_assert((int)ETWLUA_STRUCT == (int)TLG_IN_STRUCT &&
               (int)ETWLUA_CBINARY == (int)TLG_IN_COUNTEDBINARY &&
               (int)ETWLUA_STR8 == (int)TLG_IN_COUNTEDANSISTRING &&
               (int)ETWLUA_ZSTR16 == (int)TLG_IN_UNICODESTRING,
               "ETWLUA_* types are the TraceLogging InTypes");

static void to_tfield(const etwlua_field *f, tlg_tfield *out) {
  out->name = f->name ? f->name : "";
  out->name_len = strlen(out->name);
  out->intype = f->type;
  out->seq = f->seq ? 1 : 0;
  out->count = f->count;
  out->out_type = f->out_type;
  if (!f->out_type && (f->type == (uint8_t)ETWLUA_STR8 || f->type == (uint8_t)ETWLUA_ZSTR8))
    out->out_type = TLG_OUT_UTF8;
  out->tag = f->tag;
}

/* The store of each slot on the direct path: integers (float64 too: its
** bits are .u) and counted strings and binaries, put_slot's own short
** forms, so both paths write the same bytes. */
static uint8_t slot_op(const tlg_tslot *s) {
  if (s->seq) return OP_OTHER;
  if (s->size && s->intype != TLG_IN_FLOAT) return s->size;
  if (s->intype == TLG_IN_COUNTEDANSISTRING || s->intype == TLG_IN_COUNTEDBINARY ||
      s->intype == TLG_IN_BINARY)
    return OP_COUNTED;
  return OP_OTHER;
}

/* plan[] has room for n slots: n uint16_t, then n bytes. */
static void plan_direct(capi_template *t, size_t n) {
  t->counted = (uint16_t *)(void *)t->plan;
  t->op = t->plan + n * sizeof(uint16_t);
  t->direct = 1;
  t->fixed_len = 0;
  t->ncounted = 0;
  for (unsigned i = 0; i < t->t.nslots; i++) {
    uint8_t op = slot_op(&t->t.slots[i]);
    t->op[i] = op;
    if (op == OP_OTHER) t->direct = 0;
    else if (op == OP_COUNTED) t->counted[t->ncounted++] = (uint16_t)i;
    t->fixed_len += op == OP_COUNTED ? 2 : t->t.slots[i].size;
  }
}

int etwlua_template_create(etwlua_provider *pub, const char *name, const etwlua_desc *d,
                           const etwlua_field *fields, size_t n, etwlua_template **out) {
  static const tlg_desc dflt = {0, 0, TLG_CHANNEL_TRACELOGGING, 5, 0, 0, 1};
  tlg_desc desc = dflt;
  *out = NULL;
  if (!pub || !name || (n && !fields)) return ENG_E_ARG;
  if (n > TLG_MAX_FIELDS) return capi_from_tlg(TLG_E_FIELDS); /* each entry takes a slot */
  if (d) memcpy(&desc, d, sizeof desc);
  tlg_tfield tf[TLG_MAX_FIELDS];
  for (size_t i = 0; i < n; i++) to_tfield(&fields[i], &tf[i]);
  capi_template *t = malloc(sizeof *t + n * (sizeof(uint16_t) + 1));   /* slots <= entries */
  if (!t) return ENG_E_NOMEM;
  int st = tlg_tmpl_init(&t->t, name, strlen(name), &desc, 0, tf, n, NULL);
  if (st != TLG_OK) {
    free(t);
    return capi_from_tlg(st);
  }
  plan_direct(t, n);
  t->prov = pub->impl;
  st = eng_prepare(t->prov->eng, &t->t.desc, t->t.meta, (uint32_t)t->t.meta_len, &t->prep);
  if (st != ENG_OK) {
    tlg_tmpl_free(&t->t);
    free(t);
    return st;
  }
  t->pub.provider = pub;
  t->pub.level = desc.level;
  t->pub.keyword = desc.keyword;
  t->pub.nvalues = t->t.nslots;
  *out = &t->pub;
  return ETWLUA_OK;
}

void etwlua_template_free(etwlua_template *pub) {
  if (!pub) return;
  capi_template *t = (capi_template *)pub;
  eng_prepared_free(t->prep);
  tlg_tmpl_free(&t->t);
  free(t);
}

/* --- values --------------------------------------------------------------- */

static int put_fixed(tlg_tbuf *d, unsigned intype, const etwlua_value *v) {
  uint64_t bits = v->u;
  if (intype == TLG_IN_FLOAT) {
    uint32_t b32;
    if (tlg_f32_bits(v->d, &b32) != TLG_OK) return TLG_E_FLOAT;
    bits = b32;
  } else if (intype == TLG_IN_DOUBLE) {
    memcpy(&bits, &v->d, sizeof bits);
  }
  return tlg_tput_fixed(d, intype, bits);
}

static int put_item(tlg_tbuf *d, unsigned intype, const etwlua_value *v) {
  const void *p = v->s.p ? v->s.p : "";
  if (tlg_intype_fixed_size(intype)) return put_fixed(d, intype, v);
  if (intype == TLG_IN_UNICODESTRING || intype == TLG_IN_COUNTEDSTRING)
    return tlg_tput_str16(d, intype, p, v->s.p ? v->s.n : 0);
  if (intype == TLG_IN_GUID) return tlg_tput_bytes(d, intype, p, v->s.p ? 16 : 0);
  return tlg_tput_bytes(d, intype, p, v->s.p ? v->s.n : 0);
}

static int put_seq(tlg_tbuf *d, unsigned intype, const etwlua_value *v) {
  size_t n = v->s.n, off;
  if (n > TLG_MAX_SEQ) return TLG_E_SEQ;
  if (n && !v->s.p) return TLG_E_ARG;
  if (tlg_intype_fixed_size(intype)) return tlg_tput_array(d, intype, v->s.p, n);
  const etwlua_value *items = v->s.p;
  int st = tlg_tput_count(d, &off);
  for (size_t k = 0; st == TLG_OK && k < n; k++) st = put_item(d, intype, &items[k]);
  if (st == TLG_OK) tlg_tset_count(d, off, (unsigned)n);
  return st;
}

/* One value. Integers (and float64, whose bits .u reads through the union)
** and short counted strings are stored inline; the rest goes through
** put_item, which also gives the errors. */
static inline int put_slot(tlg_tbuf *d, const tlg_tslot *s, const etwlua_value *v) {
  if (s->seq) return put_seq(d, s->intype, v);
  if (s->size && s->intype != TLG_IN_FLOAT) return tlg_tput_le(d, s->size, v->u);
  if ((s->intype == TLG_IN_COUNTEDANSISTRING || s->intype == TLG_IN_COUNTEDBINARY ||
       s->intype == TLG_IN_BINARY) && v->s.n <= 0xFFFF)
    return v->s.p ? tlg_tput_counted(d, v->s.p, v->s.n) : tlg_tput_counted(d, "", 0);
  return put_item(d, s->intype, v);
}

static int encode(const capi_template *t, const etwlua_value *args, tlg_tbuf *d) {
  int st = TLG_OK;
  for (unsigned i = 0; st == TLG_OK && i < t->t.nslots; i++)
    st = put_slot(d, &t->t.slots[i], &args[i]);
  return st;
}

/* The bytes direct_encode will write, or 0 when a string is longer than a
** counted string can be (put_slot then gives the error). */
static inline size_t direct_len(const capi_template *t, const etwlua_value *args) {
  size_t len = t->fixed_len;
  for (unsigned k = 0; k < t->ncounted; k++) {
    const etwlua_value *v = &args[t->counted[k]];
    size_t n = v->s.p ? v->s.n : 0;
    if (n > 0xFFFF) return 0;
    len += n;
  }
  return len;
}

/* The values of a direct template into q, exactly direct_len bytes (q is
** the event's place in the session ring: nothing past it is written). The
** integer stores are by the slot's size, which is the same on every call
** of a template, so the branches are predicted. */
static inline void direct_encode(const capi_template *t, const etwlua_value *args, uint8_t *q) {
  const uint8_t *op = t->op;      /* in locals: the stores through q may alias *t */
  const unsigned n = t->t.nslots;
  for (unsigned i = 0; i < n; i++) {
    const etwlua_value *v = &args[i];
    switch (op[i]) {
    case 8: tlg_put64(q, v->u); q += 8; continue;
    case 4: tlg_put32(q, (uint32_t)v->u); q += 4; continue;
    case 2: tlg_put16(q, (uint16_t)v->u); q += 2; continue;
    case 1: *q++ = (uint8_t)v->u; continue;
    default: break;
    }
    size_t len = v->s.p ? v->s.n : 0;
    tlg_put16(q, (uint16_t)len);
    tlg_copy(q + 2, v->s.p, len);
    q += 2 + len;
  }
}

/* direct_encode as the engine's fill callback (eng_prepared_write). */
typedef struct direct_args {
  const capi_template *t;
  const etwlua_value *args;
} direct_args;

static void direct_fill(void *ctx, uint8_t *dst) {
  const direct_args *a = ctx;
  direct_encode(a->t, a->args, dst);
}

static int send(const capi_template *t, const uint8_t *data, size_t len,
                const etwlua_guid *activity, const etwlua_guid *related) {
  eng_data blobs[3] = {
    {t->prov->traits, (uint32_t)t->prov->traits_len, ENG_DATA_PROVIDER_META, {0}},
    {t->t.meta, (uint32_t)t->t.meta_len, ENG_DATA_EVENT_META, {0}},
    {data, (uint32_t)len, ENG_DATA_PAYLOAD, {0}},
  };
  return eng_provider_write(t->prov->eng, &t->t.desc, (const tlg_guid *)activity,
                            (const tlg_guid *)related, 3, blobs);
}

/* Any template, any values: slot by slot, with the errors of put_slot. */
static int general_write(const capi_template *t, const etwlua_value *args,
                         const etwlua_guid *activity, const etwlua_guid *related) {
  tlg_tbuf d;
  tlg_tbuf_init(&d);
  int st = encode(t, args, &d);
  st = st == TLG_OK ? send(t, d.p, d.len, activity, related) : capi_from_tlg(st);
  if (d.heap) tlg_tbuf_free(&d);
  return st;
}

/* write and write_ex: one body, so neither calls the other. */
static inline int template_write(const etwlua_template *pub, const etwlua_value *args, size_t n,
                                 const etwlua_guid *activity, const etwlua_guid *related) {
  if (!etwlua_template_enabled(pub)) return ETWLUA_OK;
  const capi_template *t = (const capi_template *)pub;
  if (n != t->t.nslots || (n && !args)) return capi_from_tlg(TLG_E_ARG);
  if (t->direct) {                       /* the common shape: no status per value */
    size_t len = direct_len(t, args);
    if (len && len <= ENG_RESERVE_LOCAL) {  /* encoded in place, in the session's ring */
      direct_args a = {t, args};
      return eng_prepared_write(t->prep, (const tlg_guid *)activity, (const tlg_guid *)related,
                                (uint32_t)len, direct_fill, &a);
    }
  }
  return general_write(t, args, activity, related);
}

int etwlua_template_write_ex(const etwlua_template *t, const etwlua_value *args, size_t n,
                             const etwlua_guid *activity, const etwlua_guid *related) {
  return template_write(t, args, n, activity, related);
}

int etwlua_template_write(const etwlua_template *t, const etwlua_value *args, size_t n) {
  return template_write(t, args, n, NULL, NULL);
}
