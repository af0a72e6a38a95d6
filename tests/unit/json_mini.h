/*
** json_mini.h: a small JSON reader for the tests (reference files in
** ../shared are read in place). Integers are kept exact up to 64 bits.
** Test support code; not part of etwlua.
*/
#ifndef JSON_MINI_H
#define JSON_MINI_H

#include <stddef.h>
#include <stdint.h>

typedef enum jm_type { JM_NULL, JM_BOOL, JM_NUM, JM_STR, JM_ARR, JM_OBJ } jm_type;

typedef struct jm_value {
  jm_type type;
  int boolean;
  int is_int;              /* number written without fraction/exponent */
  int neg;                 /* integer sign */
  uint64_t mag;            /* integer magnitude (exact) */
  double num;              /* every number as a double too */
  char *str;               /* JM_STR: decoded UTF-8, NUL-terminated */
  size_t str_len;
  size_t n;                /* JM_ARR / JM_OBJ: number of items */
  struct jm_value *items;  /* values */
  char **keys;             /* JM_OBJ: keys (parallel to items) */
} jm_value;

/* Parse one JSON value from text[0..len); trailing whitespace allowed.
** Returns a malloc'd tree, or NULL (with a message in err) on bad input. */
jm_value *jm_parse(const char *text, size_t len, char *err, size_t err_len);

/* Free a tree from jm_parse; NULL is fine. */
void jm_free(jm_value *v);

/* Object member by key, or NULL (also when obj is not an object). */
const jm_value *jm_get(const jm_value *obj, const char *key);

/* Conversions with defaults for missing or mistyped values. */
int64_t jm_i64(const jm_value *v, int64_t dflt);
uint64_t jm_u64(const jm_value *v, uint64_t dflt);
const char *jm_str(const jm_value *v, const char *dflt);
int jm_is_null(const jm_value *v);   /* missing or null */

#endif
