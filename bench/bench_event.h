/*
** bench_event.h: what the engine benchmarks write: a monotonic clock and
** one event of 4 integers + a short string, with TraceLogging-shaped blobs
** (the engine does not parse them). Header-only, for bench_*.c.
*/
#ifndef BENCH_EVENT_H
#define BENCH_EVENT_H

#include <time.h>

#include "engine.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const uint8_t traits[] = {19, 0, 'B', 'e', 'n', 'c', 'h', '.', 'P', 'r', 'o', 'v',
                                 'i', 'd', 'e', 'r', 0, 0, 0};
static const uint8_t meta[] = {27, 0, 0, 'E', 'v', 0, 'a', 0, 7, 'b', 0, 7, 'c', 0, 7,
                               'd', 0, 7, 's', 0, 2, 0, 0, 0, 0, 0, 0};

static int write_one(eng_provider *p, const tlg_desc *d, int32_t i) {
  struct { int32_t a, b, c, d; char s[8]; } payload = {i, i + 1, i + 2, i + 3, "hello"};
  eng_data dd[3] = {{traits, sizeof traits, ENG_DATA_PROVIDER_META, {0}},
                    {meta, sizeof meta, ENG_DATA_EVENT_META, {0}},
                    {&payload, 22, ENG_DATA_PAYLOAD, {0}}};
  return eng_provider_write(p, d, NULL, NULL, 3, dd);
}

#endif
