/*
 * coffer scheduler install (install.h): the cron.d file and the systemd
 * units, as text, and their publication.  Each hardening setting of the
 * service says in the unit why it is there; the ones left out are in
 * coffer-scheduler(1) with the reason.
 */
#include "scheduler/install.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afile.h"
#include "xmalloc.h"

static int
safe_path(const char *what, const char *p, struct err *e)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
	                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                         "0123456789/._+,:@=-";

	if (p[0] != '/')
		return (err_set(e, ERR_USAGE, "%s %s is not an absolute path",
		    what, p));
	if (p[strspn(p, ok)] != '\0')
		return (err_set(e, ERR_USAGE,
		    "%s %s has a character a crontab or a unit would have to "
		    "quote ('%c'): use a path of letters, digits and /._+,:@=-",
		    what, p, p[strspn(p, ok)]));
	return (0);
}

static char *
cron_text(const struct install_opts *o)
{
	return (xasprintf("# coffer scheduler: every minute, run the [job] "
	                  "sections that are due.\n"
	                  "# Made by 'coffer scheduler install --cron%s' "
	                  "(coffer-scheduler(1)).\n"
	                  "SHELL=/bin/sh\n"
	                  "PATH=%s\n"
	                  "* * * * * %s%s -c %s scheduler tick\n",
	    o->user ? " --user" : "", INSTALL_PATH, o->user ? "" : "root ",
	    o->exe, o->config));
}

static char *
service_text(const struct install_opts *o)
{
	const char *harden =
	    "# Hardening that keeps all of / readable and every hook working\n"
	    "# (coffer-scheduler(1), INSTALL, says what is left out and why).\n"
	    "# No setuid or file-capability gain for coffer, its dump "
	    "programs\n"
	    "# and hooks: as root they need none.\n"
	    "NoNewPrivileges=yes\n"
	    "# /proc/sys, /sys and the cgroup tree read-only: still read,\n"
	    "# never written by a backup.\n"
	    "ProtectKernelTunables=yes\n"
	    "ProtectControlGroups=yes\n"
	    "# No hostname change, no realtime scheduling, no personality\n"
	    "# change: nothing coffer or a dump program does.\n"
	    "ProtectHostname=yes\n"
	    "RestrictRealtime=yes\n"
	    "LockPersonality=yes\n"
	    "# Files made outside a repository (cache, state) private; coffer\n"
	    "# sets the modes of what it publishes itself.\n"
	    "UMask=0077\n";

	return (xasprintf("# coffer-scheduler.service: one tick of the coffer "
	                  "scheduler, started\n"
	                  "# every minute by coffer-scheduler.timer.\n"
	                  "# Made by 'coffer scheduler install --systemd%s' "
	                  "(coffer-scheduler(1)).\n"
	                  "[Unit]\n"
	                  "Description=coffer scheduler tick: run the jobs "
	                  "that are due\n"
	                  "Documentation=man:coffer-scheduler(1)\n"
	                  "After=network-online.target\n"
	                  "Wants=network-online.target\n"
	                  "\n"
	                  "[Service]\n"
	                  "# One tick; a long job keeps it active, and the "
	                  "timer starts no second one.\n"
	                  "Type=oneshot\n"
	                  "ExecStart=%s -c %s scheduler tick\n"
	                  "Environment=PATH=%s\n"
	                  "# Backups yield CPU and disk to the machine's own "
	                  "work.\n"
	                  "Nice=10\n"
	                  "IOSchedulingClass=idle\n"
	                  "%s",
	    o->user ? " --user" : "", o->exe, o->config, INSTALL_PATH,
	    o->user ? "# A user's service: no sandboxing (it needs privileges "
	              "the user\n# manager lacks); no privilege gain.\n"
	              "NoNewPrivileges=yes\n"
	            : harden));
}

static char *
timer_text(const struct install_opts *o)
{
	return (xasprintf("# coffer-scheduler.timer: starts "
	                  "coffer-scheduler.service every minute.\n"
	                  "# Made by 'coffer scheduler install --systemd%s' "
	                  "(coffer-scheduler(1)).\n"
	                  "[Unit]\n"
	                  "Description=coffer scheduler tick, every minute\n"
	                  "Documentation=man:coffer-scheduler(1)\n"
	                  "\n"
	                  "[Timer]\n"
	                  "OnCalendar=minutely\n"
	                  "# A tick missed while the machine was off runs at "
	                  "boot; the scheduler\n"
	                  "# then runs each job once, not once per missed "
	                  "time.\n"
	                  "Persistent=true\n"
	                  "# On the minute, not up to a minute late "
	                  "(the default).\n"
	                  "AccuracySec=1s\n"
	                  "\n"
	                  "[Install]\n"
	                  "WantedBy=timers.target\n",
	    o->user ? " --user" : ""));
}

int
install_files(const struct install_opts *o, struct install_file **out,
    size_t *n, struct err *e)
{
	struct install_file *f;

	*out = NULL;
	*n = 0;
	if (safe_path("coffer's path", o->exe, e) == -1 ||
	    safe_path("the config", o->config, e) == -1)
		return (-1);
	if (o->kind == INSTALL_CRON) {
		f = xcalloc(1, sizeof(*f));
		f[0].name = xstrdup("coffer");
		f[0].text = cron_text(o);
		*n = 1;
	} else {
		f = xcalloc(2, sizeof(*f));
		f[0].name = xstrdup("coffer-scheduler.service");
		f[0].text = service_text(o);
		f[1].name = xstrdup("coffer-scheduler.timer");
		f[1].text = timer_text(o);
		*n = 2;
	}
	*out = f;
	return (0);
}

void
install_files_free(struct install_file *f, size_t n)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].text);
	}
	free(f);
}

/* mkdir -p dir, new directories 0755. */
static int
mkdirs(const char *dir, struct err *e)
{
	char *p = xstrdup(dir);
	int rc = -1;

	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			err_sys(e, ERR_IO, "mkdir %s", p);
			goto out;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	rc = 0;
out:
	free(p);
	return (rc);
}

/* 0 and *same when path holds exactly text, 1 when it does not exist. */
static int
same_text(const char *path, const char *text, int *same, struct err *e)
{
	size_t len = strlen(text), got;
	char *buf = xmalloc(len + 2);
	FILE *f;
	int rc = -1;

	*same = 0;
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			rc = 1;
		else
			err_sys(e, ERR_IO, "%s", path);
		goto out;
	}
	got = fread(buf, 1, len + 1, f);
	if (ferror(f)) {
		err_sys(e, ERR_IO, "read %s", path);
		goto out;
	}
	*same = got == len && memcmp(buf, text, len) == 0;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	return (rc);
}

int
install_write(const char *dir, const struct install_file *f, int force,
    int *changed, struct err *e)
{
	char *path = xasprintf("%s/%s", dir, f->name);
	int rc = -1, same, r;

	*changed = 0;
	if (mkdirs(dir, e) == -1)
		goto out;
	if ((r = same_text(path, f->text, &same, e)) == -1)
		goto out;
	if (r == 0 && same) {
		rc = 0;
		goto out;
	}
	if (r == 0 && !force) {
		err_set(e, ERR_IO,
		    "%s exists and differs from what coffer would write: "
		    "compare it with the output without --write, then remove "
		    "it or give --force",
		    path);
		e->sys_errno = EEXIST;
		goto out;
	}
	if (afile_write_all(path, f->text, strlen(f->text), 0644, 0, e) == -1)
		goto out;
	*changed = 1;
	rc = 0;
out:
	free(path);
	return (rc);
}
