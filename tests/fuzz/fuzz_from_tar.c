/*
 * Tar streams (lib/fs/tarin.c, the reader of snapshot --from-tar): bytes
 * anyone can hand to coffer.  Invariants: every member taken has a clean
 * relative path (no '/' at either end, no empty, "." or ".." component,
 * no longer than FS_TARIN_PATH_MAX) whose last component is the node's
 * valid name, a clean hard-link target, a data stream exactly as long as
 * the node's extents say (sorted, disjoint, within its size), and a node
 * the tree format stores and reads back; refusals are ERR_CORRUPT, stream
 * failures ERR_IO or ERR_CORRUPT.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/node.h"
#include "fs/tarin.h"
#include "fuzz.h"
#include "repo/treecodec.h"

#define MAX_MEMBERS 1000

static void
check_clean(const char *p, int may_be_empty)
{
	size_t len = strlen(p);

	FUZZ_CHECK(len <= FS_TARIN_PATH_MAX);
	if (len == 0) {
		FUZZ_CHECK(may_be_empty);
		return;
	}
	FUZZ_CHECK(p[0] != '/' && p[len - 1] != '/');
	for (const char *c = p;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash != NULL ? (size_t)(slash - c) : strlen(c);

		FUZZ_CHECK(fs_name_valid(c, n));
		if (slash == NULL)
			break;
		c = slash + 1;
	}
}

/* The node as a one-entry tree: encoded, it must decode. */
static void
check_storable(const struct fs_node *n)
{
	struct fs_node copy, *back = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, nback = 0;
	struct err e;

	fs_node_copy(&copy, n);
	if (copy.type == FS_DIR)
		copy.flags |= FS_NODE_HAS_SUBTREE;
	treecodec_encode(&copy, 1, &buf, &len);
	FUZZ_CHECK(treecodec_decode(buf, len, &back, &nback, &e) == 0);
	FUZZ_CHECK(nback == 1 && strcmp(back[0].name, n->name) == 0);
	fs_nodes_free(back, nback);
	free(buf);
	fs_node_clear(&copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[65536];
	char *path = fuzz_path(fuzz_dir(), "in.tar");
	struct fs_tarin *t = NULL;
	struct fs_tarin_ent ent;
	struct err e;
	int fd;

	fuzz_write_file(path, data, size);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		abort();
	if (fs_tarin_open(fd, &t, &e) == -1) {
		FUZZ_CHECK(e.class == ERR_IO || e.class == ERR_INTERNAL);
		goto out;
	}
	for (int i = 0; i < MAX_MEMBERS; i++) {
		struct fs_node *n;
		uint64_t total = 0, end = 0;
		ssize_t got;
		int r = fs_tarin_next(t, &ent, &e);

		if (r == FS_TARIN_END)
			break;
		if (r == -1) {
			FUZZ_CHECK(e.class == ERR_IO);
			break;
		}
		FUZZ_CHECK(ent.raw != NULL);
		if (r == FS_TARIN_REFUSED) {
			FUZZ_CHECK(e.class == ERR_CORRUPT);
			continue;
		}
		FUZZ_CHECK(r == FS_TARIN_ENTRY);
		n = ent.node;
		check_clean(ent.path, 1);
		if (ent.hardlink != NULL) {
			check_clean(ent.hardlink, 0);
			FUZZ_CHECK(n->type == FS_FILE && n->size == 0);
		}
		if (ent.path[0] == '\0')
			FUZZ_CHECK(n->name == NULL);
		else {
			const char *last = strrchr(ent.path, '/');

			last = last != NULL ? last + 1 : ent.path;
			FUZZ_CHECK(
			    n->name != NULL && strcmp(n->name, last) == 0);
		}
		FUZZ_CHECK(
		    n->mtime.nsec < 1000000000u && n->ctime.nsec < 1000000000u);
		while ((got = fs_tarin_read(t, buf, sizeof(buf), &e)) > 0)
			total += (uint64_t)got;
		if (got == -1) {
			FUZZ_CHECK(e.class == ERR_IO || e.class == ERR_CORRUPT);
			break;
		}
		FUZZ_CHECK(total == fs_node_data_len(n));
		for (size_t k = 0; k < n->nsparse; k++) {
			FUZZ_CHECK(n->sparse[k].offset >= end);
			FUZZ_CHECK(n->sparse[k].offset <= n->size &&
			    n->sparse[k].length <=
			        n->size - n->sparse[k].offset);
			end = n->sparse[k].offset + n->sparse[k].length;
		}
		if (n->name != NULL)
			check_storable(n);
	}
out:
	fs_tarin_close(t);
	if (fd != -1)
		close(fd);
	unlink(path);
	free(path);
	return (0);
}
