/*
** shm_provider.c: eng_provider on the POSIX engine. register finds (or
** makes) the provider's entry in the registry; eng_enabled then reads its
** merged state. write routes the event to each session whose own enable
** takes it, into the calling thread's ring in that session; a thread gets
** its ring on its first write to a session (the only slow path) and gives
** it back when it exits.
*/
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm_int.h"

struct eng_provider {
  eng_provider_head head;           /* head.state = &entry->merged */
  shm_prov_entry *entry;
  shm_reg *reg;
  tlg_guid id;
  uint32_t traits_len;
  uint8_t traits[];
};

/* The route of this thread's last event that went to one session: while
** provider entry `en` still has seqlock gen `gen`, its sessions are what
** targets() read then, so an event of (level, kw) goes to the session of
** writer `w` and nowhere else. A gen changes with every enable, disable
** and stop (and is odd while one is under way, which never hits: a cached
** gen is even), so a hit costs that one load instead of reading the
** entry's sessions, with the seqlock's own assumption that the 32-bit gen
** does not come round to the same value between two writes of a thread.
** The cache is cleared whenever this thread frees a writer. */
typedef struct shm_route_cache {
  const shm_prov_entry *en;         /* NULL: nothing cached */
  shm_writer *w;                    /* has a ring (ctl set) */
  uint64_t kw;
  uint32_t gen, level;
} shm_route_cache;

/* The calling thread's writers, one per session slot. */
typedef struct shm_tls {
  unsigned fork_gen;                /* shm_fork_gen when made; else inherited by fork */
  uint32_t pid, tid;
  shm_route_cache route;
  shm_writer *w[SHM_MAX_SESSIONS];
} shm_tls;

/* initial-exec: in libetwlua.so the default model would call
** __tls_get_addr on every write. One pointer fits the static TLS surplus
** glibc keeps even for a library loaded by dlopen (LTTng-UST does the same). */
#if defined(__GNUC__) && defined(__ELF__)
#define SHM_TLS_IE __attribute__((tls_model("initial-exec")))
#else
#define SHM_TLS_IE
#endif
static _Thread_local shm_tls *t_tls SHM_TLS_IE;
static pthread_key_t g_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

/* ============================================================ rings */

static void writer_free(shm_writer *w, int close_ring) {
  if (w->ctl && close_ring)
    atomic_store_explicit(&w->hdr->ring_dir[w->ring], SHM_DIR(w->ctl->pid, SHM_RING_CLOSED),
                          memory_order_release);
  if (w->ring_map) munmap(w->ring_map, w->ring_len);
  if (w->hdr_map) munmap(w->hdr_map, w->hdr_len);
  free(w);
}

static int claim(shm_writer *w, uint32_t max_rings, int32_t pid) {
  for (uint32_t k = 0; k < max_rings; k++) {
    uint32_t i = (shm_gettid() + k) % max_rings;
    uint64_t e = atomic_load_explicit(&w->hdr->ring_dir[i], memory_order_relaxed);
    if (SHM_DIR_STATE(e) != SHM_RING_FREE) continue;
    if (atomic_compare_exchange_strong_explicit(&w->hdr->ring_dir[i], &e,
            SHM_DIR(pid, SHM_RING_CLAIMED), memory_order_acq_rel, memory_order_relaxed))
      return (int)i;
  }
  return -1;
}

/* Map the ring claimed as `i` and make it ACTIVE. */
static int map_ring(shm_writer *w, int fd, const shm_sess_hdr *c, uint32_t i) {
  uint64_t off = c->ring_off + (uint64_t)i * c->ring_stride;
  int st = shm_map(fd, off, c->ring_stride, &w->ring_map);
  if (st != ENG_OK) {
    w->ring_map = NULL;
    atomic_store_explicit(&w->hdr->ring_dir[i], SHM_DIR(0, SHM_RING_FREE), memory_order_release);
    return st;
  }
  w->ring_len = c->ring_stride;
  w->ring = i;
  shm_ring_ctl *ctl = w->ring_map;
  ctl->pid = shm_pid();
  ctl->tid = (int32_t)shm_gettid();
  ctl->pid_start = shm_pid_start();
  ctl->pidns = shm_pidns();
  shm_writer_init(w, ctl, (uint8_t *)w->ring_map + SHM_CTL_SIZE, c->ring_size, w->hdr);
  atomic_store_explicit(&w->hdr->ring_dir[i], SHM_DIR(ctl->pid, SHM_RING_ACTIVE),
                        memory_order_release);
  return ENG_OK;
}

/* Map the session's header and claim a ring. ENG_E_FULL: header mapped, no
** ring free (writes count noring_lost and retry later). */
static int open_ring(shm_writer *w, int fd, uint64_t size) {
  shm_sess_hdr c;
  if (pread(fd, &c, offsetof(shm_sess_hdr, wake_seq), 0) != (ssize_t)offsetof(shm_sess_hdr, wake_seq))
    return ENG_E_CORRUPT;
  int st = shm_sess_hdr_check(&c, size);
  if (st != ENG_OK) return st;
  if (c.slot != w->slot || c.gen != w->gen || c.clock_kind != (uint32_t)shm_clock_kind())
    return ENG_E_CORRUPT;
  if ((st = shm_map(fd, 0, c.hdr_size, &w->hdr_map)) != ENG_OK) {
    w->hdr_map = NULL;
    return st;
  }
  w->hdr_len = c.hdr_size;
  w->hdr = w->hdr_map;
  int i = claim(w, c.max_rings, shm_pid());
  if (i < 0) return ENG_E_FULL;
  return map_ring(w, fd, &c, (uint32_t)i);
}

static int attach_ring(shm_reg *r, shm_writer *w) {
  char path[SHM_PATH_MAX + 32];
  shm_sess_path(r, w->slot, w->gen, path, sizeof path);
  int fd;
  uint64_t size;
  int st = shm_file_open(path, &fd, &size);
  if (st != ENG_OK) return st;
  st = open_ring(w, fd, size);
  close(fd);
  return st;
}

/* ============================================================ threads */

static void tls_release(shm_tls *t) {
  int own = t->fork_gen == atomic_load_explicit(&shm_fork_gen, memory_order_relaxed);
  for (uint32_t i = 0; i < SHM_MAX_SESSIONS; i++) {
    if (t->w[i]) writer_free(t->w[i], own);   /* a fork child's copies: unmap only */
    t->w[i] = NULL;
  }
  free(t);
}

static void tls_destructor(void *arg) {
  if (t_tls == arg) t_tls = NULL;
  tls_release(arg);
}

static void at_exit(void) {
  shm_tls *t = t_tls;
  t_tls = NULL;
  if (t) {
    pthread_setspecific(g_key, NULL);
    tls_release(t);
  }
}

static void key_once(void) {
  pthread_key_create(&g_key, tls_destructor);
  atexit(at_exit);
}

static shm_tls *tls_slow(void) {
  pthread_once(&g_key_once, key_once);
  if (t_tls) tls_release(t_tls);        /* inherited from the parent across fork */
  shm_tls *t = calloc(1, sizeof *t);
  t_tls = t;
  pthread_setspecific(g_key, t);
  if (t) {
    t->fork_gen = atomic_load_explicit(&shm_fork_gen, memory_order_relaxed);
    t->pid = (uint32_t)shm_pid();
    t->tid = shm_gettid();
  }
  return t;
}

static inline shm_tls *tls_get(void) {
  shm_tls *t = t_tls;
  if (SHM_LIKELY(t && t->fork_gen == atomic_load_explicit(&shm_fork_gen, memory_order_relaxed)))
    return t;
  return tls_slow();
}

/* Give back rings of sessions that are gone (their slot moved on). */
static void sweep(shm_reg *r, shm_tls *t) {
  for (uint32_t i = 0; i < SHM_MAX_SESSIONS; i++) {
    shm_writer *w = t->w[i];
    if (!w) continue;
    shm_sess_slot *sl = shm_reg_slot(r, i);
    if (atomic_load_explicit(&sl->state, memory_order_acquire) == SHM_SLOT_LIVE &&
        atomic_load_explicit(&sl->gen, memory_order_relaxed) == w->gen)
      continue;
    writer_free(w, 1);
    t->w[i] = NULL;
    t->route.en = NULL;
  }
}

static shm_writer *attach(shm_reg *r, shm_tls *t, uint32_t slot, uint32_t gen) {
  if (t->w[slot]) { writer_free(t->w[slot], 1); t->w[slot] = NULL; t->route.en = NULL; }
  sweep(r, t);
  shm_writer *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->slot = slot;
  w->gen = gen;
  if (attach_ring(r, w) != ENG_OK) {
    w->ctl = NULL;
    w->retry = 4096;
  }
  t->w[slot] = w;
  return w;
}

/* Try again to get a ring: map the session if that failed before, else
** claim one in the mapped session. */
static void retry_ring(shm_reg *r, shm_writer *w) {
  shm_sess_slot *sl = shm_reg_slot(r, w->slot);
  if (atomic_load_explicit(&sl->state, memory_order_acquire) != SHM_SLOT_LIVE ||
      atomic_load_explicit(&sl->gen, memory_order_relaxed) != w->gen)
    return;                                        /* gone: the route will drop it */
  if (!w->hdr) { attach_ring(r, w); return; }
  shm_sess_hdr c;
  memcpy(&c, w->hdr, offsetof(shm_sess_hdr, wake_seq));
  if (shm_sess_hdr_check(&c, ~0ull) != ENG_OK) return;
  int i = claim(w, c.max_rings, shm_pid());
  if (i < 0) return;
  char path[SHM_PATH_MAX + 32];
  int fd;
  uint64_t size;
  shm_sess_path(r, w->slot, w->gen, path, sizeof path);
  if (shm_file_open(path, &fd, &size) != ENG_OK) {
    atomic_store_explicit(&w->hdr->ring_dir[i], SHM_DIR(0, SHM_RING_FREE), memory_order_release);
    return;
  }
  map_ring(w, fd, &c, (uint32_t)i);
  close(fd);
}

/* A writer without a ring: no ring was free, or the session could not be
** mapped. Every 4096 writes try again; 1 if it has a ring now. Else the
** event is dropped: counted (noring_lost) when the session is mapped. */
static int ring_again(shm_reg *r, shm_writer *w) {
  if (--w->retry == 0) {
    w->retry = 4096;
    retry_ring(r, w);
    if (w->ctl) return 1;
  }
  if (w->hdr) atomic_fetch_add_explicit(&w->hdr->noring_lost, 1, memory_order_relaxed);
  return 0;
}

/* ======================================================= dead owners */

/* A file-mode session is drained only by its owner's writer thread: once
** the owner is dead, nothing will ever read it, and producers would build
** and drop events for it at full speed until `etwlua stop --stale`. A full
** ring is where that shows, so the first drop of a ring (and every 4096th
** after) looks at the owner: if it died, the session's enables are cleared
** (the session stays listed as stale). Never on the fast path. */
static void check_owner(shm_reg *r, const shm_writer *w) {
  if (w->lost % 4096 != 1) return;
  shm_sess_slot *sl = shm_reg_slot(r, w->slot);
  if (atomic_load_explicit(&sl->state, memory_order_acquire) != SHM_SLOT_LIVE ||
      atomic_load_explicit(&sl->gen, memory_order_relaxed) != w->gen ||
      sl->mode == ENG_MODE_REALTIME || shm_proc_alive_ns(sl->owner_pid, sl->owner_start, sl->owner_pidns))
    return;
  if (shm_reg_lock(r) != ENG_OK) return;
  if (atomic_load_explicit(&sl->state, memory_order_relaxed) == SHM_SLOT_LIVE &&
      atomic_load_explicit(&sl->gen, memory_order_relaxed) == w->gen &&
      !shm_proc_alive_ns(sl->owner_pid, sl->owner_start, sl->owner_pidns))
    shm_prov_clear_all(r, w->slot);
  shm_reg_unlock(r);
}

/* ============================================================ provider */

int eng_provider_register(const tlg_guid *id, const void *traits, size_t traits_len,
                          eng_provider **out) {
  if (!out) return ENG_E_ARG;
  *out = NULL;
  if (!id || (traits_len && !traits) || traits_len > 0xffff) return ENG_E_ARG;
  shm_reg *r;
  int st = shm_reg_get(&r);
  if (st != ENG_OK) return st;
  eng_provider *p = malloc(sizeof *p + traits_len);
  if (!p) return ENG_E_NOMEM;
  if ((st = shm_reg_lock(r)) == ENG_OK) {
    st = shm_prov_find(r, id, 1, &p->entry);
    shm_reg_unlock(r);
  }
  if (st != ENG_OK) { free(p); return st; }
  p->head.state = &p->entry->merged;
  p->reg = r;
  p->id = *id;
  p->traits_len = (uint32_t)traits_len;
  if (traits_len) memcpy(p->traits, traits, traits_len);
  shm_provreg_add(id, p->traits, traits_len);
  *out = p;
  return ENG_OK;
}

/* What every event source starts with: where, who, and its ids; when
** (ticks) is the caller's to set. */
SHM_ALWAYS_INLINE void event_head(const eng_provider *p, const shm_tls *t, shm_event_src *ev,
                                  const tlg_desc *desc, const tlg_guid *act, const tlg_guid *rel) {
  ev->ticks = 0;
  ev->cpu = shm_cpu();
  ev->pid = t->pid;
  ev->tid = t->tid;
  ev->desc = desc;
  ev->provider = &p->id;
  ev->activity = act;
  ev->related = rel;
  ev->traits = p->traits;
  ev->traits_len = p->traits_len;
}

static inline int prepare(const eng_provider *p, const shm_tls *t, shm_event_src *ev,
                          const tlg_desc *desc, const tlg_guid *act, const tlg_guid *rel,
                          size_t n, const eng_data *data) {
  event_head(p, t, ev, desc, act, rel);
  ev->data = data;
  ev->n = n;
  return shm_event_prepare(ev);
}

/* A session an event goes to: its slot and the gen that names it. */
typedef struct shm_target {
  uint32_t slot, gen;
} shm_target;

static inline int takes(uint32_t slot, uint32_t level_plus1, uint64_t any, uint64_t all,
                        uint8_t level, uint64_t kw) {
  shm_route r = {slot, 0, level_plus1, any, all};
  return slot < SHM_MAX_SESSIONS && shm_route_match(&r, level, kw);
}

/* The sessions of e that take an event of (level, kw), in entry order:
** shm_prov_route's seqlock read, filtering as it reads, so a rejected
** session costs one load and a taken one is copied as (slot, gen) only.
** -1 when a writer held the entry for all of the tries (the caller then
** reads under the lock). *gen (if not NULL): the seqlock gen of the read. */
SHM_ALWAYS_INLINE int targets(shm_prov_entry *e, uint8_t level, uint64_t kw, shm_target *out,
                              uint32_t *gen) {
  for (int tries = 0; tries < 64; tries++) {
    uint32_t g = atomic_load_explicit(&e->merged.gen, memory_order_acquire);
    if (g & 1) continue;
    unsigned n = atomic_load_explicit(&e->nsess, memory_order_relaxed), k = 0;
    if (n > SHM_SESS_PER_PROV) n = SHM_SESS_PER_PROV;
    for (unsigned i = 0; i < n; i++) {
      shm_prov_sess *s = &e->sess[i];
      uint32_t lp1 = atomic_load_explicit(&s->level_plus1, memory_order_relaxed);
      if (level >= lp1) continue;
      uint64_t any = kw ? atomic_load_explicit(&s->any, memory_order_relaxed) : 0;
      uint64_t all = kw ? atomic_load_explicit(&s->all, memory_order_relaxed) : 0;
      uint32_t slot = atomic_load_explicit(&s->sess, memory_order_relaxed) - 1;
      if (!takes(slot, lp1, any, all, level, kw)) continue;
      out[k].slot = slot;
      out[k++].gen = atomic_load_explicit(&s->sess_gen, memory_order_relaxed);
    }
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&e->merged.gen, memory_order_relaxed) != g) continue;
    if (gen) *gen = g;
    return (int)k;
  }
  return -1;
}

/* targets() the slow way: the entry read under the registry lock. */
static int targets_locked(shm_reg *reg, shm_prov_entry *e, uint8_t level, uint64_t kw,
                          shm_target *out) {
  shm_route r[SHM_SESS_PER_PROV];
  int n = shm_prov_route_locked(reg, e, r), k = 0;
  for (int i = 0; i < n; i++)
    if (takes(r[i].slot, r[i].level_plus1, r[i].any, r[i].all, level, kw))
      out[k++] = (shm_target){r[i].slot, r[i].gen};
  return n < 0 ? -1 : k;
}

/* This thread's writer in session route `r`, with a ring; NULL when it
** has none (*st: ENG_E_NOMEM, or ENG_E_LOST when the drop was counted,
** else ENG_OK). */
SHM_ALWAYS_INLINE shm_writer *writer_for(eng_provider *p, shm_tls *t, const shm_target *r, int *st) {
  shm_writer *w = t->w[r->slot];
  if (SHM_UNLIKELY(!w || w->gen != r->gen)) {
    if (!(w = attach(p->reg, t, r->slot, r->gen))) { *st = ENG_E_NOMEM; return NULL; }
  }
  if (SHM_LIKELY(w->ctl != NULL) || ring_again(p->reg, w)) return w;
  *st = w->hdr ? ENG_E_LOST : ENG_OK;
  return NULL;
}

/* The event into session route `r`, from this thread's ring there. */
static inline int write_one(eng_provider *p, shm_tls *t, const shm_target *r,
                            const shm_event_src *ev) {
  shm_writer *w = t->w[r->slot];
  if (SHM_UNLIKELY(!w || w->gen != r->gen)) {
    if (!(w = attach(p->reg, t, r->slot, r->gen))) return ENG_E_NOMEM;
  }
  int s;
  if (SHM_LIKELY(w->ctl != NULL) || ring_again(p->reg, w)) s = shm_ring_write_event(w, ev);
  else s = w->hdr ? ENG_E_LOST : ENG_OK;
  if (SHM_UNLIKELY(s == ENG_E_LOST) && w->ctl) check_owner(p->reg, w);
  return s;
}

/* ======================================================= route cache */

/* This thread's writer for an event of (level, kw) of entry en, whose
** seqlock gen the caller just read, when the route cache holds it: the
** entry is as it was when the route was read (the event goes where it went
** then), and the thread state is this process's own. */
SHM_ALWAYS_INLINE shm_writer *route_hit(const shm_tls *t, const shm_prov_entry *en, uint32_t gen,
                                        uint8_t level, uint64_t kw) {
  if (SHM_LIKELY(t && t->route.en == en && t->route.gen == gen && t->route.level == level &&
                 t->route.kw == kw &&
                 t->fork_gen == atomic_load_explicit(&shm_fork_gen, memory_order_relaxed)))
    return t->route.w;
  return NULL;
}

/* Remember that at gen (read by targets(), so even) the event goes to
** session r only, through this thread's writer there, if it has a ring. */
static inline void route_keep(shm_tls *t, const shm_prov_entry *en, uint32_t gen, uint8_t level,
                              uint64_t kw, const shm_target *r) {
  shm_writer *w = t->w[r->slot];
  if ((gen & 1) || !w || w->gen != r->gen || !w->ctl) return;
  t->route = (shm_route_cache){en, w, kw, gen, level};
}

/* ============================================================ write */

/* eng_provider_write when the route is not cached: every session that
** takes the event, from the entry; a route to one session is cached. */
static int write_routed(eng_provider *p, const tlg_desc *desc, const tlg_guid *activity,
                        const tlg_guid *related, size_t n, const eng_data *data) {
  shm_prov_entry *e = p->entry;
  shm_target r[SHM_SESS_PER_PROV];
  uint32_t gen = 1;                                     /* odd: not cached after a locked read */
  int nr = targets(e, desc->level, desc->keyword, r, &gen);
  if (SHM_UNLIKELY(nr < 0) && (nr = targets_locked(p->reg, e, desc->level, desc->keyword, r)) < 0)
    return ENG_E_CORRUPT;
  if (nr == 0) return ENG_OK;                           /* no session takes it */
  shm_tls *t = tls_get();
  if (SHM_UNLIKELY(!t)) return ENG_E_NOMEM;
  shm_event_src ev;
  int st = prepare(p, t, &ev, desc, activity, related, n, data);
  if (st != ENG_OK) return st;
  ev.ticks = shm_ticks();
  for (int i = 0; i < nr; i++) {
    int s = write_one(p, t, &r[i], &ev);
    if (SHM_UNLIKELY(s != ENG_OK)) st = s;
  }
  if (nr == 1) route_keep(t, e, gen, desc->level, desc->keyword, &r[0]);
  return st;
}

/* With the route cached (which implies a session takes the event: no
** enable check of its own), the event goes straight into that one ring;
** the clock is read last, as in prep_emit. */
int eng_provider_write(eng_provider *p, const tlg_desc *desc, const tlg_guid *activity,
                       const tlg_guid *related, size_t n, const eng_data *data) {
  if (SHM_UNLIKELY(!p || !desc || (n && !data))) return ENG_E_ARG;
  shm_prov_entry *e = p->entry;
  uint32_t gen = atomic_load_explicit(&e->merged.gen, memory_order_acquire);
  shm_tls *t = t_tls;
  shm_writer *w = route_hit(t, e, gen, desc->level, desc->keyword);
  if (SHM_UNLIKELY(!w)) {
    if (desc->level >= atomic_load_explicit(&e->merged.level_plus1, memory_order_relaxed))
      return ENG_OK;
    return write_routed(p, desc, activity, related, n, data);
  }
  shm_event_src ev;
  int st = prepare(p, t, &ev, desc, activity, related, n, data);
  if (st != ENG_OK) return st;
  uint32_t adv;
  uint8_t *dst = shm_ring_begin(w, &ev, &adv, &st);
  if (SHM_UNLIKELY(!dst)) {
    if (st == ENG_E_LOST) check_owner(p->reg, w);
    return st;
  }
  ((shm_rec_event *)(void *)dst)->ticks = shm_ticks();
  shm_ring_end(w, adv);
  return ENG_OK;
}

/* ============================================== reserve and commit */

/* eng_reserve's private part on this engine: the sessions, the event, and
** the ring whose record holds the payload (the first that had room). */
typedef struct shm_resv {
  shm_writer *w;
  shm_tls *t;
  uint32_t adv;                     /* shm_ring_end's */
  int first, nr, st;                /* st: an earlier session's drop */
  shm_target r[SHM_SESS_PER_PROV];
  shm_event_src ev;
} shm_resv;
_Static_assert(sizeof(shm_resv) <= sizeof(((eng_reserve *)0)->priv), "eng_reserve.priv");

/* The event of a reservation: eng_provider_write's with (meta, payload)
** blocks, the payload left to the caller. */
SHM_ALWAYS_INLINE int reserve_event(const eng_provider *p, const shm_tls *t, shm_event_src *ev,
                                    const tlg_desc *desc, const void *meta, uint32_t meta_len,
                                    const tlg_guid *act, const tlg_guid *rel, uint32_t data_len) {
  event_head(p, t, ev, desc, act, rel);
  ev->ticks = shm_ticks();
  ev->data = NULL;
  ev->n = 0;
  ev->meta = meta;
  ev->meta_len = meta_len;
  ev->payload = NULL;
  ev->data_len = data_len;
  ev->shape = SHM_SHAPE_RESERVED;
  ev->flags = (uint16_t)((act ? SHM_EV_ACTIVITY : 0) | (rel ? SHM_EV_RELATED : 0));
  uint64_t size = sizeof(shm_rec_event) + (act ? 16 : 0) + (rel ? 16 : 0) +
                  (uint64_t)p->traits_len + meta_len + data_len;
  if (size > SHM_REC_MAX) return ENG_E_TOOBIG;
  ev->size = shm_align8(size);
  return ENG_OK;
}

int eng_provider_reserve(eng_provider *p, const tlg_desc *desc, const void *meta,
                         uint32_t meta_len, const tlg_guid *activity, const tlg_guid *related,
                         uint32_t data_len, eng_reserve *rv) {
  rv->payload = NULL;
  if (SHM_UNLIKELY(!p || !desc || (meta_len && !meta) || data_len > ENG_RESERVE_LOCAL))
    return ENG_E_ARG;
  shm_prov_entry *e = p->entry;
  if (desc->level >= atomic_load_explicit(&e->merged.level_plus1, memory_order_relaxed))
    return ENG_OK;
  shm_resv *x = (shm_resv *)(void *)rv->priv;
  int nr = targets(e, desc->level, desc->keyword, x->r, NULL);
  if (SHM_UNLIKELY(nr < 0) &&
      (nr = targets_locked(p->reg, e, desc->level, desc->keyword, x->r)) < 0)
    return ENG_E_CORRUPT;
  if (nr == 0) return ENG_OK;                           /* no session takes it */
  shm_tls *t = tls_get();
  if (SHM_UNLIKELY(!t)) return ENG_E_NOMEM;
  rv->p = p;
  rv->data_len = data_len;
  int st = reserve_event(p, t, &x->ev, desc, meta, meta_len, activity, related, data_len);
  if (st != ENG_OK) return st;
  for (int i = 0; i < nr; i++) {                        /* the first ring with room */
    int s = ENG_OK;
    shm_writer *w = writer_for(p, t, &x->r[i], &s);
    uint8_t *dst = w ? shm_ring_begin(w, &x->ev, &x->adv, &s) : NULL;
    if (SHM_UNLIKELY(!dst)) {
      if (s == ENG_E_LOST && w) check_owner(p->reg, w);
      if (s != ENG_OK) st = s;
      continue;
    }
    x->w = w;
    x->t = t;
    x->first = i;
    x->nr = nr;
    x->st = st;
    rv->payload = dst + sizeof(shm_rec_event) + (activity ? 16 : 0) + (related ? 16 : 0) +
                  p->traits_len + meta_len;
    return ENG_OK;
  }
  return st;
}

/* A prepared event: the bytes of its record from `cpu` to the end of the
** event metadata (cpu, flags, the lengths, desc, provider id, traits,
** meta), for an event without activity ids; cpu and data_len are stored
** over. From `cpu`, not `flags`: an 8-aligned start splits fewer of the
** copy's 16-byte stores across cache lines. */
#define PREP_AT offsetof(shm_rec_event, cpu)
_Static_assert(offsetof(shm_rec_event, cpu) % 8 == 0, "PREP_AT is 8-aligned");
struct eng_prepared {
  eng_provider *p;
  shm_prov_entry *en;               /* p->entry: one dependent load less per write */
  tlg_desc desc;
  const uint8_t *meta;              /* in img */
  uint32_t meta_len;
  uint32_t img_len;                 /* bytes of img */
  uint32_t fixed;                   /* record bytes before the payload */
  uint8_t img[];
};

int eng_prepare(eng_provider *p, const tlg_desc *desc, const void *meta, uint32_t meta_len,
                eng_prepared **out) {
  *out = NULL;
  if (!p || !desc || (meta_len && !meta) || meta_len > SHM_REC_MAX) return ENG_E_ARG;
  uint32_t fixed = (uint32_t)sizeof(shm_rec_event) + p->traits_len + meta_len;
  eng_prepared *e = malloc(sizeof *e + (fixed - PREP_AT));
  if (!e) return ENG_E_NOMEM;
  e->p = p;
  e->en = p->entry;
  e->desc = *desc;
  e->meta_len = meta_len;
  e->fixed = fixed;
  e->img_len = fixed - (uint32_t)PREP_AT;
  shm_rec_event h;
  memset(&h, 0, sizeof h);
  h.traits_len = (uint16_t)p->traits_len;
  h.meta_len = meta_len;
  shm_desc_pack(desc, h.desc);
  memcpy(h.provider, p->id.b, 16);
  memcpy(e->img, (uint8_t *)&h + PREP_AT, sizeof h - PREP_AT);
  uint8_t *q = e->img + (sizeof h - PREP_AT);
  if (p->traits_len) memcpy(q, p->traits, p->traits_len);
  if (meta_len) memcpy(q + p->traits_len, meta, meta_len);
  e->meta = q + p->traits_len;
  *out = e;
  return ENG_OK;
}

void eng_prepared_free(eng_prepared *e) { free(e); }

/* Copy n >= 16 bytes in 16-byte moves, the last one overlapping: nothing
** past d + n is written (the record may end at the end of the ring). */
SHM_ALWAYS_INLINE void copy16s(uint8_t *d, const uint8_t *s, size_t n) {
  size_t i = 0;
  for (; i + 16 < n; i += 16) memcpy(d + i, s + i, 16);
  memcpy(d + n - 16, s + n - 16, 16);
}

/* The one writer a prepared event goes to, the slow way (the route cache
** missed): the entry's sessions by targets(), this thread's writer in the
** only one that takes it, which the cache then keeps. *w = NULL with
** ENG_OK: nobody takes the event. ROUTE_GENERAL: several sessions, or no
** thread state; the general eng_provider_reserve handles those. Else an
** error of writer_for (*w NULL). */
#define ROUTE_GENERAL (-1)
static int route_miss(const eng_prepared *e, shm_tls **tp, shm_writer **w) {
  shm_prov_entry *en = e->en;
  shm_target r[SHM_SESS_PER_PROV];
  uint32_t gen = 1;
  *w = NULL;
  int nr = targets(en, e->desc.level, e->desc.keyword, r, &gen);
  if (nr == 0) return ENG_OK;                           /* no session takes it */
  shm_tls *t = tls_get();
  if (SHM_UNLIKELY(nr != 1 || !t)) return ROUTE_GENERAL;   /* several sessions, or a slow path */
  int s = ENG_OK;
  if (!(*w = writer_for(e->p, t, &r[0], &s))) return s;
  route_keep(t, en, gen, e->desc.level, e->desc.keyword, &r[0]);
  *tp = t;
  return ENG_OK;
}

/* Open prepared event e's record in w's ring: shm_ring_begin, with the
** record's constant part one copy (e->img); all but `ticks`, which the
** caller stores. Returns the record (its payload at + e->fixed) and sets
** *adv, or NULL with *st (ENG_E_LOST: ring full, dropped and counted;
** ENG_E_TOOBIG). */
SHM_ALWAYS_INLINE shm_rec_event *prep_open(const eng_prepared *e, const shm_tls *t, shm_writer *w,
                                           uint32_t data_len, uint32_t *adv, int *st) {
  uint64_t size = (uint64_t)e->fixed + data_len;
  uint32_t rsize = shm_align8(size);
  if (SHM_UNLIKELY(size > SHM_REC_MAX || rsize > w->max_rec)) { *st = ENG_E_TOOBIG; return NULL; }
  uint64_t seq = w->seq++;
  uint32_t extra = w->lost != w->lost_noted ? (uint32_t)sizeof(shm_rec_lost) : 0;
  uint8_t *dst = shm_ring_reserve(w, rsize + extra);
  if (SHM_UNLIKELY(!dst)) {
    *st = shm_ring_drop(w);
    check_owner(e->p->reg, w);
    return NULL;
  }
  if (SHM_UNLIKELY(extra != 0)) {
    shm_rec_lost l = {{sizeof l, SHM_REC_LOST}, w->lost, seq};
    memcpy(dst, &l, sizeof l);
    dst += sizeof l;
    w->lost_noted = w->lost;
  }
  shm_rec_event *r = (shm_rec_event *)(void *)dst;
  memset(dst + rsize - 8, 0, 8);                        /* padding; the rest is overwritten */
  copy16s(dst + PREP_AT, e->img, e->img_len);
  r->h.size = rsize;
  r->h.type = SHM_REC_EVENT;
  r->seq = seq;
  r->pid = t->pid;
  r->tid = t->tid;
  r->cpu = shm_cpu();
  r->data_len = data_len;
  *adv = rsize + extra;
  return r;
}

int eng_prepared_reserve(const eng_prepared *e, const tlg_guid *activity, const tlg_guid *related,
                         uint32_t data_len, eng_reserve *rv) {
  rv->payload = NULL;
  /* too much is an error whether or not a session takes the event, as in
  ** eng_provider_reserve (and on Windows) */
  if (SHM_UNLIKELY(!e || data_len > ENG_RESERVE_LOCAL)) return ENG_E_ARG;
  eng_provider *p = e->p;
  shm_prov_entry *en = p->entry;
  uint32_t gen = atomic_load_explicit(&en->merged.gen, memory_order_acquire);
  if (e->desc.level >= atomic_load_explicit(&en->merged.level_plus1, memory_order_relaxed))
    return ENG_OK;
  if (SHM_UNLIKELY(activity || related))
    return eng_provider_reserve(p, &e->desc, e->meta, e->meta_len, activity, related, data_len,
                                rv);
  shm_tls *t = t_tls;
  shm_writer *w = route_hit(t, en, gen, e->desc.level, e->desc.keyword);
  int st = w ? ENG_OK : route_miss(e, &t, &w);
  if (SHM_UNLIKELY(st == ROUTE_GENERAL))
    return eng_provider_reserve(p, &e->desc, e->meta, e->meta_len, NULL, NULL, data_len, rv);
  if (!w) return st;
  shm_resv *x = (shm_resv *)(void *)rv->priv;
  shm_rec_event *r = prep_open(e, t, w, data_len, &x->adv, &st);
  if (SHM_UNLIKELY(!r)) return st;
  r->ticks = shm_ticks();
  x->w = w;
  x->first = 0;
  x->nr = 1;
  x->st = ENG_OK;
  rv->p = p;
  rv->data_len = data_len;
  rv->payload = (uint8_t *)r + e->fixed;
  return ENG_OK;
}

/* eng_prepared_write the general way: reserve, fill, commit. */
static int prep_write_general(const eng_prepared *e, const tlg_guid *activity,
                              const tlg_guid *related, uint32_t data_len, eng_fill_fn fill,
                              void *ctx) {
  eng_reserve rv;
  int st = eng_provider_reserve(e->p, &e->desc, e->meta, e->meta_len, activity, related,
                                data_len, &rv);
  if (!rv.payload) return st;
  fill(ctx, rv.payload);
  return eng_provider_commit(&rv);
}

/* The event into w's ring: open, fill, publish. The clock is read last,
** after the caller's values are in: measured, its latency then overlaps
** the stores before it best (any moment inside the call is the event's). */
SHM_ALWAYS_INLINE int prep_emit(const eng_prepared *e, const shm_tls *t, shm_writer *w,
                                uint32_t data_len, eng_fill_fn fill, void *ctx) {
  uint32_t adv;
  int st;
  shm_rec_event *r = prep_open(e, t, w, data_len, &adv, &st);
  if (SHM_UNLIKELY(!r)) return st;
  fill(ctx, (uint8_t *)r + e->fixed);
  r->ticks = shm_ticks();
  shm_ring_end(w, adv);
  return ENG_OK;
}

/* eng_prepared_write when the route is not cached (or the event has
** activity ids, or a payload too large for a reservation: an error
** whether or not a session takes the event, as eng_provider_reserve's). */
static int prep_write_slow(const eng_prepared *e, uint32_t gen, const tlg_guid *activity,
                           const tlg_guid *related, uint32_t data_len, eng_fill_fn fill,
                           void *ctx) {
  shm_prov_entry *en = e->en;
  if (data_len > ENG_RESERVE_LOCAL) return ENG_E_ARG;
  if (e->desc.level >= atomic_load_explicit(&en->merged.level_plus1, memory_order_relaxed))
    return ENG_OK;
  if (activity || related) return prep_write_general(e, activity, related, data_len, fill, ctx);
  shm_tls *t = t_tls;
  shm_writer *w = route_hit(t, en, gen, e->desc.level, e->desc.keyword);
  int st = w ? ENG_OK : route_miss(e, &t, &w);
  if (st == ROUTE_GENERAL) return prep_write_general(e, NULL, NULL, data_len, fill, ctx);
  if (!w) return st;
  return prep_emit(e, t, w, data_len, fill, ctx);
}

/* eng_prepared_reserve + fill + eng_provider_commit in one call. With the
** route cached (which implies a session takes the event: no enable check
** of its own), one image copy, the caller's values, one clock read and one
** release store; no reservation state kept. */
int eng_prepared_write(const eng_prepared *e, const tlg_guid *activity, const tlg_guid *related,
                       uint32_t data_len, eng_fill_fn fill, void *ctx) {
  if (SHM_UNLIKELY(!e || !fill)) return ENG_E_ARG;
  uint32_t gen = atomic_load_explicit(&e->en->merged.gen, memory_order_acquire);
  shm_tls *t = t_tls;
  shm_writer *w = route_hit(t, e->en, gen, e->desc.level, e->desc.keyword);
  if (SHM_UNLIKELY(!w || activity || related || data_len > ENG_RESERVE_LOCAL))
    return prep_write_slow(e, gen, activity, related, data_len, fill, ctx);
  return prep_emit(e, t, w, data_len, fill, ctx);
}

int eng_provider_commit(eng_reserve *rv) {
  if (SHM_UNLIKELY(!rv || !rv->payload)) return ENG_OK;
  shm_resv *x = (shm_resv *)(void *)rv->priv;
  int st = x->st;
  if (SHM_LIKELY(x->first + 1 >= x->nr)) {             /* one session: publish */
    shm_ring_end(x->w, x->adv);
    rv->payload = NULL;
    return st;
  }
  /* more sessions: the payload is copied out before the record is
  ** published (a later session's first write may unmap rings of sessions
  ** that ended meanwhile, this one's included), then written to each */
  memcpy(rv->local, rv->payload, rv->data_len);
  shm_ring_end(x->w, x->adv);
  rv->payload = NULL;
  shm_event_src ev = x->ev;
  ev.shape = SHM_SHAPE_THREE;
  ev.payload = rv->local;
  for (int i = x->first + 1; i < x->nr; i++) {
    int s = write_one(rv->p, x->t, &x->r[i], &ev);
    if (SHM_UNLIKELY(s != ENG_OK)) st = s;
  }
  return st;
}

/* Kernel samples (shm_kernel.c): one event with the sample's header, into
** session (slot, gen) only, from the calling thread's ring there. The
** caller filtered it by that session's enable already. */
int shm_write_to(shm_reg *r, uint32_t slot, uint32_t gen, const shm_sample_hdr *h,
                 const tlg_guid *provider, const uint8_t *traits, uint32_t traits_len,
                 const tlg_desc *desc, size_t n, const eng_data *data) {
  if (slot >= SHM_MAX_SESSIONS) return ENG_E_ARG;
  shm_tls *t = tls_get();
  if (SHM_UNLIKELY(!t)) return ENG_E_NOMEM;
  shm_event_src ev;
  memset(&ev, 0, sizeof ev);
  ev.ticks = h->ticks;
  ev.pid = h->pid;
  ev.tid = h->tid;
  ev.cpu = h->cpu;
  ev.desc = desc;
  ev.provider = provider;
  ev.data = data;
  ev.n = n;
  ev.traits = traits;
  ev.traits_len = traits_len;
  int st = shm_event_prepare(&ev);
  if (st != ENG_OK) return st;
  shm_writer *w = t->w[slot];
  if (SHM_UNLIKELY(!w || w->gen != gen)) {
    if (!(w = attach(r, t, slot, gen))) return ENG_E_NOMEM;
  }
  if (SHM_LIKELY(w->ctl != NULL) || ring_again(r, w)) return shm_ring_write_event(w, &ev);
  return w->hdr ? ENG_E_LOST : ENG_OK;
}

void eng_provider_unregister(eng_provider *p) {
  if (p) shm_provreg_remove(&p->id, p->traits, p->traits_len);
  free(p);
}
