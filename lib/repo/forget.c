/*
 * Moving a snapshot's manifest aside and back.  The file is named by the
 * SHA-256 of its bytes, so the copy keeps a valid name in its new place,
 * and the bytes are checked against that name before anything moves.
 */
#include "repo/forget.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "repo/repo.h"
#include "xmalloc.h"

static int
is_id(const char *s)
{
	return (strlen(s) == REPO_HEX_LEN &&
	    strspn(s, "0123456789abcdef") == REPO_HEX_LEN);
}

int
forget_probe(struct stor *st, struct err *e)
{
	char name[16 + REPO_HEX_LEN];
	int eno;

	snprintf(name, sizeof(name), "snapshots/%0*d", REPO_HEX_LEN, 0);
	if (stor_remove(st, name, e) == 0)
		return (0);
	if (e->sys_errno != EACCES && e->sys_errno != EPERM &&
	    e->sys_errno != ENOTSUP && e->sys_errno != EROFS)
		return (-1);
	eno = e->sys_errno;
	err_set(e, e->class,
	    "%s refuses to remove files (an append-only copy?): nothing was "
	    "changed; forget and prune an off-site copy with a privileged "
	    "key or on its host (doc/OFFSITE.md)",
	    stor_location(st));
	e->sys_errno = eno;
	return (-1);
}

/* Do the bytes match the content name id? */
static int
named_by(const uint8_t *p, size_t n, const char *id)
{
	uint8_t h[CRYPTO_HASH_LEN];
	char hex[REPO_HEX_LEN + 1];

	crypto_sha256(p, n, h);
	crypto_hex_encode(h, sizeof(h), hex);
	return (strcmp(hex, id) == 0);
}

/* Is the file name there and named by its bytes?  1 yes, 0 no, -1 error. */
static int
intact(struct stor *st, const char *name, const char *id, struct err *e)
{
	uint8_t *p = NULL;
	size_t n;
	int rc;

	if (stor_get(st, name, REPO_FILE_MAX, &p, &n, e) == -1)
		return (-1);
	rc = named_by(p, n, id);
	free(p);
	return (rc);
}

/*
 * The first half of a move from/id to to/id: check from/id against its
 * name and publish it as to/id (put flags: STOR_LATER or 0).  1 when
 * from/id is there and to/id now holds the same bytes, 0 when from/id is
 * gone and to/id is there (moved before).  A to/id that does not match
 * its name is what a crash leaves of a STOR_LATER copy before its sync:
 * with from/id whole, it is replaced.
 */
static int
copy(struct stor *st, const char *from, const char *to, const char *id,
    int flags, struct err *e)
{
	char *src = NULL, *dst = NULL;
	uint8_t *p = NULL;
	size_t n;
	uint64_t size;
	int rc = -1, r;

	if (!is_id(id))
		return (err_set(e, ERR_USAGE,
		    "'%s' is not a snapshot id (64 hex digits)", id));
	src = xasprintf("%s/%s", from, id);
	dst = xasprintf("%s/%s", to, id);
	if (stor_get(st, src, REPO_FILE_MAX, &p, &n, e) == -1) {
		if (e->sys_errno != ENOENT)
			goto out;
		/* Moved already, by us or by a run before? */
		if ((r = stor_stat(st, dst, &size, e)) == -1)
			goto out;
		if (r == 1) {
			err_set(e, ERR_USAGE, "no snapshot %.8s in %s/ or %s/",
			    id, from, to);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (!named_by(p, n, id)) {
		err_set(e, ERR_CORRUPT,
		    "%s: content does not match its name; not moved (run "
		    "'coffer check')",
		    src);
		goto out;
	}
	for (int tries = 0;; tries++) {
		if (stor_put(st, dst, p, n, STOR_NOREPLACE | flags, e) == 0)
			break;
		if (e->class == ERR_NOSPACE) {
			err_wrap(e,
			    "nothing was moved: a forget needs about %zu KiB "
			    "free for a copy of the manifest",
			    (n + 4095) / 4096 * 4);
			goto out;
		}
		if (e->sys_errno != EEXIST)
			goto out;
		/* A run cut after its copy: the copy must be whole. */
		if ((r = intact(st, dst, id, e)) == -1)
			goto out;
		if (r == 1)
			break;
		if (tries > 0) {
			err_set(e, ERR_CORRUPT,
			    "%s: content does not match its name; %s was left "
			    "in place (remove the damaged %s and run again)",
			    dst, src, dst);
			goto out;
		}
		if (stor_remove(st, dst, e) == -1)
			goto out;
	}
	rc = 1;
out:
	free(src);
	free(dst);
	free(p);
	return (rc);
}

/* The second half: from/id goes, its copy being durable. */
static int
drop(struct stor *st, const char *from, const char *id, struct err *e)
{
	char *src = xasprintf("%s/%s", from, id);
	int rc = stor_remove(st, src, e);

	free(src);
	return (rc);
}

/* Move from/id to to/id: copy, then remove. */
static int
move(struct stor *st, const char *from, const char *to, const char *id,
    int *moved, struct err *e)
{
	int r;

	*moved = 0;
	if ((r = copy(st, from, to, id, 0, e)) <= 0)
		return (r);
	if (drop(st, from, id, e) == -1)
		return (-1);
	*moved = 1;
	return (0);
}

int
forget_snapshot(struct stor *st, const char *id, int *moved, struct err *e)
{
	return (move(st, "snapshots", FORGET_DIR, id, moved, e));
}

int
forget_undo(struct stor *st, const char *id, int *moved, struct err *e)
{
	return (move(st, FORGET_DIR, "snapshots", id, moved, e));
}

int
forget_snapshots(struct stor *st, char *const *ids, size_t n,
    const volatile sig_atomic_t *interrupted, size_t *moved, struct err *e)
{
	uint8_t *copied = xcalloc(n + 1, 1);
	size_t ncopied = 0, done = 0;
	struct err le;
	int rc = -1, r;

	*moved = 0;
	err_clear(&le);
	for (; done < n; done++) {
		if (interrupted != NULL && *interrupted) {
			err_set(&le, ERR_INTERRUPTED,
			    "interrupted: %zu of %zu snapshots forgotten", done,
			    n);
			break;
		}
		if ((r = copy(st, "snapshots", FORGET_DIR, ids[done],
		         STOR_LATER, &le)) == -1) {
			err_wrap(&le,
			    "forget %.8s (%zu of %zu forgotten before it)",
			    ids[done], done, n);
			break;
		}
		copied[done] = (uint8_t)r;
		ncopied += (size_t)r;
	}
	/* The copies made are kept and finished, even after a failure. */
	if (ncopied > 0 && stor_sync(st, e) == -1)
		goto out;
	for (size_t i = 0; i < done; i++) {
		if (copied[i] && drop(st, "snapshots", ids[i], e) == -1)
			goto out;
		(*moved)++;
	}
	if (done < n) {
		*e = le;
		goto out;
	}
	rc = 0;
out:
	free(copied);
	return (rc);
}

struct ids {
	char **v;
	size_t n;
};

static int
add_id(void *arg, const char *name, uint64_t size)
{
	struct ids *l = arg;
	const char *base = name + strlen(FORGET_DIR "/");

	(void)size;
	if (!is_id(base))
		return (0);
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(base);
	return (0);
}

static int
by_str(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

int
forget_list(struct stor *st, char ***ids, size_t *n, struct err *e)
{
	struct ids l = { NULL, 0 };

	*ids = NULL;
	*n = 0;
	if (stor_list(st, FORGET_DIR, add_id, &l, e) != 0) {
		forget_ids_free(l.v, l.n);
		return (-1);
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), by_str);
	*ids = l.v;
	*n = l.n;
	return (0);
}

void
forget_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int
forget_resolve(char *const *ids, size_t n, const char *prefix, size_t *index,
    struct err *e)
{
	size_t len = strlen(prefix), found = 0, at = 0;

	if (len < 4 || len > REPO_HEX_LEN ||
	    strspn(prefix, "0123456789abcdef") != len)
		return (err_set(e, ERR_USAGE,
		    "'%s' is not a snapshot id: give at least 4 hex digits of "
		    "a forgotten snapshot's id",
		    prefix));
	for (size_t i = 0; i < n; i++)
		if (strncmp(ids[i], prefix, len) == 0) {
			found++;
			at = i;
		}
	if (found == 0)
		return (err_set(e, ERR_USAGE,
		    "no forgotten snapshot %s (a pruned one cannot come back)",
		    prefix));
	if (found > 1)
		return (err_set(e, ERR_USAGE,
		    "%s matches %zu forgotten snapshots; give more digits",
		    prefix, found));
	*index = at;
	return (0);
}
