/*
** tlg_format.h: text forms of decoded TraceLogging values: UTF-16 to UTF-8,
** SID and time text, JSON and one-line text of an event's fields.
** Pure C: output goes to a caller-supplied sink; no allocation.
*/
#ifndef TLG_FORMAT_H
#define TLG_FORMAT_H

#include "tlg_decode.h"
#include "tlg_json.h"

enum tlg_fmt_mode {
  TLG_FMT_JSON = 0, /* a JSON object / value; see tlg_fmt_fields */
  TLG_FMT_TEXT = 1  /* one human line: a=1 s="x" st={b=2} arr=[1,2] */
};

/* UTF-16LE bytes to UTF-8, unescaped. Unpaired surrogates and an odd last
** byte become U+FFFD. */
void tlg_fmt_utf16(const tlg_sink *o, const uint8_t *p, size_t n);

/* A quoted JSON string of 8-bit text: valid UTF-8 is kept; any byte that is
** not part of a valid UTF-8 sequence is read as Windows-1252 (what ANSI
** strings with OutType 0 usually are). Escapes ", \ and controls. */
void tlg_fmt_json_string(const tlg_sink *o, const char *p, size_t n);

/* SID text form "S-1-5-21-..." (authority in hex when >= 2^32, as Windows
** does). `n` must be at least 8 + 4 * p[1]; shorter input prints "S-?". */
void tlg_fmt_sid(const tlg_sink *o, const uint8_t *p, size_t n);

/* FILETIME as ISO 8601 UTC, "2024-01-02T03:04:05.1234567Z" (all 7 digits, so
** it is exact); values outside 1601..9999 print as a decimal integer. */
void tlg_fmt_filetime(const tlg_sink *o, int64_t ft);
/* The same into a JSON writer; quoted when mode is TLG_FMT_JSON. The cache
** (NULL for none; secs = -1 at first) keeps the date and time of day of
** the last second written, for a run of timestamps. */
#define TLG_FT_DATE 19 /* "YYYY-MM-DDThh:mm:ss" */
typedef struct tlg_ft_cache {
  int64_t secs;
  char date[TLG_FT_DATE];
} tlg_ft_cache;
void tlg_fmt_filetime_to(tlg_json *w, int64_t ft, int mode, tlg_ft_cache *c);

/* One VALUE item. JSON: integers are numbers when |v| <= 2^53, else decimal
** strings; floats are the shortest text that reads back to the same float32/
** float64; NaN/inf are the strings "nan", "inf", "-inf"; bool32 and 8-bit
** ints with OutType BOOLEAN are true/false; strings are UTF-8 (UTF-16 converted);
** binary, cbinary and custom values are lowercase hex strings; GUIDs and SIDs
** are their text form; FILETIME and SYSTEMTIME are ISO 8601 strings
** (SYSTEMTIME: "YYYY-MM-DDTHH:MM:SS.mmm", with "Z" when OutType is
** DATETIME_UTC). TEXT: the same, but numbers are never quoted, hexint and
** OutType HEX print as 0x..., binary as 0x..., and only strings are quoted. */
void tlg_fmt_value(const tlg_sink *o, const tlg_item *it, int mode);

/* Every remaining item of a started decoder. JSON: an object in metadata
** order, {"a":1,"st":{"b":2},"arr":[1,2]} (duplicate names are written as
** they come); TEXT: `a=1 st={b=2} arr=[1,2]`. On a decoding error the open
** brackets are closed, so the output is always well-formed. Returns the
** decoder status (TLG_OK or the error). */
int tlg_fmt_fields(const tlg_sink *o, tlg_decoder *d, int mode);
/* The same into a JSON writer (no flush: the caller's line stays whole).
** Events of scalar fields only are written straight from their bytes; the
** rest through tlg_fmt_fields_walk, which walks the decoder's items (the
** same text: test_tlg_format compares the two). */
int tlg_fmt_fields_to(tlg_json *w, tlg_decoder *d, int mode);
int tlg_fmt_fields_walk(tlg_json *w, tlg_decoder *d, int mode);
/* The straight way alone: 1 when it wrote the fields (the decoder is then
** at its clean end), 0 when it wrote nothing and left the decoder as it was. */
int tlg_fmt_fields_flat(tlg_json *w, tlg_decoder *d, int mode);

/* The last shape the straight way wrote: its fields' metadata bytes (the
** key: the same bytes make the same names and types) and, per field, the
** types, how its value is written (kind: a plain integer, boolean, float or
** 8-bit string of this mode, written without the generic value dispatch;
** 0 for the rest), its size when fixed, and the text before the value
** (separator and name, escaped), so that a run of events of one shape
** skips the name scan. One entry: other shapes replace it (zero it to
** start; shapes that do not fit are not kept). */
#define TLG_SHAPE_META 256
#define TLG_SHAPE_FIELDS 32
typedef struct tlg_shape_cache {
  uint32_t meta_len;  /* 0: empty */
  uint8_t mode, nfields;
  uint8_t meta[TLG_SHAPE_META];
  struct { uint8_t in_type, out_type, kind, size; uint16_t key_end; } f[TLG_SHAPE_FIELDS];
  char keys[8 * TLG_SHAPE_META]; /* field i: keys[f[i-1].key_end, f[i].key_end) */
} tlg_shape_cache;
/* tlg_fmt_fields_to and tlg_fmt_fields_flat through a cache (NULL: none). */
int tlg_fmt_fields_to_c(tlg_json *w, tlg_decoder *d, int mode, tlg_shape_cache *c);
int tlg_fmt_fields_flat_c(tlg_json *w, tlg_decoder *d, int mode, tlg_shape_cache *c);

/* "TLG_E_TRUNCATED: blob ends inside an item at field 3 ('name')" for a
** stopped decoder (field numbers 1-based); nothing when its status is TLG_OK. */
void tlg_fmt_error(const tlg_sink *o, const tlg_decoder *d);

#endif
