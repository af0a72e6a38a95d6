/*
** leventbuilder.c: etw.EventBuilder, the traceloggingdynamic EventBuilder in
** Lua (spec §2.3, §2.4), over src/tlg/tlg_build.h; and etw.decode.
** Argument checking and conversion only: a call that raises has changed nothing.
**
** Speed: an event is a reset and a few adds, each a method call, so the
** metatable's __index is the methods table itself (lookup without a C call),
** `self` is recognised by a tag word in the userdata rather than by
** luaL_checkudata's registry lookup, and the common case (no out_type or tag
** argument) reads nothing it does not need.
*/
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "lauxetw.h"
#include "lvalue.h"
#include "tlg_build.h"
#include "tlg_guid.h"

/* add_scalar stays one shared function (a copy per method measured slower);
** the value helpers are folded into it. */
#if defined(__GNUC__)
#define INLINE inline __attribute__((always_inline))
#define NOINLINE __attribute__((noinline))
#else
#define INLINE inline
#define NOINLINE
#endif

typedef etwL_method method;

#define I32_RANGE (-2147483647 - 1), 2147483647
#define U32_RANGE 0, 4294967295
#define I64_RANGE LUA_MININTEGER, LUA_MAXINTEGER

#if UINTPTR_MAX > 0xFFFFFFFFu
#define PTR(s, u, hex)                                       \
  {s, TLG_IN_INT64, K_INT, 0, 1, I64_RANGE, NULL},           \
  {u, TLG_IN_UINT64, K_U64, 0, 1, 0, 0, NULL},               \
  {hex, TLG_IN_HEXINT64, K_U64, 0, 1, 0, 0, NULL}
#else
#define PTR(s, u, hex)                                                          \
  {s, TLG_IN_INT32, K_INT, 0, 1, I32_RANGE, "value must be -2147483648..2147483647"}, \
  {u, TLG_IN_UINT32, K_INT, 0, 1, U32_RANGE, "value must be 0..4294967295"},   \
  {hex, TLG_IN_HEXINT32, K_INT, 0, 1, U32_RANGE, "value must be 0..4294967295"}
#endif

/* The 31 value methods; all but add_binary_bytes also have a _seq form.
** add_uint8 also takes -128..-1 (their low byte): that was the only way to
** log 0x80..0xFF with the Python module, which packs uint8 signed (§8.1). */
static const method methods[] = {
  {"add_zstr16", TLG_IN_UNICODESTRING, K_STR16, 0, 1, 0, 0, NULL},
  {"add_zstr16_bytes_utf16le", TLG_IN_UNICODESTRING, K_BYTES, 0, 1, 0, 0, NULL},
  {"add_zstr8", TLG_IN_ANSISTRING, K_BYTES, TLG_OUT_UTF8, 1, 0, 0, NULL},
  {"add_zstr8_bytes", TLG_IN_ANSISTRING, K_BYTES, 0, 1, 0, 0, NULL},
  {"add_int8", TLG_IN_INT8, K_INT, 0, 1, -128, 127, "value must be -128..127"},
  {"add_uint8", TLG_IN_UINT8, K_INT, 0, 1, -128, 255, "value must be 0..255"},
  {"add_int16", TLG_IN_INT16, K_INT, 0, 1, -32768, 32767, "value must be -32768..32767"},
  {"add_uint16", TLG_IN_UINT16, K_INT, 0, 1, 0, 65535, "value must be 0..65535"},
  {"add_int32", TLG_IN_INT32, K_INT, 0, 1, I32_RANGE, "value must be -2147483648..2147483647"},
  {"add_uint32", TLG_IN_UINT32, K_INT, 0, 1, U32_RANGE, "value must be 0..4294967295"},
  {"add_int64", TLG_IN_INT64, K_INT, 0, 1, I64_RANGE, NULL},
  {"add_uint64", TLG_IN_UINT64, K_U64, 0, 1, 0, 0, NULL},
  {"add_float32", TLG_IN_FLOAT, K_F32, 0, 1, 0, 0, NULL},
  {"add_float64", TLG_IN_DOUBLE, K_F64, 0, 1, 0, 0, NULL},
  {"add_bool32", TLG_IN_BOOL32, K_BOOL32, 0, 1, 0, 0, NULL},
  {"add_binary_bytes", TLG_IN_BINARY, K_BYTES, 0, 0, 0, 0, NULL},
  {"add_guid", TLG_IN_GUID, K_GUID, 0, 1, 0, 0, NULL},
  {"add_guid_bytes_le", TLG_IN_GUID, K_BYTES, 0, 1, 0, 0, NULL},
  {"add_filetime_int64", TLG_IN_FILETIME, K_INT, 0, 1, I64_RANGE, NULL},
  {"add_systemtime_bytes", TLG_IN_SYSTEMTIME, K_BYTES, 0, 1, 0, 0, NULL},
  {"add_sid_bytes", TLG_IN_SID, K_BYTES, 0, 1, 0, 0, NULL},
  {"add_hexint32", TLG_IN_HEXINT32, K_INT, 0, 1, U32_RANGE, "value must be 0..4294967295"},
  {"add_hexint64", TLG_IN_HEXINT64, K_U64, 0, 1, 0, 0, NULL},
  {"add_str16", TLG_IN_COUNTEDSTRING, K_STR16, 0, 1, 0, 0, NULL},
  {"add_str16_bytes_utf16le", TLG_IN_COUNTEDSTRING, K_BYTES, 0, 1, 0, 0, NULL},
  {"add_str8", TLG_IN_COUNTEDANSISTRING, K_BYTES, TLG_OUT_UTF8, 1, 0, 0, NULL},
  {"add_str8_bytes", TLG_IN_COUNTEDANSISTRING, K_BYTES, 0, 1, 0, 0, NULL},
  {"add_cbinary_bytes", TLG_IN_COUNTEDBINARY, K_BYTES, 0, 1, 0, 0, NULL},
  PTR("add_intptr", "add_uintptr", "add_hexintptr"),
};

#define NMETHODS (sizeof methods / sizeof methods[0])

/* Its address marks the userdata blocks that are builders. Lua code cannot
** write bytes into a userdata, so only C code could forge it. */
static char builder_tag; /* not const: distinct objects, never merged */

typedef struct lbuilder {
  const void *tag;  /* &builder_tag */
  tlg_builder b;
} lbuilder;

/* Two API calls and a compare, safe for any value: a block too small to
** hold an lbuilder is never read. */
static inline tlg_builder *checkbuilder(lua_State *L, int idx) {
  lbuilder *u = lua_touserdata(L, idx);
  if (u && lua_rawlen(L, idx) >= sizeof *u && u->tag == &builder_tag) return &u->b;
  luaL_typeerror(L, idx, ETWL_EVENTBUILDER);
  return NULL;
}

tlg_builder *etwL_checkbuilder(lua_State *L, int idx) { return checkbuilder(L, idx); }

void etwL_checkcomplete(lua_State *L, tlg_builder *b, const char *fname) {
  const char *name;
  size_t len;
  unsigned declared, has;
  if (!tlg_build_open_struct(b, &name, &len, &declared, &has)) return;
  luaL_error(L, "%s: struct '%s' declares %d fields, has %d", fname,
             lua_pushlstring(L, name, len), (int)declared, (int)has);
}

/* Argument errors name the method and count arguments after self however
** the method was called (luaL_argerror says '?' in pcall(eb.add_x, eb, ...)). */
static int arg_error(lua_State *L, const char *fname, int idx, const char *msg) {
  return luaL_error(L, "bad argument #%d to '%s' (%s)", idx - 1, fname, msg);
}

static int type_error(lua_State *L, const char *fname, int idx, const char *what) {
  const char *msg = lua_pushfstring(L, "%s expected, got %s", what, luaL_typename(L, idx));
  return arg_error(L, fname, idx, msg);
}

/* Names and byte values: strings only, never numbers converted in place. */
static const char *check_bytes(lua_State *L, const char *fname, int idx, size_t *len) {
  if (lua_type(L, idx) != LUA_TSTRING) type_error(L, fname, idx, "string");
  return lua_tolstring(L, idx, len);
}

static lua_Integer opt_int(lua_State *L, const char *fname, int idx, lua_Integer dflt) {
  int isint;
  if (lua_isnoneornil(L, idx)) return dflt;
  lua_Integer i = lua_tointegerx(L, idx, &isint);
  if (isint) return i;
  if (lua_type(L, idx) == LUA_TNUMBER)
    return arg_error(L, fname, idx, "number has no integer representation");
  return type_error(L, fname, idx, "integer");
}

/* Status codes that are about the value rather than the builder. */
static int is_value_error(int st) {
  switch (st) {
  case TLG_E_GUID_SIZE: case TLG_E_SYSTEMTIME_SIZE: case TLG_E_SID_SIZE:
  case TLG_E_STRUCT_COUNT: case TLG_E_UTF16_ODD: case TLG_E_COUNTED:
  case TLG_E_UTF8: case TLG_E_FLOAT:
    return 1;
  default:
    return 0;
  }
}

/* Raise for a failed add; the builder is unchanged at this point. */
static int add_error(lua_State *L, const char *fname, int st, int item) {
  if (st == TLG_E_NAME_NUL) return luaL_error(L, "%s: field name must not contain NUL", fname);
  if (!is_value_error(st)) return etwL_tlgerror(L, fname, st);
  if (item) return arg_error(L, fname, 3, lua_pushfstring(L, "item %d: %s", item, tlg_strerror(st)));
  return arg_error(L, fname, 3, tlg_strerror(st));
}

/* --- values -------------------------------------------------------------- */

typedef etwL_value value;
typedef etwL_errbuf errbuf;

static const char *expected(lua_State *L, int idx, const char *what, errbuf *e) {
  snprintf(e->s, sizeof e->s, "%s expected, got %s", what, luaL_typename(L, idx));
  return e->s;
}

static const char *get_int(lua_State *L, int idx, const method *m, value *v, errbuf *e) {
  int isint;
  if (lua_type(L, idx) != LUA_TNUMBER) return expected(L, idx, "integer", e);
  lua_Integer i = lua_tointegerx(L, idx, &isint);
  if (!isint) return "number has no integer representation";
  if (i < m->min || i > m->max) return m->range;
  v->bits = (uint64_t)i;
  return NULL;
}

/* Lua integers are 64-bit signed, so values of 2^63 and above come as the
** same 64 bits (negative), or as a float that holds a whole number. */
static const char *get_u64(lua_State *L, int idx, value *v, errbuf *e) {
  int isint;
  if (lua_type(L, idx) != LUA_TNUMBER) return expected(L, idx, "integer", e);
  lua_Integer i = lua_tointegerx(L, idx, &isint);
  if (isint) { v->bits = (uint64_t)i; return NULL; }
  lua_Number n = lua_tonumber(L, idx);
  if (n >= 0x1p63 && n < 0x1p64 && n == floor(n)) { v->bits = (uint64_t)n; return NULL; }
  return "number has no 64-bit integer representation";
}

static const char *get_float(lua_State *L, int idx, const method *m, value *v, errbuf *e) {
  if (lua_type(L, idx) != LUA_TNUMBER) return expected(L, idx, "number", e);
  double d = (double)lua_tonumber(L, idx);
  if (m->kind == K_F64) {
    memcpy(&v->bits, &d, 8);
    return NULL;
  }
  uint32_t bits;
  if (tlg_f32_bits(d, &bits) != TLG_OK) return "value too large for float32";
  v->bits = bits;
  return NULL;
}

static const char *get_bool32(lua_State *L, int idx, value *v, errbuf *e) {
  static const method i32 = {"", 0, K_INT, 0, 0, I32_RANGE,
                             "value must be a boolean or -2147483648..2147483647"};
  if (lua_type(L, idx) == LUA_TBOOLEAN) {
    v->bits = (uint64_t)lua_toboolean(L, idx);
    return NULL;
  }
  if (lua_type(L, idx) != LUA_TNUMBER) return expected(L, idx, "boolean or integer", e);
  return get_int(L, idx, &i32, v, e);
}

static const char *get_guid(lua_State *L, int idx, value *v, errbuf *e) {
  size_t len;
  if (lua_type(L, idx) != LUA_TSTRING) return expected(L, idx, "GUID string", e);
  const char *s = lua_tolstring(L, idx, &len);
  if (tlg_guid_parse(s, len, &v->g) != TLG_OK)
    return "GUID must look like xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
  return NULL;
}

/* Read the value at idx for method m. Never raises (so it can run while a
** sequence is half-built); returns NULL or the rule that was broken. */
static INLINE const char *get_value(lua_State *L, int idx, const method *m, value *v, errbuf *e) {
  switch (m->kind) {
  case K_INT: return get_int(L, idx, m, v, e);
  case K_U64: return get_u64(L, idx, v, e);
  case K_F32: case K_F64: return get_float(L, idx, m, v, e);
  case K_BOOL32: return get_bool32(L, idx, v, e);
  case K_GUID: return get_guid(L, idx, v, e);
  default: /* K_BYTES, K_STR16 */
    if (lua_type(L, idx) != LUA_TSTRING) return expected(L, idx, "string", e);
    v->p = lua_tolstring(L, idx, &v->n);
    return NULL;
  }
}

const char *etwL_getvalue(lua_State *L, int idx, const etwL_method *m, etwL_value *v,
                          etwL_errbuf *e) {
  return get_value(L, idx, m, v, e);
}

const etwL_method *etwL_findmethod(const char *type, size_t len) {
  for (size_t i = 0; i < NMETHODS; i++) {
    const char *n = methods[i].name + 4; /* past "add_" */
    if (strlen(n) == len && memcmp(n, type, len) == 0) return &methods[i];
  }
  return NULL;
}

static INLINE int put_scalar(tlg_builder *b, const tlg_build_field *f, const method *m, const value *v) {
  switch (m->kind) {
  case K_BYTES: return tlg_build_add_bytes(b, f, m->intype, v->p, v->n);
  case K_STR16: return tlg_build_add_str16(b, f, m->intype, v->p, v->n);
  case K_GUID: return tlg_build_add_bytes(b, f, m->intype, v->g.b, 16);
  default: return tlg_build_add_fixed(b, f, m->intype, v->bits);
  }
}

static int put_item(tlg_builder *b, tlg_seq *s, const method *m, const value *v) {
  switch (m->kind) {
  case K_BYTES: return tlg_build_seq_bytes(b, s, v->p, v->n);
  case K_STR16: return tlg_build_seq_str16(b, s, v->p, v->n);
  case K_GUID: return tlg_build_seq_bytes(b, s, v->g.b, 16);
  default: return tlg_build_seq_fixed(b, s, v->bits);
  }
}

/* --- add methods: (self, name, value [, out_type [, tag]]) ------------------ */

/* Name at 2, out_type at 4 (default m->out_type), tag at 5; masked, as in §3.4. */
static void check_field(lua_State *L, const char *fname, const method *m, tlg_build_field *f) {
  f->name = check_bytes(L, fname, 2, &f->name_len);
  f->out_type = m->out_type;
  f->tag = 0;
  if (lua_gettop(L) >= 4) { /* one call instead of two lua_type in the common case */
    f->out_type = (uint64_t)opt_int(L, fname, 4, m->out_type);
    f->tag = (uint64_t)opt_int(L, fname, 5, 0);
  }
}

/* add_X(name, value [, out_type [, tag]]) for the method m. */
static NOINLINE int add_scalar(lua_State *L, const method *m) {
  tlg_builder *b = checkbuilder(L, 1);
  tlg_build_field f;
  value v;
  errbuf e;
  check_field(L, m->name, m, &f);
  const char *bad = get_value(L, 3, m, &v, &e);
  if (bad) return arg_error(L, m->name, 3, bad);
  int st = put_scalar(b, &f, m, &v);
  if (st != TLG_OK) return add_error(L, m->name, st, 0);
  lua_pushvalue(L, 1);  /* self, for chaining */
  return 1;
}

/* One tiny C function per add method instead of a closure over its entry:
** the entry is a constant argument, not an upvalue read through the API. */
#define ADD_FN(i) static int l_add_##i(lua_State *L) { return add_scalar(L, &methods[i]); }
#define ADD_NAME(i) l_add_##i,
#define EACH_METHOD(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
  X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) \
  X(26) X(27) X(28) X(29) X(30)
EACH_METHOD(ADD_FN)
static const lua_CFunction add_fns[] = {EACH_METHOD(ADD_NAME)};
_Static_assert(sizeof add_fns / sizeof add_fns[0] == NMETHODS, "one l_add_N per method");

/* Items are read with raw access (no metamethods, so nothing can raise) and
** appended one by one; on a bad item the sequence is rolled back first. */
static int l_add_seq(lua_State *L) {
  const method *m = lua_touserdata(L, lua_upvalueindex(1));
  const char *fname = lua_tostring(L, lua_upvalueindex(2));
  tlg_builder *b = etwL_checkbuilder(L, 1);
  tlg_build_field f;
  tlg_mark mark;
  tlg_seq s;
  check_field(L, fname, m, &f);
  if (lua_type(L, 3) != LUA_TTABLE) type_error(L, fname, 3, "table");
  lua_Unsigned n = lua_rawlen(L, 3);
  tlg_build_mark(b, &mark);
  int st = tlg_build_seq_begin(b, &f, m->intype, &s);
  if (st != TLG_OK) return add_error(L, fname, st, 0);
  for (lua_Unsigned i = 1; i <= n; i++) {
    value v;
    errbuf e;
    lua_rawgeti(L, 3, (lua_Integer)i);                    /* stack: ... item */
    const char *bad = get_value(L, -1, m, &v, &e);
    if (!bad) st = put_item(b, &s, m, &v);
    lua_pop(L, 1);  /* `bad` is static or in e, never in the popped value */
    if (bad || st != TLG_OK) {
      tlg_build_rollback(b, &mark);
      if (bad) return arg_error(L, fname, 3, lua_pushfstring(L, "item %d: %s", (int)i, bad));
      return add_error(L, fname, st, (int)i);
    }
  }
  lua_pushvalue(L, 1);  /* self, for chaining */
  return 1;
}

/* add_struct(name, field_count [, tag]) */
static int l_add_struct(lua_State *L) {
  tlg_builder *b = etwL_checkbuilder(L, 1);
  tlg_build_field f = {NULL, 0, 0, 0};
  f.name = check_bytes(L, "add_struct", 2, &f.name_len);
  if (lua_isnoneornil(L, 3)) type_error(L, "add_struct", 3, "integer");
  lua_Integer count = opt_int(L, "add_struct", 3, 0);
  f.tag = (uint64_t)opt_int(L, "add_struct", 4, 0);
  if (count < 1 || count > TLG_MAX_STRUCT)
    return arg_error(L, "add_struct", 3, "field count must be 1..127");
  int st = tlg_build_add_struct(b, &f, (unsigned)count);
  if (st == TLG_E_DEPTH)
    return luaL_error(L, "add_struct: struct '%s' would be nested %d deep; at most %d "
                      "(deeper fields are not decoded)", f.name, (int)b->depth + 1,
                      TLG_MAX_DEPTH - 1);
  if (st != TLG_OK) return add_error(L, "add_struct", st, 0);
  lua_pushvalue(L, 1);  /* self, for chaining */
  return 1;
}

/* --- reset ---------------------------------------------------------------- */

/* Descriptor parameters in Python's positional order (spec §2.3, §8.11). */
static const struct dparam {
  const char *name;
  lua_Integer max, dflt; /* max < 0: any 64-bit value */
  const char *rule;
} dparams[] = {
  {"level", 255, 5, "level must be 0..255"},
  {"keyword", -1, 1, NULL},
  {"opcode", 255, 0, "opcode must be 0..255"},
  {"id", 65535, 0, "id must be 0..65535"},
  {"version", 255, 0, "version must be 0..255"},
  {"tag", TLG_MAX_TAG, 0, "tag must fit in 28 bits (0..0x0FFFFFFF)"},
  {"task", 65535, 0, "task must be 0..65535"},
  {"channel", 255, 11, "channel must be 0..255"},
};
#define NDPARAMS 8

/* Parameter k from stack index idx (none or nil: its default). Returns NULL
** or the rule broken. */
static const char *get_dparam(lua_State *L, int idx, int k, uint64_t *out, errbuf *e) {
  const struct dparam *p = &dparams[k];
  const method range = {"", 0, K_INT, 0, 0, 0, p->max, p->rule};
  value v = {0, NULL, 0, {{0}}};
  const char *bad;
  if (lua_isnoneornil(L, idx)) { *out = (uint64_t)p->dflt; return NULL; }
  bad = p->max < 0 ? get_u64(L, idx, &v, e) : get_int(L, idx, &range, &v, e);
  if (bad && bad != p->rule) { /* a type error: say which parameter */
    char tmp[sizeof e->s + 16]; /* room for "channel: " + a full message */
    snprintf(tmp, sizeof tmp, "%s: %s", p->name, bad);
    memcpy(e->s, tmp, sizeof e->s - 1);
    e->s[sizeof e->s - 1] = '\0';
    bad = e->s;
  }
  *out = v.bits;
  return bad;
}

/* reset(name, {level=, ...}): every key must be a known parameter. */
static void get_named(lua_State *L, uint64_t vals[NDPARAMS]) {
  errbuf e;
  lua_pushnil(L);
  while (lua_next(L, 3)) {                    /* stack: ... key value */
    int known = 0;
    if (lua_type(L, -2) == LUA_TSTRING) {
      const char *key = lua_tostring(L, -2);
      for (int k = 0; k < NDPARAMS; k++) known |= strcmp(key, dparams[k].name) == 0;
    }
    if (!known) {
      lua_pushvalue(L, -2);
      arg_error(L, "reset", 3, lua_pushfstring(L, "unknown option '%s'", luaL_tolstring(L, -1, NULL)));
    }
    lua_pop(L, 1);
  }
  for (int k = 0; k < NDPARAMS; k++) {
    lua_getfield(L, 3, dparams[k].name);
    const char *bad = get_dparam(L, -1, k, &vals[k], &e);
    if (bad) arg_error(L, "reset", 3, bad);
    lua_pop(L, 1);
  }
}

/* Descriptor parameters from 3 on, named or positional. */
static void get_dparams(lua_State *L, uint64_t vals[NDPARAMS]) {
  errbuf e;
  int given = lua_gettop(L) - 2; /* positional parameters passed */
  if (lua_type(L, 3) == LUA_TTABLE) {
    get_named(L, vals);
    return;
  }
  for (int k = 0; k < NDPARAMS; k++) {
    const char *bad = NULL;
    if (k < given) bad = get_dparam(L, 3 + k, k, &vals[k], &e);
    else vals[k] = (uint64_t)dparams[k].dflt;
    if (bad) arg_error(L, "reset", 3 + k, bad);
  }
}

static int l_reset(lua_State *L) {
  tlg_builder *b = checkbuilder(L, 1);
  size_t len;
  const char *name = check_bytes(L, "reset", 2, &len);
  uint64_t vals[NDPARAMS];
  if (lua_gettop(L) > 2) get_dparams(L, vals);
  else for (int k = 0; k < NDPARAMS; k++) vals[k] = (uint64_t)dparams[k].dflt;
  tlg_desc d = {(uint16_t)vals[3], (uint8_t)vals[4], (uint8_t)vals[7], (uint8_t)vals[0],
                (uint8_t)vals[2], (uint16_t)vals[6], vals[1]};
  int st = tlg_build_reset(b, name, len, &d, (uint32_t)vals[5]);
  if (st == TLG_E_NAME_NUL) return luaL_error(L, "reset: event name must not contain NUL");
  if (st != TLG_OK) return etwL_tlgerror(L, "reset", st);
  lua_pushvalue(L, 1);  /* self, for chaining */
  return 1;
}

/* --- other methods -------------------------------------------------------- */

static tlg_builder *check_ready(lua_State *L, int idx, const char *fname) {
  tlg_builder *b = etwL_checkbuilder(L, idx);
  if (!tlg_build_ready(b)) etwL_tlgerror(L, fname, TLG_E_STATE);
  return b;
}

/* eb:bytes() -> descriptor (16 bytes), metadata (size filled in), data */
static int l_bytes(lua_State *L) {
  tlg_builder *b = check_ready(L, 1, "bytes");
  uint8_t desc[16];
  size_t mlen, dlen;
  tlg_desc_pack(&b->desc, desc);
  const uint8_t *meta = tlg_build_meta(b, &mlen);
  const uint8_t *data = tlg_build_data(b, &dlen);
  lua_pushlstring(L, (const char *)desc, 16);
  lua_pushlstring(L, (const char *)meta, mlen);
  lua_pushlstring(L, dlen ? (const char *)data : "", dlen);
  return 3;
}

/* Decode the builder's event as a consumer would see it, with the provider
** at pidx (an etw.Provider, a provider name, or nil). */
static int push_decoded(lua_State *L, int bidx, int pidx, const char *fname) {
  tlg_builder *b = check_ready(L, bidx, fname);
  rec_record rec;
  const char *pname = NULL;
  size_t mlen, dlen;
  memset(&rec, 0, sizeof rec);
  if (lua_type(L, pidx) == LUA_TSTRING) {
    size_t len;
    pname = lua_tolstring(L, pidx, &len);
    if (tlg_provider_id(pname, len, &rec.provider_id) != TLG_OK)
      luaL_argerror(L, pidx, "provider name must be valid UTF-8");
  } else if (!lua_isnoneornil(L, pidx) && !(pname = etwL_toprovider(L, pidx, &rec))) {
    luaL_typeerror(L, pidx, "etw.Provider or provider name");
  }
  rec.desc = b->desc;
  rec.flags = REC_TRACELOGGING;
  rec.meta = tlg_build_meta(b, &mlen);
  rec.meta_len = (uint32_t)mlen;
  rec.data = tlg_build_data(b, &dlen);
  rec.data_len = (uint32_t)dlen;
  etwL_pushevent(L, &rec, pname);
  return 1;
}

/* eb:decode([provider]) */
static int l_decode_method(lua_State *L) { return push_decoded(L, 1, 2, "decode"); }

/* etw.decode(provider, eb) */
static int l_decode(lua_State *L) { return push_decoded(L, 2, 1, "decode"); }

static int l_tostring(lua_State *L) {
  tlg_builder *b = etwL_checkbuilder(L, 1);
  size_t len;
  const char *name = tlg_build_name(b, &len);
  if (!name) lua_pushliteral(L, "etw.EventBuilder (not reset)");
  else lua_pushfstring(L, "etw.EventBuilder \"%s\"", name); /* name has no NUL; ends at meta's 00 */
  return 1;
}

static int l_gc(lua_State *L) {
  tlg_build_free(etwL_checkbuilder(L, 1));
  return 0;
}

/* eb:name() -> the last reset's event name, or nil before the first reset */
static int l_name(lua_State *L) {
  size_t len;
  const char *name = tlg_build_name(etwL_checkbuilder(L, 1), &len);
  if (name) lua_pushlstring(L, name, len);
  else lua_pushnil(L);
  return 1;
}

/* etw.EventBuilder([initial_meta_len [, initial_data_len]]): capacity hints,
** clamped like Python's (64..32768, 64..65536). */
static int l_new(lua_State *L) {
  lua_Integer meta = luaL_optinteger(L, 1, 128);
  lua_Integer data = luaL_optinteger(L, 2, 512);
  meta = meta < 64 ? 64 : meta > TLG_MAX_META ? TLG_MAX_META : meta;
  data = data < 64 ? 64 : data > TLG_MAX_DATA ? TLG_MAX_DATA : data;
  lbuilder *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->tag = &builder_tag;
  tlg_build_init(&u->b, (size_t)meta, (size_t)data);
  luaL_setmetatable(L, ETWL_EVENTBUILDER);
  return 1;
}

static const luaL_Reg meth[] = {
  {"reset", l_reset},
  {"name", l_name},
  {"add_struct", l_add_struct},
  {"bytes", l_bytes},
  {"decode", l_decode_method},
  {NULL, NULL}};

static const luaL_Reg metameth[] = {
  {"__tostring", l_tostring},
  {"__gc", l_gc},
  {NULL, NULL}};

/* Register add_X and add_X_seq for every value method. */
static void register_adds(lua_State *L) {     /* stack: ... methods */
  for (size_t i = 0; i < NMETHODS; i++) {
    const method *m = &methods[i];
    lua_pushcfunction(L, add_fns[i]);
    lua_setfield(L, -2, m->name);
    if (!m->has_seq) continue;
    const char *seqname = lua_pushfstring(L, "%s_seq", m->name);
    lua_pushlightuserdata(L, (void *)(uintptr_t)m); /* stack: ... methods seqname m (const) */
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, l_add_seq, 2);        /* stack: ... methods seqname f */
    lua_setfield(L, -3, seqname);
    lua_pop(L, 1);
  }
}

/* The metatable, as luaL_newmetatable would make it, but with __index as
** its first key and the methods table sized up front, reset first: a
** table's first key keeps its main position (one probe per lookup) unless
** the table is resized. */
void etwL_open_eventbuilder(lua_State *L) {   /* stack: etw */
  lua_createtable(L, 0, 4);                   /* stack: etw mt */
  lua_createtable(L, 0, 2 * NMETHODS + 5);    /* stack: etw mt methods */
  luaL_setfuncs(L, meth, 0);
  register_adds(L);
  lua_setfield(L, -2, "__index");             /* stack: etw mt */
  luaL_setfuncs(L, metameth, 0);
  lua_pushliteral(L, ETWL_EVENTBUILDER);
  lua_setfield(L, -2, "__name");
  lua_setfield(L, LUA_REGISTRYINDEX, ETWL_EVENTBUILDER); /* stack: etw */
  lua_pushcfunction(L, l_new);
  lua_setfield(L, -2, "EventBuilder");
  lua_pushcfunction(L, l_decode);
  lua_setfield(L, -2, "decode");
}
