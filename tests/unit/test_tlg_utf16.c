/*
** test_tlg_utf16.c: the one UTF-16LE <-> UTF-8 conversion (tlg_utf16.h)
** and the little-endian helpers (tlg_le.h). Expected bytes are written out
** by hand from the Unicode encoding forms (RFC 3629, RFC 2781).
*/
#include <string.h>

#include "tlg_le.h"
#include "tlg_utf16.h"
#include "unit_check.h"

/* UTF-16LE units from a list of 16-bit values */
static size_t units_le(const uint16_t *u, size_t n, uint8_t *out) {
  for (size_t i = 0; i < n; i++) tlg_put16(out + 2 * i, u[i]);
  return n;
}

static void test_decode_next(void) {
  uint8_t b[8];
  uint32_t cp = 0;
  static const uint16_t pair[] = {0xD83D, 0xDE00};
  units_le(pair, 2, b);
  check(tlg_utf16_next(b, 4, &cp) == 4 && cp == 0x1F600, "pair: one code point, 4 bytes");
  check(tlg_utf16_next(b, 3, &cp) == 2 && cp == 0xFFFD, "high surrogate cut short: U+FFFD");
  check(tlg_utf16_next(b + 2, 2, &cp) == 2 && cp == 0xFFFD, "lone low surrogate: U+FFFD");
  static const uint16_t high_then_a[] = {0xD800, 'A'};
  units_le(high_then_a, 2, b);
  check(tlg_utf16_next(b, 4, &cp) == 2 && cp == 0xFFFD, "high surrogate then a letter: U+FFFD");
  check(tlg_utf16_next(b + 2, 2, &cp) == 2 && cp == 'A', "the letter after it is kept");
  check(tlg_utf16_next(b, 1, &cp) == 1 && cp == 0xFFFD, "odd last byte: U+FFFD");
  static const uint16_t bmp[] = {0xFFFF};
  units_le(bmp, 1, b);
  check(tlg_utf16_next(b, 2, &cp) == 2 && cp == 0xFFFF, "U+FFFF is not a surrogate");
}

static void test_to_utf8(void) {
  uint8_t in[32];
  char out[32];
  static const uint16_t mix[] = {'a', 0xE9, 0x20AC, 0xD83D, 0xDE00, 0xDC00, 0, 'z'};
  size_t n = units_le(mix, 8, in);
  size_t got = tlg_utf16_to_utf8(in, n, out, sizeof out);
  check(got == 13 && strcmp(out, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd") == 0,
        "1-, 2-, 3-, 4-byte forms, lone low surrogate as U+FFFD, stop at NUL (got %zu)", got);
  got = tlg_utf16_to_utf8(in, n, out, 7);
  check(got == 6 && strcmp(out, "a\xc3\xa9\xe2\x82\xac") == 0,
        "cut before the code point that does not fit, NUL-terminated");
  got = tlg_utf16_to_utf8(in, n, out, 1);
  check(got == 0 && out[0] == 0, "room for the NUL only");
  out[0] = 'x';
  check(tlg_utf16_to_utf8(in, n, out, 0) == 0 && out[0] == 'x', "cap 0 writes nothing");
  static const uint16_t trail_high[] = {'b', 0xDBFF};
  n = units_le(trail_high, 2, in);
  check(tlg_utf16_to_utf8(in, n, out, sizeof out) == 4 && strcmp(out, "b\xef\xbf\xbd") == 0,
        "high surrogate as the last unit: U+FFFD");
}

static void test_from_utf8(void) {
  uint8_t out[16];
  long n = tlg_utf8_to_utf16("a\xc3\xa9\xf0\x9f\x98\x80", 7, out, 8, NULL);
  check(n == 4 && tlg_le16(out) == 'a' && tlg_le16(out + 2) == 0xE9 &&
            tlg_le16(out + 4) == 0xD83D && tlg_le16(out + 6) == 0xDE00,
        "ASCII, 2-byte and a pair (got %ld)", n);
  static const char *const bad[] = {"\xff", "a\xc3", "\xc0\x80", "\xed\xa0\x80",
                                    "\xf4\x90\x80\x80", "\x80", "\xe2\x82"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    check(tlg_utf8_to_utf16(bad[i], strlen(bad[i]), out, 8, NULL) == -1,
          "invalid UTF-8 rejected (case %zu)", i);
  check(tlg_utf8_to_utf16("abc", 3, out, 2, NULL) == -1, "all or nothing: too long is -1");
  size_t used = 99;
  n = tlg_utf8_to_utf16("ab\xf0\x9f\x98\x80", 6, out, 3, &used);
  check(n == 2 && used == 2, "prefix mode: a pair that does not fit is left out whole");
  n = tlg_utf8_to_utf16("a\xff", 2, out, 8, &used);
  check(n == -1, "prefix mode still rejects invalid UTF-8");
  check(tlg_utf8_to_utf16("", 0, out, 0, &used) == 0 && used == 0, "empty input");
}

static void test_le(void) {
  uint8_t b[8];
  tlg_put64(b, 0x0807060504030201ull);
  check(b[0] == 1 && b[7] == 8, "put64 little-endian");
  check(tlg_le16(b) == 0x0201 && tlg_le32(b + 1) == 0x05040302u &&
            tlg_le64(b) == 0x0807060504030201ull,
        "loads at any offset");
  check(tlg_get_le(b, 3) == 0x030201u && tlg_get_le(b, 0) == 0, "n-byte load");
  tlg_put32(b, 0xFFFFFFFEu);
  check(tlg_le_i64(b) == (int64_t)0x08070605FFFFFFFEll, "signed 64-bit load");
  tlg_put16(b + 6, 0xABCD);
  check(b[6] == 0xCD && b[7] == 0xAB, "put16");
}

int main(void) {
  test_decode_next();
  test_to_utf8();
  test_from_utf8();
  test_le();
  return unit_finish();
}
