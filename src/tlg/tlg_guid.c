/*
** tlg_guid.c: GUID text <-> bytes, provider id from name, descriptor packing.
*/
#include <string.h>

#include "tlg_guid.h"
#include "tlg_le.h"
#include "tlg_utf8.h"
#include "tlg_upper_table.h"

/* Text order of the 16 memory-order bytes: Data1..Data3 are little-endian. */
static const uint8_t text_order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

/* Two lowercase hex digits of each byte. */
static const char hex_pairs[513] =
  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
  "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
  "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
  "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
  "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
  "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
  "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
  "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* Where the hex of each text-order byte goes in the 36 characters. */
static const uint8_t text_pos[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};

void tlg_guid_format(const tlg_guid *g, char out[TLG_GUID_TEXT]) {
  for (int i = 0; i < 16; i++) memcpy(out + text_pos[i], hex_pairs + 2 * g->b[text_order[i]], 2);
  out[8] = out[13] = out[18] = out[23] = '-';
  out[36] = '\0';
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int tlg_guid_parse(const char *text, size_t len, tlg_guid *g) {
  tlg_guid tmp;
  if (len == 38 && text[0] == '{' && text[37] == '}') { text++; len -= 2; }
  if (len != 36) return TLG_E_ARG;
  size_t pos = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      if (text[pos++] != '-') return TLG_E_ARG;
    }
    int hi = hexval(text[pos]), lo = hexval(text[pos + 1]);
    if (hi < 0 || lo < 0) return TLG_E_ARG;
    tmp.b[text_order[i]] = (uint8_t)(hi << 4 | lo);
    pos += 2;
  }
  *g = tmp;
  return TLG_OK;
}


static uint32_t upper(uint32_t cp) {
  size_t lo = 0, hi = sizeof tlg_upper_runs / sizeof tlg_upper_runs[0];
  while (lo < hi) { /* last run whose first code point is <= cp */
    size_t mid = (lo + hi) / 2;
    if (tlg_upper_runs[mid].first <= cp) lo = mid + 1; else hi = mid;
  }
  if (lo == 0) return cp;
  const struct tlg_upper_run *r = &tlg_upper_runs[lo - 1];
  uint32_t off = cp - r->first;
  if (off % r->stride == 0 && off / r->stride < r->count) return (uint32_t)((int32_t)cp + r->delta);
  return cp;
}

static void hash_unit(tlg_sha1_ctx *c, uint32_t u) {
  uint8_t be[2] = {(uint8_t)(u >> 8), (uint8_t)u};
  tlg_sha1_update(c, be, 2);
}

int tlg_provider_id(const char *name, size_t len, tlg_guid *out) {
  static const uint8_t ns[16] = {0x48, 0x2C, 0x2D, 0xB2, 0xC3, 0x90, 0x47, 0xC8,
                                 0x87, 0xF8, 0x1A, 0x15, 0xBF, 0xC1, 0x30, 0xFB};
  const uint8_t *s = (const uint8_t *)name;
  tlg_sha1_ctx c;
  uint8_t digest[20];
  tlg_sha1_init(&c);
  tlg_sha1_update(&c, ns, sizeof ns);
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    size_t n = tlg_utf8_next(s + i, len - i, &cp);
    if (n == 0) return TLG_E_ARG;
    i += n;
    cp = upper(cp);
    if (cp >= 0x10000) { /* surrogate pair, each unit big-endian */
      cp -= 0x10000;
      hash_unit(&c, 0xD800 | (cp >> 10));
      hash_unit(&c, 0xDC00 | (cp & 0x3FF));
    } else {
      hash_unit(&c, cp);
    }
  }
  tlg_sha1_final(&c, digest);
  digest[7] = (uint8_t)((digest[7] & 0x0F) | 0x50);
  memcpy(out->b, digest, 16);
  return TLG_OK;
}

void tlg_desc_pack(const tlg_desc *d, uint8_t out[16]) {
  tlg_put16(out, d->id);
  out[2] = d->version; out[3] = d->channel; out[4] = d->level; out[5] = d->opcode;
  tlg_put16(out + 6, d->task);
  tlg_put64(out + 8, d->keyword);
}

void tlg_desc_unpack(const uint8_t in[16], tlg_desc *d) {
  d->id = tlg_le16(in);
  d->version = in[2]; d->channel = in[3]; d->level = in[4]; d->opcode = in[5];
  d->task = tlg_le16(in + 6);
  d->keyword = tlg_le64(in + 8);
}
