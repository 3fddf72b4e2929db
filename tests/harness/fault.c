/*
 * The __wrap_ side of the fault injection harness (see fault.h).  Each
 * wrapper counts the call, fails it if a fault is armed for it, and
 * otherwise passes it to __real_ untouched.
 */
#include "fault.h"

#include <sys/types.h>

#include <sys/mman.h>
#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

ssize_t __real_read(int, void *, size_t);
ssize_t __real_write(int, const void *, size_t);
ssize_t __real_pwrite(int, const void *, size_t, off_t);
int __real_fsync(int);
int __real_syncfs(int);
int __real_fdatasync(int);
int __real_open(const char *, int, ...);
int __real_openat(int, const char *, int, ...);
int __real_close(int);
int __real_rename(const char *, const char *);
int __real_renameat(int, const char *, int, const char *);
int __real_renameat2(int, const char *, int, const char *, unsigned int);
int __real_link(const char *, const char *);
int __real_linkat(int, const char *, int, const char *, int);
int __real_unlink(const char *);
int __real_unlinkat(int, const char *, int);
ssize_t __real_getrandom(void *, size_t, unsigned int);
void __real_free(void *);
int __real_munmap(void *, size_t);

ssize_t __wrap_read(int, void *, size_t);
ssize_t __wrap_write(int, const void *, size_t);
ssize_t __wrap_pwrite(int, const void *, size_t, off_t);
int __wrap_fsync(int);
int __wrap_syncfs(int);
int __wrap_fdatasync(int);
int __wrap_open(const char *, int, ...);
int __wrap_openat(int, const char *, int, ...);
int __wrap_close(int);
int __wrap_rename(const char *, const char *);
int __wrap_renameat(int, const char *, int, const char *);
int __wrap_renameat2(int, const char *, int, const char *, unsigned int);
int __wrap_link(const char *, const char *);
int __wrap_linkat(int, const char *, int, const char *, int);
int __wrap_unlink(const char *);
int __wrap_unlinkat(int, const char *, int);
ssize_t __wrap_getrandom(void *, size_t, unsigned int);
void __wrap_free(void *);
int __wrap_munmap(void *, size_t);

/*
 * Test-only state: the harness lives in the runner, never in libcoffer,
 * so the project's "no mutable globals" rule does not reach it.
 */
struct fault_slot {
	unsigned calls;    /* since the last reset */
	unsigned injected; /* errors delivered since the last reset */
	int armed;
	int once;
	unsigned fail_from; /* index of the first call that fails */
	int errno_value;
	int short_armed;
	unsigned short_from;
	size_t short_max;
};

static struct fault_slot slots[FAULT_NOPS];

static struct {
	const void *p;
	size_t n;
	int result;
} watch = { NULL, 0, -1 };

void
fault_arm(enum fault_op op, unsigned after, int errno_value)
{
	struct fault_slot *s = &slots[op];

	s->armed = 1;
	s->once = 0;
	s->fail_from = __atomic_load_n(&s->calls, __ATOMIC_RELAXED) + after;
	s->errno_value = errno_value;
}

void
fault_arm_once(enum fault_op op, unsigned after, int errno_value)
{
	fault_arm(op, after, errno_value);
	slots[op].once = 1;
}

void
fault_arm_short(enum fault_op op, unsigned after, size_t max_bytes)
{
	struct fault_slot *s = &slots[op];

	if (op != FAULT_READ && op != FAULT_WRITE && op != FAULT_PWRITE &&
	    op != FAULT_GETRANDOM)
		abort(); /* a programmer error in the test */
	s->short_armed = 1;
	s->short_from = __atomic_load_n(&s->calls, __ATOMIC_RELAXED) + after;
	s->short_max = max_bytes == 0 ? 1 : max_bytes;
}

void
fault_reset(void)
{
	for (size_t i = 0; i < FAULT_NOPS; i++) {
		struct fault_slot zero = { 0 };

		slots[i] = zero;
	}
	watch.p = NULL;
	watch.n = 0;
	watch.result = -1;
}

unsigned
fault_calls(enum fault_op op)
{
	return (__atomic_load_n(&slots[op].calls, __ATOMIC_RELAXED));
}

unsigned
fault_injected(enum fault_op op)
{
	return (__atomic_load_n(&slots[op].injected, __ATOMIC_RELAXED));
}

void
fault_watch_release(const void *p, size_t n)
{
	watch.p = p;
	watch.n = n;
	watch.result = -1;
}

int
fault_watch_result(void)
{
	return (watch.result);
}

/*
 * Count a call of op; if it is to fail, set errno and return 1.  *len, when
 * given, is cut down by an armed short transfer.
 */
static int
fault_hit(enum fault_op op, size_t *len)
{
	struct fault_slot *s = &slots[op];
	/* The code under test may call from several threads at once. */
	unsigned idx = __atomic_fetch_add(&s->calls, 1, __ATOMIC_RELAXED);

	if (s->armed && idx >= s->fail_from &&
	    (!s->once || idx == s->fail_from)) {
		__atomic_fetch_add(&s->injected, 1, __ATOMIC_RELAXED);
		errno = s->errno_value;
		return (1);
	}
	if (len != NULL && s->short_armed && idx >= s->short_from &&
	    *len > s->short_max)
		*len = s->short_max;
	return (0);
}

ssize_t
__wrap_read(int fd, void *buf, size_t n)
{
	if (fault_hit(FAULT_READ, &n))
		return (-1);
	return (__real_read(fd, buf, n));
}

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
	if (fault_hit(FAULT_WRITE, &n))
		return (-1);
	return (__real_write(fd, buf, n));
}

ssize_t
__wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fault_hit(FAULT_PWRITE, &n))
		return (-1);
	return (__real_pwrite(fd, buf, n, off));
}

int
__wrap_fsync(int fd)
{
	if (fault_hit(FAULT_FSYNC, NULL))
		return (-1);
	return (__real_fsync(fd));
}

int
__wrap_syncfs(int fd)
{
	if (fault_hit(FAULT_SYNCFS, NULL))
		return (-1);
	return (__real_syncfs(fd));
}

int
__wrap_fdatasync(int fd)
{
	if (fault_hit(FAULT_FDATASYNC, NULL))
		return (-1);
	return (__real_fdatasync(fd));
}

/* The mode argument exists only when the flags create a file. */
static mode_t
open_mode(int flags, va_list ap)
{
	if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE)
		return ((mode_t)va_arg(ap, unsigned int));
	return (0);
}

int
__wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (fault_hit(FAULT_OPEN, NULL))
		return (-1);
	return (__real_open(path, flags, mode));
}

int
__wrap_openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (fault_hit(FAULT_OPENAT, NULL))
		return (-1);
	return (__real_openat(dirfd, path, flags, mode));
}

int
__wrap_close(int fd)
{
	if (fault_hit(FAULT_CLOSE, NULL)) {
		int saved = errno;

		/* Linux releases the descriptor even when close fails. */
		(void)__real_close(fd);
		errno = saved;
		return (-1);
	}
	return (__real_close(fd));
}

int
__wrap_rename(const char *from, const char *to)
{
	if (fault_hit(FAULT_RENAME, NULL))
		return (-1);
	return (__real_rename(from, to));
}

int
__wrap_renameat(int fromfd, const char *from, int tofd, const char *to)
{
	if (fault_hit(FAULT_RENAMEAT, NULL))
		return (-1);
	return (__real_renameat(fromfd, from, tofd, to));
}

int
__wrap_renameat2(int fromfd, const char *from, int tofd, const char *to,
    unsigned int flags)
{
	if (fault_hit(FAULT_RENAMEAT2, NULL))
		return (-1);
	return (__real_renameat2(fromfd, from, tofd, to, flags));
}

int
__wrap_link(const char *from, const char *to)
{
	if (fault_hit(FAULT_LINK, NULL))
		return (-1);
	return (__real_link(from, to));
}

int
__wrap_linkat(int fromfd, const char *from, int tofd, const char *to, int flags)
{
	if (fault_hit(FAULT_LINKAT, NULL))
		return (-1);
	return (__real_linkat(fromfd, from, tofd, to, flags));
}

int
__wrap_unlink(const char *path)
{
	if (fault_hit(FAULT_UNLINK, NULL))
		return (-1);
	return (__real_unlink(path));
}

int
__wrap_unlinkat(int dirfd, const char *path, int flags)
{
	if (fault_hit(FAULT_UNLINKAT, NULL))
		return (-1);
	return (__real_unlinkat(dirfd, path, flags));
}

ssize_t
__wrap_getrandom(void *buf, size_t n, unsigned int flags)
{
	if (fault_hit(FAULT_GETRANDOM, &n))
		return (-1);
	return (__real_getrandom(buf, n, flags));
}

/* The watch: note whether the watched block is all zeros as it goes. */
static void
fault_check_release(const void *p)
{
	const unsigned char *b = p;
	int zero = 1;

	if (p == NULL || p != watch.p)
		return;
	for (size_t i = 0; i < watch.n; i++)
		if (b[i] != 0)
			zero = 0;
	watch.result = zero;
	watch.p = NULL;
}

void
__wrap_free(void *p)
{
	fault_check_release(p);
	__real_free(p);
}

int
__wrap_munmap(void *p, size_t n)
{
	fault_check_release(p);
	return (__real_munmap(p, n));
}
