/*
 * tusk-ns: run pipeline user code where the datum's scratch directory is /pfs, as Pachyderm's
 * containers see it, in a private user + mount namespace. No root needed.
 *
 *   tusk-ns PFS_DIR WORK_DIR TMP_DIR -- CMD [ARGS...]     run one command
 *   tusk-ns --serve TMP_DIR                               run many, one request at a time or several at once
 *   tusk-ns --serve-plain                                 the same without namespaces (/pfs is rewritten by the caller)
 *
 * The new root is a tmpfs holding a recursive bind of every top-level host directory (so
 * programs, libraries and the store stay reachable) plus the datum's scratch bound at /pfs. The
 * user's uid and gid are mapped to themselves, so code runs without privileges and the files it
 * writes belong to the caller. Exit status 125 means the namespace could not be set up (the
 * caller then falls back to rewriting /pfs paths).
 *
 * Why a server: building the root costs ~5 ms of kernel work (every recursive bind copies its
 * submounts) and a fork of the node process costs more than a fork of this one. The server builds
 * the root once; each datum is then fork + unshare(CLONE_NEWNS) + one bind mount + exec, ~50 µs
 * beyond what a shell pays to run the same command.
 *
 * Server protocol. Requests on stdin, each a count N then N strings, all NUL-terminated:
 *   N ID PFS_DIR WORK_DIR STDIN_FILE ENV_COUNT ENV... ARGV...
 * (STDIN_FILE empty: /dev/null; arguments may be empty strings.) A request with ID "=" instead
 * sets the base environment every later command starts from: `N = ENV...`; a command's own ENV
 * entries override it. (The base is sent once per job, not with each of 10,000 datums.) Replies on stdout, one header line each:
 *   R                      ready (sent once, after the namespace is set up)
 *   S ID PID               started; PID leads its own process group (kill -PID stops the tree)
 *   O ID LEN \n BYTES      LEN bytes the command wrote to stdout
 *   E ID LEN \n BYTES      ... to stderr
 *   X ID CODE SIGNAL       ended (CODE -1 when killed by SIGNAL); every O/E of ID came before
 * On EOF of stdin every running command's process group is killed and the server exits.
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
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void die(const char *step) {
  fprintf(stderr, "tusk-ns: %s: %s\n", step, strerror(errno));
  exit(125);
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
  char dst[4096];
  snprintf(dst, sizeof dst, "%s/pfs", root);
  if (mount(pfs_real, dst, NULL, MS_BIND | MS_REC, NULL) != 0) die("bind /pfs");
  if (chroot(root) != 0) die("chroot");
  if (chdir(work) != 0 && chdir("/") != 0) die("chdir");
  execvp(argv[5], argv + 5);
  fprintf(stderr, "tusk-ns: cannot start %s: %s\n", argv[5], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}

/* ─── server ─────────────────────────────────────────────────────────────────────────────── */

struct child {
  char id[80];
  pid_t pid;
  int out, err; /* read ends, -1 once closed */
  int exited, status;
};

static struct child *kids;
static char **base_env;
static size_t nbase;
static size_t nkids, capkids;
static int use_ns;

static void put_all(const void *buf, size_t len) {
  const char *p = buf;
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

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  put_all(line, (size_t)n);
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

static void set_base_env(char **f, size_t nf) {
  for (size_t i = 0; i < nbase; i++) free(base_env[i]);
  free(base_env);
  nbase = 0;
  base_env = malloc(nf * sizeof *base_env);
  if (!base_env) exit(125);
  for (size_t i = 1; i < nf; i++) base_env[nbase++] = strdup(f[i]);
}

static int same_key(const char *a, const char *b) {
  while (*a && *a != '=' && *a == *b) a++, b++;
  return *a == '=' && *b == '=';
}

static void start(char **f, size_t nf) {
  /* f: id pfs work stdin envc env... argv... */
  if (nf >= 1 && strcmp(f[0], "=") == 0) {
    set_base_env(f, nf);
    return;
  }
  if (nf < 6) return;
  const char *id = f[0], *pfs = f[1], *work = f[2], *in = f[3];
  size_t envc = strtoul(f[4], NULL, 10);
  if (5 + envc >= nf) return;
  char **env = f + 5;
  char **args = f + 5 + envc;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    reply("X %s 126 0\n", id);
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    setsid();
    if (use_ns) {
      if (unshare(CLONE_NEWNS) != 0 || mount(pfs, "/pfs", NULL, MS_BIND | MS_REC, NULL) != 0) {
        dprintf(err[1], "tusk-ns: cannot bind %s at /pfs: %s\n", pfs, strerror(errno));
        _exit(125);
      }
    }
    if (chdir(work) != 0 && chdir("/") != 0) _exit(125);
    int fd = open(in[0] ? in : "/dev/null", O_RDONLY);
    if (fd < 0 || dup2(fd, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(125);
    /* the command's own entries, then the base entries it does not override */
    char **envp = malloc((envc + nbase + 1) * sizeof *envp);
    if (!envp) _exit(125);
    size_t ne = 0;
    for (size_t i = 0; i < envc; i++) envp[ne++] = env[i];
    for (size_t i = 0; i < nbase; i++) {
      int overridden = 0;
      for (size_t j = 0; j < envc && !overridden; j++) overridden = same_key(base_env[i], env[j]);
      if (!overridden) envp[ne++] = base_env[i];
    }
    envp[ne] = NULL;
    environ = envp;
    execvp(args[0], args);
    fprintf(stderr, "tusk-ns: cannot start %s: %s\n", args[0], errno == ENOENT ? "command not found" : strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
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
  snprintf(c->id, sizeof c->id, "%s", id);
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
  kids[i] = kids[--nkids];
}

static int serve(const char *tmp) {
  use_ns = tmp != NULL;
  if (use_ns) {
    enter_namespace();
    const char *root = build_root(tmp);
    if (chroot(root) != 0) die("chroot");
    if (chdir("/") != 0) die("chdir");
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
      int st;
      pid_t pid;
      while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        for (size_t i = 0; i < nkids; i++)
          if (kids[i].pid == pid) {
            kids[i].status = st;
            finish(i);
            break;
          }
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
        for (size_t i = 0; i < nkids; i++) kill(-kids[i].pid, SIGKILL);
        continue;
      }
      len += (size_t)r;
      /* take every complete request: a count, then that many strings (any may be empty) */
      size_t pos = 0;
      for (;;) {
        char *f[4096];
        size_t nf = 0, p = pos, want = 0;
        int complete = 0, counted = 0;
        while (p < len) {
          char *z = memchr(in + p, 0, len - p);
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
          reply("X %s 126 0\n", nf ? f[0] : "?");
        }
        pos = p;
      }
      memmove(in, in + pos, len - pos);
      len -= pos;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--serve") == 0) return serve(argv[2]);
  if (argc == 2 && strcmp(argv[1], "--serve-plain") == 0) return serve(NULL);
  return run_once(argc, argv);
}
