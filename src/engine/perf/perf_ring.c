/*
** perf_ring.c: one tracepoint perf event and its mmap ring (perf_event_open
** (2)): samples carry tid, time (CLOCK_MONOTONIC, the clock the shm engine
** converts from), cpu and the raw tracepoint record. The reader trusts the
** kernel's head but checks every record size against it.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "perf_int.h"

#define MIN_PAGES 8                 /* smallest ring tried when the kernel refuses more */

/* Data pages per ring: ETWLUA_PERF_RING_PAGES (a power of two, 1..4096;
** tests use 1 to make the kernel drop samples), else `pages`. */
static uint64_t ring_pages(uint32_t pages) {
  const char *e = getenv("ETWLUA_PERF_RING_PAGES");
  char *end;
  unsigned long v = e ? strtoul(e, &end, 10) : 0;
  if (!e || *end || v < 1 || v > 4096 || (v & (v - 1))) return pages;
  return v;
}

static long page_size(void) {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? p : 4096;
}

int perf_ring_open(perf_ring *r, uint32_t id, int pid, int cpu, uint32_t pages,
                   uint32_t flush_bytes) {
  memset(r, 0, sizeof *r);
  r->fd = -1;
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.type = PERF_TYPE_TRACEPOINT;
  a.size = sizeof a;
  a.config = id;
  a.sample_period = 1;
  a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_RAW;
  a.disabled = 1;
  a.use_clockid = 1;
  a.clockid = CLOCK_MONOTONIC;
  long ps = page_size();
  uint64_t n = ring_pages(pages), size = (uint64_t)ps * n;
  if (flush_bytes == 1) {
    a.wakeup_events = 1;              /* wake the reader at every sample */
  } else {
    a.watermark = 1;
    a.wakeup_watermark = flush_bytes && flush_bytes < size / 2 ? flush_bytes : (uint32_t)(size / 4);
  }
  int fd = (int)syscall(SYS_perf_event_open, &a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) return errno;
  size_t len = (size_t)(size + (uint64_t)ps);
  void *m;
  /* without root the locked-memory limit (perf_event_mlock_kb, then
  ** RLIMIT_MEMLOCK) may refuse a big ring: take a smaller one */
  while ((m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED &&
         (errno == EPERM || errno == ENOMEM) && n > MIN_PAGES) {
    n /= 2;
    size = (uint64_t)ps * n;
    len = (size_t)(size + (uint64_t)ps);
  }
  if (m == MAP_FAILED) {
    int e = errno;
    close(fd);
    return e;
  }
  r->fd = fd;
  r->map = m;
  r->map_len = len;
  r->data = (uint8_t *)m + ps;
  r->size = size;
  return 0;
}

int perf_ring_start(perf_ring *r) {
  return r->fd >= 0 && ioctl(r->fd, PERF_EVENT_IOC_ENABLE, 0) != 0 ? errno : 0;
}

void perf_ring_pause(perf_ring *r) {
  if (r->fd >= 0) ioctl(r->fd, PERF_EVENT_IOC_DISABLE, 0);
}

void perf_ring_close(perf_ring *r) {
  if (r->fd >= 0) ioctl(r->fd, PERF_EVENT_IOC_DISABLE, 0);
  if (r->map) munmap(r->map, r->map_len);
  if (r->fd >= 0) close(r->fd);
  memset(r, 0, sizeof *r);
  r->fd = -1;
}

/* Copy n bytes at ring offset `pos` (wrapping). */
static void ring_copy(const perf_ring *r, uint64_t pos, void *dst, size_t n) {
  uint64_t off = pos & (r->size - 1), first = r->size - off;
  if (first >= n) { memcpy(dst, r->data + off, n); return; }
  memcpy(dst, r->data + off, (size_t)first);
  memcpy((uint8_t *)dst + first, r->data, n - (size_t)first);
}

unsigned perf_ring_drain(perf_ring *r, uint8_t *tmp, void (*fn)(void *, const perf_rec *),
                         void *ctx) {
  if (!r->map) return 0;
  struct perf_event_mmap_page *mp = r->map;
  uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = mp->data_tail;
  unsigned n = 0;
  while (head - tail >= sizeof(struct perf_event_header)) {
    struct perf_event_header h;
    ring_copy(r, tail, &h, sizeof h);
    if (h.size < sizeof h || h.size > head - tail) { tail = head; break; }   /* never: skip all */
    size_t body = h.size - sizeof h;
    uint64_t off = (tail + sizeof h) & (r->size - 1);
    perf_rec rec = {h.type, NULL, body};
    if (off + body <= r->size) rec.body = r->data + off;
    else { ring_copy(r, tail + sizeof h, tmp, body); rec.body = tmp; }
    fn(ctx, &rec);
    tail += h.size;
    n++;
  }
  __atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
  return n;
}
