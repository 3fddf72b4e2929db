/*
 * A drill's run (drill.h): resolve it, refuse a production-looking
 * target, fork the worker that restores and checks in a private work
 * directory and watch it against the timeout, then clean up whatever it
 * made (however it ended), and call the on_failure hook.
 */
#include "scheduler/drill.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conninfo.h"
#include "crypto.h"
#include "log.h"
#include "proc.h"
#include "repo/chunker.h"
#include "repo/key.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "repo/snapsel.h"
#include "repo/tree.h"
#include "restore/db.h"
#include "restore/restore.h"
#include "value.h"
#include "xmalloc.h"

static const char *const stage_names[DRILL_NSTAGES] = { "restore", "verify",
	"sql_check", "check", "rto", "rpo" };

/* The scratch cluster's superuser, and the port its socket is named by. */
#define SCRATCH_SUPERUSER "postgres"
#define SCRATCH_PORT      "5432"
/* Entries the directory verification names one by one on the log. */
#define VERIFY_LOG_MAX 20

const char *
drill_stage_name(enum drill_stage s)
{
	return (s < DRILL_NSTAGES ? stage_names[s] : "?");
}

const char *
drill_status_name(enum drill_status s)
{
	switch (s) {
	case DRILL_OK:
		return ("ok");
	case DRILL_FAILED:
		return ("failed");
	default:
		return ("skipped");
	}
}

const char *
drill_target_name(enum drill_target t)
{
	switch (t) {
	case DRILL_T_DIR:
		return ("directory");
	case DRILL_T_SQLITE:
		return ("sqlite");
	case DRILL_T_PG_SCRATCH:
		return ("postgres-scratch");
	case DRILL_T_PG:
		return ("postgres");
	}
	return ("?");
}

/* ------------------------------------------------- pure helpers (tested) */

int
drill_sql_true(const char *v)
{
	return (strcasecmp(v, "t") == 0 || strcasecmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0);
}

int
drill_sql_output_ok(const char *out, char *why, size_t whylen)
{
	size_t rows = 0, len = strlen(out), cols;
	const char *nl;
	char *v;

	/* psql ends every row with a newline; proc_output cut the last. */
	while (len > 0 && out[len - 1] == '\n')
		len--;
	if (len == 0) {
		snprintf(why, whylen, "it returned no row");
		return (0);
	}
	for (const char *p = out; p < out + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(out + len - p));
		rows++;
		if (nl == NULL)
			break;
	}
	if (rows != 1) {
		snprintf(why, whylen, "it returned %zu rows, not one", rows);
		return (0);
	}
	v = xstrndup(out, len);
	cols = 1;
	for (const char *p = v; (p = strstr(p, DRILL_SQL_SEP)) != NULL; p++)
		cols++;
	if (cols != 1)
		snprintf(why, whylen, "its row has %zu columns, not one", cols);
	else if (!drill_sql_true(v))
		snprintf(why, whylen, "its value is '%.64s', not true",
		    v[0] != '\0' ? v : "NULL");
	free(v);
	return (cols == 1 && why[0] == '\0' ? 1 : 0);
}

void
drill_sql_split(const char *s, char ***out, size_t *n)
{
	char **v = NULL;
	size_t k = 0;

	while (*s != '\0') {
		size_t len = strcspn(s, ";");
		const char *a = s, *b = s + len;

		while (a < b && strchr(" \t\r\n", *a) != NULL)
			a++;
		while (b > a && strchr(" \t\r\n", b[-1]) != NULL)
			b--;
		if (b > a) {
			v = xreallocarray(v, k + 1, sizeof(*v));
			v[k++] = xstrndup(a, (size_t)(b - a));
		}
		s += len;
		if (*s == ';')
			s++;
	}
	*out = v;
	*n = k;
}

int64_t
drill_consistent_time(const struct manifest *m, const char *source)
{
	const struct manifest_source *src =
	    source != NULL ? manifest_find_source(m, source) : NULL;

	if (src != NULL && src->start.tv_sec > 0)
		return ((int64_t)src->start.tv_sec);
	return ((int64_t)m->time.tv_sec);
}

/* Where libpq would connect for ci: host (or socket dir) and port. */
struct pg_where {
	char host[256];
	char port[16];
	char db[256];
	int local; /* a socket directory or a loopback address */
};

static void
pg_where(const struct conninfo *ci, const char *dbname, struct pg_where *w)
{
	const char *h = conninfo_get(ci, "host"), *p = conninfo_get(ci, "port");
	const char *d = dbname;

	if (h == NULL || *h == '\0')
		h = conninfo_get(ci, "hostaddr");
	if (h == NULL || *h == '\0')
		h = getenv("PGHOST");
	if (h == NULL || *h == '\0')
		h = "/var/run/postgresql";
	if (p == NULL || *p == '\0')
		p = getenv("PGPORT");
	if (p == NULL || *p == '\0')
		p = "5432";
	if (d == NULL)
		d = conninfo_get(ci, "dbname");
	if (d == NULL || *d == '\0')
		d = getenv("PGDATABASE");
	if (d == NULL || *d == '\0')
		d = conninfo_get(ci, "user");
	if (d == NULL || *d == '\0')
		d = getenv("PGUSER");
	if (d == NULL)
		d = "";
	snprintf(w->host, sizeof(w->host), "%s", h);
	snprintf(w->port, sizeof(w->port), "%s", p);
	snprintf(w->db, sizeof(w->db), "%s", d);
	w->local = h[0] == '/' || strcmp(h, "localhost") == 0 ||
	    strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0;
}

int
drill_production(const struct config *cfg, const char *conninfo,
    const char *dbname, char *why, size_t whylen, struct err *e)
{
	const struct config_section *s = NULL;
	struct conninfo *ci = NULL, *sci = NULL;
	struct pg_where t, p;
	int hit = 0;

	if (conninfo_parse(conninfo, &ci, e) == -1)
		return (-1);
	pg_where(ci, dbname, &t);
	conninfo_free(ci);
	while (!hit && (s = config_next(cfg, s, CONFIG_SOURCE)) != NULL) {
		const char *type = config_get_str(s, "type");
		const char *conn = config_get_str(s, "connection");
		struct err pe;

		if (type == NULL || strcmp(type, "postgres") != 0)
			continue;
		if (conninfo_parse(conn != NULL ? conn : "", &sci, &pe) == -1)
			continue; /* the snapshot refuses it too */
		pg_where(sci, config_get_str(s, "database"), &p);
		conninfo_free(sci);
		sci = NULL;
		if (strcmp(t.port, p.port) != 0 || strcmp(t.db, p.db) != 0)
			continue;
		if ((t.local && p.local) || strcasecmp(t.host, p.host) == 0) {
			snprintf(why, whylen,
			    "it is the database %s on %s port %s, as [source "
			    "%s] is",
			    p.db, p.host, p.port, config_section_name(s));
			hit = 1;
		}
	}
	return (hit);
}

/* ------------------------------------------------------------ resolving */

struct spec {
	const char *name;
	const struct config_section *sec;
	const char *repository, *snapshot, *source, *src_type;
	const char *target; /* the value as written */
	enum drill_target kind;
	const char *arg; /* DIR: the path; PG: the conninfo */
	char **sql;
	size_t nsql;
	const char *checks, *on_failure, *drill_user;
	uint64_t max_rto, max_rpo, timeout, hook_timeout;
};

static void
spec_free(struct spec *sp)
{
	value_list_free(sp->sql, sp->nsql);
	sp->sql = NULL;
	sp->nsql = 0;
}

static int
resolve(const struct config *cfg, const char *name, struct spec *sp,
    struct err *e)
{
	const struct config_section *sec, *src = NULL;
	enum config_drill_target k;
	const char *sql;

	memset(sp, 0, sizeof(*sp));
	if (cfg == NULL)
		return (err_set(e, ERR_USAGE,
		    "no [drill %s]: no configuration file was read (give -c "
		    "FILE)",
		    name));
	if ((sec = config_section_find(cfg, CONFIG_DRILL, name)) == NULL)
		return (err_set(e, ERR_USAGE, "no [drill %s] in %s", name,
		    config_file(cfg)));
	sp->name = name;
	sp->sec = sec;
	sp->repository = config_get_str(sec, "repository");
	sp->snapshot = config_get_str(sec, "snapshot");
	sp->source = config_get_str(sec, "source");
	sp->target = config_get_str(sec, "target");
	sp->checks = config_get_str(sec, "checks");
	sp->on_failure = config_get_str(sec, "on_failure");
	sp->drill_user = config_get_str(sec, "drill_user");
	(void)config_get_duration(sec, "max_rto", &sp->max_rto);
	(void)config_get_duration(sec, "max_rpo", &sp->max_rpo);
	(void)config_get_duration(sec, "timeout", &sp->timeout);
	(void)config_get_duration(sec, "hook_timeout", &sp->hook_timeout);
	if (sp->target == NULL)
		return (config_err(e, sec, NULL,
		    "[drill %s] has no target; set target = a directory (an "
		    "absolute path), sqlite, postgres-scratch or "
		    "postgres:CONNINFO",
		    name));
	k = config_drill_target(sp->target, &sp->arg);
	if (k == CONFIG_DRILL_BAD || k == CONFIG_DRILL_UNSUPPORTED)
		return (config_err(e, sec, "target",
		    "target: '%s' is not supported", sp->target));
	sp->kind = (enum drill_target)k;
	if (sp->source != NULL) {
		src = config_section_find(cfg, CONFIG_SOURCE, sp->source);
		sp->src_type = src != NULL ? config_get_str(src, "type") : NULL;
	}
	if (sp->kind == DRILL_T_SQLITE &&
	    (sp->src_type == NULL || strcmp(sp->src_type, "sqlite") != 0))
		return (config_err(e, sec, sp->source ? "source" : "target",
		    "target = sqlite restores a [source] of type sqlite; set "
		    "source = its NAME"));
	if ((sp->kind == DRILL_T_PG_SCRATCH || sp->kind == DRILL_T_PG) &&
	    (sp->src_type == NULL || strcmp(sp->src_type, "postgres") != 0))
		return (config_err(e, sec, sp->source ? "source" : "target",
		    "target = %s restores a [source] of type postgres; set "
		    "source = its NAME",
		    sp->kind == DRILL_T_PG ? "postgres:CONNINFO"
		                           : "postgres-scratch"));
	if ((sql = config_get_str(sec, "sql_checks")) != NULL) {
		drill_sql_split(sql, &sp->sql, &sp->nsql);
		if (sp->nsql == 0)
			return (config_err(e, sec, "sql_checks",
			    "sql_checks: no statement in '%s'", sql));
	}
	if (sp->drill_user != NULL && getpwnam(sp->drill_user) == NULL) {
		spec_free(sp);
		return (config_err(e, sec, "drill_user",
		    "drill_user: there is no user %s on this host",
		    sp->drill_user));
	}
	return (0);
}

int
drill_check(const struct config *cfg, const char *name, struct err *e)
{
	struct spec sp;
	int rc = resolve(cfg, name, &sp, e);

	spec_free(&sp);
	return (rc);
}

/* ------------------------------------------------------- shared state */

/*
 * What the worker tells the parent, in memory both see (MAP_SHARED): the
 * result as it grows, and what it made that the parent must remove if the
 * worker cannot (it was killed).  Read by the parent only once the worker
 * is gone.
 */
struct shared {
	struct drill_result res;
	int done;    /* the worker reached its end */
	int running; /* the stage running, or -1 */
	int cluster; /* a scratch cluster may be running */
	int db_made; /* PG: the drill's database may exist */
	char dbname[256];
	char maint[2048]; /* PG: where to drop it from */
};

/* Everything the parent and the worker both use. */
struct run {
	struct spec *sp;
	const struct drill_opts *o;
	struct shared *sh;
	struct drill_result *res; /* &sh->res */
	char *work;               /* the private work directory */
	char *pgbin;              /* PG scratch: initdb's directory */
	char *data;               /* PG scratch: the cluster */
	char *sock;               /* PG scratch: its socket directory */
	uid_t uid;                /* PG scratch: who runs it */
	gid_t gid;
	char user[64]; /* "" when it is us */
	struct timespec t0;
	char dbname[256];
};

static double
elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((double)(t.tv_sec - t0->tv_sec) +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e9);
}

/* Replace control characters: messages are one line. */
static void
one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static void stage_set(struct run *u, enum drill_stage s, enum drill_status st,
    const struct timespec *t, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
stage_set(struct run *u, enum drill_stage s, enum drill_status st,
    const struct timespec *t, const char *fmt, ...)
{
	struct drill_stage_result *r = &u->res->stages[s];
	va_list ap;

	r->status = st;
	if (t != NULL)
		r->duration = elapsed(t);
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	one_line(r->msg);
}

/* A failed stage from e; its class kept for the exit status. */
static void
stage_fail(struct run *u, enum drill_stage s, const struct timespec *t,
    const struct err *e)
{
	stage_set(u, s, DRILL_FAILED, t, "%s", e->msg);
	if (u->res->class == ERR_NONE)
		u->res->class = e->class != ERR_NONE ? e->class : ERR_INTERNAL;
}

static void
check_add(struct run *u, enum drill_stage s, int ok, const struct timespec *t,
    const char *what, const char *msg)
{
	struct drill_result *r = u->res;
	struct drill_check_result *c;

	r->nchecks_run++;
	if (!ok)
		r->nchecks_failed++;
	if (r->nchecks == DRILL_CHECKS_MAX)
		return;
	c = &r->checks[r->nchecks++];
	c->stage = s;
	c->ok = ok;
	c->duration = elapsed(t);
	snprintf(c->what, sizeof(c->what), "%s", what);
	snprintf(c->msg, sizeof(c->msg), "%s", msg != NULL ? msg : "");
	one_line(c->what);
	one_line(c->msg);
}

static int
interrupted(const struct run *u)
{
	return (u->o->interrupted != NULL && *u->o->interrupted);
}

/* ------------------------------------------------------ removing trees */

/*
 * Remove name (at dfd) and, when it is a directory, all below it, never
 * following a symlink or leaving the file system dev.  Directories are
 * made writable first (a restored 0555 directory).  -1 with errno at the
 * first failure; what could be removed is.
 */
static int
rm_at(int dfd, const char *name, dev_t dev)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = 0, saved = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return (errno == ENOENT ? 0 : -1);
	if (!S_ISDIR(st.st_mode))
		return (
		    unlinkat(dfd, name, 0) == -1 && errno != ENOENT ? -1 : 0);
	if (st.st_dev != dev) {
		errno = EXDEV;
		return (-1);
	}
	if ((st.st_mode & 0700) != 0700) {
		/* Best effort: the openat below says whether it mattered. */
		int made_ours =
		    fchmodat(dfd, name, (st.st_mode & 07777) | 0700, 0);

		(void)made_ours;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_at(dirfd(d), de->d_name, dev) == -1 && rc == 0) {
			saved = errno;
			rc = -1;
		}
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT &&
	    rc == 0) {
		saved = errno;
		rc = -1;
	}
	errno = saved;
	return (rc);
}

/* Remove path and all below it; with keep, only what is below it. */
static int
rm_tree(const char *path, int keep, struct err *e)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (lstat(path, &st) == -1)
		return (errno == ENOENT ? 0 : err_sys(e, ERR_IO, "%s", path));
	if (!keep) {
		if (rm_at(AT_FDCWD, path, st.st_dev) == -1)
			return (err_sys(e, ERR_IO, "removing %s", path));
		return (0);
	}
	if ((d = opendir(path)) == NULL)
		return (err_sys(e, ERR_IO, "%s", path));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_at(dirfd(d), de->d_name, st.st_dev) == -1 && rc == 0)
			rc = err_sys(e, ERR_IO, "removing %s/%s", path,
			    de->d_name);
	}
	closedir(d);
	return (rc);
}

/* Entries below path (not path itself); -1 when it cannot be read. */
static long
count_tree(int dfd, const char *name)
{
	struct dirent *de;
	struct stat st;
	long n = 0, k;
	DIR *d;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		        0 &&
		    S_ISDIR(st.st_mode)) {
			if ((k = count_tree(dirfd(d), de->d_name)) == -1) {
				n = -1;
				break;
			}
			n += k;
		}
	}
	closedir(d);
	return (n);
}

/* ------------------------------------------------ verifying a directory */

struct verify {
	struct crypto_hmac *mac;
	struct chunker *ck;
	uint8_t *buf;
	size_t bufsz;
	int root; /* we are root: owners were restored */
	uint64_t entries, bad, bytes;
	char first[ERR_MSG_MAX];
	struct log *log;
};

static void mismatch(struct verify *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
mismatch(struct verify *v, const char *path, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (v->bad == 0)
		snprintf(v->first, sizeof(v->first), "%s: %s", path, what);
	if (v->bad < VERIFY_LOG_MAX)
		log_error(v->log, "drill: %s: %s", path, what);
	v->bad++;
}

static unsigned
fs_type_ifmt(enum fs_type t)
{
	switch (t) {
	case FS_FILE:
		return (S_IFREG);
	case FS_DIR:
		return (S_IFDIR);
	case FS_SYMLINK:
		return (S_IFLNK);
	case FS_FIFO:
		return (S_IFIFO);
	case FS_CHR:
		return (S_IFCHR);
	case FS_BLK:
		return (S_IFBLK);
	case FS_SOCK:
		return (S_IFSOCK);
	}
	return (0);
}

/*
 * The owner a restore as root gives n: by name when this host knows the
 * name (libarchive's rule without --numeric-owner), else by number.
 */
static void
expected_owner(const struct fs_node *n, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[4096];

	*uid = n->uid;
	*gid = n->gid;
	if (n->user != NULL &&
	    getpwnam_r(n->user, &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL)
		*uid = pwp->pw_uid;
	if (n->group != NULL &&
	    getgrnam_r(n->group, &gr, buf, sizeof(buf), &grp) == 0 &&
	    grp != NULL)
		*gid = grp->gr_gid;
}

/* The id of the chunk just scanned, checked against chunk k of n. */
static int
chunk_done(struct verify *v, const struct fs_node *n, size_t *k)
{
	uint8_t id[CRYPTO_HASH_LEN];
	int ok;

	crypto_hmac_final(v->mac, id);
	ok = *k < n->nchunks && memcmp(id, n->chunks[*k], sizeof(id)) == 0;
	(*k)++;
	crypto_hmac_begin(v->mac);
	return (ok);
}

/*
 * Do the bytes of the file at fd give the chunk ids n names?  Its data
 * stream is what the snapshot chunked: the extents of a sparse file, else
 * all of it.  1 yes, 0 no (what filled), -1 a read error (errno).
 */
static int
content_ok(struct verify *v, int fd, const struct fs_node *n, char *what,
    size_t whatlen)
{
	struct fs_extent dense = { 0, n->size };
	const struct fs_extent *ext = n->nsparse > 0 ? n->sparse : &dense;
	size_t next = n->nsparse > 0 ? n->nsparse : 1, k = 0;
	int same = 1;

	chunker_reset(v->ck);
	crypto_hmac_begin(v->mac);
	for (size_t i = 0; i < next && same; i++) {
		uint64_t off = ext[i].offset, left = ext[i].length;

		while (left > 0 && same) {
			size_t want = left < v->bufsz ? (size_t)left : v->bufsz;
			ssize_t got = pread(fd, v->buf, want, (off_t)off);
			const uint8_t *p = v->buf;
			size_t rest;

			if (got == -1 && errno == EINTR)
				continue;
			if (got == -1)
				return (-1);
			if (got == 0) {
				snprintf(what, whatlen,
				    "shorter than the snapshot's %llu bytes",
				    (unsigned long long)n->size);
				return (0);
			}
			off += (uint64_t)got;
			left -= (uint64_t)got;
			v->bytes += (uint64_t)got;
			for (rest = (size_t)got; rest > 0 && same;) {
				int cut;
				size_t take =
				    chunker_scan(v->ck, p, rest, &cut);

				crypto_hmac_update(v->mac, p, take);
				p += take;
				rest -= take;
				if (cut)
					same = chunk_done(v, n, &k);
			}
		}
	}
	if (same && chunker_finish(v->ck) > 0)
		same = chunk_done(v, n, &k);
	else if (!same)
		chunker_reset(v->ck);
	if (same && k != n->nchunks)
		same = 0;
	if (!same)
		snprintf(what, whatlen,
		    "its bytes differ from the snapshot's (chunk %zu of %zu)",
		    k, n->nchunks);
	return (same);
}

static void
verify_node(struct verify *v, const struct fs_node *n, const char *path,
    const char *disk)
{
	struct stat st;
	char what[300], *link = NULL;
	uid_t uid;
	gid_t gid;
	int fd, ok;

	if (lstat(disk, &st) == -1) {
		mismatch(v, path, "not restored (%s)", strerror(errno));
		return;
	}
	if ((st.st_mode & S_IFMT) != fs_type_ifmt(n->type)) {
		mismatch(v, path,
		    "restored as another kind of entry than the "
		    "snapshot's %s",
		    fs_type_name(n->type));
		return;
	}
	if (n->type != FS_SYMLINK &&
	    (st.st_mode & 07777) != (n->mode & 07777)) {
		mismatch(v, path, "mode %04o, the snapshot has %04o",
		    (unsigned)(st.st_mode & 07777),
		    (unsigned)(n->mode & 07777));
		return;
	}
	if (v->root) {
		expected_owner(n, &uid, &gid);
		if (st.st_uid != uid || st.st_gid != gid) {
			mismatch(v, path,
			    "owner %u:%u, the snapshot has %u:%u (%s:%s)",
			    (unsigned)st.st_uid, (unsigned)st.st_gid,
			    (unsigned)uid, (unsigned)gid,
			    n->user ? n->user : "?", n->group ? n->group : "?");
			return;
		}
	}
	if (n->type != FS_SYMLINK &&
	    ((int64_t)st.st_mtim.tv_sec != n->mtime.sec ||
	        (uint32_t)st.st_mtim.tv_nsec != n->mtime.nsec)) {
		mismatch(v, path,
		    "mtime %lld.%09ld, the snapshot has %lld.%09u",
		    (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec,
		    (long long)n->mtime.sec, n->mtime.nsec);
		return;
	}
	if (n->type == FS_SYMLINK) {
		size_t cap = (size_t)st.st_size + 2;
		ssize_t got;

		link = xmalloc(cap);
		got = readlink(disk, link, cap);
		if (got < 0 || (size_t)got >= cap || n->symlink == NULL ||
		    strlen(n->symlink) != (size_t)got ||
		    memcmp(link, n->symlink, (size_t)got) != 0)
			mismatch(v, path,
			    "symlink target differs from the snapshot's");
		free(link);
		return;
	}
	if (n->type != FS_FILE)
		return;
	if ((uint64_t)st.st_size != n->size) {
		mismatch(v, path, "size %llu, the snapshot has %llu",
		    (unsigned long long)st.st_size,
		    (unsigned long long)n->size);
		return;
	}
	if ((fd = open(disk, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		mismatch(v, path, "cannot be read (%s)", strerror(errno));
		return;
	}
	what[0] = '\0';
	ok = content_ok(v, fd, n, what, sizeof(what));
	close(fd);
	if (ok == -1)
		mismatch(v, path, "cannot be read (%s)", strerror(errno));
	else if (ok == 0)
		mismatch(v, path, "%s", what);
}

/*
 * Every entry of the tree root against what sits under target, then the
 * count of what is there: nothing more may be.  -1 only when the walk
 * itself fails (a tree cannot be read, interrupted); mismatches are
 * counted in v.
 */
static int
verify_dir(struct run *u, struct repo *r, const uint8_t root[IDX_ID_LEN],
    const char *target, struct verify *v, struct err *e)
{
	struct tree_reader *tr = tree_reader_new(r);
	struct tree_iter *it = tree_iter_new(tr, root, "");
	const struct fs_node *n;
	const char *path;
	uint64_t sockets = 0;
	long ondisk;
	int got, rc = -1;

	v->mac = crypto_hmac_new(key_master_id_key(repo_master(r)),
	    KEY_SECRET_LEN, e);
	if (v->mac == NULL ||
	    (v->ck = chunker_new(repo_chunker_params(r), repo_gear(r), e)) ==
	        NULL)
		goto out;
	v->bufsz = 1 << 20;
	v->buf = xmalloc(v->bufsz);
	v->root = geteuid() == 0;
	while ((got = tree_iter_next(it, &n, &path, e)) == 1) {
		char *disk;

		if (interrupted(u)) {
			err_set(e, ERR_INTERRUPTED, "interrupted");
			goto out;
		}
		if (n->type == FS_SOCK) {
			sockets++; /* restore leaves sockets out */
			continue;
		}
		disk = xasprintf("%s%s", target, path);
		verify_node(v, n, path, disk);
		free(disk);
		v->entries++;
	}
	if (got == -1)
		goto out;
	(void)sockets;
	ondisk = count_tree(AT_FDCWD, target);
	if (ondisk == -1) {
		err_sys(e, ERR_IO, "%s", target);
		goto out;
	}
	if ((uint64_t)ondisk > v->entries)
		mismatch(v, target,
		    "%llu entries there that the snapshot does not hold",
		    (unsigned long long)((uint64_t)ondisk - v->entries));
	rc = 0;
out:
	tree_iter_free(it);
	tree_reader_free(tr);
	crypto_hmac_free(v->mac);
	chunker_free(v->ck);
	free(v->buf);
	v->mac = NULL;
	v->ck = NULL;
	v->buf = NULL;
	return (rc);
}

/* ------------------------------------------------------------ postgres */

/* A libpq connection string value, quoted: 'it\'s'. */
static char *
ci_quote(const char *s)
{
	size_t n = strlen(s);
	char *q = xmalloc(2 * n + 3), *p = q;

	*p++ = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '\'' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '\'';
	*p = '\0';
	return (q);
}

/* A postgresql.conf string's inside: ' doubled. */
static char *
conf_quote(const char *s)
{
	char *q = xmalloc(2 * strlen(s) + 1), *p = q;

	for (; *s != '\0'; s++) {
		if (*s == '\'')
			*p++ = '\'';
		*p++ = *s;
	}
	*p = '\0';
	return (q);
}

/* conninfo with its dbname replaced by db. */
static char *
ci_with_db(const char *conninfo, const char *db, struct err *e)
{
	struct conninfo *ci = NULL;
	char *s;

	if (conninfo_parse(conninfo, &ci, e) == -1)
		return (NULL);
	s = conninfo_string(ci, db);
	conninfo_free(ci);
	return (s);
}

/*
 * psql -c sql on conninfo, rows as drill_sql_output_ok reads them, into
 * out.  psql of PATH (the worker puts a scratch cluster's first).
 */
static int
pg_query(const char *psql, const char *conninfo, const char *sql, char *out,
    size_t outlen, volatile sig_atomic_t *intr, struct err *e)
{
	const char *argv[] = { psql, "-X", "-q", "-A", "-t", "-F",
		DRILL_SQL_SEP, "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c",
		sql, NULL };
	struct proc_opts po;

	memset(&po, 0, sizeof(po));
	po.argv = argv;
	po.label = "psql";
	po.tail_errors = 1;
	po.out = PROC_PIPE;
	po.interrupted = intr;
	return (proc_output(&po, out, outlen, e));
}

/* The directory initdb is in: PATH's, else the newest Debian install. */
static char *
pg_bindir(struct err *e)
{
	const char *path = getenv("PATH");
	char *best = NULL;
	long bestv = -1;
	DIR *d;
	struct dirent *de;

	if (path != NULL) {
		char *copy = xstrdup(path), *save = NULL, *dir;

		for (dir = strtok_r(copy, ":", &save); dir != NULL;
		     dir = strtok_r(NULL, ":", &save)) {
			char *p = xasprintf("%s/initdb", dir);
			int ok = dir[0] == '/' && access(p, X_OK) == 0;

			free(p);
			if (ok) {
				best = xstrdup(dir);
				break;
			}
		}
		free(copy);
		if (best != NULL)
			return (best);
	}
	if ((d = opendir("/usr/lib/postgresql")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *end, *p;
			long v = strtol(de->d_name, &end, 10);

			if (end == de->d_name || *end != '\0' || v <= bestv)
				continue;
			p = xasprintf("/usr/lib/postgresql/%s/bin/initdb",
			    de->d_name);
			if (access(p, X_OK) == 0) {
				bestv = v;
				free(best);
				best = xasprintf("/usr/lib/postgresql/%s/bin",
				    de->d_name);
			}
			free(p);
		}
		closedir(d);
	}
	if (best == NULL)
		err_set(e, ERR_IO,
		    "target = postgres-scratch needs PostgreSQL's initdb and "
		    "pg_ctl: none on PATH or under /usr/lib/postgresql "
		    "(install postgresql)");
	return (best);
}

/*
 * Run a server program as the cluster's user: through setpriv when we are
 * root (no PAM, no shell, no supplementary groups), else directly.
 */
static int
as_user(const struct run *u, const char *const *args, const char *label,
    volatile sig_atomic_t *intr, unsigned timeout, struct err *e)
{
	const char *argv[24];
	char ruid[32], rgid[32];
	struct proc_opts po;
	size_t k = 0;

	if (u->user[0] != '\0') {
		snprintf(ruid, sizeof(ruid), "--reuid=%u", (unsigned)u->uid);
		snprintf(rgid, sizeof(rgid), "--regid=%u", (unsigned)u->gid);
		argv[k++] = "setpriv";
		argv[k++] = ruid;
		argv[k++] = rgid;
		argv[k++] = "--clear-groups";
		argv[k++] = "--";
	}
	for (size_t i = 0; args[i] != NULL && k < 23; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	memset(&po, 0, sizeof(po));
	po.argv = argv;
	po.label = label;
	po.interrupted = intr;
	po.timeout = timeout;
	return (proc_run(&po, e));
}

/* Who runs the scratch cluster: us, or when root drill_user's default. */
static int
scratch_user(struct run *u, struct err *e)
{
	const char *name = u->sp->drill_user;
	struct passwd *pw;

	if (geteuid() != 0)
		return (0);
	if (name == NULL)
		name = getpwnam("postgres") != NULL ? "postgres" : "nobody";
	if ((pw = getpwnam(name)) == NULL)
		return (err_set(e, ERR_CONFIG, "drill_user: no user %s", name));
	if (pw->pw_uid == 0)
		return (err_set(e, ERR_CONFIG,
		    "drill_user: %s is root; PostgreSQL does not run as root",
		    name));
	snprintf(u->user, sizeof(u->user), "%s", name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return (0);
}

/* initdb and start a cluster in u->work/pg, listening only on a socket. */
static int
scratch_start(struct run *u, struct err *e)
{
	const char *dir = u->sock;
	char *conf = NULL, *initdb = NULL, *pg_ctl = NULL, *log = NULL;
	char *sockq = NULL;
	FILE *f = NULL;
	int rc = -1;

	if (strlen(u->sock) + sizeof("/.s.PGSQL." SCRATCH_PORT) > 107) {
		err_set(e, ERR_IO,
		    "the scratch cluster's socket path %s/.s.PGSQL.%s is too "
		    "long for a unix socket; set TMPDIR to a shorter directory",
		    u->sock, SCRATCH_PORT);
		goto out;
	}
	if (mkdir(dir, 0700) == -1) {
		err_sys(e, ERR_IO, "%s", dir);
		goto out;
	}
	if (u->user[0] != '\0' && chown(dir, u->uid, u->gid) == -1) {
		err_sys(e, ERR_IO, "chown %s to %s", dir, u->user);
		goto out;
	}
	initdb = xasprintf("%s/initdb", u->pgbin);
	pg_ctl = xasprintf("%s/pg_ctl", u->pgbin);
	log = xasprintf("%s/server.log", dir);
	{
		const char *argv[] = { initdb, "-D", u->data, "-U",
			SCRATCH_SUPERUSER, "--auth=trust", "-E", "UTF8",
			"--locale=C", "--no-sync", "--no-instructions", NULL };

		if (as_user(u, argv, "initdb", u->o->interrupted, 0, e) == -1)
			goto out;
	}
	/*
	 * Restored production data under trust authentication: no TCP
	 * listener at all, a socket in a directory only its user and root
	 * can enter.
	 */
	conf = xasprintf("%s/postgresql.conf", u->data);
	if ((f = fopen(conf, "ae")) == NULL) {
		err_sys(e, ERR_IO, "%s", conf);
		goto out;
	}
	sockq = conf_quote(u->sock);
	fprintf(f,
	    "\n# coffer drill %s: a throwaway cluster\n"
	    "listen_addresses = ''\n"
	    "unix_socket_directories = '%s'\n"
	    "port = %s\n"
	    "fsync = off\n",
	    u->sp->name, sockq, SCRATCH_PORT);
	if (fclose(f) == EOF) {
		f = NULL;
		err_sys(e, ERR_IO, "%s", conf);
		goto out;
	}
	f = NULL;
	u->sh->cluster = 1;
	{
		const char *argv[] = { pg_ctl, "-D", u->data, "-l", log, "-w",
			"-t", "120", "-s", "start", NULL };

		if (as_user(u, argv, "pg_ctl start", u->o->interrupted, 0, e) ==
		    -1)
			goto out;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(conf);
	free(initdb);
	free(pg_ctl);
	free(log);
	free(sockq);
	return (rc);
}

/* Stop it, fast and without a checkpoint; the kill after is the backstop. */
static void
scratch_stop(struct run *u)
{
	char *pg_ctl = xasprintf("%s/pg_ctl", u->pgbin);
	char *pid = xasprintf("%s/postmaster.pid", u->data);
	const char *argv[] = { pg_ctl, "-D", u->data, "-m", "immediate", "-w",
		"-t", "30", "-s", "stop", NULL };
	struct err e;

	err_clear(&e);
	if (access(pid, F_OK) == 0 &&
	    as_user(u, argv, "pg_ctl stop", NULL, 60, &e) == -1)
		log_warn(u->o->log, "drill %s: %s", u->sp->name, e.msg);
	free(pg_ctl);
	free(pid);
}

/* ------------------------------------------------------------- worker */

struct events {
	uint64_t n;
	char first[ERR_MSG_MAX];
	struct log *log;
};

static void
on_event(void *arg, enum rst_event ev, const char *path, const struct err *e)
{
	struct events *ev_ = arg;

	if (ev == RST_SKIPPED || ev == RST_INCONSISTENT)
		return;
	if (ev_->n == 0)
		snprintf(ev_->first, sizeof(ev_->first), "%.200s: %.300s", path,
		    e->msg);
	if (ev_->n < VERIFY_LOG_MAX)
		log_error(ev_->log, "drill: %s: not restored as it was: %s",
		    path, e->msg);
	ev_->n++;
}

static int
refresh_lock(void *arg, struct err *e)
{
	return (repo_lock_refresh(arg, e));
}

/*
 * The snapshot the drill restores: sp->snapshot resolved among the
 * snapshots that hold the source (all of them without one).
 */
static int
pick(const struct spec *sp, struct snapsel *all, size_t *at, struct err *e)
{
	struct snapsel sub;
	size_t *map, k = 0;
	int rc;

	if (sp->source == NULL)
		return (snapsel_resolve(all, sp->snapshot, NULL, at, e));
	sub = *all;
	sub.v = xcalloc(all->n ? all->n : 1, sizeof(*sub.v));
	map = xcalloc(all->n ? all->n : 1, sizeof(*map));
	for (size_t i = 0; i < all->n; i++) {
		const struct manifest_source *s =
		    manifest_find_source(&all->v[i].m, sp->source);

		if (s != NULL && strcmp(s->status, "ok") == 0) {
			sub.v[k] = all->v[i];
			map[k++] = i;
		}
	}
	sub.n = k;
	if (k == 0 && all->n > 0)
		rc = err_set(e, ERR_USAGE,
		    "none of the %zu snapshots holds source %s in good order",
		    all->n, sp->source);
	else
		rc = snapsel_resolve(&sub, sp->snapshot, NULL, at, e);
	if (rc == 0)
		*at = map[*at];
	free(sub.v); /* the items' manifests stay all's */
	free(map);
	return (rc);
}

/* The restore stage for a directory target. */
static int
restore_dir(struct run *u, struct repo *r, const struct rst_selection *sel,
    struct err *e)
{
	struct events ev = { 0, "", u->o->log };
	struct rst_stats st;
	struct rst_opts ro;

	memset(&ro, 0, sizeof(ro));
	ro.flags = FS_EXTRACT_NO_OWNER_WHEN_NOT_ROOT;
	ro.report = on_event;
	ro.report_arg = &ev;
	ro.interrupted = u->o->interrupted;
	ro.keepalive = refresh_lock;
	ro.keepalive_arg = r;
	if (rst_to_dir(r, sel->root, u->sp->arg, &ro, &st, e) == -1) {
		u->res->bytes = st.bytes;
		return (-1);
	}
	u->res->bytes = st.bytes;
	u->res->files = st.files + st.dirs + st.others;
	if (st.errors > 0 || st.warnings > 0)
		return (err_set(e, st.damaged > 0 ? ERR_CORRUPT : ERR_IO,
		    "%llu entries not restored (%llu of them damaged), %llu "
		    "without some metadata; the first: %s",
		    (unsigned long long)st.errors,
		    (unsigned long long)st.damaged,
		    (unsigned long long)st.warnings, ev.first));
	return (0);
}

static int
restore_sqlite(struct run *u, struct repo *r, const struct rst_selection *sel,
    struct err *e)
{
	const char *base = strrchr(sel->file, '/');
	struct rst_stats st;
	struct rst_opts ro;
	int fd, rc;

	snprintf(u->res->target, sizeof(u->res->target), "%s/%s", u->work,
	    base != NULL ? base + 1 : sel->file);
	if ((fd = open(u->res->target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	         0600)) == -1)
		return (err_sys(e, ERR_IO, "%s", u->res->target));
	memset(&ro, 0, sizeof(ro));
	ro.interrupted = u->o->interrupted;
	ro.keepalive = refresh_lock;
	ro.keepalive_arg = r;
	rc = rst_file_to_fd(r, sel->root, sel->file, fd, &ro, &st, e);
	u->res->bytes = st.bytes;
	if (close(fd) == -1 && rc == 0)
		rc = err_sys(e, ERR_IO, "%s", u->res->target);
	return (rc);
}

static int
restore_pg(struct run *u, struct repo *r, const struct manifest *m,
    const struct rst_selection *sel, struct err *e)
{
	struct rst_db_opts dbo;
	struct rst_db_stats dst;
	struct fs_node gn;
	struct err ge;
	char *gpath, *lit, *sql, out[64];
	int globals;

	/* Replay the roles too when the snapshot has them. */
	gpath = xasprintf("%s/globals.sql", sel->src->path);
	globals = rst_lookup(r, m->tree, gpath, &gn, &ge) == 0;
	if (globals)
		fs_node_clear(&gn);
	free(gpath);
	if (u->sp->kind == DRILL_T_PG) {
		/* Never into a database that was there before. */
		lit = rst_db_pg_literal(u->dbname);
		sql = xasprintf("SELECT count(*) FROM pg_catalog.pg_database "
		                "WHERE datname = %s",
		    lit);
		free(lit);
		if (pg_query("psql", u->sh->maint, sql, out, sizeof(out),
		        u->o->interrupted, e) == -1) {
			free(sql);
			return (err_wrap(e, "asking the test server"));
		}
		free(sql);
		if (strcmp(out, "0") != 0)
			return (err_set(e, ERR_USAGE,
			    "database %s exists already on the test server; a "
			    "drill restores only into a database it makes: "
			    "drop it, or name another as the target's dbname",
			    u->dbname));
	}
	snprintf(u->sh->dbname, sizeof(u->sh->dbname), "%s", u->dbname);
	u->sh->db_made = 1;
	memset(&dbo, 0, sizeof(dbo));
	dbo.target = u->res->target;
	dbo.create = 1;
	dbo.globals = globals;
	dbo.log = u->o->log;
	dbo.interrupted = u->o->interrupted;
	dbo.keepalive = refresh_lock;
	dbo.keepalive_arg = r;
	memset(&dst, 0, sizeof(dst));
	if (rst_db_to_postgres(r, m->tree, sel->src, &dbo, &dst, e) == -1) {
		u->res->bytes = dst.bytes;
		return (-1);
	}
	u->res->bytes = dst.bytes;
	return (0);
}

/* amcheck's bt_index_check on every btree index, when there is amcheck. */
static void
verify_pg(struct run *u)
{
	static const char avail[] =
	    "SELECT count(*) > 0 FROM pg_catalog.pg_available_extensions "
	    "WHERE name = 'amcheck'";
	static const char check[] =
	    "SELECT count(*) FROM (SELECT bt_index_check(c.oid) FROM "
	    "pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = "
	    "i.indexrelid JOIN pg_catalog.pg_am a ON a.oid = c.relam WHERE "
	    "a.amname = 'btree' AND c.relpersistence <> 't' AND i.indisvalid "
	    "AND i.indisready) s";
	struct timespec t;
	char out[256];
	struct err e;

	clock_gettime(CLOCK_MONOTONIC, &t);
	err_clear(&e);
	if (pg_query("psql", u->res->target, avail, out, sizeof(out),
	        u->o->interrupted, &e) == -1)
		goto fail;
	if (!drill_sql_true(out)) {
		stage_set(u, DRILL_VERIFY, DRILL_SKIPPED, &t,
		    "amcheck is not available on the server: btree indexes "
		    "not checked");
		return;
	}
	if (pg_query("psql", u->res->target,
	        "CREATE EXTENSION IF NOT EXISTS amcheck", out, sizeof(out),
	        u->o->interrupted, &e) == -1 ||
	    pg_query("psql", u->res->target, check, out, sizeof(out),
	        u->o->interrupted, &e) == -1)
		goto fail;
	check_add(u, DRILL_VERIFY, 1, &t, "amcheck bt_index_check", NULL);
	stage_set(u, DRILL_VERIFY, DRILL_OK, &t,
	    "amcheck: %s btree indexes checked", out);
	return;
fail:
	err_wrap(&e, "amcheck");
	check_add(u, DRILL_VERIFY, 0, &t, "amcheck bt_index_check", e.msg);
	stage_fail(u, DRILL_VERIFY, &t, &e);
}

static void
verify_sqlite(struct run *u)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct timespec t;
	char msg[ERR_MSG_MAX];
	int rc, bad = 0;

	clock_gettime(CLOCK_MONOTONIC, &t);
	msg[0] = '\0';
	if (sqlite3_open_v2(u->res->target, &db, SQLITE_OPEN_READONLY, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) !=
	        SQLITE_OK) {
		snprintf(msg, sizeof(msg), "%.200s: %.300s", u->res->target,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		bad = 1;
	} else {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *v =
			    (const char *)sqlite3_column_text(st, 0);

			if (v == NULL || strcmp(v, "ok") != 0) {
				if (!bad)
					snprintf(msg, sizeof(msg),
					    "PRAGMA integrity_check: %s",
					    v != NULL ? v : "NULL");
				bad = 1;
			}
		}
		if (rc != SQLITE_DONE && !bad) {
			snprintf(msg, sizeof(msg), "PRAGMA integrity_check: %s",
			    sqlite3_errmsg(db));
			bad = 1;
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	check_add(u, DRILL_VERIFY, !bad, &t, "PRAGMA integrity_check", msg);
	if (bad) {
		stage_set(u, DRILL_VERIFY, DRILL_FAILED, &t, "%s", msg);
		if (u->res->class == ERR_NONE)
			u->res->class = ERR_CORRUPT;
	} else
		stage_set(u, DRILL_VERIFY, DRILL_OK, &t,
		    "PRAGMA integrity_check: ok");
}

/* One SQL check on the restored SQLite file: 1 pass, 0 fail (why). */
static int
sqlite_check(const char *path, const char *sql, char *why, size_t whylen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ok = 0, rc;

	why[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s",
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		snprintf(why, whylen, "%s",
		    rc == SQLITE_DONE ? "it returned no row"
		                      : sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_column_count(st) != 1) {
		snprintf(why, whylen, "its row has %d columns, not one",
		    sqlite3_column_count(st));
		goto out;
	}
	{
		const char *v = (const char *)sqlite3_column_text(st, 0);

		if (v == NULL || !drill_sql_true(v)) {
			snprintf(why, whylen, "its value is '%.64s', not true",
			    v != NULL ? v : "NULL");
			goto out;
		}
	}
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		snprintf(why, whylen, "%s",
		    rc == SQLITE_ROW ? "it returned more than one row"
		                     : sqlite3_errmsg(db));
		goto out;
	}
	ok = 1;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (ok);
}

static void
sql_checks(struct run *u)
{
	struct timespec t0, t;
	char first[ERR_MSG_MAX] = "";
	size_t failed = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < u->sp->nsql && !interrupted(u); i++) {
		char why[ERR_MSG_MAX], out[4096];
		struct err e;
		int ok;

		clock_gettime(CLOCK_MONOTONIC, &t);
		why[0] = '\0';
		err_clear(&e);
		if (u->sp->kind == DRILL_T_SQLITE)
			ok = sqlite_check(u->res->target, u->sp->sql[i], why,
			    sizeof(why));
		else if (pg_query("psql", u->res->target, u->sp->sql[i], out,
		             sizeof(out), u->o->interrupted, &e) == -1) {
			snprintf(why, sizeof(why), "%s", e.msg);
			ok = 0;
		} else
			ok = drill_sql_output_ok(out, why, sizeof(why));
		check_add(u, DRILL_SQL_CHECK, ok, &t, u->sp->sql[i], why);
		if (!ok) {
			log_error(u->o->log,
			    "drill %s: SQL check '%s' failed: %s", u->sp->name,
			    u->sp->sql[i], why);
			if (failed++ == 0)
				snprintf(first, sizeof(first),
				    "SQL check '%.200s' failed: %s",
				    u->sp->sql[i], why);
		}
	}
	if (interrupted(u)) {
		stage_set(u, DRILL_SQL_CHECK, DRILL_FAILED, &t0, "interrupted");
		if (u->res->class == ERR_NONE)
			u->res->class = ERR_INTERRUPTED;
	} else if (failed > 0) {
		stage_set(u, DRILL_SQL_CHECK, DRILL_FAILED, &t0,
		    "%zu of %zu SQL checks failed; the first: %s", failed,
		    u->sp->nsql, first);
		if (u->res->class == ERR_NONE)
			u->res->class = ERR_IO;
	} else
		stage_set(u, DRILL_SQL_CHECK, DRILL_OK, &t0,
		    "%zu SQL checks passed", u->sp->nsql);
}

static void
checks_command(struct run *u)
{
	char vdrill[CONFIG_NAME_MAX + 32], vtarget[sizeof(u->res->target) + 32],
	    vsnap[96];
	const char *env[4];
	struct proc_opts po;
	struct timespec t;
	struct err e;

	clock_gettime(CLOCK_MONOTONIC, &t);
	snprintf(vdrill, sizeof(vdrill), "COFFER_DRILL=%s", u->sp->name);
	snprintf(vtarget, sizeof(vtarget), "COFFER_DRILL_TARGET=%s",
	    u->res->target);
	snprintf(vsnap, sizeof(vsnap), "COFFER_DRILL_SNAPSHOT=%s",
	    u->res->snapshot_id);
	env[0] = vdrill;
	env[1] = vtarget;
	env[2] = vsnap;
	env[3] = NULL;
	memset(&po, 0, sizeof(po));
	po.shell = u->sp->checks;
	po.label = "checks command";
	po.env = env;
	po.out = PROC_TAIL;
	po.interrupted = u->o->interrupted;
	err_clear(&e);
	if (proc_run(&po, &e) == -1) {
		check_add(u, DRILL_CHECK, 0, &t, u->sp->checks, e.msg);
		stage_fail(u, DRILL_CHECK, &t, &e);
		return;
	}
	check_add(u, DRILL_CHECK, 1, &t, u->sp->checks, NULL);
	stage_set(u, DRILL_CHECK, DRILL_OK, &t, "checks command passed");
}

static int
prepare_env(struct run *u, struct err *e)
{
	char *tmp = xasprintf("%s/tmp", u->work), *path;
	int rc = 0;

	/* Staging files of a database restore go where the drill cleans. */
	if (mkdir(tmp, 0700) == -1 || setenv("TMPDIR", tmp, 1) == -1)
		rc = err_sys(e, ERR_IO, "%s", tmp);
	free(tmp);
	if (rc == 0 && u->pgbin != NULL) {
		/* pg_restore and psql of the cluster's version. */
		const char *old = getenv("PATH");

		path = xasprintf("%s%s%s", u->pgbin, old ? ":" : "",
		    old ? old : "");
		if (setenv("PATH", path, 1) == -1)
			rc = err_sys(e, ERR_IO, "PATH");
		free(path);
	}
	return (rc);
}

/* In the worker: every stage, into u->sh. */
static void
work(struct run *u)
{
	struct drill_result *res = u->res;
	struct snapsel *list = NULL;
	struct rst_selection sel;
	struct repo *r = NULL;
	struct manifest m;
	struct timespec t;
	struct verify v;
	struct err e;
	size_t at;
	int restored = 0, validated = 1;

	manifest_init(&m);
	memset(&sel, 0, sizeof(sel));
	memset(&v, 0, sizeof(v));
	v.log = u->o->log;
	err_clear(&e);

	/* restore */
	u->sh->running = DRILL_RESTORE;
	clock_gettime(CLOCK_MONOTONIC, &t);
	log_info(u->o->log, "drill %s: restore", u->sp->name);
	if (prepare_env(u, &e) == -1 ||
	    u->o->open_repo(u->o->arg, u->sp->repository, 0, &r, &e) == -1 ||
	    snapsel_list(r, time(NULL), &list, &e) == -1 ||
	    pick(u->sp, list, &at, &e) == -1)
		goto restore_failed;
	m = list->v[at].m;
	manifest_init(&list->v[at].m);
	snapsel_free(list);
	list = NULL;
	snprintf(res->snapshot_id, sizeof(res->snapshot_id), "%s", m.id);
	res->consistent = drill_consistent_time(&m, u->sp->source);
	res->rpo = res->started - res->consistent;
	res->rpo_measured = 1;
	if (rst_select(r, &m, u->sp->source, NULL, 0, NULL,
	        u->sp->kind == DRILL_T_SQLITE, &sel, &e) == -1)
		goto restore_failed;
	switch (u->sp->kind) {
	case DRILL_T_DIR:
		if (restore_dir(u, r, &sel, &e) == -1)
			goto restore_failed;
		break;
	case DRILL_T_SQLITE:
		if (restore_sqlite(u, r, &sel, &e) == -1)
			goto restore_failed;
		break;
	case DRILL_T_PG_SCRATCH:
		if (scratch_start(u, &e) == -1) {
			err_wrap(&e, "scratch cluster");
			goto restore_failed;
		}
		/* FALLTHROUGH */
	case DRILL_T_PG:
		if (restore_pg(u, r, &m, &sel, &e) == -1)
			goto restore_failed;
		break;
	}
	restored = 1;
	stage_set(u, DRILL_RESTORE, DRILL_OK, &t,
	    "snapshot %.8s restored (%llu bytes)", m.id,
	    (unsigned long long)res->bytes);
	goto verify;
restore_failed:
	stage_fail(u, DRILL_RESTORE, &t, &e);
	validated = 0;
verify:
	/* verify */
	u->sh->running = DRILL_VERIFY;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (!restored)
		stage_set(u, DRILL_VERIFY, DRILL_SKIPPED, NULL,
		    "the restore failed");
	else if (u->sp->kind == DRILL_T_DIR) {
		log_info(u->o->log, "drill %s: verify", u->sp->name);
		err_clear(&e);
		if (verify_dir(u, r, sel.root, u->sp->arg, &v, &e) == -1)
			stage_fail(u, DRILL_VERIFY, &t, &e);
		else if (v.bad > 0) {
			err_set(&e, ERR_CORRUPT,
			    "%llu of %llu entries differ from the snapshot; "
			    "the "
			    "first: %s",
			    (unsigned long long)v.bad,
			    (unsigned long long)v.entries, v.first);
			stage_fail(u, DRILL_VERIFY, &t, &e);
		} else
			stage_set(u, DRILL_VERIFY, DRILL_OK, &t,
			    "%llu entries and %llu bytes as in the snapshot",
			    (unsigned long long)v.entries,
			    (unsigned long long)v.bytes);
		check_add(u, DRILL_VERIFY,
		    res->stages[DRILL_VERIFY].status == DRILL_OK, &t,
		    "every entry against the snapshot",
		    res->stages[DRILL_VERIFY].status == DRILL_OK
		        ? NULL
		        : res->stages[DRILL_VERIFY].msg);
	} else if (u->sp->kind == DRILL_T_SQLITE)
		verify_sqlite(u);
	else
		verify_pg(u);
	/* The repository is done with: its lock goes. */
	rst_selection_clear(&sel);
	manifest_clear(&m);
	repo_close(r);
	r = NULL;

	/* sql_check */
	u->sh->running = DRILL_SQL_CHECK;
	if (!restored)
		stage_set(u, DRILL_SQL_CHECK, DRILL_SKIPPED, NULL,
		    "the restore failed");
	else if (u->sp->nsql == 0)
		stage_set(u, DRILL_SQL_CHECK, DRILL_SKIPPED, NULL,
		    "no sql_checks");
	else {
		log_info(u->o->log, "drill %s: sql_check", u->sp->name);
		sql_checks(u);
	}

	/* check */
	u->sh->running = DRILL_CHECK;
	if (!restored)
		stage_set(u, DRILL_CHECK, DRILL_SKIPPED, NULL,
		    "the restore failed");
	else if (u->sp->checks == NULL)
		stage_set(u, DRILL_CHECK, DRILL_SKIPPED, NULL, "no checks");
	else if (interrupted(u)) {
		stage_set(u, DRILL_CHECK, DRILL_FAILED, NULL, "interrupted");
		if (res->class == ERR_NONE)
			res->class = ERR_INTERRUPTED;
	} else {
		log_info(u->o->log, "drill %s: check", u->sp->name);
		checks_command(u);
	}

	/* Validated when everything so far passed (or had nothing to do). */
	for (int s = DRILL_RESTORE; s <= DRILL_CHECK; s++)
		if (res->stages[s].status == DRILL_FAILED)
			validated = 0;
	u->sh->running = DRILL_RTO;
	if (validated) {
		res->rto = elapsed(&u->t0);
		res->rto_measured = 1;
	}
	u->sh->running = -1;
	u->sh->done = 1;
}

/* ------------------------------------------------------------- parent */

static int64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000);
}

/*
 * Wait for the worker, sending it SIGTERM at the deadline (or on an
 * interrupt) and killing all below us after the grace, as job_run does.
 */
static void
watch(pid_t pid, uint64_t timeout, volatile sig_atomic_t *intr, int *timed_out,
    int *wstatus)
{
	int64_t deadline = timeout ? now_ms() + (int64_t)timeout * 1000 : 0;
	int64_t kill_at = 0;
	int termed = 0;
	pid_t w;

	*timed_out = 0;
	*wstatus = 0;
	for (;;) {
		int64_t t = now_ms();

		w = waitpid(pid, wstatus, WNOHANG);
		if (w == pid || (w == -1 && errno != EINTR))
			break;
		if (!termed && deadline && t >= deadline)
			*timed_out = 1;
		if (!termed && (*timed_out || (intr != NULL && *intr))) {
			(void)kill(pid, SIGTERM);
			termed = 1;
			kill_at = t + DRILL_KILL_GRACE * 1000;
		}
		if (termed && t >= kill_at) {
			proc_kill_descendants(); /* reaps the worker too */
			*wstatus = SIGKILL;      /* as WIFSIGNALED sees it */
			break;
		}
		(void)usleep(50000);
	}
}

/* The stage a worker that did not finish was in, now failed. */
static void
unfinished(struct run *u, int timed_out, int wstatus)
{
	struct drill_result *res = u->res;
	int s = u->sh->running >= 0 && u->sh->running < DRILL_NSTAGES
	    ? u->sh->running
	    : DRILL_RESTORE;
	struct drill_stage_result *sr;

	/* Stopped by the SIGTERM, the worker ended the stage it was in. */
	if (u->sh->done) {
		s = -1;
		for (int i = 0; i < DRILL_NSTAGES && s < 0; i++)
			if (res->stages[i].status == DRILL_FAILED)
				s = i;
		if (s < 0)
			return; /* it made it just in time */
	}
	sr = &res->stages[s];

	sr->status = DRILL_FAILED;
	if (timed_out) {
		res->timeout = 1;
		res->class = ERR_INTERRUPTED;
		snprintf(sr->msg, sizeof(sr->msg),
		    "timeout: drill %s ran past its timeout of %llu s; %s was "
		    "stopped",
		    u->sp->name, (unsigned long long)u->sp->timeout,
		    stage_names[s]);
	} else if (u->o->interrupted != NULL && *u->o->interrupted) {
		res->class = ERR_INTERRUPTED;
		snprintf(sr->msg, sizeof(sr->msg), "interrupted during %s",
		    stage_names[s]);
	} else {
		res->class = ERR_INTERNAL;
		snprintf(sr->msg, sizeof(sr->msg),
		    "%s ended without a result (the process running it %s %d)",
		    stage_names[s],
		    WIFSIGNALED(wstatus) ? "was killed by signal"
		                         : "exited with status",
		    WIFSIGNALED(wstatus) ? WTERMSIG(wstatus)
		                         : WEXITSTATUS(wstatus));
	}
}

/* "1d2h3m4s", "0s". */
static void
dur_str(uint64_t v, char *buf, size_t size)
{
	static const struct {
		uint64_t secs;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	size_t n = 0;

	snprintf(buf, size, "0s");
	for (size_t i = 0; i < 4 && v > 0 && n < size; i++) {
		if (v / units[i].secs == 0)
			continue;
		n += (size_t)snprintf(buf + n, size - n, "%llu%c",
		    (unsigned long long)(v / units[i].secs), units[i].unit);
		v %= units[i].secs;
	}
}

/* The limits, once the rest is known. */
static void
limits(struct run *u)
{
	struct drill_result *res = u->res;
	char a[32], b[32];

	if (!res->rto_measured)
		stage_set(u, DRILL_RTO, DRILL_SKIPPED, NULL,
		    "not measured: the drill did not validate the restore");
	else if (res->max_rto > 0 && res->rto > (double)res->max_rto) {
		dur_str((uint64_t)res->rto, a, sizeof(a));
		dur_str(res->max_rto, b, sizeof(b));
		stage_set(u, DRILL_RTO, DRILL_FAILED, NULL,
		    "RTO %.1f s (%s) exceeds max_rto %s", res->rto, a, b);
		if (res->class == ERR_NONE)
			res->class = ERR_IO;
	} else
		stage_set(u, DRILL_RTO, DRILL_OK, NULL, "RTO %.1f s", res->rto);
	if (!res->rpo_measured)
		stage_set(u, DRILL_RPO, DRILL_SKIPPED, NULL,
		    "not measured: no snapshot was chosen");
	else if (res->max_rpo > 0 && res->rpo > (int64_t)res->max_rpo) {
		dur_str((uint64_t)res->rpo, a, sizeof(a));
		dur_str(res->max_rpo, b, sizeof(b));
		stage_set(u, DRILL_RPO, DRILL_FAILED, NULL,
		    "RPO %lld s (%s) exceeds max_rpo %s", (long long)res->rpo,
		    a, b);
		if (res->class == ERR_NONE)
			res->class = ERR_IO;
	} else
		stage_set(u, DRILL_RPO, DRILL_OK, NULL, "RPO %lld s",
		    (long long)res->rpo);
}

/* What the worker made, removed whatever became of it. */
static void
cleanup(struct run *u, int wrote_target, int target_existed)
{
	struct shared *sh = u->sh;
	struct err e;

	if (sh->cluster)
		scratch_stop(u);
	/* A postmaster pg_ctl detached, a check's stray child: gone. */
	proc_kill_descendants();
	if (sh->db_made && u->sp->kind == DRILL_T_PG) {
		char *id = rst_db_pg_ident(sh->dbname), out[64];
		char *sql = xasprintf("DROP DATABASE IF EXISTS %s", id);

		err_clear(&e);
		if (pg_query("psql", sh->maint, sql, out, sizeof(out), NULL,
		        &e) == -1)
			log_error(u->o->log,
			    "drill %s: could not drop database %s on the test "
			    "server: %s",
			    u->sp->name, sh->dbname, e.msg);
		free(sql);
		free(id);
	}
	if (wrote_target) {
		err_clear(&e);
		if (rm_tree(u->sp->arg, target_existed, &e) == -1)
			log_error(u->o->log,
			    "drill %s: could not remove what it restored: %s",
			    u->sp->name, e.msg);
	}
	if (u->work != NULL) {
		err_clear(&e);
		if (rm_tree(u->work, 0, &e) == -1)
			log_error(u->o->log,
			    "drill %s: could not remove its work directory: %s",
			    u->sp->name, e.msg);
	}
}

static void
run_hook(struct run *u)
{
	const struct drill_result *res = u->res;
	char vdrill[CONFIG_NAME_MAX + 32], vstep[32], verr[ERR_MSG_MAX + 16];
	const char *env[5];
	struct proc_opts po;
	struct err e;

	if (u->sp->on_failure == NULL || res->ok)
		return;
	snprintf(vdrill, sizeof(vdrill), "COFFER_DRILL=%s", u->sp->name);
	snprintf(vstep, sizeof(vstep), "COFFER_STEP=%s",
	    drill_stage_name((enum drill_stage)res->failed_stage));
	snprintf(verr, sizeof(verr), "COFFER_ERROR=%s", res->msg);
	one_line(verr);
	env[0] = vdrill;
	env[1] = "COFFER_STATUS=failed";
	env[2] = vstep;
	env[3] = verr;
	env[4] = NULL;
	memset(&po, 0, sizeof(po));
	po.shell = u->sp->on_failure;
	po.label = "on_failure hook";
	po.env = env;
	po.out = PROC_TAIL;
	po.timeout = (unsigned)u->sp->hook_timeout;
	err_clear(&e);
	if (proc_run(&po, &e) == -1)
		log_warn(u->o->log, "drill %s: %s", u->sp->name, e.msg);
}

/* Refused before anything is written: the restore stage, failed. */
static void refuse(struct run *u, enum err_class c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
refuse(struct run *u, enum err_class c, const char *fmt, ...)
{
	struct drill_stage_result *sr = &u->res->stages[DRILL_RESTORE];
	va_list ap;

	sr->status = DRILL_FAILED;
	va_start(ap, fmt);
	vsnprintf(sr->msg, sizeof(sr->msg), fmt, ap);
	va_end(ap);
	one_line(sr->msg);
	u->res->class = c;
}

/* Is the directory target absent (0), empty (1), or neither (-1, why)? */
static int
dir_state(const char *path, char *why, size_t whylen)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int n = 0;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return (0);
		snprintf(why, whylen, "%s", strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "not a directory");
		return (-1);
	}
	if ((d = opendir(path)) == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	if (n > 0) {
		snprintf(why, whylen, "it holds %d entr%s", n,
		    n == 1 ? "y" : "ies");
		return (-1);
	}
	return (1);
}

/* Set up the target before the worker: refuse what a drill must not touch. */
static int
prepare_target(struct run *u, const struct config *cfg, int *existed,
    struct err *e)
{
	const struct spec *sp = u->sp;
	struct drill_result *res = u->res;
	char why[ERR_MSG_MAX];
	int st;

	switch (sp->kind) {
	case DRILL_T_DIR:
		snprintf(res->target, sizeof(res->target), "%s", sp->arg);
		why[0] = '\0';
		if ((st = dir_state(sp->arg, why, sizeof(why))) == -1) {
			refuse(u, ERR_USAGE,
			    "refused: target %s is not an empty directory "
			    "(%s); "
			    "a drill restores only into an empty or absent "
			    "directory, and removes what it wrote",
			    sp->arg, why);
			return (1);
		}
		*existed = st == 1;
		return (0);
	case DRILL_T_SQLITE:
		return (0);
	case DRILL_T_PG_SCRATCH:
		if ((u->pgbin = pg_bindir(e)) == NULL ||
		    scratch_user(u, e) == -1) {
			refuse(u, e->class, "%s", e->msg);
			return (1);
		}
		snprintf(u->dbname, sizeof(u->dbname), "%s",
		    config_get_str(config_section_find(cfg, CONFIG_SOURCE,
		                       sp->source),
		        "database"));
		u->sock = xasprintf("%s/pg", u->work);
		u->data = xasprintf("%s/data", u->sock);
		{
			char *h = ci_quote(u->sock), *d = ci_quote(u->dbname);

			snprintf(res->target, sizeof(res->target),
			    "host=%s port=%s user=%s dbname=%s", h,
			    SCRATCH_PORT, SCRATCH_SUPERUSER, d);
			free(h);
			free(d);
		}
		return (0);
	case DRILL_T_PG: {
		struct conninfo *ci = NULL;
		const char *db;
		char *t, *mt;

		if (conninfo_parse(sp->arg, &ci, e) == -1) {
			refuse(u, ERR_CONFIG, "target: %s", e->msg);
			return (1);
		}
		db = conninfo_get(ci, "dbname");
		snprintf(u->dbname, sizeof(u->dbname), "%s",
		    db != NULL && *db != '\0'
		        ? db
		        : config_get_str(config_section_find(cfg, CONFIG_SOURCE,
		                             sp->source),
		              "database"));
		conninfo_free(ci);
		st = drill_production(cfg, sp->arg, u->dbname, why, sizeof(why),
		    e);
		if (st != 0) {
			if (st == 1)
				refuse(u, ERR_USAGE,
				    "refused: target postgres:%s looks like "
				    "production: %s; point the drill at a test "
				    "server",
				    sp->arg, why);
			else
				refuse(u, e->class, "%s", e->msg);
			return (1);
		}
		if ((t = ci_with_db(sp->arg, u->dbname, e)) == NULL ||
		    (mt = ci_with_db(sp->arg, "postgres", e)) == NULL) {
			free(t);
			refuse(u, e->class, "%s", e->msg);
			return (1);
		}
		snprintf(res->target, sizeof(res->target), "%s", t);
		snprintf(u->sh->maint, sizeof(u->sh->maint), "%s", mt);
		free(t);
		free(mt);
		return (0);
	}
	}
	return (0);
}

int
drill_run(const struct config *cfg, const char *name,
    const struct drill_opts *o, struct drill_result *res, struct err *e)
{
	struct shared *sh = MAP_FAILED;
	struct spec sp;
	struct run u;
	char *tmpl = NULL;
	const char *tmpdir;
	int rc = -1, existed = 0, went = 0, timed_out = 0, wstatus = 0;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	memset(&u, 0, sizeof(u));
	res->failed_stage = -1;
	if (resolve(cfg, name, &sp, e) == -1)
		goto out;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		err_sys(e, ERR_IO, "drill %s: mmap", name);
		goto out;
	}
	memset(sh, 0, sizeof(*sh));
	sh->running = -1;
	u.sp = &sp;
	u.o = o;
	u.sh = sh;
	u.res = &sh->res;
	clock_gettime(CLOCK_MONOTONIC, &u.t0);
	u.res->failed_stage = -1;
	u.res->started = (int64_t)time(NULL);
	u.res->target_kind = sp.kind;
	u.res->max_rto = sp.max_rto;
	u.res->max_rpo = sp.max_rpo;
	snprintf(u.res->name, sizeof(u.res->name), "%s", name);
	snprintf(u.res->source, sizeof(u.res->source), "%s",
	    sp.source != NULL ? sp.source : "");

	/* The private work directory: a drill's temp files, its cluster. */
	tmpdir = getenv("TMPDIR");
	tmpl = xasprintf("%s/coffer-drill.XXXXXX",
	    tmpdir != NULL && tmpdir[0] == '/' ? tmpdir : "/tmp");
	if (mkdtemp(tmpl) == NULL) {
		err_sys(e, ERR_IO, "drill %s: work directory %s", name, tmpl);
		goto out;
	}
	u.work = tmpl;
	tmpl = NULL;
	/* A scratch cluster's user must reach its directory in there. */
	if (sp.kind == DRILL_T_PG_SCRATCH && geteuid() == 0 &&
	    chmod(u.work, 0711) == -1) {
		err_sys(e, ERR_IO, "%s", u.work);
		goto out;
	}

	if (prepare_target(&u, cfg, &existed, e) != 0)
		goto finish;
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		err_sys(e, ERR_IO, "drill %s: fork", name);
		(void)prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
		goto out;
	}
	if (pid == 0) {
		work(&u);
		fflush(stdout);
		fflush(stderr);
		_exit(0);
	}
	went = 1;
	watch(pid, sp.timeout, o->interrupted, &timed_out, &wstatus);
	if (!sh->done || timed_out)
		unfinished(&u, timed_out, wstatus);
	log_info(o->log, "drill %s: cleaning up", name);
	cleanup(&u, sp.kind == DRILL_T_DIR, existed);
	(void)prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	limits(&u);
finish:
	if (!went && u.work != NULL) {
		struct err ce;

		err_clear(&ce);
		(void)rm_tree(u.work, 0, &ce);
	}
	for (int s = 0; s < DRILL_NSTAGES; s++)
		if (u.res->stages[s].status == DRILL_FAILED) {
			u.res->failed_stage = s;
			break;
		}
	u.res->ok = u.res->failed_stage < 0;
	if (!u.res->ok) {
		snprintf(u.res->msg, sizeof(u.res->msg), "%s",
		    u.res->stages[u.res->failed_stage].msg);
		if (u.res->class == ERR_NONE)
			u.res->class = ERR_IO;
	} else
		u.res->class = ERR_NONE;
	u.res->ended = (int64_t)time(NULL);
	run_hook(&u);
	*res = *u.res;
	rc = 0;
out:
	if (rc == -1 && u.work != NULL) {
		struct err ce;

		err_clear(&ce);
		(void)rm_tree(u.work, 0, &ce);
	}
	if (sh != MAP_FAILED)
		munmap(sh, sizeof(*sh));
	spec_free(&sp);
	free(tmpl);
	free(u.work);
	free(u.pgbin);
	free(u.data);
	free(u.sock);
	return (rc);
}
