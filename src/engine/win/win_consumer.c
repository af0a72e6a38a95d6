/*
** win_consumer.c: eng_consumer on a real-time ETW session (spec
** windows-etw §4): OpenTraceW + ProcessTrace on a worker thread whose
** EventRecordCallback copies each EVENT_RECORD (header, extended items,
** user data) into a bounded queue that eng_consumer_next pops on the Lua
** thread, as eng_record (the same record the shm ring and the ETL reader
** produce, so Lua builds the same Event objects). TraceLogging events carry
** their schema (ext 11) and traits (ext 12) and are decoded by src/tlg;
** RT_LostEvent becomes ENG_KIND_LOST; the synthetic EventTrace header is
** swallowed (§4.4). Timestamps stay FILETIME (no RAW_TIMESTAMP).
** Stop order (§4.3): whoever owns the session stops it first (ProcessTrace
** drains and returns); close then CloseTrace()s (7007 = pending = ok) if
** the worker still runs, joins it, and only then frees the context.
*/
#ifdef _WIN32

#include <stdlib.h>
#include <string.h>

#include "win_int.h"

#define QUEUE_MAX_BYTES (64u << 20)   /* callback blocks above this */
#define JOIN_TIMEOUT_MS 10000

typedef struct qrec {
  struct qrec *next;
  size_t bytes;
  eng_record rec;
  eng_ext_item *ext;
  uint8_t mem[];
} qrec;

struct eng_consumer {
  WCHAR name[WINP_SESSION_NAME_MAX + 1];
  EVENT_TRACE_LOGFILEW lf;       /* kept alive until CloseTrace */
  TRACEHANDLE th;
  int closed_trace;
  HANDLE thread;
  ULONG pt_status;
  SRWLOCK lk;
  CONDITION_VARIABLE cv_data, cv_room;
  qrec *head, *tail, *cur;
  size_t bytes;
  volatile LONG interrupted;     /* eng_consumer_stop */
  volatile LONG closing;         /* eng_consumer_close: drop, never block */
  volatile LONG done;            /* ProcessTrace returned */
  uint64_t dropped_on_close;
};

static int guid_eq(const GUID *a, const GUID *b) { return memcmp(a, b, sizeof *a) == 0; }

static void push(struct eng_consumer *c, qrec *q) {
  AcquireSRWLockExclusive(&c->lk);
  while (c->bytes > QUEUE_MAX_BYTES && !c->closing)
    SleepConditionVariableSRW(&c->cv_room, &c->lk, 100, 0);
  if (c->closing) {
    ReleaseSRWLockExclusive(&c->lk);
    free(q);
    return;
  }
  q->next = NULL;
  if (c->tail) c->tail->next = q;
  else c->head = q;
  c->tail = q;
  c->bytes += q->bytes;
  ReleaseSRWLockExclusive(&c->lk);
  WakeConditionVariable(&c->cv_data);
}

/* ProcessTrace's thread. Everything the record points to is valid only
** during this call: copy it. No Lua, no longjmp, no faults. */
static VOID WINAPI on_event(PEVENT_RECORD er) {
  struct eng_consumer *c = er->UserContext;
  const EVENT_HEADER *h = &er->EventHeader;
  if (c->closing) return;
  if (guid_eq(&h->ProviderId, &ETWC_EventTraceGuid)) return;  /* header / trace metadata */
  size_t n = sizeof(qrec), next = 0;
  USHORT next_count = (h->Flags & EVENT_HEADER_FLAG_EXTENDED_INFO) ? er->ExtendedDataCount : 0;
  n += (size_t)next_count * sizeof(eng_ext_item);
  for (USHORT i = 0; i < next_count; i++) n += er->ExtendedData[i].DataSize;
  n += er->UserDataLength;
  qrec *q = calloc(1, n);
  if (!q) return;
  q->bytes = n;
  eng_record *r = &q->rec;
  uint8_t *mem = q->mem;
  q->ext = (eng_ext_item *)(void *)mem;
  next = (size_t)next_count * sizeof(eng_ext_item);

  if (guid_eq(&h->ProviderId, &ETWC_RT_LostEventGuid)) {
    r->kind = ENG_KIND_LOST;
    r->lost = 1;   /* RTLostEvent (32) / RTLostBuffer (33) / RTLostFile (34): no count given */
    memcpy(r->provider_id.b, &h->ProviderId, 16);
    r->desc.opcode = h->EventDescriptor.Opcode;
    r->timestamp = h->TimeStamp.QuadPart;
    push(c, q);
    return;
  }
  memcpy(r->provider_id.b, &h->ProviderId, 16);
  r->desc.id = h->EventDescriptor.Id;
  r->desc.version = h->EventDescriptor.Version;
  r->desc.channel = h->EventDescriptor.Channel;
  r->desc.level = h->EventDescriptor.Level;
  r->desc.opcode = h->EventDescriptor.Opcode;
  r->desc.task = h->EventDescriptor.Task;
  r->desc.keyword = h->EventDescriptor.Keyword;
  r->flags = ENG_REC_HEADER;
  r->pid = h->ProcessId;
  r->tid = h->ThreadId;
  r->cpu = GetEventProcessorIndex(er);
  r->timestamp = h->TimeStamp.QuadPart;   /* ProcessTrace gives FILETIME (no RAW_TIMESTAMP) */
  static const GUID zero;
  if (!guid_eq(&h->ActivityId, &zero)) {
    memcpy(r->activity_id.b, &h->ActivityId, 16);
    r->flags |= ENG_REC_ACTIVITY;
  }
  r->header_kind = (h->Flags & EVENT_HEADER_FLAG_CLASSIC_HEADER) ? ENG_HDR_CLASSIC : ENG_HDR_EVENT;
  r->pointer_size = (h->Flags & EVENT_HEADER_FLAG_32_BIT_HEADER) ? 4
                    : (h->Flags & EVENT_HEADER_FLAG_64_BIT_HEADER) ? 8 : 0;
  r->header_flags = h->Flags;
  r->event_property = h->EventProperty;
  if (!(h->Flags & (EVENT_HEADER_FLAG_PRIVATE_SESSION | EVENT_HEADER_FLAG_NO_CPUTIME))) {
    r->kernel_time = h->KernelTime;
    r->user_time = h->UserTime;
  }
  for (USHORT i = 0; i < next_count; i++) {
    const EVENT_HEADER_EXTENDED_DATA_ITEM *x = &er->ExtendedData[i];
    eng_ext_item *it = &q->ext[i];
    it->type = x->ExtType;
    it->size = x->DataSize;
    it->data = mem + next;
    if (x->DataSize) memcpy(mem + next, (const void *)(uintptr_t)x->DataPtr, x->DataSize);
    next += x->DataSize;
    switch (it->type) {
      case EVENT_HEADER_EXT_TYPE_RELATED_ACTIVITYID:
        if (it->size == 16) { memcpy(r->related_activity_id.b, it->data, 16); r->flags |= ENG_REC_RELATED; }
        break;
      case EVENT_HEADER_EXT_TYPE_EVENT_SCHEMA_TL:
        if (!r->meta) { r->meta = it->data; r->meta_len = it->size; r->flags |= ENG_REC_TRACELOGGING; }
        break;
      case EVENT_HEADER_EXT_TYPE_PROV_TRAITS:
        if (!r->traits) { r->traits = it->data; r->traits_len = it->size; }
        break;
      default: break;
    }
  }
  r->ext = next_count ? q->ext : NULL;
  r->ext_count = next_count;
  r->data = mem + next;
  r->data_len = er->UserDataLength;
  if (er->UserDataLength) memcpy(mem + next, er->UserData, er->UserDataLength);
  /* manifest / MOF events (no ext 11) go up undecoded: the TDH schema
  ** attachment (pure/win_tdh_walk.c) is not wired into eng_record yet */
  push(c, q);
}

static DWORD WINAPI worker(LPVOID arg) {
  struct eng_consumer *c = arg;
  /* NULL start and end time: nothing of the backlog is skipped (KR#178) */
  c->pt_status = ProcessTrace(&c->th, 1, NULL, NULL);
  AcquireSRWLockExclusive(&c->lk);
  c->done = 1;
  ReleaseSRWLockExclusive(&c->lk);
  WakeAllConditionVariable(&c->cv_data);
  return 0;
}

int eng_consumer_open(const char *name, eng_consumer **out) {
  *out = NULL;
  if (!name || !winp_name_valid(name, strlen(name))) return ENG_E_ARG;
  struct eng_consumer *c = calloc(1, sizeof *c);
  if (!c) return ENG_E_NOMEM;
  if (win_wide(name, c->name, WINP_SESSION_NAME_MAX + 1) < 0) { free(c); return ENG_E_ARG; }
  InitializeSRWLock(&c->lk);
  InitializeConditionVariable(&c->cv_data);
  InitializeConditionVariable(&c->cv_room);
  c->lf.LoggerName = c->name;
  c->lf.ProcessTraceMode = PROCESS_TRACE_MODE_REAL_TIME | PROCESS_TRACE_MODE_EVENT_RECORD;
  c->lf.EventRecordCallback = on_event;
  c->lf.Context = c;
  c->th = OpenTraceW(&c->lf);
  if (c->th == INVALID_PROCESSTRACE_HANDLE || c->th == (TRACEHANDLE)0xFFFFFFFFu) {
    DWORD err = GetLastError();
    free(c);
    if (err == ERROR_WMI_INSTANCE_NOT_FOUND) return ENG_E_NOTFOUND;
    return err ? win_status(err) : ENG_E_IO;
  }
  c->thread = CreateThread(NULL, 0, worker, c, 0, NULL);
  if (!c->thread) {
    CloseTrace(c->th);
    free(c);
    return ENG_E_NOMEM;
  }
  win_ctrl_install();
  win_consumers_add(c);
  *out = c;
  return ENG_OK;
}

int eng_consumer_next(eng_consumer *c, eng_record *rec, int timeout_ms) {
  if (!c || !rec) return ENG_E_ARG;
  ULONGLONG until = timeout_ms > 0 ? GetTickCount64() + (ULONGLONG)timeout_ms : 0;
  AcquireSRWLockExclusive(&c->lk);
  if (c->cur) {
    c->bytes -= c->cur->bytes;
    free(c->cur);
    c->cur = NULL;
    WakeConditionVariable(&c->cv_room);
  }
  int st;
  for (;;) {
    if (c->interrupted) { st = ENG_E_INTERRUPTED; break; }
    if (c->head) {
      qrec *q = c->head;
      c->head = q->next;
      if (!c->head) c->tail = NULL;
      c->cur = q;
      *rec = q->rec;
      st = ENG_OK;
      break;
    }
    if (c->done) { st = ENG_E_STOPPED; break; }
    if (timeout_ms == 0) { st = ENG_E_TIMEOUT; break; }
    DWORD wait = INFINITE;
    if (timeout_ms > 0) {
      ULONGLONG now = GetTickCount64();
      if (now >= until) { st = ENG_E_TIMEOUT; break; }
      wait = (DWORD)(until - now);
    }
    SleepConditionVariableSRW(&c->cv_data, &c->lk, wait, 0);
  }
  ReleaseSRWLockExclusive(&c->lk);
  return st;
}

void eng_consumer_stop(eng_consumer *c) {
  if (!c) return;
  InterlockedExchange(&c->interrupted, 1);
  WakeAllConditionVariable(&c->cv_data);
}

void eng_consumer_close(eng_consumer *c) {
  if (!c) return;
  win_consumers_remove(c);
  InterlockedExchange(&c->closing, 1);
  WakeAllConditionVariable(&c->cv_room);
  if (!c->done) {
    /* real-time: CloseTrace before ProcessTrace returned is the way out
    ** (ERROR_CTX_CLOSE_PENDING = success) */
    ULONG rc = CloseTrace(c->th);
    c->closed_trace = rc == ERROR_SUCCESS || rc == ERROR_CTX_CLOSE_PENDING;
  }
  if (WaitForSingleObject(c->thread, JOIN_TIMEOUT_MS) != WAIT_OBJECT_0) {
    /* the worker is stuck inside ETW: leak the context rather than free
    ** memory a late callback could still touch */
    CloseHandle(c->thread);
    return;
  }
  CloseHandle(c->thread);
  if (!c->closed_trace) CloseTrace(c->th);
  qrec *q = c->head;
  while (q) { qrec *n = q->next; free(q); q = n; }
  free(c->cur);
  free(c);
}

#endif
