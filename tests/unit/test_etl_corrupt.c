/*
** test_etl_corrupt.c: the ETL reader on damaged input: truncation at every
** offset, flipped bytes at every offset, and hand-made bad sizes (record,
** extended item, buffer fill, BufferSize, compressed sizes and data), on
** synthetic files (always) and on small real samples (when ../shared is
** there). Checks: no crash (run it under ASan/UBSan), every error message
** starts with "offset 0x<its offset>", records before the damage are still
** delivered unchanged, records of undamaged buffers too.
** ETL_WRITE_CORPUS=<dir> also writes the fuzz seed corpus there.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl.h"
#include "etl_format.h"
#include "etlsynth_mini.h"
#include "inflate_mini.h"
#include "unit_check.h"


/* ---- a file read to the end: record identities + content hashes, errors ---- */

typedef struct rec_id {
  uint64_t buf;
  uint32_t off, size;
  uint64_t hash;
} rec_id;

typedef struct run {
  int open_status;
  etl_error open_err;
  rec_id *recs;
  size_t n, cap;
  etl_error first_err;
  size_t nerr, bad_msgs;
  uint64_t max_err_off;
} run;

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
  return h;
}

static uint64_t rec_hash(const rec_record *r) {
  uint64_t h = fnv(1469598103934665603ULL, r->raw_header, r->raw_header_len);
  h = fnv(h, r->data, r->data_len);
  h = fnv(h, &r->provider_id, 16);
  h = fnv(h, &r->cpu, sizeof r->cpu);
  h = fnv(h, &r->raw_timestamp, sizeof r->raw_timestamp);
  for (uint32_t i = 0; i < r->ext_count; i++) h = fnv(h, r->ext[i].data, r->ext[i].size);
  return h;
}

/* An error message must begin with its own offset. */
static int well_formed(const etl_error *e) {
  char want[64];
  snprintf(want, sizeof want, "offset 0x%llx", (unsigned long long)e->offset);
  return strncmp(e->message, want, strlen(want)) == 0;
}

static void add_rec(run *x, const rec_record *r) {
  if (x->n == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 64;
    rec_id *nr = realloc(x->recs, cap * sizeof *nr);
    if (!nr) return;
    x->recs = nr;
    x->cap = cap;
  }
  uint32_t size = (uint32_t)(r->data + r->data_len - r->raw_header);
  x->recs[x->n++] = (rec_id){r->src_offset, r->src_record_offset, size, rec_hash(r)};
}

static void read_with(const uint8_t *f, size_t len, const etl_options *o, run *x);

static void read_file(const uint8_t *f, size_t len, run *x) {
  etl_options opt = {.max_buffer_size = 1u << 20, .cache_bytes = 1u << 20};
  read_with(f, len, &opt, x);
}

static void read_with(const uint8_t *f, size_t len, const etl_options *opt, run *x) {
  etl_reader *r;
  rec_record rec;
  etl_error e;
  int st;
  memset(x, 0, sizeof *x);
  x->open_status = etl_open_memory(f, len, opt, &r, &x->open_err);
  if (x->open_status != ETL_OK) {
    if (!well_formed(&x->open_err)) x->bad_msgs++;
    return;
  }
  for (long guard = 0; guard < 10000000 && (st = etl_next(r, &rec, &e)) != ETL_END; guard++) {
    if (st == ETL_OK) { add_rec(x, &rec); continue; }
    if (x->nerr++ == 0) x->first_err = e;
    if (!well_formed(&e)) x->bad_msgs++;
    if (e.offset > x->max_err_off) x->max_err_off = e.offset;
  }
  etl_close(r);
}

static void run_free(run *x) { free(x->recs); }

static int has(const run *x, const rec_id *id) {
  for (size_t i = 0; i < x->n; i++)
    if (x->recs[i].buf == id->buf && x->recs[i].off == id->off) return x->recs[i].hash == id->hash;
  return 0;
}

/* ---- buffer extents of a clean file ---- */

typedef struct extent { uint64_t start, end; } extent;

static size_t buffers_of(const uint8_t *f, size_t len, extent *ex, size_t max) {
  size_t n = 0;
  for (uint64_t off = 0; off + ETL_BUF_HDR_SIZE <= len && n < max;) {
    uint32_t size = tlg_le32(f + off);
    if (size < ETL_BUF_HDR_SIZE) break;
    ex[n].start = off;
    ex[n++].end = off + size;
    off += size;
  }
  return n;
}

static uint64_t header_end(const uint8_t *f) { return ETL_BUF_HDR_SIZE + tlg_le16(f + 0x4C); }

/* ---- truncation ---- */

static void truncations(const char *name, const uint8_t *f, size_t len, size_t step) {
  run clean, cut;
  extent ex[4096];
  size_t nb = buffers_of(f, len, ex, 4096), bad_open = 0, lost = 0, alien = 0, silent = 0;
  size_t bad_msg = 0, tries = 0;
  read_file(f, len, &clean);
  for (size_t c = 0; c < len; c += step) {
    read_file(f, c, &cut);
    tries++;
    bad_msg += cut.bad_msgs;
    if (cut.open_status != ETL_OK) {
      if (c >= header_end(f)) bad_open++;
      run_free(&cut);
      continue;
    }
    int at_boundary = 0;
    for (size_t b = 0; b < nb; b++) at_boundary |= ex[b].start == c;
    if (!at_boundary && cut.nerr == 0) silent++;
    for (size_t i = 0; i < cut.n; i++) alien += !has(&clean, &cut.recs[i]);
    for (size_t i = 0; i < clean.n; i++) {
      const rec_id *id = &clean.recs[i];
      uint64_t end = id->buf + id->off + id->size;
      for (size_t b = 0; b < nb; b++)
        if (ex[b].start == id->buf && ex[b].end <= c && tlg_le16(f + id->buf + 0x34) & 0x40)
          end = ex[b].end;  /* compressed: the whole buffer must be present */
      if (end <= c && !has(&cut, id)) lost++;
    }
    run_free(&cut);
  }
  check(bad_open == 0, "%s: truncated files open once the header record is whole (%zu)", name, bad_open);
  check(lost == 0, "%s: records before the cut are still delivered (%zu lost)", name, lost);
  check(alien == 0, "%s: no record is invented or changed by a cut (%zu)", name, alien);
  check(silent == 0, "%s: a cut inside a buffer is reported (%zu silent)", name, silent);
  check(bad_msg == 0, "%s: error messages name their offset (%zu of %zu cuts)", name, bad_msg, tries);
  run_free(&clean);
}

/* ---- byte flips ---- */

static void flips(const char *name, const uint8_t *f, size_t len, size_t step, uint8_t mask) {
  run clean, x;
  extent ex[4096];
  size_t nb = buffers_of(f, len, ex, 4096), lost = 0, bad_msg = 0, far = 0;
  int compressed_mode = (tlg_le32(f + 0x48 + 0x20 + 0x20) & ETL_LOGMODE_COMPRESSED) != 0;
  uint8_t *g = malloc(len);
  if (!g) return;
  read_file(f, len, &clean);
  for (size_t p = 0; p < len; p += step) {
    memcpy(g, f, len);
    g[p] ^= mask;
    read_file(g, len, &x);
    bad_msg += x.bad_msgs;
    far += x.max_err_off > len;
    if (x.open_status == ETL_OK && !compressed_mode && !(p >= 0x48 && p < header_end(f))) {
      uint64_t hit = 0;
      for (size_t b = 0; b < nb; b++) if (p >= ex[b].start && p < ex[b].end) hit = ex[b].start;
      for (size_t i = 0; i < clean.n; i++)
        if (clean.recs[i].buf != hit && !has(&x, &clean.recs[i])) {
          if (getenv("ETL_DEBUG")) printf("  flip at 0x%zx loses record 0x%llx+0x%x\n", p,
                                          (unsigned long long)clean.recs[i].buf, clean.recs[i].off);
          lost++;
        }
    }
    run_free(&x);
  }
  check(lost == 0, "%s: a flipped byte (^0x%02x) only affects its own buffer (%zu lost)", name,
        mask, lost);
  check(bad_msg == 0 && far == 0, "%s: flip errors name offsets inside the file (%zu, %zu)", name,
        bad_msg, far);
  run_free(&clean);
  free(g);
}

/* ---- hand-made bad sizes on the standard synthetic file ---- */

/* File offset of the n-th record (file order) of buffer `b` (buffer start). */
static uint64_t rec_at(const uint8_t *f, uint64_t b, int n) {
  uint32_t off = ETL_BUF_HDR_SIZE;
  for (int i = 0; i < n; i++) {
    uint32_t m = tlg_le32(f + b + off), type = m >> 16 & 0xFF;
    int kernel = (m >> 24) == 0xC0 && (type <= 4 || type == 0x10 || type == 0x11);
    uint32_t size = kernel ? tlg_le16(f + b + off + 4) : (m & 0xFFFF);
    off = (off + size + 7) & ~7u;
  }
  return b + off;
}

typedef void (*mutate_fn)(uint8_t *f, uint64_t b1, uint64_t b2, uint64_t *want_off);

/* Apply `m` to a fresh standard file; expect the first error at *want_off
** with `text` in it, and `want_recs` records delivered. */
static void bad_case(const char *what, int compressed, mutate_fn m, const char *text, size_t want_recs) {
  size_t len;
  uint8_t *f = synth_standard(1, compressed, 512, &len);
  extent ex[8];
  if (!f) return;
  buffers_of(f, len, ex, 8);
  uint64_t want = 0;
  m(f, ex[1].start, ex[2].start, &want);
  run x;
  read_file(f, len, &x);
  check(x.open_status == ETL_OK && x.nerr >= 1 && x.first_err.offset == want &&
        strstr(x.first_err.message, text) && x.n == want_recs && x.bad_msgs == 0,
        "%s: %zu records (want %zu), first error \"%s\" (want offset 0x%llx, \"%s\")", what, x.n,
        want_recs, x.nerr ? x.first_err.message : "none", (unsigned long long)want, text);
  run_free(&x);
  free(f);
}

static void m_rec_size0(uint8_t *f, uint64_t b1, uint64_t b2, uint64_t *w) {
  (void)b2;
  *w = rec_at(f, b1, 1);           /* SYSTEM64 record after the TL event */
  f[*w + 4] = 0; f[*w + 5] = 0;
}
static void m_rec_huge(uint8_t *f, uint64_t b1, uint64_t b2, uint64_t *w) {
  (void)b1;
  *w = rec_at(f, b2, 1);           /* the classic record */
  f[*w] = 0xF0; f[*w + 1] = 0x7F;
}
static void m_ext_size(uint8_t *f, uint64_t b1, uint64_t b2, uint64_t *w) {
  (void)b1;
  *w = rec_at(f, b2, 0) + 0x50;    /* first ext item of the manifest event */
  f[*w] = 4; f[*w + 1] = 0;
}
static void m_ext_link(uint8_t *f, uint64_t b1, uint64_t b2, uint64_t *w) {
  (void)b1;
  uint64_t r = rec_at(f, b2, 0);   /* last item says "another follows": runs into data */
  f[r + 0x50 + 24 + 4] = 1;
  *w = r + 0x50 + 24 + 32;
}
static void m_fill_low(uint8_t *f, uint64_t b1, uint64_t b2, uint64_t *w) {
  (void)b2;
  *w = b1 + ETL_BUF_OFFSET;
  f[*w] = 0x10; f[*w + 1] = 0;
}
static void m_bufsize(uint8_t *f, uint64_t b1, uint64_t b2, uint64_t *w) {
  (void)b2;
  *w = b1;
  f[b1 + 1] ^= 0x40;
}
static void m_marker(uint8_t *f, uint64_t b1, uint64_t b2, uint64_t *w) {
  (void)b1;
  *w = rec_at(f, b2, 2);           /* the instance record */
  f[*w + 2] = 0x0E;                /* WNODE_HEADER: declared, never used */
}
static void m_cbufsize(uint8_t *f, uint64_t b1, uint64_t b2, uint64_t *w) {
  (void)b1;
  *w = b2;
  f[b2 + 3] = 0x7F;
}
static void m_cfill(uint8_t *f, uint64_t b1, uint64_t b2, uint64_t *w) {
  (void)b2;
  *w = b1 + ETL_BUF_OFFSET;
  f[*w + 3] = 0x7F;
}
static void m_cdata(uint8_t *f, uint64_t b1, uint64_t b2, uint64_t *w) {
  (void)b2;
  memset(f + b1 + 0x48, 0xFF, 4);  /* first token: a match before the start */
  *w = b1 + 0x48 + 4;
}

static void test_bad_sizes(void) {
  /* standard file: 13 records; buffer 1 holds 4, buffer 2 holds 5 */
  bad_case("record size 0", 0, m_rec_size0, "record size 0 outside 32..", 13 - 3);
  bad_case("record size past the buffer", 0, m_rec_huge, "record size 32752 outside", 13 - 4);
  bad_case("ext item size 4", 0, m_ext_size, "extended item size 4", 13 - 1);
  bad_case("ext item linkage past the end", 0, m_ext_link, "extended item", 13 - 1);
  bad_case("buffer filled size below the header", 0, m_fill_low, "filled size 16 outside", 13 - 4);
  bad_case("BufferSize changed", 0, m_bufsize, "differs from the session's", 13);
  bad_case("unknown header type", 0, m_marker, "unknown record header", 13 - 3);
  bad_case("compressed BufferSize huge", 1, m_cbufsize, "rest of the file", 13 - 7);
  bad_case("compressed filled size huge", 1, m_cfill, "filled size", 13 - 4);
  bad_case("compressed data damaged", 1, m_cdata, "LZ77", 13 - 4);
}

static void test_tail(void) {
  size_t len;
  uint8_t *f = synth_standard(1, 0, 512, &len), *g = f ? malloc(len + 20) : NULL;
  if (!g) { free(f); return; }
  memcpy(g, f, len);
  memset(g + len, 0xAB, 20);
  run x;
  read_file(g, len + 20, &x);
  check(x.n == 13 && x.nerr == 1 && x.first_err.offset == len &&
        strstr(x.first_err.message, "trailing"), "trailing bytes: %s",
        x.nerr ? x.first_err.message : "none");
  run_free(&x);
  free(f);
  free(g);
}

static void test_limits(void) {
  size_t len;
  uint8_t *f = synth_standard(1, 1, 4096, &len);
  run x;
  if (!f) return;
  etl_options tight = {.max_decompressed = 100};
  read_with(f, len, &tight, &x);
  check(x.n == 2 && x.nerr == 3 && strstr(x.first_err.message, "decompression budget"),
        "decompression budget: %zu records, %zu errors (%s)", x.n, x.nerr,
        x.nerr ? x.first_err.message : "none");
  run_free(&x);
  etl_options few = {.max_decompressed = 100, .max_errors = 1};
  etl_reader *r;
  etl_error e;
  rec_record rec;
  int st, n = 0;
  char last[200] = "";
  if (etl_open_memory(f, len, &few, &r, &e) == ETL_OK) {
    while ((st = etl_next(r, &rec, &e)) != ETL_END)
      if (st != ETL_OK) { n++; snprintf(last, sizeof last, "%s", e.message); }
    etl_close(r);
  }
  check(n == 2 && strstr(last, "2 more errors"), "error cap: %d errors, last \"%s\"", n, last);
  free(f);
}

/* ---- the fuzz seed corpus ---- */

static void write_seed(const char *dir, const char *name, const uint8_t *f, size_t len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *o = fopen(path, "wb");
  if (!o) { printf("cannot write %s\n", path); return; }
  fwrite(f, 1, len, o);
  fclose(o);
}

static void write_corpus(const char *dir) {
  static const struct { const char *name; int ptr64, comp; uint32_t bs; } v[] = {
    {"std64_512.etl", 1, 0, 512}, {"std32_512.etl", 0, 0, 512},
    {"std64_compressed.etl", 1, 1, 4096}, {"std32_compressed.etl", 0, 1, 4096},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    size_t len;
    uint8_t *f = synth_standard(v[i].ptr64, v[i].comp, v[i].bs, &len);
    if (f) write_seed(dir, v[i].name, f, len);
    if (f && i == 0) write_seed(dir, "std64_cut.etl", f, len - 700);
    free(f);
  }
}

/* ---- main ---- */

static void synthetic(void) {
  for (int comp = 0; comp <= 1; comp++)
    for (int ptr64 = 0; ptr64 <= 1; ptr64++) {
      size_t len;
      char name[64];
      uint8_t *f = synth_standard(ptr64, comp, comp ? 4096 : 512, &len);
      if (!f) { check(0, "synthetic file"); continue; }
      snprintf(name, sizeof name, "synthetic%d%s", ptr64 ? 64 : 32, comp ? " compressed" : "");
      truncations(name, f, len, 1);
      flips(name, f, len, 1, 0xFF);
      flips(name, f, len, 1, 0x01);
      free(f);
    }
}

static void samples(const char *shared) {
  static const char *const names[] = {
    "airbus-etl-parser/lxcore_kernel.etl", "s4/SIH.20230422.034724.362.1.etl",
    "perfview/primitive-types.etl", "s4/waasmedic.20251005_113019_195.etl",
    "perfview/SelfDescribingSingleEvent.etl",
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char path[1024];
    size_t len;
    snprintf(path, sizeof path, "%s/etl-samples/%s", shared, names[i]);
    uint8_t *f = read_file_maybe_gz(path, &len);
    if (!f) { check(0, "%s: sample not found", path); continue; }
    truncations(names[i], f, len, 1);
    flips(names[i], f, len, 1, 0xFF);
    flips(names[i], f, len, 3, 0x10);
    free(f);
  }
}

int main(void) {
  const char *corpus = getenv("ETL_WRITE_CORPUS");
  if (corpus && *corpus) write_corpus(corpus);
  test_bad_sizes();
  test_tail();
  test_limits();
  synthetic();
  const char *shared = unit_shared_dir();
  if (shared) samples(shared);
  else skip("real-sample corruption: ../shared absent (ETWLUA_SHARED)");
  return unit_finish();
}
