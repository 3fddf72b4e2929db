/*
 * SigV4 for the s3:// backend on fixed inputs.  The expected values were
 * computed independently with Python's hmac and hashlib, following the
 * S3 API reference's "Signature Calculations for the Authorization
 * Header" (a throwaway script, not in the tree); the first case is the
 * reference's own "GET Object" example, whose published signature
 * f0e8bdb8... the script reproduced too.  test_chunked is the reference's
 * "Transferring Payload in Multiple Chunks" example with its published
 * seed and chunk signatures.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "store/s3_sign.h"

#define EMPTY S3_SIGN_EMPTY_SHA256

START_TEST(test_aws_example)
{
	static const struct s3_sign_hdr h[] = {
		{ "x-amz-date", "20130524T000000Z" },
		{ "range", "bytes=0-9" },
		{ "x-amz-content-sha256", EMPTY },
		{ "host", "examplebucket.s3.amazonaws.com" },
	};
	struct s3_sign_req r = { "GET", "/test.txt", "", h, 4, EMPTY,
		"20130524T000000Z", "us-east-1" };
	static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	char *c = s3_sign_canonical(&r), *s = s3_sign_string_to_sign(&r),
	     *a = s3_sign_authorization(&r, "AKIAIOSFODNN7EXAMPLE", secret,
	         strlen(secret));

	ck_assert_str_eq(c,
	    "GET\n/test.txt\n\n"
	    "host:examplebucket.s3.amazonaws.com\n"
	    "range:bytes=0-9\n"
	    "x-amz-content-sha256:" EMPTY "\n"
	    "x-amz-date:20130524T000000Z\n\n"
	    "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY);
	ck_assert_str_eq(s,
	    "AWS4-HMAC-SHA256\n20130524T000000Z\n"
	    "20130524/us-east-1/s3/aws4_request\n"
	    "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
	ck_assert_str_eq(a,
	    "AWS4-HMAC-SHA256 "
	    "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
	    "aws4_request, "
	    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
	    "Signature="
	    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	free(c);
	free(s);
	free(a);
}
END_TEST

/*
 * The same object addressed both ways, Host and canonical URI from
 * s3_sign_host and s3_sign_path: virtual host is the reference's example
 * (signature f0e8bdb8...), path style signs "/examplebucket/test.txt" for
 * Host s3.amazonaws.com (its signature from the same Python script).
 */
static char *
sign_get(const char *host, const char *path)
{
	const struct s3_sign_hdr h[] = {
		{ "x-amz-date", "20130524T000000Z" },
		{ "range", "bytes=0-9" },
		{ "x-amz-content-sha256", EMPTY },
		{ "host", host },
	};
	struct s3_sign_req r = { "GET", path, "", h, 4, EMPTY,
		"20130524T000000Z", "us-east-1" };
	static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

	return (s3_sign_authorization(&r, "AKIAIOSFODNN7EXAMPLE", secret,
	    strlen(secret)));
}

START_TEST(test_addressing)
{
	static const char *sig[2] = {
		"819484c483cfb97d16522b1ac156f87e61677cc8f1f2545c799650ef178f4a"
		"a8",
		"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb"
		"41",
	};
	static const char *hosts[2] = { "s3.amazonaws.com",
		"examplebucket.s3.amazonaws.com" };
	static const char *paths[2] = { "/examplebucket/test.txt",
		"/test.txt" };

	for (int vh = 0; vh < 2; vh++) {
		char *host =
		         s3_sign_host("s3.amazonaws.com", "examplebucket", vh),
		     *path = s3_sign_path("examplebucket", vh, "test.txt"), *a;

		ck_assert_str_eq(host, hosts[vh]);
		ck_assert_str_eq(path, paths[vh]);
		a = sign_get(host, path);
		ck_assert_ptr_nonnull(strstr(a, sig[vh]));
		free(a);
		free(host);
		free(path);
	}
	{
		char *p[4] = { s3_sign_path("b-1", 0, NULL),
			s3_sign_path("b-1", 1, NULL),
			s3_sign_path("b-1", 0, "site 1/data/ab"),
			s3_sign_path("b-1", 1, "site 1/data/ab") };
		char *h = s3_sign_host("s3.localhost:7480", "b-1", 1);

		ck_assert_str_eq(p[0], "/b-1/");
		ck_assert_str_eq(p[1], "/");
		ck_assert_str_eq(p[2], "/b-1/site%201/data/ab");
		ck_assert_str_eq(p[3], "/site%201/data/ab");
		ck_assert_str_eq(h, "b-1.s3.localhost:7480");
		for (int i = 0; i < 4; i++)
			free(p[i]);
		free(h);
	}
}
END_TEST

/* A listing page as s3.c asks for it: an encoded query, another region. */
START_TEST(test_list_query)
{
	static const struct s3_sign_hdr h[] = {
		{ "host", "127.0.0.1:7480" },
		{ "x-amz-content-sha256", EMPTY },
		{ "x-amz-date", "20261207T133500Z" },
	};
	char *tok = s3_sign_uri_encode("a/b+c=", 0),
	     *pfx = s3_sign_uri_encode("repo/data/", 0), *q, *s, *a;
	struct s3_sign_req r = { "GET", "/coffer-test/", NULL, h, 3, EMPTY,
		"20261207T133500Z", "eu-west-1" };

	ck_assert_str_eq(tok, "a%2Fb%2Bc%3D");
	q = malloc(256);
	strcpy(q, "continuation-token=");
	strcat(q, tok);
	strcat(q, "&list-type=2&max-keys=1000&prefix=");
	strcat(q, pfx);
	r.query = q;
	s = s3_sign_string_to_sign(&r);
	ck_assert_str_eq(s,
	    "AWS4-HMAC-SHA256\n20261207T133500Z\n"
	    "20261207/eu-west-1/s3/aws4_request\n"
	    "d75e42919267a982f0703ef9d130322490e455754f7be8a6bb6bc8f0fe53a9f2");
	a = s3_sign_authorization(&r, "TESTKEY", "TESTSECRET", 10);
	ck_assert_ptr_nonnull(strstr(a,
	    "Signature="
	    "082e22e8a3992127202eea48d59e438667bfb1093c67ace3349caab45b6b067"
	    "6"));
	free(tok);
	free(pfx);
	free(q);
	free(s);
	free(a);
}
END_TEST

/* A conditional, streamed put: If-None-Match signed, payload unsigned. */
START_TEST(test_put_unsigned)
{
	static const struct s3_sign_hdr h[] = {
		{ "x-amz-content-sha256", S3_SIGN_UNSIGNED },
		{ "if-none-match", "*" },
		{ "host", "127.0.0.1:7480" },
		{ "x-amz-date", "20261207T133500Z" },
	};
	struct s3_sign_req r = { "PUT", "/coffer-test/repo/keys/abc", "", h, 4,
		S3_SIGN_UNSIGNED, "20261207T133500Z", "us-east-1" };
	char *a = s3_sign_authorization(&r, "TESTKEY", "TESTSECRET", 10);

	ck_assert_str_eq(a,
	    "AWS4-HMAC-SHA256 "
	    "Credential=TESTKEY/20261207/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;if-none-match;x-amz-content-sha256;"
	    "x-amz-date, "
	    "Signature="
	    "3d29fab00c645a2b463259ec30861ec20e13d8a4e93e01c7782a4eb9ebd5535f");
	free(a);
}
END_TEST

/*
 * The S3 API reference's chunked upload example ("Transferring Payload in
 * Multiple Chunks", "Example: PUT Object"): 66560 bytes of 'a' in chunks
 * of 64 KiB, its published seed signature, chunk signatures and
 * Content-Length, reproduced from the framing s3.c sends.
 */
START_TEST(test_chunked)
{
	static const struct s3_sign_hdr h[] = {
		{ "host", "s3.amazonaws.com" },
		{ "x-amz-date", "20130524T000000Z" },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		{ "x-amz-content-sha256", S3_SIGN_STREAMING },
		{ "content-encoding", "aws-chunked" },
		{ "x-amz-decoded-content-length", "66560" },
		{ "content-length", "66824" },
	};
	static const char *want[3] = {
		"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a2886"
		"48",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef54"
		"97",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449d"
		"f9",
	};
	static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	struct s3_sign_req r = { "PUT", "/examplebucket/chunkObject.txt", "", h,
		7, S3_SIGN_STREAMING, "20130524T000000Z", "us-east-1" };
	uint8_t key[S3_SIGN_KEY_LEN];
	char *s, *a, seed[65], sig[65], hdr[S3_SIGN_CHUNK_HDR_MAX], *body;
	size_t off = 0, n;
	const size_t len = 66560, chunk = 65536;
	uint8_t *data = malloc(len);

	memset(data, 'a', len);
	s = s3_sign_string_to_sign(&r);
	ck_assert_str_eq(s,
	    "AWS4-HMAC-SHA256\n20130524T000000Z\n"
	    "20130524/us-east-1/s3/aws4_request\n"
	    "cee3fed04b70f867d036f722359b0b1f2f0e5dc0efadbc082b76c4c60e316455");
	a = s3_sign_authorization_sig(&r, "AKIAIOSFODNN7EXAMPLE", secret,
	    strlen(secret), seed);
	ck_assert_str_eq(seed,
	    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
	ck_assert_ptr_nonnull(strstr(a,
	    "SignedHeaders=content-encoding;content-length;host;"
	    "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
	    "x-amz-storage-class, Signature=4f232c43"));
	ck_assert_uint_eq(s3_sign_chunked_length(len, chunk), 66824);

	/* The body, framed as s3.c frames it. */
	body = malloc(66824);
	s3_sign_key(secret, strlen(secret), r.amz_date, r.region, key);
	memcpy(sig, seed, sizeof(sig));
	for (int i = 0; i < 3; i++) {
		size_t pos = (size_t)i * chunk;

		n = pos >= len ? 0 : len - pos < chunk ? len - pos : chunk;
		s3_sign_chunk(key, r.amz_date, r.region, sig, data + pos, n,
		    sig);
		ck_assert_str_eq(sig, want[i]);
		n = s3_sign_chunk_header(n, sig, hdr);
		memcpy(body + off, hdr, n);
		off += n;
		n = pos >= len ? 0 : len - pos < chunk ? len - pos : chunk;
		memcpy(body + off, data + pos, n);
		off += n;
		memcpy(body + off, "\r\n", 2);
		off += 2;
	}
	ck_assert_uint_eq(off, 66824);
	ck_assert_int_eq(memcmp(body,
	                     "10000;chunk-signature=ad80c730a21e5b8d04586a221"
	                     "3dd63b9a0e99e0e2307b0ade35a65485a288648\r\naaa",
	                     90),
	    0);
	ck_assert_int_eq(memcmp(body + 65624,
	                     "\r\n400;chunk-signature=0055627c", 30),
	    0);
	ck_assert_int_eq(memcmp(body + 66824 - 88,
	                     "\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646"
	                     "744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n",
	                     88),
	    0);

	/* One byte other: that chunk's signature and every later one. */
	data[chunk + 100] = 'b';
	memcpy(sig, want[0], sizeof(sig));
	s3_sign_chunk(key, r.amz_date, r.region, sig, data + chunk, len - chunk,
	    sig);
	ck_assert_str_ne(sig, want[1]);
	s3_sign_chunk(key, r.amz_date, r.region, sig, "", 0, sig);
	ck_assert_str_ne(sig, want[2]);

	/* Lengths: a single short chunk, an exact multiple, nothing. */
	ck_assert_uint_eq(s3_sign_chunked_length(0, chunk), 86);
	ck_assert_uint_eq(s3_sign_chunked_length(1, chunk), 1 + 86 + 86);
	ck_assert_uint_eq(s3_sign_chunked_length(2 * chunk, chunk),
	    2 * (chunk + 90) + 86);
	free(body);
	free(data);
	free(s);
	free(a);
}
END_TEST

START_TEST(test_encode)
{
	char *a = s3_sign_uri_encode("data/ab/x y~_.-", 1),
	     *b = s3_sign_uri_encode("\xff/", 0);
	char hex[65];

	ck_assert_str_eq(a, "data/ab/x%20y~_.-");
	ck_assert_str_eq(b, "%FF%2F");
	s3_sign_sha256_hex("", 0, hex);
	ck_assert_str_eq(hex, EMPTY);
	free(a);
	free(b);
}
END_TEST

Suite *s3_sign_suite(void);

Suite *
s3_sign_suite(void)
{
	Suite *s = suite_create("s3_sign");
	TCase *tc = tcase_create("sigv4");

	tcase_add_test(tc, test_aws_example);
	tcase_add_test(tc, test_addressing);
	tcase_add_test(tc, test_list_query);
	tcase_add_test(tc, test_put_unsigned);
	tcase_add_test(tc, test_chunked);
	tcase_add_test(tc, test_encode);
	suite_add_tcase(s, tc);
	return (s);
}
