/*
** tlg_dtoa.h: the text of a float for the JSON writer, fast. The rule is
** the one tlg_json has always printed: "%.*g" at the smallest precision
** from 15 (6 for float32) up to 17 whose text reads back to the same value
** (as a float32 when `f32`), with '.' as the decimal point whatever the
** locale. Most values (those that 15, or 6, significant digits hold) are
** printed without printf; the rest go through snprintf and strtod as before.
*/
#ifndef TLG_DTOA_H
#define TLG_DTOA_H

#include <stddef.h>

#define TLG_DTOA_SIZE 40 /* enough for any output, with its NUL */

/* The text of finite `v` in out (NUL-terminated); returns its length. Bytes of out
** past the NUL may be overwritten too (scratch). */
size_t tlg_dtoa(char out[TLG_DTOA_SIZE], double v, int f32);

#endif
