/*
 * tusk-ns: run pipeline user code where the datum's scratch directory is /pfs, as Pachyderm's
 * containers see it, in a private user + mount namespace. No root needed.
 *
 *   tusk-ns PFS_DIR WORK_DIR TMP_DIR -- CMD [ARGS...]     run one command
 *   tusk-ns --serve TMP_DIR                               run many, one request at a time or several at once
 *   tusk-ns --serve-plain                                 the same without namespaces (/pfs is rewritten by the caller)
 *   ... --serve TMP_DIR --serial / --serve-plain --serial    one command at a time, the others queued
 *
 * The new root is a tmpfs holding a recursive bind of every top-level host directory (so
 * programs and libraries stay reachable) plus the datum's scratch bound at /pfs, read-only but
 * for /pfs/out. With TUSK_NS_HIDE=<store dir> in its environment, the store is covered by an
 * empty read-only tmpfs that shows only the datum's own scratch directory (see setup_pfs). The
 * user's uid and gid are mapped to themselves, so code runs without privileges and the files it
 * writes belong to the caller. Exit status 125 means the namespace could not be set up (the
 * caller then falls back to rewriting /pfs paths).
 *
 * Why a server: building the root is milliseconds of kernel work (every recursive bind copies its
 * submounts) and a fork of the node process costs more than a fork of this one. The server builds
 * the root once. The runner reuses a few scratch directories (two per worker), so the server also
 * keeps one mount namespace per scratch directory, with it bound at /pfs: a datum is then a
 * vfork-style clone + setns + chroot + exec. Giving each datum a fresh namespace instead
 * (unshare(CLONE_NEWNS) + a bind) made the kernel copy the whole mount table on entry and tear it
 * down on exit, both under one global lock, so datums running at once waited on each other.
 *
 * Server protocol. Requests on stdin, each a count N then N strings, all NUL-terminated:
 *   N ID PFS_DIR WORK_DIR STDIN_FILE ENV_COUNT ENV... ARGV...
 * (STDIN_FILE empty: /dev/null; arguments may be empty strings.) A request with ID "=" instead
 * sets the base environment every later command starts from: `N = ENV...`; a command's own ENV
 * entries override it. (The base is sent once per job, not with each of 10,000 datums.) Replies on stdout, one header line each:
 *   R                      ready (sent once, after the namespace is set up)
 *   S ID PID               started; PID leads its own process group (kill -PID stops the tree;
 *                          when PID exits, whatever is left in its group is killed)
 *   O ID LEN \n BYTES      LEN bytes the command wrote to stdout
 *   E ID LEN \n BYTES      ... to stderr
 *   X ID CODE SIGNAL       ended (CODE -1 when killed by SIGNAL); every O/E of ID came before
 * A request that cannot be run as sent (fewer than 6 strings, an ENV_COUNT that is not a number
 * or leaves no ARGV, more strings than the server takes) is answered with an E line saying why
 * and X ID 126 0, and the server goes on with the next one. Replies are held until the server
 * waits again and then written together: under --serial a command's X and the S of the one
 * queued behind it reach the runner in one read.
 * On EOF of stdin every running command's process group is killed, queued requests are dropped,
 * and the server exits.
 *
 * Why --serial: a runner worker sends its next datum while the current one runs; the server
 * starts it the moment the current command is reaped. The gap between two datums of a worker is
 * then this process's own reap + clone, not a round trip through the runner's event loop (which
 * on 2 cores waited behind the other worker's bookkeeping).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void die(const char *step) {
  fprintf(stderr, "tusk-ns: %s: %s\n", step, strerror(errno));
  exit(125);
}

/* The strings up to NULL, joined into BUF of SIZE bytes; -1 where they do not fit (a path cut
 * short would name another file). No allocation, no stdio: a datum's vfork-style child calls it. */
static int join(char *buf, size_t size, ...) {
  va_list ap;
  size_t at = 0;
  int ok = 1;
  va_start(ap, size);
  for (const char *s = va_arg(ap, const char *); s && ok; s = va_arg(ap, const char *)) {
    size_t n = strlen(s);
    if (n >= size - at) ok = 0;
    else {
      memcpy(buf + at, s, n);
      at += n;
    }
  }
  va_end(ap);
  buf[ok ? at : 0] = 0;
  return ok ? 0 : -1;
}

/* V in decimal, in BUF (at least 21 bytes); returns BUF. */
static char *decimal(char *buf, unsigned long v) {
  char tmp[21];
  size_t n = 0;
  do tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10) > 0);
  for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  buf[n] = 0;
  return buf;
}

/* The strings up to NULL, written to FD: a datum's vfork-style child reports with this alone
 * (dprintf may allocate; strerror may format into a buffer of its own). */
static void say(int fd, ...) {
  va_list ap;
  va_start(ap, fd);
  for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *)) {
    size_t n = strlen(s);
    while (n > 0) {
      ssize_t w = write(fd, s, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      s += w;
      n -= (size_t)w;
    }
  }
  va_end(ap);
}

/* The reason for errno E as a static string (strerror is not safe in a datum's child: it may
 * format an unknown errno into a buffer and reads the locale). */
static const char *reason(int e) {
  switch (e) {
  case ENOENT: return "No such file or directory";
  case EACCES: return "Permission denied";
  case EPERM: return "Operation not permitted";
  case ENOTDIR: return "Not a directory";
  case ENOEXEC: return "Exec format error";
  case ELOOP: return "Too many levels of symbolic links";
  case ENAMETOOLONG: return "File name too long";
  case E2BIG: return "Argument list too long";
  case ENOMEM: return "Cannot allocate memory";
  case EINVAL: return "Invalid argument";
  case EBUSY: return "Device or resource busy";
  case ENOSPC: return "No space left on device";
  case EMFILE: return "Too many open files";
  case ETXTBSY: return "Text file busy";
  case EISDIR: return "Is a directory";
  default: {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
    /* glibc's own table, as strerror's C-locale text, without formatting anything */
    const char *d = strerrordesc_np(e);
    if (d) return d;
#endif
    return "system error";
  }
  }
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) die(path);
  if (write(fd, text, strlen(text)) < 0) die(path);
  close(fd);
}

/* A user namespace mapping the caller to itself, with a private mount namespace. */
static void enter_namespace(void) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) die("unshare");
  char map[64];
  write_file("/proc/self/setgroups", "deny");
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
  write_file("/proc/self/uid_map", map);
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
  write_file("/proc/self/gid_map", map);
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("make / private");
}

/* Build the new root below TMP: a tmpfs with every top-level host directory bound in and an
 * empty /pfs. Returns the root's path in a static buffer. */
static const char *build_root(const char *tmp) {
  static char root[4096];
  snprintf(root, sizeof root, "%s/nsroot.XXXXXX", tmp);
  if (!mkdtemp(root)) die("mkdtemp");
  if (mount("tusk-root", root, "tmpfs", 0, "mode=0755") != 0) die("mount tmpfs");

  /* The top-level directory holding the new root is bound first, while the root's tmpfs has no
   * submounts yet: bound later, its recursive bind would copy every mount made so far (/proc,
   * /sys, /dev and all theirs) a second time, which costs more than everything else together. */
  char real_root[4096], first[256] = "";
  if (realpath(root, real_root)) {
    const char *slash = strchr(real_root + 1, '/');
    size_t len = slash ? (size_t)(slash - real_root - 1) : strlen(real_root + 1);
    if (len < sizeof first) { memcpy(first, real_root + 1, len); first[len] = 0; }
  }
  char src[4096], dst[4096], link[4096];
  for (int pass = 0; pass < 2; pass++) {
    DIR *d = opendir("/");
    if (!d) die("opendir /");
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || strcmp(e->d_name, "pfs") == 0) continue;
      if ((pass == 0) != (strcmp(e->d_name, first) == 0)) continue;
      snprintf(src, sizeof src, "/%s", e->d_name);
      snprintf(dst, sizeof dst, "%s/%s", root, e->d_name);
      struct stat st;
      if (lstat(src, &st) != 0) continue;
      if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlink(src, link, sizeof link - 1);
        if (n < 0) continue;
        link[n] = 0;
        if (symlink(link, dst) != 0) die("symlink");
      } else if (S_ISDIR(st.st_mode)) {
        if (mkdir(dst, 0755) != 0) die("mkdir");
        /* a directory that cannot be bound (rare special mounts) is left empty rather than failing */
        mount(src, dst, NULL, MS_BIND | MS_REC, NULL);
      }
    }
    closedir(d);
  }
  snprintf(dst, sizeof dst, "%s/pfs", root);
  if (mkdir(dst, 0755) != 0) die("mkdir /pfs");
  return root;
}

/* Make path P (absolute) and its parents, as directories; no allocation (a datum's vfork-style
 * child calls it). */
static int mkdir_p(const char *p) {
  char buf[4096];
  size_t n = strlen(p);
  if (n >= sizeof buf) return -1;
  memcpy(buf, p, n + 1);
  for (char *s = buf + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *s = '/';
  }
  return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* In a mount namespace of the datum's own: PFS at /pfs, read-only except /pfs/out, so that user
 * code cannot change its inputs (they are hard links shared with other datums and pipelines);
 * the read-only flag stops even root in the namespace, short of remounting. With HIDE (the store
 * directory), an empty read-only tmpfs covers it, in which only this datum's scratch directory
 * (PFS's parent, which must lie below HIDE) is shown again: its pfs (as /pfs is) and its tmp.
 * Packs, metadata, the input cache and other datums' scratch directories are then out of reach.
 * lock_mounts() then keeps user code, root included, from undoing any of it.
 * No allocation: the per-datum fallback runs this in the vfork-style child. 0 on success. */
static int setup_pfs(const char *pfs, const char *hide) {
  char p[4096], scratch[4096];
  if (mount(pfs, "/pfs", NULL, MS_BIND | MS_REC, NULL) != 0) return -1;
  if (mount(NULL, "/pfs", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0) return -1;
  if (join(p, sizeof p, pfs, "/out", NULL) != 0) return -1;
  struct stat st;
  /* without an out/ (a probe's bare directory) all of /pfs stays read-only */
  if (stat(p, &st) == 0 && mount(p, "/pfs/out", NULL, MS_BIND, NULL) != 0) return -1;
  if (!hide || !hide[0]) return 0;
  size_t hl = strlen(hide);
  if (join(scratch, sizeof scratch, pfs, NULL) != 0) return -1;
  char *slash = strrchr(scratch, '/');
  if (!slash || slash == scratch) return -1;
  *slash = 0;
  if (strncmp(scratch, hide, hl) != 0 || scratch[hl] != '/') return -1;
  if (join(p, sizeof p, scratch, "/tmp", NULL) != 0) return -1;
  int tmp = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (tmp < 0) return -1;
  int ok = mount("tusk-hidden", hide, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") == 0;
  if (ok) {
    char src[64], num[21];
    ok = join(src, sizeof src, "/proc/self/fd/", decimal(num, (unsigned long)tmp), NULL) == 0 && mkdir_p(p) == 0 && mount(src, p, NULL, MS_BIND, NULL) == 0;
  }
  close(tmp);
  if (ok) {
    ok = join(p, sizeof p, scratch, "/pfs", NULL) == 0 && mkdir_p(p) == 0 && mount("/pfs", p, NULL, MS_BIND | MS_REC, NULL) == 0;
  }
  if (ok) ok = mount(NULL, hide, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) == 0;
  return ok ? 0 : -1;
}

/* Write TEXT to FILE; 0 on success (no exit: the caller may fall back). */
static int put_file(const char *file, const char *text) {
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Move into a new user namespace (the caller's ids mapped to themselves) with a copy of the
 * current mount namespace. The kernel locks every mount copied into a namespace owned by a less
 * privileged user namespace: the read-only /pfs cannot be remounted writable and the tmpfs over
 * the store cannot be unmounted, even by root in the namespace. 0 on success. */
static int lock_mounts(void) {
  char map[64], num[21];
  uid_t uid = geteuid();
  gid_t gid = getegid();
  /* refused (EPERM) where the root is a chroot rather than the namespace's own root: the mounts
   * then stay as they are, read-only but not locked */
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return 0;
  if (put_file("/proc/self/setgroups", "deny") != 0) return -1;
  decimal(num, (unsigned long)uid);
  if (join(map, sizeof map, num, " ", num, " 1\n", NULL) != 0 || put_file("/proc/self/uid_map", map) != 0) return -1;
  decimal(num, (unsigned long)gid);
  return join(map, sizeof map, num, " ", num, " 1\n", NULL) != 0 ? -1 : put_file("/proc/self/gid_map", map);
}

/* Make ROOT the root of this mount namespace (pivot_root, the old root detached), so that a
 * user namespace can still be created below it (a chroot forbids that); chroot where
 * pivot_root is refused. */
static void enter_root(const char *root) {
  if (chdir(root) != 0) die("chdir");
  if (syscall(SYS_pivot_root, ".", ".") == 0) {
    if (umount2(".", MNT_DETACH) != 0) die("detach the old root");
  } else if (chroot(".") != 0) {
    die("chroot");
  }
  if (chdir("/") != 0) die("chdir");
}

/* The store directory user code must not see (TUSK_NS_HIDE), or NULL. */
static const char *hide_dir(void) {
  const char *h = getenv("TUSK_NS_HIDE");
  return h && h[0] == '/' ? h : NULL;
}

static int run_once(int argc, char **argv) {
  if (argc < 6 || strcmp(argv[4], "--") != 0) {
    fprintf(stderr, "usage: tusk-ns PFS_DIR WORK_DIR TMP_DIR -- CMD [ARGS...]\n");
    return 125;
  }
  const char *pfs = argv[1], *work = argv[2], *tmp = argv[3];
  char pfs_real[4096];
  if (!realpath(pfs, pfs_real)) die("realpath pfs");
  enter_namespace();
  const char *root = build_root(tmp);
  enter_root(root);
  if (setup_pfs(pfs_real, hide_dir()) != 0) die("set up /pfs");
  if (lock_mounts() != 0) die("lock the mounts");
  if (chdir(work) != 0 && chdir("/") != 0) die("chdir");
  execvp(argv[5], argv + 5);
  fprintf(stderr, "tusk-ns: cannot start %s: %s\n", argv[5], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}

/* ─── server ─────────────────────────────────────────────────────────────────────────────── */

struct child {
  char *id;
  pid_t pid;
  int out, err; /* read ends, -1 once closed */
  int exited, status;
};

static struct child *kids;
static char **base_env;
static int proc_fd = -1; /* /proc, opened before chroot; -1: no namespace per scratch directory */
static const char *hide;  /* the store directory hidden from datums (TUSK_NS_HIDE), or NULL */
static size_t nbase;
static size_t nkids, capkids;
static int use_ns;
static int has_tty; /* the server has a controlling terminal (checked once, at start) */

static void write_all(const char *p, size_t len) {
  while (len > 0) {
    ssize_t n = write(1, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      exit(0); /* the caller is gone */
    }
    p += n;
    len -= (size_t)n;
  }
}

/* What goes to the caller waits here until the server is about to wait again (flush_out before
 * each poll): one command's end and the next queued one's start then reach the caller in one
 * write, which it reads at once, rather than waking it twice. */
static char outbuf[1 << 16];
static size_t outlen;
static void flush_out(void) {
  write_all(outbuf, outlen);
  outlen = 0;
}
static void put_all(const void *buf, size_t len) {
  if (outlen + len > sizeof outbuf) flush_out();
  if (len >= sizeof outbuf) {
    write_all(buf, len);
    return;
  }
  memcpy(outbuf + outlen, buf, len);
  outlen += len;
}

/* One header line. Longer than the buffer only for a long ID: formatted again in memory of its
 * size, since a line cut short would run into the next one. */
static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...) {
  char line[256];
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) {
    va_end(again);
    return;
  }
  if ((size_t)n < sizeof line) {
    va_end(again);
    put_all(line, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) exit(125);
  int m = vsnprintf(big, (size_t)n + 1, fmt, again);
  va_end(again);
  /* never more than was written: the arguments cannot change between the two calls, but a
   * length taken from vsnprintf is only trusted as far as the buffer goes */
  put_all(big, m < 0 ? 0 : (size_t)m > (size_t)n ? (size_t)n : (size_t)m);
  free(big);
}

/* Refuse a request: why on its stderr, then its end, as for a command that cannot be started. */
static void refuse(const char *id, const char *why) {
  reply("E %s %zu\n", id, strlen(why));
  put_all(why, strlen(why));
  reply("X %s 126 0\n", id);
}

/* Forward what is readable on one of a child's pipes; close it at EOF. */
static void pump(struct child *c, int *fd, char tag) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n > 0) {
      reply("%c %s %zd\n", tag, c->id, n);
      put_all(buf, (size_t)n);
      if ((size_t)n < sizeof buf) return;
      continue;
    }
    if (n < 0 && (errno == EINTR)) continue;
    if (n < 0 && errno == EAGAIN) return;
    close(*fd);
    *fd = -1;
    return;
  }
}

/* ─── a mount namespace per scratch directory ────────────────────────────────────────────── */

/* One namespace (a copy of the server's) with a scratch directory bound at /pfs, built once and
 * entered by every datum run in that directory. It is rebuilt when the directory was replaced (a
 * different inode at the same path) or when anything was mounted or unmounted in it since it was
 * built (a datum running as root inside the namespace may do that; the next one must find /pfs as
 * it was). Anything that fails here leaves the datum to the per-datum unshare + bind. */
struct slot_ns {
  char *pfs;
  dev_t dev;
  ino_t ino;
  int user;   /* /proc/PID/ns/user of that process: the user namespace that locks its mounts */
  int ns;     /* /proc/PID/ns/mnt of the process that built it: setns() enters it */
  int root;   /* its /proc/PID/root: the new root as that namespace sees it */
  int mounts; /* its /proc/PID/mounts: polls POLLPRI once the mount table changed */
  unsigned long used;
};

#define SLOT_NS_MAX 64
static struct slot_ns slot_ns[SLOT_NS_MAX];
static size_t nslot_ns;
static unsigned long slot_clock;

static void drop_slot_ns(size_t i) {
  struct slot_ns *s = &slot_ns[i];
  free(s->pfs);
  close(s->user);
  close(s->ns);
  close(s->root);
  close(s->mounts);
  *s = slot_ns[--nslot_ns];
}

static int open_proc(pid_t pid, const char *what, int flags) {
  char p[64];
  snprintf(p, sizeof p, "%d/%s", (int)pid, what);
  return openat(proc_fd, p, flags | O_CLOEXEC);
}

/* The namespace for PFS, built on first use; NULL: run the datum in a namespace of its own. */
static struct slot_ns *slot_ns_for(const char *pfs) {
  struct stat st;
  if (proc_fd < 0 || !pfs[0] || stat(pfs, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
  for (size_t i = 0; i < nslot_ns; i++) {
    struct slot_ns *s = &slot_ns[i];
    if (strcmp(s->pfs, pfs) != 0) continue;
    struct pollfd p = { .fd = s->mounts, .events = POLLPRI };
    if (s->dev == st.st_dev && s->ino == st.st_ino && poll(&p, 1, 0) == 0) {
      s->used = ++slot_clock;
      return s;
    }
    drop_slot_ns(i);
    break;
  }
  if (nslot_ns == SLOT_NS_MAX) {
    size_t oldest = 0;
    for (size_t i = 1; i < nslot_ns; i++)
      if (slot_ns[i].used < slot_ns[oldest].used) oldest = i;
    drop_slot_ns(oldest);
  }
  /* A child builds it and waits (reading `hold`) while its namespace files are opened. */
  int ready[2], hold[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return NULL;
  if (pipe2(hold, O_CLOEXEC) != 0) {
    close(ready[0]);
    close(ready[1]);
    return NULL;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    close(hold[1]);
    char ok = unshare(CLONE_NEWNS) == 0 && setup_pfs(pfs, hide) == 0 && lock_mounts() == 0;
    while (write(ready[1], &ok, 1) < 0 && errno == EINTR) {}
    char c;
    while (read(hold[0], &c, 1) < 0 && errno == EINTR) {}
    _exit(0);
  }
  close(ready[1]);
  close(hold[0]);
  char ok = 0;
  if (pid > 0)
    while (read(ready[0], &ok, 1) < 0 && errno == EINTR) {}
  struct slot_ns s = { .dev = st.st_dev, .ino = st.st_ino, .user = -1, .ns = -1, .root = -1, .mounts = -1, .used = ++slot_clock };
  if (ok == 1) {
    s.user = open_proc(pid, "ns/user", O_RDONLY);
    s.ns = open_proc(pid, "ns/mnt", O_RDONLY);
    s.root = open_proc(pid, "root", O_PATH | O_DIRECTORY);
    s.mounts = open_proc(pid, "mounts", O_RDONLY);
  }
  close(hold[1]);
  close(ready[0]);
  if (pid > 0)
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  s.pfs = strdup(pfs);
  if (s.user < 0 || s.ns < 0 || s.root < 0 || s.mounts < 0 || !s.pfs) {
    if (s.user >= 0) close(s.user);
    if (s.ns >= 0) close(s.ns);
    if (s.root >= 0) close(s.root);
    if (s.mounts >= 0) close(s.mounts);
    free(s.pfs);
    return NULL;
  }
  slot_ns[nslot_ns] = s;
  return &slot_ns[nslot_ns++];
}

/* In a datum's child: enter the scratch directory's namespace (root included); 0 on success. A
 * failed setns() leaves the child where it was; a failure after it cannot be undone: exit. */
static int enter_slot_ns(const struct slot_ns *s, int err) {
  if (!s || setns(s->user, CLONE_NEWUSER) != 0) return -1;
  if (setns(s->ns, CLONE_NEWNS) != 0 || fchdir(s->root) != 0 || chroot(".") != 0) {
    say(err, "tusk-ns: cannot enter the namespace of ", s->pfs, ": ", reason(errno), "\n", NULL);
    _exit(125);
  }
  return 0;
}

static void set_base_env(char **f, size_t nf) {
  for (size_t i = 0; i < nbase; i++) free(base_env[i]);
  free(base_env);
  nbase = 0;
  base_env = malloc(nf * sizeof *base_env);
  if (!base_env) exit(125);
  for (size_t i = 1; i < nf; i++)
    if (!(base_env[nbase++] = strdup(f[i]))) exit(125);
}

static int same_key(const char *a, const char *b) {
  while (*a && *a != '=' && *a == *b) a++, b++;
  return *a == '=' && *b == '=';
}

/* What a datum's child needs, prepared by the server before it clones. */
struct spawn {
  const struct slot_ns *ns;
  const char *pfs, *work, *in;
  int out, err;
  char **args, **envp;
};

/* The child shares the server's memory (CLONE_VM | CLONE_VFORK: no copy of its page tables,
 * less CPU per datum than fork) and runs on a stack of its own while the server waits
 * for it to exec. So it only makes system calls: no malloc, no stdio, no globals (hence execvpe
 * rather than setting environ). */
static char child_stack[256 * 1024] __attribute__((aligned(16)));

static int datum_child(void *arg) {
  const struct spawn *sp = arg;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  /* A process group of its own, so kill(-pid) stops the tree. A new session (setsid) only when
   * the runner has a terminal: then the datum must not reach it (a prompt from a background
   * group would stop it on SIGTTIN). Without one (a detached runner, CI) a session per datum
   * only made the scheduler create and tear down an autogroup for each. */
  if (has_tty) setsid();
  else setpgid(0, 0);
  /* stdin first: its file lies in the scratch directory, which the namespace may hide */
  int fd = open(sp->in[0] ? sp->in : "/dev/null", O_RDONLY | O_CLOEXEC);
  if (use_ns && enter_slot_ns(sp->ns, sp->err) != 0) {
    if (unshare(CLONE_NEWNS) != 0 || setup_pfs(sp->pfs, hide) != 0 || lock_mounts() != 0) {
      say(sp->err, "tusk-ns: cannot bind ", sp->pfs, " at /pfs: ", reason(errno), "\n", NULL);
      _exit(125);
    }
  }
  if (chdir(sp->work) != 0 && chdir("/") != 0) _exit(125);
  if (fd < 0 || dup2(fd, 0) < 0 || dup2(sp->out, 1) < 0 || dup2(sp->err, 2) < 0) _exit(125);
  execvpe(sp->args[0], sp->args, sp->envp);
  int e = errno;
  say(2, "tusk-ns: cannot start ", sp->args[0], ": ", e == ENOENT ? "command not found" : reason(e), "\n", NULL);
  _exit(e == ENOENT ? 127 : 126);
}

static void start(char **f, size_t nf) {
  /* f: id pfs work stdin envc env... argv... */
  if (nf >= 1 && strcmp(f[0], "=") == 0) {
    set_base_env(f, nf);
    return;
  }
  if (nf == 0) return; /* no ID: nothing to answer */
  const char *id = f[0];
  if (nf < 6) {
    refuse(id, "tusk-ns: malformed request: it needs an ID, PFS_DIR, WORK_DIR, STDIN_FILE, ENV_COUNT and a command\n");
    return;
  }
  const char *pfs = f[1], *work = f[2], *in = f[3];
  /* ENV_COUNT: digits only, and at most the strings left after it less one for the command
   * (compared that way round: 5 + envc could wrap) */
  char *end = NULL;
  errno = 0;
  unsigned long long envc_l = f[4][0] >= '0' && f[4][0] <= '9' ? strtoull(f[4], &end, 10) : 0;
  if (!end || *end || errno || envc_l > nf - 6) {
    refuse(id, "tusk-ns: malformed request: ENV_COUNT must be a number that leaves a command after the environment\n");
    return;
  }
  size_t envc = (size_t)envc_l;
  char **env = f + 5;
  char **args = f + 5 + envc;
  struct slot_ns *ns = use_ns ? slot_ns_for(pfs) : NULL;
  /* the command's own entries, then the base entries it does not override (built here: the
   * child must not allocate) */
  char **envp = malloc((envc + nbase + 1) * sizeof *envp);
  if (!envp) exit(125);
  size_t ne = 0;
  for (size_t i = 0; i < envc; i++) envp[ne++] = env[i];
  for (size_t i = 0; i < nbase; i++) {
    int overridden = 0;
    for (size_t j = 0; j < envc && !overridden; j++) overridden = same_key(base_env[i], env[j]);
    if (!overridden) envp[ne++] = base_env[i];
  }
  envp[ne] = NULL;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    free(envp);
    reply("X %s 126 0\n", id);
    return;
  }
  struct spawn sp = { ns, pfs, work, in, out[1], err[1], args, envp };
  pid_t pid = clone(datum_child, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &sp);
  free(envp);
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    close(out[0]);
    close(err[0]);
    reply("X %s 126 0\n", id);
    return;
  }
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  if (nkids == capkids) {
    capkids = capkids ? capkids * 2 : 16;
    kids = realloc(kids, capkids * sizeof *kids);
    if (!kids) exit(125);
  }
  struct child *c = &kids[nkids++];
  if (!(c->id = strdup(id))) exit(125);
  c->pid = pid;
  c->out = out[0];
  c->err = err[0];
  c->exited = 0;
  reply("S %s %d\n", c->id, (int)pid);
}

/* A child that exited: take what it left in its pipes, then report it. Output that processes it
 * left behind write later is not waited for (they would hold the datum open forever). */
static void finish(size_t i) {
  struct child *c = &kids[i];
  if (c->out >= 0) pump(c, &c->out, 'O');
  if (c->out >= 0) close(c->out);
  if (c->err >= 0) pump(c, &c->err, 'E');
  if (c->err >= 0) close(c->err);
  if (WIFSIGNALED(c->status)) reply("X %s -1 %d\n", c->id, WTERMSIG(c->status));
  else reply("X %s %d 0\n", c->id, WEXITSTATUS(c->status));
  free(c->id);
  kids[i] = kids[--nkids];
}

/* Start every complete request in IN (a count, then that many strings, any of them empty) and
 * drop them from it. A serial server starts one only while no command of its own runs: the rest
 * wait in IN, in order. */
static int serial;
static void take_requests(char *in, size_t *len) {
  size_t pos = 0;
  while (!serial || nkids == 0) {
    char *f[4096];
    size_t nf = 0, p = pos, want = 0;
    int complete = 0, counted = 0;
    while (p < *len) {
      char *z = memchr(in + p, 0, *len - p);
      if (!z) break;
      if (!counted) {
        want = strtoul(in + p, NULL, 10);
        counted = 1;
      } else if (nf < 4095) {
        f[nf++] = in + p;
      } else {
        nf++;
      }
      p = (size_t)(z - in) + 1;
      if (counted && nf == want) { complete = 1; break; }
    }
    if (!complete) break;
    if (nf < 4095) {
      f[nf] = NULL;
      start(f, nf);
    } else {
      refuse(f[0], "tusk-ns: malformed request: more than 4094 strings\n");
    }
    pos = p;
  }
  memmove(in, in + pos, *len - pos);
  *len -= pos;
}

static int serve(const char *tmp) {
  use_ns = tmp != NULL;
  int tty = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
  has_tty = tty >= 0;
  if (tty >= 0) close(tty);
  if (use_ns) {
    hide = hide_dir();
    enter_namespace();
    const char *root = build_root(tmp);
    /* after chroot, /proc is reachable only through the bound /proc: open it now. Without it
     * every datum gets a namespace of its own; TUSK_NS_PER_DATUM=1 asks for that (to compare,
     * or to step around a kernel where entering a kept namespace misbehaves) */
    const char *per_datum = getenv("TUSK_NS_PER_DATUM");
    if (!per_datum || strcmp(per_datum, "1") != 0) proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    enter_root(root);
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd");
  signal(SIGPIPE, SIG_IGN);
  fcntl(0, F_SETFD, FD_CLOEXEC);
  fcntl(1, F_SETFD, FD_CLOEXEC);
  reply("R\n");

  size_t cap = 1 << 16, len = 0;
  char *in = malloc(cap);
  if (!in) exit(125);
  struct pollfd *pfd = NULL;
  size_t cappfd = 0;
  int open_in = 1;
  while (open_in || nkids > 0) {
    size_t need = 2 + 2 * nkids;
    if (need > cappfd) {
      cappfd = need * 2;
      pfd = realloc(pfd, cappfd * sizeof *pfd);
      if (!pfd) exit(125);
    }
    size_t n = 0;
    pfd[n++] = (struct pollfd){ .fd = open_in ? 0 : -1, .events = POLLIN };
    pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
    for (size_t i = 0; i < nkids; i++) {
      pfd[n++] = (struct pollfd){ .fd = kids[i].out, .events = POLLIN };
      pfd[n++] = (struct pollfd){ .fd = kids[i].err, .events = POLLIN };
    }
    flush_out();
    if (poll(pfd, n, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    for (size_t i = 0; i < nkids; i++) {
      if (pfd[2 + 2 * i].revents) pump(&kids[i], &kids[i].out, 'O');
      if (pfd[3 + 2 * i].revents) pump(&kids[i], &kids[i].err, 'E');
    }
    if (pfd[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
      for (;;) {
        /* Find an exited child without reaping it: while it is a zombie its pid, and so its
         * process group's id, cannot be reused. What the datum left running in its group (a
         * `cmd &` it never waited for) is killed before the reap: a datum's processes end with
         * it, and nothing of it writes into its scratch tree once the next datum owns it. */
        siginfo_t exited;
        memset(&exited, 0, sizeof exited);
        if (waitid(P_ALL, 0, &exited, WEXITED | WNOHANG | WNOWAIT) != 0 || exited.si_pid == 0) break;
        pid_t pid = exited.si_pid;
        size_t i = 0;
        while (i < nkids && kids[i].pid != pid) i++;
        if (i < nkids) kill(-pid, SIGKILL);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        if (i < nkids) {
          kids[i].status = st;
          finish(i);
        }
      }
      /* a serial server starts the next queued request the moment its command ends, without
       * waiting for the caller to answer */
      if (serial) take_requests(in, &len);
    }
    if (pfd[0].revents) {
      if (len == cap) {
        cap *= 2;
        in = realloc(in, cap);
        if (!in) exit(125);
      }
      ssize_t r = read(0, in + len, cap - len);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        open_in = 0;
        len = 0; /* requests still queued are not started */
        for (size_t i = 0; i < nkids; i++) kill(-kids[i].pid, SIGKILL);
        continue;
      }
      len += (size_t)r;
      take_requests(in, &len);
    }
  }
  flush_out();
  return 0;
}

int main(int argc, char **argv) {
  /* only a server takes --serial: a one-shot command's own last argument is left alone */
  if (argc >= 3 && (strcmp(argv[1], "--serve") == 0 || strcmp(argv[1], "--serve-plain") == 0) && strcmp(argv[argc - 1], "--serial") == 0) {
    serial = 1;
    argc--;
  }
  if (argc == 3 && strcmp(argv[1], "--serve") == 0) return serve(argv[2]);
  if (argc == 2 && strcmp(argv[1], "--serve-plain") == 0) return serve(NULL);
  return run_once(argc, argv);
}
