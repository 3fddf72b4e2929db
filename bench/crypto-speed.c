/*
 * Micro-benchmark of the per-blob work: HMAC-SHA-256 (blob ids), SHA-256
 * (pack names), AES-256-GCM seal and open, zstd levels 1 and 3, over mixed
 * data (512 KiB blocks, alternately text-like and random), median of
 * several runs after one warm-up run; and one scrypt derive at the
 * passphrase minimum (median of 3).
 *
 *   crypto-speed [MiB [runs]]      defaults: 64 MiB, 5 runs
 *
 * MB/s are 10^6 bytes per second of input (of output for decompression).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "repo/compress.h"
#include "xmalloc.h"

#define BLOCK    ((size_t)512 * 1024)
#define MAX_RUNS 15

struct data {
	uint8_t *buf; /* nblocks * BLOCK bytes */
	size_t nblocks;
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((double)t.tv_sec + (double)t.tv_nsec / 1e9);
}

static void __attribute__((noreturn)) die(const struct err *e)
{
	fprintf(stderr, "crypto-speed: %s\n", e->msg);
	exit(1);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

static double
median(double *t, int n)
{
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	return (n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2);
}

/* Log-like lines: what configuration trees and text dumps look like. */
static void
fill_text(uint8_t *p, size_t n, uint32_t *seed)
{
	static const char *const words[] = { "snapshot", "restore", "INSERT",
		"INTO", "customers", "VALUES", "meter", "reading", "ok",
		"error", "warning", "connection", "from", "user", "gas",
		"invoice" };
	char line[160];
	size_t off = 0, k;
	int len;

	while (off < n) {
		*seed = *seed * 1103515245u + 12345u;
		len = snprintf(line, sizeof(line),
		    "2024-11-%02u %02u:%02u:%02u host%u %s %s %s id=%u "
		    "value=%u.%02u\n",
		    1 + (*seed >> 8) % 28, (*seed >> 4) % 24,
		    (*seed >> 10) % 60, (*seed >> 16) % 60, (*seed >> 20) % 8,
		    words[(*seed >> 3) % 16], words[(*seed >> 7) % 16],
		    words[(*seed >> 11) % 16], (*seed >> 9) % 100000,
		    (*seed >> 13) % 1000, (*seed >> 17) % 100);
		k = (size_t)len < n - off ? (size_t)len : n - off;
		memcpy(p + off, line, k);
		off += k;
	}
}

static void
report(const char *what, const double *times, int runs, double bytes)
{
	double t[MAX_RUNS];

	memcpy(t, times, (size_t)runs * sizeof(*t));
	printf("  %-34s %9.0f MB/s  (median %.3f s)\n", what,
	    bytes / median(t, runs) / 1e6, median(t, runs));
}

static void
bench_hash(const struct data *d, int runs)
{
	static const uint8_t key[CRYPTO_KEY_LEN] = { 1 };
	struct crypto_hmac *h;
	struct crypto_sha256_ctx *s;
	uint8_t out[CRYPTO_HASH_LEN];
	double t[MAX_RUNS], t0;
	struct err e;
	size_t b;
	int r;

	if ((h = crypto_hmac_new(key, sizeof(key), &e)) == NULL ||
	    (s = crypto_sha256_new(&e)) == NULL)
		die(&e);
	for (r = -1; r < runs; r++) { /* r = -1: warm-up */
		t0 = now();
		for (b = 0; b < d->nblocks; b++)
			crypto_hmac_digest(h, d->buf + b * BLOCK, BLOCK, out);
		if (r >= 0)
			t[r] = now() - t0;
	}
	report("HMAC-SHA-256 (blob id)", t, runs, (double)(d->nblocks * BLOCK));
	for (r = -1; r < runs; r++) { /* r = -1: warm-up */
		t0 = now();
		for (b = 0; b < d->nblocks; b++)
			crypto_sha256_update(s, d->buf + b * BLOCK, BLOCK);
		crypto_sha256_final(s, out);
		if (r >= 0)
			t[r] = now() - t0;
	}
	report("SHA-256 (pack name)", t, runs, (double)(d->nblocks * BLOCK));
	crypto_sha256_free(s);
	crypto_hmac_free(h);
}

static void
bench_aead(const struct data *d, int runs)
{
	static const uint8_t key[CRYPTO_KEY_LEN] = { 2 };
	const size_t slen = BLOCK + CRYPTO_AEAD_OVERHEAD;
	uint8_t *sealed = xmalloc(d->nblocks * slen), *plain = xmalloc(BLOCK);
	uint8_t id[CRYPTO_HASH_LEN] = { 3 };
	struct crypto_aead *a;
	double t[MAX_RUNS], t0;
	struct err e;
	size_t b;
	int r;

	if ((a = crypto_aead_new(key, &e)) == NULL)
		die(&e);
	for (r = -1; r < runs; r++) { /* r = -1: warm-up */
		t0 = now();
		for (b = 0; b < d->nblocks; b++)
			if (crypto_aead_seal(a, d->buf + b * BLOCK, BLOCK, id,
			        sizeof(id), sealed + b * slen, &e) == -1)
				die(&e);
		if (r >= 0)
			t[r] = now() - t0;
	}
	report("AES-256-GCM seal", t, runs, (double)(d->nblocks * BLOCK));
	for (r = -1; r < runs; r++) { /* r = -1: warm-up */
		t0 = now();
		for (b = 0; b < d->nblocks; b++)
			if (crypto_aead_open(a, sealed + b * slen, slen, id,
			        sizeof(id), plain, &e) == -1)
				die(&e);
		if (r >= 0)
			t[r] = now() - t0;
	}
	report("AES-256-GCM open", t, runs, (double)(d->nblocks * BLOCK));
	crypto_aead_free(a);
	free(sealed);
	free(plain);
}

static void
bench_zstd(const struct data *d, int runs, int level)
{
	uint8_t *frames = xmalloc(d->nblocks * BLOCK), *out = xmalloc(BLOCK);
	size_t *flen = xcalloc(d->nblocks, sizeof(*flen));
	enum compress_method *m = xcalloc(d->nblocks, sizeof(*m));
	size_t b, stored = 0, nz = 0, n;
	struct compress *c;
	double t[MAX_RUNS], t0;
	char what[64];
	struct err e;
	int r;

	if ((c = compress_new(level, &e)) == NULL)
		die(&e);
	for (r = -1; r < runs; r++) { /* r = -1: warm-up */
		t0 = now();
		for (b = 0; b < d->nblocks; b++)
			if (compress_encode(c, d->buf + b * BLOCK, BLOCK,
			        frames + b * BLOCK, &flen[b], &m[b], &e) == -1)
				die(&e);
		if (r >= 0)
			t[r] = now() - t0;
	}
	snprintf(what, sizeof(what), "zstd -%d compress", level);
	report(what, t, runs, (double)(d->nblocks * BLOCK));
	for (b = 0; b < d->nblocks; b++) {
		stored += m[b] == COMPRESS_ZSTD ? flen[b] : BLOCK;
		nz += m[b] == COMPRESS_ZSTD;
	}
	for (r = -1; r < runs; r++) { /* r = -1: warm-up */
		t0 = now();
		for (b = 0; b < d->nblocks; b++) {
			if (m[b] != COMPRESS_ZSTD)
				continue;
			if (compress_decode(c, frames + b * BLOCK, flen[b], out,
			        BLOCK, &n, &e) == -1)
				die(&e);
		}
		if (r >= 0)
			t[r] = now() - t0;
	}
	snprintf(what, sizeof(what), "zstd -%d decompress", level);
	report(what, t, runs, (double)(nz * BLOCK));
	printf("  %-34s %zu of %zu blocks compressed; stored %.1f%% of the "
	       "input\n",
	    "", nz, d->nblocks,
	    100.0 * (double)stored / (double)(d->nblocks * BLOCK));
	compress_free(c);
	free(frames);
	free(out);
	free(flen);
	free(m);
}

static void
bench_scrypt(void)
{
	uint8_t salt[32] = { 4 }, kek[32];
	double t[3], t0, mid;
	struct err e;
	int r;

	for (r = 0; r < 3; r++) {
		t0 = now();
		if (crypto_scrypt("correct horse battery staple", 28, salt,
		        sizeof(salt), (uint64_t)1 << 17, 8, 1, kek, sizeof(kek),
		        &e) == -1)
			die(&e);
		t[r] = now() - t0;
	}
	mid = median(t, 3); /* sorts t */
	printf("  %-34s %9.3f s    (of 3 runs: min %.3f, max %.3f)\n",
	    "scrypt N=2^17 r=8 p=1, one derive", mid, t[0], t[2]);
}

int
main(int argc, char **argv)
{
	struct data d;
	uint32_t seed = 1;
	size_t mib = 64, b;
	int runs = 5;
	struct err e;

	if (argc > 1)
		mib = (size_t)strtoul(argv[1], NULL, 10);
	if (argc > 2)
		runs = atoi(argv[2]);
	if (mib == 0 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: crypto-speed [MiB [runs 1..%d]]\n",
		    MAX_RUNS);
		return (2);
	}
	d.nblocks = mib * 2;
	d.buf = xmalloc(d.nblocks * BLOCK);
	for (b = 0; b < d.nblocks; b++) {
		if (b % 2 == 0)
			fill_text(d.buf + b * BLOCK, BLOCK, &seed);
		else if (crypto_random(d.buf + b * BLOCK, BLOCK, &e) == -1)
			die(&e);
	}
	printf("coffer crypto-speed: %zu MiB in %zu blocks of 512 KiB, half "
	       "text-like, half random; median of %d runs\n",
	    mib, d.nblocks, runs);
	bench_hash(&d, runs);
	bench_aead(&d, runs);
	bench_zstd(&d, runs, 1);
	bench_zstd(&d, runs, 3);
	bench_scrypt();
	free(d.buf);
	return (0);
}
