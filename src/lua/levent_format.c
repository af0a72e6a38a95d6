/*
** levent_format.c: ev:json() and tostring(ev), written through the one JSON
** writer (src/tlg/tlg_json.h) and the TraceLogging formatter.
*/
#include "levent.h"

/* ---- ev:json() and tostring(ev) ---- */

void lev_view(levent *ev, const rec_record *rec) {
  lrec *r = &ev->rec;
  memset(ev, 0, sizeof *ev);
  lev_copy_header(r, rec);
  r->ext = rec->ext_count ? rec->ext : NULL;
  r->ext_count = rec->ext ? rec->ext_count : 0;
  r->traits = rec->traits;
  r->traits_len = rec->traits ? rec->traits_len : 0;
  r->meta = rec->meta;
  r->meta_len = rec->meta ? rec->meta_len : 0;
  r->data = rec->data;
  r->data_len = rec->data ? rec->data_len : 0;
  r->tdh = rec->tdh_info;
  r->tdh_len = rec->tdh_info ? rec->tdh_info_len : 0;
  ev->decoded = DEC_UNKNOWN;
}

typedef struct jw {
  const tlg_sink *sink; /* the output */
  tlg_json j;           /* the JSON writer, buffered over sink */
  int first;
} jw;

/* The sink for a tlg_fmt_* call, after what j holds went out. */
static const tlg_sink *jw_sink(jw *w) {
  tlg_json_flush(&w->j);
  return w->sink;
}

static void jw_key(jw *w, const char *k) {
  tlg_json_cstr(&w->j, w->first ? "{\"" : ",\"");
  w->first = 0;
  tlg_json_cstr(&w->j, k);
  tlg_json_cstr(&w->j, "\":");
}

static void jw_u64(jw *w, const char *k, uint64_t v) {
  if (k) jw_key(w, k);
  tlg_json_u64(&w->j, v);
}

static void jw_str(jw *w, const char *k, const char *s, size_t n) {
  jw_key(w, k);
  tlg_json_string(&w->j, s, n, TLG_JSON_CP1252);
}

/* pid or tid: null when the record does not carry it (see lev_has_id). */
static void jw_id(jw *w, const char *k, const lrec *r, uint32_t v) {
  if (lev_has_id(r, v)) {
    jw_u64(w, k, v);
  } else {
    jw_key(w, k);
    tlg_json_cstr(&w->j, "null");
  }
}

static void jw_guid(jw *w, const char *k, const tlg_guid *g) {
  char text[TLG_GUID_TEXT];
  tlg_guid_format(g, text);
  jw_str(w, k, text, TLG_GUID_TEXT - 1);
}

/* The decode error as plain C text (bounded; used inside a luaL_Buffer). */
typedef struct cbuf { char s[512]; size_t n; } cbuf;
static void cbuf_write(void *ctx, const char *s, size_t n) {
  cbuf *c = ctx;
  if (n > sizeof c->s - 1 - c->n) n = sizeof c->s - 1 - c->n;
  memcpy(c->s + c->n, s, n);
  c->n += n;
  c->s[c->n] = 0;
}

static void error_text(const tlg_decoder *d, cbuf *c) {
  tlg_sink sink = {cbuf_write, c};
  c->n = 0;
  c->s[0] = 0;
  tlg_fmt_error(&sink, d);
}

static void json_header(jw *w, const levent *ev, const char *prov, size_t plen,
                        const tlg_decoder *d) {
  const lrec *r = &ev->rec;
  if (prov) {
    jw_str(w, "provider", prov, plen);
  }
  jw_guid(w, "provider_id", &r->provider_id);
  char name[512];
  size_t n;
  const char *nm = lev_event_name(ev, &n, name, sizeof name);
  if (nm) jw_str(w, "name", nm, n);
  jw_u64(w, "id", r->desc.id);
  jw_u64(w, "version", r->desc.version);
  jw_u64(w, "channel", r->desc.channel);
  jw_u64(w, "level", r->desc.level);
  jw_u64(w, "opcode", r->desc.opcode);
  jw_u64(w, "task", r->desc.task);
  jw_u64(w, "keyword", r->desc.keyword);
  if (d && d->event_name) jw_u64(w, "tags", d->event_tag);
  if (r->flags & REC_HEADER) {
    jw_id(w, "pid", r, r->pid);
    jw_id(w, "tid", r, r->tid);
    jw_u64(w, "cpu", r->cpu);
    jw_key(w, "timestamp");
    tlg_json_char(&w->j, '"');
    tlg_fmt_filetime(jw_sink(w), r->timestamp);
    tlg_json_char(&w->j, '"');
  }
  if (r->flags & REC_ACTIVITY) jw_guid(w, "activity_id", &r->activity_id);
  if (r->flags & REC_RELATED) jw_guid(w, "related_activity_id", &r->related_activity_id);
}

/* 1 if ev:json() shows item `it` under its own key (or as the metadata). */
static int ext_shown(const levent *ev, const rec_ext_item *it) {
  switch (it->type) {
  case REC_EXT_RELATED_ACTIVITYID: return (ev->rec.flags & REC_RELATED) != 0;
  case REC_EXT_SID: return it == lev_find_sid(ev);
  case REC_EXT_TS_ID: return it == lev_find_ext(ev, REC_EXT_TS_ID, REC_EXT_TS_ID, 4);
  case REC_EXT_STACK_TRACE32: case REC_EXT_STACK_TRACE64: return it == lev_find_stack(ev);
  case REC_EXT_EVENT_KEY: case REC_EXT_PROCESS_START_KEY: return it == lev_find_ext(ev, it->type, it->type, 8);
  case REC_EXT_EVENT_SCHEMA_TL: case REC_EXT_PROV_TRAITS: return 1;
  default: return 0;
  }
}

/* The record details and ext items, after the header fields. */
static void json_details(jw *w, const levent *ev) {
  const lrec *r = &ev->rec;
  const rec_ext_item *it;
  if (lev_header_kind_name(r)) {
    jw_str(w, "header_kind", lev_header_kind_name(r), strlen(lev_header_kind_name(r)));
  }
  if (lev_has_cpu_times(r)) {
    jw_u64(w, "kernel_time", r->kernel_time);
    jw_u64(w, "user_time", r->user_time);
  }
  if ((it = lev_find_ext(ev, REC_EXT_TS_ID, REC_EXT_TS_ID, 4)))
    jw_u64(w, "session_id", tlg_get_le(it->data, 4));
  if ((it = lev_find_sid(ev))) {
    jw_key(w, "sid");
    tlg_json_char(&w->j, '"');
    tlg_fmt_sid(jw_sink(w), it->data, it->size);
    tlg_json_char(&w->j, '"');
  }
  if ((it = lev_find_ext(ev, REC_EXT_PROCESS_START_KEY, REC_EXT_PROCESS_START_KEY, 8)))
    jw_u64(w, "process_start_key", tlg_get_le(it->data, 8));
  if ((it = lev_find_ext(ev, REC_EXT_EVENT_KEY, REC_EXT_EVENT_KEY, 8)))
    jw_u64(w, "event_key", tlg_get_le(it->data, 8));
  if ((it = lev_find_stack(ev))) {
    unsigned wd = lev_stack_width(it), n = (it->size - 8u) / wd;
    jw_u64(w, "stack_match_id", tlg_get_le(it->data, 8));
    jw_key(w, "stack");
    for (unsigned i = 0; i < n; i++)
      tlg_json_printf(&w->j, "%s\"0x%llx\"", i ? "," : "[",
                      (unsigned long long)tlg_get_le(it->data + 8 + wd * i, wd));
    tlg_json_cstr(&w->j, n ? "]" : "[]");
  }
  int first = 1;
  for (uint32_t i = 0; i < r->ext_count; i++) {
    it = &r->ext[i];
    if (ext_shown(ev, it)) continue;
    if (first) jw_key(w, "ext");
    tlg_json_cstr(&w->j, first ? "[{\"type\":" : ",{\"type\":");
    first = 0;
    jw_u64(w, NULL, it->type);
    tlg_json_cstr(&w->j, ",\"name\":");
    tlg_json_string(&w->j, lev_ext_name(it->type), strlen(lev_ext_name(it->type)), TLG_JSON_CP1252);
    tlg_json_cstr(&w->j, ",\"data\":");
    tlg_json_hex(&w->j, it->data, it->size);
    tlg_json_char(&w->j, '}');
  }
  if (!first) tlg_json_char(&w->j, ']');
}

/* The TDH fields (JSON or text) and, on an error, its message in *err. */
static int tdh_fields(const levent *ev, const tlg_sink *o, int mode, char *err, size_t cap) {
  sch_tdh_event t;
  uint32_t prop;
  if (!lev_tdh_of(ev, &t)) return 0;
  int st = sch_tdh_fmt_fields(o, &t, mode, &prop);
  err[0] = 0;
  if (st != SCH_TDH_OK) sch_tdh_error(&t, st, prop, err, cap);
  return 1;
}

/* ev:json() -> one JSON object: the header fields of DESIGN §2 that the event
** has (keys absent rather than null), the record details, then "fields" in
** order, then "decode_error" if any, then "payload" (hex) for events without
** TraceLogging metadata. 64-bit values beyond 2^53 are decimal strings;
** timestamps are ISO 8601 UTC strings with 100 ns digits. */
/* The "fields" object of ev:json(); 1 if it came from a TDH schema. */
static int json_fields(jw *w, const levent *ev, int has_meta, tlg_decoder *d, char *err,
                       size_t cap) {
  int tdh = 0;
  if (has_meta)
    tlg_fmt_fields(jw_sink(w), d, TLG_FMT_JSON);
  else if (!(tdh = tdh_fields(ev, jw_sink(w), TLG_FMT_JSON, err, cap)))
    tlg_json_cstr(&w->j, "{}");
  return tdh;
}

/* ev:json("fields") is that object alone (what `etwlua dump --format csv`
** puts in its fields column), with the same exact-value rules. */
static const char *const json_parts[] = {"event", "fields", NULL};

void lev_fmt_json(const levent *ev, const tlg_sink *o, int only_fields) {
  size_t plen = 0;
  char pbuf[512], err[400];
  const char *prov = lev_provider_name(ev, &plen, pbuf, sizeof pbuf);
  tlg_decoder d;
  int has_meta = lev_start(ev, &d), tdh = 0;
  jw w;
  w.first = 1;
  w.sink = o;
  tlg_json_init(&w.j, o);
  if (only_fields) {
    json_fields(&w, ev, has_meta, &d, err, sizeof err);
    tlg_json_flush(&w.j);
    return;
  }
  json_header(&w, ev, prov, plen, has_meta ? &d : NULL);
  json_details(&w, ev);
  jw_key(&w, "fields");
  tdh = json_fields(&w, ev, has_meta, &d, err, sizeof err);
  if (tdh && err[0]) {
    jw_str(&w, "decode_error", err, strlen(err));
  }
  if (has_meta && tlg_decode_status(&d) != TLG_OK) {
    cbuf c;
    error_text(&d, &c);
    jw_str(&w, "decode_error", c.s, c.n);
  }
  if (!has_meta) {
    jw_key(&w, "payload");
    tlg_json_hex(&w.j, ev->rec.data, ev->rec.data_len);
  }
  tlg_json_char(&w.j, '}');
  tlg_json_flush(&w.j);
}

int lev_json(lua_State *L) {
  levent *ev = levent_check(L, 1);
  int only_fields = luaL_checkoption(L, 2, "event", json_parts) == 1;
  luaL_Buffer b;
  tlg_sink sink = {buf_write, &b};
  lua_settop(L, 1);
  luaL_buffinit(L, &b);
  lev_fmt_json(ev, &sink, only_fields);
  luaL_pushresult(&b);
  return 1;
}

/* A sink that puts one space before the first bytes written through it
** (a list of fields after the event name: nothing when there are none). */
typedef struct spaced {
  const tlg_sink *o;
  int started;
} spaced;

static void spaced_write(void *ctx, const char *s, size_t n) {
  spaced *sp = ctx;
  if (!n) return;
  if (!sp->started) sp->o->write(sp->o->ctx, " ", 1);
  sp->started = 1;
  sp->o->write(sp->o->ctx, s, n);
}

static void put(const tlg_sink *o, const char *s) { o->write(o->ctx, s, strlen(s)); }

void lev_fmt_text(const levent *ev, const tlg_sink *o) {
  size_t plen = 0;
  char pbuf[512], err[400], name[512];
  const char *prov = lev_provider_name(ev, &plen, pbuf, sizeof pbuf);
  sch_tdh_event t;
  int tdh = lev_tdh_of(ev, &t);
  char tmp[TLG_GUID_TEXT + 64];
  tlg_decoder d;
  int has_meta = lev_start(ev, &d);
  if (prov) {
    o->write(o->ctx, prov, plen);
  } else {
    tlg_guid_format(&ev->rec.provider_id, tmp);
    put(o, tmp);
  }
  put(o, "/");
  size_t nlen;
  const char *nm = lev_event_name(ev, &nlen, name, sizeof name);
  if (nm) o->write(o->ctx, nm, nlen);
  else put(o, "?");
  snprintf(tmp, sizeof tmp, "(level=%u keyword=0x%llx)", (unsigned)ev->rec.desc.level,
           (unsigned long long)ev->rec.desc.keyword);
  put(o, tmp);
  if (has_meta && tlg_decode_status(&d) == TLG_OK) {
    spaced sp = {o, 0};
    tlg_sink ss = {spaced_write, &sp};
    tlg_fmt_fields(&ss, &d, TLG_FMT_TEXT);
  }
  if (tdh) {
    spaced sp = {o, 0};
    tlg_sink ss = {spaced_write, &sp};
    tdh_fields(ev, &ss, TLG_FMT_TEXT, err, sizeof err);
    if (err[0]) {
      put(o, " [");
      put(o, err);
      put(o, "]");
    }
  }
  if (has_meta && tlg_decode_status(&d) != TLG_OK) {
    cbuf c;
    error_text(&d, &c);
    put(o, " [");
    o->write(o->ctx, c.s, c.n);
    put(o, "]");
  }
}

/* tostring(ev): `Provider/Name(level=5 keyword=0x1) a=1 b="x"`, then
** ` [TLG_E_...]` when the fields did not decode. */
int lev_tostring(lua_State *L) {
  levent *ev = levent_check(L, 1);
  luaL_Buffer b;
  tlg_sink sink = {buf_write, &b};
  luaL_buffinit(L, &b);
  lev_fmt_text(ev, &sink);
  luaL_pushresult(&b);
  return 1;
}
