/*
** test_shm_faults.c: the shm engine under faults. A producer SIGKILLed in
** the middle of a burst; the consumer SIGKILLed while producers write; a
** full ring (loss counts exact, in-band and in stats); garbage written into
** a ring; a registry lock holder killed; a session whose owner died.
*/
#include "shm_testutil.h"

#include <pthread.h>

#include "engine/shm/shm_int.h"
#include "shm_testmap.h"

/* ------------------------------------------------------------ helpers */

typedef struct seqcheck {
  uint64_t next[64];
  long events, lost, corrupt, bad;
} seqcheck;

/* Payload counter == ring sequence number (one ring per thread), rising. */
static void seq_record(seqcheck *k, const rec_record *r) {
  t_payload pl;
  if (r->kind == REC_KIND_LOST) { k->lost += (long)r->lost; return; }
  if (r->kind == REC_KIND_CORRUPT) { k->corrupt++; return; }
  if (!t_payload_of(r, &pl) || pl.thread >= 64 || pl.counter != r->seq ||
      pl.counter < k->next[pl.thread] || memcmp(&r->provider_id, &T_PROV, 16) != 0 ||
      r->meta_len != sizeof T_META) {
    k->bad++;
    return;
  }
  k->next[pl.thread] = pl.counter + 1;
  k->events++;
}

static int rings_in_use(eng_session *s) {
  eng_session_stats st;
  return eng_session_query(s, &st) == ENG_OK ? (int)st.rings : -1;
}

/* ------------------------------------------------- producer SIGKILLed */

typedef struct burst_arg {
  eng_provider *p;
  uint32_t thread;
} burst_arg;

static void *burst(void *arg) {
  burst_arg *a = arg;
  t_payload pl = {0, a->thread, my_tid(), 0, 0};
  for (;;) {
    t_write(a->p, 4, 1, 1, &pl, NULL, NULL);
    pl.counter++;
  }
  return NULL;
}

static void test_producer_killed(void) {
  eng_session *s = t_start("pkill", 64, 16, 20);
  eng_consumer *c = NULL;
  eng_consumer_open("pkill", &c);
  if (!s || !c) { CHECK(0, "setup"); return; }
  eng_session_enable(s, &T_PROV, 5, ~0ull, 0);
  pid_t pid = fork();
  if (pid == 0) {
    eng_provider *p;
    if (eng_provider_register(&T_PROV, T_TRAITS, sizeof T_TRAITS, &p) != ENG_OK) _exit(1);
    static burst_arg a[3];
    pthread_t th;
    for (uint32_t i = 1; i < 3; i++) {
      a[i] = (burst_arg){p, i};
      pthread_create(&th, NULL, burst, &a[i]);
    }
    a[0] = (burst_arg){p, 0};
    burst(&a[0]);
  }
  seqcheck k = {0};
  rec_record rec;
  double t0 = now_s();
  while (k.events < 100000 && now_s() - t0 < 10) {
    if (eng_consumer_next(c, &rec, 100) == ENG_OK) seq_record(&k, &rec);
  }
  kill(pid, SIGKILL);
  CHECK(wait_child(pid) == 128 + SIGKILL, "producer killed in its burst");
  long before = k.events;
  int st;
  t0 = now_s();
  while ((st = eng_consumer_next(c, &rec, 300)) == ENG_OK) seq_record(&k, &rec);
  double dt = now_s() - t0;
  CHECK(st == ENG_E_TIMEOUT && dt < 5, "consumer goes on, then times out (%.2f s)", dt);
  CHECK(k.bad == 0 && k.corrupt == 0, "no torn or invalid record (%ld bad, %ld corrupt)", k.bad,
        k.corrupt);
  CHECK(k.events > before, "the rest of the burst was read (%ld + %ld)", before, k.events - before);
  int rings = -1;
  for (int i = 0; i < 50 && (rings = rings_in_use(s)) != 0; i++) eng_consumer_next(c, &rec, 20);
  CHECK(rings == 0, "dead producer's rings reclaimed (%d left)", rings);
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
}

/* ------------------------------------------------- consumer SIGKILLed */

static void test_consumer_killed(void) {
  eng_session *s = t_start("ckill", 4, 4, 20);          /* 16 KB rings */
  if (!s) return;
  eng_session_enable(s, &T_PROV, 5, ~0ull, 0);
  pid_t cons = fork();
  if (cons == 0) {
    alarm(30);
    eng_consumer *c;
    if (eng_consumer_open("ckill", &c) != ENG_OK) _exit(1);
    rec_record rec;
    for (;;) eng_consumer_next(c, &rec, 100);
  }
  int fds[2];
  if (pipe(fds) != 0) return;
  pid_t prod = fork();
  if (prod == 0) {
    alarm(30);
    eng_provider *p;
    if (eng_provider_register(&T_PROV, NULL, 0, &p) != ENG_OK) _exit(1);
    t_payload pl = {0};
    long counts[2] = {0, 0};                            /* attempts, drops */
    double t0 = now_s();
    while (now_s() - t0 < 0.6) {
      for (int i = 0; i < 100; i++, pl.counter++) {
        counts[0]++;
        if (t_write(p, 4, 1, 1, &pl, NULL, NULL) == ENG_E_LOST) counts[1]++;
      }
    }
    if (write(fds[1], counts, sizeof counts) != sizeof counts) _exit(2);
    _exit(0);
  }
  close(fds[1]);
  usleep(150000);
  kill(cons, SIGKILL);
  CHECK(wait_child(cons) == 128 + SIGKILL, "consumer killed");
  double t0 = now_s();
  long counts[2] = {0, 0};
  CHECK(read(fds[0], counts, sizeof counts) == sizeof counts, "producer reports");
  CHECK(wait_child(prod) == 0 && now_s() - t0 < 5, "producer never blocked (%.2f s)", now_s() - t0);
  CHECK(counts[1] > 0 && counts[0] > counts[1], "ring filled: %ld dropped of %ld", counts[1],
        counts[0]);
  eng_session_stats st;
  int qs = eng_session_query(s, &st);
  CHECK(qs == ENG_OK && st.lost == (uint64_t)counts[1] &&
        st.events == (uint64_t)(counts[0] - counts[1]), "stats: lost %llu events %llu",
        (unsigned long long)st.lost, (unsigned long long)st.events);
  CHECK(st.consumer_pid == 0, "the dead consumer is not listed");
  eng_consumer *c = NULL;
  CHECK(eng_consumer_open("ckill", &c) == ENG_OK, "a new consumer takes the dead one's place");
  seqcheck k = {0};
  rec_record rec;
  while (c && eng_consumer_next(c, &rec, 0) == ENG_OK) seq_record(&k, &rec);
  CHECK(k.bad == 0 && k.corrupt == 0 && k.events > 0, "it reads the rest (%ld events)", k.events);
  CHECK(k.lost > 0 && k.lost <= counts[1], "and the losses not yet reported (%ld)", k.lost);
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
  close(fds[0]);
}

/* ---------------------------------------------------------- full ring */

static void test_full_ring(eng_provider *p) {
  eng_session_opts o = {.buffer_kb = 4, .min_buffers = 1, .max_buffers = 1, .flush_ms = 20};
  eng_session *s = NULL;
  CHECK(eng_session_start("full", &o, &s) == ENG_OK, "start");
  eng_consumer *c = NULL;
  eng_consumer_open("full", &c);
  if (!s || !c) return;
  eng_session_enable(s, &T_PROV, 5, ~0ull, 0);
  t_payload pl = {0};
  long dropped = 0;
  for (int i = 0; i < 1000; i++, pl.counter++) {
    int st = t_write(p, 4, 1, 1, &pl, NULL, NULL);
    if (st == ENG_E_LOST) dropped++;
    else if (st != ENG_OK) CHECK(0, "write: %s", eng_strerror(st));
  }
  eng_session_stats st;
  eng_session_query(s, &st);
  CHECK(dropped > 900 && st.lost == (uint64_t)dropped && st.events == (uint64_t)(1000 - dropped),
        "stats lost %llu == dropped %ld", (unsigned long long)st.lost, dropped);
  seqcheck k = {0};
  rec_record rec;
  while (eng_consumer_next(c, &rec, 0) == ENG_OK) seq_record(&k, &rec);
  CHECK(k.events == 1000 - dropped && k.lost == dropped && k.bad == 0,
        "in-band: %ld events + %ld lost == 1000", k.events, k.lost);
  for (int i = 0; i < 5; i++, pl.counter++) t_write(p, 4, 1, 1, &pl, NULL, NULL);
  seqcheck k2 = {0};
  while (eng_consumer_next(c, &rec, 0) == ENG_OK) seq_record(&k2, &rec);
  CHECK(k2.events == 5 && k2.lost == 0 && k2.bad == 0, "no loss reported twice");
  CHECK(k2.next[0] == 1005, "sequence numbers count the drops (%llu)",
        (unsigned long long)k2.next[0]);
  /* a second stream of drops: the notice precedes the next event in-band */
  long d2 = 0;
  for (int i = 0; i < 200; i++, pl.counter++) d2 += t_write(p, 4, 1, 1, &pl, NULL, NULL) == ENG_E_LOST;
  rec_record first;
  int n = 0;
  while (eng_consumer_next(c, &rec, 0) == ENG_OK && rec.kind == REC_KIND_EVENT) n++;
  first = rec;
  CHECK(first.kind == REC_KIND_LOST && first.lost == (uint64_t)d2, "notice of %llu after %d events",
        (unsigned long long)first.lost, n);
  t_write(p, 4, 1, 1, &pl, NULL, NULL);
  int ns = eng_consumer_next(c, &rec, 0);
  CHECK(ns == ENG_OK && rec.kind == REC_KIND_EVENT && rec.seq == 1205, "next event seq %llu",
        (unsigned long long)rec.seq);
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
}

/* ------------------------------------------------------ garbage in a ring */


static int my_ring(const shm_smap *m) {
  for (uint32_t i = 0; i < m->max_rings; i++) {
    uint64_t e = atomic_load(&m->hdr->ring_dir[i]);
    if (SHM_DIR_STATE(e) == SHM_RING_ACTIVE && SHM_DIR_PID(e) == getpid() &&
        shm_smap_ctl(m, i)->tid == (int32_t)my_tid())
      return (int)i;
  }
  return -1;
}

static void write_n(eng_provider *p, t_payload *pl, int n) {
  for (int i = 0; i < n; i++, pl->counter++) t_write(p, 4, 1, 1, pl, NULL, NULL);
}

static void *other_thread(void *arg) {
  t_payload pl = {0, 1, my_tid(), 0, 0};
  write_n(arg, &pl, 10);
  return NULL;
}

static void test_garbage(eng_provider *p) {
  eng_session *s = t_start("garbage", 64, 1, 20);
  eng_consumer *c = NULL;
  eng_consumer_open("garbage", &c);
  shm_smap m = {0};
  if (!s || !c) return;
  eng_session_enable(s, &T_PROV, 5, ~0ull, 0);
  t_payload pl = {0};
  write_n(p, &pl, 10);
  CHECK(map_session("garbage", &m) == ENG_OK, "map the session file");
  int ring = my_ring(&m);
  CHECK(ring >= 0, "find this thread's ring");
  if (ring < 0) return;
  uint8_t *data = shm_smap_data(&m, (uint32_t)ring);
  shm_ring_ctl *ctl = shm_smap_ctl(&m, (uint32_t)ring);
  /* (a) the 5th record's header says 12 bytes */
  uint64_t off = shm_ring_read_tail(ctl) & (m.ring_size - 1);
  for (int i = 0; i < 4; i++) off += ((shm_rec *)(void *)(data + off))->size;
  ((shm_rec *)(void *)(data + off))->size = 12;
  seqcheck k = {0};
  rec_record rec;
  while (eng_consumer_next(c, &rec, 0) == ENG_OK) seq_record(&k, &rec);
  CHECK(k.events == 4 && k.corrupt == 1 && k.bad == 0, "bad header: 4 events, then 1 report (%ld, %ld)",
        k.events, k.corrupt);
  write_n(p, &pl, 5);
  seqcheck k2 = {0};
  while (eng_consumer_next(c, &rec, 0) == ENG_OK) seq_record(&k2, &rec);
  CHECK(k2.events == 5 && k2.corrupt == 0, "goes on with the next records (%ld)", k2.events);
  /* (b) random bytes over the published records */
  write_n(p, &pl, 10);
  uint64_t t = shm_ring_read_tail(ctl), h = shm_ring_read_head(ctl);
  srand(3);
  for (uint64_t i = t; i < h; i++) data[i & (m.ring_size - 1)] = (uint8_t)rand();
  seqcheck k3 = {0};
  while (eng_consumer_next(c, &rec, 0) == ENG_OK) seq_record(&k3, &rec);
  CHECK(k3.corrupt == 1 && k3.bad == 0, "random bytes: reported (%ld events, %ld reports)", k3.events,
        k3.corrupt);
  write_n(p, &pl, 3);
  seqcheck k4 = {0};
  while (eng_consumer_next(c, &rec, 0) == ENG_OK) seq_record(&k4, &rec);
  CHECK(k4.events == 3 && k4.corrupt == 0, "and resynchronised (%ld)", k4.events);
  /* (c) a head that cannot be: the ring is reported and set aside; other
  ** threads' rings still flow */
  atomic_store(&ctl->head, shm_ring_read_tail(ctl) + m.ring_size * 3 + 4);
  pthread_t th;
  pthread_create(&th, NULL, other_thread, p);
  pthread_join(th, NULL);
  seqcheck k5 = {0};
  while (eng_consumer_next(c, &rec, 0) == ENG_OK) seq_record(&k5, &rec);
  CHECK(k5.corrupt == 1 && k5.events == 10 && k5.bad == 0, "bad head: 1 report, other ring's 10 events (%ld, %ld)",
        k5.corrupt, k5.events);
  eng_session_stats st;
  int qs = eng_session_query(s, &st);
  CHECK(qs == ENG_OK && st.corrupt == 3, "stats corrupt %u", st.corrupt);
  CHECK(eng_consumer_next(c, &rec, 50) == ENG_E_TIMEOUT, "no hang");
  shm_smap_close(&m);
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
}

/* --------------------------------------- registry lock holder killed */

static void test_lock_holder_killed(void) {
  pid_t pid = fork();
  if (pid == 0) {
    shm_reg *r;
    if (shm_reg_get(&r) != ENG_OK || shm_reg_lock(r) != ENG_OK) _exit(1);
    _exit(0);                                          /* dies holding the lock */
  }
  CHECK(wait_child(pid) == 0, "child took the lock and died");
  alarm(10);
  eng_session *s = t_start("after-lock", 4, 1, 20);
  CHECK(s != NULL, "the lock is recovered");
  eng_session_stop(s);
  eng_session_close(s);
}

/* -------------------------------------------------------- stale owner */

static pid_t start_and_die(const char *name) {
  pid_t pid = fork();
  if (pid == 0) {
    eng_session *s;
    _exit(eng_session_start(name, NULL, &s) == ENG_OK ? 0 : 1);   /* no stop */
  }
  CHECK(wait_child(pid) == 0, "child started %s", name);
  return pid;
}

static int find_info(const char *name, eng_session_info *out) {
  eng_session_info info[8];
  size_t n = 0;
  eng_sessions_list(info, 8, &n);
  for (size_t i = 0; i < n && i < 8; i++)
    if (strcmp(info[i].name, name) == 0) { *out = info[i]; return 1; }
  return 0;
}

static void test_stale(void) {
  pid_t pid = start_and_die("stale");
  eng_session_info info;
  CHECK(find_info("stale", &info) && info.state == ENG_SESSION_STALE && info.owner_pid == pid,
        "listed as stale with its owner's pid");
  eng_session *h = NULL;
  CHECK(eng_session_open("stale", &h) == ENG_OK, "a stale session can be opened");
  eng_session_close(h);
  CHECK(eng_session_stop_name("stale") == ENG_OK && !find_info("stale", &info), "stop NAME removes it");
  CHECK(eng_session_stop_name("stale") == ENG_E_NOTFOUND, "then it is gone");
  start_and_die("stale2");
  eng_session *s = NULL;
  CHECK(eng_session_start("stale2", NULL, &s) == ENG_OK, "start replaces a stale session");
  CHECK(find_info("stale2", &info) && info.state == ENG_SESSION_RUNNING && info.owner_pid == getpid(),
        "now running, owned here");
  eng_session *s2 = NULL;
  CHECK(eng_session_start("STALE2", NULL, &s2) == ENG_E_EXISTS && !s2, "a live name is taken");
  eng_session_stop(s);
  eng_session_close(s);
}

/* ------------------------------------------- a stalled kernel watermark */

/* The owner's kernel bridge publishes kernel_wm: records newer than it wait
** for it, but only for the bound (2 x flush_ms + 100 ms): a bridge that
** stalls delays the stream, never stops it. Then a watermark past them
** lets records through at once. */
static void test_stalled_watermark(eng_provider *p) {
  eng_session *s = t_start("stallwm", 64, 4, 2000);        /* bound 4.1 s */
  eng_consumer *c = NULL;
  eng_consumer_open("stallwm", &c);
  shm_smap m = {0};
  if (!s || !c || map_session("stallwm", &m) != ENG_OK) {
    CHECK(0, "stallwm: session, consumer, map");
    eng_consumer_close(c);
    eng_session_stop(s);
    eng_session_close(s);
    return;
  }
  eng_session_enable(s, &T_PROV, 5, ~0ull, 0);
  atomic_store(&m.hdr->kernel_wm, 1);                  /* a bridge stuck since the start */
  t_payload pl = {0};
  write_n(p, &pl, 5);
  rec_record rec;
  CHECK(eng_consumer_next(c, &rec, 0) == ENG_E_TIMEOUT, "records newer than the watermark wait");
  double t0 = now_s();
  seqcheck k = {0};
  while (k.events < 5 && eng_consumer_next(c, &rec, 10000) == ENG_OK) seq_record(&k, &rec);
  double waited = now_s() - t0;
  CHECK(k.events == 5 && k.bad == 0, "then come, in order, after the bound (%ld)", k.events);
  CHECK(waited < 9.0, "within the bound and a wide margin (%.1f s)", waited);
  write_n(p, &pl, 5);
  atomic_store(&m.hdr->kernel_wm, UINT64_MAX);          /* the bridge caught up */
  seqcheck k2 = {0};
  while (eng_consumer_next(c, &rec, 0) == ENG_OK) seq_record(&k2, &rec);
  CHECK(k2.events == 5 && k2.bad == 0, "a watermark past them lets them through (%ld)", k2.events);
  shm_smap_close(&m);
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
}

int main(void) {
  test_setup(120);
  eng_provider *p = NULL;
  CHECK(eng_provider_register(&T_PROV, T_TRAITS, sizeof T_TRAITS, &p) == ENG_OK, "register");
  test_producer_killed();
  test_consumer_killed();
  if (p) test_full_ring(p);
  if (p) test_garbage(p);
  if (p) test_stalled_watermark(p);
  test_lock_holder_killed();
  test_stale();
  eng_provider_unregister(p);
  return unit_finish();
}
