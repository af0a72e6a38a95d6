/*
** lvalue.h: Lua values -> TraceLogging field values, shared by
** etw.EventBuilder (leventbuilder.c) and etw.EventTemplate (ltemplate.c),
** so both read a value by the same rules and raise the same messages.
*/
#ifndef LVALUE_H
#define LVALUE_H

#include <stddef.h>
#include <stdint.h>

#include "lauxetw.h"
#include "tlg_guid.h"

/* How a method reads its value (the Lua side of spec §2.4's value column). */
enum {
  K_INT,    /* Lua integer in [min, max] */
  K_U64,    /* any Lua integer (negative = same 64 bits) or a whole float < 2^64 */
  K_F32, K_F64,
  K_BOOL32, /* boolean (1/0) or an int32 */
  K_BYTES,  /* Lua string, written per InType */
  K_STR16,  /* Lua string holding UTF-8, written as UTF-16LE */
  K_GUID    /* GUID text */
};

/* One add_X method of the EventBuilder: its InType, value rule, default
** OutType, and whether it has an add_X_seq form. */
typedef struct etwL_method {
  const char *name;  /* "add_int32", ... */
  uint8_t intype, kind, out_type, has_seq;
  lua_Integer min, max;
  const char *range; /* K_INT: the rule shown in errors */
} etwL_method;

typedef struct etwL_value {
  uint64_t bits;
  const char *p;
  size_t n;
  tlg_guid g;
} etwL_value;

typedef struct etwL_errbuf { char s[96]; } etwL_errbuf;

/* The method add_<type> ("int32", "str8", ...; without "add_" or "_seq"),
** or NULL. */
const etwL_method *etwL_findmethod(const char *type, size_t len);

/* Read the value at idx by m's rule. Never raises; returns NULL or the rule
** broken (static, or in *e). */
const char *etwL_getvalue(lua_State *L, int idx, const etwL_method *m, etwL_value *v,
                          etwL_errbuf *e);

#endif
