/*
** lschema.h: manifest schemas for consumers (lschema.c): the Lua state's
** registry, etw.load_manifest, Consumer{manifests=} and the record source
** wrapper that attaches a manifest schema to each record it has one for.
*/
#ifndef LSCHEMA_H
#define LSCHEMA_H

#include <lua.h>

#include "rec_record.h"

/* Load the manifests named at idx (a path or a list; a directory means its
** *.man files, by name) into the state's registry, all or none. Returns
** ENG_OK and pushes a list of provider tables, or an eng_status with the
** reason ("FILE:LINE: rule") pushed. Raises for misuse (not paths). */
int etwL_schema_load(lua_State *L, int idx, const char *what);

struct etwL_schemas;

/* A consumer's schemas, in *out: the Lua state's manifest registry
** (ETWLUA_MANIFEST_PATH is loaded on first use) and built-in kernel MOF
** table, which live as long as the state, and the EventSource manifests
** the consumer's input carries. Returns ENG_OK, or an eng_status with the
** reason pushed (a bad manifest on the path). Free with etwL_schema_close. */
int etwL_schema_for(lua_State *L, struct etwL_schemas **out);
void etwL_schema_close(struct etwL_schemas *s);   /* NULL ok */

/* Every record of the consumer passes here, in order: an EventSource
** manifest record (event 0xFFFE, opcode 254) is taken into s; an event
** record that has no schema of its own gets one: a manifest event
** (EVENT_HEADER, no TraceLogging metadata, no TDH blob) or a kernel classic
** / system / perfinfo record. s may be NULL (nothing to do). */
void etwL_schema_attach(struct etwL_schemas *s, rec_record *rec);

void etwL_open_schema(lua_State *L);   /* stack: etw */

#endif
