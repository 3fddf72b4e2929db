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

#include "repo/repo.h"

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

START_TEST(test_inline_and_worker_pipelines_agree)
{
	round_trip_with_workers(0, 0);
	round_trip_with_workers(1, 60);
	round_trip_with_workers(3, 120);


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
	tcase_add_test(tc, test_machine_key_and_files);
	tcase_add_test(tc, test_inline_and_worker_pipelines_agree);
	suite_add_tcase(s, tc);
	return (s);
}
