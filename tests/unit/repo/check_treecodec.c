/*
 * The tree blob codec: every field survives a round trip, hostile blobs
 * are refused with ERR_CORRUPT and never crash the decoder.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "fs/node.h"
#include "repo/treecodec.h"

static void
fill_id(uint8_t id[FS_ID_LEN], int seed)
{
	for (int i = 0; i < FS_ID_LEN; i++)
		id[i] = (uint8_t)(seed * 31 + i * 7);
}

/* One node of each type, with every field set to something distinctive. */
static size_t
sample(struct fs_node *v)
{
	static const uint8_t bin[] = { 0, 1, 0xff, '\n', 0 };
	uint8_t id[FS_ID_LEN];
	size_t n = 0;

	memset(v, 0, 8 * sizeof(*v));
	/* Given out of order on purpose: the encoder sorts. */
	v[n].name = strdup("zeta\n\xff\xfe");
	v[n].type = FS_FILE;
	v[n].mode = 04755;
	v[n].uid = 12345;
	v[n].gid = 54321;
	v[n].user = strdup("alice");
	v[n].group = strdup("staff");
	v[n].mtime = (struct fs_time){ 1700000000, 123456789 };
	v[n].atime = (struct fs_time){ -5, 999999999 };
	v[n].ctime = (struct fs_time){ 1700000001, 1 };
	v[n].size = (uint64_t)2 << 30;
	v[n].dev = 0x0801;
	v[n].ino = 0x1122334455667788ULL;
	v[n].nlink = 2;
	v[n].acl_access = strdup("user::rw-\nuser:bob:r--:1001\ngroup::r--\n"
	                         "mask::r--\nother::---");
	v[n].fflags = strdup("nodump");
	v[n].flags = FS_NODE_INCONSISTENT;
	fs_node_add_xattr(&v[n], "user.bin", bin, sizeof(bin));
	fs_node_add_xattr(&v[n], "user.empty", "", 0);
	fs_node_add_extent(&v[n], 0, 4096);
	fs_node_add_extent(&v[n], 1 << 30, 8192);
	for (int k = 0; k < 3; k++) {
		fill_id(id, k);
		fs_node_add_chunk(&v[n], id);
	}
	n++;
	v[n].name = strdup("dir");
	v[n].type = FS_DIR;
	v[n].mode = 01777;
	v[n].acl_default = strdup("user::rwx\ngroup::r-x\nother::r-x");
	v[n].acl_nfs4 = strdup("owner@:rwxp--aARWcCos:-------:allow");
	v[n].flags = FS_NODE_HAS_SUBTREE;
	fill_id(v[n].subtree, 99);
	n++;
	v[n].name = strdup("link");
	v[n].type = FS_SYMLINK;
	v[n].symlink = strdup("../../etc/\xc3\xa9t\xc3\xa9");
	v[n].mode = 0777;
	n++;
	v[n].name = strdup("\xc3\xa9t\xc3\xa9");
	v[n].type = FS_FIFO;
	v[n].mode = 0600;
	n++;
	v[n].name = strdup("null");
	v[n].type = FS_CHR;
	v[n].rdev_major = 1;
	v[n].rdev_minor = 3;
	n++;
	v[n].name = strdup("sda");
	v[n].type = FS_BLK;
	v[n].rdev_major = 8;
	v[n].rdev_minor = 0x12345;
	n++;
	v[n].name = strdup("sock");
	v[n].type = FS_SOCK;
	n++;
	v[n].name = strdup("A-empty");
	v[n].type = FS_FILE;
	n++;
	return (n);
}

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

static void
assert_same(const struct fs_node *a, const struct fs_node *b)
{
	ck_assert_str_eq(a->name, b->name);
	ck_assert_int_eq(a->type, b->type);
	ck_assert_uint_eq(a->mode, b->mode);
	ck_assert_uint_eq(a->uid, b->uid);
	ck_assert_uint_eq(a->gid, b->gid);
	ck_assert(str_eq(a->user, b->user));
	ck_assert(str_eq(a->group, b->group));
	ck_assert_int_eq(a->mtime.sec, b->mtime.sec);
	ck_assert_uint_eq(a->mtime.nsec, b->mtime.nsec);
	ck_assert_int_eq(a->atime.sec, b->atime.sec);
	ck_assert_uint_eq(a->atime.nsec, b->atime.nsec);
	ck_assert_int_eq(a->ctime.sec, b->ctime.sec);
	ck_assert_uint_eq(a->ctime.nsec, b->ctime.nsec);
	ck_assert_uint_eq(a->size, b->size);
	ck_assert_uint_eq(a->dev, b->dev);
	ck_assert_uint_eq(a->ino, b->ino);
	ck_assert_uint_eq(a->nlink, b->nlink);
	ck_assert_uint_eq(a->rdev_major, b->rdev_major);
	ck_assert_uint_eq(a->rdev_minor, b->rdev_minor);
	ck_assert(str_eq(a->symlink, b->symlink));
	ck_assert(str_eq(a->acl_access, b->acl_access));
	ck_assert(str_eq(a->acl_default, b->acl_default));
	ck_assert(str_eq(a->acl_nfs4, b->acl_nfs4));
	ck_assert(str_eq(a->fflags, b->fflags));
	ck_assert_uint_eq(a->nxattrs, b->nxattrs);
	for (size_t i = 0; i < a->nxattrs; i++) {
		ck_assert_str_eq(a->xattrs[i].name, b->xattrs[i].name);
		ck_assert_uint_eq(a->xattrs[i].len, b->xattrs[i].len);
		if (a->xattrs[i].len > 0)
			ck_assert_mem_eq(a->xattrs[i].value, b->xattrs[i].value,
			    a->xattrs[i].len);
	}
	ck_assert_uint_eq(a->nsparse, b->nsparse);
	for (size_t i = 0; i < a->nsparse; i++) {
		ck_assert_uint_eq(a->sparse[i].offset, b->sparse[i].offset);
		ck_assert_uint_eq(a->sparse[i].length, b->sparse[i].length);
	}
	ck_assert_uint_eq(a->nchunks, b->nchunks);
	if (a->nchunks > 0)
		ck_assert_mem_eq(a->chunks, b->chunks, a->nchunks * FS_ID_LEN);
	ck_assert_uint_eq(a->flags, b->flags);
	if (a->flags & FS_NODE_HAS_SUBTREE)
		ck_assert_mem_eq(a->subtree, b->subtree, FS_ID_LEN);
}

static int
by_name(const void *a, const void *b)
{
	return (strcmp(((const struct fs_node *)a)->name,
	    ((const struct fs_node *)b)->name));
}

START_TEST(test_round_trip_every_field)
{
	struct fs_node v[8], *out, copy;
	struct err e;
	uint8_t *buf, *buf2;
	size_t n = sample(v), m, len, len2;

	treecodec_encode(v, n, &buf, &len);
	ck_assert_int_eq(treecodec_decode(buf, len, &out, &m, &e), 0);
	ck_assert_uint_eq(m, n);
	qsort(v, n, sizeof(v[0]), by_name);
	for (size_t i = 0; i < n; i++)
		assert_same(&v[i], &out[i]);
	/* Encoding is deterministic: same nodes, same bytes (dedup). */
	treecodec_encode(out, m, &buf2, &len2);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(buf, buf2, len);
	/* Deep copies are independent of the original. */
	fs_node_copy(&copy, &out[n - 1]);
	fs_nodes_free(out, m);
	assert_same(&copy, &v[n - 1]);
	fs_node_clear(&copy);
	for (size_t i = 0; i < n; i++)
		fs_node_clear(&v[i]);
	free(buf);
	free(buf2);
}
END_TEST

START_TEST(test_empty_tree)
{
	struct fs_node *out;
	struct err e;
	uint8_t *buf;
	size_t len, m = 99;

	treecodec_encode(NULL, 0, &buf, &len);
	ck_assert_uint_eq(len, 12);
	ck_assert_int_eq(treecodec_decode(buf, len, &out, &m, &e), 0);
	ck_assert_uint_eq(m, 0);
	fs_nodes_free(out, m);
	free(buf);
}
END_TEST

START_TEST(test_every_truncation_refused)
{
	struct fs_node v[8], *out;
	struct err e;
	uint8_t *buf;
	size_t n = sample(v), m, len;

	treecodec_encode(v, n, &buf, &len);
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *t =
		    malloc(cut + 1); /* exact size: ASan sees overreads */

		memcpy(t, buf, cut);
		ck_assert_int_eq(treecodec_decode(t, cut, &out, &m, &e), -1);
		ck_assert_int_eq(e.class, ERR_CORRUPT);
		ck_assert_ptr_null(out);
		free(t);
	}
	for (size_t i = 0; i < n; i++)
		fs_node_clear(&v[i]);
	free(buf);
}
END_TEST

/* A two-node blob "a", "b": offsets of each record's name bytes. */
static uint8_t *
two_nodes(size_t *len, size_t *name1, size_t *name2)
{
	struct fs_node v[2];
	uint8_t *buf;

	memset(v, 0, sizeof(v));
	v[0].name = strdup("a");
	v[0].type = FS_FILE;
	v[1].name = strdup("b");
	v[1].type = FS_FILE;
	treecodec_encode(v, 2, &buf, len);
	*name1 = 12 + 4 + 4;
	*name2 = 12 + (*len - 12) / 2 + 4 + 4; /* records are equal in size */
	fs_node_clear(&v[0]);
	fs_node_clear(&v[1]);
	return (buf);
}

static void
refused(const uint8_t *buf, size_t len, const char *want)
{
	struct fs_node *out;
	struct err e;
	size_t m;

	ck_assert_int_eq(treecodec_decode(buf, len, &out, &m, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_msg(strstr(e.msg, want) != NULL,
	    "message \"%s\" lacks \"%s\"", e.msg, want);
}

START_TEST(test_hostile_names_and_order)
{
	size_t len, n1, n2;
	uint8_t *buf = two_nodes(&len, &n1, &n2);
	struct fs_node *out;
	struct err e;
	size_t m;

	ck_assert_int_eq(treecodec_decode(buf, len, &out, &m, &e), 0);
	ck_assert_str_eq(out[1].name, "b");
	fs_nodes_free(out, m);
	ck_assert_uint_eq(buf[n1], 'a');
	ck_assert_uint_eq(buf[n2], 'b');
	buf[n2] = 'a';
	refused(buf, len, "out of order or repeated");
	buf[n2] = 'B'; /* sorts before 'a' */
	refused(buf, len, "out of order or repeated");
	buf[n2] = '/';
	refused(buf, len, "invalid name");
	buf[n2] = '\0';
	refused(buf, len, "invalid name");
	buf[n2] = '.';
	refused(buf, len, "invalid name");
	free(buf);
}
END_TEST

START_TEST(test_hostile_fields)
{
	struct fs_node v;
	struct err e;
	uint8_t *buf;
	size_t len, m;
	struct fs_node *out;
	/* Offsets in a one-node blob named "..x" (changed to ".." below). */
	const size_t name_len = 16, name = 20, type = 23, flags = 24;
	const size_t mode = 25;

	memset(&v, 0, sizeof(v));
	v.name = strdup("..x");
	v.type = FS_FILE;
	treecodec_encode(&v, 1, &buf, &len);
	ck_assert_int_eq(treecodec_decode(buf, len, &out, &m, &e), 0);
	fs_nodes_free(out, m);

	/* "..": name length 2, the record shortened to match. */
	{
		uint8_t *t = malloc(len);

		memcpy(t, buf, name + 2);
		memcpy(t + name + 2, buf + name + 3, len - name - 3);
		t[name_len] = 2;
		t[12] = (uint8_t)(t[12] - 1);
		refused(t, len - 1, "invalid name");
		free(t);
	}
	buf[type] = 9;
	refused(buf, len, "unknown type 9");
	buf[type] = 0;
	refused(buf, len, "unknown type 0");
	buf[type] = FS_DIR;
	buf[flags] = 0x80;
	refused(buf, len, "unknown flags");
	buf[flags] = 0;
	buf[mode + 1] = 0x10; /* 010000 */
	refused(buf, len, "mode");
	buf[mode + 1] = 0;
	/* A name length far past the end. */
	buf[name_len + 3] = 0x7f;
	refused(buf, len, "past the end");
	buf[name_len + 3] = 0;
	/* Record length past the end, and one too short. */
	buf[12 + 3] = 0x01;
	refused(buf, len, "past the end of the blob");
	buf[12 + 3] = 0;
	buf[12] = (uint8_t)(buf[12] - 1);
	refused(buf, len - 1, "ends early");
	buf[12] = (uint8_t)(buf[12] + 1);
	/* An absurd node count. */
	buf[8] = buf[9] = buf[10] = 0xff;
	refused(buf, len, "cannot fit");
	buf[8] = 1;
	buf[9] = buf[10] = 0;
	/* Trailing garbage and an unknown version. */
	{
		uint8_t *t = malloc(len + 1);

		memcpy(t, buf, len);
		t[len] = 0;
		refused(t, len + 1, "left over");
		free(t);
	}
	buf[4] = 2;
	refused(buf, len, "version 2");
	buf[4] = 1;
	buf[0] = 'X';
	refused(buf, len, "not a tree");
	fs_node_clear(&v);
	free(buf);
}
END_TEST

START_TEST(test_hostile_counts_and_extents)
{
	struct fs_node v;
	uint8_t *buf;
	size_t len;
	/* Counts are the last 12 bytes of a file record with no subtree. */
	size_t xattrs, extents, chunks;

	memset(&v, 0, sizeof(v));
	v.name = strdup("f");
	v.type = FS_FILE;
	v.size = 100;
	treecodec_encode(&v, 1, &buf, &len);
	xattrs = len - 12;
	extents = len - 8;
	chunks = len - 4;
	buf[xattrs + 3] = 0xff;
	refused(buf, len, "xattrs cannot fit");
	buf[xattrs + 3] = 0;
	buf[extents] = 0xff;
	refused(buf, len, "extents cannot fit");
	buf[extents] = 0;
	buf[chunks + 2] = 0xff;
	refused(buf, len, "chunk ids cannot fit");
	fs_node_clear(&v);
	free(buf);

	/* Overlapping extents, and one past the size. */
	memset(&v, 0, sizeof(v));
	v.name = strdup("f");
	v.type = FS_FILE;
	v.size = 100;
	fs_node_add_extent(&v, 0, 50);
	fs_node_add_extent(&v, 60, 40);
	treecodec_encode(&v, 1, &buf, &len);
	/* Second extent's offset: 16 + 4 (chunk count) bytes from the end. */
	buf[len - 4 - 16] = 40;
	refused(buf, len, "extents overlap");
	buf[len - 4 - 16] = 61;
	refused(buf, len, "extents overlap");
	fs_node_clear(&v);
	free(buf);
}
END_TEST

START_TEST(test_random_mutations_never_crash)
{
	struct fs_node v[8], *out;
	struct err e;
	uint8_t *buf;
	size_t n = sample(v), len, m;
	unsigned seed = 4242;
	int accepted = 0;

	treecodec_encode(v, n, &buf, &len);
	for (int round = 0; round < 2000; round++) {
		size_t mlen = len - (size_t)(rand_r(&seed) % 16);
		uint8_t *t = malloc(mlen);
		int flips = 1 + rand_r(&seed) % 6;

		memcpy(t, buf, mlen);
		for (int k = 0; k < flips; k++)
			t[(size_t)rand_r(&seed) % mlen] =
			    (uint8_t)rand_r(&seed);
		if (treecodec_decode(t, mlen, &out, &m, &e) == 0) {
			accepted++;
			/* Whatever is accepted re-encodes (the invariants
			 * hold). */
			uint8_t *re;
			size_t relen;

			treecodec_encode(out, m, &re, &relen);
			free(re);
			fs_nodes_free(out, m);
		} else {
			ck_assert_int_eq(e.class, ERR_CORRUPT);
		}
		free(t);
	}
	(void)accepted;
	for (size_t i = 0; i < n; i++)
		fs_node_clear(&v[i]);
	free(buf);
}
END_TEST

Suite *treecodec_suite(void);

Suite *
treecodec_suite(void)
{
	Suite *s = suite_create("treecodec");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_round_trip_every_field);
	tcase_add_test(tc, test_empty_tree);
	tcase_add_test(tc, test_every_truncation_refused);
	tcase_add_test(tc, test_hostile_names_and_order);
	tcase_add_test(tc, test_hostile_fields);
	tcase_add_test(tc, test_hostile_counts_and_extents);
	tcase_add_test(tc, test_random_mutations_never_crash);
	suite_add_tcase(s, tc);
	return (s);
}
