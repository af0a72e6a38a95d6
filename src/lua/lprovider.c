/*
** lprovider.c: etw.Provider, the traceloggingdynamic Provider in Lua
** (spec §2.2): id from the name hash, traits blob, is_enabled, write, close.
** Backed by the engine (engine.h): is_enabled reads the provider's merged
** enable state, write hands the three blobs to eng_provider_write.
**
** Speed: is_enabled is on every event's path, so the binding adds as little
** as it can to the engine's check. Each provider has its own metatable whose
** __index is a plain table holding its fields (name, id, group_id, traits,
** fixed at construction) and the methods, so p:method() and p.name are one
** table lookup with no C call; methods recognise `self` by a tag word in
** the userdata instead of luaL_checkudata's registry lookup.
*/
#include <stddef.h>
#include <string.h>

#include "lauxetw.h"
#include "tlg_build.h"
#include "tlg_guid.h"
#include "engine.h"

/* Longest name whose traits blob (with a group) still fits its u16 size. */
#define MAX_NAME (0xFFFF - 3 - 19)

/* Its address marks the userdata blocks that are providers. Lua code cannot
** write bytes into a userdata, so only C code could forge it. */
static char provider_tag; /* not const: distinct objects, never merged */

typedef struct lprovider {
  const void *tag;   /* &provider_tag */
  eng_provider *eng; /* NULL when closed or when the engine refused it */
  int open;
  int has_group;
  tlg_guid id, group;
  size_t name_len;
  size_t traits_len;
  uint8_t traits[];  /* u16 size, name, 00 [, group trait]: the name is a C string */
} lprovider;

/* The provider at idx, or NULL: two API calls and a compare, safe for any
** value (a block too small to hold the tag is never read). */
static lprovider *testprovider(lua_State *L, int idx) {
  lprovider *p = lua_touserdata(L, idx);
  if (p && lua_rawlen(L, idx) >= sizeof *p && p->tag == &provider_tag) return p;
  return NULL;
}

static lprovider *toprovider(lua_State *L, int idx) {
  lprovider *p = testprovider(L, idx);
  if (!p) luaL_typeerror(L, idx, ETWL_PROVIDER);
  return p;
}

/* For methods a closed provider cannot do. */
static lprovider *checkopen(lua_State *L, int idx) {
  lprovider *p = toprovider(L, idx);
  if (!p->open) luaL_error(L, "attempt to use a closed " ETWL_PROVIDER);
  return p;
}

static const char *name_of(const lprovider *p) { return (const char *)p->traits + 2; }

const char *etwL_toprovider(lua_State *L, int idx, rec_record *rec) {
  lprovider *p = testprovider(L, idx);
  if (!p) return NULL;
  rec->provider_id = p->id;
  rec->traits = p->traits;
  rec->traits_len = (uint32_t)p->traits_len;
  return name_of(p);
}

/* The one place a backend call slots in: hand the finished event to the
** sessions listening to this provider and return their status. No backend
** yet, so nobody listens: 0, as ETW returns with no session. */
/* Send one event; returns a Win32-style status as EventWriteTransfer and
** the Python module do: 0 written (or nobody listening), 8 dropped because
** a session's buffers were full (counted there), 234 too big for the
** session buffers, 87 invalid parameter. */
/* One event's blobs to the engine; the Win32-style status p:write returns. */
static int send_blobs(const lprovider *p, const tlg_desc *desc, const tlg_guid *activity,
                      const tlg_guid *related, const uint8_t *meta, uint32_t meta_len,
                      const uint8_t *data, uint32_t data_len) {
  if (!p->eng) return 0;
  eng_data d[3] = {
    {p->traits, (uint32_t)p->traits_len, ENG_DATA_PROVIDER_META, {0}},
    {meta, meta_len, ENG_DATA_EVENT_META, {0}},
    {data, data_len, ENG_DATA_PAYLOAD, {0}},
  };
  int st = eng_provider_write(p->eng, desc, activity, related, 3, d);
  switch (st) {
  case ENG_OK: return 0;
  case ENG_E_LOST: return 8;     /* ERROR_NOT_ENOUGH_MEMORY: session overloaded */
  case ENG_E_TOOBIG: return 234; /* ERROR_MORE_DATA: event bigger than a buffer */
  default: return 87;            /* ERROR_INVALID_PARAMETER */
  }
}

static int provider_send(const lprovider *p, const rec_record *rec) {
  return send_blobs(p, &rec->desc, (rec->flags & REC_ACTIVITY) ? &rec->activity_id : NULL,
                    (rec->flags & REC_RELATED) ? &rec->related_activity_id : NULL,
                    rec->meta, rec->meta_len, rec->data, rec->data_len);
}

/* The engine's enable check: a few plain loads of the provider's merged
** level and keyword masks (DESIGN §3). level is 0..255 here. */
static inline int provider_enabled(const lprovider *p, unsigned level, uint64_t keyword) {
  return p->eng != NULL && eng_enabled(p->eng, (uint8_t)level, keyword);
}

/* p:write(eb [, activity_id [, related_activity_id]]) -> status */
static int l_write(lua_State *L) {
  lprovider *p = checkopen(L, 1);
  tlg_builder *b = etwL_checkbuilder(L, 2);
  rec_record rec;
  size_t mlen, dlen;
  memset(&rec, 0, sizeof rec);
  if (!tlg_build_ready(b)) return etwL_tlgerror(L, "write", TLG_E_STATE);
  etwL_checkcomplete(L, b, "write");
  if (lua_gettop(L) > 2) {
    if (etwL_optguid(L, 3, &rec.activity_id)) rec.flags |= REC_ACTIVITY;
    if (etwL_optguid(L, 4, &rec.related_activity_id)) rec.flags |= REC_RELATED;
  }
  rec.flags |= REC_TRACELOGGING;
  rec.provider_id = p->id;
  rec.desc = b->desc;
  rec.traits = p->traits;
  rec.traits_len = (uint32_t)p->traits_len;
  rec.meta = tlg_build_meta(b, &mlen);
  rec.meta_len = (uint32_t)mlen;
  rec.data = tlg_build_data(b, &dlen);
  rec.data_len = (uint32_t)dlen;
  lua_pushinteger(L, provider_send(p, &rec));
  return 1;
}

/* is_enabled when the fast path declines: not a provider, a level out of
** range, a keyword float of 2^63 or more, or a bad argument (raises). */
static int is_enabled_checked(lua_State *L) {
  lprovider *p = toprovider(L, 1);
  lua_Integer level = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, level >= 0 && level <= 255, 2, "level must be 0..255");
  uint64_t keyword = lua_isnoneornil(L, 3) ? 0 : etwL_checku64(L, 3);
  lua_pushboolean(L, p->open && provider_enabled(p, (unsigned)level, keyword));
  return 1;
}

/* p:is_enabled([level [, keyword]]) -> boolean. The hot path: with two
** integer arguments, five API calls and the engine's check. A closed
** provider answers false, never raises. (Two separate flags: one shared by
** both lua_tointegerx calls measured 20% slower on the whole call.) */
static int l_is_enabled(lua_State *L) {
  int lok, kok;
  lprovider *p = testprovider(L, 1);
  lua_Integer level = lua_tointegerx(L, 2, &lok);
  lua_Integer keyword = lua_tointegerx(L, 3, &kok);
  if (!lok && lua_type(L, 2) <= LUA_TNIL) { level = 0; lok = 1; }   /* none or nil */
  if (!kok && lua_type(L, 3) <= LUA_TNIL) { keyword = 0; kok = 1; }
  if (!p || !lok || !kok || (lua_Unsigned)level > 255) return is_enabled_checked(L);
  lua_pushboolean(L, p->open && provider_enabled(p, (unsigned)level, (uint64_t)keyword));
  return 1;
}

/* p:close(): idempotent; also __gc and __close. */
static int l_close(lua_State *L) {
  lprovider *p = toprovider(L, 1);
  p->open = 0;
  eng_provider_unregister(p->eng);
  p->eng = NULL;
  return 0;
}

static int l_is_open(lua_State *L) {
  lua_pushboolean(L, toprovider(L, 1)->open);
  return 1;
}

static int l_tostring(lua_State *L) {
  lprovider *p = toprovider(L, 1);
  char id[TLG_GUID_TEXT];
  tlg_guid_format(&p->id, id);
  lua_pushfstring(L, "Provider \"%s\" {%s}%s", name_of(p), id, p->open ? "" : " (closed)");
  return 1;
}

/* Options of etw.Provider(name, {id=, group_id=}): unknown keys raise. */
static void get_options(lua_State *L, tlg_guid *id, int *has_id, tlg_guid *group, int *has_group) {
  static const char *const keys[] = {"id", "group_id", NULL};
  etwL_checkoptions(L, 2, "etw.Provider", keys);
  for (int k = 0; keys[k]; k++) {
    tlg_guid g;
    size_t len;
    if (lua_getfield(L, 2, keys[k]) == LUA_TNIL) { lua_pop(L, 1); continue; }
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    if (!s || tlg_guid_parse(s, len, &g) != TLG_OK)
      etwL_opterror(L, "etw.Provider", keys[k], "must be a GUID string");
    if (k == 0) { *id = g; *has_id = 1; }
    else { *group = g; *has_group = 1; }
    lua_pop(L, 1);
  }
}

/* --- for etw.EventTemplate (ltemplate.c) --------------------------------- */

struct lprovider *etwL_checkopenprovider(lua_State *L, int idx) { return checkopen(L, idx); }

int etwL_provider_isopen(const struct lprovider *p) { return p->open; }

int etwL_provider_enabled(const struct lprovider *p, unsigned level, uint64_t keyword) {
  return p->open && provider_enabled(p, level, keyword);
}

/* Straight to the engine: no rec_record (250 bytes to clear per event). */
int etwL_provider_send(const struct lprovider *p, const tlg_desc *desc, const tlg_guid *activity,
                       const tlg_guid *related, const uint8_t *meta, size_t meta_len,
                       const uint8_t *data, size_t data_len) {
  return send_blobs(p, desc, activity, related, meta, (uint32_t)meta_len, data,
                    (uint32_t)data_len);
}

/* is_enabled first: see set_metatable. */
static const luaL_Reg meth[] = {
  {"is_enabled", l_is_enabled},
  {"write", l_write},
  {"close", l_close},
  {"is_open", l_is_open},
  {"event", etwL_template_new},
  {NULL, NULL}};

static const luaL_Reg metameth[] = {
  {"__tostring", l_tostring},
  {"__gc", l_close},
  {"__close", l_close},
  {NULL, NULL}};

/* Give the new provider at -1 its metatable: __index = a table of its
** fields plus the methods, copied in (one lookup beats a chained one).
** Both tables are sized up front and get their hottest key first: the
** first key put into a Lua table keeps its main position unless the table
** is resized (colliding keys are chained after it), so p:is_enabled takes
** one probe in each whatever the string hash seed. */
static void set_metatable(lua_State *L, const lprovider *p) {
  lua_createtable(L, 0, 8);                 /* stack: ... p mt */
  lua_createtable(L, 0, 16);                /* stack: ... p mt index */
  luaL_setfuncs(L, meth, 0);
  lua_pushlstring(L, name_of(p), p->name_len);
  lua_setfield(L, -2, "name");
  etwL_pushguid(L, &p->id);
  lua_setfield(L, -2, "id");
  if (p->has_group) {
    etwL_pushguid(L, &p->group);
    lua_setfield(L, -2, "group_id");
  }
  lua_pushlstring(L, (const char *)p->traits, p->traits_len);
  lua_setfield(L, -2, "traits");
  lua_setfield(L, -2, "__index");           /* stack: ... p mt */
  luaL_setfuncs(L, metameth, 0);
  lua_pushliteral(L, ETWL_PROVIDER);
  lua_setfield(L, -2, "__name");
  lua_setmetatable(L, -2);                  /* stack: ... p */
}

/* etw.Provider(name [, {id=, group_id=}]) or etw.Provider(name [, id [, group_id]]).
** Checks in the Python module's order: the name hash (UTF-8) first. */
static int l_new(lua_State *L) {
  size_t len;
  tlg_guid id, group;
  int has_id = 0, has_group = 0;
  if (lua_type(L, 1) != LUA_TSTRING) luaL_typeerror(L, 1, "string");
  const char *name = lua_tolstring(L, 1, &len);
  if (lua_type(L, 2) == LUA_TTABLE) {
    get_options(L, &id, &has_id, &group, &has_group);
  } else {
    has_id = etwL_optguid(L, 2, &id);
    has_group = etwL_optguid(L, 3, &group);
  }
  if (!has_id && tlg_provider_id(name, len, &id) != TLG_OK)
    luaL_argerror(L, 1, "provider name must be valid UTF-8");
  luaL_argcheck(L, len > 0, 1, "provider name must not be empty");
  luaL_argcheck(L, !memchr(name, 0, len), 1, "provider name must not contain NUL");
  luaL_argcheck(L, len <= MAX_NAME, 1, "provider name too long (max 65513 bytes)");
  size_t tlen = 3 + len + (has_group ? 19 : 0);
  lprovider *p = lua_newuserdatauv(L, sizeof *p + tlen, 0);
  memset(p, 0, sizeof *p);
  p->id = id;
  p->group = group;
  p->has_group = has_group;
  p->name_len = len;
  (void)tlg_provider_traits(name, len, has_group ? &group : NULL, p->traits, tlen, &p->traits_len);
  p->tag = &provider_tag;
  p->open = 1;
  set_metatable(L, p);
  /* As the Python module without throw_on_error: if the engine cannot take
  ** the provider (runtime directory unusable, table full) it stays open and
  ** silent, is_enabled false and write 0. Shown as a warning (etwlua -W). */
  int st = eng_provider_register(&id, p->traits, p->traits_len, &p->eng);
  if (st != ENG_OK) {
    lua_warning(L, "etw.Provider: no session engine for this provider: ", 1);
    lua_warning(L, eng_strerror(st), 0);
  }
  return 1;
}

void etwL_open_provider(lua_State *L) {     /* stack: etw */
  lua_pushcfunction(L, l_new);
  lua_setfield(L, -2, "Provider");
}
