/*
** test_etl_file.c: the ETL reader on files (etl_open_file): a directory,
** a FIFO and a device are refused at once with a clear message; memory
** stays bounded whatever the file size (a sparse multi-GiB non-ETL file is
** refused after its first bytes; a sparse 1 GiB valid file is read with
** four CPUs' buffers overlapping in time), measured as the growth of
** ru_maxrss in a child process; a file read with a tiny memory budget
** (buffers unloaded and loaded again) and damaged files read from disk give
** exactly what the memory reader gives, records and errors.
*/
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "etl.h"
#include "etl_format.h"
#include "etl_int.h"
#include "etlsynth_mini.h"
#include "unit_check.h"

#define MIB (1024u * 1024u)

static int write_file(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(p, 1, n, f);
  return fclose(f) == 0 && w == n ? 0 : -1;
}

/* ---- a whole read: records (identity + content hash) and error texts ---- */

typedef struct outcome {
  int open_status;
  char open_msg[200];
  size_t nrec, nerr;
  uint64_t hash;          /* over every record and error, in delivery order */
  int ordered;            /* raw timestamps never decreased */
} outcome;

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
  return h;
}

static void drain(etl_reader *r, outcome *o) {
  rec_record rec;
  etl_error e;
  int st;
  int64_t last = INT64_MIN;
  o->hash = 1469598103934665603ULL;
  o->ordered = 1;
  for (long guard = 0; guard < 10000000 && (st = etl_next(r, &rec, &e)) != ETL_END; guard++) {
    if (st != ETL_OK) {
      o->nerr++;
      o->hash = fnv(o->hash, e.message, strlen(e.message));
      continue;
    }
    o->nrec++;
    if (rec.raw_timestamp < last) o->ordered = 0;
    last = rec.raw_timestamp;
    o->hash = fnv(o->hash, &rec.src_offset, sizeof rec.src_offset);
    o->hash = fnv(o->hash, &rec.src_record_offset, sizeof rec.src_record_offset);
    o->hash = fnv(o->hash, rec.raw_header, rec.raw_header_len);
    o->hash = fnv(o->hash, rec.data, rec.data_len);
    for (uint32_t i = 0; i < rec.ext_count; i++)
      o->hash = fnv(o->hash, rec.ext[i].data, rec.ext[i].size);
  }
}

static void read_memory(const uint8_t *f, size_t len, const etl_options *opt, outcome *o) {
  etl_reader *r;
  etl_error e;
  memset(o, 0, sizeof *o);
  o->open_status = etl_open_memory(f, len, opt, &r, &e);
  if (o->open_status != ETL_OK) { snprintf(o->open_msg, sizeof o->open_msg, "%s", e.message); return; }
  drain(r, o);
  etl_close(r);
}

static void read_path(const char *path, const etl_options *opt, outcome *o) {
  etl_reader *r;
  etl_error e;
  memset(o, 0, sizeof *o);
  o->open_status = etl_open_file(path, opt, &r, &e);
  if (o->open_status != ETL_OK) { snprintf(o->open_msg, sizeof o->open_msg, "%s", e.message); return; }
  drain(r, o);
  etl_close(r);
}

static int same(const outcome *a, const outcome *b) {
  return a->open_status == b->open_status && a->nrec == b->nrec && a->nerr == b->nerr &&
         a->hash == b->hash && strcmp(a->open_msg, b->open_msg) == 0;
}

/* ---- many buffers overlapping in time, read with a tiny budget ---- */

/* 48 buffers on 8 CPUs; every buffer's records interleave with all others'
** (times i + 48k), so the merge needs every buffer loaded at once. */
static uint8_t *overlapping(int compressed, size_t *len) {
  synth s;
  tlg_guid g = {{0}};
  tlg_desc d = {0};
  synth_init(&s, 4096, 1, compressed);
  synth_header(&s, "overlap", "o.etl");
  for (int i = 0; i < 48; i++) {
    synth_begin(&s, (uint16_t)(i % 8));
    for (int k = 0; k < 20; k++) {
      uint8_t data[8] = {(uint8_t)i, (uint8_t)k};
      synth_event(&s, 1, 1, 2, s.t0 + 10 + i + 48 * k, &g, &d, NULL, NULL, 0, data, sizeof data);
    }
    synth_end(&s);
  }
  return synth_finish(&s, len);
}

static void test_budget(void) {
  for (int comp = 0; comp <= 1; comp++) {
    size_t len;
    uint8_t *f = overlapping(comp, &len);
    const char *path = "test_etl_file.budget.etl";
    if (!f || write_file(path, f, len)) { check(0, "overlapping file"); free(f); continue; }
    outcome mem, disk, tiny, tiny_mem;
    etl_options one = {.cache_bytes = 1};  /* every other buffer unloaded */
    read_memory(f, len, NULL, &mem);
    read_path(path, NULL, &disk);
    read_path(path, &one, &tiny);
    read_memory(f, len, &one, &tiny_mem);
    check(mem.open_status == ETL_OK && mem.nrec == 2 + 48 * 20 && mem.nerr == 0 && mem.ordered,
          "overlap (compressed %d): %zu records, %zu errors, ordered %d", comp, mem.nrec,
          mem.nerr, mem.ordered);
    check(same(&mem, &disk), "overlap (compressed %d): file = memory", comp);
    check(same(&mem, &tiny), "overlap (compressed %d): file, budget 1 byte = memory", comp);
    check(same(&mem, &tiny_mem), "overlap (compressed %d): memory, budget 1 byte", comp);
    remove(path);
    free(f);
  }
}

/* ---- record areas kept for reuse (etl_spare_take / etl_spare_put) ---- */

/* 24 buffers on 4 CPUs, overlapping in time, holding 1, 40 or 200 records
** in turn: record areas of three sizes, so with a 1-byte budget each load
** may get the spare of a smaller or a larger buffer unloaded before it. */
static uint8_t *uneven(int compressed, size_t *len) {
  synth s;
  tlg_guid g = {{0}};
  tlg_desc d = {0};
  static const int counts[3] = {1, 40, 200};
  synth_init(&s, 65536, 1, compressed);
  synth_header(&s, "uneven", "u.etl");
  for (int i = 0; i < 24; i++) {
    synth_begin(&s, (uint16_t)(i % 4));
    for (int k = 0; k < counts[i % 3]; k++) {
      uint8_t data[16] = {(uint8_t)i, (uint8_t)k, (uint8_t)(k >> 8), 0x5A};
      synth_event(&s, 1, 1, 2, s.t0 + 10 + i + 24 * k, &g, &d, NULL, NULL, 0, data,
                  sizeof data - (size_t)(k % 9));
    }
    synth_end(&s);
  }
  return synth_finish(&s, len);
}

static void test_spare_reads(void) {
  for (int comp = 0; comp <= 1; comp++) {
    size_t len;
    uint8_t *f = uneven(comp, &len);
    const char *path = "test_etl_file.uneven.etl";
    if (!f || write_file(path, f, len)) { check(0, "uneven file"); free(f); continue; }
    outcome mem, tiny, tiny_mem;
    etl_options one = {.cache_bytes = 1};
    read_memory(f, len, NULL, &mem);
    read_path(path, &one, &tiny);
    read_memory(f, len, &one, &tiny_mem);
    check(mem.open_status == ETL_OK && mem.nrec == 2 + 8 * (1 + 40 + 200) && mem.nerr == 0 &&
              mem.ordered, "uneven (compressed %d): %zu records, %zu errors, ordered %d", comp,
          mem.nrec, mem.nerr, mem.ordered);
    check(same(&mem, &tiny), "uneven (compressed %d): file, budget 1 byte = memory", comp);
    check(same(&mem, &tiny_mem), "uneven (compressed %d): memory, budget 1 byte", comp);
    remove(path);
    free(f);
  }
}

/* The spare list itself: it keeps the largest areas, hands out the
** smallest one that is large enough, else a new allocation of the size
** asked for. */
static void test_spare_list(void) {
  etl_reader *r = etl_reader_new(NULL, 0);
  if (!r) { check(0, "reader"); return; }
  uint32_t cap = 0;
  uint8_t *a = etl_spare_take(r, 100, &cap);
  check(a && cap == 100, "no spare: a new area of 100 bytes (cap %u)", cap);
  uint8_t *b = etl_spare_take(r, 300, &cap);
  uint8_t *c = etl_spare_take(r, 50, &cap);
  uint8_t *z = etl_spare_take(r, 0, &cap);
  check(z && cap == 1, "an empty area is 1 byte (cap %u)", cap);
  free(z);
  etl_spare_put(r, a, 100);
  etl_spare_put(r, b, 300);
  etl_spare_put(r, c, 50);                  /* smaller than both kept: freed */
  check(r->spare[0] && r->spare[1] && r->spare_cap[0] + r->spare_cap[1] == 400,
        "the two largest are kept: %u + %u", r->spare_cap[0], r->spare_cap[1]);
  uint8_t *d = etl_spare_take(r, 80, &cap);
  check(d == a && cap == 100, "80 bytes: the 100-byte spare (cap %u)", cap);
  uint8_t *e = etl_spare_take(r, 301, &cap);
  check(e && e != b && cap == 301, "301 bytes: larger than every spare, a new area (cap %u)", cap);
  uint8_t *g = etl_spare_take(r, 200, &cap);
  check(g == b && cap == 300, "200 bytes: the 300-byte spare (cap %u)", cap);
  check(!r->spare[0] && !r->spare[1], "no spare left");
  memset(d, 1, 100);                        /* each area is as large as it says (ASan) */
  memset(e, 2, 301);
  memset(g, 3, 300);
  etl_spare_put(r, d, 100);
  etl_spare_put(r, e, 301);
  etl_spare_put(r, g, 300);                 /* replaces the 100-byte one */
  check(r->spare_cap[0] + r->spare_cap[1] == 601, "then 301 + 300 kept: %u + %u",
        r->spare_cap[0], r->spare_cap[1]);
  etl_spare_put(r, NULL, 5);                /* no-op */
  etl_close(r);                             /* frees the spares (ASan: no leak) */
}

/* ---- damaged files: the file reader reports what the memory reader does ---- */

static void test_damaged(void) {
  for (int comp = 0; comp <= 1; comp++) {
    size_t len;
    uint8_t *f = synth_standard(1, comp, comp ? 65536 : 512, &len);
    const char *path = "test_etl_file.damaged.etl";
    if (!f) { check(0, "standard file"); continue; }
    etl_options small = {.cache_bytes = 64};
    size_t bad = 0, tried = 0;
    for (size_t at = 0; at < len; at += 5) {
      uint8_t keep = f[at];
      f[at] ^= 0x5A;
      outcome mem, disk;
      read_memory(f, len, &small, &mem);
      if (write_file(path, f, len) == 0) {
        read_path(path, &small, &disk);
        tried++;
        if (!same(&mem, &disk) && bad++ < 3)
          printf("differs: compressed %d, byte 0x%zx flipped: %zu/%zu records, %zu/%zu errors\n",
                 comp, at, mem.nrec, disk.nrec, mem.nerr, disk.nerr);
      }
      f[at] = keep;
    }
    check(tried > 0 && bad == 0, "damaged (compressed %d): %zu of %zu file reads differ", comp,
          bad, tried);
    for (size_t cut = 0; cut < len; cut += len / 40 + 1) {
      outcome mem, disk;
      read_memory(f, cut, &small, &mem);
      if (write_file(path, f, cut) == 0) {
        read_path(path, &small, &disk);
        check(same(&mem, &disk), "truncated at %zu (compressed %d): file = memory", cut, comp);
      }
    }
    remove(path);
    free(f);
  }
}

#ifndef _WIN32

/* ---- special files ---- */

static void expect_refused(const char *path, const char *want, int want_errno) {
  etl_reader *r = (etl_reader *)1;
  etl_error e;
  int st = etl_open_file(path, NULL, &r, &e);
  check(st == ETL_ERR_IO && r == NULL && strstr(e.message, want) && e.sys_errno == want_errno,
        "%s refused with \"%s\": status %d, %s", path, want, st, e.message);
}

static void test_special(void) {
  const char *dir = "test_etl_file.dir", *fifo = "test_etl_file.fifo";
  rmdir(dir);
  remove(fifo);
  if (mkdir(dir, 0700) == 0) {
    expect_refused(dir, "is a directory", EISDIR);
    rmdir(dir);
  } else {
    check(0, "mkdir %s: %s", dir, strerror(errno));
  }
  /* no writer ever opens it: a blocking open would hang here */
  if (mkfifo(fifo, 0600) == 0) {
    alarm(20);
    expect_refused(fifo, "not a regular file (a FIFO)", EINVAL);
    alarm(0);
    remove(fifo);
  } else {
    check(0, "mkfifo %s: %s", fifo, strerror(errno));
  }
  struct stat st;
  if (stat("/dev/zero", &st) == 0) {
    alarm(20);
    expect_refused("/dev/zero", "not a regular file (a character device)", EINVAL);
    alarm(0);
  } else {
    skipped++;
    printf("SKIP /dev/zero: absent\n");
  }
  etl_reader *r;
  etl_error e;
  check(etl_open_file("test_etl_file.none", NULL, &r, &e) == ETL_ERR_IO &&
        e.sys_errno == ENOENT && strstr(e.message, "cannot open"), "missing: %s", e.message);
}

/* ---- memory bound, measured in a child ---- */

typedef struct child_result {
  long grew_kb;            /* ru_maxrss after - before */
  int status;
  size_t nrec, nerr;
  int ordered;
  char msg[200];
} child_result;

static long maxrss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* Read `path` to the end in a child; its peak RSS growth and outcome. */
static int read_in_child(const char *path, child_result *out) {
  int fds[2];
  memset(out, 0, sizeof *out);
  if (pipe(fds) != 0) return -1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) { close(fds[0]); close(fds[1]); return -1; }
  if (pid == 0) {
    child_result c;
    memset(&c, 0, sizeof c);
    close(fds[0]);
    alarm(120);
    long before = maxrss_kb();
    etl_reader *r;
    etl_error e;
    c.status = etl_open_file(path, NULL, &r, &e);
    if (c.status == ETL_OK) {
      outcome o;
      memset(&o, 0, sizeof o);
      drain(r, &o);
      c.nrec = o.nrec;
      c.nerr = o.nerr;
      c.ordered = o.ordered;
      etl_close(r);
    } else {
      snprintf(c.msg, sizeof c.msg, "%s", e.message);
    }
    c.grew_kb = maxrss_kb() - before;
    ssize_t w = write(fds[1], &c, sizeof c);
    _exit(w == (ssize_t)sizeof c ? 0 : 1);
  }
  close(fds[1]);
  ssize_t got = read(fds[0], out, sizeof *out);
  close(fds[0]);
  int ws;
  waitpid(pid, &ws, 0);
  return got == (ssize_t)sizeof *out && WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? 0 : -1;
}

/* A sparse 3 GiB file of zeros: refused after its first bytes. */
static void test_big_not_etl(void) {
  const char *path = "test_etl_file.zeros";
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, (off_t)3 * 1024 * MIB) != 0) {
    check(0, "sparse file: %s", strerror(errno));
    if (fd >= 0) close(fd);
    remove(path);
    return;
  }
  close(fd);
  child_result c;
  int rc = read_in_child(path, &c);
  check(rc == 0 && c.status == ETL_ERR_DATA && strstr(c.msg, "not an ETL file"),
        "3 GiB of zeros refused: %s", c.msg);
  check(rc == 0 && c.grew_kb < 32 * 1024, "3 GiB of zeros: RSS grew %ld KiB (bound 32 MiB)",
        c.grew_kb);
  remove(path);
}

/* Shift every record time of an uncompressed buffer by `dt` (SYSTEM records). */
static void shift_times(uint8_t *buf, int64_t dt) {
  uint32_t fill = tlg_le32(buf + ETL_BUF_OFFSET);
  for (uint32_t off = ETL_BUF_HDR_SIZE; off + 0x18 <= fill;) {
    uint32_t size = tlg_le16(buf + off + 4);
    if (size < 0x20) break;
    int64_t ts = tlg_le_i64(buf + off + 0x10) + dt;
    for (int i = 0; i < 8; i++) buf[off + 0x10 + i] = (uint8_t)((uint64_t)ts >> (8 * i));
    off += (size + 7u) & ~7u;
  }
}

/* A sparse valid file: 1 MiB buffers, 256 groups of 4 CPUs whose records
** interleave in time; only each buffer's used bytes are written. */
static int write_big_valid(const char *path, uint32_t groups) {
  synth s;
  synth_init(&s, MIB, 1, 0);
  synth_header(&s, "big", "big.etl");
  for (uint16_t c = 0; c < 4; c++) {
    synth_begin(&s, c);
    for (int k = 0; k < 8; k++) {
      uint8_t data[16] = {(uint8_t)c, (uint8_t)k};
      synth_system(&s, 2, 2, 0x0120, 7, 8, s.t0 + 10 + 10 * k + (3 - c), data, sizeof data);
    }
    synth_end(&s);
  }
  size_t len;
  uint8_t *f = synth_finish(&s, &len);
  int fd = f ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
  int ok = fd >= 0 && len == 5 * (size_t)MIB;
  if (ok) ok = pwrite(fd, f, tlg_le32(f + ETL_BUF_OFFSET), 0) > 0;
  for (uint32_t g = 0; ok && g < groups; g++)
    for (uint32_t c = 0; ok && c < 4; c++) {
      uint8_t *b = f + (size_t)(1 + c) * MIB;
      if (g) shift_times(b, 1000);
      uint32_t fill = tlg_le32(b + ETL_BUF_OFFSET);
      ok = pwrite(fd, b, fill, (off_t)(1 + 4 * g + c) * MIB) == (ssize_t)fill;
    }
  if (ok) ok = ftruncate(fd, (off_t)(1 + 4 * groups) * MIB) == 0;
  if (fd >= 0) close(fd);
  free(f);
  return ok ? 0 : -1;
}

static void test_big_valid(void) {
  const char *path = "test_etl_file.big.etl";
  const uint32_t groups = 256;  /* 1 GiB + 1 MiB */
  if (write_big_valid(path, groups)) {
    check(0, "big sparse ETL file: %s", strerror(errno));
    remove(path);
    return;
  }
  child_result c;
  int rc = read_in_child(path, &c);
  check(rc == 0 && c.status == ETL_OK && c.nrec == 2 + (size_t)groups * 4 * 8 && c.nerr == 0 &&
        c.ordered, "1 GiB file: status %d, %zu records, %zu errors, ordered %d %s", c.status,
        c.nrec, c.nerr, c.ordered, c.msg);
  check(rc == 0 && c.grew_kb < 48 * 1024, "1 GiB file: RSS grew %ld KiB (bound 48 MiB)",
        c.grew_kb);
  remove(path);
}

#endif

int main(void) {
  test_budget();
  test_spare_reads();
  test_spare_list();
  test_damaged();
#ifndef _WIN32
  test_special();
  test_big_not_etl();
  test_big_valid();
#else
  skipped += 3;
  printf("SKIP special files and RSS bounds: POSIX only\n");
#endif
  return unit_finish();
}
