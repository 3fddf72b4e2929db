/*
 * The command-line layer: the context every subcommand gets, the command
 * table, and the option handling all subcommands share.
 */
#ifndef COFFER_CLI_H
#define COFFER_CLI_H

#include <getopt.h>
#include <signal.h>

#include "err.h"
#include "log.h"

struct oplog_actor;

/* Settings common to every subcommand; filled from the command line. */
struct cli_ctx {
	const char *config_path; /* -c FILE, or NULL for the default */
	int config_explicit;     /* -c given: a missing file is an error */
	struct log *log;
	int json;                     /* --json: machine output on stdout */
	int quiet;                    /* -q: errors only */
	int verbose;                  /* -v: debug detail */
	const char *password_file;    /* --password-file */
	const char *password_command; /* --password-command */
	volatile sig_atomic_t *interrupted; /* set by SIGINT/SIGTERM */
	const char *cmd_name;               /* the running subcommand */
	/* The repository lock cli_open_repo takes: CLI_LOCK_*. */
	int lock;
	unsigned lock_wait; /* seconds to wait for a conflicting lock */
	/* Transport options for sftp://, over the [repository] section's. */
	const char *identity;    /* --identity */
	const char *known_hosts; /* --known-hosts */
	int accept_new_host_key; /* --accept-new-host-key */
	int limit_upload_set, limit_download_set;
	unsigned long long limit_upload, limit_download; /* KiB/s */
	/* Who runs this command, for the repositories' operations logs
	 * (repo/oplog.h): given to every repository a command opens. */
	struct oplog_actor *actor;
};

#define CLI_LOCK_SHARED    0 /* the default */
#define CLI_LOCK_EXCLUSIVE 1
#define CLI_LOCK_NONE      2

#define CLI_DEFAULT_CONFIG "/etc/coffer/coffer.conf"

struct cli_cmd {
	const char *name;
	const char *summary; /* one line, for `coffer help` */
	const char *usage;   /* the full text of `coffer help NAME` */
	/* Runs the command; argv[0] is its name.  Returns an exit status. */
	int (*run)(struct cli_ctx *, int argc, char **argv);
};

/* Long-option values above any character. */
enum {
	CLI_OPT_JSON = 256,
	CLI_OPT_LOG,
	CLI_OPT_PASSWORD_FILE,
	CLI_OPT_PASSWORD_COMMAND,
	CLI_OPT_PASSWORD,
	CLI_OPT_VERSION,
	CLI_OPT_ACCEPT_NEW_HOST_KEY,
	CLI_OPT_IDENTITY,
	CLI_OPT_KNOWN_HOSTS,
	CLI_OPT_LIMIT_UPLOAD,
	CLI_OPT_LIMIT_DOWNLOAD,
	CLI_OPT_NO_LOCK,
	CLI_OPT_CMD_BASE = 512 /* first value a command may use */
};

/* Options every subcommand accepts, before or after its name. */
#define CLI_COMMON_SHORT "c:qvh"
#define CLI_COMMON_LONG                                                        \
	{ "config", required_argument, NULL, 'c' },                            \
	    { "quiet", no_argument, NULL, 'q' },                               \
	    { "verbose", no_argument, NULL, 'v' },                             \
	    { "help", no_argument, NULL, 'h' },                                \
	    { "json", no_argument, NULL, CLI_OPT_JSON },                       \
	    { "log", required_argument, NULL, CLI_OPT_LOG },                   \
	    { "password-file", required_argument, NULL,                        \
		    CLI_OPT_PASSWORD_FILE },                                   \
	    { "password-command", required_argument, NULL,                     \
		    CLI_OPT_PASSWORD_COMMAND },                                \
	    { "accept-new-host-key", no_argument, NULL,                        \
		    CLI_OPT_ACCEPT_NEW_HOST_KEY },                             \
	    { "identity", required_argument, NULL, CLI_OPT_IDENTITY },         \
	    { "known-hosts", required_argument, NULL, CLI_OPT_KNOWN_HOSTS },   \
	    { "limit-upload", required_argument, NULL, CLI_OPT_LIMIT_UPLOAD }, \
	    { "limit-download", required_argument, NULL,                       \
		    CLI_OPT_LIMIT_DOWNLOAD },                                  \
	{                                                                      \
		"password", optional_argument, NULL, CLI_OPT_PASSWORD          \
	}

/*
 * --no-lock, for the longopts of commands that only read: they then take
 * no repository lock (an append-only copy where lock files cannot be
 * removed can be read).  cli_getopt sets ctx->lock to CLI_LOCK_NONE.
 */
#define CLI_NO_LOCK_LONG                                                       \
	{                                                                      \
		"no-lock", no_argument, NULL, CLI_OPT_NO_LOCK                  \
	}

/*
 * getopt_long for a subcommand: handles the common options itself and
 * returns only the command's own, -1 at the end, or '?' after printing a
 * one-line usage error (the caller then returns EXIT_USAGE).  -h prints the
 * command's help and exits 0.  shortopts must start with CLI_COMMON_SHORT
 * (a leading ':' is added when missing).
 */
int cli_getopt(struct cli_ctx *, const struct cli_cmd *, int argc, char **argv,
    const char *shortopts, const struct option *longopts);

/* Apply one common option; 0 if handled, -1 (message printed) if bad. */
int cli_common_option(struct cli_ctx *, const char *cmdname, int opt,
    const char *arg);

/* Print "coffer CMD: message" and a hint to stderr; returns EXIT_USAGE. */
int cli_usage_error(const struct cli_cmd *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print an error at the top level and return its exit status. */
int cli_report(struct cli_ctx *, const struct err *);

/* The command table, and lookup by name. */
extern const struct cli_cmd cli_commands[];
const struct cli_cmd *cli_find(const char *name);

/* Subcommand entry points (cli/cmd_*.c). */
int cmd_help(struct cli_ctx *, int, char **);
int cmd_version(struct cli_ctx *, int, char **);
int cmd_config(struct cli_ctx *, int, char **);
int cmd_init(struct cli_ctx *, int, char **);
int cmd_check(struct cli_ctx *, int, char **);
int cmd_key(struct cli_ctx *, int, char **);
int cmd_restore(struct cli_ctx *, int, char **);
int cmd_snapshot(struct cli_ctx *, int, char **);
int cmd_rebuild_index(struct cli_ctx *, int, char **);
int cmd_snapshots(struct cli_ctx *, int, char **);
int cmd_ls(struct cli_ctx *, int, char **);
int cmd_diff(struct cli_ctx *, int, char **);
int cmd_unlock(struct cli_ctx *, int, char **);
int cmd_replicate(struct cli_ctx *, int, char **);
int cmd_offsite_setup(struct cli_ctx *, int, char **);
int cmd_forget(struct cli_ctx *, int, char **);
int cmd_prune(struct cli_ctx *, int, char **);
int cmd_job(struct cli_ctx *, int, char **);
int cmd_drill(struct cli_ctx *, int, char **);
int cmd_scheduler(struct cli_ctx *, int, char **);
int cmd_scheduler_install(struct cli_ctx *, int, char **);
int cmd_log(struct cli_ctx *, int, char **);
int cmd_report(struct cli_ctx *, int, char **);

/* coffer job run: another run of the job holds its lock (coffer(1)). */
#define EXIT_JOB_RUNNING 13
/*
 * What a command exists to watch needs attention (coffer(1)): coffer drill
 * run, the drill failed; coffer scheduler status, a job is overdue or its
 * last run failed.  One code, so that monitoring tells "look at it" from
 * "coffer could not run" (1, 2...) the same way for both.
 */
#define EXIT_ATTENTION 14

#endif
