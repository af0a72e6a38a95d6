/*
** lembed.c: require() searcher over the modules compiled into the binary.
*/
#include <stdint.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "lembed.h"

const etwL_embedded *etwL_find_embedded(const char *module) {
  for (const etwL_embedded *e = etwL_embedded_files; e->module; e++)
    if (strcmp(e->module, module) == 0) return e;
  return NULL;
}

static int embedded_loader(lua_State *L) {
  const etwL_embedded *e = lua_touserdata(L, lua_upvalueindex(1));
  if (luaL_loadbufferx(L, e->source, e->len, e->chunkname, "t") != LUA_OK)
    return lua_error(L);
  lua_pushvalue(L, 1); /* module name */
  lua_pushstring(L, e->chunkname + 1);
  lua_call(L, 2, 1);
  return 1;
}

static int embedded_searcher(lua_State *L) {
  const etwL_embedded *e = etwL_find_embedded(luaL_checkstring(L, 1));
  if (!e) {
    lua_pushfstring(L, "no embedded module '%s'", lua_tostring(L, 1));
    return 1;
  }
  lua_pushlightuserdata(L, (void *)(uintptr_t)e);   /* read back as const */
  lua_pushcclosure(L, embedded_loader, 1);
  lua_pushstring(L, e->chunkname + 1);
  return 2;
}

void etwL_install_searcher(lua_State *L) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");      /* package searchers */
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  for (lua_Integer i = n; i >= 2; i--) { /* shift 2..n up by one */
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushcfunction(L, embedded_searcher);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}
