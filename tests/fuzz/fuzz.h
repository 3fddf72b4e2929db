/*
 * Helpers the libFuzzer targets in tests/fuzz/ share: a NUL-terminated
 * copy of the input, a private scratch directory, and an invariant check
 * that aborts (so that libFuzzer saves the input) with what broke.
 */
#ifndef COFFER_FUZZ_H
#define COFFER_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the parser under test: abort with a message if false. */
#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			fuzz_fail(__FILE__, __LINE__, #cond);                  \
	} while (0)

void fuzz_fail(const char *file, int line, const char *what)
    __attribute__((noreturn));

/* data as a new NUL-terminated string (free()); embedded NULs stay. */
char *fuzz_cstr(const uint8_t *data, size_t size);

/*
 * A scratch directory made once per process under TMPDIR (or /tmp) and
 * removed at exit; the path lives until then.
 */
const char *fuzz_dir(void);

/* Write size bytes to path (mode 0600, replaced); aborts on failure. */
void fuzz_write_file(const char *path, const void *data, size_t size);

/* malloc'ed "dir/name". */
char *fuzz_path(const char *dir, const char *name);

#endif
