/*
 * history-gen [-f] [-x] STATE_DIR DAYS [NOW]: write DAYS days of job and
 * drill runs with known outcomes into the state database in STATE_DIR
 * (through scheduler/state.h, as the scheduler records them), for coffer
 * report's tests.  NOW (Unix seconds; default the clock) ends the history.
 * Day i (0 .. DAYS-1) starts at NOW - (DAYS - i) days; on it:
 *   job "nightly" runs at +1h, steps snapshot, forget, replicate; it took
 *     600 + i seconds; it fails when i % 30 == 15 at snapshot (class io,
 *     "pg_dump exited with status 1: FATAL: database \"gas\" does not
 *     exist", no snapshot stored), else when i % 10 == 7 at replicate
 *     (class net, "sftp://backup@dr.example.net: connection refused");
 *     when i % 45 == 20 a skipped run is recorded too ("still running");
 *     with -f its last run fails at replicate as well;
 *   drill "weekly" runs at +5h when i % 7 == 3: RTO 100 + 10 i s, RPO
 *     3600 (2 + i % 5) s, 60 + i s long; it fails when i == 52 at
 *     sql_check (class check, "SELECT count(*) > 1000 FROM customers:
 *     false") and when i == 73 at rto (RTO 2000 s, class check, "RTO
 *     2000.0 s exceeds max_rto 30m");
 *   repository "local" measures 1 GiB + i x 10 MiB at +1h, "offsite"
 *     1 GiB + i x 8 MiB at +1h;
 * with -x, one failed run of a job named "<script>alert(1)</script>" on
 * the last day at +2h, failing at snapshot with the message
 * "<img src=x onerror=alert(2)> & \"q\" 'a'".
 * It prints one line per job and drill: NAME runs=N ok=N failed=N
 * skipped=N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "scheduler/state.h"

#define DAY 86400

struct tally {
	unsigned runs, ok, failed, skipped;
};

static int
job_day(struct state *st, int64_t day0, int i, int last_fails, struct tally *t,
    struct err *e)
{
	struct state_step steps[3];
	struct state_run run;
	int64_t id;
	int snap_fail = i % 30 == 15;
	int repl_fail = !snap_fail && (i % 10 == 7 || last_fails);

	memset(&run, 0, sizeof(run));
	memset(steps, 0, sizeof(steps));
	run.job = "nightly";
	run.kind = "job";
	run.started = day0 + 3600;
	run.ended = run.started + 600 + i;
	run.trigger = "schedule";
	run.slot = run.started;
	run.status = snap_fail || repl_fail ? "failed" : "ok";
	steps[0].step = "snapshot";
	steps[0].status = snap_fail ? "failed" : "ok";
	steps[0].duration = 500;
	steps[0].bytes = snap_fail ? 0 : 10485760;
	if (snap_fail) {
		steps[0].error_class = "io";
		steps[0].message = "pg_dump exited with status 1: FATAL: "
		                   "database \"gas\" does not exist";
	}
	steps[1].step = "forget";
	steps[1].status = snap_fail ? "skipped" : "ok";
	steps[1].duration = 10;
	steps[2].step = "replicate";
	steps[2].status = snap_fail ? "skipped" : repl_fail ? "failed" : "ok";
	steps[2].duration = 90;
	if (repl_fail) {
		steps[2].error_class = "net";
		steps[2].message =
		    "sftp://backup@dr.example.net: connection refused";
	}
	if (state_run_record(st, &run, steps, 3, &id, e) == -1)
		return (-1);
	t->runs++;
	if (snap_fail || repl_fail)
		t->failed++;
	else
		t->ok++;
	if (i % 45 == 20) {
		memset(&run, 0, sizeof(run));
		run.job = "nightly";
		run.kind = "job";
		run.started = run.ended = day0 + 3660;
		run.status = "skipped";
		run.trigger = "schedule";
		run.slot = day0 + 3600;
		run.message = "still running (pid 1 since yesterday)";
		if (state_run_add(st, &run, &id, e) == -1)
			return (-1);
		t->skipped++;
	}
	return (0);
}

static int
drill_day(struct state *st, int64_t day0, int i, struct tally *t, struct err *e)
{
	static const char *const stages[] = { "restore", "verify", "sql_check",
		"check", "rto", "rpo" };
	struct state_step steps[6];
	struct state_run run;
	int64_t id;
	int fail = i == 52 ? 2 : i == 73 ? 4 : -1;

	if (i % 7 != 3)
		return (0);
	memset(&run, 0, sizeof(run));
	memset(steps, 0, sizeof(steps));
	run.job = "weekly";
	run.kind = "drill";
	run.started = day0 + 5 * 3600;
	run.ended = run.started + 60 + i;
	run.trigger = "schedule";
	run.slot = run.started;
	run.status = fail >= 0 ? "failed" : "ok";
	run.has_rto = run.has_rpo = 1;
	run.rto = i == 73 ? 2000 : 100 + 10 * i;
	run.rpo = 3600 * (2 + i % 5);
	run.snapshot = "0123456789abcdef0123456789abcdef"
	               "0123456789abcdef0123456789abcdef";
	run.consistent = run.started - run.rpo;
	for (int s = 0; s < 6; s++) {
		steps[s].step = stages[s];
		steps[s].status = s == fail ? "failed" : "ok";
		steps[s].duration = 1;
	}
	if (fail == 2) {
		steps[2].error_class = "check";
		steps[2].message =
		    "SELECT count(*) > 1000 FROM customers: false";
	} else if (fail == 4) {
		steps[4].error_class = "check";
		steps[4].message = "RTO 2000.0 s exceeds max_rto 30m";
	}
	if (state_run_record(st, &run, steps, 6, &id, e) == -1)
		return (-1);
	t->runs++;
	if (fail >= 0)
		t->failed++;
	else
		t->ok++;
	return (0);
}

static int
evil(struct state *st, int64_t day0, struct err *e)
{
	struct state_step step;
	struct state_run run;
	int64_t id;

	memset(&run, 0, sizeof(run));
	memset(&step, 0, sizeof(step));
	run.job = "<script>alert(1)</script>";
	run.kind = "job";
	run.started = day0 + 7200;
	run.ended = run.started + 5;
	run.status = "failed";
	run.trigger = "manual";
	step.step = "snapshot";
	step.status = "failed";
	step.error_class = "io";
	step.message = "<img src=x onerror=alert(2)> & \"q\" 'a'";
	return (state_run_record(st, &run, &step, 1, &id, e));
}

int
main(int argc, char **argv)
{
	struct state *st = NULL;
	struct tally job, drill;
	struct err e;
	int64_t now;
	long days;
	int c, last_fails = 0, inject = 0, rc = 1;

	while ((c = getopt(argc, argv, "fx")) != -1)
		switch (c) {
		case 'f':
			last_fails = 1;
			break;
		case 'x':
			inject = 1;
			break;
		default:
			goto usage;
		}
	if (argc - optind < 2 || argc - optind > 3)
		goto usage;
	days = strtol(argv[optind + 1], NULL, 10);
	now = argc - optind == 3 ? strtoll(argv[optind + 2], NULL, 10)
	                         : (int64_t)time(NULL);
	if (days < 1 || days > 3650 || now <= 0)
		goto usage;
	err_clear(&e);
	memset(&job, 0, sizeof(job));
	memset(&drill, 0, sizeof(drill));
	if (state_open(argv[optind], &st, &e) == -1)
		goto fail;
	for (int i = 0; i < days; i++) {
		int64_t day0 = now - (days - i) * (int64_t)DAY;

		if (job_day(st, day0, i, last_fails && i == days - 1, &job,
		        &e) == -1 ||
		    drill_day(st, day0, i, &drill, &e) == -1 ||
		    state_fact_set(st, "repository", "local", "size",
		        (int64_t)1073741824 + i * (int64_t)10485760,
		        day0 + 3600, &e) == -1 ||
		    state_fact_set(st, "repository", "offsite", "size",
		        (int64_t)1073741824 + i * (int64_t)8388608, day0 + 3600,
		        &e) == -1)
			goto fail;
		if (inject && i == days - 1 && evil(st, day0, &e) == -1)
			goto fail;
	}
	printf("nightly runs=%u ok=%u failed=%u skipped=%u\n", job.runs, job.ok,
	    job.failed, job.skipped);
	printf("weekly runs=%u ok=%u failed=%u skipped=%u\n", drill.runs,
	    drill.ok, drill.failed, drill.skipped);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "history-gen: %s\n", e.msg);
out:
	state_close(st);
	return (rc);
usage:
	fprintf(stderr, "usage: history-gen [-f] [-x] STATE_DIR DAYS [NOW]\n");
	return (2);
}
