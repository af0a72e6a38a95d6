/*
** shm_file.c: file modes of the POSIX engine. The owner of a file-mode
** session runs a writer thread that is the session's consumer: it drains
** the rings with the ordinary consumer code and appends every record to an
** ETL writer (src/etl/etl_write.h), handles flush requests from any process
** (the flush_req / flush_done handshake of shm_layout.h), flushes partial
** buffers and the header at least once a flush interval (sequential files)
** and publishes its counts in the session header, where eng_session_query
** of any process reads them. Requests and the flush timer are looked at
** after every record, not only when the rings run dry: a slow producer
** (a few events a second) keeps next() from ever timing out.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shm_int.h"
#include "etl_write.h"

#define FLUSH_WAIT_MS 10000         /* eng_session_flush waits at most this */
#define FLUSH_DRAIN_NS 200000000LL  /* a flush drains at most this long first */
#define PUBLISH_EVERY 64            /* records between counter updates in the header */

struct shm_drain {
  pthread_t th;
  int32_t pid;                      /* the process that runs the thread */
  eng_consumer *c;
  etl_writer *w;
  shm_sess_hdr *hdr;
  int circular;
  int64_t flush_ns;                 /* sequential: partial buffers reach the file this often */
  uint32_t handled;                 /* last flush_req served */
};

/* ============================================================ counters */

static void publish(shm_drain *d, const etl_write_stats *ws) {
  shm_sess_hdr *h = d->hdr;
  atomic_store_explicit(&h->file_written, ws->events, memory_order_relaxed);
  atomic_store_explicit(&h->file_bytes, ws->bytes, memory_order_relaxed);
  atomic_store_explicit(&h->file_dropped, ws->dropped, memory_order_relaxed);
  atomic_store_explicit(&h->file_count, ws->files, memory_order_relaxed);
  atomic_store_explicit(&h->file_error, ws->io_error, memory_order_relaxed);
}

static void publish_now(shm_drain *d) {
  etl_write_stats ws;
  etl_writer_stats(d->w, &ws);
  publish(d, &ws);
}

void shm_file_stats(const shm_sess_hdr *hc, eng_session_stats *st) {
  shm_sess_hdr *h = (shm_sess_hdr *)(uintptr_t)hc;
  st->written = atomic_load_explicit(&h->file_written, memory_order_relaxed);
  st->file_bytes = atomic_load_explicit(&h->file_bytes, memory_order_relaxed);
  st->files = atomic_load_explicit(&h->file_count, memory_order_relaxed);
  st->file_error = atomic_load_explicit(&h->file_error, memory_order_relaxed);
  st->lost += atomic_load_explicit(&h->file_dropped, memory_order_relaxed);
}

/* ============================================================= thread */

static void take(shm_drain *d, const rec_record *rec) {
  if (rec->kind == REC_KIND_EVENT) etl_writer_append(d->w, rec);   /* refusals are counted */
  else if (rec->kind == REC_KIND_LOST) etl_writer_lost(d->w, rec->lost);
  /* REC_KIND_CORRUPT: counted in the session header by the consumer */
}

/* The flush timer's clock, read once a record: the coarse monotonic clock
** costs a few nanoseconds and its millisecond steps are plenty for a timer
** of a second. */
static int64_t timer_ns(void) {
#ifdef CLOCK_MONOTONIC_COARSE
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
#endif
  return shm_mono_ns();
}

/* Serve a flush request: read what is there now (bounded), write, answer. */
static void serve_flush(shm_drain *d, uint32_t req) {
  rec_record rec;
  int64_t until = shm_mono_ns() + FLUSH_DRAIN_NS;
  for (unsigned n = 1; eng_consumer_next(d->c, &rec, 0) == ENG_OK; n++) {
    take(d, &rec);
    if (n % 4096 == 0 && shm_mono_ns() > until) break;
  }
  etl_writer_flush(d->w);
  publish_now(d);
  d->handled = req;
  atomic_store_explicit(&d->hdr->flush_done, req, memory_order_release);
  shm_futex_wake(&d->hdr->flush_done);
}

/* Serve until every request made so far is answered: a request that came
** while the last one was served must not wait for the next look. */
static void check_flush(shm_drain *d) {
  uint32_t req;
  while ((req = atomic_load_explicit(&d->hdr->flush_req, memory_order_acquire)) != d->handled)
    serve_flush(d, req);
}

static void *drain_main(void *arg) {
  shm_drain *d = arg;
  rec_record rec;
  int64_t next_flush = timer_ns() + d->flush_ns;
  unsigned n = 0;
  int timeout = 1000;                        /* until the next periodic flush */
  for (;;) {
    int st = eng_consumer_next(d->c, &rec, timeout);
    if (st == ENG_OK) take(d, &rec);
    else if (st != ENG_E_TIMEOUT) break;     /* stopped (and drained) */
    if (st != ENG_OK || ++n % PUBLISH_EVERY == 0) publish_now(d);
    check_flush(d);
    int64_t now = timer_ns();
    if (!d->circular && now >= next_flush) {
      if (etl_writer_dirty(d->w)) etl_writer_flush(d->w);
      publish_now(d);
      next_flush = now + d->flush_ns;
    }
    int64_t left = (next_flush - now) / 1000000;
    timeout = d->circular ? 1000 : left < 1 ? 1 : left > 1000 ? 1000 : (int)left;
  }
  etl_write_stats ws;
  etl_writer_close(d->w, 0, &ws);
  d->w = NULL;
  publish(d, &ws);
  /* answer flushes that raced with the stop: the file is final now */
  uint32_t req = atomic_load_explicit(&d->hdr->flush_req, memory_order_acquire);
  atomic_store_explicit(&d->hdr->flush_done, req, memory_order_release);
  shm_futex_wake(&d->hdr->flush_done);
  return NULL;
}

/* ============================================================== setup */

/* CpuSpeedInMHz (spec §6: any plausible value) from /proc/cpuinfo. */
static uint32_t cpu_mhz(void) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[256];
  double mhz = 0;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "cpu MHz", 7) == 0 && sscanf(strchr(line, ':') ? strchr(line, ':') + 1 : "",
                                                   "%lf", &mhz) == 1)
      break;
  if (f) fclose(f);
  return mhz >= 1 && mhz < 100000 ? (uint32_t)(mhz + 0.5) : 0;
}

/* FILETIME of the machine's boot: now - CLOCK_BOOTTIME. */
static int64_t boot_filetime(void) {
#ifdef CLOCK_BOOTTIME
  struct timespec up;
  if (clock_gettime(CLOCK_BOOTTIME, &up) == 0) {
    int64_t up_ns = (int64_t)up.tv_sec * 1000000000LL + up.tv_nsec;
    return (shm_real_ns() - up_ns) / 100 + SHM_FILETIME_1970;
  }
#endif
  return 0;
}

int shm_drain_start(const char *name, const eng_session_opts *o, const shm_smap *m,
                    eng_consumer *c, shm_drain **out) {
  *out = NULL;
  shm_drain *d = calloc(1, sizeof *d);
  if (!d) { eng_consumer_close(c); return ENG_E_NOMEM; }
  long ncpu = sysconf(_SC_NPROCESSORS_CONF);
  etl_write_opts wo = {0};
  wo.buffer_size = m->buffer_kb * 1024u;
  wo.circular = o->mode == ENG_MODE_CIRCULAR;
  if (wo.circular) wo.circular_bytes = (uint64_t)o->max_mb << 20;     /* 0: writer default */
  else wo.max_file_bytes = (uint64_t)o->max_mb << 20;
  wo.start_time = m->real0 / 100 + SHM_FILETIME_1970;                  /* <= every event */
  wo.boot_time = boot_filetime();
  wo.num_processors = ncpu > 0 ? (uint32_t)ncpu : 1;
  wo.cpu_mhz = cpu_mhz();
  wo.pid = (uint32_t)shm_pid();
  wo.tid = shm_gettid();
  wo.logger_id = (uint16_t)(0x10 + m->slot);
  wo.logger_name = name;
  wo.file_mode = o->file_mode;
  d->c = c;
  d->hdr = m->hdr;
  d->circular = wo.circular;
  d->pid = shm_pid();
  d->flush_ns = (int64_t)(m->flush_ms < 1000 ? 1000 : m->flush_ms) * 1000000;
  d->handled = shm_consumer_flush_seen(c);
  int st = etl_writer_open_file(o->file, &wo, &d->w);
  if (st != ETL_OK) {
    int err = errno;
    eng_consumer_close(c);
    free(d);
    if (st == ETL_ERR_NOMEM) return ENG_E_NOMEM;
    if (st == ETL_ERR_ARG) return ENG_E_ARG;
    errno = err;
    return err == EACCES || err == EPERM || err == EROFS ? ENG_E_ACCESS : ENG_E_IO;
  }
  publish_now(d);
  /* the thread takes no signals: they stay with the application's threads */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int e = pthread_create(&d->th, NULL, drain_main, d);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e != 0) {
    etl_writer_close(d->w, 0, NULL);
    eng_consumer_close(c);
    free(d);
    errno = e;
    return e == ENOMEM || e == EAGAIN ? ENG_E_NOMEM : ENG_E_IO;
  }
  *out = d;
  return ENG_OK;
}

void shm_drain_join(shm_drain *d) {
  if (!d || d->pid != shm_pid()) return;   /* a fork child: the thread is not here */
  pthread_join(d->th, NULL);
  eng_consumer_close(d->c);
  free(d);
}

/* ============================================================== flush */

int shm_file_flush(shm_sess_hdr *h) {
  uint32_t req = atomic_fetch_add_explicit(&h->flush_req, 1, memory_order_acq_rel) + 1;
  shm_wake(h);
  int64_t deadline = shm_mono_ns() + (int64_t)FLUSH_WAIT_MS * 1000000;
  for (;;) {
    uint32_t done = atomic_load_explicit(&h->flush_done, memory_order_acquire);
    if ((int32_t)(done - req) >= 0) return ENG_OK;
    if (atomic_load_explicit(&h->stopped, memory_order_acquire)) return ENG_E_STOPPED;
    int32_t cpid = atomic_load_explicit(&h->consumer_pid, memory_order_relaxed);
    uint64_t cstart = atomic_load_explicit(&h->consumer_start, memory_order_relaxed);
    if (cpid == 0 || !shm_proc_alive(cpid, cstart)) return ENG_E_STOPPED;  /* writer died */
    int64_t now = shm_mono_ns();
    if (now >= deadline) return ENG_E_TIMEOUT;
    int64_t ms = (deadline - now) / 1000000;
    shm_futex_wait(&h->flush_done, done, ms > 100 ? 100 : ms < 1 ? 1 : (int)ms);
  }
}
