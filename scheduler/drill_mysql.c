/*
 * The MariaDB targets of a drill (drill_impl.h): mysql-scratch, a
 * throwaway mariadbd the drill makes in its work directory and removes,
 * and mysql:DB, a new database on a standing test server, refused when it
 * looks like production.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "restore/db.h"
#include "restore/restore.h"
#include "scheduler/drill_impl.h"
#include "xmalloc.h"

extern char **environ;

/* What the client uses when the option files do not say. */
#define MY_DEFAULT_SOCKET "/run/mysqld/mysqld.sock"
#define MY_DEFAULT_PORT   "3306"
#define MY_START_WAIT     10 /* s: mariadbd accepting connections */
#define MY_STOP_WAIT      30 /* s: after SIGTERM, before the kill */
#define MY_CHECK_MAX      (64 * 1024)

static const char *
my_client(void)
{
	return (proc_have("mariadb") ? "mariadb" : "mysql");
}

/*
 * The client with cnf (--defaults-file, which must come first) in batch
 * mode on database db (may be NULL): sql's rows into out, one a line,
 * columns separated by tabs.
 */
static int
my_query(const char *cnf, const char *db, const char *sql, char *out,
    size_t outlen, volatile sig_atomic_t *intr, struct err *e)
{
	const char *argv[10];
	char *defs = NULL, *dbopt = NULL;
	struct proc_opts po;
	size_t k = 0;
	int rc;

	argv[k++] = my_client();
	if (cnf != NULL)
		argv[k++] = defs = xasprintf("--defaults-file=%s", cnf);
	argv[k++] = "--batch";
	argv[k++] = "--skip-column-names";
	if (db != NULL)
		argv[k++] = dbopt = xasprintf("--database=%s", db);
	argv[k++] = "-e";
	argv[k++] = sql;
	argv[k] = NULL;
	memset(&po, 0, sizeof(po));
	po.argv = argv;
	po.label = argv[0];
	po.tail_errors = 1;
	po.out = PROC_PIPE;
	po.interrupted = intr;
	rc = proc_output(&po, out, outlen, e);
	free(defs);
	free(dbopt);
	return (rc);
}

/* ------------------------------------------------ looking like production */

/* Where the client connects: a socket, or a host and port over TCP. */
struct my_where {
	char host[256];
	char port[16];
	char socket[PATH_MAX];
	int tcp;   /* over TCP (else the socket) */
	int local; /* the socket, or a loopback address */
};

static int
loopback(const char *h)
{
	return (strcasecmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0 ||
	    strcmp(h, "::1") == 0);
}

/*
 * The settings the client would use with option file cnf (NULL: the
 * default files), read by MariaDB's own reader, my_print_defaults, for the
 * groups the client reads; then MYSQL_HOST, MYSQL_TCP_PORT and
 * MYSQL_UNIX_PORT, then the defaults.
 */
static int
my_where(const char *cnf, struct my_where *w, struct err *e)
{
	const char *argv[10], *h = NULL, *p = NULL, *s = NULL, *proto = NULL;
	char *defs = NULL, *out = xmalloc(16384), *line, *save = NULL;
	struct proc_opts po;
	size_t k = 0;
	int rc = -1;

	memset(w, 0, sizeof(*w));
	argv[k++] = "my_print_defaults";
	if (cnf != NULL)
		argv[k++] = defs = xasprintf("--defaults-file=%s", cnf);
	argv[k++] = "client";
	argv[k++] = "client-server";
	argv[k++] = "client-mariadb";
	argv[k++] = "mysql";
	argv[k++] = "mariadb-client";
	argv[k] = NULL;
	memset(&po, 0, sizeof(po));
	po.argv = argv;
	po.out = PROC_PIPE;
	if (proc_output(&po, out, 16384, e) == -1) {
		if (e->sys_errno == ENOENT)
			err_set(e, ERR_IO,
			    "my_print_defaults is not installed: it reads the "
			    "client option files a mysql target is checked "
			    "by (install mariadb-client)");
		goto out;
	}
	/* Later settings win, as in the client. */
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "--host=", 7) == 0)
			h = line + 7;
		else if (strncmp(line, "--port=", 7) == 0)
			p = line + 7;
		else if (strncmp(line, "--socket=", 9) == 0)
			s = line + 9;
		else if (strncmp(line, "--protocol=", 11) == 0)
			proto = line + 11;
	}
	if (h == NULL || *h == '\0')
		h = getenv("MYSQL_HOST");
	if (h == NULL || *h == '\0')
		h = "localhost";
	if (p == NULL || *p == '\0')
		p = getenv("MYSQL_TCP_PORT");
	if (p == NULL || *p == '\0')
		p = MY_DEFAULT_PORT;
	if (s == NULL || *s == '\0')
		s = getenv("MYSQL_UNIX_PORT");
	if (s == NULL || *s == '\0')
		s = MY_DEFAULT_SOCKET;
	snprintf(w->host, sizeof(w->host), "%s", h);
	snprintf(w->port, sizeof(w->port), "%s", p);
	if (realpath(s, w->socket) == NULL)
		snprintf(w->socket, sizeof(w->socket), "%s", s);
	w->tcp = (proto != NULL && strcasecmp(proto, "tcp") == 0) ||
	    strcasecmp(h, "localhost") != 0;
	w->local = !w->tcp || loopback(h);
	rc = 0;
out:
	free(defs);
	free(out);
	return (rc);
}

/*
 * Could a and b be the same server?  Two sockets: the same file; two TCP
 * endpoints: the same port on the same host (loopback addresses are one
 * host); a socket and a loopback address: the same port setting, since
 * which server answers on a socket cannot be told from the settings.
 */
static int
my_same(const struct my_where *a, const struct my_where *b)
{
	if (!a->tcp && !b->tcp)
		return (strcmp(a->socket, b->socket) == 0);
	if (strcmp(a->port, b->port) != 0)
		return (0);
	if (a->tcp && b->tcp)
		return (strcasecmp(a->host, b->host) == 0 ||
		    (a->local && b->local));
	return (a->local && b->local);
}

/*
 * Does the mysql:DB target (u->cnf, u->dbname) look like production: the
 * database of a [source] of type mysql on the same server, by the option
 * files, or by what the test server says its port and socket are?
 * 1 (why), 0, -1 (e) when a source's settings cannot be read.
 */
static int
my_production(const struct config *cfg, struct run *u, char *why, size_t whylen,
    struct err *e)
{
	const struct config_section *s = NULL;
	struct my_where t, p;
	char said[PATH_MAX + 64], *tab, sock[PATH_MAX];
	struct err qe;
	int asked = 0, hit = 0;

	if (my_where(u->cnf, &t, e) == -1)
		return (-1);
	/* The test server's own word, when it answers (it is read only). */
	err_clear(&qe);
	sock[0] = '\0';
	if (my_query(u->cnf, NULL, "SELECT @@port, @@socket", said,
	        sizeof(said), u->o->interrupted, &qe) == 0 &&
	    (tab = strchr(said, '\t')) != NULL) {
		*tab = '\0';
		if (realpath(tab + 1, sock) == NULL)
			snprintf(sock, sizeof(sock), "%s", tab + 1);
		asked = 1;
	}
	while (!hit && (s = config_next(cfg, s, CONFIG_SOURCE)) != NULL) {
		const char *type = config_get_str(s, "type");
		const char *db = config_get_str(s, "database");

		if (type == NULL || strcmp(type, "mysql") != 0 || db == NULL ||
		    strcmp(db, u->dbname) != 0)
			continue;
		if (my_where(config_get_str(s, "defaults_file"), &p, e) == -1)
			return (err_wrap(e,
			    "cannot tell whether target mysql:%s is [source "
			    "%s]'s database",
			    u->dbname, config_section_name(s)));
		hit = my_same(&t, &p) ||
		    (asked && t.local &&
		        (p.tcp ? p.local && strcmp(said, p.port) == 0
		               : strcmp(sock, p.socket) == 0));
		if (hit)
			snprintf(why, whylen,
			    "it is the database %.100s on %.200s, as [source "
			    "%s] is",
			    db, p.tcp ? p.host : p.socket,
			    config_section_name(s));
	}
	return (hit);
}

/* ------------------------------------------------------------ preparing */

/* The server programs: mariadbd and mariadb-install-db, or mysql's. */
static int
my_bins(struct run *u, struct err *e)
{
	static const char *const servers[] = { "/usr/sbin/mariadbd",
		"/usr/sbin/mysqld" };

	if (proc_have("mariadbd"))
		u->mariadbd = xstrdup("mariadbd");
	for (size_t i = 0; u->mariadbd == NULL && i < 2; i++)
		if (access(servers[i], X_OK) == 0)
			u->mariadbd = xstrdup(servers[i]);
	if (u->mariadbd == NULL ||
	    (!proc_have("mariadb-install-db") &&
	        !proc_have("mysql_install_db")))
		return (err_set(e, ERR_IO,
		    "target = mysql-scratch needs MariaDB's mariadbd and "
		    "mariadb-install-db: not found on PATH or in /usr/sbin "
		    "(install mariadb-server)"));
	return (0);
}

int
drill_my_prepare(struct run *u, const struct config *cfg, struct err *e)
{
	const struct spec *sp = u->sp;
	const char *db =
	    config_get_str(config_section_find(cfg, CONFIG_SOURCE, sp->source),
	        "database");
	char why[ERR_MSG_MAX];
	int st;

	if (sp->kind == DRILL_T_MY_SCRATCH) {
		if (my_bins(u, e) == -1 ||
		    drill_scratch_user(u, "mysql", "MariaDB", e) == -1) {
			drill_refuse(u, e->class, "%s", e->msg);
			return (1);
		}
		snprintf(u->dbname, sizeof(u->dbname), "%s", db);
		u->mydir = xasprintf("%s/my", u->work);
		u->sock = xasprintf("%s/sock", u->mydir);
		u->data = xasprintf("%s/data", u->mydir);
		u->cnf = xasprintf("%s/client.cnf", u->work);
		if (strlen(u->sock) > 107 ||
		    strpbrk(u->work, "\"\\\n") != NULL) {
			drill_refuse(u, ERR_IO,
			    "the scratch server's socket %s is too long for a "
			    "unix socket, or has characters an option file "
			    "cannot carry; set TMPDIR to a short plain "
			    "directory",
			    u->sock);
			return (1);
		}
	} else {
		snprintf(u->dbname, sizeof(u->dbname), "%s", sp->arg);
		if (sp->defaults_file != NULL)
			u->cnf = xstrdup(sp->defaults_file);
		why[0] = '\0';
		if ((st = my_production(cfg, u, why, sizeof(why), e)) != 0) {
			if (st == 1)
				drill_refuse(u, ERR_USAGE,
				    "refused: target mysql:%s looks like "
				    "production: %s; point the drill at a test "
				    "server",
				    sp->arg, why);
			else
				drill_refuse(u, e->class, "%s", e->msg);
			return (1);
		}
	}
	snprintf(u->res->target, sizeof(u->res->target), "%s", u->dbname);
	return (0);
}

/* ------------------------------------------------------ scratch server */

static int
mkdir_for(const struct run *u, const char *dir, struct err *e)
{
	if (mkdir(dir, 0700) == -1)
		return (err_sys(e, ERR_IO, "%s", dir));
	if (u->user[0] != '\0' && chown(dir, u->uid, u->gid) == -1)
		return (err_sys(e, ERR_IO, "chown %s to %s", dir, u->user));
	return (0);
}

/* The client's option file: root on the scratch server's socket. */
static int
write_cnf(const struct run *u, struct err *e)
{
	FILE *f;
	int fd;

	fd = open(u->cnf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		return (err_sys(e, ERR_IO, "%s", u->cnf));
	}
	fprintf(f,
	    "# coffer drill %s: the throwaway server's client settings\n"
	    "[client]\nuser = root\nhost = localhost\nprotocol = socket\n"
	    "socket = \"%s\"\n"
	    "default-character-set = utf8mb4\n",
	    u->sp->name, u->sock);
	if (fclose(f) == EOF)
		return (err_sys(e, ERR_IO, "%s", u->cnf));
	return (0);
}

/* The last line of the server's log, for a message. */
static void
log_tail(const char *path, char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen(path, "re");

	snprintf(buf, len, "no log");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (line[0] != '\n') {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%.300s", line);
		}
	fclose(f);
}

int
drill_my_start(struct run *u, struct err *e)
{
	char *tmp = xasprintf("%s/tmp", u->mydir);
	char *log = xasprintf("%s/server.log", u->mydir);
	char *pid = xasprintf("%s/mariadbd.pid", u->mydir);
	char *o_data = xasprintf("--datadir=%s", u->data);
	char *o_tmp = xasprintf("--tmpdir=%s", tmp);
	char *o_sock = xasprintf("--socket=%s", u->sock);
	char *o_pid = xasprintf("--pid-file=%s", pid);
	char *o_log = xasprintf("--log-error=%s", log);
	char ruid[32], rgid[32], out[64], tail[400];
	const char *argv[32];
	struct err qe;
	posix_spawn_file_actions_t fa;
	pid_t srv = -1;
	size_t k = 0;
	int rc = -1, fa_made = 0;

	if (mkdir_for(u, u->mydir, e) == -1 || mkdir_for(u, tmp, e) == -1 ||
	    write_cnf(u, e) == -1)
		goto out;
	{
		const char *inst[] = { proc_have("mariadb-install-db")
			    ? "mariadb-install-db"
			    : "mysql_install_db",
			"--no-defaults", o_data, o_tmp,
			"--auth-root-authentication-method=normal",
			"--skip-test-db", "--innodb-buffer-pool-size=32M",
			NULL };

		if (drill_as_user(u, inst, inst[0], u->o->interrupted, 0, e) ==
		    -1)
			goto out;
	}
	/*
	 * mariadbd stays in the foreground: started here, it outlives this
	 * call (the parent stops it, drill_my_stop).  Restored production
	 * data with a root without password: no TCP listener, a socket in
	 * a directory only its user and root can enter.
	 */
	if (u->user[0] != '\0') {
		snprintf(ruid, sizeof(ruid), "--reuid=%u", (unsigned)u->uid);
		snprintf(rgid, sizeof(rgid), "--regid=%u", (unsigned)u->gid);
		argv[k++] = "setpriv";
		argv[k++] = ruid;
		argv[k++] = rgid;
		argv[k++] = "--clear-groups";
		argv[k++] = "--";
	}
	argv[k++] = u->mariadbd;
	argv[k++] = "--no-defaults";
	argv[k++] = o_data;
	argv[k++] = o_tmp;
	argv[k++] = o_sock;
	argv[k++] = o_pid;
	argv[k++] = o_log;
	argv[k++] = "--skip-networking";
	argv[k++] = "--innodb-buffer-pool-size=32M";
	argv[k++] = "--character-set-server=utf8mb4";
	argv[k++] = "--collation-server=utf8mb4_general_ci";
	argv[k++] = "--innodb-buffer-pool-load-at-startup=0";
	argv[k++] = "--innodb-buffer-pool-dump-at-shutdown=0";
	argv[k] = NULL;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		err_sys(e, ERR_IO, "mariadbd");
		goto out;
	}
	fa_made = 1;
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	        0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
	        0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, 1, 2) != 0 ||
	    (errno = posix_spawnp(&srv, argv[0], &fa, NULL, (char *const *)argv,
	         environ)) != 0) {
		err_sys(e, ERR_IO, "cannot run %s", u->mariadbd);
		goto out;
	}
	u->sh->server = srv;
	u->sh->cluster = 1;
	err_clear(&qe);
	for (int i = 0; i < MY_START_WAIT * 10; i++) {
		struct stat st;
		int ws;

		if (drill_interrupted(u)) {
			err_set(e, ERR_INTERRUPTED, "interrupted");
			goto out;
		}
		if (waitpid(srv, &ws, WNOHANG) == srv) {
			u->sh->server = 0;
			log_tail(log, tail, sizeof(tail));
			err_set(e, ERR_IO, "mariadbd exited while starting: %s",
			    tail);
			goto out;
		}
		if (stat(u->sock, &st) == 0 &&
		    my_query(u->cnf, NULL, "SELECT 1", out, sizeof(out), NULL,
		        &qe) == 0) {
			rc = 0;
			goto out;
		}
		(void)usleep(100000);
	}
	log_tail(log, tail, sizeof(tail));
	err_set(e, ERR_IO,
	    "mariadbd did not accept connections within %d s: %.200s; its "
	    "log: %s",
	    MY_START_WAIT, qe.msg[0] != '\0' ? qe.msg : "no socket", tail);
out:
	if (fa_made)
		posix_spawn_file_actions_destroy(&fa);
	free(tmp);
	free(log);
	free(pid);
	free(o_data);
	free(o_tmp);
	free(o_sock);
	free(o_pid);
	free(o_log);
	return (rc);
}

void
drill_my_stop(struct run *u)
{
	pid_t pid = u->sh->server;
	int ws;

	if (pid <= 0 || kill(pid, SIGTERM) == -1)
		return;
	/* Ours to reap by now: the worker that started it is gone. */
	for (int i = 0; i < MY_STOP_WAIT * 10; i++) {
		pid_t w = waitpid(pid, &ws, WNOHANG);

		if (w == pid || (w == -1 && kill(pid, 0) == -1))
			return;
		(void)usleep(100000);
	}
	log_warn(u->o->log,
	    "drill %s: mariadbd did not stop within %d s: "
	    "killed",
	    u->sp->name, MY_STOP_WAIT);
}

/* ------------------------------------------------------------- stages */

int
drill_restore_my(struct run *u, struct repo *r, const struct manifest *m,
    const struct rst_selection *sel, struct err *e)
{
	struct rst_db_opts dbo;
	struct rst_db_stats dst;
	char *lit, *sql, out[64];

	if (u->sp->kind == DRILL_T_MY) {
		/* Never into a database that was there before. */
		lit = rst_db_my_literal(u->dbname);
		sql = xasprintf("SELECT COUNT(*) FROM information_schema."
		                "schemata WHERE schema_name = %s",
		    lit);
		free(lit);
		if (my_query(u->cnf, NULL, sql, out, sizeof(out),
		        u->o->interrupted, e) == -1) {
			free(sql);
			return (err_wrap(e, "asking the test server"));
		}
		free(sql);
		if (strcmp(out, "0") != 0)
			return (err_set(e, ERR_USAGE,
			    "database %s exists already on the test server; a "
			    "drill restores only into a database it makes: "
			    "drop it, or name another in target = mysql:DB",
			    u->dbname));
		snprintf(u->sh->dbname, sizeof(u->sh->dbname), "%s", u->dbname);
		u->sh->db_made = 1;
	}
	memset(&dbo, 0, sizeof(dbo));
	dbo.target = u->dbname;
	dbo.defaults_file = u->cnf;
	dbo.create = 1;
	dbo.log = u->o->log;
	dbo.interrupted = u->o->interrupted;
	dbo.keepalive = drill_refresh_lock;
	dbo.keepalive_arg = r;
	memset(&dst, 0, sizeof(dst));
	if (rst_db_to_mysql(r, m->tree, sel->src, &dbo, &dst, e) == -1) {
		u->res->bytes = dst.bytes;
		return (-1);
	}
	u->res->bytes = dst.bytes;
	return (0);
}

void
drill_verify_my(struct run *u)
{
	const char *argv[8];
	char *defs = NULL, *out = xmalloc(MY_CHECK_MAX), *line, *save = NULL;
	char first[ERR_MSG_MAX] = "", *last = NULL;
	struct proc_opts po;
	struct timespec t;
	unsigned long tables = 0, bad = 0;
	struct err e;
	size_t k = 0;

	clock_gettime(CLOCK_MONOTONIC, &t);
	argv[k++] = proc_have("mariadb-check") ? "mariadb-check" : "mysqlcheck";
	if (u->cnf != NULL)
		argv[k++] = defs = xasprintf("--defaults-file=%s", u->cnf);
	argv[k++] = u->dbname;
	argv[k] = NULL;
	memset(&po, 0, sizeof(po));
	po.argv = argv;
	po.label = argv[0];
	po.tail_errors = 1;
	po.out = PROC_PIPE;
	po.interrupted = u->o->interrupted;
	err_clear(&e);
	if (proc_output(&po, out, MY_CHECK_MAX, &e) == -1) {
		drill_check_add(u, DRILL_VERIFY, 0, &t, argv[0], e.msg);
		drill_stage_fail(u, DRILL_VERIFY, &t, &e);
		goto out;
	}
	/*
	 * "db.table   OK" per table; a table with a problem has lines of
	 * "error    : what" after its name.
	 */
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);

		if (strncasecmp(line, "error", 5) == 0) {
			if (bad++ == 0)
				snprintf(first, sizeof(first), "%.200s: %.200s",
				    last != NULL ? last : "?", line);
		} else if (line[0] != ' ' &&
		    strncasecmp(line, "note", 4) != 0 &&
		    strncasecmp(line, "warning", 7) != 0 &&
		    strncasecmp(line, "status", 6) != 0) {
			last = line;
			if (n >= 2 && strcmp(line + n - 2, "OK") == 0)
				tables++;
		}
	}
	if (bad > 0) {
		err_set(&e, ERR_CORRUPT, "%s: %lu errors; the first: %s",
		    argv[0], bad, first);
		drill_check_add(u, DRILL_VERIFY, 0, &t, argv[0], e.msg);
		drill_stage_fail(u, DRILL_VERIFY, &t, &e);
		goto out;
	}
	drill_check_add(u, DRILL_VERIFY, 1, &t, argv[0], NULL);
	drill_stage_set(u, DRILL_VERIFY, DRILL_OK, &t, "%s: %lu tables OK",
	    argv[0], tables);
out:
	free(defs);
	free(out);
}

int
drill_my_check(struct run *u, const char *sql, char *why, size_t whylen)
{
	char out[4096];
	struct err e;

	err_clear(&e);
	if (my_query(u->cnf, u->dbname, sql, out, sizeof(out),
	        u->o->interrupted, &e) == -1) {
		snprintf(why, whylen, "%s", e.msg);
		return (0);
	}
	/* Batch mode writes a tab inside a value as "\t": tabs part columns. */
	for (char *p = out; *p != '\0'; p++)
		if (*p == '\t')
			*p = DRILL_SQL_SEP[0];
	return (drill_sql_output_ok(out, why, whylen));
}

void
drill_my_drop(struct run *u)
{
	struct shared *sh = u->sh;
	char *id, *sql, out[64];
	struct err e;

	if (!sh->db_made || u->sp->kind != DRILL_T_MY)
		return;
	id = rst_db_my_ident(sh->dbname);
	sql = xasprintf("DROP DATABASE IF EXISTS %s", id);
	err_clear(&e);
	if (my_query(u->cnf, NULL, sql, out, sizeof(out), NULL, &e) == -1)
		log_error(u->o->log,
		    "drill %s: could not drop database %s on the test server: "
		    "%s",
		    u->sp->name, sh->dbname, e.msg);
	free(sql);
	free(id);
}
