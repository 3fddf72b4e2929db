/*
 * A forget, planned and carried out (retention_plan.h): the policy's
 * view of a snapshot listing, named snapshots, and the moves aside.
 */
#include "scheduler/retention_plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "repo/forget.h"
#include "xmalloc.h"

/* The policy's view of each listed snapshot (strings not copied). */
static void
view(struct retention_plan *p)
{
	size_t n = p->list->n;

	p->v = xcalloc(n + 1, sizeof(*p->v));
	p->res = xcalloc(n + 1, sizeof(*p->res));
	p->sources = xcalloc(n + 1, sizeof(*p->sources));
	for (size_t i = 0; i < n; i++) {
		const struct snapsel_item *it = &p->list->v[i];
		struct retention_snap *s = &p->v[i];

		p->sources[i] = xcalloc(it->m.nsources + 1, sizeof(char *));
		for (size_t j = 0; j < it->m.nsources; j++)
			p->sources[i][j] = it->m.sources[j].name;
		s->id = it->m.id;
		s->time = it->order;
		s->host = it->m.host;
		s->paths = it->m.paths;
		s->npaths = it->m.npaths;
		s->sources = p->sources[i];
		s->nsources = it->m.nsources;
		s->tags = it->m.tags;
		s->ntags = it->m.ntags;
		s->complete = retention_complete(&it->m);
		s->future = (it->flags & SNAPSEL_FUTURE) != 0;
	}
}

int
retention_plan_new(struct snapsel *list, const struct retention_policy *pol,
    unsigned group_by, char *const *named, size_t nnamed,
    struct retention_plan **out, struct err *e)
{
	struct retention_plan *p = xcalloc(1, sizeof(*p));
	size_t at;
	int rc = -1;

	*out = NULL;
	p->list = list;
	p->group_by = group_by;
	p->named = nnamed > 0;
	view(p);
	if (p->named) {
		for (size_t i = 0; i < list->n; i++)
			p->res[i].reasons = 1; /* kept unless named */
		for (size_t i = 0; i < nnamed; i++) {
			if (snapsel_resolve(list, named[i], NULL, &at, e) == -1)
				goto out;
			p->res[at].reasons = 0;
		}
	} else if (retention_apply(p->v, list->n, pol, group_by, p->res,
	               &p->ngroups, e) == -1)
		goto out;
	for (size_t i = 0; i < list->n; i++)
		p->nremove += p->res[i].reasons == 0;
	*out = p;
	p = NULL;
	rc = 0;
out:
	retention_plan_free(p);
	return (rc);
}

static void note(retention_note_fn fn, void *arg, int warn, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
note(retention_note_fn fn, void *arg, int warn, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(arg, warn, msg);
}

/*
 * A forget or undo cut between its copy and its removal left a kept
 * snapshot under both names: the listed one is whole (it was read), so
 * the copy in forgotten/ goes.  Failing to tidy is only worth a warning.
 */
static void
tidy(const struct retention_plan *p, struct stor *st, retention_note_fn fn,
    void *arg)
{
	char **ids = NULL, *name;
	size_t n = 0, at;
	struct err le;

	if (forget_list(st, &ids, &n, &le) == -1) {
		note(fn, arg, 1, "warning: could not list %s/: %s", FORGET_DIR,
		    le.msg);
		return;
	}
	for (size_t i = 0; i < p->list->n && n > 0; i++) {
		const char *id = p->list->v[i].m.id;
		int rc;

		if (p->res[i].reasons == 0 ||
		    forget_resolve(ids, n, id, &at, &le) == -1)
			continue;
		name = xasprintf("%s/%s", FORGET_DIR, id);
		rc = stor_remove(st, name, &le);
		free(name);
		if (rc == -1) {
			note(fn, arg, 1, "warning: could not tidy %s/: %s",
			    FORGET_DIR, le.msg);
			break;
		}
		note(fn, arg, 0,
		    "snapshot %.8s was under snapshots/ and %s/ (a forget or "
		    "undo was cut short): kept, its copy in %s/ removed",
		    id, FORGET_DIR, FORGET_DIR);
	}
	forget_ids_free(ids, n);
}

int
retention_plan_apply(struct retention_plan *p, struct stor *st,
    const volatile sig_atomic_t *interrupted, retention_note_fn fn, void *arg,
    struct err *e)
{
	char **ids;
	size_t nids = 0;
	int rc;

	if (!p->named)
		tidy(p, st, fn, arg);
	free(p->moved);
	p->moved = xcalloc(p->nremove + 1, sizeof(*p->moved));
	p->nmoved = 0;
	ids = xcalloc(p->nremove + 1, sizeof(*ids));
	for (size_t i = 0; i < p->list->n; i++)
		if (p->res[i].reasons == 0)
			ids[nids++] = p->list->v[i].m.id;
	rc = forget_snapshots(st, ids, nids, interrupted, &p->nmoved, e);
	for (size_t i = 0; i < p->nmoved; i++)
		p->moved[i] = ids[i];
	free(ids);
	return (rc);
}

void
retention_plan_free(struct retention_plan *p)
{
	if (p == NULL)
		return;
	if (p->sources != NULL)
		for (size_t i = 0; i < p->list->n; i++)
			free(p->sources[i]);
	free(p->sources);
	free(p->v);
	free(p->res);
	free(p->moved);
	snapsel_free(p->list);
	free(p);
}
