/*
** test_tlg_guid.c: SHA-1, GUID text form, provider id from name, descriptor
** packing; expected values from FIPS 180 examples and spec §3.1, §5, §9.
*/
#include <stdio.h>
#include <string.h>

#include "tlg_guid.h"
#include "unit_check.h"

static void hex(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_sha1(void) {
  static const struct { const char *in; const char *digest; } cases[] = {
    {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t d[20]; char h[41];
    tlg_sha1(cases[i].in, strlen(cases[i].in), d);
    hex(d, 20, h);
    check(strcmp(h, cases[i].digest) == 0, "sha1 of \"%s\"", cases[i].in);
  }
  /* one million 'a', fed in uneven pieces through the streaming API */
  tlg_sha1_ctx c; uint8_t d[20]; char h[41], a[997];
  memset(a, 'a', sizeof a);
  tlg_sha1_init(&c);
  for (size_t left = 1000000; left > 0;) {
    size_t n = left < sizeof a ? left : sizeof a;
    tlg_sha1_update(&c, a, n);
    left -= n;
  }
  tlg_sha1_final(&c, d);
  hex(d, 20, h);
  check(strcmp(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0, "sha1 million a");
}

static void test_guid_text(void) {
  tlg_guid g; char t[TLG_GUID_TEXT];
  const char *canon = "00112233-4455-6677-8899-aabbccddeeff";
  static const uint8_t le[16] = {0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
                                 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  check(tlg_guid_parse(canon, 36, &g) == TLG_OK && memcmp(g.b, le, 16) == 0, "parse canonical");
  tlg_guid_format(&g, t);
  check(strcmp(t, canon) == 0, "format canonical");
  check(tlg_guid_parse("{00112233-4455-6677-8899-AABBCCDDEEFF}", 38, &g) == TLG_OK &&
        memcmp(g.b, le, 16) == 0, "parse braces + upper case");
  static const char *bad[] = {"", "00112233-4455-6677-8899-aabbccddeef",
    "00112233-4455-6677-8899-aabbccddeefg", "0011223344556677-8899-aabbccddeeff0",
    "{00112233-4455-6677-8899-aabbccddeeff", "00112233 4455 6677 8899 aabbccddeeff",
    "(00112233-4455-6677-8899-aabbccddeeff)"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(&g, 0x5a, sizeof g);
    check(tlg_guid_parse(bad[i], strlen(bad[i]), &g) == TLG_E_ARG && g.b[0] == 0x5a, "%s", bad[i]);
  }
}

static void test_provider_id(void) {
  static const struct { const char *name, *guid; } cases[] = { /* spec §5 table */
    {"MyProvider", "b3864c38-4273-58c5-545b-8b3608343471"},
    {"myprovider", "b3864c38-4273-58c5-545b-8b3608343471"},
    {"TestProvider", "97c801ee-c28b-5bb6-2ae4-11e18fe6137a"},
    {"MyCompany.MyComponent", "ce5fa4ea-ab00-5402-8b76-9f76ac858fb5"},
    {"System.Runtime", "49592c0f-5a05-516d-aa4b-a64e02026c89"},
    {"Microsoft-Diagnostics-DiagnosticSource", "adb401e1-5296-51f8-c125-5fda75826144"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tlg_guid g; char t[TLG_GUID_TEXT];
    check(tlg_provider_id(cases[i].name, strlen(cases[i].name), &g) == TLG_OK, "%s", cases[i].name);
    tlg_guid_format(&g, t);
    check(strcmp(t, cases[i].guid) == 0, "%s", cases[i].name);
  }
  /* upper-casing is per character: U+00E9 -> U+00C9, U+03C9 -> U+03A9 */
  tlg_guid a, b;
  tlg_provider_id("caf\xc3\xa9", 5, &a);
  tlg_provider_id("CAF\xc3\x89", 5, &b);
  check(memcmp(&a, &b, 16) == 0, "cafe upper-cases like CAFE");
  tlg_provider_id("\xcf\x89mega", 6, &a);
  tlg_provider_id("\xce\xa9MEGA", 6, &b);
  check(memcmp(&a, &b, 16) == 0, "omega upper-cases");
  static const char *bad[] = {"\xff", "a\xc3", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    check(tlg_provider_id(bad[i], strlen(bad[i]), &a) == TLG_E_ARG, "invalid UTF-8 rejected");
}

static void test_desc(void) {
  /* spec §9: reset(b'4v2o1t123c0l3k11', id=4, version=2, opcode=1, task=123, channel=0, level=3, keyword=0x11) */
  tlg_desc d = {4, 2, 0, 3, 1, 123, 0x11}, back;
  uint8_t out[16]; char h[33];
  tlg_desc_pack(&d, out);
  hex(out, 16, h);
  check(strcmp(h, "0400020003017b001100000000000000") == 0, "descriptor bytes");
  tlg_desc_unpack(out, &back);
  check(memcmp(&d, &back, sizeof d) == 0, "descriptor round trip");
  tlg_desc big = {0xFFFF, 255, 255, 255, 255, 0xFFFF, UINT64_MAX};
  tlg_desc_pack(&big, out);
  tlg_desc_unpack(out, &back);
  check(memcmp(&big, &back, sizeof big) == 0 && out[15] == 0xFF, "descriptor max values");
}

static void test_strerror(void) {
  for (int s = 0; s < TLG_STATUS_COUNT; s++)
    check(strcmp(tlg_strerror(s), "unknown error") != 0, "every status has a message");
  check(strcmp(tlg_strerror(-1), "unknown error") == 0, "negative status");
  check(strcmp(tlg_strerror(TLG_STATUS_COUNT), "unknown error") == 0, "status past the end");
}

int main(void) {
  test_sha1();
  test_guid_text();
  test_provider_id();
  test_desc();
  test_strerror();
  return unit_finish();
}
