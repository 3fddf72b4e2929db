/*
 * Small helpers the unit tests share: scratch directories, whole-file
 * reads and writes, capturing what a file descriptor receives.  They abort
 * the test (ck_abort) on any failure of their own.
 */
#ifndef COFFER_TUTIL_H
#define COFFER_TUTIL_H

#include <sys/types.h>

#include <stddef.h>

/*
 * Unchecked fixtures (they run in the runner, around a whole TCase): make
 * and remove one scratch directory under $TMPDIR (or /tmp) that
 * tutil_mkdtemp uses, so a failed test leaves nothing behind.
 */
void tutil_scratch_setup(void);
void tutil_scratch_teardown(void);

/*
 * A new empty directory in the scratch directory (or $TMPDIR without the
 * fixture); free() the result.
 */
char *tutil_mkdtemp(void);

/* Remove dir and everything below it; NULL is fine. */
void tutil_rmtree(const char *dir);

/* "dir/name" in a fresh allocation. */
char *tutil_path(const char *dir, const char *name);

/* Create or truncate path with exactly this content and mode. */
void tutil_write_file(const char *path, const void *data, size_t len,
    mode_t mode);

/*
 * The whole content of path, NUL-terminated, length in *lenp if not NULL;
 * NULL if the file does not exist.  free() the result.
 */
char *tutil_read_file(const char *path, size_t *lenp);

/* Number of entries in dir whose name contains needle. */
int tutil_count_entries(const char *dir, const char *needle);

/* "dir/NAME" for the first entry whose NAME contains needle, or NULL. */
char *tutil_find_entry(const char *dir, const char *needle);

/*
 * Redirect fd (e.g. 2) into a fresh temporary file until tutil_capture_end,
 * which restores fd and returns what was written (NUL-terminated).
 */
struct tutil_capture;
struct tutil_capture *tutil_capture_begin(int fd);
char *tutil_capture_end(struct tutil_capture *);

/* Read everything from fd until EOF into a NUL-terminated string. */
char *tutil_read_all(int fd, size_t *lenp);

#endif
