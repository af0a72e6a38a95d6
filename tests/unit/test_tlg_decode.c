/*
** test_tlg_decode.c: the TraceLogging decoder and formatters on hand-made
** blobs (spec §3.3-3.5): every InType and array form, structs, arrays of
** structs, custom schemas, and malformed input of every kind.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlg_decode.h"
#include "tlg_format.h"
#include "unit_check.h"

#define CHECK(cond) check_at((cond), __FILE__, __LINE__, "%s", #cond)

static void check_str(const char *got, const char *want, int line) {
  check_at(strcmp(got, want) == 0, __FILE__, line, "string match\n  got:  %s\n  want: %s", got, want);
}
#define CHECK_STR(got, want) check_str((got), (want), __LINE__)

/* ---- blob building ---- */

typedef struct blob {
  uint8_t b[1 << 17];
  size_t n;
} blob;

static blob M, D; /* metadata and data of the event under test */

static void hex(blob *x, const char *h) {
  for (; *h; h++) {
    if (*h == ' ') continue;
    unsigned v;
    sscanf(h, "%2x", &v);
    x->b[x->n++] = (uint8_t)v;
    h++;
  }
}

/* A name with its NUL, then hex bytes (InMeta, OutMeta, tags, ...). */
static void fld(const char *name, const char *h) {
  memcpy(M.b + M.n, name, strlen(name) + 1);
  M.n += strlen(name) + 1;
  hex(&M, h);
}

static void begin(const char *name) {
  M.n = D.n = 0;
  hex(&M, "0000 00");
  fld(name, "");
}

static void fix_size(void) {
  M.b[0] = (uint8_t)M.n;
  M.b[1] = (uint8_t)(M.n >> 8);
}

/* ---- decoding into text ---- */

typedef struct sbuf {
  char s[1 << 16];
  size_t n;
  int full; /* output was cut */
} sbuf;

static void sb_write(void *ctx, const char *s, size_t n) {
  sbuf *b = ctx;
  if (b->n + n >= sizeof b->s) {
    n = sizeof b->s - 1 - b->n;
    b->full = 1;
  }
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = 0;
}

static sbuf out;
static tlg_decoder dec;

/* Fields as TEXT or JSON; returns the decoder status. */
static int render(int mode) {
  tlg_sink sink = {sb_write, &out};
  out.n = 0;
  out.s[0] = 0;
  out.full = 0;
  fix_size();
  if (tlg_decode_start(&dec, M.b, M.n, D.b, D.n) != TLG_OK) return tlg_decode_status(&dec);
  return tlg_fmt_fields(&sink, &dec, mode);
}

static const char *errtext(void) {
  static sbuf e;
  tlg_sink sink = {sb_write, &e};
  e.n = 0;
  e.s[0] = 0;
  tlg_fmt_error(&sink, &dec);
  return e.s;
}

/* A compact trace of item kinds: name(depth)... */
static const char *trace(void) {
  static char t[4096];
  size_t n = 0;
  tlg_item it;
  fix_size();
  t[0] = 0;
  tlg_decode_start(&dec, M.b, M.n, D.b, D.n);
  while (tlg_decode_next(&dec, &it) && n < sizeof t - 64) {
    static const char *k[] = {"", "V", "A[", "]", "S{", "}"};
    n += (size_t)snprintf(t + n, sizeof t - n, "%s%s:%.*s@%u+%u/%u ", k[it.kind],
                          it.in_array ? "#" : "", (int)it.field.name_len, it.field.name,
                          it.offset, it.size, it.depth);
  }
  return t;
}

/* ---- tests ---- */

static void test_scalars(void) {
  begin("scalars");
  fld("u16s", "01");  hex(&D, "6800 6900 0000");
  fld("a8", "02");    hex(&D, "79 6f 00");
  fld("i8", "03");    hex(&D, "ff");
  fld("u8", "04");    hex(&D, "ff");
  fld("i16", "05");   hex(&D, "feff");
  fld("u16", "06");   hex(&D, "3412");
  fld("i32", "07");   hex(&D, "ffffff7f");
  fld("u32", "08");   hex(&D, "ffffffff");
  fld("i64", "09");   hex(&D, "0000000000000080");
  fld("u64", "0a");   hex(&D, "ffffffffffffffff");
  fld("f32", "0b");   hex(&D, "cdcccc3d");
  fld("f64", "0c");   hex(&D, "000000000000f83f");
  fld("b32", "0d");   hex(&D, "02000000");
  fld("bin", "0e");   hex(&D, "0200 abcd");
  fld("guid", "0f");  hex(&D, "33221100 5544 7766 8899aabbccddeeff");
  fld("ptr", "10");   hex(&D, "0010000000000000");
  fld("ft", "11");    hex(&D, "00803ed5deb19d01");
  fld("st", "12");    hex(&D, "e807 0200 0400 1d00 0d00 0e00 0f00 1000");
  fld("sid", "13");   hex(&D, "0101 000000000005 12000000");
  fld("h32", "14");   hex(&D, "efbeadde");
  fld("h64", "15");   hex(&D, "8877665544332211");
  fld("cs", "16");    hex(&D, "0400 4100 4200");
  fld("cas", "17");   hex(&D, "0200 7879");
  fld("cb", "19");    hex(&D, "0000");
  CHECK(render(TLG_FMT_TEXT) == TLG_OK);
  CHECK_STR(out.s, "u16s=\"hi\" a8=\"yo\" i8=-1 u8=255 i16=-2 u16=4660 i32=2147483647 "
            "u32=4294967295 i64=-9223372036854775808 u64=18446744073709551615 f32=0.1 "
            "f64=1.5 b32=true bin=0xabcd guid=00112233-4455-6677-8899-aabbccddeeff "
            "ptr=4096 ft=1970-01-01T00:00:00.0000000Z st=2024-02-29T13:14:15.016 "
            "sid=S-1-5-18 h32=0xdeadbeef h64=0x1122334455667788 cs=\"AB\" cas=\"xy\" cb=0x");
  CHECK(render(TLG_FMT_JSON) == TLG_OK);
  CHECK_STR(out.s, "{\"u16s\":\"hi\",\"a8\":\"yo\",\"i8\":-1,\"u8\":255,\"i16\":-2,\"u16\":4660,"
            "\"i32\":2147483647,\"u32\":4294967295,\"i64\":\"-9223372036854775808\","
            "\"u64\":\"18446744073709551615\",\"f32\":0.1,\"f64\":1.5,\"b32\":true,"
            "\"bin\":\"abcd\",\"guid\":\"00112233-4455-6677-8899-aabbccddeeff\",\"ptr\":4096,"
            "\"ft\":\"1970-01-01T00:00:00.0000000Z\",\"st\":\"2024-02-29T13:14:15.016\","
            "\"sid\":\"S-1-5-18\",\"h32\":3735928559,\"h64\":\"1234605616436508552\","
            "\"cs\":\"AB\",\"cas\":\"xy\",\"cb\":\"\"}");
  CHECK(strcmp(dec.event_name, "scalars") == 0 && dec.event_tag == 0 && dec.event_tag_len == 1);
}

static void test_outtypes(void) {
  begin("out");
  fld("b8", "84 03");         hex(&D, "01");
  fld("x8", "84 04");         hex(&D, "0a");
  fld("utc", "92 26");        hex(&D, "e807 0100 0100 0100 0000 0000 0000 0000");
  fld("big", "89 04");        hex(&D, "0000000000002000"); /* 2^53: still a number */
  fld("big1", "0a");          hex(&D, "0100000000002000"); /* 2^53+1: a string */
  fld("neg", "09");           hex(&D, "00000000000000e0");
  CHECK(render(TLG_FMT_JSON) == TLG_OK);
  CHECK_STR(out.s, "{\"b8\":true,\"x8\":10,\"utc\":\"2024-01-01T00:00:00.000Z\","
            "\"big\":9007199254740992,\"big1\":\"9007199254740993\","
            "\"neg\":\"-2305843009213693952\"}");
  CHECK(render(TLG_FMT_TEXT) == TLG_OK);
  CHECK_STR(out.s, "b8=true x8=0xa utc=2024-01-01T00:00:00.000Z big=0x20000000000000 "
            "big1=9007199254740993 neg=-2305843009213693952");
}

static void test_floats(void) {
  begin("floats");
  fld("nan", "0c");   hex(&D, "000000000000f87f");
  fld("inf", "0c");   hex(&D, "000000000000f07f");
  fld("ninf", "0b");  hex(&D, "000080ff");
  fld("third", "0c"); hex(&D, "555555555555d53f");
  fld("tiny", "0c");  hex(&D, "0100000000000000");
  fld("f", "0b");     hex(&D, "0000c03f");
  fld("nz", "0c");    hex(&D, "0000000000000080");
  CHECK(render(TLG_FMT_JSON) == TLG_OK);
  CHECK_STR(out.s, "{\"nan\":\"nan\",\"inf\":\"inf\",\"ninf\":\"-inf\","
            "\"third\":0.3333333333333333,\"tiny\":4.94065645841247e-324,"
            "\"f\":1.5,\"nz\":-0}");
}

static void test_strings(void) {
  begin("strings");
  /* surrogate pair U+1F600, a lone high surrogate, a lone low surrogate */
  fld("pair", "16");  hex(&D, "0800 3dd8 00de 00d8 41 00");
  fld("lone", "16");  hex(&D, "0200 00dc");
  fld("odd", "16");   hex(&D, "0300 410042");
  fld("esc", "17");   hex(&D, "0600 22 5c 0a 01 7f 09");
  fld("cp1252", "02"); hex(&D, "63 61 66 e9 80 00");
  fld("utf8", "02");   hex(&D, "c3a9 e282ac 00");
  fld("empty", "01");  hex(&D, "0000");
  CHECK(render(TLG_FMT_JSON) == TLG_OK);
  CHECK_STR(out.s, "{\"pair\":\"\xf0\x9f\x98\x80\xef\xbf\xbd" "A\",\"lone\":\"\xef\xbf\xbd\","
            "\"odd\":\"A\xef\xbf\xbd\",\"esc\":\"\\\"\\\\\\n\\u0001\x7f\\t\","
            "\"cp1252\":\"caf\xc3\xa9\xe2\x82\xac\",\"utf8\":\"\xc3\xa9\xe2\x82\xac\","
            "\"empty\":\"\"}");
  /* a UTF-16 zero-terminated string ends at an even offset only */
  begin("z16");
  fld("s", "01"); hex(&D, "0100 0002 0000");
  CHECK(render(TLG_FMT_JSON) == TLG_OK);
  CHECK_STR(out.s, "{\"s\":\"\\u0001\xc8\x80\"}");
}

static void test_arrays(void) {
  begin("arrays");
  fld("v", "48");         hex(&D, "0300 01000000 02000000 03000000");
  fld("none", "48");      hex(&D, "0000");
  fld("c", "25 0200");    hex(&D, "0100 0200");        /* CCOUNT int16 x2 */
  fld("c0", "24 0000");                                /* CCOUNT 0: no data */
  fld("zs", "42");        hex(&D, "0200 61 00 62 63 00");
  fld("cs", "57");        hex(&D, "0200 0100 78 0000");
  fld("ct", "a1 04 0100"); hex(&D, "7a00 0000");         /* CCOUNT + OutType */
  fld("g", "4f");         hex(&D, "0100 33221100 5544 7766 8899aabbccddeeff");
  CHECK(render(TLG_FMT_TEXT) == TLG_OK);
  CHECK_STR(out.s, "v=[1,2,3] none=[] c=[1,2] c0=[] zs=[\"a\",\"bc\"] cs=[\"x\",\"\"] "
            "ct=[\"z\"] g=[00112233-4455-6677-8899-aabbccddeeff]");
  CHECK(render(TLG_FMT_JSON) == TLG_OK);
  CHECK_STR(out.s, "{\"v\":[1,2,3],\"none\":[],\"c\":[1,2],\"c0\":[],\"zs\":[\"a\",\"bc\"],"
            "\"cs\":[\"x\",\"\"],\"ct\":[\"z\"],"
            "\"g\":[\"00112233-4455-6677-8899-aabbccddeeff\"]}");
}

static void test_custom(void) {
  begin("custom");
  fld("c", "e0 03 0300 abcdef"); hex(&D, "0200 0102"); /* custom, OutType 3, schema 3 bytes */
  fld("after", "04");            hex(&D, "07");
  fix_size();
  tlg_item it;
  CHECK(tlg_decode_start(&dec, M.b, M.n, D.b, D.n) == TLG_OK);
  CHECK(tlg_decode_next(&dec, &it) == 1);
  CHECK(it.kind == TLG_ITEM_VALUE && it.field.array == TLG_IN_CUSTOM && it.field.in_type == 0);
  CHECK(it.field.schema_len == 3 && it.field.schema && it.field.schema[2] == 0xef);
  CHECK(it.field.out_type == 3 && it.value_len == 2 && it.value[1] == 2 && it.size == 4);
  CHECK(tlg_decode_next(&dec, &it) == 1 && it.value[0] == 7);
  CHECK(tlg_decode_next(&dec, &it) == 0 && tlg_decode_status(&dec) == TLG_OK);
  CHECK(render(TLG_FMT_JSON) == TLG_OK);
  CHECK_STR(out.s, "{\"c\":\"0102\",\"after\":7}");
}

static void test_structs(void) {
  /* hand/36 shape: start, struct1{nested1, struct2{nested2}} */
  begin("structs");
  fld("start", "04");
  fld("struct1", "98 82 ff 80 80 00");
  fld("nested1", "04");
  fld("struct2", "98 01");
  fld("nested2", "04");
  hex(&D, "00 01 02");
  CHECK_STR(trace(), "V:start@0+1/0 S{:struct1@1+0/0 V:nested1@1+1/1 S{:struct2@2+0/1 "
            "V:nested2@2+1/2 }:struct2@2+1/1 }:struct1@1+2/0 ");
  CHECK(tlg_decode_status(&dec) == TLG_OK);
  CHECK(render(TLG_FMT_TEXT) == TLG_OK);
  CHECK_STR(out.s, "start=0 struct1={nested1=1 struct2={nested2=2}}");
  CHECK(render(TLG_FMT_JSON) == TLG_OK);
  CHECK_STR(out.s, "{\"start\":0,\"struct1\":{\"nested1\":1,\"struct2\":{\"nested2\":2}}}");
  /* the struct1 tag 0xFE00000 in 4 bytes */
  tlg_item it;
  tlg_decode_start(&dec, M.b, M.n, D.b, D.n);
  tlg_decode_next(&dec, &it);
  tlg_decode_next(&dec, &it);
  CHECK(it.field.tag == 0xFE00000 && it.field.tag_len == 4 && it.count == 2);
  /* a struct without OutMeta has no members; one with 0 members is empty */
  begin("empty");
  fld("s0", "18");
  fld("s1", "98 00");
  fld("x", "04"); hex(&D, "05");
  CHECK(render(TLG_FMT_TEXT) == TLG_OK);
  CHECK_STR(out.s, "s0={} s1={} x=5");
}

static void test_struct_arrays(void) {
  begin("sarr");
  fld("pts", "d8 02");            /* VCOUNT array of struct{x, name} */
  fld("x", "04");
  fld("name", "02");
  fld("after", "04");
  hex(&D, "0200 01 6100 02 6200 09");
  CHECK(render(TLG_FMT_TEXT) == TLG_OK);
  CHECK_STR(out.s, "pts=[{x=1 name=\"a\"},{x=2 name=\"b\"}] after=9");
  CHECK_STR(trace(), "A[:pts@0+0/0 S{#:pts@2+0/0 V:x@2+1/1 V:name@3+2/1 }#:pts@2+3/0 "
            "S{#:pts@5+0/0 V:x@5+1/1 V:name@6+2/1 }#:pts@5+3/0 ]:pts@0+8/0 V:after@8+1/0 ");
  /* empty array of structs: members skipped in metadata */
  begin("sarr0");
  fld("pts", "d8 02");
  fld("x", "04");
  fld("in", "98 01");
  fld("y", "48");
  fld("after", "04");
  hex(&D, "0000 09");
  CHECK(render(TLG_FMT_JSON) == TLG_OK);
  CHECK_STR(out.s, "{\"pts\":[],\"after\":9}");
  /* CCOUNT array of structs holding a VCOUNT array of structs and a nested struct */
  begin("nest");
  fld("outer", "b8 02 0200");
  fld("inner", "d8 01");
  fld("v", "04");
  fld("st", "98 01");
  fld("w", "06");
  fld("tail", "02");
  hex(&D, "0100 07 3412" "0200 08 09 7856" "7a00");
  CHECK(render(TLG_FMT_TEXT) == TLG_OK);
  CHECK_STR(out.s, "outer=[{inner=[{v=7}] st={w=4660}},{inner=[{v=8},{v=9}] st={w=22136}}] "
            "tail=\"z\"");
  /* field indices restart for every element */
  tlg_item it;
  unsigned idx[32], n = 0;
  tlg_decode_start(&dec, M.b, M.n, D.b, D.n);
  while (tlg_decode_next(&dec, &it) && n < 32)
    if (it.kind == TLG_ITEM_VALUE) idx[n++] = it.field.index;
  CHECK(n == 6 && idx[0] == 2 && idx[1] == 4 && idx[2] == 2 && idx[3] == 2 && idx[4] == 4 &&
        idx[5] == 5);
}

static void test_tags(void) {
  static const struct { const char *bytes; uint32_t tag; unsigned len; } cases[] = {
    {"00", 0, 1}, {"7f", 0xFE00000, 1}, {"ff 37", 0xFEDC000, 2},
    {"ff b7 17", 0xFEDCB80, 3}, {"ff b7 97 2f", 0xFEDCBAF, 4}, {"80 80 80 01", 1, 4}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    M.n = D.n = 0;
    hex(&M, "0000");
    hex(&M, cases[i].bytes);
    fld("ev", "");
    fld("f", "84 80");
    hex(&M, cases[i].bytes);
    hex(&D, "01");
    fix_size();
    tlg_item it;
    CHECK(tlg_decode_start(&dec, M.b, M.n, D.b, D.n) == TLG_OK);
    CHECK(dec.event_tag == cases[i].tag && dec.event_tag_len == cases[i].len);
    CHECK(strcmp(dec.event_name, "ev") == 0);
    CHECK(tlg_decode_next(&dec, &it) && it.field.tag == cases[i].tag &&
          it.field.tag_len == cases[i].len && it.field.out_present && it.field.out_type == 0);
  }
  M.n = 0;
  hex(&M, "0000 80 80 80 80 00 6500");
  D.n = 0;
  CHECK(render(TLG_FMT_JSON) == TLG_E_MALFORMED);
  CHECK_STR(errtext(), "TLG_E_MALFORMED: malformed metadata in the event header");
  begin("ft");
  fld("f", "84 80 81 82 83 84");
  hex(&D, "01");
  CHECK(render(TLG_FMT_JSON) == TLG_E_MALFORMED);
  CHECK_STR(errtext(), "TLG_E_MALFORMED: malformed metadata at field 1 (\"f\")");
}

/* A valid event whose last field needs data, used for truncation tests. */
static void complex_event(void) {
  begin("complex");
  fld("a", "04");           hex(&D, "01");
  fld("s", "01");           hex(&D, "4100 0000");
  fld("arr", "d8 02");      hex(&D, "0200");
  fld("x", "08");           hex(&D, "01000000");
  fld("n", "17");           hex(&D, "0100 7a");
  /* second element */     hex(&D, "02000000 0000");
  fld("c0", "24 0000");
  fld("st", "98 02");
  fld("sid", "13");         hex(&D, "0102 000000000005 15000000 20000000");
  fld("cs", "56");          hex(&D, "0100 0200 4200");
  fld("g", "0f");           hex(&D, "00112233445566778899aabbccddeeff");
  fld("last", "09");        hex(&D, "0102030405060708");
}

static void test_errors(void) {
  complex_event();
  CHECK(render(TLG_FMT_TEXT) == TLG_OK);
  CHECK_STR(out.s, "a=1 s=\"A\" arr=[{x=1 n=\"z\"},{x=2 n=\"\"}] c0=[] "
            "st={sid=S-1-5-21-32 cs=[\"B\"]} g=33221100-5544-7766-8899-aabbccddeeff "
            "last=578437695752307201");
  /* data truncated at every length: always TRUNCATED, earlier fields kept */
  size_t full = D.n;
  int all = 1;
  for (size_t cut = 0; cut < full; cut++) {
    D.n = cut;
    all &= render(TLG_FMT_JSON) == TLG_E_TRUNCATED;
    all &= out.s[0] == '{' && out.s[out.n - 1] == '}';
  }
  CHECK(all);
  D.n = 3; /* a=1 decoded, then s runs out */
  CHECK(render(TLG_FMT_TEXT) == TLG_E_TRUNCATED);
  CHECK_STR(out.s, "a=1");
  CHECK_STR(errtext(), "TLG_E_TRUNCATED: blob ends inside an item at field 2 (\"s\")");
  D.n = full + 1;
  D.b[full] = 0xAA;
  CHECK(render(TLG_FMT_TEXT) == TLG_E_TRAILING);
  CHECK(strstr(out.s, "last=578437695752307201") != NULL);
  CHECK_STR(errtext(), "TLG_E_TRAILING: data bytes left after the last field "
            "(1 bytes at data offset 66)");
  D.n = full;
  /* metadata truncated at every length, prefix fixed: never OK, never a crash */
  size_t mfull = M.n;
  all = 1;
  for (size_t cut = 2; cut < mfull; cut++) {
    M.n = cut;
    all &= render(TLG_FMT_JSON) != TLG_OK;
  }
  CHECK(all);
  /* prefix not matching the blob */
  M.n = mfull;
  fix_size();
  CHECK(tlg_decode_start(&dec, M.b, M.n - 1, D.b, D.n) == TLG_E_SIZE);
  CHECK(tlg_decode_start(&dec, M.b, 1, D.b, D.n) == TLG_E_SIZE);
  CHECK(tlg_decode_start(&dec, NULL, 0, NULL, 0) == TLG_E_SIZE);
  CHECK(tlg_decode_start(&dec, M.b, M.n, NULL, 5) == TLG_E_SIZE);
  tlg_item it;
  CHECK(tlg_decode_next(&dec, &it) == 0 && tlg_decode_status(&dec) == TLG_E_SIZE);
  CHECK(dec.event_name == NULL);
  M.n = 0;
  hex(&M, "0000 00 6576"); /* name without NUL */
  CHECK(render(TLG_FMT_JSON) == TLG_E_TRUNCATED);
}

static void test_malformed(void) {
  static const char *bad_in[] = {"00", "1a", "1f", "78 00", "9f 00"};
  for (size_t i = 0; i < sizeof bad_in / sizeof bad_in[0]; i++) {
    begin("bad");
    fld("f", bad_in[i]);
    hex(&D, "0000000000000000");
    CHECK(render(TLG_FMT_JSON) == TLG_E_MALFORMED);
  }
  /* struct count beyond the remaining fields */
  begin("short");
  fld("st", "98 03");
  fld("a", "04");
  hex(&D, "01");
  CHECK(render(TLG_FMT_TEXT) == TLG_E_MALFORMED);
  CHECK_STR(out.s, "st={a=1}");
  CHECK_STR(errtext(), "TLG_E_MALFORMED: malformed metadata at field 1 (\"st\")");
  begin("short2");
  fld("sa", "d8 03");
  fld("a", "04");
  hex(&D, "0100 01");
  CHECK(render(TLG_FMT_TEXT) == TLG_E_MALFORMED);
  /* huge VCOUNT */
  begin("huge");
  fld("v", "48");
  hex(&D, "ffff 01000000");
  CHECK(render(TLG_FMT_TEXT) == TLG_E_TRUNCATED);
  CHECK_STR(out.s, "v=[1]");
  /* SID too short for its count */
  begin("sid");
  fld("s", "13");
  hex(&D, "01ff 000000000005");
  CHECK(render(TLG_FMT_TEXT) == TLG_E_TRUNCATED);
  /* ccount / schema cut in the metadata */
  begin("cc");
  fld("c", "24 01");
  CHECK(render(TLG_FMT_TEXT) == TLG_E_TRUNCATED);
  begin("cs");
  fld("c", "64 0500 0102");
  CHECK(render(TLG_FMT_TEXT) == TLG_E_TRUNCATED);
}

static void nest(unsigned levels) {
  begin("deep");
  for (unsigned i = 0; i < levels; i++) fld("s", "98 01");
  fld("leaf", "04");
  hex(&D, "2a");
}

static void test_depth(void) {
  nest(TLG_DECODE_MAX_DEPTH - 1); /* leaf at depth 31 */
  CHECK(render(TLG_FMT_JSON) == TLG_OK);
  CHECK(strstr(out.s, "{\"leaf\":42}") != NULL);
  nest(TLG_DECODE_MAX_DEPTH); /* leaf at depth 32 */
  CHECK(render(TLG_FMT_JSON) == TLG_E_DEPTH);
  CHECK(out.s[out.n - 1] == '}');
  CHECK_STR(errtext(), "TLG_E_DEPTH: structs nested too deeply at field 33 (\"leaf\")");
  /* arrays of structs nest twice as many frames */
  begin("deeparr");
  for (unsigned i = 0; i < 40; i++) fld("a", "d8 01");
  fld("leaf", "04");
  for (unsigned i = 0; i < 40; i++) hex(&D, "0100");
  hex(&D, "2a");
  CHECK(render(TLG_FMT_JSON) == TLG_E_DEPTH);
}

static void test_limit(void) {
  /* 65535 x 65535 elements that hold no data: stopped by the step limit */
  begin("bomb");
  fld("a", "b8 01 ffff");
  fld("b", "b8 01 ffff");
  fld("c", "24 0000");
  CHECK(render(TLG_FMT_JSON) == TLG_E_LIMIT);
  CHECK(dec.step_limit == TLG_DECODE_STEPS_PER_BYTE * (M.n + D.n) + TLG_DECODE_STEPS_BASE);
  CHECK(dec.steps > dec.step_limit);
  /* big inputs get the absolute cap */
  CHECK(tlg_decode_start(&dec, M.b, M.n, D.b, 100000) == TLG_OK);
  CHECK(dec.step_limit == TLG_DECODE_STEP_LIMIT);
  /* a caller may lower the limit */
  complex_event();
  fix_size();
  tlg_item it;
  int n = 0;
  tlg_decode_start(&dec, M.b, M.n, D.b, D.n);
  dec.step_limit = 2; /* a, s; then arr's metadata skip counts too */
  while (tlg_decode_next(&dec, &it)) n++;
  CHECK(n == 2 && tlg_decode_status(&dec) == TLG_E_LIMIT);
}

/* Deterministic mutations of a valid event: no crash, well-formed output,
** balanced BEGIN/END when the decoder says OK. */
static void test_mutations(void) {
  uint32_t seed = 12345;
  complex_event();
  fix_size();
  blob m0 = M, d0 = D;
  int all = 1;
  for (int round = 0; round < 20000; round++) {
    M = m0;
    D = d0;
    for (int k = 0; k < 1 + round % 4; k++) {
      seed = seed * 1103515245u + 12345u;
      blob *b = (seed >> 16) & 1 ? &M : &D;
      size_t pos = (seed >> 8) % b->n;
      b->b[pos] = (uint8_t)(seed >> 20);
    }
    int st = render(TLG_FMT_JSON);
    if (!out.full && (out.s[0] != '{' || out.s[out.n - 1] != '}')) {
      printf("  round %d: %.200s\n", round, out.s);
      all = 0;
    }
    if (st == TLG_OK) {
      tlg_item it;
      int bal = 0;
      tlg_decode_start(&dec, M.b, M.n, D.b, D.n);
      while (tlg_decode_next(&dec, &it))
        bal += it.kind == TLG_ITEM_ARRAY_BEGIN || it.kind == TLG_ITEM_STRUCT_BEGIN ? 1
             : it.kind == TLG_ITEM_VALUE ? 0 : -1;
      if (bal != 0) printf("  round %d: unbalanced\n", round);
      all &= bal == 0;
    }
  }
  CHECK(all);
}

static void test_format_helpers(void) {
  sbuf b;
  tlg_sink sink = {sb_write, &b};
  static const struct { int64_t ft; const char *text; } ft[] = {
    {0, "1601-01-01T00:00:00.0000000Z"},
    {132223104001234567LL, "2020-01-01T00:00:00.1234567Z"},
    {2650467743999999999LL, "9999-12-31T23:59:59.9999999Z"},
    {2650467744000000000LL, "2650467744000000000"},
    {-1, "-1"}};
  for (size_t i = 0; i < sizeof ft / sizeof ft[0]; i++) {
    b.n = 0;
    b.s[0] = 0;
    tlg_fmt_filetime(&sink, ft[i].ft);
    CHECK_STR(b.s, ft[i].text);
  }
  static const uint8_t sid_big[] = {1, 1, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 1, 0, 0, 0};
  b.n = 0;
  tlg_fmt_sid(&sink, sid_big, sizeof sid_big);
  CHECK_STR(b.s, "S-1-0x123456789ABC-1");
  b.n = 0;
  tlg_fmt_sid(&sink, sid_big, 9);
  CHECK_STR(b.s, "S-?");
  static const uint8_t u16[] = {0x41, 0, 0x3d, 0xd8, 0x00, 0xde};
  b.n = 0;
  tlg_fmt_utf16(&sink, u16, sizeof u16);
  CHECK_STR(b.s, "A\xf0\x9f\x98\x80");
  const char *name;
  size_t len;
  static const uint8_t traits[] = {0x05, 0, 'P', 'q', 0, 0xff};
  CHECK(tlg_traits_name(traits, sizeof traits, &name, &len) == TLG_OK && len == 2 &&
        name[0] == 'P');
  CHECK(tlg_traits_name(traits, 4, &name, &len) == TLG_E_SIZE);
  static const uint8_t traits_nonul[] = {0x04, 0, 'P', 'q'};
  CHECK(tlg_traits_name(traits_nonul, 4, &name, &len) == TLG_E_TRUNCATED);
}

static void test_meta_walk(void) {
  complex_event();
  fix_size();
  CHECK(tlg_decode_start(&dec, M.b, M.n, D.b, D.n) == TLG_OK);
  uint32_t pos = tlg_decode_fields_pos(&dec), i = 0;
  tlg_field f;
  char names[128] = "";
  while (!tlg_decode_meta_end(&dec, pos)) {
    if (tlg_decode_field(&dec, &pos, i++, &f) != TLG_OK) break;
    strncat(names, f.name, f.name_len);
    strcat(names, ",");
  }
  CHECK_STR(names, "a,s,arr,x,n,c0,st,sid,cs,g,last,");
  CHECK(i == 11 && f.index == 10 && f.in_type == TLG_IN_INT64);
  pos = 0;
  CHECK(tlg_decode_field(&dec, &pos, 0, &f) == TLG_E_TRUNCATED);
}

int main(void) {
  test_scalars();
  test_outtypes();
  test_floats();
  test_strings();
  test_arrays();
  test_custom();
  test_structs();
  test_struct_arrays();
  test_tags();
  test_errors();
  test_malformed();
  test_depth();
  test_limit();
  test_mutations();
  test_format_helpers();
  test_meta_walk();
  return unit_finish();
}
