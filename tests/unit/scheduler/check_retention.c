/*
 * The retention policy on a synthetic calendar: every rule alone and
 * together, DST in Europe/Berlin, ISO week 53, year ends, equal times,
 * future-dated and incomplete snapshots, groups.  Snapshots are ordered by
 * the real snapshot order (snapsel_order); every expected keep set is
 * written out here, never computed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "repo/snapsel.h"
#include "scheduler/retention.h"
#include "xmalloc.h"

#define NOW ((time_t)1811808000) /* 2027-06-01 00:00:00 UTC */

/* One snapshot of a test calendar. */
struct row {
	const char *id;
	const char *when;    /* "YYYY-MM-DDTHH:MM:SSZ", UTC */
	const char *host;    /* NULL: "h" */
	const char *paths;   /* comma separated; NULL: "/srv" */
	const char *tags;    /* comma separated; NULL: none */
	int incomplete;      /* 1: a source failed; 2: an entry was skipped */
	const char *sources; /* source names, comma separated; NULL: none */
};

struct run {
	struct snapsel *s;
	struct retention_snap *v;
	struct retention_result *res;
	char **srcnames; /* per snapshot: source names, for v[i].sources */
	size_t ngroups;
};

static time_t
utc(const char *when)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	ck_assert_msg(end != NULL && *end == '\0', "bad time %s", when);
	return (timegm(&tm));
}

static void
split(const char *list, void (*add)(struct manifest *, const char *),
    struct manifest *m)
{
	char *copy, *p, *tok, *save = NULL;

	if (list == NULL)
		return;
	copy = xstrdup(list);
	for (p = copy; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL)
		add(m, tok);
	free(copy);
}

static void
add_source(struct manifest *m, const char *name)
{
	struct manifest_source src;

	memset(&src, 0, sizeof(src));
	src.name = (char *)name;
	src.type = "files";
	src.status = "ok";
	manifest_add_source(m, &src);
}

/* Build, order (snapsel_order, by NOW) and judge the calendar rows. */
static void
judge(struct run *r, const struct row *rows, size_t n,
    const struct retention_policy *p, unsigned group_by)
{
	struct err e;

	memset(r, 0, sizeof(*r));
	r->s = xcalloc(1, sizeof(*r->s));
	r->s->v = xcalloc(n, sizeof(*r->s->v));
	r->s->n = n;
	for (size_t i = 0; i < n; i++) {
		struct manifest *m = &r->s->v[i].m;

		manifest_init(m);
		snprintf(m->id, sizeof(m->id), "%s", rows[i].id);
		m->time.tv_sec = utc(rows[i].when);
		m->host = xstrdup(rows[i].host ? rows[i].host : "h");
		split(rows[i].paths ? rows[i].paths : "/srv", manifest_add_path,
		    m);
		split(rows[i].tags, manifest_add_tag, m);
		split(rows[i].sources, add_source, m);
		if (rows[i].incomplete == 1) {
			if (m->nsources == 0)
				add_source(m, "db");
			free(m->sources[0].status);
			m->sources[0].status = xstrdup("failed");
		} else if (rows[i].incomplete == 2)
			manifest_add_skipped(m, "/srv/x", "Permission denied");
		r->s->v[i].stored = INT64_MIN;
	}
	snapsel_order(r->s, NOW);
	r->v = xcalloc(n, sizeof(*r->v));
	r->res = xcalloc(n, sizeof(*r->res));
	r->srcnames = xcalloc(n, sizeof(*r->srcnames));
	for (size_t i = 0; i < n; i++) {
		const struct snapsel_item *it = &r->s->v[i];
		char **names = xcalloc(it->m.nsources + 1, sizeof(char *));

		for (size_t j = 0; j < it->m.nsources; j++)
			names[j] = it->m.sources[j].name;
		r->srcnames[i] = (char *)names;
		r->v[i].id = it->m.id;
		r->v[i].time = it->order;
		r->v[i].host = it->m.host;
		r->v[i].paths = it->m.paths;
		r->v[i].npaths = it->m.npaths;
		r->v[i].sources = names;
		r->v[i].nsources = it->m.nsources;
		r->v[i].tags = it->m.tags;
		r->v[i].ntags = it->m.ntags;
		r->v[i].complete = retention_complete(&it->m);
		r->v[i].future = (it->flags & SNAPSEL_FUTURE) != 0;
	}
	ck_assert_msg(retention_apply(r->v, n, p, group_by, r->res, &r->ngroups,
	                  &e) == 0,
	    "%s", e.msg);
}

static void
run_free(struct run *r)
{
	for (size_t i = 0; i < r->s->n; i++)
		free(r->srcnames[i]);
	free(r->srcnames);
	free(r->v);
	free(r->res);
	snapsel_free(r->s);
}

/* The ids kept, oldest first, separated by spaces. */
static char *
kept(const struct run *r)
{
	static char buf[1024];

	buf[0] = '\0';
	for (size_t i = 0; i < r->s->n; i++)
		if (r->res[i].reasons != 0) {
			if (buf[0] != '\0')
				strcat(buf, " ");
			strcat(buf, r->v[i].id);
		}
	return (buf);
}

/* The reasons kept for id. */
static unsigned
why(const struct run *r, const char *id)
{
	for (size_t i = 0; i < r->s->n; i++)
		if (strcmp(r->v[i].id, id) == 0)
			return (r->res[i].reasons);
	ck_abort_msg("no snapshot %s", id);
	return (0);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
expect(const struct row *rows, size_t n, const struct retention_policy *p,
    unsigned by, const char *want)
{
	struct run r;

	judge(&r, rows, n, p, by);
	ck_assert_str_eq(kept(&r), want);
	run_free(&r);
}

/* Six days, two snapshots on some: every rule alone. */
static const struct row week[] = {
	{ .id = "a", .when = "2026-11-02T08:00:00Z" },
	{ .id = "b", .when = "2026-11-02T20:00:00Z" },
	{ .id = "c", .when = "2026-11-03T09:00:00Z" },
	{ .id = "d", .when = "2026-11-05T01:00:00Z" },
	{ .id = "e", .when = "2026-11-05T23:00:00Z" },
	{ .id = "f", .when = "2026-11-07T12:00:00Z" },
};

START_TEST(test_each_rule_alone)
{
	struct retention_policy p;

	setenv("TZ", "UTC", 1);
	tzset();
	memset(&p, 0, sizeof(p));
	p.last = 3;
	expect(week, N(week), &p, RETENTION_GROUP_DEFAULT, "d e f");
	memset(&p, 0, sizeof(p));
	p.daily = 3;
	expect(week, N(week), &p, RETENTION_GROUP_DEFAULT, "c e f");
	memset(&p, 0, sizeof(p));
	p.daily = 100; /* more days than there are: one per day */
	expect(week, N(week), &p, RETENTION_GROUP_DEFAULT, "b c e f");
	memset(&p, 0, sizeof(p));
	p.hourly = 2;
	expect(week, N(week), &p, RETENTION_GROUP_DEFAULT, "e f");
	memset(&p, 0, sizeof(p));
	p.weekly = 2; /* 2026-11-02..08 is one ISO week (W45) */
	expect(week, N(week), &p, RETENTION_GROUP_DEFAULT, "f");
	memset(&p, 0, sizeof(p));
	p.monthly = 5;
	expect(week, N(week), &p, RETENTION_GROUP_DEFAULT, "f");
	memset(&p, 0, sizeof(p));
	p.yearly = 1;
	expect(week, N(week), &p, RETENTION_GROUP_DEFAULT, "f");
	memset(&p, 0, sizeof(p));
	p.within = 2 * 86400 + 11 * 3600; /* back to 2026-11-05T01:00 */
	expect(week, N(week), &p, RETENTION_GROUP_DEFAULT, "d e f");
	p.within = 2 * 86400 + 11 * 3600 - 1;
	expect(week, N(week), &p, RETENTION_GROUP_DEFAULT, "e f");
}
END_TEST

START_TEST(test_rules_combined)
{
	struct retention_policy p;
	struct run r;
	char *tags[] = { "keep" };
	static const struct row rows[] = {
		{ .id = "a", .when = "2026-11-02T08:00:00Z", .tags = "keep" },
		{ .id = "b", .when = "2026-11-02T20:00:00Z" },
		{ .id = "c", .when = "2026-11-03T09:00:00Z" },
		{ .id = "d", .when = "2026-11-05T01:00:00Z" },
		{ .id = "e", .when = "2026-11-05T23:00:00Z" },
		{ .id = "f", .when = "2026-11-07T12:00:00Z" },
	};

	setenv("TZ", "UTC", 1);
	tzset();
	memset(&p, 0, sizeof(p));
	p.last = 1;
	p.daily = 2;
	p.tags = tags;
	p.ntags = 1;
	judge(&r, rows, N(rows), &p, RETENTION_GROUP_DEFAULT);
	ck_assert_str_eq(kept(&r), "a e f");
	ck_assert_uint_eq(why(&r, "f"),
	    RETENTION_LAST | RETENTION_DAILY | RETENTION_NEWEST);
	ck_assert_uint_eq(why(&r, "e"), RETENTION_DAILY);
	ck_assert_uint_eq(why(&r, "a"), RETENTION_TAG);
	ck_assert_uint_eq(why(&r, "b"), 0);
	run_free(&r);
}
END_TEST

/* The newest complete snapshot stays whatever the policy says. */
START_TEST(test_newest_complete_always_kept)
{
	struct retention_policy p;
	struct run r;
	char *tags[] = { "nothing-has-it" };

	memset(&p, 0, sizeof(p));
	p.tags = tags;
	p.ntags = 1;
	judge(&r, week, N(week), &p, RETENTION_GROUP_DEFAULT);
	ck_assert_str_eq(kept(&r), "f");
	ck_assert_uint_eq(why(&r, "f"), RETENTION_NEWEST);
	run_free(&r);
}
END_TEST

/*
 * Europe/Berlin: DST ends on 2026-10-25 at 03:00 CEST (01:00 UTC), so
 * 02:00-02:59 comes twice, and begins on 2026-03-29 at 02:00 CET (01:00
 * UTC), a day of 23 hours.  Days are local days, and the two 02:00 hours
 * are two hours.
 */
START_TEST(test_dst_berlin)
{
	struct retention_policy p;
	static const struct row fall[] = {
		{ .id = "cest0110",
		    .when = "2026-10-24T23:10:00Z" }, /* 01:10 CEST */
		{ .id = "cest0210",
		    .when = "2026-10-25T00:10:00Z" }, /* 02:10 CEST */
		{ .id = "cest0250",
		    .when = "2026-10-25T00:50:00Z" }, /* 02:50 CEST */
		{ .id = "cet0210",
		    .when = "2026-10-25T01:10:00Z" }, /* 02:10 CET */
		{ .id = "cet0240",
		    .when = "2026-10-25T01:40:00Z" }, /* 02:40 CET */
		{ .id = "cet0320",
		    .when = "2026-10-25T02:20:00Z" }, /* 03:20 CET */
		{ .id = "cet2330",
		    .when = "2026-10-25T22:30:00Z" }, /* 23:30 CET 25th */
		{ .id = "cet0030",
		    .when = "2026-10-25T23:30:00Z" }, /* 00:30 CET 26th */
	};
	static const struct row spring[] = {
		{ .id = "cet0030",
		    .when = "2026-03-28T23:30:00Z" }, /* 00:30 CET 29th */
		{ .id = "cest2330",
		    .when = "2026-03-29T21:30:00Z" }, /* 23:30 CEST 29th */
		{ .id = "cest0030",
		    .when = "2026-03-29T22:30:00Z" }, /* 00:30 CEST 30th */
	};

	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	memset(&p, 0, sizeof(p));
	p.hourly = 100;
	expect(fall, N(fall), &p, RETENTION_GROUP_DEFAULT,
	    "cest0110 cest0250 cet0240 cet0320 cet2330 cet0030");
	p.hourly = 3; /* the three newest hours: 00 and 23 CET, 03 CET */
	expect(fall, N(fall), &p, RETENTION_GROUP_DEFAULT,
	    "cet0320 cet2330 cet0030");
	memset(&p, 0, sizeof(p));
	p.daily = 100; /* the 25th (01:10 CEST to 23:30 CET) and the 26th */
	expect(fall, N(fall), &p, RETENTION_GROUP_DEFAULT, "cet2330 cet0030");
	expect(spring, N(spring), &p, RETENTION_GROUP_DEFAULT,
	    "cest2330 cest0030");
	/* In UTC the same instants fall on other days. */
	setenv("TZ", "UTC", 1);
	tzset();
	expect(spring, N(spring), &p, RETENTION_GROUP_DEFAULT,
	    "cet0030 cest0030");
	expect(fall, N(fall), &p, RETENTION_GROUP_DEFAULT, "cest0110 cet0030");
}
END_TEST

/* 2026 has an ISO week 53: Monday 2026-12-28 to Sunday 2027-01-03. */
START_TEST(test_iso_week_53)
{
	struct retention_policy p;
	static const struct row rows[] = {
		{ .id = "w51",
		    .when = "2026-12-20T12:00:00Z" }, /* Sunday, W51 */
		{ .id = "w52",
		    .when = "2026-12-27T12:00:00Z" }, /* Sunday, W52 */
		{ .id = "w53mon", .when = "2026-12-28T12:00:00Z" }, /* W53 */
		{ .id = "w53thu", .when = "2026-12-31T12:00:00Z" }, /* W53 */
		{ .id = "w53fri",
		    .when = "2027-01-01T12:00:00Z" }, /* W53 of 2026 */
		{ .id = "w53sun",
		    .when = "2027-01-03T12:00:00Z" }, /* W53 of 2026 */
		{ .id = "w1mon",
		    .when = "2027-01-04T12:00:00Z" }, /* 2027-W01 */
		{ .id = "w1tue",
		    .when = "2027-01-05T12:00:00Z" }, /* 2027-W01 */
	};

	setenv("TZ", "UTC", 1);
	tzset();
	memset(&p, 0, sizeof(p));
	p.weekly = 3;
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT, "w52 w53sun w1tue");
	p.weekly = 2;
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT, "w53sun w1tue");
	/* And the year of a week is not the calendar year: */
	memset(&p, 0, sizeof(p));
	p.yearly = 2;
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT, "w53thu w1tue");
}
END_TEST

START_TEST(test_year_ends)
{
	struct retention_policy p;
	struct run r;
	static const struct row rows[] = {
		{ .id = "y24end", .when = "2024-12-31T23:00:00Z" },
		{ .id = "y25first", .when = "2025-01-01T00:30:00Z" },
		{ .id = "y25jun", .when = "2025-06-15T12:00:00Z" },
		{ .id = "y25last", .when = "2025-12-31T23:59:59Z" },
		{ .id = "y26first", .when = "2026-01-01T00:00:00Z" },
		{ .id = "y26jan", .when = "2026-01-15T12:00:00Z" },
	};

	setenv("TZ", "UTC", 1);
	tzset();
	memset(&p, 0, sizeof(p));
	p.monthly = 3;
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT,
	    "y25jun y25last y26jan");
	memset(&p, 0, sizeof(p));
	p.yearly = 3;
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT,
	    "y24end y25last y26jan");
	p.monthly = 3;
	judge(&r, rows, N(rows), &p, RETENTION_GROUP_DEFAULT);
	ck_assert_str_eq(kept(&r), "y24end y25jun y25last y26jan");
	ck_assert_uint_eq(why(&r, "y25last"),
	    RETENTION_MONTHLY | RETENTION_YEARLY);
	ck_assert_uint_eq(why(&r, "y24end"), RETENTION_YEARLY);
	run_free(&r);
}
END_TEST

/* Equal times are ordered by snapsel (then by id): the last one wins. */
START_TEST(test_equal_times)
{
	struct retention_policy p;
	static const struct row rows[] = {
		{ .id = "c3", .when = "2026-11-10T10:00:00Z" },
		{ .id = "a1", .when = "2026-11-10T10:00:00Z" },
		{ .id = "b2", .when = "2026-11-10T10:00:00Z" },
		{ .id = "z0", .when = "2026-11-09T10:00:00Z" },
	};

	setenv("TZ", "UTC", 1);
	tzset();
	memset(&p, 0, sizeof(p));
	p.last = 1;
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT, "c3");
	p.last = 2;
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT, "b2 c3");
	memset(&p, 0, sizeof(p));
	p.daily = 2;
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT, "z0 c3");
	memset(&p, 0, sizeof(p));
	p.within = 1; /* equal to the newest: within any window */
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT, "a1 b2 c3");
}
END_TEST

/*
 * Incomplete snapshots count toward no rule and take no bucket; they
 * stay when newer than the newest complete one, or by within and tags.
 */
START_TEST(test_incomplete)
{
	struct retention_policy p;
	struct run r;
	static const struct row rows[] = {
		{ .id = "d1ok", .when = "2026-11-01T10:00:00Z" },
		{ .id = "d1bad",
		    .when = "2026-11-01T20:00:00Z",
		    .incomplete = 1 },
		{ .id = "d2ok", .when = "2026-11-02T10:00:00Z" },
		{ .id = "d3ok", .when = "2026-11-03T10:00:00Z" },
		{ .id = "d4skip",
		    .when = "2026-11-04T10:00:00Z",
		    .incomplete = 2 },
		{ .id = "d5bad",
		    .when = "2026-11-05T10:00:00Z",
		    .incomplete = 1 },
	};
	static const struct row none_ok[] = {
		{ .id = "x1", .when = "2026-11-01T10:00:00Z", .incomplete = 1 },
		{ .id = "x2", .when = "2026-11-02T10:00:00Z", .incomplete = 2 },
	};

	setenv("TZ", "UTC", 1);
	tzset();
	memset(&p, 0, sizeof(p));
	p.daily = 3;
	judge(&r, rows, N(rows), &p, RETENTION_GROUP_DEFAULT);
	/* d1ok keeps day 1: the failed run later that day does not. */
	ck_assert_str_eq(kept(&r), "d1ok d2ok d3ok d4skip d5bad");
	ck_assert_uint_eq(why(&r, "d3ok"), RETENTION_DAILY | RETENTION_NEWEST);
	ck_assert_uint_eq(why(&r, "d4skip"), RETENTION_PENDING);
	ck_assert_uint_eq(why(&r, "d5bad"), RETENTION_PENDING);
	ck_assert_uint_eq(why(&r, "d1bad"), 0);
	run_free(&r);
	memset(&p, 0, sizeof(p));
	p.last = 2;
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT,
	    "d2ok d3ok d4skip d5bad");
	/* within: from the newest snapshot, incomplete or not */
	memset(&p, 0, sizeof(p));
	p.within = 3 * 86400;
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT,
	    "d2ok d3ok d4skip d5bad");
	p.within = 3 * 86400 + 14 * 3600; /* back to 2026-11-01T20:00 */
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT,
	    "d1bad d2ok d3ok d4skip d5bad");
	/* No complete snapshot at all: nothing goes. */
	memset(&p, 0, sizeof(p));
	p.last = 1;
	expect(none_ok, N(none_ok), &p, RETENTION_GROUP_DEFAULT, "x1 x2");
}
END_TEST

/*
 * A snapshot dated after this host's clock (its file's store time too)
 * is kept and judged by nothing: it cannot push real ones out, nor move
 * the within window.
 */
START_TEST(test_future_dated)
{
	struct retention_policy p;
	struct run r;
	static const struct row rows[] = {
		{ .id = "old", .when = "2026-11-27T10:00:00Z" },
		{ .id = "real", .when = "2026-11-29T10:00:00Z" },
		{ .id = "ahead", .when = "2027-12-01T10:00:00Z" },
	};

	setenv("TZ", "UTC", 1);
	tzset();
	memset(&p, 0, sizeof(p));
	p.last = 1;
	judge(&r, rows, N(rows), &p, RETENTION_GROUP_DEFAULT);
	ck_assert_str_eq(kept(&r), "real ahead");
	ck_assert_uint_eq(why(&r, "ahead"), RETENTION_FUTURE);
	ck_assert_uint_eq(why(&r, "real"), RETENTION_LAST | RETENTION_NEWEST);
	run_free(&r);
	memset(&p, 0, sizeof(p));
	p.within = 3 * 86400;
	expect(rows, N(rows), &p, RETENTION_GROUP_DEFAULT, "old real ahead");
}
END_TEST

START_TEST(test_groups)
{
	struct retention_policy p;
	struct run r;
	static const struct row rows[] = {
		{ .id = "h1a",
		    .when = "2026-11-01T10:00:00Z",
		    .host = "h1",
		    .paths = "/a,/b" },
		{ .id = "h2a",
		    .when = "2026-11-01T11:00:00Z",
		    .host = "h2",
		    .paths = "/a,/b" },
		{ .id = "h1b",
		    .when = "2026-11-02T10:00:00Z",
		    .host = "h1",
		    .paths = "/b,/a",
		    .tags = "t" },
		{ .id = "h1c",
		    .when = "2026-11-02T11:00:00Z",
		    .host = "h1",
		    .paths = "/c" },
		{ .id = "h2b",
		    .when = "2026-11-03T10:00:00Z",
		    .host = "h2",
		    .paths = "/a,/b",
		    .tags = "t" },
		{ .id = "h1d",
		    .when = "2026-11-04T10:00:00Z",
		    .host = "h1",
		    .paths = "/a,/b",
		    .sources = "db" },
	};

	setenv("TZ", "UTC", 1);
	tzset();
	memset(&p, 0, sizeof(p));
	p.last = 1;
	judge(&r, rows, N(rows), &p, RETENTION_GROUP_DEFAULT);
	/* groups: h1 {/a,/b}, h2 {/a,/b}, h1 {/c}; paths are a set */
	ck_assert_uint_eq(r.ngroups, 3);
	ck_assert_str_eq(kept(&r), "h1c h2b h1d");
	run_free(&r);
	expect(rows, N(rows), &p, RETENTION_GROUP_HOST, "h2b h1d");
	expect(rows, N(rows), &p, RETENTION_GROUP_PATHS, "h1c h1d");
	expect(rows, N(rows), &p, 0, "h1d");
	/* tags: {} and {t}; sources: {} and {db} */
	expect(rows, N(rows), &p, RETENTION_GROUP_TAGS, "h2b h1d");
	expect(rows, N(rows), &p, RETENTION_GROUP_SOURCES, "h2b h1d");
	expect(rows, N(rows), &p,
	    RETENTION_GROUP_HOST | RETENTION_GROUP_SOURCES, "h1c h2b h1d");
}
END_TEST

START_TEST(test_empty_policy_refused)
{
	struct retention_policy p;
	struct retention_snap v[1];
	struct retention_result res[1];
	struct err e;
	size_t ng = 99;

	memset(&p, 0, sizeof(p));
	memset(v, 0, sizeof(v));
	err_clear(&e);
	ck_assert_int_eq(retention_apply(v, 1, &p, 0, res, &ng, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "no keep rule"));
	ck_assert_ptr_null(strchr(e.msg, '\n'));
	ck_assert_uint_eq(ng, 0);
}
END_TEST

START_TEST(test_complete_rule)
{
	struct manifest m;
	struct manifest_source src;

	manifest_init(&m);
	ck_assert(retention_complete(&m));
	manifest_add_inconsistent(&m, "/var/log/syslog");
	ck_assert(retention_complete(&m)); /* present, as read */
	memset(&src, 0, sizeof(src));
	src.name = "db";
	src.type = "postgres";
	src.status = "ok";
	manifest_add_source(&m, &src);
	ck_assert(retention_complete(&m));
	src.name = "etc";
	src.status = "failed";
	manifest_add_source(&m, &src);
	ck_assert(!retention_complete(&m));
	manifest_clear(&m);
	manifest_init(&m);
	manifest_add_skipped(&m, "/srv/secret", "Permission denied");
	ck_assert(!retention_complete(&m));
	manifest_clear(&m);
}
END_TEST

START_TEST(test_group_by_parse)
{
	struct err e;
	unsigned by = 99;

	ck_assert_int_eq(retention_parse_group_by("host,paths", &by, &e), 0);
	ck_assert_uint_eq(by, RETENTION_GROUP_DEFAULT);
	ck_assert_int_eq(retention_parse_group_by("tags,sources,host,paths",
	                     &by, &e),
	    0);
	ck_assert_uint_eq(by, 0xf);
	ck_assert_int_eq(retention_parse_group_by("", &by, &e), 0);
	ck_assert_uint_eq(by, 0);
	by = 5;
	ck_assert_int_eq(retention_parse_group_by("none", &by, &e), 0);
	ck_assert_uint_eq(by, 0);
	ck_assert_int_eq(retention_parse_group_by("host,user", &by, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "'host,user'"));
	for (unsigned b = 1; b < (1u << RETENTION_REASONS); b <<= 1)
		ck_assert_str_ne(retention_reason_name(b), "?");
}
END_TEST

Suite *retention_suite(void);

Suite *
retention_suite(void)
{
	Suite *s = suite_create("retention");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_each_rule_alone);
	tcase_add_test(tc, test_rules_combined);
	tcase_add_test(tc, test_newest_complete_always_kept);
	tcase_add_test(tc, test_dst_berlin);
	tcase_add_test(tc, test_iso_week_53);
	tcase_add_test(tc, test_year_ends);
	tcase_add_test(tc, test_equal_times);
	tcase_add_test(tc, test_incomplete);
	tcase_add_test(tc, test_future_dated);
	tcase_add_test(tc, test_groups);
	tcase_add_test(tc, test_empty_policy_refused);
	tcase_add_test(tc, test_complete_rule);
	tcase_add_test(tc, test_group_by_parse);
	suite_add_tcase(s, tc);
	return (s);
}
