/*
** lfiles.c: etw.Consumer{files=...} with etwlua's own reader: checks the
** paths, wraps engine/eng_files (the time-merged src/etl readers) as the
** consumer's record source, and makes c:info() of the file headers.
*/
#include <stdlib.h>

#include <lauxlib.h>

#include "lconsumer.h"
#include "../engine/eng_files.h"

/* ---- the source ---- */

static int files_next(void *ctx, rec_record *rec, int timeout_ms) {
  (void)timeout_ms;
  return eng_files_next(ctx, rec);
}
static void files_stop(void *ctx) { eng_files_stop(ctx); }
static void files_close(void *ctx) { eng_files_close(ctx); }
static const char *files_corrupt_detail(void *ctx, const char **file, uint64_t *offset) {
  return eng_files_corrupt_detail(ctx, file, offset);
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

static void push_file_info(lua_State *L, const etl_reader *r, const char *path) {
  const etl_info *in = etl_get_info(r);
  const etl_stats *st = etl_get_stats(r);
  lua_createtable(L, 0, 40);
  set_str(L, "path", path);
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
  size_t n = eng_files_count(ctx);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    const char *path;
    const etl_reader *r = eng_files_reader(ctx, i, &path);
    push_file_info(L, r, path);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* ---- open ---- */

int etwL_open_files(lua_State *L, int idx, etwL_source *src) {
  idx = lua_absindex(L, idx);
  int single = lua_type(L, idx) == LUA_TSTRING;
  if (!single && lua_type(L, idx) != LUA_TTABLE)
    return luaL_error(L, "etw.Consumer: 'files' must be a path or a list of paths");
  size_t n = single ? 1 : (size_t)lua_rawlen(L, idx);
  if (n == 0) return luaL_error(L, "etw.Consumer: 'files' is an empty list");
  const char **paths = lua_newuserdatauv(L, n * sizeof *paths, 0);   /* freed by the GC */
  for (size_t i = 0; i < n; i++) {
    if (!single && lua_rawgeti(L, idx, (lua_Integer)i + 1) != LUA_TSTRING)
      return luaL_error(L, "etw.Consumer: files[%d] must be a path (string)", (int)i + 1);
    paths[i] = single ? lua_tostring(L, idx) : lua_tostring(L, -1);   /* kept by the list */
    if (!single) lua_pop(L, 1);
  }
  char why[600];
  eng_files *f = NULL;
  int st = eng_files_open(paths, n, &f, why, sizeof why);
  lua_pop(L, 1);
  if (st != ENG_OK) {
    lua_pushstring(L, why);
    return st;
  }
  *src = (etwL_source){files_next, files_stop, files_close, f, files_corrupt_detail, files_info};
  return ENG_OK;
}
