/*
** bench_etl.c: ETL reader throughput: open (read file + scan every buffer,
** decompressing compressed ones) and deliver every record as an rec_record
** in timestamp order. Prints records/s and MB/s per file.
** Usage: bench_etl [-n ITER] [file.etl ...]; without files it reads
** ShutdownPerfDiagLogger.etl (largest uncompressed sample) and
** net.4.5.2.x64.etl (compressed) from $ETWLUA_SHARED/etl-samples, and an
** uncompressed copy of the latter made in a temporary directory (removed).
*/
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etl.h"
#include "etl_format.h"
#include "etl_lzx.h"
#include "tlg_le.h"

#ifndef _WIN32
#include <unistd.h>
#endif

#ifdef _WIN32 /* mingw's msvcrt has neither clock_gettime nor timespec_get */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
static double now(void) {
  LARGE_INTEGER f, c;
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&c);
  return (double)c.QuadPart / (double)f.QuadPart;
}
#else
static double now(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
#endif

/* One pass over `path`; returns records delivered or -1. */
static long one_pass(const char *path, const etl_options *opt, double *t_open, double *t_next,
                     uint64_t *bytes) {
  etl_reader *r;
  etl_error e;
  rec_record rec;
  double t0 = now();
  if (etl_open_file(path, opt, &r, &e) != ETL_OK) {
    fprintf(stderr, "%s: %s\n", path, e.message);
    return -1;
  }
  double t1 = now();
  long n = 0;
  int64_t check = 0;
  int st;
  while ((st = etl_next(r, &rec, &e)) != ETL_END)
    if (st == ETL_OK) { n++; check += rec.timestamp + rec.data_len; }
  double t2 = now();
  *bytes = etl_get_info(r)->file_size;
  etl_close(r);
  *t_open += t1 - t0;
  *t_next += t2 - t1;
  if (check == 42) printf(" ");  /* keep the loop's work observable */
  return n;
}

/* Read `path` iters times with `opt` (NULL: defaults); prints and returns
** records/s (0 on failure), the line labelled `what` (NULL: the file name). */
static double bench_opt(const char *path, int iters, const etl_options *opt, const char *what) {
  double t_open = 0, t_next = 0;
  uint64_t bytes = 0;
  long n = 0;
  for (int i = 0; i < iters; i++) {
    n = one_pass(path, opt, &t_open, &t_next, &bytes);
    if (n < 0) return 0;
  }
  double total = t_open + t_next;
  const char *base = strrchr(path, '/');
  printf("%-34s %8ld records %6.2f MB | open+scan %7.2f ms, deliver %7.2f ms | "
         "%6.2f M records/s, %7.1f MB/s\n", what ? what : base ? base + 1 : path, n, bytes / 1e6,
         t_open / iters * 1e3, t_next / iters * 1e3, n * (double)iters / total / 1e6,
         bytes * (double)iters / total / 1e6);
  return n * (double)iters / total;
}

static double bench(const char *path, int iters) { return bench_opt(path, iters, NULL, NULL); }

#ifndef _WIN32
/* Write an uncompressed copy of the ETL file `in` to `out`: each LZ77
** buffer decompressed, its header kept but for BufferSize (the session's
** buffer size, the records zero-padded to it, as Windows writes
** uncompressed buffers) and the COMPRESSED flag. The records are the same
** bytes, so both files read to the same records. Returns 0 or -1. */
static int uncompressed_copy(const char *in, const char *out) {
  FILE *f = fopen(in, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *d = malloc((size_t)len), *buf = malloc(16u << 20);
  size_t got = d ? fread(d, 1, (size_t)len, f) : 0;
  fclose(f);
  FILE *o = got == (size_t)len && buf ? fopen(out, "wb") : NULL;
  int rc = o ? 0 : -1;
  uint32_t session = len >= 4 ? tlg_le32(d) : 0;   /* buffer 0 is never compressed */
  for (long off = 0; o && off + (long)ETL_BUF_HDR_SIZE <= len;) {
    const uint8_t *h = d + off;
    uint32_t size = tlg_le32(h + ETL_BUF_SIZE), fill = tlg_le32(h + ETL_BUF_OFFSET);
    uint16_t flags = tlg_le16(h + ETL_BUF_FLAG);
    if (size < ETL_BUF_HDR_SIZE || (uint64_t)size > (uint64_t)(len - off)) break;
    if (!(flags & ETL_BUF_FLAG_COMPRESSED)) {
      fwrite(h, 1, size, o);
    } else {
      size_t n = 0, bad = 0, cap = fill - ETL_BUF_HDR_SIZE, full = fill > session ? fill : session;
      if (fill < ETL_BUF_HDR_SIZE || cap > (16u << 20) ||
          etl_lzx_decompress(h + ETL_BUF_HDR_SIZE, size - ETL_BUF_HDR_SIZE, buf + ETL_BUF_HDR_SIZE,
                             cap, &n, &bad) != ETL_LZX_OK || n != cap || full > (16u << 20)) {
        rc = -1;
        break;
      }
      memcpy(buf, h, ETL_BUF_HDR_SIZE);
      memset(buf + fill, 0, full - fill);
      tlg_put32(buf + ETL_BUF_SIZE, (uint32_t)full);
      tlg_put16(buf + ETL_BUF_FLAG, (uint16_t)(flags & ~ETL_BUF_FLAG_COMPRESSED));
      fwrite(buf, 1, full, o);
    }
    off += size;
  }
  if (o && fclose(o) != 0) rc = -1;
  free(d);
  free(buf);
  return rc;
}
#endif

/* The compressed sample and an uncompressed copy of it made here, read in
** the same run: the ratio is what the LZ77 buffers cost. */
static void bench_compressed(const char *path, int iters) {
#ifdef _WIN32
  (void)path; (void)iters;
  printf("uncompressed copy: skipped on Windows\n");
#else
  char dir[] = "/tmp/etwlua-bench-XXXXXX", copy[64];
  if (!mkdtemp(dir)) return;
  snprintf(copy, sizeof copy, "%s/uncompressed.etl", dir);
  if (uncompressed_copy(path, copy) == 0) {
    etl_options one = {0};
    one.single_thread = 1;
    double c = bench(path, iters);
    double c1 = bench_opt(path, iters, &one, "  the same, no helper thread");
    double u = bench(copy, iters);
    if (c > 0 && u > 0 && c1 > 0) {
      printf("compressed / uncompressed copy (same records): %.2f of the speed "
             "(no helper thread: %.2f)\n", c / u, c1 / u);
      printf("target: %-46s %8.2f M records/s = %4.2fx the uncompressed copy (target >= 9 M/s)\n",
             "compressed ETL read (net.4.5.2.x64.etl)", c / 1e6, c / u);
    }
  } else {
    printf("uncompressed copy of %s: could not be made\n", path);
  }
  remove(copy);
  rmdir(dir);
#endif
}

int main(int argc, char **argv) {
  int iters = 20, first = 1;
  if (argc > 2 && strcmp(argv[1], "-n") == 0) { iters = atoi(argv[2]); first = 3; }
  if (iters < 1) iters = 1;
  if (first < argc) {
    for (int i = first; i < argc; i++) bench(argv[i], iters);
    return 0;
  }
  const char *shared = getenv("ETWLUA_SHARED");
  if (!shared) shared = "../shared";
  const char *files[] = {"airbus-etl-parser/ShutdownPerfDiagLogger.etl",
                         "perfview/net.4.5.2.x64.etl"};
  char path[1024];
  for (size_t i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/etl-samples/%s", shared, files[i]);
    if (i == 1) bench_compressed(path, iters);
    else bench(path, iters);
  }
  return 0;
}
