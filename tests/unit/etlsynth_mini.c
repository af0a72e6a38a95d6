/*
** etlsynth_mini.c: synthetic ETL writer for tests (see etlsynth_mini.h).
*/
#include <stdlib.h>
#include <string.h>

#include "etlsynth_mini.h"
#include "lzx_mini.h"
#include "tlg_guid.h"

static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, (uint16_t)v); w16(p + 2, (uint16_t)(v >> 16)); }
static void w64(uint8_t *p, uint64_t v) { w32(p, (uint32_t)v); w32(p + 4, (uint32_t)(v >> 32)); }

static void append(synth *s, const void *p, size_t n) {
  if (s->len + n > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->len + n) cap *= 2;
    uint8_t *nf = realloc(s->file, cap);
    if (!nf) { s->oom = 1; return; }
    s->file = nf;
    s->cap = cap;
  }
  memcpy(s->file + s->len, p, n);
  s->len += n;
}

void synth_init(synth *s, uint32_t bufsize, int ptr64, int compressed) {
  memset(s, 0, sizeof *s);
  s->bufsize = bufsize;
  s->ptr64 = ptr64;
  s->compressed = compressed;
  s->buf = calloc(1, bufsize);
  if (!s->buf) s->oom = 1;
  s->start_time = 132539328000000000LL;  /* 2021-01-01T00:00:00Z */
  s->t0 = 1000000;
  s->freq = 10000000;
  s->clock_type = 1;
  s->cpu_mhz = 3000;
}

/* Reserve `size` bytes for a record at the next 8-aligned offset. */
static uint8_t *rec(synth *s, uint32_t size) {
  uint32_t at = (s->fill + 7u) & ~7u;
  if (s->oom || at + size > s->bufsize) { s->oom = 1; return NULL; }
  memset(s->buf + s->fill, 0xCC, at - s->fill);  /* junk padding, as Windows leaves */
  memset(s->buf + at, 0, size);
  s->fill = at + size;
  return s->buf + at;
}

static void start_buffer(synth *s, uint16_t cpu, uint16_t type) {
  memset(s->buf, 0, s->bufsize);
  s->fill = 0x48;
  s->cpu = cpu;
  s->flags = s->win7 ? 0 : 0x20;
  w16(s->buf + 0x36, type);
}

static void lfh_fields(synth *s, uint8_t *h) {
  uint32_t d = s->ptr64 ? 0 : 8;
  w32(h, s->bufsize);
  w32(h + 0x04, s->compressed ? 0x0002000Au : 0x0501000Au);
  w32(h + 0x08, 19041);
  w32(h + 0x0C, 4);
  w64(h + 0x10, (uint64_t)(s->start_time + 100000000));
  w32(h + 0x18, 156250);
  w32(h + 0x20, s->compressed ? 0x04010001u : 1u);
  w32(h + 0x28, 1);
  w32(h + 0x2C, s->ptr64 ? 8 : 4);
  w32(h + 0x34, s->cpu_mhz);
  w32(h + 0x48 - d, (uint32_t)-60);  /* time zone bias */
  w64(h + 0xF8 - d, (uint64_t)(s->start_time - 36000000000LL));
  w64(h + 0x100 - d, (uint64_t)s->freq);
  w64(h + 0x108 - d, (uint64_t)s->start_time);
  w32(h + 0x110 - d, s->clock_type);
}

static uint32_t utf16(uint8_t *o, const char *a) {
  uint32_t n = 0;
  for (; *a; a++, n += 2) w16(o + n, (uint8_t)*a);
  w16(o + n, 0);
  return n + 2;
}

void synth_header(synth *s, const char *logger, const char *logfile) {
  uint32_t lfh = s->ptr64 ? 0x118 : 0x110;
  uint32_t size = 0x20 + lfh + 2 * (uint32_t)(strlen(logger) + strlen(logfile) + 2);
  start_buffer(s, 0, 4);
  uint8_t *p = rec(s, size);
  if (!p) return;
  w16(p, 2);
  p[2] = s->ptr64 ? 2 : 1;
  p[3] = 0xC0;
  w16(p + 4, (uint16_t)size);
  w32(p + 8, 1234);
  w32(p + 12, 4321);
  w64(p + 0x10, (uint64_t)s->t0);
  lfh_fields(s, p + 0x20);
  uint32_t n = utf16(p + 0x20 + lfh, logger);
  utf16(p + 0x20 + lfh + n, logfile);
  synth_system(s, s->ptr64 ? 2 : 1, 2, 0x0050, 1234, 4321, s->t0, NULL, 0);
  synth_end(s);
}

void synth_begin(synth *s, uint16_t cpu) { start_buffer(s, cpu, 0); }

static void buffer_header(synth *s, uint8_t *h, uint32_t disk, uint32_t fill) {
  w32(h, disk);
  w32(h + 0x04, s->win7 && s->nbufs == 0 ? 0 : fill);  /* Windows 7: SavedOffset 0 */
  w32(h + 0x08, fill);
  w64(h + 0x10, s->nbufs ? (uint64_t)s->t0 + 1000000u * s->nbufs : 0);
  w64(h + 0x18, s->nbufs);
  w16(h + 0x28, (uint16_t)(s->win7 ? (0x0800 | s->cpu) : s->cpu));
  w16(h + 0x2A, 0x10);
  w32(h + 0x2C, 3);
  w32(h + 0x30, fill);
  w16(h + 0x34, s->flags);
}

void synth_end(synth *s) {
  uint32_t fill = (s->fill + 7u) & ~7u;
  if (fill > s->bufsize) fill = s->bufsize;
  memset(s->buf + s->fill, 0xCC, fill - s->fill);
  memset(s->buf + fill, 0xFF, s->bufsize - fill);
  if (!s->compressed || s->nbufs == 0) {
    uint32_t disk = s->compressed ? (fill + 511u) & ~511u : s->bufsize;
    if (disk > s->bufsize) disk = s->bufsize;
    if (s->nbufs == 0) s->flags |= 1;
    buffer_header(s, s->buf, disk, fill);
    append(s, s->buf, disk);
  } else {
    size_t cap = fill + fill / 8 + 64;
    uint8_t *z = malloc(cap);
    size_t n = z ? lzx_compress(s->buf + 0x48, fill - 0x48, z + 0x48, cap - 0x48, (size_t)-1) : 0;
    if (!z || (n == 0 && fill > 0x48)) { free(z); s->oom = 1; return; }
    s->flags |= 0x40;
    buffer_header(s, z, (uint32_t)(0x48 + n), fill);
    append(s, z, 0x48 + n);
    free(z);
  }
  s->nbufs++;
}

static uint32_t ext_bytes(const synth_ext *ext, int next) {
  uint32_t n = 0;
  for (int i = 0; i < next; i++) n += 8 + ((ext[i].len + 7u) & ~7u);
  return n;
}

void synth_event(synth *s, int ptr64, uint32_t tid, uint32_t pid, int64_t ts,
                 const tlg_guid *provider, const tlg_desc *d, const tlg_guid *activity,
                 const synth_ext *ext, int next, const void *data, uint16_t len) {
  uint32_t size = 0x50 + ext_bytes(ext, next) + len;
  uint8_t *p = rec(s, size);
  if (!p) return;
  w16(p, (uint16_t)size);
  p[2] = ptr64 ? 0x13 : 0x12;
  p[3] = 0xC0;
  w16(p + 4, next ? 1 : 0);
  w32(p + 8, tid);
  w32(p + 12, pid);
  w64(p + 0x10, (uint64_t)ts);
  memcpy(p + 0x18, provider->b, 16);
  tlg_desc_pack(d, p + 0x28);
  w32(p + 0x38, 3);
  w32(p + 0x3C, 5);
  if (activity) memcpy(p + 0x40, activity->b, 16);
  uint32_t at = 0x50;
  for (int i = 0; i < next; i++) {
    uint16_t item = (uint16_t)(8 + ((ext[i].len + 7u) & ~7u));
    w16(p + at, item);
    w16(p + at + 2, ext[i].type);
    w16(p + at + 4, i + 1 < next ? 1 : 0);
    w16(p + at + 6, ext[i].len);
    memcpy(p + at + 8, ext[i].data, ext[i].len);
    at += item;
  }
  if (len) memcpy(p + at, data, len);
}

void synth_system(synth *s, uint8_t type, uint16_t version, uint16_t hook, uint32_t tid,
                  uint32_t pid, int64_t ts, const void *data, uint16_t len) {
  uint32_t hdr = type <= 2 ? 0x20 : type <= 4 ? 0x18 : 0x10;
  uint32_t inl = 8u * ((version & 0x0700u) >> 8) + ((version & 0x8000u) ? 8u : 0u);
  uint32_t size = hdr + inl + len;
  uint8_t *p = rec(s, size);
  if (!p) return;
  w16(p, version);
  p[2] = type;
  p[3] = 0xC0;
  w16(p + 4, (uint16_t)size);
  w16(p + 6, hook);
  if (hdr == 0x10) {
    w64(p + 8, (uint64_t)ts);
  } else {
    w32(p + 8, tid);
    w32(p + 12, pid);
    w64(p + 0x10, (uint64_t)ts);
  }
  if (hdr == 0x20) { w32(p + 0x18, 7); w32(p + 0x1C, 9); }
  memset(p + hdr, 0xA5, inl);
  if (len) memcpy(p + hdr + inl, data, len);
}

void synth_classic(synth *s, uint8_t type, uint8_t cls_type, uint8_t level, uint16_t ver,
                   uint32_t tid, uint32_t pid, int64_t ts, const tlg_guid *g,
                   const void *data, uint16_t len) {
  int inst = type == 0x0B || type == 0x15;
  uint32_t hdr = inst ? 0x48 : 0x30, size = hdr + len;
  uint8_t *p = rec(s, size);
  if (!p) return;
  w16(p, (uint16_t)size);
  p[2] = type;
  p[3] = 0xC0;
  p[4] = cls_type;
  p[5] = level;
  w16(p + 6, ver);
  w32(p + 8, tid);
  w32(p + 12, pid);
  w64(p + 0x10, (uint64_t)ts);
  memcpy(p + 0x18, g->b, 16);
  w32(p + 0x28, 11);
  w32(p + 0x2C, 13);
  if (inst) {
    w32(p + 0x30, 21);
    w32(p + 0x34, 22);
    memcpy(p + 0x38, g->b, 16);
    p[0x38] ^= 1;
  }
  if (len) memcpy(p + hdr, data, len);
}

void synth_message(synth *s, uint16_t opt, uint16_t msgnum, uint32_t seq, const tlg_guid *g,
                   uint32_t component, int64_t ts, uint32_t tid, uint32_t pid,
                   const void *data, uint16_t len) {
  uint32_t hdr = 8 + ((opt & 1) ? 4 : 0) + ((opt & 2) ? 16 : (opt & 4) ? 4 : 0) +
                 ((opt & 8) ? 8 : 0) + ((opt & 0x20) ? 8 : 0);
  uint32_t size = hdr + len, at = 8;
  uint8_t *p = rec(s, size);
  if (!p) return;
  w16(p, (uint16_t)size);
  p[3] = 0x90;
  w16(p + 4, msgnum);
  w16(p + 6, opt);
  if (opt & 1) { w32(p + at, seq); at += 4; }
  if (opt & 2) { memcpy(p + at, g->b, 16); at += 16; }
  else if (opt & 4) { w32(p + at, component); at += 4; }
  if (opt & 8) { w64(p + at, (uint64_t)ts); at += 8; }
  if (opt & 0x20) { w32(p + at, tid); w32(p + at + 4, pid); at += 8; }
  if (len) memcpy(p + at, data, len);
}

void synth_raw(synth *s, const void *bytes, uint32_t len) {
  uint8_t *p = rec(s, len);
  if (p) memcpy(p, bytes, len);
}

uint8_t *synth_finish(synth *s, size_t *len) {
  free(s->buf);
  s->buf = NULL;
  if (s->oom || s->len < 0x48 + 0x20 + 0x38) { free(s->file); return NULL; }
  uint8_t *lfh = s->file + 0x48 + 0x20;
  w32(lfh + 0x24, s->nbufs);
  w32(lfh + 0x30, s->events_lost);
  w32(lfh + (s->ptr64 ? 0x114 : 0x10C), s->buffers_lost);
  *len = s->len;
  return s->file;
}

/* ---- the standard file (see the header; test_etl_read.c lists its records) ---- */

static const uint8_t traits[] = {9, 0, 'M', 'y', 'P', 'r', 'o', 'v', 0};
static const uint8_t schema[] = {9, 0, 0, 'E', 'v', 0, 'f', 0, 8};
static const uint8_t related[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                    0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xF0, 0x01};
static const uint8_t stack[24] = {1, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x20, 0x30, 0x40, 0, 0, 0, 0,
                                  0x50, 0x60, 0x70, 0x80, 0, 0, 0, 0};

static tlg_guid guid_n(uint8_t n) {
  tlg_guid g;
  for (int i = 0; i < 16; i++) g.b[i] = (uint8_t)(n * 16 + i);
  return g;
}

static void standard_buffers(synth *s) {
  tlg_guid p1 = guid_n(1), p2 = guid_n(2), a1 = guid_n(3), c1 = guid_n(4), c2 = guid_n(5),
           m1 = guid_n(6);
  tlg_desc tl = {0, 0, 11, 4, 0, 0, 0x10}, man = {7, 1, 16, 2, 1, 3, 0x8000000000000001ULL},
           plain = {1, 0, 0, 5, 0, 0, 0};
  synth_ext tlx[2] = {{12, traits, sizeof traits}, {11, schema, sizeof schema}};
  synth_ext mx[2] = {{1, related, 16}, {6, stack, 24}};
  static const uint8_t err_rec[16] = {16, 0, 0x0D, 0xC0};
  uint32_t v42 = 42;
  int64_t t = s->t0;
  synth_begin(s, 1);
  synth_event(s, 1, 100, 200, t + 2000, &p1, &tl, &a1, tlx, 2, &v42, 4);
  synth_system(s, 2, 3, 0x0301, 100, 200, t + 2100, "0123456789abcdef", 16);
  synth_system(s, 0x11, 2, 0x0F2E, 0, 0, t + 2200, "perfinfo", 8);
  synth_system(s, 4, 2, 0x0524, 101, 200, t + 2300, "cmpt", 4);
  synth_end(s);
  synth_begin(s, 0);
  synth_event(s, 0, 300, 400, t + 1500, &p2, &man, NULL, mx, 2, "manif", 6);
  synth_classic(s, 0x14, 10, 4, 2, 300, 400, t + 2150, &c1, "class", 5);
  synth_classic(s, 0x0B, 1, 5, 0, 301, 400, t + 2200, &c2, "ins", 3);
  synth_message(s, 0x2B | 0x80, 17, 99, &m1, 0, t + 2500, 302, 400, "wpp1", 4);
  synth_message(s, 0x04, 18, 0, NULL, 5, 0, 0, 0, "w2", 2);
  synth_end(s);
  synth_begin(s, 2);
  synth_raw(s, err_rec, sizeof err_rec);
  synth_system(s, 1, 0x0202, 0x0A20, 500, 600, t + 500, "pmc!", 4);
  synth_event(s, 1, 700, 800, t + 3000, &p1, &plain, NULL, NULL, 0, NULL, 0);
  synth_end(s);
}

uint8_t *synth_standard(int ptr64, int compressed, uint32_t bufsize, size_t *len) {
  synth s;
  synth_init(&s, bufsize, ptr64, compressed);
  synth_header(&s, "test", "C:\\t.etl");
  standard_buffers(&s);
  return synth_finish(&s, len);
}
