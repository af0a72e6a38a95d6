/*
** test_shm_races.c: races and process-identity faults of the shm engine
** (issue 14): writes during another session's enable/disable are never lost
** uncounted; a process whose main thread exited is still alive; handles
** inherited across fork() do not change the parent's session; a reclaim
** sequence left odd and a provider entry left half-cleared by a dead process
** are repaired; a file session whose owner was killed stops being enabled;
** a running session's name is taken over only with `replace`; an owner in
** another pid namespace is never judged dead.
*/
#include "shm_testutil.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>

#include "engine/shm/shm_int.h"
#include "shm_testmap.h"

/* ------------------------------------------- enable toggled meanwhile */

#define TOGGLE_WRITES 250000

typedef struct toggle_arg {
  eng_provider *p;
  eng_session *other;
  _Atomic int done;
  long other_st;                    /* writes that said neither OK nor LOST */
} toggle_arg;

static void *toggle_writer(void *arg) {
  toggle_arg *a = arg;
  t_payload pl = {0, 0, my_tid(), 0, 0};
  for (pl.counter = 0; pl.counter < TOGGLE_WRITES; pl.counter++) {
    int st = t_write(a->p, 4, 1, 1, &pl, NULL, NULL);
    if (st != ENG_OK && st != ENG_E_LOST) a->other_st++;   /* LOST: A or B dropped it */
  }
  atomic_store(&a->done, 1);
  return NULL;
}

static void *toggler(void *arg) {
  toggle_arg *a = arg;
  while (!atomic_load(&a->done)) {
    eng_session_enable(a->other, &T_PROV, 5, ~0ull, 0);
    eng_session_disable(a->other, &T_PROV);
  }
  return NULL;
}

/* Session A takes every event while a thread enables and disables the same
** provider on session B: every write reaches A, or A counts it lost. */
static void test_toggle(eng_provider *p) {
  eng_session *a = t_start("tog-a", 64, 32, 20), *b = t_start("tog-b", 4, 1, 20);
  eng_consumer *c = NULL;
  CHECK(eng_consumer_open("tog-a", &c) == ENG_OK, "consumer on A");
  if (!a || !b || !c) return;
  eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
  toggle_arg ta = {p, b, 0, 0};
  pthread_t w, t;
  pthread_create(&t, NULL, toggler, &ta);
  pthread_create(&w, NULL, toggle_writer, &ta);
  rec_record rec;
  long events = 0, lost = 0;
  int st;
  while (!atomic_load(&ta.done)) {
    if ((st = eng_consumer_next(c, &rec, 50)) != ENG_OK) continue;
    if (rec.kind == REC_KIND_EVENT) events++;
    else if (rec.kind == REC_KIND_LOST) lost += (long)rec.lost;
  }
  pthread_join(w, NULL);
  pthread_join(t, NULL);
  eng_session_stop(a);
  while ((st = eng_consumer_next(c, &rec, 1000)) == ENG_OK) {
    if (rec.kind == REC_KIND_EVENT) events++;
    else if (rec.kind == REC_KIND_LOST) lost += (long)rec.lost;
  }
  CHECK(st == ENG_E_STOPPED, "A drained to its end (%s)", eng_strerror(st));
  CHECK(ta.other_st == 0, "writes said OK or LOST (%ld other)", ta.other_st);
  CHECK(events + lost == TOGGLE_WRITES,
        "every write reached A or was counted lost: %ld events + %ld lost of %d", events, lost,
        TOGGLE_WRITES);
  eng_consumer_close(c);
  eng_session_close(a);
  eng_session_stop(b);
  eng_session_close(b);
}

/* --------------------------------------------- main thread exited */

static int proc_state(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  return p && p[1] ? p[2] : 0;
}

static int zpipe[2];

static void *z_worker(void *arg) {
  (void)arg;
  char x;
  while (read(zpipe[0], &x, 1) < 0 && errno == EINTR) {}
  _exit(0);                                  /* the last thread ends the process */
}

/* The owner's (and consumer's) main thread calls pthread_exit while a
** worker lives on: /proc says Z, but the process is alive. */
static void test_main_thread_exit(void) {
  int ready[2];
  if (pipe(zpipe) != 0 || pipe(ready) != 0) { CHECK(0, "pipe"); return; }
  pid_t pid = fork();
  if (pid == 0) {
    alarm(30);
    close(zpipe[1]);
    close(ready[0]);
    eng_session *s;
    eng_consumer *c;
    char ok = eng_session_start("zmain", NULL, &s) == ENG_OK &&
              eng_consumer_open("zmain", &c) == ENG_OK ? 'y' : 'n';
    pthread_t th;
    pthread_create(&th, NULL, z_worker, NULL);
    if (write(ready[1], &ok, 1) != 1) _exit(2);
    pthread_exit(NULL);
  }
  close(zpipe[0]);
  close(ready[1]);
  char ok = 0;
  CHECK(read(ready[0], &ok, 1) == 1 && ok == 'y', "child owns and consumes zmain");
  close(ready[0]);
  for (int i = 0; i < 500 && proc_state(pid) != 'Z'; i++) usleep(10000);
  CHECK(proc_state(pid) == 'Z', "its main thread exited (/proc state %c)", proc_state(pid));
  eng_consumer *c = NULL;
  int st = eng_consumer_open("zmain", &c);
  CHECK(st == ENG_E_BUSY, "a second consumer is refused (%s)", eng_strerror(st));
  if (c) eng_consumer_close(c);
  eng_session_info info[8];
  size_t n = 0;
  eng_sessions_list(info, 8, &n);
  int found = 0;
  for (size_t i = 0; i < n && i < 8; i++)
    if (strcmp(info[i].name, "zmain") == 0) {
      found = 1;
      CHECK(info[i].state == ENG_SESSION_RUNNING, "the session is running, not stale");
      CHECK(info[i].consumer_pid == pid, "its consumer is listed (%d)", info[i].consumer_pid);
    }
  CHECK(found, "zmain listed");
  close(zpipe[1]);                           /* the worker ends the child */
  CHECK(wait_child(pid) == 0, "child ended");
  eng_sessions_list(info, 8, &n);
  for (size_t i = 0; i < n && i < 8; i++)
    if (strcmp(info[i].name, "zmain") == 0)
      CHECK(info[i].state == ENG_SESSION_STALE, "once it has ended, zmain is stale");
  eng_session_stop_name("zmain");
}

/* ------------------------------------------------- handles across fork */

static int child_status(pid_t pid) { return pid < 0 ? -1 : wait_child(pid); }

/* A consumer inherited by a child: next says BUSY, close leaves the
** parent's read position alone. */
static void test_fork_consumer(eng_provider *p) {
  eng_session *s = t_start("fork-c", 64, 1, 20);
  eng_consumer *c = NULL;
  eng_consumer_open("fork-c", &c);
  if (!s || !c) { CHECK(0, "setup"); return; }
  eng_session_enable(s, &T_PROV, 5, ~0ull, 0);
  t_payload pl = {0};
  for (int i = 0; i < 10; i++, pl.counter++) t_write(p, 4, 1, 1, &pl, NULL, NULL);
  rec_record rec;
  int got = 0;
  while (got < 10 && eng_consumer_next(c, &rec, 1000) == ENG_OK) got += rec.kind == REC_KIND_EVENT;
  int go[2];
  if (pipe(go) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    char x;
    if (read(go[0], &x, 1) != 1) _exit(2);
    int st = eng_consumer_next(c, &rec, 0);
    eng_consumer_close(c);
    _exit(st == ENG_E_BUSY && strstr(eng_detail(st), "inherited across fork") ? 0 : 3);
  }
  close(go[0]);
  for (int i = 0; i < 100; i++, pl.counter++) t_write(p, 4, 1, 1, &pl, NULL, NULL);
  while (got < 110 && eng_consumer_next(c, &rec, 1000) == ENG_OK) got += rec.kind == REC_KIND_EVENT;
  CHECK(got == 110, "parent read 110 events (%d)", got);
  CHECK(eng_consumer_next(c, &rec, 0) == ENG_E_TIMEOUT, "and published its position");
  CHECK(write(go[1], "x", 1) == 1, "tell the child");
  close(go[1]);
  CHECK(child_status(pid) == 0, "child: next on the inherited consumer says BUSY");
  int dup = 0;
  while (eng_consumer_next(c, &rec, 50) == ENG_OK) dup += rec.kind == REC_KIND_EVENT;
  CHECK(dup == 0, "no event read twice after the child closed its copy (%d)", dup);
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
}

/* A file-mode session inherited by a child: its close, stop and exit()
** leave the parent's session running. */
static void test_fork_file_session(void) {
  char path[300];
  snprintf(path, sizeof path, "%s/fork.etl", test_dir);
  eng_session_opts o = {0};
  o.mode = ENG_MODE_FILE;
  o.file = path;
  eng_session *s = NULL;
  int st = eng_session_start("fork-f", &o, &s);
  CHECK(st == ENG_OK, "file session (%s)", eng_strerror(st));
  if (!s) return;
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    int r = eng_session_stop(s);
    eng_session_close(s);
    _exit(r == ENG_E_BUSY ? 0 : 3);
  }
  CHECK(child_status(pid) == 0, "child: stop on the inherited handle says BUSY");
  eng_session_stats stats;
  CHECK(eng_session_query(s, &stats) == ENG_OK, "the parent's file session still runs");
  eng_session *h = NULL;
  CHECK(eng_session_open("fork-f", &h) == ENG_OK, "and is listed");
  eng_session_close(h);
  eng_session_stop(s);
  eng_session_close(s);
  unlink(path);
}

/* ----------------------------------------- reclaim sequence left odd */


static void *write_ten(void *arg) {
  t_payload pl = {0, 1, my_tid(), 0, 0};
  for (int i = 0; i < 10; i++, pl.counter++) t_write(arg, 4, 1, 1, &pl, NULL, NULL);
  return NULL;
}

/* A consumer killed inside a reclaim leaves reclaim_seq odd; the next
** reclaim must leave it even again (else stats spin on it for ever). */
static void test_reclaim_seq(eng_provider *p) {
  eng_session *s = t_start("rseq", 4, 1, 20);
  eng_consumer *c = NULL;
  eng_consumer_open("rseq", &c);
  shm_smap m = {0};
  if (!s || !c || map_session("rseq", &m) != ENG_OK) { CHECK(0, "setup"); return; }
  eng_session_enable(s, &T_PROV, 5, ~0ull, 0);
  atomic_store(&m.hdr->reclaim_seq, 7);      /* as a consumer that died mid-reclaim left it */
  pthread_t th;
  pthread_create(&th, NULL, write_ten, p);
  pthread_join(th, NULL);                    /* its ring is now CLOSED */
  rec_record rec;
  int got = 0;
  while (eng_consumer_next(c, &rec, 50) == ENG_OK) got += rec.kind == REC_KIND_EVENT;
  CHECK(got == 10, "read the thread's 10 events (%d)", got);
  uint32_t q = atomic_load(&m.hdr->reclaim_seq);
  CHECK(q > 7 && !(q & 1), "after a reclaim the sequence is even (%u)", q);
  eng_session_stats st;
  CHECK(eng_session_query(s, &st) == ENG_OK && st.events == 10, "stats count the reclaimed ring (%llu)",
        (unsigned long long)st.events);
  shm_smap_close(&m);
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
}

/* -------------------------------------- registry repair after a death */

/* A lock holder died inside shm_prov_clear after copying the last session
** into the hole: the entry lists a session twice. The next lock holder's
** repair must list each session once (else events reach it twice). */
static void test_repair_duplicate(eng_provider *p) {
  eng_session *s1 = t_start("rep-1", 64, 1, 20), *s2 = t_start("rep-2", 64, 1, 20);
  eng_session *s3 = t_start("rep-3", 64, 1, 20);
  eng_consumer *c = NULL;
  eng_consumer_open("rep-3", &c);
  if (!s1 || !s2 || !s3 || !c) { CHECK(0, "setup"); return; }
  eng_session_enable(s1, &T_PROV, 5, ~0ull, 0);
  eng_session_enable(s2, &T_PROV, 5, ~0ull, 0);
  eng_session_enable(s3, &T_PROV, 5, ~0ull, 0);
  pid_t pid = fork();
  if (pid == 0) {
    shm_reg *r;
    shm_prov_entry *e;
    if (shm_reg_get(&r) != ENG_OK || shm_reg_lock(r) != ENG_OK) _exit(1);
    if (shm_prov_find(r, &T_PROV, 0, &e) != ENG_OK || atomic_load(&e->nsess) != 3) _exit(2);
    /* shm_prov_clear of sess[0], stopped between its copy and its shrink */
    atomic_store(&e->merged.gen, atomic_load(&e->merged.gen) | 1u);
    shm_prov_sess *d = &e->sess[0], *l = &e->sess[2];
    atomic_store(&d->sess, atomic_load(&l->sess));
    atomic_store(&d->sess_gen, atomic_load(&l->sess_gen));
    atomic_store(&d->level_plus1, atomic_load(&l->level_plus1));
    atomic_store(&d->any, atomic_load(&l->any));
    atomic_store(&d->all, atomic_load(&l->all));
    _exit(0);                                  /* dies holding the lock */
  }
  CHECK(wait_child(pid) == 0, "child died inside a clear");
  eng_session_stats st;
  CHECK(eng_session_query(s1, &st) == ENG_OK, "the lock is recovered");
  shm_reg *r;
  shm_prov_entry *e = NULL;
  if (shm_reg_get(&r) == ENG_OK && shm_reg_lock(r) == ENG_OK) {
    shm_prov_find(r, &T_PROV, 0, &e);
    shm_reg_unlock(r);
  }
  if (!e) { CHECK(0, "entry"); return; }
  uint32_t n = atomic_load(&e->nsess), seen[SHM_MAX_SESSIONS + 1] = {0}, twice = 0;
  for (uint32_t i = 0; i < n && i < SHM_SESS_PER_PROV; i++) {
    uint32_t k = atomic_load(&e->sess[i].sess);
    if (k <= SHM_MAX_SESSIONS && seen[k]++) twice++;
  }
  CHECK(twice == 0 && !(atomic_load(&e->merged.gen) & 1u), "each session listed once (%u of %u twice)",
        twice, n);
  t_payload pl = {0};
  t_write(p, 4, 1, 1, &pl, NULL, NULL);
  rec_record rec;
  int got = 0;
  while (eng_consumer_next(c, &rec, 50) == ENG_OK) got += rec.kind == REC_KIND_EVENT;
  CHECK(got == 1, "one write reaches rep-3 once (%d)", got);
  eng_consumer_close(c);
  eng_session *ss[3] = {s1, s2, s3};
  for (int i = 0; i < 3; i++) { eng_session_stop(ss[i]); eng_session_close(ss[i]); }
}

/* ------------------------------------ owner of a file session killed */

/* A child starts a file session enabling the provider and is SIGKILLed.
** Nobody will ever drain it: once its ring is full the provider must stop
** being enabled, within a bounded number of writes. */
static void test_dead_file_owner(eng_provider *p) {
  char path[300];
  snprintf(path, sizeof path, "%s/dead.etl", test_dir);
  int ready[2];
  if (pipe(ready) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    alarm(30);
    eng_session_opts o = {0};
    o.mode = ENG_MODE_FILE;
    o.file = path;
    o.buffer_kb = 4;
    o.min_buffers = 1;
    eng_session *s;
    char ok = eng_session_start("dead-owner", &o, &s) == ENG_OK &&
              eng_session_enable(s, &T_PROV, 5, ~0ull, 0) == ENG_OK ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(2);
    for (;;) pause();
  }
  close(ready[1]);
  char ok = 0;
  CHECK(read(ready[0], &ok, 1) == 1 && ok == 'y', "child started a file session");
  close(ready[0]);
  CHECK(eng_enabled(p, 4, 1), "the provider is enabled");
  kill(pid, SIGKILL);
  CHECK(wait_child(pid) == 128 + SIGKILL, "owner killed");
  t_payload pl = {0};
  long writes = 0;
  /* a 4 KB ring holds < 40 events: 100000 writes is a wide bound */
  while (writes < 100000 && eng_enabled(p, 4, 1)) {
    t_write(p, 4, 1, 1, &pl, NULL, NULL);
    writes++;
  }
  CHECK(!eng_enabled(p, 4, 1), "not enabled after %ld writes", writes);
  eng_session_info info[8];
  size_t n = 0;
  eng_sessions_list(info, 8, &n);
  int stale = 0;
  for (size_t i = 0; i < n && i < 8; i++)
    stale |= strcmp(info[i].name, "dead-owner") == 0 && info[i].state == ENG_SESSION_STALE;
  CHECK(stale, "the session is still listed, as stale");
  CHECK(eng_session_stop_name("dead-owner") == ENG_OK, "and stop removes it");
  unlink(path);
}

/* ------------------------------------------------ replacing a name */

/* A running session of the name: EXISTS, unless replace stops it first;
** the old handle and consumer see it stopped, the new one lives on. */
static void test_replace(void) {
  eng_session *old = t_start("rep-name", 4, 1, 20), *again = NULL, *s = NULL;
  eng_consumer *c = NULL;
  eng_consumer_open("rep-name", &c);
  if (!old || !c) { CHECK(0, "setup"); return; }
  eng_session_enable(old, &T_PROV, 5, ~0ull, 0);
  eng_session_opts o = {0};
  CHECK(eng_session_start("REP-name", &o, &again) == ENG_E_EXISTS && !again, "a running name: EXISTS");
  o.replace = 1;
  int st = eng_session_start("rep-name", &o, &s);
  CHECK(st == ENG_OK && s, "replace = 1 starts anew (%s)", eng_strerror(st));
  rec_record rec;
  CHECK(eng_consumer_next(c, &rec, 1000) == ENG_E_STOPPED, "the old consumer ends");
  eng_session_stats stats;
  CHECK(eng_session_query(old, &stats) == ENG_E_STOPPED, "the old handle's session is gone");
  CHECK(s && eng_session_query(s, &stats) == ENG_OK && stats.providers == 0,
        "the new session runs, without the old one's enables");
  eng_session_stop(old);                       /* the old handle stops nothing now */
  eng_session_close(old);
  CHECK(s && eng_session_query(s, &stats) == ENG_OK, "still running after the old handle's stop");
  eng_consumer_close(c);
  /* a session of another live process */
  int ready[2], done[2];
  if (pipe(ready) != 0 || pipe(done) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    alarm(20);
    close(ready[0]);
    close(done[1]);
    eng_session *h;
    char ok = eng_session_start("rep-other", NULL, &h) == ENG_OK ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(2);
    char x;
    if (read(done[0], &x, 1) != 1) _exit(3);
    eng_session_stats hs;
    _exit(eng_session_query(h, &hs) == ENG_E_STOPPED ? 0 : 4);
  }
  close(ready[1]);
  close(done[0]);
  char ok = 0;
  CHECK(read(ready[0], &ok, 1) == 1 && ok == 'y', "child started rep-other");
  eng_session *s2 = NULL;
  CHECK(eng_session_start("rep-other", NULL, &s2) == ENG_E_EXISTS, "another process's live session: EXISTS");
  CHECK(eng_session_start("rep-other", &o, &s2) == ENG_OK, "replace takes it over");
  CHECK(write(done[1], "x", 1) == 1, "tell the child");
  CHECK(wait_child(pid) == 0, "the child's handle says STOPPED");
  close(ready[0]);
  close(done[1]);
  eng_session *list[2] = {s, s2};
  for (int i = 0; i < 2; i++) { eng_session_stop(list[i]); eng_session_close(list[i]); }
}

/* --------------------------------------- owner in another pid namespace */

/* A session started by a process of another pid namespace (a container
** sharing the runtime directory): its pid means nothing here (kill says
** ESRCH, or finds another process), so it must not be judged stale. */
static void test_other_pidns(void) {
  int ready[2], done[2];
  if (pipe(ready) != 0 || pipe(done) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    alarm(20);
    close(ready[0]);
    close(done[1]);
    char no = 'u';
    /* a container: its own pid namespace and its own /proc */
    if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
      if (write(ready[1], &no, 1)) {}
      _exit(0);
    }
    pid_t inner = fork();                       /* pid 1 of the new namespace */
    if (inner == 0) {
      if (mount("proc", "/proc", "proc", 0, NULL) != 0) _exit(5);
      eng_session *h;
      char ok = eng_session_start("ns-owner", NULL, &h) == ENG_OK ? 'y' : 'n';
      if (write(ready[1], &ok, 1) != 1) _exit(2);
      char x;
      if (read(done[0], &x, 1) < 0) _exit(3);
      eng_session_stop(h);
      _exit(0);
    }
    _exit(inner > 0 && wait_child(inner) == 0 ? 0 : 4);
  }
  close(ready[1]);
  close(done[0]);
  char ok = 0;
  if (read(ready[0], &ok, 1) != 1) ok = 0;
  close(ready[0]);
  if (ok == 'u') {
    skip("pid namespace: unshare(CLONE_NEWPID | CLONE_NEWNS) not permitted");
  } else {
    CHECK(ok == 'y', "a process in a new pid namespace started ns-owner");
    eng_session_info info[8];
    size_t n = 0;
    eng_sessions_list(info, 8, &n);
    int running = 0;
    for (size_t i = 0; i < n && i < 8; i++)
      running |= strcmp(info[i].name, "ns-owner") == 0 && info[i].state == ENG_SESSION_RUNNING;
    CHECK(running, "listed as running, not stale");
    eng_session *s = NULL;
    CHECK(eng_session_start("ns-owner", NULL, &s) == ENG_E_EXISTS, "its name is taken, not replaced as stale");
    if (s) { eng_session_stop(s); eng_session_close(s); }
  }
  close(done[1]);
  CHECK(wait_child(pid) == 0, "the namespace's processes ended");
  eng_session_stop_name("ns-owner");
}

int main(void) {
  test_setup(120);
  eng_provider *p = NULL;
  CHECK(eng_provider_register(&T_PROV, T_TRAITS, sizeof T_TRAITS, &p) == ENG_OK, "register");
  if (!p) return unit_finish();
  test_main_thread_exit();
  test_fork_consumer(p);
  test_fork_file_session();
  test_reclaim_seq(p);
  test_repair_duplicate(p);
  test_dead_file_owner(p);
  test_replace();
  test_other_pidns();
  test_toggle(p);
  eng_provider_unregister(p);
  return unit_finish();
}
