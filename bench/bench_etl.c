/*
** bench_etl.c: ETL reader throughput: open (read file + scan every buffer,
** decompressing compressed ones) and deliver every record as an rec_record
** in timestamp order. Prints records/s and MB/s per file.
** Usage: bench_etl [-n ITER] [file.etl ...]; without files it reads
** ShutdownPerfDiagLogger.etl (largest uncompressed sample) and
** net.4.5.2.x64.etl (compressed) from $ETWLUA_SHARED/etl-samples.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etl.h"

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
static long one_pass(const char *path, double *t_open, double *t_next, uint64_t *bytes) {
  etl_reader *r;
  etl_error e;
  rec_record rec;
  double t0 = now();
  if (etl_open_file(path, NULL, &r, &e) != ETL_OK) {
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

static void bench(const char *path, int iters) {
  double t_open = 0, t_next = 0;
  uint64_t bytes = 0;
  long n = 0;
  for (int i = 0; i < iters; i++) {
    n = one_pass(path, &t_open, &t_next, &bytes);
    if (n < 0) return;
  }
  double total = t_open + t_next;
  const char *base = strrchr(path, '/');
  printf("%-34s %8ld records %6.2f MB | open+scan %7.2f ms, deliver %7.2f ms | "
         "%6.2f M records/s, %7.1f MB/s\n", base ? base + 1 : path, n, bytes / 1e6,
         t_open / iters * 1e3, t_next / iters * 1e3, n * (double)iters / total / 1e6,
         bytes * (double)iters / total / 1e6);
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
    bench(path, iters);
  }
  return 0;
}
