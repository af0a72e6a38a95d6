/*
** lwhere.c: `where` and `fields` of c:on's filter tables (see lwhere.h):
**   where = {Status = 500}                 equal
**   where = {Status = {">=", 500}}         = ~= < <= > >=  and a number or string
**   where = {Status = {500, 502, 503}}     any of (also {"=", {...}}; {"~=", {...}}: none of)
**   where = {Status = {{">=", 500}, {"<", 600}}}   all of these conditions
**   fields = {"Status", "Path"}            the handler gets (ev, status, path)
** Misuse raises an error that names the option and the rule.
*/
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lwhere.h"

static const char *const ops[] = {"=", "~=", "<", "<=", ">", ">=", NULL};

static void *grow(lua_State *L, void *p, size_t n, size_t size) {
  void *q = realloc(p, n * size);
  if (!q) luaL_error(L, "out of memory");
  return q;
}

static char *copy(lua_State *L, int idx, size_t *len) {
  const char *s = lua_tolstring(L, idx, len);
  char *d = malloc(*len + 1);
  if (!d) luaL_error(L, "out of memory");
  memcpy(d, s, *len + 1);
  return d;
}

/* The operator string at idx, or -1. */
static int op_of(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TSTRING) return -1;
  const char *s = lua_tostring(L, idx);
  for (int i = 0; ops[i]; i++)
    if (strcmp(s, ops[i]) == 0) return i;
  return -1;
}

static void bad(lua_State *L, const flt_cond *c, const char *rule) {
  luaL_error(L, "on: filter field 'where': %s: %s", c->name, rule);
}

/* One constant (value at idx) into c->vals[c->nvals]. */
static void add_const(lua_State *L, flt_cond *c, int idx) {
  flt_const k = {0, 0, 0, NULL, 0};
  int isint;
  c->vals = grow(L, c->vals, c->nvals + 1, sizeof *c->vals);  /* before the copy: no leak */
  if (lua_type(L, idx) == LUA_TNUMBER) {
    k.i = lua_tointegerx(L, idx, &isint);
    k.kind = isint ? FLT_K_INT : FLT_K_NUM;
    k.d = lua_tonumber(L, idx);
  } else if (lua_type(L, idx) == LUA_TSTRING) {
    k.kind = FLT_K_STR;
    k.s = copy(L, idx, &k.len);
  } else {
    bad(L, c, "a value must be a number or a string");
  }
  c->vals[c->nvals++] = k;
}

/* A list (the table at idx, 1..n) of constants. */
static void add_list(lua_State *L, flt_cond *c, int idx) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx), keys = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    keys++;
    lua_pop(L, 1);
  }
  if (n == 0 || keys != n) bad(L, c, "a list of values must be a non-empty sequence");
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    add_const(L, c, lua_gettop(L));
    lua_pop(L, 1);
  }
}

/* The condition (value at -1, field name at -2) into c. */
static void read_cond(lua_State *L, flt_cond *c) {
  int v = lua_gettop(L);
  c->op = FLT_EQ;
  if (lua_type(L, v) != LUA_TTABLE) {
    add_const(L, c, v);
    return;
  }
  lua_rawgeti(L, v, 1);
  int op = op_of(L, -1);
  lua_pop(L, 1);
  if (op < 0) {                                      /* {v1, v2, ...}: any of */
    lua_rawgeti(L, v, 1);
    size_t n;
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    if (s && n > 0 && n <= 2 && strspn(s, "<>=~!") == n)   /* a mistyped operator, not a value */
      bad(L, c, "unknown operator (one of = ~= < <= > >=)");
    lua_pop(L, 1);
    add_list(L, c, v);
    return;
  }
  if (lua_rawlen(L, v) != 2) bad(L, c, "an operator form is {op, value} (op one of = ~= < <= > >=)");
  c->op = op;
  lua_rawgeti(L, v, 2);
  if (lua_type(L, -1) == LUA_TTABLE) {
    if (op != FLT_EQ && op != FLT_NE) bad(L, c, "a list of values goes with '=' or '~=' only");
    add_list(L, c, lua_gettop(L));
  } else {
    add_const(L, c, lua_gettop(L));
  }
  lua_pop(L, 1);
}

/* A new condition on the field named by the string at kidx. */
static flt_cond *new_cond(lua_State *L, etwL_payload *p, int kidx) {
  p->where = grow(L, p->where, p->nwhere + 1, sizeof *p->where);
  flt_cond *c = &p->where[p->nwhere++];
  memset(c, 0, sizeof *c);
  c->name = copy(L, kidx, &c->name_len);
  return c;
}

static void finish_cond(lua_State *L, flt_cond *c) {
  c->scratch_cap = flt_cond_scratch(c);
  c->scratch = malloc(c->scratch_cap);
  if (!c->scratch) luaL_error(L, "out of memory");
}

void etwL_where_read(lua_State *L, etwL_payload *p) {
  int t = lua_gettop(L);
  if (lua_type(L, t) != LUA_TTABLE)
    luaL_error(L, "on: filter field 'where' must be a table of field name = condition");
  lua_pushnil(L);
  while (lua_next(L, t)) {                           /* k v */
    int k = lua_gettop(L) - 1;
    if (lua_type(L, k) != LUA_TSTRING)
      luaL_error(L, "on: filter field 'where': keys must be field names (strings)");
    int list = 0;
    if (lua_type(L, -1) == LUA_TTABLE) {
      list = lua_rawgeti(L, -1, 1) == LUA_TTABLE;
      lua_pop(L, 1);
    }
    if (list) {                                      /* {{op, v}, ...}: all of them */
      lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
      for (lua_Integer i = 1; i <= n; i++) {
        flt_cond *c = new_cond(L, p, k);
        if (lua_rawgeti(L, k + 1, i) != LUA_TTABLE)
          bad(L, c, "a list of conditions holds {op, value} tables only");
        read_cond(L, c);
        finish_cond(L, c);
        lua_pop(L, 1);
      }
    } else {
      flt_cond *c = new_cond(L, p, k);
      read_cond(L, c);
      finish_cond(L, c);
    }
    lua_settop(L, k);
  }
  lua_settop(L, t);
}

void etwL_fields_read(lua_State *L, etwL_payload *p) {
  int t = lua_gettop(L);
  const char *rule = "on: filter field 'fields' must be a list of field names (strings)";
  if (lua_type(L, t) != LUA_TTABLE) luaL_error(L, "%s", rule);
  lua_Integer n = (lua_Integer)lua_rawlen(L, t), keys = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    keys++;
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "%s", rule);
    lua_pop(L, 1);
  }
  if (keys != n) luaL_error(L, "%s", rule);
  if (n > 200) luaL_error(L, "on: filter field 'fields' may name at most 200 fields");
  p->names = grow(L, p->names, (size_t)n + 1, sizeof *p->names);
  p->name_lens = grow(L, p->name_lens, (size_t)n + 1, sizeof *p->name_lens);
  p->slots = grow(L, p->slots, (size_t)n + 1, sizeof *p->slots);
  memset(p->slots, 0, ((size_t)n + 1) * sizeof *p->slots);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, t, i);
    p->names[p->nnames] = copy(L, -1, &p->name_lens[p->nnames]);
    p->nnames++;
    lua_pop(L, 1);
  }
}

void etwL_payload_free(etwL_payload *p) {
  for (size_t i = 0; i < p->nwhere; i++) {
    flt_cond *c = &p->where[i];
    for (size_t k = 0; k < c->nvals; k++) free(c->vals[k].s);
    free(c->vals);
    free(c->name);
    free(c->scratch);
  }
  free(p->where);
  for (size_t i = 0; i < p->nnames; i++) free(p->names[i]);
  free(p->names);
  free(p->name_lens);
  free(p->slots);
  memset(p, 0, sizeof *p);
}
