/*
** perf_set.c: the kernel sources of one session and their bridge thread.
** A source is one name the user enabled; it has one or more tracepoints
** (named providers map several, perf_named.c), each with rings per CPU
** (or per thread of the pids given). The bridge polls the rings (and an
** eventfd that says the set changed or must end), at most flush_ms apart,
** decodes each sample and writes it into the session with the sample's
** header. Enable/disable run on the caller's thread: slow work (tracefs,
** perf_event_open, mmap) outside the lock, the swap under it; rings of a
** disabled source are closed by the bridge, which may be polling them.
*/
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "tlg_guid.h"
#include "eng_detail.h"
#include "perf_int.h"
#include "perf_named.h"

#define NAME_MAX_LEN 160

typedef struct perf_tp {
  tpf_format fmt;
  const perf_map *map;              /* named provider's mapping, NULL = raw decode */
  perf_ring *rings;
  unsigned nrings;
  struct perf_src *src;
  perf_fast fast;                   /* raw decode without the builder (perf_fast.c) */
  int live;                         /* perf_map_live: read values at drain, wake per sample */
} perf_tp;

typedef struct perf_src {
  char name[NAME_MAX_LEN];
  tlg_guid provider;
  uint8_t traits[NAME_MAX_LEN + 8];
  size_t traits_len;
  uint8_t level;
  uint64_t any, all;
  uint32_t pids[ENG_FILTER_MAX_PIDS];
  size_t npids;
  perf_tp *tps;
  unsigned ntps;
  int dead;                         /* disabled: the bridge closes it */
} perf_src;

struct perf_set {
  perf_sink sink;
  pthread_mutex_t lock;
  perf_src **srcs;
  unsigned n, cap;
  pthread_t thread;
  int thread_on;
  int wake_fd;
  _Atomic int quit;
  tlg_builder b;
  uint8_t tmp[65536];               /* records that wrap the ring end */
  /* samples read but not yet written, to be written in time order */
  struct pend *pend;
  size_t npend, pend_cap;
  uint8_t *pbuf;                    /* their raw bytes */
  size_t plen, pcap;
  uint8_t *pbuf2;                   /* release's compaction target, swapped with pbuf */
  size_t pcap2;
  struct pend *pend2;               /* the merge's target, swapped with pend */
  size_t pend2_cap;
  /* pend is runs in time order (one per ring read, the kept samples
  ** first): merged, not sorted, unless some ring's samples went back */
  size_t *runs, nruns, runs_cap;
  int unsorted;
  uint8_t fastbuf[PERF_FAST_MAX];
  uint8_t xbuf[8200];                 /* one sample's perf_map_preread values */
};

/* One sample waiting in the time-ordered batch. */
typedef struct pend {
  uint64_t time;                    /* CLOCK_MONOTONIC ns */
  uint64_t seq;                     /* read order: ties keep it */
  perf_tp *t;
  uint32_t pid, tid, cpu;
  size_t off, len;                  /* raw bytes at pbuf + off ... */
  size_t xlen;                      /* ... then perf_map_preread's values */
} pend;

/* Data pages of each kernel ring: a raw tracepoint may be a busy one
** (raw_syscalls: 1 MB per CPU takes a burst of ~10 k samples while the
** bridge is not scheduled); named providers map several rarer ones. */
#define RAW_RING_PAGES 256
#define NAMED_RING_PAGES 64
#define COMMIT_SLACK_NS 1000000u   /* 1 ms: see drain_all */
#define BATCH_MAX (8u << 20)        /* raw bytes held at most; more: written early */

int perf_is_source(const char *name) {
  return name && (strncasecmp(name, "tracepoint:", 11) == 0 || perf_named_find(name) != NULL);
}

/* ================================================================ sources */

static void tp_close(perf_tp *t) {
  perf_fast_free(&t->fast);
  for (unsigned i = 0; i < t->nrings; i++) perf_ring_close(&t->rings[i]);
  free(t->rings);
  t->rings = NULL;
  t->nrings = 0;
}

static void src_free(perf_src *s) {
  if (!s) return;
  for (unsigned i = 0; i < s->ntps; i++) tp_close(&s->tps[i]);
  free(s->tps);
  free(s);
}

static int errno_status(int e) {
  return e == EACCES || e == EPERM ? ENG_E_ACCESS : e == ENOMEM ? ENG_E_NOMEM
         : e == ENOENT || e == ESRCH ? ENG_E_NOTFOUND : ENG_E_IO;
}

static int open_fail(const perf_src *s, const perf_tp *t, int e) {
  int st = errno_status(e);
  if (st == ENG_E_ACCESS)
    eng_detail_set(st, "%s: perf_event_open of tracepoint %s: %s (needs root or CAP_PERFMON; "
                   "perf_event_paranoid=%d)", s->name, t->fmt.name, strerror(e), perf_paranoid());
  else
    eng_detail_set(st, "%s: perf_event_open of tracepoint %s: %s", s->name, t->fmt.name,
                   strerror(e));
  return st;
}

/* The threads of process `pid` into tids (at most cap); count or -1. */
static int threads_of(uint32_t pid, int *tids, int cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%u/task", pid);
  DIR *d = opendir(path);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < cap) {
    char *end;
    long v = strtol(e->d_name, &end, 10);
    if (*end == 0 && v > 0) tids[n++] = (int)v;
  }
  closedir(d);
  return n;
}

/* Open t's rings: one per CPU, or one per thread of each pid as it is now.
** Not `inherit`: the kernel refuses mmap of inherited per-task events
** (every descendant would write into one ring), so threads a process
** starts later are not seen; the bridge still keeps only the pids. */
static int tp_open(perf_src *s, perf_tp *t, uint32_t flush_bytes) {
  int targets[1024], ntargets = 0, per_task = s->npids > 0;
  if (per_task) {
    for (size_t i = 0; i < s->npids; i++) {
      int k = threads_of(s->pids[i], targets + ntargets, 1024 - ntargets);
      if (k <= 0) {
        eng_detail_set(ENG_E_ARG, "%s: pid %u is not running", s->name, s->pids[i]);
        return ENG_E_ARG;
      }
      ntargets += k;
    }
  } else {
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    ntargets = ncpu > 0 && ncpu <= 1024 ? (int)ncpu : 1;
    for (int i = 0; i < ntargets; i++) targets[i] = i;
  }
  t->rings = calloc((size_t)ntargets, sizeof *t->rings);
  if (!t->rings) return ENG_E_NOMEM;
  for (int i = 0; i < ntargets; i++) {
    int pid = per_task ? targets[i] : -1, cpu = per_task ? -1 : targets[i];
    int e = perf_ring_open(&t->rings[t->nrings], t->fmt.id, pid, cpu,
                           t->map ? NAMED_RING_PAGES : RAW_RING_PAGES, t->live ? 1 : flush_bytes);
    if (e == ENODEV && !per_task) continue;            /* an offline CPU */
    if (e == ESRCH && per_task) continue;              /* a thread that just ended */
    if (e) return open_fail(s, t, e);
    t->nrings++;
  }
  return ENG_OK;
}

/* "tracepoint:GROUP:NAME" -> group, name. */
static int split_tp(const char *name, char *group, char *event, size_t cap) {
  const char *g = name + 11, *c = strchr(g, ':');
  if (!c || (size_t)(c - g) >= cap || strlen(c + 1) >= cap || strchr(c + 1, ':')) {
    eng_detail_set(ENG_E_ARG, "'%s' is not tracepoint:GROUP:NAME", name);
    return ENG_E_ARG;
  }
  memcpy(group, g, (size_t)(c - g));
  group[c - g] = 0;
  strcpy(event, c + 1);
  return ENG_OK;
}

/* The tracepoints of source `name`: one for a raw tracepoint, the
** mapping's list for a named provider. */
static int src_formats(perf_src *s, const char *name) {
  const perf_named *np = perf_named_find(name);
  unsigned n = np ? np->nmaps : 1;
  s->tps = calloc(n, sizeof *s->tps);
  if (!s->tps) return ENG_E_NOMEM;
  if (!np) {
    char group[NAME_MAX_LEN], event[NAME_MAX_LEN];
    int st = split_tp(name, group, event, sizeof group);
    if (st == ENG_OK) st = perf_read_format(group, event, &s->tps[0].fmt);
    if (st != ENG_OK) return st;
    s->tps[0].src = s;
    s->ntps = 1;
    return ENG_OK;
  }
  snprintf(s->name, sizeof s->name, "%s", np->name);      /* the table's spelling */
  for (unsigned i = 0; i < n; i++) {
    const perf_map *m = &np->maps[i];
    int st = perf_read_format(m->group, m->tracepoint, &s->tps[s->ntps].fmt);
    if (st == ENG_E_NOTFOUND && m->optional) continue;  /* not in this kernel */
    if (st != ENG_OK) return st;
    if (perf_map_check(m, &s->tps[s->ntps].fmt) != 0) {
      eng_detail_set(ENG_E_IO, "%s: tracepoint %s:%s lacks the fields %s maps", np->name,
                     m->group, m->tracepoint, m->event);
      return ENG_E_IO;
    }
    s->tps[s->ntps].map = m;
    s->tps[s->ntps].live = perf_map_live(m);
    s->tps[s->ntps].src = s;
    s->ntps++;
  }
  return ENG_OK;
}

static int src_new(perf_set *ps, const char *name, const uint32_t *pids, size_t npids,
                   perf_src **out) {
  *out = NULL;
  if (strlen(name) >= NAME_MAX_LEN) {
    eng_detail_set(ENG_E_ARG, "kernel source name longer than %d bytes", NAME_MAX_LEN - 1);
    return ENG_E_ARG;
  }
  perf_src *s = calloc(1, sizeof *s);
  if (!s) return ENG_E_NOMEM;
  snprintf(s->name, sizeof s->name, "%s", name);
  s->npids = npids;
  if (npids) memcpy(s->pids, pids, npids * sizeof *pids);
  int st = src_formats(s, name);
  if (st == ENG_OK && (tlg_provider_id(s->name, strlen(s->name), &s->provider) != TLG_OK ||
                       tlg_provider_traits(s->name, strlen(s->name), NULL, s->traits,
                                           sizeof s->traits, &s->traits_len) != TLG_OK))
    st = ENG_E_ARG;
  for (unsigned i = 0; st == ENG_OK && i < s->ntps; i++) st = tp_open(s, &s->tps[i], ps->sink.flush_bytes);
  if (st != ENG_OK) { src_free(s); return st; }
  *out = s;
  return ENG_OK;
}

static int find(const perf_set *ps, const char *name) {
  const perf_named *np = perf_named_find(name);
  if (np) name = np->name;
  for (unsigned i = 0; i < ps->n; i++)
    if (!ps->srcs[i]->dead && strcasecmp(ps->srcs[i]->name, name) == 0) return (int)i;
  return -1;
}

/* ================================================================= bridge */

static void emit(perf_set *ps, perf_tp *t, const perf_hdr *h, const uint8_t *raw, size_t len) {
  perf_src *s = t->src;
  tlg_desc d;
  const char *ev = t->map ? t->map->event : t->fmt.name;
  if (!ev) ev = "";                                   /* state-only mapping: never written */
  memset(&d, 0, sizeof d);
  d.channel = 11;
  d.level = t->map ? t->map->level : 4;
  d.keyword = t->map ? t->map->keyword : 0;
  d.opcode = t->map ? t->map->opcode : 0;
  if (!eng_match(d.level, d.keyword, s->level, s->any, s->all)) return;
  size_t ml, dl;
  if (t->fast.state == 1 && (dl = perf_fast_data(&t->fast, raw, len, ps->fastbuf)) != 0) {
    ps->sink.write(ps->sink.ctx, h, &s->provider, s->traits, s->traits_len, &d, t->fast.meta,
                   t->fast.meta_len, ps->fastbuf, dl);
    return;
  }
  if (tlg_build_reset(&ps->b, ev, strlen(ev), &d, 0) != TLG_OK) return;
  int r = t->map ? perf_map_fields(t->map, &t->fmt, h, raw, len, &ps->b)
                 : tpf_decode(&t->fmt, raw, len, &ps->b);
  if (r < 0) { ps->sink.lost(ps->sink.ctx, 1); return; }   /* too big for one event */
  if (r > 0 && t->map) return;                              /* not this event, or state only */
  const uint8_t *meta = tlg_build_meta(&ps->b, &ml);
  const uint8_t *data = tlg_build_data(&ps->b, &dl);
  if (!t->map && t->fast.state == 0 && r == 0)
    perf_fast_learn(&t->fast, &t->fmt, raw, len, meta, ml, data, dl);
  ps->sink.write(ps->sink.ctx, h, &s->provider, s->traits, s->traits_len, &d, meta, ml, data, dl);
}

typedef struct drain_ctx {
  perf_set *ps;
  perf_tp *t;
} drain_ctx;

static int pid_wanted(const perf_src *s, uint32_t pid) {
  if (!s->npids) return 1;
  for (size_t i = 0; i < s->npids; i++)
    if (s->pids[i] == pid) return 1;
  return 0;
}

/* What hold() appends from now on is a new run (the next ring's samples). */
static void run_begin(perf_set *ps) {
  if (ps->nruns && ps->runs[ps->nruns - 1] == ps->npend) return;     /* the last is empty */
  if (ps->nruns == ps->runs_cap) {
    size_t cap = ps->runs_cap ? ps->runs_cap * 2 : 16;
    size_t *r = realloc(ps->runs, cap * sizeof *r);
    if (!r) { ps->unsorted = 1; return; }          /* runs unknown: sort instead */
    ps->runs = r;
    ps->runs_cap = cap;
  }
  ps->runs[ps->nruns++] = ps->npend;
}

/* pend in time order by merging its runs (ties: the earlier run, i.e. read
** order); 0, or -1 when it must be sorted instead. */
#define MERGE_MAX_RUNS 32
static int merge_runs(perf_set *ps) {
  size_t k = ps->nruns, pos[MERGE_MAX_RUNS], end[MERGE_MAX_RUNS];
  if (ps->unsorted || k > MERGE_MAX_RUNS) return -1;
  if (k <= 1) return 0;
  if (ps->pend2_cap < ps->npend) {
    pend *p = realloc(ps->pend2, ps->pend_cap * sizeof *p);
    if (!p) return -1;
    ps->pend2 = p;
    ps->pend2_cap = ps->pend_cap;
  }
  for (size_t r = 0; r < k; r++) {
    pos[r] = ps->runs[r];
    end[r] = r + 1 < k ? ps->runs[r + 1] : ps->npend;
  }
  for (size_t o = 0; o < ps->npend; o++) {
    size_t best = k;
    for (size_t r = 0; r < k; r++)
      if (pos[r] < end[r] && (best == k || ps->pend[pos[r]].time < ps->pend[pos[best]].time))
        best = r;
    ps->pend2[o] = ps->pend[pos[best]++];
  }
  pend *tp = ps->pend;
  size_t tc = ps->pend_cap;
  ps->pend = ps->pend2;
  ps->pend_cap = ps->pend2_cap;
  ps->pend2 = tp;
  ps->pend2_cap = tc;
  return 0;
}

/* Keep one sample for the ordered write; 0, or -1 when the batch is full. */
static int hold(perf_set *ps, perf_tp *t, uint64_t time, const uint32_t pt[2], uint32_t cpu,
                const uint8_t *raw, size_t len, const uint8_t *x, size_t xlen) {
  size_t all = len + xlen;
  if (ps->plen + all > BATCH_MAX) return -1;
  if (ps->npend == ps->pend_cap) {
    size_t cap = ps->pend_cap ? ps->pend_cap * 2 : 1024;
    pend *p = realloc(ps->pend, cap * sizeof *p);
    if (!p) return -1;
    ps->pend = p;
    ps->pend_cap = cap;
  }
  if (ps->plen + all > ps->pcap) {
    size_t cap = ps->pcap ? ps->pcap : 65536;
    while (cap < ps->plen + all) cap *= 2;
    uint8_t *b = realloc(ps->pbuf, cap);
    if (!b) return -1;
    ps->pbuf = b;
    ps->pcap = cap;
  }
  memcpy(ps->pbuf + ps->plen, raw, len);
  if (xlen) memcpy(ps->pbuf + ps->plen + len, x, xlen);
  if (ps->nruns == 0) run_begin(ps);
  else if (ps->npend > ps->runs[ps->nruns - 1] && time < ps->pend[ps->npend - 1].time)
    ps->unsorted = 1;                               /* a ring's samples went back: sort */
  ps->pend[ps->npend] = (pend){time, ps->npend, t, pt[0], pt[1], cpu, ps->plen, len, xlen};
  ps->npend++;
  ps->plen += all;
  return 0;
}

static int by_time(const void *a, const void *b) {
  const pend *x = a, *y = b;
  if (x->time != y->time) return x->time < y->time ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* An open whose fd the same process closes later in the batch (sorted):
** by the time the bridge reads /proc/PID/fd/N, N may be another file. */
static int closed_later(perf_set *ps, size_t i) {
  const pend *p = &ps->pend[i];
  uint32_t fd, cfd;
  if (!perf_map_opens(p->t->map, &p->t->fmt, ps->pbuf + p->off, p->len, &fd)) return 0;
  for (size_t j = i + 1; j < ps->npend && j < i + 65536; j++) {
    const pend *q = &ps->pend[j];
    if (q->pid == p->pid && q->t->src == p->t->src &&
        perf_map_closes(q->t->map, &q->t->fmt, ps->pbuf + q->off, q->len, &cfd) && cfd == fd)
      return 1;
  }
  return 0;
}

/* Write the held samples older than `before` (all: UINT64_MAX) in time
** order; keep the rest. Samples stamped before the pass began were all in
** their rings when it read them, so what is written never precedes
** something written later (rings of other CPUs and tracepoints included). */
static void release(perf_set *ps, uint64_t before) {
  if (!ps->npend) return;
  if (merge_runs(ps) != 0) qsort(ps->pend, ps->npend, sizeof *ps->pend, by_time);
  ps->unsorted = 0;
  ps->nruns = 0;
  size_t i = 0;
  for (; i < ps->npend && ps->pend[i].time < before; i++) {
    pend *p = &ps->pend[i];
    if (p->t->src->dead) continue;
    perf_hdr h = {ps->sink.ticks(ps->sink.ctx, (int64_t)p->time), p->pid, p->tid, p->cpu,
                  closed_later(ps, i), ps->pbuf + p->off + p->len, p->xlen};
    emit(ps, p->t, &h, ps->pbuf + p->off, p->len);
  }
  size_t keep = ps->npend - i, w = 0;
  if (keep && ps->pcap2 < ps->pcap) {
    free(ps->pbuf2);
    ps->pcap2 = (ps->pbuf2 = malloc(ps->pcap)) ? ps->pcap : 0;
  }
  uint8_t *nb = keep ? ps->pbuf2 : NULL;
  if (keep && !nb) {                                /* cannot compact: write them now */
    for (; i < ps->npend; i++) {
      pend *p = &ps->pend[i];
      perf_hdr h = {ps->sink.ticks(ps->sink.ctx, (int64_t)p->time), p->pid, p->tid, p->cpu,
                    closed_later(ps, i), ps->pbuf + p->off + p->len, p->xlen};
      if (!p->t->src->dead) emit(ps, p->t, &h, ps->pbuf + p->off, p->len);
    }
    keep = 0;
  }
  size_t nl = 0;
  for (; i < ps->npend; i++, w++) {
    pend p = ps->pend[i];
    memcpy(nb + nl, ps->pbuf + p.off, p.len + p.xlen);
    p.off = nl;
    p.seq = w;
    nl += p.len + p.xlen;
    ps->pend[w] = p;
  }
  if (nb) {                                         /* swap the buffers */
    ps->pbuf2 = ps->pbuf;
    ps->pbuf = nb;
    size_t c = ps->pcap2;
    ps->pcap2 = ps->pcap;
    ps->pcap = c;
  }
  ps->npend = keep;
  ps->plen = nl;
  if (keep) {                                       /* what is kept is one run, in order */
    ps->npend = 0;
    run_begin(ps);
    ps->npend = keep;
  }
}

/* One ring record: PERF_SAMPLE_TID | TIME | CPU | RAW, or a loss notice. */
static void on_record(void *arg, const perf_rec *rec) {
  drain_ctx *c = arg;
  perf_set *ps = c->ps;
  if (rec->type == PERF_RECORD_LOST) {
    uint64_t v[2];
    if (rec->len >= sizeof v) {
      memcpy(v, rec->body, sizeof v);
      ps->sink.lost(ps->sink.ctx, v[1]);
    }
    return;
  }
  if (rec->type != PERF_RECORD_SAMPLE || rec->len < 28) return;
  uint32_t pt[2], cpu, rawlen;
  uint64_t time;
  memcpy(pt, rec->body, 8);
  memcpy(&time, rec->body + 8, 8);
  memcpy(&cpu, rec->body + 16, 4);
  memcpy(&rawlen, rec->body + 24, 4);
  if (rawlen > rec->len - 28 || !pid_wanted(c->t->src, pt[0])) return;
  /* what must be read from the process: now, before it may end */
  size_t xlen = c->t->live ? perf_map_preread(c->t->map, &c->t->fmt, pt[0], rec->body + 28, rawlen,
                                              ps->xbuf, sizeof ps->xbuf) : 0;
  if (hold(ps, c->t, time, pt, cpu, rec->body + 28, rawlen, ps->xbuf, xlen) == 0) return;
  release(ps, UINT64_MAX);                          /* batch full: write what it holds */
  if (hold(ps, c->t, time, pt, cpu, rec->body + 28, rawlen, ps->xbuf, xlen) != 0) {
    perf_hdr h = {ps->sink.ticks(ps->sink.ctx, (int64_t)time), pt[0], pt[1], cpu, 0,
                  ps->xbuf, xlen};
    emit(ps, c->t, &h, rec->body + 28, rawlen);
  }
}

static uint64_t mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Read every ring, then write in time order what is sure to be complete
** (all of it when `final`). */
static void drain_all(perf_set *ps, int final) {
  /* a sample is stamped a little before the kernel commits it to its ring:
  ** what is younger than the slack waits for the next pass */
  uint64_t start = mono_now() - COMMIT_SLACK_NS;
  for (unsigned i = 0; i < ps->n; i++) {
    perf_src *s = ps->srcs[i];
    if (s->dead) continue;
    for (unsigned j = 0; j < s->ntps; j++) {
      drain_ctx c = {ps, &s->tps[j]};
      for (unsigned k = 0; k < s->tps[j].nrings; k++) {
        run_begin(ps);
        perf_ring_drain(&s->tps[j].rings[k], ps->tmp, on_record, &c);
      }
    }
  }
  release(ps, final ? UINT64_MAX : start);
  if (ps->n && !final) ps->sink.mark(ps->sink.ctx, (int64_t)start);
}

/* Under the lock: free disabled sources; fill fds (wake_fd first). */
static unsigned collect(perf_set *ps, struct pollfd **fds, unsigned *cap) {   /* *cap >= 1 */
  unsigned w = 0, total = 1;
  for (unsigned i = 0; i < ps->n && ps->npend; i++)
    if (ps->srcs[i]->dead) { release(ps, UINT64_MAX); break; }   /* no sample may outlive its source */
  for (unsigned i = 0; i < ps->n; i++) {
    if (ps->srcs[i]->dead) { src_free(ps->srcs[i]); continue; }
    ps->srcs[w++] = ps->srcs[i];
  }
  if (w == 0 && ps->n) ps->sink.mark(ps->sink.ctx, 0);   /* nothing to wait for now */
  ps->n = w;
  for (unsigned i = 0; i < ps->n; i++)
    for (unsigned j = 0; j < ps->srcs[i]->ntps; j++) total += ps->srcs[i]->tps[j].nrings;
  if (total > *cap) {
    struct pollfd *p = realloc(*fds, total * sizeof *p);
    if (!p) total = 1;            /* poll only the wake fd; the timeout still drains */
    else { *fds = p; *cap = total; }
  }
  unsigned k = 0;
  (*fds)[k++] = (struct pollfd){ps->wake_fd, POLLIN, 0};
  for (unsigned i = 0; i < ps->n && k < total; i++)
    for (unsigned j = 0; j < ps->srcs[i]->ntps; j++)
      for (unsigned r = 0; r < ps->srcs[i]->tps[j].nrings && k < total; r++)
        (*fds)[k++] = (struct pollfd){ps->srcs[i]->tps[j].rings[r].fd, POLLIN, 0};
  return k;
}

/* Under the lock: every source ends (the session stopped elsewhere). */
static void close_all(perf_set *ps) {
  for (unsigned i = 0; i < ps->n; i++) src_free(ps->srcs[i]);
  ps->n = 0;
}

/* Tests only: ETWLUA_PERF_TEST_STALL_MS holds the bridge back before its
** first read, so a small ring overflows and the kernel's loss records show. */
static void test_stall(void) {
  const char *e = getenv("ETWLUA_PERF_TEST_STALL_MS");
  long ms = e ? strtol(e, NULL, 10) : 0;
  if (ms > 0 && ms <= 10000) usleep((useconds_t)ms * 1000);
}

static void *bridge(void *arg) {
  perf_set *ps = arg;
  test_stall();
  unsigned cap = 1;
  struct pollfd *fds = malloc(sizeof *fds);
  int timeout = ps->sink.flush_ms ? (int)ps->sink.flush_ms : 100;
  for (;;) {
    int quit = atomic_load(&ps->quit), gone = ps->sink.stopped(ps->sink.ctx);
    if (fds && !quit && !gone) {
      pthread_mutex_lock(&ps->lock);
      unsigned n = collect(ps, &fds, &cap);
      pthread_mutex_unlock(&ps->lock);
      if (poll(fds, n, timeout) > 0 && (fds[0].revents & POLLIN)) {
        uint64_t v;
        if (read(ps->wake_fd, &v, sizeof v) < 0) { /* raced with another read: fine */ }
      }
    } else if (!quit && !gone) {
      usleep((useconds_t)timeout * 1000);              /* no memory for fds: drain by time */
    }
    pthread_mutex_lock(&ps->lock);
    drain_all(ps, quit || gone);
    if (gone) close_all(ps);
    if (quit || gone) ps->sink.mark(ps->sink.ctx, 0);
    pthread_mutex_unlock(&ps->lock);
    if (quit || gone) break;
  }
  free(fds);
  return NULL;
}

static void wake(perf_set *ps) {
  uint64_t one = 1;
  if (write(ps->wake_fd, &one, sizeof one) < 0) { /* counter full: already woken */ }
}

/* =================================================================== API */

int perf_set_new(const perf_sink *sink, perf_set **out) {
  perf_set *ps = calloc(1, sizeof *ps);
  if (!ps) return ENG_E_NOMEM;
  ps->sink = *sink;
  ps->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (ps->wake_fd < 0) { free(ps); return ENG_E_IO; }
  pthread_mutex_init(&ps->lock, NULL);
  tlg_build_init(&ps->b, 512, 1024);
  *out = ps;
  return ENG_OK;
}

static int insert(perf_set *ps, perf_src *s) {
  if (ps->n == ps->cap) {
    unsigned cap = ps->cap ? ps->cap * 2 : 8;
    perf_src **p = realloc(ps->srcs, cap * sizeof *p);
    if (!p) return ENG_E_NOMEM;
    ps->srcs = p;
    ps->cap = cap;
  }
  ps->srcs[ps->n++] = s;
  return ENG_OK;
}

static int same_pids(const perf_src *s, const uint32_t *pids, size_t n) {
  return s->npids == n && (n == 0 || memcmp(s->pids, pids, n * sizeof *pids) == 0);
}

int perf_enable(perf_set *ps, const char *name, uint8_t level, uint64_t any, uint64_t all,
                const uint32_t *pids, size_t npids) {
  if (!ps || !name || npids > ENG_FILTER_MAX_PIDS || (npids && !pids)) return ENG_E_ARG;
  if (any == 0) any = UINT64_MAX;
  pthread_mutex_lock(&ps->lock);
  int i = find(ps, name);
  if (i >= 0 && same_pids(ps->srcs[i], pids, npids)) {       /* only the levels change */
    ps->srcs[i]->level = level;
    ps->srcs[i]->any = any;
    ps->srcs[i]->all = all;
    pthread_mutex_unlock(&ps->lock);
    return ENG_OK;
  }
  pthread_mutex_unlock(&ps->lock);
  perf_src *s;
  int st = src_new(ps, name, pids, npids, &s);
  if (st != ENG_OK) return st;
  s->level = level;
  s->any = any;
  s->all = all;
  pthread_mutex_lock(&ps->lock);
  /* rings start counting only now, under the lock: no sample of them is
  ** older than what the bridge already wrote, so time order holds */
  for (unsigned j = 0; st == ENG_OK && j < s->ntps; j++)
    for (unsigned k = 0; st == ENG_OK && k < s->tps[j].nrings; k++) {
      int e = perf_ring_start(&s->tps[j].rings[k]);
      if (e) st = open_fail(s, &s->tps[j], e);
    }
  if (st != ENG_OK) {
    pthread_mutex_unlock(&ps->lock);
    src_free(s);
    return st;
  }
  if ((i = find(ps, name)) >= 0) ps->srcs[i]->dead = 1;      /* replaced (new pids) */
  st = insert(ps, s);
  /* user events from now on wait for the bridge to have read the kernel's */
  if (st == ENG_OK) ps->sink.mark(ps->sink.ctx, -1);
  if (st == ENG_OK && !ps->thread_on) {
    if (pthread_create(&ps->thread, NULL, bridge, ps) == 0) ps->thread_on = 1;
    else { ps->n--; st = ENG_E_NOMEM; }
  }
  pthread_mutex_unlock(&ps->lock);
  if (st != ENG_OK) {
    if (i >= 0) ps->srcs[i]->dead = 0;
    src_free(s);
    return st;
  }
  wake(ps);
  return ENG_OK;
}

int perf_disable(perf_set *ps, const char *name) {
  if (!ps || !name) return ENG_E_ARG;
  pthread_mutex_lock(&ps->lock);
  int i = find(ps, name);
  if (i >= 0) {
    perf_src *s = ps->srcs[i];
    for (unsigned j = 0; j < s->ntps; j++)       /* no new samples; the bridge closes it */
      for (unsigned k = 0; k < s->tps[j].nrings; k++)
        perf_ring_pause(&s->tps[j].rings[k]);
    s->dead = 1;
  }
  pthread_mutex_unlock(&ps->lock);
  wake(ps);
  return ENG_OK;
}

void perf_set_free(perf_set *ps) {
  if (!ps) return;
  if (ps->thread_on) {
    atomic_store(&ps->quit, 1);
    wake(ps);
    pthread_join(ps->thread, NULL);
  }
  for (unsigned i = 0; i < ps->n; i++) src_free(ps->srcs[i]);
  free(ps->srcs);
  close(ps->wake_fd);
  tlg_build_free(&ps->b);
  free(ps->pend);
  free(ps->pbuf);
  free(ps->pend2);
  free(ps->pbuf2);
  free(ps->runs);
  pthread_mutex_destroy(&ps->lock);
  free(ps);
}
