/*
 * What a backend implements.  Only lib/store/ includes this.
 */
#ifndef COFFER_STORE_IMPL_H
#define COFFER_STORE_IMPL_H

#include "store/store.h"

struct stor_ops {
	int (*get)(struct stor *, const char *, size_t, uint8_t **, size_t *,
	    struct err *);
	int (*get_range)(struct stor *, const char *, uint64_t, size_t,
	    uint8_t *, struct err *);
	int (*put)(struct stor *, const char *, const uint8_t *, size_t, int,
	    struct err *);
	int (*stat)(struct stor *, const char *, uint64_t *, struct err *);
	int (*list)(struct stor *, const char *,
	    int (*)(void *, const char *, uint64_t), void *, struct err *);
	int (*remove)(struct stor *, const char *, struct err *);
	void (*close)(struct stor *);
};

struct stor {
	const struct stor_ops *ops;
	char *location;
	void *impl;
};

int stor_local_open(const char *path, int create, struct stor **out,
    struct err *);

#endif
