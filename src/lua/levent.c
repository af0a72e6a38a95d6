/*
** levent.c: etw.Event, one event as Lua sees it (DESIGN §2): header fields,
** fields decoded lazily and cached, ev:json(), tostring(ev); and
** etw.decode_blobs, which makes an Event from raw blobs.
*/
#include <stdio.h>
#include <string.h>

#include "lauxetw.h"
#include "../tlg/tlg_decode.h"
#include "../tlg/tlg_format.h"
#include "../tlg/tlg_guid.h"

/*
** ev.fields: the event's fields in metadata order, as one table that is
**   - a sequence of values: ev.fields[1], #ev.fields, ipairs(ev.fields);
**   - a record: ev.fields.Name (when several fields share a name, the first);
**   - iterated by pairs() in order, as (name, value) pairs, duplicates
**     included (a __pairs metamethod; `next` sees both kinds of keys).
** Structs are tables of the same shape; arrays are plain sequences (an array
** of structs is a sequence of such tables).
** ev.schema: the metadata tree, a sequence parallel to ev.fields of
**   {name=, type= (TDH InType name, e.g. "uint32", "unicodestring"),
**    in_type=, out_type= (absent for structs), tag=, array="vcount"|"ccount"
**    (absent for single values), ccount= (fixed-count arrays),
**    schema= (custom fields: the schema bytes), fields= (structs: members)}.
** Values: integers are Lua integers; uint64, hexint64 and pointer values
** above 2^63 keep their 64 bits and so read as negative (string.format("%u")
** or math.ult see them unsigned); float/double are numbers; bool32 and 8-bit
** integers with OutType BOOLEAN are booleans; 8-bit strings are their bytes
** as they are; UTF-16 strings become UTF-8 (unpaired surrogates: U+FFFD);
** binary, cbinary and custom values are byte strings; GUIDs and SIDs are text
** ("S-1-5-18"); FILETIME is the integer (also with a DATETIME OutType);
** SYSTEMTIME is {year, month, day_of_week, day, hour, minute, second,
** milliseconds}.
** ev.decode_error: nil, or "TLG_E_NAME: message at field N ("name")" when
** the bytes did not decode; the fields decoded before the error are kept.
** ev.name and ev.tags are nil when the metadata header is unreadable (or the
** event has no metadata); ev.pid/tid/cpu/timestamp are nil for events that
** never went through a session (flags lack ENG_REC_HEADER).
*/

typedef struct levent {
  eng_record rec; /* the blobs point into bytes[]; Lua never moves userdata */
  uint8_t bytes[];
} levent;

enum { UV_PROVIDER = 1, UV_FIELDS, UV_SCHEMA, UV_ERROR, UV_COUNT = UV_ERROR };

static const char *const props[] = {
  "provider", "provider_id", "name", "id", "version", "channel", "level",
  "opcode", "task", "keyword", "tags", "pid", "tid", "cpu", "timestamp",
  "activity_id", "related_activity_id", "fields", "schema", "decode_error", NULL};
enum {
  P_PROVIDER = 1, P_PROVIDER_ID, P_NAME, P_ID, P_VERSION, P_CHANNEL, P_LEVEL,
  P_OPCODE, P_TASK, P_KEYWORD, P_TAGS, P_PID, P_TID, P_CPU, P_TIMESTAMP,
  P_ACTIVITY, P_RELATED, P_FIELDS, P_SCHEMA, P_DECODE_ERROR};

static const char *const intype_names[32] = {
  "null", "unicodestring", "ansistring", "int8", "uint8", "int16", "uint16",
  "int32", "uint32", "int64", "uint64", "float", "double", "bool32", "binary",
  "guid", "pointer", "filetime", "systemtime", "sid", "hexint32", "hexint64",
  "countedstring", "countedansistring", "struct", "countedbinary"};

#define levent_check(L, i) ((levent *)luaL_checkudata(L, i, ETWL_EVENT))

static void buf_write(void *ctx, const char *s, size_t n) { luaL_addlstring(ctx, s, n); }

/* A NULL blob stays NULL; an empty one stays non-NULL (empty metadata is
** "bad metadata", not "no metadata"). */
static void copy_blob(uint8_t **p, const uint8_t **blob, uint32_t *len) {
  if (!*blob) {
    *len = 0;
    return;
  }
  memcpy(*p, *blob, *len);
  *blob = *p;
  *p += *len;
}

void etwL_pushevent(lua_State *L, const eng_record *rec, const char *provider_name) {
  size_t total = (size_t)(rec->traits ? rec->traits_len : 0) +
                 (rec->meta ? rec->meta_len : 0) + (rec->data ? rec->data_len : 0);
  levent *ev = lua_newuserdatauv(L, sizeof(levent) + total, UV_COUNT);
  uint8_t *p = ev->bytes;
  ev->rec = *rec;
  copy_blob(&p, &ev->rec.traits, &ev->rec.traits_len);
  copy_blob(&p, &ev->rec.meta, &ev->rec.meta_len);
  copy_blob(&p, &ev->rec.data, &ev->rec.data_len);
  luaL_setmetatable(L, ETWL_EVENT);
  if (provider_name) {
    lua_pushstring(L, provider_name);
    lua_setiuservalue(L, -2, UV_PROVIDER);
  }
}

/* Start a decoder on the event's blobs; 0 when there is no metadata. */
static int start(const levent *ev, tlg_decoder *d) {
  if (!ev->rec.meta) return 0;
  tlg_decode_start(d, ev->rec.meta, ev->rec.meta_len, ev->rec.data, ev->rec.data_len);
  return 1;
}

/* ---- values ---- */

static void push_utf16(lua_State *L, const uint8_t *p, size_t n) {
  luaL_Buffer b;
  tlg_sink sink = {buf_write, &b};
  luaL_buffinit(L, &b);
  tlg_fmt_utf16(&sink, p, n);
  luaL_pushresult(&b);
}

static void push_sid(lua_State *L, const uint8_t *p, size_t n) {
  luaL_Buffer b;
  tlg_sink sink = {buf_write, &b};
  luaL_buffinit(L, &b);
  tlg_fmt_sid(&sink, p, n);
  luaL_pushresult(&b);
}

static void push_systemtime(lua_State *L, const uint8_t *p) {
  static const char *const keys[8] = {"year", "month", "day_of_week", "day",
                                      "hour", "minute", "second", "milliseconds"};
  lua_createtable(L, 0, 8);
  for (int i = 0; i < 8; i++) {
    lua_pushinteger(L, (lua_Integer)tlg_get_le(p + 2 * i, 2));
    lua_setfield(L, -2, keys[i]);
  }
}

static void push_int(lua_State *L, const tlg_item *it, int is_signed) {
  unsigned n = it->value_len;
  uint64_t u = tlg_get_le(it->value, n);
  if (n == 1 && it->field.out_type == TLG_OUT_BOOLEAN) {
    lua_pushboolean(L, u != 0);
  } else if (is_signed && n < 8) {
    unsigned sh = 64 - 8 * n;
    lua_pushinteger(L, (lua_Integer)((int64_t)(u << sh) >> sh));
  } else {
    lua_pushinteger(L, (lua_Integer)u); /* same 64 bits */
  }
}

static void push_value(lua_State *L, const tlg_item *it) {
  const uint8_t *v = it->value;
  size_t n = it->value_len;
  int t = it->field.array == TLG_IN_CUSTOM ? TLG_IN_BINARY : it->field.in_type;
  switch (t) {
  case TLG_IN_UNICODESTRING: case TLG_IN_COUNTEDSTRING: push_utf16(L, v, n); break;
  case TLG_IN_ANSISTRING: case TLG_IN_COUNTEDANSISTRING:
  case TLG_IN_BINARY: case TLG_IN_COUNTEDBINARY:
    lua_pushlstring(L, (const char *)v, n); break;
  case TLG_IN_INT8: case TLG_IN_INT16: case TLG_IN_INT32: case TLG_IN_INT64:
  case TLG_IN_FILETIME:
    push_int(L, it, 1); break;
  case TLG_IN_FLOAT: {
    float f;
    memcpy(&f, v, 4);
    lua_pushnumber(L, (lua_Number)f);
    break;
  }
  case TLG_IN_DOUBLE: {
    double d;
    memcpy(&d, v, 8);
    lua_pushnumber(L, (lua_Number)d);
    break;
  }
  case TLG_IN_BOOL32: lua_pushboolean(L, tlg_get_le(v, 4) != 0); break;
  case TLG_IN_GUID: {
    tlg_guid g;
    memcpy(g.b, v, 16);
    etwL_pushguid(L, &g);
    break;
  }
  case TLG_IN_SYSTEMTIME: push_systemtime(L, v); break;
  case TLG_IN_SID: push_sid(L, v, n); break;
  default: push_int(L, it, 0); break; /* unsigned, hexint, pointer */
  }
}

/* ---- ev.schema and the ordered-fields metatables ---- */

/* __pairs of a fields table: (name, value) in order, via the __names list. */
static int fields_next(lua_State *L) {
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(1)) + 1;
  lua_settop(L, 1);
  if (lua_rawgeti(L, 1, i) == LUA_TNIL) return 0;   /* t v */
  lua_pushinteger(L, i);
  lua_replace(L, lua_upvalueindex(1));
  if (!lua_getmetatable(L, 1) || lua_getfield(L, -1, "__names") != LUA_TTABLE ||
      lua_rawgeti(L, -1, i) == LUA_TNIL)
    lua_pushinteger(L, i);                           /* no name: the position */
  lua_pushvalue(L, 2);                               /* ... name v */
  return 2;
}

static int fields_pairs(lua_State *L) {
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, fields_next, 1);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

/* With the member infos on top, store a fields metatable in mts[key]. */
static void make_fields_mt(lua_State *L, int mts, lua_Integer key) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  lua_createtable(L, 0, 3);                          /* infos mt */
  lua_createtable(L, (int)n, 0);                     /* infos mt names */
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -3, i);
    lua_getfield(L, -1, "name");
    lua_rawseti(L, -3, i);
    lua_pop(L, 1);
  }
  lua_setfield(L, -2, "__names");
  lua_pushcfunction(L, fields_pairs);
  lua_setfield(L, -2, "__pairs");
  lua_pushliteral(L, "etw.Fields");
  lua_setfield(L, -2, "__name");
  lua_rawseti(L, mts, key);                          /* infos */
}

static void push_info(lua_State *L, const tlg_field *f) {
  lua_createtable(L, 0, 6);
  lua_pushlstring(L, f->name, f->name_len);
  lua_setfield(L, -2, "name");
  lua_pushstring(L, intype_names[f->in_type] ? intype_names[f->in_type] : "unknown");
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, f->in_type);
  lua_setfield(L, -2, "in_type");
  if (f->in_type != TLG_IN_STRUCT) {
    lua_pushinteger(L, f->out_type);
    lua_setfield(L, -2, "out_type");
  }
  lua_pushinteger(L, (lua_Integer)f->tag);
  lua_setfield(L, -2, "tag");
  if (tlg_field_is_array(f)) {
    lua_pushstring(L, f->array == TLG_IN_VCOUNT ? "vcount" : "ccount");
    lua_setfield(L, -2, "array");
  }
  if (f->array == TLG_IN_CCOUNT) {
    lua_pushinteger(L, f->ccount);
    lua_setfield(L, -2, "ccount");
  } else if (f->array == TLG_IN_CUSTOM) {
    lua_pushlstring(L, (const char *)f->schema, f->schema_len);
    lua_setfield(L, -2, "schema");
  }
}

/* Push the infos of `n` fields (all remaining when n is UINT32_MAX); returns
** 0 when the metadata stopped it early (the data pass reports why). */
static int build_schema(lua_State *L, const tlg_decoder *d, uint32_t *pos,
                        uint32_t *index, uint32_t n, unsigned depth, int mts) {
  lua_newtable(L);
  for (lua_Integer i = 1; n == UINT32_MAX || (uint32_t)i <= n; i++) {
    tlg_field f;
    if (tlg_decode_meta_end(d, *pos) || tlg_decode_field(d, pos, *index, &f) != TLG_OK)
      return n == UINT32_MAX && tlg_decode_meta_end(d, *pos);
    (*index)++;
    push_info(L, &f);
    int ok = 1;
    if (f.in_type == TLG_IN_STRUCT) {
      if (depth + 1 >= TLG_DECODE_MAX_DEPTH) {
        lua_rawseti(L, -2, i);
        return 0;
      }
      ok = build_schema(L, d, pos, index, tlg_field_members(&f), depth + 1, mts);
      make_fields_mt(L, mts, (lua_Integer)f.index + 1);
      lua_setfield(L, -2, "fields");
    }
    lua_rawseti(L, -2, i);
    if (!ok) return 0;
  }
  return 1;
}

/* ---- ev.fields ---- */

typedef struct bframe {
  int is_array, in_array;
  lua_Integer n;            /* values so far (structs) */
  uint32_t index;           /* position in the parent array */
  const char *name;
  size_t name_len;
} bframe;

/* Add the value on top to the container below it. */
static void add_value(lua_State *L, bframe *parent, const char *name, size_t len,
                      int in_array, uint32_t index) {
  if (parent->is_array || in_array) {
    lua_rawseti(L, -2, (lua_Integer)index + 1);
    return;
  }
  lua_pushvalue(L, -1);                              /* c v v */
  lua_rawseti(L, -3, ++parent->n);                   /* c v */
  lua_pushlstring(L, name, len);                     /* c v k */
  if (lua_rawget(L, -3) == LUA_TNIL) {               /* c v old */
    lua_pop(L, 1);
    lua_pushlstring(L, name, len);
    lua_insert(L, -2);                               /* c k v */
    lua_rawset(L, -3);
  } else {
    lua_pop(L, 2);
  }
}

static void new_container(lua_State *L, int mts, lua_Integer key, int narr) {
  lua_createtable(L, narr, narr);
  if (lua_rawgeti(L, mts, key) == LUA_TTABLE)
    lua_setmetatable(L, -2);
  else
    lua_pop(L, 1);
}

static void close_frame(lua_State *L, bframe *fr, int *top) {
  bframe *done = &fr[*top];
  (*top)--;
  add_value(L, &fr[*top], done->name, done->name_len, done->in_array, done->index);
}

static void build_fields(lua_State *L, tlg_decoder *d, int mts) {
  bframe fr[TLG_DECODE_MAX_FRAMES + 1];
  int top = 0;
  tlg_item it;
  luaL_checkstack(L, TLG_DECODE_MAX_FRAMES + 8, "decoding event fields");
  new_container(L, mts, 0, 0);
  memset(&fr[0], 0, sizeof fr[0]);
  while (tlg_decode_next(d, &it)) {
    if (it.kind == TLG_ITEM_VALUE) {
      push_value(L, &it);
      add_value(L, &fr[top], it.field.name, it.field.name_len, it.in_array, it.index);
    } else if (it.kind == TLG_ITEM_ARRAY_BEGIN || it.kind == TLG_ITEM_STRUCT_BEGIN) {
      int arr = it.kind == TLG_ITEM_ARRAY_BEGIN;
      int pre = it.count < 256 ? (int)it.count : 256; /* counts are untrusted */
      if (arr)
        lua_createtable(L, pre, 0);
      else
        new_container(L, mts, (lua_Integer)it.field.index + 1, pre);
      if (top >= TLG_DECODE_MAX_FRAMES) luaL_error(L, "decoder nesting invariant broken");
      fr[++top] = (bframe){arr, it.in_array, 0, it.index, it.field.name, it.field.name_len};
    } else if (top > 0) {
      close_frame(L, fr, &top);
    }
  }
  while (top > 0) close_frame(L, fr, &top); /* after an error: keep what we have */
}

static void push_error(lua_State *L, const tlg_decoder *d) {
  luaL_Buffer b;
  tlg_sink sink = {buf_write, &b};
  luaL_buffinit(L, &b);
  tlg_fmt_error(&sink, d);
  luaL_pushresult(&b);
}

/* Decode once into the user values: fields, schema, error (false if none). */
static void decode_all(lua_State *L, int idx, const levent *ev) {
  tlg_decoder d;
  int has_meta = start(ev, &d);
  int ok = has_meta && tlg_decode_status(&d) == TLG_OK;
  lua_newtable(L);                                   /* mts */
  int mts = lua_gettop(L);
  uint32_t pos = ok ? tlg_decode_fields_pos(&d) : 0, index = 0;
  if (ok)
    build_schema(L, &d, &pos, &index, UINT32_MAX, 0, mts);
  else
    lua_newtable(L);                                 /* mts schema */
  make_fields_mt(L, mts, 0);
  lua_setiuservalue(L, idx, UV_SCHEMA);
  if (has_meta && ok)
    build_fields(L, &d, mts);
  else
    new_container(L, mts, 0, 0);
  lua_setiuservalue(L, idx, UV_FIELDS);
  if (has_meta && tlg_decode_status(&d) != TLG_OK)
    push_error(L, &d);
  else
    lua_pushboolean(L, 0);
  lua_setiuservalue(L, idx, UV_ERROR);
  lua_pop(L, 1);                                     /* mts */
}

static int push_decoded(lua_State *L, levent *ev, int uv) {
  if (lua_getiuservalue(L, 1, UV_FIELDS) == LUA_TNIL) {
    lua_pop(L, 1);
    decode_all(L, 1, ev);
  } else {
    lua_pop(L, 1);
  }
  if (lua_getiuservalue(L, 1, uv) == LUA_TBOOLEAN) lua_pushnil(L);
  return 1;
}

/* ---- header fields ---- */

static int push_provider(lua_State *L, const levent *ev) {
  const char *name;
  size_t len;
  if (lua_getiuservalue(L, 1, UV_PROVIDER) == LUA_TSTRING) return 1;
  if (tlg_traits_name(ev->rec.traits, ev->rec.traits_len, &name, &len) != TLG_OK) return 0;
  lua_pushlstring(L, name, len);
  return 1;
}

static int push_name_or_tag(lua_State *L, const levent *ev, int tag) {
  tlg_decoder d;
  if (!start(ev, &d) || !d.event_name) return 0;
  if (tag)
    lua_pushinteger(L, (lua_Integer)d.event_tag);
  else
    lua_pushlstring(L, d.event_name, d.event_name_len);
  return 1;
}

static int push_header_only(lua_State *L, const levent *ev, lua_Integer v) {
  if (!(ev->rec.flags & ENG_REC_HEADER)) return 0;
  lua_pushinteger(L, v);
  return 1;
}

static int push_opt_guid(lua_State *L, const levent *ev, unsigned flag, const tlg_guid *g) {
  if (!(ev->rec.flags & flag)) return 0;
  etwL_pushguid(L, g);
  return 1;
}

static int push_prop(lua_State *L, levent *ev, int p) {
  const eng_record *r = &ev->rec;
  switch (p) {
  case P_PROVIDER: return push_provider(L, ev);
  case P_PROVIDER_ID: etwL_pushguid(L, &r->provider_id); return 1;
  case P_NAME: return push_name_or_tag(L, ev, 0);
  case P_TAGS: return push_name_or_tag(L, ev, 1);
  case P_ID: lua_pushinteger(L, r->desc.id); return 1;
  case P_VERSION: lua_pushinteger(L, r->desc.version); return 1;
  case P_CHANNEL: lua_pushinteger(L, r->desc.channel); return 1;
  case P_LEVEL: lua_pushinteger(L, r->desc.level); return 1;
  case P_OPCODE: lua_pushinteger(L, r->desc.opcode); return 1;
  case P_TASK: lua_pushinteger(L, r->desc.task); return 1;
  case P_KEYWORD: lua_pushinteger(L, (lua_Integer)r->desc.keyword); return 1;
  case P_PID: return push_header_only(L, ev, r->pid);
  case P_TID: return push_header_only(L, ev, r->tid);
  case P_CPU: return push_header_only(L, ev, r->cpu);
  case P_TIMESTAMP: return push_header_only(L, ev, r->timestamp);
  case P_ACTIVITY: return push_opt_guid(L, ev, ENG_REC_ACTIVITY, &r->activity_id);
  case P_RELATED: return push_opt_guid(L, ev, ENG_REC_RELATED, &r->related_activity_id);
  case P_FIELDS: return push_decoded(L, ev, UV_FIELDS);
  case P_SCHEMA: return push_decoded(L, ev, UV_SCHEMA);
  case P_DECODE_ERROR: return push_decoded(L, ev, UV_ERROR);
  default: return 0;
  }
}

/* __index: upvalue 1 maps property names to codes and method names to functions. */
static int ev_index(lua_State *L) {
  levent *ev = levent_check(L, 1);
  lua_settop(L, 2);
  int t = lua_rawget(L, lua_upvalueindex(1));
  if (t == LUA_TFUNCTION) return 1;
  if (t != LUA_TNUMBER) return 0;
  int p = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return push_prop(L, ev, p);
}

/* ---- ev:json() and tostring(ev) ---- */

typedef struct jw {
  luaL_Buffer b; /* must not move after luaL_buffinit */
  tlg_sink sink;
  int first;
} jw;

static void jw_key(jw *w, const char *k) {
  luaL_addstring(&w->b, w->first ? "{\"" : ",\"");
  w->first = 0;
  luaL_addstring(&w->b, k);
  luaL_addstring(&w->b, "\":");
}

static void jw_u64(jw *w, const char *k, uint64_t v) {
  char tmp[32];
  jw_key(w, k);
  snprintf(tmp, sizeof tmp, v > (1ull << 53) ? "\"%llu\"" : "%llu", (unsigned long long)v);
  luaL_addstring(&w->b, tmp);
}

static void jw_guid(jw *w, const char *k, const tlg_guid *g) {
  char text[TLG_GUID_TEXT];
  tlg_guid_format(g, text);
  jw_key(w, k);
  luaL_addchar(&w->b, '"');
  luaL_addstring(&w->b, text);
  luaL_addchar(&w->b, '"');
}

/* The decode error as plain C text (bounded; used inside a luaL_Buffer). */
typedef struct cbuf { char s[512]; size_t n; } cbuf;
static void cbuf_write(void *ctx, const char *s, size_t n) {
  cbuf *c = ctx;
  if (n > sizeof c->s - 1 - c->n) n = sizeof c->s - 1 - c->n;
  memcpy(c->s + c->n, s, n);
  c->n += n;
  c->s[c->n] = 0;
}

static void error_text(const tlg_decoder *d, cbuf *c) {
  tlg_sink sink = {cbuf_write, c};
  c->n = 0;
  c->s[0] = 0;
  tlg_fmt_error(&sink, d);
}

static void json_header(jw *w, const levent *ev, const char *prov, size_t plen,
                        const tlg_decoder *d) {
  const eng_record *r = &ev->rec;
  if (prov) {
    jw_key(w, "provider");
    tlg_fmt_json_string(&w->sink, prov, plen);
  }
  jw_guid(w, "provider_id", &r->provider_id);
  if (d && d->event_name) {
    jw_key(w, "name");
    tlg_fmt_json_string(&w->sink, d->event_name, d->event_name_len);
  }
  jw_u64(w, "id", r->desc.id);
  jw_u64(w, "version", r->desc.version);
  jw_u64(w, "channel", r->desc.channel);
  jw_u64(w, "level", r->desc.level);
  jw_u64(w, "opcode", r->desc.opcode);
  jw_u64(w, "task", r->desc.task);
  jw_u64(w, "keyword", r->desc.keyword);
  if (d && d->event_name) jw_u64(w, "tags", d->event_tag);
  if (r->flags & ENG_REC_HEADER) {
    jw_u64(w, "pid", r->pid);
    jw_u64(w, "tid", r->tid);
    jw_u64(w, "cpu", r->cpu);
    jw_key(w, "timestamp");
    luaL_addchar(&w->b, '"');
    tlg_fmt_filetime(&w->sink, r->timestamp);
    luaL_addchar(&w->b, '"');
  }
  if (r->flags & ENG_REC_ACTIVITY) jw_guid(w, "activity_id", &r->activity_id);
  if (r->flags & ENG_REC_RELATED) jw_guid(w, "related_activity_id", &r->related_activity_id);
}

/* Provider name: the one given at push time, else the traits blob's. */
static const char *provider_name(lua_State *L, const levent *ev, size_t *len) {
  const char *name = NULL;
  if (lua_getiuservalue(L, 1, UV_PROVIDER) == LUA_TSTRING) name = lua_tolstring(L, -1, len);
  lua_pop(L, 1); /* the user value keeps the string alive */
  if (!name && tlg_traits_name(ev->rec.traits, ev->rec.traits_len, &name, len) != TLG_OK)
    name = NULL;
  return name;
}

/* ev:json() -> one JSON object: the header fields of DESIGN §2 that the event
** has (keys absent rather than null), then "fields" in order, then
** "decode_error" if any. 64-bit values beyond 2^53 are decimal strings;
** timestamps are ISO 8601 UTC strings with 100 ns digits. */
static int ev_json(lua_State *L) {
  levent *ev = levent_check(L, 1);
  size_t plen = 0;
  const char *prov = provider_name(L, ev, &plen);
  tlg_decoder d;
  int has_meta = start(ev, &d);
  jw w;
  w.first = 1;
  w.sink = (tlg_sink){buf_write, &w.b};
  luaL_buffinit(L, &w.b);
  json_header(&w, ev, prov, plen, has_meta ? &d : NULL);
  jw_key(&w, "fields");
  if (has_meta)
    tlg_fmt_fields(&w.sink, &d, TLG_FMT_JSON);
  else
    luaL_addstring(&w.b, "{}");
  if (has_meta && tlg_decode_status(&d) != TLG_OK) {
    cbuf c;
    error_text(&d, &c);
    jw_key(&w, "decode_error");
    tlg_fmt_json_string(&w.sink, c.s, c.n);
  }
  luaL_addchar(&w.b, '}');
  luaL_pushresult(&w.b);
  return 1;
}

/* tostring(ev): `Provider/Name(level=5 keyword=0x1) a=1 b="x"`, then
** ` [TLG_E_...]` when the fields did not decode. */
static int ev_tostring(lua_State *L) {
  levent *ev = levent_check(L, 1);
  size_t plen = 0;
  const char *prov = provider_name(L, ev, &plen);
  char tmp[TLG_GUID_TEXT + 64];
  tlg_decoder d;
  int has_meta = start(ev, &d);
  luaL_Buffer b;
  tlg_sink sink = {buf_write, &b};
  luaL_buffinit(L, &b);
  if (prov) {
    luaL_addlstring(&b, prov, plen);
  } else {
    tlg_guid_format(&ev->rec.provider_id, tmp);
    luaL_addstring(&b, tmp);
  }
  luaL_addchar(&b, '/');
  if (has_meta && d.event_name)
    luaL_addlstring(&b, d.event_name, d.event_name_len);
  else
    luaL_addchar(&b, '?');
  snprintf(tmp, sizeof tmp, "(level=%u keyword=0x%llx)", (unsigned)ev->rec.desc.level,
           (unsigned long long)ev->rec.desc.keyword);
  luaL_addstring(&b, tmp);
  if (has_meta && tlg_decode_status(&d) == TLG_OK) {
    size_t before = luaL_bufflen(&b);
    luaL_addchar(&b, ' ');
    tlg_fmt_fields(&sink, &d, TLG_FMT_TEXT);
    if (luaL_bufflen(&b) == before + 1) luaL_buffsub(&b, 1); /* no fields */
  }
  if (has_meta && tlg_decode_status(&d) != TLG_OK) {
    cbuf c;
    error_text(&d, &c);
    luaL_addstring(&b, " [");
    luaL_addlstring(&b, c.s, c.n);
    luaL_addchar(&b, ']');
  }
  luaL_pushresult(&b);
  return 1;
}

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

static void header_field(lua_State *L, eng_record *r, const char *k) {
  lua_Integer v = 0;
  static const char *const keys[] = {
    "provider_id", "activity_id", "related_activity_id", "id", "version", "channel",
    "level", "opcode", "task", "keyword", "pid", "tid", "cpu", "timestamp", NULL};
  int i = 0;
  while (keys[i] && strcmp(keys[i], k) != 0) i++;
  switch (i) {
  case 0: header_guid(L, k, &r->provider_id); break;
  case 1: header_guid(L, k, &r->activity_id); r->flags |= ENG_REC_ACTIVITY; break;
  case 2: header_guid(L, k, &r->related_activity_id); r->flags |= ENG_REC_RELATED; break;
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
  default: luaL_error(L, "decode_blobs: unknown header field '%s'", k);
  }
  if (i >= 10) r->flags |= ENG_REC_HEADER;
}

/* etw.decode_blobs(metadata [, data [, traits [, header]]]) -> etw.Event.
** metadata: the event metadata blob with its u16 size (spec §3.3); data: the
** field data (default ""); traits: a provider traits blob (spec §3.2), which
** gives ev.provider and, unless header.provider_id says otherwise,
** ev.provider_id (the name hash). header: optional table of provider_id,
** activity_id, related_activity_id (GUID strings), id, version, channel, level,
** opcode, task, keyword, and pid, tid, cpu, timestamp (these four make the
** event "have a header"); other descriptor fields default to 0. Nothing is
** validated until the fields are read: bad bytes give ev.decode_error. */
static int l_decode_blobs(lua_State *L) {
  size_t ml, dl = 0, tl = 0;
  const char *meta = luaL_checklstring(L, 1, &ml);
  const char *data = luaL_optlstring(L, 2, "", &dl);
  const char *traits = luaL_optlstring(L, 3, NULL, &tl);
  eng_record rec;
  memset(&rec, 0, sizeof rec);
  luaL_argcheck(L, ml <= 0xFFFFFFFFu, 1, "metadata too long");
  luaL_argcheck(L, dl <= 0xFFFFFFFFu, 2, "data too long");
  luaL_argcheck(L, tl <= 0xFFFFFFFFu, 3, "traits too long");
  rec.meta = (const uint8_t *)meta;
  rec.meta_len = (uint32_t)ml;
  rec.data = (const uint8_t *)data;
  rec.data_len = (uint32_t)dl;
  rec.flags = ENG_REC_TRACELOGGING;
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
    for (lua_pushnil(L); lua_next(L, 4); lua_pop(L, 1)) {
      if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "decode_blobs: header keys must be strings");
      header_field(L, &rec, lua_tostring(L, -2));
    }
  }
  etwL_pushevent(L, &rec, NULL);
  return 1;
}

void etwL_open_event(lua_State *L) {
  luaL_newmetatable(L, ETWL_EVENT);                  /* mod mt */
  lua_newtable(L);                                   /* mod mt keys */
  for (int i = 0; props[i]; i++) {
    lua_pushinteger(L, i + 1);
    lua_setfield(L, -2, props[i]);
  }
  lua_pushcfunction(L, ev_json);
  lua_setfield(L, -2, "json");
  lua_pushcclosure(L, ev_index, 1);                  /* mod mt __index */
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ev_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);                                     /* mod */
  lua_pushcfunction(L, l_decode_blobs);
  lua_setfield(L, -2, "decode_blobs");
}
