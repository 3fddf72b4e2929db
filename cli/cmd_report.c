/*
 * coffer report: the KPI report of the jobs and drills (scheduler/report.c
 * computes it) as text for a terminal or an email, as JSON, or as one
 * self-contained HTML file with inline CSS and SVG charts (no script, no
 * network).  Every string from the config or the history is escaped for
 * where it goes: esc_str for a terminal, jansson (base64 when not UTF-8)
 * for JSON, esc_str then HTML entities for HTML.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "esc.h"
#include "fmt.h"
#include "repo_opts.h"
#include "scheduler/report.h"
#include "xmalloc.h"

struct report_args {
	uint64_t since;
	const char *html;
	const char *state_dir;
};

#define A(x) offsetof(struct report_args, x)
static const struct opt report_opts_table[] = {
	{ "since", 0, OPT_DURATION, A(since), "DURATION", 3600, 36500 * 86400LL,
	    0, NULL },
	{ "html", 0, OPT_STR, A(html), "FILE", 0, 0, OPT_NONEMPTY, NULL },
	{ "state-dir", 0, OPT_STR, A(state_dir), "DIR", 0, 0, OPT_NONEMPTY,
	    NULL },
	OPT_END,
};

static const struct opt_spec report_spec = { report_opts_table, NULL };

/* The series colours, one per series, so that a rendering can be checked
 * by counting them (tests/e2e/84-report.sh knows them). */
#define C_RPO       "#1f77b4"
#define C_RPO_LIMIT "#d62728"
#define C_RTO       "#9467bd"
#define C_RTO_LIMIT "#8c564b"
#define C_OK        "#2ca02c"
#define C_FAILED    "#ff7f0e"
static const char *const repo_colours[] = { "#17becf", "#bcbd22", "#e377c2",
	"#7f7f7f" };
#define NREPO_COLOURS (sizeof(repo_colours) / sizeof(repo_colours[0]))

static void
pct(const struct report_item *it, char *buf, size_t size)
{
	double r = report_rate(it);

	if (r < 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.1f%%", r);
}

static void
span_d(int has, double v, char *buf, size_t size)
{
	fmt_span(has ? (int64_t)(v + 0.5) : -1, buf, size);
}

static void
limit_str(uint64_t v, char *buf, size_t size)
{
	fmt_span(v ? (int64_t)v : -1, buf, size);
}

/* Why it needs attention, one phrase. */
static const char *
why(const struct report_item *it)
{
	if (it->failed_last && it->overdue)
		return ("its last run failed, and it is overdue");
	if (it->failed_last)
		return ("its last run failed");
	return ("overdue: no successful run within 1.5 x its interval");
}

/* ---------------------------------------------------------------- text */

static void
put_esc(FILE *f, const char *s)
{
	esc_fwrite(f, s, strlen(s));
}

/* s, escaped, wrapped at width columns, each line after indent spaces. */
static void
put_wrapped(FILE *f, const char *s, int indent, size_t width)
{
	char *t = esc_str(s, strlen(s));
	const char *p = t;

	while (*p != '\0') {
		size_t n = strlen(p), cut = n;

		if (n > width) {
			cut = width;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = width;
			/* Not inside a UTF-8 sequence. */
			while (
			    cut > 0 && ((unsigned char)p[cut] & 0xc0) == 0x80)
				cut--;
		}
		fprintf(f, "%*s%.*s\n", indent, "", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
	free(t);
}

static void
text_item_detail(FILE *f, const struct report *r, const struct report_item *it)
{
	char a[48], b[48], c[48];

	(void)r;
	fprintf(f, "\n%s ", it->kind);
	put_esc(f, it->name);
	fprintf(f, "%s\n", it->in_config ? "" : " (not in the config)");
	pct(it, a, sizeof(a));
	fprintf(f, "  runs %zu: %zu ok, %zu failed, %zu skipped; success %s\n",
	    it->runs, it->ok, it->failed, it->skipped, a);
	if (it->attention)
		fprintf(f, "  ATTENTION: %s\n", why(it));
	span_d(it->has_rpo_max, it->rpo_max, a, sizeof(a));
	limit_str(it->rpo_limit, b, sizeof(b));
	if (strcmp(it->kind, "job") == 0) {
		fmt_span(it->rpo_now, c, sizeof(c));
		fprintf(f, "  RPO now %s, max %s; limit %s%s", c, a, b,
		    it->rpo_limit ? " (1.5 x interval)" : "");
	} else
		fprintf(f, "  RPO max %s; limit %s%s", a, b,
		    it->rpo_limit ? " (max_rpo)" : "");
	if (it->rpo_limit)
		fprintf(f, ", runs over it: %zu", it->rpo_over);
	fputc('\n', f);
	if (strcmp(it->kind, "drill") == 0) {
		span_d(it->has_rto_max, it->rto_max, a, sizeof(a));
		limit_str(it->rto_limit, b, sizeof(b));
		fprintf(f, "  RTO max %s; limit %s%s", a, b,
		    it->rto_limit ? " (max_rto)" : "");
		if (it->rto_limit)
			fprintf(f, ", runs over it: %zu", it->rto_over);
		fputc('\n', f);
	}
	if (it->has_duration) {
		span_d(it->duration_first >= 0, it->duration_first, a,
		    sizeof(a));
		span_d(it->duration_second >= 0, it->duration_second, b,
		    sizeof(b));
		fprintf(f, "  duration (mean of ok runs) %s, then %s", a, b);
		if (it->duration_first > 0 && it->duration_second >= 0)
			fprintf(f, " (%+.1f%%)",
			    100.0 * (it->duration_second - it->duration_first) /
			        it->duration_first);
		fputc('\n', f);
	}
	if (it->nfail == 0)
		return;
	fprintf(f, "  failures (the last %zu of %zu):\n", it->nfail,
	    it->failed);
	for (size_t k = 0; k < it->nfail; k++) {
		const struct report_failure *fl = &it->fail[k];
		const char *msg;

		fmt_time_local(fl->started, a, sizeof(a));
		fprintf(f, "    %s  run %lld  ", a, (long long)fl->id);
		put_esc(f, fl->step[0] ? fl->step : "run");
		if (fl->class[0]) {
			fputs(": ", f);
			put_esc(f, fl->class);
		}
		fputc('\n', f);
		msg = fl->message;
		if (msg[0] != '\0')
			put_wrapped(f, msg, 6, 72);
	}
}

static void
report_text(FILE *f, const struct report *r)
{
	char a[48], b[48], c[48], d[48], e[48], g[48], line[512];

	fmt_time_local(r->start, a, sizeof(a));
	fmt_time_local(r->now, b, sizeof(b));
	fprintf(f, "coffer report: %s to %s (%zu days)\n", a, b, r->ndays);
	for (size_t i = 0; i < r->nitems; i++) {
		const struct report_item *it = &r->items[i];

		if (!it->attention)
			continue;
		fprintf(f, "ATTENTION: %s ", it->kind);
		put_esc(f, it->name);
		fprintf(f, ": %s\n", why(it));
	}
	fprintf(f, "\n%-22s %5s %5s %6s  %-8s %-8s %-8s %s\n", "", "runs",
	    "fail", "rate", "RPO max", "limit", "RTO max", "limit");
	for (size_t i = 0; i < r->nitems; i++) {
		const struct report_item *it = &r->items[i];
		char *name = esc_str(it->name, strlen(it->name));
		int drill = strcmp(it->kind, "drill") == 0;

		pct(it, c, sizeof(c));
		span_d(it->has_rpo_max, it->rpo_max, d, sizeof(d));
		limit_str(it->rpo_limit, e, sizeof(e));
		snprintf(a, sizeof(a), "%s %s", drill ? "drill" : "job", name);
		if (strlen(a) > 22)
			snprintf(a + 19, sizeof(a) - 19, "...");
		snprintf(line, sizeof(line), "%-22s %5zu %5zu %6s  %-8s %-8s",
		    a, it->runs, it->failed, c, d, e);
		if (drill) {
			span_d(it->has_rto_max, it->rto_max, b, sizeof(b));
			limit_str(it->rto_limit, g, sizeof(g));
			snprintf(line + strlen(line),
			    sizeof(line) - strlen(line), " %-8s %s", b, g);
		}
		/* No trailing blanks: mail clients show them. */
		for (size_t n = strlen(line); n > 0 && line[n - 1] == ' '; n--)
			line[n - 1] = '\0';
		fprintf(f, "%s\n", line);
		free(name);
	}
	for (size_t i = 0; i < r->nitems; i++)
		text_item_detail(f, r, &r->items[i]);
	if (r->nrepos > 0)
		fprintf(f, "\nrepositories (size in the window)\n");
	for (size_t i = 0; i < r->nrepos; i++) {
		const struct report_repo *rp = &r->repos[i];
		const struct report_series *s = &rp->size;
		double d0 = s->p[0].v, d1 = s->p[s->n - 1].v;

		fmt_size((uint64_t)d0, a, sizeof(a));
		fmt_size((uint64_t)d1, b, sizeof(b));
		fmt_size((uint64_t)(d1 >= d0 ? d1 - d0 : d0 - d1), c,
		    sizeof(c));
		fputs("  ", f);
		put_esc(f, rp->name);
		fprintf(f, "%s: %s to %s (%s%s)\n",
		    rp->offsite ? " (off-site)" : "", a, b,
		    d1 >= d0 ? "+" : "-", c);
	}
}

/* ---------------------------------------------------------------- JSON */

static void
jset_str(json_t *o, const char *key, const char *s)
{
	if (s == NULL || s[0] == '\0')
		json_object_set_new(o, key, json_null());
	else
		fmt_json_set_bytes(o, key, s, strlen(s));
}

static json_t *
j_num(int has, double v)
{
	return (has ? json_real(v) : json_null());
}

static json_t *
j_series(const struct report_series *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(a,
		    json_pack("[I f]", (json_int_t)s->p[i].t, s->p[i].v));
	return (a);
}

static json_t *
j_item(const struct report *r, const struct report_item *it)
{
	json_t *o = json_object(), *fa = json_array(), *days = json_array();
	double rate = report_rate(it);

	fmt_json_set_bytes(o, "name", it->name, strlen(it->name));
	json_object_set_new(o, "in_config", json_boolean(it->in_config));
	jset_str(o, "schedule", it->schedule);
	json_object_set_new(o, "interval",
	    it->interval ? json_integer((json_int_t)it->interval)
	                 : json_null());
	json_object_set_new(o, "runs", json_integer((json_int_t)it->runs));
	json_object_set_new(o, "ok", json_integer((json_int_t)it->ok));
	json_object_set_new(o, "failed", json_integer((json_int_t)it->failed));
	json_object_set_new(o, "skipped",
	    json_integer((json_int_t)it->skipped));
	json_object_set_new(o, "success_rate", j_num(rate >= 0, rate));
	json_object_set_new(o, "last_run",
	    it->last_started
	        ? json_pack("{s:I s:s}", "started",
	              (json_int_t)it->last_started, "status", it->last_status)
	        : json_null());
	json_object_set_new(o, "rpo_limit",
	    it->rpo_limit ? json_integer((json_int_t)it->rpo_limit)
	                  : json_null());
	json_object_set_new(o, "rpo_max", j_num(it->has_rpo_max, it->rpo_max));
	json_object_set_new(o, "rpo_over",
	    json_integer((json_int_t)it->rpo_over));
	json_object_set_new(o, "rpo_now",
	    it->rpo_now >= 0 ? json_integer(it->rpo_now) : json_null());
	json_object_set_new(o, "rto_limit",
	    it->rto_limit ? json_integer((json_int_t)it->rto_limit)
	                  : json_null());
	json_object_set_new(o, "rto_max", j_num(it->has_rto_max, it->rto_max));
	json_object_set_new(o, "rto_over",
	    json_integer((json_int_t)it->rto_over));
	json_object_set_new(o, "duration_first_half",
	    j_num(it->duration_first >= 0, it->duration_first));
	json_object_set_new(o, "duration_second_half",
	    j_num(it->duration_second >= 0, it->duration_second));
	json_object_set_new(o, "overdue", json_boolean(it->overdue));
	json_object_set_new(o, "failed_last", json_boolean(it->failed_last));
	json_object_set_new(o, "attention", json_boolean(it->attention));
	for (size_t k = 0; k < it->nfail; k++) {
		const struct report_failure *fl = &it->fail[k];
		json_t *f = json_object();

		json_object_set_new(f, "id", json_integer(fl->id));
		json_object_set_new(f, "started", json_integer(fl->started));
		jset_str(f, "step", fl->step);
		jset_str(f, "error_class", fl->class);
		jset_str(f, "message", fl->message);
		json_array_append_new(fa, f);
	}
	json_object_set_new(o, "failures", fa);
	json_object_set_new(o, "rpo", j_series(&it->rpo));
	json_object_set_new(o, "rto", j_series(&it->rto));
	json_object_set_new(o, "durations", j_series(&it->duration));
	for (size_t d = 0; d < r->ndays; d++)
		json_array_append_new(days,
		    json_pack("[I I]", (json_int_t)it->day_ok[d],
		        (json_int_t)it->day_failed[d]));
	json_object_set_new(o, "days", days);
	return (o);
}

static void
report_json(const struct report *r)
{
	json_t *top = json_object(), *jobs = json_array(),
	       *drills = json_array(), *repos = json_array();

	json_object_set_new(top, "now", json_integer(r->now));
	json_object_set_new(top, "start", json_integer(r->start));
	json_object_set_new(top, "days", json_integer((json_int_t)r->ndays));
	json_object_set_new(top, "attention", json_boolean(r->attention));
	for (size_t i = 0; i < r->nitems; i++)
		json_array_append_new(strcmp(r->items[i].kind, "drill") == 0
		        ? drills
		        : jobs,
		    j_item(r, &r->items[i]));
	for (size_t i = 0; i < r->nrepos; i++) {
		const struct report_repo *rp = &r->repos[i];
		json_t *o = json_object();

		fmt_json_set_bytes(o, "repository", rp->name, strlen(rp->name));
		json_object_set_new(o, "offsite", json_boolean(rp->offsite));
		json_object_set_new(o, "first",
		    json_integer((json_int_t)rp->size.p[0].v));
		json_object_set_new(o, "last",
		    json_integer((json_int_t)rp->size.p[rp->size.n - 1].v));
		json_object_set_new(o, "sizes", j_series(&rp->size));
		json_array_append_new(repos, o);
	}
	json_object_set_new(top, "jobs", jobs);
	json_object_set_new(top, "drills", drills);
	json_object_set_new(top, "repositories", repos);
	json_dumpf(top, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(top);
}

/* ---------------------------------------------------------------- HTML */

/* s for HTML text or an attribute: made printable UTF-8 (esc_str), then
 * & < > " ' as entities. */
static void
h(FILE *f, const char *s)
{
	char *t = esc_str(s, strlen(s));

	for (const char *p = t; *p != '\0'; p++)
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*p, f);
		}
	free(t);
}

static const char css[] =
    "body{font:15px/1.4 'DejaVu Sans',sans-serif;color:#222;margin:0 auto;"
    "padding:12px;max-width:960px}"
    "h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 "
    ".3em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;width:100%}td,th{padding:2px 6px;"
    "text-align:right;border-bottom:1px solid #eee}"
    "td:first-child,th:first-child{text-align:left}"
    ".wide{overflow-x:auto}"
    ".att{background:#fdecea;border:1px solid #d62728;padding:6px 10px;"
    "margin:8px 0}"
    ".charts{display:flex;flex-wrap:wrap;gap:8px}"
    ".chart{flex:0 1 460px;min-width:0}"
    "svg{width:100%;height:auto;display:block}"
    "svg text{font:14px 'DejaVu Sans',sans-serif;fill:#444}"
    ".muted{color:#666}ul.fail{padding-left:1.2em}"
    ".fail code{white-space:pre-wrap;word-break:break-word}"
    "@media print{body{max-width:none;font-size:11pt}"
    "section{break-inside:avoid}.chart{flex-basis:45%}}";

#define CW 600.0 /* chart viewBox width */
#define CH 170.0 /* and height */
#define PL 52.0  /* plot area: left margin */
#define PR 8.0
#define PT 22.0
#define PB 22.0

enum yfmt { Y_SPAN, Y_SIZE, Y_COUNT };

static void
y_label(enum yfmt y, double v, char *buf, size_t size)
{
	if (y == Y_SPAN)
		fmt_span((int64_t)(v + 0.5), buf, size);
	else if (y == Y_SIZE)
		fmt_size((uint64_t)v, buf, size);
	else
		snprintf(buf, size, "%.0f", v);
}

static double
xpos(const struct report *r, int64_t t)
{
	double span = (double)(r->now - r->start);

	return (PL +
	    (CW - PL - PR) * (double)(t - r->start) / (span > 0 ? span : 1));
}

static double
ypos(double v, double ymax)
{
	return (CH - PB - (CH - PB - PT) * (ymax > 0 ? v / ymax : 0));
}

/* The frame of a chart: title, the y axis from 0 to ymax, the window's
 * dates. */
static void
chart_open(FILE *f, const struct report *r, const char *title, double ymax,
    enum yfmt y)
{
	char a[48], b[48];

	fprintf(f,
	    "<div class=\"chart\"><svg viewBox=\"0 0 %.0f %.0f\" "
	    "role=\"img\" aria-label=\"",
	    CW, CH);
	h(f, title);
	fprintf(f,
	    "\"><rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
	    "fill=\"#fff\"/>",
	    CW, CH);
	fprintf(f, "<text x=\"%.0f\" y=\"14\">", PL);
	h(f, title);
	fputs("</text>", f);
	y_label(y, ymax, a, sizeof(a));
	fprintf(f,
	    "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
	    "stroke=\"#999\"/>"
	    "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
	    "stroke=\"#999\"/>"
	    "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
	    "stroke=\"#eee\"/>",
	    PL, PT, PL, CH - PB, PL, CH - PB, CW - PR, CH - PB, PL, PT, CW - PR,
	    PT);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", PL - 4,
	    PT + 4);
	h(f, a);
	fprintf(f,
	    "</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>",
	    PL - 4, CH - PB + 4);
	fmt_time_local(r->start, a, sizeof(a));
	fmt_time_local(r->now, b, sizeof(b));
	a[10] = b[10] = '\0'; /* the dates */
	fprintf(f,
	    "<text x=\"%.0f\" y=\"%.0f\">%s</text>"
	    "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>",
	    PL, CH - 6, a, CW - PR, CH - 6, b);
}

static void
chart_close(FILE *f, const char *legend_html)
{
	fprintf(f, "</svg><div class=\"muted\">%s</div></div>\n", legend_html);
}

static void
polyline(FILE *f, const struct report *r, const struct report_series *s,
    double ymax, const char *colour)
{
	if (s->n == 1) {
		fprintf(f,
		    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>",
		    xpos(r, s->p[0].t), ypos(s->p[0].v, ymax), colour);
		return;
	}
	fprintf(f,
	    "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"3\" "
	    "stroke-linejoin=\"round\" points=\"",
	    colour);
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, "%s%.1f,%.1f", i ? " " : "", xpos(r, s->p[i].t),
		    ypos(s->p[i].v, ymax));
	fputs("\"/>", f);
}

static void
limit_line(FILE *f, double limit, double ymax, const char *colour)
{
	double y = ypos(limit, ymax);

	fprintf(f,
	    "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" "
	    "stroke=\"%s\" stroke-width=\"3\" stroke-dasharray=\"8 4\" "
	    "shape-rendering=\"crispEdges\"/>",
	    PL, y, CW - PR, y, colour);
}

static double
series_top(const struct report_series *s, double also)
{
	double m = also;

	for (size_t i = 0; i < s->n; i++)
		if (s->p[i].v > m)
			m = s->p[i].v;
	return (m > 0 ? m * 1.1 : 1);
}

/* A series against its limit (RPO, RTO). */
static void
chart_limit(FILE *f, const struct report *r, const char *title,
    const struct report_series *s, uint64_t limit, const char *colour,
    const char *lcolour)
{
	double ymax = series_top(s, (double)limit);
	char legend[256];

	chart_open(f, r, title, ymax, Y_SPAN);
	if (limit > 0)
		limit_line(f, (double)limit, ymax, lcolour);
	polyline(f, r, s, ymax, colour);
	/* Only the swatches in the series' colours: the rest of the page
	 * has none of them. */
	snprintf(legend, sizeof(legend),
	    "<span style=\"color:%s\">&#9644;</span> measured%s%s%s", colour,
	    limit ? " &nbsp;<span style=\"color:" : "", limit ? lcolour : "",
	    limit ? "\">&#9644;</span> limit (dashed)"
	          : " &nbsp;(no limit set)");
	chart_close(f, legend);
}

/* Runs per day: ok below, failed stacked on top. */
static void
chart_days(FILE *f, const struct report *r, const struct report_item *it)
{
	double ymax = 0, bw = (CW - PL - PR) / (double)r->ndays;

	for (size_t d = 0; d < r->ndays; d++)
		if ((double)(it->day_ok[d] + it->day_failed[d]) > ymax)
			ymax = (double)(it->day_ok[d] + it->day_failed[d]);
	if (ymax < 1)
		ymax = 1;
	chart_open(f, r, "runs per day: ok and failed", ymax, Y_COUNT);
	for (size_t d = 0; d < r->ndays; d++) {
		double x = PL + bw * (double)d, y0 = ypos(0, ymax),
		       y1 = ypos((double)it->day_ok[d], ymax),
		       y2 = ypos((double)(it->day_ok[d] + it->day_failed[d]),
		           ymax);

		if (it->day_ok[d] > 0)
			fprintf(f,
			    "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
			    "height=\"%.2f\" fill=\"" C_OK "\"/>",
			    x, y1, bw * 0.8, y0 - y1);
		if (it->day_failed[d] > 0)
			fprintf(f,
			    "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
			    "height=\"%.2f\" fill=\"" C_FAILED "\"/>",
			    x, y2, bw * 0.8, y1 - y2);
	}
	chart_close(f,
	    "<span style=\"color:" C_OK "\">&#9644;</span> ok &nbsp;"
	    "<span style=\"color:" C_FAILED "\">&#9644;</span> failed");
}

static void
chart_repos(FILE *f, const struct report *r)
{
	double ymax = 0;

	for (size_t i = 0; i < r->nrepos; i++)
		ymax = series_top(&r->repos[i].size, ymax);
	chart_open(f, r, "repository size", ymax, Y_SIZE);
	for (size_t i = 0; i < r->nrepos; i++)
		polyline(f, r, &r->repos[i].size, ymax,
		    repo_colours[i % NREPO_COLOURS]);
	fputs("</svg><div class=\"muted\">", f);
	for (size_t i = 0; i < r->nrepos; i++) {
		fprintf(f, "<span style=\"color:%s\">&#9644;</span> ",
		    repo_colours[i % NREPO_COLOURS]);
		h(f, r->repos[i].name);
		fprintf(f, "%s &nbsp;",
		    r->repos[i].offsite ? " (off-site)" : "");
	}
	fputs("</div></div>\n", f);
}

static void
html_item(FILE *f, const struct report *r, const struct report_item *it)
{
	char a[48], b[48];
	int drill = strcmp(it->kind, "drill") == 0;

	fprintf(f, "<section><h2>%s ", it->kind);
	h(f, it->name);
	fprintf(f, "%s</h2>\n",
	    it->in_config ? "" : " <small>(not in the config)</small>");
	if (it->attention) {
		fputs("<p class=\"att\">Needs attention: ", f);
		h(f, why(it));
		fputs("</p>\n", f);
	}
	pct(it, a, sizeof(a));
	fprintf(f, "<p>%zu runs: %zu ok, %zu failed, %zu skipped; success %s.",
	    it->runs, it->ok, it->failed, it->skipped, a);
	if (it->has_duration) {
		span_d(it->duration_first >= 0, it->duration_first, a,
		    sizeof(a));
		span_d(it->duration_second >= 0, it->duration_second, b,
		    sizeof(b));
		fprintf(f, " Duration (mean of ok runs): %s, then %s.", a, b);
	}
	fputs("</p>\n<div class=\"charts\">", f);
	chart_limit(f, r,
	    drill ? "RPO per drill (max_rpo)"
	          : "RPO: age of the newest snapshot (limit 1.5 x interval)",
	    &it->rpo, it->rpo_limit, C_RPO, C_RPO_LIMIT);
	if (drill)
		chart_limit(f, r, "RTO per drill (max_rto)", &it->rto,
		    it->rto_limit, C_RTO, C_RTO_LIMIT);
	chart_days(f, r, it);
	fputs("</div>\n", f);
	if (it->nfail > 0) {
		fprintf(f,
		    "<p>Failures (the last %zu of %zu):</p><ul class=\"fail\">",
		    it->nfail, it->failed);
		for (size_t k = 0; k < it->nfail; k++) {
			const struct report_failure *fl = &it->fail[k];

			fmt_time_local(fl->started, a, sizeof(a));
			fprintf(f, "<li>%s, run %lld: <b>", a,
			    (long long)fl->id);
			h(f, fl->step[0] ? fl->step : "run");
			fputs("</b> ", f);
			h(f, fl->class);
			fputs("<br><code>", f);
			h(f, fl->message);
			fputs("</code></li>\n", f);
		}
		fputs("</ul>\n", f);
	}
	fputs("</section>\n", f);
}

static void
report_html(FILE *f, const struct report *r)
{
	char a[48], b[48], c[48], d[48];

	fmt_time_local(r->start, a, sizeof(a));
	fmt_time_local(r->now, b, sizeof(b));
	fprintf(f,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\"><title>coffer report %s</title>"
	    "<style>%s</style></head><body>\n"
	    "<h1>coffer report</h1><p class=\"muted\">%s to %s (%zu "
	    "days)</p>\n",
	    b, css, a, b, r->ndays);
	for (size_t i = 0; i < r->nitems; i++) {
		if (!r->items[i].attention)
			continue;
		fprintf(f, "<p class=\"att\">Needs attention: %s ",
		    r->items[i].kind);
		h(f, r->items[i].name);
		fputs(": ", f);
		h(f, why(&r->items[i]));
		fputs("</p>\n", f);
	}
	fputs("<div class=\"wide\"><table><tr><th></th><th>runs</th>"
	      "<th>failed</th><th>success</th><th>RPO max</th><th>limit</th>"
	      "<th>RTO max</th><th>limit</th></tr>\n",
	    f);
	for (size_t i = 0; i < r->nitems; i++) {
		const struct report_item *it = &r->items[i];

		pct(it, a, sizeof(a));
		span_d(it->has_rpo_max, it->rpo_max, b, sizeof(b));
		limit_str(it->rpo_limit, c, sizeof(c));
		fprintf(f, "<tr><td>%s ", it->kind);
		h(f, it->name);
		fprintf(f,
		    "</td><td>%zu</td><td>%zu</td><td>%s</td>"
		    "<td>%s</td><td>%s</td>",
		    it->runs, it->failed, a, b, c);
		span_d(it->has_rto_max, it->rto_max, b, sizeof(b));
		limit_str(it->rto_limit, d, sizeof(d));
		fprintf(f, "<td>%s</td><td>%s</td></tr>\n", b, d);
	}
	fputs("</table></div>\n", f);
	if (r->nrepos > 0) {
		fputs("<section><h2>Repositories</h2><div class=\"charts\">",
		    f);
		chart_repos(f, r);
		fputs("</div></section>\n", f);
	}
	for (size_t i = 0; i < r->nitems; i++)
		html_item(f, r, &r->items[i]);
	fputs("</body></html>\n", f);
}

/* Write the HTML to path: a temp file beside it, then rename. */
static int
write_html(const char *path, const struct report *r, struct err *e)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = NULL;
	int rc = -1;

	if ((f = fopen(tmp, "w")) == NULL) {
		err_sys(e, ERR_IO, "%s", tmp);
		goto out;
	}
	report_html(f, r);
	if (fflush(f) == EOF || ferror(f)) {
		err_sys(e, ERR_IO, "%s", tmp);
		goto out;
	}
	if (fclose(f) == EOF) {
		f = NULL;
		err_sys(e, ERR_IO, "%s", tmp);
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) == -1) {
		err_sys(e, ERR_IO, "%s", path);
		goto out;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	if (rc == -1)
		(void)unlink(tmp);
	free(tmp);
	return (rc);
}

int
cmd_report(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("report");
	struct report_args a;
	struct report_opts ro;
	struct report *r = NULL;
	struct config *cfg = NULL;
	struct err e;
	int rc = -1;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	if (opt_parse(ctx, cmd, &report_spec, argc, argv, &a, NULL) == -1) {
		opt_free(&report_spec, &a);
		return (EXIT_USAGE);
	}
	if (opt_no_more(cmd, argc, argv, optind) == -1) {
		opt_free(&report_spec, &a);
		return (EXIT_USAGE);
	}
	if (a.html != NULL && ctx->json) {
		opt_free(&report_spec, &a);
		return (cli_usage_error(cmd,
		    "give --html FILE or --json, "
		    "not both"));
	}
	if (cli_load_config(ctx, &cfg, &e) == -1)
		goto out;
	if (cfg == NULL) {
		err_set(&e, ERR_USAGE,
		    "no config file (%s, or -c FILE) with [job] or [drill] "
		    "sections",
		    CLI_DEFAULT_CONFIG);
		goto out;
	}
	memset(&ro, 0, sizeof(ro));
	ro.since = a.since;
	ro.state_dir = a.state_dir;
	ro.log = ctx->log;
	if (report_build(cfg, &ro, &r, &e) == -1)
		goto out;
	if (a.html != NULL) {
		if (write_html(a.html, r, &e) == -1)
			goto out;
	} else if (ctx->json)
		report_json(r);
	else if (!ctx->quiet)
		report_text(stdout, r);
	if (fmt_stdout_check(&e) == -1)
		goto out;
	rc = r->attention ? EXIT_ATTENTION : EXIT_OK;
out:
	report_free(r);
	config_free(cfg);
	opt_free(&report_spec, &a);
	return (rc == -1 ? cli_report(ctx, &e) : rc);
}
