/*
 * Fault injection for unit tests: the runner is linked with
 * -Wl,--wrap=F for every F in wrap.list, so calls to F from coffer's code
 * (and from the statically linked Check library) land in __wrap_F here.
 * Nothing is changed unless a fault is armed: arm just around the code
 * under test, and disarm (fault_reset) before asserting.  Tests run in
 * forked children, so an armed fault cannot leak into the next test; add
 * fault_reset as a checked fixture to be safe under CK_FORK=no too.
 */
#ifndef COFFER_FAULT_H
#define COFFER_FAULT_H

#include <stddef.h>

enum fault_op {
	FAULT_READ = 0,
	FAULT_WRITE,
	FAULT_PWRITE,
	FAULT_FSYNC,
	FAULT_FDATASYNC,
	FAULT_OPEN,
	FAULT_OPENAT,
	FAULT_CLOSE, /* the descriptor is closed anyway, as Linux does */
	FAULT_RENAME,
	FAULT_RENAMEAT,
	FAULT_RENAMEAT2,
	FAULT_LINK,
	FAULT_LINKAT,
	FAULT_UNLINK,
	FAULT_UNLINKAT,
	FAULT_GETRANDOM,
	FAULT_SYNCFS,
	FAULT_NOPS
};

/*
 * Let the next `after` calls of op through, then fail every later call
 * with errno_value (a full disk stays full) until fault_reset().
 */
void fault_arm(enum fault_op op, unsigned after, int errno_value);

/* Like fault_arm, but only call number after + 1 fails (EINTR, a blip). */
void fault_arm_once(enum fault_op op, unsigned after, int errno_value);

/*
 * op is FAULT_READ, FAULT_WRITE, FAULT_PWRITE or FAULT_GETRANDOM (anything
 * else aborts): after `after` calls, each
 * call transfers at most max_bytes (at least 1) of what it was asked for,
 * until fault_reset().  Combines with an armed error, which wins.
 */
void fault_arm_short(enum fault_op op, unsigned after, size_t max_bytes);

/* Disarm everything and zero the counters. */
void fault_reset(void);

/* Calls of op seen since the last fault_reset (armed or not). */
unsigned fault_calls(enum fault_op op);

/* Errors injected into op since the last fault_reset. */
unsigned fault_injected(enum fault_op op);

/*
 * Watch for free(p) or munmap(p, ...): when it happens, record whether the
 * n bytes at p were all zero just before.  Proves that a secret was wiped
 * before its memory went back to the allocator or the kernel.  One watch at
 * a time; fault_reset clears it.
 */
void fault_watch_release(const void *p, size_t n);

/* -1: not released yet; 0: released with a non-zero byte; 1: wiped. */
int fault_watch_result(void);

#endif
