/*
 * Named sources into one snapshot.  Dumps stream from the dump program's
 * stdout through the chunker (no temp file); a source whose program fails
 * leaves no entry in the tree, only blobs nothing names, and a manifest
 * record saying why.  SQLite goes through the online backup API into a
 * private temp file first: the API needs a database to write to.
 */
#include "snapshot/sources.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conninfo.h"
#include "crypto.h"
#include "proc.h"
#include "snapshot/pgglobals.h"
#include "xmalloc.h"

/* A source's outcome: ok, failed (e says why), or the snapshot is lost. */
#define SRC_OK     0
#define SRC_FAILED (-1)
#define SRC_FATAL  (-2)

struct run {
	struct repo *r;
	struct snap *s;
	const struct snap_opts *o;
	struct manifest *m;
	const struct snap_source *src;
	struct timespec start;
	char version[256];
	char dbinfo[512]; /* postgres: "ENCODING|COLLATE|CTYPE", or "" */
	char *dump;       /* the dump file's path in the tree */
	uint64_t bytes;
};

/* Errors that are the repository's, not the source's: stop everything. */
static int
fatal_class(enum err_class c)
{
	return (c == ERR_INTERRUPTED || c == ERR_NOSPACE || c == ERR_CORRUPT ||
	    c == ERR_INTERNAL || c == ERR_LOCKED || c == ERR_NET ||
	    c == ERR_KEY);
}

int
snap_hook_run(const struct snap_hook *h, struct err *e)
{
	const char *env[6];
	char *vars[5] = { NULL };
	char *label = xasprintf("%s hook", h->which);
	struct proc_opts co;
	size_t n = 0;
	int rc;

	vars[n++] = xasprintf("COFFER_HOOK=%s", h->which);
	if (h->source != NULL)
		vars[n++] = xasprintf("COFFER_SOURCE=%s", h->source);
	if (h->job != NULL)
		vars[n++] = xasprintf("COFFER_JOB=%s", h->job);
	if (h->status != NULL)
		vars[n++] = xasprintf("COFFER_STATUS=%s", h->status);
	if (h->repository != NULL)
		vars[n++] = xasprintf("COFFER_REPOSITORY=%s", h->repository);
	for (size_t i = 0; i < n; i++)
		env[i] = vars[i];
	env[n] = NULL;
	memset(&co, 0, sizeof(co));
	co.shell = h->command;
	/* Names it in proc's messages: "before hook exited with ...". */
	co.label = label;
	co.env = env;
	co.out = PROC_TAIL;
	co.timeout = h->timeout;
	co.interrupted = h->interrupted;
	rc = proc_run(&co, e);
	for (size_t i = 0; i < n; i++)
		free(vars[i]);
	free(label);
	return (rc);
}

int
snap_source_check(const struct snap_source *src, struct err *e)
{
	if (strcmp(src->type, "postgres") == 0 && src->connection != NULL) {
		struct conninfo *ci = NULL;
		const char *db;
		int rc = 0;

		if (conninfo_parse(src->connection, &ci, e) == -1)
			return (err_wrap(e, "source %s", src->name));
		db = conninfo_get(ci, "dbname");
		if (db != NULL && *db != '\0' && src->database != NULL &&
		    strcmp(db, src->database) != 0)
			rc = err_set(e, ERR_USAGE,
			    "source %s: the connection names database %s "
			    "but database = %s; name it once",
			    src->name, db, src->database);
		conninfo_free(ci);
		if (rc == -1)
			return (-1);
	}
	if ((strcmp(src->type, "postgres") == 0 ||
	        strcmp(src->type, "mysql") == 0) &&
	    (src->database == NULL || src->database[0] == '\0' ||
	        src->database[0] == '-' || strchr(src->database, '/') != NULL))
		return (err_set(e, ERR_USAGE,
		    "source %s: give the database name (not starting with "
		    "'-', without '/')",
		    src->name));
	if (strcmp(src->type, "sqlite") == 0 && src->path == NULL)
		return (err_set(e, ERR_USAGE, "source %s: give the path",
		    src->name));
	if (strcmp(src->type, "command") == 0 &&
	    (src->command == NULL || src->file_name == NULL ||
	        !fs_name_valid(src->file_name, strlen(src->file_name))))
		return (err_set(e, ERR_USAGE,
		    "source %s: give the command and a file name for its "
		    "output (one path component)",
		    src->name));
	if (!fs_name_valid(src->name, strlen(src->name)))
		return (err_set(e, ERR_USAGE,
		    "source name %s is not a valid "
		    "file name",
		    src->name));
	return (0);
}

static ssize_t
proc_reader(void *arg, void *buf, size_t len, struct err *e)
{
	return (proc_read(arg, buf, len, e));
}

/*
 * A program's stdout as the file fname of *out.  The program must exit 0
 * after its output ends; else the entry is dropped (SRC_FAILED).
 */
/*
 * stream_program, the output going through pgglobals.h's filter with key
 * when key is not NULL.
 */
static int
stream_program_with(struct run *ru, const struct proc_opts *co,
    const char *fname, const char *key, struct fs_node *out, struct err *e)
{
	struct proc *c = NULL;
	struct pgglobals *pf = NULL;
	struct fs_node n;
	struct err fe;
	int rc;

	memset(&n, 0, sizeof(n));
	if (proc_start(co, &c, e) == -1)
		return (SRC_FAILED);
	if (key != NULL)
		pf = pgglobals_new(proc_reader, c, key);
	if (snap_add_stream(ru->s, pf != NULL ? pgglobals_read : proc_reader,
	        pf != NULL ? (void *)pf : (void *)c, fname, &ru->start, &n,
	        e) == -1) {
		/* Why: the program (finish says more), or the repository. */
		int fatal =
		    fatal_class(e->class) && e->class != ERR_INTERRUPTED;

		proc_kill(c);
		err_clear(&fe);
		if (proc_finish(c, &fe) == -1 && !fatal &&
		    e->class != ERR_INTERRUPTED)
			*e = fe;
		proc_free(c);
		pgglobals_free(pf);
		return (fatal || e->class == ERR_INTERRUPTED ? SRC_FATAL
		                                             : SRC_FAILED);
	}
	rc = proc_finish(c, e);
	proc_free(c);
	pgglobals_free(pf);
	if (rc == -1) {
		fs_node_clear(&n);
		return (e->class == ERR_INTERRUPTED ? SRC_FATAL : SRC_FAILED);
	}
	ru->bytes += n.size;
	fs_node_move(out, &n);
	return (SRC_OK);
}

static int
stream_program(struct run *ru, const struct proc_opts *co, const char *fname,
    struct fs_node *out, struct err *e)
{
	return (stream_program_with(ru, co, fname, NULL, out, e));
}

/* A small query's output (server version, how the database was made) into
 * buf, "" when unknown. */
static void
query_of(struct run *ru, const char *const *argv, const char *const *env,
    char *buf, size_t size)
{
	struct proc_opts co;
	struct err ve;

	memset(&co, 0, sizeof(co));
	co.argv = argv;
	co.env = env;
	co.interrupted = ru->o->interrupted;
	co.timeout = 60;
	err_clear(&ve);
	/* Unknown is fine: the dump that follows says what is wrong. */
	if (proc_output(&co, buf, size, &ve) == -1)
		buf[0] = '\0';
}

/* The \restrict key of a source's globals.sql: the same on every run. */
static void
globals_key(struct run *ru, char key[PGGLOBALS_KEY_LEN + 1])
{
	uint8_t d[CRYPTO_HASH_LEN];
	char *label = xasprintf("pg_dumpall restrict %s", ru->src->name);

	repo_keyed_digest(ru->r, label, d);
	crypto_hex_encode(d, sizeof(d), key);
	free(label);
}

static int
run_postgres(struct run *ru, struct fs_node **nodes, size_t *nn, struct err *e)
{
	const struct snap_source *src = ru->src;
	const char *env[2], *argv[10];
	char key[PGGLOBALS_KEY_LEN + 1];
	char *dbenv = xasprintf("PGDATABASE=%s", src->database);
	char *fname = xasprintf("%s.pgdump", src->database);
	char *conn = NULL;
	struct proc_opts co;
	size_t a;
	int rc;

	/*
	 * The clients get the settings in keyword='value' form, whatever the
	 * form given: pg_dumpall takes no bare database name.
	 */
	if (src->connection != NULL) {
		struct conninfo *ci = NULL;

		if (conninfo_parse(src->connection, &ci, e) == -1) {
			rc = SRC_FAILED;
			goto out;
		}
		conn = conninfo_string(ci, NULL);
		conninfo_free(ci);
	}
	env[0] = dbenv;
	env[1] = NULL;
	a = 0;
	argv[a++] = "psql";
	argv[a++] = "-XAtq";
	if (conn != NULL) {
		argv[a++] = "-d";
		argv[a++] = conn;
	}
	argv[a++] = "-c";
	argv[a++] = "SHOW server_version";
	argv[a] = NULL;
	query_of(ru, argv, env, ru->version, sizeof(ru->version));
	/* How the database was made, for restore --create. */
	argv[a - 1] = "SELECT pg_encoding_to_char(encoding), datcollate, "
	              "datctype FROM pg_database WHERE datname = "
	              "current_database()";
	query_of(ru, argv, env, ru->dbinfo, sizeof(ru->dbinfo));

	a = 0;
	argv[a++] = "pg_dump";
	argv[a++] = "-Fc";
	argv[a++] = "-Z0";
	if (conn != NULL) {
		argv[a++] = "-d";
		argv[a++] = conn;
	}
	argv[a] = NULL;
	memset(&co, 0, sizeof(co));
	co.argv = argv;
	co.env = env;
	co.out = PROC_PIPE;
	co.interrupted = ru->o->interrupted;
	*nodes = xcalloc(2, sizeof(**nodes));
	rc = stream_program(ru, &co, fname, &(*nodes)[0], e);
	if (rc != SRC_OK)
		goto out;
	*nn = 1;
	ru->dump = xasprintf("/%s/%s", src->name, fname);
	if (src->globals) {
		a = 0;
		argv[a++] = "pg_dumpall";
		argv[a++] = "--globals-only";
		argv[a++] = "-l";
		argv[a++] = src->database;
		if (conn != NULL) {
			argv[a++] = "-d";
			argv[a++] = conn;
		}
		argv[a] = NULL;
		globals_key(ru, key);
		rc = stream_program_with(ru, &co, "globals.sql", key,
		    &(*nodes)[1], e);
		if (rc != SRC_OK)
			goto out;
		*nn = 2;
	}
out:
	free(conn);
	free(dbenv);
	free(fname);
	return (rc);
}

static int
run_mysql(struct run *ru, struct fs_node **nodes, size_t *nn, struct err *e)
{
	const struct snap_source *src = ru->src;
	const char *argv[16];
	char *defs = NULL, *fname = xasprintf("%s.sql", src->database);
	struct proc_opts co;
	size_t a;
	int rc, maria = proc_have("mariadb-dump");

	if (src->defaults_file != NULL)
		defs = xasprintf("--defaults-file=%s", src->defaults_file);
	/* --defaults-file must come first: the clients insist. */
	a = 0;
	argv[a++] = maria ? "mariadb" : "mysql";
	if (defs != NULL)
		argv[a++] = defs;
	argv[a++] = "-NBe";
	argv[a++] = "SELECT VERSION()";
	argv[a] = NULL;
	query_of(ru, argv, NULL, ru->version, sizeof(ru->version));

	a = 0;
	argv[a++] = maria ? "mariadb-dump" : "mysqldump";
	if (defs != NULL)
		argv[a++] = defs;
	argv[a++] = "--single-transaction";
	argv[a++] = "--routines";
	argv[a++] = "--events";
	argv[a++] = "--triggers";
	argv[a++] = "--hex-blob";
	argv[a++] = "--skip-dump-date";
	/* Not --databases: restores load it into a database of any name. */
	argv[a++] = src->database;
	argv[a] = NULL;
	memset(&co, 0, sizeof(co));
	co.argv = argv;
	co.out = PROC_PIPE;
	co.interrupted = ru->o->interrupted;
	*nodes = xcalloc(1, sizeof(**nodes));
	rc = stream_program(ru, &co, fname, &(*nodes)[0], e);
	if (rc == SRC_OK) {
		*nn = 1;
		ru->dump = xasprintf("/%s/%s", src->name, fname);
	}
	free(defs);
	free(fname);
	return (rc);
}

static int
run_command(struct run *ru, struct fs_node **nodes, size_t *nn, struct err *e)
{
	const struct snap_source *src = ru->src;
	struct proc_opts co;
	char label[80];
	int rc;

	if (strlen(src->command) > 60)
		snprintf(label, sizeof(label), "'%.57s...'", src->command);
	else
		snprintf(label, sizeof(label), "'%s'", src->command);
	memset(&co, 0, sizeof(co));
	co.shell = src->command;
	co.label = label;
	co.out = PROC_PIPE;
	co.interrupted = ru->o->interrupted;
	*nodes = xcalloc(1, sizeof(**nodes));
	rc = stream_program(ru, &co, src->file_name, &(*nodes)[0], e);
	if (rc == SRC_OK) {
		*nn = 1;
		ru->dump = xasprintf("/%s/%s", src->name, src->file_name);
	}
	return (rc);
}

/*
 * The online backup API into dst.  All pages in one step: stepping
 * page by page restarts whenever another process writes, which under a
 * steady writer never ends.  One step is one read transaction: in WAL
 * mode writers go on meanwhile; with a rollback journal they wait (their
 * busy timeout) while it copies.  Busy or locked: wait and try again.
 */
static int
sqlite_copy(struct run *ru, const char *path, const char *dst, struct err *e)
{
	sqlite3 *from = NULL, *to = NULL;
	sqlite3_backup *b = NULL;
	int r, rc = -1;

	if (access(path, R_OK) == -1)
		return (err_sys(e, ERR_IO, "%s", path));
	if (sqlite3_open_v2(path, &from, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		err_set(e, ERR_IO, "sqlite: %s: %s", path,
		    from ? sqlite3_errmsg(from) : "out of memory");
		goto out;
	}
	if (sqlite3_open_v2(dst, &to, SQLITE_OPEN_READWRITE, NULL) !=
	        SQLITE_OK ||
	    sqlite3_exec(to, "PRAGMA journal_mode=OFF", NULL, NULL, NULL) !=
	        SQLITE_OK) {
		err_set(e, ERR_IO, "sqlite: %s: %s", dst,
		    to ? sqlite3_errmsg(to) : "out of memory");
		goto out;
	}
	if ((b = sqlite3_backup_init(to, "main", from, "main")) == NULL) {
		err_set(e, ERR_IO, "sqlite backup of %s: %s", path,
		    sqlite3_errmsg(to));
		goto out;
	}
	for (;;) {
		r = sqlite3_backup_step(b, -1);
		if (r == SQLITE_DONE)
			break;
		if (r != SQLITE_OK && r != SQLITE_BUSY && r != SQLITE_LOCKED) {
			err_set(e, ERR_IO, "sqlite backup of %s: %s", path,
			    sqlite3_errstr(r));
			goto out;
		}
		if (ru->o->interrupted != NULL && *ru->o->interrupted) {
			err_set(e, ERR_INTERRUPTED, "interrupted");
			goto out;
		}
		sqlite3_sleep(50);
	}
	r = sqlite3_backup_finish(b);
	b = NULL;
	if (r != SQLITE_OK) {
		err_set(e, ERR_IO, "sqlite backup of %s: %s", path,
		    sqlite3_errstr(r));
		goto out;
	}
	rc = 0;
out:
	if (b != NULL)
		sqlite3_backup_finish(b);
	if (to != NULL && sqlite3_close(to) != SQLITE_OK && rc == 0)
		rc = err_set(e, ERR_IO, "sqlite: closing %s", dst);
	sqlite3_close(from);
	return (rc);
}

struct fd_reader {
	int fd;
	volatile sig_atomic_t *interrupted;
};

static ssize_t
fd_read(void *arg, void *buf, size_t len, struct err *e)
{
	struct fd_reader *fr = arg;
	ssize_t n;

	for (;;) {
		if (fr->interrupted != NULL && *fr->interrupted)
			return (err_set(e, ERR_INTERRUPTED, "interrupted"));
		if ((n = read(fr->fd, buf, len)) >= 0)
			return (n);
		if (errno != EINTR)
			return (err_sys(e, ERR_IO, "reading the backup copy"));
	}
}

static int
run_sqlite(struct run *ru, struct fs_node **nodes, size_t *nn, struct err *e)
{
	const struct snap_source *src = ru->src;
	const char *dir = ru->o->tmp_dir, *base;
	struct fd_reader fr;
	char *tmp;
	int fd, rc = SRC_FAILED;

	if (dir == NULL && ((dir = getenv("TMPDIR")) == NULL || dir[0] != '/'))
		dir = "/tmp";
	snprintf(ru->version, sizeof(ru->version), "%s", sqlite3_libversion());
	base = strrchr(src->path, '/');
	base = base ? base + 1 : src->path;
	tmp = xasprintf("%s/coffer-sqlite-XXXXXX", dir);
	if ((fd = mkstemp(tmp)) == -1) {
		err_sys(e, ERR_IO, "temp file in %s", dir);
		free(tmp);
		return (SRC_FAILED);
	}
	(void)fchmod(fd, 0600);
	if (sqlite_copy(ru, src->path, tmp, e) == -1) {
		unlink(tmp);
		rc = e->class == ERR_INTERRUPTED ? SRC_FATAL : SRC_FAILED;
		goto out;
	}
	/* From here the copy is only reachable through fd. */
	unlink(tmp);
	if (lseek(fd, 0, SEEK_SET) == -1) {
		err_sys(e, ERR_IO, "backup copy");
		goto out;
	}
	fr.fd = fd;
	fr.interrupted = ru->o->interrupted;
	*nodes = xcalloc(1, sizeof(**nodes));
	if (snap_add_stream(ru->s, fd_read, &fr, base, &ru->start, &(*nodes)[0],
	        e) == -1) {
		rc = SRC_FATAL; /* the repository failed, or interrupted */
		goto out;
	}
	ru->bytes += (*nodes)[0].size;
	*nn = 1;
	ru->dump = xasprintf("/%s/%s", src->name, base);
	rc = SRC_OK;
out:
	close(fd);
	free(tmp);
	return (rc);
}

/* A files source: its paths' tree becomes the subtree NAME. */
static int
run_files(struct run *ru, struct fs_node *dir, struct err *e)
{
	const struct snap_source *src = ru->src;
	struct snap_paths p;
	uint8_t id[IDX_ID_LEN];
	uint64_t b0 = ru->m->bytes;

	memset(&p, 0, sizeof(p));
	p.paths = src->paths;
	p.npaths = src->npaths;
	p.exclude = src->exclude;
	p.nexclude = src->nexclude;
	p.one_file_system = src->one_file_system;
	if (snap_add_paths(ru->s, &p, id, e) == -1)
		return (fatal_class(e->class) ? SRC_FATAL : SRC_FAILED);
	ru->bytes = ru->m->bytes - b0;
	if (snap_add_dir(ru->s, src->name, NULL, 0, id, &ru->start, dir, e) ==
	    -1)
		return (SRC_FATAL);
	return (SRC_OK);
}

/* The zstd level for a source's data: its own, the command line's, or
 * the default for dumps. */
static int
source_level(const struct run *ru)
{
	const char *t = ru->src->type;

	if (ru->src->compression != 0)
		return (ru->src->compression);
	if (ru->o->compression != 0)
		return (ru->o->compression);
	if (strcmp(t, "postgres") == 0 || strcmp(t, "mysql") == 0 ||
	    strcmp(t, "sqlite") == 0)
		return (SNAP_DB_LEVEL);
	return (0);
}

/* Run one source between its hooks; *dir is its entry when ok. */
static int
run_source(struct run *ru, struct fs_node *dir, struct err *e)
{
	const struct snap_source *src = ru->src;
	struct manifest_source ms;
	struct fs_node *nodes = NULL;
	size_t nn = 0;
	uint64_t files = ru->m->files, dirs = ru->m->dirs,
	         others = ru->m->others, bytes = ru->m->bytes;
	struct snap_hook h;
	struct err he;
	int rc = SRC_OK;

	clock_gettime(CLOCK_REALTIME, &ru->start);
	memset(&h, 0, sizeof(h));
	h.source = src->name;
	h.repository = ru->o->repository;
	h.timeout = src->hook_timeout;
	if (src->before != NULL) {
		h.which = "before";
		h.command = src->before;
		h.interrupted = ru->o->interrupted;
		if (snap_hook_run(&h, e) == -1)
			rc = e->class == ERR_INTERRUPTED ? SRC_FATAL
			                                 : SRC_FAILED;
	}
	if (rc == SRC_OK &&
	    repo_set_compression(ru->r, source_level(ru), e) == -1)
		rc = SRC_FAILED;
	if (rc == SRC_OK) {
		if (strcmp(src->type, "files") == 0)
			rc = run_files(ru, dir, e);
		else {
			if (strcmp(src->type, "postgres") == 0)
				rc = run_postgres(ru, &nodes, &nn, e);
			else if (strcmp(src->type, "mysql") == 0)
				rc = run_mysql(ru, &nodes, &nn, e);
			else if (strcmp(src->type, "sqlite") == 0)
				rc = run_sqlite(ru, &nodes, &nn, e);
			else
				rc = run_command(ru, &nodes, &nn, e);
			if (rc == SRC_OK &&
			    snap_add_dir(ru->s, src->name, nodes, nn, NULL,
			        &ru->start, dir, e) == -1)
				rc = SRC_FATAL;
		}
	}
	fs_nodes_free(nodes, nn);
	(void)repo_set_compression(ru->r, ru->o->compression, &he);
	if (src->after != NULL) {
		/* Always, and not cut short by an interrupt. */
		h.which = "after";
		h.command = src->after;
		h.status = rc == SRC_OK ? "ok" : "failed";
		h.interrupted = NULL;
		err_clear(&he);
		if (snap_hook_run(&h, &he) == -1)
			log_warn(ru->o->log, "source %s: %s", src->name,
			    he.msg);
	}
	memset(&ms, 0, sizeof(ms));
	ms.name = (char *)src->name;
	ms.type = (char *)src->type;
	ms.status = rc == SRC_OK ? "ok" : "failed";
	ms.error = rc == SRC_OK ? NULL : e->msg;
	ms.start = ru->start;
	clock_gettime(CLOCK_REALTIME, &ms.end);
	ms.server_version = ru->version[0] ? ru->version : NULL;
	ms.database = (char *)src->database;
	if (ru->dbinfo[0] != '\0') {
		char *p = ru->dbinfo, *q, *r;

		if ((q = strchr(p, '|')) != NULL &&
		    (r = strchr(q + 1, '|')) != NULL &&
		    strchr(r + 1, '|') == NULL) {
			*q++ = '\0';
			*r++ = '\0';
			ms.encoding = p;
			ms.lc_collate = q;
			ms.lc_ctype = r;
		}
	}
	if (rc == SRC_OK) {
		ms.path = xasprintf("/%s", src->name);
		ms.dump = ru->dump;
		ms.bytes = ru->bytes;
		if (strcmp(src->type, "files") != 0) {
			ru->m->files += nn;
			ru->m->dirs++;
			ru->m->bytes += ru->bytes;
		}
		manifest_add_path(ru->m, ms.path);
	} else {
		/* Nothing of it is in the tree: count nothing of it. */
		ru->m->files = files;
		ru->m->dirs = dirs;
		ru->m->others = others;
		ru->m->bytes = bytes;
	}
	if (rc != SRC_FATAL)
		manifest_add_source(ru->m, &ms);
	free(ms.path);
	return (rc);
}

int
snap_sources(struct repo *r, const struct snap_opts *o,
    const struct snap_source *src, size_t n, struct manifest *m,
    size_t *nfailed, struct err *e)
{
	struct fs_node *dirs = xcalloc(n, sizeof(*dirs)), root;
	struct snap *s = NULL;
	size_t nd = 0;
	int rc = -1;

	*nfailed = 0;
	memset(&root, 0, sizeof(root));
	for (size_t i = 0; i < n; i++) {
		if (snap_source_check(&src[i], e) == -1)
			goto out;
		for (size_t k = 0; k < i; k++)
			if (strcmp(src[i].name, src[k].name) == 0) {
				err_set(e, ERR_USAGE,
				    "two sources are named %s: give each "
				    "its own name",
				    src[i].name);
				goto out;
			}
	}
	if (snap_begin(r, o, m, &s, e) == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct run ru;
		int sr;

		memset(&ru, 0, sizeof(ru));
		ru.r = r;
		ru.s = s;
		ru.o = o;
		ru.m = m;
		ru.src = &src[i];
		err_clear(e);
		sr = run_source(&ru, &dirs[nd], e);
		free(ru.dump);
		if (sr == SRC_FATAL) {
			err_wrap(e, "source %s", src[i].name);
			snap_keep(s);
			goto out;
		}
		if (sr == SRC_FAILED) {
			log_error(o->log, "source %s failed: %s", src[i].name,
			    e->msg);
			(*nfailed)++;
		} else
			nd++;
	}
	err_clear(e);
	if (nd == 0) {
		snap_keep(s);
		err_set(e, ERR_IO, "no snapshot saved: %s failed (see above)",
		    n == 1 ? "the source" : "every source");
		goto out;
	}
	if (snap_add_dir(s, "/", dirs, nd, NULL, &m->time, &root, e) == -1 ||
	    snap_commit(s, root.subtree, e) == -1)
		goto out;
	rc = 0;
out:
	fs_node_clear(&root);
	fs_nodes_free(dirs, nd);
	snap_end(s);
	return (rc);
}
