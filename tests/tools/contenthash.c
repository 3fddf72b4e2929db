/*
 * contenthash FILE...: print "HEX  FILE" for each regular file, a SHA-256
 * that is equal for two files exactly when their contents are: the size,
 * then the offset and bytes of every 4 KiB block that is not all zeros.
 * Only the data regions (SEEK_DATA / SEEK_HOLE) are read, so a 2 GiB
 * sparse file costs what its data does, and a hole and written zeros hash
 * the same (whether holes survived is for st_blocks to say).
 */
#include <sys/types.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"

#define BLK 4096

static void
put_u64(struct crypto_sha256_ctx *h, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	crypto_sha256_update(h, b, sizeof(b));
}

static int
hash_file(const char *path, char hex[2 * CRYPTO_HASH_LEN + 1])
{
	static const uint8_t zero[BLK];
	uint8_t buf[BLK], out[CRYPTO_HASH_LEN];
	struct crypto_sha256_ctx *h;
	struct stat st;
	struct err e;
	off_t data = 0, hole;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) == -1) {
		perror(path);
		return (-1);
	}
	if ((h = crypto_sha256_new(&e)) == NULL) {
		fprintf(stderr, "%s\n", e.msg);
		close(fd);
		return (-1);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: not a regular file\n", path);
		goto out;
	}
	put_u64(h, (uint64_t)st.st_size);
	for (;;) {
		data = lseek(fd, data, SEEK_DATA);
		if (data == -1 && errno == ENXIO)
			break; /* only a hole is left */
		if (data == -1 || (hole = lseek(fd, data, SEEK_HOLE)) == -1) {
			perror(path);
			goto out;
		}
		/* Whole blocks, so the hash does not depend on extents. */
		data -= data % BLK;
		for (; data < hole; data += BLK) {
			ssize_t n = pread(fd, buf, BLK, data);

			if (n == -1) {
				perror(path);
				goto out;
			}
			if (n == 0)
				break;
			if ((size_t)n < BLK)
				memset(buf + n, 0, BLK - (size_t)n);
			if (memcmp(buf, zero, BLK) == 0)
				continue;
			put_u64(h, (uint64_t)data);
			crypto_sha256_update(h, buf, BLK);
		}
	}
	crypto_sha256_final(h, out);
	crypto_hex_encode(out, sizeof(out), hex);
	rc = 0;
out:
	crypto_sha256_free(h);
	close(fd);
	return (rc);
}

int
main(int argc, char **argv)
{
	char hex[2 * CRYPTO_HASH_LEN + 1];
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: contenthash FILE...\n");
		return (2);
	}
	for (int i = 1; i < argc; i++) {
		if (hash_file(argv[i], hex) == -1) {
			rc = 1;
			continue;
		}
		printf("%s  %s\n", hex, argv[i]);
	}
	return (rc);
}
