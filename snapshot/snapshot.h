/*
 * The snapshot command's engine: walk file trees, chunk and store their
 * contents, build tree blobs bottom-up, and save a manifest naming the
 * root tree once every blob it names is durable.
 */
#ifndef COFFER_SNAPSHOT_H
#define COFFER_SNAPSHOT_H

#include <signal.h>
#include <stddef.h>

#include "err.h"
#include "log.h"
#include "progress.h"
#include "repo/manifest.h"
#include "repo/repo.h"

struct snap_opts {
	const char *const *paths; /* what to snapshot; made absolute */
	size_t npaths;
	const char *const *exclude; /* fnmatch patterns */
	size_t nexclude;
	const char *const *tags;
	size_t ntags;
	int one_file_system;
	const char *cache_dir;     /* files cache root; NULL: read everything */
	struct log *log;           /* warnings per skipped/changed entry */
	struct progress *progress; /* may be NULL */
	volatile sig_atomic_t *interrupted; /* may be NULL */
};

/*
 * Take a snapshot into r and save its manifest (*m, filled: id, summary,
 * skipped and inconsistent entries).  Returns 0 when the snapshot was
 * saved (check m->nskipped and m->ninconsistent: exit status 3 if
 * either is non-zero), -1 when it was not (nothing names the data written
 * so far; it is flushed and indexed, so the next run reuses it).
 */
int snap_run(struct repo *r, const struct snap_opts *, struct manifest *m,
    struct err *);

#endif
