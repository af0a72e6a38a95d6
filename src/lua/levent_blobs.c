/*
** levent_blobs.c: etw.decode_blobs, an Event made from raw blobs and a
** header table (tests, and scripts that carry events as bytes).
*/
#include "levent.h"

/* ---- etw.decode_blobs ---- */

static int header_int(lua_State *L, const char *key, lua_Integer lo, lua_Integer hi,
                      lua_Integer *out) {
  int isint;
  lua_Integer v = lua_tointegerx(L, -1, &isint);
  if (!isint || (lo <= hi && (v < lo || v > hi)))
    return luaL_error(L, "decode_blobs: header.%s must be an integer%s", key,
                      lo <= hi ? " in range" : "");
  *out = v;
  return 1;
}

static void header_guid(lua_State *L, const char *key, tlg_guid *g) {
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  if (lua_type(L, -1) != LUA_TSTRING || tlg_guid_parse(s, len, g) != TLG_OK)
    luaL_error(L, "decode_blobs: header.%s must be a GUID string", key);
}

/* header.header_kind: a name of ev.header_kind, or its number 0..7. */
static void header_kind(lua_State *L, rec_record *r) {
  lua_Integer v = 0;
  if (lua_type(L, -1) == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    for (unsigned i = 1; i < LEV_N_HEADER_KINDS; i++)
      if (strcmp(s, lev_header_kinds[i]) == 0) {
        r->header_kind = (uint8_t)i;
        return;
      }
    luaL_error(L, "decode_blobs: header.header_kind must be one of the ev.header_kind names");
  }
  header_int(L, "header_kind", 0, (lua_Integer)LEV_N_HEADER_KINDS - 1, &v);
  r->header_kind = (uint8_t)v;
}

/* Returns 1 for "ext", which the caller reads after the walk. */
static int header_field(lua_State *L, rec_record *r, const char *k) {
  lua_Integer v = 0;
  static const char *const keys[] = {
    "provider_id", "activity_id", "related_activity_id", "id", "version", "channel",
    "level", "opcode", "task", "keyword", "pid", "tid", "cpu", "timestamp",
    "header_kind", "kernel_time", "user_time", "ext", "tdh_info", "pointer_size", NULL};
  int i = 0;
  while (keys[i] && strcmp(keys[i], k) != 0) i++;
  switch (i) {
  case 0: header_guid(L, k, &r->provider_id); break;
  case 1: header_guid(L, k, &r->activity_id); r->flags |= REC_ACTIVITY; break;
  case 2: header_guid(L, k, &r->related_activity_id); r->flags |= REC_RELATED; break;
  case 3: header_int(L, k, 0, 0xFFFF, &v); r->desc.id = (uint16_t)v; break;
  case 4: header_int(L, k, 0, 0xFF, &v); r->desc.version = (uint8_t)v; break;
  case 5: header_int(L, k, 0, 0xFF, &v); r->desc.channel = (uint8_t)v; break;
  case 6: header_int(L, k, 0, 0xFF, &v); r->desc.level = (uint8_t)v; break;
  case 7: header_int(L, k, 0, 0xFF, &v); r->desc.opcode = (uint8_t)v; break;
  case 8: header_int(L, k, 0, 0xFFFF, &v); r->desc.task = (uint16_t)v; break;
  case 9: header_int(L, k, 1, 0, &v); r->desc.keyword = (uint64_t)v; break;
  case 10: header_int(L, k, 0, 0xFFFFFFFF, &v); r->pid = (uint32_t)v; break;
  case 11: header_int(L, k, 0, 0xFFFFFFFF, &v); r->tid = (uint32_t)v; break;
  case 12: header_int(L, k, 0, 0xFFFFFFFF, &v); r->cpu = (uint32_t)v; break;
  case 13: header_int(L, k, 1, 0, &v); r->timestamp = (int64_t)v; break;
  case 14: header_kind(L, r); break;
  case 15: header_int(L, k, 0, 0xFFFFFFFF, &v); r->kernel_time = (uint32_t)v; break;
  case 16: header_int(L, k, 0, 0xFFFFFFFF, &v); r->user_time = (uint32_t)v; break;
  case 17: return 1;
  case 18: {
    size_t len = 0;
    if (lua_type(L, -1) != LUA_TSTRING || (len = lua_rawlen(L, -1)) > 0xFFFFFFFFu)
      luaL_error(L, "decode_blobs: header field 'tdh_info' must be a string (TRACE_EVENT_INFO bytes)");
    r->tdh_info = (const uint8_t *)lua_tostring(L, -1);   /* kept alive by the header table */
    r->tdh_info_len = (uint32_t)len;
    break;
  }
  case 19:
    header_int(L, k, 4, 8, &v);
    if (v != 4 && v != 8) luaL_error(L, "decode_blobs: header field 'pointer_size' must be 4 or 8");
    r->pointer_size = (uint8_t)v;
    break;
  default: luaL_error(L, "decode_blobs: unknown header field '%s'", k);
  }
  if (i >= 10 && i <= 13) r->flags |= REC_HEADER;
  return 0;
}

/* header.ext at the top: a sequence of {type=, data=}; the items go into a
** userdata pushed above it (their data strings stay in the ext table). */
static void header_ext(lua_State *L, rec_record *r) {
  if (!lua_istable(L, -1))
    luaL_error(L, "decode_blobs: header.ext must be a list of {type=, data=}");
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  if (n > 0xFFFF) luaL_error(L, "decode_blobs: header.ext has too many items");
  rec_ext_item *items = lua_newuserdatauv(L, (size_t)n * sizeof *items + 1, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_Integer type = 0;
    size_t len = 0;
    if (lua_rawgeti(L, -2, i) != LUA_TTABLE)
      luaL_error(L, "decode_blobs: header.ext[%d] must be a table {type=, data=}", (int)i);
    char key[32];
    snprintf(key, sizeof key, "ext[%d].type", (int)i);
    lua_pushliteral(L, "type");                      /* raw gets: no code runs, so */
    lua_rawget(L, -2);                               /* the strings stay reachable */
    header_int(L, key, 0, 0xFFFF, &type);
    lua_pushliteral(L, "data");
    lua_rawget(L, -3);
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    if (!s || len > 0xFFFF)
      luaL_error(L, "decode_blobs: header.ext[%d].data must be a string of at most 65535 bytes",
                 (int)i);
    items[i - 1] = (rec_ext_item){(uint16_t)type, (uint16_t)len, (const uint8_t *)s};
    lua_pop(L, 3); /* the string stays referenced by the ext table */
  }
  r->ext = n ? items : NULL;
  r->ext_count = (uint32_t)n;
}

/* etw.decode_blobs(metadata [, data [, traits [, header]]]) -> etw.Event.
** metadata: the event metadata blob with its u16 size (spec §3.3), or nil
** for an event without TraceLogging metadata; data: the field data (default
** ""); traits: a provider traits blob (spec §3.2), which gives ev.provider
** and, unless header.provider_id says otherwise, ev.provider_id (the name
** hash). header: optional table of provider_id, activity_id,
** related_activity_id (GUID strings), id, version, channel, level, opcode,
** task, keyword, and pid, tid, cpu, timestamp (these four make the event
** "have a header"); header_kind (an ev.header_kind name or 0..7),
** kernel_time, user_time; ext = {{type=, data=}, ...} extended data items.
** Other descriptor fields default to 0. Nothing is validated until the
** fields are read: bad bytes give ev.decode_error. */
int lev_decode_blobs(lua_State *L) {
  size_t ml = 0, dl = 0, tl = 0;
  const char *meta = lua_isnil(L, 1) ? NULL : luaL_checklstring(L, 1, &ml);
  const char *data = luaL_optlstring(L, 2, "", &dl);
  const char *traits = luaL_optlstring(L, 3, NULL, &tl);
  rec_record rec;
  int has_ext = 0;
  memset(&rec, 0, sizeof rec);
  luaL_argcheck(L, ml <= 0xFFFFFFFFu, 1, "metadata too long");
  luaL_argcheck(L, dl <= 0xFFFFFFFFu, 2, "data too long");
  luaL_argcheck(L, tl <= 0xFFFFFFFFu, 3, "traits too long");
  rec.meta = (const uint8_t *)meta;
  rec.meta_len = (uint32_t)ml;
  rec.data = (const uint8_t *)data;
  rec.data_len = (uint32_t)dl;
  rec.flags = meta ? REC_TRACELOGGING : 0;
  const char *name;
  size_t nlen;
  if (traits) {
    rec.traits = (const uint8_t *)traits;
    rec.traits_len = (uint32_t)tl;
    if (tlg_traits_name(traits, tl, &name, &nlen) == TLG_OK)
      tlg_provider_id(name, nlen, &rec.provider_id);
  }
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_settop(L, 4);
    for (lua_pushnil(L); lua_next(L, 4); lua_pop(L, 1)) {
      if (lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "decode_blobs: header keys must be strings");
      has_ext |= header_field(L, &rec, lua_tostring(L, -2));
    }
    if (has_ext) {
      lua_pushliteral(L, "ext");
      lua_rawget(L, 4);                              /* kept on the stack */
      header_ext(L, &rec);
    }
  }
  etwL_pushevent(L, &rec, NULL);
  return 1;
}

