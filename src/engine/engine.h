/*
** engine.h: THE backend interface (DESIGN §1, §3, §4). One implementation
** is linked in: engine/shm (POSIX shared-memory sessions) or engine/win (ETW).
** Three nouns, each an opaque handle:
**   eng_provider  register / enabled / write / unregister    (EventRegister...)
**   eng_session   start / open / enable / disable / flush / query / stop / list
**   eng_consumer  open on a session / next record / stop / close
**   eng_source    what a consumer reads: a live session or .etl files, one
**                 interface for both (eng_source.c)
** Every function returns 0 (ENG_OK) or an eng_status; eng_strerror names it.
** Nothing here raises, longjmps, allocates on the write path, or calls Lua.
*/
#ifndef ENG_ENGINE_H
#define ENG_ENGINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "tlg_types.h"
#include "rec_record.h"

/* ---------------------------------------------------------------- status */

typedef enum eng_status {
  ENG_OK = 0,
  ENG_E_ARG,          /* invalid argument (NULL, name too long, bad option) */
  ENG_E_NOMEM,        /* out of memory */
  ENG_E_NOTFOUND,     /* no session of that name */
  ENG_E_EXISTS,       /* a running session already has that name */
  ENG_E_ACCESS,       /* permission denied: runtime dir or file of another user */
  ENG_E_FULL,         /* a table is full: sessions, providers, 8 sessions per provider */
  ENG_E_BUSY,         /* the session already has a live consumer */
  ENG_E_UNSUPPORTED,  /* not implemented by this backend (e.g. file modes on Windows for now) */
  ENG_E_TIMEOUT,      /* consumer: nothing arrived within the timeout */
  ENG_E_STOPPED,      /* the session was stopped (consumer: and every record was read) */
  ENG_E_INTERRUPTED,  /* consumer: eng_consumer_stop was called */
  ENG_E_LOST,         /* write: a session's buffer was full; the event was dropped and counted */
  ENG_E_TOOBIG,       /* write: the event does not fit a session buffer */
  ENG_E_VERSION,      /* shared memory written by an incompatible etwlua */
  ENG_E_CORRUPT,      /* shared memory failed validation */
  ENG_E_IO,           /* a system call failed (errno tells why) */
  ENG_STATUS_COUNT
} eng_status;

/* Message for a status code; never NULL. */
const char *eng_strerror(int status);

/* Message for a status the calling thread's last engine call returned: the
** backend's own words when it recorded them for that status (the shm
** engine: which runtime directory is refused, why, and how to fix it),
** else eng_strerror(status). Never NULL. */
const char *eng_detail(int status);

/* ETW enable semantics (DESIGN §2): an event (level l, keyword k) is enabled
** for a session (level L, any A, all B) iff
**   (L == 0 or l <= L) and (k == 0 or (k & A != 0 and k & B == B)).
** eng_session_enable stores A == 0 as ~0 (every keyword), as ETW does, so
** a stored A is never 0. */
static inline int eng_match(uint8_t l, uint64_t k, uint8_t L, uint64_t A, uint64_t B) {
  return (L == 0 || l <= L) && (k == 0 || ((k & A) != 0 && (k & B) == B));
}

/* -------------------------------------------------------------- provider */

/* Merged enable state of one provider over every session that enables it
** (spec windows-etw §1.3, TraceLoggingDynamic's scheme): level_plus1 = 0
** when disabled, else max over sessions of (L ? L + 1 : 256); any = OR of
** the sessions' A; all = AND of their B. A superset of what each session
** takes, so eng_enabled never says "no" to an event some session wants.
** Writers store any/all before level_plus1 (release); gen changes on every
** update (the shm backend uses it as a seqlock). Opaque to callers. */
typedef struct eng_enable_state {
  _Atomic uint32_t level_plus1;
  _Atomic uint32_t gen;
  _Atomic uint64_t any;
  _Atomic uint64_t all;
} eng_enable_state;

/* The first member of every backend's eng_provider, so eng_enabled can be
** inlined: the backend points `state` at its live enable state. */
typedef struct eng_provider_head {
  const eng_enable_state *state;
} eng_provider_head;

typedef struct eng_provider eng_provider;

/* Register provider `id` with its traits blob (TraceLogging provider
** metadata, spec §3.2: u16 size | name | traits), which is copied. The
** provider starts with the enable state of every session that already
** enables `id`, and follows later enables, disables and stops.
** Returns ENG_OK and *out, or ENG_E_ARG (NULL, traits_len > 65535),
** ENG_E_NOMEM, ENG_E_ACCESS / ENG_E_IO / ENG_E_VERSION (runtime directory
** unusable), ENG_E_FULL (provider table full); *out = NULL on error.
** Thread-safe. The same id may be registered many times. */
int eng_provider_register(const tlg_guid *id, const void *traits, size_t traits_len,
                          eng_provider **out);

/* Is an event of `level` and `keyword` enabled by at least one session?
** (keyword 0 = "any keyword", like EventProviderEnabled.) Two or three
** plain loads; never a system call. Thread-safe, also against enables.
** May answer "yes" for an event no single session takes (merged masks);
** eng_provider_write filters exactly per session. */
#if defined(__GNUC__)
#define ENG_UNLIKELY_ON(x) __builtin_expect(!!(x), 1)   /* the disabled path is the hot one */
#else
#define ENG_UNLIKELY_ON(x) (x)
#endif
static inline int eng_enabled(const eng_provider *p, uint8_t level, uint64_t keyword) {
  const eng_enable_state *s = ((const eng_provider_head *)(const void *)p)->state;
  uint32_t lp1 = atomic_load_explicit(&s->level_plus1, memory_order_acquire);
  if (ENG_UNLIKELY_ON(level >= lp1)) return 0;
  if (keyword == 0) return 1;
  uint64_t any = atomic_load_explicit(&s->any, memory_order_relaxed);
  uint64_t all = atomic_load_explicit(&s->all, memory_order_relaxed);
  return (keyword & any) != 0 && (keyword & all) == all;
}

/* Is the provider enabled at all (any level, any keyword)? */
static inline int eng_enabled_any(const eng_provider *p) {
  const eng_enable_state *s = ((const eng_provider_head *)(const void *)p)->state;
  return atomic_load_explicit(&s->level_plus1, memory_order_acquire) != 0;
}

/* One piece of an event, as an EVENT_DATA_DESCRIPTOR: type says which
** block it belongs to (the SDK's Type byte; spec windows-etw §1.4). */
enum eng_data_type {
  ENG_DATA_PAYLOAD = 0,        /* field data */
  ENG_DATA_EVENT_META = 1,     /* TraceLogging event metadata (spec §3.3) */
  ENG_DATA_PROVIDER_META = 2   /* provider traits (spec §3.2) */
};
typedef struct eng_data {
  const void *ptr;
  uint32_t size;
  uint8_t type;                /* eng_data_type */
  uint8_t reserved[3];
} eng_data;

/* Write one event, like EventWriteTransfer(h, desc, activity, related, n, data):
** blocks of the same type are concatenated in order. Without an
** ENG_DATA_PROVIDER_META block the registered traits are used. activity and
** related may be NULL (then not recorded: Windows writes a zero activity id,
** never the thread's current one). The event goes to every session
** whose own level/any/all take desc->level/keyword (eng_match).
** Returns ENG_OK (written, or nobody listening), ENG_E_LOST (dropped by at
** least one full session; counted there and reported in-band), ENG_E_TOOBIG,
** ENG_E_ARG, ENG_E_CORRUPT (the shm registry lock is unusable). No locks,
** no system call, no allocation after the calling thread's first write to
** a session, except (shm engine) while another process changes this
** provider's enables: a write that finds the change still going on after a
** few tries reads the sessions under the registry lock, so it is never lost
** uncounted. Thread-safe; the provider must not be
** unregistered concurrently. Safe after fork() in the child. */
int eng_provider_write(eng_provider *p, const tlg_desc *desc, const tlg_guid *activity,
                       const tlg_guid *related, size_t n, const eng_data *data);

/* Reserve, then commit: an event whose payload the caller writes in place
** (event templates: the values are encoded straight into the session's
** ring, never into a scratch buffer that is copied). The event is the one
** eng_provider_write(p, desc, activity, related, 2, {meta, payload}) would
** write, with the registered traits. */
#define ENG_RESERVE_LOCAL 512   /* the largest payload a reservation takes */
typedef struct eng_reserve {
  uint8_t *payload;            /* data_len bytes for the caller to fill, or NULL */
  /* the backend's state until commit: not for the caller */
  eng_provider *p;
  const tlg_desc *desc;
  const void *meta;
  const tlg_guid *activity, *related;
  uint32_t meta_len, data_len;
  uint64_t priv[32];
  uint8_t local[ENG_RESERVE_LOCAL];  /* backends that cannot write in place */
} eng_reserve;

/* Open the event's record: on ENG_OK with rv->payload set, the caller
** writes exactly data_len bytes there and must call eng_provider_commit
** from this same thread (the reservation lives in the thread's rings),
** before any other write from it. ENG_OK with rv->payload NULL:
** no session takes the event (nothing to commit). Errors (rv->payload
** NULL, nothing to commit): ENG_E_ARG (NULL p/desc, meta_len && !meta,
** data_len > ENG_RESERVE_LOCAL), ENG_E_LOST (every session that takes it
** is full: dropped and counted), ENG_E_TOOBIG, ENG_E_NOMEM, ENG_E_CORRUPT,
** as eng_provider_write. A session disabled or stopped between reserve
** and commit gets the event as a write racing it would. desc, meta,
** activity and related must stay valid until commit. */
int eng_provider_reserve(eng_provider *p, const tlg_desc *desc, const void *meta,
                         uint32_t meta_len, const tlg_guid *activity, const tlg_guid *related,
                         uint32_t data_len, eng_reserve *rv);
/* An event shape prepared once (a template's): desc and event metadata,
** laid out as the backend writes them, so a reservation of it copies one
** image. desc and meta are copied. Returns ENG_OK and *out, ENG_E_ARG,
** ENG_E_NOMEM. Free it before its provider is unregistered. */
typedef struct eng_prepared eng_prepared;
int eng_prepare(eng_provider *p, const tlg_desc *desc, const void *meta, uint32_t meta_len,
                eng_prepared **out);
void eng_prepared_free(eng_prepared *e);
/* eng_provider_reserve of the prepared event: same results and contract. */
int eng_prepared_reserve(const eng_prepared *e, const tlg_guid *activity, const tlg_guid *related,
                         uint32_t data_len, eng_reserve *rv);
/* Publish a reserved event (in every session that takes it). Returns ENG_OK,
** or ENG_E_LOST when a second session was full (dropped there, counted). */
int eng_provider_commit(eng_reserve *rv);

/* Writes an event's payload in place: exactly data_len bytes at dst. */
typedef void (*eng_fill_fn)(void *ctx, uint8_t *dst);
/* eng_prepared_reserve, then fill(ctx, payload) when a session takes the
** event, then eng_provider_commit, in one call: the same event, results
** and contract (data_len <= ENG_RESERVE_LOCAL), with nothing kept between
** the halves. fill runs at most once, on the calling thread, and must not
** write events itself. ENG_E_ARG also for a NULL fill. */
int eng_prepared_write(const eng_prepared *e, const tlg_guid *activity, const tlg_guid *related,
                       uint32_t data_len, eng_fill_fn fill, void *ctx);

/* The id of the provider registered on this system under `name` (len
** bytes of UTF-8), for enabling it by name. Windows: the Linux-Kernel-*
** aliases of eng_sysprov.h, then the manifest and MOF providers
** TdhEnumerateProviders lists (read once per process; names compare
** ASCII-case-insensitively, as Windows does). Returns ENG_OK and *out;
** ENG_E_NOTFOUND when no registered provider has that name (callers then
** take the TraceLogging id, tlg_provider_id); ENG_E_UNSUPPORTED for a name
** this backend reserves but cannot enable (shm: Linux-Kernel-* without a
** kernel source), with eng_detail. Thread-safe. */
int eng_provider_resolve(const char *name, size_t len, tlg_guid *out);

/* Release the provider (not the sessions' enables of its id). NULL is a
** no-op. Not concurrently with writes on the same provider. */
void eng_provider_unregister(eng_provider *p);

/* --------------------------------------------------------------- session */

#define ENG_SESSION_NAME_MAX 200  /* bytes of UTF-8; compared ASCII-case-insensitively */

typedef enum eng_mode {
  ENG_MODE_REALTIME = 0,   /* records go to eng_consumer */
  ENG_MODE_FILE = 1,       /* the owner writes a sequential ETL file (rotating at max_mb) */
  ENG_MODE_CIRCULAR = 2    /* the owner keeps the newest max_mb in memory and writes them
                              to the ETL file at every flush and at stop */
} eng_mode;

/* File modes (shm backend; the Windows backend will map them to ETW's own).
** The owner process writes the file on a background thread that is the
** session's one consumer (eng_consumer_open then says ENG_E_BUSY). The
** file follows spec etl-format §12 (src/etl/etl_write.h): ETL buffers of
** buffer_kb, one per CPU, header patched at every flush and at stop.
**   file      buffers reach the file as they fill, and partial ones at
**             eng_session_flush and at least every max(flush_ms, 1 s), so a
**             killed owner leaves a readable file up to that point. max_mb
**             > 0 starts a new file before one would exceed it: "out.etl",
**             "out_1.etl", "out_2.etl" ... (or "%d" in the path replaced by
**             1, 2, ...). Windows: ETW's NEWFILE mode numbers every file,
**             so the first is already "out_1.etl".
**   circular  the newest max_mb (default 64) of buffers stay in memory;
**             eng_session_flush and stop write them as the whole file, anew
**             (a temporary copy renamed over `file`).
** The owner's handle must stay open while the session runs: eng_session_close
** on it stops the session first. */

/* Session options; zero means "default". Buffers: each producer thread
** writing to the session gets its own ring of min_buffers x buffer_kb
** (rounded up to a power of two; default 2 MB, ~14 ms at 1M events/s);
** the session holds at most max_buffers buffers, so at most
** max_buffers / min_buffers producer-thread rings (default 64). Memory is
** taken as rings fill and given back when their threads end. */
typedef struct eng_session_opts {
  int mode;                /* eng_mode */
  const char *file;        /* ETL path for file modes */
  uint32_t buffer_kb;      /* default 64 (4..16384) */
  uint32_t min_buffers;    /* buffers per producer-thread ring, default 32 */
  uint32_t max_buffers;    /* whole session, default 2048 */
  uint32_t flush_ms;       /* longest a record waits for a sleeping consumer, default 100 */
  uint32_t max_mb;         /* file: rotate at this size (0 = never); circular: MB kept
                              (0 = 64; at least 2 buffers); realtime: must be 0 */
  int replace;             /* 1: a running session of that name is stopped and this one
                              started in its place (etw.Session(name, {replace = true}));
                              0: ENG_E_EXISTS unless that session is stale */
  uint32_t file_mode;      /* file modes, POSIX: permission bits of the files created
                              (before the umask; 0 = 0600); ignored by ETW */
  uint32_t kernel_flags;   /* Windows: EVENT_TRACE_FLAG_* groups (eng_sysprov.h) for the
                              NT kernel logger (session "NT Kernel Logger", which needs
                              them) or, any other name, a private system logger; shm:
                              must be 0 (ENG_E_UNSUPPORTED) */
} eng_session_opts;

typedef struct eng_session eng_session;

/* Start session `name` (1..ENG_SESSION_NAME_MAX bytes, no NUL). A session of
** that name whose owner died (stale) is stopped and replaced, a live one
** only with opts->replace (Windows: a session whose owner is unknown --
** another tool's, a system one, a name without etwlua's "-<pid>" suffix --
** counts as live; shm: its consumer gets ENG_E_STOPPED, its owner's handle
** then says ENG_E_STOPPED, a file mode's writer finishes its file). The calling
** process becomes the owner. File modes need opts->file; the file is
** created (truncated) and gets its header buffer before this returns.
** Returns ENG_OK and *out, or ENG_E_ARG, ENG_E_EXISTS (a running session has
** that name), ENG_E_FULL (64 sessions), ENG_E_ACCESS / ENG_E_IO (runtime
** directory, or the ETL file cannot be created: errno says why),
** ENG_E_NOMEM, ENG_E_UNSUPPORTED (a backend without file modes). */
int eng_session_start(const char *name, const eng_session_opts *opts, eng_session **out);

/* Attach to a running (or stale) session to control it, without owning it
** (ControlTrace by name). Returns ENG_E_NOTFOUND, ENG_E_ACCESS, ... */
int eng_session_open(const char *name, eng_session **out);

/* Enable provider `id` in the session with level L (0 = all levels), any A
** (0 = every keyword, as EnableTraceEx2 treats MatchAnyKeyword 0), all B; again for the same provider updates them (EnableTraceEx2). The
** provider need not be registered yet. Producers see it at their next
** eng_enabled. Returns ENG_E_STOPPED if the session is gone, ENG_E_FULL
** (provider table full or 8 sessions already enable `id`). Thread-safe. */
int eng_session_enable(eng_session *s, const tlg_guid *id, uint8_t level, uint64_t any,
                       uint64_t all);

/* What EnableTraceEx2's ENABLE_TRACE_PARAMETERS add to an enable (spec
** windows-etw §2.4): extended data the session attaches to each event, and
** filters the provider applies before writing. Zero = none. Only the ETW
** backend implements them; the shm engine answers ENG_E_UNSUPPORTED for any
** non-zero field (its consumers filter on the record instead). */
enum eng_enable_property {
  ENG_PROP_SID = 0x001,               /* ext item 2: the writer's user SID */
  ENG_PROP_TS_ID = 0x002,             /* ext item 3: terminal session id */
  ENG_PROP_STACK = 0x004,             /* ext item 5/6: call stack */
  ENG_PROP_IGNORE_KEYWORD_0 = 0x010,  /* keyword-0 events do not pass */
  ENG_PROP_PROCESS_START_KEY = 0x080, /* ext item 13 */
  ENG_PROP_EVENT_KEY = 0x100,         /* ext item 10 */
  ENG_PROP_ALL = 0x197
};
#define ENG_FILTER_MAX_PIDS 8
#define ENG_FILTER_MAX_IDS 64
/* exe_names: the UTF-16 string, NUL included, stays below this many bytes */
#define ENG_FILTER_MAX_EXE_BYTES 1024
/* event_names: a 20-byte header, then each name and its NUL, together at
** most ENG_FILTER_MAX_NAMES_BYTES */
#define ENG_FILTER_NAMES_HEADER 20
#define ENG_FILTER_MAX_NAMES_BYTES 4096
typedef struct eng_enable_opts {
  uint32_t properties;                /* eng_enable_property bits */
  const uint32_t *pids;               /* only these processes (alive at enable time) */
  size_t npids;                       /* <= ENG_FILTER_MAX_PIDS */
  const char *exe_names;              /* only these executables: "a.exe;b.exe" (UTF-8) */
  const uint16_t *event_ids;          /* manifest event ids (ignored by TraceLogging providers) */
  size_t nids;                        /* <= ENG_FILTER_MAX_IDS */
  int ids_exclude;                    /* 1: drop those ids, 0: keep only those */
  const char *const *event_names;     /* TraceLogging event names (Windows 10 1709+) */
  size_t nnames;
  int names_exclude;                  /* 1: drop those names, 0: keep only those */
} eng_enable_opts;

/* eng_session_enable with properties and filters (NULL opts = none). A new
** call for the same provider replaces the filters, as EnableTraceEx2 does.
** ENG_E_ARG when a list breaks its limit; ENG_E_UNSUPPORTED (see above). */
int eng_session_enable_ex(eng_session *s, const tlg_guid *id, uint8_t level, uint64_t any,
                          uint64_t all, const eng_enable_opts *opts);

/* Is any option set? */
static inline int eng_enable_opts_any(const eng_enable_opts *o) {
  return o && (o->properties || o->npids || (o->exe_names && *o->exe_names) || o->nids ||
               o->nnames);
}

/* Kernel sources (DESIGN §3b): names that are not TraceLogging providers
** but the system's own events, enabled on a session by name. Linux:
** "tracepoint:GROUP:NAME" (any tracefs tracepoint) and the named providers
** "Linux-Kernel-Process", ...; other backends have none yet (0). */
int eng_source_is_kernel(const char *name);

/* Enable kernel source `name` in the session: level/any/all as
** eng_session_enable; opts may carry pids (only those processes: their
** threads at enable time); other options: ENG_E_UNSUPPORTED. The session's owner
** process reads the kernel, so only its own handle may (else
** ENG_E_UNSUPPORTED); the sources end when the session stops or that
** handle is closed. Again for the same name updates it. Failures leave the
** session as it was and say why in eng_detail: ENG_E_NOTFOUND (no such
** tracepoint), ENG_E_ACCESS (needs root or CAP_PERFMON), ENG_E_ARG,
** ENG_E_IO, ENG_E_STOPPED. */
int eng_session_enable_source(eng_session *s, const char *name, uint8_t level, uint64_t any,
                              uint64_t all, const eng_enable_opts *opts);

/* Stop kernel source `name` (no-op if it is not enabled). */
int eng_session_disable_source(eng_session *s, const char *name);

/* One event a kernel source can give (etwlua providers). */
typedef struct eng_source_info {
  const char *provider;    /* "Linux-Kernel-Process", or "tracepoint:GROUP:NAME" */
  const char *event;       /* the event's name */
  const char *tracepoint;  /* "GROUP:NAME" it comes from */
  uint64_t keyword;
  uint8_t level, opcode;
} eng_source_info;

/* Call fn for each event of the named kernel providers, then, with
** `tracepoints`, for each tracepoint tracefs lists (fn's pointers are valid
** during the call; fn returns non-zero to stop). ENG_OK, or why the
** tracepoints cannot be listed (ENG_E_ACCESS, ENG_E_NOTFOUND, with
** eng_detail) after the named providers were. Backends without kernel
** sources list nothing. */
int eng_kernel_sources(int tracepoints, int (*fn)(void *ctx, const eng_source_info *in),
                       void *ctx);

/* A TraceLogging provider a running process of this user registered. */
typedef struct eng_user_provider {
  const char *name;        /* its name (from its traits) */
  tlg_guid id;
  uint32_t pid;            /* the process (one call per process that has it) */
} eng_user_provider;

/* Call fn for each provider registered by a running process of this user
** (fn's pointers are valid during the call; fn returns non-zero to stop).
** Records of processes that died are dropped on the way. ENG_OK, or why
** they cannot be listed; backends that cannot tell list nothing. */
int eng_user_providers(int (*fn)(void *ctx, const eng_user_provider *in), void *ctx);

/* Stop enabling `id` (no-op if it was not). ENG_E_STOPPED if the session is gone. */
int eng_session_disable(eng_session *s, const tlg_guid *id);

/* Wake the consumer so it reads everything written so far now instead of
** within flush_ms. File modes: also wait (up to 10 s) until the owner's
** writer has drained what was written before the call (bounded when
** producers never pause) and put it in the file: partial buffers and the
** header (file), the whole in-memory window (circular); ENG_E_TIMEOUT if it
** did not answer in time. From any process. ENG_E_STOPPED if the session is gone. */
int eng_session_flush(eng_session *s);

typedef struct eng_session_stats {
  uint64_t events;         /* events written into the session */
  uint64_t lost;           /* events dropped (buffer full, no ring free) */
  uint64_t bytes;          /* bytes written and not yet read */
  uint32_t buffers;        /* buffers in use (rings x min_buffers) */
  uint32_t rings;          /* producer-thread rings in use */
  uint32_t providers;      /* providers this session enables */
  uint32_t corrupt;        /* records or rings the consumer rejected */
  int32_t consumer_pid;    /* 0 = no consumer attached */
  uint32_t reserved;
  /* file modes (0 otherwise); `lost` also counts events the writer refused */
  uint64_t written;        /* events handed to the ETL writer (circular: incl. overwritten) */
  uint64_t file_bytes;     /* bytes of the ETL file(s) so far, rotated files included */
  uint32_t files;          /* files begun (rotation) */
  int32_t file_error;      /* errno of the first failed file write, 0 = none */
} eng_session_stats;

/* Statistics; exact once producers are quiet. ENG_E_STOPPED if gone, except
** on the handle that stopped the session: it keeps the final statistics of
** the moment of the stop (file modes: after the file was closed), as
** ControlTrace(STOP) returns them. */
int eng_session_query(eng_session *s, eng_session_stats *st);

/* Stop the session: every provider stops sending to it at its next write,
** its consumer reads what is left and then gets ENG_E_STOPPED, its name is
** free. File modes, on the owner's handle: returns once the writer has
** drained the rings and closed the file (header patched). Idempotent (a
** second stop returns ENG_OK). The handle stays valid until eng_session_close.
** A handle belongs to the process that made it: in a fork() child, stop on an
** inherited handle does nothing and returns ENG_E_BUSY (exit hooks rely on
** it to leave the parent's sessions alone). */
int eng_session_stop(eng_session *s);

/* Stop session `name` without a handle (`etwlua stop NAME`); works on stale
** sessions. ENG_E_NOTFOUND if there is none. */
int eng_session_stop_name(const char *name);

/* Release the handle; the session keeps running (stop it first to end it),
** except a file-mode session on its owner's handle, which is stopped (its
** writer lives in this handle). In a fork() child an inherited handle is
** only released, never stopped. NULL ok. */
void eng_session_close(eng_session *s);

typedef enum eng_session_state {
  ENG_SESSION_RUNNING = 0,
  ENG_SESSION_STALE = 1    /* its owner process died; stop or restart it */
} eng_session_state;

typedef struct eng_session_info {
  char name[ENG_SESSION_NAME_MAX + 1];
  int32_t owner_pid;
  int32_t consumer_pid;    /* 0 = none */
  int state;               /* eng_session_state */
  int mode;                /* eng_mode */
  uint32_t providers;
  uint64_t events, lost;
} eng_session_info;

/* The sessions of this user (logman query -ets). Fills up to `cap` entries
** and sets *count to the number of sessions (may exceed cap). */
int eng_sessions_list(eng_session_info *out, size_t cap, size_t *count);

/* -------------------------------------------------------------- consumer */

typedef struct eng_consumer eng_consumer;

/* Consume session `name` in real time. One consumer per session (a dead
** consumer's place is taken over; a file-mode session's consumer is its
** owner's file writer). Returns ENG_E_NOTFOUND, ENG_E_BUSY,
** ENG_E_ACCESS, ENG_E_NOMEM, ... (.etl files will be a second record source
** behind the same next(), yielding the same rec_record.) */
int eng_consumer_open(const char *name, eng_consumer **out);

/* Consume .etl files through the backend: Windows reads them with
** OpenTraceW + one ProcessTrace over all (merged by time; at most 64),
** attaching TDH schemas to manifest / MOF events. The same next() / stop /
** close; next() says ENG_E_STOPPED after the last record. Returns
** ENG_E_UNSUPPORTED where files are read by src/etl instead (shm engine;
** Windows under Wine, whose OpenTraceW is a stub), ENG_E_NOTFOUND,
** ENG_E_ACCESS, ENG_E_ARG (bad path), ENG_E_FULL (more than 64 files). */
int eng_consumer_open_files(const char *const *paths, size_t n, eng_consumer **out);

/* What the system read from file i's header (TRACE_LOGFILE_HEADER). */
typedef struct eng_file_info {
  int64_t start_time, end_time;          /* FILETIME */
  int64_t perf_freq;
  uint32_t events_lost, buffers_lost, buffers_written;
  uint32_t buffer_size, pointer_size, num_processors, clock_type;
  uint32_t log_file_mode, max_file_size, os_major, os_minor, os_build;
} eng_file_info;

/* ENG_E_ARG for i out of range, ENG_E_UNSUPPORTED for a live consumer. */
int eng_consumer_file_info(eng_consumer *c, size_t i, eng_file_info *out);

/* Next record into *rec; its pointers borrow shared memory and stay valid
** until the next call on `c`. kind REC_KIND_EVENT is an event; REC_KIND_LOST
** says rec->lost events of that producer thread were dropped here;
** REC_KIND_CORRUPT says rec->lost bytes of that thread's ring were rejected.
** Records of one producer thread arrive in order; threads interleave.
** timeout_ms < 0 waits forever, 0 polls. Returns ENG_OK, ENG_E_TIMEOUT,
** ENG_E_STOPPED (session stopped and drained), ENG_E_INTERRUPTED, or, once
** drained, why the source failed (Windows: ProcessTrace's error; a missing
** or file-only session ENG_E_NOTFOUND, ENG_E_ACCESS, ENG_E_IO). Not
** thread-safe: one thread calls next. A consumer belongs to the process that
** opened it: in a fork() child, next on an inherited one returns ENG_E_BUSY. */
int eng_consumer_next(eng_consumer *c, rec_record *rec, int timeout_ms);

/* Make a blocked or later next() return ENG_E_INTERRUPTED. Async-signal-safe
** (Windows: takes the consumer's lock, so a stop is never lost between
** next()'s check and its sleep; C runtime signal handlers run on the
** console-control thread there, never inside next()); callable from any
** thread. Idempotent. */
void eng_consumer_stop(eng_consumer *c);

/* Detach and free. NULL ok. Not concurrently with next or stop. In a fork()
** child an inherited consumer is only unmapped: the parent's read position
** and its consumer place are left as they are. */
void eng_consumer_close(eng_consumer *c);

/* ---------------------------------------------------------------- source */

/* A record source: a live session (eng_consumer), .etl files through the
** backend (eng_consumer_open_files) or .etl files read by src/etl
** (eng_files.h). All three hand up rec_record the same way, so the Lua
** binding has one code path for live and file input. */
typedef struct eng_source eng_source;

/* Who reads .etl files: the system's reader where there is one (Windows
** OpenTraceW) else src/etl (AUTO); only the system's (SYSTEM: else
** ENG_E_UNSUPPORTED); only src/etl (ETWLUA). */
typedef enum eng_reader { ENG_READER_AUTO = 0, ENG_READER_SYSTEM, ENG_READER_ETWLUA } eng_reader;

/* Live session `name`: eng_consumer_open's statuses. */
int eng_source_open_session(const char *name, eng_source **out);

/* .etl files, merged by timestamp (equal times in the order given).
** Returns ENG_OK and *out, or an eng_status with `why` set to a message
** ("path: why") when the reason is more than the status says (else ""). */
int eng_source_open_files(const char *const *paths, size_t n, eng_reader reader,
                          eng_source **out, char *why, size_t cap);

/* eng_consumer_next's contract (timeout_ms is ignored by file readers,
** which never wait). */
int eng_source_next(eng_source *s, rec_record *rec, int timeout_ms);
void eng_source_stop(eng_source *s);      /* async-signal-safe */
void eng_source_close(eng_source *s);     /* NULL ok */

/* The REC_KIND_CORRUPT record next() just returned: message (names the
** offset), *file (or NULL) and *offset; NULL when the source has no
** details (live sessions). Pointers valid until next(). */
const char *eng_source_corrupt_detail(eng_source *s, const char **file, uint64_t *offset);

/* What a source knows about file i (0-based) of its files. */
struct etl_info;
struct etl_stats;
typedef struct eng_source_file {
  const char *reader;             /* "etw" (the system's) or "etwlua" (src/etl) */
  const char *path;               /* etwlua: the path given; etw: NULL */
  const struct etl_info *etl;     /* etwlua: the file's header facts, else NULL */
  const struct etl_stats *stats;  /* etwlua: what the reader met so far, else NULL */
  eng_file_info sys;              /* etw: what the system reported (etl == NULL) */
} eng_source_file;

/* ENG_OK, or ENG_E_ARG past the last file / for a live session (which has
** none). Pointers valid until the source is closed. */
int eng_source_file_at(eng_source *s, size_t i, eng_source_file *out);

#endif
