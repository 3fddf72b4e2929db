/*
 * Repository locks (lock.h; the file format is in doc/FORMAT.md, "Locks").
 * Locks are files, because the store is all we share with other hosts:
 * take = write ours, then read everyone else's; hold = rewrite ours
 * before its deadline; judge = same host and process provably gone (dead,
 * removed), else live until the deadline has passed by our clock and by
 * the store's file times, then stale (reported, kept).
 */
#include "repo/lock.h"

#include <sys/types.h>

#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"

#define LOCK_DIR            "locks"
#define LOCK_VERSION        1
#define LOCK_ID_LEN         32
#define LOCK_STR_MAX        255
#define LOCK_TIME_MAX       253402300799LL /* 9999-12-31 23:59:59 UTC */
#define LOCK_BACKOFF_MIN_MS 100
#define LOCK_BACKOFF_MAX_MS 5000
#define LOCK_DESC_MAX       400

/* Who we are: written into our lock files, compared with everyone's. */
struct ident {
	char *hostname;
	char *username;
	char *boot_id; /* NULL if unknown */
	char *pid_ns;  /* NULL if unknown */
	long pid;
	unsigned long long start; /* clock ticks after boot; 0 if unknown */
};

/* The options resolved, and our identity. */
struct env {
	struct stor *st;
	char *command;
	unsigned stale_after;
	unsigned wait;
	time_t (*now)(void);
	void (*notice)(void *, const char *);
	void *notice_arg;
	volatile sig_atomic_t *interrupted;
	void (*held)(void *, const struct lock *, struct stor *, const char *);
	void *held_arg;
	struct ident me;
	/*
	 * The store's clock, once read (the time it gave a file of ours):
	 * store_now at mono_ms() store_mono; INT64_MIN until then, or when
	 * it could not be read.  store_tried: reading was attempted.
	 */
	int64_t store_now, store_mono;
	int store_tried;
};

struct lock {
	struct env env;
	enum lock_mode mode;
	char *name; /* the file holding the lock; NULL when not held */
	char **old; /* earlier files of ours whose removal failed */
	size_t nold;
	time_t created;
	time_t refreshed;
};

/* A lock file as read.  The strings live in doc. */
struct rec {
	json_t *doc;
	enum lock_mode mode;
	const char *hostname;
	const char *username;
	const char *command;
	const char *boot_id; /* NULL if absent */
	const char *pid_ns;  /* NULL if absent */
	long pid;
	unsigned long long start; /* 0 if absent */
	long long created;
	long long refreshed;
	long long stale_after;
};

const char *
lock_mode_name(enum lock_mode m)
{
	return (m == LOCK_EXCLUSIVE ? "exclusive" : "shared");
}

const char *
lock_state_name(enum lock_state s)
{
	switch (s) {
	case LOCK_LIVE:
		return ("live");
	case LOCK_STALE:
		return ("stale");
	case LOCK_DEAD:
		return ("dead");
	case LOCK_UNREADABLE:
		return ("unreadable");
	}
	return ("?");
}

static void say(const struct env *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(const struct env *v, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (v->notice == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	v->notice(v->notice_arg, buf);
}

static time_t
wall_now(void)
{
	return (time(NULL));
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Printable ASCII only: these strings end up in messages on a terminal. */
static int
str_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LOCK_STR_MAX)
		return (0);
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return (0);
	return (1);
}

/* Make text from a foreign file safe to print. */
static void
scrub(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

static void
fmt_utc(char buf[32], long long t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, 32, "@%lld", t);
}

static void
fmt_dur(char buf[32], long long s)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, 32, "%lld s", s);
	else if (s < 3600)
		snprintf(buf, 32, "%lld min", s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, 32, "%lld h %lld min", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, 32, "%lld d %lld h", s / 86400, s % 86400 / 3600);
}

/* Read a small file under /proc; -1 if it cannot be read. */
static int
read_small(const char *path, char *buf, size_t size)
{
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	while (got < size - 1) {
		ssize_t n = read(fd, buf + got, size - 1 - got);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (got == 0 ? -1 : 0);
}

/*
 * State (field 3) and start time (field 22, clock ticks after boot) of a
 * process from /proc/PID/stat.  The name (field 2) is in parentheses and
 * may hold anything, so fields are counted from its last ')'.
 */
static int
proc_stat(const char *pid, char *state, unsigned long long *start)
{
	char path[64], buf[2048], *p, *end;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (read_small(path, buf, sizeof(buf)) == -1 ||
	    (p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0')
		return (-1);
	*state = p[2];
	p += 3;
	for (int field = 4; field <= 22; field++) {
		if ((p = strchr(p, ' ')) == NULL)
			return (-1);
		p++;
	}
	errno = 0;
	*start = strtoull(p, &end, 10);
	if (errno != 0 || end == p)
		return (-1);
	return (0);
}

/* A line from /proc or a link target, or NULL; never fails otherwise. */
static char *
proc_string(const char *path, int is_link)
{
	char buf[256];
	ssize_t n;

	if (is_link) {
		if ((n = readlink(path, buf, sizeof(buf) - 1)) <= 0)
			return (NULL);
		buf[n] = '\0';
	} else if (read_small(path, buf, sizeof(buf)) == -1)
		return (NULL);
	buf[strcspn(buf, "\n")] = '\0';
	return (str_ok(buf) ? xstrdup(buf) : NULL);
}

static int
ident_init(struct ident *me, const char *hostname, struct err *e)
{
	char host[LOCK_STR_MAX + 1], state;
	struct passwd *pw;

	memset(me, 0, sizeof(*me));
	if (hostname == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			return (err_sys(e, ERR_IO, "gethostname"));
		host[sizeof(host) - 1] = '\0';
		hostname = host;
	}
	if (!str_ok(hostname))
		return (err_set(e, ERR_USAGE,
		    "host name '%.64s' is empty, too long or not printable "
		    "ASCII",
		    hostname));
	me->hostname = xstrdup(hostname);
	if ((pw = getpwuid(geteuid())) != NULL && pw->pw_name[0] != '\0') {
		me->username = xstrndup(pw->pw_name, LOCK_STR_MAX);
		scrub(me->username);
	} else
		me->username = xasprintf("%lu", (unsigned long)geteuid());
	me->boot_id = proc_string("/proc/sys/kernel/random/boot_id", 0);
	me->pid_ns = proc_string("/proc/self/ns/pid", 1);
	me->pid = (long)getpid();
	if (proc_stat("self", &state, &me->start) == -1)
		me->start = 0;
	return (0);
}

static void
ident_free(struct ident *me)
{
	free(me->hostname);
	free(me->username);
	free(me->boot_id);
	free(me->pid_ns);
	memset(me, 0, sizeof(*me));
}

static int
env_init(struct env *v, struct stor *st, const struct lock_opts *o,
    struct err *e)
{
	static const struct lock_opts defaults;
	const char *command;

	memset(v, 0, sizeof(*v));
	if (o == NULL)
		o = &defaults;
	command = o->command != NULL ? o->command : "coffer";
	if (!str_ok(command))
		return (err_set(e, ERR_INTERNAL,
		    "lock command name '%.64s' is empty, too long or not "
		    "printable ASCII",
		    command));
	v->st = st;
	v->command = xstrdup(command);
	v->stale_after =
	    o->stale_after != 0 ? o->stale_after : LOCK_STALE_AFTER_DEFAULT;
	v->wait = o->wait;
	v->now = o->now != NULL ? o->now : wall_now;
	v->notice = o->notice;
	v->notice_arg = o->notice_arg;
	v->interrupted = o->interrupted;
	v->held = o->held;
	v->held_arg = o->held_arg;
	v->store_now = INT64_MIN;
	return (ident_init(&v->me, o->hostname, e));
}

static void
env_free(struct env *v)
{
	free(v->command);
	ident_free(&v->me);
}

/* Tell lock_opts.held which file of ours holds lk now (NULL: none). */
static void
tell_held(const struct lock *lk)
{
	if (lk->env.held != NULL)
		lk->env.held(lk->env.held_arg, lk, lk->env.st, lk->name);
}

/* ---- the file format ---- */

static int
rand_bytes(void *buf, size_t len, struct err *e)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(p + got, len - got, 0);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (err_sys(e, ERR_IO, "getrandom"));
		got += (size_t)n;
	}
	return (0);
}

static char *
new_name(struct err *e)
{
	uint8_t id[LOCK_ID_LEN];
	char hex[2 * LOCK_ID_LEN + 1];

	if (rand_bytes(id, sizeof(id), e) == -1)
		return (NULL);
	for (size_t i = 0; i < sizeof(id); i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	return (xasprintf(LOCK_DIR "/%s", hex));
}

/* Write a lock file of ours as name: mode, with these times. */
static int
write_rec(const struct env *v, enum lock_mode mode, time_t created,
    time_t refreshed, const char *name, struct err *e)
{
	const struct ident *me = &v->me;
	json_t *doc;
	char *text = NULL, *line = NULL;
	int rc = -1;

	doc = json_pack("{s:i, s:s, s:s, s:I, s:I, s:s*, s:s*, s:s, s:s, "
	                "s:I, s:I, s:I}",
	    "version", LOCK_VERSION, "mode", lock_mode_name(mode), "hostname",
	    me->hostname, "pid", (json_int_t)me->pid, "pid_start",
	    (json_int_t)me->start, "pid_ns", me->pid_ns, "boot_id", me->boot_id,
	    "username", me->username, "command", v->command, "created",
	    (json_int_t)created, "refreshed", (json_int_t)refreshed,
	    "stale_after", (json_int_t)v->stale_after);
	if (doc == NULL ||
	    (text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	        NULL) {
		err_set(e, ERR_INTERNAL, "cannot encode lock file %s", name);
		goto out;
	}
	line = xasprintf("%s\n", text);
	if (stor_put(v->st, name, (const uint8_t *)line, strlen(line),
	        STOR_NOREPLACE, e) == -1) {
		err_wrap(e, "write lock");
		goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	free(text);
	free(line);
	return (rc);
}

/* Write our lock file as name, with the current times. */
static int
write_lock(struct lock *lk, const char *name, struct err *e)
{
	return (
	    write_rec(&lk->env, lk->mode, lk->created, lk->refreshed, name, e));
}

static int
get_str(const struct rec *r, const char *key, int required, const char **out,
    char *why, size_t n)
{
	json_t *j = json_object_get(r->doc, key);

	*out = NULL;
	if (j == NULL && !required)
		return (0);
	if (!json_is_string(j) || !str_ok(json_string_value(j))) {
		snprintf(why, n, "'%s' is %s", key,
		    j == NULL
		        ? "missing"
		        : "not a printable ASCII string of 1 to 255 bytes");
		return (-1);
	}
	*out = json_string_value(j);
	return (0);
}

static int
get_int(const struct rec *r, const char *key, int required, long long min,
    long long max, long long *out, char *why, size_t n)
{
	json_t *j = json_object_get(r->doc, key);

	*out = 0;
	if (j == NULL && !required)
		return (0);
	if (!json_is_integer(j) || json_integer_value(j) < min ||
	    json_integer_value(j) > max) {
		snprintf(why, n, "'%s' is %s", key,
		    j == NULL ? "missing" : "not an integer in range");
		return (-1);
	}
	*out = json_integer_value(j);
	return (0);
}

/*
 * Parse a lock file.  Readers take what they need and ignore the rest, so
 * a later version may add fields (doc/FORMAT.md).  -1 and why on anything
 * else.
 */
static int
parse(const uint8_t *data, size_t len, struct rec *r, char *why, size_t n)
{
	json_error_t je;
	const char *mode;
	long long v;

	memset(r, 0, sizeof(*r));
	r->doc =
	    json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	if (r->doc == NULL) {
		snprintf(why, n, "not JSON: line %d: %s", je.line, je.text);
		scrub(why);
		return (-1);
	}
	if (!json_is_object(r->doc)) {
		snprintf(why, n, "not a JSON object");
		return (-1);
	}
	if (get_int(r, "version", 1, 1, INT_MAX, &v, why, n) == -1 ||
	    get_str(r, "mode", 1, &mode, why, n) == -1 ||
	    get_str(r, "hostname", 1, &r->hostname, why, n) == -1 ||
	    get_int(r, "pid", 1, 1, INT_MAX, &v, why, n) == -1)
		return (-1);
	r->pid = (long)v;
	/* A mode we do not know may exclude us: assume it does. */
	r->mode = strcmp(mode, "shared") == 0 ? LOCK_SHARED : LOCK_EXCLUSIVE;
	if (get_int(r, "pid_start", 0, 0, LLONG_MAX, &v, why, n) == -1)
		return (-1);
	r->start = (unsigned long long)v;
	if (get_str(r, "pid_ns", 0, &r->pid_ns, why, n) == -1 ||
	    get_str(r, "boot_id", 0, &r->boot_id, why, n) == -1 ||
	    get_str(r, "username", 0, &r->username, why, n) == -1 ||
	    get_str(r, "command", 0, &r->command, why, n) == -1 ||
	    get_int(r, "refreshed", 1, 0, LOCK_TIME_MAX, &r->refreshed, why,
	        n) == -1 ||
	    get_int(r, "created", 0, 0, LOCK_TIME_MAX, &r->created, why, n) ==
	        -1 ||
	    get_int(r, "stale_after", 1, 1, UINT_MAX, &r->stale_after, why,
	        n) == -1)
		return (-1);
	if (json_object_get(r->doc, "created") == NULL)
		r->created = r->refreshed;
	if (r->username == NULL)
		r->username = "?";
	if (r->command == NULL)
		r->command = "?";
	return (0);
}

static void
rec_free(struct rec *r)
{
	json_decref(r->doc);
	r->doc = NULL;
}

/*
 * Read and parse one lock file: 0 parsed, 1 unreadable (why says how),
 * 2 gone since it was listed, -1 error.
 */
static int
read_rec(struct env *v, const char *name, struct rec *r, char *why, size_t n,
    struct err *e)
{
	struct err e2;
	uint8_t *data = NULL;
	size_t len;
	int rc;

	memset(r, 0, sizeof(*r));
	if (stor_get(v->st, name, LOCK_FILE_MAX, &data, &len, &e2) == -1) {
		if (e2.sys_errno == ENOENT)
			return (2);
		if (e2.class == ERR_CORRUPT) {
			snprintf(why, n, "larger than %d bytes", LOCK_FILE_MAX);
			return (1);
		}
		*e = e2;
		return (err_wrap(e, "read lock"));
	}
	rc = parse(data, len, r, why, n) == 0 ? 0 : 1;
	free(data);
	return (rc);
}

/* ---- judging a lock ---- */

/*
 * Is the process pid (started at start ticks after boot, 0 = unknown) of
 * this host and PID namespace still running?  Only proof counts as "no":
 * the pid does not exist, or belongs to a zombie, or to a process started
 * at another time (the pid was reused).  Anything we cannot see (EPERM,
 * /proc hidden) counts as running.
 */
static int
pid_running(long pid, unsigned long long start, const char **why)
{
	unsigned long long now_start;
	char spec[32], state;

	if (kill((pid_t)pid, 0) == -1 && errno == ESRCH) {
		*why = "its process is gone";
		return (0);
	}
	snprintf(spec, sizeof(spec), "%ld", pid);
	if (proc_stat(spec, &state, &now_start) == 0) {
		if (state == 'Z' || state == 'X') {
			*why = "its process has exited";
			return (0);
		}
		if (start != 0 && now_start != start) {
			*why = "its pid now belongs to another process";
			return (0);
		}
	}
	return (1);
}

/*
 * The state of a lock as seen from here.  Same host name: if the host
 * has restarted since (boot ids differ) its process is gone; in the same
 * PID namespace the pid tells.  In another PID namespace on this host (a
 * container sharing the host name) the pid means nothing here, so such a
 * lock is judged like one from another host: by its deadline.
 */
static enum lock_state
judge(const struct env *v, const struct rec *r, time_t now, const char **why)
{
	const struct ident *me = &v->me;
	int other_ns = 0;

	*why = NULL;
	if (strcmp(r->hostname, me->hostname) == 0) {
		if (r->boot_id != NULL && me->boot_id != NULL &&
		    strcmp(r->boot_id, me->boot_id) != 0) {
			*why = "this host has restarted since";
			return (LOCK_DEAD);
		}
		other_ns = r->pid_ns != NULL && me->pid_ns != NULL &&
		    strcmp(r->pid_ns, me->pid_ns) != 0;
		if (!other_ns)
			return (pid_running(r->pid, r->start, why) ? LOCK_LIVE
			                                           : LOCK_DEAD);
	}
	/*
	 * A time further ahead than one deadline comes from a wrong clock,
	 * so the deadline means nothing; without this, such a lock would
	 * count for ever and even unlock --remove-stale could not clear it.
	 */
	if (r->refreshed > (long long)now + r->stale_after) {
		*why = "written by a clock ahead of ours by more than its "
		       "deadline";
		return (LOCK_STALE);
	}
	if ((long long)now > r->refreshed + r->stale_after) {
		*why = other_ns ? "not refreshed in time, and in another PID "
		                  "namespace on this host"
		                : "not refreshed in time";
		return (LOCK_STALE);
	}
	if (other_ns)
		*why = "in another PID namespace on this host";
	return (LOCK_LIVE);
}

/* ---- the store's clock ---- */

/*
 * The store's clock now, in *now (INT64_MIN when it cannot be known): the
 * time the store gave a file of ours, own if we have one, else a probe:
 * a shared lock file of ours written and removed again at once (a taker
 * of an exclusive lock that reads it meanwhile sees a live shared lock
 * and waits or fails as for any other).  Read once per env, then carried
 * forward by the monotonic clock.  A probe that cannot be written (a
 * read-only store) leaves the clock unknown; only an error reading our
 * own file's time fails (-1).
 */
static int
store_clock(struct env *v, const char *own, int64_t *now, struct err *e)
{
	struct err e2;
	char *probe = NULL;
	int64_t t = INT64_MIN;
	int r;

	if (!v->store_tried) {
		v->store_tried = 1;
		if (own != NULL) {
			if ((r = stor_mtime(v->st, own, &t, e)) == -1)
				return (err_wrap(e, "time of own lock"));
			if (r == 1)
				t = INT64_MIN;
		} else if ((probe = new_name(&e2)) == NULL ||
		    write_rec(v, LOCK_SHARED, v->now(), v->now(), probe, &e2) ==
		        -1) {
			say(v,
			    "cannot read the store's clock (%s): locks that "
			    "look stale by ours are taken as live",
			    e2.msg);
		} else {
			if (stor_mtime(v->st, probe, &t, &e2) != 0)
				t = INT64_MIN;
			if (stor_remove(v->st, probe, &e2) == -1)
				say(v,
				    "could not remove %s, written to read the "
				    "store's clock (%s); it counts as dead "
				    "once this process ends",
				    probe, e2.msg);
		}
		free(probe);
		v->store_now = t;
		v->store_mono = mono_ms();
	}
	*now = v->store_now == INT64_MIN
	    ? INT64_MIN
	    : v->store_now + (mono_ms() - v->store_mono) / 1000;
	return (0);
}

/*
 * A lock that judge found stale by our clock is stale only if the store's
 * clock agrees: its file was written more than its deadline ago by the
 * store's own file times.  Else a clock is wrong (ours, the holder's) and
 * the holder may well be alive: LOCK_LIVE, *why saying so (in buf).
 * 0, or 1 if the file is gone, or -1 on error.
 */
static int
confirm_stale(struct env *v, const char *own, const char *name,
    const struct rec *r, time_t now, enum lock_state *state, const char **why,
    char *buf, size_t n, struct err *e)
{
	char ours[64], age[32];
	int64_t mtime, snow = INT64_MIN;
	int k;

	if ((k = stor_mtime(v->st, name, &mtime, e)) != 0)
		return (k == 1 ? 1 : err_wrap(e, "time of lock"));
	if (store_clock(v, own, &snow, e) == -1)
		return (-1);
	if (r->refreshed > (long long)now)
		snprintf(ours, sizeof(ours),
		    "written by a clock ahead of ours");
	else {
		fmt_dur(age, (long long)now - r->refreshed);
		snprintf(ours, sizeof(ours),
		    "not refreshed for %s by our clock", age);
	}
	if (snow == INT64_MIN || mtime == INT64_MIN) {
		snprintf(buf, n, "%s, but the store's clock cannot confirm it",
		    ours);
		*state = LOCK_LIVE;
		*why = buf;
		return (0);
	}
	fmt_dur(age, (long long)(snow - mtime));
	if (snow - mtime > r->stale_after) {
		snprintf(buf, n, "%s; its file is %s old by the store's clock",
		    *why, age);
		*why = buf;
		return (0);
	}
	snprintf(buf, n,
	    "%s, but its file is %s old by the store's clock: a clock is wrong",
	    ours, age);
	*state = LOCK_LIVE;
	*why = buf;
	return (0);
}

/* ---- walking the lock files ---- */

struct names {
	char **v;
	size_t n, cap;
};

static int
collect(void *arg, const char *name, uint64_t size)
{
	struct names *nm = arg;

	(void)size;
	if (nm->n == nm->cap) {
		nm->cap = nm->cap == 0 ? 16 : nm->cap * 2;
		nm->v = xreallocarray(nm->v, nm->cap, sizeof(*nm->v));
	}
	nm->v[nm->n++] = xstrdup(name);
	return (0);
}

static void
names_free(struct names *nm)
{
	for (size_t i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
}

/*
 * Called for each lock file but own: r is NULL when unreadable (why says
 * why).  Returns 0 to go on, non-zero to stop (-1 with e set: error).
 */
typedef int (*visit_fn)(void *arg, struct env *, const char *name,
    enum lock_state, const char *why, const struct rec *r, time_t now,
    struct err *);

static int
scan(struct env *v, const char *own, visit_fn fn, void *arg, struct err *e)
{
	struct names nm = { NULL, 0, 0 };
	time_t now;
	int rc = -1;

	if (stor_list(v->st, LOCK_DIR, collect, &nm, e) == -1) {
		err_wrap(e, "list locks");
		goto out;
	}
	now = v->now();
	for (size_t i = 0; i < nm.n; i++) {
		char why[256];
		const char *reason = why;
		enum lock_state state = LOCK_UNREADABLE;
		struct rec r;
		int k;

		if (own != NULL && strcmp(nm.v[i], own) == 0)
			continue;
		if ((k = read_rec(v, nm.v[i], &r, why, sizeof(why), e)) == -1)
			goto out;
		if (k == 2)
			continue;
		if (k == 0)
			state = judge(v, &r, now, &reason);
		if (state == LOCK_STALE &&
		    (k = confirm_stale(v, own, nm.v[i], &r, now, &state,
		         &reason, why, sizeof(why), e)) != 0) {
			rec_free(&r);
			if (k == -1)
				goto out;
			continue;
		}
		k = fn(arg, v, nm.v[i], state, reason, k == 0 ? &r : NULL, now,
		    e);
		rec_free(&r);
		if (k != 0) {
			rc = k;
			goto out;
		}
	}
	rc = 0;
out:
	names_free(&nm);
	return (rc);
}

/* "exclusive lock of 'prune' (pid 42 on db1, user root) since ..." */
static void
describe(char *buf, size_t n, const struct rec *r, const char *why, time_t now)
{
	char since[32], ago[32];

	fmt_utc(since, r->created);
	fmt_dur(ago, (long long)now - r->created);
	snprintf(buf, n,
	    "%s lock of '%s' (pid %ld on %s, user %s%s%s) since %s (%s ago)",
	    lock_mode_name(r->mode), r->command, r->pid, r->hostname,
	    r->username, why != NULL ? ", " : "", why != NULL ? why : "", since,
	    ago);
}

/* ---- acquire ---- */

/* What a check found in the way; the most telling one is described. */
struct conflict {
	int n;
	int rank; /* of the described one: 3 live, 2 stale, 1 unreadable */
	enum lock_state state;
	char desc[LOCK_DESC_MAX];
	int quiet; /* a repeated poll: do not repeat notices */
	enum lock_mode want;
};

static int
check_one(void *arg, struct env *v, const char *name, enum lock_state state,
    const char *why, const struct rec *r, time_t now, struct err *e)
{
	struct conflict *c = arg;
	char desc[LOCK_DESC_MAX];
	int rank;

	(void)e;
	switch (state) {
	case LOCK_DEAD: {
		struct err e2;

		describe(desc, sizeof(desc), r, NULL, now);
		if (stor_remove(v->st, name, &e2) == -1)
			say(v, "ignoring %s, %s: %s; could not remove it: %s",
			    name, desc, why, e2.msg);
		else
			say(v, "removed %s, %s: %s", name, desc, why);
		return (0);
	}
	case LOCK_UNREADABLE:
		if (c->want == LOCK_SHARED) {
			if (!c->quiet)
				say(v,
				    "ignoring lock file %s that coffer cannot "
				    "read (%s); only exclusive locks wait for "
				    "it, and 'coffer unlock -r %s "
				    "--remove-stale' removes it",
				    name, why, stor_location(v->st));
			return (0);
		}
		snprintf(desc, sizeof(desc),
		    "a lock file coffer cannot read (%s: %s)", name, why);
		rank = 1;
		break;
	case LOCK_LIVE:
	case LOCK_STALE:
		if (c->want == LOCK_SHARED && r->mode == LOCK_SHARED)
			return (0);
		describe(desc, sizeof(desc), r, state == LOCK_LIVE ? why : NULL,
		    now);
		if (state == LOCK_STALE) {
			char age[32], late[32];
			size_t k = strlen(desc);

			fmt_dur(age, (long long)now - r->refreshed);
			fmt_dur(late,
			    (long long)now - r->refreshed - r->stale_after);
			if (r->refreshed > (long long)now)
				snprintf(desc + k, sizeof(desc) - k,
				    ", stale: %s", why);
			else
				snprintf(desc + k, sizeof(desc) - k,
				    ", stale: %s (last refresh %s ago, "
				    "deadline passed %s ago)",
				    why, age, late);
		}
		rank = state == LOCK_LIVE ? 3 : 2;
		break;
	default:
		return (0);
	}
	c->n++;
	if (rank > c->rank) {
		c->rank = rank;
		c->state = state;
		snprintf(c->desc, sizeof(c->desc), "%s", desc);
	}
	return (0);
}

static int
check(struct lock *lk, const char *own, struct conflict *c, int quiet,
    struct err *e)
{
	memset(c, 0, sizeof(*c));
	c->quiet = quiet;
	c->want = lk->mode;
	return (scan(&lk->env, own, check_one, c, e));
}

/*
 * One attempt: publish our lock file, then look at everyone else's.
 * Because each contender writes before it reads, of two contenders at
 * least one sees the other.  We read twice: a holder that refreshes
 * while we list replaces its file by a new one, and a listing may miss
 * both (the new one made after the listing began, the old one removed
 * before it got there); refreshes come at most every few minutes, so the
 * second listing sees the new file.  0 and held, 1 conflict (our file
 * removed again), -1 error.
 */
static int
try_once(struct lock *lk, struct conflict *c, struct err *e)
{
	struct err e2;
	int r;

	if ((lk->name = new_name(e)) == NULL)
		return (-1);
	lk->created = lk->refreshed = lk->env.now();
	if (write_lock(lk, lk->name, e) == -1) {
		free(lk->name);
		lk->name = NULL;
		return (-1);
	}
	tell_held(lk);
	r = check(lk, lk->name, c, 0, e);
	if (r == 0 && c->n == 0)
		r = check(lk, lk->name, c, 1, e);
	if (r == 0 && c->n == 0)
		return (0);
	/* Lost, or could not tell: take our file back. */
	if (stor_remove(lk->env.st, lk->name, &e2) == -1) {
		/*
		 * A file we cannot remove would block others while we wait,
		 * so give up now; once we exit it is a dead lock.
		 */
		*e = e2;
		err_wrap(e, "remove own lock after %s",
		    r == -1 ? "an error" : "a conflict");
		r = -1;
	}
	free(lk->name);
	lk->name = NULL;
	tell_held(lk);
	return (r == -1 ? -1 : 1);
}

static int
conflict_error(struct lock *lk, const struct conflict *c, unsigned waited,
    struct err *e)
{
	const char *loc = stor_location(lk->env.st);
	char more[64] = "", wait[64] = "";

	if (c->n > 1)
		snprintf(more, sizeof(more),
		    " (and %d more conflicting lock%s)", c->n - 1,
		    c->n > 2 ? "s" : "");
	if (waited > 0)
		snprintf(wait, sizeof(wait), " (waited %u s)", waited);
	switch (c->state) {
	case LOCK_STALE:
		return (err_set(e, ERR_LOCKED,
		    "repository %s is locked: %s%s%s; if that process is "
		    "gone, run 'coffer unlock -r %s --remove-stale'",
		    loc, c->desc, more, wait, loc));
	case LOCK_UNREADABLE:
		return (err_set(e, ERR_LOCKED,
		    "repository %s has %s%s%s; if no coffer process is using "
		    "the repository, run 'coffer unlock -r %s --remove-stale'",
		    loc, c->desc, more, wait, loc));
	default:
		return (
		    err_set(e, ERR_LOCKED, "repository %s is locked: %s%s%s",
		        loc, c->desc, more, wait));
	}
}

static uint32_t
jitter(void)
{
	uint32_t x;

	if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != (ssize_t)sizeof(x))
		x = (uint32_t)mono_ms() ^ (uint32_t)getpid() * 2654435761u;
	return (x);
}

/* Sleep ms, or less if interrupted; 0, or -1 if *interrupted. */
static int
nap(const struct env *v, int64_t ms)
{
	struct timespec ts, rem;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &rem) == -1 && errno == EINTR) {
		if (v->interrupted != NULL && *v->interrupted)
			break;
		ts = rem;
	}
	return (v->interrupted != NULL && *v->interrupted ? -1 : 0);
}

int
lock_acquire(struct stor *st, enum lock_mode mode, const struct lock_opts *opts,
    struct lock **out, struct err *e)
{
	struct lock *lk = xcalloc(1, sizeof(*lk));
	struct conflict c;
	int64_t start, give_up;
	int64_t delay = LOCK_BACKOFF_MIN_MS;
	int rc = -1, told = 0;

	*out = NULL;
	lk->mode = mode;
	if (mode != LOCK_SHARED && mode != LOCK_EXCLUSIVE) {
		err_set(e, ERR_INTERNAL, "lock mode %d", (int)mode);
		goto out;
	}
	if (env_init(&lk->env, st, opts, e) == -1)
		goto out;
	start = mono_ms();
	give_up = start + (int64_t)lk->env.wait * 1000;
	for (int attempt = 0;; attempt++) {
		int r = 0;

		/*
		 * When waiting, look before writing: our own file, even for
		 * a moment, would make others fail.
		 */
		if (attempt > 0 && (r = check(lk, NULL, &c, 1, e)) == -1)
			goto out;
		if (attempt == 0 || c.n == 0) {
			if ((r = try_once(lk, &c, e)) == -1)
				goto out;
			if (r == 0)
				break;
		}
		if (lk->env.wait == 0 || mono_ms() >= give_up) {
			conflict_error(lk, &c, lk->env.wait, e);
			goto out;
		}
		if (!told) {
			say(&lk->env,
			    "repository %s is locked: %s; waiting up to %u s",
			    stor_location(st), c.desc, lk->env.wait);
			told = 1;
		}
		if (lk->env.interrupted != NULL && *lk->env.interrupted) {
			err_set(e, ERR_INTERRUPTED,
			    "interrupted while waiting for the lock on %s",
			    stor_location(st));
			goto out;
		}
		{
			/* Contenders that lost together must not retry
			 * together. */
			int64_t ms =
			    delay / 2 + (int64_t)(jitter() % (uint32_t)delay);
			int64_t left = give_up - mono_ms();

			if (ms > left)
				ms = left > 0 ? left : 0;
			if (nap(&lk->env, ms) == -1) {
				err_set(e, ERR_INTERRUPTED,
				    "interrupted while waiting for the lock on "
				    "%s",
				    stor_location(st));
				goto out;
			}
		}
		if ((delay *= 2) > LOCK_BACKOFF_MAX_MS)
			delay = LOCK_BACKOFF_MAX_MS;
	}
	*out = lk;
	lk = NULL;
	rc = 0;
out:
	if (rc == -1)
		err_mark(e, ERR_F_LOCK);
	lock_free(lk);
	return (rc);
}

/* ---- hold and release ---- */

static time_t
refresh_every(const struct lock *lk)
{
	unsigned s = lk->env.stale_after / 3;

	return ((time_t)(s == 0 ? 1 : s));
}

/*
 * A child forked while we hold the lock shares our struct lock but not the
 * lock: it must not refresh or remove our files.
 */
static int
owner(const struct lock *lk)
{
	return (lk->env.me.pid == (long)getpid());
}

int
lock_refresh_due(const struct lock *lk)
{
	/* The clock before getpid: this is asked between every two chunks. */
	return (lk->name != NULL &&
	    lk->env.now() - lk->refreshed >= refresh_every(lk) && owner(lk));
}

/*
 * Try again to remove earlier files of ours; keep those that stay.  -1
 * and the last failure in e if any stay.
 */
static int
remove_old(struct lock *lk, struct err *e)
{
	size_t kept = 0;

	for (size_t i = 0; i < lk->nold; i++) {
		if (stor_remove(lk->env.st, lk->old[i], e) == 0)
			free(lk->old[i]);
		else
			lk->old[kept++] = lk->old[i];
	}
	lk->nold = kept;
	return (kept == 0 ? 0 : -1);
}

int
lock_refresh(struct lock *lk, struct err *e)
{
	const char *loc = stor_location(lk->env.st);
	time_t now = lk->env.now(), prev = lk->refreshed;
	char *name = NULL;
	struct err e2;
	uint64_t size;
	int r, rc = -1;

	/*
	 * Called between every two chunks a restore or check reads: when no
	 * refresh is due, answer before asking the kernel who we are.
	 */
	if (lk->name != NULL && now - lk->refreshed < refresh_every(lk))
		return (0);
	if (lk->name == NULL || !owner(lk))
		return (err_set(e, ERR_INTERNAL,
		    "refresh of a lock not held by this process"));
	if ((r = stor_stat(lk->env.st, lk->name, &size, e)) == -1)
		goto out;
	if (r == 1) {
		/* Someone broke it: an exclusive lock may be held now. */
		err_set(e, ERR_LOCKED,
		    "our lock %s on %s was removed by someone else (coffer "
		    "unlock --remove-stale?); stopping, since another process "
		    "may now hold an exclusive lock",
		    lk->name, loc);
		free(lk->name);
		lk->name = NULL;
		tell_held(lk);
		goto out;
	}
	if (now - prev > (time_t)lk->env.stale_after)
		say(&lk->env,
		    "lock %s on %s was last refreshed %lld s ago, "
		    "past its %u s deadline: other hosts may have reported it "
		    "stale meanwhile",
		    lk->name, loc, (long long)(now - prev),
		    lk->env.stale_after);
	if ((name = new_name(e)) == NULL)
		goto out;
	lk->refreshed = now;
	if (write_lock(lk, name, e) == -1) {
		lk->refreshed = prev; /* the old file still holds the lock */
		goto out;
	}
	(void)remove_old(lk, &e2);
	if (stor_remove(lk->env.st, lk->name, &e2) == -1) {
		say(&lk->env,
		    "could not remove old lock file %s (%s); it counts as dead "
		    "once this process ends",
		    lk->name, e2.msg);
		lk->old =
		    xreallocarray(lk->old, lk->nold + 1, sizeof(*lk->old));
		lk->old[lk->nold++] = lk->name;
	} else
		free(lk->name);
	lk->name = name;
	name = NULL;
	tell_held(lk);
	rc = 0;
out:
	free(name);
	return (rc);
}

int
lock_release(struct lock *lk, struct err *e)
{
	if (!owner(lk))
		return (err_set(e, ERR_INTERNAL,
		    "release of a lock held by process %ld, not this one",
		    lk->env.me.pid));
	if (lk->name != NULL) {
		if (stor_remove(lk->env.st, lk->name, e) == -1)
			return (err_wrap(e, "release lock"));
		free(lk->name);
		lk->name = NULL;
		tell_held(lk);
	}
	if (remove_old(lk, e) == -1)
		return (err_wrap(e, "release lock: earlier file"));
	return (0);
}

void
lock_free(struct lock *lk)
{
	struct err e;

	if (lk == NULL)
		return;
	if (lk->env.st != NULL && owner(lk) && lock_release(lk, &e) == -1)
		say(&lk->env,
		    "warning: %s; the lock file stays behind (on an "
		    "append-only copy use --no-lock; elsewhere 'coffer unlock "
		    "--remove-stale' removes it once it is stale)",
		    e.msg);
	if (lk->name != NULL && owner(lk)) {
		/* Left behind: no longer ours to remove at an abrupt end. */
		free(lk->name);
		lk->name = NULL;
		tell_held(lk);
	}
	free(lk->name);
	for (size_t i = 0; i < lk->nold; i++)
		free(lk->old[i]);
	free(lk->old);
	env_free(&lk->env);
	free(lk);
}

const char *
lock_name(const struct lock *lk)
{
	return (lk->name);
}

/* ---- listing and the admin's cleanup ---- */

struct list_arg {
	int (*fn)(void *, const struct lock_info *);
	void *arg;
};

static int
list_one(void *arg, struct env *v, const char *name, enum lock_state state,
    const char *why, const struct rec *r, time_t now, struct err *e)
{
	struct list_arg *la = arg;
	struct lock_info li;

	(void)v;
	(void)now;
	(void)e;
	memset(&li, 0, sizeof(li));
	li.name = name;
	li.state = state;
	li.reason = why;
	if (r != NULL) {
		li.mode = r->mode;
		li.hostname = r->hostname;
		li.username = r->username;
		li.command = r->command;
		li.pid = r->pid;
		li.created = (time_t)r->created;
		li.refreshed = (time_t)r->refreshed;
		li.deadline = (time_t)(r->refreshed + r->stale_after);
	}
	return (la->fn(la->arg, &li));
}

int
lock_list(struct stor *st, const struct lock_opts *opts,
    int (*fn)(void *, const struct lock_info *), void *arg, struct err *e)
{
	struct list_arg la = { fn, arg };
	struct env v;
	int rc = -1;

	if (env_init(&v, st, opts, e) == 0)
		rc = scan(&v, NULL, list_one, &la, e);
	env_free(&v);
	return (rc);
}

static int
remove_one(void *arg, struct env *v, const char *name, enum lock_state state,
    const char *why, const struct rec *r, time_t now, struct err *e)
{
	unsigned *removed = arg;
	char desc[LOCK_DESC_MAX];

	if (state == LOCK_LIVE)
		return (0);
	if (stor_remove(v->st, name, e) == -1)
		return (err_wrap(e, "remove %s lock", lock_state_name(state)));
	(*removed)++;
	if (r == NULL) {
		say(v, "removed unreadable lock file %s: %s", name, why);
		return (0);
	}
	describe(desc, sizeof(desc), r, NULL, now);
	say(v, "removed %s lock %s, %s: %s", lock_state_name(state), name, desc,
	    why);
	return (0);
}

int
lock_remove_stale(struct stor *st, const struct lock_opts *opts,
    unsigned *removed, struct err *e)
{
	struct env v;
	int rc = -1;

	*removed = 0;
	if (env_init(&v, st, opts, e) == 0)
		rc = scan(&v, NULL, remove_one, removed, e);
	env_free(&v);
	return (rc == 0 ? 0 : -1);
}
