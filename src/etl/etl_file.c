/*
** etl_file.c: the reader's only file I/O. A file is never loaded whole:
** only regular files are accepted (a FIFO, a device such as /dev/zero or a
** directory is refused before a byte is read), the first buffer is read and
** checked before anything else, and the rest is read buffer by buffer as
** the scan and the merge need it (etl_input). Portable to mingw-w64.
*/
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L     /* pread, fdopen */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _WIN32
#include <io.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

#include "etl_int.h"

int etl_file_read(FILE *fp, uint64_t off, void *dst, size_t n) {
  uint8_t *p = dst;
#ifdef _WIN32
  if (_fseeki64(fp, (__int64)off, SEEK_SET) != 0) return errno ? errno : EIO;
  size_t got = fread(p, 1, n, fp);
  return got == n ? 0 : EIO;  /* a read error, or short: the file shrank */
#else
  int fd = fileno(fp);
  while (n) {
    ssize_t got = pread(fd, p, n, (off_t)off);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno;
    if (got == 0) return EIO;        /* short: the file shrank */
    p += got;
    off += (uint64_t)got;
    n -= (size_t)got;
  }
  return 0;
#endif
}

/* What a non-regular file is, for the message. */
static const char *kind_of(unsigned mode) {
  if (S_ISDIR(mode)) return "is a directory";
#ifdef S_ISFIFO
  if (S_ISFIFO(mode)) return "not a regular file (a FIFO)";
#endif
  if (S_ISCHR(mode)) return "not a regular file (a character device)";
#ifdef S_ISBLK
  if (S_ISBLK(mode)) return "not a regular file (a block device)";
#endif
#ifdef S_ISSOCK
  if (S_ISSOCK(mode)) return "not a regular file (a socket)";
#endif
  return "not a regular file";
}

static int io_fail(etl_error *err, int e, const char *what, const char *path) {
  etl_fail(err, ETL_ERR_IO, 0, "cannot %s %s: %s", what, path, strerror(e));
  err->sys_errno = e;
  return ETL_ERR_IO;
}

/* Open `path` for reading without blocking (a FIFO's open would wait for a
** writer) and accept it only if it is a regular file. */
static int open_regular(const char *path, FILE **out, uint64_t *size, etl_error *err) {
#ifdef _WIN32
  struct _stat64 st;                 /* 64-bit sizes: plain stat's are 32-bit here */
  if (_stat64(path, &st) != 0) return io_fail(err, errno, "open", path);
  if (!S_ISREG(st.st_mode)) {
    etl_fail(err, ETL_ERR_IO, 0, "cannot read %s: %s", path, kind_of(st.st_mode));
    err->sys_errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return ETL_ERR_IO;
  }
  FILE *f = fopen(path, "rb");
  if (!f) return io_fail(err, errno, "open", path);
#else
  struct stat st;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return io_fail(err, errno, "open", path);
  if (fstat(fd, &st) != 0) { int e = errno; close(fd); return io_fail(err, e, "read", path); }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    etl_fail(err, ETL_ERR_IO, 0, "cannot read %s: %s", path, kind_of(st.st_mode));
    err->sys_errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return ETL_ERR_IO;
  }
  FILE *f = fdopen(fd, "rb");
  if (!f) { int e = errno; close(fd); return io_fail(err, e, "open", path); }
#endif
  setvbuf(f, NULL, _IONBF, 0);  /* whole reads into our buffers, no stdio copy */
  *out = f;
  *size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
  return ETL_OK;
}

int etl_open_file(const char *path, const etl_options *opt, etl_reader **out,
                  etl_error *err) {
  etl_error dummy;
  if (!err) err = &dummy;
  if (!out) return etl_fail(err, ETL_ERR_ARG, 0, "no output pointer");
  *out = NULL;
  if (!path) return etl_fail(err, ETL_ERR_ARG, 0, "no path");
  FILE *f;
  uint64_t size;
  int st = open_regular(path, &f, &size, err);
  if (st != ETL_OK) return st;
  etl_reader *r = etl_reader_new(opt, size);
  uint32_t head = size < ETL_HEAD_MAX ? (uint32_t)size : ETL_HEAD_MAX;
  uint8_t *h = r ? malloc(head ? head : 1) : NULL;
  if (!h) {
    fclose(f);
    etl_close(r);
    return etl_fail(err, ETL_ERR_NOMEM, 0, "out of memory reading %s", path);
  }
  r->fp = f;
  r->head = r->head_own = h;
  r->head_len = head;
  int e = etl_file_read(f, 0, h, head);
  if (e) { etl_close(r); return io_fail(err, e, "read", path); }
  st = etl_reader_start(r, err);
  if (st != ETL_OK) { etl_close(r); return st; }
  *out = r;
  return ETL_OK;
}
