/*
** perf.h: kernel tracepoints as providers of a session (DESIGN §3b), the
** part of the Linux engine the shm session calls. A perf_set belongs to one
** session handle in the session's owner process: each enabled source
** ("tracepoint:GROUP:NAME") has one perf_event_open ring per CPU (or per
** thread of the `pids` given), and one bridge thread per set reads the
** rings, decodes each sample by the tracepoint's tracefs format and hands
** it to the session through a perf_sink as a TraceLogging event carrying
** the sample's time, pid, tid and cpu. The set ends with the session: at
** stop, at close, or when the bridge sees the session stopped elsewhere.
*/
#ifndef PERF_H
#define PERF_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* The header of an event the bridge writes: the sample's. */
typedef struct perf_hdr {
  uint64_t ticks;              /* in the session's clock (perf_sink.ticks) */
  uint32_t pid, tid, cpu;
  int fd_closed;               /* bridge-internal: the fd this sample opened was closed since */
  const uint8_t *pre;          /* bridge-internal: values read when the sample was drained */
  size_t pre_len;              /* (perf_map_preread), NULL/0: read them now */
} perf_hdr;

/* How the bridge reaches its session (implemented by the shm engine). */
typedef struct perf_sink {
  void *ctx;
  /* Write one event into this session only. ENG_OK / ENG_E_LOST / ... */
  int (*write)(void *ctx, const perf_hdr *h, const tlg_guid *provider, const uint8_t *traits,
               size_t traits_len, const tlg_desc *desc, const uint8_t *meta, size_t meta_len,
               const uint8_t *data, size_t data_len);
  /* n events the kernel dropped (PERF_RECORD_LOST): the session's loss count. */
  void (*lost)(void *ctx, uint64_t n);
  /* 1 once the session has stopped (from any process). */
  int (*stopped)(void *ctx);
  /* CLOCK_MONOTONIC ns -> the session's ticks (bridge thread only). */
  uint64_t (*ticks)(void *ctx, int64_t mono_ns);
  /* The watermark: every sample stamped before mono_ns was written (the
  ** bridge thread; never moves back); mono_ns < 0: now (any thread, rings
  ** just started); 0: no kernel source any more. */
  void (*mark)(void *ctx, int64_t mono_ns);
  uint32_t flush_ms;           /* longest a sample waits in a kernel ring */
  uint32_t flush_bytes;        /* wake the bridge when a ring holds this much (0 = a quarter) */
} perf_sink;

typedef struct perf_set perf_set;

/* Is `name` a kernel source this engine enables ("tracepoint:" prefix,
** compared ASCII-case-insensitively)? */
int perf_is_source(const char *name);

/* engine.h eng_kernel_sources (perf_list.c). */
int perf_list(int tracepoints, int (*fn)(void *ctx, const eng_source_info *in), void *ctx);

/* A new, empty set (no thread until the first enable). ENG_E_NOMEM. */
int perf_set_new(const perf_sink *sink, perf_set **out);

/* Enable source `name` with level/any/all (as eng_session_enable) and, if
** npids > 0, only for those processes (their threads at enable time). Again for the same name updates level/any/all and pids. Failures
** record their words with eng_detail_set: ENG_E_NOTFOUND (no such
** tracepoint), ENG_E_ACCESS (needs root or CAP_PERFMON; tracefs not
** readable or not mountable), ENG_E_ARG (malformed name, pid not running),
** ENG_E_IO, ENG_E_NOMEM. A failed enable leaves the set as it was. */
int perf_enable(perf_set *ps, const char *name, uint8_t level, uint64_t any, uint64_t all,
                const uint32_t *pids, size_t npids);

/* Stop source `name` (no-op when it is not enabled). */
int perf_disable(perf_set *ps, const char *name);

/* Stop the bridge (after it read what the rings hold), close every fd,
** free. NULL ok. */
void perf_set_free(perf_set *ps);

#endif
