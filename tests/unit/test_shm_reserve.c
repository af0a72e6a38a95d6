/*
** test_shm_reserve.c: reserve-then-commit writes of the shm engine
** (eng_provider_reserve, eng_prepared_reserve, eng_provider_commit; and
** eng_prepared_write in the toggling writers): the record is the one
** eng_provider_write makes, in one session and in two
** (the payload copied from the first ring); a reservation that does not
** fit is dropped and counted, never half written; a writer that reserves
** while its sessions are enabled and disabled, or stopped between reserve
** and commit, loses nothing uncounted and delivers only whole events.
*/
#include "shm_testutil.h"

#include <pthread.h>

/* What a consumer saw of one event, without the per-write fields. */
typedef struct seen {
  tlg_guid provider;
  uint32_t pid, tid;
  tlg_desc desc;
  uint32_t flags;
  tlg_guid activity, related;
  uint8_t traits[64], meta[64], data[64];
  uint32_t traits_len, meta_len, data_len;
} seen;

static int next_event(eng_consumer *c, seen *s) {
  rec_record r;
  int st;
  while ((st = eng_consumer_next(c, &r, 1000)) == ENG_OK) {
    if (r.kind != REC_KIND_EVENT) continue;
    memset(s, 0, sizeof *s);
    s->provider = r.provider_id;
    s->pid = r.pid;
    s->tid = r.tid;
    s->desc = r.desc;
    s->flags = r.flags;
    s->activity = r.activity_id;
    s->related = r.related_activity_id;
    s->traits_len = r.traits_len;
    s->meta_len = r.meta_len;
    s->data_len = r.data_len;
    if (r.traits_len > 64 || r.meta_len > 64 || r.data_len > 64) return 0;
    if (r.traits_len) memcpy(s->traits, r.traits, r.traits_len);
    if (r.meta_len) memcpy(s->meta, r.meta, r.meta_len);
    if (r.data_len) memcpy(s->data, r.data, r.data_len);
    return 1;
  }
  return 0;
}

static const tlg_desc T_DESC = {.id = 3, .version = 1, .channel = 11, .level = 4, .opcode = 2,
                                .task = 7, .keyword = 1};
static const tlg_guid T_ACT = {{0xa1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};

/* The same event three ways: eng_provider_write with (meta, payload),
** eng_provider_reserve, eng_prepared_reserve; `act` for activity ids. */
static void write_three(eng_provider *p, const eng_prepared *e, const t_payload *pl,
                        const tlg_guid *act) {
  eng_data dd[2] = {{T_META, sizeof T_META, ENG_DATA_EVENT_META, {0}},
                    {pl, sizeof *pl, ENG_DATA_PAYLOAD, {0}}};
  CHECK(eng_provider_write(p, &T_DESC, act, act, 2, dd) == ENG_OK, "write");
  eng_reserve rv;
  int st = eng_provider_reserve(p, &T_DESC, T_META, sizeof T_META, act, act, sizeof *pl, &rv);
  CHECK(st == ENG_OK && rv.payload, "reserve (%s)", eng_strerror(st));
  if (rv.payload) {
    memcpy(rv.payload, pl, sizeof *pl);
    CHECK(eng_provider_commit(&rv) == ENG_OK, "commit");
  }
  st = eng_prepared_reserve(e, act, act, sizeof *pl, &rv);
  CHECK(st == ENG_OK && rv.payload, "prepared reserve (%s)", eng_strerror(st));
  if (rv.payload) {
    memcpy(rv.payload, pl, sizeof *pl);
    CHECK(eng_provider_commit(&rv) == ENG_OK, "prepared commit");
  }
}

/* The three events in `c` are the same event. */
static void check_three(eng_consumer *c, const char *what) {
  seen s[3];
  int n = 0;
  while (n < 3 && next_event(c, &s[n])) n++;
  CHECK(n == 3, "%s: 3 events (%d)", what, n);
  if (n != 3) return;
  CHECK(s[0].data_len == sizeof(t_payload) && s[0].meta_len == sizeof T_META &&
        memcmp(&s[0].provider, &T_PROV, 16) == 0 && s[0].tid == my_tid() &&
        memcmp(s[0].meta, T_META, sizeof T_META) == 0 && s[0].traits_len == sizeof T_TRAITS &&
        memcmp(s[0].traits, T_TRAITS, sizeof T_TRAITS) == 0,
        "%s: eng_provider_write's event has the test's blocks", what);
  CHECK(memcmp(&s[0], &s[1], sizeof s[0]) == 0, "%s: reserve = write", what);
  CHECK(memcmp(&s[0], &s[2], sizeof s[0]) == 0, "%s: prepared reserve = write", what);
}

static void test_same_record(eng_provider *p, const eng_prepared *e) {
  eng_session *a = t_start("rsv-a", 64, 4, 20), *b = t_start("rsv-b", 64, 4, 20);
  eng_consumer *ca = NULL, *cb = NULL;
  CHECK(eng_consumer_open("rsv-a", &ca) == ENG_OK && eng_consumer_open("rsv-b", &cb) == ENG_OK,
        "consumers");
  if (!a || !b || !ca || !cb) return;
  t_payload pl = {1, 2, my_tid(), 0, 42};
  eng_reserve rv;
  CHECK(eng_prepared_reserve(e, NULL, NULL, sizeof pl, &rv) == ENG_OK && !rv.payload,
        "no session: nothing reserved");
  eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
  write_three(p, e, &pl, NULL);
  check_three(ca, "one session");
  write_three(p, e, &pl, &T_ACT);
  check_three(ca, "one session, activity ids");
  eng_session_enable(b, &T_PROV, 5, ~0ull, 0);
  pl.counter = 43;
  write_three(p, e, &pl, NULL);
  check_three(ca, "two sessions, first");
  check_three(cb, "two sessions, second");
  eng_consumer_close(ca);
  eng_consumer_close(cb);
  eng_session_stop(a);
  eng_session_close(a);
  eng_session_stop(b);
  eng_session_close(b);
}

/* A full ring: the reservation fails with ENG_E_LOST and no payload, and
** the consumer sees the count. Bad arguments name nothing reserved. */
static void test_no_room(eng_provider *p, const eng_prepared *e) {
  eng_consumer *c;
  eng_session *a = t_start_read("rsv-full", 4, 1, 20, &c);
  if (!a) return;
  eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
  eng_reserve rv;
  long ok = 0, lost = 0;
  for (int i = 0; i < 2000 && !lost; i++) {
    int st = eng_prepared_reserve(e, NULL, NULL, 400, &rv);
    if (st == ENG_E_LOST) {
      CHECK(rv.payload == NULL, "a reservation that did not fit has no payload");
      lost++;
      continue;
    }
    CHECK(st == ENG_OK && rv.payload, "reserve %d (%s)", i, eng_strerror(st));
    if (!rv.payload) break;
    memset(rv.payload, 0x5a, 400);
    eng_provider_commit(&rv);
    ok++;
  }
  CHECK(ok > 0 && lost == 1, "the ring filled up (%ld written, then a drop)", ok);
  rec_record r;
  long events = 0, counted = 0, whole = 1;
  while (eng_consumer_next(c, &r, 0) == ENG_OK) {
    if (r.kind == REC_KIND_LOST) counted += (long)r.lost;
    if (r.kind == REC_KIND_EVENT) {
      events++;
      for (uint32_t k = 0; k < r.data_len; k++) whole &= r.data[k] == 0x5a;
      whole &= r.data_len == 400;
    }
  }
  /* the drop is reported in-band (by the next event that fits at the latest) */
  t_payload pl = {0};
  CHECK(eng_prepared_reserve(e, NULL, NULL, sizeof pl, &rv) == ENG_OK && rv.payload,
        "room again after the drain");
  if (rv.payload) {
    memcpy(rv.payload, &pl, sizeof pl);
    eng_provider_commit(&rv);
  }
  while (eng_consumer_next(c, &r, 0) == ENG_OK)
    if (r.kind == REC_KIND_LOST) counted += (long)r.lost;
  CHECK(events == ok && whole, "every committed event arrived whole (%ld of %ld)", events, ok);
  CHECK(counted == lost, "the drop was counted (%ld)", counted);
  CHECK(eng_prepared_reserve(e, NULL, NULL, ENG_RESERVE_LOCAL + 1, &rv) == ENG_E_ARG &&
        !rv.payload, "a payload above ENG_RESERVE_LOCAL: ENG_E_ARG");
  CHECK(eng_provider_reserve(p, NULL, T_META, sizeof T_META, NULL, NULL, 8, &rv) == ENG_E_ARG &&
        !rv.payload, "no desc: ENG_E_ARG");
  CHECK(eng_provider_reserve(p, &T_DESC, NULL, 4, NULL, NULL, 8, &rv) == ENG_E_ARG,
        "meta_len without meta: ENG_E_ARG");
  eng_prepared *bad = (eng_prepared *)1;
  CHECK(eng_prepare(p, &T_DESC, NULL, 4, &bad) == ENG_E_ARG && bad == NULL,
        "eng_prepare: meta_len without meta");
  CHECK(eng_provider_commit(&rv) == ENG_OK, "commit of nothing reserved is a no-op");
  eng_consumer_close(c);
  eng_session_stop(a);
  eng_session_close(a);
}

/* ------------------------------------ enables changing meanwhile */

#define TOGGLE_WRITES 100000

typedef struct toggle_arg {
  const eng_prepared *e;
  eng_session *toggled;
  _Atomic int done;
  long other_st, lost_st;
} toggle_arg;

static void fill_pl(void *ctx, uint8_t *dst) { memcpy(dst, ctx, sizeof(t_payload)); }

/* Odd events by eng_prepared_write, even ones by reserve + commit: both
** through this thread's one route cache. */
static void *reserving_writer(void *arg) {
  toggle_arg *a = arg;
  t_payload pl = {0, 0, my_tid(), 0, 0};
  for (pl.counter = 0; pl.counter < TOGGLE_WRITES; pl.counter++) {
    if (pl.counter & 1) {
      int st = eng_prepared_write(a->e, NULL, NULL, sizeof pl, fill_pl, &pl);
      if (st == ENG_E_LOST) a->lost_st++;
      else if (st != ENG_OK) a->other_st++;
      continue;
    }
    eng_reserve rv;
    int st = eng_prepared_reserve(a->e, NULL, NULL, sizeof pl, &rv);
    if (rv.payload) {
      memcpy(rv.payload, &pl, sizeof pl);
      int c = eng_provider_commit(&rv);
      if (c == ENG_E_LOST) a->lost_st++;
      else if (c != ENG_OK) a->other_st++;
    } else if (st == ENG_E_LOST) {
      a->lost_st++;
    } else if (st != ENG_OK) {
      a->other_st++;
    }
  }
  atomic_store(&a->done, 1);
  return NULL;
}

static void *toggler(void *arg) {
  toggle_arg *a = arg;
  while (!atomic_load(&a->done)) {
    eng_session_enable(a->toggled, &T_PROV, 5, ~0ull, 0);
    eng_session_disable(a->toggled, &T_PROV);
  }
  return NULL;
}

/* Drain `c` while the writer runs, then to the session's end: events
** (each checked whole: its counter above the previous one) and lost. */
static void drain(eng_consumer *c, eng_session *s, toggle_arg *ta, long *events, long *lost,
                  long *broken) {
  rec_record r;
  t_payload pl;
  int64_t last = -1;
  int st, stopped = 0;
  for (;;) {
    if (!stopped && atomic_load(&ta->done)) {
      eng_session_stop(s);
      stopped = 1;
    }
    st = eng_consumer_next(c, &r, stopped ? 1000 : 50);
    if (st == ENG_E_TIMEOUT && !stopped) continue;
    if (st != ENG_OK) break;
    if (r.kind == REC_KIND_LOST) *lost += (long)r.lost;
    if (r.kind != REC_KIND_EVENT) continue;
    (*events)++;
    if (!t_payload_of(&r, &pl) || (int64_t)pl.counter <= last || pl.tid == 0) (*broken)++;
    else last = (int64_t)pl.counter;
  }
  CHECK(st == ENG_E_STOPPED, "drained to the end (%s)", eng_strerror(st));
}

/* Session A takes every event while another thread enables and disables
** the provider on B: every reservation reaches A or is counted lost. */
static void test_toggle_other(const eng_prepared *e) {
  eng_session *a = t_start("rsv-tog-a", 64, 32, 20), *b = t_start("rsv-tog-b", 4, 1, 20);
  eng_consumer *c = NULL;
  CHECK(eng_consumer_open("rsv-tog-a", &c) == ENG_OK, "consumer on A");
  if (!a || !b || !c) return;
  eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
  toggle_arg ta = {e, b, 0, 0, 0};
  pthread_t w, t;
  pthread_create(&t, NULL, toggler, &ta);
  pthread_create(&w, NULL, reserving_writer, &ta);
  long events = 0, lost = 0, broken = 0;
  drain(c, a, &ta, &events, &lost, &broken);
  pthread_join(w, NULL);
  pthread_join(t, NULL);
  CHECK(ta.other_st == 0, "reservations said OK or LOST (%ld other)", ta.other_st);
  CHECK(broken == 0, "every event whole and in order (%ld not)", broken);
  CHECK(events + lost == TOGGLE_WRITES, "every reservation reached A or was counted lost: "
        "%ld events + %ld lost of %d", events, lost, TOGGLE_WRITES);
  eng_consumer_close(c);
  eng_session_close(a);
  eng_session_stop(b);
  eng_session_close(b);
}

/* The session the writer reserves in is itself enabled and disabled:
** whatever arrives is whole, in order, and no more than was written. */
static void test_toggle_own(const eng_prepared *e) {
  eng_consumer *c;
  eng_session *a = t_start_read("rsv-own", 64, 32, 20, &c);
  if (!a) return;
  toggle_arg ta = {e, a, 0, 0, 0};
  pthread_t w, t;
  pthread_create(&t, NULL, toggler, &ta);
  pthread_create(&w, NULL, reserving_writer, &ta);
  long events = 0, lost = 0, broken = 0;
  drain(c, a, &ta, &events, &lost, &broken);
  pthread_join(w, NULL);
  pthread_join(t, NULL);
  CHECK(ta.other_st == 0, "reservations said OK or LOST (%ld other)", ta.other_st);
  CHECK(broken == 0, "every event whole and in order (%ld not)", broken);
  CHECK(events + lost <= TOGGLE_WRITES, "no more than written (%ld + %ld)", events, lost);
  eng_consumer_close(c);
  eng_session_close(a);
}

/* Stopped and closed between reserve and commit: the commit completes
** into the (now unlisted) ring; a later write goes to a new session. */
static void test_stop_between(eng_provider *p, const eng_prepared *e) {
  eng_session *a = t_start("rsv-stop", 64, 4, 20);
  if (!a) return;
  eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
  t_payload pl = {7, 7, my_tid(), 0, 7};
  eng_reserve rv;
  CHECK(eng_prepared_reserve(e, NULL, NULL, sizeof pl, &rv) == ENG_OK && rv.payload, "reserve");
  eng_session_stop(a);
  eng_session_close(a);
  if (rv.payload) {
    memcpy(rv.payload, &pl, sizeof pl);
    int st = eng_provider_commit(&rv);
    CHECK(st == ENG_OK || st == ENG_E_LOST, "commit after the stop (%s)", eng_strerror(st));
  }
  eng_session *b = t_start("rsv-stop", 64, 4, 20);
  eng_consumer *c = NULL;
  CHECK(eng_consumer_open("rsv-stop", &c) == ENG_OK, "consumer on the new session");
  if (!b || !c) return;
  eng_session_enable(b, &T_PROV, 5, ~0ull, 0);
  CHECK(eng_prepared_reserve(e, NULL, NULL, sizeof pl, &rv) == ENG_OK && rv.payload,
        "reserve in the new session");
  if (rv.payload) {
    memcpy(rv.payload, &pl, sizeof pl);
    eng_provider_commit(&rv);
  }
  seen s;
  CHECK(next_event(c, &s) && s.data_len == sizeof pl && memcmp(s.data, &pl, sizeof pl) == 0,
        "the new session has the event");
  (void)p;
  eng_consumer_close(c);
  eng_session_stop(b);
  eng_session_close(b);
}


/* ------------------------------------ several sessions */

/* A (enabled first, no consumer, a small ring) fills up: each reservation
** is then dropped in A and lands in B. B gets every event whole and in
** order, A's events and its counted losses add up to what was written,
** and every write said OK or LOST. */
static void test_first_full(const eng_prepared *e) {
  eng_session *a = t_start("rsv-ff-a", 4, 1, 20), *b = t_start("rsv-ff-b", 256, 4, 20);
  eng_consumer *cb = NULL;
  CHECK(eng_consumer_open("rsv-ff-b", &cb) == ENG_OK, "consumer on B");
  if (!a || !b || !cb) return;
  eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
  eng_session_enable(b, &T_PROV, 5, ~0ull, 0);
  enum { N = 2000 };
  t_payload pl = {0, 0, my_tid(), 0, 0};
  long ok = 0, lost = 0, other = 0;
  for (pl.counter = 0; pl.counter < N; pl.counter++) {
    eng_reserve rv;
    int st = eng_prepared_reserve(e, NULL, NULL, sizeof pl, &rv);
    if (rv.payload) {
      memcpy(rv.payload, &pl, sizeof pl);
      st = eng_provider_commit(&rv);
    }
    if (st == ENG_OK) ok++;
    else if (st == ENG_E_LOST) lost++;
    else other++;
  }
  CHECK(other == 0 && lost > 0, "writes said OK or LOST, some LOST (%ld ok, %ld lost, %ld other)",
        ok, lost, other);
  rec_record r;
  t_payload got;
  long events = 0, broken = 0, blost = 0;
  while (eng_consumer_next(cb, &r, 200) == ENG_OK) {
    if (r.kind == REC_KIND_LOST) blost += (long)r.lost;
    if (r.kind != REC_KIND_EVENT) continue;
    if (!t_payload_of(&r, &got) || got.counter != (uint64_t)events || got.tid != pl.tid) broken++;
    events++;
  }
  CHECK(events == N && broken == 0 && blost == 0,
        "B has every event, whole and in order (%ld, %ld broken, %ld lost)", events, broken, blost);
  eng_consumer *ca = NULL;
  CHECK(eng_consumer_open("rsv-ff-a", &ca) == ENG_OK, "consumer on A");
  eng_session_stop(a);
  long aev = 0, alost = 0;
  while (ca && eng_consumer_next(ca, &r, 1000) == ENG_OK) {
    if (r.kind == REC_KIND_LOST) alost += (long)r.lost;
    if (r.kind == REC_KIND_EVENT) aev++;
  }
  CHECK(aev + alost == N && alost == lost, "A: %ld events + %ld counted lost of %d (%ld said LOST)",
        aev, alost, N, lost);
  if (ca) eng_consumer_close(ca);
  eng_consumer_close(cb);
  eng_session_close(a);
  eng_session_stop(b);
  eng_session_close(b);
}

/* Reserved in A; A stopped and closed before the commit, which is this
** thread's first write to B (its attach gives back A's ring): the commit
** publishes A's record before that, and B has the event. */
static void test_first_gone(eng_provider *p, const eng_prepared *e) {
  eng_session *a = t_start("rsv-fg-a", 64, 4, 20);
  if (!a) return;
  eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
  t_payload pl = {9, 9, my_tid(), 0, 1};
  eng_data dd[2] = {{T_META, sizeof T_META, ENG_DATA_EVENT_META, {0}},
                    {&pl, sizeof pl, ENG_DATA_PAYLOAD, {0}}};
  CHECK(eng_provider_write(p, &T_DESC, NULL, NULL, 2, dd) == ENG_OK, "a write to A");
  eng_session *b = t_start("rsv-fg-b", 64, 4, 20);
  eng_consumer *cb = NULL;
  CHECK(eng_consumer_open("rsv-fg-b", &cb) == ENG_OK, "consumer on B");
  if (!b || !cb) return;
  eng_session_enable(b, &T_PROV, 5, ~0ull, 0);
  eng_reserve rv;
  pl.counter = 2;
  CHECK(eng_prepared_reserve(e, NULL, NULL, sizeof pl, &rv) == ENG_OK && rv.payload, "reserve");
  eng_session_stop(a);
  eng_session_close(a);
  if (rv.payload) {
    memcpy(rv.payload, &pl, sizeof pl);
    int st = eng_provider_commit(&rv);
    CHECK(st == ENG_OK, "commit (%s)", eng_strerror(st));
  }
  seen s;
  CHECK(next_event(cb, &s) && s.data_len == sizeof pl && memcmp(s.data, &pl, sizeof pl) == 0,
        "B has the event");
  eng_consumer_close(cb);
  eng_session_stop(b);
  eng_session_close(b);
}

int main(void) {
  test_setup(120);
  eng_provider *p = NULL;
  eng_prepared *e = NULL;
  CHECK(eng_provider_register(&T_PROV, T_TRAITS, sizeof T_TRAITS, &p) == ENG_OK, "register");
  if (!p) return unit_finish();
  CHECK(eng_prepare(p, &T_DESC, T_META, sizeof T_META, &e) == ENG_OK && e, "prepare");
  if (e) {
    test_same_record(p, e);
    test_no_room(p, e);
    test_toggle_other(e);
    test_toggle_own(e);
    test_stop_between(p, e);
    test_first_full(e);
    test_first_gone(p, e);
  }
  eng_prepared_free(e);
  eng_provider_unregister(p);
  return unit_finish();
}
