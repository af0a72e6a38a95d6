/*
** shm_ring.c: records in a single-producer single-consumer ring (format and
** barriers in shm_layout.h). The producer's fast path is inline in
** shm_ring.h; here are its slow paths (drop, wake-up) and the consumer half,
** which validates every byte it is handed, since another process wrote it.
*/
#include <string.h>

#include "shm_int.h"
#include "tlg_guid.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define desc_unpack(in, d) memcpy((d), (in), 16)     /* tlg_desc is the LE layout */
#else
#define desc_unpack(in, d) tlg_desc_unpack((in), (d))
#endif

/* ============================================================= producer */

void shm_writer_init(shm_writer *w, shm_ring_ctl *ctl, uint8_t *data, uint64_t size,
                     shm_sess_hdr *hdr) {
  w->ctl = ctl;
  w->data = data;
  w->size = size;
  w->hdr = hdr;
  w->head = shm_ring_read_tail(ctl);        /* start empty, wherever the consumer is */
  w->tail_cache = w->head;
  w->wake_step = size / 4;
  w->wake_at = w->head + w->wake_step;
  w->seq = w->events = w->lost = w->lost_noted = 0;
  w->in_loss = 0;
  /* a record and a pending LOST record fit at any head offset of an empty
  ** ring only if together they take at most half of it */
  uint64_t half = size / 2 - sizeof(shm_rec_lost);
  w->max_rec = half < SHM_REC_MAX ? (uint32_t)half : SHM_REC_MAX;
  atomic_store_explicit(&ctl->events, 0, memory_order_relaxed);
  atomic_store_explicit(&ctl->lost, 0, memory_order_relaxed);
  shm_ring_write_head(ctl, w->head);
}

/* Past a watermark (or on the first drop): wake a sleeping consumer. */
void shm_ring_kick(shm_writer *w) {
  w->wake_at = w->head + w->wake_step;
  if (!w->hdr) return;
  atomic_thread_fence(memory_order_seq_cst);                         /* E */
  if (atomic_load_explicit(&w->hdr->sleeping, memory_order_relaxed)) shm_wake(w->hdr);
}

int shm_ring_drop(shm_writer *w) {
  w->lost++;
  atomic_store_explicit(&w->ctl->lost, w->lost, memory_order_relaxed);
  if (!w->in_loss) {
    w->in_loss = 1;
    shm_ring_kick(w);
  }
  return ENG_E_LOST;
}

/* ============================================================= consumer */

/* Every field of rec_record up to `lost` is set by parse_event; the ones
** after it (other sources' details) are zeroed here. memset of that size
** becomes `rep stos`, whose start-up cost was half of the consumer's time per
** record; 16-byte stores through a may_alias type take a few cycles. A field
** inserted before `lost` trips the assert: set it in parse_event. */
#define REC_TAIL (offsetof(rec_record, lost) + sizeof(uint64_t))
_Static_assert(offsetof(rec_record, lost) == 144 && REC_TAIL % 8 == 0,
               "rec_record changed before `lost`: update parse_event");
#if defined(__GNUC__)
typedef struct { uint64_t a, b; } __attribute__((may_alias)) zero16;
static inline void zero_tail(rec_record *rec) {
  uint8_t *p = (uint8_t *)rec + REC_TAIL;
  const size_t n = sizeof *rec - REC_TAIL;
  const zero16 z = {0, 0};
  for (size_t i = 0; i < n / 16; i++) ((zero16 *)(void *)p)[i] = z;
  if (n % 16) memset(p + n / 16 * 16, 0, n % 16);
}
#else
#define zero_tail(rec) memset((uint8_t *)(rec) + REC_TAIL, 0, sizeof *(rec) - REC_TAIL)
#endif

static int parse_event(const uint8_t *p, uint32_t size, shm_view *v, rec_record *rec) {
  shm_rec_event e;
  if (size < sizeof e) return ENG_E_CORRUPT;
  memcpy(&e, p, sizeof e);                  /* read once, then check the copy */
  if (e.flags & ~(SHM_EV_ACTIVITY | SHM_EV_RELATED)) return ENG_E_CORRUPT;
  uint64_t need = sizeof e + ((e.flags & SHM_EV_ACTIVITY) ? 16 : 0) +
                  ((e.flags & SHM_EV_RELATED) ? 16 : 0) +
                  (uint64_t)e.traits_len + e.meta_len + e.data_len;
  if (((need + 7) & ~(uint64_t)7) != size) return ENG_E_CORRUPT;
  v->ticks = e.ticks;
  v->seq = e.seq;
  memcpy(rec->provider_id.b, e.provider, 16);
  desc_unpack(e.desc, &rec->desc);
  rec->flags = REC_HEADER | (e.meta_len ? REC_TRACELOGGING : 0);
  rec->pid = e.pid;
  rec->tid = e.tid;
  rec->cpu = e.cpu;
  const uint8_t *q = p + sizeof e;
  memset(&rec->activity_id, 0, sizeof rec->activity_id);
  memset(&rec->related_activity_id, 0, sizeof rec->related_activity_id);
  if (e.flags & SHM_EV_ACTIVITY) { memcpy(rec->activity_id.b, q, 16); q += 16; rec->flags |= REC_ACTIVITY; }
  if (e.flags & SHM_EV_RELATED) { memcpy(rec->related_activity_id.b, q, 16); q += 16; rec->flags |= REC_RELATED; }
  rec->traits = e.traits_len ? q : NULL;
  rec->traits_len = e.traits_len;
  q += e.traits_len;
  rec->meta = e.meta_len ? q : NULL;
  rec->meta_len = e.meta_len;
  q += e.meta_len;
  rec->data = q;
  rec->data_len = e.data_len;
  rec->kind = REC_KIND_EVENT;
  rec->seq = e.seq;
  rec->lost = 0;
  rec->timestamp = 0;                       /* the consumer converts v->ticks */
  zero_tail(rec);
  return ENG_OK;
}

int shm_ring_parse(const uint8_t *data, uint64_t size, uint64_t tail, uint64_t avail,
                   shm_view *v, rec_record *rec) {
  uint64_t off = tail & (size - 1), room = size - off;
  if (avail < sizeof(shm_rec) || (off & 7)) return ENG_E_CORRUPT;
  shm_rec h;
  memcpy(&h, data + off, sizeof h);
  if (h.size < sizeof h || (h.size & 7) || h.size > avail || h.size > room) return ENG_E_CORRUPT;
  v->type = h.type;
  v->size = h.size;
  switch (h.type) {
  case SHM_REC_PAD:
    return h.size == room ? ENG_OK : ENG_E_CORRUPT;
  case SHM_REC_LOST: {
    shm_rec_lost l;
    if (h.size != sizeof l) return ENG_E_CORRUPT;
    memcpy(&l, data + off, sizeof l);
    v->lost_total = l.lost_total;
    v->seq = l.seq;
    return ENG_OK;
  }
  case SHM_REC_EVENT:
    return parse_event(data + off, h.size, v, rec);
  default:
    return ENG_E_CORRUPT;
  }
}
