/*
** shm_testmap.h: white-box helper for the shm stress tests (test_shm_faults,
** test_shm_races): map a session's shared memory by name, as a consumer or
** owner of another process would see it.
*/
#ifndef SHM_TESTMAP_H
#define SHM_TESTMAP_H

#include "engine/shm/shm_int.h"

/* Map session `name` into m: 0, or -1 when it is not listed or cannot be mapped. */
static inline int map_session(const char *name, shm_smap *m) {
  shm_reg *r;
  if (shm_reg_get(&r) != ENG_OK || shm_reg_lock(r) != ENG_OK) return -1;
  int idx = shm_sess_find(r, name);
  uint32_t gen = idx < 0 ? 0 : atomic_load(&shm_reg_slot(r, (uint32_t)idx)->gen);
  shm_reg_unlock(r);
  return idx < 0 ? -1 : shm_smap_open(r, (uint32_t)idx, gen, m);
}

#endif
