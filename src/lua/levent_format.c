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
  tlg_json *j; /* the output */
  lev_fmt_cache *c; /* or NULL */
  tlg_sink sink; /* appends to j, for writers that take a sink */
} jw;

/* The sink for a tlg_fmt_* or sch_tdh_* call: it appends to the line. */
static const tlg_sink *jw_sink(jw *w) { return &w->sink; }

/* `,"key":`, and `{"key":` for the first key; k is a literal, so that
** the copy is a few moves. */
#define jw_key(w, k) tlg_json_raw((w)->j, ",\"" k "\":", sizeof ",\"" k "\":" - 1)
#define jw_first_key(w, k) tlg_json_raw((w)->j, "{\"" k "\":", sizeof "{\"" k "\":" - 1)

#define jw_u64(w, k, v) (jw_key(w, k), tlg_json_u64((w)->j, v))
#define jw_str(w, k, s, n) (jw_key(w, k), tlg_json_string((w)->j, s, n, TLG_JSON_CP1252))

/* pid or tid: null when the record does not carry it (see lev_has_id). */
#define jw_id(w, k, r, v) (jw_key(w, k), jw_id_(w, r, v))
static void jw_id_(jw *w, const lrec *r, uint32_t v) {
  if (lev_has_id(r, v)) tlg_json_u64(w->j, v);
  else tlg_json_raw(w->j, "null", 4);
}

/* A GUID's text needs no escapes. */
#define jw_guid(w, k, g) (jw_key(w, k), jw_guid_(w, g))
static void jw_guid_(jw *w, const tlg_guid *g) {
  char *p = tlg_json_room(w->j, TLG_GUID_TEXT + 1);
  p[0] = '"';
  tlg_guid_format(g, p + 1);
  p[TLG_GUID_TEXT] = '"';
  w->j->n += TLG_GUID_TEXT + 1;
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

/* lev_event_name, from the started decoder d when there is one (starting
** it again costs as much as the rest of the header). */
static const char *event_name(const levent *ev, const tlg_decoder *d, size_t *n, char *buf,
                              size_t cap) {
  if (!d) return lev_event_name(ev, n, buf, cap);
  *n = d->event_name_len;
  return d->event_name;
}

/* What the first keys of a line show: the same, the same text. */
typedef struct head_key {
  const tlg_guid *id;
  const tlg_desc *desc;
  const char *prov, *nm; /* or NULL */
  size_t plen, n;
  int has_tags;
  uint32_t tags;
} head_key;

/* `{"provider":...,"provider_id":...,"name":...,"id":...` up to "tags"
** (the keys it has). */
static void json_head(jw *w, const head_key *k) {
  const tlg_guid *id = k->id;
  const char *prov = k->prov, *nm = k->nm;
  size_t plen = k->plen, n = k->n;
  if (prov) {
    jw_first_key(w, "provider");
    tlg_json_string(w->j, prov, plen, TLG_JSON_CP1252);
    jw_guid(w, "provider_id", id);
  } else {
    jw_first_key(w, "provider_id");
    jw_guid_(w, id);
  }
  if (nm) jw_str(w, "name", nm, n);
  jw_u64(w, "id", k->desc->id);
  jw_u64(w, "version", k->desc->version);
  jw_u64(w, "channel", k->desc->channel);
  jw_u64(w, "level", k->desc->level);
  jw_u64(w, "opcode", k->desc->opcode);
  jw_u64(w, "task", k->desc->task);
  jw_u64(w, "keyword", k->desc->keyword);
  if (k->has_tags) jw_u64(w, "tags", k->tags);
}

_Static_assert(sizeof(tlg_desc) == 16, "tlg_desc has no padding (compared by memcmp)");

/* n bytes at a and b the same; names of 8 to 16 bytes (most) as two
** overlapping 8-byte words instead of a memcmp call. */
static int same_bytes(const char *a, const char *b, size_t n) {
  uint64_t x, y, u, v;
  if (n < 8 || n > 16) return !memcmp(a, b, n);
  memcpy(&x, a, 8);
  memcpy(&y, b, 8);
  memcpy(&u, a + n - 8, 8);
  memcpy(&v, b + n - 8, 8);
  return ((x ^ y) | (u ^ v)) == 0;
}

static int head_hit(const lev_head_cache *h, const head_key *k) {
  return h->valid && h->has_prov == (k->prov != NULL) && h->has_name == (k->nm != NULL) &&
         (!k->prov || (h->plen == k->plen && same_bytes(h->prov, k->prov, k->plen))) &&
         (!k->nm || (h->nlen == k->n && same_bytes(h->name, k->nm, k->n))) &&
         !memcmp(&h->id, k->id, sizeof *k->id) && !memcmp(&h->desc, k->desc, sizeof h->desc) &&
         h->has_tags == k->has_tags && (!k->has_tags || h->tags == k->tags);
}

/* json_head through the cache: a run of events of one provider and name
** copies the text written for the first. */
static void json_head_c(jw *w, const head_key *k) {
  lev_head_cache *h = w->c ? &w->c->head : NULL;
  const char *prov = k->prov, *nm = k->nm;
  size_t plen = k->plen, n = k->n;
  if (h && head_hit(h, k)) {
    tlg_json_raw(w->j, h->text, h->text_len);
    return;
  }
  size_t mark = w->j->n;
  uint64_t flushed = w->j->flushed;
  json_head(w, k);
  if (!h) return;
  h->valid = 0;
  size_t len = w->j->n - mark; /* the text is still in the buffer unless flushed */
  if (w->j->flushed != flushed || len > sizeof h->text || plen > LEV_HEAD_NAME ||
      n > LEV_HEAD_NAME)
    return;
  memcpy(h->text, w->j->buf + mark, len);
  h->text_len = (uint16_t)len;
  h->has_prov = prov != NULL;
  h->has_name = nm != NULL;
  h->plen = (uint16_t)(prov ? plen : 0);
  h->nlen = (uint16_t)(nm ? n : 0);
  if (prov) memcpy(h->prov, prov, plen);
  if (nm) memcpy(h->name, nm, n);
  h->id = *k->id;
  h->desc = *k->desc;
  h->has_tags = (uint8_t)k->has_tags;
  h->tags = k->tags;
  h->valid = 1;
}

static void json_header(jw *w, const levent *ev, const char *prov, size_t plen,
                        const tlg_decoder *d) {
  const lrec *r = &ev->rec;
  char name[512];
  size_t n = 0;
  const char *nm = event_name(ev, d, &n, name, sizeof name);
  head_key k = {&r->provider_id, &r->desc, prov, nm, plen, n, d && d->event_name,
                d && d->event_name ? d->event_tag : 0};
  json_head_c(w, &k);
  if (r->flags & REC_HEADER) {
    jw_id(w, "pid", r, r->pid);
    jw_id(w, "tid", r, r->tid);
    jw_u64(w, "cpu", r->cpu);
    jw_key(w, "timestamp");
    tlg_fmt_filetime_to(w->j, r->timestamp, TLG_FMT_JSON, w->c ? &w->c->times : NULL);
  }
  if (r->flags & REC_ACTIVITY) jw_guid(w, "activity_id", &r->activity_id);
  if (r->flags & REC_RELATED) jw_guid(w, "related_activity_id", &r->related_activity_id);
}

/* The ext items ev:json() shows under keys of their own: the first of each
** type with enough bytes (lev_find_ext's rule; the SID's only when it holds
** a whole SID, as lev_find_sid), found in one pass over the items. */
typedef struct ext_keys {
  const rec_ext_item *ts, *sid, *psk, *ekey, *stack;
  int other; /* some item is not one that is always shown: "ext" may list it */
} ext_keys;

static void ext_find(const lrec *r, ext_keys *k) {
  int sid_seen = 0;
  memset(k, 0, sizeof *k);
  for (uint32_t i = 0; i < r->ext_count; i++) {
    const rec_ext_item *it = &r->ext[i];
    switch (it->type) {
    case REC_EXT_EVENT_SCHEMA_TL: case REC_EXT_PROV_TRAITS: continue;
    case REC_EXT_TS_ID: if (!k->ts && it->size >= 4) k->ts = it; break;
    case REC_EXT_PROCESS_START_KEY: if (!k->psk && it->size >= 8) k->psk = it; break;
    case REC_EXT_EVENT_KEY: if (!k->ekey && it->size >= 8) k->ekey = it; break;
    case REC_EXT_STACK_TRACE32: case REC_EXT_STACK_TRACE64:
      if (!k->stack && it->size >= 8) k->stack = it;
      break;
    case REC_EXT_SID:
      if (!sid_seen && it->size >= 8) {
        sid_seen = 1;
        if (it->size >= 8u + 4u * it->data[1]) k->sid = it;
      }
      break;
    default: break;
    }
    k->other = 1;
  }
}

/* 1 if ev:json() shows item `it` under its own key (or as the metadata). */
static int ext_shown(const lrec *r, const ext_keys *k, const rec_ext_item *it) {
  switch (it->type) {
  case REC_EXT_RELATED_ACTIVITYID: return (r->flags & REC_RELATED) != 0;
  case REC_EXT_SID: return it == k->sid;
  case REC_EXT_TS_ID: return it == k->ts;
  case REC_EXT_STACK_TRACE32: case REC_EXT_STACK_TRACE64: return it == k->stack;
  case REC_EXT_EVENT_KEY: return it == k->ekey;
  case REC_EXT_PROCESS_START_KEY: return it == k->psk;
  case REC_EXT_EVENT_SCHEMA_TL: case REC_EXT_PROV_TRAITS: return 1;
  default: return 0;
  }
}

/* "ext": the items no key above shows. */
static void json_ext_list(jw *w, const lrec *r, const ext_keys *k) {
  int first = 1;
  for (uint32_t i = 0; i < r->ext_count; i++) {
    const rec_ext_item *it = &r->ext[i];
    if (ext_shown(r, k, it)) continue;
    if (first) jw_key(w, "ext");
    tlg_json_cstr(w->j, first ? "[{\"type\":" : ",{\"type\":");
    first = 0;
    tlg_json_u64(w->j, it->type);
    tlg_json_cstr(w->j, ",\"name\":");
    tlg_json_string(w->j, lev_ext_name(it->type), strlen(lev_ext_name(it->type)), TLG_JSON_CP1252);
    tlg_json_cstr(w->j, ",\"data\":");
    tlg_json_hex(w->j, it->data, it->size);
    tlg_json_char(w->j, '}');
  }
  if (!first) tlg_json_char(w->j, ']');
}

/* The record details and ext items, after the header fields. */
static void json_details(jw *w, const levent *ev) {
  const lrec *r = &ev->rec;
  const rec_ext_item *it;
  const char *kind = lev_header_kind_name(r);
  ext_keys k;
  if (kind) { /* the names of lev_header_kinds need no escapes */
    jw_key(w, "header_kind");
    tlg_json_char(w->j, '"');
    tlg_json_raw(w->j, kind, strlen(kind));
    tlg_json_char(w->j, '"');
  }
  if (lev_has_cpu_times(r)) {
    jw_u64(w, "kernel_time", r->kernel_time);
    jw_u64(w, "user_time", r->user_time);
  }
  if (!r->ext_count) return;
  ext_find(r, &k);
  if ((it = k.ts)) jw_u64(w, "session_id", tlg_get_le(it->data, 4));
  if ((it = k.sid)) {
    jw_key(w, "sid");
    tlg_json_char(w->j, '"');
    tlg_fmt_sid(jw_sink(w), it->data, it->size);
    tlg_json_char(w->j, '"');
  }
  if ((it = k.psk)) jw_u64(w, "process_start_key", tlg_get_le(it->data, 8));
  if ((it = k.ekey)) jw_u64(w, "event_key", tlg_get_le(it->data, 8));
  if ((it = k.stack)) {
    unsigned wd = lev_stack_width(it), n = (it->size - 8u) / wd;
    jw_u64(w, "stack_match_id", tlg_get_le(it->data, 8));
    jw_key(w, "stack");
    for (unsigned i = 0; i < n; i++)
      tlg_json_printf(w->j, "%s\"0x%llx\"", i ? "," : "[",
                      (unsigned long long)tlg_get_le(it->data + 8 + wd * i, wd));
    tlg_json_cstr(w->j, n ? "]" : "[]");
  }
  if (k.other) json_ext_list(w, r, &k);
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
    tlg_fmt_fields_to_c(w->j, d, TLG_FMT_JSON, w->c ? &w->c->shapes : NULL);
  else if (!(tdh = tdh_fields(ev, jw_sink(w), TLG_FMT_JSON, err, cap)))
    tlg_json_cstr(w->j, "{}");
  return tdh;
}

/* ev:json("fields") is that object alone (what `etwlua dump --format csv`
** puts in its fields column), with the same exact-value rules. */
static const char *const json_parts[] = {"event", "fields", NULL};

void lev_fmt_json_to(const levent *ev, tlg_json *j, int only_fields, lev_fmt_cache *c) {
  size_t plen = 0;
  char pbuf[512], err[400];
  const char *prov = lev_provider_name(ev, &plen, pbuf, sizeof pbuf);
  tlg_decoder d;
  int has_meta = lev_start(ev, &d), tdh = 0;
  jw w;
  w.j = j;
  w.c = c;
  tlg_json_sink(j, &w.sink);
  if (only_fields) {
    json_fields(&w, ev, has_meta, &d, err, sizeof err);
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
    cbuf e;
    error_text(&d, &e);
    jw_str(&w, "decode_error", e.s, e.n);
  }
  if (!has_meta) {
    jw_key(&w, "payload");
    tlg_json_hex(j, ev->rec.data, ev->rec.data_len);
  }
  tlg_json_char(j, '}');
}

/* The wrappers write through a 4 KB buffer: room for the fields of most
** events to go the straight way (tlg_fmt_fields_to). */
void lev_fmt_json(const levent *ev, const tlg_sink *o, int only_fields) {
  char buf[4096];
  tlg_json j;
  tlg_json_init_buf(&j, o, buf, sizeof buf);
  lev_fmt_json_to(ev, &j, only_fields, NULL);
  tlg_json_flush(&j);
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

/* " [message]" after the fields. */
static void put_bracketed(tlg_json *j, const char *s, size_t n) {
  tlg_json_raw(j, " [", 2);
  tlg_json_raw(j, s, n);
  tlg_json_char(j, ']');
}

/* The TraceLogging fields after one space; nothing when there are none. */
static void text_fields(tlg_json *j, tlg_decoder *d, tlg_shape_cache *shapes) {
  tlg_json_char(j, ' ');
  uint64_t mark = tlg_json_tell(j);
  tlg_fmt_fields_to_c(j, d, TLG_FMT_TEXT, shapes);
  if (tlg_json_tell(j) == mark) j->n--; /* the space is still in the buffer */
}

void lev_fmt_text_to(const levent *ev, tlg_json *j, lev_fmt_cache *c) {
  size_t plen = 0;
  char pbuf[512], err[400], name[512];
  const char *prov = lev_provider_name(ev, &plen, pbuf, sizeof pbuf);
  sch_tdh_event t;
  int tdh = lev_tdh_of(ev, &t);
  char tmp[TLG_GUID_TEXT + 64];
  tlg_decoder d;
  int has_meta = lev_start(ev, &d);
  if (prov) {
    tlg_json_raw(j, prov, plen);
  } else {
    tlg_guid_format(&ev->rec.provider_id, tmp);
    tlg_json_raw(j, tmp, TLG_GUID_TEXT - 1);
  }
  tlg_json_char(j, '/');
  size_t nlen;
  const char *nm = event_name(ev, has_meta ? &d : NULL, &nlen, name, sizeof name);
  if (nm) tlg_json_raw(j, nm, nlen);
  else tlg_json_char(j, '?');
  /* "(level=%u keyword=0x%llx)" */
  static const char hx[] = "0123456789abcdef";
  char *p = tmp + sizeof tmp, *end = p;
  *--p = ')';
  uint64_t kw = ev->rec.desc.keyword;
  do { *--p = hx[kw & 15]; kw >>= 4; } while (kw);
  memcpy(p -= 11, " keyword=0x", 11);
  p -= tlg_u64_text(p, ev->rec.desc.level);
  memcpy(p -= 7, "(level=", 7);
  tlg_json_raw(j, p, (size_t)(end - p));
  if (has_meta && tlg_decode_status(&d) == TLG_OK) text_fields(j, &d, c ? &c->shapes : NULL);
  if (tdh) {
    tlg_sink js;
    tlg_json_sink(j, &js);
    spaced sp = {&js, 0};
    tlg_sink ss = {spaced_write, &sp};
    tdh_fields(ev, &ss, TLG_FMT_TEXT, err, sizeof err);
    if (err[0]) put_bracketed(j, err, strlen(err));
  }
  if (has_meta && tlg_decode_status(&d) != TLG_OK) {
    cbuf e;
    error_text(&d, &e);
    put_bracketed(j, e.s, e.n);
  }
}

void lev_fmt_text(const levent *ev, const tlg_sink *o) {
  char buf[4096];
  tlg_json j;
  tlg_json_init_buf(&j, o, buf, sizeof buf);
  lev_fmt_text_to(ev, &j, NULL);
  tlg_json_flush(&j);
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
