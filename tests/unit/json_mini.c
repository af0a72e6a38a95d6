/*
** json_mini.c: recursive-descent JSON parser (RFC 8259) for test support.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_mini.h"

typedef struct jp {
  const char *s;
  size_t len, pos;
  char *err;
  size_t err_len;
  int depth;
} jp;

static int fail(jp *p, const char *what) {
  if (p->err && p->err_len) snprintf(p->err, p->err_len, "json: %s at %zu", what, p->pos);
  return -1;
}

static void ws(jp *p) {
  while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                             p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
    p->pos++;
}

static int value(jp *p, jm_value *v);

static int hex4(jp *p, unsigned *u) {
  if (p->len - p->pos < 4) return fail(p, "short \\u escape");
  *u = 0;
  for (int i = 0; i < 4; i++) {
    char c = p->s[p->pos++];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return fail(p, "bad \\u escape");
    *u = *u << 4 | (unsigned)d;
  }
  return 0;
}

static size_t utf8(char *o, unsigned cp) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  o[2] = (char)(0x80 | (cp >> 6 & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static int escape(jp *p, char *o, size_t *n) {
  char c = p->s[p->pos++];
  unsigned u, lo;
  switch (c) {
  case '"': case '\\': case '/': o[(*n)++] = c; return 0;
  case 'b': o[(*n)++] = '\b'; return 0;
  case 'f': o[(*n)++] = '\f'; return 0;
  case 'n': o[(*n)++] = '\n'; return 0;
  case 'r': o[(*n)++] = '\r'; return 0;
  case 't': o[(*n)++] = '\t'; return 0;
  case 'u':
    if (hex4(p, &u)) return -1;
    if (u >= 0xD800 && u < 0xDC00 && p->len - p->pos >= 6 && p->s[p->pos] == '\\' &&
        p->s[p->pos + 1] == 'u') {
      p->pos += 2;
      if (hex4(p, &lo)) return -1;
      if (lo >= 0xDC00 && lo < 0xE000) u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
      else { *n += utf8(o + *n, 0xFFFD); u = lo; }
    }
    *n += utf8(o + *n, u);
    return 0;
  default:
    return fail(p, "bad escape");
  }
}

static int string(jp *p, char **out, size_t *out_len) {
  size_t start = ++p->pos, end = start;
  while (end < p->len && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
  if (end >= p->len) return fail(p, "unterminated string");
  char *o = malloc(end - start + 1);
  size_t n = 0;
  if (!o) return fail(p, "out of memory");
  while (p->pos < end) {
    char c = p->s[p->pos++];
    if (c != '\\') { o[n++] = c; continue; }
    if (escape(p, o, &n)) { free(o); return -1; }
  }
  p->pos = end + 1;
  o[n] = 0;
  *out = o;
  *out_len = n;
  return 0;
}

static int number(jp *p, jm_value *v) {
  size_t start = p->pos;
  int digits = 0;
  v->type = JM_NUM;
  v->is_int = 1;
  if (p->s[p->pos] == '-') { v->neg = 1; p->pos++; }
  while (p->pos < p->len) {
    char c = p->s[p->pos];
    if (c >= '0' && c <= '9') { v->mag = v->mag * 10 + (uint64_t)(c - '0'); digits++; }
    else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') v->is_int = 0;
    else break;
    p->pos++;
  }
  if (!digits) return fail(p, "bad number");
  char buf[64];
  size_t n = p->pos - start < sizeof buf - 1 ? p->pos - start : sizeof buf - 1;
  memcpy(buf, p->s + start, n);
  buf[n] = 0;
  v->num = strtod(buf, NULL);
  return 0;
}

static int literal(jp *p, const char *word, jm_value *v, jm_type t, int b) {
  size_t n = strlen(word);
  if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) return fail(p, "bad literal");
  p->pos += n;
  v->type = t;
  v->boolean = b;
  return 0;
}

/* Append a zeroed item (and key slot) to an array or object. */
static jm_value *grow(jm_value *v, size_t *cap) {
  if (v->n == *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    jm_value *ni = realloc(v->items, nc * sizeof *ni);
    if (!ni) return NULL;
    v->items = ni;
    if (v->type == JM_OBJ) {
      char **nk = realloc(v->keys, nc * sizeof *nk);
      if (!nk) return NULL;
      v->keys = nk;
    }
    *cap = nc;
  }
  memset(&v->items[v->n], 0, sizeof v->items[0]);
  if (v->type == JM_OBJ) v->keys[v->n] = NULL;
  return &v->items[v->n++];
}

static int container(jp *p, jm_value *v, jm_type t, char close) {
  size_t cap = 0, klen;
  v->type = t;
  p->pos++;
  if (++p->depth > 64) return fail(p, "too deep");
  ws(p);
  if (p->pos < p->len && p->s[p->pos] == close) { p->pos++; p->depth--; return 0; }
  for (;;) {
    jm_value *item = grow(v, &cap);
    if (!item) return fail(p, "out of memory");
    ws(p);
    if (t == JM_OBJ) {
      if (p->pos >= p->len || p->s[p->pos] != '"') return fail(p, "key expected");
      if (string(p, &v->keys[v->n - 1], &klen)) return -1;
      ws(p);
      if (p->pos >= p->len || p->s[p->pos++] != ':') return fail(p, "':' expected");
    }
    if (value(p, item)) return -1;
    ws(p);
    if (p->pos < p->len && p->s[p->pos] == ',') { p->pos++; continue; }
    if (p->pos < p->len && p->s[p->pos] == close) { p->pos++; p->depth--; return 0; }
    return fail(p, "',' or end expected");
  }
}

static int value(jp *p, jm_value *v) {
  ws(p);
  if (p->pos >= p->len) return fail(p, "value expected");
  switch (p->s[p->pos]) {
  case '{': return container(p, v, JM_OBJ, '}');
  case '[': return container(p, v, JM_ARR, ']');
  case '"': v->type = JM_STR; return string(p, &v->str, &v->str_len);
  case 't': return literal(p, "true", v, JM_BOOL, 1);
  case 'f': return literal(p, "false", v, JM_BOOL, 0);
  case 'n': return literal(p, "null", v, JM_NULL, 0);
  default: return number(p, v);
  }
}

static void release(jm_value *v) {
  free(v->str);
  for (size_t i = 0; i < v->n; i++) {
    release(&v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
}

jm_value *jm_parse(const char *text, size_t len, char *err, size_t err_len) {
  jp p = {text, len, 0, err, err_len, 0};
  jm_value *v = calloc(1, sizeof *v);
  if (!v) return NULL;
  if (value(&p, v) == 0) {
    ws(&p);
    if (p.pos == p.len) return v;
    fail(&p, "trailing data");
  }
  jm_free(v);
  return NULL;
}

void jm_free(jm_value *v) {
  if (!v) return;
  release(v);
  free(v);
}

const jm_value *jm_get(const jm_value *obj, const char *key) {
  if (!obj || obj->type != JM_OBJ) return NULL;
  for (size_t i = 0; i < obj->n; i++)
    if (obj->keys[i] && strcmp(obj->keys[i], key) == 0) return &obj->items[i];
  return NULL;
}

int64_t jm_i64(const jm_value *v, int64_t dflt) {
  if (!v || v->type != JM_NUM || !v->is_int) return dflt;
  return v->neg ? (int64_t)(0 - v->mag) : (int64_t)v->mag;
}

uint64_t jm_u64(const jm_value *v, uint64_t dflt) {
  if (!v || v->type != JM_NUM || !v->is_int || v->neg) return dflt;
  return v->mag;
}

const char *jm_str(const jm_value *v, const char *dflt) {
  return v && v->type == JM_STR ? v->str : dflt;
}

int jm_is_null(const jm_value *v) { return !v || v->type == JM_NULL; }
