/*
 * The walk's descriptors are bounded: a tree 200 levels deep is walked
 * whole with a few directory descriptors (and under RLIMIT_NOFILE 32),
 * and a directory replaced while the walk was below it (by another one,
 * or by a symlink) is reported and skipped, never followed.
 */
#include <sys/types.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "fs/walk.h"
#include "tutil.h"
#include "xmalloc.h"

#define DEEP 200

static char *scratch;

static void
setup(void)
{
	scratch = tutil_mkdtemp();
}

static void
teardown(void)
{
	tutil_rmtree(scratch);
	free(scratch);
	scratch = NULL;
}

static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n - 1); /* the listing's own */
}

/*
 * root/d/d/.../d, DEEP levels below root, each level holding a file "z"
 * (listed after "d", so read after the walk comes back up) and the last a
 * file "leaf".  Made with mkdirat from descriptors: the paths grow past
 * PATH_MAX.
 */
static char *
make_deep(void)
{
	char *root = tutil_path(scratch, "root");
	int fd, next;

	ck_assert_int_eq(mkdir(root, 0700), 0);
	ck_assert_int_ne(fd = open(root, O_RDONLY | O_DIRECTORY), -1);
	for (int i = 0; i <= DEEP; i++) {
		int f = openat(fd, i == DEEP ? "leaf" : "z",
		    O_WRONLY | O_CREAT | O_EXCL, 0600);

		ck_assert_int_ne(f, -1);
		ck_assert_int_eq(write(f, "x", 1), 1);
		close(f);
		if (i == DEEP)
			break;
		ck_assert_int_eq(mkdirat(fd, "d", 0700), 0);
		ck_assert_int_ne(next = openat(fd, "d", O_RDONLY | O_DIRECTORY),
		    -1);
		close(fd);
		fd = next;
	}
	close(fd);
	return (root);
}

struct tally {
	int dirs, files, skips, warnings, max_fds;
	size_t max_depth;
	char first_skip[ERR_MSG_MAX];
};

/* Walk root with opts; what came out into t.  dir_fds bounds the growth. */
static void
walk_tally(const char *root, const struct fs_walk_opts *o, struct tally *t)
{
	const char *roots[] = { root };
	struct fs_walk *w = NULL;
	struct fs_walk_ent ent;
	struct err e;
	int r, base = open_fds();

	memset(t, 0, sizeof(*t));
	ck_assert_int_eq(fs_walk_open(roots, 1, o, &w, &e), 0);
	while ((r = fs_walk_next(w, &ent, &e)) != FS_WALK_END) {
		int n = open_fds() - base;

		ck_assert_int_ne(r, -1);
		if (n > t->max_fds)
			t->max_fds = n;
		if (r == FS_WALK_SKIP) {
			if (t->skips++ == 0)
				snprintf(t->first_skip, sizeof(t->first_skip),
				    "%s", e.msg);
			continue;
		}
		if (ent.warning != NULL)
			t->warnings++;
		if (ent.depth > t->max_depth)
			t->max_depth = ent.depth;
		if (ent.node->type == FS_DIR)
			t->dirs++;
		else
			t->files++;
	}
	fs_walk_close(w);
	ck_assert_int_eq(open_fds(), base);
}

START_TEST(test_deep_tree_few_descriptors)
{
	char *root = make_deep();
	struct fs_walk_opts o;
	struct tally t;

	memset(&o, 0, sizeof(o));
	for (size_t k = 2; k <= 8; k += 3) {
		o.dir_fds = k;
		walk_tally(root, &o, &t);
		ck_assert_int_eq(t.skips, 0);
		ck_assert_int_eq(t.warnings, 0);
		ck_assert_int_eq(t.dirs, DEEP + 1);
		ck_assert_int_eq(t.files, DEEP + 1);
		ck_assert_uint_eq(t.max_depth, DEEP + 1);
		/* The directories, the open file, one at a listing. */
		ck_assert_int_le(t.max_fds, (int)k + 1);
	}
	free(root);
}
END_TEST

START_TEST(test_deep_tree_under_rlimit_nofile_32)
{
	char *root = make_deep();
	struct tally t;
	int status;
	pid_t pid;

	/* In a child: the limit must not outlive the test. */
	if ((pid = fork()) == 0) {
		struct rlimit rl = { 32, 32 };

		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			_exit(2);
		walk_tally(root, NULL, &t);
		_exit(t.skips == 0 && t.warnings == 0 && t.dirs == DEEP + 1 &&
		            t.files == DEEP + 1
		        ? 0
		        : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	free(root);
}
END_TEST

/*
 * root/a/b/c/d/e/f/g/h/leaf, each of b..h also holding a file "z".  The
 * walk is stopped at leaf (b is then closed: two descriptors only), b is
 * swapped by how(), and the walk finishes: b and what is below it still
 * to finish are skipped, and nothing of the new b is ever yielded.
 */
static void
replaced_case(void (*how)(const char *a), const char *want_b)
{
	const char *chain = "a/b/c/d/e/f/g/h";
	char *root = tutil_path(scratch, "root"), *p, *a;
	const char *roots[1];
	struct fs_walk *w = NULL;
	struct fs_walk_opts o;
	struct fs_walk_ent ent;
	struct err e;
	int r, skips = 0, seen_leaf = 0, seen_b_skip = 0, seen_a = 0;

	p = xasprintf("mkdir -p %s/%s", root, chain);
	ck_assert_int_eq(system(p), 0);
	free(p);
	/* "a/b", "a/b/c", ... "a/b/c/d/e/f/g/h": one-letter names. */
	for (int len = 3; len <= (int)strlen(chain); len += 2) {
		char *dir = xasprintf("%s/%.*s", root, len, chain);

		p = tutil_path(dir, "z");
		tutil_write_file(p, "z", 1, 0600);
		free(p);
		free(dir);
	}
	p = xasprintf("%s/%s/leaf", root, chain);
	tutil_write_file(p, "leaf", 4, 0600);
	free(p);
	a = tutil_path(root, "a");

	memset(&o, 0, sizeof(o));
	o.dir_fds = 2;
	roots[0] = root;
	ck_assert_int_eq(fs_walk_open(roots, 1, &o, &w, &e), 0);
	while ((r = fs_walk_next(w, &ent, &e)) != FS_WALK_END) {
		ck_assert_int_ne(r, -1);
		if (r == FS_WALK_SKIP) {
			skips++;
			if (strcmp(ent.relpath, "a/b") == 0) {
				seen_b_skip = 1;
				ck_assert_msg(strstr(e.msg, want_b) != NULL,
				    "%s", e.msg);
			}
			continue;
		}
		/* Nothing planted in the new b, nothing from outside. */
		ck_assert_ptr_null(strstr(ent.relpath, "planted"));
		ck_assert_ptr_null(strstr(ent.relpath, "outside"));
		if (strcmp(ent.relpath, "a") == 0)
			seen_a = 1;
		if (strcmp(ent.node->name, "leaf") == 0) {
			seen_leaf = 1;
			how(a);
		}
	}
	fs_walk_close(w);
	ck_assert(seen_leaf);
	ck_assert(seen_b_skip);
	ck_assert(seen_a); /* the walk goes on above */
	/* b..g: h was finished before the swap. */
	ck_assert_int_eq(skips, 6);
	free(a);
	free(root);
}

/* b renamed away, and a new b with other entries in its place. */
static void
swap_for_directory(const char *a)
{
	char *cmd = xasprintf("cd %s && mv b b.old && mkdir -p b/c/planted && "
	                      "echo p >b/planted.txt",
	    a);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* b renamed away, and a symlink named b to a tree outside the root. */
static void
swap_for_symlink(const char *a)
{
	char *cmd = xasprintf("cd %s && mkdir -p ../../outside/c/d && "
	                      "mv b b.old && ln -s ../../outside b",
	    a);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

START_TEST(test_replaced_directory_is_skipped)
{
	replaced_case(swap_for_directory, "replaced by another directory");
}
END_TEST

START_TEST(test_directory_swapped_for_symlink_is_not_followed)
{
	replaced_case(swap_for_symlink, "cannot open the directory again");
}
END_TEST

Suite *walk_fds_suite(void);

Suite *
walk_fds_suite(void)
{
	Suite *s = suite_create("walk_fds");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_deep_tree_few_descriptors);
	tcase_add_test(tc, test_deep_tree_under_rlimit_nofile_32);
	tcase_add_test(tc, test_replaced_directory_is_skipped);
	tcase_add_test(tc, test_directory_swapped_for_symlink_is_not_followed);
	suite_add_tcase(s, tc);
	return (s);
}
