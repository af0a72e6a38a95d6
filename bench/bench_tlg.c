/*
** bench_tlg.c: ns/event for building + encoding the 5-field event
** (int32, int64, uint32, uint64, str8 "hello-etw") from C, and for decoding
** it. Printed, never asserted (scripts/bench).
*/
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tlg_build.h"
#include "tlg_decode.h"

#ifdef _WIN32 /* mingw's msvcrt has neither clock_gettime nor timespec_get */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
static double now_ns(void) {
  LARGE_INTEGER f, c;
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&c);
  return (double)c.QuadPart * 1e9 / (double)f.QuadPart;
}
#else
static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}
#endif

static volatile size_t sink;

static int build(tlg_builder *b, int64_t i) {
  static const tlg_desc d = {0, 0, TLG_CHANNEL_TRACELOGGING, 5, 0, 0, 1};
  tlg_build_field f = {"a", 1, 0, 0};
  int s = tlg_build_reset(b, "Bench", 5, &d, 0);
  s |= tlg_build_add_fixed(b, &f, TLG_IN_INT32, (uint64_t)(int32_t)i);
  f.name = "b";
  s |= tlg_build_add_fixed(b, &f, TLG_IN_INT64, (uint64_t)i);
  f.name = "c";
  s |= tlg_build_add_fixed(b, &f, TLG_IN_UINT32, (uint32_t)i);
  f.name = "d";
  s |= tlg_build_add_fixed(b, &f, TLG_IN_UINT64, (uint64_t)i);
  f.name = "e"; f.out_type = TLG_OUT_UTF8;
  s |= tlg_build_add_bytes(b, &f, TLG_IN_COUNTEDANSISTRING, "hello-etw", 9);
  size_t ml;
  sink += tlg_build_meta(b, &ml)[0] + ml;
  return s;
}

/* Best of `rounds` runs of `n` iterations, in ns per iteration. */
#define TIME_BEST(label, n, body) do {                              \
    double best = 1e30;                                             \
    for (int r = 0; r < 5; r++) {                                   \
      double t0 = now_ns();                                         \
      for (long i = 0; i < (n); i++) { body; }                      \
      double per = (now_ns() - t0) / (double)(n);                   \
      if (per < best) best = per;                                   \
    }                                                               \
    printf("%-44s %8.1f ns/event\n", label, best);                  \
  } while (0)

int main(void) {
  tlg_builder b;
  tlg_build_init(&b, 0, 0);
  if (build(&b, 1) != TLG_OK) { puts("build failed"); return 1; }
  const long n = 2000000;
  TIME_BEST("C: build + encode 5-field event", n, build(&b, i));

  size_t ml, dl;
  const uint8_t *meta = tlg_build_meta(&b, &ml), *data = tlg_build_data(&b, &dl);
  tlg_decoder d;
  tlg_item it;
  TIME_BEST("C: decode 5-field event (walk all items)", n, {
    tlg_decode_start(&d, meta, ml, data, dl);
    while (tlg_decode_next(&d, &it)) sink += it.value_len;
  });
  tlg_build_free(&b);
  return 0;
}
