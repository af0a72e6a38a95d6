/*
** etl_int.h: internals shared by the ETL reader's files (not a public API).
** etl_read.c: open, scan, merge, etl_next; etl_buffer.c: buffer headers,
** decompression, record walking; etl_record.c: one record -> rec_record;
** etl_header.c: the EventTrace/Header record; etl_file.c: file input;
** etl_cache.c: the memory budget of loaded buffers.
*/
#ifndef ETL_INT_H
#define ETL_INT_H

#include <stdint.h>
#include <stdio.h>

#include "etl.h"
#include "etl_format.h"

#define ETL_DEFAULT_MAX_BUFFER (16u << 20)
#define ETL_DEFAULT_CACHE ((size_t)32 << 20)
/* Bytes of the input read before anything else: buffer 0's header and the
** largest EventTrace/Header record (its size is a u16). */
#define ETL_HEAD_MAX (ETL_BUF_HDR_SIZE + 0x10000u)
#define ETL_DEFAULT_MAX_ERRORS 10000u
#define ETL_DEFAULT_EXPANSION 256u
#define ETL_NONE UINT32_MAX
/* Record areas kept for reuse when buffers are unloaded (etl_cache.c). */
#define ETL_SPARES 2

/* One record of an active buffer: offset inside the buffer and raw time. */
typedef struct etl_recidx {
  int64_t ts;
  uint32_t off;
  uint32_t size;
} etl_recidx;

/* An entry of the merge heap: a buffer and its merge key (etl_buf.key). */
typedef struct etl_heapent {
  int64_t key;
  uint32_t buf;
} etl_heapent;

enum etl_buf_state { ETL_BUF_IDLE = 0, ETL_BUF_ACTIVE, ETL_BUF_DONE };

/* One buffer as the scan found it; `pseudo` entries only carry errors
** found outside any buffer (the file tail). */
typedef struct etl_buf {
  uint64_t file_off;     /* buffer header offset in the file */
  int64_t hdr_ts;        /* the buffer header's TimeStamp */
  uint32_t disk_size;    /* bytes present in the file for this buffer */
  uint32_t fill;         /* end of the record area, in buffer coordinates */
  uint16_t flags;        /* BufferFlag */
  uint16_t cpu;
  uint32_t nrec;         /* records found by the scan */
  int64_t key;           /* merge key: time of the next record */
  uint8_t *data;         /* record area read or decompressed (owned) or NULL */
  uint32_t data_len;     /* bytes in data (may be a prefix when damaged) */
  uint32_t data_cap;     /* bytes allocated at data (etl_spare_take) */
  uint32_t err_first, err_count; /* this buffer's errors in reader->errs */
  uint32_t err_next;     /* errors already delivered */
  etl_recidx *idx;       /* records (sorted once active) while loaded, else NULL */
  const uint8_t *base;   /* buffer offset 0x48 in memory, while active and loaded */
  uint32_t next;         /* next record in idx (kept when the buffer is unloaded) */
  uint8_t state;
  uint8_t pseudo;
  uint8_t listed;        /* in the list of loaded buffers */
  uint32_t cached;       /* bytes of data/idx held (counted in the budget) */
  uint32_t lprev, lnext; /* list of loaded buffers (ETL_NONE ends it) */
} etl_buf;

/* What record decoding needs to know about the file and the buffer. */
typedef struct etl_ctx {
  const etl_clock *clock;
  uint32_t file_ptr_size;  /* PointerSize of the file */
  uint16_t cpu;
  uint16_t buffer_flags;
  uint64_t buffer_off;
  int compressed;
} etl_ctx;

struct etl_reader {
  const uint8_t *data;     /* memory input (borrowed), or NULL for a file */
  uint64_t len;            /* bytes of input */
  FILE *fp;                /* file input (etl_file.c), unbuffered, or NULL */
  const uint8_t *head;     /* the first head_len bytes of the input */
  uint32_t head_len;       /* min(len, ETL_HEAD_MAX) */
  uint8_t *head_own;       /* file input: the bytes `head` points at */
  uint8_t *io;             /* file input: compressed bytes of one buffer */
  size_t io_cap;
  etl_options opt;
  etl_info info;
  char *logger_name, *log_file_name;
  etl_clock clock;
  etl_stats stats;
  uint32_t stride;         /* uncompressed buffer size, 0 = no resync */
  etl_buf *bufs;
  uint32_t nbufs, capbufs;
  etl_error *errs;
  uint32_t nerrs, caperrs;
  uint32_t early_count, early_next; /* header warnings: errs[0 .. early_count) */
  etl_heapent *heap;       /* the merge (etl_read.c) */
  uint32_t nheap;
  etl_heapent second;      /* the top's smaller child, when has_second and second_ok */
  int has_second, second_ok; /* second_ok: cleared by every change of the heap */
  size_t cache_used;       /* bytes held by loaded buffers (data + idx) */
  uint32_t lru_first, lru_last; /* loaded buffers, least recently loaded first */
  rec_ext_item *ext;
  uint32_t ext_cap;
  uint32_t release;        /* buffer to free on the next call, or ETL_NONE */
  uint64_t decompressed;    /* bytes the scan decompressed so far */
  uint64_t suppressed;     /* errors beyond opt.max_errors */
  int oom;                 /* the scan ran out of memory */
  int read_errno;          /* the last failed file read */
  uint8_t *spare[ETL_SPARES]; /* record areas of unloaded buffers, for the next ones */
  uint32_t spare_cap[ETL_SPARES];
  etl_recidx *scan_idx;    /* scratch record index of the scan */
  uint32_t scan_cap;
  struct etl_prefetch *pf; /* decompression ahead of the scan, during it only */
};

/* Fill `e`: status, offset and the message "offset 0x<offset>: " + the
** printf-formatted rest. Returns `status`. */
int etl_fail(etl_error *e, int status, uint64_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* As etl_fail, with the compressed-buffer form of etl_error (see etl.h). */
int etl_fail_at(etl_error *e, int status, uint64_t offset, uint32_t inner, int compressed,
                const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* Append an error to the reader's list; the message gets the offset prefix
** ("offset 0x..: " or, for compressed buffers, "offset 0x.. (compressed
** buffer), decompressed offset 0x..: "), then the printf-formatted rest.
** Returns 0, or -1 when out of memory (the error is then dropped). */
int etl_add_error(etl_reader *r, uint64_t offset, uint32_t inner, int compressed,
                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* etl_read.c: a new reader with `opt` applied for an input of `len` bytes
** (head, data or fp set by the caller before etl_reader_start). NULL when
** out of memory. */
etl_reader *etl_reader_new(const etl_options *opt, uint64_t len);

/* Parse the header, scan every buffer, build the merge. ETL_OK, or `err`
** filled (the caller then closes the reader). */
int etl_reader_start(etl_reader *r, etl_error *err);

/* Bytes [off, off + n) of the input: a pointer into the memory input, or
** `dst` filled from the file. NULL when the range is outside the input or
** the file could not be read (r->read_errno says why). */
const uint8_t *etl_input(etl_reader *r, uint64_t off, size_t n, uint8_t *dst);

/* etl_file.c: read n bytes at `off` of the file input into dst; 0, or an
** errno value (EIO for a short read). */
int etl_file_read(FILE *fp, uint64_t off, void *dst, size_t n);

/* etl_cache.c: the budget (opt.cache_bytes) of loaded buffers. */
/* Count `b` (its data and idx are set) as loaded and most recent. */
void etl_cache_add(etl_reader *r, etl_buf *b);
/* Free b's data and idx and forget it (b stays in its merge state). */
void etl_cache_drop(etl_reader *r, etl_buf *b);
/* Unload buffers, least recently loaded first, until the budget holds or
** only `keep` is left loaded. */
void etl_cache_trim(etl_reader *r, const etl_buf *keep);
/* Memory for a record area of n bytes: a spare of at least n bytes, else
** a new allocation; *cap = its size. NULL when out of memory. Only the
** reader's own thread calls these (never the prefetch helper). */
uint8_t *etl_spare_take(etl_reader *r, uint32_t n, uint32_t *cap);
/* Keep area p (cap bytes) for etl_spare_take, or free it. NULL: no-op. */
void etl_spare_put(etl_reader *r, uint8_t *p, uint32_t cap);
/* Free the spares (etl_close). */
void etl_spare_free(etl_reader *r);

/* etl_prefetch.c: LZ77 buffers decompressed ahead of the open-time scan
** on a helper thread that lives only during the scan (see there). */
typedef struct etl_prefetch etl_prefetch;
/* Start the helper (r->pf); -1 when it cannot start (the scan then
** decompresses everything itself). */
int etl_prefetch_begin(etl_reader *r);
/* Stop and join the helper, free what it holds; no-op without one. */
void etl_prefetch_end(etl_reader *r);
/* Queue jobs for the buffers after offset `next` (where the scan goes on). */
void etl_prefetch_fill(etl_reader *r, uint64_t next);
/* The decompressed area of the buffer at `off` (in_len compressed bytes,
** cap decompressed), when a job was queued for exactly that: 1 with *out
** (the caller owns it), *got, *bad, *st as etl_lzx_decompress gives them;
** 0 when there is none (the caller decompresses). */
int etl_prefetch_take(etl_reader *r, uint64_t off, uint32_t in_len, uint32_t cap,
                      uint8_t **out, size_t *got, size_t *bad, int *st);
/* Test hook, NULL but in tests (set before etl_open_*, never during one).
** ETL_PF_EV_CLAIM: may `who` claim the queued job of the buffer at `off`?
** Called with the prefetch lock held: nonzero refuses, must not block.
** ETL_PF_EV_RUN: `who` is about to decompress it (unlocked; may wait for
** the other thread). `who`: the helper, the scan doing the job of the
** buffer it is at, or the scan doing a later job while the helper holds
** that one (a steal), or the scan decompressing the job the helper holds
** too, with nothing else left to do (a race). ETL_PF_EV_START: the
** helper thread was started (who ETL_PF_HELPER, off 0). */
enum { ETL_PF_EV_CLAIM, ETL_PF_EV_RUN, ETL_PF_EV_START };
enum { ETL_PF_HELPER, ETL_PF_SCAN, ETL_PF_STEAL, ETL_PF_RACE };
extern int (*etl_prefetch_hook)(int event, int who, uint64_t off);

/* Provider GUID of a kernel event from its hook id (etl_kernel.c). */
void etl_kernel_provider(uint16_t hook_id, tlg_guid *out);

/* etl_header.c: parse buffer 0's EventTrace/Header record into r->info
** and r->clock. Returns ETL_OK or fills `err` (ETL_ERR_DATA/NOMEM). */
int etl_header_parse(etl_reader *r, etl_error *err);

/* etl_buffer.c: examine the buffer header at `off`, record it (and its
** errors) and return the offset of the next buffer, or r->len to stop. */
uint64_t etl_buffer_scan(etl_reader *r, uint64_t off);

/* Add the pseudo entry that reports how many errors were not kept. */
void etl_buffer_suppressed(etl_reader *r);

/* Make `b`'s record area available: *base points at buffer offset 0x48 and
** *end is the end of the records in buffer coordinates. Reads (file input)
** and decompresses when needed, reporting read and decompression errors
** when `report` (else an unreadable area is just empty). Returns 0, or -1
** when out of memory. */
int etl_buffer_load(etl_reader *r, etl_buf *b, int report, const uint8_t **base,
                    uint32_t *end);

/* Free what an exhausted buffer holds and mark it done. */
void etl_buffer_release(etl_reader *r, etl_buf *b);

/* Walk the records of a loaded buffer: counts them, fills `idx` when not
** NULL (at most `cap` entries: a file may change between two reads) and,
** when `report`, adds framing errors. Returns the number of records (at most `cap` when idx). */
uint32_t etl_buffer_walk(etl_reader *r, etl_buf *b, const uint8_t *base, uint32_t end,
                         etl_recidx *idx, uint32_t cap, int report, int64_t *min_ts);

/* Stable sort of idx by ts (no-op when already ordered). Returns 0 or -1
** when out of memory. */
int etl_sort_records(etl_recidx *idx, uint32_t n);

/* etl_record.c: result of etl_record_frame. */
enum etl_frame { ETL_FRAME_OK, ETL_FRAME_SKIP, ETL_FRAME_END, ETL_FRAME_BAD };

/* Find the size and raw timestamp of the record at `p` (`avail` bytes up to
** the end of the record area). `prev_ts` stands in for records without a
** timestamp (WPP without TIMESTAMP). On ETL_FRAME_BAD, *why says why. */
int etl_record_frame(const uint8_t *p, uint32_t avail, int64_t prev_ts,
                     uint32_t *size, int64_t *ts, char *why, size_t why_len);

/* Header shape of one typed record kind (spec §3), indexed by the
** marker's type byte (etl_record.c). */
typedef struct etl_hdr_shape {
  uint8_t kind;        /* rec_header_kind; REC_HDR_NONE: not a typed header we decode */
  uint8_t ptr;         /* pointer size of the producer */
  uint8_t fixed;       /* fixed header bytes */
  uint8_t ts_at;       /* offset of the i64 timestamp */
  uint8_t size_at;     /* 0: size = low 16 bits of the marker; 4: u16 at +4 */
} etl_hdr_shape;
extern const etl_hdr_shape etl_hdr_shapes[ETL_HT_INSTANCE64 + 1];

/* The shape of typed header `type`, or NULL when it is none we decode. */
static inline const etl_hdr_shape *etl_typed_shape(unsigned type) {
  if (type > ETL_HT_INSTANCE64 || etl_hdr_shapes[type].kind == REC_HDR_NONE) return NULL;
  return &etl_hdr_shapes[type];
}

/* Inline PMC counters / PEBS index after a kernel header (spec §3.1). */
static inline uint32_t etl_kernel_inline_bytes(uint16_t version) {
  uint32_t n = 8u * ((version & ETL_SYS_VERSION_PMC_MASK) >> 8);
  return n + ((version & ETL_SYS_VERSION_PEBS) ? 8u : 0u);
}

/* The common case of etl_record_frame, inline for the record walks: a
** typed header (EVENT_HEADER, kernel, classic) whose size fits. Returns 1
** with *size and *ts as etl_record_frame gives them, or 0 for anything
** else (end marker, WPP, error records, damage): ask etl_record_frame. */
static inline int etl_frame_fast(const uint8_t *p, uint32_t avail, uint32_t *size,
                                 int64_t *ts) {
  if (avail < 8) return 0;
  uint32_t marker = tlg_le32(p), type = marker >> 16 & 0xFF, n = marker & 0xFFFF, hs, ts_at;
  if ((marker & (ETL_HDR_FLAG_TRACE | ETL_HDR_FLAG_TYPED)) !=
      (ETL_HDR_FLAG_TRACE | ETL_HDR_FLAG_TYPED))
    return 0;
  if (type == ETL_HT_EVENT64 || type == ETL_HT_EVENT32) {   /* the most common, without the table */
    hs = ETL_EVENT_HDR_SIZE;
    ts_at = 0x10;
  } else {
    const etl_hdr_shape *s = etl_typed_shape(type);
    if (!s) return 0;
    hs = s->fixed;
    ts_at = s->ts_at;
    if (s->size_at) {
      n = tlg_le16(p + 4);
      hs += etl_kernel_inline_bytes(tlg_le16(p));
    }
  }
  if (n < hs || n > avail) return 0;
  *size = n;
  *ts = tlg_le_i64(p + ts_at);
  return 1;
}

/* etl_clock_to_filetime, with its common case inline for record decoding:
** a 10 MHz QPC clock (recent Windows, etwlua's own writer), where the
** time is start + (raw - t0) when nothing overflows. */
static inline int64_t etl_clock_fast(const etl_clock *c, int64_t raw) {
#if defined(__GNUC__)
  int64_t d, t;
  if (c->freq == 10000000 && c->type != ETL_CLOCK_SYSTEM && c->type != ETL_CLOCK_CPU_CYCLE &&
      !__builtin_sub_overflow(raw, c->t0, &d) && !__builtin_add_overflow(c->start_time, d, &t))
    return t;
#endif
  return etl_clock_to_filetime(c, raw);
}

/* Decode the record at `p` (`size` bytes, framing already checked) into
** `out`. Extended items go to r->ext. Returns 0, or -1 with `why` filled
** (and *bad_at = offset inside the record), or -2 when out of memory. */
int etl_record_decode(etl_reader *r, const etl_ctx *ctx, const uint8_t *p, uint32_t size,
                      int64_t ts_hint, rec_record *out, char *why, size_t why_len,
                      uint32_t *bad_at);

/* etl_write.c: the writer frees `ctx` with `release` when it is closed
** (the file sink of etl_writer_open_file). */
struct etl_writer;
void etl_writer_own_ctx(struct etl_writer *w, void *ctx, void (*release)(void *));

/* UTF-16LE (n code units at p) -> newly allocated UTF-8, stopping at a NUL;
** invalid surrogates become U+FFFD. NULL when out of memory. */
char *etl_utf16_to_utf8(const uint8_t *p, size_t n);

#endif
