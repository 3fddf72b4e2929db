/*
 * Allocation that cannot fail, and wiping of secrets.  One less error path
 * everywhere: on out-of-memory (or a size that overflows) the process
 * prints "coffer: out of memory allocating N bytes: ..." to stderr and
 * ends with quick_exit(EXIT_ERROR), from whichever thread asked.  What
 * must be undone even then is registered with at_quick_exit (cli/ only:
 * lib/ keeps no such list).
 */
#ifndef COFFER_XMALLOC_H
#define COFFER_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * Keep allocations of up to 32 MiB (a chunk and its sealed form) on the
 * heap instead of in mappings of their own.  glibc maps each large block
 * afresh and unmaps it on free, so every page of every chunk a restore or
 * check reads faulted in again: on a 1 GiB restore to tmpfs, 48,000 to
 * 83,000 page faults and 1.0-1.5 s of system time, against 4,500 and
 * 0.4-0.45 s with the blocks kept (wall 1.6-2.0 s -> 1.05-1.1 s; peak
 * RSS 28 -> 29 MiB).  The memory held stays what the largest moment
 * needs; heap tops above 64 MiB free go back to the system.  Call once at
 * the start of main, before any thread.
 */
void xmalloc_keep_heap(void);

/* Overwrite n bytes at p with zeros in a way the compiler cannot elide. */
void wipe(void *p, size_t n);

/* wipe(p, n) then free(p); NULL is fine. */
void freezero(void *p, size_t n);

/* Wipe and free a NUL-terminated secret string; NULL is fine. */
void freezero_str(char *);

#endif
