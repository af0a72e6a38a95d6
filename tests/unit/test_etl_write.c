/*
** test_etl_write.c: the ETL writer (src/etl/etl_write.h) against the reader
** and against spec §12 byte by byte: synthetic records written to memory
** and read back equal; header buffer, logfile header and every event
** buffer checked at their spec offsets; 0xFF fill, 8-aligned records with
** zero padding, extended items; flush = a readable file at every step (a
** process killed after it leaves a readable file, header unpatched);
** rotation and its file names; circular windows; losses; sink failures;
** real files through stdio; relogging the shared samples (skipped without
** ../shared). Portable: also runs in the Windows build under Wine.
*/
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L     /* symlink, lstat, umask */
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "etl.h"
#include "etl_format.h"
#include "etl_write.h"
#include "tlg_guid.h"
#include "unit_check.h"

/* ============================================================ memory sink */

#define MAX_FILES 64
typedef struct mfile {
  uint8_t *p;
  size_t len, cap;
} mfile;

typedef struct msink {
  mfile f[MAX_FILES];
  int cur, opens, closes, syncs, truncates;
  int fail_after;          /* fail the n-th write_at (0 = never) */
  int writes;
  size_t disk;             /* a disk of this many bytes for all files (0 = no limit): a
                              write that would grow past it writes what fits, ENOSPC */
} msink;

static size_t m_used(const msink *m) {
  size_t n = 0;
  for (int i = 0; i < MAX_FILES; i++) n += m->f[i].len;
  return n;
}

static int m_open(void *ctx, uint32_t index, char *name, size_t cap) {
  msink *m = ctx;
  if (index >= MAX_FILES) return 28;
  m->cur = (int)index;
  m->f[index].len = 0;     /* truncate (circular: a new copy) */
  m->opens++;
  snprintf(name, cap, "mem%u.etl", index);
  return 0;
}

static int m_write_at(void *ctx, uint64_t off, const void *p, size_t n) {
  msink *m = ctx;
  if (m->fail_after && ++m->writes >= m->fail_after) return 28;  /* ENOSPC */
  mfile *f = &m->f[m->cur];
  int full = 0;
  if (m->disk && off + n > f->len && m_used(m) + (off + n - f->len) > m->disk) {
    size_t room = m->disk - m_used(m), end = f->len + room;
    n = end > off ? end - off : 0;           /* a torn write: the part that fits */
    full = 1;
    if (n == 0) return 28;
  }
  if (off + n > f->cap) {
    size_t cap = f->cap ? f->cap : 65536;
    while (cap < off + n) cap *= 2;
    uint8_t *q = realloc(f->p, cap);
    if (!q) return 12;
    f->p = q;
    f->cap = cap;
  }
  if (off > f->len) memset(f->p + f->len, 0xAB, off - f->len);   /* holes would show */
  memcpy(f->p + off, p, n);
  if (off + n > f->len) f->len = off + n;
  return full ? 28 : 0;
}

static int m_sync(void *ctx) { ((msink *)ctx)->syncs++; return 0; }
static int m_close(void *ctx) { ((msink *)ctx)->closes++; return 0; }
static int m_truncate(void *ctx, uint64_t size) {
  msink *m = ctx;
  if (size < m->f[m->cur].len) m->f[m->cur].len = (size_t)size;
  m->truncates++;
  return 0;
}

static etl_sink sink_of(msink *m) {
  etl_sink s = {m, m_open, m_write_at, m_sync, m_close, m_truncate};
  return s;
}

static void msink_free(msink *m) {
  for (int i = 0; i < MAX_FILES; i++) free(m->f[i].p);
  memset(m, 0, sizeof *m);
}

/* ============================================================== records */

#define START_FT 132539328000000000LL   /* 2021-01-01T00:00:00Z */

/* An owned record: the rec_record points into its own arrays. */
typedef struct orec {
  rec_record r;
  uint8_t traits[64], meta[64], data[8192];
} orec;

static uint32_t rng = 12345;
static uint32_t rnd(void) { rng = rng * 1103515245u + 12345u; return rng >> 8; }

static tlg_guid guid_n(uint32_t n) {
  tlg_guid g;
  for (int i = 0; i < 16; i++) g.b[i] = (uint8_t)(n * 31 + i * 7);
  return g;
}

/* Record i of a varied set: TL events with and without activity ids,
** related ids, a manifest-style event (no meta), a 32-bit producer,
** several CPUs, payloads of 0..max_data bytes; unique timestamps that are
** out of order inside a CPU (batches of producer threads interleave). */
static void make_rec(orec *o, uint32_t i, uint32_t ncpu, uint32_t max_data) {
  memset(o, 0, sizeof *o);
  rec_record *r = &o->r;
  int kind = (int)(i % 5);
  r->provider_id = guid_n(kind == 4 ? 9 : 1);
  r->desc.id = (uint16_t)(i % 7);
  r->desc.version = (uint8_t)(i % 3);
  r->desc.channel = kind == 4 ? 16 : 11;
  r->desc.level = (uint8_t)(1 + i % 5);
  r->desc.opcode = (uint8_t)(i % 4);
  r->desc.task = (uint16_t)(i % 11);
  r->desc.keyword = 0x8000000000000001ull | (uint64_t)i << 8;
  r->flags = REC_HEADER;
  r->pid = 1000 + i % 3;
  r->tid = 2000 + i % 13;
  r->cpu = ncpu ? (i * 7) % ncpu : 0;
  /* unique: i*16 plus a shuffle inside groups of 8 */
  r->timestamp = START_FT + 1000 + (int64_t)(i / 8 * 8 + (7 - i % 8)) * 16;
  if (kind == 1 || kind == 3) { r->activity_id = guid_n(100 + i); r->flags |= REC_ACTIVITY; }
  if (kind == 3) { r->related_activity_id = guid_n(200 + i); r->flags |= REC_RELATED; }
  if (kind == 2) r->pointer_size = 4;
  static const char name[] = "My.Provider";
  o->traits[0] = (uint8_t)(2 + sizeof name);
  memcpy(o->traits + 2, name, sizeof name);
  r->traits = o->traits;
  r->traits_len = 2 + sizeof name;
  if (kind != 4) {
    uint32_t ml = 10 + i % 17;
    o->meta[0] = (uint8_t)ml;
    for (uint32_t k = 2; k < ml; k++) o->meta[k] = (uint8_t)(k * 3 + i);
    r->meta = o->meta;
    r->meta_len = ml;
    r->flags |= REC_TRACELOGGING;
  }
  uint32_t dl = max_data ? rnd() % (max_data + 1) : 0;
  if (i % 97 == 0) dl = max_data;
  for (uint32_t k = 0; k < dl; k++) o->data[k] = (uint8_t)(k ^ i);
  r->data = o->data;
  r->data_len = dl;
}

static int bytes_eq(const uint8_t *a, uint32_t al, const uint8_t *b, uint32_t bl) {
  return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

/* What the reader gives back equals what was written. */
static int rec_equal(const rec_record *got, const rec_record *want, char *why, size_t cap) {
  uint32_t wflags = want->flags & (REC_ACTIVITY | REC_RELATED | REC_TRACELOGGING);
#define NEQ(cond, what) if (cond) { snprintf(why, cap, "%s", what); return 0; }
  NEQ(got->kind != REC_KIND_EVENT || got->header_kind != REC_HDR_EVENT, "kind");
  NEQ(memcmp(&got->provider_id, &want->provider_id, 16), "provider id");
  NEQ(got->desc.id != want->desc.id || got->desc.version != want->desc.version ||
      got->desc.channel != want->desc.channel || got->desc.level != want->desc.level ||
      got->desc.opcode != want->desc.opcode || got->desc.task != want->desc.task ||
      got->desc.keyword != want->desc.keyword, "descriptor");
  NEQ((got->flags & ~(uint32_t)REC_HEADER) != wflags, "flags");
  NEQ(got->pid != want->pid || got->tid != want->tid, "pid/tid");
  NEQ(got->cpu != want->cpu, "cpu");
  NEQ(got->timestamp != want->timestamp || got->raw_timestamp != want->timestamp, "timestamp");
  NEQ((wflags & REC_ACTIVITY) && memcmp(&got->activity_id, &want->activity_id, 16),
      "activity id");
  NEQ((wflags & REC_RELATED) &&
      memcmp(&got->related_activity_id, &want->related_activity_id, 16), "related id");
  NEQ(!bytes_eq(got->traits, got->traits_len, want->traits, want->traits_len), "traits");
  NEQ(!bytes_eq(got->meta, got->meta_len, want->meta, want->meta_len), "meta");
  NEQ(!bytes_eq(got->data, got->data_len, want->data, want->data_len), "data");
  NEQ(got->pointer_size != (want->pointer_size == 4 ? 4 : 8), "pointer size");
  NEQ(got->header_flags != (got->ext_count ? ETL_EVF_EXTENDED_INFO : 0), "header flags");
  /* item order: related (1), traits (12), schema (11) */
  uint16_t order[3];
  uint32_t n = 0;
  if (wflags & REC_RELATED) order[n++] = REC_EXT_RELATED_ACTIVITYID;
  if (want->traits_len) order[n++] = REC_EXT_PROV_TRAITS;
  if (want->meta_len) order[n++] = REC_EXT_EVENT_SCHEMA_TL;
  NEQ(got->ext_count != n, "ext count");
  for (uint32_t k = 0; k < n; k++) NEQ(got->ext[k].type != order[k], "ext order");
#undef NEQ
  return 1;
}

/* Read every EVENT record of a file into `seen` (by timestamp -> index i);
** returns how many matched, counts errors and mismatches. */
static int quiet;           /* expected reader errors: do not print them */

typedef struct readback {
  uint32_t events, others, errors, mismatches, matched;
  int64_t last_ts;
  int ordered;
} readback;

static uint32_t index_of(int64_t ts) {
  int64_t k = (ts - START_FT - 1000) / 16;
  return (uint32_t)(k / 8 * 8 + (7 - k % 8));
}

static void read_back(const uint8_t *file, size_t len, orec *tmp, uint32_t nrec, uint8_t *seen,
                      uint32_t max_data, uint32_t ncpu, readback *rb) {
  memset(rb, 0, sizeof *rb);
  rb->ordered = 1;
  rb->last_ts = INT64_MIN;
  etl_reader *r;
  etl_error e;
  if (etl_open_memory(file, len, NULL, &r, &e) != ETL_OK) {
    rb->errors++;
    printf("  open: %s\n", e.message);
    return;
  }
  rec_record rec;
  int st;
  char why[64];
  while ((st = etl_next(r, &rec, &e)) != ETL_END) {
    if (st != ETL_OK) {
      if (!quiet) printf("  error: %s\n", e.message);
      rb->errors++;
      continue;
    }
    if (rec.header_kind != REC_HDR_EVENT) { rb->others++; continue; }
    rb->events++;
    if (rec.raw_timestamp < rb->last_ts) rb->ordered = 0;
    rb->last_ts = rec.raw_timestamp;
    uint32_t i = index_of(rec.timestamp);
    if (i >= nrec || seen[i]) { rb->mismatches++; continue; }
    rng = 12345 + i;                       /* make_rec's payload length is rnd() */
    make_rec(tmp, i, ncpu, max_data);
    if (!rec_equal(&rec, &tmp->r, why, sizeof why)) {
      if (rb->mismatches++ < 5) printf("  record %u differs: %s\n", i, why);
      continue;
    }
    seen[i] = 1;
    rb->matched++;
  }
  etl_close(r);
}

/* Append records [from, to) with the per-record seed read_back uses. */
static int append_range(etl_writer *w, orec *o, uint32_t from, uint32_t to, uint32_t ncpu,
                        uint32_t max_data) {
  int bad = 0;
  for (uint32_t i = from; i < to; i++) {
    rng = 12345 + i;
    make_rec(o, i, ncpu, max_data);
    if (etl_writer_append(w, &o->r) != ETL_OK) bad++;
  }
  return bad;
}

/* ====================================================== layout (spec §12) */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int all_ff(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) if (p[i] != 0xFF) return 0;
  return 1;
}
static int all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) if (p[i]) return 0;
  return 1;
}

/* UTF-16LE string at p equals ASCII s (NUL-terminated); returns its bytes. */
static size_t utf16_is(const uint8_t *p, const char *s, int *ok) {
  size_t n = strlen(s);
  for (size_t i = 0; i <= n; i++)
    if (tlg_le16(p + 2 * i) != (uint16_t)(unsigned char)s[i]) *ok = 0;
  return 2 * (n + 1);
}

typedef struct expect_hdr {
  uint32_t bufsize, ncpu, events_lost;
  int64_t start, end;
  const char *logger, *file;
  uint32_t max_mb;
  uint32_t logmode;          /* LogFileMode: 1 sequential, 2 circular */
} expect_hdr;

/* Check buffer 0 and the logfile header field by field (spec §2, §6, §12). */
static void check_header_buffer(const uint8_t *f, size_t len, const expect_hdr *x) {
  const uint8_t *b = f, *r = f + 0x48, *h = f + 0x68;
  uint32_t used = tlg_le32(b + 0x30);
  check(len % x->bufsize == 0 && len >= x->bufsize, "file length %zu is a multiple of %u", len,
        x->bufsize);
  check(tlg_le32(b) == x->bufsize && tlg_le32(b + 4) == used && tlg_le32(b + 8) == used &&
        tlg_le32(b + 0x0C) == 0, "header buffer: BufferSize, Saved/Current/Offset, RefCount");
  check(tlg_le64(b + 0x10) == 0 && tlg_le64(b + 0x18) == 0 && tlg_le64(b + 0x20) == 0,
        "header buffer: TimeStamp 0, SequenceNumber 0, clock word 0");
  check(tlg_le16(b + 0x28) == 0 && tlg_le16(b + 0x2A) == 0x10 && tlg_le32(b + 0x2C) == 3,
        "header buffer: ProcessorIndex 0, LoggerId 0x10, State 3");
  check(tlg_le16(b + 0x34) == 0x21 && tlg_le16(b + 0x36) == 4 && all_zero(b + 0x38, 16),
        "header buffer: BufferFlag 0x21 (0x%x), BufferType 4, trailing zeros",
        tlg_le16(b + 0x34));
  /* record 1: SYSTEM64 EventTrace/Header */
  uint32_t size = tlg_le16(r + 4);
  check(tlg_le32(r) == 0xC0020002u && tlg_le16(r + 6) == 0, "marker 0xC0020002, hook 0");
  check(tlg_le_i64(r + 0x10) == x->start && tlg_le32(r + 0x18) == 0 && tlg_le32(r + 0x1C) == 0,
        "SystemTime = T0 = StartTime, Kernel/UserTime 0");
  check(tlg_le32(h) == x->bufsize && tlg_le32(h + 4) == 0x0501000Au && tlg_le32(h + 8) == 19041,
        "LFH: BufferSize, Version 0x0501000A, ProviderVersion");
  check(tlg_le32(h + 0x0C) == x->ncpu, "LFH: NumberOfProcessors %u (want %u)", tlg_le32(h + 0x0C),
        x->ncpu);
  check(tlg_le_i64(h + 0x10) == x->end, "LFH: EndTime %lld (want %lld)",
        (long long)tlg_le_i64(h + 0x10), (long long)x->end);
  check(tlg_le32(h + 0x18) == 156250 && tlg_le32(h + 0x1C) == x->max_mb &&
        tlg_le32(h + 0x20) == x->logmode, "LFH: TimerResolution, MaximumFileSize, LogFileMode %u (want %u)",
        tlg_le32(h + 0x20), x->logmode);
  check(tlg_le32(h + 0x24) == len / x->bufsize, "LFH: BuffersWritten %u (file has %zu)",
        tlg_le32(h + 0x24), len / x->bufsize);
  check(tlg_le32(h + 0x28) == 1 && tlg_le32(h + 0x2C) == 8, "LFH: StartBuffers 1, PointerSize 8");
  check(tlg_le32(h + 0x30) == x->events_lost, "LFH: EventsLost %u (want %u)", tlg_le32(h + 0x30),
        x->events_lost);
  check(tlg_le32(h + 0x34) == 1000 && tlg_le64(h + 0x38) == 0 && tlg_le64(h + 0x40) == 0,
        "LFH: CpuSpeedInMHz, LoggerName 0, LogFileName 0");
  int ok = 1;
  check(tlg_le32(h + 0x48) == 0, "LFH: time-zone Bias 0");
  utf16_is(h + 0x4C, "UTC", &ok);
  utf16_is(h + 0x48 + 88, "UTC", &ok);
  check(ok, "LFH: time-zone names UTC");
  check(tlg_le32(h + 0xF4) == 0 && tlg_le_i64(h + 0xF8) <= x->start && tlg_le_i64(h + 0x100) == 10000000 &&
        tlg_le_i64(h + 0x108) == x->start, "LFH: BootTime <= StartTime, PerfFreq 10 MHz, StartTime");
  check(tlg_le32(h + 0x110) == 1 && tlg_le32(h + 0x114) == 0, "LFH: ReservedFlags 1 (QPC), BuffersLost 0");
  ok = 1;
  size_t n1 = utf16_is(h + 0x118, x->logger, &ok);
  size_t n2 = utf16_is(h + 0x118 + n1, x->file, &ok);
  check(ok && size == 0x20 + 0x118 + n1 + n2, "names in UTF-16 and the record Size (%u)", size);
  check(used == 0x48 + ((size + 7) & ~7u) && all_zero(r + size, ((size + 7) & ~7u) - size),
        "header buffer Offset = end of the padded record, padding zero");
  check(all_ff(b + used, x->bufsize - used), "header buffer: 0xFF to the end");
}

/* Check every event buffer and record (spec §2, §3.2, §4, §12). Returns the
** number of records; counts buffers with EVENTS_LOST in *lost_bufs. */
static uint32_t check_event_buffers(const uint8_t *f, size_t len, uint32_t bufsize, uint32_t ncpu,
                                    uint32_t *lost_bufs) {
  uint32_t nbuf = (uint32_t)(len / bufsize), nrec = 0, bad = 0, badrec = 0, nseq = 0;
  uint64_t *seqs = calloc(nbuf + 1, sizeof *seqs);
  *lost_bufs = 0;
  for (uint32_t k = 1; k < nbuf; k++) {
    const uint8_t *b = f + (size_t)k * bufsize;
    uint32_t used = tlg_le32(b + 0x30);
    uint16_t flag = tlg_le16(b + 0x34);
    uint64_t seq = tlg_le64(b + 0x18);
    if (tlg_le32(b) != bufsize || tlg_le32(b + 4) != used || tlg_le32(b + 8) != used ||
        used < 0x48 || used > bufsize || tlg_le32(b + 0x2C) != 3 || tlg_le16(b + 0x2A) != 0x10 ||
        tlg_le16(b + 0x36) != 0 || !all_zero(b + 0x38, 16) || tlg_le64(b + 0x20) != 0 ||
        tlg_le16(b + 0x28) >= ncpu || (flag & ~0x03u) != 0x20 || seq == 0) {
      if (bad++ < 3) printf("  buffer %u header: used %u flag 0x%x seq %llu cpu %u\n", k, used, flag,
                            (unsigned long long)seq, tlg_le16(b + 0x28));
      continue;
    }
    seqs[nseq++] = seq;
    if (flag & 2) (*lost_bufs)++;
    if (k == nbuf - 1 && !(flag & 1)) { bad++; printf("  last buffer lacks FLUSH_MARKER\n"); }
    if (!all_ff(b + used, bufsize - used)) { bad++; printf("  buffer %u: fill is not 0xFF\n", k); }
    int64_t prev = INT64_MIN, max = INT64_MIN;
    for (uint32_t off = 0x48; off < used;) {
      const uint8_t *p = b + off;
      uint32_t size = tlg_le16(p), al = (size + 7) & ~7u;
      int ok = (off & 7) == 0 && (tlg_le32(p) >> 16 == 0xC013 || tlg_le32(p) >> 16 == 0xC012) &&
               size >= 0x50 && off + al <= used && all_zero(p + size, al - size);
      int64_t ts = tlg_le_i64(p + 0x10);
      ok = ok && ts >= prev && tlg_le16(p + 6) == 0 && (tlg_le16(p + 4) & ~1u) == 0;
      if (ok && (tlg_le16(p + 4) & 1)) {   /* ext items: ItemSize = 8 + align8(DataSize), linkage */
        uint32_t at = 0x50, more = 1;
        while (more && ok) {
          uint32_t item = tlg_le16(p + at), dl = tlg_le16(p + at + 6);
          more = tlg_le16(p + at + 4);
          ok = item == 8 + ((dl + 7) & ~7u) && (more & ~1u) == 0 && at + item <= size &&
               all_zero(p + at + 8 + dl, item - 8 - dl);
          at += item;
        }
      }
      if (!ok) { if (badrec++ < 3) printf("  buffer %u record at 0x%x bad\n", k, off); break; }
      prev = ts;
      if (ts > max) max = ts;
      nrec++;
      off += al;
    }
    if (used > 0x48 && tlg_le_i64(b + 0x10) != max) {
      bad++;
      printf("  buffer %u TimeStamp is not its largest record time\n", k);
    }
  }
  qsort(seqs, nseq, sizeof *seqs, cmp_u64);
  for (uint32_t k = 1; k < nseq; k++)
    if (seqs[k] == seqs[k - 1]) { bad++; printf("  SequenceNumber %llu twice\n", (unsigned long long)seqs[k]); }
  check(bad == 0, "event buffer headers, fill, flags, distinct sequence numbers (%u bad)", bad);
  check(badrec == 0, "records: 8-aligned, EVENT_HEADER, zero padding, ordered, ext items (%u bad)",
        badrec);
  free(seqs);
  return nrec;
}

/* ================================================================ tests */

static void test_round_trip(uint32_t bufsize, uint32_t n, uint32_t ncpu, uint32_t max_data) {
  msink m = {0};
  etl_sink s = sink_of(&m);
  etl_write_opts o = {0};
  o.buffer_size = bufsize;
  o.start_time = START_FT;
  o.boot_time = START_FT - 36000000000LL;
  o.logger_name = "Round Trip";
  o.pid = 77;
  o.tid = 78;
  etl_writer *w;
  int st = etl_writer_open(&s, &o, &w);
  check(st == ETL_OK, "open (%d)", st);
  if (st) return;
  orec *rec = malloc(sizeof *rec);
  int bad = append_range(w, rec, 0, n, ncpu, max_data);
  check(bad == 0, "append %u records (%d failed)", n, bad);
  /* a record that can never fit: dropped and counted */
  rng = 1;
  make_rec(rec, 0, 1, 0);
  rec->r.data_len = 70000;
  uint8_t *big = calloc(70000, 1);
  rec->r.data = big;
  check(etl_writer_append(w, &rec->r) == ETL_ERR_DATA, "a 70000-byte record is refused");
  free(big);
  etl_writer_lost(w, 5);
  etl_write_stats ws;
  int64_t end = START_FT + 999999999;
  st = etl_writer_close(w, end, &ws);
  check(st == ETL_OK && ws.events == n && ws.dropped == 1 && ws.lost == 5 && ws.files == 1 &&
        ws.bytes == m.f[0].len && ws.buffers == m.f[0].len / bufsize,
        "close: stats (events %llu dropped %llu bytes %llu buffers %u)",
        (unsigned long long)ws.events, (unsigned long long)ws.dropped,
        (unsigned long long)ws.bytes, ws.buffers);
  check(m.opens == 1 && m.closes == 1, "one file opened and closed");
  expect_hdr x = {bufsize, ncpu ? ncpu : 1, 6, START_FT, end, "Round Trip", "mem0.etl", 0, 1};
  check_header_buffer(m.f[0].p, m.f[0].len, &x);
  uint32_t lost_bufs;
  uint32_t nrec = check_event_buffers(m.f[0].p, m.f[0].len, bufsize, x.ncpu, &lost_bufs);
  check(nrec == n, "records in buffers %u (want %u)", nrec, n);
  uint8_t *seen = calloc(n ? n : 1, 1);
  readback rb;
  read_back(m.f[0].p, m.f[0].len, rec, n, seen, max_data, ncpu, &rb);
  check(rb.errors == 0 && rb.mismatches == 0 && rb.matched == n && rb.others == 1 && rb.ordered,
        "read back %u records equal (bufsize %u, %u cpus): matched %u, errors %u, others %u",
        n, bufsize, ncpu, rb.matched, rb.errors, rb.others);
  /* the reader's view of the header */
  etl_reader *r;
  if (etl_open_memory(m.f[0].p, m.f[0].len, NULL, &r, NULL) == ETL_OK) {
    const etl_info *in = etl_get_info(r);
    check(in->clock_type == 1 && in->perf_freq == 10000000 && in->start_time == START_FT &&
          in->header_timestamp == START_FT && in->end_time == end && in->events_lost == 6 &&
          in->buffers_written == etl_get_stats(r)->buffers,
          "reader: header facts");
    check(strcmp(in->logger_name, "Round Trip") == 0 && strcmp(in->log_file_name, "mem0.etl") == 0,
          "reader: names");
    etl_close(r);
  }
  free(seen);
  free(rec);
  msink_free(&m);
}

/* Header names go through the one UTF-8 -> UTF-16 encoder (tlg_utf16.h):
** a name that is not UTF-8 is written empty (encoding rejects, never
** repairs); a name longer than the header's room is cut at a whole code
** point and the next name still follows it intact. */
static void test_header_names(const char *logger, const char *want_prefix, int want_empty) {
  msink m = {0};
  etl_sink s = sink_of(&m);
  etl_write_opts o = {.buffer_size = 4096, .start_time = START_FT, .logger_name = logger};
  etl_writer *w;
  if (etl_writer_open(&s, &o, &w) != ETL_OK) {
    check(0, "open with logger name of %zu bytes", strlen(logger));
    msink_free(&m);
    return;
  }
  etl_writer_close(w, START_FT + 1, NULL);
  etl_reader *r;
  if (etl_open_memory(m.f[0].p, m.f[0].len, NULL, &r, NULL) == ETL_OK) {
    const etl_info *in = etl_get_info(r);
    size_t got = strlen(in->logger_name);
    if (want_empty)
      check(got == 0, "invalid UTF-8 logger name written empty (got %zu bytes)", got);
    else
      check(got > 0 && got < strlen(logger) && strncmp(in->logger_name, want_prefix, got) == 0,
            "long logger name cut to a prefix (%zu of %zu bytes)", got, strlen(logger));
    check(strcmp(in->log_file_name, "mem0.etl") == 0, "log file name after it intact");
    etl_close(r);
  } else {
    check(0, "reader opens the file");
  }
  msink_free(&m);
}

static void test_header_name_cases(void) {
  test_header_names("caf\xe9", NULL, 1);
  static char long_name[9000];
  for (size_t i = 0; i + 4 < sizeof long_name; i += 4) memcpy(long_name + i, "\xf0\x9f\x98\x80", 4);
  long_name[sizeof long_name - 4] = 0;
  test_header_names(long_name, long_name, 0);
}

/* A file is readable after every flush, and between flushes holds exactly
** what the last flush (or a full buffer) put there: what a process killed
** at that moment leaves behind, its header not patched since. */
static void test_flush_and_kill(void) {
  const uint32_t bufsize = 4096, n1 = 10, n2 = 10, n3 = 400;
  msink m = {0};
  etl_sink s = sink_of(&m);
  etl_write_opts o = {.buffer_size = bufsize, .start_time = START_FT, .logger_name = "K",
                      .num_processors = 4};
  etl_writer *w;
  if (etl_writer_open(&s, &o, &w) != ETL_OK) { check(0, "open"); return; }
  check(m.f[0].len == bufsize && m.syncs == 1, "open writes the header buffer at once");
  orec *rec = malloc(sizeof *rec);
  uint8_t *seen = calloc(n3, 1);
  readback rb;
  read_back(m.f[0].p, m.f[0].len, rec, n3, seen, 16, 2, &rb);
  check(rb.errors == 0 && rb.events == 0 && rb.others == 1, "a new file reads as an empty trace");
  append_range(w, rec, 0, n1, 2, 16);
  check(m.f[0].len == bufsize && etl_writer_dirty(w), "nothing written before a flush");
  check(etl_writer_flush(w) == ETL_OK && !etl_writer_dirty(w), "flush");
  size_t len1 = m.f[0].len;
  check(len1 == 3 * (size_t)bufsize, "flush writes the two partial CPU buffers (%zu)", len1);
  int64_t t_flush = tlg_le_i64(m.f[0].p + 0x68 + 0x10);
  check(tlg_le32(m.f[0].p + 0x68 + 0x24) == 3 && t_flush > START_FT && t_flush <= etl_filetime_now(),
        "flush patches BuffersWritten and EndTime (the time of the flush)");
  check(!etl_writer_dirty(w), "nothing to flush after a flush");
  etl_writer_lost(w, 2);
  check(etl_writer_dirty(w), "a loss alone makes a flush due (the header's EventsLost)");
  check(etl_writer_flush(w) == ETL_OK && tlg_le32(m.f[0].p + 0x68 + 0x30) == 2 && !etl_writer_dirty(w),
        "the flush patches EventsLost 2 (%u)", tlg_le32(m.f[0].p + 0x68 + 0x30));
  uint32_t lb;
  check(check_event_buffers(m.f[0].p, len1, bufsize, 4, &lb) == n1, "flushed buffers check out");
  append_range(w, rec, n1, n1 + n2, 2, 16);
  /* killed here: the file is what the flush left */
  memset(seen, 0, n3);
  read_back(m.f[0].p, m.f[0].len, rec, n3, seen, 16, 2, &rb);
  check(rb.errors == 0 && rb.matched == n1 && rb.events == n1,
        "killed after a flush: the flushed %u records read back (%u, errors %u)", n1, rb.matched,
        rb.errors);
  check(etl_writer_flush(w) == ETL_OK && m.f[0].len == len1, "a second flush rewrites in place");
  memset(seen, 0, n3);
  read_back(m.f[0].p, m.f[0].len, rec, n3, seen, 16, 2, &rb);
  check(rb.errors == 0 && rb.matched == n1 + n2, "after the second flush: %u records", rb.matched);
  /* many more, no flush: full buffers reach the file, the header is stale */
  append_range(w, rec, n1 + n2, n3, 2, 16);
  uint8_t *snap = malloc(m.f[0].len);
  size_t snap_len = m.f[0].len;
  memcpy(snap, m.f[0].p, snap_len);
  check(tlg_le32(snap + 0x68 + 0x24) == 3 && snap_len > 3 * bufsize,
        "killed later: BuffersWritten still 3 while the file has %zu buffers", snap_len / bufsize);
  memset(seen, 0, n3);
  read_back(snap, snap_len, rec, n3, seen, 16, 2, &rb);
  check(rb.errors == 0 && rb.mismatches == 0 && rb.matched >= n1 + n2 && rb.matched < n3,
        "the reader copes with the unpatched header: %u records, no error", rb.matched);
  /* full buffers alone (no partial one changed) still make the header due */
  check(etl_writer_dirty(w), "full buffers written since the flush: a flush is due");
  check(etl_writer_flush(w) == ETL_OK && tlg_le32(m.f[0].p + 0x68 + 0x24) == m.f[0].len / bufsize,
        "and the flush patches BuffersWritten %u = the file's %zu buffers",
        tlg_le32(m.f[0].p + 0x68 + 0x24), m.f[0].len / bufsize);
  /* a file cut inside a buffer (killed mid-write): the records before stay readable */
  memset(seen, 0, n3);
  quiet = 1;
  read_back(snap, snap_len - bufsize / 2, rec, n3, seen, 16, 2, &rb);
  quiet = 0;
  check(rb.matched >= n1 && rb.mismatches == 0, "a torn last buffer loses only that buffer (%u)",
        rb.matched);
  free(snap);
  etl_write_stats ws;
  check(etl_writer_close(w, 0, &ws) == ETL_OK && ws.events == n3, "close");
  memset(seen, 0, n3);
  read_back(m.f[0].p, m.f[0].len, rec, n3, seen, 16, 2, &rb);
  check(rb.errors == 0 && rb.matched == n3 && rb.ordered, "after close: all %u records", rb.matched);
  check(tlg_le_i64(m.f[0].p + 0x68 + 0x10) > START_FT, "close sets EndTime (now)");
  free(seen);
  free(rec);
  msink_free(&m);
}

static void test_rotation(void) {
  const uint32_t bufsize = 4096, n = 2000;
  msink m = {0};
  etl_sink s = sink_of(&m);
  etl_write_opts o = {.buffer_size = bufsize, .start_time = START_FT, .logger_name = "Rot",
                      .max_file_bytes = 5 * bufsize};
  etl_writer *w;
  if (etl_writer_open(&s, &o, &w) != ETL_OK) { check(0, "open"); return; }
  orec *rec = malloc(sizeof *rec);
  append_range(w, rec, 0, n / 2, 3, 200);
  etl_writer_flush(w);                       /* partial buffers placed, then rotated away */
  etl_writer_lost(w, 2);
  append_range(w, rec, n / 2, n, 3, 200);
  etl_write_stats ws;
  check(etl_writer_close(w, START_FT + 5, &ws) == ETL_OK, "close");
  check(ws.files > 3 && m.opens == (int)ws.files && m.closes == (int)ws.files,
        "rotation made %u files", ws.files);
  uint8_t *seen = calloc(n, 1);
  uint32_t total = 0, bad = 0, buffers = 0;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < ws.files && i < MAX_FILES; i++) {
    mfile *f = &m.f[i];
    readback rb;
    bytes += f->len;
    buffers += (uint32_t)(f->len / bufsize);
    if (f->len > 5 * bufsize || f->len % bufsize) bad++;
    char name[32];
    snprintf(name, sizeof name, "mem%u.etl", i);
    uint32_t lost = tlg_le32(f->p + 0x68 + 0x30);
    expect_hdr x = {bufsize, 3, lost, START_FT,
                    i + 1 == ws.files ? START_FT + 5 : tlg_le_i64(f->p + 0x68 + 0x10), "Rot", name, 0, 1};
    if (i == 0 || i + 1 == ws.files) check_header_buffer(f->p, f->len, &x);
    uint32_t lb;
    check_event_buffers(f->p, f->len, bufsize, 3, &lb);
    read_back(f->p, f->len, rec, n, seen, 200, 3, &rb);
    if (rb.errors || rb.mismatches) bad++;
    total += rb.matched;
  }
  check(bad == 0 && total == n, "every file is a valid ETL; together they hold all %u (%u)", n,
        total);
  check(bytes == ws.bytes && buffers == ws.buffers, "stats count every file");
  check(tlg_le32(m.f[ws.files - 1].p + 0x68 + 0x30) == 2 && tlg_le32(m.f[0].p + 0x68 + 0x30) == 0,
        "EventsLost counts the session so far");
  check(tlg_le64(m.f[1].p + 0x18 + 4096) > 1, "SequenceNumber continues across files");
  free(seen);
  free(rec);
  msink_free(&m);
}

static void test_rotated_names(void) {
  char out[64];
  struct { const char *path; uint32_t i; const char *want; } t[] = {
    {"out.etl", 0, "out.etl"}, {"out.etl", 1, "out_1.etl"}, {"out.etl", 12, "out_12.etl"},
    {"trace", 2, "trace_2"}, {"dir.d/trace", 1, "dir.d/trace_1"}, {"a.b/c.etl", 3, "a.b/c_3.etl"},
    {".hidden", 1, ".hidden_1"}, {"x.tar.etl", 1, "x.tar_1.etl"}, {"dir\\f.etl", 1, "dir\\f_1.etl"},
    {"out%d.etl", 0, "out1.etl"}, {"out%d.etl", 4, "out5.etl"}, {"%d", 0, "1"},
  };
  for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
    size_t n = etl_rotated_path(t[k].path, t[k].i, out, sizeof out);
    check(n == strlen(t[k].want) && strcmp(out, t[k].want) == 0, "rotated name %s #%u -> %s (%s)",
          t[k].path, t[k].i, t[k].want, out);
  }
  check(etl_rotated_path("out.etl", 1, out, 5) == 0 && out[0] == 0, "rotated name too long");
}

/* Circular: the newest buffers stay; a flush writes the window anew. */
static void test_circular(void) {
  const uint32_t bufsize = 4096, n = 3000;
  msink m = {0};
  etl_sink s = sink_of(&m);
  etl_write_opts o = {.buffer_size = bufsize, .start_time = START_FT, .logger_name = "Circ",
                      .circular = 1, .circular_bytes = 4 * bufsize};
  etl_writer *w;
  if (etl_writer_open(&s, &o, &w) != ETL_OK) { check(0, "open"); return; }
  check(m.opens == 1 && m.closes == 1 && m.f[0].len == bufsize, "open writes an empty trace");
  orec *rec = malloc(sizeof *rec);
  append_range(w, rec, 0, n / 2, 1, 100);
  check(m.f[0].len == bufsize, "nothing written between flushes");
  check(etl_writer_flush(w) == ETL_OK && m.opens == 2 && m.f[0].len == 4 * bufsize,
        "flush writes header + 2 ring buffers + the partial one: circular_bytes (%zu)", m.f[0].len);
  uint8_t *seen = calloc(n, 1);
  readback rb;
  read_back(m.f[0].p, m.f[0].len, rec, n, seen, 100, 1, &rb);
  uint32_t lo = n;
  for (uint32_t i = 0; i < n; i++) if (seen[i]) { lo = i; break; }
  int suffix = 1;
  for (uint32_t i = lo; i < n / 2; i++) if (!seen[i]) suffix = 0;
  check(rb.errors == 0 && rb.mismatches == 0 && suffix && lo > 0 && lo + rb.matched >= n / 2 - 8,
        "the newest records are kept, in full (from %u, %u records)", lo, rb.matched);
  etl_write_stats ws;
  etl_writer_stats(w, &ws);
  check(ws.events == n / 2 && ws.events_kept == rb.matched && ws.bytes == 4 * bufsize,
        "stats: events %llu kept %llu", (unsigned long long)ws.events,
        (unsigned long long)ws.events_kept);
  expect_hdr x = {bufsize, 1, 0, START_FT, tlg_le_i64(m.f[0].p + 0x68 + 0x10), "Circ", "mem0.etl", 0, 2};
  check(x.end > START_FT, "a circular snapshot has an EndTime");
  check_header_buffer(m.f[0].p, m.f[0].len, &x);
  uint32_t lb;
  check_event_buffers(m.f[0].p, m.f[0].len, bufsize, 1, &lb);
  append_range(w, rec, n / 2, n, 1, 100);
  check(etl_writer_close(w, START_FT + 1, &ws) == ETL_OK && m.opens == 3, "close rewrites");
  memset(seen, 0, n);
  read_back(m.f[0].p, m.f[0].len, rec, n, seen, 100, 1, &rb);
  check(rb.errors == 0 && rb.mismatches == 0 && seen[n - 1] && !seen[n / 2] && rb.matched > 40 &&
        m.f[0].len == 4 * bufsize, "after close: the newest window (%u records)", rb.matched);
  free(seen);
  free(rec);
  msink_free(&m);
}

static void test_lost_flag(void) {
  msink m = {0};
  etl_sink s = sink_of(&m);
  etl_write_opts o = {.buffer_size = 4096, .start_time = START_FT};
  etl_writer *w;
  if (etl_writer_open(&s, &o, &w) != ETL_OK) { check(0, "open"); return; }
  orec *rec = malloc(sizeof *rec);
  append_range(w, rec, 0, 100, 1, 50);
  etl_writer_lost(w, 3);
  etl_writer_lost(w, 4);
  append_range(w, rec, 100, 101, 1, 50);
  etl_writer_close(w, 0, NULL);
  uint32_t lb;
  check_event_buffers(m.f[0].p, m.f[0].len, 4096, 1, &lb);
  check(lb == 1, "one buffer carries EVENTS_LOST (%u)", lb);
  check(tlg_le32(m.f[0].p + 0x68 + 0x30) == 7, "EventsLost 7");
  etl_reader *r;
  if (etl_open_memory(m.f[0].p, m.f[0].len, NULL, &r, NULL) == ETL_OK) {
    check(etl_get_stats(r)->buffers_events_lost == 1 && etl_get_info(r)->events_lost == 7,
          "the reader sees the loss");
    etl_close(r);
  }
  free(rec);
  msink_free(&m);
}

static void test_errors(void) {
  etl_writer *w = (etl_writer *)1;
  msink m = {0};
  etl_sink s = sink_of(&m);
  etl_write_opts o = {.buffer_size = 1000};
  check(etl_writer_open(&s, &o, &w) == ETL_ERR_ARG && w == NULL, "buffer size 1000 refused");
  o.buffer_size = 4100;
  check(etl_writer_open(&s, &o, &w) == ETL_ERR_ARG, "buffer size not a multiple of 8");
  check(etl_writer_open(NULL, NULL, &w) == ETL_ERR_ARG, "NULL sink");
  check(etl_writer_append(NULL, NULL) == ETL_ERR_ARG && etl_writer_flush(NULL) == ETL_ERR_ARG &&
        etl_writer_close(NULL, 0, NULL) == ETL_OK, "NULL writer");
  etl_writer_lost(NULL, 1);
  m.fail_after = 1;
  check(etl_writer_open(&s, NULL, &w) == ETL_ERR_IO && w == NULL && m.closes == 1,
        "a failing sink at open: ETL_ERR_IO, closed");
  msink_free(&m);
  /* a sink that fails later: sticky ETL_ERR_IO, records counted as dropped */
  s = sink_of(&m);
  m.fail_after = 3;
  o = (etl_write_opts){.buffer_size = 4096, .start_time = START_FT};
  if (etl_writer_open(&s, &o, &w) != ETL_OK) { check(0, "open"); return; }
  orec *rec = malloc(sizeof *rec);
  int bad = append_range(w, rec, 0, 500, 1, 100);
  etl_write_stats ws;
  etl_writer_stats(w, &ws);
  check(bad > 0 && ws.io_error == 28 && ws.events + ws.dropped == 500 && ws.dropped >= (uint64_t)bad,
        "write failure: sticky IO error; every record in the file or dropped (%llu + %llu)",
        (unsigned long long)ws.events, (unsigned long long)ws.dropped);
  check(etl_writer_flush(w) == ETL_ERR_IO, "flush after failure");
  check(etl_writer_close(w, 0, &ws) == ETL_ERR_IO, "close after failure");
  uint8_t seen_e[500] = {0};
  readback rbe;
  read_back(m.f[0].p, m.f[0].len, rec, 500, seen_e, 100, 1, &rbe);
  check(rbe.errors == 0 && rbe.matched == ws.events && ws.events > 0 && ws.bytes == m.f[0].len,
        "the counters say what the file holds: %u records read, events %llu", rbe.matched,
        (unsigned long long)ws.events);
  /* records the writer cannot write */
  msink_free(&m);
  s = sink_of(&m);
  if (etl_writer_open(&s, &o, &w) != ETL_OK) { check(0, "open"); free(rec); return; }
  make_rec(rec, 1, 1, 10);
  rec->r.kind = REC_KIND_LOST;
  check(etl_writer_append(w, &rec->r) == ETL_ERR_DATA, "a loss notice is not an event");
  make_rec(rec, 1, 1, 10);
  rec->r.header_kind = REC_HDR_SYSTEM;
  check(etl_writer_append(w, &rec->r) == ETL_ERR_DATA, "a kernel record is refused");
  make_rec(rec, 1, 1, 0);
  static uint8_t big[4096];
  rec->r.data = big;
  rec->r.flags &= ~(uint32_t)(REC_ACTIVITY | REC_RELATED);
  rec->r.meta_len = 30;                                    /* item 40 */
  rec->r.traits_len = 14;                                  /* item 24 */
  rec->r.data_len = 4096 - 0x48 - 0x50 - 40 - 24 + 1;
  check(etl_writer_append(w, &rec->r) == ETL_ERR_DATA, "a record larger than a buffer");
  rec->r.data_len = 4096 - 0x48 - 0x50 - 40 - 24;         /* exactly fills one buffer */
  check(etl_writer_append(w, &rec->r) == ETL_OK, "a record filling a whole buffer");
  check(etl_writer_close(w, 0, &ws) == ETL_OK && ws.dropped == 3 && ws.events == 1 &&
        tlg_le32(m.f[0].p + 0x68 + 0x30) == 3, "refused records count in EventsLost");
  etl_reader *r;
  rec_record got;
  if (etl_open_memory(m.f[0].p, m.f[0].len, NULL, &r, NULL) == ETL_OK) {
    etl_next(r, &got, NULL);
    check(etl_next(r, &got, NULL) == ETL_OK && got.data_len == 4096 - 0x48 - 0x50 - 64 &&
          tlg_le32(m.f[0].p + 4096 + 0x30) == 4096, "and reads back (Offset = BufferSize)");
    etl_close(r);
  }
  free(rec);
  msink_free(&m);
}

/* What a file in memory holds, checked against the writer's final counts:
** a valid trace (length a multiple of the buffer size, BuffersWritten and
** EventsLost as the header says them), records read back equal. */
static uint32_t check_full_file(const mfile *f, uint32_t bufsize, orec *rec, uint32_t n,
                                uint8_t *seen, uint32_t ncpu, uint32_t max_data, const char *what) {
  readback rb;
  check(f->len % bufsize == 0 && f->len >= bufsize, "%s: length %zu is whole buffers", what, f->len);
  check(tlg_le32(f->p + 0x68 + 0x24) == f->len / bufsize, "%s: BuffersWritten %u = %zu buffers",
        what, tlg_le32(f->p + 0x68 + 0x24), f->len / bufsize);
  check(tlg_le_i64(f->p + 0x68 + 0x10) > START_FT, "%s: EndTime set", what);
  read_back(f->p, f->len, rec, n, seen, max_data, ncpu, &rb);
  check(rb.errors == 0 && rb.mismatches == 0, "%s: reads back clean (%u errors)", what, rb.errors);
  return rb.matched;
}

/* A disk that fills up under a sequential writer with periodic flushes:
** the torn buffer is cut off, the header counts what is there, and the
** counters equal the file (etl_write.h "I/O errors"). */
static void test_disk_full(void) {
  const uint32_t bufsize = 4096, n = 3000;
  msink m = {0};
  m.disk = 7 * bufsize + bufsize / 2;
  etl_sink s = sink_of(&m);
  etl_write_opts o = {.buffer_size = bufsize, .start_time = START_FT, .logger_name = "Full"};
  etl_writer *w;
  if (etl_writer_open(&s, &o, &w) != ETL_OK) { check(0, "open"); return; }
  orec *rec = malloc(sizeof *rec);
  uint8_t *seen = calloc(n, 1);
  int bad = 0;
  for (uint32_t i = 0; i < n; i += 50) {
    bad += append_range(w, rec, i, i + 50, 2, 300);
    etl_writer_flush(w);
  }
  etl_writer_lost(w, 4);
  etl_write_stats ws;
  check(etl_writer_close(w, 0, &ws) == ETL_ERR_IO && ws.io_error == 28 && bad > 0,
        "disk full: close reports the I/O error");
  check(m.truncates > 0, "the torn buffer was cut off");
  uint32_t got = check_full_file(&m.f[0], bufsize, rec, n, seen, 2, 300, "disk full");
  check(got == ws.events && ws.events + ws.dropped == n && ws.lost == 4,
        "counts = the file: %u records, events %llu, dropped %llu", got,
        (unsigned long long)ws.events, (unsigned long long)ws.dropped);
  check(tlg_le32(m.f[0].p + 0x68 + 0x30) == ws.dropped + ws.lost && ws.bytes == m.f[0].len,
        "EventsLost %u = dropped + lost; bytes %llu", tlg_le32(m.f[0].p + 0x68 + 0x30),
        (unsigned long long)ws.bytes);
  msink_free(&m);
  /* rotation: the disk fills exactly where the third file's header goes */
  m.disk = 10 * bufsize + 100;
  s = sink_of(&m);
  o.max_file_bytes = 5 * bufsize;
  if (etl_writer_open(&s, &o, &w) != ETL_OK) { check(0, "open"); free(seen); free(rec); return; }
  append_range(w, rec, 0, n, 2, 300);
  check(etl_writer_close(w, 0, &ws) == ETL_ERR_IO, "rotation, disk full: close reports it");
  memset(seen, 0, n);
  uint32_t total = 0;
  for (uint32_t i = 0; i < 2; i++) total += check_full_file(&m.f[i], bufsize, rec, n, seen, 2, 300, "rotated");
  check(m.f[2].len == 0 && ws.files == 2 && ws.bytes == m.f[0].len + m.f[1].len,
        "a file that got no header is not counted (files %u, third file %zu bytes)", ws.files,
        m.f[2].len);
  check(total == ws.events && ws.events + ws.dropped == n, "rotation: counts = the files (%u, %llu)",
        total, (unsigned long long)ws.events);
  msink_free(&m);
  free(seen);
  free(rec);
}

/* Circular: a copy that fails keeps the last good one; the counters say
** what that copy holds, never "0 lost" for records the file lacks. */
static void test_circular_disk_full(void) {
  const uint32_t bufsize = 4096, n = 2000;
  msink m = {0};
  m.disk = 5 * bufsize;
  etl_sink s = sink_of(&m);
  etl_write_opts o = {.buffer_size = bufsize, .start_time = START_FT, .circular = 1,
                      .circular_bytes = 8 * bufsize};
  etl_writer *w;
  if (etl_writer_open(&s, &o, &w) != ETL_OK) { check(0, "open"); return; }
  orec *rec = malloc(sizeof *rec);
  uint8_t *seen = calloc(n, 1);
  append_range(w, rec, 0, 60, 1, 100);
  check(etl_writer_flush(w) == ETL_OK, "a small copy fits");
  readback rb;
  read_back(m.f[0].p, m.f[0].len, rec, n, seen, 100, 1, &rb);
  size_t good_len = m.f[0].len;
  append_range(w, rec, 60, n, 1, 100);
  etl_write_stats ws;
  check(etl_writer_close(w, 0, &ws) == ETL_ERR_IO && ws.io_error == 28, "the full copy does not");
  check(rb.matched == 60 && ws.events == rb.matched && ws.events_kept == rb.matched &&
        ws.dropped == n - rb.matched, "counts = the last good copy: events %llu dropped %llu",
        (unsigned long long)ws.events, (unsigned long long)ws.dropped);
  check(ws.bytes == good_len && ws.buffers == good_len / bufsize,
        "bytes = the last good copy's (%llu, %zu)", (unsigned long long)ws.bytes, good_len);
  msink_free(&m);
  /* nothing ever written but the empty trace: all of it lost */
  m.disk = 2 * bufsize;
  s = sink_of(&m);
  if (etl_writer_open(&s, &o, &w) != ETL_OK) { check(0, "open"); free(seen); free(rec); return; }
  append_range(w, rec, 0, n, 1, 100);
  check(etl_writer_close(w, 0, &ws) == ETL_ERR_IO && ws.events == 0 && ws.dropped == n,
        "an empty file: 0 events, %llu dropped", (unsigned long long)ws.dropped);
  msink_free(&m);
  free(seen);
  free(rec);
}

/* Circular with more CPUs than the copy has room for: the copy never
** exceeds circular_bytes and keeps the newest buffers; too small a size
** (under two buffers) is refused. */
static void test_circular_bound(void) {
  const uint32_t bufsize = 4096, n = 400;
  msink m = {0};
  etl_sink s = sink_of(&m);
  etl_write_opts o = {.buffer_size = bufsize, .start_time = START_FT, .circular = 1,
                      .circular_bytes = 4 * bufsize + 100};
  etl_writer *w;
  if (etl_writer_open(&s, &o, &w) != ETL_OK) { check(0, "open"); return; }
  orec *rec = malloc(sizeof *rec);
  uint8_t *seen = calloc(n, 1);
  append_range(w, rec, 0, n, 8, 40);       /* 8 partial buffers, no full one */
  etl_write_stats ws;
  check(etl_writer_close(w, 0, &ws) == ETL_OK, "close");
  readback rb;
  read_back(m.f[0].p, m.f[0].len, rec, n, seen, 40, 8, &rb);
  check(m.f[0].len == 4 * bufsize && ws.bytes == m.f[0].len, "8 CPUs: the copy has 4 buffers (%zu)",
        m.f[0].len);
  check(rb.errors == 0 && rb.mismatches == 0 && seen[n - 8] && rb.matched == ws.events_kept &&
        rb.matched < n, "the newest buffers are kept (the newest record; %u records)", rb.matched);
  check(tlg_le32(m.f[0].p + 0x68 + 0x20) == 2 && tlg_le32(m.f[0].p + 0x68 + 0x24) == 4,
        "LogFileMode 2 (circular), BuffersWritten 4");
  msink_free(&m);
  s = sink_of(&m);
  o.circular_bytes = 2 * bufsize - 8;
  check(etl_writer_open(&s, &o, &w) == ETL_ERR_ARG && w == NULL, "circular_bytes under 2 buffers: ARG");
  msink_free(&m);
  free(seen);
  free(rec);
}

/* Real files through stdio: sequential, rotated and circular. */
static int file_read(const char *path, uint8_t **p, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t cap = 1 << 16, n = 0;
  uint8_t *b = malloc(cap);
  size_t got;
  while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) { uint8_t *q = realloc(b, cap *= 2); if (!q) { free(b); b = NULL; } else b = q; }
  }
  fclose(f);
  if (!b) return -1;
  *p = b;
  *len = n;
  return 0;
}

static void test_files(void) {
  const char *path = "test_etl_write.tmp.etl";
  const uint32_t n = 1500;
  etl_write_opts o = {.buffer_size = 4096, .start_time = START_FT, .logger_name = "F",
                      .max_file_bytes = 40 * 4096};
  etl_writer *w;
  int st = etl_writer_open_file(path, &o, &w);
  check(st == ETL_OK, "open file %s", path);
  if (st) return;
  check(strcmp(etl_writer_path(w), path) == 0, "writer path");
  orec *rec = malloc(sizeof *rec);
  append_range(w, rec, 0, n, 2, 300);
  etl_write_stats ws;
  check(etl_writer_close(w, 0, &ws) == ETL_OK && ws.files >= 2, "close (%u files)", ws.files);
  uint8_t *seen = calloc(n, 1);
  uint32_t total = 0;
  for (uint32_t i = 0; i < ws.files; i++) {
    char name[64];
    etl_rotated_path(path, i, name, sizeof name);
    uint8_t *p;
    size_t len;
    readback rb = {0};
    if (file_read(name, &p, &len) == 0) {
      read_back(p, len, rec, n, seen, 300, 2, &rb);
      check(rb.errors == 0 && rb.mismatches == 0, "file %s reads back", name);
      if (i == 1) {
        int ok = 1;
        utf16_is(p + 0x68 + 0x118 + 4, name, &ok);   /* after "F\0" */
        check(ok, "the header names the rotated file");
      }
      free(p);
    } else {
      check(0, "file %s exists", name);
    }
    total += rb.matched;
    remove(name);
  }
  check(total == n, "the rotated files hold all %u records (%u)", n, total);
  /* circular: the copy is replaced whole at each flush */
  o = (etl_write_opts){.buffer_size = 4096, .start_time = START_FT, .circular = 1,
                       .circular_bytes = 8 * 4096};
  st = etl_writer_open_file(path, &o, &w);
  check(st == ETL_OK, "open circular file");
  if (st == ETL_OK) {
    append_range(w, rec, 0, n, 2, 300);
    check(etl_writer_flush(w) == ETL_OK, "circular flush");
    uint8_t *p;
    size_t len;
    readback rb = {0};
    memset(seen, 0, n);
    if (file_read(path, &p, &len) == 0) {
      read_back(p, len, rec, n, seen, 300, 2, &rb);
      free(p);
    }
    check(rb.errors == 0 && rb.mismatches == 0 && rb.matched > 0 && seen[n - 1],
          "circular file holds the newest records (%u)", rb.matched);
    FILE *t = fopen("test_etl_write.tmp.etl.tmp", "rb");
    check(t == NULL, "no temporary copy left");
    if (t) fclose(t);
    etl_writer_close(w, 0, NULL);
    remove(path);
  }
  etl_writer *w2;
  check(etl_writer_open_file("no-such-dir/x/y.etl", NULL, &w2) == ETL_ERR_IO && w2 == NULL,
        "a file that cannot be created: ETL_ERR_IO");
  free(seen);
  free(rec);
}

#ifndef _WIN32
static unsigned perm_of(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (unsigned)(sb.st_mode & 07777) : 01000000;
}

/* POSIX file creation: permission bits (0600 unless file_mode says), and
** the circular temporary copy: a planted symbolic link is never followed
** (error, its target untouched), a stale copy of ours is replaced. */
static void test_file_safety(void) {
  const char *path = "test_etl_write.safe.etl", *tmp = "test_etl_write.safe.etl.tmp";
  const char *target = "test_etl_write.target";
  mode_t old = umask(022);
  etl_write_opts o = {.buffer_size = 4096, .start_time = START_FT};
  etl_writer *w;
  remove(path);
  check(etl_writer_open_file(path, &o, &w) == ETL_OK && etl_writer_close(w, 0, NULL) == ETL_OK &&
        perm_of(path) == 0600, "a new file is 0600 by default (%o)", perm_of(path));
  remove(path);
  o.file_mode = 0644;
  check(etl_writer_open_file(path, &o, &w) == ETL_OK && etl_writer_close(w, 0, NULL) == ETL_OK &&
        perm_of(path) == 0644, "file_mode 0644 (%o)", perm_of(path));
  remove(path);
  o = (etl_write_opts){.buffer_size = 4096, .start_time = START_FT, .circular = 1,
                       .circular_bytes = 4 * 4096};
  check(etl_writer_open_file(path, &o, &w) == ETL_OK && etl_writer_close(w, 0, NULL) == ETL_OK &&
        perm_of(path) == 0600, "a circular file is 0600 (%o)", perm_of(path));
  remove(path);
  /* a link planted under the temporary name */
  FILE *f = fopen(target, "wb");
  if (f) { fputs("keep me", f); fclose(f); }
  chmod(target, 0644);
  remove(tmp);
  if (symlink(target, tmp) != 0) { check(0, "symlink"); umask(old); return; }
  errno = 0;
  w = (etl_writer *)1;
  int st = etl_writer_open_file(path, &o, &w);
  int err = errno;
  struct stat sb;
  uint8_t *p = NULL;
  size_t len = 0;
  check(st == ETL_ERR_IO && w == NULL && err == EEXIST, "a planted link: ETL_ERR_IO, EEXIST (%d, %d)",
        st, err);
  check(file_read(target, &p, &len) == 0 && len == 7 && memcmp(p, "keep me", 7) == 0 &&
        perm_of(target) == 0644, "its target is untouched");
  free(p);
  check(lstat(tmp, &sb) == 0 && S_ISLNK(sb.st_mode) && perm_of(path) == 01000000,
        "the link stays; no output file was made");
  remove(tmp);
  remove(target);
  /* a copy left by a writer that died is ours: replaced */
  f = fopen(tmp, "wb");
  if (f) { fputs("stale", f); fclose(f); }
  check(etl_writer_open_file(path, &o, &w) == ETL_OK && etl_writer_close(w, 0, NULL) == ETL_OK &&
        lstat(tmp, &sb) != 0 && perm_of(path) == 0600, "a stale copy of ours is replaced");
  remove(path);
  remove(tmp);
  umask(old);
}
#endif

/* Relog the EVENT_HEADER records of the shared samples: what the reader
** gives back from the new file equals the original records (ext items
** kept as they were: stack traces, TL schema, traits, related ids). */
static uint64_t rec_hash(const rec_record *r) {
  uint64_t h = 1469598103934665603ull;
#define MIX(p, n) for (size_t k_ = 0; k_ < (n); k_++) h = (h ^ ((const uint8_t *)(p))[k_]) * 1099511628211ull;
  MIX(&r->provider_id, 16);
  MIX(&r->desc.id, 2); MIX(&r->desc.version, 1); MIX(&r->desc.channel, 1); MIX(&r->desc.level, 1);
  MIX(&r->desc.opcode, 1); MIX(&r->desc.task, 2); MIX(&r->desc.keyword, 8);
  MIX(&r->pid, 4); MIX(&r->tid, 4); MIX(&r->cpu, 4); MIX(&r->timestamp, 8);
  MIX(&r->activity_id, 16); MIX(&r->header_flags, 2); MIX(&r->pointer_size, 1);
  MIX(&r->kernel_time, 4); MIX(&r->user_time, 4);
  for (uint32_t i = 0; i < r->ext_count; i++) { MIX(&r->ext[i].type, 2); MIX(r->ext[i].data, r->ext[i].size); }
  MIX(r->data, r->data_len);
#undef MIX
  return h;
}

static void relog_sample(const char *shared, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/etl-samples/%s", shared, name);
  etl_reader *r;
  if (etl_open_file(path, NULL, &r, NULL) != ETL_OK) { check(0, "open %s", path); return; }
  msink m = {0};
  etl_sink s = sink_of(&m);
  const etl_info *in = etl_get_info(r);
  etl_write_opts o = {.start_time = in->start_time, .buffer_size = 65536, .logger_name = "relog"};
  etl_writer *w;
  if (etl_writer_open(&s, &o, &w) != ETL_OK) { etl_close(r); check(0, "open writer"); return; }
  size_t cap = 1024, n = 0;
  uint64_t *a = malloc(cap * sizeof *a);
  rec_record rec;
  int st;
  uint32_t refused = 0;
  while ((st = etl_next(r, &rec, NULL)) != ETL_END) {
    if (st != ETL_OK || rec.header_kind != REC_HDR_EVENT || rec.timestamp < in->start_time) continue;
    if (etl_writer_append(w, &rec) != ETL_OK) { refused++; continue; }
    if (n == cap) a = realloc(a, (cap *= 2) * sizeof *a);
    a[n++] = rec_hash(&rec);
  }
  etl_close(r);
  etl_writer_close(w, 0, NULL);
  uint64_t *b = malloc((n + 1) * sizeof *b);
  size_t nb = 0, errors = 0;
  if (etl_open_memory(m.f[0].p, m.f[0].len, NULL, &r, NULL) == ETL_OK) {
    while ((st = etl_next(r, &rec, NULL)) != ETL_END) {
      if (st != ETL_OK) { errors++; continue; }
      if (rec.header_kind != REC_HDR_EVENT) continue;
      if (nb <= n) b[nb] = rec_hash(&rec);
      nb++;
    }
    etl_close(r);
  }
  qsort(a, n, sizeof *a, cmp_u64);
  if (nb <= n) qsort(b, nb, sizeof *b, cmp_u64);
  printf("  relog %s: %zu events\n", name, n);
  check(refused == 0 && errors == 0 && nb == n && (n == 0 || memcmp(a, b, n * sizeof *a) == 0),
        "relog %s: %zu events equal (read back %zu, refused %u)", name, n, nb, refused);
  free(a);
  free(b);
  msink_free(&m);
}

static void test_relog_samples(void) {
  const char *shared = unit_shared_dir();
  if (!shared) { skip("relog of the ../shared samples: ../shared absent (ETWLUA_SHARED)"); return; }
  static const char *const files[] = {
    "airbus-etl-parser/lxcore_kernel.etl", "airbus-etl-parser/AMSITrace.etl",
    "airbus-etl-parser/ShutdownPerfDiagLogger.etl", "perfview/SelfDescribingSingleEvent.etl",
    "perfview/gcevents.PerfViewData.etl", "perfview/gcrundownevents.PerfViewData.clrRundown.etl",
    "perfview/net.4.5.2.x64.etl", "perfview/primitive-types.etl",
    "s4/SIH.20230422.034724.362.1.etl", "s4/WindowsUpdate.20251008.140245.443.8.etl",
    "s4/waasmedic.20251005_113019_195.etl", "tx/HTTP_Server.etl",
  };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) relog_sample(shared, files[i]);
}

int main(void) {
#ifndef _WIN32
  alarm(120);
#endif
  test_round_trip(65536, 5000, 4, 600);
  test_round_trip(4096, 3000, 3, 2000);
  test_round_trip(4096, 0, 0, 0);
  test_round_trip(8192, 1, 1, 0);
  test_header_name_cases();
  test_flush_and_kill();
  test_rotation();
  test_rotated_names();
  test_circular();
  test_lost_flag();
  test_errors();
  test_disk_full();
  test_circular_disk_full();
  test_circular_bound();
  test_files();
#ifndef _WIN32
  test_file_safety();
#endif
  test_relog_samples();
  return unit_finish();
}
