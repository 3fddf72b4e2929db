/*
 * Index files (lib/repo/idx.c): the plaintext after the AEAD layer.
 * Invariants: a file that decodes holds entries whose pack numbers are
 * known; re-encoded and decoded into a fresh index it gives the same
 * locations, and that encoding is stable.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "repo/idx.h"

static int
check_ent(void *arg, const struct idx_entry *ent)
{
	const struct idx *x = arg;

	FUZZ_CHECK(ent->pack < idx_pack_count(x));
	FUZZ_CHECK(idx_find(x, ent->id) != NULL);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idx *x = idx_new(), *y = NULL, *z = NULL;
	uint8_t *enc = NULL, *enc2 = NULL;
	size_t len = 0, len2 = 0;
	struct err e;

	if (idx_decode(x, data, size, &e) == -1) {
		FUZZ_CHECK(e.class == ERR_CORRUPT);
		(void)idx_foreach(x, check_ent, x);
		goto out;
	}
	(void)idx_foreach(x, check_ent, x);
	FUZZ_CHECK(idx_locations(x) >= idx_count(x));
	idx_encode(x, 0, idx_pack_count(x), &enc, &len);
	y = idx_new();
	if (idx_decode(y, enc, len, &e) == -1)
		fuzz_fail(__FILE__, __LINE__, e.msg);
	FUZZ_CHECK(idx_count(y) == idx_count(x));
	FUZZ_CHECK(idx_locations(y) == idx_locations(x));
	idx_encode(y, 0, idx_pack_count(y), &enc2, &len2);
	FUZZ_CHECK(len == len2 && memcmp(enc, enc2, len) == 0);
out:
	free(enc);
	free(enc2);
	idx_free(x);
	idx_free(y);
	idx_free(z);
	return (0);
}
