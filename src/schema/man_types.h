/*
** man_types.h: manifest type names and the predefined win: names
** (man_types.c).
*/
#ifndef MAN_TYPES_H
#define MAN_TYPES_H

#include <stdint.h>

int man_intype(const char *name, unsigned *out);    /* 0, -1 unknown */
int man_outtype(const char *name, unsigned *out);

typedef struct man_wellknown {
  const char *name;
  uint64_t value;
  const char *display;
} man_wellknown;

const man_wellknown *man_win_level(const char *name);
const man_wellknown *man_win_opcode(const char *name);
const man_wellknown *man_win_keyword(const char *name);
const man_wellknown *man_win_channel(const char *name);

#endif
