/*
 * Chunker throughput and chunk-size statistics on pseudo-random data held
 * in memory, for the parameter sets we are choosing the defaults from.
 * `make bench-chunker`; see usage() for the options.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "repo/chunker.h"
#include "xmalloc.h"

#define MAX_RUNS 99

struct stats {
	uint64_t n;
	size_t min, max;
	double sum, sumsq;
};

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (z ^ (z >> 31));
}

static void
fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	size_t i;
	uint64_t v;

	for (i = 0; i + 8 <= n; i += 8) {
		v = splitmix64(&seed);
		memcpy(p + i, &v, 8);
	}
	v = splitmix64(&seed);
	memcpy(p + i, &v, n - i);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
account(struct stats *st, size_t len)
{
	st->n++;
	st->sum += (double)len;
	st->sumsq += (double)len * (double)len;
	if (st->n == 1 || len < st->min)
		st->min = len;
	if (len > st->max)
		st->max = len;
}

/* One pass over the data in feeds of `feed` bytes; returns seconds. */
static double
run(struct chunker *c, const uint8_t *data, size_t size, size_t feed,
    struct stats *st)
{
	size_t off, k, len = 0;
	int cut;
	double t0 = now();

	memset(st, 0, sizeof(*st));
	for (off = 0; off < size; off += k) {
		const uint8_t *p = data + off;
		size_t n = size - off < feed ? size - off : feed;

		k = 0;
		while (k < n) {
			size_t m = chunker_scan(c, p + k, n - k, &cut);

			k += m;
			len += m;
			if (cut) {
				account(st, len);
				len = 0;
			}
		}
	}
	/* The last chunk is cut by the end of the data: not counted. */
	(void)chunker_finish(c);
	return (now() - t0);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: chunker-speed [-L] [-f feed_kib] [-l level] "
	    "[-r runs] [-s size_mib]\n"
	    "  -L  every normalization level 0..3 (default: -l only)\n"
	    "  sets: avg 256 KiB, 512 KiB, 1 MiB, 2 MiB; min = avg/4, "
	    "max = 4*avg\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const uint32_t avgs[] = { 256u << 10, 512u << 10, 1u << 20,
		2u << 20 };
	uint64_t gear[CHUNKER_GEAR_SIZE], seed = 42;
	size_t size = (size_t)1 << 30, feed = (size_t)1 << 20, a;
	unsigned runs = 5, level = 2, lo, hi, l, r;
	double secs[MAX_RUNS];
	uint8_t *data;
	struct err e;
	int ch, all_levels = 0;

	while ((ch = getopt(argc, argv, "Lf:l:r:s:")) != -1) {
		switch (ch) {
		case 'L':
			all_levels = 1;
			break;
		case 'f':
			feed = (size_t)strtoul(optarg, NULL, 10) << 10;
			break;
		case 'l':
			level = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			runs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			size = (size_t)strtoul(optarg, NULL, 10) << 20;
			break;
		default:
			usage();
		}
	}
	if (feed == 0 || size == 0 || runs == 0 || runs > MAX_RUNS)
		usage();
	lo = all_levels ? 0 : level;
	hi = all_levels ? CHUNKER_NORM_MAX : level;

	for (a = 0; a < CHUNKER_GEAR_SIZE; a++)
		gear[a] = splitmix64(&seed);
	data = xmalloc(size);
	fill_random(data, size, 7);

	printf("%zu MiB of pseudo-random data in memory, fed %zu KiB at a "
	       "time; median of %u runs; MB = 10^6 bytes\n\n",
	    size >> 20, feed >> 10, runs);
	printf("%8s %8s %8s %5s %8s %8s %10s %10s %10s %10s %8s\n", "avg",
	    "min", "max", "level", "MB/s", "chunks", "mean", "min", "max",
	    "stddev", "mean/avg");
	for (a = 0; a < sizeof(avgs) / sizeof(avgs[0]); a++) {
		for (l = lo; l <= hi; l++) {
			struct chunker_params p = { avgs[a] / 4, avgs[a],
				avgs[a] * 4, l };
			struct chunker *c;
			struct stats st;
			double mean, sd;

			if ((c = chunker_new(&p, gear, &e)) == NULL) {
				fprintf(stderr, "chunker-speed: %s\n", e.msg);
				return (1);
			}
			for (r = 0; r < runs; r++)
				secs[r] = run(c, data, size, feed, &st);
			chunker_free(c);
			qsort(secs, runs, sizeof(secs[0]), cmp_double);
			mean = st.sum / (double)st.n;
			sd = sqrt(st.sumsq / (double)st.n - mean * mean);
			printf("%7" PRIu32 "K %7" PRIu32 "K %7" PRIu32
			       "K %5u %8.0f %8" PRIu64
			       " %10.0f %10zu %10zu %10.0f %8.3f\n",
			    p.avg_size >> 10, p.min_size >> 10,
			    p.max_size >> 10, l,
			    (double)size / secs[runs / 2] / 1e6, st.n, mean,
			    st.min, st.max, sd, mean / (double)p.avg_size);
		}
	}
	free(data);
	return (0);
}
