/*
** levent_tdh.c: ev.fields of manifest and MOF events: the walk of their
** TDH schema (src/schema/sch_tdh_walk.c), each value converted by
** sch_tdh_fmt.c and pushed as levent.c pushes TraceLogging values, into the
** same table shape (sequence, record, ordered pairs).
**
** How it is made fast: the names of a schema's top level are made once
** into a "shape" (cached in the registry, keyed by the schema bytes): the
** fields metatable (names as Lua strings, shared by every event of that
** schema) and the property index at each position. An event then pays for
** its table and values only. A flat schema also gets a plan
** (sch_tdh_plan.c): its events' values are located without the walk and
** pushed under the shape's names. The first event of a schema, and any
** event whose walk visits other properties than the shape lists (the walk
** checks each), take the slow path, which names every field itself; the
** elements of a struct array share the names metatable of the first one
** walked whole (cached per struct property).
*/
#include <string.h>

#include "lauxetw.h"
#include "levent_tdh.h"
#include "tlg_hash.h"
#include "tlg_le.h"

#define MAX_FRAMES 40            /* the walker nests at most 16 structs, each maybe in an array */
static const char shapes_key;   /* its address: the registry key of the cache */
#define SHAPES_MAX 4096          /* schemas whose shapes are kept; then the cache starts over */
#define SHAPES_BYTES (16 * 1024 * 1024)

typedef struct lframe {
  int c, mt;            /* stack slots of the container and its names metatable (0: array) */
  int shared;           /* mt is the struct's cached one: names come from it, it is not changed */
  uint32_t members;     /* struct members (0 at the top level) */
  lua_Integer n;        /* values added (struct) */
  int in_array;         /* this container is an element of the parent array */
  uint32_t index, prop;
  char name[SCH_TDH_NAME_MAX];
} lframe;

typedef struct lctx {
  lua_State *L;
  const sch_tdh_event *t;
  lframe f[MAX_FRAMES];
  int top;
  int props;            /* slow: stack slot of the table position -> property index being recorded */
  const char *pidx;     /* fast: the shape's property index at each top-level position (u32s) */
  size_t npidx;
  int fast;             /* the top level takes its names from the shape */
  int dups;             /* a name repeats at the top level (fast: the shape's; slow: seen so far) */
  int diverged;         /* fast: the walk left the shape; redo slowly */
  int entry;            /* stack slot of the schema's cache entry */
} lctx;

/* Members of the struct property of walker item w (its EVENT_PROPERTY_INFO
** holds the count where a value's OutType would be; the walker checked the
** property is in the schema); 0 at the top level. */
static uint32_t struct_members(const lctx *x, const sch_walk_item *w) {
  if (!w) return 0;
  return tlg_le16(x->t->tei + SCH_TEI_OFF_PROPS + (size_t)SCH_EPI_SIZE * w->prop + 10);
}

/* The names of a struct's members depend on its property only: the first
** element that was walked whole leaves its metatable in the cache entry
** (entry[5][prop]), and later elements, of this event or others of the
** schema, share it instead of naming every member again. Pushes it and
** returns 1, or returns 0 with nothing pushed. */
static int push_struct_mt(lctx *x, uint32_t prop) {
  lua_State *L = x->L;
  if (!x->entry || lua_rawgeti(L, x->entry, 5) != LUA_TTABLE) {
    lua_pop(L, 1);
    return 0;
  }
  if (lua_rawgeti(L, -1, (lua_Integer)prop) != LUA_TTABLE) {
    lua_pop(L, 2);
    return 0;
  }
  lua_remove(L, -2);
  return 1;
}

/* Keep the metatable of struct frame f, walked whole, for its property. */
static void keep_struct_mt(lctx *x, const lframe *f) {
  lua_State *L = x->L;
  if (!x->entry) return;
  if (lua_rawgeti(L, x->entry, 5) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawseti(L, x->entry, 5);
  }
  lua_pushvalue(L, f->mt);
  lua_rawseti(L, -2, (lua_Integer)f->prop);
  lua_pop(L, 1);
}

/* A struct that ended early (the payload ran out) under a shared
** metatable: give it its own, with the names of what it holds, as an
** unshared walk makes it. The container is on top. */
static void own_struct_mt(lua_State *L, const lframe *f) {
  lua_createtable(L, (int)(f->n < 256 ? f->n : 256), 3);
  etwL_fields_mt_finish(L);
  for (lua_Integer i = 1; i <= f->n; i++) {
    lua_rawgeti(L, f->mt, i);
    lua_rawseti(L, -2, i);
  }
  lua_pushinteger(L, f->n * 2 + 1);
  lua_rawseti(L, -2, 0);
  lua_setmetatable(L, -2);
}

/* Whether frame k takes its names from a metatable made before (the
** shape's at the top level, a cached struct's), so no name is needed. */
static int names_given(const lctx *x, int k) {
  return k >= 0 && ((k == 0 && x->fast) || x->f[k].shared);
}

/* into: the stack slot of an empty table to fill instead of a new one
** (the top level of a lazy ev.fields), else 0. */
static void open_container(lctx *x, int is_array, const sch_walk_item *w, int into) {
  lua_State *L = x->L;
  lframe *f = &x->f[++x->top];
  f->n = 0;
  f->in_array = x->top > 0 && x->f[x->top - 1].mt == 0;
  f->index = w ? w->index : 0;
  f->prop = w ? w->prop : 0;
  f->name[0] = 0;
  f->shared = 0;
  f->members = 0;
  if (w && !f->in_array && !names_given(x, x->top - 1)) {
    tlg_item tmp;
    sch_tdh_item(x->t, w, 0, &tmp, f->name);
  }
  if (is_array) {
    lua_createtable(L, w->count < 256 ? (int)w->count : 256, 0);
    f->c = lua_gettop(L);
    f->mt = 0;
    return;
  }
  f->members = struct_members(x, w);
  int members = f->members < 256 ? (int)f->members : 256;   /* sized: no rehash when filled */
  if (w && push_struct_mt(x, w->prop)) {
    f->shared = 1;
  } else {
    lua_createtable(L, members, 3);                   /* names: the metatable */
    etwL_fields_mt_finish(L);
  }
  f->mt = lua_gettop(L);
  if (into) lua_pushvalue(L, into);
  else lua_createtable(L, members, members);
  f->c = lua_gettop(L);
  lua_pushvalue(L, f->mt);
  lua_setmetatable(L, f->c);
}

/* Set container c's key (on top, below the value) unless the name was seen
** (then only the position); pops both. 1 if the name was seen. */
static int set_named(lua_State *L, int c, lua_Integer n, int dups) {
  if (dups) {
    lua_pushvalue(L, -1);
    if (lua_rawget(L, c) != LUA_TNIL) {              /* a name seen before: value only */
      lua_pop(L, 2);
      lua_rawseti(L, c, n);
      return 1;
    }
    lua_pop(L, 1);
  }
  lua_pushvalue(L, -2);
  lua_rawset(L, c);
  lua_rawseti(L, c, n);
  return 0;
}

/* The top level, fast: the value on top goes to position n, named by the
** shape, if the shape has property `prop` there. */
static int add_fast(lctx *x, uint32_t prop) {
  lua_State *L = x->L;
  lframe *f = &x->f[0];
  lua_Integer n = ++f->n;
  uint32_t want = 0;
  if ((size_t)n <= x->npidx) memcpy(&want, x->pidx + 4 * (size_t)(n - 1), 4);
  if ((size_t)n > x->npidx || want != prop) {
    x->diverged = 1;
    return 1;
  }
  lua_rawgeti(L, f->mt, n);                           /* v k */
  set_named(L, f->c, n, x->dups);
  return 0;
}

/* Add the value on top to frame f (by position in arrays, else by name too). */
static int add(lctx *x, lframe *f, const char *name, int in_array, uint32_t index, uint32_t prop) {
  lua_State *L = x->L;
  if (!f->mt || in_array) {
    lua_rawseti(L, f->c, (lua_Integer)index + 1);
    return 0;
  }
  if (f == x->f && x->fast) return add_fast(x, prop);
  lua_Integer n = ++f->n;
  if (f->shared) {                                    /* v k: named by the cached metatable */
    lua_rawgeti(L, f->mt, n);
    set_named(L, f->c, n, 1);
    return 0;
  }
  if (f == x->f && x->props) {                        /* recording the shape */
    lua_pushinteger(L, (lua_Integer)prop);
    lua_rawseti(L, x->props, n);
  }
  lua_pushstring(L, name);
  lua_pushvalue(L, -1);
  lua_rawseti(L, f->mt, n);                           /* the order, for pairs() */
  if (set_named(L, f->c, n, 1) && f == x->f) x->dups = 1;
  return 0;
}

static int close_container(lctx *x) {
  lua_State *L = x->L;
  lframe *f = &x->f[x->top];
  if (f->mt && f->shared) {
    if ((uint32_t)f->n != f->members) own_struct_mt(L, f);
  } else if (f->mt) {
    lua_pushinteger(L, f->n * 2 + 1);                 /* names may repeat */
    lua_rawseti(L, f->mt, 0);
    if (x->top > 0 && (uint32_t)f->n == f->members) keep_struct_mt(x, f);
  }
  if (f->mt) lua_remove(L, f->mt);                    /* the container is now on top */
  x->top--;
  return add(x, &x->f[x->top], f->name, f->in_array, f->index, f->prop);
}

static int lua_visit(void *ctx, const sch_walk_item *w) {
  lctx *x = ctx;
  lua_State *L = x->L;
  switch (w->kind) {
    case SCH_W_VALUE: {
      tlg_item it;
      char name[SCH_TDH_NAME_MAX];
      int in_array = x->f[x->top].mt == 0;
      /* a name is wanted only where no metatable gives it, and never for array items */
      sch_tdh_item(x->t, w, in_array, &it, in_array || names_given(x, x->top) ? NULL : name);
      etwL_push_value(L, &it);
      return add(x, &x->f[x->top], name, in_array, w->index, w->prop);
    }
    case SCH_W_ARRAY_BEGIN: case SCH_W_STRUCT_BEGIN:
      if (x->top + 1 >= MAX_FRAMES || !lua_checkstack(L, 8)) return 1;
      open_container(x, w->kind == SCH_W_ARRAY_BEGIN, w, 0);
      return 0;
    case SCH_W_ARRAY_END: case SCH_W_STRUCT_END:
      return x->top > 0 ? close_container(x) : 0;
    default:
      return 0;
  }
}

/* ---- the shape cache ---- */

/* The cache key: a hash of the schema's length and head (its provider and
** event ids, flags, name offsets), which tells schemas apart in practice;
** a hit is then checked byte for byte. */
static lua_Integer blob_hash(const uint8_t *p, size_t n) {
  return (lua_Integer)tlg_hash_bytes(p, n < 96 ? n : 96, n);
}

/* Push the schema's cache entry {bytes, metatable, props} (made empty when
** new: no metatable yet). A stable schema is found by its address (no
** hash, no compare), others by a hash of their bytes and a compare. */
static void push_entry(lua_State *L, const sch_tdh_event *t, int stable) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &shapes_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &shapes_key);
  }
  lua_Integer h = 0;
  size_t len;
  if (stable) {
    if (lua_rawgetp(L, -1, t->tei) == LUA_TTABLE) { lua_remove(L, -2); return; }
  } else if (h = blob_hash(t->tei, t->tei_len), lua_rawgeti(L, -1, h) == LUA_TTABLE) {
    lua_rawgeti(L, -1, 1);
    const char *s = lua_tolstring(L, -1, &len);
    int hit = s && len == t->tei_len && memcmp(s, t->tei, len) == 0;
    lua_pop(L, 1);
    if (hit) { lua_remove(L, -2); return; }
  }
  lua_pop(L, 1);                                      /* cache */
  lua_getfield(L, -1, "n");
  lua_getfield(L, -2, "bytes");
  lua_Integer count = lua_tointeger(L, -2) + 1, bytes = lua_tointeger(L, -1) + t->tei_len;
  lua_pop(L, 2);
  if (count > SHAPES_MAX || bytes > SHAPES_BYTES) {   /* start over */
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &shapes_key);
    count = 1;
    bytes = t->tei_len;
  }
  lua_pushinteger(L, count);
  lua_setfield(L, -2, "n");
  lua_pushinteger(L, bytes);
  lua_setfield(L, -2, "bytes");
  lua_createtable(L, 3, 0);
  lua_pushvalue(L, -1);
  if (stable) {
    lua_rawsetp(L, -3, t->tei);
  } else {
    lua_pushlstring(L, (const char *)t->tei, t->tei_len);
    lua_rawseti(L, -3, 1);
    lua_rawseti(L, -3, h);
  }
  lua_remove(L, -2);
}

/* Store the schema's plan as entry[4] (a userdata of its steps) when its
** top level is flat and the shape just recorded names exactly its
** properties in order (position k = property k - 1). */
static void save_plan(lua_State *L, const sch_tdh_event *t, const lctx *x, int entry) {
  sch_plan_step steps[SCH_PLAN_MAX];
  size_t n = sch_plan_compile(t->tei, t->tei_len, steps);
  if (n == 0 || (lua_Integer)n != x->f[0].n) return;
  for (size_t k = 1; k <= n; k++) {
    lua_rawgeti(L, x->props, (lua_Integer)k);
    lua_Integer prop = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (prop != (lua_Integer)k - 1) return;
  }
  void *u = lua_newuserdatauv(L, n * sizeof *steps, 0);
  memcpy(u, steps, n * sizeof *steps);
  lua_rawseti(L, entry, 4);
}

/* Keep the slow walk's top-level names and property indexes as the shape. */
static void save_shape(lua_State *L, const lctx *x, int entry) {
  luaL_Buffer b;
  lua_Integer n = x->f[0].n;
  char *w = luaL_buffinitsize(L, &b, (size_t)n * 4 + 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, x->props, i);
    uint32_t v = (uint32_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    memcpy(w + 4 * (size_t)(i - 1), &v, 4);
  }
  luaL_pushresultsize(&b, (size_t)n * 4);
  lua_rawseti(L, entry, 3);
  lua_pushvalue(L, x->f[0].mt);
  lua_rawseti(L, entry, 2);
}

/* Empty the table at slot `into` again (what a walk that left its shape
** put there) and drop its metatable. */
static void clear_into(lua_State *L, int into) {
  lua_pushnil(L);
  while (lua_next(L, into)) {                         /* clearing fields during next is allowed */
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, into);
  }
  lua_pushnil(L);
  lua_setmetatable(L, into);
}

/* One walk into a new fields table (pushed), or into the empty table at
** slot `into` when it is not 0. entry: the stack slot of the cache entry;
** fast: use its shape, else record one into it. */
static int walk(lua_State *L, const sch_tdh_event *t, uint32_t *prop, int entry, int fast,
                int into, int *diverged) {
  lctx x;
  x.L = L;
  x.t = t;
  x.top = -1;
  x.fast = fast;
  x.dups = 0;
  x.diverged = 0;
  x.pidx = NULL;
  x.npidx = 0;
  x.entry = entry;
  if (fast) {
    size_t len;
    lua_rawgeti(L, entry, 3);                         /* property indexes, as 4-byte words */
    x.props = lua_gettop(L);
    x.pidx = lua_tolstring(L, -1, &len);
    x.npidx = x.pidx ? len / 4 : 0;
    lua_rawgeti(L, entry, 2);                         /* the shared metatable */
    lua_rawgeti(L, -1, 0);
    lua_Integer info = lua_tointeger(L, -1);
    lua_pop(L, 1);
    x.dups = (int)(info & 1);
    lframe *f = &x.f[++x.top];
    f->n = 0;
    f->in_array = 0;
    f->index = f->prop = 0;
    f->name[0] = 0;
    f->mt = lua_gettop(L);
    int pre = (int)(info >> 1 < 256 ? info >> 1 : 256);
    if (into) lua_pushvalue(L, into);
    else lua_createtable(L, pre, pre);
    f->c = lua_gettop(L);
    lua_pushvalue(L, f->mt);
    lua_setmetatable(L, f->c);
  } else {
    lua_newtable(L);
    x.props = lua_gettop(L);
    open_container(&x, 0, NULL, into);
  }
  int st = sch_tdh_run(t, lua_visit, &x, prop);
  *diverged = x.diverged;
  if (x.diverged) {
    lua_settop(L, x.props - 1);
    if (into) clear_into(L, into);
    return st;
  }
  while (x.top > 0) close_container(&x);              /* after an error: keep what we have */
  if (!fast) {
    lua_pushinteger(L, x.f[0].n * 2 + x.dups);
    lua_rawseti(L, x.f[0].mt, 0);
    if (st == SCH_TDH_OK) {                           /* a whole walk: its names are the shape */
      save_plan(L, t, &x, entry);
      save_shape(L, &x, entry);
    }
  }
  lua_replace(L, x.props);                            /* the fields table */
  lua_settop(L, x.props);
  return st;
}

/* ---- planned: a flat schema's values, located by its plan ---- */

/* Push step s's value at span sp (an array of its items for arrays). */
static void push_step(lua_State *L, const uint8_t *data, const sch_plan_step *s,
                      const sch_plan_span *sp, tlg_item *it) {
  it->field.in_type = s->tlg_in;
  it->field.out_type = s->tlg_out;
  it->value = data + sp->off;
  it->value_len = sp->len;
  if (!s->is_array) {
    etwL_push_value(L, it);
    return;
  }
  lua_createtable(L, sp->count < 256 ? (int)sp->count : 256, 0);
  for (uint32_t k = 0; k < sp->count; k++) {
    it->value = data + sp->off + (size_t)k * sp->len;
    etwL_push_value(L, it);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
}

/* The fields table of an event of a planned schema (the plan userdata on
** top, the shape's metatable in entry[2]), as the walk with the shape makes
** it; 0 (stack unchanged) when the plan cannot locate the values. */
static int push_planned(lua_State *L, const sch_tdh_event *t, int entry, int into) {
  const sch_plan_step *steps = lua_touserdata(L, -1);
  size_t n = lua_rawlen(L, -1) / sizeof *steps;
  sch_plan_span spans[SCH_PLAN_MAX];
  if (!sch_plan_locate(steps, n, t->data, t->data_len, t->ptr_size, spans)) return 0;
  lua_rawgeti(L, entry, 2);                           /* plan mt */
  int mt = lua_gettop(L);
  lua_rawgeti(L, mt, 0);
  lua_Integer info = lua_tointeger(L, -1);            /* count * 2 + dups */
  lua_pop(L, 1);
  int pre = (int)(info >> 1 < 256 ? info >> 1 : 256), dups = (int)(info & 1);
  if (into) lua_pushvalue(L, into);
  else lua_createtable(L, pre, pre);
  int c = lua_gettop(L);
  lua_pushvalue(L, mt);
  lua_setmetatable(L, c);
  tlg_item it;
  memset(&it, 0, sizeof it);
  it.kind = TLG_ITEM_VALUE;
  it.field.name = "";
  const uint8_t *data = t->data ? t->data : (const uint8_t *)"";   /* no offsets from NULL */
  for (size_t i = 0; i < n; i++) {
    push_step(L, data, &steps[i], &spans[i], &it);
    lua_rawgeti(L, mt, (lua_Integer)i + 1);          /* v k */
    set_named(L, c, (lua_Integer)i + 1, dups);
  }
  lua_replace(L, mt - 1);                             /* the table where the plan was */
  lua_settop(L, mt - 1);
  return 1;
}

int etwL_tdh_push_fields(lua_State *L, const sch_tdh_event *t, uint32_t *prop, int stable,
                         int into) {
  luaL_checkstack(L, 24, "event fields");
  if (into) into = lua_absindex(L, into);
  push_entry(L, t, stable);
  int entry = lua_gettop(L), diverged = 0, st;
  if (lua_rawgeti(L, entry, 4) == LUA_TUSERDATA && push_planned(L, t, entry, into)) {
    lua_remove(L, entry);
    if (prop) *prop = 0;
    return SCH_TDH_OK;
  }
  lua_pop(L, 1);
  int fast = lua_rawgeti(L, entry, 2) == LUA_TTABLE;
  lua_pop(L, 1);
  st = walk(L, t, prop, entry, fast, into, &diverged);
  if (diverged) st = walk(L, t, prop, entry, 0, into, &diverged);
  lua_remove(L, entry);
  return st;
}
