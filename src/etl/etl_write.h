/*
** etl_write.h: ETL file writer (shared/spec/etl-format.md §12, cited as
** "spec §N"). Pure C, no Lua; output goes through a small sink interface,
** so the same code writes files (etl_writer_open_file, stdio only: portable
** to mingw-w64) or memory (tests). Verify its output with the reader, etl.h.
**
** What a written file holds (spec §12, §2, §4, §6):
**   buffer 0     WMI_BUFFER_HEADER (BufferType 4, BufferFlag 0x21) + the
**                EventTrace/Header record (SYSTEM64, hook 0, Version 2):
**                TRACE_LOGFILE_HEADER (x64 layout) + session name + file
**                name in UTF-16LE. EndTime, BuffersWritten, EventsLost,
**                BuffersLost and NumberOfProcessors are patched at every
**                flush and at close: EndTime is then the time of that
**                flush, so a file whose writer died holds a header that
**                agrees with its last flush (readers that trust
**                BuffersWritten see every buffer written so far).
**   buffers 1..  one in-memory buffer per CPU (ProcessorIndex = the record's
**                cpu; BufferFlag 0x20 | PROC_INDEX rule of §2), records
**                8-aligned with zeroed padding, the rest 0xFF. Records are
**                stably sorted by timestamp inside a buffer before it is
**                written; TimeStamp = the buffer's largest timestamp;
**                SequenceNumber 1, 2, ... in the order buffers get a place in
**                the file (continuing across rotated files). A buffer written
**                before it was full (flush, close) carries FLUSH_MARKER 0x01
**                and is rewritten in place as it fills, so a file keeps its
**                length a multiple of BufferSize and is readable after every
**                flush; the last buffer of a file always carries 0x01. The
**                first buffer to take a record after a reported loss carries
**                EVENTS_LOST 0x02.
**   records      EVENT_HEADER64 (EVENT_HEADER32 when rec->pointer_size is 4)
**                with Flags EXTENDED_INFO when there are extended items:
**                RELATED_ACTIVITYID (1) first when set, then PROV_TRAITS (12)
**                = rec->traits, then EVENT_SCHEMA_TL (11) = rec->meta; a
**                record read from an ETL file (rec->ext_count > 0) keeps its
**                items as they were. Then rec->data.
**   clock        ReservedFlags 1 (QPC), PerfFreq 10,000,000, T0 = StartTime:
**                every raw timestamp is the record's FILETIME (spec §12), so
**                any consumer's formula gives back rec->timestamp exactly.
**                Records are written as they come; keep their timestamps
**                >= start_time (a live session does by construction).
**
** Modes:
**   sequential   buffers go to the file as they fill; partial buffers at
**                etl_writer_flush and close. LogFileMode 0x00000001.
**                etl_writer_dirty says when a flush has something to do
**                (partial buffers changed, or the header is out of date).
**   rotation     (max_file_bytes) a new file starts when the next buffer
**                would make the current one larger; see etl_rotated_path for
**                the names. Every file is a complete ETL file with its own
**                header buffer; EventsLost counts the whole session so far.
**   circular     the newest buffers stay in memory (a ring of buffers;
**                older ones are overwritten, not counted as lost); every
**                etl_writer_flush and the close write the whole file anew:
**                header, ring oldest first, the partial buffers. The file
**                never exceeds circular_bytes (at least 2 buffers): when
**                the partial buffers do not all fit, the oldest buffers
**                (by their newest timestamp) are left out of that copy.
**                Nothing reaches the file between flushes. LogFileMode
**                0x00000002 (EVENT_TRACE_FILE_MODE_CIRCULAR).
**
** I/O errors (a disk full, any failed sink call) are sticky: from then on
** records are refused and counted in `dropped`. What the file holds stays
** a valid trace: a buffer whose place at the end of the file failed is cut
** off again (sink->truncate), the header is patched to the buffers and
** losses really there, and the counters move every record that did not
** reach the file from `events` to `dropped` (circular: the file keeps the
** copy of the last good flush; `events` becomes the records in it).
**
** Threads: one writer, one thread at a time. No global state.
*/
#ifndef ETL_WRITE_H
#define ETL_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "etl.h"                    /* etl_status codes, rec_record */

/* Where bytes go. Every callback returns 0, or an errno value on failure
** (which makes the writer fail with ETL_ERR_IO for good). */
typedef struct etl_sink {
  void *ctx;
  /* Begin output file `index`: 0 first, 1, 2 ... after each rotation; a
  ** circular writer begins file 0 again at every flush (replacing it). The
  ** sink may write the file's name (UTF-8) into name[0..cap) for the
  ** header's log-file name; it is "" otherwise. */
  int (*open)(void *ctx, uint32_t index, char *name, size_t cap);
  /* Write n bytes at byte offset `off` of the current file (may be past
  ** its end only by whole buffers the writer fills in order). */
  int (*write_at)(void *ctx, uint64_t off, const void *p, size_t n);
  /* Push what was written to the operating system; NULL = nothing to do. */
  int (*sync)(void *ctx);
  /* Finish the current file (a circular sink replaces the old copy here). */
  int (*close)(void *ctx);
  /* Cut the current file to `size` bytes after a failed write (size 0:
  ** nothing valid is left; the sink may remove the file at close).
  ** NULL = not supported. */
  int (*truncate)(void *ctx, uint64_t size);
} etl_sink;

/* Options; zero fields take the defaults. */
typedef struct etl_write_opts {
  uint32_t buffer_size;      /* bytes per buffer, multiple of 8, 4096..16 MiB (default 65536) */
  uint64_t max_file_bytes;   /* sequential: rotate before a file exceeds this (0 = never;
                                at least 2 buffers) */
  int circular;              /* keep the newest circular_bytes in memory, write at flush */
  uint64_t circular_bytes;   /* default 64 MiB; at least 2 buffers (header + one) */
  int64_t start_time;        /* FILETIME of the session start (default: now) */
  int64_t boot_time;         /* FILETIME of the machine's boot (default: start_time) */
  uint32_t num_processors;   /* default 1; raised to the highest record cpu + 1 */
  uint32_t cpu_mhz;          /* CpuSpeedInMHz (default 1000) */
  uint32_t os_build;         /* ProviderVersion (default 19041) */
  uint32_t pid, tid;         /* the header record's ProcessId/ThreadId */
  uint16_t logger_id;        /* ClientContext.LoggerId of every buffer (default 0x10) */
  int partition_info;        /* also write the PartitionInfoExtension record (spec §12) */
  const char *logger_name;   /* session name, UTF-8 (default "") */
  const char *logfile_name;  /* header's log-file name when the sink gives none */
  uint32_t file_mode;        /* etl_writer_open_file, POSIX: permission bits of the files
                                it creates, before the umask (0 = 0600); ignored on Windows */
} etl_write_opts;

/* Counters of one writer. */
typedef struct etl_write_stats {
  uint64_t events;           /* records appended (circular: also those overwritten since);
                                after an I/O error: the records in the file */
  uint64_t events_kept;      /* circular: records in the file as last written; else = events */
  uint64_t dropped;          /* records refused: too large for a buffer, not an event, or
                                after an I/O error (also counted in EventsLost) */
  uint64_t lost;             /* events reported lost by etl_writer_lost */
  uint64_t bytes;            /* bytes in the output file(s), all rotated files included */
  uint32_t buffers;          /* buffers in the output file(s), header buffers included */
  uint32_t files;            /* files begun (rotation) */
  int io_error;              /* errno of the first failed sink call, 0 if none */
} etl_write_stats;

typedef struct etl_writer etl_writer;

/* Begin writing through `sink` (copied). A sequential writer writes the
** header buffer at once; a circular one writes it (an empty, valid trace)
** at once too. Returns ETL_OK and *out, or ETL_ERR_ARG (bad option, NULL),
** ETL_ERR_NOMEM, ETL_ERR_IO (the sink failed, errno = its error; nothing
** is left open). */
int etl_writer_open(const etl_sink *sink, const etl_write_opts *opt, etl_writer **out);

/* The same over a file `path` (UTF-8 on POSIX; the C library's narrow
** encoding on Windows), created or truncated (new files get
** opt->file_mode; an existing file keeps its permissions). Rotation names:
** see etl_rotated_path. Circular files are written to "<path>.tmp" and
** renamed over `path`, so readers see the previous or the new copy, whole.
** POSIX: "<path>.tmp" is created with O_EXCL | O_NOFOLLOW; one left behind
** by a writer that died (a regular file of ours, one link) is replaced,
** anything else there (a symbolic link, another user's file) is an error
** (EEXIST) and is not touched. A file that received no complete header
** buffer because of an I/O error is removed. */
int etl_writer_open_file(const char *path, const etl_write_opts *opt, etl_writer **out);

/* Name of file `index` of a rotating writer over `path`: index 0 is `path`
** itself; index n >= 1 inserts "_n" before the extension ("out.etl" ->
** "out_1.etl", "trace" -> "trace_1"). If `path` contains "%d", it is
** replaced by index + 1 for every file instead ("out%d.etl" -> "out1.etl",
** "out2.etl", ...). Returns the length, or 0 when it does not fit `cap`. */
size_t etl_rotated_path(const char *path, uint32_t index, char *out, size_t cap);

/* Append one event (kind REC_KIND_EVENT; header_kind NONE or EVENT). Its
** bytes are copied. Returns ETL_OK; ETL_ERR_DATA when the record cannot be
** written (larger than 65,535 bytes or a buffer, or not an event: counted
** in `dropped` and EventsLost, the writer goes on); ETL_ERR_IO after a sink
** failure (the record is dropped and counted); ETL_ERR_NOMEM. */
int etl_writer_append(etl_writer *w, const rec_record *rec);

/* Count n events lost upstream (EventsLost; the next buffer to take a
** record gets EVENTS_LOST). */
void etl_writer_lost(etl_writer *w, uint64_t n);

/* Sequential: write every partial buffer in place and patch the header
** (EndTime = now), then sink->sync. Circular: write the whole file anew.
** ETL_OK or ETL_ERR_IO. */
int etl_writer_flush(etl_writer *w);

/* Does a flush have something to write: records not yet in the file, or
** (sequential) a header that does not count every buffer and loss yet? */
int etl_writer_dirty(const etl_writer *w);

/* Counters. */
void etl_writer_stats(const etl_writer *w, etl_write_stats *st);

/* Name of the current (last begun) file as the sink gave it, "" if none.
** Valid until the next call on `w`. */
const char *etl_writer_path(const etl_writer *w);

/* Flush, set EndTime (= end_time, or now when 0), patch the header, close
** the sink, free. Returns ETL_OK or ETL_ERR_IO (the writer is freed either
** way; *st, when not NULL, gets the final counters). NULL w is a no-op. */
int etl_writer_close(etl_writer *w, int64_t end_time, etl_write_stats *st);

/* FILETIME now (UTC, 100 ns since 1601), from the C library's clock. */
int64_t etl_filetime_now(void);

#endif
