/*
 * Repository locks on a real local store: modes, dead and stale holders,
 * refresh, malformed files, and processes racing for the same lock.
 */
#include <sys/types.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "fault.h"
#include "repo/lock.h"
#include "store/store.h"
#include "tutil.h"
#include "xmalloc.h"

#define HOST "testhost"

/* Test-only state: each test runs in its own forked process. */
static char *dir;
static struct stor *st;
static time_t fake;
static char notes[16384];

static time_t
fake_now(void)
{
	return (fake);
}

static void
note(void *arg, const char *msg)
{
	size_t n = strlen(notes);

	(void)arg;
	ck_assert_ptr_null(strchr(msg, '\n'));
	snprintf(notes + n, sizeof(notes) - n, "%s\n", msg);
}

static void
setup(void)
{
	struct err e;

	dir = tutil_mkdtemp();
	ck_assert_int_eq(stor_open(dir, 0, &st, &e), 0);
	fake = 1700000000;
	notes[0] = '\0';
}

static void
teardown(void)
{
	stor_close(st);
	tutil_rmtree(dir);
	free(dir);
}

static struct lock_opts
opts(const char *command)
{
	struct lock_opts o;

	memset(&o, 0, sizeof(o));
	o.command = command;
	o.hostname = HOST;
	o.now = fake_now;
	o.notice = note;
	return (o);
}

static int
count_one(void *arg, const char *name, uint64_t size)
{
	(void)name;
	(void)size;
	(*(int *)arg)++;
	return (0);
}

/* Number of lock files in the store. */
static int
nlocks(void)
{
	struct err e;
	int n = 0;

	ck_assert_int_eq(stor_list(st, "locks", count_one, &n, &e), 0);
	return (n);
}

static int
exists(const char *name)
{
	struct err e;
	uint64_t size;

	return (stor_stat(st, name, &size, &e) == 0);
}

/* Our start time, field 22 of /proc/self/stat. */
static unsigned long long
own_start(void)
{
	char *s = tutil_read_file("/proc/self/stat", NULL), *p;
	unsigned long long v;

	ck_assert_ptr_nonnull(s);
	p = strrchr(s, ')') + 2;
	for (int f = 3; f < 22; f++)
		p = strchr(p, ' ') + 1;
	v = strtoull(p, NULL, 10);
	free(s);
	return (v);
}

/* A pid that no process has (a child that has been reaped). */
static pid_t
gone_pid(void)
{
	pid_t pid = fork();

	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return (pid);
}

/* Store text as lock file number n. */
static char *
put_raw(int n, const char *text)
{
	char *name = xasprintf("locks/%064x", n);
	struct err e;

	ck_assert_int_eq(stor_put(st, name, (const uint8_t *)text, strlen(text),
	                     STOR_NOREPLACE, &e),
	    0);
	return (name);
}

/* A lock file as another process would write it; extra is more fields. */
static char *
put_lock(int n, const char *mode, const char *host, long pid,
    unsigned long long start, long long refreshed, long stale_after,
    const char *extra)
{
	char *text = xasprintf("{\"version\": 1, \"mode\": \"%s\", "
	                       "\"hostname\": \"%s\", \"pid\": %ld, "
	                       "\"pid_start\": %llu, \"username\": \"alice\", "
	                       "\"command\": \"snapshot\", \"created\": %lld, "
	                       "\"refreshed\": %lld, \"stale_after\": %ld%s}\n",
	    mode, host, pid, start, refreshed - 60, refreshed, stale_after,
	    extra);
	char *name = put_raw(n, text);

	free(text);
	return (name);
}

/*
 * Make the store's time of lock file name secs seconds ago by the store's
 * clock (the real one: the fake clock is only the client's).
 */
static void
age(const char *name, long secs)
{
	struct timespec ts[2];
	char *path = xasprintf("%s/%s", dir, name);

	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - secs;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	free(path);
}

static json_t *
load(const char *name)
{
	struct err e;
	uint8_t *data;
	size_t len;
	json_t *j;

	ck_assert_int_eq(stor_get(st, name, 65536, &data, &len, &e), 0);
	j = json_loadb((const char *)data, len, 0, NULL);
	ck_assert_ptr_nonnull(j);
	free(data);
	return (j);
}

static long long
jint(json_t *j, const char *key)
{
	ck_assert(json_is_integer(json_object_get(j, key)));
	return (json_integer_value(json_object_get(j, key)));
}

static const char *
jstr(json_t *j, const char *key)
{
	ck_assert(json_is_string(json_object_get(j, key)));
	return (json_string_value(json_object_get(j, key)));
}

START_TEST(test_shared_locks_coexist_and_say_who)
{
	struct lock_opts o = opts("snapshot");
	struct lock *a, *b;
	struct err e;
	json_t *j;

	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &a, &e), 0);
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &b, &e), 0);
	ck_assert_int_eq(nlocks(), 2);
	ck_assert_str_ne(lock_name(a), lock_name(b));
	/* locks/ then 64 lowercase hex digits. */
	ck_assert_uint_eq(strlen(lock_name(a)), 6 + 64);
	ck_assert_uint_eq(strspn(lock_name(a) + 6, "0123456789abcdef"), 64);

	j = load(lock_name(a));
	ck_assert_int_eq(jint(j, "version"), 1);
	ck_assert_str_eq(jstr(j, "mode"), "shared");
	ck_assert_str_eq(jstr(j, "hostname"), HOST);
	ck_assert_int_eq(jint(j, "pid"), getpid());
	ck_assert_int_eq(jint(j, "pid_start"), (long long)own_start());
	ck_assert_str_eq(jstr(j, "command"), "snapshot");
	ck_assert_uint_gt(strlen(jstr(j, "username")), 0);
	ck_assert_int_eq(jint(j, "created"), fake);
	ck_assert_int_eq(jint(j, "refreshed"), fake);
	ck_assert_int_eq(jint(j, "stale_after"), LOCK_STALE_AFTER_DEFAULT);
	json_decref(j);

	ck_assert_int_eq(lock_release(a, &e), 0);
	ck_assert_int_eq(nlocks(), 1);
	lock_free(a);
	lock_free(b); /* releases too */
	ck_assert_int_eq(nlocks(), 0);
	ck_assert_str_eq(notes, "");
}
END_TEST

START_TEST(test_exclusive_excludes_both_ways)
{
	struct lock_opts o = opts("prune"), s = opts("snapshot");
	struct lock *x, *y;
	struct err e;
	char pid[32];

	snprintf(pid, sizeof(pid), "pid %ld ", (long)getpid());
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &x, &e), 0);

	/* Shared after exclusive: one line naming the holder. */
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &s, &y, &e), -1);
	ck_assert_ptr_null(y);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	ck_assert_ptr_null(strchr(e.msg, '\n'));
	ck_assert_ptr_nonnull(strstr(e.msg, dir));
	ck_assert_ptr_nonnull(strstr(e.msg, "exclusive lock of 'prune'"));
	ck_assert_ptr_nonnull(strstr(e.msg, pid));
	ck_assert_ptr_nonnull(strstr(e.msg, "on " HOST));
	ck_assert_ptr_nonnull(strstr(e.msg, "since 2023-11-14 22:13:20 UTC"));
	ck_assert_ptr_null(strstr(e.msg, "stale"));
	ck_assert_int_eq(nlocks(), 1); /* the loser took its file back */

	/* Exclusive after exclusive. */
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &y, &e), -1);
	ck_assert_int_eq(e.class, ERR_LOCKED);

	/* Exclusive after shared: no upgrade, even within one process. */
	lock_free(x);
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &s, &x, &e), 0);
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &y, &e), -1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	ck_assert_ptr_nonnull(strstr(e.msg, "shared lock of 'snapshot'"));
	ck_assert_int_eq(nlocks(), 1);
	lock_free(x);
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &y, &e), 0);
	lock_free(y);
	ck_assert_int_eq(nlocks(), 0);
}
END_TEST

/*
 * A child takes a lock and is killed with SIGKILL.  reap: wait for it
 * first; else it is a zombie while we take the lock.
 */
static void
killed_holder(int reap)
{
	struct lock_opts o = opts("snapshot");
	struct lock *lk;
	struct err e;
	siginfo_t si;
	int fds[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		if (lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e) == 0 &&
		    write(fds[1], "k", 1) == 1)
			pause();
		_exit(1);
	}
	ck_assert_int_ne(pid, -1);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	ck_assert_int_eq(nlocks(), 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	if (reap)
		ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	else
		ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si,
		                     WEXITED | WNOWAIT),
		    0);

	/* The next command is not blocked, and cleans up. */
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e), 0);
	ck_assert_int_eq(nlocks(), 1);
	ck_assert_ptr_nonnull(strstr(notes, "removed locks/"));
	ck_assert_ptr_nonnull(strstr(notes,
	    reap ? "its process is gone" : "its process has exited"));
	lock_free(lk);
	if (!reap)
		ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(nlocks(), 0);
}

START_TEST(test_killed_holder_is_removed)
{
	killed_holder(1);
}
END_TEST

START_TEST(test_killed_holder_zombie_is_removed)
{
	killed_holder(0);
}
END_TEST

START_TEST(test_pid_reuse_and_restart_are_detected)
{
	struct lock_opts o = opts("prune");
	struct lock *lk;
	struct err e;
	char *name, *boot;

	/* Our pid, but a process started at another time: pid reused. */
	name = put_lock(1, "exclusive", HOST, getpid(), own_start() + 1000,
	    fake, 1800, "");
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e), 0);
	ck_assert(!exists(name));
	ck_assert_ptr_nonnull(strstr(notes, "another process"));
	lock_free(lk);
	free(name);

	/* The same with the right start time is a live lock. */
	name = put_lock(2, "exclusive", HOST, getpid(), own_start(), fake, 1800,
	    "");
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	ck_assert(exists(name));
	/* ... but not from before this host's last restart. */
	boot = tutil_read_file("/proc/sys/kernel/random/boot_id", NULL);
	if (boot != NULL) {
		struct err e2;

		ck_assert_int_eq(stor_remove(st, name, &e2), 0);
		free(name);
		name = put_lock(3, "exclusive", HOST, getpid(), own_start(),
		    fake, 1800,
		    ", \"boot_id\": \"00000000-0000-0000-0000-000000000000\"");
		ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), 0);
		ck_assert(!exists(name));
		ck_assert_ptr_nonnull(strstr(notes, "restarted"));
		lock_free(lk);
	}
	free(boot);
	free(name);
}
END_TEST

START_TEST(test_other_pid_namespace_is_judged_by_deadline)
{
	struct lock_opts o = opts("prune");
	struct lock *lk;
	struct err e;
	char *name;

	/* Same host name, a pid that is not running here: a container. */
	name = put_lock(1, "shared", HOST, gone_pid(), 123, fake - 100, 1800,
	    ", \"pid_ns\": \"pid:[1]\"");
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	ck_assert_ptr_nonnull(strstr(e.msg, "another PID namespace"));
	ck_assert(exists(name));
	fake += 1800;
	age(name, 1900);
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "stale"));
	ck_assert_ptr_nonnull(strstr(e.msg, "--remove-stale"));
	ck_assert(exists(name));
	free(name);
}
END_TEST

START_TEST(test_other_host_blocks_until_deadline_then_says_stale)
{
	struct lock_opts o = opts("snapshot");
	struct lock *lk;
	struct err e;
	char *name, *fix;

	name = put_lock(1, "exclusive", "otherhost", 4242, 99, fake - 100, 1800,
	    "");
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	ck_assert_ptr_nonnull(strstr(e.msg, "pid 4242 on otherhost"));
	ck_assert_ptr_nonnull(strstr(e.msg, "user alice"));
	ck_assert_ptr_null(strstr(e.msg, "stale"));
	ck_assert_ptr_null(strstr(e.msg, "--remove-stale"));

	/* Right at the deadline it still counts as live. */
	fake += 1700;
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), -1);
	ck_assert_ptr_null(strstr(e.msg, "stale"));

	/* Past it by both clocks: still blocks, never broken, and says
	 * what to do. */
	fake += 1000;
	age(name, 2800);
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	ck_assert_ptr_null(strchr(e.msg, '\n'));
	ck_assert_ptr_nonnull(strstr(e.msg, "pid 4242 on otherhost"));
	ck_assert_ptr_nonnull(strstr(e.msg, "stale"));
	ck_assert_ptr_nonnull(strstr(e.msg, "last refresh 46 min ago"));
	ck_assert_ptr_nonnull(strstr(e.msg, "deadline passed 16 min ago"));
	fix = xasprintf("if that process is gone, run 'coffer unlock -r %s "
	                "--remove-stale'",
	    dir);
	ck_assert_ptr_nonnull(strstr(e.msg, fix));
	free(fix);
	ck_assert(exists(name));
	ck_assert_str_eq(notes, "");
	free(name);
}
END_TEST

START_TEST(test_a_clock_far_ahead_makes_a_lock_stale)
{
	struct lock_opts o = opts("snapshot");
	struct lock *lk;
	struct err e;
	unsigned removed;
	char *near, *far;

	/* A little ahead is clock skew: live. */
	near = put_lock(1, "shared", "otherhost", 5, 1, fake + 600, 1800, "");
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e), -1);
	ck_assert_ptr_null(strstr(e.msg, "stale"));
	/* More than a deadline ahead: the deadline means nothing. */
	far = put_lock(2, "exclusive", "otherhost", 6, 1, fake + 86400 * 365,
	    1800, "");
	age(far, 3600); /* and the store saw no refresh for an hour */
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "stale: written by a clock ahead"));
	ck_assert_ptr_null(strstr(e.msg, "last refresh"));
	ck_assert_ptr_nonnull(strstr(e.msg, "--remove-stale"));
	ck_assert(exists(far));
	ck_assert_int_eq(lock_remove_stale(st, &o, &removed, &e), 0);
	ck_assert_uint_eq(removed, 1);
	ck_assert(!exists(far));
	ck_assert(exists(near));
	free(near);
	free(far);
}
END_TEST

START_TEST(test_other_host_shared_excludes_only_exclusive)
{
	struct lock_opts o = opts("snapshot");
	struct lock *lk;
	struct err e;
	char *name;

	name = put_lock(1, "shared", "otherhost", 4242, 99, fake, 1800, "");
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), 0);
	lock_free(lk);
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "shared lock of 'snapshot'"));
	/* A stale shared lock still keeps prune out. */
	fake += 7200;
	age(name, 7200);
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "stale"));
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), 0);
	lock_free(lk);
	ck_assert(exists(name));
	free(name);
}
END_TEST

struct seen {
	int n;
	char names[8][80];
	enum lock_state states[8];
	char reasons[8][256];
};

static int
seen_one(void *arg, const struct lock_info *li)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, 8);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", li->name);
	snprintf(s->reasons[s->n], sizeof(s->reasons[0]), "%s",
	    li->reason != NULL ? li->reason : "");
	s->states[s->n++] = li->state;
	if (li->state != LOCK_UNREADABLE) {
		ck_assert_ptr_nonnull(li->hostname);
		ck_assert_int_gt(li->pid, 0);
		ck_assert_int_ge(li->deadline, li->refreshed);
	}
	return (0);
}

static enum lock_state
state_of(const struct seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return (s->states[i]);
	ck_abort_msg("%s not listed", name);
	return (LOCK_LIVE);
}

START_TEST(test_list_and_remove_stale)
{
	struct lock_opts o = opts("unlock");
	struct lock *mine;
	struct seen s;
	struct err e;
	unsigned removed;
	char *dead, *stale, *young, *junk;

	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &mine, &e), 0);
	dead = put_lock(1, "shared", HOST, gone_pid(), 1, fake, 1800, "");
	stale =
	    put_lock(2, "exclusive", "otherhost", 7, 1, fake - 4000, 1800, "");
	young = put_lock(3, "shared", "otherhost", 8, 1, fake - 10, 1800, "");
	age(stale, 4000);
	junk = put_raw(4, "{\"version\": 1, \"mode\": \"shared\"}");

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(lock_list(st, &o, seen_one, &s, &e), 0);
	ck_assert_int_eq(s.n, 5);
	ck_assert_int_eq(state_of(&s, lock_name(mine)), LOCK_LIVE);
	ck_assert_int_eq(state_of(&s, dead), LOCK_DEAD);
	ck_assert_int_eq(state_of(&s, stale), LOCK_STALE);
	ck_assert_int_eq(state_of(&s, young), LOCK_LIVE);
	ck_assert_int_eq(state_of(&s, junk), LOCK_UNREADABLE);
	ck_assert_int_eq(nlocks(), 5); /* listing removes nothing */
	ck_assert_str_eq(lock_state_name(LOCK_STALE), "stale");
	ck_assert_str_eq(lock_mode_name(LOCK_EXCLUSIVE), "exclusive");

	ck_assert_int_eq(lock_remove_stale(st, &o, &removed, &e), 0);
	ck_assert_uint_eq(removed, 3);
	ck_assert(!exists(dead));
	ck_assert(!exists(stale));
	ck_assert(!exists(junk));
	ck_assert(exists(young));
	ck_assert(exists(lock_name(mine)));
	ck_assert_ptr_nonnull(strstr(notes, "removed stale lock"));
	ck_assert_ptr_nonnull(strstr(notes, "removed dead lock"));
	ck_assert_ptr_nonnull(strstr(notes, "removed unreadable lock file"));
	lock_free(mine);
	free(dead);
	free(stale);
	free(young);
	free(junk);
}
END_TEST

START_TEST(test_refresh_replaces_the_file_when_due)
{
	struct lock_opts o = opts("snapshot");
	struct lock *lk;
	struct err e;
	char *first;
	json_t *j;

	o.stale_after = 30; /* refreshed every 10 s */
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), 0);
	first = xstrdup(lock_name(lk));
	fake += 9;
	ck_assert(!lock_refresh_due(lk));
	ck_assert_int_eq(lock_refresh(lk, &e), 0);
	ck_assert_str_eq(lock_name(lk), first); /* not due: nothing done */

	fake += 1;
	ck_assert(lock_refresh_due(lk));
	ck_assert_int_eq(lock_refresh(lk, &e), 0);
	ck_assert_str_ne(lock_name(lk), first);
	ck_assert(!exists(first));
	ck_assert_int_eq(nlocks(), 1);
	ck_assert(!lock_refresh_due(lk));
	j = load(lock_name(lk));
	ck_assert_int_eq(jint(j, "created"), fake - 10);
	ck_assert_int_eq(jint(j, "refreshed"), fake);
	ck_assert_int_eq(jint(j, "stale_after"), 30);
	ck_assert_str_eq(jstr(j, "mode"), "shared");
	json_decref(j);

	/* Late: still refreshed, with a notice. */
	fake += 100;
	ck_assert_int_eq(lock_refresh(lk, &e), 0);
	ck_assert_ptr_nonnull(strstr(notes, "past its 30 s deadline"));
	ck_assert_int_eq(nlocks(), 1);
	lock_free(lk);
	ck_assert_int_eq(nlocks(), 0);
	free(first);
}
END_TEST

START_TEST(test_refresh_notices_a_broken_lock)
{
	struct lock_opts o = opts("snapshot");
	struct lock *lk;
	struct err e;

	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), 0);
	ck_assert_int_eq(stor_remove(st, lock_name(lk), &e), 0);
	fake += LOCK_STALE_AFTER_DEFAULT;
	ck_assert_int_eq(lock_refresh(lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	ck_assert_ptr_nonnull(strstr(e.msg, "removed by someone else"));
	ck_assert_ptr_null(lock_name(lk));
	ck_assert_int_eq(nlocks(), 0);
	ck_assert_int_eq(lock_refresh(lk, &e), -1);
	lock_free(lk);
}
END_TEST

START_TEST(test_release_removes_the_file)
{
	struct lock_opts o = opts("check");
	struct lock *lk;
	struct err e;
	char *name;

	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e), 0);
	name = xstrdup(lock_name(lk));
	ck_assert(exists(name));
	ck_assert_int_eq(lock_release(lk, &e), 0);
	ck_assert(!exists(name));
	ck_assert_ptr_null(lock_name(lk));
	ck_assert(!lock_refresh_due(lk));
	ck_assert_int_eq(lock_release(lk, &e), 0); /* idempotent */
	lock_free(lk);
	lock_free(NULL);
	free(name);
}
END_TEST

START_TEST(test_forked_child_leaves_the_lock_alone)
{
	struct lock_opts o = opts("snapshot");
	struct lock *lk;
	struct err e;
	pid_t pid;
	int status;

	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e), 0);
	fake += LOCK_STALE_AFTER_DEFAULT;
	if ((pid = fork()) == 0) {
		int ok = lock_refresh_due(lk) == 0 &&
		    lock_refresh(lk, &e) == -1 && lock_release(lk, &e) == -1 &&
		    e.class == ERR_INTERNAL;

		lock_free(lk);
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_ne(pid, -1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(exists(lock_name(lk)));
	ck_assert_int_eq(lock_refresh(lk, &e), 0);
	lock_free(lk);
	ck_assert_int_eq(nlocks(), 0);
}
END_TEST

START_TEST(test_unreadable_locks)
{
	struct lock_opts o = opts("prune"), s = opts("snapshot");
	struct lock *lk;
	struct seen seen;
	struct err e;
	char *garbage, *big, *name;
	unsigned removed;
	size_t nnotes;

	garbage = put_raw(1, "this is not \x1b[31mJSON");
	/* A snapshot goes ahead, and says so. */
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &s, &lk, &e), 0);
	lock_free(lk);
	ck_assert_ptr_nonnull(strstr(notes, garbage));
	ck_assert_ptr_nonnull(strstr(notes, "cannot read"));
	ck_assert_ptr_null(strchr(notes, '\x1b'));
	/* Prune does not, and says what to do. */
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	ck_assert_ptr_nonnull(strstr(e.msg, "cannot read"));
	ck_assert_ptr_nonnull(strstr(e.msg, garbage));
	ck_assert_ptr_nonnull(strstr(e.msg, "not JSON"));
	ck_assert_ptr_nonnull(strstr(e.msg, "--remove-stale"));
	ck_assert_ptr_null(strchr(e.msg, '\x1b'));
	ck_assert(exists(garbage)); /* never removed unasked */

	/* What makes a file unreadable, as lock_list reports it. */
	free(put_raw(2, "[1, 2]"));
	free(put_raw(3,
	    "{\"version\": 1, \"mode\": \"shared\", \"pid\": 5, "
	    "\"refreshed\": 1, \"stale_after\": 60}"));
	free(put_lock(4, "shared", "bad\\u0007host", 5, 1, fake, 60, ""));
	free(put_lock(5, "shared", "otherhost", 0, 1, fake, 60, ""));
	free(put_lock(6, "shared", "otherhost", 5, 1, fake, 0, ""));
	free(put_raw(7, "{\"version\": 1, \"version\": 2}"));
	big = xmalloc(LOCK_FILE_MAX + 2);
	memset(big, ' ', LOCK_FILE_MAX + 1);
	big[LOCK_FILE_MAX + 1] = '\0';
	free(put_raw(8, big));
	free(big);
	memset(&seen, 0, sizeof(seen));
	nnotes = strlen(notes);
	ck_assert_int_eq(lock_list(st, &o, seen_one, &seen, &e), 0);
	ck_assert_int_eq(seen.n, 8);
	for (int i = 0; i < seen.n; i++) {
		ck_assert_int_eq(seen.states[i], LOCK_UNREADABLE);
		ck_assert_uint_gt(strlen(seen.reasons[i]), 0);
	}
	ck_assert_uint_eq(strlen(notes), nnotes); /* listing is silent */
	ck_assert_int_eq(lock_remove_stale(st, &o, &removed, &e), 0);
	ck_assert_uint_eq(removed, 8);
	ck_assert_int_eq(nlocks(), 0);

	/* A mode we do not know is taken as exclusive. */
	name = put_lock(9, "frobnicate", "otherhost", 5, 1, fake, 60, "");
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &s, &lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	ck_assert_int_eq(stor_remove(st, name, &e), 0);
	free(name);

	/* A later version with more fields is read as far as we know it. */
	name = put_raw(10,
	    "{\"version\": 7, \"mode\": \"shared\", "
	    "\"hostname\": \"otherhost\", \"pid\": 5, "
	    "\"refreshed\": 1700000000, \"stale_after\": 60, "
	    "\"colour\": [\"blue\"]}");
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(lock_list(st, &o, seen_one, &seen, &e), 0);
	ck_assert_int_eq(seen.states[0], LOCK_LIVE);
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &s, &lk, &e), 0);
	lock_free(lk);
	free(name);
	free(garbage);
}
END_TEST

START_TEST(test_wait_gives_up_or_is_interrupted)
{
	struct lock_opts o = opts("prune"), s = opts("snapshot");
	volatile sig_atomic_t stop = 0;
	struct lock *x, *lk;
	struct err e;
	struct timespec t0, t1;

	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &x, &e), 0);
	s.wait = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &s, &lk, &e), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	ck_assert_ptr_nonnull(strstr(e.msg, "(waited 1 s)"));
	ck_assert_int_ge((t1.tv_sec - t0.tv_sec) * 1000 +
	        (t1.tv_nsec - t0.tv_nsec) / 1000000,
	    1000);
	ck_assert_ptr_nonnull(strstr(notes, "waiting up to 1 s"));
	ck_assert_int_eq(nlocks(), 1);

	stop = 1;
	s.wait = 60;
	s.interrupted = &stop;
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &s, &lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	ck_assert_int_eq(nlocks(), 1);
	lock_free(x);
}
END_TEST

START_TEST(test_wait_until_the_holder_leaves)
{
	struct lock_opts o = opts("prune"), s = opts("snapshot");
	struct lock *lk;
	struct err e;
	int fds[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		o.notice = NULL;
		if (lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e) != 0 ||
		    write(fds[1], "k", 1) != 1)
			_exit(1);
		usleep(300000);
		lock_free(lk);
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	s.wait = 20;
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &s, &lk, &e), 0);
	ck_assert_ptr_nonnull(strstr(notes, "waiting up to 20 s"));
	ck_assert_ptr_null(strstr(notes, "removed")); /* it left by itself */
	lock_free(lk);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

/* What racing children share: who holds what right now, and outcomes. */
struct board {
	atomic_int shared;
	atomic_int exclusive;
	atomic_int overlap;
	atomic_int wins;
	atomic_int losses;
	atomic_int errors;
};

static void
racer(struct board *b, enum lock_mode mode, unsigned wait, int gate)
{
	struct lock_opts o = opts(mode == LOCK_SHARED ? "snapshot" : "prune");
	struct lock *lk;
	struct err e;
	char c;

	o.now = NULL; /* real time: the children run for real */
	o.notice = NULL;
	o.wait = wait;
	if (read(gate, &c, 1) != 0) /* EOF: everyone starts now */
		_exit(1);
	if (lock_acquire(st, mode, &o, &lk, &e) == -1) {
		atomic_fetch_add(e.class == ERR_LOCKED ? &b->losses
		                                       : &b->errors,
		    1);
		_exit(0);
	}
	if (mode == LOCK_EXCLUSIVE) {
		if (atomic_fetch_add(&b->exclusive, 1) != 0 ||
		    atomic_load(&b->shared) != 0)
			atomic_fetch_add(&b->overlap, 1);
	} else {
		atomic_fetch_add(&b->shared, 1);
		if (atomic_load(&b->exclusive) != 0)
			atomic_fetch_add(&b->overlap, 1);
	}
	atomic_fetch_add(&b->wins, 1);
	usleep(20000);
	atomic_fetch_sub(mode == LOCK_EXCLUSIVE ? &b->exclusive : &b->shared,
	    1);
	if (lock_release(lk, &e) == -1)
		atomic_fetch_add(&b->errors, 1);
	_exit(0);
}

/* n children, the first nexcl of them exclusive, start at once. */
static void
race(struct board *b, int n, int nexcl, unsigned wait)
{
	pid_t pids[16];
	int gate[2], overlap, errors, wins;

	memset(b, 0, sizeof(*b));
	ck_assert_int_le(n, 16);
	ck_assert_int_eq(pipe(gate), 0);
	for (int i = 0; i < n; i++) {
		if ((pids[i] = fork()) == 0) {
			close(gate[1]);
			racer(b, i < nexcl ? LOCK_EXCLUSIVE : LOCK_SHARED, wait,
			    gate[0]);
		}
		ck_assert_int_ne(pids[i], -1);
	}
	close(gate[0]);
	close(gate[1]);
	for (int i = 0; i < n; i++) {
		int status;

		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	overlap = atomic_load(&b->overlap);
	errors = atomic_load(&b->errors);
	wins = atomic_load(&b->wins);
	ck_assert_msg(overlap == 0,
	    "%d children held incompatible locks at "
	    "once",
	    overlap);
	ck_assert_msg(errors == 0, "%d children failed otherwise", errors);
	ck_assert_int_eq(wins + atomic_load(&b->losses), n);
	ck_assert_int_eq(nlocks(), 0);
}

static struct board *
board_new(void)
{
	struct board *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(b, MAP_FAILED);
	return (b);
}

START_TEST(test_race_for_exclusive_without_waiting)
{
	struct board *b = board_new();

	/* Several may lose; never two win at once. */
	for (int round = 0; round < 5; round++)
		race(b, 8, 8, 0);
	munmap(b, sizeof(*b));
}
END_TEST

START_TEST(test_race_with_waiting_everyone_gets_a_turn)
{
	struct board *b = board_new();

	race(b, 8, 8, 60);
	ck_assert_int_eq(atomic_load(&b->wins), 8);
	/* Mixed: shared ones together, exclusive ones alone. */
	for (int round = 0; round < 2; round++) {
		race(b, 10, 3, 60);
		ck_assert_int_eq(atomic_load(&b->wins), 10);
	}
	munmap(b, sizeof(*b));
}
END_TEST

START_TEST(test_bad_options_are_refused)
{
	struct lock_opts o = opts("snapshot");
	struct lock *lk;
	struct err e;

	o.hostname = "";
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(lock_acquire(st, (enum lock_mode)7, &o, &lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERNAL);
	o = opts("two\nlines");
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERNAL);
	ck_assert_int_eq(nlocks(), 0);
	/* NULL options: the real host name and clock. */
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, NULL, &lk, &e), 0);
	ck_assert_int_eq(nlocks(), 1);
	lock_free(lk);
}
END_TEST

START_TEST(test_failures_while_taking_leave_nothing_behind)
{
	struct lock_opts o = opts("prune"), s = opts("snapshot");
	struct lock *x, *lk;
	struct err e;
	char *dead;
	int r;

	fault_arm(FAULT_GETRANDOM, 0, EIO);
	r = lock_acquire(st, LOCK_SHARED, &s, &lk, &e);
	fault_reset();
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(e.class, ERR_IO);
	fault_arm(FAULT_WRITE, 0, ENOSPC);
	r = lock_acquire(st, LOCK_SHARED, &s, &lk, &e);
	fault_reset();
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(e.class, ERR_NOSPACE);
	ck_assert_int_eq(nlocks(), 0);

	/* A dead lock that cannot be removed is still ignored. */
	dead = put_lock(1, "exclusive", HOST, gone_pid(), 1, fake, 1800, "");
	fault_arm(FAULT_UNLINK, 0, EACCES);
	r = lock_acquire(st, LOCK_SHARED, &s, &lk, &e);
	fault_reset();
	ck_assert_int_eq(r, 0);
	ck_assert_ptr_nonnull(strstr(notes, "could not remove it"));
	ck_assert(exists(dead));
	lock_free(lk);
	free(dead);

	/* Losing, and then unable to take our file back: give up at once. */
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &x, &e), 0);
	s.wait = 60;
	fault_arm(FAULT_UNLINK, 0, EIO);
	r = lock_acquire(st, LOCK_SHARED, &s, &lk, &e);
	fault_reset();
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_ptr_nonnull(
	    strstr(e.msg, "remove own lock after a conflict"));
	lock_free(x);
}
END_TEST

START_TEST(test_failures_while_holding_keep_the_lock)
{
	struct lock_opts o = opts("snapshot");
	struct lock *lk;
	struct err e;
	char *name;
	int r;

	o.stale_after = 30;
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), 0);
	name = xstrdup(lock_name(lk));

	/* The new file cannot be written: the old one still holds. */
	fake += 10;
	fault_arm(FAULT_WRITE, 0, ENOSPC);
	r = lock_refresh(lk, &e);
	fault_reset();
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(e.class, ERR_NOSPACE);
	ck_assert_str_eq(lock_name(lk), name);
	ck_assert(exists(name));
	ck_assert(lock_refresh_due(lk));
	ck_assert_int_eq(lock_refresh(lk, &e), 0);
	ck_assert_int_eq(nlocks(), 1);

	/* The old file cannot be removed: kept, and removed later. */
	fake += 10;
	fault_arm(FAULT_UNLINK, 0, EIO);
	r = lock_refresh(lk, &e);
	fault_reset();
	ck_assert_int_eq(r, 0);
	ck_assert_ptr_nonnull(strstr(notes, "could not remove old lock file"));
	ck_assert_int_eq(nlocks(), 2);
	fake += 10;
	ck_assert_int_eq(lock_refresh(lk, &e), 0);
	ck_assert_int_eq(nlocks(), 1);
	/* Twice in a row: every leftover is remembered. */
	for (int i = 0; i < 2; i++) {
		fake += 10;
		fault_arm(FAULT_UNLINK, 0, EIO);
		r = lock_refresh(lk, &e);
		fault_reset();
		ck_assert_int_eq(r, 0);
	}
	ck_assert_int_eq(nlocks(), 3);

	/* Release fails: still held, and lock_free tries again. */
	fault_arm(FAULT_UNLINK, 0, EIO);
	r = lock_release(lk, &e);
	fault_reset();
	ck_assert_int_eq(r, -1);
	ck_assert_ptr_nonnull(lock_name(lk));
	fault_arm_once(FAULT_UNLINK, 1,
	    EIO); /* the current goes, an old stays */
	r = lock_release(lk, &e);
	fault_reset();
	ck_assert_int_eq(r, -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "earlier file"));
	ck_assert_ptr_null(lock_name(lk));
	ck_assert_int_eq(nlocks(), 1);
	lock_free(lk);
	ck_assert_int_eq(nlocks(), 0);
	free(name);
}
END_TEST

START_TEST(test_many_conflicts_and_old_ones)
{
	struct lock_opts o = opts("snapshot");
	struct lock *lk;
	struct err e;
	unsigned removed;
	char *a, *b;
	int r;

	a = put_lock(1, "exclusive", "otherhost", 5, 1, fake - 3 * 86400, 1800,
	    "");
	b = put_lock(2, "exclusive", "thirdhost", 6, 1, fake - 4 * 86400, 1800,
	    "");
	age(a, 3 * 86400);
	age(b, 4 * 86400);
	free(a);
	free(b);
	free(put_lock(3, "shared", "otherhost", 7, 1, fake, 1800, ""));
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e), -1);
	/* The live one is named: removing the stale ones would not help. */
	ck_assert_ptr_nonnull(
	    strstr(e.msg, "shared lock of 'snapshot' (pid 7"));
	ck_assert_ptr_nonnull(strstr(e.msg, "(and 2 more conflicting locks)"));
	ck_assert_ptr_null(strstr(e.msg, "stale"));
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &o, &lk, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "stale"));
	ck_assert_ptr_nonnull(strstr(e.msg, "(and 1 more conflicting lock)"));
	ck_assert_ptr_nonnull(strstr(e.msg, "last refresh 3 d 0 h ago"));

	fault_arm(FAULT_UNLINK, 0, EACCES);
	r = lock_remove_stale(st, &o, &removed, &e);
	fault_reset();
	ck_assert_int_eq(r, -1);
	ck_assert_uint_eq(removed, 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "remove stale lock"));
	/* The file written to read the store's clock could not be removed
	 * either: it stays, said so, and is a dead lock once we exit. */
	ck_assert_ptr_nonnull(strstr(notes,
	    "written to read the store's "
	    "clock"));
	ck_assert_int_eq(nlocks(), 4);
}
END_TEST

/*
 * Issue 11: a lock is stale only if it looks stale by both our clock and
 * the store's file times, so a clock 2 h off on either side (the
 * holder's, or ours) never lets a live lock be removed (borg #9870).
 */
START_TEST(test_skewed_clocks_need_the_store_to_agree)
{
	struct lock_opts o = opts("prune");
	struct lock *lk;
	struct seen s;
	struct err e;
	unsigned removed;
	char *behind, *ahead, *fresh;

	/* Holders alive, writing now by the store's clock, but with their
	 * clocks 2 h behind ours and 2 h ahead of it. */
	behind =
	    put_lock(1, "shared", "otherhost", 5, 1, fake - 7200, 1800, "");
	ahead = put_lock(2, "shared", "thirdhost", 6, 1, fake + 7200, 1800, "");
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	ck_assert_ptr_null(strstr(e.msg, "stale"));
	ck_assert_ptr_nonnull(strstr(e.msg,
	    "by the store's clock: a clock is "
	    "wrong"));
	ck_assert_ptr_nonnull(strstr(e.msg, "(and 1 more conflicting lock)"));
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(lock_list(st, &o, seen_one, &s, &e), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(state_of(&s, behind), LOCK_LIVE);
	ck_assert_int_eq(state_of(&s, ahead), LOCK_LIVE);
	for (int i = 0; i < 2; i++)
		ck_assert_ptr_nonnull(strstr(s.reasons[i], "a clock is wrong"));
	ck_assert_ptr_nonnull(strstr(s.reasons[0],
	    strcmp(s.names[0], behind) == 0
	        ? "not refreshed for 2 h 0 min by our clock"
	        : "written by a clock ahead of ours"));
	ck_assert_int_eq(lock_remove_stale(st, &o, &removed, &e), 0);
	ck_assert_uint_eq(removed, 0);
	ck_assert(exists(behind));
	ck_assert(exists(ahead));
	ck_assert_int_eq(nlocks(), 2); /* reading the store's clock left
	                                  nothing behind */

	/* Our clock is right, the store saw no write for 2 h, but the
	 * holder says it refreshed just now: live. */
	fresh = put_lock(3, "shared", "otherhost", 7, 1, fake, 1800, "");
	age(fresh, 7200);
	/* The two others old by the store's clock too: stale by both. */
	age(behind, 7200);
	age(ahead, 7200);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(lock_list(st, &o, seen_one, &s, &e), 0);
	ck_assert_int_eq(state_of(&s, fresh), LOCK_LIVE);
	ck_assert_int_eq(state_of(&s, behind), LOCK_STALE);
	ck_assert_int_eq(state_of(&s, ahead), LOCK_STALE);
	ck_assert_int_eq(lock_remove_stale(st, &o, &removed, &e), 0);
	ck_assert_uint_eq(removed, 2);
	ck_assert(!exists(behind));
	ck_assert(!exists(ahead));
	ck_assert(exists(fresh));
	ck_assert_ptr_nonnull(strstr(notes, "by the store's clock"));
	free(behind);
	free(ahead);
	free(fresh);
}
END_TEST

static volatile sig_atomic_t alarmed;

static void
on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

START_TEST(test_a_signal_ends_the_wait)
{
	struct lock_opts o = opts("prune"), s = opts("snapshot");
	struct sigaction sa;
	struct lock *x, *lk;
	struct err e;
	time_t t0 = time(NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART, like cli/main.c */
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(lock_acquire(st, LOCK_EXCLUSIVE, &o, &x, &e), 0);
	s.wait = 60;
	s.interrupted = &alarmed;
	alarm(1);
	ck_assert_int_eq(lock_acquire(st, LOCK_SHARED, &s, &lk, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	ck_assert_int_le(time(NULL) - t0, 10);
	ck_assert_int_eq(nlocks(), 1);
	lock_free(x);
}
END_TEST

Suite *lock_suite(void);

Suite *
lock_suite(void)
{
	Suite *s = suite_create("lock");
	TCase *tc = tcase_create("core");
	TCase *race_tc = tcase_create("race");

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_checked_fixture(tc, fault_reset, fault_reset);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_shared_locks_coexist_and_say_who);
	tcase_add_test(tc, test_exclusive_excludes_both_ways);
	tcase_add_test(tc, test_killed_holder_is_removed);
	tcase_add_test(tc, test_killed_holder_zombie_is_removed);
	tcase_add_test(tc, test_pid_reuse_and_restart_are_detected);
	tcase_add_test(tc, test_other_pid_namespace_is_judged_by_deadline);
	tcase_add_test(tc,
	    test_other_host_blocks_until_deadline_then_says_stale);
	tcase_add_test(tc, test_other_host_shared_excludes_only_exclusive);
	tcase_add_test(tc, test_a_clock_far_ahead_makes_a_lock_stale);
	tcase_add_test(tc, test_list_and_remove_stale);
	tcase_add_test(tc, test_refresh_replaces_the_file_when_due);
	tcase_add_test(tc, test_refresh_notices_a_broken_lock);
	tcase_add_test(tc, test_release_removes_the_file);
	tcase_add_test(tc, test_forked_child_leaves_the_lock_alone);
	tcase_add_test(tc, test_unreadable_locks);
	tcase_add_test(tc, test_wait_gives_up_or_is_interrupted);
	tcase_add_test(tc, test_wait_until_the_holder_leaves);
	tcase_add_test(tc, test_bad_options_are_refused);
	tcase_add_test(tc, test_failures_while_taking_leave_nothing_behind);
	tcase_add_test(tc, test_failures_while_holding_keep_the_lock);
	tcase_add_test(tc, test_many_conflicts_and_old_ones);
	tcase_add_test(tc, test_skewed_clocks_need_the_store_to_agree);
	tcase_add_test(tc, test_a_signal_ends_the_wait);
	suite_add_tcase(s, tc);

	tcase_add_unchecked_fixture(race_tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(race_tc, setup, teardown);
	tcase_set_timeout(race_tc, 120);
	tcase_add_test(race_tc, test_race_for_exclusive_without_waiting);
	tcase_add_test(race_tc, test_race_with_waiting_everyone_gets_a_turn);
	suite_add_tcase(s, race_tc);
	return (s);
}
