/*
** sch_tdh_fmt.c: manifest / MOF event fields from their TDH schema
** (TRACE_EVENT_INFO bytes) as our codec's items and text: the event and
** provider names, each walked value (sch_tdh_walk.c) turned into the
** tlg_item a TraceLogging field of the same type would be, so values read,
** print and convert to JSON exactly as TraceLogging ones, and the JSON /
** text of all fields. Pure: built and fuzzed on every platform.
*/
#include <stdio.h>
#include <string.h>

#include "sch_tdh.h"
#include "schema_map.h"
#include "tlg_le.h"
#include "tlg_utf16.h"

#define MAX_FRAMES 40            /* the walker nests at most 16 structs, each maybe in an array */

/* TDH_OUTTYPE -> the TraceLogging OutType that formats the same way. */
uint8_t sch_tdh_tlg_out(uint16_t o) {
  switch (o) {
    case 13: return TLG_OUT_BOOLEAN;
    case 15: case 16: case 17: case 18: case 19: return TLG_OUT_HEX;
    case 20: return TLG_OUT_PID;
    case 21: return TLG_OUT_TID;
    case 22: return TLG_OUT_PORT;
    case 23: return TLG_OUT_IPV4;
    case 24: return TLG_OUT_IPV6;
    case 25: return TLG_OUT_SOCKETADDRESS;
    case 28: return TLG_OUT_XML;
    case 30: return TLG_OUT_WIN32ERROR;
    case 31: return TLG_OUT_NTSTATUS;
    case 32: return TLG_OUT_HRESULT;
    case 34: return TLG_OUT_JSON;
    case 33: case 35: case 36: case 37: case 38: return (uint8_t)o;   /* same numbers */
    default: return TLG_OUT_NULL;
  }
}

/* TDH_INTYPE -> the TraceLogging InType whose value bytes look the same
** (the walker strips counts and terminators). */
uint8_t sch_tdh_tlg_in(uint16_t t) {
  if (t >= 1 && t <= 21) return (uint8_t)t;           /* the shared numbering */
  switch (t) {
    case SCH_IN_COUNTEDSTRING: case SCH_IN_REVERSEDCOUNTEDSTRING: return TLG_IN_COUNTEDSTRING;
    case SCH_IN_COUNTEDANSISTRING: case SCH_IN_REVERSEDCOUNTEDANSISTRING:
      return TLG_IN_COUNTEDANSISTRING;
    case SCH_IN_NONNULLTERMINATEDSTRING: case SCH_IN_UNICODECHAR: return TLG_IN_UNICODESTRING;
    case SCH_IN_NONNULLTERMINATEDANSISTRING: case SCH_IN_ANSICHAR: return TLG_IN_ANSISTRING;
    case SCH_IN_SIZET: return TLG_IN_POINTER;
    case SCH_IN_WBEMSID: return TLG_IN_SID;
    default: return TLG_IN_BINARY;                     /* NULL, HEXDUMP */
  }
}

/* A walker item as a tlg_item; the name goes to `name`. */
void sch_tdh_item(const sch_tdh_event *t, const sch_walk_item *w, int in_array, tlg_item *it,
                    char name[SCH_TDH_NAME_MAX]) {
  memset(it, 0, sizeof *it);
  it->kind = TLG_ITEM_VALUE;
  it->depth = w->depth;
  it->in_array = in_array;
  it->index = w->index;
  it->count = w->count;
  it->value = w->ptr;
  it->value_len = w->len;
  if (!name) {                         /* the caller has the name already */
    it->field.name = "";
  } else {
    name[0] = 0;
    if (w->name) {
      size_t off = (size_t)(w->name - t->tei);
      tlg_utf16_to_utf8(w->name, (t->tei_len - off) / 2, name, SCH_TDH_NAME_MAX);
    }
    it->field.name = name;
    it->field.name_len = (uint32_t)strlen(name);
  }
  it->field.index = w->prop;
  it->field.in_type = sch_tdh_tlg_in(w->intype);
  it->field.out_type = sch_tdh_tlg_out(w->outtype);
  it->field.out_present = it->field.out_type != 0;
}

/* Forwards to the caller's visitor and notes where the payload ran out. */
typedef struct run_ctx {
  sch_walk_fn fn;
  void *ctx;
  uint32_t rest_prop;
} run_ctx;

static int run_visit(void *ctx, const sch_walk_item *w) {
  run_ctx *r = ctx;
  if (w->kind == SCH_W_REST) r->rest_prop = w->prop;
  return r->fn ? r->fn(r->ctx, w) : 0;
}

int sch_tdh_run(const sch_tdh_event *t, sch_walk_fn fn, void *ctx, uint32_t *prop) {
  run_ctx r = {fn, ctx, 0};
  int rc = sch_tdh_walk(t->tei, t->tei_len, t->data, t->data_len, t->ptr_size, run_visit, &r);
  if (prop) *prop = r.rest_prop;
  return rc == 0 ? SCH_TDH_OK : rc == -2 ? SCH_TDH_SHORT : SCH_TDH_BAD_SCHEMA;
}

/* ---- value maps ---- */

size_t sch_tdh_mapped(const sch_tdh_event *t, const sch_walk_item *w, char *out, size_t cap) {
  if (cap) out[0] = 0;
  if (w->kind != SCH_W_VALUE || !w->is_int || !w->map_name_off) return 0;
  return schema_map_lookup(t->tei, t->tei_len, w->map_name_off, w->u, out, cap);
}

/* ---- names ---- */

static size_t tei_str(const sch_tdh_event *t, uint32_t off_at, char *out, size_t cap) {
  out[0] = 0;
  if (!t->tei || t->tei_len < SCH_TEI_OFF_PROPS) return 0;
  sch_tei_string(t->tei, t->tei_len, tlg_le32(t->tei + off_at), out, cap);
  return strlen(out);
}

size_t sch_tdh_event_name(const sch_tdh_event *t, char *out, size_t cap) {
  size_t n = tei_str(t, SCH_TEI_OFF_EVENT_NAME, out, cap);
  if (n) return n;
  n = tei_str(t, SCH_TEI_OFF_TASK_NAME, out, cap);
  /* MOF classes (DecodingSource 1, Wbem) name their events Task/Opcode */
  if (t->tei && t->tei_len >= SCH_TEI_OFF_PROPS &&
      tlg_le32(t->tei + SCH_TEI_OFF_DECODING_SOURCE) == 1 && n + 2 < cap) {
    char op[SCH_TDH_NAME_MAX];
    size_t k = tei_str(t, SCH_TEI_OFF_OPCODE_NAME, op, sizeof op);
    if (k && n) snprintf(out + n, cap - n, "/%s", op);
    else if (k) snprintf(out, cap, "%s", op);
  }
  return strlen(out);
}

size_t sch_tdh_provider_name(const sch_tdh_event *t, char *out, size_t cap) {
  return tei_str(t, SCH_TEI_OFF_PROVIDER_NAME, out, cap);
}

/* ---- JSON and text ---- */

typedef struct fframe {
  char close, sep;
  uint8_t first, is_array;
} fframe;

typedef struct fctx {
  const tlg_sink *o;
  const sch_tdh_event *t;
  int json;
  fframe f[MAX_FRAMES];
  int top;
} fctx;

static void fput(fctx *x, const char *s, size_t n) { x->o->write(x->o->ctx, s, n); }

static void fkey(fctx *x, const char *name) {
  fframe *f = &x->f[x->top];
  if (!f->first) fput(x, &f->sep, 1);
  f->first = 0;
  if (f->is_array) return;
  if (x->json) {
    tlg_fmt_json_string(x->o, name, strlen(name));
    fput(x, ":", 1);
  } else {
    fput(x, name, strlen(name));
    fput(x, "=", 1);
  }
}

static int fmt_visit(void *ctx, const sch_walk_item *w) {
  fctx *x = ctx;
  tlg_item it;
  char name[SCH_TDH_NAME_MAX];
  switch (w->kind) {
    case SCH_W_VALUE: {
      sch_tdh_item(x->t, w, x->f[x->top].is_array, &it, name);
      fkey(x, name);
      tlg_fmt_value(x->o, &it, x->json ? TLG_FMT_JSON : TLG_FMT_TEXT);
      char mapped[SCH_TDH_NAME_MAX];
      if (!sch_tdh_mapped(x->t, w, mapped, sizeof mapped)) return 0;
      /* the value map's name for it: text "X=3(Name)"; JSON a sibling
      ** "X.mapped":"Name" after the number (array items: text only) */
      if (!x->json) {
        fput(x, "(", 1);
        fput(x, mapped, strlen(mapped));
        fput(x, ")", 1);
      } else if (!x->f[x->top].is_array) {
        char key[SCH_TDH_NAME_MAX + 8];
        snprintf(key, sizeof key, "%s.mapped", name);
        fkey(x, key);
        tlg_fmt_json_string(x->o, mapped, strlen(mapped));
      }
      return 0;
    }
    case SCH_W_ARRAY_BEGIN: case SCH_W_STRUCT_BEGIN: {
      int arr = w->kind == SCH_W_ARRAY_BEGIN;
      if (x->top + 1 >= MAX_FRAMES) return 1;
      sch_tdh_item(x->t, w, 0, &it, name);
      fkey(x, name);
      fput(x, arr ? "[" : "{", 1);
      x->f[++x->top] = (fframe){arr ? ']' : '}', arr || x->json ? ',' : ' ', 1, (uint8_t)arr};
      return 0;
    }
    case SCH_W_ARRAY_END: case SCH_W_STRUCT_END:
      if (x->top > 0) fput(x, &x->f[x->top--].close, 1);
      return 0;
    default:
      return 0;
  }
}

int sch_tdh_fmt_fields(const tlg_sink *o, const sch_tdh_event *t, int mode, uint32_t *prop) {
  fctx x;
  x.o = o;
  x.t = t;
  x.json = mode == TLG_FMT_JSON;
  x.top = 0;
  x.f[0] = (fframe){'}', x.json ? ',' : ' ', 1, 0};
  if (x.json) fput(&x, "{", 1);
  int st = sch_tdh_run(t, fmt_visit, &x, prop);
  for (; x.top > 0; x.top--) fput(&x, &x.f[x.top].close, 1);
  if (x.json) fput(&x, "}", 1);
  return st;
}

void sch_tdh_error(const sch_tdh_event *t, int status, uint32_t prop, char *out, size_t cap) {
  if (status == SCH_TDH_SHORT) {
    char name[SCH_TDH_NAME_MAX] = "";
    if (t->tei_len >= SCH_TEI_OFF_PROPS + (size_t)SCH_EPI_SIZE * (prop + 1))
      sch_tei_string(t->tei, t->tei_len,
                      tlg_le32(t->tei + SCH_TEI_OFF_PROPS + (size_t)SCH_EPI_SIZE * prop + 4),
                      name, sizeof name);
    snprintf(out, cap, "TDH_E_SHORT: the payload does not hold property %lu (\"%s\"); "
             "ev.payload has the bytes", (unsigned long)prop + 1, name);
  } else {
    snprintf(out, cap, "TDH_E_SCHEMA: the TRACE_EVENT_INFO blob is malformed");
  }
}
