/*
 * The job's rules that need no repository: which step runs after which
 * failure (job_step_gate), the rotating check slice (every pack within
 * 100/N runs), the run's exit status and recorded status, and how long a
 * step waits for a repository lock.
 */
#include <sys/file.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "config.h"
#include "err.h"
#include "scheduler/job.h"
#include "trepo.h"
#include "tutil.h"

static void
configure_all(struct job_result *r)
{
	memset(r, 0, sizeof(*r));
	r->failed_step = -1;
	for (int s = 0; s < JOB_NSTEPS; s++)
		r->steps[s].configured = 1;
}

/*
 * A run that finds the job's lock taken names its holder, even when it
 * looks in the instant between the holder's flock and its writing who it
 * is (two ticks started together).
 */
START_TEST(test_lock_names_a_late_holder)
{
	char *dir = tutil_mkdtemp(), text[256], *path, want[64];
	struct config *cfg;
	struct err e;
	int up[2], fd = -1, busy = 0, status;
	pid_t pid;
	char c;

	snprintf(text, sizeof(text),
	    "[global]\nstate_dir = %s\n[repository r]\npath = %s/r\n"
	    "[source s]\ntype = files\npaths = /etc\n"
	    "[job j]\nsources = s\nrepository = r\n",
	    dir, dir);
	cfg = trepo_config(dir, text);
	path = tutil_path(dir, "job-j.lock");
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		int lfd = open(path, O_RDWR | O_CREAT, 0600);
		char line[64];
		int n;

		if (lfd == -1 || flock(lfd, LOCK_EX) == -1 ||
		    ftruncate(lfd, 0) == -1 || write(up[1], "l", 1) != 1)
			_exit(1);
		usleep(300000);
		n = snprintf(line, sizeof(line), "pid %ld since then\n",
		    (long)getpid());
		if (pwrite(lfd, line, (size_t)n, 0) != n)
			_exit(1);
		sleep(2);
		_exit(0);
	}
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	err_clear(&e);
	ck_assert_int_eq(job_lock_acquire(cfg, "j", &fd, &busy, &e), -1);
	ck_assert_int_eq(busy, 1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	snprintf(want, sizeof(want), "(pid %ld since then)", (long)pid);
	ck_assert_msg(strstr(e.msg, want) != NULL, "%s", e.msg);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(up[0]);
	close(up[1]);
	config_free(cfg);
	free(path);
	tutil_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_gate_snapshot_ok)
{
	struct job_result r;
	char why[64];

	configure_all(&r);
	ck_assert_int_eq(job_step_gate(&r, JOB_STEP_SNAPSHOT, why, 64), 1);
	r.steps[JOB_STEP_SNAPSHOT].status = JOB_OK;
	ck_assert_int_eq(job_step_gate(&r, JOB_STEP_FORGET, why, 64), 1);
	/* A failed forget stops neither replicate nor check. */
	r.steps[JOB_STEP_FORGET].status = JOB_FAILED;
	ck_assert_int_eq(job_step_gate(&r, JOB_STEP_REPLICATE, why, 64), 1);
	/* A failed replicate does not stop the check of the local copy. */
	r.steps[JOB_STEP_REPLICATE].status = JOB_FAILED;
	ck_assert_int_eq(job_step_gate(&r, JOB_STEP_CHECK, why, 64), 1);
}
END_TEST

START_TEST(test_gate_snapshot_failed)
{
	struct job_result r;
	char why[64];

	configure_all(&r);
	r.steps[JOB_STEP_SNAPSHOT].status = JOB_FAILED;
	for (int s = JOB_STEP_FORGET; s <= JOB_STEP_CHECK; s++) {
		why[0] = '\0';
		ck_assert_int_eq(job_step_gate(&r, (enum job_step)s, why, 64),
		    0);
		ck_assert_str_eq(why, "the snapshot failed");
	}
}
END_TEST

/* A snapshot skipped as locked skips the rest, saying so. */
START_TEST(test_gate_snapshot_locked)
{
	struct job_result r;
	char why[64];

	configure_all(&r);
	r.steps[JOB_STEP_SNAPSHOT].status = JOB_SKIPPED;
	r.steps[JOB_STEP_SNAPSHOT].locked = 1;
	for (int s = JOB_STEP_FORGET; s <= JOB_STEP_CHECK; s++) {
		ck_assert_int_eq(job_step_gate(&r, (enum job_step)s, why,
		                     sizeof(why)),
		    0);
		ck_assert_str_eq(why,
		    "the snapshot was skipped: the repository is locked");
	}
}
END_TEST

/* A prune run's one step depends on no snapshot. */
START_TEST(test_gate_prune)
{
	struct job_result r;
	char why[64];

	memset(&r, 0, sizeof(r));
	r.failed_step = -1;
	r.prune = 1;
	r.steps[JOB_STEP_PRUNE].configured = 1;
	ck_assert_int_eq(job_step_gate(&r, JOB_STEP_PRUNE, why, 64), 1);
	for (int s = JOB_STEP_SNAPSHOT; s <= JOB_STEP_CHECK; s++) {
		ck_assert_int_eq(job_step_gate(&r, (enum job_step)s, why, 64),
		    0);
		ck_assert_str_eq(why, "not configured");
	}
	/* And a job run does not prune. */
	configure_all(&r);
	r.steps[JOB_STEP_PRUNE].configured = 0;
	r.steps[JOB_STEP_SNAPSHOT].status = JOB_OK;
	ck_assert_int_eq(job_step_gate(&r, JOB_STEP_PRUNE, why, 64), 0);
	ck_assert_str_eq(job_step_name(JOB_STEP_PRUNE), "prune");
}
END_TEST

START_TEST(test_gate_not_configured)
{
	struct job_result r;
	char why[64];

	configure_all(&r);
	r.steps[JOB_STEP_SNAPSHOT].status = JOB_OK;
	r.steps[JOB_STEP_REPLICATE].configured = 0;
	ck_assert_int_eq(job_step_gate(&r, JOB_STEP_REPLICATE, why, 64), 0);
	ck_assert_str_eq(why, "not configured");
	ck_assert_int_eq(job_step_gate(&r, JOB_STEP_CHECK, NULL, 0), 1);
}
END_TEST

/* Over S = floor(100/N) consecutive runs every slice comes once. */
START_TEST(test_check_slice_rotates)
{
	static const double pcts[] = { 100, 50, 30, 5, 0.5, 33.4, 99 };

	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		uint32_t slice, slices, first;
		int seen[256];

		job_check_slice(pcts[i], 0, &first, &slices);
		ck_assert_uint_ge(slices, 1);
		ck_assert(slices <= 100.0 / pcts[i] + 1e-9);
		/* Each slice is at least N% of the packs. */
		ck_assert(100.0 / slices >= pcts[i] - 1e-9);
		if (slices > 256)
			continue;
		memset(seen, 0, sizeof(seen));
		for (uint64_t run = 7; run < 7 + slices; run++) {
			job_check_slice(pcts[i], run, &slice, &slices);
			ck_assert_uint_ge(slice, 1);
			ck_assert_uint_le(slice, slices);
			seen[slice - 1]++;
		}
		for (uint32_t k = 0; k < slices; k++)
			ck_assert_int_eq(seen[k], 1);
	}
}
END_TEST

START_TEST(test_check_slice_values)
{
	uint32_t slice, slices;

	job_check_slice(50, 0, &slice, &slices);
	ck_assert_uint_eq(slices, 2);
	ck_assert_uint_eq(slice, 1);
	job_check_slice(50, 1, &slice, &slices);
	ck_assert_uint_eq(slice, 2);
	job_check_slice(50, 2, &slice, &slices);
	ck_assert_uint_eq(slice, 1);
	job_check_slice(5, 19, &slice, &slices);
	ck_assert_uint_eq(slices, 20);
	ck_assert_uint_eq(slice, 20);
	job_check_slice(30, 0, &slice, &slices);
	ck_assert_uint_eq(slices, 3);
}
END_TEST

START_TEST(test_exit_status)
{
	struct job_result r;

	configure_all(&r);
	ck_assert_int_eq(job_exit_status(&r), EXIT_OK);
	r.failed_step = JOB_STEP_REPLICATE;
	r.steps[JOB_STEP_REPLICATE].exit_status = EXIT_NET;
	ck_assert_int_eq(job_exit_status(&r), EXIT_NET);
	ck_assert_str_eq(job_step_name(JOB_STEP_CHECK), "check");
	ck_assert_str_eq(job_status_name(JOB_SKIPPED), "skipped");
	ck_assert_str_eq(job_run_status(&r), "failed");
	/* A run skipped as locked: exit 11, recorded "skipped". */
	configure_all(&r);
	ck_assert_str_eq(job_run_status(&r), "ok");
	r.locked = 1;
	ck_assert_int_eq(job_exit_status(&r), EXIT_LOCKED);
	ck_assert_str_eq(job_run_status(&r), "skipped");
	/* A failure says more than the lock. */
	r.failed_step = JOB_STEP_CHECK;
	r.steps[JOB_STEP_CHECK].exit_status = EXIT_CORRUPT;
	ck_assert_int_eq(job_exit_status(&r), EXIT_CORRUPT);
	ck_assert_str_eq(job_run_status(&r), "failed");
}
END_TEST

/* lock_wait: the job's, else [global]'s, else 10 minutes. */
START_TEST(test_lock_wait)
{
	static const struct {
		const char *global, *job;
		unsigned want;
	} cases[] = {
		{ "", "", JOB_LOCK_WAIT_DEFAULT },
		{ "lock_wait = 2m\n", "", 120 },
		{ "lock_wait = 2m\n", "lock_wait = 5s\n", 5 },
		{ "", "lock_wait = 0s\n", 0 },
		{ "lock_wait = 0s\n", "", 0 },
		{ "lock_wait = 1h\n", "lock_wait = 3h\n", 10800 },
	};
	char *dir = tutil_mkdtemp(), text[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text),
		    "[global]\nstate_dir = %s\n%s[repository r]\npath = "
		    "%s/r\n[source s]\ntype = files\npaths = /etc\n"
		    "[job j]\nsources = s\nrepository = r\n%s",
		    dir, cases[i].global, dir, cases[i].job);
		cfg = trepo_config(dir, text);
		ck_assert_uint_eq(job_lock_wait(cfg,
		                      config_section_find(cfg, CONFIG_JOB,
		                          "j")),
		    cases[i].want);
		config_free(cfg);
	}
	ck_assert_uint_eq(job_lock_wait(NULL, NULL), JOB_LOCK_WAIT_DEFAULT);
	tutil_rmtree(dir);
	free(dir);
}
END_TEST

/* Only a lock that could not be had counts as "locked". */
START_TEST(test_err_locked)
{
	struct err e;

	err_clear(&e);
	err_set(&e, ERR_LOCKED, "repository x is locked: ...");
	/* A job's own lock, or a lock lost while held: not queueing. */
	ck_assert_int_eq(job_err_locked(&e), 0);
	err_mark(&e, ERR_F_LOCK);
	ck_assert_int_eq(job_err_locked(&e), 1);
	err_wrap(&e, "snapshot");
	ck_assert_int_eq(job_err_locked(&e), 1);
	/* A lock file that could not be written: not contention. */
	err_clear(&e);
	err_set(&e, ERR_IO, "locks/...: read-only");
	err_mark(&e, ERR_F_LOCK);
	ck_assert_int_eq(job_err_locked(&e), 0);
}
END_TEST

Suite *job_run_suite(void);

Suite *
job_run_suite(void)
{
	Suite *s = suite_create("job_run");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_gate_snapshot_ok);
	tcase_add_test(tc, test_gate_snapshot_failed);
	tcase_add_test(tc, test_gate_not_configured);
	tcase_add_test(tc, test_gate_snapshot_locked);
	tcase_add_test(tc, test_gate_prune);
	tcase_add_test(tc, test_lock_wait);
	tcase_add_test(tc, test_err_locked);
	tcase_add_test(tc, test_check_slice_rotates);
	tcase_add_test(tc, test_check_slice_values);
	tcase_add_test(tc, test_exit_status);
	tcase_add_test(tc, test_lock_names_a_late_holder);
	suite_add_tcase(s, tc);
	return (s);
}
