/*
** test_etl_prefetch.c: the helper thread that decompresses ahead of the
** open-time scan (etl_prefetch.c) changes nothing but the time: for
** compressed files, intact, with every byte flipped, cut, under a tight
** decompression budget or a tiny cache, read from memory and from a file,
** every record and every error (text and order) are the same as with
** opt.single_thread. Also the shared compressed sample, when present.
** Work stealing, driven by the test hook (etl_prefetch_hook): the scan
** decompresses later jobs itself while the helper holds one, and a
** corrupt buffer decompressed by either thread gives the same errors.
*/
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_setaffinity, CPU_COUNT (and nanosleep) */
#elif !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#endif
#ifdef __linux__
#include <sched.h>
#endif
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etl.h"
#include "etl/etl_format.h"
#include "etl/etl_int.h"
#include "etlsynth_mini.h"
#include "tlg_le.h"
#include "unit_check.h"

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
static void nap(void) { Sleep(1); }
#else
static void nap(void) {
  struct timespec ts = {0, 1000000};
  nanosleep(&ts, NULL);
}
#endif

/* A digest of everything a read gives: FNV-1a over the open status, each
** record's time, ids, offsets and payload, and each error's text. */
typedef struct outcome {
  uint64_t hash;
  size_t records, errors, lz77_errors;
  int open_status, ended;      /* ended: etl_next reached ETL_END */
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
      o->lz77_errors += strstr(e.message, "LZ77 data") != NULL;
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
  o->ended = st == ETL_END;
}

/* Read `f` (memory) or `path` (file) with or without the helper. */
static outcome read_one(const uint8_t *f, size_t len, const char *path, int single,
                        const etl_options *base) {
  outcome o = {0xcbf29ce484222325ull, 0, 0, 0, 0, 0};
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

/* ---- work stealing, driven by the hook ---- */

/* HOLD_X: only the helper does X, held there until the scan did a later
** job; RACE_X: the same, but the scan may race for X and the helper is
** held until the scan did; NEVER_X: the helper never does X. */
enum { HOLD_X, RACE_X, NEVER_X, COUNT };   /* COUNT: nothing held, helper starts counted */
static int hook_mode;
static uint64_t hook_x;        /* offset of the buffer the test is about */
static atomic_int steals, races, helper_x, scan_x, starts;

static int hook(int event, int who, uint64_t off) {
  if (event == ETL_PF_EV_START) atomic_fetch_add(&starts, 1);
  if (hook_mode == COUNT || event == ETL_PF_EV_START) return 0;
  if (event == ETL_PF_EV_CLAIM) {
    if (hook_mode == NEVER_X) return who == ETL_PF_HELPER && off == hook_x;
    if (hook_mode == RACE_X && who == ETL_PF_RACE) return 0;
    return (who == ETL_PF_HELPER) != (off == hook_x);
  }
  if (off == hook_x) atomic_fetch_add(who == ETL_PF_HELPER ? &helper_x : &scan_x, 1);
  if (who == ETL_PF_STEAL) atomic_fetch_add(&steals, 1);
  if (who == ETL_PF_RACE) atomic_fetch_add(&races, 1);
  if (who != ETL_PF_HELPER || hook_mode == NEVER_X) return 0;
  /* hold the helper until the scan, needing X, did something else (10 s
  ** at most: a scan that only waits fails the checks); after a race, a
  ** while longer so that the scan is mostly done first (either order is
  ** right) */
  atomic_int *what = hook_mode == HOLD_X ? &steals : &races;
  for (int i = 0; i < 10000 && atomic_load(what) == 0; i++) nap();
  for (int i = 0; hook_mode == RACE_X && i < 100; i++) nap();
  return 0;
}

/* Offset of the n-th compressed buffer (0: the first), 0 when none. */
static uint64_t compressed_buffer(const uint8_t *f, size_t len, int n, uint32_t *size) {
  for (size_t off = 0; off + ETL_BUF_HDR_SIZE <= len;) {
    uint32_t full = tlg_le32(f + off + ETL_BUF_SIZE);
    if (full < ETL_BUF_HDR_SIZE) break;
    if ((tlg_le16(f + off + ETL_BUF_FLAG) & ETL_BUF_FLAG_COMPRESSED) && n-- == 0) {
      *size = full;
      return off;
    }
    off += full;
  }
  return 0;
}

static outcome hooked(const uint8_t *f, size_t len, const char *path, int mode) {
  hook_mode = mode;
  atomic_store(&steals, 0);
  atomic_store(&races, 0);
  atomic_store(&helper_x, 0);
  atomic_store(&scan_x, 0);
  atomic_store(&starts, 0);
  etl_prefetch_hook = hook;
  outcome o = read_one(f, len, path, 0, NULL);
  etl_prefetch_hook = NULL;
  return o;
}

static void test_stealing(void) {
  size_t len = 0;
  uint8_t *f = synth_standard(1, 1, 512, &len);
  uint32_t size = 0;
  char tmp[64];
  snprintf(tmp, sizeof tmp, "test_etl_prefetch-steal-%d.etl", (int)(len % 100000));
  if (!f) { check(0, "synthetic file"); return; }
  hook_x = compressed_buffer(f, len, 1, &size);
  uint32_t last = 0;
  int nbuf = 0;
  while (compressed_buffer(f, len, nbuf, &last)) nbuf++;
  check(hook_x && nbuf >= 3, "the file has 3 compressed buffers or more (%d)", nbuf);
  outcome a = read_one(f, len, NULL, 1, NULL);
  outcome b = hooked(f, len, NULL, HOLD_X);
  check(same(&a, &b) && a.errors == 0, "helper held on a job: the same %zu records", a.records);
  check(atomic_load(&steals) > 0 && atomic_load(&helper_x) == 1 && atomic_load(&scan_x) == 0,
        "the scan did later jobs itself while the helper held one (%d steals)",
        atomic_load(&steals));
  if (write_file(tmp, f, len) == 0) {
    b = hooked(NULL, 0, tmp, HOLD_X);
    check(same(&a, &b) && atomic_load(&steals) > 0, "the same from a file");
    b = hooked(NULL, 0, tmp, RACE_X);
    check(same(&a, &b) && atomic_load(&races) == 1 && atomic_load(&helper_x) == 1,
          "helper held on the job the scan needs: the scan raced it, the same records");
  } else {
    check(0, "temporary file %s", tmp);
  }
  b = hooked(f, len, NULL, RACE_X);
  check(same(&a, &b) && atomic_load(&races) == 1, "the same from memory");
  /* X's LZ77 stream made all 0xFF: flags of matches only, the first one
  ** reaching before the start of the output */
  memset(f + hook_x + ETL_BUF_HDR_SIZE, 0xFF, size - ETL_BUF_HDR_SIZE);
  a = read_one(f, len, NULL, 1, NULL);
  check(a.lz77_errors == 1 && a.ended && a.records > 0,
        "corrupt buffer, no helper: one LZ77 error, reading goes on (%zu records)", a.records);
  b = hooked(f, len, NULL, HOLD_X);
  check(same(&a, &b) && b.ended && atomic_load(&helper_x) == 1,
        "decompressed by the helper: the same records and error");
  b = hooked(f, len, NULL, RACE_X);
  check(same(&a, &b) && b.ended && atomic_load(&races) == 1,
        "decompressed by both (a race): the same records and error");
  b = hooked(f, len, NULL, NEVER_X);
  check(same(&a, &b) && b.ended && atomic_load(&scan_x) == 1 && atomic_load(&helper_x) == 0,
        "decompressed by the scan: the same records and error");
  remove(tmp);
  free(f);
}

/* When no helper thread starts: a file with one compressed buffer, and
** (Linux) a process whose affinity allows one CPU. The control read of the
** whole file shows that a start is seen where two CPUs are allowed. */
static void test_no_helper(void) {
  size_t len = 0;
  uint8_t *f = synth_standard(1, 1, 512, &len);
  uint32_t size = 0;
  if (!f) { check(0, "synthetic file"); return; }
  outcome a = read_one(f, len, NULL, 1, NULL), b = hooked(f, len, NULL, COUNT);
  int started = atomic_load(&starts);
  check(same(&a, &b), "the whole file, counted: the same %zu records", a.records);
  uint64_t first = compressed_buffer(f, len, 0, &size);
  size_t cut = (size_t)first + size;       /* the header buffer and one compressed buffer */
  uint32_t more = 0;
  check(first && compressed_buffer(f, cut, 1, &more) == 0, "a file with one compressed buffer");
  a = read_one(f, cut, NULL, 1, NULL);
  b = hooked(f, cut, NULL, COUNT);
  check(same(&a, &b) && atomic_load(&starts) == 0,
        "one compressed buffer: no helper thread (%d started), the same %zu records",
        atomic_load(&starts), a.records);
#ifdef __linux__
  cpu_set_t all, one;
  if (sched_getaffinity(0, sizeof all, &all) != 0) { check(0, "sched_getaffinity"); free(f); return; }
  if (CPU_COUNT(&all) < 2) {
    skip("one CPU allowed already: the control read cannot show a helper");
  } else {
    check(started == 1, "control: with %d CPUs allowed, the helper started (%d)", CPU_COUNT(&all),
          started);
    int cpu = 0;
    while (!CPU_ISSET(cpu, &all)) cpu++;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) {
      check(0, "sched_setaffinity to CPU %d", cpu);
    } else {
      a = read_one(f, len, NULL, 1, NULL);
      b = hooked(f, len, NULL, COUNT);
      sched_setaffinity(0, sizeof all, &all);
      check(same(&a, &b) && atomic_load(&starts) == 0,
            "affinity of one CPU: no helper thread (%d started), the same records",
            atomic_load(&starts));
    }
  }
#else
  (void)started;
#endif
  free(f);
}

static void test_sample(void) {
  const char *shared = unit_shared_dir();
  char path[1024];
  if (!shared) { skip("../shared absent (ETWLUA_SHARED)"); return; }
  snprintf(path, sizeof path, "%s/etl-samples/perfview/net.4.5.2.x64.etl", shared);
  outcome a = read_one(NULL, 0, path, 1, NULL), b = read_one(NULL, 0, path, 0, NULL);
  check(a.open_status == ETL_OK && a.records == 179474 && same(&a, &b),
        "net.4.5.2.x64.etl: %zu records, the same with the helper", a.records);
}

int main(void) {
  test_synthetic();
  test_stealing();
  test_no_helper();
  test_sample();
  return unit_finish();
}
