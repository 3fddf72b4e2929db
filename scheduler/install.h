/*
 * The glue that makes cron or systemd run `coffer scheduler tick` every
 * minute (coffer scheduler install): the text of an /etc/cron.d file or of
 * the coffer-scheduler.service and .timer units, and their installation
 * under a root directory.
 */
#ifndef COFFER_SCHED_INSTALL_H
#define COFFER_SCHED_INSTALL_H

#include <stddef.h>

#include "err.h"

enum install_kind { INSTALL_CRON, INSTALL_SYSTEMD };

struct install_opts {
	enum install_kind kind;
	const char *exe;    /* coffer's absolute path */
	const char *config; /* the config's absolute path */
	int user;           /* a user's crontab or systemd --user units */
};

/* One file to install: name (no directory) and its text. */
struct install_file {
	char *name;
	char *text;
};

#define INSTALL_CRON_DIR    "etc/cron.d"
#define INSTALL_SYSTEMD_DIR "etc/systemd/system"
/* The PATH the tick runs with: the programs jobs call are found. */
#define INSTALL_PATH                                                           \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * The files for o into *out (*n of them; install_files_free them): for
 * cron one, "coffer" (a cron.d file: "* * * * * root EXE -c CONFIG
 * scheduler tick"; with user a crontab(5) line without the user field),
 * for systemd two, coffer-scheduler.service and coffer-scheduler.timer.
 * ERR_USAGE when exe or config holds a character either format would have
 * to quote (only letters, digits and "/._+,:@=-" are taken).
 */
int install_files(const struct install_opts *o, struct install_file **out,
    size_t *n, struct err *e);
void install_files_free(struct install_file *, size_t n);

/*
 * Put f in dir (made 0755 with its parents when missing), mode 0644, as
 * afile publishes: *changed 1 when written, 0 when a file with the same
 * text was there (nothing is touched).  A different file there is
 * replaced only with force, else ERR_IO with sys_errno EEXIST "PATH
 * exists and differs ...".
 */
int install_write(const char *dir, const struct install_file *f, int force,
    int *changed, struct err *e);

#endif
