/*
 * Test helpers: scratch directories, file contents, fd capture.
 */
#include "tutil.h"

#include <sys/types.h>

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "xmalloc.h"

/* Test-only state, set in the runner before the children fork. */
static char *scratch;

static char *
tutil_mkdtemp_in(const char *base)
{
	char *dir = xasprintf("%s/coffer-unit-XXXXXX", base);

	if (mkdtemp(dir) == NULL)
		ck_abort_msg("mkdtemp %s: %s", dir, strerror(errno));
	return (dir);
}

static const char *
tutil_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	return (base == NULL || *base == '\0' ? "/tmp" : base);
}

void
tutil_scratch_setup(void)
{
	if (scratch == NULL)
		scratch = tutil_mkdtemp_in(tutil_tmpdir());
}

void
tutil_scratch_teardown(void)
{
	tutil_rmtree(scratch);
	free(scratch);
	scratch = NULL;
}

char *
tutil_mkdtemp(void)
{
	return (tutil_mkdtemp_in(scratch != NULL ? scratch : tutil_tmpdir()));
}

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return (rmdir(path));
	return (unlink(path));
}

void
tutil_rmtree(const char *dir)
{
	if (dir != NULL)
		(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *
tutil_path(const char *dir, const char *name)
{
	return (xasprintf("%s/%s", dir, name));
}

void
tutil_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	const char *p = data;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd == -1)
		ck_abort_msg("open %s: %s", path, strerror(errno));
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			ck_abort_msg("write %s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) == -1 || close(fd) == -1)
		ck_abort_msg("chmod/close %s: %s", path, strerror(errno));
}

char *
tutil_read_all(int fd, size_t *lenp)
{
	size_t len = 0, cap = 256;
	char *buf = xmalloc(cap);

	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			buf = xreallocarray(buf, 2, cap);
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			ck_abort_msg("read: %s", strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return (buf);
}

char *
tutil_read_file(const char *path, size_t *lenp)
{
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return (NULL);
		ck_abort_msg("open %s: %s", path, strerror(errno));
	}
	buf = tutil_read_all(fd, lenp);
	close(fd);
	return (buf);
}

/* Visit the entries of dir whose name contains needle; stop at first if
 * firstp is given, storing "dir/NAME" there. */
static int
tutil_scan(const char *dir, const char *needle, char **firstp)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		ck_abort_msg("opendir %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strstr(de->d_name, needle) == NULL)
			continue;
		n++;
		if (firstp != NULL) {
			*firstp = tutil_path(dir, de->d_name);
			break;
		}
	}
	closedir(d);
	return (n);
}

int
tutil_count_entries(const char *dir, const char *needle)
{
	return (tutil_scan(dir, needle, NULL));
}

char *
tutil_find_entry(const char *dir, const char *needle)
{
	char *first = NULL;

	(void)tutil_scan(dir, needle, &first);
	return (first);
}

struct tutil_capture {
	int fd;    /* the descriptor being captured */
	int saved; /* its original target */
	int file;  /* where the output goes meanwhile */
};

struct tutil_capture *
tutil_capture_begin(int fd)
{
	struct tutil_capture *c = xcalloc(1, sizeof(*c));
	FILE *tmp;

	if (fd == 1)
		fflush(stdout);
	if (fd == 2)
		fflush(stderr);
	if ((tmp = tmpfile()) == NULL)
		ck_abort_msg("tmpfile: %s", strerror(errno));
	c->fd = fd;
	c->file = dup(fileno(tmp));
	fclose(tmp);
	c->saved = dup(fd);
	if (c->file == -1 || c->saved == -1 || dup2(c->file, fd) == -1)
		ck_abort_msg("dup: %s", strerror(errno));
	return (c);
}

char *
tutil_capture_end(struct tutil_capture *c)
{
	char *out;

	if (c->fd == 1)
		fflush(stdout);
	if (c->fd == 2)
		fflush(stderr);
	if (dup2(c->saved, c->fd) == -1 || lseek(c->file, 0, SEEK_SET) == -1)
		ck_abort_msg("restore fd: %s", strerror(errno));
	out = tutil_read_all(c->file, NULL);
	close(c->saved);
	close(c->file);
	free(c);
	return (out);
}
