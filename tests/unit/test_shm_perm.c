/*
** test_shm_perm.c: the runtime directory is 0700 and every file 0600; a
** directory or file that is not private, or not ours, is refused; run as
** root, a process that drops to `nobody` can neither attach nor enable
** (skipped, with SKIP, when not root). Scenarios that need an engine that
** has never been used run in children forked before the first engine call.
*/
#include "shm_testutil.h"

#include <grp.h>
#include <pwd.h>

typedef int (*scenario)(const char *arg);

typedef struct fresh {
  pid_t pid;
  int go;                           /* write the argument here to run it */
} fresh;

/* Fork now (engine untouched); the child waits for its argument, runs fn,
** exits with its result. */
static fresh spawn_fresh(scenario fn) {
  int fds[2];
  fresh f = {-1, -1};
  if (pipe(fds) != 0) return f;
  f.pid = fork();
  if (f.pid == 0) {
    close(fds[1]);
    alarm(30);
    char arg[512] = {0};
    ssize_t n = read(fds[0], arg, sizeof arg - 1);
    _exit(n > 0 ? fn(arg) : 99);
  }
  close(fds[0]);
  f.go = fds[1];
  return f;
}

static int run_fresh(fresh f, const char *arg) {
  if (f.pid < 0) return -1;
  if (write(f.go, arg, strlen(arg)) < 0) return -1;
  close(f.go);
  return wait_child(f.pid);
}

/* --- scenarios (in fresh children) */

static int register_in(const char *dir) {
  setenv("ETWLUA_RUNTIME_DIR", dir, 1);
  eng_provider *p = NULL;
  return eng_provider_register(&T_PROV, NULL, 0, &p);
}

static int sc_create_registry(const char *dir) { return register_in(dir) == ENG_OK ? 0 : 1; }
static int sc_expect_access(const char *dir) { return register_in(dir) == ENG_E_ACCESS ? 0 : 1; }

static void drop_to_nobody(void) {
  struct passwd *pw = getpwnam("nobody");
  uid_t uid = pw ? pw->pw_uid : 65534;
  gid_t gid = pw ? pw->pw_gid : 65534;
  if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0 || geteuid() != uid) _exit(90);
}

/* As nobody: every way in is refused. Bit n set = step n was let through. */
static int sc_nobody(const char *session) {
  drop_to_nobody();
  int bad = 0;
  eng_consumer *c = NULL;
  eng_session *s = NULL;
  eng_provider *p = NULL;
  eng_session_info info[2];
  size_t n;
  char path[600];
  if (eng_consumer_open(session, &c) != ENG_E_ACCESS) bad |= 1;
  if (eng_session_open(session, &s) != ENG_E_ACCESS) bad |= 2;
  if (eng_session_stop_name(session) != ENG_E_ACCESS) bad |= 4;
  if (eng_provider_register(&T_PROV, NULL, 0, &p) != ENG_E_ACCESS) bad |= 8;
  if (eng_sessions_list(info, 2, &n) != ENG_E_ACCESS) bad |= 16;
  if (eng_session_start("mine", NULL, &s) != ENG_E_ACCESS) bad |= 32;
  snprintf(path, sizeof path, "%s/registry", getenv("ETWLUA_RUNTIME_DIR"));
  FILE *f = fopen(path, "r+");
  if (f || errno != EACCES) bad |= 64;
  if (f) fclose(f);
  return bad;
}

/* A refused runtime directory: the message names the path, the reason and
** a fix. arg = "ENV\tVALUE\tUID\tNEEDLE\tNEEDLE": ENV (ETWLUA_RUNTIME_DIR,
** XDG_RUNTIME_DIR or "none") set to VALUE, the other unset; UID "-" or a
** uid to become first; the message must hold both needles. */
static int sc_dir_detail(const char *arg) {
  char buf[512], *f[5];
  snprintf(buf, sizeof buf, "%s", arg);
  char *save = NULL, *t = strtok_r(buf, "\t", &save);
  for (int i = 0; i < 5; i++, t = strtok_r(NULL, "\t", &save)) {
    if (!t) return 91;
    f[i] = t;
  }
  unsetenv("ETWLUA_RUNTIME_DIR");
  unsetenv("XDG_RUNTIME_DIR");
  if (strcmp(f[0], "none") != 0) setenv(f[0], f[1], 1);
  if (strcmp(f[2], "-") != 0) {
    uid_t uid = (uid_t)atoi(f[2]);
    if (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0) return 92;
  }
  eng_provider *p = NULL;
  int st = eng_provider_register(&T_PROV, NULL, 0, &p);
  const char *msg = eng_detail(st);
  printf("  message: %s\n", msg);
  fflush(stdout);
  if (st != ENG_E_ACCESS) return 1;
  if (!strstr(msg, f[3]) || !strstr(msg, f[4])) return 2;
  return 0;
}

/* --- checks in the test process */

static void check_mode(const char *path, mode_t want, const char *what) {
  struct stat st;
  int ok = lstat(path, &st) == 0 && (st.st_mode & 07777) == want && st.st_uid == geteuid();
  CHECK(ok, "%s %s is %o owned by %d", what, path, (unsigned)(st.st_mode & 07777), (int)st.st_uid);
}

static void session_file(char *out, size_t cap) {
  out[0] = 0;
  for (int slot = 0; slot < 64 && !out[0]; slot++)
    for (int gen = 1; gen < 4; gen++) {
      snprintf(out, cap, "%s/s%d-%d", test_dir, slot, gen);
      if (access(out, F_OK) == 0) return;
      out[0] = 0;
    }
}

int main(void) {
  test_setup(120);
  int root = geteuid() == 0;
  fresh f_insecure = spawn_fresh(sc_expect_access);
  fresh f_make = spawn_fresh(sc_create_registry);
  fresh f_open_mode = spawn_fresh(sc_expect_access);
  fresh f_nobody = root ? spawn_fresh(sc_nobody) : (fresh){-1, -1};
  fresh f_make2 = root ? spawn_fresh(sc_create_registry) : (fresh){-1, -1};
  fresh f_foreign = root ? spawn_fresh(sc_expect_access) : (fresh){-1, -1};
  fresh f_dir_link = spawn_fresh(sc_dir_detail);
  fresh f_dir_other = root ? spawn_fresh(sc_dir_detail) : (fresh){-1, -1};
  fresh f_xdg_other = root ? spawn_fresh(sc_dir_detail) : (fresh){-1, -1};
  fresh f_default_other = root ? spawn_fresh(sc_dir_detail) : (fresh){-1, -1};

  /* our own session: modes */
  eng_session *s = t_start("perm", 4, 1, 50);
  eng_provider *p = NULL;
  CHECK(eng_provider_register(&T_PROV, NULL, 0, &p) == ENG_OK, "register");
  CHECK(s && eng_session_enable(s, &T_PROV, 5, 1, 0) == ENG_OK, "enable");
  check_mode(test_dir, 0700, "runtime dir");
  char path[700];
  snprintf(path, sizeof path, "%s/registry", test_dir);
  check_mode(path, 0600, "registry");
  session_file(path, sizeof path);
  CHECK(path[0] != 0, "session file exists");
  if (path[0]) check_mode(path, 0600, "session file");

  /* a directory open to others is refused */
  char dir[600];
  snprintf(dir, sizeof dir, "%s/open", test_dir);
  mkdir(dir, 0755);
  chmod(dir, 0755);
  CHECK(run_fresh(f_insecure, dir) == 0, "runtime dir 0755 -> ENG_E_ACCESS");
  /* a registry open to others is refused */
  snprintf(dir, sizeof dir, "%s/mode", test_dir);
  mkdir(dir, 0700);
  CHECK(run_fresh(f_make, dir) == 0, "registry made in a private dir");
  snprintf(path, sizeof path, "%s/registry", dir);
  chmod(path, 0644);
  CHECK(run_fresh(f_open_mode, dir) == 0, "registry 0644 -> ENG_E_ACCESS");

  /* a runtime directory that is a symlink (to a private dir of ours) */
  char arg[1400], link[600];
  snprintf(dir, sizeof dir, "%s/target", test_dir);
  snprintf(link, sizeof link, "%s/link", test_dir);
  mkdir(dir, 0700);
  CHECK(symlink(dir, link) == 0, "symlink");
  snprintf(arg, sizeof arg, "ETWLUA_RUNTIME_DIR\t%s\t-\t%s is a symbolic link\tset ETWLUA_RUNTIME_DIR", link, link);
  CHECK(run_fresh(f_dir_link, arg) == 0, "symlinked runtime dir: refused, message names it and the fix");

  if (root) {
    /* directories of another user: ETWLUA_RUNTIME_DIR, $XDG_RUNTIME_DIR/etwlua */
    snprintf(dir, sizeof dir, "%s/theirs", test_dir);
    mkdir(dir, 0700);
    CHECK(chown(dir, 54321, 54321) == 0, "chown");
    snprintf(arg, sizeof arg, "ETWLUA_RUNTIME_DIR\t%s\t-\t%s is owned by uid 54321\tset ETWLUA_RUNTIME_DIR", dir, dir);
    CHECK(run_fresh(f_dir_other, arg) == 0, "runtime dir of another user: refused, message names it and the fix");
    snprintf(dir, sizeof dir, "%s/xdg", test_dir);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/etwlua", dir);
    mkdir(path, 0700);
    CHECK(chown(path, 54321, 54321) == 0, "chown");
    snprintf(arg, sizeof arg, "XDG_RUNTIME_DIR\t%s\t-\t%s is owned by uid 54321\tETWLUA_RUNTIME_DIR", dir, path);
    CHECK(run_fresh(f_xdg_other, arg) == 0, "$XDG_RUNTIME_DIR/etwlua of another user: refused, named");
    /* the default /dev/shm/etwlua-UID pre-created by another user, as seen
    ** by uid 54329 (an unused uid; the directory is ours to remove) */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/etwlua-54329", base);
    if (mkdir(path, 0700) == 0) {
      CHECK(chown(path, 54321, 54321) == 0, "chown");
      snprintf(arg, sizeof arg, "none\t-\t54329\t%s is owned by uid 54321, not by you (uid 54329)\tset XDG_RUNTIME_DIR", path);
      CHECK(run_fresh(f_default_other, arg) == 0, "default runtime dir of another user: refused, fallback offered");
      rmdir(path);
    } else {
      skip("default runtime dir: /dev/shm/etwlua-54329 exists already");
      run_fresh(f_default_other, "x");
    }
    CHECK(run_fresh(f_nobody, "perm") == 0, "as nobody: no attach, enable, stop, list, start");
    CHECK(eng_enabled(p, 5, 1) && eng_session_flush(s) == ENG_OK, "the session is untouched");
    snprintf(dir, sizeof dir, "%s/foreign", test_dir);
    mkdir(dir, 0700);
    CHECK(run_fresh(f_make2, dir) == 0, "registry made");
    snprintf(path, sizeof path, "%s/registry", dir);
    struct passwd *pw = getpwnam("nobody");
    CHECK(chown(path, pw ? pw->pw_uid : 65534, pw ? pw->pw_gid : 65534) == 0, "chown");
    CHECK(run_fresh(f_foreign, dir) == 0, "registry owned by another user -> ENG_E_ACCESS");
  } else {
    skip("permissions as nobody: not running as root");
    skip("registry owned by another user: not running as root");
    skip("runtime directories of another user: not running as root");
  }
  eng_session_stop(s);
  eng_session_close(s);
  eng_provider_unregister(p);
  return unit_finish();
}
