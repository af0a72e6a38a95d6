/*
** tlg_dtoa.c: float text for the JSON writer (see tlg_dtoa.h).
**
** Why the fast path prints what "%.Pg" prints (P = 15, or 6 for float32):
** a double is within 2^-53 of its value relative to it (a float32: 2^-24,
** plus 2^-53 for the strtod step), far less than half a step of the P-digit
** grid (at least 10^-P / 2 relative). So when some decimal D of at most P
** significant digits reads back to v, D is the grid point nearest v: the
** one printf rounds v to. The fast path scales v by a power of ten that is
** exact (10^0..10^22) to a P-digit integer m, rounds it, and checks that
** m / 10^s (one correctly rounded IEEE operation on exact operands, which
** is what strtod gives for the text of D) is v again. If it is, the text is
** m's digits laid out as %g lays them out; if not, no P-digit text reads
** back to v and the precisions above P go through snprintf as before.
*/
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlg_dtoa.h"

static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* 1 if text that reads as `back` reads back to v (at float32 precision). */
static int same(double back, double v, int f32) {
  return f32 ? (float)back == (float)v : back == v;
}

/* The slow way: snprintf at each precision from `prec` up to 17. */
static size_t by_printf(char *out, double v, int f32, int prec) {
  int n = 0;
  for (; prec <= 17; prec++) {
    n = snprintf(out, TLG_DTOA_SIZE, "%.*g", prec, v);
    if (same(strtod(out, NULL), v, f32)) break;
  }
  for (char *c = out; *c; c++)
    if (*c == ',') *c = '.'; /* a locale's decimal comma */
  return n > 0 ? (size_t)n : 0;
}

static const char pairs[201] =
  "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
  "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
  "8081828384858687888990919293949596979899";

/* v < 10^8 as exactly 8 digits at d: 32-bit divisions by constants, two
** digits a step. */
static void put8(char *d, uint32_t v) {
  uint32_t a = v / 10000, b = v % 10000;
  memcpy(d, pairs + 2 * (a / 100), 2);
  memcpy(d + 2, pairs + 2 * (a % 100), 2);
  memcpy(d + 4, pairs + 2 * (b / 100), 2);
  memcpy(d + 6, pairs + 2 * (b % 100), 2);
}

/* m (10^(prec-1) <= m < 10^prec, prec <= 16) as its prec digits, without
** the trailing zeros, in buf; returns where they start and, in *k, how
** many are left. Two blocks of 8 digits, zero-padded in front; 16 more
** bytes after them, so that layout copies blocks of a fixed size. */
static const char *digits(char buf[32], uint64_t m, int prec, int *k) {
  put8(buf, (uint32_t)(m / 100000000));
  put8(buf + 8, (uint32_t)(m % 100000000));
  memset(buf + 16, '0', 16);
  const char *d = buf + 16 - prec;
  int n = prec;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  /* the trailing '0's of each 8-digit block: its last digit is the word's
  ** top byte, so they are the word's leading zero bytes once '0' is 0 */
  uint64_t lo, hi;
  memcpy(&lo, buf + 8, 8);
  lo ^= 0x3030303030303030ull;
  if (lo) {
    n -= __builtin_clzll(lo) >> 3;
  } else {
    memcpy(&hi, buf, 8);
    hi ^= 0x3030303030303030ull; /* not 0: d[0] is not '0' */
    n -= 8 + (__builtin_clzll(hi) >> 3);
  }
#else
  while (d[n - 1] == '0') n--; /* d[0] is not '0' */
#endif
  *k = n;
  return d;
}

/* "%.Pg" of the value m * 10^(x - prec + 1), x its decimal exponent; after
** the sign (p at most out + 1). Digits go as blocks of 16 bytes and the
** end moves by what counts: the bytes past it are scratch, within the
** TLG_DTOA_SIZE of out (nothing at or past out + 32 is written). */
static char *layout(char *p, uint64_t m, int x, int prec) {
  char buf[32];
  int k;
  const char *d = digits(buf, m, prec, &k);
  if (x < -4 || x >= prec) {
    *p++ = d[0];
    if (k > 1) {
      *p++ = '.';
      memcpy(p, d + 1, 16);
      p += k - 1;
    }
    *p++ = 'e';
    *p++ = x < 0 ? '-' : '+';
    unsigned e = (unsigned)(x < 0 ? -x : x);
    if (e >= 100) *p++ = (char)('0' + e / 100);
    *p++ = (char)('0' + e / 10 % 10);
    *p++ = (char)('0' + e % 10);
  } else if (x >= 0) {
    memcpy(p, d, 16);
    if (k <= x + 1) { /* a whole number: its digits, then zeros */
      memset(p + k, '0', 16);
      p += x + 1;
    } else {
      p += x + 1;
      *p++ = '.';
      memcpy(p, d + x + 1, 16);
      p += k - x - 1;
    }
  } else {
    memcpy(p, "0.000", 5); /* x >= -4: at most three zeros after the point */
    p += 2 + (-x - 1);
    memcpy(p, d, 16);
    p += k;
  }
  return p;
}

/* The fast path for a = |v| > 0 finite: the text after the sign at p, its
** end in *end; 1 done, 0 when no text of `prec` digits reads back to v,
** -1 when a is beyond the range of exact powers of ten. */
static int fast(char *p, char **end, double a, double v, int f32, int prec) {
  uint64_t bits;
  memcpy(&bits, &a, 8);
  /* a in [2^e, 2^(e+1)) (e of a denormal: less, which the loop corrects):
  ** log10(a) is in [e*L, (e+1)*L), L = log10(2) ~ 78913 / 2^18 */
  int e = (int)(bits >> 52) - 1023;
  int x = (e * 78913 >> 18) + 1; /* an arithmetic shift: floor */
  static const uint64_t i10[17] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                   100000000, 1000000000, 10000000000, 100000000000,
                                   1000000000000, 10000000000000, 100000000000000,
                                   1000000000000000, 10000000000000000};
  uint64_t lo = i10[prec - 1], hi = i10[prec];
  for (int tries = 0; tries < 3; tries++) {
    int s = prec - 1 - x;
    if (s > 22 || s < -22) return -1;
    double t = s >= 0 ? a * p10[s] : a / p10[-s];
    uint64_t m = (uint64_t)(t + 0.5); /* exact: t < 2^50 */
    if (m >= hi) { x++; continue; }
    if (m < lo) { x--; continue; }
    double back = s >= 0 ? (double)m / p10[s] : (double)m * p10[-s];
    if (!same(v < 0 ? -back : back, v, f32)) return 0;
    *end = layout(p, m, x, prec);
    return 1;
  }
  return -1; /* not reached: x is off by at most one */
}

size_t tlg_dtoa(char out[TLG_DTOA_SIZE], double v, int f32) {
  int prec = f32 ? 6 : 15;
  double a = fabs(v);
#if FLT_EVAL_METHOD == 0 /* the checks need operations rounded to double */
  if (isfinite(v) && a != 0) {
    char *p = out, *end = NULL;
    if (v < 0) *p++ = '-';
    int st = fast(p, &end, a, v, f32, prec);
    if (st > 0) {
      *end = 0;
      return (size_t)(end - out);
    }
    if (st == 0) return by_printf(out, v, f32, prec + 1);
  }
#endif
  return by_printf(out, v, f32, prec);
}
