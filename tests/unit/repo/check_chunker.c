/*
 * The chunker: boundaries pinned to the rules in doc/FORMAT.md (by a slow
 * reference written from that text and by golden values), independent of
 * how the stream is split into calls, and with the properties
 * deduplication relies on (shift resistance, locality, size bounds).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "repo/chunker.h"
#include "xmalloc.h"

#define MIB ((size_t)1 << 20)

/*
 * For the per-call and per-chunk loops: a passing ck_assert records its
 * location in Check's message file, and those loops passed millions of
 * times (over 400 MB of messages for the parent to read: most of the suite's
 * time, and far too long under valgrind).  This one records only a failure.
 */
#define QUIET_ASSERT(expr)                                                     \
	do {                                                                   \
		if (!(expr))                                                   \
			ck_abort_msg("Assertion '%s' failed", #expr);          \
	} while (0)

/* Small parameters: many chunks from little data, so tests stay quick. */
static const struct chunker_params small = { 1024, 4096, 16384, 2 };
/* Medium: 64 KiB average, the default ratios. */
static const struct chunker_params medium = { 16384, 65536, 262144, 2 };

struct chunks {
	size_t *len;
	size_t n, cap;
};

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (z ^ (z >> 31));
}

/* The test gear table for seed: splitmix64 outputs 1..256. */
static void
make_gear(uint64_t seed, uint64_t *gear)
{
	size_t i;

	for (i = 0; i < CHUNKER_GEAR_SIZE; i++)
		gear[i] = splitmix64(&seed);
}

/* n bytes: the splitmix64 outputs for seed, little-endian. */
static uint8_t *
random_data(size_t n, uint64_t seed)
{
	uint8_t *p = xmalloc(n);
	size_t i;
	uint64_t v = 0;

	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = splitmix64(&seed);
		p[i] = (uint8_t)(v >> (8 * (i % 8)));
	}
	return (p);
}

static void
push(struct chunks *ch, size_t len)
{
	if (ch->n == ch->cap) {
		ch->cap = ch->cap ? 2 * ch->cap : 64;
		ch->len = xreallocarray(ch->len, ch->cap, sizeof(*ch->len));
	}
	ch->len[ch->n++] = len;
}

static struct chunker *
new_chunker(const struct chunker_params *p, const uint64_t *gear)
{
	struct chunker *c;
	struct err e;

	c = chunker_new(p, gear, &e);
	ck_assert_msg(c != NULL, "chunker_new: %s", e.msg);
	return (c);
}

/*
 * Chunk data through the streaming API, fed `feed` bytes per call, or
 * random amounts of 0..2*feed bytes when split_seed is not 0.  Checks the
 * API contract on every call.
 */
static struct chunks
chunk_with(struct chunker *c, const uint8_t *data, size_t n, size_t feed,
    uint64_t split_seed)
{
	struct chunks ch = { NULL, 0, 0 };
	size_t off = 0, k, len = 0;
	int cut;

	while (off < n) {
		size_t want = feed;

		if (split_seed != 0)
			want =
			    (size_t)(splitmix64(&split_seed) % (2 * feed + 1));
		if (want > n - off)
			want = n - off;
		k = chunker_scan(c, data + off, want, &cut);
		QUIET_ASSERT(k <= want);
		if (!cut)
			QUIET_ASSERT(k == want);
		off += k;
		len += k;
		if (cut) {
			push(&ch, len);
			len = 0;
		}
	}
	k = chunker_finish(c);
	ck_assert_uint_eq(k, len);
	if (k > 0)
		push(&ch, k);
	return (ch);
}

static struct chunks
chunk_stream(const struct chunker_params *p, const uint64_t *gear,
    const uint8_t *data, size_t n, size_t feed, uint64_t split_seed)
{
	struct chunker *c = new_chunker(p, gear);
	struct chunks ch = chunk_with(c, data, n, feed, split_seed);

	chunker_free(c);
	return (ch);
}

static struct chunks
chunk_whole(const struct chunker_params *p, const uint64_t *gear,
    const uint8_t *data, size_t n)
{
	return (chunk_stream(p, gear, data, n, n > 0 ? n : 1, 0));
}

static void
assert_same(const struct chunks *a, const struct chunks *b)
{
	size_t i;

	ck_assert_uint_eq(a->n, b->n);
	for (i = 0; i < a->n; i++)
		if (a->len[i] != b->len[i])
			ck_abort_msg("chunk %zu: %zu bytes vs %zu", i,
			    a->len[i], b->len[i]);
}

static uint64_t
fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return (h);
}

/* Content hashes of the chunks, to compare two chunkings by content. */
static uint64_t *
chunk_hashes(const struct chunks *ch, const uint8_t *data)
{
	uint64_t *h = xreallocarray(NULL, ch->n + 1, sizeof(*h));
	size_t i, off = 0;

	for (i = 0; i < ch->n; i++) {
		h[i] = fnv1a(data + off, ch->len[i]);
		off += ch->len[i];
	}
	return (h);
}

/*
 * Bytes of b's chunks whose content is also a chunk of a; *changed gets
 * how many of b's chunks are not.
 */
static size_t
bytes_shared(const struct chunks *a, const uint8_t *adata,
    const struct chunks *b, const uint8_t *bdata, size_t *changed)
{
	uint64_t *ha = chunk_hashes(a, adata), *hb = chunk_hashes(b, bdata);
	size_t i, j, shared = 0;

	*changed = 0;
	for (i = 0; i < b->n; i++) {
		for (j = 0; j < a->n && ha[j] != hb[i]; j++)
			;
		if (j < a->n)
			shared += b->len[i];
		else
			(*changed)++;
	}
	free(ha);
	free(hb);
	return (shared);
}

/*
 * The rules of doc/FORMAT.md written out the slow way: the hash computed
 * from its definition over the 64-byte window at every tested byte.
 */
static struct chunks
chunk_reference(const struct chunker_params *p, const uint64_t *gear,
    const uint8_t *data, size_t n)
{
	struct chunks ch = { NULL, 0, 0 };
	unsigned b = (unsigned)__builtin_ctz(p->avg_size);
	uint64_t mask_s = ~UINT64_C(0) << (64 - (b + p->norm_level));
	uint64_t mask_l = ~UINT64_C(0) << (64 - (b - p->norm_level));
	size_t start = 0, len, j;

	while (start < n) {
		for (len = 1; start + len <= n; len++) {
			const uint8_t *last = data + start + len - 1;
			uint64_t h = 0;

			if (len == p->max_size)
				break;
			if (len < p->min_size)
				continue;
			for (j = 0; j < 64; j++)
				h += gear[*(last - j)] << j;
			if ((h & (len < p->avg_size ? mask_s : mask_l)) == 0)
				break;
		}
		if (start + len > n)
			len = n - start;
		push(&ch, len);
		start += len;
	}
	return (ch);
}

START_TEST(test_matches_reference)
{
	static const struct chunker_params ps[] = {
		{ 1024, 4096, 16384, 2 },
		{ 64, 256, 1000, 0 },
		{ 100, 256, 300, 3 }, /* often forced */
		{ 2000, 8192, 9000, 1 },
	};
	size_t n = 2 * MIB, i;
	uint64_t gear[CHUNKER_GEAR_SIZE];
	uint8_t *data = random_data(n, 11);
	struct chunks ref, got;

	/* Zeros in the middle: a run of forced cuts. */
	memset(data + n / 2, 0, 100000);
	make_gear(1, gear);
	for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		ref = chunk_reference(&ps[i], gear, data, n);
		got = chunk_whole(&ps[i], gear, data, n);
		ck_assert_uint_gt(ref.n, 100);
		assert_same(&ref, &got);
		free(ref.len);
		free(got.len);
	}
	free(data);
}
END_TEST

/*
 * Golden values: the format promises these boundaries forever.  If this
 * fails, the chunker changed what it cuts and old repositories would stop
 * deduplicating against new snapshots.  doc/FORMAT.md quotes them.
 */
START_TEST(test_golden)
{
	static const size_t first[] = { 6035, 3742, 5234, 5163, 4225, 2301,
		4141, 4382 };
	uint64_t gear[CHUNKER_GEAR_SIZE];
	uint8_t *data = random_data(MIB, 2);
	struct chunks ch;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	make_gear(1, gear);
	ch = chunk_whole(&small, gear, data, MIB);
	for (i = 0; i < sizeof(first) / sizeof(first[0]); i++)
		ck_assert_uint_eq(ch.len[i], first[i]);
	for (i = 0; i < ch.n; i++)
		h = (h ^ ch.len[i]) * UINT64_C(0x100000001b3);
	ck_assert_uint_eq(ch.n, 219);
	ck_assert_uint_eq(ch.len[218], 3773);
	ck_assert_uint_eq(h, UINT64_C(0x9aa4815c24c40bdf));
	free(ch.len);
	free(data);
}
END_TEST

/* Same input, same cuts: from a fresh chunker and from one reused. */
START_TEST(test_deterministic)
{
	size_t n = 8 * MIB, i;
	uint64_t gear[CHUNKER_GEAR_SIZE];
	uint8_t *data = random_data(n, 3);
	struct chunker *c;
	struct chunks a, b;

	make_gear(7, gear);
	a = chunk_whole(&medium, gear, data, n);
	ck_assert_uint_gt(a.n, 50);
	c = new_chunker(&medium, gear);
	for (i = 0; i < 3; i++) {
		/* Ends mid-chunk: finish must forget it. */
		b = chunk_with(c, data, n - 12345, 65536, 0);
		free(b.len);
		b = chunk_with(c, data, n, 65536, 0);
		assert_same(&a, &b);
		free(b.len);
	}
	chunker_free(c);
	free(a.len);
	free(data);
}
END_TEST

START_TEST(test_split_independent)
{
	size_t n = 4 * MIB, i;
	uint64_t gear[CHUNKER_GEAR_SIZE];
	uint8_t *data = random_data(n, 4);
	struct chunks whole, split;
	static const size_t feeds[] = { 1, 7, 63, 64, 1000, 4096, 65537 };

	memset(data + MIB, 0, 200000);
	make_gear(7, gear);
	whole = chunk_whole(&small, gear, data, n);
	for (i = 0; i < sizeof(feeds) / sizeof(feeds[0]); i++) {
		split = chunk_stream(&small, gear, data, n, feeds[i], 0);
		assert_same(&whole, &split);
		free(split.len);
	}
	/* Random splits, including empty calls. */
	for (i = 1; i <= 3; i++) {
		split = chunk_stream(&small, gear, data, n, 3000 * i, i);
		assert_same(&whole, &split);
		free(split.len);
	}
	free(whole.len);
	free(data);
}
END_TEST

START_TEST(test_sizes_within_bounds)
{
	static const struct chunker_params ps[] = {
		{ 1024, 4096, 16384, 2 },
		{ 3000, 4096, 5000, 3 },
		{ 64, 256, 257, 0 },
	};
	size_t n = 4 * MIB + 123, i, j, sum;
	uint64_t gear[CHUNKER_GEAR_SIZE];
	uint8_t *data = random_data(n, 5);
	struct chunks ch;

	memset(data + MIB, 0, 300000);
	make_gear(7, gear);
	for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		ch = chunk_stream(&ps[i], gear, data, n, 10000, 99);
		sum = 0;
		for (j = 0; j < ch.n; j++) {
			if (j + 1 < ch.n)
				QUIET_ASSERT(ch.len[j] >= ps[i].min_size);
			QUIET_ASSERT(ch.len[j] >= 1);
			QUIET_ASSERT(ch.len[j] <= ps[i].max_size);
			sum += ch.len[j];
		}
		ck_assert_uint_eq(sum, n);
		free(ch.len);
	}
	free(data);
}
END_TEST

/*
 * After 64 zero bytes the hash is sum(gear[0] << j, j < 64) = -gear[0]
 * (mod 2^64) at every byte, so zeros cut at min, avg or max alone,
 * depending on the top bits of -gear[0].
 */
START_TEST(test_zeros)
{
	/* small: avg 2^12, level 2: mask_s 14 top bits, mask_l 10. */
	static const struct {
		uint64_t minus_g0;
		size_t len;
	} cases[] = {
		{ 0, 1024 },                  /* every test passes */
		{ UINT64_C(1) << 53, 4096 },  /* 10 top bits 0, not 14 */
		{ UINT64_C(1) << 49, 1024 },  /* 14 top bits 0 */
		{ UINT64_C(1) << 54, 16384 }, /* 10th bit from the top */
		{ ~UINT64_C(0), 16384 },      /* gear[0] = 1 */
	};
	size_t n = 100000, i, j;
	uint64_t gear[CHUNKER_GEAR_SIZE];
	uint8_t *zeros = xcalloc(n, 1);
	struct chunks ch;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_gear(7, gear);
		gear[0] = 0 - cases[i].minus_g0;
		ch = chunk_stream(&small, gear, zeros, n, 777, 0);
		ck_assert_uint_eq(ch.n, (n + cases[i].len - 1) / cases[i].len);
		for (j = 0; j + 1 < ch.n; j++)
			ck_assert_uint_eq(ch.len[j], cases[i].len);
		ck_assert_uint_eq(ch.len[j], n - j * cases[i].len);
		free(ch.len);
	}
	/* The table tests use: -gear[0] has a top bit set, so max. */
	make_gear(7, gear);
	ck_assert((0 - gear[0]) >> 54 != 0);
	ch = chunk_whole(&small, gear, zeros, n);
	ck_assert_uint_eq(ch.n, 7);
	ck_assert_uint_eq(ch.len[0], 16384);
	ck_assert_uint_eq(ch.len[6], n - 6 * 16384);
	free(ch.len);
	free(zeros);
}
END_TEST

static void
check_shift(const struct chunker_params *p)
{
	size_t n = 32 * MIB, at = 5000, ins = 100, changed, shared;
	uint64_t gear[CHUNKER_GEAR_SIZE];
	uint8_t *a = random_data(n, 6), *b = xmalloc(n + ins);
	uint8_t *extra = random_data(ins, 66);
	struct chunks ca, cb;

	memcpy(b, a, at);
	memcpy(b + at, extra, ins);
	memcpy(b + at + ins, a + at, n - at);
	make_gear(7, gear);
	ca = chunk_whole(p, gear, a, n);
	cb = chunk_whole(p, gear, b, n + ins);
	shared = bytes_shared(&ca, a, &cb, b, &changed);
	ck_assert_msg(shared * 10 >= (n + ins) * 9,
	    "avg %u: only %zu of %zu bytes in unchanged chunks", p->avg_size,
	    shared, n + ins);
	ck_assert_uint_ge(changed, 1);
	free(ca.len);
	free(cb.len);
	free(a);
	free(b);
	free(extra);
}

START_TEST(test_shift_resistant)
{
	struct chunker_params def;

	check_shift(&medium);
	chunker_params_default(&def);
	check_shift(&def);
}
END_TEST

static void
check_one_byte_change(const struct chunker_params *p)
{
	size_t n = 64 * MIB, changed;
	uint64_t gear[CHUNKER_GEAR_SIZE];
	uint8_t *a = random_data(n, 8), *b = xmalloc(n);
	struct chunks ca, cb;

	memcpy(b, a, n);
	b[n / 2] ^= 0x20;
	make_gear(9, gear);
	ca = chunk_whole(p, gear, a, n);
	cb = chunk_whole(p, gear, b, n);
	bytes_shared(&ca, a, &cb, b, &changed);
	ck_assert_msg(changed >= 1 && changed <= 3,
	    "avg %u: %zu chunks changed", p->avg_size, changed);
	free(ca.len);
	free(cb.len);
	free(a);
	free(b);
}

START_TEST(test_one_byte_change_is_local)
{
	struct chunker_params def;

	check_one_byte_change(&medium);
	chunker_params_default(&def);
	check_one_byte_change(&def);
}
END_TEST

/*
 * Expected chunk length on random data when every test passes with
 * probability 2^-bits independently: sum over L of P(length > L).
 */
static double
expected_mean(const struct chunker_params *p)
{
	unsigned b = (unsigned)__builtin_ctz(p->avg_size);
	double qs = 1.0 - 1.0 / (double)(UINT64_C(1) << (b + p->norm_level));
	double ql = 1.0 - 1.0 / (double)(UINT64_C(1) << (b - p->norm_level));
	double survive = 1.0, sum = p->min_size;
	size_t len;

	for (len = p->min_size; len < p->max_size; len++) {
		survive *= len < p->avg_size ? qs : ql;
		sum += survive;
	}
	return (sum);
}

static double
mean_len(const struct chunks *ch)
{
	size_t i;
	double sum = 0;

	/* The last chunk is cut by the end of data, not by the rules. */
	for (i = 0; i + 1 < ch->n; i++)
		sum += (double)ch->len[i];
	return (sum / (double)(ch->n - 1));
}

/*
 * The mean on random data, against the distribution the rules imply and
 * against avg.  Level 0 (no normalization) with min = avg/4 averages about
 * 1.23 * avg by that distribution, so only the first check applies to it.
 */
START_TEST(test_mean_size)
{
	uint64_t gear[CHUNKER_GEAR_SIZE];
	size_t n = 64 * MIB;
	uint8_t *data = random_data(n, 10);
	struct chunker_params p;
	struct chunks ch;
	double mean, want;

	make_gear(7, gear);
	/* Every level, with ~15000 chunks: a standard error near 0.5%. */
	p = small;
	for (p.norm_level = 0; p.norm_level <= CHUNKER_NORM_MAX;
	     p.norm_level++) {
		ch = chunk_whole(&p, gear, data, n);
		mean = mean_len(&ch);
		want = expected_mean(&p);
		ck_assert_msg(mean >= 0.97 * want && mean <= 1.03 * want,
		    "level %u: mean %.0f, expected %.0f", p.norm_level, mean,
		    want);
		if (p.norm_level > 0)
			ck_assert_msg(mean >= 0.75 * p.avg_size &&
			        mean <= 1.25 * p.avg_size,
			    "level %u: mean %.0f for avg %u", p.norm_level,
			    mean, p.avg_size);
		free(ch.len);
	}
	free(data);

	/* The defaults, on enough data for ~200 chunks. */
	n = 256 * MIB;
	data = random_data(n, 10);
	chunker_params_default(&p);
	ch = chunk_whole(&p, gear, data, n);
	mean = mean_len(&ch);
	ck_assert_msg(mean >= 0.75 * p.avg_size && mean <= 1.25 * p.avg_size,
	    "default: mean %.0f for avg %u", mean, p.avg_size);
	free(ch.len);
	free(data);
}
END_TEST

START_TEST(test_gear_changes_boundaries)
{
	size_t n = 16 * MIB, i, j, oa, ob, same = 0;
	uint64_t ga[CHUNKER_GEAR_SIZE], gb[CHUNKER_GEAR_SIZE];
	uint8_t *data = random_data(n, 12);
	struct chunks a, b;

	make_gear(100, ga);
	make_gear(101, gb);
	a = chunk_whole(&small, ga, data, n);
	b = chunk_whole(&small, gb, data, n);
	/* Count cut offsets the two have in common. */
	for (i = j = 0, oa = ob = 0; i < a.n && j < b.n;) {
		if (oa + a.len[i] == ob + b.len[j])
			same++;
		if (oa + a.len[i] <= ob + b.len[j])
			oa += a.len[i++];
		else
			ob += b.len[j++];
	}
	ck_assert_uint_gt(a.n, 1000);
	ck_assert_msg(same * 20 < a.n, "%zu of %zu cuts in common", same, a.n);
	free(a.len);
	free(b.len);
	free(data);
}
END_TEST

START_TEST(test_stream_edges)
{
	size_t n = 200000, k;
	uint64_t gear[CHUNKER_GEAR_SIZE];
	uint8_t *data = random_data(n, 13), *zeros = xcalloc(32768, 1);
	struct chunker *c;
	struct chunks fresh, after;
	int cut = 7;

	make_gear(7, gear);
	c = new_chunker(&small, gear);

	/* Empty stream: no chunk. */
	ck_assert_uint_eq(chunker_scan(c, data, 0, &cut), 0);
	ck_assert_int_eq(cut, 0);
	ck_assert_uint_eq(chunker_finish(c), 0);

	/* A stream that ends on a cut has no last chunk. */
	gear[0] = 1; /* zeros cut at max */
	chunker_free(c);
	c = new_chunker(&small, gear);
	ck_assert_uint_eq(chunker_scan(c, zeros, 32768, &cut), 16384);
	ck_assert_int_eq(cut, 1);
	ck_assert_uint_eq(chunker_scan(c, zeros + 16384, 16384, &cut), 16384);
	ck_assert_int_eq(cut, 1);
	ck_assert_uint_eq(chunker_finish(c), 0);

	/* reset mid-chunk: what follows chunks as a fresh stream. */
	make_gear(7, gear);
	chunker_free(c);
	c = new_chunker(&small, gear);
	ck_assert_uint_eq(chunker_scan(c, data, 500, &cut), 500);
	ck_assert_int_eq(cut, 0);
	chunker_reset(c);
	k = chunker_scan(c, data + 500, n - 500, &cut);
	ck_assert_int_eq(cut, 1);
	fresh = chunk_whole(&small, gear, data + 500, n - 500);
	ck_assert_uint_eq(k, fresh.len[0]);

	/* finish mid-chunk returns the pending bytes and resets. */
	ck_assert_uint_eq(chunker_scan(c, data, 700, &cut), 700);
	ck_assert_uint_eq(chunker_finish(c), 700);
	k = chunker_scan(c, data + 500, n - 500, &cut);
	ck_assert_uint_eq(k, fresh.len[0]);
	after = chunk_whole(&small, gear, data + 500, n - 500);
	assert_same(&fresh, &after);

	chunker_free(c);
	chunker_free(NULL);
	free(fresh.len);
	free(after.len);
	free(data);
	free(zeros);
}
END_TEST

START_TEST(test_params)
{
	static const struct {
		struct chunker_params p;
		const char *msg;
	} bad[] = {
		{ { 63, 256, 1024, 2 },
		    "chunker: minimum chunk size 63 is below 64 bytes" },
		{ { 0, 4096, 16384, 2 },
		    "chunker: minimum chunk size 0 is below 64 bytes" },
		{ { 1024, 3000, 16384, 2 },
		    "chunker: average chunk size 3000 is not a power of two "
		    "of at least 256 bytes" },
		{ { 64, 128, 1024, 2 },
		    "chunker: average chunk size 128 is not a power of two "
		    "of at least 256 bytes" },
		{ { 1024, 0, 16384, 2 },
		    "chunker: average chunk size 0 is not a power of two "
		    "of at least 256 bytes" },
		{ { 1024, 4096, (64u << 20) + 1, 2 },
		    "chunker: maximum chunk size 67108865 is above 67108864 "
		    "bytes (64 MiB)" },
		{ { 4096, 4096, 16384, 2 },
		    "chunker: chunk sizes must be minimum < average < maximum, "
		    "not 4096, 4096, 16384" },
		{ { 8192, 4096, 16384, 2 },
		    "chunker: chunk sizes must be minimum < average < maximum, "
		    "not 8192, 4096, 16384" },
		{ { 1024, 4096, 4096, 2 },
		    "chunker: chunk sizes must be minimum < average < maximum, "
		    "not 1024, 4096, 4096" },
		{ { 1024, 4096, 16384, 4 },
		    "chunker: normalization level 4 is above 3" },
		{ { 1024, 4096, 16384, UINT32_MAX },
		    "chunker: normalization level 4294967295 is above 3" },
	};
	static const struct chunker_params good[] = {
		{ 64, 256, 257, 3 }, { 64, 256, 257, 0 },
		{ 1u << 20, 32u << 20, 64u << 20, 3 },
		{ 256u << 10, 1u << 20, 4u << 20, 2 }, /* the default */
	};
	struct chunker_params p;
	uint64_t gear[CHUNKER_GEAR_SIZE];
	struct chunker *c;
	struct err e;
	size_t i;

	make_gear(7, gear);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		ck_assert_int_eq(chunker_params_check(&bad[i].p, &e), -1);
		ck_assert_int_eq(e.class, ERR_USAGE);
		ck_assert_str_eq(e.msg, bad[i].msg);
		err_clear(&e);
		ck_assert_ptr_null(chunker_new(&bad[i].p, gear, &e));
		ck_assert_int_eq(e.class, ERR_CORRUPT);
		ck_assert_str_eq(e.msg, bad[i].msg);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err_clear(&e);
		ck_assert_int_eq(chunker_params_check(&good[i], &e), 0);
		ck_assert_int_eq(e.class, ERR_NONE);
		c = chunker_new(&good[i], gear, &e);
		ck_assert_ptr_nonnull(c);
		chunker_free(c);
	}
	chunker_params_default(&p);
	ck_assert_uint_eq(p.min_size, 64u << 10);
	ck_assert_uint_eq(p.avg_size, 256u << 10);
	ck_assert_uint_eq(p.max_size, 1u << 20);
	ck_assert_uint_eq(p.norm_level, 2);
}
END_TEST

Suite *chunker_suite(void);

Suite *
chunker_suite(void)
{
	Suite *s = suite_create("chunker");
	TCase *tc = tcase_create("core");

	/* Tens of MiB per test, several times over under ASan. */
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_params);
	tcase_add_test(tc, test_matches_reference);
	tcase_add_test(tc, test_golden);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_split_independent);
	tcase_add_test(tc, test_sizes_within_bounds);
	tcase_add_test(tc, test_zeros);
	tcase_add_test(tc, test_stream_edges);
	tcase_add_test(tc, test_shift_resistant);
	tcase_add_test(tc, test_one_byte_change_is_local);
	tcase_add_test(tc, test_mean_size);
	tcase_add_test(tc, test_gear_changes_boundaries);
	suite_add_tcase(s, tc);
	return (s);
}
