/*
** etwlua_template.c: event templates of the C API (include/etwlua.h) over
** src/tlg/tlg_template.h. A write checks enabled first, then encodes the
** values into a buffer on the stack (the heap only past 256 bytes), so a
** template is never written to and threads can share it.
*/
#include <stdlib.h>
#include <string.h>

#include "etwlua.h"
#include "capi_int.h"
#include "tlg_build.h"
#include "tlg_template.h"

typedef struct capi_template {
  etwlua_template pub;  /* first: the handle the caller holds */
  const capi_provider *prov;
  tlg_template t;
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
  capi_template *t = malloc(sizeof *t);
  if (!t) return ENG_E_NOMEM;
  int st = tlg_tmpl_init(&t->t, name, strlen(name), &desc, 0, tf, n, NULL);
  if (st != TLG_OK) {
    free(t);
    return capi_from_tlg(st);
  }
  t->prov = pub->impl;
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

int etwlua_template_write_ex(const etwlua_template *pub, const etwlua_value *args, size_t n,
                             const etwlua_guid *activity, const etwlua_guid *related) {
  if (!etwlua_template_enabled(pub)) return ETWLUA_OK;
  const capi_template *t = (const capi_template *)pub;
  if (n != t->t.nslots || (n && !args)) return capi_from_tlg(TLG_E_ARG);
  tlg_tbuf d;
  tlg_tbuf_init(&d);
  int st = encode(t, args, &d);
  if (st == TLG_OK) {
    eng_data blobs[3] = {
      {t->prov->traits, (uint32_t)t->prov->traits_len, ENG_DATA_PROVIDER_META, {0}},
      {t->t.meta, (uint32_t)t->t.meta_len, ENG_DATA_EVENT_META, {0}},
      {d.p, (uint32_t)d.len, ENG_DATA_PAYLOAD, {0}},
    };
    st = eng_provider_write(t->prov->eng, &t->t.desc, (const tlg_guid *)activity,
                            (const tlg_guid *)related, 3, blobs);
  } else {
    st = capi_from_tlg(st);
  }
  if (d.heap) tlg_tbuf_free(&d);
  return st;
}

int etwlua_template_write(const etwlua_template *t, const etwlua_value *args, size_t n) {
  return etwlua_template_write_ex(t, args, n, NULL, NULL);
}
