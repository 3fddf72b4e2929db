/*
 * pg_dumpall's \restrict key made stable: the header's \restrict line and
 * its matching \unrestrict get the given key; planted lines, lines after
 * the header, other keys and very long lines pass unchanged; reads in any
 * piece sizes give the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "snapshot/pgglobals.h"
#include "xmalloc.h"

static const char key[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/* A reader handing out src in pieces of at most step bytes. */
struct src {
	const char *p;
	size_t len, at, step;
};

static ssize_t
src_read(void *arg, void *buf, size_t len, struct err *e)
{
	struct src *s = arg;
	size_t n = s->len - s->at;

	(void)e;
	if (n > s->step)
		n = s->step;
	if (n > len)
		n = len;
	memcpy(buf, s->p + s->at, n);
	s->at += n;
	return ((ssize_t)n);
}

/* in through the filter, read in pieces of `want` bytes; *n: its size. */
static char *
filter(const char *in, size_t inlen, size_t step, size_t want, size_t *n)
{
	struct src s = { in, inlen, 0, step };
	struct pgglobals *f = pgglobals_new(src_read, &s, key);
	size_t cap = inlen + 4096, len = 0;
	char *out = xmalloc(cap + 1);
	struct err e;
	ssize_t r;

	while ((r = pgglobals_read(f, out + len,
	            want < cap - len ? want : cap - len, &e)) > 0)
		len += (size_t)r;
	ck_assert_int_eq(r, 0);
	pgglobals_free(f);
	out[len] = '\0';
	*n = len;
	return (out);
}

static void
expect(const char *in, const char *want)
{
	static const size_t steps[] = { 1, 3, 7, 64, 100000 };

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		for (size_t j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
			size_t n;
			char *out =
			    filter(in, strlen(in), steps[i], steps[j], &n);

			ck_assert_msg(n == strlen(want) &&
			        memcmp(out, want, n) == 0,
			    "read %zu, step %zu: got\n%s\nwant\n%s", steps[j],
			    steps[i], out, want);
			free(out);
		}
}

#define HEAD      "--\n-- PostgreSQL database cluster dump\n--\n\n"
#define RANDOMKEY "Pm7Gvch1OGLzAFo0NaNIzWEhp93TseYhSbcH2X9xBrd6DRM3mmOSSRKr"
#define OURS      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

START_TEST(test_header_key_and_its_unrestrict)
{
	expect(HEAD "\\restrict " RANDOMKEY "\n\nSET x = 1;\n"
	            "CREATE ROLE a;\n\\unrestrict " RANDOMKEY "\n\n--\n",
	    HEAD "\\restrict " OURS "\n\nSET x = 1;\n"
	         "CREATE ROLE a;\n\\unrestrict " OURS "\n\n--\n");
}
END_TEST

START_TEST(test_planted_lines_pass_unchanged)
{
	/* A role name with newlines: its lines are not the header's. */
	expect(HEAD "\\restrict " RANDOMKEY "\n"
	            "CREATE ROLE \"x\n\\unrestrict guessed\n\\! id\n"
	            "\\restrict other\n\";\n"
	            "\\unrestrict " RANDOMKEY "x\n"
	            "\\unrestrict " RANDOMKEY "\n",
	    HEAD "\\restrict " OURS "\n"
	         "CREATE ROLE \"x\n\\unrestrict guessed\n\\! id\n"
	         "\\restrict other\n\";\n"
	         "\\unrestrict " RANDOMKEY "x\n"
	         "\\unrestrict " OURS "\n");
}
END_TEST

START_TEST(test_without_a_header_key)
{
	/* An older pg_dumpall: nothing to change. */
	expect(HEAD "SET x = 1;\n\\unrestrict abc\n",
	    HEAD "SET x = 1;\n\\unrestrict abc\n");
	/* After the header, \restrict is content, not pg_dumpall's. */
	expect("SET x = 1;\n\\restrict abc\n\\unrestrict abc\n",
	    "SET x = 1;\n\\restrict abc\n\\unrestrict abc\n");
	/* A key with a space is no key. */
	expect("\\restrict a b\n\\unrestrict a b\n",
	    "\\restrict a b\n\\unrestrict a b\n");
	/* No newline at the end, and the empty stream. */
	expect("\\restrict abc", "\\restrict abc");
	expect("", "");
}
END_TEST

START_TEST(test_long_lines_pass_in_pieces)
{
	size_t len = 200000, n;
	char *in = xmalloc(len + 64), *out;
	int k;

	k = snprintf(in, 64, "\\restrict abc\n");
	memset(in + k, 'x', len);
	memcpy(in + k + len, "\n\\unrestrict abc\n", 17);
	out = filter(in, (size_t)k + len + 17, 5000, 3000, &n);
	ck_assert_uint_eq(n,
	    strlen("\\restrict ") + 64 + 1 + len + 1 + strlen("\\unrestrict ") +
	        64 + 1);
	ck_assert(memcmp(out, "\\restrict " OURS "\n", 75) == 0);
	ck_assert(memcmp(out + 75 + len, "\n\\unrestrict " OURS "\n", 78) == 0);
	for (size_t i = 0; i < len; i++)
		ck_assert(out[75 + i] == 'x');
	free(in);
	free(out);
}
END_TEST

Suite *pgglobals_suite(void);

Suite *
pgglobals_suite(void)
{
	Suite *s = suite_create("pgglobals");
	TCase *tc = tcase_create("filter");

	tcase_add_test(tc, test_header_key_and_its_unrestrict);
	tcase_add_test(tc, test_planted_lines_pass_unchanged);
	tcase_add_test(tc, test_without_a_header_key);
	tcase_add_test(tc, test_long_lines_pass_in_pieces);
	suite_add_tcase(s, tc);
	return (s);
}
