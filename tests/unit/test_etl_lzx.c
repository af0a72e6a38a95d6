/*
** test_etl_lzx.c: the plain LZ77 decompressor ([MS-XCA] §2.4): the two
** worked examples of [MS-XCA] §3.1, every length encoding (3-bit, shared
** half-byte, byte, u16, u32), overlapping matches, round trips through the
** test compressor, and every error (truncation at each prefix, distance
** before the start, short extended length, output overflow).
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_lzx.h"
#include "lzx_mini.h"
#include "unit_check.h"


static etl_lzx_status run(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *got,
                          size_t *bad) {
  return etl_lzx_decompress(in, n, out, cap, got, bad);
}

static void test_spec_examples(void) {
  /* [MS-XCA] 3.1: "abcdefghijklmnopqrstuvwxyz" as 26 literals */
  uint8_t a[30] = {0x3f, 0x00, 0x00, 0x00};
  for (int i = 0; i < 26; i++) a[4 + i] = (uint8_t)('a' + i);
  uint8_t out[400];
  size_t got, bad;
  check(run(a, 30, out, sizeof out, &got, &bad) == ETL_LZX_OK && got == 26 &&
        memcmp(out, "abcdefghijklmnopqrstuvwxyz", 26) == 0, "MS-XCA example 1 (literals)");
  /* [MS-XCA] 3.1: "abc" x 100 -> one match of 297 bytes (half-byte 15, byte 255, u16) */
  static const uint8_t b[] = {0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63, 0x17, 0x00,
                              0x0f, 0xff, 0x26, 0x01};
  int ok = run(b, sizeof b, out, sizeof out, &got, &bad) == ETL_LZX_OK && got == 300;
  for (int i = 0; ok && i < 300; i++) ok = out[i] == "abc"[i % 3];
  check(ok, "MS-XCA example 2 (abc x 100, extended length)");
  /* the same with an exact capacity: stops when the output is full */
  check(run(b, sizeof b, out, 300, &got, &bad) == ETL_LZX_OK && got == 300, "exact capacity");
}

/* Round trip `n` bytes through the test compressor with a match cap. */
static void roundtrip(const char *what, const uint8_t *in, size_t n, size_t max_len) {
  size_t cap = n + n / 8 + 64, got = 0, bad = 0;
  uint8_t *z = malloc(cap), *out = malloc(n + 1);
  size_t zn = z ? lzx_compress(in, n, z, cap, max_len) : 0;
  etl_lzx_status st = out && zn ? run(z, zn, out, n, &got, &bad) : ETL_LZX_TRUNCATED;
  check(st == ETL_LZX_OK && got == n && memcmp(out, in, n) == 0,
        "round trip %s (%zu -> %zu bytes)", what, n, zn);
  free(z);
  free(out);
}

static void test_roundtrips(void) {
  size_t n = 300000;
  uint8_t *buf = malloc(n);
  uint32_t x = 12345;
  if (!buf) return;
  for (size_t i = 0; i < n; i++) { x = x * 1103515245u + 12345u; buf[i] = (uint8_t)(x >> 24); }
  roundtrip("random", buf, 5000, (size_t)-1);
  memset(buf, 'z', n);
  roundtrip("run of 300000 (u32 length)", buf, n, (size_t)-1);
  roundtrip("run of 70000 (u16 length)", buf, 70000, (size_t)-1);
  for (size_t len = 3; len <= 40; len++) {
    char what[48];
    snprintf(what, sizeof what, "matches capped at %zu", len);
    roundtrip(what, buf, 1000, len);  /* half-bytes shared between matches, bytes */
  }
  roundtrip("matches capped at 300", buf, 5000, 300);
  for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)("ETW record "[i % 11] + (i / 997 % 3));
  roundtrip("text-like", buf, 65536, (size_t)-1);
  roundtrip("one byte", buf, 1, (size_t)-1);
  free(buf);
}

static void test_errors(void) {
  uint8_t out[64];
  size_t got, bad;
  static const uint8_t short_flags[] = {0x00, 0x00};
  check(run(short_flags, 2, out, 64, &got, &bad) == ETL_LZX_TRUNCATED && got == 0 && bad == 0,
        "flag word cut");
  static const uint8_t early[] = {0x00, 0x00, 0x00, 0x80, 0x00, 0x00};
  check(run(early, sizeof early, out, 64, &got, &bad) == ETL_LZX_BAD_OFFSET && bad == 4,
        "match before the start");
  static const uint8_t cut_match[] = {0x00, 0x00, 0x00, 0x40, 'a', 0x07};
  check(run(cut_match, sizeof cut_match, out, 64, &got, &bad) == ETL_LZX_TRUNCATED && got == 1,
        "match word cut");
  static const uint8_t cut_len[] = {0x00, 0x00, 0x00, 0x40, 'a', 0x07, 0x00};
  check(run(cut_len, sizeof cut_len, out, 64, &got, &bad) == ETL_LZX_TRUNCATED && bad == 5,
        "extended length cut");
  static const uint8_t short_u16[] = {0x00, 0x00, 0x00, 0x40, 'a', 0x07, 0x00, 0x0f, 0xff,
                                      0x05, 0x00};
  check(run(short_u16, sizeof short_u16, out, 64, &got, &bad) == ETL_LZX_BAD_LENGTH,
        "u16 length below 22");
  static const uint8_t big[] = {0x00, 0x00, 0x00, 0x40, 'a', 0x06, 0x00};
  check(run(big, sizeof big, out, 5, &got, &bad) == ETL_LZX_OVERFLOW && got == 1,
        "match past the capacity");
  check(run(big, sizeof big, out, 10, &got, &bad) == ETL_LZX_OK && got == 10 &&
        memcmp(out, "aaaaaaaaaa", 10) == 0, "overlapping match (distance 1)");
  check(run(big, 0, out, 10, &got, &bad) == ETL_LZX_OK && got == 0, "empty input");
  check(strcmp(etl_lzx_strerror(ETL_LZX_OVERFLOW), "unknown error") != 0, "messages");
}

/* Every prefix of a real stream decodes to a prefix of the data, no crash. */
static void test_prefixes(void) {
  uint8_t in[3000], z[4000], out[3000];
  for (size_t i = 0; i < sizeof in; i++) in[i] = (uint8_t)("abcabcabd"[i % 9] ^ (i / 100));
  size_t zn = lzx_compress(in, sizeof in, z, sizeof z, 40), got, bad, badn = 0;
  for (size_t cut = 0; cut <= zn; cut++) {
    run(z, cut, out, sizeof out, &got, &bad);
    if (got > sizeof in || memcmp(out, in, got) != 0) badn++;
  }
  check(zn > 0 && badn == 0, "every prefix of a %zu-byte stream decodes to a prefix", zn);
}

int main(void) {
  test_spec_examples();
  test_roundtrips();
  test_errors();
  test_prefixes();
  return unit_finish();
}
