/*
 * Repository resolution, passphrases and opening, shared by commands.
 */
#include "repo_opts.h"

#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "repo/lock.h"
#include "repo/manifest.h"
#include "repo/snapsel.h"
#include "scheduler/drill.h"
#include "scheduler/job.h"
#include "store/store.h"
#include "value.h"
#include "xmalloc.h"

int
cli_load_config(struct cli_ctx *ctx, struct config **out, struct err *e)
{
	const char *path =
	    ctx->config_path ? ctx->config_path : CLI_DEFAULT_CONFIG;
	struct stat st;

	*out = NULL;
	if (!ctx->config_explicit && stat(path, &st) == -1 && errno == ENOENT)
		return (0);
	return (config_load(path, out, e));
}

int
cli_resolve_repo(const char *arg, const struct config *cfg,
    const char **location, const struct config_section **sec, struct err *e)
{
	const struct config_section *s;
	const char *loc;

	*sec = NULL;
	*location = NULL;
	if (arg == NULL && (arg = getenv("COFFER_REPOSITORY")) == NULL)
		return (err_set(e, ERR_USAGE,
		    "no repository: give -r PATH, -r sftp://..., or -r NAME of "
		    "a [repository NAME] section"));
	if (arg[0] == '\0')
		return (err_set(e, ERR_USAGE, "empty repository name"));
	/* Without a config a bare word can only be a directory here. */
	if (strchr(arg, '/') != NULL || strcmp(arg, ".") == 0 || cfg == NULL) {
		*location = arg;
		return (0);
	}
	if ((s = config_section_find(cfg, CONFIG_REPOSITORY, arg)) == NULL)
		return (err_set(e, ERR_USAGE,
		    "%s has no [repository %s] (use ./%s for a directory "
		    "here)",
		    config_file(cfg), arg, arg));
	if ((loc = config_get_str(s, "path")) == NULL)
		loc = config_get_str(s, "url");
	*location = loc;
	*sec = s;
	return (0);
}

int
cli_passphrase(struct cli_ctx *ctx, const struct config_section *sec,
    const char *purpose, int confirm, struct secret **out, struct err *e)
{
	struct pass_opts o;

	memset(&o, 0, sizeof(o));
	if (ctx->password_command != NULL || ctx->password_file != NULL) {
		o.password_command = ctx->password_command;
		o.password_file = ctx->password_file;
	} else if (sec != NULL) {
		o.password_command = config_get_str(sec, "password_command");
		o.password_file = config_get_str(sec, "password_file");
	}
	o.use_environment = 1;
	o.allow_prompt = 1;
	return (pass_get(&o, purpose, confirm, out, e));
}

int
cli_repo_passphrase(struct cli_ctx *ctx, const struct config_section *sec,
    const char *loc, int confirm, struct secret **out, struct err *e)
{
	char *purpose =
	    xasprintf("%srepository %s", confirm ? "new " : "", loc);
	int rc = cli_passphrase(ctx, sec, purpose, confirm, out, e);

	free(purpose);
	return (rc);
}

const struct key_scrypt *
cli_scrypt_params(void)
{
	const char *v = getenv(KEY_TEST_WEAK_ENV);

	return (v != NULL && strcmp(v, "1") == 0 ? &key_scrypt_test_weak
	                                         : &key_scrypt_default);
}

static void
lock_notice(void *arg, const char *msg)
{
	struct cli_ctx *ctx = arg;

	log_info(ctx->log, "%s", msg);
}

void
cli_lock_opts(struct cli_ctx *ctx, struct lock_opts *lo)
{
	memset(lo, 0, sizeof(*lo));
	lo->command = ctx->cmd_name;
	lo->wait = ctx->lock_wait;
	lo->notice = lock_notice;
	lo->notice_arg = ctx;
	lo->interrupted = ctx->interrupted;
	lo->held = cli_lock_held;
}

enum repo_lock_mode
cli_lock_mode(const struct cli_ctx *ctx)
{
	return (ctx->lock == CLI_LOCK_NONE        ? REPO_LOCK_NONE
	        : ctx->lock == CLI_LOCK_EXCLUSIVE ? REPO_LOCK_EXCLUSIVE
	                                          : REPO_LOCK_SHARED);
}

int
cli_open_repo(struct cli_ctx *ctx, const char *arg, struct config **cfgp,
    struct repo **out, struct err *e)
{
	return (cli_open_repo_flags(ctx, arg, 0, cfgp, out, e));
}

int
cli_open_repo_flags(struct cli_ctx *ctx, const char *arg, int flags,
    struct config **cfgp, struct repo **out, struct err *e)
{
	const struct config_section *sec;
	struct config *cfg = NULL;
	struct secret *pw = NULL;
	struct lock_opts lo;
	struct stor_opts so;
	const char *loc, *lk;
	int rc = -1;

	*out = NULL;
	if (cfgp != NULL)
		*cfgp = NULL;
	if (cli_load_config(ctx, &cfg, e) == -1 ||
	    cli_resolve_repo(arg, cfg, &loc, &sec, e) == -1)
		goto out;
	/*
	 * A bare word names a [repository] section or a directory here:
	 * with neither, say so before asking for a passphrase.
	 */
	if (cfg == NULL && strchr(loc, '/') == NULL && strcmp(loc, ".") != 0 &&
	    access(loc, F_OK) == -1 && errno == ENOENT) {
		err_set(e, ERR_USAGE,
		    "no repository named %s: no configuration file was read "
		    "to define it (give -c FILE), and there is no directory "
		    "./%s",
		    loc, loc);
		goto out;
	}
	if (cli_repo_passphrase(ctx, sec, loc, 0, &pw, e) == -1)
		goto out;
	cli_lock_opts(ctx, &lo);
	cli_stor_opts(ctx, sec, &so);
	/* locks = none: a copy that cannot be written is read without one. */
	if (ctx->lock == CLI_LOCK_SHARED && sec != NULL &&
	    (lk = config_get_str(sec, "locks")) != NULL &&
	    strcmp(lk, "none") == 0)
		ctx->lock = CLI_LOCK_NONE;
	if (repo_open_opts(loc, &so, secret_data(pw), secret_len(pw),
	        flags | REPO_OPEN_KEY_HINT, cli_lock_mode(ctx), &lo, out,
	        e) == -1) {
		/*
		 * A copy that cannot be written (an append-only off-site
		 * host, a read-only mount) cannot hold a lock file: say how
		 * to read it without one.
		 */
		if (ctx->lock == CLI_LOCK_SHARED && e->class == ERR_IO &&
		    (e->sys_errno == EROFS ||
		        ((e->sys_errno == EACCES || e->sys_errno == EPERM) &&
		            err_has(e, ERR_F_LOCK))))
			err_wrap(e,
			    "the repository cannot be written, so it cannot be "
			    "locked: give --no-lock, or set locks = none in "
			    "its [repository] section");
		/* A full disk: a reader's lock file needs a block of it. */
		else if (ctx->lock == CLI_LOCK_SHARED &&
		    e->class == ERR_NOSPACE && err_has(e, ERR_F_LOCK))
			err_wrap(e,
			    "no room for a lock file: free some space there, "
			    "or give --no-lock if nothing writes to the "
			    "repository meanwhile");
		goto out;
	}
	repo_set_actor(*out, ctx->actor);
	/* check reports them itself, with more. */
	if (!(flags & REPO_OPEN_SKIP_BAD_INDEX)) {
		const struct repo_bad_file *bad;
		size_t nbad;

		bad = repo_bad_indexes(*out, &nbad);
		for (size_t i = 0; i < nbad; i++) {
			const char *why = bad[i].err.msg;
			size_t k = strlen(bad[i].name);

			if (strncmp(why, bad[i].name, k) == 0 &&
			    strncmp(why + k, ": ", 2) == 0)
				why += k + 2;
			log_warn(ctx->log,
			    "%s left out: %s (blobs only it names cannot be "
			    "read; run 'coffer check')",
			    bad[i].name, why);
		}
	}
	rc = 0;
out:
	secret_free(pw);
	if (cfgp != NULL && rc == 0)
		*cfgp = cfg;
	else
		config_free(cfg);
	return (rc);
}

void
cli_key_meta(struct key_file_meta *m)
{
	static char host[256], user[256];
	struct passwd *pw;

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	pw = getpwuid(geteuid());
	snprintf(user, sizeof(user), "%s", pw ? pw->pw_name : "");
	m->created = (int64_t)time(NULL);
	m->host = host;
	m->user = user;
}

/* Warnings past this many of a kind are counted, not listed. */
#define WARN_MAX 5

int
cli_snapshots(struct cli_ctx *ctx, struct repo *r, struct snapsel **out,
    struct err *e)
{
	struct snapsel *s;
	char when[32], other[32];
	size_t late = 0, future = 0;

	if (snapsel_list(r, time(NULL), out, e) == -1)
		return (-1);
	s = *out;
	for (size_t i = 0; i < s->nbad && i < WARN_MAX; i++)
		log_warn(ctx->log,
		    "warning: snapshot %.8s cannot be read and is left out "
		    "(so 'latest' may not be the newest): %s; run 'coffer "
		    "check'",
		    s->bad[i].id, s->bad[i].err.msg);
	if (s->nbad > WARN_MAX)
		log_warn(ctx->log,
		    "warning: %zu more snapshot files cannot be read and "
		    "are left out; run 'coffer check'",
		    s->nbad - WARN_MAX);
	for (size_t i = 0; i < s->n; i++) {
		const struct snapsel_item *it = &s->v[i];

		manifest_time_str(&it->m, when, sizeof(when));
		if ((it->flags & SNAPSEL_LATE) && late++ < WARN_MAX) {
			snapsel_time_str(it->stored, other, sizeof(other));
			log_warn(ctx->log,
			    "warning: snapshot %.8s is dated %s UTC, after "
			    "its file reached the store (%s UTC): a wrong "
			    "clock or a planted file; it is ordered by the "
			    "store's time",
			    it->m.id, when, other);
		}
		if ((it->flags & SNAPSEL_FUTURE) && future++ < WARN_MAX) {
			snapsel_time_str(s->now, other, sizeof(other));
			log_warn(ctx->log,
			    "warning: snapshot %.8s is dated %s UTC, after "
			    "this host's clock (%s UTC); 'latest' passes it "
			    "over: check the clocks, and name it by id if "
			    "you want it",
			    it->m.id, when, other);
		}
	}
	if (late > WARN_MAX || future > WARN_MAX)
		log_warn(ctx->log,
		    "warning: %zu more snapshots are dated wrong; 'coffer "
		    "snapshots --json' shows which",
		    (late > WARN_MAX ? late - WARN_MAX : 0) +
		        (future > WARN_MAX ? future - WARN_MAX : 0));
	return (0);
}

int
cli_snapshot_pick(struct cli_ctx *ctx, struct repo *r, const char *sel,
    const struct timespec *before, struct snapsel **list, size_t *index,
    struct err *e)
{
	*list = NULL;
	if (cli_snapshots(ctx, r, list, e) == -1)
		return (-1);
	if (snapsel_resolve(*list, sel, before, index, e) == -1) {
		snapsel_free(*list);
		*list = NULL;
		return (-1);
	}
	return (0);
}

int
cli_opt_before(void *opts, void *field, const char *arg, const char *next,
    struct err *e)
{
	(void)opts;
	(void)next;
	return (snapsel_parse_time(arg, time(NULL), field, e));
}

int
cli_open_store(struct cli_ctx *ctx, const struct config *cfg, const char *arg,
    int create, struct stor **out, struct err *e)
{
	const struct config_section *sec;
	struct stor_opts so;
	const char *loc;

	*out = NULL;
	if (cli_resolve_repo(arg, cfg, &loc, &sec, e) == -1)
		return (-1);
	cli_stor_opts(ctx, sec, &so);
	return (stor_open_opts(loc, &so, create, out, e));
}

void
cli_stor_opts(struct cli_ctx *ctx, const struct config_section *sec,
    struct stor_opts *so)
{
	const char *x;
	uint64_t d;
	int64_t v;
	int b;

	memset(so, 0, sizeof(*so));
	if (sec != NULL) {
		so->identity = config_get_str(sec, "identity");
		so->identity_passphrase_file =
		    config_get_str(sec, "identity_passphrase_file");
		so->known_hosts = config_get_str(sec, "known_hosts");
		so->user = config_get_str(sec, "user");
		if (config_get_int(sec, "port", &v) == 0)
			so->port = (int)v;
		if (config_get_duration(sec, "connect_timeout", &d) == 0)
			so->connect_timeout = (unsigned)d;
		if (config_get_duration(sec, "io_timeout", &d) == 0)
			so->io_timeout = (unsigned)d;
		if (config_get_duration(sec, "keepalive", &d) == 0)
			so->keepalive =
			    d == 0 ? STOR_KEEPALIVE_OFF : (unsigned)d;
		if (config_get_int(sec, "retries", &v) == 0)
			so->retries = v == 0 ? -1 : (int)v;
		if (config_get_int(sec, "transfers", &v) == 0)
			so->transfers = (int)v;
		if (config_get_int(sec, "limit_upload", &v) == 0)
			so->limit_upload = (uint64_t)v * 1024;
		if (config_get_int(sec, "limit_download", &v) == 0)
			so->limit_download = (uint64_t)v * 1024;
		so->s3_access_key_file = config_get_str(sec, "access_key_file");
		so->s3_secret_key_file = config_get_str(sec, "secret_key_file");
		so->s3_region = config_get_str(sec, "region");
		so->s3_ca_file = config_get_str(sec, "ca_file");
		if (config_get_bool(sec, "insecure_http", &b) == 0)
			so->s3_insecure_http = b;
		if (config_get_bool(sec, "path_style", &b) == 0)
			so->s3_virtual_host = !b;
	}
	if (ctx->identity != NULL)
		so->identity = ctx->identity;
	if (ctx->known_hosts != NULL)
		so->known_hosts = ctx->known_hosts;
	if (ctx->limit_upload_set)
		so->limit_upload = (uint64_t)ctx->limit_upload * 1024;
	if (ctx->limit_download_set)
		so->limit_download = (uint64_t)ctx->limit_download * 1024;
	/* A test switch, as COFFER_TEST_WEAK_KDF: multipart for small packs. */
	if ((x = getenv("COFFER_TEST_S3_PART_SIZE")) != NULL &&
	    value_parse_size(x, &d) == 0)
		so->s3_part_size = d;
	so->accept_new_host_key = ctx->accept_new_host_key;
	so->log = ctx->log;
	so->interrupted = ctx->interrupted;
}

char *
cli_cache_dir(const char *opt, const struct config *cfg)
{
	const char *x;

	if (opt != NULL)
		return (xstrdup(opt));
	if (cfg != NULL && config_key_line(config_global(cfg), "cache_dir") > 0)
		return (
		    xstrdup(config_get_str(config_global(cfg), "cache_dir")));
	if ((x = getenv("XDG_CACHE_HOME")) != NULL && x[0] == '/')
		return (xasprintf("%s/coffer", x));
	if (geteuid() == 0)
		return (xstrdup("/var/cache/coffer"));
	if ((x = getenv("HOME")) != NULL && x[0] == '/')
		return (xasprintf("%s/.cache/coffer", x));
	return (NULL);
}

static int
sched_open_repo(void *arg, const char *name, int exclusive, int flags,
    unsigned lock_wait, struct repo **out, struct err *e)
{
	struct cli_ctx *ctx = arg;

	ctx->lock = exclusive ? CLI_LOCK_EXCLUSIVE : CLI_LOCK_SHARED;
	ctx->lock_wait = lock_wait;
	return (cli_open_repo_flags(ctx, name, flags, NULL, out, e));
}

static int
sched_open_store(void *arg, const char *name, int create, struct stor **out,
    struct err *e)
{
	struct cli_ctx *ctx = arg;
	struct config *cfg = NULL;
	int rc;

	if (cli_load_config(ctx, &cfg, e) == -1)
		return (-1);
	rc = cli_open_store(ctx, cfg, name, create, out, e);
	config_free(cfg);
	return (rc);
}

static int
drill_open_repo(void *arg, const char *name, int flags, struct repo **out,
    struct err *e)
{
	struct cli_ctx *ctx = arg;

	return (sched_open_repo(arg, name, 0, flags, ctx->lock_wait, out, e));
}

void
cli_job_opts(struct cli_ctx *ctx, const char *cache_dir, struct job_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->open_repo = sched_open_repo;
	o->open_store = sched_open_store;
	o->arg = ctx;
	o->cache_dir = cache_dir;
	o->log = ctx->log;
	o->interrupted = ctx->interrupted;
}

void
cli_drill_opts(struct cli_ctx *ctx, struct drill_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->open_repo = drill_open_repo;
	o->arg = ctx;
	o->log = ctx->log;
	o->interrupted = ctx->interrupted;
}
