/*
 * Config and command-line values (lib/value.c): the first byte picks the
 * parser, the rest is the text.  Invariants: a parsed integer, size or
 * duration printed in plain digits parses to itself; a percentage is in
 * 0..100; a list's items are non-empty and, quoted, parse back the same.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "value.h"

static void
list(const char *s)
{
	char **items = NULL, **again = NULL, *q = NULL;
	size_t n = 0, n2 = 0, len = 3;
	int quotable = 1;

	if (value_parse_list(s, &items, &n) == -1)
		return;
	FUZZ_CHECK((n == 0) == (items == NULL));
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(items[i][0] != '\0');
		if (strchr(items[i], '"') != NULL)
			quotable = 0;
		len += strlen(items[i]) + 3;
	}
	if (quotable && n > 0) {
		q = malloc(len);
		FUZZ_CHECK(q != NULL);
		q[0] = '\0';
		for (size_t i = 0; i < n; i++) {
			strcat(q, i ? ",\"" : "\"");
			strcat(q, items[i]);
			strcat(q, "\"");
		}
		FUZZ_CHECK(value_parse_list(q, &again, &n2) == 0);
		FUZZ_CHECK(n2 == n);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(strcmp(items[i], again[i]) == 0);
	}
	value_list_free(items, n);
	value_list_free(again, n2);
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, buf[32];
	int64_t i, i2;
	uint64_t u, u2;
	double d;
	int b;

	if (size == 0)
		return (0);
	s = fuzz_cstr(data + 1, size - 1);
	switch (data[0] % 6) {
	case 0:
		if (value_parse_bool(s, &b) == 0)
			FUZZ_CHECK(b == 0 || b == 1);
		break;
	case 1:
		if (value_parse_int(s, &i) == 0) {
			snprintf(buf, sizeof(buf), "%" PRId64, i);
			FUZZ_CHECK(value_parse_int(buf, &i2) == 0 && i2 == i);
		}
		break;
	case 2:
		if (value_parse_size(s, &u) == 0) {
			snprintf(buf, sizeof(buf), "%" PRIu64, u);
			FUZZ_CHECK(value_parse_size(buf, &u2) == 0 && u2 == u);
		}
		break;
	case 3:
		if (value_parse_duration(s, &u) == 0) {
			snprintf(buf, sizeof(buf), "%" PRIu64, u);
			FUZZ_CHECK(
			    value_parse_duration(buf, &u2) == 0 && u2 == u);
		}
		break;
	case 4:
		if (value_parse_percent(s, &d) == 0)
			FUZZ_CHECK(d >= 0.0 && d <= 100.0);
		break;
	default:
		list(s);
		break;
	}
	free(s);
	return (0);
}
