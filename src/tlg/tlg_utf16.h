/*
** tlg_utf16.h: the one UTF-16LE <-> UTF-8 conversion of etwlua (tlg_utf16.c),
** used by the TraceLogging codec, the ETL reader and writer, and the ETW
** backend. One policy everywhere:
**   decode (UTF-16LE -> UTF-8) never fails: a surrogate pair is one code
**     point; an unpaired surrogate, and an odd last byte, become U+FFFD.
**   encode (UTF-8 -> UTF-16LE) is strict (tlg_utf8_next): overlong forms,
**     encoded surrogates, values above U+10FFFF and stray bytes are
**     rejected, never repaired.
*/
#ifndef TLG_UTF16_H
#define TLG_UTF16_H

#include <stddef.h>
#include <stdint.h>

#define TLG_REPLACEMENT_CHAR 0xFFFDu

/* The code point at p (n > 0 bytes of UTF-16LE). Returns the bytes it took:
** 4 for a surrogate pair, 2 for one unit (an unpaired surrogate gives
** U+FFFD), 1 for an odd last byte (U+FFFD). */
size_t tlg_utf16_next(const uint8_t *p, size_t n, uint32_t *cp);

/* cp (<= U+10FFFF, not a surrogate) as UTF-8 / as UTF-16LE into out;
** returns the bytes written (UTF-8: 1..4; UTF-16: 2 or 4). */
size_t tlg_utf8_put(uint32_t cp, uint8_t out[4]);
size_t tlg_utf16_put(uint32_t cp, uint8_t out[4]);

/* `units` UTF-16LE units at in, up to the first NUL unit, as UTF-8 into
** out: NUL-terminated, cut before the first code point that does not fit
** in cap - 1 bytes. Returns the bytes written before the NUL (0 if cap is 0,
** which writes nothing). cap >= 3 * units + 1 always holds everything. */
size_t tlg_utf16_to_utf8(const uint8_t *in, size_t units, char *out, size_t cap);

/* len bytes of UTF-8 at s as UTF-16LE into out (no NUL written). With
** used == NULL: every code point or nothing: returns the units, or -1 when
** s is not valid UTF-8 or needs more than cap_units. With used != NULL:
** whole code points while they fit; *used = the bytes converted (< len
** when out ran out of room); -1 when invalid UTF-8 is met before that. */
long tlg_utf8_to_utf16(const char *s, size_t len, uint8_t *out, size_t cap_units, size_t *used);

#endif
