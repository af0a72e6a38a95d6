/*
** levent.c: etw.Event, one event as Lua sees it (DESIGN §2): header fields,
** fields decoded lazily and cached, ev:json(), tostring(ev); and
** etw.decode_blobs, which makes an Event from raw blobs.
*/
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lauxetw.h"
#include "levent_tdh.h"
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
**
** Events without TraceLogging metadata (manifest, classic MOF, kernel, WPP
** records from ETL files) have ev.name nil, ev.fields an empty table and no
** decode error; ev.payload has their bytes. Record details (nil when absent):
**   ev.payload            the raw payload bytes (every event; "" when empty)
**   ev.header_kind        "event_header", "classic", "instance", "system",
**                         "compact", "perfinfo" or "wpp": the trace header
**                         the record came in (nil for live/builder events)
**   ev.kernel_time, ev.user_time  CPU-time counters of event_header (unless
**                         it holds ProcessorTime), classic, instance and
**                         system headers
** and from the extended data items (EVENT_HEADER_EXTENDED_DATA_ITEM):
**   ev.stack              sequence of return addresses (integers; 64-bit
**                         kernel addresses read negative) of the first
**                         STACK_TRACE32/64 item; ev.stack_match_id its MatchId
**   ev.sid                the SID item as text ("S-1-5-18")
**   ev.session_id         TS_ID: the terminal session id
**   ev.process_start_key, ev.event_key   PROCESS_START_KEY, EVENT_KEY (u64)
**   ev.ext                every item in record order: {type=, name=
**                         ("stack_trace64", "sid", ... or "unknown"), data=}
** ev.stack and ev.ext are made on first access and cached.
**
** How it is made fast (a consumer creates one Event per record):
**   - etwL_pushevent is one allocation: the record, the provider name given
**     and every blob and ext item are copied into the userdata; metadata and
**     traits that live inside an ext item (ETL TraceLogging) are not copied
**     twice. Nothing else is made until a property is read.
**   - ev.fields: the names of a metadata blob are parsed once into a
**     "shape" (a cache keyed by the metadata bytes, upvalue of __index) that
**     holds one shared metatable per struct level; its sequence part is the
**     level's field names as Lua strings, [0] is 2 * #names + (1 if a name
**     repeats, else 0), and __pairs walks the names. Building ev.fields is
**     then one presized table per level, the names fetched, not re-interned.
**     An event pays for the table only when ev.fields is read.
**   - ev.schema is built only when read.
*/

/* What an Event keeps of its eng_record: what Lua can see (the smaller the
** userdata, the less the garbage collector has to do per event). */
typedef struct lrec {
  tlg_guid provider_id, activity_id, related_activity_id;
  tlg_desc desc;
  int64_t timestamp;
  const uint8_t *traits, *meta, *data, *tdh;
  const eng_ext_item *ext;
  uint32_t traits_len, meta_len, data_len, ext_count, tdh_len;
  uint32_t flags, pid, tid, cpu, kernel_time, user_time;
  uint16_t header_flags;
  uint8_t header_kind, pointer_size;
} lrec;

typedef struct levent {
  lrec rec;               /* blob and ext pointers point into the tail */
  const char *pname;      /* provider name given at push time (in the tail), or NULL */
  size_t pname_len;
  int decoded;            /* DEC_*: the outcome of decoding, once known */
  eng_ext_item ext[];     /* rec.ext_count items, then the bytes; Lua never moves userdata */
} levent;

enum { DEC_UNKNOWN = 0, DEC_OK, DEC_ERROR };

/* User values: the fields table, then a table of things made on demand. */
enum { UV_FIELDS = 1, UV_MORE, UV_COUNT = UV_MORE };
enum { MORE_SCHEMA = 1, MORE_STACK, MORE_EXT };

/* Upvalues of __index. */
#define UP_KEYS lua_upvalueindex(1)     /* property name -> code, method name -> function */
#define UP_MT lua_upvalueindex(2)       /* the etw.Event metatable */
#define UP_SHAPES lua_upvalueindex(3)   /* metadata hash -> shape */
#define UP_EMPTY lua_upvalueindex(4)    /* fields metatable of events without fields */

/* Shapes, and metadata bytes in them, kept before the cache starts over
** (crafted input may carry many large distinct metadata blobs). */
#define SHAPE_CACHE_MAX 2048
#define SHAPE_CACHE_BYTES (4 << 20)

static const char *const props[] = {
  "provider", "provider_id", "name", "id", "version", "channel", "level",
  "opcode", "task", "keyword", "tags", "pid", "tid", "cpu", "timestamp",
  "activity_id", "related_activity_id", "fields", "schema", "decode_error",
  "payload", "header_kind", "kernel_time", "user_time", "stack", "stack_match_id",
  "sid", "session_id", "process_start_key", "event_key", "ext", NULL};
enum {
  P_PROVIDER = 1, P_PROVIDER_ID, P_NAME, P_ID, P_VERSION, P_CHANNEL, P_LEVEL,
  P_OPCODE, P_TASK, P_KEYWORD, P_TAGS, P_PID, P_TID, P_CPU, P_TIMESTAMP,
  P_ACTIVITY, P_RELATED, P_FIELDS, P_SCHEMA, P_DECODE_ERROR,
  P_PAYLOAD, P_HEADER_KIND, P_KERNEL_TIME, P_USER_TIME, P_STACK, P_STACK_MATCH_ID,
  P_SID, P_SESSION_ID, P_PROCESS_START_KEY, P_EVENT_KEY, P_EXT};

static const char *const intype_names[32] = {
  "null", "unicodestring", "ansistring", "int8", "uint8", "int16", "uint16",
  "int32", "uint32", "int64", "uint64", "float", "double", "bool32", "binary",
  "guid", "pointer", "filetime", "systemtime", "sid", "hexint32", "hexint64",
  "countedstring", "countedansistring", "struct", "countedbinary"};

/* eng_header_kind -> ev.header_kind (ENG_HDR_NONE: nil). */
static const char *const header_kinds[] = {
  NULL, "event_header", "classic", "instance", "system", "compact", "perfinfo", "wpp"};
#define N_HEADER_KINDS (sizeof header_kinds / sizeof header_kinds[0])

/* EVENT_HEADER_EXT_TYPE_* -> name. */
enum {
  EXT_RELATED_ACTIVITYID = 1, EXT_SID = 2, EXT_TS_ID = 3, EXT_STACK_TRACE32 = 5,
  EXT_STACK_TRACE64 = 6, EXT_EVENT_KEY = 10, EXT_EVENT_SCHEMA_TL = 11,
  EXT_PROV_TRAITS = 12, EXT_PROCESS_START_KEY = 13
};
static const char *const ext_names[] = {
  NULL, "related_activity_id", "sid", "ts_id", "instance_info", "stack_trace32",
  "stack_trace64", "pebs_index", "pmc_counters", "psm_key", "event_key",
  "event_schema_tl", "prov_traits", "process_start_key", "control_guid",
  "qpc_delta", "container_id", "stack_key32", "stack_key64"};
#define N_EXT_NAMES (sizeof ext_names / sizeof ext_names[0])

/* EVENT_HEADER.Flags whose KernelTime/UserTime union holds ProcessorTime. */
#define EVF_NO_CPUTIME 0x0010u
#define EVF_PRIVATE_SESSION 0x0040u

#define levent_check(L, i) ((levent *)luaL_checkudata(L, i, ETWL_EVENT))

static void buf_write(void *ctx, const char *s, size_t n) { luaL_addlstring(ctx, s, n); }

/* ---- etwL_pushevent ---- */

/* Index of the ext item whose bytes hold all of [p, p + len), or -1. */
static int64_t inside_ext(const eng_record *r, const uint8_t *p, uint32_t len) {
  uintptr_t a = (uintptr_t)p;
  if (!p || !r->ext) return -1;
  for (uint32_t i = 0; i < r->ext_count; i++) {
    uintptr_t s = (uintptr_t)r->ext[i].data;
    if (r->ext[i].data && a >= s && a - s <= r->ext[i].size && len <= r->ext[i].size - (a - s))
      return i;
  }
  return -1;
}

/* Set *to / *to_len to the copy of a blob: inside the copied ext item `in`,
** or copied at *p (which advances). A NULL blob stays NULL; an empty one
** stays non-NULL (empty metadata is "bad metadata", not "no metadata"). */
static void place_blob(uint8_t **p, const eng_record *src, const levent *ev, int64_t in,
                       const uint8_t *blob, uint32_t len, const uint8_t **to, uint32_t *to_len) {
  *to_len = blob ? len : 0;
  if (!blob) {
    *to = NULL;
  } else if (in >= 0) {
    *to = ev->ext[in].data + (blob - src->ext[in].data);
  } else {
    if (len) memcpy(*p, blob, len);
    *to = *p;
    *p += len;
  }
}

void etwL_pushevent(lua_State *L, const eng_record *rec, const char *provider_name) {
  uint32_t next = rec->ext ? rec->ext_count : 0;
  int64_t tin = inside_ext(rec, rec->traits, rec->traits_len);
  int64_t min = inside_ext(rec, rec->meta, rec->meta_len);
  size_t plen = provider_name ? strlen(provider_name) : 0;
  size_t total = next * sizeof(eng_ext_item) + plen +
                 (rec->traits && tin < 0 ? rec->traits_len : 0) +
                 (rec->meta && min < 0 ? rec->meta_len : 0) + (rec->data ? rec->data_len : 0) +
                 (rec->tdh_info ? rec->tdh_info_len : 0);
  for (uint32_t i = 0; i < next; i++) total += rec->ext[i].data ? rec->ext[i].size : 0;
  levent *ev = lua_newuserdatauv(L, sizeof(levent) + total, UV_COUNT);
  uint8_t *p = (uint8_t *)(ev->ext + next);
  lrec *r = &ev->rec;
  r->provider_id = rec->provider_id;
  r->activity_id = rec->activity_id;
  r->related_activity_id = rec->related_activity_id;
  r->desc = rec->desc;
  r->timestamp = rec->timestamp;
  r->flags = rec->flags;
  r->pid = rec->pid;
  r->tid = rec->tid;
  r->cpu = rec->cpu;
  r->kernel_time = rec->kernel_time;
  r->user_time = rec->user_time;
  r->header_flags = rec->header_flags;
  r->header_kind = rec->header_kind;
  r->pointer_size = rec->pointer_size;
  ev->rec.ext = next ? ev->ext : NULL;
  ev->rec.ext_count = next;
  ev->decoded = DEC_UNKNOWN;
  for (uint32_t i = 0; i < next; i++) {
    const eng_ext_item *it = &rec->ext[i];
    uint16_t size = it->data ? it->size : 0;
    ev->ext[i] = (eng_ext_item){it->type, size, p};
    if (size) memcpy(p, it->data, size);
    p += size;
  }
  ev->pname = provider_name ? (const char *)p : NULL;
  ev->pname_len = plen;
  if (plen) memcpy(p, provider_name, plen);
  p += plen;
  place_blob(&p, rec, ev, tin, rec->traits, rec->traits_len, &r->traits, &r->traits_len);
  place_blob(&p, rec, ev, min, rec->meta, rec->meta_len, &r->meta, &r->meta_len);
  place_blob(&p, rec, ev, -1, rec->data, rec->data_len, &r->data, &r->data_len);
  place_blob(&p, rec, ev, -1, rec->tdh_info, rec->tdh_info_len, &r->tdh, &r->tdh_len);
  luaL_setmetatable(L, ETWL_EVENT);
}

/* Start a decoder on the event's blobs; 0 when there is no metadata. */
static int start(const levent *ev, tlg_decoder *d) {
  if (!ev->rec.meta) return 0;
  tlg_decode_start(d, ev->rec.meta, ev->rec.meta_len, ev->rec.data, ev->rec.data_len);
  return 1;
}

/* Decode to the end without Lua; 0 when there is no metadata. */
static int run_decoder(levent *ev, tlg_decoder *d) {
  tlg_item it;
  if (!start(ev, d)) {
    ev->decoded = DEC_OK;
    return 0;
  }
  while (tlg_decode_next(d, &it)) {}
  ev->decoded = tlg_decode_status(d) == TLG_OK ? DEC_OK : DEC_ERROR;
  return 1;
}

/* The TDH view of a manifest / MOF event (a schema, no TraceLogging
** metadata); 0 when it has none. */
static int tdh_of(const levent *ev, winp_tdh_event *t) {
  const lrec *r = &ev->rec;
  if (r->meta || !r->tdh) return 0;
  t->tei = r->tdh;
  t->tei_len = r->tdh_len;
  t->data = r->data;
  t->data_len = r->data_len;
  /* the producer's pointer width: EVENT_HEADER_FLAG_32_BIT_HEADER / 64 */
  t->ptr_size = r->pointer_size == 4 || (r->header_flags & 0x20) ? 4 : 8;
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
  case TLG_IN_SID: push_sid(L, v, n); break;
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
  uint64_t h = 0x9E3779B97F4A7C15u ^ n, w;
  for (; n >= 8; p += 8, n -= 8) {
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDu;
    h ^= h >> 32;
  }
  w = 0;
  memcpy(&w, p, n);
  h = (h ^ w) * 0xC4CEB9FE1A85EC53u;
  return (lua_Integer)(h ^ (h >> 29));
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
  if (count > SHAPE_CACHE_MAX || bytes > SHAPE_CACHE_BYTES) { /* start over */
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

/* Push a struct container (its metatable below it) and fill in the frame. */
static void open_struct(lua_State *L, int entry, lua_Integer key, int pre, bframe *fr) {
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
  lua_createtable(L, pre, pre);
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
** `entry`. */
static void build_fields(lua_State *L, tlg_decoder *d, int entry) {
  bframe fr[TLG_DECODE_MAX_FRAMES + 1];
  int top = 0;
  tlg_item it;
  luaL_checkstack(L, 2 * TLG_DECODE_MAX_FRAMES + 8, "event fields");
  open_struct(L, entry, 0, -1, &fr[0]);
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
        open_struct(L, entry, (lua_Integer)it.field.index + 1, pre, f);
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

/* Push ev.fields: cached in UV_FIELDS, made on first access. */
static int push_fields(lua_State *L, levent *ev) {
  tlg_decoder d;
  winp_tdh_event t;
  if (lua_getiuservalue(L, 1, UV_FIELDS) == LUA_TTABLE) return 1;
  lua_pop(L, 1);
  if (tdh_of(ev, &t)) {
    ev->decoded = etwL_tdh_push_fields(L, &t, NULL) == WINP_TDH_OK ? DEC_OK : DEC_ERROR;
  } else if (!start(ev, &d) || tlg_decode_status(&d) != TLG_OK) {
    lua_createtable(L, 0, 0);
    lua_pushvalue(L, UP_EMPTY);
    lua_setmetatable(L, -2);
    ev->decoded = ev->rec.meta ? DEC_ERROR : DEC_OK;
  } else {
    push_shape(L, ev, &d);
    build_fields(L, &d, lua_gettop(L));
    lua_replace(L, -2);                     /* drop the shape */
    ev->decoded = tlg_decode_status(&d) == TLG_OK ? DEC_OK : DEC_ERROR;
  }
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, UV_FIELDS);
  return 1;
}

/* ---- things made on demand, kept in the UV_MORE table ---- */

/* Push the value cached under `key`; 0 (nothing pushed) if there is none. */
static int more_get(lua_State *L, int key) {
  if (lua_getiuservalue(L, 1, UV_MORE) == LUA_TTABLE) {
    if (lua_rawgeti(L, -1, key) != LUA_TNIL) {
      lua_remove(L, -2);
      return 1;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 0;
}

/* Cache the value on top under `key`; it stays on top. */
static int more_set(lua_State *L, int key) {
  if (lua_getiuservalue(L, 1, UV_MORE) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 3, 0);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, UV_MORE);
  }
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, key);
  lua_pop(L, 1);
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

static int push_schema(lua_State *L, const levent *ev) {
  tlg_decoder d;
  if (more_get(L, MORE_SCHEMA)) return 1;
  if (start(ev, &d) && tlg_decode_status(&d) == TLG_OK) {
    uint32_t pos = tlg_decode_fields_pos(&d), index = 0;
    build_schema(L, &d, &pos, &index, UINT32_MAX, 0);
  } else {
    lua_newtable(L);
  }
  return more_set(L, MORE_SCHEMA);
}

/* ---- ev.decode_error ---- */

static void push_error(lua_State *L, const tlg_decoder *d) {
  luaL_Buffer b;
  tlg_sink sink = {buf_write, &b};
  luaL_buffinit(L, &b);
  tlg_fmt_error(&sink, d);
  luaL_pushresult(&b);
}

static int push_decode_error(lua_State *L, levent *ev) {
  tlg_decoder d;
  winp_tdh_event t;
  if (ev->decoded == DEC_OK) return 0;
  if (tdh_of(ev, &t)) {
    uint32_t prop;
    int st = winp_tdh_run(&t, NULL, NULL, &prop);
    ev->decoded = st == WINP_TDH_OK ? DEC_OK : DEC_ERROR;
    if (st == WINP_TDH_OK) return 0;
    char msg[400];
    winp_tdh_error(&t, st, prop, msg, sizeof msg);
    lua_pushstring(L, msg);
    return 1;
  }
  if (!run_decoder(ev, &d) || ev->decoded != DEC_ERROR) return 0;
  push_error(L, &d);
  return 1;
}

/* ---- record details and extended data items ---- */

/* The first ext item of type t1 or t2 with at least `min` bytes, or NULL. */
static const eng_ext_item *find_ext(const levent *ev, unsigned t1, unsigned t2, unsigned min) {
  for (uint32_t i = 0; i < ev->rec.ext_count; i++) {
    const eng_ext_item *it = &ev->rec.ext[i];
    if ((it->type == t1 || it->type == t2) && it->size >= min) return it;
  }
  return NULL;
}

static const eng_ext_item *find_stack(const levent *ev) {
  return find_ext(ev, EXT_STACK_TRACE32, EXT_STACK_TRACE64, 8);
}

/* Bytes per address of a stack item. */
static unsigned stack_width(const eng_ext_item *it) {
  return it->type == EXT_STACK_TRACE64 ? 8 : 4;
}

static int push_stack(lua_State *L, const levent *ev) {
  const eng_ext_item *it = find_stack(ev);
  if (!it) return 0;
  if (more_get(L, MORE_STACK)) return 1;
  unsigned w = stack_width(it), n = (it->size - 8u) / w;
  lua_createtable(L, (int)n, 0);
  for (unsigned i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)tlg_get_le(it->data + 8 + w * i, w));
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return more_set(L, MORE_STACK);
}

static const char *ext_name(unsigned type) {
  return type < N_EXT_NAMES && ext_names[type] ? ext_names[type] : "unknown";
}

static int push_ext(lua_State *L, const levent *ev) {
  if (!ev->rec.ext_count) return 0;
  if (more_get(L, MORE_EXT)) return 1;
  lua_createtable(L, (int)ev->rec.ext_count, 0);
  for (uint32_t i = 0; i < ev->rec.ext_count; i++) {
    const eng_ext_item *it = &ev->rec.ext[i];
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, it->type);
    lua_setfield(L, -2, "type");
    lua_pushstring(L, ext_name(it->type));
    lua_setfield(L, -2, "name");
    lua_pushlstring(L, (const char *)it->data, it->size);
    lua_setfield(L, -2, "data");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return more_set(L, MORE_EXT);
}

/* The SID item if it holds a whole SID (8 + 4 * SubAuthorityCount bytes). */
static const eng_ext_item *find_sid(const levent *ev) {
  const eng_ext_item *it = find_ext(ev, EXT_SID, EXT_SID, 8);
  return it && it->size >= 8u + 4u * it->data[1] ? it : NULL;
}

static int push_ext_uint(lua_State *L, const levent *ev, unsigned type, unsigned n) {
  const eng_ext_item *it = find_ext(ev, type, type, n);
  if (!it) return 0;
  lua_pushinteger(L, (lua_Integer)tlg_get_le(it->data, n));
  return 1;
}

/* 1 if the header kind carries KernelTime/UserTime. */
static int has_cpu_times(const lrec *r) {
  switch (r->header_kind) {
  case ENG_HDR_EVENT: return !(r->header_flags & (EVF_NO_CPUTIME | EVF_PRIVATE_SESSION));
  case ENG_HDR_CLASSIC: case ENG_HDR_INSTANCE: case ENG_HDR_SYSTEM: return 1;
  default: return 0;
  }
}

static const char *header_kind_name(const lrec *r) {
  return r->header_kind < N_HEADER_KINDS ? header_kinds[r->header_kind] : NULL;
}

/* ---- header fields ---- */

static int push_provider(lua_State *L, const levent *ev) {
  const char *name;
  size_t len;
  if (ev->pname) {
    lua_pushlstring(L, ev->pname, ev->pname_len);
    return 1;
  }
  if (tlg_traits_name(ev->rec.traits, ev->rec.traits_len, &name, &len) == TLG_OK) {
    lua_pushlstring(L, name, len);
    return 1;
  }
  winp_tdh_event t;
  char buf[512];
  if (!tdh_of(ev, &t) || !(len = winp_tdh_provider_name(&t, buf, sizeof buf))) return 0;
  lua_pushlstring(L, buf, len);
  return 1;
}

static int push_name_or_tag(lua_State *L, const levent *ev, int tag) {
  tlg_decoder d;
  winp_tdh_event t;
  char buf[512];
  size_t n;
  if (!tag && tdh_of(ev, &t) && (n = winp_tdh_event_name(&t, buf, sizeof buf))) {
    lua_pushlstring(L, buf, n);
    return 1;
  }
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

/* 1 if the record carries process/thread id `v`. ETL headers without one
** (PERFINFO, WPP messages without SYSTEMINFO) come from the reader as
** 0xFFFFFFFF (record.h); no real Windows pid/tid has that value. */
static int has_id(const lrec *r, uint32_t v) {
  return (r->flags & ENG_REC_HEADER) && !(r->header_kind != ENG_HDR_NONE && v == 0xFFFFFFFFu);
}

static int push_id(lua_State *L, const levent *ev, uint32_t v) {
  if (!has_id(&ev->rec, v)) return 0;
  lua_pushinteger(L, v);
  return 1;
}

static int push_opt_guid(lua_State *L, const levent *ev, unsigned flag, const tlg_guid *g) {
  if (!(ev->rec.flags & flag)) return 0;
  etwL_pushguid(L, g);
  return 1;
}

static int push_cpu_time(lua_State *L, const levent *ev, uint32_t v) {
  if (!has_cpu_times(&ev->rec)) return 0;
  lua_pushinteger(L, v);
  return 1;
}

static int push_prop(lua_State *L, levent *ev, int p) {
  const lrec *r = &ev->rec;
  const eng_ext_item *it;
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
  case P_PID: return push_id(L, ev, r->pid);
  case P_TID: return push_id(L, ev, r->tid);
  case P_CPU: return push_header_only(L, ev, r->cpu);
  case P_TIMESTAMP: return push_header_only(L, ev, r->timestamp);
  case P_ACTIVITY: return push_opt_guid(L, ev, ENG_REC_ACTIVITY, &r->activity_id);
  case P_RELATED: return push_opt_guid(L, ev, ENG_REC_RELATED, &r->related_activity_id);
  case P_FIELDS: return push_fields(L, ev);
  case P_SCHEMA: return push_schema(L, ev);
  case P_DECODE_ERROR: return push_decode_error(L, ev);
  case P_PAYLOAD:
    lua_pushlstring(L, r->data ? (const char *)r->data : "", r->data_len);
    return 1;
  case P_HEADER_KIND:
    if (!header_kind_name(r)) return 0;
    lua_pushstring(L, header_kind_name(r));
    return 1;
  case P_KERNEL_TIME: return push_cpu_time(L, ev, r->kernel_time);
  case P_USER_TIME: return push_cpu_time(L, ev, r->user_time);
  case P_STACK: return push_stack(L, ev);
  case P_STACK_MATCH_ID:
    if (!(it = find_stack(ev))) return 0;
    lua_pushinteger(L, (lua_Integer)tlg_get_le(it->data, 8));
    return 1;
  case P_SID:
    if (!(it = find_sid(ev))) return 0;
    push_sid(L, it->data, it->size);
    return 1;
  case P_SESSION_ID: return push_ext_uint(L, ev, EXT_TS_ID, 4);
  case P_PROCESS_START_KEY: return push_ext_uint(L, ev, EXT_PROCESS_START_KEY, 8);
  case P_EVENT_KEY: return push_ext_uint(L, ev, EXT_EVENT_KEY, 8);
  case P_EXT: return push_ext(L, ev);
  default: return 0;
  }
}

/* __index (upvalues: see UP_*). Self is checked against the metatable
** upvalue rather than through the registry. */
static int ev_index(lua_State *L) {
  levent *ev = lua_touserdata(L, 1);
  int same = 0;
  if (ev && lua_getmetatable(L, 1)) {
    same = lua_rawequal(L, -1, UP_MT);
    lua_pop(L, 1);
  }
  if (!same) return luaL_typeerror(L, 1, ETWL_EVENT);
  lua_settop(L, 2);
  int t = lua_rawget(L, UP_KEYS);
  if (t == LUA_TFUNCTION) return 1;
  if (t != LUA_TNUMBER) return 0;
  int p = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return push_prop(L, ev, p);
}

/* ---- ev:json() and tostring(ev) ---- */

typedef struct jw {
  luaL_Buffer b; /* must not move after luaL_buffinit */
  tlg_sink sink; /* into b */
  tlg_json j;    /* the JSON writer, buffered over sink */
  int first;
} jw;

/* The sink for a tlg_fmt_* call, after what j holds went out. */
static const tlg_sink *jw_sink(jw *w) {
  tlg_json_flush(&w->j);
  return &w->sink;
}

static void jw_key(jw *w, const char *k) {
  tlg_json_cstr(&w->j, w->first ? "{\"" : ",\"");
  w->first = 0;
  tlg_json_cstr(&w->j, k);
  tlg_json_cstr(&w->j, "\":");
}

static void jw_u64(jw *w, const char *k, uint64_t v) {
  if (k) jw_key(w, k);
  tlg_json_u64(&w->j, v);
}

static void jw_str(jw *w, const char *k, const char *s, size_t n) {
  jw_key(w, k);
  tlg_json_string(&w->j, s, n, TLG_JSON_CP1252);
}

/* pid or tid: null when the record does not carry it (see has_id). */
static void jw_id(jw *w, const char *k, const lrec *r, uint32_t v) {
  if (has_id(r, v)) {
    jw_u64(w, k, v);
  } else {
    jw_key(w, k);
    tlg_json_cstr(&w->j, "null");
  }
}

static void jw_guid(jw *w, const char *k, const tlg_guid *g) {
  char text[TLG_GUID_TEXT];
  tlg_guid_format(g, text);
  jw_str(w, k, text, TLG_GUID_TEXT - 1);
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
  const lrec *r = &ev->rec;
  if (prov) {
    jw_str(w, "provider", prov, plen);
  }
  jw_guid(w, "provider_id", &r->provider_id);
  winp_tdh_event t;
  char name[512];
  size_t n;
  if (d && d->event_name) {
    jw_str(w, "name", d->event_name, d->event_name_len);
  } else if (tdh_of(ev, &t) && (n = winp_tdh_event_name(&t, name, sizeof name))) {
    jw_str(w, "name", name, n);
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
    jw_id(w, "pid", r, r->pid);
    jw_id(w, "tid", r, r->tid);
    jw_u64(w, "cpu", r->cpu);
    jw_key(w, "timestamp");
    tlg_json_char(&w->j, '"');
    tlg_fmt_filetime(jw_sink(w), r->timestamp);
    tlg_json_char(&w->j, '"');
  }
  if (r->flags & ENG_REC_ACTIVITY) jw_guid(w, "activity_id", &r->activity_id);
  if (r->flags & ENG_REC_RELATED) jw_guid(w, "related_activity_id", &r->related_activity_id);
}

/* 1 if ev:json() shows item `it` under its own key (or as the metadata). */
static int ext_shown(const levent *ev, const eng_ext_item *it) {
  switch (it->type) {
  case EXT_RELATED_ACTIVITYID: return (ev->rec.flags & ENG_REC_RELATED) != 0;
  case EXT_SID: return it == find_sid(ev);
  case EXT_TS_ID: return it == find_ext(ev, EXT_TS_ID, EXT_TS_ID, 4);
  case EXT_STACK_TRACE32: case EXT_STACK_TRACE64: return it == find_stack(ev);
  case EXT_EVENT_KEY: case EXT_PROCESS_START_KEY: return it == find_ext(ev, it->type, it->type, 8);
  case EXT_EVENT_SCHEMA_TL: case EXT_PROV_TRAITS: return 1;
  default: return 0;
  }
}

/* The record details and ext items, after the header fields. */
static void json_details(jw *w, const levent *ev) {
  const lrec *r = &ev->rec;
  const eng_ext_item *it;
  if (header_kind_name(r)) {
    jw_str(w, "header_kind", header_kind_name(r), strlen(header_kind_name(r)));
  }
  if (has_cpu_times(r)) {
    jw_u64(w, "kernel_time", r->kernel_time);
    jw_u64(w, "user_time", r->user_time);
  }
  if ((it = find_ext(ev, EXT_TS_ID, EXT_TS_ID, 4)))
    jw_u64(w, "session_id", tlg_get_le(it->data, 4));
  if ((it = find_sid(ev))) {
    jw_key(w, "sid");
    tlg_json_char(&w->j, '"');
    tlg_fmt_sid(jw_sink(w), it->data, it->size);
    tlg_json_char(&w->j, '"');
  }
  if ((it = find_ext(ev, EXT_PROCESS_START_KEY, EXT_PROCESS_START_KEY, 8)))
    jw_u64(w, "process_start_key", tlg_get_le(it->data, 8));
  if ((it = find_ext(ev, EXT_EVENT_KEY, EXT_EVENT_KEY, 8)))
    jw_u64(w, "event_key", tlg_get_le(it->data, 8));
  if ((it = find_stack(ev))) {
    unsigned wd = stack_width(it), n = (it->size - 8u) / wd;
    jw_u64(w, "stack_match_id", tlg_get_le(it->data, 8));
    jw_key(w, "stack");
    for (unsigned i = 0; i < n; i++)
      tlg_json_printf(&w->j, "%s\"0x%llx\"", i ? "," : "[",
                      (unsigned long long)tlg_get_le(it->data + 8 + wd * i, wd));
    tlg_json_cstr(&w->j, n ? "]" : "[]");
  }
  int first = 1;
  for (uint32_t i = 0; i < r->ext_count; i++) {
    it = &r->ext[i];
    if (ext_shown(ev, it)) continue;
    if (first) jw_key(w, "ext");
    tlg_json_cstr(&w->j, first ? "[{\"type\":" : ",{\"type\":");
    first = 0;
    jw_u64(w, NULL, it->type);
    tlg_json_cstr(&w->j, ",\"name\":");
    tlg_json_string(&w->j, ext_name(it->type), strlen(ext_name(it->type)), TLG_JSON_CP1252);
    tlg_json_cstr(&w->j, ",\"data\":");
    tlg_json_hex(&w->j, it->data, it->size);
    tlg_json_char(&w->j, '}');
  }
  if (!first) tlg_json_char(&w->j, ']');
}

/* Provider name: the one given at push time, else the traits blob's. */
/* The provider name: given at push time, in the traits, or in the TDH
** schema (copied to buf); NULL when there is none. */
static const char *provider_name(const levent *ev, size_t *len, char *buf, size_t cap) {
  const char *name = NULL;
  winp_tdh_event t;
  if (ev->pname) {
    *len = ev->pname_len;
    return ev->pname;
  }
  if (tlg_traits_name(ev->rec.traits, ev->rec.traits_len, &name, len) == TLG_OK) return name;
  if (tdh_of(ev, &t) && (*len = winp_tdh_provider_name(&t, buf, cap))) return buf;
  return NULL;
}

/* The TDH fields (JSON or text) and, on an error, its message in *err. */
static int tdh_fields(const levent *ev, const tlg_sink *o, int mode, char *err, size_t cap) {
  winp_tdh_event t;
  uint32_t prop;
  if (!tdh_of(ev, &t)) return 0;
  int st = winp_tdh_fmt_fields(o, &t, mode, &prop);
  err[0] = 0;
  if (st != WINP_TDH_OK) winp_tdh_error(&t, st, prop, err, cap);
  return 1;
}

/* ev:json() -> one JSON object: the header fields of DESIGN §2 that the event
** has (keys absent rather than null), the record details, then "fields" in
** order, then "decode_error" if any, then "payload" (hex) for events without
** TraceLogging metadata. 64-bit values beyond 2^53 are decimal strings;
** timestamps are ISO 8601 UTC strings with 100 ns digits. */
/* The "fields" object of ev:json(); 1 if it came from a TDH schema. */
static int json_fields(jw *w, const levent *ev, int has_meta, tlg_decoder *d, char *err,
                       size_t cap) {
  int tdh = 0;
  if (has_meta)
    tlg_fmt_fields(jw_sink(w), d, TLG_FMT_JSON);
  else if (!(tdh = tdh_fields(ev, jw_sink(w), TLG_FMT_JSON, err, cap)))
    tlg_json_cstr(&w->j, "{}");
  return tdh;
}

/* ev:json("fields") is that object alone (what `etwlua dump --format csv`
** puts in its fields column), with the same exact-value rules. */
static const char *const json_parts[] = {"event", "fields", NULL};

static int ev_json(lua_State *L) {
  levent *ev = levent_check(L, 1);
  int only_fields = luaL_checkoption(L, 2, "event", json_parts) == 1;
  size_t plen = 0;
  char pbuf[512], err[400];
  const char *prov = provider_name(ev, &plen, pbuf, sizeof pbuf);
  tlg_decoder d;
  int has_meta = start(ev, &d), tdh = 0;
  jw w;
  lua_settop(L, 1);
  w.first = 1;
  w.sink = (tlg_sink){buf_write, &w.b};
  tlg_json_init(&w.j, &w.sink);
  luaL_buffinit(L, &w.b);
  if (only_fields) {
    json_fields(&w, ev, has_meta, &d, err, sizeof err);
    tlg_json_flush(&w.j);
    luaL_pushresult(&w.b);
    return 1;
  }
  json_header(&w, ev, prov, plen, has_meta ? &d : NULL);
  json_details(&w, ev);
  jw_key(&w, "fields");
  tdh = json_fields(&w, ev, has_meta, &d, err, sizeof err);
  if (tdh && err[0]) {
    jw_str(&w, "decode_error", err, strlen(err));
  }
  if (has_meta && tlg_decode_status(&d) != TLG_OK) {
    cbuf c;
    error_text(&d, &c);
    jw_str(&w, "decode_error", c.s, c.n);
  }
  if (!has_meta) {
    jw_key(&w, "payload");
    tlg_json_hex(&w.j, ev->rec.data, ev->rec.data_len);
  }
  tlg_json_char(&w.j, '}');
  tlg_json_flush(&w.j);
  luaL_pushresult(&w.b);
  return 1;
}

/* tostring(ev): `Provider/Name(level=5 keyword=0x1) a=1 b="x"`, then
** ` [TLG_E_...]` when the fields did not decode. */
static int ev_tostring(lua_State *L) {
  levent *ev = levent_check(L, 1);
  size_t plen = 0;
  char pbuf[512], err[400], name[512];
  const char *prov = provider_name(ev, &plen, pbuf, sizeof pbuf);
  winp_tdh_event t;
  int tdh = tdh_of(ev, &t);
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
  else if (tdh && winp_tdh_event_name(&t, name, sizeof name))
    luaL_addstring(&b, name);
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
  if (tdh) {
    size_t before = luaL_bufflen(&b);
    luaL_addchar(&b, ' ');
    tdh_fields(ev, &sink, TLG_FMT_TEXT, err, sizeof err);
    if (luaL_bufflen(&b) == before + 1) luaL_buffsub(&b, 1);
    if (err[0]) {
      luaL_addstring(&b, " [");
      luaL_addstring(&b, err);
      luaL_addchar(&b, ']');
    }
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

/* header.header_kind: a name of ev.header_kind, or its number 0..7. */
static void header_kind(lua_State *L, eng_record *r) {
  lua_Integer v = 0;
  if (lua_type(L, -1) == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    for (unsigned i = 1; i < N_HEADER_KINDS; i++)
      if (strcmp(s, header_kinds[i]) == 0) {
        r->header_kind = (uint8_t)i;
        return;
      }
    luaL_error(L, "decode_blobs: header.header_kind must be one of the ev.header_kind names");
  }
  header_int(L, "header_kind", 0, (lua_Integer)N_HEADER_KINDS - 1, &v);
  r->header_kind = (uint8_t)v;
}

/* Returns 1 for "ext", which the caller reads after the walk. */
static int header_field(lua_State *L, eng_record *r, const char *k) {
  lua_Integer v = 0;
  static const char *const keys[] = {
    "provider_id", "activity_id", "related_activity_id", "id", "version", "channel",
    "level", "opcode", "task", "keyword", "pid", "tid", "cpu", "timestamp",
    "header_kind", "kernel_time", "user_time", "ext", "tdh_info", "pointer_size", NULL};
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
  if (i >= 10 && i <= 13) r->flags |= ENG_REC_HEADER;
  return 0;
}

/* header.ext at the top: a sequence of {type=, data=}; the items go into a
** userdata pushed above it (their data strings stay in the ext table). */
static void header_ext(lua_State *L, eng_record *r) {
  if (!lua_istable(L, -1))
    luaL_error(L, "decode_blobs: header.ext must be a list of {type=, data=}");
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  if (n > 0xFFFF) luaL_error(L, "decode_blobs: header.ext has too many items");
  eng_ext_item *items = lua_newuserdatauv(L, (size_t)n * sizeof *items + 1, 0);
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
    items[i - 1] = (eng_ext_item){(uint16_t)type, (uint16_t)len, (const uint8_t *)s};
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
static int l_decode_blobs(lua_State *L) {
  size_t ml = 0, dl = 0, tl = 0;
  const char *meta = lua_isnil(L, 1) ? NULL : luaL_checklstring(L, 1, &ml);
  const char *data = luaL_optlstring(L, 2, "", &dl);
  const char *traits = luaL_optlstring(L, 3, NULL, &tl);
  eng_record rec;
  int has_ext = 0;
  memset(&rec, 0, sizeof rec);
  luaL_argcheck(L, ml <= 0xFFFFFFFFu, 1, "metadata too long");
  luaL_argcheck(L, dl <= 0xFFFFFFFFu, 2, "data too long");
  luaL_argcheck(L, tl <= 0xFFFFFFFFu, 3, "traits too long");
  rec.meta = (const uint8_t *)meta;
  rec.meta_len = (uint32_t)ml;
  rec.data = (const uint8_t *)data;
  rec.data_len = (uint32_t)dl;
  rec.flags = meta ? ENG_REC_TRACELOGGING : 0;
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

void etwL_open_event(lua_State *L) {
  luaL_newmetatable(L, ETWL_EVENT);                  /* mod mt */
  lua_newtable(L);                                   /* mod mt keys */
  for (int i = 0; props[i]; i++) {
    lua_pushinteger(L, i + 1);
    lua_setfield(L, -2, props[i]);
  }
  lua_pushcfunction(L, ev_json);
  lua_setfield(L, -2, "json");
  lua_pushvalue(L, -2);                              /* mod mt keys mt */
  lua_newtable(L);                                   /* ... shapes */
  lua_createtable(L, 0, 2);                          /* ... shapes empty */
  etwL_fields_mt_finish(L);
  lua_pushcclosure(L, ev_index, 4);                  /* mod mt __index */
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ev_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);                                     /* mod */
  lua_pushcfunction(L, l_decode_blobs);
  lua_setfield(L, -2, "decode_blobs");
}
