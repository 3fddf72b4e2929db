/*
 * sftp:// host keys: known_hosts read as OpenSSH reads it, and the check
 * of the key a server offers at connect.
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
#include "store/sftp_impl.h"
#include "store/store_impl.h"
#include "xmalloc.h"

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

void
sftp_kh_free(struct kh_file *kf)
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
int
sftp_kh_read(LIBSSH2_SESSION *ssh, const char *file, struct kh_file *kf,
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
		    sftp_ssh_msg(ssh));
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
		sftp_kh_free(kf);
	return (rc);
}

/*
 * The name known_hosts knows host:port by: "host" for port 22, else
 * "[host]:port"; lowercase, as ssh(1) looks it up.
 */
void
sftp_kh_name(const char *host, int port, char *out, size_t outsz)
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
		    sftp_ssh_msg(kf->ssh)));
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
int
sftp_kh_methods(struct kh_file *kf, const char *name, char *out, size_t outsz,
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

	sftp_kh_name(host, port, name, sizeof(name));
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
	if (sftp_kh_read(ssh, file, &kf, e) == 0) {
		sftp_kh_name(host, port, name, sizeof(name));
		rc = sftp_kh_methods(&kf, name, out, outsz, e);
		sftp_kh_free(&kf);
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
	if (sftp_kh_read(ssh, file, &kf, e) == 0) {
		rc = kh_verify(&kf, host, port, key, keylen, e);
		sftp_kh_free(&kf);
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
		    sftp_ssh_msg(ssh));
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

/* ------------------------------------------------------------ checking at
 * connect */

int
sftp_verify_host_key(struct sftp *s, struct conn *c, struct kh_file *kf,
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
		    s->t.hostport, sftp_ssh_msg(c->ssh)));
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

void
sftp_kh_all_methods(char *out, size_t outsz)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < NKEY_TYPES; i++)
		o += (size_t)snprintf(out + o, outsz - o, "%s%s",
		    o > 0 ? "," : "", key_types[i].method);
}
