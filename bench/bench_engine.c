/*
** bench_engine.c: engine.h costs on this machine (scripts/bench runs it).
** Prints ns/event for the disabled check and the enabled write (4 integers
** + a short string), events/s for a raw drain, and the loss at a sustained
** 1M events/s with default buffers. Uses a private runtime directory.
*/
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "bench_event.h"

static const tlg_guid prov_id = {{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                  0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01}};

static void bench_disabled(eng_provider *p) {
  const long n = 500000000L;
  unsigned hits = 0;
  double t0 = now_s();
  for (long i = 0; i < n; i++) hits += (unsigned)eng_enabled(p, 5, 0x10);
  double t = now_s() - t0;
  printf("disabled check (C):   %.3f ns/check   (%u enabled)\n", t / (double)n * 1e9, hits);
}

typedef struct drain_arg {
  const char *name;
  _Atomic int go;
  _Atomic long events, lost;
  eng_consumer *c;
} drain_arg;

static void *drain_thread(void *arg) {
  drain_arg *a = arg;
  rec_record rec;
  long ev = 0, lost = 0;
  for (;;) {
    int st = eng_consumer_next(a->c, &rec, 1000);
    if (st == ENG_OK) {
      if (rec.kind == REC_KIND_EVENT) ev++;
      else if (rec.kind == REC_KIND_LOST) lost += (long)rec.lost;
    } else if (st != ENG_E_TIMEOUT) {
      break;
    }
  }
  atomic_store(&a->events, ev);
  atomic_store(&a->lost, lost);
  return NULL;
}

static eng_session *start(const char *name, uint32_t buffer_kb, uint32_t min_buffers) {
  eng_session_opts o = {0};
  o.buffer_kb = buffer_kb;
  o.min_buffers = min_buffers;
  eng_session *s;
  int st = eng_session_start(name, &o, &s);
  if (st != ENG_OK) { fprintf(stderr, "start: %s\n", eng_strerror(st)); exit(1); }
  eng_session_enable(s, &prov_id, 5, ~0ull, 0);
  return s;
}

/* The producer's own cost: rounds of 10000 events into a default 2 MB ring,
** drained between rounds (not timed). */
static void bench_write(eng_provider *p, const char *name) {
  eng_session *s = start(name, 64, 32);
  eng_consumer *c;
  eng_consumer_open(name, &c);
  tlg_desc d = {.level = 4, .keyword = 0x10, .channel = 11};
  rec_record rec;
  double best = 1e9;
  long dropped = 0;
  for (int round = 0; round < 300; round++) {
    double t0 = now_s();
    for (int i = 0; i < 10000; i++) dropped += write_one(p, &d, i) != ENG_OK;
    double t = (now_s() - t0) / 10000 * 1e9;
    if (round > 2 && t < best) best = t;
    while (eng_consumer_next(c, &rec, 0) == ENG_OK) {}
  }
  printf("enabled write (C):    %.1f ns/event   (4 x int32 + string, incl. building it; best round; %ld dropped)\n",
         best, dropped);
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
}

/* Writes with a consumer thread draining concurrently on another core. */
static void bench_write_live(eng_provider *p, const char *name) {
  eng_session *s = start(name, 64, 256);
  drain_arg a = {.name = name};
  eng_consumer_open(name, &a.c);
  pthread_t th;
  pthread_create(&th, NULL, drain_thread, &a);
  tlg_desc d = {.level = 4, .keyword = 0x10, .channel = 11};
  const long n = 20000000L;
  long dropped = 0;
  double t0 = now_s();
  for (long i = 0; i < n; i++) dropped += write_one(p, &d, (int32_t)i) != ENG_OK;
  double t = now_s() - t0;
  eng_session_stop(s);
  pthread_join(th, NULL);
  printf("write, live consumer: %.1f ns/event   (%ld dropped of %ld, consumer got %ld)\n",
         t / (double)n * 1e9, dropped, n, atomic_load(&a.events));
  eng_consumer_close(a.c);
  eng_session_close(s);
}

/* Steady state: fill a default-sized ring (2 MB) without reading, then time
** the drain alone; repeat. */
static void bench_drain(eng_provider *p, const char *name) {
  eng_session *s = start(name, 64, 32);
  eng_consumer *c;
  eng_consumer_open(name, &c);
  tlg_desc d = {.level = 4, .keyword = 0x10, .channel = 11};
  rec_record rec;
  long got = 0;
  double t = 0;
  for (int round = 0; round < 200; round++) {
    long n = 0;
    while (write_one(p, &d, (int32_t)n) == ENG_OK) n++;
    double t0 = now_s();
    while (eng_consumer_next(c, &rec, 0) == ENG_OK) got += rec.kind == REC_KIND_EVENT;
    t += now_s() - t0;
  }
  printf("consumer drain (raw): %.1f M events/s  (%ld events, 2 MB ring refilled 200 times)\n",
         (double)got / t / 1e6, got);
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
}

/* 1M events/s for 2 s, paced in 1 ms steps, default buffers. */
static void bench_sustained(eng_provider *p, const char *name) {
  eng_session *s;
  eng_session_start(name, NULL, &s);
  eng_session_enable(s, &prov_id, 5, ~0ull, 0);
  drain_arg a = {.name = name};
  eng_consumer_open(name, &a.c);
  pthread_t th;
  pthread_create(&th, NULL, drain_thread, &a);
  tlg_desc d = {.level = 4, .keyword = 0x10, .channel = 11};
  long n = 0, dropped = 0;
  double t0 = now_s();
  for (int ms = 1; ms <= 2000; ms++) {
    while (n < ms * 1000L) dropped += write_one(p, &d, (int32_t)n++) != ENG_OK;
    while (now_s() - t0 < ms * 1e-3) {}
  }
  eng_session_stats st;
  eng_session_query(s, &st);
  eng_session_stop(s);
  pthread_join(th, NULL);
  printf("sustained 1M ev/s:    %ld written, %ld dropped, stats lost %llu, consumer got %ld\n",
         n, dropped, (unsigned long long)st.lost, atomic_load(&a.events));
  eng_consumer_close(a.c);
  eng_session_close(s);
}

int main(int argc, char **argv) {
  const char *only = argc > 1 ? argv[1] : "";   /* disabled|write|live|drain|sustained */
  char dir[] = "/dev/shm/etwlua-bench-XXXXXX";
  if (!mkdtemp(dir)) { strcpy(dir, "/tmp/etwlua-bench-XXXXXX"); if (!mkdtemp(dir)) return 1; }
  setenv("ETWLUA_RUNTIME_DIR", dir, 1);
  eng_provider *p;
  int st = eng_provider_register(&prov_id, traits, sizeof traits, &p);
  if (st != ENG_OK) { fprintf(stderr, "register: %s\n", eng_strerror(st)); return 1; }
  if (!*only || !strcmp(only, "disabled")) bench_disabled(p);
  if (!*only || !strcmp(only, "write")) bench_write(p, "bench-write");
  if (!*only || !strcmp(only, "live")) bench_write_live(p, "bench-live");
  if (!*only || !strcmp(only, "drain")) bench_drain(p, "bench-drain");
  if (!*only || !strcmp(only, "sustained")) bench_sustained(p, "bench-sustained");
  eng_provider_unregister(p);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) return 1;
  return 0;
}
