/*
** flt_where.c: `where` conditions on payload fields, evaluated on the
** decoded item with the comparison rules of Lua (see flt.h), so that a
** condition tested here agrees with the same test written in Lua.
*/
#include <string.h>

#include "flt.h"
#include "tlg_format.h"
#include "tlg_guid.h"

/* A value as ev.fields holds it, reduced to what conditions compare. */
typedef struct fval {
  int kind;               /* FLT_K_INT, FLT_K_NUM, FLT_K_STR, or 0: another type */
  int64_t i;
  double d;
} fval;

/* String values are compared through this sink: it keeps the first `cap`
** bytes and counts them all (see str_cmp). */
typedef struct sbuf {
  char *p;
  size_t cap, n;
} sbuf;

static void sbuf_write(void *ctx, const char *s, size_t n) {
  sbuf *b = ctx;
  if (b->n < b->cap) {
    size_t k = b->cap - b->n < n ? b->cap - b->n : n;
    memcpy(b->p + b->n, s, k);
  }
  b->n += n;
}

size_t flt_cond_scratch(const flt_cond *c) {
  size_t m = 0;
  for (size_t i = 0; i < c->nvals; i++)
    if (c->vals[i].kind == FLT_K_STR && c->vals[i].len > m) m = c->vals[i].len;
  return m + 1;
}

/* The Lua value of an integer item (levent_fields.c push_int): signed
** types sign-extended, the others' 64 bits as they are; 1-byte integers
** with OutType BOOLEAN are booleans (another type). */
static void int_of(const tlg_item *it, int is_signed, fval *v) {
  unsigned n = it->value_len;
  uint64_t u = flt_uint_le(it->value, n);
  if (n == 1 && it->field.out_type == TLG_OUT_BOOLEAN) return;
  v->kind = FLT_K_INT;
  if (is_signed && n < 8) {
    unsigned sh = 64 - 8 * n;
    v->i = (int64_t)(u << sh) >> sh;
  } else {
    v->i = (int64_t)u;
  }
}

/* Numbers of the value; strings are written to b (its text, as Lua sees
** it). Mirrors etwL_push_value. */
static void value_of(const tlg_item *it, fval *v, sbuf *b) {
  tlg_sink sink = {sbuf_write, b};
  int t = it->field.array == TLG_IN_CUSTOM ? TLG_IN_BINARY : it->field.in_type;
  v->kind = 0;
  switch (t) {
  case TLG_IN_UNICODESTRING: case TLG_IN_COUNTEDSTRING:
    v->kind = FLT_K_STR;
    tlg_fmt_utf16(&sink, it->value, it->value_len);
    break;
  case TLG_IN_ANSISTRING: case TLG_IN_COUNTEDANSISTRING:
  case TLG_IN_BINARY: case TLG_IN_COUNTEDBINARY:
    v->kind = FLT_K_STR;
    sbuf_write(b, (const char *)it->value, it->value_len);
    break;
  case TLG_IN_INT8: case TLG_IN_INT16: case TLG_IN_INT32: case TLG_IN_INT64:
  case TLG_IN_FILETIME:
    int_of(it, 1, v);
    break;
  case TLG_IN_FLOAT: {
    float f;
    memcpy(&f, it->value, 4);
    v->kind = FLT_K_NUM;
    v->d = (double)f;
    break;
  }
  case TLG_IN_DOUBLE:
    v->kind = FLT_K_NUM;
    memcpy(&v->d, it->value, 8);
    break;
  case TLG_IN_BOOL32: case TLG_IN_SYSTEMTIME: break;   /* boolean, table */
  case TLG_IN_GUID: {
    tlg_guid g;
    char text[TLG_GUID_TEXT];
    memcpy(g.b, it->value, 16);
    tlg_guid_format(&g, text);
    v->kind = FLT_K_STR;
    sbuf_write(b, text, TLG_GUID_TEXT - 1);
    break;
  }
  case TLG_IN_SID:
    v->kind = FLT_K_STR;
    tlg_fmt_sid(&sink, it->value, it->value_len);
    break;
  default: int_of(it, 0, v); break;                  /* unsigned, hexint, pointer */
  }
}

enum { UNORDERED = 2 };

/* Integer against float, exactly (as Lua compares them): -1, 0, 1. */
static int cmp_int_num(int64_t i, double f) {
  if (f != f) return UNORDERED;
  if (f >= 0x1p63) return -1;
  if (f < -0x1p63) return 1;
  int64_t fi = (int64_t)f;                           /* toward zero: exact in this range */
  if ((double)fi > f) fi--;                          /* floor */
  if (i != fi) return i < fi ? -1 : 1;
  return f > (double)fi ? -1 : 0;
}

static int cmp_num(const fval *v, const flt_const *c) {
  if (v->kind == FLT_K_INT && c->kind == FLT_K_INT) return v->i < c->i ? -1 : v->i > c->i;
  if (v->kind == FLT_K_INT) return cmp_int_num(v->i, c->d);
  if (c->kind == FLT_K_INT) {
    int r = cmp_int_num(c->i, v->d);
    return r == UNORDERED ? r : -r;
  }
  if (v->d != v->d || c->d != c->d) return UNORDERED;
  return v->d < c->d ? -1 : v->d > c->d;
}

/* Byte order, shorter first on a common prefix (Lua's strcmp in the C
** locale). b holds the value's first b->cap bytes, b->n is its length. */
static int cmp_str(const sbuf *b, const flt_const *c) {
  size_t have = b->n < b->cap ? b->n : b->cap, k = have < c->len ? have : c->len;
  int r = k ? memcmp(b->p, c->s, k) : 0;
  if (r) return r < 0 ? -1 : 1;
  return b->n == c->len ? 0 : b->n < c->len ? -1 : 1;
}

static int holds(int op, int r) {
  if (r == UNORDERED) return op == FLT_NE;
  switch (op) {
  case FLT_EQ: return r == 0;
  case FLT_NE: return r != 0;
  case FLT_LT: return r < 0;
  case FLT_LE: return r <= 0;
  case FLT_GT: return r > 0;
  default: return r >= 0;
  }
}

/* Does value v (its text in b for strings) satisfy c? */
static int cond_holds(const flt_cond *c, const fval *v, const sbuf *b) {
  int applicable = 0;
  for (size_t k = 0; k < c->nvals; k++) {
    const flt_const *x = &c->vals[k];
    if ((x->kind == FLT_K_STR) != (v->kind == FLT_K_STR)) continue;  /* another type */
    applicable = 1;
    int r = v->kind == FLT_K_STR ? cmp_str(b, x) : cmp_num(v, x);
    if (c->op == FLT_NE) {
      if (!holds(FLT_NE, r)) return 0;               /* ~= a list: none of them */
    } else if (holds(c->op, r)) {
      return 1;                                      /* any of them */
    }
  }
  return c->op == FLT_NE && applicable;
}

int flt_cond_item(const flt_cond *c, const tlg_item *it) {
  fval v = {0, 0, 0};
  sbuf b = {c->scratch, c->scratch ? c->scratch_cap : 0, 0};
  value_of(it, &v, &b);
  return v.kind && cond_holds(c, &v, &b);
}

/* Condition c on a field that is not an integer of the shape's fixed part
** (s, when not NULL, is the shape of meta), through a decoded item. Apart
** from flt_where so that its loop keeps a small frame. */
static int cond_item(const flt_shape *s, int i, flt_cond *c,
                     const uint8_t *meta, uint32_t meta_len, const uint8_t *data,
                     uint32_t data_len, const sch_tdh_event *tdh) {
  tlg_item it;
  char namebuf[SCH_TDH_NAME_MAX];
  int r;
  if (s) r = flt_tlg_value(s, i, meta, meta_len, data, data_len, &it);
  else if (meta) r = flt_tlg_scan(meta, meta_len, data, data_len, c->name, c->name_len, &it);
  else if (tdh) r = flt_tdh_value(tdh, c->name, c->name_len, &it, namebuf);
  else r = FLT_MISSING;
  return r == FLT_VALUE && flt_cond_item(c, &it);
}

int flt_where(flt_cache *cache, flt_cond *conds, size_t n, const uint8_t *meta,
              uint32_t meta_len, const uint8_t *data, uint32_t data_len,
              const sch_tdh_event *tdh) {
  const flt_shape *s = meta ? flt_cache_get(cache, meta, meta_len) : NULL;
  for (size_t k = 0; k < n; k++) {
    flt_cond *c = &conds[k];
    int i = -1;
    if (s) {
      i = flt_find_at(cache, s, c->name, c->name_len, &c->slot);
      fval v = {FLT_K_INT, 0, 0};
      int fx = flt_tlg_int(s, i, data, data_len, &v.i);
      if (fx >= 0) {                                 /* an integer: no item, no switch */
        if (!fx || !cond_holds(c, &v, NULL)) return 0;
        continue;
      }
    }
    if (!cond_item(s, i, c, meta, meta_len, data, data_len, tdh)) return 0;
  }
  return 1;
}
