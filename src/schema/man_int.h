/*
** man_int.h: the in-memory model of an instrumentation manifest between
** parsing (man_parse.c, expat) and compiling (man_compile.c, TEI blobs).
** Everything lives in one arena freed with the manifest.
*/
#ifndef MAN_INT_H
#define MAN_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"

typedef struct ablock {
  struct ablock *next;
  size_t used, cap;
  _Alignas(max_align_t) unsigned char mem[];
} ablock;

typedef struct arena {
  ablock *head;
  size_t total;                  /* bytes allocated, for the memory bound */
} arena;

void *ar_alloc(arena *a, size_t n);          /* zeroed; NULL when out of memory */
char *ar_strdup(arena *a, const char *s);
void ar_free(arena *a);

/* a named value: task, opcode, level, keyword, channel */
typedef struct mnamed {
  const char *name, *msg;        /* msg: the raw message attribute, "$(string.X)" or NULL */
  uint64_t value;
  int has_value;
  uint32_t line;
  struct mnamed *next;
  struct mnamed *sub, *sub_last; /* a task's own opcodes */
} mnamed;

typedef struct mmapent {
  uint64_t value;
  const char *msg;
  struct mmapent *next;
} mmapent;

typedef struct mmap {
  const char *name;
  int bitmap;
  uint32_t n, line;
  mmapent *first, *last;
  struct mmap *next;
} mmap;

typedef struct mdata {
  const char *name, *intype, *outtype, *map, *length, *count;
  int is_struct;
  uint32_t line;
  struct mdata *next, *first, *last, *parent;
  uint32_t nmembers;
  uint32_t idx, mstart;          /* assigned while compiling */
} mdata;

typedef struct mtemplate {
  const char *tid;
  uint32_t line, nprops;
  mdata *first, *last;
  struct mtemplate *next;
  uint8_t *body;                 /* compiled: EPI array + its strings and maps */
  uint32_t body_len;
  int state;                     /* 0 not compiled, 1 compiled */
} mtemplate;

typedef struct mevent {
  const char *value, *version, *task, *opcode, *level, *keywords, *channel, *tmpl, *symbol,
      *message, *name;
  uint32_t line;
  struct mevent *next;
} mevent;

typedef struct mprov {
  const char *name, *guid, *symbol, *message;
  uint8_t guid_b[16];
  uint32_t line;
  size_t nevents;
  mevent *events, *events_last;
  mnamed *tasks, *tasks_last, *opcodes, *opcodes_last, *levels, *levels_last, *keywords,
      *keywords_last, *channels, *channels_last;
  mmap *maps, *maps_last;
  mtemplate *templates, *templates_last;
  struct mprov *next;
} mprov;

typedef struct mstring {
  const char *id, *value;
  struct mstring *next;
} mstring;

/* (scope, name) -> pointer, first definition wins */
typedef struct nslot {
  const void *scope;
  const char *name;
  void *val;
} nslot;
typedef struct ntab {
  nslot *s;
  size_t cap, n;
} ntab;
int ntab_put(ntab *t, const void *scope, const char *name, void *val);   /* 0, -1 no memory */
void *ntab_get(const ntab *t, const void *scope, const char *name);
void ntab_free(ntab *t);

struct schema_man {
  arena ar;
  const char *file;
  mprov *provs, *provs_last;
  size_t nprovs;
  mstring *strings, *strings_last;
  ntab names;                    /* strings, tasks, opcodes, ... by scope */
  schema_event *events;
  size_t nevents, cap_events;
  size_t blob_bytes;
  mprov **prov_index;
  size_t *prov_nevents;
};

/* man_compile.c: resolve names and build every event's blob. 0 or -1 with err. */
int man_compile(schema_man *m, char *err, size_t cap);

/* "FILE:LINE: " + message into err */
void man_err(char *err, size_t cap, const char *file, unsigned long line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Unsigned number: decimal or 0x hex, surrounding blanks allowed. 0 / -1. */
int man_number(const char *s, uint64_t *out);

#endif
