/*
 * The retention policy: which snapshots a keep policy keeps and why
 * (coffer-forget(1), "KEEP RULES").  Pure: no I/O, no clock; calendar
 * buckets follow the process's time zone (TZ), read with localtime_r.
 * coffer forget feeds it the listing of repo/snapsel.h, in that order.
 */
#ifndef COFFER_RETENTION_H
#define COFFER_RETENTION_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

struct config_section;
struct manifest;

/* One snapshot as the policy sees it.  Strings are not copied. */
struct retention_snap {
	const char *id;
	/* Its place in time: snapsel_item.order (the one snapshot order). */
	struct timespec time;
	const char *host;
	char *const *paths;
	size_t npaths;
	char *const *sources; /* source names; none for plain paths */
	size_t nsources;
	char *const *tags;
	size_t ntags;
	/*
	 * Complete: no source failed and no entry was skipped
	 * (retention_complete).  Incomplete snapshots count toward no rule.
	 */
	int complete;
	/* Dated after this host's clock (SNAPSEL_FUTURE): judged by no rule,
	 * always kept. */
	int future;
};

/* A keep policy.  Zero / NULL members are rules not given. */
struct retention_policy {
	uint64_t last;     /* the N newest */
	uint64_t hourly;   /* the newest of each of the N newest hours ... */
	uint64_t daily;    /* ... days */
	uint64_t weekly;   /* ... ISO 8601 weeks (Monday to Sunday) */
	uint64_t monthly;  /* ... months */
	uint64_t yearly;   /* ... years */
	uint64_t within;   /* seconds: every snapshot at most this much older
	                      than the newest of its group */
	char *const *tags; /* every snapshot that has one of these tags */
	size_t ntags;
};

/* Why a snapshot is kept: bits of retention_result.reasons. */
#define RETENTION_LAST    0x001u
#define RETENTION_HOURLY  0x002u
#define RETENTION_DAILY   0x004u
#define RETENTION_WEEKLY  0x008u
#define RETENTION_MONTHLY 0x010u
#define RETENTION_YEARLY  0x020u
#define RETENTION_WITHIN  0x040u
#define RETENTION_TAG     0x080u
#define RETENTION_NEWEST  0x100u /* the newest complete one of its group */
#define RETENTION_PENDING                                                      \
	0x200u                   /* incomplete, and newer than the newest      \
	                            complete one of its group (or the          \
	                            group has no complete one) */
#define RETENTION_FUTURE  0x400u /* dated after this host's clock */
#define RETENTION_REASONS 11     /* bits above */

/* Group-by fields (bits); RETENTION_GROUP_DEFAULT is host,paths. */
#define RETENTION_GROUP_HOST    0x1u
#define RETENTION_GROUP_PATHS   0x2u
#define RETENTION_GROUP_SOURCES 0x4u
#define RETENTION_GROUP_TAGS    0x8u
#define RETENTION_GROUP_DEFAULT (RETENTION_GROUP_HOST | RETENTION_GROUP_PATHS)

/* The verdict on one snapshot. */
struct retention_result {
	size_t group;     /* 0 .. ngroups - 1, by each group's oldest member */
	unsigned reasons; /* RETENTION_* bits; 0: remove */
};

/*
 * Apply policy p to the n snapshots v, which are in snapshot order
 * (oldest first, as snapsel_order sorts; equal times are told apart by
 * that order), grouped by the fields in group_by (two snapshots are in one
 * group when those fields are equal; paths, sources and tags compare as
 * sets).  res[i] gets the verdict on v[i]; *ngroups the number of groups.
 * Within a group, newest first:
 *  - last N: the N newest complete snapshots;
 *  - hourly/daily/weekly/monthly/yearly N: the newest complete snapshot of
 *    each of the N newest hours (days, ...) that have a complete snapshot,
 *    in local time (the repeated hour when DST ends is two hours);
 *  - within D: every snapshot whose time is at most D before the group's
 *    newest (not the clock: a skewed clock cannot empty a group);
 *  - tags: every snapshot with one of the tags;
 *  - the newest complete snapshot, whatever the policy (RETENTION_NEWEST);
 *  - incomplete ones newer than it (RETENTION_PENDING);
 *  - future-dated ones (RETENTION_FUTURE), which take part in nothing else.
 * ERR_USAGE, one line, for a policy with no rule at all.
 */
int retention_apply(const struct retention_snap *v, size_t n,
    const struct retention_policy *p, unsigned group_by,
    struct retention_result *res, size_t *ngroups, struct err *e);

/* True if policy p has at least one rule. */
int retention_policy_set(const struct retention_policy *p);

/*
 * Is snapshot m complete: no source has a status other than "ok" and no
 * entry was skipped.  Files that changed while read (inconsistent) are in
 * the snapshot as read and do not make it incomplete.
 */
int retention_complete(const struct manifest *m);

/*
 * Parse a --group-by list: host, paths, sources, tags, separated by
 * commas; "" (or "none") puts every snapshot in one group.  ERR_USAGE
 * naming the fields otherwise.
 */
int retention_parse_group_by(const char *s, unsigned *out, struct err *e);

/* The name of one RETENTION_* reason bit ("daily"), for output. */
const char *retention_reason_name(unsigned bit);

/*
 * The policy of a [job NAME] section into p: each of last, hourly, daily,
 * weekly, monthly and yearly whose keep_* key the job sets above 0 is set
 * from it; the other members of p are left as they are.
 */
void retention_policy_from_job(const struct config_section *job,
    struct retention_policy *p);

#endif
