/*
 * A forget planned and carried out on a real local repository: a policy
 * moves the right manifests to forgotten/, named snapshots resolve by
 * prefix, an interrupt stops before the next move, a kept snapshot's
 * stale copy in forgotten/ (a cut-short move) is tidied with a note, many
 * moves share one sync, and a copy torn by a crash before it is replaced.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "fault.h"
#include "repo/forget.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "scheduler/retention_plan.h"
#include "trepo.h"
#include "tutil.h"
#include "xmalloc.h"

#define T0 ((time_t)1795000000) /* 2026-11-18 */

static char *dir, *loc;
static char ids[3][REPO_HEX_LEN + 1]; /* oldest first, a day apart */

static struct repo *
open_repo(void)
{
	struct repo *r;
	struct err e;

	ck_assert_msg(repo_open_flags(loc, trepo_machine_key,
	                  strlen(trepo_machine_key), 0, REPO_LOCK_NONE, NULL,
	                  &r, &e) == 0,
	    "%s", e.msg);
	return (r);
}

static void
setup(void)
{
	struct repo *r;
	struct err e;

	dir = tutil_mkdtemp();
	loc = tutil_path(dir, "repo");
	trepo_init(loc, 0, &r);
	for (int i = 0; i < 3; i++) {
		struct manifest m;

		manifest_init(&m);
		m.time.tv_sec = T0 + i * 86400;
		m.host = xstrdup("testhost");
		m.user = xstrdup("root");
		m.program = xstrdup("coffer test");
		manifest_add_path(&m, "/srv");
		ck_assert_msg(manifest_save(r, &m, &e) == 0, "%s", e.msg);
		memcpy(ids[i], m.id, sizeof(ids[i]));
		manifest_clear(&m);
	}
	repo_close(r);
}

static void
teardown(void)
{
	tutil_rmtree(dir);
	free(dir);
	free(loc);
}

static struct retention_plan *
plan(struct repo *r, const struct retention_policy *pol, char *const *named,
    size_t nnamed)
{
	struct retention_plan *p;
	struct snapsel *list;
	struct err e;

	ck_assert_msg(snapsel_list(r, T0 + 10 * 86400, &list, &e) == 0, "%s",
	    e.msg);
	ck_assert_msg(retention_plan_new(list, pol, RETENTION_GROUP_DEFAULT,
	                  named, nnamed, &p, &e) == 0,
	    "%s", e.msg);
	return (p);
}

static int
exists(const char *sub, const char *id)
{
	char *name = xasprintf("repo/%s/%s", sub, id), *path;
	char *data;

	path = tutil_path(dir, name);
	data = tutil_read_file(path, NULL);
	free(name);
	free(path);
	free(data);
	return (data != NULL);
}

struct notes {
	int infos, warns;
	char last[512];
};

static void
on_note(void *arg, int warn, const char *msg)
{
	struct notes *n = arg;

	if (warn)
		n->warns++;
	else
		n->infos++;
	snprintf(n->last, sizeof(n->last), "%s", msg);
}

START_TEST(test_policy_moves_the_removed)
{
	struct retention_policy pol = { .last = 1 };
	struct repo *r = open_repo();
	struct retention_plan *p = plan(r, &pol, NULL, 0);
	struct notes n = { 0 };
	struct err e;

	ck_assert_uint_eq(p->list->n, 3);
	ck_assert_uint_eq(p->nremove, 2);
	ck_assert_uint_eq(p->ngroups, 1);
	ck_assert_uint_eq(p->res[0].reasons, 0);
	ck_assert_uint_eq(p->res[1].reasons, 0);
	ck_assert_uint_ne(p->res[2].reasons & RETENTION_LAST, 0);
	ck_assert_msg(retention_plan_apply(p, repo_store(r), NULL, on_note, &n,
	                  &e) == 0,
	    "%s", e.msg);
	ck_assert_uint_eq(p->nmoved, 2);
	ck_assert_str_eq(p->moved[0], ids[0]);
	ck_assert_str_eq(p->moved[1], ids[1]);
	ck_assert_int_eq(n.infos + n.warns, 0);
	for (int i = 0; i < 2; i++) {
		ck_assert(!exists("snapshots", ids[i]));
		ck_assert(exists(FORGET_DIR, ids[i]));
	}
	ck_assert(exists("snapshots", ids[2]));
	retention_plan_free(p);
	repo_close(r);
}
END_TEST

START_TEST(test_named_by_prefix)
{
	char pre[9], *named[1] = { pre };
	struct repo *r = open_repo();
	struct retention_plan *p;
	struct snapsel *list;
	struct err e;
	char *bad[1] = { "ffffffffffff" };

	snprintf(pre, sizeof(pre), "%.8s", ids[1]);
	p = plan(r, NULL, named, 1);
	ck_assert_int_eq(p->named, 1);
	ck_assert_uint_eq(p->nremove, 1);
	ck_assert_uint_eq(p->res[1].reasons, 0);
	ck_assert_msg(retention_plan_apply(p, repo_store(r), NULL, NULL, NULL,
	                  &e) == 0,
	    "%s", e.msg);
	ck_assert(exists(FORGET_DIR, ids[1]));
	ck_assert(exists("snapshots", ids[0]) && exists("snapshots", ids[2]));
	retention_plan_free(p);

	/* An unknown name fails the plan; the list goes with it. */
	ck_assert_int_eq(snapsel_list(r, T0, &list, &e), 0);
	ck_assert_int_eq(retention_plan_new(list, NULL, 0, bad, 1, &p, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_null(p);
	repo_close(r);
}
END_TEST

START_TEST(test_interrupt_stops_before_a_move)
{
	struct retention_policy pol = { .last = 1 };
	volatile sig_atomic_t stop = 1;
	struct repo *r = open_repo();
	struct retention_plan *p = plan(r, &pol, NULL, 0);
	struct err e;

	ck_assert_int_eq(retention_plan_apply(p, repo_store(r), &stop, NULL,
	                     NULL, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	ck_assert_uint_eq(p->nmoved, 0);
	for (int i = 0; i < 3; i++)
		ck_assert(exists("snapshots", ids[i]));
	retention_plan_free(p);
	repo_close(r);
}
END_TEST

START_TEST(test_stale_copy_of_a_kept_one_is_tidied)
{
	struct retention_policy pol = { .last = 3 };
	struct repo *r = open_repo();
	struct retention_plan *p;
	struct notes n = { 0 };
	char *src, *dst, *name, *data;
	size_t len;
	struct err e;

	/* A forget of ids[2] cut after its copy: both names exist. */
	name = xasprintf("repo/snapshots/%s", ids[2]);
	src = tutil_path(dir, name);
	free(name);
	name = xasprintf("repo/%s", FORGET_DIR);
	dst = tutil_path(dir, name);
	free(name);
	data = tutil_read_file(src, &len);
	ck_assert_ptr_nonnull(data);
	(void)mkdir(dst, 0700);
	free(dst);
	name = xasprintf("repo/%s/%s", FORGET_DIR, ids[2]);
	dst = tutil_path(dir, name);
	tutil_write_file(dst, data, len, 0600);

	p = plan(r, &pol, NULL, 0);
	ck_assert_uint_eq(p->nremove, 0);
	ck_assert_msg(retention_plan_apply(p, repo_store(r), NULL, on_note, &n,
	                  &e) == 0,
	    "%s", e.msg);
	ck_assert_int_eq(n.infos, 1);
	ck_assert_int_eq(n.warns, 0);
	ck_assert_ptr_nonnull(strstr(n.last, "cut short"));
	ck_assert(!exists(FORGET_DIR, ids[2]));
	ck_assert(exists("snapshots", ids[2]));
	retention_plan_free(p);
	repo_close(r);
	free(name);
	free(src);
	free(dst);
	free(data);
}
END_TEST

/*
 * Many snapshots forgotten cost one sync, not two fsyncs each: the copies
 * skip theirs (STOR_LATER) and one syncfs makes them durable before any
 * original goes.
 */
START_TEST(test_one_sync_for_many)
{
	struct retention_policy pol = { .last = 1 };
	struct repo *r = open_repo();
	struct retention_plan *p = plan(r, &pol, NULL, 0);
	char *fdir = tutil_path(dir, "repo/" FORGET_DIR);
	struct err e;

	ck_assert_int_eq(mkdir(fdir, 0700), 0);
	ck_assert_uint_eq(p->nremove, 2);
	fault_reset();
	ck_assert_msg(retention_plan_apply(p, repo_store(r), NULL, NULL, NULL,
	                  &e) == 0,
	    "%s", e.msg);
	ck_assert_uint_eq(fault_calls(FAULT_FSYNC), 0);
	ck_assert_uint_eq(fault_calls(FAULT_SYNCFS), 1);
	ck_assert_uint_eq(p->nmoved, 2);
	ck_assert(exists(FORGET_DIR, ids[0]) && exists(FORGET_DIR, ids[1]));
	ck_assert(!exists("snapshots", ids[0]) && !exists("snapshots", ids[1]));
	ck_assert(exists("snapshots", ids[2]));
	retention_plan_free(p);
	repo_close(r);
	free(fdir);
}
END_TEST

/* When that sync fails, no original goes: the copies are not durable. */
START_TEST(test_failed_sync_removes_nothing)
{
	struct retention_policy pol = { .last = 1 };
	struct repo *r = open_repo();
	struct retention_plan *p = plan(r, &pol, NULL, 0);
	struct err e;

	fault_arm(FAULT_SYNCFS, 0, EIO);
	ck_assert_int_eq(retention_plan_apply(p, repo_store(r), NULL, NULL,
	                     NULL, &e),
	    -1);
	fault_reset();
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_uint_eq(p->nmoved, 0);
	for (int i = 0; i < 3; i++)
		ck_assert(exists("snapshots", ids[i]));
	retention_plan_free(p);
	repo_close(r);
}
END_TEST

/*
 * A crash before that sync can leave a copy shorter than written under
 * its name; the original is still there, so the next forget replaces it.
 */
START_TEST(test_torn_copy_is_replaced)
{
	char *named[1] = { ids[1] };
	struct repo *r = open_repo();
	struct retention_plan *p;
	char *name, *src, *dst, *data, *got;
	size_t len, glen;
	struct err e;

	name = xasprintf("repo/snapshots/%s", ids[1]);
	src = tutil_path(dir, name);
	free(name);
	data = tutil_read_file(src, &len);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_gt(len, 10);
	name = xasprintf("repo/%s", FORGET_DIR);
	dst = tutil_path(dir, name);
	free(name);
	ck_assert_int_eq(mkdir(dst, 0700), 0);
	free(dst);
	name = xasprintf("repo/%s/%s", FORGET_DIR, ids[1]);
	dst = tutil_path(dir, name);
	free(name);
	tutil_write_file(dst, data, len / 2, 0600);

	p = plan(r, NULL, named, 1);
	ck_assert_msg(retention_plan_apply(p, repo_store(r), NULL, NULL, NULL,
	                  &e) == 0,
	    "%s", e.msg);
	ck_assert_uint_eq(p->nmoved, 1);
	got = tutil_read_file(dst, &glen);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(glen, len);
	ck_assert_mem_eq(got, data, len);
	ck_assert(!exists("snapshots", ids[1]));
	retention_plan_free(p);
	repo_close(r);
	free(src);
	free(dst);
	free(data);
	free(got);
}
END_TEST

Suite *retention_plan_suite(void);

Suite *
retention_plan_suite(void)
{
	Suite *s = suite_create("retention_plan");
	TCase *tc = tcase_create("plan");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_policy_moves_the_removed);
	tcase_add_test(tc, test_named_by_prefix);
	tcase_add_test(tc, test_interrupt_stops_before_a_move);
	tcase_add_test(tc, test_stale_copy_of_a_kept_one_is_tidied);
	tcase_add_test(tc, test_one_sync_for_many);
	tcase_add_test(tc, test_failed_sync_removes_nothing);
	tcase_add_test(tc, test_torn_copy_is_replaced);
	suite_add_tcase(s, tc);
	return (s);
}
