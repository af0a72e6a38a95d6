/*
** letw.c: luaopen_etw, the `etw` module: constants, GUID functions, and the
** types registered by the one-file-per-userdata bindings.
*/
#define _POSIX_C_SOURCE 200809L
#define _CRT_RAND_S /* rand_s, before any header pulls in stdlib.h */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "etwlua_lua.h"
#include "lauxetw.h"
#include "lschema.h"
#include "lwriter.h"
#include "lembed.h"
#include "engine.h"
#include "tlg_guid.h"
#include "etl.h"

#ifdef _WIN32
#include <stdlib.h>
#include <io.h>
#include <process.h>
#define getpid _getpid
#define isatty _isatty
#define fileno _fileno
#else
#include <sys/random.h>
#include <unistd.h>
#endif

#include "etwlua_version.h"  /* generated from project(VERSION) */

typedef struct { const char *name; int value; } constant;

static const constant levels[] = {
  {"LOG_ALWAYS", 0}, {"CRITICAL", 1}, {"ERROR", 2}, {"WARNING", 3},
  {"INFO", 4}, {"VERBOSE", 5}, {NULL, 0}};

static const constant opcodes[] = {
  {"INFO", 0}, {"START", 1}, {"STOP", 2}, {"DC_START", 3}, {"DC_STOP", 4},
  {"EXTENSION", 5}, {"REPLY", 6}, {"RESUME", 7}, {"SUSPEND", 8}, {"SEND", 9},
  {"RECEIVE", 240}, {NULL, 0}};

static const constant outtypes[] = {
  {"NULL", 0}, {"NOPRINT", 1}, {"STRING", 2}, {"BOOLEAN", 3}, {"HEX", 4},
  {"PID", 5}, {"TID", 6}, {"PORT", 7}, {"IPV4", 8}, {"IPV6", 9},
  {"SOCKETADDRESS", 10}, {"XML", 11}, {"JSON", 12}, {"WIN32ERROR", 13},
  {"NTSTATUS", 14}, {"HRESULT", 15}, {"FILETIME", 16}, {"SIGNED", 17},
  {"UNSIGNED", 18}, {"CULTURE_INSENSITIVE_DATETIME", 33}, {"UTF8", 35},
  {"PKCS7_WITH_TYPE_INFO", 36}, {"CODE_POINTER", 37}, {"DATETIME_UTC", 38},
  {NULL, 0}};

static void set_constants(lua_State *L, const char *field, const constant *c) {
  lua_newtable(L);
  for (; c->name; c++) {
    lua_pushinteger(L, c->value);
    lua_setfield(L, -2, c->name);
  }
  lua_setfield(L, -2, field);
}

/* etw.providerid_from_name(name) -> GUID string */
static int l_providerid_from_name(lua_State *L) {
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  tlg_guid g;
  if (tlg_provider_id(name, len, &g) != TLG_OK)
    return luaL_argerror(L, 1, "provider name must be valid UTF-8");
  etwL_pushguid(L, &g);
  return 1;
}

/* etw.guid(text) -> canonical GUID string (validates and normalises) */
static int l_guid(lua_State *L) {
  tlg_guid g;
  etwL_checkguid(L, 1, &g);
  etwL_pushguid(L, &g);
  return 1;
}

static int random_bytes(void *buf, size_t len) {
#ifdef _WIN32
  unsigned char *p = buf;
  for (size_t i = 0; i < len; i += 4) {
    unsigned int r;
    if (rand_s(&r) != 0) return -1;
    for (size_t k = 0; k < 4 && i + k < len; k++) p[i + k] = (unsigned char)(r >> (8 * k));
  }
  return 0;
#else
  return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -1;
#endif
}

/* etw.new_guid() -> a random (version 4) GUID string */
static int l_new_guid(lua_State *L) {
  tlg_guid g;
  if (random_bytes(g.b, sizeof g.b) != 0) return luaL_error(L, "new_guid: no random source");
  g.b[7] = (uint8_t)((g.b[7] & 0x0F) | 0x40); /* Data3's high nibble is in byte 7 */
  g.b[8] = (uint8_t)((g.b[8] & 0x3F) | 0x80);
  etwL_pushguid(L, &g);
  return 1;
}

/* etw.pid() -> this process id (session names, filters) */
static int l_pid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

/* etw.isatty(file) -> boolean: is the Lua file (io.stderr, ...) a terminal? */
static int l_isatty(lua_State *L) {
  luaL_Stream *f = luaL_checkudata(L, 1, LUA_FILEHANDLE);
  lua_pushboolean(L, f->closef != NULL && isatty(fileno(f->f)));
  return 1;
}

/* etw.iso_time(filetime) -> "YYYY-MM-DDThh:mm:ss.fffffffZ" (UTC, 100 ns
** digits), e.g. for ev.timestamp; nil for nil. */
static int l_iso_time(lua_State *L) {
  char iso[ETL_ISO_SIZE];
  if (lua_isnoneornil(L, 1)) return 0;
  lua_Integer ft = luaL_checkinteger(L, 1);
  lua_pushlstring(L, iso, etl_filetime_to_iso((int64_t)ft, iso));
  return 1;
}

/* etw.kernel_sources([tracepoints = true]) -> list of {provider, event,
** tracepoint, keyword, level, opcode}: what kernel sources can give (the
** named providers' events, then each tracepoint); or nil, err, code when
** tracepoints cannot be listed (no tracefs, no permission). */
static int push_source(void *ctx, const eng_source_info *in) {
  lua_State *L = ctx;
  lua_createtable(L, 0, 6);
  lua_pushstring(L, in->provider);
  lua_setfield(L, -2, "provider");
  lua_pushstring(L, in->event);
  lua_setfield(L, -2, "event");
  lua_pushstring(L, in->tracepoint);
  lua_setfield(L, -2, "tracepoint");
  lua_pushinteger(L, (lua_Integer)in->keyword);
  lua_setfield(L, -2, "keyword");
  lua_pushinteger(L, in->level);
  lua_setfield(L, -2, "level");
  lua_pushinteger(L, in->opcode);
  lua_setfield(L, -2, "opcode");
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  return 0;
}

static int l_kernel_sources(lua_State *L) {
  int tracepoints = lua_isnoneornil(L, 1) || lua_toboolean(L, 1);
  lua_settop(L, 0);
  luaL_checkstack(L, 4, "kernel_sources");
  lua_newtable(L);
  int st = eng_kernel_sources(tracepoints, push_source, L);
  if (st != ENG_OK) return etwL_pushengfail(L, st);
  return 1;
}

/* etw.user_providers() -> list of {name, guid, pid}: the TraceLogging
** providers running processes of this user registered (one entry per
** process); or nil, err, code. */
static int push_user_provider(void *ctx, const eng_user_provider *in) {
  lua_State *L = ctx;
  char g[TLG_GUID_TEXT];
  tlg_guid_format(&in->id, g);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, in->name);
  lua_setfield(L, -2, "name");
  lua_pushstring(L, g);
  lua_setfield(L, -2, "guid");
  lua_pushinteger(L, (lua_Integer)in->pid);
  lua_setfield(L, -2, "pid");
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  return 0;
}

static int l_user_providers(lua_State *L) {
  lua_settop(L, 0);
  luaL_checkstack(L, 4, "user_providers");
  lua_newtable(L);
  int st = eng_user_providers(push_user_provider, L);
  if (st != ENG_OK) return etwL_pushengfail(L, st);
  return 1;
}

static const luaL_Reg funcs[] = {
  {"kernel_sources", l_kernel_sources},
  {"user_providers", l_user_providers},
  {"pid", l_pid},
  {"iso_time", l_iso_time},
  {"isatty", l_isatty},
  {"providerid_from_name", l_providerid_from_name},
  {"guid", l_guid},
  {"new_guid", l_new_guid},
  {NULL, NULL}};

int luaopen_etw(lua_State *L) {
  luaL_newlib(L, funcs);
  set_constants(L, "Level", levels);
  set_constants(L, "Opcode", opcodes);
  set_constants(L, "OutType", outtypes);
  lua_pushliteral(L, ETWLUA_VERSION_STRING);
  lua_setfield(L, -2, "VERSION");
  etwL_open_event(L);
  etwL_open_eventbuilder(L);
  etwL_open_template(L);
  etwL_open_provider(L);
  etwL_open_session(L);
  etwL_open_consumer(L);
  etwL_open_writer(L);
  etwL_open_process(L);
  etwL_open_json(L);
  etwL_open_time(L);
  etwL_open_schema(L);
  return 1;
}

extern int luaopen_cjson(lua_State *L);
extern int luaopen_cjson_safe(lua_State *L);

void etwlua_openlibs(lua_State *L) {
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_etw);
  lua_setfield(L, -2, "etw");
  lua_pushcfunction(L, luaopen_cjson);
  lua_setfield(L, -2, "cjson");
  lua_pushcfunction(L, luaopen_cjson_safe);
  lua_setfield(L, -2, "cjson.safe");
  lua_pop(L, 1);
  etwL_install_searcher(L);
}
