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

/* The Lua state's schemas for a consumer: the manifest registry
** (ETWLUA_MANIFEST_PATH is loaded on first use) and the built-in kernel MOF
** table, in *out. Returns ENG_OK, or an eng_status with the reason pushed (a
** bad manifest on the path). They live as long as the state. */
int etwL_schema_for(lua_State *L, const struct etwL_schemas **out);

/* Attach a schema to an event record that has none of its own: a manifest
** event (EVENT_HEADER, no TraceLogging metadata, no TDH blob) or a kernel
** classic / system / perfinfo record. g may be NULL (nothing to do). */
void etwL_schema_attach(const struct etwL_schemas *g, rec_record *rec);

void etwL_open_schema(lua_State *L);   /* stack: etw */

#endif
