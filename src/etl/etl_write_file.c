/*
** etl_write_file.c: the writer's only file I/O: an etl_sink over stdio
** (unbuffered: the writer hands whole buffers, so each write is one system
** call and nothing waits in user space when the process dies), rotation
** names, and the clock. Portable to Windows/mingw-w64. On POSIX files are
** created through open(2): permission bits (file_mode), and the circular
** mode's temporary copy with O_EXCL | O_NOFOLLOW, so a link planted under
** its name is never followed.
*/
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L     /* fseeko, clock_gettime, fdopen, O_NOFOLLOW */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <io.h>
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "etl_int.h"
#include "etl_write.h"

int64_t etl_filetime_now(void) {
#ifdef _WIN32
  FILETIME ft;
  GetSystemTimeAsFileTime(&ft);
  return (int64_t)((uint64_t)ft.dwHighDateTime << 32 | ft.dwLowDateTime);
#else
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 10000000 + ts.tv_nsec / 100 + 116444736000000000LL;
#endif
}

size_t etl_rotated_path(const char *path, uint32_t index, char *out, size_t cap) {
  if (!path || !out || cap == 0) return 0;
  const char *pct = strstr(path, "%d");
  int n;
  if (pct) {
    n = snprintf(out, cap, "%.*s%lu%s", (int)(pct - path), path, (unsigned long)index + 1, pct + 2);
  } else if (index == 0) {
    n = snprintf(out, cap, "%s", path);
  } else {
    /* the extension: the last '.' after the last directory separator */
    const char *base = path, *dot = NULL;
    for (const char *p = path; *p; p++)
      if (*p == '/' || *p == '\\') base = p + 1;
    for (const char *p = base; *p; p++)
      if (*p == '.' && p != base) dot = p;
    size_t stem = dot ? (size_t)(dot - path) : strlen(path);
    n = snprintf(out, cap, "%.*s_%lu%s", (int)stem, path, (unsigned long)index, dot ? dot : "");
  }
  if (n < 0 || (size_t)n >= cap) { out[0] = '\0'; return 0; }
  return (size_t)n;
}

typedef struct fsink {
  FILE *f;
  uint64_t pos;                 /* stream position: seek only when it differs */
  int circular;                 /* write to tmp, rename over path at close */
  int failed;                   /* a write failed: never rename a broken copy in */
  int empty;                    /* truncated to 0 after a failure: remove at close */
  unsigned mode;                /* permission bits of created files */
  char *path, *tmp, *cur;
} fsink;

static int fs_seek(FILE *f, uint64_t off) {
#ifdef _WIN32
  return _fseeki64(f, (__int64)off, SEEK_SET);
#else
  return fseeko(f, (off_t)off, SEEK_SET);
#endif
}

#ifndef _WIN32
/* A temporary copy left by a writer that died: a regular file of ours
** with one link. Anything else under that name is not ours to replace. */
static int stale_tmp(const char *name) {
  struct stat sb;
  return lstat(name, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == geteuid() &&
         sb.st_nlink == 1;
}
#endif

/* Create (truncate) `name` for writing; the temporary copy exclusively. */
static FILE *fs_create(const fsink *s, const char *name, int excl) {
#ifdef _WIN32
  (void)s;
  (void)excl;
  return fopen(name, "wb");
#else
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL | O_NOFOLLOW : O_TRUNC);
  int fd = open(name, flags, (mode_t)s->mode);
  if (fd < 0 && excl && errno == EEXIST && stale_tmp(name) && unlink(name) == 0)
    fd = open(name, flags, (mode_t)s->mode);    /* a link planted meanwhile: EEXIST again */
  if (fd < 0) return NULL;
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    int e = errno;
    close(fd);
    errno = e;
  }
  return f;
#endif
}

static int fs_open(void *ctx, uint32_t index, char *name, size_t cap) {
  fsink *s = ctx;
  size_t len = strlen(s->path) + 32;
  free(s->cur);
  s->cur = malloc(len);
  if (!s->cur) return ENOMEM;
  if (s->circular) snprintf(s->cur, len, "%s", s->path);
  else if (!etl_rotated_path(s->path, index, s->cur, len)) return ENAMETOOLONG;
  s->failed = 0;
  s->empty = 0;
  errno = 0;
  s->f = fs_create(s, s->circular ? s->tmp : s->cur, s->circular);
  if (!s->f) return errno ? errno : EIO;
  setvbuf(s->f, NULL, _IONBF, 0);
  s->pos = 0;
  snprintf(name, cap, "%s", s->cur);
  return 0;
}

static int fs_write_at(void *ctx, uint64_t off, const void *p, size_t n) {
  fsink *s = ctx;
  if (!s->f) return EBADF;
  if (off != s->pos && fs_seek(s->f, off) != 0) { s->failed = 1; return errno ? errno : EIO; }
  s->pos = off;
  if (fwrite(p, 1, n, s->f) != n) {
    s->pos = UINT64_MAX;
    s->failed = 1;
    return errno ? errno : EIO;
  }
  s->pos += n;
  return 0;
}

static int fs_sync(void *ctx) {
  fsink *s = ctx;
  return s->f && fflush(s->f) != 0 ? (errno ? errno : EIO) : 0;
}

static int fs_truncate(void *ctx, uint64_t size) {
  fsink *s = ctx;
  if (!s->f) return EBADF;
  if (size == 0) s->empty = 1;
  s->pos = UINT64_MAX;          /* seek before the next write */
#ifdef _WIN32
  return _chsize_s(_fileno(s->f), (__int64)size) != 0 ? (errno ? errno : EIO) : 0;
#else
  return ftruncate(fileno(s->f), (off_t)size) != 0 ? (errno ? errno : EIO) : 0;
#endif
}

static int fs_close(void *ctx) {
  fsink *s = ctx;
  if (!s->f) return 0;
  int e = fclose(s->f) != 0 ? (errno ? errno : EIO) : 0;
  s->f = NULL;
  if (!s->circular && s->empty) remove(s->cur);  /* it never held a header buffer */
  if (s->circular && (e || s->failed)) remove(s->tmp);
  if (s->circular && e == 0 && !s->failed) {
#ifdef _WIN32
    remove(s->path);            /* Windows rename does not replace */
#endif
    if (rename(s->tmp, s->path) != 0) e = errno ? errno : EIO;
  }
  return e;
}

static void fs_free(void *ctx) {
  fsink *s = ctx;
  if (!s) return;
  if (s->f) fclose(s->f);
  free(s->path);
  free(s->tmp);
  free(s->cur);
  free(s);
}

int etl_writer_open_file(const char *path, const etl_write_opts *opt, etl_writer **out) {
  if (!out) return ETL_ERR_ARG;
  *out = NULL;
  if (!path || !*path) return ETL_ERR_ARG;
  fsink *s = calloc(1, sizeof *s);
  if (!s) return ETL_ERR_NOMEM;
  size_t n = strlen(path);
  s->path = malloc(n + 1);
  s->tmp = malloc(n + 5);
  if (!s->path || !s->tmp) { fs_free(s); return ETL_ERR_NOMEM; }
  memcpy(s->path, path, n + 1);
  memcpy(s->tmp, path, n);
  memcpy(s->tmp + n, ".tmp", 5);
  s->circular = opt && opt->circular;
  s->mode = opt && opt->file_mode ? opt->file_mode & 07777u : 0600u;
  etl_sink sink = {s, fs_open, fs_write_at, fs_sync, fs_close, fs_truncate};
  int st = etl_writer_open(&sink, opt, out);
  if (st != ETL_OK) {           /* a copy it began is removed at its close; nothing else */
    fs_free(s);
    return st;
  }
  etl_writer_own_ctx(*out, s, fs_free);
  return ETL_OK;
}
