/*
** test_schema.c: src/schema, the manifest loader and registry. Hand-written
** manifests: every element kind, structs / counts / lengths walked by the
** TDH walker over a crafted payload, value maps, the registry's later-wins
** rule, and hostile input (deep nesting, forward count, 2^32 length, 10^6
** events, entities, invalid UTF-8), each a clear error naming file, line
** and rule. Real manifests of ../shared: SystemEvents.man (assembly
** wrapper, BOM, CRLF) and ClrEtwAll.man load; HTTP_Server.etl decoded with
** HTTP_Server.man equals Windows' own EVTX export, field by field.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl.h"
#include "inflate_mini.h"
#include "schema.h"
#include "tlg_format.h"
#include "tlg_utf16.h"
#include "unit_check.h"
#include "sch_tdh.h"

#define HEAD "<?xml version='1.0' encoding='utf-8'?>\n<instrumentationManifest " \
  "xmlns='http://schemas.microsoft.com/win/2004/08/events' " \
  "xmlns:win='http://manifests.microsoft.com/win/2004/08/windows/events' " \
  "xmlns:xs='http://www.w3.org/2001/XMLSchema'>\n<instrumentation><events>\n"
#define PROV "<provider name='Test-Prov' guid='{11223344-5566-7788-99aa-bbccddeeff00}' symbol='P'>\n"
#define TAIL "</provider></events></instrumentation>\n" \
  "<localization><resources culture='en-US'><stringTable>\n" \
  "<string id='task.Work' value='Work Task'/><string id='map.one' value='One '/>\n" \
  "<string id='map.two' value='Two'/><string id='bit.a' value='A'/><string id='bit.b' value='B'/>\n" \
  "</stringTable></resources></localization></instrumentationManifest>\n"

static schema_man *parse(const char *text, char *err, size_t cap) {
  schema_man *m = NULL;
  if (schema_man_parse("t.man", text, strlen(text), &m, err, cap) < 0) return NULL;
  return m;
}

/* ---- a full manifest, walked ---- */

static const char *full_manifest =
  HEAD PROV
  "<tasks><task name='Work' value='7' message='$(string.task.Work)'>"
  "<opcodes><opcode name='Begin' value='20'/></opcodes></task></tasks>\n"
  "<opcodes><opcode name='Mine' value='30'/></opcodes>\n"
  "<keywords><keyword name='K1' mask='0x10'/><keyword name='K2' mask='0x4'/></keywords>\n"
  "<channels><channel chid='C1' name='Test-Prov/Op' type='Operational'/></channels>\n"
  "<maps><valueMap name='VM'><map value='1' message='$(string.map.one)'/>"
  "<map value='2' message='$(string.map.two)'/></valueMap>\n"
  "<bitMap name='BM'><map value='0x1' message='$(string.bit.a)'/>"
  "<map value='0x4' message='$(string.bit.b)'/></bitMap></maps>\n"
  "<templates><template tid='T'>\n"
  "  <data name='N' inType='win:UInt32'/>\n"
  "  <data name='Arr' inType='win:UInt16' count='N'/>\n"
  "  <struct name='S' count='2'><data name='a' inType='win:UInt8' map='VM'/>"
  "<data name='s' inType='win:AnsiString'/></struct>\n"
  "  <data name='B' inType='win:Binary' outType='xs:hexBinary' length='3'/>\n"
  "  <data name='Flags' inType='win:UInt32' map='BM'/>\n"
  "  <UserData><S xmlns='x'><struct/></S></UserData>\n"
  "</template></templates>\n"
  "<events><event value='5' version='2' task='Work' opcode='Begin' level='win:Warning' "
  "keywords='K1 K2 win:ResponseTime' channel='C1' template='T' symbol='EvFive'/>\n"
  "<event value='6' opcode='Mine' symbol='EvSix'/>"
  "<event value='7' name='Named' task='Work' opcode='win:Stop'/></events>\n"
  TAIL;

typedef struct walked {
  char line[2048];
  size_t n;
  const uint8_t *tei;
  uint32_t tei_len;
} walked;

static void wsink(void *ctx, const char *s, size_t n) {
  walked *w = ctx;
  if (w->n + n < sizeof w->line) { memcpy(w->line + w->n, s, n); w->n += n; w->line[w->n] = 0; }
}

static const schema_event *find_ev(const schema_man *m, unsigned id) {
  for (size_t i = 0; i < schema_man_event_count(m); i++)
    if (schema_man_event(m, i)->id == id) return schema_man_event(m, i);
  return NULL;
}

static void test_full(void) {
  char err[600];
  schema_man *m = parse(full_manifest, err, sizeof err);
  check(m != NULL, "full manifest parses: %s", m ? "" : err);
  if (!m) return;
  check(schema_man_provider_count(m) == 1 && schema_man_event_count(m) == 3,
        "1 provider, 3 events (%zu, %zu)", schema_man_provider_count(m), schema_man_event_count(m));
  const char *name;
  const uint8_t *guid;
  size_t nev;
  schema_man_provider(m, 0, &name, &guid, &nev);
  check(strcmp(name, "Test-Prov") == 0 && guid[0] == 0x44 && guid[3] == 0x11 && nev == 3,
        "provider name, GUID in memory order, event count");
  const schema_event *e = find_ev(m, 5);
  check(e && e->version == 2, "event 5 version 2");
  if (!e) { schema_man_free(m); return; }
  const uint8_t *d = e->blob + 32;   /* EVENT_DESCRIPTOR */
  check(d[3] == 16 && d[4] == 3 && d[5] == 20 && (d[6] | d[7] << 8) == 7,
        "descriptor: channel 16 (first own channel), level 3, task opcode 20, task 7 "
        "(%u %u %u %u)", d[3], d[4], d[5], d[6] | d[7] << 8);
  uint64_t kw = 0;
  for (int i = 0; i < 8; i++) kw |= (uint64_t)d[8 + i] << 8 * i;
  check(kw == 0x0001000000000014ULL, "keywords K1|K2|win:ResponseTime (0x%llx)",
        (unsigned long long)kw);
  /* payload: N=2, Arr=[0x0102, 0x0304], S[0]={a=1,s="hi"}, S[1]={a=2,s=""},
  ** B=3 bytes, Flags=5 (A|B) */
  static const uint8_t pay[] = {2, 0, 0, 0, 2, 1, 4, 3, 1, 'h', 'i', 0, 2, 0, 0xAA, 0xBB, 0xCC,
                                5, 0, 0, 0};
  sch_tdh_event t = {e->blob, e->len, pay, sizeof pay, 8};
  walked w = {"", 0, e->blob, e->len};
  tlg_sink sink = {wsink, &w};
  uint32_t prop;
  int st = sch_tdh_fmt_fields(&sink, &t, TLG_FMT_TEXT, &prop);
  check(st == SCH_TDH_OK, "walk ok (%d)", st);
  check(strcmp(w.line, "N=2 Arr=[258,772] S=[{a=1(One) s=\"hi\"},{a=2(Two) s=\"\"}] B=0xaabbcc Flags=5(A|B)") == 0,
        "fields: %s", w.line);
  walked wj = {"", 0, e->blob, e->len};
  tlg_sink jsink = {wsink, &wj};
  sch_tdh_fmt_fields(&jsink, &t, TLG_FMT_JSON, &prop);
  check(strcmp(wj.line, "{\"N\":2,\"Arr\":[258,772],\"S\":[{\"a\":1,\"a.mapped\":\"One\",\"s\":\"hi\"},"
        "{\"a\":2,\"a.mapped\":\"Two\",\"s\":\"\"}],\"B\":\"aabbcc\",\"Flags\":5,\"Flags.mapped\":\"A|B\"}") == 0,
        "JSON: %s", wj.line);
  char buf[256];
  sch_tdh_event_name(&t, buf, sizeof buf);
  check(strcmp(buf, "Work Task") == 0, "ev.name = task message '%s'", buf);
  sch_tdh_provider_name(&t, buf, sizeof buf);
  check(strcmp(buf, "Test-Prov") == 0, "provider name '%s'", buf);
  /* short payload: the walker says where it ran out */
  t.data_len = 10;
  check(sch_tdh_run(&t, NULL, NULL, &prop) == SCH_TDH_SHORT, "short payload reported");
  /* value maps: property 3 is S's member a (top level N Arr S B Flags = 0..4, then a, s) */
  uint32_t a_map = (uint32_t)(e->blob[112 + 24 * 5 + 12] | e->blob[112 + 24 * 5 + 13] << 8 |
                              e->blob[112 + 24 * 5 + 14] << 16 | (uint32_t)e->blob[112 + 24 * 5 + 15] << 24);
  uint32_t f_map = (uint32_t)(e->blob[112 + 24 * 4 + 12] | e->blob[112 + 24 * 4 + 13] << 8);
  check(schema_map_lookup(e->blob, e->len, a_map, 1, buf, sizeof buf) == 3 &&
        strcmp(buf, "One") == 0, "value map 1 -> 'One' (trailing blank dropped): '%s'", buf);
  check(schema_map_lookup(e->blob, e->len, a_map, 9, buf, sizeof buf) == 0, "value map: no entry");
  check(schema_map_lookup(e->blob, e->len, f_map, 5, buf, sizeof buf) == 3 &&
        strcmp(buf, "A|B") == 0, "bitmap 5 -> 'A|B': '%s'", buf);
  check(schema_map_lookup(e->blob, e->len, 0, 5, buf, sizeof buf) == 0, "no map at offset 0");
  /* event 6: no task, so its symbol names it; provider opcode resolved */
  e = find_ev(m, 6);
  if (e) {
    sch_tdh_event t6 = {e->blob, e->len, NULL, 0, 8};
    sch_tdh_event_name(&t6, buf, sizeof buf);
    check(strcmp(buf, "EvSix") == 0 && e->blob[32 + 5] == 30, "event 6: name '%s', opcode 30", buf);
  }
  e = find_ev(m, 7);
  if (e) {
    sch_tdh_event t7 = {e->blob, e->len, NULL, 0, 8};
    sch_tdh_event_name(&t7, buf, sizeof buf);
    check(strcmp(buf, "Named") == 0 && e->blob[32 + 5] == 2, "event 7: own name '%s', win:Stop 2", buf);
  }
  schema_man_free(m);
}

/* ---- the registry ---- */

static void test_registry(void) {
  char err[600], warn[1200];
  schema_reg *r = schema_reg_new();
  schema_man *a = parse(full_manifest, err, sizeof err), *b = parse(full_manifest, err, sizeof err);
  /* the same provider, event 5 with another template */
  static const char *other = HEAD PROV
    "<templates><template tid='T'><data name='X' inType='win:UInt64'/></template></templates>"
    "<events><event value='5' version='2' template='T'/></events>" TAIL;
  schema_man *c = parse(other, err, sizeof err);
  check(r && a && b && c, "registry and manifests");
  if (!r || !a || !b || !c) return;
  uint8_t g[16];
  memcpy(g, schema_man_event(a, 0)->provider, 16);
  check(schema_reg_add(r, a, "a.man", warn, sizeof warn) == 0 && warn[0] == 0, "first add, no warning");
  check(schema_reg_add(r, b, "b.man", warn, sizeof warn) == 0 && warn[0] == 0,
        "same definitions again: no warning (%s)", warn);
  check(schema_reg_count(r) == 3, "3 keys (%zu)", schema_reg_count(r));
  check(schema_reg_add(r, c, "c.man", warn, sizeof warn) == 0 && strstr(warn, "c.man redefines 1 event") &&
        strstr(warn, "/5/2") && strstr(warn, "first from b.man"), "redefinition warned once: %s", warn);
  uint32_t len;
  const uint8_t *blob = schema_reg_find(r, g, 5, 2, &len);
  check(blob == schema_man_event(c, 0)->blob, "the later definition wins");
  check(schema_reg_find(r, g, 5, 3, &len) == NULL && schema_reg_find(r, g, 99, 0, &len) == NULL,
        "unknown version / id: none");
  schema_reg_free(r);
}

/* ---- hostile and broken manifests ---- */

static void expect_err(const char *what, const char *text, size_t len, const char *line,
                       const char *rule) {
  char err[600];
  schema_man *m = NULL;
  int rc = schema_man_parse("h.man", text, len, &m, err, sizeof err);
  check(rc < 0 && m == NULL && strncmp(err, line, strlen(line)) == 0 && strstr(err, rule),
        "%s: error '%s' names %s and '%s'", what, rc < 0 ? err : "(parsed)", line, rule);
  schema_man_free(m);
}

static void test_hostile(void) {
  char *buf = malloc(64u << 20);
  if (!buf) { check(0, "memory for hostile inputs"); return; }
  /* deep nesting */
  size_t n = (size_t)sprintf(buf, HEAD);
  for (int i = 0; i < 200; i++) n += (size_t)sprintf(buf + n, "<a>");
  expect_err("200 nested elements", buf, n, "h.man:", "nested deeper than 64");
  /* a count naming a later field */
  n = (size_t)sprintf(buf, HEAD PROV "<templates><template tid='T'>\n"
      "<data name='A' inType='win:UInt8' count='N'/>\n<data name='N' inType='win:UInt8'/>\n"
      "</template></templates><events><event value='1' template='T'/></events>" TAIL);
  expect_err("count naming a later field", buf, n, "h.man:6:", "count 'N' is neither a number nor an earlier field");
  n = (size_t)sprintf(buf, HEAD PROV "<templates><template tid='T'>\n"
      "<data name='A' inType='win:Binary' length='4294967296'/>\n"
      "</template></templates><events><event value='1' template='T'/></events>" TAIL);
  expect_err("length 2^32", buf, n, "h.man:6:", "length 4294967296 is out of range");
  n = (size_t)sprintf(buf, HEAD PROV "<templates><template tid='T'>\n"
      "<data name='A' inType='win:Nonsense'/>\n"
      "</template></templates><events><event value='1' template='T'/></events>" TAIL);
  expect_err("unknown inType", buf, n, "h.man:6:", "unknown inType 'win:Nonsense'");
  n = (size_t)sprintf(buf, HEAD PROV "<events>\n<event value='1' template='Missing'/></events>" TAIL);
  expect_err("undefined template", buf, n, "h.man:6:", "template 'Missing' is not defined");
  n = (size_t)sprintf(buf, HEAD PROV "<events>\n<event value='70000'/></events>" TAIL);
  expect_err("event id beyond 65535", buf, n, "h.man:6:", "value '70000' is not a number in 0..65535");
  /* 10^6 events: refused at the 100,001st, bounded work */
  n = (size_t)sprintf(buf, HEAD PROV "<events>");
  for (int i = 0; i < 1000000; i++) n += (size_t)sprintf(buf + n, "<event value='%d'/>", i % 60000);
  n += (size_t)sprintf(buf + n, "</events>" TAIL);
  expect_err("10^6 events", buf, n, "h.man:", "more than 100000 events");
  /* entities: billion laughs and an external file */
  n = (size_t)sprintf(buf, "<?xml version='1.0'?><!DOCTYPE i [<!ENTITY a 'aaaaaaaaaa'>"
      "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>]>"
      "<instrumentationManifest>&c;</instrumentationManifest>");
  expect_err("entity expansion", buf, n, "h.man:1:", "entity declarations are not accepted");
  n = (size_t)sprintf(buf, "<?xml version='1.0'?>\n<!DOCTYPE i [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
      "<instrumentationManifest>&x;</instrumentationManifest>");
  expect_err("external entity", buf, n, "h.man:2:", "entity declarations are not accepted");
  n = (size_t)sprintf(buf, "<?xml version='1.0'?>\n<!DOCTYPE i SYSTEM 'http://example.invalid/x.dtd'>"
      "<instrumentationManifest/>");
  expect_err("external DTD", buf, n, "h.man:", "no instrumentation/events/provider");
  /* invalid UTF-8 in an attribute */
  n = (size_t)sprintf(buf, HEAD PROV "<events>\n<event value='1' symbol='\xC3\x28'/></events>" TAIL);
  expect_err("invalid UTF-8", buf, n, "h.man:6:", "not well-formed XML");
  expect_err("not XML", "hello", 5, "h.man:1:", "not well-formed XML");
  expect_err("another root", "<root/>", 7, "h.man:1:", "root element is <root>");
  static const char bad_guid[] = HEAD "<provider name='X' guid='nope'><events/></provider></events>"
                                  "</instrumentation></instrumentationManifest>";
  expect_err("bad GUID", bad_guid, sizeof bad_guid - 1, "h.man:4:", "guid 'nope' is not a GUID");
  free(buf);
}

/* ---- real manifests ---- */

static int provider_events(const schema_man *m, const char *want) {
  for (size_t i = 0; i < schema_man_provider_count(m); i++) {
    const char *name;
    const uint8_t *g;
    size_t n;
    schema_man_provider(m, i, &name, &g, &n);
    if (strcmp(name, want) == 0) return (int)n;
  }
  return -1;
}

static void test_real(const char *shared) {
  char path[1024], err[600];
  schema_man *m;
  snprintf(path, sizeof path, "%s/manifests/SystemEvents.man", shared);
  if (schema_man_parse_file(path, &m, err, sizeof err) < 0) {
    check(0, "SystemEvents.man loads: %s", err);
  } else {
    int p = provider_events(m, "Microsoft-Windows-Kernel-Process"),
        f = provider_events(m, "Microsoft-Windows-Kernel-File"),
        n = provider_events(m, "Microsoft-Windows-Kernel-Network");
    check(p > 0 && f > 0 && n > 0, "SystemEvents.man: Kernel-Process %d, -File %d, -Network %d events",
          p, f, n);
    check(schema_man_event_count(m) == 450, "SystemEvents.man: 450 events (%zu)", schema_man_event_count(m));
    schema_man_free(m);
  }
  snprintf(path, sizeof path, "%s/manifests/ClrEtwAll.man", shared);
  if (schema_man_parse_file(path, &m, err, sizeof err) < 0) {
    check(0, "ClrEtwAll.man loads: %s", err);
  } else {
    check(schema_man_provider_count(m) == 4 && schema_man_event_count(m) == 416,
          "ClrEtwAll.man: 4 providers, 416 events (%zu, %zu)", schema_man_provider_count(m),
          schema_man_event_count(m));
    check(provider_events(m, "Microsoft-Windows-DotNETRuntime") > 0, "DotNETRuntime has events");
    schema_man_free(m);
  }
}

/* ---- HTTP_Server.etl against Windows' EVTX export ---- */

typedef struct fieldv {
  char name[SCH_TDH_NAME_MAX];
  char value[1100];
} fieldv;

typedef struct fcollect {
  const sch_tdh_event *t;
  fieldv f[32];
  int n, bad;
} fcollect;

typedef struct vbuf { char *s; size_t n, cap; } vbuf;
static void vsink(void *ctx, const char *s, size_t n) {
  vbuf *v = ctx;
  if (v->n + n < v->cap) { memcpy(v->s + v->n, s, n); v->n += n; v->s[v->n] = 0; }
}

static int collect(void *ctx, const sch_walk_item *w) {
  fcollect *c = ctx;
  if (w->kind != SCH_W_VALUE || w->depth != 0 || c->n >= 32) { c->bad++; return 0; }
  tlg_item it;
  fieldv *f = &c->f[c->n++];
  sch_tdh_item(c->t, w, 0, &it, f->name);
  f->name[sizeof f->name - 1] = 0;
  vbuf v = {f->value, 0, sizeof f->value};
  f->value[0] = 0;
  tlg_sink sink = {vsink, &v};
  /* strings compared as their text (the text format quotes them) */
  if (w->intype == SCH_IN_UNICODESTRING)
    tlg_utf16_to_utf8(w->ptr, w->len / 2, f->value, sizeof f->value);
  else if (w->intype == SCH_IN_ANSISTRING)
    snprintf(f->value, sizeof f->value, "%.*s", (int)w->len, (const char *)w->ptr);
  else
    tlg_fmt_value(&sink, &it, TLG_FMT_TEXT);
  return 0;
}

static int ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a, y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
    if (x != y) return 0;
  }
  return *a == *b;
}

/* An integer in decimal or 0x hex (the whole text); 0 if it is not one. */
static int int_text(const char *s, unsigned long long *v) {
  char *e;
  if (!*s || *s == '-' || *s == ' ') return 0;
  *v = strtoull(s, &e, s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10);
  return *e == 0;
}

/* EVTX text vs ours, normalised: XML entities decoded; integers compared
** by value (the EVTX export writes some HexInt64 fields in decimal, ours
** follow the manifest's outType); otherwise case ignored, and a "0x"
** prefix of ours dropped where the EVTX writes binary as bare hex. */
static int same_value(const char *xml, size_t xn, const char *ours) {
  char x[1100];
  size_t k = 0;
  for (size_t i = 0; i < xn && k + 1 < sizeof x; i++) {
    if (xml[i] == '&') {
      static const struct { const char *e; char c; } ent[] = {
          {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
      size_t j;
      for (j = 0; j < 5; j++)
        if (strncmp(xml + i, ent[j].e, strlen(ent[j].e)) == 0) break;
      if (j < 5) { x[k++] = ent[j].c; i += strlen(ent[j].e) - 1; continue; }
    }
    x[k++] = xml[i];
  }
  x[k] = 0;
  if (ieq(x, ours)) return 1;
  unsigned long long a, b;
  if (int_text(x, &a) && int_text(ours, &b)) return a == b;
  return strncmp(ours, "0x", 2) == 0 && !(x[0] == '0' && (x[1] == 'x' || x[1] == 'X')) && ieq(x, ours + 2);
}

/* Compare our fields with the <EventData> of one exported event; NULL or why. */
static const char *cmp_data(const char *p, const char *end, const fcollect *c, char *why, size_t cap,
                            const rec_record *rec, size_t *unrendered) {
  const char *pe = strstr(p, "<ProcessingErrorData>");
  if (pe && pe < end) {
    /* Windows could not render this event (its Url is not NUL-terminated):
    ** it exports the payload instead; ours must be the same bytes and
    ** decode (the unterminated string taken to the end of the payload) */
    const char *hx = strstr(pe, "<EventPayload>");
    char hex[4096];
    size_t k = 0;
    for (uint32_t i = 0; i < rec->data_len && k + 3 < sizeof hex; i++)
      k += (size_t)snprintf(hex + k, sizeof hex - k, "%02X", rec->data[i]);
    if (!hx || strncmp(hx + 14, hex, k) != 0 || hx[14 + k] != '<') return "EVTX payload differs";
    (*unrendered)++;
    return NULL;
  }
  const char *ed = strstr(p, "<EventData>");
  int i = 0;
  if (ed && ed < end) {
    const char *q = ed;
    while ((q = strstr(q, "<Data Name=\"")) && q < end) {
      q += 12;
      const char *qe = strchr(q, '"');
      if (!qe || i >= c->n) { snprintf(why, cap, "more Data than fields (%d)", c->n); return why; }
      if ((size_t)(qe - q) != strlen(c->f[i].name) || strncmp(q, c->f[i].name, (size_t)(qe - q))) {
        snprintf(why, cap, "field %d: name %.*s vs %s", i, (int)(qe - q), q, c->f[i].name);
        return why;
      }
      const char *v = qe + 1, *ve;
      if (v[0] == '/' && v[1] == '>') { v = ve = v; }
      else { v++; ve = strstr(v, "</Data>"); }
      if (!ve) return "unterminated Data";
      if (!same_value(v, (size_t)(ve - v), c->f[i].value)) {
        snprintf(why, cap, "field %s: EVTX '%.*s' vs ours '%s'", c->f[i].name, (int)(ve - v), v,
                 c->f[i].value);
        return why;
      }
      i++;
    }
  }
  if (i != c->n) { snprintf(why, cap, "%d fields, EVTX has %d Data", c->n, i); return why; }
  return NULL;
}

static void test_http(const char *shared) {
  char path[1024], err[600];
  size_t len;
  snprintf(path, sizeof path, "%s/etl-samples/tx/HTTP_Server.evtx.evtxexport.xml.gz", shared);
  char *xml = (char *)read_file_maybe_gz(path, &len);
  if (!xml) { check(0, "HTTP_Server EVTX export readable at %s", path); return; }
  schema_man *m;
  schema_reg *reg = schema_reg_new();
  snprintf(path, sizeof path, "%s/etl-samples/tx/HTTP_Server.man", shared);
  if (!reg || schema_man_parse_file(path, &m, err, sizeof err) < 0 ||
      schema_reg_add(reg, m, path, err, sizeof err) < 0) {
    check(0, "HTTP_Server.man loads: %s", err);
    free(xml);
    schema_reg_free(reg);
    return;
  }
  snprintf(path, sizeof path, "%s/etl-samples/tx/HTTP_Server.etl", shared);
  etl_reader *r;
  etl_error e;
  rec_record rec;
  if (etl_open_file(path, NULL, &r, &e) != ETL_OK) {
    check(0, "HTTP_Server.etl opens: %s", e.message);
    free(xml);
    schema_reg_free(reg);
    return;
  }
  size_t events = 0, decoded = 0, bad = 0, fields = 0, unrendered = 0;
  const char *p = strstr(xml, "<Event ");
  int st;
  while ((st = etl_next(r, &rec, &e)) != ETL_END) {
    if (st != ETL_OK || rec.header_kind != REC_HDR_EVENT) continue;
    if (!p) { bad++; break; }
    const char *end = strstr(p + 1, "</Event>");
    if (!end) end = xml + len;
    uint32_t blen;
    const uint8_t *blob = schema_reg_find(reg, rec.provider_id.b, rec.desc.id, rec.desc.version, &blen);
    char why[1400];
    const char *diff = "no schema";
    if (blob) {
      sch_tdh_event t = {blob, blen, rec.data, rec.data_len, rec.pointer_size == 4 ? 4 : 8};
      fcollect c;
      memset(&c, 0, sizeof c);
      c.t = &t;
      int ws = sch_tdh_run(&t, collect, &c, NULL);
      if (ws == SCH_TDH_OK && !c.bad) decoded++;
      fields += (size_t)c.n;
      diff = ws != SCH_TDH_OK ? "walk failed" : c.bad ? "nested items" : cmp_data(p, end, &c, why, sizeof why, &rec, &unrendered);
    }
    if (diff && bad++ < 5) printf("  HTTP_Server event %zu (id %u): %s\n", events, rec.desc.id, diff);
    events++;
    p = strstr(end, "<Event ");
  }
  check(events == 2041 && decoded == 2041, "HTTP_Server: %zu of %zu events decode (2041)", decoded, events);
  check(bad == 0 && fields > 4000, "HTTP_Server: every field (%zu) equals the EVTX EventData "
        "(%zu events differ; %zu Windows could not render, payload bytes equal)", fields, bad,
        unrendered);
  printf("HTTP_Server: %zu events, %zu fields compared; %zu exported by Windows as "
         "ProcessingErrorData (payload compared)\n", events, fields, unrendered);
  etl_close(r);
  schema_reg_free(reg);
  free(xml);
}

/* ---- the plan of a flat schema (sch_tdh_plan.c) against the walker ---- */

typedef struct seen {
  const uint8_t *data;
  uint32_t prop[64], off[64], len[64], count[64];
  int kind[64];
  size_t n;
} seen;

static int collect_top(void *ctx, const sch_walk_item *w) {
  seen *s = ctx;
  if (w->depth != 0 || (w->kind != SCH_W_VALUE && w->kind != SCH_W_ARRAY_BEGIN)) return 0;
  if (s->n == 64) return 1;
  s->prop[s->n] = w->prop;
  s->kind[s->n] = w->kind;
  s->off[s->n] = w->kind == SCH_W_VALUE && w->len ? (uint32_t)(w->ptr - s->data) : 0;
  s->len[s->n] = w->kind == SCH_W_VALUE ? w->len : 0;
  s->count[s->n] = w->kind == SCH_W_ARRAY_BEGIN ? w->count : 0;
  s->n++;
  return 0;
}

/* The plan's spans as the walker's top-level items (values; array begins
** followed by their items), for comparing. */
static void spans_as_items(const sch_plan_step *st, size_t n, const sch_plan_span *sp, seen *s) {
  for (size_t i = 0; i < n && s->n < 64; i++) {
    if (!st[i].is_array) {
      s->prop[s->n] = (uint32_t)i; s->kind[s->n] = SCH_W_VALUE;
      s->off[s->n] = sp[i].len ? sp[i].off : 0; s->len[s->n] = sp[i].len; s->count[s->n++] = 0;
      continue;
    }
    s->prop[s->n] = (uint32_t)i; s->kind[s->n] = SCH_W_ARRAY_BEGIN;
    s->off[s->n] = 0; s->len[s->n] = 0; s->count[s->n++] = sp[i].count;
    for (uint32_t k = 0; k < sp[i].count && s->n < 64; k++) {
      s->prop[s->n] = (uint32_t)i; s->kind[s->n] = SCH_W_VALUE;
      s->off[s->n] = sp[i].off + k * sp[i].len; s->len[s->n] = sp[i].len; s->count[s->n++] = 0;
    }
  }
}

static int same_items(const seen *a, const seen *b) {
  if (a->n != b->n) return 0;
  for (size_t i = 0; i < a->n; i++)
    if (a->prop[i] != b->prop[i] || a->kind[i] != b->kind[i] || a->off[i] != b->off[i] ||
        a->len[i] != b->len[i] || a->count[i] != b->count[i])
      return 0;
  return 1;
}

static const char *plan_manifest =
  HEAD PROV
  "<templates><template tid='F'>\n"
  "  <data name='N' inType='win:UInt16'/><data name='Name' inType='win:UnicodeString'/>\n"
  "  <data name='Stack' inType='win:Pointer' count='N'/><data name='Tag' inType='win:AnsiString'/>\n"
  "  <data name='Pair' inType='win:UInt8' count='2'/><data name='Id' inType='win:GUID'/>\n"
  "  <data name='B' inType='win:Binary' length='3'/><data name='L' inType='win:UInt32'/>\n"
  "  <data name='S' inType='win:AnsiString' length='L'/><data name='W' inType='win:UnicodeString' length='2'/>\n"
  "</template>\n"
  "<template tid='S'><data name='A' inType='win:UInt8'/>"
  "<struct name='T'><data name='x' inType='win:UInt8'/></struct></template>\n"
  "</templates>\n"
  "<events><event value='1' template='F' symbol='Flat'/><event value='2' template='S' symbol='St'/>"
  "</events>\n" TAIL;

static void test_plan(void) {
  char err[600];
  schema_man *m = parse(plan_manifest, err, sizeof err);
  check(m != NULL, "plan manifest parses: %s", m ? "" : err);
  if (!m) return;
  sch_plan_step st[SCH_PLAN_MAX];
  const schema_event *e = find_ev(m, 2);
  check(e && sch_plan_compile(e->blob, e->len, st) == 0, "a schema with a struct has no plan");
  e = find_ev(m, 1);
  size_t n = e ? sch_plan_compile(e->blob, e->len, st) : 0;
  check(n == 10, "the flat schema: one step per top-level field (%zu)", n);
  if (n != 10) { schema_man_free(m); return; }
  check(st[2].is_array && st[4].is_array && !st[1].is_array && st[0].is_param && st[7].is_param,
        "arrays by a field's count or a fixed one; N and L give counts and lengths");
  /* N=2, "ab", two pointers, "t", 2 bytes, a GUID, 3 bytes, L=2, "xy", 2 UTF-16 chars */
  uint8_t pay[128];
  size_t len = 0;
  for (unsigned psize = 4; psize <= 8; psize += 4) {
    len = 0;
    pay[len++] = 2; pay[len++] = 0;
    memcpy(pay + len, "a\0b\0\0\0", 6); len += 6;
    for (unsigned k = 0; k < 2 * psize; k++) pay[len++] = (uint8_t)(0x40 + k);
    memcpy(pay + len, "t\0", 2); len += 2;
    pay[len++] = 7; pay[len++] = 8;
    for (int k = 0; k < 16; k++) pay[len++] = (uint8_t)k;
    pay[len++] = 0xAA; pay[len++] = 0xBB; pay[len++] = 0xCC;
    pay[len++] = 2; pay[len++] = 0; pay[len++] = 0; pay[len++] = 0;
    memcpy(pay + len, "xyW\0\0\0", 6); len += 6;
    int agree = 1, whole = 0;
    for (size_t cut = 0; cut <= len; cut++) {   /* every truncation, the whole payload last */
      seen w = {pay, {0}, {0}, {0}, {0}, {0}, 0}, p = {pay, {0}, {0}, {0}, {0}, {0}, 0};
      sch_plan_span sp[SCH_PLAN_MAX];
      int rc = sch_tdh_walk(e->blob, e->len, pay, cut, psize, collect_top, &w);
      int ok = sch_plan_locate(st, n, pay, cut, psize, sp);
      if (ok) spans_as_items(st, n, sp, &p);
      if (ok != (rc == 0) || (ok && !same_items(&w, &p))) {
        agree = 0;
        check(0, "plan and walk differ at %zu of %zu bytes (pointer size %u): plan %d walk %d",
              cut, len, psize, ok, rc);
        break;
      }
      whole = ok && cut == len && p.n == 14 && p.len[1] == 4 && p.len[12] == 2 && p.len[13] == 2;   /* W ends at its NUL */
    }
    check(agree && whole, "plan == walk at every length of the payload, pointer size %u", psize);
  }
  check(sch_plan_locate(st, n, NULL, 0, 8, (sch_plan_span[SCH_PLAN_MAX]){{0}}) == 0,
        "no payload: the walker decides");
  schema_man_free(m);
}

int main(void) {
  test_full();
  test_plan();
  test_registry();
  test_hostile();
  const char *shared = unit_shared_dir();
  if (!shared) {
    skip("../shared is absent (ETWLUA_SHARED): the real manifest and HTTP_Server checks need it");
  } else {
    test_real(shared);
    test_http(shared);
  }
  return unit_finish();
}
