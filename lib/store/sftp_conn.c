/*
 * sftp:// sessions: waiting with deadlines, connecting and
 * authenticating, the pool of sessions, retries (sftp_run_op).
 */
#include <sys/types.h>

#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "crypto.h"
#include "log.h"
#include "passphrase.h"
#include "secfile.h"
#include "store/sftp_exec.h"
#include "store/sftp_impl.h"
#include "store/store_impl.h"
#include "xmalloc.h"

/*
 * One libssh2_sftp_read/write call's buffer sets the pipeline depth: 2 MiB
 * measured best against OpenSSH 9.2 (doc/FORMAT.md, "sftp:// transport").
 */
#define SFTP_IO_CHUNK    (2u << 20)
#define SFTP_POLL_SLICE  200 /* ms: how often waits look at the interrupt */
#define SFTP_BACKOFF_MAX 30  /* s */
/*
 * After an interrupt, a wait gives the server this long (ms) more: the
 * cleanup that follows (removing a lock file) is short and should
 * happen, but nothing may hold up the exit.  Transfers stop at once.
 */
#define SFTP_INTR_GRACE 2000

/* ------------------------------------------------------------ helpers */

int64_t
sftp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int
sftp_interrupted(const struct sftp *s)
{
	return (s->interrupted != NULL && *s->interrupted);
}

/* Sleep ms, waking up for an interrupt; -1 (e set) when interrupted. */
static int
nap(struct sftp *s, int64_t ms, struct err *e)
{
	return (stor_nap(s->interrupted, ms, SFTP_POLL_SLICE, e));
}

const char *
sftp_ssh_msg(LIBSSH2_SESSION *ssh)
{
	char *msg = NULL;

	if (ssh == NULL)
		return ("no session");
	libssh2_session_last_error(ssh, &msg, NULL, 0);
	return (msg != NULL && msg[0] != '\0' ? msg : "unknown libssh2 error");
}

/*
 * The token bucket: reserve n bytes of the rate and sleep until they may
 * go.  Sessions share it, so the limit holds for the whole store.
 */
int
sftp_bucket_take(struct sftp *s, struct bucket *b, size_t n, struct err *e)
{
	double now, start, wait;

	if (b->rate == 0)
		return (0);
	now = (double)sftp_now_ms() / 1000.0;
	pthread_mutex_lock(&b->mu);
	start = b->next > now ? b->next : now;
	/* An idle second does not buy a burst of more than a second. */
	if (start < now - 1.0)
		start = now - 1.0;
	b->next = start + (double)n / (double)b->rate;
	wait = b->next - now;
	pthread_mutex_unlock(&b->mu);
	if (wait <= 0)
		return (0);
	return (nap(s, (int64_t)(wait * 1000.0), e));
}

/* The largest piece to move at once under a rate limit: about 1/4 s. */
size_t
sftp_io_chunk(const struct bucket *b)
{
	uint64_t c;

	if (b->rate == 0)
		return (SFTP_IO_CHUNK);
	c = b->rate / 4;
	if (c < 32768)
		c = 32768;
	return (c > SFTP_IO_CHUNK ? SFTP_IO_CHUNK : (size_t)c);
}

/* ------------------------------------------------------------ waiting */

/*
 * Wait until libssh2 can go on, at most until deadline (ms): the socket is
 * polled for the directions the session is blocked on.  A deadline passed
 * means the server or the network stalled: ERR_NET, session broken.
 */
int
sftp_conn_wait(struct sftp *s, struct conn *c, int64_t deadline, struct err *e)
{
	int64_t grace = 0;

	for (;;) {
		struct pollfd pfd;
		int64_t left = deadline - sftp_now_ms();
		int dir = libssh2_session_block_directions(c->ssh), r;

		if (sftp_interrupted(s)) {
			if (grace == 0)
				grace = sftp_now_ms() + SFTP_INTR_GRACE;
			if (sftp_now_ms() >= grace) {
				c->broken = 1;
				return (
				    err_set(e, ERR_INTERRUPTED, "interrupted"));
			}
			if (grace - sftp_now_ms() < left)
				left = grace - sftp_now_ms();
		}
		if (left <= 0) {
			c->broken = 1;
			return (err_set(e, ERR_NET,
			    "%s: no answer for %u s (the connection stalled "
			    "or was lost)",
			    s->t.hostport, s->io_timeout));
		}
		pfd.fd = c->fd;
		pfd.events = 0;
		if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
			pfd.events |= POLLIN;
		if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
			pfd.events |= POLLOUT;
		if (pfd.events == 0)
			pfd.events = POLLIN | POLLOUT; /* just try again */
		r = poll(&pfd, 1,
		    (int)(left < SFTP_POLL_SLICE ? left : SFTP_POLL_SLICE));
		if (r > 0)
			return (0);
		if (r == -1 && errno != EINTR) {
			c->broken = 1;
			return (err_sys(e, ERR_NET, "poll"));
		}
	}
}

int64_t
sftp_io_deadline(const struct sftp *s)
{
	return (sftp_now_ms() + (int64_t)s->io_timeout * 1000);
}

/*
 * The error for a libssh2 call on c that failed with rc (not EAGAIN):
 * an SFTP status maps to a file error, anything else to ERR_NET with the
 * session marked broken.
 */
int
sftp_conn_fail(struct sftp *s, struct conn *c, int rc, const char *what,
    const char *path, struct err *e)
{
	unsigned long fx;
	int cls = ERR_IO, eno = 0;
	const char *why;

	if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL || c->sftp == NULL) {
		c->broken = 1;
		return (err_set(e, ERR_NET, "%s %s on %s: %s", what, path,
		    s->t.hostport, sftp_ssh_msg(c->ssh)));
	}
	fx = libssh2_sftp_last_error(c->sftp);
	switch (fx) {
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		why = "no such file or directory";
		eno = ENOENT;
		break;
	case LIBSSH2_FX_PERMISSION_DENIED:
	case LIBSSH2_FX_WRITE_PROTECT:
		why = "permission denied (by the server)";
		eno = EACCES;
		break;
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:
		why = "file exists";
		eno = EEXIST;
		break;
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		cls = ERR_NOSPACE;
		eno = ENOSPC;
		why = "no space left on the target";
		break;
	case LIBSSH2_FX_OP_UNSUPPORTED:
		why = "not supported by the server";
		eno = ENOTSUP;
		break;
	case LIBSSH2_FX_NO_CONNECTION:
	case LIBSSH2_FX_CONNECTION_LOST:
		c->broken = 1;
		cls = ERR_NET;
		why = "connection lost";
		break;
	default:
		why = "the server reports a failure";
		eno = EIO;
		break;
	}
	err_set(e, (enum err_class)cls, "%s %s on %s: %s (SFTP status %lu)",
	    what, path, s->t.hostport, why, fx);
	e->sys_errno = eno;
	return (-1);
}

/* ------------------------------------------------------------ connecting */

static int
tcp_connect(struct sftp *s, struct conn *c, int64_t deadline, struct err *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	int gai, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", s->t.port);
	if ((gai = getaddrinfo(s->t.host, port, &hints, &res)) != 0)
		return (err_set(e, ERR_NET, "%s: %s", s->t.host,
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai)));
	err_set(e, ERR_NET, "%s: no address", s->t.host);
	for (ai = res; ai != NULL && c->fd == -1; ai = ai->ai_next) {
		int fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		struct pollfd pfd;
		socklen_t sl = sizeof(int);
		int soerr = 0, r;

		if (fd == -1) {
			err_sys(e, ERR_NET, "socket");
			continue;
		}
		/* Without it SFTP reads crawl (see doc/FORMAT.md). */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
		    errno != EINPROGRESS) {
			err_sys(e, ERR_NET, "connect to %s", s->t.hostport);
			close(fd);
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (sftp_interrupted(s) &&
		    deadline > sftp_now_ms() + SFTP_INTR_GRACE)
			deadline = sftp_now_ms() + SFTP_INTR_GRACE;
		for (;;) {
			int64_t left = deadline - sftp_now_ms();

			if (left <= 0) {
				r = 0;
				break;
			}
			r = poll(&pfd, 1,
			    (int)(left < SFTP_POLL_SLICE ? left
			                                 : SFTP_POLL_SLICE));
			if (r != 0 && !(r == -1 && errno == EINTR))
				break;
		}
		if (r == 0) {
			err_set(e, ERR_NET,
			    "connect to %s: no answer within %u s",
			    s->t.hostport, s->connect_timeout);
			close(fd);
			continue;
		}
		if (r == -1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 ||
		    soerr != 0) {
			if (soerr != 0)
				errno = soerr;
			err_sys(e, ERR_NET, "connect to %s", s->t.hostport);
			close(fd);
			continue;
		}
		c->fd = fd;
	}
	freeaddrinfo(res);
	return (c->fd == -1 ? -1 : 0);
}

/*
 * The key type of a private key file: "ssh-rsa", "ssh-ed25519", ... as far
 * as it can be told without the passphrase, or "" when it cannot.
 */
static void
key_file_type(const char *path, char *out, size_t outsz)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char text[1024];
	uint8_t bin[700];
	size_t n = 0, nb = 0, off;
	unsigned long acc = 0;
	int bits = 0;
	FILE *f;
	const char *p;

	out[0] = '\0';
	if ((f = fopen(path, "re")) == NULL)
		return;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (strstr(text, "-----BEGIN RSA PRIVATE KEY-----") != NULL) {
		snprintf(out, outsz, "ssh-rsa");
		return;
	}
	if (strstr(text, "-----BEGIN EC PRIVATE KEY-----") != NULL) {
		snprintf(out, outsz, "ecdsa");
		return;
	}
	if ((p = strstr(text, "-----BEGIN OPENSSH PRIVATE KEY-----")) == NULL)
		return;
	p = strchr(p, '\n');
	for (; p != NULL && *p != '\0' && *p != '-' && nb < sizeof(bin); p++) {
		const char *q = strchr(b64, *p);

		if (*p == '\n' || *p == '\r' || q == NULL)
			continue;
		acc = (acc << 6) | (unsigned long)(q - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			bin[nb++] = (uint8_t)(acc >> bits);
		}
	}
	/* "openssh-key-v1\0", cipher, kdf, kdf options, nkeys, public key */
	if (nb < 15 || memcmp(bin, "openssh-key-v1", 15) != 0)
		return;
	off = 15;
	for (int i = 0; i < 3; i++) {
		uint32_t l;

		if (off + 4 > nb)
			return;
		l = (uint32_t)bin[off] << 24 | (uint32_t)bin[off + 1] << 16 |
		    (uint32_t)bin[off + 2] << 8 | bin[off + 3];
		off += 4 + l;
	}
	off += 4 + 4; /* nkeys, the public key's length */
	if (off + 4 <= nb) {
		uint32_t l = (uint32_t)bin[off] << 24 |
		    (uint32_t)bin[off + 1] << 16 | (uint32_t)bin[off + 2] << 8 |
		    bin[off + 3];

		off += 4;
		if (off + l <= nb && l < outsz) {
			memcpy(out, bin + off, l);
			out[l] = '\0';
		}
	}
}

#define RSA_ADVICE                                                             \
	"libssh2 " LIBSSH2_VERSION " (this build) cannot sign with "           \
	"rsa-sha2-256/512, which OpenSSH 8.8 and later require for RSA keys; " \
	"use an ed25519 key (ssh-keygen -t ed25519) and put its .pub line in " \
	"the server's authorized_keys"

static int
rsa_unusable(void)
{
#if LIBSSH2_VERSION_NUM < 0x010b00
	return (1);
#else
	return (0);
#endif
}

/*
 * A private key that group or others can read or write is refused, as
 * ssh(1) refuses it ("UNPROTECTED PRIVATE KEY FILE"), with the chmod that
 * fixes it.  A key that cannot be opened is left to the login to report.
 */
int
sftp_identity_check(const char *path, struct err *e)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1)
		return (0);
	rc = secfile_check_secret(fd, path, "identity", e);
	close(fd);
	return (rc);
}

/* 0: in; 1: refused (tried noted); -1: another error (e set). */
static int
auth_file(struct sftp *s, struct conn *c, const char *file, const char *pass,
    int configured, char *tried, size_t triedsz, struct err *e)
{
	int64_t deadline = sftp_io_deadline(s);
	size_t tl = strlen(tried);
	int rc;

	while ((rc = libssh2_userauth_publickey_fromfile_ex(c->ssh, s->t.user,
	            (unsigned int)strlen(s->t.user), NULL, file, pass)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (sftp_conn_wait(s, c, deadline, e) == -1)
			return (-1);
	switch (rc) {
	case 0:
		return (0);
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
	case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
	case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
		snprintf(tried + tl, triedsz - tl, "%skey %s", tl ? ", " : "",
		    file);
		return (1);
	case LIBSSH2_ERROR_FILE:
		if (configured)
			return (err_set(e, ERR_AUTH,
			    "identity %s cannot be read or decrypted (%s); "
			    "an encrypted key needs identity_passphrase_file",
			    file, sftp_ssh_msg(c->ssh)));
		snprintf(tried + tl, triedsz - tl,
		    "%skey %s (unreadable or encrypted)", tl ? ", " : "", file);
		return (1);
	default:
		return (sftp_conn_fail(s, c, rc, "authenticating as", s->t.user,
		    e));
	}
}

static int
auth_agent(struct sftp *s, struct conn *c, char *tried, size_t triedsz,
    struct err *e)
{
	LIBSSH2_AGENT *ag = NULL;
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	size_t tl = strlen(tried);
	int rc, n = 0, nrsa = 0, ret = 1;

	if ((ag = libssh2_agent_init(c->ssh)) == NULL)
		return (1);
	if (libssh2_agent_connect(ag) != 0 ||
	    libssh2_agent_list_identities(ag) != 0) {
		snprintf(tried + tl, triedsz - tl, "%sssh-agent (unreachable)",
		    tl ? ", " : "");
		goto out;
	}
	while ((rc = libssh2_agent_get_identity(ag, &id, prev)) == 0) {
		int64_t deadline = sftp_io_deadline(s);

		prev = id;
		if (rsa_unusable() && id->blob_len > 11 &&
		    memcmp(id->blob + 4, "ssh-rsa", 7) == 0) {
			nrsa++;
			continue;
		}
		n++;
		while ((rc = libssh2_agent_userauth(ag, s->t.user, id)) ==
		    LIBSSH2_ERROR_EAGAIN)
			if (sftp_conn_wait(s, c, deadline, e) == -1) {
				ret = -1;
				goto out;
			}
		if (rc == 0) {
			ret = 0;
			goto out;
		}
		if (rc != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED &&
		    rc != LIBSSH2_ERROR_AUTHENTICATION_FAILED &&
		    rc != LIBSSH2_ERROR_AGENT_PROTOCOL) {
			ret = sftp_conn_fail(s, c, rc, "authenticating as",
			    s->t.user, e);
			goto out;
		}
	}
	snprintf(tried + tl, triedsz - tl, "%sssh-agent (%d key%s%s)",
	    tl ? ", " : "", n, n == 1 ? "" : "s",
	    nrsa > 0 ? "; its RSA keys skipped: " RSA_ADVICE : "");
out:
	if (ag != NULL) {
		libssh2_agent_disconnect(ag);
		libssh2_agent_free(ag);
	}
	return (ret);
}

/*
 * Is the connection still up?  libssh2 1.10 reports a connection lost
 * while it waits for the server's answer to a key as a refused key, so a
 * refusal is only believed while the socket is open.
 */
static int
conn_alive(const struct conn *c)
{
	char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return (n > 0 ||
	    (n == -1 &&
	        (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)));
}

static int
authenticate(struct sftp *s, struct conn *c, struct err *e)
{
	char tried[1024] = "", type[64];
	const char *home = getenv("HOME");
	int rc;

	if (s->identity != NULL) {
		key_file_type(s->identity, type, sizeof(type));
		if (rsa_unusable() && strcmp(type, "ssh-rsa") == 0)
			return (err_set(e, ERR_AUTH,
			    "identity %s is an RSA key: " RSA_ADVICE,
			    s->identity));
		rc = auth_file(s, c, s->identity, s->identity_pass, 1, tried,
		    sizeof(tried), e);
	} else {
		struct passwd *pw;
		char *file;
		static const char *const defaults[] = { "id_ed25519",
			"id_ecdsa" };

		rc = 1;
		if (getenv("SSH_AUTH_SOCK") != NULL)
			rc = auth_agent(s, c, tried, sizeof(tried), e);
		if ((home == NULL || home[0] == '\0') &&
		    (pw = getpwuid(geteuid())) != NULL)
			home = pw->pw_dir;
		for (size_t i = 0; rc == 1 && home != NULL && i < 2; i++) {
			struct err ie;

			file = xasprintf("%s/.ssh/%s", home, defaults[i]);
			if (access(file, R_OK) == 0 &&
			    sftp_identity_check(file, &ie) == -1) {
				size_t tl = strlen(tried);

				/* ssh(1) skips such a key too. */
				snprintf(tried + tl, sizeof(tried) - tl,
				    "%skey %s (not used: %s)", tl ? ", " : "",
				    file, ie.msg);
			} else if (access(file, R_OK) == 0)
				rc = auth_file(s, c, file, NULL, 0, tried,
				    sizeof(tried), e);
			free(file);
		}
	}
	if (rc == 1 && !conn_alive(c)) {
		c->broken = 1;
		return (err_set(e, ERR_NET,
		    "connection to %s lost during authentication",
		    s->t.hostport));
	}
	if (rc == 1)
		return (err_set(e, ERR_AUTH,
		    "%s@%s refused authentication (tried: %s)", s->t.user,
		    s->t.hostport,
		    tried[0] ? tried
		             : "nothing: no identity configured, no "
		               "ssh-agent, no ~/.ssh/id_ed25519 or id_ecdsa"));
	return (rc);
}

void
sftp_conn_close(struct conn *c)
{
	if (c->ssh != NULL) {
		if (c->broken && c->fd != -1)
			/* Nothing left to say: make every send fail fast. */
			shutdown(c->fd, SHUT_RDWR);
		else
			libssh2_session_set_timeout(c->ssh, 5000);
		libssh2_session_set_blocking(c->ssh, 1);
		/* Fails at once on a shut socket; frees the handle anyway. */
		if (c->rh != NULL)
			(void)libssh2_sftp_close_handle(c->rh);
		if (c->sftp != NULL)
			libssh2_sftp_shutdown(c->sftp);
		if (!c->broken)
			libssh2_session_disconnect(c->ssh, "coffer done");
		libssh2_session_free(c->ssh);
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->ssh = NULL;
	c->sftp = NULL;
	c->rh = NULL;
	free(c->rh_path);
	c->rh_path = NULL;
	c->broken = 0;
}

static int
conn_open(struct sftp *s, struct conn *c, struct err *e)
{
	struct kh_file kf;
	char prefs[256], name[300];
	int64_t deadline = sftp_now_ms() + (int64_t)s->connect_timeout * 1000;
	int rc = -1, r;

	memset(&kf, 0, sizeof(kf));
	c->fd = -1;
	c->broken = 0;
	if ((c->ssh = libssh2_session_init()) == NULL) {
		err_set(e, ERR_INTERNAL, "libssh2_session_init failed");
		goto out;
	}
	if (sftp_kh_read(c->ssh, s->known_hosts, &kf, e) == -1)
		goto out;
	sftp_kh_name(s->t.host, s->t.port, name, sizeof(name));
	if (sftp_kh_methods(&kf, name, prefs, sizeof(prefs), e) == -1)
		goto out;
	/*
	 * Nothing known: the check will refuse the key, and the message (or
	 * --accept-new-host-key) should name the one OpenSSH would use.
	 */
	if (prefs[0] == '\0')
		sftp_kh_all_methods(prefs, sizeof(prefs));
	if (libssh2_session_method_pref(c->ssh, LIBSSH2_METHOD_HOSTKEY,
	        prefs) != 0) {
		err_set(e, ERR_INTERNAL, "host key methods %s: %s", prefs,
		    sftp_ssh_msg(c->ssh));
		goto out;
	}
	if (tcp_connect(s, c, deadline, e) == -1)
		goto out;
	libssh2_session_set_blocking(c->ssh, 0);
	while ((r = libssh2_session_handshake(c->ssh, c->fd)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (sftp_conn_wait(s, c, deadline, e) == -1) {
			if (e->class == ERR_NET)
				err_set(e, ERR_NET,
				    "SSH handshake with %s: no answer within "
				    "%u s",
				    s->t.hostport, s->connect_timeout);
			goto out;
		}
	if (r != 0) {
		c->broken = 1;
		err_set(e, ERR_NET, "SSH handshake with %s: %s", s->t.hostport,
		    sftp_ssh_msg(c->ssh));
		goto out;
	}
	if (sftp_verify_host_key(s, c, &kf, e) == -1)
		goto out;
	if (authenticate(s, c, e) == -1)
		goto out;
	deadline = sftp_io_deadline(s);
	while ((c->sftp = libssh2_sftp_init(c->ssh)) == NULL &&
	    libssh2_session_last_errno(c->ssh) == LIBSSH2_ERROR_EAGAIN)
		if (sftp_conn_wait(s, c, deadline, e) == -1)
			goto out;
	if (c->sftp == NULL) {
		c->broken = 1;
		err_set(e, ERR_NET, "starting SFTP on %s: %s", s->t.hostport,
		    sftp_ssh_msg(c->ssh));
		goto out;
	}
	if (s->keepalive != STOR_KEEPALIVE_OFF)
		libssh2_keepalive_config(c->ssh, 0, s->keepalive);
	c->last_out = sftp_now_ms();
	rc = 0;
out:
	sftp_kh_free(&kf);
	if (rc == -1) {
		c->broken = 1;
		sftp_conn_close(c);
	}
	return (rc);
}

/* ------------------------------------------------------------ the pool */

/* A connected session for this thread alone; connects lazily. */
static int
checkout(struct sftp *s, struct conn **out, struct err *e)
{
	struct conn *c = NULL;

	*out = NULL;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		for (int i = 0; i < s->nconns && c == NULL; i++)
			if (!s->conns[i].busy && s->conns[i].ssh != NULL)
				c = &s->conns[i];
		for (int i = 0; i < s->nconns && c == NULL; i++)
			if (!s->conns[i].busy)
				c = &s->conns[i];
		if (c != NULL)
			break;
		pthread_cond_wait(&s->cv, &s->mu);
	}
	c->busy = 1;
	pthread_mutex_unlock(&s->mu);
	if (c->ssh == NULL && conn_open(s, c, e) == -1) {
		pthread_mutex_lock(&s->mu);
		c->busy = 0;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		return (-1);
	}
	*out = c;
	return (0);
}

static void
checkin(struct sftp *s, struct conn *c)
{
	int broken = c->broken;

	if (broken)
		sftp_conn_close(c);
	else
		c->last_out = sftp_now_ms();
	pthread_mutex_lock(&s->mu);
	if (broken)
		s->trouble = 1;
	c->busy = 0;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/*
 * Keepalives for idle sessions, so that firewalls and NAT keep them and a
 * dead peer shows.  A session in use needs none: its io timeout watches
 * it, and a keepalive sent in the middle of a half-sent packet would
 * break the session.
 */
void *
sftp_keepalive_main(void *arg)
{
	struct sftp *s = arg;

	pthread_mutex_lock(&s->mu);
	while (!s->closing) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		for (int i = 0; i < s->nconns && !s->closing; i++) {
			struct conn *c = &s->conns[i];
			int next = 0, r;

			if (c->busy || c->ssh == NULL ||
			    sftp_now_ms() - c->last_out <
			        (int64_t)s->keepalive * 1000)
				continue;
			c->busy = 1;
			pthread_mutex_unlock(&s->mu);
			r = libssh2_keepalive_send(c->ssh, &next);
			/* Even EAGAIN: a half-sent packet poisons it. */
			if (r != 0)
				c->broken = 1;
			checkin(s, c);
			pthread_mutex_lock(&s->mu);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return (NULL);
}

/*
 * Run op on a pooled session; a network failure closes that session and
 * runs op again on a fresh one after 1, 2, 4... s, up to s->retries
 * times.  Everything else (auth, host key, disk full, file errors) is
 * final.
 */
int
sftp_run_op(struct sftp *s, sftp_op_fn op, void *arg, struct err *e)
{
	int64_t backoff = 1000;

	/*
	 * The command fails anyway: its cleanup (a lock to remove) must not
	 * wait out the timeouts of a dead server once more.
	 */
	pthread_mutex_lock(&s->mu);
	if (s->gave_up) {
		*e = s->gave_up_err;
		pthread_mutex_unlock(&s->mu);
		return (-1);
	}
	pthread_mutex_unlock(&s->mu);
	for (int attempt = 0;; attempt++) {
		struct conn *c;
		int rc;

		rc = checkout(s, &c, e);
		if (rc == 0) {
			rc = op(s, c, arg, attempt, e);
			checkin(s, c);
		}
		if (rc != -1 || !err_retryable(e))
			return (rc);
		if (attempt >= s->retries) {
			pthread_mutex_lock(&s->mu);
			if (!s->gave_up) {
				s->gave_up = 1;
				s->gave_up_err = *e;
			}
			pthread_mutex_unlock(&s->mu);
			return (rc);
		}
		log_warn(s->log, "%s; retry %d of %d in %lld s", e->msg,
		    attempt + 1, s->retries, (long long)(backoff / 1000));
		if (nap(s, backoff, e) == -1)
			return (-1);
		backoff *= 2;
		if (backoff > SFTP_BACKOFF_MAX * 1000)
			backoff = SFTP_BACKOFF_MAX * 1000;
	}
}

/* ------------------------------------------------------- exec channel */

#define SFTP_EXEC_IN 32768 /* standard input, a read at a time */

/* Keep the last bytes of standard error, control characters as spaces. */
static void
exec_err_tail(struct sftp_exec_io *io, const char *b, size_t n)
{
	size_t have = strlen(io->err), room = sizeof(io->err) - 1;

	if (n >= room) {
		b += n - room;
		n = room;
		have = 0;
	} else if (have + n > room) {
		memmove(io->err, io->err + (have + n - room), room - n);
		have = room - n;
	}
	for (size_t i = 0; i < n; i++)
		io->err[have + i] =
		    (unsigned char)b[i] < 0x20 || b[i] == 0x7f ? ' ' : b[i];
	io->err[have + n] = '\0';
}

int
stor_sftp_exec(struct stor *st, const char *cmd, struct sftp_exec_io *io,
    int *status, struct err *e)
{
	struct sftp *s = st->impl;
	LIBSSH2_CHANNEL *ch = NULL;
	struct conn *c;
	char buf[16384], *sig = NULL, *inbuf = NULL;
	struct err fe;
	size_t inlen = 0, inoff = 0;
	int in_eof = io->in == NULL, sent_eof = 0, rc = -1, r;
	int64_t deadline;
	ssize_t n;

	*status = -1;
	io->err[0] = '\0';
	if (checkout(s, &c, e) == -1)
		return (-1);
	inbuf = xmalloc(SFTP_EXEC_IN);
#define WAIT_OR_OUT()                                                          \
	do {                                                                   \
		if (sftp_conn_wait(s, c, deadline, e) == -1)                   \
			goto out;                                              \
	} while (0)
	deadline = sftp_io_deadline(s);
	while ((ch = libssh2_channel_open_session(c->ssh)) == NULL &&
	    libssh2_session_last_errno(c->ssh) == LIBSSH2_ERROR_EAGAIN)
		WAIT_OR_OUT();
	if (ch == NULL) {
		c->broken = 1;
		err_set(e, ERR_NET, "opening an SSH channel to %s: %s",
		    s->t.hostport, sftp_ssh_msg(c->ssh));
		goto out;
	}
	while ((r = libssh2_channel_exec(ch, cmd)) == LIBSSH2_ERROR_EAGAIN)
		WAIT_OR_OUT();
	if (r != 0) {
		c->broken = 1;
		err_set(e, ERR_NET, "running a command on %s: %s",
		    s->t.hostport, sftp_ssh_msg(c->ssh));
		goto out;
	}
	for (;;) {
		int progress = 0;

		if (!in_eof && inoff == inlen) {
			if ((n = io->in(io->in_arg, inbuf, SFTP_EXEC_IN, e)) <
			    0)
				goto out;
			if (n == 0)
				in_eof = 1;
			inlen = (size_t)n;
			inoff = 0;
			progress = 1;
		}
		if (inoff < inlen) {
			n = libssh2_channel_write(ch, inbuf + inoff,
			    inlen - inoff);
			if (n > 0) {
				inoff += (size_t)n;
				progress = 1;
			} else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN &&
			    !libssh2_channel_eof(ch)) {
				c->broken = 1;
				err_set(e, ERR_NET, "sending to %s: %s",
				    s->t.hostport, sftp_ssh_msg(c->ssh));
				goto out;
			}
		}
		if (in_eof && inoff == inlen && !sent_eof) {
			r = libssh2_channel_send_eof(ch);
			if (r == 0) {
				sent_eof = 1;
				progress = 1;
			} else if (r != LIBSSH2_ERROR_EAGAIN)
				sent_eof = 1; /* it closed already */
		}
		while ((n = libssh2_channel_read(ch, buf, sizeof(buf))) > 0) {
			if (io->out != NULL &&
			    io->out(io->out_arg, buf, (size_t)n, e) == -1)
				goto out;
			progress = 1;
		}
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
			c->broken = 1;
			err_set(e, ERR_NET, "reading from %s: %s",
			    s->t.hostport, sftp_ssh_msg(c->ssh));
			goto out;
		}
		while ((n = libssh2_channel_read_stderr(ch, buf, sizeof(buf))) >
		    0) {
			exec_err_tail(io, buf, (size_t)n);
			progress = 1;
		}
		if (libssh2_channel_eof(ch))
			break;
		/* The other end left before taking all of its input. */
		if (progress)
			deadline = io->no_idle_timeout ? INT64_MAX / 2
			                               : sftp_io_deadline(s);
		else
			WAIT_OR_OUT();
		if (progress && sftp_interrupted(s)) {
			c->broken = 1;
			err_set(e, ERR_INTERRUPTED, "interrupted");
			goto out;
		}
	}
	deadline = sftp_io_deadline(s);
	while ((r = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
		WAIT_OR_OUT();
	while ((r = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN)
		WAIT_OR_OUT();
	if (libssh2_channel_get_exit_signal(ch, &sig, NULL, NULL, NULL, NULL,
	        NULL) == 0 &&
	    sig != NULL)
		*status = -1;
	else
		*status = libssh2_channel_get_exit_status(ch);
	rc = 0;
out:
#undef WAIT_OR_OUT
	if (sig != NULL)
		libssh2_free(c->ssh, sig);
	if (ch != NULL) {
		if (c->broken)
			libssh2_session_set_blocking(c->ssh, 0);
		else
			deadline = sftp_io_deadline(s);
		while (libssh2_channel_free(ch) == LIBSSH2_ERROR_EAGAIN &&
		    !c->broken)
			if (sftp_conn_wait(s, c, deadline, &fe) == -1)
				break;
	}
	checkin(s, c);
	free(inbuf);
	return (rc);
}
