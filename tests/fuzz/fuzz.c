/*
 * The helpers of fuzz.h.  Linked into every target; nothing here is
 * fuzzed.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return (s);
}

static char scratch[4096];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return (0);
}

static void
rm_scratch(void)
{
	if (scratch[0] != '\0')
		nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fuzz_dir(void)
{
	const char *tmp;

	if (scratch[0] != '\0')
		return (scratch);
	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(scratch, sizeof(scratch), "%s/coffer-fuzz.XXXXXX", tmp);
	if (mkdtemp(scratch) == NULL) {
		perror(scratch);
		abort();
	}
	atexit(rm_scratch);
	return (scratch);
}

void
fuzz_write_file(const char *path, const void *data, size_t size)
{
	const uint8_t *p = data;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		perror(path);
		abort();
	}
	while (size > 0) {
		ssize_t w = write(fd, p, size);

		if (w <= 0) {
			perror(path);
			abort();
		}
		p += w;
		size -= (size_t)w;
	}
	if (close(fd) == -1)
		abort();
}

char *
fuzz_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p == NULL)
		abort();
	snprintf(p, n, "%s/%s", dir, name);
	return (p);
}
