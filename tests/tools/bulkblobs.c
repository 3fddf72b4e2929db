/*
 * bulkblobs REPO KEYFILE NBLOBS RUN: a repository with many blobs, made
 * cheaply, for bench/prune-scale (issue 11: prune's peak memory for 1 M
 * blobs).  Opens REPO with the machine key in KEYFILE, stores NBLOBS
 * distinct data blobs of 16 bytes each through the engine (repo_blob_put),
 * and commits one snapshot whose tree names the blobs i with
 * (i / RUN) % 2 == 0, about half: RUN 1 interleaves used and unused blobs
 * in every pack (all packs repacked), a RUN of a pack's worth or more
 * leaves whole packs unused (deleted).  The tree: files of 256 chunks, 64
 * files to a directory, the directories in the root.  Prints the snapshot
 * id.  Exit 0 on success, 1 with a message otherwise.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs/node.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "repo/treecodec.h"
#include "xmalloc.h"

#define CHUNKS_PER_FILE 256
#define FILES_PER_DIR   64
#define BLOB_LEN        16

static void
die(const char *what, const struct err *e)
{
	fprintf(stderr, "bulkblobs: %s: %s\n", what, e ? e->msg : "");
	exit(1);
}

static void
node(struct fs_node *n, const char *name, enum fs_type t)
{
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	n->type = t;
	n->mode = t == FS_DIR ? 0700 : 0600;
	n->uid = (uint32_t)geteuid();
	n->gid = (uint32_t)getegid();
	n->mtime.sec = (int64_t)time(NULL);
	n->atime = n->ctime = n->mtime;
	n->nlink = 1;
}

/* Store the tree of n nodes (then cleared) as a blob; its id in id. */
static void
put_tree(struct repo *r, struct fs_node *nodes, size_t n, uint8_t *id)
{
	struct err e;
	uint8_t *buf;
	size_t len;
	int added;

	treecodec_encode(nodes, n, &buf, &len);
	if (repo_blob_put(r, IDX_BLOB_TREE, buf, len, id, &added, &e) == -1)
		die("tree", &e);
	free(buf);
	for (size_t i = 0; i < n; i++)
		fs_node_clear(&nodes[i]);
}

/* The files so far become directory d<ndirs> of the root. */
static void
add_dir(struct repo *r, struct fs_node *files, size_t *nfiles,
    struct fs_node **dirs, size_t *ndirs, size_t *cap)
{
	char name[64];

	if (*ndirs == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*dirs = xreallocarray(*dirs, *cap, sizeof(**dirs));
	}
	snprintf(name, sizeof(name), "d%zu", *ndirs);
	node(&(*dirs)[*ndirs], name, FS_DIR);
	(*dirs)[*ndirs].flags = FS_NODE_HAS_SUBTREE;
	put_tree(r, files, *nfiles, (*dirs)[*ndirs].subtree);
	(*ndirs)++;
	*nfiles = 0;
}

int
main(int argc, char **argv)
{
	struct fs_node files[FILES_PER_DIR], *dirs = NULL, *f = NULL;
	struct repo *r;
	struct manifest m;
	struct passwd *pw;
	struct err e;
	uint8_t *key, id[IDX_ID_LEN], blob[BLOB_LEN];
	size_t nkey = 0, nfiles = 0, ndirs = 0, capdirs = 0;
	unsigned long long nblobs, run;
	char name[64], host[256];
	FILE *kf;

	if (argc != 5 || (nblobs = strtoull(argv[3], NULL, 10)) == 0 ||
	    (run = strtoull(argv[4], NULL, 10)) == 0) {
		fprintf(stderr, "usage: bulkblobs REPO KEYFILE NBLOBS RUN\n");
		return (1);
	}
	key = xmalloc(256);
	if ((kf = fopen(argv[2], "r")) == NULL) {
		perror(argv[2]);
		return (1);
	}
	nkey = fread(key, 1, 255, kf);
	fclose(kf);
	while (nkey > 0 && (key[nkey - 1] == '\n' || key[nkey - 1] == '\r'))
		nkey--;
	if (repo_open_locked(argv[1], key, nkey, REPO_LOCK_SHARED, NULL, &r,
	        &e) == -1)
		die("open", &e);
	if (repo_prune_guard_begin(r, &e) == -1)
		die("guard", &e);
	for (unsigned long long i = 0; i < nblobs; i++) {
		int added;

		memset(blob, 0, sizeof(blob));
		memcpy(blob, "bulk", 4);
		memcpy(blob + 8, &i, sizeof(i));
		if (repo_blob_put(r, IDX_BLOB_DATA, blob, sizeof(blob), id,
		        &added, &e) == -1)
			die("blob", &e);
		if ((i / run) % 2 != 0)
			continue;
		if (f == NULL) {
			snprintf(name, sizeof(name), "f%zu", nfiles);
			f = &files[nfiles];
			node(f, name, FS_FILE);
		}
		fs_node_add_chunk(f, id);
		f->size += BLOB_LEN;
		if (f->nchunks == CHUNKS_PER_FILE) {
			f = NULL;
			nfiles++;
		}
		if (nfiles == FILES_PER_DIR)
			add_dir(r, files, &nfiles, &dirs, &ndirs, &capdirs);
	}
	if (f != NULL)
		nfiles++;
	if (nfiles > 0)
		add_dir(r, files, &nfiles, &dirs, &ndirs, &capdirs);
	manifest_init(&m);
	put_tree(r, dirs, ndirs, m.tree);
	free(dirs);
	clock_gettime(CLOCK_REALTIME, &m.time);
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	pw = getpwuid(geteuid());
	m.host = xstrdup(host);
	m.user = xstrdup(pw ? pw->pw_name : "");
	m.program = xstrdup("bulkblobs");
	manifest_add_path(&m, "/bulk");
	m.files = nblobs; /* for the listing: blobs, not files */
	if (repo_prune_guard_commit(r, &e) == -1 ||
	    manifest_save(r, &m, &e) == -1)
		die("commit", &e);
	printf("%s\n", m.id);
	manifest_clear(&m);
	repo_close(r);
	freezero(key, 256);
	return (0);
}
