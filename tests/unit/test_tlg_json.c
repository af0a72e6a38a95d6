/*
** test_tlg_json.c: the one JSON writer (src/tlg/tlg_json.h): exact output
** for the edge cases of its rules (integers at and beyond 2^53, NaN and
** infinities, shortest floats, escapes, invalid UTF-8 under both policies,
** hex, output longer than the writer's buffer).
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tlg_json.h"
#include "unit_check.h"

static char text[8192];
static size_t len;

static void sb_write(void *ctx, const char *s, size_t n) {
  (void)ctx;
  if (n > sizeof text - 1 - len) n = sizeof text - 1 - len;
  memcpy(text + len, s, n);
  len += n;
  text[len] = 0;
}

static tlg_sink sink = {sb_write, NULL};
static tlg_json j;

static void begin(void) {
  len = 0;
  text[0] = 0;
  tlg_json_init(&j, &sink);
}

#define EXPECT(want) \
  do { \
    tlg_json_flush(&j); \
    check_at(strcmp(text, want) == 0, __FILE__, __LINE__, "got [%s], want [%s]", text, want); \
  } while (0)

static void test_integers(void) {
  begin(); tlg_json_u64(&j, 0); EXPECT("0");
  begin(); tlg_json_u64(&j, 9007199254740992ull); EXPECT("9007199254740992");
  begin(); tlg_json_u64(&j, 9007199254740993ull); EXPECT("\"9007199254740993\"");
  begin(); tlg_json_u64(&j, UINT64_MAX); EXPECT("\"18446744073709551615\"");
  begin(); tlg_json_i64(&j, -9007199254740992ll); EXPECT("-9007199254740992");
  begin(); tlg_json_i64(&j, -9007199254740993ll); EXPECT("\"-9007199254740993\"");
  begin(); tlg_json_i64(&j, INT64_MIN); EXPECT("\"-9223372036854775808\"");
  begin(); tlg_json_i64(&j, INT64_MAX); EXPECT("\"9223372036854775807\"");
  /* each digit count of 32-bit values, both sides of each power of ten,
  ** and the first values past 32 bits (tlg_u32_at, then the 64-bit way) */
  static const char *const edges[] = {
    "1", "9", "10", "99", "100", "999", "1000", "9999", "10000", "99999", "100000", "999999",
    "1000000", "9999999", "10000000", "99999999", "100000000", "999999999", "1000000000",
    "4294967295", "4294967296", "9999999999", "10000000000", "12345678901"};
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
    uint64_t v = 0;
    for (const char *c = edges[i]; *c; c++) v = v * 10 + (uint64_t)(*c - '0');
    begin(); tlg_json_u64(&j, v); EXPECT(edges[i]);
    if (v >> 32) continue;
    char out[16];
    char *end = tlg_u32_at(out, (uint32_t)v);
    *end = 0;
    check(strcmp(out, edges[i]) == 0, "tlg_u32_at(%s) = [%s]", edges[i], out);
  }
}

static void test_floats(void) {
  begin(); tlg_json_double(&j, NAN, 0, 1); EXPECT("\"nan\"");
  begin(); tlg_json_double(&j, -NAN, 0, 1); EXPECT("\"nan\"");
  begin(); tlg_json_double(&j, INFINITY, 0, 1); EXPECT("\"inf\"");
  begin(); tlg_json_double(&j, -INFINITY, 0, 1); EXPECT("\"-inf\"");
  begin(); tlg_json_double(&j, NAN, 0, 0); EXPECT("nan");
  begin(); tlg_json_double(&j, 0.1, 0, 1); EXPECT("0.1");
  begin(); tlg_json_double(&j, 2.0, 0, 1); EXPECT("2");
  begin(); tlg_json_double(&j, 1.0 / 3, 0, 1); EXPECT("0.3333333333333333");
  begin(); tlg_json_double(&j, (float)0.1, 1, 1); EXPECT("0.1");
  begin(); tlg_json_double(&j, (float)0.1, 0, 1); EXPECT("0.10000000149011612");
  begin(); tlg_json_double(&j, 1e300, 0, 1); EXPECT("1e+300");
  begin(); tlg_json_double(&j, -0.0, 0, 1); EXPECT("-0");
}

static void test_strings(void) {
  begin(); tlg_json_string(&j, "", 0, TLG_JSON_REPLACE); EXPECT("\"\"");
  begin(); tlg_json_string(&j, "a\"b\\c/", 6, TLG_JSON_REPLACE); EXPECT("\"a\\\"b\\\\c/\"");
  begin(); tlg_json_string(&j, "\b\t\n\f\r\x01\x1f\x7f", 8, TLG_JSON_REPLACE);
  EXPECT("\"\\b\\t\\n\\f\\r\\u0001\\u001f\x7f\"");
  begin(); tlg_json_string(&j, "\0x", 2, TLG_JSON_REPLACE); EXPECT("\"\\u0000x\"");
  /* valid UTF-8 (2, 3, 4 bytes) is kept under both policies */
  begin(); tlg_json_string(&j, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, TLG_JSON_CP1252);
  EXPECT("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
  /* a lone 0x80, a lone 0xE9, an encoded surrogate, an overlong '/' */
  begin(); tlg_json_string(&j, "\x80|\xe9|\xed\xa0\x80|\xc0\xaf", 10, TLG_JSON_REPLACE);
  EXPECT("\"\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\"");
  /* Windows-1252: 0x80 is the euro sign, 0xE9 is e-acute, 0x81 (undefined) U+0081 */
  begin(); tlg_json_string(&j, "\x80|\xe9|\x81", 5, TLG_JSON_CP1252);
  EXPECT("\"\xe2\x82\xac|\xc3\xa9|\xc2\x81\"");
  /* a truncated sequence at the end */
  begin(); tlg_json_string(&j, "a\xe2\x82", 3, TLG_JSON_REPLACE);
  EXPECT("\"a\xef\xbf\xbd\xef\xbf\xbd\"");
}

static void test_hex_and_raw(void) {
  static const uint8_t b[] = {0x00, 0x0a, 0xff};
  begin(); tlg_json_hex(&j, b, 3); EXPECT("\"000aff\"");
  begin(); tlg_json_hex(&j, b, 0); EXPECT("\"\"");
  begin(); tlg_json_cp(&j, 0x1F600, 0); tlg_json_cp(&j, '"', 0); tlg_json_cp(&j, '"', 1);
  EXPECT("\xf0\x9f\x98\x80\"\\\"");
}

/* Output longer than the 512-byte buffer arrives whole and in order. */
static void test_long_output(void) {
  char big[1500], want[2200];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + i % 26);
  begin();
  tlg_json_char(&j, '[');
  tlg_json_string(&j, big, sizeof big, TLG_JSON_REPLACE);
  tlg_json_raw(&j, big, 600);
  tlg_json_char(&j, ']');
  want[0] = '[';
  want[1] = '"';
  memcpy(want + 2, big, sizeof big);
  want[2 + sizeof big] = '"';
  memcpy(want + 3 + sizeof big, big, 600);
  strcpy(want + 3 + sizeof big + 600, "]");
  EXPECT(want);
}

/* One special byte at each position of plain strings of 0..40 bytes: the
** 8- and 4-byte blocks of the plain-text scan (their edges, the overlapping
** last block) hand each one to the escapes. Expected text built by hand. */
static void test_string_blocks(void) {
  static const struct { char c; const char *esc; } special[] = {
    {'"', "\\\""}, {'\\', "\\\\"}, {'\x01', "\\u0001"}, {'\x1f', "\\u001f"},
    {(char)0x80, "\xe2\x82\xac"}, {(char)0xff, "\xc3\xbf"}, {'\x7f', "\x7f"}, {' ', " "}};
  char in[48], want[128];
  for (size_t n = 0; n <= 40; n++) {
    memset(in, 'a', n);
    begin();
    tlg_json_string(&j, in, n, TLG_JSON_CP1252);
    want[0] = '"';
    memset(want + 1, 'a', n);
    strcpy(want + 1 + n, "\"");
    EXPECT(want);
    for (size_t k = 0; k < n; k++) {
      for (size_t c = 0; c < sizeof special / sizeof special[0]; c++) {
        in[k] = special[c].c;
        begin();
        tlg_json_string(&j, in, n, TLG_JSON_CP1252);
        size_t e = strlen(special[c].esc);
        want[0] = '"';
        memset(want + 1, 'a', k);
        memcpy(want + 1 + k, special[c].esc, e);
        memset(want + 1 + k + e, 'a', n - k - 1);
        strcpy(want + 1 + k + e + n - k - 1, "\"");
        EXPECT(want);
        in[k] = 'a';
      }
    }
  }
}

int main(void) {
  test_integers();
  test_floats();
  test_strings();
  test_string_blocks();
  test_hex_and_raw();
  test_long_output();
  return unit_finish();
}
