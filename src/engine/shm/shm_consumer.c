/*
** shm_consumer.c: eng_consumer on the POSIX engine. Merges the session's
** rings by timestamp: each ring is one thread's records in order, so the
** next record is the oldest of the rings' first records. A record newer
** than the kernel bridge's watermark (shm_sess_hdr.kernel_wm: every kernel
** sample older than it is in a ring) waits for the watermark to pass it,
** at most ORDER_WAIT after its own time, so a stalled bridge delays the
** stream but never stops it. Validates every record, turns losses and
** rejected bytes into in-band notices, reclaims the rings of ended or dead
** producers, and sleeps on the session's futex at most flush_ms at a time.
*/
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shm_int.h"

typedef struct ring_priv {
  uint8_t dead;                     /* its producer process is gone */
  uint8_t broken;                   /* head/tail insane: ignored until reclaimed */
  uint8_t known;                    /* tail below is this consumer's (else read the ring's) */
  uint8_t live;                     /* in the live list */
  uint64_t tail, head;              /* private tail; head as last read */
  uint64_t next;                    /* ticks of the record at tail (0: not an event) */
  int64_t last_ft;                  /* newest FILETIME handed out for this ring */
} ring_priv;

#define RESCAN_EVERY 64             /* records between looks for new rings */

struct eng_consumer {
  shm_reg *reg;
  int32_t pid;                      /* the process that opened it (fork: a child's copy is not its) */
  shm_smap m;
  _Atomic int stop;
  int pending;                      /* ring `cur`'s tail not yet published */
  int final_scan;                   /* stopped: one more look before the end */
  int held;                         /* the last pick found records the watermark holds */
  uint32_t cur;                     /* the ring the last record came from */
  uint32_t *live, nlive;            /* rings ACTIVE or CLOSED at the last scan */
  uint32_t rescan;                  /* records until the next scan */
  uint64_t scan_wm;                 /* kernel_wm as the last scan began */
  int64_t next_check;               /* mono ns of the next liveness sweep */
  uint64_t ticks1, refine_gap, mult;   /* clock: ns per tick << 32 */
  uint64_t wait_ticks;              /* ORDER_WAIT in ticks */
  ring_priv *rp;
  int watch_flush;                  /* file writer: a flush request ends next() (TIMEOUT) */
  uint32_t flush_seen;              /* flush_req when next() last looked */
};

/* The longest a record waits for the kernel watermark, after its own time:
** two bridge passes (flush_ms apart) and room for one slow pass. */
static int64_t order_wait_ns(const eng_consumer *c) {
  return ((int64_t)c->m.flush_ms * 2 + 100) * 1000000;
}

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
  if (c->mult)
    c->wait_ticks = (uint64_t)((double)order_wait_ns(c) * 4294967296.0 / (double)c->mult);
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
  c->rp[i].dead = c->rp[i].broken = c->rp[i].known = 0;
  if (i == c->cur) c->pending = 0;       /* its tail was just reset */
  c->rp[i].last_ft = 0;
  atomic_store_explicit(&h->ring_dir[i], SHM_DIR(0, SHM_RING_FREE), memory_order_release);
}

/* The ticks of the record at ring i's tail, PAD records skipped (their room
** is handed back with the tail). 0 when it is not an event: a notice or
** damage, which read_one handles first. */
static uint64_t peek(eng_consumer *c, uint32_t i) {
  ring_priv *rp = &c->rp[i];
  const uint8_t *data = shm_smap_data(&c->m, i);
  while (rp->head - rp->tail >= sizeof(shm_rec)) {
    shm_rec h;
    memcpy(&h, data + (rp->tail & (c->m.ring_size - 1)), sizeof h);
    if (h.type == SHM_REC_PAD && h.size >= sizeof h && !(h.size & 7) &&
        h.size <= rp->head - rp->tail) {
      rp->tail += h.size;
      if (i == c->cur) c->pending = 1;
      else shm_ring_write_tail(shm_smap_ctl(&c->m, i), rp->tail);
      continue;
    }
    if (h.type != SHM_REC_EVENT || h.size < sizeof(shm_rec_event) || h.size > rp->head - rp->tail)
      return 0;
    uint64_t t;
    memcpy(&t, data + (rp->tail & (c->m.ring_size - 1)) + offsetof(shm_rec_event, ticks), sizeof t);
    return t ? t : 1;
  }
  return 0;
}

/* Look at ring i: 1 = a record at its tail (rp->next), 2 = a notice in rec,
** 0 = nothing to read, -1 = not in use any more (off the live list). */
static int visit(eng_consumer *c, uint32_t i, rec_record *rec) {
  ring_priv *rp = &c->rp[i];
  if (rp->known && rp->tail < rp->head) return 1;     /* still reading what we saw */
  uint64_t e = atomic_load_explicit(&c->m.hdr->ring_dir[i], memory_order_acquire);
  uint32_t state = SHM_DIR_STATE(e);
  if (state == SHM_RING_CLAIMED && rp->dead) {
    atomic_compare_exchange_strong_explicit(&c->m.hdr->ring_dir[i], &e, SHM_DIR(0, SHM_RING_FREE),
                                            memory_order_acq_rel, memory_order_relaxed);
    rp->dead = 0;
  }
  if (state != SHM_RING_ACTIVE && state != SHM_RING_CLOSED) return -1;
  int ended = state == SHM_RING_CLOSED || rp->dead;
  shm_ring_ctl *ctl = shm_smap_ctl(&c->m, i);
  if (rp->broken) {
    if (ended) { reclaim(c, i); return -1; }
    return 0;
  }
  if (!rp->known) {
    rp->tail = shm_ring_read_tail(ctl);
    rp->known = 1;
  }
  uint64_t h = shm_ring_read_head(ctl), t = rp->tail;
  if (h < t || h - t > c->m.ring_size || ((h | t) & 7)) {
    rp->broken = 1;
    corrupt_notice(c, rec, i, 0);
    return 2;
  }
  rp->head = h;
  if (h != t && (rp->next = peek(c, i), rp->tail < rp->head)) return 1;
  if (lost_notice(c, rec, i, atomic_load_explicit(&ctl->lost, memory_order_relaxed), 0)) return 2;
  if (ended) { reclaim(c, i); return -1; }
  return 0;
}

/* The rings in use, from the directory. The watermark is read first: a
** ring with kernel samples older than it was claimed before it was
** published, so this scan sees that ring. */
static void scan(eng_consumer *c) {
  c->scan_wm = atomic_load_explicit(&c->m.hdr->kernel_wm, memory_order_acquire);
  c->nlive = 0;
  for (uint32_t i = 0; i < c->m.max_rings; i++) {
    uint64_t e = atomic_load_explicit(&c->m.hdr->ring_dir[i], memory_order_acquire);
    uint32_t state = SHM_DIR_STATE(e);
    if (state == SHM_RING_CLAIMED && c->rp[i].dead)
      atomic_compare_exchange_strong_explicit(&c->m.hdr->ring_dir[i], &e, SHM_DIR(0, SHM_RING_FREE),
                                              memory_order_acq_rel, memory_order_relaxed);
    c->rp[i].live = state == SHM_RING_ACTIVE || state == SHM_RING_CLOSED;
    if (c->rp[i].live) c->live[c->nlive++] = i;
  }
  /* a scan reads every directory entry: at most about one per record */
  c->rescan = c->m.max_rings > RESCAN_EVERY ? c->m.max_rings : RESCAN_EVERY;
}

/* Is a record of `ticks` in order to hand out now? Not while the kernel
** bridge may still write something older, for at most wait_ticks. */
static int in_order(eng_consumer *c, uint64_t ticks) {
  uint64_t wm = c->scan_wm;
  if (!wm || ticks <= wm || atomic_load_explicit(&c->m.hdr->stopped, memory_order_acquire))
    return 1;
  uint64_t now = c->m.clock_kind == SHM_CLOCK_MONO ? (uint64_t)shm_mono_ns() : shm_ticks();
  return now > ticks && now - ticks >= c->wait_ticks;
}

/* The ring with the oldest first record into c->cur: 1; 2 = a notice in
** rec; 0 = nothing to read; 3 = records, all held for the watermark. */
static int pick(eng_consumer *c, rec_record *rec) {
  if (noring_notice(c, rec)) return 2;
  int fresh = c->rescan == 0 || c->nlive == 0;
  if (fresh) scan(c);
  c->rescan--;
again:;
  int best = -1;
  for (uint32_t k = 0; k < c->nlive; k++) {
    uint32_t i = c->live[k];
    int r = visit(c, i, rec);
    if (r == 2) return 2;
    if (r < 0) { c->rp[i].live = 0; c->live[k--] = c->live[--c->nlive]; continue; }
    if (r == 1 && (best < 0 || (int64_t)(c->rp[i].next - c->rp[best].next) < 0 ||
                   (c->rp[i].next == c->rp[best].next && i < (uint32_t)best)))
      best = (int)i;
  }
  if (best < 0 && !fresh) {            /* before saying "nothing": new threads' rings */
    scan(c);
    fresh = 1;
    goto again;
  }
  if (best < 0) return 0;
  if (c->rp[best].next && !in_order(c, c->rp[best].next)) {
    if (atomic_load_explicit(&c->m.hdr->kernel_wm, memory_order_acquire) != c->scan_wm) {
      scan(c);                          /* it moved: look with the new one (and its rings) */
      goto again;
    }
    return 3;
  }
  if ((uint32_t)best != c->cur && c->pending) {        /* the old ring's record is done with */
    shm_ring_write_tail(shm_smap_ctl(&c->m, c->cur), c->rp[c->cur].tail);
    c->pending = 0;
  }
  c->cur = (uint32_t)best;
  return 1;
}

/* The record at ring cur's tail into rec: 1, or 0 when it was not one to
** hand out (a LOST already reported). */
static int read_one(eng_consumer *c, rec_record *rec) {
  ring_priv *rp = &c->rp[c->cur];
  const uint8_t *data = shm_smap_data(&c->m, c->cur);
  if (rp->tail >= rp->head) return 0;
  shm_view v;
  if (shm_ring_parse(data, c->m.ring_size, rp->tail, rp->head - rp->tail, &v, rec) != ENG_OK) {
    uint64_t skipped = rp->head - rp->tail;
    rp->tail = rp->head;                  /* resynchronise at the published head */
    c->pending = 1;
    corrupt_notice(c, rec, c->cur, skipped);
    return 1;
  }
  rp->tail += v.size;
  c->pending = 1;
  if (rp->tail < rp->head) rp->next = peek(c, c->cur);
  if (v.type == SHM_REC_EVENT) {
    /* a thread's times never go back, whatever refine() did in between */
    int64_t ft = to_filetime(c, v.ticks);
    if (ft < rp->last_ft) ft = rp->last_ft;
    rec->timestamp = rp->last_ft = ft;
    return 1;
  }
  return v.type == SHM_REC_LOST && lost_notice(c, rec, c->cur, v.lost_total, v.seq);
}

static void publish(eng_consumer *c) {
  if (c->pending && c->cur < c->m.max_rings)
    shm_ring_write_tail(shm_smap_ctl(&c->m, c->cur), c->rp[c->cur].tail);   /* D */
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
  if (c->held && ms > 5) ms = 5;        /* a held record's wait ends by time too */
  if (ms < 1) ms = 1;
  atomic_store_explicit(&h->sleeping, 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);                         /* F */
  uint32_t seq = atomic_load_explicit(&h->wake_seq, memory_order_acquire);
  /* records held for the watermark are no reason to stay awake: the
  ** bridge wakes us when it moves, and ms is at most flush_ms */
  if ((c->held || !any_data(c)) && !atomic_load_explicit(&h->stopped, memory_order_acquire) &&
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
    int r = pick(c, rec);
    if (r == 2) return ENG_OK;
    if (r == 1) {
      if (read_one(c, rec)) return ENG_OK;
      continue;
    }
    c->held = r == 3;
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
    c->rescan = 0;                      /* new threads may have come meanwhile */
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
  if ((st = claim_consumer(c->m.hdr)) == ENG_OK &&
      (!(c->rp = calloc(c->m.max_rings, sizeof *c->rp)) ||
       !(c->live = calloc(c->m.max_rings, sizeof *c->live)))) {
    int32_t me = shm_pid();
    atomic_compare_exchange_strong_explicit(&c->m.hdr->consumer_pid, &me, 0,
                                            memory_order_acq_rel, memory_order_relaxed);
    st = ENG_E_NOMEM;
  }
  if (st != ENG_OK) {
    shm_smap_close(&c->m);
    free(c->rp);
    free(c->live);
    free(c);
    return st;
  }
  c->mult = 1ull << 32;
  c->ticks1 = (uint64_t)c->m.ticks0;
  c->wait_ticks = (uint64_t)order_wait_ns(c);          /* ticks are ns unless TSC */
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
  free(c->live);
  free(c);
}
