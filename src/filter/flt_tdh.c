/*
** flt_tdh.c: one top-level field of a manifest / MOF event, by name, from
** its TDH schema (the property walker of src/schema stops at it), as
** ev.fields would hold it (see flt.h).
*/
#include <string.h>

#include "flt.h"

typedef struct tfind {
  const sch_tdh_event *t;
  const char *name;
  size_t len;
  tlg_item *it;
  char *namebuf;
  int found;
} tfind;

static int visit(void *ctx, const sch_walk_item *w) {
  tfind *f = ctx;
  if (w->depth != 0 || w->kind == SCH_W_ARRAY_END || w->kind == SCH_W_STRUCT_END ||
      w->kind == SCH_W_REST)
    return 0;
  /* the name as levent_tdh.c keys the fields table: UTF-8, up to its first NUL */
  sch_tdh_item(f->t, w, 0, f->it, f->namebuf);
  if (strlen(f->namebuf) != f->len || memcmp(f->namebuf, f->name, f->len) != 0) return 0;
  f->found = w->kind == SCH_W_VALUE ? FLT_VALUE : FLT_COMPLEX;
  return 1;                                          /* the first of that name */
}

int flt_tdh_value(const sch_tdh_event *t, const char *name, size_t len, tlg_item *it,
                  char namebuf[SCH_TDH_NAME_MAX]) {
  tfind f = {t, name, len, it, namebuf, FLT_MISSING};
  sch_tdh_run(t, visit, &f, NULL);
  return f.found;
}
