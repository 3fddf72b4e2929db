/*
 * Schedules: a parser for the forms in schedule.h into five bit sets (as
 * cron keeps them), and a search over calendar days for due times.  Days
 * are counted in the proleptic Gregorian calendar without any time zone;
 * only turning a day's wall-clock time into an instant asks the zone.
 */
#include "schedule.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "xmalloc.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define ZONEINFO "/usr/share/zoneinfo/"

/* What parse errors end with: the accepted forms, briefly. */
#define FORMS                                                                  \
	"use 'hourly', 'daily HH:MM', 'Mon..Fri HH:MM', 'Sun HH:MM', "         \
	"'@weekly' (or @hourly, @daily, @monthly, @yearly) or five crontab "   \
	"fields such as '*/15 * * * *'"

/*
 * Forty-one years of days.  Days of the month and of the week both
 * restricted, one of them by a step on "*" (a week-day field "* /7",
 * without the space), run when both match: 29 February on a Sunday came
 * in 2088 and comes again in 2128, forty years on, the longest wait in the
 * 400-year cycle of the calendar.
 */
#define SEARCH_DAYS (41 * 366)

/* Due times are looked for from 1970 to 9999. */
#define T_MAX ((int64_t)253402300799) /* 9999-12-31T23:59:59Z */

#define DAY 86400

struct schedule {
	uint64_t minutes; /* bit m: minute m, 0-59 */
	uint32_t hours;   /* bit h: hour h, 0-23 */
	uint32_t mdays;   /* bit d: day d of the month, 1-31 */
	uint16_t months;  /* bit m: month m, 1-12 */
	uint8_t wdays;    /* bit d: weekday d, 0 = Sunday */
	uint8_t or_days;  /* DOM and DOW both restricted: either matches */
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may",
	"jun", "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat" };
static const int month_days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	31 };

#define ALL_MINUTES ((UINT64_C(1) << 60) - 1)
#define ALL_HOURS   ((UINT32_C(1) << 24) - 1)
#define ALL_MDAYS   (((UINT32_C(1) << 31) - 1) << 1)
#define ALL_MONTHS  ((uint16_t)(((1u << 12) - 1) << 1))
#define ALL_WDAYS   ((uint8_t)((1u << 7) - 1))

/* ------------------------------------------------------------ parsing */

/* The forms that stand alone, as crontab fields. */
static const struct {
	const char *word;
	int minute, hour, mday, month, wday; /* -1: every */
} words[] = {
	{ "hourly", 0, -1, -1, -1, -1 },
	{ "@hourly", 0, -1, -1, -1, -1 },
	{ "daily", 0, 0, -1, -1, -1 },
	{ "@daily", 0, 0, -1, -1, -1 },
	{ "@midnight", 0, 0, -1, -1, -1 },
	{ "weekly", 0, 0, -1, -1, 0 },
	{ "@weekly", 0, 0, -1, -1, 0 },
	{ "monthly", 0, 0, 1, -1, -1 },
	{ "@monthly", 0, 0, 1, -1, -1 },
	{ "yearly", 0, 0, 1, 1, -1 },
	{ "@yearly", 0, 0, 1, 1, -1 },
	{ "@annually", 0, 0, 1, 1, -1 },
};

static int
is_digit(int c)
{
	return (c >= '0' && c <= '9');
}

/* A name of names[0..n) at s, case-insensitively, exactly len bytes. */
static int
name_index(const char *s, size_t len, const char *const *names, size_t n)
{
	if (len != 3)
		return (-1);
	for (size_t i = 0; i < n; i++)
		if (strncasecmp(s, names[i], 3) == 0)
			return ((int)i);
	return (-1);
}

/* A decimal number of 1 to 3 digits, exactly len bytes; -1 if not. */
static int
small_number(const char *s, size_t len)
{
	int v = 0;

	if (len == 0 || len > 3)
		return (-1);
	for (size_t i = 0; i < len; i++) {
		if (!is_digit((unsigned char)s[i]))
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	return (v);
}

/* "HH:MM" (or "H:MM") into *h, *m; -1 with why filled if not. */
static int
parse_time(const char *s, int *h, int *m, char *why, size_t size)
{
	const char *colon = strchr(s, ':');
	size_t hl, ml;

	if (colon == NULL || strchr(colon + 1, ':') != NULL) {
		snprintf(why, size, "'%.16s' is not a time HH:MM", s);
		return (-1);
	}
	hl = (size_t)(colon - s);
	ml = strlen(colon + 1);
	if (hl < 1 || hl > 2 || ml != 2 || (*h = small_number(s, hl)) < 0 ||
	    (*m = small_number(colon + 1, ml)) < 0) {
		snprintf(why, size, "'%.16s' is not a time HH:MM", s);
		return (-1);
	}
	if (*h > 23) {
		snprintf(why, size, "hour %d is out of range (0-23)", *h);
		return (-1);
	}
	if (*m > 59) {
		snprintf(why, size, "minute %d is out of range (0-59)", *m);
		return (-1);
	}
	return (0);
}

/*
 * A list of day names and NAME..NAME ranges ("Mon..Fri,Sun"); a range
 * that goes past Sunday wraps (Fri..Mon).  0 with *set, or -1 with why.
 */
static int
parse_days(const char *s, uint8_t *set, char *why, size_t size)
{
	const char *item = s, *end, *dots;
	int a, b;

	*set = 0;
	for (;;) {
		end = strchr(item, ',');
		if (end == NULL)
			end = item + strlen(item);
		dots = strstr(item, "..");
		if (dots != NULL && dots >= end)
			dots = NULL;
		if (dots == NULL) {
			a = name_index(item, (size_t)(end - item), day_names,
			    NELEM(day_names));
			b = a;
		} else {
			a = name_index(item, (size_t)(dots - item), day_names,
			    NELEM(day_names));
			b = name_index(dots + 2, (size_t)(end - dots - 2),
			    day_names, NELEM(day_names));
		}
		if (a < 0 || b < 0) {
			snprintf(why, size,
			    "'%.*s' is not a day or a range of days (Mon, "
			    "Tue, Wed, Thu, Fri, Sat, Sun; Mon..Fri)",
			    (int)(end - item > 24 ? 24 : end - item), item);
			return (-1);
		}
		for (int d = a;; d = (d + 1) % 7) {
			*set |= (uint8_t)(1u << d);
			if (d == b)
				break;
		}
		if (*end == '\0')
			return (0);
		item = end + 1;
	}
}

struct field {
	const char *what; /* for messages */
	int lo, hi;
	const char *const *names; /* NULL, or names of lo, lo + 1, ... */
	size_t nnames;
	int name_base; /* the value of names[0] */
};

static const struct field fields[] = {
	{ "minute", 0, 59, NULL, 0, 0 },
	{ "hour", 0, 23, NULL, 0, 0 },
	{ "day of month", 1, 31, NULL, 0, 0 },
	{ "month", 1, 12, month_names, NELEM(month_names), 1 },
	{ "day of week", 0, 7, day_names, NELEM(day_names), 0 },
};

/* A number or a name of f, exactly len bytes; -1 with why if neither. */
static int
field_value(const struct field *f, const char *s, size_t len, char *why,
    size_t size)
{
	int v = small_number(s, len), n;

	if (v < 0 && f->names != NULL &&
	    (n = name_index(s, len, f->names, f->nnames)) >= 0)
		return (n + f->name_base);
	if (v < 0) {
		snprintf(why, size, "%s '%.*s' is not a number%s", f->what,
		    (int)(len > 16 ? 16 : len), s,
		    f->names == NULL ? ""
		        : f->names == month_names
		        ? " or a month name (Jan..Dec)"
		        : " or a day name (Sun..Sat)");
		return (-1);
	}
	if (v < f->lo || v > f->hi) {
		snprintf(why, size, "%s %d is out of range (%d-%d)", f->what, v,
		    f->lo, f->hi);
		return (-1);
	}
	return (v);
}

/*
 * One crontab field: a comma list of '*', N, N-M, each optionally /STEP
 * after '*' or a range.  Bit v of *bits for each value v chosen.
 */
static int
parse_field(const struct field *f, const char *s, uint64_t *bits, char *why,
    size_t size)
{
	const char *item = s, *end, *slash, *dash, *vend;
	int a, b, step;

	*bits = 0;
	for (;;) {
		end = strchr(item, ',');
		if (end == NULL)
			end = item + strlen(item);
		slash = memchr(item, '/', (size_t)(end - item));
		vend = slash != NULL ? slash : end;
		step = 1;
		if (slash != NULL &&
		    ((step = small_number(slash + 1,
		          (size_t)(end - slash - 1))) < 1 ||
		        step > f->hi - f->lo + 1)) {
			snprintf(why, size,
			    "%s step '%.*s' is not a number from 1 to %d",
			    f->what,
			    (int)(end - slash - 1 > 16 ? 16 : end - slash - 1),
			    slash + 1, f->hi - f->lo + 1);
			return (-1);
		}
		if (vend - item == 1 && item[0] == '*') {
			a = f->lo;
			b = f->hi;
		} else {
			dash = memchr(item, '-', (size_t)(vend - item));
			if (dash == NULL && slash != NULL) {
				snprintf(why, size,
				    "%s '%.*s': a step follows '*' or a range "
				    "(*/S, A-B/S)",
				    f->what,
				    (int)(end - item > 16 ? 16 : end - item),
				    item);
				return (-1);
			}
			if ((a = field_value(f, item,
			         (size_t)((dash != NULL ? dash : vend) - item),
			         why, size)) < 0)
				return (-1);
			b = a;
			if (dash != NULL &&
			    (b = field_value(f, dash + 1,
			         (size_t)(vend - dash - 1), why, size)) < 0)
				return (-1);
			if (b < a) {
				snprintf(why, size,
				    "%s range %d-%d goes backwards", f->what, a,
				    b);
				return (-1);
			}
		}
		for (int v = a; v <= b; v += step)
			*bits |= UINT64_C(1) << v;
		if (*end == '\0')
			return (0);
		item = end + 1;
	}
}

static void
set_all(struct schedule *s)
{
	s->minutes = ALL_MINUTES;
	s->hours = ALL_HOURS;
	s->mdays = ALL_MDAYS;
	s->months = ALL_MONTHS;
	s->wdays = ALL_WDAYS;
	s->or_days = 0;
}

static int
parse_cron(struct schedule *s, char **f, char *why, size_t size)
{
	uint64_t bits[5];
	int feasible = 0;

	for (size_t i = 0; i < 5; i++)
		if (parse_field(&fields[i], f[i], &bits[i], why, size) == -1)
			return (-1);
	s->minutes = bits[0];
	s->hours = (uint32_t)bits[1];
	s->mdays = (uint32_t)bits[2];
	s->months = (uint16_t)bits[3];
	/* 7 is Sunday too. */
	s->wdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & ALL_WDAYS);
	/* As cron: a field starting with '*' leaves the other in charge. */
	s->or_days = f[2][0] != '*' && f[4][0] != '*';
	if (s->or_days)
		return (0);
	for (int m = 1; m <= 12; m++)
		for (int d = 1; d <= month_days[m - 1]; d++)
			if ((s->months >> m & 1) && (s->mdays >> d & 1))
				feasible = 1;
	if (!feasible) {
		snprintf(why, size,
		    "no month chosen has the days of month chosen");
		return (-1);
	}
	return (0);
}

/*
 * A word alone ("hourly", "@weekly", ...) or "daily HH:MM" (n is 1 or 2).
 * 0 with s set, or -1 with why.
 */
static int
parse_word(struct schedule *s, char **tok, size_t n, char *why, size_t size)
{
	uint8_t days;
	int h, m;

	for (size_t i = 0; i < NELEM(words); i++) {
		if (strcasecmp(tok[0], words[i].word) != 0)
			continue;
		s->minutes = UINT64_C(1) << words[i].minute;
		if (words[i].hour >= 0)
			s->hours = UINT32_C(1) << words[i].hour;
		if (words[i].mday >= 0)
			s->mdays = UINT32_C(1) << words[i].mday;
		if (words[i].month >= 0)
			s->months = (uint16_t)(1u << words[i].month);
		if (words[i].wday >= 0)
			s->wdays = (uint8_t)(1u << words[i].wday);
		if (n == 1)
			return (0);
		if (parse_time(tok[1], &h, &m, why, size) == -1)
			return (-1);
		s->minutes = UINT64_C(1) << m;
		s->hours = UINT32_C(1) << h;
		return (0);
	}
	if (tok[0][0] == '@')
		snprintf(why, size, "unknown %.16s", tok[0]);
	else if (parse_days(tok[0], &days, why, size) == 0)
		snprintf(why, size, "the days need a time, as in '%.24s 02:30'",
		    tok[0]);
	else
		snprintf(why, size, "unknown form");
	return (-1);
}

int
schedule_parse(const char *text, struct schedule **sp, struct err *e)
{
	struct schedule s;
	char buf[SCHEDULE_TEXT_MAX + 1], why[160], *tok[6], *p;
	size_t len = strnlen(text, SCHEDULE_TEXT_MAX + 1), n = 0;
	int h, m;

	*sp = NULL;
	why[0] = '\0';
	if (len > SCHEDULE_TEXT_MAX)
		return (err_set(e, ERR_USAGE,
		    "'%.32s...' is not a schedule: longer than %d bytes; %s",
		    text, SCHEDULE_TEXT_MAX, FORMS));
	memcpy(buf, text, len + 1);
	for (p = buf; n < NELEM(tok);) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		tok[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	while (*p == ' ' || *p == '\t')
		p++;
	memset(&s, 0, sizeof(s));
	set_all(&s);
	if (n == 0) {
		snprintf(why, sizeof(why), "it is empty");
	} else if (*p != '\0' || n == 6) {
		snprintf(why, sizeof(why), "too many fields");
	} else if (n == 5) {
		if (parse_cron(&s, tok, why, sizeof(why)) == 0)
			goto ok;
	} else if (n == 1 || (n == 2 && strcasecmp(tok[0], "daily") == 0)) {
		if (parse_word(&s, tok, n, why, sizeof(why)) == 0)
			goto ok;
	} else if (n == 2) {
		for (size_t i = 0; i < NELEM(words) && why[0] == '\0'; i++)
			if (strcasecmp(tok[0], words[i].word) == 0)
				snprintf(why, sizeof(why),
				    "'%.16s' takes no time; for one, use "
				    "'daily HH:MM' or crontab fields",
				    tok[0]);
		if (why[0] == '\0' &&
		    parse_days(tok[0], &s.wdays, why, sizeof(why)) == 0 &&
		    parse_time(tok[1], &h, &m, why, sizeof(why)) == 0) {
			s.minutes = UINT64_C(1) << m;
			s.hours = UINT32_C(1) << h;
			goto ok;
		}
	} else {
		snprintf(why, sizeof(why), "%zu fields", n);
	}
	return (err_set(e, ERR_USAGE, "'%.64s' is not a schedule: %s; %s", text,
	    why, FORMS));
ok:
	*sp = xmalloc(sizeof(**sp));
	**sp = s;
	return (0);
}

void
schedule_free(struct schedule *s)
{
	free(s);
}

/* ---------------------------------------------------------- time zones */

int
schedule_tz_check(const char *tz, struct err *e)
{
	char path[sizeof(ZONEINFO) + SCHEDULE_TZ_MAX];
	unsigned char magic[4];
	struct stat st;
	size_t len;
	ssize_t r;
	int fd;

	len = strnlen(tz, SCHEDULE_TZ_MAX + 1);
	if (len == 0)
		return (err_set(e, ERR_USAGE,
		    "time zone is empty; use a name such as Europe/Berlin or "
		    "UTC"));
	if (len > SCHEDULE_TZ_MAX)
		return (err_set(e, ERR_USAGE,
		    "time zone '%.32s...' is longer than %d bytes", tz,
		    SCHEDULE_TZ_MAX));
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tz[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        is_digit(c) || c == '/' || c == '_' || c == '+' ||
		        c == '-' || c == '.'))
			return (err_set(e, ERR_USAGE,
			    "time zone '%.64s' is not a zone name: it may hold "
			    "only letters, digits and / _ + - .; use a name "
			    "such as Europe/Berlin or UTC",
			    tz));
	}
	if (tz[0] == '/' || strstr(tz, "..") != NULL)
		return (err_set(e, ERR_USAGE,
		    "time zone '%.64s' is not a zone name: it must not start "
		    "with '/' or hold '..'; use a name under %s such as "
		    "Europe/Berlin",
		    tz, ZONEINFO));
	snprintf(path, sizeof(path), "%s%s", ZONEINFO, tz);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1 && (errno == ENOENT || errno == ENOTDIR))
		return (err_set(e, ERR_USAGE,
		    "time zone '%.64s' is unknown: there is no %s; use a name "
		    "such as Europe/Berlin or UTC (timedatectl "
		    "list-timezones)",
		    tz, path));
	if (fd == -1)
		return (
		    err_sys(e, ERR_USAGE, "time zone '%.64s': %s", tz, path));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (r = read(fd, magic, sizeof(magic))) != (ssize_t)sizeof(magic) ||
	    memcmp(magic, "TZif", 4) != 0) {
		close(fd);
		return (err_set(e, ERR_USAGE,
		    "time zone '%.64s' is unknown: %s is not a time zone file; "
		    "use a name such as Europe/Berlin or UTC (timedatectl "
		    "list-timezones)",
		    tz, path));
	}
	close(fd);
	return (0);
}

/* The caller's TZ while ours is in force. */
struct tz_saved {
	int active;
	char *old; /* NULL: TZ was unset */
};

static int
tz_enter(const char *tz, struct tz_saved *sv, struct err *e)
{
	char spec[1 + sizeof(ZONEINFO) + SCHEDULE_TZ_MAX];
	const char *old;

	sv->active = 0;
	sv->old = NULL;
	if (tz == NULL) {
		tzset();
		return (0);
	}
	if (schedule_tz_check(tz, e) == -1)
		return (-1);
	/* ":/path": exactly the file checked, whatever TZDIR says. */
	snprintf(spec, sizeof(spec), ":%s%s", ZONEINFO, tz);
	if ((old = getenv("TZ")) != NULL)
		sv->old = xstrdup(old);
	if (setenv("TZ", spec, 1) == -1) {
		free(sv->old);
		sv->old = NULL;
		return (err_sys(e, ERR_INTERNAL, "setenv TZ"));
	}
	sv->active = 1;
	tzset();
	return (0);
}

static void
tz_leave(struct tz_saved *sv)
{
	if (!sv->active)
		return;
	if (sv->old != NULL)
		(void)setenv("TZ", sv->old, 1);
	else
		(void)unsetenv("TZ");
	tzset();
	free(sv->old);
	sv->old = NULL;
	sv->active = 0;
}

/* ------------------------------------------------------------ calendar */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Is day z (days since 1970-01-01) one the schedule runs on? */
static int
day_matches(const struct schedule *s, int64_t z)
{
	int64_t y;
	int m, d, wd, dm, dw;

	civil_from_days(z, &y, &m, &d);
	if (!(s->months >> m & 1))
		return (0);
	wd = (int)((z % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
	dm = (int)(s->mdays >> d & 1);
	dw = (int)(s->wdays >> wd & 1);
	return (s->or_days ? dm || dw : dm && dw);
}

/* The due minutes of a day (minute of the day), ascending; the count. */
static size_t
day_minutes(const struct schedule *s, uint16_t *mins)
{
	size_t n = 0;

	for (int h = 0; h < 24; h++)
		if (s->hours >> h & 1)
			for (int m = 0; m < 60; m++)
				if (s->minutes >> m & 1)
					mins[n++] = (uint16_t)(h * 60 + m);
	return (n);
}

/* --------------------------------------------------- wall time to UTC */

static int
utc_offset(int64_t t, long *off, struct err *e)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return (err_sys(e, ERR_INTERNAL, "localtime of %lld",
		    (long long)t));
	*off = tm.tm_gmtoff;
	return (0);
}

/*
 * The instant of the wall time `wall` (seconds since 1970 as if the zone
 * were UTC): the first instant whose wall time is at least `wall`.  That
 * is the time itself, its first occurrence when it repeats (fall back),
 * and the end of the gap when it is skipped (spring forward).  oa and ob
 * are the zone's offsets a day before and after wall's day.
 */
static int
resolve(int64_t wall, long oa, long ob, int64_t *t, struct err *e)
{
	int64_t t1 = wall - oa, t2 = wall - ob, lo, hi, mid;
	long o1 = 0, o2 = 0, o = 0;

	if (oa == ob) {
		*t = t1;
		return (0);
	}
	if (utc_offset(t1, &o1, e) == -1 || utc_offset(t2, &o2, e) == -1)
		return (-1);
	if (o1 == oa && o2 == ob)
		*t = t1 < t2 ? t1 : t2;
	else if (o1 == oa)
		*t = t1;
	else if (o2 == ob)
		*t = t2;
	else {
		/* In a gap: the first instant whose wall time passed it. */
		lo = t1 < t2 ? t1 : t2; /* wall time before `wall` */
		hi = t1 < t2 ? t2 : t1; /* wall time after it */
		while (hi - lo > 1) {
			mid = lo + (hi - lo) / 2;
			if (utc_offset(mid, &o, e) == -1)
				return (-1);
			if (mid + o >= wall)
				hi = mid;
			else
				lo = mid;
		}
		*t = hi;
	}
	return (0);
}

/* The local day (days since 1970) that holds instant t. */
static int
local_day(int64_t t, int64_t *z, struct err *e)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return (err_sys(e, ERR_INTERNAL, "localtime of %lld",
		    (long long)t));
	*z = days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday);
	return (0);
}

/*
 * Walk the days from `from` towards `dir` (+1 or -1) for at most
 * SEARCH_DAYS: the first due instant after t (dir +1, strictly) or the
 * last at or before it (dir -1).  1 when found, 0 when not, -1 on error.
 */
static int
search(const struct schedule *s, int64_t t, int dir, int64_t *out,
    struct err *e)
{
	uint16_t mins[24 * 60];
	size_t n = day_minutes(s, mins);
	int64_t z0 = 0, z, base, due = 0;
	long oa = 0, ob = 0;

	if (local_day(t, &z0, e) == -1)
		return (-1);
	/* Start a day back (forward): a gap may push a time past midnight. */
	for (int64_t k = -1; k <= SEARCH_DAYS; k++) {
		z = z0 + dir * k;
		if (!day_matches(s, z))
			continue;
		base = z * DAY;
		if (utc_offset(base - DAY, &oa, e) == -1 ||
		    utc_offset(base + 2 * DAY, &ob, e) == -1)
			return (-1);
		for (size_t i = 0; i < n; i++) {
			size_t j = dir > 0 ? i : n - 1 - i;

			if (resolve(base + (int64_t)mins[j] * 60, oa, ob, &due,
			        e) == -1)
				return (-1);
			if (dir > 0 ? due > t : due <= t) {
				*out = due;
				return (1);
			}
		}
	}
	return (0);
}

static int
find(const struct schedule *s, const char *tz, time_t t, int dir, time_t *out,
    struct err *e)
{
	struct tz_saved sv;
	int64_t due = 0;
	int r;

	if ((int64_t)t < 0 || (int64_t)t > T_MAX)
		return (err_set(e, ERR_USAGE,
		    "time %lld is outside the years 1970 to 9999",
		    (long long)t));
	if (tz_enter(tz, &sv, e) == -1)
		return (-1);
	r = search(s, (int64_t)t, dir, &due, e);
	tz_leave(&sv);
	if (r == 0)
		return (err_set(e, ERR_INTERNAL,
		    "no due time within %d days %s %lld", SEARCH_DAYS,
		    dir > 0 ? "after" : "before", (long long)t));
	if (r == -1)
		return (-1);
	*out = (time_t)due;
	return (0);
}

int
schedule_next(const struct schedule *s, const char *tz, time_t after,
    time_t *out, struct err *e)
{
	return (find(s, tz, after, 1, out, e));
}

int
schedule_prev(const struct schedule *s, const char *tz, time_t at, time_t *out,
    struct err *e)
{
	return (find(s, tz, at, -1, out, e));
}

/* ------------------------------------------------ jitter and intervals */

uint64_t
schedule_jitter(const char *job, const char *host, uint64_t max_seconds)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	const char *parts[2] = { job, host };

	if (max_seconds == 0)
		return (0);
	for (size_t i = 0; i < 2; i++) {
		/* Each part with its NUL, so ("ab", "c") != ("a", "bc"). */
		for (const unsigned char *c = (const unsigned char *)parts[i];;
		     c++) {
			h ^= *c;
			h *= UINT64_C(0x100000001b3);
			if (*c == '\0')
				break;
		}
	}
	h = (h ^ (h >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	h = (h ^ (h >> 27)) * UINT64_C(0x94d049bb133111eb);
	h ^= h >> 31;
	return (h % max_seconds);
}

/*
 * The shortest and longest gap between due times over 2001-2029; over
 * 2001-2128 for days that come fewer than twice in those years (29
 * February on a Sunday: 2004, 2032 ... 2088, 2128), so that there is a gap.
 */
static void
gaps(const struct schedule *s, uint64_t *minp, uint64_t *maxp)
{
	uint16_t mins[24 * 60];
	size_t n = day_minutes(s, mins), ndays = 0;
	int64_t first = days_from_civil(2001, 1, 1);
	int64_t last = days_from_civil(2029, 12, 31), prev = -1;
	uint64_t lo = UINT64_MAX, hi = 0, g;

	for (int64_t z = first; z <= last && ndays < 2; z++)
		ndays += (size_t)day_matches(s, z);
	if (ndays < 2)
		last = days_from_civil(2128, 12, 31);

	for (size_t i = 1; i < n; i++) {
		g = (uint64_t)(mins[i] - mins[i - 1]) * 60;
		lo = g < lo ? g : lo;
		hi = g > hi ? g : hi;
	}
	for (int64_t z = first; z <= last; z++) {
		if (!day_matches(s, z))
			continue;
		if (prev != -1) {
			g = (uint64_t)((z - prev) * DAY +
			    ((int64_t)mins[0] - (int64_t)mins[n - 1]) * 60);
			lo = g < lo ? g : lo;
			hi = g > hi ? g : hi;
		}
		prev = z;
	}
	*minp = lo;
	*maxp = hi;
}

uint64_t
schedule_interval_hint(const struct schedule *s)
{
	uint64_t lo, hi;

	gaps(s, &lo, &hi);
	return (hi);
}

uint64_t
schedule_interval_min(const struct schedule *s)
{
	uint64_t lo, hi;

	gaps(s, &lo, &hi);
	return (lo);
}
