/*
** ltime.c: time in scripts. etw.now() is a timestamp comparable with
** ev.timestamp; etw.sleep(seconds) waits, and a signal ends it early.
**
** ev.timestamp is a FILETIME (100 ns units since 1601-01-01 UTC) on every
** source: ETL files convert their clock to it, Windows ETW gives it, and
** the Linux engine stamps events with a monotonic clock anchored to the
** wall clock (CLOCK_REALTIME) when the session started. etw.now() reads the
** wall clock in the same unit, so for live events `etw.now() - ev.timestamp`
** is the event's age (plus any wall-clock step since the session started).
*/
#include <lua.h>
#include <lauxlib.h>

#include "lauxetw.h"
#include "lsignal.h"
#include "etl_write.h"

#define SLEEP_SLICE_MS 50   /* Windows' Sleep is not woken by a signal */
#define SLEEP_MAX_S 1e9     /* about 31 years; keeps the deadline exact in ms */

/* etw.now() -> FILETIME integer, as ev.timestamp. */
static int l_now(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)etl_filetime_now());
  return 1;
}

/* etw.sleep(seconds) -> "timeout", or "interrupted", "SIGINT" (SIGTERM,
** SIGHUP) when a signal ended it early, as s:wait reports it. */
static int l_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s <= SLEEP_MAX_S, 1, "seconds must be a number from 0 to 1e9");
  int64_t deadline = etwL_deadline_ms((int64_t)(s * 1000 + 0.5));
  int sig = 0;
  etwL_sigscope sc;
  etwL_signal_enter(&sc, NULL, NULL);
  for (;;) {
    if ((sig = etwL_signal_take()) != 0) break;
    int left = etwL_wait_ms(deadline);
    if (left == 0) break;
    etwL_sleep_ms(left > SLEEP_SLICE_MS ? SLEEP_SLICE_MS : left);
  }
  etwL_signal_leave(&sc);
  if (!sig) {
    lua_pushliteral(L, "timeout");
    return 1;
  }
  lua_pushliteral(L, "interrupted");
  lua_pushstring(L, etwL_signal_name(sig));
  return 2;
}

void etwL_open_time(lua_State *L) {   /* stack: etw */
  lua_pushcfunction(L, l_now);
  lua_setfield(L, -2, "now");
  lua_pushcfunction(L, l_sleep);
  lua_setfield(L, -2, "sleep");
}
