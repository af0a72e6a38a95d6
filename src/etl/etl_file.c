/*
** etl_file.c: the reader's only file I/O: read a whole file into memory
** with stdio (portable to Windows/mingw-w64), then parse it from memory.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_int.h"

/* Read all of `f`, growing the buffer as needed (works for pipes and for
** files whose size changes while reading). Returns 0, or an errno value. */
static int read_all(FILE *f, uint8_t **data, size_t *len) {
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  if (!buf) return ENOMEM;
  for (;;) {
    if (n == cap) {
      if (cap > SIZE_MAX / 2) { free(buf); return EFBIG; }
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) { free(buf); return ENOMEM; }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  if (ferror(f)) { free(buf); return EIO; }
  *data = buf;
  *len = n;
  return 0;
}

int etl_open_file(const char *path, const etl_options *opt, etl_reader **out,
                  etl_error *err) {
  etl_error dummy;
  if (!err) err = &dummy;
  if (!out) return etl_fail(err, ETL_ERR_ARG, 0, "no output pointer");
  *out = NULL;
  if (!path) return etl_fail(err, ETL_ERR_ARG, 0, "no path");
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    return etl_fail(err, ETL_ERR_IO, 0, "cannot open %s: %s", path, strerror(e));
  }
  uint8_t *data = NULL;
  size_t len = 0;
  int e = read_all(f, &data, &len);
  fclose(f);
  if (e == ENOMEM) return etl_fail(err, ETL_ERR_NOMEM, 0, "out of memory reading %s", path);
  if (e) return etl_fail(err, ETL_ERR_IO, 0, "cannot read %s: %s", path, strerror(e));
  int st = etl_open_memory(data, len, opt, out, err);
  if (st != ETL_OK) { free(data); return st; }
  etl_reader_own(*out, data);
  return ETL_OK;
}
