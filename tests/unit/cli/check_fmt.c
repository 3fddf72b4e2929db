/*
 * Listing formats: sizes, ls-style modes, UTC times, and names in JSON
 * (a string when UTF-8, base64 otherwise).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "cli/fmt.h"

START_TEST(test_size)
{
	static const struct {
		uint64_t n;
		const char *want;
	} c[] = {
		{ 0, "0 B" },
		{ 1023, "1023 B" },
		{ 1024, "1.0 KiB" },
		{ 1536, "1.5 KiB" },
		{ 10u << 20, "10.0 MiB" },
		{ (uint64_t)3 << 30, "3.0 GiB" },
		{ (uint64_t)5 << 40, "5.0 TiB" },
		{ UINT64_MAX, "16.0 EiB" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		fmt_size(c[i].n, buf, sizeof(buf));
		ck_assert_str_eq(buf, c[i].want);
	}
}
END_TEST

/* The two forms of a duration, as scripts and tests read them. */
START_TEST(test_durations)
{
	static const struct {
		double secs;
		const char *dur, *span;
	} c[] = {
		{ 0, "0.0 s", "0s" },
		{ 12.34, "12.3 s", "12s" },
		{ 59.96, "1m00s", "59s" },
		{ 64, "1m04s", "1m 4s" },
		{ 2000, "33m20s", "33m 20s" },
		{ 7500, "2h05m", "2h 5m" },
		{ 273600, "3d04h", "3d 4h" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		fmt_dur(c[i].secs, buf, sizeof(buf));
		ck_assert_str_eq(buf, c[i].dur);
		fmt_span((int64_t)c[i].secs, buf, sizeof(buf));
		ck_assert_str_eq(buf, c[i].span);
	}
	fmt_span(-1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-");
}
END_TEST

START_TEST(test_mode)
{
	char buf[11];

	fmt_mode(FS_DIR, 0755, buf);
	ck_assert_str_eq(buf, "drwxr-xr-x");
	fmt_mode(FS_FILE, 0644, buf);
	ck_assert_str_eq(buf, "-rw-r--r--");
	fmt_mode(FS_FILE, 04755, buf);
	ck_assert_str_eq(buf, "-rwsr-xr-x");
	fmt_mode(FS_FILE, 06644, buf);
	ck_assert_str_eq(buf, "-rwSr-Sr--");
	fmt_mode(FS_DIR, 01777, buf);
	ck_assert_str_eq(buf, "drwxrwxrwt");
	fmt_mode(FS_DIR, 01770, buf);
	ck_assert_str_eq(buf, "drwxrwx--T");
	fmt_mode(FS_SYMLINK, 0777, buf);
	ck_assert_str_eq(buf, "lrwxrwxrwx");
	fmt_mode(FS_FIFO, 0600, buf);
	ck_assert_str_eq(buf, "prw-------");
	fmt_mode(FS_CHR, 0666, buf);
	ck_assert_str_eq(buf, "crw-rw-rw-");
	fmt_mode(FS_BLK, 0660, buf);
	ck_assert_str_eq(buf, "brw-rw----");
	fmt_mode(FS_SOCK, 0777, buf);
	ck_assert_str_eq(buf, "srwxrwxrwx");
}
END_TEST

START_TEST(test_time)
{
	char buf[64];

	fmt_time(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01 00:00:00");
	fmt_time(1706933106, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2024-02-03 04:05:06");
	fmt_time(-1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1969-12-31 23:59:59");
	fmt_time_iso(1706933106, 7, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2024-02-03T04:05:06.000000007Z");
	/* Out of what gmtime can say: the number. */
	fmt_time(INT64_MAX, buf, sizeof(buf));
	ck_assert_str_eq(buf, "9223372036854775807");
}
END_TEST

START_TEST(test_json_bytes)
{
	json_t *o = json_object(), *v;
	char *s;

	fmt_json_set_bytes(o, "name", "h\xc3\xa9\nx", 5);
	fmt_json_set_bytes(o, "raw", "a\xff", 2);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(s,
	    "{\"name\":\"h\xc3\xa9\\nx\",\"raw_b64\":\"Yf8=\"}");
	free(s);
	json_decref(o);
	v = fmt_json_bytes("\xfe", 1);
	s = json_dumps(v, JSON_COMPACT);
	ck_assert_str_eq(s, "{\"b64\":\"/g==\"}");
	free(s);
	json_decref(v);
}
END_TEST

START_TEST(test_lists)
{
	char *v[] = { (char *)"daily", (char *)"a\nb", (char *)"caf\xff" };
	char *s;
	json_t *a;

	s = fmt_join_esc(v, 0);
	ck_assert_str_eq(s, "-");
	free(s);
	s = fmt_join_esc(v, 1);
	ck_assert_str_eq(s, "daily");
	free(s);
	/* Escaped for a terminal: no raw newline, one "," between. */
	s = fmt_join_esc(v, 3);
	ck_assert_ptr_null(strchr(s, '\n'));
	ck_assert(strncmp(s, "daily,a", 7) == 0);
	free(s);
	/* JSON: strings where they can be, base64 where not. */
	a = fmt_json_strv(v, 3);
	ck_assert_uint_eq(json_array_size(a), 3);
	ck_assert_str_eq(json_string_value(json_array_get(a, 1)), "a\nb");
	ck_assert(json_is_object(json_array_get(a, 2)));
	json_decref(a);
	a = fmt_json_strv(v, 0);
	ck_assert_uint_eq(json_array_size(a), 0);
	json_decref(a);
}
END_TEST

START_TEST(test_json_node)
{
	struct fs_node n;
	json_t *j;
	char *s;

	memset(&n, 0, sizeof(n));
	n.name = strdup("tty");
	n.type = FS_CHR;
	n.mode = 0620;
	n.gid = 5;
	n.group = strdup("tty");
	n.rdev_major = 4;
	n.rdev_minor = 1;
	n.flags = FS_NODE_INCONSISTENT;
	j = fmt_json_node(&n, "/dev/tty");
	s = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(s,
	    "{\"path\":\"/dev/tty\",\"name\":\"tty\",\"type\":\"chardev\","
	    "\"mode\":400,\"uid\":0,\"gid\":5,\"group\":\"tty\",\"size\":0,"
	    "\"mtime\":\"1970-01-01T00:00:00.000000000Z\",\"rdev\":[4,1],"
	    "\"inconsistent\":true}");
	free(s);
	json_decref(j);
	fs_node_clear(&n);
}
END_TEST

/* Local time for the scheduler's tables; 0 is "never". */
START_TEST(test_time_local)
{
	char buf[32];
	json_t *j;

	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	fmt_time_local(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-");
	fmt_time_local(1796601600, buf, sizeof(buf)); /* 2026-12-07 00:00Z */
	ck_assert_str_eq(buf, "2026-12-07 01:00:00");
	fmt_time_local(1783382400, buf, sizeof(buf)); /* 2026-07-07 00:00Z */
	ck_assert_str_eq(buf, "2026-07-07 02:00:00");
	ck_assert(json_is_null(j = fmt_json_time(0)));
	json_decref(j);
	j = fmt_json_time(1796601600);
	ck_assert_int_eq(json_integer_value(j), 1796601600);
	json_decref(j);
	unsetenv("TZ");
	tzset();
}
END_TEST

Suite *fmt_suite(void);

Suite *
fmt_suite(void)
{
	Suite *s = suite_create("fmt");
	TCase *tc = tcase_create("fmt");

	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_mode);
	tcase_add_test(tc, test_time);
	tcase_add_test(tc, test_json_bytes);
	tcase_add_test(tc, test_lists);
	tcase_add_test(tc, test_json_node);
	tcase_add_test(tc, test_time_local);
	suite_add_tcase(s, tc);
	return (s);
}
