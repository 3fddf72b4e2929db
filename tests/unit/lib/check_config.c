/*
 * The configuration module: a full config read back with its defaults,
 * every kind of error with its exact FILE:LINE message, line counting,
 * section names, and the file-safety checks (the value and URL parsers:
 * check_value.c, check_url.c).
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "config.h"

static char dir[64];
static char conf[128];

/*
 * One directory per test case, made and removed by the runner itself
 * (unchecked fixtures), so that a failing or aborting test leaves nothing.
 */
static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/coffer-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/coffer.conf", dir);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write text (len bytes, or all of it when len is 0) as the config. */
static void
write_conf_n(const char *text, size_t len, mode_t mode)
{
	FILE *f;

	/* A fresh file: an earlier test may have chown'ed the old one. */
	(void)unlink(conf);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	if (len == 0)
		len = strlen(text);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(conf, mode), 0);
}

static struct config *
load_ok(const char *text)
{
	struct config *cfg = NULL;
	struct err e;

	err_clear(&e);
	write_conf_n(text, 0, 0644);
	if (config_load(conf, &cfg, &e) == -1)
		ck_abort_msg("config_load failed: %s", e.msg);
	ck_assert_ptr_nonnull(cfg);
	return (cfg);
}

/* Loading fails with class ERR_CONFIG and exactly "CONF:line: msg". */
static void
expect_err(const char *text, int line, const char *msg)
{
	struct config *cfg = (struct config *)1;
	char want[ERR_MSG_MAX + 160];
	struct err e;

	snprintf(want, sizeof(want), "%s:%d: %s", conf, line, msg);
	write_conf_n(text, 0, 0644);
	err_clear(&e);
	ck_assert_int_eq(config_load(conf, &cfg, &e), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_int_eq(e.class, ERR_CONFIG);
	ck_assert_str_eq(e.msg, want);
}

static const char design_example[] =
    "[repository local]\n"
    "path = /var/backups/coffer\n"
    "password_file = /etc/coffer/local.key        # a machine key for "
    "unattended jobs\n"
    "\n"
    "[repository offsite]\n"
    "url = sftp://backup@dr.example.net:22/srv/coffer/gas\n"
    "identity = /etc/coffer/id_ed25519\n"
    "known_hosts = /etc/coffer/known_hosts\n"
    "password_file = /etc/coffer/local.key\n"
    "\n"
    "[source gasdb]\n"
    "type = postgres\n"
    "database = gas\n"
    "\n"
    "[job nightly]\n"
    "schedule = daily 02:30\n"
    "sources = gasdb\n"
    "repository = local\n"
    "replicate = offsite\n";

START_TEST(test_design_example_reads_back)
{
	struct config *cfg = load_ok(design_example);
	const struct config_section *local, *off, *src, *job, *g, *s;
	const char *const *items;
	uint64_t u;
	int64_t i;
	int b, n;

	ck_assert_str_eq(config_file(cfg), conf);
	local = config_section_find(cfg, CONFIG_REPOSITORY, "local");
	off = config_section_find(cfg, CONFIG_REPOSITORY, "offsite");
	src = config_section_find(cfg, CONFIG_SOURCE, "gasdb");
	job = config_section_find(cfg, CONFIG_JOB, "nightly");
	ck_assert_ptr_nonnull(local);
	ck_assert_ptr_nonnull(off);
	ck_assert_ptr_nonnull(src);
	ck_assert_ptr_nonnull(job);
	ck_assert_ptr_null(config_section_find(cfg, CONFIG_JOB, "local"));
	ck_assert_ptr_null(config_section_find(cfg, CONFIG_SOURCE, NULL));

	ck_assert_int_eq(config_section_line(local), 1);
	ck_assert_int_eq(config_section_line(off), 5);
	ck_assert_int_eq(config_section_line(src), 11);
	ck_assert_int_eq(config_section_line(job), 15);
	ck_assert_int_eq(config_section_type(job), CONFIG_JOB);
	ck_assert_str_eq(config_section_name(job), "nightly");

	/* The trailing "# a machine key" is a comment, not part of it. */
	ck_assert_str_eq(config_get_str(local, "password_file"),
	    "/etc/coffer/local.key");
	ck_assert_int_eq(config_key_line(local, "password_file"), 3);
	ck_assert_str_eq(config_get_str(local, "path"), "/var/backups/coffer");
	ck_assert_ptr_null(config_get_str(local, "url"));
	/* sftp settings do not apply to a local repository. */
	ck_assert_int_eq(config_get_duration(local, "connect_timeout", &u), -1);
	ck_assert_int_eq(config_get_int(local, "compression", &i), 0);
	ck_assert_int_eq(i, 3);

	ck_assert_str_eq(config_get_str(off, "url"),
	    "sftp://backup@dr.example.net:22/srv/coffer/gas");
	ck_assert_str_eq(config_get_str(off, "identity"),
	    "/etc/coffer/id_ed25519");
	ck_assert_int_eq(config_key_line(off, "known_hosts"), 8);
	ck_assert_int_eq(config_get_duration(off, "connect_timeout", &u), 0);
	ck_assert_uint_eq(u, 10);
	ck_assert_int_eq(config_key_line(off, "connect_timeout"), 0);
	ck_assert_int_eq(config_get_duration(off, "io_timeout", &u), 0);
	ck_assert_uint_eq(u, 60);
	ck_assert_int_eq(config_get_duration(off, "keepalive", &u), 0);
	ck_assert_uint_eq(u, 15);
	ck_assert_int_eq(config_get_int(off, "retries", &i), 0);
	ck_assert_int_eq(i, 5);
	ck_assert_int_eq(config_get_int(off, "transfers", &i), 0);
	ck_assert_int_eq(i, 2);
	ck_assert_int_eq(config_get_int(off, "limit_upload", &i), 0);
	ck_assert_int_eq(i, 0);
	ck_assert_int_eq(config_get_int(off, "port", &i), -1);

	ck_assert_str_eq(config_get_str(src, "type"), "postgres");
	ck_assert_str_eq(config_get_str(src, "database"), "gas");
	ck_assert_str_eq(config_get_str(src, "method"), "dump");
	ck_assert_int_eq(config_get_bool(src, "globals", &b), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(config_get_duration(src, "hook_timeout", &u), 0);
	ck_assert_uint_eq(u, 300);
	ck_assert_ptr_null(config_get_str(src, "before"));
	ck_assert_uint_eq(config_get_list(src, "paths", &items), 0);
	ck_assert_ptr_null(items);

	ck_assert_str_eq(config_get_str(job, "schedule"), "daily 02:30");
	ck_assert_uint_eq(config_get_list(job, "sources", &items), 1);
	ck_assert_str_eq(items[0], "gasdb");
	ck_assert_str_eq(config_get_str(job, "repository"), "local");
	ck_assert_str_eq(config_get_str(job, "replicate"), "offsite");
	ck_assert_int_eq(config_get_int(job, "keep_daily", &i), -1);

	/* No [global] in the file: defaults, at line 0, not iterated. */
	g = config_global(cfg);
	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_eq(config_section_find(cfg, CONFIG_GLOBAL, NULL), g);
	ck_assert_int_eq(config_section_line(g), 0);
	ck_assert_ptr_null(config_section_name(g));
	ck_assert_str_eq(config_get_str(g, "log"), "stderr");
	ck_assert_str_eq(config_get_str(g, "state_dir"), "/var/lib/coffer");
	ck_assert_str_eq(config_get_str(g, "cache_dir"), "/var/cache/coffer");
	ck_assert_int_eq(config_get_duration(g, "lock_stale_after", &u), 0);
	ck_assert_uint_eq(u, 1800);

	n = 0;
	for (s = config_next(cfg, NULL, CONFIG_ANY); s != NULL;
	     s = config_next(cfg, s, CONFIG_ANY))
		n++;
	ck_assert_int_eq(n, 4);
	s = config_next(cfg, NULL, CONFIG_REPOSITORY);
	ck_assert_ptr_eq(s, local);
	s = config_next(cfg, s, CONFIG_REPOSITORY);
	ck_assert_ptr_eq(s, off);
	ck_assert_ptr_null(config_next(cfg, s, CONFIG_REPOSITORY));
	ck_assert_ptr_eq(config_next(cfg, NULL, CONFIG_JOB), job);
	ck_assert_ptr_null(config_next(cfg, NULL, CONFIG_DRILL));
	ck_assert_ptr_null(config_next(cfg, NULL, CONFIG_GLOBAL));
	config_free(cfg);
}
END_TEST

static const char every_type[] =
    "; every section type and most keys\n"
    "[global]\n"
    "log = syslog\n"
    "cache_dir = /srv/cache\n"
    "lock_stale_after = 2h\n"
    "[repository r]\n"
    "url = sftp://dr.example.net/srv/coffer\n"
    "port = 2222\n"
    "user = backup\n"
    "password_command = pass show coffer\n"
    "connect_timeout = 5s\n"
    "io_timeout = 2m\n"
    "keepalive = 0\n"
    "retries = 0\n"
    "transfers = 16\n"
    "limit_upload = 1024\n"
    "limit_download = 2048\n"
    "compression = 19\n"
    "[repository l]\n"
    "path = /var/backups/coffer\n"
    "[source etc]\n"
    "type = files\n"
    "paths = /etc, /var/lib/app \"/srv/My Files\"\n"
    "exclude = *.tmp,*.swp\n"
    "one_file_system = on\n"
    "before = lvcreate -s -n snap vg/root\n"
    "after = lvremove -f vg/snap\n"
    "hook_timeout = 90\n"
    "[source pg]\n"
    "type = postgres\n"
    "database = gas\n"
    "connection = host=/run/postgresql user=postgres\n"
    "globals = yes\n"
    "method = basebackup\n"
    "[source my]\n"
    "type = mysql\n"
    "database = shop\n"
    "defaults_file = /etc/mysql/debian.cnf\n"
    "[source lite]\n"
    "type = sqlite\n"
    "path = /var/lib/app/app.db\n"
    "[source ldap]\n"
    "type = command\n"
    "command = slapcat -n 1\n"
    "name = ldap.ldif\n"
    "[job nightly]\n"
    "sources = etc pg,my , lite,ldap\n"
    "repository = l\n"
    "replicate = r\n"
    "keep_last = 3\n"
    "keep_hourly = 0\n"
    "keep_daily = 7\n"
    "keep_weekly = 4\n"
    "keep_monthly = 12\n"
    "keep_yearly = 10\n"
    "check = 2.5%\n"
    "before = /usr/local/bin/pre\n"
    "after = /usr/local/bin/post\n"
    "on_failure = mail -s fail root\n"
    "timeout = 6h\n"
    "[drill weekly]\n"
    "repository = r\n"
    "source = pg\n"
    "target = /srv/drill\n"
    "checks = /usr/local/bin/check-drill\n"
    "max_rto = 1h30m\n"
    "schedule = Sun 04:00\n"
    "on_failure = logger drill failed\n";

START_TEST(test_every_type_reads_back)
{
	struct config *cfg = load_ok(every_type);
	const struct config_section *g, *r, *s, *j, *d;
	const char *const *items;
	uint64_t u;
	int64_t i;
	double pct;
	int b;

	g = config_global(cfg);
	ck_assert_int_eq(config_section_line(g), 2);
	ck_assert_ptr_eq(config_next(cfg, NULL, CONFIG_ANY), g);
	ck_assert_str_eq(config_get_str(g, "log"), "syslog");
	ck_assert_str_eq(config_get_str(g, "cache_dir"), "/srv/cache");
	ck_assert_str_eq(config_get_str(g, "state_dir"), "/var/lib/coffer");
	ck_assert_int_eq(config_get_duration(g, "lock_stale_after", &u), 0);
	ck_assert_uint_eq(u, 7200);

	r = config_section_find(cfg, CONFIG_REPOSITORY, "r");
	ck_assert_int_eq(config_get_int(r, "port", &i), 0);
	ck_assert_int_eq(i, 2222);
	ck_assert_str_eq(config_get_str(r, "user"), "backup");
	ck_assert_str_eq(config_get_str(r, "password_command"),
	    "pass show coffer");
	ck_assert_int_eq(config_get_duration(r, "connect_timeout", &u), 0);
	ck_assert_uint_eq(u, 5);
	ck_assert_int_eq(config_get_duration(r, "io_timeout", &u), 0);
	ck_assert_uint_eq(u, 120);
	ck_assert_int_eq(config_get_duration(r, "keepalive", &u), 0);
	ck_assert_uint_eq(u, 0);
	ck_assert_int_eq(config_get_int(r, "retries", &i), 0);
	ck_assert_int_eq(i, 0);
	ck_assert_int_eq(config_get_int(r, "transfers", &i), 0);
	ck_assert_int_eq(i, 16);
	ck_assert_int_eq(config_get_int(r, "limit_download", &i), 0);
	ck_assert_int_eq(i, 2048);
	ck_assert_int_eq(config_get_int(r, "compression", &i), 0);
	ck_assert_int_eq(i, 19);
	ck_assert_int_eq(config_key_line(r, "compression"), 18);

	s = config_section_find(cfg, CONFIG_SOURCE, "etc");
	ck_assert_uint_eq(config_get_list(s, "paths", &items), 3);
	ck_assert_str_eq(items[0], "/etc");
	ck_assert_str_eq(items[1], "/var/lib/app");
	ck_assert_str_eq(items[2], "/srv/My Files");
	ck_assert_uint_eq(config_get_list(s, "exclude", &items), 2);
	ck_assert_str_eq(items[0], "*.tmp");
	ck_assert_str_eq(items[1], "*.swp");
	ck_assert_int_eq(config_get_bool(s, "one_file_system", &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_str_eq(config_get_str(s, "before"),
	    "lvcreate -s -n snap vg/root");
	ck_assert_int_eq(config_get_duration(s, "hook_timeout", &u), 0);
	ck_assert_uint_eq(u, 90);
	ck_assert_int_eq(config_key_line(s, "hook_timeout"), 28);

	s = config_section_find(cfg, CONFIG_SOURCE, "pg");
	ck_assert_str_eq(config_get_str(s, "connection"),
	    "host=/run/postgresql user=postgres");
	ck_assert_int_eq(config_get_bool(s, "globals", &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_str_eq(config_get_str(s, "method"), "basebackup");
	s = config_section_find(cfg, CONFIG_SOURCE, "my");
	ck_assert_str_eq(config_get_str(s, "defaults_file"),
	    "/etc/mysql/debian.cnf");
	ck_assert_ptr_null(config_get_str(s, "method"));
	s = config_section_find(cfg, CONFIG_SOURCE, "lite");
	ck_assert_str_eq(config_get_str(s, "path"), "/var/lib/app/app.db");
	s = config_section_find(cfg, CONFIG_SOURCE, "ldap");
	ck_assert_str_eq(config_get_str(s, "command"), "slapcat -n 1");
	ck_assert_str_eq(config_get_str(s, "name"), "ldap.ldif");

	j = config_section_find(cfg, CONFIG_JOB, "nightly");
	ck_assert_uint_eq(config_get_list(j, "sources", &items), 5);
	ck_assert_str_eq(items[0], "etc");
	ck_assert_str_eq(items[1], "pg");
	ck_assert_str_eq(items[2], "my");
	ck_assert_str_eq(items[3], "lite");
	ck_assert_str_eq(items[4], "ldap");
	ck_assert_int_eq(config_get_int(j, "keep_hourly", &i), 0);
	ck_assert_int_eq(i, 0);
	ck_assert_int_eq(config_get_int(j, "keep_yearly", &i), 0);
	ck_assert_int_eq(i, 10);
	ck_assert_int_eq(config_get_percent(j, "check", &pct), 0);
	ck_assert_double_eq_tol(pct, 2.5, 1e-9);
	ck_assert_int_eq(config_get_duration(j, "timeout", &u), 0);
	ck_assert_uint_eq(u, 21600);
	ck_assert_str_eq(config_get_str(j, "on_failure"), "mail -s fail root");

	d = config_section_find(cfg, CONFIG_DRILL, "weekly");
	ck_assert_str_eq(config_get_str(d, "repository"), "r");
	ck_assert_str_eq(config_get_str(d, "source"), "pg");
	ck_assert_str_eq(config_get_str(d, "snapshot"), "latest");
	ck_assert_int_eq(config_key_line(d, "snapshot"), 0);
	ck_assert_int_eq(config_get_duration(d, "max_rto", &u), 0);
	ck_assert_uint_eq(u, 5400);
	ck_assert_str_eq(config_get_str(d, "schedule"), "Sun 04:00");
	config_free(cfg);
}
END_TEST

START_TEST(test_settings_iterate_applicable_keys)
{
	static const char *const want[] = { "type", "paths", "exclude",
		"one_file_system", "compression", "before", "after",
		"hook_timeout" };
	struct config *cfg = load_ok("[source s]\n"
	                             "paths = /etc\n"
	                             "type = files\n");
	const struct config_section *s;
	struct config_setting st;
	size_t it = 0, n = 0;

	s = config_section_find(cfg, CONFIG_SOURCE, "s");
	while (config_setting_next(s, &it, &st)) {
		ck_assert_uint_lt(n, sizeof(want) / sizeof(want[0]));
		ck_assert_str_eq(st.key, want[n]);
		if (strcmp(st.key, "type") == 0) {
			ck_assert_str_eq(st.value, "files");
			ck_assert_int_eq(st.line, 3);
			ck_assert_int_eq(st.is_default, 0);
			ck_assert_int_eq(st.vtype, CONFIG_V_ENUM);
		} else if (strcmp(st.key, "paths") == 0) {
			ck_assert_int_eq(st.line, 2);
			ck_assert_int_eq(st.vtype, CONFIG_V_PATHS);
		} else if (strcmp(st.key, "one_file_system") == 0) {
			ck_assert_str_eq(st.value, "no");
			ck_assert_int_eq(st.is_default, 1);
			ck_assert_int_eq(st.line, 0);
		} else if (strcmp(st.key, "hook_timeout") == 0) {
			ck_assert_str_eq(st.value, "5m");
			ck_assert_int_eq(st.is_default, 1);
		} else {
			ck_assert_ptr_null(st.value);
			ck_assert_int_eq(st.is_default, 0);
		}
		n++;
	}
	ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0]));
	ck_assert_int_eq(config_setting_next(s, &it, &st), 0);
	config_free(cfg);
}
END_TEST

START_TEST(test_line_numbers_with_comments_blanks_continuations)
{
	struct config *cfg = load_ok("# leading comment\n"
	                             "; another\n"
	                             "\n"
	                             "   # indented comment\n"
	                             "[source etc]   # trailing comment\n"
	                             "type = files ; a semicolon comment\n"
	                             "paths = /etc\n"
	                             "    /var/lib/app   # continued\n"
	                             "\n"
	                             "    /srv\n"
	                             "# between\n"
	                             "exclude =\n"
	                             "    *.tmp\n"
	                             "    *.bak\n"
	                             "before = echo one\n"
	                             "   two\n"
	                             "\n"
	                             "[repository r]\n"
	                             "path = /r\n");
	const struct config_section *s, *r;
	const char *const *items;

	s = config_section_find(cfg, CONFIG_SOURCE, "etc");
	ck_assert_int_eq(config_section_line(s), 5);
	ck_assert_str_eq(config_get_str(s, "type"), "files");
	ck_assert_int_eq(config_key_line(s, "type"), 6);
	ck_assert_int_eq(config_key_line(s, "paths"), 7);
	ck_assert_uint_eq(config_get_list(s, "paths", &items), 3);
	ck_assert_str_eq(items[0], "/etc");
	ck_assert_str_eq(items[1], "/var/lib/app");
	ck_assert_str_eq(items[2], "/srv");
	ck_assert_int_eq(config_key_line(s, "exclude"), 12);
	ck_assert_uint_eq(config_get_list(s, "exclude", &items), 2);
	ck_assert_str_eq(items[0], "*.tmp");
	ck_assert_str_eq(items[1], "*.bak");
	/* A continued command is joined with one space. */
	ck_assert_str_eq(config_get_str(s, "before"), "echo one two");
	ck_assert_int_eq(config_key_line(s, "before"), 15);
	r = config_section_find(cfg, CONFIG_REPOSITORY, "r");
	ck_assert_int_eq(config_section_line(r), 18);
	ck_assert_int_eq(config_key_line(r, "path"), 19);
	config_free(cfg);

	/* The error after all that is on the right line. */
	expect_err("# c\n"
	           "\n"
	           "[repository r]\n"
	           "path = /r\n"
	           "   # c\n"
	           "\n"
	           "compression = 3\n"
	           "  4\n"
	           "\n",
	    7, "compression: '3 4' is not a zstd level (1-19)");
	expect_err("[repository r]\n"
	           "path = /r\n"
	           "\n"
	           "; x\n"
	           "port = 1\n",
	    5, "key 'port' does not apply to a local repository (path)");
}
END_TEST

START_TEST(test_bom_and_crlf)
{
	struct config *cfg = load_ok("\xEF\xBB\xBF[repository r]\r\n"
	                             "path = /r\r\n"
	                             "\r\n"
	                             "compression = 7\r\n");
	const struct config_section *r;
	int64_t i;

	r = config_section_find(cfg, CONFIG_REPOSITORY, "r");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(config_get_str(r, "path"), "/r");
	ck_assert_int_eq(config_get_int(r, "compression", &i), 0);
	ck_assert_int_eq(i, 7);
	ck_assert_int_eq(config_key_line(r, "compression"), 4);
	config_free(cfg);
}
END_TEST

START_TEST(test_section_header_errors)
{
	expect_err("[repository local]\npath = /x\n\n[backup x]\n", 4,
	    "unknown section type 'backup' (expected global, repository, "
	    "source, job or drill)");
	expect_err("[repository]\n", 1,
	    "[repository] needs a name: [repository NAME]");
	expect_err("\n[job]\n", 2, "[job] needs a name: [job NAME]");
	expect_err("[repository a/b]\n", 1,
	    "invalid name 'a/b' in [repository a/b]: use up to 64 letters, "
	    "digits, '_', '.' or '-', not starting with '.' or '-'");
	expect_err("[source ..]\n", 1,
	    "invalid name '..' in [source ..]: use up to 64 letters, "
	    "digits, '_', '.' or '-', not starting with '.' or '-'");
	expect_err("[global x]\n", 1, "[global] takes no name");
	expect_err("[job a b]\n", 1,
	    "too many words in [job a b]; a section header is [TYPE NAME]");
	expect_err("[ ]\n", 1, "empty section header; expected [TYPE NAME]");
	expect_err("[repository r\npath = /x\n", 1,
	    "section header without ']'");
	expect_err("[repository r] path = /x\n", 1,
	    "text after ']' in a section header");
	expect_err("[repository a]\npath = /a\n[repository b]\npath = /b\n"
	           "[repository a]\npath = /c\n",
	    5, "duplicate section [repository a] (first at line 1)");
	expect_err("[global]\n[global]\n", 2,
	    "duplicate section [global] (first at line 1)");
}
END_TEST

START_TEST(test_same_name_in_different_types_is_fine)
{
	struct config *cfg = load_ok("[repository gas]\npath = /r\n"
	                             "[source gas]\ntype = sqlite\n"
	                             "path = /db\n"
	                             "[job gas]\nsources = gas\n"
	                             "repository = gas\n");

	ck_assert_ptr_nonnull(config_section_find(cfg, CONFIG_JOB, "gas"));
	config_free(cfg);
}
END_TEST

START_TEST(test_key_errors)
{
	expect_err("[repository local]\npath = /x\nfoo = 1\n", 3,
	    "unknown key 'foo' in [repository local]");
	expect_err("[repository local]\npath = /x\npasword_file = /k\n", 3,
	    "unknown key 'pasword_file' in [repository local] (did you mean "
	    "'password_file'?)");
	expect_err("[global]\nschedule = daily\n", 2,
	    "unknown key 'schedule' in [global]");
	expect_err("[repository r]\npath = /x\n\npath = /y\n", 4,
	    "duplicate key 'path' in [repository r] (first at line 2)");
	expect_err("compression = 3\n[repository r]\n", 1,
	    "key 'compression' is outside any section; put it under a "
	    "header such as [repository NAME]");
	expect_err("[repository r]\npath = /x\n= 3\n", 3,
	    "missing key name before '='");
	expect_err("[repository r]\npath = /x\njust words\n", 3,
	    "expected 'key = value', a [TYPE NAME] header or a comment");
	expect_err("[repository r]\nurl = sftp://h/x\nuser =\n", 3,
	    "user: no value; expected text");
	expect_err("[repository r]\npath =\n", 2,
	    "path: no value; expected an absolute path");
}
END_TEST

START_TEST(test_indented_key_is_not_swallowed)
{
	/* inih reads it as more of 'path'; say so rather than fail oddly. */
	expect_err("[repository r]\n"
	           "path = /x\n"
	           "  compression = 3\n",
	    3,
	    "indented, so read as more of 'path' (line 2); start "
	    "'compression' at the beginning of the line");
	/* A header too: "target = /srv [job x]" would pass unnoticed. */
	expect_err("[drill d]\n"
	           "repository = r\n"
	           "target = /srv\n"
	           "\t[job x]\n",
	    4,
	    "indented, so read as more of 'target' (line 3); start the "
	    "section header at the beginning of the line");
	/* The first key of a section may be indented. */
	config_free(load_ok("[repository r]\n  path = /x\n"));
}
END_TEST

START_TEST(test_value_errors)
{
	expect_err("[repository r]\nurl = sftp://h/x\nport = 70000\n", 3,
	    "port: '70000' is not a port number (1-65535)");
	expect_err("[repository r]\nurl = sftp://h/x\nport = 22x\n", 3,
	    "port: '22x' is not a port number (1-65535)");
	expect_err("[repository r]\npath = /x\ncompression = 0\n", 3,
	    "compression: '0' is not a zstd level (1-19)");
	expect_err("[repository r]\nurl = sftp://h/x\ntransfers = 17\n", 3,
	    "transfers: '17' is not a number of transfers (1-16)");
	expect_err("[repository r]\nurl = sftp://h/x\nlimit_upload = -1\n", 3,
	    "limit_upload: '-1' is not a rate in KiB/s (0 or more)");
	expect_err("[repository r]\npath = var/backups\n", 2,
	    "path: 'var/backups' is not an absolute path");
	expect_err("[repository r]\nurl = sftp://h/x\nconnect_timeout = soon\n",
	    3,
	    "connect_timeout: 'soon' is not a duration (e.g. 90, 30s, 5m, "
	    "2h, 1d)");
	expect_err("[repository r]\nurl = sftp://h/x\nconnect_timeout = 0\n", 3,
	    "connect_timeout: '0' is out of range (1s to 1h)");
	expect_err("[repository r]\nurl = sftp://h/x\nio_timeout = 2d\n", 3,
	    "io_timeout: '2d' is out of range (1s to 1d)");
	expect_err("[source s]\ntype = files\npaths = /\nhook_timeout = 0s\n",
	    4, "hook_timeout: '0s' is too short (at least 1s)");
	expect_err("[source s]\ntype = tar\n", 2,
	    "type: 'tar' is not one of: files, postgres, mysql, sqlite, "
	    "command");
	expect_err("[source s]\ntype = postgres\ndatabase = d\nmethod = pitr\n",
	    4, "method: 'pitr' is not one of: dump, basebackup");
	expect_err("[source s]\ntype = files\npaths = /\none_file_system = "
	           "maybe\n",
	    4,
	    "one_file_system: 'maybe' is not a boolean (yes/no, true/false, "
	    "on/off, 1/0)");
	expect_err("[source s]\ntype = files\npaths = /etc, var\n", 3,
	    "paths: 'var' is not an absolute path");
	expect_err("[source s]\ntype = files\npaths = \"/etc\n", 3,
	    "paths: '\"/etc' is not a list of absolute paths: a quote is "
	    "unterminated, empty or inside a word");
	expect_err("[source s]\ntype = files\npaths = , ,\n", 3,
	    "paths: no value; expected a list of absolute paths");
	expect_err("[source s]\ntype = command\ncommand = x\nname = a/b\n", 4,
	    "name: 'a/b' is not a name (letters, digits, '_', '.', '-')");
	expect_err("[repository r]\npath = /r\n[job j]\nrepository = r\n"
	           "sources = a a\n",
	    5, "sources: 'a' is listed twice");
	expect_err("[repository r]\npath = /r\n[job j]\nrepository = r\n"
	           "sources = a b/c\n",
	    5, "sources: 'b/c' is not a valid [source] name");
	expect_err("[repository r]\npath = /r\n[job j]\nrepository = r/s\n", 4,
	    "repository: 'r/s' is not the name of a [repository] section");
	expect_err("[repository r]\npath = /r\n[job j]\nrepository = r\n"
	           "sources = s\ncheck = 5\n",
	    6, "check: '5' is not a percentage from 0% to 100% (e.g. 5%)");
	expect_err("[repository r]\npath = /r\n[job j]\nrepository = r\n"
	           "sources = s\ncheck = 101%\n",
	    6, "check: '101%' is not a percentage from 0% to 100% (e.g. 5%)");
	expect_err("[global]\nlog = journal\n", 2,
	    "log: 'journal' is not one of: stderr, syslog");
	expect_err("[global]\nlock_stale_after = 30s\n", 2,
	    "lock_stale_after: '30s' is too short (at least 1m)");
}
END_TEST

START_TEST(test_url_errors)
{
	expect_err("[repository r]\nurl = ftp://h/x\n", 2,
	    "url: 'ftp://h/x' is not an sftp URL "
	    "(sftp://[user@]host[:port]/path)");
	expect_err("[repository r]\nurl = sftp://u:pw@h/x\n", 2,
	    "url: 'sftp://u:pw@h/x': a password in the URL is refused; use "
	    "identity (an SSH key) instead");
	expect_err("[repository r]\nurl = sftp://h:0/x\n", 2,
	    "url: 'sftp://h:0/x': the port is not a port number (1-65535)");
	expect_err("[repository r]\nurl = sftp://h\n", 2,
	    "url: 'sftp://h' has no path (sftp://[user@]host[:port]/path)");
	expect_err("[repository r]\nurl = sftp://h/x\nport = 2\n"
	           "[repository s]\nurl = sftp://h:22/x\nport = 2\n",
	    6, "port: the url (line 5) already has a port; keep one");
	expect_err("[repository r]\nurl = sftp://a@h/x\nuser = b\n", 3,
	    "user: the url (line 2) already has a user; keep one");
}
END_TEST

START_TEST(test_section_level_errors)
{
	expect_err("[source s]\ntype = files\n", 1,
	    "missing required key 'paths' in [source s]");
	expect_err("\n[source s]\npaths = /etc\n", 2,
	    "missing required key 'type' in [source s]");
	expect_err("[source s]\ntype = postgres\n\n[repository r]\npath=/\n", 1,
	    "missing required key 'database' in [source s]");
	expect_err("[source s]\ntype = command\ncommand = slapcat\n", 1,
	    "missing required key 'name' in [source s]");
	expect_err("[source s]\ndatabase = gas\ntype = files\npaths = /\n", 2,
	    "key 'database' does not apply to type = files");
	expect_err("[source s]\ntype = sqlite\npath = /db\nglobals = yes\n", 4,
	    "key 'globals' does not apply to type = sqlite");
	expect_err("[repository r]\npath = /x\nidentity = /id\n", 3,
	    "key 'identity' does not apply to a local repository (path)");
	expect_err("[repository r]\npassword_file = /k\n", 1,
	    "[repository r] needs 'path' (a local directory) or 'url' "
	    "(sftp://[user@]host[:port]/path or "
	    "s3://[access@]endpoint[:port]/bucket/prefix)");
	expect_err("[repository r]\npath = /x\nurl = sftp://h/x\n", 3,
	    "[repository r] has both 'path' and 'url'; keep one");
	expect_err("[repository r]\npath = /x\npassword_command = pass x\n"
	           "password_file = /k\n",
	    4,
	    "[repository r] has both 'password_file' and "
	    "'password_command'; keep one");
	expect_err("[job j]\nrepository = r\n", 1,
	    "missing required key 'sources' in [job j]");
	expect_err("[drill d]\nsnapshot = latest\n", 1,
	    "missing required key 'repository' in [drill d]");
}
END_TEST

START_TEST(test_cross_references)
{
	static const char base[] = "[repository local]\npath = /r\n"
	                           "[source gasdb]\ntype = sqlite\n"
	                           "path = /db\n";
	char text[512];

	snprintf(text, sizeof(text),
	    "%s[job j]\nsources = gasdb\nrepository = remote\n", base);
	expect_err(text, 8, "repository: no section [repository remote]");
	snprintf(text, sizeof(text),
	    "%s[job j]\nsources = gasdb, etc\nrepository = local\n", base);
	expect_err(text, 7, "sources: no section [source etc]");
	snprintf(text, sizeof(text),
	    "%s[job j]\nsources = gasdb\nrepository = local\n"
	    "replicate = offsite\n",
	    base);
	expect_err(text, 9, "replicate: no section [repository offsite]");
	snprintf(text, sizeof(text),
	    "%s[job j]\nsources = gasdb\nrepository = local\n"
	    "replicate = local\n",
	    base);
	expect_err(text, 9,
	    "replicate: 'local' is the job's own repository (line 8)");
	snprintf(text, sizeof(text), "%s[drill d]\nrepository = gasdb\n", base);
	expect_err(text, 7, "repository: no section [repository gasdb]");
	snprintf(text, sizeof(text),
	    "%s[drill d]\nrepository = local\nsource = local\n", base);
	expect_err(text, 8, "source: no section [source local]");
	/* A reference may point forward in the file. */
	config_free(load_ok("[job j]\nsources = s\nrepository = r\n"
	                    "[source s]\ntype = sqlite\npath = /db\n"
	                    "[repository r]\npath = /r\n"));
}
END_TEST

START_TEST(test_first_error_by_line_wins)
{
	/* The bad value (line 3) is found when the section ends, after the
	 * bad header (line 4) is read; line 3 is still the one reported. */
	expect_err("[repository r]\npath = /x\ncompression = 99\n[bogus]\n", 3,
	    "compression: '99' is not a zstd level (1-19)");
	/* A structural error inside a section with an earlier bad key. */
	expect_err("[repository r]\npath = /x\ncompression = 99\nwords\n", 3,
	    "compression: '99' is not a zstd level (1-19)");
	/* An unknown key beats the required key it was probably meant to
	 * be, although the section line is earlier. */
	expect_err("[source s]\ntpye = files\npaths = /\n", 2,
	    "unknown key 'tpye' in [source s] (did you mean 'type'?)");
	/* Keys before 'type' are judged by it too. */
	expect_err("[source s]\nmethod = dump\ndatabase = x\ntype = mysql\n", 2,
	    "key 'method' does not apply to type = mysql");
	/* Later sections are not looked at after an error. */
	expect_err("[repository r]\nfoo = 1\n[repository r]\n", 2,
	    "unknown key 'foo' in [repository r]");
}
END_TEST

START_TEST(test_line_too_long_and_nul)
{
	char text[600];
	char cmd[300];

	memset(cmd, 'x', sizeof(cmd) - 1);
	cmd[sizeof(cmd) - 1] = '\0';
	snprintf(text, sizeof(text),
	    "[repository r]\npath = /x\npassword_command = %s\n", cmd);
	expect_err(text, 3,
	    "line longer than 198 characters (comments aside); continue the "
	    "value on indented lines");
	/* A long comment is fine: it is cut before the check. */
	snprintf(text, sizeof(text), "[repository r]\npath = /x  # %s\n", cmd);
	config_free(load_ok(text));
	/* Exactly 198 characters fit. */
	memset(cmd, 'y', sizeof(cmd));
	cmd[198 - strlen("password_command = ")] = '\0';
	snprintf(text, sizeof(text),
	    "[repository r]\npath = /x\npassword_command = %s\n", cmd);
	config_free(load_ok(text));

	write_conf_n("[repository r]\npath = /x\0y\n", 27, 0644);
	{
		struct config *cfg;
		struct err e;
		char want[600];

		ck_assert_int_eq(config_load(conf, &cfg, &e), -1);
		snprintf(want, sizeof(want),
		    "%s:2: NUL byte in the line: not a text file", conf);
		ck_assert_str_eq(e.msg, want);
	}
}
END_TEST

START_TEST(test_missing_and_unreadable_file)
{
	struct config *cfg = (struct config *)1;
	char path[200], want[600];
	struct err e;

	snprintf(path, sizeof(path), "%s/nope.conf", dir);
	ck_assert_int_eq(config_load(path, &cfg, &e), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_int_eq(e.class, ERR_CONFIG);
	snprintf(want, sizeof(want),
	    "config file %s: No such file or directory", path);
	ck_assert_str_eq(e.msg, want);
	ck_assert_ptr_null(strchr(e.msg, '\n'));

	ck_assert_int_eq(config_load(dir, &cfg, &e), -1);
	ck_assert_int_eq(e.class, ERR_CONFIG);
	snprintf(want, sizeof(want), "config file %s is not a regular file",
	    dir);
	ck_assert_str_eq(e.msg, want);
}
END_TEST

START_TEST(test_insecure_config_refused)
{
	struct config *cfg = (struct config *)1;
	char want[600];
	struct err e;

	write_conf_n("[repository r]\npath = /x\n", 0, 0666);
	ck_assert_int_eq(config_load(conf, &cfg, &e), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_int_eq(e.class, ERR_CONFIG);
	snprintf(want, sizeof(want),
	    "config file %s is writable by group or others (mode 0666); run: "
	    "chmod go-w %s",
	    conf, conf);
	ck_assert_str_eq(e.msg, want);

	ck_assert_int_eq(chmod(conf, 0620), 0);
	ck_assert_int_eq(config_load(conf, &cfg, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "chmod go-w"));

	/* Readable by all is fine: a config holds no secret. */
	ck_assert_int_eq(chmod(conf, 0644), 0);
	ck_assert_int_eq(config_load(conf, &cfg, &e), 0);
	config_free(cfg);

	if (geteuid() == 0) {
		ck_assert_int_eq(chown(conf, 65534, 65534), 0);
		ck_assert_int_eq(config_load(conf, &cfg, &e), -1);
		ck_assert_int_eq(e.class, ERR_CONFIG);
		ck_assert_ptr_nonnull(strstr(e.msg, "owned by uid 65534"));
	}
}
END_TEST

START_TEST(test_config_err_names_the_key_line)
{
	struct config *cfg = load_ok(design_example);
	const struct config_section *s;
	char want[600];
	struct err e;

	s = config_section_find(cfg, CONFIG_REPOSITORY, "offsite");
	ck_assert_int_eq(config_err(&e, s, "password_file", "bad %d", 7), -1);
	ck_assert_int_eq(e.class, ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:9: bad 7", conf);
	ck_assert_str_eq(e.msg, want);
	/* A key from a default, or none: the section's line. */
	config_err(&e, s, "io_timeout", "x");
	snprintf(want, sizeof(want), "%s:5: x", conf);
	ck_assert_str_eq(e.msg, want);
	config_err(&e, s, NULL, "y");
	snprintf(want, sizeof(want), "%s:5: y", conf);
	ck_assert_str_eq(e.msg, want);
	/* The implicit [global] has no line. */
	config_err(&e, config_global(cfg), "log", "z");
	snprintf(want, sizeof(want), "%s: z", conf);
	ck_assert_str_eq(e.msg, want);
	config_free(cfg);
}
END_TEST

START_TEST(test_getter_of_wrong_type_aborts)
{
	struct config *cfg = load_ok(design_example);
	int64_t i;

	/* "path" is a string: asking for an int is a bug (the assert
	 * message on stderr during the run is this test). */
	config_get_int(config_next(cfg, NULL, CONFIG_REPOSITORY), "path", &i);
}
END_TEST

START_TEST(test_name_valid)
{
	char long_name[CONFIG_NAME_MAX + 2];

	ck_assert(config_name_valid("local"));
	ck_assert(config_name_valid("gas_db-1.2"));
	ck_assert(config_name_valid("_x"));
	ck_assert(config_name_valid("9"));
	ck_assert(!config_name_valid(""));
	ck_assert(!config_name_valid("."));
	ck_assert(!config_name_valid(".."));
	ck_assert(!config_name_valid(".hidden"));
	ck_assert(!config_name_valid("-r"));
	ck_assert(!config_name_valid("a b"));
	ck_assert(!config_name_valid("a/b"));
	ck_assert(!config_name_valid("caf\xc3\xa9"));
	memset(long_name, 'a', sizeof(long_name));
	long_name[CONFIG_NAME_MAX] = '\0';
	ck_assert(config_name_valid(long_name));
	long_name[CONFIG_NAME_MAX] = 'a';
	long_name[CONFIG_NAME_MAX + 1] = '\0';
	ck_assert(!config_name_valid(long_name));
	ck_assert_str_eq(config_type_name(CONFIG_DRILL), "drill");
	ck_assert_str_eq(config_type_name(CONFIG_GLOBAL), "global");
}
END_TEST

Suite *config_suite(void);

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *load = tcase_create("load");
	TCase *errors = tcase_create("errors");
	TCase *parse = tcase_create("parse");
	/* Tagged, so a CK_FORK=no run can leave it out: CK_EXCLUDE_TAGS=abort
	 */
	TCase *abort_case = tcase_create("abort");

	tcase_add_unchecked_fixture(load, setup, teardown);
	tcase_add_test(load, test_design_example_reads_back);
	tcase_add_test(load, test_every_type_reads_back);
	tcase_add_test(load, test_settings_iterate_applicable_keys);
	tcase_add_test(load,
	    test_line_numbers_with_comments_blanks_continuations);
	tcase_add_test(load, test_bom_and_crlf);
	tcase_add_test(load, test_same_name_in_different_types_is_fine);
	tcase_add_test(load, test_config_err_names_the_key_line);
	suite_add_tcase(s, load);

	tcase_add_unchecked_fixture(errors, setup, teardown);
	tcase_add_test(errors, test_section_header_errors);
	tcase_add_test(errors, test_key_errors);
	tcase_add_test(errors, test_indented_key_is_not_swallowed);
	tcase_add_test(errors, test_value_errors);
	tcase_add_test(errors, test_url_errors);
	tcase_add_test(errors, test_section_level_errors);
	tcase_add_test(errors, test_cross_references);
	tcase_add_test(errors, test_first_error_by_line_wins);
	tcase_add_test(errors, test_line_too_long_and_nul);
	tcase_add_test(errors, test_missing_and_unreadable_file);
	tcase_add_test(errors, test_insecure_config_refused);
	suite_add_tcase(s, errors);

	tcase_add_test(parse, test_name_valid);
	suite_add_tcase(s, parse);

	tcase_set_tags(abort_case, "abort");
	tcase_add_unchecked_fixture(abort_case, setup, teardown);
	tcase_add_test_raise_signal(abort_case,
	    test_getter_of_wrong_type_aborts, SIGABRT);
	suite_add_tcase(s, abort_case);
	return (s);
}
