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
  /* every short period: matches at distances 1..24 (the copy by distance
  ** class of the bulk loop), short and long, between literal runs */
  for (size_t period = 1; period <= 24; period++) {
    char what[48];
    for (size_t i = 0; i < 20000; i++)
      buf[i] = (uint8_t)(i % 1000 < 40 ? (i * 7 + period) & 0xFF : 'a' + i % period);
    snprintf(what, sizeof what, "period %zu", period);
    roundtrip(what, buf, 20000, (size_t)-1);
    snprintf(what, sizeof what, "period %zu, matches up to 17", period);
    roundtrip(what, buf, 20000, 17);
  }
  free(buf);
}

/* A stream of `k` flag words of 32 literals, then the flag word `last`
** and `tail` (`tn` bytes), then 64 zero bytes: errors far from both ends,
** where the decompressor's bulk loop runs. */
static size_t long_stream(uint8_t *z, size_t k, uint32_t last, const uint8_t *tail, size_t tn) {
  size_t n = 0;
  for (size_t i = 0; i < k; i++) {
    memset(z + n, 0, 4);
    for (size_t j = 0; j < 32; j++) z[n + 4 + j] = (uint8_t)('A' + (i + j) % 26);
    n += 36;
  }
  for (int b = 0; b < 4; b++) z[n++] = (uint8_t)(last >> (8 * b));
  memcpy(z + n, tail, tn);
  n += tn;
  memset(z + n, 0, 64);
  return n + 64;
}

static void test_errors_far(void) {
  static uint8_t z[8000], out[8000];
  size_t got, bad, n;
  static const uint8_t far[] = {0xf8, 0xff};          /* distance 8192 */
  n = long_stream(z, 100, 0x80000000u, far, sizeof far);
  check(run(z, n, out, sizeof out, &got, &bad) == ETL_LZX_BAD_OFFSET && got == 3200 &&
        bad == 3604, "match before the start, 3200 bytes in (got %zu, at %zu)", got, bad);
  static const uint8_t long_len[] = {0x07, 0x00, 0x0f, 0x64};  /* 3 + 7 + 15 + 100 */
  n = long_stream(z, 100, 0x80000000u, long_len, sizeof long_len);
  check(run(z, n, out, 3200 + 100, &got, &bad) == ETL_LZX_OVERFLOW && got == 3200 && bad == 3604,
        "match past the capacity, 3200 bytes in");
  check(run(z, n, out, 3200 + 125, &got, &bad) == ETL_LZX_OK && got == 3325 &&
        out[3324] == out[3199], "the same match with room: 125 bytes of distance 1");
  static const uint8_t short_u16[] = {0x07, 0x00, 0x0f, 0xff, 0x05, 0x00};
  n = long_stream(z, 100, 0x80000000u, short_u16, sizeof short_u16);
  check(run(z, n, out, sizeof out, &got, &bad) == ETL_LZX_BAD_LENGTH && got == 3200 &&
        bad == 3604, "u16 length below 22, 3200 bytes in");
  /* then 32 zero literals, a zero flag word and 28 more: 3260 bytes */
  n = long_stream(z, 100, 0, z, 0);
  int ok = run(z, n, out, sizeof out, &got, &bad) == ETL_LZX_OK && got == 3260, zeros = 1;
  for (size_t i = 3200; i < 3260; i++) zeros = zeros && out[i] == 0;
  check(ok &&
        memcmp(out + 3168, "VWXYZABCDEFGHIJKLMNOPQRSTUVWXYZA", 32) == 0 && zeros,
        "literal runs, 3260 bytes");
}

/* Lengths in every encoding far into a stream, where the bulk loop reads
** them itself: a u16 length and a u32 length, a half-byte shared between
** them, matches at distances 1 and 2. Every byte of a match equals the
** byte `dist` before it. */
static void test_lengths_far(void) {
  static uint8_t z[8000], out[3200 + 4099 + 12 + 100003 + 60 + 16];
  size_t got, bad, n;
  static const uint8_t tail[] = {
      0x07, 0x00, 0x2f, 0xff, 0x00, 0x10,  /* dist 1, nibble 15, u16 4096: 4099 bytes */
      0x0f, 0x00,                          /* dist 2, the shared nibble 2: 12 bytes */
      0x07, 0x00, 0x0f, 0xff, 0x00, 0x00,  /* dist 1, nibble 15, u16 0, */
      0xa0, 0x86, 0x01, 0x00};             /* u32 100000: 100003 bytes */
  n = long_stream(z, 100, 0xe0000000u, tail, sizeof tail);
  size_t want = 3200 + 4099 + 12 + 100003 + 60;   /* 29 + 31 zero literals follow */
  int ok = run(z, n, out, sizeof out, &got, &bad) == ETL_LZX_OK && got == want;
  for (size_t i = 3200; ok && i < 3200 + 4099; i++) ok = out[i] == out[i - 1];
  for (size_t i = 7299; ok && i < 7299 + 12; i++) ok = out[i] == out[i - 2];
  for (size_t i = 7311; ok && i < 7311 + 100003; i++) ok = out[i] == out[i - 1];
  for (size_t i = 107314; ok && i < want; i++) ok = out[i] == 0;
  check(ok, "u16 and u32 lengths, 3200 "
        "bytes in, a half-byte between them (got %zu of %zu)", got, want);
  /* a bad length after a match that left its half-byte pending: the error
  ** names the second match, with the first one's bytes written */
  static const uint8_t pending[] = {0x07, 0x00, 0xf2, 0x07, 0x00, 0xff, 0x05, 0x00};
  n = long_stream(z, 100, 0xc0000000u, pending, sizeof pending);
  check(run(z, n, out, sizeof out, &got, &bad) == ETL_LZX_BAD_LENGTH && got == 3212 &&
        bad == 3607, "bad length after a pending half-byte (got %zu, at %zu)", got, bad);
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
  test_errors_far();
  test_lengths_far();
  test_prefixes();
  return unit_finish();
}
