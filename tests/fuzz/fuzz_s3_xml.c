/*
 * What an S3 server answers (lib/store/s3_xml.c): a ListObjectsV2 page,
 * from a server the repository does not trust more than its bytes.
 * Invariants: a refusal is ERR_CORRUPT with an empty page; a page taken
 * has a continuation token exactly when truncated, a key for every item
 * (no NUL inside: it is a C string of what the server sent); and the page
 * written back as XML (entities escaped) reads as the same page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "store/s3_xml.h"

struct buf {
	char *p;
	size_t n, cap;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		FUZZ_CHECK(b->p != NULL);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* s with XML's special characters as entities. */
static void
put_escaped(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&':
			puts_(b, "&amp;");
			break;
		case '<':
			puts_(b, "&lt;");
			break;
		case '>':
			puts_(b, "&gt;");
			break;
		default:
			put(b, s, 1);
		}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_list_page pg, again;
	struct buf b = { NULL, 0, 0 };
	struct err e;
	char num[64];

	if (s3_xml_list((const char *)data, size, &pg, &e) == -1) {
		FUZZ_CHECK(e.class == ERR_CORRUPT);
		FUZZ_CHECK(pg.n == 0 && pg.v == NULL && pg.token == NULL);
		return (0);
	}
	FUZZ_CHECK((pg.token != NULL) == (pg.truncated != 0));
	FUZZ_CHECK(pg.token == NULL || pg.token[0] != '\0');
	for (size_t i = 0; i < pg.n; i++)
		FUZZ_CHECK(pg.v[i].key != NULL);
	/* Written back, read back: the same page. */
	puts_(&b, "<ListBucketResult><IsTruncated>");
	puts_(&b, pg.truncated ? "true" : "false");
	puts_(&b, "</IsTruncated>");
	if (pg.token != NULL) {
		puts_(&b, "<NextContinuationToken>");
		put_escaped(&b, pg.token);
		puts_(&b, "</NextContinuationToken>");
	}
	for (size_t i = 0; i < pg.n; i++) {
		puts_(&b, "<Contents><Key>");
		put_escaped(&b, pg.v[i].key);
		snprintf(num, sizeof(num), "</Key><Size>%llu</Size>",
		    (unsigned long long)pg.v[i].size);
		puts_(&b, num);
		puts_(&b, "</Contents>");
	}
	puts_(&b, "</ListBucketResult>");
	if (s3_xml_list(b.p, b.n, &again, &e) == -1)
		fuzz_fail(__FILE__, __LINE__,
		    "the page written back is refused");
	FUZZ_CHECK(again.truncated == pg.truncated);
	FUZZ_CHECK(pg.token == NULL || strcmp(again.token, pg.token) == 0);
	FUZZ_CHECK(again.n == pg.n);
	for (size_t i = 0; i < pg.n; i++) {
		FUZZ_CHECK(strcmp(again.v[i].key, pg.v[i].key) == 0);
		FUZZ_CHECK(again.v[i].size == pg.v[i].size);
	}
	s3_list_page_free(&again);
	s3_list_page_free(&pg);
	free(b.p);
	return (0);
}
