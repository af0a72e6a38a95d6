/*
** shm_session.c: eng_session on the POSIX engine: start (session file +
** table entry), enable/disable (provider table), flush, query, stop, list,
** and stale sessions (owner died) that stop or a new start removes. File
** modes add the owner's writer thread (shm_file.c) to the handle.
*/
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm_int.h"

struct eng_session {
  shm_reg *reg;
  uint32_t slot, gen;
  int owner;
  int32_t pid;               /* the process that made the handle (fork: a child's copy is not its) */
  shm_smap m;
  shm_drain *drain;          /* file modes, owner: the writer thread */
  int have_final;            /* this handle stopped the session: `final` holds its stats */
  eng_session_stats final;
  struct shm_kernel *kernel; /* owner: kernel sources and their bridge (shm_kernel.c) */
};

void shm_session_kview(eng_session *s, shm_kview *v) {
  v->reg = s->reg;
  v->slot = s->slot;
  v->gen = s->gen;
  v->m = &s->m;
  v->mine = s->owner && s->pid == shm_pid();
  v->kernel = &s->kernel;
}

/* Kernel sources end before the session: their last samples reach it. */
static void end_kernel(eng_session *s) {
  struct shm_kernel *k = s->kernel;
  s->kernel = NULL;
  if (k && s->pid == shm_pid()) shm_kernel_end(k);   /* a fork child has no bridge thread */
}

typedef struct geom {
  uint32_t buffer_kb, min_buffers, max_rings, flush_ms;
  uint64_t ring_size, hdr_size, file_size;
} geom;

#define SHM_FILE_MAX (64ull << 30)

static uint64_t round_page(uint64_t n) { return (n + SHM_PAGE - 1) / SHM_PAGE * SHM_PAGE; }

static uint64_t hdr_bytes(uint32_t max_rings) {
  return round_page(offsetof(shm_sess_hdr, ring_dir) + (uint64_t)max_rings * sizeof(uint64_t));
}

static int geometry(const eng_session_opts *o, geom *g) {
  uint32_t max_buffers = o->max_buffers ? o->max_buffers : 2048;
  g->buffer_kb = o->buffer_kb ? o->buffer_kb : 64;
  g->min_buffers = o->min_buffers ? o->min_buffers : 32;
  g->flush_ms = o->flush_ms ? o->flush_ms : 100;
  if (g->buffer_kb < 4 || g->buffer_kb > 16384 || g->min_buffers > 65536 || g->flush_ms > 3600000)
    return ENG_E_ARG;
  if (max_buffers < g->min_buffers) max_buffers = g->min_buffers;   /* as ETW raises max to min */
  uint64_t want = (uint64_t)g->buffer_kb * 1024 * g->min_buffers;
  if (want > (1ull << 30)) return ENG_E_ARG;
  /* file modes: every event the engine accepts (SHM_REC_MAX, which needs a
  ** ring of 1 MB: half of it less a LOST record) reaches the writer, which
  ** counts one the ETL file cannot hold as lost, whatever buffer_kb is */
  if (o->mode != ENG_MODE_REALTIME && want < 4 * (uint64_t)SHM_REC_MAX) want = 4 * (uint64_t)SHM_REC_MAX;
  for (g->ring_size = SHM_PAGE; g->ring_size < want; g->ring_size <<= 1) {}
  g->max_rings = max_buffers / g->min_buffers;
  if (g->max_rings > SHM_MAX_RINGS) g->max_rings = SHM_MAX_RINGS;
  g->hdr_size = hdr_bytes(g->max_rings);
  g->file_size = g->hdr_size + (uint64_t)g->max_rings * (SHM_CTL_SIZE + g->ring_size);
  return g->file_size > SHM_FILE_MAX ? ENG_E_ARG : ENG_OK;
}

static int check_name(const char *name) {
  if (!name) return ENG_E_ARG;
  size_t n = strnlen(name, ENG_SESSION_NAME_MAX + 1);
  return n == 0 || n > ENG_SESSION_NAME_MAX ? ENG_E_ARG : ENG_OK;
}

static int name_eq(const char *a, const char *b) {
  for (;; a++, b++) {
    unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return 0;
    if (!x) return 1;
  }
}

int shm_sess_find(shm_reg *r, const char *name) {
  for (uint32_t i = 0; i < SHM_MAX_SESSIONS; i++) {
    shm_sess_slot *s = shm_reg_slot(r, i);
    if (atomic_load_explicit(&s->state, memory_order_acquire) != SHM_SLOT_LIVE) continue;
    char copy[SHM_NAME_CAP];
    memcpy(copy, s->name, sizeof copy);
    copy[SHM_NAME_CAP - 1] = 0;
    if (name_eq(copy, name)) return (int)i;
  }
  return -1;
}

/* ============================================================ mappings */

int shm_sess_hdr_check(const shm_sess_hdr *h, uint64_t size) {
  if (h->magic != SHM_SESS_MAGIC || h->compat_version > SHM_VERSION) return ENG_E_VERSION;
  uint64_t rs = h->ring_size;
  if (h->max_rings == 0 || h->max_rings > SHM_MAX_RINGS || rs < SHM_PAGE || rs > (1ull << 30) ||
      (rs & (rs - 1)) || h->ring_stride != SHM_CTL_SIZE + rs ||
      h->hdr_size != hdr_bytes(h->max_rings) || h->ring_off != h->hdr_size ||
      h->ring_off + (uint64_t)h->max_rings * h->ring_stride > size ||
      (h->clock_kind != SHM_CLOCK_MONO && h->clock_kind != SHM_CLOCK_TSC))
    return ENG_E_CORRUPT;
  return ENG_OK;
}

/* Copy the constant part of the header once; check and use only the copy. */
static int smap_fill(shm_smap *m, void *base, uint64_t len, uint32_t slot, uint32_t gen) {
  shm_sess_hdr c;
  memcpy(&c, base, offsetof(shm_sess_hdr, wake_seq));
  int st = shm_sess_hdr_check(&c, len);
  if (st == ENG_OK && (c.slot != slot || c.gen != gen)) st = ENG_E_CORRUPT;
  if (st != ENG_OK) return st;
  m->hdr = base;
  m->base = base;
  m->len = len;
  m->slot = slot;
  m->gen = gen;
  m->max_rings = c.max_rings;
  m->flush_ms = c.flush_ms ? c.flush_ms : 100;
  m->min_buffers = c.min_buffers;
  m->clock_kind = c.clock_kind;
  m->mode = c.mode;
  m->buffer_kb = c.buffer_kb;
  m->ring_size = c.ring_size;
  m->ring_stride = c.ring_stride;
  m->ring_off = c.ring_off;
  m->ticks0 = c.ticks0;
  m->mono0 = c.mono0;
  m->real0 = c.real0;
  return ENG_OK;
}

int shm_smap_open(shm_reg *r, uint32_t slot, uint32_t gen, shm_smap *m) {
  char path[SHM_PATH_MAX + 32];
  shm_sess_path(r, slot, gen, path, sizeof path);
  int fd;
  uint64_t size;
  int st = shm_file_open(path, &fd, &size);
  if (st != ENG_OK) return st;
  void *p = NULL;
  st = size < SHM_PAGE ? ENG_E_CORRUPT : shm_map(fd, 0, size, &p);
  close(fd);
  if (st != ENG_OK) return st;
  st = smap_fill(m, p, size, slot, gen);
  if (st != ENG_OK) munmap(p, size);
  return st;
}

void shm_smap_close(shm_smap *m) {
  if (m->base) munmap(m->base, m->len);
  m->base = NULL;
  m->hdr = NULL;
}

/* =============================================================== start */

static void init_hdr(shm_sess_hdr *h, const geom *g, uint32_t slot, uint32_t gen, int mode) {
  h->version = SHM_VERSION;
  h->compat_version = SHM_COMPAT_VERSION;
  h->hdr_size = (uint32_t)g->hdr_size;
  h->slot = slot;
  h->gen = gen;
  h->max_rings = g->max_rings;
  h->file_size = g->file_size;
  h->ring_size = g->ring_size;
  h->ring_stride = SHM_CTL_SIZE + g->ring_size;
  h->ring_off = g->hdr_size;
  h->flush_ms = g->flush_ms;
  h->mode = (uint32_t)mode;
  h->buffer_kb = g->buffer_kb;
  h->min_buffers = g->min_buffers;
  h->clock_kind = (uint32_t)shm_clock_kind();
  h->real0 = shm_real_ns();
  h->mono0 = shm_mono_ns();
  h->ticks0 = (int64_t)shm_ticks();
  if (h->clock_kind == SHM_CLOCK_MONO) h->ticks0 = h->mono0;
  atomic_thread_fence(memory_order_release);
  h->magic = SHM_SESS_MAGIC;
}

static int create_file(shm_reg *r, uint32_t slot, uint32_t gen, const geom *g, int mode,
                       shm_smap *m) {
  char path[SHM_PATH_MAX + 32];
  shm_sess_path(r, slot, gen, path, sizeof path);
  unlink(path);                          /* a leftover of a crashed start */
  int fd;
  int st = shm_file_create(path, g->file_size, &fd);
  if (st != ENG_OK) return st;
  void *p = NULL;
  st = shm_map(fd, 0, g->file_size, &p);
  close(fd);
  if (st == ENG_OK) {
    init_hdr(p, g, slot, gen, mode);
    st = smap_fill(m, p, g->file_size, slot, gen);
    if (st != ENG_OK) munmap(p, g->file_size);
  }
  if (st != ENG_OK) unlink(path);
  return st;
}

/* Under the lock: end session `slot` (clear its enables, tell its consumer,
** remove its file, free its name). */
static void stop_locked(shm_reg *r, uint32_t slot) {
  shm_sess_slot *sl = shm_reg_slot(r, slot);
  uint32_t gen = atomic_load_explicit(&sl->gen, memory_order_relaxed);
  shm_prov_clear_all(r, slot);
  shm_smap m = {0};
  if (shm_smap_open(r, slot, gen, &m) == ENG_OK) {
    atomic_store_explicit(&m.hdr->stopped, 1, memory_order_release);
    shm_wake(m.hdr);
    shm_smap_close(&m);
  }
  char path[SHM_PATH_MAX + 32];
  shm_sess_path(r, slot, gen, path, sizeof path);
  unlink(path);
  atomic_store_explicit(&sl->state, SHM_SLOT_FREE, memory_order_release);
}

static int slot_stale(shm_sess_slot *s) {
  return !shm_proc_alive_ns(s->owner_pid, s->owner_start, s->owner_pidns);
}

static int start_locked(shm_reg *r, const char *name, const geom *g, int mode, int replace,
                        eng_session *s) {
  int idx = shm_sess_find(r, name);
  if (idx >= 0) {
    if (!replace && !slot_stale(shm_reg_slot(r, (uint32_t)idx))) return ENG_E_EXISTS;
    stop_locked(r, (uint32_t)idx);
  }
  uint32_t i = 0;
  while (i < SHM_MAX_SESSIONS &&
         atomic_load_explicit(&shm_reg_slot(r, i)->state, memory_order_relaxed) != SHM_SLOT_FREE)
    i++;
  if (i == SHM_MAX_SESSIONS) return ENG_E_FULL;
  shm_sess_slot *sl = shm_reg_slot(r, i);
  uint32_t gen = atomic_load_explicit(&sl->gen, memory_order_relaxed) + 1;
  int st = create_file(r, i, gen, g, mode, &s->m);
  if (st != ENG_OK) return st;
  atomic_store_explicit(&sl->gen, gen, memory_order_relaxed);
  sl->owner_pid = shm_pid();
  sl->owner_start = shm_pid_start();
  sl->owner_pidns = shm_pidns();
  sl->mode = (uint32_t)mode;
  sl->name_len = (uint32_t)strlen(name);
  memset(sl->name, 0, sizeof sl->name);
  memcpy(sl->name, name, sl->name_len);
  atomic_store_explicit(&sl->state, SHM_SLOT_LIVE, memory_order_release);
  s->slot = i;
  s->gen = gen;
  return ENG_OK;
}

static int check_mode(const eng_session_opts *o) {
  if (o->mode == ENG_MODE_REALTIME) return o->max_mb == 0 ? ENG_OK : ENG_E_ARG;
  if (o->mode != ENG_MODE_FILE && o->mode != ENG_MODE_CIRCULAR) return ENG_E_ARG;
  return o->file && *o->file && o->max_mb <= (1u << 22) ? ENG_OK : ENG_E_ARG;
}

static int alive(const eng_session *s);

int eng_session_start(const char *name, const eng_session_opts *opts, eng_session **out) {
  static const eng_session_opts defaults;
  if (!out) return ENG_E_ARG;
  *out = NULL;
  if (!opts) opts = &defaults;
  geom g;
  int st = check_name(name);
  if (st == ENG_OK) st = geometry(opts, &g);
  if (st == ENG_OK) st = check_mode(opts);
  if (st != ENG_OK) return st;
  if (opts->kernel_flags) return ENG_E_UNSUPPORTED;  /* the NT kernel logger's groups */
  shm_reg *r;
  if ((st = shm_reg_get(&r)) != ENG_OK) return st;
  eng_session *s = calloc(1, sizeof *s);
  if (!s) return ENG_E_NOMEM;
  s->reg = r;
  s->owner = 1;
  s->pid = shm_pid();
  eng_consumer *c = NULL;
  if ((st = shm_reg_lock(r)) == ENG_OK) {
    st = start_locked(r, name, &g, opts->mode, opts->replace != 0, s);
    /* the writer claims the session's consumer place before anyone can */
    if (st == ENG_OK && opts->mode != ENG_MODE_REALTIME &&
        (st = shm_consumer_open_slot(r, s->slot, s->gen, 1, &c)) != ENG_OK)
      stop_locked(r, s->slot);
    shm_reg_unlock(r);
  }
  if (st == ENG_OK && c) {                /* file I/O outside the registry lock */
    st = shm_drain_start(name, opts, &s->m, c, &s->drain);
    if (st != ENG_OK && shm_reg_lock(r) == ENG_OK) {
      if (alive(s)) stop_locked(r, s->slot);
      shm_reg_unlock(r);
    }
  }
  if (st != ENG_OK) {
    shm_smap_close(&s->m);
    free(s);
    return st;
  }
  *out = s;
  return ENG_OK;
}

int eng_session_open(const char *name, eng_session **out) {
  if (!out) return ENG_E_ARG;
  *out = NULL;
  int st = check_name(name);
  shm_reg *r;
  if (st != ENG_OK || (st = shm_reg_get(&r)) != ENG_OK) return st;
  eng_session *s = calloc(1, sizeof *s);
  if (!s) return ENG_E_NOMEM;
  s->reg = r;
  s->pid = shm_pid();
  if ((st = shm_reg_lock(r)) == ENG_OK) {
    int idx = shm_sess_find(r, name);
    if (idx < 0) st = ENG_E_NOTFOUND;
    else {
      s->slot = (uint32_t)idx;
      s->gen = atomic_load_explicit(&shm_reg_slot(r, s->slot)->gen, memory_order_relaxed);
      st = shm_smap_open(r, s->slot, s->gen, &s->m);
    }
    shm_reg_unlock(r);
  }
  if (st != ENG_OK) { free(s); return st; }
  *out = s;
  return ENG_OK;
}

/* ============================================================ control */

static int alive(const eng_session *s) {
  shm_sess_slot *sl = shm_reg_slot(s->reg, s->slot);
  return atomic_load_explicit(&sl->state, memory_order_acquire) == SHM_SLOT_LIVE &&
         atomic_load_explicit(&sl->gen, memory_order_relaxed) == s->gen;
}

int eng_session_enable(eng_session *s, const tlg_guid *id, uint8_t level, uint64_t any,
                       uint64_t all) {
  if (!s || !id) return ENG_E_ARG;
  if (any == 0) any = UINT64_MAX; /* as EnableTraceEx2: MatchAnyKeyword 0 = every keyword */
  int st = shm_reg_lock(s->reg);
  if (st != ENG_OK) return st;
  shm_prov_entry *e;
  if (!alive(s)) st = ENG_E_STOPPED;
  else if ((st = shm_prov_find(s->reg, id, 1, &e)) == ENG_OK)
    st = shm_prov_set(e, s->slot, s->gen, level, any, all);
  shm_reg_unlock(s->reg);
  return st;
}

int eng_session_enable_ex(eng_session *s, const tlg_guid *id, uint8_t level, uint64_t any,
                          uint64_t all, const eng_enable_opts *opts) {
  /* provider-side filters and extended data need a kernel; consumers filter instead */
  if (eng_enable_opts_any(opts)) return (s && id) ? ENG_E_UNSUPPORTED : ENG_E_ARG;
  return eng_session_enable(s, id, level, any, all);
}

int eng_session_disable(eng_session *s, const tlg_guid *id) {
  if (!s || !id) return ENG_E_ARG;
  int st = shm_reg_lock(s->reg);
  if (st != ENG_OK) return st;
  shm_prov_entry *e;
  if (!alive(s)) st = ENG_E_STOPPED;
  else if (shm_prov_find(s->reg, id, 0, &e) == ENG_OK) shm_prov_clear(e, s->slot);
  shm_reg_unlock(s->reg);
  return st;
}

int eng_session_flush(eng_session *s) {
  if (!s) return ENG_E_ARG;
  if (!alive(s)) return ENG_E_STOPPED;
  if (s->m.mode != ENG_MODE_REALTIME) return shm_file_flush(s->m.hdr);
  shm_wake(s->m.hdr);
  return ENG_OK;
}

/* Sum the rings; retry while the consumer is in the middle of a reclaim. */
static void sum_rings(const shm_smap *m, eng_session_stats *st) {
  shm_sess_hdr *h = m->hdr;
  for (int tries = 0; tries < 100; tries++) {
    uint32_t q = atomic_load_explicit(&h->reclaim_seq, memory_order_acquire);
    uint64_t ev = atomic_load_explicit(&h->retired_events, memory_order_relaxed);
    uint64_t lost = atomic_load_explicit(&h->retired_lost, memory_order_relaxed), bytes = 0;
    uint32_t rings = 0;
    for (uint32_t i = 0; i < m->max_rings; i++) {
      uint32_t state = SHM_DIR_STATE(atomic_load_explicit(&h->ring_dir[i], memory_order_acquire));
      if (state == SHM_RING_FREE) continue;
      rings++;
      if (state == SHM_RING_CLAIMED) continue;
      shm_ring_ctl *c = shm_smap_ctl(m, i);
      ev += atomic_load_explicit(&c->events, memory_order_relaxed);
      lost += atomic_load_explicit(&c->lost, memory_order_relaxed);
      uint64_t used = shm_ring_read_head(c) - shm_ring_read_tail(c);
      if (used <= m->ring_size) bytes += used;
    }
    atomic_thread_fence(memory_order_acquire);
    st->events = ev;
    st->lost = lost + atomic_load_explicit(&h->noring_lost, memory_order_relaxed);
    st->bytes = bytes;
    st->rings = rings;
    st->buffers = rings * m->min_buffers;
    if (!(q & 1) && atomic_load_explicit(&h->reclaim_seq, memory_order_relaxed) == q) break;
  }
  st->corrupt = atomic_load_explicit(&h->corrupt, memory_order_relaxed);
  int32_t cpid = atomic_load_explicit(&h->consumer_pid, memory_order_relaxed);
  uint64_t cstart = atomic_load_explicit(&h->consumer_start, memory_order_relaxed);
  uint64_t cns = atomic_load_explicit(&h->consumer_pidns, memory_order_relaxed);
  st->consumer_pid = shm_proc_alive_ns(cpid, cstart, cns) ? cpid : 0;
}

int eng_session_query(eng_session *s, eng_session_stats *st) {
  if (!s || !st) return ENG_E_ARG;
  memset(st, 0, sizeof *st);
  if (s->have_final) { *st = s->final; return ENG_OK; }
  if (!alive(s)) return ENG_E_STOPPED;
  sum_rings(&s->m, st);
  shm_file_stats(s->m.hdr, st);
  int e = shm_reg_lock(s->reg);
  if (e != ENG_OK) return e;
  st->providers = shm_prov_count(s->reg, s->slot, s->gen);
  shm_reg_unlock(s->reg);
  return ENG_OK;
}

/* Under the lock: stop the session if it is still running; 1 if it did. */
static int stop_now(eng_session *s) {
  if (!alive(s)) return 0;
  s->final.providers = shm_prov_count(s->reg, s->slot, s->gen);
  stop_locked(s->reg, s->slot);
  return 1;
}

/* The final statistics of a session this handle stopped (or whose writer
** it ran): after the writer drained the rings and closed the file. */
static void keep_final(eng_session *s) {
  eng_session_stats *f = &s->final;
  shm_drain *d = s->drain;
  s->drain = NULL;
  if (d) shm_drain_join(d);
  sum_rings(&s->m, f);                  /* the mapping outlives the session file */
  shm_file_stats(s->m.hdr, f);          /* the writer's final counts */
  f->consumer_pid = 0;
  s->have_final = 1;
}

int eng_session_stop(eng_session *s) {
  if (!s) return ENG_E_ARG;
  if (s->pid != shm_pid()) return shm_not_mine(s->pid, "session handle");   /* the parent's */
  end_kernel(s);
  int st = shm_reg_lock(s->reg);
  if (st != ENG_OK) return st;
  int stopped = stop_now(s);
  shm_reg_unlock(s->reg);
  if (stopped || s->drain) keep_final(s);
  return ENG_OK;
}

int eng_session_stop_name(const char *name) {
  int st = check_name(name);
  shm_reg *r;
  if (st != ENG_OK || (st = shm_reg_get(&r)) != ENG_OK) return st;
  if ((st = shm_reg_lock(r)) != ENG_OK) return st;
  int idx = shm_sess_find(r, name);
  if (idx < 0) st = ENG_E_NOTFOUND;
  else stop_locked(r, (uint32_t)idx);
  shm_reg_unlock(r);
  return st;
}

void eng_session_close(eng_session *s) {
  if (!s) return;
  /* its writer lives in this handle; a fork child's copy only unmaps */
  if (s->drain && s->pid == shm_pid()) eng_session_stop(s);
  end_kernel(s);                        /* kernel sources live in the owner's handle */
  shm_smap_close(&s->m);
  free(s);
}

/* =============================================================== list */

static void fill_info(shm_reg *r, uint32_t i, eng_session_info *info) {
  shm_sess_slot *sl = shm_reg_slot(r, i);
  uint32_t gen = atomic_load_explicit(&sl->gen, memory_order_relaxed);
  memset(info, 0, sizeof *info);
  memcpy(info->name, sl->name, ENG_SESSION_NAME_MAX);
  info->name[ENG_SESSION_NAME_MAX] = 0;
  info->owner_pid = sl->owner_pid;
  info->state = slot_stale(sl) ? ENG_SESSION_STALE : ENG_SESSION_RUNNING;
  info->mode = (int)sl->mode;
  info->providers = shm_prov_count(r, i, gen);
  shm_smap m = {0};
  if (shm_smap_open(r, i, gen, &m) == ENG_OK) {
    eng_session_stats st = {0};
    sum_rings(&m, &st);
    info->events = st.events;
    info->lost = st.lost;
    info->consumer_pid = st.consumer_pid;
    shm_smap_close(&m);
  }
}

int eng_sessions_list(eng_session_info *out, size_t cap, size_t *count) {
  if (!count || (cap && !out)) return ENG_E_ARG;
  *count = 0;
  shm_reg *r;
  int st = shm_reg_get(&r);
  if (st != ENG_OK || (st = shm_reg_lock(r)) != ENG_OK) return st;
  size_t n = 0;
  for (uint32_t i = 0; i < SHM_MAX_SESSIONS; i++) {
    if (atomic_load_explicit(&shm_reg_slot(r, i)->state, memory_order_relaxed) != SHM_SLOT_LIVE)
      continue;
    if (n < cap) fill_info(r, i, &out[n]);
    n++;
  }
  shm_reg_unlock(r);
  *count = n;
  return ENG_OK;
}
