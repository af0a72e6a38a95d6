/*
** levent.c: etw.Event, one event as Lua sees it (DESIGN §2): the userdata,
** etwL_pushevent, __index with the header fields, record details and
** extended items. ev.fields / ev.schema / ev.decode_error are in
** levent_fields.c, ev:json() and tostring(ev) in levent_format.c,
** etw.decode_blobs in levent_blobs.c (see levent.h).
*/
#include "levent.h"
#include "schema.h"

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
** never went through a session (flags lack REC_HEADER).
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
**     An event pays for the table only when ev.fields is read; a lazy
**     table is made with room for its link only, unless tables were built
**     whole lately (lev_state's score, levent.h).
**   - __index finds a property name by the address of its interned string
**     (lev_state's key slots), without a table lookup, and checks self by
**     its metatable's address.
**   - ev.schema is built only when read.
*/

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

/* rec_header_kind -> ev.header_kind (REC_HDR_NONE: nil). */
const char *const lev_header_kinds[LEV_N_HEADER_KINDS] = {
  NULL, "event_header", "classic", "instance", "system", "compact", "perfinfo", "wpp"};

static const char *const ext_names[] = {
  NULL, "related_activity_id", "sid", "ts_id", "instance_info", "stack_trace32",
  "stack_trace64", "pebs_index", "pmc_counters", "psm_key", "event_key",
  "event_schema_tl", "prov_traits", "process_start_key", "control_guid",
  "qpc_delta", "container_id", "stack_key32", "stack_key64"};
#define N_EXT_NAMES (sizeof ext_names / sizeof ext_names[0])

/* ---- etwL_pushevent ---- */

/* 1 if the bytes of ext item `it` hold all of [p, p + len). */
static int ext_holds(const rec_ext_item *it, const uint8_t *p, uint32_t len) {
  uintptr_t a = (uintptr_t)p, s = (uintptr_t)it->data;
  return it->data && a >= s && a - s <= it->size && len <= it->size - (a - s);
}

/* Where etwL_pushevent copies a record: the ext items that hold the traits
** and the metadata (ETL TraceLogging: they are not copied twice), and the
** bytes of the tail. */
typedef struct ev_layout {
  int64_t tin, min;       /* index of the ext item holding traits / metadata, or -1 */
  size_t total;           /* bytes after the levent */
} ev_layout;

static void layout_of(const rec_record *r, uint32_t next, size_t plen, ev_layout *lo) {
  size_t total = next * sizeof(rec_ext_item) + plen;
  int64_t tin = -1, min = -1;
  for (uint32_t i = 0; i < next; i++) {
    const rec_ext_item *it = &r->ext[i];
    if (!it->data) continue;
    total += it->size;
    if (tin < 0 && r->traits && ext_holds(it, r->traits, r->traits_len)) tin = i;
    if (min < 0 && r->meta && ext_holds(it, r->meta, r->meta_len)) min = i;
  }
  if (r->traits && tin < 0) total += r->traits_len;
  if (r->meta && min < 0) total += r->meta_len;
  if (r->data) total += r->data_len;
  if (r->tdh_info && !(r->flags & REC_TDH_STATIC)) total += r->tdh_info_len;
  lo->tin = tin;
  lo->min = min;
  lo->total = total;
}

/* Set *to / *to_len to the copy of a blob: inside the copied ext item `in`,
** or copied at *p (which advances). A NULL blob stays NULL; an empty one
** stays non-NULL (empty metadata is "bad metadata", not "no metadata"). */
static inline void place_blob(uint8_t **p, const rec_record *src, const levent *ev, int64_t in,
                              const uint8_t *blob, uint32_t len, const uint8_t **to,
                              uint32_t *to_len) {
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

/* The header fields of a record (everything but the blobs and ext items,
** which each caller places its own way). */
void lev_copy_header(lrec *r, const rec_record *rec) {
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
}

void etwL_pushevent(lua_State *L, const rec_record *rec, const char *provider_name) {
  etwL_pushevent_mt(L, rec, provider_name, 0);
}

void etwL_pushevent_mt(lua_State *L, const rec_record *rec, const char *provider_name, int mt) {
  uint32_t next = rec->ext ? rec->ext_count : 0;
  size_t plen = provider_name ? strlen(provider_name) : 0;
  ev_layout lo;
  layout_of(rec, next, plen, &lo);
  levent *ev = lua_newuserdatauv(L, sizeof(levent) + lo.total, UV_COUNT);
  uint8_t *p = (uint8_t *)(ev->ext + next);
  lrec *r = &ev->rec;
  lev_copy_header(r, rec);
  ev->rec.ext = next ? ev->ext : NULL;
  ev->rec.ext_count = next;
  ev->decoded = DEC_UNKNOWN;
  ev->shape = NULL;
  for (uint32_t i = 0; i < next; i++) {
    const rec_ext_item *it = &rec->ext[i];
    uint16_t size = it->data ? it->size : 0;
    ev->ext[i] = (rec_ext_item){it->type, size, p};
    if (size) memcpy(p, it->data, size);
    p += size;
  }
  ev->pname = provider_name ? (const char *)p : NULL;
  ev->pname_len = plen;
  if (plen) memcpy(p, provider_name, plen);
  p += plen;
  place_blob(&p, rec, ev, lo.tin, rec->traits, rec->traits_len, &r->traits, &r->traits_len);
  place_blob(&p, rec, ev, lo.min, rec->meta, rec->meta_len, &r->meta, &r->meta_len);
  place_blob(&p, rec, ev, -1, rec->data, rec->data_len, &r->data, &r->data_len);
  if (rec->flags & REC_TDH_STATIC) {               /* a loaded schema: no copy */
    r->tdh = rec->tdh_info;
    r->tdh_len = rec->tdh_info ? rec->tdh_info_len : 0;
  } else {
    place_blob(&p, rec, ev, -1, rec->tdh_info, rec->tdh_info_len, &r->tdh, &r->tdh_len);
  }
  if (!mt) {
    luaL_setmetatable(L, ETWL_EVENT);
    return;
  }
  lua_pushvalue(L, mt);                            /* no registry lookup by name */
  lua_setmetatable(L, -2);
}

/* Start a decoder on the event's blobs; 0 when there is no metadata. */
int lev_start(const levent *ev, tlg_decoder *d) {
  if (!ev->rec.meta) return 0;
  tlg_decode_start(d, ev->rec.meta, ev->rec.meta_len, ev->rec.data, ev->rec.data_len);
  return 1;
}

/* Decode to the end without Lua; 0 when there is no metadata. */
int lev_run_decoder(levent *ev, tlg_decoder *d) {
  tlg_item it;
  if (!lev_start(ev, d)) {
    ev->decoded = DEC_OK;
    return 0;
  }
  while (tlg_decode_next(d, &it)) {}
  ev->decoded = tlg_decode_status(d) == TLG_OK ? DEC_OK : DEC_ERROR;
  return 1;
}

/* The TDH view of a manifest / MOF event (a schema, no TraceLogging
** metadata); 0 when it has none. */
int lev_tdh_of(const levent *ev, sch_tdh_event *t) {
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

/* ---- things made on demand, kept in the UV_MORE table ---- */

/* Push the value cached under `key`; 0 (nothing pushed) if there is none. */
int lev_more_get(lua_State *L, int key) {
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
int lev_more_set(lua_State *L, int key) {
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

/* ---- record details and extended data items ---- */

/* The first ext item of type t1 or t2 with at least `min` bytes, or NULL. */
const rec_ext_item *lev_find_ext(const levent *ev, unsigned t1, unsigned t2, unsigned min) {
  for (uint32_t i = 0; i < ev->rec.ext_count; i++) {
    const rec_ext_item *it = &ev->rec.ext[i];
    if ((it->type == t1 || it->type == t2) && it->size >= min) return it;
  }
  return NULL;
}

const rec_ext_item *lev_find_stack(const levent *ev) {
  return lev_find_ext(ev, REC_EXT_STACK_TRACE32, REC_EXT_STACK_TRACE64, 8);
}

/* Bytes per address of a stack item. */
unsigned lev_stack_width(const rec_ext_item *it) {
  return it->type == REC_EXT_STACK_TRACE64 ? 8 : 4;
}

static int push_stack(lua_State *L, const levent *ev) {
  const rec_ext_item *it = lev_find_stack(ev);
  if (!it) return 0;
  if (lev_more_get(L, MORE_STACK)) return 1;
  unsigned w = lev_stack_width(it), n = (it->size - 8u) / w;
  lua_createtable(L, (int)n, 0);
  for (unsigned i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)tlg_get_le(it->data + 8 + w * i, w));
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return lev_more_set(L, MORE_STACK);
}

const char *lev_ext_name(unsigned type) {
  return type < N_EXT_NAMES && ext_names[type] ? ext_names[type] : "unknown";
}

static int push_ext(lua_State *L, const levent *ev) {
  if (!ev->rec.ext_count) return 0;
  if (lev_more_get(L, MORE_EXT)) return 1;
  lua_createtable(L, (int)ev->rec.ext_count, 0);
  for (uint32_t i = 0; i < ev->rec.ext_count; i++) {
    const rec_ext_item *it = &ev->rec.ext[i];
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, it->type);
    lua_setfield(L, -2, "type");
    lua_pushstring(L, lev_ext_name(it->type));
    lua_setfield(L, -2, "name");
    lua_pushlstring(L, (const char *)it->data, it->size);
    lua_setfield(L, -2, "data");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return lev_more_set(L, MORE_EXT);
}

/* The SID item if it holds a whole SID (8 + 4 * SubAuthorityCount bytes). */
const rec_ext_item *lev_find_sid(const levent *ev) {
  const rec_ext_item *it = lev_find_ext(ev, REC_EXT_SID, REC_EXT_SID, 8);
  return it && it->size >= 8u + 4u * it->data[1] ? it : NULL;
}

static int push_ext_uint(lua_State *L, const levent *ev, unsigned type, unsigned n) {
  const rec_ext_item *it = lev_find_ext(ev, type, type, n);
  if (!it) return 0;
  lua_pushinteger(L, (lua_Integer)tlg_get_le(it->data, n));
  return 1;
}

/* 1 if the header kind carries KernelTime/UserTime. */
int lev_has_cpu_times(const lrec *r) {
  switch (r->header_kind) {
  case REC_HDR_EVENT: return !(r->header_flags & (EVF_NO_CPUTIME | EVF_PRIVATE_SESSION));
  case REC_HDR_CLASSIC: case REC_HDR_INSTANCE: case REC_HDR_SYSTEM: return 1;
  default: return 0;
  }
}

const char *lev_header_kind_name(const lrec *r) {
  return r->header_kind < LEV_N_HEADER_KINDS ? lev_header_kinds[r->header_kind] : NULL;
}

/* ---- header fields ---- */

/* The provider name: given at push time, in the traits, or in the TDH
** schema (copied to buf); NULL when there is none. */
const char *lev_provider_name(const levent *ev, size_t *len, char *buf, size_t cap) {
  const char *name = NULL;
  sch_tdh_event t;
  if (ev->pname) {
    *len = ev->pname_len;
    return ev->pname;
  }
  if (tlg_traits_name(ev->rec.traits, ev->rec.traits_len, &name, len) == TLG_OK) return name;
  if (lev_tdh_of(ev, &t) && (*len = sch_tdh_provider_name(&t, buf, cap))) return buf;
  if ((name = schema_provider_name(ev->rec.provider_id.b))) { /* well-known GUIDs */
    *len = strlen(name);
    return name;
  }
  return NULL;
}

/* The event name: the TraceLogging metadata's, else the TDH schema's
** (copied to buf); NULL when there is none (or the metadata is unreadable). */
const char *lev_event_name(const levent *ev, size_t *len, char *buf, size_t cap) {
  tlg_decoder d;
  sch_tdh_event t;
  if (lev_start(ev, &d)) {
    *len = d.event_name_len;
    return d.event_name; /* points into the event's metadata, not into d */
  }
  if (lev_tdh_of(ev, &t) && (*len = sch_tdh_event_name(&t, buf, cap))) return buf;
  return NULL;
}

static int push_provider(lua_State *L, const levent *ev) {
  char buf[512];
  size_t len;
  const char *name = lev_provider_name(ev, &len, buf, sizeof buf);
  if (!name) return 0;
  lua_pushlstring(L, name, len);
  return 1;
}

static int push_name(lua_State *L, const levent *ev) {
  char buf[512];
  size_t len;
  const char *name = lev_event_name(ev, &len, buf, sizeof buf);
  if (!name) return 0;
  lua_pushlstring(L, name, len);
  return 1;
}

static int push_tag(lua_State *L, const levent *ev) {
  tlg_decoder d;
  if (!lev_start(ev, &d) || !d.event_name) return 0;
  lua_pushinteger(L, (lua_Integer)d.event_tag);
  return 1;
}

static int push_header_only(lua_State *L, const levent *ev, lua_Integer v) {
  if (!(ev->rec.flags & REC_HEADER)) return 0;
  lua_pushinteger(L, v);
  return 1;
}

/* 1 if the record carries process/thread id `v`. ETL headers without one
** (PERFINFO, WPP messages without SYSTEMINFO) come from the reader as
** 0xFFFFFFFF (record.h); no real Windows pid/tid has that value. */
int lev_has_id(const lrec *r, uint32_t v) {
  return (r->flags & REC_HEADER) && !(r->header_kind != REC_HDR_NONE && v == 0xFFFFFFFFu);
}

static int push_id(lua_State *L, const levent *ev, uint32_t v) {
  if (!lev_has_id(&ev->rec, v)) return 0;
  lua_pushinteger(L, v);
  return 1;
}

static int push_opt_guid(lua_State *L, const levent *ev, unsigned flag, const tlg_guid *g) {
  if (!(ev->rec.flags & flag)) return 0;
  etwL_pushguid(L, g);
  return 1;
}

static int push_cpu_time(lua_State *L, const levent *ev, uint32_t v) {
  if (!lev_has_cpu_times(&ev->rec)) return 0;
  lua_pushinteger(L, v);
  return 1;
}

static int push_prop(lua_State *L, levent *ev, int p) {
  const lrec *r = &ev->rec;
  const rec_ext_item *it;
  switch (p) {
  case P_PROVIDER: return push_provider(L, ev);
  case P_PROVIDER_ID: etwL_pushguid(L, &r->provider_id); return 1;
  case P_NAME: return push_name(L, ev);
  case P_TAGS: return push_tag(L, ev);
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
  case P_ACTIVITY: return push_opt_guid(L, ev, REC_ACTIVITY, &r->activity_id);
  case P_RELATED: return push_opt_guid(L, ev, REC_RELATED, &r->related_activity_id);
  case P_FIELDS: return lev_push_fields(L, ev);
  case P_SCHEMA: return lev_push_schema(L, ev);
  case P_DECODE_ERROR: return lev_push_decode_error(L, ev);
  case P_PAYLOAD:
    lua_pushlstring(L, r->data ? (const char *)r->data : "", r->data_len);
    return 1;
  case P_HEADER_KIND:
    if (!lev_header_kind_name(r)) return 0;
    lua_pushstring(L, lev_header_kind_name(r));
    return 1;
  case P_KERNEL_TIME: return push_cpu_time(L, ev, r->kernel_time);
  case P_USER_TIME: return push_cpu_time(L, ev, r->user_time);
  case P_STACK: return push_stack(L, ev);
  case P_STACK_MATCH_ID:
    if (!(it = lev_find_stack(ev))) return 0;
    lua_pushinteger(L, (lua_Integer)tlg_get_le(it->data, 8));
    return 1;
  case P_SID:
    if (!(it = lev_find_sid(ev))) return 0;
    lev_push_sid(L, it->data, it->size);
    return 1;
  case P_SESSION_ID: return push_ext_uint(L, ev, REC_EXT_TS_ID, 4);
  case P_PROCESS_START_KEY: return push_ext_uint(L, ev, REC_EXT_PROCESS_START_KEY, 8);
  case P_EVENT_KEY: return push_ext_uint(L, ev, REC_EXT_EVENT_KEY, 8);
  case P_EXT: return push_ext(L, ev);
  default: return 0;
  }
}

/* __index (upvalues: see UP_*). Self is checked against the metatable
** upvalue rather than through the registry. */
static int ev_index(lua_State *L) {
  levent *ev = lua_touserdata(L, 1);
  if (!ev || !lua_getmetatable(L, 1) || lua_topointer(L, -1) != lua_topointer(L, UP_MT))
    return luaL_typeerror(L, 1, ETWL_EVENT);
  if (lua_type(L, 2) == LUA_TSTRING) {               /* a property name: by its address */
    const lev_state *st = lua_touserdata(L, UP_CACHE);
    const char *k = lua_tostring(L, 2);
    for (unsigned j = 0, slot = lev_key_slot(k); j < LEV_KEY_PROBES; j++) {
      if (st->key[slot] == k) return push_prop(L, ev, st->prop[slot]);
      slot = (slot + 1) % LEV_KEY_SLOTS;
    }
  }
  lua_settop(L, 2);
  int t = lua_rawget(L, UP_KEYS);
  if (t == LUA_TFUNCTION) return 1;
  if (t != LUA_TNUMBER) return 0;
  int p = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return push_prop(L, ev, p);
}

void etwL_open_event(lua_State *L) {
  luaL_newmetatable(L, ETWL_EVENT);                  /* mod mt */
  lua_newtable(L);                                   /* mod mt keys */
  for (int i = 0; props[i]; i++) {
    lua_pushinteger(L, i + 1);
    lua_setfield(L, -2, props[i]);
  }
  lua_pushcfunction(L, lev_json);
  lua_setfield(L, -2, "json");
  lua_pushcfunction(L, lev_mapped);
  lua_setfield(L, -2, "mapped");
  lua_pushvalue(L, -2);                              /* mod mt keys mt */
  lua_newtable(L);                                   /* ... shapes */
  lua_createtable(L, 0, 2);                          /* ... shapes empty */
  etwL_fields_mt_finish(L);
  lua_createtable(L, 0, 5);                          /* ... empty lazy */
  lev_index_keys(L, props);
  lev_push_cache(L);                                 /* ... lazy cache */
  for (int i = 0; i < LEV_NUPVALUES; i++) lua_pushvalue(L, -LEV_NUPVALUES);
  lev_lazy_mt_finish(L);                             /* ... lazy cache (its metamethods set) */
  lua_pushcclosure(L, ev_index, LEV_NUPVALUES);      /* mod mt __index */
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, lev_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);                                     /* mod */
  lua_pushcfunction(L, lev_decode_blobs);
  lua_setfield(L, -2, "decode_blobs");
}

