/*
 * Cryptographic primitives: known answers from the RFCs and the GCM spec,
 * tampering with every byte of a sealed box, and the encodings' refusals.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "crypto.h"

/* Test-local hex decoder, independent of the one under test. */
static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t i, n = strlen(s) / 2;
	unsigned v;

	ck_assert_uint_le(n, cap);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return (n);
}

static void
assert_hex(const uint8_t *p, size_t n, const char *want)
{
	char got[1024];

	ck_assert_uint_lt(2 * n, sizeof(got));
	crypto_hex_encode(p, n, got);
	ck_assert_str_eq(got, want);
}

START_TEST(test_sha256_known_answers)
{
	uint8_t h[CRYPTO_HASH_LEN];
	const char *abq =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	crypto_sha256("", 0, h);
	assert_hex(h, sizeof(h),
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	crypto_sha256("abc", 3, h);
	assert_hex(h, sizeof(h),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	crypto_sha256(abq, strlen(abq), h);
	assert_hex(h, sizeof(h),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(test_sha256_streaming_and_reuse)
{
	struct crypto_sha256_ctx *s;
	struct err e;
	uint8_t h[CRYPTO_HASH_LEN];
	char a[1000];
	size_t done, k;
	int round;

	memset(a, 'a', sizeof(a));
	s = crypto_sha256_new(&e);
	ck_assert_ptr_nonnull(s);
	/* One million 'a' in uneven pieces, twice: final resets. */
	for (round = 0; round < 2; round++) {
		for (done = 0, k = 1; done < 1000000; done += k) {
			k = (k * 7 + 3) % sizeof(a) + 1;
			if (k > 1000000 - done)
				k = 1000000 - done;
			crypto_sha256_update(s, a, k);
		}
		crypto_sha256_final(s, h);
		assert_hex(h, sizeof(h),
		    "cdc76e5c9914fb9281a1c7e284d73e67"
		    "f1809a48a497200e046d39ccc7112cd0");
	}
	crypto_sha256_final(s, h);
	assert_hex(h, sizeof(h),
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	crypto_sha256_free(s);
	crypto_sha256_free(NULL);
}
END_TEST

/* RFC 4231, test cases 1-4, 6 and 7 (5 truncates: checked separately). */
static const struct {
	const char *key;  /* hex, or NULL: 131 bytes of 0xaa */
	const char *data; /* text, or hex when prefixed by "x:" */
	const char *mac;
} rfc4231[] = {
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff"
	    "7" },
	{ "4a656665", "what do ya want for nothing?",
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec384"
	    "3" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "x:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	    "dddddddddddddddddddddddddddddddddddddd",
	    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565f"
	    "e" },
	{ "0102030405060708090a0b0c0d0e0f10111213141516171819",
	    "x:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
	    "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
	    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665"
	    "b" },
	{ NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f5"
	    "4" },
	{ NULL,
	    "This is a test using a larger than block-size key and a larger "
	    "than block-size data. The key needs to be hashed before being "
	    "used by the HMAC algorithm.",
	    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e"
	    "2" },
};

static void
rfc4231_case(size_t i, uint8_t *key, size_t *keylen, uint8_t *data,
    size_t *datalen)
{
	if (rfc4231[i].key == NULL) {
		memset(key, 0xaa, 131);
		*keylen = 131;
	} else
		*keylen = unhex(rfc4231[i].key, key, 256);
	if (strncmp(rfc4231[i].data, "x:", 2) == 0)
		*datalen = unhex(rfc4231[i].data + 2, data, 256);
	else {
		*datalen = strlen(rfc4231[i].data);
		memcpy(data, rfc4231[i].data, *datalen);
	}
}

START_TEST(test_hmac_rfc4231_one_shot)
{
	uint8_t key[256], data[256], mac[CRYPTO_HASH_LEN];
	size_t keylen, datalen;

	rfc4231_case((size_t)_i, key, &keylen, data, &datalen);
	crypto_hmac_sha256(key, keylen, data, datalen, mac);
	assert_hex(mac, sizeof(mac), rfc4231[_i].mac);
}
END_TEST

START_TEST(test_hmac_rfc4231_prepared_and_streaming)
{
	uint8_t key[256], data[256], mac[CRYPTO_HASH_LEN];
	size_t keylen, datalen, j;
	struct crypto_hmac *h;
	struct err e;
	int round;

	rfc4231_case((size_t)_i, key, &keylen, data, &datalen);
	h = crypto_hmac_new(key, keylen, &e);
	ck_assert_ptr_nonnull(h);
	/* The key survives any number of MACs, and an abandoned stream. */
	for (round = 0; round < 3; round++) {
		crypto_hmac_digest(h, data, datalen, mac);
		assert_hex(mac, sizeof(mac), rfc4231[_i].mac);
		crypto_hmac_begin(h);
		for (j = 0; j < datalen; j++)
			crypto_hmac_update(h, data + j, 1);
		crypto_hmac_final(h, mac);
		assert_hex(mac, sizeof(mac), rfc4231[_i].mac);
		crypto_hmac_begin(h);
		crypto_hmac_update(h, "abandoned", 9);
	}
	crypto_hmac_free(h);
	crypto_hmac_free(NULL);
}
END_TEST

START_TEST(test_hmac_rfc4231_truncated_case_5)
{
	uint8_t key[20], mac[CRYPTO_HASH_LEN];

	memset(key, 0x0c, sizeof(key));
	crypto_hmac_sha256(key, sizeof(key), "Test With Truncation", 20, mac);
	assert_hex(mac, 16, "a3b6167473100ee06e0c796c2955552b");
}
END_TEST

START_TEST(test_hmac_empty_key_is_a_key)
{
	uint8_t a[CRYPTO_HASH_LEN], b[CRYPTO_HASH_LEN];
	struct crypto_hmac *h;
	struct err e;

	/* An empty key is HMAC's all-zero key, not "no key". */
	crypto_hmac_sha256("", 0, "x", 1, a);
	h = crypto_hmac_new(NULL, 0, &e);
	ck_assert_ptr_nonnull(h);
	crypto_hmac_digest(h, "x", 1, b);
	ck_assert_mem_eq(a, b, sizeof(a));
	crypto_hmac_free(h);
}
END_TEST

START_TEST(test_hkdf_rfc5869)
{
	uint8_t ikm[80], salt[80], info[80], okm[82];
	size_t i;
	struct err e;

	/* Test case 1. */
	memset(ikm, 0x0b, 22);
	for (i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	ck_assert_int_eq(crypto_hkdf_sha256(ikm, 22, salt, 13, info, 10, okm,
	                     42, &e),
	    0);
	assert_hex(okm, 42,
	    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	    "34007208d5b887185865");
	/* Test case 2: long inputs. */
	for (i = 0; i < 80; i++) {
		ikm[i] = (uint8_t)i;
		salt[i] = (uint8_t)(0x60 + i);
		info[i] = (uint8_t)(0xb0 + i);
	}
	ck_assert_int_eq(crypto_hkdf_sha256(ikm, 80, salt, 80, info, 80, okm,
	                     82, &e),
	    0);
	assert_hex(okm, 82,
	    "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	    "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	    "cc30c58179ec3e87c14c01d5c1f3434f1d87");
	/* Test case 3: no salt, no info. */
	memset(ikm, 0x0b, 22);
	ck_assert_int_eq(crypto_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 42,
	                     &e),
	    0);
	assert_hex(okm, 42,
	    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	    "9d201395faa4b61a96c8");
}
END_TEST

START_TEST(test_hkdf_refuses_bad_lengths)
{
	uint8_t okm[8];
	struct err e;

	ck_assert_int_eq(crypto_hkdf_sha256("k", 1, NULL, 0, NULL, 0, okm, 0,
	                     &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_INTERNAL);
	ck_assert_int_eq(crypto_hkdf_sha256("k", 1, NULL, 0, NULL, 0, okm,
	                     255 * 32 + 1, &e),
	    -1);
	/* Empty keying material is still keying material (the value is
	 * Python cryptography's). */
	ck_assert_int_eq(crypto_hkdf_sha256(NULL, 0, NULL, 0, NULL, 0, okm,
	                     sizeof(okm), &e),
	    0);
	assert_hex(okm, sizeof(okm), "eb70f01dede9afaf");
}
END_TEST

START_TEST(test_scrypt_rfc7914)
{
	uint8_t dk[64];
	struct err e;

	ck_assert_int_eq(crypto_scrypt("", 0, "", 0, 16, 1, 1, dk, 64, &e), 0);
	assert_hex(dk, 64,
	    "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
	    "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
	/* NULL with length 0 is the empty string. */
	memset(dk, 0, sizeof(dk));
	ck_assert_int_eq(crypto_scrypt(NULL, 0, NULL, 0, 16, 1, 1, dk, 64, &e),
	    0);
	assert_hex(dk, 8, "77d6576238657b20");
	ck_assert_int_eq(crypto_scrypt("password", 8, "NaCl", 4, 1024, 8, 16,
	                     dk, 64, &e),
	    0);
	assert_hex(dk, 64,
	    "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
	    "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}
END_TEST

START_TEST(test_scrypt_refuses_bad_parameters)
{
	uint8_t dk[32];
	struct err e;

	ck_assert_int_eq(crypto_scrypt("p", 1, "s", 1, 1000, 8, 1, dk, 32, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_INTERNAL);
	ck_assert_int_eq(crypto_scrypt("p", 1, "s", 1, 1, 8, 1, dk, 32, &e),
	    -1);
	ck_assert_int_eq(crypto_scrypt("p", 1, "s", 1, 1024, 0, 1, dk, 32, &e),
	    -1);
	ck_assert_int_eq(crypto_scrypt("p", 1, "s", 1, 1024, 8, 0, dk, 32, &e),
	    -1);
	/* 2^24 * 8 * 128 bytes = 16 GiB: refused before any allocation. */
	ck_assert_int_eq(crypto_scrypt("p", 1, "s", 1, (uint64_t)1 << 24, 8, 1,
	                     dk, 32, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "needs more than"));
	ck_assert_int_eq(crypto_scrypt("p", 1, "s", 1, 1024, UINT32_MAX,
	                     UINT32_MAX, dk, 32, &e),
	    -1);
	ck_assert_int_eq(crypto_scrypt("p", 1, "s", 1, 1024, 1, UINT32_MAX, dk,
	                     32, &e),
	    -1);
	ck_assert_int_eq(crypto_scrypt("p", 1, "s", 1, (uint64_t)1 << 63, 1, 1,
	                     dk, 32, &e),
	    -1);
	/* Within our bounds but not OpenSSL's (N < 2^(16 r)): its reason
	 * is passed on, and the output wiped. */
	memset(dk, 0xee, sizeof(dk));
	ck_assert_int_eq(crypto_scrypt("p", 1, "s", 1, (uint64_t)1 << 17, 1, 1,
	                     dk, 32, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_INTERNAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "SCRYPT failed: "));
	ck_assert_uint_eq(dk[0], 0);
}
END_TEST

/* Open a box built from a vector (nonce || ciphertext || tag). */
static void
gcm_vector(const char *key_hex, const char *iv, const char *pt_hex,
    const char *aad_hex, const char *ct_tag_hex)
{
	uint8_t key[32], sealed[256], aad[64], pt[256], out[256];
	size_t n, ptlen, aadlen;
	struct crypto_aead *a;
	struct err e;

	unhex(key_hex, key, sizeof(key));
	n = unhex(iv, sealed, sizeof(sealed));
	ck_assert_uint_eq(n, CRYPTO_NONCE_LEN);
	n += unhex(ct_tag_hex, sealed + n, sizeof(sealed) - n);
	ptlen = unhex(pt_hex, pt, sizeof(pt));
	aadlen = unhex(aad_hex, aad, sizeof(aad));
	ck_assert_uint_eq(n, ptlen + CRYPTO_AEAD_OVERHEAD);
	a = crypto_aead_new(key, &e);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(crypto_aead_open(a, sealed, n, aadlen ? aad : NULL,
	                     aadlen, out, &e),
	    0);
	ck_assert_mem_eq(out, pt, ptlen);
	crypto_aead_free(a);
}

START_TEST(test_aead_gcm_spec_vectors)
{
	/* The GCM specification (McGrew, Viega), test cases 13, 14, 16. */
	gcm_vector("00000000000000000000000000000000"
	           "00000000000000000000000000000000",
	    "000000000000000000000000", "", "",
	    "530f8afbc74536b9a963b4f1c4cb738b");
	gcm_vector("00000000000000000000000000000000"
	           "00000000000000000000000000000000",
	    "000000000000000000000000", "00000000000000000000000000000000", "",
	    "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
	gcm_vector("feffe9928665731c6d6a8f9467308308"
	           "feffe9928665731c6d6a8f9467308308",
	    "cafebabefacedbaddecaf888",
	    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	    "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
	    "76fc6ece0f4e1768cddf8853bb2d551b");
}
END_TEST

static const uint8_t test_key[CRYPTO_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
	29, 30, 31, 32 };

START_TEST(test_aead_round_trip_fresh_nonces)
{
	const char msg[] = "the quick brown fox jumps over the lazy dog";
	uint8_t s1[sizeof(msg) + CRYPTO_AEAD_OVERHEAD];
	uint8_t s2[sizeof(s1)], out[sizeof(msg)];
	struct crypto_aead *a;
	struct err e;

	a = crypto_aead_new(test_key, &e);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(crypto_aead_seal(a, msg, sizeof(msg), "id", 2, s1, &e),
	    0);
	ck_assert_int_eq(crypto_aead_seal(a, msg, sizeof(msg), "id", 2, s2, &e),
	    0);
	/* A fresh nonce each time, so the same message seals differently. */
	ck_assert(memcmp(s1, s2, CRYPTO_NONCE_LEN) != 0);
	ck_assert(memcmp(s1, s2, sizeof(s1)) != 0);
	ck_assert(memmem(s1, sizeof(s1), "quick", 5) == NULL);
	ck_assert_int_eq(crypto_aead_open(a, s1, sizeof(s1), "id", 2, out, &e),
	    0);
	ck_assert_mem_eq(out, msg, sizeof(msg));
	ck_assert_int_eq(crypto_aead_open(a, s2, sizeof(s2), "id", 2, out, &e),
	    0);
	ck_assert_mem_eq(out, msg, sizeof(msg));
	crypto_aead_free(a);
	crypto_aead_free(NULL);
}
END_TEST

START_TEST(test_aead_in_place_and_empty)
{
	uint8_t buf[CRYPTO_AEAD_OVERHEAD + 4096], want[4096], box[64];
	struct crypto_aead *a;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 31 + 7);
	a = crypto_aead_new(test_key, &e);
	ck_assert_ptr_nonnull(a);
	memcpy(buf + CRYPTO_NONCE_LEN, want, sizeof(want));
	ck_assert_int_eq(crypto_aead_seal(a, buf + CRYPTO_NONCE_LEN,
	                     sizeof(want), NULL, 0, buf, &e),
	    0);
	ck_assert(memcmp(buf + CRYPTO_NONCE_LEN, want, sizeof(want)) != 0);
	ck_assert_int_eq(crypto_aead_open(a, buf, sizeof(buf), NULL, 0,
	                     buf + CRYPTO_NONCE_LEN, &e),
	    0);
	ck_assert_mem_eq(buf + CRYPTO_NONCE_LEN, want, sizeof(want));
	/* An empty message still carries its nonce and tag. */
	ck_assert_int_eq(crypto_aead_seal(a, "", 0, "aad", 3, box, &e), 0);
	ck_assert_int_eq(crypto_aead_open(a, box, CRYPTO_AEAD_OVERHEAD, "aad",
	                     3, box + 40, &e),
	    0);
	ck_assert_int_eq(crypto_aead_open(a, box, CRYPTO_AEAD_OVERHEAD, "aaD",
	                     3, box + 40, &e),
	    -1);
	crypto_aead_free(a);
}
END_TEST

/* Open must fail with ERR_CORRUPT and leave out all zero. */
static void
assert_open_fails(struct crypto_aead *a, const uint8_t *box, size_t n,
    const void *aad, size_t aadlen)
{
	uint8_t out[512];
	struct err e;
	size_t i;

	ck_assert_uint_le(n, sizeof(out) + CRYPTO_AEAD_OVERHEAD);
	memset(out, 0xa5, sizeof(out));
	err_clear(&e);
	ck_assert_int_eq(crypto_aead_open(a, box, n, aad, aadlen, out, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	for (i = 0; i + CRYPTO_AEAD_OVERHEAD < n; i++)
		ck_assert_uint_eq(out[i], 0);
}

START_TEST(test_aead_tamper_every_byte)
{
	uint8_t plain[200], box[sizeof(plain) + CRYPTO_AEAD_OVERHEAD];
	uint8_t aad[CRYPTO_HASH_LEN], other[CRYPTO_KEY_LEN];
	struct crypto_aead *a, *b;
	struct err e;
	size_t i;
	int bit;

	memset(plain, 'p', sizeof(plain));
	crypto_sha256(plain, sizeof(plain), aad);
	a = crypto_aead_new(test_key, &e);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(crypto_aead_seal(a, plain, sizeof(plain), aad,
	                     sizeof(aad), box, &e),
	    0);
	/* Every byte of nonce, ciphertext and tag, low and high bit. */
	for (i = 0; i < sizeof(box); i++) {
		for (bit = 0; bit < 8; bit += 7) {
			box[i] ^= (uint8_t)(1u << bit);
			assert_open_fails(a, box, sizeof(box), aad,
			    sizeof(aad));
			box[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* Every byte of the associated data; none, or one byte less. */
	for (i = 0; i < sizeof(aad); i++) {
		aad[i] ^= 0x01;
		assert_open_fails(a, box, sizeof(box), aad, sizeof(aad));
		aad[i] ^= 0x01;
	}
	assert_open_fails(a, box, sizeof(box), NULL, 0);
	assert_open_fails(a, box, sizeof(box), aad, sizeof(aad) - 1);
	/* Truncated, extended, too short to hold nonce and tag. */
	assert_open_fails(a, box, sizeof(box) - 1, aad, sizeof(aad));
	assert_open_fails(a, box + 1, sizeof(box) - 1, aad, sizeof(aad));
	assert_open_fails(a, box, CRYPTO_AEAD_OVERHEAD - 1, aad, sizeof(aad));
	assert_open_fails(a, box, 0, aad, sizeof(aad));
	/* Another key. */
	memcpy(other, test_key, sizeof(other));
	other[31] ^= 1;
	b = crypto_aead_new(other, &e);
	ck_assert_ptr_nonnull(b);
	assert_open_fails(b, box, sizeof(box), aad, sizeof(aad));
	/* Nothing above disturbed the context: the intact box opens. */
	{
		uint8_t out[sizeof(plain)];

		ck_assert_int_eq(crypto_aead_open(a, box, sizeof(box), aad,
		                     sizeof(aad), out, &e),
		    0);
		ck_assert_mem_eq(out, plain, sizeof(plain));
	}
	crypto_aead_free(a);
	crypto_aead_free(b);
}
END_TEST

START_TEST(test_gear_table_known_answer)
{
	uint8_t key[CRYPTO_KEY_LEN];
	uint64_t g[CRYPTO_GEAR_SIZE], g2[CRYPTO_GEAR_SIZE];
	size_t i;

	/* Expected values: AES-256-ECB of counter blocks 0..127 by the
	 * openssl command, read as little-endian words (doc/FORMAT.md). */
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	crypto_gear_table(key, g);
	ck_assert_uint_eq(g[0], UINT64_C(0xd09f492ab60090f2));
	ck_assert_uint_eq(g[1], UINT64_C(0x80772edd6a9af3a9));
	ck_assert_uint_eq(g[2], UINT64_C(0xe59fb94aae765df0));
	ck_assert_uint_eq(g[127], UINT64_C(0xda5a5c9bf9e5667e));
	ck_assert_uint_eq(g[128], UINT64_C(0x0c8eceed4193f11f));
	ck_assert_uint_eq(g[255], UINT64_C(0x99e3f8f9b6c57b1c));
	crypto_gear_table(key, g2);
	ck_assert_mem_eq(g, g2, sizeof(g));
	key[0] ^= 1;
	crypto_gear_table(key, g2);
	ck_assert(memcmp(g, g2, sizeof(g)) != 0);
}
END_TEST

START_TEST(test_random_fills_and_differs)
{
	uint8_t a[32], b[32], zero[32] = { 0 };
	struct err e;

	ck_assert_int_eq(crypto_random(a, sizeof(a), &e), 0);
	ck_assert_int_eq(crypto_random(b, sizeof(b), &e), 0);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	ck_assert(memcmp(a, zero, sizeof(a)) != 0);
	ck_assert_int_eq(crypto_random(a, 0, &e), 0);
}
END_TEST

START_TEST(test_equal)
{
	ck_assert_int_eq(crypto_equal("abcd", "abcd", 4), 1);
	ck_assert_int_eq(crypto_equal("abcd", "abce", 4), 0);
	ck_assert_int_eq(crypto_equal("xbcd", "abcd", 4), 0);
	ck_assert_int_eq(crypto_equal("a", "b", 0), 1);
}
END_TEST

START_TEST(test_hex_round_trip_and_refusals)
{
	uint8_t in[256], out[256];
	char hex[513], bad[3];
	struct err e;
	size_t i;
	const char *nothex = "/:@G`g \n";

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	crypto_hex_encode(in, sizeof(in), hex);
	ck_assert_uint_eq(strlen(hex), 512);
	ck_assert(strncmp(hex, "000102", 6) == 0);
	ck_assert_str_eq(hex + 506, "fdfeff");
	ck_assert_int_eq(crypto_hex_decode(hex, 512, out, sizeof(out), &e), 0);
	ck_assert_mem_eq(in, out, sizeof(in));
	ck_assert_int_eq(crypto_hex_decode("ABcdEF", 6, out, 3, &e), 0);
	ck_assert_mem_eq(out, "\xab\xcd\xef", 3);
	/* Wrong lengths. */
	ck_assert_int_eq(crypto_hex_decode("abc", 3, out, 2, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_int_eq(crypto_hex_decode("abcd", 4, out, 3, &e), -1);
	ck_assert_int_eq(crypto_hex_decode("abcdef", 6, out, 2, &e), -1);
	/* Each neighbour of the digit ranges, in either position; the
	 * output is zeroed. */
	for (i = 0; i < strlen(nothex); i++) {
		bad[0] = 'a';
		bad[1] = nothex[i];
		memset(out, 0xff, 4);
		ck_assert_int_eq(crypto_hex_decode(bad, 2, out, 1, &e), -1);
		ck_assert_uint_eq(out[0], 0);
		bad[0] = nothex[i];
		bad[1] = 'a';
		ck_assert_int_eq(crypto_hex_decode(bad, 2, out, 1, &e), -1);
	}
	ck_assert_int_eq(crypto_hex_decode("\xc1"
	                                   "1",
	                     2, out, 1, &e),
	    -1);
	ck_assert_int_eq(crypto_hex_decode("", 0, out, 0, &e), 0);
}
END_TEST

START_TEST(test_b64_rfc4648)
{
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v",
		"Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char out[16];
	uint8_t dec[8];
	size_t i, n;
	struct err e;

	for (i = 0; i < 7; i++) {
		crypto_b64_encode("foobar", i, out);
		ck_assert_str_eq(out, enc[i]);
		ck_assert_uint_eq(strlen(out), CRYPTO_B64_LEN(i));
		ck_assert_int_eq(crypto_b64_decode(enc[i], strlen(enc[i]), dec,
		                     i, &n, &e),
		    0);
		ck_assert_uint_eq(n, i);
		ck_assert_mem_eq(dec, "foobar", i);
	}
	crypto_b64_encode("\xfb\xff\xbf", 3, out);
	ck_assert_str_eq(out, "+/+/");
}
END_TEST

START_TEST(test_b64_refuses_non_canonical)
{
	static const char *const bad[] = {
		"Zg=",      /* length */
		"Zh==",     /* unused bits set */
		"Zm9=",     /* unused bits set */
		"Zm 9",     /* space */
		"Zm9v\n",   /* newline */
		"====",     /* nothing but padding */
		"Z===",     /* three pads */
		"Zg==Zg==", /* padding inside */
		"Zm9v-_==", /* url-safe alphabet */
		"Zm=v",     /* pad then digit */
	};
	uint8_t dec[16];
	size_t i, n;
	struct err e;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		ck_assert_msg(crypto_b64_decode(bad[i], strlen(bad[i]), dec,
		                  sizeof(dec), &n, &e) == -1,
		    "accepted \"%s\"", bad[i]);
		ck_assert_int_eq(e.class, ERR_CORRUPT);
		ck_assert_uint_eq(n, 0);
	}
	/* A NUL inside the counted length is a bad character. */
	ck_assert_int_eq(crypto_b64_decode("Zm\0v", 4, dec, sizeof(dec), &n,
	                     &e),
	    -1);
	/* More than fits. */
	ck_assert_int_eq(crypto_b64_decode("Zm9vYmFy", 8, dec, 5, &n, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "at most 5"));
}
END_TEST

Suite *crypto_suite(void);

Suite *
crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sha256_known_answers);
	tcase_add_test(tc, test_sha256_streaming_and_reuse);
	tcase_add_loop_test(tc, test_hmac_rfc4231_one_shot, 0,
	    (int)(sizeof(rfc4231) / sizeof(rfc4231[0])));
	tcase_add_loop_test(tc, test_hmac_rfc4231_prepared_and_streaming, 0,
	    (int)(sizeof(rfc4231) / sizeof(rfc4231[0])));
	tcase_add_test(tc, test_hmac_rfc4231_truncated_case_5);
	tcase_add_test(tc, test_hmac_empty_key_is_a_key);
	tcase_add_test(tc, test_hkdf_rfc5869);
	tcase_add_test(tc, test_hkdf_refuses_bad_lengths);
	tcase_add_test(tc, test_scrypt_rfc7914);
	tcase_add_test(tc, test_scrypt_refuses_bad_parameters);
	tcase_add_test(tc, test_aead_gcm_spec_vectors);
	tcase_add_test(tc, test_aead_round_trip_fresh_nonces);
	tcase_add_test(tc, test_aead_in_place_and_empty);
	tcase_add_test(tc, test_aead_tamper_every_byte);
	tcase_add_test(tc, test_gear_table_known_answer);
	tcase_add_test(tc, test_random_fills_and_differs);
	tcase_add_test(tc, test_equal);
	tcase_add_test(tc, test_hex_round_trip_and_refusals);
	tcase_add_test(tc, test_b64_rfc4648);
	tcase_add_test(tc, test_b64_refuses_non_canonical);
	suite_add_tcase(s, tc);
	return (s);
}
