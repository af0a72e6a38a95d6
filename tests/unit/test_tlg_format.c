/*
** test_tlg_format.c: the two ways tlg_fmt_fields_to writes an event's
** fields agree: events of scalar fields go straight from their bytes, the
** rest (and any error) through the decoder's items (tlg_fmt_fields_walk,
** the one way there was before). Random events of every scalar InType,
** names and strings that need escapes, OutTypes and field tags, structs,
** arrays and custom fields, then cut, lengthened or corrupted, in JSON and
** text, with a step limit at times: the text, the status and the error
** message must be the same both ways.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlg_decode.h"
#include "tlg_format.h"
#include "unit_check.h"

typedef struct text { char s[1 << 16]; size_t n; } text;

static void text_write(void *ctx, const char *s, size_t n) {
  text *t = ctx;
  if (n > sizeof t->s - t->n) n = sizeof t->s - t->n;
  memcpy(t->s + t->n, s, n);
  t->n += n;
}

static uint64_t state = 0x2545F4914F6CDD1Dull;
static unsigned rnd(unsigned n) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (unsigned)(state % n);
}

typedef struct blob { uint8_t b[4096]; size_t n; } blob;

/* 1 while the event being made has scalar fields only and no damage: the
** straight way must then take it. */
static int simple;
static void put(blob *x, uint8_t v) { if (x->n < sizeof x->b) x->b[x->n++] = v; }

/* Bytes of names and 8-bit strings: plain, escaped, UTF-8, Windows-1252. */
static void put_text(blob *x, unsigned max) {
  static const uint8_t pick[] = {'a', 'Z', '_', ' ', '"', '\\', 0x01, 0x1f, 0x7f, 0xc3, 0xa9, 0x80, 0xff};
  for (unsigned i = rnd(max + 1); i > 0; i--) put(x, pick[rnd(sizeof pick)]);
}

static void put_random(blob *x, unsigned n) { while (n--) put(x, (uint8_t)rnd(256)); }

/* One value of in-type t: the right shape most of the time. */
static void put_value(blob *data, unsigned t) {
  static const uint8_t sizes[26] = {0, 0, 0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8, 4, 0, 16, 8, 8, 16, 0, 4, 8};
  unsigned n;
  switch (t) {
  case TLG_IN_ANSISTRING: put_text(data, 12); put(data, 0); break;
  case TLG_IN_UNICODESTRING:
    for (unsigned i = rnd(6); i > 0; i--) { put(data, (uint8_t)(1 + rnd(255))); put(data, (uint8_t)rnd(256)); }
    put(data, 0); put(data, 0);
    break;
  case TLG_IN_BINARY: case TLG_IN_COUNTEDSTRING: case TLG_IN_COUNTEDANSISTRING:
  case TLG_IN_COUNTEDBINARY:
    n = rnd(9);
    put(data, (uint8_t)n); put(data, 0);
    if (t == TLG_IN_COUNTEDANSISTRING) { size_t at = data->n; put_text(data, n); n -= (unsigned)(data->n - at) < n ? (unsigned)(data->n - at) : n; }
    put_random(data, n);
    break;
  case TLG_IN_SID:
    n = rnd(3);
    put(data, 1); put(data, (uint8_t)n); put_random(data, 6 + 4 * n);
    break;
  case TLG_IN_DOUBLE: case TLG_IN_FLOAT: {
    /* half the time a short decimal, as events mostly carry */
    if (rnd(2)) { put_random(data, sizes[t]); break; }
    double v = (double)((int)rnd(2000000) - 1000000) / (1 + rnd(1000));
    uint8_t b[8];
    if (t == TLG_IN_FLOAT) { float f = (float)v; memcpy(b, &f, 4); } else memcpy(b, &v, 8);
    for (unsigned i = 0; i < sizes[t]; i++) put(data, b[i]);
    break;
  }
  default: put_random(data, t < sizeof sizes ? sizes[t] : 2); break;
  }
}

/* A field's metadata (and value): mostly a valid scalar. */
static void put_field(blob *meta, blob *data, int depth) {
  unsigned t = 1 + rnd(23), in;
  put_text(meta, rnd(4) ? 6 : 20); /* names over 8 bytes too */
  put(meta, 0);
  unsigned r = rnd(20);
  if (r == 0 && depth < 2) t = TLG_IN_STRUCT;
  if (r <= 4) simple = 0;
  in = t;
  if (r == 1) in |= TLG_IN_VCOUNT;
  if (r == 2) in |= TLG_IN_CCOUNT;
  if (r == 3) in |= TLG_IN_CUSTOM;
  if (r == 4) in = (unsigned)rnd(32); /* NULL or beyond the last InType at times */
  int chain = t == TLG_IN_STRUCT || rnd(3) == 0;
  put(meta, (uint8_t)(in | (chain ? TLG_IN_CHAIN : 0)));
  unsigned members = rnd(3);
  if (chain) {
    unsigned out = t == TLG_IN_STRUCT ? members : rnd(128);
    int tag = rnd(4) == 0;
    put(meta, (uint8_t)(out | (tag ? TLG_OUT_CHAIN : 0)));
    if (tag) {
      unsigned k = 1 + rnd(5); /* five bytes: one too many */
      if (k == 5) simple = 0;
      for (unsigned i = 0; i < k; i++) put(meta, (uint8_t)(rnd(128) | (i + 1 < k ? 0x80 : 0)));
    }
  }
  if ((in & TLG_IN_CUSTOM) == TLG_IN_CCOUNT || (in & TLG_IN_CUSTOM) == TLG_IN_CUSTOM) {
    put(meta, (uint8_t)rnd(3)); put(meta, 0);
  }
  if ((in & TLG_IN_CUSTOM) == TLG_IN_VCOUNT) { put(data, (uint8_t)rnd(3)); put(data, 0); }
  if (t == TLG_IN_STRUCT) {
    for (unsigned i = 0; i < members; i++) put_field(meta, data, depth + 1);
  } else {
    unsigned k = rnd(3);
    for (unsigned i = 0; i < ((in & TLG_IN_CUSTOM) ? k : 1); i++) put_value(data, t);
  }
}

static void make_event(blob *meta, blob *data) {
  meta->n = data->n = 0;
  simple = 1;
  put(meta, 0); put(meta, 0);
  put(meta, 0); /* event tag */
  put(meta, 'E'); put(meta, 'v'); put(meta, 0);
  for (unsigned i = rnd(7); i > 0; i--) put_field(meta, data, 0);
  unsigned damage = rnd(10);
  if (damage < 4) simple = 0;
  switch (damage) { /* damage at times */
  case 0: data->n -= data->n ? 1 + rnd((unsigned)data->n) % (unsigned)data->n : 0; break;
  case 1: put(data, (uint8_t)rnd(256)); break;
  case 2: if (meta->n > 6) meta->b[6 + rnd((unsigned)meta->n - 6)] = (uint8_t)rnd(256); break;
  case 3: if (meta->n > 6) meta->n -= 1 + rnd((unsigned)meta->n - 6); break;
  default: break;
  }
  meta->b[0] = (uint8_t)meta->n;
  meta->b[1] = (uint8_t)(meta->n >> 8);
}

/* The fields both ways; returns 1 when they agree (printing the case if not). */
static int agree_c(const blob *meta, const blob *data, int mode, uint32_t limit, tlg_shape_cache *c);
static int agree(const blob *meta, const blob *data, int mode, uint32_t limit) {
  return agree_c(meta, data, mode, limit, NULL);
}

/* The same, the straight way through the shape cache c (NULL: none). */
static int agree_c(const blob *meta, const blob *data, int mode, uint32_t limit, tlg_shape_cache *c) {
  static text a, b, ea, eb;
  tlg_sink sa = {text_write, &a}, sb = {text_write, &b}, sea = {text_write, &ea}, seb = {text_write, &eb};
  tlg_decoder da, db;
  /* the data in a block of its own size, so that a read past its end is
  ** one for AddressSanitizer */
  uint8_t *own = malloc(data->n ? data->n : 1);
  if (!own) return 0;
  memcpy(own, data->b, data->n);
  int st = tlg_decode_start(&da, meta->b, meta->n, own, data->n);
  tlg_decode_start(&db, meta->b, meta->n, own, data->n);
  if (st != TLG_OK) { free(own); return 1; } /* no fields to write either way */
  if (limit) da.step_limit = db.step_limit = limit;
  a.n = b.n = ea.n = eb.n = 0;
  static char line[16384]; /* as the dump writer's line buffer */
  tlg_json ja, jb;
  tlg_json_init_buf(&ja, &sa, line, sizeof line);
  tlg_json_init(&jb, &sb);
  tlg_json_raw(&ja, "x", 1); /* something before, as on a line */
  tlg_json_raw(&jb, "x", 1);
  int flat = tlg_fmt_fields_flat_c(&ja, &da, mode, c);
  int ra = flat ? tlg_decode_status(&da) : tlg_fmt_fields_walk(&ja, &da, mode);
  int rb = tlg_fmt_fields_walk(&jb, &db, mode);
  tlg_json_flush(&ja);
  tlg_json_flush(&jb);
  tlg_fmt_error(&sea, &da);
  tlg_fmt_error(&seb, &db);
  free(own);
  if (simple && !limit && !flat) {
    check(0, "mode %d: a flat event went the generic way", mode);
    return 0;
  }
  int ok = ra == rb && a.n == b.n && !memcmp(a.s, b.s, a.n) && ea.n == eb.n && !memcmp(ea.s, eb.s, ea.n);
  if (!ok) {
    check(0, "mode %d: [%.*s] (%d, %.*s) vs [%.*s] (%d, %.*s)", mode, (int)a.n, a.s, ra,
          (int)ea.n, ea.s, (int)b.n, b.s, rb, (int)eb.n, eb.s);
  }
  return ok;
}

/* Events of a few shapes, again and again, through one shape cache: two
** shapes in turn, runs of one, shapes one metadata byte apart (a name or a
** type changed, same length), both modes through the one cache, and shapes
** the cache cannot keep (over TLG_SHAPE_FIELDS fields, over TLG_SHAPE_META
** bytes). Each must come out as tlg_fmt_fields_walk writes it. */
#define POOL 64
static int shapes_agree(void) {
  static blob meta[POOL], data[POOL];
  static tlg_shape_cache cache;
  int bad = 0, hits = 0;
  for (int i = 0; i < POOL - 2; i += 4) {
    do make_event(&meta[i], &data[i]); while (!simple || meta[i].n < 12);
    for (int k = 1; k < 4; k++) { /* one byte of a field's metadata changed */
      meta[i + k] = meta[i];
      data[i + k] = data[i];
      meta[i + k].b[6 + rnd((unsigned)meta[i].n - 6)] = (uint8_t)(k == 1 ? 'q' : rnd(256));
    }
  }
  for (int b = POOL - 2; b < POOL; b++) { /* too many fields; too many bytes */
    blob *m = &meta[b], *d = &data[b];
    m->n = d->n = 0;
    put(m, 0); put(m, 0); put(m, 0); put(m, 'E'); put(m, 'v'); put(m, 0);
    for (int f = 0; f < (b == POOL - 2 ? TLG_SHAPE_FIELDS + 8 : 3); f++) {
      for (int q = 0; q < (b == POOL - 2 ? 1 : 100); q++) put(m, (uint8_t)('a' + f % 26));
      put(m, 0); put(m, TLG_IN_INT32);
      put_value(d, TLG_IN_INT32);
    }
    m->b[0] = (uint8_t)m->n; m->b[1] = (uint8_t)(m->n >> 8);
  }
  memset(&cache, 0, sizeof cache);
  simple = 0; /* mutants may be damaged: no claim about which way they go */
  for (int i = 0; i < 20000 && bad < 10; i++) {
    int e, pat = (i / 500) % 4;
    if (pat == 0) e = (i & 1) ? (i / 500) % POOL : ((i / 500) + 1) % POOL; /* two in turn */
    else if (pat == 1) e = (int)rnd(POOL);
    else if (pat == 2) e = (i & 1) ? POOL - 1 - (int)rnd(2) : (int)rnd(4); /* big and small */
    else e = (int)(i / 7) % POOL; /* runs */
    int mode = (i / 3) % 2 ? TLG_FMT_JSON : TLG_FMT_TEXT;
    uint32_t rest = (uint32_t)meta[e].n - 6; /* the fields' metadata */
    hits += cache.meta_len == rest && cache.mode == mode && !memcmp(cache.meta, meta[e].b + 6, rest);
    bad += !agree_c(&meta[e], &data[e], mode, 0, &cache);
  }
  check(bad == 0, "20000 events of %d shapes through one shape cache: the same as without", POOL);
  check(hits > 2000, "%d of them found their shape in the cache", hits);
  return bad;
}

/* A shape of scalar fields (no arrays, structs or custom fields) in meta,
** its fields' in-types in types; most OutTypes are the ones the writers
** treat apart (boolean, hex), some random. */
static unsigned make_shape(blob *meta, unsigned *types) {
  unsigned n = 1 + rnd(8);
  static const uint8_t outs[] = {0, TLG_OUT_BOOLEAN, TLG_OUT_HEX};
  meta->n = 0;
  put(meta, 0); put(meta, 0); put(meta, 0); put(meta, 'E'); put(meta, 'v'); put(meta, 0);
  for (unsigned i = 0; i < n; i++) {
    unsigned t = 1 + rnd(23), out = rnd(4) ? outs[rnd(3)] : rnd(128);
    if (t == TLG_IN_STRUCT) t = TLG_IN_INT8;
    types[i] = t;
    put(meta, (uint8_t)('a' + i)); put(meta, 0);
    put(meta, (uint8_t)(t | TLG_IN_CHAIN)); put(meta, (uint8_t)out);
  }
  meta->b[0] = (uint8_t)meta->n;
  meta->b[1] = (uint8_t)(meta->n >> 8);
  return n;
}

/* Integers at the edges of each width (sign, 2^31, 2^32, 2^53, the top),
** 8-bit strings of 0 to 20 plain bytes (one not plain at times), random
** values otherwise. */
static void put_value_edge(blob *data, unsigned t) {
  static const uint64_t edges[] = {0, 1, 9, 10, 99, 100, 0x7FFFFFFFull, 0x80000000ull,
                                   0xFFFFFFFFull, 0x100000000ull, (1ull << 53), (1ull << 53) + 1,
                                   0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, ~0ull,
                                   ~0ull - 99, 4294967295ull * 10};
  static const uint8_t sizes[26] = {0, 0, 0, 1, 1, 2, 2, 4, 4, 8, 8, 0, 0, 4, 0, 0, 8, 0, 0, 0, 4, 8};
  unsigned n = t < sizeof sizes ? sizes[t] : 0;
  if ((t == TLG_IN_ANSISTRING || t == TLG_IN_COUNTEDANSISTRING) && rnd(2)) {
    /* 0 to 20 plain bytes, at times one that is not plain at any place */
    static const uint8_t odd[] = {'"', '\\', 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xff};
    unsigned len = rnd(21), at = rnd(3) == 0 && len ? rnd(len) : len;
    if (t == TLG_IN_COUNTEDANSISTRING) { put(data, (uint8_t)len); put(data, 0); }
    for (unsigned i = 0; i < len; i++)
      put(data, i == at ? odd[rnd(sizeof odd)] : (uint8_t)('a' + rnd(26)));
    if (t == TLG_IN_ANSISTRING) put(data, 0);
    return;
  }
  if (!n || rnd(2)) { put_value(data, t); return; }
  uint64_t v = edges[rnd(sizeof edges / sizeof edges[0])];
  for (unsigned i = 0; i < n; i++) put(data, (uint8_t)(v >> (8 * i)));
}

/* Events of one shape, their values changing, through one shape cache:
** after the first, the values go the cached way (each by its kind: plain
** integers of every width and sign, booleans, floats, 8-bit strings with
** escapes and bytes that are not UTF-8, and the rest by the generic value
** writer), and must come out as tlg_fmt_fields_walk writes them; data cut
** or lengthened at times (the cached way must then give up as the scan
** does). */
static int values_agree(void) {
  static blob meta, data;
  static tlg_shape_cache cache;
  unsigned types[8];
  int bad = 0, hits = 0;
  memset(&cache, 0, sizeof cache);
  for (int s = 0; s < 400 && bad < 10; s++) {
    unsigned n = make_shape(&meta, types);
    int mode = s % 2 ? TLG_FMT_JSON : TLG_FMT_TEXT;
    for (int e = 0; e < 50; e++) {
      data.n = 0;
      for (unsigned i = 0; i < n; i++) put_value_edge(&data, types[i]);
      unsigned damage = rnd(8);
      simple = damage > 1;
      if (damage == 0 && data.n) data.n -= 1 + rnd((unsigned)data.n);
      if (damage == 1) put(&data, (uint8_t)rnd(256));
      hits += e > 0 && cache.meta_len == meta.n - 6 && cache.mode == mode;
      bad += !agree_c(&meta, &data, mode, 0, &cache);
    }
  }
  check(bad == 0, "400 shapes of scalar fields, 50 events each through one cache: the same as without");
  check(hits > 15000, "%d of them were written from the cached shape", hits);
  return bad;
}

int main(void) {
  static blob meta, data;
  shapes_agree();
  values_agree();
  int bad = 0, flat_seen = 0;
  for (int i = 0; i < 60000 && bad < 10; i++) {
    make_event(&meta, &data);
    uint32_t limit = rnd(8) == 0 ? 1 + rnd(6) : 0;
    flat_seen += simple && !limit;
    bad += !agree(&meta, &data, TLG_FMT_JSON, limit);
    bad += !agree(&meta, &data, TLG_FMT_TEXT, limit);
  }
  check(bad == 0, "60000 random events, JSON and text: the same both ways");
  check(flat_seen > 10000, "%d flat events, each written the straight way", flat_seen);
  return unit_finish();
}
