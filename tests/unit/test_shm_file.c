/*
** test_shm_file.c: file modes of the shm engine. A file session's writer
** thread drains producer threads into an ETL file that reads back equal
** (every event once, in order per thread, header fields, blobs, payload);
** statistics; a real-time consumer is refused; flush from any handle makes
** the file current; a SIGKILLed owner leaves a readable file up to its last
** flush; stop from another process; rotation; circular windows; losses in
** EventsLost; a file that cannot be created.
*/
#include "shm_testutil.h"

#include <pthread.h>

#include "engine/shm/shm_layout.h"
#include "etl.h"
#include "etl_format.h"

#define THREADS 3
#define EVENTS 20000

static char path_buf[512];
static const char *tpath(const char *name) {
  snprintf(path_buf, sizeof path_buf, "%s/%s", test_dir, name);
  return path_buf;
}

static eng_session *start_file(const char *name, int mode, const char *file, uint32_t max_mb,
                               uint32_t buffer_kb, uint32_t min_buffers) {
  eng_session_opts o = {0};
  o.mode = mode;
  o.file = file;
  o.max_mb = max_mb;
  o.buffer_kb = buffer_kb;
  o.min_buffers = min_buffers;
  eng_session *s = NULL;
  int st = eng_session_start(name, &o, &s);
  CHECK(st == ENG_OK, "start %s (%s): %s", name, file, eng_strerror(st));
  if (s) eng_session_enable(s, &T_PROV, 5, 0, 0);
  return s;
}

typedef struct thread_arg {
  eng_provider *p;
  uint32_t thread;
  uint64_t events;
  int lost;
} thread_arg;

static void *producer(void *arg) {
  thread_arg *a = arg;
  t_payload pl = {0, a->thread, my_tid(), 0, 0};
  for (uint64_t i = 0; i < a->events; i++) {
    pl.counter = i;
    if (t_write(a->p, 4, 0x10, (uint16_t)(i & 0xff), &pl, NULL, NULL) == ENG_E_LOST) a->lost++;
  }
  return NULL;
}

static int run_producers(eng_provider *p, uint64_t events) {
  pthread_t th[THREADS];
  thread_arg a[THREADS];
  int lost = 0;
  for (uint32_t t = 0; t < THREADS; t++) {
    a[t] = (thread_arg){p, t, events, 0};
    pthread_create(&th[t], NULL, producer, &a[t]);
  }
  for (uint32_t t = 0; t < THREADS; t++) { pthread_join(th[t], NULL); lost += a[t].lost; }
  return lost;
}

/* What a file holds: events per thread in order, and the rest. Order is
** per thread up to timestamp ties: FILETIMEs have 100 ns steps, a thread
** writes faster, and equal times in different (per-CPU) buffers come in
** buffer order, as on Windows. */
typedef struct tally {
  uint64_t events, errors, bad, others, out_of_order, dups;
  uint64_t next[THREADS], first[THREADS], last[THREADS];
  int64_t ts[THREADS];
  int seen[THREADS];
} tally;

#define MAX_COUNTER (1u << 17)
static uint8_t got[THREADS][MAX_COUNTER];  /* counters seen by the last read_file */

static uint32_t writer_pid;      /* the process whose events read_file expects */

static void read_file(const char *file, tally *t, const etl_info **info_out, etl_reader **keep) {
  memset(t, 0, sizeof *t);
  memset(got, 0, sizeof got);
  etl_reader *r;
  etl_error e;
  if (etl_open_file(file, NULL, &r, &e) != ETL_OK) {
    t->errors++;
    printf("  open %s: %s\n", file, e.message);
    return;
  }
  rec_record rec;
  int st;
  uint32_t pid = writer_pid ? writer_pid : (uint32_t)getpid();
  while ((st = etl_next(r, &rec, &e)) != ETL_END) {
    if (st != ETL_OK) { t->errors++; if (t->errors < 4) printf("  %s\n", e.message); continue; }
    if (rec.header_kind != REC_HDR_EVENT) { t->others++; continue; }
    t_payload pl;
    if (!t_payload_of(&rec, &pl) || pl.thread >= THREADS || rec.pid != pid || rec.tid != pl.tid ||
        memcmp(&rec.provider_id, &T_PROV, 16) || rec.desc.level != 4 || rec.desc.keyword != 0x10 ||
        rec.desc.id != (pl.counter & 0xff) || rec.desc.task != 7 || rec.desc.opcode != 2 ||
        rec.desc.channel != 11 || rec.traits_len != sizeof T_TRAITS ||
        memcmp(rec.traits, T_TRAITS, sizeof T_TRAITS) || rec.meta_len != sizeof T_META ||
        memcmp(rec.meta, T_META, sizeof T_META) || !(rec.flags & REC_TRACELOGGING)) {
      t->bad++;
      continue;
    }
    uint32_t k = pl.thread;
    if (pl.counter >= MAX_COUNTER || got[k][pl.counter]++) { t->dups++; continue; }
    if (!t->seen[k]) {
      t->seen[k] = 1;
      t->first[k] = t->last[k] = pl.counter;
    } else if (pl.counter < t->next[k] && rec.timestamp != t->ts[k]) {
      t->out_of_order++;
    }
    if (pl.counter < t->first[k]) t->first[k] = pl.counter;
    if (pl.counter > t->last[k]) t->last[k] = pl.counter;
    t->next[k] = pl.counter + 1;
    t->ts[k] = rec.timestamp;
    t->events++;
  }
  if (info_out && keep) { *info_out = etl_get_info(r); *keep = r; }
  else etl_close(r);
}

static uint64_t file_size(const char *file) {
  struct stat sb;
  return stat(file, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static void test_round_trip(eng_provider *p) {
  char file[512];
  snprintf(file, sizeof file, "%s", tpath("rt.etl"));
  eng_session *s = start_file("FileRT", ENG_MODE_FILE, file, 0, 0, 256);   /* 16 MB rings */
  if (!s) return;
  CHECK(file_size(file) == 65536, "the file exists with its header buffer at start");
  eng_consumer *c = NULL;
  CHECK(eng_consumer_open("FileRT", &c) == ENG_E_BUSY, "a real-time consumer is refused (BUSY)");
  eng_session_stats st;
  int qs = eng_session_query(s, &st);
  CHECK(qs == ENG_OK && st.consumer_pid == getpid() && st.files == 1,
        "the writer is the session's consumer");
  int lost = run_producers(p, EVENTS);
  CHECK(lost == 0, "no event lost (%d)", lost);
  CHECK(eng_session_stop(s) == ENG_OK, "stop");
  qs = eng_session_query(s, &st);
  CHECK(qs == ENG_OK && st.events == THREADS * EVENTS &&
        st.written == THREADS * EVENTS && st.lost == 0 && st.files == 1 && st.file_error == 0 &&
        st.file_bytes == file_size(file) && st.providers == 1,
        "final stats: events %llu written %llu bytes %llu (file %llu)",
        (unsigned long long)st.events, (unsigned long long)st.written,
        (unsigned long long)st.file_bytes, (unsigned long long)file_size(file));
  tally t;
  const etl_info *in = NULL;
  etl_reader *r = NULL;
  read_file(file, &t, &in, &r);
  CHECK(t.errors == 0 && t.bad == 0 && t.out_of_order == 0 && t.dups == 0 && t.events == THREADS * EVENTS &&
        t.others == 1, "read back: %llu events, %llu bad, %llu errors, %llu out of order, %llu dups",
        (unsigned long long)t.events, (unsigned long long)t.bad, (unsigned long long)t.errors,
        (unsigned long long)t.out_of_order, (unsigned long long)t.dups);
  int all = 1;
  for (int k = 0; k < THREADS; k++) all &= t.seen[k] && t.first[k] == 0 && t.last[k] == EVENTS - 1;
  CHECK(all, "every thread's events, in order, none missing");
  if (r) {
    CHECK(in->end_time > in->start_time && in->buffers_written == etl_get_stats(r)->buffers &&
          in->events_lost == 0 && strcmp(in->logger_name, "FileRT") == 0 &&
          strcmp(in->log_file_name, file) == 0 && in->pointer_size == 8 && in->clock_type == 1 &&
          in->buffer_size == 65536, "the header is patched at stop (names, counts, times)");
    etl_close(r);
  }
  eng_session_close(s);
}

/* Flush from a second handle makes the file current while it runs. */
static void test_flush(eng_provider *p) {
  char file[512];
  snprintf(file, sizeof file, "%s", tpath("flush.etl"));
  eng_session *s = start_file("FileFlush", ENG_MODE_FILE, file, 0, 0, 0), *h = NULL;
  if (!s) return;
  t_payload pl = {0, 0, my_tid(), 0, 0};
  for (int i = 0; i < 10; i++) { pl.counter = (uint64_t)i; t_write(p, 4, 0x10, (uint16_t)i, &pl, NULL, NULL); }
  CHECK(eng_session_open("FileFlush", &h) == ENG_OK && eng_session_flush(h) == ENG_OK,
        "flush through another handle");
  tally t;
  read_file(file, &t, NULL, NULL);
  CHECK(t.errors == 0 && t.events == 10, "after flush the file holds the 10 events (%llu)",
        (unsigned long long)t.events);
  eng_session_stats st;
  int qs = eng_session_query(h, &st);
  CHECK(qs == ENG_OK && st.written == 10 && st.file_bytes == 2 * 65536,
        "stats from another handle: written %llu bytes %llu", (unsigned long long)st.written,
        (unsigned long long)st.file_bytes);
  /* stopped from elsewhere: the owner's writer closes the file by itself */
  CHECK(eng_session_stop_name("FileFlush") == ENG_OK, "stop by name");
  double t0 = now_s();
  etl_reader *r = NULL;
  const etl_info *in = NULL;
  while (now_s() - t0 < 5) {
    read_file(file, &t, &in, &r);
    int done = r && in->end_time != 0;
    if (r) etl_close(r);
    r = NULL;
    if (done) break;
    usleep(10000);
  }
  CHECK(now_s() - t0 < 5, "the writer closed the file after a stop from elsewhere");
  int ss = eng_session_stop(s);
  qs = eng_session_query(s, &st);
  CHECK(ss == ENG_OK && qs == ENG_OK && st.written == 10,
        "the owner's stop then returns the final stats (%llu)", (unsigned long long)st.written);
  eng_session_close(h);
  eng_session_close(s);
}

/* Closing the owner's handle stops a file session (its writer lives there). */
static void test_close_stops(eng_provider *p) {
  char file[512];
  snprintf(file, sizeof file, "%s", tpath("close.etl"));
  eng_session *s = start_file("FileClose", ENG_MODE_FILE, file, 0, 0, 0);
  if (!s) return;
  t_payload pl = {0, 1, my_tid(), 0, 0};
  t_write(p, 4, 0x10, 0, &pl, NULL, NULL);
  eng_session_close(s);
  eng_session *h = NULL;
  CHECK(eng_session_open("FileClose", &h) == ENG_E_NOTFOUND, "closing the owner handle stopped it");
  tally t;
  read_file(file, &t, NULL, NULL);
  CHECK(t.errors == 0 && t.events == 1, "and the file is complete");
}

/* The owner is SIGKILLed: the file is readable up to its last flush. */
static void test_kill(void) {
  char file[512];
  snprintf(file, sizeof file, "%s", tpath("kill.etl"));
  int fds[2];
  if (pipe(fds) != 0) { CHECK(0, "pipe"); return; }
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    alarm(30);
    eng_provider *p;
    if (eng_provider_register(&T_PROV, T_TRAITS, sizeof T_TRAITS, &p) != ENG_OK) _exit(2);
    eng_session_opts o = {.mode = ENG_MODE_FILE, .file = file, .buffer_kb = 4, .min_buffers = 512};
    eng_session *s;
    if (eng_session_start("FileKill", &o, &s) != ENG_OK) _exit(3);
    eng_session_enable(s, &T_PROV, 5, 0, 0);
    t_payload pl = {0, 0, my_tid(), 0, 0};
    for (uint64_t i = 0; i < 1000; i++) { pl.counter = i; t_write(p, 4, 0x10, (uint16_t)(i & 0xff), &pl, NULL, NULL); }
    if (eng_session_flush(s) != ENG_OK) _exit(4);
    for (uint64_t i = 1000; i < 1100; i++) { pl.counter = i; t_write(p, 4, 0x10, (uint16_t)(i & 0xff), &pl, NULL, NULL); }
    if (write(fds[1], "k", 1) != 1) _exit(5);
    for (;;) pause();
  }
  close(fds[1]);
  char ch;
  int ok = read(fds[0], &ch, 1) == 1;
  close(fds[0]);
  kill(pid, SIGKILL);
  int rc = wait_child(pid);
  CHECK(ok && rc == 128 + SIGKILL, "owner killed (%d)", rc);
  tally t;
  etl_reader *r = NULL;
  const etl_info *in = NULL;
  writer_pid = (uint32_t)pid;
  read_file(file, &t, &in, &r);
  writer_pid = 0;
  CHECK(r && t.errors == 0 && t.bad == 0 && t.out_of_order == 0 && t.dups == 0 && t.events >= 1000 &&
        t.events <= 1100 && t.first[0] == 0 && t.last[0] + 1 == t.events,
        "readable up to the last flush: events 0..%llu in order, %llu errors, %llu bad",
        (unsigned long long)t.last[0], (unsigned long long)t.errors, (unsigned long long)t.bad);
  if (r) {
    /* full buffers written after the last flush are in the file, not yet in its header */
    CHECK(in->end_time > in->start_time && in->buffers_written > 1 &&
          in->buffers_written <= etl_get_stats(r)->buffers,
          "its header says the last flush: EndTime set, BuffersWritten %u of %u buffers",
          in->buffers_written, etl_get_stats(r)->buffers);
    etl_close(r);
  }
  CHECK(eng_session_stop_name("FileKill") == ENG_OK, "the stale session is removed by name");
}

/* Write one event every `gap` seconds for `secs` seconds; when[i] = the
** time event i was written. Returns the count. */
static uint32_t slow_writes(eng_provider *p, double secs, double gap, double *when, uint32_t cap) {
  t_payload pl = {0, 0, my_tid(), 0, 0};
  double t0 = now_s();
  uint32_t n = 0;
  while (n < cap && now_s() - t0 < secs) {
    pl.counter = n;
    if (t_write(p, 4, 0x10, (uint16_t)(n & 0xff), &pl, NULL, NULL) == ENG_OK) when[n++] = now_s();
    usleep((useconds_t)(gap * 1e6));
  }
  return n;
}

/* Events written before `t`. */
static uint32_t written_before(const double *when, uint32_t n, double t) {
  uint32_t k = 0;
  while (k < n && when[k] <= t) k++;
  return k;
}

/* A slow producer (20 events a second: never 64 records in a row, and the
** writer's next() never times out) still reaches the file within a flush
** interval (1 s; 0.8 s of slack for a loaded machine), and the header
** counts the buffers that are there. */
static void test_slow_producer(eng_provider *p) {
  char file[512];
  snprintf(file, sizeof file, "%s", tpath("slow.etl"));
  eng_session *s = start_file("FileSlow", ENG_MODE_FILE, file, 0, 0, 0);
  if (!s) return;
  double when[200];
  uint32_t n = slow_writes(p, 3.0, 0.05, when, 200);
  uint32_t due = written_before(when, n, now_s() - 1.8);
  tally t;
  etl_reader *r = NULL;
  const etl_info *in = NULL;
  read_file(file, &t, &in, &r);
  CHECK(t.errors == 0 && t.bad == 0 && t.events >= due && due > 20,
        "after 3 s at 20 events/s, without a flush call, the file holds %llu events (>= %u of %u)",
        (unsigned long long)t.events, due, n);
  if (r) {
    CHECK(in->buffers_written == etl_get_stats(r)->buffers && in->end_time > in->start_time,
          "its header is current: BuffersWritten %u = %u buffers, EndTime set", in->buffers_written,
          etl_get_stats(r)->buffers);
    etl_close(r);
  }
  eng_session_stop(s);
  eng_session_close(s);
}

/* The owner is SIGKILLed while a producer writes 20 events a second: the
** file lacks at most one flush interval of what the session took. */
static void test_kill_lag(eng_provider *p) {
  char file[512];
  snprintf(file, sizeof file, "%s", tpath("lag.etl"));
  int fds[2];
  if (pipe(fds) != 0) { CHECK(0, "pipe"); return; }
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    alarm(30);
    eng_session_opts o = {.mode = ENG_MODE_FILE, .file = file};
    eng_session *s;
    if (eng_session_start("FileLag", &o, &s) != ENG_OK) _exit(3);
    eng_session_enable(s, &T_PROV, 5, 0, 0);
    if (write(fds[1], "k", 1) != 1) _exit(5);
    for (;;) pause();
  }
  close(fds[1]);
  char ch;
  int ok = read(fds[0], &ch, 1) == 1;
  close(fds[0]);
  double when[200];
  uint32_t n = ok ? slow_writes(p, 3.0, 0.05, when, 200) : 0;
  kill(pid, SIGKILL);
  int rc = wait_child(pid);
  CHECK(ok && rc == 128 + SIGKILL && n > 40, "owner killed after %u events (%d)", n, rc);
  tally t;
  read_file(file, &t, NULL, NULL);
  CHECK(t.errors == 0 && t.bad == 0 && t.dups == 0 && n - t.events <= 20 + 16,
        "the file lacks %llu of %u events: at most a flush interval's 20 (+16 for a loaded machine)",
        (unsigned long long)(n - t.events), n);
  CHECK(eng_session_stop_name("FileLag") == ENG_OK, "the stale session is removed by name");
}

typedef struct flusher_arg {
  eng_session *h;
  useconds_t delay;
  int failures;
  double took;
} flusher_arg;

static void *flusher(void *arg) {
  flusher_arg *a = arg;
  if (a->delay) usleep(a->delay);
  double t0 = now_s();
  if (eng_session_flush(a->h) != ENG_OK) a->failures++;
  a->took = now_s() - t0;
  return NULL;
}

/* Flushes from two threads at once: a request that arrives while the writer
** drains for the other one is served right after it, not at the writer's
** next timeout (1 s). Each round leaves a burst in the rings (the writer
** sleeps until flush_ms or a flush), then flushes from two handles, the
** second a little later so that it lands during the first one's drain; 40
** rounds make a missed request unmistakable. */
static void test_concurrent_flush(eng_provider *p) {
  char file[512];
  snprintf(file, sizeof file, "%s", tpath("cflush.etl"));
  eng_session *s = start_file("FileCFlush", ENG_MODE_FILE, file, 0, 0, 0);
  if (!s) return;
  eng_session *h[2] = {NULL, NULL};
  int opened = eng_session_open("FileCFlush", &h[0]) == ENG_OK &&
               eng_session_open("FileCFlush", &h[1]) == ENG_OK;
  CHECK(opened, "two handles");
  double worst = 0;
  int failures = 0;
  t_payload pl = {0, 0, my_tid(), 0, 0};
  for (int round = 0; opened && round < 40; round++) {
    for (int i = 0; i < 3000; i++) {
      pl.counter = (uint64_t)i;
      t_write(p, 4, 0x10, (uint16_t)(i & 0xff), &pl, NULL, NULL);
    }
    flusher_arg a[2] = {{h[0], 0, 0, 0}, {h[1], (useconds_t)(round % 8) * 150, 0, 0}};
    pthread_t th[2];
    for (int k = 0; k < 2; k++) pthread_create(&th[k], NULL, flusher, &a[k]);
    for (int k = 0; k < 2; k++) {
      pthread_join(th[k], NULL);
      failures += a[k].failures;
      if (a[k].took > worst) worst = a[k].took;
    }
  }
  CHECK(opened && failures == 0 && worst < 0.5,
        "80 flushes, two at a time: each < 500 ms (slowest %.0f ms, %d failed)", worst * 1000,
        failures);
  for (int k = 0; k < 2; k++) eng_session_close(h[k]);
  eng_session_stop(s);
  eng_session_close(s);
}

/* An event over 64 KB can never be an ETL record: with small buffers as
** with large ones it reaches the session (write OK) and is counted lost
** exactly once, by the writer; the file holds the events around it. Sizes
** 70,000 and the engine's largest record (SHM_REC_MAX in all). */
static void test_oversize(eng_provider *p) {
  static uint8_t big[SHM_REC_MAX - sizeof(shm_rec_event) - sizeof T_TRAITS - sizeof T_META];
  static const uint32_t kbs[2] = {4, 64};
  for (int k = 0; k < 2; k++) {
    char file[512], name[32];
    snprintf(name, sizeof name, "FileBig%u", kbs[k]);
    snprintf(file, sizeof file, "%s/big%u.etl", test_dir, kbs[k]);
    eng_session *s = start_file(name, ENG_MODE_FILE, file, 0, kbs[k], 0);
    if (!s) return;
    t_payload pl = {0, 0, my_tid(), 0, 0};
    tlg_desc d = {.id = 1, .channel = 11, .level = 4, .keyword = 0x10};
    eng_data dd[3] = {{T_TRAITS, sizeof T_TRAITS, ENG_DATA_PROVIDER_META, {0}},
                      {T_META, sizeof T_META, ENG_DATA_EVENT_META, {0}},
                      {big, 70000, ENG_DATA_PAYLOAD, {0}}};
    int r0 = t_write(p, 4, 0x10, 0, &pl, NULL, NULL);
    int rb = eng_provider_write(p, &d, NULL, NULL, 3, dd);
    dd[2].size = sizeof big;
    int rb2 = eng_provider_write(p, &d, NULL, NULL, 3, dd);
    pl.counter = 1;
    int r1 = t_write(p, 4, 0x10, 1, &pl, NULL, NULL);
    eng_session_stop(s);
    eng_session_stats st;
    eng_session_query(s, &st);
    tally t;
    read_file(file, &t, NULL, NULL);
    CHECK(r0 == ENG_OK && rb == ENG_OK && rb2 == ENG_OK && r1 == ENG_OK,
          "buffer_kb %u: a 70,000-byte and a largest event are written like any other (%s, %s)",
          kbs[k], eng_strerror(rb), eng_strerror(rb2));
    CHECK(st.events == 4 && st.written == 2 && st.lost == 2 && t.events == 2 && t.errors == 0,
          "buffer_kb %u: each counted lost once (events %llu written %llu lost %llu, file %llu)", kbs[k],
          (unsigned long long)st.events, (unsigned long long)st.written, (unsigned long long)st.lost,
          (unsigned long long)t.events);
    eng_session_close(s);
  }
}

static void test_rotation(eng_provider *p) {
  char file[512];
  snprintf(file, sizeof file, "%s", tpath("rot.etl"));
  eng_session *s = start_file("FileRot", ENG_MODE_FILE, file, 1, 64, 256);
  if (!s) return;
  int lost = run_producers(p, 10000);    /* 30000 x ~170 bytes: about 5 MB */
  eng_session_stop(s);
  eng_session_stats st;
  eng_session_query(s, &st);
  CHECK(lost == 0 && st.files >= 4, "rotation at 1 MB: %u files", st.files);
  uint64_t total = 0, bytes = 0;
  int bad = 0;
  for (uint32_t i = 0; i < st.files; i++) {
    char name[64];
    snprintf(name, sizeof name, i ? "rot_%u.etl" : "rot.etl", i);
    tally t;
    read_file(tpath(name), &t, NULL, NULL);
    if (t.errors || t.bad || file_size(tpath(name)) > (1 << 20)) bad++;
    total += t.events;
    bytes += file_size(tpath(name));
  }
  CHECK(bad == 0 && total == 30000 && bytes == st.file_bytes,
        "every file <= 1 MB and valid; %llu events in all", (unsigned long long)total);
  eng_session_close(s);
}

static void test_circular(eng_provider *p) {
  char file[512];
  snprintf(file, sizeof file, "%s", tpath("circ.etl"));
  eng_session *s = start_file("FileCirc", ENG_MODE_CIRCULAR, file, 1, 64, 256);
  if (!s) return;
  tally t;
  read_file(file, &t, NULL, NULL);
  CHECK(t.errors == 0 && t.events == 0 && file_size(file) == 65536,
        "a circular session starts with an empty trace");
  int lost = run_producers(p, 10000);
  CHECK(eng_session_flush(s) == ENG_OK, "circular flush");
  read_file(file, &t, NULL, NULL);
  int newest = 0;                 /* the thread that wrote last has its newest event kept */
  for (int k = 0; k < THREADS; k++) newest |= t.seen[k] && t.last[k] == 9999;
  CHECK(lost == 0 && t.errors == 0 && t.bad == 0 && t.out_of_order == 0 && t.dups == 0 && newest &&
        t.events > 1000 && t.events < 30000 && file_size(file) <= (1 << 20) + 65536 * 8,
        "the newest ~1 MB: %llu events, file %llu bytes (lost %d, bad %llu, order %llu)",
        (unsigned long long)t.events, (unsigned long long)file_size(file), lost,
        (unsigned long long)t.bad, (unsigned long long)t.out_of_order);
  eng_session_stats st;
  eng_session_query(s, &st);
  CHECK(st.written == 30000 && st.file_bytes == file_size(file), "stats: written %llu",
        (unsigned long long)st.written);
  eng_session_close(s);
}

/* The owner of the loss test's session: starts it (2 x 4 KB asked for; a
** file session's rings are 1 MB at least, see test_oversize),
** says "r", waits for a byte on `go`, stops, sends its final statistics. */
static void loss_owner(const char *file, int up, int go) {
  alarm(60);
  eng_session_opts o = {.mode = ENG_MODE_FILE, .file = file, .buffer_kb = 4, .min_buffers = 2};
  eng_session *s;
  eng_session_stats st;
  char ch;
  if (eng_session_start("FileLoss", &o, &s) != ENG_OK) _exit(2);
  if (eng_session_enable(s, &T_PROV, 5, 0, 0) != ENG_OK || write(up, "r", 1) != 1) _exit(3);
  if (read(go, &ch, 1) != 1) _exit(4);
  if (eng_session_stop(s) != ENG_OK || eng_session_query(s, &st) != ENG_OK) _exit(5);
  _exit(write(up, &st, sizeof st) == (ssize_t)sizeof st ? 0 : 6);
}

/* Losses, made certain: the session's owner, whose writer thread drains the
** rings, is stopped (SIGSTOP) while this process writes far more than its
** ring holds. The loss is then counted exactly by the writes, the session,
** the file's EventsLost and its flagged buffers; the file holds the rest. */
static void test_loss(eng_provider *p) {
  enum { BURST = 20000 };           /* x ~170 bytes: 3 times the 1 MB ring */
  char file[512];
  snprintf(file, sizeof file, "%s", tpath("loss.etl"));
  int up[2], go[2];
  if (pipe(up) != 0 || pipe(go) != 0) { CHECK(0, "pipe"); return; }
  pid_t owner = fork();
  if (owner == 0) { close(up[0]); close(go[1]); loss_owner(file, up[1], go[0]); }
  close(up[1]);
  close(go[0]);
  char ch;
  int status, ready = read(up[0], &ch, 1) == 1;
  int stopped = ready && kill(owner, SIGSTOP) == 0 && waitpid(owner, &status, WUNTRACED) == owner &&
                WIFSTOPPED(status);
  int lost = 0;
  t_payload pl = {0, 0, my_tid(), 0, 0};
  for (uint64_t i = 0; stopped && i < BURST; i++) {
    pl.counter = i;
    if (t_write(p, 4, 0x10, (uint16_t)(i & 0xff), &pl, NULL, NULL) == ENG_E_LOST) lost++;
  }
  kill(owner, SIGCONT);
  eng_session_stats st = {0};
  int said = write(go[1], "s", 1) == 1 && read(up[0], &st, sizeof st) == (ssize_t)sizeof st;
  close(up[0]);
  close(go[1]);
  int rc = wait_child(owner);
  CHECK(stopped && said && rc == 0, "the owner ran, was stopped during the burst, stopped its session (%d)", rc);
  CHECK(lost > 0 && lost < BURST && st.lost == (uint64_t)lost && st.events == (uint64_t)(BURST - lost),
        "the session counts the loss: %d writes refused, lost %llu, events %llu", lost,
        (unsigned long long)st.lost, (unsigned long long)st.events);
  tally t;
  etl_reader *r = NULL;
  const etl_info *in = NULL;
  read_file(file, &t, &in, &r);
  CHECK(t.errors == 0 && t.bad == 0 && t.dups == 0 && t.events == (uint64_t)(BURST - lost) &&
        t.first[0] == 0 && t.last[0] + 1 == t.events,
        "the file holds the events before the ring filled, in order: %llu (+ %d lost)",
        (unsigned long long)t.events, lost);
  if (r) {
    CHECK(in->events_lost == (uint32_t)lost && etl_get_stats(r)->buffers_events_lost > 0,
          "EventsLost %u (want %d), buffers flagged %u", in->events_lost, lost,
          etl_get_stats(r)->buffers_events_lost);
    etl_close(r);
  }
}

static void test_bad_file(void) {
  eng_session_opts o = {.mode = ENG_MODE_FILE, .file = tpath("no/such/dir/x.etl")};
  eng_session *s = NULL;
  CHECK(eng_session_start("FileBad", &o, &s) == ENG_E_IO && s == NULL, "a file that cannot be created: IO");
  eng_session *h = NULL;
  CHECK(eng_session_open("FileBad", &h) == ENG_E_NOTFOUND, "and no session is left behind");
}

int main(void) {
  test_setup(120);
  eng_provider *p;
  if (eng_provider_register(&T_PROV, T_TRAITS, sizeof T_TRAITS, &p) != ENG_OK) {
    printf("FAIL register\n");
    return 1;
  }
  test_round_trip(p);
  test_flush(p);
  test_close_stops(p);
  test_kill();
  test_slow_producer(p);
  test_kill_lag(p);
  test_concurrent_flush(p);
  test_oversize(p);
  test_rotation(p);
  test_circular(p);
  test_loss(p);
  test_bad_file();
  eng_provider_unregister(p);
  return unit_finish();
}
