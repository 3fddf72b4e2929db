/*
 * Allocators that end the process on out-of-memory, and secret wiping.
 */
#include "xmalloc.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/*
 * One line and exit status 1 (EXIT_ERROR), never a core: an address-space
 * limit (ulimit -v) is the usual cause, not a bug.  quick_exit runs only
 * the at_quick_exit handlers (cli/main.c removes the lock files it holds),
 * not atexit ones nor destructors, which would free what the other
 * threads are still using.  Writing to stderr, unbuffered, allocates
 * nothing.
 */
static void __attribute__((noreturn)) oom(size_t n)
{
	if (n > 0)
		fprintf(stderr, "coffer: out of memory allocating %zu bytes",
		    n);
	else
		fprintf(stderr, "coffer: out of memory");
	fprintf(stderr,
	    ": raise the address-space limit (ulimit -v) or free memory, "
	    "then run again\n");
	quick_exit(EXIT_ERROR);
}

void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		oom(n);
	return (p);
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if ((p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size)) == NULL)
		oom(nmemb * size);
	return (p);
}

void *
xreallocarray(void *old, size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		oom(SIZE_MAX);
	if ((p = realloc(old, nmemb * size == 0 ? 1 : nmemb * size)) == NULL)
		oom(nmemb * size);
	return (p);
}

char *
xstrdup(const char *s)
{
	return (xstrndup(s, strlen(s)));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return (p);
}

void
wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void
freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	wipe(p, n);
	free(p);
}

void
freezero_str(char *s)
{
	if (s != NULL)
		freezero(s, strlen(s));
}

void
xmalloc_keep_heap(void)
{
	/* A tuning: glibc keeps its defaults when it refuses. */
	(void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
}
