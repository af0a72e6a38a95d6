/*
** win_time.c: FILETIME and raw session-clock conversions (spec windows-etw
** §4.4, WNODE_HEADER remarks). Pure: compiled and tested on every platform.
*/
#include "winp.h"

/* -------------------------------------------------------------- time */

int64_t winp_filetime_to_unix_ns(int64_t ft) { return (ft - WINP_FILETIME_UNIX_EPOCH) * 100; }

int64_t winp_unix_ns_to_filetime(int64_t ns) {
  /* floor division so times before 1970 round down like the forward map */
  int64_t q = ns / 100;
  if (ns % 100 < 0) q--;
  return q + WINP_FILETIME_UNIX_EPOCH;
}

/* a * num / den without overflowing for realistic stamps (128-bit-free) */
static int64_t muldiv(int64_t a, int64_t num, int64_t den) {
  int64_t q = a / den, r = a % den;
  return q * num + r * num / den;
}

int64_t winp_raw_to_filetime(const winp_clock *c, int64_t raw, int64_t fallback_freq) {
  int64_t d = raw - c->first_raw;
  switch (c->clock_type) {
    case 2: return c->start_ft + d;                          /* system time: scale 1 */
    case 3: {
      int64_t mhz = c->cpu_mhz ? c->cpu_mhz : (fallback_freq ? fallback_freq / 1000000 : 0);
      if (mhz <= 0) return c->start_ft;
      return c->start_ft + muldiv(d, 10, mhz);             /* 10 / CpuSpeedInMHz */
    }
    case 0:
    case 1:
    default: {
      int64_t f = c->perf_freq ? c->perf_freq : fallback_freq;
      if (f <= 0) return c->start_ft;
      return c->start_ft + muldiv(d, 10000000, f);         /* 1e7 / PerfFreq */
    }
  }
}
