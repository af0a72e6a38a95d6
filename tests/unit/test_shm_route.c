/*
** test_shm_route.c: the prepared-event fast path of the shm engine
** (eng_prepared_write) and the per-thread route cache it shares with
** eng_prepared_reserve and eng_provider_write (each routing case runs
** with eng_prepared_write and with eng_provider_write). A cached route is
** used only while nothing it was read from changed: events of another
** level, keyword or provider, and every enable, disable, stop and new
** session, route afresh; a fork child writes into rings of its own. eng_prepared_write makes the record
** eng_prepared_reserve + commit makes, calls fill once or never, and keeps
** the loss accounting.
*/
#include "shm_testutil.h"

/* What fill saw: how often it ran, and the payload it writes. */
typedef struct fill_ctx {
  int calls;
  t_payload pl;
} fill_ctx;

static void fill_payload(void *ctx, uint8_t *dst) {
  fill_ctx *f = ctx;
  f->calls++;
  memcpy(dst, &f->pl, sizeof f->pl);
}

static const tlg_guid T_ACT = {{0xa1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};

static tlg_desc desc_of(uint8_t level, uint64_t kw, uint16_t id) {
  tlg_desc d = {.id = id, .version = 1, .channel = 11, .level = level, .opcode = 2,
                .task = 7, .keyword = kw};
  return d;
}

/* The events the routing tests write, by their prepared handle: written
** with eng_prepared_write, or (plain) the same event by eng_provider_write.
** Both paths share the route cache. */
static int plain;
static struct known {
  const eng_prepared *e;
  eng_provider *p;
  tlg_desc d;
} known[8];

static eng_prepared *prep(eng_provider *p, const tlg_desc *d) {
  eng_prepared *e = NULL;
  CHECK(eng_prepare(p, d, T_META, sizeof T_META, &e) == ENG_OK && e, "prepare");
  for (int i = 0; e && i < 8; i++) {
    if (known[i].e) continue;
    known[i] = (struct known){e, p, *d};
    break;
  }
  return e;
}

static void unprep(eng_prepared *e) {
  for (int i = 0; e && i < 8; i++)
    if (known[i].e == e) known[i].e = NULL;
  eng_prepared_free(e);
}

/* Event `e` with payload counter `n`; its status. */
static int pw(const eng_prepared *e, uint64_t n, const tlg_guid *act) {
  fill_ctx f = {0, {1, 2, my_tid(), 0, n}};
  if (plain) {
    for (int i = 0; i < 8; i++) {
      if (known[i].e != e) continue;
      eng_data dd[2] = {{T_META, sizeof T_META, ENG_DATA_EVENT_META, {0}},
                        {&f.pl, sizeof f.pl, ENG_DATA_PAYLOAD, {0}}};
      return eng_provider_write(known[i].p, &known[i].d, act, act, 2, dd);
    }
    CHECK(0, "an event the test prepared");
    return ENG_E_ARG;
  }
  int st = eng_prepared_write(e, act, act, sizeof f.pl, fill_payload, &f);
  CHECK(f.calls <= 1, "fill ran at most once (%d)", f.calls);
  return st;
}

/* Every event `c` has now (poll): their ids and counters, in order. */
typedef struct got {
  int n;
  uint16_t id[64];
  uint64_t counter[64];
  uint32_t pid[64];
  long lost, corrupt;
} got;

static void drain(eng_consumer *c, got *g) {
  rec_record r;
  memset(g, 0, sizeof *g);
  while (eng_consumer_next(c, &r, 0) == ENG_OK) {
    if (r.kind == REC_KIND_LOST) g->lost += (long)r.lost;
    if (r.kind == REC_KIND_CORRUPT) g->corrupt++;
    t_payload pl;
    if (r.kind != REC_KIND_EVENT || !t_payload_of(&r, &pl) || g->n == 64) continue;
    g->id[g->n] = r.desc.id;
    g->counter[g->n] = pl.counter;
    g->pid[g->n++] = r.pid;
  }
}

/* The events in `g` are ids[0..n) with counters 0..n-1. */
static int is_seq(const got *g, const uint16_t *ids, int n) {
  if (g->n != n) return 0;
  for (int i = 0; i < n; i++)
    if (g->id[i] != ids[i] || g->counter[i] != (uint64_t)i) return 0;
  return 1;
}

/* The record of eng_prepared_write is eng_prepared_reserve + commit's,
** with and without activity ids (the general path), in one session and
** in two (fill once, both get it). */
static void test_same_record(const eng_prepared *e) {
  eng_session *a = t_start("rt-same-a", 64, 4, 20), *b = t_start("rt-same-b", 64, 4, 20);
  eng_consumer *ca = NULL, *cb = NULL;
  CHECK(eng_consumer_open("rt-same-a", &ca) == ENG_OK &&
        eng_consumer_open("rt-same-b", &cb) == ENG_OK, "consumers");
  if (!a || !b || !ca || !cb) return;
  eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
  for (int two = 0; two < 2; two++) {
    if (two) eng_session_enable(b, &T_PROV, 5, ~0ull, 0);
    for (int act = 0; act < 2; act++) {
      t_payload pl = {1, 2, my_tid(), 0, 77};
      eng_reserve rv;
      int st = eng_prepared_reserve(e, act ? &T_ACT : NULL, act ? &T_ACT : NULL, sizeof pl, &rv);
      CHECK(st == ENG_OK && rv.payload, "reserve (%s)", eng_strerror(st));
      if (rv.payload) {
        memcpy(rv.payload, &pl, sizeof pl);
        CHECK(eng_provider_commit(&rv) == ENG_OK, "commit");
      }
      fill_ctx f = {0, pl};
      st = eng_prepared_write(e, act ? &T_ACT : NULL, act ? &T_ACT : NULL, sizeof pl,
                              fill_payload, &f);
      CHECK(st == ENG_OK && f.calls == 1, "%d session(s)%s: written, fill ran once (%s, %d)",
            two + 1, act ? ", activity ids" : "", eng_strerror(st), f.calls);
      for (int k = 0; k <= two; k++) {
        rec_record r[2];
        eng_consumer *c = k ? cb : ca;
        int n = 0;
        /* r[0] borrows ring memory only until the next call: compare as we go */
        uint8_t first[512];
        size_t first_len = 0;
        while (n < 2 && eng_consumer_next(c, &r[n], 1000) == ENG_OK) {
          if (r[n].kind != REC_KIND_EVENT) continue;
          size_t len = r[n].traits_len + r[n].meta_len + r[n].data_len;
          uint8_t cur[512];
          if (len > sizeof cur) break;
          memcpy(cur, r[n].traits, r[n].traits_len);
          memcpy(cur + r[n].traits_len, r[n].meta, r[n].meta_len);
          memcpy(cur + r[n].traits_len + r[n].meta_len, r[n].data, r[n].data_len);
          if (n == 0) { memcpy(first, cur, len); first_len = len; }
          else {
            CHECK(len == first_len && memcmp(cur, first, len) == 0 &&
                  memcmp(&r[0].desc, &r[1].desc, sizeof r[0].desc) == 0 &&
                  r[0].flags == r[1].flags && r[0].pid == r[1].pid && r[0].tid == r[1].tid &&
                  memcmp(&r[0].activity_id, &r[1].activity_id, 16) == 0 &&
                  memcmp(&r[0].related_activity_id, &r[1].related_activity_id, 16) == 0,
                  "session %d: eng_prepared_write's record = reserve + commit's", k);
          }
          n++;
        }
        CHECK(n == 2, "session %d: both events (%d)", k, n);
      }
    }
  }
  eng_consumer_close(ca);
  eng_consumer_close(cb);
  eng_session_stop(a);
  eng_session_close(a);
  eng_session_stop(b);
  eng_session_close(b);
}

/* Bad arguments, nobody listening, a payload too big, a full ring: fill
** never runs, and the drop is counted. */
static void test_no_fill(eng_provider *p, const eng_prepared *e) {
  fill_ctx f = {0, {0}};
  CHECK(eng_prepared_write(NULL, NULL, NULL, 8, fill_payload, &f) == ENG_E_ARG, "NULL event");
  CHECK(eng_prepared_write(e, NULL, NULL, 8, NULL, &f) == ENG_E_ARG, "NULL fill");
  CHECK(eng_prepared_write(e, NULL, NULL, sizeof f.pl, fill_payload, &f) == ENG_OK && !f.calls,
        "no session: ENG_OK, nothing filled");
  /* a payload above ENG_RESERVE_LOCAL is ENG_E_ARG whether or not a
  ** session takes the event, as eng_provider_reserve (and Windows) say */
  eng_reserve rv;
  tlg_desc dd = desc_of(4, 1, 3);
  CHECK(eng_provider_reserve(p, &dd, T_META, sizeof T_META, NULL, NULL, ENG_RESERVE_LOCAL + 1,
                             &rv) == ENG_E_ARG, "no session: reserve of too much: ENG_E_ARG");
  CHECK(eng_prepared_write(e, NULL, NULL, ENG_RESERVE_LOCAL + 1, fill_payload, &f) == ENG_E_ARG &&
        !f.calls, "no session: prepared write of too much: ENG_E_ARG, nothing filled");
  CHECK(eng_prepared_reserve(e, NULL, NULL, ENG_RESERVE_LOCAL + 1, &rv) == ENG_E_ARG &&
        !rv.payload, "no session: prepared reserve of too much: ENG_E_ARG");
  eng_consumer *c;
  eng_session *a = t_start_read("rt-full", 4, 1, 20, &c);
  if (!a) return;
  eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
  CHECK(eng_prepared_write(e, NULL, NULL, ENG_RESERVE_LOCAL + 1, fill_payload, &f) == ENG_E_ARG &&
        !f.calls, "a payload above ENG_RESERVE_LOCAL: ENG_E_ARG, nothing filled");
  long ok = 0, lost = 0, other = 0;
  for (int i = 0; i < 4000 && !lost; i++) {
    f.calls = 0;
    int st = eng_prepared_write(e, NULL, NULL, sizeof f.pl, fill_payload, &f);
    if (st == ENG_OK && f.calls == 1) ok++;
    else if (st == ENG_E_LOST && f.calls == 0) lost++;
    else other++;
  }
  CHECK(other == 0 && ok > 0 && lost == 1, "the ring filled: %ld written, %ld lost (fill only "
        "for written ones; %ld other)", ok, lost, other);
  got g;
  drain(c, &g);
  long events = 0;
  rec_record r;
  CHECK(pw(e, 0, NULL) == ENG_OK, "room again after the drain");
  while (eng_consumer_next(c, &r, 0) == ENG_OK) {
    if (r.kind == REC_KIND_LOST) g.lost += (long)r.lost;
    events += r.kind == REC_KIND_EVENT;
  }
  CHECK(g.lost == 1 && events == 1, "the drop reached the consumer (%ld), then the event", g.lost);
  eng_consumer_close(c);
  eng_session_stop(a);
  eng_session_close(a);
}

/* Two sessions taking different events of one provider: A keyword 1,
** B keyword 2; A level 5, B level 2. Writes of events with other keywords
** and levels alternate, so a route cached for one would send the next
** where it does not belong. */
static void test_key(eng_provider *p) {
  tlg_desc d1 = desc_of(4, 1, 1), d2 = desc_of(4, 2, 2), d3 = desc_of(1, 1, 3);
  eng_prepared *e1 = prep(p, &d1), *e2 = prep(p, &d2), *e3 = prep(p, &d3);
  eng_session *a = t_start("rt-key-a", 64, 4, 20), *b = t_start("rt-key-b", 64, 4, 20);
  eng_consumer *ca = NULL, *cb = NULL;
  CHECK(eng_consumer_open("rt-key-a", &ca) == ENG_OK &&
        eng_consumer_open("rt-key-b", &cb) == ENG_OK, "consumers");
  if (e1 && e2 && e3 && a && b && ca && cb) {
    eng_session_enable(a, &T_PROV, 5, 1, 0);
    eng_session_enable(b, &T_PROV, 2, 2, 0);
    /* e1 (kw 1, level 4): A only; e2 (kw 2, level 4): nobody (B is level 2);
    ** e3 (kw 1, level 1): A only. Then B takes keyword 3: e3 goes to both. */
    uint64_t na = 0;
    for (int i = 0; i < 6; i++) {
      CHECK(pw(i % 2 ? e1 : e2, i % 2 ? na++ : 0, NULL) == ENG_OK, "write %d", i);
    }
    got g;
    drain(ca, &g);
    static const uint16_t three_1[] = {1, 1, 1};
    CHECK(is_seq(&g, three_1, 3), "A: only the keyword-1 events (%d)", g.n);
    drain(cb, &g);
    CHECK(g.n == 0, "B: none of them (%d)", g.n);
    eng_session_enable(b, &T_PROV, 2, 3, 0);
    uint64_t n1 = 0, n3 = 0;
    for (int i = 0; i < 6; i++)
      CHECK(pw(i % 2 ? e3 : e1, i % 2 ? n3++ : n1++, NULL) == ENG_OK, "write %d", i);
    drain(cb, &g);
    static const uint16_t three_3[] = {3, 3, 3};
    CHECK(is_seq(&g, three_3, 3), "B: every level-1 event, no level-4 one (%d)", g.n);
    drain(ca, &g);
    CHECK(g.n == 6, "A: all six (%d)", g.n);
  }
  eng_consumer_close(ca);
  eng_consumer_close(cb);
  if (a) { eng_session_stop(a); eng_session_close(a); }
  if (b) { eng_session_stop(b); eng_session_close(b); }
  unprep(e1);
  unprep(e2);
  unprep(e3);
}

/* Two providers with the same event shape, each enabled in its own
** session: alternate writes each reach their own session only. Both are
** new (ids of this pass), so both entries have had one enable: the same
** seqlock gen. */
static void test_providers(void) {
  tlg_guid id1 = T_PROV, id2 = T_PROV;
  id1.b[15] = (uint8_t)(0x40 + 2 * plain);
  id2.b[15] = (uint8_t)(0x41 + 2 * plain);
  eng_provider *p1 = NULL, *p2 = NULL;
  CHECK(eng_provider_register(&id1, T_TRAITS, sizeof T_TRAITS, &p1) == ENG_OK &&
        eng_provider_register(&id2, T_TRAITS, sizeof T_TRAITS, &p2) == ENG_OK, "register");
  tlg_desc d1 = desc_of(4, 1, 3), d2 = desc_of(4, 1, 9);
  eng_prepared *e1 = p1 ? prep(p1, &d1) : NULL, *e2 = p2 ? prep(p2, &d2) : NULL;
  eng_session *a = t_start("rt-prov-a", 64, 4, 20), *b = t_start("rt-prov-b", 64, 4, 20);
  eng_consumer *ca = NULL, *cb = NULL;
  CHECK(eng_consumer_open("rt-prov-a", &ca) == ENG_OK &&
        eng_consumer_open("rt-prov-b", &cb) == ENG_OK, "consumers");
  if (e1 && e2 && a && b && ca && cb) {
    eng_session_enable(a, &id1, 5, ~0ull, 0);
    eng_session_enable(b, &id2, 5, ~0ull, 0);
    for (int i = 0; i < 8; i++)
      CHECK(pw(i % 2 ? e2 : e1, (uint64_t)i / 2, NULL) == ENG_OK, "write %d", i);
    got ga, gb;
    drain(ca, &ga);
    drain(cb, &gb);
    static const uint16_t a_ids[] = {3, 3, 3, 3}, b_ids[] = {9, 9, 9, 9};
    CHECK(is_seq(&ga, a_ids, 4), "A: the first provider's 4 events only (%d)", ga.n);
    CHECK(is_seq(&gb, b_ids, 4), "B: the second provider's 4 events only (%d)", gb.n);
  }
  eng_consumer_close(ca);
  eng_consumer_close(cb);
  if (a) { eng_session_stop(a); eng_session_close(a); }
  if (b) { eng_session_stop(b); eng_session_close(b); }
  unprep(e1);
  unprep(e2);
  eng_provider_unregister(p1);
  eng_provider_unregister(p2);
}

/* The route follows the enables: disabled in A, enabled in B, A again,
** A stopped and a session of the same name started; each write after a
** change goes where the change says, with eng_prepared_write and with
** eng_prepared_reserve (one cache). */
static void test_changes(const eng_prepared *e) {
  eng_session *a = t_start("rt-chg-a", 64, 4, 20), *b = t_start("rt-chg-b", 64, 4, 20);
  eng_consumer *ca = NULL, *cb = NULL;
  CHECK(eng_consumer_open("rt-chg-a", &ca) == ENG_OK &&
        eng_consumer_open("rt-chg-b", &cb) == ENG_OK, "consumers");
  if (!a || !b || !ca || !cb) return;
  got ga, gb;
  for (int use_reserve = 0; use_reserve < 2; use_reserve++) {
    uint64_t n = 0;
#define W() do {                                                              \
      if (use_reserve) {                                                      \
        eng_reserve rv;                                                       \
        t_payload pl = {1, 2, my_tid(), 0, n++};                              \
        CHECK(eng_prepared_reserve(e, NULL, NULL, sizeof pl, &rv) == ENG_OK, "reserve"); \
        if (rv.payload) { memcpy(rv.payload, &pl, sizeof pl); eng_provider_commit(&rv); } \
      } else {                                                                \
        CHECK(pw(e, n++, NULL) == ENG_OK, "write");                       \
      }                                                                       \
    } while (0)
    eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
    W(); W();
    eng_session_disable(a, &T_PROV);
    n = 0;
    W();
    drain(ca, &ga);
    drain(cb, &gb);
    CHECK(ga.n == 2 && gb.n == 0, "%s: disabled in A: nothing more there (%d, %d)",
          use_reserve ? "reserve" : "write", ga.n, gb.n);
    eng_session_enable(b, &T_PROV, 5, ~0ull, 0);
    n = 0;
    W(); W();
    drain(ca, &ga);
    drain(cb, &gb);
    static const uint16_t two[] = {3, 3};
    CHECK(ga.n == 0 && is_seq(&gb, two, 2), "%s: enabled in B: there (%d, %d)",
          use_reserve ? "reserve" : "write", ga.n, gb.n);
    eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
    n = 0;
    W(); W();
    drain(ca, &ga);
    drain(cb, &gb);
    CHECK(is_seq(&ga, two, 2) && is_seq(&gb, two, 2), "%s: in A and B: both (%d, %d)",
          use_reserve ? "reserve" : "write", ga.n, gb.n);
    eng_session_disable(b, &T_PROV);
    W();
    eng_consumer_close(ca);
    ca = NULL;
    eng_session_stop(a);
    eng_session_close(a);
    /* the same name again: a new session (a new gen, maybe the same slot) */
    a = t_start("rt-chg-a", 64, 4, 20);
    CHECK(a && eng_consumer_open("rt-chg-a", &ca) == ENG_OK, "A again");
    if (!a || !ca) break;
    n = 0;
    W();
    drain(ca, &ga);
    CHECK(ga.n == 0, "%s: the new A does not enable it yet (%d)",
          use_reserve ? "reserve" : "write", ga.n);
    eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
    n = 0;
    W(); W();
    drain(ca, &ga);
    drain(cb, &gb);
    CHECK(is_seq(&ga, two, 2) && gb.n == 0, "%s: the new A has them, B not (%d, %d)",
          use_reserve ? "reserve" : "write", ga.n, gb.n);
    eng_session_disable(a, &T_PROV);
#undef W
  }
  if (ca) eng_consumer_close(ca);
  eng_consumer_close(cb);
  if (a) { eng_session_stop(a); eng_session_close(a); }
  eng_session_stop(b);
  eng_session_close(b);
}

/* A fork child inherits the parent's cached route and ring mappings: its
** writes must go to rings of its own (its pid on them), and the parent's
** ring stays whole. */
static void test_fork(const eng_prepared *e) {
  eng_consumer *c;
  eng_session *a = t_start_read("rt-fork", 64, 4, 20, &c);
  if (!a) return;
  eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
  CHECK(pw(e, 0, NULL) == ENG_OK && pw(e, 1, NULL) == ENG_OK, "parent writes");
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    int st = pw(e, 100, NULL);
    _exit(st == ENG_OK ? 0 : 1);
  }
  CHECK(pid > 0, "fork");
  if (pid > 0) CHECK(wait_child(pid) == 0, "the child's write said ENG_OK");
  CHECK(pw(e, 2, NULL) == ENG_OK, "parent writes again");
  got g;
  double t0 = now_s();
  int parent = 0, child = 0, order = 1;
  uint64_t next = 0;
  while ((parent < 3 || child < 1) && now_s() - t0 < 10) {
    drain(c, &g);
    for (int i = 0; i < g.n; i++) {
      if (g.pid[i] == (uint32_t)getpid()) { parent++; order &= g.counter[i] == next++; }
      else if (g.pid[i] == (uint32_t)pid && g.counter[i] == 100) child++;
    }
    CHECK(g.corrupt == 0 && g.lost == 0, "no corrupt or lost records");
  }
  CHECK(parent == 3 && order, "the parent's 3 events, in order (%d)", parent);
  CHECK(child == 1, "the child's event, with its own pid (%d)", child);
  eng_consumer_close(c);
  eng_session_stop(a);
  eng_session_close(a);
}

/* Each write's record has its own time: within 2 ms of the wall clock
** around the call (the clock is read inside it, after the values are in;
** a record whose time was never stored would carry stale ring bytes). */
static void test_time(const eng_prepared *e) {
  eng_consumer *c;
  eng_session *a = t_start_read("rt-time", 4, 4, 20, &c);
  if (!a) return;
  eng_session_enable(a, &T_PROV, 5, ~0ull, 0);
  int bad = 0;
  int64_t worst = 0;
  for (int i = 0; i < 6; i++) {
    usleep(10000);                /* a time of 0 reads as the session's start: not now */
    int64_t before = now_filetime();
    if (i % 2) {
      CHECK(pw(e, (uint64_t)i, NULL) == ENG_OK, "write");
    } else {
      eng_reserve rv;
      t_payload pl = {1, 2, my_tid(), 0, (uint64_t)i};
      CHECK(eng_prepared_reserve(e, NULL, NULL, sizeof pl, &rv) == ENG_OK && rv.payload, "reserve");
      if (rv.payload) { memcpy(rv.payload, &pl, sizeof pl); eng_provider_commit(&rv); }
    }
    int64_t after = now_filetime();
    rec_record rec;
    if (eng_consumer_next(c, &rec, 1000) != ENG_OK || rec.kind != REC_KIND_EVENT) { bad++; continue; }
    int64_t off = rec.timestamp < before ? before - rec.timestamp
                : rec.timestamp > after ? rec.timestamp - after : 0;
    if (off > worst) worst = off;
  }
  CHECK(bad == 0 && worst <= 20000, "%s: times within 2 ms of the wall clock (worst %lld us)",
        plain ? "eng_provider_write" : "eng_prepared_write", (long long)worst / 10);
  eng_consumer_close(c);
  eng_session_stop(a);
  eng_session_close(a);
}

int main(void) {
  test_setup(120);
  eng_provider *p = NULL;
  CHECK(eng_provider_register(&T_PROV, T_TRAITS, sizeof T_TRAITS, &p) == ENG_OK, "register");
  if (!p) return unit_finish();
  tlg_desc d = desc_of(4, 1, 3);
  eng_prepared *e = prep(p, &d);
  if (e) {
    test_same_record(e);
    test_no_fill(p, e);
    for (plain = 0; plain < 2; plain++) {
      test_providers();
      test_key(p);
      test_changes(e);
      test_fork(e);
      test_time(e);
    }
  }
  unprep(e);
  eng_provider_unregister(p);
  return unit_finish();
}
