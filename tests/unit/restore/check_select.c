/*
 * Choosing a source to restore (restore/select.c), in a snapshot taken
 * here of two command sources, one that works and one that fails: the
 * source's subtree, the refusals (no such source, a failed one, a snapshot
 * of paths), and --include paths made relative to the source.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "restore/restore.h"
#include "snapshot/sources.h"
#include "trepo.h"
#include "tutil.h"
#include "xmalloc.h"

static char *base;
static char loc[PATH_MAX];

static void
setup(void)
{

	base = tutil_mkdtemp();
	snprintf(loc, sizeof(loc), "%s/repo", base);
	trepo_init(loc, 1 << 20, NULL);
}

static void
teardown(void)
{
	tutil_rmtree(base);
	free(base);
}

/* A snapshot of "good" (prints a line) and "bad" (fails) into m. */
static struct repo *
snapshot_two(struct manifest *m)
{
	struct snap_source src[2];
	struct snap_opts o;
	struct repo *r;
	struct err e;
	size_t nfailed;

	ck_assert_msg(repo_open(loc, trepo_machine_key,
	                  strlen(trepo_machine_key), &r, &e) == 0,
	    "%s", e.msg);
	memset(src, 0, sizeof(src));
	src[0].name = "good";
	src[0].type = "command";
	src[0].command = "echo good data";
	src[0].file_name = "good.txt";
	src[1].name = "bad";
	src[1].type = "command";
	src[1].command = "echo line one >&2; echo line two >&2; exit 3";
	src[1].file_name = "bad.txt";
	memset(&o, 0, sizeof(o));
	manifest_init(m);
	ck_assert_msg(snap_sources(r, &o, src, 2, m, &nfailed, &e) == 0, "%s",
	    e.msg);
	ck_assert_uint_eq(nfailed, 1);
	return (r);
}

START_TEST(test_pick_source)
{
	const struct manifest_source *src = (void *)1;
	uint8_t root[IDX_ID_LEN], before[IDX_ID_LEN];
	struct manifest m;
	struct fs_node n;
	struct repo *r = snapshot_two(&m);
	struct err e;

	err_clear(&e);
	ck_assert_msg(rst_pick_source(r, &m, "good", &src, root, &e) == 0, "%s",
	    e.msg);
	ck_assert_str_eq(src->name, "good");
	ck_assert_str_eq(src->path, "/good");
	/* root is the source's own tree: good.txt sits at its top. */
	ck_assert_msg(rst_lookup(r, root, "/good.txt", &n, &e) == 0, "%s",
	    e.msg);
	ck_assert_int_eq(n.type, FS_FILE);
	fs_node_clear(&n);

	/* A name the snapshot lacks: the ones it has are listed. */
	memset(root, 0xa5, sizeof(root));
	memcpy(before, root, sizeof(root));
	ck_assert_int_eq(rst_pick_source(r, &m, "nope", &src, root, &e), -1);
	ck_assert_ptr_null(src);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_msg(strstr(e.msg, "has no source nope; it has: good, bad") !=
	        NULL,
	    "%s", e.msg);
	ck_assert_mem_eq(root, before, sizeof(root));

	/* A source that failed: its error on one line, and the way out. */
	err_clear(&e);
	ck_assert_int_eq(rst_pick_source(r, &m, "bad", &src, root, &e), -1);
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_msg(strstr(e.msg, "source bad failed in snapshot") != NULL,
	    "%s", e.msg);
	ck_assert_msg(strstr(e.msg, "restore it from an earlier snapshot") !=
	        NULL,
	    "%s", e.msg);
	ck_assert_ptr_null(strchr(e.msg, '\n'));
	ck_assert_mem_eq(root, before, sizeof(root));

	/* A snapshot of paths has no sources at all. */
	{
		struct manifest paths;

		manifest_init(&paths);
		memcpy(paths.tree, m.tree, IDX_ID_LEN);
		snprintf(paths.id, sizeof(paths.id), "%s", m.id);
		err_clear(&e);
		ck_assert_int_eq(rst_pick_source(r, &paths, "good", &src, root,
		                     &e),
		    -1);
		ck_assert_int_eq(e.class, ERR_USAGE);
		ck_assert_msg(strstr(e.msg,
		                  "has no sources (it is a snapshot "
		                  "of paths): leave out --source") != NULL,
		    "%s", e.msg);
		manifest_clear(&paths);
	}
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

START_TEST(test_reroot_includes)
{
	struct manifest_source src;
	char *incs[3];
	struct err e;

	memset(&src, 0, sizeof(src));
	src.name = "conf";
	src.path = "/conf";
	incs[0] = xstrdup("/conf/etc/hosts");
	incs[1] = xstrdup("/conf");
	err_clear(&e);
	ck_assert_int_eq(rst_reroot_includes(&src, incs, 2, &e), 0);
	ck_assert_str_eq(incs[0], "/etc/hosts");
	ck_assert_str_eq(incs[1], "/");
	free(incs[0]);
	free(incs[1]);

	/* Only whole components: /confetti is not in /conf. */
	incs[0] = xstrdup("/conf/a");
	incs[1] = xstrdup("/confetti/a");
	incs[2] = xstrdup("/b");
	ck_assert_int_eq(rst_reroot_includes(&src, incs, 3, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_str_eq(e.msg,
	    "--include /confetti/a is not in source conf (/conf)");
	for (size_t i = 0; i < 3; i++)
		free(incs[i]);
}
END_TEST

Suite *select_suite(void);

Suite *
select_suite(void)
{
	Suite *s = suite_create("restore_select");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pick_source);
	tcase_add_test(tc, test_reroot_includes);
	suite_add_tcase(s, tc);
	return (s);
}
