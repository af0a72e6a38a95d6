/*
** eng_files.c: the .etl file record source (src/etl readers merged by
** time), behind etw.Consumer{files=...} on every platform (reader
** "etwlua"). See eng_files.h.
**
** Each file has its own ETL reader, which already delivers that file's
** records stably sorted by timestamp. The source merges the readers: every
** reader keeps one pending record, a heap picks the smallest (timestamp,
** file index), so equal times keep the order the files were given. Only the
** reader whose record was handed out is advanced, and only on the next
** call: a reader's record stays valid until its next etl_next, so the
** pending records of the other readers are never copied.
**
** Corrupt input does not end the stream: each ETL_ERR_DATA of a reader comes
** out as an REC_KIND_CORRUPT record, at the point of that reader's stream
** where the reader reported it (header warnings first, a buffer's errors
** after its last good record); eng_files_corrupt_detail tells the file,
** offset and message of the last one.
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng_files.h"

typedef struct freader {
  etl_reader *r;
  char *path;
  rec_record rec;               /* the pending record, while in the heap */
} freader;

struct eng_files {
  freader *f;
  size_t n;
  size_t *heap;                 /* readers with a pending record */
  size_t nheap;
  size_t fill;                  /* readers before this one had their first etl_next */
  size_t last;                  /* reader of the record handed out last, or n */
  volatile sig_atomic_t stop;
  etl_error err;                /* the last ERR_DATA */
  size_t err_file;
};

/* ---- the merge heap: (timestamp, file index) ---- */

static int before(const eng_files *s, size_t a, size_t b) {
  int64_t ta = s->f[a].rec.timestamp, tb = s->f[b].rec.timestamp;
  return ta < tb || (ta == tb && a < b);
}

static void heap_push(eng_files *s, size_t i) {
  size_t k = s->nheap++;
  while (k > 0) {
    size_t up = (k - 1) / 2;
    if (!before(s, i, s->heap[up])) break;
    s->heap[k] = s->heap[up];
    k = up;
  }
  s->heap[k] = i;
}

static size_t heap_pop(eng_files *s) {
  size_t top = s->heap[0], x = s->heap[--s->nheap], k = 0;
  for (;;) {
    size_t l = 2 * k + 1, m = x;
    if (l >= s->nheap) break;
    if (l + 1 < s->nheap && before(s, s->heap[l + 1], s->heap[l])) l++;
    if (!before(s, s->heap[l], m)) break;
    s->heap[k] = s->heap[l];
    k = l;
  }
  if (s->nheap) s->heap[k] = x;
  return top;
}

/* ---- the source ---- */

/* A reader's ETL_ERR_DATA as an REC_KIND_CORRUPT record in *rec. */
static void corrupt_record(eng_files *s, size_t i, rec_record *rec) {
  memset(rec, 0, sizeof *rec);
  rec->kind = REC_KIND_CORRUPT;
  rec->src_offset = s->err.offset;
  rec->src_record_offset = s->err.inner;
  s->err_file = i;
}

/* One file: there is nothing to merge, so its records go straight into
** *rec (no pending copy, no heap); the order and the notices are the
** merge's for one file. */
static int next_single(eng_files *s, rec_record *rec) {
  int st = etl_next(s->f[0].r, rec, &s->err);
  if (st == ETL_OK) return ENG_OK;
  if (st == ETL_END) return ENG_E_STOPPED;
  if (st == ETL_ERR_DATA) { corrupt_record(s, 0, rec); return ENG_OK; }
  return ENG_E_NOMEM;
}

/* One etl_next on reader i. Returns ENG_OK (pending or done), ENG_E_CORRUPT
** (*rec is a corrupt notice; call again), or ENG_E_NOMEM (call again). */
static int advance(eng_files *s, size_t i, rec_record *rec) {
  freader *f = &s->f[i];
  int st = etl_next(f->r, &f->rec, &s->err);
  if (st == ETL_OK) heap_push(s, i);
  if (st == ETL_OK || st == ETL_END) return ENG_OK;
  if (st == ETL_ERR_DATA) {
    corrupt_record(s, i, rec);
    return ENG_E_CORRUPT;
  }
  return ENG_E_NOMEM;  /* ETL_ERR_NOMEM (ETL_ERR_ARG cannot happen) */
}

int eng_files_next(eng_files *s, rec_record *rec) {
  int st;
  if (s->stop) {
    s->stop = 0;  /* a stop pauses: the next run goes on from here */
    return ENG_E_INTERRUPTED;
  }
  if (s->n == 1) return next_single(s, rec);
  while (s->fill < s->n) {  /* first records, in file order */
    st = advance(s, s->fill, rec);
    if (st == ENG_E_CORRUPT) return ENG_OK;
    if (st != ENG_OK) return st;
    s->fill++;
  }
  if (s->last < s->n) {
    st = advance(s, s->last, rec);
    if (st == ENG_E_CORRUPT) return ENG_OK;
    if (st != ENG_OK) return st;
    s->last = s->n;
  }
  if (s->nheap == 0) return ENG_E_STOPPED;
  s->last = heap_pop(s);
  *rec = s->f[s->last].rec;
  return ENG_OK;
}

void eng_files_stop(eng_files *s) { s->stop = 1; }

void eng_files_close(eng_files *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) {
    etl_close(s->f[i].r);
    free(s->f[i].path);
  }
  free(s->f);
  free(s->heap);
  free(s);
}

const char *eng_files_corrupt_detail(const eng_files *s, const char **file, uint64_t *offset) {
  *file = s->err_file < s->n ? s->f[s->err_file].path : NULL;
  *offset = s->err.offset;
  return s->err.message;
}

/* ---- open ---- */

/* A file fopen could not open: "path: why" and the eng_status. */
static int open_errno(const char *path, int err_no, char *why, size_t cap) {
  snprintf(why, cap, "%s: %s", path, strerror(err_no));
  return err_no == ENOENT ? ENG_E_NOTFOUND
       : err_no == EACCES || err_no == EPERM ? ENG_E_ACCESS : ENG_E_IO;
}

/* A file the reader refused: "path: why" and the eng_status. */
static int open_failed(const char *path, int etl_st, const etl_error *e, char *why, size_t cap) {
  if (etl_st == ETL_ERR_IO && (e->sys_errno == ENOENT || e->sys_errno == EACCES ||
                               e->sys_errno == EPERM))
    return open_errno(path, e->sys_errno, why, cap);
  if (etl_st == ETL_ERR_IO) {        /* "offset 0x0: cannot read PATH: why" */
    const char *m = strstr(e->message, "cannot ");
    snprintf(why, cap, "%s", m ? m : e->message);
    return ENG_E_IO;
  }
  snprintf(why, cap, "%s: %s", path, e->message);
  return etl_st == ETL_ERR_NOMEM ? ENG_E_NOMEM : etl_st == ETL_ERR_ARG ? ENG_E_ARG : ENG_E_CORRUPT;
}

static int open_one(freader *f, const char *path, char *why, size_t cap) {
  etl_error e;
  size_t len = strlen(path);
  if (!(f->path = malloc(len + 1))) return ENG_E_NOMEM;
  memcpy(f->path, path, len + 1);
  int st = etl_open_file(path, NULL, &f->r, &e);
  return st == ETL_OK ? ENG_OK : open_failed(path, st, &e, why, cap);
}

int eng_files_open(const char *const *paths, size_t n, eng_files **out, char *why, size_t cap) {
  *out = NULL;
  if (cap) why[0] = 0;
  if (!paths || n == 0) return ENG_E_ARG;
  eng_files *s = calloc(1, sizeof *s);
  if (s) {
    s->f = calloc(n, sizeof *s->f);
    s->heap = malloc(n * sizeof *s->heap);
  }
  if (!s || !s->f || !s->heap) {
    if (s) { free(s->f); free(s->heap); free(s); }
    return ENG_E_NOMEM;
  }
  s->n = n;
  s->last = n;
  for (size_t i = 0; i < n; i++) {
    int st = open_one(&s->f[i], paths[i], why, cap);
    if (st != ENG_OK) {
      eng_files_close(s);
      return st;
    }
  }
  *out = s;
  return ENG_OK;
}

size_t eng_files_count(const eng_files *s) { return s->n; }

const etl_reader *eng_files_reader(const eng_files *s, size_t i, const char **path) {
  if (i >= s->n) return NULL;
  if (path) *path = s->f[i].path;
  return s->f[i].r;
}
