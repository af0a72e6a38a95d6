/*
** test_tlg_build.c: unit tests of the TraceLogging builder (src/tlg/tlg_build.h)
** from the spec's worked examples (shared/spec/tracelogging-format.md §3, §4, §9),
** its limits, and the "a failed call changes nothing" rule.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlg_build.h"
#include "tlg_decode.h"
#include "tlg_guid.h"
#include "unit_check.h"

#define CHECK(c) check_at((c), __FILE__, __LINE__, "%s", #c)
#define CHECK_ST(call, st) check_at((call) == (st), __FILE__, __LINE__, "%s", #call " == " #st)

static char *to_hex(const uint8_t *p, size_t n) {
  static char buf[2 * 70000 + 1];
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n && i < 70000; i++) {
    buf[2 * i] = digits[p[i] >> 4];
    buf[2 * i + 1] = digits[p[i] & 15];
  }
  buf[2 * (n < 70000 ? n : 70000)] = 0;
  return buf;
}

static void check_hex(const char *what, const uint8_t *p, size_t n, const char *hex, int line) {
  const char *got = to_hex(p, n);
  check_at(strcmp(got, hex) == 0, __FILE__, line, "%s\n  got      %s\n  expected %s", what, got, hex);
}
#define CHECK_HEX(what, p, n, hex) check_hex(what, p, n, hex, __LINE__)

static void check_meta(tlg_builder *b, const char *hex, int line) {
  size_t n;
  const uint8_t *p = tlg_build_meta(b, &n);
  check_hex("metadata", p, n, hex, line);
}
static void check_data(tlg_builder *b, const char *hex, int line) {
  size_t n;
  const uint8_t *p = tlg_build_data(b, &n);
  check_hex("data", p, n, hex, line);
}
#define CHECK_META(b, hex) check_meta(b, hex, __LINE__)
#define CHECK_DATA(b, hex) check_data(b, hex, __LINE__)

static const tlg_desc default_desc = {0, 0, 11, 5, 0, 0, 1};

static tlg_build_field fld(const char *name, uint64_t out_type, uint64_t tag) {
  tlg_build_field f = {name, strlen(name), out_type, tag};
  return f;
}

static void reset(tlg_builder *b, const char *name) {
  CHECK_ST(tlg_build_reset(b, name, strlen(name), &default_desc, 0), TLG_OK);
}

/* --- snapshots: a failed call must leave every byte as it was ------------ */

typedef struct snapshot {
  uint8_t meta[TLG_MAX_META], data[TLG_MAX_DATA];
  size_t meta_len, data_len;
  unsigned fields;
  int ready;
  tlg_desc desc;
} snapshot;

static snapshot snap_a, snap_b;

static void take(tlg_builder *b, snapshot *s) {
  const uint8_t *p;
  memset(s, 0, sizeof *s);
  s->ready = tlg_build_ready(b);
  s->fields = tlg_build_fields(b);
  s->desc = b->desc;
  if ((p = tlg_build_meta(b, &s->meta_len)) != NULL) memcpy(s->meta, p, s->meta_len);
  if ((p = tlg_build_data(b, &s->data_len)) != NULL && s->data_len) memcpy(s->data, p, s->data_len);
}

static int same(const snapshot *a, const snapshot *b) {
  return a->ready == b->ready && a->fields == b->fields && a->meta_len == b->meta_len &&
         a->data_len == b->data_len && memcmp(&a->desc, &b->desc, sizeof a->desc) == 0 &&
         memcmp(a->meta, b->meta, a->meta_len) == 0 && memcmp(a->data, b->data, a->data_len) == 0;
}

/* Run `call`, expect status `st`, and that the builder did not change. */
#define CHECK_UNCHANGED(b, call, st) do { \
    take(b, &snap_a); \
    CHECK_ST(call, st); \
    take(b, &snap_b); \
    check_at(same(&snap_a, &snap_b), __FILE__, __LINE__, "%s", "unchanged after " #call); \
  } while (0)

/* --- §3.3 event tags ----------------------------------------------------- */

static void test_event_tags(void) {
  static const struct { uint32_t tag; const char *meta; } cases[] = {
    {0, "0500006500"},
    {0x200000, "0500016500"},
    {0xFE00000, "05007f6500"},
    {0xFEDC000, "0600ff376500"},
    {0xFEDCBAF, "0800ffb7972f6500"},
    {1, "080080808001" "6500"},
    {0x0FFFFFFF, "0800ffffff7f6500"},
  };
  tlg_builder b;
  tlg_build_init(&b, 0, 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    CHECK_ST(tlg_build_reset(&b, "e", 1, &default_desc, cases[i].tag), TLG_OK);
    CHECK_META(&b, cases[i].meta);
  }
  CHECK_UNCHANGED(&b, tlg_build_reset(&b, "x", 1, &default_desc, 0x10000000), TLG_E_TAG);
  CHECK_UNCHANGED(&b, tlg_build_reset(&b, "a\0b", 3, &default_desc, 0), TLG_E_NAME_NUL);
  tlg_build_free(&b);
}

/* --- §9 quick reference and §3.1 descriptor ------------------------------ */

static void test_quick_reference(void) {
  tlg_builder b;
  uint8_t desc[16];
  tlg_build_init(&b, 0, 0);
  reset(&b, "default");
  CHECK_META(&b, "0b000064656661756c7400");
  CHECK_DATA(&b, "");
  tlg_desc_pack(&b.desc, desc);
  CHECK_HEX("default descriptor", desc, 16, "0000000b050000000100000000000000");

  tlg_desc d = {4, 2, 0, 3, 1, 123, 0x11};
  CHECK_ST(tlg_build_reset(&b, "4v2o1t123c0l3k11", 16, &d, 0), TLG_OK);
  tlg_desc_pack(&b.desc, desc);
  CHECK_HEX("descriptor", desc, 16, "0400020003017b001100000000000000");

  reset(&b, "q");
  tlg_build_field f = fld("b", 0, 0);
  CHECK_ST(tlg_build_add_bytes(&b, &f, TLG_IN_BINARY, "0123", 4), TLG_OK);
  CHECK(tlg_build_fields(&b) == 2);
  f = fld("cb", 0, 0);
  CHECK_ST(tlg_build_add_bytes(&b, &f, TLG_IN_COUNTEDBINARY, "\x00\xff\x10", 3), TLG_OK);
  f = fld("utf16b", 0, 0);
  CHECK_ST(tlg_build_add_bytes(&b, &f, TLG_IN_COUNTEDSTRING, "u\0t\0f\0001\0006\0b\0", 12), TLG_OK);
  f = fld("cp1252", 0, 0);
  CHECK_ST(tlg_build_add_bytes(&b, &f, TLG_IN_ANSISTRING, "caf\xe9", 4), TLG_OK);
  tlg_guid g;
  CHECK_ST(tlg_guid_parse("00112233-4455-6677-8899-aabbccddeeff", 36, &g), TLG_OK);
  f = fld("g", 0, 0);
  CHECK_ST(tlg_build_add_bytes(&b, &f, TLG_IN_GUID, g.b, 16), TLG_OK);
  CHECK_META(&b, "1f00" "00" "7100" "62000e" "63620019" "7574663136620016" "6370313235320002" "67000f");
  CHECK_DATA(&b, "0400303132330300" "00ff10" "0c00750074006600310036006200"
                 "636166e900" "33221100554477668899aabbccddeeff");
  tlg_build_free(&b);
}

/* --- §3.4 field metadata: out_type and tag rules; structs; sequences ------ */

static void test_field_meta(void) {
  tlg_builder b;
  tlg_build_init(&b, 0, 0);
  /* hand/09: field tags always take 4 bytes; bit 28 is dropped */
  reset(&b, "fieldtag");
  static const struct { const char *name; uint64_t out, tag; } tags[] = {
    {"0xFE00000", 0, 0xFE00000}, {"0xFEDC000", 0, 0xFEDC000}, {"0xFEDCBAF", 0, 0xFEDCBAF},
    {"tag1", 0, 1}, {"tagmax-hex", 4, 0x0FFFFFFF}, {"tag-bit28-dropped", 0, 0x10000000}};
  for (size_t i = 0; i < 6; i++) {
    tlg_build_field f = fld(tags[i].name, tags[i].out, tags[i].tag);
    CHECK_ST(tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 0), TLG_OK);
  }
  CHECK_META(&b, "7000006669656c6474616700307846453030303030008480ff808000307846454443"
                 "303030008480ffb78000307846454443424146008480ffb7972f74616731008480808080"
                 "017461676d61782d686578008484ffffff7f7461672d62697432382d64726f7070656400"
                 "848080808000");
  CHECK_DATA(&b, "000000000000");

  /* hand/14: out_type masked to 7 bits, never validated */
  reset(&b, "oddout");
  static const struct { const char *name; uint64_t out; } outs[] = {
    {"o128", 128}, {"o127", 127}, {"o200", 200}};
  for (size_t i = 0; i < 3; i++) {
    tlg_build_field f = fld(outs[i].name, outs[i].out, 0);
    CHECK_ST(tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 1), TLG_OK);
  }
  CHECK_META(&b, "1f00006f64646f7574006f3132380084006f31323700847f6f323030008448");

  /* hand/36: struct with a tag and a nested struct */
  reset(&b, "structs");
  tlg_build_field f = fld("start", 0, 0);
  CHECK_ST(tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 0), TLG_OK);
  f = fld("struct1", 99 /* ignored */, 0xFE00000);
  CHECK_ST(tlg_build_add_struct(&b, &f, 2), TLG_OK);
  f = fld("nested1", 0, 0);
  CHECK_ST(tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 1), TLG_OK);
  f = fld("struct2", 0, 0);
  CHECK_ST(tlg_build_add_struct(&b, &f, 1), TLG_OK);
  f = fld("nested2", 0, 0);
  CHECK_ST(tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 2), TLG_OK);
  CHECK_META(&b, "3c000073747275637473007374617274000473747275637431009882ff8080006e657374"
                 "6564310004737472756374320098016e6573746564320004");
  CHECK_DATA(&b, "000102");

  /* hand/35: sequences with out_type and tag */
  reset(&b, "seqot");
  tlg_seq s;
  f = fld("hexbytes", TLG_OUT_HEX, 0x1234567);
  CHECK_ST(tlg_build_seq_begin(&b, &f, TLG_IN_UINT8, &s), TLG_OK);
  for (uint64_t v = 1; v <= 3; v++) CHECK_ST(tlg_build_seq_fixed(&b, &s, v), TLG_OK);
  f = fld("json", TLG_OUT_JSON, 0);
  CHECK_ST(tlg_build_seq_begin(&b, &f, TLG_IN_COUNTEDANSISTRING, &s), TLG_OK);
  CHECK_ST(tlg_build_seq_bytes(&b, &s, "{}", 2), TLG_OK);
  CHECK_ST(tlg_build_seq_bytes(&b, &s, "[]", 2), TLG_OK);
  CHECK_META(&b, "1f00007365716f74006865786279746573" "00c484898d8a67" "6a736f6e00d70c");
  CHECK_DATA(&b, "0300010203" "020002007b7d02005b5d");
  CHECK(tlg_build_fields(&b) == 4);
  tlg_build_free(&b);
}

/* --- strings: zero-terminated cuts and UTF-8 -> UTF-16 ------------------- */

static void test_strings(void) {
  tlg_builder b;
  tlg_build_init(&b, 0, 0);
  reset(&b, "s");
  tlg_build_field f = fld("", 0, 0);
  /* UTF-16 bytes: only a 00 00 pair at an even offset terminates (hand/22) */
  CHECK_ST(tlg_build_add_bytes(&b, &f, TLG_IN_UNICODESTRING, "\x01\x00\x00\x02", 4), TLG_OK);
  CHECK_ST(tlg_build_add_bytes(&b, &f, TLG_IN_UNICODESTRING, "a\0\0\0a\0", 6), TLG_OK);
  CHECK_ST(tlg_build_add_bytes(&b, &f, TLG_IN_UNICODESTRING, "", 0), TLG_OK);
  CHECK_ST(tlg_build_add_bytes(&b, &f, TLG_IN_ANSISTRING, "a\0a", 3), TLG_OK);
  CHECK_DATA(&b, "010000020000" "61000000" "0000" "6100");
  /* text: zstr16 cuts at U+0000, str16 keeps it; surrogate pairs (hand/21, 25) */
  reset(&b, "s");
  CHECK_ST(tlg_build_add_str16(&b, &f, TLG_IN_UNICODESTRING, "a\0a", 3), TLG_OK);
  CHECK_ST(tlg_build_add_str16(&b, &f, TLG_IN_UNICODESTRING, "h\xc3\xa9", 3), TLG_OK);
  CHECK_ST(tlg_build_add_str16(&b, &f, TLG_IN_UNICODESTRING, "\xf0\x9f\x98\x80", 4), TLG_OK);
  CHECK_ST(tlg_build_add_str16(&b, &f, TLG_IN_COUNTEDSTRING, "a\0a", 3), TLG_OK);
  CHECK_ST(tlg_build_add_str16(&b, &f, TLG_IN_COUNTEDSTRING, "\xc3\xa9\xce\xa9\xe6\x97\xa5", 7), TLG_OK);
  CHECK_DATA(&b, "61000000" "6800e9000000" "3dd800de0000" "0600610000006100" "0600e900a903e565");
  /* invalid UTF-8 anywhere, even after a NUL: overlong, surrogate, too big, cut short */
  static const char *bad[] = {"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe6\x97",
                              "a\0\xff", "\x80", "\xf8\x88\x80\x80\x80"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t n = i == 4 ? 3 : strlen(bad[i]);
    CHECK_UNCHANGED(&b, tlg_build_add_str16(&b, &f, TLG_IN_UNICODESTRING, bad[i], n), TLG_E_UTF8);
    CHECK_UNCHANGED(&b, tlg_build_add_str16(&b, &f, TLG_IN_COUNTEDSTRING, bad[i], n), TLG_E_UTF8);
  }
  tlg_build_free(&b);
}

/* --- floats --------------------------------------------------------------- */

static void test_f32(void) {
  static const struct { double x; uint32_t bits; int st; } cases[] = {
    {3.2, 0x404ccccd, TLG_OK}, {-0.0, 0x80000000, TLG_OK},
    {3.4028234663852886e38, 0x7f7fffff, TLG_OK},
    {3.4028235677973362e38, 0x7f7fffff, TLG_OK}, /* just below the halfway point */
    {1e-45, 0x00000001, TLG_OK}, {1.0 / 0.0, 0x7f800000, TLG_OK},
    {3.4028235677973366e38, 0, TLG_E_FLOAT}, /* halfway: ties to even = inf */
    {1e39, 0, TLG_E_FLOAT}, {-1e39, 0, TLG_E_FLOAT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint32_t bits = 0;
    CHECK(tlg_f32_bits(cases[i].x, &bits) == cases[i].st);
    if (cases[i].st == TLG_OK) CHECK(bits == cases[i].bits);
  }
}

/* --- §4 limits ------------------------------------------------------------- */

static void add_u8s(tlg_builder *b, int n) {
  tlg_build_field f = fld("B", 0, 0);
  for (int i = 0; i < n; i++) CHECK_ST(tlg_build_add_fixed(b, &f, TLG_IN_UINT8, 1), TLG_OK);
}

static void test_field_limits(void) {
  tlg_builder b;
  tlg_seq s;
  tlg_build_field f = fld("S", 0, 0);
  tlg_build_init(&b, 0, 0);
  reset(&b, "A");
  add_u8s(&b, 128);
  CHECK(tlg_build_fields(&b) == 128);
  CHECK_UNCHANGED(&b, tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 1), TLG_E_FIELDS);
  CHECK_UNCHANGED(&b, tlg_build_add_struct(&b, &f, 1), TLG_E_FIELDS);
  CHECK_UNCHANGED(&b, tlg_build_seq_begin(&b, &f, TLG_IN_UINT8, &s), TLG_E_FIELDS);
  /* the builder stays usable: no sticky error state */
  CHECK_UNCHANGED(&b, tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 1), TLG_E_FIELDS);

  reset(&b, "A");
  for (int i = 0; i < 64; i++) {
    CHECK_ST(tlg_build_seq_begin(&b, &f, TLG_IN_UINT8, &s), TLG_OK);
    CHECK_ST(tlg_build_seq_fixed(&b, &s, (uint64_t)i), TLG_OK);
  }
  CHECK(tlg_build_fields(&b) == 128);
  CHECK_UNCHANGED(&b, tlg_build_seq_begin(&b, &f, TLG_IN_UINT8, &s), TLG_E_FIELDS);

  /* 127 scalars + one sequence or binary does not fit */
  reset(&b, "A");
  add_u8s(&b, 127);
  CHECK_UNCHANGED(&b, tlg_build_seq_begin(&b, &f, TLG_IN_UINT8, &s), TLG_E_FIELDS);
  CHECK_UNCHANGED(&b, tlg_build_add_array(&b, &f, TLG_IN_UINT8, "", 0), TLG_E_FIELDS);
  CHECK_UNCHANGED(&b, tlg_build_add_bytes(&b, &f, TLG_IN_BINARY, "", 0), TLG_E_FIELDS);
  CHECK_ST(tlg_build_add_struct(&b, &f, 1), TLG_OK);
  tlg_build_free(&b);
}

static void test_size_limits(void) {
  static char name[TLG_MAX_META];
  tlg_builder b;
  tlg_build_init(&b, 0, 0);
  memset(name, 'n', sizeof name);
  /* metadata: header 2 + tag 1 + "A\0" 2 = 5; a field = name + 2 */
  reset(&b, "A");
  tlg_build_field f = {name, TLG_MAX_META - 5 - 2, 0, 0};
  CHECK_ST(tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 1), TLG_OK);
  size_t n;
  tlg_build_meta(&b, &n);
  CHECK(n == TLG_MAX_META);
  CHECK(b.meta[0] == 0x00 && b.meta[1] == 0x80); /* 32768 in the u16 prefix */
  reset(&b, "A");
  f.name_len++;
  CHECK_UNCHANGED(&b, tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 1), TLG_E_META);
  /* the same with an OutType byte and a tag */
  f.name_len = TLG_MAX_META - 5 - 2 - 5;
  f.tag = 1;
  CHECK_ST(tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 1), TLG_OK);
  reset(&b, "A");
  f.name_len++;
  CHECK_UNCHANGED(&b, tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 1), TLG_E_META);
  /* event names: 2 + 1 + len + 1 <= 32768 */
  CHECK_ST(tlg_build_reset(&b, name, TLG_MAX_META - 4, &default_desc, 0), TLG_OK);
  CHECK_UNCHANGED(&b, tlg_build_reset(&b, name, TLG_MAX_META - 3, &default_desc, 0), TLG_E_META);
  CHECK_UNCHANGED(&b, tlg_build_reset(&b, name, TLG_MAX_META - 6, &default_desc, 1), TLG_E_META);

  /* data: 2 + 65534 = 65536 fits (hand/47), one byte more does not */
  static uint8_t big[TLG_MAX_DATA + 8];
  memset(big, 'x', sizeof big);
  reset(&b, "D");
  f = fld("s", 0, 0);
  CHECK_ST(tlg_build_add_bytes(&b, &f, TLG_IN_COUNTEDANSISTRING, big, 65534), TLG_OK);
  tlg_build_data(&b, &n);
  CHECK(n == TLG_MAX_DATA);
  CHECK_UNCHANGED(&b, tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 1), TLG_E_DATA);
  CHECK_ST(tlg_build_add_struct(&b, &f, 1), TLG_OK); /* structs have no data */
  reset(&b, "D");
  CHECK_UNCHANGED(&b, tlg_build_add_bytes(&b, &f, TLG_IN_COUNTEDANSISTRING, big, 65535), TLG_E_DATA);
  CHECK_UNCHANGED(&b, tlg_build_add_bytes(&b, &f, TLG_IN_COUNTEDBINARY, big, 65536), TLG_E_COUNTED);
  CHECK_UNCHANGED(&b, tlg_build_add_bytes(&b, &f, TLG_IN_ANSISTRING, big, 65536), TLG_E_DATA);
  CHECK_ST(tlg_build_add_bytes(&b, &f, TLG_IN_ANSISTRING, big, 65535), TLG_OK);
  reset(&b, "D");
  CHECK_UNCHANGED(&b, tlg_build_add_array(&b, &f, TLG_IN_UINT8, big, 65536), TLG_E_SEQ);
  CHECK_UNCHANGED(&b, tlg_build_add_array(&b, &f, TLG_IN_UINT8, big, 65535), TLG_E_DATA);
  CHECK_ST(tlg_build_add_array(&b, &f, TLG_IN_UINT8, big, 65534), TLG_OK);
  tlg_build_free(&b);
}

/* --- every other error kind leaves the builder unchanged ------------------ */

static void test_errors_unchanged(void) {
  tlg_builder b;
  tlg_seq s;
  tlg_build_init(&b, 0, 0);
  tlg_build_field f = fld("x", 0, 0), nul = {"a\0b", 3, 0, 0};
  CHECK_UNCHANGED(&b, tlg_build_add_fixed(&b, &f, TLG_IN_UINT8, 1), TLG_E_STATE);
  CHECK_UNCHANGED(&b, tlg_build_seq_begin(&b, &f, TLG_IN_UINT8, &s), TLG_E_STATE);
  CHECK_UNCHANGED(&b, tlg_build_add_struct(&b, &f, 1), TLG_E_STATE);
  CHECK(tlg_build_name(&b, &(size_t){0}) == NULL);
  reset(&b, "E");
  CHECK_ST(tlg_build_add_fixed(&b, &f, TLG_IN_INT32, 7), TLG_OK);
  CHECK_UNCHANGED(&b, tlg_build_add_fixed(&b, &nul, TLG_IN_UINT8, 1), TLG_E_NAME_NUL);
  CHECK_UNCHANGED(&b, tlg_build_add_fixed(&b, &f, TLG_IN_GUID, 1), TLG_E_ARG);
  CHECK_UNCHANGED(&b, tlg_build_add_bytes(&b, &f, TLG_IN_GUID, "0123456789abcde", 15), TLG_E_GUID_SIZE);
  CHECK_UNCHANGED(&b, tlg_build_add_bytes(&b, &f, TLG_IN_SYSTEMTIME, "0123456789abcdefg", 17),
                  TLG_E_SYSTEMTIME_SIZE);
  CHECK_UNCHANGED(&b, tlg_build_add_bytes(&b, &f, TLG_IN_SID, "", 0), TLG_E_SID_SIZE);
  CHECK_UNCHANGED(&b, tlg_build_add_bytes(&b, &f, TLG_IN_SID, "\x01\x01\0\0\0\0\0\x05\x12", 9),
                  TLG_E_SID_SIZE);
  CHECK_UNCHANGED(&b, tlg_build_add_bytes(&b, &f, TLG_IN_COUNTEDSTRING, "abc", 3), TLG_E_UTF16_ODD);
  CHECK_UNCHANGED(&b, tlg_build_add_bytes(&b, &f, TLG_IN_UNICODESTRING, "abc", 3), TLG_E_UTF16_ODD);
  CHECK_UNCHANGED(&b, tlg_build_add_bytes(&b, &f, TLG_IN_INT8, "a", 1), TLG_E_ARG);
  CHECK_UNCHANGED(&b, tlg_build_add_str16(&b, &f, TLG_IN_ANSISTRING, "a", 1), TLG_E_ARG);
  CHECK_UNCHANGED(&b, tlg_build_add_struct(&b, &f, 0), TLG_E_STRUCT_COUNT);
  CHECK_UNCHANGED(&b, tlg_build_add_struct(&b, &f, 128), TLG_E_STRUCT_COUNT);
  CHECK_UNCHANGED(&b, tlg_build_seq_begin(&b, &f, TLG_IN_BINARY, &s), TLG_E_ARG);
  CHECK_UNCHANGED(&b, tlg_build_seq_begin(&b, &f, TLG_IN_STRUCT, &s), TLG_E_ARG);
  /* item errors inside a sequence leave the sequence as it was */
  CHECK_ST(tlg_build_seq_begin(&b, &f, TLG_IN_SID, &s), TLG_OK);
  CHECK_ST(tlg_build_seq_bytes(&b, &s, "\x01\0\0\0\0\0\0\0", 8), TLG_OK);
  CHECK_UNCHANGED(&b, tlg_build_seq_bytes(&b, &s, "\x01\x01", 2), TLG_E_SID_SIZE);
  CHECK_UNCHANGED(&b, tlg_build_seq_fixed(&b, &s, 1), TLG_E_ARG);
  CHECK_UNCHANGED(&b, tlg_build_seq_str16(&b, &s, "a", 1), TLG_E_ARG);
  CHECK(s.count == 1);
  tlg_build_free(&b);
}

/* --- mark / rollback -------------------------------------------------------- */

static void test_rollback(void) {
  tlg_builder b;
  tlg_seq s;
  tlg_mark m;
  tlg_build_init(&b, 0, 0);
  reset(&b, "R");
  tlg_build_field f = fld("before", TLG_OUT_HEX, 5);
  CHECK_ST(tlg_build_add_fixed(&b, &f, TLG_IN_UINT32, 0xdeadbeef), TLG_OK);
  take(&b, &snap_a);
  tlg_build_mark(&b, &m);
  f = fld("seq", 0, 0);
  CHECK_ST(tlg_build_seq_begin(&b, &f, TLG_IN_COUNTEDSTRING, &s), TLG_OK);
  CHECK_ST(tlg_build_seq_str16(&b, &s, "one", 3), TLG_OK);
  CHECK_ST(tlg_build_seq_str16(&b, &s, "\xff", 1), TLG_E_UTF8);
  tlg_build_rollback(&b, &m);
  take(&b, &snap_b);
  CHECK(same(&snap_a, &snap_b));
  /* the builder goes on normally after a rollback */
  f = fld("after", 0, 0);
  CHECK_ST(tlg_build_add_fixed(&b, &f, TLG_IN_INT8, (uint64_t)-1), TLG_OK);
  CHECK_META(&b, "1900" "00" "5200" "6265666f7265" "00888480808005" "616674657200" "03");
  CHECK_DATA(&b, "efbeaddeff");
  tlg_build_free(&b);
}

/* --- growth from tiny buffers never corrupts content (spec §8.2) ---------- */

static void fill(tlg_builder *b) {
  char name[24];
  reset(b, "grow");
  for (int i = 0; i < 40; i++) {
    snprintf(name, sizeof name, "field%d", i);
    tlg_build_field f = fld(name, (uint64_t)i % 3, (uint64_t)i % 2 * 77);
    uint8_t blob[300];
    for (int k = 0; k < 300; k++) blob[k] = (uint8_t)(i * 7 + k);
    if (i % 4 == 0) CHECK_ST(tlg_build_add_fixed(b, &f, TLG_IN_UINT32, 0x11223344u + i), TLG_OK);
    else if (i % 4 == 1) CHECK_ST(tlg_build_add_bytes(b, &f, TLG_IN_COUNTEDBINARY, blob, 100 + i), TLG_OK);
    else if (i % 4 == 2) CHECK_ST(tlg_build_add_str16(b, &f, TLG_IN_COUNTEDSTRING, name, strlen(name)), TLG_OK);
    else CHECK_ST(tlg_build_add_array(b, &f, TLG_IN_UINT16, blob, 20), TLG_OK);
  }
}

static void test_growth(void) {
  tlg_builder tiny, roomy;
  tlg_build_init(&tiny, 1, 1);
  tlg_build_init(&roomy, TLG_MAX_META, TLG_MAX_DATA);
  fill(&tiny);
  fill(&roomy);
  take(&tiny, &snap_a);
  take(&roomy, &snap_b);
  CHECK(snap_a.data_len > 1500 && snap_a.meta_len > 400); /* many doublings */
  CHECK(same(&snap_a, &snap_b));
  CHECK(snap_a.data[0] == 0x44 && snap_a.data[1] == 0x33); /* the first field survived */
  /* a reset reuses the buffers; a second fill gives the same bytes */
  fill(&tiny);
  take(&tiny, &snap_b);
  CHECK(same(&snap_a, &snap_b));
  tlg_build_free(&tiny);
  tlg_build_free(&tiny); /* idempotent */
  tlg_build_free(&roomy);
}

/* --- fast and slow paths (short names, room already there) agree --------- */

/* Every fixed-size InType with names around the fast path's length limit,
** with and without out_type and tag; NULs anywhere in the name. */
static void fill_fixed(tlg_builder *b) {
  static const unsigned types[] = {TLG_IN_INT8, TLG_IN_UINT16, TLG_IN_INT32, TLG_IN_UINT64,
                                   TLG_IN_FLOAT, TLG_IN_DOUBLE, TLG_IN_BOOL32, TLG_IN_HEXINT64};
  static const size_t lens[] = {0, 1, 31, 32, 33, 40};
  char name[41], bad[41];
  reset(b, "paths");
  for (size_t i = 0; i < 6; i++) {
    memset(name, 'a' + (int)i, sizeof name);
    for (size_t t = 0; t < 8; t++) {
      tlg_build_field f = {name, lens[i], t % 3 == 1 ? TLG_OUT_HEX : 0, t % 3 == 2 ? 0x123 : 0};
      CHECK_ST(tlg_build_add_fixed(b, &f, types[t], 0x0102030405060708u + t), TLG_OK);
      for (size_t z = 0; z < lens[i]; z += lens[i] / 2 + 1) { /* first, middle, last */
        memcpy(bad, name, sizeof bad);
        bad[z] = 0;
        f.name = bad;
        CHECK_UNCHANGED(b, tlg_build_add_fixed(b, &f, types[t], 1), TLG_E_NAME_NUL);
        bad[z] = 'x';
        bad[lens[i] - 1] = 0;
        CHECK_UNCHANGED(b, tlg_build_add_fixed(b, &f, types[t], 1), TLG_E_NAME_NUL);
        f.name = name;
      }
    }
  }
}

static void test_fast_paths(void) {
  tlg_builder tiny, roomy;
  tlg_build_init(&tiny, 1, 1);
  tlg_build_init(&roomy, TLG_MAX_META, TLG_MAX_DATA);
  fill_fixed(&tiny);
  fill_fixed(&roomy);
  take(&tiny, &snap_a);
  take(&roomy, &snap_b);
  CHECK(tlg_build_fields(&tiny) == 48);
  CHECK(same(&snap_a, &snap_b));

  /* a 33-byte name (slow path) and a 32-byte one (fast path), by hand */
  reset(&roomy, "n");
  const char *n33 = "abcdefghijklmnopqrstuvwxyz0123456", *hex33 =
    "6162636465666768696a6b6c6d6e6f707172737475767778797a30313233343536";
  tlg_build_field f = fld(n33, 0, 0);
  CHECK_ST(tlg_build_add_fixed(&roomy, &f, TLG_IN_UINT8, 0xab), TLG_OK);
  f.name_len = 32;
  CHECK_ST(tlg_build_add_fixed(&roomy, &f, TLG_IN_UINT16, 0xabcd), TLG_OK);
  char want[300];
  snprintf(want, sizeof want, "4a00006e00%s0004%.64s0006", hex33, hex33);
  CHECK_META(&roomy, want);
  CHECK_DATA(&roomy, "abcdab");

  /* less than 8 bytes of data room: the exact-size store */
  tlg_builder small;
  tlg_build_init(&small, 64, 4);
  reset(&small, "s");
  f = fld("u", 0, 0);
  CHECK_ST(tlg_build_add_fixed(&small, &f, TLG_IN_UINT32, 0x11223344), TLG_OK);
  CHECK_ST(tlg_build_add_fixed(&small, &f, TLG_IN_UINT16, 0x5566), TLG_OK);
  CHECK_DATA(&small, "443322116655");
  tlg_build_free(&small);
  tlg_build_free(&tiny);
  tlg_build_free(&roomy);
}

/* --- §3.2 provider traits ---------------------------------------------------- */

static void test_traits(void) {
  uint8_t out[64];
  size_t n;
  tlg_guid g;
  const char *name = "MyCompany.MyComponent";
  CHECK_ST(tlg_guid_parse("12345678-9abc-def0-1234-56789abcdef0", 36, &g), TLG_OK);
  CHECK_ST(tlg_provider_traits(name, strlen(name), &g, out, sizeof out, &n), TLG_OK);
  CHECK_HEX("traits with group", out, n, "2b004d79436f6d70616e792e4d79436f6d706f6e656e7400"
                                         "1300" "01" "78563412bc9af0de123456789abcdef0");
  CHECK_ST(tlg_provider_traits("EtwLua.Vectors", 14, NULL, out, sizeof out, &n), TLG_OK);
  CHECK_HEX("traits", out, n, "11004574774c75612e566563746f727300");
  CHECK_ST(tlg_provider_traits("EtwLua.Vectors", 14, NULL, out, 10, &n), TLG_E_ARG);
  CHECK(n == 17);
  CHECK_ST(tlg_provider_traits("a\0b", 3, NULL, out, sizeof out, &n), TLG_E_NAME_NUL);
}

/* Decode the builder's event to the end; the status and the deepest item. */
static int decode_all(tlg_builder *b, unsigned *max_depth, unsigned *items) {
  size_t ml, dl;
  const uint8_t *m = tlg_build_meta(b, &ml), *d = tlg_build_data(b, &dl);
  tlg_decoder dec;
  tlg_item it;
  *max_depth = *items = 0;
  if (tlg_decode_start(&dec, m, ml, d, dl) != TLG_OK) return tlg_decode_status(&dec);
  while (tlg_decode_next(&dec, &it)) {
    (*items)++;
    if (it.depth > *max_depth) *max_depth = it.depth;
  }
  return tlg_decode_status(&dec);
}

/* Structs nest as deep as the decoder reads, and no deeper: the builder
** refuses the struct whose members the decoder would refuse. */
static void test_struct_depth(void) {
  tlg_builder b;
  tlg_desc d = {0};
  tlg_build_field f = {"s", 1, 0, 0};
  unsigned depth, items, n = 0;
  tlg_build_init(&b, 0, 0);
  CHECK_ST(tlg_build_reset(&b, "deep", 4, &d, 0), TLG_OK);
  while (tlg_build_add_struct(&b, &f, 1) == TLG_OK && n < 100) n++;
  CHECK(n == TLG_MAX_DEPTH - 1);
  CHECK(TLG_DECODE_MAX_DEPTH == TLG_MAX_DEPTH);
  size_t ml = b.meta_len;
  CHECK_ST(tlg_build_add_struct(&b, &f, 1), TLG_E_DEPTH);
  CHECK(b.meta_len == ml && b.depth == n);   /* the refused call changed nothing */
  tlg_build_field leaf = {"v", 1, 0, 0};
  CHECK_ST(tlg_build_add_fixed(&b, &leaf, TLG_IN_UINT8, 7), TLG_OK);
  CHECK(b.depth == 0);                       /* the leaf closed every struct */
  CHECK_ST(decode_all(&b, &depth, &items), TLG_OK);
  CHECK(depth == TLG_MAX_DEPTH - 1);         /* the leaf, at the deepest readable level */
  CHECK(items == 2 * n + 1);                 /* begin + end per struct, the value */
  /* a struct as a later member: depth counts open structs, not fields */
  CHECK_ST(tlg_build_reset(&b, "wide", 4, &d, 0), TLG_OK);
  CHECK_ST(tlg_build_add_struct(&b, &f, 2), TLG_OK);
  CHECK_ST(tlg_build_add_fixed(&b, &leaf, TLG_IN_UINT8, 1), TLG_OK);
  CHECK_ST(tlg_build_add_struct(&b, &f, 1), TLG_OK);  /* last member of the outer */
  CHECK(b.depth == 2);
  CHECK_ST(tlg_build_add_fixed(&b, &leaf, TLG_IN_UINT8, 2), TLG_OK);
  CHECK(b.depth == 0);
  tlg_build_free(&b);
}

/* A struct short of members is reported, innermost first; a failed add or
** a rolled-back sequence does not count as a member. */
static void test_struct_open(void) {
  tlg_builder b;
  tlg_desc d = {0};
  tlg_build_field st = {"st", 2, 0, 0}, in = {"inner", 5, 0, 0}, v = {"v", 1, 0, 0};
  const char *name;
  size_t len;
  unsigned decl = 0, has = 0;
  tlg_build_init(&b, 0, 0);
  CHECK(!tlg_build_open_struct(&b, &name, &len, &decl, &has));  /* not ready */
  CHECK_ST(tlg_build_reset(&b, "e", 1, &d, 0), TLG_OK);
  CHECK(!tlg_build_open_struct(&b, &name, &len, &decl, &has));
  CHECK_ST(tlg_build_add_struct(&b, &st, 3), TLG_OK);
  CHECK(tlg_build_open_struct(&b, &name, &len, &decl, &has) && len == 2 &&
        memcmp(name, "st", 2) == 0 && decl == 3 && has == 0);
  CHECK_ST(tlg_build_add_fixed(&b, &v, TLG_IN_INT32, 1), TLG_OK);
  CHECK_ST(tlg_build_add_fixed(&b, &v, 99, 1), TLG_E_ARG);       /* failed: not a member */
  CHECK(tlg_build_open_struct(&b, &name, &len, &decl, &has) && decl == 3 && has == 1);
  tlg_mark m;
  tlg_seq q;
  tlg_build_mark(&b, &m);
  CHECK_ST(tlg_build_seq_begin(&b, &v, TLG_IN_UINT8, &q), TLG_OK);
  CHECK(tlg_build_open_struct(&b, &name, &len, &decl, &has) && has == 2);
  tlg_build_rollback(&b, &m);
  CHECK(tlg_build_open_struct(&b, &name, &len, &decl, &has) && has == 1);
  CHECK_ST(tlg_build_add_struct(&b, &in, 2), TLG_OK);
  CHECK(tlg_build_open_struct(&b, &name, &len, &decl, &has) && len == 5 &&
        memcmp(name, "inner", 5) == 0 && decl == 2 && has == 0);
  CHECK_ST(tlg_build_add_fixed(&b, &v, TLG_IN_INT32, 2), TLG_OK);
  CHECK_ST(tlg_build_add_fixed(&b, &v, TLG_IN_INT32, 3), TLG_OK);  /* closes inner */
  CHECK(tlg_build_open_struct(&b, &name, &len, &decl, &has) && len == 2 && decl == 3 &&
        has == 2);  /* back to the outer: v and inner */
  CHECK_ST(tlg_build_add_fixed(&b, &v, TLG_IN_INT32, 4), TLG_OK);
  CHECK(!tlg_build_open_struct(&b, &name, &len, &decl, &has));
  tlg_build_free(&b);
}

int main(void) {
  test_struct_depth();
  test_struct_open();
  test_event_tags();
  test_quick_reference();
  test_field_meta();
  test_strings();
  test_f32();
  test_field_limits();
  test_size_limits();
  test_errors_unchanged();
  test_rollback();
  test_growth();
  test_fast_paths();
  test_traits();
  return unit_finish();
}
