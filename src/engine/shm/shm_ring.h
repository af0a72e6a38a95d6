/*
** shm_ring.h: the producer half of the ring (format and barriers in
** shm_layout.h), inline so it compiles into eng_provider_write: no lock, no
** system call, no call into libc for small blocks, one release store per
** event. The slow paths (ring full, watermark) and the consumer half, which
** validates every byte, are in shm_ring.c.
*/
#ifndef SHM_RING_H
#define SHM_RING_H

#include <string.h>

#include "shm_layout.h"

#ifndef SHM_HIDDEN
#define SHM_HIDDEN __attribute__((visibility("hidden")))
#endif
/* The write path's own pieces: inlined into each caller even where the
** compiler would keep one out-of-line copy for two callers (eng_provider_write
** and shm_write_to), so the event stays in registers. */
#define SHM_ALWAYS_INLINE static inline __attribute__((always_inline))

/* One producer thread's view of its ring in one session (process-private). */
typedef struct shm_writer {
  shm_ring_ctl *ctl;                /* NULL: no ring (see retry) */
  uint8_t *data;
  uint64_t size;                    /* power of two */
  uint64_t head;                    /* private head, published by write_head */
  uint64_t tail_cache;
  uint64_t wake_at, wake_step;
  uint64_t seq, events, lost, lost_noted;
  uint32_t max_rec;                 /* largest record accepted */
  int in_loss;                      /* the last write was dropped */
  shm_sess_hdr *hdr;                /* for wake-ups and noring_lost */
  /* bookkeeping (shm_provider.c) */
  uint32_t slot, gen, ring;
  uint32_t retry;                   /* writes until the next claim attempt */
  void *hdr_map, *ring_map;
  size_t hdr_len, ring_len;
} shm_writer;

/* How an event's blocks reach the record (shm_event_prepare decides). */
enum shm_shape {
  SHM_SHAPE_GATHER = 0,             /* blocks in any order: gathered by type */
  SHM_SHAPE_ORDER = 1,              /* data[] is traits..., meta..., payload... */
  SHM_SHAPE_THREE = 2,              /* one block each: traits, meta, payload below */
  SHM_SHAPE_RESERVED = 3            /* traits and meta as THREE; the payload is the caller's */
};

/* An event as the write path assembles it once for every session. */
typedef struct shm_event_src {
  uint64_t ticks;
  uint32_t pid, tid, cpu;
  uint16_t flags;                   /* shm_ev_flags */
  const tlg_desc *desc;
  const tlg_guid *provider, *activity, *related;
  const eng_data *data;
  size_t n;
  const uint8_t *traits;            /* registered traits, used without a type-2 block */
  uint32_t traits_len, meta_len, data_len;
  uint32_t size;                    /* record size, 8-aligned */
  int shape;                        /* shm_shape */
  const void *meta, *payload;       /* SHM_SHAPE_THREE (traits in `traits`) */
} shm_event_src;

/* shm_ring.c. Set up `w` on the ring (ctl, data of `size` bytes, a power of
** two), empty from the consumer's tail on; hdr (for wake-ups) may be NULL.
** Only the thread that owns the ring calls these. */
SHM_HIDDEN void shm_writer_init(shm_writer *w, shm_ring_ctl *ctl, uint8_t *data, uint64_t size,
                                shm_sess_hdr *hdr);
/* Count one dropped event (ctl->lost); wakes the consumer on the first drop
** of a run. Returns ENG_E_LOST. */
SHM_HIDDEN int shm_ring_drop(shm_writer *w);
/* head passed wake_at: move the watermark on, wake the consumer if it sleeps. */
SHM_HIDDEN void shm_ring_kick(shm_writer *w);

/* Copy n bytes reading only [s, s + n): overlapping fixed-size moves the
** compiler inlines, libc only above 64 bytes. */
SHM_ALWAYS_INLINE void shm_copy(uint8_t *d, const void *src, size_t n) {
  const uint8_t *s = src;
  if (n > 64) { memcpy(d, s, n); return; }
  if (n > 32) {
    memcpy(d, s, 16); memcpy(d + 16, s + 16, 16);
    memcpy(d + n - 32, s + n - 32, 16); memcpy(d + n - 16, s + n - 16, 16);
  } else if (n > 16) {
    memcpy(d, s, 16); memcpy(d + n - 16, s + n - 16, 16);
  } else if (n >= 8) {
    memcpy(d, s, 8); memcpy(d + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    memcpy(d, s, 4); memcpy(d + n - 4, s + n - 4, 4);
  } else if (n) {
    d[0] = s[0]; d[n / 2] = s[n / 2]; d[n - 1] = s[n - 1];
  }
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define shm_desc_pack(d, out) memcpy((out), (d), 16)   /* tlg_desc is the LE layout */
#else
#include "tlg_guid.h"
#define shm_desc_pack(d, out) tlg_desc_pack((d), (out))
#endif

/* The general case of shm_event_prepare: sum the blocks of each type. */
static inline void shm_event_gather(shm_event_src *ev, uint64_t len[3]) {
  int own_traits = 0, in_order = 1;
  uint8_t last = ENG_DATA_PROVIDER_META;
  for (size_t i = 0; i < ev->n; i++) {
    uint8_t t = ev->data[i].type;
    if (t > ENG_DATA_PROVIDER_META) continue;
    len[t] += ev->data[i].size;
    own_traits |= t == ENG_DATA_PROVIDER_META;
    in_order &= t <= last;
    last = t;
  }
  if (own_traits) ev->traits = NULL;
  else len[ENG_DATA_PROVIDER_META] = ev->traits_len;
  ev->meta = ev->payload = NULL;
  ev->shape = in_order && own_traits ? SHM_SHAPE_ORDER : SHM_SHAPE_GATHER;
}

/* Fill ev->size and the blob lengths; ENG_E_TOOBIG if the event cannot be
** a record. Blocks of a type are concatenated; types above 2 (e.g. 3, the
** timestamp override) are ignored; without a type-2 block the registered
** traits are used. What every writer of this project passes, (traits,
** meta, payload) or (meta, payload), is recognised first and copied as
** three blocks without a loop over data[]. */
SHM_ALWAYS_INLINE int shm_event_prepare(shm_event_src *ev) {
  const eng_data *d = ev->data, *meta = NULL;
  uint64_t len[3] = {0, 0, 0};
  if (ev->n == 3 && d[0].type == ENG_DATA_PROVIDER_META && d[1].type == ENG_DATA_EVENT_META &&
      d[2].type == ENG_DATA_PAYLOAD) {
    ev->traits = d[0].ptr;
    len[ENG_DATA_PROVIDER_META] = d[0].size;
    meta = &d[1];
  } else if (ev->n == 2 && d[0].type == ENG_DATA_EVENT_META && d[1].type == ENG_DATA_PAYLOAD) {
    len[ENG_DATA_PROVIDER_META] = ev->traits_len;
    meta = &d[0];
  } else {
    shm_event_gather(ev, len);
  }
  if (meta) {                            /* the payload block follows it */
    ev->shape = SHM_SHAPE_THREE;
    ev->meta = meta[0].ptr;
    len[ENG_DATA_EVENT_META] = meta[0].size;
    ev->payload = meta[1].ptr;
    len[ENG_DATA_PAYLOAD] = meta[1].size;
  }
  if (len[ENG_DATA_PROVIDER_META] > 0xffff) return ENG_E_TOOBIG;
  ev->flags = (uint16_t)((ev->activity ? SHM_EV_ACTIVITY : 0) | (ev->related ? SHM_EV_RELATED : 0));
  uint64_t size = sizeof(shm_rec_event) + (ev->activity ? 16 : 0) + (ev->related ? 16 : 0) +
                  len[0] + len[1] + len[2];
  if (size > SHM_REC_MAX) return ENG_E_TOOBIG;
  ev->traits_len = (uint32_t)len[ENG_DATA_PROVIDER_META];
  ev->meta_len = (uint32_t)len[ENG_DATA_EVENT_META];
  ev->data_len = (uint32_t)len[ENG_DATA_PAYLOAD];
  ev->size = shm_align8(size);
  return ENG_OK;
}

/* Room for `need` contiguous bytes at the head, or NULL when full. If the
** record does not fit before the end of the data, a PAD record (published
** with the record) fills the rest and the record starts at offset 0. */
SHM_ALWAYS_INLINE uint8_t *shm_ring_reserve(shm_writer *w, uint32_t need) {
  uint64_t head = w->head, off = head & (w->size - 1), room = w->size - off;
  uint64_t total = need <= room ? need : room + need;
  if (head + total - w->tail_cache > w->size) {
    w->tail_cache = shm_ring_read_tail(w->ctl);                    /* C */
    if (head + total - w->tail_cache > w->size) return NULL;
  }
  if (need > room) {
    shm_rec pad = {(uint32_t)room, SHM_REC_PAD};
    memcpy(w->data + off, &pad, sizeof pad);
    w->head = head + room;
    off = 0;
  }
  return w->data + off;
}

static inline uint8_t *shm_put_type(uint8_t *p, const shm_event_src *ev, uint8_t type) {
  for (size_t i = 0; i < ev->n; i++) {
    if (ev->data[i].type != type) continue;
    shm_copy(p, ev->data[i].ptr, ev->data[i].size);
    p += ev->data[i].size;
  }
  return p;
}

/* Fields go straight into the ring: a header built on the stack and copied
** would cost a store-forwarding stall per 16 bytes. */
SHM_ALWAYS_INLINE void shm_put_event(uint8_t *dst, const shm_event_src *ev, uint64_t seq) {
  shm_rec_event *e = (shm_rec_event *)(void *)dst;     /* 8-aligned */
  memset(dst + ev->size - 8, 0, 8);                     /* padding; blocks overwrite the rest */
  e->h.size = ev->size;
  e->h.type = SHM_REC_EVENT;
  e->ticks = ev->ticks;
  e->seq = seq;
  e->pid = ev->pid;
  e->tid = ev->tid;
  e->cpu = ev->cpu;
  e->flags = ev->flags;
  e->traits_len = (uint16_t)ev->traits_len;
  e->meta_len = ev->meta_len;
  e->data_len = ev->data_len;
  shm_desc_pack(ev->desc, e->desc);
  memcpy(e->provider, ev->provider->b, 16);
  uint8_t *p = dst + sizeof *e;
  if (ev->activity) { memcpy(p, ev->activity->b, 16); p += 16; }
  if (ev->related) { memcpy(p, ev->related->b, 16); p += 16; }
  if (ev->shape == SHM_SHAPE_THREE) {
    shm_copy(p, ev->traits, ev->traits_len);
    p += ev->traits_len;
    shm_copy(p, ev->meta, ev->meta_len);
    shm_copy(p + ev->meta_len, ev->payload, ev->data_len);
    return;
  }
  if (ev->shape == SHM_SHAPE_RESERVED) {
    shm_copy(p, ev->traits, ev->traits_len);
    shm_copy(p + ev->traits_len, ev->meta, ev->meta_len);
    return;
  }
  if (ev->shape == SHM_SHAPE_ORDER) {    /* one pass: already traits, meta, payload */
    for (size_t i = 0; i < ev->n; i++) {
      if (ev->data[i].type > ENG_DATA_PROVIDER_META) continue;
      shm_copy(p, ev->data[i].ptr, ev->data[i].size);
      p += ev->data[i].size;
    }
    return;
  }
  if (ev->traits) { shm_copy(p, ev->traits, ev->traits_len); p += ev->traits_len; }
  else p = shm_put_type(p, ev, ENG_DATA_PROVIDER_META);
  p = shm_put_type(p, ev, ENG_DATA_EVENT_META);
  shm_put_type(p, ev, ENG_DATA_PAYLOAD);
}

/* Open the event's record (after a LOST record if drops are pending):
** the record's header and blocks are written, not yet published. Returns
** where the record starts and sets *adv (bytes the head moves by at
** shm_ring_end), or NULL with *st ENG_E_LOST (ring full: dropped and
** counted) or ENG_E_TOOBIG. */
SHM_ALWAYS_INLINE uint8_t *shm_ring_begin(shm_writer *w, const shm_event_src *ev, uint32_t *adv,
                                          int *st) {
  if (__builtin_expect(ev->size > w->max_rec, 0)) { *st = ENG_E_TOOBIG; return NULL; }
  uint64_t seq = w->seq++;
  uint32_t extra = w->lost != w->lost_noted ? (uint32_t)sizeof(shm_rec_lost) : 0;
  uint8_t *dst = shm_ring_reserve(w, ev->size + extra);
  if (__builtin_expect(!dst, 0)) { *st = shm_ring_drop(w); return NULL; }
  if (__builtin_expect(extra != 0, 0)) {
    shm_rec_lost l = {{sizeof l, SHM_REC_LOST}, w->lost, seq};
    memcpy(dst, &l, sizeof l);
    dst += sizeof l;
    w->lost_noted = w->lost;
  }
  shm_put_event(dst, ev, seq);
  *adv = ev->size + extra;
  return dst;
}

/* Publish what shm_ring_begin opened. */
SHM_ALWAYS_INLINE void shm_ring_end(shm_writer *w, uint32_t adv) {
  w->head += adv;
  shm_ring_write_head(w->ctl, w->head);                              /* A */
  atomic_store_explicit(&w->ctl->events, ++w->events, memory_order_relaxed);
  w->in_loss = 0;
  if (__builtin_expect(w->head >= w->wake_at, 0)) shm_ring_kick(w);
}

/* Append the event: shm_ring_begin + shm_ring_end, written out (the
** event's own path keeps everything in registers this way; measured).
** ENG_OK, ENG_E_LOST (ring full: dropped and counted) or ENG_E_TOOBIG. */
SHM_ALWAYS_INLINE int shm_ring_write_event(shm_writer *w, const shm_event_src *ev) {
  if (__builtin_expect(ev->size > w->max_rec, 0)) return ENG_E_TOOBIG;
  uint64_t seq = w->seq++;
  uint32_t extra = w->lost != w->lost_noted ? (uint32_t)sizeof(shm_rec_lost) : 0;
  uint8_t *dst = shm_ring_reserve(w, ev->size + extra);
  if (__builtin_expect(!dst, 0)) return shm_ring_drop(w);
  if (__builtin_expect(extra != 0, 0)) {
    shm_rec_lost l = {{sizeof l, SHM_REC_LOST}, w->lost, seq};
    memcpy(dst, &l, sizeof l);
    dst += sizeof l;
    w->lost_noted = w->lost;
  }
  shm_put_event(dst, ev, seq);
  shm_ring_end(w, ev->size + extra);
  return ENG_OK;
}

#endif
