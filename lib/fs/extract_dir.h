/*
 * The fast path of a directory restore (private to lib/fs/extract.c):
 * regular files, directories, symlinks and hard links written relative to
 * directory descriptors, a handful of syscalls per file, never following a
 * symlink on the way.  Everything else (nodes with xattrs, ACLs or file
 * flags, FIFOs and device nodes) goes through libarchive's
 * archive_write_disk in extract.c.
 *
 * Descriptors: the target's (borrowed), a stack of the current directory
 * chain (at most EXDIR_DEPTH levels, entering "a/b" reuses "a"'s), one
 * more for the current directory when it lies deeper, and the file being
 * written.  A directory is opened one component at a time with
 * O_DIRECTORY|O_NOFOLLOW from its parent's descriptor; a path of several
 * components (deep directories, a hard link's first name, the directory
 * fixups at the end) with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)
 * from the target where the kernel has it, else component by component.
 */
#ifndef COFFER_FS_EXTRACT_DIR_H
#define COFFER_FS_EXTRACT_DIR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fs/node.h"

/* Directory descriptors kept open, at most (fewer when RLIMIT_NOFILE / 4
 * is less). */
#define EXDIR_DEPTH 64

struct exdir;

/*
 * target_fd: the target (O_PATH is fine; borrowed, must outlive the
 * handle).  flags: FS_EXTRACT_*.  no_openat2: never try openat2 (tests of
 * the fallback).
 */
struct exdir *exdir_new(int target_fd, unsigned flags, int no_openat2);

/* 1 when n is restored here, 0 when it needs libarchive. */
int exdir_handles(const struct fs_node *n);

/*
 * Start node n named path (dir "/" n->name; dir "" is the target; both
 * checked by the caller).  first: for a hard link, the path of the name
 * already restored, else NULL.  1: wants data; 0: wants none (end it all
 * the same); -1: failed, nothing to end (ERR_CORRUPT when a symlink or a
 * non-directory is in the way).
 */
int exdir_begin(struct exdir *, const char *dir, const char *path,
    const struct fs_node *n, const char *first, struct err *e);

/* pwrite len bytes at offset (checked against the size by the caller). */
int exdir_write(struct exdir *, const void *data, size_t len, uint64_t offset,
    struct err *e);

/*
 * Finish the entry: size (holes), owner, mode, times.  0, FS_EXTRACT_WARN
 * (e says what was not applied) or -1.
 */
int exdir_end(struct exdir *, struct err *e);

/* Remove the current file's name and close it; 0 or -1. */
int exdir_discard(struct exdir *, struct err *e);

/*
 * Something other than this handle changed entries in dir (libarchive's
 * path): forget the descriptors below it.
 */
void exdir_forget(struct exdir *, const char *dir);

/*
 * Open the directory rel (relative to the target, "" is the target itself)
 * without following any symlink: a descriptor opened with oflags
 * (O_PATH or O_RDONLY) | O_DIRECTORY, or -1 with *missing set when a
 * component does not exist (e untouched), or -1 and e.
 */
int exdir_open_below(struct exdir *, const char *rel, int oflags, int *missing,
    struct err *e);

/*
 * Apply the directories' deferred owners, modes and times (children before
 * parents) and free the handle.  0, FS_EXTRACT_WARN or -1.  NULL is fine.
 */
int exdir_close(struct exdir *, struct err *e);

#endif
