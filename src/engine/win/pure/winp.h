/*
** winp.h: the pure pieces of the Windows ETW backend (spec windows-etw.md,
** cited as "spec §N"). No windows.h: every Windows structure is built or
** read as little-endian bytes at the offsets the spec measured for x64, so
** these compile and are unit-tested on Linux and under Wine alike
** (tests/unit/test_win_pure.c). the files of src/engine/win hand the results to the
** real Win32 calls; win_compat.h asserts the same offsets against mingw.
*/
#ifndef ENG_WINP_H
#define ENG_WINP_H

#include <stddef.h>
#include <stdint.h>

#include "tlg_le.h"      /* little-endian access: tlg_le32, tlg_put32, ... */
#include "tlg_utf16.h"   /* the one UTF-16 <-> UTF-8 conversion */


/* ------------------------------------- EVENT_TRACE_PROPERTIES (spec §2.1) */

enum {
  WINP_PROPS_SIZE = 120,                    /* sizeof(EVENT_TRACE_PROPERTIES) x64 */
  WINP_NAME_BYTES = 1024 * 2,               /* 1,024 UTF-16 units per name */
  WINP_PROPS_BLOCK = 120 + 2048 + 2048,     /* 4,216: what every call gets */
  WINP_OFF_WNODE_BUFFERSIZE = 0,
  WINP_OFF_WNODE_HISTCTX = 8,               /* out: session handle */
  WINP_OFF_WNODE_GUID = 24,
  WINP_OFF_WNODE_CLIENTCTX = 40,            /* clock: 1 QPC, 2 system time, 3 CPU cycles */
  WINP_OFF_WNODE_FLAGS = 44,
  WINP_OFF_BUFFERSIZE = 48,                 /* KB */
  WINP_OFF_MINBUFFERS = 52,
  WINP_OFF_MAXBUFFERS = 56,
  WINP_OFF_MAXFILESIZE = 60,                /* MB */
  WINP_OFF_LOGFILEMODE = 64,
  WINP_OFF_FLUSHTIMER = 68,                 /* seconds */
  WINP_OFF_ENABLEFLAGS = 72,
  WINP_OFF_AGELIMIT = 76,
  WINP_OFF_NUMBUFFERS = 80,
  WINP_OFF_FREEBUFFERS = 84,
  WINP_OFF_EVENTSLOST = 88,
  WINP_OFF_BUFFERSWRITTEN = 92,
  WINP_OFF_LOGBUFFERSLOST = 96,
  WINP_OFF_RTBUFFERSLOST = 100,
  WINP_OFF_LOGGERTHREADID = 104,
  WINP_OFF_LOGFILENAMEOFF = 112,
  WINP_OFF_LOGGERNAMEOFF = 116
};

#define WINP_WNODE_FLAG_TRACED_GUID     0x00020000u
#define WINP_MODE_SEQUENTIAL            0x00000001u
#define WINP_MODE_CIRCULAR              0x00000002u
#define WINP_MODE_NEWFILE               0x00000008u
#define WINP_MODE_REAL_TIME             0x00000100u
#define WINP_MODE_BUFFERING             0x00000400u
#define WINP_MODE_USE_KBYTES            0x00002000u
#define WINP_MODE_SYSTEM_LOGGER         0x02000000u
#define WINP_MODE_INDEPENDENT_SESSION   0x08000000u
#define WINP_MODE_NO_PER_PROCESSOR      0x10000000u

#define WINP_CLOCK_QPC 1u
#define WINP_SESSION_NAME_MAX 200           /* spec §2.1 Decide: refuse longer */
#define WINP_NAME_PREFIX "etwlua-"          /* spec §6 Decide 4 */
#define WINP_DEFAULT_FILE_MB 100u           /* circular / new-file need a size */

enum winp_mode { WINP_REALTIME = 0, WINP_FILE = 1, WINP_CIRCULAR = 2 };

/* What a session is started with (eng_session_opts plus Windows extras). */
typedef struct winp_props_in {
  int mode;                 /* winp_mode */
  int realtime_too;         /* file modes: also deliver in real time */
  int newfile;              /* FILE: rotate (path must contain %d; needs max_file_mb) */
  const char *file;         /* UTF-8 path; already made absolute by the caller */
  uint32_t buffer_kb;       /* 0 -> 64; 4..16384 */
  uint32_t min_buffers;     /* 0 -> let ETW choose */
  uint32_t max_buffers;     /* 0 -> max(64, 4 x cpus) */
  uint32_t cpus;            /* for the default of max_buffers */
  uint32_t flush_ms;        /* -> FlushTimer seconds, rounded up (winp_flush_seconds) */
  uint32_t max_file_mb;     /* 0 -> unlimited (sequential) or WINP_DEFAULT_FILE_MB */
  int no_per_processor;     /* opt-in: EVENT_TRACE_NO_PER_PROCESSOR_BUFFERING */
  /* kernel events (spec §3; winp_kernel_plan fills these) */
  uint32_t enable_flags;    /* EVENT_TRACE_FLAG_* -> EnableFlags; 0 = a normal session */
  int system_logger;        /* EVENT_TRACE_SYSTEM_LOGGER_MODE (a private kernel session) */
  const uint8_t *guid;      /* 16 bytes for Wnode.Guid, or NULL (ETW makes one) */
} winp_props_in;

/* SystemTraceControlGuid {9e814aad-3204-11d2-9a82-006008a86939}, in
** memory order: the NT kernel logger's Wnode.Guid. */
extern const uint8_t winp_system_trace_guid[16];

/* How a session named `name` gets the kernel groups `flags` (spec §3,
** README "System events on Windows"): "NT Kernel Logger" (any case) is
** the one kernel logger, Wnode.Guid = SystemTraceControlGuid, EnableFlags
** = flags, which must not be 0 (that leaves the groups to ETW),
** and no NEWFILE rotation (the docs rule it out for this session);
** any other name with flags is a private system logger
** (SYSTEM_LOGGER_MODE, Windows 8+) with the same EnableFlags and a fresh
** Wnode.Guid from the caller (`fresh`, 16 bytes; never
** SystemTraceControlGuid, which ETW keeps for the kernel logger); flags 0
** leaves a normal session. Sets in->enable_flags, system_logger, guid.
** Call after in->newfile is set. Returns 0, or -1 (kernel logger without
** flags, or with NEWFILE). */
int winp_kernel_plan(const char *name, uint32_t flags, const uint8_t fresh[16],
                     winp_props_in *in);

/* ---------------------------------------------- provider enumeration */

/* TdhEnumerateProviders' PROVIDER_ENUMERATION_INFO (x64 == x86):
** {u32 NumberOfProviders, u32 Reserved, TRACE_PROVIDER_INFO[n]}, each
** {GUID ProviderGuid, u32 SchemaSource (0 manifest, 1 MOF), u32
** ProviderNameOffset} = 24 bytes; names are NUL-terminated UTF-16LE at
** their offset from the start of the blob. */
enum { WINP_PEI_HEAD = 8, WINP_TPI_SIZE = 24, WINP_TPI_OFF_SOURCE = 16, WINP_TPI_OFF_NAME = 20 };

/* Find provider `name` (UTF-8, len bytes) in the blob: names compare
** case-insensitively for ASCII letters (how Windows matches provider
** names; provider names are ASCII in practice), other characters
** exactly. Several matches: the first manifest one (SchemaSource 0), else
** the first. Entries whose offsets fall outside the blob are skipped; a
** count larger than the blob holds is cut to what fits. Returns 0 and the
** GUID's 16 bytes in out, or -1 (not found, bad UTF-8, blob too short). */
int winp_provenum_find(const uint8_t *blob, size_t len, const char *name, size_t name_len,
                       uint8_t out[16]);

/* FlushTimer seconds for flush_ms (spec §2.2): real time max(1, ceil(ms/1000));
** files 0 stays 0 (flush when full or at stop), else the same rounding. */
uint32_t winp_flush_seconds(uint32_t flush_ms, int realtime);

/* LogFileMode for `in` (always INDEPENDENT_SESSION); 0 when the combination
** is invalid (circular + new-file, new-file without %d). */
uint32_t winp_logfile_mode(const winp_props_in *in);

/* Build the 4,216-byte block for StartTraceW in out[0..WINP_PROPS_BLOCK):
** zeroed, Wnode.BufferSize = 4216, Flags = TRACED_GUID, ClientContext = 1
** (QPC), LoggerNameOffset = 120 (the name itself is left for StartTraceW to
** copy), LogFileNameOffset = 120 + 2048 with the UTF-16LE path there, or 0.
** Returns 0, or -1 (bad mode combination, path too long / not UTF-8,
** buffer_kb out of range). */
int winp_props_build(uint8_t out[WINP_PROPS_BLOCK], const winp_props_in *in);

/* The zeroed block QUERY / STOP / FLUSH / QueryAllTraces slots take (§2.5). */
void winp_props_query(uint8_t out[WINP_PROPS_BLOCK]);

/* Statistics out of a block ControlTraceW or QueryAllTracesW filled. */
typedef struct winp_props_stats {
  uint32_t buffer_kb, min_buffers, max_buffers, max_file_mb, log_file_mode, flush_timer;
  uint32_t buffers, free_buffers, events_lost, buffers_written, log_buffers_lost,
      rt_buffers_lost;
  uint64_t handle;
  char name[WINP_SESSION_NAME_MAX * 3 + 1];   /* UTF-8, from LoggerNameOffset */
  char file[1024 * 3 + 1];                    /* UTF-8, from LogFileNameOffset, or "" */
} winp_props_stats;
void winp_props_read(const uint8_t *block, size_t len, winp_props_stats *st);

/* Session names (spec §2.1, §6): 1..200 bytes, no NUL. 1 if valid. */
int winp_name_valid(const char *name, size_t len);
/* Does `name` carry our prefix (case-insensitively)? */
int winp_name_is_ours(const char *name);
/* "etwlua-<purpose>-<pid>" into out; returns its length or -1 if it does not fit. */
int winp_name_make(char *out, size_t cap, const char *purpose, uint32_t pid);
/* pid of a generated name (its last "-<digits>"), or 0 if it has none. */
uint32_t winp_name_pid(const char *name);

/* ------------------------------- EnableTraceEx2 parameters (spec §2.4) */

#define WINP_FILTER_PID          0x80000004u
#define WINP_FILTER_EXE_NAME     0x80000008u
#define WINP_FILTER_PAYLOAD      0x80000100u
#define WINP_FILTER_EVENT_ID     0x80000200u
#define WINP_FILTER_EVENT_NAME   0x80000400u
#define WINP_MAX_FILTERS         8
/* the payload limits are engine.h's (ENG_FILTER_MAX_*): callers check them */

#define WINP_PROP_SID                0x001u
#define WINP_PROP_TS_ID              0x002u
#define WINP_PROP_STACK_TRACE        0x004u
#define WINP_PROP_IGNORE_KEYWORD_0   0x010u
#define WINP_PROP_PROCESS_START_KEY  0x080u

enum {
  WINP_ETP_SIZE = 48,          /* ENABLE_TRACE_PARAMETERS x64 */
  WINP_ETP_OFF_VERSION = 0, WINP_ETP_OFF_PROPERTY = 4, WINP_ETP_OFF_CONTROLFLAGS = 8,
  WINP_ETP_OFF_SOURCEID = 12, WINP_ETP_OFF_FILTERDESC = 32, WINP_ETP_OFF_FILTERCOUNT = 40,
  WINP_EFD_SIZE = 16,          /* EVENT_FILTER_DESCRIPTOR {u64 Ptr, u32 Size, u32 Type} */
  WINP_ETP_VERSION_2 = 2
};

typedef struct winp_enable_in {
  uint32_t properties;                 /* WINP_PROP_* */
  const uint8_t *source_id;            /* 16 bytes or NULL (zero) */
  const uint32_t *pids; size_t npids;  /* <= 8 */
  const char *exe_names;               /* UTF-8, names joined by ';', or NULL */
  const uint16_t *event_ids; size_t nids; int ids_in;   /* <= 64; ids_in 1 keep, 0 drop */
  const char *const *event_names; size_t nnames; int names_in;
  uint8_t names_level; uint64_t names_any, names_all;
} winp_enable_in;

/* Everything EnableTraceEx2's last argument points to, in one block:
** ENABLE_TRACE_PARAMETERS at offset 0, the descriptor array after it, then
** each payload; descriptor Ptr fields hold real addresses inside `buf`, so
** the block must not move after building. */
typedef struct winp_enable_block {
  uint8_t buf[WINP_ETP_SIZE + WINP_MAX_FILTERS * WINP_EFD_SIZE + 16384];
  size_t len;
  uint32_t nfilters;
} winp_enable_block;

/* Returns 0 or -1 (too many PIDs / ids, names too long, bad UTF-8). */
int winp_enable_build(winp_enable_block *b, const winp_enable_in *in);

/* Individual payloads (return bytes written, or -1 if `cap` is too small or
** the input breaks a limit): */
int winp_filter_pids(uint8_t *out, size_t cap, const uint32_t *pids, size_t n);
int winp_filter_exe(uint8_t *out, size_t cap, const char *names);
int winp_filter_event_ids(uint8_t *out, size_t cap, const uint16_t *ids, size_t n, int filter_in);
int winp_filter_event_names(uint8_t *out, size_t cap, const char *const *names, size_t n,
                            int filter_in, uint8_t level, uint64_t any, uint64_t all);

/* ------------------------------------------------ time (spec §4.4) */

#define WINP_FILETIME_UNIX_EPOCH 116444736000000000LL   /* 1970-01-01 in FILETIME */

/* FILETIME (100 ns since 1601) <-> Unix time in ns. */
int64_t winp_filetime_to_unix_ns(int64_t ft);
int64_t winp_unix_ns_to_filetime(int64_t ns);

/* Raw session-clock stamps -> FILETIME (WNODE_HEADER remarks): clock 1 QPC
** (scale 1e7 / perf_freq), 2 system time (scale 1), 3 CPU cycles (scale
** 10 / cpu_mhz). base = start_ft - scale * first_raw; FILETIME = base +
** scale * raw. A zero perf_freq / cpu_mhz falls back to `fallback_freq`. */
typedef struct winp_clock {
  uint32_t clock_type;
  int64_t perf_freq;
  uint32_t cpu_mhz;
  int64_t start_ft;
  int64_t first_raw;
} winp_clock;
int64_t winp_raw_to_filetime(const winp_clock *c, int64_t raw, int64_t fallback_freq);

/* ---------------------------------- TDH schema cache (spec §5.3) */

/* Schema cache key (spec §5.3 Decide): provider, id, version, opcode, level,
** classic flag; two records share a schema iff their keys are equal. */
typedef struct winp_schema_key {
  uint8_t provider[16];
  uint16_t id;
  uint8_t version, opcode, level, classic;
} winp_schema_key;
uint64_t winp_schema_key_hash(const winp_schema_key *k);

/* The schema cache's table (win_schema_cache.c; win_tdh_cache.c fills it
** from TDH): key -> blob, open addressing, doubling at 3/4 load up to
** `max_entries` kinds. Blobs never move (records point at them) and are
** freed with the cache. A NULL blob records "TDH has no schema". */
typedef struct winp_schema_cache winp_schema_cache;
winp_schema_cache *winp_schema_cache_new(uint32_t max_entries);
void winp_schema_cache_free(winp_schema_cache *c);
/* 1 and *blob / *len (NULL / 0: no schema) when cached, else 0 */
int winp_schema_cache_find(const winp_schema_cache *c, const winp_schema_key *k,
                           const uint8_t **blob, uint32_t *len);
/* Keep `blob` (malloc'd, now the cache's) for `k`: 0; -1 when full or out
** of memory -- the blob stays the caller's. */
int winp_schema_cache_put(winp_schema_cache *c, const winp_schema_key *k, uint8_t *blob,
                          uint32_t len);
uint32_t winp_schema_cache_count(const winp_schema_cache *c);


/* ------------------------------------- Win32 results (spec §2.3, §4.3, §5.3) */

/* The Win32 error codes the backend decides on (winerror.h values). */
#define WINP_ERR_SUCCESS                 0u
#define WINP_ERR_FILE_NOT_FOUND          2u
#define WINP_ERR_PATH_NOT_FOUND          3u
#define WINP_ERR_ACCESS_DENIED           5u
#define WINP_ERR_INVALID_HANDLE          6u
#define WINP_ERR_NOT_ENOUGH_MEMORY       8u
#define WINP_ERR_OUTOFMEMORY             14u
#define WINP_ERR_BAD_LENGTH              24u
#define WINP_ERR_NOT_SUPPORTED           50u
#define WINP_ERR_INVALID_PARAMETER       87u
#define WINP_ERR_CALL_NOT_IMPLEMENTED    120u
#define WINP_ERR_INSUFFICIENT_BUFFER     122u
#define WINP_ERR_BAD_PATHNAME            161u
#define WINP_ERR_ALREADY_EXISTS          183u
#define WINP_ERR_MORE_DATA               234u
#define WINP_ERR_NOACCESS                998u    /* a ProcessTrace callback faulted */
#define WINP_ERR_NOT_FOUND               1168u
#define WINP_ERR_CANCELLED               1223u   /* BufferCallback said FALSE */
#define WINP_ERR_NO_SYSTEM_RESOURCES     1450u
#define WINP_ERR_TIMEOUT                 1460u
#define WINP_ERR_INVALID_TIME            1901u
#define WINP_ERR_ACTIVE_CONNECTIONS      2402u   /* session already stopping */
#define WINP_ERR_WMI_INSTANCE_NOT_FOUND  4201u   /* no such (real-time) session */
#define WINP_ERR_WMI_TRY_AGAIN           4203u
#define WINP_ERR_WMI_SERVER_UNAVAILABLE  4208u   /* WMI service down: transient */
#define WINP_ERR_CTX_CLOSE_PENDING       7007u   /* CloseTrace: success, pending */

/* A Win32 error of a controller call as an eng_status (ENG_* value). */
int winp_status(uint32_t err);

/* How a consumer's source ended: ProcessTrace's return `pt` (win_consumer.c)
** as what eng_consumer_next says once the queue is drained. `stopping`: we
** ended it ourselves (CloseTrace, BufferCallback FALSE), so any status is a
** normal end. 0 / 1223 -> ENG_E_STOPPED; 4201 (session missing or not
** real-time) -> ENG_E_NOTFOUND; 5 -> ENG_E_ACCESS; 998 (a callback
** faulted), 6 (file from a newer Windows), 1901 and the rest -> ENG_E_IO. */
int winp_trace_end_status(uint32_t pt, int stopping);

/* Before OpenTraceW of a real-time consumer: ControlTraceW(QUERY) said
** `query_rc` with LogFileMode `mode`. ENG_OK to go on; ENG_E_NOTFOUND (no
** such session), ENG_E_BUSY (a file-only session: ETW delivers nothing in
** real time, as a shm file session's consumer is its writer), ENG_E_ACCESS. */
int winp_consumer_precheck(uint32_t query_rc, uint32_t mode);

/* StartTraceW said ERROR_ALREADY_EXISTS for `name`: take the name over
** (1: stop the running session and start again) only when the caller asked
** (`replace`) or the name is an etwlua-<purpose>-<pid> name whose pid is not
** a live etwlua (`alive(pid)` == 0: stale). Otherwise 0: ENG_E_EXISTS -- it
** may be another tool's session, a Windows one (EventLog-System), or a live
** etwlua's. */
int winp_start_takeover(const char *name, int replace, int (*alive)(uint32_t pid));

/* Should a TdhGetEventInformation failure be remembered for that event kind?
** Only answers that stay true (1168 no schema, 2 provider binary missing,
** 87 bad record); 4208 (WMI down), memory and size races are retried. */
int winp_tdh_failure_cacheable(uint32_t err);

/* Value maps for a TDH schema (win_tdh_maps.c): TRACE_EVENT_INFO names a
** property's map but does not carry it; fetch(ctx, name, &info, &len) gets
** the map named by the NUL-terminated UTF-16LE text at `name` as an
** EVENT_MAP_INFO (malloc'd, freed here; nonzero status: no map). On 0,
** *out is NULL when the TEI has no maps (use it as is), else a malloc'd
** copy with each numeric map appended in schema_map.h's layout and the
** properties pointed at it; -1 when out of memory. */
typedef uint32_t (*winp_map_fetch)(void *ctx, const uint8_t *name, uint8_t **info,
                                   uint32_t *len);
int winp_tdh_add_maps(const uint8_t *tei, uint32_t len, winp_map_fetch fetch, void *ctx,
                      uint8_t **out, uint32_t *out_len);

/* The two-call size pattern of TdhGetEventInformation / ...MapInformation /
** QueryAllTraces: call(ctx, NULL, &size) asks the size, then call(ctx, buf,
** &size) fills; ERROR_INSUFFICIENT_BUFFER again (the answer grew between
** the calls) retries with the new size, up to `tries` rounds. Returns the
** last Win32 status; on 0, *out (malloc'd, caller frees) and *len. */
typedef uint32_t (*winp_sized_fn)(void *ctx, uint8_t *buf, uint32_t *size);
uint32_t winp_two_call(winp_sized_fn call, void *ctx, int tries, uint8_t **out, uint32_t *len);

/* NEWFILE file name pattern for engine.h's max_mb rotation (spec §2.2): a
** path with "%d" is used as is; else "_%d" goes before the extension
** ("C:\t\out.etl" -> "C:\t\out_%d.etl", "trace" -> "trace_%d") and
** any other '%' is doubled, since ETW formats the name with the counter.
** ETW counts from 1: out_1.etl, out_2.etl, ... Returns the length, or -1
** when it does not fit `cap`. */
int winp_newfile_pattern(const char *path, char *out, size_t cap);


/* ---------------------------------- console control events (spec §6) */

/* What the console handler does for one event, in this order (win_ctrl.c
** runs the steps). Ctrl+C, Ctrl+Break and console close take the host's
** interruption path: the C runtime's SIGINT handler for Ctrl+C, SIGTERM for
** Ctrl+Break and close (Windows has no SIGHUP; those are the SIGTERM / SIGHUP
** counterparts). The host's handler marks the interruption FIRST, then the
** consumers are woken, so a woken c:run() already sees it was interrupted. */
enum winp_ctrl_step {
  WINP_STEP_END = 0,
  WINP_STEP_CALL_HOST,      /* call the host's handler for `sig` */
  WINP_STEP_WAKE,           /* eng_consumer_stop every live consumer */
  WINP_STEP_ARM_WATCHDOG,   /* the blocked wait must return within 3 s, or stop all + exit */
  WINP_STEP_WAIT_OWNED,     /* give the Lua thread up to 4 s to stop its sessions */
  WINP_STEP_STOP_OWNED,     /* ControlTrace(STOP) every session still owned */
  WINP_STEP_EXIT            /* ExitProcess(130) */
};
enum { WINP_HOST_HANDLER = 0, WINP_HOST_IGNORE = 1, WINP_HOST_DEFAULT = 2 };
#define WINP_CTRL_MAX_STEPS 6
typedef struct winp_ctrl_plan {
  int sig;                       /* 2 SIGINT, 15 SIGTERM, 0 none */
  uint8_t steps[WINP_CTRL_MAX_STEPS + 1];   /* ends with WINP_STEP_END */
  int handled;                   /* the handler's return: 1 TRUE, 0 FALSE (next handler / exit) */
} winp_ctrl_plan;

/* The signal number an event takes (CTRL_C 0 -> 2, CTRL_BREAK 1 and
** CTRL_CLOSE 2 -> 15, others 0). */
int winp_ctrl_signal(uint32_t type);

/* The plan for event `type` given the host's disposition for its signal
** (WINP_HOST_*), whether a consumer wait is blocked right now (`waiting`:
** an interrupted run that must return) and whether an earlier press of
** the same run is still being watched (`watched`: a second press stops
** everything at once). */
void winp_ctrl_decide(uint32_t type, int host, int waiting, int watched, winp_ctrl_plan *p);

#endif
