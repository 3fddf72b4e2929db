/*
 * libpq connection strings (lib/conninfo.c), as given on the command line
 * or in a source's connection.  Invariant: what parses is written back in
 * one canonical form, which parses to the same settings.
 */
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conninfo *ci = NULL, *ci2 = NULL;
	char *s = fuzz_cstr(data, size), *out = NULL, *out2 = NULL;
	struct err e;

	if (conninfo_parse(s, &ci, &e) == -1) {
		FUZZ_CHECK(ci == NULL && e.class == ERR_USAGE);
		goto out;
	}
	out = conninfo_string(ci, NULL);
	if (conninfo_parse(out, &ci2, &e) == -1)
		fuzz_fail(__FILE__, __LINE__, "canonical form does not parse");
	out2 = conninfo_string(ci2, NULL);
	FUZZ_CHECK(strcmp(out, out2) == 0);
	free(out2);
	out2 = conninfo_string(ci, "db");
	FUZZ_CHECK(conninfo_get(ci, "password") == NULL);
out:
	free(out);
	free(out2);
	conninfo_free(ci);
	conninfo_free(ci2);
	free(s);
	return (0);
}
