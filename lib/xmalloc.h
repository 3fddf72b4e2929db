/*
 * Allocation that cannot fail (it aborts with a message on out-of-memory),
 * and wiping of secrets.  One less error path everywhere.
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
