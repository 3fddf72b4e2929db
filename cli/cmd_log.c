/*
 * coffer log: the repository's operations log (repo/oplog.h), oldest
 * first, one line or one JSON object per record.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esc.h"
#include "fmt.h"
#include "repo/oplog.h"
#include "repo_opts.h"
#include "xmalloc.h"

struct log_args {
	const char *repo;
	uint64_t since;
	int last, no_lock;
};

#define A(x) offsetof(struct log_args, x)
static const struct opt log_opts[] = {
	CLI_OPT_REPO(struct log_args, repo),
	{ "since", 0, OPT_DURATION, A(since), "DURATION", 1, 36500 * 86400LL, 0,
	    NULL },
	{ "last", 0, OPT_INT, A(last), "N", 1, INT32_MAX, 0, NULL },
	{ "no-lock", 0, OPT_FLAG, A(no_lock), NULL, 0, 0, 0, NULL },
	OPT_END,
};

static const struct opt_spec log_spec = { log_opts, NULL };

/*
 * The command line as recorded is escaped already (esc.h); a record
 * planted by another key holder might not be: show it escaped unless
 * escaping would change nothing but its backslashes.
 */
static void
put_command(const char *s)
{
	size_t n = strlen(s), k = 0;
	char *t = esc_str(s, n), *u = xmalloc(2 * n + 1);

	for (size_t i = 0; i < n; i++) {
		u[k++] = s[i];
		if (s[i] == '\\')
			u[k++] = '\\';
	}
	u[k] = '\0';
	fputs(strcmp(t, u) == 0 ? s : t, stdout);
	free(t);
	free(u);
}

static void
put_esc(const char *s)
{
	esc_fwrite(stdout, s, strlen(s));
}

static void
print_line(const struct oplog_rec *r)
{
	char when[32];

	fmt_time((int64_t)r->time.tv_sec, when, sizeof(when));
	printf("%s  ", when);
	put_esc(r->user[0] ? r->user : "?");
	putchar('@');
	put_esc(r->host[0] ? r->host : "?");
	if (r->sudo_user != NULL) {
		fputs(" (sudo ", stdout);
		put_esc(r->sudo_user);
		putchar(')');
	}
	/* Operations coffer writes are short and plain: a column. */
	if (strspn(r->op, "abcdefghijklmnopqrstuvwxyz-") == strlen(r->op))
		printf("  %-13s", r->op);
	else {
		fputs("  ", stdout);
		put_esc(r->op);
	}
	fputs(r->ok ? "  ok    " : "  failed", stdout);
	if (!r->ok) {
		fputs(" (", stdout);
		put_esc(r->err_class);
		fputs(": ", stdout);
		put_esc(r->message);
		putchar(')');
	}
	for (size_t i = 0; i < r->nsnapshots; i++)
		printf(" %s %.8s", i == 0 ? " snapshot" : "", r->snapshots[i]);
	for (size_t i = 0; i < r->nkeys; i++)
		printf(" %s %.8s", i == 0 ? " key" : "", r->keys[i]);
	for (size_t i = 0; i < r->ncounts; i++) {
		printf(" %s", i == 0 ? " " : "");
		put_esc(r->counts[i].name);
		printf("=%llu", (unsigned long long)r->counts[i].value);
	}
	fputs("  ", stdout);
	put_command(r->command);
	putchar('\n');
}

static json_t *
rec_json(const struct oplog_rec *r)
{
	json_t *o = json_object(), *c = json_object();
	char when[64];

	json_object_set_new(o, "id", json_string(r->id));
	fmt_time_iso((int64_t)r->time.tv_sec, (uint32_t)r->time.tv_nsec, when,
	    sizeof(when));
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "host", json_string(r->host));
	json_object_set_new(o, "user", json_string(r->user));
	json_object_set_new(o, "sudo_user",
	    r->sudo_user ? json_string(r->sudo_user) : json_null());
	json_object_set_new(o, "pid", json_integer((json_int_t)r->pid));
	json_object_set_new(o, "coffer", json_string(r->version));
	json_object_set_new(o, "operation", json_string(r->op));
	json_object_set_new(o, "command", json_string(r->command));
	json_object_set_new(o, "outcome", json_string(r->ok ? "ok" : "failed"));
	json_object_set_new(o, "error",
	    r->ok ? json_null()
	          : json_pack("{s:s, s:s}", "class", r->err_class, "message",
	                r->message));
	json_object_set_new(o, "snapshots",
	    fmt_json_strv(r->snapshots, r->nsnapshots));
	json_object_set_new(o, "keys", fmt_json_strv(r->keys, r->nkeys));
	for (size_t i = 0; i < r->ncounts; i++)
		json_object_set_new(c, r->counts[i].name,
		    json_integer((json_int_t)r->counts[i].value));
	json_object_set_new(o, "counts", c);
	return (o);
}

int
cmd_log(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("log");
	struct oplog_list *l = NULL;
	struct log_args a;
	struct repo *r = NULL;
	size_t first = 0, end;
	time_t now = time(NULL);
	struct err e;
	int rc = EXIT_USAGE;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	if (opt_parse(ctx, cmd, &log_spec, argc, argv, &a, NULL) == -1 ||
	    opt_no_more(cmd, argc, argv, optind) == -1)
		goto out;
	if (a.no_lock)
		ctx->lock = CLI_LOCK_NONE;
	rc = EXIT_ERROR;
	if (cli_open_repo(ctx, a.repo, NULL, &r, &e) == -1 ||
	    oplog_list(r, &l, &e) == -1)
		goto out;
	end = l->n;
	if (a.since > 0)
		while (first < end &&
		    l->v[first].time.tv_sec < now - (time_t)a.since)
			first++;
	if (a.last > 0 && end - first > (size_t)a.last)
		first = end - (size_t)a.last;
	for (size_t i = 0; i < l->nbad; i++)
		log_warn(ctx->log,
		    "warning: %s cannot be read and is left out: %s; run "
		    "'coffer check'",
		    l->bad[i].name, l->bad[i].err.msg);
	if (ctx->json) {
		json_t *arr = json_array();

		for (size_t i = first; i < end; i++)
			json_array_append_new(arr, rec_json(&l->v[i]));
		fmt_json_print(arr);
		json_decref(arr);
	} else
		for (size_t i = first; i < end; i++)
			print_line(&l->v[i]);
	if (fmt_stdout_check(&e) == -1)
		goto out;
	if (l->nbad > 0) {
		/* Listed what could be read; damage must not pass silently. */
		err_set(&e, ERR_CORRUPT,
		    "%zu log record%s could not be read and %s left out; run "
		    "'coffer check'",
		    l->nbad, l->nbad == 1 ? "" : "s",
		    l->nbad == 1 ? "is" : "are");
		goto out;
	}
	rc = EXIT_OK;
out:
	if (rc == EXIT_ERROR)
		rc = cli_report(ctx, &e);
	oplog_list_free(l);
	repo_close(r);
	opt_free(&log_spec, &a);
	return (rc);
}
