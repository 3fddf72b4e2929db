/*
 * Schedules: when a job (or drill) is due.  Parses the forms coffer.conf(5)
 * documents for `schedule` and `prune_schedule`, checks `timezone` names,
 * and computes due times in a named time zone with fixed rules for DST.
 * It lives in lib/ because config_load validates these keys and lib/
 * includes nothing above it; the scheduler builds on it.
 *
 * Accepted forms (words and day names are case-insensitive):
 *   hourly                  minute 0 of every hour (= @hourly)
 *   daily [HH:MM]           every day at HH:MM, default 00:00 (= @daily)
 *   weekly                  Sunday 00:00 (= @weekly, as in cron)
 *   monthly                 the 1st at 00:00 (= @monthly)
 *   yearly                  1 January 00:00 (= @yearly, @annually)
 *   DAYS HH:MM              DAYS a comma list of Mon..Sun names or ranges
 *                           (Mon..Fri, Fri..Mon wraps): Mon,Wed 01:00
 *   @hourly @daily @midnight @weekly @monthly @yearly @annually
 *   MIN HOUR DOM MON DOW    five crontab(5) fields: '*', N, N-M, '*' /S,
 *                           N-M/S, comma lists, month names Jan..Dec, day
 *                           names Sun..Sat, DOW 0-7 (0 and 7 are Sunday).
 *                           When both DOM and DOW are restricted (neither
 *                           starts with '*'), a day matches either one,
 *                           as cron does; otherwise both.
 * A DOM that no chosen month has (31 in April, 30 in February) is refused;
 * 29 February is due in leap years only.
 *
 * Time zones.  glibc has no reentrant "local time in zone Z", so
 * schedule_next and schedule_prev switch the process's TZ variable to the
 * zone's file (TZ=/usr/share/zoneinfo/NAME, the file schedule_tz_check
 * verified), call tzset, work with localtime_r, then restore the caller's
 * TZ (or its absence) and call tzset again.  setenv and tzset are not
 * thread-safe: call them only while no other thread of the process runs
 * or reads the local time (the scheduler computes due times between jobs,
 * never beside a running repository).  With tz NULL nothing is switched:
 * the process's own local time is used (TZ if set, else /etc/localtime).
 *
 * DST: every due time is a wall-clock time in the zone.  One that does
 * not exist (skipped by a spring-forward gap) is due once, at the first
 * instant after the gap; one that exists twice (fall back) is due once,
 * at its first occurrence.  So several wall times inside one gap share
 * one due time, and an hourly schedule skips the repeated hour.  The
 * rules assume at most one offset change within three days, which every
 * zone has kept since 1970.
 */
#ifndef COFFER_SCHEDULE_H
#define COFFER_SCHEDULE_H

#include <stdint.h>
#include <time.h>

#include "err.h"

struct schedule;

/* The longest schedule text accepted, in bytes. */
#define SCHEDULE_TEXT_MAX 256

/* The longest zone name accepted, in bytes. */
#define SCHEDULE_TZ_MAX 128

/*
 * Parse text, one of the forms above.  On success *sp is a new schedule
 * (free with schedule_free; one fixed-size allocation) and 0 is returned.
 * On failure *sp is NULL, -1 is returned and e holds one line of class
 * ERR_USAGE: "'TEXT' is not a schedule: WHAT; use ..." naming what is
 * wrong and the accepted forms.  Bounded: no recursion, the text is read
 * once and at most SCHEDULE_TEXT_MAX bytes of it.
 */
int schedule_parse(const char *text, struct schedule **sp, struct err *e);

/* Free a schedule; NULL is fine. */
void schedule_free(struct schedule *);

/*
 * Is tz a time zone this machine has?  A name of [A-Za-z0-9/_+.-], not
 * starting with '/', with no ".." component, at most SCHEDULE_TZ_MAX
 * bytes, naming a regular file under /usr/share/zoneinfo that starts with
 * the TZif magic.  0 if so; else -1 with e (ERR_USAGE): "time zone 'TZ'
 * ...: WHY" and what to do.
 */
int schedule_tz_check(const char *tz, struct err *e);

/*
 * The first due time of s strictly after `after`, in zone tz (NULL: the
 * process's local time; see above), into *out.  0, or -1 with e: ERR_USAGE
 * for a tz schedule_tz_check refuses or an `after` outside 1970-9999,
 * ERR_INTERNAL if nothing is due within 41 years (parse refuses every
 * schedule that could be).  Switches TZ while it runs: see above.
 */
int schedule_next(const struct schedule *s, const char *tz, time_t after,
    time_t *out, struct err *e);

/*
 * The most recent due time of s at or before `at`, in zone tz, into *out:
 * one time, however many were missed before it (a tick after downtime runs
 * the job once).  0, or -1 with e as for schedule_next (also when no due
 * time lies within the 41 years before `at`).
 */
int schedule_prev(const struct schedule *s, const char *tz, time_t at,
    time_t *out, struct err *e);

/*
 * A delay in [0, max_seconds) fixed for the pair (job, host): a 64-bit
 * FNV-1a hash of job, a NUL and host, mixed (splitmix64's finaliser) and
 * reduced.  The same on every run and machine word order; 0 when
 * max_seconds is 0.  job and host must not be NULL.
 */
uint64_t schedule_jitter(const char *job, const char *host,
    uint64_t max_seconds);

/*
 * The nominal interval of s in seconds: the longest wall-clock time between
 * two consecutive due times, ignoring DST (24 h for "daily", 72 h for
 * "Mon..Fri 22:00", 31 days for "monthly", four years for 29 February),
 * taken over 2001-2028 (a whole cycle of weekdays and leap years), or over
 * 2001-2128 for days that come fewer than twice in those years (40 years
 * for 29 February on a Sunday).  For "overdue after 1.5 times its
 * interval".
 */
uint64_t schedule_interval_hint(const struct schedule *s);

/*
 * The shortest wall-clock time between two consecutive due times of s, in
 * seconds, over the same years (900 for every quarter hour).  A jitter must
 * be shorter, or the delayed run would pass the next due time.
 */
uint64_t schedule_interval_min(const struct schedule *s);

#endif
