/*
 * Prune: two-phase, time-based garbage collection (doc/FORMAT.md,
 * "Prune").  A prune first finishes earlier prunes whose records are
 * older than the margin by both clocks (phase 2: delete their candidates,
 * rescuing any pack a snapshot now present still needs), then plans its
 * own: packs no snapshot in snapshots/ needs are deletion candidates,
 * packs with too much unused data are repacked, a new index is written
 * that no longer names them, and a sealed record prune/<id> lists them
 * for the next prune (phase 1).  Writers read the same records
 * (repo_prune_guard_*) and never commit a snapshot naming a candidate.
 * Each file a prune removes on purpose (a forgotten snapshot, a pack, an
 * index file) first gets an empty tombstone gone/<its hash>, which
 * replicate, having no key, reads by name (doc/FORMAT.md, "Gone").
 */
#ifndef COFFER_PRUNE_H
#define COFFER_PRUNE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "repo/idx.h"
#include "repo/repo.h"

#define PRUNE_DIR                "prune"
#define PRUNE_GONE_DIR           "gone"
#define PRUNE_MARGIN_DEFAULT     3600 /* seconds: 1 h */
#define PRUNE_MARGIN_ENV         "COFFER_PRUNE_MARGIN"
#define PRUNE_CRASH_ENV          "COFFER_CRASH_AT"
#define PRUNE_MAX_UNUSED_DEFAULT 5.0 /* percent */

/*
 * The safety margin in seconds: PRUNE_MARGIN_DEFAULT, or the duration in
 * the environment variable COFFER_PRUNE_MARGIN (value_parse_duration;
 * for tests: prune and every writer must see the same value).
 * ERR_USAGE for a value that does not parse.
 */
int prune_margin(uint64_t *seconds, struct err *);

/*
 * The deletion candidates (pack ids) of every record in prune/, sorted
 * and without repeats, into *ids (free()).  A record that does not open
 * or decode is left out, as phase 2 leaves it alone.  For the writers'
 * guard.
 */
int prune_candidates(struct repo *, uint8_t (**ids)[IDX_ID_LEN], size_t *n,
    struct err *);

/*
 * A crash point for tests: when the environment has COFFER_CRASH_AT set
 * to "prune:" name, the process ends at once with _exit(137), as kill -9
 * would end it.
 */
void prune_crash_point(const char *name);

enum prune_action {
	PRUNE_KEEP = 0, /* stays as it is */
	PRUNE_DELETE,   /* nothing in it is used (or unindexed and old):
	                   a deletion candidate */
	PRUNE_REPACK,   /* its used blobs are copied, then a candidate */
	PRUNE_YOUNG,    /* in no index and younger than the margin (a
	                   running or crashed writer's): left alone */
	PRUNE_MARKED,   /* a candidate of an earlier prune's record, whose
	                   margin has not passed: left to that record */
};

/* One pack file present in data/. */
struct prune_pack {
	uint8_t id[IDX_ID_LEN];
	uint64_t size;   /* bytes on the store */
	int64_t mtime;   /* the store's time of the file, INT64_MIN unknown */
	int indexed;     /* the index names blobs in it */
	uint64_t used;   /* sealed bytes of blobs a snapshot needs */
	uint64_t unused; /* sealed bytes of the others */
	uint64_t blobs_used, blobs_unused;
	enum prune_action action;
};

/* What phase 1 decides with. */
struct prune_params {
	double max_unused;   /* percent: repack above this unused share */
	uint64_t max_repack; /* bytes of used blobs repacked at most */
	uint64_t margin;     /* seconds */
	int64_t client_now;  /* this host's clock */
	int64_t store_now;   /* the store's clock; INT64_MIN unknown */
};

/* Sums over a plan's packs, per action. */
struct prune_totals {
	uint64_t packs[PRUNE_MARKED + 1];
	uint64_t bytes[PRUNE_MARKED + 1];  /* pack file sizes */
	uint64_t blobs_used, blobs_unused; /* over indexed, present packs */
	uint64_t bytes_used, bytes_unused; /* sealed bytes, the same */
	uint64_t repack_copy;              /* used bytes repacking copies */
};

/*
 * Phase 1's decision, without any I/O: given the index, the sorted ids
 * of every blob a snapshot needs (ref, nref) and the packs present
 * (sorted by id; action PRUNE_MARKED for the candidates of records still
 * within their margin, PRUNE_KEEP otherwise), fill each pack's indexed,
 * used, unused and action, and the totals.  A needed blob counts in the
 * first pack, in index order, that holds it and is present and not
 * marked.  Fully unused indexed packs are deleted; packs whose unused
 * share passes max_unused are repacked, those with the most unused bytes
 * first, while the bytes copied stay within max_repack; packs in no index
 * are deleted once older than the margin by both clocks (client_now and
 * store_now against their mtime), else young.  ERR_CORRUPT when a needed
 * blob is in no present pack (*missing gets its id): nothing may go then.
 */
int prune_plan_packs(const struct idx *, const uint8_t (*ref)[IDX_ID_LEN],
    size_t nref, struct prune_pack *packs, size_t npacks,
    const struct prune_params *, struct prune_totals *,
    uint8_t missing[IDX_ID_LEN], struct err *);

struct prune_result;

struct prune_opts {
	double max_unused;   /* percent; PRUNE_MAX_UNUSED_DEFAULT */
	uint64_t max_repack; /* bytes; UINT64_MAX: no limit */
	int dry_run;         /* plan only: change nothing */
	volatile sig_atomic_t *interrupted; /* stop with ERR_INTERRUPTED */
	/* Told one line for what is worth a warning; NULL: say nothing. */
	void (*note)(void *arg, const char *msg);
	/*
	 * Called once the whole plan is made (the result's sets and
	 * fingerprint filled), before anything changes, on a dry run too;
	 * returning -1 (with e filled) ends the run there, nothing changed.
	 * NULL: go ahead.  For `prune --apply`.
	 */
	int (*approve)(void *arg, const struct prune_result *, struct err *e);
	void *arg; /* for note and approve */
};

/* Names are 64 hex digits (packs) or "dir/<64 hex>" (files). */
struct prune_names {
	char **v;
	size_t n;
};

/* What a prune planned and (unless a dry run) did. */
struct prune_result {
	uint64_t margin;
	/* Phase 2: earlier records. */
	struct prune_names records_due;     /* older than the margin */
	struct prune_names records_waiting; /* not yet */
	struct prune_names due_packs;       /* deleted (to be, dry run) */
	struct prune_names due_index;       /* the same, index files */
	struct prune_names rescued;         /* packs a snapshot needs again */
	uint64_t due_bytes;                 /* size of due_packs */
	/* Phase 1: this prune's plan. */
	struct prune_pack *packs; /* every pack present, sorted by id */
	size_t npacks;
	struct prune_totals t;
	struct prune_names index_replaced; /* old index files: candidates */
	struct prune_names forgotten;      /* forgotten/ manifests removed */
	uint64_t snapshots, trees, blobs_needed;
	/*
	 * What the plan rests on (64 hex digits): a hash of the repository
	 * id, the margin and the names of the snapshots, index files,
	 * records and forgotten manifests it read.
	 */
	char fingerprint[REPO_HEX_LEN + 1];
	/* Done (not a dry run). */
	int done;
	char record[REPO_HEX_LEN + 1]; /* prune/<record>; "" none */
	uint64_t repacked_blobs, repack_written;
	uint64_t index_written;
};

/*
 * Run a prune on r, which holds the exclusive lock: phase 2 for the
 * records older than the margin, then phase 1 (above; order in FORMAT.md,
 * so that a crash at any point leaves a valid repository and the next
 * prune finishes the job).  Refuses (ERR_CORRUPT) while a snapshot, a
 * tree or an index file cannot be read, or a needed blob is missing:
 * `coffer check` first.  On success and on failure after planning, *out
 * (prune_result_free) holds what was planned and done.
 */
int prune_run(struct repo *, const struct prune_opts *,
    struct prune_result **out, struct err *);

void prune_result_free(struct prune_result *);

/* "keep", "delete", "repack", "young", "marked". */
const char *prune_action_name(enum prune_action);

#endif
