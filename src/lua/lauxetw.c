/*
** lauxetw.c: argument helpers shared by the bindings (see lauxetw.h).
*/
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <time.h>
#ifdef _WIN32
#include <windows.h>
#endif
#include <string.h>

#include "lauxetw.h"
#include "tlg_guid.h"
#include "engine.h"

void etwL_checkguid(lua_State *L, int idx, tlg_guid *g) {
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_typeerror(L, idx, "GUID string");
  if (tlg_guid_parse(s, len, g) != TLG_OK)
    luaL_argerror(L, idx, lua_pushfstring(L,
      "GUID must look like xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, got '%s'", s));
}

int etwL_optguid(lua_State *L, int idx, tlg_guid *g) {
  if (lua_isnoneornil(L, idx)) return 0;
  etwL_checkguid(L, idx, g);
  return 1;
}

void etwL_pushguid(lua_State *L, const tlg_guid *g) {
  char text[TLG_GUID_TEXT];
  tlg_guid_format(g, text);
  lua_pushlstring(L, text, TLG_GUID_TEXT - 1);
}

uint64_t etwL_checku64(lua_State *L, int idx) {
  int isint;
  lua_Integer i = lua_tointegerx(L, idx, &isint);
  if (isint) return (uint64_t)i;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Number n = lua_tonumber(L, idx);
    /* floats 2^63..2^64-1 that are whole numbers are exact in a double */
    if (n >= 9223372036854775808.0 && n < 18446744073709551616.0 && n == floor(n))
      return (uint64_t)n;
    luaL_argerror(L, idx, "number has no 64-bit integer representation");
  }
  luaL_typeerror(L, idx, "integer");
  return 0;
}

int etwL_tlgerror(lua_State *L, const char *what, int status) {
  return luaL_error(L, "%s: %s", what, tlg_strerror(status));
}

/* Short codes for engine statuses, as scripts compare them. */
static const char *const eng_codes[ENG_STATUS_COUNT] = {
  [ENG_OK] = "OK", [ENG_E_ARG] = "ARG", [ENG_E_NOMEM] = "NOMEM",
  [ENG_E_NOTFOUND] = "NOTFOUND", [ENG_E_EXISTS] = "EXISTS", [ENG_E_ACCESS] = "ACCESS",
  [ENG_E_FULL] = "FULL", [ENG_E_BUSY] = "BUSY", [ENG_E_UNSUPPORTED] = "UNSUPPORTED",
  [ENG_E_TIMEOUT] = "TIMEOUT", [ENG_E_STOPPED] = "STOPPED",
  [ENG_E_INTERRUPTED] = "INTERRUPTED", [ENG_E_LOST] = "LOST", [ENG_E_TOOBIG] = "TOOBIG",
  [ENG_E_VERSION] = "VERSION", [ENG_E_CORRUPT] = "CORRUPT", [ENG_E_IO] = "IO",
};

int etwL_pushengfail_detail(lua_State *L, int st, const char *detail) {
  const char *code = st >= 0 && st < ENG_STATUS_COUNT && eng_codes[st] ? eng_codes[st] : "UNKNOWN";
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", code, detail);
  lua_pushstring(L, code);
  return 3;
}

int etwL_pushengfail(lua_State *L, int st) {
  return etwL_pushengfail_detail(L, st, eng_detail(st));   /* the engine's own words if any */
}

int64_t etwL_now_ms(void) {
#ifdef _WIN32
  return (int64_t)GetTickCount64();
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

void etwL_sleep_ms(int ms) {
#ifdef _WIN32
  Sleep((DWORD)ms);
#else
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);              /* a signal ends it early */
#endif
}

int64_t etwL_deadline_ms(int64_t timeout_ms) {
  if (timeout_ms < 0) return -1;
  int64_t now = etwL_now_ms();
  return timeout_ms > INT64_MAX - now ? INT64_MAX : now + timeout_ms;
}

int etwL_wait_ms(int64_t deadline) {
  if (deadline < 0) return -1;
  int64_t left = deadline - etwL_now_ms();
  return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* --- options tables -------------------------------------------------------- */

int etwL_opterror(lua_State *L, const char *what, const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const char *msg = lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  return luaL_error(L, "%s: bad option '%s': %s", what, key, msg);
}

/* "a, b, c" of a NULL-terminated list, pushed. */
static const char *push_list(lua_State *L, const char *const names[]) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 0; names[i]; i++) {
    if (i) luaL_addstring(&b, ", ");
    luaL_addstring(&b, names[i]);
  }
  luaL_pushresult(&b);
  return lua_tostring(L, -1);
}

static int in_list(const char *k, const char *const names[]) {
  for (int i = 0; names[i]; i++)
    if (strcmp(k, names[i]) == 0) return 1;
  return 0;
}

int etwL_checkoptions(lua_State *L, int idx, const char *what, const char *const keys[]) {
  if (lua_isnoneornil(L, idx)) return 0;
  if (!lua_istable(L, idx))
    return luaL_error(L, "%s: options must be a table, got %s", what, luaL_typename(L, idx));
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {              /* stack: key value */
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING && in_list(lua_tostring(L, -1), keys)) continue;
    const char *k = luaL_tolstring(L, -1, NULL);
    return luaL_error(L, "%s: unknown option '%s' (expected one of: %s)", what, k, push_list(L, keys));
  }
  return 1;
}

lua_Integer etwL_optinteger(lua_State *L, int idx, const char *what, const char *key,
                            lua_Integer lo, lua_Integer hi, lua_Integer dflt) {
  if (lua_isnoneornil(L, idx)) return dflt;
  lua_getfield(L, idx, key);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return dflt; }
  int isint;
  lua_Integer v = lua_tointegerx(L, -1, &isint);
  if (!isint || v < lo || v > hi) {
    if (hi == LUA_MAXINTEGER)
      etwL_opterror(L, what, key, "must be an integer >= %I, got %s", lo, luaL_tolstring(L, -1, NULL));
    etwL_opterror(L, what, key, "must be an integer %I..%I, got %s", lo, hi, luaL_tolstring(L, -1, NULL));
  }
  lua_pop(L, 1);
  return v;
}

int etwL_checkoptname(lua_State *L, int vidx, const char *what, const char *key,
                      const char *const names[]) {
  const char *v = lua_type(L, vidx) == LUA_TSTRING ? lua_tostring(L, vidx) : NULL;
  for (int i = 0; v && names[i]; i++)
    if (strcmp(v, names[i]) == 0) return i;
  const char *got = luaL_tolstring(L, vidx, NULL);
  return etwL_opterror(L, what, key, "expected one of %s, got '%s'", push_list(L, names), got);
}
