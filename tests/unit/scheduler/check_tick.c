/*
 * The scheduler's due rule (scheduler/tick.c, tick_decide) against an
 * injected clock: every schedule form, jitter, a manual run counting for
 * its slot, the first tick of a new job, month ends, 29 February, DST
 * forward and back in Europe/Berlin (a 02:30 that does not exist, or
 * exists twice, runs exactly once) and catch-up after downtime (once, with
 * the missed due times counted).  Every expected time is written out as a
 * UTC ISO string, worked out by hand from the calendar and the zone's
 * rules, never computed by the code under test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "schedule.h"
#include "scheduler/tick.h"

/* "YYYY-MM-DDTHH:MM:SSZ" as Unix seconds (glibc's timegm); "" is 0. */
static int64_t
iso(const char *s)
{
	struct tm tm;
	int n = 0;

	if (s[0] == '\0')
		return (0);
	memset(&tm, 0, sizeof(tm));
	ck_assert_int_eq(sscanf(s, "%d-%d-%dT%d:%d:%dZ%n", &tm.tm_year,
	                     &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	                     &tm.tm_sec, &n),
	    6);
	ck_assert_int_eq((int)strlen(s), n);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return ((int64_t)timegm(&tm));
}

static void
fmt(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static struct schedule *
parse_ok(const char *text)
{
	struct schedule *s = NULL;
	struct err e;

	err_clear(&e);
	if (schedule_parse(text, &s, &e) == -1)
		ck_abort_msg("'%s' refused: %s", text, e.msg);
	return (s);
}

static const struct {
	const char *text, *tz;
	uint64_t jitter;
	const char *last, *now; /* last "" : no run recorded */
	int due;
	const char *slot, *next; /* next: the next due time + jitter */
	uint64_t missed;
} cases[] = {
	/* hourly: the run at 09:00:05 does not cover 10:00. */
	{ "hourly", "UTC", 0, "2026-05-04T09:00:05Z", "2026-05-04T10:00:00Z", 1,
	    "2026-05-04T10:00:00Z", "2026-05-04T11:00:00Z", 1 },
	{ "hourly", "UTC", 0, "2026-05-04T10:00:02Z", "2026-05-04T10:30:00Z", 0,
	    "2026-05-04T10:00:00Z", "2026-05-04T11:00:00Z", 0 },
	/* daily 02:30 in Berlin in summer (CEST, +2) is 00:30Z. */
	{ "daily 02:30", "Europe/Berlin", 0, "2026-06-09T00:30:10Z",
	    "2026-06-10T00:29:59Z", 0, "2026-06-09T00:30:00Z",
	    "2026-06-10T00:30:00Z", 0 },
	{ "daily 02:30", "Europe/Berlin", 0, "2026-06-09T00:30:10Z",
	    "2026-06-10T00:30:00Z", 1, "2026-06-10T00:30:00Z",
	    "2026-06-11T00:30:00Z", 1 },
	/* @daily, and daily without a time: midnight. */
	{ "@daily", "UTC", 0, "2026-05-03T00:00:00Z", "2026-05-04T00:00:00Z", 1,
	    "2026-05-04T00:00:00Z", "2026-05-05T00:00:00Z", 1 },
	{ "daily", "UTC", 0, "2026-05-04T00:00:00Z", "2026-05-04T23:59:59Z", 0,
	    "2026-05-04T00:00:00Z", "2026-05-05T00:00:00Z", 0 },
	/* weekly: Sunday 00:00; 3 May 2026 is a Sunday. */
	{ "weekly", "UTC", 0, "2026-04-26T00:00:30Z", "2026-05-06T12:00:00Z", 1,
	    "2026-05-03T00:00:00Z", "2026-05-10T00:00:00Z", 1 },
	{ "@weekly", "UTC", 0, "2026-04-19T00:00:30Z", "2026-05-06T12:00:00Z",
	    1, "2026-05-03T00:00:00Z", "2026-05-10T00:00:00Z", 2 },
	/* monthly: 1 April and 1 May missed, one run. */
	{ "monthly", "UTC", 0, "2026-03-01T00:01:00Z", "2026-05-15T00:00:00Z",
	    1, "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", 2 },
	/* yearly: a run exactly at its due time covers it. */
	{ "yearly", "UTC", 0, "2024-01-01T00:00:00Z", "2027-06-01T00:00:00Z", 1,
	    "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", 3 },
	{ "@yearly", "UTC", 0, "2027-01-01T00:00:00Z", "2027-06-01T00:00:00Z",
	    0, "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", 0 },
	/* Mon..Fri 22:00: over the weekend the Friday run is the slot. */
	{ "Mon..Fri 22:00", "UTC", 0, "2026-05-07T22:00:01Z",
	    "2026-05-11T08:00:00Z", 1, "2026-05-08T22:00:00Z",
	    "2026-05-11T22:00:00Z", 1 },
	{ "Mon,Wed 01:00", "UTC", 0, "2026-05-06T01:00:00Z",
	    "2026-05-10T12:00:00Z", 0, "2026-05-06T01:00:00Z",
	    "2026-05-11T01:00:00Z", 0 },
	/* crontab fields: 09:45 and 10:00 missed since 09:30:10. */
	{ "*/15 * * * *", "UTC", 0, "2026-05-04T09:30:10Z",
	    "2026-05-04T10:07:00Z", 1, "2026-05-04T10:00:00Z",
	    "2026-05-04T10:15:00Z", 2 },
	{ "0 4 * * 0", "UTC", 0, "2026-04-26T04:00:00Z", "2026-05-03T03:59:59Z",
	    0, "2026-04-26T04:00:00Z", "2026-05-03T04:00:00Z", 0 },
	/* jitter 10 min: due at 02:40, not at 02:30. */
	{ "daily 02:30", "UTC", 600, "2026-05-03T02:40:00Z",
	    "2026-05-04T02:39:59Z", 0, "2026-05-03T02:30:00Z",
	    "2026-05-04T02:40:00Z", 0 },
	{ "daily 02:30", "UTC", 600, "2026-05-03T02:40:00Z",
	    "2026-05-04T02:40:00Z", 1, "2026-05-04T02:30:00Z",
	    "2026-05-05T02:40:00Z", 1 },
	/* A manual run after the due time counts for it... */
	{ "daily 02:30", "UTC", 0, "2026-05-04T09:00:00Z",
	    "2026-05-04T23:00:00Z", 0, "2026-05-04T02:30:00Z",
	    "2026-05-05T02:30:00Z", 0 },
	/* ... one just before it does not. */
	{ "daily 02:30", "UTC", 0, "2026-05-04T02:29:59Z",
	    "2026-05-04T02:31:00Z", 1, "2026-05-04T02:30:00Z",
	    "2026-05-05T02:30:00Z", 1 },
	/* A job that never ran is due at once (Persistent=true). */
	{ "daily 02:30", "UTC", 0, "", "2026-05-04T14:00:00Z", 1,
	    "2026-05-04T02:30:00Z", "2026-05-05T02:30:00Z", 0 },
	/* Month ends: the 31st skips April; nothing is due in between. */
	{ "0 0 31 * *", "UTC", 0, "2026-03-31T00:00:05Z",
	    "2026-05-15T00:00:00Z", 0, "2026-03-31T00:00:00Z",
	    "2026-05-31T00:00:00Z", 0 },
	{ "0 0 31 * *", "UTC", 0, "2026-03-31T00:00:05Z",
	    "2026-07-31T00:00:00Z", 1, "2026-07-31T00:00:00Z",
	    "2026-08-31T00:00:00Z", 2 },
	/* The last day of February, 23:30, in a leap year. */
	{ "30 23 29 2 *", "UTC", 0, "2024-02-29T23:30:00Z",
	    "2028-02-29T23:30:00Z", 1, "2028-02-29T23:30:00Z",
	    "2032-02-29T23:30:00Z", 1 },
	{ "30 23 29 2 *", "UTC", 0, "2028-02-29T23:30:00Z",
	    "2029-03-01T00:00:00Z", 0, "2028-02-29T23:30:00Z",
	    "2032-02-29T23:30:00Z", 0 },
	/* A clock set back: a run "later" than now covers the slot. */
	{ "hourly", "UTC", 0, "2026-05-04T12:00:00Z", "2026-05-04T10:30:00Z", 0,
	    "2026-05-04T10:00:00Z", "2026-05-04T11:00:00Z", 0 },
};

START_TEST(test_decide)
{
	struct schedule *s = parse_ok(cases[_i].text);
	struct tick_decision d;
	char got[32], want[32];
	struct err e;

	err_clear(&e);
	ck_assert_msg(tick_decide(s, cases[_i].tz, cases[_i].jitter,
	                  iso(cases[_i].last), iso(cases[_i].now), &d, &e) == 0,
	    "%s: %s", cases[_i].text, e.msg);
	ck_assert_msg(d.due == cases[_i].due, "%s at %s (last %s): due %d",
	    cases[_i].text, cases[_i].now, cases[_i].last, d.due);
	ck_assert_int_eq(d.first, cases[_i].last[0] == '\0');
	fmt(d.slot, got, sizeof(got));
	ck_assert_msg(strcmp(got, cases[_i].slot) == 0,
	    "%s at %s: slot %s, want %s", cases[_i].text, cases[_i].now, got,
	    cases[_i].slot);
	ck_assert_int_eq(d.due_at, d.slot + (int64_t)cases[_i].jitter);
	fmt(d.next_at, got, sizeof(got));
	snprintf(want, sizeof(want), "%s", cases[_i].next);
	ck_assert_msg(strcmp(got, want) == 0, "%s at %s: next %s, want %s",
	    cases[_i].text, cases[_i].now, got, want);
	ck_assert_msg(d.missed == cases[_i].missed, "%s at %s: missed %llu",
	    cases[_i].text, cases[_i].now, (unsigned long long)d.missed);
	schedule_free(s);
}
END_TEST

/*
 * A tick every minute from `from` to `to` (inclusive), starting from a
 * last run at `last`; a due tick "runs" the job (its start is the tick's
 * time).  The run times, as "T1 T2 ..." UTC.
 */
static void
simulate(const char *text, const char *tz, const char *last, const char *from,
    const char *to, char *out, size_t size)
{
	struct schedule *s = parse_ok(text);
	int64_t t, end = iso(to), l = iso(last);
	struct tick_decision d;
	struct err e;

	out[0] = '\0';
	for (t = iso(from); t <= end; t += 60) {
		char buf[32];

		err_clear(&e);
		ck_assert_msg(tick_decide(s, tz, 0, l, t, &d, &e) == 0, "%s",
		    e.msg);
		if (!d.due)
			continue;
		/* A second tick in the same minute finds it run. */
		ck_assert_int_eq(tick_decide(s, tz, 0, t, t, &d, &e), 0);
		ck_assert_int_eq(d.due, 0);
		l = t;
		fmt(t, buf, sizeof(buf));
		snprintf(out + strlen(out), size - strlen(out), "%s%s",
		    out[0] ? " " : "", buf);
	}
	schedule_free(s);
}

/*
 * Europe/Berlin in 2026: 02:00 CET becomes 03:00 CEST at 2026-03-29
 * 01:00Z; 03:00 CEST becomes 02:00 CET at 2026-10-25 01:00Z.
 */
START_TEST(test_dst_berlin_once)
{
	char runs[512];

	/* 02:30 does not exist on 29 March: one run, at 03:00 CEST. */
	simulate("daily 02:30", "Europe/Berlin", "2026-03-28T01:30:00Z",
	    "2026-03-28T22:00:00Z", "2026-03-29T23:00:00Z", runs, sizeof(runs));
	ck_assert_str_eq(runs, "2026-03-29T01:00:00Z");
	/* 02:30 happens twice on 25 October: one run, the first. */
	simulate("daily 02:30", "Europe/Berlin", "2026-10-24T00:30:00Z",
	    "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", runs, sizeof(runs));
	ck_assert_str_eq(runs, "2026-10-25T00:30:00Z");
	/* Every quarter hour: 02:00-02:45 of 29 March fall into the gap and
	 * run once, at 03:00 CEST. */
	simulate("*/15 * * * *", "Europe/Berlin", "2026-03-29T00:30:00Z",
	    "2026-03-29T00:31:00Z", "2026-03-29T01:20:00Z", runs, sizeof(runs));
	ck_assert_str_eq(runs,
	    "2026-03-29T00:45:00Z 2026-03-29T01:00:00Z 2026-03-29T01:15:00Z");
	/* Hourly over the repeated hour: 02:00 CEST, then 03:00 CET. */
	simulate("hourly", "Europe/Berlin", "2026-10-24T23:00:00Z",
	    "2026-10-24T23:30:00Z", "2026-10-25T02:30:00Z", runs, sizeof(runs));
	ck_assert_str_eq(runs, "2026-10-25T00:00:00Z 2026-10-25T02:00:00Z");
}
END_TEST

/*
 * A week off: the tick at noon on 7 December runs the job once, counting
 * the seven due times (1-7 December, 02:30 CET = 01:30Z); the next tick
 * finds nothing due until the 8th.
 */
START_TEST(test_catch_up_once)
{
	struct schedule *s = parse_ok("daily 02:30");
	struct tick_decision d;
	char runs[512];
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(tick_decide(s, "Europe/Berlin", 0,
	                     iso("2026-11-30T01:30:00Z"),
	                     iso("2026-12-07T12:00:00Z"), &d, &e),
	    0);
	ck_assert_int_eq(d.due, 1);
	ck_assert_uint_eq(d.missed, 7);
	ck_assert_int_eq(d.slot, iso("2026-12-07T01:30:00Z"));
	ck_assert_int_eq(d.next_at, iso("2026-12-08T01:30:00Z"));
	simulate("daily 02:30", "Europe/Berlin", "2026-11-30T01:30:00Z",
	    "2026-12-07T12:00:00Z", "2026-12-08T01:29:00Z", runs, sizeof(runs));
	ck_assert_str_eq(runs, "2026-12-07T12:00:00Z");
	/* Every minute, a month off: the count stops at the cap. */
	schedule_free(s);
	s = parse_ok("* * * * *");
	ck_assert_int_eq(tick_decide(s, "UTC", 0, iso("2026-01-01T00:00:00Z"),
	                     iso("2026-02-01T00:00:00Z"), &d, &e),
	    0);
	ck_assert_int_eq(d.due, 1);
	ck_assert_uint_eq(d.missed, TICK_MISSED_MAX);
	schedule_free(s);
}
END_TEST

Suite *tick_suite(void);

Suite *
tick_suite(void)
{
	Suite *s = suite_create("tick");
	TCase *tc = tcase_create("tick");

	tcase_add_loop_test(tc, test_decide, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_dst_berlin_once);
	tcase_add_test(tc, test_catch_up_once);
	suite_add_tcase(s, tc);
	return (s);
}
