/*
** test_shm_session.c: the engine.h contracts of sessions, consumers and
** providers on the shm engine: argument errors, names, one consumer per
** session, stop idempotence and its effect on every handle, statistics,
** the 64-session table, rings running out, oversized events.
*/
#include "shm_testutil.h"

#include <pthread.h>

static void test_args(void) {
  eng_session *s = (eng_session *)1;
  char long_name[ENG_SESSION_NAME_MAX + 2];
  memset(long_name, 'n', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = 0;
  CHECK(eng_session_start(NULL, NULL, &s) == ENG_E_ARG && s == NULL, "NULL name");
  CHECK(eng_session_start("", NULL, &s) == ENG_E_ARG, "empty name");
  CHECK(eng_session_start(long_name, NULL, &s) == ENG_E_ARG, "name of 201 bytes");
  CHECK(eng_session_start("x", NULL, NULL) == ENG_E_ARG, "NULL out");
  eng_session_opts o = {.buffer_kb = 2};
  CHECK(eng_session_start("x", &o, &s) == ENG_E_ARG, "buffer_kb 2");
  o = (eng_session_opts){.mode = ENG_MODE_FILE};
  CHECK(eng_session_start("x", &o, &s) == ENG_E_ARG, "file mode without a file");
  o.mode = ENG_MODE_CIRCULAR;
  o.file = "";
  CHECK(eng_session_start("x", &o, &s) == ENG_E_ARG, "circular mode with an empty file name");
  o = (eng_session_opts){.max_mb = 1};
  CHECK(eng_session_start("x", &o, &s) == ENG_E_ARG, "max_mb is for file modes");
  o.mode = 7;
  CHECK(eng_session_start("x", &o, &s) == ENG_E_ARG, "unknown mode");
  long_name[ENG_SESSION_NAME_MAX] = 0;
  CHECK(eng_session_start(long_name, NULL, &s) == ENG_OK, "name of 200 bytes");
  eng_session_stop(s);
  eng_session_close(s);
  CHECK(eng_session_open("nope", &s) == ENG_E_NOTFOUND, "open unknown");
  eng_consumer *c;
  CHECK(eng_consumer_open("nope", &c) == ENG_E_NOTFOUND, "consume unknown");
  CHECK(eng_session_stop_name("nope") == ENG_E_NOTFOUND, "stop unknown");
  eng_provider *p = (eng_provider *)1;
  CHECK(eng_provider_register(NULL, NULL, 0, &p) == ENG_E_ARG && p == NULL, "register NULL id");
  CHECK(eng_provider_register(&T_PROV, NULL, 70000, &p) == ENG_E_ARG, "traits too long");
  tlg_desc d = {0};
  CHECK(eng_provider_write(NULL, &d, NULL, NULL, 0, NULL) == ENG_E_ARG, "write NULL provider");
  eng_session_close(NULL);
  eng_consumer_close(NULL);
  eng_consumer_stop(NULL);
  eng_provider_unregister(NULL);
  int distinct = 1;
  for (int i = 0; i < ENG_STATUS_COUNT; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(eng_strerror(i), eng_strerror(j)) == 0) distinct = 0;
  CHECK(distinct && strcmp(eng_strerror(-1), "unknown error") == 0 &&
        strcmp(eng_strerror(ENG_STATUS_COUNT), "unknown error") == 0, "eng_strerror");
}

static void test_lifecycle(void) {
  eng_session *s = t_start("Life", 4, 4, 50), *dup = NULL, *h = NULL;
  if (!s) return;
  CHECK(eng_session_start("life", NULL, &dup) == ENG_E_EXISTS, "names ignore ASCII case");
  CHECK(eng_session_open("LIFE", &h) == ENG_OK, "open by name");
  eng_provider *p = NULL;
  eng_provider_register(&T_PROV, T_TRAITS, sizeof T_TRAITS, &p);
  CHECK(h && eng_session_enable(h, &T_PROV, 3, 1, 0) == ENG_OK && eng_enabled(p, 3, 1),
        "enable through an opened handle");
  eng_consumer *c = NULL, *c2 = NULL;
  CHECK(eng_consumer_open("life", &c) == ENG_OK, "consumer");
  CHECK(eng_consumer_open("life", &c2) == ENG_E_BUSY, "one consumer per session");
  eng_session_stats st;
  int qs = eng_session_query(s, &st);
  CHECK(qs == ENG_OK && st.providers == 1 && st.consumer_pid == getpid() && st.rings == 0 &&
        st.events == 0, "stats before writing: providers %u rings %u", st.providers, st.rings);
  t_payload pl = {0};
  for (int i = 0; i < 10; i++) t_write(p, 3, 1, 1, &pl, NULL, NULL);
  qs = eng_session_query(h, &st);
  CHECK(qs == ENG_OK && st.events == 10 && st.rings == 1 && st.buffers == 4 && st.bytes > 0,
        "stats after 10: events %llu rings %u buffers %u bytes %llu",
        (unsigned long long)st.events, st.rings, st.buffers, (unsigned long long)st.bytes);
  eng_session_info info[1];
  size_t n = 0;
  int ls = eng_sessions_list(NULL, 0, &n);
  CHECK(ls == ENG_OK && n == 1, "list with no room still counts (%zu)", n);
  ls = eng_sessions_list(info, 1, &n);
  CHECK(ls == ENG_OK && strcmp(info[0].name, "Life") == 0 && info[0].events == 10 &&
        info[0].providers == 1 && info[0].mode == ENG_MODE_REALTIME, "list keeps the name's case");
  CHECK(eng_session_stop(h) == ENG_OK, "stop through the opened handle");
  CHECK(eng_session_stop(s) == ENG_OK && eng_session_stop(h) == ENG_OK, "stop is idempotent");
  CHECK(eng_session_query(s, &st) == ENG_E_STOPPED && eng_session_flush(s) == ENG_E_STOPPED &&
        eng_session_enable(s, &T_PROV, 1, 1, 0) == ENG_E_STOPPED &&
        eng_session_disable(s, &T_PROV) == ENG_E_STOPPED, "a stopped session refuses control");
  qs = eng_session_query(h, &st);
  CHECK(qs == ENG_OK && st.events == 10 && st.providers == 1 && st.consumer_pid == 0 &&
        eng_session_flush(h) == ENG_E_STOPPED,
        "the handle that stopped it keeps the final statistics (events %llu)",
        (unsigned long long)st.events);
  CHECK(!eng_enabled_any(p), "and enables nothing");
  rec_record rec;
  int got = 0, rs;
  while ((rs = eng_consumer_next(c, &rec, 100)) == ENG_OK) got++;
  CHECK(got == 10 && rs == ENG_E_STOPPED, "the consumer drains, then ENG_E_STOPPED (%d, %s)", got,
        eng_strerror(rs));
  CHECK(eng_consumer_next(c, &rec, 0) == ENG_E_STOPPED, "and stays stopped");
  CHECK(eng_session_open("life", &dup) == ENG_E_NOTFOUND, "the name is free");
  eng_session *again = t_start("life", 4, 4, 50);
  CHECK(again != NULL, "and can be started again");
  eng_consumer_close(c);
  CHECK(eng_consumer_open("life", &c) == ENG_OK, "consumer of the new session");
  eng_consumer_close(c);
  CHECK(eng_consumer_open("life", &c) == ENG_OK, "closing frees the consumer place");
  eng_consumer_close(c);
  eng_session_stop(again);
  eng_session_close(again);
  eng_session_close(s);
  eng_session_close(h);
  eng_provider_unregister(p);
}

static void test_table_full(void) {
  eng_session *s[65] = {0};
  int ok = 0;
  for (int i = 0; i < 64; i++) {
    char name[16];
    snprintf(name, sizeof name, "t%d", i);
    eng_session_opts o = {.buffer_kb = 4, .min_buffers = 1, .max_buffers = 1};
    ok += eng_session_start(name, &o, &s[i]) == ENG_OK;
  }
  CHECK(ok == 64, "64 sessions (%d)", ok);
  CHECK(eng_session_start("t64", NULL, &s[64]) == ENG_E_FULL, "the 65th: ENG_E_FULL");
  size_t n = 0;
  eng_sessions_list(NULL, 0, &n);
  CHECK(n == 64, "listed: %zu", n);
  for (int i = 0; i < 64; i++) { eng_session_stop(s[i]); eng_session_close(s[i]); }
}

/* One ring for the whole session. A thread takes it and ends; a second
** thread finds none while the ring is not yet reclaimed: its events are
** counted lost (stats, and a notice without a thread); once the consumer
** reclaims the ring, the second thread gets it on a later retry. */
typedef struct two_phase {
  eng_provider *p;
  pthread_barrier_t bar;
  long lost[2], ok[2];
} two_phase;

static void *one_event(void *arg) {
  t_payload pl = {0};
  t_write(arg, 4, 1, 1, &pl, NULL, NULL);
  return NULL;
}

static void *second_writer(void *arg) {
  two_phase *tp = arg;
  t_payload pl = {0};
  for (int phase = 0; phase < 2; phase++) {
    for (int i = 0; i < (phase ? 5000 : 10); i++) {
      int st = t_write(tp->p, 4, 1, 1, &pl, NULL, NULL);
      tp->lost[phase] += st == ENG_E_LOST;
      tp->ok[phase] += st == ENG_OK;
    }
    pthread_barrier_wait(&tp->bar);
    if (!phase) pthread_barrier_wait(&tp->bar);
  }
  return NULL;
}

static void test_no_ring(void) {
  eng_session_opts o = {.buffer_kb = 64, .min_buffers = 1, .max_buffers = 1, .flush_ms = 20};
  eng_session *s = NULL;
  CHECK(eng_session_start("onering", &o, &s) == ENG_OK, "start");
  eng_consumer *c = NULL;
  eng_consumer_open("onering", &c);
  eng_provider *p = NULL;
  eng_provider_register(&T_PROV, NULL, 0, &p);
  if (!s || !c || !p) return;
  eng_session_enable(s, &T_PROV, 5, ~0ull, 0);
  pthread_t th;
  pthread_create(&th, NULL, one_event, p);               /* takes the ring, ends */
  pthread_join(th, NULL);
  static two_phase tp;
  tp.p = p;
  pthread_barrier_init(&tp.bar, NULL, 2);
  pthread_create(&th, NULL, second_writer, &tp);
  pthread_barrier_wait(&tp.bar);                         /* phase 0 done */
  CHECK(tp.lost[0] == 10, "no ring free: ENG_E_LOST x %ld", tp.lost[0]);
  eng_session_stats st;
  eng_session_query(s, &st);
  CHECK(st.lost == 10 && st.events == 1, "stats: lost %llu events %llu", (unsigned long long)st.lost,
        (unsigned long long)st.events);
  rec_record rec;
  long ev = 0, notices = 0;
  while (eng_consumer_next(c, &rec, 0) == ENG_OK) {       /* also reclaims the closed ring */
    if (rec.kind == REC_KIND_EVENT) ev++;
    else if (rec.kind == REC_KIND_LOST && rec.pid == 0) notices += (long)rec.lost;
  }
  CHECK(ev == 1 && notices == 10, "in-band: %ld event, notice of %ld", ev, notices);
  pthread_barrier_wait(&tp.bar);                         /* phase 1 */
  pthread_barrier_wait(&tp.bar);
  pthread_join(th, NULL);
  pthread_barrier_destroy(&tp.bar);
  CHECK(tp.ok[1] > 0 && tp.ok[1] + tp.lost[1] == 5000, "a later retry gets the freed ring (%ld written)",
        tp.ok[1]);
  ev = notices = 0;
  while (eng_consumer_next(c, &rec, 0) == ENG_OK) {
    if (rec.kind == REC_KIND_EVENT) ev++;
    else if (rec.kind == REC_KIND_LOST) notices += (long)rec.lost;
  }
  CHECK(ev == tp.ok[1] && notices == tp.lost[1], "then delivered: %ld events, %ld lost", ev, notices);
  /* an event too large for the ring */
  static uint8_t big[40000];
  eng_data dd = {big, sizeof big, ENG_DATA_PAYLOAD, {0}};
  tlg_desc d = {.level = 4, .keyword = 1};
  CHECK(eng_provider_write(p, &d, NULL, NULL, 1, &dd) == ENG_E_TOOBIG, "event above half a ring");
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
  eng_provider_unregister(p);
}

/* Timestamps converted from the session clock agree with CLOCK_REALTIME
** within 2 ms, also for a session started a while before. */
static void test_timestamps(void) {
  eng_session *s = t_start("clock", 4, 4, 50);
  eng_consumer *c = NULL;
  eng_consumer_open("clock", &c);
  eng_provider *p = NULL;
  eng_provider_register(&T_PROV, NULL, 0, &p);
  if (!s || !c || !p) return;
  eng_session_enable(s, &T_PROV, 5, ~0ull, 0);
  int bad = 0;
  int64_t worst = 0;
  for (int i = 0; i < 5; i++) {
    usleep(50000);
    t_payload pl = {0};
    int64_t before = now_filetime();
    t_write(p, 4, 1, 1, &pl, NULL, NULL);
    int64_t after = now_filetime();
    rec_record rec;
    if (eng_consumer_next(c, &rec, 0) != ENG_OK) { bad++; continue; }
    int64_t off = rec.timestamp < before ? before - rec.timestamp
                : rec.timestamp > after ? rec.timestamp - after : 0;
    if (off > worst) worst = off;
  }
  CHECK(bad == 0 && worst <= 20000, "timestamps within 2 ms of the wall clock (worst %lld us)",
        (long long)worst / 10);
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
  eng_provider_unregister(p);
}

int main(void) {
  test_setup(120);
  test_timestamps();
  test_args();
  test_lifecycle();
  test_table_full();
  test_no_ring();
  return unit_finish();
}
