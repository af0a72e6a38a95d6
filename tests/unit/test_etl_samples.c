/*
** test_etl_samples.c: the ETL reader against the 12 real Windows samples in
** $ETWLUA_SHARED/etl-samples, read in place: logfile header, record count,
** delivery order (stable by timestamp), every header field, payload bytes
** and extended items vs the reference scanner's decode (etlscan.jsonl),
** provider ids vs dissect.etl, timestamps vs the spec §7 formula from the
** reference's header values, and HTTP_Server.etl vs the Windows EVTX export
** (time to 100 ns, order, ids, CPU, CPU times, activity ids).
** Skips (exit 77) when ../shared is absent.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl.h"
#include "etl_format.h"
#include "etlref_mini.h"
#include "inflate_mini.h"
#include "tlg_decode.h"
#include "tlg_guid.h"
#include "unit_check.h"

static const char *const samples[] = {
  "airbus-etl-parser/lxcore_kernel.etl", "airbus-etl-parser/AMSITrace.etl",
  "airbus-etl-parser/ShutdownPerfDiagLogger.etl", "perfview/primitive-types.etl",
  "perfview/SelfDescribingSingleEvent.etl", "perfview/gcevents.PerfViewData.etl",
  "perfview/gcrundownevents.PerfViewData.clrRundown.etl", "perfview/net.4.5.2.x64.etl",
  "tx/HTTP_Server.etl", "s4/SIH.20230422.034724.362.1.etl",
  "s4/WindowsUpdate.20251008.140245.443.8.etl", "s4/waasmedic.20251005_113019_195.etl",
};

/* ---- logfile header ---- */

static void check_info(const char *name, const etl_info *in, const jm_value *h) {
  struct { const char *key; int64_t got; } f[] = {
    {"BufferSize", in->buffer_size}, {"Version", in->version},
    {"ProviderVersion", in->os_build}, {"NumberOfProcessors", in->num_processors},
    {"EndTime", in->end_time}, {"TimerResolution", in->timer_resolution},
    {"MaximumFileSize", in->max_file_size}, {"LogFileMode", in->log_file_mode},
    {"BuffersWritten", in->buffers_written}, {"StartBuffers", in->start_buffers},
    {"PointerSize", in->pointer_size}, {"EventsLost", in->events_lost},
    {"CpuSpeedInMHz", in->cpu_speed_mhz}, {"LoggerNamePtr", (int64_t)in->logger_name_ptr},
    {"LogFileNamePtr", (int64_t)in->log_file_name_ptr}, {"TimeZoneBias", in->tz_bias},
    {"BootTime", in->boot_time}, {"PerfFreq", in->perf_freq}, {"StartTime", in->start_time},
    {"ReservedFlags", in->clock_type}, {"BuffersLost", in->buffers_lost},
    {"_header_event_ts", in->header_timestamp},
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
    int64_t want = jm_i64(jm_get(h, f[i].key), -12345);
    if (want != f[i].got) {
      bad++;
      printf("  %s: %s = %lld, reference %lld\n", name, f[i].key, (long long)f[i].got,
             (long long)want);
    }
  }
  check(bad == 0, "%s: logfile header fields equal the reference", name);
  check(strcmp(in->logger_name, jm_str(jm_get(h, "LoggerName"), "?")) == 0 &&
        strcmp(in->log_file_name, jm_str(jm_get(h, "LogFileName"), "?")) == 0,
        "%s: logger name '%s' and log file name '%s'", name, in->logger_name, in->log_file_name);
}

/* ---- one record vs its reference ---- */

/* spec §7 formula, computed from the reference's own header values */
static int64_t expected_filetime(const jm_value *h, int64_t ts) {
  int64_t start = jm_i64(jm_get(h, "StartTime"), 0), f = jm_i64(jm_get(h, "PerfFreq"), 1);
  int64_t d = ts - jm_i64(jm_get(h, "_header_event_ts"), 0);
  return start + d / f * 10000000 + d % f * 10000000 / f;
}

static uint32_t record_size(const rec_record *r) {
  int kernel = r->header_kind == REC_HDR_SYSTEM || r->header_kind == REC_HDR_COMPACT ||
               r->header_kind == REC_HDR_PERFINFO;
  return tlg_le16(r->raw_header + (kernel ? 4 : 0));
}

static uint32_t expected_cpu(const ref_rec *x) {
  return (x->buffer_flag & ETL_BUF_FLAG_PROC_INDEX) ? x->proc_index & 0x7FFu
                                                     : x->proc_index & 0xFFu;
}

static const char *cmp_ext(const rec_record *r, const ref_rec *x) {
  if (r->ext_count != x->next) return "ext item count";
  const rec_ext_item *tl = NULL, *rel = NULL;
  for (uint32_t i = 0; i < x->next; i++) {
    if (r->ext[i].type != x->ext[i].type || r->ext[i].size != x->ext[i].data_size)
      return "ext item type/size";
    if (memcmp(r->ext[i].data, x->ext[i].data, x->ext[i].data_size)) return "ext item bytes";
    if (x->ext[i].type == 11 && !tl) tl = &r->ext[i];
    if (x->ext[i].type == 1 && !rel) rel = &r->ext[i];
  }
  if (!!(r->flags & REC_TRACELOGGING) != !!tl) return "TraceLogging flag";
  if (tl && (r->meta != tl->data || r->meta_len != tl->size)) return "TraceLogging meta";
  if (rel && (!(r->flags & REC_RELATED) ||
              memcmp(r->related_activity_id.b, rel->data, 16)))
    return "related activity id";
  return NULL;
}

/* A TraceLogging record decodes to the end with the reference's event name. */
static const char *cmp_tl(const rec_record *r, const ref_rec *x) {
  tlg_decoder d;
  tlg_item it;
  if (!x->tl_event[0]) return r->flags & REC_TRACELOGGING ? "TraceLogging flag" : NULL;
  if (tlg_decode_start(&d, r->meta, r->meta_len, r->data, r->data_len) != TLG_OK)
    return "TraceLogging metadata";
  if (strcmp(d.event_name, x->tl_event) != 0) return "TraceLogging event name";
  while (tlg_decode_next(&d, &it)) {}
  return tlg_decode_status(&d) == TLG_OK ? NULL : "TraceLogging field decode";
}

static const char *cmp_event(const rec_record *r, const ref_rec *x) {
  if (r->header_flags != x->evflags || r->event_property != x->evprop) return "flags/property";
  if (memcmp(&r->provider_id, &x->provider, 16)) return "provider id";
  if (memcmp(&r->activity_id, &x->activity, 16)) return "activity id";
  if (r->desc.id != x->desc.id || r->desc.version != x->desc.version ||
      r->desc.channel != x->desc.channel || r->desc.level != x->desc.level ||
      r->desc.opcode != x->desc.opcode || r->desc.task != x->desc.task ||
      r->desc.keyword != x->desc.keyword)
    return "event descriptor";
  if (r->kernel_time != x->kernel_time || r->user_time != x->user_time) return "CPU times";
  if (r->data_len != x->user_data_len || x->user_data_have > r->data_len ||
      memcmp(r->data, x->user_data, x->user_data_have))
    return "user data";
  const char *why = cmp_ext(r, x);
  return why ? why : cmp_tl(r, x);
}

static const char *cmp_kind(const rec_record *r, const ref_rec *x) {
  switch (r->header_kind) {
  case REC_HDR_EVENT:
    return cmp_event(r, x);
  case REC_HDR_CLASSIC:
    if (r->desc.opcode != x->cls_type || r->desc.level != x->cls_level ||
        r->mof_version != x->cls_version)
      return "class type/level/version";
    if (memcmp(&r->provider_id, &x->provider, 16)) return "class guid";
    return r->data_len == x->size - ETL_FULL_HDR_SIZE ? NULL : "payload length";
  default:
    if ((r->mof_version & 0xFF) != x->version || r->hook_id != (x->group << 8 | x->type))
      return "version/hook id";
    if (r->data_len != x->payload_len) return "payload length";
    uint32_t fixed = r->header_kind == REC_HDR_SYSTEM ? ETL_SYSTEM_HDR_SIZE
                   : r->header_kind == REC_HDR_COMPACT ? ETL_COMPACT_HDR_SIZE
                   : ETL_PERFINFO_HDR_SIZE;
    return r->raw_header_len == fixed + x->inline_ext ? NULL : "header length";
  }
}

static const char *cmp_record(const rec_record *r, const ref_rec *x, const jm_value *h) {
  if (strcmp(etl_header_name(r), x->hdr) != 0) return "header type";
  if (record_size(r) != x->size) return "size";
  if (r->raw_timestamp != x->ts) return "raw timestamp";
  if (r->timestamp != expected_filetime(h, x->ts)) return "FILETIME";
  if (r->tid != (x->has_ids ? x->tid : 0xFFFFFFFFu) || r->pid != (x->has_ids ? x->pid : 0xFFFFFFFFu))
    return "thread/process id";
  if (r->cpu != expected_cpu(x)) return "cpu";
  if (!(r->flags & REC_HEADER)) return "header flag";
  if (x->has_dissect && memcmp(&r->provider_id, &x->dprov, 16)) return "provider id (dissect)";
  uint32_t after = record_size(r) - r->raw_header_len;
  const uint8_t *tail = r->raw_header + r->raw_header_len;
  if (x->dpayload_len > after || memcmp(tail, x->dpayload, x->dpayload_len))
    return "payload bytes (dissect)";
  return cmp_kind(r, x);
}

/* ---- one sample ---- */

static long find_ref(const ref_file *rf, uint64_t buf_off, uint32_t rec_off) {
  size_t lo = 0, hi = rf->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const ref_rec *m = &rf->recs[mid];
    if (m->buf_off < buf_off || (m->buf_off == buf_off && m->rec_off < rec_off)) lo = mid + 1;
    else hi = mid;
  }
  if (lo < rf->n && rf->recs[lo].buf_off == buf_off && rf->recs[lo].rec_off == rec_off)
    return (long)lo;
  return -1;
}

/* Expected delivery: indices stably sorted by raw timestamp (insertion into
** runs is O(n^2) worst case; a merge sort keeps it fast). */
static void stable_order(const ref_file *rf, long *ord, long *tmp, size_t lo, size_t hi) {
  if (hi - lo < 2) return;
  size_t mid = (lo + hi) / 2, i = lo, j = mid, k = lo;
  stable_order(rf, ord, tmp, lo, mid);
  stable_order(rf, ord, tmp, mid, hi);
  while (i < mid && j < hi)
    tmp[k++] = rf->recs[ord[j]].ts < rf->recs[ord[i]].ts ? ord[j++] : ord[i++];
  while (i < mid) tmp[k++] = ord[i++];
  while (j < hi) tmp[k++] = ord[j++];
  memcpy(ord + lo, tmp + lo, (hi - lo) * sizeof *ord);
}

static void check_order(const char *name, const ref_file *rf, const long *got, size_t n) {
  long *ord = malloc((rf->n + 1) * sizeof *ord), *tmp = malloc((rf->n + 1) * sizeof *tmp);
  if (!ord || !tmp) { free(ord); free(tmp); check(0, "%s: out of memory", name); return; }
  for (size_t i = 0; i < rf->n; i++) ord[i] = (long)i;
  stable_order(rf, ord, tmp, 0, rf->n);
  size_t bad = n == rf->n ? 0 : 1;
  for (size_t i = 0; i < n && i < rf->n && !bad; i++)
    if (got[i] != ord[i]) {
      bad++;
      printf("  %s: position %lu holds reference record %ld, expected %ld\n", name,
             (unsigned long)i, got[i], ord[i]);
    }
  check(bad == 0, "%s: delivery order = stable sort by timestamp", name);
  free(ord);
  free(tmp);
}

static void run_records(const char *name, etl_reader *r, const ref_file *rf) {
  const jm_value *h = jm_get(rf->scan, "logfile_header");
  long *got = calloc(rf->n + 1, sizeof *got);
  size_t n = 0, errors = 0, mismatches = 0, unknown = 0;
  rec_record rec;
  etl_error e;
  int st;
  if (!got) { check(0, "%s: out of memory", name); return; }
  while ((st = etl_next(r, &rec, &e)) != ETL_END) {
    if (st != ETL_OK) {
      if (errors++ < 3) printf("  %s: %s\n", name, e.message);
      if (st != ETL_ERR_DATA) break;
      continue;
    }
    long idx = find_ref(rf, rec.src_offset, rec.src_record_offset);
    if (idx < 0) { unknown++; continue; }
    const char *why = cmp_record(&rec, &rf->recs[idx], h);
    if (why && mismatches++ < 5)
      printf("  %s: record at 0x%llx+0x%x: %s differs\n", name,
             (unsigned long long)rec.src_offset, rec.src_record_offset, why);
    if (n <= rf->n) got[n] = idx;
    n++;
  }
  check(errors == 0, "%s: no errors (%lu)", name, (unsigned long)errors);
  check(unknown == 0, "%s: every record is in the reference (%lu unknown)", name,
        (unsigned long)unknown);
  check(n == (size_t)jm_i64(jm_get(rf->scan, "records"), -1) && n == rf->n,
        "%s: %lu records, reference %lld", name, (unsigned long)n,
        (long long)jm_i64(jm_get(rf->scan, "records"), -1));
  check(mismatches == 0, "%s: header fields, timestamps, provider ids, payloads, ext items and TL decode "
        "equal the reference (%lu differ)", name, (unsigned long)mismatches);
  if (n == rf->n) check_order(name, rf, got, n);
  free(got);
}

static void test_sample(const char *shared, const char *name) {
  char path[1024], err[256];
  ref_file rf;
  etl_reader *r;
  etl_error e;
  snprintf(path, sizeof path, "%s/etl-samples/%s", shared, name);
  FILE *f = fopen(path, "rb");
  if (!f) { check(0, "%s: sample not found at %s", name, path); return; }
  fclose(f);
  if (ref_load(path, &rf, err, sizeof err)) {
    check(0, "%s: cannot load the reference: %s", name, err);
    ref_free(&rf);
    return;
  }
  int st = etl_open_file(path, NULL, &r, &e);
  check(st == ETL_OK, "%s: opens (%s)", name, st == ETL_OK ? "ok" : e.message);
  if (st == ETL_OK) {
    const etl_stats *s = etl_get_stats(r);
    check_info(name, etl_get_info(r), jm_get(rf.scan, "logfile_header"));
    check(s->buffers == jm_u64(jm_get(rf.scan, "buffers"), 0) &&
          s->compressed_buffers == jm_u64(jm_get(rf.scan, "compressed_buffers"), 0),
          "%s: %u buffers, %u compressed", name, s->buffers, s->compressed_buffers);
    run_records(name, r, &rf);
    etl_close(r);
  }
  ref_free(&rf);
}

/* ---- HTTP_Server.etl vs the EVTX export made by Windows ---- */

static const char *attr(const char *blk, const char *end, const char *key, char *out, size_t n) {
  const char *p = strstr(blk, key);
  if (!p || p > end) { out[0] = 0; return NULL; }
  p += strlen(key);
  size_t i = 0;
  while (p[i] && p[i] != '"' && p[i] != '<' && i + 1 < n) { out[i] = p[i]; i++; }
  out[i] = 0;
  return out;
}

static unsigned long long num(const char *blk, const char *end, const char *key, int base) {
  char v[64];
  return attr(blk, end, key, v, sizeof v) ? strtoull(v, NULL, base) : ~0ULL;
}

static int guid_attr(const char *blk, const char *end, const char *key, tlg_guid *g) {
  char v[64];
  memset(g, 0, sizeof *g);
  return attr(blk, end, key, v, sizeof v) ? tlg_guid_parse(v, strlen(v), g) == TLG_OK : 0;
}

/* Compare one EVTX <Event> block with a record; returns what differs. */
static const char *cmp_evtx(const char *b, const char *end, const rec_record *r) {
  char t[64], iso[ETL_ISO_SIZE];
  tlg_guid g;
  attr(b, end, "<TimeCreated SystemTime=\"", t, sizeof t);
  etl_filetime_to_iso(r->timestamp, iso);
  if (strlen(t) != 30 || strncmp(t, iso, 27) != 0 || strcmp(t + 27, "00Z") != 0) return "time";
  if (!guid_attr(b, end, "Guid=\"", &g) || memcmp(&g, &r->provider_id, 16)) return "provider";
  if (num(b, end, "<EventID>", 10) != r->desc.id || num(b, end, "<Version>", 10) != r->desc.version ||
      num(b, end, "<Level>", 10) != r->desc.level || num(b, end, "<Task>", 10) != r->desc.task ||
      num(b, end, "<Opcode>", 10) != r->desc.opcode ||
      num(b, end, "<Keywords>", 16) != r->desc.keyword)
    return "descriptor";
  if (num(b, end, "ProcessID=\"", 10) != r->pid || num(b, end, "ThreadID=\"", 10) != r->tid)
    return "process/thread";
  if (num(b, end, "ProcessorID=\"", 10) != r->cpu) return "cpu";
  if (num(b, end, "KernelTime=\"", 10) != r->kernel_time ||
      num(b, end, "UserTime=\"", 10) != r->user_time)
    return "cpu times";
  guid_attr(b, end, "ActivityID=\"", &g);
  if (memcmp(&g, &r->activity_id, 16)) return "activity id";
  int rel = guid_attr(b, end, "RelatedActivityID=\"", &g);
  if (rel != !!(r->flags & REC_RELATED) || (rel && memcmp(&g, &r->related_activity_id, 16)))
    return "related activity id";
  return NULL;
}

static void test_http_evtx(const char *shared) {
  char path[1024];
  size_t len;
  snprintf(path, sizeof path, "%s/etl-samples/tx/HTTP_Server.evtx.evtxexport.xml.gz", shared);
  char *xml = (char *)read_file_maybe_gz(path, &len);
  if (!xml) { check(0, "HTTP_Server EVTX export not readable at %s", path); return; }
  snprintf(path, sizeof path, "%s/etl-samples/tx/HTTP_Server.etl", shared);
  etl_reader *r;
  etl_error e;
  rec_record rec;
  if (etl_open_file(path, NULL, &r, &e) != ETL_OK) {
    check(0, "HTTP_Server.etl opens: %s", e.message);
    free(xml);
    return;
  }
  size_t events = 0, bad = 0;
  const char *p = strstr(xml, "<Event ");
  int st;
  while ((st = etl_next(r, &rec, &e)) != ETL_END) {
    if (st != ETL_OK || rec.header_kind != REC_HDR_EVENT) continue;
    if (!p) { bad++; break; }
    const char *end = strstr(p + 1, "</Event>");
    if (!end) end = xml + len;
    const char *why = cmp_evtx(p, end, &rec);
    if (why && bad++ < 5) printf("  HTTP_Server event %lu: %s differs from EVTX\n",
                                 (unsigned long)events, why);
    events++;
    p = strstr(end, "<Event ");
  }
  check(events == 2041 && !p, "HTTP_Server: %lu events, EVTX has 2041", (unsigned long)events);
  check(bad == 0, "HTTP_Server: time (100 ns), order, ids, CPU, CPU times and activity ids "
        "equal the EVTX export (%lu differ)", (unsigned long)bad);
  etl_close(r);
  free(xml);
}

int main(void) {
  const char *shared = unit_shared_dir();
  if (!shared) {
    skip("../shared absent (ETWLUA_SHARED): the ETL sample tests need it");
  } else {
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) test_sample(shared, samples[i]);
    test_http_evtx(shared);
  }
  return unit_finish();
}
