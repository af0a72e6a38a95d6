/*
** lwriter.c: etw.EventWriter, the line formats of `etwlua dump` (text, JSON
** Lines, CSV; lua/etwlua/format.lua documents them) written from C. As a
** handler of c:on, a writer formats each record straight from the source's
** memory: no etw.Event, no Lua string, no Lua call per event.
*/
#define _GNU_SOURCE /* fwrite_unlocked on glibc */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "levent.h"
#include "lwriter.h"
#include "etl.h"

enum { W_TEXT = 0, W_JSON, W_CSV };
static const char *const formats[] = {"text", "json", "csv", NULL};

/* User values: the Lua file (kept alive), the filter, on_no_schema and the
** NO_SCHEMA messages already reported (a set). */
enum { WV_FILE = 1, WV_FILTER, WV_NO_SCHEMA, WV_SEEN, WV_COUNT = WV_SEEN };

struct lwriter {
  int format;
  int has_filter, has_notice;
  int err;                  /* errno of the first failed write; nothing is written after */
  uint64_t written, max;    /* max 0: no limit */
  const void *last_owner;   /* the record written last (c:on under several filters) */
  uint64_t last_serial;
  rec_ext_item *ext;        /* the record's ext items, sanitised (see view_record) */
  uint32_t ext_cap;
  char *cell;               /* CSV: one cell's text before it is quoted */
  size_t cell_len, cell_cap;
  int cell_oom;
  FILE *f;                  /* the stream of the line being written */
  luaL_Stream *file;        /* the Lua file (user value WV_FILE keeps it alive) */
  lev_fmt_cache cache;      /* the last timestamp's date, fields' shape, header text */
  char buf[16384];          /* the line so far; goes to the file at its end */
  char cell_buf[4096];      /* CSV: the fields cell's JSON writer's buffer */
};

static lwriter *checkwriter(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, ETWL_WRITER);
}

lwriter *etwL_testwriter(lua_State *L, int idx) { return luaL_testudata(L, idx, ETWL_WRITER); }

/* --- output: a line buffer in front of the stdio stream ------------------ */

/* The stream is this Lua state's alone: glibc's fwrite_unlocked
** (unlocked_stdio(3)) skips the lock a write per line would take. */
#if defined(__GLIBC__)
#define WRITE_UNLOCKED fwrite_unlocked
#else
#define WRITE_UNLOCKED fwrite
#endif

/* The writer's stream; raises when the Lua file was closed. The file's
** userdata is the writer's user value WV_FILE for the writer's whole life
** (Lua never moves a userdata), so its address is kept rather than looked
** up per line; io.close clears closef in that same userdata. */
static FILE *stream(lua_State *L, lwriter *w) {
  luaL_Stream *s = w->file;
  if (!s || !s->closef) luaL_error(L, "etw.EventWriter: attempt to use a closed file");
  return s->f;
}

/* The line buffer's sink: bytes into the stream (one write per line, as
** the line ends, keeps stdio's order with what Lua writes to the same
** file, e.g. before a message on stderr; more only for lines over 16 KB). */
static void drain(void *ctx, const char *s, size_t n) {
  lwriter *w = ctx;
  errno = 0;
  if (n && !w->err && WRITE_UNLOCKED(s, 1, n, w->f) != n) w->err = errno ? errno : EIO;
}

static void cell_write(void *ctx, const char *s, size_t n) {
  lwriter *w = ctx;
  if (w->cell_oom) return;
  if (n > w->cell_cap - w->cell_len) {
    size_t cap = w->cell_cap ? w->cell_cap : 4096;
    while (cap - w->cell_len < n) cap *= 2;
    char *c = realloc(w->cell, cap);
    if (!c) { w->cell_oom = 1; return; }
    w->cell = c;
    w->cell_cap = cap;
  }
  memcpy(w->cell + w->cell_len, s, n);
  w->cell_len += n;
}

#define put_lit(j, s) tlg_json_raw(j, s, sizeof s - 1)

static void putu(tlg_json *j, uint64_t v) {
  if (!(v >> 32)) {
    char *o = tlg_json_room(j, 10);
    j->n = (size_t)(tlg_u32_at(o, (uint32_t)v) - j->buf);
    return;
  }
  char t[24];
  size_t n = tlg_u64_text(t + sizeof t, v);
  tlg_json_raw(j, t + sizeof t - n, n);
}

/* --- the formats ------------------------------------------------------------ */

/* ev.timestamp as etw.iso_time gives it, or nothing when the event has none
** (the caller writes what stands for none). */
static int put_time(lwriter *w, tlg_json *j, const lrec *r) {
  if (!(r->flags & REC_HEADER)) return 0;
  tlg_fmt_filetime_to(j, r->timestamp, TLG_FMT_TEXT, &w->cache.times);
  return 1;
}

/* pid or tid: the number, or `none` when the record has none (lev_has_id). */
static void put_id(tlg_json *j, const lrec *r, uint32_t v, const char *none) {
  if (lev_has_id(r, v)) putu(j, v);
  else tlg_json_cstr(j, none);
}

/* 1 for the bytes that make a CSV cell quoted: comma, quote, CR, LF. */
static int csv_special(unsigned char c) { return c == ',' || c == '"' || c == '\r' || c == '\n'; }

/* put_cell for a cell too large for the buffer's free room. */
static void put_cell_long(tlg_json *j, const char *s, size_t n) {
  size_t i = 0;
  while (i < n && !csv_special((unsigned char)s[i])) i++;
  if (i == n) { tlg_json_raw(j, s, n); return; }
  tlg_json_char(j, '"');
  for (size_t start = 0; start < n;) {
    const char *q = memchr(s + start, '"', n - start);
    size_t end = q ? (size_t)(q - s) + 1 : n;
    tlg_json_raw(j, s + start, end - start);
    if (q) tlg_json_char(j, '"');
    start = end;
  }
  tlg_json_char(j, '"');
}

/* The high bit of each byte of x that is c, exact up to the first such
** byte (above it a borrow may flag more); 0 when none is. */
static inline uint64_t byte_eq(uint64_t x, unsigned char c) {
  const uint64_t ones = 0x0101010101010101ull;
  uint64_t y = x ^ (ones * c);
  return (y - ones) & ~y & (ones << 7);
}

/* One CSV cell (RFC 4180, as format.csv_cell): quoted when it holds a
** comma, quote, CR or LF, quotes doubled. One pass straight into the
** buffer: copied after a tentative opening quote, each quote doubled; the
** opening quote goes again when nothing needed it. */
static void put_cell(tlg_json *j, const char *s, size_t n) {
  if (2 * n + 2 > j->cap - j->n) tlg_json_flush(j);
  if (2 * n + 2 > j->cap - j->n) { put_cell_long(j, s, n); return; }
  /* bit 0: makes the cell quoted; bit 1: a quote (doubled) */
  static const uint8_t cls[256] = {['\n'] = 1, ['\r'] = 1, [','] = 1, ['"'] = 3};
  char *start = j->buf + j->n, *o = start + 1;
  unsigned special = 0;
  size_t i = 0;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  /* 8 bytes at a time up to the next quote: copied as a block, the
  ** quote doubled (the room is there: 2n + 2, and i + 8 <= n) */
  while (n - i >= 8) {
    uint64_t x;
    memcpy(&x, s + i, 8);
    uint64_t q = byte_eq(x, '"');
    special |= (q | byte_eq(x, ',') | byte_eq(x, '\r') | byte_eq(x, '\n')) != 0;
    memcpy(o, &x, 8);
    if (!q) {
      i += 8;
      o += 8;
      continue;
    }
    unsigned k = (unsigned)__builtin_ctzll(q) >> 3; /* the first quote: exact */
    i += k + 1;
    o += k + 1;
    *o++ = '"';
  }
#endif
  for (; i < n; i++) {
    unsigned k = cls[(unsigned char)s[i]];
    special |= k;
    o[0] = s[i];
    o[1] = '"';
    o += 1 + (k >> 1);
  }
  if (!special) {
    memmove(start, start + 1, n);
    j->n += n;
    return;
  }
  start[0] = '"';
  *o++ = '"';
  j->n = (size_t)(o - j->buf);
}

static void line_text(lwriter *w, tlg_json *j, const levent *ev) {
  if (!put_time(w, j, &ev->rec)) tlg_json_char(j, '-');
  tlg_json_char(j, ' ');
  put_id(j, &ev->rec, ev->rec.pid, "-");
  tlg_json_char(j, '/');
  put_id(j, &ev->rec, ev->rec.tid, "-");
  tlg_json_char(j, ' ');
  lev_fmt_text_to(ev, j, &w->cache);
  tlg_json_char(j, '\n');
}

/* timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields */
static void line_csv(lwriter *w, tlg_json *j, const levent *ev) {
  const lrec *r = &ev->rec;
  char buf[512], g[TLG_GUID_TEXT];
  size_t n = 0;
  put_time(w, j, r);
  tlg_json_char(j, ',');
  const char *s = lev_provider_name(ev, &n, buf, sizeof buf);
  if (!s) {
    tlg_guid_format(&r->provider_id, g);
    s = g;
    n = TLG_GUID_TEXT - 1;
  }
  put_cell(j, s, n);
  tlg_json_char(j, ',');
  s = lev_event_name(ev, &n, buf, sizeof buf);
  if (s) put_cell(j, s, n);
  tlg_json_char(j, ',');
  putu(j, r->desc.id);
  tlg_json_char(j, ',');
  putu(j, r->desc.level);
  tlg_json_char(j, ',');
  putu(j, r->desc.opcode);
  tlg_json_char(j, ',');
  put_id(j, r, r->pid, "");
  tlg_json_char(j, ',');
  put_id(j, r, r->tid, "");
  tlg_json_char(j, ',');
  if (r->flags & REC_HEADER) putu(j, r->cpu);
  tlg_json_char(j, ',');
  tlg_sink cs = {cell_write, w};
  tlg_json cj;
  tlg_json_init_buf(&cj, &cs, w->cell_buf, sizeof w->cell_buf);
  w->cell_len = 0;
  w->cell_oom = 0;
  lev_fmt_json_to(ev, &cj, 1, &w->cache);
  if (!cj.flushed) { /* all of it still in cell_buf, as most are */
    put_cell(j, w->cell_buf, cj.n);
    tlg_json_char(j, '\n');
    return;
  }
  tlg_json_flush(&cj);
  if (w->cell_oom) { w->err = ENOMEM; return; }
  put_cell(j, w->cell, w->cell_len);
  tlg_json_char(j, '\n');
}

/* One line for ev into the stream; 0, or an errno value. */
static int write_line(lua_State *L, lwriter *w, const levent *ev) {
  tlg_sink sink = {drain, w};
  tlg_json j;
  w->f = stream(L, w);
  tlg_json_init_buf(&j, &sink, w->buf, sizeof w->buf);
  if (w->format == W_JSON) {
    lev_fmt_json_to(ev, &j, 0, &w->cache);
    tlg_json_char(&j, '\n');
  } else if (w->format == W_TEXT) {
    line_text(w, &j, ev);
  } else {
    line_csv(w, &j, ev);
  }
  if (!w->err) tlg_json_flush(&j);
  return w->err;
}

/* --- per event ----------------------------------------------------------------- */

/* An event no loaded schema describes: on_no_schema(message), once per
** message (the text of ev.decode_error). */
static void notice(lua_State *L, lwriter *w, int widx, const lrec *r) {
  char msg[LEV_NO_SCHEMA_TEXT];
  size_t n = lev_no_schema(r, msg);
  if (!n || !w->has_notice) return;
  lua_getiuservalue(L, widx, WV_SEEN);
  lua_pushlstring(L, msg, n);
  if (lua_rawget(L, -2) != LUA_TNIL) { lua_pop(L, 2); return; }
  lua_pop(L, 1);
  lua_pushlstring(L, msg, n);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_getiuservalue(L, widx, WV_NO_SCHEMA);
  lua_pushlstring(L, msg, n);
  lua_call(L, 1, 0);
}

/* filter(ev) for the etw.Event on top (left there). */
static int passes(lua_State *L, int widx) {
  lua_getiuservalue(L, widx, WV_FILTER);
  lua_pushvalue(L, -2);
  lua_call(L, 1, 1);
  int ok = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return ok;
}

/* Done: a failed write, or max_events written. */
static int done(const lwriter *w) { return w->err || (w->max && w->written >= w->max); }

/* The event over the record, its ext items with the size of an item
** without bytes set to 0 (as etwL_pushevent copies them), in w->ext; 0, or
** -1 out of memory. */
static int view_record(lwriter *w, const rec_record *rec, levent *ev) {
  if (rec->ext && rec->ext_count && rec->ext_count > w->ext_cap) {
    rec_ext_item *e = realloc(w->ext, rec->ext_count * sizeof *e);
    if (!e) return -1;
    w->ext = e;
    w->ext_cap = rec->ext_count;
  }
  lev_view(ev, rec);
  if (rec->ext && rec->ext_count) {
    for (uint32_t i = 0; i < rec->ext_count; i++) {
      w->ext[i] = rec->ext[i];
      if (!w->ext[i].data) w->ext[i].size = 0;
    }
    ev->rec.ext = w->ext; /* what lev_view gives for a record with these items */
  }
  return 0;
}

int etwL_writer_record(lua_State *L, int widx, const rec_record *rec, const void *owner,
                       uint64_t serial) {
  lwriter *w = lua_touserdata(L, widx);
  if (w->last_owner == owner && w->last_serial == serial) return done(w);
  w->last_owner = owner;
  w->last_serial = serial;
  if (done(w)) return 1;
  levent view;
  if (view_record(w, rec, &view)) return luaL_error(L, "out of memory");
  notice(L, w, widx, &view.rec);
  if (w->has_filter) {
    etwL_pushevent(L, rec, NULL);
    int ok = passes(L, widx);
    if (ok) write_line(L, w, lua_touserdata(L, -1));
    lua_pop(L, 1);
    if (!ok) return 0;
  } else {
    write_line(L, w, &view);
  }
  if (!w->err) w->written++;
  return done(w);
}

/* w(ev) -> true if the event was written: the same steps for an etw.Event
** (on_no_schema, filter, max_events). */
static int l_call(lua_State *L) {
  lwriter *w = checkwriter(L, 1);
  levent *ev = levent_check(L, 2);
  lua_settop(L, 2);
  if (done(w)) { lua_pushboolean(L, 0); return 1; }
  notice(L, w, 1, &ev->rec);
  if (w->has_filter && !passes(L, 1)) { lua_pushboolean(L, 0); return 1; }
  write_line(L, w, ev);
  if (!w->err) w->written++;
  lua_pushboolean(L, !w->err);
  return 1;
}

/* w:count() -> events written. */
static int l_count(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checkwriter(L, 1)->written);
  return 1;
}

/* w:error() -> nil, or nil, "IO: message", "IO" after a write failed (a
** closed pipe when SIGPIPE is ignored, a full disk). */
static int l_error(lua_State *L) {
  lwriter *w = checkwriter(L, 1);
  if (!w->err) return 0;
  lua_pushnil(L);
  lua_pushfstring(L, "IO: %s", strerror(w->err));
  lua_pushliteral(L, "IO");
  return 3;
}

static int l_gc(lua_State *L) {
  lwriter *w = checkwriter(L, 1);
  free(w->ext);
  free(w->cell);
  w->ext = NULL;
  w->cell = NULL;
  w->ext_cap = 0;
  w->cell_cap = 0;
  return 0;
}

static int l_tostring(lua_State *L) {
  lwriter *w = checkwriter(L, 1);
  lua_pushfstring(L, "etw.EventWriter (%s, %I written)", formats[w->format],
                  (lua_Integer)w->written);
  return 1;
}

/* A function option: nil, or a function (at the top, pushed). */
static int opt_function(lua_State *L, const char *key) {
  lua_getfield(L, 3, key);
  if (!lua_isnil(L, -1) && !lua_isfunction(L, -1))
    etwL_opterror(L, "etw.EventWriter", key, "must be a function");
  return lua_isfunction(L, -1);
}

static const char *const writer_keys[] = {"header", "max_events", "filter", "on_no_schema",
                                          NULL};

/* etw.EventWriter(format, file [, {header=true, max_events=, filter=fn,
** on_no_schema=fn}]) -> writer. format: "text", "json" or "csv" (the lines
** of format.lua); file: an open Lua file (io.stdout, io.open(...)). csv
** writes its header line now unless header == false. Per event: an event
** no schema describes calls on_no_schema(message) (once per message), then
** filter(ev) (as an etw.Event) decides, then the line is written; after
** max_events lines the writer writes nothing more, and as a handler of
** c:on it stops the consumer (also after a failed write: see w:error()). */
static int l_new(lua_State *L) {
  int format = luaL_checkoption(L, 1, NULL, formats);
  luaL_checkudata(L, 2, LUA_FILEHANDLE);
  etwL_checkoptions(L, 3, "etw.EventWriter", writer_keys);
  lua_Integer max = etwL_optinteger(L, 3, "etw.EventWriter", "max_events", 0, LUA_MAXINTEGER, 0);
  int header = 1;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "header");
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
      etwL_opterror(L, "etw.EventWriter", "header", "must be a boolean");
    header = lua_isnil(L, -1) || lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  lua_settop(L, 3);
  int has_filter = lua_istable(L, 3) && opt_function(L, "filter");     /* 4 */
  if (!lua_istable(L, 3)) lua_pushnil(L);
  int has_notice = lua_istable(L, 3) && opt_function(L, "on_no_schema"); /* 5 */
  if (!lua_istable(L, 3)) lua_pushnil(L);
  lwriter *w = lua_newuserdatauv(L, sizeof *w, WV_COUNT);               /* 6 */
  memset(w, 0, sizeof *w);
  w->format = format;
  w->cache.times.secs = -1;
  w->max = (uint64_t)max;
  w->has_filter = has_filter;
  w->has_notice = has_notice;
  luaL_setmetatable(L, ETWL_WRITER);
  w->file = lua_touserdata(L, 2);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, 6, WV_FILE);
  lua_pushvalue(L, 4);
  lua_setiuservalue(L, 6, WV_FILTER);
  lua_pushvalue(L, 5);
  lua_setiuservalue(L, 6, WV_NO_SCHEMA);
  lua_newtable(L);
  lua_setiuservalue(L, 6, WV_SEEN);
  if (format == W_CSV && header) {
    static const char line[] = "timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields\n";
    FILE *f = stream(L, w);
    errno = 0;
    if (fwrite(line, 1, sizeof line - 1, f) != sizeof line - 1) w->err = errno ? errno : EIO;
  }
  return 1;
}

static const luaL_Reg meth[] = {{"count", l_count}, {"error", l_error}, {NULL, NULL}};

static const luaL_Reg metameth[] = {
  {"__call", l_call}, {"__gc", l_gc}, {"__tostring", l_tostring}, {NULL, NULL}};

void etwL_open_writer(lua_State *L) {   /* stack: etw */
  luaL_newmetatable(L, ETWL_WRITER);
  luaL_setfuncs(L, metameth, 0);
  luaL_newlib(L, meth);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_new);
  lua_setfield(L, -2, "EventWriter");
}
