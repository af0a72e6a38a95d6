/*
** eng_selftest.c: `etwlua --selftest` (spec windows-etw §7), over engine.h
** only, so the same checklist runs against whichever backend is linked:
** engine/shm on POSIX (in a private runtime directory), engine/win (ETW)
** on Windows. One line per check ("ok", "FAILED: why", "skipped: why") and
** a closing "N passed, N failed, N skipped" line; returns the number of
** failures.
** Windows: under Wine the ETW checks are skipped (its ETW calls are stubs);
** not elevated, the session checks are skipped with the reason, after
** checking that StartTraceW is refused with "access denied". What differs
** per backend is behind eng_selftest_os.h (shm/shm_selftest.c,
** win/win_selftest_os.c); this file has no platform code.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "eng_selftest.h"
#include "eng_selftest_os.h"
#include "etl.h"
#include "tlg_build.h"
#include "tlg_decode.h"
#include "tlg_guid.h"
#include "win/pure/winp.h"

#define getpid_() eng_st_pid()
#define sleep_ms(ms) eng_st_sleep_ms(ms)

static int npassed, nfailed, nskipped;

static void report(const char *check, int result, const char *why) {
  /* result: 1 ok, 0 failed, -1 skipped */
  if (result > 0) { npassed++; printf("%-52s ok\n", check); }
  else if (result == 0) { nfailed++; printf("%-52s FAILED: %s\n", check, why ? why : "?"); }
  else { nskipped++; printf("%-52s skipped: %s\n", check, why ? why : ""); }
  fflush(stdout);
}

#define N_EVENTS 10

typedef struct st_provider {
  eng_provider *p;
  tlg_guid id;
  uint8_t traits[64];
  size_t traits_len;
} st_provider;

static int make_provider(st_provider *sp, char *why, size_t n) {
  const char *name = "etwlua.SelfTest";
  size_t len = strlen(name);
  tlg_provider_id(name, len, &sp->id);
  sp->traits_len = 2 + len + 1;
  tlg_put16(sp->traits, (uint16_t)sp->traits_len);
  memcpy(sp->traits + 2, name, len + 1);
  int st = eng_provider_register(&sp->id, sp->traits, sp->traits_len, &sp->p);
  if (st) snprintf(why, n, "eng_provider_register: %s", eng_strerror(st));
  return st;
}

/* one TraceLogging event "SelfTest" {u32 i, string s} */
static int build_event(tlg_builder *b, uint32_t i, tlg_desc *d) {
  memset(d, 0, sizeof *d);
  d->channel = TLG_CHANNEL_TRACELOGGING;
  d->level = 4;
  d->keyword = 1;
  if (tlg_build_reset(b, "SelfTest", 8, d, 0)) return -1;
  tlg_build_field f = {"i", 1, 0, 0};
  if (tlg_build_add_fixed(b, &f, TLG_IN_UINT32, i)) return -1;
  tlg_build_field g = {"s", 1, 0, 0};
  return tlg_build_add_bytes(b, &g, TLG_IN_ANSISTRING, "etwlua", 6) ? -1 : 0;
}

static int write_event(st_provider *sp, tlg_builder *b, uint32_t i, const tlg_guid *act,
                       const tlg_guid *rel) {
  tlg_desc d;
  if (build_event(b, i, &d)) return ENG_E_ARG;
  size_t ml, dl;
  const uint8_t *m = tlg_build_meta(b, &ml);
  const uint8_t *x = tlg_build_data(b, &dl);
  eng_data dd[2] = {{m, (uint32_t)ml, ENG_DATA_EVENT_META, {0}}, {x, (uint32_t)dl, ENG_DATA_PAYLOAD, {0}}};
  return eng_provider_write(sp->p, &d, act, rel, 2, dd);
}

static void check_provider_alone(void) {
  const char *name = "provider alone";
  st_provider sp;
  char why[160];
  if (make_provider(&sp, why, sizeof why)) { report(name, 0, why); return; }
  tlg_builder b;
  tlg_build_init(&b, 0, 0);
  int en = eng_enabled_any(sp.p);
  int wr = write_event(&sp, &b, 1, NULL, NULL);
  tlg_build_free(&b);
  int etw = eng_st_os_enabled(sp.p, 5, 0) > 0;
  eng_provider_unregister(sp.p);
  if (en) report(name, 0, "enabled with no session listening");
  else if (etw) report(name, 0, "EventProviderEnabled says enabled");
  else if (wr) { snprintf(why, sizeof why, "write: %s", eng_strerror(wr)); report(name, 0, why); }
  else report(name, 1, NULL);
}

typedef struct rt_ctx {
  char session[64];
  eng_session *s;
  eng_consumer *c;
  st_provider sp;
} rt_ctx;

static void rt_cleanup(rt_ctx *r) {
  if (r->c) eng_consumer_close(r->c);
  if (r->s) { eng_session_stop(r->s); eng_session_close(r->s); }
  if (r->sp.p) eng_provider_unregister(r->sp.p);
  memset(r, 0, sizeof *r);
}

/* wait until eng_enabled says `want` (the ETW callback runs on its own thread) */
static int wait_enabled(eng_provider *p, int want) {
  for (int i = 0; i < 100; i++) {
    if ((eng_enabled(p, 5, 1) != 0) == want) return 1;
    sleep_ms(20);
  }
  return 0;
}

static void check_realtime(int *session_ok) {
  rt_ctx r;
  memset(&r, 0, sizeof r);
  char why[200];
  *session_ok = 0;
  winp_name_make(r.session, sizeof r.session, "selftest", getpid_());
  eng_session_opts o;
  memset(&o, 0, sizeof o);
  o.mode = ENG_MODE_REALTIME;
  o.flush_ms = 1000;
  int st = eng_session_start(r.session, &o, &r.s);
  if (st == ENG_E_ACCESS) {
    report("real-time session start refused unelevated", 1, NULL);
    report("real-time round trip", -1,
           "needs elevation: run etwlua --selftest from an Administrator prompt "
           "(or as a member of Performance Log Users)");
    return;
  }
  if (st) { snprintf(why, sizeof why, "session start: %s", eng_strerror(st)); goto fail; }
  *session_ok = 1;
  if ((st = eng_consumer_open(r.session, &r.c))) {
    snprintf(why, sizeof why, "consumer open: %s", eng_strerror(st));
    goto fail;
  }
  if (make_provider(&r.sp, why, sizeof why)) goto fail;
  if ((st = eng_session_enable(r.s, &r.sp.id, 5, 0, 0))) {
    snprintf(why, sizeof why, "enable: %s", eng_strerror(st));
    goto fail;
  }
  if (!wait_enabled(r.sp.p, 1)) { snprintf(why, sizeof why, "provider not enabled after enable"); goto fail; }
  if (eng_st_os_enabled(r.sp.p, 5, 1) == 0) {
    snprintf(why, sizeof why, "EventProviderEnabled disagrees with the callback state");
    goto fail;
  }
  tlg_builder b;
  tlg_build_init(&b, 0, 0);
  tlg_guid act, rel;
  for (int i = 0; i < 16; i++) { act.b[i] = (uint8_t)(0xA0 + i); rel.b[i] = (uint8_t)(0x10 + i); }
  for (uint32_t i = 0; i < N_EVENTS; i++) {
    st = write_event(&r.sp, &b, i, i == 3 ? &act : NULL, i == 3 ? &rel : NULL);
    if (st) { tlg_build_free(&b); snprintf(why, sizeof why, "write %u: %s", i, eng_strerror(st)); goto fail; }
  }
  /* an event above 64 KB is refused, not truncated */
  static uint8_t big[70000];
  tlg_desc bd;
  build_event(&b, 99, &bd);
  size_t ml;
  const uint8_t *m = tlg_build_meta(&b, &ml);
  eng_data bdd[2] = {{m, (uint32_t)ml, ENG_DATA_EVENT_META, {0}}, {big, sizeof big, ENG_DATA_PAYLOAD, {0}}};
  int bst = eng_provider_write(r.sp.p, &bd, NULL, NULL, 2, bdd);
  eng_session_flush(r.s);
  uint32_t seen = 0, with_rel = 0, bad = 0;
  for (int tries = 0; seen < N_EVENTS && tries < 100; tries++) {
    rec_record rec;
    st = eng_consumer_next(r.c, &rec, 100);
    if (st == ENG_E_TIMEOUT) { eng_session_flush(r.s); continue; }
    if (st) break;
    if (rec.kind != REC_KIND_EVENT || memcmp(rec.provider_id.b, r.sp.id.b, 16)) continue;
    tlg_desc d;
    build_event(&b, seen, &d);
    size_t ml2, dl2;
    const uint8_t *m2 = tlg_build_meta(&b, &ml2);
    const uint8_t *d2 = tlg_build_data(&b, &dl2);
    if (!rec.meta || rec.meta_len != ml2 || memcmp(rec.meta, m2, ml2) || rec.data_len != dl2 ||
        memcmp(rec.data, d2, dl2) || rec.desc.level != 4 || rec.desc.keyword != 1)
      bad++;
    if ((rec.flags & REC_RELATED) && !memcmp(rec.related_activity_id.b, rel.b, 16) &&
        (rec.flags & REC_ACTIVITY) && !memcmp(rec.activity_id.b, act.b, 16))
      with_rel++;
    seen++;
  }
  tlg_build_free(&b);
  if (seen != N_EVENTS) { snprintf(why, sizeof why, "received %u of %u events", seen, N_EVENTS); goto fail; }
  if (bad) { snprintf(why, sizeof why, "%u events differ from what was written", bad); goto fail; }
  if (with_rel != 1) { snprintf(why, sizeof why, "activity / related activity id not seen"); goto fail; }
  report("real-time round trip", 1, NULL);
  const char *no_oversize = eng_st_oversize_skip();
  if (no_oversize) report("event above 64 KB refused", -1, no_oversize);
  else report("event above 64 KB refused", bst == ENG_E_TOOBIG, eng_strerror(bst));

  eng_session_stats stats;
  st = eng_session_query(r.s, &stats);
  if (st) snprintf(why, sizeof why, "query: %s", eng_strerror(st));
  else snprintf(why, sizeof why, "%llu events lost", (unsigned long long)stats.lost);
  report("session statistics, nothing lost", st == 0 && stats.lost == 0, why);

  /* disable -> provider sees it; stop -> consumer drains and ends */
  eng_session_disable(r.s, &r.sp.id);
  report("disable reaches the provider", wait_enabled(r.sp.p, 0), "still enabled after disable");
  eng_session_stop(r.s);
  int end = 0;
  for (int tries = 0; tries < 150; tries++) {
    rec_record rec;
    st = eng_consumer_next(r.c, &rec, 100);
    if (st == ENG_E_STOPPED) { end = 1; break; }
    if (st != ENG_OK && st != ENG_E_TIMEOUT) break;
  }
  report("stop ends the consumer", end, "consumer did not end within 15 s");
  eng_session_info info[64];
  size_t cnt = 0, found = 0;
  if (eng_sessions_list(info, 64, &cnt) == ENG_OK)
    for (size_t i = 0; i < cnt && i < 64; i++) found += strcmp(info[i].name, r.session) == 0;
  report("stopped session is gone from the list", found == 0, "still listed");
  rt_cleanup(&r);
  return;
fail:
  report("real-time round trip", 0, why);
  rt_cleanup(&r);
}

static void check_loss(void) {
  const char *no_loss = eng_st_loss_skip();
  if (no_loss) {
    report("loss is counted", -1, no_loss);
    return;
  }
  rt_ctx r;
  memset(&r, 0, sizeof r);
  char why[160];
  winp_name_make(r.session, sizeof r.session, "selftest-loss", getpid_());
  eng_session_opts o;
  memset(&o, 0, sizeof o);
  o.buffer_kb = 4;
  o.min_buffers = 1;
  o.max_buffers = 1;
  int st = eng_session_start(r.session, &o, &r.s);
  if (st) { snprintf(why, sizeof why, "session start: %s", eng_strerror(st)); goto fail; }
  if ((st = eng_consumer_open(r.session, &r.c))) { snprintf(why, sizeof why, "consumer: %s", eng_strerror(st)); goto fail; }
  if (make_provider(&r.sp, why, sizeof why)) goto fail;
  eng_session_enable(r.s, &r.sp.id, 5, 0, 0);
  tlg_builder b;
  tlg_build_init(&b, 0, 0);
  int lost_writes = 0;
  for (uint32_t i = 0; i < 5000; i++) lost_writes += write_event(&r.sp, &b, i, NULL, NULL) == ENG_E_LOST;
  tlg_build_free(&b);
  eng_session_stats stats;
  eng_session_query(r.s, &stats);
  uint64_t inband = 0;
  for (int k = 0; k < 100000; k++) {
    rec_record rec;
    if (eng_consumer_next(r.c, &rec, 0) != ENG_OK) break;
    if (rec.kind == REC_KIND_LOST) inband += rec.lost;
  }
  /* ring records notices when the writer next gets room: write once more */
  /* every dropped write is counted in the stats, exactly */
  if (!lost_writes || stats.lost != (uint64_t)lost_writes) {
    snprintf(why, sizeof why, "%d lost writes, stats say %llu, %llu notified in-band",
             lost_writes, (unsigned long long)stats.lost, (unsigned long long)inband);
    goto fail;
  }
  report("loss is counted", 1, NULL);
  rt_cleanup(&r);
  return;
fail:
  report("loss is counted", 0, why);
  rt_cleanup(&r);
}

/* Read `path` with src/etl and require the N_EVENTS SelfTest events of
** provider `id`, i = 0..N-1 in order, decoding cleanly, times not going
** back. *first / *last get their timestamps. 1 ok, else 0 with why. */
static int read_back(const char *path, const tlg_guid *id, int64_t *first, int64_t *last,
                     char *why, size_t n) {
  etl_reader *r = NULL;
  etl_error err;
  if (etl_open_file(path, NULL, &r, &err) != ETL_OK) {
    snprintf(why, n, "src/etl cannot open %.300s: %.199s", path, err.message);
    return 0;
  }
  uint32_t got = 0, bad = 0, errors = 0;
  rec_record rec;
  int st;
  while ((st = etl_next(r, &rec, &err)) != ETL_END) {
    if (st != ETL_OK) { errors++; if (st != ETL_ERR_DATA) break; continue; }
    if (rec.kind != REC_KIND_EVENT || memcmp(rec.provider_id.b, id->b, 16) != 0) continue;
    tlg_decoder d;
    tlg_item it;
    int ok_i = 0;
    tlg_decode_start(&d, rec.meta, rec.meta_len, rec.data, rec.data_len);
    while (tlg_decode_next(&d, &it))
      if (it.kind == TLG_ITEM_VALUE && it.field.name_len == 1 && it.field.name[0] == 'i' &&
          it.value_len == 4 && tlg_get_le(it.value, 4) == got)
        ok_i = 1;
    if (!ok_i || tlg_decode_status(&d) != TLG_OK || (got && rec.timestamp < *last)) bad++;
    if (!got) *first = rec.timestamp;
    *last = rec.timestamp;
    got++;
  }
  etl_close(r);
  snprintf(why, n, "src/etl read %u of %d events, %u wrong, %u record errors", got, N_EVENTS,
           bad, errors);
  return got == N_EVENTS && bad == 0 && errors == 0;
}

static void check_file(void) {
  eng_session *s = NULL;
  char name[64], path[512];
  winp_name_make(name, sizeof name, "selftest-file", getpid_());
  eng_st_temp_etl(path, sizeof path, name);
  eng_session_opts o;
  memset(&o, 0, sizeof o);
  o.mode = ENG_MODE_FILE;
  o.file = path;
  int st = eng_session_start(name, &o, &s);
  if (st == ENG_E_UNSUPPORTED) { report("file session -> ETL", -1, "file sessions not supported by this backend"); return; }
  char why[600];
  if (st) { snprintf(why, sizeof why, "session start: %s", eng_strerror(st)); report("file session -> ETL", 0, why); return; }
  st_provider sp;
  memset(&sp, 0, sizeof sp);
  if (make_provider(&sp, why, sizeof why) == 0) {
    eng_session_enable(s, &sp.id, 5, 0, 0);
    wait_enabled(sp.p, 1);
    tlg_builder b;
    tlg_build_init(&b, 0, 0);
    for (uint32_t i = 0; i < N_EVENTS; i++) write_event(&sp, &b, i, NULL, NULL);
    tlg_build_free(&b);
  }
  eng_session_stop(s);
  eng_session_close(s);
  if (sp.p) eng_provider_unregister(sp.p);
  FILE *f = fopen(path, "rb");
  long size = 0;
  if (f) { fseek(f, 0, SEEK_END); size = ftell(f); fclose(f); }
  snprintf(why, sizeof why, "%s: %s", path, f ? "empty" : "not written");
  report("file session -> ETL", size > 0, why);
  int64_t first = 0, last = 0;
  int ok = size > 0 && read_back(path, &sp.id, &first, &last, why, sizeof why);
  report("ETL read back (src/etl): every event, in order", size > 0 ? ok : -1,
         size > 0 ? why : "no file");
  eng_st_file_more(path, &sp.id, N_EVENTS, first, last, ok, report);
  remove(path);
}

int etwlua_selftest(void) {
  npassed = nfailed = nskipped = 0;
  const char *stubbed = eng_st_begin();
  check_provider_alone();
  if (stubbed) {
    static const char *const checks[] = {
      "real-time round trip", "session statistics, nothing lost", "stop ends the consumer",
      "file session -> ETL", "ETL read back (src/etl): every event, in order",
      "loss is counted"};
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) report(checks[i], -1, stubbed);
    eng_st_backend_checks(stubbed, report);
  } else {
    int session_ok = 0;
    check_realtime(&session_ok);
    if (session_ok) {
      check_file();
      check_loss();
    } else {
      report("file session -> ETL", -1, "needs a session (see above)");
      report("loss is counted", -1, "needs a session (see above)");
    }
    eng_st_backend_checks(session_ok ? NULL : "needs a session (see above)", report);
  }
  eng_st_end();
  printf("%d passed, %d failed, %d skipped\n", npassed, nfailed, nskipped);
  fflush(stdout);
  return nfailed;
}
