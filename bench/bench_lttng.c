/*
** bench_lttng.c: the anchor of issue 13, an LTTng-UST tracepoint with the
** 5-field shape of bench_api.lua / bench_capi.c (int32, int64, uint32,
** uint64, "hello-etw"), written from C into a session that records to a
** file. bench/lttng_anchor.sh makes the session (lttng create /
** enable-event / start) before running this and removes it after.
** Rounds of 10000 events with a pause between them so the consumer daemon
** drains the buffers (LTTng's default channel discards when full, and a
** discarded event would look cheaper); the best round counts, as in
** bench_capi.c. Printed, never asserted. Last line: "anchor_ns N" for the
** script. Exit 2 when the tracepoint never got enabled.
*/
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>

#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "bench_lttng_tp.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void pause_ms(long ms) {
  struct timespec z = {0, ms * 1000000L};
  nanosleep(&z, NULL);
}

int main(void) {
  /* the session daemon enables the tracepoint shortly after registration */
  double t0 = now_s();
  while (!lttng_ust_tracepoint_enabled(etwlua_bench, ev) && now_s() - t0 < 10) pause_ms(10);
  if (!lttng_ust_tracepoint_enabled(etwlua_bench, ev)) {
    printf("LTTng-UST tracepoint etwlua_bench:ev: not enabled after 10 s (no session daemon?)\n");
    return 2;
  }
  double best = 1e9;
  for (int round = 0; round < 100; round++) {
    double r0 = now_s();
    for (int i = 0; i < 10000; i++)
      lttng_ust_tracepoint(etwlua_bench, ev, i, (int64_t)i, (uint32_t)i, (uint64_t)i, "hello-etw");
    double ns = (now_s() - r0) / 10000 * 1e9;
    if (round > 2 && ns < best) best = ns;
    pause_ms(20);
  }
  printf("LTTng-UST tracepoint from C, 5 fields, session to a file: %.1f ns/event\n", best);
  printf("anchor_ns %.1f\n", best);
  return 0;
}
