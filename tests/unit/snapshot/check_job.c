/*
 * Jobs (snapshot/job.c): a [job] of a config written here resolved into
 * its repository, sources, hooks and hook timeout; ad-hoc sources added;
 * the checks before anything runs; and the job's hooks run around a real
 * snapshot into a scratch repository, within the job's hook_timeout.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "config.h"
#include "snapshot/job.h"
#include "trepo.h"
#include "tutil.h"
#include "xmalloc.h"

static char *base;
static char loc[PATH_MAX];

static void
setup(void)
{

	base = tutil_mkdtemp();
	snprintf(loc, sizeof(loc), "%s/repo", base);
	trepo_init(loc, 1 << 20, NULL);
}

static void
teardown(void)
{
	tutil_rmtree(base);
	free(base);
}

/* The config text, loaded; fails the test when it does not load. */
static struct config *
conf(const char *text)
{
	return (trepo_config(base, text));
}

static const char two[] = "[repository main]\n"
                          "path = /srv/coffer\n"
                          "[repository offsite]\n"
                          "path = /srv/copy\n"
                          "[source etc]\n"
                          "type = files\n"
                          "paths = /etc /opt/app\n"
                          "exclude = *.swp\n"
                          "one_file_system = yes\n"
                          "[source gasdb]\n"
                          "type = postgres\n"
                          "database = gas\n"
                          "connection = host=/run/postgresql\n"
                          "before = echo freeze\n"
                          "hook_timeout = 90s\n"
                          "[job nightly]\n"
                          "sources = etc gasdb\n"
                          "repository = main\n"
                          "before = echo before\n"
                          "after = echo after\n"
                          "hook_timeout = 7s\n"
                          "[job plain]\n"
                          "sources = etc\n"
                          "repository = offsite\n";

START_TEST(test_resolve_job)
{
	struct config *cfg = conf(two);
	struct snap_job *job = NULL;
	const struct snap_source *x;
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(snap_job_resolve(cfg, "nightly", &job, &e), 0);
	ck_assert_str_eq(job->name, "nightly");
	ck_assert_str_eq(job->repository, "main");
	ck_assert_str_eq(job->before, "echo before");
	ck_assert_str_eq(job->after, "echo after");
	ck_assert_uint_eq(job->hook_timeout, 7);
	ck_assert_uint_eq(job->nsources, 2);
	x = &job->sources[0];
	ck_assert_str_eq(x->name, "etc");
	ck_assert_str_eq(x->type, "files");
	ck_assert_uint_eq(x->npaths, 2);
	ck_assert_str_eq(x->paths[1], "/opt/app");
	ck_assert_uint_eq(x->nexclude, 1);
	ck_assert_int_eq(x->one_file_system, 1);
	ck_assert_uint_eq(x->hook_timeout, 300);
	x = &job->sources[1];
	ck_assert_str_eq(x->name, "gasdb");
	ck_assert_str_eq(x->database, "gas");
	ck_assert_str_eq(x->connection, "host=/run/postgresql");
	ck_assert_str_eq(x->before, "echo freeze");
	ck_assert_uint_eq(x->hook_timeout, 90);
	ck_assert_int_eq(snap_job_check(job, &e), 0);
	snap_job_free(job);

	/* No hooks, and the default hook_timeout: 5 minutes. */
	ck_assert_int_eq(snap_job_resolve(cfg, "plain", &job, &e), 0);
	ck_assert_str_eq(job->repository, "offsite");
	ck_assert_ptr_null(job->before);
	ck_assert_ptr_null(job->after);
	ck_assert_uint_eq(job->hook_timeout, 300);
	snap_job_free(job);
	config_free(cfg);
}
END_TEST

START_TEST(test_resolve_refused)
{
	struct config *cfg = conf(two);
	struct snap_job *job = (struct snap_job *)1;
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(snap_job_resolve(cfg, "weekly", &job, &e), -1);
	ck_assert_ptr_null(job);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "no [job weekly] in "));
	err_clear(&e);
	ck_assert_int_eq(snap_job_resolve(NULL, "nightly", &job, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	config_free(cfg);

	/* A job without sources never loads: sources is required. */
	{
		char *p = tutil_path(base, "nosrc.conf");
		static const char t[] = "[repository main]\n"
		                        "path = /srv/coffer\n"
		                        "[job empty]\n"
		                        "repository = main\n";

		tutil_write_file(p, t, strlen(t), 0600);
		cfg = (struct config *)1;
		err_clear(&e);
		ck_assert_int_eq(config_load(p, &cfg, &e), -1);
		ck_assert_ptr_null(cfg);
		ck_assert_int_eq(e.class, ERR_CONFIG);
		free(p);
	}
	/* Nor does one made by hand run. */
	job = snap_job_new("empty");
	err_clear(&e);
	ck_assert_int_eq(snap_job_check(job, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_str_eq(e.msg, "job empty names no sources");
	snap_job_free(job);
}
END_TEST

START_TEST(test_ad_hoc_sources)
{
	static const char *const paths[] = { "/srv/www" };
	struct config *cfg = conf(two);
	struct snap_job *job = snap_job_new(NULL);
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(snap_job_add_source(job, cfg, "etc", &e), 0);
	ck_assert_int_eq(snap_job_add_postgres(job,
	                     "host=/run/postgresql dbname=sales", &e),
	    0);
	snap_job_add_mysql(job, "shop", "/etc/mysql/backup.cnf");
	snap_job_add_sqlite(job, "/var/lib/app/state.db");
	snap_job_add_command(job, "ldapsearch -LLL", "ldap.ldif");
	snap_job_add_files(job, paths, 1, NULL, 0, 0);
	ck_assert_uint_eq(job->nsources, 6);
	ck_assert_str_eq(job->sources[1].name, "sales");
	ck_assert_str_eq(job->sources[1].database, "sales");
	ck_assert_str_eq(job->sources[2].defaults_file,
	    "/etc/mysql/backup.cnf");
	ck_assert_str_eq(job->sources[3].name, "state");
	ck_assert_str_eq(job->sources[4].file_name, "ldap.ldif");
	ck_assert_str_eq(job->sources[5].name, "files");
	ck_assert_int_eq(snap_job_check(job, &e), 0);

	/* A conninfo without a database names no source. */
	ck_assert_int_eq(snap_job_add_postgres(job, "host=h", &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_uint_eq(job->nsources, 6);
	/* A source the config lacks. */
	ck_assert_int_eq(snap_job_add_source(job, cfg, "nope", &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	/* Two of one name. */
	snap_job_add_command(job, "echo x", "etc");
	err_clear(&e);
	ck_assert_int_eq(snap_job_check(job, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "two sources are named etc"));
	snap_job_free(job);
	config_free(cfg);
}
END_TEST

/* Run the job of text into the scratch repository; its return. */
static int
run_job(const char *text, struct manifest *m, size_t *nfailed, double *secs,
    struct err *e)
{
	struct config *cfg = conf(text);
	struct snap_job *job = NULL;
	struct snap_opts o;
	struct repo *r;
	struct timespec t0, t1;
	int rc;

	ck_assert_msg(repo_open(loc, trepo_machine_key,
	                  strlen(trepo_machine_key), &r, e) == 0,
	    "%s", e->msg);
	ck_assert_msg(snap_job_resolve(cfg, "j", &job, e) == 0, "%s", e->msg);
	memset(&o, 0, sizeof(o));
	o.repository = "main";
	manifest_init(m);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = snap_job_run(r, job, &o, m, nfailed, e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	snap_job_free(job);
	repo_close(r);
	config_free(cfg);
	return (rc);
}

START_TEST(test_run_hooks_and_timeout)
{
	char *text, *marks = tutil_path(base, "marks"), *got;
	struct manifest m;
	size_t nfailed;
	double secs;
	struct err e;

	/* Hooks around a snapshot: the before sees the job, after the
	 * status. */
	text = xasprintf("[repository main]\npath = %s\n"
	                 "[source a]\ntype = command\n"
	                 "command = echo a\nname = a.txt\n"
	                 "[job j]\nsources = a\nrepository = main\n"
	                 "before = echo \"$COFFER_HOOK $COFFER_JOB "
	                 "$COFFER_REPOSITORY\" >>%s\n"
	                 "after = echo \"$COFFER_HOOK $COFFER_STATUS\" "
	                 ">>%s\n",
	    loc, marks, marks);
	err_clear(&e);
	ck_assert_msg(run_job(text, &m, &nfailed, &secs, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(nfailed, 0);
	ck_assert_uint_eq(m.nsources, 1);
	manifest_clear(&m);
	got = tutil_read_file(marks, NULL);
	ck_assert_str_eq(got, "before j main\nafter ok\n");
	free(got);
	free(text);

	/* A before hook that hangs is stopped after the job's hook_timeout,
	 * no snapshot is taken, and after still runs, saying so. */
	text = xasprintf("[repository main]\npath = %s\n"
	                 "[source a]\ntype = command\n"
	                 "command = echo a\nname = a.txt\n"
	                 "[job j]\nsources = a\nrepository = main\n"
	                 "hook_timeout = 1s\n"
	                 "before = sleep 4\n"
	                 "after = echo \"$COFFER_HOOK $COFFER_STATUS\" "
	                 ">%s\n",
	    loc, marks);
	err_clear(&e);
	ck_assert_int_eq(run_job(text, &m, &nfailed, &secs, &e), -1);
	ck_assert_msg(strncmp(e.msg, "job j: before hook timed out after 1 s",
	                  38) == 0,
	    "%s", e.msg);
	ck_assert_msg(secs < 3.5, "the hook ran %.1f s", secs);
	manifest_clear(&m);
	got = tutil_read_file(marks, NULL);
	ck_assert_str_eq(got, "after failed\n");
	free(got);
	free(text);
	free(marks);
}
END_TEST

Suite *job_suite(void);

Suite *
job_suite(void)
{
	Suite *s = suite_create("snapshot_job");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_resolve_job);
	tcase_add_test(tc, test_resolve_refused);
	tcase_add_test(tc, test_ad_hoc_sources);
	tcase_add_test(tc, test_run_hooks_and_timeout);
	suite_add_tcase(s, tc);
	return (s);
}
