/*
** man_util.c: the manifest model's arena, its (scope, name) table, numbers
** and error text (man_int.h).
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "man_int.h"

#define BLOCK 65536

void *ar_alloc(arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (!a->head || a->head->cap - a->head->used < n) {
    size_t cap = n > BLOCK ? n : BLOCK;
    ablock *b = malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->next = a->head;
    b->used = 0;
    b->cap = cap;
    a->head = b;
    a->total += cap;
  }
  void *p = a->head->mem + a->head->used;
  a->head->used += n;
  memset(p, 0, n);
  return p;
}

char *ar_strdup(arena *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = ar_alloc(a, n);
  if (p) memcpy(p, s, n);
  return p;
}

void ar_free(arena *a) {
  while (a->head) {
    ablock *n = a->head->next;
    free(a->head);
    a->head = n;
  }
  a->total = 0;
}

static uint64_t nhash(const void *scope, const char *name) {
  uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)scope;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    h ^= *p;
    h *= 1099511628211ULL;
  }
  return h ^ (h >> 29);
}

static int ntab_grow(ntab *t) {
  size_t cap = t->cap ? t->cap * 2 : 256;
  nslot *s = calloc(cap, sizeof *s);
  if (!s) return -1;
  for (size_t i = 0; i < t->cap; i++) {
    if (!t->s[i].name) continue;
    size_t j = nhash(t->s[i].scope, t->s[i].name) & (cap - 1);
    while (s[j].name) j = (j + 1) & (cap - 1);
    s[j] = t->s[i];
  }
  free(t->s);
  t->s = s;
  t->cap = cap;
  return 0;
}

int ntab_put(ntab *t, const void *scope, const char *name, void *val) {
  if ((t->n + 1) * 4 > t->cap * 3 && ntab_grow(t) < 0) return -1;
  size_t j = nhash(scope, name) & (t->cap - 1);
  for (; t->s[j].name; j = (j + 1) & (t->cap - 1))
    if (t->s[j].scope == scope && strcmp(t->s[j].name, name) == 0) return 0;   /* first wins */
  t->s[j] = (nslot){scope, name, val};
  t->n++;
  return 0;
}

void *ntab_get(const ntab *t, const void *scope, const char *name) {
  if (!t->cap || !name) return NULL;
  size_t j = nhash(scope, name) & (t->cap - 1);
  for (; t->s[j].name; j = (j + 1) & (t->cap - 1))
    if (t->s[j].scope == scope && strcmp(t->s[j].name, name) == 0) return t->s[j].val;
  return NULL;
}

void ntab_free(ntab *t) {
  free(t->s);
  memset(t, 0, sizeof *t);
}

void man_err(char *err, size_t cap, const char *file, unsigned long line, const char *fmt, ...) {
  if (!cap) return;
  int n = snprintf(err, cap, "%s:%lu: ", file, line);
  if (n < 0 || (size_t)n >= cap) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + n, cap - (size_t)n, fmt, ap);
  va_end(ap);
}

int man_number(const char *s, uint64_t *out) {
  if (!s) return -1;
  while (isspace((unsigned char)*s)) s++;
  int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  if (hex) s += 2;
  uint64_t v = 0;
  int digits = 0;
  for (; *s && !isspace((unsigned char)*s); s++, digits++) {
    int d;
    if (*s >= '0' && *s <= '9') d = *s - '0';
    else if (hex && *s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
    else if (hex && *s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
    else return -1;
    unsigned base = hex ? 16 : 10;
    if (v > (UINT64_MAX - (uint64_t)d) / base) return -1;   /* overflow */
    v = v * base + (uint64_t)d;
  }
  while (isspace((unsigned char)*s)) s++;
  if (!digits || *s) return -1;
  *out = v;
  return 0;
}
