/*
 * The repository's operations log: one sealed, content-named file under
 * log/ per change made to the repository (who, where, when, which
 * command, how it ended, what it touched), written once and never
 * changed, so it works on an append-only copy and replicates with the
 * rest.  doc/FORMAT.md, "Operations log".
 */
#ifndef COFFER_OPLOG_H
#define COFFER_OPLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "repo/repo.h"

#define OPLOG_DIR     "log"
#define OPLOG_VERSION 1

/* The operations coffer records (readers show any other name as is). */
#define OPLOG_INIT          "init"
#define OPLOG_SNAPSHOT      "snapshot"
#define OPLOG_FORGET        "forget"
#define OPLOG_UNDO          "undo"
#define OPLOG_PRUNE         "prune"
#define OPLOG_KEY_ADD       "key-add"
#define OPLOG_KEY_REMOVE    "key-remove"
#define OPLOG_KEY_PASSWD    "key-passwd"
#define OPLOG_REBUILD_INDEX "rebuild-index"
#define OPLOG_UNLOCK        "unlock"

#define OPLOG_STR_MAX 4096 /* bytes of a host, user or message kept */
#define OPLOG_CMD_MAX 8192 /* bytes of a command line kept */

/*
 * Who makes the changes of this process, and how: made once per process
 * by the caller (cli/), and handed to each repository it opens
 * (repo_set_actor).  warn (may be NULL) is told, one line, when a record
 * cannot be written: the change itself stands, so that is a warning.
 */
struct oplog_actor {
	char *host;      /* gethostname */
	char *user;      /* the login name of the real uid ("" if none) */
	char *sudo_user; /* SUDO_USER when set, else NULL */
	int64_t pid;
	char *command; /* the command line, escaped (esc.h) */
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
};

/*
 * An actor for this process: host, user, SUDO_USER and pid from the
 * system, and argv[1 .. argc-1] after the word "coffer" as the command:
 * each argument escaped (esc_str), quoted with '' when it holds anything
 * but letters, digits and "_@%+=:,./-", joined by spaces, cut at
 * OPLOG_CMD_MAX bytes.  The environment is never recorded.  Free with
 * oplog_actor_free.
 */
struct oplog_actor *oplog_actor_new(int argc, char *const *argv,
    void (*warn)(void *arg, const char *msg), void *warn_arg);
void oplog_actor_free(struct oplog_actor *);

/* A named figure of a record: "files", "removed"... */
struct oplog_count {
	const char *name;
	uint64_t value;
};

/* What one operation says about itself. */
struct oplog_entry {
	const char *op;               /* OPLOG_* */
	const struct err *failure;    /* NULL (or class ERR_NONE): "ok" */
	const char *const *snapshots; /* ids (64 hex digits) it touched */
	size_t nsnapshots;
	const char *const *keys; /* key file ids it touched */
	size_t nkeys;
	const struct oplog_count *counts;
	size_t ncounts;
};

/*
 * Seal the record of ent, as actor a did it at time now, and publish it
 * as log/<sha256> (never replacing a file); its name in id when not
 * NULL.  Strings of a and ent that are not UTF-8 are escaped, and long
 * ones cut (OPLOG_STR_MAX, OPLOG_CMD_MAX).
 */
int oplog_append(struct repo *r, const struct oplog_actor *a,
    const struct oplog_entry *ent, const struct timespec *now,
    char id[REPO_HEX_LEN + 1], struct err *e);

/*
 * Record ent in r's log, best effort: nothing when r has no actor
 * (repo_set_actor: a library caller that does not say who it is), a
 * warning through the actor's warn when the write fails.  The hook that
 * engines call where a change commits or fails; prune calls it with
 * OPLOG_PRUNE once its deletions are done (or have failed).
 */
void oplog_record(struct repo *r, const struct oplog_entry *ent);

/* oplog_record of an operation with one snapshot or key id (may be NULL). */
void oplog_record_snapshot(struct repo *r, const char *op, const char *id,
    const struct err *failure);
/* ... with n snapshot ids (forget: the ones it moved), n in "snapshots". */
void oplog_record_snapshots(struct repo *r, const char *op,
    const char *const *ids, size_t n, const struct err *failure);
void oplog_record_key(struct repo *r, const char *op, const char *id,
    const struct err *failure);

/*
 * oplog_record of a snapshot run: its id (m->id, when it was saved) and
 * figures (files, bytes, stored_new, sources_failed, skipped).
 */
struct manifest;
void oplog_record_snap(struct repo *r, const struct manifest *m, size_t nfailed,
    const struct err *failure);

/* A record as read back. */
struct oplog_rec {
	char id[REPO_HEX_LEN + 1]; /* its name under log/ */
	struct timespec time;      /* the writer's clock, UTC */
	char *host, *user;
	char *sudo_user; /* NULL: none */
	int64_t pid;
	char *version; /* of the coffer that wrote it */
	char *op, *command;
	int ok;
	char *err_class, *message; /* failed: the error's class name and line */
	char **snapshots;
	size_t nsnapshots;
	char **keys;
	size_t nkeys;
	struct oplog_count *counts; /* names allocated */
	size_t ncounts;
};

void oplog_rec_clear(struct oplog_rec *);

/* JSON text of a record (free()), and back; decode refuses bad input. */
char *oplog_encode(const struct oplog_actor *a, const struct oplog_entry *ent,
    const struct timespec *now);
int oplog_decode(const char *json, size_t len, struct oplog_rec *,
    struct err *);

/*
 * Read log/<id>: check its name against its bytes, open its seal
 * ("coffer log 1") and decode it.  ERR_CORRUPT when any of that fails.
 */
int oplog_load(struct repo *r, const char *id, struct oplog_rec *,
    struct err *);

/* A record that could not be read, for oplog_list. */
struct oplog_bad {
	char name[8 + REPO_HEX_LEN]; /* "log/<id>" or what was there */
	struct err err;
};

struct oplog_list {
	struct oplog_rec *v; /* oldest first: by time, then id */
	size_t n;
	struct oplog_bad *bad; /* unreadable records, by name */
	size_t nbad;
};

/*
 * Every record of r's log, each read as oplog_load does; those that fail
 * are left out and listed in bad.  Names under log/ that are not 64 hex
 * digits are bad too (ERR_CORRUPT).  Fails only when log/ cannot be
 * listed.  Free *out with oplog_list_free.
 */
int oplog_list(struct repo *r, struct oplog_list **out, struct err *e);
void oplog_list_free(struct oplog_list *);

#endif
