/*
** levent_fields.c: ev.fields (values, shapes: the parsed names of one
** metadata blob, shared by its events), ev.schema and ev.decode_error; the
** rules are at the top of levent.c.
*/
#include "levent.h"
#include "flt.h"
#include "tlg_hash.h"

static const char *const intype_names[32] = {
  "null", "unicodestring", "ansistring", "int8", "uint8", "int16", "uint16",
  "int32", "uint32", "int64", "uint64", "float", "double", "bool32", "binary",
  "guid", "pointer", "filetime", "systemtime", "sid", "hexint32", "hexint64",
  "countedstring", "countedansistring", "struct", "countedbinary"};

/* ---- values ---- */

/* UTF-16LE as UTF-8. Most strings in traces are short and ASCII: those are
** narrowed here in one pass (the same bytes the formatter writes for code
** units below 0x80); any other goes through the formatter. */
static void push_utf16(lua_State *L, const uint8_t *p, size_t n) {
  char ascii[128];
  if (n <= 2 * sizeof ascii && n % 2 == 0) {
    size_t k = 0;
    while (k < n && p[k] < 0x80 && p[k + 1] == 0) {
      ascii[k / 2] = (char)p[k];
      k += 2;
    }
    if (k == n) {
      lua_pushlstring(L, ascii, n / 2);
      return;
    }
  }
  luaL_Buffer b;
  tlg_sink sink = {buf_write, &b};
  luaL_buffinit(L, &b);
  tlg_fmt_utf16(&sink, p, n);
  luaL_pushresult(&b);
}

void lev_push_sid(lua_State *L, const uint8_t *p, size_t n) {
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
  uint64_t u = flt_uint_le(it->value, n);
  if (n == 1 && it->field.out_type == TLG_OUT_BOOLEAN) {
    lua_pushboolean(L, u != 0);
  } else if (is_signed && n < 8) {
    unsigned sh = 64 - 8 * n;
    lua_pushinteger(L, (lua_Integer)((int64_t)(u << sh) >> sh));
  } else {
    lua_pushinteger(L, (lua_Integer)u); /* same 64 bits */
  }
}

void etwL_push_value(lua_State *L, const tlg_item *it) {
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
  case TLG_IN_SID: lev_push_sid(L, v, n); break;
  default: push_int(L, it, 0); break; /* unsigned, hexint, pointer */
  }
}

/* ---- shapes: the parsed names of one metadata blob, shared by its events ---- */

/* __pairs of a fields table: (name, value) in order; the names are the
** sequence part of the metatable. */
static int fields_next(lua_State *L) {
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(1)) + 1;
  lua_settop(L, 1);
  if (lua_rawgeti(L, 1, i) == LUA_TNIL) return 0;   /* t v */
  lua_pushinteger(L, i);
  lua_replace(L, lua_upvalueindex(1));
  if (!lua_getmetatable(L, 1) || lua_rawgeti(L, -1, i) != LUA_TSTRING)
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

/* With a fields metatable on top, set its metamethods. */
void etwL_fields_mt_finish(lua_State *L) {
  lua_pushcfunction(L, fields_pairs);
  lua_setfield(L, -2, "__pairs");
  lua_pushliteral(L, "etw.Fields");
  lua_setfield(L, -2, "__name");
}

/* Hash of the metadata bytes: the shape cache key (a hit is then checked
** byte for byte, so this only has to spread). */
static lua_Integer meta_hash(const uint8_t *p, size_t n) {
  return (lua_Integer)tlg_hash_bytes(p, n, n);
}

/* Make the fields metatable of one level from the next n FieldMeta entries
** (all remaining when n is UINT32_MAX) and store it in entry[key + 2]; key
** is 0 for the top level, a struct's field index + 1 for its members.
** Returns 0 when the metadata stopped it early (decoding reports why). */
static int shape_level(lua_State *L, const tlg_decoder *d, uint32_t *pos, uint32_t *index,
                       uint32_t n, unsigned depth, int entry, lua_Integer key) {
  int ok = 1, dups = 0;
  luaL_checkstack(L, 8, "metadata nesting");
  lua_createtable(L, n == UINT32_MAX ? 0 : (int)(n < 256 ? n : 256), 4); /* mt */
  lua_newtable(L);                                   /* mt seen */
  int mt = lua_gettop(L) - 1;
  for (lua_Integer i = 1; n == UINT32_MAX || (uint32_t)i <= n; i++) {
    tlg_field f;
    if (tlg_decode_meta_end(d, *pos) || tlg_decode_field(d, pos, *index, &f) != TLG_OK) {
      ok = n == UINT32_MAX && tlg_decode_meta_end(d, *pos);
      break;
    }
    (*index)++;
    lua_pushlstring(L, f.name, f.name_len);          /* mt seen name */
    lua_pushvalue(L, -1);
    if (lua_rawget(L, mt + 1) != LUA_TNIL) dups = 1;
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushboolean(L, 1);
    lua_rawset(L, mt + 1);
    lua_rawseti(L, mt, i);                           /* mt seen */
    if (f.in_type == TLG_IN_STRUCT &&
        (depth + 1 >= TLG_DECODE_MAX_DEPTH ||
         !shape_level(L, d, pos, index, tlg_field_members(&f), depth + 1, entry,
                      (lua_Integer)f.index + 1))) {
      ok = 0;
      break;
    }
  }
  lua_pop(L, 1);                                     /* mt */
  lua_pushinteger(L, (lua_Integer)lua_rawlen(L, mt) * 2 + dups);
  lua_rawseti(L, mt, 0);
  etwL_fields_mt_finish(L);
  lua_rawseti(L, entry, key + 2);
  return ok;
}

/* Push the shape of the event's metadata, from the cache or made now: a
** table {[1] = the metadata bytes, [key + 2] = the fields metatable of the
** level `key` (see shape_level)}. The decoder must have started cleanly. */
static void push_shape(lua_State *L, const levent *ev, const tlg_decoder *d) {
  const char *m = (const char *)ev->rec.meta;
  size_t n = ev->rec.meta_len, len;
  lua_Integer h = meta_hash(ev->rec.meta, n);
  if (lua_rawgeti(L, UP_SHAPES, h) == LUA_TTABLE) {
    lua_rawgeti(L, -1, 1);
    const char *s = lua_tolstring(L, -1, &len);
    int hit = s && len == n && memcmp(s, m, n) == 0;
    lua_pop(L, 1);
    if (hit) return;
  }
  lua_pop(L, 1);
  lua_createtable(L, 3, 0);                          /* entry */
  lua_pushlstring(L, m, n);
  lua_rawseti(L, -2, 1);
  uint32_t pos = tlg_decode_fields_pos(d), index = 0;
  shape_level(L, d, &pos, &index, UINT32_MAX, 0, lua_gettop(L), 0);
  lua_getfield(L, UP_SHAPES, "n");                   /* shapes */
  lua_getfield(L, UP_SHAPES, "bytes");               /* metadata bytes kept */
  lua_Integer count = lua_tointeger(L, -2) + 1, bytes = lua_tointeger(L, -1) + (lua_Integer)n;
  lua_pop(L, 2);
  if (count > SHAPE_CACHE_MAX || bytes > SHAPE_CACHE_BYTES) { /* lev_start over */
    lua_newtable(L);
    lua_replace(L, UP_SHAPES);
    count = 1;
    bytes = (lua_Integer)n;
  }
  lua_pushinteger(L, count);
  lua_setfield(L, UP_SHAPES, "n");
  lua_pushinteger(L, bytes);
  lua_setfield(L, UP_SHAPES, "bytes");
  lua_pushvalue(L, -1);
  lua_rawseti(L, UP_SHAPES, h);                      /* entry */
}

/* ---- ev.fields ---- */

typedef struct bframe {
  int c;                    /* stack index of the container */
  int mt;                   /* of its fields metatable (structs), else 0 */
  int is_array, in_array, dups;
  lua_Integer n;            /* fields so far (structs) */
  uint32_t index;           /* position in the parent array */
  const char *name;
  size_t name_len;
} bframe;

/* Add the value on top to the container of frame fr. */
static void add_value(lua_State *L, bframe *fr, const char *name, size_t len,
                      int in_array, uint32_t index) {
  if (fr->is_array || in_array) {
    lua_rawseti(L, fr->c, (lua_Integer)index + 1);
    return;
  }
  lua_Integer n = ++fr->n;                           /* v */
  if (!fr->mt || lua_rawgeti(L, fr->mt, n) != LUA_TSTRING) {
    if (fr->mt) lua_pop(L, 1);
    lua_pushlstring(L, name, len);
  }                                                  /* v k */
  if (fr->dups) {
    lua_pushvalue(L, -1);
    if (lua_rawget(L, fr->c) != LUA_TNIL) {          /* a name seen before: value only */
      lua_pop(L, 2);
      lua_rawseti(L, fr->c, n);
      return;
    }
    lua_pop(L, 1);
  }
  lua_pushvalue(L, -2);                              /* v k v */
  lua_rawset(L, fr->c);
  lua_rawseti(L, fr->c, n);
}

/* Push a struct container (its metatable below it) and fill in the frame;
** into: the stack index of an empty table to fill instead of a new one. */
static void open_struct(lua_State *L, int entry, lua_Integer key, int pre, bframe *fr, int into) {
  fr->is_array = 0;
  fr->n = 0;
  fr->mt = 0;
  fr->dups = 1;
  if (lua_rawgeti(L, entry, key + 2) == LUA_TTABLE) {
    lua_Integer info = (lua_rawgeti(L, -1, 0), lua_tointeger(L, -1)); /* count * 2 + dups */
    lua_pop(L, 1);
    fr->mt = lua_gettop(L);
    fr->dups = (int)(info & 1);
    if (pre < 0) pre = (int)(info >> 1 < 256 ? info >> 1 : 256);
  }
  if (pre < 0) pre = 0;
  if (into) lua_pushvalue(L, into);
  else lua_createtable(L, pre, pre);
  fr->c = lua_gettop(L);
  if (fr->mt) {
    lua_pushvalue(L, fr->mt);
    lua_setmetatable(L, -2);
  }
}

static void close_frame(lua_State *L, bframe *fr, int *top) {
  bframe *done = &fr[*top];
  (*top)--;
  if (!done->is_array) lua_replace(L, -2);          /* drop the metatable slot */
  add_value(L, &fr[*top], done->name, done->name_len, done->in_array, done->index);
}

/* Push the fields table of a cleanly started decoder, with the shape at
** `entry` (into: fill that table, see open_struct). */
static void build_fields(lua_State *L, tlg_decoder *d, int entry, int into) {
  bframe fr[TLG_DECODE_MAX_FRAMES + 1];
  int top = 0;
  tlg_item it;
  luaL_checkstack(L, 2 * TLG_DECODE_MAX_FRAMES + 8, "event fields");
  open_struct(L, entry, 0, -1, &fr[0], into);
  while (tlg_decode_next(d, &it)) {
    if (it.kind == TLG_ITEM_VALUE) {
      etwL_push_value(L, &it);
      add_value(L, &fr[top], it.field.name, it.field.name_len, it.in_array, it.index);
    } else if (it.kind == TLG_ITEM_ARRAY_BEGIN || it.kind == TLG_ITEM_STRUCT_BEGIN) {
      int pre = it.count < 256 ? (int)it.count : 256; /* counts are untrusted */
      if (top >= TLG_DECODE_MAX_FRAMES) luaL_error(L, "decoder nesting invariant broken");
      bframe *f = &fr[++top];
      if (it.kind == TLG_ITEM_ARRAY_BEGIN) {
        lua_createtable(L, pre, 0);
        f->c = lua_gettop(L);
        f->mt = 0;
        f->is_array = 1;
      } else {
        open_struct(L, entry, (lua_Integer)it.field.index + 1, pre, f, 0);
      }
      f->in_array = it.in_array;
      f->index = it.index;
      f->name = it.field.name;
      f->name_len = it.field.name_len;
    } else if (top > 0) {
      close_frame(L, fr, &top);
    }
  }
  while (top > 0) close_frame(L, fr, &top); /* after an error: keep what we have */
  lua_replace(L, -2);                       /* drop the top-level metatable slot */
}

/* Push the whole fields table of the event (not cached); the fields go
** into the table at `into` when it is not 0 (an event without fields
** excepted). */
static void build_full(lua_State *L, levent *ev, int into) {
  tlg_decoder d;
  sch_tdh_event t;
  if (lev_tdh_of(ev, &t)) {
    int st = etwL_tdh_push_fields(L, &t, NULL, ev->rec.flags & REC_TDH_STATIC, into);
    ev->decoded = st == SCH_TDH_OK ? DEC_OK : DEC_ERROR;
  } else if (!lev_start(ev, &d) || tlg_decode_status(&d) != TLG_OK) {
    lua_createtable(L, 0, 0);
    lua_pushvalue(L, UP_EMPTY);
    lua_setmetatable(L, -2);
    ev->decoded = ev->rec.meta ? DEC_ERROR : DEC_OK;
  } else {
    push_shape(L, ev, &d);
    build_fields(L, &d, lua_gettop(L), into);
    lua_replace(L, -2);                     /* drop the shape */
    ev->decoded = tlg_decode_status(&d) == TLG_OK ? DEC_OK : DEC_ERROR;
  }
}

/* ---- ev.fields before it is built (lazy) ----
** ev.fields is first an empty table with the lazy metatable and a link to
** its event (t[&lazy_key] = ev). A string key is looked up in the event's
** bytes (src/filter: by the shape's offsets, the sizes of the values
** before it, or decoding up to it) without building anything. Anything else (a position, #, pairs, an
** assignment, an array or struct value) builds the whole table into the
** same Lua table, drops the link and sets the fields metatable: from then
** on it is exactly the table of levent.c. */
static char lazy_key;

/* The shape of the event's TraceLogging metadata, from the cache; kept in
** the event while the cache keeps it. NULL for other events, metadata
** too large to cache, or a bad header. */
static const flt_shape *shape_of(flt_cache *cache, levent *ev) {
  if (!ev->rec.meta) return NULL;
  if (ev->shape && ev->shape_gen == flt_cache_gen(cache)) return ev->shape;
  const flt_shape *s = flt_cache_get(cache, ev->rec.meta, ev->rec.meta_len);
  ev->shape = s;
  ev->shape_gen = flt_cache_gen(cache);
  return s;
}

/* Whether ev.fields may start lazy: -1 when there is no field to look up
** (events without fields get their plain empty table at once), else how
** many fields its top level will hold (the shape's count, or the schema's
** top-level properties, capped as counts from the trace are; 0 when not
** known), so building it in place needs no rehash. */
static int lazy_size(flt_cache *cache, levent *ev) {
  tlg_decoder d;
  sch_tdh_event t;
  if (lev_tdh_of(ev, &t)) {
    if (t.tei_len < SCH_TEI_OFF_PROPS) return -1;
    uint32_t nprops = tlg_le32(t.tei + SCH_TEI_OFF_PROPERTY_COUNT);
    uint32_t top = tlg_le32(t.tei + SCH_TEI_OFF_TOP_COUNT);
    if (!(top > 0 && top <= nprops && nprops <= 65535 &&
          (size_t)SCH_TEI_OFF_PROPS + (size_t)SCH_EPI_SIZE * nprops <= t.tei_len))
      return -1;
    return top < 256 ? (int)top : 256;
  }
  const flt_shape *s = shape_of(cache, ev);
  if (s) return s->nfields > 0 ? (int)s->nfields : -1;
  return lev_start(ev, &d) && tlg_decode_status(&d) == TLG_OK &&
         !tlg_decode_meta_end(&d, tlg_decode_fields_pos(&d)) ? 0 : -1;
}

/* Push field `name` of the event when it is a value and return FLT_VALUE;
** FLT_COMPLEX (an array or a struct) and FLT_MISSING push nothing. slot:
** where the name was last found, or NULL. */
static int push_field(lua_State *L, flt_cache *cache, levent *ev, const char *name, size_t len,
                      flt_slot *slot) {
  const lrec *r = &ev->rec;
  sch_tdh_event t;
  tlg_item it;
  char namebuf[SCH_TDH_NAME_MAX];
  int st;
  if (lev_tdh_of(ev, &t)) {
    st = flt_tdh_value(&t, name, len, &it, namebuf);
  } else if (!r->meta) {
    return FLT_MISSING;
  } else {
    const flt_shape *s = shape_of(cache, ev);
    if (!s) {
      st = flt_tlg_scan(r->meta, r->meta_len, r->data, r->data_len, name, len, &it);
    } else {
      int i = slot ? flt_find_at(cache, s, name, len, slot) : flt_find(s, name, len);
      int64_t v;
      int fx = flt_tlg_int(s, i, r->data, r->data_len, &v);
      if (fx >= 0) {                                 /* an integer: no item, no switch */
        if (fx) lua_pushinteger(L, (lua_Integer)v);
        return fx ? FLT_VALUE : FLT_MISSING;
      }
      st = flt_tlg_value(s, i, r->meta, r->meta_len, r->data, r->data_len, &it);
    }
  }
  if (st == FLT_VALUE) etwL_push_value(L, &it);
  return st;
}

/* Build the fields into the lazy table at index p, if it is not built yet.
** Runs in a closure with __index's upvalues. */
static void materialize(lua_State *L, int p) {
  p = lua_absindex(L, p);
  if (lua_rawgetp(L, p, &lazy_key) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    return;
  }
  levent *ev = lua_touserdata(L, -1);                /* ev */
  lev_state *st = lua_touserdata(L, UP_CACHE);
  st->built = st->built > LEV_BUILT_MAX - LEV_BUILT_STEP ? LEV_BUILT_MAX : st->built + LEV_BUILT_STEP;
  lua_pushnil(L);
  lua_rawsetp(L, p, &lazy_key);
  build_full(L, ev, p);                              /* ev full */
  if (lua_rawequal(L, -1, p)) {                      /* filled in place */
    lua_pop(L, 2);
    return;
  }
  lua_pushnil(L);
  while (lua_next(L, -2)) {                          /* ev full k v */
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, p);
  }
  if (!lua_getmetatable(L, -1)) lua_pushnil(L);
  lua_setmetatable(L, p);
  lua_pop(L, 2);
}

static int lazy_index(lua_State *L) {
  size_t len;
  if (lua_type(L, 2) == LUA_TSTRING && lua_rawgetp(L, 1, &lazy_key) == LUA_TUSERDATA) {
    const char *name = lua_tolstring(L, 2, &len);
    lev_state *st = lua_touserdata(L, UP_CACHE);
    switch (push_field(L, st->cache, lua_touserdata(L, -1), name, len, NULL)) {
    case FLT_VALUE: return 1;
    case FLT_MISSING: return 0;
    default: break;                                  /* an array or a struct: build */
    }
  }
  lua_settop(L, 2);
  materialize(L, 1);
  lua_rawget(L, 1);
  return 1;
}

static int lazy_len(lua_State *L) {
  materialize(L, 1);
  lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
  return 1;
}

static int lazy_pairs(lua_State *L) {
  lua_settop(L, 1);
  materialize(L, 1);
  return fields_pairs(L);
}

static int lazy_newindex(lua_State *L) {
  lua_settop(L, 3);
  materialize(L, 1);
  lua_rawset(L, 1);
  return 0;
}

void lev_lazy_mt_finish(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"__index", lazy_index}, {"__len", lazy_len}, {"__pairs", lazy_pairs},
    {"__newindex", lazy_newindex}, {NULL, NULL}};
  int up = lua_gettop(L) - LEV_NUPVALUES + 1, mt = up + 4; /* the lazy table: UP_LAZY */
  for (const luaL_Reg *f = fns; f->name; f++) {
    for (int i = 0; i < LEV_NUPVALUES; i++) lua_pushvalue(L, up + i);
    lua_pushcclosure(L, f->func, LEV_NUPVALUES);
    lua_setfield(L, mt, f->name);
  }
  lua_pushliteral(L, "etw.Fields");
  lua_setfield(L, mt, "__name");
  lua_settop(L, up - 1);
}

/* The lev_state of the state, the body of a userdata in the registry. */
static char cache_key;

static int cache_gc(lua_State *L) {
  lev_state *st = lua_touserdata(L, 1);
  flt_cache_free(st->cache);
  st->cache = NULL;
  return 0;
}

void lev_push_cache(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &cache_key) == LUA_TUSERDATA) {
    lua_pushlightuserdata(L, lua_touserdata(L, -1));
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  lev_state *st = lua_newuserdatauv(L, sizeof *st, 1);
  memset(st, 0, sizeof *st);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, cache_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  if (!(st->cache = flt_cache_new())) luaL_error(L, "out of memory");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &cache_key);
  lua_pushlightuserdata(L, st);
}

void lev_index_keys(lua_State *L, const char *const *names) {
  lev_push_cache(L);
  lua_pop(L, 1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &cache_key);     /* box */
  lev_state *st = lua_touserdata(L, -1);
  if (lua_getiuservalue(L, -1, 1) != LUA_TNIL) {     /* filled before: the same strings */
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  lua_newtable(L);                                   /* box names (keeps them alive) */
  for (int i = 0; names[i]; i++) {
    const char *k = lua_pushstring(L, names[i]);
    for (unsigned j = 0; j < LEV_KEY_PROBES; j++) { /* no room: that one takes the lookup */
      unsigned slot = (lev_key_slot(k) + j) % LEV_KEY_SLOTS;
      if (!st->key[slot]) {
        st->key[slot] = k;
        st->prop[slot] = (uint8_t)(i + 1);
        break;
      }
    }
    lua_rawseti(L, -2, i + 1);
  }
  lua_setiuservalue(L, -2, 1);
  lua_pop(L, 1);
}

struct flt_cache *etwL_field_cache(lua_State *L) {
  lev_push_cache(L);
  lev_state *st = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return st->cache;
}

void etwL_event_fields(lua_State *L, int idx, flt_cache *cache, char *const *names,
                       const size_t *lens, flt_slot *slots, size_t n) {
  levent *ev = lua_touserdata(L, idx);
  for (size_t k = 0; k < n; k++) {
    int found = push_field(L, cache, ev, names[k], lens[k], slots ? &slots[k] : NULL);
    if (found == FLT_MISSING) {
      lua_pushnil(L);
    } else if (found == FLT_COMPLEX) {               /* through ev.fields, which builds it */
      lua_getfield(L, idx, "fields");
      lua_pushlstring(L, names[k], lens[k]);
      lua_gettable(L, -2);
      lua_remove(L, -2);
    }
  }
}

/* Push ev.fields: cached in UV_FIELDS, made on first access (lazy when
** there is something to look up). */
int lev_push_fields(lua_State *L, levent *ev) {
  if (lua_getiuservalue(L, 1, UV_FIELDS) == LUA_TTABLE) return 1;
  lua_pop(L, 1);
  lev_state *st = lua_touserdata(L, UP_CACHE);
  int n = lazy_size(st->cache, ev);
  if (n >= 0) {
    /* sized for the whole table (which pairs, # or a struct build in it)
    ** while tables are built whole, else for the link alone: two blocks
    ** instead of three to allocate and collect, when only names are read */
    int whole = st->built > 0;
    st->built -= (unsigned)whole;
    lua_createtable(L, whole ? n : 0, whole ? n + 1 : 1);
    lua_pushvalue(L, 1);
    lua_rawsetp(L, -2, &lazy_key);
    lua_pushvalue(L, UP_LAZY);
    lua_setmetatable(L, -2);
  } else {
    build_full(L, ev, 0);
  }
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, UV_FIELDS);
  return 1;
}

/* ---- ev.schema ---- */

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
                        uint32_t *index, uint32_t n, unsigned depth) {
  luaL_checkstack(L, 6, "metadata nesting");
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
      ok = build_schema(L, d, pos, index, tlg_field_members(&f), depth + 1);
      lua_setfield(L, -2, "fields");
    }
    lua_rawseti(L, -2, i);
    if (!ok) return 0;
  }
  return 1;
}

int lev_push_schema(lua_State *L, const levent *ev) {
  tlg_decoder d;
  if (lev_more_get(L, MORE_SCHEMA)) return 1;
  if (lev_start(ev, &d) && tlg_decode_status(&d) == TLG_OK) {
    uint32_t pos = tlg_decode_fields_pos(&d), index = 0;
    build_schema(L, &d, &pos, &index, UINT32_MAX, 0);
  } else {
    lua_newtable(L);
  }
  return lev_more_set(L, MORE_SCHEMA);
}

/* ---- ev.decode_error ---- */

static void push_error(lua_State *L, const tlg_decoder *d) {
  luaL_Buffer b;
  tlg_sink sink = {buf_write, &b};
  luaL_buffinit(L, &b);
  tlg_fmt_error(&sink, d);
  luaL_pushresult(&b);
}

size_t lev_no_schema(const lrec *r, char out[LEV_NO_SCHEMA_TEXT]) {
  char g[TLG_GUID_TEXT];
  if (r->meta || r->tdh || r->header_kind != REC_HDR_EVENT) return 0;
  tlg_guid_format(&r->provider_id, g);
  int n = snprintf(out, LEV_NO_SCHEMA_TEXT, "NO_SCHEMA: %s/%d/%d", g, (int)r->desc.id,
                   (int)r->desc.version);
  return n > 0 && n < LEV_NO_SCHEMA_TEXT ? (size_t)n : 0;
}

int lev_push_decode_error(lua_State *L, levent *ev) {
  tlg_decoder d;
  sch_tdh_event t;
  char ns[LEV_NO_SCHEMA_TEXT];
  size_t nn = lev_no_schema(&ev->rec, ns);
  if (nn) {
    /* a manifest / EventSource event no loaded schema describes (also after
    ** ev.fields, which is then empty and marks the event decoded) */
    lua_pushlstring(L, ns, nn);
    return 1;
  }
  if (ev->decoded == DEC_OK) return 0;
  if (lev_tdh_of(ev, &t)) {
    uint32_t prop;
    int st = sch_tdh_run(&t, NULL, NULL, &prop);
    ev->decoded = st == SCH_TDH_OK ? DEC_OK : DEC_ERROR;
    if (st == SCH_TDH_OK) return 0;
    char msg[400];
    sch_tdh_error(&t, st, prop, msg, sizeof msg);
    lua_pushstring(L, msg);
    return 1;
  }
  if (!lev_run_decoder(ev, &d) || ev->decoded != DEC_ERROR) return 0;
  push_error(L, &d);
  return 1;
}

/* ---- ev:mapped(name) ---- */

typedef struct mapfind {
  const sch_tdh_event *t;
  const char *name;
  char out[512];
  int found;
} mapfind;

static int mapped_visit(void *ctx, const sch_walk_item *w) {
  mapfind *m = ctx;
  if (w->kind != SCH_W_VALUE || w->depth != 0 || w->index != 0 || !w->name) return 0;
  tlg_item it;
  char name[SCH_TDH_NAME_MAX];
  sch_tdh_item(m->t, w, 0, &it, name);
  if (strcmp(name, m->name) != 0) return 0;
  m->found = sch_tdh_mapped(m->t, w, m->out, sizeof m->out) > 0;
  return 1;                                          /* the first field of that name */
}

/* ev:mapped(name) -> the value map's name for top-level field `name` (its
** number stays in ev.fields), or nil when the field has no map or the map
** has no entry for the value. */
int lev_mapped(lua_State *L) {
  levent *ev = luaL_checkudata(L, 1, ETWL_EVENT);
  mapfind m;
  sch_tdh_event t;
  m.name = luaL_checkstring(L, 2);
  m.found = 0;
  m.t = &t;
  if (lev_tdh_of(ev, &t)) sch_tdh_run(&t, mapped_visit, &m, NULL);
  if (!m.found) return 0;
  lua_pushstring(L, m.out);
  return 1;
}

