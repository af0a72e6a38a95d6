/*
** shm_kernel.c: kernel sources on a shm session (engine.h
** eng_session_enable_source): the perf_sink through which engine/perf's
** bridge thread writes samples into the session, with the sample's time
** (CLOCK_MONOTONIC ns turned into the session's ticks), pid, tid and cpu,
** and kernel ring losses added to the session's loss count. The source is
** also enabled as a provider id (SHA-1 of its name, as any TraceLogging
** name), so the session lists it and s:stats().providers counts it.
*/
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "tlg_guid.h"
#include "eng_detail.h"
#include "perf/perf.h"
#include "shm_int.h"

struct shm_kernel {
  shm_reg *reg;
  uint32_t slot, gen;
  shm_sess_hdr *hdr;
  uint32_t clock_kind;
  int64_t ticks0, mono0;
  uint64_t pair_uses, t1;           /* k_ticks's (ticks, ns) pair, bridge thread only */
  int64_t m1;
  double rate;
  perf_set *set;
};

static int k_write(void *ctx, const perf_hdr *h, const tlg_guid *provider, const uint8_t *traits,
                   size_t traits_len, const tlg_desc *desc, const uint8_t *meta, size_t meta_len,
                   const uint8_t *data, size_t data_len) {
  struct shm_kernel *k = ctx;
  shm_sample_hdr sh = {h->ticks, h->pid, h->tid, h->cpu};
  eng_data d[2] = {{meta, (uint32_t)meta_len, ENG_DATA_EVENT_META, {0}},
                   {data, (uint32_t)data_len, ENG_DATA_PAYLOAD, {0}}};
  return shm_write_to(k->reg, k->slot, k->gen, &sh, provider, traits, (uint32_t)traits_len, desc,
                      2, d);
}

static void k_lost(void *ctx, uint64_t n) {
  struct shm_kernel *k = ctx;
  atomic_fetch_add_explicit(&k->hdr->noring_lost, n, memory_order_relaxed);
}

static int k_stopped(void *ctx) {
  struct shm_kernel *k = ctx;
  return atomic_load_explicit(&k->hdr->stopped, memory_order_acquire) != 0;
}

/* A monotonic time in TSC ticks: from a (ticks, ns) pair at the rate
** measured since the session began. The pair is read again every 4096
** samples (two clock reads per sample cost more than the decoding). */
static uint64_t k_ticks(void *ctx, int64_t ns) {
  struct shm_kernel *k = ctx;
  if (k->clock_kind != SHM_CLOCK_TSC) return (uint64_t)ns;
  if (k->pair_uses++ % 4096 == 0) {
    k->t1 = shm_ticks();
    k->m1 = shm_mono_ns();
    k->rate = k->m1 > k->mono0 && k->t1 > (uint64_t)k->ticks0
                  ? (double)(k->t1 - (uint64_t)k->ticks0) / (double)(k->m1 - k->mono0) : 0;
  }
  if (k->rate == 0) return k->t1;
  return k->t1 - (uint64_t)(int64_t)((double)(k->m1 - ns) * k->rate);
}

/* kernel_wm only moves forward while sources are on; the consumer holds
** newer records until it passes them (or for a bounded time). */
static void k_mark(void *ctx, int64_t ns) {
  struct shm_kernel *k = ctx;
  _Atomic uint64_t *wm = &k->hdr->kernel_wm;
  if (ns == 0) { atomic_store_explicit(wm, 0, memory_order_release); return; }
  uint64_t t = ns < 0 ? (k->clock_kind == SHM_CLOCK_TSC ? shm_ticks() : (uint64_t)shm_mono_ns())
                      : k_ticks(ctx, ns);
  uint64_t cur = atomic_load_explicit(wm, memory_order_relaxed);
  while (cur < t && !atomic_compare_exchange_weak_explicit(wm, &cur, t, memory_order_release,
                                                           memory_order_relaxed)) {
  }
  if (atomic_load_explicit(&k->hdr->sleeping, memory_order_relaxed)) shm_wake(k->hdr);
}

static int k_new(const shm_kview *v, struct shm_kernel **out) {
  struct shm_kernel *k = calloc(1, sizeof *k);
  if (!k) return ENG_E_NOMEM;
  k->reg = v->reg;
  k->slot = v->slot;
  k->gen = v->gen;
  k->hdr = v->m->hdr;
  k->clock_kind = v->m->clock_kind;
  k->ticks0 = v->m->ticks0;
  k->mono0 = v->m->mono0;
  perf_sink sink = {k, k_write, k_lost, k_stopped, k_ticks, k_mark, v->m->flush_ms, 0};
  int st = perf_set_new(&sink, &k->set);
  if (st != ENG_OK) { free(k); return st; }
  *out = k;
  return ENG_OK;
}

void shm_kernel_end(struct shm_kernel *k) {
  if (!k) return;
  perf_set_free(k->set);
  free(k);
}

int eng_source_is_kernel(const char *name) { return perf_is_source(name); }

int eng_kernel_sources(int tracepoints, int (*fn)(void *ctx, const eng_source_info *in),
                       void *ctx) {
  return perf_list(tracepoints, fn, ctx);
}

int eng_session_enable_source(eng_session *s, const char *name, uint8_t level, uint64_t any,
                              uint64_t all, const eng_enable_opts *o) {
  eng_detail_clear();                   /* a failure below says its own words, or none */
  if (!s || !name) return ENG_E_ARG;
  if (o && (o->properties || (o->exe_names && *o->exe_names) || o->nids || o->nnames)) {
    eng_detail_set(ENG_E_UNSUPPORTED, "%s: kernel sources take only the 'pids' option", name);
    return ENG_E_UNSUPPORTED;
  }
  shm_kview v;
  shm_session_kview(s, &v);
  if (!v.mine) {
    eng_detail_set(ENG_E_UNSUPPORTED, "%s: kernel sources are read by the session's owner "
                   "process; enable them on the handle that started the session", name);
    return ENG_E_UNSUPPORTED;
  }
  if (atomic_load_explicit(&v.m->hdr->stopped, memory_order_acquire)) return ENG_E_STOPPED;
  tlg_guid id;
  const char *pname = name;
  if (tlg_provider_id(pname, strlen(pname), &id) != TLG_OK) return ENG_E_ARG;
  int st = ENG_OK;
  if (!*v.kernel && (st = k_new(&v, v.kernel)) != ENG_OK) return st;
  st = perf_enable((*v.kernel)->set, name, level, any, all, o ? o->pids : NULL, o ? o->npids : 0);
  if (st != ENG_OK) return st;
  if ((st = eng_session_enable(s, &id, level, any, all)) != ENG_OK)
    perf_disable((*v.kernel)->set, name);
  return st;
}

int eng_session_disable_source(eng_session *s, const char *name) {
  if (!s || !name) return ENG_E_ARG;
  shm_kview v;
  shm_session_kview(s, &v);
  tlg_guid id;
  if (tlg_provider_id(name, strlen(name), &id) != TLG_OK) return ENG_E_ARG;
  if (v.mine && *v.kernel) perf_disable((*v.kernel)->set, name);
  return eng_session_disable(s, &id);
}
