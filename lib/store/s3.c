/*
 * The s3:// backend, the only libcurl user: a repository in a bucket (below
 * a prefix) of any S3-compatible store, requests signed with SigV4
 * (store/s3_sign.c).  A PUT is atomic on S3, so a file is published by
 * one request: no temp names.  STOR_NOREPLACE is a conditional PUT
 * (If-None-Match: *, answered 412 when the key exists); a multipart upload
 * (files above the part size) checks with HEAD instead, a documented race
 * window.  Network faults, 5xx and 429 are ERR_NET, retried with backoff;
 * a streamed put is retried whole, its reader starting again at 0.
 * Every body is signed: one in memory by its SHA-256, a streamed one (and
 * each part of a multipart upload) chunk by chunk as it is read
 * (aws-chunked, STREAMING-AWS4-HMAC-SHA256-PAYLOAD), so the store refuses
 * a body changed on the way.
 * On a bucket with versioning, where RGW ignores If-None-Match, a HEAD
 * comes first too (a race window: doc/OFFSITE.md).
 */
#include <sys/types.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "log.h"
#include "passphrase.h"
#include "store/s3_sign.h"
#include "store/s3_xml.h"
#include "store/store_impl.h"
#include "url.h"
#include "xmalloc.h"

#define S3_PART_DEFAULT ((uint64_t)64 << 20)
#define S3_PART_MIN     ((uint64_t)5 << 20) /* S3's least but the last */
#define S3_PARTS_MAX    10000
#define S3_ERRBODY_MAX  ((size_t)64 << 10)
#define S3_LIST_MAX     ((size_t)16 << 20) /* one page of a listing */
#define S3_BACKOFF_MAX  60                 /* seconds */
#define S3_NAP_SLICE    100                /* ms */
#define S3_CHUNK        ((size_t)64 << 10) /* a signed chunk of a stream */

/* Chunks never straddle a refill: every chunk but a part's last is whole. */
_Static_assert(STOR_STREAM_BUF % S3_CHUNK == 0,
    "STOR_STREAM_BUF is a multiple of S3_CHUNK");

struct s3 {
	char *location;
	char *base; /* "https://" and the Host header */
	char *host; /* endpoint[:port], or bucket.endpoint[:port] */
	char *bucket;
	int virtual_host; /* bucket.endpoint/key, not endpoint/bucket/key */
	char *prefix;     /* "" or "a/b/" */
	char *region;
	char *access;
	char *secret; /* NUL-terminated, wiped at close */
	size_t secretlen;
	char *ca_file;
	int insecure;
	/*
	 * Check with HEAD before a STOR_NOREPLACE put: the bucket keeps
	 * versions (or may: its versioning could not be read), and RGW 16
	 * ignores If-None-Match there, storing a new version with 200.
	 */
	int head_first;
	long connect_timeout, io_timeout;
	int retries, transfers;
	curl_off_t up_rate, down_rate; /* per transfer; 0: unlimited */
	uint64_t part_size;
	struct log *log;
	volatile sig_atomic_t *interrupted;

	pthread_mutex_t mu;
	pthread_cond_t cv; /* a handle came back */
	CURL **idle;
	int nidle, nhandles;
	int gave_up; /* retries ran out: fail at once from now on */
	struct err gave_up_err;
};

/*
 * A streamed body: the bytes of [next, end) of a file of total bytes, sent
 * as signed chunks of S3_CHUNK bytes (the last shorter) and an empty one,
 * each signature chained on the one before, the first on the request's
 * (s3_sign.h).  perform starts the chain; on_read frames and signs each
 * chunk from buf as it goes.
 */
struct stream {
	const struct stor_reader *r;
	uint64_t next;  /* the next byte to ask the reader for */
	uint64_t end;   /* this request's last byte + 1 */
	uint64_t total; /* the file's length: done() once read */
	uint8_t *buf;
	size_t blen, bpos;
	int failed; /* read or done failed: err says why */
	struct err err;

	int chunked;                  /* else an empty body, hashed */
	uint8_t key[S3_SIGN_KEY_LEN]; /* signing key: wiped after the request */
	char date[17];
	const char *region;
	char sig[65]; /* the last signature sent (first: the seed) */
	char frame[S3_SIGN_CHUNK_HDR_MAX + 2]; /* framing still to send */
	size_t flen, fpos;
	size_t cleft;  /* bytes of the current chunk still to send */
	int last_sent; /* the final, empty chunk is framed */
};

struct req {
	const char *method; /* GET HEAD PUT POST DELETE */
	const char *key;    /* below the bucket; NULL: the bucket itself */
	const char *query;  /* canonical; "" none */
	const char *range;  /* "bytes=A-B" or NULL */
	int if_none_match;
	const uint8_t *body; /* a body in memory (PUT, POST) */
	size_t body_len;
	struct stream *stream; /* or a streamed one (PUT) */
	int no_retry;          /* the caller retries (streams) */

	/* The answer. */
	long status;
	uint8_t *out; /* body, up to out_max (error bodies: S3_ERRBODY_MAX) */
	size_t out_len, out_cap, out_max;
	uint8_t *dst; /* a ranged GET goes here */
	size_t dst_len, dst_got;
	int too_big;
	curl_off_t length; /* Content-Length of a HEAD, -1 unknown */
	curl_off_t mtime;  /* Last-Modified, -1 unknown */
	char etag[128];
	char code[64]; /* the <Code> of an error body */
	int attempts;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int
interrupted(const struct s3 *s)
{
	return (s->interrupted != NULL && *s->interrupted);
}

/* Sleep ms, waking up for an interrupt; -1 (e set) when interrupted. */
static int
nap(struct s3 *s, long ms, struct err *e)
{
	return (stor_nap(s->interrupted, ms, S3_NAP_SLICE, e));
}

/* ------------------------------------------------------------ handles */

static CURL *
checkout(struct s3 *s)
{
	CURL *c = NULL;

	pthread_mutex_lock(&s->mu);
	while (s->nidle == 0 && s->nhandles >= s->transfers)
		pthread_cond_wait(&s->cv, &s->mu);
	if (s->nidle > 0)
		c = s->idle[--s->nidle];
	else
		s->nhandles++;
	pthread_mutex_unlock(&s->mu);
	if (c == NULL && (c = curl_easy_init()) == NULL)
		abort(); /* out of memory, as xmalloc would */
	return (c);
}

static void
checkin(struct s3 *s, CURL *c)
{
	pthread_mutex_lock(&s->mu);
	s->idle[s->nidle++] = c;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------ callbacks */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n, max;

	if (q->dst != NULL && q->status / 100 == 2) {
		if (len > q->dst_len - q->dst_got) {
			q->too_big = 1;
			return (0);
		}
		memcpy(q->dst + q->dst_got, p, len);
		q->dst_got += len;
		return (len);
	}
	max = q->status / 100 == 2 ? q->out_max : S3_ERRBODY_MAX;
	if (q->out_len + len > max) {
		/* An error's body is for its <Code>: the rest can go. */
		if (q->status / 100 != 2)
			return (len);
		q->too_big = 1;
		return (0);
	}
	if (q->out_len + len > q->out_cap) {
		size_t cap = q->out_cap ? q->out_cap : 4096;

		while (cap < q->out_len + len)
			cap *= 2;
		if (cap > max)
			cap = max;
		q->out = xreallocarray(q->out, cap, 1);
		q->out_cap = cap;
	}
	memcpy(q->out + q->out_len, p, len);
	q->out_len += len;
	return (len);
}

/* The status is known once the headers come: bodies are sorted by it. */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n, v;

	if (len > 9 && strncmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', len);

		q->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
	} else if (len > 5 && strncasecmp(p, "etag:", 5) == 0) {
		for (v = 5; v < len && p[v] == ' '; v++)
			;
		while (len > v && (p[len - 1] == '\r' || p[len - 1] == '\n'))
			len--;
		if (len - v < sizeof(q->etag)) {
			memcpy(q->etag, p + v, len - v);
			q->etag[len - v] = '\0';
		}
	}
	return (size * n);
}

/* The reader's next bytes into st->buf: 0, or -1 (st->err set). */
static int
refill(struct stream *st)
{
	size_t len = st->end - st->next < STOR_STREAM_BUF
	    ? (size_t)(st->end - st->next)
	    : STOR_STREAM_BUF;

	if (st->r->read(st->r->arg, st->next, st->buf, len, &st->err) == -1)
		return (-1);
	st->next += len;
	st->blen = len;
	st->bpos = 0;
	/* Judged before its last bytes go: a refused file gets no name. */
	if (st->next == st->total && st->r->done != NULL &&
	    st->r->done(st->r->arg, &st->err) == -1)
		return (-1);
	return (0);
}

/* Frame the next chunk (of n bytes at p) after signing it. */
static void
next_chunk(struct stream *st, const uint8_t *p, size_t n)
{
	s3_sign_chunk(st->key, st->date, st->region, st->sig, p, n, st->sig);
	st->flen = s3_sign_chunk_header(n, st->sig, st->frame);
	st->fpos = 0;
	st->cleft = n;
	if (n == 0) {
		memcpy(st->frame + st->flen, "\r\n", 2);
		st->flen += 2;
		st->last_sent = 1;
	}
}

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct stream *st = arg;
	size_t want = size * n, got = 0, give;

	while (got < want) {
		if (st->fpos < st->flen) {
			give = st->flen - st->fpos < want - got
			    ? st->flen - st->fpos
			    : want - got;
			memcpy(p + got, st->frame + st->fpos, give);
			st->fpos += give;
			got += give;
			continue;
		}
		if (st->cleft > 0) {
			give = st->cleft < want - got ? st->cleft : want - got;
			memcpy(p + got, st->buf + st->bpos, give);
			st->bpos += give;
			st->cleft -= give;
			got += give;
			if (st->cleft == 0) {
				memcpy(st->frame, "\r\n", 2);
				st->flen = 2;
				st->fpos = 0;
			}
			continue;
		}
		if (st->bpos == st->blen) {
			if (st->next >= st->end) {
				if (!st->chunked || st->last_sent)
					break;
				next_chunk(st, NULL, 0);
				continue;
			}
			if (refill(st) == -1) {
				st->failed = 1;
				return (CURL_READFUNC_ABORT);
			}
		}
		next_chunk(st, st->buf + st->bpos,
		    st->blen - st->bpos < S3_CHUNK ? st->blen - st->bpos
		                                   : S3_CHUNK);
	}
	return (got);
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return (interrupted(arg) ? 1 : 0);
}

/* ------------------------------------------------------------ requests */

static void
amz_date(char out[17])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static void
req_reset(struct req *q)
{
	free(q->out);
	q->out = NULL;
	q->out_len = q->out_cap = 0;
	q->dst_got = 0;
	q->too_big = 0;
	q->status = 0;
	q->length = q->mtime = -1;
	q->etag[0] = q->code[0] = '\0';
}

/* One attempt: 0 with q->status, or -1 (e set) when no answer came. */
static int
perform(struct s3 *s, struct req *q, struct err *e)
{
	struct s3_sign_hdr h[8];
	struct stream *sm = q->stream;
	struct curl_slist *hl = NULL;
	char date[17], hash[65], dlen[24], seed[65], errbuf[CURL_ERROR_SIZE],
	    *path, *url, *auth, *line;
	size_t nh = 0;
	CURL *c;
	CURLcode rc;
	int ret = -1;

	req_reset(q);
	amz_date(date);
	if (sm != NULL) {
		/* A new chain from the body's start (or its part's). */
		sm->chunked = sm->end > sm->next;
		sm->flen = sm->fpos = sm->cleft = 0;
		sm->last_sent = 0;
	}
	if (sm != NULL && sm->chunked)
		snprintf(hash, sizeof(hash), "%s", S3_SIGN_STREAMING);
	else
		s3_sign_sha256_hex(q->body != NULL ? (const void *)q->body : "",
		    q->body_len, hash);
	path = s3_sign_path(s->bucket, s->virtual_host, q->key);
	h[nh++] = (struct s3_sign_hdr){ "host", s->host };
	h[nh++] = (struct s3_sign_hdr){ "x-amz-content-sha256", hash };
	h[nh++] = (struct s3_sign_hdr){ "x-amz-date", date };
	if (q->if_none_match)
		h[nh++] = (struct s3_sign_hdr){ "if-none-match", "*" };
	if (q->range != NULL)
		h[nh++] = (struct s3_sign_hdr){ "range", q->range };
	if (sm != NULL && sm->chunked) {
		snprintf(dlen, sizeof(dlen), "%llu",
		    (unsigned long long)(sm->end - sm->next));
		h[nh++] =
		    (struct s3_sign_hdr){ "content-encoding", "aws-chunked" };
		h[nh++] = (struct s3_sign_hdr){ "x-amz-decoded-content-length",
			dlen };
	}
	{
		struct s3_sign_req sr = { q->method, path, q->query, h, nh,
			hash, date, s->region };

		auth = s3_sign_authorization_sig(&sr, s->access, s->secret,
		    s->secretlen, seed);
	}
	if (sm != NULL && sm->chunked) {
		s3_sign_key(s->secret, s->secretlen, date, s->region, sm->key);
		memcpy(sm->date, date, sizeof(sm->date));
		sm->region = s->region;
		memcpy(sm->sig, seed, sizeof(sm->sig));
	}
	url = xasprintf("%s%s%s%s", s->base, path, q->query[0] ? "?" : "",
	    q->query);
	for (size_t i = 0; i < nh; i++) {
		line = xasprintf("%s: %s", h[i].name, h[i].value);
		hl = curl_slist_append(hl, line);
		free(line);
	}
	line = xasprintf("Authorization: %s", auth);
	hl = curl_slist_append(hl, line);
	free(line);
	hl = curl_slist_append(hl, "Expect:");
	hl = curl_slist_append(hl, "Content-Type:");
	if (hl == NULL)
		abort();

	c = checkout(s);
	curl_easy_reset(c);
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
	    s->insecure ? "http" : "https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->connect_timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->io_timeout);
	if (s->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	/* Fewer, larger callbacks: packs move in MiBs. */
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	if (s->up_rate > 0)
		curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE, s->up_rate);
	if (s->down_rate > 0)
		curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, s->down_rate);
	if (strcmp(q->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(q->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		if (q->stream != NULL) {
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, q->stream);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
			    (curl_off_t)(sm->chunked
			            ? s3_sign_chunked_length(sm->end - sm->next,
			                  S3_CHUNK)
			            : sm->end - sm->next));
		} else {
			/* A body in memory goes as POST's, named PUT. */
			curl_easy_setopt(c, CURLOPT_UPLOAD, 0L);
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
			curl_easy_setopt(c, CURLOPT_POSTFIELDS,
			    q->body != NULL ? (const char *)q->body : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)q->body_len);
		}
	} else if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		    q->body != NULL ? (const char *)q->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)q->body_len);
	} else if (strcmp(q->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);

	rc = curl_easy_perform(c);
	q->attempts++;
	if (sm != NULL)
		wipe(sm->key, sizeof(sm->key));
	if (rc == CURLE_OK) {
		long st = 0;

		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
		q->status = st;
		curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
		    &q->length);
		curl_easy_getinfo(c, CURLINFO_FILETIME_T, &q->mtime);
		ret = 0;
	} else if (q->stream != NULL && q->stream->failed) {
		*e = q->stream->err;
	} else if (q->too_big) {
		err_set(e, ERR_CORRUPT,
		    "%s %s: the answer is larger than "
		    "expected",
		    s->location, q->key != NULL ? q->key : "");
	} else if (rc == CURLE_ABORTED_BY_CALLBACK && interrupted(s)) {
		err_set(e, ERR_INTERRUPTED, "interrupted");
	} else if (rc == CURLE_PEER_FAILED_VERIFICATION ||
	    rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
	    rc == CURLE_SSL_ISSUER_ERROR) {
		err_set(e, ERR_HOSTKEY,
		    "%s: the TLS certificate does not verify: %s (set ca_file "
		    "to the CA that signed it)",
		    s->location, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else if (rc == CURLE_OUT_OF_MEMORY) {
		abort();
	} else if (rc == CURLE_UNSUPPORTED_PROTOCOL ||
	    rc == CURLE_URL_MALFORMAT) {
		err_set(e, ERR_USAGE, "%s: %s", s->location,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else {
		err_set(e, ERR_NET, "%s: %s %s: %s", s->location, q->method,
		    q->key != NULL ? q->key : "/",
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	}
	checkin(s, c);
	if (ret == 0 && q->status / 100 != 2 && q->out != NULL) {
		const char *v;
		size_t n;

		if ((v = s3_xml_find((const char *)q->out,
		         (const char *)q->out + q->out_len, "Code", &n)) !=
		        NULL &&
		    n < sizeof(q->code)) {
			memcpy(q->code, v, n);
			q->code[n] = '\0';
		}
	}
	curl_slist_free_all(hl);
	freezero_str(auth);
	free(url);
	free(path);
	return (ret);
}

/* Is an answer one to try again? */
static int
status_retryable(long st)
{
	return (st == 429 || (st >= 500 && st != 501 && st != 507));
}

/*
 * An error for an answer the caller did not expect: the class from the
 * status (and S3's machine-readable <Code>, never the message).
 */
static int
status_err(struct s3 *s, const struct req *q, const char *name, struct err *e)
{
	const char *what = q->key == NULL ? "the bucket" : name;
	char code[80];

	snprintf(code, sizeof(code), "HTTP %ld%s%s", q->status,
	    q->code[0] ? " " : "", q->code);
	if (q->status == 507 || strcmp(q->code, "QuotaExceeded") == 0)
		return (err_set(e, ERR_NOSPACE,
		    "%s: %s %s: the bucket is full (%s)", s->location,
		    q->method, what, code));
	if (q->status == 403 &&
	    (strcmp(q->code, "InvalidAccessKeyId") == 0 ||
	        strcmp(q->code, "SignatureDoesNotMatch") == 0 ||
	        strcmp(q->code, "RequestTimeTooSkewed") == 0)) {
		err_set(e, ERR_AUTH,
		    "%s: the store refused the keys (%s): check "
		    "access_key_file and secret_key_file (or "
		    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)%s",
		    s->location, code,
		    strcmp(q->code, "RequestTimeTooSkewed") == 0
		        ? ", and this host's clock"
		        : "");
		e->sys_errno = EACCES;
		return (-1);
	}
	if (q->status == 403) {
		err_set(e, ERR_IO, "%s: %s %s: permission denied (%s)",
		    s->location, q->method, what, code);
		e->sys_errno = EACCES;
		return (-1);
	}
	if (q->status == 404) {
		err_set(e, ERR_IO, "%s: %s %s: no such file (%s)", s->location,
		    q->method, what, code);
		e->sys_errno = ENOENT;
		return (-1);
	}
	if (q->status == 412) {
		err_set(e, ERR_IO, "%s: %s %s: it exists already (%s)",
		    s->location, q->method, what, code);
		e->sys_errno = EEXIST;
		return (-1);
	}
	if (status_retryable(q->status))
		return (err_set(e, ERR_NET, "%s: %s %s: the store failed (%s)",
		    s->location, q->method, what, code));
	return (err_set(e, ERR_IO, "%s: %s %s: refused (%s)", s->location,
	    q->method, what, code));
}

/*
 * perform with retries (unless q->no_retry): -1 (e set) when no answer
 * came, or a retryable one kept coming; else 0 with q->status, which the
 * caller judges (status_err for what it does not expect).
 */
static int
call(struct s3 *s, struct req *q, struct err *e)
{
	long backoff = 1000;

	pthread_mutex_lock(&s->mu);
	if (s->gave_up) {
		*e = s->gave_up_err;
		pthread_mutex_unlock(&s->mu);
		return (-1);
	}
	pthread_mutex_unlock(&s->mu);
	for (int attempt = 0;; attempt++) {
		int rc = perform(s, q, e);

		if (rc == 0 && !status_retryable(q->status))
			return (0);
		if (rc == 0)
			status_err(s, q, q->key != NULL ? q->key : "", e);
		if (!err_retryable(e) || q->no_retry)
			return (-1);
		if (attempt >= s->retries) {
			pthread_mutex_lock(&s->mu);
			if (!s->gave_up) {
				s->gave_up = 1;
				s->gave_up_err = *e;
			}
			pthread_mutex_unlock(&s->mu);
			return (-1);
		}
		log_warn(s->log, "%s; retry %d of %d in %ld s", e->msg,
		    attempt + 1, s->retries, backoff / 1000);
		if (nap(s, backoff, e) == -1)
			return (-1);
		backoff *= 2;
		if (backoff > S3_BACKOFF_MAX * 1000)
			backoff = S3_BACKOFF_MAX * 1000;
	}
}

static char *
key_of(const struct s3 *s, const char *name)
{
	return (xasprintf("%s%s", s->prefix, name));
}

/* ------------------------------------------------------------ file ops */

static int
s3_get(struct stor *st, const char *name, size_t max, uint8_t **data,
    size_t *len, struct err *e)
{
	struct s3 *s = st->impl;
	struct req q = { 0 };
	char *key = key_of(s, name);
	int rc = -1;

	q.method = "GET";
	q.key = key;
	q.query = "";
	q.out_max = max;
	if (call(s, &q, e) == -1) {
		if (e->class == ERR_CORRUPT)
			err_set(e, ERR_CORRUPT,
			    "%s: %s is more than the %zu bytes expected",
			    s->location, name, max);
		goto out;
	}
	if (q.status != 200) {
		status_err(s, &q, name, e);
		goto out;
	}
	*data = q.out != NULL ? q.out : xmalloc(1);
	*len = q.out_len;
	q.out = NULL;
	rc = 0;
out:
	free(q.out);
	free(key);
	return (rc);
}

static int s3_stat(struct stor *, const char *, uint64_t *, struct err *);

static int
s3_get_range(struct stor *st, const char *name, uint64_t off, size_t len,
    uint8_t *buf, struct err *e)
{
	struct s3 *s = st->impl;
	struct req q = { 0 };
	char *key = NULL, range[64];
	uint64_t size = 0;
	int rc = -1, r;

	if (len == 0) {
		/* No range is empty: ask whether the file reaches off. */
		if ((r = s3_stat(st, name, &size, e)) == -1)
			return (-1);
		if (r == 1) {
			err_set(e, ERR_IO, "%s: no such file %s", s->location,
			    name);
			e->sys_errno = ENOENT;
			return (-1);
		}
		if (size < off)
			return (err_set(e, ERR_CORRUPT,
			    "%s: %s is shorter than expected (0 bytes wanted "
			    "at offset %llu)",
			    s->location, name, (unsigned long long)off));
		return (0);
	}
	key = key_of(s, name);
	snprintf(range, sizeof(range), "bytes=%llu-%llu",
	    (unsigned long long)off, (unsigned long long)(off + len - 1));
	q.method = "GET";
	q.key = key;
	q.query = "";
	q.range = range;
	q.dst = buf;
	q.dst_len = len;
	if (call(s, &q, e) == -1)
		goto out;
	if (q.status == 416 || (q.status / 100 == 2 && q.dst_got != len)) {
		err_set(e, ERR_CORRUPT,
		    "%s: %s is shorter than expected (%zu bytes wanted at "
		    "offset %llu)",
		    s->location, name, len, (unsigned long long)off);
		goto out;
	}
	if (q.status != 206 && !(q.status == 200 && off == 0)) {
		status_err(s, &q, name, e);
		goto out;
	}
	rc = 0;
out:
	free(q.out);
	free(key);
	return (rc);
}

/* HEAD: 0 and the answer in q, 1 when missing, -1 on error. */
static int
head(struct s3 *s, const char *name, struct req *q, struct err *e)
{
	char *key = key_of(s, name);
	int rc = -1;

	memset(q, 0, sizeof(*q));
	q->method = "HEAD";
	q->key = key;
	q->query = "";
	if (call(s, q, e) == -1)
		goto out;
	if (q->status == 404)
		rc = 1;
	else if (q->status != 200)
		status_err(s, q, name, e);
	else
		rc = 0;
out:
	free(q->out);
	q->out = NULL;
	q->key = NULL;
	free(key);
	return (rc);
}

static int
s3_stat(struct stor *st, const char *name, uint64_t *size, struct err *e)
{
	struct req q;
	int rc;

	if ((rc = head(st->impl, name, &q, e)) == 0)
		*size = q.length < 0 ? 0 : (uint64_t)q.length;
	return (rc);
}

static int
s3_mtime(struct stor *st, const char *name, int64_t *mtime, struct err *e)
{
	struct req q;
	int rc;

	if ((rc = head(st->impl, name, &q, e)) == 0)
		*mtime = q.mtime < 0 ? INT64_MIN : (int64_t)q.mtime;
	return (rc);
}

/*
 * A PUT that came back 412 after an attempt that got no answer may have
 * been our own: the bytes there are compared with ours.
 */
static int
ours_already(struct stor *st, const char *name, const uint8_t *data, size_t len)
{
	uint8_t *got = NULL;
	size_t n = 0;
	struct err e2;
	int same;

	if (s3_get(st, name, len, &got, &n, &e2) == -1)
		return (0);
	same = n == len && (len == 0 || memcmp(got, data, len) == 0);
	free(got);
	return (same);
}

/* For head_first: -1 with EEXIST when name exists, else 0 (or -1). */
static int
absent(struct s3 *s, const char *name, struct err *e)
{
	struct req h;
	int r;

	if ((r = head(s, name, &h, e)) == -1)
		return (-1);
	if (r == 0) {
		err_set(e, ERR_IO, "%s: %s exists already", s->location, name);
		e->sys_errno = EEXIST;
		return (-1);
	}
	return (0);
}

static int
s3_put(struct stor *st, const char *name, const uint8_t *data, size_t len,
    int flags, struct err *e)
{
	struct s3 *s = st->impl;
	struct req q = { 0 };
	char *key = NULL;
	int rc = -1;

	if ((flags & STOR_NOREPLACE) && s->head_first &&
	    absent(s, name, e) == -1)
		return (-1);
	key = key_of(s, name);

	q.method = "PUT";
	q.key = key;
	q.query = "";
	q.if_none_match = (flags & STOR_NOREPLACE) != 0;
	q.body = data;
	q.body_len = len;
	if (call(s, &q, e) == -1)
		goto out;
	if (q.status == 412 && q.attempts > 1 &&
	    ours_already(st, name, data, len))
		q.status = 200;
	if (q.status / 100 != 2) {
		status_err(s, &q, name, e);
		goto out;
	}
	rc = 0;
out:
	free(q.out);
	free(key);
	return (rc);
}

/* One streamed PUT of the stream's [next, end): 0, or -1 (e set). */
static int
put_part(struct s3 *s, const char *key, const char *query, int noreplace,
    struct stream *sm, const char *name, char *etag, size_t etagsz,
    struct err *e)
{
	struct req q = { 0 };
	int rc = -1;

	q.method = "PUT";
	q.key = key;
	q.query = query;
	q.if_none_match = noreplace;
	q.stream = sm;
	q.no_retry = 1;
	if (call(s, &q, e) == -1)
		goto out;
	if (q.status == 403 && sm->chunked &&
	    strcmp(q.code, "SignatureDoesNotMatch") == 0) {
		/*
		 * The keys signed requests the store took since open: what
		 * it found changed is this request's bytes, on their way.
		 */
		err_set(e, ERR_NET,
		    "%s: PUT %s: the store found the bytes changed on their "
		    "way (HTTP 403 SignatureDoesNotMatch) and did not store "
		    "them",
		    s->location, name);
		goto out;
	}
	if (q.status / 100 != 2) {
		status_err(s, &q, name, e);
		goto out;
	}
	if (sm->next != sm->end || sm->bpos != sm->blen ||
	    (sm->chunked && (!sm->last_sent || sm->fpos != sm->flen))) {
		err_set(e, ERR_NET,
		    "%s: PUT %s: the store answered before "
		    "the body was sent",
		    s->location, name);
		goto out;
	}
	if (etag != NULL)
		snprintf(etag, etagsz, "%s", q.etag);
	rc = 0;
out:
	free(q.out);
	return (rc);
}

/* A POST or DELETE on a multipart upload; 0 and q's answer, or -1. */
static int
upload_req(struct s3 *s, const char *method, const char *key, const char *query,
    const char *body, struct req *q, struct err *e)
{
	memset(q, 0, sizeof(*q));
	q->method = method;
	q->key = key;
	q->query = query;
	q->body = (const uint8_t *)body;
	q->body_len = body != NULL ? strlen(body) : 0;
	q->out_max = S3_ERRBODY_MAX;
	if (call(s, q, e) == -1)
		return (-1);
	return (0);
}

static void
abort_upload(struct s3 *s, const char *key, const char *query)
{
	struct req q;
	struct err e2;

	/* Best effort: a failed abort leaves parts a lifecycle rule ends. */
	if (upload_req(s, "DELETE", key, query, NULL, &q, &e2) == 0 &&
	    q.status / 100 != 2 && q.status != 404) {
		status_err(s, &q, key, &e2);
		log_warn(s->log, "%s (parts of an unfinished upload stay)",
		    e2.msg);
	}
	free(q.out);
}

static int
put_multipart(struct s3 *s, const char *name, const char *key,
    struct stream *sm, int noreplace, struct err *e)
{
	struct req q = { 0 };
	char *id = NULL, *enc = NULL, *query = NULL, *body = NULL;
	char(*etags)[128] = NULL;
	size_t nparts, blen, bcap;
	const char *v;
	size_t n;
	int rc = -1, started = 0;

	nparts = (size_t)((sm->total + s->part_size - 1) / s->part_size);
	if (nparts > S3_PARTS_MAX)
		return (
		    err_set(e, ERR_INTERNAL, "%s: %s needs more than %d parts",
		        s->location, name, S3_PARTS_MAX));
	if (upload_req(s, "POST", key, "uploads=", NULL, &q, e) == -1)
		goto out;
	if (q.status != 200 ||
	    (v = s3_xml_find((const char *)q.out,
	         (const char *)q.out + q.out_len, "UploadId", &n)) == NULL) {
		status_err(s, &q, name, e);
		goto out;
	}
	id = s3_xml_text(v, n);
	enc = s3_sign_uri_encode(id, 0);
	started = 1;
	etags = xcalloc(nparts, sizeof(*etags));
	for (size_t i = 0; i < nparts; i++) {
		char *pq = xasprintf("partNumber=%zu&uploadId=%s", i + 1, enc);

		sm->end = sm->next + s->part_size < sm->total
		    ? sm->next + s->part_size
		    : sm->total;
		rc = put_part(s, key, pq, 0, sm, name, etags[i],
		    sizeof(etags[i]), e);
		free(pq);
		if (rc == -1)
			goto out;
		rc = -1;
	}
	/* sm's done() ran with the last part: the file is judged good. */
	bcap = 128 + nparts * 200;
	body = xmalloc(bcap);
	blen = (size_t)snprintf(body, bcap, "<CompleteMultipartUpload>");
	for (size_t i = 0; i < nparts; i++)
		blen += (size_t)snprintf(body + blen, bcap - blen,
		    "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>",
		    i + 1, etags[i]);
	snprintf(body + blen, bcap - blen, "</CompleteMultipartUpload>");
	if (noreplace && absent(s, name, e) == -1)
		goto out;
	free(query);
	query = xasprintf("uploadId=%s", enc);
	free(q.out);
	if (upload_req(s, "POST", key, query, body, &q, e) == -1)
		goto out;
	/* An error may come as a 200 whose body is an <Error>. */
	if (q.status != 200 || q.out == NULL ||
	    memmem(q.out, q.out_len, "<Error>", 7) != NULL) {
		if (q.status == 200)
			q.status = 500;
		status_err(s, &q, name, e);
		goto out;
	}
	started = 0;
	rc = 0;
out:
	if (started) {
		free(query);
		query = xasprintf("uploadId=%s", enc);
		abort_upload(s, key, query);
	}
	free(q.out);
	free(etags);
	free(body);
	free(query);
	free(enc);
	free(id);
	return (rc);
}

static int
s3_put_stream(struct stor *st, const char *name, uint64_t len,
    const struct stor_reader *r, int flags, struct err *e)
{
	struct s3 *s = st->impl;
	struct stream sm;
	char *key = key_of(s, name);
	long backoff = 1000;
	int rc = -1;

	if ((flags & STOR_NOREPLACE) && s->head_first &&
	    absent(s, name, e) == -1) {
		free(key);
		return (-1);
	}
	memset(&sm, 0, sizeof(sm));
	sm.r = r;
	sm.total = len;
	sm.buf =
	    xmalloc(len < STOR_STREAM_BUF ? (size_t)len + 1 : STOR_STREAM_BUF);
	if (len == 0 && r->done != NULL && r->done(r->arg, e) == -1)
		goto out;
	for (int attempt = 0;; attempt++) {
		sm.next = 0;
		sm.blen = sm.bpos = 0;
		sm.failed = 0;
		if (len <= s->part_size) {
			sm.end = len;
			rc = put_part(s, key, "", (flags & STOR_NOREPLACE) != 0,
			    &sm, name, NULL, 0, e);
		} else
			rc = put_multipart(s, name, key, &sm,
			    (flags & STOR_NOREPLACE) != 0, e);
		if (rc == 0 || sm.failed || !err_retryable(e))
			break;
		if (attempt >= s->retries)
			break;
		log_warn(s->log, "%s; retry %d of %d in %ld s", e->msg,
		    attempt + 1, s->retries, backoff / 1000);
		if (nap(s, backoff, e) == -1)
			break;
		backoff = backoff * 2 > S3_BACKOFF_MAX * 1000
		    ? S3_BACKOFF_MAX * 1000
		    : backoff * 2;
	}
out:
	free(sm.buf);
	free(key);
	return (rc);
}

/* Should a listing show name (relative to the root)? */
static int
list_wanted(const char *name, int flags)
{
	const char *p = name;

	if (*p == '\0' || stor_name_depth(name) > STOR_LIST_DEPTH)
		return (0);
	for (;;) {
		if (*p == '/' || *p == '\0')
			return (0); /* an empty component: "a//b", "a/" */
		if (*p == '.' && !(flags & STOR_LIST_DOT))
			return (0);
		if ((p = strchr(p, '/')) == NULL)
			return (1);
		p++;
	}
}

struct ent {
	char *name;
	uint64_t size;
	int64_t mtime;
};

static int
s3_list(struct stor *st, const char *dir, int flags,
    int (*fn)(void *, const char *, uint64_t, int64_t), void *arg,
    struct err *e)
{
	struct s3 *s = st->impl;
	char *pfx = xasprintf("%s%s/", s->prefix, dir), *epfx;
	char *token = NULL;
	size_t plen = strlen(s->prefix);
	int rc = -1, res = 0;

	epfx = s3_sign_uri_encode(pfx, 0);
	for (;;) {
		struct req q = { 0 };
		struct ent *ents = NULL;
		struct s3_list_page pg;
		size_t nents = 0, cap = 0;
		char *query, *etok;
		int more;

		etok = token != NULL ? s3_sign_uri_encode(token, 0) : NULL;
		query = xasprintf("%s%s%slist-type=2&max-keys=1000&prefix=%s",
		    etok != NULL ? "continuation-token=" : "",
		    etok != NULL ? etok : "", etok != NULL ? "&" : "", epfx);
		free(etok);
		q.method = "GET";
		q.key = NULL;
		q.query = query;
		q.out_max = S3_LIST_MAX;
		if (call(s, &q, e) == -1 ||
		    (q.status != 200 && status_err(s, &q, dir, e) == -1)) {
			free(q.out);
			free(query);
			goto out;
		}
		free(query);
		if (s3_xml_list((const char *)q.out, q.out_len, &pg, e) == -1) {
			err_wrap(e, "%s", s->location);
			free(q.out);
			goto out;
		}
		more = pg.truncated;
		free(token);
		token = pg.token;
		pg.token = NULL;
		for (size_t i = 0; i < pg.n; i++) {
			const char *name = pg.v[i].key;

			if (strncmp(name, s->prefix, plen) != 0 ||
			    !list_wanted(name + plen, flags))
				continue;
			if (nents == cap) {
				cap = cap ? cap * 2 : 256;
				ents = xreallocarray(ents, cap, sizeof(*ents));
			}
			ents[nents].name = xstrdup(name + plen);
			ents[nents].size = pg.v[i].size;
			ents[nents].mtime = pg.v[i].mtime;
			nents++;
		}
		s3_list_page_free(&pg);
		free(q.out);
		/* No handle is held while fn runs: it may use the store. */
		for (size_t i = 0; i < nents; i++) {
			if (res == 0)
				res = fn(arg, ents[i].name, ents[i].size,
				    ents[i].mtime);
			free(ents[i].name);
		}
		free(ents);
		if (res != 0) {
			rc = res;
			goto out;
		}
		if (!more)
			break;
	}
	rc = 0;
out:
	free(token);
	free(epfx);
	free(pfx);
	return (rc);
}

static int
s3_remove(struct stor *st, const char *name, struct err *e)
{
	struct s3 *s = st->impl;
	struct req q = { 0 };
	char *key = key_of(s, name);
	int rc = -1;

	q.method = "DELETE";
	q.key = key;
	q.query = "";
	q.out_max = S3_ERRBODY_MAX;
	if (call(s, &q, e) == -1)
		goto out;
	if (q.status / 100 != 2 && q.status != 404) {
		status_err(s, &q, name, e);
		goto out;
	}
	rc = 0;
out:
	free(q.out);
	free(key);
	return (rc);
}

/*
 * Every promise of store.h: a PUT that was answered 2xx is stored
 * durably (S3's contract), and a full bucket answers QuotaExceeded or
 * 507, which status_err names as ERR_NOSPACE.
 */
static unsigned
s3_caps(struct stor *st)
{
	(void)st;
	return (STOR_CAPS_ALL);
}

static void
s3_free(struct s3 *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->nidle; i++)
		curl_easy_cleanup(s->idle[i]);
	free(s->idle);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	if (s->secret != NULL)
		freezero(s->secret, s->secretlen + 1);
	free(s->access);
	free(s->location);
	free(s->base);
	free(s->host);
	free(s->bucket);
	free(s->prefix);
	free(s->region);
	free(s->ca_file);
	free(s);
}

static void
s3_close(struct stor *st)
{
	s3_free(st->impl);
}

static const struct stor_ops s3_ops = {
	.get = s3_get,
	.get_range = s3_get_range,
	.put = s3_put,
	.put_stream = s3_put_stream,
	.stat = s3_stat,
	.mtime = s3_mtime,
	.list = s3_list,
	.remove = s3_remove,
	.caps = s3_caps,
	.close = s3_close,
};

/* A key from a file (0600, as every secret), or NULL and 0 when unset. */
static int
read_key(const char *file, const char *what, char **out, size_t *len,
    struct err *e)
{
	struct pass_opts po;
	struct secret *sec = NULL;

	*out = NULL;
	*len = 0;
	memset(&po, 0, sizeof(po));
	po.password_file = file;
	if (pass_get(&po, what, 0, &sec, e) == -1)
		return (err_wrap(e, "%s", what));
	*len = secret_len(sec);
	*out = xmalloc(*len + 1);
	memcpy(*out, secret_data(sec), *len);
	(*out)[*len] = '\0';
	secret_free(sec);
	return (0);
}

static int
credentials(struct s3 *s, const struct url_s3 *u, const struct stor_opts *o,
    struct err *e)
{
	const char *v;
	size_t n;

	if (o->s3_access_key_file != NULL) {
		if (read_key(o->s3_access_key_file, "access_key_file",
		        &s->access, &n, e) == -1)
			return (-1);
	} else if (u->access[0] != '\0')
		s->access = xstrdup(u->access);
	else if ((v = getenv("AWS_ACCESS_KEY_ID")) != NULL && *v != '\0')
		s->access = xstrdup(v);
	else
		return (err_set(e, ERR_USAGE,
		    "%s: no access key: set access_key_file in its "
		    "[repository] section, put it in the URL "
		    "(s3://ACCESS@...), or set AWS_ACCESS_KEY_ID",
		    s->location));
	for (const char *p = s->access; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == ',' || *p == '/')
			return (err_set(e, ERR_CONFIG,
			    "%s: the access key id has a character no key "
			    "id has",
			    s->location));
	if (o->s3_secret_key_file != NULL)
		return (read_key(o->s3_secret_key_file, "secret_key_file",
		    &s->secret, &s->secretlen, e));
	if ((v = getenv("AWS_SECRET_ACCESS_KEY")) != NULL && *v != '\0') {
		s->secretlen = strlen(v);
		s->secret = xstrdup(v);
		return (0);
	}
	return (err_set(e, ERR_USAGE,
	    "%s: no secret key: set secret_key_file in its [repository] "
	    "section, or AWS_SECRET_ACCESS_KEY",
	    s->location));
}

/*
 * Does the bucket keep versions?  Sets s->head_first unless its versioning
 * is read and was never turned on (no <Status>).
 */
static int
read_versioning(struct s3 *s, struct err *e)
{
	struct req q = { 0 };
	int rc = -1;

	q.method = "GET";
	q.query = "versioning=";
	q.out_max = S3_ERRBODY_MAX;
	if (call(s, &q, e) == -1)
		goto out;
	s->head_first = q.status != 200 || q.out == NULL ||
	    memmem(q.out, q.out_len, "<Status>", 8) != NULL;
	rc = 0;
out:
	free(q.out);
	return (rc);
}

/*
 * Virtual-host addressing: does the store take BUCKET.endpoint for the
 * bucket?  A store that serves no buckets under the endpoint's name reads
 * the whole Host as a bucket's name (RGW, for a name not its rgw_dns_name:
 * its 404 names that bucket, which open_bucket would create) or answers
 * for no bucket at all (a list of buckets): either is refused here, before
 * anything is created.  A listing names its bucket; 404 may.
 */
static int
check_virtual_host(struct s3 *s, struct err *e)
{
	struct req q = { 0 };
	const char *body, *end, *v = NULL;
	size_t n = 0;
	int rc = -1;

	q.method = "GET";
	q.query = "list-type=2&max-keys=1";
	q.out_max = S3_LIST_MAX;
	if (call(s, &q, e) == -1)
		goto out;
	body = q.out != NULL ? (const char *)q.out : "";
	end = body + q.out_len;
	if (q.status == 200) {
		if (memmem(body, q.out_len, "<ListBucketResult", 17) != NULL)
			v = s3_xml_find(body, end, "Name", &n);
		if (v == NULL) {
			err_set(e, ERR_CONFIG,
			    "%s: the store answered %s for no bucket: it does "
			    "not serve virtual-host addressing there; set "
			    "path_style = yes, or use the endpoint name the "
			    "store serves buckets under",
			    s->location, s->host);
			goto out;
		}
	} else if (q.status == 404)
		v = s3_xml_find(body, end, "BucketName", &n);
	if (v != NULL &&
	    (n != strlen(s->bucket) || memcmp(v, s->bucket, n) != 0)) {
		char name[64];
		size_t i;

		/* The server's bytes: shown only as a bucket's name could be.
		 */
		for (i = 0; i < n && i < sizeof(name) - 1; i++)
			name[i] =
			    strchr("abcdefghijklmnopqrstuvwxyz0123456789.-",
			        v[i]) != NULL &&
			        v[i] != '\0'
			    ? v[i]
			    : '?';
		name[i] = '\0';
		err_set(e, ERR_CONFIG,
		    "%s: the store took %s for bucket '%s', not '%s': it does "
		    "not serve virtual-host addressing under that name; set "
		    "path_style = yes, or use the endpoint name the store "
		    "serves buckets under (rgw_dns_name on Ceph)",
		    s->location, s->host, name, s->bucket);
		goto out;
	}
	/* Anything else is for open_bucket to judge. */
	rc = 0;
out:
	free(q.out);
	return (rc);
}

/* Is the bucket there?  With create, make it.  ERR_NOREPO when missing. */
static int
open_bucket(struct s3 *s, int create, struct err *e)
{
	struct req q = { 0 };
	char *body = NULL;
	int rc = -1;

	q.method = "HEAD";
	q.query = "";
	if (call(s, &q, e) == -1)
		goto out;
	if (q.status == 200) {
		rc = 0;
		goto out;
	}
	if (q.status == 403) {
		/* A HEAD has no body to tell why: keys or policy alike. */
		err_set(e, ERR_AUTH,
		    "%s: the store refused access to the bucket (HTTP 403): "
		    "check access_key_file and secret_key_file (or "
		    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and the "
		    "bucket's policy",
		    s->location);
		e->sys_errno = EACCES;
		goto out;
	}
	if (q.status != 404) {
		status_err(s, &q, "", e);
		goto out;
	}
	if (!create) {
		err_set(e, ERR_NOREPO, "no repository at %s: no such bucket",
		    s->location);
		goto out;
	}
	free(q.out);
	memset(&q, 0, sizeof(q));
	if (strcmp(s->region, "us-east-1") != 0)
		body =
		    xasprintf("<CreateBucketConfiguration><LocationConstraint>"
		              "%s</LocationConstraint>"
		              "</CreateBucketConfiguration>",
		        s->region);
	q.method = "PUT";
	q.query = "";
	q.body = (const uint8_t *)body;
	q.body_len = body != NULL ? strlen(body) : 0;
	q.out_max = S3_ERRBODY_MAX;
	if (call(s, &q, e) == -1)
		goto out;
	if (q.status / 100 != 2 &&
	    strcmp(q.code, "BucketAlreadyOwnedByYou") != 0) {
		status_err(s, &q, "", e);
		err_wrap(e, "create the bucket");
		goto out;
	}
	rc = 0;
out:
	free(body);
	free(q.out);
	return (rc);
}

/* Is host an IPv4 or IPv6 address (no brackets), not a name? */
static int
is_address(const char *host)
{
	unsigned char a[16];

	return (inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1);
}

int
stor_s3_open(const char *location, const struct stor_opts *o, int create,
    struct stor **out, struct err *e)
{
	struct stor_opts none;
	struct url_s3 u;
	struct s3 *s = xcalloc(1, sizeof(*s));
	struct stor *st;
	char hostport[300];
	int transfers;

	*out = NULL;
	if (o == NULL) {
		memset(&none, 0, sizeof(none));
		o = &none;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->location = xstrdup(location);
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		err_set(e, ERR_INTERNAL, "curl_global_init failed");
		goto fail;
	}
	if (url_parse_s3(location, &u, e) == -1) {
		e->class = ERR_USAGE;
		goto fail;
	}
	if (strchr(u.host, ':') != NULL)
		snprintf(hostport, sizeof(hostport), "[%s]", u.host);
	else
		snprintf(hostport, sizeof(hostport), "%s", u.host);
	if (u.port > 0) {
		size_t n = strlen(hostport);

		snprintf(hostport + n, sizeof(hostport) - n, ":%d", u.port);
	}
	s->insecure = o->s3_insecure_http;
	s->virtual_host = o->s3_virtual_host;
	if (s->virtual_host && is_address(u.host)) {
		err_set(e, ERR_CONFIG,
		    "%s: virtual-host addressing (path_style = no) needs the "
		    "endpoint's DNS name, not an IP address: set path_style = "
		    "yes or name the endpoint",
		    location);
		goto fail;
	}
	s->bucket = xstrdup(u.bucket);
	s->host = s3_sign_host(hostport, u.bucket, s->virtual_host);
	s->base = xasprintf("%s://%s", s->insecure ? "http" : "https", s->host);
	s->prefix = u.prefix[0] ? xasprintf("%s/", u.prefix) : xstrdup("");
	s->region = xstrdup(o->s3_region != NULL ? o->s3_region : "us-east-1");
	if (o->s3_ca_file != NULL)
		s->ca_file = xstrdup(o->s3_ca_file);
	s->connect_timeout = o->connect_timeout ? (long)o->connect_timeout : 10;
	s->io_timeout = o->io_timeout ? (long)o->io_timeout : 60;
	s->retries = o->retries < 0 ? 0 : o->retries == 0 ? 5 : o->retries;
	transfers = o->transfers > 0 ? o->transfers : STOR_SFTP_TRANSFERS;
	s->transfers = transfers;
	/* The limits are shared: each transfer gets its part. */
	if (o->limit_upload > 0)
		s->up_rate =
		    (curl_off_t)(o->limit_upload / (uint64_t)transfers) + 1;
	if (o->limit_download > 0)
		s->down_rate =
		    (curl_off_t)(o->limit_download / (uint64_t)transfers) + 1;
	s->part_size = o->s3_part_size ? o->s3_part_size : S3_PART_DEFAULT;
	if (s->part_size < S3_PART_MIN)
		s->part_size = S3_PART_MIN;
	s->log = o->log;
	s->interrupted = o->interrupted;
	s->idle = xcalloc((size_t)transfers, sizeof(*s->idle));
	if (credentials(s, &u, o, e) == -1 ||
	    (s->virtual_host && check_virtual_host(s, e) == -1) ||
	    open_bucket(s, create, e) == -1 || read_versioning(s, e) == -1)
		goto fail;
	st = xcalloc(1, sizeof(*st));
	st->ops = &s3_ops;
	st->location = xstrdup(location);
	st->impl = s;
	st->transfers = transfers;
	*out = st;
	return (0);
fail:
	s3_free(s);
	return (-1);
}
