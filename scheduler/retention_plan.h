/*
 * A forget, planned and carried out: the listing of a repository judged
 * by a keep policy (retention.h) or by the snapshots named, then the
 * removed ones moved aside (repo/forget.h).  coffer forget and, later,
 * the scheduler's jobs both call this; they only print and ask.
 */
#ifndef COFFER_RETENTION_PLAN_H
#define COFFER_RETENTION_PLAN_H

#include <signal.h>
#include <stddef.h>

#include "err.h"
#include "repo/snapsel.h"
#include "scheduler/retention.h"
#include "store/store.h"

struct retention_plan {
	struct snapsel *list;         /* every snapshot, in snapshot order */
	struct retention_snap *v;     /* the policy's view of list->v[i] */
	struct retention_result *res; /* verdicts; reasons 0: remove */
	char ***sources;              /* source names of list->v[i] */
	size_t ngroups;               /* 0 when named */
	unsigned group_by;            /* RETENTION_GROUP_* */
	int named;                    /* SNAPSHOT... rather than a policy */
	size_t nremove;
	const char **moved; /* ids retention_plan_apply moved, in order */
	size_t nmoved;
};

/*
 * Judge list (taken over, freed with the plan, even on failure) into
 * *out: by policy pol grouped by group_by when nnamed is 0, else every
 * snapshot is kept but the nnamed ones named (ids or prefixes, resolved
 * by snapsel_resolve; an unknown or ambiguous one fails the plan with
 * ERR_USAGE).  ERR_USAGE for an empty policy (retention_apply).
 */
int retention_plan_new(struct snapsel *list, const struct retention_policy *pol,
    unsigned group_by, char *const *named, size_t nnamed,
    struct retention_plan **out, struct err *e);

/*
 * What retention_plan_apply has to say that is not an error: warn 0 for
 * information, 1 for a warning.  msg is one line.
 */
typedef void (*retention_note_fn)(void *arg, int warn, const char *msg);

/*
 * Carry out plan p on store st: first (policy plans only) drop the
 * forgotten/ copy of every kept snapshot that also has one (left by a
 * forget or undo cut between its two steps; a failure there is a
 * warning), then move the snapshots to remove aside with
 * forget_snapshots (every copy, one sync, every removal), recording them
 * in p->moved in order.  Stops at the first failure (the ones moved stay
 * moved: each move is whole), or with ERR_INTERRUPTED when *interrupted
 * (may be NULL) is set between two copies.
 */
int retention_plan_apply(struct retention_plan *p, struct stor *st,
    const volatile sig_atomic_t *interrupted, retention_note_fn note, void *arg,
    struct err *e);

void retention_plan_free(struct retention_plan *p);

#endif
