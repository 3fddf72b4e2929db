/*
 * plant REPO KEYFILE GOODFILE EVILFILE MODE: what a key holder can do to a
 * repository (issue 9, finding 1).  Opens REPO (a local copy of the
 * target) with the machine key in KEYFILE, seals EVILFILE's bytes under
 * the id of GOODFILE's bytes (one chunk each, of equal length) into a new
 * pack, and writes an index file naming it:
 *   MODE "alone": the index lists only the planted blob (the original
 *                 index stays: the id is then indexed twice);
 *   MODE "replace": the index lists every location the repository's index
 *                 holds but the good copy's, plus the planted blob (to go
 *                 with the original index file hidden under a dot-name).
 * The new files are written into REPO, for the test to upload through the
 * append-only key.  Exit 0 on success, 1 with a message otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "repo/compress.h"
#include "repo/idx.h"
#include "repo/pack.h"
#include "repo/repo.h"
#include "xmalloc.h"

#define PACK_HDR_AAD "coffer pack header 1" /* as lib/repo/repo.c seals */

static uint8_t *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = xmalloc(1 << 20);

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	*n = fread(p, 1, 1 << 20, f);
	fclose(f);
	return (p);
}

static void
die(const char *what, const struct err *e)
{
	fprintf(stderr, "plant: %s: %s\n", what, e ? e->msg : "");
	exit(1);
}

struct copy {
	const struct idx *from;
	struct idx *to;
	const uint8_t *skip; /* the id whose locations are left out */
};

static int
copy_loc(void *arg, const struct idx_entry *ent)
{
	struct copy *c = arg;
	struct idx_entry n = *ent;

	if (memcmp(ent->id, c->skip, IDX_ID_LEN) == 0)
		return (0);
	n.pack = idx_pack_add(c->to, idx_pack_id(c->from, ent->pack));
	(void)idx_add(c->to, &n);
	return (0);
}

int
main(int argc, char **argv)
{
	struct repo *r;
	struct err e;
	struct crypto_hmac *mac;
	struct crypto_aead *aead;
	struct pack_writer *w;
	struct idx *x;
	struct idx_entry ent;
	uint8_t id[IDX_ID_LEN], pid[CRYPTO_HASH_LEN], *good, *evil, *key;
	uint8_t *plain, *sealed, *hdr, *box, *pack, *ix;
	size_t ngood, nevil, nkey, hlen, plen, ixlen;
	char name[128], iname[REPO_HEX_LEN + 1];

	if (argc != 6 ||
	    (strcmp(argv[5], "alone") != 0 &&
	        strcmp(argv[5], "replace") != 0)) {
		fprintf(stderr,
		    "usage: plant REPO KEYFILE GOODFILE EVILFILE "
		    "alone|replace\n");
		return (1);
	}
	key = slurp(argv[2], &nkey);
	while (nkey > 0 && (key[nkey - 1] == '\n' || key[nkey - 1] == '\r'))
		nkey--;
	good = slurp(argv[3], &ngood);
	evil = slurp(argv[4], &nevil);
	if (ngood != nevil)
		die("GOODFILE and EVILFILE must be as long", NULL);
	if (repo_open(argv[1], key, nkey, &r, &e) == -1)
		die("open", &e);
	/* The id a snapshot of GOODFILE names: the keyed hash. */
	if ((mac = crypto_hmac_new(key_master_id_key(repo_master(r)),
	         KEY_SECRET_LEN, &e)) == NULL ||
	    (aead = crypto_aead_new(key_master_blob_key(repo_master(r)), &e)) ==
	        NULL)
		die("keys", &e);
	crypto_hmac_digest(mac, good, ngood, id);
	if (idx_find(repo_index(r), id) == NULL)
		die("GOODFILE is not one chunk of this repository", NULL);
	/* Other bytes, sealed under that id: the tag is valid. */
	plain = xmalloc(nevil + 1);
	plain[0] = (uint8_t)(COMPRESS_RAW | IDX_BLOB_DATA << 4);
	memcpy(plain + 1, evil, nevil);
	sealed = xmalloc(nevil + 1 + CRYPTO_AEAD_OVERHEAD);
	if (crypto_aead_seal(aead, plain, nevil + 1, id, IDX_ID_LEN, sealed,
	        &e) == -1)
		die("seal", &e);
	w = pack_writer_new();
	if (pack_writer_add(w, id, IDX_BLOB_DATA, sealed,
	        nevil + 1 + CRYPTO_AEAD_OVERHEAD, (uint32_t)nevil, &e) == -1)
		die("pack", &e);
	pack_writer_header(w, &hdr, &hlen);
	box = xmalloc(hlen + CRYPTO_AEAD_OVERHEAD);
	if (crypto_aead_seal(aead, hdr, hlen, PACK_HDR_AAD,
	        strlen(PACK_HDR_AAD), box, &e) == -1 ||
	    pack_writer_finish(w, box, hlen + CRYPTO_AEAD_OVERHEAD, &pack,
	        &plen, NULL, &e) == -1)
		die("pack header", &e);
	crypto_sha256(pack, plen, pid);
	repo_pack_name(pid, name, sizeof(name));
	if (stor_put(repo_store(r), name, pack, plen, STOR_NOREPLACE, &e) == -1)
		die("write pack", &e);
	/* An index naming it. */
	x = idx_new();
	if (strcmp(argv[5], "replace") == 0) {
		struct copy c = { repo_index(r), x, id };

		(void)idx_foreach(repo_index(r), copy_loc, &c);
	}
	memset(&ent, 0, sizeof(ent));
	memcpy(ent.id, id, IDX_ID_LEN);
	ent.pack = idx_pack_add(x, pid);
	ent.offset = 0;
	ent.length = (uint32_t)(nevil + 1 + CRYPTO_AEAD_OVERHEAD);
	ent.raw_length = (uint32_t)nevil;
	ent.type = IDX_BLOB_DATA;
	(void)idx_add(x, &ent);
	idx_encode(x, 0, idx_pack_count(x), &ix, &ixlen);
	if (repo_file_put(r, "index", ix, ixlen, iname, &e) == -1)
		die("write index", &e);
	printf("%s\nindex/%s\n", name, iname);
	free(ix);
	idx_free(x);
	free(pack);
	free(box);
	free(hdr);
	pack_writer_free(w);
	free(sealed);
	freezero(plain, nevil + 1);
	crypto_aead_free(aead);
	crypto_hmac_free(mac);
	repo_close(r);
	free(good);
	free(evil);
	freezero(key, 1 << 20);
	return (0);
}
