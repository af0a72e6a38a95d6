/*
** win_consumer.c: eng_consumer on a real-time ETW session (spec
** windows-etw §4): OpenTraceW + ProcessTrace on a worker thread whose
** EventRecordCallback copies each EVENT_RECORD (header, extended items,
** user data) into a bounded queue that eng_consumer_next pops on the Lua
** thread, as rec_record (the same record the shm ring and the ETL reader
** produce, so Lua builds the same Event objects). TraceLogging events carry
** their schema (ext 11) and traits (ext 12) and are decoded by src/tlg;
** RT_LostEvent becomes REC_KIND_LOST; the synthetic EventTrace header is
** swallowed (§4.4). Timestamps stay FILETIME (no RAW_TIMESTAMP).
** Manifest and MOF events get their TDH schema attached (win_tdh_cache.c,
** §5.1 order), which Lua walks (src/schema/sch_tdh_walk.c).
** .etl files: one OpenTraceW per file, one ProcessTrace over all of them
** (merged by time); BufferCallback returning FALSE ends it early.
** Stop order (§4.3): whoever owns the session stops it first (ProcessTrace
** drains and returns); close then CloseTrace()s (7007 = pending = ok) if
** the worker still runs, joins it, and only then frees the context.
*/
#ifdef _WIN32

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "win_int.h"

#define QUEUE_MAX_BYTES (64u << 20)   /* callback blocks above this */
#define JOIN_TIMEOUT_MS 10000
#define MAX_FILES 64              /* ProcessTrace's limit */

typedef struct qrec {
  struct qrec *next;
  size_t bytes;
  rec_record rec;
  rec_ext_item *ext;
  uint8_t mem[];
} qrec;

struct eng_consumer {
  WCHAR name[WINP_SESSION_NAME_MAX + 1];
  size_t n;                      /* sources: 1 real-time session, or n files */
  int files;
  EVENT_TRACE_LOGFILEW lf[MAX_FILES];   /* kept alive until CloseTrace */
  TRACEHANDLE th[MAX_FILES];
  WCHAR *paths[MAX_FILES];
  win_tdh_cache *tdh;            /* worker thread only */
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
  if (c->closing || c->interrupted) return;
  if (guid_eq(&h->ProviderId, &ETWC_EventTraceGuid)) return;  /* header / trace metadata */
  size_t n = sizeof(qrec), next = 0;
  USHORT next_count = (h->Flags & EVENT_HEADER_FLAG_EXTENDED_INFO) ? er->ExtendedDataCount : 0;
  n += (size_t)next_count * sizeof(rec_ext_item);
  int has_tl = 0;
  for (USHORT i = 0; i < next_count; i++) {
    n += er->ExtendedData[i].DataSize;
    has_tl |= er->ExtendedData[i].ExtType == EVENT_HEADER_EXT_TYPE_EVENT_SCHEMA_TL;
  }
  n += er->UserDataLength;
  /* §5.1: WPP (TRACE_MESSAGE) and string-only events have no schema;
  ** TraceLogging decodes itself; manifest and MOF go through TDH. A schema
  ** the full cache could not keep is copied into the record itself. */
  const uint8_t *tdh = NULL;
  uint32_t tdh_len = 0;
  int tdh_owned = 0;
  if (!has_tl && !guid_eq(&h->ProviderId, &ETWC_RT_LostEventGuid) &&
      !(h->Flags & (EVENT_HEADER_FLAG_TRACE_MESSAGE | EVENT_HEADER_FLAG_STRING_ONLY)))
    tdh = win_tdh_cache_get(c->tdh, er, &tdh_len, &tdh_owned);
  if (tdh_owned) n += tdh_len;
  qrec *q = calloc(1, n);
  if (!q) {
    if (tdh_owned) free((void *)(uintptr_t)tdh);   /* ours when owned */
    return;
  }
  q->bytes = n;
  rec_record *r = &q->rec;
  uint8_t *mem = q->mem;
  q->ext = (rec_ext_item *)(void *)mem;
  next = (size_t)next_count * sizeof(rec_ext_item);

  if (guid_eq(&h->ProviderId, &ETWC_RT_LostEventGuid)) {
    r->kind = REC_KIND_LOST;
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
  r->flags = REC_HEADER;
  r->pid = h->ProcessId;
  r->tid = h->ThreadId;
  r->cpu = GetEventProcessorIndex(er);
  r->timestamp = h->TimeStamp.QuadPart;   /* ProcessTrace gives FILETIME (no RAW_TIMESTAMP) */
  static const GUID zero;
  if (!guid_eq(&h->ActivityId, &zero)) {
    memcpy(r->activity_id.b, &h->ActivityId, 16);
    r->flags |= REC_ACTIVITY;
  }
  r->header_kind = (h->Flags & EVENT_HEADER_FLAG_CLASSIC_HEADER) ? REC_HDR_CLASSIC : REC_HDR_EVENT;
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
    rec_ext_item *it = &q->ext[i];
    it->type = x->ExtType;
    it->size = x->DataSize;
    it->data = mem + next;
    if (x->DataSize) memcpy(mem + next, (const void *)(uintptr_t)x->DataPtr, x->DataSize);
    next += x->DataSize;
    rec_ext_apply(r, it);
  }
  r->ext = next_count ? q->ext : NULL;
  r->ext_count = next_count;
  r->data = mem + next;
  r->data_len = er->UserDataLength;
  if (er->UserDataLength) memcpy(mem + next, er->UserData, er->UserDataLength);
  next += er->UserDataLength;
  if (tdh && tdh_owned) {
    memcpy(mem + next, tdh, tdh_len);
    free((void *)(uintptr_t)tdh);
    tdh = mem + next;
  }
  r->tdh_info = tdh;
  r->tdh_info_len = tdh ? tdh_len : 0;
  push(c, q);
}

/* Files: FALSE ends ProcessTrace after this buffer (1223, §4.3). */
static ULONG WINAPI on_buffer(PEVENT_TRACE_LOGFILEW lf) {
  struct eng_consumer *c = lf->Context;
  return !(c->closing || c->interrupted);
}

static DWORD WINAPI worker(LPVOID arg) {
  struct eng_consumer *c = arg;
  /* NULL start and end time: nothing of the backlog is skipped (KR#178) */
  ULONG rc = ProcessTrace(c->th, (ULONG)c->n, NULL, NULL);
  AcquireSRWLockExclusive(&c->lk);
  c->pt_status = rc;
  c->done = 1;
  ReleaseSRWLockExclusive(&c->lk);
  WakeAllConditionVariable(&c->cv_data);
  return 0;
}

static struct eng_consumer *consumer_new(void) {
  struct eng_consumer *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (!(c->tdh = win_tdh_cache_new())) { free(c); return NULL; }
  InitializeSRWLock(&c->lk);
  InitializeConditionVariable(&c->cv_data);
  InitializeConditionVariable(&c->cv_room);
  return c;
}

static void consumer_free(struct eng_consumer *c) {
  for (size_t i = 0; i < c->n; i++) free(c->paths[i]);
  win_tdh_cache_free(c->tdh);
  free(c);
}

static int is_invalid(TRACEHANDLE h) {
  return h == INVALID_PROCESSTRACE_HANDLE || h == (TRACEHANDLE)0xFFFFFFFFu;
}

static int open_error(DWORD err) {
  if (err == ERROR_WMI_INSTANCE_NOT_FOUND || err == ERROR_FILE_NOT_FOUND ||
      err == ERROR_PATH_NOT_FOUND)
    return ENG_E_NOTFOUND;
  return err ? win_status(err) : ENG_E_IO;
}

/* Start the worker over c->th[0..n); on failure close what was opened. */
static int start_worker(struct eng_consumer *c, eng_consumer **out) {
  c->thread = CreateThread(NULL, 0, worker, c, 0, NULL);
  if (!c->thread) {
    for (size_t i = 0; i < c->n; i++) CloseTrace(c->th[i]);
    consumer_free(c);
    return ENG_E_NOMEM;
  }
  win_ctrl_install();
  win_consumers_add(c);
  *out = c;
  return ENG_OK;
}

static int open_realtime(const char *name, int precheck, eng_consumer **out) {
  *out = NULL;
  if (!name || !winp_name_valid(name, strlen(name))) return ENG_E_ARG;
  struct eng_consumer *c = consumer_new();
  if (!c) return ENG_E_NOMEM;
  if (win_wide(name, c->name, WINP_SESSION_NAME_MAX + 1) < 0) { consumer_free(c); return ENG_E_ARG; }
  /* OpenTraceW accepts any name: a missing or file-only session would only
  ** show as ProcessTrace's 4201 later; ask first (Wine's QUERY is a stub) */
  if (precheck && !win_is_wine()) {
    uint8_t block[WINP_PROPS_BLOCK];
    ULONG q = win_control(c->name, EVENT_TRACE_CONTROL_QUERY, block);
    int pre = winp_consumer_precheck(q, tlg_le32(block + WINP_OFF_LOGFILEMODE));
    if (pre) { consumer_free(c); return pre; }
  }
  c->lf[0].LoggerName = c->name;
  c->lf[0].ProcessTraceMode = PROCESS_TRACE_MODE_REAL_TIME | PROCESS_TRACE_MODE_EVENT_RECORD;
  c->lf[0].EventRecordCallback = on_event;
  c->lf[0].Context = c;
  c->th[0] = OpenTraceW(&c->lf[0]);
  if (is_invalid(c->th[0])) {
    DWORD err = GetLastError();
    consumer_free(c);
    return open_error(err);
  }
  c->n = 1;
  return start_worker(c, out);
}

int eng_consumer_open(const char *name, eng_consumer **out) { return open_realtime(name, 1, out); }

/* self-test helper: without the QUERY first, so ProcessTrace's own answer
** for a missing session reaches next() */
int win_consumer_open_unchecked(const char *name, eng_consumer **out);
int win_consumer_open_unchecked(const char *name, eng_consumer **out) {
  return open_realtime(name, 0, out);
}

int eng_consumer_open_files(const char *const *paths, size_t n, eng_consumer **out) {
  *out = NULL;
  if (!paths || n == 0) return ENG_E_ARG;
  if (n > MAX_FILES) return ENG_E_FULL;
  /* Wine's OpenTraceW is a stub: src/etl reads the files there */
  if (win_is_wine()) return ENG_E_UNSUPPORTED;
  struct eng_consumer *c = consumer_new();
  if (!c) return ENG_E_NOMEM;
  c->files = 1;
  for (size_t i = 0; i < n; i++) {
    WCHAR wide[1024];
    DWORD len;
    if (!paths[i] || win_wide(paths[i], wide, 1024) < 0 ||
        (len = GetFullPathNameW(wide, 0, NULL, NULL)) == 0 ||
        !(c->paths[i] = malloc(len * sizeof(WCHAR))) ||
        GetFullPathNameW(wide, len, c->paths[i], NULL) >= len) {
      c->n = i + 1;
      for (size_t k = 0; k < i; k++) CloseTrace(c->th[k]);
      consumer_free(c);
      return ENG_E_ARG;
    }
    EVENT_TRACE_LOGFILEW *lf = &c->lf[i];
    lf->LogFileName = c->paths[i];
    lf->ProcessTraceMode = PROCESS_TRACE_MODE_EVENT_RECORD;
    lf->EventRecordCallback = on_event;
    lf->BufferCallback = on_buffer;
    lf->Context = c;
    c->th[i] = OpenTraceW(lf);
    if (is_invalid(c->th[i])) {
      DWORD err = GetLastError();
      c->n = i + 1;
      for (size_t k = 0; k < i; k++) CloseTrace(c->th[k]);
      consumer_free(c);
      return open_error(err);
    }
    c->n = i + 1;
  }
  return start_worker(c, out);
}

int eng_consumer_file_info(eng_consumer *c, size_t i, eng_file_info *out) {
  if (!c || !out) return ENG_E_ARG;
  if (!c->files) return ENG_E_UNSUPPORTED;
  if (i >= c->n) return ENG_E_ARG;
  /* OpenTraceW filled LogfileHeader (§4.6: loss counts of a file) */
  const TRACE_LOGFILE_HEADER *h = &c->lf[i].LogfileHeader;
  memset(out, 0, sizeof *out);
  out->start_time = h->StartTime.QuadPart;
  out->end_time = h->EndTime.QuadPart;
  out->events_lost = h->EventsLost;
  out->buffers_lost = h->BuffersLost;
  out->buffers_written = h->BuffersWritten;
  out->buffer_size = h->BufferSize;
  out->pointer_size = h->PointerSize;
  out->num_processors = h->NumberOfProcessors;
  out->clock_type = h->ReservedFlags;
  out->log_file_mode = h->LogFileMode;
  out->max_file_size = h->MaximumFileSize;
  out->os_major = h->VersionDetail.MajorVersion;
  out->os_minor = h->VersionDetail.MinorVersion;
  out->os_build = h->ProviderVersion;
  out->perf_freq = h->PerfFreq.QuadPart;
  return ENG_OK;
}

int eng_consumer_next(eng_consumer *c, rec_record *rec, int timeout_ms) {
  if (!c || !rec) return ENG_E_ARG;
  ULONGLONG until = timeout_ms > 0 ? GetTickCount64() + (ULONGLONG)timeout_ms : 0;
  AcquireSRWLockExclusive(&c->lk);
  if (c->cur) {
    c->bytes -= c->cur->bytes;
    free(c->cur);
    c->cur = NULL;
    WakeConditionVariable(&c->cv_room);
  }
  int st, blocked = 0;
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
    /* drained: why ProcessTrace ended (4201 missing session, 998 ...) */
    if (c->done) { st = winp_trace_end_status(c->pt_status, c->closing != 0); break; }
    if (timeout_ms == 0) { st = ENG_E_TIMEOUT; break; }
    DWORD wait = INFINITE;
    if (timeout_ms > 0) {
      ULONGLONG now = GetTickCount64();
      if (now >= until) { st = ENG_E_TIMEOUT; break; }
      wait = (DWORD)(until - now);
    }
    if (!blocked) { blocked = 1; win_ctrl_wait_begin(); }
    SleepConditionVariableSRW(&c->cv_data, &c->lk, wait, 0);
  }
  ReleaseSRWLockExclusive(&c->lk);
  if (blocked) win_ctrl_wait_end();
  return st;
}

void eng_consumer_stop(eng_consumer *c) {
  if (!c) return;
  /* under the lock: next() checks `interrupted` and goes to sleep without
  ** releasing it, so a stop can no longer fall between the two and be lost.
  ** Callers run on the console-handler thread or another thread, never
  ** inside next() on this one (Windows has no signal handlers on the
  ** thread a signal interrupts). */
  AcquireSRWLockExclusive(&c->lk);
  c->interrupted = 1;
  ReleaseSRWLockExclusive(&c->lk);
  WakeAllConditionVariable(&c->cv_data);
}

void eng_consumer_close(eng_consumer *c) {
  if (!c) return;
  win_consumers_remove(c);
  InterlockedExchange(&c->closing, 1);
  WakeAllConditionVariable(&c->cv_room);
  if (!c->done && !c->files) {
    /* real-time: CloseTrace before ProcessTrace returned is the way out
    ** (ERROR_CTX_CLOSE_PENDING = success); files end through on_buffer */
    ULONG rc = CloseTrace(c->th[0]);
    c->closed_trace = rc == ERROR_SUCCESS || rc == ERROR_CTX_CLOSE_PENDING;
  }
  if (WaitForSingleObject(c->thread, JOIN_TIMEOUT_MS) != WAIT_OBJECT_0) {
    /* the worker is stuck inside ETW: leak the context rather than free
    ** memory a late callback could still touch */
    CloseHandle(c->thread);
    return;
  }
  CloseHandle(c->thread);
  for (size_t i = c->closed_trace ? 1 : 0; i < c->n; i++) CloseTrace(c->th[i]);
  qrec *q = c->head;
  while (q) { qrec *n = q->next; free(q); q = n; }
  free(c->cur);
  consumer_free(c);
}

#endif
