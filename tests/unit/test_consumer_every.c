/*
** test_consumer_every.c: c:every on a file consumer follows event time. The
** test writes an ETL file with events at known timestamps (src/etl writer),
** then runs a Lua script over it in an embedded etwlua state and compares
** the exact order of timer calls and events.
*/
#include <stdio.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "etwlua_lua.h"
#include "etl_write.h"
#include "unit_check.h"

#define T0 133000000000000000LL /* 2022-06-18, a FILETIME */
#define MS 10000LL              /* FILETIME units per millisecond */

/* Events with ids 1.. at these offsets from T0 (ms). */
static const int64_t offsets_ms[] = {0, 500, 1000, 1999, 2500, 6200, 6300};
#define NEV (sizeof offsets_ms / sizeof offsets_ms[0])

static int write_file(const char *path) {
  etl_write_opts o;
  etl_writer *w = NULL;
  memset(&o, 0, sizeof o);
  o.start_time = T0;
  if (etl_writer_open_file(path, &o, &w) != ETL_OK) return 0;
  for (size_t i = 0; i < NEV; i++) {
    rec_record r;
    memset(&r, 0, sizeof r);
    r.kind = REC_KIND_EVENT;
    r.flags = REC_HEADER;
    r.provider_id.b[0] = 0x42;
    r.desc.id = (uint16_t)(i + 1);
    r.pid = 7;
    r.tid = 8;
    r.timestamp = T0 + offsets_ms[i] * MS;
    if (etl_writer_append(w, &r) != ETL_OK) return 0;
  }
  return etl_writer_close(w, 0, NULL) == ETL_OK;
}

/* The script: returns the log of calls ("T<ms after T0>" for the timer,
** "E<id>" for events), then c:run's results. */
static const char script[] =
  "local path, t0 = ...\n"
  "local etw = require 'etw'\n"
  "local c <close> = assert(etw.Consumer { files = path })\n"
  "local log = {}\n"
  "c:every(1.0, function(t) log[#log + 1] = 'T' .. (t - t0) // 10000 end)\n"
  "c:every(2.5, function(t) log[#log + 1] = 'U' .. (t - t0) // 10000 end)\n"
  "c:on(function(ev) log[#log + 1] = 'E' .. ev.id end)\n"
  "local n, why = c:run()\n"
  "return table.concat(log, ' ') .. ' | ' .. n .. ' ' .. why\n";

static void run_script(const char *path) {
  lua_State *L = luaL_newstate();
  etwlua_openlibs(L);
  int st = luaL_loadstring(L, script);
  if (st == LUA_OK) {
    lua_pushstring(L, path);
    lua_pushinteger(L, T0);
    st = lua_pcall(L, 2, 1, 0);
  }
  const char *got = lua_tostring(L, -1);
  /* E0 is the file's header record (EventTrace/Header, id 0), stamped
  ** at the session start, T0. 1 s timer from the first event (T0): 1000 before E3, 2000 before E5,
  ** then one call for the gap 2500..6200 (the latest multiple, 6000).
  ** 2.5 s timer: 2500 before E5 (after T2000: added later), then 5000. */
  const char *want = "E0 E1 E2 T1000 E3 E4 T2000 U2500 E5 T6000 U5000 E6 E7 | 8 stopped";
  check(st == LUA_OK && got && strcmp(got, want) == 0, "file timers: got [%s], want [%s]",
        got ? got : "(nil)", want);
  lua_close(L);
}

int main(void) {
  const char *path = "test_consumer_every.tmp.etl";
  int ok = write_file(path);
  check(ok, "writing %s", path);
  if (ok) run_script(path);
  remove(path);
  return unit_finish();
}
