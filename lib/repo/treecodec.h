/*
 * The tree blob: one directory's nodes as the repository stores them
 * (doc/FORMAT.md, "Trees").  Only the encoding lives here; reading trees
 * from a repository is repo/tree.h.
 */
#ifndef COFFER_TREECODEC_H
#define COFFER_TREECODEC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fs/node.h"

/*
 * Encode the n nodes of nodes (one directory's entries) as a tree blob
 * plaintext into *out (*outlen bytes; free it with freezero: it names
 * files).  The nodes need not be sorted (the blob is written in name
 * order) but their names must be valid and distinct, and the fields
 * consistent with the type; anything else is a programmer error (assert).
 */
void treecodec_encode(const struct fs_node *nodes, size_t n, uint8_t **out,
    size_t *outlen);

/*
 * Decode the tree blob plaintext p (len bytes).  On success *nodes (free
 * with fs_nodes_free) holds *n nodes in name order.  Hostile or damaged
 * input is refused with ERR_CORRUPT and a message saying what is wrong;
 * *nodes is then NULL and *n 0.
 */
int treecodec_decode(const uint8_t *p, size_t len, struct fs_node **nodes,
    size_t *n, struct err *e);

#endif
