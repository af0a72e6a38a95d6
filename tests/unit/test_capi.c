/*
** test_capi.c: the C API (include/etwlua.h) refuses to write what readers
** could not read back: etwlua_add_struct refuses nesting deeper than the
** decoder reads (every platform), and a struct short of its declared fields
** makes etwlua_write fail (with the shared-memory engine, in a private
** runtime directory removed at the end). Templates: the events a session
** receives from etwlua_template_write have the builder's bytes; bad values
** and wrong argument counts write nothing.
*/
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#include "etwlua.h"
#include "engine.h"
#include "unit_check.h"

static void test_depth(void) {
  etwlua_event *e = etwlua_event_new();
  if (!e) { check(0, "etwlua_event_new"); return; }
  check(etwlua_event_reset(e, "Deep", NULL) == ETWLUA_OK, "reset");
  int n = 0;
  while (n < 100 && etwlua_add_struct(e, "s", 1) == ETWLUA_OK) n++;
  check(n == 31, "31 nested structs accepted, the 32nd refused (got %d)", n);
  int st = etwlua_add_struct(e, "s", 1);
  check(st != ETWLUA_OK && strstr(etwlua_strerror(st), "nested too deeply"),
        "too deep: %s", etwlua_strerror(st));
  check(etwlua_add_int32(e, "leaf", 1) == ETWLUA_OK, "leaf at the deepest level");
  etwlua_event_free(e);
}

/* Templates on every platform (under Wine too: no session needed): bad
** field lists are refused with *out NULL; with nobody listening a write
** reads no argument and returns OK. */
static void test_template_create(void) {
  static const etwlua_guid id = {{0x5e, 0x1f, 0x0a, 0x02, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}};
  const etwlua_desc d = {0, 0, 11, 4, 2, 0, 0x21};
  etwlua_provider *p;
  int st = etwlua_provider_register("EtwLua.CapiTemplate", &id, NULL, &p);
  check(st == ETWLUA_OK, "register: %s", etwlua_strerror(st));
  if (st != ETWLUA_OK) return;
  etwlua_template *tb = NULL;
  etwlua_field open_struct[2] = {{"S", ETWLUA_STRUCT, 0, 2, 0, 0}, {"a", ETWLUA_INT8, 0, 0, 0, 0}};
  st = etwlua_template_create(p, "Bad", &d, open_struct, 2, &tb);
  check(st != ETWLUA_OK && tb == NULL, "struct short of members refused: %s", etwlua_strerror(st));
  etwlua_field badtype = {"x", 16 /* POINTER: not a field type */, 0, 0, 0, 0};
  check(etwlua_template_create(p, "Bad", &d, &badtype, 1, &tb) != ETWLUA_OK && tb == NULL,
        "bad type refused");
  etwlua_field binseq = {"x", ETWLUA_BINARY, 1, 0, 0, 0};
  check(etwlua_template_create(p, "Bad", &d, &binseq, 1, &tb) != ETWLUA_OK, "BINARY seq refused");
  etwlua_field many[129];
  for (int i = 0; i < 129; i++) {
    etwlua_field f = {"f", ETWLUA_UINT8, 0, 0, 0, 0};
    many[i] = f;
  }
  check(etwlua_template_create(p, "Bad", &d, many, 129, &tb) != ETWLUA_OK, "129 fields refused");
  st = etwlua_template_create(p, "Many", &d, many, 128, &tb);
  check(st == ETWLUA_OK && tb && tb->nvalues == 128, "128 fields: %s", etwlua_strerror(st));
  etwlua_template_free(tb);
  etwlua_field f3[3] = {{"S", ETWLUA_STRUCT, 0, 2, 0, 0}, {"a", ETWLUA_INT8, 0, 0, 0, 0},
                        {"b", ETWLUA_STR8, 1, 0, 0, 0x1234}};
  st = etwlua_template_create(p, "Ok", &d, f3, 3, &tb);
  check(st == ETWLUA_OK && tb, "struct + str8 seq: %s", etwlua_strerror(st));
  if (tb) {
    check(tb->nvalues == 2 && tb->level == 4 && tb->keyword == 0x21, "public head");
    check(!etwlua_template_enabled(tb), "nobody listening");
    check(etwlua_template_write(tb, NULL, 0) == ETWLUA_OK, "nobody listening: args unread");
  }
  etwlua_template_free(tb);
  etwlua_template_free(NULL);
  etwlua_provider_unregister(p);
}

#ifndef _WIN32
static void test_write(etwlua_provider *p) {
  etwlua_event *e = etwlua_event_new();
  if (!e) { check(0, "etwlua_event_new"); return; }
  check(etwlua_event_reset(e, "S", NULL) == ETWLUA_OK, "reset");
  check(etwlua_add_struct(e, "st", 3) == ETWLUA_OK, "add_struct st 3");
  check(etwlua_add_int32(e, "a", 1) == ETWLUA_OK, "member a");
  int st = etwlua_write(p, e, NULL, NULL);
  check(st != ETWLUA_OK && strstr(etwlua_strerror(st), "fewer fields than it declares"),
        "write with 1 of 3 members refused: %s", etwlua_strerror(st));
  check(etwlua_add_int32(e, "b", 2) == ETWLUA_OK && etwlua_add_int32(e, "c", 3) == ETWLUA_OK,
        "members b, c");
  st = etwlua_write(p, e, NULL, NULL);
  check(st == ETWLUA_OK, "complete struct written: %s", etwlua_strerror(st));
  etwlua_event_free(e);
}

static const etwlua_guid capi_id = {{0x5e, 0x1f, 0x0a, 0x01, 0x02, 0x03, 0x04, 0x05,
                                      0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d}};

/* The builder's version of the template below, with the values used there. */
static void build_request(etwlua_event *e, const etwlua_desc *d, const etwlua_guid *g) {
  etwlua_event_reset(e, "RequestDone", d);
  etwlua_add_int32(e, "Status", 201);
  etwlua_add_str(e, "Path", "/x", 2);
  etwlua_add_double(e, "Seconds", 0.5);
  etwlua_add_struct(e, "Client", 2);
  etwlua_add_str(e, "Host", "10.0.0.1", 8);
  etwlua_add_uint64(e, "Port", 8443);
  etwlua_add_guid(e, "Id", g);
  etwlua_add_bool(e, "Ok", 1);
}

static const etwlua_field request_fields[] = {
  {"Status", ETWLUA_INT32, 0, 0, 0, 0},
  {"Path", ETWLUA_STR8, 0, 0, 0, 0},
  {"Seconds", ETWLUA_FLOAT64, 0, 0, 0, 0},
  {"Client", ETWLUA_STRUCT, 0, 2, 0, 0},
  {"Host", ETWLUA_STR8, 0, 0, 0, 0},
  {"Port", ETWLUA_UINT64, 0, 0, 0, 0},
  {"Id", ETWLUA_GUID, 0, 0, 0, 0},
  {"Ok", ETWLUA_BOOL32, 0, 0, 0, 0},
};

static void request_values(etwlua_value v[7], const etwlua_guid *g) {
  memset(v, 0, 7 * sizeof *v);
  v[0].i = 201;
  v[1].s.p = "/x"; v[1].s.n = 2;
  v[2].d = 0.5;
  v[3].s.p = "10.0.0.1"; v[3].s.n = 8;
  v[4].u = 8443;
  v[5].s.p = g;
  v[6].i = 1;
}

/* Next event record of consumer c (1), or 0 after a second without one. */
static int next_event(eng_consumer *c, rec_record *rec) {
  for (;;) {
    int st = eng_consumer_next(c, rec, 1000);
    if (st != ENG_OK) return 0;
    if (rec->kind == REC_KIND_EVENT) return 1;
  }
}

static int same_event(const rec_record *a, const rec_record *b) {
  return a->meta_len == b->meta_len && !memcmp(a->meta, b->meta, a->meta_len) &&
         a->data_len == b->data_len && !memcmp(a->data, b->data, a->data_len) &&
         !memcmp(&a->desc, &b->desc, sizeof a->desc);
}

static void test_template(etwlua_provider *p) {
  const etwlua_desc d = {0, 0, 11, 4, 2, 0, 0x21};
  const etwlua_guid g = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
  etwlua_template *t;
  etwlua_value v[7];
  int st = etwlua_template_create(p, "RequestDone", &d, request_fields, 8, &t);
  check(st == ETWLUA_OK, "template_create: %s", etwlua_strerror(st));
  if (st != ETWLUA_OK) return;
  check(t->nvalues == 7, "7 values (8 fields, one struct header): %zu", t->nvalues);
  check(!etwlua_template_enabled(t), "not enabled before any session");
  request_values(v, &g);
  check(etwlua_template_write(t, v, 3) == ETWLUA_OK, "nobody listening: OK, args unread");

  eng_session *s;
  eng_consumer *c;
  st = eng_session_start("capi-tmpl", NULL, &s);
  check(st == ENG_OK, "session start: %s", eng_strerror(st));
  if (st != ENG_OK) { etwlua_template_free(t); return; }
  eng_session_enable(s, (const tlg_guid *)&capi_id, 5, ~0ull, 0);
  st = eng_consumer_open("capi-tmpl", &c);
  check(st == ENG_OK, "consumer open: %s", eng_strerror(st));
  check(etwlua_template_enabled(t), "enabled once a session wants level 5");

  etwlua_event *e = etwlua_event_new();
  build_request(e, &d, &g);
  check(etwlua_write(p, e, NULL, NULL) == ETWLUA_OK, "builder write");
  check(etwlua_template_write(t, v, 7) == ETWLUA_OK, "template write");
  st = etwlua_template_write(t, v, 6);
  check(st != ETWLUA_OK, "6 values for 7 refused: %s", etwlua_strerror(st));
  etwlua_value bad[7];
  memcpy(bad, v, sizeof bad);
  bad[2].d = 1e300; /* fine as FLOAT64: a FLOAT32 template refuses it below */
  etwlua_field f32 = {"F", ETWLUA_FLOAT32, 0, 0, 0, 0};
  etwlua_template *tf;
  check(etwlua_template_create(p, "F32", &d, &f32, 1, &tf) == ETWLUA_OK, "float32 template");
  st = etwlua_template_write(tf, &bad[2], 1);
  check(st != ETWLUA_OK && strstr(etwlua_strerror(st), "float32"), "1e300 as float32: %s",
        etwlua_strerror(st));
  int32_t items[3] = {-1, 0, 70000};
  etwlua_field fseq = {"Arr", ETWLUA_INT32, 1, 0, 0, 0};
  etwlua_template *ts;
  etwlua_value av;
  av.s.p = items;
  av.s.n = 3;
  check(etwlua_template_create(p, "Arr", &d, &fseq, 1, &ts) == ETWLUA_OK, "seq template");
  check(etwlua_template_write(ts, &av, 1) == ETWLUA_OK, "seq write");

  rec_record r1, r2, r3;
  uint8_t m1[256], x1[256];
  check(next_event(c, &r1), "builder event received");
  /* copy: the next record may reuse the buffer */
  memcpy(m1, r1.meta, r1.meta_len < 256 ? r1.meta_len : 256);
  memcpy(x1, r1.data, r1.data_len < 256 ? r1.data_len : 256);
  r1.meta = m1;
  r1.data = x1;
  check(next_event(c, &r2), "template event received");
  check(same_event(&r1, &r2), "template event has the builder's descriptor, metadata and data");
  check(next_event(c, &r3), "seq event received (the refused writes sent nothing)");
  static const uint8_t want[] = {3, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x70, 0x11, 1, 0};
  check(r3.data_len == sizeof want && !memcmp(r3.data, want, sizeof want),
        "int32 seq data: count then items little-endian");

  /* write_ex: the ids reach the record; a str8 past 65535 bytes is refused */
  const etwlua_guid act = {{0xa1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
  const etwlua_guid rel = {{0xb2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
  static char big[70000];
  etwlua_value vbig[7];
  memcpy(vbig, v, sizeof vbig);
  vbig[1].s.p = big;
  vbig[1].s.n = sizeof big;
  st = etwlua_template_write_ex(t, vbig, 7, &act, &rel);
  check(st != ETWLUA_OK, "70000-byte str8 refused: %s", etwlua_strerror(st));
  check(etwlua_template_write_ex(t, v, 7, &act, &rel) == ETWLUA_OK, "write_ex");
  rec_record r4;
  check(next_event(c, &r4), "write_ex event received (the refused one sent nothing)");
  check(same_event(&r1, &r4), "write_ex: the builder's bytes too");
  check((r4.flags & REC_ACTIVITY) && !memcmp(&r4.activity_id, &act, 16), "activity id");
  check((r4.flags & REC_RELATED) && !memcmp(&r4.related_activity_id, &rel, 16),
        "related activity id");
  check(!(r2.flags & REC_ACTIVITY), "no activity id on a plain write");

  etwlua_event_free(e);
  etwlua_template_free(ts);
  etwlua_template_free(tf);
  etwlua_template_free(t);
  eng_session_stop(s);
  eng_consumer_close(c);
  eng_session_close(s);
}

/* Templates of integers and counted strings take a short path (one store
** per integer, straight into the session's ring); its bytes, written out by hand here:
** every integer size, float64 by its bits, high bits of .u ignored, a
** NULL string as empty, strings of every length the inline copy handles,
** and events past ENG_RESERVE_LOCAL (the general path). */
static const etwlua_field direct_fields[] = {
  {"a", ETWLUA_INT8, 0, 0, 0, 0},   {"b", ETWLUA_UINT16, 0, 0, 0, 0},
  {"c", ETWLUA_INT32, 0, 0, 0, 0},  {"d", ETWLUA_HEX64, 0, 0, 0, 0},
  {"e", ETWLUA_FLOAT64, 0, 0, 0, 0}, {"f", ETWLUA_STR8, 0, 0, 0, 0},
  {"g", ETWLUA_CBINARY, 0, 0, 0, 0}, {"h", ETWLUA_STR8, 0, 0, 0, 0},
  {"i", ETWLUA_BOOL32, 0, 0, 0, 0},
};

static void test_template_direct(etwlua_provider *p) {
  const etwlua_desc d = {0, 0, 11, 4, 0, 0, 0x21};
  etwlua_template *t = NULL, *ts = NULL;
  eng_session *s;
  eng_consumer *c = NULL;
  const etwlua_field str = {"s", ETWLUA_STR8, 0, 0, 0, 0};
  check(etwlua_template_create(p, "Direct", &d, direct_fields, 9, &t) == ETWLUA_OK &&
        etwlua_template_create(p, "Str", &d, &str, 1, &ts) == ETWLUA_OK, "templates");
  int st = eng_session_start("capi-direct", NULL, &s);
  check(st == ENG_OK, "session start: %s", eng_strerror(st));
  if (st != ENG_OK || !t || !ts) goto out_t;
  eng_session_enable(s, (const tlg_guid *)&capi_id, 5, ~0ull, 0);
  if (eng_consumer_open("capi-direct", &c) != ENG_OK) { check(0, "consumer"); goto out_s; }

  static const uint8_t bin[3] = {0, 1, 2};
  etwlua_value v[9];
  memset(v, 0, sizeof v);
  v[0].i = -2;
  v[1].u = 0x1234beefu;              /* only the low 16 bits are the value */
  v[2].i = -5;
  v[3].u = 0x1122334455667788u;
  v[4].d = 0.5;
  v[5].s.p = "hello"; v[5].s.n = 5;
  v[6].s.p = bin; v[6].s.n = 3;
  v[7].s.p = NULL; v[7].s.n = 7;     /* NULL: an empty string */
  v[8].i = 1;
  static const uint8_t want[] = {
    0xfe, 0xef, 0xbe, 0xfb, 0xff, 0xff, 0xff, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
    0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 5, 0, 'h', 'e', 'l', 'l', 'o', 3, 0, 0, 1, 2, 0, 0, 1, 0, 0, 0};
  rec_record r;
  check(etwlua_template_write(t, v, 9) == ETWLUA_OK && next_event(c, &r), "direct write");
  check(r.data_len == sizeof want && !memcmp(r.data, want, sizeof want),
        "direct: the bytes of every type (%u bytes)", r.data_len);

  /* one str8 of 0..600 bytes: the inline copies below 17 bytes, libc above,
  ** encoded in the ring up to ENG_RESERVE_LOCAL (512) bytes of payload, the
  ** general path past it */
  static char text[600];
  for (size_t i = 0; i < sizeof text; i++) text[i] = (char)('A' + i % 26);
  int bad = 0;
  for (size_t n = 0; n <= sizeof text; n++) {
    etwlua_value sv;
    sv.s.p = text;
    sv.s.n = n;
    if (etwlua_template_write(ts, &sv, 1) != ETWLUA_OK || !next_event(c, &r) ||
        r.data_len != 2 + n || r.data[0] != (uint8_t)n || r.data[1] != (uint8_t)(n >> 8) ||
        memcmp(r.data + 2, text, n) != 0)
      if (bad++ < 3) printf("  str8 of %zu bytes: %u bytes received\n", n, r.data_len);
  }
  check(bad == 0, "str8 of 0..600 bytes: %d wrong", bad);
  eng_consumer_close(c);
out_s:
  eng_session_stop(s);
  eng_session_close(s);
out_t:
  etwlua_template_free(ts);
  etwlua_template_free(t);
}

static void with_provider(void) {
  char dir[] = "test_capi.rt.XXXXXX";
  if (!mkdtemp(dir)) { check(0, "mkdtemp"); return; }
  setenv("ETWLUA_RUNTIME_DIR", dir, 1);
  etwlua_provider *p;
  int st = etwlua_provider_register("EtwLua.CapiTest", &capi_id, NULL, &p);
  check(st == ETWLUA_OK, "register: %s", etwlua_strerror(st));
  if (st == ETWLUA_OK) {
    test_write(p);
    test_template(p);
    test_template_direct(p);
    etwlua_provider_unregister(p);
  }
  test_template_create();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
  check(system(cmd) == 0, "remove %s", dir);
}
#endif

int main(void) {
  test_depth();
#ifdef _WIN32
  test_template_create();
  skipped++;
  printf("SKIP etwlua_write of an unfilled struct, template events through a session: "
         "run with the shared-memory engine\n");
#else
  with_provider();
#endif
  return unit_finish();
}
