/*
** etl_write_hdr.c: the bytes of the writer's header buffer (buffer 0: the
** SYSTEM64 header record with TRACE_LOGFILE_HEADER, spec §12) and of every
** buffer header; pure layout, no I/O. The writer (etl_write.c) decides when.
*/
#include <string.h>

#include "etl_int.h"
#include "etl_write_int.h"
#include "tlg_le.h"
#include "tlg_utf16.h"

static uint32_t align8(uint32_t v) { return (v + 7u) & ~7u; }

/* UTF-8 -> UTF-16LE at p (room for `cap` >= 1 units incl. the NUL), cut
** at whole code points to fit. A name that is not UTF-8 is written empty:
** encoding rejects invalid UTF-8 (tlg_utf16.h) and the name is only
** informative. Returns the units written, NUL included. */
static uint32_t utf16_from_utf8(const char *s, uint8_t *p, uint32_t cap) {
  size_t used;
  long n = s ? tlg_utf8_to_utf16(s, strlen(s), p, cap - 1, &used) : 0;
  if (n < 0) n = 0;
  tlg_put16(p + 2 * n, 0);
  return (uint32_t)n + 1;
}

/* WMI_BUFFER_HEADER (spec §2, §12) at p. */
void etlw_put_bufhdr(uint8_t *p, uint32_t bufsize, uint16_t logger_id, uint32_t used, int64_t ts,
                     uint64_t seq, uint16_t cpu, uint16_t flags, uint16_t type) {
  memset(p, 0, ETL_BUF_HDR_SIZE);
  tlg_put32(p + ETL_BUF_SIZE, bufsize);
  tlg_put32(p + 0x04, used);                        /* SavedOffset */
  tlg_put32(p + 0x08, used);                        /* CurrentOffset */
  tlg_put64(p + ETL_BUF_TIMESTAMP, (uint64_t)ts);
  tlg_put64(p + ETL_BUF_SEQUENCE, seq);
  tlg_put16(p + ETL_BUF_PROC_INDEX, cpu);
  tlg_put16(p + ETL_BUF_LOGGER_ID, logger_id);
  tlg_put32(p + 0x2C, W_BUF_STATE_FLUSH);
  tlg_put32(p + ETL_BUF_OFFSET, used);
  tlg_put16(p + ETL_BUF_FLAG, flags);
  tlg_put16(p + ETL_BUF_TYPE, type);
}

#define LFH (ETL_BUF_HDR_SIZE + ETL_SYSTEM_HDR_SIZE) /* TRACE_LOGFILE_HEADER in buffer 0 */

/* Time-zone block (0xAC bytes at lfh + 0x48): Bias 0, names "UTC". */
static void put_timezone(uint8_t *tz) {
  memset(tz, 0, 0xAC);
  utf16_from_utf8("UTC", tz + 4, 32);           /* StandardName[32] */
  utf16_from_utf8("UTC", tz + 4 + 64 + 16 + 4, 32);  /* DaylightName[32] */
}

uint32_t etlw_build_header(uint8_t *b, uint32_t bufsize, const etl_write_opts *o,
                           uint32_t num_processors, const char *name) {
  uint8_t *r = b + ETL_BUF_HDR_SIZE, *h = b + LFH;
  uint32_t room = bufsize - LFH - ETL_LFH_SIZE64;
  memset(b, 0xFF, bufsize);
  memset(r, 0, ETL_SYSTEM_HDR_SIZE + ETL_LFH_SIZE64);
  /* names: at most half the room each, and the record stays <= 65535 bytes */
  uint32_t units = room / 2 / 2;
  if (units > 8192) units = 8192;
  uint8_t *names = h + ETL_LFH_SIZE64;
  uint32_t n1 = utf16_from_utf8(o->logger_name, names, units);
  uint32_t n2 = utf16_from_utf8(name && *name ? name : o->logfile_name, names + 2 * n1, units);
  uint32_t size = ETL_SYSTEM_HDR_SIZE + ETL_LFH_SIZE64 + 2 * (n1 + n2);
  /* SYSTEM64 header: Version 2, type 0x02, 0xC0, Size, HookId 0 */
  tlg_put16(r, 2);
  r[2] = ETL_HT_SYSTEM64;
  r[3] = 0xC0;
  tlg_put16(r + 4, (uint16_t)size);
  tlg_put16(r + 6, 0);
  tlg_put32(r + 0x08, o->tid);
  tlg_put32(r + 0x0C, o->pid);
  tlg_put64(r + 0x10, (uint64_t)o->start_time);   /* T0 = StartTime (spec §12 clock) */
  tlg_put32(h + 0x00, bufsize);
  tlg_put32(h + 0x04, W_LFH_VERSION);
  tlg_put32(h + 0x08, o->os_build);
  tlg_put32(h + 0x0C, num_processors);
  tlg_put32(h + 0x18, W_TIMER_RESOLUTION);
  tlg_put32(h + 0x1C, (uint32_t)((o->circular ? o->circular_bytes : o->max_file_bytes) >> 20));
  tlg_put32(h + 0x20, o->circular ? W_LOGMODE_CIRCULAR : W_LOGMODE_SEQUENTIAL);
  tlg_put32(h + 0x28, 1);                           /* StartBuffers */
  tlg_put32(h + 0x2C, 8);                           /* PointerSize */
  tlg_put32(h + 0x34, o->cpu_mhz);
  put_timezone(h + 0x48);
  tlg_put64(h + 0xF8, (uint64_t)o->boot_time);
  tlg_put64(h + 0x100, W_PERF_FREQ);
  tlg_put64(h + 0x108, (uint64_t)o->start_time);
  tlg_put32(h + 0x110, ETL_CLOCK_QPC);
  uint32_t used = ETL_BUF_HDR_SIZE + align8(size);
  memset(r + size, 0, align8(size) - size);
  if (o->partition_info) {                    /* SYSTEM64 hook 0x0050, 48 zero bytes */
    uint8_t *q = b + used;
    memset(q, 0, 0x50);
    tlg_put16(q, 2);
    q[2] = ETL_HT_SYSTEM64;
    q[3] = 0xC0;
    tlg_put16(q + 4, 0x50);
    tlg_put16(q + 6, W_HOOK_PARTITION_INFO);
    tlg_put32(q + 0x08, o->tid);
    tlg_put32(q + 0x0C, o->pid);
    tlg_put64(q + 0x10, (uint64_t)o->start_time);
    used += 0x50;
  }
  etlw_put_bufhdr(b, bufsize, o->logger_id, used, 0, 0, 0,
                  ETL_BUF_FLAG_PROC_INDEX | ETL_BUF_FLAG_FLUSH_MARKER, W_BUF_TYPE_HEADER);
  return used;
}

/* The fields that change while logging (spec §12 "At close"). */
void etlw_patch_header(uint8_t *hdr, uint32_t num_processors, int64_t end_time, uint32_t buffers,
                       uint32_t lost) {
  uint8_t *h = hdr + LFH;
  tlg_put32(h + 0x0C, num_processors);
  tlg_put64(h + 0x10, (uint64_t)end_time);
  tlg_put32(h + 0x24, buffers);
  tlg_put32(h + 0x30, lost);
  tlg_put32(h + 0x114, 0);                          /* BuffersLost: the writer never drops a buffer */
}

