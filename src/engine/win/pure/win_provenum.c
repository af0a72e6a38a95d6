/*
** win_provenum.c: a provider name in TdhEnumerateProviders' blob
** (PROVIDER_ENUMERATION_INFO), with every offset checked: the blob comes
** from the system, but a walker that trusts offsets is one bad blob from
** reading past its end.
*/
#include <string.h>

#include "winp.h"

static unsigned fold(unsigned c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Does the NUL-terminated UTF-16LE name at blob[off..len) equal want[0..n)? */
static int name_equal(const uint8_t *blob, size_t len, uint32_t off, const uint8_t *want,
                      size_t n) {
  if (off < WINP_PEI_HEAD || off > len || (len - off) / 2 < n + 1) return 0;
  const uint8_t *p = blob + off;
  for (size_t i = 0; i < n; i++)
    if (fold(tlg_le16(p + 2 * i)) != fold(tlg_le16(want + 2 * i))) return 0;
  return tlg_le16(p + 2 * n) == 0;
}

int winp_provenum_find(const uint8_t *blob, size_t len, const char *name, size_t name_len,
                       uint8_t out[16]) {
  uint8_t want[2 * 512];
  if (!blob || len < WINP_PEI_HEAD || !name || name_len == 0) return -1;
  long n = tlg_utf8_to_utf16(name, name_len, want, sizeof want / 2, NULL);
  if (n <= 0) return -1;
  uint64_t count = tlg_le32(blob);
  uint64_t fits = (len - WINP_PEI_HEAD) / WINP_TPI_SIZE;
  if (count > fits) count = fits;
  const uint8_t *found = NULL;
  for (uint64_t i = 0; i < count; i++) {
    const uint8_t *e = blob + WINP_PEI_HEAD + i * WINP_TPI_SIZE;
    if (!name_equal(blob, len, tlg_le32(e + WINP_TPI_OFF_NAME), want, (size_t)n)) continue;
    if (tlg_le32(e + WINP_TPI_OFF_SOURCE) == 0) { found = e; break; }
    if (!found) found = e;
  }
  if (!found) return -1;
  memcpy(out, found, 16);
  return 0;
}
