/*
 * One parser for every command's option table (opt.h): builds getopt_long's
 * arrays from the table, parses each value by its type and range, and
 * checks the declared relations, with one wording for each kind of error.
 */
#include "opt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo/compress.h"
#include "value.h"
#include "xmalloc.h"

/* Long-option values of table entries without a letter: base + index. */
#define OPT_VAL_BASE (CLI_OPT_CMD_BASE + 512)

static const struct option common_long[] = { CLI_COMMON_LONG,
	{ NULL, 0, NULL, 0 } };

static size_t
table_len(const struct opt *t)
{
	size_t n = 0;

	while (t[n].name != NULL || t[n].letter != 0)
		n++;
	return (n);
}

/* The entry named by the n bytes at s, or -1. */
static int
find_name(const struct opt *t, const char *s, size_t n)
{
	for (int i = 0; t[i].name != NULL || t[i].letter != 0; i++)
		if (t[i].name != NULL && strlen(t[i].name) == n &&
		    memcmp(t[i].name, s, n) == 0)
			return (i);
	return (-1);
}

/* "--name" or, for a short-only option, "-x". */
static void
opt_label(const struct opt *o, char *buf, size_t size)
{
	if (o->name != NULL)
		snprintf(buf, size, "--%s", o->name);
	else
		snprintf(buf, size, "-%c", o->letter);
}

/* "--name ARG", "--name [ARG]" or "--name". */
static void
opt_label_arg(const struct opt *o, char *buf, size_t size)
{
	char l[64];

	opt_label(o, l, sizeof(l));
	if (o->arg == NULL || o->type == OPT_FLAG || o->type == OPT_COUNT)
		snprintf(buf, size, "%s", l);
	else if (o->flags & OPT_OPTIONAL)
		snprintf(buf, size, "%s [%s]", l, o->arg);
	else
		snprintf(buf, size, "%s %s", l, o->arg);
}

/* 16K, 1M, 3G: the largest unit that divides v exactly. */
static void
size_str(int64_t v, char *buf, size_t size)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && v != 0 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, size, "%" PRId64, v);
	else
		snprintf(buf, size, "%" PRId64 "%c", v, units[u]);
}

/* 90s, 5m, 7d: the largest unit that divides v exactly. */
static void
duration_str(int64_t v, char *buf, size_t size)
{
	static const struct {
		int64_t secs;
		char unit;
	} u[] = { { 7 * 86400, 'w' }, { 86400, 'd' }, { 3600, 'h' },
		{ 60, 'm' } };

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (v != 0 && v % u[i].secs == 0) {
			snprintf(buf, size, "%" PRId64 "%c", v / u[i].secs,
			    u[i].unit);
			return;
		}
	snprintf(buf, size, "%" PRId64 "s", v);
}

/* The value of entry o into its field; -1 after a usage error. */
static int
take(const struct cli_cmd *cmd, const struct opt *o, void *dst, const char *arg,
    const char *next)
{
	void *field = (char *)dst + o->off;
	char l[64], lo[32], hi[32];
	struct err e;

	opt_label(o, l, sizeof(l));
	err_clear(&e);
	if ((o->flags & OPT_NONEMPTY) && arg != NULL && arg[0] == '\0') {
		cli_usage_error(cmd, "%s takes a non-empty %s", l,
		    o->arg != NULL ? o->arg : "value");
		return (-1);
	}
	switch (o->type) {
	case OPT_FLAG:
		*(int *)field = 1;
		return (0);
	case OPT_COUNT:
		(*(int *)field)++;
		return (0);
	case OPT_STR:
		*(const char **)field = arg;
		return (0);
	case OPT_STRV: {
		struct opt_strv *s = field;

		s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
		s->v[s->n++] = arg;
		return (0);
	}
	case OPT_INT: {
		int64_t v;

		if (value_parse_int(arg, &v) == -1 || v < o->min ||
		    v > o->max) {
			cli_usage_error(cmd,
			    "%s takes a number from %" PRId64 " to %" PRId64
			    ", not '%s'",
			    l, o->min, o->max, arg);
			return (-1);
		}
		*(int *)field = (int)v;
		return (0);
	}
	case OPT_SIZE: {
		uint64_t v;

		if (value_parse_size(arg, &v) == -1 || v < (uint64_t)o->min ||
		    v > (uint64_t)o->max) {
			size_str(o->min, lo, sizeof(lo));
			size_str(o->max, hi, sizeof(hi));
			cli_usage_error(cmd,
			    "%s takes a size from %s to %s, not '%s'", l, lo,
			    hi, arg);
			return (-1);
		}
		*(uint64_t *)field = v;
		return (0);
	}
	case OPT_DURATION: {
		uint64_t v;

		if (value_parse_duration(arg, &v) == -1 ||
		    v < (uint64_t)o->min || v > (uint64_t)o->max) {
			duration_str(o->min, lo, sizeof(lo));
			duration_str(o->max, hi, sizeof(hi));
			cli_usage_error(cmd,
			    "%s takes a duration from %s to %s, not '%s'", l,
			    lo, hi, arg);
			return (-1);
		}
		*(uint64_t *)field = v;
		return (0);
	}
	case OPT_ZSTD:
		/* compress_level_parse names the value and the range. */
		if (compress_level_parse(arg, (int *)field, &e) == -1) {
			cli_usage_error(cmd, "%s: %s", l, e.msg);
			return (-1);
		}
		return (0);
	case OPT_FUNC:
		if (o->parse(dst, field, arg, next, &e) == -1) {
			if (o->flags & OPT_NAMED)
				cli_usage_error(cmd, "%s", e.msg);
			else
				cli_usage_error(cmd, "%s: %s", l, e.msg);
			return (-1);
		}
		return (0);
	}
	abort();
}

/* Entry i of the table: "--X" or "--X ARG" into buf, by with_arg. */
static void
label_i(const struct opt *t, int i, int with_arg, char *buf, size_t size)
{
	if (with_arg)
		opt_label_arg(&t[i], buf, size);
	else
		opt_label(&t[i], buf, size);
}

/*
 * The entries a list of names names, given or not, joined "A, B or C"
 * (with_arg: each with its ARG) into buf.
 */
static void
join_names(const struct opt *t, const char *names, opt_given_t only,
    int with_arg, char *buf, size_t size)
{
	int idx[OPT_MAX], n = 0;
	size_t at = 0;
	char l[96];

	for (const char *p = names; *p != '\0';) {
		size_t len = strcspn(p, " ");
		int i;

		if (len > 0 && (i = find_name(t, p, len)) >= 0 &&
		    (only == 0 || (only & ((opt_given_t)1 << i))) &&
		    n < OPT_MAX)
			idx[n++] = i;
		p += len;
		p += strspn(p, " ");
	}
	buf[0] = '\0';
	for (int k = 0; k < n && at < size; k++) {
		label_i(t, idx[k], with_arg, l, sizeof(l));
		at += (size_t)snprintf(buf + at, size - at, "%s%s",
		    k == 0           ? ""
		        : k == n - 1 ? " or "
		                     : ", ",
		    l);
	}
}

/* The first entry of names given, or -1; *count the number given. */
static int
first_given(const struct opt *t, const char *names, opt_given_t given,
    int *count)
{
	int first = -1;

	*count = 0;
	for (const char *p = names; *p != '\0';) {
		size_t len = strcspn(p, " ");
		int i;

		if (len > 0 && (i = find_name(t, p, len)) >= 0 &&
		    (given & ((opt_given_t)1 << i))) {
			if (first == -1)
				first = i;
			(*count)++;
		}
		p += len;
		p += strspn(p, " ");
	}
	return (first);
}

static int
check_rels(const struct cli_cmd *cmd, const struct opt_spec *sp,
    opt_given_t given)
{
	const struct opt *t = sp->opts;
	char a[96], b[512];
	int i, j, n;

	for (const struct opt_rel *r = sp->rels; r != NULL && r->a != NULL;
	     r++) {
		switch (r->kind) {
		case OPT_NEEDS:
			if ((i = first_given(t, r->a, given, &n)) == -1 ||
			    first_given(t, r->b, given, &n) != -1)
				continue;
			opt_label(&t[i], a, sizeof(a));
			join_names(t, r->b, 0, 1, b, sizeof(b));
			cli_usage_error(cmd, "%s goes with %s%s%s", a, b,
			    r->hint ? ": " : "", r->hint ? r->hint : "");
			return (-1);
		case OPT_EXCLUDES:
			if ((i = first_given(t, r->a, given, &n)) == -1 ||
			    (j = first_given(t, r->b, given, &n)) == -1)
				continue;
			opt_label(&t[i], a, sizeof(a));
			opt_label(&t[j], b, sizeof(b));
			cli_usage_error(cmd, "give %s or %s, not both%s%s", a,
			    b, r->hint ? ": " : "", r->hint ? r->hint : "");
			return (-1);
		case OPT_ONE_OF:
			(void)first_given(t, r->a, given, &n);
			if (n == 1)
				continue;
			join_names(t, r->a, 0, 1, b, sizeof(b));
			cli_usage_error(cmd, "give one of %s%s%s", b,
			    r->hint ? ": " : "", r->hint ? r->hint : "");
			return (-1);
		}
	}
	return (0);
}

int
opt_parse(struct cli_ctx *ctx, const struct cli_cmd *cmd,
    const struct opt_spec *sp, int argc, char **argv, void *dst,
    opt_given_t *givenp)
{
	const struct opt *t = sp->opts;
	size_t n = table_len(t), ncommon = 0, at;
	struct option *lo;
	char shortopts[128];
	opt_given_t given = 0;
	int ch, i, rc = -1;

	struct err e;

	/* A table that does not hold together is the programmer's error. */
	if (opt_spec_check(sp, &e) == -1) {
		fprintf(stderr, "coffer %s: option table: %s\n", cmd->name,
		    e.msg);
		abort();
	}
	while (common_long[ncommon].name != NULL)
		ncommon++;
	lo = xcalloc(ncommon + n + 1, sizeof(*lo));
	memcpy(lo, common_long, ncommon * sizeof(*lo));
	at = (size_t)snprintf(shortopts, sizeof(shortopts), ":%s",
	    CLI_COMMON_SHORT);
	for (size_t k = 0; k < n; k++) {
		int has = t[k].type == OPT_FLAG || t[k].type == OPT_COUNT
		    ? no_argument
		    : (t[k].flags & OPT_OPTIONAL) ? optional_argument
		                                  : required_argument;
		int val =
		    t[k].letter != 0 ? t[k].letter : OPT_VAL_BASE + (int)k;

		if (t[k].name != NULL) {
			struct option *x = &lo[ncommon++];

			x->name = t[k].name;
			x->has_arg = has;
			x->flag = NULL;
			x->val = val;
		}
		if (t[k].letter != 0 && at + 4 < sizeof(shortopts))
			at += (size_t)snprintf(shortopts + at,
			    sizeof(shortopts) - at, "%c%s", t[k].letter,
			    has == no_argument             ? ""
			        : has == required_argument ? ":"
			                                   : "::");
	}
	while ((ch = cli_getopt(ctx, cmd, argc, argv, shortopts, lo)) != -1) {
		if (ch == '?')
			goto out;
		if (ch >= OPT_VAL_BASE && (size_t)(ch - OPT_VAL_BASE) < n)
			i = ch - OPT_VAL_BASE;
		else {
			for (i = 0; (size_t)i < n; i++)
				if (t[i].letter == ch)
					break;
			if ((size_t)i == n)
				abort(); /* getopt returned what we never gave
				          */
		}
		given |= (opt_given_t)1 << i;
		if (take(cmd, &t[i], dst, optarg,
		        optind < argc ? argv[optind] : NULL) == -1)
			goto out;
	}
	if (check_rels(cmd, sp, given) == -1)
		goto out;
	rc = 0;
out:
	if (givenp != NULL)
		*givenp = given;
	free(lo);
	return (rc);
}

int
opt_is_given(const struct opt_spec *sp, opt_given_t given, const char *name)
{
	int i = find_name(sp->opts, name, strlen(name));

	return (i >= 0 && (given & ((opt_given_t)1 << i)) != 0);
}

void
opt_free(const struct opt_spec *sp, void *dst)
{
	for (const struct opt *o = sp->opts; o->name != NULL || o->letter != 0;
	     o++)
		if (o->type == OPT_STRV) {
			struct opt_strv *s =
			    (struct opt_strv *)(void *)((char *)dst + o->off);

			free(s->v);
			s->v = NULL;
			s->n = 0;
		}
}

int
opt_no_more(const struct cli_cmd *cmd, int argc, char **argv, int at)
{
	if (at >= argc)
		return (0);
	cli_usage_error(cmd, "unexpected argument '%s'", argv[at]);
	return (-1);
}

/* Every name in the list is one of the table's. */
static int
check_names(const struct opt *t, const char *names, struct err *e)
{
	int n = 0;

	if (names == NULL)
		return (err_set(e, ERR_INTERNAL, "a relation without names"));
	for (const char *p = names; *p != '\0';) {
		size_t len = strcspn(p, " ");

		if (len > 0) {
			if (find_name(t, p, len) == -1)
				return (err_set(e, ERR_INTERNAL,
				    "relation names --%.*s, not in the table",
				    (int)len, p));
			n++;
		}
		p += len;
		p += strspn(p, " ");
	}
	if (n == 0)
		return (err_set(e, ERR_INTERNAL, "an empty relation"));
	return (0);
}

int
opt_spec_check(const struct opt_spec *sp, struct err *e)
{
	const struct opt *t = sp->opts;
	size_t n = table_len(t);

	if (n > OPT_MAX)
		return (err_set(e, ERR_INTERNAL, "%zu options, more than %d", n,
		    OPT_MAX));
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = &t[i];

		if (o->name != NULL) {
			for (size_t k = 0; common_long[k].name != NULL; k++)
				if (strcmp(common_long[k].name, o->name) == 0)
					return (err_set(e, ERR_INTERNAL,
					    "--%s is a common option",
					    o->name));
			if (find_name(t, o->name, strlen(o->name)) != (int)i)
				return (err_set(e, ERR_INTERNAL, "--%s twice",
				    o->name));
		}
		if (o->letter != 0) {
			if (strchr(CLI_COMMON_SHORT, o->letter) != NULL ||
			    o->letter == ':' || o->letter == '?')
				return (err_set(e, ERR_INTERNAL, "-%c is taken",
				    o->letter));
			for (size_t k = 0; k < i; k++)
				if (t[k].letter == o->letter)
					return (err_set(e, ERR_INTERNAL,
					    "-%c twice", o->letter));
		}
		if (o->type > OPT_FUNC)
			return (err_set(e, ERR_INTERNAL, "option %zu: type %d",
			    i, (int)o->type));
		if ((o->type == OPT_INT || o->type == OPT_SIZE ||
		        o->type == OPT_DURATION) &&
		    o->min > o->max)
			return (err_set(e, ERR_INTERNAL,
			    "option %zu: range %" PRId64 " > %" PRId64, i,
			    o->min, o->max));
		if (o->type == OPT_INT &&
		    (o->min < INT32_MIN || o->max > INT32_MAX))
			return (err_set(e, ERR_INTERNAL,
			    "option %zu: range beyond an int", i));
		if ((o->type == OPT_SIZE || o->type == OPT_DURATION) &&
		    o->min < 0)
			return (err_set(e, ERR_INTERNAL,
			    "option %zu: a negative minimum", i));
		if (o->type == OPT_FUNC && o->parse == NULL)
			return (err_set(e, ERR_INTERNAL,
			    "option %zu: OPT_FUNC without parse", i));
		if ((o->flags & OPT_OPTIONAL) && o->type != OPT_FUNC &&
		    o->type != OPT_STR)
			return (err_set(e, ERR_INTERNAL,
			    "option %zu: an optional value it cannot take", i));
	}
	for (const struct opt_rel *r = sp->rels; r != NULL && r->a != NULL;
	     r++) {
		if (check_names(t, r->a, e) == -1)
			return (-1);
		if (r->kind != OPT_ONE_OF && check_names(t, r->b, e) == -1)
			return (-1);
	}
	return (0);
}
