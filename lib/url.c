/*
 * Repository URLs (sftp://, s3://), split into their parts.
 */
#include "url.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

static int
is_digit(int c)
{
	return (c >= '0' && c <= '9');
}

static int
is_name_char(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    is_digit(c) || c == '_' || c == '.' || c == '-');
}

static int
copy_part(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size)
		return (-1);
	memcpy(dst, src, n);
	dst[n] = '\0';
	return (0);
}

int
url_parse_sftp(const char *s, struct url_sftp *out, struct err *e)
{
	static const char want[] = "sftp://[user@]host[:port]/path";
	struct url_sftp u;
	const char *auth, *slash, *at, *h, *hend, *q;
	int64_t port;
	char num[16];

	memset(&u, 0, sizeof(u));
	if (strncmp(s, "sftp://", 7) != 0)
		return (err_set(e, ERR_CONFIG, "'%s' is not an sftp URL (%s)",
		    s, want));
	auth = s + 7;
	if ((slash = strchr(auth, '/')) == NULL || slash[1] == '\0')
		return (
		    err_set(e, ERR_CONFIG, "'%s' has no path (%s)", s, want));
	for (q = slash; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return (err_set(e, ERR_CONFIG,
			    "'%s' has a control character in its path", s));
	at = memchr(auth, '@', (size_t)(slash - auth));
	h = auth;
	if (at != NULL) {
		if (memchr(auth, ':', (size_t)(at - auth)) != NULL)
			return (err_set(e, ERR_CONFIG,
			    "'%s': a password in the URL is refused; use "
			    "identity (an SSH key) instead",
			    s));
		/* A user "-oProxyCommand=..." must never reach ssh. */
		if (at == auth || *auth == '-')
			return (err_set(e, ERR_CONFIG,
			    "'%s' has an invalid user name", s));
		for (q = auth; q < at; q++)
			if (!is_name_char((unsigned char)*q))
				return (err_set(e, ERR_CONFIG,
				    "'%s' has an invalid user name", s));
		if (copy_part(u.user, sizeof(u.user), auth,
		        (size_t)(at - auth)) == -1)
			return (err_set(e, ERR_CONFIG,
			    "'%s' has a user name that is too long", s));
		h = at + 1;
	}
	if (*h == '[') {
		/* [IPv6]: hex digits, ':' and '.' (for a mapped IPv4). */
		h++;
		if ((hend = memchr(h, ']', (size_t)(slash - h))) == NULL)
			return (err_set(e, ERR_CONFIG,
			    "'%s' has an IPv6 address without ']'", s));
		for (q = h; q < hend; q++)
			if (!(is_digit((unsigned char)*q) ||
			        (*q >= 'a' && *q <= 'f') ||
			        (*q >= 'A' && *q <= 'F') || *q == ':' ||
			        *q == '.'))
				break;
		/* Brackets hold an IPv6 address: it has a ':'. */
		if (q != hend || memchr(h, ':', (size_t)(hend - h)) == NULL)
			return (err_set(e, ERR_CONFIG,
			    "'%s' has an invalid IPv6 address", s));
		q = hend + 1;
	} else {
		for (hend = h; hend < slash && *hend != ':'; hend++)
			if (!(is_name_char((unsigned char)*hend) &&
			        *hend != '_'))
				return (err_set(e, ERR_CONFIG,
				    "'%s' has an invalid host name", s));
		if (hend == h || *h == '-' || *h == '.')
			return (err_set(e, ERR_CONFIG,
			    "'%s' has no valid host name (%s)", s, want));
		q = hend;
	}
	if (copy_part(u.host, sizeof(u.host), h, (size_t)(hend - h)) == -1)
		return (err_set(e, ERR_CONFIG,
		    "'%s' has a host name that is "
		    "too long",
		    s));
	if (*q == ':') {
		q++;
		if (copy_part(num, sizeof(num), q, (size_t)(slash - q)) == -1 ||
		    !is_digit((unsigned char)num[0]) ||
		    value_parse_int(num, &port) == -1 || port < 1 ||
		    port > 65535)
			return (err_set(e, ERR_CONFIG,
			    "'%s': the port is not a port number (1-65535)",
			    s));
		u.port = (int)port;
	} else if (q != slash) {
		return (err_set(e, ERR_CONFIG, "'%s' is not an sftp URL (%s)",
		    s, want));
	}
	if (copy_part(u.path, sizeof(u.path), slash, strlen(slash)) == -1)
		return (err_set(e, ERR_CONFIG,
		    "'%s' has a path that is too "
		    "long",
		    s));
	*out = u;
	return (0);
}

/* A prefix component: [A-Za-z0-9._-], not starting with '.'. */
static int
prefix_ok(const char *p)
{
	int start = 1;

	for (; *p != '\0'; p++) {
		if (*p == '/') {
			if (start)
				return (0); /* "//" */
			start = 1;
			continue;
		}
		if (!is_name_char((unsigned char)*p) || (start && *p == '.'))
			return (0);
		start = 0;
	}
	return (!start);
}

int
url_parse_s3(const char *s, struct url_s3 *out, struct err *e)
{
	static const char want[] =
	    "s3://[access@]endpoint[:port]/bucket/prefix";
	struct url_sftp hp;
	struct url_s3 u;
	const char *auth, *slash, *at, *b;
	char *tmp;
	size_t n;

	memset(&u, 0, sizeof(u));
	if (strncmp(s, "s3://", 5) != 0)
		return (err_set(e, ERR_CONFIG, "'%s' is not an s3 URL (%s)", s,
		    want));
	auth = s + 5;
	if ((slash = strchr(auth, '/')) == NULL || slash[1] == '\0')
		return (
		    err_set(e, ERR_CONFIG, "'%s' has no bucket (%s)", s, want));
	at = memchr(auth, '@', (size_t)(slash - auth));
	if (at != NULL) {
		if (memchr(auth, ':', (size_t)(at - auth)) != NULL)
			return (err_set(e, ERR_CONFIG,
			    "'%s': a secret key in the URL is refused; use "
			    "secret_key_file or AWS_SECRET_ACCESS_KEY",
			    s));
		for (const char *q = auth; q < at; q++)
			if (!is_name_char((unsigned char)*q))
				return (err_set(e, ERR_CONFIG,
				    "'%s' has an invalid access key id", s));
		if (at == auth ||
		    copy_part(u.access, sizeof(u.access), auth,
		        (size_t)(at - auth)) == -1)
			return (err_set(e, ERR_CONFIG,
			    "'%s' has an invalid access key id", s));
		auth = at + 1;
	}
	/* The endpoint has sftp's host[:port] syntax: reuse its checks. */
	n = (size_t)(slash - auth);
	tmp = malloc(n + 10);
	if (tmp == NULL)
		return (err_set(e, ERR_CONFIG, "'%s': out of memory", s));
	memcpy(tmp, "sftp://", 7);
	memcpy(tmp + 7, auth, n);
	memcpy(tmp + 7 + n, "/x", 3);
	if (url_parse_sftp(tmp, &hp, e) == -1) {
		free(tmp);
		return (err_set(e, ERR_CONFIG,
		    "'%s' has no valid endpoint (%s)", s, want));
	}
	free(tmp);
	if (hp.user[0] != '\0')
		return (err_set(e, ERR_CONFIG,
		    "'%s' has no valid endpoint (%s)", s, want));
	memcpy(u.host, hp.host, sizeof(u.host));
	u.port = hp.port;
	b = slash + 1;
	n = strcspn(b, "/");
	if (n < 3 || n > 63)
		return (err_set(e, ERR_CONFIG,
		    "'%s': a bucket name has 3 to 63 characters", s));
	for (size_t i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || is_digit(b[i]) ||
		        b[i] == '.' || b[i] == '-'))
			return (err_set(e, ERR_CONFIG,
			    "'%s': a bucket name is lower-case letters, "
			    "digits, '.' and '-'",
			    s));
	memcpy(u.bucket, b, n);
	u.bucket[n] = '\0';
	b += n;
	while (*b == '/')
		b++;
	n = strlen(b);
	while (n > 0 && b[n - 1] == '/')
		n--;
	if (copy_part(u.prefix, sizeof(u.prefix), b, n) == -1)
		return (err_set(e, ERR_CONFIG,
		    "'%s' has a prefix that is "
		    "too long",
		    s));
	if (u.prefix[0] != '\0' && !prefix_ok(u.prefix))
		return (err_set(e, ERR_CONFIG,
		    "'%s': a prefix is names of letters, digits, '.', '_' "
		    "and '-' separated by '/', none starting with '.'",
		    s));
	*out = u;
	return (0);
}
