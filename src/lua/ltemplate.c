/*
** ltemplate.c: etw.EventTemplate, an event whose metadata is built once by
** p:event(name, opts, field...) and whose calls encode only values
** (src/tlg/tlg_template.h). Values are read by the EventBuilder's rules
** (lvalue.h), so a template's bytes are the builder's for the same event.
**
** Speed: the call checks "closed" and "enabled" before touching any
** argument, so with nobody listening it costs one Lua->C call and a few
** loads. `self` is recognised by a tag word, as for the other types.
*/
#include <stdio.h>
#include <string.h>

#include "lauxetw.h"
#include "lvalue.h"
#include "tlg_build.h"
#include "tlg_template.h"

/* Scalars with a fast form (put_fast): integers, and counted strings and
** binaries read as Lua strings (str8, cbinary_bytes, ...). */
enum { FAST_NONE, FAST_INT, FAST_COUNTED };

/* One field-list entry as Lua reads it (parallel to the tlg_tfield list). */
typedef struct tentry {
  const etwL_method *m;  /* NULL for a struct */
  uint8_t seq, count;    /* count: struct members (entries directly inside) */
  uint8_t fast, size;    /* FAST_*; FAST_INT: the value's size in bytes */
} tentry;

static char template_tag; /* its address marks templates */

typedef struct ltemplate {
  const void *tag;            /* &template_tag */
  struct lprovider *prov;     /* kept alive by user value 1 */
  int dead;                   /* after __close / __gc */
  tlg_template t;
  tlg_tbuf data;              /* reused by every call */
  unsigned ntop;              /* top-level entries = value arguments */
  unsigned n;
  tentry e[];
} ltemplate;

/* The live template at 1 or NULL (then checklive raises the reason). */
static inline ltemplate *fasttemplate(lua_State *L) {
  ltemplate *t = lua_touserdata(L, 1);
  if (t && lua_rawlen(L, 1) >= sizeof *t && t->tag == &template_tag && !t->dead &&
      etwL_provider_isopen(t->prov))
    return t;
  return NULL;
}

static ltemplate *totemplate(lua_State *L, int idx) {
  ltemplate *t = lua_touserdata(L, idx);
  if (t && lua_rawlen(L, idx) >= sizeof *t && t->tag == &template_tag) return t;
  luaL_typeerror(L, idx, ETWL_TEMPLATE);
  return NULL;
}

static const char *event_name(const ltemplate *t) { return (const char *)t->t.meta + t->t.event_name_off; }
static const char *field_name(const ltemplate *t, unsigned i) {
  return (const char *)t->t.meta + t->t.name_off[i];
}

/* The template at 1, usable: raises once its provider is closed. */
static ltemplate *checklive(lua_State *L) {
  ltemplate *t = totemplate(L, 1);
  if (t->dead) luaL_error(L, "attempt to use a closed " ETWL_TEMPLATE);
  if (!etwL_provider_isopen(t->prov))
    luaL_error(L, "%s: attempt to use a template of a closed " ETWL_PROVIDER, event_name(t));
  return t;
}

/* --- encoding values ------------------------------------------------------- */

static int field_error(lua_State *L, const ltemplate *t, unsigned i, const char *rule) {
  return luaL_error(L, "%s: field '%s': %s", event_name(t), field_name(t, i), rule);
}

static int item_error(lua_State *L, const ltemplate *t, unsigned i, lua_Unsigned k,
                      const char *rule) {
  return luaL_error(L, "%s: field '%s': item %d: %s", event_name(t), field_name(t, i),
                    (int)k, rule);
}

static int put_value(tlg_tbuf *d, const etwL_method *m, const etwL_value *v) {
  switch (m->kind) {
  case K_BYTES: return tlg_tput_bytes(d, m->intype, v->p, v->n);
  case K_STR16: return tlg_tput_str16(d, m->intype, v->p, v->n);
  case K_GUID: return tlg_tput_bytes(d, m->intype, v->g.b, 16);
  default: return tlg_tput_fixed(d, m->intype, v->bits);
  }
}

static void put_seq(lua_State *L, ltemplate *t, unsigned i, int idx) {
  const etwL_method *m = t->e[i].m;
  size_t off;
  if (lua_type(L, idx) != LUA_TTABLE)
    field_error(L, t, i, lua_pushfstring(L, "table expected, got %s", luaL_typename(L, idx)));
  lua_Unsigned n = lua_rawlen(L, idx);
  if (n > TLG_MAX_SEQ) field_error(L, t, i, tlg_strerror(TLG_E_SEQ));
  int st = tlg_tput_count(&t->data, &off);
  if (st != TLG_OK) field_error(L, t, i, tlg_strerror(st));
  for (lua_Unsigned k = 1; k <= n; k++) {
    etwL_value v;
    etwL_errbuf e;
    lua_rawgeti(L, idx, (lua_Integer)k);
    const char *bad = etwL_getvalue(L, -1, m, &v, &e);
    if (bad) item_error(L, t, i, k, bad);
    st = put_value(&t->data, m, &v);
    if (st != TLG_OK) item_error(L, t, i, k, tlg_strerror(st));
    lua_pop(L, 1);
  }
  tlg_tset_count(&t->data, off, (unsigned)n);
}

static unsigned put_entry(lua_State *L, ltemplate *t, unsigned i, int idx);

/* A struct's value: a table with its members in order ([1], [2], ...) or
** by name; raw reads, so no metamethod runs. Returns the next entry. */
static unsigned put_struct(lua_State *L, ltemplate *t, unsigned i, int idx) {
  unsigned j = i + 1;
  if (lua_type(L, idx) != LUA_TTABLE)
    field_error(L, t, i, lua_pushfstring(L, "table expected (members in order or by name), "
                                         "got %s", luaL_typename(L, idx)));
  luaL_checkstack(L, 4, "struct nesting");
  for (unsigned k = 1; k <= t->e[i].count; k++) {
    if (lua_rawgeti(L, idx, (lua_Integer)k) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushstring(L, field_name(t, j));
      lua_rawget(L, idx);
    }
    j = put_entry(L, t, j, lua_gettop(L));
    lua_pop(L, 1);
  }
  return j;
}

/* The commonest values the short way: 1 when stored. 0 leaves the value
** to the general path (etwL_getvalue), which encodes what the fast form
** does not take (a float holding an integer) or raises with the rule, so
** both paths accept the same values and errors have one wording. */
static inline int put_fast(lua_State *L, ltemplate *t, const tentry *en, int idx) {
  if (en->fast == FAST_INT) {
    if (!lua_isinteger(L, idx)) return 0;
    lua_Integer i = lua_tointegerx(L, idx, NULL);
    if (en->m->kind == K_INT && (i < en->m->min || i > en->m->max)) return 0;
    return tlg_tput_le(&t->data, en->size, (uint64_t)i) == TLG_OK;
  }
  if (en->fast == FAST_COUNTED && lua_type(L, idx) == LUA_TSTRING) {
    size_t n;
    const char *p = lua_tolstring(L, idx, &n);
    return tlg_tput_counted(&t->data, p, n) == TLG_OK;
  }
  return 0;
}

/* Encode entry i from the value at idx; returns the entry after it. */
static unsigned put_entry(lua_State *L, ltemplate *t, unsigned i, int idx) {
  const tentry *en = &t->e[i];
  if (!en->m) return put_struct(L, t, i, idx);
  if (en->seq) {
    put_seq(L, t, i, idx);
    return i + 1;
  }
  etwL_value v;
  etwL_errbuf e;
  const char *bad = etwL_getvalue(L, idx, en->m, &v, &e);
  if (bad) field_error(L, t, i, bad);
  int st = put_value(&t->data, en->m, &v);
  if (st != TLG_OK) field_error(L, t, i, tlg_strerror(st));
  return i + 1;
}

/* Encode the values at 2.. into t->data. */
static void encode(lua_State *L, ltemplate *t) {
  tlg_tbuf_clear(&t->data);
  unsigned i = 0;
  for (unsigned a = 0; a < t->ntop; a++) {
    if (t->e[i].fast && put_fast(L, t, &t->e[i], 2 + (int)a)) i++;
    else i = put_entry(L, t, i, 2 + (int)a);
  }
}

/* --- methods ------------------------------------------------------------- */

/* t(v1, ..., vn [, activity_id [, related_id]]) and t:write(same) -> status.
** Closed and enabled come first: nobody listening costs no argument reads. */
static int l_write(lua_State *L) {
  ltemplate *t = fasttemplate(L);
  if (!t) t = checklive(L);
  if (!etwL_provider_enabled(t->prov, t->t.desc.level, t->t.desc.keyword)) {
    lua_pushinteger(L, 0);
    return 1;
  }
  tlg_guid act, rel;
  int a = 2 + (int)t->ntop, has_act = 0, has_rel = 0;
  if (lua_gettop(L) >= a) { /* the ids are rare: one call decides */
    has_act = etwL_optguid(L, a, &act);
    has_rel = etwL_optguid(L, a + 1, &rel);
  }
  encode(L, t);
  lua_pushinteger(L, etwL_provider_send(t->prov, &t->t.desc, has_act ? &act : NULL,
                                        has_rel ? &rel : NULL, t->t.meta, t->t.meta_len,
                                        t->data.p, t->data.len));
  return 1;
}

/* t:is_enabled() -> boolean, for this event's level and keyword. */
static int l_is_enabled(lua_State *L) {
  ltemplate *t = fasttemplate(L);
  if (!t) t = checklive(L);
  lua_pushboolean(L, etwL_provider_enabled(t->prov, t->t.desc.level, t->t.desc.keyword));
  return 1;
}

/* t:bytes(v1, ..., vn) -> descriptor (16 bytes), metadata, data; writes nothing. */
static int l_bytes(lua_State *L) {
  ltemplate *t = checklive(L);
  uint8_t desc[16];
  encode(L, t);
  tlg_desc_pack(&t->t.desc, desc);
  lua_pushlstring(L, (const char *)desc, 16);
  lua_pushlstring(L, (const char *)t->t.meta, t->t.meta_len);
  lua_pushlstring(L, (const char *)t->data.p, t->data.len);
  return 3;
}

static int l_tostring(lua_State *L) {
  ltemplate *t = totemplate(L, 1);
  if (t->dead) lua_pushliteral(L, ETWL_TEMPLATE " (closed)");
  else lua_pushfstring(L, ETWL_TEMPLATE " \"%s\" (%d fields)", event_name(t), (int)t->t.nfields);
  return 1;
}

static int l_close(lua_State *L) {
  ltemplate *t = totemplate(L, 1);
  if (t->dead) return 0;
  t->dead = 1;
  tlg_tmpl_free(&t->t);
  tlg_tbuf_free(&t->data);
  return 0;
}

/* --- p:event(name, opts, field...) ------------------------------------------ */

#define MAX_ENTRIES (TLG_MAX_FIELDS + 1) /* one past the limit: the builder says which */

typedef struct compiling {
  tlg_tfield f[MAX_ENTRIES];
  tentry e[MAX_ENTRIES];
  unsigned n;
} compiling;

static int spec_error(lua_State *L, int arg, const char *fmt, const char *detail) {
  return luaL_error(L, "bad argument #%d to 'event' (%s)", arg - 1,
                    lua_pushfstring(L, fmt, detail));
}

static uint64_t spec_int(lua_State *L, int arg, int idx, const char *what) {
  int isint;
  lua_Integer v = lua_tointegerx(L, idx, &isint);
  if (!isint) spec_error(L, arg, "%s must be an integer", what);
  return (uint64_t)v;
}

static void add_fields(lua_State *L, compiling *c, int list, int arg, int depth);

/* Which fast form (put_fast) a scalar of method m has. */
static uint8_t fast_form(const etwL_method *m, int seq, uint8_t *size) {
  *size = (uint8_t)tlg_intype_fixed_size(m->intype);
  if (seq) return FAST_NONE;
  if ((m->kind == K_INT || m->kind == K_U64) && *size) return FAST_INT;
  if (m->kind == K_BYTES && (m->intype == TLG_IN_COUNTEDANSISTRING ||
                             m->intype == TLG_IN_COUNTEDBINARY || m->intype == TLG_IN_BINARY))
    return FAST_COUNTED;
  return FAST_NONE;
}

/* The field spec table at idx: {name, type [, out_type [, tag]]} or
** {name, "struct", {member...} [, tag]}. `arg` is the top-level argument. */
static void add_field(lua_State *L, compiling *c, int idx, int arg, int depth) {
  if (lua_type(L, idx) != LUA_TTABLE)
    spec_error(L, arg, "field must be a table {name, type, ...}, got %s", luaL_typename(L, idx));
  if (c->n >= MAX_ENTRIES) spec_error(L, arg, "%s", tlg_strerror(TLG_E_FIELDS));
  luaL_checkstack(L, 8, "field list");
  unsigned me = c->n++;
  tlg_tfield *f = &c->f[me];
  tentry *en = &c->e[me];
  memset(f, 0, sizeof *f);
  memset(en, 0, sizeof *en);
  if (lua_rawgeti(L, idx, 1) != LUA_TSTRING) spec_error(L, arg, "%s", "field name (string) expected at [1]");
  f->name = lua_tolstring(L, -1, &f->name_len); /* kept alive by the spec table */
  lua_pop(L, 1);
  size_t tlen;
  if (lua_rawgeti(L, idx, 2) != LUA_TSTRING) spec_error(L, arg, "field '%s': type (string) expected at [2]", f->name);
  const char *type = lua_tolstring(L, -1, &tlen);
  lua_pop(L, 1);
  if (strcmp(type, "struct") == 0) {
    f->intype = TLG_IN_STRUCT;
    if (lua_rawgeti(L, idx, 4) != LUA_TNIL) f->tag = spec_int(L, arg, -1, "tag");
    lua_pop(L, 1);
    if (lua_rawgeti(L, idx, 3) != LUA_TTABLE) spec_error(L, arg, "struct '%s': member list (table) expected at [3]", f->name);
    lua_Unsigned members = lua_rawlen(L, -1);
    if (members < 1 || members > TLG_MAX_STRUCT) spec_error(L, arg, "struct '%s': field count must be 1..127", f->name);
    if (depth + 1 >= TLG_MAX_DEPTH) spec_error(L, arg, "struct '%s': nested too deep", f->name);
    en->count = (uint8_t)members;
    f->count = (uint8_t)members;
    add_fields(L, c, lua_gettop(L), arg, depth + 1);
    lua_pop(L, 1);
    return;
  }
  int seq = tlen > 4 && strcmp(type + tlen - 4, "_seq") == 0;
  const etwL_method *m = etwL_findmethod(type, seq ? tlen - 4 : tlen);
  if (!m || (seq && !m->has_seq)) spec_error(L, arg, "unknown field type '%s'", type);
  en->m = m;
  en->seq = (uint8_t)seq;
  en->fast = fast_form(m, seq, &en->size);
  f->intype = m->intype;
  f->seq = (uint8_t)seq;
  f->out_type = m->out_type;
  if (lua_rawgeti(L, idx, 3) != LUA_TNIL) f->out_type = spec_int(L, arg, -1, "out_type");
  if (lua_rawgeti(L, idx, 4) != LUA_TNIL) f->tag = spec_int(L, arg, -1, "tag");
  lua_pop(L, 2);
}

static void add_fields(lua_State *L, compiling *c, int list, int arg, int depth) {
  lua_Unsigned n = lua_rawlen(L, list);
  for (lua_Unsigned k = 1; k <= n; k++) {
    lua_rawgeti(L, list, (lua_Integer)k);
    add_field(L, c, lua_gettop(L), arg, depth);
    lua_pop(L, 1);
  }
}

/* Descriptor options, as eb:reset's named form. */
static uint32_t get_desc(lua_State *L, tlg_desc *d) {
  static const char *const keys[] = {"level", "keyword", "opcode", "id", "version",
                                     "tag", "task", "channel", NULL};
  const char *w = "p:event";
  etwL_checkoptions(L, 3, w, keys);
  d->level = (uint8_t)etwL_optinteger(L, 3, w, "level", 0, 255, 5);
  d->opcode = (uint8_t)etwL_optinteger(L, 3, w, "opcode", 0, 255, 0);
  d->id = (uint16_t)etwL_optinteger(L, 3, w, "id", 0, 65535, 0);
  d->version = (uint8_t)etwL_optinteger(L, 3, w, "version", 0, 255, 0);
  d->task = (uint16_t)etwL_optinteger(L, 3, w, "task", 0, 65535, 0);
  d->channel = (uint8_t)etwL_optinteger(L, 3, w, "channel", 0, 255, TLG_CHANNEL_TRACELOGGING);
  uint32_t tag = (uint32_t)etwL_optinteger(L, 3, w, "tag", 0, TLG_MAX_TAG, 0);
  d->keyword = 1;
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_getfield(L, 3, "keyword");
    if (!lua_isnil(L, -1)) {
      int isint;
      lua_Integer k = lua_tointegerx(L, -1, &isint);
      if (!isint) etwL_opterror(L, w, "keyword", "must be an integer (64-bit mask)");
      d->keyword = (uint64_t)k;
    }
    lua_pop(L, 1);
  }
  return tag;
}

static void count_top(lua_State *L, const compiling *c, unsigned *ntop) {
  (void)L;
  unsigned i = 0, top = 0;
  while (i < c->n) { /* skip over each top-level entry with its members */
    unsigned need = 1;
    while (need && i < c->n) {
      need--;
      if (!c->e[i].m) need += c->e[i].count;
      i++;
    }
    top++;
  }
  *ntop = top;
}

int etwL_template_new(lua_State *L) {
  struct lprovider *prov = etwL_checkopenprovider(L, 1);
  size_t len;
  tlg_desc d;
  compiling *c;
  if (lua_type(L, 2) != LUA_TSTRING) luaL_typeerror(L, 2, "string (event name)");
  const char *name = lua_tolstring(L, 2, &len);
  uint32_t tag = get_desc(L, &d);
  int nargs = lua_gettop(L);
  c = lua_newuserdatauv(L, sizeof *c, 0); /* scratch, collected */
  int scratch = lua_gettop(L);
  c->n = 0;
  for (int a = 4; a <= nargs; a++) add_field(L, c, a, a, 0);
  unsigned ntop;
  count_top(L, c, &ntop);
  ltemplate *t = lua_newuserdatauv(L, sizeof *t + c->n * sizeof(tentry), 1);
  memset(t, 0, sizeof *t);
  t->tag = &template_tag;
  t->dead = 1; /* until compiled: __gc then frees nothing */
  luaL_setmetatable(L, ETWL_TEMPLATE);
  size_t bad = 0;
  int st = tlg_tmpl_init(&t->t, name, len, &d, tag, c->f, c->n, &bad);
  if (st == TLG_E_NAME_NUL && bad == 0 && memchr(name, 0, len))
    return luaL_error(L, "p:event: event name must not contain NUL");
  if (st == TLG_E_NAME_NUL) return luaL_error(L, "p:event: field name must not contain NUL");
  if (st != TLG_OK && bad < c->n)
    return luaL_error(L, "p:event: field '%s': %s", c->f[bad].name, tlg_strerror(st));
  if (st != TLG_OK) return etwL_tlgerror(L, "p:event", st);
  t->prov = prov;
  t->dead = 0;
  t->ntop = ntop;
  t->n = c->n;
  memcpy(t->e, c->e, c->n * sizeof(tentry));
  tlg_tbuf_init(&t->data);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);   /* the provider lives as long as its templates */
  lua_remove(L, scratch);
  return 1;
}

static const luaL_Reg meth[] = {
  {"write", l_write},
  {"is_enabled", l_is_enabled},
  {"bytes", l_bytes},
  {"close", l_close},
  {NULL, NULL}};

static const luaL_Reg metameth[] = {
  {"__call", l_write},
  {"__tostring", l_tostring},
  {"__gc", l_close},
  {"__close", l_close},
  {NULL, NULL}};

void etwL_open_template(lua_State *L) {
  lua_createtable(L, 0, 8);
  lua_createtable(L, 0, 4);
  luaL_setfuncs(L, meth, 0);
  lua_setfield(L, -2, "__index");
  luaL_setfuncs(L, metameth, 0);
  lua_pushliteral(L, ETWL_TEMPLATE);
  lua_setfield(L, -2, "__name");
  lua_setfield(L, LUA_REGISTRYINDEX, ETWL_TEMPLATE);
}
