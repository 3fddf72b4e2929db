/*
 * repl_job_resolve: what `coffer replicate NAME` (with or without --from)
 * copies from and to, by the jobs of a config written here.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "config.h"
#include "replicate/replicate.h"
#include "trepo.h"
#include "tutil.h"

static char *base;

static void
setup(void)
{
	base = tutil_mkdtemp();
}

static void
teardown(void)
{
	tutil_rmtree(base);
	free(base);
}

static struct config *
conf(const char *text)
{
	return (trepo_config(base, text));
}

static const char jobs[] = "[repository main]\npath = /srv/main\n"
                           "[repository db]\npath = /srv/db\n"
                           "[repository offsite]\npath = /srv/offsite\n"
                           "[repository vault]\npath = /srv/vault\n"
                           "[repository cold]\npath = /srv/cold\n"
                           "[source etc]\ntype = files\npaths = /etc\n"
                           "[job nightly]\nsources = etc\n"
                           "repository = main\nreplicate = offsite\n"
                           "[job hourly]\nsources = etc\n"
                           "repository = main\nreplicate = offsite\n"
                           "[job local]\nsources = etc\n"
                           "repository = main\n"
                           "[job a]\nsources = etc\n"
                           "repository = main\nreplicate = vault\n"
                           "[job b]\nsources = etc\n"
                           "repository = db\nreplicate = vault\n"
                           /* A job and a repository of one name. */
                           "[job cold]\nsources = etc\n"
                           "repository = main\nreplicate = offsite\n";

static void
expect(const struct config *cfg, const char *name, const char *from,
    const char *want_from, const char *want_to)
{
	const char *f = NULL, *t = NULL;
	struct err e;

	err_clear(&e);
	ck_assert_msg(repl_job_resolve(cfg, name, from, &f, &t, &e) == 0,
	    "%s: %s", name, e.msg);
	ck_assert_str_eq(f, want_from);
	ck_assert_str_eq(t, want_to);
}

static void
refused(const struct config *cfg, const char *name, const char *from,
    const char *msg)
{
	const char *f = "x", *t = "x";
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(repl_job_resolve(cfg, name, from, &f, &t, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_null(f);
	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(e.msg, msg) != NULL, "%s", e.msg);
}

START_TEST(test_target_for_a_job)
{
	struct config *cfg = conf(jobs);

	/* A job's name: from its repository to its replicate. */
	expect(cfg, "nightly", NULL, "main", "offsite");
	refused(cfg, "local", NULL, "[job local] has no replicate = NAME");
	/* A repository's name: from the jobs that copy there. */
	expect(cfg, "offsite", NULL, "main", "offsite");
	refused(cfg, "vault", NULL,
	    "jobs replicating to 'vault' have different repositories "
	    "('main', 'db'): give --from");
	refused(cfg, "cold", NULL, "no [job] in ");
	/* --from decides, and a repository's name is never a job's. */
	expect(cfg, "vault", "db", "db", "vault");
	expect(cfg, "nightly", "main", "main", "nightly");
	refused(cfg, "main", "main", "--from and --to are both 'main'");
	config_free(cfg);

	/* No config: --from is needed. */
	expect(NULL, "/srv/b", "/srv/a", "/srv/a", "/srv/b");
	refused(NULL, "/srv/b", NULL,
	    "no job replicates to /srv/b: no configuration file was read");
}
END_TEST

START_TEST(test_jobs_default)
{
	struct config *cfg = conf("[repository main]\npath = /srv/main\n"
	                          "[repository far]\n"
	                          "url = sftp://u@far.example/srv/r\n"
	                          "transfers = 6\n"
	                          "[repository near]\n"
	                          "url = sftp://u@near.example/srv/r\n"
	                          "transfers = 3\n"
	                          "[repository plain]\n"
	                          "url = sftp://u@plain.example/srv/r\n"
	                          "[repository local]\npath = /srv/l\n");

	/* The larger side that is an sftp:// [repository]. */
	ck_assert_int_eq(repl_jobs_default(cfg, "main", "far"), 6);
	ck_assert_int_eq(repl_jobs_default(cfg, "near", "far"), 6);
	ck_assert_int_eq(repl_jobs_default(cfg, "near", "main"), 3);
	/* Unset: the config's default for transfers. */
	ck_assert_int_eq(repl_jobs_default(cfg, "main", "plain"), 2);
	/* Local repositories, paths, URLs and unknown names: 0. */
	ck_assert_int_eq(repl_jobs_default(cfg, "main", "local"), 0);
	ck_assert_int_eq(repl_jobs_default(cfg, "/srv/main",
	                     "sftp://u@far.example/srv/r"),
	    0);
	ck_assert_int_eq(repl_jobs_default(cfg, "main", "nosuch"), 0);
	ck_assert_int_eq(repl_jobs_default(NULL, "main", "far"), 0);
	config_free(cfg);
}
END_TEST

Suite *repl_job_suite(void);

Suite *
repl_job_suite(void)
{
	Suite *s = suite_create("replicate_job");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_target_for_a_job);
	tcase_add_test(tc, test_jobs_default);
	suite_add_tcase(s, tc);
	return (s);
}
