/*
** lconsumer.c: etw.Consumer, per-event Lua handlers over a record source
** (engine.h eng_source: a live session or ETL files, one interface). Filters
** given as tables are matched in C on the record header, so events no
** handler wants never become Lua objects.
*/
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lauxetw.h"
#include "lconsumer.h"
#include "lsignal.h"
#include "lschema.h"
#include "lwhere.h"
#include "lwriter.h"
#include "engine.h"
#include "schema.h"
#include "etl_write.h"
#include "tlg_decode.h"
#include "tlg_guid.h"

/* Filter fields present in a table filter (bit set). */
enum {
  F_PROVIDER_ID = 1 << 0, F_PROVIDER_NAME = 1 << 1, F_NAME = 1 << 2, F_ID = 1 << 3,
  F_LEVEL = 1 << 4, F_OPCODE = 1 << 5, F_TASK = 1 << 6, F_KEYWORD = 1 << 7,
  F_FUNC = 1 << 8, F_WHERE = 1 << 9
};

typedef struct cfilter {
  unsigned has;
  tlg_guid provider_id;
  char *provider_name, *name;       /* malloc'd copies */
  size_t provider_name_len, name_len;
  uint16_t id, task;
  uint8_t level, opcode;
  uint64_t keyword;
  etwL_payload pl;                  /* where= conditions, fields= projection (lwhere.c) */
  int writer;                       /* the handler is an etw.EventWriter (lwriter.c) */
} cfilter;

typedef struct lconsumer {
  eng_source *src;                  /* NULL once released */
  int files;                        /* a files source: c:info() lists them */
  int on_error_continue;
  int open;
  int running;                      /* inside c:run: a close is deferred to its end */
  int in_run;                       /* run_body's stack slots RUN_* are set (see run_body) */
  int in_handler;                   /* inside c:run, a handler is running (protected_call) */
  int closing;                      /* c:close() was called while running */
  int signal;                       /* the signal that ended the last run / events loop */
  int event_time;                   /* files: c:every follows event time */
  int ntimers;                      /* c:every timers, in uservalue UV_TIMERS */
  int64_t timer_due;                /* earliest due time of a timer (see fire_timers) */
  struct etwL_schemas *schemas;     /* manifests, kernel table, the input's EventSource manifests */
  flt_cache *fields;                /* the state's payload shapes (where=, fields=) */
  cfilter *filters;                 /* handlers live in uservalue UV_HANDLERS */
  size_t nfilters, cap;
  uint64_t events, delivered, lost, corrupt, errors;
} lconsumer;

enum {
  UV_HANDLERS = 1, UV_ON_LOST, UV_LAST_ERROR, UV_ON_CORRUPT, UV_LAST_CORRUPT, UV_TIMERS,
  UV_COUNT = UV_TIMERS
};

/* Stack slots of run_body, made once per run so that an event costs no
** lookup of them: the message handler of protected_call, the handlers
** table (uservalue UV_HANDLERS, the same table for the consumer's life)
** and the etw.Event metatable. */
enum { RUN_MSGH = 2, RUN_HANDLERS, RUN_EVENT_MT };

static lconsumer *checkconsumer(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, ETWL_CONSUMER);
}

static lconsumer *checkopen(lua_State *L, int idx) {
  lconsumer *c = checkconsumer(L, idx);
  if (!c->open) luaL_error(L, "attempt to use a closed etw.Consumer");
  return c;
}

static void free_filter(struct cfilter *f);

/* Free the source and the filters (the close itself, once nothing uses them). */
static void release(lconsumer *c) {
  eng_source_close(c->src);
  c->src = NULL;
  etwL_schema_close(c->schemas);
  c->schemas = NULL;
  c->closing = 0;
  for (size_t i = 0; i < c->nfilters; i++) free_filter(&c->filters[i]);
  free(c->filters);
  c->filters = NULL;
  c->nfilters = c->cap = 0;
}

/* --- table filters ----------------------------------------------------- */

static char *dupstr(lua_State *L, size_t *len) {
  const char *s = lua_tolstring(L, -1, len);
  char *d = malloc(*len + 1);
  if (!d) luaL_error(L, "out of memory");
  memcpy(d, s, *len + 1);
  return d;
}

static lua_Integer filter_int(lua_State *L, const char *key, lua_Integer max) {
  int isint;
  lua_Integer v = lua_tointegerx(L, -1, &isint);
  if (!isint || v < 0 || v > max)
    luaL_error(L, "on: filter field '%s' must be an integer 0..%d", key, (int)max);
  return v;
}

/* One key of a filter table (value at -1, key at -2) into f. */
static void filter_key(lua_State *L, cfilter *f) {
  const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
  if (strcmp(k, "provider") == 0) {
    size_t len;
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "on: filter field 'provider' must be a name or GUID");
    const char *s = lua_tolstring(L, -1, &len);
    if (tlg_guid_parse(s, len, &f->provider_id) == TLG_OK) { f->has |= F_PROVIDER_ID; return; }
    /* a name matches the traits' name, or the id hashed from it */
    if (tlg_provider_id(s, len, &f->provider_id) != TLG_OK)
      luaL_error(L, "on: filter field 'provider' must be valid UTF-8");
    f->provider_name = dupstr(L, &f->provider_name_len);
    f->has |= F_PROVIDER_NAME;
  } else if (strcmp(k, "name") == 0) {
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "on: filter field 'name' must be a string");
    f->name = dupstr(L, &f->name_len);
    f->has |= F_NAME;
  } else if (strcmp(k, "id") == 0) {
    f->id = (uint16_t)filter_int(L, k, 65535); f->has |= F_ID;
  } else if (strcmp(k, "level") == 0) {
    f->level = (uint8_t)filter_int(L, k, 255); f->has |= F_LEVEL;
  } else if (strcmp(k, "opcode") == 0) {
    f->opcode = (uint8_t)filter_int(L, k, 255); f->has |= F_OPCODE;
  } else if (strcmp(k, "task") == 0) {
    f->task = (uint16_t)filter_int(L, k, 65535); f->has |= F_TASK;
  } else if (strcmp(k, "keyword") == 0) {
    f->keyword = etwL_checku64(L, lua_gettop(L)); f->has |= F_KEYWORD;
  } else if (strcmp(k, "where") == 0) {
    etwL_where_read(L, &f->pl); f->has |= F_WHERE;
  } else if (strcmp(k, "fields") == 0) {
    etwL_fields_read(L, &f->pl);
  } else {
    luaL_error(L, "on: unknown filter field '%s' (provider, name, id, level, opcode, task, "
               "keyword, where, fields)", k);
  }
}

static void free_filter(cfilter *f) {
  free(f->provider_name);
  free(f->name);
  etwL_payload_free(&f->pl);
}

/* What a record offers the filters; names parsed at most once per record.
** The names are those ev.name and ev.provider give (levent.c): the
** TraceLogging metadata's and traits', else the TDH schema's, else (the
** provider) a well-known GUID's. */
typedef struct rec_view {
  const rec_record *rec;
  flt_cache *cache;
  int parsed_name, parsed_provider, has_tdh;
  const char *name, *pname;
  size_t name_len, pname_len;
  sch_tdh_event tdh;                /* has_tdh: a manifest / MOF event's schema */
  char name_buf[512], pname_buf[512];
} rec_view;

static void view_init(rec_view *v, const rec_record *r, flt_cache *cache) {
  v->rec = r;
  v->cache = cache;
  v->parsed_name = v->parsed_provider = 0;
  v->name = v->pname = NULL;
  v->name_len = v->pname_len = 0;
  v->has_tdh = !r->meta && r->tdh_info;
  if (v->has_tdh) {                 /* as levent.c lev_tdh_of */
    v->tdh.tei = r->tdh_info;
    v->tdh.tei_len = r->tdh_info_len;
    v->tdh.data = r->data;
    v->tdh.data_len = r->data_len;
    v->tdh.ptr_size = r->pointer_size == 4 || (r->header_flags & 0x20) ? 4 : 8;
  }
}

static void view_name(rec_view *v) {
  tlg_decoder d;
  v->parsed_name = 1;
  if (v->rec->meta) {
    if (tlg_decode_start(&d, v->rec->meta, v->rec->meta_len, NULL, 0) == TLG_OK) {
      v->name = d.event_name;
      v->name_len = d.event_name_len;
    }
  } else if (v->has_tdh && (v->name_len = sch_tdh_event_name(&v->tdh, v->name_buf, sizeof v->name_buf))) {
    v->name = v->name_buf;
  }
}

static void view_provider(rec_view *v) {
  v->parsed_provider = 1;
  if (v->rec->traits && tlg_traits_name(v->rec->traits, v->rec->traits_len, &v->pname, &v->pname_len) == TLG_OK)
    return;
  v->pname = NULL;
  if (v->has_tdh && (v->pname_len = sch_tdh_provider_name(&v->tdh, v->pname_buf, sizeof v->pname_buf))) {
    v->pname = v->pname_buf;
  } else if ((v->pname = schema_provider_name(v->rec->provider_id.b))) {
    v->pname_len = strlen(v->pname);
  }
}

static int provider_matches(const cfilter *f, rec_view *v) {
  if (memcmp(&f->provider_id, &v->rec->provider_id, sizeof(tlg_guid)) == 0) return 1;
  if (!(f->has & F_PROVIDER_NAME)) return 0;
  if (!v->parsed_provider) view_provider(v);
  return v->pname && v->pname_len == f->provider_name_len &&
         memcmp(v->pname, f->provider_name, v->pname_len) == 0;
}

/* Header part of a filter; a function filter is applied afterwards in Lua. */
static int header_matches(const cfilter *f, rec_view *v) {
  const rec_record *r = v->rec;
  if ((f->has & F_ID) && r->desc.id != f->id) return 0;
  if ((f->has & F_LEVEL) && r->desc.level > f->level) return 0;
  if ((f->has & F_OPCODE) && r->desc.opcode != f->opcode) return 0;
  if ((f->has & F_TASK) && r->desc.task != f->task) return 0;
  if ((f->has & F_KEYWORD) && (r->desc.keyword & f->keyword) == 0) return 0;
  if ((f->has & (F_PROVIDER_ID | F_PROVIDER_NAME)) && !provider_matches(f, v)) return 0;
  if (f->has & F_NAME) {
    if (!v->parsed_name) view_name(v);
    if (!v->name || v->name_len != f->name_len || memcmp(v->name, f->name, f->name_len) != 0)
      return 0;
  }
  if ((f->has & F_WHERE) &&
      !flt_where(v->cache, f->pl.where, f->pl.nwhere, r->meta, r->meta_len, r->data, r->data_len,
                 v->has_tdh ? &v->tdh : NULL))
    return 0;
  return 1;
}

/* c:on([filter,] handler) -> c. filter: a table of header fields (all must
** match), or a function(ev) -> boolean; no filter: every event. handler: a
** function(ev), or an etw.EventWriter, which writes records that pass a
** table filter (or none) without making an etw.Event. */
static int l_on(lua_State *L) {
  lconsumer *c = checkopen(L, 1);
  int hidx = lua_gettop(L) >= 3 ? 3 : 2;
  if (!etwL_testwriter(L, hidx)) luaL_checktype(L, hidx, LUA_TFUNCTION);
  if (hidx == 3 && lua_type(L, 2) != LUA_TTABLE && lua_type(L, 2) != LUA_TFUNCTION)
    luaL_typeerror(L, 2, "filter table or function");
  if (c->nfilters == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 4;
    cfilter *n = realloc(c->filters, cap * sizeof *n);
    if (!n) return luaL_error(L, "out of memory");
    c->filters = n;
    c->cap = cap;
  }
  cfilter *f = &c->filters[c->nfilters];
  memset(f, 0, sizeof *f);
  c->nfilters++;                        /* counted now, so __gc frees partial copies */
  if (hidx == 3 && lua_type(L, 2) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, 2)) { filter_key(L, f); lua_pop(L, 1); }
  } else if (hidx == 3) {
    f->has = F_FUNC;
  }
  f->writer = etwL_testwriter(L, hidx) != NULL;
  lua_getiuservalue(L, 1, UV_HANDLERS);  /* stack: ... handlers */
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, hidx);
  lua_rawseti(L, -2, 1);                /* [1] = handler */
  if (f->has & F_FUNC) { lua_pushvalue(L, 2); lua_rawseti(L, -2, 2); } /* [2] = predicate */
  lua_rawseti(L, -2, (lua_Integer)c->nfilters);
  lua_settop(L, 1);
  return 1;
}

/* c:on_lost(function(count, pid, tid)) -> c: in-band loss notices. */
static int l_on_lost(lua_State *L) {
  checkopen(L, 1);
  if (!lua_isnil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  lua_setiuservalue(L, 1, UV_ON_LOST);
  return 1;
}

/* c:on_corrupt(function(message, file, offset)) -> c: records the source
** rejected (ETL files: message "offset 0x...: why", the file's path and the
** offset; live sessions: file and offset are nil). Reading goes on. */
static int l_on_corrupt(lua_State *L) {
  checkopen(L, 1);
  if (!lua_isnil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  lua_setiuservalue(L, 1, UV_ON_CORRUPT);
  return 1;
}

/* --- dispatch ------------------------------------------------------------ */

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* The message handler of c:run's own protected call (upvalue: the
** consumer): a handler's error gets the handler's traceback, as
** protected_call gives it; anything else passes as it is. */
static int run_traceback(lua_State *L) {
  const lconsumer *c = lua_touserdata(L, lua_upvalueindex(1));
  return c->in_handler ? traceback(L) : 1;
}

/* Call the function at -nargs-1 protected. A failure is counted and kept
** (on_error="continue") or raised with the handler's traceback. Returns
** 1 if the call succeeded; leaves nresults (or nothing on failure).
** Inside c:run with on_error="stop" the call is not protected here: an
** error goes straight to c:run's protected call, whose message handler
** adds the traceback while c->in_handler is set (run_traceback), and
** l_run counts it; one setjmp per run instead of one per handler call,
** with the same message and count. With on_error="continue" inside c:run
** the message handler waits at stack slot RUN_MSGH; elsewhere it is
** pushed below the function for the call. */
static int protected_call(lua_State *L, lconsumer *c, int nargs, int nresults) {
  int st;
  if (c->in_run && !c->on_error_continue) {
    c->in_handler = 1;
    lua_call(L, nargs, nresults);
    c->in_handler = 0;
    return 1;
  }
  if (c->in_run) {
    st = lua_pcall(L, nargs, nresults, RUN_MSGH);
  } else {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    st = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
  }
  if (st == LUA_OK) return 1;
  c->errors++;
  if (!c->on_error_continue) lua_error(L);  /* message already has the traceback */
  lua_setiuservalue(L, 1, UV_LAST_ERROR);
  return 0;
}

/* A loss or corruption notice; consumer at index 1. */
static void deliver_notice(lua_State *L, lconsumer *c, const rec_record *r) {
  if (r->kind == REC_KIND_LOST) {
    c->lost += r->lost;
    if (lua_getiuservalue(L, 1, UV_ON_LOST) != LUA_TFUNCTION) {
      lua_pop(L, 1);
      return;
    }
    lua_pushinteger(L, (lua_Integer)r->lost);
    lua_pushinteger(L, r->pid);
    lua_pushinteger(L, r->tid);
    protected_call(L, c, 3, 0);
    return;
  }
  const char *file = NULL;
  uint64_t offset = 0;
  const char *msg = eng_source_corrupt_detail(c->src, &file, &offset);
  c->corrupt++;
  if (msg)
    lua_pushstring(L, msg);
  else
    lua_pushfstring(L, "pid %I tid %I: %I bytes of the event stream rejected",
                    (lua_Integer)r->pid, (lua_Integer)r->tid, (lua_Integer)r->lost);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, UV_LAST_CORRUPT);    /* stack: msg */
  if (lua_getiuservalue(L, 1, UV_ON_CORRUPT) != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return;
  }
  lua_insert(L, -2);                           /* stack: handler msg */
  if (file) lua_pushstring(L, file); else lua_pushnil(L);
  if (msg) lua_pushinteger(L, (lua_Integer)offset); else lua_pushnil(L);
  protected_call(L, c, 3, 0);
}

/* Run the matching handlers for one event; consumer at index 1, inside
** c:run (the handlers table and the Event metatable at RUN_HANDLERS and
** RUN_EVENT_MT). An event no filter passes costs no Lua API call. */
static void dispatch(lua_State *L, lconsumer *c, const rec_record *r) {
  rec_view v;
  view_init(&v, r, c->fields);
  int have_ev = 0;                       /* the etw.Event's slot, made on the first match */
  c->events++;
  for (size_t i = 0; i < c->nfilters; i++) {
    const cfilter *f = &c->filters[i];
    if ((f->has & ~(unsigned)F_FUNC) && !header_matches(f, &v)) continue;
    if (f->writer && !(f->has & F_FUNC)) {   /* written from the record: no etw.Event */
      lua_rawgeti(L, RUN_HANDLERS, (lua_Integer)i + 1);
      lua_rawgeti(L, -1, 1);                 /* stack: [ev] entry writer */
      c->delivered++;
      if (etwL_writer_record(L, lua_gettop(L), r, c, c->events)) eng_source_stop(c->src);
      lua_pop(L, 2);
      if (!c->open) break;                   /* a callback of the writer closed it */
      continue;
    }
    if (!have_ev) { etwL_pushevent_mt(L, r, NULL, RUN_EVENT_MT); have_ev = lua_gettop(L); }
    lua_rawgeti(L, RUN_HANDLERS, (lua_Integer)i + 1);   /* stack: ev entry */
    if (f->has & F_FUNC) {
      lua_rawgeti(L, -1, 2);
      lua_pushvalue(L, have_ev);
      int ok = protected_call(L, c, 1, 1) && lua_toboolean(L, -1);
      if (ok) lua_pop(L, 1);
      if (!c->open) { lua_settop(L, have_ev); break; }
      if (!ok) { lua_settop(L, have_ev); continue; }
    }
    if (f->pl.nnames) luaL_checkstack(L, 4 + (int)f->pl.nnames, "fields= values");
    lua_rawgeti(L, -1, 1);
    lua_pushvalue(L, have_ev);
    if (f->pl.nnames)
      etwL_event_fields(L, have_ev, c->fields, f->pl.names, f->pl.name_lens, f->pl.slots,
                        f->pl.nnames);
    c->delivered++;
    protected_call(L, c, 1 + (int)f->pl.nnames, 0);
    lua_settop(L, have_ev);
    if (!c->open) break;                 /* the handler closed the consumer */
  }
  if (have_ev) lua_settop(L, have_ev - 1);
}

/* --- c:every -------------------------------------------------------------- */

/* A timer is a table {fn, period, next} in UV_TIMERS. Time is the monotonic
** clock in ms for sessions, event time (FILETIME, 100 ns) for files. */
enum { T_FN = 1, T_PERIOD, T_NEXT };

/* c:every(seconds, fn) -> c: call fn(t) every `seconds` while c:run runs
** (README "Time in scripts"). */
static int l_every(lua_State *L) {
  lconsumer *c = checkopen(L, 1);
  lua_Number secs = luaL_checknumber(L, 2);
  luaL_argcheck(L, secs >= 0.001 && secs <= 1e9, 2, "seconds must be a number from 0.001 to 1e9");
  luaL_checktype(L, 3, LUA_TFUNCTION);
  if (lua_getiuservalue(L, 1, UV_TIMERS) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, UV_TIMERS);
  }
  lua_createtable(L, 3, 0);
  lua_pushvalue(L, 3);
  lua_rawseti(L, -2, T_FN);
  lua_pushinteger(L, (lua_Integer)(secs * (c->event_time ? 1e7 : 1e3) + 0.5));
  lua_rawseti(L, -2, T_PERIOD);
  lua_rawseti(L, -2, ++c->ntimers);
  c->timer_due = INT64_MIN;             /* look at the new timer at once */
  lua_settop(L, 1);
  return 1;
}

/* a + b for b > 0, at most INT64_MAX (timestamps of a damaged file may be
** anything). */
static int64_t sat_add(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

/* One timer (on top) at time `now`: a new one starts (due one period from
** now); a due one is called with the latest multiple of its period that
** `now` reached (files) or the wall-clock time (sessions), and is next due
** one period after that multiple: periods with nothing in them are not
** made up for. Returns its next due time. */
static int64_t fire_timer(lua_State *L, lconsumer *c, int64_t now) {
  int has;
  lua_rawgeti(L, -1, T_PERIOD);
  int64_t period = (int64_t)lua_tointeger(L, -1);
  lua_rawgeti(L, -2, T_NEXT);
  int64_t next = (int64_t)lua_tointegerx(L, -1, &has);
  lua_pop(L, 2);
  int64_t at = 0, due = has ? next : sat_add(now, period);
  if (has && now >= next) {             /* unsigned: any int64 times, no overflow */
    uint64_t gap = (uint64_t)now - (uint64_t)next;
    at = (int64_t)((uint64_t)next + gap / (uint64_t)period * (uint64_t)period);
    due = sat_add(at, period);
  }
  lua_pushinteger(L, (lua_Integer)due);
  lua_rawseti(L, -2, T_NEXT);           /* before the call: an error does not repeat it */
  if (has && now >= next) {
    lua_rawgeti(L, -1, T_FN);
    lua_pushinteger(L, (lua_Integer)(c->event_time ? at : etl_filetime_now()));
    protected_call(L, c, 1, 0);
  }
  return due;
}

/* The timers due at `now`, in the order c:every added them; consumer at
** index 1. Sets c->timer_due, so that a record costs one comparison while
** no timer is due. */
static void fire_timers(lua_State *L, lconsumer *c, int64_t now) {
  if (now < c->timer_due) return;
  int n = c->ntimers;                   /* a timer added by fn waits for the next look */
  int64_t due = INT64_MAX;
  lua_getiuservalue(L, 1, UV_TIMERS);
  for (int i = 1; i <= n && c->open; i++) {
    lua_rawgeti(L, -1, i);
    int64_t d = fire_timer(L, c, now);
    if (d < due) due = d;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (c->ntimers > n) due = INT64_MIN;  /* added meanwhile: start them at the next look */
  c->timer_due = due;
}

/* What an engine wait may take: up to the deadline and, for a session with
** timers, up to the next one due. */
static int wait_for(lconsumer *c, int64_t deadline) {
  int ms = etwL_wait_ms(deadline);
  if (!c->ntimers || c->event_time) return ms;
  int64_t left = c->timer_due - etwL_now_ms();
  int t = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
  return ms < 0 || t < ms ? t : ms;
}

/* --- run ------------------------------------------------------------------- */

/* The signal scope's wake: async-signal-safe; the source stays valid for
** the scope (a close inside a handler is finished after run returns). */
static void wake_consumer(void *ctx) {
  lconsumer *c = ctx;
  if (c->src) eng_source_stop(c->src);
}

static void check_idle(lua_State *L, lconsumer *c, const char *what) {
  if (c->running)
    luaL_error(L, "%s: the consumer is running (called from one of its handlers?)", what);
}

/* The end of a run: reason, and the signal name for "interrupted". */
static int push_reason(lua_State *L, lconsumer *c, uint64_t start, const char *reason) {
  lua_pushinteger(L, (lua_Integer)(c->events - start));
  lua_pushstring(L, reason);
  if (c->signal == 0) return 2;
  lua_pushstring(L, etwL_signal_name(c->signal));
  return 3;
}

static int interrupted(lconsumer *c) {
  c->signal = etwL_signal_take();
  return c->signal != 0;
}

/* The loop of c:run, called protected (consumer, max_events, deadline) so
** that run restores the signal state whatever a handler raises. The
** deadline is checked after every record, so a stream that never pauses
** still ends on time. */
static int run_body(lua_State *L) {
  lconsumer *c = lua_touserdata(L, 1);
  lua_Integer max = lua_tointeger(L, 2);
  int64_t deadline = (int64_t)lua_tointeger(L, 3);
  uint64_t start = c->events;
  const char *reason = NULL;
  int flowing = 0;                      /* the last look found a record */
  lua_settop(L, 1);
  lua_pushcfunction(L, traceback);      /* RUN_MSGH */
  lua_getiuservalue(L, 1, UV_HANDLERS); /* RUN_HANDLERS */
  luaL_getmetatable(L, ETWL_EVENT);     /* RUN_EVENT_MT */
  c->in_run = 1;
  while (!reason) {
    rec_record r;
    if (!c->open) { reason = "stopped"; break; }           /* c:close() in a handler */
    if (etwL_signal_pending() && interrupted(c)) { reason = "interrupted"; break; }
    if (max > 0 && c->events - start >= (uint64_t)max) { reason = "max_events"; break; }
    if (c->ntimers && !c->event_time) fire_timers(L, c, etwL_now_ms());
    if (!c->open) { reason = "stopped"; break; }           /* a timer closed it */
    /* while records flow, take the next without waiting (no clock read) */
    int st = eng_source_next(c->src, &r, flowing && !c->ntimers ? 0 : wait_for(c, deadline));
    if (st == ENG_OK) etwL_schema_attach(c->schemas, &r);
    if (st == ENG_OK && r.kind == REC_KIND_EVENT && c->ntimers && c->event_time &&
        (r.flags & REC_HEADER))
      fire_timers(L, c, r.timestamp);
    if (!c->open) { reason = "stopped"; break; }
    if (st == ENG_OK && r.kind == REC_KIND_EVENT) dispatch(L, c, &r);
    else if (st == ENG_OK) deliver_notice(L, c, &r);
    else if (st == ENG_E_STOPPED) reason = "stopped";
    else if (st == ENG_E_INTERRUPTED) reason = interrupted(c) ? "interrupted" : "stopped";
    else if (st != ENG_E_TIMEOUT) return etwL_pushengfail(L, st);
    flowing = st == ENG_OK;
    if (!reason && deadline >= 0 && etwL_now_ms() >= deadline) reason = "timeout";
  }
  c->in_run = 0;
  lua_settop(L, 1);
  return push_reason(L, c, start, reason);
}

static const char *const run_keys[] = {"timeout_ms", "max_events", NULL};

/* c:run([{timeout_ms=, max_events=}]) -> events received, reason [, signal].
** reason: "stopped" (session stopped / files ended / c:stop() / c:close()),
** "timeout", "max_events", "interrupted" (SIGINT, SIGTERM or SIGHUP; the
** third value names it: "SIGINT", ...). A handler error is raised with its
** traceback unless the consumer was made with on_error="continue". */
static int l_run(lua_State *L) {
  lconsumer *c = checkopen(L, 1);
  check_idle(L, c, "c:run");
  etwL_checkoptions(L, 2, "c:run", run_keys);
  lua_Integer timeout = etwL_optinteger(L, 2, "c:run", "timeout_ms", 0, LUA_MAXINTEGER, -1);
  lua_Integer max = etwL_optinteger(L, 2, "c:run", "max_events", 0, LUA_MAXINTEGER, 0);
  int64_t deadline = etwL_deadline_ms(timeout);
  lua_settop(L, 1);
  lua_pushlightuserdata(L, c);
  lua_pushcclosure(L, run_traceback, 1);  /* 2: the message handler */
  lua_pushcfunction(L, run_body);
  lua_pushvalue(L, 1);
  lua_pushinteger(L, max);
  lua_pushinteger(L, (lua_Integer)deadline);
  etwL_sigscope sc;
  c->running = 1;
  c->signal = 0;
  etwL_signal_enter(&sc, wake_consumer, c);
  int st = lua_pcall(L, 3, LUA_MULTRET, 2);
  etwL_signal_leave(&sc);
  c->running = 0;
  c->in_run = 0;                        /* also when run_body raised */
  if (st != LUA_OK && c->in_handler) c->errors++;  /* a handler's error (protected_call) */
  c->in_handler = 0;
  if (c->closing) release(c);
  if (st != LUA_OK) return lua_error(L);
  return lua_gettop(L) - 2;
}

/* The next record for c:events: a poll first, so a busy stream costs no
** system call; only a real wait opens a signal scope. */
static int events_next(lconsumer *c, rec_record *r, int64_t deadline) {
  int st = eng_source_next(c->src, r, 0);
  if (st == ENG_OK) etwL_schema_attach(c->schemas, r);
  if (st != ENG_E_TIMEOUT || etwL_wait_ms(deadline) == 0) return st;
  etwL_sigscope sc;
  etwL_signal_enter(&sc, wake_consumer, c);
  if (!etwL_signal_pending()) st = eng_source_next(c->src, r, etwL_wait_ms(deadline));
  /* taken here, or leave would hand it on; a record that came with it is
  ** still delivered, and the next step ends the loop (c->signal is set) */
  if (etwL_signal_pending() && interrupted(c) && st != ENG_OK) st = ENG_E_INTERRUPTED;
  etwL_signal_leave(&sc);
  if (st == ENG_OK) etwL_schema_attach(c->schemas, r);
  return st;
}

/* Iterator step for c:events(): the next event, or nil at the end (source
** ended, deadline, c:stop(), c:close(), a signal: c.signal names it). Loss
** and corruption notices go to the on_lost / on_corrupt handlers. */
static int events_step(lua_State *L) {
  lua_settop(L, 0);
  lua_pushvalue(L, lua_upvalueindex(1));  /* the consumer at 1, as run() has it */
  lconsumer *c = checkconsumer(L, 1);
  if (!c->open) return 0;                 /* closed inside the loop: the end */
  check_idle(L, c, "c:events");
  int64_t deadline = (int64_t)lua_tointeger(L, lua_upvalueindex(2));
  for (;;) {
    rec_record r;
    if (c->signal || (etwL_signal_pending() && interrupted(c))) return 0;
    if (deadline >= 0 && etwL_now_ms() >= deadline) return 0;
    int st = events_next(c, &r, deadline);
    if (st == ENG_OK && r.kind == REC_KIND_EVENT) {
      c->events++;
      c->delivered++;
      etwL_pushevent(L, &r, NULL);
      return 1;
    }
    if (st == ENG_OK) {
      deliver_notice(L, c, &r);
      if (!c->open) return 0;             /* its handler closed the consumer */
      continue;
    }
    if (st == ENG_E_TIMEOUT) continue;    /* the deadline check above ends it */
    if (st == ENG_E_STOPPED || st == ENG_E_INTERRUPTED) return 0;
    etwL_pushengfail(L, st);
    return lua_error(L);
  }
}

static const char *const events_keys[] = {"timeout_ms", NULL};

/* for ev in c:events([{timeout_ms=}]) do ... end: every event, pull style. */
static int l_events(lua_State *L) {
  lconsumer *c = checkopen(L, 1);
  etwL_checkoptions(L, 2, "c:events", events_keys);
  lua_Integer timeout = etwL_optinteger(L, 2, "c:events", "timeout_ms", 0, LUA_MAXINTEGER, -1);
  c->signal = 0;
  lua_pushvalue(L, 1);
  lua_pushinteger(L, (lua_Integer)etwL_deadline_ms(timeout));
  lua_pushcclosure(L, events_step, 2);
  return 1;
}

/* c:stop(): make run() / the events() iterator return; callable from a handler. */
static int l_stop(lua_State *L) {
  lconsumer *c = checkconsumer(L, 1);
  if (c->open) eng_source_stop(c->src);
  return 0;
}

static void setint(lua_State *L, const char *k, uint64_t v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

/* c:stats() -> {events, delivered, lost, corrupt, errors, last_error,
** last_corrupt} */
static int l_stats(lua_State *L) {
  lconsumer *c = checkconsumer(L, 1);
  lua_createtable(L, 0, 7);
  setint(L, "events", c->events);
  setint(L, "delivered", c->delivered);
  setint(L, "lost", c->lost);
  setint(L, "corrupt", c->corrupt);
  setint(L, "errors", c->errors);
  lua_getiuservalue(L, 1, UV_LAST_ERROR);
  lua_setfield(L, -2, "last_error");
  lua_getiuservalue(L, 1, UV_LAST_CORRUPT);
  lua_setfield(L, -2, "last_corrupt");
  return 1;
}

/* c:info() -> what the source knows about itself: for files, a list of
** per-file header tables (lfiles.c); nil for live sessions. */
static int l_info(lua_State *L) {
  lconsumer *c = checkopen(L, 1);
  if (!c->files) return 0;
  return etwL_push_files_info(L, c->src);
}

/* c:close() / __gc / __close. Inside a handler of c:run the source and
** filters are still in use: they are released when run returns ("stopped"). */
static int l_close(lua_State *L) {
  lconsumer *c = checkconsumer(L, 1);
  c->open = 0;
  if (c->running) c->closing = 1;
  else release(c);
  return 0;
}

static int l_tostring(lua_State *L) {
  lconsumer *c = checkconsumer(L, 1);
  lua_pushfstring(L, "etw.Consumer (%s, %d handlers)", c->open ? "open" : "closed", (int)c->nfilters);
  return 1;
}

/* --- sources --------------------------------------------------------------- */

/* etw.Consumer{session=NAME | files=PATH or {PATH, ...}, on_error="stop"|"continue",
**              reader="etw"|"etwlua", manifests=PATH or {PATH, ...}}
** -> consumer, or nil, "CODE: message", "CODE". Several files are merged by
** timestamp (equal times: in the order given). A file that cannot be opened:
** NOTFOUND / ACCESS / IO / CORRUPT (not an ETL file) with "path: why". */
static const char *const consumer_keys[] = {"session", "files", "on_error", "reader", "manifests",
                                             NULL};
/* The source is open: manifest schemas on top of it (lschema.c). */
static int opened(lua_State *L, lconsumer *c) {
  c->fields = etwL_field_cache(L);
  int st = etwL_schema_for(L, &c->schemas);
  if (st != ENG_OK) {
    release(c);
    return etwL_pushengfail_detail(L, st, lua_tostring(L, -1));
  }
  c->open = 1;
  return 1;
}

static int l_new(lua_State *L) {
  static const char *const on_error[] = {"stop", "continue", NULL};
  static const char *const readers[] = {"auto", "etw", "etwlua", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  etwL_checkoptions(L, 1, "etw.Consumer", consumer_keys);
  /* manifests={...}: loaded (all or none) before anything is read */
  lua_getfield(L, 1, "manifests");
  if (!lua_isnil(L, -1)) {
    int mst = etwL_schema_load(L, -1, "etw.Consumer: 'manifests'");
    if (mst != ENG_OK) return etwL_pushengfail_detail(L, mst, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_getfield(L, 1, "reader");
  int reader = lua_isnil(L, -1) ? 0 : etwL_checkoptname(L, -1, "etw.Consumer", "reader", readers);
  lua_pop(L, 1);
  lua_getfield(L, 1, "on_error");
  int cont = lua_isnil(L, -1) ? 0 : etwL_checkoptname(L, -1, "etw.Consumer", "on_error", on_error);
  lua_getfield(L, 1, "session");
  lua_getfield(L, 1, "files");           /* stack: opts on_error session files */
  if (lua_isnil(L, -2) == lua_isnil(L, -1))
    return luaL_error(L, "etw.Consumer: give exactly one of 'session' (a name) or 'files' (a list)");
  int files = lua_isnil(L, -2);
  lconsumer *c = lua_newuserdatauv(L, sizeof *c, UV_COUNT);
  memset(c, 0, sizeof *c);
  c->event_time = files;                 /* c:every follows event time in files */
  luaL_setmetatable(L, ETWL_CONSUMER);
  c->on_error_continue = cont;
  lua_newtable(L);
  lua_setiuservalue(L, -2, UV_HANDLERS);
  int st;
  if (!lua_isnil(L, -3)) {
    if (lua_type(L, -3) != LUA_TSTRING)
      return etwL_opterror(L, "etw.Consumer", "session", "must be a session name (string)");
    st = eng_source_open_session(lua_tostring(L, -3), &c->src);
    if (st != ENG_OK) return etwL_pushengfail(L, st);
  } else {
    /* reader: "etw" = the system's (Windows), "etwlua" = src/etl, default:
    ** the system's where it reads files, else ours (engine policy) */
    size_t n;
    const char **paths = etwL_check_paths(L, lua_gettop(L) - 1, &n);
    char why[600];
    st = eng_source_open_files(paths, n, (eng_reader)reader, &c->src, why, sizeof why);
    lua_pop(L, 1);                    /* the paths array */
    if (st == ENG_E_UNSUPPORTED && reader == 1)
      return etwL_pushengfail_detail(L, st, "reader 'etw' needs ETW (Windows, not Wine)");
    if (st != ENG_OK) return why[0] ? etwL_pushengfail_detail(L, st, why) : etwL_pushengfail(L, st);
    c->files = 1;
  }
  return opened(L, c);
}

static const luaL_Reg meth[] = {
  {"on", l_on}, {"on_lost", l_on_lost}, {"on_corrupt", l_on_corrupt}, {"every", l_every}, {"run", l_run},
  {"events", l_events}, {"stop", l_stop}, {"stats", l_stats}, {"info", l_info},
  {"close", l_close}, {NULL, NULL}};

/* c.signal: "SIGINT", "SIGTERM", "SIGHUP" when the last run / events loop
** ended "interrupted", else nil; other keys: the methods. */
static int l_index(lua_State *L) {
  lconsumer *c = checkconsumer(L, 1);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "signal") == 0 && c->signal) {
    lua_pushstring(L, etwL_signal_name(c->signal));
    return 1;
  }
  return 0;
}

static const luaL_Reg metameth[] = {
  {"__gc", l_close}, {"__close", l_close}, {"__tostring", l_tostring}, {NULL, NULL}};

void etwL_open_consumer(lua_State *L) {   /* stack: etw */
  luaL_newmetatable(L, ETWL_CONSUMER);
  luaL_setfuncs(L, metameth, 0);
  luaL_newlib(L, meth);
  lua_pushcclosure(L, l_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_new);
  lua_setfield(L, -2, "Consumer");
}
