/*
 * Database restores: the dump file of a source streamed from the
 * repository into pg_restore or the mariadb client, with the checks an
 * admin expects around it (create the database, refuse a non-empty one,
 * replay globals, drop what we made when it fails).
 */
#include "restore/db.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conninfo.h"
#include "crypto.h"
#include "proc.h"
#include "restore/restore.h"
#include "xmalloc.h"

#define CAPTURE_MAX (64 * 1024) /* stdout of a query we run */

/* ------------------------------------------------------------ quoting */

static char *
quote_with(const char *s, char q, int backslash)
{
	size_t n = 2;
	char *out, *p;

	for (const char *c = s; *c; c++)
		n += (*c == q || (backslash && *c == '\\')) ? 2 : 1;
	out = p = xmalloc(n + 1);
	*p++ = q;
	for (const char *c = s; *c; c++) {
		if (*c == q || (backslash && *c == '\\'))
			*p++ = *c;
		*p++ = *c;
	}
	*p++ = q;
	*p = '\0';
	return (out);
}

char *
rst_db_pg_ident(const char *s)
{
	return (quote_with(s, '"', 0));
}

char *
rst_db_pg_literal(const char *s)
{
	return (quote_with(s, '\'', 0));
}

char *
rst_db_my_ident(const char *s)
{
	return (quote_with(s, '`', 0));
}

char *
rst_db_my_literal(const char *s)
{
	return (quote_with(s, '\'', 1));
}

/* ------------------------------------------------------------ children */

/*
 * A database client: in coffer's process group (the terminal's ^C
 * reaches it, as it may prompt there), its last error line in messages.
 */
static void
client_opts(struct proc_opts *po, const char *const *argv,
    const char *const *env, volatile sig_atomic_t *interrupted)
{
	memset(po, 0, sizeof(*po));
	po->argv = argv;
	po->env = env;
	po->tail_errors = 1;
	po->foreground = 1;
	po->interrupted = interrupted;
}

/* Run a client to its end, stdout captured into *outp (may be NULL). */
static int
run_capture(const char *const *argv, const char *const *env, char **outp,
    volatile sig_atomic_t *interrupted, struct err *e)
{
	struct proc_opts po;
	struct proc *c = NULL;
	char *buf = NULL;
	size_t have = 0;
	int rc = -1;

	if (outp != NULL)
		*outp = NULL;
	client_opts(&po, argv, env, interrupted);
	po.out = outp != NULL ? PROC_PIPE : PROC_NULL;
	if (proc_start(&po, &c, e) == -1)
		return (-1);
	if (outp != NULL) {
		buf = xmalloc(CAPTURE_MAX + 1);
		/* More than we asked for is read and dropped by finish. */
		while (have < CAPTURE_MAX) {
			ssize_t k =
			    proc_read(c, buf + have, CAPTURE_MAX - have, e);

			if (k == -1)
				goto out;
			if (k == 0)
				break;
			have += (size_t)k;
		}
		buf[have] = '\0';
	}
	if (proc_finish(c, e) == -1)
		goto out;
	if (outp != NULL) {
		*outp = buf;
		buf = NULL;
	}
	rc = 0;
out:
	free(buf);
	proc_free(c);
	return (rc);
}

static struct rst_opts
stream_opts(const struct rst_db_opts *o)
{
	struct rst_opts ro;

	memset(&ro, 0, sizeof(ro));
	ro.interrupted = o->interrupted;
	ro.keepalive = o->keepalive;
	ro.keepalive_arg = o->keepalive_arg;
	return (ro);
}

static int
interrupted(const struct rst_db_opts *o)
{
	return (o->interrupted != NULL && *o->interrupted);
}

/*
 * After feeding a client: its verdict.  fed is the result of the feed
 * (0, or -1 with fe), c is waited for; the first failure wins, except
 * that a client that failed explains an EPIPE on our side.
 */
static int
finish_client(struct proc *c, int fed, struct err *fe,
    const struct rst_db_opts *o, struct err *e)
{
	if (fed == -1 &&
	    (fe->class == ERR_CORRUPT || interrupted(o) ||
	        fe->class == ERR_INTERRUPTED)) {
		/* Never let the client see the end of a cut stream. */
		proc_kill(c);
		*e = *fe;
		if (interrupted(o) && e->class != ERR_INTERRUPTED)
			err_set(e, ERR_INTERRUPTED, "interrupted");
		return (-1);
	}
	if (fed == -1 && !(fe->class == ERR_IO && fe->sys_errno == EPIPE)) {
		proc_kill(c);
		*e = *fe;
		return (-1);
	}
	if (proc_finish(c, e) == -1)
		return (-1);
	if (fed == -1)
		return (err_set(e, ERR_IO,
		    "the client stopped reading before the end of the dump"));
	return (0);
}

/* The dump named by src, checked against what the command expects. */
static int
check_source(const struct manifest_source *src, const char *type, struct err *e)
{
	if (strcmp(src->type, type) != 0)
		return (
		    err_set(e, ERR_USAGE, "source %s is a %s source, not %s",
		        src->name, src->type, type));
	if (strcmp(src->status, "ok") != 0 || src->dump == NULL)
		return (err_set(e, ERR_USAGE,
		    "source %s has no dump in this snapshot", src->name));
	return (0);
}

/* ------------------------------------------------------------ staging */

/*
 * What must sit in a file (the dump for pg_restore --jobs, which seeks;
 * globals.sql, read back line by line) goes to a file without a name: it
 * is made in a private directory TMPDIR/coffer-restore.PID.XXXXXX (0700)
 * and unlinked at once, so that its bytes go with the last descriptor,
 * even after a kill -9.  All a kill can leave is that directory, empty
 * (or, killed between the open and the unlink, holding the empty file):
 * the next database restore removes those whose process is gone.
 */
#define STAGE_PREFIX "coffer-restore."

struct stage {
	char *dir; /* the private directory, or NULL */
	int fd;    /* the unnamed file, read/write, or -1 */
};

static const char *
stage_root(void)
{
	const char *dir = getenv("TMPDIR");

	return (dir != NULL && dir[0] == '/' ? dir : "/tmp");
}

/* Remove directory name in dfd and the files in it (it has no more). */
static int
remove_flat(int dfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			(void)close(fd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    unlinkat(dirfd(d), de->d_name, 0) == -1)
			rc = -1;
	(void)closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) == -1)
		rc = -1;
	return (rc);
}

/*
 * Remove what restores killed before they cleaned up left in the temp
 * directory: coffer-restore.PID.* directories of ours whose process is
 * gone.  A live process's (or another user's) are left alone.
 */
static void
stage_sweep(struct log *log)
{
	const char *root = stage_root();
	size_t plen = strlen(STAGE_PREFIX);
	struct dirent *de;
	DIR *d;

	if ((d = opendir(root)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		const char *p = de->d_name + plen;
		struct stat sb;
		char *end;
		long pid;

		if (strncmp(de->d_name, STAGE_PREFIX, plen) != 0 ||
		    !isdigit((unsigned char)*p))
			continue;
		errno = 0;
		pid = strtol(p, &end, 10);
		if (errno != 0 || *end != '.' || pid <= 0 || pid > INT_MAX ||
		    pid == (long)getpid())
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
		        -1 ||
		    !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (remove_flat(dirfd(d), de->d_name) == 0)
			log_info(log,
			    "removed %s/%s, left by a restore (process %ld) "
			    "that did not finish",
			    root, de->d_name, pid);
		else
			log_warn(log, "cannot remove %s/%s: %s", root,
			    de->d_name, strerror(errno));
	}
	(void)closedir(d);
}

static void
stage_close(struct stage *sg)
{
	if (sg->fd != -1)
		(void)close(sg->fd);
	sg->fd = -1;
	if (sg->dir != NULL) {
		char *file = xasprintf("%s/dump", sg->dir);

		(void)unlink(file); /* only there if the first unlink failed */
		(void)rmdir(sg->dir);
		free(file);
		free(sg->dir);
		sg->dir = NULL;
	}
}

static int
stage_open(struct stage *sg, struct err *e)
{
	const char *root = stage_root();
	char *file = NULL;
	int rc = -1;

	sg->fd = -1;
	sg->dir =
	    xasprintf("%s/" STAGE_PREFIX "%ld.XXXXXX", root, (long)getpid());
	if (mkdtemp(sg->dir) == NULL) {
		err_sys(e, ERR_IO, "cannot make a private directory in %s",
		    root);
		free(sg->dir);
		sg->dir = NULL;
		return (-1);
	}
	file = xasprintf("%s/dump", sg->dir);
	if ((sg->fd = open(file,
	         O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) ==
	    -1) {
		err_sys(e, ERR_IO, "%s", file);
		goto out;
	}
	if (unlink(file) == -1) {
		err_sys(e, ERR_IO, "%s", file);
		goto out;
	}
	rc = 0;
out:
	free(file);
	if (rc == -1)
		stage_close(sg);
	return (rc);
}

/*
 * The file at path, authenticated as it goes, into a new stage (rewound
 * for reading).  Damage leaves nothing behind.
 */
static int
stage_file(struct repo *r, const uint8_t root[IDX_ID_LEN], const char *path,
    const struct rst_db_opts *o, struct stage *sg, uint64_t *bytes,
    struct err *e)
{
	struct rst_opts ro = stream_opts(o);
	struct rst_stats rs;

	if (stage_open(sg, e) == -1)
		return (-1);
	if (rst_file_stream(r, root, path, sg->fd, &ro, &rs, e) == -1)
		goto fail;
	if (lseek(sg->fd, 0, SEEK_SET) == -1) {
		err_sys(e, ERR_IO, "%s: rewinding the staged copy", path);
		goto fail;
	}
	if (bytes != NULL)
		*bytes = rs.bytes;
	return (0);
fail:
	stage_close(sg);
	return (-1);
}

/* ------------------------------------------------------------ postgres */

struct pg {
	struct conninfo *ci;
	char *dbname;
	char *target; /* conninfo of the target database */
	char *maint;  /* the same with dbname=postgres */
};

static void
pg_clear(struct pg *pg)
{
	conninfo_free(pg->ci);
	free(pg->dbname);
	free(pg->target);
	free(pg->maint);
}

static int
pg_setup(struct pg *pg, const char *conninfo, struct err *e)
{
	const char *db;

	memset(pg, 0, sizeof(*pg));
	/* A password is refused: on our argv, every user could read it. */
	if (conninfo_parse(conninfo, &pg->ci, e) == -1)
		return (err_wrap(e, "--to-postgres"));
	if ((db = conninfo_get(pg->ci, "dbname")) == NULL || *db == '\0')
		return (err_set(e, ERR_USAGE,
		    "--to-postgres needs the database to restore into: "
		    "its name, or 'dbname=NAME ...'"));
	pg->dbname = xstrdup(db);
	pg->target = conninfo_string(pg->ci, db);
	pg->maint = conninfo_string(pg->ci, "postgres");
	return (0);
}

/* psql -c sql on conninfo, its output in *outp (may be NULL). */
static int
pg_sql(const char *conninfo, const char *sql, char **outp,
    const struct rst_db_opts *o, struct err *e)
{
	const char *argv[] = { "psql", "-X", "-q", "-A", "-t", "-v",
		"ON_ERROR_STOP=1", "-d", conninfo, "-c", sql, NULL };

	return (run_capture(argv, NULL, outp, o->interrupted, e));
}

/*
 * CREATE DATABASE from template0, with the encoding and locale the dumped
 * database had when the snapshot recorded them (else the server's
 * defaults).
 */
static int
pg_create(struct pg *pg, const struct manifest_source *src,
    const struct rst_db_opts *o, struct err *e)
{
	char *id = rst_db_pg_ident(pg->dbname), *sql;
	const char *opt[3][2] = { { "ENCODING", src->encoding },
		{ "LC_COLLATE", src->lc_collate },
		{ "LC_CTYPE", src->lc_ctype } };
	int rc;

	sql = xasprintf("CREATE DATABASE %s TEMPLATE template0", id);
	for (size_t i = 0; i < 3; i++) {
		char *lit, *next;

		if (opt[i][1] == NULL)
			continue;
		lit = rst_db_pg_literal(opt[i][1]);
		next = xasprintf("%s %s %s", sql, opt[i][0], lit);
		free(lit);
		free(sql);
		sql = next;
	}
	rc = pg_sql(pg->maint, sql, NULL, o, e);

	if (rc == -1)
		err_wrap(e, "creating database %s", pg->dbname);
	free(sql);
	free(id);
	return (rc);
}

static void
pg_drop(struct pg *pg, const struct rst_db_opts *o)
{
	char *id = rst_db_pg_ident(pg->dbname);
	char *sql = xasprintf("DROP DATABASE %s", id);
	struct err e;

	err_clear(&e);
	if (pg_sql(pg->maint, sql, NULL, o, &e) == -1)
		log_warn(o->log, "could not drop database %s again: %s",
		    pg->dbname, e.msg);
	else
		log_info(o->log, "dropped database %s, made for this restore",
		    pg->dbname);
	free(sql);
	free(id);
}

/*
 * Does the server have a database named pg->dbname?  1 or 0, or -1 when it
 * cannot be asked (the maintenance database refuses us, say).
 */
static int
pg_exists(struct pg *pg, const struct rst_db_opts *o)
{
	char *lit = rst_db_pg_literal(pg->dbname), *sql, *out = NULL;
	struct err e;
	int rc = -1;

	sql = xasprintf("SELECT count(*) FROM pg_catalog.pg_database "
	                "WHERE datname = %s",
	    lit);
	err_clear(&e);
	if (pg_sql(pg->maint, sql, &out, o, &e) == 0) {
		char *end;
		long n = strtol(out, &end, 10);

		if (end != out && (*end == '\n' || *end == '\0') && n >= 0)
			rc = n > 0;
	}
	free(out);
	free(sql);
	free(lit);
	return (rc);
}

/* Relations outside the system schemas: an empty database has none. */
static int
pg_check_empty(struct pg *pg, const struct rst_db_opts *o, struct err *e)
{
	static const char sql[] =
	    "SELECT count(*) FROM pg_catalog.pg_class c "
	    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	    "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
	    "AND n.nspname NOT LIKE 'pg\\_toast%' "
	    "AND n.nspname NOT LIKE 'pg\\_temp%'";
	char *out = NULL;
	long count;

	if (pg_sql(pg->target, sql, &out, o, e) == -1) {
		/*
		 * Not there at all?  The server's catalog says, through the
		 * maintenance database; if that cannot be asked either, the
		 * first error stands.
		 */
		if (pg_exists(pg, o) == 0)
			err_set(e, ERR_USAGE,
			    "database %s does not exist; add --create to make "
			    "it",
			    pg->dbname);
		return (-1);
	}
	count = strtol(out, NULL, 10);
	free(out);
	if (count > 0)
		return (err_set(e, ERR_USAGE,
		    "database %s is not empty (%ld relations); restore into "
		    "a new one with --create, or add --clean to replace the "
		    "objects the dump holds",
		    pg->dbname, count));
	return (0);
}

/*
 * globals.sql through psql.  A dump is data, not a script to trust: psql
 * would run its meta-commands (\! runs a shell command as our user), so
 * it is fed behind a \restrict with a key of ours that the dump cannot
 * know, after which psql refuses every meta-command but \unrestrict KEY.
 * pg_dumpall's own \restrict and \unrestrict lines (15.14 and later) are
 * fed as empty lines, keeping line numbers; any other meta-command stops
 * the restore.  A psql that predates \restrict is not used at all.
 */
#define RESTRICT_KEY_BYTES 24

/* The first releases of each branch whose psql has \restrict; 18 on all. */
static const unsigned psql_restrict_since[][2] = { { 13, 22 }, { 14, 19 },
	{ 15, 14 }, { 16, 10 }, { 17, 6 } };

int
rst_db_psql_restricts(const char *version)
{
	unsigned major, minor;
	const char *p = version + strcspn(version, "0123456789");

	if (sscanf(p, "%u.%u", &major, &minor) != 2)
		/* "19devel", "18beta1": only a later major is sure. */
		return (sscanf(p, "%u", &major) == 1 && major >= 19);
	if (major >= 18)
		return (1);
	for (size_t i = 0;
	     i < sizeof(psql_restrict_since) / sizeof(psql_restrict_since[0]);
	     i++)
		if (psql_restrict_since[i][0] == major)
			return (minor >= psql_restrict_since[i][1]);
	return (0);
}

static int
psql_check(const struct rst_db_opts *o, struct err *e)
{
	const char *argv[] = { "psql", "--version", NULL };
	struct proc_opts po;
	char out[128];

	client_opts(&po, argv, NULL, o->interrupted);
	po.out = PROC_PIPE;
	if (proc_output(&po, out, sizeof(out), e) == -1)
		return (-1);
	if (!rst_db_psql_restricts(out))
		return (err_set(e, ERR_IO,
		    "%s cannot be told to refuse the meta-commands of a dump "
		    "(\\restrict came with 13.22, 14.19, 15.14, 16.10 and "
		    "17.6), and a \\! line in globals.sql would run as this "
		    "user: upgrade the PostgreSQL client, or leave out "
		    "--globals and replay the roles yourself",
		    out));
	return (0);
}

/* pg_dumpall's "\restrict KEY" or "\unrestrict KEY" (n bytes, with \n). */
static int
dump_restrict_line(const char *s, size_t n)
{
	size_t k;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (n > 10 && strncmp(s, "\\restrict ", 10) == 0)
		k = 10;
	else if (n > 12 && strncmp(s, "\\unrestrict ", 12) == 0)
		k = 12;
	else
		return (0);
	for (; k < n; k++)
		if (!isalnum((unsigned char)s[k]))
			return (0);
	return (1);
}

struct globals_acc {
	struct log *log;
	unsigned notes;
	char first_bad[400];
};

/*
 * Each line psql writes on stderr: "psql:<stdin>:N: ERROR:  ..." from
 * the server ("already exists" is a note, else fatal), "psql:<stdin>:N:
 * error: ..." from psql itself (a refused meta-command: fatal).
 */
static void
globals_line(void *arg, const char *line)
{
	struct globals_acc *g = arg;
	const char *what;
	unsigned no;

	if ((what = strstr(line, ": error: ")) != NULL) {
		if (g->first_bad[0] != '\0')
			return;
		/* Our \restrict line comes first: theirs are one less. */
		if (sscanf(line, "psql:<stdin>:%u:", &no) == 1 && no > 1)
			snprintf(g->first_bad, sizeof(g->first_bad),
			    "globals.sql line %u: psql refused it (%s); "
			    "coffer runs no psql meta-commands from a dump",
			    no - 1, what + 9);
		else
			snprintf(g->first_bad, sizeof(g->first_bad), "%s",
			    line);
		return;
	}
	if ((what = strstr(line, "ERROR:")) == NULL)
		return;
	if (strstr(line, "already exists") != NULL) {
		what += 6;
		while (*what == ' ')
			what++;
		g->notes++;
		log_info(g->log, "globals: %s (kept)", what);
		return;
	}
	if (g->first_bad[0] == '\0')
		snprintf(g->first_bad, sizeof(g->first_bad), "%s", line);
}

/* n bytes to the non-blocking fd, polling so that an interrupt is seen. */
static int
feed(int fd, const char *p, size_t n, const struct rst_db_opts *o,
    struct err *e)
{
	while (n > 0) {
		ssize_t w;

		if (interrupted(o))
			return (err_set(e, ERR_INTERRUPTED, "interrupted"));
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd pfd = { fd, POLLOUT, 0 };

				(void)poll(&pfd, 1, 100);
				continue;
			}
			if (errno == EINTR)
				continue;
			return (err_sys(e, ERR_IO, "writing to psql"));
		}
		p += w;
		n -= (size_t)w;
	}
	return (0);
}

/* Our \restrict line, then the staged globals.sql, to psql's stdin. */
static int
globals_feed(int in, int staged, const struct rst_db_opts *o, struct err *e)
{
	uint8_t key[RESTRICT_KEY_BYTES];
	char hex[2 * RESTRICT_KEY_BYTES + 1], first[sizeof(hex) + 16];
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = NULL;
	int fd, rc = -1;

	if (crypto_random(key, sizeof(key), e) == -1)
		goto out;
	crypto_hex_encode(key, sizeof(key), hex);
	snprintf(first, sizeof(first), "\\restrict %s\n", hex);
	if (feed(in, first, strlen(first), o, e) == -1)
		goto out;
	if ((fd = fcntl(staged, F_DUPFD_CLOEXEC, 0)) == -1 ||
	    (f = fdopen(fd, "r")) == NULL) {
		err_sys(e, ERR_IO, "reading the staged globals.sql");
		if (fd != -1)
			(void)close(fd);
		goto out;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		if (dump_restrict_line(line, (size_t)n)) {
			if (feed(in, "\n", 1, o, e) == -1)
				goto out;
		} else if (feed(in, line, (size_t)n, o, e) == -1)
			goto out;
	}
	if (ferror(f)) {
		err_sys(e, ERR_IO, "reading the staged globals.sql");
		goto out;
	}
	rc = 0;
out:
	if (f != NULL)
		(void)fclose(f);
	freezero(line, cap); /* password hashes */
	wipe(key, sizeof(key));
	wipe(hex, sizeof(hex));
	wipe(first, sizeof(first));
	return (rc);
}

static int
pg_globals(struct repo *r, const uint8_t root[IDX_ID_LEN],
    const struct manifest_source *src, struct pg *pg,
    const struct rst_db_opts *o, struct rst_db_stats *st, struct err *e)
{
	const char *argv[] = { "psql", "-X", "-q", "-v", "ON_ERROR_STOP=0",
		"-d", pg->maint, "-f", "-", NULL };
	struct globals_acc g = { o->log, 0, "" };
	struct stage sg = { NULL, -1 };
	struct proc_opts po;
	struct proc *c = NULL;
	struct fs_node n;
	struct err fe;
	char *path = xasprintf("%s/globals.sql", src->path);
	int fed, rc = -1;

	err_clear(&fe);
	if (rst_lookup(r, root, path, &n, e) == -1) {
		if (e->class == ERR_USAGE)
			err_set(e, ERR_USAGE,
			    "source %s was snapshotted without its globals "
			    "(no %s); leave out --globals",
			    src->name, path);
		goto out;
	}
	fs_node_clear(&n);
	/* Whole and authenticated before psql sees a byte of it. */
	if (psql_check(o, e) == -1 ||
	    stage_file(r, root, path, o, &sg, NULL, e) == -1)
		goto out;
	client_opts(&po, argv, NULL, o->interrupted);
	po.in = PROC_PIPE;
	po.line = globals_line;
	po.line_arg = &g;
	if (proc_start(&po, &c, e) == -1)
		goto out;
	fed = globals_feed(proc_in(c), sg.fd, o, &fe);
	if (finish_client(c, fed, &fe, o, e) == -1)
		goto out;
	if (g.first_bad[0] != '\0') {
		err_set(e, ERR_IO, "%s", g.first_bad);
		goto out;
	}
	st->notes = g.notes;
	rc = 0;
out:
	if (rc == -1)
		err_wrap(e, "restoring the globals of %s", src->name);
	proc_free(c);
	stage_close(&sg);
	free(path);
	return (rc);
}

int
rst_db_to_postgres(struct repo *r, const uint8_t root[IDX_ID_LEN],
    const struct manifest_source *src, const struct rst_db_opts *o,
    struct rst_db_stats *st, struct err *e)
{
	const char *argv[16];
	struct proc_opts po;
	struct rst_opts ro = stream_opts(o);
	struct proc *c = NULL;
	struct rst_stats rs;
	struct stage sg = { NULL, -1 };
	char jobs[16];
	struct err fe;
	struct pg pg;
	size_t k = 0;
	int fed, rc = -1;

	memset(st, 0, sizeof(*st));
	memset(&rs, 0, sizeof(rs));
	err_clear(&fe);
	stage_sweep(o->log);
	if (pg_setup(&pg, o->target, e) == -1 ||
	    check_source(src, "postgres", e) == -1)
		goto out;
	snprintf(st->database, sizeof(st->database), "%s", pg.dbname);
	if (o->globals && pg_globals(r, root, src, &pg, o, st, e) == -1)
		goto out;
	if (o->create) {
		if (pg_create(&pg, src, o, e) == -1)
			goto out;
		st->created = 1;
	} else if (!o->clean && pg_check_empty(&pg, o, e) == -1)
		goto out;

	argv[k++] = "pg_restore";
	argv[k++] = "--exit-on-error";
	if (o->jobs > 1) {
		/* -j needs a file it can seek, and rules out one
		 * transaction: damage is found while staging, before
		 * pg_restore starts. */
		snprintf(jobs, sizeof(jobs), "%u", o->jobs);
		argv[k++] = "--jobs";
		argv[k++] = jobs;
		log_info(o->log,
		    "staging the dump in a temp file for "
		    "pg_restore --jobs");
		if (stage_file(r, root, src->dump, o, &sg, &st->bytes, e) == -1)
			goto out;
	} else
		argv[k++] = "--single-transaction";
	if (o->no_owner)
		argv[k++] = "--no-owner";
	if (o->clean) {
		argv[k++] = "--clean";
		argv[k++] = "--if-exists";
	}
	argv[k++] = "-d";
	argv[k++] = pg.target;
	/*
	 * The staged file has no name: pg_restore gets it as its stdin and
	 * opens it by /dev/stdin, a name it can reopen (and its workers,
	 * which inherit the descriptor, too).
	 */
	if (sg.fd != -1)
		argv[k++] = "/dev/stdin";
	argv[k] = NULL;

	client_opts(&po, argv, NULL, o->interrupted);
	if (sg.fd != -1) {
		po.in = PROC_FD;
		po.in_fd = sg.fd;
	} else
		po.in = PROC_PIPE;
	if (proc_start(&po, &c, e) == -1)
		goto out;
	if (sg.fd != -1)
		fed = 0;
	else {
		fed = rst_file_stream(r, root, src->dump, proc_in(c), &ro, &rs,
		    &fe);
		st->bytes = rs.bytes;
	}
	if (finish_client(c, fed, &fe, o, e) == -1) {
		if (e->class == ERR_CORRUPT)
			err_wrap(e,
			    "stopped: pg_restore was killed before it "
			    "committed anything");
		goto out;
	}
	rc = 0;
out:
	proc_free(c);
	stage_close(&sg);
	if (rc == -1 && st->created) {
		pg_drop(&pg, o);
		st->created = 0;
	}
	pg_clear(&pg);
	return (rc);
}

/* ------------------------------------------------------------ mysql */

struct my {
	const char *prog;
	char *defaults; /* "--defaults-file=F" or NULL */
	const char *db;
};

/* prog [--defaults-file=F] --batch <more...> */
static size_t
my_argv(const struct my *my, const char **argv)
{
	size_t k = 0;

	argv[k++] = my->prog;
	if (my->defaults != NULL)
		argv[k++] = my->defaults; /* must come first */
	argv[k++] = "--batch";
	return (k);
}

static int
my_sql(const struct my *my, const char *sql, char **outp,
    const struct rst_db_opts *o, struct err *e)
{
	const char *argv[8];
	size_t k = my_argv(my, argv);

	argv[k++] = "--skip-column-names";
	argv[k++] = "-e";
	argv[k++] = sql;
	argv[k] = NULL;
	return (run_capture(argv, NULL, outp, o->interrupted, e));
}

static void
my_drop(const struct my *my, const struct rst_db_opts *o)
{
	char *id = rst_db_my_ident(my->db);
	char *sql = xasprintf("DROP DATABASE %s", id);
	struct err e;

	err_clear(&e);
	if (my_sql(my, sql, NULL, o, &e) == -1)
		log_warn(o->log, "could not drop database %s again: %s", my->db,
		    e.msg);
	else
		log_info(o->log, "dropped database %s, made for this restore",
		    my->db);
	free(sql);
	free(id);
}

int
rst_db_to_mysql(struct repo *r, const uint8_t root[IDX_ID_LEN],
    const struct manifest_source *src, const struct rst_db_opts *o,
    struct rst_db_stats *st, struct err *e)
{
	const char *argv[10];
	struct proc_opts po;
	struct rst_opts ro = stream_opts(o);
	struct proc *c = NULL;
	struct rst_stats rs;
	struct my my = { NULL, NULL, o->target };
	char *lit = NULL, *id = NULL, *sql = NULL, *out = NULL, *dbopt = NULL;
	long exists = 0, tables = 0;
	struct err fe;
	size_t k;
	int fed, rc = -1;

	memset(st, 0, sizeof(*st));
	err_clear(&fe);
	stage_sweep(o->log);
	if (check_source(src, "mysql", e) == -1)
		goto out;
	if (o->target == NULL || *o->target == '\0') {
		err_set(e, ERR_USAGE, "--to-mysql needs a database name");
		goto out;
	}
	snprintf(st->database, sizeof(st->database), "%s", o->target);
	my.prog = proc_have("mariadb") ? "mariadb" : "mysql";
	if (o->defaults_file != NULL)
		my.defaults = xasprintf("--defaults-file=%s", o->defaults_file);
	lit = rst_db_my_literal(o->target);
	id = rst_db_my_ident(o->target);
	sql = xasprintf("SELECT (SELECT COUNT(*) FROM information_schema."
	                "schemata WHERE schema_name = %s), (SELECT COUNT(*) "
	                "FROM information_schema.tables WHERE table_schema = "
	                "%s)",
	    lit, lit);
	if (my_sql(&my, sql, &out, o, e) == -1)
		goto out;
	if (sscanf(out, "%ld %ld", &exists, &tables) != 2) {
		err_set(e, ERR_IO, "%s: unexpected answer to a query: %.60s",
		    my.prog, out);
		goto out;
	}
	if (o->create) {
		if (exists > 0) {
			err_set(e, ERR_USAGE,
			    "database %s exists; leave out --create to restore "
			    "into it",
			    o->target);
			goto out;
		}
		free(sql);
		sql = xasprintf("CREATE DATABASE %s", id);
		if (my_sql(&my, sql, NULL, o, e) == -1) {
			err_wrap(e, "creating database %s", o->target);
			goto out;
		}
		st->created = 1;
	} else if (exists == 0) {
		err_set(e, ERR_USAGE,
		    "database %s does not exist; add --create to make it",
		    o->target);
		goto out;
	} else if (tables > 0 && !o->clean) {
		err_set(e, ERR_USAGE,
		    "database %s is not empty (%ld tables); restore into a new "
		    "one with --create, or add --clean to let the dump replace "
		    "the tables it holds",
		    o->target, tables);
		goto out;
	}

	k = my_argv(&my, argv);
	/* Dumps hold blobs as escaped bytes: no charset guessing on them. */
	argv[k++] = "--binary-mode";
	dbopt = xasprintf("--database=%s", o->target);
	argv[k++] = dbopt;
	argv[k] = NULL;
	client_opts(&po, argv, NULL, o->interrupted);
	po.in = PROC_PIPE;
	if (proc_start(&po, &c, e) == -1)
		goto out;
	/* Authenticated whole before the first byte is sent (read twice:
	 * nothing of it is staged on disk). */
	fed = rst_file_to_fd(r, root, src->dump, proc_in(c), &ro, &rs, &fe);
	st->bytes = rs.bytes;
	if (finish_client(c, fed, &fe, o, e) == -1) {
		if (e->class == ERR_CORRUPT && rs.bytes == 0)
			err_wrap(e, "stopped before anything was sent to %s",
			    my.prog);
		else if (e->class == ERR_CORRUPT)
			/* Authentic, but not what its id names. */
			err_wrap(e, "stopped after %llu bytes were sent to %s",
			    (unsigned long long)rs.bytes, my.prog);
		goto out;
	}
	rc = 0;
out:
	proc_free(c);
	if (rc == -1 && st->created) {
		my_drop(&my, o);
		st->created = 0;
	}
	free(my.defaults);
	free(lit);
	free(id);
	free(sql);
	free(out);
	free(dbopt);
	return (rc);
}
