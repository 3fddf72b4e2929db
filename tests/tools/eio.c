/*
 * eio.so: an LD_PRELOAD shim that makes the calls which put data on disk
 * fail with EIO, so that tests produce I/O errors for real on any file
 * system (tests/e2e/16-eio.sh).  Not linked with libcoffer: the Makefile
 * builds it, without sanitizers, as $(BUILD)/tests/tools/eio.so.
 *
 *	LD_PRELOAD=.../eio.so EIO_CALLS=fsync EIO_NTH=3 coffer ...
 *
 *   EIO_CALLS=LIST  the calls that may fail, comma-separated, of: write
 *                   (also writev), pwrite (also pwrite64, pwritev), fsync,
 *                   fdatasync, rename (also renameat, renameat2).  Default:
 *                   all of them.
 *   EIO_PATH=GLOB   only calls on a file whose absolute path matches GLOB
 *                   (fnmatch(3) without flags: '*' matches '/' too).  For a
 *                   descriptor the path is what /proc/self/fd/N names; a
 *                   rename matches by either of its names.
 *   EIO_NTH=N       fail the Nth matching call only; "N+" fails it and every
 *                   later one.  Default "1+": every matching call.
 *   EIO_LOG=FILE    append one line per failure made ("eio: CALL PATH"), so
 *                   that a test can tell its fault did happen.
 *
 * Only calls on regular files (and, for fsync and fdatasync, directories)
 * count: writes to a terminal, a pipe or a socket go through untouched, so
 * that the program can still say what went wrong.
 */
#include <sys/types.h>

#include <sys/stat.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The shim's own entry points, declared for -Wmissing-prototypes. */
ssize_t pwrite64(int, const void *, size_t, off_t);
int renameat2(int, const char *, int, const char *, unsigned int);

enum {
	C_WRITE = 1,
	C_PWRITE = 2,
	C_FSYNC = 4,
	C_FDATASYNC = 8,
	C_RENAME = 16,
	C_ALL = 31
};

/* Read from the environment once; the counter is shared by all threads. */
static int inited;
static int calls;
static const char *glob;
static const char *logpath;
static unsigned long nth = 1;
static int sticky = 1;
static unsigned long seen;

static void
init(void)
{
	const char *s;
	char *end;

	if (__atomic_load_n(&inited, __ATOMIC_ACQUIRE))
		return;
	if ((s = getenv("EIO_CALLS")) == NULL || *s == '\0')
		calls = C_ALL;
	else {
		calls = 0;
		while (*s != '\0') {
			size_t n = strcspn(s, ",");

			if (n == 5 && strncmp(s, "write", n) == 0)
				calls |= C_WRITE;
			else if (n == 6 && strncmp(s, "pwrite", n) == 0)
				calls |= C_PWRITE;
			else if (n == 5 && strncmp(s, "fsync", n) == 0)
				calls |= C_FSYNC;
			else if (n == 9 && strncmp(s, "fdatasync", n) == 0)
				calls |= C_FDATASYNC;
			else if (n == 6 && strncmp(s, "rename", n) == 0)
				calls |= C_RENAME;
			else if (n > 0)
				abort(); /* a typo would test nothing */
			s += n;
			if (*s == ',')
				s++;
		}
	}
	if ((s = getenv("EIO_PATH")) != NULL && *s != '\0')
		glob = s;
	if ((s = getenv("EIO_LOG")) != NULL && *s != '\0')
		logpath = s;
	if ((s = getenv("EIO_NTH")) != NULL && *s != '\0') {
		nth = strtoul(s, &end, 10);
		sticky = *end == '+';
		if (nth == 0)
			nth = 1;
	}
	__atomic_store_n(&inited, 1, __ATOMIC_RELEASE);
}

static void *
next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL)
		abort(); /* a libc without it: the test cannot run */
	return (p);
}

/* real: the next definition of fn (libc's, or a sanitizer's wrapper). */
#define REAL(fn)                                                               \
	static __typeof__(&fn) real;                                           \
	if (real == NULL)                                                      \
	real = (__typeof__(&fn))next(#fn)

/* The path of a descriptor, or "" when it has none. */
static void
fd_path(int fd, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, buf, size - 1)) < 0)
		n = 0;
	buf[n] = '\0';
}

/* The absolute path of name relative to dirfd. */
static void
at_path(int dirfd, const char *name, char *buf, size_t size)
{
	char dir[PATH_MAX];

	if (name[0] == '/')
		snprintf(buf, size, "%s", name);
	else if (dirfd == AT_FDCWD) {
		if (getcwd(dir, sizeof(dir)) == NULL)
			dir[0] = '\0';
		snprintf(buf, size, "%s/%s", dir, name);
	} else {
		fd_path(dirfd, dir, sizeof(dir));
		snprintf(buf, size, "%s/%s", dir, name);
	}
}

static void
log_fault(const char *what, const char *path)
{
	REAL(write);
	char line[2 * PATH_MAX + 64];
	int fd, n;

	if (logpath == NULL)
		return;
	n = snprintf(line, sizeof(line), "eio: %s %s\n", what, path);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)strlen(line);
	if ((fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	         0644)) == -1)
		return;
	(void)real(fd, line, (size_t)n);
	close(fd);
}

/* Whether this call, of kind c on path, is the one to fail. */
static int
hit(int c, const char *what, const char *path, const char *path2)
{
	unsigned long n;

	init();
	if ((calls & c) == 0)
		return (0);
	if (glob != NULL && fnmatch(glob, path, 0) != 0 &&
	    (path2 == NULL || fnmatch(glob, path2, 0) != 0))
		return (0);
	n = __atomic_add_fetch(&seen, 1, __ATOMIC_SEQ_CST);
	if (n < nth || (n > nth && !sticky))
		return (0);
	log_fault(what, path);
	return (1);
}

/* Whether a call of kind c on descriptor fd is the one to fail. */
static int
fd_hit(int c, const char *what, int fd, int dirs_too)
{
	char path[PATH_MAX];
	struct stat sb;
	int saved = errno, r;

	init();
	if ((calls & c) == 0)
		return (0);
	if (fstat(fd, &sb) == -1 ||
	    !(S_ISREG(sb.st_mode) || (dirs_too && S_ISDIR(sb.st_mode))))
		r = 0;
	else {
		fd_path(fd, path, sizeof(path));
		r = hit(c, what, path, NULL);
	}
	errno = saved;
	return (r);
}

static int
fail_int(void)
{
	errno = EIO;
	return (-1);
}

static ssize_t
fail_ssize(void)
{
	errno = EIO;
	return (-1);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	REAL(write);

	if (fd_hit(C_WRITE, "write", fd, 0))
		return (fail_ssize());
	return (real(fd, buf, len));
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	REAL(writev);

	if (fd_hit(C_WRITE, "writev", fd, 0))
		return (fail_ssize());
	return (real(fd, iov, n));
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	REAL(pwrite);

	if (fd_hit(C_PWRITE, "pwrite", fd, 0))
		return (fail_ssize());
	return (real(fd, buf, len, off));
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	REAL(pwrite64);

	if (fd_hit(C_PWRITE, "pwrite", fd, 0))
		return (fail_ssize());
	return (real(fd, buf, len, off));
}

ssize_t
pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	REAL(pwritev);

	if (fd_hit(C_PWRITE, "pwritev", fd, 0))
		return (fail_ssize());
	return (real(fd, iov, n, off));
}

int
fsync(int fd)
{
	REAL(fsync);

	if (fd_hit(C_FSYNC, "fsync", fd, 1))
		return (fail_int());
	return (real(fd));
}

int
fdatasync(int fd)
{
	REAL(fdatasync);

	if (fd_hit(C_FDATASYNC, "fdatasync", fd, 1))
		return (fail_int());
	return (real(fd));
}

static int
rename_hit(int olddirfd, const char *from, int newdirfd, const char *to)
{
	char a[2 * PATH_MAX + 2], b[2 * PATH_MAX + 2];
	int saved = errno, r;

	init();
	if ((calls & C_RENAME) == 0)
		return (0);
	at_path(olddirfd, from, a, sizeof(a));
	at_path(newdirfd, to, b, sizeof(b));
	r = hit(C_RENAME, "rename", b, a);
	errno = saved;
	return (r);
}

int
rename(const char *from, const char *to)
{
	REAL(rename);

	if (rename_hit(AT_FDCWD, from, AT_FDCWD, to))
		return (fail_int());
	return (real(from, to));
}

int
renameat(int olddirfd, const char *from, int newdirfd, const char *to)
{
	REAL(renameat);

	if (rename_hit(olddirfd, from, newdirfd, to))
		return (fail_int());
	return (real(olddirfd, from, newdirfd, to));
}

int
renameat2(int olddirfd, const char *from, int newdirfd, const char *to,
    unsigned int flags)
{
	REAL(renameat2);

	if (rename_hit(olddirfd, from, newdirfd, to))
		return (fail_int());
	return (real(olddirfd, from, newdirfd, to, flags));
}
