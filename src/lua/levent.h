/*
** levent.h: what the files of etw.Event share (internal to src/lua):
**   levent.c         the event object: etwL_pushevent, __index, header
**                    fields, record details and extended items
**   levent_fields.c  ev.fields, ev.schema, ev.decode_error (values, shapes)
**   levent_format.c  ev:json() and tostring(ev)
**   levent_blobs.c   etw.decode_blobs
** The layout of the userdata and the rules of ev.fields are described at
** the top of levent.c.
*/
#ifndef LEVENT_H
#define LEVENT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lauxetw.h"
#include "levent_tdh.h"
#include "tlg_decode.h"
#include "tlg_format.h"
#include "tlg_guid.h"

/* What an Event keeps of its rec_record: what Lua can see (the smaller the
** userdata, the less the garbage collector has to do per event). */
typedef struct lrec {
  tlg_guid provider_id, activity_id, related_activity_id;
  tlg_desc desc;
  int64_t timestamp;
  const uint8_t *traits, *meta, *data, *tdh;
  const rec_ext_item *ext;
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
  const void *shape;      /* its flt_shape, taken at cache generation shape_gen, or NULL */
  uint32_t shape_gen;
  rec_ext_item ext[];     /* rec.ext_count items, then the bytes; Lua never moves userdata */
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
#define UP_LAZY lua_upvalueindex(5)     /* metatable of ev.fields not built yet (levent_fields.c) */
#define UP_CACHE lua_upvalueindex(6)    /* the state's lev_state (light userdata) */
#define LEV_NUPVALUES 6

/* Shapes, and metadata bytes in them, kept before the cache starts over
** (crafted input may carry many large distinct metadata blobs). */
#define SHAPE_CACHE_MAX 2048
#define SHAPE_CACHE_BYTES (4 << 20)

/* rec_header_kind -> ev.header_kind (REC_HDR_NONE: nil); levent.c. */
#define LEV_N_HEADER_KINDS 8
extern const char *const lev_header_kinds[LEV_N_HEADER_KINDS];

/* EVENT_HEADER.Flags whose KernelTime/UserTime union holds ProcessorTime. */
#define EVF_NO_CPUTIME 0x0010u
#define EVF_PRIVATE_SESSION 0x0040u

#define levent_check(L, i) ((levent *)luaL_checkudata(L, i, ETWL_EVENT))

/* A tlg_sink into a luaL_Buffer. */
static inline void buf_write(void *ctx, const char *s, size_t n) { luaL_addlstring(ctx, s, n); }

/* levent.c */
void lev_copy_header(lrec *r, const rec_record *rec);
int lev_start(const levent *ev, tlg_decoder *d);
int lev_run_decoder(levent *ev, tlg_decoder *d);
int lev_tdh_of(const levent *ev, sch_tdh_event *t);
int lev_more_get(lua_State *L, int key);
int lev_more_set(lua_State *L, int key);
const rec_ext_item *lev_find_ext(const levent *ev, unsigned t1, unsigned t2, unsigned min);
const rec_ext_item *lev_find_stack(const levent *ev);
const rec_ext_item *lev_find_sid(const levent *ev);
unsigned lev_stack_width(const rec_ext_item *it);
const char *lev_ext_name(unsigned type);
int lev_has_cpu_times(const lrec *r);
const char *lev_header_kind_name(const lrec *r);
int lev_has_id(const lrec *r, uint32_t v);
const char *lev_provider_name(const levent *ev, size_t *len, char *buf, size_t cap);
const char *lev_event_name(const levent *ev, size_t *len, char *buf, size_t cap);

/* levent_fields.c (called from __index, whose upvalues they use) */
int lev_push_fields(lua_State *L, levent *ev);
/* With a copy of the LEV_NUPVALUES upvalues of __index on top: set the
** metamethods of the lazy fields metatable (the UP_LAZY one) as closures
** over them, then pop the copy. */
void lev_lazy_mt_finish(lua_State *L);
/* What etw.Event keeps per Lua state (owned by a registry userdata, made
** on first use):
**   - the shapes of src/filter (ev.fields.Name, c:on{fields=, where=});
**   - a score of how often lazy fields tables were built whole lately
**     (+LEV_BUILT_STEP per build, -1 per lazy table made): while it is
**     above 0, lazy tables are made with room for the whole table, else
**     with room for their link only;
**   - the property names of __index by the address of their interned Lua
**     strings (key[slot] -> prop[slot], slot from the address): a key that
**     is one of those strings is found without a table lookup (open
**     addressing: LEV_KEY_PROBES slots from lev_key_slot). The strings
**     are kept alive by the registry userdata (its user value), so an
**     address that matches is that string, and a string with the same
**     bytes is that same object (short strings are interned); any other
**     key takes the UP_KEYS lookup. */
#define LEV_KEY_SLOTS 128
typedef struct lev_state {
  struct flt_cache *cache;
  unsigned built;
  const char *key[LEV_KEY_SLOTS];
  uint8_t prop[LEV_KEY_SLOTS];
} lev_state;
#define LEV_BUILT_STEP 16
#define LEV_BUILT_MAX 256
#define LEV_KEY_PROBES 4    /* slots tried from lev_key_slot on */
static inline unsigned lev_key_slot(const char *s) {
  return (unsigned)(((uint64_t)(uintptr_t)s * 0x9E3779B97F4A7C15u) >> 32) % LEV_KEY_SLOTS;
}
/* Push the state's lev_state as a light userdata (made on first use). */
void lev_push_cache(lua_State *L);
/* Fill the key slots of the state's lev_state from the NULL-terminated
** property names (the first call per state; their codes: position + 1). */
void lev_index_keys(lua_State *L, const char *const *names);
void lev_push_sid(lua_State *L, const uint8_t *p, size_t n);
int lev_push_schema(lua_State *L, const levent *ev);
int lev_push_decode_error(lua_State *L, levent *ev);
/* The "NO_SCHEMA: GUID/id/version" text of ev.decode_error for an event no
** loaded schema describes (a manifest / EventSource event without one);
** returns its length, or 0 (nothing written) for any other event. */
#define LEV_NO_SCHEMA_TEXT 80
size_t lev_no_schema(const lrec *r, char out[LEV_NO_SCHEMA_TEXT]);
/* ev:mapped(name); levent_fields.c */
int lev_mapped(lua_State *L);

/* levent_format.c */
int lev_json(lua_State *L);
int lev_tostring(lua_State *L);
/* ev:json() (or ev:json("fields") when only_fields) and tostring(ev),
** written to a sink: the same bytes, without Lua (lwriter.c). */
void lev_fmt_json(const levent *ev, const tlg_sink *o, int only_fields);
/* What a writer keeps from line to line (memset to 0, then times.secs = -1):
** the timestamp's date, the fields' last shape, and the JSON text of the
** last provider/GUID/event name/descriptor/tags (keyed by those; names up
** to LEV_HEAD_NAME bytes are kept). */
#define LEV_HEAD_NAME 120
typedef struct lev_head_cache {
  uint8_t valid, has_prov, has_name, has_tags;
  uint16_t plen, nlen, text_len;
  uint32_t tags;
  tlg_guid id;
  tlg_desc desc;
  char prov[LEV_HEAD_NAME], name[LEV_HEAD_NAME];
  char text[2 * 6 * LEV_HEAD_NAME + 128];
} lev_head_cache;
typedef struct lev_fmt_cache {
  tlg_ft_cache times;
  tlg_shape_cache shapes;
  lev_head_cache head;
} lev_fmt_cache;
/* ...into a JSON writer, through the caches c (or NULL). */
void lev_fmt_json_to(const levent *ev, tlg_json *j, int only_fields, lev_fmt_cache *c);
void lev_fmt_text(const levent *ev, const tlg_sink *o);
void lev_fmt_text_to(const levent *ev, tlg_json *j, lev_fmt_cache *c);
/* An event over a record's own memory, for the formatters above: no copy,
** valid while the record is (its ext items are the record's). */
void lev_view(levent *ev, const rec_record *rec);

/* levent_blobs.c */
int lev_decode_blobs(lua_State *L);

#endif
