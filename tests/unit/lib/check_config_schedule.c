/*
 * The schedule keys of the configuration: [job] schedule, prune_schedule,
 * timezone and jitter, [drill] schedule.  Each is checked when the file
 * is loaded, with the exact "FILE:LINE: key: ..." message, read back with
 * its getter; config_not_yet reports those nothing acts on yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "config.h"

static char dir[64];
static char conf[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/coffer-cfgsched-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/coffer.conf", dir);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The head every case shares: lines 1-8, the job's header at line 6. */
#define HEAD                                                                   \
	"[repository local]\n"                                                 \
	"path = /var/backups/coffer\n"                                         \
	"[source etc]\n"                                                       \
	"type = files\n"                                                       \
	"paths = /etc\n"                                                       \
	"[job nightly]\n"                                                      \
	"sources = etc\n"                                                      \
	"repository = local\n"

static void
write_conf(const char *text)
{
	FILE *f;

	(void)unlink(conf);
	ck_assert_ptr_nonnull(f = fopen(conf, "w"));
	ck_assert_int_ne(fputs(text, f), EOF);
	ck_assert_int_eq(fclose(f), 0);
}

static struct config *
load_ok(const char *text)
{
	struct config *cfg = NULL;
	struct err e;

	write_conf(text);
	err_clear(&e);
	if (config_load(conf, &cfg, &e) == -1)
		ck_abort_msg("config_load failed: %s", e.msg);
	return (cfg);
}

static void
expect_err(const char *text, int line, const char *msg)
{
	struct config *cfg = (struct config *)1;
	char want[ERR_MSG_MAX + 160];
	struct err e;

	snprintf(want, sizeof(want), "%s:%d: %s", conf, line, msg);
	write_conf(text);
	err_clear(&e);
	ck_assert_int_eq(config_load(conf, &cfg, &e), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_int_eq(e.class, ERR_CONFIG);
	ck_assert_str_eq(e.msg, want);
}

static void
count_warning(void *arg, const char *msg)
{
	size_t *n = arg;

	(void)msg;
	(*n)++;
}

START_TEST(test_valid_keys_read_back)
{
	struct config *cfg = load_ok(HEAD "schedule = Mon..Fri 22:00\n"
	                                  "timezone = Europe/Berlin\n"
	                                  "jitter = 10m\n"
	                                  "prune_schedule = Sun 04:00\n"
	                                  "[drill weekly]\n"
	                                  "repository = local\n"
	                                  "schedule = 0 4 * * 0\n");
	const struct config_section *job, *drill;
	uint64_t u;
	size_t n = 0;

	job = config_section_find(cfg, CONFIG_JOB, "nightly");
	drill = config_section_find(cfg, CONFIG_DRILL, "weekly");
	ck_assert_str_eq(config_get_str(job, "schedule"), "Mon..Fri 22:00");
	ck_assert_str_eq(config_get_str(job, "timezone"), "Europe/Berlin");
	ck_assert_str_eq(config_get_str(job, "prune_schedule"), "Sun 04:00");
	ck_assert_int_eq(config_get_duration(job, "jitter", &u), 0);
	ck_assert_uint_eq(u, 600);
	ck_assert_str_eq(config_get_str(drill, "schedule"), "0 4 * * 0");
	ck_assert_int_eq(config_key_line(job, "timezone"), 10);
	/* None: the scheduler acts on schedule, prune_schedule, timezone
	 * and jitter, and on a drill's schedule. */
	ck_assert_uint_eq(config_not_yet(cfg, count_warning, &n), 0);
	ck_assert_uint_eq(n, 0);
	config_free(cfg);

	/* Unset: no value, no default. */
	cfg = load_ok(HEAD);
	job = config_section_find(cfg, CONFIG_JOB, "nightly");
	ck_assert_ptr_null(config_get_str(job, "timezone"));
	ck_assert_ptr_null(config_get_str(job, "prune_schedule"));
	ck_assert_int_eq(config_get_duration(job, "jitter", &u), -1);
	config_free(cfg);
}
END_TEST

START_TEST(test_bad_values_at_their_line)
{
	expect_err(HEAD "schedule = daily 25:00\n", 9,
	    "schedule: 'daily 25:00' is not a schedule: hour 25 is out of "
	    "range (0-23); use 'hourly', 'daily HH:MM', 'Mon..Fri HH:MM', "
	    "'Sun HH:MM', '@weekly' (or @hourly, @daily, @monthly, @yearly) "
	    "or five crontab fields such as '*/15 * * * *'");
	expect_err(HEAD "schedule = daily 02:30\n"
	                "prune_schedule = Sun\n",
	    10,
	    "prune_schedule: 'Sun' is not a schedule: the days need a time, "
	    "as in 'Sun 02:30'; use 'hourly', 'daily HH:MM', 'Mon..Fri "
	    "HH:MM', 'Sun HH:MM', '@weekly' (or @hourly, @daily, @monthly, "
	    "@yearly) or five crontab fields such as '*/15 * * * *'");
	expect_err(HEAD "timezone = Europe/Berln\n", 9,
	    "timezone: time zone 'Europe/Berln' is unknown: there is no "
	    "/usr/share/zoneinfo/Europe/Berln; use a name such as "
	    "Europe/Berlin or UTC (timedatectl list-timezones)");
	expect_err(HEAD "timezone = ../../etc/passwd\n", 9,
	    "timezone: time zone '../../etc/passwd' is not a zone name: it "
	    "must not start with '/' or hold '..'; use a name under "
	    "/usr/share/zoneinfo/ such as Europe/Berlin");
	expect_err(HEAD "jitter = soon\n", 9,
	    "jitter: 'soon' is not a duration (e.g. 90, 30s, 5m, 2h, 1d)");
	expect_err(HEAD "schedule =\n", 9,
	    "schedule: no value; expected a schedule (e.g. daily 02:30, "
	    "Mon..Fri 22:00, */15 * * * *)");
	expect_err(HEAD "[drill weekly]\n"
	                "repository = local\n"
	                "schedule = 0 4 * * Sunday\n",
	    11,
	    "schedule: '0 4 * * Sunday' is not a schedule: day of week "
	    "'Sunday' is not a number or a day name (Sun..Sat); use 'hourly', "
	    "'daily HH:MM', 'Mon..Fri HH:MM', 'Sun HH:MM', '@weekly' (or "
	    "@hourly, @daily, @monthly, @yearly) or five crontab fields such "
	    "as '*/15 * * * *'");
	/* [global] has no such keys. */
	expect_err("[global]\ntimezone = UTC\n", 2,
	    "unknown key 'timezone' in [global]");
}
END_TEST

START_TEST(test_jitter_shorter_than_interval)
{
	struct config *cfg;

	expect_err(HEAD "schedule = */15 * * * *\n"
	                "jitter = 15m\n",
	    10,
	    "jitter: 15m is not shorter than the 15m between two runs of "
	    "schedule '*/15 * * * *' (line 9); a delayed run would pass the "
	    "next one");
	/* The shortest gap counts: 9:00 and 17:00 are 8h apart. */
	expect_err(HEAD "jitter = 8h\n"
	                "schedule = 0 9,17 * * *\n",
	    9,
	    "jitter: 8h is not shorter than the 8h between two runs of "
	    "schedule '0 9,17 * * *' (line 10); a delayed run would pass the "
	    "next one");
	expect_err(HEAD "schedule = daily 02:30\n"
	                "prune_schedule = hourly\n"
	                "jitter = 2h\n",
	    11,
	    "jitter: 2h is not shorter than the 1h between two runs of "
	    "prune_schedule 'hourly' (line 10); a delayed run would pass the "
	    "next one");
	cfg = load_ok(HEAD "schedule = */15 * * * *\n"
	                   "jitter = 14m59s\n");
	config_free(cfg);
	cfg = load_ok(HEAD "jitter = 0\n");
	config_free(cfg);
}
END_TEST

Suite *config_schedule_suite(void);

Suite *
config_schedule_suite(void)
{
	Suite *s = suite_create("config_schedule");
	TCase *tc = tcase_create("keys");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_valid_keys_read_back);
	tcase_add_test(tc, test_bad_values_at_their_line);
	tcase_add_test(tc, test_jitter_shorter_than_interval);
	suite_add_tcase(s, tc);
	return (s);
}
