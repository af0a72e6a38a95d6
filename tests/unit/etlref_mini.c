/*
** etlref_mini.c: reference decodes of the ETL samples -> ref_rec arrays.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etlref_mini.h"
#include "inflate_mini.h"
#include "tlg_guid.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

uint8_t *ref_hex(const char *hex, uint32_t *n) {
  size_t len = strlen(hex);
  uint8_t *b = malloc(len / 2 + 1);
  if (!b || len % 2) { free(b); return NULL; }
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) { free(b); return NULL; }
    b[i] = (uint8_t)(hi << 4 | lo);
  }
  *n = (uint32_t)(len / 2);
  return b;
}

/* Read `path`, or `path`.gz when the plain file is absent. */
static char *read_text(const char *path, size_t *len) {
  char gz[1100];
  uint8_t *t = read_file_maybe_gz(path, len);
  if (t || strlen(path) > 1000) return (char *)t;
  snprintf(gz, sizeof gz, "%s.gz", path);
  return (char *)read_file_maybe_gz(gz, len);
}

static void guid_of(const jm_value *v, tlg_guid *g) {
  const char *s = jm_str(v, NULL);
  memset(g, 0, sizeof *g);
  if (s) tlg_guid_parse(s, strlen(s), g);
}

static int load_ext(const jm_value *arr, ref_rec *r) {
  if (!arr || arr->type != JM_ARR) return 0;
  r->ext = calloc(arr->n ? arr->n : 1, sizeof *r->ext);
  if (!r->ext) return -1;
  for (size_t i = 0; i < arr->n; i++) {
    const jm_value *e = &arr->items[i];
    ref_ext *x = &r->ext[i];
    uint32_t n = 0;
    x->type = (uint16_t)jm_u64(jm_get(e, "type"), 0);
    x->item_size = (uint16_t)jm_u64(jm_get(e, "item_size"), 0);
    x->linkage = (uint16_t)jm_u64(jm_get(e, "linkage"), 0);
    x->data_size = (uint16_t)jm_u64(jm_get(e, "data_size"), 0);
    x->data = ref_hex(jm_str(jm_get(e, "hex"), ""), &n);
    if (!x->data || n != x->data_size) return -1;
  }
  r->next = (uint32_t)arr->n;
  return 0;
}

static int load_event(const jm_value *o, ref_rec *r) {
  r->evflags = (uint16_t)jm_u64(jm_get(o, "evflags"), 0);
  r->evprop = (uint16_t)jm_u64(jm_get(o, "evprop"), 0);
  guid_of(jm_get(o, "provider"), &r->provider);
  guid_of(jm_get(o, "activity"), &r->activity);
  r->desc.id = (uint16_t)jm_u64(jm_get(o, "id"), 0);
  r->desc.version = (uint8_t)jm_u64(jm_get(o, "ver"), 0);
  r->desc.channel = (uint8_t)jm_u64(jm_get(o, "channel"), 0);
  r->desc.level = (uint8_t)jm_u64(jm_get(o, "level"), 0);
  r->desc.opcode = (uint8_t)jm_u64(jm_get(o, "opcode"), 0);
  r->desc.task = (uint16_t)jm_u64(jm_get(o, "task"), 0);
  r->desc.keyword = jm_u64(jm_get(o, "keyword"), 0);
  r->kernel_time = (uint32_t)jm_u64(jm_get(o, "kernel_time"), 0);
  r->user_time = (uint32_t)jm_u64(jm_get(o, "user_time"), 0);
  r->user_data_len = (uint32_t)jm_u64(jm_get(o, "user_data_len"), 0);
  r->user_data = ref_hex(jm_str(jm_get(o, "user_data_hex"), ""), &r->user_data_have);
  if (!r->user_data) return -1;
  snprintf(r->tl_event, sizeof r->tl_event, "%s", jm_str(jm_get(jm_get(o, "tl"), "event"), ""));
  return load_ext(jm_get(o, "ext"), r);
}

static int load_record(const jm_value *o, ref_rec *r, uint16_t pi, uint16_t bf) {
  memset(r, 0, sizeof *r);
  r->buf_off = jm_u64(jm_get(o, "buf_off"), 0);
  r->rec_off = (uint32_t)jm_u64(jm_get(o, "rec_off"), 0);
  r->size = (uint32_t)jm_u64(jm_get(o, "size"), 0);
  snprintf(r->hdr, sizeof r->hdr, "%s", jm_str(jm_get(o, "hdr"), "?"));
  r->ts = jm_i64(jm_get(o, "ts"), 0);
  r->has_ids = !jm_is_null(jm_get(o, "tid"));
  r->tid = (uint32_t)jm_u64(jm_get(o, "tid"), 0);
  r->pid = (uint32_t)jm_u64(jm_get(o, "pid"), 0);
  r->proc_index = pi;
  r->buffer_flag = bf;
  r->cls_type = (uint8_t)jm_u64(jm_get(o, "cls_type"), 0);
  r->cls_level = (uint8_t)jm_u64(jm_get(o, "cls_level"), 0);
  r->cls_version = (uint16_t)jm_u64(jm_get(o, "cls_version"), 0);
  if (jm_get(o, "guid")) guid_of(jm_get(o, "guid"), &r->provider);
  r->version = (uint16_t)jm_u64(jm_get(o, "version"), 0);
  r->group = (uint8_t)jm_u64(jm_get(o, "group"), 0);
  r->type = (uint8_t)jm_u64(jm_get(o, "type"), 0);
  r->payload_len = (uint32_t)jm_u64(jm_get(o, "payload_len"), 0);
  r->inline_ext = (uint32_t)jm_u64(jm_get(o, "inline_ext_bytes"), 0);
  if (strncmp(r->hdr, "EVENT_HEADER", 12) == 0) return load_event(o, r);
  return 0;
}

/* Calls fn(line object) for every line of a jsonl text. */
typedef int (*line_fn)(const jm_value *o, void *ud);
static int each_line(char *text, size_t len, line_fn fn, void *ud, char *err, size_t err_len) {
  size_t pos = 0;
  while (pos < len) {
    char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len;
    if (end > pos) {
      jm_value *o = jm_parse(text + pos, end - pos, err, err_len);
      if (!o) return -1;
      int rc = fn(o, ud);
      jm_free(o);
      if (rc) { snprintf(err, err_len, "bad reference line at byte %lu", (unsigned long)pos); return -1; }
    }
    pos = end + 1;
  }
  return 0;
}

typedef struct scan_state {
  ref_file *rf;
  size_t cap;
  uint16_t pi, bf;
} scan_state;

static int scan_line(const jm_value *o, void *ud) {
  scan_state *s = ud;
  const char *kind = jm_str(jm_get(o, "kind"), "");
  if (strcmp(kind, "buffer") == 0) {
    s->pi = (uint16_t)jm_u64(jm_get(o, "ProcessorIndex"), 0);
    s->bf = (uint16_t)jm_u64(jm_get(o, "BufferFlag"), 0);
    return 0;
  }
  if (strcmp(kind, "record") != 0) return 0;
  ref_file *rf = s->rf;
  if (rf->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    ref_rec *nr = realloc(rf->recs, cap * sizeof *nr);
    if (!nr) return -1;
    rf->recs = nr;
    s->cap = cap;
  }
  return load_record(o, &rf->recs[rf->n++], s->pi, s->bf);
}

static int dissect_line(const jm_value *o, void *ud) {
  ref_file *rf = ud;
  if (strcmp(jm_str(jm_get(o, "kind"), ""), "record") != 0) return 0;
  if (rf->dissect_n >= rf->n) return -1;
  ref_rec *r = &rf->recs[rf->dissect_n++];
  const jm_value *p = jm_get(o, "provider_id_le");
  if (!p) p = jm_get(o, "provider_id");
  r->has_dissect = !jm_is_null(p);
  guid_of(p, &r->dprov);
  r->dpayload = ref_hex(jm_str(jm_get(o, "payload_hex"), ""), &r->dpayload_len);
  return r->dpayload ? 0 : -1;
}

static int load_jsonl(const char *path, line_fn fn, void *ud, char *err, size_t err_len) {
  size_t len;
  char *text = read_text(path, &len);
  if (!text) { snprintf(err, err_len, "cannot read %s[.gz]", path); return -1; }
  int rc = each_line(text, len, fn, ud, err, err_len);
  free(text);
  return rc;
}

int ref_load(const char *etl_path, ref_file *rf, char *err, size_t err_len) {
  char path[1024];
  size_t len;
  memset(rf, 0, sizeof *rf);
  snprintf(path, sizeof path, "%s.etlscan.json", etl_path);
  char *text = read_text(path, &len);
  if (!text) { snprintf(err, err_len, "cannot read %s", path); return -1; }
  rf->scan = jm_parse(text, len, err, err_len);
  free(text);
  if (!rf->scan) return -1;
  scan_state s = {rf, 0, 0, 0};
  snprintf(path, sizeof path, "%s.etlscan.jsonl", etl_path);
  if (load_jsonl(path, scan_line, &s, err, err_len)) return -1;
  snprintf(path, sizeof path, "%s.dissect.jsonl", etl_path);
  return load_jsonl(path, dissect_line, rf, err, err_len);
}

void ref_free(ref_file *rf) {
  for (size_t i = 0; i < rf->n; i++) {
    ref_rec *r = &rf->recs[i];
    for (uint32_t k = 0; k < r->next; k++) free(r->ext[k].data);
    free(r->ext);
    free(r->user_data);
    free(r->dpayload);
  }
  free(rf->recs);
  jm_free(rf->scan);
  memset(rf, 0, sizeof *rf);
}
