/*
 * coffer scheduler install --cron | --systemd [--write [--root DIR]
 * [--force]] [--user]: print, or install, what makes cron or systemd run
 * `coffer scheduler tick` every minute (scheduler/install.c), naming this
 * very binary and the config it was given.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo_opts.h"
#include "scheduler/install.h"
#include "xmalloc.h"

struct install_args {
	int cron, systemd, write, user, force;
	const char *root;
};

#define A(x) offsetof(struct install_args, x)
static const struct opt install_opts_table[] = {
	{ "cron", 0, OPT_FLAG, A(cron), NULL, 0, 0, 0, NULL },
	{ "systemd", 0, OPT_FLAG, A(systemd), NULL, 0, 0, 0, NULL },
	{ "write", 0, OPT_FLAG, A(write), NULL, 0, 0, 0, NULL },
	{ "root", 0, OPT_STR, A(root), "DIR", 0, 0, OPT_NONEMPTY, NULL },
	{ "user", 0, OPT_FLAG, A(user), NULL, 0, 0, 0, NULL },
	{ "force", 0, OPT_FLAG, A(force), NULL, 0, 0, 0, NULL },
	OPT_END,
};

static const struct opt_rel install_rels[] = {
	{ OPT_ONE_OF, "cron systemd", NULL, NULL },
	{ OPT_NEEDS, "root force", "write", NULL },
	OPT_REL_END,
};

static const struct opt_spec install_spec = { install_opts_table,
	install_rels };

/* The config's absolute path: -c FILE or the default, made absolute. */
static char *
config_abs(const struct cli_ctx *ctx)
{
	const char *p =
	    ctx->config_path ? ctx->config_path : CLI_DEFAULT_CONFIG;
	char buf[PATH_MAX], *r;

	if ((r = realpath(p, NULL)) != NULL)
		return (r);
	if (p[0] == '/' || getcwd(buf, sizeof(buf)) == NULL)
		return (xstrdup(p));
	return (xasprintf("%s/%s", buf, p));
}

/* Where the files go, below root (NULL: none, as for a user's cron). */
static char *
target_dir(const struct install_args *a, struct err *e)
{
	const char *root = a->root ? a->root : "/";
	const char *x;
	char *home = NULL, *d;

	while (root[0] == '/' && root[1] == '/')
		root++;
	if (!a->user) {
		d = xasprintf("%s%s%s", root,
		    root[strlen(root) - 1] == '/' ? "" : "/",
		    a->cron ? INSTALL_CRON_DIR : INSTALL_SYSTEMD_DIR);
		return (d);
	}
	if (a->cron) {
		err_set(e, ERR_USAGE,
		    "a user's crontab is edited with crontab(1), not written "
		    "here: add the line 'coffer scheduler install --cron "
		    "--user' prints with crontab -e");
		return (NULL);
	}
	if ((x = getenv("XDG_CONFIG_HOME")) != NULL && x[0] == '/')
		home = xasprintf("%s/systemd/user", x);
	else if ((x = getenv("HOME")) != NULL && x[0] == '/')
		home = xasprintf("%s/.config/systemd/user", x);
	else {
		err_set(e, ERR_USAGE,
		    "no HOME: cannot tell where systemd --user units go");
		return (NULL);
	}
	d = xasprintf("%s%s", strcmp(root, "/") == 0 ? "" : root, home);
	free(home);
	return (d);
}

int
cmd_scheduler_install(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("scheduler");
	struct install_args a;
	struct install_opts io;
	struct install_file *files = NULL;
	size_t nfiles = 0;
	char *exe = NULL, *conf = NULL, *dir = NULL;
	int rc = EXIT_USAGE;
	struct err e;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	memset(&io, 0, sizeof(io));
	if (opt_parse(ctx, cmd, &install_spec, argc, argv, &a, NULL) == -1)
		return (EXIT_USAGE);
	if (opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	if ((exe = realpath("/proc/self/exe", NULL)) == NULL) {
		err_sys(&e, ERR_IO,
		    "cannot tell coffer's own path: /proc/self/exe");
		goto out;
	}
	conf = config_abs(ctx);
	io.kind = a.cron ? INSTALL_CRON : INSTALL_SYSTEMD;
	io.exe = exe;
	io.config = conf;
	io.user = a.user;
	if (install_files(&io, &files, &nfiles, &e) == -1)
		goto out;
	if (!a.write) {
		for (size_t i = 0; i < nfiles; i++) {
			if (nfiles > 1)
				printf("%s# ---- %s\n", i ? "\n" : "",
				    files[i].name);
			fputs(files[i].text, stdout);
		}
		if (fflush(stdout) == EOF) {
			err_sys(&e, ERR_IO, "standard output");
			goto out;
		}
		rc = EXIT_OK;
		goto done;
	}
	if ((dir = target_dir(&a, &e)) == NULL)
		goto out;
	for (size_t i = 0; i < nfiles; i++) {
		int changed;

		if (install_write(dir, &files[i], a.force, &changed, &e) == -1)
			goto out;
		if (!ctx->quiet)
			printf("%s %s/%s\n", changed ? "wrote" : "unchanged",
			    dir, files[i].name);
	}
	if (!ctx->quiet) {
		if (a.cron)
			printf("cron reads %s by itself: nothing more to run\n",
			    dir);
		else if (a.user)
			printf("next: systemctl --user daemon-reload && "
			       "systemctl --user enable --now "
			       "coffer-scheduler.timer\n");
		else
			printf("next: systemctl daemon-reload && systemctl "
			       "enable --now coffer-scheduler.timer\n");
	}
	if (fflush(stdout) == EOF) {
		err_sys(&e, ERR_IO, "standard output");
		goto out;
	}
	rc = EXIT_OK;
	goto done;
out:
	rc = cli_report(ctx, &e);
done:
	install_files_free(files, nfiles);
	free(exe);
	free(conf);
	free(dir);
	opt_free(&install_spec, &a);
	return (rc);
}
