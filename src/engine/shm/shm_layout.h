/*
** shm_layout.h: the shared-memory layout of the POSIX session engine
** (DESIGN §3): every byte other processes see, its versioning, the record
** format, the ONLY accessors of ring head and tail, and the barrier diagram.
** Shared memory is untrusted: readers copy a field once, then bounds-check.
*/
#ifndef SHM_LAYOUT_H
#define SHM_LAYOUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/*
** ==================================================================== files
** All files live in one runtime directory per user: $ETWLUA_RUNTIME_DIR, else
** $XDG_RUNTIME_DIR/etwlua, else /dev/shm/etwlua-<uid>, else /tmp/etwlua-<uid>
** (tmpfs preferred: rings are memory, never disk). The directory is 0700 and
** every file 0600; a directory or file not owned by the effective uid, or
** open to group/others, is refused (ENG_E_ACCESS).
**
**   registry        one per user: lock, session table, provider table
**                   (enable state). Created complete under a temporary name
**                   and link()ed in, so nobody ever maps a half-made one.
**   s<slot>-<gen>   one per session: header, ring directory, then max_rings
**                   rings, each a control page plus ring_size data bytes.
**                   Sparse: only pages of rings in use cost memory.
**
** Who writes what:
**   registry lock           whoever changes the tables (robust mutex: a holder
**                           that dies is recovered by the next one)
**   session table           session start / stop (under the lock)
**   provider entries        register (creates the entry) and session
**                           enable / disable / stop (under the lock); the
**                           entry's merged.gen is a seqlock for lock-free readers
**   session header          constant after start, except the wake line
**                           (producers, flush, stop, consumer; flush_done
**                           by the owner's file writer), the consumer line
**                           (consumer open/close) and the stats (consumer;
**                           noring_lost by producers; file_* by the writer)
**   ring directory entry    producer: FREE -> CLAIMED -> ACTIVE -> CLOSED;
**                           consumer: CLOSED or dead owner -> FREE
**   ring control page       producer: head, events, lost; consumer: tail,
**                           lost_seen (so a new consumer never repeats a notice)
**   ring data               producer, between tail and head + size
**
** ================================================================ versions
** `version` changes with any layout change; a reader accepts a file whose
** `compat_version` is <= SHM_VERSION and whose `magic` matches (else
** ENG_E_VERSION). Reserved bytes are zero and ignored.
*/
#define SHM_VERSION 2                /* 2: flush handshake and file statistics (file modes) */
#define SHM_COMPAT_VERSION 1        /* version-1 readers ignore what 2 added */
#define SHM_REG_MAGIC 0x52574c45u   /* "ELWR" little-endian: etwlua registry */
#define SHM_SESS_MAGIC 0x53574c45u  /* "ELWS": etwlua session */

#define SHM_PAGE 4096u
#define SHM_MAX_SESSIONS 64u        /* like ETW's 64 loggers */
#define SHM_MAX_PROVIDERS 1024u     /* distinct provider ids per user */
#define SHM_SESS_PER_PROV 8u        /* like ETW: <= 8 sessions per provider */
#define SHM_MAX_RINGS 4096u
#define SHM_NAME_CAP 256u           /* > ENG_SESSION_NAME_MAX + 1 */

/*
** ================================================================ registry
*/
typedef struct shm_reg_hdr {
  uint32_t magic;                   /* SHM_REG_MAGIC */
  uint16_t version, compat_version;
  uint32_t size;                    /* bytes of the whole file */
  uint32_t hdr_size;                /* offset of the session table */
  uint32_t max_sessions, sess_stride;
  uint32_t max_providers, prov_stride;
  uint32_t prov_off;                /* offset of the provider table */
  uint32_t reserved0;
  uint8_t reserved[216];            /* to 256 */
  union {                           /* 256: robust, process-shared */
    pthread_mutex_t m;
    uint8_t pad[128];
  } lock;
} shm_reg_hdr;

enum shm_slot_state { SHM_SLOT_FREE = 0, SHM_SLOT_LIVE = 1 };

/* One entry of the session table. `gen` grows each time the slot is used,
** so (slot, gen) names one session for ever, and its file is s<slot>-<gen>. */
typedef struct shm_sess_slot {
  _Atomic uint32_t state;           /* shm_slot_state */
  _Atomic uint32_t gen;
  int32_t owner_pid;
  uint32_t mode;                    /* eng_mode */
  uint64_t owner_start;             /* owner's start time (/proc/pid/stat #22) */
  uint32_t name_len;
  uint32_t reserved0;
  char name[SHM_NAME_CAP];          /* NUL-terminated */
  uint64_t owner_pidns;             /* owner's pid namespace (inode; 0 = unknown) */
  uint8_t reserved[24];
} shm_sess_slot;

/* One session's enable of a provider. */
typedef struct shm_prov_sess {
  _Atomic uint32_t sess;            /* session slot + 1; 0 = unused */
  _Atomic uint32_t sess_gen;        /* that session's gen */
  _Atomic uint32_t level_plus1;     /* L ? L + 1 : 256 */
  uint32_t reserved;
  _Atomic uint64_t any, all;
} shm_prov_sess;

/* One provider id: the merged state eng_enabled reads, and the per-session
** enables the write path routes by. Writers (under the registry lock):
**   gen++ (odd); fence; change sess[], nsess, merged; gen++ (even, release).
** Readers: g = gen (acquire); if odd retry; read; fence; gen == g or retry,
** a bounded number of times, then read under the registry lock (the writer
** is done by then; one that died holding gen odd is repaired by the lock's
** next holder, this reader included). eng_enabled reads merged without the
** seqlock: a racing update may give one stale answer, as on Windows. */
typedef struct shm_prov_entry {
  eng_enable_state merged;          /* 24 bytes; merged.gen is the seqlock */
  _Atomic uint32_t nsess;           /* sess[0..nsess) are used */
  uint32_t used;                    /* id is set (entries are never freed) */
  tlg_guid id;
  uint8_t reserved[16];             /* to 64 */
  shm_prov_sess sess[SHM_SESS_PER_PROV];
} shm_prov_entry;

/*
** ================================================================= session
*/
/* Timestamps: producers store raw ticks (rdtsc is ~10 ns, clock_gettime
** ~25 ns). At start the session records one reference (ticks0, mono0,
** real0). The consumer converts: ns = (ticks - ticks0) * (mono1 - mono0) /
** (ticks1 - ticks0), where (ticks1, mono1) is its own newest reading, taken
** again whenever a record is newer than it by more than 1/64 of the span, so
** the rate error stays near one clock read however long the session runs;
** FILETIME = (real0 + ns) / 100 + 116444736000000000. */
enum shm_clock_kind {
  SHM_CLOCK_MONO = 1,               /* ticks = CLOCK_MONOTONIC ns */
  SHM_CLOCK_TSC = 2                 /* ticks = x86 TSC (kernel clocksource is tsc) */
};

typedef struct shm_sess_hdr {
  /* constant after start */
  uint32_t magic;                   /* SHM_SESS_MAGIC */
  uint16_t version, compat_version;
  uint32_t hdr_size;                /* offset of ring 0 = ring_off */
  uint32_t slot, gen;
  uint32_t max_rings;
  uint64_t file_size;
  uint64_t ring_size;               /* data bytes per ring; power of two */
  uint64_t ring_stride;             /* SHM_CTL_SIZE + ring_size */
  uint64_t ring_off;                /* offset of ring 0's control page */
  uint32_t flush_ms, mode;
  uint32_t buffer_kb, min_buffers;
  uint32_t clock_kind, reserved0;   /* shm_clock_kind */
  int64_t ticks0, mono0, real0;     /* clock reference taken at start (ns) */
  uint8_t reserved[152];            /* to 256 */
  /* 256: wake line */
  _Atomic uint32_t wake_seq;        /* futex word: bumped to wake the consumer */
  _Atomic uint32_t sleeping;        /* consumer is (about to be) in futex_wait */
  _Atomic uint32_t stopped;         /* session stopped: drain and end */
  _Atomic uint32_t flush_req;       /* file modes: eng_session_flush bumps it ... */
  _Atomic uint32_t flush_done;      /* ... the owner's writer stores it when done (futex word) */
  uint8_t pad1[44];
  /* 320: consumer line */
  _Atomic int32_t consumer_pid;     /* 0 = none */
  uint32_t reserved1;
  _Atomic uint64_t consumer_start;
  _Atomic uint64_t noring_seen;     /* noring_lost already reported in-band */
  _Atomic uint64_t consumer_pidns;  /* consumer's pid namespace (inode; 0 = unknown) */
  uint8_t pad2[32];
  /* 384: stats */
  _Atomic uint32_t reclaim_seq;     /* seqlock of the consumer's ring reclaims */
  _Atomic uint32_t corrupt;         /* records/rings rejected */
  _Atomic uint64_t retired_events;  /* events/lost of reclaimed rings */
  _Atomic uint64_t retired_lost;
  _Atomic uint64_t noring_lost;     /* producers: events dropped, no ring free */
  _Atomic uint64_t file_written;    /* file modes, written by the owner's writer: events */
  _Atomic uint64_t file_bytes;      /* bytes of the ETL file(s) */
  _Atomic uint64_t file_dropped;    /* events the writer refused (too large, I/O error) */
  _Atomic uint32_t file_count;      /* files begun */
  _Atomic int32_t file_error;       /* errno of the first failed write */
  /* The owner's kernel bridge (shm_kernel.c): every kernel sample stamped
  ** before this many ticks is in a ring already; 0 = no kernel source. The
  ** consumer holds records newer than it (bounded, shm_consumer.c). Old
  ** writers leave it 0. */
  _Atomic uint64_t kernel_wm;
  uint8_t pad3[56];
  /* 512: ring directory, max_rings entries of (pid << 32) | shm_ring_state */
  _Atomic uint64_t ring_dir[];
} shm_sess_hdr;

enum shm_ring_state {
  SHM_RING_FREE = 0,
  SHM_RING_CLAIMED = 1,             /* a producer is setting it up */
  SHM_RING_ACTIVE = 2,              /* a producer thread writes it */
  SHM_RING_CLOSED = 3               /* its thread ended; drain, then FREE */
};
#define SHM_DIR(pid, state) (((uint64_t)(uint32_t)(pid) << 32) | (uint32_t)(state))
#define SHM_DIR_STATE(e) ((uint32_t)((e) & 0xffu))
#define SHM_DIR_PID(e) ((int32_t)(uint32_t)((e) >> 32))

/* A ring's control page; the data follows it. head and tail are free-running
** byte counts (never wrap in practice) masked by ring_size - 1. */
typedef struct shm_ring_ctl {
  int32_t pid, tid;                 /* producer, set at claim */
  uint64_t pid_start;
  uint64_t pidns;                   /* producer's pid namespace (inode; 0 = unknown) */
  uint8_t pad0[104];
  /* 128: producer line */
  _Atomic uint64_t head;            /* only via shm_ring_read_head / write_head */
  _Atomic uint64_t events;          /* events written */
  _Atomic uint64_t lost;            /* events dropped (cumulative) */
  uint8_t pad1[104];
  /* 256: consumer line */
  _Atomic uint64_t tail;            /* only via shm_ring_read_tail / write_tail */
  _Atomic uint64_t lost_seen;       /* lost events already reported to a consumer */
  uint8_t pad2[112];
} shm_ring_ctl;
#define SHM_CTL_SIZE SHM_PAGE

/*
** ======================================================== ring protocol
** Single producer (one thread), single consumer (one process).
**
**   producer                                  consumer
**   t = shm_ring_read_tail()   (acquire) C    h = shm_ring_read_head()   (acquire) B
**   if head + need - t > size: drop, lost++   parse records in [tail, h)
**   write the record's bytes at head          shm_ring_write_tail(t')    (release) D
**   shm_ring_write_head(head + need) (release) A
**
**   A pairs with B: a consumer that sees the new head sees every byte of the
**   record before it, so a producer killed mid-write never publishes a torn
**   record. D pairs with C: space the producer sees freed is no longer read.
**   The producer reads tail only when its cached copy says the ring is full.
**
** Wake-ups (Dekker; futex word = wake_seq):
**
**   producer, when head passes wake_at        consumer, nothing to read
**   shm_ring_write_head          (release)    store sleeping = 1
**   atomic_thread_fence(seq_cst)         E    atomic_thread_fence(seq_cst)   F
**   if sleeping: wake_seq++, futex_wake       s = wake_seq; look at every head
**                                             if none moved: futex_wait(wake_seq, s,
**                                                            flush_ms); sleeping = 0
**
**   E pairs with F: either the producer sees sleeping and wakes the consumer,
**   or the consumer's second look sees the new head. wake_at advances by
**   ring_size / 4, so data below that waits at most flush_ms (latency bound)
**   and a busy producer pays one fence per quarter ring.
**
** Flush (file modes): eng_session_flush bumps flush_req and wakes the
** consumer as above. The owner's writer looks at flush_req whenever it finds
** nothing to read (its consumer then never sleeps) and after every record;
** it drains what is there, writes the file, stores flush_done = the
** flush_req it saw (release) and futex-wakes flush_done, on which flushers
** wait (bounded: the writer's process may die).
*/
static inline uint64_t shm_ring_read_head(shm_ring_ctl *c) {
  return atomic_load_explicit(&c->head, memory_order_acquire);      /* B */
}
static inline void shm_ring_write_head(shm_ring_ctl *c, uint64_t head) {
  atomic_store_explicit(&c->head, head, memory_order_release);      /* A */
}
static inline uint64_t shm_ring_read_tail(shm_ring_ctl *c) {
  return atomic_load_explicit(&c->tail, memory_order_acquire);      /* C */
}
static inline void shm_ring_write_tail(shm_ring_ctl *c, uint64_t tail) {
  atomic_store_explicit(&c->tail, tail, memory_order_release);      /* D */
}

/*
** ================================================================= records
** Every record starts with {u32 size, u32 type}; size counts the header,
** is a multiple of 8 and never crosses the end of the data area (a PAD
** record fills the rest instead). Type 0 is invalid, so zeroed or stale
** memory is caught. All integers are native-endian (one machine).
**
**   PAD    nothing more; skip size bytes.
**   EVENT  shm_rec_event, then [activity 16] [related 16] (if flagged),
**          traits, meta, data (lengths below), zero padding to 8.
**   LOST   lost_total = events this thread dropped so far (cumulative, so
**          the consumer reports each drop exactly once); seq = the
**          sequence number of the next event.
** The descriptor is the 16-byte EVENT_DESCRIPTOR, the provider id a GUID in
** memory order, ticks the session clock (see shm_sess_hdr.clock_kind); the
** consumer converts them to FILETIME with the session's reference pair.
*/
enum shm_rec_type { SHM_REC_PAD = 1, SHM_REC_EVENT = 2, SHM_REC_LOST = 3 };

typedef struct shm_rec {
  uint32_t size;
  uint32_t type;
} shm_rec;

enum shm_ev_flags { SHM_EV_ACTIVITY = 1, SHM_EV_RELATED = 2 };

typedef struct shm_rec_event {
  shm_rec h;
  uint64_t ticks;
  uint64_t seq;                     /* per-thread sequence number */
  uint32_t pid, tid;
  uint32_t cpu;
  uint16_t flags;                   /* shm_ev_flags */
  uint16_t traits_len;
  uint32_t meta_len;
  uint32_t data_len;
  uint8_t desc[16];
  uint8_t provider[16];
} shm_rec_event;                    /* 80 bytes */

typedef struct shm_rec_lost {
  shm_rec h;
  uint64_t lost_total;
  uint64_t seq;
} shm_rec_lost;                     /* 24 bytes */

#define SHM_REC_MAX (256u * 1024u)  /* largest record; also <= ring_size / 2 - 24 (a LOST record) */

static inline uint32_t shm_align8(uint64_t n) { return (uint32_t)((n + 7) & ~(uint64_t)7); }

_Static_assert(sizeof(shm_reg_hdr) <= SHM_PAGE, "registry header fits its page");
_Static_assert(sizeof(shm_sess_slot) == 320 && sizeof(shm_ring_ctl) == 384, "slot and ring control sizes");
/* Other processes share these words: an atomic that needs a lock would
** take a process-private lock, which protects nothing across processes. */
#if defined(__GNUC__)
_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0) &&
               __atomic_always_lock_free(sizeof(uint32_t), 0),
               "32- and 64-bit atomics must be lock-free (shared across processes)");
#else
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
               "32- and 64-bit atomics must be lock-free (shared across processes)");
#endif
_Static_assert(sizeof(shm_rec_event) == 80, "event record header is 80 bytes");
_Static_assert(sizeof(shm_rec_lost) == 24, "lost record is 24 bytes");
_Static_assert(sizeof(shm_prov_entry) == 320, "provider entry is 320 bytes");
_Static_assert(offsetof(shm_ring_ctl, head) == 128 && offsetof(shm_ring_ctl, tail) == 256,
               "head and tail on their own cache lines");
_Static_assert(offsetof(shm_sess_hdr, wake_seq) == 256 && offsetof(shm_sess_hdr, ring_dir) == 512,
               "session header lines");
_Static_assert(sizeof(tlg_desc) == 16 && offsetof(tlg_desc, keyword) == 8,
               "tlg_desc is the EVENT_DESCRIPTOR layout");

#endif
