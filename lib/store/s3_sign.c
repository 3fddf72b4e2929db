/*
 * AWS Signature Version 4 (the "Authenticating Requests" chapter of the
 * S3 API reference): canonical request, string to sign, signing key
 * derived by HMAC-SHA-256 from the secret, date, region and service.
 */
#include "store/s3_sign.h"

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

char *
s3_sign_authorization(const struct s3_sign_req *r, const char *access,
    const char *secret, size_t secretlen)
{
	uint8_t k[CRYPTO_HASH_LEN], k2[CRYPTO_HASH_LEN], sig[CRYPTO_HASH_LEN];
	size_t idx[S3_SIGN_HDR_MAX];
	char *first, *sts, *sc, *names, *out, hex[65];
	size_t firstlen = secretlen + 4;

	first = xmalloc(firstlen + 1);
	memcpy(first, "AWS4", 4);
	memcpy(first + 4, secret, secretlen);
	first[firstlen] = '\0';
	crypto_hmac_sha256(first, firstlen, r->amz_date, 8, k);
	freezero(first, firstlen + 1);
	/* Never the same buffer for key and output. */
	crypto_hmac_sha256(k, sizeof(k), r->region, strlen(r->region), k2);
	crypto_hmac_sha256(k2, sizeof(k2), "s3", 2, k);
	crypto_hmac_sha256(k, sizeof(k), "aws4_request", 12, k2);
	sts = s3_sign_string_to_sign(r);
	crypto_hmac_sha256(k2, sizeof(k2), sts, strlen(sts), sig);
	wipe(k, sizeof(k));
	wipe(k2, sizeof(k2));
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
