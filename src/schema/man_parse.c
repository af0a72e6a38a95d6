/*
** man_parse.c: instrumentation manifest XML -> the model of man_int.h, with
** expat. Reads instrumentationManifest (also inside an assembly wrapper):
** each instrumentation/events/provider with its events, tasks (+ their
** opcodes), opcodes, levels, keywords, channels, maps and templates, and
** localization/resources/stringTable. Everything else (counters, UserData
** samples in templates, ...) is skipped. Entity declarations and external
** entities are refused, so no input expands beyond its own size.
*/
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "man_int.h"

typedef struct pstate {
  XML_Parser p;
  schema_man *m;
  char *err;
  size_t cap;
  int failed;
  int depth;                       /* elements open */
  const char *stack[SCHEMA_MAX_DEPTH + 1];   /* their local names (arena) */
  mprov *prov;                     /* the provider being read */
  mnamed *task;                    /* inside <task> */
  mmap *map;                       /* inside <valueMap>/<bitMap> */
  mtemplate *tpl;                  /* inside <template> */
  mdata *st;                       /* innermost open <struct> of the template */
  int st_depth;
  int st_at[SCHEMA_MAX_STRUCT + 2], tpl_at, task_at, map_at, prov_at;   /* element depths */
  size_t nevents;
} pstate;

static void fail(pstate *s, const char *fmt, const char *a, const char *b) {
  if (s->failed) return;
  s->failed = 1;
  char msg[400];
  snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
  man_err(s->err, s->cap, s->m->file, (unsigned long)XML_GetCurrentLineNumber(s->p), "%s", msg);
  XML_StopParser(s->p, XML_FALSE);
}

static const char *local(const char *n) {
  const char *c = strrchr(n, ':');
  return c ? c + 1 : n;
}

static const char *attr(const XML_Char **a, const char *name) {
  for (; a[0]; a += 2)
    if (strcmp(local(a[0]), name) == 0) return a[1];
  return NULL;
}

/* attribute copied into the arena (NULL when absent) */
static const char *dup_attr(pstate *s, const XML_Char **a, const char *name) {
  const char *v = attr(a, name);
  if (!v) return NULL;
  const char *d = ar_strdup(&s->m->ar, v);
  if (!d) fail(s, "out of memory%s%s", NULL, NULL);
  return d;
}

static void *alloc(pstate *s, size_t n) {
  void *p = ar_alloc(&s->m->ar, n);
  if (!p) fail(s, "out of memory%s%s", NULL, NULL);
  return p;
}

static const char *parent(const pstate *s, int up) {
  return s->depth - up >= 1 ? s->stack[s->depth - up] : "";
}

#define APPEND(first, last, x) \
  do { if (last) (last)->next = (x); else (first) = (x); (last) = (x); } while (0)

static mnamed *named(pstate *s, const XML_Char **a, const char *value_attr) {
  mnamed *n = alloc(s, sizeof *n);
  if (!n) return NULL;
  n->name = dup_attr(s, a, "name");
  n->msg = dup_attr(s, a, "message");
  n->line = (uint32_t)XML_GetCurrentLineNumber(s->p);
  const char *v = attr(a, value_attr);
  if (v) {
    if (man_number(v, &n->value) < 0) {
      fail(s, "'%s' is not a number (%s)", v, value_attr);
      return NULL;
    }
    n->has_value = 1;
  }
  if (!n->name) { fail(s, "<%s> without a name", local(s->stack[s->depth]), NULL); return NULL; }
  return n;
}

static void start_provider(pstate *s, const XML_Char **a) {
  mprov *p = alloc(s, sizeof *p);
  if (!p) return;
  p->name = dup_attr(s, a, "name");
  p->guid = dup_attr(s, a, "guid");
  p->symbol = dup_attr(s, a, "symbol");
  p->message = dup_attr(s, a, "message");
  p->line = (uint32_t)XML_GetCurrentLineNumber(s->p);
  if (!p->name || !p->guid) { fail(s, "<provider> needs a name and a guid%s%s", NULL, NULL); return; }
  APPEND(s->m->provs, s->m->provs_last, p);
  s->m->nprovs++;
  s->prov = p;
  s->prov_at = s->depth;
}

static void start_event(pstate *s, const XML_Char **a) {
  if (++s->nevents > SCHEMA_MAX_EVENTS) {
    fail(s, "more than 100000 events in one manifest%s%s", NULL, NULL);
    return;
  }
  mevent *e = alloc(s, sizeof *e);
  if (!e) return;
  e->value = dup_attr(s, a, "value");
  e->version = dup_attr(s, a, "version");
  e->task = dup_attr(s, a, "task");
  e->opcode = dup_attr(s, a, "opcode");
  e->level = dup_attr(s, a, "level");
  e->keywords = dup_attr(s, a, "keywords");
  e->channel = dup_attr(s, a, "channel");
  e->tmpl = dup_attr(s, a, "template");
  e->symbol = dup_attr(s, a, "symbol");
  e->message = dup_attr(s, a, "message");
  e->name = dup_attr(s, a, "name");
  e->line = (uint32_t)XML_GetCurrentLineNumber(s->p);
  if (!e->value) { fail(s, "<event> without a value (its id)%s%s", NULL, NULL); return; }
  APPEND(s->prov->events, s->prov->events_last, e);
  s->prov->nevents++;
}

static void start_data(pstate *s, const XML_Char **a, int is_struct) {
  mdata *d = alloc(s, sizeof *d);
  if (!d) return;
  if (++s->tpl->nprops > SCHEMA_MAX_PROPS) {
    fail(s, "template '%s' has more than 4096 fields%s", s->tpl->tid, NULL);
    return;
  }
  d->name = dup_attr(s, a, "name");
  d->intype = dup_attr(s, a, "inType");
  d->outtype = dup_attr(s, a, "outType");
  d->map = dup_attr(s, a, "map");
  d->length = dup_attr(s, a, "length");
  d->count = dup_attr(s, a, "count");
  d->is_struct = is_struct;
  d->line = (uint32_t)XML_GetCurrentLineNumber(s->p);
  d->parent = s->st;
  if (!d->name) { fail(s, "<%s> in template '%s' without a name", is_struct ? "struct" : "data", s->tpl->tid); return; }
  if (!is_struct && !d->intype) { fail(s, "<data name=\"%s\"> without an inType%s", d->name, NULL); return; }
  if (s->st) { APPEND(s->st->first, s->st->last, d); s->st->nmembers++; }
  else APPEND(s->tpl->first, s->tpl->last, d);
  if (is_struct) {
    if (++s->st_depth > SCHEMA_MAX_STRUCT) {
      fail(s, "structs nested deeper than 8 (struct '%s')%s", d->name, NULL);
      return;
    }
    s->st = d;
    s->st_at[s->st_depth] = s->depth;
  }
}

/* elements inside the current provider */
static void start_in_provider(pstate *s, const char *n, const XML_Char **a) {
  const char *up = parent(s, 1), *up2 = parent(s, 2);
  mprov *p = s->prov;
  mnamed *x;
  if (s->tpl) {
    /* template content: data and struct (in the template or a struct of it) */
    int in_fields = strcmp(up, "template") == 0 || (s->st && strcmp(up, "struct") == 0);
    if (in_fields && strcmp(n, "data") == 0) start_data(s, a, 0);
    else if (in_fields && strcmp(n, "struct") == 0) start_data(s, a, 1);
    return;
  }
  if (strcmp(n, "event") == 0 && strcmp(up, "events") == 0) start_event(s, a);
  else if (strcmp(n, "template") == 0 && strcmp(up, "templates") == 0) {
    mtemplate *t = alloc(s, sizeof *t);
    if (!t) return;
    t->tid = dup_attr(s, a, "tid");
    t->line = (uint32_t)XML_GetCurrentLineNumber(s->p);
    if (!t->tid) { fail(s, "<template> without a tid%s%s", NULL, NULL); return; }
    APPEND(p->templates, p->templates_last, t);
    s->tpl = t;
    s->tpl_at = s->depth;
  } else if (strcmp(n, "task") == 0 && strcmp(up, "tasks") == 0) {
    if ((x = named(s, a, "value"))) { APPEND(p->tasks, p->tasks_last, x); s->task = x; s->task_at = s->depth; }
  } else if (strcmp(n, "opcode") == 0 && strcmp(up, "opcodes") == 0) {
    if (!(x = named(s, a, "value"))) return;
    if (s->task && strcmp(up2, "task") == 0) APPEND(s->task->sub, s->task->sub_last, x);
    else APPEND(p->opcodes, p->opcodes_last, x);
  } else if (strcmp(n, "level") == 0 && strcmp(up, "levels") == 0) {
    if ((x = named(s, a, "value"))) APPEND(p->levels, p->levels_last, x);
  } else if (strcmp(n, "keyword") == 0 && strcmp(up, "keywords") == 0) {
    if ((x = named(s, a, "mask"))) APPEND(p->keywords, p->keywords_last, x);
  } else if ((strcmp(n, "channel") == 0 || strcmp(n, "importChannel") == 0) &&
             strcmp(up, "channels") == 0) {
    if (!(x = named(s, a, "value"))) return;
    const char *chid = attr(a, "chid");
    if (chid && !(x->name = ar_strdup(&s->m->ar, chid))) { fail(s, "out of memory%s%s", NULL, NULL); return; }
    APPEND(p->channels, p->channels_last, x);
  } else if ((strcmp(n, "valueMap") == 0 || strcmp(n, "bitMap") == 0) && strcmp(up, "maps") == 0) {
    mmap *mp = alloc(s, sizeof *mp);
    if (!mp) return;
    mp->name = dup_attr(s, a, "name");
    mp->bitmap = n[0] == 'b';
    mp->line = (uint32_t)XML_GetCurrentLineNumber(s->p);
    if (!mp->name) { fail(s, "<%s> without a name%s", n, NULL); return; }
    APPEND(p->maps, p->maps_last, mp);
    s->map = mp;
    s->map_at = s->depth;
  } else if (strcmp(n, "map") == 0 && s->map) {
    mmapent *e = alloc(s, sizeof *e);
    if (!e) return;
    const char *v = attr(a, "value");
    if (!v || man_number(v, &e->value) < 0) { fail(s, "<map> value '%s' is not a number%s", v ? v : "", NULL); return; }
    e->msg = dup_attr(s, a, "message");
    APPEND(s->map->first, s->map->last, e);
    s->map->n++;
  }
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **a) {
  pstate *s = ud;
  if (s->failed) return;
  if (s->depth >= SCHEMA_MAX_DEPTH) {
    fail(s, "elements nested deeper than 64%s%s", NULL, NULL);
    return;
  }
  const char *n = local(name);
  const char *copy = ar_strdup(&s->m->ar, n);
  if (!copy) { fail(s, "out of memory%s%s", NULL, NULL); return; }
  s->stack[++s->depth] = copy;
  const char *up = parent(s, 1), *up2 = parent(s, 2);
  if (s->depth == 1 && strcmp(n, "instrumentationManifest") != 0 && strcmp(n, "assembly") != 0) {
    fail(s, "the root element is <%s>, not <instrumentationManifest> (or <assembly>)", n, NULL);
    return;
  }
  if (s->prov) { start_in_provider(s, n, a); return; }
  if (strcmp(n, "provider") == 0 && strcmp(up, "events") == 0 && strcmp(up2, "instrumentation") == 0)
    start_provider(s, a);
  else if (strcmp(n, "string") == 0 && strcmp(up, "stringTable") == 0) {
    mstring *st = alloc(s, sizeof *st);
    if (!st) return;
    st->id = dup_attr(s, a, "id");
    st->value = dup_attr(s, a, "value");
    if (!st->id || !st->value) { fail(s, "<string> needs an id and a value%s%s", NULL, NULL); return; }
    APPEND(s->m->strings, s->m->strings_last, st);
  }
}

static void XMLCALL on_end(void *ud, const XML_Char *name) {
  pstate *s = ud;
  (void)name;
  if (s->failed || s->depth < 1) return;
  /* each context ends with the element that opened it (by depth, so
  ** same-named elements of skipped content never close it) */
  if (s->st && s->depth == s->st_at[s->st_depth]) { s->st = s->st->parent; s->st_depth--; }
  else if (s->tpl && s->depth == s->tpl_at) s->tpl = NULL;
  else if (s->task && s->depth == s->task_at) s->task = NULL;
  else if (s->map && s->depth == s->map_at) s->map = NULL;
  else if (s->prov && s->depth == s->prov_at) s->prov = NULL;
  s->depth--;
}

/* Entity declarations are refused outright: no expansion, internal or external. */
static void XMLCALL on_entity(void *ud, const XML_Char *name, int pe, const XML_Char *v, int vlen,
                              const XML_Char *base, const XML_Char *sys, const XML_Char *pub,
                              const XML_Char *notation) {
  (void)pe; (void)v; (void)vlen; (void)base; (void)sys; (void)pub; (void)notation;
  fail(ud, "entity declarations are not accepted (entity '%s')%s", name, NULL);
}

static int XMLCALL on_external(XML_Parser p, const XML_Char *ctx, const XML_Char *base,
                               const XML_Char *sys, const XML_Char *pub) {
  (void)p; (void)ctx; (void)base; (void)sys; (void)pub;
  return XML_STATUS_ERROR;
}

static void free_man(schema_man *m) {
  if (!m) return;
  for (mprov *p = m->provs; p; p = p->next)
    for (mtemplate *t = p->templates; t; t = t->next) free(t->body);
  for (size_t i = 0; i < m->nevents; i++) free(m->events[i].owned);
  free(m->events);
  free(m->prov_index);
  free(m->prov_nevents);
  ntab_free(&m->names);
  ar_free(&m->ar);
  free(m);
}

void schema_man_free(schema_man *m) { free_man(m); }

int schema_man_parse(const char *name, const void *xml, size_t len, schema_man **out, char *err,
                     size_t cap) {
  *out = NULL;
  if (cap) err[0] = 0;
  if (len > SCHEMA_MAX_FILE || len > (size_t)INT32_MAX) {
    man_err(err, cap, name, 0, "larger than 64 MiB");
    return -1;
  }
  schema_man *m = calloc(1, sizeof *m);
  if (!m) { man_err(err, cap, name, 0, "out of memory"); return -1; }
  m->file = ar_strdup(&m->ar, name);
  XML_Parser p = XML_ParserCreate(NULL);
  if (!m->file || !p) {
    if (p) XML_ParserFree(p);
    free_man(m);
    man_err(err, cap, name, 0, "out of memory");
    return -1;
  }
  pstate s;
  memset(&s, 0, sizeof s);
  s.p = p;
  s.m = m;
  s.err = err;
  s.cap = cap;
  XML_SetUserData(p, &s);
  XML_SetElementHandler(p, on_start, on_end);
  XML_SetEntityDeclHandler(p, on_entity);
  XML_SetExternalEntityRefHandler(p, on_external);
  XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
  enum XML_Status st = XML_Parse(p, xml, (int)len, 1);
  if (st != XML_STATUS_OK && !s.failed) {
    man_err(err, cap, name, (unsigned long)XML_GetCurrentLineNumber(p), "not well-formed XML: %s",
            XML_ErrorString(XML_GetErrorCode(p)));
    s.failed = 1;
  }
  XML_ParserFree(p);
  if (!s.failed && !m->provs) {
    man_err(err, cap, name, 1, "no instrumentation/events/provider element");
    s.failed = 1;
  }
  if (s.failed || man_compile(m, err, cap) < 0) {
    free_man(m);
    return -1;
  }
  *out = m;
  return 0;
}

int schema_man_parse_file(const char *path, schema_man **out, char *err, size_t cap) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) { man_err(err, cap, path, 0, "cannot open"); return -1; }
  size_t n = 0, c = 65536;
  char *buf = malloc(c);
  for (;;) {
    if (!buf) { fclose(f); man_err(err, cap, path, 0, "out of memory"); return -1; }
    n += fread(buf + n, 1, c - n, f);
    if (n < c) break;
    if (c > SCHEMA_MAX_FILE) { free(buf); fclose(f); man_err(err, cap, path, 0, "larger than 64 MiB"); return -1; }
    char *nb = realloc(buf, c * 2);
    if (!nb) free(buf);
    buf = nb;
    c *= 2;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) { free(buf); man_err(err, cap, path, 0, "cannot read"); return -1; }
  int rc = schema_man_parse(path, buf, n, out, err, cap);
  free(buf);
  return rc;
}

size_t schema_man_provider_count(const schema_man *m) { return m ? m->nprovs : 0; }

void schema_man_provider(const schema_man *m, size_t i, const char **name, const uint8_t **guid,
                         size_t *nevents) {
  mprov *p = m->prov_index[i];
  *name = p->name;
  *guid = p->guid_b;
  *nevents = m->prov_nevents[i];
}

size_t schema_man_event_count(const schema_man *m) { return m ? m->nevents : 0; }
const schema_event *schema_man_event(const schema_man *m, size_t i) { return &m->events[i]; }
