/*
** etwlua_lua.h: what the host (src/main.c) needs from the bindings.
*/
#ifndef ETWLUA_LUA_H
#define ETWLUA_LUA_H

struct lua_State;

/* Standard libraries plus `etw`, `cjson`, `cjson.safe` in package.preload
** and the searcher for the embedded lua/ library. */
void etwlua_openlibs(struct lua_State *L);
int luaopen_etw(struct lua_State *L);

#endif
