/*
 * Master keys and key files: subkey labels, files written by an
 * independent implementation of doc/FORMAT.md, round trips, wrong
 * secrets, weak or tampered parameters, every field missing or mistyped,
 * and random mutations that must never open.
 *
 * Most tests use key_scrypt_test_weak (COFFER_TEST_WEAK_KDF=1 is set by
 * the fixture); the few with real parameters cost about 0.5 s per derive.
 */
#include <sys/stat.h>

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "crypto.h"
#include "repo/key.h"
#include "tutil.h"

/*
 * Key files written by tests/fixtures/key-files.py, which follows
 * doc/FORMAT.md alone (hashlib.scrypt, cryptography's HKDF and AESGCM), for
 * the master secret 00 01 .. 1f, salt 64 65 .. 83, nonce c8 c9 .. d3.  They
 * pin the format: every later coffer must open them.
 */
static const char fixture_weak[] =
    "{\n"
    "  \"type\": \"coffer-key\",\n"
    "  \"version\": 1,\n"
    "  \"kind\": \"passphrase\",\n"
    "  \"kdf\": {\n"
    "    \"name\": \"scrypt\",\n"
    "    \"n\": 1024,\n"
    "    \"r\": 8,\n"
    "    \"p\": 1,\n"
    "    \"salt\": \"ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=\"\n"
    "  },\n"
    "  \"created\": 1732700000,\n"
    "  \"host\": \"db1.example\",\n"
    "  \"user\": \"root\",\n"
    "  \"sealed\": \"yMnKy8zNzs/Q0dLTFfgwEOnnlO/Wn0sSoCaJZcIkEm6OiJzzQss4af9"
    "tvBC1zqfoZQZjwq0rhFEFNjWH\"\n"
    "}\n";
#define FIXTURE_WEAK_PASS "correct horse"

static const char fixture_real[] =
    "{\n"
    "  \"type\": \"coffer-key\",\n"
    "  \"version\": 1,\n"
    "  \"kind\": \"passphrase\",\n"
    "  \"kdf\": {\n"
    "    \"name\": \"scrypt\",\n"
    "    \"n\": 131072,\n"
    "    \"r\": 8,\n"
    "    \"p\": 1,\n"
    "    \"salt\": \"ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=\"\n"
    "  },\n"
    "  \"created\": 1732700000,\n"
    "  \"host\": \"z\xc3\xbcrich-db\",\n"
    "  \"user\": \"root\",\n"
    "  \"sealed\": \"yMnKy8zNzs/Q0dLTIdTPpFwBR/iL5NSRT05MGsXyx+VKANCUBBqQ2S7"
    "Le8pkSVoRTqu0sRYnvVArMXv7\"\n"
    "}\n";
#define FIXTURE_REAL_PASS "p\xc3\xa4ssw\xc3\xb6rd"

static const char fixture_machine[] =
    "{\n"
    "  \"type\": \"coffer-key\",\n"
    "  \"version\": 1,\n"
    "  \"kind\": \"machine\",\n"
    "  \"kdf\": {\n"
    "    \"name\": \"hkdf-sha256\",\n"
    "    \"salt\": \"ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=\"\n"
    "  },\n"
    "  \"created\": 0,\n"
    "  \"host\": \"cron-host\",\n"
    "  \"user\": \"backup\",\n"
    "  \"sealed\": \"yMnKy8zNzs/Q0dLTul8ep0kIpJrfUcYGAaULWn1PsPQXD/qqm5Ft31h"
    "LgxmFRI9YLkTJfpb6a07tUQhB\"\n"
    "}\n";
#define FIXTURE_MACHINE_KEY                                                    \
	"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"

static const uint8_t fixture_secret[KEY_SECRET_LEN] = { 0, 1, 2, 3, 4, 5, 6, 7,
	8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
	26, 27, 28, 29, 30, 31 };

static const struct key_file_meta test_meta = { 1732700000, "db1.example",
	"root" };

static void
weak_on(void)
{
	setenv(KEY_TEST_WEAK_ENV, "1", 1);
}

static void
weak_off(void)
{
	unsetenv(KEY_TEST_WEAK_ENV);
}

static struct key_master *
fixture_master(void)
{
	struct key_master *m;
	struct err e;

	m = key_master_from_secret(fixture_secret, &e);
	ck_assert_ptr_nonnull(m);
	return (m);
}

/* Open doc with secret; expect success and the fixture's secret. */
static void
assert_opens(const char *doc, size_t len, const char *secret)
{
	struct key_master *m = NULL;
	struct err e;

	err_clear(&e);
	ck_assert_msg(key_file_open(doc, len, secret, strlen(secret), &m, &e) ==
	        0,
	    "open failed: %s", e.msg);
	ck_assert_mem_eq(key_master_secret(m), fixture_secret, KEY_SECRET_LEN);
	key_master_free(m);
}

/* Open doc with secret; expect failure of class c, message with want. */
static void
assert_refused(const char *doc, const char *secret, enum err_class c,
    const char *want)
{
	struct key_master *m = (struct key_master *)&m;
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(key_file_open(doc, strlen(doc), secret, strlen(secret),
	                     &m, &e),
	    -1);
	ck_assert_ptr_null(m);
	ck_assert_msg(e.class == c, "class %s, want %s: %s",
	    err_class_name(e.class), err_class_name(c), e.msg);
	if (want != NULL)
		ck_assert_msg(strstr(e.msg, want) != NULL,
		    "message \"%s\" lacks \"%s\"", e.msg, want);
	ck_assert(strchr(e.msg, '\n') == NULL);
}

/*
 * doc with the field at path ("kdf.salt", "host") set to value, or
 * removed when value is NULL (value is consumed).  Free the result.
 */
static char *
edit(const char *doc, const char *path, json_t *value)
{
	json_t *root, *obj;
	json_error_t jerr;
	const char *dot = strchr(path, '.');
	char *out;

	root = json_loads(doc, 0, &jerr);
	ck_assert_ptr_nonnull(root);
	obj = root;
	if (dot != NULL) {
		char head[32];

		ck_assert_uint_lt((size_t)(dot - path), sizeof(head));
		memcpy(head, path, (size_t)(dot - path));
		head[dot - path] = '\0';
		obj = json_object_get(root, head);
		ck_assert_ptr_nonnull(obj);
		path = dot + 1;
	}
	if (value == NULL)
		ck_assert_int_eq(json_object_del(obj, path), 0);
	else
		ck_assert_int_eq(json_object_set_new(obj, path, value), 0);
	out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	ck_assert_ptr_nonnull(out);
	json_decref(root);
	return (out);
}

static void
assert_edit_refused(const char *doc, const char *secret, const char *path,
    json_t *value, enum err_class c, const char *want)
{
	char *bad = edit(doc, path, value);

	assert_refused(bad, secret, c, want);
	free(bad);
}

START_TEST(test_subkeys_known_answers)
{
	struct key_master *m = fixture_master();
	uint8_t extra[16], again[16];
	char hex[65];
	struct err e;

	/* HKDF-SHA256(secret, no salt, label): doc/FORMAT.md's vectors,
	 * computed independently with Python's cryptography. */
	crypto_hex_encode(key_master_blob_key(m), KEY_SECRET_LEN, hex);
	ck_assert_str_eq(hex,
	    "acc95047216563e204d670930f9571afb3b6106277ce04ca8adb838a7ace686f");
	crypto_hex_encode(key_master_file_key(m), KEY_SECRET_LEN, hex);
	ck_assert_str_eq(hex,
	    "b92d3da1115401544961b0eec6cb8300cde505d47791945a3056ad365594344f");
	crypto_hex_encode(key_master_id_key(m), KEY_SECRET_LEN, hex);
	ck_assert_str_eq(hex,
	    "86c0eabd27c2cd3996c392f22557ac17bdc43709f35ec315d89d622a8b81fa18");
	crypto_hex_encode(key_master_gear_key(m), KEY_SECRET_LEN, hex);
	ck_assert_str_eq(hex,
	    "4b2465e970aba9aa1d90a086b269120d88989fce43bef7b627b03ff8dc16b627");
	ck_assert_int_eq(key_master_derive(m, "coffer v1 test", extra,
	                     sizeof(extra), &e),
	    0);
	ck_assert_int_eq(key_master_derive(m, "coffer v1 test", again,
	                     sizeof(again), &e),
	    0);
	ck_assert_mem_eq(extra, again, sizeof(extra));
	ck_assert(memcmp(extra, key_master_blob_key(m), sizeof(extra)) != 0);
	key_master_free(m);
	key_master_free(NULL);
}
END_TEST

START_TEST(test_master_new_is_random)
{
	struct key_master *a, *b;
	struct err e;

	a = key_master_new(&e);
	b = key_master_new(&e);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert(memcmp(key_master_secret(a), key_master_secret(b),
	              KEY_SECRET_LEN) != 0);
	ck_assert(memcmp(key_master_blob_key(a), key_master_secret(a),
	              KEY_SECRET_LEN) != 0);
	ck_assert(memcmp(key_master_blob_key(a), key_master_file_key(a),
	              KEY_SECRET_LEN) != 0);
	key_master_free(a);
	key_master_free(b);
}
END_TEST

START_TEST(test_fixtures_open)
{
	struct key_file_info info;
	struct err e;

	assert_opens(fixture_weak, strlen(fixture_weak), FIXTURE_WEAK_PASS);
	assert_opens(fixture_machine, strlen(fixture_machine),
	    FIXTURE_MACHINE_KEY);
	/* Hex digits in either case name the same machine key. */
	assert_opens(fixture_machine, strlen(fixture_machine),
	    "00112233445566778899AABBCCDDEEFF"
	    "00112233445566778899aabbccddeeff");
	ck_assert_int_eq(key_file_info(fixture_machine, strlen(fixture_machine),
	                     &info, &e),
	    0);
	ck_assert_int_eq(info.kind, KEY_KIND_MACHINE);
	ck_assert_uint_eq(info.scrypt.n, 0);
	ck_assert_int_eq(info.created, 0);
	/* Listing applies every rule that needs no secret. */
	ck_assert_int_eq(key_file_info("{}", 2, &info, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	weak_off();
	ck_assert_int_eq(key_file_info(fixture_weak, strlen(fixture_weak),
	                     &info, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "weaker than the minimum"));
	weak_on();
	ck_assert_int_eq(key_file_info(fixture_machine, strlen(fixture_machine),
	                     &info, &e),
	    0);
	ck_assert_int_eq(info.created, 0);
	ck_assert_str_eq(info.host, "cron-host");
	ck_assert_str_eq(info.user, "backup");
}
END_TEST

START_TEST(test_round_trip_passphrase)
{
	struct key_master *m = fixture_master(), *back = NULL;
	struct key_file_info info;
	char *j1 = NULL, *j2 = NULL;
	size_t l1, l2;
	struct err e;

	ck_assert_int_eq(key_file_create(m, "s3cret", 6, KEY_KIND_PASSPHRASE,
	                     &key_scrypt_test_weak, &test_meta, &j1, &l1, &e),
	    0);
	ck_assert_uint_eq(strlen(j1), l1);
	ck_assert_int_eq(j1[l1 - 1], '\n');
	ck_assert_int_eq(key_file_create(m, "s3cret", 6, KEY_KIND_PASSPHRASE,
	                     &key_scrypt_test_weak, &test_meta, &j2, &l2, &e),
	    0);
	/* Fresh salt and nonce: two files for one passphrase differ. */
	ck_assert(l1 != l2 || memcmp(j1, j2, l1) != 0);
	ck_assert_int_eq(key_file_open(j1, l1, "s3cret", 6, &back, &e), 0);
	ck_assert_mem_eq(key_master_secret(back), fixture_secret,
	    KEY_SECRET_LEN);
	ck_assert_mem_eq(key_master_gear_key(back), key_master_gear_key(m),
	    KEY_SECRET_LEN);
	key_master_free(back);
	assert_opens(j2, l2, "s3cret");
	ck_assert_int_eq(key_file_info(j1, l1, &info, &e), 0);
	ck_assert_int_eq(info.kind, KEY_KIND_PASSPHRASE);
	ck_assert_uint_eq(info.scrypt.n, 1024);
	ck_assert_uint_eq(info.scrypt.r, 8);
	ck_assert_uint_eq(info.scrypt.p, 1);
	ck_assert_int_eq(info.created, 1732700000);
	ck_assert_str_eq(info.host, "db1.example");
	ck_assert_str_eq(info.user, "root");
	/* The master secret never appears in the file. */
	{
		char hex[65];

		crypto_hex_encode(fixture_secret, KEY_SECRET_LEN, hex);
		ck_assert_ptr_null(strstr(j1, hex));
	}
	free(j1);
	free(j2);
	key_master_free(m);
}
END_TEST

START_TEST(test_round_trip_machine)
{
	struct key_master *m = fixture_master();
	const struct key_file_meta meta = { 5, NULL, NULL };
	char *j = NULL, key[65];
	uint8_t raw[32];
	size_t l;
	struct err e;

	ck_assert_int_eq(crypto_random(raw, sizeof(raw), &e), 0);
	crypto_hex_encode(raw, sizeof(raw), key);
	ck_assert_int_eq(key_file_create(m, key, 64, KEY_KIND_MACHINE, NULL,
	                     &meta, &j, &l, &e),
	    0);
	ck_assert_ptr_nonnull(strstr(j, "\"hkdf-sha256\""));
	ck_assert_ptr_nonnull(strstr(j, "\"host\": \"\""));
	assert_opens(j, l, key);
	key[0] = key[0] == '0' ? '1' : '0';
	assert_refused(j, key, ERR_KEY, "wrong machine key");
	assert_refused(j, "abc", ERR_KEY, "64 hex digits");
	/* 64 characters, not all hex. */
	key[5] = 'g';
	assert_refused(j, key, ERR_KEY, "64 hex digits");
	free(j);
	key_master_free(m);
}
END_TEST

START_TEST(test_wrong_secrets)
{
	assert_refused(fixture_weak, "correct horsf", ERR_KEY,
	    "wrong passphrase for this key file");
	assert_refused(fixture_weak, "", ERR_KEY, "empty passphrase");
	/* The machine key is just a wrong passphrase for this file. */
	assert_refused(fixture_weak, FIXTURE_MACHINE_KEY, ERR_KEY,
	    "wrong passphrase");
	/* And a passphrase is not a machine key. */
	assert_refused(fixture_machine, FIXTURE_WEAK_PASS, ERR_KEY,
	    "64 hex digits");
}
END_TEST

START_TEST(test_create_refusals)
{
	struct key_master *m = fixture_master();
	struct key_scrypt s;
	struct key_file_meta meta = test_meta;
	char *j = (char *)&j, longname[300];
	size_t l = 9;
	struct err e;

	ck_assert_int_eq(key_file_create(m, "", 0, KEY_KIND_PASSPHRASE,
	                     &key_scrypt_test_weak, &meta, &j, &l, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_null(j);
	ck_assert_uint_eq(l, 0);
	ck_assert_int_eq(key_file_create(m, "x", 1, KEY_KIND_MACHINE, NULL,
	                     &meta, &j, &l, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(key_file_create(m, FIXTURE_MACHINE_KEY, 64,
	                     KEY_KIND_MACHINE, &key_scrypt_default, &meta, &j,
	                     &l, &e),
	    -1);
	ck_assert_int_eq(key_file_create(m, "x", 1, (enum key_kind)7, NULL,
	                     &meta, &j, &l, &e),
	    -1);
	/* Weaker than the minimum, or more than the maximum. */
	s = key_scrypt_default;
	s.n >>= 1;
	ck_assert_int_eq(key_file_create(m, "x", 1, KEY_KIND_PASSPHRASE, &s,
	                     &meta, &j, &l, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "weaker than the minimum"));
	s = key_scrypt_default;
	s.p = 17;
	ck_assert_int_eq(key_file_create(m, "x", 1, KEY_KIND_PASSPHRASE, &s,
	                     &meta, &j, &l, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "exceeds the maximum"));
	s = key_scrypt_default;
	s.n = (uint64_t)1 << 21;
	s.r = 8;
	ck_assert_int_eq(key_file_create(m, "x", 1, KEY_KIND_PASSPHRASE, &s,
	                     &meta, &j, &l, &e),
	    -1);
	/* The test parameters, without the variable. */
	weak_off();
	ck_assert_int_eq(key_file_create(m, "x", 1, KEY_KIND_PASSPHRASE,
	                     &key_scrypt_test_weak, &meta, &j, &l, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "weaker than the minimum"));
	weak_on();
	/* Metadata. */
	meta.created = -1;
	ck_assert_int_eq(key_file_create(m, "x", 1, KEY_KIND_PASSPHRASE,
	                     &key_scrypt_test_weak, &meta, &j, &l, &e),
	    -1);
	meta = test_meta;
	meta.host = "evil\033[2J";
	ck_assert_int_eq(key_file_create(m, "x", 1, KEY_KIND_PASSPHRASE,
	                     &key_scrypt_test_weak, &meta, &j, &l, &e),
	    -1);
	meta.host = "\xc2\x9b"
	            "31m"; /* C1 control, CSI */
	ck_assert_int_eq(key_file_create(m, "x", 1, KEY_KIND_PASSPHRASE,
	                     &key_scrypt_test_weak, &meta, &j, &l, &e),
	    -1);
	meta.host = "\xff\xfe";
	ck_assert_int_eq(key_file_create(m, "x", 1, KEY_KIND_PASSPHRASE,
	                     &key_scrypt_test_weak, &meta, &j, &l, &e),
	    -1);
	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	meta.host = longname;
	ck_assert_int_eq(key_file_create(m, "x", 1, KEY_KIND_PASSPHRASE,
	                     &key_scrypt_test_weak, &meta, &j, &l, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	longname[KEY_META_MAX] = '\0';
	ck_assert_int_eq(key_file_create(m, "x", 1, KEY_KIND_PASSPHRASE,
	                     &key_scrypt_test_weak, &meta, &j, &l, &e),
	    0);
	assert_opens(j, l, "x");
	free(j);
	key_master_free(m);
}
END_TEST

START_TEST(test_weak_parameters_refused_on_open)
{
	/* Without the variable, the test parameters are weak like any. */
	weak_off();
	assert_refused(fixture_weak, FIXTURE_WEAK_PASS, ERR_CORRUPT,
	    "weaker than the minimum");
	weak_on();
	setenv(KEY_TEST_WEAK_ENV, "yes", 1);
	assert_refused(fixture_weak, FIXTURE_WEAK_PASS, ERR_CORRUPT,
	    "weaker than the minimum");
	weak_on();
	/* With it, only exactly those are let through. */
	assert_edit_refused(fixture_weak, FIXTURE_WEAK_PASS, "kdf.n",
	    json_integer(65536), ERR_CORRUPT, "weaker than the minimum");
	assert_edit_refused(fixture_real, FIXTURE_REAL_PASS, "kdf.r",
	    json_integer(7), ERR_CORRUPT, "weaker than the minimum");
	assert_edit_refused(fixture_real, FIXTURE_REAL_PASS, "kdf.p",
	    json_integer(0), ERR_CORRUPT, "r and p positive");
	assert_edit_refused(fixture_real, FIXTURE_REAL_PASS, "kdf.n",
	    json_integer(131071), ERR_CORRUPT, "power of two");
	assert_edit_refused(fixture_real, FIXTURE_REAL_PASS, "kdf.n",
	    json_integer(0), ERR_CORRUPT, "power of two");
	/* Too costly: refused before any memory is taken. */
	assert_edit_refused(fixture_real, FIXTURE_REAL_PASS, "kdf.n",
	    json_integer((json_int_t)1 << 40), ERR_CORRUPT,
	    "exceeds the maximum");
	assert_edit_refused(fixture_real, FIXTURE_REAL_PASS, "kdf.p",
	    json_integer(1000), ERR_CORRUPT, "exceeds the maximum");
	assert_edit_refused(fixture_real, FIXTURE_REAL_PASS, "kdf.r",
	    json_integer(4096), ERR_CORRUPT, "exceeds the maximum");
	assert_edit_refused(fixture_real, FIXTURE_REAL_PASS, "kdf.r",
	    json_integer((json_int_t)1 << 32), ERR_CORRUPT, "out of range");
	assert_edit_refused(fixture_real, FIXTURE_REAL_PASS, "kdf.n",
	    json_integer(-131072), ERR_CORRUPT, "out of range");
}
END_TEST

START_TEST(test_tampered_fields_refused)
{
	const char *d = fixture_weak, *pw = FIXTURE_WEAK_PASS;

	/* Authenticated fields: the file no longer opens. */
	assert_edit_refused(d, pw, "kdf.salt",
	    json_string("ZWVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM="),
	    ERR_KEY, "wrong passphrase");
	assert_edit_refused(d, pw, "sealed",
	    json_string(
	        "yMnKy8zNzs/Q0dLTFfgwEOnnlO/Wn0sSoCaJZcIkEm6OiJzzQss4af9"
	        "tvBC1zqfoZQZjwq0rhFEFNjWI"),
	    ERR_KEY, "wrong passphrase");
	assert_edit_refused(d, pw, "sealed",
	    json_string(
	        "yMnKy8zNzs/Q0dLSFfgwEOnnlO/Wn0sSoCaJZcIkEm6OiJzzQss4af9"
	        "tvBC1zqfoZQZjwq0rhFEFNjWH"),
	    ERR_KEY, "wrong passphrase");
	assert_edit_refused(d, pw, "created", json_integer(1732700001), ERR_KEY,
	    "wrong passphrase");
	assert_edit_refused(d, pw, "host", json_string("db2.example"), ERR_KEY,
	    "wrong passphrase");
	assert_edit_refused(d, pw, "user", json_string("rooT"), ERR_KEY,
	    "wrong passphrase");
	/* Kind and KDF must agree, whichever is changed. */
	assert_edit_refused(d, pw, "kind", json_string("machine"), ERR_CORRUPT,
	    "a machine key must use kdf \"hkdf-sha256\"");
	assert_edit_refused(d, pw, "kdf.name", json_string("hkdf-sha256"),
	    ERR_CORRUPT, "a passphrase key must use kdf \"scrypt\"");
	assert_edit_refused(fixture_machine, FIXTURE_MACHINE_KEY, "kind",
	    json_string("passphrase"), ERR_CORRUPT, "must use kdf \"scrypt\"");
	assert_edit_refused(fixture_machine, FIXTURE_MACHINE_KEY, "kdf.name",
	    json_string("scrypt"), ERR_CORRUPT, "must use kdf \"hkdf-sha256\"");
	assert_edit_refused(fixture_machine, FIXTURE_MACHINE_KEY, "kdf.n",
	    json_integer(131072), ERR_CORRUPT, "unexpected field \"kdf.n\"");
	assert_edit_refused(d, pw, "kind", json_string("paper"), ERR_CORRUPT,
	    "unknown kind \"paper\"");
}
END_TEST

START_TEST(test_bad_base64_and_lengths)
{
	const char *d = fixture_weak, *pw = FIXTURE_WEAK_PASS;

	assert_edit_refused(d, pw, "kdf.salt",
	    json_string("ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgg=="),
	    ERR_CORRUPT, "\"kdf.salt\" holds 31 bytes, not 32");
	assert_edit_refused(d, pw, "kdf.salt",
	    json_string("ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOE"),
	    ERR_CORRUPT, "kdf.salt");
	assert_edit_refused(d, pw, "kdf.salt",
	    json_string("ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoN="),
	    ERR_CORRUPT, "non-zero bits");
	assert_edit_refused(d, pw, "kdf.salt",
	    json_string("ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1-f4CBgoM="),
	    ERR_CORRUPT, "bad character");
	assert_edit_refused(d, pw, "kdf.salt", json_string(""), ERR_CORRUPT,
	    "holds 0 bytes");
	assert_edit_refused(d, pw, "sealed", json_string("yMnKy8zN"),
	    ERR_CORRUPT, "\"sealed\" holds 6 bytes, not 60");
	assert_edit_refused(d, pw, "sealed",
	    json_string(
	        "yMnKy8zNzs/Q0dLTFfgwEOnnlO/Wn0sSoCaJZcIkEm6OiJzzQss4af9"
	        "tvBC1zqfoZQZjwq0rhFEFNjWH\n"),
	    ERR_CORRUPT, "sealed");
}
END_TEST

START_TEST(test_every_field_missing)
{
	static const char *const top[] = { "type", "version", "kind", "kdf",
		"created", "host", "user", "sealed" };
	static const char *const kdf[] = { "name", "n", "r", "p", "salt" };
	char path[32], want[48];
	size_t i;

	for (i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		snprintf(want, sizeof(want), "\"%s\" is missing", top[i]);
		assert_edit_refused(fixture_weak, FIXTURE_WEAK_PASS, top[i],
		    NULL, ERR_CORRUPT, want);
		assert_edit_refused(fixture_machine, FIXTURE_MACHINE_KEY,
		    top[i], NULL, ERR_CORRUPT, want);
	}
	for (i = 0; i < sizeof(kdf) / sizeof(kdf[0]); i++) {
		snprintf(path, sizeof(path), "kdf.%s", kdf[i]);
		snprintf(want, sizeof(want), "\"%s\" is missing", path);
		assert_edit_refused(fixture_weak, FIXTURE_WEAK_PASS, path, NULL,
		    ERR_CORRUPT, want);
		if (i == 0 || i == 4)
			assert_edit_refused(fixture_machine,
			    FIXTURE_MACHINE_KEY, path, NULL, ERR_CORRUPT, want);
	}
}
END_TEST

START_TEST(test_every_field_mistyped)
{
	static const char *const fields[] = { "type", "version", "kind", "kdf",
		"created", "host", "user", "sealed", "kdf.name", "kdf.n",
		"kdf.r", "kdf.p", "kdf.salt" };
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		/* Strings become numbers, numbers strings, objects arrays. */
		assert_edit_refused(fixture_weak, FIXTURE_WEAK_PASS, fields[i],
		    json_array(), ERR_CORRUPT, NULL);
		assert_edit_refused(fixture_weak, FIXTURE_WEAK_PASS, fields[i],
		    json_real(1.0), ERR_CORRUPT, NULL);
		assert_edit_refused(fixture_weak, FIXTURE_WEAK_PASS, fields[i],
		    json_null(), ERR_CORRUPT, NULL);
	}
	assert_edit_refused(fixture_weak, FIXTURE_WEAK_PASS, "version",
	    json_string("1"), ERR_CORRUPT, "\"version\" must be an integer");
	assert_edit_refused(fixture_weak, FIXTURE_WEAK_PASS, "host",
	    json_integer(1), ERR_CORRUPT, "\"host\" must be a string");
	assert_edit_refused(fixture_weak, FIXTURE_WEAK_PASS, "kdf",
	    json_string("scrypt"), ERR_CORRUPT, "\"kdf\" must be an object");
	assert_edit_refused(fixture_weak, FIXTURE_WEAK_PASS, "created",
	    json_integer(-1), ERR_CORRUPT, "\"created\" is out of range");
}
END_TEST

START_TEST(test_malformed_documents)
{
	const char *pw = FIXTURE_WEAK_PASS;
	char *big, *trailing;
	size_t n = KEY_FILE_MAX + 1;
	struct key_master *m = NULL;
	struct err e;

	assert_refused("", pw, ERR_CORRUPT, "not valid JSON");
	assert_refused("not json", pw, ERR_CORRUPT, "not valid JSON");
	assert_refused("[]", pw, ERR_CORRUPT, "not a JSON object");
	assert_refused("{}", pw, ERR_CORRUPT, "\"type\" is missing");
	assert_refused("{\"type\": \"coffer-key\", \"type\": \"coffer-key\"}",
	    pw, ERR_CORRUPT, "not valid JSON");
	assert_refused("{\"type\": \"restic\"}", pw, ERR_CORRUPT,
	    "not a coffer key file");
	assert_refused("{\"type\": \"coffer-key\", \"version\": 2}", pw,
	    ERR_CORRUPT, "version 2 is not supported");
	assert_refused("{\"type\": \"coffer-key\", \"version\": 1, \"x\": 0}",
	    pw, ERR_CORRUPT, "unexpected field \"x\"");
	assert_refused("{\"type\": \"coffer-key\", \"version\": 1, "
	               "\"\\u001b[2J\": 0}",
	    pw, ERR_CORRUPT, "unexpected field \"?[2J\"");
	assert_refused("{\"type\": \"a\\u0000b\"}", pw, ERR_CORRUPT,
	    "not valid JSON");
	assert_edit_refused(fixture_weak, pw, "kdf.extra", json_true(),
	    ERR_CORRUPT, "unexpected field \"kdf.extra\"");
	assert_edit_refused(fixture_weak, pw, "host",
	    json_string("db1\x1b]0;pwned\x07"), ERR_CORRUPT, "control");
	/* Anything after the document. */
	trailing = malloc(strlen(fixture_weak) + 3);
	strcpy(trailing, fixture_weak);
	strcat(trailing, "{}");
	assert_refused(trailing, pw, ERR_CORRUPT, "not valid JSON");
	/* A NUL inside the given length. */
	ck_assert_int_eq(key_file_open(fixture_weak, strlen(fixture_weak) + 1,
	                     pw, strlen(pw), &m, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	free(trailing);
	/* Oversized, whatever it holds. */
	big = malloc(n);
	memset(big, ' ', n);
	memcpy(big, fixture_weak, strlen(fixture_weak));
	ck_assert_int_eq(key_file_open(big, n, pw, strlen(pw), &m, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "too large"));
	ck_assert_int_eq(key_file_open(big, n - 1, pw, strlen(pw), &m, &e), 0);
	key_master_free(m);
	free(big);
}
END_TEST

/*
 * Random edits of a valid file: flips, replaced, inserted and deleted
 * bytes, truncation.  None may crash or open, unless the edit left the
 * same JSON document (say, whitespace between tokens).
 */
START_TEST(test_mutations_never_open)
{
	size_t len = strlen(fixture_weak), n, pos, i;
	json_t *orig = json_loads(fixture_weak, 0, NULL), *mj;
	char *buf = malloc(len + 16);
	struct key_master *m;
	uint32_t seed = 20241127, r;
	int opened = 0, keyfail = 0;
	struct err e;

	ck_assert_ptr_nonnull(orig);
	for (i = 0; i < 4000; i++) {
		memcpy(buf, fixture_weak, len);
		n = len;
		seed = seed * 1103515245u + 12345u;
		r = seed >> 8;
		pos = r % len;
		switch (i % 5) {
		case 0: /* flip one bit */
			buf[pos] = (char)(buf[pos] ^ (1 << (r >> 20) % 8));
			break;
		case 1: /* replace with a random byte */
			buf[pos] = (char)(r >> 16);
			break;
		case 2: /* insert a byte */
			memmove(buf + pos + 1, buf + pos, len - pos);
			buf[pos] = "0aZ=+/\" ,:{}1\\"[(r >> 16) % 14];
			n = len + 1;
			break;
		case 3: /* delete a byte */
			memmove(buf + pos, buf + pos + 1, len - pos - 1);
			n = len - 1;
			break;
		default: /* truncate */
			n = pos;
			break;
		}
		m = NULL;
		err_clear(&e);
		if (key_file_open(buf, n, FIXTURE_WEAK_PASS,
		        strlen(FIXTURE_WEAK_PASS), &m, &e) == 0) {
			mj = json_loadb(buf, n, 0, NULL);
			ck_assert_msg(mj != NULL && json_equal(mj, orig),
			    "mutation %zu opened: %.*s", i, (int)n, buf);
			ck_assert_mem_eq(key_master_secret(m), fixture_secret,
			    KEY_SECRET_LEN);
			json_decref(mj);
			key_master_free(m);
			opened++;
			continue;
		}
		ck_assert_ptr_null(m);
		ck_assert_msg(e.class == ERR_CORRUPT || e.class == ERR_KEY,
		    "mutation %zu: class %s: %s", i, err_class_name(e.class),
		    e.msg);
		keyfail += e.class == ERR_KEY;
	}
	/* Most edits break the syntax; some must reach the cipher. */
	ck_assert_int_gt(keyfail, 20);
	ck_assert_int_lt(opened, 400);
	json_decref(orig);
	free(buf);
}
END_TEST

/* key_file_info on fixture_real with kdf n, r, p set as given. */
static int
info_with(uint64_t n, uint32_t r, uint32_t p, struct err *e)
{
	struct key_file_info info;
	char *a, *b, *c;
	int rc;

	a = edit(fixture_real, "kdf.n", json_integer((json_int_t)n));
	b = edit(a, "kdf.r", json_integer((json_int_t)r));
	c = edit(b, "kdf.p", json_integer((json_int_t)p));
	err_clear(e);
	rc = key_file_info(c, strlen(c), &info, e);
	free(a);
	free(b);
	free(c);
	return (rc);
}

/*
 * One key file may ask for at most 8 times the default work: p <= 4 and
 * N*r*p <= 2^23 (it was p <= 16 and N*r <= 2^23 alone, 128 times).
 * Checked without any KDF run.
 */
START_TEST(test_cost_limits)
{
	struct key_master *m = fixture_master();
	struct key_scrypt s = key_scrypt_default;
	char *j = NULL;
	size_t l;
	struct err e;

	ck_assert_uint_eq(key_scrypt_cost(&key_scrypt_default),
	    (uint64_t)1 << 20);
	ck_assert_uint_eq(key_scrypt_cost(&key_scrypt_test_weak),
	    (uint64_t)1 << 13);
	s.n = (uint64_t)1 << 62;
	s.p = 16;
	ck_assert_uint_eq(key_scrypt_cost(&s), UINT64_MAX);
	/* The most accepted. */
	ck_assert_int_eq(info_with((uint64_t)1 << 17, 8, 4, &e), 0);
	ck_assert_int_eq(info_with((uint64_t)1 << 20, 8, 1, &e), 0);
	ck_assert_int_eq(info_with((uint64_t)1 << 19, 8, 2, &e), 0);
	ck_assert_int_eq(info_with((uint64_t)1 << 18, 16, 2, &e), 0);
	/* Beyond: refused as malformed, with the limits in the message. */
	ck_assert_int_eq(info_with((uint64_t)1 << 17, 8, 16, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(e.msg, "exceeds the maximum"));
	ck_assert_ptr_nonnull(strstr(e.msg, "p at most 4"));
	ck_assert_int_eq(info_with((uint64_t)1 << 17, 8, 5, &e), -1);
	ck_assert_int_eq(info_with((uint64_t)1 << 20, 8, 2, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "N*r*p at most 2^23"));
	ck_assert_int_eq(info_with((uint64_t)1 << 19, 8, 4, &e), -1);
	ck_assert_int_eq(info_with((uint64_t)1 << 17, 64, 2, &e), -1);
	ck_assert_int_eq(info_with((uint64_t)1 << 21, 8, 1, &e), -1);
	/* And not written either. */
	s = key_scrypt_default;
	s.p = 16;
	ck_assert_int_eq(key_file_create(m, "x", 1, KEY_KIND_PASSPHRASE, &s,
	                     &test_meta, &j, &l, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_null(j);
	key_master_free(m);
}
END_TEST

START_TEST(test_kdf_budget)
{
	static const char *const bad[] = { "", "0", "x", "-5", "+5", " 5",
		"12x", "99999999999999999999999", NULL };
	uint64_t b = 0;
	struct err e;

	unsetenv(KEY_KDF_BUDGET_ENV);
	ck_assert_int_eq(key_kdf_budget(&b, &e), 0);
	ck_assert_uint_eq(b, KEY_KDF_BUDGET);
	/* Twice the dearest file, 16 of the default. */
	ck_assert_uint_eq(KEY_KDF_BUDGET, 2 * KEY_SCRYPT_MAX_COST);
	ck_assert_uint_eq(KEY_KDF_BUDGET,
	    16 * key_scrypt_cost(&key_scrypt_default));
	setenv(KEY_KDF_BUDGET_ENV, "12345", 1);
	ck_assert_int_eq(key_kdf_budget(&b, &e), 0);
	ck_assert_uint_eq(b, 12345);
	for (size_t i = 0; bad[i] != NULL; i++) {
		setenv(KEY_KDF_BUDGET_ENV, bad[i], 1);
		err_clear(&e);
		ck_assert_msg(key_kdf_budget(&b, &e) == -1, "'%s' accepted",
		    bad[i]);
		ck_assert_int_eq(e.class, ERR_USAGE);
		ck_assert_ptr_nonnull(strstr(e.msg, KEY_KDF_BUDGET_ENV));
	}
	unsetenv(KEY_KDF_BUDGET_ENV);
}
END_TEST

START_TEST(test_plan)
{
	const uint64_t d = (uint64_t)1 << 20, w = (uint64_t)1 << 13;
	struct key_cand c[] = {
		{ 0, KEY_KIND_PASSPHRASE, d, 0 },
		{ 1, KEY_KIND_MACHINE, 0, 0 },
		{ 2, KEY_KIND_PASSPHRASE, w, 1 },
		{ 3, KEY_KIND_PASSPHRASE, d, 0 },
		{ 4, KEY_KIND_MACHINE, 0, 0 },
		{ 5, KEY_KIND_PASSPHRASE, (uint64_t)1 << 23, 0 },
		{ 6, KEY_KIND_PASSPHRASE, w, 0 },
	};
	static const size_t order[] = { 1, 4, 2, 6, 0, 3, 5 };
	static const int skip[] = { 0, 0, 0, 0, 0, 1, 1 };
	size_t n = sizeof(c) / sizeof(c[0]);

	/* Room for the two cheap ones and one default, and a little. */
	ck_assert_uint_eq(key_plan(c, n, 2 * w + d + 100), 2);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(c[i].tag, order[i]);
		ck_assert_int_eq(c[i].skip, skip[i]);
	}
	/* Machine keys cost nothing: a zero budget still tries them. */
	ck_assert_uint_eq(key_plan(c, n, 0), 5);
	ck_assert_int_eq(c[0].skip, 0);
	ck_assert_int_eq(c[1].skip, 0);
	ck_assert_int_eq(c[2].skip, 1);
	/* Enough for all. */
	ck_assert_uint_eq(key_plan(c, n, UINT64_MAX), 0);
	ck_assert_uint_eq(key_plan(NULL, 0, 0), 0);
}
END_TEST

#define TAG_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_1  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_2  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

START_TEST(test_hint)
{
	char *dir = tutil_mkdtemp(), *file, *hints, *got;
	char id[KEY_ID_HEXLEN + 1];
	struct stat st;

	setenv("XDG_CACHE_HOME", dir, 1);
	hints = tutil_path(dir, "coffer/key-hints");
	file = tutil_path(hints, TAG_A);
	ck_assert_int_eq(key_hint_get(TAG_A, id), -1);
	ck_assert_str_eq(id, "");
	/* Made with the directories, private; read back. */
	key_hint_put(TAG_A, ID_1);
	ck_assert_int_eq(stat(hints, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	got = tutil_read_file(file, NULL);
	ck_assert_str_eq(got, ID_1 "\n");
	free(got);
	ck_assert_int_eq(key_hint_get(TAG_A, id), 0);
	ck_assert_str_eq(id, ID_1);
	key_hint_put(TAG_A, ID_2);
	ck_assert_int_eq(key_hint_get(TAG_A, id), 0);
	ck_assert_str_eq(id, ID_2);
	/* Only a well-formed id is a hint. */
	tutil_write_file(file, ID_1, 64, 0600);
	ck_assert_int_eq(key_hint_get(TAG_A, id), -1);
	tutil_write_file(file, ID_1 "\nx", 66, 0600);
	ck_assert_int_eq(key_hint_get(TAG_A, id), -1);
	tutil_write_file(file, "ZZ" ID_1 "\n", 65, 0600);
	ck_assert_int_eq(key_hint_get(TAG_A, id), -1);
	tutil_write_file(file, "../../../etc/passwd\n", 20, 0600);
	ck_assert_int_eq(key_hint_get(TAG_A, id), -1);
	/* A symlink is not followed. */
	ck_assert_int_eq(unlink(file), 0);
	key_hint_put(TAG_A, ID_1);
	got = tutil_path(dir, "elsewhere");
	ck_assert_int_eq(rename(file, got), 0);
	ck_assert_int_eq(symlink(got, file), 0);
	ck_assert_int_eq(key_hint_get(TAG_A, id), -1);
	free(got);
	/* Bad tags and ids are neither read nor written. */
	key_hint_put("../x", ID_1);
	key_hint_put(TAG_A "a", ID_1);
	key_hint_put(ID_2, "../x");
	ck_assert_int_eq(key_hint_get("../x", id), -1);
	ck_assert_int_eq(tutil_count_entries(hints, ""), 1);
	/* A cache that cannot be written costs nothing but the hint. */
	got = tutil_path(dir, "a-file");
	tutil_write_file(got, "x", 1, 0600);
	setenv("XDG_CACHE_HOME", got, 1);
	key_hint_put(TAG_A, ID_1);
	ck_assert_int_eq(key_hint_get(TAG_A, id), -1);
	free(got);
	unsetenv("XDG_CACHE_HOME");
	tutil_rmtree(dir);
	free(file);
	free(hints);
	free(dir);
}
END_TEST

/* The real cost: about half a second per derive. */
START_TEST(test_real_parameters)
{
	struct key_master *m = fixture_master();
	struct key_file_info info;
	char *j = NULL, *stronger;
	size_t l;
	struct err e;

	weak_off();
	/* The independent writer's file at N = 2^17, UTF-8 everywhere. */
	assert_opens(fixture_real, strlen(fixture_real), FIXTURE_REAL_PASS);
	/* The default is N = 2^17, r = 8, p = 1. */
	ck_assert_int_eq(key_file_create(m, "pw", 2, KEY_KIND_PASSPHRASE, NULL,
	                     &test_meta, &j, &l, &e),
	    0);
	ck_assert_int_eq(key_file_info(j, l, &info, &e), 0);
	ck_assert_uint_eq(info.scrypt.n, (uint64_t)1 << 17);
	ck_assert_uint_eq(info.scrypt.r, 8);
	ck_assert_uint_eq(info.scrypt.p, 1);
	assert_opens(j, l, "pw");
	/* Parameters are authenticated: even a stronger p fails. */
	stronger = edit(j, "kdf.p", json_integer(2));
	assert_refused(stronger, "pw", ERR_KEY, "wrong passphrase");
	free(stronger);
	free(j);
	key_master_free(m);
}
END_TEST

Suite *key_suite(void);

Suite *
key_suite(void)
{
	Suite *s = suite_create("key");
	TCase *tc = tcase_create("core");
	TCase *slow = tcase_create("real-kdf");

	tcase_add_checked_fixture(tc, weak_on, weak_off);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_subkeys_known_answers);
	tcase_add_test(tc, test_master_new_is_random);
	tcase_add_test(tc, test_fixtures_open);
	tcase_add_test(tc, test_round_trip_passphrase);
	tcase_add_test(tc, test_round_trip_machine);
	tcase_add_test(tc, test_wrong_secrets);
	tcase_add_test(tc, test_create_refusals);
	tcase_add_test(tc, test_weak_parameters_refused_on_open);
	tcase_add_test(tc, test_tampered_fields_refused);
	tcase_add_test(tc, test_bad_base64_and_lengths);
	tcase_add_test(tc, test_every_field_missing);
	tcase_add_test(tc, test_every_field_mistyped);
	tcase_add_test(tc, test_malformed_documents);
	tcase_add_test(tc, test_mutations_never_open);
	tcase_add_test(tc, test_cost_limits);
	tcase_add_test(tc, test_kdf_budget);
	tcase_add_test(tc, test_plan);
	tcase_add_test(tc, test_hint);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(slow, weak_off, weak_off);
	tcase_set_timeout(slow, 60);
	tcase_add_test(slow, test_real_parameters);
	suite_add_tcase(s, slow);
	return (s);
}
