/*
 * Choosing a snapshot.  A manifest's time is what the writer's clock said,
 * sealed under a key that a compromised primary holds too; the store's file
 * time is what the store's host said when the file arrived, which the
 * append-only recipe does not let a writer change.  The order takes the
 * first unless the second proves it wrong (doc/FORMAT.md, "Snapshot order").
 */
#include "repo/snapsel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "value.h"
#include "xmalloc.h"

struct names {
	char **v;
	size_t n;
};

static int
add_name(void *arg, const char *name, uint64_t size)
{
	struct names *nm = arg;
	const char *base = name + strlen("snapshots/");

	(void)size;
	if (strlen(base) != REPO_HEX_LEN ||
	    strspn(base, "0123456789abcdef") != REPO_HEX_LEN)
		return (0); /* not a snapshot file */
	nm->v = xreallocarray(nm->v, nm->n + 1, sizeof(*nm->v));
	nm->v[nm->n++] = xstrdup(base);
	return (0);
}

static void
add_bad(struct snapsel *s, const char *id, const struct err *why)
{
	struct snapsel_bad *b;

	s->bad = xreallocarray(s->bad, s->nbad + 1, sizeof(*s->bad));
	b = &s->bad[s->nbad++];
	snprintf(b->id, sizeof(b->id), "%s", id);
	b->err = *why;
}

int
snapsel_list(struct repo *r, time_t now, struct snapsel **out, struct err *e)
{
	struct snapsel *s = xcalloc(1, sizeof(*s));
	struct names nm = { NULL, 0 };
	struct manifest m;
	struct err le;
	char *path = NULL;
	int64_t mt;
	int rc = -1, st;

	*out = NULL;
	if (stor_list(repo_store(r), "snapshots", add_name, &nm, e) != 0)
		goto out;
	/* A snapshot listed now has its index published: load it too. */
	if (repo_index_refresh(r, e) == -1)
		goto out;
	for (size_t i = 0; i < nm.n; i++) {
		err_clear(&le);
		if (manifest_load(r, nm.v[i], &m, &le) == -1) {
			/* The store itself failing is not one bad file. */
			if (le.class == ERR_NET) {
				*e = le;
				goto out;
			}
			add_bad(s, nm.v[i], &le);
			continue;
		}
		free(path);
		path = xasprintf("snapshots/%s", nm.v[i]);
		if ((st = stor_mtime(repo_store(r), path, &mt, &le)) != 0) {
			if (st == -1 && le.class == ERR_NET) {
				manifest_clear(&m);
				*e = le;
				goto out;
			}
			mt = INT64_MIN; /* gone since: order by its own time */
		}
		s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
		memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
		s->v[s->n].m = m;
		s->v[s->n].stored = mt;
		s->n++;
	}
	snapsel_order(s, now);
	*out = s;
	s = NULL;
	rc = 0;
out:
	for (size_t i = 0; i < nm.n; i++)
		free(nm.v[i]);
	free(nm.v);
	free(path);
	snapsel_free(s);
	return (rc);
}

static int
ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return (a->tv_sec < b->tv_sec ? -1 : 1);
	if (a->tv_nsec != b->tv_nsec)
		return (a->tv_nsec < b->tv_nsec ? -1 : 1);
	return (0);
}

static int
by_order(const void *pa, const void *pb)
{
	const struct snapsel_item *a = pa, *b = pb;
	int c;

	if ((c = ts_cmp(&a->order, &b->order)) != 0 ||
	    (c = ts_cmp(&a->m.time, &b->m.time)) != 0)
		return (c);
	if (a->stored != b->stored)
		return (a->stored < b->stored ? -1 : 1);
	return (strcmp(a->m.id, b->m.id));
}

void
snapsel_order(struct snapsel *s, time_t now)
{
	s->now = now;
	s->nlate = s->nfuture = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct snapsel_item *it = &s->v[i];

		it->flags = 0;
		it->order = it->m.time;
		/*
		 * A snapshot cannot have been recorded after its file was
		 * stored: a date beyond that (and the clocks' leeway) is a
		 * wrong clock or a planted file, and the store's time is the
		 * one the writer could not choose.
		 */
		if (it->stored != INT64_MIN &&
		    (int64_t)it->m.time.tv_sec > it->stored + SNAPSEL_SKEW) {
			it->order.tv_sec = (time_t)it->stored;
			it->order.tv_nsec = 0;
			it->flags |= SNAPSEL_LATE;
			s->nlate++;
		}
		if ((int64_t)it->order.tv_sec > (int64_t)now + SNAPSEL_SKEW) {
			it->flags |= SNAPSEL_FUTURE;
			s->nfuture++;
		}
	}
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), by_order);
}

void
snapsel_free(struct snapsel *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		manifest_clear(&s->v[i].m);
	free(s->v);
	free(s->bad);
	free(s);
}

void
snapsel_time_str(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "@%lld", (long long)t);
}

/*
 * "oldest" and "random": of the snapshots "latest" could name (before
 * before, or not SNAPSEL_FUTURE), the first, or one drawn uniformly.
 */
static int
resolve_end(const struct snapsel *s, const char *sel,
    const struct timespec *before, size_t *index, struct err *e)
{
	size_t n = 0;

	if (s->n == 0 && s->nbad > 0)
		return (err_set(e, ERR_CORRUPT,
		    "none of the %zu snapshot files can be read; run 'coffer "
		    "check'",
		    s->nbad));
	if (s->n == 0)
		return (err_set(e, ERR_USAGE,
		    "the repository has no snapshots yet"));
	/* v is in order: those that qualify are a prefix of it. */
	while (n < s->n &&
	    (before != NULL ? ts_cmp(&s->v[n].order, before) < 0
	                    : !(s->v[n].flags & SNAPSEL_FUTURE)))
		n++;
	if (n == 0)
		return (snapsel_resolve(s, "latest", before, index, e));
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	*index = strcmp(sel, "oldest") == 0
	    ? 0
	    : (size_t)arc4random_uniform((uint32_t)n);
	return (0);
}

int
snapsel_resolve(const struct snapsel *s, const char *sel,
    const struct timespec *before, size_t *index, struct err *e)
{
	size_t len = strlen(sel), found = 0, at = 0;
	char when[32], limit[32];

	if (before != NULL)
		snapsel_time_str(before->tv_sec, limit, sizeof(limit));
	if (strcmp(sel, "latest") == 0) {
		if (s->n == 0 && s->nbad > 0)
			return (err_set(e, ERR_CORRUPT,
			    "none of the %zu snapshot files can be read; run "
			    "'coffer check'",
			    s->nbad));
		if (s->n == 0)
			return (err_set(e, ERR_USAGE,
			    "the repository has no snapshots yet"));
		for (size_t i = s->n; i-- > 0;) {
			const struct snapsel_item *it = &s->v[i];

			if (before != NULL ? ts_cmp(&it->order, before) < 0
			                   : !(it->flags & SNAPSEL_FUTURE)) {
				*index = i;
				return (0);
			}
		}
		snapsel_time_str(s->v[0].order.tv_sec, when, sizeof(when));
		if (before != NULL)
			return (err_set(e, ERR_USAGE,
			    "no snapshot before %s UTC: the oldest, %.8s, is "
			    "from %s UTC",
			    limit, s->v[0].m.id, when));
		snapsel_time_str(s->now, limit, sizeof(limit));
		return (err_set(e, ERR_USAGE,
		    "every snapshot is dated after this host's clock (%s "
		    "UTC; the oldest is %.8s, %s UTC): check the clock, or "
		    "name a snapshot by its id",
		    limit, s->v[0].m.id, when));
	}
	if (strcmp(sel, "oldest") == 0 || strcmp(sel, "random") == 0)
		return (resolve_end(s, sel, before, index, e));
	if (len < 4 || len > REPO_HEX_LEN ||
	    strspn(sel, "0123456789abcdef") != len)
		return (err_set(e, ERR_USAGE,
		    "'%s' is not a snapshot id: use 'latest', 'oldest', "
		    "'random' or at least 4 hex digits of an id from 'coffer "
		    "snapshots'",
		    sel));
	for (size_t i = 0; i < s->n; i++)
		if (strncmp(s->v[i].m.id, sel, len) == 0) {
			found++;
			at = i;
		}
	if (found == 0)
		return (err_set(e, ERR_USAGE, "no snapshot %s%s", sel,
		    s->nbad > 0 ? " among those that can be read "
		                  "(run 'coffer check')"
		                : ""));
	if (found > 1)
		return (err_set(e, ERR_USAGE,
		    "%s matches %zu snapshots; give more digits", sel, found));
	if (before != NULL && ts_cmp(&s->v[at].order, before) >= 0) {
		snapsel_time_str(s->v[at].order.tv_sec, when, sizeof(when));
		return (err_set(e, ERR_USAGE,
		    "snapshot %.8s is from %s UTC, not before %s UTC", sel,
		    when, limit));
	}
	*index = at;
	return (0);
}

/* Exactly width digits at *p. */
static int
digits(const char **p, int width, int *v)
{
	*v = 0;
	for (int i = 0; i < width; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return (-1);
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += width;
	return (0);
}

/* An ISO 8601 date and time as snapsel_parse_time takes it. */
static int
parse_iso(const char *p, int64_t *out)
{
	struct tm tm, chk;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	time_t t;

	if (digits(&p, 4, &y) == -1 || *p++ != '-' ||
	    digits(&p, 2, &mo) == -1 || *p++ != '-' || digits(&p, 2, &d) == -1)
		return (-1);
	if (*p == 'T' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) == -1 || *p++ != ':' ||
		    digits(&p, 2, &mi) == -1)
			return (-1);
		if (*p == ':' && (p++, digits(&p, 2, &sec) == -1))
			return (-1);
		if (*p == 'Z')
			p++;
		else if (*p == '+' || *p == '-') {
			sign = *p++ == '+' ? 1 : -1;
			if (digits(&p, 2, &oh) == -1)
				return (-1);
			if (*p == ':' && (p++, digits(&p, 2, &om) == -1))
				return (-1);
			else if (*p != '\0' && digits(&p, 2, &om) == -1)
				return (-1);
			if (oh > 23 || om > 59)
				return (-1);
		}
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 59)
		return (-1);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm moves 2026-02-30 to March: refuse what it had to move. */
	if (gmtime_r(&t, &chk) == NULL || chk.tm_mday != d ||
	    chk.tm_mon != mo - 1)
		return (-1);
	*out = (int64_t)t - sign * (oh * 3600 + om * 60);
	return (0);
}

int
snapsel_parse_time(const char *s, time_t now, struct timespec *out,
    struct err *e)
{
	uint64_t age;
	int64_t t;
	size_t len = strlen(s);

	if (parse_iso(s, &t) == 0) {
		out->tv_sec = (time_t)t;
		out->tv_nsec = 0;
		return (0);
	}
	/* An age needs its unit: is a bare "30" seconds or days? */
	if (len > 0 && strspn(s, "0123456789") != len &&
	    value_parse_duration(s, &age) == 0 &&
	    age <= (uint64_t)INT32_MAX * 64) {
		out->tv_sec = (time_t)((int64_t)now - (int64_t)age);
		out->tv_nsec = 0;
		return (0);
	}
	return (err_set(e, ERR_USAGE,
	    "'%s' is not a time: give YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC, "
	    "or ending in Z or +HH:MM), or an age such as 36h or 2d",
	    s));
}

static int
has(const char *const *v, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(v[i]) == len && memcmp(v[i], s, len) == 0)
			return (1);
	return (0);
}

/* "/etc/" and "/etc" are one path; "/" stays "/". */
static size_t
path_len(const char *p)
{
	size_t len = strlen(p);

	while (len > 1 && p[len - 1] == '/')
		len--;
	return (len);
}

static int
has_path(const struct manifest *m, const char *want)
{
	size_t len = path_len(want);

	for (size_t i = 0; i < m->npaths; i++)
		if (path_len(m->paths[i]) == len &&
		    memcmp(m->paths[i], want, len) == 0)
			return (1);
	return (0);
}

/* Has m every tag of the list "a,b,c" (empty names skipped)? */
static int
has_tags(const struct manifest *m, const char *p)
{
	for (;;) {
		size_t len = strcspn(p, ",");

		if (len > 0 &&
		    !has((const char *const *)m->tags, m->ntags, p, len))
			return (0);
		if (p[len] == '\0')
			return (1);
		p += len + 1;
	}
}

int
snapsel_match(const struct manifest *m, const struct snapsel_filter *f)
{
	if (f->nhosts > 0 &&
	    (m->host == NULL ||
	        !has(f->hosts, f->nhosts, m->host, strlen(m->host))))
		return (0);
	if (f->njobs > 0 &&
	    (m->job == NULL || !has(f->jobs, f->njobs, m->job, strlen(m->job))))
		return (0);
	for (size_t i = 0; i < f->npaths; i++)
		if (!has_path(m, f->paths[i]))
			return (0);
	if (f->ntags == 0)
		return (1);
	for (size_t i = 0; i < f->ntags; i++)
		if (has_tags(m, f->tags[i]))
			return (1);
	return (0);
}

size_t
snapsel_filter(const struct snapsel *s, const struct snapsel_filter *f,
    struct snapsel_item **out)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		if (snapsel_match(&s->v[i].m, f))
			out[n++] = &s->v[i];
	return (n);
}
