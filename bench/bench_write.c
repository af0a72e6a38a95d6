/*
** bench_write.c: the ETL writer and file sessions on this machine (scripts/bench
** runs it). Prints ns/event of etl_writer_append alone (memory sink, then a
** real file), the highest event rate a file session sustains with 0 loss
** (one producer thread, paced in 1 ms steps, default buffers), and the
** drain throughput of a file session (a burst into big rings, until the
** file is closed). Uses a private runtime directory and a temporary file.
*/
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "bench_event.h"
#include "etl_write.h"

static const tlg_guid prov_id = {{0x21, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                  0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x02}};

/* ------------------------------------------------------ writer alone */

static int null_open(void *c, uint32_t i, char *n, size_t cap) { (void)c; (void)i; (void)n; (void)cap; return 0; }
static int null_write(void *c, uint64_t o, const void *p, size_t n) { (void)c; (void)o; (void)p; (void)n; return 0; }

static void bench_writer(const char *file) {
  struct { int32_t a, b, c, d; char s[8]; } payload = {1, 2, 3, 4, "hello"};
  rec_record rec;
  memset(&rec, 0, sizeof rec);
  rec.provider_id = prov_id;
  rec.desc.level = 4;
  rec.desc.channel = 11;
  rec.flags = REC_HEADER | REC_TRACELOGGING;
  rec.pid = rec.tid = 1234;
  rec.traits = traits;
  rec.traits_len = sizeof traits;
  rec.meta = meta;
  rec.meta_len = sizeof meta;
  rec.data = (const uint8_t *)&payload;
  rec.data_len = 22;
  const long n = 5000000;
  for (int pass = 0; pass < 2; pass++) {
    etl_write_opts o = {0};
    etl_writer *w;
    etl_sink sink = {NULL, null_open, null_write, NULL, NULL, NULL};
    int st = pass == 0 ? etl_writer_open(&sink, &o, &w) : etl_writer_open_file(file, &o, &w);
    if (st != ETL_OK) { printf("writer open failed (%d)\n", st); return; }
    int64_t t0ft = etl_filetime_now();
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
      rec.timestamp = t0ft + i;
      rec.cpu = (uint32_t)(i >> 10) & 3;
      etl_writer_append(w, &rec);
    }
    etl_write_stats ws;
    etl_writer_close(w, 0, &ws);
    double t = now_s() - t0;
    printf("etl_writer_append (%s): %.1f ns/event, %.1f M events/s, %.0f MB/s (%llu bytes)\n",
           pass == 0 ? "no I/O" : "file", t / (double)n * 1e9, (double)n / t / 1e6,
           (double)ws.bytes / t / 1e6, (unsigned long long)ws.bytes);
  }
  remove(file);
}

/* ---------------------------------------------------- file sessions */

static eng_session *start_file(const char *name, const char *file, uint32_t min_buffers) {
  eng_session_opts o = {0};
  o.mode = ENG_MODE_FILE;
  o.file = file;
  o.min_buffers = min_buffers;
  eng_session *s;
  int st = eng_session_start(name, &o, &s);
  if (st != ENG_OK) { fprintf(stderr, "start: %s\n", eng_strerror(st)); exit(1); }
  eng_session_enable(s, &prov_id, 5, ~0ull, 0);
  return s;
}

/* `rate` events/s for `secs`, paced in 1 ms steps; returns events lost. */
static uint64_t run_rate(eng_provider *p, const char *file, uint32_t min_buffers, double rate,
                         double secs, uint64_t *written) {
  eng_session *s = start_file("bench-write-rate", file, min_buffers);
  tlg_desc d = {.level = 4, .keyword = 0x10, .channel = 11};
  long n = 0;
  double t0 = now_s();
  int steps = (int)(secs * 1000);
  for (int ms = 1; ms <= steps; ms++) {
    long target = (long)(rate * ms / 1000.0);
    while (n < target) write_one(p, &d, (int32_t)n++);
    while (now_s() - t0 < ms * 1e-3) {}
  }
  eng_session_stop(s);
  eng_session_stats st;
  eng_session_query(s, &st);
  eng_session_close(s);
  *written = st.written;
  return st.lost;
}

/* The highest rate of a ladder a file session takes for 2 s with 0 loss. */
static void bench_sustained(eng_provider *p, const char *file, uint32_t min_buffers) {
  static const double rates[] = {0.5e6, 1e6, 1.5e6, 2e6, 2.5e6, 3e6, 4e6, 5e6, 6e6, 8e6};
  double best = 0;
  for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
    uint64_t written;
    uint64_t lost = run_rate(p, file, min_buffers, rates[i], 2.0, &written);
    printf("  %4.1f M events/s for 2 s: %llu written, %llu lost\n", rates[i] / 1e6,
           (unsigned long long)written, (unsigned long long)lost);
    if (lost) break;
    best = rates[i];
  }
  printf("file session, sustained with 0 loss (1 producer, %u MB ring): %.1f M events/s "
         "(%.0f MB/s of ETL)\n", min_buffers * 64 / 1024, best / 1e6, best * 176 / 1e6);
  remove(file);
}

/* A burst of events into 64 MB rings as fast as the producer can, then
** stop: the writer's drain + write throughput end to end. */
static void bench_burst(eng_provider *p, const char *file) {
  eng_session *s = start_file("bench-write-burst", file, 1024);
  tlg_desc d = {.level = 4, .keyword = 0x10, .channel = 11};
  const long n = 300000;                     /* ~50 MB: fits the 64 MB ring */
  long dropped = 0;
  double t0 = now_s();
  for (long i = 0; i < n; i++) dropped += write_one(p, &d, (int32_t)i) != ENG_OK;
  double tw = now_s() - t0;
  eng_session_stop(s);
  double t = now_s() - t0;
  eng_session_stats st;
  eng_session_query(s, &st);
  eng_session_close(s);
  printf("file session burst: %ld events written in %.0f ms (%.1f M/s), in the file after %.0f ms: "
         "%.1f M events/s end to end, %.0f MB/s (%ld refused by the ring, %llu lost)\n",
         n, tw * 1e3, (double)n / tw / 1e6, t * 1e3, (double)st.written / t / 1e6,
         (double)st.file_bytes / t / 1e6, dropped, (unsigned long long)st.lost);
  remove(file);
}

int main(int argc, char **argv) {
  const char *only = argc > 1 ? argv[1] : "";   /* writer|sustained|burst */
  char dir[] = "/dev/shm/etwlua-bench-XXXXXX";
  if (!mkdtemp(dir)) { strcpy(dir, "/tmp/etwlua-bench-XXXXXX"); if (!mkdtemp(dir)) return 1; }
  setenv("ETWLUA_RUNTIME_DIR", dir, 1);
  char file[256];
  const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(file, sizeof file, "%s/etwlua-bench-%d.etl", tmpdir, (int)getpid());
  printf("(ETL file in %s)\n", tmpdir);
  if (!*only || !strcmp(only, "writer")) bench_writer(file);
  eng_provider *p;
  int st = eng_provider_register(&prov_id, traits, sizeof traits, &p);
  if (st != ENG_OK) { fprintf(stderr, "register: %s\n", eng_strerror(st)); return 1; }
  if (!*only || !strcmp(only, "sustained")) {
    bench_sustained(p, file, 32);            /* default: 2 MB per producer thread */
    bench_sustained(p, file, 256);           /* 16 MB */
  }
  if (!*only || !strcmp(only, "burst")) bench_burst(p, file);
  eng_provider_unregister(p);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) return 1;
  return 0;
}
