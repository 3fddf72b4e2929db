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
#include "store/store.h"

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
	const char *loc;
	int rc = -1;

	*out = NULL;
	if (cfgp != NULL)
		*cfgp = NULL;
	if (cli_load_config(ctx, &cfg, e) == -1 ||
	    cli_resolve_repo(arg, cfg, &loc, &sec, e) == -1)
		goto out;
	if (cli_passphrase(ctx, sec, "repository passphrase", 0, &pw, e) == -1)
		goto out;
	cli_lock_opts(ctx, &lo);
	if (repo_open_flags(loc, secret_data(pw), secret_len(pw), flags,
	        cli_lock_mode(ctx), &lo, out, e) == -1)
		goto out;
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

int
cli_snapshot_list(struct cli_ctx *ctx, struct repo *r, struct manifest **out,
    size_t *n, struct err *e)
{
	size_t nbad;

	if (manifest_list(r, 1, out, n, &nbad, e) == -1)
		return (-1);
	if (nbad > 0)
		log_warn(ctx->log,
		    "warning: %zu snapshot file%s could not be read and %s "
		    "left out (so 'latest' may not be the newest); run "
		    "'coffer check'",
		    nbad, nbad == 1 ? "" : "s", nbad == 1 ? "is" : "are");
	return (0);
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
	memset(&so, 0, sizeof(so));
	so.log = ctx->log;
	so.interrupted = ctx->interrupted;
	return (stor_open_opts(loc, &so, create, out, e));
}
