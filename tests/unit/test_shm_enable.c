/*
** test_shm_enable.c: ETW enable semantics on the shm engine (DESIGN §2):
** the level x any x all x event level x event keyword matrix against the
** formula, for eng_enabled and for delivery; two sessions with different
** enables; enable before and after registration; disable and stop seen by
** producers in other processes; at most 8 sessions per provider.
*/
#include "shm_testutil.h"

/* Read everything published now; mark ids received in got[]. Returns count. */
static int drain(eng_consumer *c, uint8_t *got, size_t n) {
  rec_record rec;
  int count = 0;
  while (eng_consumer_next(c, &rec, 0) == ENG_OK) {
    if (rec.kind != REC_KIND_EVENT) continue;
    if (rec.desc.id < n) got[rec.desc.id]++;
    count++;
  }
  return count;
}

static const uint8_t Ls[] = {0, 1, 3, 5, 255};
static const uint64_t As[] = {0, 1, 0x6, ~0ull};
static const uint64_t Bs[] = {0, 1, 0x6, 0x8000000000000000ull};
static const uint8_t ls[] = {0, 1, 2, 3, 4, 5, 6, 255};
static const uint64_t ks[] = {0, 1, 2, 4, 6, 7, 0x8000000000000001ull};
#define NL (sizeof ls)
#define NK (sizeof ks / sizeof ks[0])

static void write_grid(eng_provider *p) {
  for (size_t i = 0; i < NL; i++)
    for (size_t j = 0; j < NK; j++) {
      t_payload pl = {0};
      t_write(p, ls[i], ks[j], (uint16_t)(i * NK + j), &pl, NULL, NULL);
    }
}

static void test_matrix(eng_provider *p) {
  eng_session *s = t_start("matrix", 4, 16, 50);
  eng_consumer *c = NULL;
  CHECK(eng_consumer_open("matrix", &c) == ENG_OK, "consumer");
  if (!s || !c) return;
  int bad_enabled = 0, bad_delivery = 0, configs = 0;
  for (size_t a = 0; a < sizeof Ls; a++)
    for (size_t b = 0; b < sizeof As / sizeof As[0]; b++)
      for (size_t d = 0; d < sizeof Bs / sizeof Bs[0]; d++) {
        uint8_t L = Ls[a];
        uint64_t A = As[b], B = Bs[d];
        eng_session_enable(s, &T_PROV, L, A, B);   /* the same session again: an update */
        uint8_t got[NL * NK] = {0};
        write_grid(p);
        drain(c, got, sizeof got);
        for (size_t i = 0; i < NL; i++)
          for (size_t j = 0; j < NK; j++) {
            /* an enable with A == 0 means every keyword, as in ETW */
            int want = eng_match(ls[i], ks[j], L, A ? A : UINT64_MAX, B);
            if (eng_enabled(p, ls[i], ks[j]) != want) bad_enabled++;
            if (got[i * NK + j] != want) {
              if (bad_delivery++ < 5)
                printf("  L=%u A=%#llx B=%#llx l=%u k=%#llx: got %u want %d\n", L,
                       (unsigned long long)A, (unsigned long long)B, ls[i],
                       (unsigned long long)ks[j], got[i * NK + j], want);
            }
          }
        configs++;
      }
  CHECK(bad_enabled == 0, "eng_enabled disagrees with the formula %d times", bad_enabled);
  CHECK(bad_delivery == 0, "delivery disagrees with the formula %d times over %d configs",
        bad_delivery, configs);
  eng_session_disable(s, &T_PROV);
  CHECK(!eng_enabled_any(p), "disabled after the matrix");
  eng_consumer_close(c);
  eng_session_stop(s);
  eng_session_close(s);
}

/* Two sessions, each gets exactly its own events; eng_enabled is their union
** (or more: the merged masks are a superset). */
static void test_two_sessions(eng_provider *p) {
  eng_session *s1 = t_start("two-a", 4, 16, 50), *s2 = t_start("two-b", 4, 16, 50);
  eng_consumer *c1 = NULL, *c2 = NULL;
  eng_consumer_open("two-a", &c1);
  eng_consumer_open("two-b", &c2);
  if (!s1 || !s2 || !c1 || !c2) { CHECK(0, "setup"); return; }
  CHECK(eng_session_enable(s1, &T_PROV, 3, 0x1, 0) == ENG_OK, "enable 1");
  CHECK(eng_session_enable(s2, &T_PROV, 5, 0x6, 0x2) == ENG_OK, "enable 2");
  write_grid(p);
  uint8_t g1[NL * NK] = {0}, g2[NL * NK] = {0};
  drain(c1, g1, sizeof g1);
  drain(c2, g2, sizeof g2);
  int bad = 0, superset = 1;
  for (size_t i = 0; i < NL; i++)
    for (size_t j = 0; j < NK; j++) {
      int w1 = eng_match(ls[i], ks[j], 3, 0x1, 0), w2 = eng_match(ls[i], ks[j], 5, 0x6, 0x2);
      bad += g1[i * NK + j] != w1;
      bad += g2[i * NK + j] != w2;
      if ((w1 || w2) && !eng_enabled(p, ls[i], ks[j])) superset = 0;
    }
  CHECK(bad == 0, "each session got exactly its events (%d wrong)", bad);
  CHECK(superset, "eng_enabled covers both sessions");
  eng_session_stop(s1);
  CHECK(eng_enabled(p, 5, 0x2) && !eng_enabled(p, 5, 0x1), "after stopping one: the other's state");
  eng_session_stop(s2);
  CHECK(!eng_enabled_any(p), "after stopping both: disabled");
  eng_consumer_close(c1);
  eng_consumer_close(c2);
  eng_session_close(s1);
  eng_session_close(s2);
}

static void test_before_after(void) {
  const tlg_guid early = {{0xe1, 1}}, late = {{0xe2, 2}};
  eng_session *s = t_start("order", 4, 16, 50);
  eng_consumer *c = NULL;
  eng_consumer_open("order", &c);
  if (!s || !c) return;
  CHECK(eng_session_enable(s, &early, 5, ~0ull, 0) == ENG_OK, "enable before registration");
  eng_provider *pe = NULL, *pl = NULL, *pe2 = NULL;
  CHECK(eng_provider_register(&early, T_TRAITS, sizeof T_TRAITS, &pe) == ENG_OK, "register early");
  CHECK(eng_provider_register(&late, T_TRAITS, sizeof T_TRAITS, &pl) == ENG_OK, "register late");
  CHECK(eng_provider_register(&early, NULL, 0, &pe2) == ENG_OK, "register the same id again");
  CHECK(eng_enabled(pe, 5, 1) && eng_enabled(pe2, 5, 1), "enabled before registration: on at once");
  CHECK(!eng_enabled_any(pl), "not enabled yet");
  t_payload x = {0};
  CHECK(t_write(pl, 4, 1, 1, &x, NULL, NULL) == ENG_OK, "write while disabled: ok, nothing sent");
  CHECK(eng_session_enable(s, &late, 4, 1, 0) == ENG_OK, "enable after registration");
  CHECK(eng_enabled(pl, 4, 1) && !eng_enabled(pl, 5, 1), "enabled after registration");
  t_write(pe, 5, 1, 2, &x, NULL, NULL);
  t_write(pl, 4, 1, 3, &x, NULL, NULL);
  uint8_t got[4] = {0};
  CHECK(drain(c, got, 4) == 2 && got[2] == 1 && got[3] == 1 && got[1] == 0, "both delivered");
  CHECK(eng_session_disable(s, &early) == ENG_OK && !eng_enabled_any(pe) && !eng_enabled_any(pe2),
        "disable: off in every registration");
  CHECK(eng_session_disable(s, &early) == ENG_OK, "disable twice: no-op");
  t_write(pe, 5, 1, 2, &x, NULL, NULL);
  CHECK(drain(c, got, 4) == 0, "nothing after disable");
  eng_session_stop(s);
  CHECK(!eng_enabled_any(pl), "stop: off");
  CHECK(eng_session_enable(s, &late, 4, 1, 0) == ENG_E_STOPPED, "enable on a stopped session");
  eng_provider_unregister(pe);
  eng_provider_unregister(pe2);
  eng_provider_unregister(pl);
  eng_provider_unregister(NULL);
  eng_consumer_close(c);
  eng_session_close(s);
}

static void test_eight(void) {
  const tlg_guid id = {{0x88, 8}};
  eng_session *s[9] = {0};
  int ok = 1;
  for (int i = 0; i < 9; i++) {
    char name[32];
    snprintf(name, sizeof name, "eight-%d", i);
    s[i] = t_start(name, 4, 1, 50);
    if (!s[i]) return;
    int st = eng_session_enable(s[i], &id, (uint8_t)(i + 1), 1, 0);
    if (st != (i < 8 ? ENG_OK : ENG_E_FULL)) ok = 0;
  }
  CHECK(ok, "8 sessions enable one provider; the 9th gets ENG_E_FULL");
  eng_session_stop(s[7]);
  CHECK(eng_session_enable(s[8], &id, 9, 1, 0) == ENG_OK, "a slot frees when one stops");
  for (int i = 0; i < 9; i++) { eng_session_stop(s[i]); eng_session_close(s[i]); }
}

/* A producer in a child process sees enable, disable, enable, stop. */
static void child_watch(int wfd) {
  alarm(20);
  eng_provider *p;
  if (eng_provider_register(&T_PROV, NULL, 0, &p) != ENG_OK) _exit(2);
  const char steps[] = "REDES";
  for (int i = 0; steps[i]; i++) {
    int want_on = steps[i] == 'E';
    while (i > 0 && eng_enabled(p, 5, 1) != want_on) usleep(1000);
    if (write(wfd, &steps[i], 1) != 1) _exit(3);
  }
  eng_provider_unregister(p);
  exit(0);
}

static int expect(int rfd, char c) {
  char got = 0;
  return read(rfd, &got, 1) == 1 && got == c;
}

static void test_child_sees_changes(void) {
  int fds[2];
  if (pipe(fds) != 0) { CHECK(0, "pipe"); return; }
  /* static: a forked child that exit()s must still see it (LSan) */
  static eng_session *s;
  s = t_start("watch", 4, 1, 50);
  if (!s) return;
  pid_t pid = fork();
  if (pid == 0) { close(fds[0]); child_watch(fds[1]); }
  close(fds[1]);
  CHECK(expect(fds[0], 'R'), "child registered");
  eng_session_enable(s, &T_PROV, 5, ~0ull, 0);
  CHECK(expect(fds[0], 'E'), "child saw the enable");
  eng_session_disable(s, &T_PROV);
  CHECK(expect(fds[0], 'D'), "child saw the disable");
  eng_session_enable(s, &T_PROV, 5, ~0ull, 0);
  CHECK(expect(fds[0], 'E'), "child saw the second enable");
  eng_session_stop(s);
  CHECK(expect(fds[0], 'S'), "child saw the stop");
  CHECK(wait_child(pid) == 0, "child exit");
  close(fds[0]);
  eng_session_close(s);
}

int main(void) {
  test_setup(120);
  eng_provider *p = NULL;
  int st = eng_provider_register(&T_PROV, T_TRAITS, sizeof T_TRAITS, &p);
  CHECK(st == ENG_OK, "register: %s", eng_strerror(st));
  if (p) {
    test_matrix(p);
    test_two_sessions(p);
  }
  test_before_after();
  test_eight();
  test_child_sees_changes();
  eng_provider_unregister(p);
  return unit_finish();
}
