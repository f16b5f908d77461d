/*
 * A fault-injection shim for mlreg's tests, loaded with LD_PRELOAD (built by test/faults/shim.ts).
 * It counts the calls that touch paths under MLREG_FAULT_PREFIX (open/openat by path; read, write,
 * fsync and close by the file descriptors those opens returned; rename by path) and fails the
 * MLREG_FAULT_AT-th of them: with EIO or ENOSPC, or by killing the process (CRASH). Everything else,
 * Node's own start included, passes through untouched.
 *
 *   MLREG_FAULT_PREFIX  absolute path prefix (required; without it the shim does nothing)
 *   MLREG_FAULT_OPS     comma list of open,read,write,fsync,rename,unlink (unlink and rmdir; default: all)
 *   MLREG_FAULT_AT      1-based index of the call to fail; 0 or unset: only count
 *   MLREG_FAULT_ERR     EIO | ENOSPC | EINVAL | CRASH (default EIO)
 *   MLREG_FAULT_COUNT   file to which the number of matching calls is appended at exit
 *   MLREG_FAULT_LOG     file to which the failed call is appended ("op path")
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD 65536
#define OP_OPEN 1
#define OP_READ 2
#define OP_WRITE 4
#define OP_FSYNC 8
#define OP_RENAME 16
#define OP_UNLINK 32

static const char *prefix;
static size_t prefix_len;
static int ops = 63;
static long fail_at;
static int fail_err = EIO;
static int crash;
static long counter;
static unsigned char tracked[MAX_FD];

__attribute__((constructor)) static void init(void) {
  prefix = getenv("MLREG_FAULT_PREFIX");
  prefix_len = prefix ? strlen(prefix) : 0;
  const char *o = getenv("MLREG_FAULT_OPS");
  if (o && *o) {
    ops = 0;
    if (strstr(o, "open")) ops |= OP_OPEN;
    if (strstr(o, "read")) ops |= OP_READ;
    if (strstr(o, "write")) ops |= OP_WRITE;
    if (strstr(o, "fsync")) ops |= OP_FSYNC;
    if (strstr(o, "rename")) ops |= OP_RENAME;
    if (strstr(o, "unlink")) ops |= OP_UNLINK;
  }
  const char *at = getenv("MLREG_FAULT_AT");
  fail_at = at ? atol(at) : 0;
  const char *e = getenv("MLREG_FAULT_ERR");
  if (e && !strcmp(e, "ENOSPC")) fail_err = ENOSPC;
  else if (e && !strcmp(e, "EINVAL")) fail_err = EINVAL;
  else if (e && !strcmp(e, "CRASH")) crash = 1;
}

__attribute__((destructor)) static void fini(void) {
  const char *out = getenv("MLREG_FAULT_COUNT");
  if (!prefix || !out) return;
  FILE *f = fopen(out, "a");
  if (!f) return;
  fprintf(f, "%ld\n", __atomic_load_n(&counter, __ATOMIC_SEQ_CST));
  fclose(f);
}

static int under(const char *path) { return prefix && path && !strncmp(path, prefix, prefix_len); }
static int is_tracked(int fd) { return prefix && fd >= 0 && fd < MAX_FD && tracked[fd]; }

static void note(const char *op, const char *what) {
  const char *log = getenv("MLREG_FAULT_LOG");
  if (!log) return;
  FILE *f = fopen(log, "a");
  if (!f) return;
  fprintf(f, "%s %s\n", op, what ? what : "");
  fclose(f);
}

/* 1 when this call is the one to fail (errno is set), after crashing if asked to. */
static int hit(int op, const char *opname, const char *what) {
  if (!(ops & op)) return 0;
  long n = __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
  if (fail_at <= 0 || n != fail_at) return 0;
  note(opname, what);
  if (crash) kill(getpid(), SIGKILL);
  errno = fail_err;
  return 1;
}

#define REAL(name, ret, ...)                                                   \
  static ret (*real_##name)(__VA_ARGS__);                                      \
  if (!real_##name) real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name);

/*
 * Set on every open, not only under the prefix: libuv closes files with syscall(SYS_close), which
 * close() below never sees, so a number reused by a later open of another file must be cleared here
 * (else a fault meant for the archive lands on, say, a module Node reads next).
 */
static void track(int fd, const char *path) {
  if (fd >= 0 && fd < MAX_FD) tracked[fd] = under(path) ? 1 : 0;
}

#define OPEN_BODY(name, callargs)                                                \
  mode_t mode = 0;                                                               \
  if (flags & (O_CREAT | O_TMPFILE)) {                                           \
    va_list ap;                                                                  \
    va_start(ap, flags);                                                         \
    mode = va_arg(ap, int);                                                      \
    va_end(ap);                                                                  \
  }                                                                              \
  if (under(path) && hit(OP_OPEN, "open", path)) return -1;                      \
  int fd = callargs;                                                             \
  track(fd, path);                                                               \
  return fd;

int open(const char *path, int flags, ...) {
  REAL(open, int, const char *, int, ...)
  OPEN_BODY(open, real_open(path, flags, mode))
}
int open64(const char *path, int flags, ...) {
  REAL(open64, int, const char *, int, ...)
  OPEN_BODY(open64, real_open64(path, flags, mode))
}
int openat(int dirfd, const char *path, int flags, ...) {
  REAL(openat, int, int, const char *, int, ...)
  OPEN_BODY(openat, real_openat(dirfd, path, flags, mode))
}
int openat64(int dirfd, const char *path, int flags, ...) {
  REAL(openat64, int, int, const char *, int, ...)
  OPEN_BODY(openat64, real_openat64(dirfd, path, flags, mode))
}

int close(int fd) {
  REAL(close, int, int)
  if (fd >= 0 && fd < MAX_FD) tracked[fd] = 0;
  return real_close(fd);
}

#define FD_CALL(op, opname, name, ret, params, args)                           \
  ret name params {                                                            \
    static ret(*real) params;                                                  \
    if (!real) real = (ret(*) params)dlsym(RTLD_NEXT, #name);                  \
    if (is_tracked(fd) && hit(op, opname, #name)) return -1;                   \
    return real args;                                                          \
  }

FD_CALL(OP_READ, "read", read, ssize_t, (int fd, void *b, size_t n), (fd, b, n))
FD_CALL(OP_READ, "read", pread, ssize_t, (int fd, void *b, size_t n, off_t o), (fd, b, n, o))
FD_CALL(OP_READ, "read", pread64, ssize_t, (int fd, void *b, size_t n, off64_t o), (fd, b, n, o))
FD_CALL(OP_READ, "read", readv, ssize_t, (int fd, const struct iovec *v, int c), (fd, v, c))
FD_CALL(OP_READ, "read", preadv, ssize_t, (int fd, const struct iovec *v, int c, off_t o), (fd, v, c, o))
FD_CALL(OP_READ, "read", preadv64, ssize_t, (int fd, const struct iovec *v, int c, off64_t o), (fd, v, c, o))
FD_CALL(OP_WRITE, "write", write, ssize_t, (int fd, const void *b, size_t n), (fd, b, n))
FD_CALL(OP_WRITE, "write", pwrite, ssize_t, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
FD_CALL(OP_WRITE, "write", pwrite64, ssize_t, (int fd, const void *b, size_t n, off64_t o), (fd, b, n, o))
FD_CALL(OP_WRITE, "write", writev, ssize_t, (int fd, const struct iovec *v, int c), (fd, v, c))
FD_CALL(OP_WRITE, "write", pwritev, ssize_t, (int fd, const struct iovec *v, int c, off_t o), (fd, v, c, o))
FD_CALL(OP_WRITE, "write", pwritev64, ssize_t, (int fd, const struct iovec *v, int c, off64_t o), (fd, v, c, o))
FD_CALL(OP_FSYNC, "fsync", fsync, int, (int fd), (fd))
FD_CALL(OP_FSYNC, "fsync", fdatasync, int, (int fd), (fd))

int rename(const char *from, const char *to) {
  REAL(rename, int, const char *, const char *)
  if (under(from) && hit(OP_RENAME, "rename", from)) return -1;
  return real_rename(from, to);
}
int renameat(int fd1, const char *from, int fd2, const char *to) {
  REAL(renameat, int, int, const char *, int, const char *)
  if (under(from) && hit(OP_RENAME, "rename", from)) return -1;
  return real_renameat(fd1, from, fd2, to);
}

int unlink(const char *path) {
  REAL(unlink, int, const char *)
  if (under(path) && hit(OP_UNLINK, "unlink", path)) return -1;
  return real_unlink(path);
}
int unlinkat(int dirfd, const char *path, int flags) {
  REAL(unlinkat, int, int, const char *, int)
  if (under(path) && hit(OP_UNLINK, "unlink", path)) return -1;
  return real_unlinkat(dirfd, path, flags);
}
int rmdir(const char *path) {
  REAL(rmdir, int, const char *)
  if (under(path) && hit(OP_UNLINK, "unlink", path)) return -1;
  return real_rmdir(path);
}
