/*
** test_tlg_dtoa.c: the fast float text (src/tlg/tlg_dtoa.c) against
** printf: for each value, the text must equal the "%.*g" at the smallest
** precision from 15 (6 for float32) to 17 that reads back to the value,
** computed here with snprintf and strtod (the rule tlg_json always had).
** Edge cases (denormals, -0, the limits of the exact powers of ten, 1e21,
** 2^53, the int64 and uint64 limits, values next to powers of ten), then
** short decimals and random bit patterns, as float64 and float32.
*/
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlg_dtoa.h"
#include "unit_check.h"

static void reference(char *out, size_t cap, double v, int f32) {
  for (int prec = f32 ? 6 : 15; prec <= 17; prec++) {
    snprintf(out, cap, "%.*g", prec, v);
    double back = strtod(out, NULL);
    if (f32 ? (float)back == (float)v : back == v) break;
  }
}

/* A sweep compares many values; it counts as one case (so the totals of
** scripts/test stay cases, not values), and its first differences print. */
static long sweep_n, sweep_bad;

static void same_as_printf(double v, int f32) {
  char want[64], got[TLG_DTOA_SIZE];
  if (f32) v = (float)v;
  reference(want, sizeof want, v, f32);
  size_t n = tlg_dtoa(got, v, f32);
  sweep_n++;
  if (n == strlen(got) && strcmp(got, want) == 0) return;
  if (sweep_bad++ < 20) printf("differs: %a (f32=%d): got [%s], want [%s]\n", v, f32, got, want);
}

static void sweep_done(const char *what) {
  check(sweep_n > 0 && sweep_bad == 0, "%s: %ld values print as printf's shortest %%g (%ld differ)",
        what, sweep_n, sweep_bad);
  sweep_n = sweep_bad = 0;
}

static void both(double v) {
  same_as_printf(v, 0);
  same_as_printf(-v, 0);
  same_as_printf(v, 1);
  same_as_printf(-v, 1);
}

static void test_edges(void) {
  static const double edge[] = {
    0.0, 1.0, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 0.5, 1.5, 123.456, 1e-4, 1e-5, 9.99e-5,
    1e-7, 1e-8, 1e-9, 1.5e-8, 1e14, 1e15, 1e16, 1e17, 1e21, 1e22, 1e23, 1e36, 1e37, 1e38,
    1e100, 1e300, 1e308, DBL_MAX, DBL_MIN, DBL_MIN / 2, DBL_TRUE_MIN, 5e-324, 2.2250738585072009e-308,
    FLT_MAX, FLT_MIN, FLT_MIN / 2, 1.401298464324817e-45, 9007199254740992.0, 9007199254740993.0,
    9007199254740991.0, 4503599627370496.5, 9223372036854775808.0, -9223372036854775808.0,
    18446744073709551615.0, 18446744073709551616.0, 999999999999999.0, 999999999999999.9,
    99999999999999.99, 0.999999999999999, 0.9999999999999999, 9.999999999999999e22,
    123456789012345.6, 12345678901234.56, 0.30000000000000004, 1e-300, 4.35, 0.0009765625,
    292.9931640625, 100.0, 1000000.0, 999999.5, 9999995.0, 0.00001, 0.000123456789012345,
    1.7976931348623157e308, 3.4028234663852886e38, 16777216.0, 16777217.0, 1e6, 1e7, 123456.7};
  for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) both(edge[i]);
  sweep_done("edge values, both signs, double and float32");
  /* -0 keeps its sign, as printf prints it */
  same_as_printf(-0.0, 0);
  same_as_printf(-0.0, 1);
  sweep_done("-0");
  /* the neighbours of each power of ten, both sides */
  for (int e = -30; e <= 40; e++) {
    double p = pow(10, e);
    both(p);
    both(nextafter(p, 0));
    both(nextafter(p, INFINITY));
    both(nextafterf((float)p, 0));
    both(nextafterf((float)p, INFINITY));
  }
  sweep_done("neighbours of the powers of ten");
}

/* A generator that does not depend on the C library's rand(). */
static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

static void test_decimals(void) {
  /* short decimals (what most events carry): m / 10^k, m * 10^k */
  for (int i = 0; i < 60000; i++) {
    uint64_t r = next();
    double m = (double)(r % 1000000000000000ull >> (r >> 60));
    int k = (int)(next() % 40);
    both(m / pow(10, k));
    both(m * pow(10, k % 25));
  }
  sweep_done("short decimals m / 10^k and m * 10^k");
  for (int i = 1; i < 300000; i += 29) both(i / 1024.0);
  sweep_done("binary fractions i / 1024");
}

static void test_random_bits(void) {
  for (int i = 0; i < 100000; i++) {
    uint64_t b = next();
    double v;
    memcpy(&v, &b, 8);
    if (!isfinite(v)) continue;
    same_as_printf(v, 0);
    uint32_t fb = (uint32_t)b;
    float f;
    memcpy(&f, &fb, 4);
    if (isfinite(f)) same_as_printf(f, 1);
  }
  sweep_done("random bit patterns");
}

int main(void) {
  test_edges();
  test_decimals();
  test_random_bits();
  return unit_finish();
}
