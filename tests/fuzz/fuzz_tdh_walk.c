/*
** fuzz_tdh_walk.c: libFuzzer target for the TDH property walker
** (src/schema/sch_tdh_walk.c) and the names, items and text built on
** it (sch_tdh_fmt.c), and the plan of flat schemas (sch_tdh_plan.c), which
** must locate exactly the walker's top-level items or leave the event to
** it. Input: u8 pointer-size selector (bit 0: 4 else 8),
** u16 LE schema length, the TRACE_EVENT_INFO bytes, then the payload.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sch_tdh.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

typedef struct check {
  const uint8_t *tei, *data;
  size_t tei_len, data_len;
  int open;
  unsigned long items;
} check;

static int visit(void *ctx, const sch_walk_item *it) {
  check *c = ctx;
  c->items++;
  REQUIRE(it->depth <= 16);
  if (it->len) REQUIRE(it->ptr >= c->data && it->ptr + it->len <= c->data + c->data_len);
  if (it->name) REQUIRE(it->name >= c->tei && it->name + 2 <= c->tei + c->tei_len);
  if (it->kind == SCH_W_ARRAY_BEGIN || it->kind == SCH_W_STRUCT_BEGIN) c->open++;
  if (it->kind == SCH_W_ARRAY_END || it->kind == SCH_W_STRUCT_END) REQUIRE(--c->open >= 0);
  if (it->is_int) REQUIRE(it->len <= 8);
  return 0;
}

/* The walker's top-level items, one line each, to compare with the plan. */
typedef struct tops {
  const uint8_t *data;
  size_t n;
  uint32_t v[4 * 256];    /* kind, prop, offset or count, length */
} tops;

static void top_put(tops *t, uint32_t kind, uint32_t prop, uint32_t a, uint32_t b) {
  if (t->n + 4 > sizeof t->v / sizeof t->v[0]) return;
  t->v[t->n++] = kind; t->v[t->n++] = prop; t->v[t->n++] = a; t->v[t->n++] = b;
}

static int top_visit(void *ctx, const sch_walk_item *it) {
  tops *t = ctx;
  if (it->depth != 0) return 0;
  if (it->kind == SCH_W_VALUE)
    top_put(t, SCH_W_VALUE, it->prop, it->len ? (uint32_t)(it->ptr - t->data) : 0, it->len);
  else if (it->kind == SCH_W_ARRAY_BEGIN)
    top_put(t, SCH_W_ARRAY_BEGIN, it->prop, it->count, 0);
  return 0;
}

/* A planned schema: locating succeeds exactly when the walk does, at the
** walker's places. */
static void check_plan(const uint8_t *tei, size_t tl, const uint8_t *data, size_t dl,
                       unsigned psize) {
  static sch_plan_step st[SCH_PLAN_MAX];
  static sch_plan_span sp[SCH_PLAN_MAX];
  static tops w, p;
  size_t n = sch_plan_compile(tei, tl, st);
  if (n == 0) return;
  REQUIRE(n <= SCH_PLAN_MAX);
  w.data = p.data = data;
  w.n = p.n = 0;
  int rc = sch_tdh_walk(tei, tl, data, dl, psize, top_visit, &w);
  int ok = sch_plan_locate(st, n, data, dl, psize, sp);
  REQUIRE(ok == (rc == 0));
  if (!ok) return;
  for (size_t i = 0; i < n; i++) {
    REQUIRE((size_t)sp[i].off + (size_t)sp[i].len * (st[i].is_array ? sp[i].count : 1) <= dl);
    if (!st[i].is_array) {
      top_put(&p, SCH_W_VALUE, (uint32_t)i, sp[i].len ? sp[i].off : 0, sp[i].len);
      continue;
    }
    top_put(&p, SCH_W_ARRAY_BEGIN, (uint32_t)i, sp[i].count, 0);
    for (uint32_t k = 0; k < sp[i].count; k++)
      top_put(&p, SCH_W_VALUE, (uint32_t)i, sp[i].off + k * sp[i].len, sp[i].len);
  }
  REQUIRE(p.n == w.n && memcmp(p.v, w.v, w.n * sizeof w.v[0]) == 0);
}

static void sink_write(void *ctx, const char *s, size_t n) {
  size_t *total = ctx;
  REQUIRE(n == 0 || s != NULL);
  *total += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  if (size < 3) return 0;
  unsigned psize = (in[0] & 1) ? 4 : 8;
  size_t tl = (size_t)in[1] | (size_t)in[2] << 8;
  if (tl > size - 3) tl = size - 3;
  /* copies, so ASan sees reads past either blob */
  uint8_t *tei = malloc(tl ? tl : 1), *data = malloc(size - 3 - tl + 1);
  size_t dl = size - 3 - tl;
  memcpy(tei, in + 3, tl);
  memcpy(data, in + 3 + tl, dl);
  check c = {tei, data, tl, dl, 0, 0};
  int rc = sch_tdh_walk(tei, tl, data, dl, psize, visit, &c);
  REQUIRE(rc >= -2 && rc <= 1);
  if (rc == 0) REQUIRE(c.open == 0);
  check_plan(tei, tl, data, dl, psize);

  sch_tdh_event t = {tei, (uint32_t)tl, data, (uint32_t)dl, psize};
  char name[512], err[400];
  size_t total = 0;
  uint32_t prop = 0;
  tlg_sink sink = {sink_write, &total};
  REQUIRE(sch_tdh_event_name(&t, name, sizeof name) < sizeof name);
  REQUIRE(sch_tdh_provider_name(&t, name, sizeof name) < sizeof name);
  for (int mode = 0; mode < 2; mode++) {
    int st = sch_tdh_fmt_fields(&sink, &t, mode ? TLG_FMT_JSON : TLG_FMT_TEXT, &prop);
    if (st != SCH_TDH_OK) sch_tdh_error(&t, st, prop, err, sizeof err);
  }
  free(tei);
  free(data);
  return 0;
}
