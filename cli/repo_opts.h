/*
 * What every repository command shares: finding the config, resolving
 * -r to a location and its [repository] section, getting the passphrase,
 * opening the repository.
 */
#ifndef COFFER_CLI_REPO_OPTS_H
#define COFFER_CLI_REPO_OPTS_H

#include "cli.h"
#include "config.h"
#include "opt.h"
#include "passphrase.h"
#include "repo/lock.h"
#include "repo/repo.h"

/* -r/--repo, for a command's option table. */
#define CLI_REPO_LONG                                                          \
	{                                                                      \
		"repo", required_argument, NULL, 'r'                           \
	}

/*
 * The config, if there is one: the -c file (which must exist), else the
 * default file when it exists, else *out = NULL and 0.
 */
int cli_load_config(struct cli_ctx *, struct config **out, struct err *);

/*
 * Resolve a -r value: a path or sftp:// URL is used as is; a bare NAME is
 * the [repository NAME] section of cfg (*sec set), whose path or url is
 * the location, or with no config at all a directory of that name.  arg NULL:
 * COFFER_REPOSITORY from the environment, else a usage error.
 */
int cli_resolve_repo(const char *arg, const struct config *cfg,
    const char **location, const struct config_section **sec, struct err *);

/*
 * The passphrase for a repository: the command line's --password-command
 * or --password-file, else the section's, else COFFER_PASSWORD_FILE, else
 * a prompt (confirmed twice when confirm is set).
 */
int cli_passphrase(struct cli_ctx *, const struct config_section *sec,
    const char *purpose, int confirm, struct secret **out, struct err *);

/*
 * cli_passphrase for the repository at loc: the prompt names it
 * ("Passphrase for repository /var/backups/coffer: "; with confirm, for a
 * new one).
 */
int cli_repo_passphrase(struct cli_ctx *ctx, const struct config_section *sec,
    const char *loc, int confirm, struct secret **out, struct err *e);

/* Is the KDF-weakening test switch on (COFFER_TEST_WEAK_KDF=1)? */
const struct key_scrypt *cli_scrypt_params(void);

/*
 * All of the above, then repo_open_locked with the lock ctx->lock asks for
 * (shared unless the command said otherwise), waiting ctx->lock_wait
 * seconds for a conflicting one.  *location_out (may be NULL) gets the
 * resolved location, valid while cfg lives; *cfgp (may be NULL) the config.
 */
int cli_open_repo(struct cli_ctx *, const char *arg, struct config **cfgp,
    struct repo **out, struct err *);

/*
 * Every snapshot of r in order (snapsel_list, by this host's clock), with a
 * warning on the log for each file that cannot be read and each snapshot
 * whose date is wrong (after its file reached the store, or after this
 * host's clock): the list a command shows or chooses from.
 */
struct snapsel;
struct timespec;
int cli_snapshots(struct cli_ctx *, struct repo *, struct snapsel **out,
    struct err *);

/*
 * cli_snapshots, then *index of the snapshot sel names ("latest" or an id
 * prefix, with before NULL or the --before limit: snapsel_resolve).  On
 * success *list is the listing (snapsel_free it); on failure NULL.
 */
int cli_snapshot_pick(struct cli_ctx *, struct repo *, const char *sel,
    const struct timespec *before, struct snapsel **list, size_t *index,
    struct err *);

/*
 * Entries for a command's option table (cli/opt.h): -r/--repo REPO into a
 * const char * field, --before TIME into a struct timespec field (parsed
 * by snapsel_parse_time; whether it was given: opt_is_given).
 */
#define CLI_OPT_REPO(type, field)                                              \
	{                                                                      \
		"repo", 'r', OPT_STR, offsetof(type, field), "REPO", 0, 0, 0,  \
		    NULL                                                       \
	}
#define CLI_OPT_BEFORE_TIME(type, field)                                       \
	{                                                                      \
		"before", 0, OPT_FUNC, offsetof(type, field), "TIME", 0, 0, 0, \
		    cli_opt_before                                             \
	}
int cli_opt_before(void *opts, void *field, const char *arg, const char *next,
    struct err *);

/* cli_open_repo with repo_open_flags (REPO_OPEN_*). */
int cli_open_repo_flags(struct cli_ctx *, const char *arg, int flags,
    struct config **cfgp, struct repo **out, struct err *);

/*
 * The lock cli_open_repo takes, for commands that open the repository
 * themselves: mode from ctx->lock, options (command name, the wait,
 * notices to the log, the interrupt flag) from ctx.
 */
enum repo_lock_mode cli_lock_mode(const struct cli_ctx *);
void cli_lock_opts(struct cli_ctx *, struct lock_opts *);

/*
 * lock_opts.held for every lock this process takes (cli/main.c): keeps
 * the path of each lock file held in a local repository, so that an
 * abrupt end (out of memory: xmalloc.h) removes it.  The lock of a
 * remote (sftp://) repository is not removed then: no thread may talk
 * to the server at that moment.  The next run on this host finds it dead
 * and removes it; other hosts count it stale after its deadline.
 */
void cli_lock_held(void *arg, const struct lock *lk, struct stor *st,
    const char *name);

/*
 * Resolve arg as cli_resolve_repo does and open its store (no key needed),
 * with the transport settings of its [repository] section and the command
 * line.  For commands that work on repository files without the key
 * (replicate, unlock).
 */
struct stor;
int cli_open_store(struct cli_ctx *, const struct config *cfg, const char *arg,
    int create, struct stor **out, struct err *);

/*
 * The transport settings for a store: the [repository] section's keys
 * (sec may be NULL), then the command line's --identity, --known-hosts,
 * --limit-upload, --limit-download and --accept-new-host-key over them.
 * Strings point into sec and ctx.
 */
struct stor_opts;
void cli_stor_opts(struct cli_ctx *, const struct config_section *sec,
    struct stor_opts *);

/* Fill meta (host, user, now) for a new key file; strings are static. */
void cli_key_meta(struct key_file_meta *);

/*
 * The files cache directory for snapshot and job run: opt (--cache-dir),
 * else [global] cache_dir when the file sets it, else
 * $XDG_CACHE_HOME/coffer, /var/cache/coffer for root, ~/.cache/coffer;
 * NULL when none can be named.  free() it.
 */
char *cli_cache_dir(const char *opt, const struct config *cfg);

/*
 * How job_run and drill_run (scheduler/job.h, drill.h) reach repositories
 * from the command line, the same for coffer job run, coffer drill run
 * and the scheduler: through cli_open_repo_flags and cli_open_store with
 * ctx's settings (a job's steps lock as they ask; a drill, shared, so that
 * no prune removes packs under its restore), ctx's log and interrupt
 * flag.  o is zeroed first; the caller sets what is its own (trigger...).
 */
struct job_opts;
struct drill_opts;
void cli_job_opts(struct cli_ctx *, const char *cache_dir, struct job_opts *o);
void cli_drill_opts(struct cli_ctx *, struct drill_opts *o);

#endif
