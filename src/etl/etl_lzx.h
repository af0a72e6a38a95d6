/*
** etl_lzx.h: plain LZ77 ("LZXPRESS", [MS-XCA] §2.3-2.4) decompressor for
** compressed ETL buffers (shared/spec/etl-format.md §11). Pure function.
*/
#ifndef ETL_LZX_H
#define ETL_LZX_H

#include <stddef.h>
#include <stdint.h>

typedef enum etl_lzx_status {
  ETL_LZX_OK = 0,        /* input consumed cleanly, or output filled exactly */
  ETL_LZX_TRUNCATED,     /* input ends inside a flag word, literal or match */
  ETL_LZX_BAD_OFFSET,    /* a match reaches before the start of the output */
  ETL_LZX_BAD_LENGTH,    /* an extended match length below its minimum */
  ETL_LZX_OVERFLOW       /* a match runs past the output capacity */
} etl_lzx_status;

/* Decompress `in` into `out` (capacity `cap`). Stops with ETL_LZX_OK when
** the input ends at a token boundary or exactly `cap` bytes were produced.
** Always sets *out_len to the bytes written (a valid prefix on error) and
** *err_pos to the input offset of the failing token (0 on success).
** Never reads or writes outside the given ranges. */
etl_lzx_status etl_lzx_decompress(const uint8_t *in, size_t in_len, uint8_t *out,
                                  size_t cap, size_t *out_len, size_t *err_pos);

/* Message for a status; never NULL. */
const char *etl_lzx_strerror(etl_lzx_status s);

#endif
