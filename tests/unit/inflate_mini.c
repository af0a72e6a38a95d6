/*
** inflate_mini.c: a small DEFLATE decoder (canonical Huffman decoding by
** code length counts, as in RFC 1951 §3.2) plus the gzip wrapper.
** Test support code; speed is adequate for a few tens of MB.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inflate_mini.h"

typedef struct bits {
  const uint8_t *p;
  size_t len, pos;
  uint32_t buf;
  int n;
  int bad;
} bits;

typedef struct out {
  uint8_t *p;
  size_t len, cap;
} out;

typedef struct huff {
  uint16_t count[16];
  uint16_t sym[320];
} huff;

static uint32_t getbits(bits *b, int need) {
  while (b->n < need) {
    if (b->pos >= b->len) { b->bad = 1; return 0; }
    b->buf |= (uint32_t)b->p[b->pos++] << b->n;
    b->n += 8;
  }
  uint32_t v = b->buf & ((1u << need) - 1);
  b->buf >>= need;
  b->n -= need;
  return v;
}

static int put(out *o, uint8_t c) {
  if (o->len == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 1 << 16;
    uint8_t *np = realloc(o->p, cap + 1);
    if (!np) return -1;
    o->p = np;
    o->cap = cap;
  }
  o->p[o->len++] = c;
  return 0;
}

static void build(huff *h, const uint8_t *lens, int n) {
  uint16_t offs[16];
  memset(h->count, 0, sizeof h->count);
  for (int i = 0; i < n; i++) h->count[lens[i]]++;
  h->count[0] = 0;
  offs[1] = 0;
  for (int i = 1; i < 15; i++) offs[i + 1] = offs[i] + h->count[i];
  for (int i = 0; i < n; i++)
    if (lens[i]) h->sym[offs[lens[i]]++] = (uint16_t)i;
}

static int decode(bits *b, const huff *h) {
  int code = 0, first = 0, index = 0;
  for (int len = 1; len < 16; len++) {
    code |= (int)getbits(b, 1);
    int count = h->count[len];
    if (code - count < first) return h->sym[index + (code - first)];
    index += count;
    first += count;
    first <<= 1;
    code <<= 1;
    if (b->bad) return -1;
  }
  return -1;
}

static const uint16_t len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                      35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                      3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129,
                                       193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                                       4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                       7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static int codes(bits *b, out *o, const huff *lit, const huff *dist) {
  for (;;) {
    int s = decode(b, lit);
    if (s < 0) return -1;
    if (s < 256) { if (put(o, (uint8_t)s)) return -1; continue; }
    if (s == 256) return 0;
    s -= 257;
    if (s >= 29) return -1;
    size_t len = len_base[s] + getbits(b, len_extra[s]);
    int d = decode(b, dist);
    if (d < 0 || d >= 30) return -1;
    size_t dd = dist_base[d] + getbits(b, dist_extra[d]);
    if (b->bad || dd > o->len) return -1;
    for (size_t i = 0; i < len; i++)
      if (put(o, o->p[o->len - dd])) return -1;
  }
}

static int fixed_block(bits *b, out *o) {
  uint8_t lens[320];
  huff lit, dist;
  int i = 0;
  for (; i < 144; i++) lens[i] = 8;
  for (; i < 256; i++) lens[i] = 9;
  for (; i < 280; i++) lens[i] = 7;
  for (; i < 288; i++) lens[i] = 8;
  build(&lit, lens, 288);
  for (i = 0; i < 30; i++) lens[i] = 5;
  build(&dist, lens, 30);
  return codes(b, o, &lit, &dist);
}

static int dynamic_block(bits *b, out *o) {
  static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
  uint8_t lens[320] = {0};
  huff lc, lit, dist;
  int nlen = (int)getbits(b, 5) + 257, ndist = (int)getbits(b, 5) + 1, ncode = (int)getbits(b, 4) + 4;
  if (nlen > 286 || ndist > 30) return -1;
  for (int i = 0; i < ncode; i++) lens[order[i]] = (uint8_t)getbits(b, 3);
  build(&lc, lens, 19);
  memset(lens, 0, sizeof lens);
  for (int i = 0; i < nlen + ndist;) {
    int s = decode(b, &lc), rep = 0, val = 0;
    if (s < 0) return -1;
    if (s < 16) { lens[i++] = (uint8_t)s; continue; }
    if (s == 16) { if (i == 0) return -1; val = lens[i - 1]; rep = 3 + (int)getbits(b, 2); }
    else if (s == 17) rep = 3 + (int)getbits(b, 3);
    else rep = 11 + (int)getbits(b, 7);
    if (i + rep > nlen + ndist) return -1;
    while (rep--) lens[i++] = (uint8_t)val;
  }
  build(&lit, lens, nlen);
  build(&dist, lens + nlen, ndist);
  return codes(b, o, &lit, &dist);
}

static int stored_block(bits *b, out *o) {
  b->buf = 0;
  b->n = 0;
  if (b->len - b->pos < 4) return -1;
  unsigned len = b->p[b->pos] | b->p[b->pos + 1] << 8;
  b->pos += 4;
  if (b->len - b->pos < len) return -1;
  for (unsigned i = 0; i < len; i++) if (put(o, b->p[b->pos + i])) return -1;
  b->pos += len;
  return 0;
}

/* One DEFLATE stream from b->pos; leaves b->pos after its last byte. */
static int inflate_stream(bits *b, out *o) {
  int last;
  do {
    last = (int)getbits(b, 1);
    int type = (int)getbits(b, 2), rc;
    if (type == 0) rc = stored_block(b, o);
    else if (type == 1) rc = fixed_block(b, o);
    else if (type == 2) rc = dynamic_block(b, o);
    else return -1;
    if (rc || b->bad) return -1;
  } while (!last);
  b->buf = 0;
  b->n = 0;
  return 0;
}

/* Skip a gzip member header; returns 0 or -1. */
static int gz_header(bits *b) {
  const uint8_t *p = b->p;
  if (b->len - b->pos < 10 || p[b->pos] != 0x1f || p[b->pos + 1] != 0x8b || p[b->pos + 2] != 8)
    return -1;
  int flg = p[b->pos + 3];
  b->pos += 10;
  if (flg & 4) {
    if (b->len - b->pos < 2) return -1;
    b->pos += 2 + (p[b->pos] | p[b->pos + 1] << 8);
  }
  for (int f = 8; f <= 16; f <<= 1)
    if (flg & f) { while (b->pos < b->len && p[b->pos]) b->pos++; b->pos++; }
  if (flg & 2) b->pos += 2;
  return b->pos <= b->len ? 0 : -1;
}

uint8_t *gz_inflate(const uint8_t *gz, size_t len, size_t *out_len) {
  bits b = {gz, len, 0, 0, 0, 0};
  out o = {NULL, 0, 0};
  if (put(&o, 0)) return NULL;
  o.len = 0;
  do {
    if (gz_header(&b) || inflate_stream(&b, &o) || b.len - b.pos < 8) { free(o.p); return NULL; }
    b.pos += 8;  /* CRC32 + ISIZE: not checked */
  } while (b.pos + 10 <= b.len);
  o.p[o.len] = 0;
  *out_len = o.len;
  return o.p;
}

uint8_t *read_file_maybe_gz(const char *path, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0, got;
  uint8_t *buf = malloc(cap + 1);
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      uint8_t *nb = realloc(buf, cap * 2 + 1);
      if (!nb) { free(buf); buf = NULL; break; }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (!buf) return NULL;
  size_t pl = strlen(path);
  if (pl > 3 && strcmp(path + pl - 3, ".gz") == 0) {
    uint8_t *text = gz_inflate(buf, n, out_len);
    free(buf);
    return text;
  }
  buf[n] = 0;
  *out_len = n;
  return buf;
}
