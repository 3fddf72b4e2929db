/*
 * The drill's rules that need no server: reading an SQL check's result,
 * splitting sql_checks, telling a production-looking postgres: target,
 * the consistency time an RPO is measured from, and the [drill] checks
 * of config_load and drill_check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "config.h"
#include "err.h"
#include "repo/manifest.h"
#include "scheduler/drill.h"
#include "value.h"

static char dir[64];
static char conf[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/coffer-drill-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/coffer.conf", dir);
	/* libpq's defaults are read from these: none set. */
	unsetenv("PGHOST");
	unsetenv("PGPORT");
	unsetenv("PGDATABASE");
	unsetenv("PGUSER");
}

static void
teardown(void)
{
	(void)unlink(conf);
	(void)rmdir(dir);
}

static struct config *
load(const char *text, struct err *e)
{
	struct config *cfg = NULL;
	FILE *f;

	(void)unlink(conf);
	ck_assert_ptr_nonnull(f = fopen(conf, "w"));
	ck_assert_int_ne(fputs(text, f), EOF);
	ck_assert_int_eq(fclose(f), 0);
	err_clear(e);
	(void)config_load(conf, &cfg, e);
	return (cfg);
}

START_TEST(test_sql_true)
{
	ck_assert_int_eq(drill_sql_true("t"), 1);
	ck_assert_int_eq(drill_sql_true("T"), 1);
	ck_assert_int_eq(drill_sql_true("true"), 1);
	ck_assert_int_eq(drill_sql_true("TRUE"), 1);
	ck_assert_int_eq(drill_sql_true("1"), 1);
	ck_assert_int_eq(drill_sql_true("f"), 0);
	ck_assert_int_eq(drill_sql_true("0"), 0);
	ck_assert_int_eq(drill_sql_true(""), 0);
	ck_assert_int_eq(drill_sql_true("yes"), 0);
	ck_assert_int_eq(drill_sql_true("10"), 0);
	ck_assert_int_eq(drill_sql_true(" t"), 0);
}
END_TEST

START_TEST(test_sql_output)
{
	char why[128];

	why[0] = '\0';
	ck_assert_int_eq(drill_sql_output_ok("t", why, sizeof(why)), 1);
	ck_assert_int_eq(drill_sql_output_ok("true\n", why, sizeof(why)), 1);
	ck_assert_int_eq(drill_sql_output_ok("f", why, sizeof(why)), 0);
	ck_assert_str_eq(why, "its value is 'f', not true");
	why[0] = '\0';
	ck_assert_int_eq(drill_sql_output_ok("", why, sizeof(why)), 0);
	ck_assert_str_eq(why, "it returned no row");
	why[0] = '\0';
	ck_assert_int_eq(drill_sql_output_ok("t\nt", why, sizeof(why)), 0);
	ck_assert_str_eq(why, "it returned 2 rows, not one");
	why[0] = '\0';
	ck_assert_int_eq(drill_sql_output_ok("t" DRILL_SQL_SEP "t", why,
	                     sizeof(why)),
	    0);
	ck_assert_str_eq(why, "its row has 2 columns, not one");
	/* A NULL is an empty field: not true. */
	why[0] = '\0';
	ck_assert_int_eq(drill_sql_output_ok(DRILL_SQL_SEP, why, sizeof(why)),
	    0);
	ck_assert_str_eq(why, "its row has 2 columns, not one");
	why[0] = '\0';
	ck_assert_int_eq(drill_sql_output_ok("\n\n", why, sizeof(why)), 0);
	ck_assert_str_eq(why, "it returned no row");
	why[0] = '\0';
	ck_assert_int_eq(drill_sql_output_ok("1000", why, sizeof(why)), 0);
	ck_assert_str_eq(why, "its value is '1000', not true");
}
END_TEST

START_TEST(test_sql_split)
{
	char **v;
	size_t n;

	drill_sql_split(" SELECT count(*) > 1000 FROM customers;SELECT "
	                "sum(balance) IS NOT NULL FROM accounts ;; \n",
	    &v, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0], "SELECT count(*) > 1000 FROM customers");
	ck_assert_str_eq(v[1], "SELECT sum(balance) IS NOT NULL FROM accounts");
	value_list_free(v, n);
	drill_sql_split(" ; ", &v, &n);
	ck_assert_uint_eq(n, 0);
	value_list_free(v, n);
}
END_TEST

#define PG_SOURCES                                                             \
	"[repository r]\npath = /r\n"                                          \
	"[source gasdb]\ntype = postgres\ndatabase = gas\n"                    \
	"connection = host=db.example.net port=5433\n"                         \
	"[source local]\ntype = postgres\ndatabase = billing\n"                \
	"[source etc]\ntype = files\npaths = /etc\n"

START_TEST(test_production)
{
	struct config *cfg;
	struct err e;
	char why[256];

	cfg = load(PG_SOURCES, &e);
	ck_assert_msg(cfg != NULL, "%s", e.msg);
#define PROD(ci, db, want)                                                     \
	do {                                                                   \
		why[0] = '\0';                                                 \
		ck_assert_int_eq(drill_production(cfg, ci, db, why,            \
		                     sizeof(why), &e),                         \
		    want);                                                     \
	} while (0)
	/* The same server and database as [source gasdb]. */
	PROD("host=db.example.net port=5433 dbname=gas", NULL, 1);
	ck_assert_str_eq(why,
	    "it is the database gas on db.example.net port 5433, as [source "
	    "gasdb] is");
	PROD("postgresql://DB.example.net:5433/x", "gas", 1);
	/* Another database, port or host: a test server. */
	PROD("host=db.example.net port=5433 dbname=gas_drill", NULL, 0);
	PROD("host=db.example.net dbname=gas", NULL, 0);
	PROD("host=test.example.net port=5433 dbname=gas", NULL, 0);
	/* [source local] has no connection: the local default server; a
	 * socket directory and a loopback address are one host. */
	PROD("host=127.0.0.1 dbname=billing", NULL, 1);
	PROD("host=localhost port=5432 dbname=billing", NULL, 1);
	PROD("host=/run/postgresql dbname=billing", NULL, 1);
	PROD("dbname=billing", NULL, 1);
	PROD("host=127.0.0.1 port=5499 dbname=billing", NULL, 0);
	/* The environment fills what the strings leave out, on both sides. */
	setenv("PGPORT", "5499", 1);
	PROD("host=127.0.0.1 dbname=billing", NULL, 1);
	PROD("host=127.0.0.1 port=5432 dbname=billing", NULL, 0);
	unsetenv("PGPORT");
	/* A files source is never production for postgres. */
	PROD("host=127.0.0.1 dbname=etc", NULL, 0);
	/* A password is refused before anything is compared. */
	PROD("host=x password=secret dbname=y", NULL, -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
#undef PROD
	config_free(cfg);
}
END_TEST

START_TEST(test_consistent_time)
{
	struct manifest m;
	struct manifest_source src;
	struct manifest_source *s;

	manifest_init(&m);
	m.time.tv_sec = 1000000;
	memset(&src, 0, sizeof(src));
	src.name = (char *)"gasdb";
	src.type = (char *)"postgres";
	src.status = (char *)"ok";
	s = manifest_add_source(&m, &src);
	s->start.tv_sec = 999000;
	/* The source's own start: a long snapshot started earlier. */
	ck_assert_int_eq(drill_consistent_time(&m, "gasdb"), 999000);
	/* No source, or one the snapshot does not have: its time. */
	ck_assert_int_eq(drill_consistent_time(&m, NULL), 1000000);
	ck_assert_int_eq(drill_consistent_time(&m, "etc"), 1000000);
	/* An unknown start does not make the data look new. */
	s->start.tv_sec = 0;
	ck_assert_int_eq(drill_consistent_time(&m, "gasdb"), 1000000);
	manifest_clear(&m);
}
END_TEST

START_TEST(test_config)
{
	struct config *cfg;
	struct err e;
	char want[512];

	cfg = load(PG_SOURCES "[drill d]\nrepository = r\ntarget = ssh:x@y:/\n",
	    &e);
	ck_assert_ptr_null(cfg);
	snprintf(want, sizeof(want),
	    "%s:15: target: 'ssh:x@y:/': PATH must be absolute, and not /; "
	    "write ssh:USER@HOST[:PORT]:/PATH",
	    conf);
	ck_assert_str_eq(e.msg, want);
	/* An ssh: target is split into its parts, PATH kept safe. */
	{
		struct config_ssh_target t;
		char why[128];

		ck_assert_int_eq(config_drill_ssh("me@[::1]:2222:/srv/d-1", &t,
		                     why, sizeof(why)),
		    0);
		ck_assert_str_eq(t.user, "me");
		ck_assert_str_eq(t.host, "::1");
		ck_assert_int_eq(t.port, 2222);
		ck_assert_str_eq(t.path, "/srv/d-1");
		ck_assert_int_eq(config_drill_ssh("me@h:/srv/x", &t, why,
		                     sizeof(why)),
		    0);
		ck_assert_int_eq(t.port, 22);
		ck_assert_int_eq(config_drill_ssh("me@h:/srv/x/", &t, why,
		                     sizeof(why)),
		    -1);
		ck_assert_int_eq(config_drill_ssh("me@h:/srv/'x", &t, why,
		                     sizeof(why)),
		    -1);
		ck_assert_int_eq(config_drill_ssh("me@h:srv", &t, why,
		                     sizeof(why)),
		    -1);
		ck_assert_int_eq(config_drill_ssh("me@h:0:/srv", &t, why,
		                     sizeof(why)),
		    -1);
	}
	/* The MariaDB targets are; mysql: names the database to make. */
	cfg = load(PG_SOURCES "[drill d]\nrepository = r\n"
	                      "target = mysql-scratch\ndrill_user = nobody\n",
	    &e);
	ck_assert_ptr_nonnull(cfg);
	config_free(cfg);
	cfg = load(PG_SOURCES "[drill d]\nrepository = r\n"
	                      "target = mysql:drill_db\n"
	                      "defaults_file = /etc/drill.cnf\n",
	    &e);
	ck_assert_ptr_nonnull(cfg);
	config_free(cfg);
	cfg =
	    load(PG_SOURCES "[drill d]\nrepository = r\ntarget = mysql:\n", &e);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(strstr(e.msg,
	    ":15: target: mysql:DB needs the name of the database"));
	cfg = load(PG_SOURCES "[drill d]\nrepository = r\n"
	                      "target = mysql-scratch\n"
	                      "defaults_file = /etc/drill.cnf\n",
	    &e);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(strstr(e.msg,
	    ":16: defaults_file: only target = mysql:DB connects with a "
	    "client option file"));
	cfg = load(PG_SOURCES "[drill d]\nrepository = r\ntarget = srv\n", &e);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(strstr(e.msg,
	    ":15: target: 'srv' is not a "
	    "drill target"));
	cfg = load(PG_SOURCES "[drill d]\nrepository = r\ntarget = /srv\n"
	                      "sql_checks = SELECT true\n",
	    &e);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(strstr(e.msg, ":16: sql_checks: the target"));
	cfg = load(PG_SOURCES "[drill d]\nrepository = r\n"
	                      "target = postgres:password=x\n",
	    &e);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(strstr(e.msg, ":15: target: postgres:CONNINFO"));

	/* Loads, but the target does not fit the source: at its line. */
	cfg = load(PG_SOURCES "[drill d]\nrepository = r\nsource = etc\n"
	                      "target = postgres-scratch\n",
	    &e);
	ck_assert_msg(cfg != NULL, "%s", e.msg);
	ck_assert_int_eq(drill_check(cfg, "d", &e), -1);
	ck_assert_int_eq(e.class, ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(e.msg,
	    ":15: target = postgres-scratch "
	    "restores a [source] of type "
	    "postgres"));
	ck_assert_int_eq(drill_check(cfg, "nope", &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	config_free(cfg);
	cfg = load(PG_SOURCES "[drill d]\nrepository = r\n", &e);
	ck_assert_msg(cfg != NULL, "%s", e.msg);
	ck_assert_int_eq(drill_check(cfg, "d", &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, ":13: [drill d] has no target"));
	config_free(cfg);
	cfg = load(PG_SOURCES "[drill d]\nrepository = r\nsource = gasdb\n"
	                      "target = postgres-scratch\n"
	                      "sql_checks = SELECT 1; SELECT true\n",
	    &e);
	ck_assert_msg(cfg != NULL, "%s", e.msg);
	ck_assert_int_eq(drill_check(cfg, "d", &e), 0);
	config_free(cfg);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(drill_stage_name(DRILL_RESTORE), "restore");
	ck_assert_str_eq(drill_stage_name(DRILL_SQL_CHECK), "sql_check");
	ck_assert_str_eq(drill_stage_name(DRILL_RPO), "rpo");
	ck_assert_str_eq(drill_status_name(DRILL_SKIPPED), "skipped");
	ck_assert_str_eq(drill_target_name(DRILL_T_PG_SCRATCH),
	    "postgres-scratch");
}
END_TEST

Suite *drill_suite(void);

Suite *
drill_suite(void)
{
	Suite *s = suite_create("drill");
	TCase *tc = tcase_create("rules");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sql_true);
	tcase_add_test(tc, test_sql_output);
	tcase_add_test(tc, test_sql_split);
	tcase_add_test(tc, test_production);
	tcase_add_test(tc, test_consistent_time);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return (s);
}
