/*
 * A whole repository under a key holder's hand: the attacker who knows
 * the key (or a damaged disk) writes a file that authenticates.  The
 * fixture repository tests/fixtures/repo-v1 is copied to a scratch
 * directory once; each input is a selector byte and a plaintext that the
 * real sealing path stores as one more file of it:
 *   0  the config (sealed as FORMAT.md says: file key, "coffer config 1")
 *   1  an index file (repo_file_put)
 *   2  a snapshot manifest (repo_file_put)
 *   3  a tree blob (repo_blob_put, repo_flush) named by a new snapshot
 * Then the real open path runs, repo_open, and check_run reads every
 * pack.  Invariants: a config that fails is ERR_CORRUPT; a check
 * finishes and reports each problem with a file, one line of what and a
 * fix; a planted index, snapshot or tree that does not decode is reported
 * damaged.  Before each input the files of the last one are removed.
 * COFFER_FUZZ_FIXTURE names the fixture (default: the path from the
 * source tree's top, where make fuzz runs).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fuzz.h"
#include "repo/check.h"
#include "repo/idx.h"
#include "repo/key.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "repo/treecodec.h"
#include "store/store.h"

/* A snapshot of the fixture: its manifest is the base of a planted one. */
#define FIXTURE_SNAP                                                           \
	"c5ec8d81e12a6659c9521bfcee3d484e1aecf3a65ba788bf6078f326613f974c"

struct names {
	char **v;
	size_t n;
};

static struct {
	char *loc, *config_path;
	char key[KEY_MACHINE_HEXLEN + 1];
	uint8_t *config;
	size_t config_len;
	struct names base; /* the fixture's files of index, snapshots, data */
	struct stor *st;
} g;

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		abort();
	}
	buf = malloc((size_t)n + 1);
	FUZZ_CHECK(buf != NULL);
	FUZZ_CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return (buf);
}

static int
add_name(void *arg, const char *name, uint64_t size)
{
	struct names *nm = arg;

	(void)size;
	nm->v = realloc(nm->v, (nm->n + 1) * sizeof(*nm->v));
	FUZZ_CHECK(nm->v != NULL);
	nm->v[nm->n] = strdup(name);
	FUZZ_CHECK(nm->v[nm->n] != NULL);
	nm->n++;
	return (0);
}

static void
list_all(struct names *nm)
{
	static const char *const dirs[] = { "index", "snapshots", "data" };
	struct err e;

	for (size_t i = 0; i < 3; i++)
		FUZZ_CHECK(stor_list(g.st, dirs[i], add_name, nm, &e) == 0);
}

static void
names_free(struct names *nm)
{
	for (size_t i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
	nm->v = NULL;
	nm->n = 0;
}

static void
setup(void)
{
	const char *fx = getenv("COFFER_FUZZ_FIXTURE");
	char cmd[8192], *p;
	uint8_t *k;
	size_t n;
	struct err e;

	if (fx == NULL)
		fx = "tests/fixtures/repo-v1";
	g.loc = fuzz_path(fuzz_dir(), "repo");
	snprintf(cmd, sizeof(cmd), "cp -R '%s/repo' '%s'", fx, g.loc);
	FUZZ_CHECK(system(cmd) == 0);
	p = fuzz_path(fx, "machine.key");
	k = slurp(p, &n);
	free(p);
	FUZZ_CHECK(n >= KEY_MACHINE_HEXLEN);
	memcpy(g.key, k, KEY_MACHINE_HEXLEN);
	free(k);
	g.config_path = fuzz_path(g.loc, "config");
	g.config = slurp(g.config_path, &g.config_len);
	FUZZ_CHECK(stor_open(g.loc, 0, &g.st, &e) == 0);
	list_all(&g.base);
}

/* Remove what the last input added; put the fixture's config back. */
static void
reset(void)
{
	struct names now = { NULL, 0 };
	struct err e;

	list_all(&now);
	for (size_t i = 0; i < now.n; i++) {
		size_t j;

		for (j = 0; j < g.base.n; j++)
			if (strcmp(now.v[i], g.base.v[j]) == 0)
				break;
		if (j == g.base.n)
			FUZZ_CHECK(stor_remove(g.st, now.v[i], &e) == 0);
	}
	names_free(&now);
	fuzz_write_file(g.config_path, g.config, g.config_len);
}

static struct repo *
open_repo(struct err *e)
{
	struct repo *r = NULL;

	if (repo_open(g.loc, g.key, strlen(g.key), &r, e) == -1)
		return (NULL);
	return (r);
}

static void
plant_config(struct repo *w, const uint8_t *p, size_t n)
{
	static const char aad[] = "coffer config 1";
	struct crypto_aead *a;
	uint8_t *box = malloc(n + CRYPTO_AEAD_OVERHEAD);
	struct err e;

	FUZZ_CHECK(box != NULL);
	a = crypto_aead_new(key_master_file_key(repo_master(w)), &e);
	FUZZ_CHECK(a != NULL);
	FUZZ_CHECK(crypto_aead_seal(a, p, n, aad, strlen(aad), box, &e) == 0);
	fuzz_write_file(g.config_path, box, n + CRYPTO_AEAD_OVERHEAD);
	crypto_aead_free(a);
	free(box);
}

static void
plant_tree(struct repo *w, const uint8_t *p, size_t n)
{
	struct manifest m;
	uint8_t id[IDX_ID_LEN];
	struct err e;
	int added;

	FUZZ_CHECK(repo_blob_put(w, IDX_BLOB_TREE, p, n, id, &added, &e) == 0);
	FUZZ_CHECK(repo_flush(w, &e) == 0);
	FUZZ_CHECK(manifest_load(w, FIXTURE_SNAP, &m, &e) == 0);
	memcpy(m.tree, id, sizeof(m.tree));
	m.parent[0] = '\0';
	FUZZ_CHECK(manifest_save(w, &m, &e) == 0);
	manifest_clear(&m);
}

/* Does the plaintext decode as what it was planted as? */
static int
decodes(int sel, const uint8_t *p, size_t n)
{
	struct fs_node *nodes = NULL;
	struct manifest m;
	struct idx *x;
	size_t nn = 0;
	struct err e;
	int ok;

	switch (sel) {
	case 1:
		x = idx_new();
		ok = idx_decode(x, p, n, &e) == 0;
		idx_free(x);
		return (ok);
	case 2:
		manifest_init(&m);
		ok = manifest_decode((const char *)p, n, &m, &e) == 0;
		manifest_clear(&m);
		return (ok);
	default:
		ok = treecodec_decode(p, n, &nodes, &nn, &e) == 0;
		fs_nodes_free(nodes, nn);
		return (ok);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct check_report *rep = NULL;
	struct repo *w, *r = NULL;
	struct check_opts o;
	char name[REPO_HEX_LEN + 1];
	const uint8_t *p;
	size_t n;
	struct err e;
	int sel;

	if (size < 1 || size > (1u << 20))
		return (0);
	if (g.loc == NULL)
		setup();
	reset();
	sel = data[0] % 4;
	p = data + 1;
	n = size - 1;
	if ((w = open_repo(&e)) == NULL)
		fuzz_fail(__FILE__, __LINE__, e.msg);
	switch (sel) {
	case 0:
		plant_config(w, p, n);
		break;
	case 1:
		FUZZ_CHECK(repo_file_put(w, "index", p, n, name, &e) == 0);
		break;
	case 2:
		FUZZ_CHECK(repo_file_put(w, "snapshots", p, n, name, &e) == 0);
		break;
	default:
		plant_tree(w, p, n);
		break;
	}
	repo_close(w);
	if ((r = open_repo(&e)) == NULL) {
		FUZZ_CHECK(sel == 0 && e.class == ERR_CORRUPT);
		return (0);
	}
	memset(&o, 0, sizeof(o));
	o.data = CHECK_DATA_ALL;
	if (check_run(r, &o, &rep, &e) == -1)
		fuzz_fail(__FILE__, __LINE__, e.msg);
	for (size_t i = 0; i < rep->nproblems; i++) {
		const struct check_problem *pr = &rep->problems[i];

		FUZZ_CHECK(
		    pr->file != NULL && pr->what != NULL && pr->fix != NULL);
		FUZZ_CHECK(strchr(pr->what, '\n') == NULL);
	}
	if (sel == 1 && !decodes(sel, p, n))
		FUZZ_CHECK(rep->stats.index_files_damaged >= 1);
	if (sel == 2 && !decodes(sel, p, n))
		FUZZ_CHECK(rep->stats.snapshots_damaged >= 1);
	if (sel == 3 && !decodes(sel, p, n))
		FUZZ_CHECK(rep->stats.errors >= 1);
	check_report_free(rep);
	repo_close(r);
	return (0);
}
