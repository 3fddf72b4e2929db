/*
 * The configuration file.  inih splits lines into keys and values; our
 * reader callback hands it one line at a time, so that we know the line
 * of every key and see the section headers inih keeps to itself.  Each
 * section is checked against its schema table when it ends.
 */
#include "config.h"

#include <sys/types.h>

#include <sys/stat.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conninfo.h"
#include "repo/compress.h"
#include "schedule.h"
#include "secfile.h"
#include "url.h"
#include "value.h"
#include "xmalloc.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The schema.  One table per section type; a later feature adds a key by
 * adding a row (and a line in coffer.conf.5).
 */
#define REQUIRED 0x1u
/*
 * Read and checked, but nothing acts on it yet (the scheduler and drills
 * will): config check warns when the file sets it (config_not_yet).
 */
#define LATER 0x2u

/* Variants: a source's type (bit = index in source_types), a repository's
 * kind.  A row's applies mask says which variants take the key; 0 = all. */
#define SRC_FILES    (1u << 0)
#define SRC_POSTGRES (1u << 1)
#define SRC_MYSQL    (1u << 2)
#define SRC_SQLITE   (1u << 3)
#define SRC_COMMAND  (1u << 4)
#define REPO_LOCAL   (1u << 0)
#define REPO_SFTP    (1u << 1)
#define REPO_S3      (1u << 2)
#define REPO_REMOTE  (REPO_SFTP | REPO_S3)
#define DRILL_ONE    (1u << 0) /* a drill with a target */
#define DRILL_CHAIN  (1u << 1) /* a drill of steps (other drills) */

#define NOLIMIT INT64_MAX
/* Durations stay within an int and a 32-bit time_t's reach. */
#define DUR_MAX ((int64_t)INT32_MAX)

struct schema_key {
	const char *name;
	enum config_vtype vtype;
	const char *def; /* default, as it would be written; NULL: none */
	unsigned flags;  /* REQUIRED, LATER */
	unsigned applies;
	int64_t min, max;         /* INT, SIZE, DURATION */
	const char *what;         /* INT: what the number is, for messages */
	const char *const *words; /* ENUM */
	enum config_type ref;     /* REF, REFS: the type of section named */
};

#define K(n) .name = (n)
#define INT(lo, hi, noun)                                                      \
	.vtype = CONFIG_V_INT, .min = (lo), .max = (hi), .what = (noun)
#define DURATION(lo, hi) .vtype = CONFIG_V_DURATION, .min = (lo), .max = (hi)
#define ENUM(w)          .vtype = CONFIG_V_ENUM, .words = (w)
#define REF(t)           .vtype = CONFIG_V_REF, .ref = (t)
#define REFS(t)          .vtype = CONFIG_V_REFS, .ref = (t)
#define TYPE(t)          .vtype = (t)

static const char *const log_words[] = { "stderr", "syslog", NULL };
static const char *const source_types[] = { "files", "postgres", "mysql",
	"sqlite", "command", NULL };
static const char *const pg_methods[] = { "dump", "basebackup", NULL };
static const char *const lock_words[] = { "shared", "none", NULL };

static const struct schema_key global_keys[] = {
	{ K("log"), ENUM(log_words), .def = "stderr" },
	{ K("cache_dir"), TYPE(CONFIG_V_PATH), .def = "/var/cache/coffer" },
	{ K("state_dir"), TYPE(CONFIG_V_PATH), .def = "/var/lib/coffer" },
	{ K("metrics_file"), TYPE(CONFIG_V_PATH) },
	{ K("lock_stale_after"), DURATION(60, DUR_MAX), .def = "30m" },
	{ K("lock_wait"), DURATION(0, DUR_MAX) },
};

static const struct schema_key repository_keys[] = {
	{ K("path"), TYPE(CONFIG_V_PATH) },
	{ K("url"), TYPE(CONFIG_V_URL) },
	{ K("password_file"), TYPE(CONFIG_V_PATH) },
	{ K("password_command"), TYPE(CONFIG_V_COMMAND) },
	{ K("identity"), TYPE(CONFIG_V_PATH), .applies = REPO_SFTP },
	{ K("identity_passphrase_file"), TYPE(CONFIG_V_PATH),
	    .applies = REPO_SFTP },
	{ K("known_hosts"), TYPE(CONFIG_V_PATH), .applies = REPO_SFTP },
	{ K("port"), INT(1, 65535, "a port number"), .applies = REPO_SFTP },
	{ K("user"), TYPE(CONFIG_V_STRING), .applies = REPO_SFTP },
	{ K("connect_timeout"), DURATION(1, 3600), .def = "10s",
	    .applies = REPO_REMOTE },
	{ K("io_timeout"), DURATION(1, 86400), .def = "60s",
	    .applies = REPO_REMOTE },
	{ K("keepalive"), DURATION(0, 3600), .def = "15s",
	    .applies = REPO_SFTP },
	{ K("retries"), INT(0, 100, "a number of retries"), .def = "5",
	    .applies = REPO_REMOTE },
	{ K("transfers"), INT(1, 16, "a number of transfers"), .def = "2",
	    .applies = REPO_REMOTE },
	{ K("limit_upload"), INT(0, NOLIMIT, "a rate in KiB/s"), .def = "0",
	    .applies = REPO_REMOTE },
	{ K("limit_download"), INT(0, NOLIMIT, "a rate in KiB/s"), .def = "0",
	    .applies = REPO_REMOTE },
	{ K("access_key_file"), TYPE(CONFIG_V_PATH), .applies = REPO_S3 },
	{ K("secret_key_file"), TYPE(CONFIG_V_PATH), .applies = REPO_S3 },
	{ K("region"), TYPE(CONFIG_V_NAME), .def = "us-east-1",
	    .applies = REPO_S3 },
	{ K("ca_file"), TYPE(CONFIG_V_PATH), .applies = REPO_S3 },
	{ K("insecure_http"), TYPE(CONFIG_V_BOOL), .def = "no",
	    .applies = REPO_S3 },
	{ K("path_style"), TYPE(CONFIG_V_BOOL), .def = "yes",
	    .applies = REPO_S3 },
	{ K("compression"),
	    INT(COMPRESS_LEVEL_MIN, COMPRESS_LEVEL_MAX, "a zstd level"),
	    .def = "3" },
	{ K("locks"), ENUM(lock_words), .def = "shared" },
};

static const struct schema_key source_keys[] = {
	{ K("type"), ENUM(source_types), .flags = REQUIRED },
	{ K("paths"), TYPE(CONFIG_V_PATHS), .flags = REQUIRED,
	    .applies = SRC_FILES },
	{ K("exclude"), TYPE(CONFIG_V_LIST), .applies = SRC_FILES },
	{ K("one_file_system"), TYPE(CONFIG_V_BOOL), .def = "no",
	    .applies = SRC_FILES },
	{ K("database"), TYPE(CONFIG_V_STRING), .flags = REQUIRED,
	    .applies = SRC_POSTGRES | SRC_MYSQL },
	{ K("connection"), TYPE(CONFIG_V_STRING), .applies = SRC_POSTGRES },
	{ K("globals"), TYPE(CONFIG_V_BOOL), .def = "no",
	    .applies = SRC_POSTGRES },
	{ K("method"), ENUM(pg_methods), .def = "dump",
	    .applies = SRC_POSTGRES },
	{ K("defaults_file"), TYPE(CONFIG_V_PATH), .applies = SRC_MYSQL },
	{ K("path"), TYPE(CONFIG_V_PATH), .flags = REQUIRED,
	    .applies = SRC_SQLITE },
	{ K("command"), TYPE(CONFIG_V_COMMAND), .flags = REQUIRED,
	    .applies = SRC_COMMAND },
	{ K("name"), TYPE(CONFIG_V_NAME), .flags = REQUIRED,
	    .applies = SRC_COMMAND },
	{ K("compression"),
	    INT(COMPRESS_LEVEL_MIN, COMPRESS_LEVEL_MAX, "a zstd level") },
	{ K("before"), TYPE(CONFIG_V_COMMAND) },
	{ K("after"), TYPE(CONFIG_V_COMMAND) },
	{ K("hook_timeout"), DURATION(1, DUR_MAX), .def = "5m" },
};

static const struct schema_key job_keys[] = {
	{ K("sources"), REFS(CONFIG_SOURCE), .flags = REQUIRED },
	{ K("repository"), REF(CONFIG_REPOSITORY), .flags = REQUIRED },
	{ K("schedule"), TYPE(CONFIG_V_SCHEDULE) },
	{ K("replicate"), REF(CONFIG_REPOSITORY) },
	{ K("keep_last"), INT(0, NOLIMIT, "a count") },
	{ K("keep_hourly"), INT(0, NOLIMIT, "a count") },
	{ K("keep_daily"), INT(0, NOLIMIT, "a count") },
	{ K("keep_weekly"), INT(0, NOLIMIT, "a count") },
	{ K("keep_monthly"), INT(0, NOLIMIT, "a count") },
	{ K("keep_yearly"), INT(0, NOLIMIT, "a count") },
	{ K("check"), TYPE(CONFIG_V_PERCENT) },
	{ K("before"), TYPE(CONFIG_V_COMMAND) },
	{ K("after"), TYPE(CONFIG_V_COMMAND) },
	{ K("hook_timeout"), DURATION(1, DUR_MAX), .def = "5m" },
	{ K("on_failure"), TYPE(CONFIG_V_COMMAND) },
	{ K("on_success"), TYPE(CONFIG_V_COMMAND) },
	{ K("timeout"), DURATION(1, DUR_MAX) },
	{ K("timezone"), TYPE(CONFIG_V_ZONE) },
	{ K("jitter"), DURATION(0, DUR_MAX) },
	{ K("prune_schedule"), TYPE(CONFIG_V_SCHEDULE) },
	{ K("lock_wait"), DURATION(0, DUR_MAX) },
};

static const struct schema_key drill_keys[] = {
	{ K("repository"), REF(CONFIG_REPOSITORY), .flags = REQUIRED,
	    .applies = DRILL_ONE },
	{ K("snapshot"), TYPE(CONFIG_V_STRING), .def = "latest",
	    .applies = DRILL_ONE },
	{ K("source"), REF(CONFIG_SOURCE), .applies = DRILL_ONE },
	{ K("target"), TYPE(CONFIG_V_STRING), .applies = DRILL_ONE },
	{ K("steps"), REFS(CONFIG_DRILL), .applies = DRILL_CHAIN },
	{ K("sql_checks"), TYPE(CONFIG_V_STRING), .applies = DRILL_ONE },
	{ K("checks"), TYPE(CONFIG_V_COMMAND), .applies = DRILL_ONE },
	{ K("max_rto"), DURATION(1, DUR_MAX) },
	{ K("max_rpo"), DURATION(1, DUR_MAX) },
	{ K("drill_user"), TYPE(CONFIG_V_NAME), .applies = DRILL_ONE },
	{ K("defaults_file"), TYPE(CONFIG_V_PATH), .applies = DRILL_ONE },
	{ K("timeout"), DURATION(1, DUR_MAX), .applies = DRILL_ONE },
	{ K("identity"), TYPE(CONFIG_V_PATH), .applies = DRILL_ONE },
	{ K("identity_passphrase_file"), TYPE(CONFIG_V_PATH),
	    .applies = DRILL_ONE },
	{ K("known_hosts"), TYPE(CONFIG_V_PATH), .applies = DRILL_ONE },
	{ K("schedule"), TYPE(CONFIG_V_SCHEDULE) },
	{ K("on_failure"), TYPE(CONFIG_V_COMMAND) },
	{ K("hook_timeout"), DURATION(1, DUR_MAX), .def = "5m" },
};

struct section_schema {
	const char *type;
	const struct schema_key *keys;
	size_t nkeys;
};

static const struct section_schema schemas[] = {
	[CONFIG_ANY] = { "any", NULL, 0 },
	[CONFIG_GLOBAL] = { "global", global_keys, NELEM(global_keys) },
	[CONFIG_REPOSITORY] = { "repository", repository_keys,
	    NELEM(repository_keys) },
	[CONFIG_SOURCE] = { "source", source_keys, NELEM(source_keys) },
	[CONFIG_JOB] = { "job", job_keys, NELEM(job_keys) },
	[CONFIG_DRILL] = { "drill", drill_keys, NELEM(drill_keys) },
};

/* The loaded config. */
struct key {
	char *name;
	char *value;
	int line; /* 0: filled in from the default */
	const struct schema_key *sk;
	union {
		int64_t i;
		uint64_t u;
		double d;
	} v;
	char **items;
	size_t nitems;
};

struct config_section {
	const struct config *cfg;
	size_t idx; /* in cfg->secs; SIZE_MAX for an implicit [global] */
	enum config_type type;
	char *name;
	int line;
	unsigned variant; /* SRC_* or REPO_*; 0: none or not known */
	int checked;
	struct key *keys;
	size_t nkeys, cap;
};

struct config {
	char *path;
	struct config_section **secs;
	size_t nsecs, cap;
	struct config_section *global;
	int global_implicit;
};

/* Parser state, shared by the reader and the handler. */
enum line_kind { LINE_OTHER, LINE_KEY, LINE_CONT };

struct parse {
	struct config *cfg;
	FILE *fp;
	char *buf;
	size_t bufsz;
	int line;
	int after_key; /* inih reads an indented line after a key as more
	                  of its value */
	enum line_kind kind;
	struct config_section *cur;
	char *cur_raw; /* the header text between [ and ], as inih has it */
	int failed;
	int err_line; /* of the recorded error; 0 beats every line */
	struct err *e;
};

static int
is_space(int c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f');
}

static int
is_digit(int c)
{
	return (c >= '0' && c <= '9');
}

static int
is_name_char(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    is_digit(c) || c == '_' || c == '.' || c == '-');
}

/*
 * Record an error at line unless one on an earlier line is already known:
 * sections are checked when they end, so detection order is not line order.
 */
static void pfail(struct parse *, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
pfail(struct parse *p, int line, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	if (p->failed && line >= p->err_line)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(p->e, ERR_CONFIG, "%s:%d: %s", p->cfg->path, line, msg);
	p->failed = 1;
	p->err_line = line;
}

/* Our reading of a line and inih's differ: a bug, never a user's error. */
static void
pfail_internal(struct parse *p)
{
	pfail(p, p->line,
	    "internal error: the INI parser and coffer read this line "
	    "differently");
	if (p->err_line == p->line)
		p->e->class = ERR_INTERNAL;
}

static const char *
label(const struct config_section *s, char *buf, size_t size)
{
	if (s->name == NULL)
		snprintf(buf, size, "[%s]", schemas[s->type].type);
	else
		snprintf(buf, size, "[%s %s]", schemas[s->type].type, s->name);
	return (buf);
}

static const struct schema_key *
schema_find(enum config_type t, const char *name)
{
	for (size_t i = 0; i < schemas[t].nkeys; i++)
		if (strcmp(schemas[t].keys[i].name, name) == 0)
			return (&schemas[t].keys[i]);
	return (NULL);
}

static const struct key *
key_find(const struct config_section *s, const char *name)
{
	for (size_t i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i].name, name) == 0)
			return (&s->keys[i]);
	return (NULL);
}

static int
is_list(enum config_vtype t)
{
	return (
	    t == CONFIG_V_LIST || t == CONFIG_V_PATHS || t == CONFIG_V_REFS);
}

static int
applies(const struct config_section *s, const struct schema_key *sk)
{
	return (sk->applies == 0 || s->variant == 0 ||
	    (sk->applies & s->variant) != 0);
}

int
config_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_NAME_MAX || s[0] == '.' || s[0] == '-')
		return (0);
	for (size_t i = 0; i < n; i++)
		if (!is_name_char((unsigned char)s[i]))
			return (0);
	return (1);
}

/* Values: what each kind expects, in messages. */

static void
fmt_duration(uint64_t v, char *buf, size_t size)
{
	static const struct {
		uint64_t secs;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	size_t n = 0;

	buf[0] = '\0';
	if (v == 0) {
		snprintf(buf, size, "0s");
		return;
	}
	for (size_t i = 0; i < NELEM(units) && n < size; i++) {
		if (v / units[i].secs == 0)
			continue;
		n += (size_t)snprintf(buf + n, size - n, "%llu%c",
		    (unsigned long long)(v / units[i].secs), units[i].unit);
		v %= units[i].secs;
	}
}

static const char *
expect(const struct schema_key *sk, char *buf, size_t size)
{
	size_t n;

	switch (sk->vtype) {
	case CONFIG_V_STRING:
		return ("text");
	case CONFIG_V_COMMAND:
		return ("a command");
	case CONFIG_V_PATH:
		return ("an absolute path");
	case CONFIG_V_NAME:
		return ("a name (letters, digits, '_', '.', '-')");
	case CONFIG_V_ENUM:
		n = (size_t)snprintf(buf, size, "one of:");
		for (size_t i = 0; sk->words[i] != NULL && n < size; i++)
			n += (size_t)snprintf(buf + n, size - n, "%s %s",
			    i == 0 ? "" : ",", sk->words[i]);
		return (buf);
	case CONFIG_V_URL:
		return ("an sftp URL (sftp://[user@]host[:port]/path) or an s3 "
		        "URL (s3://[access@]endpoint[:port]/bucket/prefix)");
	case CONFIG_V_REF:
		snprintf(buf, size, "the name of a [%s] section",
		    schemas[sk->ref].type);
		return (buf);
	case CONFIG_V_BOOL:
		return ("a boolean (yes/no, true/false, on/off, 1/0)");
	case CONFIG_V_INT:
		if (sk->max == NOLIMIT)
			snprintf(buf, size, "%s (%lld or more)", sk->what,
			    (long long)sk->min);
		else
			snprintf(buf, size, "%s (%lld-%lld)", sk->what,
			    (long long)sk->min, (long long)sk->max);
		return (buf);
	case CONFIG_V_SIZE:
		return ("a size (e.g. 512K, 64M, 2G)");
	case CONFIG_V_DURATION:
		return ("a duration (e.g. 90, 30s, 5m, 2h, 1d)");
	case CONFIG_V_PERCENT:
		return ("a percentage from 0% to 100% (e.g. 5%)");
	case CONFIG_V_LIST:
		return ("a list of words");
	case CONFIG_V_PATHS:
		return ("a list of absolute paths");
	case CONFIG_V_REFS:
		snprintf(buf, size, "a list of [%s] names",
		    schemas[sk->ref].type);
		return (buf);
	case CONFIG_V_SCHEDULE:
		return ("a schedule (e.g. daily 02:30, Mon..Fri 22:00, "
		        "*/15 * * * *)");
	case CONFIG_V_ZONE:
		return ("a time zone (e.g. Europe/Berlin, UTC)");
	}
	return ("a value");
}

/*
 * Check k's text against its schema row and keep the parsed value.  On
 * failure, pfail and -1.  p is NULL for defaults, which must parse.
 */
static int
parse_value(struct parse *p, struct key *k, const struct schema_key *sk)
{
	const char *v = k->value;
	char exp[160], lo[32], hi[32];
	struct schedule *sched;
	struct url_sftp url;
	struct url_s3 url3;
	struct err ue;
	int b;

	k->sk = sk;
	if (*v == '\0') {
		if (is_list(sk->vtype) && !(sk->flags & REQUIRED))
			return (0);
		goto empty;
	}
	switch (sk->vtype) {
	case CONFIG_V_STRING:
	case CONFIG_V_COMMAND:
		return (0);
	case CONFIG_V_PATH:
		if (v[0] != '/')
			goto bad;
		return (0);
	case CONFIG_V_NAME:
	case CONFIG_V_REF:
		if (!config_name_valid(v))
			goto bad;
		return (0);
	case CONFIG_V_ENUM:
		for (size_t i = 0; sk->words[i] != NULL; i++)
			if (strcmp(v, sk->words[i]) == 0) {
				k->v.i = (int64_t)i;
				return (0);
			}
		goto bad;
	case CONFIG_V_URL:
		if (strncmp(v, "s3://", 5) == 0
		        ? url_parse_s3(v, &url3, &ue) == 0
		        : url_parse_sftp(v, &url, &ue) == 0)
			return (0);
		if (p != NULL)
			pfail(p, k->line, "%s: %s", k->name, ue.msg);
		return (-1);
	case CONFIG_V_BOOL:
		if (value_parse_bool(v, &b) == -1)
			goto bad;
		k->v.i = b;
		return (0);
	case CONFIG_V_INT:
		if (value_parse_int(v, &k->v.i) == -1 || k->v.i < sk->min ||
		    k->v.i > sk->max)
			goto bad;
		return (0);
	case CONFIG_V_SIZE:
		if (value_parse_size(v, &k->v.u) == -1)
			goto bad;
		if (k->v.u < (uint64_t)sk->min || k->v.u > (uint64_t)sk->max) {
			if (p != NULL)
				pfail(p, k->line,
				    "%s: '%s' is out of range (%lld to %lld "
				    "bytes)",
				    k->name, v, (long long)sk->min,
				    (long long)sk->max);
			return (-1);
		}
		return (0);
	case CONFIG_V_DURATION:
		if (value_parse_duration(v, &k->v.u) == -1)
			goto bad;
		if (k->v.u < (uint64_t)sk->min || k->v.u > (uint64_t)sk->max) {
			fmt_duration((uint64_t)sk->min, lo, sizeof(lo));
			fmt_duration((uint64_t)sk->max, hi, sizeof(hi));
			if (p != NULL && sk->max == DUR_MAX)
				pfail(p, k->line,
				    "%s: '%s' is too short (at least %s)",
				    k->name, v, lo);
			else if (p != NULL)
				pfail(p, k->line,
				    "%s: '%s' is out of range (%s to %s)",
				    k->name, v, lo, hi);
			return (-1);
		}
		return (0);
	case CONFIG_V_PERCENT:
		if (value_parse_percent(v, &k->v.d) == -1)
			goto bad;
		return (0);
	case CONFIG_V_SCHEDULE:
		if (schedule_parse(v, &sched, &ue) == -1) {
			if (p != NULL)
				pfail(p, k->line, "%s: %s", k->name, ue.msg);
			return (-1);
		}
		schedule_free(sched);
		return (0);
	case CONFIG_V_ZONE:
		if (schedule_tz_check(v, &ue) == -1) {
			if (p != NULL)
				pfail(p, k->line, "%s: %s", k->name, ue.msg);
			return (-1);
		}
		return (0);
	case CONFIG_V_LIST:
	case CONFIG_V_PATHS:
	case CONFIG_V_REFS:
		if (value_parse_list(v, &k->items, &k->nitems) == -1) {
			if (p != NULL)
				pfail(p, k->line,
				    "%s: '%s' is not %s: a quote is "
				    "unterminated, empty or inside a word",
				    k->name, v, expect(sk, exp, sizeof(exp)));
			return (-1);
		}
		if (k->nitems == 0 && (sk->flags & REQUIRED))
			goto empty;
		for (size_t i = 0; i < k->nitems; i++) {
			const char *it = k->items[i];

			if (sk->vtype == CONFIG_V_PATHS && it[0] != '/') {
				if (p != NULL)
					pfail(p, k->line,
					    "%s: '%s' is not an absolute path",
					    k->name, it);
				return (-1);
			}
			if (sk->vtype != CONFIG_V_REFS)
				continue;
			if (!config_name_valid(it)) {
				if (p != NULL)
					pfail(p, k->line,
					    "%s: '%s' is not a valid [%s] name",
					    k->name, it, schemas[sk->ref].type);
				return (-1);
			}
			for (size_t j = 0; j < i; j++)
				if (strcmp(k->items[j], it) == 0) {
					if (p != NULL)
						pfail(p, k->line,
						    "%s: '%s' is listed twice",
						    k->name, it);
					return (-1);
				}
		}
		return (0);
	}
bad:
	if (p != NULL)
		pfail(p, k->line, "%s: '%s' is not %s", k->name, v,
		    expect(sk, exp, sizeof(exp)));
	return (-1);
empty:
	if (p != NULL)
		pfail(p, k->line, "%s: no value; expected %s", k->name,
		    expect(sk, exp, sizeof(exp)));
	return (-1);
}

/* Sections. */

static struct config_section *
section_new(struct config *cfg, enum config_type t, const char *name, int line)
{
	struct config_section *s = xcalloc(1, sizeof(*s));

	s->cfg = cfg;
	s->idx = SIZE_MAX;
	s->type = t;
	s->name = name != NULL ? xstrdup(name) : NULL;
	s->line = line;
	return (s);
}

static void
section_free(struct config_section *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nkeys; i++) {
		free(s->keys[i].name);
		free(s->keys[i].value);
		value_list_free(s->keys[i].items, s->keys[i].nitems);
	}
	free(s->keys);
	free(s->name);
	free(s);
}

static struct key *
section_add_key(struct config_section *s, const char *name, const char *value,
    int line)
{
	struct key *k;

	if (s->nkeys == s->cap) {
		s->cap = s->cap == 0 ? 8 : s->cap * 2;
		s->keys = xreallocarray(s->keys, s->cap, sizeof(*s->keys));
	}
	k = &s->keys[s->nkeys++];
	memset(k, 0, sizeof(*k));
	k->name = xstrdup(name);
	k->value = xstrdup(value);
	k->line = line;
	return (k);
}

/* The variant from the keys that choose it; 0 while unknown. */
static unsigned
section_variant(const struct config_section *s)
{
	const struct key *k;

	switch (s->type) {
	case CONFIG_SOURCE:
		if ((k = key_find(s, "type")) == NULL)
			return (0);
		for (size_t i = 0; source_types[i] != NULL; i++)
			if (strcmp(k->value, source_types[i]) == 0)
				return (1u << i);
		return (0);
	case CONFIG_REPOSITORY:
		if ((k = key_find(s, "url")) != NULL)
			return (strncmp(k->value, "s3://", 5) == 0 ? REPO_S3
			                                           : REPO_SFTP);
		if (key_find(s, "path") != NULL)
			return (REPO_LOCAL);
		return (0);
	case CONFIG_DRILL:
		return (key_find(s, "steps") != NULL ? DRILL_CHAIN : DRILL_ONE);
	default:
		return (0);
	}
}

static void
variant_text(const struct config_section *s, char *buf, size_t size)
{
	if (s->type == CONFIG_REPOSITORY)
		snprintf(buf, size, "%s",
		    s->variant == REPO_SFTP     ? "an sftp repository (url)"
		        : s->variant == REPO_S3 ? "an s3 repository (url)"
		                                : "a local repository (path)");
	else if (s->type == CONFIG_DRILL)
		snprintf(buf, size, "%s",
		    s->variant == DRILL_CHAIN
		        ? "a drill of steps (its steps have their own)"
		        : "a drill with a target");
	else
		snprintf(buf, size, "type = %s", key_find(s, "type")->value);
}

/* Edit distance, for "did you mean"; short strings only. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[CONFIG_NAME_MAX + 1];
	size_t prev, tmp;

	if (la > CONFIG_NAME_MAX || lb > CONFIG_NAME_MAX)
		return (SIZE_MAX);
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return (row[lb]);
}

static void
suggest(enum config_type t, const char *name, char *buf, size_t size)
{
	size_t best = 3, d;

	buf[0] = '\0';
	for (size_t i = 0; i < schemas[t].nkeys; i++) {
		d = distance(name, schemas[t].keys[i].name);
		if (d < best) {
			best = d;
			snprintf(buf, size, " (did you mean '%s'?)",
			    schemas[t].keys[i].name);
		}
	}
}

static void
add_defaults(struct config_section *s)
{
	const struct schema_key *sk;
	struct key *k;
	int rc;

	for (size_t i = 0; i < schemas[s->type].nkeys; i++) {
		sk = &schemas[s->type].keys[i];
		if (sk->def == NULL || !applies(s, sk) ||
		    key_find(s, sk->name) != NULL)
			continue;
		k = section_add_key(s, sk->name, sk->def, 0);
		rc = parse_value(NULL, k, sk);
		assert(rc == 0); /* a schema default that does not parse */
		(void)rc;
	}
}

static void
check_repository(struct parse *p, struct config_section *s)
{
	const struct key *path = key_find(s, "path"), *url = key_find(s, "url");
	const struct key *pf = key_find(s, "password_file");
	const struct key *pc = key_find(s, "password_command");
	const struct key *port = key_find(s, "port");
	const struct key *user = key_find(s, "user");
	struct url_sftp u;
	struct err ue;
	char lb[96];

	label(s, lb, sizeof(lb));
	if (path == NULL && url == NULL)
		pfail(p, s->line,
		    "%s needs 'path' (a local directory) or 'url' "
		    "(sftp://[user@]host[:port]/path or "
		    "s3://[access@]endpoint[:port]/bucket/prefix)",
		    lb);
	if (path != NULL && url != NULL)
		pfail(p, path->line > url->line ? path->line : url->line,
		    "%s has both 'path' and 'url'; keep one", lb);
	if (pf != NULL && pc != NULL)
		pfail(p, pf->line > pc->line ? pf->line : pc->line,
		    "%s has both 'password_file' and 'password_command'; "
		    "keep one",
		    lb);
	if (url == NULL || url_parse_sftp(url->value, &u, &ue) == -1)
		return;
	if (port != NULL && u.port != 0)
		pfail(p, port->line,
		    "port: the url (line %d) already has a port; keep one",
		    url->line);
	if (user != NULL && u.user[0] != '\0')
		pfail(p, user->line,
		    "user: the url (line %d) already has a user; keep one",
		    url->line);
}

/*
 * A job's jitter delays each run; one as long as the shortest time between
 * two due times would let the delayed run pass the next one.
 */
static void
check_jitter(struct parse *p, struct config_section *s)
{
	static const char *const keys[] = { "schedule", "prune_schedule" };
	const struct key *j = key_find(s, "jitter"), *k;
	struct schedule *sched;
	struct err ue;
	uint64_t min;
	char jt[32], mt[32];

	if (j == NULL)
		return;
	for (size_t i = 0; i < NELEM(keys); i++) {
		if ((k = key_find(s, keys[i])) == NULL ||
		    schedule_parse(k->value, &sched, &ue) == -1)
			continue;
		min = schedule_interval_min(sched);
		schedule_free(sched);
		if (j->v.u < min)
			continue;
		fmt_duration(j->v.u, jt, sizeof(jt));
		fmt_duration(min, mt, sizeof(mt));
		pfail(p, j->line,
		    "jitter: %s is not shorter than the %s between two runs "
		    "of %s '%s' (line %d); a delayed run would pass the next "
		    "one",
		    jt, mt, keys[i], k->value, k->line);
		return;
	}
}

enum config_drill_target
config_drill_target(const char *v, const char **arg)
{
	static const struct {
		const char *word;
		enum config_drill_target t;
		int prefix; /* "word:" then an argument */
	} forms[] = {
		{ "sqlite", CONFIG_DRILL_SQLITE, 0 },
		{ "postgres-scratch", CONFIG_DRILL_PG_SCRATCH, 0 },
		{ "postgres", CONFIG_DRILL_PG, 1 },
		{ "mysql-scratch", CONFIG_DRILL_MY_SCRATCH, 0 },
		{ "mysql", CONFIG_DRILL_MY, 1 },
		{ "ssh", CONFIG_DRILL_SSH, 1 },
	};
	size_t n;

	*arg = v;
	if (v[0] == '/')
		return (CONFIG_DRILL_DIR);
	for (size_t i = 0; i < NELEM(forms); i++) {
		n = strlen(forms[i].word);
		if (strncmp(v, forms[i].word, n) != 0)
			continue;
		if (!forms[i].prefix && v[n] == '\0')
			return (forms[i].t);
		if (forms[i].prefix && v[n] == ':') {
			*arg = v + n + 1;
			return (forms[i].t);
		}
	}
	return (CONFIG_DRILL_BAD);
}

int
config_drill_ssh(const char *arg, struct config_ssh_target *t, char *why,
    size_t whylen)
{
	const char *at = strchr(arg, '@'), *h, *he, *p, *c;
	size_t n;

	memset(t, 0, sizeof(*t));
	t->port = 22;
	n = at != NULL ? (size_t)(at - arg) : 0;
	if (at == NULL || n == 0 || n >= sizeof(t->user) ||
	    strspn(arg,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	        "0123456789._-") != n) {
		snprintf(why, whylen, "no USER@ (letters, digits, '._-')");
		return (-1);
	}
	memcpy(t->user, arg, n);
	h = at + 1;
	if (*h == '[') {
		if ((he = strchr(h, ']')) == NULL) {
			snprintf(why, whylen, "no ']' after the IPv6 address");
			return (-1);
		}
		h++;
		c = he + 1;
	} else {
		he = h + strcspn(h, ":");
		c = he;
	}
	n = (size_t)(he - h);
	if (n == 0 || n >= sizeof(t->host) ||
	    strspn(h,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	        "0123456789.-:") < n) {
		snprintf(why, whylen, "no HOST (a name or an address)");
		return (-1);
	}
	memcpy(t->host, h, n);
	if (*c != ':') {
		snprintf(why, whylen, "no ':' and /PATH after the host");
		return (-1);
	}
	c++;
	if (*c != '/') {
		char *end;
		long v = strtol(c, &end, 10);

		if (end == c || *end != ':' || v < 1 || v > 65535) {
			snprintf(why, whylen,
			    "'%.16s' is not a port (1 to 65535) followed by "
			    "':/PATH'",
			    c);
			return (-1);
		}
		t->port = (int)v;
		c = end + 1;
	}
	p = c;
	n = strlen(p);
	if (p[0] != '/' || n < 2 || n >= sizeof(t->path)) {
		snprintf(why, whylen, "PATH must be absolute, and not /");
		return (-1);
	}
	if (strspn(p,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	        "0123456789._+-/") != n) {
		snprintf(why, whylen,
		    "PATH may hold only letters, digits and '._+-/'");
		return (-1);
	}
	for (const char *q = p; *q != '\0';) {
		size_t len = strcspn(++q, "/");

		if (len == 0 || (len == 1 && q[0] == '.') ||
		    (len == 2 && q[0] == '.' && q[1] == '.')) {
			snprintf(why, whylen,
			    "PATH may not have an empty, '.' or '..' "
			    "component");
			return (-1);
		}
		q += len;
	}
	memcpy(t->path, p, n + 1);
	return (0);
}

/* A drill's target names a kind coffer drills; what goes with it fits. */
#define DRILL_TARGETS                                                          \
	"a directory (an absolute path), sqlite, postgres-scratch, "           \
	"postgres:CONNINFO, mysql-scratch, mysql:DB or "                       \
	"ssh:USER@HOST[:PORT]:/PATH"
static void
check_drill(struct parse *p, struct config_section *s)
{
	const struct key *t = key_find(s, "target");
	const struct key *sql = key_find(s, "sql_checks");
	const struct key *du = key_find(s, "drill_user");
	const struct key *df = key_find(s, "defaults_file");
	static const char *const ssh_keys[] = { "identity",
		"identity_passphrase_file", "known_hosts" };
	enum config_drill_target kind;
	struct conninfo *ci = NULL;
	const char *arg;
	struct err ce;

	if (t == NULL)
		return;
	kind = config_drill_target(t->value, &arg);
	if (kind == CONFIG_DRILL_UNSUPPORTED) {
		pfail(p, t->line,
		    "target: '%s' is not supported yet; drills restore "
		    "to " DRILL_TARGETS,
		    t->value);
		return;
	}
	if (kind == CONFIG_DRILL_BAD) {
		pfail(p, t->line,
		    "target: '%s' is not a drill target; use " DRILL_TARGETS,
		    t->value);
		return;
	}
	if (kind == CONFIG_DRILL_PG) {
		if (conninfo_parse(arg, &ci, &ce) == -1) {
			pfail(p, t->line, "target: postgres:CONNINFO: %s",
			    ce.msg);
			return;
		}
		conninfo_free(ci);
	}
	if (kind == CONFIG_DRILL_SSH) {
		struct config_ssh_target st;
		char why[128];

		if (config_drill_ssh(arg, &st, why, sizeof(why)) == -1) {
			pfail(p, t->line,
			    "target: '%s': %s; write "
			    "ssh:USER@HOST[:PORT]:/PATH",
			    t->value, why);
			return;
		}
	}
	for (size_t i = 0; i < NELEM(ssh_keys); i++) {
		const struct key *k = key_find(s, ssh_keys[i]);

		if (k != NULL && kind != CONFIG_DRILL_SSH) {
			pfail(p, k->line,
			    "%s: only target = ssh:... connects over SSH (the "
			    "target is on line %d)",
			    k->name, t->line);
			return;
		}
	}
	if (kind == CONFIG_DRILL_MY && *arg == '\0') {
		pfail(p, t->line,
		    "target: mysql:DB needs the name of the database to make "
		    "on the test server, as in mysql:billing_drill");
		return;
	}
	if (sql != NULL && kind == CONFIG_DRILL_DIR)
		pfail(p, sql->line,
		    "sql_checks: the target (line %d) is a directory; SQL "
		    "checks need target = sqlite, postgres-scratch, "
		    "postgres:CONNINFO, mysql-scratch or mysql:DB",
		    t->line);
	else if (du != NULL && kind != CONFIG_DRILL_PG_SCRATCH &&
	    kind != CONFIG_DRILL_MY_SCRATCH)
		pfail(p, du->line,
		    "drill_user: only target = postgres-scratch or "
		    "mysql-scratch runs a server (the target is on line %d)",
		    t->line);
	else if (df != NULL && kind != CONFIG_DRILL_MY)
		pfail(p, df->line,
		    "defaults_file: only target = mysql:DB connects with a "
		    "client option file (the target is on line %d)",
		    t->line);
}

/*
 * Check a section that has ended: each key in line order, then (when
 * complete, i.e. the whole section was read) what the section as a whole
 * needs.  Then fill in the defaults.
 */
static void
finish_section(struct parse *p, struct config_section *s, int complete)
{
	const struct schema_key *sk;
	const struct key *a, *b;
	struct key *k;
	char lb[96], vt[64], hint[96];

	if (s->checked)
		return;
	s->checked = 1;
	label(s, lb, sizeof(lb));
	s->variant = section_variant(s);
	for (size_t i = 0; i < s->nkeys; i++) {
		k = &s->keys[i];
		if ((sk = schema_find(s->type, k->name)) == NULL) {
			suggest(s->type, k->name, hint, sizeof(hint));
			pfail(p, k->line, "unknown key '%s' in %s%s", k->name,
			    lb, hint);
			return;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->keys[j].name, k->name) == 0) {
				pfail(p, k->line,
				    "duplicate key '%s' in %s (first at line "
				    "%d)",
				    k->name, lb, s->keys[j].line);
				return;
			}
		if (!applies(s, sk)) {
			variant_text(s, vt, sizeof(vt));
			pfail(p, k->line, "key '%s' does not apply to %s",
			    k->name, vt);
			return;
		}
		if (parse_value(p, k, sk) == -1)
			return;
	}
	if (!complete)
		return;
	for (size_t i = 0; i < schemas[s->type].nkeys; i++) {
		sk = &schemas[s->type].keys[i];
		if ((sk->flags & REQUIRED) && key_find(s, sk->name) == NULL &&
		    (sk->applies == 0 || (sk->applies & s->variant) != 0))
			pfail(p, s->line, "missing required key '%s' in %s",
			    sk->name, lb);
	}
	if (s->type == CONFIG_REPOSITORY)
		check_repository(p, s);
	if (s->type == CONFIG_JOB && (a = key_find(s, "repository")) != NULL &&
	    (b = key_find(s, "replicate")) != NULL &&
	    strcmp(a->value, b->value) == 0)
		pfail(p, b->line,
		    "replicate: '%s' is the job's own repository (line %d)",
		    b->value, a->line);
	if (s->type == CONFIG_JOB)
		check_jitter(p, s);
	if (s->type == CONFIG_DRILL)
		check_drill(p, s);
	if (!p->failed)
		add_defaults(s);
}

static void
check_refs(struct parse *p)
{
	const struct config *cfg = p->cfg;
	const struct config_section *s;
	const struct key *k;

	for (size_t i = 0; i < cfg->nsecs; i++) {
		s = cfg->secs[i];
		for (size_t j = 0; j < s->nkeys; j++) {
			k = &s->keys[j];
			if (k->sk->vtype == CONFIG_V_REF &&
			    config_section_find(cfg, k->sk->ref, k->value) ==
			        NULL) {
				pfail(p, k->line, "%s: no section [%s %s]",
				    k->name, schemas[k->sk->ref].type,
				    k->value);
				return;
			}
			if (k->sk->vtype != CONFIG_V_REFS)
				continue;
			for (size_t n = 0; n < k->nitems; n++)
				if (config_section_find(cfg, k->sk->ref,
				        k->items[n]) == NULL) {
					pfail(p, k->line,
					    "%s: no section [%s %s]", k->name,
					    schemas[k->sk->ref].type,
					    k->items[n]);
					return;
				}
		}
	}
}

/* Do the steps of drill d lead (through steps of steps) to drill to? */
static int
chain_reaches(const struct config *cfg, const struct config_section *d,
    const struct config_section *to, int depth)
{
	const struct key *k = key_find(d, "steps");

	if (k == NULL || depth > 64)
		return (0);
	for (size_t i = 0; i < k->nitems; i++) {
		const struct config_section *t =
		    config_section_find(cfg, CONFIG_DRILL, k->items[i]);

		if (t == to ||
		    (t != NULL && chain_reaches(cfg, t, to, depth + 1)))
			return (1);
	}
	return (0);
}

/*
 * A drill of steps names drills with a target: a step that has steps
 * itself is refused, as a cycle when its steps lead back.
 */
static void
check_chains(struct parse *p)
{
	const struct config *cfg = p->cfg;
	const struct config_section *s, *t;
	const struct key *k;

	for (size_t i = 0; i < cfg->nsecs && !p->failed; i++) {
		s = cfg->secs[i];
		if (s->type != CONFIG_DRILL ||
		    (k = key_find(s, "steps")) == NULL)
			continue;
		if (k->nitems > CONFIG_DRILL_STEPS_MAX) {
			pfail(p, k->line,
			    "steps: %zu drills; a drill runs at most %d steps",
			    k->nitems, CONFIG_DRILL_STEPS_MAX);
			return;
		}
		for (size_t n = 0; n < k->nitems && !p->failed; n++) {
			t = config_section_find(cfg, CONFIG_DRILL, k->items[n]);
			if (t == s)
				pfail(p, k->line,
				    "steps: [drill %s] names itself (a "
				    "cycle); a step is another drill, with a "
				    "target",
				    s->name);
			else if (t != NULL && chain_reaches(cfg, t, s, 0))
				pfail(p, k->line,
				    "steps: [drill %s] leads back to [drill "
				    "%s] (a cycle); a step is a drill with a "
				    "target",
				    t->name, s->name);
			else if (t != NULL && key_find(t, "steps") != NULL)
				pfail(p, k->line,
				    "steps: [drill %s] has steps itself; a "
				    "step is a drill with a target (list its "
				    "steps here instead)",
				    t->name);
		}
	}
}

/* The line reader and inih's handler. */

/* Cut a comment: '#' or ';' at the start or after white space. */
static void
strip_comment(char *s)
{
	for (size_t i = 0; s[i] != '\0'; i++)
		if ((s[i] == '#' || s[i] == ';') &&
		    (i == 0 || is_space((unsigned char)s[i - 1]))) {
			s[i] = '\0';
			return;
		}
}

static size_t
rstrip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && is_space((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return (n);
}

/* A [TYPE NAME] header at t (after leading space); -1 after pfail. */
static int
header(struct parse *p, const char *t)
{
	struct config_section *s;
	const char *end = strchr(t, ']'), *q;
	char *raw, *words[3] = { NULL, NULL, NULL };
	enum config_type type = CONFIG_ANY;
	int nw = 0, rc = -1;

	if (end == NULL) {
		pfail(p, p->line, "section header without ']'");
		return (-1);
	}
	for (q = end + 1; *q != '\0'; q++)
		if (!is_space((unsigned char)*q)) {
			pfail(p, p->line, "text after ']' in a section header");
			return (-1);
		}
	/* The section before this one has ended: its errors come first. */
	if (p->cur != NULL)
		finish_section(p, p->cur, 1);
	if (p->failed)
		return (-1);
	raw = xstrndup(t + 1, (size_t)(end - t - 1));
	free(p->cur_raw);
	p->cur_raw = raw;
	for (q = raw; nw < 3;) {
		while (is_space((unsigned char)*q))
			q++;
		if (*q == '\0')
			break;
		end = q;
		while (*end != '\0' && !is_space((unsigned char)*end))
			end++;
		words[nw++] = xstrndup(q, (size_t)(end - q));
		q = end;
	}
	if (nw == 0) {
		pfail(p, p->line, "empty section header; expected [TYPE NAME]");
		goto out;
	}
	for (size_t i = CONFIG_GLOBAL; i < NELEM(schemas); i++)
		if (strcmp(words[0], schemas[i].type) == 0)
			type = (enum config_type)i;
	if (type == CONFIG_ANY) {
		pfail(p, p->line,
		    "unknown section type '%s' (expected global, repository, "
		    "source, job or drill)",
		    words[0]);
		goto out;
	}
	if (nw == 3) {
		pfail(p, p->line,
		    "too many words in [%s]; a section header is [TYPE NAME]",
		    raw);
		goto out;
	}
	if (type == CONFIG_GLOBAL && nw == 2) {
		pfail(p, p->line, "[global] takes no name");
		goto out;
	}
	if (type != CONFIG_GLOBAL && nw == 1) {
		pfail(p, p->line, "[%s] needs a name: [%s NAME]", words[0],
		    words[0]);
		goto out;
	}
	if (type != CONFIG_GLOBAL && !config_name_valid(words[1])) {
		pfail(p, p->line,
		    "invalid name '%s' in [%s %s]: use up to %d letters, "
		    "digits, '_', '.' or '-', not starting with '.' or '-'",
		    words[1], words[0], words[1], CONFIG_NAME_MAX);
		goto out;
	}
	for (size_t i = 0; i < p->cfg->nsecs; i++) {
		s = p->cfg->secs[i];
		if (s->type == type &&
		    (type == CONFIG_GLOBAL || strcmp(s->name, words[1]) == 0)) {
			if (type == CONFIG_GLOBAL)
				pfail(p, p->line,
				    "duplicate section [global] (first at line "
				    "%d)",
				    s->line);
			else
				pfail(p, p->line,
				    "duplicate section [%s %s] (first at line "
				    "%d)",
				    words[0], words[1], s->line);
			goto out;
		}
	}
	s = section_new(p->cfg, type, words[1], p->line);
	if (p->cfg->nsecs == p->cfg->cap) {
		p->cfg->cap = p->cfg->cap == 0 ? 8 : p->cfg->cap * 2;
		p->cfg->secs = xreallocarray(p->cfg->secs, p->cfg->cap,
		    sizeof(*p->cfg->secs));
	}
	s->idx = p->cfg->nsecs;
	p->cfg->secs[p->cfg->nsecs++] = s;
	if (type == CONFIG_GLOBAL)
		p->cfg->global = s;
	p->cur = s;
	rc = 0;
out:
	for (int i = 0; i < nw; i++)
		free(words[i]);
	return (rc);
}

/*
 * Sort a line the way inih (built with its default INI_ALLOW_MULTILINE)
 * will: blank, continuation of the last key, section header, key.  Headers
 * are handled here, since inih reports them to no one.
 */
static int
classify(struct parse *p, char *s)
{
	const char *t = s;

	while (is_space((unsigned char)*t))
		t++;
	if (*t == '\0')
		return (0);
	if (p->after_key && t > s) {
		p->kind = LINE_CONT;
		return (0);
	}
	if (*t == '[') {
		p->after_key = 0;
		return (header(p, t));
	}
	if (strpbrk(t, "=:") == NULL) {
		pfail(p, p->line,
		    "expected 'key = value', a [TYPE NAME] header or a "
		    "comment");
		return (-1);
	}
	p->after_key = strpbrk(t, "=:") != t;
	p->kind = LINE_KEY;
	return (0);
}

static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	ssize_t n;
	size_t len;
	char *s;

	p->kind = LINE_OTHER;
	if (p->failed)
		return (NULL);
	if ((n = getline(&p->buf, &p->bufsz, p->fp)) == -1) {
		if (ferror(p->fp)) {
			err_sys(p->e, ERR_CONFIG, "config file %s",
			    p->cfg->path);
			p->e->class = ERR_CONFIG;
			p->failed = 1;
			p->err_line = 0;
		}
		return (NULL);
	}
	p->line++;
	if (strlen(p->buf) != (size_t)n) {
		pfail(p, p->line, "NUL byte in the line: not a text file");
		return (NULL);
	}
	s = p->buf;
	if (p->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	strip_comment(s);
	len = rstrip(s);
	/* inih cuts longer lines in pieces and reads each as a line. */
	if (num < 3 || len + 2 > (size_t)num) {
		pfail(p, p->line,
		    "line longer than %d characters (comments aside); continue "
		    "the value on indented lines",
		    num - 2);
		return (NULL);
	}
	if (classify(p, s) == -1)
		return (NULL);
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return (str);
}

/* A key name at the start of t followed by '=' or ':'?  Into buf. */
static int
looks_like_key(enum config_type t, const char *s, char *buf, size_t size)
{
	size_t n = 0;

	while ((s[n] >= 'a' && s[n] <= 'z') || is_digit((unsigned char)s[n]) ||
	    s[n] == '_')
		n++;
	if (n == 0 || n >= size)
		return (0);
	memcpy(buf, s, n);
	buf[n] = '\0';
	s += n;
	while (*s == ' ' || *s == '\t')
		s++;
	return ((*s == '=' || *s == ':') && schema_find(t, buf) != NULL);
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	enum line_kind kind = p->kind;
	struct key *k;
	char kn[CONFIG_NAME_MAX + 1], *joined;

	p->kind = LINE_OTHER;
	if (p->failed)
		return (1);
	/* inih keeps at most 49 bytes of a section; ours is the whole. */
	if (p->cur == NULL
	        ? section[0] != '\0'
	        : strncmp(section, p->cur_raw, strlen(section)) != 0) {
		pfail_internal(p);
		return (1);
	}
	switch (kind) {
	case LINE_KEY:
		if (p->cur == NULL) {
			pfail(p, p->line,
			    "key '%s' is outside any section; put it under a "
			    "header such as [repository NAME]",
			    name);
			return (1);
		}
		if (name[0] == '\0') {
			pfail(p, p->line, "missing key name before '='");
			return (1);
		}
		section_add_key(p->cur, name, value, p->line);
		return (1);
	case LINE_CONT:
		if (p->cur == NULL || p->cur->nkeys == 0) {
			pfail_internal(p);
			return (1);
		}
		k = &p->cur->keys[p->cur->nkeys - 1];
		if (strncmp(name, k->name, strlen(name)) != 0) {
			pfail_internal(p);
			return (1);
		}
		if (value[0] == '[' && value[strlen(value) - 1] == ']') {
			pfail(p, p->line,
			    "indented, so read as more of '%s' (line %d); "
			    "start the section header at the beginning of the "
			    "line",
			    k->name, k->line);
			return (1);
		}
		if (looks_like_key(p->cur->type, value, kn, sizeof(kn))) {
			pfail(p, p->line,
			    "indented, so read as more of '%s' (line %d); "
			    "start '%s' at the beginning of the line",
			    k->name, k->line, kn);
			return (1);
		}
		joined = k->value[0] == '\0'
		    ? xstrdup(value)
		    : xasprintf("%s %s", k->value, value);
		free(k->value);
		k->value = joined;
		return (1);
	case LINE_OTHER:
		break;
	}
	pfail_internal(p);
	return (1);
}

int
config_load(const char *path, struct config **cfgp, struct err *e)
{
	struct config *cfg = NULL;
	struct parse p;
	FILE *fp = NULL;
	int fd = -1, rc = -1, r;

	*cfgp = NULL;
	memset(&p, 0, sizeof(p));
	/* O_NONBLOCK: a FIFO must not hang us before secfile refuses it. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		err_sys(e, ERR_CONFIG, "config file %s", path);
		e->class = ERR_CONFIG;
		goto out;
	}
	/* It may name commands we run (hooks, password_command). */
	if (secfile_check_trusted(fd, path, "config file", e) == -1)
		goto out;
	if ((fp = fdopen(fd, "r")) == NULL) {
		err_sys(e, ERR_CONFIG, "config file %s", path);
		e->class = ERR_CONFIG;
		goto out;
	}
	fd = -1;
	cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup(path);
	p.cfg = cfg;
	p.fp = fp;
	p.e = e;
	r = ini_parse_stream(reader, &p, handler, &p);
	if (r > 0)
		pfail(&p, r, "syntax error");
	else if (r < 0 && !p.failed)
		pfail(&p, p.line, "internal error: the INI parser failed (%d)",
		    r);
	if (p.cur != NULL)
		finish_section(&p, p.cur, !p.failed);
	if (!p.failed) {
		if (cfg->global == NULL) {
			cfg->global = section_new(cfg, CONFIG_GLOBAL, NULL, 0);
			cfg->global_implicit = 1;
			finish_section(&p, cfg->global, 1);
		}
		check_refs(&p);
		if (!p.failed)
			check_chains(&p);
	}
	if (p.failed)
		goto out;
	*cfgp = cfg;
	cfg = NULL;
	rc = 0;
out:
	free(p.buf);
	free(p.cur_raw);
	if (fp != NULL)
		fclose(fp);
	if (fd != -1)
		close(fd);
	config_free(cfg);
	return (rc);
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nsecs; i++)
		section_free(cfg->secs[i]);
	if (cfg->global_implicit)
		section_free(cfg->global);
	free(cfg->secs);
	free(cfg->path);
	free(cfg);
}

const char *
config_file(const struct config *cfg)
{
	return (cfg->path);
}

const struct config_section *
config_next(const struct config *cfg, const struct config_section *prev,
    enum config_type t)
{
	size_t i = prev == NULL || prev->idx == SIZE_MAX ? 0 : prev->idx + 1;

	for (; i < cfg->nsecs; i++)
		if (t == CONFIG_ANY || cfg->secs[i]->type == t)
			return (cfg->secs[i]);
	return (NULL);
}

const struct config_section *
config_section_find(const struct config *cfg, enum config_type t,
    const char *name)
{
	if (t == CONFIG_GLOBAL)
		return (cfg->global);
	if (name == NULL)
		return (NULL);
	for (size_t i = 0; i < cfg->nsecs; i++)
		if (cfg->secs[i]->type == t &&
		    strcmp(cfg->secs[i]->name, name) == 0)
			return (cfg->secs[i]);
	return (NULL);
}

int
config_job_find(const struct config *cfg, const char *name,
    const struct config_section **out, struct err *e)
{
	*out = NULL;
	if (cfg == NULL)
		return (err_set(e, ERR_USAGE,
		    "no [job %s]: no configuration file was read (give -c "
		    "FILE)",
		    name));
	if ((*out = config_section_find(cfg, CONFIG_JOB, name)) == NULL)
		return (err_set(e, ERR_USAGE, "no [job %s] in %s", name,
		    cfg->path));
	return (0);
}

const struct config_section *
config_global(const struct config *cfg)
{
	return (cfg->global);
}

enum config_type
config_section_type(const struct config_section *s)
{
	return (s->type);
}

const char *
config_section_name(const struct config_section *s)
{
	return (s->name);
}

int
config_section_line(const struct config_section *s)
{
	return (s->line);
}

const char *
config_type_name(enum config_type t)
{
	if ((size_t)t >= NELEM(schemas))
		return ("unknown");
	return (schemas[t].type);
}

#define VT(t) (1u << (t))

/* The key's value if the section has one; asserts key is in the schema
 * with a type in mask. */
static const struct key *
lookup(const struct config_section *s, const char *key, unsigned mask)
{
	const struct schema_key *sk = schema_find(s->type, key);

	assert(sk != NULL && (VT(sk->vtype) & mask) != 0);
	(void)sk;
	return (key_find(s, key));
}

const char *
config_get_str(const struct config_section *s, const char *key)
{
	const struct key *k = lookup(s, key,
	    VT(CONFIG_V_STRING) | VT(CONFIG_V_COMMAND) | VT(CONFIG_V_PATH) |
	        VT(CONFIG_V_NAME) | VT(CONFIG_V_ENUM) | VT(CONFIG_V_URL) |
	        VT(CONFIG_V_REF) | VT(CONFIG_V_SCHEDULE) | VT(CONFIG_V_ZONE));

	return (k != NULL ? k->value : NULL);
}

int
config_get_bool(const struct config_section *s, const char *key, int *out)
{
	const struct key *k = lookup(s, key, VT(CONFIG_V_BOOL));

	if (k == NULL)
		return (-1);
	*out = (int)k->v.i;
	return (0);
}

int
config_get_int(const struct config_section *s, const char *key, int64_t *out)
{
	const struct key *k = lookup(s, key, VT(CONFIG_V_INT));

	if (k == NULL)
		return (-1);
	*out = k->v.i;
	return (0);
}

int
config_get_size(const struct config_section *s, const char *key,
    uint64_t *bytes)
{
	const struct key *k = lookup(s, key, VT(CONFIG_V_SIZE));

	if (k == NULL)
		return (-1);
	*bytes = k->v.u;
	return (0);
}

int
config_get_duration(const struct config_section *s, const char *key,
    uint64_t *seconds)
{
	const struct key *k = lookup(s, key, VT(CONFIG_V_DURATION));

	if (k == NULL)
		return (-1);
	*seconds = k->v.u;
	return (0);
}

int
config_get_percent(const struct config_section *s, const char *key, double *out)
{
	const struct key *k = lookup(s, key, VT(CONFIG_V_PERCENT));

	if (k == NULL)
		return (-1);
	*out = k->v.d;
	return (0);
}

size_t
config_get_list(const struct config_section *s, const char *key,
    const char *const **items)
{
	const struct key *k = lookup(s, key,
	    VT(CONFIG_V_LIST) | VT(CONFIG_V_PATHS) | VT(CONFIG_V_REFS));

	if (k == NULL || k->nitems == 0) {
		*items = NULL;
		return (0);
	}
	*items = (const char *const *)k->items;
	return (k->nitems);
}

int
config_key_line(const struct config_section *s, const char *key)
{
	const struct key *k = key_find(s, key);

	return (k != NULL ? k->line : 0);
}

int
config_err(struct err *e, const struct config_section *s, const char *key,
    const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	int line = key != NULL ? config_key_line(s, key) : 0;

	if (line == 0)
		line = s->line;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line == 0)
		return (err_set(e, ERR_CONFIG, "%s: %s", s->cfg->path, msg));
	return (err_set(e, ERR_CONFIG, "%s:%d: %s", s->cfg->path, line, msg));
}

int
config_setting_next(const struct config_section *s, size_t *iter,
    struct config_setting *out)
{
	const struct schema_key *sk;
	const struct key *k;

	while (*iter < schemas[s->type].nkeys) {
		sk = &schemas[s->type].keys[(*iter)++];
		if (!applies(s, sk))
			continue;
		k = key_find(s, sk->name);
		out->key = sk->name;
		out->vtype = sk->vtype;
		out->value = k != NULL ? k->value : NULL;
		out->line = k != NULL ? k->line : 0;
		out->is_default = k != NULL && k->line == 0;
		return (1);
	}
	return (0);
}

/*
 * LATER keys: nothing acts on them until the scheduler exists, and a file
 * that sets them should not read as if it did.
 */
size_t
config_not_yet(const struct config *cfg,
    void (*warn)(void *arg, const char *msg), void *arg)
{
	const struct config_section *s = NULL;
	const struct key *k;
	char msg[ERR_MSG_MAX], where[CONFIG_NAME_MAX + 16];
	size_t n = 0;

	/* An implicit [global] holds only defaults: nothing is set there. */
	while ((s = config_next(cfg, s, CONFIG_ANY)) != NULL) {
		for (size_t i = 0; i < s->nkeys; i++) {
			k = &s->keys[i];
			if (k->line == 0 || k->sk == NULL ||
			    !(k->sk->flags & LATER))
				continue;
			snprintf(msg, sizeof(msg),
			    "%s:%d: %s %s is not acted on yet: nothing in "
			    "coffer uses it so far%s",
			    cfg->path, k->line, label(s, where, sizeof(where)),
			    k->name,
			    s->type == CONFIG_DRILL
			        ? " (a drill runs by hand with 'coffer drill "
			          "run NAME')"
			        : s->type == CONFIG_JOB
			        ? " (prune runs by hand with 'coffer prune')"
			        : "");
			warn(arg, msg);
			n++;
		}
	}
	return (n);
}

/* ------------------------------------------------------ config check */

/*
 * Can someone but the caller and root replace what sits in dir?  Its
 * owner can (chmod, rename); so can a group or others allowed to write,
 * unless the sticky bit keeps them to their own names.
 */
static int
dir_unsafe(const char *dir, const char *path, const char *what, struct err *e)
{
	uid_t uid = geteuid();
	struct stat st;

	if (stat(dir, &st) == -1 && errno == ENOENT)
		return (0); /* what is missing cannot be replaced yet */
	if (stat(dir, &st) == -1)
		return (err_sys(e, ERR_CONFIG, "%s %s: directory %s", what,
		    path, dir));
	if (st.st_uid != uid && st.st_uid != 0)
		return (err_set(e, ERR_CONFIG,
		    "%s %s is unsafe: directory %s is owned by uid %u, not "
		    "by you (uid %u) or root, who can replace the file; run: "
		    "chown %u %s",
		    what, path, dir, (unsigned)st.st_uid, (unsigned)uid,
		    (unsigned)uid, dir));
	if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0)
		return (err_set(e, ERR_CONFIG,
		    "%s %s is unsafe: directory %s is writable by group or "
		    "others (mode %04o), who can replace the file; run: "
		    "chmod go-w %s",
		    what, path, dir, (unsigned)(st.st_mode & 07777), dir));
	return (0);
}

/* Every directory above the absolute path p, nearest first. */
static int
dirs_above(const char *p, const char *path, const char *what, struct err *e)
{
	char *d = xstrdup(p), *slash;
	int rc = 0;

	while (rc == 0 && (slash = strrchr(d, '/')) != NULL) {
		if (slash == d) {
			rc = dir_unsafe("/", path, what, e);
			break;
		}
		*slash = '\0';
		rc = dir_unsafe(d, path, what, e);
	}
	free(d);
	return (rc);
}

/*
 * One file: its own mode (check: secfile_check_*) when it exists, then
 * the directories above it as written and as resolved.  1 when it is
 * missing (nothing checked beyond the directories that exist).
 */
static int
check_file(const char *path, const char *what,
    int (*check)(int, const char *, const char *, struct err *), struct err *e)
{
	char real[PATH_MAX];
	int fd, rc;

	if (path[0] != '/')
		return (0); /* the schema takes absolute paths only */
	/* Opened only to fstat it; O_NONBLOCK: a FIFO cannot hang. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1 && errno != ENOENT)
		return (err_sys(e, ERR_CONFIG, "%s %s", what, path));
	if (fd != -1) {
		rc = check(fd, path, what, e);
		close(fd);
		if (rc == -1)
			return (-1);
	}
	/* Where it really is first, so that a message names that. */
	if (fd != -1) {
		if (realpath(path, real) == NULL)
			return (err_sys(e, ERR_CONFIG, "%s %s", what, path));
		if (dirs_above(real, path, what, e) == -1)
			return (-1);
	}
	if (dirs_above(path, path, what, e) == -1)
		return (-1);
	return (fd == -1 ? 1 : 0);
}

/* The program an absolute command line starts with, or NULL. */
static char *
command_program(const char *cmd)
{
	size_t n;

	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	if (cmd[0] != '/')
		return (NULL);
	n = strcspn(cmd, " \t;|&<>()$`'\"\\");
	return (xstrndup(cmd, n));
}

int
config_check_files(const struct config *cfg, struct err *e)
{
	static const struct {
		const char *key, *what;
		int secret, must_exist;
	} files[] = {
		{ "password_file", "password file", 1, 1 },
		{ "identity", "identity", 1, 0 },
		{ "identity_passphrase_file", "identity passphrase file", 1,
		    0 },
		{ "known_hosts", "known_hosts file", 0, 0 },
		{ "access_key_file", "access key file", 1, 1 },
		{ "secret_key_file", "secret key file", 1, 1 },
		{ "ca_file", "CA file", 0, 1 },
	};
	const struct config_section *s = NULL;
	struct config_setting st;
	struct err fe;
	const char *v;
	char *prog;
	size_t it, i;
	int rc;

	while ((s = config_next(cfg, s, CONFIG_ANY)) != NULL) {
		it = 0;
		while (config_setting_next(s, &it, &st)) {
			if (st.value == NULL || st.is_default ||
			    (st.vtype != CONFIG_V_COMMAND &&
			        st.vtype != CONFIG_V_PATH) ||
			    (v = config_get_str(s, st.key)) == NULL)
				continue;
			if (st.vtype == CONFIG_V_COMMAND) {
				if ((prog = command_program(v)) == NULL)
					continue;
				rc = check_file(prog, "program",
				    secfile_check_trusted, &fe);
				free(prog);
				if (rc == -1)
					return (config_err(e, s, st.key, "%s",
					    fe.msg));
				continue;
			}
			for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
				if (strcmp(st.key, files[i].key) == 0)
					break;
			if (i == sizeof(files) / sizeof(files[0]))
				continue;
			rc = check_file(v, files[i].what,
			    files[i].secret ? secfile_check_secret
			                    : secfile_check_trusted,
			    &fe);
			if (rc == 1 && files[i].must_exist) {
				errno = ENOENT;
				rc = err_sys(&fe, ERR_CONFIG, "%s %s",
				    files[i].what, v);
			}
			if (rc == -1)
				return (config_err(e, s, st.key, "%s", fe.msg));
		}
	}
	return (0);
}

void
config_schema_each(void (*fn)(void *arg, enum config_type type, const char *key,
                       int later),
    void *arg)
{
	for (size_t t = CONFIG_GLOBAL; t < NELEM(schemas); t++)
		for (size_t i = 0; i < schemas[t].nkeys; i++)
			fn(arg, (enum config_type)t, schemas[t].keys[i].name,
			    (schemas[t].keys[i].flags & LATER) != 0);
}
