/*
 * sftp:// URLs (lib/url.c), from the config or the command line.
 * Invariants: a parsed URL has a host, a port in range and an absolute
 * path, holds no password, and its parts written back as a URL parse to
 * the same parts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "url.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct url_sftp u, u2;
	char *s = fuzz_cstr(data, size), *back = NULL;
	struct err e;
	size_t n;

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
