/*
** perf_int.h: internals of engine/perf (prefix perf_, hidden visibility).
** perf_tracefs.c: tracefs and format files; perf_ring.c: one perf mmap
** ring; perf_set.c: sources and the bridge thread.
*/
#ifndef PERF_INT_H
#define PERF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "perf.h"
#include "tp_format.h"

#if defined(__GNUC__)
#define PERF_HIDDEN __attribute__((visibility("hidden")))
#else
#define PERF_HIDDEN
#endif

#define PERF_PATH_MAX 1024

/* ========================================================== perf_tracefs.c */

/* The tracefs directory into out (mounted if needed and we may). ENG_OK, or
** ENG_E_NOTFOUND / ENG_E_ACCESS with eng_detail_set. */
PERF_HIDDEN int perf_tracefs(char *out, size_t cap);
/* /proc/sys/kernel/perf_event_paranoid, or -100 if unreadable. */
PERF_HIDDEN int perf_paranoid(void);
/* Read and parse events/GROUP/NAME/format. ENG_OK, or ENG_E_ARG /
** ENG_E_NOTFOUND / ENG_E_ACCESS / ENG_E_IO / ENG_E_NOMEM with detail. */
PERF_HIDDEN int perf_read_format(const char *group, const char *name, tpf_format *out);

/* ============================================================ perf_ring.c */

/* One perf event fd with its mmap ring. */
typedef struct perf_ring {
  int fd;
  void *map;
  size_t map_len;
  uint8_t *data;
  uint64_t size;                    /* data bytes, a power of two */
} perf_ring;

/* What a ring holds, record by record. */
typedef struct perf_rec {
  uint32_t type;                    /* PERF_RECORD_* */
  const uint8_t *body;              /* after the perf_event_header */
  size_t len;
} perf_rec;

/* Open tracepoint `id` for task `pid` (-1 = all) on `cpu` (-1 = any) with
** its ring of `pages` data pages (a power of two; fewer when the kernel
** refuses that many), waking the reader when it holds flush_bytes (0: a
** quarter; 1: at every sample), not yet counting. Returns 0 or an errno. */
PERF_HIDDEN int perf_ring_open(perf_ring *r, uint32_t id, int pid, int cpu, uint32_t pages,
                               uint32_t flush_bytes);
PERF_HIDDEN void perf_ring_close(perf_ring *r);
/* Start counting: samples arrive from now on. 0 or an errno. */
PERF_HIDDEN int perf_ring_start(perf_ring *r);
/* Stop new samples (the ring stays readable). */
PERF_HIDDEN void perf_ring_pause(perf_ring *r);
/* Hand each complete record in the ring to fn (tmp: 64 KB for records that
** wrap), then free their room. Returns the records read. */
PERF_HIDDEN unsigned perf_ring_drain(perf_ring *r, uint8_t *tmp,
                                     void (*fn)(void *ctx, const perf_rec *rec), void *ctx);

/* ============================================================ perf_fast.c */

#define PERF_FAST_MAX 4096            /* data bytes of one fast-path sample at most */

typedef struct perf_fast_op {
  uint16_t off, size, count;
  uint8_t counted;                    /* an array: its u16 count first */
} perf_fast_op;

/* A raw tracepoint's payload as copies (state 1), or not (-1; 0 = not yet
** looked at: learn from the first sample the builder decoded). */
typedef struct perf_fast {
  int state;
  uint8_t *meta;
  size_t meta_len, min_len, data_len;
  unsigned nops;
  perf_fast_op ops[TPF_MAX_FIELDS];
} perf_fast;

/* Learn the plan of format f from one sample the builder turned into
** (meta, data); state 1 only if the plan gives the same bytes. */
PERF_HIDDEN void perf_fast_learn(perf_fast *fp, const tpf_format *f, const uint8_t *raw,
                                 size_t len, const uint8_t *meta, size_t meta_len,
                                 const uint8_t *data, size_t data_len);
/* The payload of a sample into out (PERF_FAST_MAX bytes): its length, or 0
** when the sample is too short for the plan (decode it with the builder). */
PERF_HIDDEN size_t perf_fast_data(const perf_fast *fp, const uint8_t *raw, size_t len,
                                  uint8_t *out);
PERF_HIDDEN void perf_fast_free(perf_fast *fp);

#endif
