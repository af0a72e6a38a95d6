/*
** etl_clock.c: raw trace clock -> FILETIME (UTC), FILETIME -> ISO 8601.
** Formulas: shared/spec/etl-format.md §7. No I/O.
*/
#include <stdint.h>

#include "etl.h"
#include "etl_format.h"

#define TICKS_PER_SEC 10000000LL      /* FILETIME ticks (100 ns) per second */
#define TICKS_PER_DAY 864000000000LL
#define DAYS_1601_TO_1970 134774LL

const char *etl_clock_name(uint32_t type) {
  switch (type) {
  case ETL_CLOCK_QPC: return "QPC";
  case ETL_CLOCK_SYSTEM: return "system time";
  case ETL_CLOCK_CPU_CYCLE: return "CPU cycles";
  default: return "unknown";
  }
}

void etl_clock_init(etl_clock *c, const etl_info *info) {
  c->type = info->clock_type;
  c->start_time = info->start_time;
  c->t0 = info->header_timestamp;
  c->freq = info->perf_freq > 0 ? info->perf_freq : TICKS_PER_SEC;
  c->cpu_mhz = info->cpu_speed_mhz;
  if (c->type == ETL_CLOCK_CPU_CYCLE && c->cpu_mhz == 0) c->type = ETL_CLOCK_QPC;
}

static int64_t sat_add(int64_t a, int64_t b) {
#if defined(__GNUC__)
  int64_t s;
  if (!__builtin_add_overflow(a, b, &s)) return s;   /* the common case in one test */
#endif
  if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
  if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
  return a + b;
}

static int64_t sat_sub(int64_t a, int64_t b) {
#if defined(__GNUC__)
  int64_t s;
  if (!__builtin_sub_overflow(a, b, &s)) return s;
#endif
  if (b < 0 && a > INT64_MAX + b) return INT64_MAX;
  if (b > 0 && a < INT64_MIN + b) return INT64_MIN;
  return a - b;
}

static int64_t sat_mul(int64_t a, int64_t b) { /* b > 0 */
  if (a > INT64_MAX / b) return INT64_MAX;
  if (a < INT64_MIN / b) return INT64_MIN;
  return a * b;
}

/* floor(a * b / d) for a < d, all unsigned, without a 128-bit type:
** a*b as two 64-bit halves, then restoring binary long division. */
static uint64_t muldiv_small(uint64_t a, uint64_t b, uint64_t d) {
  uint64_t al = a & 0xFFFFFFFFu, ah = a >> 32, bl = b & 0xFFFFFFFFu, bh = b >> 32;
  uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
  uint64_t lo = (mid << 32) | (ll & 0xFFFFFFFFu);
  uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
  uint64_t q = 0, rem = hi % d; /* a < d, so the quotient fits 64 bits */
  for (int i = 63; i >= 0; i--) {
    int carry = (rem >> 63) != 0;
    rem = rem << 1 | ((lo >> i) & 1);
    if (carry || rem >= d) { rem -= d; q |= (uint64_t)1 << i; }
  }
  return q;
}

/* delta * mul / div truncated toward zero, saturating (div > 0, mul > 0). */
static int64_t scale(int64_t delta, int64_t mul, int64_t div) {
  if (mul == div) return delta;  /* 10 MHz QPC: every recent Windows */
  int64_t q = delta / div, r = delta % div, frac;
  uint64_t ur = r < 0 ? (uint64_t)0 - (uint64_t)r : (uint64_t)r;
  if (ur <= (uint64_t)INT64_MAX / (uint64_t)mul)
    frac = (int64_t)(ur * (uint64_t)mul / (uint64_t)div);
  else
    frac = (int64_t)muldiv_small(ur, (uint64_t)mul, (uint64_t)div);
  if (r < 0) frac = -frac;
  return sat_add(sat_mul(q, mul), frac);
}

int64_t etl_clock_to_filetime(const etl_clock *c, int64_t raw) {
  int64_t delta = sat_sub(raw, c->t0);
  switch (c->type) {
  case ETL_CLOCK_SYSTEM:
    return raw;
  case ETL_CLOCK_CPU_CYCLE:
    return sat_add(c->start_time, scale(delta, 10, c->cpu_mhz));
  default:
    return sat_add(c->start_time, scale(delta, TICKS_PER_SEC, c->freq));
  }
}

/* Days since 1970-01-01 -> proleptic Gregorian date (H. Hinnant's
** days_from_civil inverse, valid for the whole int64 day range we feed). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Write `v` with at least `width` digits; returns the new end. */
static char *put_num(char *p, uint64_t v, int width) {
  char tmp[24];
  int n = 0;
  do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n < width) tmp[n++] = '0';
  while (n) *p++ = tmp[--n];
  return p;
}

size_t etl_filetime_to_iso(int64_t filetime, char out[ETL_ISO_SIZE]) {
  int64_t days = filetime / TICKS_PER_DAY, rem = filetime % TICKS_PER_DAY;
  if (rem < 0) { rem += TICKS_PER_DAY; days--; }
  int64_t year;
  unsigned mon, day;
  civil_from_days(days - DAYS_1601_TO_1970, &year, &mon, &day);
  uint64_t secs = (uint64_t)rem / TICKS_PER_SEC, frac = (uint64_t)rem % TICKS_PER_SEC;
  char *p = out;
  if (year < 0) *p++ = '-';
  else if (year > 9999) *p++ = '+';
  p = put_num(p, year < 0 ? (uint64_t)0 - (uint64_t)year : (uint64_t)year, 4);
  *p++ = '-'; p = put_num(p, mon, 2);
  *p++ = '-'; p = put_num(p, day, 2);
  *p++ = 'T'; p = put_num(p, secs / 3600, 2);
  *p++ = ':'; p = put_num(p, secs / 60 % 60, 2);
  *p++ = ':'; p = put_num(p, secs % 60, 2);
  *p++ = '.'; p = put_num(p, frac, 7);
  *p++ = 'Z';
  *p = '\0';
  return (size_t)(p - out);
}
