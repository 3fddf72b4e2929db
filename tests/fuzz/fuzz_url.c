/*
 * sftp:// and s3:// URLs (lib/url.c), from the config or the command
 * line; an input starting "s3://" goes to url_parse_s3, any other to
 * url_parse_sftp.  Invariants: a parsed URL has a host and a port in
 * range, holds no password or secret key, an sftp path is absolute, an s3
 * bucket is 3..63 of [a-z0-9.-] and its prefix has no '/' at either end;
 * the parts written back as a URL parse to the same parts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "url.h"

static void
s3(const char *s)
{
	struct url_s3 u, u2;
	char back[2048];
	struct err e;
	size_t bl;

	if (url_parse_s3(s, &u, &e) == -1) {
		FUZZ_CHECK(e.class == ERR_CONFIG);
		return;
	}
	FUZZ_CHECK(u.host[0] != '\0');
	FUZZ_CHECK(u.port >= 0 && u.port <= 65535);
	FUZZ_CHECK(strchr(u.access, ':') == NULL);
	bl = strlen(u.bucket);
	FUZZ_CHECK(bl >= 3 && bl <= 63);
	FUZZ_CHECK(
	    strspn(u.bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") == bl);
	FUZZ_CHECK(u.prefix[0] != '/');
	FUZZ_CHECK(
	    u.prefix[0] == '\0' || u.prefix[strlen(u.prefix) - 1] != '/');
	snprintf(back, sizeof(back), "s3://%s%s%s%s%s", u.access,
	    u.access[0] ? "@" : "", strchr(u.host, ':') ? "[" : "", u.host,
	    strchr(u.host, ':') ? "]" : "");
	if (u.port != 0)
		snprintf(back + strlen(back), sizeof(back) - strlen(back),
		    ":%d", u.port);
	snprintf(back + strlen(back), sizeof(back) - strlen(back), "/%s%s%s",
	    u.bucket, u.prefix[0] ? "/" : "", u.prefix);
	if (url_parse_s3(back, &u2, &e) == -1)
		fuzz_fail(__FILE__, __LINE__,
		    "s3 parts written back do not parse");
	FUZZ_CHECK(strcmp(u.access, u2.access) == 0);
	FUZZ_CHECK(strcmp(u.host, u2.host) == 0);
	FUZZ_CHECK(u.port == u2.port);
	FUZZ_CHECK(strcmp(u.bucket, u2.bucket) == 0);
	FUZZ_CHECK(strcmp(u.prefix, u2.prefix) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct url_sftp u, u2;
	char *s = fuzz_cstr(data, size), *back = NULL;
	struct err e;
	size_t n;

	if (strncmp(s, "s3://", 5) == 0) {
		s3(s);
		goto out;
	}
	if (url_parse_sftp(s, &u, &e) == -1) {
		FUZZ_CHECK(e.class == ERR_CONFIG);
		goto out;
	}
	FUZZ_CHECK(u.host[0] != '\0');
	FUZZ_CHECK(u.port >= 0 && u.port <= 65535);
	FUZZ_CHECK(strchr(u.user, ':') == NULL);
	n = strlen(u.user) + strlen(u.host) + strlen(u.path) + 32;
	back = malloc(n);
	FUZZ_CHECK(back != NULL);
	snprintf(back, n, "sftp://%s%s%s%s%s", u.user, u.user[0] ? "@" : "",
	    strchr(u.host, ':') ? "[" : "", u.host,
	    strchr(u.host, ':') ? "]" : "");
	if (u.port != 0)
		snprintf(back + strlen(back), n - strlen(back), ":%d", u.port);
	snprintf(back + strlen(back), n - strlen(back), "%s", u.path);
	if (url_parse_sftp(back, &u2, &e) == -1)
		fuzz_fail(__FILE__, __LINE__,
		    "parts written back do not parse");
	FUZZ_CHECK(strcmp(u.user, u2.user) == 0);
	FUZZ_CHECK(strcmp(u.host, u2.host) == 0);
	FUZZ_CHECK(u.port == u2.port);
	FUZZ_CHECK(strcmp(u.path, u2.path) == 0);
out:
	free(back);
	free(s);
	return (0);
}
