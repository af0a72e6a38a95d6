/*
** test_eventsource.c: EventSource manifests carried in a trace. First the
** pure chunk reassembly (src/schema/sch_es.c): order, interleaved
** providers, resends, bad envelopes, out-of-order and partial manifests,
** the size limit. Then the consumer glue (src/lua/lschema.c) end to end:
** an ETL file written here with a manifest in three chunks and a broken
** one, read by a Lua script in an embedded etwlua state; the warning for
** the broken manifest (stderr) is checked to come once.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "etwlua_lua.h"
#include "etl_write.h"
#include "sch_es.h"
#include "unit_check.h"

static const char XML[] =
  "<instrumentationManifest xmlns='http://schemas.microsoft.com/win/2004/08/events'>"
  "<instrumentation><events><provider name='Demo-Source' guid='{11223344-5566-7788-99aa-bbccddeeff00}'>"
  "<tasks><task name='Hello' value='1'/></tasks>"
  "<templates><template tid='T'><data name='msg' inType='win:UnicodeString'/>"
  "<data name='n' inType='win:UInt32'/></template>"
  "<template tid='D'><data name='a' inType='win:UInt8'/><data name='b' inType='win:UInt8'/>"
  "<data name='a' inType='win:UInt8'/></template></templates>"
  "<events><event value='7' version='0' task='Hello' template='T'/>"
  "<event value='8' version='0' task='Hello' template='D'/></events>"
  "</provider></events></instrumentation></instrumentationManifest>";

static const uint8_t GUID_P[16] = {0x44, 0x33, 0x22, 0x11, 0x66, 0x55, 0x88, 0x77,
                                   0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00};
static const uint8_t GUID_Q[16] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                   0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

/* envelope + bytes [from, to) of XML into buf; its length */
static size_t chunk(uint8_t *buf, unsigned total, unsigned num, size_t from, size_t to, uint8_t magic) {
  buf[0] = 1; buf[1] = 1; buf[2] = 0; buf[3] = magic;
  buf[4] = (uint8_t)total; buf[5] = (uint8_t)(total >> 8);
  buf[6] = (uint8_t)num; buf[7] = (uint8_t)(num >> 8);
  memcpy(buf + 8, XML + from, to - from);
  return 8 + to - from;
}

static int add(sch_es *s, const uint8_t *g, const uint8_t *p, size_t n, size_t *len, char *err) {
  const uint8_t *xml;
  int rc = sch_es_add(s, g, p, n, &xml, len, err, 300);
  if (rc == SCH_ES_DONE && (*len != strlen(XML) || memcmp(xml, XML, *len) != 0)) return 99;
  return rc;
}

static void test_reassembly(void) {
  sch_es *s = sch_es_new();
  uint8_t b[sizeof XML + 8];
  char err[300];
  size_t len, n = strlen(XML), third = n / 3;
  /* three chunks, another provider's complete manifest in between */
  check(add(s, GUID_P, b, chunk(b, 3, 0, 0, third, 0x5B), &len, err) == SCH_ES_MORE, "chunk 0 of 3: more");
  check(add(s, GUID_Q, b, chunk(b, 1, 0, 0, n, 0x5B), &len, err) == SCH_ES_DONE, "Q: one chunk, done");
  check(add(s, GUID_P, b, chunk(b, 3, 1, third, 2 * third, 0x5B), &len, err) == SCH_ES_MORE, "chunk 1");
  check(add(s, GUID_P, b, chunk(b, 3, 2, 2 * third, n, 0x5B), &len, err) == SCH_ES_DONE,
        "chunk 2: the whole manifest, byte for byte");
  /* sent again: recognised */
  check(add(s, GUID_P, b, chunk(b, 1, 0, 0, n, 0x5B), &len, err) == SCH_ES_SAME, "resent: SAME");
  /* out of order: an error, once; then AGAIN */
  check(add(s, GUID_P, b, chunk(b, 2, 0, 0, 10, 0x5B), &len, err) == SCH_ES_MORE, "new manifest");
  int rc = add(s, GUID_P, b, chunk(b, 3, 2, 10, 20, 0x5B), &len, err);
  check(rc == SCH_ES_ERROR && strstr(err, "chunk 2 of 3 out of order (expected chunk 1)") != NULL,
        "out of order: %d [%s]", rc, err);
  rc = add(s, GUID_P, b, chunk(b, 2, 1, 10, 20, 0x5B), &len, err);
  check(rc == SCH_ES_ERROR_AGAIN && strstr(err, "expected chunk 0"), "again: %d [%s]", rc, err);
  /* envelope checks */
  rc = add(s, GUID_Q, b, chunk(b, 1, 0, 0, n, 0x5C), &len, err);
  check(rc == SCH_ES_ERROR && strcmp(err, "chunk 0 of 1: magic is not 0x5B") == 0, "magic: [%s]", err);
  rc = add(s, GUID_Q, b, 5, &len, err);
  check(rc == SCH_ES_ERROR_AGAIN && strstr(err, "shorter than the 8-byte envelope"), "short: [%s]", err);
  rc = add(s, GUID_Q, b, chunk(b, 2, 2, 0, 1, 0x5B), &len, err);
  check(rc < 0 && strstr(err, "ChunkNumber is not below TotalChunks"), "number: [%s]", err);
  /* partial: a new chunk 0 while one is in flight */
  uint8_t g3[16] = {3};
  add(s, g3, b, chunk(b, 4, 0, 0, 5, 0x5B), &len, err);
  add(s, g3, b, chunk(b, 4, 1, 5, 9, 0x5B), &len, err);
  rc = add(s, g3, b, chunk(b, 2, 0, 0, 5, 0x5B), &len, err);
  check(rc == SCH_ES_ERROR && strstr(err, "a manifest of 4 chunk(s) ended after chunk 1 of 4"),
        "partial: %d [%s]", rc, err);
  check(add(s, g3, b, chunk(b, 2, 1, 5, n, 0x5B), &len, err) == SCH_ES_DONE,
        "the new one still completes");
  /* an envelope and no XML (found by fuzz_es_chunks: DONE with no buffer) */
  uint8_t g4[16] = {4};
  rc = add(s, g4, b, chunk(b, 1, 0, 0, 0, 0x5B), &len, err);
  check(rc == SCH_ES_ERROR && strcmp(err, "manifest of 1 chunk(s): empty") == 0, "empty: %d [%s]",
        rc, err);
  sch_es_free(s);
}

/* A manifest over SCH_ES_MAX_MANIFEST bytes is refused, its memory freed. */
static void test_limit(void) {
  sch_es *s = sch_es_new();
  size_t n = 60000;
  uint8_t *b = calloc(1, n + 8);
  char err[300];
  size_t len;
  unsigned total = SCH_ES_MAX_MANIFEST / n + 2, k;
  int rc = SCH_ES_MORE;
  for (k = 0; k < total && rc == SCH_ES_MORE; k++) {
    b[0] = 1; b[3] = 0x5B; b[4] = (uint8_t)total; b[5] = (uint8_t)(total >> 8);
    b[6] = (uint8_t)k; b[7] = (uint8_t)(k >> 8);
    const uint8_t *xml;
    rc = sch_es_add(s, GUID_P, b, n + 8, &xml, &len, err, sizeof err);
  }
  check(rc == SCH_ES_ERROR && strstr(err, "over 16 MB") && k == SCH_ES_MAX_MANIFEST / n + 1,
        "size limit at chunk %u: %d [%s]", k - 1, rc, err);
  free(b);
  sch_es_free(s);
}

static int append(etl_writer *w, const uint8_t *g, uint16_t id, uint8_t op, uint8_t ver,
                  const void *data, size_t n, int64_t t) {
  rec_record r;
  memset(&r, 0, sizeof r);
  r.flags = REC_HEADER;
  memcpy(r.provider_id.b, g, 16);
  r.desc.id = id;
  r.desc.opcode = op;
  r.desc.version = ver;
  r.pid = 7;
  r.tid = 8;
  r.timestamp = t;
  r.data = data;
  r.data_len = (uint32_t)n;
  return etl_writer_append(w, &r) == ETL_OK;
}

#define T0 133000000000000000LL

static int write_file(const char *path) {
  etl_write_opts o;
  etl_writer *w = NULL;
  memset(&o, 0, sizeof o);
  o.start_time = T0;
  if (etl_writer_open_file(path, &o, &w) != ETL_OK) return 0;
  /* "hi" (UTF-16, NUL) + n = 42 */
  static const uint8_t ev[] = {'h', 0, 'i', 0, 0, 0, 42, 0, 0, 0};
  uint8_t b[sizeof XML + 8];
  size_t n = strlen(XML), third = n / 3;
  int ok = append(w, GUID_P, 7, 0, 0, ev, sizeof ev, T0 + 1);     /* before its manifest */
  ok = ok && append(w, GUID_P, 0xFFFE, 254, 1, b, chunk(b, 3, 0, 0, third, 0x5B), T0 + 2);
  ok = ok && append(w, GUID_P, 0xFFFE, 254, 1, b, chunk(b, 3, 1, third, 2 * third, 0x5B), T0 + 3);
  ok = ok && append(w, GUID_P, 0xFFFE, 254, 1, b, chunk(b, 3, 2, 2 * third, n, 0x5B), T0 + 4);
  ok = ok && append(w, GUID_P, 7, 0, 0, ev, sizeof ev, T0 + 5);
  /* a name twice: the second event of the schema takes the cached shape */
  static const uint8_t d1[] = {1, 2, 3}, d2[] = {4, 5, 6};
  ok = ok && append(w, GUID_P, 8, 0, 0, d1, sizeof d1, T0 + 5);
  ok = ok && append(w, GUID_P, 8, 0, 0, d2, sizeof d2, T0 + 5);
  /* Q: chunk 1 of 2 missing, twice: one warning; its event stays NO_SCHEMA */
  ok = ok && append(w, GUID_Q, 0xFFFE, 254, 1, b, chunk(b, 2, 0, 0, 100, 0x5B), T0 + 6);
  ok = ok && append(w, GUID_Q, 0xFFFE, 254, 1, b, chunk(b, 2, 0, 0, 100, 0x5B), T0 + 7);
  ok = ok && append(w, GUID_Q, 0xFFFE, 254, 1, b, chunk(b, 3, 2, 0, 100, 0x5B), T0 + 8);
  ok = ok && append(w, GUID_Q, 7, 0, 0, ev, sizeof ev, T0 + 9);
  return etl_writer_close(w, 0, NULL) == ETL_OK && ok;
}

static const char script[] =
  "local etw = require 'etw'\n"
  "local c <close> = assert(etw.Consumer { files = ... })\n"
  "local out = {}\n"
  "for ev in c:events() do\n"
  "  if ev.id ~= 0 or ev.header_kind ~= 'system' then\n"
  "    local f = ev.fields\n"
  "    out[#out + 1] = string.format('%s/%s/%s/%s', ev.provider or '-', ev.name or '-',\n"
  "      ev.decode_error or (f.msg and f.msg .. '=' .. f.n) or (f.ChunkNumber and 'chunk' .. f.ChunkNumber)\n"
  "      or (ev.id == 8 and (function() local t = {} for k, v in pairs(f) do t[#t + 1] = k .. v end\n"
  "            return table.concat(t, ',') .. ';' .. f.a .. f.b .. #f end)()) or '-',\n"
  "      ev.id)\n"
  "  end\n"
  "end\n"
  "return table.concat(out, '\\n')\n";

static void test_consumer(const char *path, const char *errpath) {
  lua_State *L = luaL_newstate();
  etwlua_openlibs(L);
  fflush(stderr);
  FILE *e = freopen(errpath, "wb", stderr);      /* binary: no CRLF on Windows */
  int st = luaL_loadstring(L, script);
  if (st == LUA_OK) {
    lua_pushstring(L, path);
    st = lua_pcall(L, 1, 1, 0);
  }
  fflush(stderr);
  const char *got = lua_tostring(L, -1);
  const char *want =
    "-/-/NO_SCHEMA: 11223344-5566-7788-99aa-bbccddeeff00/7/0/7\n"
    /* the manifest record's schema is made at its first chunk: named by the GUID */
    "11223344-5566-7788-99aa-bbccddeeff00/ManifestData/chunk0/65534\n"
    "11223344-5566-7788-99aa-bbccddeeff00/ManifestData/chunk1/65534\n"
    "11223344-5566-7788-99aa-bbccddeeff00/ManifestData/chunk2/65534\n"
    "Demo-Source/Hello/hi=42/7\n"
    "Demo-Source/Hello/a1,b2,a3;123/8\n"
    "Demo-Source/Hello/a4,b5,a6;453/8\n"
    "04030201-0605-0807-090a-0b0c0d0e0f10/ManifestData/chunk0/65534\n"
    "04030201-0605-0807-090a-0b0c0d0e0f10/ManifestData/chunk0/65534\n"
    "04030201-0605-0807-090a-0b0c0d0e0f10/ManifestData/chunk2/65534\n"
    "-/-/NO_SCHEMA: 04030201-0605-0807-090a-0b0c0d0e0f10/7/0/7";
  check(e && st == LUA_OK && got && strcmp(got, want) == 0, "events: got\n%s\nwant\n%s",
        got ? got : "(nil)", want);
  lua_close(L);
  char text[2000] = {0};
  FILE *f = fopen(errpath, "rb");
  size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
  if (f) fclose(f);
  text[n] = 0;
  for (char *r; (r = strchr(text, '\r'));) memmove(r, r + 1, strlen(r));   /* whatever the CRT did */
  /* the second chunk 0 reports the first manifest partial; the chunk out of
  ** order that follows is the provider's second error: not printed */
  const char *w1 = "etwlua: warning: the EventSource manifest of provider "
                   "04030201-0605-0807-090a-0b0c0d0e0f10 in the trace: a manifest of 2 chunk(s) "
                   "ended after chunk 0 of 2 (a new one started); its events stay undecoded "
                   "(NO_SCHEMA)\n";
  check(strcmp(text, w1) == 0, "one warning: got [%s]", text);
}

int main(void) {
  test_reassembly();
  test_limit();
  const char *path = "test_eventsource.tmp.etl", *errpath = "test_eventsource.tmp.txt";
  int ok = write_file(path);
  check(ok, "writing %s", path);
  if (ok) test_consumer(path, errpath);
  if (!getenv("KEEP")) remove(path);
  remove(errpath);
  return unit_finish();
}
