/*
 * Verifying a repository (coffer check): that its files are all there,
 * parse and authenticate, that every snapshot's trees load and name only
 * indexed blobs of the right type, and optionally that every byte of the
 * packs (or a subset) is what its name and its header say.  The result is
 * a list of problems, each naming the file, what is wrong and what to do,
 * and figures; the scheduler runs it as a job step as well as the CLI.
 */
#ifndef COFFER_REPO_CHECK_H
#define COFFER_REPO_CHECK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "progress.h"
#include "repo/repo.h"

enum check_severity {
	CHECK_WARN = 1,  /* worth knowing, nothing is lost (unindexed pack) */
	CHECK_ERROR = 2, /* damage, or a file that could not be checked */
};

struct check_problem {
	enum check_severity severity;
	/* ERR_CORRUPT: damage (missing, malformed or failing files);
	 * ERR_IO (or ERR_NET...): a file could not be read to check it. */
	enum err_class class;
	char *file; /* the repository file: "data/ab/...", "index/...",
	               "keys/...", "snapshots/...", "log/..."; never NULL */
	char *what; /* what is wrong, one line, no plaintext of any blob */
	char *fix;  /* what to do about it, one line */
};

/* Which packs --read-data reads. */
enum check_data {
	CHECK_DATA_NONE = 0, /* structure only */
	CHECK_DATA_ALL,      /* every pack */
	CHECK_DATA_PERCENT,  /* a random percent of the packs */
	CHECK_DATA_SLICE,    /* slice K of N, by pack id (stable) */
};

struct check_opts {
	enum check_data data;
	double percent;         /* CHECK_DATA_PERCENT: more than 0, <= 100 */
	uint32_t slice, slices; /* CHECK_DATA_SLICE: 1 <= slice <= slices */
	/* Told each problem when it is found (it is also in the report);
	 * NULL for none. */
	void (*on_problem)(void *arg, const struct check_problem *);
	void *arg;
	/*
	 * Called between packs and every few hundred trees: the place to
	 * refresh a lock.  Returning -1 (with e filled) stops the check,
	 * which then fails with that error.  NULL for none.
	 */
	int (*tick)(void *arg, struct err *e);
	struct progress *progress; /* bytes of packs read; NULL for none */
	volatile sig_atomic_t *interrupted; /* stop with ERR_INTERRUPTED */
};

struct check_stats {
	uint64_t key_files, key_files_damaged;
	uint64_t index_files, index_files_damaged;
	uint64_t index_files_misnamed; /* used, but renamed */
	uint64_t blobs_indexed;        /* distinct ids */
	uint64_t blobs_duplicate;      /* further copies in other packs */
	uint64_t packs_gaps;           /* indexed packs with unindexed blobs */
	uint64_t packs;                /* pack files present */
	uint64_t packs_indexed;        /* pack ids the index names */
	uint64_t packs_missing;        /* named by the index, absent */
	uint64_t packs_short;          /* shorter than the index needs */
	uint64_t packs_unindexed;      /* present, named by no index file */
	uint64_t snapshots, snapshots_damaged; /* unreadable or incomplete */
	uint64_t snapshots_forgotten; /* in forgotten/ (coffer forget) */
	uint64_t log_records;         /* in log/ (repo/oplog.h) */
	uint64_t log_records_damaged; /* that do not open or decode */
	uint64_t trees;               /* distinct trees loaded */
	uint64_t data_refs;           /* data blob references checked */
	uint64_t packs_read;          /* --read-data: packs read whole */
	uint64_t pack_bytes_read;
	uint64_t blobs_read;    /* blobs opened and verified */
	uint64_t packs_damaged; /* found damaged by reading */
	uint64_t errors, warnings;
};

struct check_report {
	struct check_problem *problems; /* in the order found */
	size_t nproblems;
	struct check_stats stats;
};

/*
 * Check the repository r, which should have been opened with
 * REPO_OPEN_SKIP_BAD_INDEX so that damaged index files are reported
 * rather than fatal.  Runs to the end whatever it finds: problems go to
 * the report (and to opts->on_problem as they are found), not to e.
 * Memory stays bounded by the index, the distinct tree ids, and one pack
 * window (4 MiB) plus one blob.  Returns -1 only when the check could not
 * go on: interrupted, a failing tick, the store cannot be listed.  On
 * success *out (check_report_free) holds the report.
 */
int check_run(struct repo *r, const struct check_opts *opts,
    struct check_report **out, struct err *e);

void check_report_free(struct check_report *); /* NULL is fine */

/*
 * The exit status for a report: EXIT_OK without errors (warnings are
 * fine), EXIT_CORRUPT when any error is damage, else the status of the
 * first error's class (a file that could not be read).
 */
int check_report_exit_status(const struct check_report *);

/*
 * Parse a --read-data-subset value into opts: "N%" (N a decimal number,
 * more than 0 and at most 100) or "K/N" (1 <= K <= N <= 1000000).
 * ERR_USAGE saying what is accepted.
 */
int check_parse_subset(const char *arg, struct check_opts *opts, struct err *e);

/* "warning" or "error". */
const char *check_severity_name(enum check_severity);

#endif
