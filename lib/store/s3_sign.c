/*
 * AWS Signature Version 4 (the "Authenticating Requests" chapter of the
 * S3 API reference): canonical request, string to sign, signing key
 * derived by HMAC-SHA-256 from the secret, date, region and service.
 */
#include "store/s3_sign.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "xmalloc.h"

void
s3_sign_sha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t h[CRYPTO_HASH_LEN];

	crypto_sha256(p, n, h);
	crypto_hex_encode(h, sizeof(h), out);
}

char *
s3_sign_uri_encode(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1), *o = out;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~' || (keep_slash && c == '/'))
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return (out);
}

char *
s3_sign_host(const char *endpoint, const char *bucket, int virtual_host)
{
	if (virtual_host)
		return (xasprintf("%s.%s", bucket, endpoint));
	return (xstrdup(endpoint));
}

char *
s3_sign_path(const char *bucket, int virtual_host, const char *key)
{
	char *k = key != NULL ? s3_sign_uri_encode(key, 1) : NULL, *out;

	if (virtual_host)
		out = xasprintf("/%s", k != NULL ? k : "");
	else
		out = xasprintf("/%s/%s", bucket, k != NULL ? k : "");
	free(k);
	return (out);
}

/* The headers' indexes sorted by name (names are lower case already). */
static void
sorted(const struct s3_sign_req *r, size_t idx[S3_SIGN_HDR_MAX])
{
	for (size_t i = 0; i < r->nhdrs; i++) {
		size_t j = i;

		for (; j > 0 &&
		     strcmp(r->hdrs[idx[j - 1]].name, r->hdrs[i].name) > 0;
		     j--)
			idx[j] = idx[j - 1];
		idx[j] = i;
	}
}

/* "host;x-amz-content-sha256;x-amz-date" */
static char *
signed_headers(const struct s3_sign_req *r, const size_t idx[])
{
	size_t n = 1;
	char *s;

	for (size_t i = 0; i < r->nhdrs; i++)
		n += strlen(r->hdrs[i].name) + 1;
	s = xmalloc(n);
	s[0] = '\0';
	for (size_t i = 0; i < r->nhdrs; i++) {
		if (i > 0)
			strcat(s, ";");
		strcat(s, r->hdrs[idx[i]].name);
	}
	return (s);
}

char *
s3_sign_canonical(const struct s3_sign_req *r)
{
	size_t idx[S3_SIGN_HDR_MAX], n;
	char *hdrs, *names, *out;

	if (r->nhdrs > S3_SIGN_HDR_MAX)
		abort(); /* a programmer's error: the table is fixed */
	sorted(r, idx);
	n = 1;
	for (size_t i = 0; i < r->nhdrs; i++)
		n += strlen(r->hdrs[i].name) + strlen(r->hdrs[i].value) + 2;
	hdrs = xmalloc(n);
	hdrs[0] = '\0';
	for (size_t i = 0; i < r->nhdrs; i++) {
		strcat(hdrs, r->hdrs[idx[i]].name);
		strcat(hdrs, ":");
		strcat(hdrs, r->hdrs[idx[i]].value);
		strcat(hdrs, "\n");
	}
	names = signed_headers(r, idx);
	out = xasprintf("%s\n%s\n%s\n%s\n%s\n%s", r->method, r->path, r->query,
	    hdrs, names, r->payload_hash);
	free(hdrs);
	free(names);
	return (out);
}

/* "20130524/us-east-1/s3/aws4_request" */
static char *
scope(const struct s3_sign_req *r)
{
	return (xasprintf("%.8s/%s/s3/aws4_request", r->amz_date, r->region));
}

char *
s3_sign_string_to_sign(const struct s3_sign_req *r)
{
	char *creq = s3_sign_canonical(r), *sc = scope(r), *out;
	char hex[65];

	s3_sign_sha256_hex(creq, strlen(creq), hex);
	out = xasprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date, sc, hex);
	free(creq);
	free(sc);
	return (out);
}

void
s3_sign_key(const char *secret, size_t secretlen, const char *amz_date,
    const char *region, uint8_t key[S3_SIGN_KEY_LEN])
{
	uint8_t k[CRYPTO_HASH_LEN];
	char *first;
	size_t firstlen = secretlen + 4;

	first = xmalloc(firstlen + 1);
	memcpy(first, "AWS4", 4);
	memcpy(first + 4, secret, secretlen);
	first[firstlen] = '\0';
	crypto_hmac_sha256(first, firstlen, amz_date, 8, key);
	freezero(first, firstlen + 1);
	/* Never the same buffer for key and output. */
	crypto_hmac_sha256(key, S3_SIGN_KEY_LEN, region, strlen(region), k);
	crypto_hmac_sha256(k, sizeof(k), "s3", 2, key);
	crypto_hmac_sha256(key, S3_SIGN_KEY_LEN, "aws4_request", 12, k);
	memcpy(key, k, S3_SIGN_KEY_LEN);
	wipe(k, sizeof(k));
}

char *
s3_sign_authorization_sig(const struct s3_sign_req *r, const char *access,
    const char *secret, size_t secretlen, char hex[65])
{
	uint8_t k[S3_SIGN_KEY_LEN], sig[CRYPTO_HASH_LEN];
	size_t idx[S3_SIGN_HDR_MAX];
	char *sts, *sc, *names, *out;

	s3_sign_key(secret, secretlen, r->amz_date, r->region, k);
	sts = s3_sign_string_to_sign(r);
	crypto_hmac_sha256(k, sizeof(k), sts, strlen(sts), sig);
	wipe(k, sizeof(k));
	crypto_hex_encode(sig, sizeof(sig), hex);
	sorted(r, idx);
	names = signed_headers(r, idx);
	sc = scope(r);
	out = xasprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
	                "Signature=%s",
	    access, sc, names, hex);
	free(sts);
	free(sc);
	free(names);
	return (out);
}

char *
s3_sign_authorization(const struct s3_sign_req *r, const char *access,
    const char *secret, size_t secretlen)
{
	char hex[65];

	return (s3_sign_authorization_sig(r, access, secret, secretlen, hex));
}

void
s3_sign_chunk(const uint8_t key[S3_SIGN_KEY_LEN], const char *amz_date,
    const char *region, const char prev[65], const void *p, size_t n,
    char sig[65])
{
	uint8_t mac[CRYPTO_HASH_LEN];
	char hash[65], *sts;

	s3_sign_sha256_hex(n > 0 ? p : "", n, hash);
	sts = xasprintf("AWS4-HMAC-SHA256-PAYLOAD\n%s\n%.8s/%s/s3/aws4_request"
	                "\n%.64s\n%s\n%s",
	    amz_date, amz_date, region, prev, S3_SIGN_EMPTY_SHA256, hash);
	crypto_hmac_sha256(key, S3_SIGN_KEY_LEN, sts, strlen(sts), mac);
	crypto_hex_encode(mac, sizeof(mac), sig);
	free(sts);
}

size_t
s3_sign_chunk_header(size_t n, const char sig[65],
    char out[S3_SIGN_CHUNK_HDR_MAX])
{
	return ((size_t)snprintf(out, S3_SIGN_CHUNK_HDR_MAX,
	    "%zx;chunk-signature=%.64s\r\n", n, sig));
}

/* A chunk's bytes but its data: header and the CRLF after the data. */
static uint64_t
chunk_frame(uint64_t n)
{
	uint64_t digits = 1;

	for (; n >= 16; n /= 16)
		digits++;
	return (digits + strlen(";chunk-signature=") + 64 + 2 + 2);
}

uint64_t
s3_sign_chunked_length(uint64_t len, size_t chunk)
{
	uint64_t full = len / chunk, rest = len % chunk;

	return (len + full * chunk_frame(chunk) +
	    (rest > 0 ? chunk_frame(rest) : 0) + chunk_frame(0));
}
