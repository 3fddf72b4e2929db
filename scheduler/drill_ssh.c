/*
 * The ssh:USER@HOST[:PORT]:/PATH target (drill.h): the restore streamed
 * as a pax tar (rst_to_tar) over an SSH exec channel into
 * "mkdir -p PATH && tar -x -C PATH" on the test host, the SHA-256 of every
 * regular file taken on the way from the bytes the restore hands to the
 * stream (rst_opts.file_data); verified against
 * sha256sum of every file there; the checks command run there; PATH
 * removed there afterwards.  The SSH session is the sftp:// store's
 * (lib/store/sftp_exec.h): one place decides on host keys and keys.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "repo/repo.h"
#include "restore/restore.h"
#include "scheduler/drill_impl.h"
#include "store/sftp_exec.h"
#include "store/store.h"
#include "xmalloc.h"

/* The most a remote listing of hashes may hold. */
#define LISTING_MAX (256u << 20)

/* ------------------------------------------------------------ session */

int
drill_ssh_spec(const struct config_section *sec, struct spec *sp, struct err *e)
{
	const char *t = config_get_str(sec, "target"), *arg;
	char why[128];

	if (t == NULL || config_drill_target(t, &arg) != CONFIG_DRILL_SSH)
		return (err_set(e, ERR_CONFIG, "[drill %s]: no ssh: target",
		    config_section_name(sec)));
	if (config_drill_ssh(arg, &sp->ssh, why, sizeof(why)) == -1)
		return (
		    config_err(e, sec, "target", "target: '%s': %s", t, why));
	sp->identity = config_get_str(sec, "identity");
	sp->identity_pass = config_get_str(sec, "identity_passphrase_file");
	sp->known_hosts = config_get_str(sec, "known_hosts");
	return (0);
}

/* A session to the test host, as an sftp:// store of the login directory. */
static int
ssh_open(const struct spec *sp, struct log *log, volatile sig_atomic_t *intr,
    struct stor **out, struct err *e)
{
	const struct config_ssh_target *t = &sp->ssh;
	struct stor_opts so;
	char *loc;
	int rc;

	memset(&so, 0, sizeof(so));
	so.identity = sp->identity;
	so.identity_passphrase_file = sp->identity_pass;
	so.known_hosts = sp->known_hosts;
	so.user = t->user;
	so.port = t->port;
	so.retries = -1; /* a stream cannot be sent again */
	so.transfers = 1;
	so.keepalive = STOR_KEEPALIVE_OFF;
	so.log = log;
	so.interrupted = intr;
	loc = xasprintf(strchr(t->host, ':') != NULL ? "sftp://%s@[%s]:%d/~"
	                                             : "sftp://%s@%s:%d/~",
	    t->user, t->host, t->port);
	rc = stor_open_opts(loc, &so, 0, out, e);
	free(loc);
	if (rc == -1)
		err_wrap(e, "test host %s", t->host);
	return (rc);
}

/* Collect a command's standard output, up to LISTING_MAX. */
struct outbuf {
	char *p;
	size_t n, cap;
};

static int
out_keep(void *arg, const void *buf, size_t n, struct err *e)
{
	struct outbuf *o = arg;

	if (o->n + n > LISTING_MAX)
		return (
		    err_set(e, ERR_IO, "the test host's answer is over %u MiB",
		        LISTING_MAX >> 20));
	if (o->n + n + 1 > o->cap) {
		o->cap = (o->n + n + 1) * 2;
		o->p = xreallocarray(o->p, o->cap, 1);
	}
	memcpy(o->p + o->n, buf, n);
	o->n += n;
	o->p[o->n] = '\0';
	return (0);
}

/* Run cmd there: 0 and its exit status, or -1. */
static int
run_cmd(struct stor *ss, const char *cmd, struct outbuf *out, int long_wait,
    int *status, char *errtail, size_t errlen, struct err *e)
{
	struct sftp_exec_io io;
	int rc;

	memset(&io, 0, sizeof(io));
	io.out = out != NULL ? out_keep : NULL;
	io.out_arg = out;
	io.no_idle_timeout = long_wait;
	rc = stor_sftp_exec(ss, cmd, &io, status, e);
	if (errtail != NULL)
		snprintf(errtail, errlen, "%s", io.err);
	return (rc);
}

/* ------------------------------------------------------------ hashes */

#define ZEROS_LEN (64 * 1024)

struct fhash {
	char *path; /* relative to PATH: no "/" or "./" in front */
	uint8_t sum[CRYPTO_HASH_LEN];
	uint64_t dev, ino; /* as in the snapshot: a hard link's first name */
	size_t seq;        /* the order restored */
	int link;          /* a hard link: sum is to be its first name's */
};

/*
 * The SHA-256 of each regular file the restore hands to the stream
 * (rst_opts.file_*): its whole content as sha256sum there reads it,
 * holes as zeros.
 */
struct tarhash {
	struct crypto_sha256_ctx *h;
	uint8_t *zeros;
	struct fhash cur;
	uint64_t pos, size; /* of cur */
	struct fhash *v;
	size_t n, cap;
	int bad; /* offsets went back: a restore bug */
};

static void
th_zeros(struct tarhash *t, uint64_t n)
{
	if (t->zeros == NULL)
		t->zeros = xcalloc(1, ZEROS_LEN);
	while (n > 0) {
		size_t k = n < ZEROS_LEN ? (size_t)n : ZEROS_LEN;

		crypto_sha256_update(t->h, t->zeros, k);
		n -= k;
	}
}

static void
th_begin(void *arg, const char *path, const struct fs_node *node, int data)
{
	struct tarhash *t = arg;

	free(t->cur.path);
	memset(&t->cur, 0, sizeof(t->cur));
	t->cur.path = xstrdup(path[0] == '/' ? path + 1 : path);
	t->cur.dev = node->dev;
	t->cur.ino = node->ino;
	t->cur.seq = t->n;
	t->cur.link = !data && node->size > 0;
	t->pos = 0;
	t->size = node->size;
	crypto_sha256_final(t->h, t->cur.sum); /* a fresh start */
}

static void
th_data(void *arg, const uint8_t *p, size_t n, uint64_t off)
{
	struct tarhash *t = arg;

	if (off < t->pos || off > t->size || n > t->size - off) {
		t->bad = 1;
		return;
	}
	th_zeros(t, off - t->pos);
	crypto_sha256_update(t->h, p, n);
	t->pos = off + n;
}

static void
th_end(void *arg, int ok)
{
	struct tarhash *t = arg;

	if (ok) {
		if (!t->cur.link) {
			th_zeros(t, t->size - t->pos);
			crypto_sha256_final(t->h, t->cur.sum);
		}
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 256;
			t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
		}
		t->v[t->n++] = t->cur;
	} else
		free(t->cur.path);
	memset(&t->cur, 0, sizeof(t->cur));
}

static int
fh_by_inode(const void *a, const void *b)
{
	const struct fhash *x = a, *y = b;

	if (x->dev != y->dev)
		return (x->dev < y->dev ? -1 : 1);
	if (x->ino != y->ino)
		return (x->ino < y->ino ? -1 : 1);
	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/*
 * A hard link has its first name's content: the name of the same inode
 * restored with data last before it.  -1: one has none (a restore bug).
 */
static int
th_links(struct tarhash *t)
{
	if (t->n > 0)
		qsort(t->v, t->n, sizeof(*t->v), fh_by_inode);
	for (size_t i = 0; i < t->n; i++) {
		if (!t->v[i].link)
			continue;
		if (i == 0 || t->v[i - 1].dev != t->v[i].dev ||
		    t->v[i - 1].ino != t->v[i].ino)
			return (-1);
		memcpy(t->v[i].sum, t->v[i - 1].sum, sizeof(t->v[i].sum));
	}
	return (0);
}

static void
th_free(struct tarhash *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].path);
	free(t->v);
	free(t->cur.path);
	free(t->zeros);
	crypto_sha256_free(t->h);
}

/* ------------------------------------------------------------ restore */

/* rst_to_tar in a thread, into a pipe the channel's input reads. */
struct streamer {
	struct repo *r;
	const uint8_t *root;
	int fd;
	struct rst_opts ro;
	struct rst_stats st;
	struct err e;
	int rc;
};

static void *
stream_main(void *arg)
{
	struct streamer *s = arg;

	err_clear(&s->e);
	s->rc = rst_to_tar(s->r, s->root, s->fd, &s->ro, &s->st, &s->e);
	close(s->fd); /* the end of the stream */
	s->fd = -1;
	return (NULL);
}

static ssize_t
feed_in(void *arg, void *buf, size_t size, struct err *e)
{
	int *fd = arg;
	ssize_t n;

	while ((n = read(*fd, buf, size)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return (err_sys(e, ERR_IO, "the restore's stream"));
	return (n);
}

/* 'PATH', for a remote shell: PATH holds no quote (config_drill_ssh). */
static char *
q(const char *path)
{
	return (xasprintf("'%s'", path));
}

int
drill_restore_ssh(struct run *u, struct repo *r,
    const struct rst_selection *sel, struct err *e)
{
	const char *path = u->sp->ssh.path;
	char *qp = q(path), *cmd = NULL, tail[512];
	struct streamer s;
	struct sftp_exec_io io;
	pthread_t th;
	int pfd[2] = { -1, -1 }, status, rc = -1, started = 0;

	memset(&s, 0, sizeof(s));
	memset(&io, 0, sizeof(io));
	if (u->ssh == NULL &&
	    ssh_open(u->sp, u->o->log, u->o->interrupted, &u->ssh, e) == -1)
		goto out;
	/* Only into an empty or absent directory: what is there stays. */
	cmd = xasprintf("test ! -e %s || { test -d %s && test -z \"$(ls -A "
	                "%s)\"; }",
	    qp, qp, qp);
	if (run_cmd(u->ssh, cmd, NULL, 0, &status, tail, sizeof(tail), e) == -1)
		goto out;
	if (status != 0) {
		err_set(e, ERR_USAGE,
		    "refused: %s on %s is not an empty directory; a drill "
		    "restores only into an empty or absent directory, and "
		    "removes it afterwards",
		    path, u->sp->ssh.host);
		goto out;
	}
	u->sh->remote = 1; /* from here on, cleanup removes it */
	drill_note(u);
	free(cmd);
	cmd = xasprintf("mkdir -p %s && tar -x -C %s", qp, qp);

	u->th = xcalloc(1, sizeof(*u->th));
	if ((u->th->h = crypto_sha256_new(e)) == NULL)
		goto out;
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		err_sys(e, ERR_IO, "pipe");
		goto out;
	}
	s.r = r;
	s.root = sel->root;
	s.fd = pfd[1];
	s.ro.interrupted = u->o->interrupted;
	s.ro.keepalive = drill_refresh_lock;
	s.ro.keepalive_arg = r;
	s.ro.file_begin = th_begin;
	s.ro.file_data = th_data;
	s.ro.file_end = th_end;
	s.ro.file_arg = u->th;
	if (pthread_create(&th, NULL, stream_main, &s) != 0) {
		err_set(e, ERR_INTERNAL, "pthread_create failed");
		goto out;
	}
	pfd[1] = -1; /* the thread's */
	started = 1;
	io.in = feed_in;
	io.in_arg = &pfd[0];
	rc = stor_sftp_exec(u->ssh, cmd, &io, &status, e);
	/* A stream the other end did not take ends the writer (EPIPE). */
	close(pfd[0]);
	pfd[0] = -1;
	pthread_join(th, NULL);
	started = 0;
	u->res->bytes = s.st.bytes;
	u->res->files = s.st.files + s.st.dirs + s.st.others;
	if (rc == -1)
		goto out;
	rc = -1;
	if (s.rc == -1) {
		*e = s.e;
		goto out;
	}
	if (status != 0) {
		err_set(e, ERR_IO, "tar -x on %s exited with status %d%s%s",
		    u->sp->ssh.host, status, io.err[0] ? ": " : "", io.err);
		goto out;
	}
	if (s.st.errors > 0)
		err_set(e, s.st.damaged > 0 ? ERR_CORRUPT : ERR_IO,
		    "%llu entries not restored (%llu of them damaged)",
		    (unsigned long long)s.st.errors,
		    (unsigned long long)s.st.damaged);
	else if (u->th->bad || th_links(u->th) == -1)
		err_set(e, ERR_INTERNAL,
		    "the restore handed over file data out of order, or a "
		    "hard link before its file");
	else
		rc = 0;
out:
	if (started) {
		close(pfd[0]);
		pfd[0] = -1;
		pthread_join(th, NULL);
	}
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	free(cmd);
	free(qp);
	return (rc);
}

/* ------------------------------------------------------------ verify */

/* A path of the listing ("./a/b") as th_begin keeps it ("a/b"). */
static char *
listing_path(const char *p, size_t n)
{
	while (n >= 2 && p[0] == '.' && p[1] == '/') {
		p += 2;
		n -= 2;
	}
	while (n > 0 && p[0] == '/') {
		p++;
		n--;
	}
	return (xstrndup(p, n));
}

static int
fh_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct fhash *)a)->path,
	    ((const struct fhash *)b)->path));
}

/* "HEX  ./path\0" records of sha256sum -z into v (sorted). */
static int
parse_listing(char *p, size_t n, struct fhash **vp, size_t *np)
{
	struct fhash *v = NULL;
	size_t k = 0, cap = 0;
	char *end = p + n;

	while (p < end) {
		size_t len = strnlen(p, (size_t)(end - p));
		struct fhash f;

		memset(&f, 0, sizeof(f));
		if (len < 2 * CRYPTO_HASH_LEN + 3 ||
		    p[2 * CRYPTO_HASH_LEN] != ' ' ||
		    crypto_hex_decode(p, 2 * CRYPTO_HASH_LEN, f.sum,
		        CRYPTO_HASH_LEN, NULL) == -1) {
			for (size_t i = 0; i < k; i++)
				free(v[i].path);
			free(v);
			return (-1);
		}
		/* "  " or " *" (binary mode) before the name */
		f.path = listing_path(p + 2 * CRYPTO_HASH_LEN + 2,
		    len - 2 * CRYPTO_HASH_LEN - 2);
		if (k == cap) {
			cap = cap ? cap * 2 : 256;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[k++] = f;
		p += len + 1;
	}
	if (k > 0)
		qsort(v, k, sizeof(*v), fh_cmp);
	*vp = v;
	*np = k;
	return (0);
}

void
drill_verify_ssh(struct run *u)
{
	struct tarhash *t = u->th;
	struct outbuf out = { NULL, 0, 0 };
	struct fhash *rv = NULL;
	char *qp = q(u->sp->ssh.path), *cmd, tail[512], first[ERR_MSG_MAX] = "";
	size_t rn = 0, i = 0, j = 0, bad = 0;
	struct timespec t0;
	struct err e;
	int status;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err_clear(&e);
	cmd = xasprintf("cd %s && find . -type f -print0 | xargs -0r "
	                "sha256sum -z",
	    qp);
	if (run_cmd(u->ssh, cmd, &out, 1, &status, tail, sizeof(tail), &e) ==
	    -1) {
		drill_stage_fail(u, DRILL_VERIFY, &t0, &e);
		goto out;
	}
	if (status != 0 ||
	    parse_listing(out.p ? out.p : (char *)"", out.n, &rv, &rn) == -1) {
		err_set(&e, ERR_IO,
		    "listing the hashes on %s failed (status %d)%s%s",
		    u->sp->ssh.host, status, tail[0] ? ": " : "", tail);
		drill_stage_fail(u, DRILL_VERIFY, &t0, &e);
		goto out;
	}
	if (t->n > 0)
		qsort(t->v, t->n, sizeof(*t->v), fh_cmp);
	while (i < t->n || j < rn) {
		int c = i == t->n ? 1
		    : j == rn     ? -1
		                  : strcmp(t->v[i].path, rv[j].path);
		char why[ERR_MSG_MAX];

		why[0] = '\0';
		if (c < 0)
			snprintf(why, sizeof(why), "/%.300s: missing on %.64s",
			    t->v[i++].path, u->sp->ssh.host);
		else if (c > 0)
			snprintf(why, sizeof(why),
			    "/%.300s: on %.64s but not in the snapshot",
			    rv[j++].path, u->sp->ssh.host);
		else {
			if (memcmp(t->v[i].sum, rv[j].sum, CRYPTO_HASH_LEN) !=
			    0)
				snprintf(why, sizeof(why),
				    "/%.300s: its content on %.64s differs "
				    "from "
				    "the snapshot's",
				    t->v[i].path, u->sp->ssh.host);
			i++;
			j++;
		}
		if (why[0] == '\0')
			continue;
		if (bad++ == 0)
			snprintf(first, sizeof(first), "%s", why);
		if (bad <= VERIFY_LOG_MAX)
			log_error(u->o->log, "drill %s: verify: %s",
			    u->sp->name, why);
	}
	if (bad > 0) {
		drill_stage_set(u, DRILL_VERIFY, DRILL_FAILED, &t0,
		    "%zu of %zu files differ from the snapshot; the first: %s",
		    bad, t->n, first);
		if (u->res->class == ERR_NONE)
			u->res->class = ERR_CORRUPT;
	} else
		drill_stage_set(u, DRILL_VERIFY, DRILL_OK, &t0,
		    "%zu files on %s have the snapshot's content", t->n,
		    u->sp->ssh.host);
out:
	for (size_t k = 0; k < rn; k++)
		free(rv[k].path);
	free(rv);
	free(out.p);
	free(cmd);
	free(qp);
}

/* ------------------------------------------------------------ check */

void
drill_check_ssh(struct run *u)
{
	char *qp = q(u->sp->ssh.path), *cmd, tail[512];
	struct timespec t;
	struct err e;
	int status;

	clock_gettime(CLOCK_MONOTONIC, &t);
	err_clear(&e);
	/* The name and the snapshot id are [A-Za-z0-9._-] and hex. */
	cmd = xasprintf("COFFER_DRILL='%s' COFFER_DRILL_TARGET=%s "
	                "COFFER_DRILL_SNAPSHOT='%s'; export COFFER_DRILL "
	                "COFFER_DRILL_TARGET COFFER_DRILL_SNAPSHOT; %s",
	    u->sp->name, qp, u->res->snapshot_id, u->sp->checks);
	if (run_cmd(u->ssh, cmd, NULL, 1, &status, tail, sizeof(tail), &e) ==
	    -1) {
		drill_check_add(u, DRILL_CHECK, 0, &t, u->sp->checks, e.msg);
		drill_stage_fail(u, DRILL_CHECK, &t, &e);
	} else if (status != 0) {
		err_set(&e, ERR_IO, "checks command on %s %s %d%s%s",
		    u->sp->ssh.host,
		    status < 0 ? "was killed by a signal, status"
		               : "exited with status",
		    status, tail[0] ? ": " : "", tail);
		drill_check_add(u, DRILL_CHECK, 0, &t, u->sp->checks, e.msg);
		drill_stage_fail(u, DRILL_CHECK, &t, &e);
	} else {
		drill_check_add(u, DRILL_CHECK, 1, &t, u->sp->checks, NULL);
		drill_stage_set(u, DRILL_CHECK, DRILL_OK, &t,
		    "checks command passed on %s", u->sp->ssh.host);
	}
	free(cmd);
	free(qp);
}

/* ------------------------------------------------------------ cleanup */

void
drill_ssh_close(struct run *u)
{
	if (u->ssh != NULL)
		stor_close(u->ssh);
	u->ssh = NULL;
	if (u->th != NULL)
		th_free(u->th);
	free(u->th);
	u->th = NULL;
}

int
drill_ssh_remove(const struct spec *sp, struct log *log, struct err *e)
{
	struct stor *ss = NULL;
	char *qp = q(sp->ssh.path), *cmd, tail[512];
	int status = -1, rc = -1;

	cmd = xasprintf("rm -rf %s", qp);
	/* Not interrupted: the cleanup runs after ^C too. */
	if (ssh_open(sp, log, NULL, &ss, e) == -1 ||
	    run_cmd(ss, cmd, NULL, 1, &status, tail, sizeof(tail), e) == -1)
		goto out;
	if (status != 0) {
		err_set(e, ERR_IO, "rm -rf %s on %s exited with status %d%s%s",
		    sp->ssh.path, sp->ssh.host, status, tail[0] ? ": " : "",
		    tail);
		goto out;
	}
	rc = 0;
out:
	if (ss != NULL)
		stor_close(ss);
	free(cmd);
	free(qp);
	return (rc);
}
