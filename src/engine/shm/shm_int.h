/*
** shm_int.h: internals shared by the files of the POSIX engine (prefix shm_,
** hidden visibility). shm_os.c: files, processes, futex, clock;
** shm_ctl.c: registry and enable state; shm_ring.c: ring records;
** shm_session.c, shm_provider.c, shm_consumer.c: the engine.h nouns.
*/
#ifndef SHM_INT_H
#define SHM_INT_H

#include <limits.h>
#include <sys/types.h>
#include <time.h>

#include "shm_layout.h"

#if defined(__GNUC__)
#define SHM_HIDDEN __attribute__((visibility("hidden")))
#define SHM_LIKELY(x) __builtin_expect(!!(x), 1)
#define SHM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define SHM_HIDDEN
#define SHM_LIKELY(x) (x)
#define SHM_UNLIKELY(x) (x)
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#define SHM_PATH_MAX 4096

/* ================================================================ shm_os.c */

/* errno -> eng_status (EACCES/EPERM -> ACCESS, ENOMEM -> NOMEM, else IO). */
SHM_HIDDEN int shm_errno_status(int err);

/* Resolve and create the runtime directory (see shm_layout.h), check it is
** ours and private. Writes the path to `out`. */
SHM_HIDDEN int shm_runtime_dir(char *out, size_t cap);

/* Open an existing engine file read-write and check it: regular, owned by
** the effective uid, no group/other bits. *size = its size. */
SHM_HIDDEN int shm_file_open(const char *path, int *fd, uint64_t *size);

/* Create `path` (must not exist) 0600 with `size` bytes of zeros. */
SHM_HIDDEN int shm_file_create(const char *path, uint64_t size, int *fd);

/* mmap shared read-write; ENG_OK or ENG_E_NOMEM/IO. */
SHM_HIDDEN int shm_map(int fd, uint64_t off, uint64_t len, void **out);

/* Process identity. shm_pid() and shm_pid_start() are cached (reset in a
** fork child); shm_proc_alive says whether (pid, start) still runs
** (a zombie counts as dead unless other threads of it still run, as after
** pthread_exit() in main; start 0 = not checked). */
SHM_HIDDEN int32_t shm_pid(void);
SHM_HIDDEN uint64_t shm_pid_start(void);
SHM_HIDDEN uint64_t shm_proc_start(int32_t pid);
SHM_HIDDEN int shm_proc_alive(int32_t pid, uint64_t start);
/* The calling process's pid namespace (inode of /proc/self/ns/pid; 0 =
** unknown; cached, reset in a fork child), and shm_proc_alive for a process
** recorded with namespace `ns`: one of another namespace counts as alive. */
SHM_HIDDEN uint64_t shm_pidns(void);
/* ENG_E_BUSY, with the detail that this `what` was inherited across fork()
** from process `owner`, to which it belongs. */
SHM_HIDDEN int shm_not_mine(int32_t owner, const char *what);
SHM_HIDDEN int shm_proc_alive_ns(int32_t pid, uint64_t start, uint64_t ns);
SHM_HIDDEN uint32_t shm_gettid(void);

/* Bumped in every fork child (pthread_atfork, installed by shm_os_init). */
extern SHM_HIDDEN _Atomic unsigned shm_fork_gen;
SHM_HIDDEN void shm_os_init(void);

/* futex on a shared word: wait while *w == val, at most timeout_ms (< 0 = no limit). */
SHM_HIDDEN void shm_futex_wait(_Atomic uint32_t *w, uint32_t val, int timeout_ms);
SHM_HIDDEN void shm_futex_wake(_Atomic uint32_t *w);
/* wake_seq++ and wake its waiters (async-signal-safe). */
SHM_HIDDEN void shm_wake(shm_sess_hdr *h);

/* Clock: shm_clock_kind() is decided once per process (TSC when the kernel's
** clocksource is tsc, else CLOCK_MONOTONIC). */
SHM_HIDDEN int shm_clock_kind(void);
SHM_HIDDEN int64_t shm_mono_ns(void);
SHM_HIDDEN int64_t shm_real_ns(void);
extern SHM_HIDDEN int shm_clock_kind_cached;

static inline uint64_t shm_ticks(void) {
#if defined(__x86_64__) || defined(__i386__)
  if (SHM_LIKELY(shm_clock_kind_cached == SHM_CLOCK_TSC)) return __rdtsc();
#endif
  return (uint64_t)shm_mono_ns();
}

/* Current CPU: the rseq area glibc registers (one load), else sched_getcpu. */
SHM_HIDDEN uint32_t shm_cpu_slow(void);
#if defined(__GLIBC__) && defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#define SHM_HAVE_RSEQ 1
#endif
#endif
static inline uint32_t shm_cpu(void) {
#ifdef SHM_HAVE_RSEQ
  if (SHM_LIKELY(__rseq_size > 0)) {
    const struct rseq *r = (const struct rseq *)(const void *)
        ((const char *)__builtin_thread_pointer() + __rseq_offset);
    int32_t cpu = (int32_t)*(volatile const uint32_t *)&r->cpu_id;
    if (SHM_LIKELY(cpu >= 0)) return (uint32_t)cpu;
  }
#endif
  return shm_cpu_slow();
}

/* =============================================================== shm_ctl.c */

typedef struct shm_reg {
  shm_reg_hdr *hdr;
  size_t len;
  uid_t euid;
  char dir[SHM_PATH_MAX];
} shm_reg;

/* The process's registry, opened (created) on first use. ENG_E_ACCESS if the
** effective uid changed since. Thread-safe. */
SHM_HIDDEN int shm_reg_get(shm_reg **out);

/* Lock / unlock the registry (repairs after a holder died). */
SHM_HIDDEN int shm_reg_lock(shm_reg *r);
SHM_HIDDEN void shm_reg_unlock(shm_reg *r);

SHM_HIDDEN shm_sess_slot *shm_reg_slot(shm_reg *r, uint32_t i);
SHM_HIDDEN shm_prov_entry *shm_reg_prov(shm_reg *r, uint32_t i);

/* Session file path of (slot, gen). */
SHM_HIDDEN void shm_sess_path(const shm_reg *r, uint32_t slot, uint32_t gen, char *out, size_t cap);

/* Under the lock: the entry for `id`, created if `create` (ENG_E_FULL). */
SHM_HIDDEN int shm_prov_find(shm_reg *r, const tlg_guid *id, int create, shm_prov_entry **out);
/* Under the lock: set / clear session (slot, gen)'s enable in `e`. */
SHM_HIDDEN int shm_prov_set(shm_prov_entry *e, uint32_t slot, uint32_t gen, uint8_t level,
                            uint64_t any, uint64_t all);
SHM_HIDDEN void shm_prov_clear(shm_prov_entry *e, uint32_t slot);
/* Under the lock: clear `slot` from every entry; count entries enabling it. */
SHM_HIDDEN void shm_prov_clear_all(shm_reg *r, uint32_t slot);
SHM_HIDDEN uint32_t shm_prov_count(shm_reg *r, uint32_t slot, uint32_t gen);

/* One session's enable, as the write path copies it out of an entry. */
typedef struct shm_route {
  uint32_t slot, gen, level_plus1;
  uint64_t any, all;
} shm_route;

static inline void shm_route_read(shm_prov_entry *e, unsigned n, shm_route *r) {
  for (unsigned i = 0; i < n; i++) {
    shm_prov_sess *s = &e->sess[i];
    r[i].slot = atomic_load_explicit(&s->sess, memory_order_relaxed) - 1;
    r[i].gen = atomic_load_explicit(&s->sess_gen, memory_order_relaxed);
    r[i].level_plus1 = atomic_load_explicit(&s->level_plus1, memory_order_relaxed);
    r[i].any = atomic_load_explicit(&s->any, memory_order_relaxed);
    r[i].all = atomic_load_explicit(&s->all, memory_order_relaxed);
  }
}

/* Seqlock read of e's sessions into r[SHM_SESS_PER_PROV]; returns how many,
** or -1 if a writer held the entry for all of a bounded number of tries
** (then shm_prov_route_locked reads it: giving up would lose the event
** for every session, uncounted). */
static inline int shm_prov_route(shm_prov_entry *e, shm_route *r) {
  for (int tries = 0; tries < 64; tries++) {
    uint32_t g = atomic_load_explicit(&e->merged.gen, memory_order_acquire);
    if (g & 1) continue;
    unsigned n = atomic_load_explicit(&e->nsess, memory_order_relaxed);
    if (n > SHM_SESS_PER_PROV) n = SHM_SESS_PER_PROV;
    shm_route_read(e, n, r);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&e->merged.gen, memory_order_relaxed) == g) return (int)n;
  }
  return -1;
}

/* The slow path: e's sessions read under the registry lock (which repairs
** an entry a dead writer left odd). -1 if the lock is unusable. */
SHM_HIDDEN int shm_prov_route_locked(shm_reg *reg, shm_prov_entry *e, shm_route *r);

static inline int shm_route_match(const shm_route *r, uint8_t level, uint64_t kw) {
  return level < r->level_plus1 && (kw == 0 || ((kw & r->any) != 0 && (kw & r->all) == r->all));
}

/* ============================================================ shm_session.c */

/* A validated mapping of a whole session file, with private copies of the
** header's constants (the shared ones are never trusted again). */
typedef struct shm_smap {
  shm_sess_hdr *hdr;
  uint8_t *base;
  uint64_t len;
  uint32_t slot, gen, max_rings, flush_ms, min_buffers, clock_kind, mode, buffer_kb;
  uint64_t ring_size, ring_stride, ring_off;
  int64_t ticks0, mono0, real0;
} shm_smap;

SHM_HIDDEN int shm_smap_open(shm_reg *r, uint32_t slot, uint32_t gen, shm_smap *m);
SHM_HIDDEN void shm_smap_close(shm_smap *m);
/* Check a session header's geometry against a file of `size` bytes. */
SHM_HIDDEN int shm_sess_hdr_check(const shm_sess_hdr *h, uint64_t size);
static inline shm_ring_ctl *shm_smap_ctl(const shm_smap *m, uint32_t i) {
  return (shm_ring_ctl *)(void *)(m->base + m->ring_off + (uint64_t)i * m->ring_stride);
}
static inline uint8_t *shm_smap_data(const shm_smap *m, uint32_t i) {
  return m->base + m->ring_off + (uint64_t)i * m->ring_stride + SHM_CTL_SIZE;
}
/* Find a running session by name (under the lock); slot index or -1. */
SHM_HIDDEN int shm_sess_find(shm_reg *r, const char *name);

/* ============================================================== shm_ring.c */

#include "shm_ring.h"                /* the producer half: writer, event, inline write */

/* What the consumer found at a ring's tail. */
typedef struct shm_view {
  uint32_t type;                    /* shm_rec_type */
  uint32_t size;                    /* bytes to advance */
  uint64_t ticks;                   /* EVENT */
  uint64_t lost_total, seq;         /* LOST */
} shm_view;

/* Validate the record at `tail` of a ring with `avail` = head - tail bytes
** published; fill `rec` (events) and `v`. Returns ENG_OK or ENG_E_CORRUPT. */
SHM_HIDDEN int shm_ring_parse(const uint8_t *data, uint64_t size, uint64_t tail, uint64_t avail,
                              shm_view *v, rec_record *rec);

/* ========================================================== shm_provreg.c */

/* This process registered / unregistered provider id with these traits
** (the file etwlua providers lists; best effort, never fails). */
SHM_HIDDEN void shm_provreg_add(const tlg_guid *id, const uint8_t *traits, size_t len);
SHM_HIDDEN void shm_provreg_remove(const tlg_guid *id, const uint8_t *traits, size_t len);

/* =========================================================== shm_consumer.c */

/* FILETIME of 1970-01-01. */
#define SHM_FILETIME_1970 116444736000000000LL

/* Under the registry lock: consume session (slot, gen), claiming it. With
** `watch_flush`, next() also returns ENG_E_TIMEOUT as soon as a flush is
** requested (the file writer's consumer). */
SHM_HIDDEN int shm_consumer_open_slot(shm_reg *r, uint32_t slot, uint32_t gen, int watch_flush,
                                      eng_consumer **out);
/* The last flush_req the consumer saw. */
SHM_HIDDEN uint32_t shm_consumer_flush_seen(const eng_consumer *c);

/* ============================================================ shm_provider.c */

/* The header of an event written on behalf of another task (kernel samples). */
typedef struct shm_sample_hdr {
  uint64_t ticks;
  uint32_t pid, tid, cpu;
} shm_sample_hdr;

/* Write one event with header h into session (slot, gen) only. */
SHM_HIDDEN int shm_write_to(shm_reg *r, uint32_t slot, uint32_t gen, const shm_sample_hdr *h,
                            const tlg_guid *provider, const uint8_t *traits, uint32_t traits_len,
                            const tlg_desc *desc, size_t n, const eng_data *data);

/* ============================================================ shm_kernel.c */

/* What shm_kernel.c needs of a session handle (shm_session.c fills it). */
typedef struct shm_kview {
  shm_reg *reg;
  uint32_t slot, gen;
  const shm_smap *m;
  int mine;                         /* this process owns the session and made the handle */
  struct shm_kernel **kernel;       /* the handle's kernel sources, NULL until the first */
} shm_kview;
SHM_HIDDEN void shm_session_kview(eng_session *s, shm_kview *v);

/* End the handle's kernel sources (bridge joined, fds closed); NULL ok. */
SHM_HIDDEN void shm_kernel_end(struct shm_kernel *k);

/* ============================================================== shm_file.c */

/* The file writer of a file-mode session: a thread of the owner process
** that consumes the session and writes the ETL file (etl_write.h). */
typedef struct shm_drain shm_drain;

/* Create the file (header buffer written) and start the thread on
** consumer `c` (taken over, also on failure). ENG_OK, ENG_E_IO/ACCESS
** (errno), ENG_E_NOMEM. */
SHM_HIDDEN int shm_drain_start(const char *name, const eng_session_opts *o, const shm_smap *m,
                               eng_consumer *c, shm_drain **out);

/* Wait for the thread (it ends when the session stops: the file is then
** closed and its final counts are in the session header), then free. In a
** fork child (no thread there) this does nothing. */
SHM_HIDDEN void shm_drain_join(shm_drain *d);

/* File statistics from the session header into st (any process). */
SHM_HIDDEN void shm_file_stats(const shm_sess_hdr *h, eng_session_stats *st);

/* Request a flush and wait for the writer (file modes; any process). */
SHM_HIDDEN int shm_file_flush(shm_sess_hdr *h);

#endif
