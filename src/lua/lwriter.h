/*
** lwriter.h: etw.EventWriter (lwriter.c), and what etw.Consumer needs to
** run one as a handler without making an etw.Event per record.
*/
#ifndef LWRITER_H
#define LWRITER_H

#include <stdint.h>

#include "lauxetw.h"

#define ETWL_WRITER "etw.EventWriter"

typedef struct lwriter lwriter;

/* Registers the metatable and etw.EventWriter; stack: etw. */
void etwL_open_writer(lua_State *L);

/* The writer at idx, or NULL when the value is something else. */
lwriter *etwL_testwriter(lua_State *L, int idx);

/* Write `rec` with the writer at stack index widx, as w(ev) would write
** its etw.Event. (owner, serial) names the record: a writer registered
** under several filters of one consumer writes a record once. Returns 1
** when the consumer should stop (max_events written, or a write failed),
** else 0. May call Lua (filter, on_no_schema) and raise. */
int etwL_writer_record(lua_State *L, int widx, const rec_record *rec, const void *owner,
                       uint64_t serial);

#endif
