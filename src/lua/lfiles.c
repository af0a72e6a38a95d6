/*
** lfiles.c: the .etl file record source of etw.Consumer{files=...}.
** Not wired yet: the ETL reader lands with the ETL issue.
*/
#include "lconsumer.h"
#include "../engine/engine.h"

int etwL_open_files(lua_State *L, int idx, etwL_source *src) {
  (void)L; (void)idx; (void)src;
  return ENG_E_UNSUPPORTED;
}
