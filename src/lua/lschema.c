/*
** lschema.c: manifest schemas in Lua: one registry per Lua state (shared by
** its consumers; ETWLUA_MANIFEST_PATH loaded into it on first use),
** etw.load_manifest(path), and the record source wrapper that points each
** manifest record (EVENT_HEADER, no TraceLogging metadata, no TDH schema)
** at its compiled schema, so levent.c decodes it as it decodes Windows TDH
** events. Lookup order for a record (attach()): the manifests loaded; the
** EventSource manifests the consumer's own input carried (event 0xFFFE,
** put together by sch_es.c, compiled by the manifest loader into the
** consumer's registry); the kernel MOF table for classic / system /
** perfinfo records.
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lauxetw.h"
#include "lschema.h"
#include "schema.h"
#include "sch_es.h"
#include "engine.h"
#include "tlg_guid.h"

#define REG_KEY "etwlua.schema"
#define MAX_FILES 4096            /* manifests of one load (a directory) */

#ifdef _WIN32
#define PATH_LIST_SEP ';'
#else
#define PATH_LIST_SEP ':'
#endif

/* The state's schemas: loaded manifests, and the built-in kernel MOF table
** (compiled when the first kernel record arrives: about 9 M instructions a
** script that reads no Windows kernel trace should not pay). */
typedef struct lreg {
  schema_reg *r;
  schema_reg *kernel;
  int kernel_failed;             /* out of memory once: kernel records stay unnamed */
} lreg;

/* One consumer's schemas: the state's, and what its own input carried
** (made on the first EventSource manifest record; freed with the consumer,
** which is safe: an event copies its schema blob). */
struct etwL_schemas {
  lreg *g;
  sch_es *es;                    /* EventSource manifest chunks in flight */
  schema_reg *trace;             /* EventSource manifests compiled */
};

static int reg_gc(lua_State *L) {
  lreg *g = lua_touserdata(L, 1);
  schema_reg_free(g->r);
  schema_reg_free(g->kernel);
  g->r = g->kernel = NULL;
  return 0;
}

/* ---- loading ---- */

typedef struct plist {
  char **p;
  size_t n, cap;
} plist;

static int plist_add(plist *l, const char *s, size_t n) {
  if (l->n >= MAX_FILES) return -1;
  if (l->n == l->cap) {
    size_t c = l->cap ? l->cap * 2 : 16;
    char **np = realloc(l->p, c * sizeof *np);
    if (!np) return -1;
    l->p = np;
    l->cap = c;
  }
  char *c = malloc(n + 1);
  if (!c) return -1;
  memcpy(c, s, n);
  c[n] = 0;
  l->p[l->n++] = c;
  return 0;
}

static void plist_free(plist *l) {
  for (size_t i = 0; i < l->n; i++) free(l->p[i]);
  free(l->p);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_man(const char *s) {
  size_t n = strlen(s);
  return n > 4 && (strcmp(s + n - 4, ".man") == 0 || strcmp(s + n - 4, ".MAN") == 0);
}

/* path -> files: itself, or a directory's *.man by name. ENG_OK or a
** status with the reason pushed. */
static int path_stat(lua_State *L, const char *path, struct stat *st) {
  /* "dir/": Windows' stat refuses a trailing separator, so ask without it */
  size_t n = strlen(path);
  while (n > 1 && (path[n - 1] == '/' || path[n - 1] == '\\') && path[n - 2] != ':') n--;
  lua_pushlstring(L, path, n);
  int rc = stat(lua_tostring(L, -1), st);
  lua_pop(L, 1);
  return rc;
}

static int expand(lua_State *L, const char *path, plist *out) {
  struct stat st;
  if (path_stat(L, path, &st) != 0) {
    lua_pushfstring(L, "%s: no such manifest file or directory", path);
    return ENG_E_NOTFOUND;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (plist_add(out, path, strlen(path)) < 0) { lua_pushfstring(L, "%s: too many manifests", path); return ENG_E_ARG; }
    return ENG_OK;
  }
  DIR *d = opendir(path);
  if (!d) { lua_pushfstring(L, "%s: cannot list the directory", path); return ENG_E_ACCESS; }
  size_t first = out->n, plen = strlen(path);
  int sep = plen && (path[plen - 1] == '/' || path[plen - 1] == '\\');
  struct dirent *e;
  int st_rc = ENG_OK;
  while ((e = readdir(d))) {
    if (!ends_man(e->d_name)) continue;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, path);
    if (!sep) luaL_addchar(&b, '/');
    luaL_addstring(&b, e->d_name);
    luaL_pushresult(&b);
    size_t n;
    const char *full = lua_tolstring(L, -1, &n);
    int bad = plist_add(out, full, n);
    lua_pop(L, 1);
    if (bad) { st_rc = ENG_E_ARG; break; }
  }
  closedir(d);
  if (st_rc != ENG_OK) { lua_pushfstring(L, "%s: more than %d manifests", path, MAX_FILES); return st_rc; }
  qsort(out->p + first, out->n - first, sizeof *out->p, by_name);
  return ENG_OK;
}

static schema_reg *reg_with_env(lua_State *L, int *st);

/* Parse every file, then add them all (nothing is added when one fails).
** Pushes the provider list. */
static int load_files(lua_State *L, schema_reg *r, const plist *files) {
  schema_man **m = calloc(files->n ? files->n : 1, sizeof *m);
  if (!m) { lua_pushliteral(L, "out of memory"); return ENG_E_NOMEM; }
  char err[700];
  for (size_t i = 0; i < files->n; i++) {
    if (schema_man_parse_file(files->p[i], &m[i], err, sizeof err) < 0) {
      for (size_t k = 0; k < i; k++) schema_man_free(m[k]);
      free(m);
      lua_pushstring(L, err);
      return ENG_E_CORRUPT;
    }
  }
  lua_newtable(L);
  lua_Integer np = 0;
  int rc = ENG_OK;
  for (size_t i = 0; i < files->n; i++) {
    for (size_t k = 0; k < schema_man_provider_count(m[i]); k++) {
      const char *name;
      const uint8_t *guid;
      size_t nev;
      schema_man_provider(m[i], k, &name, &guid, &nev);
      tlg_guid g;
      char gt[TLG_GUID_TEXT];
      memcpy(g.b, guid, 16);
      tlg_guid_format(&g, gt);
      lua_createtable(L, 0, 4);
      lua_pushstring(L, name);
      lua_setfield(L, -2, "name");
      lua_pushstring(L, gt);
      lua_setfield(L, -2, "id");
      lua_pushinteger(L, (lua_Integer)nev);
      lua_setfield(L, -2, "events");
      lua_pushstring(L, files->p[i]);
      lua_setfield(L, -2, "file");
      lua_rawseti(L, -2, ++np);
    }
    char warn[1200];
    if (rc == ENG_OK && schema_reg_add(r, m[i], files->p[i], warn, sizeof warn) == 0) {
      m[i] = NULL;
      if (warn[0]) lua_writestringerror("etwlua: warning: %s\n", warn);
    } else {
      rc = ENG_E_NOMEM;
    }
    schema_man_free(m[i]);
  }
  free(m);
  if (rc != ENG_OK) { lua_pop(L, 1); lua_pushliteral(L, "out of memory"); }
  return rc;
}

int etwL_schema_load(lua_State *L, int idx, const char *what) {
  idx = lua_absindex(L, idx);
  plist files = {0};
  int st = ENG_OK;
  if (lua_type(L, idx) == LUA_TSTRING) {
    st = expand(L, lua_tostring(L, idx), &files);
  } else if (lua_type(L, idx) == LUA_TTABLE) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {          /* misuse first, before any file */
      if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
        return luaL_error(L, "%s: item %d is not a path (a string)", what, (int)i);
      lua_pop(L, 1);
    }
    for (lua_Integer i = 1; i <= n && st == ENG_OK; i++) {
      lua_rawgeti(L, idx, i);
      st = expand(L, lua_tostring(L, -1), &files);
      if (st == ENG_OK) lua_pop(L, 1);
      else lua_remove(L, -2);
    }
  } else {
    plist_free(&files);
    return luaL_error(L, "%s must be a path or a list of paths (manifest files or directories)", what);
  }
  if (st == ENG_OK) {
    schema_reg *r = reg_with_env(L, &st);      /* ETWLUA_MANIFEST_PATH's first: these win */
    if (st == ENG_OK && !r) st = ENG_E_NOMEM, lua_pushliteral(L, "out of memory");
    else if (st == ENG_OK) st = load_files(L, r, &files);
  }
  plist_free(&files);
  return st;
}

/* The state's registry (created on first use, with ETWLUA_MANIFEST_PATH
** loaded into it: a failure there is reported once, by the call that made
** the registry). */
static lreg *state_reg(lua_State *L, int *created) {
  *created = 0;
  if (lua_getfield(L, LUA_REGISTRYINDEX, REG_KEY) == LUA_TUSERDATA) {
    lreg *g = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return g;
  }
  lua_pop(L, 1);
  lreg *g = lua_newuserdatauv(L, sizeof *g, 0);
  g->r = schema_reg_new();
  g->kernel = NULL;
  g->kernel_failed = 0;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, reg_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, REG_KEY);
  *created = 1;
  return g;
}

/* ETWLUA_MANIFEST_PATH=dir1:dir2 (Windows: ';'), loaded once per state;
** entries that do not exist are skipped, as PATH's are. */
static int load_env(lua_State *L) {
  const char *env = getenv("ETWLUA_MANIFEST_PATH");
  if (!env || !*env) return ENG_OK;
  lua_newtable(L);
  lua_Integer n = 0;
  for (const char *s = env; *s;) {
    size_t k = strcspn(s, (char[]){PATH_LIST_SEP, 0});
    struct stat st;
    lua_pushlstring(L, s, k);
    int exists = k && path_stat(L, lua_tostring(L, -1), &st) == 0;   /* like PATH: missing entries skipped */
    lua_pop(L, 1);
    if (exists) {
      lua_pushlstring(L, s, k);
      lua_rawseti(L, -2, ++n);
    }
    s += k;
    if (*s) s++;
  }
  int st = etwL_schema_load(L, -1, "ETWLUA_MANIFEST_PATH");
  if (st != ENG_OK) {
    lua_pushfstring(L, "ETWLUA_MANIFEST_PATH: %s", lua_tostring(L, -1));
    lua_replace(L, -3);
    lua_pop(L, 1);
    return st;
  }
  lua_pop(L, 2);
  return ENG_OK;
}

static lreg *state_with_env(lua_State *L, int *st) {
  int created;
  *st = ENG_OK;
  lreg *g = state_reg(L, &created);
  if (created) *st = load_env(L);
  return g;
}

static schema_reg *reg_with_env(lua_State *L, int *st) {
  return state_with_env(L, st)->r;
}

/* ---- schemas for consumers ---- */

/* An EventSource manifest chunk (event 0xFFFE, opcode 254): kept, and once
** the manifest is whole, compiled into the consumer's registry, so the
** provider's later events decode by it. A broken manifest is one warning
** per provider (reading goes on; its events stay NO_SCHEMA). */
static void es_warn(const rec_record *rec, const char *what) {
  char g[TLG_GUID_TEXT];
  tlg_guid_format(&rec->provider_id, g);
  lua_writestringerror("etwlua: warning: the EventSource manifest of provider %s in the trace: ", g);
  lua_writestringerror("%s; its events stay undecoded (NO_SCHEMA)\n", what);
}

/* The manifest record itself decodes as TraceEvent shows it (ManifestData:
** the envelope's fields; the XML stays in ev.payload). Its schema is a
** small manifest compiled once per provider and version; the provider name
** is the one its manifest gave, else the well-known one, else the GUID. */
static void es_envelope_schema(struct etwL_schemas *s, const rec_record *rec, const char *pname) {
  uint32_t len;
  if (schema_reg_find(s->trace, rec->provider_id.b, SCH_ES_EVENT_ID, rec->desc.version, &len))
    return;
  char g[TLG_GUID_TEXT], xml[1400], err[300];
  tlg_guid_format(&rec->provider_id, g);
  if (!pname) pname = schema_provider_name(rec->provider_id.b);
  if (!pname || strpbrk(pname, "<>&\"'")) pname = g;
  int n = snprintf(xml, sizeof xml,
    "<instrumentationManifest><instrumentation><events>"
    "<provider name='%s' guid='{%s}'><tasks><task name='ManifestData' value='65534'/></tasks>"
    "<templates><template tid='E'><data name='Format' inType='win:UInt8'/>"
    "<data name='MajorVersion' inType='win:UInt8'/><data name='MinorVersion' inType='win:UInt8'/>"
    "<data name='Magic' inType='win:UInt8'/><data name='TotalChunks' inType='win:UInt16'/>"
    "<data name='ChunkNumber' inType='win:UInt16'/></template></templates>"
    "<events><event value='65534' version='%u' task='ManifestData' template='E'/></events>"
    "</provider></events></instrumentation></instrumentationManifest>",
    pname, g, (unsigned)rec->desc.version);
  schema_man *m;
  char warn[8];
  if (n <= 0 || (size_t)n >= sizeof xml || schema_man_parse("ManifestData", xml, (size_t)n, &m, err, sizeof err) < 0)
    return;
  if (schema_reg_add(s->trace, m, "ManifestData", warn, sizeof warn) < 0) schema_man_free(m);
}

static void es_manifest(struct etwL_schemas *s, const rec_record *rec) {
  char err[600];
  if (!s->es) s->es = sch_es_new();
  if (!s->trace) s->trace = schema_reg_new();
  if (!s->es || !s->trace) { es_warn(rec, "out of memory"); return; }
  const uint8_t *xml;
  size_t len;
  int rc = sch_es_add(s->es, rec->provider_id.b, rec->data, rec->data ? rec->data_len : 0, &xml,
                      &len, err, sizeof err);
  if (rc == SCH_ES_ERROR) es_warn(rec, err);
  if (rc != SCH_ES_DONE) { es_envelope_schema(s, rec, NULL); return; }
  char name[80], g[TLG_GUID_TEXT];
  tlg_guid_format(&rec->provider_id, g);
  snprintf(name, sizeof name, "EventSource manifest of %s", g);
  schema_man *m;
  if (schema_man_parse(name, xml, len, &m, err, sizeof err) < 0) {
    es_warn(rec, err);
    es_envelope_schema(s, rec, NULL);
    return;
  }
  const char *pname = NULL;
  for (size_t i = 0; i < schema_man_provider_count(m); i++) {
    const char *nm;
    const uint8_t *pg;
    size_t nev;
    schema_man_provider(m, i, &nm, &pg, &nev);
    if (memcmp(pg, rec->provider_id.b, 16) == 0) pname = nm;
  }
  es_envelope_schema(s, rec, pname);   /* before the add: pname lives in m */
  char warn[8];                  /* a resent, changed manifest replaces the old: no warning */
  if (schema_reg_add(s->trace, m, name, warn, sizeof warn) < 0) {
    schema_man_free(m);
    es_warn(rec, "out of memory");
  }
}

static int es_record(const rec_record *rec) {
  return rec->header_kind == REC_HDR_EVENT && !rec->meta && rec->desc.id == SCH_ES_EVENT_ID &&
         rec->desc.opcode == SCH_ES_OPCODE;
}

/* A schema for the record, when it has none of its own: a manifest's (one
** loaded, else one the input carried) for EVENT_HEADER records, the kernel
** table's (by type, that is opcode) for classic / system / perfinfo
** records. */
void etwL_schema_attach(struct etwL_schemas *s, rec_record *rec) {
  /* a TraceLogging event has its schema, and no EventSource manifest has
  ** metadata (es_record): the common case first, before anything else */
  if (rec->meta || !s || rec->kind != REC_KIND_EVENT) return;
  if (es_record(rec)) es_manifest(s, rec);
  if (rec->meta || rec->tdh_info || rec->header_kind == REC_HDR_NONE ||
      rec->header_kind == REC_HDR_MESSAGE)
    return;
  lreg *g = s->g;
  uint32_t len;
  const uint8_t *b;
  uint32_t stat = REC_TDH_STATIC;   /* the state's schemas outlive every event */
  if (rec->header_kind == REC_HDR_EVENT) {
    b = schema_reg_find(g->r, rec->provider_id.b, rec->desc.id, rec->desc.version, &len);
    if (!b && s->trace) {           /* freed with the consumer: events copy these */
      b = schema_reg_find(s->trace, rec->provider_id.b, rec->desc.id, rec->desc.version, &len);
      stat = 0;
    }
  } else {
    if (!g->kernel && !g->kernel_failed) {
      char err[256];
      g->kernel = schema_kernel_reg(err, sizeof err);
      g->kernel_failed = !g->kernel;
    }
    b = schema_kernel_find(g->kernel, rec->provider_id.b, rec->desc.opcode, rec->desc.version,
                           &len);
  }
  if (b) {
    rec->tdh_info = b;
    rec->tdh_info_len = len;
    rec->flags |= stat;
  }
}

int etwL_schema_for(lua_State *L, struct etwL_schemas **out) {
  int st;
  lreg *g = state_with_env(L, &st);
  *out = NULL;
  if (st != ENG_OK) return st;
  if (!g->r) {
    lua_pushliteral(L, "out of memory");
    return ENG_E_NOMEM;
  }
  struct etwL_schemas *s = calloc(1, sizeof *s);
  if (!s) {
    lua_pushliteral(L, "out of memory");
    return ENG_E_NOMEM;
  }
  s->g = g;
  *out = s;
  return ENG_OK;
}

void etwL_schema_close(struct etwL_schemas *s) {
  if (!s) return;
  sch_es_free(s->es);
  schema_reg_free(s->trace);
  free(s);
}

/* ---- etw.load_manifest ---- */

/* etw.load_manifest(path | {paths}) -> list of {name=, id=, events=, file=}
** for the providers defined; or nil, "CODE: FILE:LINE: rule", "CODE"
** (NOTFOUND, CORRUPT: does not parse). Manifests apply to every consumer
** of this Lua state made afterwards. */
static int l_load_manifest(lua_State *L) {
  luaL_checkany(L, 1);
  int st;
  reg_with_env(L, &st);
  if (st == ENG_OK) st = etwL_schema_load(L, 1, "etw.load_manifest: argument 1");
  if (st != ENG_OK) return etwL_pushengfail_detail(L, st, lua_tostring(L, -1));
  return 1;
}

void etwL_open_schema(lua_State *L) {
  lua_pushcfunction(L, l_load_manifest);
  lua_setfield(L, -2, "load_manifest");
}
