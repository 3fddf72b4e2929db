/*
 * The snapshot command's engine: walk file trees, chunk and store their
 * contents, build tree blobs bottom-up, and save a manifest naming the
 * root tree once every blob it names is durable.
 */
#ifndef COFFER_SNAPSHOT_H
#define COFFER_SNAPSHOT_H

#include <sys/types.h>

#include <signal.h>
#include <stddef.h>

#include "err.h"
#include "fs/node.h"
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
	int compression;           /* zstd level; 0: the repository's */
	const char *cache_dir;     /* files cache root; NULL: read everything */
	struct log *log;           /* warnings per skipped/changed entry */
	struct progress *progress; /* may be NULL */
	volatile sig_atomic_t *interrupted; /* may be NULL */
	/* Sources only: */
	const char *repository; /* for hooks' COFFER_REPOSITORY */
	const char *job;        /* the [job NAME] taking it (manifest "job") */
	const char *tmp_dir;    /* SQLite backups; NULL: TMPDIR or /tmp */
};

/*
 * The parts a snapshot is built from, for sources (snapshot/sources.c):
 * begin, add trees of paths and byte streams and directories of them,
 * then commit a root tree, or end without saving.
 */
struct snap;

/* Paths for one walk (a files source, or the plain paths). */
struct snap_paths {
	const char *const *paths;
	size_t npaths;
	const char *const *exclude;
	size_t nexclude;
	int one_file_system;
	int add_to_manifest; /* list the absolute paths in the manifest */
};

/*
 * Read up to len bytes of a stream into buf: the count, 0 at its end, -1
 * with e on failure.
 */
typedef ssize_t (*snap_reader)(void *arg, void *buf, size_t len, struct err *);

/*
 * Start a snapshot: *m is initialised (time, host, tags).  o's paths,
 * exclude and one_file_system are not used here.
 */
int snap_begin(struct repo *, const struct snap_opts *o, struct manifest *m,
    struct snap **out, struct err *);

/*
 * Walk p's paths and store their trees; id = the tree of "/" holding
 * them (with the directories on the way), or the tree of "/" itself when
 * that is the only path.  Counts files, dirs and bytes in the manifest.
 */
int snap_add_paths(struct snap *, const struct snap_paths *p,
    uint8_t id[IDX_ID_LEN], struct err *);

/*
 * A file entry named name whose content is the stream rd yields until its
 * end, with made-up metadata: mode 0600, owned by the running user, mtime
 * mtime.  *out is the node (free with fs_node_clear); nothing is counted
 * in the manifest.  On failure nothing names the chunks already stored.
 * Memory: one chunk, and 32 bytes per chunk of the stream.
 */
int snap_add_stream(struct snap *, snap_reader rd, void *arg, const char *name,
    const struct timespec *mtime, struct fs_node *out, struct err *);

/*
 * A directory entry named name, mode 0700, owned by the running user,
 * holding nodes (stored as its tree; not freed) or, when subtree is not
 * NULL, naming that tree.
 */
int snap_add_dir(struct snap *, const char *name, struct fs_node *nodes,
    size_t n, const uint8_t *subtree, const struct timespec *mtime,
    struct fs_node *out, struct err *);

/* Flush, fill the summary, save the manifest with root as its tree. */
int snap_commit(struct snap *, const uint8_t root[IDX_ID_LEN], struct err *);

/* Not committing: flush what was stored so that the next run reuses it. */
void snap_keep(struct snap *);

/* Free; NULL is fine. */
void snap_end(struct snap *);

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
