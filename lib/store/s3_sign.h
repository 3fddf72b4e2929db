/*
 * AWS Signature Version 4 for the s3:// backend: the canonical request,
 * the string to sign and the Authorization header, from plain strings.
 * No HTTP here (store/s3.c sends the request); hashing is lib/crypto's.
 */
#ifndef COFFER_S3_SIGN_H
#define COFFER_S3_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* Hex SHA-256 of an empty payload, and the marker for a streamed one. */
#define S3_SIGN_EMPTY_SHA256                                                   \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_SIGN_UNSIGNED "UNSIGNED-PAYLOAD"
/* A body sent as signed chunks (Content-Encoding: aws-chunked). */
#define S3_SIGN_STREAMING "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"

/* A header that is signed: name in lower case, value trimmed. */
struct s3_sign_hdr {
	const char *name;
	const char *value;
};

/*
 * One request to sign.  path is the canonical URI, already encoded
 * (s3_sign_uri_encode with keep_slash); query the canonical query string:
 * name=value pairs sorted by name, each part encoded, joined by '&' ("" when
 * none), and sent exactly so.  hdrs are every header to sign, host,
 * x-amz-content-sha256 and x-amz-date among them, in any order (at most
 * S3_SIGN_HDR_MAX).  payload_hash is the hex SHA-256 of the body,
 * S3_SIGN_UNSIGNED or S3_SIGN_STREAMING; amz_date "YYYYMMDDTHHMMSSZ"; region
 * e.g. "us-east-1".
 */
#define S3_SIGN_HDR_MAX 16
struct s3_sign_req {
	const char *method;
	const char *path;
	const char *query;
	const struct s3_sign_hdr *hdrs;
	size_t nhdrs;
	const char *payload_hash;
	const char *amz_date;
	const char *region;
};

/* The canonical request for r (malloc'd; free it). */
char *s3_sign_canonical(const struct s3_sign_req *r);

/* The string to sign for r (malloc'd; free it). */
char *s3_sign_string_to_sign(const struct s3_sign_req *r);

/*
 * The value of the Authorization header for r, signed with the secret key
 * (secretlen bytes) of access key id access: "AWS4-HMAC-SHA256
 * Credential=.../s3/aws4_request, SignedHeaders=..., Signature=<hex>".
 * malloc'd; the derived keys are wiped.
 */
char *s3_sign_authorization(const struct s3_sign_req *r, const char *access,
    const char *secret, size_t secretlen);

/* The same, and its signature in hex into sig: a chunked body's seed. */
char *s3_sign_authorization_sig(const struct s3_sign_req *r, const char *access,
    const char *secret, size_t secretlen, char sig[65]);

/*
 * A streamed body signed chunk by chunk (the S3 API reference's "Transferring
 * Payload in Multiple Chunks"): the request is signed with payload hash
 * S3_SIGN_STREAMING, and its body is chunks, each
 *	hex(size) ";chunk-signature=" SIG "\r\n" DATA "\r\n"
 * ending with one of size 0.  Each SIG is s3_sign_chunk's, chained on the
 * one before; the first chunk's is chained on the request's signature.
 */
#define S3_SIGN_KEY_LEN 32
/* 16 hex digits, ";chunk-signature=", 64 more, CRLF and a NUL */
#define S3_SIGN_CHUNK_HDR_MAX 100

/*
 * The signing key for secret (secretlen bytes) on amz_date's day in region.
 * A secret: wipe it after use.
 */
void s3_sign_key(const char *secret, size_t secretlen, const char *amz_date,
    const char *region, uint8_t key[S3_SIGN_KEY_LEN]);

/*
 * The signature (hex into sig) of the chunk of n bytes at p (n = 0: the
 * final chunk) that follows the one signed prev, for key, amz_date and
 * region (the request's).  sig may be prev.
 */
void s3_sign_chunk(const uint8_t key[S3_SIGN_KEY_LEN], const char *amz_date,
    const char *region, const char prev[65], const void *p, size_t n,
    char sig[65]);

/* A chunk's header for n bytes signed sig, into out: its length. */
size_t s3_sign_chunk_header(size_t n, const char sig[65],
    char out[S3_SIGN_CHUNK_HDR_MAX]);

/*
 * The length of len bytes sent as chunks of chunk bytes (the last one
 * shorter) and the final empty chunk: the request's Content-Length.
 */
uint64_t s3_sign_chunked_length(uint64_t len, size_t chunk);

/*
 * Percent-encode s as SigV4 wants: everything but A-Z a-z 0-9 - _ . ~ (and
 * '/' when keep_slash) becomes %XX in upper-case hex.  malloc'd.
 */
char *s3_sign_uri_encode(const char *s, int keep_slash);

/*
 * Where a bucket's requests go.  endpoint is "host[:port]" as the URL has
 * it (an IPv6 address in brackets).  Path style: Host is the endpoint and
 * the canonical URI "/bucket/key"; virtual host: Host is
 * "bucket.endpoint" and the URI "/key".  key is NULL for the bucket
 * itself ("/bucket/" and "/"), and is encoded here.  Both malloc'd.
 */
char *s3_sign_host(const char *endpoint, const char *bucket, int virtual_host);
char *s3_sign_path(const char *bucket, int virtual_host, const char *key);

/* Hex SHA-256 (64 digits and a NUL) of n bytes at p into out. */
void s3_sign_sha256_hex(const void *p, size_t n, char out[65]);

#endif
