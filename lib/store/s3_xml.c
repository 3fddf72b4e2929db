/*
 * S3's XML answers (s3_xml.h).
 */
#include "store/s3_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

const char *
s3_xml_find(const char *p, const char *end, const char *tag, size_t *len)
{
	char open[64], close[64];
	const char *a, *b;
	size_t ol, cl;

	if (p == NULL || end <= p)
		return (NULL);
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	ol = strlen(open);
	cl = strlen(close);
	if ((a = memmem(p, (size_t)(end - p), open, ol)) == NULL)
		return (NULL);
	a += ol;
	if ((b = memmem(a, (size_t)(end - a), close, cl)) == NULL)
		return (NULL);
	*len = (size_t)(b - a);
	return (a);
}

char *
s3_xml_text(const char *p, size_t n)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' } };
	char *out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n;) {
		size_t k;

		for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
			size_t el = strlen(ents[k].ent);

			if (n - i >= el &&
			    memcmp(p + i, ents[k].ent, el) == 0) {
				*o++ = ents[k].c;
				i += el;
				break;
			}
		}
		if (k == sizeof(ents) / sizeof(ents[0]))
			*o++ = p[i++];
	}
	*o = '\0';
	return (out);
}

int64_t
s3_xml_time(const char *p, size_t n)
{
	struct tm tm;
	char buf[32];

	if (n >= sizeof(buf))
		return (INT64_MIN);
	memcpy(buf, p, n);
	buf[n] = '\0';
	memset(&tm, 0, sizeof(tm));
	if (strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return (INT64_MIN);
	return ((int64_t)timegm(&tm));
}

/* Decimal digits only, at most UINT64_MAX. */
static int
parse_size(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return (-1);
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (p[i] < '0' || p[i] > '9')
			return (-1);
		d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return (-1);
		v = v * 10 + d;
	}
	*out = v;
	return (0);
}

void
s3_list_page_free(struct s3_list_page *pg)
{
	for (size_t i = 0; i < pg->n; i++)
		free(pg->v[i].key);
	free(pg->v);
	free(pg->token);
	memset(pg, 0, sizeof(*pg));
}

int
s3_xml_list(const char *p, size_t len, struct s3_list_page *pg, struct err *e)
{
	const char *end = p + len, *v;
	size_t n, cap = 0;

	memset(pg, 0, sizeof(*pg));
	if (p == NULL)
		return (0);
	if ((v = s3_xml_find(p, end, "IsTruncated", &n)) != NULL && n == 4 &&
	    memcmp(v, "true", 4) == 0)
		pg->truncated = 1;
	if (pg->truncated) {
		if ((v = s3_xml_find(p, end, "NextContinuationToken", &n)) ==
		        NULL ||
		    n == 0) {
			err_set(e, ERR_CORRUPT,
			    "a truncated listing has no continuation token");
			goto bad;
		}
		/* Sent back as text: a NUL would cut it (to nothing, and
		 * the first page again, forever). */
		if (memchr(v, '\0', n) != NULL) {
			err_set(e, ERR_CORRUPT,
			    "a listing's continuation token holds a NUL byte");
			goto bad;
		}
		pg->token = s3_xml_text(v, n);
	}
	while ((v = s3_xml_find(p, end, "Contents", &n)) != NULL) {
		const char *ce = v + n, *kv, *sv, *mv;
		size_t kn, sn, mn;
		uint64_t size;

		p = ce;
		if ((kv = s3_xml_find(v, ce, "Key", &kn)) == NULL ||
		    (sv = s3_xml_find(v, ce, "Size", &sn)) == NULL)
			continue;
		if (memchr(kv, '\0', kn) != NULL) {
			err_set(e, ERR_CORRUPT,
			    "a listing gives a name that holds a NUL byte");
			goto bad;
		}
		if (parse_size(sv, sn, &size) == -1) {
			err_set(e, ERR_CORRUPT,
			    "a listing gives a size that is not a number");
			goto bad;
		}
		if (pg->n == cap) {
			cap = cap ? cap * 2 : 256;
			pg->v = xreallocarray(pg->v, cap, sizeof(*pg->v));
		}
		pg->v[pg->n].key = s3_xml_text(kv, kn);
		pg->v[pg->n].size = size;
		mv = s3_xml_find(v, ce, "LastModified", &mn);
		pg->v[pg->n].mtime =
		    mv != NULL ? s3_xml_time(mv, mn) : INT64_MIN;
		pg->n++;
	}
	return (0);
bad:
	s3_list_page_free(pg);
	return (-1);
}
