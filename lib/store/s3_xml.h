/*
 * The little XML an S3 server answers with, read without an XML library:
 * the text of an element by its tag, entities undone, and a
 * ListObjectsV2 page.  The bytes come from the server, so every function
 * here takes any input (tests/fuzz/fuzz_s3_xml.c).  No libcurl here.
 */
#ifndef COFFER_STORE_S3_XML_H
#define COFFER_STORE_S3_XML_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * The text between the first <tag> in [p, end) and the </tag> after it,
 * as a pointer into [p, end) and its length *len; NULL when either is
 * missing.  tag is at most 60 characters.
 */
const char *s3_xml_find(const char *p, const char *end, const char *tag,
    size_t *len);

/* n bytes of element text with XML's five named entities undone; malloc'd. */
char *s3_xml_text(const char *p, size_t n);

/* "2026-12-07T13:00:00.000Z" to seconds since the epoch; INT64_MIN if not. */
int64_t s3_xml_time(const char *p, size_t n);

struct s3_list_item {
	char *key; /* entities undone; no NUL inside */
	uint64_t size;
	int64_t mtime; /* INT64_MIN when missing or malformed */
};

struct s3_list_page {
	int truncated; /* IsTruncated is "true" */
	char *token;   /* NextContinuationToken, when truncated; else NULL */
	struct s3_list_item *v;
	size_t n;
};

/*
 * One ListObjectsV2 answer of len bytes: every <Contents> with a <Key>
 * and a <Size> (others are left out), in order.  A Size that is not
 * decimal digits fitting 64 bits is ERR_CORRUPT, and so are a key or a
 * continuation token holding a NUL byte and a truncated page without a
 * token; then *pg is empty.
 */
int s3_xml_list(const char *p, size_t len, struct s3_list_page *pg,
    struct err *e);

void s3_list_page_free(struct s3_list_page *pg);

#endif
