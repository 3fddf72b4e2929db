/*
 * The cryptographic primitives coffer is built from, and the only OpenSSL
 * user (with any lib/crypto_*.c): random bytes, SHA-256, HMAC-SHA-256,
 * HKDF-SHA256, AES-256-GCM, scrypt, the chunker's gear table, constant-time
 * comparison, and the hex and base64 encodings keys travel in.
 *
 * Contexts (struct crypto_*) belong to one thread at a time: make one per
 * worker.  Hashing and MAC-ing (one-shot, or on a context made without
 * error), the cipher work of seal and open, and the gear table cannot fail
 * short of memory exhaustion or a broken OpenSSL installation; like
 * xmalloc, they then abort with a message instead of giving every caller
 * an error path that can never be taken.  Everything that can fail for a
 * reason the caller could act on (entropy, input that fails
 * authentication or decoding) returns -1 and fills a struct err.
 */
#ifndef COFFER_CRYPTO_H
#define COFFER_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CRYPTO_KEY_LEN       32 /* AES-256, HMAC and subkey length */
#define CRYPTO_HASH_LEN      32 /* SHA-256 and HMAC-SHA-256 output */
#define CRYPTO_NONCE_LEN     12 /* AES-256-GCM nonce, first in a sealed box */
#define CRYPTO_TAG_LEN       16 /* AES-256-GCM tag, last in a sealed box */
#define CRYPTO_AEAD_OVERHEAD (CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)
#define CRYPTO_GEAR_SIZE     256 /* entries in a gear table */

/* Characters of the base64 encoding of n bytes, without the NUL. */
#define CRYPTO_B64_LEN(n) ((((n) + 2) / 3) * 4)

/*
 * Fill buf with n bytes from OpenSSL's CSPRNG.  Fails (ERR_INTERNAL) only
 * when the generator cannot be seeded.
 */
int crypto_random(void *buf, size_t n, struct err *);

/* SHA-256 of n bytes at p. */
void crypto_sha256(const void *p, size_t n, uint8_t out[CRYPTO_HASH_LEN]);

/*
 * Streaming SHA-256 (pack names are the hash of a pack written in pieces).
 * crypto_sha256_final writes the hash and resets the context, so it can
 * hash the next stream.
 */
struct crypto_sha256_ctx;
struct crypto_sha256_ctx *crypto_sha256_new(struct err *);
void crypto_sha256_update(struct crypto_sha256_ctx *, const void *p, size_t n);
void crypto_sha256_final(struct crypto_sha256_ctx *,
    uint8_t out[CRYPTO_HASH_LEN]);
void crypto_sha256_free(struct crypto_sha256_ctx *); /* NULL is fine */

/* HMAC-SHA-256 with a key used once (tests, rare uses). */
void crypto_hmac_sha256(const void *key, size_t keylen, const void *p, size_t n,
    uint8_t out[CRYPTO_HASH_LEN]);

/*
 * A prepared HMAC-SHA-256 key (blob ids): the key schedule is computed
 * once, so a MAC of a small input costs a quarter microsecond rather than
 * one and a half.  The key is copied (coffer's keys are CRYPTO_KEY_LEN
 * bytes; any length works) and wiped by OpenSSL on free.
 */
struct crypto_hmac;
struct crypto_hmac *crypto_hmac_new(const void *key, size_t keylen,
    struct err *);
void crypto_hmac_free(struct crypto_hmac *); /* NULL is fine */

/* HMAC of n bytes at p, in one call.  Abandons any stream in progress. */
void crypto_hmac_digest(struct crypto_hmac *, const void *p, size_t n,
    uint8_t out[CRYPTO_HASH_LEN]);

/*
 * The same MAC in pieces: begin, any number of updates, final.  One stream
 * at a time per struct crypto_hmac.
 */
void crypto_hmac_begin(struct crypto_hmac *);
void crypto_hmac_update(struct crypto_hmac *, const void *p, size_t n);
void crypto_hmac_final(struct crypto_hmac *, uint8_t out[CRYPTO_HASH_LEN]);

/*
 * HKDF-SHA256 (RFC 5869, extract then expand): outlen bytes (at most
 * 255 * 32) from input keying material, an optional salt (saltlen 0:
 * the RFC's default of 32 zero bytes) and an optional info label.  Fails
 * with ERR_INTERNAL only on a bad outlen or a broken OpenSSL.
 */
int crypto_hkdf_sha256(const void *ikm, size_t ikmlen, const void *salt,
    size_t saltlen, const void *info, size_t infolen, uint8_t *out,
    size_t outlen, struct err *);

/*
 * scrypt (RFC 7914) of a passphrase and salt into outlen bytes.  N must be
 * a power of two greater than 1, r and p at least 1, and the memory it
 * needs, 128 * r * (N + p + 2) bytes, at most CRYPTO_SCRYPT_MAXMEM; other
 * values fail with ERR_INTERNAL (callers check parameters from files
 * first and say what is wrong in their terms).  N = 2^17, r = 8, p = 1
 * takes 128 MiB and about half a second.
 */
#define CRYPTO_SCRYPT_MAXMEM ((uint64_t)1 << 31)
int crypto_scrypt(const void *pass, size_t passlen, const void *salt,
    size_t saltlen, uint64_t n, uint32_t r, uint32_t p, uint8_t *out,
    size_t outlen, struct err *);

/*
 * AES-256-GCM under one key, with the key schedule computed once.  A sealed
 * box is nonce (12 random bytes) || ciphertext || tag (16 bytes), so it is
 * CRYPTO_AEAD_OVERHEAD bytes longer than the plaintext.  Random 96-bit
 * nonces keep the chance of a repeat below 2^-32 for the first 2^32 boxes
 * sealed under one key.
 */
struct crypto_aead;
struct crypto_aead *crypto_aead_new(const uint8_t key[CRYPTO_KEY_LEN],
    struct err *);
void crypto_aead_free(struct crypto_aead *); /* NULL is fine; wipes */

/*
 * Seal n bytes of plain, authenticating aadlen bytes of aad with them (aad
 * may be NULL when aadlen is 0), into out, which has room for
 * n + CRYPTO_AEAD_OVERHEAD bytes.  out may be plain - CRYPTO_NONCE_LEN
 * (sealing in place, the plaintext already where the ciphertext goes);
 * no other overlap.  Fails only if no random nonce can be had
 * (ERR_INTERNAL).
 */
int crypto_aead_seal(struct crypto_aead *, const void *plain, size_t n,
    const void *aad, size_t aadlen, uint8_t *out, struct err *);

/*
 * Open a sealed box of n bytes with the aad it was sealed with, into out,
 * which has room for n - CRYPTO_AEAD_OVERHEAD bytes; out may be
 * sealed + CRYPTO_NONCE_LEN (in place), no other overlap.  A box shorter
 * than the overhead, or one whose tag does not verify (wrong key, any
 * changed byte of nonce, ciphertext, tag or aad) fails with ERR_CORRUPT;
 * then those n - CRYPTO_AEAD_OVERHEAD bytes of out are zeroed: no
 * unauthenticated plaintext is ever handed over.
 */
int crypto_aead_open(struct crypto_aead *, const uint8_t *sealed, size_t n,
    const void *aad, size_t aadlen, uint8_t *out, struct err *);

/*
 * The chunker's gear table from a gear key: the first 2048 bytes of the
 * AES-256-CTR keystream under key, counter block starting at zero, read as
 * 256 little-endian 64-bit words.  Part of the format (doc/FORMAT.md,
 * "Gear table").
 */
void crypto_gear_table(const uint8_t key[CRYPTO_KEY_LEN],
    uint64_t out[CRYPTO_GEAR_SIZE]);

/* 1 when the n bytes at a and b are equal, else 0, in time that depends
 * only on n. */
int crypto_equal(const void *a, const void *b, size_t n);

/* Lowercase hex of n bytes into out, which has room for 2n + 1 chars. */
void crypto_hex_encode(const void *p, size_t n, char *out);

/*
 * Decode exactly 2 * outlen hex digits (either case) at s, slen chars, into
 * out.  Anything else fails with ERR_CORRUPT; then out is zeroed.  Takes no
 * branch on the digits' values: it decodes secrets (machine keys).
 */
int crypto_hex_decode(const char *s, size_t slen, void *out, size_t outlen,
    struct err *);

/* Base64 (RFC 4648, with padding) of n bytes into out, which has room for
 * CRYPTO_B64_LEN(n) + 1 chars. */
void crypto_b64_encode(const void *p, size_t n, char *out);

/*
 * Decode canonical base64 (RFC 4648 alphabet, '=' padding to a multiple of
 * 4, unused bits zero, no whitespace), slen chars at s, into out, which
 * has room for cap bytes; *outlen gets the decoded length.  Any other
 * input, or more than cap bytes, fails with ERR_CORRUPT.  Exactly one
 * string decodes to a given byte sequence, so an edit to an encoded field
 * always changes what it decodes to.
 */
int crypto_b64_decode(const char *s, size_t slen, void *out, size_t cap,
    size_t *outlen, struct err *);

/* The OpenSSL library in use, e.g. "OpenSSL 3.0.15 3 Sep 2024". */
const char *crypto_version(void);

#endif
