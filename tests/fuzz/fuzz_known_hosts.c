/*
 * known_hosts files (lib/store/sftp_hostkey.c), read as OpenSSH reads
 * them: the input is the file.  The key an ed25519 server offers is
 * judged for three names (port 22, another port, a hashed-name host) and
 * the methods to ask for are listed.  Invariants: a verdict is trusted,
 * unknown or refused, each refusal ERR_HOSTKEY; the methods are known
 * method names, comma separated.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fuzz.h"
#include "store/store_impl.h"

/* tests/unit/store/check_sftp.c's ED_B64: an ed25519 public key. */
#define ED_B64                                                                 \
	"AAAAC3NzaC1lZDI1NTE5AAAAIIOjTc2gkghfQ9xJJbiCa7h9wbFG6AsC1CfrrSTE53eH"

static const struct {
	const char *host;
	int port;
} names[] = {
	{ "h.example", 22 },
	{ "127.0.0.1", 2222 },
	{ "example.org", 22 },
};

static const char *const methods[] = { "ssh-ed25519", "ecdsa-sha2-nistp521",
	"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp256", "rsa-sha2-512",
	"rsa-sha2-256", "ssh-rsa", "ssh-dss" };

static void
check_methods(const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL;

	FUZZ_CHECK(copy != NULL);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
			if (strcmp(tok, methods[i]) == 0)
				break;
		if (i == sizeof(methods) / sizeof(methods[0]))
			fuzz_fail(__FILE__, __LINE__, tok);
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *file;
	static uint8_t key[128];
	static size_t keylen;
	char out[512];
	struct err e;

	if (file == NULL) {
		file = fuzz_path(fuzz_dir(), "known_hosts");
		FUZZ_CHECK(crypto_b64_decode(ED_B64, strlen(ED_B64), key,
		               sizeof(key), &keylen, &e) == 0);
	}
	fuzz_write_file(file, data, size);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int rc;

		memset(&e, 0, sizeof(e));
		rc = stor_sftp_kh_verify(file, names[i].host, names[i].port,
		    key, keylen, &e);
		FUZZ_CHECK(rc == 0 || rc == 1 || rc == -1);
		if (rc != 0)
			FUZZ_CHECK(e.class == ERR_HOSTKEY);
		if (stor_sftp_kh_methods(file, names[i].host, names[i].port,
		        out, sizeof(out), &e) == 0)
			check_methods(out);
	}
	return (0);
}
