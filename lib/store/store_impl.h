/*
 * What a backend implements.  Only lib/store/ includes this.
 */
#ifndef COFFER_STORE_IMPL_H
#define COFFER_STORE_IMPL_H

#include "store/store.h"

struct stor_ops {
	int (*get)(struct stor *, const char *, size_t, uint8_t **, size_t *,
	    struct err *);
	int (*get_range)(struct stor *, const char *, uint64_t, size_t,
	    uint8_t *, struct err *);
	int (*put)(struct stor *, const char *, const uint8_t *, size_t, int,
	    struct err *);
	int (*put_stream)(struct stor *, const char *, uint64_t,
	    const struct stor_reader *, int, struct err *);
	int (*stat)(struct stor *, const char *, uint64_t *, struct err *);
	int (*mtime)(struct stor *, const char *, int64_t *, struct err *);
	/*
	 * list(st, dir, flags, fn, arg, e): fn(arg, name, size, mtime) for
	 * each regular file below dir (mtime in seconds since the epoch,
	 * INT64_MIN when unknown), directories entered down to
	 * STOR_LIST_DEPTH components.  Names starting with '.' (".", ".."
	 * never) are left out, unless flags has STOR_LIST_DOT: then dot-named
	 * files are listed and dot-named directories entered too.
	 */
	int (*list)(struct stor *, const char *, int,
	    int (*)(void *, const char *, uint64_t, int64_t), void *,
	    struct err *);
	int (*remove)(struct stor *, const char *, struct err *);
	/* STOR_LATER's promise; NULL: every put is durable already. */
	int (*sync)(struct stor *, struct err *);
	unsigned (*caps)(struct stor *); /* STOR_CAP_*, NULL: all */
	void (*close)(struct stor *);
};

/* ops->list flags */
#define STOR_LIST_DOT 0x1

/*
 * A listing believes the store no further than the repository layout
 * needs (doc/FORMAT.md): its deepest files are data/<2 hex>/<id>, three
 * components, so no directory is entered whose files would have more.
 */
#define STOR_LIST_DEPTH 3

/*
 * Sleep ms milliseconds (a backend's backoff), looking at *interrupted
 * (may be NULL) every slice ms: -1 with ERR_INTERRUPTED once it is set.
 */
int stor_nap(const volatile sig_atomic_t *interrupted, int64_t ms,
    int64_t slice, struct err *e);

/* The components of a name below the root: "data/ab" has 2. */
size_t stor_name_depth(const char *name);

struct stor {
	const struct stor_ops *ops;
	char *location;
	void *impl;
	int transfers; /* requests it serves at once; 0: a local directory */
};

int stor_local_open(const char *path, int create, struct stor **out,
    struct err *);

/* sftp:// (store/sftp.c).  opts may be NULL. */
int stor_sftp_open(const char *url, const struct stor_opts *opts, int create,
    struct stor **out, struct err *);

/* s3:// (store/s3.c).  opts may be NULL. */
int stor_s3_open(const char *url, const struct stor_opts *opts, int create,
    struct stor **out, struct err *);

/* The default number of sessions (transfers); measured, see FORMAT.md. */
#define STOR_SFTP_TRANSFERS 2

/* Where an sftp:// URL leads, with the options applied. */
struct stor_sftp_target {
	char user[256];     /* opts->user, the URL's, or the login name */
	char host[256];     /* without IPv6 brackets */
	int port;           /* opts->port, the URL's, or 22 */
	char root[4096];    /* "/abs/path", or "rel" below the login dir */
	char hostport[300]; /* "host", or "[host]:port" as known_hosts has it */
};

/*
 * Split sftp://[user@]host[:port]/path.  A path starting with "/~/" (or
 * just "/~") is relative to the login directory; trailing slashes go.
 * ERR_USAGE when malformed.
 */
int stor_sftp_parse_url(const char *url, const struct stor_opts *,
    struct stor_sftp_target *, struct err *);

/* A SHA-256 key fingerprint as OpenSSH prints it: "SHA256:" + base64. */
#define STOR_SFTP_FP_LEN 64
void stor_sftp_fingerprint(const uint8_t sha256[32], char *out, size_t outsz);

/*
 * known_hosts file is read as OpenSSH reads it (sshd(8), SSH_KNOWN_HOSTS
 * FILE FORMAT): host patterns with '*', '?', '!' and comma lists, hashed
 * names, a plain name standing for port 22 only ("[host]:port" for the
 * others), @revoked and @cert-authority markers.  A missing file holds
 * nothing.
 *
 * stor_sftp_kh_methods: the host-key methods for host:port that file
 * holds keys of (and does not revoke), strongest first and comma
 * separated, "" when none.
 */
int stor_sftp_kh_methods(const char *file, const char *host, int port,
    char *out, size_t outsz, struct err *);

/*
 * Judge the key (SSH wire format, keylen bytes) that host:port offered:
 * 0 when a line for the host holds it; 1 when file has no line at all for
 * the host (e holds the refusal, ERR_HOSTKEY, for when the key is not to
 * be recorded); -1 when refused, with ERR_HOSTKEY and the reason: the key
 * is @revoked on any line whatever host that line names, the host has
 * another key of the type, keys of other types only, or only a
 * @cert-authority line (coffer cannot check host certificates).  Reading
 * the file can fail too (ERR_CONFIG).
 */
int stor_sftp_kh_verify(const char *file, const char *host, int port,
    const uint8_t *key, size_t keylen, struct err *);

/*
 * Append host:port's key (raw, as the server sent it; hk_type a
 * LIBSSH2_HOSTKEY_TYPE_*) to known_hosts file, which is created 0600 if
 * missing.
 */
int stor_sftp_kh_record(const char *file, const char *host, int port,
    const char *key, size_t keylen, int hk_type, struct err *);

#endif
