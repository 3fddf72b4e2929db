/*
 * Private to lib/store/sftp*.c: the session, pool and host-key structures
 * the sftp:// backend's files share.
 */
#ifndef COFFER_SFTP_IMPL_H
#define COFFER_SFTP_IMPL_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "err.h"
#include "store/store_impl.h"

struct log;

struct conn {
	int fd;
	LIBSSH2_SESSION *ssh;
	LIBSSH2_SFTP *sftp;
	int busy;         /* checked out by a thread (or the keepalive) */
	int broken;       /* must not be used again: close it */
	int64_t last_out; /* ms (monotonic) when we last sent anything */
	/*
	 * The file the last ranged read opened, kept open for the next one:
	 * a restore reads many blobs of one pack in a row, and reopening it
	 * cost two of every three round trips.  Closed with the session.
	 */
	LIBSSH2_SFTP_HANDLE *rh;
	char *rh_path;
	uint64_t rh_gen; /* the store's wgen when rh was opened */
};

/* Bytes per second, shared by every session of a store. */
struct bucket {
	pthread_mutex_t mu;
	uint64_t rate; /* 0: unlimited */
	double next;   /* s (monotonic) when the next byte may go */
};

struct sftp {
	struct stor_sftp_target t;
	char *known_hosts;
	char *identity;
	char *identity_pass; /* NUL-terminated, wiped at close */
	unsigned connect_timeout, io_timeout, keepalive;
	int retries;
	int accept_new;
	struct log *log;
	volatile sig_atomic_t *interrupted;
	struct bucket up, down;

	pthread_mutex_t mu;
	pthread_cond_t cv; /* a connection came back; or closing */
	struct conn *conns;
	int nconns;
	int closing;
	int trouble; /* a session broke: say no goodbyes at close */
	int gave_up; /* retries ran out: fail at once from now on */
	struct err gave_up_err;
	pthread_t ka_thread;
	int ka_running;
	unsigned caps;    /* STOR_CAP_*, asked at open (op_caps); under mu */
	int fsync_warned; /* the missing fsync was said, once */
	uint64_t wgen;    /* bumped after each put and remove; under mu */
};

struct kh_file {
	const char *path;
	struct kh_ent *ents;
	size_t n, cap;
	LIBSSH2_SESSION *ssh;       /* for hashed names; not owned */
	LIBSSH2_KNOWNHOSTS *hashed; /* scratch collection for hashed names */
};

/* An operation on one session; attempt counts from 0 (sftp_run_op). */
typedef int (*sftp_op_fn)(struct sftp *, struct conn *, void *, int attempt,
    struct err *);

/* sftp_conn.c */
int64_t sftp_now_ms(void);
int sftp_interrupted(const struct sftp *);
const char *sftp_ssh_msg(LIBSSH2_SESSION *);
int sftp_bucket_take(struct sftp *, struct bucket *, size_t, struct err *);
size_t sftp_io_chunk(const struct bucket *);
int sftp_conn_wait(struct sftp *, struct conn *, int64_t deadline,
    struct err *);
int64_t sftp_io_deadline(const struct sftp *);
int sftp_conn_fail(struct sftp *, struct conn *, int rc, const char *what,
    const char *path, struct err *);
int sftp_identity_check(const char *path, struct err *);
void sftp_conn_close(struct conn *);
void *sftp_keepalive_main(void *);
int sftp_run_op(struct sftp *, sftp_op_fn, void *, struct err *);

/* sftp_hostkey.c */
int sftp_kh_read(LIBSSH2_SESSION *, const char *file, struct kh_file *,
    struct err *);
void sftp_kh_free(struct kh_file *);
void sftp_kh_name(const char *host, int port, char *out, size_t outsz);
int sftp_kh_methods(struct kh_file *, const char *name, char *out, size_t outsz,
    struct err *);
/* Every host-key method coffer can verify, strongest first, in out. */
void sftp_kh_all_methods(char *out, size_t outsz);
int sftp_verify_host_key(struct sftp *, struct conn *, struct kh_file *,
    struct err *);

#endif
