/*
** ljson.c: etw.json_encode(value), the Lua side of the one JSON writer
** (src/tlg/tlg_json.h): plain Lua values to JSON text with the README's
** rules (exact 64-bit integers, "nan"/"inf", always valid UTF-8), so the
** command line needs no cjson for output. Only Lua conversion lives here.
*/
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "lauxetw.h"
#include "tlg_json.h"

#define MAX_DEPTH 200 /* deeper is almost surely a cycle */
#define UP_ARRAY_MT lua_upvalueindex(1)

/* The output: a growable buffer in a userdata at a fixed stack slot, so
** that growing never depends on what is on top of the stack (luaL_Buffer
** does) and an error frees it through the GC. */
typedef struct out {
  lua_State *L;
  int idx;
  char *p;
  size_t n, cap;
} out;

static void out_write(void *ctx, const char *s, size_t n) {
  out *o = ctx;
  if (n > o->cap - o->n) {
    size_t cap = o->cap ? o->cap : 256;
    while (cap - o->n < n) {
      if (cap > (size_t)-1 / 2) luaL_error(o->L, "etw.json_encode: output too large");
      cap *= 2;
    }
    char *p = lua_newuserdatauv(o->L, cap, 0);
    if (o->n) memcpy(p, o->p, o->n);
    lua_replace(o->L, o->idx);
    o->p = p;
    o->cap = cap;
  }
  memcpy(o->p + o->n, s, n);
  o->n += n;
}

typedef struct enc {
  lua_State *L;
  tlg_json j;
} enc;

static void encode(enc *e, int idx, int depth);

static void encode_number(enc *e, int idx) {
  if (lua_isinteger(e->L, idx)) tlg_json_i64(&e->j, (int64_t)lua_tointeger(e->L, idx));
  else tlg_json_double(&e->j, (double)lua_tonumber(e->L, idx), 0, 1);
}

/* A table is an array when it has [1] or carries etw.json_array_mt (so
** that an empty one is [] rather than {}). */
static int is_array(lua_State *L, int idx) {
  int arr = lua_rawgeti(L, idx, 1) != LUA_TNIL;
  lua_pop(L, 1);
  if (!arr && lua_getmetatable(L, idx)) {
    arr = lua_rawequal(L, -1, UP_ARRAY_MT);
    lua_pop(L, 1);
  }
  return arr;
}

static void encode_array(enc *e, int idx, int depth) {
  tlg_json_char(&e->j, '[');
  for (lua_Integer i = 1; lua_rawgeti(e->L, idx, i) != LUA_TNIL; i++) {
    if (i > 1) tlg_json_char(&e->j, ',');
    encode(e, lua_gettop(e->L), depth + 1);
    lua_pop(e->L, 1);
  }
  lua_pop(e->L, 1);
  tlg_json_char(&e->j, ']');
}

typedef struct key {
  const char *s;
  size_t n;
  lua_Integer i; /* index of the original key in the keys table */
} key;

static int key_cmp(const void *a, const void *b) {
  const key *x = a, *y = b;
  int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The keys of table idx as text, sorted bytewise (output does not depend
** on the hash order); pushes the original keys and a key array. */
static key *sorted_keys(enc *e, int idx, size_t *count) {
  lua_State *L = e->L;
  size_t n = 0;
  lua_newtable(L); /* original keys */
  int keys = lua_gettop(L);
  lua_newtable(L); /* their text (keeps the strings alive) */
  int texts = keys + 1;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    int t = lua_type(L, -2);
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
      luaL_error(L, "etw.json_encode: a table key must be a string or a number (got %s)",
                 luaL_typename(L, -2));
    lua_pushvalue(L, -2);
    lua_rawseti(L, keys, (lua_Integer)++n);
    luaL_tolstring(L, -2, NULL);
    lua_rawseti(L, texts, (lua_Integer)n);
  }
  key *k = lua_newuserdatauv(L, (n ? n : 1) * sizeof *k, 0);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, texts, (lua_Integer)i + 1);
    k[i].s = lua_tolstring(L, -1, &k[i].n); /* still referenced by texts */
    k[i].i = (lua_Integer)i + 1;
    lua_pop(L, 1);
  }
  qsort(k, n, sizeof *k, key_cmp);
  *count = n;
  return k;
}

static void encode_object(enc *e, int idx, int depth) {
  lua_State *L = e->L;
  size_t n;
  key *k = sorted_keys(e, idx, &n);
  int keys = lua_gettop(L) - 2;
  tlg_json_char(&e->j, '{');
  for (size_t i = 0; i < n; i++) {
    if (i) tlg_json_char(&e->j, ',');
    tlg_json_string(&e->j, k[i].s, k[i].n, TLG_JSON_REPLACE);
    tlg_json_char(&e->j, ':');
    lua_rawgeti(L, keys, k[i].i);
    lua_rawget(L, idx);
    encode(e, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
  }
  tlg_json_char(&e->j, '}');
  lua_pop(L, 3);
}

static void encode(enc *e, int idx, int depth) {
  lua_State *L = e->L;
  size_t n;
  const char *s;
  switch (lua_type(L, idx)) {
  case LUA_TNIL: tlg_json_cstr(&e->j, "null"); break;
  case LUA_TBOOLEAN: tlg_json_cstr(&e->j, lua_toboolean(L, idx) ? "true" : "false"); break;
  case LUA_TNUMBER: encode_number(e, idx); break;
  case LUA_TSTRING:
    s = lua_tolstring(L, idx, &n);
    tlg_json_string(&e->j, s, n, TLG_JSON_REPLACE);
    break;
  case LUA_TTABLE:
    if (depth >= MAX_DEPTH)
      luaL_error(L, "etw.json_encode: tables nested deeper than %d levels (a cycle?)", MAX_DEPTH);
    luaL_checkstack(L, 8, "etw.json_encode");
    if (is_array(L, idx)) encode_array(e, idx, depth);
    else encode_object(e, idx, depth);
    break;
  default:
    luaL_error(L, "etw.json_encode: cannot encode a %s value (only nil, booleans, numbers, "
                  "strings and tables)", luaL_typename(L, idx));
  }
}

/* etw.json_encode(value) -> JSON text (README "Scripting helpers"). */
static int l_json_encode(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  lua_pushnil(L); /* slot 2: the output buffer */
  out o = {L, 2, NULL, 0, 0};
  tlg_sink sink = {out_write, &o};
  enc e;
  e.L = L;
  tlg_json_init(&e.j, &sink);
  encode(&e, 1, 0);
  tlg_json_flush(&e.j);
  lua_pushlstring(L, o.n ? o.p : "", o.n);
  return 1;
}

void etwL_open_json(lua_State *L) {
  lua_newtable(L); /* etw.json_array_mt */
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "json_array_mt");
  lua_pushcclosure(L, l_json_encode, 1);
  lua_setfield(L, -2, "json_encode");
}
