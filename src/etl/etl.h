/*
** etl.h: ETL file reader (shared/spec/etl-format.md). Pure C, no Lua.
** The parser works over a byte buffer and never trusts a byte of it; only
** etl_open_file touches the file system.
*/
#ifndef ETL_H
#define ETL_H

#include <stddef.h>
#include <stdint.h>

#include "rec_record.h"

/* Return codes of etl_open_* and etl_next. */
typedef enum etl_status {
  ETL_OK = 0,        /* etl_next: a record was delivered */
  ETL_END = 1,       /* etl_next: no more records */
  ETL_ERR_DATA = 2,  /* etl_next: corrupt input at err->offset; the stream goes
                        on, call etl_next again. etl_open: not a usable ETL file */
  ETL_ERR_IO = 3,    /* etl_open_file: the file could not be read */
  ETL_ERR_NOMEM = 4, /* allocation failed (open or next); the reader stays valid */
  ETL_ERR_ARG = 5    /* NULL or out-of-range argument */
} etl_status;

/* Where and why the input is bad. `offset` is a file offset: of the record
** for uncompressed buffers; for a compressed buffer it is the buffer's file
** offset and `inner` is the offset inside the decompressed buffer (the
** message then says both). `message` always starts with "offset 0x...". */
typedef struct etl_error {
  int status;                  /* etl_status of the call that filled it */
  uint64_t offset;
  uint32_t inner;              /* compressed buffers only, else 0 */
  uint32_t compressed;         /* 1 if offset is that of a compressed buffer */
  int sys_errno;               /* ETL_ERR_IO: the errno of the failed open/read
                                  (EISDIR/EINVAL for a directory/other
                                  non-regular file), else 0 */
  char message[200];
} etl_error;

/* Everything the header buffer tells (TRACE_LOGFILE_HEADER, spec §6), plus
** what the reader found. Integers are as stored unless said otherwise. */
typedef struct etl_info {
  uint32_t buffer_size;        /* session buffer size */
  uint32_t version;            /* raw: OS major, minor, layout major, minor bytes */
  uint8_t os_major, os_minor, layout_major, layout_minor;
  uint32_t os_build;           /* ProviderVersion */
  uint32_t num_processors;
  int64_t end_time;            /* FILETIME UTC, 0 while still logging */
  uint32_t timer_resolution;   /* 100 ns units */
  uint32_t max_file_size;      /* MB */
  uint32_t log_file_mode;
  uint32_t buffers_written;    /* as stored (etl_stats.buffers: as found) */
  uint32_t start_buffers;
  uint32_t pointer_size;       /* 4 or 8 */
  uint32_t events_lost;
  uint32_t cpu_speed_mhz;
  uint64_t logger_name_ptr, log_file_name_ptr; /* raw, not pointers in files */
  int32_t tz_bias;             /* minutes, UTC = local + bias */
  int64_t boot_time;           /* FILETIME */
  int64_t perf_freq;           /* raw clock ticks per second (QPC) */
  int64_t start_time;          /* FILETIME UTC of session start: the sync point */
  uint32_t clock_type;         /* ReservedFlags: 1 QPC, 2 system time, 3 CPU cycles */
  uint32_t buffers_lost;
  int64_t header_timestamp;    /* raw clock value at start_time ("T0") */
  int header_pointer_size;     /* 4 or 8 from the header record's type */
  const char *logger_name;     /* UTF-8 (converted from UTF-16), "" if absent */
  const char *log_file_name;   /* UTF-8, "" if absent */
  const uint8_t *time_zone;    /* the 0xAC-byte TIME_ZONE_INFORMATION as stored */
  uint64_t file_size;          /* bytes of input */
} etl_info;

/* Counters, updated as etl_next runs (buffers* are final after open). */
typedef struct etl_stats {
  uint32_t buffers;            /* buffer headers found in the file */
  uint32_t compressed_buffers;
  uint32_t buffers_events_lost;/* buffers with BufferFlag EVENTS_LOST/BUFFER_LOST */
  uint64_t records;            /* records delivered so far */
  uint64_t errors;             /* ETL_ERR_DATA results so far */
  uint64_t skipped;            /* records skipped without error (ERROR headers) */
} etl_stats;

/* Tuning; zero fields take the defaults. */
typedef struct etl_options {
  uint32_t max_buffer_size;    /* largest buffer accepted (default 16 MiB) */
  size_t cache_bytes;          /* memory for loaded buffers: bytes read or
                                  decompressed and their record indexes, kept
                                  from the open-time scan and while the merge
                                  needs them (default 32 MiB). Beyond it the
                                  least recently loaded buffers are unloaded
                                  and loaded again when reached: time
                                  instead of memory, for files whose buffers
                                  overlap in time more than the budget holds */
  uint64_t max_decompressed;   /* total bytes the scan may decompress (default
                                  64 MiB + 256 x the input size); guards
                                  against LZ77 bombs */
  uint32_t max_errors;         /* errors kept for delivery (default 10000); the
                                  rest are counted in one last error */
  int single_thread;           /* nonzero: no helper thread. By default the scan
                                  of a compressed file (inside etl_open_*)
                                  decompresses ahead on one helper thread,
                                  joined before etl_open_* returns; the
                                  records are the same either way */
} etl_options;

typedef struct etl_reader etl_reader;

/* Open an ETL file. Only a regular file is accepted (ETL_ERR_IO "is a
** directory" / "not a regular file (a FIFO)" otherwise, without reading or
** blocking); its first buffer is read and checked first (a non-ETL file is
** refused after its first 64 KiB at most), then the file is read buffer by
** buffer, never whole: memory stays within opt.cache_bytes plus one buffer
** and some bookkeeping per buffer of the file, whatever the file size.
** Returns ETL_OK and *out, or ETL_ERR_IO / ETL_ERR_DATA / ETL_ERR_NOMEM with
** `err` filled (err may be NULL) and *out NULL. `opt` may be NULL. The file
** stays open until etl_close; a read error later is reported like corrupt
** data. Not thread-safe per reader; readers are independent. */
int etl_open_file(const char *path, const etl_options *opt, etl_reader **out,
                  etl_error *err);

/* Open ETL bytes in memory. The bytes are borrowed: they must stay unchanged
** until etl_close. Validates the header buffer (ETL_ERR_DATA when the first
** record is not a usable EventTrace/Header) and scans every buffer once. */
int etl_open_memory(const void *data, size_t len, const etl_options *opt,
                    etl_reader **out, etl_error *err);

/* Header facts; valid until etl_close. Never NULL for an open reader. */
const etl_info *etl_get_info(const etl_reader *r);

/* Counters; valid until etl_close. */
const etl_stats *etl_get_stats(const etl_reader *r);

/* Next record in timestamp order; equal timestamps keep file order (buffer
** by buffer, record by record), as Windows delivers them (spec §7).
** ETL_OK: *out filled; its pointers (data, meta, traits, raw_header, ext
** and the ext items' data) stay valid until the next etl_next or etl_close.
** ETL_ERR_DATA: `err` says where (the record, or the rest of a buffer, is
** skipped) and the stream continues. ETL_ERR_NOMEM: try again or give up.
** ETL_END: done (and stays so). Errors come in the stream: header warnings
** first; a buffer's errors right after its last good record; errors of
** buffers with no good record, and of the file tail, last (in file order).
** Records' raw timestamps never decrease. */
int etl_next(etl_reader *r, rec_record *out, etl_error *err);

/* Free the reader (and close its file). NULL is a no-op. */
void etl_close(etl_reader *r);

/* EVENT_HEADER.Flags as a Windows consumer reports them: the stored flags
** plus 32/64_BIT_HEADER, CLASSIC_HEADER, TRACE_MESSAGE and PROCESSOR_INDEX,
** synthesized from the header kind and buffer flags [spec §3.2: belief]. */
uint16_t etl_consumer_flags(const rec_record *rec);

/* Text name of a header kind ("EVENT_HEADER64", "SYSTEM32", "PERFINFO64",
** "FULL_HEADER64", "INSTANCE32", "MESSAGE" ...); never NULL. */
const char *etl_header_name(const rec_record *rec);

/* ---- clock (etl_clock.c) ---- */

/* The conversion parameters of one file (spec §7). */
typedef struct etl_clock {
  uint32_t type;               /* etl_clock_type */
  int64_t start_time;          /* FILETIME at t0 */
  int64_t t0;                  /* raw clock value at start_time */
  int64_t freq;                /* ticks per second (QPC) */
  uint32_t cpu_mhz;            /* CPU cycle clock */
} etl_clock;

/* The name of a clock type (etl_info.clock_type): "QPC", "system time",
** "CPU cycles", else "unknown". */
const char *etl_clock_name(uint32_t type);

/* Fill `c` from a file's header facts. A QPC clock without a usable
** frequency falls back to 10 MHz (ticks taken as 100 ns). */
void etl_clock_init(etl_clock *c, const etl_info *info);

/* Raw clock value -> FILETIME (100 ns since 1601-01-01 UTC):
** QPC: start + (raw - t0) * 10^7 / freq, integer division truncating toward
** zero (reproduces Windows to the 100 ns); system time: raw itself; CPU
** cycles: start + (raw - t0) * 10 / MHz. Saturates instead of overflowing. */
int64_t etl_clock_to_filetime(const etl_clock *c, int64_t raw);

#define ETL_ISO_SIZE 40
/* FILETIME -> "YYYY-MM-DDThh:mm:ss.fffffffZ" (7 fraction digits), UTC,
** proleptic Gregorian; years outside 0..9999 print with a sign or more digits.
** Returns the length (28 for years 1601..9999). */
size_t etl_filetime_to_iso(int64_t filetime, char out[ETL_ISO_SIZE]);

#endif
