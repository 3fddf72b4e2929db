/*
 * coffer restore: a snapshot, or the parts of it asked for, into a
 * directory, as a tar stream, or one file's bytes to standard output.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conninfo.h"
#include "fmt.h"
#include "opt.h"
#include "repo/snapsel.h"
#include "repo_opts.h"
#include "restore/db.h"
#include "restore/restore.h"
#include "snapshot/sources.h"
#include "xmalloc.h"

/* --json lists at most this many entries that were not restored. */
#define JSON_FAILURES_MAX 100

struct reporter {
	struct cli_ctx *ctx;
	json_t *failures; /* --json only */
	size_t nfailures;
};

/* Paths are bytes; JSON wants UTF-8: what is not becomes '?'. */
static json_t *
json_bytes(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j != NULL)
		return (j);
	copy = xstrdup(s);
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return (j);
}

static const char *
event_word(enum rst_event ev)
{
	switch (ev) {
	case RST_DAMAGED:
		return ("damaged");
	case RST_FAILED:
		return ("failed");
	case RST_WARNING:
		return ("warning");
	case RST_SKIPPED:
		return ("skipped");
	case RST_INCONSISTENT:
		return ("inconsistent");
	}
	return ("?");
}

static void
on_event(void *arg, enum rst_event ev, const char *path, const struct err *e)
{
	struct reporter *rp = arg;
	struct log *log = rp->ctx->log;

	switch (ev) {
	case RST_DAMAGED:
		log_error(log, "%s: not restored, its data is damaged: %s",
		    path, e->msg);
		break;
	case RST_FAILED:
		log_error(log, "%s: not restored: %s", path, e->msg);
		break;
	case RST_WARNING:
		log_warn(log, "%s: restored without some metadata: %s", path,
		    e->msg);
		break;
	case RST_INCONSISTENT:
		log_warn(log, "%s: %s", path, e->msg);
		break;
	case RST_SKIPPED:
		/* Sockets are no news; what an option left out is. */
		if (e->class == ERR_NONE)
			log_debug(log, "%s: %s", path, e->msg);
		else
			log_warn(log, "%s: not restored: %s", path, e->msg);
		return;
	}
	if (rp->failures != NULL && ev != RST_INCONSISTENT) {
		if (rp->nfailures < JSON_FAILURES_MAX)
			json_array_append_new(rp->failures,
			    json_pack("{s:o, s:s, s:o}", "path",
			        json_bytes(path), "what", event_word(ev),
			        "error", json_bytes(e->msg)));
		rp->nfailures++;
	}
}

static int
refresh_lock(void *arg, struct err *e)
{
	return (repo_lock_refresh(arg, e));
}

static double
since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((double)(t.tv_sec - t0->tv_sec) +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e9);
}

/* The text summary: one line, or two when entries were not restored. */
static void
summary_text(FILE *f, const char *id, const char *where,
    const struct rst_stats *st, double secs, int stopped)
{
	char b[32];

	fmt_size(st->bytes, b, sizeof(b));
	fprintf(f,
	    "%s snapshot %.8s to %s: %llu files, %llu dirs, %llu others, %s "
	    "of data in %.1f s\n",
	    stopped ? "stopped restoring" : "restored", id, where,
	    (unsigned long long)st->files, (unsigned long long)st->dirs,
	    (unsigned long long)st->others, b, secs);
	if (st->errors > 0 || st->warnings > 0)
		fprintf(f,
		    "%llu entries not restored (%llu of them damaged), %llu "
		    "restored without some metadata: see the messages above\n",
		    (unsigned long long)st->errors,
		    (unsigned long long)st->damaged,
		    (unsigned long long)st->warnings);
}

/*
 * The target filled up: name it and say how much more the snapshot's files
 * need (its file data less what was restored; sparse files need less).
 */
static void
nospace_hint(struct err *e, const char *where, const struct manifest *m,
    const struct rst_stats *st, int part)
{
	char more[32], done[32], all[32];
	uint64_t left = m->bytes > st->bytes ? m->bytes - st->bytes : 0;

	fmt_size(left, more, sizeof(more));
	fmt_size(st->bytes, done, sizeof(done));
	fmt_size(m->bytes, all, sizeof(all));
	err_wrap(e,
	    "no space left on %s: restoring snapshot %.8s needs %s%s more "
	    "(%s of its %s of file data restored); free that much there or "
	    "restore elsewhere",
	    where, m->id, part ? "up to " : "about ", more, done, all);
}

static void
summary_json(FILE *f, const char *id, const char *mode, const char *where,
    const struct rst_stats *st, double secs, int status, struct reporter *rp,
    const struct err *stop)
{
	json_t *j = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, "
	                      "s:I, s:I, s:I, s:f, s:i}",
	    "snapshot", id, "mode", mode, "target", json_bytes(where), "files",
	    (json_int_t)st->files, "dirs", (json_int_t)st->dirs, "others",
	    (json_int_t)st->others, "bytes", (json_int_t)st->bytes, "errors",
	    (json_int_t)st->errors, "damaged", (json_int_t)st->damaged,
	    "warnings", (json_int_t)st->warnings, "skipped",
	    (json_int_t)st->skipped, "inconsistent",
	    (json_int_t)st->inconsistent, "duration", secs, "status", status);

	if (rp->failures != NULL) {
		json_object_set(j, "failures", rp->failures);
		json_object_set_new(j, "failures_truncated",
		    json_boolean(rp->nfailures > JSON_FAILURES_MAX));
	}
	if (stop != NULL)
		json_object_set_new(j, "error", json_bytes(stop->msg));
	json_dumpf(j, f, JSON_COMPACT);
	fputc('\n', f);
	json_decref(j);
}

/* --to-postgres / --to-mysql: the one line (or JSON) of the outcome. */
static int
restore_db(struct cli_ctx *ctx, struct repo *r, const struct manifest *m,
    const struct manifest_source *src, const struct rst_db_opts *o, int pg)
{
	struct rst_db_stats st;
	struct timespec t0;
	struct err e;
	char b[32];
	int ran, status;

	err_clear(&e);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ran = pg ? rst_db_to_postgres(r, m->tree, src, o, &st, &e)
	         : rst_db_to_mysql(r, m->tree, src, o, &st, &e);
	status = ran == -1 ? err_exit_status(e.class) : EXIT_OK;
	if (ran == -1)
		log_error(ctx->log, "%s", e.msg);
	fmt_size(st.bytes, b, sizeof(b));
	if (ctx->json) {
		json_t *j =
		    json_pack("{s:s, s:s, s:s, s:o, s:I, s:b, s:f, s:i}",
		        "snapshot", m->id, "mode", pg ? "postgres" : "mysql",
		        "source", src->name, "database",
		        json_bytes(st.database), "bytes", (json_int_t)st.bytes,
		        "created", st.created, "duration", since(&t0), "status",
		        status);

		if (ran == -1)
			json_object_set_new(j, "error", json_bytes(e.msg));
		json_dumpf(j, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(j);
	} else if (!ctx->quiet && ran == 0)
		printf("restored source %s of snapshot %.8s into %s database "
		       "%s: %s of dump in %.1f s%s\n",
		    src->name, m->id, pg ? "PostgreSQL" : "MySQL", st.database,
		    b, since(&t0), st.created ? " (created)" : "");
	return (status);
}

/* --tar FILE: a new file (or, with --overwrite, a replaced one), 0600. */
static int
open_tar_file(const char *path, int overwrite, struct err *e)
{
	int fd = open(path,
	    O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	        (overwrite ? O_TRUNC : O_EXCL),
	    0600);

	if (fd == -1 && errno == EEXIST)
		return (err_set(e, ERR_USAGE,
		    "%s exists; add --overwrite to replace it", path));
	if (fd == -1)
		return (err_sys(e, ERR_IO, "%s", path));
	return (fd);
}

struct restore_args {
	const char *repo, *target, *tar, *source, *to_pg, *to_my;
	const char *defaults_file;
	const char *one;  /* --stdout PATH */
	const char *cand; /* the word after a bare --stdout */
	struct opt_strv inc, exc;
	int overwrite, numeric, no_lock, create, clean, globals, no_owner;
	int no_devices, no_sync;
	int jobs;
	struct timespec before;
};

/*
 * "--stdout PATH" as well as "--stdout=PATH", and a bare --stdout with
 * --source: the word after it is the PATH only if it is not the snapshot
 * (cmd_restore decides, from the operands).
 */
static int
stdout_opt(void *opts, void *field, const char *arg, const char *next,
    struct err *e)
{
	struct restore_args *a = opts;

	(void)e;
	if (arg != NULL)
		*(const char **)field = arg;
	else if (next != NULL && next[0] != '-')
		a->cand = next;
	return (0);
}

/* snapshot's rules; a password is too late to hide, but refused before
 * anything runs. */
static int
conninfo_opt(void *opts, void *field, const char *arg, const char *next,
    struct err *e)
{
	struct conninfo *ci = NULL;

	(void)opts;
	(void)next;
	if (conninfo_parse(arg, &ci, e) == -1)
		return (-1);
	conninfo_free(ci);
	*(const char **)field = arg;
	return (0);
}

#define A(x) offsetof(struct restore_args, x)
static const struct opt restore_opts[] = {
	CLI_OPT_REPO(struct restore_args, repo),
	CLI_OPT_BEFORE_TIME(struct restore_args, before),
	{ "target", 't', OPT_STR, A(target), "DIR", 0, 0, OPT_NONEMPTY, NULL },
	{ "tar", 0, OPT_STR, A(tar), "FILE|-", 0, 0, 0, NULL },
	{ "stdout", 0, OPT_FUNC, A(one), "PATH", 0, 0, OPT_OPTIONAL,
	    stdout_opt },
	{ "include", 0, OPT_STRV, A(inc), "PATH", 0, 0, 0, NULL },
	{ "exclude", 0, OPT_STRV, A(exc), "PATTERN", 0, 0, OPT_NONEMPTY, NULL },
	{ "overwrite", 0, OPT_FLAG, A(overwrite), NULL, 0, 0, 0, NULL },
	{ "numeric-owner", 0, OPT_FLAG, A(numeric), NULL, 0, 0, 0, NULL },
	{ "no-devices", 0, OPT_FLAG, A(no_devices), NULL, 0, 0, 0, NULL },
	{ "no-sync", 0, OPT_FLAG, A(no_sync), NULL, 0, 0, 0, NULL },
	{ "no-lock", 0, OPT_FLAG, A(no_lock), NULL, 0, 0, 0, NULL },
	{ "source", 0, OPT_STR, A(source), "NAME", 0, 0, 0, NULL },
	{ "to-postgres", 0, OPT_FUNC, A(to_pg), "CONNINFO", 0, 0, 0,
	    conninfo_opt },
	{ "to-mysql", 0, OPT_STR, A(to_my), "DB", 0, 0, 0, NULL },
	{ "defaults-file", 0, OPT_STR, A(defaults_file), "FILE", 0, 0, 0,
	    NULL },
	{ "create", 0, OPT_FLAG, A(create), NULL, 0, 0, 0, NULL },
	{ "clean", 0, OPT_FLAG, A(clean), NULL, 0, 0, 0, NULL },
	{ "globals", 0, OPT_FLAG, A(globals), NULL, 0, 0, 0, NULL },
	{ "no-owner", 0, OPT_FLAG, A(no_owner), NULL, 0, 0, 0, NULL },
	{ "jobs", 0, OPT_INT, A(jobs), "N", 1, 64, 0, NULL },
	OPT_END,
};

static const struct opt_rel restore_rels[] = {
	{ OPT_ONE_OF, "target tar stdout to-postgres to-mysql", NULL, NULL },
	{ OPT_NEEDS, "to-postgres to-mysql", "source",
	    "it restores a database source" },
	{ OPT_NEEDS, "create clean", "to-postgres to-mysql", NULL },
	{ OPT_NEEDS, "globals no-owner jobs", "to-postgres", NULL },
	{ OPT_NEEDS, "defaults-file", "to-mysql", NULL },
	{ OPT_NEEDS, "include exclude overwrite numeric-owner no-devices",
	    "target tar", NULL },
	{ OPT_NEEDS, "no-sync", "target", NULL },
	OPT_REL_END,
};

static const struct opt_spec cmd_restore_opts = { restore_opts, restore_rels };

int
cmd_restore(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("restore");
	struct restore_args a;
	const char *target, *tar, *one, *source, *to_pg, *to_my;
	const char *snap, *mode, *where;
	struct rst_db_opts dbo;
	struct rst_selection sel;
	char *one_path = NULL, **incs = NULL;
	int want_stdout, rc = EXIT_USAGE;
	int ran = -1;
	int tar_fd = -1, tar_made = 0, status, epipe;
	struct reporter rp = { ctx, NULL, 0 };
	struct rst_stats st;
	struct rst_opts o;
	struct config *cfg = NULL;
	struct repo *r = NULL;
	struct manifest m;
	struct snapsel *snaps = NULL;
	struct timespec t0, *before;
	opt_given_t given;
	size_t at;
	struct err e;
	FILE *out;

	err_clear(&e);
	manifest_init(&m);
	memset(&sel, 0, sizeof(sel));
	memset(&st, 0, sizeof(st));
	memset(&a, 0, sizeof(a));
	if (opt_parse(ctx, cmd, &cmd_restore_opts, argc, argv, &a, &given) ==
	    -1)
		goto done;
	target = a.target;
	tar = a.tar;
	one = a.one;
	source = a.source;
	to_pg = a.to_pg;
	to_my = a.to_my;
	want_stdout = opt_is_given(&cmd_restore_opts, given, "stdout");
	before =
	    opt_is_given(&cmd_restore_opts, given, "before") ? &a.before : NULL;
	if (optind >= argc) {
		cli_usage_error(cmd, "give the snapshot: 'latest' or an id");
		goto done;
	}
	snap = argv[optind];
	if (argc - optind == 2 && a.cand != NULL && one == NULL) {
		/* SNAP and the PATH of a bare --stdout, in either order. */
		one = a.cand;
		snap = argv[optind] == a.cand ? argv[optind + 1] : argv[optind];
	} else if (argc - optind > 1) {
		cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind + 1]);
		goto done;
	}
	if (want_stdout && one == NULL && source == NULL) {
		cli_usage_error(cmd,
		    "--stdout takes a file's PATH, or with --source NAME "
		    "writes that source's dump");
		goto done;
	}
	if (want_stdout && one != NULL && source != NULL) {
		cli_usage_error(cmd,
		    "with --source, --stdout takes no PATH: it writes the "
		    "source's dump file");
		goto done;
	}
	if (tar != NULL && strcmp(tar, "-") == 0 && isatty(STDOUT_FILENO)) {
		cli_usage_error(cmd,
		    "refusing to write a tar stream to a "
		    "terminal; redirect standard output or "
		    "give --tar FILE");
		goto done;
	}
	/* Paths as in the snapshot, checked before anything is opened. */
	incs = xcalloc(a.inc.n + 1, sizeof(*incs));
	for (size_t i = 0; i < a.inc.n; i++)
		if (rst_path_normalize(a.inc.v[i], &incs[i], &e) == -1)
			goto usage;
	if (one != NULL &&
	    (rst_path_normalize(one, &one_path, &e) == -1 ||
	        strcmp(one_path, "/") == 0)) {
		if (e.class == ERR_NONE)
			err_set(&e, ERR_USAGE, "--stdout takes a file's path");
		goto usage;
	}

	rc = EXIT_ERROR;
	/* Shared: a prune (exclusive) must not remove packs under us. */
	ctx->lock = a.no_lock ? CLI_LOCK_NONE : CLI_LOCK_SHARED;
	if (cli_open_repo(ctx, a.repo, &cfg, &r, &e) == -1)
		goto out;
	if (cli_snapshot_pick(ctx, r, snap, before, &snaps, &at, &e) == -1)
		goto out;
	m = snaps->v[at].m;
	manifest_init(&snaps->v[at].m);
	snapsel_free(snaps);
	log_debug(ctx->log, "restoring snapshot %s", m.id);
	if (rst_select(r, &m, source, incs, a.inc.n, one_path,
	        want_stdout && source != NULL, &sel, &e) == -1)
		goto out;
	if (to_pg != NULL || to_my != NULL) {
		memset(&dbo, 0, sizeof(dbo));
		dbo.target = to_pg != NULL ? to_pg : to_my;
		dbo.defaults_file = a.defaults_file;
		dbo.create = a.create;
		dbo.clean = a.clean;
		dbo.globals = a.globals;
		dbo.no_owner = a.no_owner;
		dbo.jobs = (unsigned)a.jobs;
		dbo.log = ctx->log;
		dbo.interrupted = ctx->interrupted;
		dbo.keepalive = refresh_lock;
		dbo.keepalive_arg = r;
		rc = restore_db(ctx, r, &m, sel.src, &dbo, to_pg != NULL);
		goto done;
	}
	one = sel.file;

	memset(&o, 0, sizeof(o));
	o.includes = (const char *const *)incs;
	o.nincludes = a.inc.n;
	o.excludes = a.exc.v;
	o.nexcludes = a.exc.n;
	o.flags = (a.overwrite ? FS_EXTRACT_OVERWRITE : 0) |
	    (a.numeric ? FS_EXTRACT_NUMERIC_OWNER : 0) |
	    (a.no_sync ? FS_EXTRACT_NO_SYNC : 0) |
	    FS_EXTRACT_NO_OWNER_WHEN_NOT_ROOT;
	o.no_devices = a.no_devices;
	o.report = on_event;
	o.report_arg = &rp;
	o.interrupted = ctx->interrupted;
	o.keepalive = refresh_lock;
	o.keepalive_arg = r;
	if (ctx->json && one == NULL)
		rp.failures = json_array();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (target != NULL) {
		mode = "dir";
		where = target;
		ran = rst_to_dir(r, sel.root, target, &o, &st, &e);
	} else if (tar != NULL) {
		mode = "tar";
		where = strcmp(tar, "-") == 0 ? "standard output" : tar;
		if (strcmp(tar, "-") == 0)
			tar_fd = STDOUT_FILENO;
		else if ((tar_fd = open_tar_file(tar, a.overwrite, &e)) == -1)
			goto out;
		else
			tar_made = 1;
		ran = rst_to_tar(r, sel.root, tar_fd, &o, &st, &e);
		if (tar_made && close(tar_fd) == -1 && ran == 0)
			ran = err_sys(&e, ERR_IO, "%s", tar);
		tar_fd = -1;
		/* A stream that was cut is no archive to keep. */
		if (tar_made && ran == -1)
			(void)unlink(tar);
	} else {
		mode = "stdout";
		where = sel.file;
		ran = rst_file_to_fd(r, sel.root, sel.file, STDOUT_FILENO, &o,
		    &st, &e);
	}

	if (ran == -1 && e.class == ERR_NOSPACE && one == NULL &&
	    (target != NULL || strcmp(tar, "-") != 0))
		nospace_hint(&e, where, &m, &st, a.inc.n > 0);
	/* A reader that went away (| head) is not worth a message. */
	epipe = ran == -1 && e.class == ERR_IO && e.sys_errno == EPIPE;
	if (ran == -1)
		status = epipe ? EXIT_ERROR : err_exit_status(e.class);
	else
		status = rst_exit_status(&st);
	/* Where the data goes, the summary cannot. */
	out = (one != NULL || (tar != NULL && strcmp(tar, "-") == 0)) ? stderr
	                                                              : stdout;
	if (ran == -1 && !epipe)
		log_error(ctx->log, "%s", e.msg);
	else if (epipe)
		log_debug(ctx->log, "%s", e.msg);
	if (ctx->json)
		summary_json(out, m.id, mode, where, &st, since(&t0), status,
		    &rp, ran == -1 ? &e : NULL);
	else if (!ctx->quiet && one == NULL && !epipe &&
	    (ran == 0 || st.files + st.dirs + st.others + st.errors > 0))
		summary_text(out, m.id, where, &st, since(&t0), ran == -1);
	rc = status;
	goto done;
usage:
	rc = cli_usage_error(cmd, "%s", e.msg);
	goto done;
out:
	rc = cli_report(ctx, &e);
done:
	if (tar_fd != -1 && tar_fd != STDOUT_FILENO)
		close(tar_fd);
	rst_selection_clear(&sel);
	manifest_clear(&m);
	repo_close(r);
	config_free(cfg);
	if (incs != NULL)
		for (size_t i = 0; i < a.inc.n; i++)
			free(incs[i]);
	free(incs);
	free(one_path);
	opt_free(&cmd_restore_opts, &a);
	json_decref(rp.failures);
	return (rc);
}
