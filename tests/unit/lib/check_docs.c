/*
 * coffer.conf(5) says only what the program does: every key of the
 * config schema is documented in its section of the page and every key
 * the page documents is in the schema; a key nothing acts on yet says
 * "Not acted on yet" in its entry (or its whole section does), and a key
 * that is acted on does not.  Read from man/coffer.conf.5 in the source
 * tree (the unit runner runs from the top directory).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "config.h"
#include "xmalloc.h"

#define PAGE "man/coffer.conf.5"

struct doc_key {
	enum config_type type;
	char name[64];
	int later_text; /* its entry (or its section) says not acted on yet */
	int seen;       /* the schema has it */
};

struct docs {
	struct doc_key *v;
	size_t n;
	char problems[8192];
	size_t plen;
};

static void
problem(struct docs *d, const char *type, const char *key, const char *what)
{
	int n = snprintf(d->problems + d->plen, sizeof(d->problems) - d->plen,
	    "[%s] %s: %s\n", type, key, what);

	if (n > 0 && d->plen + (size_t)n < sizeof(d->problems))
		d->plen += (size_t)n;
}

static enum config_type
section_type(const char *line)
{
	static const struct {
		const char *head;
		enum config_type t;
	} s[] = {
		{ ".Ss \"Section [global]\"", CONFIG_GLOBAL },
		{ ".Ss \"Section [repository", CONFIG_REPOSITORY },
		{ ".Ss \"Section [source", CONFIG_SOURCE },
		{ ".Ss \"Section [job", CONFIG_JOB },
		{ ".Ss \"Section [drill", CONFIG_DRILL },
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (strncmp(line, s[i].head, strlen(s[i].head)) == 0)
			return (s[i].t);
	return (CONFIG_ANY);
}

static void
add_key(struct docs *d, enum config_type t, const char *name, int later)
{
	struct doc_key *k;

	d->v = xreallocarray(d->v, d->n + 1, sizeof(*d->v));
	k = &d->v[d->n++];
	memset(k, 0, sizeof(*k));
	k->type = t;
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->later_text = later;
}

/* The key names of a ".Cm a , b Ns = ..." line, up to "Ns". */
static void
add_cm_line(struct docs *d, enum config_type t, char *line, int later)
{
	char *save = NULL, *w;

	for (w = strtok_r(line + 4, " \n", &save); w != NULL;
	     w = strtok_r(NULL, " \n", &save)) {
		if (strcmp(w, "Ns") == 0)
			break;
		if (strcmp(w, ",") != 0 &&
		    strspn(w,
		        "abcdefghijklmnopqrstuvwxyz_"
		        "0123456789") == strlen(w))
			add_key(d, t, w, later);
	}
}

/*
 * The keys of the page: ".It Cm KEY Ns = ..." entries of a section's
 * list, or ".It Xo" with ".Cm a , b , c Ns = ..." lines for several keys
 * at once; each with whether its entry says "Not acted on yet", or its
 * section does (a sentence starting so, outside the list).
 */
static void
read_page(struct docs *d)
{
	FILE *f = fopen(PAGE, "r");
	enum config_type t = CONFIG_ANY;
	int section_later = 0, in_list = 0, xo = 0;
	size_t first = SIZE_MAX; /* the keys of the current entry: first.. */
	char line[1024];

	ck_assert_msg(f != NULL, "cannot open %s (run from the top directory)",
	    PAGE);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, ".Ss ", 4) == 0 ||
		    strncmp(line, ".Sh ", 4) == 0) {
			t = section_type(line);
			section_later = in_list = xo = 0;
			first = SIZE_MAX;
			continue;
		}
		if (t == CONFIG_ANY)
			continue;
		if (strncmp(line, ".Bl ", 4) == 0)
			in_list++;
		else if (strncmp(line, ".El", 3) == 0 && --in_list == 0)
			first = SIZE_MAX;
		if (strstr(line, "Not acted on yet") != NULL) {
			if (first != SIZE_MAX)
				for (size_t i = first; i < d->n; i++)
					d->v[i].later_text = 1;
			else if (in_list == 0 &&
			    strncmp(line, "Not acted", 9) == 0)
				section_later = 1;
		}
		if (in_list != 1)
			continue;
		if (xo && strncmp(line, ".Xc", 3) == 0)
			xo = 0;
		else if (xo && strncmp(line, ".Cm ", 4) == 0)
			add_cm_line(d, t, line, section_later);
		else if (strncmp(line, ".It Xo", 6) == 0) {
			xo = 1;
			first = d->n;
		} else if (strncmp(line, ".It Cm ", 7) == 0 &&
		    strstr(line, " Ns =") != NULL) {
			first = d->n;
			add_cm_line(d, t, line + 3, section_later);
		} else if (strncmp(line, ".It ", 4) == 0)
			first = SIZE_MAX; /* an entry that is no key */
	}
	fclose(f);
}

static const char *
type_name(enum config_type t)
{
	static const char *const n[] = { "any", "global", "repository",
		"source", "job", "drill" };

	return (n[t]);
}

static void
schema_key(void *arg, enum config_type t, const char *key, int later)
{
	struct docs *d = arg;

	int found = 0;

	/* A key documented per kind of source is there more than once. */
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].type != t || strcmp(d->v[i].name, key) != 0)
			continue;
		d->v[i].seen = found = 1;
		if (later && !d->v[i].later_text)
			problem(d, type_name(t), key,
			    "nothing acts on it yet, the page does not say so");
		if (!later && d->v[i].later_text)
			problem(d, type_name(t), key,
			    "acted on, the page says not yet");
	}
	if (!found)
		problem(d, type_name(t), key, "in the schema, not in " PAGE);
}

START_TEST(test_every_key_documented_as_it_is)
{
	struct docs d;

	memset(&d, 0, sizeof(d));
	read_page(&d);
	ck_assert_uint_gt(d.n, 40);
	config_schema_each(schema_key, &d);
	for (size_t i = 0; i < d.n; i++)
		if (!d.v[i].seen)
			problem(&d, type_name(d.v[i].type), d.v[i].name,
			    "documented, not in the schema");
	ck_assert_msg(d.plen == 0, "coffer.conf(5) and the schema differ:\n%s",
	    d.problems);
	free(d.v);
}
END_TEST

Suite *docs_suite(void);

Suite *
docs_suite(void)
{
	Suite *s = suite_create("docs");
	TCase *tc = tcase_create("conf");

	tcase_add_test(tc, test_every_key_documented_as_it_is);
	suite_add_tcase(s, tc);
	return (s);
}
