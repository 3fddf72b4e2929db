/*
 * Key files (lib/repo/key.c): the JSON under keys/, which anyone with
 * write access to the repository can plant.  Every input is parsed by
 * key_file_info; one of a machine key, or of a passphrase with the
 * test-only weak KDF parameters (KEY_TEST_WEAK_ENV), is also opened with
 * the known secret the seeds were made with.  Invariants: refusals are
 * ERR_CORRUPT or ERR_KEY; an open that succeeds yields the one master
 * secret the seeds sealed (nothing else authenticates).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "repo/key.h"
#include "seeds.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv(KEY_TEST_WEAK_ENV, "1", 1);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct key_master *m = NULL;
	struct key_file_info info;
	const char *secret;
	struct err e;

	if (key_file_info(data, size, &info, &e) == -1) {
		FUZZ_CHECK(e.class == ERR_CORRUPT);
		return (0);
	}
	FUZZ_CHECK(
	    info.kind == KEY_KIND_MACHINE || info.kind == KEY_KIND_PASSPHRASE);
	FUZZ_CHECK(strlen(info.host) <= KEY_META_MAX);
	FUZZ_CHECK(strlen(info.user) <= KEY_META_MAX);
	if (info.kind == KEY_KIND_MACHINE)
		secret = SEED_MACHINE_KEY;
	else if (key_scrypt_cost(&info.scrypt) <=
	    key_scrypt_cost(&key_scrypt_test_weak))
		secret = SEED_PASSPHRASE;
	else
		return (0); /* a real KDF run: too slow to fuzz */
	if (key_file_open(data, size, secret, strlen(secret), &m, &e) == -1) {
		FUZZ_CHECK(m == NULL);
		FUZZ_CHECK(e.class == ERR_CORRUPT || e.class == ERR_KEY);
		return (0);
	}
	FUZZ_CHECK(memcmp(key_master_secret(m), SEED_MASTER_SECRET,
	               KEY_SECRET_LEN) == 0);
	key_master_free(m);
	return (0);
}
