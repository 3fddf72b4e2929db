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

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
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
#include "repo/snapsel.h"
#include "restore/db.h"
#include "restore/restore.h"
#include "scheduler/drill_impl.h"
#include "value.h"
#include "xmalloc.h"

static const char *const stage_names[DRILL_NSTAGES] = { "restore", "verify",
	"sql_check", "check", "rto", "rpo" };

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
	case DRILL_T_MY_SCRATCH:
		return ("mysql-scratch");
	case DRILL_T_MY:
		return ("mysql");
	case DRILL_T_SSH:
		return ("ssh");
	case DRILL_T_CHAIN:
		return ("steps");
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

/* ------------------------------------------------------------ resolving */

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
	sp->defaults_file = config_get_str(sec, "defaults_file");
	(void)config_get_duration(sec, "max_rto", &sp->max_rto);
	(void)config_get_duration(sec, "max_rpo", &sp->max_rpo);
	(void)config_get_duration(sec, "timeout", &sp->timeout);
	(void)config_get_duration(sec, "hook_timeout", &sp->hook_timeout);
	if (sp->target == NULL)
		return (config_err(e, sec, NULL,
		    "[drill %s] has no target; set target = a directory (an "
		    "absolute path), sqlite, postgres-scratch, "
		    "postgres:CONNINFO, mysql-scratch, mysql:DB or "
		    "ssh:USER@HOST[:PORT]:/PATH (or steps = other drills)",
		    name));
	k = config_drill_target(sp->target, &sp->arg);
	if (k == CONFIG_DRILL_BAD || k == CONFIG_DRILL_UNSUPPORTED)
		return (config_err(e, sec, "target",
		    "target: '%s' is not supported", sp->target));
	sp->kind = (enum drill_target)k;
	if (sp->kind == DRILL_T_SSH && drill_ssh_spec(sec, sp, e) == -1)
		return (-1);
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
	if ((sp->kind == DRILL_T_MY_SCRATCH || sp->kind == DRILL_T_MY) &&
	    (sp->src_type == NULL || strcmp(sp->src_type, "mysql") != 0))
		return (config_err(e, sec, sp->source ? "source" : "target",
		    "target = %s restores a [source] of type mysql; set "
		    "source = its NAME",
		    sp->kind == DRILL_T_MY ? "mysql:DB" : "mysql-scratch"));
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
	const struct config_section *sec =
	    cfg != NULL ? config_section_find(cfg, CONFIG_DRILL, name) : NULL;
	const char *const *steps;
	size_t n;
	struct spec sp;
	int rc;

	if (sec != NULL && (n = config_get_list(sec, "steps", &steps)) > 0) {
		for (size_t i = 0; i < n; i++)
			if (drill_check(cfg, steps[i], e) == -1)
				return (-1);
		return (0);
	}
	rc = resolve(cfg, name, &sp, e);

	spec_free(&sp);
	return (rc);
}

double
drill_elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((double)(t.tv_sec - t0->tv_sec) +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e9);
}

void
drill_one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

void
drill_stage_set(struct run *u, enum drill_stage s, enum drill_status st,
    const struct timespec *t, const char *fmt, ...)
{
	struct drill_stage_result *r = &u->res->stages[s];
	va_list ap;

	r->status = st;
	if (t != NULL)
		r->duration = drill_elapsed(t);
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	drill_one_line(r->msg);
}

/* A failed stage from e; its class kept for the exit status. */
void
drill_stage_fail(struct run *u, enum drill_stage s, const struct timespec *t,
    const struct err *e)
{
	drill_stage_set(u, s, DRILL_FAILED, t, "%s", e->msg);
	if (u->res->class == ERR_NONE)
		u->res->class = e->class != ERR_NONE ? e->class : ERR_INTERNAL;
}

void
drill_check_add(struct run *u, enum drill_stage s, int ok,
    const struct timespec *t, const char *what, const char *msg)
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
	c->duration = drill_elapsed(t);
	snprintf(c->what, sizeof(c->what), "%s", what);
	snprintf(c->msg, sizeof(c->msg), "%s", msg != NULL ? msg : "");
	drill_one_line(c->what);
	drill_one_line(c->msg);
}

int
drill_interrupted(const struct run *u)
{
	return (u->o->interrupted != NULL && *u->o->interrupted);
}

/*
 * Run a server program as the cluster's user: through setpriv when we are
 * root (no PAM, no shell, no supplementary groups), else directly.
 */
int
drill_as_user(const struct run *u, const char *const *args, const char *label,
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

int
drill_scratch_user(struct run *u, const char *deflt, const char *server,
    struct err *e)
{
	const char *name = u->sp->drill_user;
	struct passwd *pw;

	if (geteuid() != 0)
		return (0);
	if (name == NULL)
		name = getpwnam(deflt) != NULL ? deflt : "nobody";
	if ((pw = getpwnam(name)) == NULL)
		return (err_set(e, ERR_CONFIG, "drill_user: no user %s", name));
	if (pw->pw_uid == 0)
		return (err_set(e, ERR_CONFIG,
		    "drill_user: %s is root; %s does not run as root", name,
		    server));
	snprintf(u->user, sizeof(u->user), "%s", name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return (0);
}

/* ------------------------------------------------------------- worker */

int
drill_refresh_lock(void *arg, struct err *e)
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

static void
sql_checks(struct run *u)
{
	struct timespec t0, t;
	char first[ERR_MSG_MAX] = "";
	size_t failed = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < u->sp->nsql && !drill_interrupted(u); i++) {
		char why[ERR_MSG_MAX];
		int ok;

		clock_gettime(CLOCK_MONOTONIC, &t);
		why[0] = '\0';
		if (u->sp->kind == DRILL_T_SQLITE)
			ok = drill_sqlite_check(u->res->target, u->sp->sql[i],
			    why, sizeof(why));
		else if (u->sp->kind == DRILL_T_MY_SCRATCH ||
		    u->sp->kind == DRILL_T_MY)
			ok = drill_my_check(u, u->sp->sql[i], why, sizeof(why));
		else
			ok = drill_pg_check(u, u->sp->sql[i], why, sizeof(why));
		drill_check_add(u, DRILL_SQL_CHECK, ok, &t, u->sp->sql[i], why);
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
	if (drill_interrupted(u)) {
		drill_stage_set(u, DRILL_SQL_CHECK, DRILL_FAILED, &t0,
		    "interrupted");
		if (u->res->class == ERR_NONE)
			u->res->class = ERR_INTERRUPTED;
	} else if (failed > 0) {
		drill_stage_set(u, DRILL_SQL_CHECK, DRILL_FAILED, &t0,
		    "%zu of %zu SQL checks failed; the first: %s", failed,
		    u->sp->nsql, first);
		if (u->res->class == ERR_NONE)
			u->res->class = ERR_IO;
	} else
		drill_stage_set(u, DRILL_SQL_CHECK, DRILL_OK, &t0,
		    "%zu SQL checks passed", u->sp->nsql);
}

static void
checks_command(struct run *u)
{
	char vdrill[CONFIG_NAME_MAX + 32], vtarget[sizeof(u->res->target) + 32],
	    vsnap[96], *vcnf = NULL;
	const char *env[5];
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
	if (u->cnf != NULL) {
		/* mysql: how the client reaches the restored database. */
		vcnf = xasprintf("COFFER_DRILL_DEFAULTS_FILE=%s", u->cnf);
		env[3] = vcnf;
		env[4] = NULL;
	}
	memset(&po, 0, sizeof(po));
	po.shell = u->sp->checks;
	po.label = "checks command";
	po.env = env;
	po.out = PROC_TAIL;
	po.interrupted = u->o->interrupted;
	err_clear(&e);
	if (proc_run(&po, &e) == -1) {
		drill_check_add(u, DRILL_CHECK, 0, &t, u->sp->checks, e.msg);
		drill_stage_fail(u, DRILL_CHECK, &t, &e);
	} else {
		drill_check_add(u, DRILL_CHECK, 1, &t, u->sp->checks, NULL);
		drill_stage_set(u, DRILL_CHECK, DRILL_OK, &t,
		    "checks command passed");
	}
	free(vcnf);
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
	struct err e;
	size_t at;
	int restored = 0, validated = 1;

	manifest_init(&m);
	memset(&sel, 0, sizeof(sel));
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
		if (drill_restore_dir(u, r, &sel, &e) == -1)
			goto restore_failed;
		break;
	case DRILL_T_SQLITE:
		if (drill_restore_sqlite(u, r, &sel, &e) == -1)
			goto restore_failed;
		break;
	case DRILL_T_PG_SCRATCH:
		if (drill_pg_start(u, &e) == -1) {
			err_wrap(&e, "scratch cluster");
			goto restore_failed;
		}
		/* FALLTHROUGH */
	case DRILL_T_PG:
		if (drill_restore_pg(u, r, &m, &sel, &e) == -1)
			goto restore_failed;
		break;
	case DRILL_T_MY_SCRATCH:
		if (drill_my_start(u, &e) == -1) {
			err_wrap(&e, "scratch server");
			goto restore_failed;
		}
		/* FALLTHROUGH */
	case DRILL_T_MY:
		if (drill_restore_my(u, r, &m, &sel, &e) == -1)
			goto restore_failed;
		break;
	case DRILL_T_SSH:
		if (drill_restore_ssh(u, r, &sel, &e) == -1)
			goto restore_failed;
		break;
	case DRILL_T_CHAIN: /* drill_chain_run's, never here */
		break;
	}
	restored = 1;
	drill_stage_set(u, DRILL_RESTORE, DRILL_OK, &t,
	    "snapshot %.8s restored (%llu bytes)", m.id,
	    (unsigned long long)res->bytes);
	goto verify;
restore_failed:
	drill_stage_fail(u, DRILL_RESTORE, &t, &e);
	validated = 0;
verify:
	/* verify */
	u->sh->running = DRILL_VERIFY;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (!restored)
		drill_stage_set(u, DRILL_VERIFY, DRILL_SKIPPED, NULL,
		    "the restore failed");
	else if (u->sp->kind == DRILL_T_DIR) {
		log_info(u->o->log, "drill %s: verify", u->sp->name);
		drill_verify_dir(u, r, sel.root);
	} else if (u->sp->kind == DRILL_T_SSH) {
		log_info(u->o->log, "drill %s: verify", u->sp->name);
		drill_verify_ssh(u);
	} else if (u->sp->kind == DRILL_T_SQLITE)
		drill_verify_sqlite(u);
	else if (u->sp->kind == DRILL_T_MY_SCRATCH || u->sp->kind == DRILL_T_MY)
		drill_verify_my(u);
	else
		drill_verify_pg(u);
	/* The repository is done with: its lock goes. */
	rst_selection_clear(&sel);
	manifest_clear(&m);
	repo_close(r);
	r = NULL;

	/* sql_check */
	u->sh->running = DRILL_SQL_CHECK;
	if (!restored)
		drill_stage_set(u, DRILL_SQL_CHECK, DRILL_SKIPPED, NULL,
		    "the restore failed");
	else if (u->sp->nsql == 0)
		drill_stage_set(u, DRILL_SQL_CHECK, DRILL_SKIPPED, NULL,
		    "no sql_checks");
	else {
		log_info(u->o->log, "drill %s: sql_check", u->sp->name);
		sql_checks(u);
	}

	/* check */
	u->sh->running = DRILL_CHECK;
	if (!restored)
		drill_stage_set(u, DRILL_CHECK, DRILL_SKIPPED, NULL,
		    "the restore failed");
	else if (u->sp->checks == NULL)
		drill_stage_set(u, DRILL_CHECK, DRILL_SKIPPED, NULL,
		    "no checks");
	else if (drill_interrupted(u)) {
		drill_stage_set(u, DRILL_CHECK, DRILL_FAILED, NULL,
		    "interrupted");
		if (res->class == ERR_NONE)
			res->class = ERR_INTERRUPTED;
	} else {
		log_info(u->o->log, "drill %s: check", u->sp->name);
		if (u->sp->kind == DRILL_T_SSH)
			drill_check_ssh(u);
		else
			checks_command(u);
	}
	drill_ssh_close(u);

	/* Validated when everything so far passed (or had nothing to do). */
	for (int s = DRILL_RESTORE; s <= DRILL_CHECK; s++)
		if (res->stages[s].status == DRILL_FAILED)
			validated = 0;
	u->sh->running = DRILL_RTO;
	if (validated) {
		res->rto = drill_elapsed(&u->t0);
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

void
drill_limits(struct run *u)
{
	struct drill_result *res = u->res;
	char a[32], b[32];

	if (!res->rto_measured)
		drill_stage_set(u, DRILL_RTO, DRILL_SKIPPED, NULL,
		    "not measured: the drill did not validate the restore");
	else if (res->max_rto > 0 && res->rto > (double)res->max_rto) {
		dur_str((uint64_t)res->rto, a, sizeof(a));
		dur_str(res->max_rto, b, sizeof(b));
		drill_stage_set(u, DRILL_RTO, DRILL_FAILED, NULL,
		    "RTO %.1f s (%s) exceeds max_rto %s", res->rto, a, b);
		if (res->class == ERR_NONE)
			res->class = ERR_IO;
	} else
		drill_stage_set(u, DRILL_RTO, DRILL_OK, NULL, "RTO %.1f s",
		    res->rto);
	if (!res->rpo_measured)
		drill_stage_set(u, DRILL_RPO, DRILL_SKIPPED, NULL,
		    "not measured: no snapshot was chosen");
	else if (res->max_rpo > 0 && res->rpo > (int64_t)res->max_rpo) {
		dur_str((uint64_t)res->rpo, a, sizeof(a));
		dur_str(res->max_rpo, b, sizeof(b));
		drill_stage_set(u, DRILL_RPO, DRILL_FAILED, NULL,
		    "RPO %lld s (%s) exceeds max_rpo %s", (long long)res->rpo,
		    a, b);
		if (res->class == ERR_NONE)
			res->class = ERR_IO;
	} else
		drill_stage_set(u, DRILL_RPO, DRILL_OK, NULL, "RPO %lld s",
		    (long long)res->rpo);
}

/* What the worker made, removed whatever became of it. */
static void
cleanup(struct run *u, int wrote_target, int target_existed)
{
	struct shared *sh = u->sh;
	struct err e;

	if (sh->cluster && u->sp->kind == DRILL_T_MY_SCRATCH)
		drill_my_stop(u);
	else if (sh->cluster)
		drill_pg_stop(u);
	/* A postmaster pg_ctl detached, a check's stray child: gone. */
	proc_kill_descendants();
	drill_pg_drop(u);
	drill_my_drop(u);
	if (sh->remote) {
		log_info(u->o->log, "drill %s: removing %s on %s", u->sp->name,
		    u->sp->ssh.path, u->sp->ssh.host);
		err_clear(&e);
		if (drill_ssh_remove(u->sp, u->o->log, &e) == -1)
			log_error(u->o->log,
			    "drill %s: could not remove what it restored: %s",
			    u->sp->name, e.msg);
	}
	if (wrote_target) {
		err_clear(&e);
		if (drill_rm_tree(u->sp->arg, target_existed, &e) == -1)
			log_error(u->o->log,
			    "drill %s: could not remove what it restored: %s",
			    u->sp->name, e.msg);
	}
	if (u->work != NULL) {
		err_clear(&e);
		if (drill_rm_tree(u->work, 0, &e) == -1)
			log_error(u->o->log,
			    "drill %s: could not remove its work directory: %s",
			    u->sp->name, e.msg);
	}
}

void
drill_hook(const char *on_failure, uint64_t hook_timeout,
    const struct drill_result *res, struct log *log)
{
	char vdrill[CONFIG_NAME_MAX + 32], vstep[32], verr[ERR_MSG_MAX + 16];
	const char *env[5];
	struct proc_opts po;
	struct err e;

	if (on_failure == NULL || res->ok)
		return;
	snprintf(vdrill, sizeof(vdrill), "COFFER_DRILL=%s", res->name);
	snprintf(vstep, sizeof(vstep), "COFFER_STEP=%s",
	    drill_stage_name((enum drill_stage)res->failed_stage));
	snprintf(verr, sizeof(verr), "COFFER_ERROR=%s", res->msg);
	drill_one_line(verr);
	env[0] = vdrill;
	env[1] = "COFFER_STATUS=failed";
	env[2] = vstep;
	env[3] = verr;
	env[4] = NULL;
	memset(&po, 0, sizeof(po));
	po.shell = on_failure;
	po.label = "on_failure hook";
	po.env = env;
	po.out = PROC_TAIL;
	po.timeout = (unsigned)hook_timeout;
	err_clear(&e);
	if (proc_run(&po, &e) == -1)
		log_warn(log, "drill %s: %s", res->name, e.msg);
}

void
drill_refuse(struct run *u, enum err_class c, const char *fmt, ...)
{
	struct drill_stage_result *sr = &u->res->stages[DRILL_RESTORE];
	va_list ap;

	sr->status = DRILL_FAILED;
	va_start(ap, fmt);
	vsnprintf(sr->msg, sizeof(sr->msg), fmt, ap);
	va_end(ap);
	drill_one_line(sr->msg);
	u->res->class = c;
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
		if ((st = drill_dir_state(sp->arg, why, sizeof(why))) == -1) {
			drill_refuse(u, ERR_USAGE,
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
	case DRILL_T_PG:
		return (drill_pg_prepare(u, cfg, e));
	case DRILL_T_MY_SCRATCH:
	case DRILL_T_MY:
		return (drill_my_prepare(u, cfg, e));
	case DRILL_T_SSH:
		snprintf(res->target, sizeof(res->target), "%s", sp->target);
		return (0);
	case DRILL_T_CHAIN:
		break;
	}
	return (0);
}

int
drill_run(const struct config *cfg, const char *name,
    const struct drill_opts *o, struct drill_result *res, struct err *e)
{
	return (drill_run_at(cfg, name, o, NULL, res, e));
}

void
drill_note(const struct run *u)
{
	const char *path = u->leftovers;
	char *tmp;
	FILE *f;

	if (path == NULL)
		return;
	tmp = xasprintf("%s.new", path);
	if ((f = fopen(tmp, "we")) == NULL || fprintf(f, "%s\n", u->work) < 0 ||
	    (u->dir_noted &&
	        fprintf(f, "dir %d %s\n", u->existed, u->sp->arg) < 0) ||
	    (u->sh->remote && fprintf(f, "ssh %s\n", u->sp->target) < 0) ||
	    fclose(f) == EOF || rename(tmp, path) == -1) {
		if (f != NULL)
			(void)fclose(f);
		log_warn(u->o->log,
		    "drill: %s: %s (a kill would leave what the drill made "
		    "unnamed)",
		    path, strerror(errno));
		(void)unlink(tmp);
	}
	free(tmp);
}

int
drill_run_at(const struct config *cfg, const char *name,
    const struct drill_opts *o, const char *leftovers, struct drill_result *res,
    struct err *e)
{
	struct shared *sh = MAP_FAILED;
	struct spec sp;
	struct run u;
	char *tmpl = NULL;
	const char *tmpdir;
	int rc = -1, existed = 0, went = 0, timed_out = 0, wstatus = 0;
	pid_t pid, parent = getpid();

	const struct config_section *chain =
	    cfg != NULL ? config_section_find(cfg, CONFIG_DRILL, name) : NULL;
	const char *const *steps;

	if (chain != NULL && config_get_list(chain, "steps", &steps) > 0)
		return (drill_chain_run(cfg, chain, o, leftovers, res, e));
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
	tmpl = xasprintf("%s/" DRILL_WORK_PREFIX "%s.XXXXXX",
	    tmpdir != NULL && tmpdir[0] == '/' ? tmpdir : "/tmp", name);
	if (mkdtemp(tmpl) == NULL) {
		err_sys(e, ERR_IO, "drill %s: work directory %s", name, tmpl);
		goto out;
	}
	u.work = tmpl;
	tmpl = NULL;
	u.leftovers = leftovers;
	drill_note(&u);
	/* A scratch cluster's user must reach its directory in there. */
	if ((sp.kind == DRILL_T_PG_SCRATCH || sp.kind == DRILL_T_MY_SCRATCH) &&
	    geteuid() == 0 && chmod(u.work, 0711) == -1) {
		err_sys(e, ERR_IO, "%s", u.work);
		goto out;
	}

	if (prepare_target(&u, cfg, &existed, e) != 0)
		goto finish;
	if (sp.kind == DRILL_T_DIR) {
		u.dir_noted = 1;
		u.existed = existed;
		drill_note(&u);
	}
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		err_sys(e, ERR_IO, "drill %s: fork", name);
		(void)prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
		goto out;
	}
	if (pid == 0) {
		/* Should the parent die (kill -9), stop rather than go on
		 * with nobody to clean up: the next run removes what is
		 * left (drill_reap). */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
		if (getppid() != parent)
			_exit(1);
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
	drill_limits(&u);
finish:
	if (!went && u.work != NULL) {
		struct err ce;

		err_clear(&ce);
		(void)drill_rm_tree(u.work, 0, &ce);
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
	drill_hook(sp.on_failure, sp.hook_timeout, u.res, o->log);
	*res = *u.res;
	rc = 0;
out:
	if (rc == -1 && u.work != NULL) {
		struct err ce;

		err_clear(&ce);
		(void)drill_rm_tree(u.work, 0, &ce);
	}
	/* Cleaned up: nothing left for the next run to look for. */
	if (leftovers != NULL && u.work != NULL)
		(void)unlink(leftovers);
	if (sh != MAP_FAILED)
		munmap(sh, sizeof(*sh));
	spec_free(&sp);
	free(tmpl);
	free(u.work);
	free(u.pgbin);
	free(u.data);
	free(u.sock);
	free(u.cnf);
	free(u.mydir);
	free(u.mariadbd);
	return (rc);
}
