/*
** lfiles.c: the .etl file record source of etw.Consumer{files=...}.
**
** Each file has its own ETL reader (src/etl), which already delivers that
** file's records stably sorted by timestamp. The source merges the readers:
** every reader keeps one pending record, a heap picks the smallest
** (timestamp, file index), so equal times keep the order the files were
** given. Only the reader whose record was handed out is advanced, and only on
** the next call: a reader's record stays valid until its next etl_next, so
** the pending records of the other readers are never copied.
**
** Corrupt input does not end the stream: each ETL_ERR_DATA of a reader comes
** out as an ENG_KIND_CORRUPT record, at the point of that reader's stream
** where the reader reported it (header warnings first, a buffer's errors
** after its last good record); corrupt_detail() tells the file, offset and
** message of the last one.
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lconsumer.h"
#include "../engine/engine.h"
#include "../etl/etl.h"

typedef struct freader {
  etl_reader *r;
  char *path;
  eng_record rec;               /* the pending record, while in the heap */
} freader;

typedef struct fsource {
  freader *f;
  size_t n;
  size_t *heap;                 /* readers with a pending record */
  size_t nheap;
  size_t fill;                  /* readers before this one had their first etl_next */
  size_t last;                  /* reader of the record handed out last, or n */
  volatile sig_atomic_t stop;
  etl_error err;                /* the last ERR_DATA */
  size_t err_file;
} fsource;

/* ---- the merge heap: (timestamp, file index) ---- */

static int before(const fsource *s, size_t a, size_t b) {
  int64_t ta = s->f[a].rec.timestamp, tb = s->f[b].rec.timestamp;
  return ta < tb || (ta == tb && a < b);
}

static void heap_push(fsource *s, size_t i) {
  size_t k = s->nheap++;
  while (k > 0) {
    size_t up = (k - 1) / 2;
    if (!before(s, i, s->heap[up])) break;
    s->heap[k] = s->heap[up];
    k = up;
  }
  s->heap[k] = i;
}

static size_t heap_pop(fsource *s) {
  size_t top = s->heap[0], x = s->heap[--s->nheap], k = 0;
  for (;;) {
    size_t l = 2 * k + 1, m = x;
    if (l >= s->nheap) break;
    if (l + 1 < s->nheap && before(s, s->heap[l + 1], s->heap[l])) l++;
    if (!before(s, s->heap[l], m)) break;
    s->heap[k] = s->heap[l];
    k = l;
  }
  if (s->nheap) s->heap[k] = x;
  return top;
}

/* ---- the source ---- */

/* One etl_next on reader i. Returns ENG_OK (pending or done), ENG_E_CORRUPT
** (*rec is a corrupt notice; call again), or ENG_E_NOMEM (call again). */
static int advance(fsource *s, size_t i, eng_record *rec) {
  freader *f = &s->f[i];
  int st = etl_next(f->r, &f->rec, &s->err);
  if (st == ETL_OK) heap_push(s, i);
  if (st == ETL_OK || st == ETL_END) return ENG_OK;
  if (st == ETL_ERR_DATA) {
    memset(rec, 0, sizeof *rec);
    rec->kind = ENG_KIND_CORRUPT;
    rec->src_offset = s->err.offset;
    rec->src_record_offset = s->err.inner;
    s->err_file = i;
    return ENG_E_CORRUPT;
  }
  return ENG_E_NOMEM;  /* ETL_ERR_NOMEM (ETL_ERR_ARG cannot happen) */
}

static int files_next(void *ctx, eng_record *rec, int timeout_ms) {
  fsource *s = ctx;
  int st;
  (void)timeout_ms;
  if (s->stop) {
    s->stop = 0;  /* a stop pauses: the next run goes on from here */
    return ENG_E_INTERRUPTED;
  }
  while (s->fill < s->n) {  /* first records, in file order */
    st = advance(s, s->fill, rec);
    if (st == ENG_E_CORRUPT) return ENG_OK;
    if (st != ENG_OK) return st;
    s->fill++;
  }
  if (s->last < s->n) {
    st = advance(s, s->last, rec);
    if (st == ENG_E_CORRUPT) return ENG_OK;
    if (st != ENG_OK) return st;
    s->last = s->n;
  }
  if (s->nheap == 0) return ENG_E_STOPPED;
  s->last = heap_pop(s);
  *rec = s->f[s->last].rec;
  return ENG_OK;
}

static void files_stop(void *ctx) { ((fsource *)ctx)->stop = 1; }

static void files_close(void *ctx) {
  fsource *s = ctx;
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) {
    etl_close(s->f[i].r);
    free(s->f[i].path);
  }
  free(s->f);
  free(s->heap);
  free(s);
}

static const char *files_corrupt_detail(void *ctx, const char **file, uint64_t *offset) {
  fsource *s = ctx;
  *file = s->err_file < s->n ? s->f[s->err_file].path : NULL;
  *offset = s->err.offset;
  return s->err.message;
}

/* ---- c:info() ---- */

static void set_int(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

static void set_str(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static void set_time(lua_State *L, const char *k, int64_t filetime) {
  char iso[ETL_ISO_SIZE];
  if (filetime == 0) return;  /* e.g. EndTime while still logging */
  etl_filetime_to_iso(filetime, iso);
  set_str(L, k, iso);
}

static const char *clock_name(uint32_t type) {
  switch (type) {
  case 1: return "QPC";
  case 2: return "system time";
  case 3: return "CPU cycles";
  default: return "unknown";
  }
}

static void push_file_info(lua_State *L, const freader *f) {
  const etl_info *in = etl_get_info(f->r);
  const etl_stats *st = etl_get_stats(f->r);
  lua_createtable(L, 0, 40);
  set_str(L, "path", f->path);
  set_str(L, "reader", "etwlua");
  set_int(L, "file_size", (lua_Integer)in->file_size);
  set_int(L, "buffer_size", in->buffer_size);
  set_int(L, "pointer_size", in->pointer_size);
  lua_pushfstring(L, "%d.%d.%d", (int)in->os_major, (int)in->os_minor, (int)in->os_build);
  lua_setfield(L, -2, "os_version");
  set_int(L, "os_major", in->os_major);
  set_int(L, "os_minor", in->os_minor);
  set_int(L, "os_build", in->os_build);
  lua_pushfstring(L, "%d.%d", (int)in->layout_major, (int)in->layout_minor);
  lua_setfield(L, -2, "layout_version");
  set_int(L, "num_processors", in->num_processors);
  set_int(L, "cpu_speed_mhz", in->cpu_speed_mhz);
  set_int(L, "clock_type", in->clock_type);
  set_str(L, "clock", clock_name(in->clock_type));
  set_int(L, "perf_freq", in->perf_freq);
  set_int(L, "timer_resolution", in->timer_resolution);
  set_time(L, "start_time", in->start_time);
  set_time(L, "end_time", in->end_time);
  set_time(L, "boot_time", in->boot_time);
  set_int(L, "start_filetime", in->start_time);
  set_int(L, "end_filetime", in->end_time);
  set_int(L, "tz_bias", in->tz_bias);
  set_int(L, "log_file_mode", in->log_file_mode);
  set_int(L, "max_file_size", in->max_file_size);
  set_int(L, "buffers_written", in->buffers_written);
  set_int(L, "events_lost", in->events_lost);
  set_int(L, "buffers_lost", in->buffers_lost);
  set_str(L, "logger_name", in->logger_name);
  set_str(L, "logfile_name", in->log_file_name);
  set_int(L, "buffers", st->buffers);
  set_int(L, "compressed_buffers", st->compressed_buffers);
  set_int(L, "buffers_with_loss", st->buffers_events_lost);
  set_int(L, "records", (lua_Integer)st->records);
  set_int(L, "errors", (lua_Integer)st->errors);
  set_int(L, "skipped", (lua_Integer)st->skipped);
}

static int files_info(void *ctx, lua_State *L) {
  fsource *s = ctx;
  lua_createtable(L, (int)s->n, 0);
  for (size_t i = 0; i < s->n; i++) {
    push_file_info(L, &s->f[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* ---- open ---- */

/* A file fopen could not open: push "path: why"; returns the eng_status. */
static int open_errno(lua_State *L, const char *path, int err_no) {
  lua_pushfstring(L, "%s: %s", path, strerror(err_no));
  return err_no == ENOENT ? ENG_E_NOTFOUND
       : err_no == EACCES || err_no == EPERM ? ENG_E_ACCESS : ENG_E_IO;
}

/* A file the reader refused: push "path: why"; returns the eng_status. */
static int open_failed(lua_State *L, const char *path, int etl_st, const etl_error *e) {
  if (etl_st == ETL_ERR_IO) {        /* "offset 0x0: cannot read PATH: why" */
    const char *m = strstr(e->message, "cannot ");
    lua_pushstring(L, m ? m : e->message);
    return ENG_E_IO;
  }
  lua_pushfstring(L, "%s: %s", path, e->message);
  return etl_st == ETL_ERR_NOMEM ? ENG_E_NOMEM : etl_st == ETL_ERR_ARG ? ENG_E_ARG : ENG_E_CORRUPT;
}

static int open_one(lua_State *L, freader *f, const char *path) {
  etl_error e;
  FILE *probe;
  errno = 0;
  probe = fopen(path, "rb");         /* tells "not found" from "not readable" */
  if (!probe) return open_errno(L, path, errno ? errno : ENOENT);
  fclose(probe);
  size_t len = strlen(path);
  f->path = malloc(len + 1);
  if (!f->path) return luaL_error(L, "out of memory");
  memcpy(f->path, path, len + 1);
  int st = etl_open_file(path, NULL, &f->r, &e);
  if (st != ETL_OK) return open_failed(L, path, st, &e);
  return ENG_OK;
}

int etwL_open_files(lua_State *L, int idx, etwL_source *src) {
  idx = lua_absindex(L, idx);
  int single = lua_type(L, idx) == LUA_TSTRING;
  if (!single && lua_type(L, idx) != LUA_TTABLE)
    return luaL_error(L, "etw.Consumer: 'files' must be a path or a list of paths");
  size_t n = single ? 1 : (size_t)lua_rawlen(L, idx);
  if (n == 0) return luaL_error(L, "etw.Consumer: 'files' is an empty list");
  for (size_t i = 1; !single && i <= n; i++) {
    if (lua_rawgeti(L, idx, (lua_Integer)i) != LUA_TSTRING)
      return luaL_error(L, "etw.Consumer: files[%d] must be a path (string)", (int)i);
    lua_pop(L, 1);
  }
  fsource *s = calloc(1, sizeof *s);
  if (s) {
    s->f = calloc(n, sizeof *s->f);
    s->heap = malloc(n * sizeof *s->heap);
  }
  if (!s || !s->f || !s->heap) {
    if (s) { free(s->f); free(s->heap); free(s); }
    return luaL_error(L, "out of memory");
  }
  /* the source is owned by the consumer from here on, so that a Lua error
  ** while opening (out of memory) cannot leak the readers opened so far */
  *src = (etwL_source){files_next, files_stop, files_close, s, files_corrupt_detail, files_info};
  s->n = n;
  s->last = n;
  for (size_t i = 0; i < n; i++) {
    if (single) lua_pushvalue(L, idx);
    else lua_rawgeti(L, idx, (lua_Integer)i + 1);
    int st = open_one(L, &s->f[i], lua_tostring(L, -1));
    if (st != ENG_OK) {        /* stack: ... path why */
      lua_remove(L, -2);
      return st;
    }
    lua_pop(L, 1);
  }
  return ENG_OK;
}
