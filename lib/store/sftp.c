/*
 * The sftp:// backend, the only libssh2 user.  A pool of SSH sessions,
 * each used by one thread at a time, all non-blocking: every wait is a
 * poll(2) bounded by the io timeout, so a dead or stalled server is an
 * ERR_NET within that time, retried with backoff on a fresh session.
 * Host keys come only from known_hosts; authentication and host-key
 * failures are final.  Files are published as the local backend does:
 * a temp name, fsync@openssh.com, then a plain rename.
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

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "passphrase.h"
#include "secfile.h"
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
#define SFTP_INTR_GRACE   2000
#define SFTP_DIR_NAME_MAX 1024
/*
 * A listing believes the server no further than the repository layout
 * needs (doc/FORMAT.md): its deepest files are data/<2 hex>/<id>, three
 * components, so no directory is entered whose files would have more; a
 * directory is read whole (no session is held across the caller's
 * function), so one with more entries, or more bytes of names, than a
 * repository holds in a directory is refused rather than read into
 * memory.  Symlinks are never followed: only what the server reports as
 * a regular file or a directory is listed.
 */
#define SFTP_LIST_DEPTH      3
#define SFTP_DIR_ENTRIES_MAX (1u << 20)
#define SFTP_DIR_NAMES_MAX   (128u << 20)

#define TEMP_PREFIX ".tmp-"
/* open_file's *rc when waiting failed (e set); no libssh2 code is > 0. */
#define WAIT_FAILED 1

struct conn {
	int fd;
	LIBSSH2_SESSION *ssh;
	LIBSSH2_SFTP *sftp;
	int busy;         /* checked out by a thread (or the keepalive) */
	int broken;       /* must not be used again: close it */
	int64_t last_out; /* ms (monotonic) when we last sent anything */
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
};

/* ------------------------------------------------------------ helpers */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int
interrupted(const struct sftp *s)
{
	return (s->interrupted != NULL && *s->interrupted);
}

/* Sleep ms, waking up for an interrupt; -1 (e set) when interrupted. */
static int
nap(struct sftp *s, int64_t ms, struct err *e)
{
	while (ms > 0) {
		int64_t slice = ms < SFTP_POLL_SLICE ? ms : SFTP_POLL_SLICE;
		struct timespec ts = { (time_t)(slice / 1000),
			(long)(slice % 1000) * 1000000L };

		if (interrupted(s))
			return (err_set(e, ERR_INTERRUPTED, "interrupted"));
		nanosleep(&ts, NULL);
		ms -= slice;
	}
	if (interrupted(s))
		return (err_set(e, ERR_INTERRUPTED, "interrupted"));
	return (0);
}

static const char *
ssh_msg(LIBSSH2_SESSION *ssh)
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
static int
bucket_take(struct sftp *s, struct bucket *b, size_t n, struct err *e)
{
	double now, start, wait;

	if (b->rate == 0)
		return (0);
	now = (double)now_ms() / 1000.0;
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
static size_t
io_chunk(const struct bucket *b)
{
	uint64_t c;

	if (b->rate == 0)
		return (SFTP_IO_CHUNK);
	c = b->rate / 4;
	if (c < 32768)
		c = 32768;
	return (c > SFTP_IO_CHUNK ? SFTP_IO_CHUNK : (size_t)c);
}

/* ------------------------------------------------------------ names */

int
stor_sftp_parse_url(const char *url, const struct stor_opts *o,
    struct stor_sftp_target *t, struct err *e)
{
	struct config_url u;
	const char *p;
	size_t n;

	memset(t, 0, sizeof(*t));
	if (config_parse_url(url, &u, e) == -1) {
		e->class = ERR_USAGE;
		return (-1);
	}
	if (o != NULL && o->user != NULL && o->user[0] != '\0')
		snprintf(t->user, sizeof(t->user), "%s", o->user);
	else if (u.user[0] != '\0')
		snprintf(t->user, sizeof(t->user), "%s", u.user);
	else {
		struct passwd *pw = getpwuid(geteuid());

		if (pw == NULL)
			return (err_set(e, ERR_USAGE,
			    "%s: no user in the URL, and none for uid %ld", url,
			    (long)geteuid()));
		snprintf(t->user, sizeof(t->user), "%s", pw->pw_name);
	}
	snprintf(t->host, sizeof(t->host), "%s", u.host);
	t->port = o != NULL && o->port > 0 ? o->port : u.port > 0 ? u.port : 22;
	/* "/~/dir" (or "/~") is relative to the login directory. */
	p = u.path;
	if (strcmp(p, "/~") == 0 || strncmp(p, "/~/", 3) == 0)
		p += p[2] == '\0' ? 2 : 3;
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	if (n >= sizeof(t->root))
		return (err_set(e, ERR_USAGE, "%s: path too long", url));
	memcpy(t->root, p, n);
	t->root[n] = '\0';
	if (t->port == 22)
		snprintf(t->hostport, sizeof(t->hostport), "%s", t->host);
	else
		snprintf(t->hostport, sizeof(t->hostport), "[%s]:%d", t->host,
		    t->port);
	return (0);
}

static char *
path_of(const struct sftp *s, const char *name)
{
	if (s->t.root[0] == '\0')
		return (xstrdup(name));
	if (strcmp(s->t.root, "/") == 0)
		return (xasprintf("/%s", name));
	return (xasprintf("%s/%s", s->t.root, name));
}

void
stor_sftp_fingerprint(const uint8_t h[32], char *out, size_t outsz)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char buf[STOR_SFTP_FP_LEN];
	size_t o;

	/* OpenSSH's notation: "SHA256:" and unpadded base64. */
	o = (size_t)snprintf(buf, sizeof(buf), "SHA256:");
	for (size_t i = 0; i < 32; i += 3) {
		unsigned long v = (unsigned long)h[i] << 16;
		size_t left = 32 - i;

		if (left > 1)
			v |= (unsigned long)h[i + 1] << 8;
		if (left > 2)
			v |= h[i + 2];
		buf[o++] = b64[(v >> 18) & 63];
		buf[o++] = b64[(v >> 12) & 63];
		if (left > 1)
			buf[o++] = b64[(v >> 6) & 63];
		if (left > 2)
			buf[o++] = b64[v & 63];
	}
	buf[o] = '\0';
	snprintf(out, outsz, "%s", buf);
}

/* ------------------------------------------------------------ known_hosts */

/* Host key algorithms libssh2 1.10 can verify, strongest first. */
static const struct {
	int kh_type; /* LIBSSH2_KNOWNHOST_KEY_* */
	int hk_type; /* LIBSSH2_HOSTKEY_TYPE_* */
	const char *method;
	const char *name; /* as OpenSSH names the key type in messages */
} key_types[] = {
	{ LIBSSH2_KNOWNHOST_KEY_ED25519, LIBSSH2_HOSTKEY_TYPE_ED25519,
	    "ssh-ed25519", "ED25519" },
	{ LIBSSH2_KNOWNHOST_KEY_ECDSA_256, LIBSSH2_HOSTKEY_TYPE_ECDSA_256,
	    "ecdsa-sha2-nistp256", "ECDSA" },
	{ LIBSSH2_KNOWNHOST_KEY_ECDSA_384, LIBSSH2_HOSTKEY_TYPE_ECDSA_384,
	    "ecdsa-sha2-nistp384", "ECDSA" },
	{ LIBSSH2_KNOWNHOST_KEY_ECDSA_521, LIBSSH2_HOSTKEY_TYPE_ECDSA_521,
	    "ecdsa-sha2-nistp521", "ECDSA" },
	{ LIBSSH2_KNOWNHOST_KEY_SSHRSA, LIBSSH2_HOSTKEY_TYPE_RSA, "ssh-rsa",
	    "RSA" },
};
#define NKEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

/*
 * known_hosts is read here as OpenSSH reads it (sshd(8), "SSH_KNOWN_HOSTS
 * FILE FORMAT"; ssh_config(5), "PATTERNS"): libssh2 1.10's own reader
 * knows no wildcards, negation or markers, and lets a plain "host" stand
 * for every port, so a wildcard entry made a known host look unknown
 * (and --accept-new-host-key pinned whatever it was offered).  Only
 * hashed names go through libssh2, for the HMAC-SHA1 they need.
 */
#define KH_PLAIN   0
#define KH_REVOKED 1 /* @revoked: never accepted, for any host */
#define KH_CA      2 /* @cert-authority: coffer cannot check certificates */

/* An OpenSSH host pattern longer than this matches nothing (match.c). */
#define KH_PATTERN_MAX 1024

struct kh_ent {
	int marker;    /* KH_* */
	char *hosts;   /* a pattern list, or one "|1|salt|hash" */
	char *type;    /* the key type field */
	uint8_t *blob; /* the key in SSH wire format */
	size_t bloblen;
	unsigned long line;
};

struct kh_file {
	const char *path;
	struct kh_ent *ents;
	size_t n, cap;
	LIBSSH2_SESSION *ssh;       /* for hashed names; not owned */
	LIBSSH2_KNOWNHOSTS *hashed; /* scratch collection for hashed names */
};

/* What known_hosts says of a host's key. */
enum kh_verdict {
	KH_V_MATCH,   /* a line for the host holds this key */
	KH_V_NONE,    /* no line at all for the host */
	KH_V_REVOKED, /* the key is @revoked (whatever host the line names) */
	KH_V_CHANGED, /* the host has another key of this type */
	KH_V_CA,      /* only a @cert-authority line vouches for the host */
	KH_V_OTHER,   /* the host has keys, of other types only */
};

static uint32_t
get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

/* The key type a wire-format key starts with ("ssh-ed25519"...). */
static int
blob_type(const uint8_t *blob, size_t len, char *out, size_t outsz)
{
	uint32_t l;

	if (len < 4)
		return (-1);
	l = get_u32(blob);
	if (l == 0 || l > len - 4 || l >= outsz)
		return (-1);
	memcpy(out, blob + 4, l);
	out[l] = '\0';
	return (strlen(out) == l ? 0 : -1);
}

/* The next blank-separated field of *p, NUL-terminated; NULL at the end. */
static char *
kh_field(char **p)
{
	char *s = *p + strspn(*p, " \t"), *end;

	if (*s == '\0')
		return (NULL);
	end = s + strcspn(s, " \t");
	if (*end != '\0')
		*end++ = '\0';
	*p = end;
	return (s);
}

/* Is s canonical base64 of exactly want bytes? */
static int
b64_is(const char *s, size_t slen, size_t want)
{
	uint8_t buf[64];
	size_t n;
	struct err e;

	return (want <= sizeof(buf) &&
	    crypto_b64_decode(s, slen, buf, sizeof(buf), &n, &e) == 0 &&
	    n == want);
}

/*
 * One line into ent; -1 for a line that holds no entry, which is skipped
 * as OpenSSH skips it: comments, unknown markers, keys that do not decode
 * or whose blob names another type than the line.
 */
static int
kh_parse(char *line, unsigned long lineno, struct kh_ent *ent)
{
	char *p = line, *f, *hosts, *type, *key, btype[128];
	size_t cap;
	struct err e;

	memset(ent, 0, sizeof(*ent));
	line[strcspn(line, "\r\n")] = '\0';
	if ((f = kh_field(&p)) == NULL || f[0] == '#')
		return (-1);
	ent->marker = KH_PLAIN;
	if (f[0] == '@') {
		if (strcmp(f, "@revoked") == 0)
			ent->marker = KH_REVOKED;
		else if (strcmp(f, "@cert-authority") == 0)
			ent->marker = KH_CA;
		else
			return (-1);
		f = kh_field(&p);
	}
	hosts = f;
	if (hosts == NULL || (type = kh_field(&p)) == NULL ||
	    (key = kh_field(&p)) == NULL)
		return (-1);
	/* A hashed name: "|1|" base64(20-byte salt) "|" base64(HMAC-SHA1). */
	if (hosts[0] == '|') {
		const char *salt = hosts + 3, *bar;

		if (strncmp(hosts, "|1|", 3) != 0 ||
		    (bar = strchr(salt, '|')) == NULL ||
		    !b64_is(salt, (size_t)(bar - salt), 20) ||
		    !b64_is(bar + 1, strlen(bar + 1), 20))
			return (-1);
	}
	cap = strlen(key) / 4 * 3 + 3;
	ent->blob = xmalloc(cap);
	if (crypto_b64_decode(key, strlen(key), ent->blob, cap, &ent->bloblen,
	        &e) == -1 ||
	    blob_type(ent->blob, ent->bloblen, btype, sizeof(btype)) == -1 ||
	    strcmp(btype, type) != 0) {
		free(ent->blob);
		ent->blob = NULL;
		return (-1);
	}
	ent->hosts = xstrdup(hosts);
	ent->type = xstrdup(type);
	ent->line = lineno;
	return (0);
}

static void
kh_free(struct kh_file *kf)
{
	for (size_t i = 0; i < kf->n; i++) {
		free(kf->ents[i].hosts);
		free(kf->ents[i].type);
		free(kf->ents[i].blob);
	}
	free(kf->ents);
	if (kf->hashed != NULL)
		libssh2_knownhost_free(kf->hashed);
	memset(kf, 0, sizeof(*kf));
}

/*
 * Read known_hosts file into kf; a missing file holds nothing.  ssh is
 * the session whose allocator libssh2 uses for hashed names.
 */
static int
kh_read(LIBSSH2_SESSION *ssh, const char *file, struct kh_file *kf,
    struct err *e)
{
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	FILE *f = NULL;
	int rc = -1;

	memset(kf, 0, sizeof(*kf));
	kf->path = file;
	kf->ssh = ssh;
	if ((kf->hashed = libssh2_knownhost_init(ssh)) == NULL) {
		err_set(e, ERR_INTERNAL, "libssh2_knownhost_init: %s",
		    ssh_msg(ssh));
		goto out;
	}
	if ((f = fopen(file, "re")) == NULL && errno != ENOENT) {
		err_sys(e, ERR_CONFIG, "known hosts file %s", file);
		goto out;
	}
	while (f != NULL && getline(&line, &cap, f) != -1) {
		struct kh_ent ent;

		if (kh_parse(line, ++lineno, &ent) == -1)
			continue;
		if (kf->n == kf->cap) {
			kf->cap = kf->cap ? 2 * kf->cap : 16;
			kf->ents =
			    xreallocarray(kf->ents, kf->cap, sizeof(*kf->ents));
		}
		kf->ents[kf->n++] = ent;
	}
	if (f != NULL && ferror(f)) {
		err_sys(e, ERR_CONFIG, "known hosts file %s", file);
		goto out;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(line);
	if (rc == -1)
		kh_free(kf);
	return (rc);
}

/*
 * The name known_hosts knows host:port by: "host" for port 22, else
 * "[host]:port"; lowercase, as ssh(1) looks it up.
 */
static void
kh_name(const char *host, int port, char *out, size_t outsz)
{
	if (port == 22)
		snprintf(out, outsz, "%s", host);
	else
		snprintf(out, outsz, "[%s]:%d", host, port);
	for (char *p = out; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* OpenSSH's match_pattern: '*' any run, '?' any one character. */
static int
kh_glob(const char *s, const char *p)
{
	const char *star = NULL, *back = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			back = s;
		} else if (*p != '\0' && (*p == '?' || *p == *s)) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++back;
		} else
			return (0);
	}
	while (*p == '*')
		p++;
	return (*p == '\0');
}

/*
 * OpenSSH's match_hostname: 1 when a pattern of the comma-separated list
 * matches name and no negated ("!") one does.  name is lowercase.
 */
static int
kh_patterns(const char *list, const char *name)
{
	char sub[KH_PATTERN_MAX];
	int positive = 0;

	while (*list != '\0') {
		int neg = *list == '!';
		size_t n;

		list += neg;
		n = strcspn(list, ",");
		if (n >= sizeof(sub))
			return (0);
		for (size_t i = 0; i < n; i++)
			sub[i] = (char)tolower((unsigned char)list[i]);
		sub[n] = '\0';
		list += n + (list[n] == ',');
		if (kh_glob(name, sub)) {
			if (neg)
				return (0);
			positive = 1;
		}
	}
	return (positive);
}

/* Is a hashed name ("|1|salt|hash", checked by kh_parse) that of name? */
static int
kh_hashed(struct kh_file *kf, const char *hosts, const char *name,
    struct err *e)
{
	struct libssh2_knownhost *node = NULL;
	const char *salt = hosts + 3, *bar = strchr(salt, '|');
	char saltb64[64];
	int r;

	snprintf(saltb64, sizeof(saltb64), "%.*s", (int)(bar - salt), salt);
	/* Any key will do: only the name is compared. */
	if (libssh2_knownhost_addc(kf->hashed, bar + 1, saltb64, "k", 1, NULL,
	        0,
	        LIBSSH2_KNOWNHOST_TYPE_SHA1 | LIBSSH2_KNOWNHOST_KEYENC_BASE64 |
	            LIBSSH2_KNOWNHOST_KEY_ED25519,
	        &node) != 0)
		return (err_set(e, ERR_INTERNAL,
		    "known hosts file %s: hashed name %s: %s", kf->path, hosts,
		    ssh_msg(kf->ssh)));
	r = libssh2_knownhost_checkp(kf->hashed, name, -1, "k", 1,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_BASE64,
	    NULL);
	libssh2_knownhost_del(kf->hashed, node);
	return (r == LIBSSH2_KNOWNHOST_CHECK_MATCH);
}

/* 1 when ent's host field names name, 0 when not, -1 on error (e set). */
static int
kh_for(struct kh_file *kf, const struct kh_ent *ent, const char *name,
    struct err *e)
{
	if (ent->hosts[0] == '|')
		return (kh_hashed(kf, ent->hosts, name, e));
	return (kh_patterns(ent->hosts, name));
}

static int
kh_is_revoked(const struct kh_file *kf, const uint8_t *key, size_t len)
{
	for (size_t i = 0; i < kf->n; i++)
		if (kf->ents[i].marker == KH_REVOKED &&
		    kf->ents[i].bloblen == len &&
		    memcmp(kf->ents[i].blob, key, len) == 0)
			return (1);
	return (0);
}

/*
 * Judge key (wire format, of type ktype) for name.  A revoked key is
 * refused whatever else the file says; a line holding the key trusts it
 * (OpenSSH accepts when any matching line has the key); otherwise the
 * first line that names the host explains the refusal.  *by is that line.
 */
static int
kh_judge(struct kh_file *kf, const char *name, const uint8_t *key,
    size_t keylen, const char *ktype, enum kh_verdict *v,
    const struct kh_ent **by, struct err *e)
{
	const struct kh_ent *match = NULL, *changed = NULL, *ca = NULL;
	const struct kh_ent *other = NULL;

	*by = NULL;
	for (size_t i = 0; i < kf->n; i++) {
		const struct kh_ent *ent = &kf->ents[i];
		int same = ent->bloblen == keylen &&
		    memcmp(ent->blob, key, keylen) == 0;
		int r;

		if (ent->marker == KH_REVOKED) {
			if (same) {
				*v = KH_V_REVOKED;
				*by = ent;
				return (0);
			}
			continue;
		}
		if ((r = kh_for(kf, ent, name, e)) == -1)
			return (-1);
		if (r == 0)
			continue;
		if (ent->marker == KH_CA) {
			if (ca == NULL)
				ca = ent;
		} else if (same) {
			if (match == NULL)
				match = ent;
		} else if (strcmp(ent->type, ktype) == 0) {
			if (changed == NULL)
				changed = ent;
		} else if (other == NULL)
			other = ent;
	}
	*v = match    ? KH_V_MATCH
	    : changed ? KH_V_CHANGED
	    : ca      ? KH_V_CA
	    : other   ? KH_V_OTHER
	              : KH_V_NONE;
	*by = match ? match : changed ? changed : ca ? ca : other;
	return (0);
}

/*
 * The host-key methods to ask for: exactly the types known_hosts holds for
 * name (and does not revoke), strongest first; libssh2 1.10 would
 * otherwise ask for ecdsa first and find no match when only the ed25519
 * key is known.  "" when none.
 */
static int
kh_methods(struct kh_file *kf, const char *name, char *out, size_t outsz,
    struct err *e)
{
	int wanted[NKEY_TYPES] = { 0 };
	size_t o = 0;

	for (size_t i = 0; i < kf->n; i++) {
		const struct kh_ent *ent = &kf->ents[i];
		int r;

		if (ent->marker != KH_PLAIN)
			continue;
		if ((r = kh_for(kf, ent, name, e)) == -1)
			return (-1);
		if (r == 0 || kh_is_revoked(kf, ent->blob, ent->bloblen))
			continue;
		for (size_t j = 0; j < NKEY_TYPES; j++)
			if (strcmp(key_types[j].method, ent->type) == 0)
				wanted[j] = 1;
	}
	out[0] = '\0';
	for (size_t j = 0; j < NKEY_TYPES; j++)
		if (wanted[j])
			o += (size_t)snprintf(out + o, outsz - o, "%s%s",
			    o > 0 ? "," : "", key_types[j].method);
	return (0);
}

/*
 * Check host:port's key against kf: 0 trusted; 1 when the file has no
 * line at all for the host (e then holds the refusal, for when the key is
 * not to be recorded); -1 refused (ERR_HOSTKEY) or failed, e set.
 */
static int
kh_verify(struct kh_file *kf, const char *host, int port, const uint8_t *key,
    size_t keylen, struct err *e)
{
	char name[300], hp[300], fp[STOR_SFTP_FP_LEN], ktype[128];
	const char *tname = NULL, *f = kf->path;
	const struct kh_ent *by;
	uint8_t h[CRYPTO_HASH_LEN];
	enum kh_verdict v;

	kh_name(host, port, name, sizeof(name));
	if (port == 22)
		snprintf(hp, sizeof(hp), "%s", host);
	else
		snprintf(hp, sizeof(hp), "[%s]:%d", host, port);
	crypto_sha256(key, keylen, h);
	stor_sftp_fingerprint(h, fp, sizeof(fp));
	if (blob_type(key, keylen, ktype, sizeof(ktype)) == -1)
		return (err_set(e, ERR_HOSTKEY,
		    "host key for %s not trusted: the server sent a malformed "
		    "key (%s)",
		    hp, fp));
	for (size_t i = 0; i < NKEY_TYPES; i++)
		if (strcmp(key_types[i].method, ktype) == 0)
			tname = key_types[i].name;
	if (tname == NULL)
		tname = ktype;
	if (kh_judge(kf, name, key, keylen, ktype, &v, &by, e) == -1)
		return (-1);
	switch (v) {
	case KH_V_MATCH:
		return (0);
	case KH_V_REVOKED:
		return (err_set(e, ERR_HOSTKEY,
		    "host key for %s is REVOKED: its %s key %s is marked "
		    "@revoked in %s (line %lu); refused",
		    hp, tname, fp, f, by->line));
	case KH_V_CHANGED:
		return (err_set(e, ERR_HOSTKEY,
		    "HOST KEY CHANGED for %s: its %s key %s differs from the "
		    "one in %s (line %lu; the server was reinstalled, or "
		    "someone is in between); refused. If the change is "
		    "expected, remove the old line and check the new key "
		    "before accepting it",
		    hp, tname, fp, f, by->line));
	case KH_V_CA:
		return (err_set(e, ERR_HOSTKEY,
		    "host key for %s not trusted: %s vouches for it only by a "
		    "@cert-authority line (line %lu), and coffer cannot check "
		    "host certificates; refused. Add the host's own %s key "
		    "%s to %s once it is checked on the server (ssh-keygen "
		    "-lf)",
		    hp, f, by->line, tname, fp, f));
	case KH_V_OTHER:
		return (err_set(e, ERR_HOSTKEY,
		    "host key for %s not trusted: %s holds other keys for it "
		    "(line %lu: %s), not its %s key %s; refused, even with "
		    "--accept-new-host-key. If the server's keys changed, fix "
		    "the lines for it after checking the key on the server",
		    hp, f, by->line, by->type, tname, fp));
	case KH_V_NONE:
		break;
	}
	err_set(e, ERR_HOSTKEY,
	    "host key for %s is not known: %s key %s is not in %s; if "
	    "that is the server's key (compare with ssh-keygen -lf on "
	    "the server), run again with --accept-new-host-key, or add "
	    "it with: ssh-keyscan -p %d -t %s %s >> %s",
	    hp, tname, fp, f, port, ktype, host, f);
	return (1);
}

int
stor_sftp_kh_methods(const char *file, const char *host, int port, char *out,
    size_t outsz, struct err *e)
{
	LIBSSH2_SESSION *ssh;
	struct kh_file kf;
	char name[300];
	int rc = -1;

	if ((ssh = libssh2_session_init()) == NULL)
		return (err_set(e, ERR_INTERNAL, "libssh2_session_init"));
	if (kh_read(ssh, file, &kf, e) == 0) {
		kh_name(host, port, name, sizeof(name));
		rc = kh_methods(&kf, name, out, outsz, e);
		kh_free(&kf);
	}
	libssh2_session_free(ssh);
	return (rc);
}

int
stor_sftp_kh_verify(const char *file, const char *host, int port,
    const uint8_t *key, size_t keylen, struct err *e)
{
	LIBSSH2_SESSION *ssh;
	struct kh_file kf;
	int rc = -1;

	if ((ssh = libssh2_session_init()) == NULL)
		return (err_set(e, ERR_INTERNAL, "libssh2_session_init"));
	if (kh_read(ssh, file, &kf, e) == 0) {
		rc = kh_verify(&kf, host, port, key, keylen, e);
		kh_free(&kf);
	}
	libssh2_session_free(ssh);
	return (rc);
}

/* Append a line to known_hosts, made 0600 (and its directory 0700). */
static int
kh_append(const char *file, const char *line, struct err *e)
{
	char last = '\n';
	int fd, rc = -1;
	off_t end;

	fd = open(file, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1 && errno == ENOENT) {
		char *dir = xstrdup(file), *slash = strrchr(dir, '/');

		if (slash != NULL && slash != dir) {
			*slash = '\0';
			(void)mkdir(dir, 0700);
		}
		free(dir);
		fd = open(file, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	}
	if (fd == -1)
		return (err_sys(e, ERR_IO, "known hosts file %s", file));
	/* A last line without its newline must not swallow ours. */
	if ((end = lseek(fd, 0, SEEK_END)) > 0 &&
	    (pread(fd, &last, 1, end - 1) != 1))
		last = '\n';
	if ((last != '\n' && write(fd, "\n", 1) != 1) ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    fsync(fd) == -1) {
		err_sys(e, ERR_IO, "known hosts file %s", file);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return (rc);
}

int
stor_sftp_kh_record(const char *file, const char *host, int port,
    const char *key, size_t keylen, int hk_type, struct err *e)
{
	LIBSSH2_SESSION *ssh = NULL;
	LIBSSH2_KNOWNHOSTS *kh = NULL;
	struct libssh2_knownhost *ent = NULL;
	char name[300], line[8192];
	size_t len = 0;
	int kh_type = 0, rc = -1;

	for (size_t i = 0; i < NKEY_TYPES; i++)
		if (key_types[i].hk_type == hk_type)
			kh_type = key_types[i].kh_type;
	if (kh_type == 0)
		return (err_set(e, ERR_HOSTKEY, "unknown host key type %d",
		    hk_type));
	if (port == 22)
		snprintf(name, sizeof(name), "%s", host);
	else
		snprintf(name, sizeof(name), "[%s]:%d", host, port);
	if ((ssh = libssh2_session_init()) == NULL)
		return (err_set(e, ERR_INTERNAL, "libssh2_session_init"));
	if ((kh = libssh2_knownhost_init(ssh)) == NULL) {
		err_set(e, ERR_INTERNAL, "libssh2_knownhost_init");
		goto out;
	}
	if (libssh2_knownhost_addc(kh, name, NULL, key, keylen, NULL, 0,
	        LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	            kh_type,
	        &ent) != 0 ||
	    libssh2_knownhost_writeline(kh, ent, line, sizeof(line), &len,
	        LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0) {
		err_set(e, ERR_INTERNAL, "cannot encode the host key: %s",
		    ssh_msg(ssh));
		goto out;
	}
	line[len] = '\0';
	rc = kh_append(file, line, e);
out:
	if (kh != NULL)
		libssh2_knownhost_free(kh);
	libssh2_session_free(ssh);
	return (rc);
}

/* ------------------------------------------------------------ waiting */

/*
 * Wait until libssh2 can go on, at most until deadline (ms): the socket is
 * polled for the directions the session is blocked on.  A deadline passed
 * means the server or the network stalled: ERR_NET, session broken.
 */
static int
conn_wait(struct sftp *s, struct conn *c, int64_t deadline, struct err *e)
{
	int64_t grace = 0;

	for (;;) {
		struct pollfd pfd;
		int64_t left = deadline - now_ms();
		int dir = libssh2_session_block_directions(c->ssh), r;

		if (interrupted(s)) {
			if (grace == 0)
				grace = now_ms() + SFTP_INTR_GRACE;
			if (now_ms() >= grace) {
				c->broken = 1;
				return (
				    err_set(e, ERR_INTERRUPTED, "interrupted"));
			}
			if (grace - now_ms() < left)
				left = grace - now_ms();
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

static int64_t
io_deadline(const struct sftp *s)
{
	return (now_ms() + (int64_t)s->io_timeout * 1000);
}

/*
 * The error for a libssh2 call on c that failed with rc (not EAGAIN):
 * an SFTP status maps to a file error, anything else to ERR_NET with the
 * session marked broken.
 */
static int
conn_fail(struct sftp *s, struct conn *c, int rc, const char *what,
    const char *path, struct err *e)
{
	unsigned long fx;
	int cls = ERR_IO, eno = 0;
	const char *why;

	if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL || c->sftp == NULL) {
		c->broken = 1;
		return (err_set(e, ERR_NET, "%s %s on %s: %s", what, path,
		    s->t.hostport, ssh_msg(c->ssh)));
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
		if (interrupted(s) && deadline > now_ms() + SFTP_INTR_GRACE)
			deadline = now_ms() + SFTP_INTR_GRACE;
		for (;;) {
			int64_t left = deadline - now_ms();

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

static int
verify_host_key(struct sftp *s, struct conn *c, struct kh_file *kf,
    struct err *e)
{
	const char *key, *tname = NULL;
	const char *hash;
	char fp[STOR_SFTP_FP_LEN] = "(no fingerprint)";
	size_t len = 0;
	int hk_type = 0, r;

	if ((key = libssh2_session_hostkey(c->ssh, &len, &hk_type)) == NULL)
		return (err_set(e, ERR_HOSTKEY,
		    "host key for %s not trusted: the server sent none: %s",
		    s->t.hostport, ssh_msg(c->ssh)));
	for (size_t i = 0; i < NKEY_TYPES; i++)
		if (key_types[i].hk_type == hk_type)
			tname = key_types[i].name;
	hash = libssh2_hostkey_hash(c->ssh, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (hash != NULL)
		stor_sftp_fingerprint((const uint8_t *)hash, fp, sizeof(fp));
	if (tname == NULL)
		return (err_set(e, ERR_HOSTKEY,
		    "host key for %s not trusted: unsupported key type %d (%s)",
		    s->t.hostport, hk_type, fp));
	r = kh_verify(kf, s->t.host, s->t.port, (const uint8_t *)key, len, e);
	if (r != 1)
		return (r);
	/* Only a host with no line at all may have its key recorded. */
	if (!s->accept_new)
		return (-1);
	if (stor_sftp_kh_record(s->known_hosts, s->t.host, s->t.port, key, len,
	        hk_type, e) == -1)
		return (-1);
	log_warn(s->log, "recorded the %s host key %s of %s in %s", tname, fp,
	    s->t.hostport, s->known_hosts);
	return (0);
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
static int
identity_check(const char *path, struct err *e)
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
	int64_t deadline = io_deadline(s);
	size_t tl = strlen(tried);
	int rc;

	while ((rc = libssh2_userauth_publickey_fromfile_ex(c->ssh, s->t.user,
	            (unsigned int)strlen(s->t.user), NULL, file, pass)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(s, c, deadline, e) == -1)
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
			    file, ssh_msg(c->ssh)));
		snprintf(tried + tl, triedsz - tl,
		    "%skey %s (unreadable or encrypted)", tl ? ", " : "", file);
		return (1);
	default:
		return (conn_fail(s, c, rc, "authenticating as", s->t.user, e));
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
		int64_t deadline = io_deadline(s);

		prev = id;
		if (rsa_unusable() && id->blob_len > 11 &&
		    memcmp(id->blob + 4, "ssh-rsa", 7) == 0) {
			nrsa++;
			continue;
		}
		n++;
		while ((rc = libssh2_agent_userauth(ag, s->t.user, id)) ==
		    LIBSSH2_ERROR_EAGAIN)
			if (conn_wait(s, c, deadline, e) == -1) {
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
			ret = conn_fail(s, c, rc, "authenticating as",
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
			    identity_check(file, &ie) == -1) {
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

static void
conn_close(struct conn *c)
{
	if (c->ssh != NULL) {
		if (c->broken && c->fd != -1)
			/* Nothing left to say: make every send fail fast. */
			shutdown(c->fd, SHUT_RDWR);
		else
			libssh2_session_set_timeout(c->ssh, 5000);
		libssh2_session_set_blocking(c->ssh, 1);
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
	c->broken = 0;
}

static int
conn_open(struct sftp *s, struct conn *c, struct err *e)
{
	struct kh_file kf;
	char prefs[256], name[300];
	int64_t deadline = now_ms() + (int64_t)s->connect_timeout * 1000;
	int rc = -1, r;

	memset(&kf, 0, sizeof(kf));
	c->fd = -1;
	c->broken = 0;
	if ((c->ssh = libssh2_session_init()) == NULL) {
		err_set(e, ERR_INTERNAL, "libssh2_session_init failed");
		goto out;
	}
	if (kh_read(c->ssh, s->known_hosts, &kf, e) == -1)
		goto out;
	kh_name(s->t.host, s->t.port, name, sizeof(name));
	if (kh_methods(&kf, name, prefs, sizeof(prefs), e) == -1)
		goto out;
	/*
	 * Nothing known: the check will refuse the key, and the message (or
	 * --accept-new-host-key) should name the one OpenSSH would use.
	 */
	if (prefs[0] == '\0') {
		size_t o = 0;

		for (size_t i = 0; i < NKEY_TYPES; i++)
			o += (size_t)snprintf(prefs + o, sizeof(prefs) - o,
			    "%s%s", o > 0 ? "," : "", key_types[i].method);
	}
	if (libssh2_session_method_pref(c->ssh, LIBSSH2_METHOD_HOSTKEY,
	        prefs) != 0) {
		err_set(e, ERR_INTERNAL, "host key methods %s: %s", prefs,
		    ssh_msg(c->ssh));
		goto out;
	}
	if (tcp_connect(s, c, deadline, e) == -1)
		goto out;
	libssh2_session_set_blocking(c->ssh, 0);
	while ((r = libssh2_session_handshake(c->ssh, c->fd)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(s, c, deadline, e) == -1) {
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
		    ssh_msg(c->ssh));
		goto out;
	}
	if (verify_host_key(s, c, &kf, e) == -1)
		goto out;
	if (authenticate(s, c, e) == -1)
		goto out;
	deadline = io_deadline(s);
	while ((c->sftp = libssh2_sftp_init(c->ssh)) == NULL &&
	    libssh2_session_last_errno(c->ssh) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(s, c, deadline, e) == -1)
			goto out;
	if (c->sftp == NULL) {
		c->broken = 1;
		err_set(e, ERR_NET, "starting SFTP on %s: %s", s->t.hostport,
		    ssh_msg(c->ssh));
		goto out;
	}
	if (s->keepalive != STOR_KEEPALIVE_OFF)
		libssh2_keepalive_config(c->ssh, 0, s->keepalive);
	c->last_out = now_ms();
	rc = 0;
out:
	kh_free(&kf);
	if (rc == -1) {
		c->broken = 1;
		conn_close(c);
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
		conn_close(c);
	else
		c->last_out = now_ms();
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
static void *
keepalive_main(void *arg)
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
			    now_ms() - c->last_out <
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

typedef int (
    *op_fn)(struct sftp *, struct conn *, void *, int attempt, struct err *);

/*
 * Run op on a pooled session; a network failure closes that session and
 * runs op again on a fresh one after 1, 2, 4... s, up to s->retries
 * times.  Everything else (auth, host key, disk full, file errors) is
 * final.
 */
static int
run_op(struct sftp *s, op_fn op, void *arg, struct err *e)
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

/* ------------------------------------------------------------ file ops */

static LIBSSH2_SFTP_HANDLE *
open_file(struct sftp *s, struct conn *c, const char *path, unsigned long flags,
    long mode, int type, int *rc, struct err *e)
{
	LIBSSH2_SFTP_HANDLE *h;
	int64_t deadline = io_deadline(s);

	*rc = 0;
	while ((h = libssh2_sftp_open_ex(c->sftp, path,
	            (unsigned int)strlen(path), flags, mode, type)) == NULL) {
		int r = libssh2_session_last_errno(c->ssh);

		if (r != LIBSSH2_ERROR_EAGAIN) {
			*rc = r;
			return (NULL);
		}
		if (conn_wait(s, c, deadline, e) == -1) {
			*rc = WAIT_FAILED;
			return (NULL);
		}
	}
	return (h);
}

/* Close a handle; -1 (e set) when the server reports a failure. */
static int
close_handle(struct sftp *s, struct conn *c, LIBSSH2_SFTP_HANDLE *h,
    const char *path, struct err *e)
{
	int64_t deadline = io_deadline(s);
	int r;

	struct err scratch;

	if (e == NULL)
		e = &scratch;
	if (c->broken) {
		/*
		 * The session is dead: with its socket shut, the close fails
		 * at once instead of waiting, and frees the handle and the
		 * writes still queued on it.
		 */
		if (c->fd != -1)
			shutdown(c->fd, SHUT_RDWR);
		libssh2_session_set_blocking(c->ssh, 1);
		(void)libssh2_sftp_close_handle(h);
		return (-1);
	}
	while ((r = libssh2_sftp_close_handle(h)) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(s, c, deadline, e) == -1)
			return (-1);
	if (r != 0)
		return (conn_fail(s, c, r, "close", path, e));
	return (0);
}

static int
read_fully(struct sftp *s, struct conn *c, LIBSSH2_SFTP_HANDLE *h, uint8_t *buf,
    size_t len, uint64_t off, const char *path, struct err *e)
{
	size_t done = 0;
	int64_t deadline = io_deadline(s);

	while (done < len) {
		/*
		 * libssh2 1.10 asks the server for 4 times the buffer ahead:
		 * a quarter of what is left keeps the pipeline full without
		 * fetching bytes past the range (a 256 KiB blob would cost a
		 * MiB otherwise).
		 */
		size_t want = (len - done + 3) / 4, chunk = io_chunk(&s->down);
		ssize_t n;

		if (interrupted(s)) {
			c->broken = 1; /* requests are in flight */
			return (err_set(e, ERR_INTERRUPTED, "interrupted"));
		}
		if (want > chunk)
			want = chunk;
		if (bucket_take(s, &s->down, want, e) == -1)
			return (-1);
		while ((n = libssh2_sftp_read(h, (char *)buf + done, want)) ==
		    LIBSSH2_ERROR_EAGAIN)
			if (conn_wait(s, c, deadline, e) == -1)
				return (err_wrap(e, "read %s", path));
		if (n < 0)
			return (conn_fail(s, c, (int)n, "read", path, e));
		if (n == 0)
			return (err_set(e, ERR_CORRUPT,
			    "%s is shorter than expected (%llu bytes wanted "
			    "at offset %llu)",
			    path, (unsigned long long)len,
			    (unsigned long long)off));
		done += (size_t)n;
		deadline = io_deadline(s);
	}
	return (0);
}

struct get_arg {
	const char *name;
	size_t max;
	uint64_t off;   /* get_range */
	size_t len;     /* get_range */
	uint8_t *buf;   /* get_range: the caller's */
	uint8_t **data; /* get */
	size_t *outlen; /* get */
};

static int
op_get(struct sftp *s, struct conn *c, void *arg, int attempt, struct err *e)
{
	struct get_arg *a = arg;
	char *path = path_of(s, a->name);
	LIBSSH2_SFTP_HANDLE *h = NULL;
	LIBSSH2_SFTP_ATTRIBUTES at;
	uint8_t *buf = NULL;
	int64_t deadline;
	int r = 0, rc = -1;

	(void)attempt;
	if ((h = open_file(s, c, path, LIBSSH2_FXF_READ, 0,
	         LIBSSH2_SFTP_OPENFILE, &r, e)) == NULL) {
		if (r != WAIT_FAILED)
			conn_fail(s, c, r, "open", path, e);
		goto out;
	}
	if (a->data != NULL) {
		deadline = io_deadline(s);
		while ((r = libssh2_sftp_fstat_ex(h, &at, 0)) ==
		    LIBSSH2_ERROR_EAGAIN)
			if (conn_wait(s, c, deadline, e) == -1)
				goto out;
		if (r != 0) {
			conn_fail(s, c, r, "stat", path, e);
			goto out;
		}
		if (!(at.flags & LIBSSH2_SFTP_ATTR_SIZE)) {
			err_set(e, ERR_IO, "stat %s: the server gives no size",
			    path);
			goto out;
		}
		if (at.filesize > a->max) {
			err_set(e, ERR_CORRUPT,
			    "%s is %llu bytes, more than the %zu expected",
			    path, (unsigned long long)at.filesize, a->max);
			goto out;
		}
		buf = xmalloc(at.filesize > 0 ? (size_t)at.filesize : 1);
		if (read_fully(s, c, h, buf, (size_t)at.filesize, 0, path, e) ==
		    -1)
			goto out;
		*a->data = buf;
		*a->outlen = (size_t)at.filesize;
		buf = NULL;
	} else {
		libssh2_sftp_seek64(h, a->off);
		if (read_fully(s, c, h, a->buf, a->len, a->off, path, e) == -1)
			goto out;
	}
	rc = 0;
out:
	/* The bytes are read: a read handle's close cannot spoil them. */
	if (h != NULL)
		(void)close_handle(s, c, h, path, NULL);
	free(buf);
	free(path);
	return (rc);
}

static int
sftp_get(struct stor *st, const char *name, size_t max, uint8_t **data,
    size_t *len, struct err *e)
{
	struct get_arg a = { name, max, 0, 0, NULL, data, len };

	return (run_op(st->impl, op_get, &a, e));
}

static int
sftp_get_range(struct stor *st, const char *name, uint64_t off, size_t len,
    uint8_t *buf, struct err *e)
{
	struct get_arg a = { name, 0, off, len, buf, NULL, NULL };

	return (run_op(st->impl, op_get, &a, e));
}

/* 0 and attributes; 1 when missing; -1 on error. */
static int
stat_path(struct sftp *s, struct conn *c, const char *path,
    LIBSSH2_SFTP_ATTRIBUTES *at, struct err *e)
{
	int64_t deadline = io_deadline(s);
	int r;

	while (
	    (r = libssh2_sftp_stat_ex(c->sftp, path, (unsigned int)strlen(path),
	         LIBSSH2_SFTP_STAT, at)) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(s, c, deadline, e) == -1)
			return (-1);
	if (r == 0)
		return (0);
	if (conn_fail(s, c, r, "stat", path, e) == -1 && e->sys_errno == ENOENT)
		return (1);
	return (-1);
}

/* mkdir; an existing directory is fine. */
static int
make_dir(struct sftp *s, struct conn *c, const char *path, struct err *e)
{
	LIBSSH2_SFTP_ATTRIBUTES at;
	int64_t deadline = io_deadline(s);
	int r;

	while ((r = libssh2_sftp_mkdir_ex(c->sftp, path,
	            (unsigned int)strlen(path), 0700)) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(s, c, deadline, e) == -1)
			return (-1);
	if (r == 0)
		return (0);
	if (r != LIBSSH2_ERROR_SFTP_PROTOCOL)
		return (conn_fail(s, c, r, "mkdir", path, e));
	/* OpenSSH says only "failure" for an existing name: look. */
	conn_fail(s, c, r, "mkdir", path, e);
	{
		struct err e2 = *e;

		if (stat_path(s, c, path, &at, e) == 0 &&
		    LIBSSH2_SFTP_S_ISDIR(at.permissions))
			return (0);
		*e = e2;
	}
	return (-1);
}

/* mkdir -p for the parents of path below the root (or of path itself). */
static int
make_parents(struct sftp *s, struct conn *c, const char *path, int self,
    struct err *e)
{
	char *p = xstrdup(path), *q;
	size_t skip = strlen(s->t.root);
	int rc = -1;

	if (self)
		skip = 0;
	q = p + (skip < strlen(p) ? skip : 0);
	while (*q == '/')
		q++;
	for (; (q = strchr(q, '/')) != NULL; q++) {
		*q = '\0';
		if (make_dir(s, c, p, e) == -1)
			goto out;
		*q = '/';
	}
	if (self && make_dir(s, c, p, e) == -1)
		goto out;
	rc = 0;
out:
	free(p);
	return (rc);
}

/* When a write fails with a bare "failure": is the target full? */
static int
maybe_full(struct sftp *s, struct conn *c, const char *path, size_t need,
    struct err *e)
{
	LIBSSH2_SFTP_STATVFS vfs;
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int64_t deadline = io_deadline(s);
	int r;

	if (c->broken || e->class != ERR_IO || e->sys_errno != EIO)
		goto out;
	if (slash != NULL)
		*slash = '\0';
	else
		snprintf(dir, strlen(dir) + 1, ".");
	while ((r = libssh2_sftp_statvfs(c->sftp, dir, strlen(dir), &vfs)) ==
	    LIBSSH2_ERROR_EAGAIN) {
		struct err e2;

		if (conn_wait(s, c, deadline, &e2) == -1)
			goto out;
	}
	if (r == 0 && vfs.f_bavail * vfs.f_frsize < need) {
		err_set(e, ERR_NOSPACE,
		    "no space left on the target: writing %s on %s failed "
		    "with %llu bytes free there",
		    path, s->t.hostport,
		    (unsigned long long)(vfs.f_bavail * vfs.f_frsize));
		e->sys_errno = ENOSPC;
	}
out:
	free(dir);
	return (-1);
}

struct put_arg {
	const char *name;
	const uint8_t *data;
	size_t len;
	int flags;
};

static int
remove_path(struct sftp *s, struct conn *c, const char *path, struct err *e)
{
	int64_t deadline = io_deadline(s);
	int r;

	while ((r = libssh2_sftp_unlink_ex(c->sftp, path,
	            (unsigned int)strlen(path))) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(s, c, deadline, e) == -1)
			return (-1);
	if (r == 0)
		return (0);
	if (conn_fail(s, c, r, "remove", path, e) == -1 &&
	    e->sys_errno == ENOENT)
		return (0);
	return (-1);
}

static int
rename_path(struct sftp *s, struct conn *c, const char *from, const char *to,
    struct err *e)
{
	int64_t deadline = io_deadline(s);
	int r;

	while ((r = libssh2_sftp_rename_ex(c->sftp, from,
	            (unsigned int)strlen(from), to, (unsigned int)strlen(to),
	            LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(s, c, deadline, e) == -1)
			return (-1);
	if (r == 0)
		return (0);
	return (conn_fail(s, c, r, "rename to", to, e));
}

static int
write_fully(struct sftp *s, struct conn *c, LIBSSH2_SFTP_HANDLE *h,
    const uint8_t *data, size_t len, const char *path, struct err *e)
{
	size_t done = 0;
	int64_t deadline = io_deadline(s);

	while (done < len) {
		size_t want = len - done, chunk = io_chunk(&s->up);
		ssize_t n;

		if (interrupted(s)) {
			c->broken = 1; /* writes are in flight */
			return (err_set(e, ERR_INTERRUPTED, "interrupted"));
		}
		if (want > chunk)
			want = chunk;
		if (bucket_take(s, &s->up, want, e) == -1)
			return (-1);
		/* Short counts are normal: go on with the rest. */
		while (want > 0) {
			while ((n = libssh2_sftp_write(h,
			            (const char *)data + done, want)) ==
			    LIBSSH2_ERROR_EAGAIN)
				if (conn_wait(s, c, deadline, e) == -1)
					return (err_wrap(e, "write %s", path));
			if (n < 0) {
				conn_fail(s, c, (int)n, "write", path, e);
				return (maybe_full(s, c, path, len - done, e));
			}
			done += (size_t)n;
			want -= (size_t)n;
			deadline = io_deadline(s);
		}
	}
	return (0);
}

static int
op_put(struct sftp *s, struct conn *c, void *arg, int attempt, struct err *e)
{
	struct put_arg *a = arg;
	char *path = path_of(s, a->name), *tmp = NULL, *slash;
	uint8_t rnd[8];
	char hex[17];
	LIBSSH2_SFTP_HANDLE *h = NULL;
	LIBSSH2_SFTP_ATTRIBUTES at;
	int64_t deadline;
	int r = 0, rc = -1, made = 0, opened = 0;
	struct err e2;

	/* A fresh temp name every attempt: an old one may still be open. */
	if (crypto_random(rnd, sizeof(rnd), e) == -1)
		goto out;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	slash = strrchr(path, '/');
	if (slash != NULL)
		tmp = xasprintf("%.*s/" TEMP_PREFIX "%s", (int)(slash - path),
		    path, hex);
	else
		tmp = xasprintf(TEMP_PREFIX "%s", hex);
	for (;;) {
		h = open_file(s, c, tmp,
		    LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
		    LIBSSH2_SFTP_S_IRUSR | LIBSSH2_SFTP_S_IWUSR,
		    LIBSSH2_SFTP_OPENFILE, &r, e);
		if (h != NULL) {
			opened = 1;
			break;
		}
		if (r == WAIT_FAILED)
			goto out;
		conn_fail(s, c, r, "create", tmp, e);
		/* The first file of a directory: make its parents. */
		if (made || e->sys_errno != ENOENT || slash == NULL)
			goto out;
		if (make_parents(s, c, path, 0, e) == -1)
			goto out;
		made = 1;
	}
	if (write_fully(s, c, h, a->data, a->len, tmp, e) == -1)
		goto out;
	deadline = io_deadline(s);
	while ((r = libssh2_sftp_fsync(h)) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(s, c, deadline, e) == -1)
			goto out;
	if (r != 0) {
		conn_fail(s, c, r, "fsync", tmp, e);
		/* A server without fsync@openssh.com: do without. */
		if (e->sys_errno != ENOTSUP) {
			maybe_full(s, c, tmp, 1, e);
			goto out;
		}
		log_debug(s->log, "%s: no fsync@openssh.com on the server",
		    s->t.hostport);
	}
	r = close_handle(s, c, h, tmp, e);
	h = NULL;
	if (r == -1) {
		maybe_full(s, c, tmp, 1, e);
		goto out;
	}
	if (rename_path(s, c, tmp, path, e) == 0) {
		rc = 0;
		goto out;
	}
	if (c->broken)
		goto out;
	/* SFTP v3 rename never replaces: is the name taken? */
	e2 = *e;
	switch (stat_path(s, c, path, &at, e)) {
	case 1:
		*e = e2;
		goto out;
	case -1:
		goto out;
	}
	if (attempt > 0 && (at.flags & LIBSSH2_SFTP_ATTR_SIZE) &&
	    at.filesize == a->len) {
		/*
		 * The earlier attempt's rename went through and only its
		 * answer was lost: names are unique (content hashes, random
		 * lock names), so same name and size is our file.
		 */
		(void)remove_path(s, c, tmp, &e2); /* this attempt's copy */
		rc = 0;
		goto out;
	}
	if (a->flags & STOR_NOREPLACE) {
		err_set(e, ERR_IO, "%s exists on %s", path, s->t.hostport);
		e->sys_errno = EEXIST;
		goto out;
	}
	/* Replacing: not atomic over SFTP v3, for files that allow it. */
	if (remove_path(s, c, path, e) == -1 ||
	    rename_path(s, c, tmp, path, e) == -1)
		goto out;
	rc = 0;
out:
	if (h != NULL)
		(void)close_handle(s, c, h, tmp, &e2);
	if (rc == -1 && opened && !c->broken)
		(void)remove_path(s, c, tmp, &e2); /* best effort */
	if (rc == -1 && e->class != ERR_INTERRUPTED &&
	    strstr(e->msg, a->name) == NULL)
		err_wrap(e, "put %s", a->name);
	free(tmp);
	free(path);
	return (rc);
}

static int
sftp_put(struct stor *st, const char *name, const uint8_t *data, size_t len,
    int flags, struct err *e)
{
	struct put_arg a = { name, data, len, flags };

	return (run_op(st->impl, op_put, &a, e));
}

/* ------------------------------------------------------ streamed puts */

/*
 * stor_put_stream: op_put's publishing, with the bytes pulled from the
 * caller's reader a buffer at a time.  A network fault restarts the whole
 * file on a fresh session (run_op), so the reader is asked again from 0;
 * the reader's own failures (cb_failed) are kept apart and never retried.
 */
struct put_stream_arg {
	const char *name;
	uint64_t len;
	const struct stor_reader *r;
	int flags;
	int cb_failed;
	struct err cb_err;
};

/* Pull the file from the reader into h; -1 with a->cb_failed for its own. */
static int
stream_to(struct sftp *s, struct conn *c, LIBSSH2_SFTP_HANDLE *h,
    struct put_stream_arg *a, const char *tmp, struct err *e)
{
	size_t bufsz =
	    a->len < STOR_STREAM_BUF ? (size_t)a->len + 1 : STOR_STREAM_BUF;
	uint8_t *buf = xmalloc(bufsz);
	uint64_t off = 0;
	int rc = -1;

	while (off < a->len) {
		size_t n = a->len - off < STOR_STREAM_BUF
		    ? (size_t)(a->len - off)
		    : STOR_STREAM_BUF;

		err_clear(&a->cb_err);
		if (a->r->read(a->r->arg, off, buf, n, &a->cb_err) == -1) {
			a->cb_failed = 1;
			goto out;
		}
		if (write_fully(s, c, h, buf, n, tmp, e) == -1)
			goto out;
		off += n;
	}
	rc = 0;
out:
	free(buf);
	return (rc);
}

static int
op_put_stream(struct sftp *s, struct conn *c, void *arg, int attempt,
    struct err *e)
{
	struct put_stream_arg *a = arg;
	char *path = path_of(s, a->name), *tmp = NULL, *slash;
	uint8_t rnd[8];
	char hex[17];
	LIBSSH2_SFTP_HANDLE *h = NULL;
	LIBSSH2_SFTP_ATTRIBUTES at;
	int64_t deadline;
	int r = 0, rc = -1, made = 0, opened = 0;
	struct err e2;

	/* A fresh temp name every attempt: an old one may still be open. */
	if (crypto_random(rnd, sizeof(rnd), e) == -1)
		goto out;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	slash = strrchr(path, '/');
	if (slash != NULL)
		tmp = xasprintf("%.*s/" TEMP_PREFIX "%s", (int)(slash - path),
		    path, hex);
	else
		tmp = xasprintf(TEMP_PREFIX "%s", hex);
	for (;;) {
		h = open_file(s, c, tmp,
		    LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
		    LIBSSH2_SFTP_S_IRUSR | LIBSSH2_SFTP_S_IWUSR,
		    LIBSSH2_SFTP_OPENFILE, &r, e);
		if (h != NULL) {
			opened = 1;
			break;
		}
		if (r == WAIT_FAILED)
			goto out;
		conn_fail(s, c, r, "create", tmp, e);
		/* The first file of a directory: make its parents. */
		if (made || e->sys_errno != ENOENT || slash == NULL)
			goto out;
		if (make_parents(s, c, path, 0, e) == -1)
			goto out;
		made = 1;
	}
	if (stream_to(s, c, h, a, tmp, e) == -1)
		goto out;
	deadline = io_deadline(s);
	while ((r = libssh2_sftp_fsync(h)) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(s, c, deadline, e) == -1)
			goto out;
	if (r != 0) {
		conn_fail(s, c, r, "fsync", tmp, e);
		if (e->sys_errno != ENOTSUP) {
			maybe_full(s, c, tmp, 1, e);
			goto out;
		}
		log_debug(s->log, "%s: no fsync@openssh.com on the server",
		    s->t.hostport);
	}
	r = close_handle(s, c, h, tmp, e);
	h = NULL;
	if (r == -1) {
		maybe_full(s, c, tmp, 1, e);
		goto out;
	}
	/* Checked before the rename: a refused file never gets its name. */
	if (a->r->done != NULL) {
		err_clear(&a->cb_err);
		if (a->r->done(a->r->arg, &a->cb_err) == -1) {
			a->cb_failed = 1;
			goto out;
		}
	}
	if (rename_path(s, c, tmp, path, e) == 0) {
		rc = 0;
		goto out;
	}
	if (c->broken)
		goto out;
	/* SFTP v3 rename never replaces: is the name taken? */
	e2 = *e;
	switch (stat_path(s, c, path, &at, e)) {
	case 1:
		*e = e2;
		goto out;
	case -1:
		goto out;
	}
	if (attempt > 0 && (at.flags & LIBSSH2_SFTP_ATTR_SIZE) &&
	    at.filesize == a->len) {
		/* An earlier attempt's rename went through: see op_put. */
		(void)remove_path(s, c, tmp, &e2);
		rc = 0;
		goto out;
	}
	if (a->flags & STOR_NOREPLACE) {
		err_set(e, ERR_IO, "%s exists on %s", path, s->t.hostport);
		e->sys_errno = EEXIST;
		goto out;
	}
	if (remove_path(s, c, path, e) == -1 ||
	    rename_path(s, c, tmp, path, e) == -1)
		goto out;
	rc = 0;
out:
	if (h != NULL)
		(void)close_handle(s, c, h, tmp, &e2);
	if (rc == -1 && opened && !c->broken)
		(void)remove_path(s, c, tmp, &e2); /* best effort */
	if (rc == -1 && a->cb_failed)
		/* Not ours, so not retried here: sftp_put_stream hands it on.
		 */
		err_set(e, ERR_INTERNAL, "put %s: the reader failed", a->name);
	else if (rc == -1 && e->class != ERR_INTERRUPTED &&
	    strstr(e->msg, a->name) == NULL)
		err_wrap(e, "put %s", a->name);
	free(tmp);
	free(path);
	return (rc);
}

static int
sftp_put_stream(struct stor *st, const char *name, uint64_t len,
    const struct stor_reader *r, int flags, struct err *e)
{
	struct put_stream_arg a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.name = name;
	a.len = len;
	a.r = r;
	a.flags = flags;
	rc = run_op(st->impl, op_put_stream, &a, e);
	if (rc == -1 && a.cb_failed)
		*e = a.cb_err;
	return (rc);
}

struct stat_arg {
	const char *name;
	uint64_t *size;
};

static int
op_stat(struct sftp *s, struct conn *c, void *arg, int attempt, struct err *e)
{
	struct stat_arg *a = arg;
	LIBSSH2_SFTP_ATTRIBUTES at;
	char *path = path_of(s, a->name);
	int rc;

	(void)attempt;
	rc = stat_path(s, c, path, &at, e);
	if (rc == 0)
		*a->size = at.filesize;
	free(path);
	return (rc);
}

static int
sftp_stat(struct stor *st, const char *name, uint64_t *size, struct err *e)
{
	struct stat_arg a = { name, size };

	return (run_op(st->impl, op_stat, &a, e));
}

struct mtime_arg {
	const char *name;
	int64_t *mtime;
};

static int
op_mtime(struct sftp *s, struct conn *c, void *arg, int attempt, struct err *e)
{
	struct mtime_arg *a = arg;
	LIBSSH2_SFTP_ATTRIBUTES at;
	char *path = path_of(s, a->name);
	int rc;

	(void)attempt;
	rc = stat_path(s, c, path, &at, e);
	if (rc == 0)
		*a->mtime = (at.flags & LIBSSH2_SFTP_ATTR_ACMODTIME)
		    ? (int64_t)at.mtime
		    : INT64_MIN;
	free(path);
	return (rc);
}

static int
sftp_mtime(struct stor *st, const char *name, int64_t *mtime, struct err *e)
{
	struct mtime_arg a = { name, mtime };

	return (run_op(st->impl, op_mtime, &a, e));
}

/* One directory's entries, read whole so no session is held across fn. */
struct dir_ent {
	char *name;
	uint64_t size;
	int isdir;
};

struct dir_arg {
	const char *rel;
	struct dir_ent *ents;
	size_t n, cap;
};

static void
dir_arg_clear(struct dir_arg *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->ents[i].name);
	free(a->ents);
	a->ents = NULL;
	a->n = a->cap = 0;
}

static int
op_readdir(struct sftp *s, struct conn *c, void *arg, int attempt,
    struct err *e)
{
	struct dir_arg *a = arg;
	char *path = path_of(s, a->rel);
	char name[SFTP_DIR_NAME_MAX];
	LIBSSH2_SFTP_ATTRIBUTES at;
	LIBSSH2_SFTP_HANDLE *h;
	int64_t deadline;
	size_t seen = 0, bytes = 0;
	int r = 0, rc = -1;

	(void)attempt;
	dir_arg_clear(a);
	if ((h = open_file(s, c, path, 0, 0, LIBSSH2_SFTP_OPENDIR, &r, e)) ==
	    NULL) {
		if (r != WAIT_FAILED &&
		    conn_fail(s, c, r, "list", path, e) == -1 &&
		    e->sys_errno == ENOENT)
			rc = 0;
		goto out;
	}
	for (;;) {
		deadline = io_deadline(s);
		while ((r = libssh2_sftp_readdir(h, name, sizeof(name), &at)) ==
		    LIBSSH2_ERROR_EAGAIN)
			if (conn_wait(s, c, deadline, e) == -1)
				goto out;
		if (r == 0)
			break;
		if (r < 0) {
			conn_fail(s, c, r, "list", path, e);
			goto out;
		}
		bytes += (size_t)r + strlen(a->rel) + 2 + sizeof(*a->ents);
		if (++seen > SFTP_DIR_ENTRIES_MAX ||
		    bytes > SFTP_DIR_NAMES_MAX) {
			err_set(e, ERR_CORRUPT,
			    "list %s on %s: more than %u entries or %u MiB of "
			    "names in one directory, which no repository "
			    "holds; refused (is that the repository?)",
			    path, s->t.hostport, SFTP_DIR_ENTRIES_MAX,
			    SFTP_DIR_NAMES_MAX >> 20);
			goto out;
		}
		if (name[0] == '.') /* ., .., and temp files */
			continue;
		/* Symlinks and anything else are not followed, nor listed. */
		if (!(at.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
		    !(LIBSSH2_SFTP_S_ISDIR(at.permissions) ||
		        LIBSSH2_SFTP_S_ISREG(at.permissions)))
			continue;
		if (a->n == a->cap) {
			a->cap = a->cap ? 2 * a->cap : 64;
			a->ents =
			    xreallocarray(a->ents, a->cap, sizeof(*a->ents));
		}
		a->ents[a->n].name = xasprintf("%s/%.*s", a->rel, r, name);
		a->ents[a->n].size = at.filesize;
		a->ents[a->n].isdir = LIBSSH2_SFTP_S_ISDIR(at.permissions);
		a->n++;
	}
	rc = 0;
out:
	if (h != NULL)
		(void)close_handle(s, c, h, path, NULL);
	free(path);
	return (rc);
}

/* The components of a name below the root: "data/ab" has 2. */
static size_t
name_depth(const char *name)
{
	size_t n = 1;

	for (; *name != '\0'; name++)
		n += *name == '/';
	return (n);
}

static int
list_dir(struct sftp *s, const char *rel,
    int (*fn)(void *, const char *, uint64_t), void *arg, int *warned,
    struct err *e)
{
	struct dir_arg a = { rel, NULL, 0, 0 };
	int rc = -1;

	if (run_op(s, op_readdir, &a, e) == -1)
		goto out;
	for (size_t i = 0; i < a.n; i++) {
		const char *name = a.ents[i].name;
		int r;

		if (!a.ents[i].isdir)
			r = fn(arg, name, a.ents[i].size);
		else if (name_depth(name) < SFTP_LIST_DEPTH)
			r = list_dir(s, name, fn, arg, warned, e);
		else {
			/* Its files would be deeper than any repository's. */
			if (!*warned)
				log_warn(s->log,
				    "%s: skipped directory %s on the server "
				    "(and any like it): nothing in a "
				    "repository is that deep",
				    s->t.hostport, name);
			*warned = 1;
			r = 0;
		}
		if (r != 0) {
			rc = r;
			goto out;
		}
	}
	rc = 0;
out:
	dir_arg_clear(&a);
	return (rc);
}

static int
sftp_list(struct stor *st, const char *dir,
    int (*fn)(void *, const char *, uint64_t), void *arg, struct err *e)
{
	int warned = 0;

	return (list_dir(st->impl, dir, fn, arg, &warned, e));
}

static int
op_remove(struct sftp *s, struct conn *c, void *arg, int attempt, struct err *e)
{
	char *path = path_of(s, arg);
	int rc;

	(void)attempt;
	rc = remove_path(s, c, path, e);
	free(path);
	return (rc);
}

static int
sftp_remove(struct stor *st, const char *name, struct err *e)
{
	return (run_op(st->impl, op_remove, (void *)(uintptr_t)name, e));
}

struct root_arg {
	int create;
	const char *location;
};

static int
op_root(struct sftp *s, struct conn *c, void *arg, int attempt, struct err *e)
{
	struct root_arg *a = arg;
	LIBSSH2_SFTP_ATTRIBUTES at;
	const char *root = s->t.root[0] ? s->t.root : ".";
	int r;

	(void)attempt;
	if ((r = stat_path(s, c, root, &at, e)) == -1)
		return (-1);
	if (r == 1) {
		if (!a->create)
			return (err_set(e, ERR_NOREPO, "no repository at %s",
			    a->location));
		if (make_parents(s, c, root, 1, e) == -1)
			return (err_wrap(e, "create %s", a->location));
		return (0);
	}
	if (!LIBSSH2_SFTP_S_ISDIR(at.permissions))
		return (err_set(e, ERR_NOREPO,
		    "repository %s is not a directory", a->location));
	return (0);
}

static void
sftp_free(struct sftp *s)
{
	if (s == NULL)
		return;
	if (s->ka_running) {
		pthread_mutex_lock(&s->mu);
		s->closing = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->ka_thread, NULL);
	}
	for (int i = 0; i < s->nconns; i++)
		if (s->conns[i].ssh != NULL) {
			/* The server may be stalled: do not wait for it. */
			if (s->trouble)
				s->conns[i].broken = 1;
			conn_close(&s->conns[i]);
		}
	free(s->conns);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->up.mu);
	pthread_mutex_destroy(&s->down.mu);
	free(s->known_hosts);
	free(s->identity);
	freezero_str(s->identity_pass);
	free(s);
}

static void
sftp_close(struct stor *st)
{
	sftp_free(st->impl);
}

static const struct stor_ops sftp_ops = {
	.get = sftp_get,
	.get_range = sftp_get_range,
	.put = sftp_put,
	.put_stream = sftp_put_stream,
	.stat = sftp_stat,
	.mtime = sftp_mtime,
	.list = sftp_list,
	.remove = sftp_remove,
	.close = sftp_close,
};

static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;
static int ssh_init_rc;

static void
ssh_init(void)
{
	ssh_init_rc = libssh2_init(0);
}

static int
read_identity_pass(struct sftp *s, const char *file, struct err *e)
{
	struct pass_opts po;
	struct secret *sec = NULL;

	memset(&po, 0, sizeof(po));
	po.password_file = file;
	if (pass_get(&po, "identity passphrase", 0, &sec, e) == -1)
		return (err_wrap(e, "identity_passphrase_file"));
	s->identity_pass = xmalloc(secret_len(sec) + 1);
	memcpy(s->identity_pass, secret_data(sec), secret_len(sec));
	s->identity_pass[secret_len(sec)] = '\0';
	secret_free(sec);
	return (0);
}

int
stor_sftp_open(const char *location, const struct stor_opts *o, int create,
    struct stor **out, struct err *e)
{
	struct stor_opts none;
	struct sftp *s = xcalloc(1, sizeof(*s));
	struct root_arg ra = { create, location };
	struct stor *st;
	const char *home;

	*out = NULL;
	if (o == NULL) {
		memset(&none, 0, sizeof(none));
		o = &none;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_init(&s->up.mu, NULL);
	pthread_mutex_init(&s->down.mu, NULL);
	pthread_once(&ssh_once, ssh_init);
	if (ssh_init_rc != 0) {
		err_set(e, ERR_INTERNAL, "libssh2_init failed");
		goto fail;
	}
	if (stor_sftp_parse_url(location, o, &s->t, e) == -1)
		goto fail;
	if (o->known_hosts != NULL)
		s->known_hosts = xstrdup(o->known_hosts);
	else {
		struct passwd *pw;

		if (((home = getenv("HOME")) == NULL || home[0] == '\0') &&
		    (pw = getpwuid(geteuid())) != NULL)
			home = pw->pw_dir;
		if (home == NULL) {
			err_set(e, ERR_USAGE,
			    "no home directory for ~/.ssh/known_hosts; set "
			    "known_hosts");
			goto fail;
		}
		s->known_hosts = xasprintf("%s/.ssh/known_hosts", home);
	}
	if (o->identity != NULL) {
		if (identity_check(o->identity, e) == -1)
			goto fail;
		s->identity = xstrdup(o->identity);
	}
	if (o->identity_passphrase_file != NULL &&
	    read_identity_pass(s, o->identity_passphrase_file, e) == -1)
		goto fail;
	s->connect_timeout = o->connect_timeout ? o->connect_timeout : 10;
	s->io_timeout = o->io_timeout ? o->io_timeout : 60;
	s->keepalive = o->keepalive ? o->keepalive : 15;
	s->retries = o->retries < 0 ? 0 : o->retries == 0 ? 5 : o->retries;
	s->nconns = o->transfers > 0 ? o->transfers : STOR_SFTP_TRANSFERS;
	s->up.rate = o->limit_upload;
	s->down.rate = o->limit_download;
	s->accept_new = o->accept_new_host_key;
	s->log = o->log;
	s->interrupted = o->interrupted;
	s->conns = xcalloc((size_t)s->nconns, sizeof(*s->conns));
	for (int i = 0; i < s->nconns; i++)
		s->conns[i].fd = -1;
	/* Connect now: host key and authentication fail here, once. */
	if (run_op(s, op_root, &ra, e) == -1)
		goto fail;
	if (s->keepalive != STOR_KEEPALIVE_OFF &&
	    pthread_create(&s->ka_thread, NULL, keepalive_main, s) == 0)
		s->ka_running = 1;
	st = xcalloc(1, sizeof(*st));
	st->ops = &sftp_ops;
	st->location = xstrdup(location);
	st->impl = s;
	*out = st;
	return (0);
fail:
	sftp_free(s);
	return (-1);
}
