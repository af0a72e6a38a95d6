/*
** levent_tdh.c: ev.fields of manifest and MOF events: the walk of their
** TDH schema (src/schema/sch_tdh_walk.c), each value converted by
** sch_tdh_fmt.c and pushed as levent.c pushes TraceLogging values, into the
** same table shape (sequence, record, ordered pairs).
*/
#include <string.h>

#include "lauxetw.h"
#include "levent_tdh.h"

#define MAX_FRAMES 40            /* the walker nests at most 16 structs, each maybe in an array */

typedef struct lframe {
  int c, mt;            /* stack slots of the container and its names metatable (0: array) */
  lua_Integer n;        /* values added (struct) */
  int in_array;         /* this container is an element of the parent array */
  uint32_t index;
  char name[SCH_TDH_NAME_MAX];
} lframe;

typedef struct lctx {
  lua_State *L;
  const sch_tdh_event *t;
  lframe f[MAX_FRAMES];
  int top;
} lctx;

static void open_container(lctx *x, int is_array, const sch_walk_item *w) {
  lua_State *L = x->L;
  lframe *f = &x->f[++x->top];
  f->n = 0;
  f->in_array = x->top > 0 && x->f[x->top - 1].mt == 0;
  f->index = w ? w->index : 0;
  f->name[0] = 0;
  if (w) {
    tlg_item tmp;
    sch_tdh_item(x->t, w, 0, &tmp, f->name);
  }
  if (is_array) {
    lua_createtable(L, w->count < 256 ? (int)w->count : 256, 0);
    f->c = lua_gettop(L);
    f->mt = 0;
    return;
  }
  lua_newtable(L);                                    /* names: the metatable */
  etwL_fields_mt_finish(L);
  f->mt = lua_gettop(L);
  lua_newtable(L);
  f->c = lua_gettop(L);
  lua_pushvalue(L, f->mt);
  lua_setmetatable(L, f->c);
}

/* Add the value on top to frame f (by position in arrays, else by name too). */
static void add(lua_State *L, lframe *f, const char *name, int in_array, uint32_t index) {
  if (!f->mt || in_array) {
    lua_rawseti(L, f->c, (lua_Integer)index + 1);
    return;
  }
  lua_Integer n = ++f->n;
  lua_pushstring(L, name);
  lua_pushvalue(L, -1);
  lua_rawseti(L, f->mt, n);                           /* the order, for pairs() */
  lua_pushvalue(L, -1);
  if (lua_rawget(L, f->c) == LUA_TNIL) {              /* first of that name */
    lua_pop(L, 1);
    lua_pushvalue(L, -2);
    lua_rawset(L, f->c);
  } else {
    lua_pop(L, 2);
  }
  lua_rawseti(L, f->c, n);
}

static void close_container(lctx *x) {
  lua_State *L = x->L;
  lframe *f = &x->f[x->top];
  if (f->mt) {
    lua_pushinteger(L, f->n * 2 + 1);                 /* names may repeat */
    lua_rawseti(L, f->mt, 0);
    lua_remove(L, f->mt);                             /* the container is now on top */
  }
  x->top--;
  add(L, &x->f[x->top], f->name, f->in_array, f->index);
}

static int lua_visit(void *ctx, const sch_walk_item *w) {
  lctx *x = ctx;
  lua_State *L = x->L;
  switch (w->kind) {
    case SCH_W_VALUE: {
      tlg_item it;
      char name[SCH_TDH_NAME_MAX];
      int in_array = x->f[x->top].mt == 0;
      sch_tdh_item(x->t, w, in_array, &it, name);
      etwL_push_value(L, &it);
      add(L, &x->f[x->top], name, in_array, w->index);
      return 0;
    }
    case SCH_W_ARRAY_BEGIN: case SCH_W_STRUCT_BEGIN:
      if (x->top + 1 >= MAX_FRAMES || !lua_checkstack(L, 8)) return 1;
      open_container(x, w->kind == SCH_W_ARRAY_BEGIN, w);
      return 0;
    case SCH_W_ARRAY_END: case SCH_W_STRUCT_END:
      if (x->top > 0) close_container(x);
      return 0;
    default:
      return 0;
  }
}

int etwL_tdh_push_fields(lua_State *L, const sch_tdh_event *t, uint32_t *prop) {
  lctx x;
  x.L = L;
  x.t = t;
  x.top = -1;
  luaL_checkstack(L, 16, "event fields");
  open_container(&x, 0, NULL);
  int st = sch_tdh_run(t, lua_visit, &x, prop);
  while (x.top > 0) close_container(&x);              /* after an error: keep what we have */
  lua_pushinteger(L, x.f[0].n * 2 + 1);
  lua_rawseti(L, x.f[0].mt, 0);
  lua_remove(L, x.f[0].mt);
  return st;
}
