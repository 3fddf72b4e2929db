/*
 * The operations log on a real local repository: records written and read
 * back, refused when tampered with (and reported by check), listed oldest
 * first, and nothing written without an actor.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "repo/check.h"
#include "repo/oplog.h"
#include "repo/repo.h"

static char dir[64];
static char loc[96];
static const char machine[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char snap_id[] =
    "a9a00cbe5b8a10a5a4cbe24e7932d70042448944df356a85ea0cc4e95bb2a6a6";
static struct oplog_actor *actor;
static int nwarn;

static void
on_warn(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
	nwarn++;
}

static void
setup(void)
{
	char *argv[] = { "/usr/bin/coffer", "init", "-r", "/srv/x y", NULL };
	struct repo_init_opts o;
	struct err e;

	strcpy(dir, "/tmp/coffer-oplog.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(loc, sizeof(loc), "%s/repo", dir);
	actor = oplog_actor_new(4, argv, on_warn, NULL);
	nwarn = 0;
	memset(&o, 0, sizeof(o));
	o.pack_size = 1 << 20;
	o.meta.host = "testhost";
	o.meta.user = "tester";
	o.actor = actor;
	ck_assert_msg(repo_init(loc, &o, machine, strlen(machine),
	                  KEY_KIND_MACHINE, NULL, &e) == 0,
	    "%s", e.msg);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	oplog_actor_free(actor);
}

static struct repo *
open_ok(void)
{
	struct repo *r;
	struct err e;

	ck_assert_msg(repo_open(loc, machine, strlen(machine), &r, &e) == 0,
	    "%s", e.msg);
	repo_set_actor(r, actor);
	return (r);
}

static void
append_at(struct repo *r, const char *op, time_t sec, long nsec,
    const struct err *failure, char id[REPO_HEX_LEN + 1])
{
	const char *snaps[] = { snap_id };
	struct oplog_count c[] = { { "files", 3 }, { "bytes", 1234567 } };
	struct oplog_entry ent;
	struct timespec ts = { sec, nsec };
	struct err e;

	memset(&ent, 0, sizeof(ent));
	ent.op = op;
	ent.failure = failure;
	ent.snapshots = snaps;
	ent.nsnapshots = 1;
	ent.counts = c;
	ent.ncounts = 2;
	ck_assert_msg(oplog_append(r, actor, &ent, &ts, id, &e) == 0, "%s",
	    e.msg);
}

static char *
record_path(const char *id)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/log/%s", loc, id);
	return (p);
}

/* init left its record; a record written comes back field for field. */
START_TEST(test_round_trip)
{
	struct repo *r = open_ok();
	struct oplog_list *l;
	struct oplog_rec *x;
	struct err fail, e;
	char id[REPO_HEX_LEN + 1];

	err_clear(&fail);
	err_set(&fail, ERR_USAGE, "no snapshot deadbeef");
	append_at(r, OPLOG_FORGET, 4000000000, 5, &fail, id);
	ck_assert_int_eq(oplog_list(r, &l, &e), 0);
	ck_assert_uint_eq(l->n, 2);
	ck_assert_uint_eq(l->nbad, 0);
	/* init, now; then the forget dated in 2096 */
	ck_assert_str_eq(l->v[0].op, OPLOG_INIT);
	ck_assert_int_eq(l->v[0].ok, 1);
	ck_assert_uint_eq(l->v[0].nkeys, 1);
	ck_assert_str_eq(l->v[0].keys[0], repo_key_id(r));
	ck_assert_str_eq(l->v[0].command, "coffer init -r '/srv/x y'");
	x = &l->v[1];
	ck_assert_str_eq(x->id, id);
	ck_assert_str_eq(x->op, OPLOG_FORGET);
	ck_assert_int_eq(x->time.tv_sec, 4000000000);
	ck_assert_int_eq(x->time.tv_nsec, 5);
	ck_assert_int_eq(x->ok, 0);
	ck_assert_str_eq(x->err_class, "usage");
	ck_assert_str_eq(x->message, "no snapshot deadbeef");
	ck_assert_str_eq(x->host, actor->host);
	ck_assert_str_eq(x->user, actor->user);
	ck_assert_int_eq(x->pid, getpid());
	ck_assert_str_eq(x->version, COFFER_VERSION);
	ck_assert_uint_eq(x->nsnapshots, 1);
	ck_assert_str_eq(x->snapshots[0], snap_id);
	ck_assert_uint_eq(x->ncounts, 2);
	ck_assert_str_eq(x->counts[1].name, "bytes");
	ck_assert_uint_eq(x->counts[1].value, 1234567);
	oplog_list_free(l);
	repo_close(r);
}
END_TEST

/* The command line: escaped, quoted where sh would need it. */
START_TEST(test_actor_command)
{
	char *argv[] = { "./coffer", "snapshot", "-r", "/x y", "it's", "a\nb",
		"", "--tag=ok", NULL };
	struct oplog_actor *a = oplog_actor_new(8, argv, NULL, NULL);

	ck_assert_str_eq(a->command,
	    "coffer snapshot -r '/x y' 'it'\\''s' 'a\\nb' '' --tag=ok");
	ck_assert_int_eq(a->pid, getpid());
	oplog_actor_free(a);
}
END_TEST

/* A flipped byte, or a file sealed for another role, is refused. */
START_TEST(test_tampered)
{
	struct repo *r = open_ok();
	struct check_report *rep;
	struct check_opts co;
	struct oplog_list *l;
	struct oplog_rec rec;
	struct err e;
	char id[REPO_HEX_LEN + 1], other[REPO_HEX_LEN + 1], from[256];
	const char *json = "{\"version\":1}";
	FILE *f;
	int c;

	append_at(r, OPLOG_SNAPSHOT, 1795000000, 0, NULL, id);
	ck_assert_ptr_nonnull(f = fopen(record_path(id), "r+"));
	ck_assert_int_eq(fseek(f, 20, SEEK_SET), 0);
	c = fgetc(f);
	ck_assert_int_eq(fseek(f, 20, SEEK_SET), 0);
	fputc(c ^ 1, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(oplog_load(r, id, &rec, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);

	/* Named by its bytes, but sealed as a snapshot: the seal says no. */
	ck_assert_int_eq(repo_file_put(r, "snapshots", (const uint8_t *)json,
	                     strlen(json), other, &e),
	    0);
	snprintf(from, sizeof(from), "%s/snapshots/%s", loc, other);
	ck_assert_int_eq(rename(from, record_path(other)), 0);
	ck_assert_int_eq(oplog_load(r, other, &rec, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);

	ck_assert_int_eq(oplog_list(r, &l, &e), 0);
	ck_assert_uint_eq(l->n, 1); /* init's */
	ck_assert_uint_eq(l->nbad, 2);
	oplog_list_free(l);

	memset(&co, 0, sizeof(co));
	ck_assert_msg(check_run(r, &co, &rep, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(rep->stats.log_records, 3);
	ck_assert_uint_eq(rep->stats.log_records_damaged, 2);
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_CORRUPT);
	for (size_t i = 0; i < rep->nproblems; i++) {
		const char *file = rep->problems[i].file;

		ck_assert_int_eq(strncmp(file, "log/", 4), 0);
		ck_assert(
		    strcmp(file + 4, id) == 0 || strcmp(file + 4, other) == 0);
		ck_assert_int_eq(rep->problems[i].class, ERR_CORRUPT);
	}
	ck_assert_uint_eq(rep->nproblems, 2);
	check_report_free(rep);
	repo_close(r);
}
END_TEST

/* Oldest first by the writer's clock, ties by name, whatever the names. */
START_TEST(test_order)
{
	struct repo *r = open_ok();
	struct oplog_list *l;
	struct err e;
	char a[REPO_HEX_LEN + 1], b[REPO_HEX_LEN + 1], c[REPO_HEX_LEN + 1],
	    d[REPO_HEX_LEN + 1];

	append_at(r, "third", 3000, 0, NULL, c);
	append_at(r, "first", 1000, 999999999, NULL, a);
	append_at(r, "second", 2000, 0, NULL, b);
	append_at(r, "second-too", 2000, 0, NULL, d);
	ck_assert_int_eq(oplog_list(r, &l, &e), 0);
	ck_assert_uint_eq(l->n, 5);
	ck_assert_str_eq(l->v[0].op, "first");
	ck_assert_str_eq(l->v[1].op,
	    strcmp(b, d) < 0 ? "second" : "second-too");
	ck_assert_str_eq(l->v[2].op,
	    strcmp(b, d) < 0 ? "second-too" : "second");
	ck_assert_str_eq(l->v[3].op, "third");
	ck_assert_str_eq(l->v[4].op, OPLOG_INIT); /* now, after 1970 */
	oplog_list_free(l);
	repo_close(r);
}
END_TEST

/* Without an actor nothing is recorded; a failed write is a warning. */
START_TEST(test_best_effort)
{
	struct repo *r;
	struct oplog_list *l;
	struct err e;
	char p[256];

	ck_assert_msg(repo_open(loc, machine, strlen(machine), &r, &e) == 0,
	    "%s", e.msg);
	oplog_record_snapshot(r, OPLOG_SNAPSHOT, snap_id, NULL);
	ck_assert_int_eq(oplog_list(r, &l, &e), 0);
	ck_assert_uint_eq(l->n, 1); /* init's only */
	oplog_list_free(l);

	repo_set_actor(r, actor);
	snprintf(p, sizeof(p), "rm -rf %s/log && touch %s/log", loc, loc);
	ck_assert_int_eq(system(p), 0);
	ck_assert_int_eq(nwarn, 0);
	oplog_record_snapshot(r, OPLOG_SNAPSHOT, snap_id, NULL);
	ck_assert_int_eq(nwarn, 1);
	repo_close(r);
}
END_TEST

/* Records that are not what a writer makes are refused as corrupt. */
START_TEST(test_refuses_bad_input)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"version\":2}",
		/* outcome failed without an error */
		"{\"version\":1,\"time\":1,\"time_ns\":0,\"host\":\"h\","
		"\"user\":\"u\",\"sudo_user\":null,\"pid\":1,\"coffer\":\"x\","
		"\"operation\":\"init\",\"command\":\"c\",\"outcome\":"
		"\"failed\","
		"\"snapshots\":[],\"keys\":[],\"counts\":{}}",
		/* a bad id */
		"{\"version\":1,\"time\":1,\"time_ns\":0,\"host\":\"h\","
		"\"user\":\"u\",\"sudo_user\":null,\"pid\":1,\"coffer\":\"x\","
		"\"operation\":\"init\",\"command\":\"c\",\"outcome\":\"ok\","
		"\"snapshots\":[\"abc\"],\"keys\":[],\"counts\":{}}",
		/* a negative count */
		"{\"version\":1,\"time\":1,\"time_ns\":0,\"host\":\"h\","
		"\"user\":\"u\",\"sudo_user\":null,\"pid\":1,\"coffer\":\"x\","
		"\"operation\":\"init\",\"command\":\"c\",\"outcome\":\"ok\","
		"\"snapshots\":[],\"keys\":[],\"counts\":{\"n\":-1}}",
		/* nanoseconds out of range */
		"{\"version\":1,\"time\":1,\"time_ns\":1000000000,\"host\":"
		"\"h\","
		"\"user\":\"u\",\"sudo_user\":null,\"pid\":1,\"coffer\":\"x\","
		"\"operation\":\"init\",\"command\":\"c\",\"outcome\":\"ok\","
		"\"snapshots\":[],\"keys\":[],\"counts\":{}}",
	};
	const char *good =
	    "{\"version\":1,\"time\":1,\"time_ns\":0,\"host\":\"h\","
	    "\"user\":\"u\",\"sudo_user\":\"alice\",\"pid\":1,\"coffer\":\"x\","
	    "\"operation\":\"later-op\",\"command\":\"c\",\"outcome\":\"ok\","
	    "\"snapshots\":[],\"keys\":[],\"counts\":{},\"new\":true}";
	struct oplog_rec rec;
	struct err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(oplog_decode(bad[i], strlen(bad[i]), &rec, &e) ==
		        -1,
		    "accepted %s", bad[i]);
		ck_assert_int_eq(e.class, ERR_CORRUPT);
	}
	/* Unknown members and operations are a later writer's: read. */
	ck_assert_msg(oplog_decode(good, strlen(good), &rec, &e) == 0, "%s",
	    e.msg);
	ck_assert_str_eq(rec.sudo_user, "alice");
	ck_assert_str_eq(rec.op, "later-op");
	oplog_rec_clear(&rec);
}
END_TEST

Suite *oplog_suite(void);

Suite *
oplog_suite(void)
{
	Suite *s = suite_create("oplog");
	TCase *tc = tcase_create("oplog");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_actor_command);
	tcase_add_test(tc, test_tampered);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_best_effort);
	tcase_add_test(tc, test_refuses_bad_input);
	suite_add_tcase(s, tc);
	return (s);
}
