/*
 * Values written in the config or on the command line: booleans,
 * integers, sizes, durations, percentages and lists.
 */
#include "value.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
is_space(int c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f');
}

static int
is_digit(int c)
{
	return (c >= '0' && c <= '9');
}

int
value_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < NELEM(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return (0);
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return (0);
		}
	}
	return (-1);
}

int
value_parse_int(const char *s, int64_t *out)
{
	long long v;
	char *end;

	/* strtoll alone would take leading space, and "" as 0. */
	if (!is_digit((unsigned char)s[0]) &&
	    !((s[0] == '-' || s[0] == '+') && is_digit((unsigned char)s[1])))
		return (-1);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || *end != '\0')
		return (-1);
	*out = v;
	return (0);
}

/* Digits at *sp into *out, advancing *sp; -1 if none or on overflow. */
static int
digits(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0, d;

	if (!is_digit((unsigned char)*s))
		return (-1);
	for (; is_digit((unsigned char)*s); s++) {
		d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return (-1);
		v = v * 10 + d;
	}
	*sp = s;
	*out = v;
	return (0);
}

int
value_parse_size(const char *s, uint64_t *bytes)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
		{ "", 0 },
		{ "k", 10 },
		{ "kib", 10 },
		{ "m", 20 },
		{ "mib", 20 },
		{ "g", 30 },
		{ "gib", 30 },
		{ "t", 40 },
		{ "tib", 40 },
	};
	uint64_t v;

	if (digits(&s, &v) == -1)
		return (-1);
	for (size_t i = 0; i < NELEM(units); i++) {
		if (strcasecmp(s, units[i].suffix) != 0)
			continue;
		if (v > (UINT64_MAX >> units[i].shift))
			return (-1);
		*bytes = v << units[i].shift;
		return (0);
	}
	return (-1);
}

int
value_parse_duration(const char *s, uint64_t *seconds)
{
	uint64_t total = 0, v, mult;

	if (digits(&s, &v) == -1)
		return (-1);
	if (*s == '\0') {
		*seconds = v;
		return (0);
	}
	for (;;) {
		switch (*s++) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		case 'w':
			mult = 7 * 86400;
			break;
		default:
			return (-1);
		}
		if (v > UINT64_MAX / mult || total > UINT64_MAX - v * mult)
			return (-1);
		total += v * mult;
		if (*s == '\0')
			break;
		/* "1h30" is refused: is the 30 minutes or seconds? */
		if (digits(&s, &v) == -1 || *s == '\0')
			return (-1);
	}
	*seconds = total;
	return (0);
}

int
value_parse_percent(const char *s, double *out)
{
	double v = 0, scale = 1;
	int n = 0;

	/* By hand rather than strtod: no locale, no "inf", no "1e2". */
	for (; is_digit((unsigned char)*s); s++, n++) {
		v = v * 10 + (*s - '0');
		if (v > 100)
			return (-1);
	}
	if (n == 0)
		return (-1);
	if (*s == '.') {
		s++;
		if (!is_digit((unsigned char)*s))
			return (-1);
		for (; is_digit((unsigned char)*s); s++) {
			scale /= 10;
			v += (*s - '0') * scale;
		}
	}
	if (s[0] != '%' || s[1] != '\0' || v > 100)
		return (-1);
	*out = v;
	return (0);
}

static int
is_list_sep(int c)
{
	return (c == ',' || is_space(c));
}

int
value_parse_list(const char *s, char ***itemsp, size_t *np)
{
	char **items = NULL, *item;
	const char *start, *end;
	size_t n = 0;
	int rc = -1;

	*itemsp = NULL;
	*np = 0;
	for (;;) {
		while (*s != '\0' && is_list_sep((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		if (*s == '"') {
			start = s + 1;
			if ((end = strchr(start, '"')) == NULL || end == start)
				goto out;
			s = end + 1;
			if (*s != '\0' && !is_list_sep((unsigned char)*s))
				goto out;
		} else {
			start = s;
			while (*s != '\0' && !is_list_sep((unsigned char)*s) &&
			    *s != '"')
				s++;
			if (*s == '"')
				goto out;
			end = s;
		}
		item = xstrndup(start, (size_t)(end - start));
		items = xreallocarray(items, n + 1, sizeof(*items));
		items[n++] = item;
	}
	*itemsp = items;
	*np = n;
	items = NULL;
	rc = 0;
out:
	if (rc == -1)
		value_list_free(items, n);
	return (rc);
}

void
value_list_free(char **items, size_t n)
{
	if (items == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}
