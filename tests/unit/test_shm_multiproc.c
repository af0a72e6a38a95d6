/*
** test_shm_multiproc.c: producers in child processes (several threads
** each), the consumer in the test process: every event arrives exactly
** once, in order per thread, with the right header fields; statistics and
** the session list agree; rings of exited threads are reclaimed.
*/
#include "shm_testutil.h"

#include <pthread.h>

#define PRODUCERS 3
#define THREADS 2
#define EVENTS 20000

static const tlg_guid ACT = {{0xac, 0x71, 0x71, 0x71}};

typedef struct thread_arg {
  eng_provider *p;
  uint32_t producer, thread;
  int status;
} thread_arg;

static void *producer_thread(void *arg) {
  thread_arg *a = arg;
  t_payload pl = {a->producer, a->thread, my_tid(), 0, 0};
  for (uint64_t i = 0; i < EVENTS; i++) {
    pl.counter = i;
    int st = t_write(a->p, 4, 0x10, (uint16_t)(i & 0x7fff), &pl, (i % 7 == 0) ? &ACT : NULL, NULL);
    if (st != ENG_OK && !a->status) a->status = st;
  }
  return NULL;
}

static void producer_main(uint32_t index, int start_fd) {
  alarm(60);
  eng_provider *p;
  if (eng_provider_register(&T_PROV, T_TRAITS, sizeof T_TRAITS, &p) != ENG_OK) _exit(10);
  char go;
  if (read(start_fd, &go, 1) != 1) _exit(11);           /* all start together */
  pthread_t th[THREADS];
  thread_arg args[THREADS];
  for (uint32_t t = 0; t < THREADS; t++) {
    args[t] = (thread_arg){p, index, t, 0};
    if (t == 0) continue;
    pthread_create(&th[t], NULL, producer_thread, &args[t]);
  }
  producer_thread(&args[0]);                             /* the main thread writes too */
  int status = args[0].status;
  for (uint32_t t = 1; t < THREADS; t++) {
    pthread_join(th[t], NULL);
    if (args[t].status) status = args[t].status;
  }
  eng_provider_unregister(p);
  exit(status == ENG_OK ? 0 : 20 + status);
}

typedef struct stream {
  uint32_t pid, tid;
  uint64_t next;
} stream;

typedef struct tally {
  stream s[PRODUCERS][THREADS];
  pid_t pids[PRODUCERS];
  long events, bad_order, bad_header, bad_payload, lost, corrupt;
  int64_t t0, t1;
} tally;

static void check_record(tally *t, const rec_record *r, uint32_t ncpu) {
  if (r->kind == REC_KIND_LOST) { t->lost += (long)r->lost; return; }
  if (r->kind != REC_KIND_EVENT) { t->corrupt++; return; }
  t_payload pl;
  if (!t_payload_of(r, &pl) || pl.producer >= PRODUCERS || pl.thread >= THREADS) {
    t->bad_payload++;
    return;
  }
  stream *s = &t->s[pl.producer][pl.thread];
  if (pl.counter != s->next || r->seq != s->next) t->bad_order++;
  s->next = pl.counter + 1;
  int act = pl.counter % 7 == 0;
  int ok = r->pid == (uint32_t)t->pids[pl.producer] && r->tid == pl.tid && r->cpu < ncpu &&
           r->timestamp >= t->t0 && r->timestamp <= t->t1 &&
           memcmp(&r->provider_id, &T_PROV, 16) == 0 && r->desc.level == 4 &&
           r->desc.keyword == 0x10 && r->desc.id == (pl.counter & 0x7fff) && r->desc.opcode == 2 &&
           r->desc.task == 7 && r->desc.version == 1 && r->desc.channel == 11 &&
           (r->flags & REC_HEADER) && !!(r->flags & REC_ACTIVITY) == act &&
           (!act || memcmp(&r->activity_id, &ACT, 16) == 0) && !(r->flags & REC_RELATED) &&
           r->traits_len == sizeof T_TRAITS && memcmp(r->traits, T_TRAITS, sizeof T_TRAITS) == 0 &&
           r->meta_len == sizeof T_META && memcmp(r->meta, T_META, sizeof T_META) == 0;
  if (!ok && t->bad_header++ < 3)
    printf("  bad header: pid %u (want %d) tid %u/%u cpu %u ts %lld in [%lld, %lld]\n", r->pid,
           (int)t->pids[pl.producer], r->tid, pl.tid, r->cpu, (long long)r->timestamp,
           (long long)t->t0, (long long)t->t1);
  t->events++;
}

static void test_producers(void) {
  /* 4 MB per thread ring: no loss even if the consumer is descheduled a while.
  ** static: children that exit() must still see the handles they inherit (LSan) */
  static eng_session *s;
  static eng_consumer *c;
  s = t_start("multi", 64, 64, 20);
  CHECK(eng_consumer_open("multi", &c) == ENG_OK, "consumer");
  if (!s || !c) return;
  CHECK(eng_session_enable(s, &T_PROV, 5, ~0ull, 0) == ENG_OK, "enable");
  static tally t;
  t.t0 = now_filetime() - 10000000;                      /* 1 s of slack each side */
  int go[2];
  if (pipe(go) != 0) return;
  for (uint32_t i = 0; i < PRODUCERS; i++) {
    t.pids[i] = fork();
    if (t.pids[i] == 0) { close(go[1]); producer_main(i, go[0]); }
  }
  close(go[0]);
  char buf[PRODUCERS] = {0};
  CHECK(write(go[1], buf, PRODUCERS) == PRODUCERS, "go");
  close(go[1]);
  uint32_t ncpu = (uint32_t)sysconf(_SC_NPROCESSORS_CONF);
  rec_record rec;
  long want = (long)PRODUCERS * THREADS * EVENTS;
  double deadline = now_s() + 60;
  t.t1 = now_filetime() + 600000000LL;                   /* refined below */
  while (t.events + t.lost < want && now_s() < deadline) {
    int st = eng_consumer_next(c, &rec, 100);
    if (st == ENG_OK) check_record(&t, &rec, ncpu);
    else if (st != ENG_E_TIMEOUT) break;
  }
  int exits = 0;
  for (uint32_t i = 0; i < PRODUCERS; i++) exits += wait_child(t.pids[i]) != 0;
  t.t1 = now_filetime() + 10000000;
  CHECK(exits == 0, "%d producers failed", exits);
  CHECK(t.events == want && t.lost == 0, "every event once: %ld of %ld, %ld lost", t.events, want,
        t.lost);
  CHECK(t.bad_order == 0, "in order per thread (%ld out of order)", t.bad_order);
  CHECK(t.bad_header == 0 && t.bad_payload == 0 && t.corrupt == 0,
        "header fields (%ld bad, %ld bad payloads, %ld corrupt)", t.bad_header, t.bad_payload,
        t.corrupt);
  CHECK(eng_consumer_next(c, &rec, 0) == ENG_E_TIMEOUT, "nothing more");

  eng_session_stats st;
  int qs = eng_session_query(s, &st);
  CHECK(qs == ENG_OK, "query");
  CHECK(st.events == (uint64_t)want && st.lost == 0 && st.providers == 1 && st.corrupt == 0 &&
        st.consumer_pid == getpid(), "stats: events %llu lost %llu providers %u consumer %d",
        (unsigned long long)st.events, (unsigned long long)st.lost, st.providers, st.consumer_pid);
  /* the producers exited: their rings are drained and reclaimed */
  for (int i = 0; i < 50 && eng_session_query(s, &st) == ENG_OK && st.rings; i++)
    eng_consumer_next(c, &rec, 20);
  CHECK(st.rings == 0 && st.bytes == 0 && st.events == (uint64_t)want,
        "rings reclaimed (%u left), counts kept (%llu)", st.rings, (unsigned long long)st.events);

  eng_session_info info[4];
  size_t n = 0;
  int ls = eng_sessions_list(info, 4, &n);
  CHECK(ls == ENG_OK && n == 1, "list: %zu sessions", n);
  CHECK(n == 1 && strcmp(info[0].name, "multi") == 0 && info[0].owner_pid == getpid() &&
        info[0].state == ENG_SESSION_RUNNING && info[0].providers == 1 &&
        info[0].events == (uint64_t)want && info[0].consumer_pid == getpid(), "list entry");
  CHECK(eng_session_stop(s) == ENG_OK, "stop");
  CHECK(eng_consumer_next(c, &rec, 1000) == ENG_E_STOPPED, "consumer sees the stop");
  CHECK(eng_sessions_list(info, 4, &n) == ENG_OK && n == 0, "list empty");
  eng_consumer_close(c);
  eng_session_close(s);
}

/* A consumer blocked in next() wakes at once on eng_consumer_stop from
** another thread, and on data past the watermark well before flush_ms. */
static void *stopper(void *arg) {
  usleep(100000);
  eng_consumer_stop(arg);
  return NULL;
}

static void test_wakeups(void) {
  static eng_session *s;                          /* static: see test_producers */
  static eng_consumer *c;
  static eng_provider *p;
  s = t_start("wake", 4, 4, 5000);                /* flush_ms 5 s */
  eng_consumer_open("wake", &c);
  eng_provider_register(&T_PROV, NULL, 0, &p);
  if (!s || !c || !p) { CHECK(0, "setup"); return; }
  eng_session_enable(s, &T_PROV, 5, ~0ull, 0);
  rec_record rec;
  pid_t pid = fork();
  if (pid == 0) {                                   /* fills a quarter ring after 100 ms */
    usleep(100000);
    t_payload pl = {0};
    for (int i = 0; i < 200; i++) t_write(p, 4, 1, 1, &pl, NULL, NULL);
    exit(0);
  }
  double t0 = now_s();
  int st = eng_consumer_next(c, &rec, 4000);
  double dt = now_s() - t0;
  CHECK(st == ENG_OK && dt < 2.0, "watermark wake-up after %.3f s (flush_ms 5 s)", dt);
  wait_child(pid);
  while (eng_consumer_next(c, &rec, 0) == ENG_OK) {}
  pthread_t th;
  pthread_create(&th, NULL, stopper, c);
  t0 = now_s();
  st = eng_consumer_next(c, &rec, -1);
  dt = now_s() - t0;
  pthread_join(th, NULL);
  CHECK(st == ENG_E_INTERRUPTED && dt < 2.0, "stop from another thread: %s after %.3f s",
        eng_strerror(st), dt);
  CHECK(eng_consumer_next(c, &rec, 0) == ENG_E_INTERRUPTED, "stop is sticky");
  /* flush wakes a sleeping consumer for one small event */
  eng_consumer_close(c);
  eng_consumer_open("wake", &c);
  pid = fork();
  if (pid == 0) {
    usleep(100000);
    t_payload pl = {0};
    t_write(p, 4, 1, 1, &pl, NULL, NULL);
    eng_session *h = NULL;
    eng_session_open("wake", &h);
    eng_session_flush(h);
    eng_session_close(h);
    exit(0);
  }
  t0 = now_s();
  st = eng_consumer_next(c, &rec, 4000);
  dt = now_s() - t0;
  CHECK(st == ENG_OK && dt < 2.0, "flush wake-up after %.3f s", dt);
  wait_child(pid);
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
  eng_provider_unregister(p);
}

int main(void) {
  test_setup(120);
  test_producers();
  test_wakeups();
  return unit_finish();
}
