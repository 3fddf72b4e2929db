/*
 * Forgetting a snapshot: its manifest moves from snapshots/ to forgotten/,
 * where no listing of snapshots (repo/snapsel.h) sees it, and back again
 * with an undo.  Nothing else changes: its data stays until prune.  There
 * is no rename in store.h (an S3 store would have none): a move is a copy
 * under the same content name, then the removal of the old name.
 * doc/FORMAT.md, "Forgotten snapshots".
 */
#ifndef COFFER_FORGET_H
#define COFFER_FORGET_H

#include <signal.h>
#include <stddef.h>

#include "err.h"
#include "store/store.h"

#define FORGET_DIR "forgotten"

/*
 * Does the store let files be removed?  Asks it to remove a name no file
 * ever has (snapshots/ and 64 zeros): a missing file is no error, so only
 * a store that refuses removals as such fails, with one line pointing at
 * doc/OFFSITE.md (the class and errno of the refusal: ERR_IO, EACCES for
 * the append-only off-site recipe).  A network failure fails as it is.
 * Call it before moving anything.
 */
int forget_probe(struct stor *st, struct err *e);

/*
 * Move snapshots/ID to forgotten/ID (id: 64 hex digits): read the sealed
 * bytes, check them against the name (ERR_CORRUPT otherwise: not moved),
 * publish them as forgotten/ID (never replacing a name), then remove
 * snapshots/ID.  A move cut between its steps left both names, which is
 * harmless (the snapshot is still listed); calling this again finishes it,
 * and so does forget_undo the other way.  *moved is 1 when this call
 * removed snapshots/ID, 0 when it was already gone and forgotten/ID is
 * there.  ERR_USAGE when neither name exists.
 */
int forget_snapshot(struct stor *st, const char *id, int *moved, struct err *e);

/*
 * forget_snapshot for each of ids[0..n), in order, with one sync for all
 * (STOR_LATER, stor_sync) instead of two per snapshot: every copy first,
 * then the sync, then every removal.  Stops at the first failure, or with
 * ERR_INTERRUPTED when *interrupted (may be NULL) is set between two
 * copies; the snapshots copied before it are still synced and removed.
 * *moved: how many ids, from the first, are in forgotten/ now.
 */
int forget_snapshots(struct stor *st, char *const *ids, size_t n,
    const volatile sig_atomic_t *interrupted, size_t *moved, struct err *e);

/* forget_snapshot the other way: forgotten/ID back to snapshots/ID. */
int forget_undo(struct stor *st, const char *id, int *moved, struct err *e);

/*
 * The ids (64 hex digits) in forgotten/, sorted, into *ids (n of them;
 * forget_ids_free).  Other names there are left out.
 */
int forget_list(struct stor *st, char ***ids, size_t *n, struct err *e);
void forget_ids_free(char **ids, size_t n);

/*
 * The one id of ids[0 .. n-1] that starts with prefix (at least 4 hex
 * digits) into *index; ERR_USAGE naming the problem otherwise.
 */
int forget_resolve(char *const *ids, size_t n, const char *prefix,
    size_t *index, struct err *e);

#endif
