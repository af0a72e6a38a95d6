/*
** fuzz_tlg_decode.c: libFuzzer target for the TraceLogging decoder and its
** formatters (the cached straight way checked against the walk).
** Input: u16 LE metadata length, the metadata blob, then data.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlg_decode.h"
#include "tlg_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

static void null_write(void *ctx, const char *s, size_t n) {
  size_t *total = ctx;
  REQUIRE(n == 0 || s != NULL);
  *total += n;
}

static int inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len) {
  return n == 0 || (p >= base && p + n <= base + len);
}

/* Walk every item, checking what the API promises. */
static void walk(const uint8_t *m, size_t ml, const uint8_t *d, size_t dl) {
  tlg_decoder dec;
  tlg_item it;
  int open = 0;
  uint32_t last_end = 0;
  if (tlg_decode_start(&dec, m, ml, d, dl) != TLG_OK) {
    REQUIRE(tlg_decode_status(&dec) != TLG_OK);
    REQUIRE(!tlg_decode_next(&dec, &it));
    return;
  }
  while (tlg_decode_next(&dec, &it)) {
    REQUIRE(it.depth < TLG_DECODE_MAX_DEPTH);
    REQUIRE(inside((const uint8_t *)it.field.name, it.field.name_len + 1, m, ml));
    REQUIRE(it.field.name[it.field.name_len] == 0);
    REQUIRE(inside(it.field.schema, it.field.schema_len, m, ml));
    REQUIRE((uint64_t)it.offset + it.size <= dl);
    if (it.kind == TLG_ITEM_VALUE) {
      REQUIRE(inside(it.value, it.value_len, d, dl));
      REQUIRE(it.offset >= last_end); /* values never overlap or go back */
      last_end = it.offset + it.size;
    }
    open += it.kind == TLG_ITEM_ARRAY_BEGIN || it.kind == TLG_ITEM_STRUCT_BEGIN;
    open -= it.kind == TLG_ITEM_ARRAY_END || it.kind == TLG_ITEM_STRUCT_END;
    REQUIRE(open >= 0 && open <= TLG_DECODE_MAX_FRAMES);
  }
  int st = tlg_decode_status(&dec);
  REQUIRE(st >= TLG_OK && st < TLG_STATUS_COUNT);
  REQUIRE(st != TLG_OK || (open == 0 && last_end <= dl));
  REQUIRE(!tlg_decode_next(&dec, &it)); /* stays stopped */
}

static void format(const uint8_t *m, size_t ml, const uint8_t *d, size_t dl, int mode) {
  tlg_decoder dec;
  size_t total = 0;
  tlg_sink sink = {null_write, &total};
  if (tlg_decode_start(&dec, m, ml, d, dl) == TLG_OK) {
    tlg_fmt_fields(&sink, &dec, mode);
  }
  tlg_fmt_error(&sink, &dec);
}

/* Output bytes kept for a comparison (the tail is dropped past the cap,
** the same way for both sides). */
typedef struct { char s[8192]; size_t n, total; } capture;
static void cap_write(void *ctx, const char *s, size_t n) {
  capture *c = ctx;
  size_t k = n < sizeof c->s - c->n ? n : sizeof c->s - c->n;
  memcpy(c->s + c->n, s, k);
  c->n += k;
  c->total += n;
}

/* The straight way through a shape cache that lives across inputs (so a
** cached shape meets other data, other shapes of the same length, the
** other mode) writes what the decoder walk writes, status included. */
static void flat_agrees(const uint8_t *m, size_t ml, const uint8_t *d, size_t dl, int mode) {
  static tlg_shape_cache cache;
  static capture a, b;
  static char line[16384];
  tlg_sink sa = {cap_write, &a}, sb = {cap_write, &b};
  tlg_decoder da, db;
  if (tlg_decode_start(&da, m, ml, d, dl) != TLG_OK) return;
  REQUIRE(tlg_decode_start(&db, m, ml, d, dl) == TLG_OK);
  a.n = a.total = b.n = b.total = 0;
  tlg_json ja, jb;
  tlg_json_init_buf(&ja, &sa, line, sizeof line);
  tlg_json_init(&jb, &sb);
  int flat = tlg_fmt_fields_flat_c(&ja, &da, mode, &cache);
  int ra = flat ? tlg_decode_status(&da) : tlg_fmt_fields_walk(&ja, &da, mode);
  int rb = tlg_fmt_fields_walk(&jb, &db, mode);
  tlg_json_flush(&ja);
  tlg_json_flush(&jb);
  REQUIRE(ra == rb);
  REQUIRE(a.total == b.total && a.n == b.n && memcmp(a.s, b.s, a.n) == 0);
}

static void meta_walk(const uint8_t *m, size_t ml) {
  tlg_decoder dec;
  tlg_field f;
  if (tlg_decode_start(&dec, m, ml, NULL, 0) != TLG_OK) return;
  uint32_t pos = tlg_decode_fields_pos(&dec), i = 0;
  while (!tlg_decode_meta_end(&dec, pos)) {
    uint32_t before = pos;
    if (tlg_decode_field(&dec, &pos, i++, &f) != TLG_OK) break;
    REQUIRE(pos > before && pos <= ml);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  if (size < 2) return 0;
  size_t ml = (size_t)(in[0] | in[1] << 8);
  if (ml > size - 2) ml = size - 2;
  size_t dl = size - 2 - ml;
  /* exact-size copies, so that any over-read is caught by ASan */
  uint8_t *m = malloc(ml ? ml : 1), *d = malloc(dl ? dl : 1);
  if (!m || !d) abort();
  memcpy(m, in + 2, ml);
  memcpy(d, in + 2 + ml, dl);
  walk(m, ml, d, dl);
  format(m, ml, d, dl, TLG_FMT_JSON);
  format(m, ml, d, dl, TLG_FMT_TEXT);
  flat_agrees(m, ml, d, dl, TLG_FMT_JSON);
  flat_agrees(m, ml, d, dl, TLG_FMT_JSON);         /* a hit on the shape just kept */
  flat_agrees(m, ml, d, dl, TLG_FMT_TEXT);
  if (dl) flat_agrees(m, ml, d, dl - 1, TLG_FMT_TEXT); /* the same shape, cut data */
  meta_walk(m, ml);
  const char *name;
  size_t nlen;
  if (tlg_traits_name(d, dl, &name, &nlen) == TLG_OK) REQUIRE(inside((const uint8_t *)name, nlen, d, dl));
  free(m);
  free(d);
  return 0;
}
