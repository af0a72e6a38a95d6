/*
** win_provider.c: eng_provider on ETW (spec windows-etw §1): EventRegister
** with an enable callback that only stores the merged level / any / all
** (TraceLoggingDynamic's levelPlus1 scheme, §1.3), provider traits through
** EventSetInformation (fallback UseDescriptorType, §1.1), EventWriteTransfer
** with three typed data descriptors (§1.4), EventUnregister (§1.6).
*/
#ifdef _WIN32

#include <stdlib.h>
#include <string.h>

#include "win_int.h"

struct eng_provider {
  eng_provider_head head;        /* must be first: eng_enabled reads it */
  eng_enable_state state;
  REGHANDLE h;
  _Atomic uint32_t capture_requests;  /* CAPTURE_STATE notices (not surfaced yet) */
  _Atomic uint32_t enable_calls;      /* callbacks seen (self-test) */
  int traits_status;                  /* 0 SetTraits ok, 1 via UseDescriptorType, 2 unsupported */
  size_t traits_len;
  uint8_t traits[];
};

/* Runs on an ETW thread, possibly before EventRegister returned: touches
** only the atomics of its context; no locks, no Lua, no session control. */
static void NTAPI enable_cb(LPCGUID source, ULONG is_enabled, UCHAR level, ULONGLONG any,
                            ULONGLONG all, PEVENT_FILTER_DESCRIPTOR filter, PVOID ctx) {
  (void)source; (void)filter;
  struct eng_provider *p = ctx;
  atomic_fetch_add_explicit(&p->enable_calls, 1, memory_order_relaxed);
  switch (is_enabled) {
    case 0: /* EVENT_CONTROL_CODE_DISABLE_PROVIDER */
      atomic_store_explicit(&p->state.level_plus1, 0, memory_order_release);
      break;
    case 1: /* ENABLE: the composite of every session */
      if (any == 0) any = ~0ULL;  /* spec §1.2 Decide: 0 means every keyword */
      atomic_store_explicit(&p->state.any, any, memory_order_relaxed);
      atomic_store_explicit(&p->state.all, all, memory_order_relaxed);
      atomic_fetch_add_explicit(&p->state.gen, 1, memory_order_relaxed);
      atomic_store_explicit(&p->state.level_plus1, level ? (uint32_t)level + 1 : 256,
                            memory_order_release);
      break;
    case 2: /* CAPTURE_STATE: leave the enable state alone */
      atomic_fetch_add_explicit(&p->capture_requests, 1, memory_order_relaxed);
      break;
    default: break;  /* unknown codes: ignore, never fail */
  }
}

int eng_provider_register(const tlg_guid *id, const void *traits, size_t traits_len,
                          eng_provider **out) {
  *out = NULL;
  if (!id || (traits_len && !traits) || traits_len > 65535) return ENG_E_ARG;
  struct eng_provider *p = calloc(1, sizeof *p + traits_len);
  if (!p) return ENG_E_NOMEM;
  /* everything initialised before EventRegister: the callback may run at once */
  atomic_init(&p->state.level_plus1, 0);
  atomic_init(&p->state.gen, 0);
  atomic_init(&p->state.any, 0);
  atomic_init(&p->state.all, 0);
  atomic_init(&p->capture_requests, 0);
  atomic_init(&p->enable_calls, 0);
  p->head.state = &p->state;
  p->traits_len = traits_len;
  if (traits_len) memcpy(p->traits, traits, traits_len);
  GUID g;
  memcpy(&g, id->b, 16);
  REGHANDLE h = 0;
  ULONG rc = EventRegister(&g, enable_cb, p, &h);
  if (rc != ERROR_SUCCESS) {
    free(p);
    return rc == ERROR_NOT_ENOUGH_MEMORY ? ENG_E_NOMEM : ENG_E_FULL;  /* 1,024 per process */
  }
  p->h = h;
  p->traits_status = 2;
  if (traits_len >= 2) {
    if (EventSetInformation(h, ETWC_EventProviderSetTraits, p->traits, (ULONG)traits_len) ==
        ERROR_SUCCESS) {
      p->traits_status = 0;
    } else {
      BOOLEAN yes = TRUE;
      if (EventSetInformation(h, ETWC_EventProviderUseDescriptorType, &yes, sizeof yes) ==
          ERROR_SUCCESS)
        p->traits_status = 1;
    }
  }
  *out = p;
  return ENG_OK;
}

int eng_provider_write(eng_provider *p, const tlg_desc *desc, const tlg_guid *activity,
                       const tlg_guid *related, size_t n, const eng_data *data) {
  if (!p || !desc || (n && !data)) return ENG_E_ARG;
  /* concatenate same-typed blocks into the three descriptors ETW wants;
  ** the common case (one block of each) needs no copy */
  const void *ptr[3] = {NULL, NULL, NULL};
  uint32_t size[3] = {0, 0, 0};
  unsigned cnt[3] = {0, 0, 0};
  for (size_t i = 0; i < n; i++) {
    unsigned t = data[i].type;
    if (t > ENG_DATA_PROVIDER_META) return ENG_E_ARG;
    if (data[i].size == 0) continue;
    if (cnt[t]++ == 0) ptr[t] = data[i].ptr;
    /* sizes are ETW's to judge (534 above 64 KB, but only when a session listens) */
    if ((uint64_t)size[t] + data[i].size > 0x7FFFFFFF) return ENG_E_TOOBIG;
    size[t] += data[i].size;
  }
  uint8_t *copy = NULL;
  if (cnt[0] > 1 || cnt[1] > 1 || cnt[2] > 1) {
    copy = malloc((size_t)size[0] + size[1] + size[2]);
    if (!copy) return ENG_E_NOMEM;
    uint8_t *dst[3] = {copy, copy + size[0], copy + size[0] + size[1]};
    for (unsigned t = 0; t < 3; t++) ptr[t] = dst[t];
    for (size_t i = 0; i < n; i++) {
      unsigned t = data[i].type;
      if (!data[i].size) continue;
      memcpy(dst[t], data[i].ptr, data[i].size);
      dst[t] += data[i].size;
    }
  }
  if (cnt[2] == 0) { ptr[2] = p->traits; size[2] = (uint32_t)p->traits_len; }
  EVENT_DESCRIPTOR d;
  d.Id = desc->id;
  d.Version = desc->version;
  d.Channel = desc->channel;
  d.Level = desc->level;
  d.Opcode = desc->opcode;
  d.Task = desc->task;
  d.Keyword = desc->keyword;
  EVENT_DATA_DESCRIPTOR dd[3];
  ULONG ndd = 0;
  /* provider traits (Type 2), event metadata (Type 1), payload (always, even
  ** empty). A metadata block of 0 bytes gets no descriptor: an empty Type-1
  ** block is not "no metadata" to ETW and decoders */
  if (size[2]) {
    EventDataDescCreate(&dd[ndd], ptr[2], size[2]);
    ETWC_SET_DESC_TYPE(&dd[ndd], ETWC_DESC_TYPE_PROVIDER_METADATA);
    ndd++;
  }
  if (size[1]) {
    EventDataDescCreate(&dd[ndd], ptr[1], size[1]);
    ETWC_SET_DESC_TYPE(&dd[ndd], ETWC_DESC_TYPE_EVENT_METADATA);
    ndd++;
  }
  EventDataDescCreate(&dd[ndd], ptr[0], size[0]);
  ETWC_SET_DESC_TYPE(&dd[ndd], ETWC_DESC_TYPE_NONE);
  ndd++;
  /* engine.h: a NULL activity id means none. EventWriteTransfer would take
  ** NULL as "the thread's current activity id" (spec §1.5): pass zeros */
  GUID act, rel;
  memset(&act, 0, sizeof act);
  if (activity) memcpy(&act, activity->b, 16);
  if (related) memcpy(&rel, related->b, 16);
  ULONG rc = EventWriteTransfer(p->h, &d, &act, related ? &rel : NULL, ndd, dd);
  free(copy);
  switch (rc) {
    case ERROR_SUCCESS: return ENG_OK;
    case ERROR_NOT_ENOUGH_MEMORY: return ENG_E_LOST;     /* a session's buffers were full */
    case ERROR_MORE_DATA: case ERROR_ARITHMETIC_OVERFLOW: return ENG_E_TOOBIG;
    case ERROR_INVALID_HANDLE: return ENG_E_ARG;
    default:
      if (rc == 0xC0000188u) return ENG_E_LOST;          /* STATUS_LOG_FILE_FULL */
      return ENG_E_IO;
  }
}

/* ETW takes the event as data descriptors: the payload is written into the
** reservation's own buffer and handed over at commit. */
int eng_provider_reserve(eng_provider *p, const tlg_desc *desc, const void *meta,
                         uint32_t meta_len, const tlg_guid *activity, const tlg_guid *related,
                         uint32_t data_len, eng_reserve *rv) {
  rv->payload = NULL;
  if (!p || !desc || (meta_len && !meta) || data_len > ENG_RESERVE_LOCAL) return ENG_E_ARG;
  if (!eng_enabled(p, desc->level, desc->keyword)) return ENG_OK;
  rv->p = p;
  rv->desc = desc;
  rv->meta = meta;
  rv->meta_len = meta_len;
  rv->activity = activity;
  rv->related = related;
  rv->data_len = data_len;
  rv->payload = rv->local;
  return ENG_OK;
}

int eng_provider_commit(eng_reserve *rv) {
  if (!rv || !rv->payload) return ENG_OK;
  eng_data d[2] = {{rv->meta, rv->meta_len, ENG_DATA_EVENT_META, {0}},
                   {rv->local, rv->data_len, ENG_DATA_PAYLOAD, {0}}};
  rv->payload = NULL;
  return eng_provider_write(rv->p, rv->desc, rv->activity, rv->related, 2, d);
}

void eng_provider_unregister(eng_provider *p) {
  if (!p) return;
  /* never from inside our own enable callback (it only touches atomics) */
  if (p->h) EventUnregister(p->h);
  free(p);  /* only after EventUnregister returned: no callback can run now */
}

/* self-test helpers (win_selftest.c) */
uint32_t win_provider_enable_calls(const eng_provider *p) {
  return atomic_load_explicit(&p->enable_calls, memory_order_relaxed);
}
int win_provider_traits_status(const eng_provider *p) { return p->traits_status; }
int win_provider_etw_enabled(const eng_provider *p, uint8_t level, uint64_t kw) {
  return EventProviderEnabled(p->h, level, kw) ? 1 : 0;
}

/* A prepared event here is its desc and metadata, kept for the writes. */
struct eng_prepared {
  eng_provider *p;
  tlg_desc desc;
  uint32_t meta_len;
  uint8_t meta[];
};

int eng_prepare(eng_provider *p, const tlg_desc *desc, const void *meta, uint32_t meta_len,
                eng_prepared **out) {
  *out = NULL;
  if (!p || !desc || (meta_len && !meta)) return ENG_E_ARG;
  eng_prepared *e = malloc(sizeof *e + meta_len);
  if (!e) return ENG_E_NOMEM;
  e->p = p;
  e->desc = *desc;
  e->meta_len = meta_len;
  if (meta_len) memcpy(e->meta, meta, meta_len);
  *out = e;
  return ENG_OK;
}

void eng_prepared_free(eng_prepared *e) { free(e); }

int eng_prepared_reserve(const eng_prepared *e, const tlg_guid *activity, const tlg_guid *related,
                         uint32_t data_len, eng_reserve *rv) {
  rv->payload = NULL;
  if (!e) return ENG_E_ARG;
  return eng_provider_reserve(e->p, &e->desc, e->meta, e->meta_len, activity, related, data_len,
                              rv);
}

int eng_prepared_write(const eng_prepared *e, const tlg_guid *activity, const tlg_guid *related,
                       uint32_t data_len, eng_fill_fn fill, void *ctx) {
  if (!fill) return ENG_E_ARG;
  eng_reserve rv;
  int st = eng_prepared_reserve(e, activity, related, data_len, &rv);
  if (!rv.payload) return st;
  fill(ctx, rv.payload);
  return eng_provider_commit(&rv);
}

#endif
