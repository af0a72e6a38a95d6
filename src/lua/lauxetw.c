/*
** lauxetw.c: argument helpers shared by the bindings (see lauxetw.h).
*/
#include <math.h>
#include <string.h>

#include "lauxetw.h"
#include "../tlg/tlg_guid.h"

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
