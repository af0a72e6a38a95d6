/*
** etwlua_capi.c: include/etwlua.h over the codec (src/tlg) and the engine.
** Statuses: 0, the engine's codes, or ETWLUA_E_TLG_BASE + a tlg status.
*/
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "etwlua.h"
#include "capi_int.h"
#include "engine.h"
#include "tlg_build.h"
#include "tlg_guid.h"

_Static_assert(sizeof(etwlua_guid) == sizeof(tlg_guid), "GUID layouts agree");
_Static_assert(sizeof(etwlua_desc) == sizeof(tlg_desc), "descriptor layouts agree");
/* etwlua_enabled reads the engine's _Atomic fields as plain ones (etwlua.h
** must compile as C++): same offsets and sizes, so the same words. */
_Static_assert(sizeof(etwlua_enable_state) == sizeof(eng_enable_state), "enable state layouts agree");
_Static_assert(offsetof(etwlua_enable_state, level_plus1) == offsetof(eng_enable_state, level_plus1) &&
               offsetof(etwlua_enable_state, any) == offsetof(eng_enable_state, any) &&
               offsetof(etwlua_enable_state, all) == offsetof(eng_enable_state, all),
               "enable state fields agree");

struct etwlua_event {
  tlg_builder b;
};

int capi_from_tlg(int st) { return st == TLG_OK ? ETWLUA_OK : CAPI_TLG_BASE + st; }

const char *etwlua_strerror(int status) {
  if (status >= CAPI_TLG_BASE) return tlg_strerror(status - CAPI_TLG_BASE);
  return eng_strerror(status);
}

int etwlua_provider_register(const char *name, const etwlua_guid *id, const etwlua_guid *group,
                             etwlua_provider **out) {
  size_t len = name ? strlen(name) : 0, tlen;
  tlg_guid pid;
  *out = NULL;
  if (len == 0) return ENG_E_ARG;
  if (id) memcpy(&pid, id, sizeof pid);
  else if (tlg_provider_id(name, len, &pid) != TLG_OK) return capi_from_tlg(TLG_E_UTF8);
  int st = tlg_provider_traits(name, len, (const tlg_guid *)group, NULL, 0, &tlen);
  if (st != TLG_OK && st != TLG_E_ARG) return capi_from_tlg(st);
  capi_provider *p = malloc(sizeof *p + tlen);
  if (!p) return ENG_E_NOMEM;
  tlg_provider_traits(name, len, (const tlg_guid *)group, p->traits, tlen, &p->traits_len);
  st = eng_provider_register(&pid, p->traits, p->traits_len, &p->eng);
  if (st != ENG_OK) { free(p); return st; }
  p->pub.state = (const etwlua_enable_state *)((const eng_provider_head *)(void *)p->eng)->state;
  p->pub.impl = p;
  *out = &p->pub;
  return ETWLUA_OK;
}

int etwlua_is_enabled(const etwlua_provider *pub, uint8_t level, uint64_t keyword) {
  const capi_provider *p = pub->impl;
  return eng_enabled(p->eng, level, keyword);
}

void etwlua_provider_unregister(etwlua_provider *pub) {
  if (!pub) return;
  capi_provider *p = pub->impl;
  eng_provider_unregister(p->eng);
  free(p);
}

etwlua_event *etwlua_event_new(void) {
  etwlua_event *e = malloc(sizeof *e);
  if (e) tlg_build_init(&e->b, 0, 0);
  return e;
}

void etwlua_event_free(etwlua_event *e) {
  if (!e) return;
  tlg_build_free(&e->b);
  free(e);
}

int etwlua_event_reset(etwlua_event *e, const char *name, const etwlua_desc *d) {
  static const tlg_desc dflt = {0, 0, TLG_CHANNEL_TRACELOGGING, 5, 0, 0, 1};
  tlg_desc desc = dflt;
  if (d) memcpy(&desc, d, sizeof desc);
  return capi_from_tlg(tlg_build_reset(&e->b, name, strlen(name), &desc, 0));
}

static int add_fixed(etwlua_event *e, const char *name, unsigned intype, uint64_t bits) {
  tlg_build_field f = {name, strlen(name), 0, 0};
  return capi_from_tlg(tlg_build_add_fixed(&e->b, &f, intype, bits));
}

int etwlua_add_int32(etwlua_event *e, const char *n, int32_t v) { return add_fixed(e, n, TLG_IN_INT32, (uint32_t)v); }
int etwlua_add_uint32(etwlua_event *e, const char *n, uint32_t v) { return add_fixed(e, n, TLG_IN_UINT32, v); }
int etwlua_add_int64(etwlua_event *e, const char *n, int64_t v) { return add_fixed(e, n, TLG_IN_INT64, (uint64_t)v); }
int etwlua_add_uint64(etwlua_event *e, const char *n, uint64_t v) { return add_fixed(e, n, TLG_IN_UINT64, v); }
int etwlua_add_hex64(etwlua_event *e, const char *n, uint64_t v) { return add_fixed(e, n, TLG_IN_HEXINT64, v); }
int etwlua_add_bool(etwlua_event *e, const char *n, int v) { return add_fixed(e, n, TLG_IN_BOOL32, v != 0); }

int etwlua_add_double(etwlua_event *e, const char *n, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  return add_fixed(e, n, TLG_IN_DOUBLE, bits);
}

static int add_bytes(etwlua_event *e, const char *name, unsigned intype, unsigned out,
                     const void *p, size_t len) {
  tlg_build_field f = {name, strlen(name), out, 0};
  return capi_from_tlg(tlg_build_add_bytes(&e->b, &f, intype, p, len));
}

int etwlua_add_str(etwlua_event *e, const char *n, const char *s, size_t len) {
  return add_bytes(e, n, TLG_IN_COUNTEDANSISTRING, TLG_OUT_UTF8, s, len);
}
int etwlua_add_binary(etwlua_event *e, const char *n, const void *p, size_t len) {
  return add_bytes(e, n, TLG_IN_COUNTEDBINARY, 0, p, len);
}
int etwlua_add_guid(etwlua_event *e, const char *n, const etwlua_guid *g) {
  return add_bytes(e, n, TLG_IN_GUID, 0, g->b, 16);
}

int etwlua_add_struct(etwlua_event *e, const char *name, unsigned count) {
  tlg_build_field f = {name, strlen(name), 0, 0};
  return capi_from_tlg(tlg_build_add_struct(&e->b, &f, count));
}

int etwlua_write(etwlua_provider *pub, etwlua_event *e, const etwlua_guid *activity,
                 const etwlua_guid *related) {
  capi_provider *p = pub->impl;
  size_t mlen, dlen;
  const char *sname;
  size_t slen;
  unsigned declared, has;
  if (!tlg_build_ready(&e->b)) return capi_from_tlg(TLG_E_STATE);
  /* a struct short of members would be written malformed */
  if (tlg_build_open_struct(&e->b, &sname, &slen, &declared, &has))
    return capi_from_tlg(TLG_E_STRUCT_OPEN);
  const uint8_t *meta = tlg_build_meta(&e->b, &mlen);
  const uint8_t *data = tlg_build_data(&e->b, &dlen);
  eng_data d[3] = {
    {p->traits, (uint32_t)p->traits_len, ENG_DATA_PROVIDER_META, {0}},
    {meta, (uint32_t)mlen, ENG_DATA_EVENT_META, {0}},
    {data, (uint32_t)dlen, ENG_DATA_PAYLOAD, {0}},
  };
  return eng_provider_write(p->eng, &e->b.desc, (const tlg_guid *)activity,
                            (const tlg_guid *)related, 3, d);
}

int etwlua_guid_parse(const char *text, etwlua_guid *out) {
  return capi_from_tlg(tlg_guid_parse(text, strlen(text), (tlg_guid *)out));
}
