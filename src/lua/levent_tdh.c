/*
** levent_tdh.c: the fields of manifest and MOF events, decoded with the
** TRACE_EVENT_INFO blob TdhGetEventInformation gave for them (the Windows
** consumer attaches it to the record; etw.decode_blobs takes one too).
** The payload is walked by engine/win/pure/win_tdh_walk.c; each value is
** turned into the tlg_item a TraceLogging field of the same type would be,
** so values read, print and convert to JSON exactly as TraceLogging ones.
** Pure C over bytes: built and tested on every platform.
*/
#include <stdio.h>
#include <string.h>

#include "lauxetw.h"
#include "levent_tdh.h"
#include "../engine/win/pure/winp.h"

#define NAME_MAX_BYTES 256
#define MAX_FRAMES 40            /* the walker nests at most 16 structs, each maybe in an array */

/* TDH_OUTTYPE -> the TraceLogging OutType that formats the same way. */
static uint8_t tlg_out(uint16_t o) {
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
static uint8_t tlg_in(uint16_t t) {
  if (t >= 1 && t <= 21) return (uint8_t)t;           /* the shared numbering */
  switch (t) {
    case WINP_IN_COUNTEDSTRING: case WINP_IN_REVERSEDCOUNTEDSTRING: return TLG_IN_COUNTEDSTRING;
    case WINP_IN_COUNTEDANSISTRING: case WINP_IN_REVERSEDCOUNTEDANSISTRING:
      return TLG_IN_COUNTEDANSISTRING;
    case WINP_IN_NONNULLTERMINATEDSTRING: case WINP_IN_UNICODECHAR: return TLG_IN_UNICODESTRING;
    case WINP_IN_NONNULLTERMINATEDANSISTRING: case WINP_IN_ANSICHAR: return TLG_IN_ANSISTRING;
    case WINP_IN_SIZET: return TLG_IN_POINTER;
    case WINP_IN_WBEMSID: return TLG_IN_SID;
    default: return TLG_IN_BINARY;                     /* NULL, HEXDUMP */
  }
}

/* A walker item as a tlg_item; the name goes to `name`. */
static void to_item(const etwL_tdh *t, const winp_walk_item *w, int in_array, tlg_item *it,
                    char name[NAME_MAX_BYTES]) {
  memset(it, 0, sizeof *it);
  it->kind = TLG_ITEM_VALUE;
  it->depth = w->depth;
  it->in_array = in_array;
  it->index = w->index;
  it->count = w->count;
  it->value = w->ptr;
  it->value_len = w->len;
  name[0] = 0;
  if (w->name) {
    size_t off = (size_t)(w->name - t->tei);
    winp_utf16le_to_utf8(w->name, (t->tei_len - off) / 2, name, NAME_MAX_BYTES);
  }
  it->field.name = name;
  it->field.name_len = (uint32_t)strlen(name);
  it->field.index = w->prop;
  it->field.in_type = tlg_in(w->intype);
  it->field.out_type = tlg_out(w->outtype);
  it->field.out_present = it->field.out_type != 0;
}

static int walk_status(int rc) {
  return rc == 0 ? 0 : rc == -2 ? ETWL_TDH_SHORT : ETWL_TDH_BAD_SCHEMA;
}

/* ---- names ---- */

static size_t tei_str(const etwL_tdh *t, uint32_t off_at, char *out, size_t cap) {
  out[0] = 0;
  if (!t->tei || t->tei_len < WINP_TEI_OFF_PROPS) return 0;
  winp_tei_string(t->tei, t->tei_len, winp_get32(t->tei + off_at), out, cap);
  return strlen(out);
}

size_t etwL_tdh_event_name(const etwL_tdh *t, char *out, size_t cap) {
  size_t n = tei_str(t, WINP_TEI_OFF_EVENT_NAME, out, cap);
  if (n) return n;
  n = tei_str(t, WINP_TEI_OFF_TASK_NAME, out, cap);
  /* MOF classes (DecodingSource 1, Wbem) name their events Task/Opcode */
  if (t->tei && t->tei_len >= WINP_TEI_OFF_PROPS &&
      winp_get32(t->tei + WINP_TEI_OFF_DECODING_SOURCE) == 1 && n + 2 < cap) {
    char op[NAME_MAX_BYTES];
    size_t k = tei_str(t, WINP_TEI_OFF_OPCODE_NAME, op, sizeof op);
    if (k && n) snprintf(out + n, cap - n, "/%s", op);
    else if (k) snprintf(out, cap, "%s", op);
  }
  return strlen(out);
}

size_t etwL_tdh_provider_name(const etwL_tdh *t, char *out, size_t cap) {
  return tei_str(t, WINP_TEI_OFF_PROVIDER_NAME, out, cap);
}

/* ---- Lua fields ---- */

typedef struct lframe {
  int c, mt;            /* stack slots of the container and its names metatable (0: array) */
  lua_Integer n;        /* values added (struct) */
  int in_array;         /* this container is an element of the parent array */
  uint32_t index;
  char name[NAME_MAX_BYTES];
} lframe;

typedef struct lctx {
  lua_State *L;
  const etwL_tdh *t;
  lframe f[MAX_FRAMES];
  int top;
  uint32_t rest_prop;
} lctx;

static void open_container(lctx *x, int is_array, const winp_walk_item *w) {
  lua_State *L = x->L;
  lframe *f = &x->f[++x->top];
  f->n = 0;
  f->in_array = x->top > 0 && x->f[x->top - 1].mt == 0;
  f->index = w ? w->index : 0;
  f->name[0] = 0;
  if (w) {
    tlg_item tmp;
    to_item(x->t, w, 0, &tmp, f->name);
  }
  if (is_array) {
    lua_createtable(L, w->count < 256 ? (int)w->count : 256, 0);
    f->c = lua_gettop(L);
    f->mt = 0;
    return;
  }
  lua_newtable(L);                                    /* names: the metatable */
  etwL_fields_mt_finish(L);
  f->mt = lua_gettop(L);
  lua_newtable(L);
  f->c = lua_gettop(L);
  lua_pushvalue(L, f->mt);
  lua_setmetatable(L, f->c);
}

/* Add the value on top to frame f (by position in arrays, else by name too). */
static void add(lua_State *L, lframe *f, const char *name, int in_array, uint32_t index) {
  if (!f->mt || in_array) {
    lua_rawseti(L, f->c, (lua_Integer)index + 1);
    return;
  }
  lua_Integer n = ++f->n;
  lua_pushstring(L, name);
  lua_pushvalue(L, -1);
  lua_rawseti(L, f->mt, n);                           /* the order, for pairs() */
  lua_pushvalue(L, -1);
  if (lua_rawget(L, f->c) == LUA_TNIL) {              /* first of that name */
    lua_pop(L, 1);
    lua_pushvalue(L, -2);
    lua_rawset(L, f->c);
  } else {
    lua_pop(L, 2);
  }
  lua_rawseti(L, f->c, n);
}

static void close_container(lctx *x) {
  lua_State *L = x->L;
  lframe *f = &x->f[x->top];
  if (f->mt) {
    lua_pushinteger(L, f->n * 2 + 1);                 /* names may repeat */
    lua_rawseti(L, f->mt, 0);
    lua_remove(L, f->mt);                             /* the container is now on top */
  }
  x->top--;
  add(L, &x->f[x->top], f->name, f->in_array, f->index);
}

static int lua_visit(void *ctx, const winp_walk_item *w) {
  lctx *x = ctx;
  lua_State *L = x->L;
  switch (w->kind) {
    case WINP_W_VALUE: {
      tlg_item it;
      char name[NAME_MAX_BYTES];
      int in_array = x->f[x->top].mt == 0;
      to_item(x->t, w, in_array, &it, name);
      etwL_push_value(L, &it);
      add(L, &x->f[x->top], name, in_array, w->index);
      return 0;
    }
    case WINP_W_ARRAY_BEGIN: case WINP_W_STRUCT_BEGIN:
      if (x->top + 1 >= MAX_FRAMES || !lua_checkstack(L, 8)) return 1;
      open_container(x, w->kind == WINP_W_ARRAY_BEGIN, w);
      return 0;
    case WINP_W_ARRAY_END: case WINP_W_STRUCT_END:
      if (x->top > 0) close_container(x);
      return 0;
    default:
      x->rest_prop = w->prop;
      return 0;
  }
}

int etwL_tdh_push_fields(lua_State *L, const etwL_tdh *t, uint32_t *prop) {
  lctx x;
  x.L = L;
  x.t = t;
  x.top = -1;
  x.rest_prop = 0;
  luaL_checkstack(L, 16, "event fields");
  open_container(&x, 0, NULL);
  int rc = winp_tdh_walk(t->tei, t->tei_len, t->data, t->data_len, t->ptr_size, lua_visit, &x);
  while (x.top > 0) close_container(&x);              /* after an error: keep what we have */
  lua_pushinteger(L, x.f[0].n * 2 + 1);
  lua_rawseti(L, x.f[0].mt, 0);
  lua_remove(L, x.f[0].mt);
  if (prop) *prop = x.rest_prop;
  return rc == 1 ? ETWL_TDH_BAD_SCHEMA : walk_status(rc);
}

/* ---- JSON and text ---- */

typedef struct fframe {
  char close, sep;
  uint8_t first, is_array;
} fframe;

typedef struct fctx {
  const tlg_sink *o;
  const etwL_tdh *t;
  int json;
  fframe f[MAX_FRAMES];
  int top;
  uint32_t rest_prop;
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

static int fmt_visit(void *ctx, const winp_walk_item *w) {
  fctx *x = ctx;
  tlg_item it;
  char name[NAME_MAX_BYTES];
  switch (w->kind) {
    case WINP_W_VALUE:
      to_item(x->t, w, x->f[x->top].is_array, &it, name);
      fkey(x, name);
      tlg_fmt_value(x->o, &it, x->json ? TLG_FMT_JSON : TLG_FMT_TEXT);
      return 0;
    case WINP_W_ARRAY_BEGIN: case WINP_W_STRUCT_BEGIN: {
      int arr = w->kind == WINP_W_ARRAY_BEGIN;
      if (x->top + 1 >= MAX_FRAMES) return 1;
      to_item(x->t, w, 0, &it, name);
      fkey(x, name);
      fput(x, arr ? "[" : "{", 1);
      x->f[++x->top] = (fframe){arr ? ']' : '}', arr || x->json ? ',' : ' ', 1, (uint8_t)arr};
      return 0;
    }
    case WINP_W_ARRAY_END: case WINP_W_STRUCT_END:
      if (x->top > 0) fput(x, &x->f[x->top--].close, 1);
      return 0;
    default:
      x->rest_prop = w->prop;
      return 0;
  }
}

int etwL_tdh_fmt_fields(const tlg_sink *o, const etwL_tdh *t, int mode, uint32_t *prop) {
  fctx x;
  x.o = o;
  x.t = t;
  x.json = mode == TLG_FMT_JSON;
  x.top = 0;
  x.rest_prop = 0;
  x.f[0] = (fframe){'}', x.json ? ',' : ' ', 1, 0};
  if (x.json) fput(&x, "{", 1);
  int rc = winp_tdh_walk(t->tei, t->tei_len, t->data, t->data_len, t->ptr_size, fmt_visit, &x);
  for (; x.top > 0; x.top--) fput(&x, &x.f[x.top].close, 1);
  if (x.json) fput(&x, "}", 1);
  if (prop) *prop = x.rest_prop;
  return rc == 1 ? ETWL_TDH_BAD_SCHEMA : walk_status(rc);
}

void etwL_tdh_error(const etwL_tdh *t, int status, uint32_t prop, char *out, size_t cap) {
  if (status == ETWL_TDH_SHORT) {
    char name[NAME_MAX_BYTES] = "";
    if (t->tei_len >= WINP_TEI_OFF_PROPS + (size_t)WINP_EPI_SIZE * (prop + 1))
      winp_tei_string(t->tei, t->tei_len,
                      winp_get32(t->tei + WINP_TEI_OFF_PROPS + (size_t)WINP_EPI_SIZE * prop + 4),
                      name, sizeof name);
    snprintf(out, cap, "TDH_E_SHORT: the payload does not hold property %lu (\"%s\"); "
             "ev.payload has the bytes", (unsigned long)prop + 1, name);
  } else {
    snprintf(out, cap, "TDH_E_SCHEMA: the TRACE_EVENT_INFO blob is malformed");
  }
}
