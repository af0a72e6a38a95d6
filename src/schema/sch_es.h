/*
** sch_es.h: EventSource manifests carried in a trace. A .NET EventSource
** writes its own instrumentation manifest as event 0xFFFE, opcode 254, in
** one or more chunks; each chunk's payload is an 8-byte envelope
**   u8 Format (1: XML), u8 MajorVersion, u8 MinorVersion, u8 Magic (0x5B),
**   u16 TotalChunks, u16 ChunkNumber (0-based)
** followed by that chunk's share of the XML. sch_es puts the chunks of each
** provider back together; the caller compiles the XML with the manifest
** loader (schema.h). Pure: no Lua, no I/O; never trusts a byte; bounded
** memory (the limits below).
*/
#ifndef SCH_ES_H
#define SCH_ES_H

#include <stddef.h>
#include <stdint.h>

#define SCH_ES_EVENT_ID 0xFFFE
#define SCH_ES_OPCODE 254
#define SCH_ES_ENVELOPE 8
#define SCH_ES_MAGIC 0x5B
#define SCH_ES_MAX_MANIFEST (16u * 1024 * 1024)   /* bytes of one manifest */
#define SCH_ES_MAX_TOTAL (64u * 1024 * 1024)      /* bytes of all manifests one reader takes */
#define SCH_ES_MAX_PROVIDERS 1024                 /* EventSource providers one reader follows */

typedef struct sch_es sch_es;

enum sch_es_result {
  SCH_ES_MORE = 0,          /* chunk kept; the manifest is not complete yet */
  SCH_ES_DONE = 1,          /* complete: *xml / *len hold it */
  SCH_ES_SAME = 2,          /* complete, and byte for byte the provider's last one */
  SCH_ES_ERROR = -1,        /* err says why; the first error of this provider */
  SCH_ES_ERROR_AGAIN = -2   /* the same, for a provider that already had one */
};

sch_es *sch_es_new(void);   /* NULL when out of memory */
void sch_es_free(sch_es *s);   /* NULL ok */

/* One 0xFFFE / 254 record of `provider`: payload p, n bytes. On SCH_ES_DONE
** the manifest's XML is *xml / *len, valid until the next call. A chunk 0
** starts the provider's manifest anew; a chunk out of order, a bad
** envelope or a manifest over the limits drops what was collected and is an
** error (err: "chunk 2 of 3: ..."); reading goes on with the next chunk 0.
** A new chunk 0 while an earlier manifest is incomplete reports the
** incomplete one (SCH_ES_ERROR...) unless the new one completes at once. */
int sch_es_add(sch_es *s, const uint8_t provider[16], const uint8_t *p, size_t n,
               const uint8_t **xml, size_t *len, char *err, size_t cap);

#endif
