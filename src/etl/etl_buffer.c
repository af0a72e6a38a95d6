/*
** etl_buffer.c: buffers (spec §2, §9 step 3-4, §11): header checks with
** resynchronisation, LZ77 decompression, record walking, stable sorting.
*/
#include <stdlib.h>
#include <string.h>

#include "etl_int.h"
#include "etl_lzx.h"

static uint32_t align8(uint32_t v) { return (v + 7u) & ~7u; }

/* A new buffer entry at `off` (errors added from now on belong to it). */
static etl_buf *new_buf(etl_reader *r, uint64_t off) {
  if (r->nbufs == r->capbufs) {
    uint32_t cap = r->capbufs ? r->capbufs * 2 : 64;
    etl_buf *nb = cap > r->capbufs ? realloc(r->bufs, cap * sizeof *nb) : NULL;
    if (!nb) { r->oom = 1; return NULL; }
    r->bufs = nb;
    r->capbufs = cap;
  }
  etl_buf *b = &r->bufs[r->nbufs++];
  memset(b, 0, sizeof *b);
  b->lprev = b->lnext = ETL_NONE;
  b->file_off = off;
  b->err_first = r->nerrs;
  return b;
}

void etl_buffer_suppressed(etl_reader *r) {
  uint64_t n = r->suppressed;
  uint32_t limit = r->opt.max_errors;
  etl_buf *b = new_buf(r, r->len);
  if (!b) return;
  b->pseudo = 1;
  r->opt.max_errors = UINT32_MAX;  /* this one must be kept */
  etl_add_error(r, r->len, 0, 0, "%llu more errors were found but not kept (limit %u)",
                (unsigned long long)n, limit);
  b->err_count = r->nerrs - b->err_first;
}

/* Errors found outside any buffer (file tail): a pseudo entry. */
static void tail_error(etl_reader *r, uint64_t off, const char *what, uint64_t bytes) {
  etl_buf *b = new_buf(r, off);
  if (!b) return;
  b->pseudo = 1;
  etl_add_error(r, off, 0, 0, "%s; %llu bytes ignored", what, (unsigned long long)bytes);
  b->err_count = r->nerrs - b->err_first;
}

/* CPU number from ProcessorIndex (spec §2: Windows 7 uses the low byte). */
static uint16_t buffer_cpu(const uint8_t *h) {
  uint16_t idx = tlg_le16(h + ETL_BUF_PROC_INDEX);
  if (tlg_le16(h + ETL_BUF_FLAG) & ETL_BUF_FLAG_PROC_INDEX) return idx & ETL_PROC_INDEX_MASK;
  return idx & 0xFF;
}

/* On-disk size of the buffer at `off`, or 0 when it cannot be trusted and
** there is no stride to resync with. Reports what is wrong. */
static uint32_t disk_size(etl_reader *r, uint64_t off, const uint8_t *h) {
  uint32_t bsize = tlg_le32(h + ETL_BUF_SIZE), max = r->opt.max_buffer_size;
  int compressed = (tlg_le16(h + ETL_BUF_FLAG) & ETL_BUF_FLAG_COMPRESSED) != 0;
  if (!compressed && r->stride) {
    if (bsize != r->stride)
      etl_add_error(r, off, 0, 0, "BufferSize %u differs from the session's %u; using %u",
                    bsize, r->stride, r->stride);
    return r->stride;
  }
  if (bsize < ETL_BUF_HDR_SIZE || bsize > max) return 0;
  return bsize;
}

/* End of the record area in buffer coordinates (Offset = FilledBytes). */
static uint32_t fill_level(etl_reader *r, etl_buf *b, const uint8_t *h, uint32_t full) {
  uint32_t fill = tlg_le32(h + ETL_BUF_OFFSET), session = r->info.buffer_size;
  int compressed = (b->flags & ETL_BUF_FLAG_COMPRESSED) != 0;
  uint32_t max = compressed ? r->opt.max_buffer_size : full;
  /* a decompressed buffer is at most a session buffer */
  if (compressed && session >= ETL_BUF_HDR_SIZE && session < max) max = session;
  if (fill < ETL_BUF_HDR_SIZE || fill > max) {
    etl_add_error(r, b->file_off + ETL_BUF_OFFSET, 0, 0,
                  "buffer filled size %u outside 0x48..%u", fill, max);
    /* a compressed buffer's true size is unknown: drop it; else clamp */
    return fill < ETL_BUF_HDR_SIZE || compressed ? ETL_BUF_HDR_SIZE : max;
  }
  return fill;
}

/* Scratch index with room for every record an area of `end` can hold. */
static etl_recidx *scratch(etl_reader *r, uint32_t end) {
  uint32_t need = (end - ETL_BUF_HDR_SIZE) / 8 + 1;
  if (need > r->scan_cap) {
    etl_recidx *n = realloc(r->scan_idx, need * sizeof *n);
    if (!n) return NULL;
    r->scan_idx = n;
    r->scan_cap = need;
  }
  return r->scan_idx;
}

/* Should the scan keep b loaded for the merge? Always, but for a buffer
** read from a file larger than the budget: most such buffers are read
** again anyway, and the few the budget could keep would cost fresh memory
** (a page fault per 4 KiB, zeroed) that costs more than reading them
** again into a spare area (etl_cache.c). Decompressed buffers are kept:
** decompressing again costs far more than the memory. */
static int worth_keeping(const etl_reader *r, const etl_buf *b) {
  return r->data || (b->flags & ETL_BUF_FLAG_COMPRESSED) || r->len <= r->opt.cache_bytes;
}

/* Count the records of a new buffer and find its first time. What the
** merge will need again (decompressed bytes, the record index) is kept
** while the cache budget allows; otherwise it is rebuilt on activation. */
static void scan_records(etl_reader *r, etl_buf *b) {
  const uint8_t *base;
  uint32_t end;
  if (etl_buffer_load(r, b, 1, &base, &end) != 0) { r->oom = 1; return; }
  etl_recidx *tmp = scratch(r, end);
  if (!tmp) { etl_cache_drop(r, b); r->oom = 1; return; }
  b->nrec = etl_buffer_walk(r, b, base, end, tmp, UINT32_MAX, 1, &b->key);
  size_t idx_bytes = (size_t)b->nrec * sizeof *tmp;
  size_t want = idx_bytes + (b->data ? b->data_len : 0);
  if (b->nrec == 0 || r->cache_used + want > r->opt.cache_bytes || !worth_keeping(r, b) ||
      !(b->idx = malloc(idx_bytes))) {
    etl_cache_drop(r, b);
    return;
  }
  memcpy(b->idx, tmp, idx_bytes);
  etl_cache_add(r, b);
}

uint64_t etl_buffer_scan(etl_reader *r, uint64_t off) {
  uint64_t avail = r->len - off;
  uint8_t hb[ETL_BUF_HDR_SIZE];
  if (avail < ETL_BUF_HDR_SIZE) {
    tail_error(r, off, "trailing bytes too few for a buffer header", avail);
    return r->len;
  }
  const uint8_t *h = etl_input(r, off, ETL_BUF_HDR_SIZE, hb);
  if (!h) {
    tail_error(r, off, "buffer header unreadable", avail);
    return r->len;
  }
  etl_buf *b = new_buf(r, off);
  if (!b) return r->len;
  b->hdr_ts = tlg_le_i64(h + ETL_BUF_TIMESTAMP);
  b->flags = tlg_le16(h + ETL_BUF_FLAG);
  b->cpu = buffer_cpu(h);
  uint32_t full = disk_size(r, off, h);
  if (full == 0) {
    etl_add_error(r, off, 0, 0, "BufferSize %u outside 0x48..%u; the rest of the file "
                  "(%llu bytes) is skipped", tlg_le32(h), r->opt.max_buffer_size,
                  (unsigned long long)avail);
    b->err_count = r->nerrs - b->err_first;
    b->pseudo = 1;
    return r->len;
  }
  uint64_t next = off + full;
  b->disk_size = full;
  if (full > avail) {
    etl_add_error(r, off, 0, 0, "file ends inside the buffer (%u bytes, %llu present)", full,
                  (unsigned long long)avail);
    b->disk_size = (uint32_t)avail;
    next = r->len;
  }
  b->fill = fill_level(r, b, h, full);
  etl_prefetch_fill(r, next);    /* the helper decompresses the next ones meanwhile */
  r->stats.buffers++;
  if (b->flags & ETL_BUF_FLAG_COMPRESSED) r->stats.compressed_buffers++;
  if (b->flags & (ETL_BUF_FLAG_EVENTS_LOST | ETL_BUF_FLAG_BUFFER_LOST))
    r->stats.buffers_events_lost++;
  scan_records(r, b);
  b->err_count = r->nerrs - b->err_first;
  return next;
}

/* The compressed bytes of `b`: in the memory input, or read into r->io.
** NULL (reported when `report`) if unreadable; *oom when out of memory. */
static const uint8_t *compressed_input(etl_reader *r, etl_buf *b, size_t n, int report,
                                       int *oom) {
  if (!r->data && n > r->io_cap) {
    uint8_t *io = realloc(r->io, n);
    if (!io) { *oom = 1; return NULL; }
    r->io = io;
    r->io_cap = n;
  }
  const uint8_t *in = etl_input(r, b->file_off + ETL_BUF_HDR_SIZE, n, r->io);
  if (!in && report)
    etl_add_error(r, b->file_off, 0, 0, "cannot read the compressed buffer: %s; buffer skipped",
                  strerror(r->read_errno));
  return in;
}

/* What a decompression of b's payload found wrong. Returns 0. */
static int decompress_report(etl_reader *r, etl_buf *b, etl_lzx_status st, size_t got,
                             size_t bad, uint32_t cap) {
  if (st != ETL_LZX_OK)
    etl_add_error(r, b->file_off + ETL_BUF_HDR_SIZE + bad, 0, 0,
                  "LZ77 data of the compressed buffer at 0x%llx: %s (%llu of %u bytes decoded)",
                  (unsigned long long)b->file_off, etl_lzx_strerror(st),
                  (unsigned long long)got, cap);
  else if (got != cap)
    etl_add_error(r, b->file_off, 0, 0,
                  "compressed buffer decodes to %llu bytes, its header says %u",
                  (unsigned long long)got, cap);
  return 0;
}

/* Decompress b's payload into a new allocation (spec §11). Every
** decompression, also of a buffer loaded again, counts in the budget. */
static int decompress(etl_reader *r, etl_buf *b, int report) {
  uint32_t cap = b->fill - ETL_BUF_HDR_SIZE;
  if (r->decompressed + cap > r->opt.max_decompressed) {
    if (report)
      etl_add_error(r, b->file_off, 0, 0, "decompression budget of %llu bytes exhausted; "
                    "buffer skipped", (unsigned long long)r->opt.max_decompressed);
    b->fill = ETL_BUF_HDR_SIZE;
    cap = 0;
  }
  r->decompressed += cap;
  size_t got = 0, bad = 0, in_len = b->disk_size - ETL_BUF_HDR_SIZE;
  int oom = 0;
  int pst;
  if (cap && etl_prefetch_take(r, b->file_off, (uint32_t)in_len, cap, &b->data, &got, &bad,
                               &pst)) {
    b->data_len = (uint32_t)got;
    b->data_cap = cap;
    return report ? decompress_report(r, b, (etl_lzx_status)pst, got, bad, cap) : 0;
  }
  const uint8_t *in = cap ? compressed_input(r, b, in_len, report, &oom) : NULL;
  if (oom) return -1;
  if (!in) cap = 0;
  b->data = etl_spare_take(r, cap, &b->data_cap);
  if (!b->data) return -1;
  etl_lzx_status st = etl_lzx_decompress(in, in ? in_len : 0, b->data, cap, &got, &bad);
  b->data_len = (uint32_t)got;
  return report ? decompress_report(r, b, st, got, bad, cap) : 0;
}

/* The record area of an uncompressed buffer of the file input, read into
** b->data (an unreadable area is empty, reported when `report`). */
static int read_area(etl_reader *r, etl_buf *b, uint32_t *end, int report) {
  uint32_t n = *end - ETL_BUF_HDR_SIZE;
  b->data = etl_spare_take(r, n, &b->data_cap);
  if (!b->data) return -1;
  if (n && !etl_input(r, b->file_off + ETL_BUF_HDR_SIZE, n, b->data)) {
    if (report)
      etl_add_error(r, b->file_off, 0, 0, "cannot read the buffer: %s; buffer skipped",
                    strerror(r->read_errno));
    n = 0;
    *end = ETL_BUF_HDR_SIZE;
  }
  b->data_len = n;
  return 0;
}

int etl_buffer_load(etl_reader *r, etl_buf *b, int report, const uint8_t **base,
                    uint32_t *end) {
  if (!(b->flags & ETL_BUF_FLAG_COMPRESSED)) {
    *end = b->fill < b->disk_size ? b->fill : b->disk_size;
    if (*end < ETL_BUF_HDR_SIZE) *end = ETL_BUF_HDR_SIZE;
    if (r->data) {
      *base = r->data + b->file_off + ETL_BUF_HDR_SIZE;
      return 0;
    }
    if (!b->data && read_area(r, b, end, report)) return -1;
    *base = b->data;
    *end = ETL_BUF_HDR_SIZE + b->data_len;
    return 0;
  }
  if (!b->data && decompress(r, b, report)) {
    if (report) etl_add_error(r, b->file_off, 0, 0, "out of memory decompressing the buffer");
    return -1;
  }
  *base = b->data;
  *end = ETL_BUF_HDR_SIZE + b->data_len;
  return 0;
}

/* Report a framing error at buffer offset `at`. */
static void walk_error(etl_reader *r, etl_buf *b, uint32_t at, const char *why) {
  if (b->flags & ETL_BUF_FLAG_COMPRESSED)
    etl_add_error(r, b->file_off, at, 1, "%s; rest of the buffer skipped", why);
  else
    etl_add_error(r, b->file_off + at, 0, 0, "%s; rest of the buffer skipped", why);
}

/* What etl_record_frame says of a record that etl_frame_fast did not
** take, returned by value: the walk's own size and time are never
** addressed, so they stay in registers on its common path. */
typedef struct framed {
  int st;
  uint32_t size;
  int64_t ts;
} framed;

static framed frame_other(const uint8_t *p, uint32_t avail, int64_t prev, char *why,
                          size_t why_len) {
  framed f = {0, 0, 0};
  f.st = etl_record_frame(p, avail, prev, &f.size, &f.ts, why, why_len);
  return f;
}

uint32_t etl_buffer_walk(etl_reader *r, etl_buf *b, const uint8_t *base, uint32_t end,
                         etl_recidx *idx, uint32_t cap, int report, int64_t *min_ts) {
  uint32_t off = ETL_BUF_HDR_SIZE, n = 0;
  int64_t prev = b->hdr_ts, lo = INT64_MAX;
  char why[128];
  if (prev == 0) prev = r->info.header_timestamp;
  while (off < end) {
    const uint8_t *p = base + (off - ETL_BUF_HDR_SIZE);
    framed f;
    if (etl_frame_fast(p, end - off, &f.size, &f.ts)) f.st = ETL_FRAME_OK;
    else f = frame_other(p, end - off, prev, why, sizeof why);
    if (f.st == ETL_FRAME_END) break;
    if (f.st == ETL_FRAME_BAD) {
      if (report) walk_error(r, b, off, why);
      break;
    }
    if (f.st == ETL_FRAME_OK) {
      if (idx && n == cap) break;
      if (idx) { idx[n].ts = f.ts; idx[n].off = off; idx[n].size = f.size; }
      n++;
      if (f.ts < lo) lo = f.ts;
      prev = f.ts;
    } else if (report) {
      r->stats.skipped++;
    }
    off = align8(off + f.size);
  }
  *min_ts = lo;
  return n;
}

/* Merge sorted runs a[lo, mid) and a[mid, hi) through tmp (stable). */
static void merge(etl_recidx *a, etl_recidx *tmp, uint32_t lo, uint32_t mid, uint32_t hi) {
  uint32_t i = lo, j = mid, k = lo;
  while (i < mid && j < hi) tmp[k++] = a[j].ts < a[i].ts ? a[j++] : a[i++];
  while (i < mid) tmp[k++] = a[i++];
  while (j < hi) tmp[k++] = a[j++];
  memcpy(a + lo, tmp + lo, (hi - lo) * sizeof *a);
}

int etl_sort_records(etl_recidx *idx, uint32_t n) {
  uint32_t i = 1;
  while (i < n && idx[i - 1].ts <= idx[i].ts) i++;
  if (i >= n) return 0;
  etl_recidx *tmp = malloc(n * sizeof *tmp);
  if (!tmp) return -1;
  for (uint32_t w = 1; w < n; w *= 2)
    for (uint32_t lo = 0; lo + w < n; lo += 2 * w)
      merge(idx, tmp, lo, lo + w, lo + 2 * w < n ? lo + 2 * w : n);
  free(tmp);
  return 0;
}

void etl_buffer_release(etl_reader *r, etl_buf *b) {
  etl_cache_drop(r, b);
  b->state = ETL_BUF_DONE;
}
