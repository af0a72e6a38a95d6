/*
** shm_consumer.c: eng_consumer on the POSIX engine. Reads the session's
** rings round-robin, one published batch at a time (so one thread's records
** stay in order), validates every record, turns losses and rejected bytes
** into in-band notices, reclaims the rings of ended or dead producers, and
** sleeps on the session's futex at most flush_ms at a time.
*/
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shm_int.h"

typedef struct ring_priv {
  uint8_t dead;                     /* its producer process is gone */
  uint8_t broken;                   /* head/tail insane: ignored until reclaimed */
  int64_t last_ft;                  /* newest FILETIME handed out for this ring */
} ring_priv;

struct eng_consumer {
  shm_reg *reg;
  int32_t pid;                      /* the process that opened it (fork: a child's copy is not its) */
  shm_smap m;
  _Atomic int stop;
  int have;                         /* reading a batch of ring `cur` */
  int pending;                      /* `tail` not yet published */
  int final_scan;                   /* stopped: one more look before the end */
  uint32_t cur;
  uint64_t tail, head;              /* private tail, head snapshot of the batch */
  int64_t next_check;               /* mono ns of the next liveness sweep */
  uint64_t ticks1, refine_gap, mult;   /* clock: ns per tick << 32 */
  ring_priv *rp;
  int watch_flush;                  /* file writer: a flush request ends next() (TIMEOUT) */
  uint32_t flush_seen;              /* flush_req when next() last looked */
};

/* =============================================================== clock */

/* ns-per-tick from the session's reference pair to now; records older than
** the newest pair are interpolated, so the error stays near the cost of one
** clock read however long the session runs. */
static void refine(eng_consumer *c) {
  if (c->m.clock_kind != SHM_CLOCK_TSC) return;
  uint64_t t1 = shm_ticks();
  int64_t m1 = shm_mono_ns();
  uint64_t span = t1 - (uint64_t)c->m.ticks0;
  if ((int64_t)span > 0 && m1 > c->m.mono0) {
#ifdef __SIZEOF_INT128__
    c->mult = (uint64_t)(((unsigned __int128)(uint64_t)(m1 - c->m.mono0) << 32) / span);
#else
    c->mult = (uint64_t)((double)(m1 - c->m.mono0) / (double)span * 4294967296.0);
#endif
  }
  c->ticks1 = t1;
  c->refine_gap = span / 64 + 1;
}

static int64_t to_filetime(eng_consumer *c, uint64_t ticks) {
  int64_t ns;
  if (c->m.clock_kind == SHM_CLOCK_MONO) {
    ns = (int64_t)(ticks - (uint64_t)c->m.mono0);
  } else {
    if ((int64_t)(ticks - c->ticks1) > (int64_t)c->refine_gap) refine(c);
    int64_t dt = (int64_t)(ticks - (uint64_t)c->m.ticks0);
#ifdef __SIZEOF_INT128__
    __int128 v = ((__int128)dt * (__int128)c->mult) >> 32;
    ns = v > INT64_MAX / 2 ? INT64_MAX / 2 : v < INT64_MIN / 2 ? INT64_MIN / 2 : (int64_t)v;
#else
    ns = (int64_t)((double)dt * (double)c->mult / 4294967296.0);
#endif
  }
  if (ns > INT64_MAX / 4 || ns < INT64_MIN / 4) ns = 0;   /* garbage ticks */
  return (c->m.real0 + ns) / 100 + SHM_FILETIME_1970;
}

/* ============================================================ notices */

static void notice(eng_consumer *c, rec_record *rec, uint32_t ring, uint32_t kind, uint64_t n) {
  memset(rec, 0, sizeof *rec);
  rec->kind = kind;
  rec->lost = n;
  if (ring < c->m.max_rings) {
    shm_ring_ctl *ctl = shm_smap_ctl(&c->m, ring);
    rec->pid = (uint32_t)ctl->pid;
    rec->tid = (uint32_t)ctl->tid;
  }
  rec->timestamp = to_filetime(c, shm_ticks());
}

/* Report a ring's drops up to `total` (cumulative) once. */
static int lost_notice(eng_consumer *c, rec_record *rec, uint32_t ring, uint64_t total,
                       uint64_t seq) {
  shm_ring_ctl *ctl = shm_smap_ctl(&c->m, ring);
  uint64_t seen = atomic_load_explicit(&ctl->lost_seen, memory_order_relaxed);
  if (total <= seen) return 0;
  atomic_store_explicit(&ctl->lost_seen, total, memory_order_relaxed);
  notice(c, rec, ring, REC_KIND_LOST, total - seen);
  rec->seq = seq;
  return 1;
}

/* Drops of producers that found no free ring. */
static int noring_notice(eng_consumer *c, rec_record *rec) {
  shm_sess_hdr *h = c->m.hdr;
  uint64_t total = atomic_load_explicit(&h->noring_lost, memory_order_relaxed);
  uint64_t seen = atomic_load_explicit(&h->noring_seen, memory_order_relaxed);
  if (total <= seen) return 0;
  atomic_store_explicit(&h->noring_seen, total, memory_order_relaxed);
  notice(c, rec, UINT32_MAX, REC_KIND_LOST, total - seen);
  return 1;
}

static void corrupt_notice(eng_consumer *c, rec_record *rec, uint32_t ring, uint64_t bytes) {
  atomic_fetch_add_explicit(&c->m.hdr->corrupt, 1, memory_order_relaxed);
  notice(c, rec, ring, REC_KIND_CORRUPT, bytes);
}

/* ============================================================== rings */

/* A drained ring whose producer ended: account it, empty it, free it. The
** reclaim_seq seqlock keeps eng_session_query from counting it twice. */
static void reclaim(eng_consumer *c, uint32_t i) {
  shm_sess_hdr *h = c->m.hdr;
  shm_ring_ctl *ctl = shm_smap_ctl(&c->m, i);
  /* q | 1: a consumer that died inside a reclaim left it odd; end even */
  uint32_t q = atomic_load_explicit(&h->reclaim_seq, memory_order_relaxed) | 1u;
  atomic_store_explicit(&h->reclaim_seq, q, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  atomic_fetch_add_explicit(&h->retired_events, atomic_load_explicit(&ctl->events, memory_order_relaxed),
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&h->retired_lost, atomic_load_explicit(&ctl->lost, memory_order_relaxed),
                            memory_order_relaxed);
  atomic_store_explicit(&ctl->events, 0, memory_order_relaxed);
  atomic_store_explicit(&ctl->lost, 0, memory_order_relaxed);
  atomic_store_explicit(&ctl->lost_seen, 0, memory_order_relaxed);
  shm_ring_write_head(ctl, 0);
  shm_ring_write_tail(ctl, 0);
  atomic_store_explicit(&h->reclaim_seq, q + 1, memory_order_release);
  madvise(shm_smap_data(&c->m, i), c->m.ring_size, MADV_REMOVE);   /* give the pages back */
  c->rp[i].dead = c->rp[i].broken = 0;
  c->rp[i].last_ft = 0;
  atomic_store_explicit(&h->ring_dir[i], SHM_DIR(0, SHM_RING_FREE), memory_order_release);
}

/* Look at ring i: 1 = a batch to read, 2 = a notice in rec, 0 = nothing. */
static int visit(eng_consumer *c, uint32_t i, rec_record *rec) {
  uint64_t e = atomic_load_explicit(&c->m.hdr->ring_dir[i], memory_order_acquire);
  uint32_t state = SHM_DIR_STATE(e);
  if (state == SHM_RING_CLAIMED && c->rp[i].dead) {
    atomic_compare_exchange_strong_explicit(&c->m.hdr->ring_dir[i], &e, SHM_DIR(0, SHM_RING_FREE),
                                            memory_order_acq_rel, memory_order_relaxed);
    c->rp[i].dead = 0;
  }
  if (state != SHM_RING_ACTIVE && state != SHM_RING_CLOSED) return 0;
  int ended = state == SHM_RING_CLOSED || c->rp[i].dead;
  shm_ring_ctl *ctl = shm_smap_ctl(&c->m, i);
  if (c->rp[i].broken) {
    if (ended) reclaim(c, i);
    return 0;
  }
  uint64_t h = shm_ring_read_head(ctl), t = shm_ring_read_tail(ctl);
  if (h < t || h - t > c->m.ring_size || ((h | t) & 7)) {
    c->rp[i].broken = 1;
    corrupt_notice(c, rec, i, 0);
    return 2;
  }
  if (h != t) {
    c->cur = i;
    c->have = 1;
    c->tail = t;
    c->head = h;
    return 1;
  }
  if (lost_notice(c, rec, i, atomic_load_explicit(&ctl->lost, memory_order_relaxed), 0)) return 2;
  if (ended) reclaim(c, i);
  return 0;
}

/* Round-robin from the ring after the last one read. */
static int find(eng_consumer *c, rec_record *rec) {
  if (noring_notice(c, rec)) return 2;
  for (uint32_t k = 0; k < c->m.max_rings; k++) {
    uint32_t i = (c->cur + 1 + k) % c->m.max_rings;
    int r = visit(c, i, rec);
    if (r) return r;
  }
  return 0;
}

/* Next record of the current batch into rec: 1, or 0 when the batch is done. */
static int read_batch(eng_consumer *c, rec_record *rec) {
  const uint8_t *data = shm_smap_data(&c->m, c->cur);
  while (c->tail < c->head) {
    shm_view v;
    if (shm_ring_parse(data, c->m.ring_size, c->tail, c->head - c->tail, &v, rec) != ENG_OK) {
      uint64_t skipped = c->head - c->tail;
      c->tail = c->head;                /* resynchronise at the published head */
      c->pending = 1;
      corrupt_notice(c, rec, c->cur, skipped);
      return 1;
    }
    c->tail += v.size;
    c->pending = 1;
    if (v.type == SHM_REC_EVENT) {
      /* a thread's times never go back, whatever refine() did in between */
      int64_t ft = to_filetime(c, v.ticks);
      ring_priv *rp = &c->rp[c->cur];
      if (ft < rp->last_ft) ft = rp->last_ft;
      rec->timestamp = rp->last_ft = ft;
      return 1;
    }
    if (v.type == SHM_REC_LOST && lost_notice(c, rec, c->cur, v.lost_total, v.seq)) return 1;
  }
  return 0;
}

static void publish(eng_consumer *c) {
  if (c->pending) shm_ring_write_tail(shm_smap_ctl(&c->m, c->cur), c->tail);   /* D */
  c->pending = 0;
}

/* ============================================================ waiting */

/* Mark rings whose producer process is gone (pid + start time). */
static void sweep(eng_consumer *c) {
  for (uint32_t i = 0; i < c->m.max_rings; i++) {
    uint64_t e = atomic_load_explicit(&c->m.hdr->ring_dir[i], memory_order_acquire);
    uint32_t state = SHM_DIR_STATE(e);
    if (state == SHM_RING_CLAIMED)
      c->rp[i].dead = !shm_proc_alive(SHM_DIR_PID(e), 0);
    else if (state == SHM_RING_ACTIVE) {
      shm_ring_ctl *ctl = shm_smap_ctl(&c->m, i);
      c->rp[i].dead = !shm_proc_alive_ns(SHM_DIR_PID(e), ctl->pid_start, ctl->pidns);
    }
  }
}

static int any_data(eng_consumer *c) {
  shm_sess_hdr *h = c->m.hdr;
  if (atomic_load_explicit(&h->noring_lost, memory_order_relaxed) !=
      atomic_load_explicit(&h->noring_seen, memory_order_relaxed))
    return 1;
  for (uint32_t i = 0; i < c->m.max_rings; i++) {
    uint32_t state = SHM_DIR_STATE(atomic_load_explicit(&h->ring_dir[i], memory_order_acquire));
    if (state == SHM_RING_CLOSED) return 1;          /* to reclaim */
    if (state != SHM_RING_ACTIVE) continue;
    shm_ring_ctl *ctl = shm_smap_ctl(&c->m, i);
    if (shm_ring_read_head(ctl) != shm_ring_read_tail(ctl) ||
        atomic_load_explicit(&ctl->lost, memory_order_relaxed) !=
        atomic_load_explicit(&ctl->lost_seen, memory_order_relaxed))
      return 1;
  }
  return 0;
}

/* A flush was requested since next() last looked (file writer only). */
static int flush_pending(eng_consumer *c) {
  if (!c->watch_flush) return 0;
  uint32_t req = atomic_load_explicit(&c->m.hdr->flush_req, memory_order_acquire);
  if (req == c->flush_seen) return 0;
  c->flush_seen = req;
  return 1;
}

/* Sleep until woken, flush_ms, the next sweep or the deadline. */
static void sleep_once(eng_consumer *c, int64_t now, int64_t deadline) {
  shm_sess_hdr *h = c->m.hdr;
  int64_t until = c->next_check < deadline ? c->next_check : deadline;
  int64_t ms = (until - now + 999999) / 1000000;
  if (ms > c->m.flush_ms) ms = c->m.flush_ms;
  if (ms < 1) ms = 1;
  atomic_store_explicit(&h->sleeping, 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);                         /* F */
  uint32_t seq = atomic_load_explicit(&h->wake_seq, memory_order_acquire);
  if (!any_data(c) && !atomic_load_explicit(&h->stopped, memory_order_acquire) &&
      !atomic_load_explicit(&c->stop, memory_order_relaxed) &&
      !(c->watch_flush &&
        atomic_load_explicit(&h->flush_req, memory_order_relaxed) != c->flush_seen))
    shm_futex_wait(&h->wake_seq, seq, (int)ms);
  atomic_store_explicit(&h->sleeping, 0, memory_order_relaxed);
}

/* ================================================================ API */

int eng_consumer_next(eng_consumer *c, rec_record *rec, int timeout_ms) {
  if (!c || !rec) return ENG_E_ARG;
  if (SHM_UNLIKELY(c->pid != shm_pid())) return shm_not_mine(c->pid, "consumer");
  int64_t deadline = 0;                 /* read the clock only once there is nothing to read */
  publish(c);
  for (;;) {
    if (atomic_load_explicit(&c->stop, memory_order_acquire)) return ENG_E_INTERRUPTED;
    if (c->have) {
      if (read_batch(c, rec)) return ENG_OK;
      publish(c);
      c->have = 0;
    }
    int r = find(c, rec);
    if (r == 2) return ENG_OK;
    if (r == 1) continue;
    if (atomic_load_explicit(&c->m.hdr->stopped, memory_order_acquire)) {
      if (c->final_scan++) return ENG_E_STOPPED;   /* in-flight writes: one more look */
      continue;
    }
    if (flush_pending(c)) return ENG_E_TIMEOUT;
    int64_t now = shm_mono_ns();
    if (!deadline) deadline = timeout_ms < 0 ? INT64_MAX : now + (int64_t)timeout_ms * 1000000;
    if (now >= c->next_check) {
      sweep(c);
      c->next_check = now + (int64_t)c->m.flush_ms * 1000000;
      continue;
    }
    if (now >= deadline) return ENG_E_TIMEOUT;
    sleep_once(c, now, deadline);
  }
}

static int claim_consumer(shm_sess_hdr *h) {
  int32_t cur = atomic_load_explicit(&h->consumer_pid, memory_order_relaxed);
  uint64_t start = atomic_load_explicit(&h->consumer_start, memory_order_relaxed);
  uint64_t ns = atomic_load_explicit(&h->consumer_pidns, memory_order_relaxed);
  if (cur != 0 && shm_proc_alive_ns(cur, start, ns)) return ENG_E_BUSY;
  atomic_store_explicit(&h->consumer_pid, shm_pid(), memory_order_relaxed);
  atomic_store_explicit(&h->consumer_start, shm_pid_start(), memory_order_relaxed);
  atomic_store_explicit(&h->consumer_pidns, shm_pidns(), memory_order_relaxed);
  atomic_store_explicit(&h->sleeping, 0, memory_order_relaxed);
  return ENG_OK;
}

int shm_consumer_open_slot(shm_reg *r, uint32_t slot, uint32_t gen, int watch_flush,
                           eng_consumer **out) {
  *out = NULL;
  eng_consumer *c = calloc(1, sizeof *c);
  if (!c) return ENG_E_NOMEM;
  c->reg = r;
  c->pid = shm_pid();
  int st = shm_smap_open(r, slot, gen, &c->m);
  if (st != ENG_OK) { free(c); return st; }
  if ((st = claim_consumer(c->m.hdr)) == ENG_OK && !(c->rp = calloc(c->m.max_rings, sizeof *c->rp))) {
    int32_t me = shm_pid();
    atomic_compare_exchange_strong_explicit(&c->m.hdr->consumer_pid, &me, 0,
                                            memory_order_acq_rel, memory_order_relaxed);
    st = ENG_E_NOMEM;
  }
  if (st != ENG_OK) {
    shm_smap_close(&c->m);
    free(c);
    return st;
  }
  c->mult = 1ull << 32;
  c->ticks1 = (uint64_t)c->m.ticks0;
  refine(c);
  c->cur = c->m.max_rings - 1;
  c->watch_flush = watch_flush;
  c->flush_seen = atomic_load_explicit(&c->m.hdr->flush_req, memory_order_acquire);
  *out = c;
  return ENG_OK;
}

uint32_t shm_consumer_flush_seen(const eng_consumer *c) { return c->flush_seen; }

int eng_consumer_open(const char *name, eng_consumer **out) {
  if (!out) return ENG_E_ARG;
  *out = NULL;
  if (!name || !*name || strnlen(name, ENG_SESSION_NAME_MAX + 1) > ENG_SESSION_NAME_MAX)
    return ENG_E_ARG;
  shm_reg *r;
  int st = shm_reg_get(&r);
  if (st != ENG_OK) return st;
  if ((st = shm_reg_lock(r)) != ENG_OK) return st;
  /* under the registry lock, so two consumers cannot both claim the session */
  int idx = shm_sess_find(r, name);
  if (idx < 0) st = ENG_E_NOTFOUND;
  else
    st = shm_consumer_open_slot(r, (uint32_t)idx,
                                atomic_load_explicit(&shm_reg_slot(r, (uint32_t)idx)->gen,
                                                     memory_order_relaxed), 0, out);
  shm_reg_unlock(r);
  return st;
}

/* .etl files are read by src/etl on this platform (lfiles.c) */
int eng_consumer_open_files(const char *const *paths, size_t n, eng_consumer **out) {
  (void)paths; (void)n;
  if (out) *out = NULL;
  return ENG_E_UNSUPPORTED;
}

int eng_consumer_file_info(eng_consumer *c, size_t i, eng_file_info *out) {
  (void)c; (void)i; (void)out;
  return ENG_E_UNSUPPORTED;
}

void eng_consumer_stop(eng_consumer *c) {
  if (!c) return;
  atomic_store_explicit(&c->stop, 1, memory_order_release);
  shm_wake(c->m.hdr);
}

void eng_consumer_close(eng_consumer *c) {
  if (!c) return;
  int32_t me = shm_pid();
  if (c->pid == me) {                   /* a fork child's copy: its tail is stale, only unmap */
    publish(c);
    atomic_compare_exchange_strong_explicit(&c->m.hdr->consumer_pid, &me, 0,
                                            memory_order_acq_rel, memory_order_relaxed);
  }
  shm_smap_close(&c->m);
  free(c->rp);
  free(c);
}
