/*
** test_shm_route_model.c: the route cache of the shm engine against a
** model of ETW's enable rule. One thread runs a long pseudo-random mix of
** enables (levels, any and all keyword masks), disables, sessions stopped
** and started again under the same name, providers closed and opened
** again, and writes of events of several levels and keywords (runs of the
** same event, so cached routes are used), by eng_prepared_write,
** eng_provider_write, eng_prepared_reserve + commit, with activity ids,
** and from a new thread. After each write every session's consumer must
** hold exactly that event if the model says the session takes it, and
** nothing otherwise. The model is the rule of engine.h written out here,
** not the engine's code. Then the same under concurrency: writer threads
** send keyword-1 and keyword-2 events by both paths while another thread
** enables keyword 2 in a second session, disables it, stops it and starts
** it again under the same name: the first session (keyword 1 only, never
** changed) must get every keyword-1 event or count it lost, and neither
** session an event of the other's keyword.
*/
#include "shm_testutil.h"

#include <pthread.h>

#define NS 3                               /* sessions */
#define NP 2                               /* providers */
#define STEPS 20000

/* The model's checks report failures only; the model as a whole is one
** case (its summary check in main), not one per step. */
static long model_failures;
#define MCHECK(ok, ...) \
  do { if (!(ok)) { model_failures++; CHECK(0, __VA_ARGS__); } } while (0)

static const uint8_t LEVELS[] = {0, 1, 4, 5};
static const uint64_t KWS[] = {0, 1, 2, 3, 0x8000000000000000ull};
#define NL (sizeof LEVELS / sizeof LEVELS[0])
#define NK (sizeof KWS / sizeof KWS[0])
static const uint64_t MASKS[] = {0, 1, 2, 3, ~0ull};
#define NM (sizeof MASKS / sizeof MASKS[0])

typedef struct model_en {
  int on;
  uint8_t level;
  uint64_t any, all;
} model_en;

static struct {
  eng_session *s[NS];
  eng_consumer *c[NS];
  model_en en[NS][NP];
  tlg_guid id[NP];
  eng_provider *p[NP];
  eng_prepared *e[NP][NL][NK];
  uint64_t counter;
  uint32_t rng;
  long mismatches;
} M;

static uint32_t rnd(uint32_t n) {
  M.rng = M.rng * 1103515245u + 12345u;
  return (M.rng >> 8) % n;
}

/* engine.h's rule: (L == 0 or l <= L) and (k == 0 or (k & A and k & B == B)),
** A == 0 stored as every keyword. */
static int model_takes(const model_en *m, uint8_t l, uint64_t k) {
  if (!m->on) return 0;
  uint64_t any = m->any ? m->any : ~0ull;
  if (m->level != 0 && l > m->level) return 0;
  return k == 0 || ((k & any) != 0 && (k & m->all) == m->all);
}

static tlg_desc desc_of(unsigned li, unsigned ki) {
  tlg_desc d = {.id = (uint16_t)(li * NK + ki + 1), .version = 1, .channel = 11,
                .level = LEVELS[li], .opcode = 2, .task = 7, .keyword = KWS[ki]};
  return d;
}

static void open_provider(int i) {
  MCHECK(eng_provider_register(&M.id[i], T_TRAITS, sizeof T_TRAITS, &M.p[i]) == ENG_OK,
        "register %d", i);
  for (unsigned l = 0; l < NL; l++)
    for (unsigned k = 0; k < NK; k++) {
      tlg_desc d = desc_of(l, k);
      M.e[i][l][k] = NULL;
      if (M.p[i]) MCHECK(eng_prepare(M.p[i], &d, T_META, sizeof T_META, &M.e[i][l][k]) == ENG_OK,
                        "prepare");
    }
}

static void close_provider(int i) {
  for (unsigned l = 0; l < NL; l++)
    for (unsigned k = 0; k < NK; k++) eng_prepared_free(M.e[i][l][k]);
  eng_provider_unregister(M.p[i]);
  M.p[i] = NULL;
}

static void start_session(int s) {
  char name[32];
  snprintf(name, sizeof name, "rtm-%d", s);
  M.s[s] = t_start(name, 64, 2, 20);
  M.c[s] = NULL;
  MCHECK(M.s[s] && eng_consumer_open(name, &M.c[s]) == ENG_OK, "consumer %s", name);
  for (int i = 0; i < NP; i++) M.en[s][i].on = 0;
}

static void stop_session(int s) {
  eng_consumer_close(M.c[s]);
  if (M.s[s]) { eng_session_stop(M.s[s]); eng_session_close(M.s[s]); }
  M.s[s] = NULL;
  M.c[s] = NULL;
}

/* One event's writing, by one of the paths. */
typedef struct wr {
  int i, path;
  unsigned l, k;
  uint64_t n;
  int st;
} wr;

static void fill(void *ctx, uint8_t *dst) {
  const wr *w = ctx;
  t_payload pl = {7, 0, 0, 0, w->n};
  memcpy(dst, &pl, sizeof pl);
}

static const tlg_guid ACT = {{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6}};

static void do_write(wr *w) {
  eng_prepared *e = M.e[w->i][w->l][w->k];
  t_payload pl = {7, 0, 0, 0, w->n};
  switch (w->path) {
  case 0: w->st = eng_prepared_write(e, NULL, NULL, sizeof pl, fill, w); break;
  case 1: {
    tlg_desc d = desc_of(w->l, w->k);
    eng_data dd[2] = {{T_META, sizeof T_META, ENG_DATA_EVENT_META, {0}},
                      {&pl, sizeof pl, ENG_DATA_PAYLOAD, {0}}};
    w->st = eng_provider_write(M.p[w->i], &d, NULL, NULL, 2, dd);
    break;
  }
  case 2: {
    eng_reserve rv;
    w->st = eng_prepared_reserve(e, NULL, NULL, sizeof pl, &rv);
    if (rv.payload) { memcpy(rv.payload, &pl, sizeof pl); w->st = eng_provider_commit(&rv); }
    break;
  }
  default: w->st = eng_prepared_write(e, &ACT, NULL, sizeof pl, fill, w); break;
  }
}

static void *thread_write(void *arg) {
  do_write(arg);
  return NULL;
}

/* What session s's consumer holds now: 1 if just the event n, 0 if none,
** -1 for anything else. */
static int session_got(int s, uint64_t n, uint16_t id) {
  rec_record r;
  int got = 0, other = 0;
  while (M.c[s] && eng_consumer_next(M.c[s], &r, 0) == ENG_OK) {
    t_payload pl;
    if (t_payload_of(&r, &pl) && pl.counter == n && r.desc.id == id) got++;
    else other++;
  }
  return other ? -1 : got > 1 ? -1 : got;
}

static void step_write(int i, unsigned l, unsigned k, int path, int thread) {
  wr w = {i, path, l, k, M.counter++, ENG_OK};
  if (thread) {
    pthread_t th;
    if (pthread_create(&th, NULL, thread_write, &w) != 0) { MCHECK(0, "thread"); return; }
    pthread_join(th, NULL);
  } else {
    do_write(&w);
  }
  MCHECK(w.st == ENG_OK, "write: %s", eng_strerror(w.st));
  for (int s = 0; s < NS; s++) {
    int want = model_takes(&M.en[s][i], LEVELS[l], KWS[k]);
    int got = session_got(s, w.n, (uint16_t)(l * NK + k + 1));
    if (got != want && M.mismatches++ < 10)
      MCHECK(0, "event %llu (provider %d, level %u, kw %#llx, path %d%s): session %d got %d, "
            "the model says %d (enable: on %d level %u any %#llx all %#llx)",
            (unsigned long long)w.n, i, LEVELS[l], (unsigned long long)KWS[k], path,
            thread ? ", new thread" : "", s, got, want, M.en[s][i].on, M.en[s][i].level,
            (unsigned long long)M.en[s][i].any, (unsigned long long)M.en[s][i].all);
  }
}

/* ------------------------------------------------------- concurrently */

#define CW_THREADS 3
#define CW_ROUNDS 400

typedef struct cw {
  _Atomic int stop;
  eng_provider *p;
  eng_prepared *e[2];               /* keyword 1 (id 1), keyword 2 (id 2) */
  _Atomic long other_st;            /* writes that said neither OK nor LOST */
  _Atomic long kw1;                 /* keyword-1 writes */
} cw;

static void cw_fill(void *ctx, uint8_t *dst) { memcpy(dst, ctx, sizeof(t_payload)); }

/* Runs of 7 events of one keyword (cached routes), by both paths, until
** the changes are done. */
static void *cw_writer(void *arg) {
  cw *a = arg;
  for (uint64_t n = 0; !atomic_load_explicit(&a->stop, memory_order_relaxed); n++) {
    int kw2 = (n / 7) % 3 == 2;
    t_payload pl = {7, (uint32_t)kw2, my_tid(), 0, n};
    int st;
    if (n % 2) {
      st = eng_prepared_write(a->e[kw2], NULL, NULL, sizeof pl, cw_fill, &pl);
    } else {
      tlg_desc d = {.id = (uint16_t)(1 + kw2), .version = 1, .channel = 11, .level = 4,
                    .opcode = 2, .task = 7, .keyword = kw2 ? 2 : 1};
      eng_data dd[2] = {{T_META, sizeof T_META, ENG_DATA_EVENT_META, {0}},
                        {&pl, sizeof pl, ENG_DATA_PAYLOAD, {0}}};
      st = eng_provider_write(a->p, &d, NULL, NULL, 2, dd);
    }
    if (st != ENG_OK && st != ENG_E_LOST) atomic_fetch_add(&a->other_st, 1);
    if (!kw2) atomic_fetch_add(&a->kw1, 1);
  }
  return NULL;
}

/* What consumer c has now: events of `id`, losses, and other events; at
** most CW_DRAIN records a call, since while the writers run the consumer
** may never find its rings empty (it hung under ASan, where reading is the
** slower side). */
#define CW_DRAIN 4096
static int cw_drain(eng_consumer *c, uint16_t id, long *events, long *lost, long *wrong) {
  rec_record r;
  int n = 0;
  for (; c && n < CW_DRAIN && eng_consumer_next(c, &r, 0) == ENG_OK; n++) {
    if (r.kind == REC_KIND_LOST) *lost += (long)r.lost;
    else if (r.kind != REC_KIND_EVENT || r.desc.id != id) (*wrong)++;
    else (*events)++;
  }
  return n;
}

/* All that c has (the writers have stopped). */
static void cw_drain_all(eng_consumer *c, uint16_t id, long *events, long *lost, long *wrong) {
  while (cw_drain(c, id, events, lost, wrong) == CW_DRAIN) {}
}

/* B stopped and started again under the same name, with a new consumer. */
static eng_session *cw_restart(eng_session *sb, eng_consumer **cb) {
  eng_consumer_close(*cb);
  *cb = NULL;
  eng_session_stop(sb);
  eng_session_close(sb);
  sb = t_start("rtc-b", 64, 2, 20);
  if (sb && eng_consumer_open("rtc-b", cb) != ENG_OK) *cb = NULL;
  return sb;
}

/* The writers' churn ended: B takes keyword 2 once more; this thread's
** writes of both keywords by both paths reach exactly where they belong. */
static void cw_after(const cw *a, const tlg_guid *id, eng_session *sb, eng_consumer *ca,
                     eng_consumer *cb) {
  long ea = 0, la = 0, wa = 0, eb = 0, lb = 0, wb = 0;
  cw_drain_all(ca, 1, &ea, &la, &wa);
  cw_drain_all(cb, 2, &eb, &lb, &wb);
  CHECK(eng_session_enable(sb, id, 5, 2, 0) == ENG_OK, "B enabled again");
  for (int i = 0; i < 10; i++) {
    t_payload pl = {7, 0, my_tid(), 0, (uint64_t)i};
    int kw2 = i % 2;
    CHECK(eng_prepared_write(a->e[kw2], NULL, NULL, sizeof pl, cw_fill, &pl) == ENG_OK,
          "write %d", i);
  }
  ea = la = wa = eb = lb = wb = 0;
  cw_drain_all(ca, 1, &ea, &la, &wa);
  cw_drain_all(cb, 2, &eb, &lb, &wb);
  CHECK(ea == 5 && eb == 5 && wa + wb + la + lb == 0,
        "afterwards: A its 5, B its 5 (%ld, %ld; %ld %ld wrong, %ld %ld lost)", ea, eb, wa, wb,
        la, lb);
}

static void test_concurrent(void) {
  tlg_guid id = T_PROV;
  id.b[0] = 0x7f;
  cw a = {0, NULL, {NULL, NULL}, 0, 0};
  CHECK(eng_provider_register(&id, T_TRAITS, sizeof T_TRAITS, &a.p) == ENG_OK, "register");
  tlg_desc d1 = {.id = 1, .version = 1, .channel = 11, .level = 4, .opcode = 2, .task = 7,
                 .keyword = 1};
  tlg_desc d2 = d1;
  d2.id = 2;
  d2.keyword = 2;
  if (a.p) {
    eng_prepare(a.p, &d1, T_META, sizeof T_META, &a.e[0]);
    eng_prepare(a.p, &d2, T_META, sizeof T_META, &a.e[1]);
  }
  eng_session *sa = t_start("rtc-a", 1024, 8, 20), *sb = t_start("rtc-b", 64, 2, 20);
  eng_consumer *ca = NULL, *cb = NULL;
  CHECK(eng_consumer_open("rtc-a", &ca) == ENG_OK && eng_consumer_open("rtc-b", &cb) == ENG_OK,
        "consumers");
  if (a.e[0] && a.e[1] && sa && sb && ca && cb) {
    eng_session_enable(sa, &id, 5, 1, 0);
    pthread_t th[CW_THREADS];
    int started = 0;
    for (; started < CW_THREADS; started++)
      if (pthread_create(&th[started], NULL, cw_writer, &a) != 0) break;
    CHECK(started == CW_THREADS, "writer threads (%d)", started);
    long ea = 0, la = 0, wa = 0, eb = 0, lb = 0, wb = 0, rounds = 0;
    while (sb && rounds < CW_ROUNDS) {
      int op = (int)(rounds++ % 4);
      if (op == 0) eng_session_enable(sb, &id, 5, 2, 0);
      else if (op == 1) eng_session_disable(sb, &id);
      else if (op == 2) eng_session_enable(sb, &id, 5, 2, 2);
      else {
        cw_drain(cb, 2, &eb, &lb, &wb);
        sb = cw_restart(sb, &cb);
      }
      cw_drain(ca, 1, &ea, &la, &wa);
      cw_drain(cb, 2, &eb, &lb, &wb);
    }
    atomic_store(&a.stop, 1);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    double t0 = now_s();
    long want = atomic_load(&a.kw1);
    while (ea + la < want && now_s() - t0 < 20) {
      cw_drain(ca, 1, &ea, &la, &wa);
      usleep(1000);
    }
    cw_drain_all(cb, 2, &eb, &lb, &wb);
    CHECK(atomic_load(&a.other_st) == 0, "writes said OK or LOST (%ld other)",
          atomic_load(&a.other_st));
    CHECK(ea + la == want, "A: every keyword-1 event or its loss (%ld + %ld of %ld)", ea, la,
          want);
    CHECK(wa == 0 && wb == 0, "no event in a session that does not take it (A %ld, B %ld)", wa,
          wb);
    CHECK(rounds >= CW_ROUNDS && sb && cb, "B changed %ld times", rounds);
    if (sb && cb) cw_after(&a, &id, sb, ca, cb);
  }
  eng_consumer_close(ca);
  eng_consumer_close(cb);
  if (sa) { eng_session_stop(sa); eng_session_close(sa); }
  if (sb) { eng_session_stop(sb); eng_session_close(sb); }
  eng_prepared_free(a.e[0]);
  eng_prepared_free(a.e[1]);
  eng_provider_unregister(a.p);
}

int main(void) {
  test_setup(300);
  M.rng = 12345;
  for (int i = 0; i < NP; i++) {
    M.id[i] = T_PROV;
    M.id[i].b[0] = (uint8_t)(0x70 + i);
    open_provider(i);
  }
  for (int s = 0; s < NS; s++) start_session(s);
  int last_i = 0, last_path = 0;
  unsigned last_l = 0, last_k = 0;
  for (int step = 0; step < STEPS && M.mismatches == 0; step++) {
    uint32_t op = rnd(100);
    int s = (int)rnd(NS), i = (int)rnd(NP);
    if (op < 55) {
      if (rnd(3) == 0) { last_i = i; last_l = rnd(NL); last_k = rnd(NK); last_path = (int)rnd(4); }
      step_write(last_i, last_l, last_k, rnd(4) ? last_path : (int)rnd(4), rnd(20) == 0);
    } else if (op < 75) {
      if (!M.s[s]) continue;
      model_en m = {1, LEVELS[rnd(NL)], MASKS[rnd(NM)], MASKS[rnd(NM - 1)]};
      MCHECK(eng_session_enable(M.s[s], &M.id[i], m.level, m.any, m.all) == ENG_OK, "enable");
      M.en[s][i] = m;
    } else if (op < 88) {
      if (!M.s[s]) continue;
      MCHECK(eng_session_disable(M.s[s], &M.id[i]) == ENG_OK, "disable");
      M.en[s][i].on = 0;
    } else if (op < 94) {
      stop_session(s);
      start_session(s);
    } else {
      close_provider(i);
      open_provider(i);
    }
  }
  CHECK(M.counter > STEPS / 3 && model_failures == 0 && M.mismatches == 0,
        "model: %llu events written in %d steps, every session got what the rule says "
        "(%ld failed checks, %ld mismatches)", (unsigned long long)M.counter, STEPS,
        model_failures, M.mismatches);
  for (int s = 0; s < NS; s++) stop_session(s);
  for (int i = 0; i < NP; i++) close_provider(i);
  test_concurrent();
  return unit_finish();
}
