/*
 * The repository layer on a real local store: init, open with the right
 * and wrong keys, blobs through packs and index files, damage detection.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "crypto.h"
#include "repo/compress.h"
#include "repo/pack.h"
#include "repo/repo.h"
#include "store/store_impl.h"
#include "trepo.h"

static char dir[64];
static char loc[96];
static const char pass[] = "correct horse battery staple";
static const char machine[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static void
setup(void)
{
	struct repo_init_opts o;
	struct err e;

	strcpy(dir, "/tmp/coffer-repo.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(loc, sizeof(loc), "%s/repo", dir);
	setenv(KEY_TEST_WEAK_ENV, "1", 1);
	memset(&o, 0, sizeof(o));
	o.scrypt = &key_scrypt_test_weak;
	o.pack_size = 1 << 20;
	o.meta.host = "testhost";
	o.meta.user = "tester";
	ck_assert_msg(repo_init(loc, &o, pass, strlen(pass),
	                  KEY_KIND_PASSPHRASE, NULL, &e) == 0,
	    "%s", e.msg);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct repo *
open_ok(const char *secret)
{
	struct repo *r;
	struct err e;

	ck_assert_msg(repo_open(loc, secret, strlen(secret), &r, &e) == 0, "%s",
	    e.msg);
	return (r);
}

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

START_TEST(test_init_refuses_existing_and_open_errors)
{
	struct repo_init_opts o;
	struct repo *r;
	struct err e;
	char other[128];

	memset(&o, 0, sizeof(o));
	o.scrypt = &key_scrypt_test_weak;
	ck_assert_int_eq(repo_init(loc, &o, pass, strlen(pass),
	                     KEY_KIND_PASSPHRASE, NULL, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert(strstr(e.msg, "already exists") != NULL);
	ck_assert_int_eq(repo_open(loc, "wrong", 5, &r, &e), -1);
	ck_assert_int_eq(e.class, ERR_KEY);
	ck_assert(strstr(e.msg, "wrong") == e.msg);
	ck_assert(strstr(e.msg, pass) == NULL);
	snprintf(other, sizeof(other), "%s/nothing", dir);
	ck_assert_int_eq(repo_open(other, pass, strlen(pass), &r, &e), -1);
	ck_assert_int_eq(e.class, ERR_NOREPO);
	mkdir(other, 0700);
	ck_assert_int_eq(repo_open(other, pass, strlen(pass), &r, &e), -1);
	ck_assert_int_eq(e.class, ERR_NOREPO);
	r = open_ok(pass);
	ck_assert_uint_eq(strlen(repo_id(r)), REPO_HEX_LEN);
	repo_close(r);
}
END_TEST

START_TEST(test_blobs_dedup_pack_and_reopen)
{
	struct repo *r = open_ok(pass);
	struct repo_stats st;
	uint8_t *data = malloc(300000), ids[40][IDX_ID_LEN], *got;
	struct err e;
	size_t n;
	int added;

	/* 40 blobs of 300 kB random: several 1 MiB packs. */
	for (int i = 0; i < 40; i++) {
		fill(data, 300000, (uint32_t)i);
		ck_assert_int_eq(repo_blob_put(r, IDX_BLOB_DATA, data, 300000,
		                     ids[i], &added, &e),
		    0);
		ck_assert_int_eq(added, 1);
	}
	/* The same content again is known, even before it is flushed. */
	fill(data, 300000, 39);
	ck_assert_int_eq(repo_blob_put(r, IDX_BLOB_DATA, data, 300000, ids[39],
	                     &added, &e),
	    0);
	ck_assert_int_eq(added, 0);
	/* Text compresses. */
	memset(data, 'a', 100000);
	ck_assert_int_eq(repo_blob_put(r, IDX_BLOB_TREE, data, 100000, ids[0],
	                     &added, &e),
	    0);
	ck_assert_int_eq(repo_flush(r, &e), 0);
	repo_get_stats(r, &st);
	ck_assert_uint_eq(st.blobs_new, 41);
	ck_assert_uint_eq(st.blobs_known, 1);
	ck_assert_uint_ge(st.packs_written, 10);
	ck_assert_uint_lt(st.stored_new, 40 * 300100 + 2000);
	repo_close(r);

	r = open_ok(pass);
	ck_assert_int_eq(repo_blob_get(r, ids[0], IDX_BLOB_TREE, &got, &n, &e),
	    0);
	ck_assert_uint_eq(n, 100000);
	ck_assert(got[0] == 'a' && got[99999] == 'a');
	free(got);
	/* Asking for the wrong type is refused. */
	ck_assert_int_eq(repo_blob_get(r, ids[0], IDX_BLOB_DATA, &got, &n, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	for (int i = 1; i < 40; i++) {
		ck_assert_msg(repo_blob_get(r, ids[i], IDX_BLOB_DATA, &got, &n,
		                  &e) == 0,
		    "%s", e.msg);
		fill(data, 300000, (uint32_t)i);
		ck_assert_uint_eq(n, 300000);
		ck_assert_mem_eq(got, data, n);
		free(got);
	}
	repo_close(r);
	free(data);
}
END_TEST

static int
first_pack(void *arg, const char *name, uint64_t size)
{
	(void)size;
	snprintf(arg, 256, "%s", name);
	return (1);
}

START_TEST(test_damaged_pack_is_detected)
{
	struct repo *r = open_ok(pass);
	uint8_t data[5000], id[IDX_ID_LEN], *got = (uint8_t *)"x";
	char name[256], path[512];
	struct err e;
	size_t n;
	int added, fd;
	char c;

	fill(data, sizeof(data), 7);
	ck_assert_int_eq(repo_blob_put(r, IDX_BLOB_DATA, data, sizeof(data), id,
	                     &added, &e),
	    0);
	ck_assert_int_eq(repo_flush(r, &e), 0);
	ck_assert_int_eq(stor_list(repo_store(r), "data", first_pack, name, &e),
	    1);
	repo_close(r);
	/* Flip one byte in the middle of the sealed blob. */
	snprintf(path, sizeof(path), "%s/%s", loc, name);
	chmod(path, 0600);
	ck_assert_int_ge(fd = open(path, O_RDWR), 0);
	ck_assert_int_eq(pread(fd, &c, 1, 2000), 1);
	c ^= 0x10;
	ck_assert_int_eq(pwrite(fd, &c, 1, 2000), 1);
	close(fd);
	r = open_ok(pass);
	ck_assert_int_eq(repo_blob_get(r, id, IDX_BLOB_DATA, &got, &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_ptr_null(got);
	ck_assert(strstr(e.msg, "data/") != NULL);
	repo_close(r);
}
END_TEST

START_TEST(test_machine_key_and_files)
{
	struct repo *r = open_ok(pass);
	char kid[REPO_HEX_LEN + 1], name[REPO_HEX_LEN + 1], path[256];
	struct key_file_meta meta = { 0, "h", "u" };
	uint8_t *plain;
	struct err e;
	size_t n;
	int fd;

	ck_assert_int_eq(repo_key_add(r, machine, strlen(machine),
	                     KEY_KIND_MACHINE, NULL, &meta, kid, &e),
	    0);
	ck_assert_int_eq(repo_file_put(r, "snapshots",
	                     (const uint8_t *)"{\"a\":1}", 7, name, &e),
	    0);
	repo_close(r);
	r = open_ok(machine);
	ck_assert_str_eq(repo_key_id(r), kid);
	ck_assert_int_eq(repo_file_get(r, "snapshots", name, &plain, &n, &e),
	    0);
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq((char *)plain, "{\"a\":1}");
	free(plain);
	repo_close(r);
	/* A changed snapshot file no longer matches its name. */
	snprintf(path, sizeof(path), "%s/snapshots/%s", loc, name);
	chmod(path, 0600);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_APPEND), 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
	r = open_ok(pass);
	ck_assert_int_eq(repo_file_get(r, "snapshots", name, &plain, &n, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	repo_close(r);
}
END_TEST

static void
round_trip_with_workers(int workers, size_t before)
{
	struct repo *r = open_ok(pass);
	struct repo_stats st;
	uint8_t *data = malloc(200000), ids[60][IDX_ID_LEN], *got;
	struct err e;
	size_t n;
	int added;

	repo_set_workers(r, workers);
	/* Each content twice in a row: the second is known while the first
	 * is still with a worker. */
	for (int i = 0; i < 60; i++) {
		fill(data, 200000, (uint32_t)(i + 1000 * workers));
		for (int k = 0; k < 2; k++)
			ck_assert_msg(repo_blob_put(r, IDX_BLOB_DATA, data,
			                  200000, ids[i], &added, &e) == 0,
			    "%s", e.msg);
	}
	ck_assert_int_eq(repo_flush(r, &e), 0);
	repo_get_stats(r, &st);
	ck_assert_uint_eq(st.blobs_new, 60);
	ck_assert_uint_eq(st.blobs_known, 60);
	repo_close(r);
	r = open_ok(pass);
	for (int i = 0; i < 60; i++) {
		ck_assert_int_eq(repo_blob_get(r, ids[i], IDX_BLOB_DATA, &got,
		                     &n, &e),
		    0);
		fill(data, 200000, (uint32_t)(i + 1000 * workers));
		ck_assert_mem_eq(got, data, 200000);
		free(got);
	}
	ck_assert_uint_eq(idx_count(repo_index(r)), before + 60);
	repo_close(r);
	free(data);
}

/* Text-like bytes that compress better at higher levels. */
static void
fill_words(uint8_t *p, size_t n, uint32_t seed)
{
	static const char *const w[] = { "account ", "balance ", "1042.17 ",
		"2026-11-27 ", "transfer ", "\n", "ok ", "fee ", "branch " };
	size_t i = 0;

	while (i < n) {
		seed = seed * 1103515245u + 12345u;
		for (const char *x = w[(seed >> 16) % 9]; *x && i < n; x++)
			p[i++] = (uint8_t)*x;
	}
}

/* repo_set_compression: per put, for workers and inline, read back. */
static void
level_stored(int workers, int level, uint32_t seed, uint64_t *stored)
{
	size_t n = 256 * 1024;
	uint8_t *p = malloc(n), id[IDX_ID_LEN], *back;
	struct repo_stats st;
	struct repo *r = open_ok(pass);
	struct err e;
	size_t got;
	int added;

	fill_words(p, n, seed);
	repo_set_workers(r, workers);
	ck_assert_int_eq(repo_set_compression(r, level, &e), 0);
	ck_assert_int_eq(repo_blob_put(r, IDX_BLOB_DATA, p, n, id, &added, &e),
	    0);
	ck_assert_int_eq(added, 1);
	ck_assert_msg(repo_flush(r, &e) == 0, "%s", e.msg);
	repo_get_stats(r, &st);
	*stored = st.stored_new;
	ck_assert_int_eq(repo_blob_get(r, id, IDX_BLOB_DATA, &back, &got, &e),
	    0);
	ck_assert_uint_eq(got, n);
	ck_assert_mem_eq(back, p, n);
	free(back);
	free(p);
	repo_close(r);
}

START_TEST(test_compression_per_put)
{
	uint64_t s1, s19, i1, i19;
	struct repo *r;
	struct err e;

	level_stored(2, 1, 1, &s1);
	level_stored(2, 19, 2, &s19);
	level_stored(0, 1, 3, &i1);
	level_stored(0, 19, 4, &i19);
	ck_assert_uint_lt(s19 * 100, s1 * 95);
	ck_assert_uint_lt(i19 * 100, i1 * 95);
	r = open_ok(pass);
	ck_assert_int_eq(repo_set_compression(r, 20, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	repo_close(r);
}
END_TEST

START_TEST(test_inline_and_worker_pipelines_agree)
{
	round_trip_with_workers(0, 0);
	round_trip_with_workers(1, 60);
	round_trip_with_workers(3, 120);
}
END_TEST

static void
flip_file(const char *rel, off_t at)
{
	char path[512];
	int fd;
	char c;

	snprintf(path, sizeof(path), "%s/%s", loc, rel);
	chmod(path, 0600);
	ck_assert_int_ge(fd = open(path, O_RDWR), 0);
	ck_assert_int_eq(pread(fd, &c, 1, at), 1);
	c ^= 0x01;
	ck_assert_int_eq(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static void
copy_file(const char *from, const char *to)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_key_list_test_remove)
{
	struct repo *r = open_ok(pass);
	struct key_file_meta meta = { 100, "h", "u" };
	struct repo_key_entry *v;
	char kid[REPO_HEX_LEN + 1], cur[REPO_HEX_LEN + 1], removed[65];
	char other[REPO_HEX_LEN + 1], from[512], to[512], prefix[8];
	struct err e;
	size_t n;

	snprintf(cur, sizeof(cur), "%s", repo_key_id(r));
	ck_assert_int_eq(repo_key_add(r, machine, strlen(machine),
	                     KEY_KIND_MACHINE, NULL, &meta, kid, &e),
	    0);
	ck_assert_int_eq(repo_key_list(r, &v, &n, &e), 0);
	ck_assert_uint_eq(n, 2);
	/* Oldest first: the first key says it was made at 0, this at 100. */
	ck_assert_str_eq(v[1].id, kid);
	ck_assert_int_eq(v[1].info.kind, KEY_KIND_MACHINE);
	ck_assert_int_eq(v[1].current, 0);
	ck_assert_str_eq(v[1].info.host, "h");
	ck_assert_int_eq(v[1].info.created, 100);
	ck_assert_str_eq(v[0].id, cur);
	ck_assert_int_eq(v[0].current, 1);
	ck_assert_int_eq(v[0].damaged, 0);
	ck_assert_int_eq(v[0].info.kind, KEY_KIND_PASSPHRASE);
	free(v);

	/* repo_key_test: the right secret, a wrong one, bad ids. */
	ck_assert_int_eq(repo_key_test(r, kid, machine, strlen(machine), &e),
	    0);
	ck_assert_int_eq(repo_key_test(r, kid, pass, strlen(pass), &e), -1);
	ck_assert_int_eq(e.class, ERR_KEY);
	ck_assert_int_eq(repo_key_test(r, "abc", pass, strlen(pass), &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	memset(other, '0', REPO_HEX_LEN);
	other[REPO_HEX_LEN] = '\0';
	ck_assert_int_eq(repo_key_test(r, other, pass, strlen(pass), &e), -1);
	ck_assert_int_eq(e.sys_errno, ENOENT);

	/* Refusals: bad ids, no match, the key in use. */
	ck_assert_int_eq(repo_key_remove(r, "abc", NULL, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(repo_key_remove(r, "ABCD", NULL, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(repo_key_remove(r, other, NULL, &e), -1);
	ck_assert(strstr(e.msg, "no key file") != NULL);
	ck_assert_int_eq(repo_key_remove(r, cur, NULL, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert(strstr(e.msg, "open with another key") != NULL);

	/* A copy of a key file under a name one digit off: damaged, and a
	 * prefix that matches both is ambiguous. */
	snprintf(from, sizeof(from), "%s/keys/%s", loc, kid);
	memcpy(other, kid, sizeof(other));
	other[REPO_HEX_LEN - 1] = other[REPO_HEX_LEN - 1] == '0' ? '1' : '0';
	snprintf(to, sizeof(to), "%s/keys/%s", loc, other);
	copy_file(from, to);
	ck_assert_int_eq(repo_key_list(r, &v, &n, &e), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(v[2].damaged, 1);
	ck_assert_str_eq(v[2].id, other);
	ck_assert_int_eq(v[2].err.class, ERR_CORRUPT);
	ck_assert(strstr(v[2].err.msg, "does not match its name") != NULL);
	free(v);
	other[REPO_HEX_LEN - 1] = '\0';
	ck_assert_int_eq(repo_key_remove(r, other, NULL, &e), -1);
	ck_assert(strstr(e.msg, "more than one") != NULL);
	unlink(to);

	/* A file that is not a key file name at all. */
	snprintf(to, sizeof(to), "%s/keys/README", loc);
	copy_file(from, to);
	ck_assert_int_eq(repo_key_list(r, &v, &n, &e), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(v[2].damaged, 1);
	ck_assert(strstr(v[2].err.msg, "not a key file name") != NULL);
	free(v);
	unlink(to);

	/* Removing the other key, by prefix. */
	memcpy(prefix, kid, 7);
	prefix[7] = '\0';
	ck_assert_int_eq(repo_key_remove(r, prefix, removed, &e), 0);
	ck_assert_str_eq(removed, kid);
	ck_assert_int_eq(repo_key_list(r, &v, &n, &e), 0);
	ck_assert_uint_eq(n, 1);
	free(v);
	/* Now the key in use is the only one. */
	ck_assert_int_eq(repo_key_remove(r, cur, NULL, &e), -1);
	ck_assert(strstr(e.msg, "only key") != NULL);
	repo_close(r);
	r = open_ok(pass);
	repo_close(r);
}
END_TEST

START_TEST(test_key_remove_needs_intact_current_key)
{
	struct repo *r = open_ok(pass), *m;
	struct key_file_meta meta = { 0, "h", "u" };
	char kid[REPO_HEX_LEN + 1], rel[256];
	struct err e;

	ck_assert_int_eq(repo_key_add(r, machine, strlen(machine),
	                     KEY_KIND_MACHINE, NULL, &meta, kid, &e),
	    0);
	m = open_ok(machine);
	/* The machine key file is damaged after it opened the repository. */
	snprintf(rel, sizeof(rel), "keys/%s", kid);
	flip_file(rel, 20);
	ck_assert_int_eq(repo_key_remove(m, repo_key_id(r), NULL, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert(strstr(e.msg, "damaged now") != NULL);
	/* Gone altogether. */
	snprintf(rel, sizeof(rel), "%s/keys/%s", loc, kid);
	ck_assert_int_eq(unlink(rel), 0);
	ck_assert_int_eq(repo_key_remove(m, repo_key_id(r), NULL, &e), -1);
	ck_assert(strstr(e.msg, "gone now") != NULL);
	repo_close(m);
	repo_close(r);
	r = open_ok(pass);
	repo_close(r);
}
END_TEST

START_TEST(test_key_from_another_repository)
{
	struct repo_init_opts o;
	struct repo *r = open_ok(pass), *other;
	char oloc[128], from[512], to[512];
	struct err e;

	/* Another repository keyed with the same machine key. */
	snprintf(oloc, sizeof(oloc), "%s/other", dir);
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(repo_init(oloc, &o, machine, strlen(machine),
	                     KEY_KIND_MACHINE, &other, &e),
	    0);
	snprintf(from, sizeof(from), "%s/keys/%s", oloc, repo_key_id(other));
	snprintf(to, sizeof(to), "%s/keys/%s", loc, repo_key_id(other));
	copy_file(from, to);
	ck_assert_int_eq(repo_key_test(r, repo_key_id(other), machine,
	                     strlen(machine), &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert(strstr(e.msg, "another repository") != NULL);
	repo_close(other);
	repo_close(r);
}
END_TEST

struct other_file {
	const char * not ; /* the name to pass over */
	char name[256];
};

static int
other_index(void *arg, const char *name, uint64_t size)
{
	struct other_file *o = arg;

	(void)size;
	if (strstr(name, o->not ) == NULL)
		snprintf(o->name, sizeof(o->name), "%s", name);
	return (0);
}

START_TEST(test_open_skips_bad_index_whole)
{
	struct repo *r = open_ok(pass);
	const struct repo_bad_file *bad;
	uint8_t data[3000], id1[IDX_ID_LEN], id2[IDX_ID_LEN];
	uint8_t plain[IDX_ID_LEN * 2 + 200], *p = plain;
	char iname[REPO_HEX_LEN + 1];
	struct other_file of;
	struct err e;
	size_t n;
	int added;

	fill(data, sizeof(data), 1);
	ck_assert_int_eq(repo_blob_put(r, IDX_BLOB_DATA, data, sizeof(data),
	                     id1, &added, &e),
	    0);
	ck_assert_int_eq(repo_flush(r, &e), 0);
	/* An authentic index file whose second pack entry is malformed:
	 * the first pack's entries must not be used either. */
	memcpy(p, "CFIX\1\0\0\0", 8);
	p += 8;
	memset(p, 0xaa, IDX_ID_LEN); /* pack id */
	p += IDX_ID_LEN;
	memcpy(p, "\1\0\0\0", 4); /* one blob */
	p += 4;
	*p++ = 0; /* data */
	memset(p, 0xbb, IDX_ID_LEN);
	memcpy(id2, p, IDX_ID_LEN);
	p += IDX_ID_LEN;
	memset(p, 0, 12);
	p += 12;
	memset(p, 0xcc, IDX_ID_LEN);
	p += IDX_ID_LEN;
	memcpy(p, "\1\0\0\0", 4);
	p += 4;
	*p++ = 9; /* no such type */
	memset(p, 0xdd, IDX_ID_LEN + 12);
	p += IDX_ID_LEN + 12;
	ck_assert_int_eq(repo_file_put(r, "index", plain, (size_t)(p - plain),
	                     iname, &e),
	    0);
	repo_close(r);
	/* A plain open leaves it out the same way (issue 9, finding 2). */
	ck_assert_int_eq(repo_open(loc, pass, strlen(pass), &r, &e), 0);
	bad = repo_bad_indexes(r, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert(strstr(bad[0].name, iname) != NULL);
	ck_assert(repo_blob_known(r, id1));
	ck_assert(!repo_blob_known(r, id2));
	repo_close(r);

	ck_assert_int_eq(repo_open_flags(loc, pass, strlen(pass),
	                     REPO_OPEN_SKIP_BAD_INDEX, REPO_LOCK_NONE, NULL, &r,
	                     &e),
	    0);
	bad = repo_bad_indexes(r, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert(strstr(bad[0].name, iname) != NULL);
	ck_assert_int_eq(bad[0].err.class, ERR_CORRUPT);
	ck_assert(strstr(bad[0].err.msg, "unknown blob type") != NULL);
	ck_assert(repo_blob_known(r, id1));
	ck_assert(!repo_blob_known(r, id2));
	repo_close(r);

	/* A file damaged on disk is left out the same way. */
	ck_assert_int_eq(repo_open_flags(loc, pass, strlen(pass),
	                     REPO_OPEN_SKIP_BAD_INDEX, REPO_LOCK_NONE, NULL, &r,
	                     &e),
	    0);
	of.not = iname;
	ck_assert_int_eq(stor_list(repo_store(r), "index", other_index, &of,
	                     &e),
	    0);
	repo_close(r);
	flip_file(of.name, 3);
	ck_assert_int_eq(repo_open_flags(loc, pass, strlen(pass),
	                     REPO_OPEN_SKIP_BAD_INDEX, REPO_LOCK_NONE, NULL, &r,
	                     &e),
	    0);
	bad = repo_bad_indexes(r, &n);
	ck_assert_uint_eq(n, 2);
	repo_close(r);
}
END_TEST

/*
 * What a key holder can do (issue 9, finding 1): seal other bytes (as
 * long as the original's) under a known id into a new pack, and return
 * that pack's id.
 */
static void
plant(struct repo *r, const uint8_t id[IDX_ID_LEN], const uint8_t *evil,
    size_t n, uint8_t pid[IDX_ID_LEN])
{
	struct crypto_aead *aead;
	struct pack_writer *w = pack_writer_new();
	uint8_t *plain = malloc(n + 1), *sealed = malloc(n + 29), *hdr, *box;
	uint8_t *pack;
	size_t hlen, plen;
	char name[128];
	struct err e;

	ck_assert_ptr_nonnull(
	    aead = crypto_aead_new(key_master_blob_key(repo_master(r)), &e));
	plain[0] = (uint8_t)(COMPRESS_RAW | IDX_BLOB_DATA << 4);
	memcpy(plain + 1, evil, n);
	ck_assert_int_eq(crypto_aead_seal(aead, plain, n + 1, id, IDX_ID_LEN,
	                     sealed, &e),
	    0);
	ck_assert_int_eq(pack_writer_add(w, id, IDX_BLOB_DATA, sealed,
	                     n + 1 + CRYPTO_AEAD_OVERHEAD, (uint32_t)n, &e),
	    0);
	pack_writer_header(w, &hdr, &hlen);
	box = malloc(hlen + CRYPTO_AEAD_OVERHEAD);
	ck_assert_int_eq(crypto_aead_seal(aead, hdr, hlen,
	                     "coffer pack header 1", 20, box, &e),
	    0);
	ck_assert_int_eq(pack_writer_finish(w, box, hlen + CRYPTO_AEAD_OVERHEAD,
	                     &pack, &plen, NULL, &e),
	    0);
	crypto_sha256(pack, plen, pid);
	repo_pack_name(pid, name, sizeof(name));
	ck_assert_int_eq(stor_put(repo_store(r), name, pack, plen,
	                     STOR_NOREPLACE, &e),
	    0);
	free(pack);
	free(box);
	free(hdr);
	free(sealed);
	free(plain);
	pack_writer_free(w);
	crypto_aead_free(aead);
}

static int
unlink_index(void *arg, const char *name, uint64_t size)
{
	char path[512];

	(void)arg;
	(void)size;
	snprintf(path, sizeof(path), "%s/%s", loc, name);
	ck_assert_int_eq(unlink(path), 0);
	return (0);
}

struct got {
	uint8_t buf[8][64];
	size_t len[8];
};

static int
keep_blob(void *arg, size_t i, const uint8_t *p, size_t len, struct err *e)
{
	struct got *g = arg;

	(void)e;
	ck_assert_uint_le(len, 64);
	memcpy(g->buf[i], p, len);
	g->len[i] = len;
	return (0);
}

/* What an authenticate-only read hands over: lengths, never bytes. */
struct authgot {
	size_t len[8];
	size_t calls;
};

static int
auth_blob(void *arg, size_t i, const uint8_t *p, size_t len, struct err *e)
{
	struct authgot *g = arg;

	(void)e;
	ck_assert_ptr_null(p);
	ck_assert_uint_lt(i, 8);
	g->len[i] = len;
	g->calls++;
	return (0);
}

/* An authenticate-only read of ids[0..n): 0, or -1 with e filled. */
static int
auth_read(struct repo *r, const uint8_t (*ids)[IDX_ID_LEN], size_t n,
    struct authgot *g, struct err *e)
{
	memset(g, 0, sizeof(*g));
	return (repo_blobs_read(r, ids, n, IDX_BLOB_DATA, REPO_READ_AUTH_ONLY,
	    auth_blob, g, e));
}

/*
 * A planted copy indexed first: every read path checks the keyed id and
 * falls back to the intact copy; with no intact copy the read fails as
 * damage, and no byte of the planted one is handed over.
 */
START_TEST(test_planted_copy_is_passed_over)
{
	static const uint8_t good[] = "GOOD CONTENT\n",
	                     evil[] = "EVIL CONTENT\n";
	struct repo *r = open_ok(pass);
	uint8_t id[IDX_ID_LEN], pid[IDX_ID_LEN], ids[8][IDX_ID_LEN], *out;
	uint8_t *plain;
	struct idx *x = idx_new();
	struct idx_entry ent;
	const struct idx_entry *g;
	char iname[REPO_HEX_LEN + 1];
	struct authgot ag;
	struct got got;
	struct err e;
	size_t n;
	int added;

	ck_assert_int_eq(repo_blob_put(r, IDX_BLOB_DATA, good, sizeof(good) - 1,
	                     id, &added, &e),
	    0);
	ck_assert_int_eq(repo_flush(r, &e), 0);
	plant(r, id, evil, sizeof(evil) - 1, pid);
	/* One index: the planted copy first, then the good one. */
	memset(&ent, 0, sizeof(ent));
	memcpy(ent.id, id, IDX_ID_LEN);
	ent.pack = idx_pack_add(x, pid);
	ent.length = (uint32_t)(sizeof(evil) - 1 + 1 + CRYPTO_AEAD_OVERHEAD);
	ent.raw_length = sizeof(evil) - 1;
	ent.type = IDX_BLOB_DATA;
	ck_assert_int_eq(idx_add(x, &ent), 0);
	g = idx_find(repo_index(r), id);
	ent = *g;
	ent.pack = idx_pack_add(x, idx_pack_id(repo_index(r), g->pack));
	ck_assert_int_eq(idx_add(x, &ent), 1);
	ck_assert_int_eq(stor_list(repo_store(r), "index", unlink_index, NULL,
	                     &e),
	    0);
	idx_encode(x, 0, idx_pack_count(x), &plain, &n);
	ck_assert_int_eq(repo_file_put(r, "index", plain, n, iname, &e), 0);
	free(plain);
	idx_free(x);
	repo_close(r);

	r = open_ok(pass);
	ck_assert_uint_eq(idx_find(repo_index(r), id)->pack, 0);
	ck_assert_int_eq(repo_blob_get(r, id, IDX_BLOB_DATA, &out, &n, &e), 0);
	ck_assert_mem_eq(out, good, n);
	free(out);
	/* Through the readers, with threads and without. */
	for (int w = 0; w <= 2; w += 2) {
		repo_set_workers(r, w);
		for (int i = 0; i < 8; i++)
			memcpy(ids[i], id, IDX_ID_LEN);
		memset(&got, 0, sizeof(got));
		ck_assert_int_eq(repo_blobs_read(r,
		                     (const uint8_t(*)[IDX_ID_LEN])ids, 8,
		                     IDX_BLOB_DATA, 0, keep_blob, &got, &e),
		    0);
		for (int i = 0; i < 8; i++) {
			ck_assert_uint_eq(got.len[i], sizeof(good) - 1);
			ck_assert_mem_eq(got.buf[i], good, sizeof(good) - 1);
		}
	}
	repo_close(r);

	/* Only the planted copy indexed: damage, and nothing handed over. */
	r = open_ok(pass);
	ck_assert_int_eq(stor_list(repo_store(r), "index", unlink_index, NULL,
	                     &e),
	    0);
	x = idx_new();
	memset(&ent, 0, sizeof(ent));
	memcpy(ent.id, id, IDX_ID_LEN);
	ent.pack = idx_pack_add(x, pid);
	ent.length = (uint32_t)(sizeof(evil) - 1 + 1 + CRYPTO_AEAD_OVERHEAD);
	ent.raw_length = sizeof(evil) - 1;
	ent.type = IDX_BLOB_DATA;
	ck_assert_int_eq(idx_add(x, &ent), 0);
	idx_encode(x, 0, idx_pack_count(x), &plain, &n);
	ck_assert_int_eq(repo_file_put(r, "index", plain, n, iname, &e), 0);
	free(plain);
	idx_free(x);
	repo_close(r);
	r = open_ok(pass);
	out = (uint8_t *)"x";
	ck_assert_int_eq(repo_blob_get(r, id, IDX_BLOB_DATA, &out, &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_msg(strstr(e.msg, "does not match its id") != NULL, "%s",
	    e.msg);
	ck_assert_ptr_null(out);
	for (int w = 0; w <= 2; w += 2) {
		repo_set_workers(r, w);
		memset(&got, 0, sizeof(got));
		ck_assert_int_eq(repo_blobs_read(r,
		                     (const uint8_t(*)[IDX_ID_LEN])ids, 8,
		                     IDX_BLOB_DATA, 0, keep_blob, &got, &e),
		    -1);
		ck_assert_int_eq(e.class, ERR_CORRUPT);
		ck_assert_uint_eq(got.len[0], 0);
		/* Its tag is good: only the whole read can tell. */
		ck_assert_int_eq(auth_read(r, (const uint8_t(*)[IDX_ID_LEN])ids,
		                     8, &ag, &e),
		    0);
		ck_assert_uint_eq(ag.calls, 8);
		ck_assert_uint_eq(ag.len[7], sizeof(evil) - 1);
	}
	repo_close(r);
}
END_TEST

/* One blob per call, as restore asks for a small file's only chunk. */
static void
read_one_ok(struct repo *r, const uint8_t id[IDX_ID_LEN], const uint8_t *want,
    size_t wlen)
{
	struct got got;
	struct err e;

	memset(&got, 0, sizeof(got));
	ck_assert_msg(repo_blobs_read(r, (const uint8_t(*)[IDX_ID_LEN])id, 1,
	                  IDX_BLOB_DATA, 0, keep_blob, &got, &e) == 0,
	    "%s", e.msg);
	ck_assert_uint_eq(got.len[0], wlen);
	ck_assert_mem_eq(got.buf[0], want, wlen);
}

/*
 * Read-ahead across calls: announced blobs come back right when asked for
 * in order; asking for something else, or for an announced blob that is
 * missing, still gives the right bytes or the right error, and nothing
 * announced is handed to the wrong call.
 */
START_TEST(test_read_ahead)
{
	struct repo *r = open_ok(pass);
	uint8_t data[20][40], ids[20][IDX_ID_LEN], ghost[IDX_ID_LEN];
	const uint8_t(*cids)[IDX_ID_LEN] = (const uint8_t(*)[IDX_ID_LEN])ids;
	struct got got;
	struct err e;
	size_t room;
	int added;

	repo_set_workers(r, 2);
	for (int i = 0; i < 20; i++) {
		fill(data[i], sizeof(data[i]), (uint32_t)(900 + i));
		ck_assert_int_eq(repo_blob_put(r, IDX_BLOB_DATA, data[i],
		                     sizeof(data[i]), ids[i], &added, &e),
		    0);
	}
	ck_assert_int_eq(repo_flush(r, &e), 0);

	/* Announced, then asked for one by one. */
	room = repo_read_ahead_room(r);
	ck_assert_uint_ge(room, 20);
	repo_read_ahead(r, cids, 20, IDX_BLOB_DATA);
	ck_assert_uint_eq(repo_read_ahead_room(r), room - 20);
	for (int i = 0; i < 20; i++)
		read_one_ok(r, ids[i], data[i], sizeof(data[i]));
	ck_assert_uint_eq(repo_read_ahead_room(r), room);

	/* Announced 0..9, asked for 15 first: right bytes, then 0..7 too. */
	repo_read_ahead(r, cids, 10, IDX_BLOB_DATA);
	read_one_ok(r, ids[15], data[15], sizeof(data[15]));
	ck_assert_uint_eq(repo_read_ahead_room(r), room);
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(repo_blobs_read(r, cids, 8, IDX_BLOB_DATA, 0,
	                     keep_blob, &got, &e),
	    0);
	for (int i = 0; i < 8; i++)
		ck_assert_mem_eq(got.buf[i], data[i], sizeof(data[i]));

	/* Announced 0..5, asked for 0..2 then 3..7: the call's indexes
	 * count from its own start. */
	repo_read_ahead(r, cids, 6, IDX_BLOB_DATA);
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(repo_blobs_read(r, cids, 3, IDX_BLOB_DATA, 0,
	                     keep_blob, &got, &e),
	    0);
	for (int i = 0; i < 3; i++)
		ck_assert_mem_eq(got.buf[i], data[i], sizeof(data[i]));
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(repo_blobs_read(r, cids + 3, 5, IDX_BLOB_DATA, 0,
	                     keep_blob, &got, &e),
	    0);
	for (int i = 0; i < 5; i++)
		ck_assert_mem_eq(got.buf[i], data[3 + i], sizeof(data[0]));

	/* A missing blob announced: its read fails as damage, the next
	 * announced one still reads. */
	memset(ghost, 0x5a, sizeof(ghost));
	repo_read_ahead(r, (const uint8_t(*)[IDX_ID_LEN])ghost, 1,
	    IDX_BLOB_DATA);
	repo_read_ahead(r, cids + 4, 1, IDX_BLOB_DATA);
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(repo_blobs_read(r, (const uint8_t(*)[IDX_ID_LEN])ghost,
	                     1, IDX_BLOB_DATA, 0, keep_blob, &got, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_uint_eq(got.len[0], 0);
	read_one_ok(r, ids[4], data[4], sizeof(data[4]));

	/* Announced as data, asked for as a tree: not handed over. */
	repo_read_ahead(r, cids + 6, 1, IDX_BLOB_DATA);
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(repo_blobs_read(r, cids + 6, 1, IDX_BLOB_TREE, 0,
	                     keep_blob, &got, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	repo_close(r);
}
END_TEST

/*
 * REPO_READ_AUTH_ONLY: raw and compressed blobs are authenticated and
 * their lengths handed over without their bytes, with threads and
 * without, and a full read right after (or read ahead before) still gets
 * the bytes; a flipped byte fails it as damage.
 */
START_TEST(test_read_auth_only)
{
	struct repo *r = open_ok(pass);
	static uint8_t data[6][100000];
	uint8_t ids[6][IDX_ID_LEN], *got;
	const uint8_t(*cids)[IDX_ID_LEN] = (const uint8_t(*)[IDX_ID_LEN])ids;
	const struct idx_entry *ent;
	struct authgot ag;
	char name[128];
	struct err e;
	size_t n;
	int added;

	/* Three that do not compress, three that do. */
	for (int i = 0; i < 6; i++) {
		if (i < 3)
			fill(data[i], sizeof(data[i]), (uint32_t)(700 + i));
		else
			memset(data[i], 'a' + i, sizeof(data[i]));
		ck_assert_int_eq(repo_blob_put(r, IDX_BLOB_DATA, data[i],
		                     sizeof(data[i]) - (size_t)i, ids[i],
		                     &added, &e),
		    0);
	}
	ck_assert_int_eq(repo_flush(r, &e), 0);
	repo_close(r);
	r = open_ok(pass);
	ent = idx_find(repo_index(r), ids[4]);
	ck_assert_uint_lt(ent->length, 1000); /* stored as zstd */
	for (int w = 0; w <= 2; w += 2) {
		repo_set_workers(r, w);
		ck_assert_msg(auth_read(r, cids, 6, &ag, &e) == 0, "%s", e.msg);
		ck_assert_uint_eq(ag.calls, 6);
		for (int i = 0; i < 6; i++)
			ck_assert_uint_eq(ag.len[i],
			    sizeof(data[i]) - (size_t)i);
		/* Read ahead whole, asked for authenticated only, then
		 * whole: each gets what it asked for. */
		repo_read_ahead(r, cids, 6, IDX_BLOB_DATA);
		ck_assert_int_eq(auth_read(r, cids, 6, &ag, &e), 0);
		ck_assert_uint_eq(ag.len[5], sizeof(data[5]) - 5);
		for (int i = 0; i < 6; i++) {
			ck_assert_int_eq(repo_blob_get(r, ids[i], IDX_BLOB_DATA,
			                     &got, &n, &e),
			    0);
			ck_assert_uint_eq(n, sizeof(data[i]) - (size_t)i);
			ck_assert_mem_eq(got, data[i], n);
			free(got);
		}
	}
	/* The wrong type is refused here too. */
	memset(&ag, 0, sizeof(ag));
	ck_assert_int_eq(repo_blobs_read(r, cids, 2, IDX_BLOB_TREE,
	                     REPO_READ_AUTH_ONLY, auth_blob, &ag, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	/* One byte of the compressed blob 4 flipped. */
	repo_pack_name(idx_pack_id(repo_index(r), ent->pack), name,
	    sizeof(name));
	flip_file(name, (off_t)ent->offset + 20);
	repo_close(r);
	r = open_ok(pass);
	for (int w = 0; w <= 2; w += 2) {
		repo_set_workers(r, w);
		ck_assert_int_eq(auth_read(r, cids, 6, &ag, &e), -1);
		ck_assert_int_eq(e.class, ERR_CORRUPT);
		ck_assert_uint_eq(ag.calls, 4);
		ck_assert_msg(strstr(e.msg, name) != NULL, "%s", e.msg);
	}
	repo_close(r);
}
END_TEST

struct many {
	uint8_t buf[20][40];
	size_t len[20];
	size_t n;
};

static int
keep_many(void *arg, size_t i, const uint8_t *p, size_t len, struct err *e)
{
	struct many *m = arg;

	(void)e;
	ck_assert_uint_le(len, 40);
	memcpy(m->buf[m->n + i], p, len);
	m->len[m->n + i] = len;
	return (0);
}

/*
 * Blobs read one after the other that lie together in one pack are
 * fetched with one request; a damaged blob among them costs only itself,
 * with the error a read of it alone gives, and no byte of it is handed
 * over.
 */
START_TEST(test_read_batches)
{
	struct repo *r = open_ok(pass);
	uint8_t data[20][40], ids[20][IDX_ID_LEN];
	const uint8_t(*cids)[IDX_ID_LEN] = (const uint8_t(*)[IDX_ID_LEN])ids;
	const struct idx_entry *ent;
	char name[256], path[512], alone[ERR_MSG_MAX];
	struct many m;
	struct err e;
	int added, fd;
	uint8_t *out;
	size_t n;
	char c;

	repo_set_workers(r, 2);
	for (int i = 0; i < 20; i++) {
		fill(data[i], sizeof(data[i]), (uint32_t)(700 + i));
		ck_assert_int_eq(repo_blob_put(r, IDX_BLOB_DATA, data[i],
		                     sizeof(data[i]), ids[i], &added, &e),
		    0);
	}
	ck_assert_int_eq(repo_flush(r, &e), 0);

	/* Announced together, asked for one by one: one request. */
	trepo_count_reads(r);
	repo_read_ahead(r, cids, 20, IDX_BLOB_DATA);
	for (int i = 0; i < 20; i++)
		read_one_ok(r, ids[i], data[i], sizeof(data[i]));
	ck_assert_uint_eq(trepo_reads(), 1);
	/* Asked for in one call: one request too. */
	trepo_count_reads(r);
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(repo_blobs_read(r, cids, 20, IDX_BLOB_DATA, 0,
	                     keep_many, &m, &e),
	    0);
	ck_assert_uint_eq(trepo_reads(), 1);
	for (int i = 0; i < 20; i++)
		ck_assert_mem_eq(m.buf[i], data[i], sizeof(data[i]));

	/* Flip a byte of blob 10's sealed bytes. */
	ent = idx_find(repo_index(r), ids[10]);
	ck_assert_ptr_nonnull(ent);
	ck_assert_int_eq(stor_list(repo_store(r), "data", first_pack, name, &e),
	    1);
	snprintf(path, sizeof(path), "%s/%s", loc, name);
	chmod(path, 0600);
	ck_assert_int_ge(fd = open(path, O_RDWR), 0);
	ck_assert_int_eq(pread(fd, &c, 1, (off_t)ent->offset + 20), 1);
	c ^= 0x10;
	ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)ent->offset + 20), 1);
	close(fd);
	repo_close(r);

	r = open_ok(pass);
	repo_set_workers(r, 0);
	ck_assert_int_eq(repo_blob_get(r, ids[10], IDX_BLOB_DATA, &out, &n, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	snprintf(alone, sizeof(alone), "%s", e.msg);
	ck_assert(strstr(alone, "data/") != NULL);
	repo_set_workers(r, 2);

	/* In one call: 0..9 handed over, then blob 10's own error. */
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(repo_blobs_read(r, cids, 20, IDX_BLOB_DATA, 0,
	                     keep_many, &m, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_str_eq(e.msg, alone);
	for (int i = 0; i < 10; i++)
		ck_assert_mem_eq(m.buf[i], data[i], sizeof(data[i]));
	for (int i = 10; i < 20; i++)
		ck_assert_uint_eq(m.len[i], 0);

	/* Read ahead, then one by one: only blob 10 fails, the same way. */
	repo_read_ahead(r, cids, 20, IDX_BLOB_DATA);
	for (int i = 0; i < 20; i++) {
		if (i != 10) {
			read_one_ok(r, ids[i], data[i], sizeof(data[i]));
			continue;
		}
		memset(&m, 0, sizeof(m));
		ck_assert_int_eq(repo_blobs_read(r, cids + 10, 1, IDX_BLOB_DATA,
		                     0, keep_many, &m, &e),
		    -1);
		ck_assert_int_eq(e.class, ERR_CORRUPT);
		ck_assert_str_eq(e.msg, alone);
		ck_assert_uint_eq(m.len[0], 0);
	}
	repo_close(r);
}
END_TEST

/* A get_range that always fails, to show where a blob came from. */
static int
fail_get_range(struct stor *st, const char *name, uint64_t off, size_t len,
    uint8_t *buf, struct err *e)
{
	(void)st;
	(void)name;
	(void)off;
	(void)len;
	(void)buf;
	return (err_set(e, ERR_IO, "no reads now"));
}

/* repo_blob_get of a tree blob gives want. */
static void
get_tree_ok(struct repo *r, const uint8_t id[IDX_ID_LEN], const uint8_t *want,
    size_t wlen)
{
	struct err e;
	uint8_t *out;
	size_t n;

	ck_assert_msg(repo_blob_get(r, id, IDX_BLOB_TREE, &out, &n, &e) == 0,
	    "%s", e.msg);
	ck_assert_uint_eq(n, wlen);
	ck_assert_mem_eq(out, want, wlen);
	free(out);
}

/* Wait (up to 10 s) until the store has served want ranged reads. */
static void
wait_reads(unsigned want)
{
	for (int i = 0; i < 1000; i++) {
		if (trepo_reads() >= want)
			return;
		usleep(10000);
	}
	ck_abort_msg("only %u of %u reads", trepo_reads(), want);
}

/*
 * Prefetched blobs are fetched on threads of their own and then served
 * by repo_blob_get without a store read, in any order, each once; a blob
 * not prefetched is read as usual.  A prefetched blob that does not open
 * fails as a plain read of it does; more hints than there are slots are
 * cut, and newer hints take the place of fetched ones never asked for.
 * Without worker threads, a hint does nothing.
 */
START_TEST(test_prefetch)
{
	struct repo *r = open_ok(pass);
	enum { N = REPO_PREFETCH_SLOTS + 6 };
	static uint8_t data[N][50], ids[N][IDX_ID_LEN];
	const uint8_t(*cids)[IDX_ID_LEN] = (const uint8_t(*)[IDX_ID_LEN])ids;
	struct stor_ops failing;
	const struct stor_ops *ops;
	char alone[ERR_MSG_MAX];
	struct err e;
	uint8_t *out;
	size_t n;
	int added;

	for (int i = 0; i < N; i++) {
		fill(data[i], sizeof(data[i]), (uint32_t)(900 + i));
		ck_assert_int_eq(repo_blob_put(r, IDX_BLOB_TREE, data[i],
		                     sizeof(data[i]), ids[i], &added, &e),
		    0);
	}
	ck_assert_int_eq(repo_flush(r, &e), 0);
	repo_close(r);

	r = open_ok(pass);
	repo_set_workers(r, 2);
	trepo_count_reads(r);
	ops = repo_store(r)->ops;
	repo_prefetch(r, cids, 3, IDX_BLOB_TREE);
	repo_prefetch(r, cids + 1, 1, IDX_BLOB_TREE); /* already there */
	wait_reads(3);
	failing = *ops;
	failing.get_range = fail_get_range;
	repo_store(r)->ops = &failing;
	/* Served from the slots, in another order, with no store read. */
	for (int i = 2; i >= 0; i--)
		get_tree_ok(r, ids[i], data[i], sizeof(data[i]));
	ck_assert_uint_eq(trepo_reads(), 3);
	/* Each once: taken, a slot is empty; the next read is the store's. */
	ck_assert_int_eq(repo_blob_get(r, ids[0], IDX_BLOB_TREE, &out, &n, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_IO);
	/* Asked for as another type: not served from the slot. */
	repo_store(r)->ops = ops;
	repo_prefetch(r, cids + 3, 1, IDX_BLOB_TREE);
	wait_reads(4);
	repo_store(r)->ops = &failing;
	ck_assert_int_eq(repo_blob_get(r, ids[3], IDX_BLOB_DATA, &out, &n, &e),
	    -1);
	get_tree_ok(r, ids[3], data[3], sizeof(data[3]));

	/* More hints than slots: the first REPO_PREFETCH_SLOTS are taken. */
	repo_store(r)->ops = ops;
	trepo_count_reads(r);
	repo_prefetch(r, cids + 4, N - 4, IDX_BLOB_TREE);
	wait_reads(REPO_PREFETCH_SLOTS);
	usleep(50000);
	ck_assert_uint_eq(trepo_reads(), REPO_PREFETCH_SLOTS);
	/* Full of hints never asked for: new ones take their places. */
	trepo_count_reads(r);
	repo_prefetch(r, cids, 4, IDX_BLOB_TREE);
	wait_reads(4);
	repo_store(r)->ops = &failing;
	for (int i = 0; i < 4; i++)
		get_tree_ok(r, ids[i], data[i], sizeof(data[i]));
	{
		int gone = 0;

		for (int i = 4; i < 4 + REPO_PREFETCH_SLOTS; i++) {
			if (repo_blob_get(r, ids[i], IDX_BLOB_TREE, &out, &n,
			        &e) == 0) {
				ck_assert_mem_eq(out, data[i], n);
				free(out);
			} else
				gone++;
		}
		ck_assert_int_eq(gone, 4);
	}
	ck_assert_int_eq(repo_blob_get(r, ids[N - 1], IDX_BLOB_TREE, &out, &n,
	                     &e),
	    -1);
	repo_store(r)->ops = ops;
	repo_close(r);

	/* A damaged blob: the error of a plain read of it. */
	r = open_ok(pass);
	{
		const struct idx_entry *ent = idx_find(repo_index(r), ids[1]);
		char name[128];

		ck_assert_ptr_nonnull(ent);
		repo_pack_name(idx_pack_id(repo_index(r), ent->pack), name,
		    sizeof(name));
		flip_file(name, (off_t)ent->offset + 20);
	}
	repo_set_workers(r, 0);
	ck_assert_int_eq(repo_blob_get(r, ids[1], IDX_BLOB_TREE, &out, &n, &e),
	    -1);
	snprintf(alone, sizeof(alone), "%s", e.msg);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	/* No threads: nothing is fetched ahead. */
	trepo_count_reads(r);
	repo_prefetch(r, cids, 2, IDX_BLOB_TREE);
	usleep(50000);
	ck_assert_uint_eq(trepo_reads(), 0);
	repo_set_workers(r, 2);
	trepo_count_reads(r);
	repo_prefetch(r, cids, 2, IDX_BLOB_TREE);
	wait_reads(2);
	ck_assert_int_eq(repo_blob_get(r, ids[1], IDX_BLOB_TREE, &out, &n, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_str_eq(e.msg, alone);
	get_tree_ok(r, ids[0], data[0], sizeof(data[0]));
	repo_close(r);
}
END_TEST

START_TEST(test_unseal_blobs_and_header)
{
	struct repo *r = open_ok(pass);
	uint8_t data[3][4000], ids[3][IDX_ID_LEN], *pack, *hplain, *out;
	uint8_t zero[64];
	struct pack_blob *bl;
	char name[256];
	size_t plen, hn, nbl, on;
	uint64_t hoff;
	uint32_t hlen;
	struct err e;
	int added;

	for (int i = 0; i < 3; i++) {
		fill(data[i], sizeof(data[i]), (uint32_t)(40 + i));
		if (i == 2)
			memset(data[i], 'z', sizeof(data[i])); /* compresses */
		ck_assert_int_eq(repo_blob_put(r,
		                     i == 2 ? IDX_BLOB_TREE : IDX_BLOB_DATA,
		                     data[i], sizeof(data[i]), ids[i], &added,
		                     &e),
		    0);
	}
	ck_assert_int_eq(repo_flush(r, &e), 0);
	ck_assert_int_eq(stor_list(repo_store(r), "data", first_pack, name, &e),
	    1);
	ck_assert_int_eq(stor_get(repo_store(r), name, 1 << 20, &pack, &plen,
	                     &e),
	    0);
	ck_assert_int_eq(pack_trailer_parse(pack + plen - PACK_TRAILER_LEN,
	                     plen, &hoff, &hlen, &e),
	    0);
	ck_assert_int_eq(repo_pack_header_unseal(r, pack + hoff, hlen, &hplain,
	                     &hn, &e),
	    0);
	ck_assert_int_eq(pack_header_decode(hplain, hn, hoff, &bl, &nbl, &e),
	    0);
	ck_assert_uint_eq(nbl, 3);
	for (size_t i = 0; i < nbl; i++) {
		ck_assert_mem_eq(bl[i].id, ids[i], IDX_ID_LEN);
		ck_assert_int_eq(repo_blob_unseal(r, bl[i].id, bl[i].type,
		                     bl[i].raw_length, pack + bl[i].offset,
		                     bl[i].length, &out, &on, &e),
		    0);
		ck_assert_uint_eq(on, sizeof(data[i]));
		ck_assert_mem_eq(out, data[i], on);
		free(out);
	}
	/* A blob opened in place is spent; with out NULL it is verified. */
	free(pack);
	ck_assert_int_eq(stor_get(repo_store(r), name, 1 << 20, &pack, &plen,
	                     &e),
	    0);
	ck_assert_int_eq(repo_blob_unseal(r, bl[0].id, bl[0].type,
	                     bl[0].raw_length, pack + bl[0].offset,
	                     bl[0].length, NULL, NULL, &e),
	    0);
	/* The wrong type, a wrong raw length, a flipped byte: refused, and
	 * the buffer wiped. */
	ck_assert_int_eq(repo_blob_unseal(r, bl[1].id, IDX_BLOB_TREE,
	                     bl[1].raw_length, pack + bl[1].offset,
	                     bl[1].length, &out, &on, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_ptr_null(out);
	memset(zero, 0, sizeof(zero));
	ck_assert_mem_eq(pack + bl[1].offset, zero, sizeof(zero));
	ck_assert_int_eq(repo_blob_unseal(r, bl[2].id, bl[2].type,
	                     bl[2].raw_length + 1, pack + bl[2].offset,
	                     bl[2].length, &out, &on, &e),
	    -1);
	free(pack);
	ck_assert_int_eq(stor_get(repo_store(r), name, 1 << 20, &pack, &plen,
	                     &e),
	    0);
	pack[bl[0].offset + 100] ^= 1;
	ck_assert_int_eq(repo_blob_unseal(r, bl[0].id, bl[0].type,
	                     bl[0].raw_length, pack + bl[0].offset,
	                     bl[0].length, &out, &on, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	/* A header too short, or changed. */
	free(hplain);
	ck_assert_int_eq(repo_pack_header_unseal(r, pack + hoff, 10, &hplain,
	                     &hn, &e),
	    -1);
	ck_assert_ptr_null(hplain);
	pack[hoff + 20] ^= 1;
	ck_assert_int_eq(repo_pack_header_unseal(r, pack + hoff, hlen, &hplain,
	                     &hn, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	free(bl);
	free(pack);
	repo_close(r);
}
END_TEST

Suite *repo_suite(void);

Suite *
repo_suite(void)
{
	Suite *s = suite_create("repo");
	TCase *tc = tcase_create("local");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_init_refuses_existing_and_open_errors);
	tcase_add_test(tc, test_blobs_dedup_pack_and_reopen);
	tcase_add_test(tc, test_damaged_pack_is_detected);
	tcase_add_test(tc, test_read_batches);
	tcase_add_test(tc, test_prefetch);
	tcase_add_test(tc, test_machine_key_and_files);
	tcase_add_test(tc, test_inline_and_worker_pipelines_agree);
	tcase_add_test(tc, test_compression_per_put);
	tcase_add_test(tc, test_key_list_test_remove);
	tcase_add_test(tc, test_key_remove_needs_intact_current_key);
	tcase_add_test(tc, test_key_from_another_repository);
	tcase_add_test(tc, test_open_skips_bad_index_whole);
	tcase_add_test(tc, test_read_ahead);
	tcase_add_test(tc, test_read_auth_only);
	tcase_add_test(tc, test_unseal_blobs_and_header);
	tcase_add_test(tc, test_planted_copy_is_passed_over);
	suite_add_tcase(s, tc);
	return (s);
}
