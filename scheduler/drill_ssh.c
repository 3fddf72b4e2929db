/*
 * The ssh:USER@HOST[:PORT]:/PATH target (drill.h): the restore streamed
 * as a pax tar (rst_to_tar) over an SSH exec channel into
 * "mkdir -p PATH && tar -x -C PATH" on the test host, the SHA-256 of every
 * regular file taken from the stream on the way; verified against
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

/* ------------------------------------------------------------ tar hashes */

struct fhash {
	char *path; /* as in the stream, without "./" or "/" in front */
	uint8_t sum[CRYPTO_HASH_LEN];
	int sparse; /* GNU sparse: its stream is no plain content */
};

/* The pax stream read on its way to the test host. */
struct tarhash {
	uint8_t hdr[512];
	size_t hlen;
	uint64_t left, pad;
	enum { TH_SKIP, TH_PAX, TH_FILE } kind;
	char *pax;
	size_t paxlen;
	char *next_path, *next_link; /* from a pax header, for the next */
	uint64_t next_size;
	int has_size, next_sparse;
	struct crypto_sha256_ctx *h;
	struct fhash cur;
	struct fhash *v;
	size_t n, cap;
	int ended;
	int bad;
};

static char *
th_norm(const char *p, size_t n)
{
	while (n >= 2 && p[0] == '.' && p[1] == '/') {
		p += 2;
		n -= 2;
	}
	while (n > 0 && p[0] == '/') {
		p++;
		n--;
	}
	while (n > 0 && p[n - 1] == '/')
		n--;
	return (xstrndup(p, n));
}

static void
th_add(struct tarhash *t, struct fhash *f)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n++] = *f;
	memset(f, 0, sizeof(*f));
}

static uint64_t
th_num(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	if (p[0] & 0x80) { /* base-256 */
		for (size_t i = 1; i < n; i++)
			v = (v << 8) | p[i];
		return (v);
	}
	for (size_t i = 0; i < n && p[i] != '\0'; i++)
		if (p[i] >= '0' && p[i] <= '7')
			v = v * 8 + (uint64_t)(p[i] - '0');
	return (v);
}

/* The records "LEN key=value\n" of a pax extended header. */
static void
th_pax(struct tarhash *t)
{
	const char *p = t->pax, *end = t->pax + t->paxlen;

	while (p < end) {
		char *sp;
		unsigned long len = strtoul(p, &sp, 10);
		const char *kv, *eq, *rec_end;

		if (sp == p || *sp != ' ' || len == 0 ||
		    len > (unsigned long)(end - p)) {
			t->bad = 1;
			return;
		}
		rec_end = p + len - 1; /* the newline */
		kv = sp + 1;
		eq = memchr(kv, '=', (size_t)(rec_end - kv));
		if (eq != NULL) {
			size_t kl = (size_t)(eq - kv),
			       vl = (size_t)(rec_end - eq - 1);

			if (kl == 4 && memcmp(kv, "path", 4) == 0) {
				free(t->next_path);
				t->next_path = th_norm(eq + 1, vl);
			} else if (kl == 8 && memcmp(kv, "linkpath", 8) == 0) {
				free(t->next_link);
				t->next_link = th_norm(eq + 1, vl);
			} else if (kl == 4 && memcmp(kv, "size", 4) == 0) {
				t->next_size = strtoull(eq + 1, NULL, 10);
				t->has_size = 1;
			} else if (kl == 15 &&
			    memcmp(kv, "GNU.sparse.name", 15) == 0) {
				free(t->next_path);
				t->next_path = th_norm(eq + 1, vl);
				t->next_sparse = 1;
			} else if (kl > 11 &&
			    memcmp(kv, "GNU.sparse.", 11) == 0)
				t->next_sparse = 1;
		}
		p += len;
	}
}

static void
th_header(struct tarhash *t)
{
	const uint8_t *h = t->hdr;
	uint64_t size;
	char name[101], prefix[156], link[101], *path;
	int type = h[156];
	size_t i;

	for (i = 0; i < 512 && h[i] == 0; i++)
		;
	if (i == 512) {
		t->ended = 1;
		return;
	}
	size = t->has_size ? t->next_size : th_num(h + 124, 12);
	memcpy(name, h, 100);
	name[100] = '\0';
	memcpy(prefix, h + 345, 155);
	prefix[155] = '\0';
	memcpy(link, h + 157, 100);
	link[100] = '\0';
	t->left = size;
	t->pad = (512 - size % 512) % 512;
	t->kind = TH_SKIP;
	if (type == 'x') {
		if (size > (1u << 20)) {
			t->bad = 1; /* no pax header of ours is that long */
			return;
		}
		t->kind = TH_PAX;
		t->pax = xreallocarray(t->pax, (size_t)size + 1, 1);
		t->paxlen = 0;
		return; /* the overrides are for the next header */
	}
	if (type == 'g' || type == 'L' || type == 'K')
		return;
	if (t->next_path != NULL) {
		path = t->next_path;
		t->next_path = NULL;
	} else if (prefix[0] != '\0') {
		char *full = xasprintf("%s/%s", prefix, name);

		path = th_norm(full, strlen(full));
		free(full);
	} else
		path = th_norm(name, strlen(name));
	if (type == '0' || type == '\0' || type == '7') {
		t->kind = TH_FILE;
		t->cur.path = path;
		t->cur.sparse = t->next_sparse;
		crypto_sha256_final(t->h, t->cur.sum); /* a fresh start */
		if (size == 0) {
			crypto_sha256_final(t->h, t->cur.sum);
			th_add(t, &t->cur);
		}
	} else if (type == '1') {
		/* A hard link: the same content as what it links to. */
		struct fhash f;
		char *to = t->next_link != NULL ? xstrdup(t->next_link)
		                                : th_norm(link, strlen(link));

		memset(&f, 0, sizeof(f));
		f.path = path;
		f.sparse = 1; /* presence only, unless its file is known */
		for (size_t k = t->n; k-- > 0;)
			if (strcmp(t->v[k].path, to) == 0) {
				memcpy(f.sum, t->v[k].sum, sizeof(f.sum));
				f.sparse = t->v[k].sparse;
				break;
			}
		free(to);
		th_add(t, &f);
	} else
		free(path);
	free(t->next_link);
	t->next_link = NULL;
	t->has_size = 0;
	t->next_sparse = 0;
}

static void
th_feed(struct tarhash *t, const uint8_t *p, size_t n)
{
	while (n > 0 && !t->ended && !t->bad) {
		size_t take;

		if (t->left > 0) {
			take = n < t->left ? n : (size_t)t->left;
			if (t->kind == TH_FILE)
				crypto_sha256_update(t->h, p, take);
			else if (t->kind == TH_PAX) {
				memcpy(t->pax + t->paxlen, p, take);
				t->paxlen += take;
			}
			t->left -= take;
			p += take;
			n -= take;
			if (t->left == 0 && t->kind == TH_FILE) {
				crypto_sha256_final(t->h, t->cur.sum);
				th_add(t, &t->cur);
			} else if (t->left == 0 && t->kind == TH_PAX)
				th_pax(t);
			continue;
		}
		if (t->pad > 0) {
			take = n < t->pad ? n : (size_t)t->pad;
			t->pad -= take;
			p += take;
			n -= take;
			continue;
		}
		take = 512 - t->hlen;
		if (take > n)
			take = n;
		memcpy(t->hdr + t->hlen, p, take);
		t->hlen += take;
		p += take;
		n -= take;
		if (t->hlen == 512) {
			t->hlen = 0;
			th_header(t);
		}
	}
}

static void
th_free(struct tarhash *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].path);
	free(t->v);
	free(t->cur.path);
	free(t->pax);
	free(t->next_path);
	free(t->next_link);
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

struct feeder {
	int fd;
	struct tarhash *th;
};

static ssize_t
feed_in(void *arg, void *buf, size_t size, struct err *e)
{
	struct feeder *f = arg;
	ssize_t n;

	while ((n = read(f->fd, buf, size)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return (err_sys(e, ERR_IO, "the restore's stream"));
	th_feed(f->th, buf, (size_t)n);
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
	struct feeder f;
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
	if (pthread_create(&th, NULL, stream_main, &s) != 0) {
		err_set(e, ERR_INTERNAL, "pthread_create failed");
		goto out;
	}
	pfd[1] = -1; /* the thread's */
	started = 1;
	f.fd = pfd[0];
	f.th = u->th;
	io.in = feed_in;
	io.in_arg = &f;
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
	else if (u->th->bad || !u->th->ended)
		err_set(e, ERR_INTERNAL,
		    "the restore's tar stream could not be read back for "
		    "its hashes");
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
		f.path = th_norm(p + 2 * CRYPTO_HASH_LEN + 2,
		    len - 2 * CRYPTO_HASH_LEN - 2);
		f.sparse = 0;
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
			if (!t->v[i].sparse &&
			    memcmp(t->v[i].sum, rv[j].sum, CRYPTO_HASH_LEN) !=
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
