/*
 * The KPI report (coffer report): what the state database's history says
 * of each job and drill over a window (runs, success rate, failures and
 * their reasons, RPO and RTO against their limits, durations), and of each
 * repository's size over time.  This file computes; cli/cmd_report.c
 * prints it as text, JSON or one HTML file.
 *
 * The figures, for a window of since seconds ending at now:
 *   runs        the runs that started in the window and ended "ok" or
 *               "failed" (skipped and still-running runs are counted
 *               apart: skipped, and not at all)
 *   rate        ok / runs (no value without runs)
 *   failures    the last REPORT_FAILURES_MAX failed runs, oldest first:
 *               the first failed step (a drill's stage) with its error
 *               class and message, or the run's own (a crash)
 *   RPO         jobs: at the start of each run in the window and at now,
 *               the age of the newest snapshot stored by then (the start
 *               of the latest run whose snapshot step was ok, found over
 *               the whole history); drills: the RPO each run recorded
 *   RPO limit   jobs: 1.5 x the schedule's interval (the overdue rule of
 *               coffer scheduler status); drills: max_rpo
 *   RTO         drills: the RTO each run recorded; limit max_rto
 *   durations   end - start of each ok run; the mean over the first and
 *               the second half of the window, for the trend
 *   per day     ok and failed runs in each day of the window, day 0
 *               starting at now - since
 *   repositories  each [repository] (and each name the history names)
 *               whose size fact_history holds in the window (state.h:
 *               measured after each job step that changed it when the
 *               config sets metrics_file), oldest first; "offsite" when
 *               some job replicates to it
 * The limits come from the config: config_job_find's [job] and the
 * [drill] section.  Jobs and drills are the config's, in file order, then
 * those only the history names (without limits), by name.
 */
#ifndef COFFER_SCHED_REPORT_H
#define COFFER_SCHED_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct config;
struct log;

#define REPORT_FAILURES_MAX  10
#define REPORT_SINCE_DEFAULT (90 * 86400)

/* One point of a series: a time (Unix seconds) and a value. */
struct report_point {
	int64_t t;
	double v;
};

struct report_series {
	struct report_point *p;
	size_t n;
};

struct report_failure {
	int64_t id, started;
	char step[32];  /* the failed step or stage; "" for the run's own */
	char class[32]; /* its error class; "" when none */
	char message[512];
};

struct report_item {
	const char *kind; /* "job", "drill" (static strings) */
	char *name;
	int in_config;      /* a section of the config names it */
	char *schedule;     /* NULL: none */
	uint64_t interval;  /* schedule_interval_hint; 0: no schedule */
	uint64_t rpo_limit; /* seconds; 0: none */
	uint64_t rto_limit; /* seconds (drills: max_rto); 0: none */
	size_t runs, ok, failed, skipped;
	size_t nfail; /* kept in fail[], at most REPORT_FAILURES_MAX */
	struct report_failure fail[REPORT_FAILURES_MAX];
	int64_t last_started;          /* the newest run counted; 0: none */
	char last_status[16];          /* its status; "" when none */
	struct report_series rpo;      /* seconds */
	struct report_series rto;      /* seconds (drills) */
	struct report_series duration; /* seconds, ok runs */
	int has_rpo_max, has_rto_max;
	double rpo_max, rto_max;   /* the largest points */
	size_t rpo_over, rto_over; /* points over the limit */
	int64_t rpo_now;           /* jobs: now - newest snapshot; -1: none */
	int has_duration;
	double duration_first, duration_second; /* means; < 0: no ok run in
	                                           that half */
	size_t *day_ok, *day_failed;            /* report.ndays each */
	/* The scheduler's view at now (coffer scheduler status): */
	int overdue;     /* scheduled and no ok run within 1.5 x interval */
	int failed_last; /* the last run failed */
	int attention;   /* overdue or failed_last */
};

struct report_repo {
	char *name;
	int offsite;               /* a job's replicate target */
	struct report_series size; /* bytes */
};

struct report {
	int64_t now, start; /* the window: [start, now] */
	size_t ndays;       /* ceil((now - start) / 86400) */
	struct report_item *items;
	size_t nitems;
	struct report_repo *repos;
	size_t nrepos;
	int attention; /* some item needs attention */
};

struct report_opts {
	int64_t now;           /* 0: the clock */
	uint64_t since;        /* seconds; 0: REPORT_SINCE_DEFAULT */
	const char *state_dir; /* NULL: state_dir_default(cfg) */
	struct log *log;       /* for the stale-run marking status does */
};

/*
 * The report of cfg's jobs and drills from the state database into *out
 * (free with report_free).  ERR_CONFIG when no state directory can be
 * told; the state database's errors (state_open).
 */
int report_build(const struct config *cfg, const struct report_opts *o,
    struct report **out, struct err *e);

void report_free(struct report *); /* NULL is fine */

/* The success rate of it in percent; -1 without runs. */
double report_rate(const struct report_item *it);

#endif
