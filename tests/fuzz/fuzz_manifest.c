/*
 * Snapshot manifests (lib/repo/manifest.c): the JSON plaintext of a file
 * under snapshots/, after the AEAD layer, as a key holder could write it.
 * Invariant: what decodes encodes to a canonical text that decodes and
 * encodes to itself.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "repo/manifest.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m, m2;
	char *j1 = NULL, *j2 = NULL;
	struct err e;

	manifest_init(&m);
	manifest_init(&m2);
	if (manifest_decode((const char *)data, size, &m, &e) == -1) {
		FUZZ_CHECK(e.class == ERR_CORRUPT);
		goto out;
	}
	j1 = manifest_encode(&m);
	if (manifest_decode(j1, strlen(j1), &m2, &e) == -1)
		fuzz_fail(__FILE__, __LINE__, e.msg);
	j2 = manifest_encode(&m2);
	FUZZ_CHECK(strcmp(j1, j2) == 0);
	FUZZ_CHECK(m.ntags == m2.ntags && m.npaths == m2.npaths &&
	    m.nsources == m2.nsources && m.nskipped == m2.nskipped);
out:
	free(j1);
	free(j2);
	manifest_clear(&m);
	manifest_clear(&m2);
	return (0);
}
