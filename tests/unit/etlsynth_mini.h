/*
** etlsynth_mini.h: builds small synthetic ETL files for the reader tests and
** the fuzz seed corpus (layouts of shared/spec/etl-format.md): a header
** buffer with EventTrace/Header (32- or 64-bit layout), then event buffers
** holding any record type, optionally LZ77-compressed (relogger style).
** Test support code; not part of etwlua.
*/
#ifndef ETLSYNTH_MINI_H
#define ETLSYNTH_MINI_H

#include <stddef.h>
#include <stdint.h>

#include "tlg_types.h"

typedef struct synth_ext {
  uint16_t type;
  const void *data;
  uint16_t len;
} synth_ext;

typedef struct synth {
  uint8_t *file;
  size_t len, cap;
  uint32_t bufsize;        /* session buffer size */
  int ptr64;               /* 64-bit header record and logfile layout */
  int compressed;          /* compress every event buffer (LogFileMode 0x04000000) */
  uint8_t *buf;            /* buffer being built (bufsize bytes) */
  uint32_t fill;
  uint16_t flags, cpu;
  uint32_t nbufs;
  int64_t start_time, t0, freq;
  uint32_t clock_type, cpu_mhz, events_lost, buffers_lost;
  int win7;                /* Windows 7 buffer quirks: no PROC_INDEX flag, high byte 0x08 */
  int oom;
} synth;

/* Defaults: StartTime 2021-01-01, T0 = 1,000,000, QPC at 10 MHz. */
void synth_init(synth *s, uint32_t bufsize, int ptr64, int compressed);

/* Buffer 0: EventTrace/Header with the two names. Call once, first. */
void synth_header(synth *s, const char *logger, const char *logfile);

/* Start an event buffer on `cpu`; records follow; synth_end closes it. */
void synth_begin(synth *s, uint16_t cpu);
void synth_end(synth *s);

/* Records (appended to the current buffer, 8-aligned). */
void synth_event(synth *s, int ptr64, uint32_t tid, uint32_t pid, int64_t ts,
                 const tlg_guid *provider, const tlg_desc *d, const tlg_guid *activity,
                 const synth_ext *ext, int next, const void *data, uint16_t len);
void synth_system(synth *s, uint8_t type, uint16_t version, uint16_t hook, uint32_t tid,
                  uint32_t pid, int64_t ts, const void *data, uint16_t len);
void synth_classic(synth *s, uint8_t type, uint8_t cls_type, uint8_t level, uint16_t ver,
                   uint32_t tid, uint32_t pid, int64_t ts, const tlg_guid *g,
                   const void *data, uint16_t len);
void synth_message(synth *s, uint16_t opt, uint16_t msgnum, uint32_t seq, const tlg_guid *g,
                   uint32_t component, int64_t ts, uint32_t tid, uint32_t pid,
                   const void *data, uint16_t len);

/* Raw bytes as one "record" (for malformed input). */
void synth_raw(synth *s, const void *bytes, uint32_t len);

/* Patch BuffersWritten/EventsLost and hand out the file (malloc'd; the
** caller frees it). NULL when out of memory. */
uint8_t *synth_finish(synth *s, size_t *len);

/* The standard test file used by several tests: every record type over
** three CPUs, out of time order across buffers. */
uint8_t *synth_standard(int ptr64, int compressed, uint32_t bufsize, size_t *len);

#endif
