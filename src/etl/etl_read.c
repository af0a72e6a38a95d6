/*
** etl_read.c: the ETL reader: open (header + one scan over all buffers),
** then a k-way merge of the buffers by timestamp (spec §7, §9).
**
** Why a merge of buffers and not of records: Windows writes each buffer in
** time order, but flushes buffers per CPU in any order. Each buffer is one
** sorted run (stably sorted on activation, in case one is not), and the
** merge takes the smallest (timestamp, buffer index): that is exactly a
** stable sort of all records by timestamp in file order, which is the order
** Windows delivers (verified against HTTP_Server.evtx). A buffer is loaded
** (read, decompressed, indexed) only when the merge first needs it and freed
** when exhausted, so memory stays near one buffer per CPU for ordinary
** files. The merge needs every buffer's first time, so the scan keeps a
** small entry per buffer (etl_buf); loaded bytes stay within the budget
** (etl_cache.c): a buffer unloaded to keep it is loaded again when reached,
** and goes on from the record it had reached.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_int.h"

static void vformat(etl_error *e, uint64_t off, uint32_t inner, int compressed,
                    const char *fmt, va_list ap) {
  int n;
  e->offset = off;
  e->sys_errno = 0;
  e->inner = inner;
  e->compressed = (uint32_t)compressed;
  if (compressed)
    n = snprintf(e->message, sizeof e->message,
                 "offset 0x%llx (compressed buffer), decompressed offset 0x%x: ",
                 (unsigned long long)off, inner);
  else
    n = snprintf(e->message, sizeof e->message, "offset 0x%llx: ", (unsigned long long)off);
  if (n < 0 || (size_t)n >= sizeof e->message) return;
  vsnprintf(e->message + n, sizeof e->message - (size_t)n, fmt, ap);
}

int etl_fail(etl_error *e, int status, uint64_t offset, const char *fmt, ...) {
  va_list ap;
  if (!e) return status;
  e->status = status;
  va_start(ap, fmt);
  vformat(e, offset, 0, 0, fmt, ap);
  va_end(ap);
  return status;
}

int etl_fail_at(etl_error *e, int status, uint64_t offset, uint32_t inner, int compressed,
                const char *fmt, ...) {
  va_list ap;
  if (!e) return status;
  e->status = status;
  va_start(ap, fmt);
  vformat(e, offset, inner, compressed, fmt, ap);
  va_end(ap);
  return status;
}

int etl_add_error(etl_reader *r, uint64_t offset, uint32_t inner, int compressed,
                  const char *fmt, ...) {
  if (r->nerrs >= r->opt.max_errors) { r->suppressed++; return 0; }
  if (r->nerrs == r->caperrs) {
    uint32_t cap = r->caperrs ? r->caperrs * 2 : 8;
    etl_error *ne = realloc(r->errs, cap * sizeof *ne);
    if (!ne) return -1;
    r->errs = ne;
    r->caperrs = cap;
  }
  etl_error *e = &r->errs[r->nerrs++];
  va_list ap;
  e->status = ETL_ERR_DATA;
  va_start(ap, fmt);
  vformat(e, offset, inner, compressed, fmt, ap);
  va_end(ap);
  return 0;
}

const uint8_t *etl_input(etl_reader *r, uint64_t off, size_t n, uint8_t *dst) {
  if (off > r->len || n > r->len - off) return NULL;
  if (r->data) return r->data + off;
  int e = etl_file_read(r->fp, off, dst, n);
  if (!e) return dst;
  r->read_errno = e;
  return NULL;
}

/* ---- the merge heap: buffers ordered by (key, index) ---- */

/* The heap holds each buffer's key next to its index, so that comparing
** two entries reads no buffer entry; the top's key is written to both
** whenever it changes (etl_next, activate). */
static int before(etl_heapent a, etl_heapent b) {
  return a.key < b.key || (a.key == b.key && a.buf < b.buf);
}

/* Move entry i down to its place: the smaller child moves up while it
** comes before the entry (a hole moves down instead of swaps). */
static void sift_down(etl_reader *r, uint32_t i) {
  etl_heapent *h = r->heap, x = h[i];
  uint32_t n = r->nheap;
  r->second_ok = 0;
  for (;;) {
    uint32_t l = 2 * i + 1;
    if (l >= n) break;
    if (l + 1 < n && before(h[l + 1], h[l])) l++;
    if (!before(h[l], x)) break;
    h[i] = h[l];
    i = l;
  }
  h[i] = x;
}

static void heap_pop(etl_reader *r) {
  r->second_ok = 0;
  r->heap[0] = r->heap[--r->nheap];
  if (r->nheap) sift_down(r, 0);
}

/* Does the top entry, whose key just grew, still come first? It is
** compared with the runner-up, the smaller of the top's two children,
** which is found again only after the heap changed: the other keys do not
** change while their buffers are not on top. So a buffer whose records
** come one after another costs one comparison per record, not a sift. */
static int still_first(etl_reader *r) {
  etl_heapent *h = r->heap;
  if (!r->second_ok) {
    uint32_t n = r->nheap;
    r->has_second = n > 1;
    if (n > 1) r->second = n > 2 && before(h[2], h[1]) ? h[2] : h[1];
    r->second_ok = 1;
  }
  return !r->has_second || before(h[0], r->second);
}

/* Every buffer with records or errors joins the merge. */
static int build_heap(etl_reader *r) {
  r->heap = malloc((r->nbufs ? r->nbufs : 1) * sizeof *r->heap);
  if (!r->heap) return -1;
  for (uint32_t i = 0; i < r->nbufs; i++) {
    etl_buf *b = &r->bufs[i];
    if (b->nrec == 0 && b->err_count == 0) continue;
    if (b->nrec == 0) { b->key = INT64_MAX; b->state = ETL_BUF_ACTIVE; }
    r->heap[r->nheap++] = (etl_heapent){b->key, i};
  }
  for (uint32_t i = r->nheap / 2; i-- > 0;) sift_down(r, i);
  return 0;
}

static void apply_defaults(etl_reader *r, const etl_options *opt) {
  r->opt = (etl_options){0};
  if (opt) r->opt = *opt;
  if (r->opt.max_buffer_size == 0) r->opt.max_buffer_size = ETL_DEFAULT_MAX_BUFFER;
  if (r->opt.max_buffer_size < ETL_BUF_HDR_SIZE + 8) r->opt.max_buffer_size = ETL_BUF_HDR_SIZE + 8;
  if (r->opt.cache_bytes == 0) r->opt.cache_bytes = ETL_DEFAULT_CACHE;
  if (r->opt.max_errors == 0) r->opt.max_errors = ETL_DEFAULT_MAX_ERRORS;
  if (r->opt.max_decompressed == 0)
    r->opt.max_decompressed = ((uint64_t)64 << 20) + (uint64_t)r->len * ETL_DEFAULT_EXPANSION;
}

etl_reader *etl_reader_new(const etl_options *opt, uint64_t len) {
  etl_reader *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->len = len;
  r->release = ETL_NONE;
  r->lru_first = r->lru_last = ETL_NONE;
  apply_defaults(r, opt);
  return r;
}

int etl_reader_start(etl_reader *r, etl_error *err) {
  int st = etl_header_parse(r, err);
  if (st != ETL_OK) return st;
  if ((r->info.log_file_mode & ETL_LOGMODE_COMPRESSED) && !r->opt.single_thread)
    etl_prefetch_begin(r);         /* none (it could not start): all done here */
  for (uint64_t off = 0; off < r->len;) off = etl_buffer_scan(r, off);
  etl_prefetch_end(r);
  if (r->suppressed) etl_buffer_suppressed(r);
  if (r->oom || build_heap(r)) return etl_fail(err, ETL_ERR_NOMEM, 0, "out of memory");
  return ETL_OK;
}

int etl_open_memory(const void *data, size_t len, const etl_options *opt,
                    etl_reader **out, etl_error *err) {
  etl_error dummy;
  if (!err) err = &dummy;
  if (!out) return etl_fail(err, ETL_ERR_ARG, 0, "no output pointer");
  *out = NULL;
  if (!data && len) return etl_fail(err, ETL_ERR_ARG, 0, "no data");
  static const uint8_t none[1];
  etl_reader *r = etl_reader_new(opt, len);
  if (!r) return etl_fail(err, ETL_ERR_NOMEM, 0, "out of memory");
  r->data = data ? data : none;
  r->head = r->data;
  r->head_len = len < ETL_HEAD_MAX ? (uint32_t)len : ETL_HEAD_MAX;
  int st = etl_reader_start(r, err);
  if (st != ETL_OK) { etl_close(r); return st; }
  *out = r;
  return ETL_OK;
}

const etl_info *etl_get_info(const etl_reader *r) { return &r->info; }

const etl_stats *etl_get_stats(const etl_reader *r) { return &r->stats; }

/* Load, index and sort a buffer the merge reached, for the first time or
** again after it was unloaded (the scan may have kept its bytes and index).
** Delivery goes on at b->next. Returns 0, -1 (no memory), or the number of
** records the scan found that cannot be found again (a file changed or
** shrank since, or the decompression budget ran out): they are skipped. */
static int64_t activate(etl_reader *r, etl_buf *b) {
  const uint8_t *base;
  uint32_t end, had = b->nrec;
  int64_t min_ts;
  if (etl_buffer_load(r, b, 0, &base, &end)) return -1;
  if (!b->idx) {
    b->idx = malloc((b->nrec ? b->nrec : 1) * sizeof *b->idx);
    if (!b->idx) { etl_cache_drop(r, b); return -1; }
    /* a file read again may have changed: never more than the scan found */
    b->nrec = etl_buffer_walk(r, b, base, end, b->idx, b->nrec, 0, &min_ts);
    etl_cache_add(r, b);
  }
  if (etl_sort_records(b->idx, b->nrec)) { etl_cache_drop(r, b); return -1; }
  b->base = base;
  b->key = b->next < b->nrec ? b->idx[b->next].ts : INT64_MAX;
  r->heap[0].key = b->key;      /* b is the top (etl_next) */
  b->state = ETL_BUF_ACTIVE;
  etl_cache_trim(r, b);
  uint32_t left_before = had > b->next ? had - b->next : 0;
  uint32_t left_now = b->nrec > b->next ? b->nrec - b->next : 0;
  return (int64_t)left_before - (int64_t)left_now;
}

/* Decode record `ri` of buffer `b` into `out`. */
static int deliver(etl_reader *r, etl_buf *b, etl_recidx ri, rec_record *out, etl_error *err) {
  etl_ctx ctx = {&r->clock, r->info.pointer_size, b->cpu, b->flags, b->file_off,
                 (b->flags & ETL_BUF_FLAG_COMPRESSED) != 0};
  char why[128];
  uint32_t bad = 0;
  const uint8_t *p = b->base + (ri.off - ETL_BUF_HDR_SIZE);
  int rc = etl_record_decode(r, &ctx, p, ri.size, ri.ts, out, why, sizeof why, &bad);
  if (rc == 0) {
    out->src_record_offset = ri.off;
    r->stats.records++;
    return ETL_OK;
  }
  if (rc == -2) return etl_fail(err, ETL_ERR_NOMEM, b->file_off + ri.off, "out of memory");
  r->stats.errors++;
  if (ctx.compressed)
    return etl_fail_at(err, ETL_ERR_DATA, b->file_off, ri.off + bad, 1, "%s; record skipped", why);
  return etl_fail_at(err, ETL_ERR_DATA, b->file_off + ri.off + bad, 0, 0, "%s; record skipped",
                     why);
}

/* Hand out the next stored error of `b`. */
static int next_error(etl_reader *r, etl_buf *b, etl_error *err) {
  if (err) *err = r->errs[b->err_first + b->err_next];
  b->err_next++;
  r->stats.errors++;
  if (b->err_next == b->err_count) { heap_pop(r); etl_buffer_release(r, b); }
  return ETL_ERR_DATA;
}

int etl_next(etl_reader *r, rec_record *out, etl_error *err) {
  if (!r || !out) return etl_fail(err, ETL_ERR_ARG, 0, "no reader or output record");
  if (r->release != ETL_NONE) { etl_buffer_release(r, &r->bufs[r->release]); r->release = ETL_NONE; }
  if (r->early_next < r->early_count) {
    if (err) *err = r->errs[r->early_next];
    r->early_next++;
    r->stats.errors++;
    return ETL_ERR_DATA;
  }
  while (r->nheap) {
    uint32_t bi = r->heap[0].buf;
    etl_buf *b = &r->bufs[bi];
    if (b->state == ETL_BUF_IDLE || (b->next < b->nrec && !b->base)) {
      int64_t lost = activate(r, b);
      if (lost < 0) return etl_fail(err, ETL_ERR_NOMEM, b->file_off, "out of memory");
      sift_down(r, 0);
      if (lost > 0) {
        r->stats.errors++;
        return etl_fail(err, ETL_ERR_DATA, b->file_off, "%lld records of the buffer could not "
                        "be read again (the file changed, or the decompression budget ran "
                        "out); skipped", (long long)lost);
      }
      continue;
    }
    if (b->next < b->nrec) {
      etl_recidx ri = b->idx[b->next++];
      if (b->next < b->nrec) {
        b->key = r->heap[0].key = b->idx[b->next].ts;
        if (!still_first(r)) sift_down(r, 0);
      } else if (b->err_next == b->err_count) {
        heap_pop(r);
        r->release = bi;  /* its bytes back `out` until the next call */
      }
      return deliver(r, b, ri, out, err);
    }
    if (b->err_next < b->err_count) return next_error(r, b, err);
    heap_pop(r);
    etl_buffer_release(r, b);
  }
  return ETL_END;
}

void etl_close(etl_reader *r) {
  if (!r) return;
  etl_prefetch_end(r);
  for (uint32_t i = 0; i < r->nbufs; i++) {
    free(r->bufs[i].idx);
    free(r->bufs[i].data);
  }
  free(r->bufs);
  etl_spare_free(r);
  free(r->errs);
  free(r->head_own);
  free(r->io);
  if (r->fp) fclose(r->fp);
  free(r->heap);
  free(r->ext);
  free(r->scan_idx);
  free(r->logger_name);
  free(r->log_file_name);
  free(r);
}
