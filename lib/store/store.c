/*
 * The backend-independent half of the store: dispatch and name checks.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_impl.h"
#include "xmalloc.h"

int
stor_open(const char *location, int create, struct stor **out, struct err *e)
{
	return (stor_open_opts(location, NULL, create, out, e));
}

int
stor_open_opts(const char *location, const struct stor_opts *opts, int create,
    struct stor **out, struct err *e)
{
	*out = NULL;
	if (strncmp(location, "sftp://", 7) == 0)
		return (stor_sftp_open(location, opts, create, out, e));
	if (strncmp(location, "s3://", 5) == 0)
		return (stor_s3_open(location, opts, create, out, e));
	if (strstr(location, "://") != NULL)
		return (err_set(e, ERR_USAGE,
		    "%s: unknown repository scheme (use a path, sftp:// or "
		    "s3://)",
		    location));
	return (stor_local_open(location, create, out, e));
}

void
stor_close(struct stor *st)
{
	if (st == NULL)
		return;
	st->ops->close(st);
	free(st->location);
	free(st);
}

const char *
stor_location(const struct stor *st)
{
	return (st->location);
}

int
stor_transfers(const struct stor *st)
{
	return (st->transfers);
}

int
stor_name_valid(const char *name)
{
	const char *p = name;

	if (*p == '\0')
		return (0);
	for (;;) {
		size_t n = strspn(p,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789._-");

		if (n == 0 || p[0] == '.')
			return (0);
		p += n;
		if (*p == '\0')
			return (1);
		if (*p != '/')
			return (0);
		p++;
	}
}

#define CHECK_NAME(name, e)                                                    \
	do {                                                                   \
		if (!stor_name_valid(name))                                    \
			return (err_set((e), ERR_INTERNAL,                     \
			    "invalid repository file name '%s'", (name)));     \
	} while (0)

int
stor_get(struct stor *st, const char *name, size_t max, uint8_t **data,
    size_t *len, struct err *e)
{
	*data = NULL;
	*len = 0;
	CHECK_NAME(name, e);
	return (st->ops->get(st, name, max, data, len, e));
}

int
stor_get_range(struct stor *st, const char *name, uint64_t off, size_t len,
    uint8_t *buf, struct err *e)
{
	CHECK_NAME(name, e);
	return (st->ops->get_range(st, name, off, len, buf, e));
}

int
stor_put(struct stor *st, const char *name, const uint8_t *data, size_t len,
    int flags, struct err *e)
{
	CHECK_NAME(name, e);
	return (st->ops->put(st, name, data, len, flags, e));
}

int
stor_put_stream(struct stor *st, const char *name, uint64_t len,
    const struct stor_reader *r, int flags, struct err *e)
{
	CHECK_NAME(name, e);
	return (st->ops->put_stream(st, name, len, r, flags, e));
}

int
stor_stat(struct stor *st, const char *name, uint64_t *size, struct err *e)
{
	CHECK_NAME(name, e);
	return (st->ops->stat(st, name, size, e));
}

int
stor_mtime(struct stor *st, const char *name, int64_t *mtime, struct err *e)
{
	CHECK_NAME(name, e);
	*mtime = INT64_MIN;
	return (st->ops->mtime(st, name, mtime, e));
}

size_t
stor_name_depth(const char *name)
{
	size_t n = 1;

	for (; *name != '\0'; name++)
		n += *name == '/';
	return (n);
}

/* What stor_list and stor_list_hidden hand the backend's listing. */
struct list_arg {
	int (*plain)(void *, const char *, uint64_t);
	int (*hidden)(void *, const char *, uint64_t, int64_t);
	void *arg;
};

static int
list_plain(void *arg, const char *name, uint64_t size, int64_t mtime)
{
	struct list_arg *a = arg;

	(void)mtime;
	return (a->plain(a->arg, name, size));
}

int
stor_list(struct stor *st, const char *dir,
    int (*fn)(void *, const char *, uint64_t), void *arg, struct err *e)
{
	struct list_arg a = { fn, NULL, arg };

	CHECK_NAME(dir, e);
	return (st->ops->list(st, dir, 0, list_plain, &a, e));
}

int
stor_name_temp(const char *name)
{
	const char *base = strrchr(name, '/');

	base = base != NULL ? base + 1 : name;
	/* store/sftp.c's ".tmp-<hex>", lib/afile.c's ".<name>.tmp.<sfx>" */
	return (strncmp(base, ".tmp-", 5) == 0 ||
	    (base[0] == '.' && strstr(base, ".tmp.") != NULL));
}

/* Does a component of name start with '.'? */
static int
name_hidden(const char *name)
{
	const char *p = name;

	for (;;) {
		if (*p == '.')
			return (1);
		if ((p = strchr(p, '/')) == NULL)
			return (0);
		p++;
	}
}

static int
list_hidden(void *arg, const char *name, uint64_t size, int64_t mtime)
{
	struct list_arg *a = arg;

	if (!name_hidden(name))
		return (0);
	return (a->hidden(a->arg, name, size, mtime));
}

int
stor_list_hidden(struct stor *st, const char *dir,
    int (*fn)(void *, const char *, uint64_t, int64_t), void *arg,
    struct err *e)
{
	struct list_arg a = { NULL, fn, arg };

	CHECK_NAME(dir, e);
	return (st->ops->list(st, dir, STOR_LIST_DOT, list_hidden, &a, e));
}

int
stor_remove(struct stor *st, const char *name, struct err *e)
{
	CHECK_NAME(name, e);
	return (st->ops->remove(st, name, e));
}

int
stor_nap(const volatile sig_atomic_t *interrupted, int64_t ms, int64_t slice,
    struct err *e)
{
	for (;;) {
		int64_t n = ms < slice ? ms : slice;
		struct timespec ts = { (time_t)(n / 1000),
			(long)(n % 1000) * 1000000L };

		if (interrupted != NULL && *interrupted)
			return (err_set(e, ERR_INTERRUPTED, "interrupted"));
		if (ms <= 0)
			return (0);
		nanosleep(&ts, NULL);
		ms -= n;
	}
}

int
stor_sync(struct stor *st, struct err *e)
{
	if (st->ops->sync == NULL)
		return (0);
	return (st->ops->sync(st, e));
}

unsigned
stor_caps(struct stor *st)
{
	if (st->ops->caps == NULL)
		return (STOR_CAPS_ALL);
	return (st->ops->caps(st));
}

const char *
stor_cap_name(unsigned cap)
{
	switch (cap) {
	case STOR_CAP_FSYNC:
		return ("fsync");
	case STOR_CAP_STATVFS:
		return ("statvfs");
	}
	return ("?");
}

const char *
stor_cap_lack(unsigned cap)
{
	switch (cap) {
	case STOR_CAP_FSYNC:
		return ("the server has no fsync@openssh.com: files are "
		        "published without being flushed to its disk, so a "
		        "crash or power loss there can lose or truncate the "
		        "latest ones (use OpenSSH's sftp-server or "
		        "internal-sftp, 6.5 or later)");
	case STOR_CAP_STATVFS:
		return ("the server has no statvfs@openssh.com: a full disk "
		        "there shows as a bare failure, not as 'no space'");
	}
	return ("?");
}
