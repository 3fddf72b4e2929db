/*
 * Restore: a snapshot's tree (or the parts of it asked for) into a
 * directory or as a pax tar stream, or one file's bytes to a descriptor.
 * Memory stays bounded whatever the snapshot holds: one decoded tree per
 * directory level of the path being restored, and one chunk of file data.
 *
 * Damage is contained to the files it touches: a chunk or tree that is
 * missing or fails authentication costs the files (or the directory) that
 * need it, each reported, and the rest is restored.  No byte that failed
 * authentication is ever written, and a file that could not be completed
 * is not left behind looking restored: a directory target loses it (it is
 * removed), a tar stream never gets its header (its chunks are all read
 * and checked before the header is written), a descriptor gets nothing.
 */
#ifndef COFFER_RESTORE_H
#define COFFER_RESTORE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fs/extract.h"
#include "fs/node.h"
#include "repo/manifest.h"
#include "repo/repo.h"

/* What a restore did. */
struct rst_stats {
	uint64_t files;    /* regular files restored (hard links included) */
	uint64_t dirs;     /* directories restored */
	uint64_t others;   /* symlinks, FIFOs, device nodes */
	uint64_t bytes;    /* file data written; holes are not counted */
	uint64_t errors;   /* entries not restored, whatever the reason */
	uint64_t damaged;  /* of errors: repository data missing, failing
	                      authentication or malformed */
	uint64_t warnings; /* restored, but some metadata was not applied */
	uint64_t skipped;  /* left out because they cannot be restored
	                      (sockets) */
	uint64_t inconsistent; /* restored as stored, but they changed while
	                          the snapshot read them */
};

/* What rst_opts.report is told about one entry. */
enum rst_event {
	RST_DAMAGED,      /* not restored: its data is damaged or missing */
	RST_FAILED,       /* not restored: another reason (the target...) */
	RST_WARNING,      /* restored without some of its metadata */
	RST_SKIPPED,      /* left out: a socket (class ERR_NONE), or a
	                     FIFO or device with no_devices (ERR_USAGE) */
	RST_INCONSISTENT, /* restored, but it changed while it was read */
};

struct rst_opts {
	/*
	 * Absolute paths as in the snapshot ("/etc/ssh"), normalised by
	 * rst_path_normalize: only these subtrees and their parent
	 * directories are restored.  None: everything.
	 */
	const char *const *includes;
	size_t nincludes;
	/*
	 * fnmatch(3) patterns (no flags: '*' matches '/' too) tried on each
	 * entry's absolute path and on its name; an excluded directory is
	 * left out with everything in it.
	 */
	const char *const *excludes;
	size_t nexcludes;
	/* FS_EXTRACT_* for fs_extract_open / fs_tar_open. */
	unsigned flags;
	/* Leave FIFOs and device nodes out (RST_SKIPPED each). */
	int no_devices;
	/*
	 * Told about every entry not restored as it was (path absolute as in
	 * the snapshot; e says why).  NULL: counted only.
	 */
	void (*report)(void *arg, enum rst_event, const char *path,
	    const struct err *e);
	void *report_arg;
	/* Stop with ERR_INTERRUPTED once *interrupted is set; NULL: never. */
	volatile sig_atomic_t *interrupted;
	/*
	 * Called between entries and between chunks, to keep a repository
	 * lock fresh; -1 stops the restore with its error.  NULL: nothing.
	 */
	int (*keepalive)(void *arg, struct err *e);
	void *keepalive_arg;
	/*
	 * Told about each regular file rst_to_dir and rst_to_tar restore,
	 * with the file data handed to the output, each byte once (in tar
	 * mode the first read, which only checks the chunks, is not shown):
	 *   file_begin  once the entry is started: path absolute as in the
	 *               snapshot, node its record; data 0 when no file_data
	 *               follows: node->size is 0, or it is a hard link to
	 *               a name restored earlier in this run (the same
	 *               node->dev and node->ino, data 1 at the time) and
	 *               its content is that name's;
	 *   file_data   n bytes at file offset off, after the output took
	 *               them; offsets only go up, and what no call covers
	 *               up to node->size is a hole (zeros, as a reader of
	 *               the restored file sees it);
	 *   file_end    after every file_begin, before the next entry: ok 1
	 *               when the file is restored (counted in st->files), 0
	 *               when it is not after all (reported, or the restore
	 *               stops), whatever file_data said.
	 * Called on the thread running the restore.  NULL file_begin: none
	 * of the three is called; the other two must then be set too.
	 */
	void (*file_begin)(void *arg, const char *path,
	    const struct fs_node *node, int data);
	void (*file_data)(void *arg, const uint8_t *p, size_t n, uint64_t off);
	void (*file_end)(void *arg, int ok);
	void *file_arg;
};

/*
 * A path as --include and --stdout take it, made canonical by the rule
 * ls uses too (tree_path_clean): absolute, single slashes, no trailing
 * slash, "." components dropped ("/" stays "/"); a relative path or a
 * ".." component is refused (ERR_USAGE).  *out is allocated.
 */
int rst_path_normalize(const char *path, char **out, struct err *);

/*
 * The node at path (normalised, not "/") in the tree rooted at root, found
 * by tree_find.  ERR_USAGE when nothing is there (or a component on the
 * way is not a directory), ERR_CORRUPT when a tree on the way is damaged
 * or missing.  out: fs_node_clear it.
 */
int rst_lookup(struct repo *, const uint8_t root[IDX_ID_LEN], const char *path,
    struct fs_node *out, struct err *);

/*
 * The source of m called name (restore/select.c): *srcp is its record in
 * m and root the tree of its subtree ("/NAME" in the snapshot).  ERR_USAGE
 * when m has no such source (the message lists those it has) or none at
 * all (a snapshot of paths); ERR_IO when the source failed in that
 * snapshot (its recorded error, on one line, and the way out); the error
 * of rst_lookup, after "source NAME: ", when its subtree cannot be found;
 * ERR_CORRUPT when it is not a directory or is empty.  *srcp is NULL and
 * root untouched on failure.
 */
int rst_pick_source(struct repo *, const struct manifest *m, const char *name,
    const struct manifest_source **srcp, uint8_t root[IDX_ID_LEN],
    struct err *);

/*
 * Make incs[0 .. n - 1] (normalised --include paths, each allocated)
 * relative to src's subtree: "/NAME/etc" becomes "/etc", "/NAME" becomes
 * "/"; each replaced string is freed.  ERR_USAGE naming the first path
 * that is not under src->path (the paths before it are already changed).
 */
int rst_reroot_includes(const struct manifest_source *src, char **incs,
    size_t n, struct err *);

/*
 * What of snapshot m a restore writes, chosen the one way coffer restore
 * and drills both use (restore/select.c):
 *   source   a source's name (rst_pick_source), or NULL: the whole
 *            snapshot;
 *   incs     n normalised --include paths as in the snapshot; with a
 *            source they are made relative to its subtree in place
 *            (rst_reroot_includes); each must name something
 *            (rst_lookup), so that "not in the snapshot" is said before
 *            anything is written;
 *   file     one file's normalised path (--stdout PATH), or NULL;
 *   dump     with a source: the file is that source's dump file
 *            (ERR_USAGE when it has none), whose path is the
 *            snapshot's, so out->root is then the snapshot's root.
 * Fills out (rst_selection_clear it, also after a failure).
 */
struct rst_selection {
	uint8_t root[IDX_ID_LEN];          /* the tree to restore */
	const struct manifest_source *src; /* in m, or NULL */
	char *file;                        /* one file under root, or NULL */
};

int rst_select(struct repo *, const struct manifest *m, const char *source,
    char **incs, size_t n, const char *file, int dump,
    struct rst_selection *out, struct err *);
void rst_selection_clear(struct rst_selection *);

/*
 * Restore the tree rooted at root into the directory target (made if
 * missing; one that holds anything needs FS_EXTRACT_OVERWRITE in
 * o->flags, or ERR_USAGE).  Depth first, in name order.  Returns 0 when
 * the walk reached its end, whatever happened to single entries (st and
 * o->report say); -1 when it had to stop (the root tree is damaged, the
 * target is full, the repository went away, interrupted), e saying why
 * and st holding what was done until then.  st is zeroed first.
 */
int rst_to_dir(struct repo *, const uint8_t root[IDX_ID_LEN],
    const char *target, const struct rst_opts *o, struct rst_stats *st,
    struct err *);

/*
 * The same as a pax tar stream on fd (not closed).  Every chunk of a file
 * is read and authenticated before its header is written, so a damaged
 * file is left out, never truncated or padded.  A file of up to 8 MiB is
 * checked whole and written from that read; a larger one is read again,
 * one chunk in memory at a time, and checked whole as it is written.  When
 * that second read fails (bytes sealed under the key that are not the
 * ones named, or changed since the first), the stream itself fails (a
 * closed pipe: e->sys_errno EPIPE) or the walk must stop, the stream is
 * cut without a trailer.
 */
int rst_to_tar(struct repo *, const uint8_t root[IDX_ID_LEN], int fd,
    const struct rst_opts *o, struct rst_stats *st, struct err *);

/*
 * Write the bytes of the regular file at path (normalised) to fd: its
 * chunks are all read and authenticated first (as for rst_to_tar), so on
 * damage nothing is written (ERR_CORRUPT); holes are written as zeros.
 * A reader that went away is ERR_IO with sys_errno EPIPE.  Of o, only
 * interrupted and keepalive count.  st is zeroed first and counts the
 * one file.
 */
int rst_file_to_fd(struct repo *, const uint8_t root[IDX_ID_LEN],
    const char *path, int fd, const struct rst_opts *o, struct rst_stats *st,
    struct err *);

/*
 * The same in one pass, for a reader that can take a stream back (a
 * database client in a transaction): each chunk is authenticated just
 * before it is written, so on damage (ERR_CORRUPT) the bytes before it
 * have been written and the rest have not.  st->bytes counts what was
 * written.
 */
int rst_file_stream(struct repo *, const uint8_t root[IDX_ID_LEN],
    const char *path, int fd, const struct rst_opts *o, struct rst_stats *st,
    struct err *);

/*
 * The exit status a restore that ran to its end earned: EXIT_CORRUPT when
 * anything was damaged, else EXIT_PARTIAL when an entry failed or lost
 * metadata, else EXIT_OK.
 */
int rst_exit_status(const struct rst_stats *);

#endif
