/*
** perf_named.h: the named kernel providers (Linux-Kernel-Process, ...):
** which tracepoints each maps, to which event names, keywords and fields
** (the Windows kernel providers' names where there is one). The table is
** data (perf_named.c); the README's "System events" table mirrors it.
*/
#ifndef PERF_NAMED_H
#define PERF_NAMED_H

#include <stddef.h>
#include <stdint.h>

#include "perf.h"
#include "tp_format.h"

/* Where a mapped field's value comes from. */
enum perf_src_kind {
  PERF_F_INT = 0,       /* the tracepoint's integer field `from`, as u32 */
  PERF_F_STR,           /* its string field `from` */
  PERF_F_SAMPLE_PID,    /* the sample's process id */
  PERF_F_SAMPLE_TID,    /* the sample's thread id */
  PERF_F_CMDLINE,       /* /proc/PID/cmdline of integer field `from` (PID), args joined by ' ' */
  PERF_F_PARENT,        /* parent process id of integer field `from` (fork seen, else /proc) */
  PERF_F_EXITCODE,      /* exit code of the sample's process (exit_group seen, else /proc) */
  PERF_F_NOTE_PARENT,   /* remember: process `from` was started by the sample's process */
  PERF_F_NOTE_EXIT,     /* remember: the sample's process exits with code `from` */
  PERF_F_FDPATH,        /* the path of the sample process's fd `from` (/proc/PID/fd/N) */
  PERF_F_U16,           /* the integer field `from`, as u16 */
  PERF_F_ADDR,          /* address text of u8 array `from` (family 2) or `from`_v6 (10) */
  PERF_F_UPATH          /* the path string at user pointer `from` in the sample's process,
                        ** made absolute against its dfd field (perf_named.c upath) */
};

/* A condition on a tracepoint's integer field. */
enum perf_cond_op {
  PERF_C_NONE = 0,
  PERF_C_NONZERO,       /* field != 0 */
  PERF_C_EQ,            /* field == value */
  PERF_C_BITS_SET,      /* field & value == value */
  PERF_C_BITS_CLEAR,    /* field & value == 0 */
  PERF_C_NONNEG         /* (signed) field >= 0 */
};

typedef struct perf_cond {
  uint8_t op;           /* perf_cond_op */
  const char *field;
  uint64_t value;
} perf_cond;

#define PERF_MAP_CONDS 3

typedef struct perf_field_map {
  const char *name;     /* TraceLogging field name */
  uint8_t kind;         /* perf_src_kind */
  const char *from;     /* tracepoint field, where the kind reads one */
} perf_field_map;

#define PERF_MAP_FIELDS 6

typedef struct perf_map {
  const char *event;    /* event name, NULL: state only (not written) */
  const char *group, *tracepoint;
  uint8_t level, opcode;
  uint64_t keyword;
  int optional;         /* skipped where the kernel lacks the tracepoint */
  perf_cond conds[PERF_MAP_CONDS];   /* all must hold, else the sample is not this event */
  perf_field_map fields[PERF_MAP_FIELDS];
} perf_map;

typedef struct perf_named {
  const char *name;
  const perf_map *maps;
  unsigned nmaps;
} perf_named;

/* The named provider `name` (ASCII-case-insensitive), or NULL. */
const perf_named *perf_named_find(const char *name);
/* Every named provider, NULL-terminated (etwlua providers). */
const perf_named *const *perf_named_all(void);

/* Does format f have every field m reads? 0 yes, -1 no. */
int perf_map_check(const perf_map *m, const tpf_format *f);

/* Add m's fields for one sample to b. Returns 0, 1 when the sample is not
** this event (a condition fails) or m is state only, -1 when b refused a field. */
int perf_map_fields(const perf_map *m, const tpf_format *f, const perf_hdr *h, const uint8_t *raw,
                    size_t len, tlg_builder *b);

/* Does m have values that must be read from the process soon (command
** line, user-memory paths)? Its rings then wake the bridge at each sample. */
int perf_map_live(const perf_map *m);

/* Read those values now, while the process most likely still runs, into
** out (u16 length + bytes each, in field order): the bytes used (0 if m has
** none or cap is too small). perf_map_fields takes them from h->pre. */
size_t perf_map_preread(const perf_map *m, const tpf_format *f, uint32_t pid, const uint8_t *raw,
                        size_t len, uint8_t *out, size_t cap);

/* Does m open a file descriptor (fields read its path)? Its number in *fd. */
int perf_map_opens(const perf_map *m, const tpf_format *f, const uint8_t *raw, size_t len,
                   uint32_t *fd);
/* Does m close a file descriptor? Its number in *fd. */
int perf_map_closes(const perf_map *m, const tpf_format *f, const uint8_t *raw, size_t len,
                    uint32_t *fd);

#endif
