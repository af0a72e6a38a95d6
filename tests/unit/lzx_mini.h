/*
** lzx_mini.h: a plain LZ77 ([MS-XCA] §2.3) compressor, so the tests can
** build compressed ETL buffers and round-trip the reader's decompressor.
** Test support code; not part of etwlua (the reader never compresses).
*/
#ifndef LZX_MINI_H
#define LZX_MINI_H

#include <stddef.h>
#include <stdint.h>

/* Compress `in` into `out` (capacity `cap`; in_len + in_len/8 + 16 is
** always enough). `max_len` caps match lengths (>= 3; use a huge value for
** no cap) so tests can exercise every length encoding. Returns the
** compressed size, or 0 if `cap` is too small. */
size_t lzx_compress(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                    size_t max_len);

#endif
