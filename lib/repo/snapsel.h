/*
 * Choosing a snapshot: every readable snapshot of a repository in the order
 * coffer trusts (doc/FORMAT.md, "Snapshot order"), and a selector
 * ("latest", "oldest", "random", an id prefix, optionally "before TIME")
 * resolved against it.
 * restore, ls, diff and snapshots all choose through here.
 */
#ifndef COFFER_SNAPSEL_H
#define COFFER_SNAPSEL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "repo/manifest.h"
#include "repo/repo.h"

/* How far two clocks may disagree before a date counts as wrong: 1 hour. */
#define SNAPSEL_SKEW 3600

/* snapsel_item flags */
#define SNAPSEL_LATE   0x1 /* dated after its file reached the store */
#define SNAPSEL_FUTURE 0x2 /* still after now + SNAPSEL_SKEW once ordered */

/* One readable snapshot and where it sits in time. */
struct snapsel_item {
	struct manifest m;
	/*
	 * When the file reached the store (its modification time there, in
	 * seconds), INT64_MIN when unknown.
	 */
	int64_t stored;
	/*
	 * What it is ordered by: m.time, or stored when m.time is more than
	 * SNAPSEL_SKEW after stored (SNAPSEL_LATE).
	 */
	struct timespec order;
	unsigned flags;
};

/* A snapshot file that could not be read, and why. */
struct snapsel_bad {
	char id[REPO_HEX_LEN + 1];
	struct err err;
};

struct snapsel {
	struct snapsel_item *v; /* oldest first */
	size_t n;
	struct snapsel_bad *bad; /* unreadable files, left out of v */
	size_t nbad;
	time_t now; /* the clock the SNAPSEL_FUTURE flags were set by */
	size_t nlate, nfuture;
};

/*
 * Every snapshot of r, loaded and ordered, into *out (snapsel_free it):
 * now is this host's clock (time(NULL)).  A snapshot file that cannot be
 * read or decoded is listed in bad with its error, not in v; only a
 * failure to list or reach the store fails the whole call.
 */
int snapsel_list(struct repo *r, time_t now, struct snapsel **out,
    struct err *e);

/*
 * Set order and flags of s->v[0 .. s->n - 1] from their m.time and stored,
 * count them in nlate and nfuture, record now, and sort: by order, then
 * m.time, then stored, then id.  snapsel_list does this; exported for
 * tests and for callers that build a list by hand.
 */
void snapsel_order(struct snapsel *s, time_t now);

void snapsel_free(struct snapsel *s);

/*
 * The index in s->v of the snapshot sel names:
 *  - "latest": the last whose order is before before (when before is not
 *    NULL), else the last that is not SNAPSEL_FUTURE (a snapshot dated
 *    after this host's clock is never "latest"; name it by id);
 *  - "oldest": the first of those "latest" could name (drills);
 *  - "random": one of those drawn at random (arc4random), so that a
 *    drill tries every kept snapshot over time;
 *  - at least 4 hex digits: the one snapshot whose id starts with them
 *    (counted over all of v, so an ambiguous prefix stays an error), which
 *    must be before before when that is given.
 * ERR_USAGE with one line naming the problem and the way out otherwise.
 */
int snapsel_resolve(const struct snapsel *s, const char *sel,
    const struct timespec *before, size_t *index, struct err *e);

/*
 * Parse a --before TIME, relative to now: "YYYY-MM-DD" (midnight),
 * "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" (a space may stand for the
 * T), in UTC unless followed by "Z" or an offset "+HH:MM", "-HH:MM",
 * "+HHMM" or "+HH"; or an age, a number with a unit s, m, h, d or w
 * ("36h", "2d", "1w3d"), meaning that long before now.  ERR_USAGE naming
 * the forms otherwise.
 */
int snapsel_parse_time(const char *s, time_t now, struct timespec *out,
    struct err *e);

/*
 * Which snapshots to take from a list, by what their manifests say; a
 * snapshot matches when it passes every part that is given (n > 0):
 *  - hosts: its host is one of them;
 *  - paths: it has every one of them among its paths ("/etc/" and "/etc"
 *    are one path);
 *  - tags: for one of them, "a,b" say, it has every tag named (a and b).
 * Every part empty: every snapshot matches.  snapshots, and forget, the
 * scheduler and drills, select with this.
 */
struct snapsel_filter {
	const char *const *hosts;
	size_t nhosts;
	const char *const *paths;
	size_t npaths;
	const char *const *tags;
	size_t ntags;
	const char *const *jobs; /* taken by one of these [job]s */
	size_t njobs;
};

/* Does m pass f? */
int snapsel_match(const struct manifest *m, const struct snapsel_filter *f);

/*
 * The items of s that pass f, in s's order, into out (room for s->n
 * pointers); returns how many.
 */
size_t snapsel_filter(const struct snapsel *s, const struct snapsel_filter *f,
    struct snapsel_item **out);

/* "2026-11-27 10:00:03" in UTC. */
void snapsel_time_str(int64_t t, char *buf, size_t size);

#endif
