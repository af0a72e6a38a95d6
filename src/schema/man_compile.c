/*
** man_compile.c: the parsed manifest's events -> TRACE_EVENT_INFO-layout
** blobs (the x64 layout TdhGetEventInformation returns, spec windows-etw
** §5.3), so win_tdh_walk.c decodes them like Windows' own schemas:
**   112-byte head | EVENT_PROPERTY_INFO x n | template strings and value
**   maps | event strings.
** The template part depends on the template only (its offsets are fixed
** once the property count is known), so it is built once per template and
** copied into each event. A value map follows its name (the property's
** MapNameOffset): pad to 4, "EWLM", u32 flags (1 bitmap), u32 n, n x {u32
** value, u32 text offset}, then the texts.
*/
#include <stdlib.h>
#include <string.h>

#include "tlg_guid.h"
#include "tlg_utf8.h"
#include "man_int.h"
#include "man_types.h"

#define HEAD 112
#define EPI 24
#define MAX_BLOB_BYTES (128u * 1024 * 1024)   /* all blobs of one manifest */

enum { PF_STRUCT = 1, PF_PARAM_LENGTH = 2, PF_PARAM_COUNT = 4, PF_FIXED_LEN = 0x10,
       PF_FIXED_COUNT = 0x20 };

typedef struct bbuf {
  uint8_t *p;
  size_t n, cap;
  size_t base;        /* absolute offset of p[0] in the blob */
  int oom;
} bbuf;

static int reserve(bbuf *b, size_t more) {
  if (b->oom) return -1;
  if (b->cap - b->n >= more) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->n < more) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) { b->oom = 1; return -1; }
  memset(p + b->cap, 0, cap - b->cap);
  b->p = p;
  b->cap = cap;
  return 0;
}

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

/* Append a UTF-8 string as UTF-16LE + NUL; its absolute offset, 0 for NULL. */
static uint32_t put_str(bbuf *b, const char *s) {
  if (!s) return 0;
  size_t n = strlen(s);
  if (reserve(b, 4 * n + 2) < 0) return 0;
  uint32_t off = (uint32_t)(b->base + b->n);
  const uint8_t *u = (const uint8_t *)s;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t k = tlg_utf8_next(u + i, n - i, &cp);
    if (!k) { cp = 0xFFFD; k = 1; }          /* expat passed only valid UTF-8 */
    i += k;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put16(b->p + b->n, (uint16_t)(0xD800 | cp >> 10));
      put16(b->p + b->n + 2, (uint16_t)(0xDC00 | (cp & 0x3FF)));
      b->n += 4;
    } else {
      put16(b->p + b->n, (uint16_t)cp);
      b->n += 2;
    }
  }
  b->n += 2;    /* NUL (zeroed by reserve) */
  return off;
}

static void align4(bbuf *b) {
  size_t pad = (4 - ((b->base + b->n) & 3)) & 3;
  if (reserve(b, pad) == 0) b->n += pad;
}

/* "$(string.X)" -> the string table's text (the id itself if it has none) */
static const char *text(const schema_man *m, const char *raw) {
  if (!raw) return NULL;
  size_t n = strlen(raw);
  if (n > 10 && strncmp(raw, "$(string.", 9) == 0 && raw[n - 1] == ')') {
    char id[512];
    if (n - 10 < sizeof id) {
      memcpy(id, raw + 9, n - 10);
      id[n - 10] = 0;
      const mstring *v = ntab_get(&m->names, &m->strings, id);
      if (v) return v->value;
    }
  }
  return raw;
}

/* ---- templates ---- */

typedef struct mapoff {
  const mmap *map;
  uint32_t off;
} mapoff;

typedef struct tctx {
  schema_man *m;
  mprov *p;
  mtemplate *t;
  bbuf b;
  char *err;
  size_t cap;
  mapoff maps[64];
  int nmaps;
} tctx;

static uint32_t assign(mdata *first, uint32_t start) {
  uint32_t n = 0, next;
  for (mdata *d = first; d; d = d->next) d->idx = start + n++;
  next = start + n;
  for (mdata *d = first; d; d = d->next)
    if (d->is_struct) { d->mstart = next; next = assign(d->first, next); }
  return next;
}

static uint32_t put_map(tctx *x, const mmap *mp) {
  for (int i = 0; i < x->nmaps; i++)
    if (x->maps[i].map == mp) return x->maps[i].off;
  bbuf *b = &x->b;
  uint32_t off = put_str(b, mp->name);
  align4(b);
  if (reserve(b, 12 + 8 * (size_t)mp->n) < 0) return 0;
  size_t dir = b->n;
  memcpy(b->p + dir, "EWLM", 4);
  put32(b->p + dir + 4, mp->bitmap ? 1u : 0u);
  put32(b->p + dir + 8, mp->n);
  b->n += 12 + 8 * (size_t)mp->n;
  uint32_t k = 0;
  for (const mmapent *e = mp->first; e; e = e->next, k++) {
    uint32_t so = put_str(b, text(x->m, e->msg));
    if (b->oom) return 0;
    put32(b->p + dir + 12 + 8 * k, (uint32_t)e->value);
    put32(b->p + dir + 16 + 8 * k, so);
  }
  if (x->nmaps < 64) x->maps[x->nmaps++] = (mapoff){mp, off};
  return off;
}

/* The earlier field `name` refers to from d: a sibling before it, else one
** before an enclosing struct. */
static const mdata *earlier(const mtemplate *t, const mdata *d, const char *name) {
  for (const mdata *at = d; at; at = at->parent) {
    const mdata *found = NULL;
    for (const mdata *s = at->parent ? at->parent->first : t->first; s && s != at; s = s->next)
      if (strcmp(s->name, name) == 0) found = s;
    if (found) return found;
  }
  return NULL;
}

/* count= / length=: a number (fixed) or the name of an earlier integer field */
static int param(tctx *x, const mdata *d, const char *what, const char *v, uint16_t *out,
                 uint32_t *flags, uint32_t fixed_flag, uint32_t param_flag) {
  uint64_t n;
  if (man_number(v, &n) == 0) {
    if (n > 65535) {
      man_err(x->err, x->cap, x->m->file, d->line,
              "field '%s': %s %s is out of range (0..65535)", d->name, what, v);
      return -1;
    }
    *out = (uint16_t)n;
    *flags |= fixed_flag;
    return 0;
  }
  const mdata *r = earlier(x->t, d, v);
  if (!r || r->is_struct) {
    man_err(x->err, x->cap, x->m->file, d->line,
            "field '%s': %s '%s' is neither a number nor an earlier field of template '%s'",
            d->name, what, v, x->t->tid);
    return -1;
  }
  *out = (uint16_t)r->idx;
  *flags |= param_flag;
  return 0;
}

static int epi(tctx *x, mdata *d) {
  uint8_t e[EPI];
  memset(e, 0, sizeof e);
  uint32_t flags = 0;
  uint16_t count = 1, length = 0;
  uint32_t name_off = put_str(&x->b, d->name);
  if (d->is_struct) {
    flags |= PF_STRUCT;
    put16(e + 8, (uint16_t)d->mstart);
    put16(e + 10, (uint16_t)d->nmembers);
  } else {
    unsigned in, out = 0;
    if (man_intype(d->intype, &in) < 0) {
      man_err(x->err, x->cap, x->m->file, d->line, "field '%s': unknown inType '%s'", d->name,
              d->intype);
      return -1;
    }
    if (d->outtype) (void)man_outtype(d->outtype, &out);   /* unknown: formatted by inType */
    put16(e + 8, (uint16_t)in);
    put16(e + 10, (uint16_t)out);
    if (d->map) {
      const mmap *mp = ntab_get(&x->m->names, &x->p->maps, d->map);
      if (!mp) {
        man_err(x->err, x->cap, x->m->file, d->line, "field '%s': map '%s' is not defined",
                d->name, d->map);
        return -1;
      }
      put32(e + 12, put_map(x, mp));
    }
  }
  if (d->count && param(x, d, "count", d->count, &count, &flags, PF_FIXED_COUNT, PF_PARAM_COUNT) < 0)
    return -1;
  if (d->length &&
      param(x, d, "length", d->length, &length, &flags, PF_FIXED_LEN, PF_PARAM_LENGTH) < 0)
    return -1;
  put32(e, flags);
  put32(e + 4, name_off);
  put16(e + 16, count);
  put16(e + 18, length);
  if (x->b.oom) return -1;
  memcpy(x->b.p + (size_t)EPI * d->idx, e, EPI);
  return 0;
}

static int epi_all(tctx *x, mdata *first) {
  for (mdata *d = first; d; d = d->next) {
    if (epi(x, d) < 0) return -1;
    if (d->is_struct && epi_all(x, d->first) < 0) return -1;
  }
  return 0;
}

static int compile_template(schema_man *m, mprov *p, mtemplate *t, char *err, size_t cap) {
  if (t->state) return 0;
  tctx x;
  memset(&x, 0, sizeof x);
  x.m = m;
  x.p = p;
  x.t = t;
  x.err = err;
  x.cap = cap;
  x.b.base = HEAD;
  assign(t->first, 0);
  if (reserve(&x.b, (size_t)EPI * t->nprops) < 0) goto oom;
  x.b.n = (size_t)EPI * t->nprops;
  if (epi_all(&x, t->first) < 0) {
    free(x.b.p);
    if (x.b.oom) goto oom;
    return -1;
  }
  align4(&x.b);
  if (x.b.oom) goto oom;
  t->body = x.b.p;
  t->body_len = (uint32_t)x.b.n;
  t->state = 1;
  return 0;
oom:
  free(x.b.p);
  man_err(err, cap, m->file, t->line, "out of memory");
  return -1;
}

/* ---- events ---- */

typedef struct resolved {
  uint64_t value;
  const char *display;
} resolved;

/* A level / opcode / task by name: the provider's (or task's) own first,
** then the win: ones. */
static int find_named(const schema_man *m, const void *scope, const char *name,
                      const man_wellknown *win, resolved *r) {
  const mnamed *n = ntab_get(&m->names, scope, name);
  if (n) {
    r->value = n->value;
    r->display = n->msg ? text(m, n->msg) : n->name;
    return 0;
  }
  if (win) {
    r->value = win->value;
    r->display = win->display;
    return 0;
  }
  return -1;
}

static int keywords(const schema_man *m, const mprov *p, const mevent *e, uint64_t *out, char *err,
                    size_t cap) {
  *out = 0;
  if (!e->keywords) return 0;
  const char *s = e->keywords;
  while (*s) {
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
    size_t n = strcspn(s, " \t\r\n");
    if (!n) break;
    char name[256];
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, s, n);
    name[n] = 0;
    s += strcspn(s, " \t\r\n");
    const mnamed *k = ntab_get(&m->names, &p->keywords, name);
    const man_wellknown *w = man_win_keyword(name);
    if (!k && !w) {
      man_err(err, cap, m->file, e->line, "event %s: keyword '%s' is not defined", e->value, name);
      return -1;
    }
    *out |= k ? k->value : w->value;
  }
  return 0;
}

static int num_attr(const schema_man *m, const mevent *e, const char *what, const char *v,
                    uint64_t max, uint64_t *out, char *err, size_t cap) {
  *out = 0;
  if (!v) return 0;
  if (man_number(v, out) < 0 || *out > max) {
    man_err(err, cap, m->file, e->line, "event %s: %s '%s' is not a number in 0..%llu",
            e->value, what, v, (unsigned long long)max);
    return -1;
  }
  return 0;
}

static int compile_event(schema_man *m, mprov *p, const mevent *e, char *err, size_t cap) {
  uint64_t id, version, kw;
  resolved level = {0, NULL}, task = {0, NULL}, opcode = {0, NULL};
  if (num_attr(m, e, "value", e->value, 65535, &id, err, cap) < 0 ||
      num_attr(m, e, "version", e->version, 255, &version, err, cap) < 0 ||
      keywords(m, p, e, &kw, err, cap) < 0)
    return -1;
  const mnamed *tk = e->task ? ntab_get(&m->names, &p->tasks, e->task) : NULL;
  if ((e->level && find_named(m, &p->levels, e->level, man_win_level(e->level), &level) < 0) ||
      (e->task && find_named(m, &p->tasks, e->task, NULL, &task) < 0) ||
      (e->opcode && (!tk || find_named(m, tk, e->opcode, NULL, &opcode) < 0) &&
       find_named(m, &p->opcodes, e->opcode, man_win_opcode(e->opcode), &opcode) < 0)) {
    man_err(err, cap, m->file, e->line, "event %s: level, task or opcode not defined "
            "(level '%s', task '%s', opcode '%s')", e->value, e->level ? e->level : "",
            e->task ? e->task : "", e->opcode ? e->opcode : "");
    return -1;
  }
  uint64_t channel = 0;
  if (e->channel) {
    const mnamed *c = ntab_get(&m->names, &p->channels, e->channel);
    const man_wellknown *w = man_win_channel(e->channel);
    channel = c ? c->value : w ? w->value : 0;
  }
  mtemplate *t = NULL;
  if (e->tmpl) {
    t = ntab_get(&m->names, &p->templates, e->tmpl);
    if (!t) {
      man_err(err, cap, m->file, e->line, "event %s: template '%s' is not defined", e->value,
              e->tmpl);
      return -1;
    }
    if (compile_template(m, p, t, err, cap) < 0) return -1;
  }
  bbuf b;
  memset(&b, 0, sizeof b);
  uint32_t body = t ? t->body_len : 0;
  if (reserve(&b, HEAD + body) < 0) goto oom;
  b.n = HEAD + body;
  if (body) memcpy(b.p + HEAD, t->body, body);
  memcpy(b.p, p->guid_b, 16);
  uint8_t *d = b.p + 32;                      /* EVENT_DESCRIPTOR */
  put16(d, (uint16_t)id);
  d[2] = (uint8_t)version;
  d[3] = (uint8_t)channel;
  d[4] = (uint8_t)level.value;
  d[5] = (uint8_t)opcode.value;
  put16(d + 6, (uint16_t)task.value);
  for (int i = 0; i < 8; i++) d[8 + i] = (uint8_t)(kw >> 8 * i);
  /* DecodingSource 0 = XML manifest; name offsets */
  uint32_t o_prov = put_str(&b, p->name), o_level = put_str(&b, level.display);
  uint32_t o_task = put_str(&b, task.display), o_op = put_str(&b, opcode.display);
  uint32_t o_msg = put_str(&b, text(m, e->message));
  /* the event's own name; an event with neither name nor task goes by its symbol */
  uint32_t o_name = put_str(&b, e->name ? e->name : task.display ? NULL : e->symbol);
  if (b.oom) goto oom;
  put32(b.p + 52, o_prov);
  put32(b.p + 56, o_level);
  put32(b.p + 68, o_task);
  put32(b.p + 72, o_op);
  put32(b.p + 76, o_msg);
  put32(b.p + 92, o_name);
  uint32_t top = 0;
  for (mdata *x = t ? t->first : NULL; x; x = x->next) top++;
  put32(b.p + 100, t ? t->nprops : 0);
  put32(b.p + 104, top);
  m->blob_bytes += b.n;
  if (m->blob_bytes > MAX_BLOB_BYTES) {
    free(b.p);
    man_err(err, cap, m->file, e->line, "the compiled schemas exceed 128 MiB");
    return -1;
  }
  if (m->nevents == m->cap_events) {
    size_t c = m->cap_events ? m->cap_events * 2 : 64;
    schema_event *ne = realloc(m->events, c * sizeof *ne);
    if (!ne) goto oom;
    m->events = ne;
    m->cap_events = c;
  }
  schema_event *se = &m->events[m->nevents++];
  memcpy(se->provider, p->guid_b, 16);
  se->id = (uint16_t)id;
  se->version = (uint8_t)version;
  se->blob = se->owned = b.p;
  se->len = (uint32_t)b.n;
  return 0;
oom:
  free(b.p);
  man_err(err, cap, m->file, e->line, "out of memory");
  return -1;
}

/* ---- names ---- */

static int index_names(schema_man *m) {
  ntab *t = &m->names;
  for (mstring *s = m->strings; s; s = s->next)
    if (ntab_put(t, &m->strings, s->id, s) < 0) return -1;
  for (mprov *p = m->provs; p; p = p->next) {
    for (mnamed *n = p->tasks; n; n = n->next) {
      if (ntab_put(t, &p->tasks, n->name, n) < 0) return -1;
      for (mnamed *o = n->sub; o; o = o->next)
        if (ntab_put(t, n, o->name, o) < 0) return -1;
    }
    for (mnamed *n = p->opcodes; n; n = n->next)
      if (ntab_put(t, &p->opcodes, n->name, n) < 0) return -1;
    for (mnamed *n = p->levels; n; n = n->next)
      if (ntab_put(t, &p->levels, n->name, n) < 0) return -1;
    for (mnamed *n = p->keywords; n; n = n->next)
      if (ntab_put(t, &p->keywords, n->name, n) < 0) return -1;
    uint64_t next_channel = 16;    /* channels without a value: numbered in order from 16 */
    for (mnamed *n = p->channels; n; n = n->next) {
      if (!n->has_value) {
        const man_wellknown *w = man_win_channel(n->name);
        n->value = w ? w->value : next_channel++;
      }
      if (ntab_put(t, &p->channels, n->name, n) < 0) return -1;
    }
    for (mmap *mp = p->maps; mp; mp = mp->next)
      if (ntab_put(t, &p->maps, mp->name, mp) < 0) return -1;
    for (mtemplate *tp = p->templates; tp; tp = tp->next)
      if (ntab_put(t, &p->templates, tp->tid, tp) < 0) return -1;
  }
  return 0;
}

int man_compile(schema_man *m, char *err, size_t cap) {
  if (index_names(m) < 0) { man_err(err, cap, m->file, 0, "out of memory"); return -1; }
  m->prov_index = calloc(m->nprovs, sizeof *m->prov_index);
  m->prov_nevents = calloc(m->nprovs, sizeof *m->prov_nevents);
  if (!m->prov_index || !m->prov_nevents) { man_err(err, cap, m->file, 0, "out of memory"); return -1; }
  size_t i = 0;
  for (mprov *p = m->provs; p; p = p->next, i++) {
    tlg_guid g;
    if (tlg_guid_parse(p->guid, strlen(p->guid), &g) != 0) {
      man_err(err, cap, m->file, p->line, "provider '%s': guid '%s' is not a GUID", p->name,
              p->guid);
      return -1;
    }
    memcpy(p->guid_b, g.b, 16);
    m->prov_index[i] = p;
    size_t before = m->nevents;
    for (mevent *e = p->events; e; e = e->next)
      if (compile_event(m, p, e, err, cap) < 0) return -1;
    m->prov_nevents[i] = m->nevents - before;
  }
  return 0;
}
