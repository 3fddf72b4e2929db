/*
 * Snapshot manifests: the sealed JSON file under snapshots/ that names a
 * snapshot's root tree and says when, where and from what it was taken.
 * doc/FORMAT.md, "Snapshots"; listing and choosing one: repo/snapsel.h.
 */
#ifndef COFFER_MANIFEST_H
#define COFFER_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "repo/repo.h"

#define MANIFEST_JOB_MAX 255 /* bytes of a job name */

struct manifest_skip {
	char *path;
	char *error;
};

/*
 * One source of a snapshot (doc/FORMAT.md, "Snapshots"): what it was, how
 * it went, and where its data sits in the snapshot's tree.
 */
struct manifest_source {
	char *name;   /* [source NAME], or the name an ad-hoc source got */
	char *type;   /* "files", "postgres", "mysql", "sqlite", "command" */
	char *status; /* "ok" or "failed" */
	char *error;  /* why it failed (with the program's stderr tail); NULL */
	struct timespec start, end;
	char *server_version; /* NULL: none or unknown */
	char *database;       /* postgres/mysql database name; NULL */
	/* postgres: the database's encoding and locale, for restore --create
	 * (NULL: unknown) */
	char *encoding, *lc_collate, *lc_ctype;
	char *path; /* its subtree in the snapshot, "/NAME"; NULL if failed */
	char *dump; /* the dump file in the tree, "/NAME/gas.pgdump"; NULL */
	uint64_t bytes; /* logical bytes it contributed */
};

struct manifest {
	char id[REPO_HEX_LEN + 1]; /* file name; empty until saved/loaded */
	struct timespec time;      /* when the snapshot started (UTC) */
	char *host, *user, *program;
	char *job; /* the [job NAME] that took it; NULL: none */
	char **tags;
	size_t ntags;
	char **paths; /* what was snapshotted, as given (absolute) */
	size_t npaths;
	uint8_t tree[IDX_ID_LEN];      /* root tree blob */
	char parent[REPO_HEX_LEN + 1]; /* empty: none */
	/* summary */
	uint64_t files, dirs, others;
	uint64_t bytes;      /* logical size of all files */
	uint64_t bytes_read; /* bytes actually read (cache misses) */
	uint64_t blobs_new, raw_new, stored_new;
	double duration;     /* seconds */
	char **inconsistent; /* files that changed while read */
	size_t ninconsistent;
	struct manifest_skip *skipped; /* entries that could not be read */
	size_t nskipped;
	struct manifest_source *sources; /* empty for a plain paths snapshot */
	size_t nsources;
};

void manifest_init(struct manifest *);
void manifest_clear(struct manifest *); /* frees the members */

/* Helpers that copy their string arguments. */
void manifest_add_tag(struct manifest *, const char *);
void manifest_add_path(struct manifest *, const char *);
void manifest_add_inconsistent(struct manifest *, const char *);
void manifest_add_skipped(struct manifest *, const char *path,
    const char *error);

/*
 * Append a source: the strings of src are copied (NULL stays NULL); the
 * new entry is returned for the caller to fill further.
 */
struct manifest_source *manifest_add_source(struct manifest *,
    const struct manifest_source *src);

/* The source called name, or NULL. */
const struct manifest_source *manifest_find_source(const struct manifest *,
    const char *name);

/* JSON text (free()) and back; decode refuses malformed input. */
char *manifest_encode(const struct manifest *);
int manifest_decode(const char *json, size_t len, struct manifest *,
    struct err *);

/* Seal and store; fills m->id. */
int manifest_save(struct repo *, struct manifest *, struct err *);

/* Load one by its full id. */
int manifest_load(struct repo *, const char *id, struct manifest *,
    struct err *);

/* "2026-11-27 10:00:03" in UTC, for listings. */
void manifest_time_str(const struct manifest *, char *buf, size_t size);

#endif
