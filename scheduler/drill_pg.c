/*
 * The PostgreSQL targets of a drill (drill_impl.h): postgres-scratch, a
 * throwaway cluster made and removed by the drill, and postgres:CONNINFO,
 * a new database on a standing test server, refused when it looks like
 * production.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conninfo.h"
#include "log.h"
#include "proc.h"
#include "repo/repo.h"
#include "restore/db.h"
#include "restore/restore.h"
#include "scheduler/drill_impl.h"
#include "xmalloc.h"

/* The scratch cluster's superuser, and the port its socket is named by. */
#define SCRATCH_SUPERUSER "postgres"
#define SCRATCH_PORT      "5432"

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

int
drill_pg_start(struct run *u, struct err *e)
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

		if (drill_as_user(u, argv, "initdb", u->o->interrupted, 0, e) ==
		    -1)
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

		if (drill_as_user(u, argv, "pg_ctl start", u->o->interrupted, 0,
		        e) == -1)
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

/* The kill after (drill.c, cleanup) is the backstop. */
void
drill_pg_stop(struct run *u)
{
	char *pg_ctl = xasprintf("%s/pg_ctl", u->pgbin);
	char *pid = xasprintf("%s/postmaster.pid", u->data);
	const char *argv[] = { pg_ctl, "-D", u->data, "-m", "immediate", "-w",
		"-t", "30", "-s", "stop", NULL };
	struct err e;

	err_clear(&e);
	if (access(pid, F_OK) == 0 &&
	    drill_as_user(u, argv, "pg_ctl stop", NULL, 60, &e) == -1)
		log_warn(u->o->log, "drill %s: %s", u->sp->name, e.msg);
	free(pg_ctl);
	free(pid);
}

int
drill_restore_pg(struct run *u, struct repo *r, const struct manifest *m,
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
	dbo.keepalive = drill_refresh_lock;
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
void
drill_verify_pg(struct run *u)
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
		drill_stage_set(u, DRILL_VERIFY, DRILL_SKIPPED, &t,
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
	drill_check_add(u, DRILL_VERIFY, 1, &t, "amcheck bt_index_check", NULL);
	drill_stage_set(u, DRILL_VERIFY, DRILL_OK, &t,
	    "amcheck: %s btree indexes checked", out);
	return;
fail:
	err_wrap(&e, "amcheck");
	drill_check_add(u, DRILL_VERIFY, 0, &t, "amcheck bt_index_check",
	    e.msg);
	drill_stage_fail(u, DRILL_VERIFY, &t, &e);
}

void
drill_pg_drop(struct run *u)
{
	struct shared *sh = u->sh;
	char *id, *sql, out[64];
	struct err e;

	if (!sh->db_made || u->sp->kind != DRILL_T_PG)
		return;
	id = rst_db_pg_ident(sh->dbname);
	sql = xasprintf("DROP DATABASE IF EXISTS %s", id);
	err_clear(&e);
	if (pg_query("psql", sh->maint, sql, out, sizeof(out), NULL, &e) == -1)
		log_error(u->o->log,
		    "drill %s: could not drop database %s on the test server: "
		    "%s",
		    u->sp->name, sh->dbname, e.msg);
	free(sql);
	free(id);
}

/* One statement of sql_checks on the restored database. */
int
drill_pg_check(struct run *u, const char *sql, char *why, size_t whylen)
{
	char out[4096];
	struct err e;

	err_clear(&e);
	if (pg_query("psql", u->res->target, sql, out, sizeof(out),
	        u->o->interrupted, &e) == -1) {
		snprintf(why, whylen, "%s", e.msg);
		return (0);
	}
	return (drill_sql_output_ok(out, why, whylen));
}

int
drill_pg_prepare(struct run *u, const struct config *cfg, struct err *e)
{
	const struct spec *sp = u->sp;
	struct drill_result *res = u->res;
	char why[ERR_MSG_MAX];
	int st;

	switch (sp->kind) {
	case DRILL_T_PG_SCRATCH:
		if ((u->pgbin = pg_bindir(e)) == NULL ||
		    drill_scratch_user(u, "postgres", "PostgreSQL", e) == -1) {
			drill_refuse(u, e->class, "%s", e->msg);
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
			drill_refuse(u, ERR_CONFIG, "target: %s", e->msg);
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
				drill_refuse(u, ERR_USAGE,
				    "refused: target postgres:%s looks like "
				    "production: %s; point the drill at a test "
				    "server",
				    sp->arg, why);
			else
				drill_refuse(u, e->class, "%s", e->msg);
			return (1);
		}
		if ((t = ci_with_db(sp->arg, u->dbname, e)) == NULL ||
		    (mt = ci_with_db(sp->arg, "postgres", e)) == NULL) {
			free(t);
			drill_refuse(u, e->class, "%s", e->msg);
			return (1);
		}
		snprintf(res->target, sizeof(res->target), "%s", t);
		snprintf(u->sh->maint, sizeof(u->sh->maint), "%s", mt);
		free(t);
		free(mt);
		return (0);
	}
	default:
		break;
	}
	return (0);
}
