/*
 * Tree blobs (lib/repo/treecodec.c): one directory's entries, the
 * plaintext after the AEAD layer and decompression.  Invariants: what
 * decodes holds valid, distinct names in order, and encodes to exactly
 * the input (the encoding has one form), so that a tree cannot be
 * written two ways.
 */
#include <stdlib.h>
#include <string.h>

#include "fs/node.h"
#include "fuzz.h"
#include "repo/treecodec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fs_node *nodes = NULL;
	uint8_t *out = NULL;
	size_t n = 0, outlen = 0;
	struct err e;

	if (treecodec_decode(data, size, &nodes, &n, &e) == -1) {
		FUZZ_CHECK(nodes == NULL && n == 0 && e.class == ERR_CORRUPT);
		return (0);
	}
	for (size_t i = 0; i < n; i++) {
		const char *nm = nodes[i].name;

		FUZZ_CHECK(nm != NULL && nm[0] != '\0');
		FUZZ_CHECK(strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0);
		FUZZ_CHECK(strchr(nm, '/') == NULL);
		if (i > 0)
			FUZZ_CHECK(strcmp(nodes[i - 1].name, nm) < 0);
		if (nodes[i].type == FS_FILE)
			FUZZ_CHECK(
			    fs_node_data_len(&nodes[i]) <= nodes[i].size);
	}
	treecodec_encode(nodes, n, &out, &outlen);
	FUZZ_CHECK(outlen == size && memcmp(out, data, size) == 0);
	free(out);
	fs_nodes_free(nodes, n);
	return (0);
}
