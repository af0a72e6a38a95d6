/*
** tlg_hash.h: the one hash of byte strings used as cache keys (metadata
** shapes, TDH schemas). It only has to spread: every user confirms a hit
** byte for byte. Reads 8 bytes at a time; `seed` lets a caller hash a
** prefix of a longer blob and still tell lengths apart.
*/
#ifndef TLG_HASH_H
#define TLG_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t tlg_hash_bytes(const uint8_t *p, size_t n, uint64_t seed) {
  uint64_t h = 0x9E3779B97F4A7C15u ^ seed, w;
  for (; n >= 8; p += 8, n -= 8) {
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDu;
    h ^= h >> 32;
  }
  w = 0;
  memcpy(&w, p, n);
  h = (h ^ w) * 0xC4CEB9FE1A85EC53u;
  return h ^ (h >> 29);
}

#endif
