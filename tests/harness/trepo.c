#include "trepo.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "config.h"
#include "repo/key.h"
#include "repo/repo.h"
#include "store/store_impl.h"
#include "tutil.h"

const char trepo_machine_key[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

void
trepo_init(const char *loc, uint32_t pack_size, struct repo **out)
{
	struct repo_init_opts o;
	struct err e;

	memset(&o, 0, sizeof(o));
	o.pack_size = pack_size;
	o.meta.host = "testhost";
	o.meta.user = "tester";
	err_clear(&e);
	ck_assert_msg(repo_init(loc, &o, trepo_machine_key,
	                  strlen(trepo_machine_key), KEY_KIND_MACHINE, out,
	                  &e) == 0,
	    "%s", e.msg);
}

struct repo *
trepo_open(const char *loc)
{
	struct repo *r = NULL;
	struct err e;

	err_clear(&e);
	ck_assert_msg(repo_open(loc, trepo_machine_key,
	                  strlen(trepo_machine_key), &r, &e) == 0,
	    "%s", e.msg);
	return (r);
}

struct config *
trepo_config(const char *dir, const char *text)
{
	char *p = tutil_path(dir, "coffer.conf");
	struct config *cfg = NULL;
	struct err e;

	tutil_write_file(p, text, strlen(text), 0600);
	err_clear(&e);
	ck_assert_msg(config_load(p, &cfg, &e) == 0, "%s", e.msg);
	free(p);
	return (cfg);
}

/* The store's operations, with get_range counted. */
static const struct stor_ops *real_ops;
static struct stor_ops counting_ops;
static unsigned nget_range;

static int
count_get_range(struct stor *st, const char *name, uint64_t off, size_t len,
    uint8_t *buf, struct err *e)
{
	__atomic_fetch_add(&nget_range, 1, __ATOMIC_RELAXED);
	return (real_ops->get_range(st, name, off, len, buf, e));
}

void
trepo_count_reads(struct repo *r)
{
	struct stor *st = repo_store(r);

	if (st->ops != &counting_ops) {
		real_ops = st->ops;
		counting_ops = *real_ops;
		counting_ops.get_range = count_get_range;
		st->ops = &counting_ops;
	}
	__atomic_store_n(&nget_range, 0, __ATOMIC_RELAXED);
}

unsigned
trepo_reads(void)
{
	return (__atomic_load_n(&nget_range, __ATOMIC_RELAXED));
}
