/*
** tlg_guid.h: GUID text form, provider id from name (ETW name hash),
** and the 16-byte EVENT_DESCRIPTOR packing. Pure functions.
*/
#ifndef TLG_GUID_H
#define TLG_GUID_H

#include "tlg_types.h"

#define TLG_GUID_TEXT 37 /* 36 characters + NUL */

/* Canonical text form: lowercase, no braces, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
** `out` must hold TLG_GUID_TEXT bytes. */
void tlg_guid_format(const tlg_guid *g, char out[TLG_GUID_TEXT]);

/* Parse the canonical form, upper or lower case, with or without {braces}.
** Returns TLG_OK or TLG_E_ARG; `g` is written only on success. */
int tlg_guid_parse(const char *text, size_t len, tlg_guid *g);

/* Provider id from a UTF-8 name (spec §5): upper-case, UTF-16BE, SHA-1
** over the namespace + name, version nibble 5. Upper-casing follows Python's
** str.upper() for ASCII and the simple per-character mapping used by Windows
** otherwise. Returns TLG_E_ARG when `name` is not valid UTF-8. */
int tlg_provider_id(const char *name, size_t len, tlg_guid *out);

/* SHA-1 of a byte string (used by tlg_provider_id). */
void tlg_sha1(const void *data, size_t len, uint8_t digest[20]);

/* Streaming SHA-1, for hashing namespace + name without a copy. */
typedef struct tlg_sha1_ctx {
  uint32_t h[5];
  uint64_t total;
  uint8_t block[64];
  size_t used;
} tlg_sha1_ctx;
void tlg_sha1_init(tlg_sha1_ctx *c);
void tlg_sha1_update(tlg_sha1_ctx *c, const void *data, size_t len);
void tlg_sha1_final(tlg_sha1_ctx *c, uint8_t digest[20]);

/* The 16 bytes of an EVENT_DESCRIPTOR, little-endian (spec §3.1). */
void tlg_desc_pack(const tlg_desc *d, uint8_t out[16]);
void tlg_desc_unpack(const uint8_t in[16], tlg_desc *d);

#endif
