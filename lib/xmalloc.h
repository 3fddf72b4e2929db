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

/* Overwrite n bytes at p with zeros in a way the compiler cannot elide. */
void wipe(void *p, size_t n);

/* wipe(p, n) then free(p); NULL is fine. */
void freezero(void *p, size_t n);

/* Wipe and free a NUL-terminated secret string; NULL is fine. */
void freezero_str(char *);

#endif
