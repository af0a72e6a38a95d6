/*
** tlg_sha1.c: SHA-1 (FIPS 180-4), only for the provider-id name hash.
*/
#include <string.h>

#include "tlg_guid.h"

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const uint8_t *p) {
  uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
           (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
    else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
    else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
    else { f = b ^ c ^ d; k = 0xCA62C1D6; }
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d; d = c; c = rol(b, 30); b = a; a = t;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

void tlg_sha1_init(tlg_sha1_ctx *c) {
  static const uint32_t iv[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  memcpy(c->h, iv, sizeof iv);
  c->total = 0;
  c->used = 0;
}

void tlg_sha1_update(tlg_sha1_ctx *c, const void *data, size_t len) {
  const uint8_t *p = data;
  c->total += len;
  while (len > 0) {
    size_t n = 64 - c->used;
    if (n > len) n = len;
    memcpy(c->block + c->used, p, n);
    c->used += n; p += n; len -= n;
    if (c->used == 64) { sha1_block(c->h, c->block); c->used = 0; }
  }
}

void tlg_sha1_final(tlg_sha1_ctx *c, uint8_t digest[20]) {
  uint64_t bits = c->total * 8;
  uint8_t pad = 0x80, zero = 0, len[8];
  tlg_sha1_update(c, &pad, 1);
  while (c->used != 56) tlg_sha1_update(c, &zero, 1);
  for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
  tlg_sha1_update(c, len, 8);
  for (int i = 0; i < 20; i++) digest[i] = (uint8_t)(c->h[i / 4] >> (24 - 8 * (i % 4)));
}

void tlg_sha1(const void *data, size_t len, uint8_t digest[20]) {
  tlg_sha1_ctx c;
  tlg_sha1_init(&c);
  tlg_sha1_update(&c, data, len);
  tlg_sha1_final(&c, digest);
}
