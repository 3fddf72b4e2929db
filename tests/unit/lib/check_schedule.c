/*
 * Schedules (lib/schedule.c): every accepted form, month ends, 29
 * February, DST in Europe/Berlin and Australia/Sydney, catch-up after
 * downtime, the refusals and their messages, zone names, jitter and the
 * intervals.  Every expected time is written out here as a UTC ISO
 * string, worked out by hand from the calendar and the zones' rules,
 * never computed by the code under test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "schedule.h"

/* "YYYY-MM-DDTHH:MM:SSZ" as a time_t (glibc's timegm, not ours). */
static time_t
iso(const char *s)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	ck_assert_int_eq(sscanf(s, "%d-%d-%dT%d:%d:%dZ%n", &tm.tm_year,
	                     &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	                     &tm.tm_sec, &n),
	    6);
	ck_assert_int_eq((int)strlen(s), n);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (timegm(&tm));
}

static void
fmt(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
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
	ck_assert_ptr_nonnull(s);
	return (s);
}

/* next(after) and prev(after) of text in tz are the times given. */
static void
expect_times(const char *text, const char *tz, const char *at,
    const char *want_next, const char *want_prev)
{
	struct schedule *s = parse_ok(text);
	char got[32];
	time_t t = 0;
	struct err e;

	err_clear(&e);
	if (want_next != NULL) {
		if (schedule_next(s, tz, iso(at), &t, &e) == -1)
			ck_abort_msg("next '%s' %s after %s: %s", text,
			    tz ? tz : "(local)", at, e.msg);
		fmt(t, got, sizeof(got));
		ck_assert_msg(t == iso(want_next),
		    "next '%s' in %s after %s: got %s, want %s", text,
		    tz ? tz : "(local)", at, got, want_next);
	}
	if (want_prev != NULL) {
		if (schedule_prev(s, tz, iso(at), &t, &e) == -1)
			ck_abort_msg("prev '%s' %s at %s: %s", text,
			    tz ? tz : "(local)", at, e.msg);
		fmt(t, got, sizeof(got));
		ck_assert_msg(t == iso(want_prev),
		    "prev '%s' in %s at %s: got %s, want %s", text,
		    tz ? tz : "(local)", at, got, want_prev);
	}
	schedule_free(s);
}

static const struct {
	const char *text, *at, *next, *prev;
} forms[] = {
	/* 2026-12-07 is a Monday. */
	{ "daily 02:30", "2026-12-07T12:00:00Z", "2026-12-08T02:30:00Z",
	    "2026-12-07T02:30:00Z" },
	{ "DAILY 2:30", "2026-12-07T12:00:00Z", "2026-12-08T02:30:00Z",
	    "2026-12-07T02:30:00Z" },
	{ "  daily\t02:30 ", "2026-12-07T02:30:00Z", "2026-12-08T02:30:00Z",
	    "2026-12-07T02:30:00Z" },
	{ "daily", "2026-12-07T12:00:00Z", "2026-12-08T00:00:00Z",
	    "2026-12-07T00:00:00Z" },
	{ "@daily", "2026-12-07T12:00:00Z", "2026-12-08T00:00:00Z",
	    "2026-12-07T00:00:00Z" },
	{ "@midnight", "2026-12-07T12:00:00Z", "2026-12-08T00:00:00Z",
	    "2026-12-07T00:00:00Z" },
	{ "hourly", "2026-12-07T12:34:56Z", "2026-12-07T13:00:00Z",
	    "2026-12-07T12:00:00Z" },
	/* next is strictly after, prev at or before. */
	{ "hourly", "2026-12-07T12:00:00Z", "2026-12-07T13:00:00Z",
	    "2026-12-07T12:00:00Z" },
	{ "@hourly", "2026-12-07T23:59:59Z", "2026-12-08T00:00:00Z",
	    "2026-12-07T23:00:00Z" },
	{ "Mon..Fri 22:00", "2026-12-04T23:00:00Z", "2026-12-07T22:00:00Z",
	    "2026-12-04T22:00:00Z" },
	{ "mon..FRI 22:00", "2026-12-08T21:59:59Z", "2026-12-08T22:00:00Z",
	    "2026-12-07T22:00:00Z" },
	{ "Sun 04:00", "2026-12-07T12:00:00Z", "2026-12-13T04:00:00Z",
	    "2026-12-06T04:00:00Z" },
	{ "Mon,Wed 01:00", "2026-12-07T12:00:00Z", "2026-12-09T01:00:00Z",
	    "2026-12-07T01:00:00Z" },
	/* A range past Sunday wraps: Fri, Sat, Sun, Mon. */
	{ "Fri..Mon 1:00", "2026-12-09T12:00:00Z", "2026-12-11T01:00:00Z",
	    "2026-12-07T01:00:00Z" },
	{ "Mon..Wed,Sat 06:15", "2026-12-10T00:00:00Z", "2026-12-12T06:15:00Z",
	    "2026-12-09T06:15:00Z" },
	{ "weekly", "2026-12-07T12:00:00Z", "2026-12-13T00:00:00Z",
	    "2026-12-06T00:00:00Z" },
	{ "@weekly", "2026-12-07T12:00:00Z", "2026-12-13T00:00:00Z",
	    "2026-12-06T00:00:00Z" },
	{ "monthly", "2026-12-07T12:00:00Z", "2027-01-01T00:00:00Z",
	    "2026-12-01T00:00:00Z" },
	{ "@monthly", "2026-12-07T12:00:00Z", "2027-01-01T00:00:00Z",
	    "2026-12-01T00:00:00Z" },
	{ "yearly", "2026-12-07T12:00:00Z", "2027-01-01T00:00:00Z",
	    "2026-01-01T00:00:00Z" },
	{ "@yearly", "2026-12-07T12:00:00Z", "2027-01-01T00:00:00Z",
	    "2026-01-01T00:00:00Z" },
	{ "@annually", "2026-12-07T12:00:00Z", "2027-01-01T00:00:00Z",
	    "2026-01-01T00:00:00Z" },
	{ "*/15 * * * *", "2026-12-07T12:07:00Z", "2026-12-07T12:15:00Z",
	    "2026-12-07T12:00:00Z" },
	{ "* * * * *", "2026-12-07T12:07:30Z", "2026-12-07T12:08:00Z",
	    "2026-12-07T12:07:00Z" },
	{ "5,35 */6 * * *", "2026-12-07T12:36:00Z", "2026-12-07T18:05:00Z",
	    "2026-12-07T12:35:00Z" },
	/* Hours 9, 13, 17 on weekdays; 2026-12-11 is a Friday. */
	{ "0 9-17/4 * * Mon-Fri", "2026-12-11T17:30:00Z",
	    "2026-12-14T09:00:00Z", "2026-12-11T17:00:00Z" },
	{ "30 2 * Jan,JUL *", "2026-12-07T00:00:00Z", "2027-01-01T02:30:00Z",
	    "2026-07-31T02:30:00Z" },
	{ "0 0 1 jan *", "2026-12-07T00:00:00Z", "2027-01-01T00:00:00Z",
	    "2026-01-01T00:00:00Z" },
	/* DOW 7 and 0 are Sunday. */
	{ "0 0 * * 7", "2026-12-07T00:00:00Z", "2026-12-13T00:00:00Z",
	    "2026-12-06T00:00:00Z" },
	{ "0 0 * * 0", "2026-12-07T00:00:00Z", "2026-12-13T00:00:00Z",
	    "2026-12-06T00:00:00Z" },
	/* Both restricted: the 13th OR a Friday (12-13 is a Sunday). */
	{ "0 0 13 * Fri", "2026-12-07T00:00:00Z", "2026-12-11T00:00:00Z",
	    "2026-12-04T00:00:00Z" },
	{ "0 0 13 * Fri", "2026-12-12T12:00:00Z", "2026-12-13T00:00:00Z",
	    "2026-12-11T00:00:00Z" },
	/*
	 * DOM starts with '*': both must hold, the 1st, 11th, 21st or 31st
	 * that is a Monday: 2026-09-21, then 2026-12-21.
	 */
	{ "0 0 */10 * Mon", "2026-12-07T00:00:00Z", "2026-12-21T00:00:00Z",
	    "2026-09-21T00:00:00Z" },
	/* April has no 31st, but Mondays: cron's OR. */
	{ "0 0 31 4 Mon", "2026-12-07T00:00:00Z", "2027-04-05T00:00:00Z",
	    "2026-04-27T00:00:00Z" },
};

START_TEST(test_every_form)
{
	expect_times(forms[_i].text, "UTC", forms[_i].at, forms[_i].next,
	    forms[_i].prev);
}
END_TEST

START_TEST(test_month_and_year_ends)
{
	/* The 31st skips the months without one. */
	expect_times("0 0 31 * *", "UTC", "2026-12-31T00:00:00Z",
	    "2027-01-31T00:00:00Z", "2026-12-31T00:00:00Z");
	expect_times("0 0 31 * *", "UTC", "2027-01-31T00:00:00Z",
	    "2027-03-31T00:00:00Z", "2027-01-31T00:00:00Z");
	expect_times("0 0 31 * *", "UTC", "2027-05-01T00:00:00Z",
	    "2027-05-31T00:00:00Z", "2027-03-31T00:00:00Z");
	expect_times("0 0 30 * *", "UTC", "2027-01-30T00:00:00Z",
	    "2027-03-30T00:00:00Z", "2027-01-30T00:00:00Z");
	expect_times("monthly", "UTC", "2026-12-31T23:59:59Z",
	    "2027-01-01T00:00:00Z", "2026-12-01T00:00:00Z");
	expect_times("monthly", "UTC", "2027-02-28T12:00:00Z",
	    "2027-03-01T00:00:00Z", "2027-02-01T00:00:00Z");
	expect_times("daily 23:59", "UTC", "2026-12-31T23:59:00Z",
	    "2027-01-01T23:59:00Z", "2026-12-31T23:59:00Z");
	expect_times("daily 23:59", "UTC", "2027-01-01T00:00:00Z",
	    "2027-01-01T23:59:00Z", "2026-12-31T23:59:00Z");
	/* In Berlin the year ends an hour before UTC's. */
	expect_times("yearly", "Europe/Berlin", "2026-12-31T22:59:59Z",
	    "2026-12-31T23:00:00Z", "2025-12-31T23:00:00Z");
}
END_TEST

START_TEST(test_leap_days)
{
	/* 29 February: leap years only, and 2100 is not one. */
	expect_times("0 12 29 2 *", "UTC", "2026-12-07T00:00:00Z",
	    "2028-02-29T12:00:00Z", "2024-02-29T12:00:00Z");
	expect_times("0 12 29 Feb *", "UTC", "2096-03-01T00:00:00Z",
	    "2104-02-29T12:00:00Z", "2096-02-29T12:00:00Z");
	expect_times("0 12 29 2 *", "UTC", "2103-12-31T00:00:00Z",
	    "2104-02-29T12:00:00Z", "2096-02-29T12:00:00Z");
	/* The last of February, whichever it is. */
	expect_times("0 0 28,29 2 *", "UTC", "2027-02-28T12:00:00Z",
	    "2028-02-28T00:00:00Z", "2027-02-28T00:00:00Z");
	expect_times("0 0 28,29 2 *", "UTC", "2028-02-28T12:00:00Z",
	    "2028-02-29T00:00:00Z", "2028-02-28T00:00:00Z");
	expect_times("daily 06:00", "UTC", "2028-02-28T07:00:00Z",
	    "2028-02-29T06:00:00Z", "2028-02-28T06:00:00Z");
}
END_TEST

/*
 * Europe/Berlin in 2026: CET (+1) until 2026-03-29 01:00Z, when 02:00 CET
 * becomes 03:00 CEST (+2); back at 2026-10-25 01:00Z, when 03:00 CEST
 * becomes 02:00 CET, so 02:00-02:59 happens twice.
 */
START_TEST(test_dst_berlin)
{
	const char *z = "Europe/Berlin";

	expect_times("daily 01:30", z, "2026-03-28T12:00:00Z",
	    "2026-03-29T00:30:00Z", "2026-03-28T00:30:00Z");
	/* 02:30 does not exist on 29 March: once, at 03:00 CEST. */
	expect_times("daily 02:30", z, "2026-03-28T12:00:00Z",
	    "2026-03-29T01:00:00Z", "2026-03-28T01:30:00Z");
	expect_times("daily 02:30", z, "2026-03-29T01:00:00Z",
	    "2026-03-30T00:30:00Z", "2026-03-29T01:00:00Z");
	expect_times("daily 02:30", z, "2026-03-29T00:59:59Z",
	    "2026-03-29T01:00:00Z", "2026-03-28T01:30:00Z");
	expect_times("daily 03:00", z, "2026-03-28T12:00:00Z",
	    "2026-03-29T01:00:00Z", "2026-03-28T02:00:00Z");
	/* 02:00, 02:15, 02:30, 02:45 fall into the gap: one run. */
	expect_times("*/15 * * * *", z, "2026-03-29T00:45:00Z",
	    "2026-03-29T01:00:00Z", "2026-03-29T00:45:00Z");
	expect_times("*/15 * * * *", z, "2026-03-29T01:00:00Z",
	    "2026-03-29T01:15:00Z", "2026-03-29T01:00:00Z");
	/* 02:30 happens twice on 25 October: once, the first time. */
	expect_times("daily 02:30", z, "2026-10-24T12:00:00Z",
	    "2026-10-25T00:30:00Z", "2026-10-24T00:30:00Z");
	expect_times("daily 02:30", z, "2026-10-25T00:30:00Z",
	    "2026-10-26T01:30:00Z", "2026-10-25T00:30:00Z");
	/* At the second 02:45 the run of the first 02:30 is the last. */
	expect_times("daily 02:30", z, "2026-10-25T01:45:00Z",
	    "2026-10-26T01:30:00Z", "2026-10-25T00:30:00Z");
	/* Hourly: the repeated hour runs once. */
	expect_times("hourly", z, "2026-10-25T00:00:00Z",
	    "2026-10-25T02:00:00Z", "2026-10-25T00:00:00Z");
	expect_times("hourly", z, "2026-10-25T01:30:00Z",
	    "2026-10-25T02:00:00Z", "2026-10-25T00:00:00Z");
	expect_times("Sun 02:30", z, "2026-10-19T00:00:00Z",
	    "2026-10-25T00:30:00Z", "2026-10-18T00:30:00Z");
}
END_TEST

/*
 * Australia/Sydney: AEDT (+11) until 2026-04-05 03:00 AEDT, which becomes
 * 02:00 AEST (+10) at 2026-04-04 16:00Z; on 2026-10-04 02:00 AEST becomes
 * 03:00 AEDT at 2026-10-03 16:00Z.
 */
START_TEST(test_dst_sydney)
{
	const char *z = "Australia/Sydney";

	expect_times("daily 02:30", z, "2026-04-04T00:00:00Z",
	    "2026-04-04T15:30:00Z", "2026-04-03T15:30:00Z");
	expect_times("daily 02:30", z, "2026-04-04T15:30:00Z",
	    "2026-04-05T16:30:00Z", "2026-04-04T15:30:00Z");
	expect_times("daily 02:30", z, "2026-10-03T00:00:00Z",
	    "2026-10-03T16:00:00Z", "2026-10-02T16:30:00Z");
	expect_times("daily 02:30", z, "2026-10-03T16:00:00Z",
	    "2026-10-04T15:30:00Z", "2026-10-03T16:00:00Z");
	/* New Year's Day comes 11 hours before UTC's. */
	expect_times("yearly", z, "2026-12-07T00:00:00Z",
	    "2026-12-31T13:00:00Z", "2025-12-31T13:00:00Z");
}
END_TEST

/* tz NULL is the process's own zone; a named zone leaves TZ as it was. */
START_TEST(test_local_zone_and_tz_restored)
{
	struct schedule *s = parse_ok("daily 02:30");
	time_t t;
	struct err e;

	ck_assert_int_eq(setenv("TZ", "Europe/Berlin", 1), 0);
	tzset();
	expect_times("daily 02:30", NULL, "2026-03-28T12:00:00Z",
	    "2026-03-29T01:00:00Z", "2026-03-28T01:30:00Z");
	ck_assert_int_eq(schedule_next(s, "Australia/Sydney",
	                     iso("2026-12-07T00:00:00Z"), &t, &e),
	    0);
	ck_assert_int_eq(t, iso("2026-12-07T15:30:00Z"));
	ck_assert_str_eq(getenv("TZ"), "Europe/Berlin");
	expect_times("daily 02:30", NULL, "2026-10-24T12:00:00Z",
	    "2026-10-25T00:30:00Z", NULL);
	ck_assert_int_eq(unsetenv("TZ"), 0);
	tzset();
	ck_assert_int_eq(schedule_prev(s, "UTC", iso("2026-12-07T00:00:00Z"),
	                     &t, &e),
	    0);
	ck_assert_int_eq(t, iso("2026-12-06T02:30:00Z"));
	ck_assert_ptr_null(getenv("TZ"));
	schedule_free(s);
}
END_TEST

/*
 * After a week off, prev(now) is one time: the last due one.  The tick
 * runs a job when that is later than its last run, so once, not seven
 * times; next(prev(now)) is already in the future.
 */
START_TEST(test_catch_up_is_one_run)
{
	struct schedule *s = parse_ok("daily 02:30");
	time_t last_run = iso("2026-11-30T02:30:00Z"), now, due, after;
	struct err e;

	now = iso("2026-12-07T12:00:00Z");
	ck_assert_int_eq(schedule_prev(s, "Europe/Berlin", now, &due, &e), 0);
	ck_assert_int_eq(due, iso("2026-12-07T01:30:00Z"));
	ck_assert_int_gt(due, last_run);
	ck_assert_int_eq(schedule_next(s, "Europe/Berlin", due, &after, &e), 0);
	ck_assert_int_eq(after, iso("2026-12-08T01:30:00Z"));
	ck_assert_int_gt(after, now);
	schedule_free(s);
}
END_TEST

static const struct {
	const char *text, *why;
} refused[] = {
	{ "", "it is empty" },
	{ "   ", "it is empty" },
	{ "daily 24:00", "hour 24 is out of range (0-23)" },
	{ "daily 02:60", "minute 60 is out of range (0-59)" },
	{ "daily 2:3", "'2:3' is not a time HH:MM" },
	{ "daily 02:30:00", "'02:30:00' is not a time HH:MM" },
	{ "daily 0230", "'0230' is not a time HH:MM" },
	{ "hourly 02:30",
	    "'hourly' takes no time; for one, use 'daily HH:MM' or crontab "
	    "fields" },
	{ "@daily 02:30", "'@daily' takes no time" },
	{ "Mon..Fry 22:00",
	    "'Mon..Fry' is not a day or a range of days (Mon, Tue, Wed, Thu, "
	    "Fri, Sat, Sun; Mon..Fri)" },
	{ "Monday 22:00", "'Monday' is not a day" },
	{ "Mon,,Wed 22:00", "'' is not a day" },
	{ "Mon..Fri", "the days need a time, as in 'Mon..Fri 02:30'" },
	{ "@reboot", "unknown @reboot" },
	{ "every day", "'every' is not a day" },
	{ "nightly", "unknown form" },
	{ "61 * * * *", "minute 61 is out of range (0-59)" },
	{ "* 24 * * *", "hour 24 is out of range (0-23)" },
	{ "* * 0 * *", "day of month 0 is out of range (1-31)" },
	{ "* * 32 * *", "day of month 32 is out of range (1-31)" },
	{ "* * * 13 *", "month 13 is out of range (1-12)" },
	{ "* * * Foo *",
	    "month 'Foo' is not a number or a month name (Jan..Dec)" },
	{ "* * * * 8", "day of week 8 is out of range (0-7)" },
	{ "* * * * Mon..Fri",
	    "day of week 'Mon..Fri' is not a number or a day name" },
	{ "5/15 * * * *",
	    "minute '5/15': a step follows '*' or a range (*/S, A-B/S)" },
	{ "*/0 * * * *", "minute step '0' is not a number from 1 to 60" },
	{ "*/x * * * *", "minute step 'x' is not a number from 1 to 60" },
	{ "10-5 * * * *", "minute range 10-5 goes backwards" },
	{ "1,,2 * * * *", "minute '' is not a number" },
	{ "L * * * *", "minute 'L' is not a number" },
	{ "0 0 ? * *", "day of month '?' is not a number" },
	{ "0 0 31 4 *", "no month chosen has the days of month chosen" },
	{ "0 0 30,31 2 *", "no month chosen has the days of month chosen" },
	{ "* * * * * *", "too many fields" },
	{ "* * * *", "4 fields" },
	{ "0 0 1 1 * 2027 x", "too many fields" },
};

START_TEST(test_refused)
{
	struct schedule *s = (struct schedule *)1;
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(schedule_parse(refused[_i].text, &s, &e), -1);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_null(strchr(e.msg, '\n'));
	ck_assert_msg(strstr(e.msg, refused[_i].why) != NULL,
	    "'%s': message '%s' lacks '%s'", refused[_i].text, e.msg,
	    refused[_i].why);
	/* Every refusal names the forms that work. */
	ck_assert_msg(strstr(e.msg,
	                  "; use 'hourly', 'daily HH:MM', "
	                  "'Mon..Fri HH:MM'") != NULL,
	    "'%s': message lacks the forms: %s", refused[_i].text, e.msg);
}
END_TEST

START_TEST(test_refusal_message_whole)
{
	struct schedule *s;
	char big[SCHEDULE_TEXT_MAX + 2];
	struct err e;

	ck_assert_int_eq(schedule_parse("daily 25:00", &s, &e), -1);
	ck_assert_str_eq(e.msg,
	    "'daily 25:00' is not a schedule: hour 25 is out of range "
	    "(0-23); use 'hourly', 'daily HH:MM', 'Mon..Fri HH:MM', "
	    "'Sun HH:MM', '@weekly' (or @hourly, @daily, @monthly, @yearly) "
	    "or five crontab fields such as '*/15 * * * *'");
	/* Too long: refused before any reading, the echo cut short. */
	memset(big, '*', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(schedule_parse(big, &s, &e), -1);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(e.msg, "longer than 256 bytes"));
	ck_assert_uint_lt(strlen(e.msg), 300);
	big[SCHEDULE_TEXT_MAX] = '\0';
	ck_assert_int_eq(schedule_parse(big, &s, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "unknown form"));
}
END_TEST

START_TEST(test_zone_names)
{
	static const struct {
		const char *tz, *why;
	} bad[] = {
		{ "Europe/Berln",
		    "time zone 'Europe/Berln' is unknown: there "
		    "is no /usr/share/zoneinfo/Europe/Berln" },
		{ "", "time zone is empty" },
		{ "../../etc/passwd", "must not start with '/' or hold '..'" },
		{ "Europe/../../../etc/passwd",
		    "must not start with '/' or hold '..'" },
		{ "/usr/share/zoneinfo/UTC",
		    "must not start with '/' or hold '..'" },
		{ "Europe",
		    "/usr/share/zoneinfo/Europe is not a time zone "
		    "file" },
		{ "zone.tab",
		    "/usr/share/zoneinfo/zone.tab is not a time zone "
		    "file" },
		{ "Europe/Berlin ", "is not a zone name" },
		{ "Europe/Berlin\n", "is not a zone name" },
		{ "UTC;rm", "is not a zone name" },
	};
	struct schedule *s = parse_ok("hourly");
	struct err e;
	time_t t;

	ck_assert_int_eq(schedule_tz_check("Europe/Berlin", &e), 0);
	ck_assert_int_eq(schedule_tz_check("Australia/Sydney", &e), 0);
	ck_assert_int_eq(schedule_tz_check("UTC", &e), 0);
	ck_assert_int_eq(schedule_tz_check("Etc/GMT+5", &e), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		ck_assert_int_eq(schedule_tz_check(bad[i].tz, &e), -1);
		ck_assert_int_eq(e.class, ERR_USAGE);
		ck_assert_msg(strstr(e.msg, bad[i].why) != NULL,
		    "'%s': message '%s' lacks '%s'", bad[i].tz, e.msg,
		    bad[i].why);
		/* The due-time calls refuse it the same way. */
		err_clear(&e);
		ck_assert_int_eq(schedule_next(s, bad[i].tz, 0, &t, &e), -1);
		ck_assert_int_eq(e.class, ERR_USAGE);
		ck_assert_ptr_nonnull(strstr(e.msg, bad[i].why));
	}
	schedule_free(s);
}
END_TEST

START_TEST(test_time_range)
{
	struct schedule *s = parse_ok("hourly");
	struct err e;
	time_t t;

	ck_assert_int_eq(schedule_next(s, "UTC", -1, &t, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(schedule_prev(s, "UTC", iso("9999-12-31T23:59:59Z"),
	                     &t, &e),
	    0);
	ck_assert_int_eq(t, iso("9999-12-31T23:00:00Z"));
	ck_assert_int_eq(schedule_prev(s, "UTC", (time_t)253402300800, &t, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	/* The search may go before 1970; only its start may not. */
	schedule_free(s);
	s = parse_ok("0 12 29 2 *");
	ck_assert_int_eq(schedule_prev(s, "UTC", 0, &t, &e), 0);
	ck_assert_int_eq(t, iso("1968-02-29T12:00:00Z"));
	schedule_free(s);
}
END_TEST

START_TEST(test_jitter)
{
	uint64_t v;

	/* Pinned: a job's delay must not move when coffer is upgraded. */
	ck_assert_uint_eq(schedule_jitter("nightly", "db1.example.net", 600),
	    178);
	ck_assert_uint_eq(schedule_jitter("nightly", "db2.example.net", 600),
	    128);
	ck_assert_uint_eq(schedule_jitter("hourly", "db1.example.net", 3600),
	    2617);
	ck_assert_uint_eq(schedule_jitter("nightly", "db1.example.net",
	                      UINT64_C(1) << 63),
	    UINT64_C(109360788496160578));
	ck_assert_uint_eq(schedule_jitter("nightly", "db1.example.net", 0), 0);
	ck_assert_uint_eq(schedule_jitter("nightly", "db1.example.net", 1), 0);
	ck_assert_uint_ne(schedule_jitter("ab", "c", UINT64_C(1) << 40),
	    schedule_jitter("a", "bc", UINT64_C(1) << 40));
	for (int i = 0; i < 200; i++) {
		char job[16];

		snprintf(job, sizeof(job), "job%d", i);
		v = schedule_jitter(job, "h", 7);
		ck_assert_uint_lt(v, 7);
		ck_assert_uint_eq(v, schedule_jitter(job, "h", 7));
	}
}
END_TEST

START_TEST(test_intervals)
{
	static const struct {
		const char *text;
		uint64_t hint, min;
	} iv[] = {
		{ "hourly", 3600, 3600 },
		{ "daily 02:30", 86400, 86400 },
		{ "*/15 * * * *", 900, 900 },
		{ "* * * * *", 60, 60 },
		{ "0 9,17 * * *", 57600, 28800 },
		{ "Mon..Fri 22:00", 3 * 86400, 86400 },
		{ "Sun 04:00", 7 * 86400, 7 * 86400 },
		{ "Mon,Wed 01:00", 5 * 86400, 2 * 86400 },
		{ "monthly", 31 * 86400, 28 * 86400 },
		{ "0 0 31 * *", 61 * 86400, 31 * 86400 },
		{ "yearly", 366 * 86400, 365 * 86400 },
		{ "0 12 29 2 *", 1461 * 86400, 1461 * 86400 },
	};

	for (size_t i = 0; i < sizeof(iv) / sizeof(iv[0]); i++) {
		struct schedule *s = parse_ok(iv[i].text);

		ck_assert_msg(schedule_interval_hint(s) == iv[i].hint,
		    "hint '%s': %llu, want %llu", iv[i].text,
		    (unsigned long long)schedule_interval_hint(s),
		    (unsigned long long)iv[i].hint);
		ck_assert_msg(schedule_interval_min(s) == iv[i].min,
		    "min '%s': %llu, want %llu", iv[i].text,
		    (unsigned long long)schedule_interval_min(s),
		    (unsigned long long)iv[i].min);
		schedule_free(s);
	}
}
END_TEST

Suite *schedule_suite(void);

Suite *
schedule_suite(void)
{
	Suite *s = suite_create("schedule");
	TCase *tc = tcase_create("schedule");

	tcase_add_loop_test(tc, test_every_form, 0,
	    (int)(sizeof(forms) / sizeof(forms[0])));
	tcase_add_test(tc, test_month_and_year_ends);
	tcase_add_test(tc, test_leap_days);
	tcase_add_test(tc, test_dst_berlin);
	tcase_add_test(tc, test_dst_sydney);
	tcase_add_test(tc, test_local_zone_and_tz_restored);
	tcase_add_test(tc, test_catch_up_is_one_run);
	tcase_add_loop_test(tc, test_refused, 0,
	    (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_test(tc, test_refusal_message_whole);
	tcase_add_test(tc, test_zone_names);
	tcase_add_test(tc, test_time_range);
	tcase_add_test(tc, test_jitter);
	tcase_add_test(tc, test_intervals);
	suite_add_tcase(s, tc);
	return (s);
}
