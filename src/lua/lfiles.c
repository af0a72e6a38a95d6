/*
** lfiles.c: etw.Consumer{files=...}: checks the paths argument and turns
** what the engine's file source knows of each file (eng_source_file) into
** the tables of c:info(). Which reader opens the files is the engine's
** choice (eng_source_open_files).
*/
#include <lauxlib.h>

#include "lconsumer.h"
#include "etl.h"

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

static void push_file_info(lua_State *L, const etl_info *in, const etl_stats *st,
                           const char *path) {
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
  set_str(L, "clock", etl_clock_name(in->clock_type));
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

/* The system's reader (Windows OpenTraceW): what it put in each file's
** TRACE_LOGFILE_HEADER, under the keys the etwlua reader's table also uses. */
static void push_sys_info(lua_State *L, const eng_file_info *fi) {
  static const char *const keys[] = {"events_lost", "buffers_lost", "buffers_written",
                                     "buffer_size", "pointer_size", "num_processors",
                                     "clock_type", "log_file_mode", "max_file_size",
                                     "os_major", "os_minor", "os_build"};
  const uint32_t vals[] = {fi->events_lost, fi->buffers_lost, fi->buffers_written,
                           fi->buffer_size, fi->pointer_size, fi->num_processors, fi->clock_type,
                           fi->log_file_mode, fi->max_file_size, fi->os_major, fi->os_minor,
                           fi->os_build};
  lua_createtable(L, 0, 16);
  for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) set_int(L, keys[k], vals[k]);
  set_int(L, "start_filetime", fi->start_time);
  set_int(L, "end_filetime", fi->end_time);
  set_int(L, "perf_freq", fi->perf_freq);
  set_str(L, "reader", "etw");
}

int etwL_push_files_info(lua_State *L, eng_source *s) {
  eng_source_file f;
  lua_newtable(L);
  for (size_t i = 0; eng_source_file_at(s, i, &f) == ENG_OK; i++) {
    if (f.etl) push_file_info(L, f.etl, f.stats, f.path);
    else push_sys_info(L, &f.sys);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* ---- the files= argument ---- */

const char **etwL_check_paths(lua_State *L, int idx, size_t *np) {
  idx = lua_absindex(L, idx);
  int single = lua_type(L, idx) == LUA_TSTRING;
  if (!single && lua_type(L, idx) != LUA_TTABLE)
    luaL_error(L, "etw.Consumer: 'files' must be a path or a list of paths");
  size_t n = single ? 1 : (size_t)lua_rawlen(L, idx);
  if (n == 0) luaL_error(L, "etw.Consumer: 'files' is an empty list");
  const char **paths = lua_newuserdatauv(L, n * sizeof *paths, 0);   /* freed by the GC */
  for (size_t i = 0; i < n; i++) {
    if (!single && lua_rawgeti(L, idx, (lua_Integer)i + 1) != LUA_TSTRING)
      luaL_error(L, "etw.Consumer: files[%d] must be a path (string)", (int)i + 1);
    paths[i] = single ? lua_tostring(L, idx) : lua_tostring(L, -1);   /* kept by the list */
    if (!single) lua_pop(L, 1);
  }
  *np = n;
  return paths;
}
