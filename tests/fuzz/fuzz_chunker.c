/*
 * The chunker (lib/repo/chunker.c): the first 4 input bytes choose valid
 * parameters (small sizes, so that inputs hold many chunks) and a split
 * of the stream into calls; the rest is the stream.  Invariants: every
 * cut chunk holds min..max bytes, the last at most max; the chunks add
 * up to the stream; the same boundaries come whatever the split, and
 * again after chunker_finish.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fuzz.h"
#include "repo/chunker.h"

#define MAXCUTS 65536

/* Boundaries (end offsets) of the chunks of p[0..n), fed step bytes a call
 * (0: all at once); returns how many. */
static size_t
cuts(struct chunker *c, const struct chunker_params *cp, const uint8_t *p,
    size_t n, size_t step, size_t *out)
{
	size_t pos = 0, start = 0, k = 0, last;

	while (pos < n) {
		size_t want = step == 0 || n - pos < step ? n - pos : step;
		size_t took;
		int cut;

		took = chunker_scan(c, p + pos, want, &cut);
		FUZZ_CHECK(took <= want);
		FUZZ_CHECK(cut || took == want);
		pos += took;
		if (cut) {
			FUZZ_CHECK(pos - start >= cp->min_size);
			FUZZ_CHECK(pos - start <= cp->max_size);
			FUZZ_CHECK(k < MAXCUTS);
			out[k++] = pos;
			start = pos;
		}
	}
	last = chunker_finish(c);
	FUZZ_CHECK(last == n - start);
	FUZZ_CHECK(last <= cp->max_size);
	if (last > 0) {
		FUZZ_CHECK(k < MAXCUTS);
		out[k++] = n;
	}
	return (k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t gear[CHUNKER_GEAR_SIZE];
	static size_t a[MAXCUTS], b[MAXCUTS];
	struct chunker_params cp;
	struct chunker *c;
	uint8_t key[CRYPTO_KEY_LEN];
	size_t na, nb, step;
	struct err e;

	if (gear[0] == 0) {
		memset(key, 0x5a, sizeof(key));
		crypto_gear_table(key, gear);
	}
	if (size < 4)
		return (0);
	cp.avg_size = CHUNKER_AVG_FLOOR << (data[0] % 4);
	cp.min_size = CHUNKER_MIN_FLOOR +
	    (uint32_t)data[1] * (cp.avg_size - CHUNKER_MIN_FLOOR) / 256;
	cp.max_size = cp.avg_size + 1 + (uint32_t)data[2] * cp.avg_size / 32;
	cp.norm_level = (uint32_t)(data[0] >> 2) % (CHUNKER_NORM_MAX + 1);
	step = data[3];
	FUZZ_CHECK(chunker_params_check(&cp, &e) == 0);
	if ((c = chunker_new(&cp, gear, &e)) == NULL)
		fuzz_fail(__FILE__, __LINE__, e.msg);
	data += 4;
	size -= 4;
	na = cuts(c, &cp, data, size, 0, a);
	nb = cuts(c, &cp, data, size, step, b);
	FUZZ_CHECK(na == nb && memcmp(a, b, na * sizeof(a[0])) == 0);
	nb = cuts(c, &cp, data, size, 1, b);
	FUZZ_CHECK(na == nb && memcmp(a, b, na * sizeof(a[0])) == 0);
	chunker_free(c);
	return (0);
}
