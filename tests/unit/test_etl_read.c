/*
** test_etl_read.c: the ETL reader on synthetic files (always runs; no
** ../shared needed): every record type of spec §3 (EVENT_HEADER 32/64 with
** extended items, classic, instance, SYSTEM/COMPACT/PERFINFO with inline
** PMC bytes, WPP with and without optional parts, skipped ERROR records),
** 32- and 64-bit logfile headers, compressed buffers, Windows 7 buffer
** quirks, stable timestamp order across buffers, clocks and ISO 8601 text,
** and the open-time errors.
*/
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl.h"
#include "etl_format.h"
#include "etl_int.h"
#include "etlsynth_mini.h"
#include "unit_check.h"


static tlg_guid guid_n(uint8_t n) {
  tlg_guid g;
  for (int i = 0; i < 16; i++) g.b[i] = (uint8_t)(n * 16 + i);
  return g;
}

/* The standard file's delivery order: raw time offset from T0 and kind. */
static const struct { int64_t dt; uint8_t kind; uint8_t ptr; uint16_t cpu; } order[] = {
  {0, REC_HDR_SYSTEM, 0, 0},        /* EventTrace/Header (pointer size of the session) */
  {0, REC_HDR_SYSTEM, 0, 0},        /* PartitionInfo */
  {500, REC_HDR_SYSTEM, 4, 2},      /* SYSTEM32 with 2 inline PMC counters */
  {1500, REC_HDR_EVENT, 4, 0},      /* EVENT_HEADER32, related activity + stack */
  {2000, REC_HDR_EVENT, 8, 1},      /* EVENT_HEADER64 TraceLogging */
  {2100, REC_HDR_SYSTEM, 8, 1},
  {2150, REC_HDR_CLASSIC, 8, 0},
  {2200, REC_HDR_PERFINFO, 8, 1},   /* tie with the instance record: buffer 1 first */
  {2200, REC_HDR_INSTANCE, 4, 0},
  {2300, REC_HDR_COMPACT, 8, 1},
  {2500, REC_HDR_MESSAGE, 8, 0},
  {2500, REC_HDR_MESSAGE, 0, 0},    /* no timestamp: takes the previous record's */
  {3000, REC_HDR_EVENT, 8, 2},
};
#define NREC (sizeof order / sizeof order[0])

static void check_tl(const rec_record *r) {
  tlg_guid p1 = guid_n(1), a1 = guid_n(3);
  check(!memcmp(&r->provider_id, &p1, 16) && !memcmp(&r->activity_id, &a1, 16),
        "TL: provider and activity id");
  check(r->tid == 100 && r->pid == 200 && r->kernel_time == 3 && r->user_time == 5, "TL: ids, times");
  check(r->desc.channel == 11 && r->desc.level == 4 && r->desc.keyword == 0x10, "TL: descriptor");
  check(r->flags == (REC_HEADER | REC_ACTIVITY | REC_TRACELOGGING), "TL: flags %x", r->flags);
  check(r->ext_count == 2 && r->ext[0].type == 12 && r->ext[1].type == 11, "TL: ext items");
  check(r->traits_len == 9 && memcmp(r->traits + 2, "MyProv", 7) == 0, "TL: traits blob");
  check(r->meta_len == 9 && memcmp(r->meta + 3, "Ev", 3) == 0, "TL: schema blob");
  check(r->data_len == 4 && r->data[0] == 42, "TL: user data");
  check(r->header_flags == 1 && r->raw_header_len == 0x50, "TL: header flags, length");
  check(etl_consumer_flags(r) == (1 | ETL_EVF_64_BIT_HEADER | ETL_EVF_PROCESSOR_INDEX),
        "TL: consumer flags %x", etl_consumer_flags(r));
}

static void check_manifest(const rec_record *r) {
  tlg_guid p2 = guid_n(2);
  check(!memcmp(&r->provider_id, &p2, 16) && r->desc.id == 7 && r->desc.version == 1 &&
        r->desc.channel == 16 && r->desc.level == 2 && r->desc.opcode == 1 && r->desc.task == 3 &&
        r->desc.keyword == 0x8000000000000001ULL, "manifest: provider and descriptor");
  check(r->flags == (REC_HEADER | REC_RELATED), "manifest: flags %x", r->flags);
  check(r->related_activity_id.b[0] == 0x11 && r->related_activity_id.b[15] == 0x01,
        "manifest: related activity id");
  check(r->ext_count == 2 && r->ext[1].type == 6 && r->ext[1].size == 24 &&
        r->ext[1].data[8] == 0x10, "manifest: stack ext item");
  check(r->data_len == 6 && memcmp(r->data, "manif", 6) == 0 && !r->meta, "manifest: data");
  check(strcmp(etl_header_name(r), "EVENT_HEADER32") == 0, "manifest: header name");
}

static void check_classic(const rec_record *r, const rec_record *inst) {
  tlg_guid c1 = guid_n(4), c2 = guid_n(5);
  check(!memcmp(&r->provider_id, &c1, 16) && r->desc.opcode == 10 && r->desc.level == 4 &&
        r->mof_version == 2 && r->kernel_time == 11 && r->user_time == 13 &&
        r->data_len == 5 && !memcmp(r->data, "class", 5), "classic: fields");
  check(etl_consumer_flags(r) & ETL_EVF_CLASSIC_HEADER, "classic: consumer flags");
  check(!memcmp(&inst->provider_id, &c2, 16) && inst->instance_id == 21 &&
        inst->parent_instance_id == 22 && inst->parent_guid.b[0] == (c2.b[0] ^ 1) &&
        inst->tid == 301 && inst->data_len == 3, "instance: fields");
}

static void check_kernel(const rec_record *sys, const rec_record *pi, const rec_record *cp,
                         const rec_record *pmc) {
  static const uint8_t process_guid[16] = {0xd0, 0xa8, 0x6f, 0x3d, 0x05, 0xfe, 0xd0, 0x11,
                                           0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c};
  check(!memcmp(&sys->provider_id, process_guid, 16) && sys->hook_id == 0x0301 &&
        sys->desc.opcode == 1 && sys->desc.version == 3 && sys->kernel_time == 7 &&
        sys->user_time == 9 && sys->data_len == 16, "SYSTEM64: Process provider, fields");
  check(pi->tid == 0xFFFFFFFFu && pi->pid == 0xFFFFFFFFu && pi->hook_id == 0x0F2E &&
        pi->raw_header_len == 0x10 && pi->data_len == 8, "PERFINFO64: no ids, fields");
  check(cp->tid == 101 && cp->kernel_time == 0 && cp->raw_header_len == 0x18 && cp->data_len == 4,
        "COMPACT64: fields");
  check(pmc->raw_header_len == 0x20 + 16 && pmc->data_len == 4 && !memcmp(pmc->data, "pmc!", 4) &&
        pmc->mof_version == 0x0202 && pmc->pointer_size == 4, "SYSTEM32: inline PMC bytes");
}

static void check_wpp(const rec_record *m, const rec_record *m2) {
  tlg_guid m1 = guid_n(6);
  check(!memcmp(&m->provider_id, &m1, 16) && m->hook_id == 17 && m->desc.id == 17 &&
        m->instance_id == 99 && m->tid == 302 && m->pid == 400 && m->pointer_size == 8 &&
        m->data_len == 4 && !memcmp(m->data, "wpp1", 4) && m->raw_header_len == 44,
        "WPP: all optional parts");
  check(m2->parent_instance_id == 5 && m2->tid == 0xFFFFFFFFu && m2->data_len == 2 &&
        m2->raw_timestamp == m->raw_timestamp, "WPP: component id, no time, no ids");
  check(etl_consumer_flags(m) & ETL_EVF_TRACE_MESSAGE, "WPP: consumer flags");
}

/* Deep copy of a record: its bytes (header .. end of data, contiguous in
** the buffer) and ext item list, since both are only valid until the next
** etl_next. Freed by free_copies. */
static rec_ext_item ext_pool[64];
static size_t pool_used;

static const uint8_t *rebase(const uint8_t *p, const uint8_t *from, const uint8_t *to) {
  return p ? to + (p - from) : NULL;
}

static void deep_copy(rec_record *dst, const rec_record *src) {
  size_t span = (size_t)(src->data + src->data_len - src->raw_header);
  uint8_t *copy = malloc(span ? span : 1);
  *dst = *src;
  if (!copy) return;
  memcpy(copy, src->raw_header, span);
  dst->raw_header = copy;
  dst->data = rebase(src->data, src->raw_header, copy);
  dst->meta = rebase(src->meta, src->raw_header, copy);
  dst->traits = rebase(src->traits, src->raw_header, copy);
  if (src->ext_count && pool_used + src->ext_count <= 64) {
    rec_ext_item *e = ext_pool + pool_used;
    for (uint32_t i = 0; i < src->ext_count; i++) {
      e[i] = src->ext[i];
      e[i].data = rebase(src->ext[i].data, src->raw_header, copy);
    }
    dst->ext = e;
    pool_used += src->ext_count;
  }
}

static void free_copies(rec_record *recs, size_t n) {
  for (size_t i = 0; i < n; i++) free((void *)(uintptr_t)recs[i].raw_header);  /* our deep copy */
  pool_used = 0;
}

/* Read a whole file into deep copies; returns the record count. */
static size_t read_all(etl_reader *r, rec_record *recs, size_t max, int *errors) {
  size_t n = 0;
  rec_record rec;
  etl_error e;
  int st;
  *errors = 0;
  while ((st = etl_next(r, &rec, &e)) != ETL_END) {
    if (st != ETL_OK) { (*errors)++; printf("  error: %s\n", e.message); continue; }
    if (n < max) deep_copy(&recs[n], &rec);
    n++;
  }
  return n;
}

static void test_standard(int ptr64, int compressed, uint32_t bufsize) {
  size_t len;
  uint8_t *f = synth_standard(ptr64, compressed, bufsize, &len);
  etl_reader *r;
  etl_error e;
  check(f != NULL, "synthetic file built");
  if (!f) return;
  int st = etl_open_memory(f, len, NULL, &r, &e);
  check(st == ETL_OK, "open standard ptr64=%d compressed=%d (%s)", ptr64, compressed,
        st ? e.message : "ok");
  if (st) { free(f); return; }
  const etl_info *in = etl_get_info(r);
  check(in->pointer_size == (ptr64 ? 8u : 4u) && in->header_pointer_size == (ptr64 ? 8 : 4),
        "logfile layout %d-bit", ptr64 ? 64 : 32);
  check(strcmp(in->logger_name, "test") == 0 && strcmp(in->log_file_name, "C:\\t.etl") == 0,
        "names '%s' '%s'", in->logger_name, in->log_file_name);
  check(in->start_time == 132539328000000000LL && in->perf_freq == 10000000 &&
        in->clock_type == 1 && in->header_timestamp == 1000000 && in->tz_bias == -60 &&
        in->buffer_size == bufsize && in->buffers_written == 4 && in->os_build == 19041,
        "header fields");
  rec_record recs[NREC + 4];
  int errors;
  size_t n = read_all(r, recs, NREC + 4, &errors);
  check(n == NREC && errors == 0, "standard: %zu records, %d errors", n, errors);
  check(etl_get_stats(r)->skipped == 1 && etl_get_stats(r)->buffers == 4 &&
        etl_get_stats(r)->compressed_buffers == (compressed ? 3u : 0u), "stats");
  int bad = 0;
  for (size_t i = 0; i < n && i < NREC; i++) {
    uint8_t ptr = order[i].ptr ? order[i].ptr : (uint8_t)(ptr64 ? 8 : 4);
    if (recs[i].raw_timestamp != 1000000 + order[i].dt || recs[i].header_kind != order[i].kind ||
        recs[i].pointer_size != ptr || recs[i].cpu != order[i].cpu ||
        recs[i].timestamp != 132539328000000000LL + order[i].dt)
      bad++, printf("  record %zu: kind %u ts %lld cpu %u\n", i, recs[i].header_kind,
                    (long long)recs[i].raw_timestamp, recs[i].cpu);
  }
  check(bad == 0, "standard: order, kinds, pointer sizes, CPUs, FILETIMEs");
  if (n == NREC) {
    check_tl(&recs[4]);
    check_manifest(&recs[3]);
    check_classic(&recs[6], &recs[8]);
    check_kernel(&recs[5], &recs[7], &recs[9], &recs[2]);
    check_wpp(&recs[10], &recs[11]);
  }
  rec_record after;
  check(etl_next(r, &after, &e) == ETL_END, "END stays END");
  free_copies(recs, n < NREC + 4 ? n : NREC + 4);
  etl_close(r);
  free(f);
}

static void test_win7(void) {
  synth s;
  size_t len;
  tlg_guid p = guid_n(9);
  tlg_desc d = {21, 0, 16, 4, 28, 4, 0x8000000000000010ULL};
  synth_init(&s, 1024, 1, 0);
  s.win7 = 1;
  s.freq = 1818300;
  s.t0 = 19388662958LL;
  synth_header(&s, "DataCollector01", "x.etl");
  synth_begin(&s, 3);
  synth_event(&s, 1, 0, 0, 19479122065LL, &p, &d, NULL, NULL, 0, NULL, 0);
  synth_end(&s);
  uint8_t *f = synth_finish(&s, &len);
  etl_reader *r;
  etl_error e;
  rec_record rec;
  if (!f || etl_open_memory(f, len, NULL, &r, &e) != ETL_OK) { check(0, "win7 file opens"); free(f); return; }
  etl_next(r, &rec, &e);                     /* header record */
  check(rec.cpu == 0, "win7: header buffer ProcessorIndex 0x0800 -> cpu 0");
  etl_next(r, &rec, &e);                     /* partition info */
  check(etl_next(r, &rec, &e) == ETL_OK && rec.cpu == 3, "win7: ProcessorIndex 0x0803 -> cpu 3");
  /* HTTP_Server.etl numbers: start + (ts - T0) * 10^7 / 1818300, truncated */
  int64_t want = 132539328000000000LL + (19479122065LL - 19388662958LL) * 10000000LL / 1818300;
  check(rec.timestamp == want, "win7: QPC 1,818,300 Hz conversion");
  check(!(etl_consumer_flags(&rec) & ETL_EVF_PROCESSOR_INDEX), "win7: no PROCESSOR_INDEX flag");
  etl_close(r);
  free(f);
}

static void test_iso(void) {
  static const struct { int64_t ft; const char *iso; } v[] = {
    {0, "1601-01-01T00:00:00.0000000Z"},
    {116444736000000000LL, "1970-01-01T00:00:00.0000000Z"},
    {132539328000000000LL, "2021-01-01T00:00:00.0000000Z"},
    {132593079671234567LL, "2021-03-04T05:06:07.1234567Z"},
    {132274943999999999LL, "2020-02-29T23:59:59.9999999Z"},
    {129402940472257591LL, "2011-01-23T22:07:27.2257591Z"},
    {2650467743999999999LL, "9999-12-31T23:59:59.9999999Z"},
    {-1, "1600-12-31T23:59:59.9999999Z"},
  };
  char buf[ETL_ISO_SIZE];
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    size_t n = etl_filetime_to_iso(v[i].ft, buf);
    check(strcmp(buf, v[i].iso) == 0 && n == strlen(v[i].iso), "iso %lld -> %s (got %s)",
          (long long)v[i].ft, v[i].iso, buf);
  }
  etl_filetime_to_iso(INT64_MAX, buf);
  check(strcmp(buf, "+30828-09-14T02:48:05.4775807Z") == 0, "iso max: %s", buf);
  etl_filetime_to_iso(INT64_MIN, buf);
  check(buf[0] == '-' && strlen(buf) < ETL_ISO_SIZE, "iso min: %s", buf);
}

static void test_clock(void) {
  etl_clock c = {ETL_CLOCK_QPC, 1000, 500, 3, 0};
  check(etl_clock_to_filetime(&c, 501) == 1000 + 3333333, "QPC 3 Hz: one tick truncates");
  check(etl_clock_to_filetime(&c, 499) == 1000 - 3333333, "QPC: negative delta truncates toward zero");
  c.freq = 4000000000000LL;  /* beyond 2^63 / 10^7: the 128-bit path */
  check(etl_clock_to_filetime(&c, 500 + 3999999999999LL) == 1000 + 9999999,
        "QPC: huge frequency is exact");
  c.freq = 1;
  check(etl_clock_to_filetime(&c, INT64_MAX) == INT64_MAX, "QPC: saturates");
  check(etl_clock_to_filetime(&c, INT64_MIN) == INT64_MIN + 1000, "QPC: saturates low");
  etl_clock sys = {ETL_CLOCK_SYSTEM, 1000, 500, 0, 0};
  check(etl_clock_to_filetime(&sys, 132539328000000123LL) == 132539328000000123LL,
        "system-time clock: raw is FILETIME");
  etl_clock cyc = {ETL_CLOCK_CPU_CYCLE, 1000, 500, 0, 3000};
  check(etl_clock_to_filetime(&cyc, 500 + 3000 * 1000) == 1000 + 10000, "cycle clock: 1 ms");
  etl_info in;
  memset(&in, 0, sizeof in);
  in.clock_type = ETL_CLOCK_QPC;
  etl_clock_init(&c, &in);
  check(c.freq == 10000000, "QPC without frequency: 10 MHz");
}

/* etl_clock_fast (the decoder's inline 10 MHz case) gives what
** etl_clock_to_filetime gives, at the edges too; other clocks with a 10 MHz
** frequency field take their own formulas. */
static void test_clock_fast(void) {
  etl_clock c = {ETL_CLOCK_QPC, 1000, 500, 10000000, 0};
  check(etl_clock_fast(&c, 501) == 1001, "fast QPC 10 MHz: one tick");
  check(etl_clock_fast(&c, 400) == 900, "fast QPC 10 MHz: before t0");
  check(etl_clock_fast(&c, INT64_MAX) == INT64_MAX, "fast QPC: start + delta saturates");
  check(etl_clock_fast(&c, INT64_MIN) == INT64_MIN + 1000, "fast QPC: raw - t0 saturates");
  etl_clock late = {ETL_CLOCK_QPC, INT64_MAX - 5, 0, 10000000, 0};
  check(etl_clock_fast(&late, 10) == INT64_MAX, "fast QPC: a late start saturates");
  etl_clock sys = {ETL_CLOCK_SYSTEM, 1000, 500, 10000000, 0};
  check(etl_clock_fast(&sys, 132539328000000123LL) == 132539328000000123LL,
        "fast: a system-time clock with a 10 MHz field is still raw FILETIME");
  etl_clock cyc = {ETL_CLOCK_CPU_CYCLE, 1000, 500, 10000000, 3000};
  check(etl_clock_fast(&cyc, 500 + 3000 * 1000) == 1000 + 10000,
        "fast: a cycle clock with a 10 MHz field still counts cycles");
  etl_clock slow = {ETL_CLOCK_QPC, 1000, 500, 3, 0};
  check(etl_clock_fast(&slow, 501) == 1000 + 3333333, "fast: another frequency scales");
}

/* etl_frame_fast (the walks' inline framing) agrees with etl_record_frame:
** it takes well-formed typed headers of every kind, with the sizes given
** here, and whatever it takes, etl_record_frame frames the same way;
** pseudo-random records check the second rule on odd input. */
static void test_frame_fast(void) {
  static const struct { uint32_t marker; uint16_t word0, word2; uint32_t avail, size, ts_at; } ok[] = {
    {0xC0130000u | 0x60, 0, 0, 0x100, 0x60, 0x10},          /* EVENT64 */
    {0xC0120000u | 0x50, 0, 0, 0x50, 0x50, 0x10},           /* EVENT32, exactly the header */
    {0xC0140000u | 0x38, 0, 0, 0x40, 0x38, 0x10},           /* FULL64 */
    {0xC0150000u | 0x48, 0, 0, 0x48, 0x48, 0x10},           /* INSTANCE64 */
    {0xC0020000u, 0x0002, 0x28, 0x40, 0x28, 0x10},          /* SYSTEM64: size at +4 */
    {0xC0020000u, 0x0202, 0x30, 0x40, 0x30, 0x10},          /* SYSTEM64 with 2 PMC counters */
    {0xC0040000u, 0x8002, 0x20, 0x20, 0x20, 0x10},          /* COMPACT64 with a PEBS index */
    {0xC0110000u, 0x0002, 0x18, 0x20, 0x18, 0x08},          /* PERFINFO64: time at +8 */
  };
  uint8_t rec[0x200];
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    memset(rec, 0, sizeof rec);
    for (int k = 0; k < 4; k++) rec[k] = (uint8_t)(ok[i].marker >> (8 * k));
    if (ok[i].marker >> 16 == 0xC002 || ok[i].marker >> 16 == 0xC004 ||
        ok[i].marker >> 16 == 0xC011) {
      rec[0] = (uint8_t)ok[i].word0;
      rec[1] = (uint8_t)(ok[i].word0 >> 8);
      rec[4] = (uint8_t)ok[i].word2;
      rec[5] = (uint8_t)(ok[i].word2 >> 8);
    }
    for (int k = 0; k < 8; k++) rec[ok[i].ts_at + k] = (uint8_t)(0x11 * (k + 1));
    uint32_t size = 0;
    int64_t ts = 0;
    int got = etl_frame_fast(rec, ok[i].avail, &size, &ts);
    check(got == 1 && size == ok[i].size && ts == (int64_t)0x8877665544332211LL,
          "frame_fast case %zu: taken %d, size 0x%x (want 0x%x)", i, got, size, ok[i].size);
  }
  uint32_t x = 12345, agree = 0, taken = 0;
  for (int i = 0; i < 200000; i++) {
    for (int k = 0; k < 24; k++) { x = x * 1103515245u + 12345u; rec[k] = (uint8_t)(x >> 16); }
    if (i % 2) {                                      /* half: near a typed header */
      rec[3] |= 0xC0;
      rec[2] = (uint8_t)(x % 0x18);                   /* the known types and some others */
      rec[1] = 0;                                     /* sizes below 0x100 (marker) */
      rec[5] = 0;                                     /* and at +4 */
      if (i % 4 == 1) rec[1] &= 0x87;                 /* few PMC counters */
    }
    uint32_t avail = (x >> 3) % 0x120, fs = 0, ss = 0;
    int64_t ft = 0, st = 0;
    char why[128];
    if (!etl_frame_fast(rec, avail, &fs, &ft)) continue;
    taken++;
    int r = etl_record_frame(rec, avail, 7, &ss, &st, why, sizeof why);
    if (r == ETL_FRAME_OK && ss == fs && st == ft) agree++;
  }
  check(taken > 1000 && agree == taken, "frame_fast on odd input: %u taken, %u agree", taken,
        agree);
  uint8_t end[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}, err[16] = {0x10, 0, 0x0D, 0xC0};
  uint8_t wpp[16] = {0x10, 0, 0, 0x90};
  uint32_t sz;
  int64_t t;
  check(!etl_frame_fast(end, 8, &sz, &t) && !etl_frame_fast(err, 16, &sz, &t) &&
            !etl_frame_fast(wpp, 16, &sz, &t) && !etl_frame_fast(rec, 7, &sz, &t),
        "frame_fast leaves the end marker, error records, WPP and short input to the full framing");
}

/* c:info().clock names (etl_clock_name, the one home of these texts) */
static void test_clock_names(void) {
  check(strcmp(etl_clock_name(1), "QPC") == 0, "clock 1: QPC");
  check(strcmp(etl_clock_name(2), "system time") == 0, "clock 2: system time");
  check(strcmp(etl_clock_name(3), "CPU cycles") == 0, "clock 3: CPU cycles");
  check(strcmp(etl_clock_name(0), "unknown") == 0 && strcmp(etl_clock_name(7), "unknown") == 0,
        "other clocks: unknown");
}

static void test_open_errors(void) {
  etl_reader *r = (etl_reader *)1;
  etl_error e;
  uint8_t small[100] = {0};
  check(etl_open_memory(small, sizeof small, NULL, &r, &e) == ETL_ERR_DATA && r == NULL &&
        strncmp(e.message, "offset 0x0: ", 12) == 0, "too small: %s", e.message);
  size_t len;
  uint8_t *f = synth_standard(1, 0, 512, &len);
  if (!f) return;
  f[0x48 + 3] = 0x80;
  check(etl_open_memory(f, len, NULL, &r, &e) == ETL_ERR_DATA && e.offset == 0x48 &&
        strstr(e.message, "offset 0x48: not an ETL file"), "bad first marker: %s", e.message);
  f[0x48 + 3] = 0xC0;
  f[0x48 + 4] = 0x20;
  f[0x48 + 5] = 0;
  check(etl_open_memory(f, len, NULL, &r, &e) == ETL_ERR_DATA && e.offset == 0x48,
        "header record too small: %s", e.message);
  check(etl_open_memory(NULL, 10, NULL, &r, &e) == ETL_ERR_ARG, "NULL data");
  check(etl_open_file("/nonexistent/x.etl", NULL, &r, &e) == ETL_ERR_IO && r == NULL &&
        strstr(e.message, "cannot open"), "missing file: %s", e.message);
  check(etl_next(NULL, NULL, &e) == ETL_ERR_ARG, "etl_next(NULL)");
  etl_close(NULL);
  free(f);
}

static void test_file_io(void) {
  size_t len;
  uint8_t *f = synth_standard(1, 1, 2048, &len);
  const char *path = "test_etl_read.tmp.etl";
  FILE *out = fopen(path, "wb");
  if (!f || !out) { check(0, "temp file"); free(f); if (out) fclose(out); return; }
  fwrite(f, 1, len, out);
  fclose(out);
  etl_reader *r;
  etl_error e;
  rec_record recs[NREC + 1];
  int errors;
  int st = etl_open_file(path, NULL, &r, &e);
  check(st == ETL_OK, "etl_open_file (%s)", st ? e.message : "ok");
  if (st) { remove(path); free(f); return; }
  size_t n = read_all(r, recs, NREC + 1, &errors);
  check(n == NREC && errors == 0, "etl_open_file: records");
  free_copies(recs, n);
  check(etl_get_info(r)->file_size == len, "file size");
  etl_close(r);
  remove(path);
  free(f);
}

static void test_header_warnings(void) {
  size_t len;
  uint8_t *f = synth_standard(1, 0, 512, &len);
  if (!f) return;
  f[0x48 + 0x20 + 0x2C] = 4;  /* PointerSize 4 in a 64-bit header */
  etl_reader *r;
  etl_error e;
  rec_record rec;
  check(etl_open_memory(f, len, NULL, &r, &e) == ETL_OK, "PointerSize mismatch still opens");
  check(etl_next(r, &rec, &e) == ETL_ERR_DATA && e.offset == 0x48 + 0x20 + 0x2C &&
        strstr(e.message, "PointerSize"), "PointerSize warning first: %s", e.message);
  check(etl_next(r, &rec, &e) == ETL_OK && rec.hook_id == 0, "then the header record");
  etl_close(r);
  free(f);
}

int main(void) {
  for (int ptr64 = 0; ptr64 <= 1; ptr64++)
    for (int comp = 0; comp <= 1; comp++) test_standard(ptr64, comp, comp ? 65536 : 512);
  test_standard(1, 0, 4096);
  test_win7();
  test_iso();
  test_clock();
  test_clock_fast();
  test_frame_fast();
  test_clock_names();
  test_open_errors();
  test_file_io();
  test_header_warnings();
  return unit_finish();
}
