/*
 * Choosing a snapshot: the order (a date after the store's file time or
 * after this host's clock), equal times, --before, id prefixes, the TIME
 * forms; and the listing of a real local repository with a planted
 * future-dated snapshot and an unreadable file.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "repo/snapsel.h"
#include "trepo.h"
#include "xmalloc.h"

#define NOW   ((time_t)1796000000) /* 2026-11-30 00:53:20 UTC */
#define DAY   86400
#define UNSET INT64_MIN

/* A list of n snapshots: ids[i] dated t[i], stored at st[i]. */
static struct snapsel *
make(size_t n, const char *const *ids, const int64_t *t, const int64_t *st)
{
	struct snapsel *s = xcalloc(1, sizeof(*s));

	s->v = xcalloc(n, sizeof(*s->v));
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		manifest_init(&s->v[i].m);
		snprintf(s->v[i].m.id, sizeof(s->v[i].m.id), "%s", ids[i]);
		s->v[i].m.time.tv_sec = (time_t)t[i];
		s->v[i].stored = st[i];
	}
	snapsel_order(s, NOW);
	return (s);
}

static const char *
latest(const struct snapsel *s, const struct timespec *before)
{
	struct err e;
	size_t at;

	if (snapsel_resolve(s, "latest", before, &at, &e) == -1)
		return (NULL);
	return (s->v[at].m.id);
}

START_TEST(test_future_date_is_not_latest_forever)
{
	/*
	 * b1 was planted (or written by a clock gone wrong) dated 400 days
	 * ahead but reached the store 2 days ago; c2, stored yesterday, is
	 * newer.  a0 is dated ahead of this host's clock and of the store's
	 * too (both clocks were wrong when it was written, or its file time
	 * was set by someone who can).
	 */
	static const char *const ids[] = { "b1b1", "c2c2", "a0a0" };
	const int64_t t[] = { NOW + 400 * DAY, NOW - DAY, NOW + 30 * DAY };
	const int64_t st[] = { NOW - 2 * DAY, NOW - DAY + 60, NOW + 30 * DAY };
	struct snapsel *s = make(3, ids, t, st);

	ck_assert_str_eq(s->v[0].m.id, "b1b1");
	ck_assert_int_eq(s->v[0].order.tv_sec, NOW - 2 * DAY);
	ck_assert_uint_eq(s->v[0].flags, SNAPSEL_LATE);
	ck_assert_str_eq(s->v[1].m.id, "c2c2");
	ck_assert_uint_eq(s->v[1].flags, 0);
	ck_assert_str_eq(s->v[2].m.id, "a0a0");
	ck_assert_uint_eq(s->v[2].flags, SNAPSEL_FUTURE);
	ck_assert_uint_eq(s->nlate, 1);
	ck_assert_uint_eq(s->nfuture, 1);
	ck_assert_str_eq(latest(s, NULL), "c2c2");
	snapsel_free(s);
}
END_TEST

START_TEST(test_clock_leeway)
{
	/* Within SNAPSEL_SKEW of the store's time or of now: trusted. */
	static const char *const ids[] = { "aaaa", "bbbb" };
	const int64_t t[] = { NOW - 100 + SNAPSEL_SKEW, NOW + SNAPSEL_SKEW };
	const int64_t st[] = { NOW - 100, UNSET };
	struct snapsel *s = make(2, ids, t, st);

	ck_assert_uint_eq(s->v[0].flags, 0);
	ck_assert_uint_eq(s->v[1].flags, 0);
	ck_assert_str_eq(latest(s, NULL), "bbbb");
	snapsel_free(s);
}
END_TEST

START_TEST(test_every_snapshot_in_the_future)
{
	static const char *const ids[] = { "aaaa" };
	const int64_t t[] = { NOW + 2 * DAY };
	const int64_t st[] = { UNSET };
	struct snapsel *s = make(1, ids, t, st);
	struct err e;
	size_t at;

	ck_assert_int_eq(snapsel_resolve(s, "latest", NULL, &at, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_msg(strstr(e.msg, "clock") != NULL, "%s", e.msg);
	/* By id it is still there. */
	ck_assert_int_eq(snapsel_resolve(s, "aaaa", NULL, &at, &e), 0);
	snapsel_free(s);
}
END_TEST

START_TEST(test_equal_times)
{
	/* Same date: the later stored wins, then the greater id. */
	static const char *const ids[] = { "ffff", "1111", "eeee", "2222" };
	const int64_t t[] = { NOW - DAY, NOW - DAY, NOW - 2 * DAY,
		NOW - 2 * DAY };
	const int64_t st[] = { NOW - DAY, NOW - DAY + 5, NOW - DAY, NOW - DAY };
	struct snapsel *s = make(4, ids, t, st);

	ck_assert_str_eq(s->v[0].m.id, "2222");
	ck_assert_str_eq(s->v[1].m.id, "eeee");
	ck_assert_str_eq(s->v[2].m.id, "ffff");
	ck_assert_str_eq(s->v[3].m.id, "1111");
	ck_assert_str_eq(latest(s, NULL), "1111");
	snapsel_free(s);
}
END_TEST

START_TEST(test_before)
{
	static const char *const ids[] = { "aaaa", "bbbb", "cccc", "dddd" };
	const int64_t t[] = { NOW - 3 * DAY, NOW - 2 * DAY, NOW - DAY,
		NOW + 400 * DAY };
	const int64_t st[] = { NOW - 3 * DAY, NOW - 2 * DAY, NOW - DAY,
		NOW - 10 };
	struct snapsel *s = make(4, ids, t, st);
	struct timespec b = { 0, 0 };
	struct err e;
	size_t at;

	/* dddd is ordered by its file time: newest, and latest. */
	ck_assert_str_eq(latest(s, NULL), "dddd");
	b.tv_sec = NOW - DAY; /* strictly before */
	ck_assert_str_eq(latest(s, &b), "bbbb");
	b.tv_sec = NOW - DAY + 1;
	ck_assert_str_eq(latest(s, &b), "cccc");
	b.tv_sec = NOW - 20;
	ck_assert_str_eq(latest(s, &b), "cccc");
	b.tv_sec = NOW; /* dddd by the time it reached the store */
	ck_assert_str_eq(latest(s, &b), "dddd");
	b.tv_sec = NOW - 3 * DAY;
	ck_assert_int_eq(snapsel_resolve(s, "latest", &b, &at, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_msg(strstr(e.msg, "no snapshot before") != NULL, "%s", e.msg);
	/* An id must also be before the limit. */
	b.tv_sec = NOW - DAY;
	ck_assert_int_eq(snapsel_resolve(s, "bbbb", &b, &at, &e), 0);
	ck_assert_str_eq(s->v[at].m.id, "bbbb");
	ck_assert_int_eq(snapsel_resolve(s, "cccc", &b, &at, &e), -1);
	ck_assert_msg(strstr(e.msg, "not before") != NULL, "%s", e.msg);
	snapsel_free(s);
}
END_TEST

START_TEST(test_prefixes)
{
	static const char *const ids[] = { "aaaa1111", "aaaa2222", "bbbb3333" };
	const int64_t t[] = { NOW - 3 * DAY, NOW - 2 * DAY, NOW - DAY };
	const int64_t st[] = { UNSET, UNSET, UNSET };
	struct snapsel *s = make(3, ids, t, st), empty;
	struct timespec b = { NOW - 2 * DAY, 0 };
	struct err e;
	size_t at;

	ck_assert_int_eq(snapsel_resolve(s, "aaaa2", NULL, &at, &e), 0);
	ck_assert_uint_eq(at, 1);
	ck_assert_int_eq(snapsel_resolve(s, "aaaa", NULL, &at, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_msg(strstr(e.msg, "matches 2") != NULL, "%s", e.msg);
	/* Ambiguous even when --before leaves only one of them. */
	ck_assert_int_eq(snapsel_resolve(s, "aaaa", &b, &at, &e), -1);
	ck_assert_msg(strstr(e.msg, "matches 2") != NULL, "%s", e.msg);
	ck_assert_int_eq(snapsel_resolve(s, "cccc", NULL, &at, &e), -1);
	ck_assert_int_eq(snapsel_resolve(s, "bbb", NULL, &at, &e), -1);
	ck_assert_int_eq(snapsel_resolve(s, "BBBB", NULL, &at, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	memset(&empty, 0, sizeof(empty));
	ck_assert_int_eq(snapsel_resolve(&empty, "latest", NULL, &at, &e), -1);
	ck_assert_msg(strstr(e.msg, "no snapshots yet") != NULL, "%s", e.msg);
	snapsel_free(s);
}
END_TEST

/* Give item i a host, tags and paths (NULL-terminated lists). */
static void
describe(struct snapsel *s, size_t i, const char *host, const char *const *tags,
    const char *const *paths)
{
	struct manifest *m = &s->v[i].m;

	free(m->host);
	m->host = xstrdup(host);
	for (; *tags != NULL; tags++) {
		m->tags = xreallocarray(m->tags, m->ntags + 1, sizeof(char *));
		m->tags[m->ntags++] = xstrdup(*tags);
	}
	for (; *paths != NULL; paths++) {
		m->paths =
		    xreallocarray(m->paths, m->npaths + 1, sizeof(char *));
		m->paths[m->npaths++] = xstrdup(*paths);
	}
}

/* The ids of the items f takes from s, joined by spaces. */
static const char *
filtered(const struct snapsel *s, const struct snapsel_filter *f)
{
	static char buf[256];
	struct snapsel_item *out[8];
	size_t n = snapsel_filter(s, f, out);

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
		    i ? " " : "", out[i]->m.id);
	return (buf);
}

START_TEST(test_filter)
{
	static const char *const ids[] = { "aaaa1", "bbbb2", "cccc3", "dddd4" };
	static const int64_t t[] = { NOW - 4 * DAY, NOW - 3 * DAY,
		NOW - 2 * DAY, NOW - DAY };
	static const int64_t st[] = { UNSET, UNSET, UNSET, UNSET };
	static const char *const none[] = { NULL };
	static const char *const daily[] = { "daily", NULL };
	static const char *const daily_db[] = { "daily", "db", NULL };
	static const char *const etc[] = { "/etc/", NULL };
	static const char *const etc_var[] = { "/etc", "/var", NULL };
	const char *hosts[] = { "db1", "web" }, *paths[] = { "/etc", "/var/" };
	const char *tags[] = { "db,daily", "weekly" };
	const char *jobs[] = { "nightly", "hourly" };
	struct snapsel *s = make(4, ids, t, st);
	struct snapsel_filter f;

	describe(s, 0, "db1", daily_db, etc_var);
	describe(s, 1, "db2", daily, etc);
	describe(s, 2, "web", none, none);
	describe(s, 3, "db1", daily, etc_var);
	memset(&f, 0, sizeof(f));
	ck_assert_str_eq(filtered(s, &f), "aaaa1 bbbb2 cccc3 dddd4");
	/* Hosts: any of them. */
	f.hosts = hosts;
	f.nhosts = 2;
	ck_assert_str_eq(filtered(s, &f), "aaaa1 cccc3 dddd4");
	/* Paths: every one, trailing slashes or not; and with the hosts. */
	f.paths = paths;
	f.npaths = 2;
	ck_assert_str_eq(filtered(s, &f), "aaaa1 dddd4");
	f.nhosts = 0;
	f.npaths = 1;
	ck_assert_str_eq(filtered(s, &f), "aaaa1 bbbb2 dddd4");
	/* Tags: all of one "a,b" list, or any of the lists. */
	f.npaths = 0;
	f.tags = tags;
	f.ntags = 1;
	ck_assert_str_eq(filtered(s, &f), "aaaa1");
	ck_assert(snapsel_match(&s->v[0].m, &f));
	ck_assert(!snapsel_match(&s->v[1].m, &f));
	f.ntags = 2;
	ck_assert_str_eq(filtered(s, &f), "aaaa1");
	tags[1] = "daily,";
	ck_assert_str_eq(filtered(s, &f), "aaaa1 bbbb2 dddd4");
	/* Jobs: taken by one of them; a snapshot of no job matches none. */
	f.ntags = 0;
	s->v[1].m.job = strdup("nightly");
	s->v[3].m.job = strdup("hourly");
	f.jobs = jobs;
	f.njobs = 1;
	ck_assert_str_eq(filtered(s, &f), "bbbb2");
	f.njobs = 2;
	ck_assert_str_eq(filtered(s, &f), "bbbb2 dddd4");
	f.hosts = hosts;
	f.nhosts = 1;
	ck_assert_str_eq(filtered(s, &f), "dddd4");
	snapsel_free(s);
}
END_TEST

static int64_t
parsed(const char *s)
{
	struct timespec t;
	struct err e;

	if (snapsel_parse_time(s, NOW, &t, &e) == -1) {
		ck_assert_int_eq(e.class, ERR_USAGE);
		return (UNSET);
	}
	return ((int64_t)t.tv_sec);
}

START_TEST(test_time_forms)
{
	static const char *const bad[] = { "", "30", "yesterday", "2026-13-01",
		"2026-02-30", "2026-12-1", "2026-12-01T2:30",
		"2026-12-01T25:00", "2026-12-01T02:60", "2026-12-01T02:30+",
		"2026-12-01T02:30+05:", "2026-12-01T02:30+24:00", "2026-12-01Z",
		"2026-12-01T02:30:15.5", " 2026-12-01", "2d ago", "-2d" };
	const int64_t d = 1796083200; /* 2026-12-01T00:00:00Z */

	ck_assert_int_eq(parsed("2026-12-01"), d);
	ck_assert_int_eq(parsed("2026-12-01T02:30"), d + 9000);
	ck_assert_int_eq(parsed("2026-12-01 02:30:15"), d + 9015);
	ck_assert_int_eq(parsed("2026-12-01T02:30Z"), d + 9000);
	ck_assert_int_eq(parsed("2026-12-01T02:30:00+02:00"), d + 1800);
	ck_assert_int_eq(parsed("2026-12-01T02:30-0130"), d + 14400);
	ck_assert_int_eq(parsed("2026-12-01T02:30+01"), d + 5400);
	ck_assert_int_eq(parsed("2028-02-29"), 1835395200);
	ck_assert_int_eq(parsed("2d"), NOW - 2 * DAY);
	ck_assert_int_eq(parsed("36h"), NOW - 36 * 3600);
	ck_assert_int_eq(parsed("1w3d"), NOW - 10 * DAY);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parsed(bad[i]) == UNSET, "'%s' was accepted",
		    bad[i]);
}
END_TEST

/* ------------------------------------------- a real local repository */

static char dir[64], loc[96];
static struct repo *
new_repo(void)
{
	struct repo *r;

	strcpy(dir, "/tmp/coffer-snapsel.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(loc, sizeof(loc), "%s/repo", dir);
	trepo_init(loc, 0, &r);
	return (r);
}

/* Save a snapshot dated t; its id into id. */
static void
save(struct repo *r, time_t t, char *id)
{
	struct manifest m;
	struct err e;

	manifest_init(&m);
	m.time.tv_sec = t;
	m.host = xstrdup("db1");
	m.user = xstrdup("root");
	m.program = xstrdup("coffer test");
	ck_assert_msg(manifest_save(r, &m, &e) == 0, "%s", e.msg);
	strcpy(id, m.id);
	manifest_clear(&m);
}

static void
set_mtime(const char *id, time_t t)
{
	char path[256];
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };

	snprintf(path, sizeof(path), "%s/snapshots/%s", loc, id);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

START_TEST(test_list_real_repository)
{
	char old[REPO_HEX_LEN + 1], planted[REPO_HEX_LEN + 1];
	char honest[REPO_HEX_LEN + 1], path[256], cmd[128];
	struct snapsel *s = NULL;
	struct repo *r = new_repo();
	time_t now = time(NULL);
	struct err e;
	size_t at;
	FILE *f;

	save(r, now - 3 * DAY, old);
	set_mtime(old, now - 3 * DAY);
	/* Planted two days ago, dated a year ahead. */
	save(r, now + 365 * DAY, planted);
	set_mtime(planted, now - 2 * DAY);
	save(r, now - DAY, honest);
	set_mtime(honest, now - DAY);
	/* A file that is no snapshot: reported, not fatal. */
	snprintf(path, sizeof(path), "%s/snapshots/%064d", loc, 7);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("garbage", f);
	fclose(f);

	ck_assert_msg(snapsel_list(r, now, &s, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(s->n, 3);
	ck_assert_uint_eq(s->nbad, 1);
	ck_assert_uint_eq(strspn(s->bad[0].id, "0"), REPO_HEX_LEN - 1);
	ck_assert_int_ne(s->bad[0].err.class, ERR_NONE);
	ck_assert_str_eq(s->v[1].m.id, planted);
	ck_assert_uint_eq(s->v[1].flags, SNAPSEL_LATE);
	ck_assert_int_eq(s->v[1].stored, now - 2 * DAY);
	ck_assert_int_eq(snapsel_resolve(s, "latest", NULL, &at, &e), 0);
	ck_assert_str_eq(s->v[at].m.id, honest);
	snapsel_free(s);

	/* Its file time moved ahead too: in the future, passed over. */
	set_mtime(planted, now + 365 * DAY);
	ck_assert_msg(snapsel_list(r, now, &s, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(s->v[2].m.id, planted);
	ck_assert_uint_eq(s->v[2].flags, SNAPSEL_FUTURE);
	ck_assert_int_eq(snapsel_resolve(s, "latest", NULL, &at, &e), 0);
	ck_assert_str_eq(s->v[at].m.id, honest);
	snapsel_free(s);

	repo_close(r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *snapsel_suite(void);

Suite *
snapsel_suite(void)
{
	Suite *s = suite_create("snapsel");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_future_date_is_not_latest_forever);
	tcase_add_test(tc, test_clock_leeway);
	tcase_add_test(tc, test_every_snapshot_in_the_future);
	tcase_add_test(tc, test_equal_times);
	tcase_add_test(tc, test_before);
	tcase_add_test(tc, test_prefixes);
	tcase_add_test(tc, test_time_forms);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_list_real_repository);
	suite_add_tcase(s, tc);
	return (s);
}
