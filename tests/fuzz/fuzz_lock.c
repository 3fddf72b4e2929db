/*
 * Lock files (lib/repo/lock.c): the plaintext JSON under locks/, which
 * any writer of the repository can plant.  The input becomes the one
 * lock file of a local store; lock_list reads and judges it, then an
 * exclusive lock_acquire meets it and describes it in its conflict
 * message.  Invariants: a readable lock has its strings and times in
 * range and its deadline after its refresh; an exclusive acquire either
 * wins (the planted lock was provably dead, and removed) or fails with
 * ERR_LOCKED naming it in one printable line.
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "repo/lock.h"
#include "store/store.h"

#define NAME                                                                   \
	"locks/"                                                               \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static time_t
fixed_now(void)
{
	return ((time_t)1800000000);
}

static int
seen(void *arg, const struct lock_info *li)
{
	int *n = arg;

	(*n)++;
	FUZZ_CHECK(li->name != NULL);
	if (li->state == LOCK_UNREADABLE) {
		FUZZ_CHECK(li->reason != NULL);
		return (0);
	}
	FUZZ_CHECK(li->hostname != NULL && li->hostname[0] != '\0');
	FUZZ_CHECK(li->username != NULL && li->command != NULL);
	FUZZ_CHECK(li->pid > 0);
	FUZZ_CHECK(li->refreshed >= 0 && li->created >= 0);
	FUZZ_CHECK(li->deadline > li->refreshed);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct stor *st;
	static char *file;
	struct lock_opts o;
	struct lock *lk = NULL;
	struct err e;
	int n = 0;

	if (st == NULL) {
		char *locks = fuzz_path(fuzz_dir(), "locks");

		FUZZ_CHECK(mkdir(locks, 0700) == 0);
		free(locks);
		FUZZ_CHECK(stor_open(fuzz_dir(), 0, &st, &e) == 0);
		file = fuzz_path(fuzz_dir(), NAME);
	}
	fuzz_write_file(file, data, size);
	memset(&o, 0, sizeof(o));
	o.hostname = "fuzzhost";
	o.now = fixed_now;
	o.command = "fuzz";
	FUZZ_CHECK(lock_list(st, &o, seen, &n, &e) == 0);
	FUZZ_CHECK(n == 1);
	if (lock_acquire(st, LOCK_EXCLUSIVE, &o, &lk, &e) == 0) {
		FUZZ_CHECK(lock_release(lk, &e) == 0);
		lock_free(lk);
	} else {
		FUZZ_CHECK(e.class == ERR_LOCKED);
		for (const char *p = e.msg; *p != '\0'; p++)
			FUZZ_CHECK(*p >= 0x20 && *p <= 0x7e);
	}
	return (0);
}
