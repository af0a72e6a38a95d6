/*
** shm_ctl.c: the per-user registry: its creation, its robust lock, the
** session table and the provider table (enable state). Enable state is
** changed only here, under the lock, with the seqlock of shm_layout.h.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm_int.h"
#include "eng_detail.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static shm_reg g_reg;
static int g_open;

#define REG_HDR_SIZE SHM_PAGE
#define SESS_STRIDE ((uint32_t)sizeof(shm_sess_slot))
#define PROV_STRIDE ((uint32_t)sizeof(shm_prov_entry))
#define PROV_OFF (REG_HDR_SIZE + SHM_MAX_SESSIONS * SESS_STRIDE)
#define REG_SIZE ((PROV_OFF + SHM_MAX_PROVIDERS * PROV_STRIDE + SHM_PAGE - 1) / SHM_PAGE * SHM_PAGE)

/* =============================================================== opening */

static int init_lock(pthread_mutex_t *m) {
  pthread_mutexattr_t a;
  if (pthread_mutexattr_init(&a) != 0) return ENG_E_IO;
  int e = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  if (!e) e = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  if (!e) e = pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
  return e ? ENG_E_IO : ENG_OK;
}

static int init_hdr(shm_reg_hdr *h) {
  h->magic = SHM_REG_MAGIC;
  h->version = SHM_VERSION;
  h->compat_version = SHM_COMPAT_VERSION;
  h->size = REG_SIZE;
  h->hdr_size = REG_HDR_SIZE;
  h->max_sessions = SHM_MAX_SESSIONS;
  h->sess_stride = SESS_STRIDE;
  h->max_providers = SHM_MAX_PROVIDERS;
  h->prov_stride = PROV_STRIDE;
  h->prov_off = PROV_OFF;
  return init_lock(&h->lock.m);
}

static int check_hdr(const shm_reg_hdr *h, uint64_t size) {
  if (h->magic != SHM_REG_MAGIC || h->compat_version > SHM_VERSION) return ENG_E_VERSION;
  if (h->size != REG_SIZE || size < REG_SIZE || h->hdr_size != REG_HDR_SIZE ||
      h->max_sessions != SHM_MAX_SESSIONS || h->sess_stride != SESS_STRIDE ||
      h->max_providers != SHM_MAX_PROVIDERS || h->prov_stride != PROV_STRIDE ||
      h->prov_off != PROV_OFF)
    return ENG_E_VERSION;
  return ENG_OK;
}

static int open_existing(const char *path, shm_reg *r) {
  int fd;
  uint64_t size;
  int st = shm_file_open(path, &fd, &size);
  if (st != ENG_OK) return st;
  void *p = NULL;
  if (size < REG_SIZE) st = ENG_E_VERSION;
  else st = shm_map(fd, 0, REG_SIZE, &p);
  close(fd);
  if (st != ENG_OK) return st;
  st = check_hdr(p, size);
  if (st != ENG_OK) { munmap(p, REG_SIZE); return st; }
  r->hdr = p;
  r->len = REG_SIZE;
  return ENG_OK;
}

/* Build a complete registry under a private name, then link() it in:
** EEXIST means another process won the race; use theirs. */
static int create_new(const char *path, shm_reg *r) {
  char tmp[SHM_PATH_MAX + 64];
  snprintf(tmp, sizeof tmp, "%s.%d.%lx", path, (int)getpid(), (unsigned long)(uintptr_t)&tmp);
  int fd;
  int st = shm_file_create(tmp, REG_SIZE, &fd);
  if (st != ENG_OK) return st;
  void *p = NULL;
  st = shm_map(fd, 0, REG_SIZE, &p);
  close(fd);
  if (st == ENG_OK && (st = init_hdr(p)) == ENG_OK) {
    if (link(tmp, path) != 0) st = errno == EEXIST ? ENG_E_EXISTS : shm_errno_status(errno);
  }
  unlink(tmp);
  if (st != ENG_OK) {
    if (p) munmap(p, REG_SIZE);
    return st;
  }
  r->hdr = p;
  r->len = REG_SIZE;
  return ENG_OK;
}

static int reg_open(shm_reg *r) {
  int st = shm_runtime_dir(r->dir, sizeof r->dir);
  if (st != ENG_OK) return st;
  char path[SHM_PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/registry", r->dir);
  for (int tries = 0; tries < 8; tries++) {
    st = open_existing(path, r);
    if (st != ENG_E_NOTFOUND) break;
    st = create_new(path, r);
    if (st != ENG_E_EXISTS) break;
  }
  if (st == ENG_OK) r->euid = geteuid();
  return st;
}

/* fork() while another thread holds g_lock would leave the child's copy
** locked for ever: hold it across fork. */
static void fork_prepare(void) { pthread_mutex_lock(&g_lock); }
static void fork_release(void) { pthread_mutex_unlock(&g_lock); }
static void atfork_once(void) { pthread_atfork(fork_prepare, fork_release, fork_release); }

int shm_reg_get(shm_reg **out) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  shm_os_init();
  eng_detail_clear();
  pthread_once(&once, atfork_once);
  pthread_mutex_lock(&g_lock);
  int st = ENG_OK;
  if (!g_open) {
    st = reg_open(&g_reg);
    g_open = st == ENG_OK;
  } else if (g_reg.euid != geteuid()) {
    st = ENG_E_ACCESS;       /* inherited across a change of user: not ours */
  }
  pthread_mutex_unlock(&g_lock);
  *out = st == ENG_OK ? &g_reg : NULL;
  return st;
}

/* ================================================================ access */

shm_sess_slot *shm_reg_slot(shm_reg *r, uint32_t i) {
  return (shm_sess_slot *)(void *)((uint8_t *)r->hdr + REG_HDR_SIZE + (size_t)i * SESS_STRIDE);
}

shm_prov_entry *shm_reg_prov(shm_reg *r, uint32_t i) {
  return (shm_prov_entry *)(void *)((uint8_t *)r->hdr + PROV_OFF + (size_t)i * PROV_STRIDE);
}

void shm_sess_path(const shm_reg *r, uint32_t slot, uint32_t gen, char *out, size_t cap) {
  snprintf(out, cap, "%s/s%u-%u", r->dir, (unsigned)slot, (unsigned)gen);
}

/* ========================================================= enable state */

static void seq_begin(shm_prov_entry *e) {
  uint32_t g = atomic_load_explicit(&e->merged.gen, memory_order_relaxed);
  atomic_store_explicit(&e->merged.gen, (g | 1u), memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
}

static void seq_end(shm_prov_entry *e) {
  uint32_t g = atomic_load_explicit(&e->merged.gen, memory_order_relaxed);
  atomic_store_explicit(&e->merged.gen, (g | 1u) + 1u, memory_order_release);
}

/* merged = max level_plus1, OR of any, AND of all over the sessions. */
static void merge(shm_prov_entry *e) {
  uint32_t n = atomic_load_explicit(&e->nsess, memory_order_relaxed), lp1 = 0;
  uint64_t any = 0, all = n ? ~(uint64_t)0 : 0;
  if (n > SHM_SESS_PER_PROV) n = SHM_SESS_PER_PROV;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t l = atomic_load_explicit(&e->sess[i].level_plus1, memory_order_relaxed);
    if (l > lp1) lp1 = l;
    any |= atomic_load_explicit(&e->sess[i].any, memory_order_relaxed);
    all &= atomic_load_explicit(&e->sess[i].all, memory_order_relaxed);
  }
  if (lp1 == 0) atomic_store_explicit(&e->merged.level_plus1, 0, memory_order_release);
  atomic_store_explicit(&e->merged.any, any, memory_order_relaxed);
  atomic_store_explicit(&e->merged.all, all, memory_order_relaxed);
  atomic_store_explicit(&e->merged.level_plus1, lp1, memory_order_release);
}

static void put_sess(shm_prov_sess *s, uint32_t slot, uint32_t gen, uint32_t lp1,
                     uint64_t any, uint64_t all) {
  atomic_store_explicit(&s->sess, slot + 1, memory_order_relaxed);
  atomic_store_explicit(&s->sess_gen, gen, memory_order_relaxed);
  atomic_store_explicit(&s->level_plus1, lp1, memory_order_relaxed);
  atomic_store_explicit(&s->any, any, memory_order_relaxed);
  atomic_store_explicit(&s->all, all, memory_order_relaxed);
}

static int find_sess(shm_prov_entry *e, uint32_t slot) {
  uint32_t n = atomic_load_explicit(&e->nsess, memory_order_relaxed);
  for (uint32_t i = 0; i < n && i < SHM_SESS_PER_PROV; i++)
    if (atomic_load_explicit(&e->sess[i].sess, memory_order_relaxed) == slot + 1) return (int)i;
  return -1;
}

int shm_prov_set(shm_prov_entry *e, uint32_t slot, uint32_t gen, uint8_t level,
                 uint64_t any, uint64_t all) {
  int i = find_sess(e, slot);
  uint32_t n = atomic_load_explicit(&e->nsess, memory_order_relaxed);
  if (i < 0 && n >= SHM_SESS_PER_PROV) return ENG_E_FULL;
  seq_begin(e);
  if (i < 0) {
    i = (int)n;
    atomic_store_explicit(&e->nsess, n + 1, memory_order_relaxed);
  }
  put_sess(&e->sess[i], slot, gen, level ? (uint32_t)level + 1 : 256u, any, all);
  merge(e);
  seq_end(e);
  return ENG_OK;
}

/* Remove by moving the last session into the hole. */
void shm_prov_clear(shm_prov_entry *e, uint32_t slot) {
  int i = find_sess(e, slot);
  if (i < 0) return;
  uint32_t last = atomic_load_explicit(&e->nsess, memory_order_relaxed) - 1;
  seq_begin(e);
  if ((uint32_t)i != last) {
    shm_prov_sess *s = &e->sess[last];
    put_sess(&e->sess[i], atomic_load_explicit(&s->sess, memory_order_relaxed) - 1,
             atomic_load_explicit(&s->sess_gen, memory_order_relaxed),
             atomic_load_explicit(&s->level_plus1, memory_order_relaxed),
             atomic_load_explicit(&s->any, memory_order_relaxed),
             atomic_load_explicit(&s->all, memory_order_relaxed));
  }
  put_sess(&e->sess[last], UINT32_MAX, 0, 0, 0, 0);   /* sess = 0: unused */
  atomic_store_explicit(&e->nsess, last, memory_order_relaxed);
  merge(e);
  seq_end(e);
}

void shm_prov_clear_all(shm_reg *r, uint32_t slot) {
  for (uint32_t i = 0; i < SHM_MAX_PROVIDERS; i++) {
    shm_prov_entry *e = shm_reg_prov(r, i);
    if (e->used) shm_prov_clear(e, slot);
  }
}

uint32_t shm_prov_count(shm_reg *r, uint32_t slot, uint32_t gen) {
  uint32_t count = 0;
  for (uint32_t i = 0; i < SHM_MAX_PROVIDERS; i++) {
    shm_prov_entry *e = shm_reg_prov(r, i);
    int j = e->used ? find_sess(e, slot) : -1;
    if (j >= 0 && atomic_load_explicit(&e->sess[j].sess_gen, memory_order_relaxed) == gen) count++;
  }
  return count;
}

int shm_prov_route_locked(shm_reg *reg, shm_prov_entry *e, shm_route *r) {
  if (shm_reg_lock(reg) != ENG_OK) return -1;
  unsigned n = atomic_load_explicit(&e->nsess, memory_order_relaxed);
  if (n > SHM_SESS_PER_PROV) n = SHM_SESS_PER_PROV;
  shm_route_read(e, n, r);
  shm_reg_unlock(reg);
  return (int)n;
}

/* Open addressing on the id's first bytes; entries are never removed, so a
** probe stops at the first unused entry. */
int shm_prov_find(shm_reg *r, const tlg_guid *id, int create, shm_prov_entry **out) {
  uint32_t h;
  memcpy(&h, id->b, sizeof h);
  h ^= (uint32_t)id->b[15] * 2654435761u;
  for (uint32_t k = 0; k < SHM_MAX_PROVIDERS; k++) {
    shm_prov_entry *e = shm_reg_prov(r, (h + k) % SHM_MAX_PROVIDERS);
    if (e->used && memcmp(&e->id, id, sizeof *id) == 0) { *out = e; return ENG_OK; }
    if (!e->used) {
      if (!create) return ENG_E_NOTFOUND;
      e->id = *id;
      e->used = 1;
      *out = e;
      return ENG_OK;
    }
  }
  return ENG_E_FULL;
}

/* =========================================================== the lock */

/* Keep sess[i]? It names a session, and no later entry names the same one.
** shm_prov_clear copies the last entry into the hole before it shrinks the
** list, so of two copies the later one is the complete original. */
static int keep_sess(shm_prov_entry *e, uint32_t i, uint32_t n) {
  uint32_t k = atomic_load_explicit(&e->sess[i].sess, memory_order_relaxed);
  if (k == 0 || k > SHM_MAX_SESSIONS) return 0;
  for (uint32_t j = i + 1; j < n; j++)
    if (atomic_load_explicit(&e->sess[j].sess, memory_order_relaxed) == k) return 0;
  return 1;
}

/* Drop unused, invalid and duplicate entries of a half-done update. */
static void compact(shm_prov_entry *e) {
  uint32_t n = atomic_load_explicit(&e->nsess, memory_order_relaxed), out = 0;
  if (n > SHM_SESS_PER_PROV) n = SHM_SESS_PER_PROV;
  for (uint32_t i = 0; i < n; i++) {
    if (!keep_sess(e, i, n)) continue;
    shm_prov_sess *s = &e->sess[i];
    if (out != i)
      put_sess(&e->sess[out], atomic_load_explicit(&s->sess, memory_order_relaxed) - 1,
               atomic_load_explicit(&s->sess_gen, memory_order_relaxed),
               atomic_load_explicit(&s->level_plus1, memory_order_relaxed),
               atomic_load_explicit(&s->any, memory_order_relaxed),
               atomic_load_explicit(&s->all, memory_order_relaxed));
    out++;
  }
  for (uint32_t i = out; i < SHM_SESS_PER_PROV; i++) put_sess(&e->sess[i], UINT32_MAX, 0, 0, 0, 0);
  atomic_store_explicit(&e->nsess, out, memory_order_relaxed);
}

/* A holder died: finish any enable update it left half-done (odd gen). */
static void repair(shm_reg *r) {
  for (uint32_t i = 0; i < SHM_MAX_PROVIDERS; i++) {
    shm_prov_entry *e = shm_reg_prov(r, i);
    if (!(atomic_load_explicit(&e->merged.gen, memory_order_relaxed) & 1u)) continue;
    compact(e);
    merge(e);
    seq_end(e);
  }
}

int shm_reg_lock(shm_reg *r) {
  int e = pthread_mutex_lock(&r->hdr->lock.m);
  if (e == EOWNERDEAD) {
    repair(r);
    pthread_mutex_consistent(&r->hdr->lock.m);
    return ENG_OK;
  }
  return e ? ENG_E_CORRUPT : ENG_OK;
}

void shm_reg_unlock(shm_reg *r) {
  pthread_mutex_unlock(&r->hdr->lock.m);
}
