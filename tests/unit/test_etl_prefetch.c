/*
** test_etl_prefetch.c: the helper thread that decompresses ahead of the
** open-time scan (etl_prefetch.c) changes nothing but the time: for
** compressed files, intact, with every byte flipped, cut, under a tight
** decompression budget or a tiny cache, read from memory and from a file,
** every record and every error (text and order) are the same as with
** opt.single_thread. Also the shared compressed sample, when present.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl.h"
#include "etlsynth_mini.h"
#include "unit_check.h"

/* A digest of everything a read gives: FNV-1a over the open status, each
** record's time, ids, offsets and payload, and each error's text. */
typedef struct outcome {
  uint64_t hash;
  size_t records, errors;
  int open_status;
} outcome;

static void mix(uint64_t *h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) *h = (*h ^ b[i]) * 0x100000001b3ull;
}

static void read_all(etl_reader *r, outcome *o) {
  rec_record rec;
  etl_error e;
  int st;
  while ((st = etl_next(r, &rec, &e)) != ETL_END) {
    mix(&o->hash, &st, sizeof st);
    if (st != ETL_OK) {
      o->errors++;
      mix(&o->hash, e.message, strlen(e.message));
      if (st != ETL_ERR_DATA) break;
      continue;
    }
    o->records++;
    mix(&o->hash, &rec.timestamp, sizeof rec.timestamp);
    mix(&o->hash, &rec.provider_id, sizeof rec.provider_id);
    mix(&o->hash, &rec.src_offset, sizeof rec.src_offset);
    mix(&o->hash, &rec.src_record_offset, sizeof rec.src_record_offset);
    if (rec.data) mix(&o->hash, rec.data, rec.data_len);
  }
}

/* Read `f` (memory) or `path` (file) with or without the helper. */
static outcome read_one(const uint8_t *f, size_t len, const char *path, int single,
                        const etl_options *base) {
  outcome o = {0xcbf29ce484222325ull, 0, 0, 0};
  etl_options opt = base ? *base : (etl_options){0};
  opt.single_thread = single;
  etl_reader *r = NULL;
  etl_error e;
  o.open_status = path ? etl_open_file(path, &opt, &r, &e) : etl_open_memory(f, len, &opt, &r, &e);
  mix(&o.hash, &o.open_status, sizeof o.open_status);
  if (o.open_status == ETL_OK) read_all(r, &o);
  else mix(&o.hash, e.message, strlen(e.message));
  etl_close(r);
  return o;
}

static int same(const outcome *a, const outcome *b) {
  return a->hash == b->hash && a->records == b->records && a->errors == b->errors &&
         a->open_status == b->open_status;
}

static int write_file(const char *path, const uint8_t *f, size_t len) {
  FILE *fp = fopen(path, "wb");
  if (!fp) return -1;
  size_t n = fwrite(f, 1, len, fp);
  return fclose(fp) == 0 && n == len ? 0 : -1;
}

/* Flips of every byte (mask 0xFF), from memory; every 5th from a file. */
static void flips(const uint8_t *f, size_t len, const char *tmp) {
  uint8_t *g = malloc(len);
  size_t differ = 0, differ_file = 0, tries = 0;
  if (!g) return;
  for (size_t p = 0; p < len; p++) {
    memcpy(g, f, len);
    g[p] ^= 0xFF;
    outcome a = read_one(g, len, NULL, 1, NULL), b = read_one(g, len, NULL, 0, NULL);
    differ += !same(&a, &b);
    if (p % 5 == 0 && write_file(tmp, g, len) == 0) {
      tries++;
      outcome c = read_one(NULL, 0, tmp, 0, NULL);
      differ_file += !same(&a, &c);
    }
  }
  check(differ == 0, "every byte flipped: the same records and errors with the helper (%zu differ)",
        differ);
  check(tries > 0 && differ_file == 0, "the same from a file (%zu of %zu differ)", differ_file,
        tries);
  free(g);
}

static void cuts(const uint8_t *f, size_t len) {
  size_t differ = 0;
  for (size_t c = 0; c <= len; c += 3) {
    outcome a = read_one(f, c, NULL, 1, NULL), b = read_one(f, c, NULL, 0, NULL);
    differ += !same(&a, &b);
  }
  check(differ == 0, "every cut: the same with the helper (%zu differ)", differ);
}

static void test_synthetic(void) {
  size_t len = 0;
  uint8_t *f = synth_standard(1, 1, 512, &len);
  char tmp[64];
  snprintf(tmp, sizeof tmp, "test_etl_prefetch-%d.etl", (int)(len % 100000));
  if (!f) { check(0, "synthetic file"); return; }
  outcome a = read_one(f, len, NULL, 1, NULL), b = read_one(f, len, NULL, 0, NULL);
  check(a.records > 10 && a.errors == 0 && same(&a, &b), "intact: %zu records, the same", a.records);
  etl_options tight = {0};
  tight.max_decompressed = 600;  /* less than the buffers hold */
  a = read_one(f, len, NULL, 1, &tight);
  b = read_one(f, len, NULL, 0, &tight);
  check(a.errors > 0 && same(&a, &b), "decompression budget exhausted: the same errors");
  etl_options tiny = {0};
  tiny.cache_bytes = 1;        /* every buffer unloaded, decompressed again when reached */
  a = read_one(f, len, NULL, 1, &tiny);
  b = read_one(f, len, NULL, 0, &tiny);
  check(same(&a, &b), "one-byte cache: the same");
  flips(f, len, tmp);
  cuts(f, len);
  remove(tmp);
  free(f);
}

static void test_sample(void) {
  const char *shared = getenv("ETWLUA_SHARED");
  char path[1024];
  if (!shared || !*shared) { skip("../shared absent (ETWLUA_SHARED)"); return; }
  snprintf(path, sizeof path, "%s/etl-samples/perfview/net.4.5.2.x64.etl", shared);
  outcome a = read_one(NULL, 0, path, 1, NULL), b = read_one(NULL, 0, path, 0, NULL);
  check(a.open_status == ETL_OK && a.records == 179474 && same(&a, &b),
        "net.4.5.2.x64.etl: %zu records, the same with the helper", a.records);
}

int main(void) {
  test_synthetic();
  test_sample();
  return unit_finish();
}
