/*
 * Storage backends behind one interface: a repository is a set of named,
 * immutable files ("config", "keys/ID", "data/ab/ID", ...) that can be put
 * atomically, read whole or in ranges, listed, and (by prune only) removed.
 * Backends: a local directory (store/local.c), sftp:// (store/sftp.c),
 * s3:// (store/s3.c).
 */
#ifndef COFFER_STORE_H
#define COFFER_STORE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct stor;
struct log;

/*
 * How to reach a remote store (a local path ignores them; s3:// takes the
 * s3_ ones and the timeouts, retries, transfers and limits).
 * Zero / NULL members mean the default given here.  The strings are not
 * copied: they must outlive stor_open_opts.
 */
struct stor_opts {
	const char *identity; /* private key; NULL: agent, ~/.ssh keys */
	const char *identity_passphrase_file; /* for an encrypted identity */
	const char *known_hosts;              /* NULL: ~/.ssh/known_hosts */
	const char *user;                     /* overrides the URL's user */
	int port;                 /* overrides the URL's port (22) */
	unsigned connect_timeout; /* seconds; 0: 10 */
	unsigned io_timeout;      /* seconds; 0: 60 */
	unsigned keepalive;       /* seconds between keepalives; 0: 15;
	                             STOR_KEEPALIVE_OFF: none */
	int retries;              /* network retries; <0: none; 0: 5 */
	int transfers;            /* parallel transfers; 0: 2 */
	uint64_t limit_upload;    /* bytes/s; 0: unlimited */
	uint64_t limit_download;  /* bytes/s; 0: unlimited */
	int accept_new_host_key;  /* record an unknown host key */
	/* s3:// */
	const char *s3_access_key_file; /* NULL: the URL's, AWS_ACCESS_KEY_ID */
	const char *s3_secret_key_file; /* NULL: AWS_SECRET_ACCESS_KEY */
	const char *s3_region;          /* NULL: us-east-1 */
	const char *s3_ca_file;         /* NULL: the system's CAs */
	int s3_insecure_http;           /* plain http:// to the endpoint */
	int s3_virtual_host;   /* bucket.endpoint, not endpoint/bucket */
	uint64_t s3_part_size; /* multipart above this many bytes, in parts
	                          of it; 0: 64 MiB (tests set less) */
	struct log *log;       /* notices (retries); may be NULL */
	volatile sig_atomic_t *interrupted; /* may be NULL */
};

#define STOR_KEEPALIVE_OFF (~0u)

/* stor_put flags */
#define STOR_NOREPLACE 0x1 /* fail (sys_errno EEXIST) if the name exists */
/*
 * Atomic but not durable: no fsync, so a crash may lose the file or leave
 * it shorter than written.  Only for files whose loss changes nothing and
 * whose bytes cannot tear: the empty tombstones of a prune.
 */
#define STOR_NOSYNC 0x2
/*
 * Durable only once stor_sync returns: a store that can make many files
 * durable at once (a local directory: one syncfs) skips the fsyncs of
 * this put; others publish it durably as usual.  Until then a crash may
 * lose the file or leave it shorter than written under its name, so the
 * caller must be able to tell (files named by their hash) and must not
 * rely on it, e.g. by removing the only other copy, before stor_sync.
 */
#define STOR_LATER 0x4

/*
 * Open the store at location: a local path, sftp://[user@]host[:port]/path
 * (a path starting "/~/" is relative to the login directory), or
 * s3://[access@]endpoint[:port]/bucket[/prefix] (https unless
 * opts->s3_insecure_http; with create, a missing bucket is made; refused
 * keys fail with ERR_AUTH, a TLS certificate that does not verify with
 * ERR_HOSTKEY).  The location
 * need not hold a repository yet; with create, a missing directory is made
 * (mode 0700).  An sftp:// store connects here: an unknown or changed host
 * key fails with ERR_HOSTKEY, refused authentication with ERR_AUTH.  Its
 * operations may be called from several threads at once.
 */
int stor_open(const char *location, int create, struct stor **out,
    struct err *);
/* stor_open with options for a remote store (opts may be NULL). */
int stor_open_opts(const char *location, const struct stor_opts *opts,
    int create, struct stor **out, struct err *);
void stor_close(struct stor *);

/* The location as given to stor_open, for messages. */
const char *stor_location(const struct stor *);

/*
 * How many requests a store across a network serves at once (its
 * transfers), or 0 for a local directory.
 */
int stor_transfers(const struct stor *);

/*
 * Read a whole file of at most max bytes.  A missing file fails with
 * sys_errno ENOENT; a larger one with ERR_CORRUPT.  *data is allocated.
 */
int stor_get(struct stor *, const char *name, size_t max, uint8_t **data,
    size_t *len, struct err *);

/*
 * Read exactly len bytes at off; a file too short is ERR_CORRUPT.  A
 * backend may keep the file open for the next range (sftp does, one file
 * per session): this store's own puts and removes are always seen, but a
 * file another process removed or replaced may still read as it was.
 * The repository's ranged reads are of packs, whose name is the hash of
 * their bytes, so that file is the same one.
 */
int stor_get_range(struct stor *, const char *name, uint64_t off, size_t len,
    uint8_t *buf, struct err *);

/*
 * Publish a file atomically and durably: it appears complete under its
 * name or not at all, whatever moment a crash hits.  Missing parent
 * directories are created.
 */
int stor_put(struct stor *, const char *name, const uint8_t *data, size_t len,
    int flags, struct err *);

/*
 * Where stor_put_stream gets a file's bytes.  read(arg, off, buf, len, e)
 * fills buf with exactly len bytes of the file at offset off: the backend
 * asks for them in order from 0, and starts again at 0 when it retries
 * the put after a network fault.  done(arg, e) is called once all len
 * bytes are written, before the file is published: -1 there (e set)
 * abandons the file, and nothing appears under its name.  An error of
 * read or done is handed back unchanged and never retried.
 */
struct stor_reader {
	int (*read)(void *arg, uint64_t off, uint8_t *buf, size_t len,
	    struct err *);
	int (*done)(void *arg, struct err *);
	void *arg;
};

/* The most a backend holds of a streamed file at once (its buffer). */
#define STOR_STREAM_BUF ((size_t)4 << 20)

/*
 * stor_put for a file of len bytes that need not fit in memory: the same
 * publishing (a temp name, fsync, rename; with STOR_NOREPLACE an existing
 * name fails with sys_errno EEXIST and is left alone), the bytes pulled
 * from r through a buffer of at most STOR_STREAM_BUF bytes.
 */
int stor_put_stream(struct stor *, const char *name, uint64_t len,
    const struct stor_reader *r, int flags, struct err *);

/* 0 and *size if the file exists, 1 if it does not, -1 on error. */
int stor_stat(struct stor *, const char *name, uint64_t *size, struct err *);

/*
 * 0 and the file's modification time in *mtime (seconds since the epoch,
 * as the store's host keeps it: a store written over the append-only
 * recipe sets it on arrival, and the writer cannot change it); 1 if the
 * file does not exist; -1 on error.  *mtime is INT64_MIN when the backend
 * does not report one.
 */
int stor_mtime(struct stor *, const char *name, int64_t *mtime, struct err *);

/*
 * Call fn for every file below dir (recursively), with names relative to
 * the store's root, in no particular order; temp files are skipped.  A
 * missing dir lists nothing.  Stops at fn's first non-zero result and
 * returns it.
 */
int stor_list(struct stor *, const char *dir,
    int (*fn)(void *, const char *name, uint64_t size), void *arg,
    struct err *);

/*
 * The files stor_list leaves out: fn(arg, name, size, mtime) for each
 * regular file below dir whose name has a component starting with '.'
 * (temp files of puts in flight, or a file someone hid), dot-named
 * directories entered too; mtime is in seconds since the epoch as the
 * store's host keeps it, INT64_MIN when the backend does not report one.
 * Such names fail stor_name_valid: they are for reporting, not to read.
 * Both listings enter directories no deeper than the repository layout
 * has (data/ab/<id>: three components); deeper ones are skipped.
 */
int stor_list_hidden(struct stor *, const char *dir,
    int (*fn)(void *, const char *name, uint64_t size, int64_t mtime),
    void *arg, struct err *);

/*
 * True if name's last component has the form of the temp files puts make
 * before they rename them into place (both backends' forms).
 */
int stor_name_temp(const char *name);

/*
 * Capabilities: what a store keeps of this file's promises, found when it
 * is opened (an sftp:// server is asked once, as OpenSSH's sftp-client
 * reads its extension flags).  A store that lacks one still works, and
 * says so once in a warning (to stor_opts.log).
 *
 * STOR_CAP_FSYNC: a put's bytes are on stable storage before the name
 * appears ("durably" above); an sftp:// server needs fsync@openssh.com.
 * STOR_CAP_STATVFS: free space can be asked, so a full target is named as
 * such (ERR_NOSPACE) where the server reports only a bare failure.
 */
#define STOR_CAP_FSYNC   0x1
#define STOR_CAP_STATVFS 0x2
#define STOR_CAPS_ALL    (STOR_CAP_FSYNC | STOR_CAP_STATVFS)

/* The STOR_CAP_* bits st has (a local directory has them all). */
unsigned stor_caps(struct stor *st);

/* A short name for one STOR_CAP_* bit ("fsync"), for --json. */
const char *stor_cap_name(unsigned cap);

/* One sentence: what lacking the STOR_CAP_* bit cap means, and what to do. */
const char *stor_cap_lack(unsigned cap);

/* Make every file put with STOR_LATER before this call durable. */
int stor_sync(struct stor *, struct err *);

/* Remove a file; a missing file is not an error. */
int stor_remove(struct stor *, const char *name, struct err *);

/*
 * True if name is a valid repository file name: relative, components of
 * [A-Za-z0-9._-] not starting with '.', separated by single '/'.
 */
int stor_name_valid(const char *name);

/* The libssh2 library the sftp:// backend uses, e.g. "1.10.0". */
const char *stor_sftp_version(void);

#endif
