/*
** schema.h: event schemas from instrumentation manifests (XML, parsed with
** expat), compiled into TRACE_EVENT_INFO-layout blobs so the one TDH
** property walker (win_tdh_walk.c) and formatter decode manifest events
** exactly as it decodes what TdhGetEventInformation returns on Windows.
** Pure: no Lua, no engine; the only I/O is reading a manifest file into
** memory (schema_man_parse_file).
**
** Lookup order for a record (the consumer's attach step, lschema.c):
** manifests loaded here for EVENT_HEADER records; EventSource manifests
** carried in the trace (event 65534, to be compiled by the same man_* code
** into the same registry under the EventSource's provider id: not done
** yet); the kernel logger's MOF table (man_kernel.c, keyed by group GUID,
** type, version; the pointer size comes from the record) for classic /
** system / perfinfo records.
*/
#ifndef SCHEMA_H
#define SCHEMA_H

#include <stddef.h>
#include <stdint.h>

/* Limits that keep hostile manifests bounded (errors name them). */
#define SCHEMA_MAX_FILE      (64u * 1024 * 1024)   /* bytes of one manifest */
#define SCHEMA_MAX_DEPTH     64                    /* XML element nesting */
#define SCHEMA_MAX_EVENTS    100000                /* events of one manifest */
#define SCHEMA_MAX_PROPS     4096                  /* properties of one template, structs included */
#define SCHEMA_MAX_STRUCT    8                     /* struct nesting inside a template */

/* A parsed manifest: every event compiled. */
typedef struct schema_man schema_man;

typedef struct schema_event {
  uint8_t provider[16];          /* GUID, Windows memory order */
  uint16_t id;
  uint8_t version;
  const uint8_t *blob;           /* TRACE_EVENT_INFO layout (+ value maps), owned by the man */
  uint32_t len;
  uint8_t *owned;                /* the same bytes, for freeing */
} schema_event;

/* Parse and compile `len` bytes of manifest XML; `name` (the file) is used in
** error messages. 0 and *out, or -1 with err = "NAME:LINE: rule". */
int schema_man_parse(const char *name, const void *xml, size_t len, schema_man **out, char *err,
                     size_t cap);
/* Same for a file (read whole, at most SCHEMA_MAX_FILE bytes). */
int schema_man_parse_file(const char *path, schema_man **out, char *err, size_t cap);
void schema_man_free(schema_man *m);   /* NULL ok */

size_t schema_man_provider_count(const schema_man *m);
/* Provider i: name (UTF-8), guid (16 bytes), number of events. */
void schema_man_provider(const schema_man *m, size_t i, const char **name, const uint8_t **guid,
                         size_t *nevents);
size_t schema_man_event_count(const schema_man *m);
const schema_event *schema_man_event(const schema_man *m, size_t i);

/* ---- registry: (provider GUID, id, version) -> blob ---- */

typedef struct schema_reg schema_reg;
schema_reg *schema_reg_new(void);
void schema_reg_free(schema_reg *r);   /* NULL ok */

/* Take over every event of `m` (and `m` itself: freed with the registry).
** A key already defined by an earlier manifest with a different blob is
** replaced (the later wins); the first such replacement is described in
** warn ("FILE redefines N events of earlier manifests, e.g. PROVIDER/ID/VER
** (first from FILE0); the later definitions are used"), else warn[0] = 0.
** 0, or -1 when out of memory (nothing taken; `m` stays the caller's). */
int schema_reg_add(schema_reg *r, schema_man *m, const char *file, char *warn, size_t cap);

/* The blob for a record's key, or NULL. Blobs stay valid until the
** registry is freed (replaced ones too). */
const uint8_t *schema_reg_find(const schema_reg *r, const uint8_t provider[16], uint16_t id,
                               uint8_t version, uint32_t *len);
size_t schema_reg_count(const schema_reg *r);

/* value maps carried in a compiled blob: schema_map.h */
#include "schema_map.h"

/* ---- built-in tables (man_kernel.c, sch_names.c) ---- */

/* The NT kernel logger's MOF classes (classic / system / perfinfo records),
** compiled by the manifest loader into a registry keyed by (group GUID,
** event type, version): look a record up with its type (opcode) as the id.
** NULL with err when out of memory. */
schema_reg *schema_kernel_reg(char *err, size_t cap);
int schema_kernel_man(schema_man **out, char *err, size_t cap);
const uint8_t *schema_kernel_find(const schema_reg *kernel, const uint8_t group[16], uint8_t type,
                                  uint8_t version, uint32_t *len);

/* The name of a well-known provider (kernel classes: MSNT_SystemTrace), or
** NULL. */
const char *schema_provider_name(const uint8_t guid[16]);

#endif
