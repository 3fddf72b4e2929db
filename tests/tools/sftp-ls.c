/*
 * sftp-ls: list one remote directory over SFTP with libssh2, trusting only
 * the host keys in a known_hosts file.  The e2e tests use it to prove that
 * the sshd that tests/e2e/lib.sh starts works as coffer will use it.
 *
 *   sftp-ls -p PORT -u USER -i IDENTITY -k KNOWN_HOSTS HOST PATH
 *
 * Prints the names in PATH, sorted bytewise, one a line, without . and ..
 * Exit status (coffer's table, lib/err.h): 0 listed; 6 the host key is not
 * in KNOWN_HOSTS or differs from it; 7 the server refused the key;
 * 2 bad usage; 1 anything else.  Errors are one line on stderr.
 */
#include <sys/types.h>

#include <sys/socket.h>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "err.h"
#include "xmalloc.h"

/* A hung server must not hang a test: every blocking call gives up. */
#define SFTP_LS_TIMEOUT_MS 30000L

struct ls {
	const char *host, *user, *identity, *known_hosts, *path;
	int port;
	char hostport[300]; /* "[host]:port", as known_hosts names it */
	int fd;
	LIBSSH2_SESSION *ssh;
	int handshaken;
	LIBSSH2_KNOWNHOSTS *kh;
	LIBSSH2_SFTP *sftp;
	LIBSSH2_SFTP_HANDLE *dir;
	char **names;
	size_t nnames;
};

/* Host key algorithms libssh2 1.10 can verify, by known_hosts key type. */
static const struct {
	int kh_type; /* LIBSSH2_KNOWNHOST_KEY_* */
	int hk_type; /* LIBSSH2_HOSTKEY_TYPE_* */
	const char *method;
} key_types[] = {
	{ LIBSSH2_KNOWNHOST_KEY_ED25519, LIBSSH2_HOSTKEY_TYPE_ED25519,
	    "ssh-ed25519" },
	{ LIBSSH2_KNOWNHOST_KEY_ECDSA_256, LIBSSH2_HOSTKEY_TYPE_ECDSA_256,
	    "ecdsa-sha2-nistp256" },
	{ LIBSSH2_KNOWNHOST_KEY_ECDSA_384, LIBSSH2_HOSTKEY_TYPE_ECDSA_384,
	    "ecdsa-sha2-nistp384" },
	{ LIBSSH2_KNOWNHOST_KEY_ECDSA_521, LIBSSH2_HOSTKEY_TYPE_ECDSA_521,
	    "ecdsa-sha2-nistp521" },
	{ LIBSSH2_KNOWNHOST_KEY_SSHRSA, LIBSSH2_HOSTKEY_TYPE_RSA, "ssh-rsa" },
	{ LIBSSH2_KNOWNHOST_KEY_SSHDSS, LIBSSH2_HOSTKEY_TYPE_DSS, "ssh-dss" },
};
#define NKEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

static const char *
ssh_msg(LIBSSH2_SESSION *ssh)
{
	char *msg = NULL;

	libssh2_session_last_error(ssh, &msg, NULL, 0);
	return (msg != NULL && msg[0] != '\0' ? msg : "unknown libssh2 error");
}

static int
tcp_connect(struct ls *ls, struct err *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	int gai, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", ls->port);
	if ((gai = getaddrinfo(ls->host, port, &hints, &res)) != 0)
		return (
		    err_set(e, ERR_NET, "%s: %s", ls->host, gai_strerror(gai)));
	err_set(e, ERR_NET, "%s: no address", ls->host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd =
		    socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);

		if (fd == -1) {
			err_sys(e, ERR_NET, "socket");
			continue;
		}
		/* Without it, SFTP reads crawl (see the libssh2 notes). */
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		        sizeof(one)) == -1) {
			err_sys(e, ERR_NET, "TCP_NODELAY");
			close(fd);
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
			err_sys(e, ERR_NET, "connect to %s", ls->hostport);
			close(fd);
			continue;
		}
		ls->fd = fd;
		break;
	}
	freeaddrinfo(res);
	return (ls->fd == -1 ? -1 : 0);
}

/*
 * libssh2 1.10 asks for ecdsa first; when the server has that key too and
 * known_hosts holds only another type for this host, the check would say
 * "not found".  So ask for exactly the types known_hosts holds for this
 * host.  An entry is for this host when libssh2's own check matches it
 * against its own key, which also covers hashed host names.
 */
static int
prefer_known_key_types(struct ls *ls, struct err *e)
{
	struct libssh2_knownhost *ent = NULL;
	char prefs[256] = "";
	int wanted[NKEY_TYPES] = { 0 };
	int rc;

	while ((rc = libssh2_knownhost_get(ls->kh, &ent, ent)) == 0) {
		int type = ent->typemask & LIBSSH2_KNOWNHOST_KEY_MASK;
		int mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN |
		    LIBSSH2_KNOWNHOST_KEYENC_BASE64 | type;

		for (size_t i = 0; i < NKEY_TYPES; i++) {
			if (key_types[i].kh_type != type || wanted[i])
				continue;
			if (libssh2_knownhost_checkp(ls->kh, ls->host, ls->port,
			        ent->key, strlen(ent->key), mask,
			        NULL) == LIBSSH2_KNOWNHOST_CHECK_MATCH)
				wanted[i] = 1;
		}
	}
	if (rc < 0)
		return (err_set(e, ERR_IO, "%s: %s", ls->known_hosts,
		    ssh_msg(ls->ssh)));
	/* In key_types order: the strongest first, whatever the file order. */
	for (size_t i = 0; i < NKEY_TYPES; i++)
		if (wanted[i]) {
			if (prefs[0] != '\0')
				strcat(prefs, ",");
			strcat(prefs, key_types[i].method);
		}
	/* Nothing known: let the server pick, the check will refuse it. */
	if (prefs[0] == '\0')
		return (0);
	if (libssh2_session_method_pref(ls->ssh, LIBSSH2_METHOD_HOSTKEY,
	        prefs) != 0)
		return (err_set(e, ERR_INTERNAL, "host key methods %s: %s",
		    prefs, ssh_msg(ls->ssh)));
	return (0);
}

/* OpenSSH's notation: "SHA256:" and unpadded base64. */
static void
fingerprint(LIBSSH2_SESSION *ssh, char *out, size_t outsz)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *hash =
	    libssh2_hostkey_hash(ssh, LIBSSH2_HOSTKEY_HASH_SHA256);
	const unsigned char *h = (const unsigned char *)hash;
	size_t o;

	if (h == NULL || outsz < 7 + 44) {
		snprintf(out, outsz, "(no fingerprint)");
		return;
	}
	o = (size_t)snprintf(out, outsz, "SHA256:");
	for (size_t i = 0; i < 32; i += 3) {
		unsigned long v = (unsigned long)h[i] << 16;
		size_t left = 32 - i;

		if (left > 1)
			v |= (unsigned long)h[i + 1] << 8;
		if (left > 2)
			v |= h[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		if (left > 1)
			out[o++] = b64[(v >> 6) & 63];
		if (left > 2)
			out[o++] = b64[v & 63];
	}
	out[o] = '\0';
}

static int
verify_host_key(struct ls *ls, struct err *e)
{
	const char *key, *method = NULL;
	char fp[64];
	size_t len = 0;
	int hk_type = 0, kh_type = 0, mask;

	if ((key = libssh2_session_hostkey(ls->ssh, &len, &hk_type)) == NULL)
		return (err_set(e, ERR_HOSTKEY,
		    "host key for %s not trusted: the server sent none: %s",
		    ls->hostport, ssh_msg(ls->ssh)));
	for (size_t i = 0; i < NKEY_TYPES; i++)
		if (key_types[i].hk_type == hk_type) {
			kh_type = key_types[i].kh_type;
			method = key_types[i].method;
		}
	fingerprint(ls->ssh, fp, sizeof(fp));
	if (method == NULL)
		return (err_set(e, ERR_HOSTKEY,
		    "host key for %s not trusted: unknown key type %d (%s)",
		    ls->hostport, hk_type, fp));
	mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    kh_type;
	switch (libssh2_knownhost_checkp(ls->kh, ls->host, ls->port, key, len,
	    mask, NULL)) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return (0);
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		return (err_set(e, ERR_HOSTKEY,
		    "host key for %s not trusted: %s %s is not in %s",
		    ls->hostport, method, fp, ls->known_hosts));
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		return (err_set(e, ERR_HOSTKEY,
		    "host key for %s not trusted: %s %s differs from the key "
		    "in %s (the host key changed, or someone is in between)",
		    ls->hostport, method, fp, ls->known_hosts));
	default:
		return (err_set(e, ERR_HOSTKEY,
		    "host key for %s not trusted: checking %s failed: %s",
		    ls->hostport, ls->known_hosts, ssh_msg(ls->ssh)));
	}
}

static int
authenticate(struct ls *ls, struct err *e)
{
	/* No public key file: libssh2 derives it from the private key. */
	int rc = libssh2_userauth_publickey_fromfile_ex(ls->ssh, ls->user,
	    (unsigned int)strlen(ls->user), NULL, ls->identity, NULL);

	switch (rc) {
	case 0:
		return (0);
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
	case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
		return (err_set(e, ERR_AUTH,
		    "%s refused key %s for user %s: %s", ls->hostport,
		    ls->identity, ls->user, ssh_msg(ls->ssh)));
	case LIBSSH2_ERROR_FILE:
		return (err_set(e, ERR_IO, "identity %s: %s", ls->identity,
		    ssh_msg(ls->ssh)));
	default:
		return (err_set(e, ERR_NET, "authenticating to %s: %s",
		    ls->hostport, ssh_msg(ls->ssh)));
	}
}

static const char *
sftp_msg(struct ls *ls)
{
	if (libssh2_session_last_errno(ls->ssh) != LIBSSH2_ERROR_SFTP_PROTOCOL)
		return (ssh_msg(ls->ssh));
	switch (libssh2_sftp_last_error(ls->sftp)) {
	case LIBSSH2_FX_NO_SUCH_FILE:
		return ("no such file or directory");
	case LIBSSH2_FX_PERMISSION_DENIED:
		return ("permission denied");
	default:
		return ("the server reports a failure");
	}
}

static int
cmp_names(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static int
list_dir(struct ls *ls, struct err *e)
{
	char name[4096];
	LIBSSH2_SFTP_ATTRIBUTES a;
	int n;

	if ((ls->sftp = libssh2_sftp_init(ls->ssh)) == NULL)
		return (err_set(e, ERR_NET, "starting SFTP on %s: %s",
		    ls->hostport, ssh_msg(ls->ssh)));
	ls->dir = libssh2_sftp_open_ex(ls->sftp, ls->path,
	    (unsigned int)strlen(ls->path), 0, 0, LIBSSH2_SFTP_OPENDIR);
	if (ls->dir == NULL)
		return (err_set(e, ERR_IO, "%s: %s", ls->path, sftp_msg(ls)));
	while (
	    (n = libssh2_sftp_readdir(ls->dir, name, sizeof(name), &a)) > 0) {
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		ls->names = xreallocarray(ls->names, ls->nnames + 1,
		    sizeof(*ls->names));
		ls->names[ls->nnames++] = xstrndup(name, (size_t)n);
	}
	if (n < 0)
		return (err_set(e, ERR_IO, "reading %s: %s", ls->path,
		    sftp_msg(ls)));
	if (ls->nnames > 0)
		qsort(ls->names, ls->nnames, sizeof(*ls->names), cmp_names);
	return (0);
}

static int
run(struct ls *ls, struct err *e)
{
	if (tcp_connect(ls, e) == -1)
		return (-1);
	if ((ls->ssh = libssh2_session_init()) == NULL)
		return (
		    err_set(e, ERR_INTERNAL, "libssh2_session_init failed"));
	libssh2_session_set_blocking(ls->ssh, 1);
	libssh2_session_set_timeout(ls->ssh, SFTP_LS_TIMEOUT_MS);
	if ((ls->kh = libssh2_knownhost_init(ls->ssh)) == NULL)
		return (err_set(e, ERR_INTERNAL, "libssh2_knownhost_init: %s",
		    ssh_msg(ls->ssh)));
	if (libssh2_knownhost_readfile(ls->kh, ls->known_hosts,
	        LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0)
		return (err_set(e, ERR_IO, "known hosts %s: %s",
		    ls->known_hosts, ssh_msg(ls->ssh)));
	if (prefer_known_key_types(ls, e) == -1)
		return (-1);
	if (libssh2_session_handshake(ls->ssh, ls->fd) != 0)
		return (err_set(e, ERR_NET, "SSH handshake with %s: %s",
		    ls->hostport, ssh_msg(ls->ssh)));
	ls->handshaken = 1;
	if (verify_host_key(ls, e) == -1 || authenticate(ls, e) == -1 ||
	    list_dir(ls, e) == -1)
		return (-1);
	for (size_t i = 0; i < ls->nnames; i++)
		printf("%s\n", ls->names[i]);
	if (fflush(stdout) == EOF || ferror(stdout))
		return (err_sys(e, ERR_IO, "writing stdout"));
	return (0);
}

static void
ls_close(struct ls *ls)
{
	if (ls->dir != NULL)
		libssh2_sftp_closedir(ls->dir);
	if (ls->sftp != NULL)
		libssh2_sftp_shutdown(ls->sftp);
	if (ls->kh != NULL)
		libssh2_knownhost_free(ls->kh);
	if (ls->ssh != NULL) {
		if (ls->handshaken)
			libssh2_session_disconnect(ls->ssh, "sftp-ls done");
		libssh2_session_free(ls->ssh);
	}
	if (ls->fd != -1)
		close(ls->fd);
	for (size_t i = 0; i < ls->nnames; i++)
		free(ls->names[i]);
	free(ls->names);
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: sftp-ls -p PORT -u USER -i IDENTITY "
	    "-k KNOWN_HOSTS HOST PATH\n");
	return (EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	struct ls ls;
	struct err e;
	long port = 22;
	char *end;
	int c, status = EXIT_OK;

	memset(&ls, 0, sizeof(ls));
	ls.fd = -1;
	err_clear(&e);
	while ((c = getopt(argc, argv, "+p:u:i:k:")) != -1) {
		switch (c) {
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || port < 1 ||
			    port > 65535)
				return (usage());
			break;
		case 'u':
			ls.user = optarg;
			break;
		case 'i':
			ls.identity = optarg;
			break;
		case 'k':
			ls.known_hosts = optarg;
			break;
		default:
			return (usage());
		}
	}
	if (argc - optind != 2 || ls.user == NULL || ls.identity == NULL ||
	    ls.known_hosts == NULL)
		return (usage());
	ls.host = argv[optind];
	ls.path = argv[optind + 1];
	ls.port = (int)port;
	if (ls.port == 22)
		snprintf(ls.hostport, sizeof(ls.hostport), "%s", ls.host);
	else
		snprintf(ls.hostport, sizeof(ls.hostport), "[%s]:%d", ls.host,
		    ls.port);

	if (libssh2_init(0) != 0) {
		fprintf(stderr, "sftp-ls: libssh2_init failed\n");
		return (EXIT_ERROR);
	}
	if (run(&ls, &e) == -1) {
		fprintf(stderr, "sftp-ls: %s\n", e.msg);
		if (e.class == ERR_HOSTKEY)
			status = EXIT_HOSTKEY;
		else if (e.class == ERR_AUTH)
			status = EXIT_AUTH;
		else
			status = EXIT_ERROR;
	}
	ls_close(&ls);
	libssh2_exit();
	return (status);
}
