/*
** etl_prefetch.c: LZ77 buffers decompressed ahead of the open-time scan,
** on one helper thread, so that decompression (most of the cost of a
** compressed file) runs next to the scan's own work and the two threads
** share it.
**
** Why here and not in a layer above: the scan (etl_reader_start) is where
** every buffer is decompressed once (to count its records and find its
** first time, which the merge needs before the first record), and it runs
** inside etl_open_*. The helper lives only during that scan: it starts
** with the scan and is joined before etl_open_* returns, on every path, so
** a reader that was opened is the single-threaded object it always was.
**
** Who does what: the scan's thread reads the input (the file is read by
** one thread only) and walks headers a few buffers ahead ("lookahead",
** trusting nothing: a job is only a guess that the scan checks), queueing
** jobs {offset, compressed bytes, capacity}. Either thread claims a queued
** job (QUEUED -> RUNNING, under the lock) and decompresses it; whichever
** gets there first does it. The helper takes the oldest queued job. When
** the scan reaches a buffer it takes the matching job: done -> its output
** is the buffer's data; queued -> the scan decompresses it itself;
** running on the helper -> the scan decompresses the next queued jobs
** meanwhile (work stealing), and with none left, that very job into an
** output of its own (a race: the helper's copy is then freed by the
** helper), so the scan never waits for a helper descheduled under load
** and a second core only ever helps. Errors are
** reported by the scan, in order, from the job's status, as if it had
** decompressed inline. Jobs the scan passes by (a damaged chain) are
** dropped. Memory: at most ETL_PF_JOBS jobs and ETL_PF_BYTES bytes of
** compressed input and output (at least one job).
**
** Start-up: the thread is started only once two jobs are queued (a file
** with one compressed buffer never pays for it), and never when the
** process may run on one CPU only, where it could only take turns with
** the scan.
*/
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT (and pthread_sigmask) */
#elif !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* pthread_sigmask */
#endif
#include <stdlib.h>
#include <string.h>

#include "etl_int.h"
#include "etl_lzx.h"

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
typedef SRWLOCK pf_mutex;
typedef CONDITION_VARIABLE pf_cond;
typedef HANDLE pf_thread;
#else
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#ifdef __linux__
#include <sched.h>
#endif
typedef pthread_mutex_t pf_mutex;
typedef pthread_cond_t pf_cond;
typedef pthread_t pf_thread;
#endif

#define ETL_PF_JOBS 8
#define ETL_PF_BYTES ((size_t)8 << 20)

/* J_ORPHAN: running on the helper, but the scan decompressed the buffer
** too and moved on; the helper frees the job when done. */
enum { J_FREE = 0, J_QUEUED, J_RUNNING, J_DONE, J_ORPHAN };

typedef struct pf_job {
  uint64_t off;           /* buffer offset: the key */
  uint32_t in_len, cap;   /* what the scan will ask for: must match */
  const uint8_t *in;      /* compressed bytes: memory input, or `own` */
  uint8_t *own;           /* file input: read for this job */
  uint8_t *out;           /* cap bytes (at least 1), handed to the buffer */
  size_t got, bad;
  etl_lzx_status st;
  int state;
} pf_job;

struct etl_prefetch {
  pf_mutex mu;
  pf_cond cv;             /* any job changed state, or stop */
  pf_thread th;
  int started;            /* 1: th runs; -1: it could not start (not tried again) */
  int stop;
  pf_job *jobs[ETL_PF_JOBS]; /* a ring: head is the oldest */
  uint32_t head, count;
  size_t bytes;           /* held by jobs in the ring */
  uint64_t ahead;         /* next buffer header the lookahead looks at */
  int ahead_end;          /* the lookahead found the end, or nothing usable */
};

/* ---- the few thread primitives, POSIX or Win32 ---- */

#ifdef _WIN32
static void lock(etl_prefetch *p) { AcquireSRWLockExclusive(&p->mu); }
static void unlock(etl_prefetch *p) { ReleaseSRWLockExclusive(&p->mu); }
static void wait_cv(etl_prefetch *p) { SleepConditionVariableSRW(&p->cv, &p->mu, INFINITE, 0); }
static void wake_all(etl_prefetch *p) { WakeAllConditionVariable(&p->cv); }
static DWORD WINAPI helper_main(LPVOID arg);
static int init_sync(etl_prefetch *p) {
  InitializeSRWLock(&p->mu);
  InitializeConditionVariable(&p->cv);
  return 0;
}
static int start_thread(etl_prefetch *p) {
  p->th = CreateThread(NULL, 0, helper_main, p, 0, NULL);
  return p->th ? 0 : -1;
}
static int cpus(void) {
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  return (int)si.dwNumberOfProcessors;
}
static void join_thread(etl_prefetch *p) {
  WaitForSingleObject(p->th, INFINITE);
  CloseHandle(p->th);
}
static void destroy_sync(etl_prefetch *p) { (void)p; }
#else
static void lock(etl_prefetch *p) { pthread_mutex_lock(&p->mu); }
static void unlock(etl_prefetch *p) { pthread_mutex_unlock(&p->mu); }
static void wait_cv(etl_prefetch *p) { pthread_cond_wait(&p->cv, &p->mu); }
static void wake_all(etl_prefetch *p) { pthread_cond_broadcast(&p->cv); }
static void *helper_main(void *arg);
static int init_sync(etl_prefetch *p) {
  if (pthread_mutex_init(&p->mu, NULL)) return -1;
  if (pthread_cond_init(&p->cv, NULL)) { pthread_mutex_destroy(&p->mu); return -1; }
  return 0;
}
static int start_thread(etl_prefetch *p) {
  sigset_t all, old;
  /* signals stay with the threads that handle them (Ctrl+C, SIGPIPE) */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int e = pthread_create(&p->th, NULL, helper_main, p);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return e ? -1 : 0;
}
/* The CPUs this process may run on: its affinity mask (taskset, a
** container's cpuset), not the machine's count; a helper thread on the
** reader's only CPU would only take turns with it. */
static int cpus(void) {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}
static void join_thread(etl_prefetch *p) { pthread_join(p->th, NULL); }
static void destroy_sync(etl_prefetch *p) {
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
}
#endif

/* ---- the jobs, claimed by either thread ---- */

int (*etl_prefetch_hook)(int event, int who, uint64_t off);

/* May `who` claim j? Always, but for a test's hook. Called locked. */
static int may_claim(const etl_prefetch *p, const pf_job *j, int who) {
  if (!etl_prefetch_hook) return 1;
  if (who != ETL_PF_HELPER && p->started != 1) return 1;  /* no one else would */
  return !etl_prefetch_hook(ETL_PF_EV_CLAIM, who, j->off);
}

/* The oldest queued job from ring position `from` on that `who` may
** claim, or NULL. Called locked. */
static pf_job *next_queued(etl_prefetch *p, uint32_t from, int who) {
  for (uint32_t i = from; i < p->count; i++) {
    pf_job *j = p->jobs[(p->head + i) % ETL_PF_JOBS];
    if (j->state == J_QUEUED && may_claim(p, j, who)) return j;
  }
  return NULL;
}

static void release(pf_job *j) {
  free(j->own);
  free(j->out);
  free(j);
}

/* Claim queued job j and decompress it, unlocked meanwhile; wakes whoever
** waits for it. Called locked, returns locked. */
static void run_job(etl_prefetch *p, pf_job *j, int who) {
  j->state = J_RUNNING;
  if (who == ETL_PF_HELPER) wake_all(p);  /* a scan waiting for it may race it now */
  unlock(p);
  if (etl_prefetch_hook) etl_prefetch_hook(ETL_PF_EV_RUN, who, j->off);
  j->st = etl_lzx_decompress(j->in, j->in_len, j->out, j->cap, &j->got, &j->bad);
  lock(p);
  if (j->state == J_ORPHAN) { release(j); return; }  /* out of the ring */
  j->state = J_DONE;
  wake_all(p);
}

/* ---- the helper ---- */

static void helper_loop(etl_prefetch *p) {
  lock(p);
  for (;;) {
    pf_job *j = NULL;
    while (!p->stop && !(j = next_queued(p, 0, ETL_PF_HELPER))) wait_cv(p);
    if (p->stop) break;
    run_job(p, j, ETL_PF_HELPER);
  }
  unlock(p);
}

#ifdef _WIN32
static DWORD WINAPI helper_main(LPVOID arg) {
  helper_loop(arg);
  return 0;
}
#else
static void *helper_main(void *arg) {
  helper_loop(arg);
  return NULL;
}
#endif

/* ---- the scan's side ---- */

/* Take the oldest job out of the ring and free it, or leave that to the
** helper when it is still working on it. Called locked. */
static void drop_head(etl_prefetch *p) {
  pf_job *j = p->jobs[p->head];
  p->bytes -= (size_t)j->cap + (j->own ? j->in_len : 0);
  if (j->state == J_RUNNING) j->state = J_ORPHAN;
  else release(j);
  p->jobs[p->head] = NULL;
  p->head = (p->head + 1) % ETL_PF_JOBS;
  p->count--;
}

int etl_prefetch_begin(etl_reader *r) {
  if (cpus() < 2) return -1;
  etl_prefetch *p = calloc(1, sizeof *p);
  if (!p) return -1;
  if (init_sync(p)) { free(p); return -1; }
  r->pf = p;
  return 0;
}

void etl_prefetch_end(etl_reader *r) {
  etl_prefetch *p = r->pf;
  if (!p) return;
  if (p->started == 1) {
    lock(p);
    p->stop = 1;
    wake_all(p);
    unlock(p);
    join_thread(p);
  }
  while (p->count) drop_head(p);     /* no helper any more: nothing is running */
  destroy_sync(p);
  free(p);
  r->pf = NULL;
}

/* Guess the buffer at p->ahead: queue a job when it is compressed, move
** on. Returns 0 to go on, -1 when the lookahead should stop. */
static int look_one(etl_reader *r, etl_prefetch *p) {
  uint8_t hb[ETL_BUF_HDR_SIZE];
  uint64_t off = p->ahead;
  if (off >= r->len || r->len - off < ETL_BUF_HDR_SIZE) return -1;
  const uint8_t *h = etl_input(r, off, ETL_BUF_HDR_SIZE, hb);
  if (!h) return -1;
  uint32_t size = tlg_le32(h + ETL_BUF_SIZE), fill = tlg_le32(h + ETL_BUF_OFFSET);
  int compressed = (tlg_le16(h + ETL_BUF_FLAG) & ETL_BUF_FLAG_COMPRESSED) != 0;
  uint32_t step = !compressed && r->stride ? r->stride : size;
  if (step < ETL_BUF_HDR_SIZE || step > r->opt.max_buffer_size) return -1;
  p->ahead = off + step;
  uint64_t disk = r->len - off < step ? r->len - off : step;
  if (!compressed || fill <= ETL_BUF_HDR_SIZE || fill > r->opt.max_buffer_size ||
      disk <= ETL_BUF_HDR_SIZE)
    return 0;
  /* never past the scan's decompression budget (LZ77 bombs) */
  if (r->decompressed + p->bytes + fill > r->opt.max_decompressed) return -1;
  pf_job *j = calloc(1, sizeof *j);
  if (!j) return -1;
  j->off = off;
  j->in_len = (uint32_t)disk - ETL_BUF_HDR_SIZE;
  j->cap = fill - ETL_BUF_HDR_SIZE;
  uint32_t got_cap;
  j->out = etl_spare_take(r, j->cap, &got_cap);  /* this is the scan's thread */
  if (!r->data) j->own = malloc(j->in_len);
  if (!j->out || (!r->data && !j->own)) { release(j); return -1; }
  j->in = etl_input(r, off + ETL_BUF_HDR_SIZE, j->in_len, j->own);
  if (!j->in) { release(j); return -1; }
  j->state = J_QUEUED;
  lock(p);
  p->jobs[(p->head + p->count) % ETL_PF_JOBS] = j;
  p->count++;
  p->bytes += (size_t)j->cap + (j->own ? j->in_len : 0);
  wake_all(p);
  unlock(p);
  return 0;
}

void etl_prefetch_fill(etl_reader *r, uint64_t next) {
  etl_prefetch *p = r->pf;
  if (!p) return;
  if (p->ahead < next) { p->ahead = next; p->ahead_end = 0; }  /* the scan went past it */
  /* p->count and p->bytes change only on this thread: read unlocked */
  while (!p->ahead_end && p->count < ETL_PF_JOBS && (p->count == 0 || p->bytes < ETL_PF_BYTES))
    if (look_one(r, p)) p->ahead_end = 1;
  /* a second thread only once there is more than the next job to do */
  if (!p->started && p->count >= 2) {
    p->started = start_thread(p) ? -1 : 1;
    if (p->started > 0 && etl_prefetch_hook) etl_prefetch_hook(ETL_PF_EV_START, ETL_PF_HELPER, 0);
  }
}

/* Decompress the head job j, which the helper is working on, into a
** second output; when the helper is still at it then, j is left to it
** (J_ORPHAN) and a copy holding this output takes its place. Both
** outputs are the same bytes. Returns 1 when the head job is done, 0 when
** out of memory. Called locked, returns locked. */
static int race(etl_prefetch *p, pf_job *j) {
  pf_job *c = calloc(1, sizeof *c);
  uint8_t *out = malloc(j->cap);
  if (!c || !out) { free(c); free(out); return 0; }
  /* only what the helper does not write (it writes got, bad, st) */
  c->off = j->off;
  c->in = j->in;
  c->in_len = j->in_len;
  c->cap = j->cap;
  unlock(p);
  if (etl_prefetch_hook) etl_prefetch_hook(ETL_PF_EV_RUN, ETL_PF_RACE, j->off);
  c->st = etl_lzx_decompress(c->in, c->in_len, out, c->cap, &c->got, &c->bad);
  lock(p);
  if (j->state == J_DONE) {          /* the helper finished first: the same bytes */
    free(c);
    free(out);
    return 1;
  }
  /* the helper frees j, its input and output; c takes j's place */
  if (j->own) p->bytes -= j->in_len;
  j->state = J_ORPHAN;
  c->in = NULL;                      /* j's, freed with it */
  c->out = out;
  c->state = J_DONE;
  p->jobs[p->head] = c;
  return 1;
}

int etl_prefetch_take(etl_reader *r, uint64_t off, uint32_t in_len, uint32_t cap,
                      uint8_t **out, size_t *got, size_t *bad, int *st) {
  etl_prefetch *p = r->pf;
  if (!p) return 0;
  lock(p);
  while (p->count && p->jobs[p->head]->off < off) drop_head(p);  /* passed by */
  pf_job *j = p->count ? p->jobs[p->head] : NULL;
  if (!j || j->off != off || j->in_len != in_len || j->cap != cap) {
    if (j && j->off == off) drop_head(p);                        /* a wrong guess */
    unlock(p);
    return 0;
  }
  /* not started: this thread does it; running on the helper: this thread
  ** does the next queued ones meanwhile, and with none left, that one
  ** too (a helper descheduled under load is never waited for) */
  while (j->state != J_DONE) {
    pf_job *k = j->state == J_QUEUED && may_claim(p, j, ETL_PF_SCAN) ? j : NULL;
    if (k) run_job(p, k, ETL_PF_SCAN);
    else if ((k = next_queued(p, 1, ETL_PF_STEAL))) run_job(p, k, ETL_PF_STEAL);
    else if (j->state == J_RUNNING && may_claim(p, j, ETL_PF_RACE) && race(p, j))
      j = p->jobs[p->head];
    else wait_cv(p);
  }
  *out = j->out;
  *got = j->got;
  *bad = j->bad;
  *st = (int)j->st;
  j->out = NULL;                     /* the buffer owns it now */
  drop_head(p);
  unlock(p);
  return 1;
}
