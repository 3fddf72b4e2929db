/*
 * Nodes: where a sparse file's data lies, and which names a node may have.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "fs/node.h"

START_TEST(test_data_offsets)
{
	struct fs_node f;
	uint64_t off, run;

	memset(&f, 0, sizeof(f));
	f.type = FS_FILE;
	f.size = 1000;
	ck_assert_uint_eq(fs_node_data_len(&f), 1000);
	ck_assert_int_eq(fs_node_data_offset(&f, 10, &off, &run), 0);
	ck_assert_uint_eq(off, 10);
	ck_assert_uint_eq(run, 990);
	ck_assert_int_eq(fs_node_data_offset(&f, 1000, &off, &run), -1);
	fs_node_add_extent(&f, 100, 10);
	fs_node_add_extent(&f, 500, 20);
	ck_assert_uint_eq(fs_node_data_len(&f), 30);
	ck_assert_int_eq(fs_node_data_offset(&f, 0, &off, &run), 0);
	ck_assert_uint_eq(off, 100);
	ck_assert_uint_eq(run, 10);
	ck_assert_int_eq(fs_node_data_offset(&f, 15, &off, &run), 0);
	ck_assert_uint_eq(off, 505);
	ck_assert_uint_eq(run, 15);
	ck_assert_int_eq(fs_node_data_offset(&f, 30, &off, &run), -1);
	ck_assert(!fs_name_valid("..", 2));
	ck_assert(!fs_name_valid(".", 1));
	ck_assert(!fs_name_valid("", 0));
	ck_assert(!fs_name_valid("a/b", 3));
	ck_assert(fs_name_valid("...", 3));
	ck_assert(fs_name_valid(".a", 2));
	fs_node_clear(&f);
}
END_TEST

Suite *node_suite(void);

Suite *
node_suite(void)
{
	Suite *s = suite_create("fs_node");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_data_offsets);
	suite_add_tcase(s, tc);
	return (s);
}
