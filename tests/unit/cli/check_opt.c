/*
 * The option tables (cli/opt.c): each type and its range, repeated
 * options, relations, unknown options, the one line each error prints.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "cli/opt.h"

struct t_opts {
	int flag, count, num, level;
	const char *str, *opt_str, *need, *alt;
	struct opt_strv list;
	uint64_t size, secs;
	const char *func_arg, *func_next;
	int func_calls;
};

static int
parse_func(void *opts, void *field, const char *arg, const char *next,
    struct err *e)
{
	struct t_opts *o = opts;

	if (arg != NULL && strcmp(arg, "bad") == 0)
		return (err_set(e, ERR_USAGE, "'bad' is no good"));
	*(const char **)field = arg;
	o->func_next = next;
	o->func_calls++;
	return (0);
}

/* An engine parser that names the option itself (OPT_NAMED). */
static int
parse_named(void *opts, void *field, const char *arg, const char *next,
    struct err *e)
{
	(void)opts;
	(void)next;
	if (strcmp(arg, "bad") == 0)
		return (
		    err_set(e, ERR_USAGE, "--named wants good, not '%s'", arg));
	*(const char **)field = arg;
	return (0);
}

#define F(x) offsetof(struct t_opts, x)
static const struct opt table[] = {
	{ "flag", 'f', OPT_FLAG, F(flag), NULL, 0, 0, 0, NULL },
	{ "more", 'm', OPT_COUNT, F(count), NULL, 0, 0, 0, NULL },
	{ "str", 's', OPT_STR, F(str), "WORD", 0, 0, OPT_NONEMPTY, NULL },
	{ "maybe", 0, OPT_STR, F(opt_str), "PATH", 0, 0, OPT_OPTIONAL, NULL },
	{ "item", 'i', OPT_STRV, F(list), "PATTERN", 0, 0, OPT_NONEMPTY, NULL },
	{ "jobs", 'j', OPT_INT, F(num), "N", 1, 64, 0, NULL },
	{ "size", 0, OPT_SIZE, F(size), "SIZE", 16 << 10, 16 << 20, 0, NULL },
	{ "every", 0, OPT_DURATION, F(secs), "TIME", 60, 7 * 86400, 0, NULL },
	{ "level", 0, OPT_ZSTD, F(level), "N", 0, 0, 0, NULL },
	{ "func", 0, OPT_FUNC, F(func_arg), "X", 0, 0, OPT_OPTIONAL,
	    parse_func },
	{ "named", 0, OPT_FUNC, F(func_arg), "X", 0, 0, OPT_NAMED,
	    parse_named },
	{ "need", 0, OPT_STR, F(need), "NAME", 0, 0, 0, NULL },
	{ "alt", 0, OPT_STR, F(alt), "DB", 0, 0, 0, NULL },
	{ NULL, 'x', OPT_FLAG, F(flag), NULL, 0, 0, 0, NULL },
	OPT_END,
};

static const struct opt_rel rels[] = {
	{ OPT_NEEDS, "more", "need alt", NULL },
	{ OPT_EXCLUDES, "need", "alt", "one target at a time" },
	OPT_REL_END,
};

static const struct opt_rel one_of[] = {
	{ OPT_ONE_OF, "need alt maybe", NULL, "where it goes" },
	OPT_REL_END,
};

static const struct opt_spec spec = { table, rels };
static const struct opt_spec spec_one = { table, one_of };
static const struct cli_cmd cmd = { "test", "a test", "usage: test\n", NULL };

static char errbuf[4096];

/*
 * Parse the words of a NULL-terminated list (after the command's name)
 * into *o; stderr's text ends up in errbuf.
 */
static int
run(const struct opt_spec *sp, struct t_opts *o, opt_given_t *given, ...)
{
	char *argv[32];
	int argc = 0, rc, saved;
	struct cli_ctx ctx;
	FILE *f = tmpfile();
	va_list ap;
	const char *w;
	size_t n;

	memset(&ctx, 0, sizeof(ctx));
	ctx.log = log_new("coffer", LOGL_INFO, LOG_SINK_STDERR);
	memset(o, 0, sizeof(*o));
	argv[argc++] = (char *)"test";
	va_start(ap, given);
	while ((w = va_arg(ap, const char *)) != NULL && argc < 31)
		argv[argc++] = (char *)w;
	va_end(ap);
	argv[argc] = NULL;
	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(f), STDERR_FILENO);
	optind = 0;
	rc = opt_parse(&ctx, &cmd, sp, argc, argv, o, given);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(errbuf, 1, sizeof(errbuf) - 1, f);
	errbuf[n] = '\0';
	fclose(f);
	log_free(ctx.log);
	return (rc);
}

#define RUN(o, ...) run(&spec, (o), NULL, __VA_ARGS__, (char *)NULL)

/* One line, naming the command, ending in the help hint. */
static void
one_line(const char *want)
{
	char *nl = strchr(errbuf, '\n');

	ck_assert_msg(strstr(errbuf, want) != NULL, "want '%s' in '%s'", want,
	    errbuf);
	ck_assert_msg(strncmp(errbuf, "coffer test: ", 13) == 0, "%s", errbuf);
	ck_assert_ptr_nonnull(nl);
	ck_assert_msg(nl[1] == '\0', "more than one line: %s", errbuf);
	ck_assert_ptr_nonnull(strstr(errbuf, "(see 'coffer help test')"));
}

START_TEST(test_table_sound)
{
	struct err e;

	ck_assert_int_eq(opt_spec_check(&spec, &e), 0);
	ck_assert_int_eq(opt_spec_check(&spec_one, &e), 0);
}
END_TEST

START_TEST(test_table_unsound)
{
	static const struct opt dup[] = {
		{ "a", 'a', OPT_FLAG, 0, NULL, 0, 0, 0, NULL },
		{ "a", 'b', OPT_FLAG, 0, NULL, 0, 0, 0, NULL },
		OPT_END,
	};
	static const struct opt common[] = {
		{ "json", 0, OPT_FLAG, 0, NULL, 0, 0, 0, NULL },
		OPT_END,
	};
	static const struct opt letter[] = {
		{ "a", 'v', OPT_FLAG, 0, NULL, 0, 0, 0, NULL },
		OPT_END,
	};
	static const struct opt range[] = {
		{ "a", 0, OPT_INT, 0, NULL, 5, 1, 0, NULL },
		OPT_END,
	};
	static const struct opt_rel badrel[] = {
		{ OPT_NEEDS, "flag", "nosuch", NULL },
		OPT_REL_END,
	};
	const struct opt_spec s1 = { dup, NULL }, s2 = { common, NULL },
	                      s3 = { letter, NULL }, s4 = { range, NULL },
	                      s5 = { table, badrel };
	struct err e;

	ck_assert_int_eq(opt_spec_check(&s1, &e), -1);
	ck_assert_int_eq(opt_spec_check(&s2, &e), -1);
	ck_assert_int_eq(opt_spec_check(&s3, &e), -1);
	ck_assert_int_eq(opt_spec_check(&s4, &e), -1);
	ck_assert_int_eq(opt_spec_check(&s5, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "nosuch"));
}
END_TEST

START_TEST(test_flag_count_str)
{
	struct t_opts o;
	opt_given_t g;

	ck_assert_int_eq(run(&spec, &o, &g, "-f", "--more", "-mm", "--str", "a",
	                     "-s", "b", "--need", "n", "op1", "op2",
	                     (char *)NULL),
	    0);
	ck_assert_int_eq(o.flag, 1);
	ck_assert_int_eq(o.count, 3);
	ck_assert_str_eq(o.str, "b"); /* the last one */
	ck_assert(opt_is_given(&spec, g, "flag"));
	ck_assert(opt_is_given(&spec, g, "str"));
	ck_assert(!opt_is_given(&spec, g, "jobs"));
	ck_assert(!opt_is_given(&spec, g, "nosuch"));
	/* Operands stay, in order, after the options. */
	ck_assert_int_eq(optind, 10);
	ck_assert_str_eq(errbuf, "");
	opt_free(&spec, &o);
}
END_TEST

START_TEST(test_short_only)
{
	struct t_opts o;

	ck_assert_int_eq(RUN(&o, "-x"), 0);
	ck_assert_int_eq(o.flag, 1);
}
END_TEST

START_TEST(test_strv_repeated)
{
	struct t_opts o;

	ck_assert_int_eq(RUN(&o, "--item", "a", "-i", "b", "--item=c"), 0);
	ck_assert_uint_eq(o.list.n, 3);
	ck_assert_str_eq(o.list.v[0], "a");
	ck_assert_str_eq(o.list.v[1], "b");
	ck_assert_str_eq(o.list.v[2], "c");
	opt_free(&spec, &o);
	ck_assert_ptr_null(o.list.v);
	ck_assert_uint_eq(o.list.n, 0);
}
END_TEST

START_TEST(test_nonempty)
{
	struct t_opts o;

	ck_assert_int_eq(RUN(&o, "--item", "a", "--item", ""), -1);
	one_line("--item takes a non-empty PATTERN");
	opt_free(&spec, &o);
	ck_assert_int_eq(RUN(&o, "--str="), -1);
	one_line("--str takes a non-empty WORD");
}
END_TEST

START_TEST(test_int_range)
{
	struct t_opts o;

	ck_assert_int_eq(RUN(&o, "--jobs", "1"), 0);
	ck_assert_int_eq(o.num, 1);
	ck_assert_int_eq(RUN(&o, "-j64"), 0);
	ck_assert_int_eq(o.num, 64);
	ck_assert_int_eq(RUN(&o, "--jobs", "0"), -1);
	one_line("--jobs takes a number from 1 to 64, not '0'");
	ck_assert_int_eq(RUN(&o, "--jobs", "65"), -1);
	one_line("--jobs takes a number from 1 to 64, not '65'");
	ck_assert_int_eq(RUN(&o, "--jobs", "4x"), -1);
	one_line("not '4x'");
	ck_assert_int_eq(RUN(&o, "--jobs", ""), -1);
	one_line("--jobs takes a number from 1 to 64, not ''");
	ck_assert_int_eq(RUN(&o, "--jobs", "99999999999999999999"), -1);
	one_line("--jobs takes a number");
}
END_TEST

START_TEST(test_size_range)
{
	struct t_opts o;

	ck_assert_int_eq(RUN(&o, "--size", "64K"), 0);
	ck_assert_uint_eq(o.size, 64 << 10);
	ck_assert_int_eq(RUN(&o, "--size=16MiB"), 0);
	ck_assert_uint_eq(o.size, 16 << 20);
	ck_assert_int_eq(RUN(&o, "--size", "17M"), -1);
	one_line("--size takes a size from 16K to 16M, not '17M'");
	ck_assert_int_eq(RUN(&o, "--size", "1k"), -1);
	one_line("from 16K to 16M, not '1k'");
	ck_assert_int_eq(RUN(&o, "--size", "big"), -1);
	one_line("not 'big'");
}
END_TEST

START_TEST(test_duration_range)
{
	struct t_opts o;

	ck_assert_int_eq(RUN(&o, "--every", "1h30m"), 0);
	ck_assert_uint_eq(o.secs, 5400);
	ck_assert_int_eq(RUN(&o, "--every", "1w"), 0);
	ck_assert_uint_eq(o.secs, 7 * 86400);
	ck_assert_int_eq(RUN(&o, "--every", "30s"), -1);
	one_line("--every takes a duration from 1m to 1w, not '30s'");
	ck_assert_int_eq(RUN(&o, "--every", "soon"), -1);
	one_line("not 'soon'");
}
END_TEST

START_TEST(test_zstd)
{
	struct t_opts o;

	ck_assert_int_eq(RUN(&o, "--level", "19"), 0);
	ck_assert_int_eq(o.level, 19);
	ck_assert_int_eq(RUN(&o, "--level", "1"), 0);
	ck_assert_int_eq(o.level, 1);
	ck_assert_int_eq(RUN(&o, "--level", "20"), -1);
	one_line("--level: '20' is not a zstd level (1-19)");
	ck_assert_int_eq(RUN(&o, "--level", "0"), -1);
	one_line("'0' is not a zstd level (1-19)");
}
END_TEST

START_TEST(test_func_and_optional)
{
	struct t_opts o;

	/* A bare optional value: arg NULL, the next word handed over. */
	ck_assert_int_eq(RUN(&o, "--func", "word"), 0);
	ck_assert_int_eq(o.func_calls, 1);
	ck_assert_ptr_null(o.func_arg);
	ck_assert_str_eq(o.func_next, "word");
	ck_assert_int_eq(RUN(&o, "--func=v"), 0);
	ck_assert_str_eq(o.func_arg, "v");
	ck_assert_ptr_null(o.func_next);
	ck_assert_int_eq(RUN(&o, "--func=bad"), -1);
	one_line("--func: 'bad' is no good");
	/* OPT_NAMED: the parser's message as is, the option not twice. */
	ck_assert_int_eq(RUN(&o, "--named", "ok"), 0);
	ck_assert_str_eq(o.func_arg, "ok");
	ck_assert_int_eq(RUN(&o, "--named", "bad"), -1);
	one_line("coffer test: --named wants good, not 'bad' (see");
	ck_assert_int_eq(RUN(&o, "--maybe"), 0);
	ck_assert_ptr_null(o.opt_str);
	ck_assert_int_eq(RUN(&o, "--maybe=/p"), 0);
	ck_assert_str_eq(o.opt_str, "/p");
}
END_TEST

START_TEST(test_unknown_and_missing)
{
	struct t_opts o;

	ck_assert_int_eq(RUN(&o, "--no-such-option"), -1);
	one_line("unknown or ambiguous option --no-such-option");
	ck_assert_int_eq(RUN(&o, "-z"), -1);
	one_line("unknown option -z");
	ck_assert_int_eq(RUN(&o, "--jobs"), -1);
	one_line("missing value for --jobs");
	ck_assert_int_eq(RUN(&o, "-j"), -1);
	one_line("missing value for -j");
	/* A flag takes no value. */
	ck_assert_int_eq(RUN(&o, "--flag=1"), -1);
	one_line("--flag=1");
}
END_TEST

START_TEST(test_common_options)
{
	struct t_opts o;
	struct cli_ctx ctx;
	char *argv[] = { (char *)"test", (char *)"--json", (char *)"-q",
		(char *)"-c", (char *)"/x.conf", (char *)"-f", NULL };

	memset(&ctx, 0, sizeof(ctx));
	memset(&o, 0, sizeof(o));
	ctx.log = log_new("coffer", LOGL_INFO, LOG_SINK_STDERR);
	optind = 0;
	ck_assert_int_eq(opt_parse(&ctx, &cmd, &spec, 6, argv, &o, NULL), 0);
	ck_assert_int_eq(ctx.json, 1);
	ck_assert_int_eq(ctx.quiet, 1);
	ck_assert_str_eq(ctx.config_path, "/x.conf");
	ck_assert_int_eq(o.flag, 1);
	log_free(ctx.log);
	ck_assert_int_eq(RUN(&o, "--password=x"), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "never accepted"));
	ck_assert_int_eq(RUN(&o, "--limit-upload", "fast"), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "--limit-upload takes a rate"));
}
END_TEST

START_TEST(test_needs)
{
	struct t_opts o;

	ck_assert_int_eq(RUN(&o, "--more"), -1);
	one_line("--more goes with --need NAME or --alt DB (see");
	ck_assert_int_eq(RUN(&o, "--more", "--alt", "d"), 0);
	ck_assert_int_eq(RUN(&o, "--need", "n", "-m"), 0);
}
END_TEST

START_TEST(test_excludes)
{
	struct t_opts o;

	ck_assert_int_eq(RUN(&o, "--alt", "a", "--need", "n"), -1);
	one_line("give --need or --alt, not both: one target at a time");
}
END_TEST

START_TEST(test_one_of)
{
	struct t_opts o;
	opt_given_t g;

	ck_assert_int_eq(run(&spec_one, &o, &g, (char *)NULL), -1);
	one_line("give one of --need NAME, --alt DB or --maybe [PATH]: "
	         "where it goes");
	ck_assert_int_eq(run(&spec_one, &o, &g, "--need", "a", "--maybe",
	                     (char *)NULL),
	    -1);
	one_line("give one of --need NAME");
	ck_assert_int_eq(run(&spec_one, &o, &g, "--maybe", (char *)NULL), 0);
	ck_assert(opt_is_given(&spec_one, g, "maybe"));
}
END_TEST

START_TEST(test_no_more)
{
	char *argv[] = { (char *)"test", (char *)"a", (char *)"b", NULL };
	FILE *f = tmpfile();
	int saved;
	size_t n;

	ck_assert_int_eq(opt_no_more(&cmd, 3, argv, 3), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(f), STDERR_FILENO);
	ck_assert_int_eq(opt_no_more(&cmd, 3, argv, 2), -1);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(errbuf, 1, sizeof(errbuf) - 1, f);
	errbuf[n] = '\0';
	fclose(f);
	one_line("unexpected argument 'b'");
}
END_TEST

Suite *opt_suite(void);

Suite *
opt_suite(void)
{
	Suite *s = suite_create("opt");
	TCase *tc = tcase_create("opt");

	tcase_add_test(tc, test_table_sound);
	tcase_add_test(tc, test_table_unsound);
	tcase_add_test(tc, test_flag_count_str);
	tcase_add_test(tc, test_short_only);
	tcase_add_test(tc, test_strv_repeated);
	tcase_add_test(tc, test_nonempty);
	tcase_add_test(tc, test_int_range);
	tcase_add_test(tc, test_size_range);
	tcase_add_test(tc, test_duration_range);
	tcase_add_test(tc, test_zstd);
	tcase_add_test(tc, test_func_and_optional);
	tcase_add_test(tc, test_unknown_and_missing);
	tcase_add_test(tc, test_common_options);
	tcase_add_test(tc, test_needs);
	tcase_add_test(tc, test_excludes);
	tcase_add_test(tc, test_one_of);
	tcase_add_test(tc, test_no_more);
	suite_add_tcase(s, tc);
	return (s);
}
