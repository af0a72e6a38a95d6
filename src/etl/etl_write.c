/*
** etl_write.c: the ETL writer (etl_write.h; file layout: spec §12 and the
** layouts it references, §2, §3.2, §4, §6). Bytes go to an etl_sink; the
** stdio file sink is in etl_write_file.c.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etl_int.h"
#include "etl_write.h"
#include "etl_write_int.h"
#include "tlg_guid.h"

#define W_DEFAULT_BUFFER 65536u
#define W_MIN_BUFFER 4096u
#define W_MAX_BUFFER (16u << 20)
#define W_DEFAULT_CIRCULAR ((uint64_t)64 << 20)
#define W_MAX_CPUS 2048u              /* ProcessorIndex is 11 bits (spec §2) */
#define W_MAX_RECORD 65535u
#define W_NAME_CAP 4096u


/* One buffer being filled (per CPU) or kept (circular ring). Bytes from
** `used` on are undefined until the buffer is written (fill_tail). */
typedef struct wbuf {
  uint8_t *p;
  uint32_t used;                 /* bytes in use, incl. the 0x48 header */
  uint32_t written_used;         /* `used` at its last write (0 = never written) */
  uint32_t nrec;
  uint32_t written_nrec;         /* `nrec` at its last write */
  uint16_t cpu;
  uint8_t skip;                  /* circular: left out of the copy being written */
  uint16_t extra_flags;          /* EVENTS_LOST */
  int sorted;                    /* records are in timestamp order */
  int64_t last_ts, max_ts;
  int64_t slot;                  /* sequential: file offset of its place, -1 = none yet */
  uint64_t seq;                  /* its SequenceNumber once placed */
} wbuf;

typedef struct ridx {
  int64_t ts;
  uint32_t off, len;             /* len: aligned length */
} ridx;

struct etl_writer {
  etl_sink sink;
  etl_write_opts o;
  uint32_t bufsize;
  int io_error;                  /* sticky: first failed sink call */
  int open;                      /* a sink file is open */
  uint8_t *hdr;                  /* the header buffer */
  uint32_t hdr_used;
  wbuf **cpus;                   /* per-CPU buffers, NULL until used */
  uint32_t ncpus;
  uint32_t num_processors;
  /* circular: ring of full buffers, oldest at ring_head */
  wbuf *ring;
  uint32_t ring_cap, ring_head, ring_count;
  uint32_t circ_max;             /* buffers a copy may have, header included */
  int circ_dirty;
  uint64_t disk_events;          /* circular: records in the last good copy */
  /* the current file */
  uint64_t file_bytes;
  uint32_t file_buffers;
  uint32_t file_index;
  uint64_t tail_off;             /* last buffer of the file and the flags it has on disk */
  uint16_t tail_flags;
  uint32_t hdr_buffers;          /* BuffersWritten and EventsLost the header has on disk */
  uint64_t hdr_lost;
  int salvaged;                  /* the counters were fixed up after an I/O error */
  /* totals of finished (rotated) files */
  uint64_t prev_bytes;
  uint32_t prev_buffers;
  uint32_t files;
  uint64_t next_seq;
  int pending_lost;
  uint64_t events, events_kept, dropped, lost;
  uint8_t *scratch;              /* sorting: a buffer's records in order */
  ridx *idx, *idx_tmp;
  uint32_t idx_cap;
  void *owned_ctx;               /* freed at close (file sink) */
  void (*owned_free)(void *);
  char name[W_NAME_CAP];         /* current file name from the sink */
};

static uint32_t align8(uint32_t v) { return (v + 7u) & ~7u; }

/* tlg_desc is the little-endian EVENT_DESCRIPTOR layout: copied as is there */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define desc_pack(d, out) memcpy((out), (d), 16)
#else
#define desc_pack(d, out) tlg_desc_pack((d), (out))
#endif
_Static_assert(sizeof(tlg_desc) == 16, "tlg_desc is the 16-byte EVENT_DESCRIPTOR");

static uint32_t sat32(uint64_t v) { return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v; }

/* ================================================================ sink */

static int sink_fail(etl_writer *w, int err) {
  if (!w->io_error) w->io_error = err ? err : 5 /* EIO */;
  return ETL_ERR_IO;
}

static int sink_write(etl_writer *w, uint64_t off, const void *p, size_t n) {
  if (w->io_error) return ETL_ERR_IO;
  int e = w->sink.write_at(w->sink.ctx, off, p, n);
  return e ? sink_fail(w, e) : ETL_OK;
}

/* A write inside what the file already holds (header, a buffer's flags):
** tried even after an I/O error, so the header can still say what the file
** holds when the disk is full (overwriting allocated bytes needs no room). */
static int sink_patch(etl_writer *w, uint64_t off, const void *p, size_t n) {
  if (!w->open) return ETL_ERR_IO;
  int e = w->sink.write_at(w->sink.ctx, off, p, n);
  if (e) return sink_fail(w, e);
  return w->io_error ? ETL_ERR_IO : ETL_OK;
}

/* Cut the current file back to `size` after a failed write. */
static void sink_truncate(etl_writer *w, uint64_t size) {
  if (w->open && w->sink.truncate) w->sink.truncate(w->sink.ctx, size);
}

static int sink_open(etl_writer *w, uint32_t index) {
  if (w->io_error) return ETL_ERR_IO;
  w->name[0] = '\0';
  int e = w->sink.open(w->sink.ctx, index, w->name, sizeof w->name);
  w->name[sizeof w->name - 1] = '\0';
  if (e) return sink_fail(w, e);
  w->open = 1;
  return ETL_OK;
}

static int sink_close(etl_writer *w) {
  if (!w->open) return w->io_error ? ETL_ERR_IO : ETL_OK;
  w->open = 0;
  int e = w->sink.close ? w->sink.close(w->sink.ctx) : 0;
  return e ? sink_fail(w, e) : (w->io_error ? ETL_ERR_IO : ETL_OK);
}

static int sink_sync(etl_writer *w) {
  if (w->io_error) return ETL_ERR_IO;
  int e = w->sink.sync ? w->sink.sync(w->sink.ctx) : 0;
  return e ? sink_fail(w, e) : ETL_OK;
}

/* ====================================================== header buffer */

/* ============================================================ header */

/* The layout is etl_write_hdr.c's; these pass the writer's state. */
static void put_bufhdr(const etl_writer *w, uint8_t *p, uint32_t used, int64_t ts, uint64_t seq,
                       uint16_t cpu, uint16_t flags, uint16_t type) {
  etlw_put_bufhdr(p, w->bufsize, w->o.logger_id, used, ts, seq, cpu, flags, type);
}

static void build_header(etl_writer *w, const char *name) {
  w->hdr_used = etlw_build_header(w->hdr, w->bufsize, &w->o, w->num_processors, name);
}

static void patch_header(etl_writer *w, int64_t end_time, uint32_t buffers) {
  etlw_patch_header(w->hdr, w->num_processors, end_time, buffers, sat32(w->lost + w->dropped));
}

static int write_header(etl_writer *w, int64_t end_time) {
  patch_header(w, end_time, w->file_buffers);
  int st = sink_patch(w, 0, w->hdr, w->hdr_used);
  if (st == ETL_OK) {
    w->hdr_buffers = w->file_buffers;
    w->hdr_lost = w->lost + w->dropped;
  }
  return st;
}

/* ============================================================ buffers */

/* 0xFF from the records' end to the end of the buffer (spec §2), just
** before the buffer is written. */
static void fill_tail(const etl_writer *w, wbuf *b) {
  memset(b->p + b->used, 0xFF, w->bufsize - b->used);
}

static void buf_reset(etl_writer *w, wbuf *b) {
  (void)w;
  b->used = ETL_BUF_HDR_SIZE;
  b->written_used = 0;
  b->nrec = 0;
  b->written_nrec = 0;
  b->skip = 0;
  b->extra_flags = 0;
  b->sorted = 1;
  b->last_ts = b->max_ts = INT64_MIN;
  b->slot = -1;
  b->seq = 0;
}

static int buf_init(etl_writer *w, wbuf *b, uint16_t cpu) {
  b->p = malloc(w->bufsize);
  if (!b->p) return ETL_ERR_NOMEM;
  buf_reset(w, b);
  b->cpu = cpu;
  return ETL_OK;
}

/* Stable bottom-up merge sort of idx[0..n) by ts. */
static void sort_idx(ridx *a, ridx *tmp, uint32_t n) {
  for (uint32_t width = 1; width < n; width *= 2) {
    for (uint32_t lo = 0; lo < n; lo += 2 * width) {
      uint32_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
      uint32_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = a[j].ts < a[i].ts ? a[j++] : a[i++];
      while (i < mid) tmp[k++] = a[i++];
      while (j < hi) tmp[k++] = a[j++];
    }
    memcpy(a, tmp, n * sizeof *a);
  }
}

/* Put a buffer's records in timestamp order (stable): producers' batches
** interleave, and Windows keeps every buffer in time order (spec §12). */
static void buf_sort(etl_writer *w, wbuf *b) {
  if (b->sorted) return;
  uint32_t n = 0;
  for (uint32_t off = ETL_BUF_HDR_SIZE; off < b->used; n++) {
    uint32_t len = align8(tlg_le16(b->p + off));
    w->idx[n].ts = tlg_le_i64(b->p + off + 0x10);
    w->idx[n].off = off;
    w->idx[n].len = len;
    off += len;
  }
  sort_idx(w->idx, w->idx_tmp, n);
  uint32_t at = ETL_BUF_HDR_SIZE;
  for (uint32_t i = 0; i < n; i++) {
    memcpy(w->scratch + at, b->p + w->idx[i].off, w->idx[i].len);
    at += w->idx[i].len;
  }
  memcpy(b->p + ETL_BUF_HDR_SIZE, w->scratch + ETL_BUF_HDR_SIZE, at - ETL_BUF_HDR_SIZE);
  b->sorted = 1;
}

static uint16_t buf_flags(const wbuf *b, int partial) {
  return (uint16_t)(ETL_BUF_FLAG_PROC_INDEX | b->extra_flags |
                    (partial ? ETL_BUF_FLAG_FLUSH_MARKER : 0));
}

/* Remember what the file's last buffer carries (it must end with 0x01). */
static void note_tail(etl_writer *w, uint64_t off, uint16_t flags) {
  if (off + w->bufsize == w->file_bytes) { w->tail_off = off; w->tail_flags = flags; }
}

static int rotate(etl_writer *w, const wbuf *keep);

/* Sequential mode: write b at its place in the file (taking the next place
** first, rotating when the file is full). A full buffer (partial = 0) is
** emptied afterwards; a partial one stays and is rewritten as it grows. */
static int seq_write(etl_writer *w, wbuf *b, int partial) {
  int st, placed_now = 0;
  buf_sort(w, b);
  if (b->slot < 0) {
    if (w->o.max_file_bytes && w->file_buffers >= 2 &&
        w->file_bytes + w->bufsize > w->o.max_file_bytes && (st = rotate(w, b)) != ETL_OK)
      return st;
    b->slot = (int64_t)w->file_bytes;
    b->seq = w->next_seq++;
    w->file_bytes += w->bufsize;
    w->file_buffers++;
    placed_now = 1;
  }
  uint16_t flags = buf_flags(b, partial);
  put_bufhdr(w, b->p, b->used, b->max_ts == INT64_MIN ? 0 : b->max_ts, b->seq, b->cpu, flags, 0);
  if (b->written_used == 0) {
    fill_tail(w, b);              /* rewrites leave the tail on disk as it is: 0xFF */
    st = sink_write(w, (uint64_t)b->slot, b->p, w->bufsize);
  } else {
    /* records first, then the header that makes them count: a process
    ** killed in between leaves the buffer as it was at its last write */
    st = sink_write(w, (uint64_t)b->slot + ETL_BUF_HDR_SIZE, b->p + ETL_BUF_HDR_SIZE,
                    b->used - ETL_BUF_HDR_SIZE);
    if (st == ETL_OK) st = sink_write(w, (uint64_t)b->slot, b->p, ETL_BUF_HDR_SIZE);
  }
  if (st != ETL_OK) {
    if (placed_now) {             /* the new place never got its buffer: the file ends before it */
      w->file_bytes -= w->bufsize;
      w->file_buffers--;
      w->next_seq--;
      b->slot = -1;
    }
    return st;
  }
  note_tail(w, (uint64_t)b->slot, flags);
  if (partial) {
    b->written_used = b->used;
    b->written_nrec = b->nrec;
  } else {
    buf_reset(w, b);
  }
  return ETL_OK;
}

/* A loss no record followed yet: a partial buffer about to be written
** carries EVENTS_LOST (spec §8: the first buffer written after a drop). */
static void mark_lost(etl_writer *w) {
  for (uint32_t i = 0; w->pending_lost && i < w->ncpus; i++) {
    wbuf *b = w->cpus[i];
    if (b && b->used > ETL_BUF_HDR_SIZE) {
      b->extra_flags |= ETL_BUF_FLAG_EVENTS_LOST;
      w->pending_lost = 0;
    }
  }
}

/* Make sure the file's last buffer carries FLUSH_MARKER (spec §12), and
** EVENTS_LOST for a loss after its last record. */
static int fix_tail(etl_writer *w) {
  uint16_t want = (uint16_t)(w->tail_flags | ETL_BUF_FLAG_FLUSH_MARKER |
                             (w->pending_lost ? ETL_BUF_FLAG_EVENTS_LOST : 0));
  if (w->file_buffers < 2 || want == w->tail_flags) return ETL_OK;
  uint8_t f[2];
  w->tail_flags = want;
  w->pending_lost = 0;
  tlg_put16(f, w->tail_flags);
  return sink_patch(w, w->tail_off + ETL_BUF_FLAG, f, 2);
}

/* Write every partial buffer that changed since its last write (only those
** already placed in the file when `placed_only`: the file is full). */
static int seq_flush_partials(etl_writer *w, const wbuf *except, int placed_only) {
  for (uint32_t i = 0; i < w->ncpus; i++) {
    wbuf *b = w->cpus[i];
    if (!b || b == except || b->used == ETL_BUF_HDR_SIZE || b->used == b->written_used ||
        (placed_only && b->slot < 0))
      continue;
    int st = seq_write(w, b, 1);
    if (st != ETL_OK) return st;
  }
  return ETL_OK;
}

/* Begin file `index`: open it and write its header buffer. */
static int begin_file(etl_writer *w, uint32_t index) {
  int st = sink_open(w, index);
  if (st != ETL_OK) return st;
  w->file_index = index;
  w->files++;
  build_header(w, w->name);
  w->file_bytes = w->bufsize;
  w->file_buffers = 1;
  w->tail_off = 0;
  w->tail_flags = ETL_BUF_FLAG_FLUSH_MARKER;
  patch_header(w, 0, 1);
  st = sink_write(w, 0, w->hdr, w->bufsize);
  if (st != ETL_OK) {             /* not even a header: leave no file behind */
    w->file_bytes = 0;
    w->file_buffers = 0;
    w->files--;
    sink_truncate(w, 0);
    sink_close(w);
    return st;
  }
  w->hdr_buffers = 1;
  w->hdr_lost = w->lost + w->dropped;
  return ETL_OK;
}

/* Records of b that are not in the file. */
static uint32_t unwritten(const wbuf *b) {
  return b->nrec - (b->slot >= 0 && b->written_used ? b->written_nrec : 0);
}

/* Empty b; records of it the file does not hold count as dropped. */
static void forget(etl_writer *w, wbuf *b) {
  uint32_t n = unwritten(b);
  w->events -= n;
  w->events_kept -= n;
  w->dropped += n;
  buf_reset(w, b);
}

/* After the first I/O error: make the counters say what the file holds
** and the file say it too (etl_write.h "I/O errors"). Once. */
static void salvage(etl_writer *w) {
  if (!w->io_error || w->salvaged) return;
  w->salvaged = 1;
  if (w->o.circular) {            /* the last good copy stays: count what is in it */
    w->dropped += w->events - w->disk_events;
    w->events = w->events_kept = w->disk_events;
    return;
  }
  for (uint32_t i = 0; i < w->ncpus; i++)
    if (w->cpus[i]) forget(w, w->cpus[i]);
  if (!w->open) return;
  sink_truncate(w, w->file_bytes);              /* a torn buffer at the end */
  fix_tail(w);
  write_header(w, etl_filetime_now());
}

/* Finish the current sequential file: partial buffers, tail flag, header.
** For a rotation (`keep` != NULL) only buffers already placed in it. The
** tail flag and the header are patched even after an I/O error. */
static int end_file(etl_writer *w, const wbuf *keep, int64_t end_time) {
  if (!keep) mark_lost(w);
  int st = seq_flush_partials(w, keep, keep != NULL);
  salvage(w);
  int ts = fix_tail(w);
  int hs = write_header(w, end_time);
  int cs = sink_close(w);
  w->prev_bytes += w->file_bytes;
  w->prev_buffers += w->file_buffers;
  w->file_bytes = 0;
  w->file_buffers = 0;
  return st != ETL_OK ? st : ts != ETL_OK ? ts : hs != ETL_OK ? hs : cs;
}

/* Rotation: partial buffers placed in the old file end there; the others
** (and `keep`, about to be placed) move on to the next file. */
static int rotate(etl_writer *w, const wbuf *keep) {
  int st = end_file(w, keep, etl_filetime_now());
  for (uint32_t i = 0; i < w->ncpus; i++) {
    wbuf *b = w->cpus[i];
    if (b && b != keep && b->slot >= 0) forget(w, b);
  }
  if (st != ETL_OK) return st;
  return begin_file(w, w->file_index + 1);
}

/* ============================================================ circular */

/* A full buffer joins the ring; the oldest one makes room when it is full. */
static int circ_push(etl_writer *w, wbuf *b) {
  buf_sort(w, b);
  wbuf *r;
  if (w->ring_count == w->ring_cap) {
    r = &w->ring[w->ring_head];
    w->ring_head = (w->ring_head + 1) % w->ring_cap;
    w->events_kept -= r->nrec;
  } else {
    r = &w->ring[(w->ring_head + w->ring_count) % w->ring_cap];
    if (!r->p && buf_init(w, r, 0) != ETL_OK) return ETL_ERR_NOMEM;
    w->ring_count++;
  }
  wbuf t = *r;                  /* swap: the ring keeps b's bytes, b takes r's memory */
  *r = *b;
  b->p = t.p;
  b->used = t.used;
  buf_reset(w, b);
  return ETL_OK;
}

/* The partial buffer with the oldest newest-record, not yet left out. */
static wbuf *oldest_partial(etl_writer *w) {
  wbuf *o = NULL;
  for (uint32_t i = 0; i < w->ncpus; i++) {
    wbuf *b = w->cpus[i];
    if (b && b->used > ETL_BUF_HDR_SIZE && !b->skip && (!o || b->max_ts < o->max_ts)) o = b;
  }
  return o;
}

/* Choose what a copy holds so that it has at most circ_max buffers: leave
** out the oldest (ring buffers oldest first, partial buffers by their
** newest record). Returns the ring buffers left out; marks partials `skip`. */
static uint32_t circ_choose(etl_writer *w, uint32_t *nparts) {
  uint32_t ring_skip = 0;
  *nparts = 0;
  for (uint32_t i = 0; i < w->ncpus; i++) {
    if (!w->cpus[i]) continue;
    w->cpus[i]->skip = 0;
    if (w->cpus[i]->used > ETL_BUF_HDR_SIZE) (*nparts)++;
  }
  while (1 + w->ring_count - ring_skip + *nparts > w->circ_max) {
    wbuf *p = oldest_partial(w);
    const wbuf *r = ring_skip < w->ring_count ? &w->ring[(w->ring_head + ring_skip) % w->ring_cap] : NULL;
    if (r && (!p || r->max_ts <= p->max_ts)) {
      ring_skip++;
    } else {
      p->skip = 1;
      (*nparts)--;
    }
  }
  return ring_skip;
}

/* Write the whole circular file anew: header, ring oldest first, partials. */
static int circ_write(etl_writer *w, int64_t end_time) {
  uint32_t nparts, k = 0;
  uint64_t events = 0;
  mark_lost(w);
  if (w->pending_lost && w->ring_count) {        /* no partial buffer: the newest full one */
    w->ring[(w->ring_head + w->ring_count - 1) % w->ring_cap].extra_flags |= ETL_BUF_FLAG_EVENTS_LOST;
    w->pending_lost = 0;
  }
  uint32_t first = circ_choose(w, &nparts);
  uint32_t nring = w->ring_count - first, total = 1 + nring + nparts;
  int st = sink_open(w, 0);
  if (st != ETL_OK) return st;
  w->file_index = 0;
  if (w->files == 0) w->files = 1;
  build_header(w, w->name);
  patch_header(w, end_time, total);
  st = sink_write(w, 0, w->hdr, w->bufsize);
  for (uint32_t i = 0; i < nring + nparts && st == ETL_OK; i++) {
    wbuf *b;
    if (i < nring) {
      b = &w->ring[(w->ring_head + first + i) % w->ring_cap];
    } else {
      while (!w->cpus[k] || w->cpus[k]->used == ETL_BUF_HDR_SIZE || w->cpus[k]->skip) k++;
      b = w->cpus[k++];
      buf_sort(w, b);
    }
    int last = i + 1 == nring + nparts;
    uint16_t flags = buf_flags(b, i >= nring || last);
    put_bufhdr(w, b->p, b->used, b->max_ts == INT64_MIN ? 0 : b->max_ts, i + 1, b->cpu, flags, 0);
    fill_tail(w, b);
    st = sink_write(w, (uint64_t)(i + 1) * w->bufsize, b->p, w->bufsize);
    events += b->nrec;
  }
  int cs = sink_close(w);
  if (st == ETL_OK && cs == ETL_OK) {       /* else the last good copy stays: its counts too */
    w->circ_dirty = 0;
    w->disk_events = events;
    w->file_buffers = total;
    w->file_bytes = (uint64_t)total * w->bufsize;
  }
  return st != ETL_OK ? st : cs;
}

/* ============================================================== public */

static int check_opts(etl_write_opts *o) {
  if (o->buffer_size == 0) o->buffer_size = W_DEFAULT_BUFFER;
  if (o->buffer_size < W_MIN_BUFFER || o->buffer_size > W_MAX_BUFFER || (o->buffer_size & 7))
    return ETL_ERR_ARG;
  if (o->max_file_bytes && o->max_file_bytes < 2 * (uint64_t)o->buffer_size)
    o->max_file_bytes = 2 * (uint64_t)o->buffer_size;
  if (o->circular_bytes == 0) o->circular_bytes = W_DEFAULT_CIRCULAR;
  if (o->circular && o->circular_bytes < 2 * (uint64_t)o->buffer_size) return ETL_ERR_ARG;
  if (o->start_time == 0) o->start_time = etl_filetime_now();
  if (o->boot_time == 0 || o->boot_time > o->start_time) o->boot_time = o->start_time;
  if (o->num_processors == 0) o->num_processors = 1;
  if (o->num_processors > W_MAX_CPUS) o->num_processors = W_MAX_CPUS;
  if (o->cpu_mhz == 0) o->cpu_mhz = 1000;
  if (o->os_build == 0) o->os_build = 19041;
  if (o->logger_id == 0) o->logger_id = 0x10;
  if (!o->logger_name) o->logger_name = "";
  if (!o->logfile_name) o->logfile_name = "";
  return ETL_OK;
}

static void writer_free(etl_writer *w) {
  for (uint32_t i = 0; i < w->ncpus; i++) {
    if (w->cpus[i]) free(w->cpus[i]->p);
    free(w->cpus[i]);
  }
  free(w->cpus);
  if (w->ring)
    for (uint32_t i = 0; i < w->ring_cap; i++) free(w->ring[i].p);
  free(w->ring);
  free(w->hdr);
  free(w->scratch);
  free(w->idx);
  free(w->idx_tmp);
  if (w->owned_free) w->owned_free(w->owned_ctx);
  free(w);
}

int etl_writer_open(const etl_sink *sink, const etl_write_opts *opt, etl_writer **out) {
  if (!out) return ETL_ERR_ARG;
  *out = NULL;
  if (!sink || !sink->open || !sink->write_at) return ETL_ERR_ARG;
  etl_writer *w = calloc(1, sizeof *w);
  if (!w) return ETL_ERR_NOMEM;
  w->sink = *sink;
  if (opt) w->o = *opt;
  if (check_opts(&w->o) != ETL_OK) { free(w); return ETL_ERR_ARG; }
  w->bufsize = w->o.buffer_size;
  w->num_processors = w->o.num_processors;
  w->next_seq = 1;
  w->idx_cap = (w->bufsize - ETL_BUF_HDR_SIZE) / ETL_EVENT_HDR_SIZE + 1;
  w->hdr = malloc(w->bufsize);
  w->scratch = malloc(w->bufsize);
  w->idx = malloc(w->idx_cap * sizeof *w->idx);
  w->idx_tmp = malloc(w->idx_cap * sizeof *w->idx_tmp);
  if (w->o.circular) {           /* the header buffer and ring_cap full ones fill a copy */
    uint64_t n = w->o.circular_bytes / w->bufsize;
    w->circ_max = n > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)n;
    w->ring_cap = w->circ_max - 1;
    w->ring = calloc(w->ring_cap, sizeof *w->ring);
  }
  if (!w->hdr || !w->scratch || !w->idx || !w->idx_tmp || (w->o.circular && !w->ring)) {
    writer_free(w);
    return ETL_ERR_NOMEM;
  }
  int st = w->o.circular ? circ_write(w, 0) : begin_file(w, 0);
  if (st == ETL_OK && !w->o.circular) st = sink_sync(w);
  if (st != ETL_OK) {
    int err = w->io_error;
    sink_close(w);
    writer_free(w);
    if (err) errno = err;
    return st;
  }
  *out = w;
  return ETL_OK;
}

void etl_writer_own_ctx(etl_writer *w, void *ctx, void (*release)(void *)) {
  w->owned_ctx = ctx;
  w->owned_free = release;
}

/* The buffer of `cpu`, created on first use. */
static wbuf *cpu_buf(etl_writer *w, uint32_t cpu) {
  if (cpu >= w->ncpus) {
    uint32_t n = w->ncpus ? w->ncpus : 8;
    while (n <= cpu) n *= 2;
    if (n > W_MAX_CPUS) n = W_MAX_CPUS;
    wbuf **c = realloc(w->cpus, n * sizeof *c);
    if (!c) return NULL;
    memset(c + w->ncpus, 0, (n - w->ncpus) * sizeof *c);
    w->cpus = c;
    w->ncpus = n;
  }
  if (!w->cpus[cpu]) {
    wbuf *b = calloc(1, sizeof *b);
    if (!b || buf_init(w, b, (uint16_t)cpu) != ETL_OK) { free(b); return NULL; }
    w->cpus[cpu] = b;
  }
  if (cpu + 1 > w->num_processors) w->num_processors = cpu + 1;
  return w->cpus[cpu];
}

/* Bytes of the extended items the record will carry. */
static uint32_t ext_bytes(const rec_record *rec, int *ok) {
  uint32_t n = 0;
  *ok = 1;
  if (rec->ext_count) {
    if (!rec->ext) { *ok = 0; return 0; }
    for (uint32_t i = 0; i < rec->ext_count; i++) n += ETL_EXT_HDR_SIZE + align8(rec->ext[i].size);
    return n;
  }
  if (rec->flags & REC_RELATED) n += ETL_EXT_HDR_SIZE + 16;
  if (rec->traits && rec->traits_len) n += ETL_EXT_HDR_SIZE + align8(rec->traits_len);
  if (rec->meta && rec->meta_len) n += ETL_EXT_HDR_SIZE + align8(rec->meta_len);
  return n;
}

/* One extended item (spec §4) at p; returns its size. */
static uint32_t put_ext(uint8_t *p, uint16_t type, const void *data, uint32_t len, int more) {
  uint32_t item = ETL_EXT_HDR_SIZE + align8(len);
  if (len) {
    tlg_put64(p + item - 8, 0);       /* the padding: zeros (the data then covers its part) */
    memcpy(p + ETL_EXT_HDR_SIZE, data, len);
  }
  tlg_put16(p, (uint16_t)item);
  tlg_put16(p + 2, type);
  tlg_put16(p + 4, more ? 1 : 0);
  tlg_put16(p + 6, (uint16_t)len);
  return item;
}

/* EVENT_HEADER record (spec §3.2, §12) of `size` bytes at p. */
static void put_event(uint8_t *p, const rec_record *rec, uint32_t size, uint32_t ext) {
  tlg_put64(p + align8(size) - 8, 0);             /* padding: zero (spec §2, §12) */
  uint16_t flags = rec->header_kind == REC_HDR_EVENT ? rec->header_flags : 0;
  flags = (uint16_t)((flags & ~ETL_EVF_EXTENDED_INFO) | (ext ? ETL_EVF_EXTENDED_INFO : 0));
  tlg_put16(p, (uint16_t)size);
  p[2] = rec->pointer_size == 4 ? ETL_HT_EVENT32 : ETL_HT_EVENT64;
  p[3] = 0xC0;
  tlg_put16(p + 4, flags);
  tlg_put16(p + 6, rec->header_kind == REC_HDR_EVENT ? rec->event_property : 0);
  tlg_put32(p + 0x08, rec->tid);
  tlg_put32(p + 0x0C, rec->pid);
  tlg_put64(p + 0x10, (uint64_t)rec->timestamp);
  memcpy(p + 0x18, rec->provider_id.b, 16);
  desc_pack(&rec->desc, p + 0x28);
  tlg_put32(p + 0x38, rec->kernel_time);
  tlg_put32(p + 0x3C, rec->user_time);
  if (rec->flags & REC_ACTIVITY) memcpy(p + 0x40, rec->activity_id.b, 16);
  else memset(p + 0x40, 0, 16);
  uint8_t *q = p + ETL_EVENT_HDR_SIZE;
  if (rec->ext_count) {
    for (uint32_t i = 0; i < rec->ext_count; i++)
      q += put_ext(q, rec->ext[i].type, rec->ext[i].data, rec->ext[i].size, i + 1 < rec->ext_count);
  } else if (ext) {
    int rel = (rec->flags & REC_RELATED) != 0;
    int tr = rec->traits && rec->traits_len, me = rec->meta && rec->meta_len;
    if (rel) q += put_ext(q, REC_EXT_RELATED_ACTIVITYID, rec->related_activity_id.b, 16, tr || me);
    if (tr) q += put_ext(q, REC_EXT_PROV_TRAITS, rec->traits, rec->traits_len, me);
    if (me) q += put_ext(q, REC_EXT_EVENT_SCHEMA_TL, rec->meta, rec->meta_len, 0);
  }
  if (rec->data_len) memcpy(q, rec->data, rec->data_len);
}

/* Buffer b has no room: write it out (sequential) or keep it (circular). */
static int buf_full(etl_writer *w, wbuf *b) {
  return w->o.circular ? circ_push(w, b) : seq_write(w, b, 0);
}

int etl_writer_append(etl_writer *w, const rec_record *rec) {
  if (!w || !rec) return ETL_ERR_ARG;
  if (w->io_error) { w->dropped++; return ETL_ERR_IO; }
  int ok;
  uint32_t ext = ext_bytes(rec, &ok);
  uint64_t size = (uint64_t)ETL_EVENT_HDR_SIZE + ext + rec->data_len;
  if (!ok || rec->kind != REC_KIND_EVENT || (rec->data_len && !rec->data) ||
      (rec->header_kind != REC_HDR_NONE && rec->header_kind != REC_HDR_EVENT) ||
      size > W_MAX_RECORD || ETL_BUF_HDR_SIZE + align8((uint32_t)size) > w->bufsize) {
    w->dropped++;
    return ETL_ERR_DATA;
  }
  uint32_t len = align8((uint32_t)size);
  wbuf *b = cpu_buf(w, rec->cpu % W_MAX_CPUS);
  if (!b) return ETL_ERR_NOMEM;
  if (b->used + len > w->bufsize) {
    int st = buf_full(w, b);
    if (st != ETL_OK) {
      w->dropped++;
      salvage(w);
      return st;
    }
  }
  put_event(b->p + b->used, rec, (uint32_t)size, ext);
  b->used += len;
  b->nrec++;
  if (rec->timestamp < b->last_ts) b->sorted = 0;
  b->last_ts = rec->timestamp;
  if (rec->timestamp > b->max_ts) b->max_ts = rec->timestamp;
  if (w->pending_lost) { b->extra_flags |= ETL_BUF_FLAG_EVENTS_LOST; w->pending_lost = 0; }
  w->events++;
  w->events_kept++;
  w->circ_dirty = 1;
  return ETL_OK;
}

void etl_writer_lost(etl_writer *w, uint64_t n) {
  if (!w || !n) return;
  w->lost += n;
  w->pending_lost = 1;
  w->circ_dirty = 1;
}

int etl_writer_dirty(const etl_writer *w) {
  if (!w || w->io_error) return 0;
  if (w->o.circular) return w->circ_dirty;
  if (w->hdr_buffers != w->file_buffers || w->hdr_lost != w->lost + w->dropped) return 1;
  for (uint32_t i = 0; i < w->ncpus; i++) {
    const wbuf *b = w->cpus[i];
    if (b && b->used > ETL_BUF_HDR_SIZE && b->used != b->written_used) return 1;
  }
  return 0;
}

int etl_writer_flush(etl_writer *w) {
  if (!w) return ETL_ERR_ARG;
  if (w->io_error) return ETL_ERR_IO;
  int st;
  if (w->o.circular) {
    st = circ_write(w, etl_filetime_now());
  } else {
    mark_lost(w);
    st = seq_flush_partials(w, NULL, 0);
    if (st == ETL_OK) st = write_header(w, etl_filetime_now());
    if (st == ETL_OK) st = sink_sync(w);
  }
  if (st != ETL_OK) salvage(w);
  return st;
}

void etl_writer_stats(const etl_writer *w, etl_write_stats *st) {
  memset(st, 0, sizeof *st);
  if (!w) return;
  st->events = w->events;
  st->events_kept = w->o.circular ? w->disk_events : w->events_kept;
  st->dropped = w->dropped;
  st->lost = w->lost;
  st->bytes = w->prev_bytes + w->file_bytes;
  st->buffers = w->prev_buffers + w->file_buffers;
  st->files = w->files;
  st->io_error = w->io_error;
}

const char *etl_writer_path(const etl_writer *w) { return w ? w->name : ""; }

int etl_writer_close(etl_writer *w, int64_t end_time, etl_write_stats *st) {
  if (!w) {
    if (st) memset(st, 0, sizeof *st);
    return ETL_OK;
  }
  if (end_time == 0) end_time = etl_filetime_now();
  int rc = w->o.circular ? circ_write(w, end_time) : end_file(w, NULL, end_time);
  if (rc == ETL_OK && w->io_error) rc = ETL_ERR_IO;
  salvage(w);
  if (st) etl_writer_stats(w, st);
  writer_free(w);
  return rc;
}
