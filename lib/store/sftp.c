/*
 * The sftp:// backend, the only libssh2 user.  A pool of SSH sessions,
 * each used by one thread at a time, all non-blocking: every wait is a
 * poll(2) bounded by the io timeout, so a dead or stalled server is an
 * ERR_NET within that time, retried with backoff on a fresh session.
 * Host keys come only from known_hosts; authentication and host-key
 * failures are final.  Files are published as the local backend does:
 * a temp name, fsync@openssh.com, then a plain rename.
 *
 * Here: URLs, the file operations and opening a store.  Sessions and
 * their pool are in sftp_conn.c, known_hosts in sftp_hostkey.c.
 */
#include <sys/types.h>

#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "crypto.h"
#include "log.h"
#include "passphrase.h"
#include "secfile.h"
#include "store/sftp_impl.h"
#include "store/store_impl.h"
#include "url.h"
#include "xmalloc.h"

#define SFTP_DIR_NAME_MAX 1024
/*
 * A listing believes the server no further than the repository layout
 * needs (STOR_LIST_DEPTH); a directory is read whole (no session is held across
 * the caller's function), so one with more entries, or more bytes of names,
 * than a repository holds in a directory is refused rather than read into
 * memory.  Symlinks are never followed: only what the server reports as
 * a regular file or a directory is listed.
 */
#define SFTP_DIR_ENTRIES_MAX (1u << 20)
#define SFTP_DIR_NAMES_MAX   (128u << 20)

#define TEMP_PREFIX ".tmp-"
/* open_file's *rc when waiting failed (e set); no libssh2 code is > 0. */
#define WAIT_FAILED 1

/* ------------------------------------------------------------ names */

int
stor_sftp_parse_url(const char *url, const struct stor_opts *o,
    struct stor_sftp_target *t, struct err *e)
{
	struct url_sftp u;
	const char *p;
	size_t n;

	memset(t, 0, sizeof(*t));
	if (url_parse_sftp(url, &u, e) == -1) {
		e->class = ERR_USAGE;
		return (-1);
	}
	if (o != NULL && o->user != NULL && o->user[0] != '\0')
		snprintf(t->user, sizeof(t->user), "%s", o->user);
	else if (u.user[0] != '\0')
		snprintf(t->user, sizeof(t->user), "%s", u.user);
	else {
		struct passwd *pw = getpwuid(geteuid());

		if (pw == NULL)
			return (err_set(e, ERR_USAGE,
			    "%s: no user in the URL, and none for uid %ld", url,
			    (long)geteuid()));
		snprintf(t->user, sizeof(t->user), "%s", pw->pw_name);
	}
	snprintf(t->host, sizeof(t->host), "%s", u.host);
	t->port = o != NULL && o->port > 0 ? o->port : u.port > 0 ? u.port : 22;
	/* "/~/dir" (or "/~") is relative to the login directory. */
	p = u.path;
	if (strcmp(p, "/~") == 0 || strncmp(p, "/~/", 3) == 0)
		p += p[2] == '\0' ? 2 : 3;
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	if (n >= sizeof(t->root))
		return (err_set(e, ERR_USAGE, "%s: path too long", url));
	memcpy(t->root, p, n);
	t->root[n] = '\0';
	if (t->port == 22)
		snprintf(t->hostport, sizeof(t->hostport), "%s", t->host);
	else
		snprintf(t->hostport, sizeof(t->hostport), "[%s]:%d", t->host,
		    t->port);
	return (0);
}

static char *
path_of(const struct sftp *s, const char *name)
{
	if (s->t.root[0] == '\0')
		return (xstrdup(name));
	if (strcmp(s->t.root, "/") == 0)
		return (xasprintf("/%s", name));
	return (xasprintf("%s/%s", s->t.root, name));
}

/* ------------------------------------------------------------ file ops */

static LIBSSH2_SFTP_HANDLE *
open_file(struct sftp *s, struct conn *c, const char *path, unsigned long flags,
    long mode, int type, int *rc, struct err *e)
{
	LIBSSH2_SFTP_HANDLE *h;
	int64_t deadline = sftp_io_deadline(s);

	*rc = 0;
	while ((h = libssh2_sftp_open_ex(c->sftp, path,
	            (unsigned int)strlen(path), flags, mode, type)) == NULL) {
		int r = libssh2_session_last_errno(c->ssh);

		if (r != LIBSSH2_ERROR_EAGAIN) {
			*rc = r;
			return (NULL);
		}
		if (sftp_conn_wait(s, c, deadline, e) == -1) {
			*rc = WAIT_FAILED;
			return (NULL);
		}
	}
	return (h);
}

/* Close a handle; -1 (e set) when the server reports a failure. */
static int
close_handle(struct sftp *s, struct conn *c, LIBSSH2_SFTP_HANDLE *h,
    const char *path, struct err *e)
{
	int64_t deadline = sftp_io_deadline(s);
	int r;

	struct err scratch;

	if (e == NULL)
		e = &scratch;
	if (c->broken) {
		/*
		 * The session is dead: with its socket shut, the close fails
		 * at once instead of waiting, and frees the handle and the
		 * writes still queued on it.
		 */
		if (c->fd != -1)
			shutdown(c->fd, SHUT_RDWR);
		libssh2_session_set_blocking(c->ssh, 1);
		(void)libssh2_sftp_close_handle(h);
		return (-1);
	}
	while ((r = libssh2_sftp_close_handle(h)) == LIBSSH2_ERROR_EAGAIN)
		if (sftp_conn_wait(s, c, deadline, e) == -1)
			return (-1);
	if (r != 0)
		return (sftp_conn_fail(s, c, r, "close", path, e));
	return (0);
}

static int
read_fully(struct sftp *s, struct conn *c, LIBSSH2_SFTP_HANDLE *h, uint8_t *buf,
    size_t len, uint64_t off, const char *path, struct err *e)
{
	size_t done = 0;
	int64_t deadline = sftp_io_deadline(s);

	while (done < len) {
		/*
		 * libssh2 1.10 asks the server for 4 times the buffer ahead:
		 * a quarter of what is left keeps the pipeline full without
		 * fetching bytes past the range (a 256 KiB blob would cost a
		 * MiB otherwise).
		 */
		size_t want = (len - done + 3) / 4,
		       chunk = sftp_io_chunk(&s->down);
		ssize_t n;

		if (sftp_interrupted(s)) {
			c->broken = 1; /* requests are in flight */
			return (err_set(e, ERR_INTERRUPTED, "interrupted"));
		}
		if (want > chunk)
			want = chunk;
		if (sftp_bucket_take(s, &s->down, want, e) == -1)
			return (-1);
		while ((n = libssh2_sftp_read(h, (char *)buf + done, want)) ==
		    LIBSSH2_ERROR_EAGAIN)
			if (sftp_conn_wait(s, c, deadline, e) == -1)
				return (err_wrap(e, "read %s", path));
		if (n < 0)
			return (sftp_conn_fail(s, c, (int)n, "read", path, e));
		if (n == 0)
			return (err_set(e, ERR_CORRUPT,
			    "%s is shorter than expected (%llu bytes wanted "
			    "at offset %llu)",
			    path, (unsigned long long)len,
			    (unsigned long long)off));
		done += (size_t)n;
		deadline = sftp_io_deadline(s);
	}
	return (0);
}

struct get_arg {
	const char *name;
	size_t max;
	uint64_t off;   /* get_range */
	size_t len;     /* get_range */
	uint8_t *buf;   /* get_range: the caller's */
	uint8_t **data; /* get */
	size_t *outlen; /* get */
};

static uint64_t
wgen(struct sftp *s)
{
	uint64_t g;

	pthread_mutex_lock(&s->mu);
	g = s->wgen;
	pthread_mutex_unlock(&s->mu);
	return (g);
}

/* After a put or remove: no kept read handle may show the old file. */
static void
wgen_bump(struct sftp *s)
{
	pthread_mutex_lock(&s->mu);
	s->wgen++;
	pthread_mutex_unlock(&s->mu);
}

/* Close the session's kept read handle (a broken session closes it). */
static void
drop_read_handle(struct sftp *s, struct conn *c)
{
	if (c->rh == NULL || c->broken)
		return;
	(void)close_handle(s, c, c->rh, c->rh_path, NULL);
	c->rh = NULL;
	free(c->rh_path);
	c->rh_path = NULL;
}

/* The whole file, checked against a->max. */
static int
op_get(struct sftp *s, struct conn *c, void *arg, int attempt, struct err *e)
{
	struct get_arg *a = arg;
	char *path = path_of(s, a->name);
	LIBSSH2_SFTP_HANDLE *h = NULL;
	LIBSSH2_SFTP_ATTRIBUTES at;
	uint8_t *buf = NULL;
	int64_t deadline;
	int r = 0, rc = -1;

	(void)attempt;
	if ((h = open_file(s, c, path, LIBSSH2_FXF_READ, 0,
	         LIBSSH2_SFTP_OPENFILE, &r, e)) == NULL) {
		if (r != WAIT_FAILED)
			sftp_conn_fail(s, c, r, "open", path, e);
		goto out;
	}
	deadline = sftp_io_deadline(s);
	while ((r = libssh2_sftp_fstat_ex(h, &at, 0)) == LIBSSH2_ERROR_EAGAIN)
		if (sftp_conn_wait(s, c, deadline, e) == -1)
			goto out;
	if (r != 0) {
		sftp_conn_fail(s, c, r, "stat", path, e);
		goto out;
	}
	if (!(at.flags & LIBSSH2_SFTP_ATTR_SIZE)) {
		err_set(e, ERR_IO, "stat %s: the server gives no size", path);
		goto out;
	}
	if (at.filesize > a->max) {
		err_set(e, ERR_CORRUPT,
		    "%s is %llu bytes, more than the %zu expected", path,
		    (unsigned long long)at.filesize, a->max);
		goto out;
	}
	buf = xmalloc(at.filesize > 0 ? (size_t)at.filesize : 1);
	if (read_fully(s, c, h, buf, (size_t)at.filesize, 0, path, e) == -1)
		goto out;
	*a->data = buf;
	*a->outlen = (size_t)at.filesize;
	buf = NULL;
	rc = 0;
out:
	/* The bytes are read: a read handle's close cannot spoil them. */
	if (h != NULL)
		(void)close_handle(s, c, h, path, NULL);
	free(buf);
	free(path);
	return (rc);
}

/*
 * A range, read through the handle the session keeps open on the file it
 * read last (struct conn): restore and check read many blobs of one pack
 * in a row.  The seek drops whatever libssh2 read ahead.  A handle opened
 * before this store's last put or remove is not trusted: the name may
 * now be another file.
 */
static int
op_get_range(struct sftp *s, struct conn *c, void *arg, int attempt,
    struct err *e)
{
	struct get_arg *a = arg;
	char *path = path_of(s, a->name);
	uint64_t g = wgen(s);
	int r = 0, rc = -1;

	(void)attempt;
	if (c->rh != NULL && (c->rh_gen != g || strcmp(c->rh_path, path) != 0))
		drop_read_handle(s, c);
	if (c->rh == NULL) {
		if ((c->rh = open_file(s, c, path, LIBSSH2_FXF_READ, 0,
		         LIBSSH2_SFTP_OPENFILE, &r, e)) == NULL) {
			if (r != WAIT_FAILED)
				sftp_conn_fail(s, c, r, "open", path, e);
			goto out;
		}
		c->rh_path = path;
		c->rh_gen = g;
		path = NULL;
	}
	libssh2_sftp_seek64(c->rh, a->off);
	if (read_fully(s, c, c->rh, a->buf, a->len, a->off, c->rh_path, e) ==
	    -1) {
		drop_read_handle(s, c);
		goto out;
	}
	rc = 0;
out:
	free(path);
	return (rc);
}

static int
sftp_get(struct stor *st, const char *name, size_t max, uint8_t **data,
    size_t *len, struct err *e)
{
	struct get_arg a = { name, max, 0, 0, NULL, data, len };

	return (sftp_run_op(st->impl, op_get, &a, e));
}

static int
sftp_get_range(struct stor *st, const char *name, uint64_t off, size_t len,
    uint8_t *buf, struct err *e)
{
	struct get_arg a = { name, 0, off, len, buf, NULL, NULL };

	return (sftp_run_op(st->impl, op_get_range, &a, e));
}

/*
 * A wait that failed names no file: name it here, as sftp_conn_fail does,
 * so that every error of the helpers below names their path.
 */
static int
wait_failed(const char *what, const char *path, struct err *e)
{
	if (e->class != ERR_INTERRUPTED)
		err_wrap(e, "%s %s", what, path);
	return (-1);
}

/* 0 and attributes; 1 when missing; -1 on error. */
static int
stat_path(struct sftp *s, struct conn *c, const char *path,
    LIBSSH2_SFTP_ATTRIBUTES *at, struct err *e)
{
	int64_t deadline = sftp_io_deadline(s);
	int r;

	while (
	    (r = libssh2_sftp_stat_ex(c->sftp, path, (unsigned int)strlen(path),
	         LIBSSH2_SFTP_STAT, at)) == LIBSSH2_ERROR_EAGAIN)
		if (sftp_conn_wait(s, c, deadline, e) == -1)
			return (wait_failed("stat", path, e));
	if (r == 0)
		return (0);
	if (sftp_conn_fail(s, c, r, "stat", path, e) == -1 &&
	    e->sys_errno == ENOENT) {
		err_clear(e); /* not there is an answer, not an error */
		return (1);
	}
	return (-1);
}

/* mkdir; an existing directory is fine. */
static int
make_dir(struct sftp *s, struct conn *c, const char *path, struct err *e)
{
	LIBSSH2_SFTP_ATTRIBUTES at;
	int64_t deadline = sftp_io_deadline(s);
	int r;

	while ((r = libssh2_sftp_mkdir_ex(c->sftp, path,
	            (unsigned int)strlen(path), 0700)) == LIBSSH2_ERROR_EAGAIN)
		if (sftp_conn_wait(s, c, deadline, e) == -1)
			return (-1);
	if (r == 0)
		return (0);
	if (r != LIBSSH2_ERROR_SFTP_PROTOCOL)
		return (sftp_conn_fail(s, c, r, "mkdir", path, e));
	/* OpenSSH says only "failure" for an existing name: look. */
	sftp_conn_fail(s, c, r, "mkdir", path, e);
	{
		struct err e2 = *e;

		if (stat_path(s, c, path, &at, e) == 0 &&
		    LIBSSH2_SFTP_S_ISDIR(at.permissions))
			return (0);
		*e = e2;
	}
	return (-1);
}

/* mkdir -p for the parents of path below the root (or of path itself). */
static int
make_parents(struct sftp *s, struct conn *c, const char *path, int self,
    struct err *e)
{
	char *p = xstrdup(path), *q;
	size_t skip = strlen(s->t.root);
	int rc = -1;

	if (self)
		skip = 0;
	q = p + (skip < strlen(p) ? skip : 0);
	while (*q == '/')
		q++;
	for (; (q = strchr(q, '/')) != NULL; q++) {
		*q = '\0';
		if (make_dir(s, c, p, e) == -1)
			goto out;
		*q = '/';
	}
	if (self && make_dir(s, c, p, e) == -1)
		goto out;
	rc = 0;
out:
	free(p);
	return (rc);
}

/* When a write fails with a bare "failure": is the target full? */
static int
maybe_full(struct sftp *s, struct conn *c, const char *path, size_t need,
    struct err *e)
{
	LIBSSH2_SFTP_STATVFS vfs;
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int64_t deadline = sftp_io_deadline(s);
	int r;

	if (c->broken || e->class != ERR_IO || e->sys_errno != EIO)
		goto out;
	if (slash != NULL)
		*slash = '\0';
	else
		snprintf(dir, strlen(dir) + 1, ".");
	while ((r = libssh2_sftp_statvfs(c->sftp, dir, strlen(dir), &vfs)) ==
	    LIBSSH2_ERROR_EAGAIN) {
		struct err e2;

		if (sftp_conn_wait(s, c, deadline, &e2) == -1)
			goto out;
	}
	if (r == 0 && vfs.f_bavail * vfs.f_frsize < need) {
		err_set(e, ERR_NOSPACE,
		    "no space left on the target: writing %s on %s failed "
		    "with %llu bytes free there",
		    path, s->t.hostport,
		    (unsigned long long)(vfs.f_bavail * vfs.f_frsize));
		e->sys_errno = ENOSPC;
	}
out:
	free(dir);
	return (-1);
}

/*
 * The server has no fsync@openssh.com: files are published unflushed.
 * Said once per store, at open (op_caps) or at the first put that finds
 * out, and recorded for stor_caps.
 */
static void
no_fsync(struct sftp *s)
{
	int warn;

	pthread_mutex_lock(&s->mu);
	s->caps &= ~(unsigned)STOR_CAP_FSYNC;
	warn = !s->fsync_warned;
	s->fsync_warned = 1;
	pthread_mutex_unlock(&s->mu);
	if (warn)
		log_warn(s->log, "%s: %s", s->t.hostport,
		    stor_cap_lack(STOR_CAP_FSYNC));
}

static int
remove_path(struct sftp *s, struct conn *c, const char *path, struct err *e)
{
	int64_t deadline = sftp_io_deadline(s);
	int r;

	while ((r = libssh2_sftp_unlink_ex(c->sftp, path,
	            (unsigned int)strlen(path))) == LIBSSH2_ERROR_EAGAIN)
		if (sftp_conn_wait(s, c, deadline, e) == -1)
			return (wait_failed("remove", path, e));
	if (r == 0)
		return (0);
	if (sftp_conn_fail(s, c, r, "remove", path, e) == -1 &&
	    e->sys_errno == ENOENT) {
		err_clear(e);
		return (0);
	}
	return (-1);
}

static int
rename_path(struct sftp *s, struct conn *c, const char *from, const char *to,
    struct err *e)
{
	int64_t deadline = sftp_io_deadline(s);
	int r;

	while ((r = libssh2_sftp_rename_ex(c->sftp, from,
	            (unsigned int)strlen(from), to, (unsigned int)strlen(to),
	            LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (sftp_conn_wait(s, c, deadline, e) == -1)
			return (wait_failed("rename to", to, e));
	if (r == 0)
		return (0);
	return (sftp_conn_fail(s, c, r, "rename to", to, e));
}

static int
write_fully(struct sftp *s, struct conn *c, LIBSSH2_SFTP_HANDLE *h,
    const uint8_t *data, size_t len, const char *path, struct err *e)
{
	size_t done = 0;
	int64_t deadline = sftp_io_deadline(s);

	while (done < len) {
		size_t want = len - done, chunk = sftp_io_chunk(&s->up);
		ssize_t n;

		if (sftp_interrupted(s)) {
			c->broken = 1; /* writes are in flight */
			return (err_set(e, ERR_INTERRUPTED, "interrupted"));
		}
		if (want > chunk)
			want = chunk;
		if (sftp_bucket_take(s, &s->up, want, e) == -1)
			return (-1);
		/* Short counts are normal: go on with the rest. */
		while (want > 0) {
			while ((n = libssh2_sftp_write(h,
			            (const char *)data + done, want)) ==
			    LIBSSH2_ERROR_EAGAIN)
				if (sftp_conn_wait(s, c, deadline, e) == -1)
					return (err_wrap(e, "write %s", path));
			if (n < 0) {
				sftp_conn_fail(s, c, (int)n, "write", path, e);
				return (maybe_full(s, c, path, len - done, e));
			}
			done += (size_t)n;
			want -= (size_t)n;
			deadline = sftp_io_deadline(s);
		}
	}
	return (0);
}

/* ------------------------------------------------------ streamed puts */

/*
 * Every put: a fresh temp file, the bytes pulled from the caller's reader a
 * buffer at a time (stor_put's buffer is a reader too), fsync, close, the
 * reader's done, then the rename.  A network fault restarts the whole
 * file on a fresh session (sftp_run_op), so the reader is asked again from 0;
 * the reader's own failures (cb_failed) are kept apart and never retried.
 */
struct put_stream_arg {
	const char *name;
	uint64_t len;
	const struct stor_reader *r;
	int flags;
	int cb_failed;
	struct err cb_err;
};

/* Pull the file from the reader into h; -1 with a->cb_failed for its own. */
static int
stream_to(struct sftp *s, struct conn *c, LIBSSH2_SFTP_HANDLE *h,
    struct put_stream_arg *a, const char *tmp, struct err *e)
{
	size_t bufsz =
	    a->len < STOR_STREAM_BUF ? (size_t)a->len + 1 : STOR_STREAM_BUF;
	uint8_t *buf = xmalloc(bufsz);
	uint64_t off = 0;
	int rc = -1;

	while (off < a->len) {
		size_t n = a->len - off < STOR_STREAM_BUF
		    ? (size_t)(a->len - off)
		    : STOR_STREAM_BUF;

		err_clear(&a->cb_err);
		if (a->r->read(a->r->arg, off, buf, n, &a->cb_err) == -1) {
			a->cb_failed = 1;
			goto out;
		}
		if (write_fully(s, c, h, buf, n, tmp, e) == -1)
			goto out;
		off += n;
	}
	rc = 0;
out:
	free(buf);
	return (rc);
}

static int
op_put_stream(struct sftp *s, struct conn *c, void *arg, int attempt,
    struct err *e)
{
	struct put_stream_arg *a = arg;
	char *path = path_of(s, a->name), *tmp = NULL, *slash;
	uint8_t rnd[8];
	char hex[17];
	LIBSSH2_SFTP_HANDLE *h = NULL;
	LIBSSH2_SFTP_ATTRIBUTES at;
	int64_t deadline;
	int r = 0, rc = -1, made = 0, opened = 0, named = 0;
	struct err e2;

	/* A fresh temp name every attempt: an old one may still be open. */
	if (crypto_random(rnd, sizeof(rnd), e) == -1)
		goto out;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	slash = strrchr(path, '/');
	if (slash != NULL)
		tmp = xasprintf("%.*s/" TEMP_PREFIX "%s", (int)(slash - path),
		    path, hex);
	else
		tmp = xasprintf(TEMP_PREFIX "%s", hex);
	for (;;) {
		h = open_file(s, c, tmp,
		    LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
		    LIBSSH2_SFTP_S_IRUSR | LIBSSH2_SFTP_S_IWUSR,
		    LIBSSH2_SFTP_OPENFILE, &r, e);
		if (h != NULL) {
			opened = 1;
			break;
		}
		if (r == WAIT_FAILED)
			goto out;
		sftp_conn_fail(s, c, r, "create", tmp, e);
		/* The first file of a directory: make its parents. */
		if (made || e->sys_errno != ENOENT || slash == NULL)
			goto out;
		if (make_parents(s, c, path, 0, e) == -1)
			goto out;
		err_clear(e);
		made = 1;
	}
	if (stream_to(s, c, h, a, tmp, e) == -1)
		goto out;
	r = 0;
	deadline = sftp_io_deadline(s);
	if (!(a->flags & STOR_NOSYNC))
		while ((r = libssh2_sftp_fsync(h)) == LIBSSH2_ERROR_EAGAIN)
			if (sftp_conn_wait(s, c, deadline, e) == -1)
				goto out;
	if (r != 0) {
		sftp_conn_fail(s, c, r, "fsync", tmp, e);
		if (e->sys_errno != ENOTSUP) {
			maybe_full(s, c, tmp, 1, e);
			goto out;
		}
		no_fsync(s);
	}
	r = close_handle(s, c, h, tmp, e);
	h = NULL;
	if (r == -1) {
		maybe_full(s, c, tmp, 1, e);
		goto out;
	}
	/* Checked before the rename: a refused file never gets its name. */
	if (a->r->done != NULL) {
		err_clear(&a->cb_err);
		if (a->r->done(a->r->arg, &a->cb_err) == -1) {
			a->cb_failed = 1;
			goto out;
		}
	}
	/* From here every error names path, which ends in a->name. */
	named = 1;
	if (rename_path(s, c, tmp, path, e) == 0) {
		rc = 0;
		goto out;
	}
	if (c->broken)
		goto out;
	/* SFTP v3 rename never replaces: is the name taken? */
	e2 = *e;
	switch (stat_path(s, c, path, &at, e)) {
	case 1:
		*e = e2;
		goto out;
	case -1:
		goto out;
	}
	if (attempt > 0 && (at.flags & LIBSSH2_SFTP_ATTR_SIZE) &&
	    at.filesize == a->len) {
		/*
		 * The earlier attempt's rename went through and only its
		 * answer was lost: names are unique (content hashes, random
		 * lock names), so same name and size is our file.
		 */
		(void)remove_path(s, c, tmp, &e2); /* this attempt's copy */
		rc = 0;
		goto out;
	}
	if (a->flags & STOR_NOREPLACE) {
		err_set(e, ERR_IO, "%s exists on %s", path, s->t.hostport);
		e->sys_errno = EEXIST;
		goto out;
	}
	/* Replacing: not atomic over SFTP v3, for files that allow it. */
	if (remove_path(s, c, path, e) == -1 ||
	    rename_path(s, c, tmp, path, e) == -1)
		goto out;
	rc = 0;
out:
	if (h != NULL)
		(void)close_handle(s, c, h, tmp, &e2);
	if (rc == -1 && opened && !c->broken)
		(void)remove_path(s, c, tmp, &e2); /* best effort */
	if (rc == -1 && a->cb_failed)
		/* Not ours, so not retried here: sftp_put_stream hands it on.
		 */
		err_set(e, ERR_INTERNAL, "put %s: the reader failed", a->name);
	else if (rc == -1 && !named && e->class != ERR_INTERRUPTED)
		err_wrap(e, "put %s", a->name);
	free(tmp);
	free(path);
	return (rc);
}

static int
sftp_put_stream(struct stor *st, const char *name, uint64_t len,
    const struct stor_reader *r, int flags, struct err *e)
{
	struct put_stream_arg a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.name = name;
	a.len = len;
	a.r = r;
	a.flags = flags;
	rc = sftp_run_op(st->impl, op_put_stream, &a, e);
	wgen_bump(st->impl);
	if (rc == -1 && a.cb_failed)
		*e = a.cb_err;
	return (rc);
}

/* stor_put: a reader over the caller's buffer, so one path publishes. */
struct mem_src {
	const uint8_t *data;
};

static int
mem_read(void *arg, uint64_t off, uint8_t *buf, size_t len, struct err *e)
{
	const struct mem_src *m = arg;

	(void)e;
	memcpy(buf, m->data + off, len);
	return (0);
}

static int
sftp_put(struct stor *st, const char *name, const uint8_t *data, size_t len,
    int flags, struct err *e)
{
	struct mem_src m = { data };
	struct stor_reader r = { mem_read, NULL, &m };

	return (sftp_put_stream(st, name, len, &r, flags, e));
}

struct stat_arg {
	const char *name;
	uint64_t *size;
};

static int
op_stat(struct sftp *s, struct conn *c, void *arg, int attempt, struct err *e)
{
	struct stat_arg *a = arg;
	LIBSSH2_SFTP_ATTRIBUTES at;
	char *path = path_of(s, a->name);
	int rc;

	(void)attempt;
	rc = stat_path(s, c, path, &at, e);
	if (rc == 0)
		*a->size = at.filesize;
	free(path);
	return (rc);
}

static int
sftp_stat(struct stor *st, const char *name, uint64_t *size, struct err *e)
{
	struct stat_arg a = { name, size };

	return (sftp_run_op(st->impl, op_stat, &a, e));
}

struct mtime_arg {
	const char *name;
	int64_t *mtime;
};

static int
op_mtime(struct sftp *s, struct conn *c, void *arg, int attempt, struct err *e)
{
	struct mtime_arg *a = arg;
	LIBSSH2_SFTP_ATTRIBUTES at;
	char *path = path_of(s, a->name);
	int rc;

	(void)attempt;
	rc = stat_path(s, c, path, &at, e);
	if (rc == 0)
		*a->mtime = (at.flags & LIBSSH2_SFTP_ATTR_ACMODTIME)
		    ? (int64_t)at.mtime
		    : INT64_MIN;
	free(path);
	return (rc);
}

static int
sftp_mtime(struct stor *st, const char *name, int64_t *mtime, struct err *e)
{
	struct mtime_arg a = { name, mtime };

	return (sftp_run_op(st->impl, op_mtime, &a, e));
}

/* One directory's entries, read whole so no session is held across fn. */
struct dir_ent {
	char *name;
	uint64_t size;
	int64_t mtime; /* INT64_MIN: not reported */
	int isdir;
};

struct dir_arg {
	const char *rel;
	int flags; /* STOR_LIST_* */
	struct dir_ent *ents;
	size_t n, cap;
};

static void
dir_arg_clear(struct dir_arg *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->ents[i].name);
	free(a->ents);
	a->ents = NULL;
	a->n = a->cap = 0;
}

static int
op_readdir(struct sftp *s, struct conn *c, void *arg, int attempt,
    struct err *e)
{
	struct dir_arg *a = arg;
	char *path = path_of(s, a->rel);
	char name[SFTP_DIR_NAME_MAX];
	LIBSSH2_SFTP_ATTRIBUTES at;
	LIBSSH2_SFTP_HANDLE *h;
	int64_t deadline;
	size_t seen = 0, bytes = 0;
	int r = 0, rc = -1;

	(void)attempt;
	dir_arg_clear(a);
	if ((h = open_file(s, c, path, 0, 0, LIBSSH2_SFTP_OPENDIR, &r, e)) ==
	    NULL) {
		if (r != WAIT_FAILED &&
		    sftp_conn_fail(s, c, r, "list", path, e) == -1 &&
		    e->sys_errno == ENOENT) {
			err_clear(e); /* a missing directory lists nothing */
			rc = 0;
		}
		goto out;
	}
	for (;;) {
		deadline = sftp_io_deadline(s);
		while ((r = libssh2_sftp_readdir(h, name, sizeof(name), &at)) ==
		    LIBSSH2_ERROR_EAGAIN)
			if (sftp_conn_wait(s, c, deadline, e) == -1)
				goto out;
		if (r == 0)
			break;
		if (r < 0) {
			sftp_conn_fail(s, c, r, "list", path, e);
			goto out;
		}
		bytes += (size_t)r + strlen(a->rel) + 2 + sizeof(*a->ents);
		if (++seen > SFTP_DIR_ENTRIES_MAX ||
		    bytes > SFTP_DIR_NAMES_MAX) {
			err_set(e, ERR_CORRUPT,
			    "list %s on %s: more than %u entries or %u MiB of "
			    "names in one directory, which no repository "
			    "holds; refused (is that the repository?)",
			    path, s->t.hostport, SFTP_DIR_ENTRIES_MAX,
			    SFTP_DIR_NAMES_MAX >> 20);
			goto out;
		}
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		/* Temp files, and anything else hidden, unless asked for. */
		if (name[0] == '.' && !(a->flags & STOR_LIST_DOT))
			continue;
		/* Symlinks and anything else are not followed, nor listed. */
		if (!(at.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
		    !(LIBSSH2_SFTP_S_ISDIR(at.permissions) ||
		        LIBSSH2_SFTP_S_ISREG(at.permissions)))
			continue;
		if (a->n == a->cap) {
			a->cap = a->cap ? 2 * a->cap : 64;
			a->ents =
			    xreallocarray(a->ents, a->cap, sizeof(*a->ents));
		}
		a->ents[a->n].name = xasprintf("%s/%.*s", a->rel, r, name);
		a->ents[a->n].size = at.filesize;
		a->ents[a->n].mtime = at.flags & LIBSSH2_SFTP_ATTR_ACMODTIME
		    ? (int64_t)at.mtime
		    : INT64_MIN;
		a->ents[a->n].isdir = LIBSSH2_SFTP_S_ISDIR(at.permissions);
		a->n++;
	}
	rc = 0;
out:
	if (h != NULL)
		(void)close_handle(s, c, h, path, NULL);
	free(path);
	return (rc);
}

static int
list_dir(struct sftp *s, const char *rel, int flags,
    int (*fn)(void *, const char *, uint64_t, int64_t), void *arg, int *warned,
    struct err *e)
{
	struct dir_arg a = { rel, flags, NULL, 0, 0 };
	int rc = -1;

	if (sftp_run_op(s, op_readdir, &a, e) == -1)
		goto out;
	for (size_t i = 0; i < a.n; i++) {
		const char *name = a.ents[i].name;
		int r;

		if (!a.ents[i].isdir)
			r = fn(arg, name, a.ents[i].size, a.ents[i].mtime);
		else if (stor_name_depth(name) < STOR_LIST_DEPTH)
			r = list_dir(s, name, flags, fn, arg, warned, e);
		else {
			/* Its files would be deeper than any repository's. */
			if (!*warned)
				log_warn(s->log,
				    "%s: skipped directory %s on the server "
				    "(and any like it): nothing in a "
				    "repository is that deep",
				    s->t.hostport, name);
			*warned = 1;
			r = 0;
		}
		if (r != 0) {
			rc = r;
			goto out;
		}
	}
	rc = 0;
out:
	dir_arg_clear(&a);
	return (rc);
}

static int
sftp_list(struct stor *st, const char *dir, int flags,
    int (*fn)(void *, const char *, uint64_t, int64_t), void *arg,
    struct err *e)
{
	int warned = 0;

	return (list_dir(st->impl, dir, flags, fn, arg, &warned, e));
}

static int
op_remove(struct sftp *s, struct conn *c, void *arg, int attempt, struct err *e)
{
	char *path = path_of(s, arg);
	int rc;

	(void)attempt;
	rc = remove_path(s, c, path, e);
	free(path);
	return (rc);
}

static int
sftp_remove(struct stor *st, const char *name, struct err *e)
{
	int rc = sftp_run_op(st->impl, op_remove, (void *)(uintptr_t)name, e);

	wgen_bump(st->impl);
	return (rc);
}

struct root_arg {
	int create;
	const char *location;
};

static int
op_root(struct sftp *s, struct conn *c, void *arg, int attempt, struct err *e)
{
	struct root_arg *a = arg;
	LIBSSH2_SFTP_ATTRIBUTES at;
	const char *root = s->t.root[0] ? s->t.root : ".";
	int r;

	(void)attempt;
	if ((r = stat_path(s, c, root, &at, e)) == -1)
		return (-1);
	if (r == 1) {
		if (!a->create)
			return (err_set(e, ERR_NOREPO, "no repository at %s",
			    a->location));
		if (make_parents(s, c, root, 1, e) == -1)
			return (err_wrap(e, "create %s", a->location));
		return (0);
	}
	if (!LIBSSH2_SFTP_S_ISDIR(at.permissions))
		return (err_set(e, ERR_NOREPO,
		    "repository %s is not a directory", a->location));
	return (0);
}

/* Did the server answer the last request "operation unsupported"? */
static int
unsupported(struct conn *c)
{
	return (libssh2_sftp_last_error(c->sftp) == LIBSSH2_FX_OP_UNSUPPORTED);
}

/*
 * What the server keeps of store.h's promises, asked once at open as
 * OpenSSH's sftp-client reads its extension flags (libssh2 hands over no
 * extension list, so each is tried, writing nothing): statvfs@openssh.com
 * on the root, and fsync@openssh.com on a handle of the root directory,
 * which a server with the extension refuses for a directory ("failure",
 * "no such file") and one without refuses as an unsupported operation.
 * Only that answer counts as lacking: any other leaves the promise
 * assumed, and a put that then finds fsync unsupported says so (no_fsync).
 */
static int
op_caps(struct sftp *s, struct conn *c, void *arg, int attempt, struct err *e)
{
	const char *root = s->t.root[0] ? s->t.root : ".";
	LIBSSH2_SFTP_STATVFS vfs;
	LIBSSH2_SFTP_HANDLE *h;
	int64_t deadline = sftp_io_deadline(s);
	unsigned caps = STOR_CAPS_ALL;
	int r = 0, rc = -1;

	(void)arg;
	(void)attempt;
	while ((r = libssh2_sftp_statvfs(c->sftp, root, strlen(root), &vfs)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (sftp_conn_wait(s, c, deadline, e) == -1)
			return (-1);
	if (r != 0 && r != LIBSSH2_ERROR_SFTP_PROTOCOL)
		return (sftp_conn_fail(s, c, r, "statvfs", root, e));
	if (r != 0 && unsupported(c))
		caps &= ~(unsigned)STOR_CAP_STATVFS;
	/* A root that cannot be opened tells nothing: puts will tell. */
	if ((h = open_file(s, c, root, 0, 0, LIBSSH2_SFTP_OPENDIR, &r, e)) ==
	    NULL) {
		if (r == WAIT_FAILED ||
		    (r != LIBSSH2_ERROR_SFTP_PROTOCOL &&
		        sftp_conn_fail(s, c, r, "open", root, e) == -1))
			return (-1);
		goto done;
	}
	deadline = sftp_io_deadline(s);
	while ((r = libssh2_sftp_fsync(h)) == LIBSSH2_ERROR_EAGAIN)
		if (sftp_conn_wait(s, c, deadline, e) == -1)
			goto out;
	if (r != 0 && r != LIBSSH2_ERROR_SFTP_PROTOCOL) {
		sftp_conn_fail(s, c, r, "fsync", root, e);
		goto out;
	}
	if (r != 0 && unsupported(c))
		caps &= ~(unsigned)STOR_CAP_FSYNC;
done:
	pthread_mutex_lock(&s->mu);
	s->caps = caps;
	pthread_mutex_unlock(&s->mu);
	rc = 0;
out:
	if (h != NULL && close_handle(s, c, h, root, rc == 0 ? e : NULL) == -1)
		rc = -1;
	return (rc);
}

static unsigned
sftp_caps(struct stor *st)
{
	struct sftp *s = st->impl;
	unsigned caps;

	pthread_mutex_lock(&s->mu);
	caps = s->caps;
	pthread_mutex_unlock(&s->mu);
	return (caps);
}

static void
sftp_free(struct sftp *s)
{
	if (s == NULL)
		return;
	if (s->ka_running) {
		pthread_mutex_lock(&s->mu);
		s->closing = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->ka_thread, NULL);
	}
	for (int i = 0; i < s->nconns; i++)
		if (s->conns[i].ssh != NULL) {
			/* The server may be stalled: do not wait for it. */
			if (s->trouble)
				s->conns[i].broken = 1;
			sftp_conn_close(&s->conns[i]);
		}
	free(s->conns);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->up.mu);
	pthread_mutex_destroy(&s->down.mu);
	free(s->known_hosts);
	free(s->identity);
	freezero_str(s->identity_pass);
	free(s);
}

static void
sftp_close(struct stor *st)
{
	sftp_free(st->impl);
}

static const struct stor_ops sftp_ops = {
	.get = sftp_get,
	.get_range = sftp_get_range,
	.put = sftp_put,
	.put_stream = sftp_put_stream,
	.stat = sftp_stat,
	.mtime = sftp_mtime,
	.list = sftp_list,
	.remove = sftp_remove,
	.caps = sftp_caps,
	.close = sftp_close,
};

static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;
static int ssh_init_rc;

static void
ssh_init(void)
{
	ssh_init_rc = libssh2_init(0);
}

static int
read_identity_pass(struct sftp *s, const char *file, struct err *e)
{
	struct pass_opts po;
	struct secret *sec = NULL;

	memset(&po, 0, sizeof(po));
	po.password_file = file;
	if (pass_get(&po, "identity passphrase", 0, &sec, e) == -1)
		return (err_wrap(e, "identity_passphrase_file"));
	s->identity_pass = xmalloc(secret_len(sec) + 1);
	memcpy(s->identity_pass, secret_data(sec), secret_len(sec));
	s->identity_pass[secret_len(sec)] = '\0';
	secret_free(sec);
	return (0);
}

int
stor_sftp_open(const char *location, const struct stor_opts *o, int create,
    struct stor **out, struct err *e)
{
	struct stor_opts none;
	struct sftp *s = xcalloc(1, sizeof(*s));
	struct root_arg ra = { create, location };
	struct stor *st;
	const char *home;

	*out = NULL;
	if (o == NULL) {
		memset(&none, 0, sizeof(none));
		o = &none;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_init(&s->up.mu, NULL);
	pthread_mutex_init(&s->down.mu, NULL);
	pthread_once(&ssh_once, ssh_init);
	if (ssh_init_rc != 0) {
		err_set(e, ERR_INTERNAL, "libssh2_init failed");
		goto fail;
	}
	if (stor_sftp_parse_url(location, o, &s->t, e) == -1)
		goto fail;
	if (o->known_hosts != NULL)
		s->known_hosts = xstrdup(o->known_hosts);
	else {
		struct passwd *pw;

		if (((home = getenv("HOME")) == NULL || home[0] == '\0') &&
		    (pw = getpwuid(geteuid())) != NULL)
			home = pw->pw_dir;
		if (home == NULL) {
			err_set(e, ERR_USAGE,
			    "no home directory for ~/.ssh/known_hosts; set "
			    "known_hosts");
			goto fail;
		}
		s->known_hosts = xasprintf("%s/.ssh/known_hosts", home);
	}
	if (o->identity != NULL) {
		if (sftp_identity_check(o->identity, e) == -1)
			goto fail;
		s->identity = xstrdup(o->identity);
	}
	if (o->identity_passphrase_file != NULL &&
	    read_identity_pass(s, o->identity_passphrase_file, e) == -1)
		goto fail;
	s->connect_timeout = o->connect_timeout ? o->connect_timeout : 10;
	s->io_timeout = o->io_timeout ? o->io_timeout : 60;
	s->keepalive = o->keepalive ? o->keepalive : 15;
	s->retries = o->retries < 0 ? 0 : o->retries == 0 ? 5 : o->retries;
	s->nconns = o->transfers > 0 ? o->transfers : STOR_SFTP_TRANSFERS;
	s->up.rate = o->limit_upload;
	s->down.rate = o->limit_download;
	s->accept_new = o->accept_new_host_key;
	s->log = o->log;
	s->interrupted = o->interrupted;
	s->conns = xcalloc((size_t)s->nconns, sizeof(*s->conns));
	for (int i = 0; i < s->nconns; i++)
		s->conns[i].fd = -1;
	/* Connect now: host key and authentication fail here, once. */
	if (sftp_run_op(s, op_root, &ra, e) == -1 ||
	    sftp_run_op(s, op_caps, NULL, e) == -1)
		goto fail;
	if (!(s->caps & STOR_CAP_FSYNC))
		no_fsync(s);
	if (s->keepalive != STOR_KEEPALIVE_OFF &&
	    pthread_create(&s->ka_thread, NULL, sftp_keepalive_main, s) == 0)
		s->ka_running = 1;
	st = xcalloc(1, sizeof(*st));
	st->ops = &sftp_ops;
	st->location = xstrdup(location);
	st->impl = s;
	st->transfers = (int)s->nconns;
	*out = st;
	return (0);
fail:
	sftp_free(s);
	return (-1);
}

const char *
stor_sftp_version(void)
{
	return (libssh2_version(0));
}
