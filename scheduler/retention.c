/*
 * The retention policy engine: groups snapshots, walks each group newest
 * first and marks what every keep rule keeps.  The calendar rules are
 * restic's buckets, with incomplete snapshots left out of them, so that a
 * failed run can never take the place of a good one.
 */
#include "scheduler/retention.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "repo/manifest.h"
#include "value.h"
#include "xmalloc.h"

/* The calendar rules, in the order of their bits. */
enum { CAL_HOUR, CAL_DAY, CAL_WEEK, CAL_MONTH, CAL_YEAR, NCAL };

static const unsigned cal_bit[NCAL] = { RETENTION_HOURLY, RETENTION_DAILY,
	RETENTION_WEEKLY, RETENTION_MONTHLY, RETENTION_YEARLY };

int
retention_policy_set(const struct retention_policy *p)
{
	return (p->last > 0 || p->hourly > 0 || p->daily > 0 || p->weekly > 0 ||
	    p->monthly > 0 || p->yearly > 0 || p->within > 0 || p->ntags > 0);
}

int
retention_complete(const struct manifest *m)
{
	if (m->nskipped > 0)
		return (0);
	for (size_t i = 0; i < m->nsources; i++)
		if (m->sources[i].status == NULL ||
		    strcmp(m->sources[i].status, "ok") != 0)
			return (0);
	return (1);
}

static int
leap(int y)
{
	return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0);
}

/*
 * ISO 8601 week: the week belongs to the year of its Thursday, and is
 * numbered from the week holding that year's first Thursday.
 */
static int64_t
iso_week(const struct tm *tm)
{
	int wday = (tm->tm_wday + 6) % 7; /* Monday 0 */
	int y = tm->tm_year + 1900;
	int thu = tm->tm_yday - wday + 3;

	if (thu < 0) {
		y--;
		thu += leap(y) ? 366 : 365;
	} else if (thu >= (leap(y) ? 366 : 365)) {
		thu -= leap(y) ? 366 : 365;
		y++;
	}
	return ((int64_t)y * 100 + thu / 7 + 1);
}

/* The bucket of t for each calendar rule, in local time. */
static void
buckets(const struct timespec *t, int64_t b[NCAL])
{
	struct tm tm;
	time_t s = t->tv_sec;
	int64_t y, day;

	if (localtime_r(&s, &tm) == NULL) {
		/* Out of range for the calendar: every snapshot its own. */
		for (int i = 0; i < NCAL; i++)
			b[i] = (int64_t)s;
		return;
	}
	y = (int64_t)tm.tm_year + 1900;
	day = (y * 100 + tm.tm_mon + 1) * 100 + tm.tm_mday;
	/* tm_isdst tells the two 02:00 hours of the night DST ends apart. */
	b[CAL_HOUR] = (day * 100 + tm.tm_hour) * 2 + (tm.tm_isdst > 0);
	b[CAL_DAY] = day;
	b[CAL_WEEK] = iso_week(&tm);
	b[CAL_MONTH] = y * 100 + tm.tm_mon + 1;
	b[CAL_YEAR] = y;
}

/* Are the sets a and b equal (as sets: order and repeats do not count)? */
static int
has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return (1);
	return (0);
}

static int
same_set(char *const *a, size_t na, char *const *b, size_t nb)
{
	for (size_t i = 0; i < na; i++)
		if (!has(b, nb, a[i]))
			return (0);
	for (size_t i = 0; i < nb; i++)
		if (!has(a, na, b[i]))
			return (0);
	return (1);
}

static int
same_group(const struct retention_snap *a, const struct retention_snap *b,
    unsigned by)
{
	if ((by & RETENTION_GROUP_HOST) &&
	    strcmp(a->host ? a->host : "", b->host ? b->host : "") != 0)
		return (0);
	if ((by & RETENTION_GROUP_PATHS) &&
	    !same_set(a->paths, a->npaths, b->paths, b->npaths))
		return (0);
	if ((by & RETENTION_GROUP_SOURCES) &&
	    !same_set(a->sources, a->nsources, b->sources, b->nsources))
		return (0);
	if ((by & RETENTION_GROUP_TAGS) &&
	    !same_set(a->tags, a->ntags, b->tags, b->ntags))
		return (0);
	return (1);
}

/* Is t at most within seconds before newest? */
static int
is_within(const struct timespec *t, const struct timespec *newest,
    uint64_t within)
{
	int64_t ds = (int64_t)newest->tv_sec - (int64_t)t->tv_sec;
	long dn = newest->tv_nsec - t->tv_nsec;

	if (dn < 0) {
		ds--;
		dn += 1000000000L;
	}
	if (ds < 0)
		return (1);
	return ((uint64_t)ds < within || ((uint64_t)ds == within && dn == 0));
}

static int
tagged(const struct retention_snap *s, const struct retention_policy *p)
{
	for (size_t i = 0; i < p->ntags; i++)
		if (has(s->tags, s->ntags, p->tags[i]))
			return (1);
	return (0);
}

/* One group: the indexes m[0 .. k - 1] into v, oldest first. */
static void
apply_group(const struct retention_snap *v, const size_t *m, size_t k,
    const struct retention_policy *p, struct retention_result *res)
{
	const uint64_t want[NCAL] = { p->hourly, p->daily, p->weekly,
		p->monthly, p->yearly };
	uint64_t left[NCAL], last = p->last;
	int64_t prev[NCAL], b[NCAL];
	size_t newest = SIZE_MAX, complete = SIZE_MAX;
	int seen[NCAL] = { 0 };

	for (int c = 0; c < NCAL; c++)
		left[c] = want[c];
	for (size_t j = k; j-- > 0;) {
		const struct retention_snap *s = &v[m[j]];

		if (s->future)
			continue;
		if (newest == SIZE_MAX)
			newest = j;
		if (s->complete) {
			complete = j;
			break;
		}
	}
	for (size_t j = k; j-- > 0;) {
		const struct retention_snap *s = &v[m[j]];
		unsigned r = 0;

		if (s->future) {
			res[m[j]].reasons = RETENTION_FUTURE;
			continue;
		}
		if (tagged(s, p))
			r |= RETENTION_TAG;
		if (p->within > 0 &&
		    is_within(&s->time, &v[m[newest]].time, p->within))
			r |= RETENTION_WITHIN;
		if (!s->complete) {
			if (complete == SIZE_MAX || j > complete)
				r |= RETENTION_PENDING;
			res[m[j]].reasons = r;
			continue;
		}
		if (j == complete)
			r |= RETENTION_NEWEST;
		if (last > 0) {
			r |= RETENTION_LAST;
			last--;
		}
		buckets(&s->time, b);
		for (int c = 0; c < NCAL; c++) {
			if (left[c] == 0 || (seen[c] && b[c] == prev[c]))
				continue;
			r |= cal_bit[c];
			left[c]--;
			prev[c] = b[c];
			seen[c] = 1;
		}
		res[m[j]].reasons = r;
	}
}

int
retention_apply(const struct retention_snap *v, size_t n,
    const struct retention_policy *p, unsigned group_by,
    struct retention_result *res, size_t *ngroups, struct err *e)
{
	size_t *first, *members, ng = 0, k;

	*ngroups = 0;
	if (!retention_policy_set(p))
		return (err_set(e, ERR_USAGE,
		    "no keep rule given, and forget removes nothing without "
		    "one: give --keep-last, --keep-daily, ... --keep-within "
		    "or --keep-tag (or a --job with keep_* keys)"));
	/* first[g]: the oldest member of group g, which stands for it. */
	first = xreallocarray(NULL, n + 1, sizeof(*first));
	members = xreallocarray(NULL, n + 1, sizeof(*members));
	for (size_t i = 0; i < n; i++) {
		size_t g;

		for (g = 0; g < ng; g++)
			if (same_group(&v[first[g]], &v[i], group_by))
				break;
		if (g == ng)
			first[ng++] = i;
		res[i].group = g;
		res[i].reasons = 0;
	}
	for (size_t g = 0; g < ng; g++) {
		k = 0;
		for (size_t i = first[g]; i < n; i++)
			if (res[i].group == g)
				members[k++] = i;
		apply_group(v, members, k, p, res);
	}
	free(first);
	free(members);
	*ngroups = ng;
	return (0);
}

int
retention_parse_group_by(const char *s, unsigned *out, struct err *e)
{
	char **items = NULL;
	size_t n = 0;
	unsigned by = 0;
	int rc = -1;

	if (strcmp(s, "none") == 0) {
		*out = 0;
		return (0);
	}
	if (value_parse_list(s, &items, &n) == -1)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(items[i], "host") == 0)
			by |= RETENTION_GROUP_HOST;
		else if (strcmp(items[i], "paths") == 0)
			by |= RETENTION_GROUP_PATHS;
		else if (strcmp(items[i], "sources") == 0)
			by |= RETENTION_GROUP_SOURCES;
		else if (strcmp(items[i], "tags") == 0)
			by |= RETENTION_GROUP_TAGS;
		else
			goto bad;
	}
	*out = by;
	rc = 0;
bad:
	if (rc == -1)
		err_set(e, ERR_USAGE,
		    "--group-by takes host, paths, sources and tags separated "
		    "by commas, or none, not '%s'",
		    s);
	value_list_free(items, n);
	return (rc);
}

const char *
retention_reason_name(unsigned bit)
{
	switch (bit) {
	case RETENTION_LAST:
		return ("last");
	case RETENTION_HOURLY:
		return ("hourly");
	case RETENTION_DAILY:
		return ("daily");
	case RETENTION_WEEKLY:
		return ("weekly");
	case RETENTION_MONTHLY:
		return ("monthly");
	case RETENTION_YEARLY:
		return ("yearly");
	case RETENTION_WITHIN:
		return ("within");
	case RETENTION_TAG:
		return ("tag");
	case RETENTION_NEWEST:
		return ("newest-complete");
	case RETENTION_PENDING:
		return ("newer-than-complete");
	case RETENTION_FUTURE:
		return ("dated-in-future");
	}
	return ("?");
}

void
retention_policy_from_job(const struct config_section *job,
    struct retention_policy *p)
{
	static const char *const keys[] = { "keep_last", "keep_hourly",
		"keep_daily", "keep_weekly", "keep_monthly", "keep_yearly" };
	uint64_t *dst[] = { &p->last, &p->hourly, &p->daily, &p->weekly,
		&p->monthly, &p->yearly };
	int64_t v;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (config_get_int(job, keys[i], &v) == 0 && v > 0)
			*dst[i] = (uint64_t)v;
}
