/*
 * Schedules (lib/schedule.c), the `schedule` and `prune_schedule` keys.
 * The input is the schedule's text; the first bytes of a hash of it pick
 * an instant.  Invariants, in UTC: the next due time is after the instant
 * and is its own previous due time; the previous due time is at or before
 * it; the shortest interval is at most the nominal one.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "schedule.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "UTC", 1);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct schedule *s = NULL;
	char *text = fuzz_cstr(data, size);
	uint64_t h = 1469598103934665603ULL;
	time_t at, next, prev, again;
	struct err e;

	if (schedule_parse(text, &s, &e) == -1) {
		FUZZ_CHECK(s == NULL && e.class == ERR_USAGE);
		goto out;
	}
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ULL;
	/*
	 * 2011 .. 2100, so that forty years either side (the longest a
	 * schedule may wait: SEARCH_DAYS) stay in range.
	 */
	at = (time_t)(1293840000 + h % 2777529600ULL);
	if (schedule_next(s, NULL, at, &next, &e) == -1)
		fuzz_fail(__FILE__, __LINE__, e.msg);
	FUZZ_CHECK(next > at);
	if (schedule_prev(s, NULL, next, &again, &e) == -1)
		fuzz_fail(__FILE__, __LINE__, e.msg);
	FUZZ_CHECK(again == next);
	if (schedule_prev(s, NULL, at, &prev, &e) == -1)
		fuzz_fail(__FILE__, __LINE__, e.msg);
	FUZZ_CHECK(prev <= at);
	if (schedule_next(s, NULL, prev, &again, &e) == -1)
		fuzz_fail(__FILE__, __LINE__, e.msg);
	FUZZ_CHECK(again > prev && again == next);
	FUZZ_CHECK(schedule_interval_min(s) > 0);
	FUZZ_CHECK(schedule_interval_min(s) <= schedule_interval_hint(s));
out:
	schedule_free(s);
	free(text);
	return (0);
}
