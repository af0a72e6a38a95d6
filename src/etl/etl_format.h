/*
** etl_format.h: the on-disk layout of ETL (Event Trace Log) files, as prose,
** offsets and little-endian loaders. Source: shared/spec/etl-format.md
** (cited as "spec §N"). No Lua, no I/O.
*/
#ifndef ETL_FORMAT_H
#define ETL_FORMAT_H

#include <stdint.h>
#include <string.h>

#include "tlg_types.h"
#include "tlg_le.h"

/*
** File (spec §1)
** ==============
** file   := buffer[0] buffer[1] ... buffer[N-1]
** buffer := WMI_BUFFER_HEADER (0x48 bytes) record* filler (0xFF up to BufferSize)
** record := trace header (fixed size by type) [ext items] payload; records
**           start 8-aligned inside the buffer and never straddle buffers.
** Buffer 0 is the header buffer; its first record is EventTrace/Header
** (SYSTEM header, hook 0) carrying TRACE_LOGFILE_HEADER + two UTF-16 names.
** Buffers are per CPU and flushed in any order: consumers merge by time.
**
** WMI_BUFFER_HEADER (spec §2), 0x48 bytes
** ---------------------------------------
** 0x00 u32 BufferSize     bytes this buffer occupies in the file (next buffer
**                         at +BufferSize). Uncompressed: the session buffer
**                         size. Compressed: 0x48 + compressed length.
** 0x04 u32 SavedOffset    unreliable (0 in Windows 7 header buffers): ignored
** 0x08 u32 CurrentOffset  in-memory cursor: ignored
** 0x0C u32 ReferenceCount
** 0x10 u64 TimeStamp      flush time (raw clock; FILETIME in relogged files)
** 0x18 u64 SequenceNumber flush order, informational
** 0x20 u64 ClockType/Frequency or pointer junk: ignored
** 0x28 u16 ProcessorIndex CPU; with BufferFlag PROC_INDEX the low 11 bits,
**                         else (Windows 7) only the low byte (high byte 0x08)
** 0x2A u16 LoggerId
** 0x2C u32 State          3 (flushed)
** 0x30 u32 Offset         "FilledBytes": bytes in use incl. the header; the
**                         records are in [0x48, Offset). Compressed buffers:
**                         the size after decompression.
** 0x34 u16 BufferFlag     ETL_BUF_FLAG_*
** 0x36 u16 BufferType     4 = header buffer, 0 = generic
** 0x38 16 bytes           junk: ignored
*/
#define ETL_BUF_HDR_SIZE      0x48u
#define ETL_BUF_SIZE          0x00
#define ETL_BUF_TIMESTAMP     0x10
#define ETL_BUF_SEQUENCE      0x18
#define ETL_BUF_PROC_INDEX    0x28
#define ETL_BUF_LOGGER_ID     0x2A
#define ETL_BUF_OFFSET        0x30
#define ETL_BUF_FLAG          0x34
#define ETL_BUF_TYPE          0x36

#define ETL_BUF_FLAG_FLUSH_MARKER  0x0001
#define ETL_BUF_FLAG_EVENTS_LOST   0x0002
#define ETL_BUF_FLAG_BUFFER_LOST   0x0004
#define ETL_BUF_FLAG_PROC_INDEX    0x0020
#define ETL_BUF_FLAG_COMPRESSED    0x0040
#define ETL_PROC_INDEX_MASK        0x07FFu

/*
** Records (spec §3): the first dword decides the header type
** ----------------------------------------------------------
** bit 31 TRACE_HEADER_FLAG, bit 30 "typed header" (type in bits 16..23),
** bit 28 with bit 30 clear: WPP/TraceMessage header. 0xFFFFFFFF: no more
** records in the buffer. The size field counts header + ext items + payload
** but not the padding: the next record starts at align8(start + Size).
**
** SYSTEM (0x20) / COMPACT (0x18) / PERFINFO (0x10)  — kernel "MOF" events
**   0x00 u16 Version (bits 8..10: inline PMC counters, 8 bytes each;
**            bit 15: inline PEBS index, 8 bytes), 0x02 u8 type, 0x03 u8 0xC0,
**   0x04 u16 Size, 0x06 u16 HookId = Group << 8 | Type,
**   SYSTEM/COMPACT: 0x08 u32 ThreadId, 0x0C u32 ProcessId, 0x10 i64 time;
**   SYSTEM: 0x18 u32 KernelTime, 0x1C u32 UserTime;
**   PERFINFO: 0x08 i64 time (no thread or process id).
** EVENT_HEADER (0x50) — manifest, EventSource, TraceLogging
**   0x00 u16 Size, 0x02 u8 0x12|0x13, 0x03 u8 0xC0, 0x04 u16 Flags,
**   0x06 u16 EventProperty, 0x08 u32 ThreadId, 0x0C u32 ProcessId,
**   0x10 i64 TimeStamp, 0x18 GUID ProviderId, 0x28 EVENT_DESCRIPTOR (16),
**   0x38 u32 KernelTime, 0x3C u32 UserTime, 0x40 GUID ActivityId,
**   0x50 ext items when Flags & 1, then user data.
** EVENT_TRACE_HEADER "classic" (0x30) / EVENT_INSTANCE_GUID_HEADER (0x48)
**   0x00 u16 Size, 0x02 u8 type, 0x03 u8 0xC0, 0x04 u8 Class.Type,
**   0x05 u8 Class.Level, 0x06 u16 Class.Version, 0x08 u32 ThreadId,
**   0x0C u32 ProcessId, 0x10 i64 TimeStamp, 0x18 GUID, 0x28 u32 KernelTime,
**   0x2C u32 UserTime; instance: 0x30 u32 InstanceId,
**   0x34 u32 ParentInstanceId, 0x38 GUID ParentGuid.
** MESSAGE_TRACE_HEADER (WPP, 8 bytes + optional parts)
**   0x00 u16 Size, 0x02 u8 0, 0x03 u8 0x90, 0x04 u16 MessageNumber,
**   0x06 u16 OptionFlags; then in order, when flagged: SEQUENCE u32,
**   GUID (16) or COMPONENTID u32, TIMESTAMP i64, SYSTEMINFO u32 tid + u32 pid.
*/
#define ETL_MARKER_END        0xFFFFFFFFu
#define ETL_HDR_FLAG_TRACE    0x80000000u
#define ETL_HDR_FLAG_TYPED    0x40000000u
#define ETL_HDR_FLAG_MESSAGE  0x10000000u

enum etl_hdr_type {
  ETL_HT_SYSTEM32 = 0x01, ETL_HT_SYSTEM64 = 0x02,
  ETL_HT_COMPACT32 = 0x03, ETL_HT_COMPACT64 = 0x04,
  ETL_HT_FULL32 = 0x0A, ETL_HT_INSTANCE32 = 0x0B, ETL_HT_TIMED = 0x0C,
  ETL_HT_ERROR = 0x0D, ETL_HT_WNODE = 0x0E, ETL_HT_MESSAGE = 0x0F,
  ETL_HT_PERFINFO32 = 0x10, ETL_HT_PERFINFO64 = 0x11,
  ETL_HT_EVENT32 = 0x12, ETL_HT_EVENT64 = 0x13,
  ETL_HT_FULL64 = 0x14, ETL_HT_INSTANCE64 = 0x15
};

#define ETL_SYSTEM_HDR_SIZE    0x20u
#define ETL_COMPACT_HDR_SIZE   0x18u
#define ETL_PERFINFO_HDR_SIZE  0x10u
#define ETL_EVENT_HDR_SIZE     0x50u
#define ETL_FULL_HDR_SIZE      0x30u
#define ETL_INSTANCE_HDR_SIZE  0x48u
#define ETL_MESSAGE_HDR_SIZE   0x08u

#define ETL_SYS_VERSION_PMC_MASK  0x0700u  /* count of inline PMC counters */
#define ETL_SYS_VERSION_PEBS      0x8000u  /* inline PEBS index */

/* EVENT_HEADER.Flags stored in files (spec §3.2) and those a Windows consumer
** synthesizes; etl_consumer_flags() builds the latter. */
#define ETL_EVF_EXTENDED_INFO   0x0001u
#define ETL_EVF_PRIVATE_SESSION 0x0002u
#define ETL_EVF_STRING_ONLY     0x0004u
#define ETL_EVF_TRACE_MESSAGE   0x0008u
#define ETL_EVF_NO_CPUTIME      0x0010u
#define ETL_EVF_32_BIT_HEADER   0x0020u
#define ETL_EVF_64_BIT_HEADER   0x0040u
#define ETL_EVF_CLASSIC_HEADER  0x0100u
#define ETL_EVF_PROCESSOR_INDEX 0x0200u

/* WPP OptionFlags (spec §3.4). */
#define ETL_MSG_SEQUENCE    0x0001u
#define ETL_MSG_GUID        0x0002u
#define ETL_MSG_COMPONENTID 0x0004u
#define ETL_MSG_TIMESTAMP   0x0008u
#define ETL_MSG_PERF_TIME   0x0010u
#define ETL_MSG_SYSTEMINFO  0x0020u
#define ETL_MSG_POINTER32   0x0040u
#define ETL_MSG_POINTER64   0x0080u

/*
** Extended data items (spec §4), inside EVENT_HEADER records with Flags & 1
** -------------------------------------------------------------------------
** +0 u16 ItemSize (8 + DataSize rounded up to 8), +2 u16 ExtType,
** +4 u16 bit 0 = another item follows, +6 u16 DataSize, +8 data, padding.
*/
#define ETL_EXT_HDR_SIZE 8u
/* item types: enum rec_ext_type (src/record/rec_record.h) */

/*
** TRACE_LOGFILE_HEADER (spec §6): payload of the first record, right after
** its 0x20-byte SYSTEM header. Offsets: 64-bit layout / 32-bit layout.
** 0x00 u32 BufferSize, 0x04 u32 Version (OS major, minor, layout major,
** minor), 0x08 u32 ProviderVersion (build), 0x0C u32 NumberOfProcessors,
** 0x10 i64 EndTime, 0x18 u32 TimerResolution, 0x1C u32 MaximumFileSize,
** 0x20 u32 LogFileMode, 0x24 u32 BuffersWritten, 0x28 u32 StartBuffers,
** 0x2C u32 PointerSize, 0x30 u32 EventsLost, 0x34 u32 CpuSpeedInMHz,
** 0x38/0x38 LoggerName ptr, 0x40/0x3C LogFileName ptr,
** 0x48/0x40 TIME_ZONE_INFORMATION (0xAC; starts with i32 Bias),
** 0xF8/0xF0 i64 BootTime, 0x100/0xF8 i64 PerfFreq, 0x108/0x100 i64 StartTime,
** 0x110/0x108 u32 ReservedFlags (clock type), 0x114/0x10C u32 BuffersLost,
** 0x118/0x110 session name, log file name: UTF-16LE, NUL-terminated.
*/
#define ETL_LFH_SIZE64 0x118u
#define ETL_LFH_SIZE32 0x110u
#define ETL_LOGMODE_COMPRESSED 0x04000000u

/* Clock types (ReservedFlags, spec §7). */
enum etl_clock_type { ETL_CLOCK_RAW = 0, ETL_CLOCK_QPC = 1,
                      ETL_CLOCK_SYSTEM = 2, ETL_CLOCK_CPU_CYCLE = 3 };

static inline void etl_guid_at(const uint8_t *p, tlg_guid *g) {
  memcpy(g->b, p, 16);
}

#endif
