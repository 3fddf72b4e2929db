/*
 * Snapshot manifests: JSON round trip, refusal of bad input (selection:
 * check_snapsel.c).
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "repo/manifest.h"

static void
sample(struct manifest *m)
{
	manifest_init(m);
	m->time.tv_sec = 1795000000;
	m->time.tv_nsec = 123456789;
	m->host = strdup("db1");
	m->user = strdup("root");
	m->program = strdup("coffer 0.1.0");
	manifest_add_tag(m, "nightly");
	manifest_add_path(m, "/etc");
	manifest_add_path(m, "/opt/app/conf");
	memset(m->tree, 0xab, sizeof(m->tree));
	m->files = 3000;
	m->bytes = 1234567;
	m->duration = 1.5;
	manifest_add_inconsistent(m, "/etc/mtab");
	manifest_add_skipped(m, "/etc/shadow-", "Permission denied");
}

START_TEST(test_round_trip)
{
	struct manifest m, d;
	struct err e;
	char *json;

	sample(&m);
	json = manifest_encode(&m);
	ck_assert_int_eq(manifest_decode(json, strlen(json), &d, &e), 0);
	ck_assert_int_eq(d.time.tv_sec, m.time.tv_sec);
	ck_assert_int_eq(d.time.tv_nsec, m.time.tv_nsec);
	ck_assert_str_eq(d.host, "db1");
	ck_assert_uint_eq(d.npaths, 2);
	ck_assert_str_eq(d.paths[1], "/opt/app/conf");
	ck_assert_str_eq(d.tags[0], "nightly");
	ck_assert_mem_eq(d.tree, m.tree, sizeof(m.tree));
	ck_assert_uint_eq(d.files, 3000);
	ck_assert_uint_eq(d.bytes, 1234567);
	ck_assert_str_eq(d.inconsistent[0], "/etc/mtab");
	ck_assert_str_eq(d.skipped[0].error, "Permission denied");
	ck_assert_str_eq(d.parent, "");
	ck_assert_ptr_null(d.job);
	ck_assert_ptr_null(strstr(json, "\"job\""));
	free(json);
	manifest_clear(&d);
	manifest_clear(&m);
}
END_TEST

/* The job that took a snapshot: kept when set, refused when malformed. */
START_TEST(test_job_name)
{
	static const char *bad[] = { "\"job\":\"\"", "\"job\":7",
		"\"job\":\"a\\u0000b\"" };
	struct manifest m, d;
	struct err e;
	char *json, *mod;

	sample(&m);
	m.job = strdup("nightly");
	json = manifest_encode(&m);
	ck_assert_int_eq(manifest_decode(json, strlen(json), &d, &e), 0);
	ck_assert_str_eq(d.job, "nightly");
	manifest_clear(&d);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *at = strstr(json, "\"job\":\"nightly\"");

		ck_assert_ptr_nonnull(at);
		mod = malloc(strlen(json) + 32);
		memcpy(mod, json, (size_t)(at - json));
		strcpy(mod + (at - json), bad[i]);
		strcat(mod, at + strlen("\"job\":\"nightly\""));
		ck_assert_msg(manifest_decode(mod, strlen(mod), &d, &e) == -1,
		    "accepted %s", bad[i]);
		ck_assert_int_eq(e.class, ERR_CORRUPT);
		free(mod);
	}
	free(json);
	manifest_clear(&m);
}
END_TEST

START_TEST(test_refuses_bad_input)
{
	static const char *bad[] = {
		"",
		"[]",
		"{\"version\":2}",
		"{\"version\":1,\"version\":1}",
	};
	struct manifest m, d;
	struct err e;
	char *json, *p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(manifest_decode(bad[i], strlen(bad[i]), &d,
		                     &e),
		    -1);
		ck_assert_int_eq(e.class, ERR_CORRUPT);
	}
	sample(&m);
	json = manifest_encode(&m);
	/* A bad time and a short tree id are refused. */
	p = strstr(json, "T");
	*p = 'X';
	ck_assert_int_eq(manifest_decode(json, strlen(json), &d, &e), -1);
	*p = 'T';
	p = strstr(json, "abababab");
	memmove(p, p + 2, strlen(p + 2) + 1);
	ck_assert_int_eq(manifest_decode(json, strlen(json), &d, &e), -1);
	free(json);
	manifest_clear(&m);
}
END_TEST

START_TEST(test_sources)
{
	struct manifest_source src = { .name = "gasdb",
		.type = "postgres",
		.status = "ok",
		.server_version = "15.8",
		.database = "gas",
		.path = "/gasdb",
		.dump = "/gasdb/gas.pgdump",
		.bytes = 4096,
		.encoding = "LATIN1",
		.lc_collate = "C",
		.lc_ctype = "de_DE" };
	struct manifest m, d;
	const struct manifest_source *x;
	struct err e;
	char *json, *p;

	sample(&m);
	src.start.tv_sec = 1795000001;
	src.end.tv_sec = 1795000009;
	src.end.tv_nsec = 5;
	manifest_add_source(&m, &src);
	src = (struct manifest_source){ .name = "inventory",
		.type = "command",
		.status = "failed",
		.error = "exit status 2: no such table" };
	manifest_add_source(&m, &src);
	json = manifest_encode(&m);
	ck_assert_int_eq(manifest_decode(json, strlen(json), &d, &e), 0);
	ck_assert_uint_eq(d.nsources, 2);
	ck_assert_ptr_null(manifest_find_source(&d, "nope"));
	x = manifest_find_source(&d, "gasdb");
	ck_assert_ptr_nonnull(x);
	ck_assert_str_eq(x->type, "postgres");
	ck_assert_str_eq(x->server_version, "15.8");
	ck_assert_str_eq(x->dump, "/gasdb/gas.pgdump");
	ck_assert_int_eq(x->end.tv_nsec, 5);
	ck_assert_uint_eq(x->bytes, 4096);
	ck_assert_str_eq(x->encoding, "LATIN1");
	ck_assert_str_eq(x->lc_collate, "C");
	ck_assert_str_eq(x->lc_ctype, "de_DE");
	ck_assert_ptr_null(x->error);
	x = manifest_find_source(&d, "inventory");
	ck_assert_str_eq(x->status, "failed");
	ck_assert_str_eq(x->error, "exit status 2: no such table");
	ck_assert_ptr_null(x->path);
	ck_assert_ptr_null(x->encoding);
	manifest_clear(&d);
	/* An unknown type or status is refused. */
	p = strstr(json, "\"command\"");
	memcpy(p + 1, "kommand", 7);
	ck_assert_int_eq(manifest_decode(json, strlen(json), &d, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	free(json);
	manifest_clear(&m);
}
END_TEST

START_TEST(test_paths_that_are_not_utf8)
{
	struct manifest m, d;
	struct err e;
	char *json;

	sample(&m);
	manifest_add_path(&m, "/tmp/x\xffy");
	manifest_add_inconsistent(&m, "/a/\xc3\x28");
	manifest_add_skipped(&m, "/b/\xed\xa0\x80", "gone");
	manifest_add_tag(&m, "t\xfe");
	json = manifest_encode(&m);
	ck_assert_int_eq(manifest_decode(json, strlen(json), &d, &e), 0);
	ck_assert_str_eq(d.paths[2], "/tmp/x\xffy");
	ck_assert_str_eq(d.paths[0], "/etc");
	ck_assert_str_eq(d.inconsistent[1], "/a/\xc3\x28");
	ck_assert_str_eq(d.skipped[1].path, "/b/\xed\xa0\x80");
	ck_assert_str_eq(d.tags[1], "t\xfe");
	/* Valid UTF-8 stays readable as is. */
	ck_assert_ptr_nonnull(strstr(json, "\"/opt/app/conf\""));
	free(json);
	manifest_clear(&d);
	manifest_clear(&m);
}
END_TEST

Suite *manifest_suite(void);

Suite *
manifest_suite(void)
{
	Suite *s = suite_create("manifest");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_job_name);
	tcase_add_test(tc, test_refuses_bad_input);
	tcase_add_test(tc, test_sources);
	tcase_add_test(tc, test_paths_that_are_not_utf8);
	suite_add_tcase(s, tc);
	return (s);
}
