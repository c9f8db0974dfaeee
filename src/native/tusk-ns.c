/*
 * tusk-ns: run a command in a private user + mount namespace where the datum's scratch
 * directory is /pfs, as Pachyderm's containers see it. No root needed.
 *
 *   tusk-ns PFS_DIR WORK_DIR TMP_DIR -- CMD [ARGS...]
 *
 * The new root is a tmpfs holding a recursive bind of every top-level host directory (so
 * programs, libraries and the store stay reachable) plus PFS_DIR bound at /pfs. Done in one
 * process with direct system calls: the same setup as a shell script costs ~25 execs per datum.
 * The user's uid and gid are mapped to themselves, so the command runs without privileges and
 * the files it writes belong to the caller. Exit status 125 means the namespace could not be
 * set up (the caller then falls back to rewriting /pfs paths).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

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

int main(int argc, char **argv) {
  if (argc < 6 || strcmp(argv[4], "--") != 0) {
    fprintf(stderr, "usage: tusk-ns PFS_DIR WORK_DIR TMP_DIR -- CMD [ARGS...]\n");
    return 125;
  }
  const char *pfs = argv[1], *work = argv[2], *tmp = argv[3];
  char pfs_real[4096];
  if (!realpath(pfs, pfs_real)) die("realpath pfs");
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

  char root[4096];
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
  if (mount(pfs_real, dst, NULL, MS_BIND | MS_REC, NULL) != 0) die("bind /pfs");
  if (chroot(root) != 0) die("chroot");
  if (chdir(work) != 0 && chdir("/") != 0) die("chdir");
  execvp(argv[5], argv + 5);
  fprintf(stderr, "tusk-ns: cannot start %s: %s\n", argv[5], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}
