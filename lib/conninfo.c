/*
 * libpq connection strings: the three forms libpq reads (keyword=value,
 * URI, a bare database name), parsed the way libpq's fe-connect.c does
 * (conninfo_parse, conninfo_uri_parse_options, conninfo_uri_decode), so
 * that what coffer checks is what the client will use.
 */
#include "conninfo.h"

#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "xmalloc.h"

struct conninfo_kv {
	char *key, *val;
};

struct conninfo {
	struct conninfo_kv *v;
	size_t n;
};

#define URI_PREFIX1 "postgresql://"
#define URI_PREFIX2 "postgres://"

void
conninfo_free(struct conninfo *ci)
{
	if (ci == NULL)
		return;
	for (size_t i = 0; i < ci->n; i++) {
		free(ci->v[i].key);
		freezero_str(ci->v[i].val);
	}
	free(ci->v);
	free(ci);
}

/* libpq's isspace() in the C locale. */
static int
is_space(char c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v');
}

/* libpq's keywords are lowercase words; we accept letters, digits, '_'. */
static int
key_valid(const char *k)
{
	if (*k == '\0')
		return (0);
	for (; *k != '\0'; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		        (*k >= '0' && *k <= '9') || *k == '_'))
			return (0);
	return (1);
}

/* Keys are no secret, but may hold any byte: print them escaped, short. */
static int
bad_key(struct err *e, const char *what, const char *k, size_t klen)
{
	char *x = esc_str(k, klen > 64 ? 64 : klen);

	err_set(e, ERR_USAGE, "%s \"%s%s\"", what, x, klen > 64 ? "..." : "");
	free(x);
	return (-1);
}

/* Append key (klen bytes) = val (taken over); password is refused. */
static int
add(struct conninfo *ci, const char *key, size_t klen, char *val, struct err *e)
{
	char *k = xstrndup(key, klen);

	if (strcmp(k, "password") == 0) {
		free(k);
		freezero_str(val);
		return (err_set(e, ERR_USAGE, CONNINFO_PASSWORD));
	}
	if (!key_valid(k)) {
		bad_key(e, "not a connection keyword:", key, klen);
		free(k);
		freezero_str(val);
		return (-1);
	}
	ci->v = xreallocarray(ci->v, ci->n + 1, sizeof(*ci->v));
	ci->v[ci->n].key = k;
	ci->v[ci->n].val = val;
	ci->n++;
	return (0);
}

/* keyword = value ... (libpq conninfo_parse). */
static int
parse_kv(struct conninfo *ci, const char *p, struct err *e)
{
	size_t size = strlen(p) + 1;
	char *val = xmalloc(size); /* no NUL in it: freezero, not _str */
	int rc = -1;

	for (;;) {
		const char *k0;
		size_t klen, vlen = 0;

		while (is_space(*p))
			p++;
		if (*p == '\0')
			break;
		k0 = p;
		while (*p != '\0' && *p != '=' && !is_space(*p))
			p++;
		klen = (size_t)(p - k0);
		while (is_space(*p))
			p++;
		if (*p != '=') {
			bad_key(e, "missing \"=\" after", k0, klen);
			goto out;
		}
		p++;
		while (is_space(*p))
			p++;
		if (*p == '\'') {
			for (p++;;) {
				if (*p == '\0') {
					bad_key(e,
					    "unterminated quoted value of", k0,
					    klen);
					goto out;
				}
				if (*p == '\'') {
					p++;
					break;
				}
				if (*p == '\\') {
					p++;
					if (*p != '\0')
						val[vlen++] = *p++;
				} else
					val[vlen++] = *p++;
			}
		} else {
			while (*p != '\0' && !is_space(*p)) {
				if (*p == '\\') {
					p++;
					if (*p != '\0')
						val[vlen++] = *p++;
				} else
					val[vlen++] = *p++;
			}
		}
		if (add(ci, k0, klen, xstrndup(val, vlen), e) == -1)
			goto out;
		wipe(val, vlen);
	}
	rc = 0;
out:
	freezero(val, size);
	return (rc);
}

static int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* %XX decoded (libpq conninfo_uri_decode: no '+', no %00), or NULL. */
static char *
uri_decode(const char *s, const char *what, struct err *e)
{
	size_t size = strlen(s) + 1;
	char *out = xmalloc(size), *q = out;

	while (*s != '\0') {
		if (*s != '%') {
			*q++ = *s++;
			continue;
		}
		if (hex(s[1]) < 0 || hex(s[2]) < 0) {
			err_set(e, ERR_USAGE,
			    "invalid percent-encoded token in the URI's %s",
			    what);
			freezero(out, size);
			return (NULL);
		}
		if ((*q++ = (char)(hex(s[1]) << 4 | hex(s[2]))) == '\0') {
			err_set(e, ERR_USAGE, "%%00 in the URI's %s", what);
			freezero(out, size);
			return (NULL);
		}
		s += 3;
	}
	*q = '\0';
	return (out);
}

/* A URI part, decoded, as setting key. */
static int
add_uri(struct conninfo *ci, const char *key, const char *raw, struct err *e)
{
	char *v = uri_decode(raw, key, e);

	if (v == NULL)
		return (-1);
	return (add(ci, key, strlen(key), v, e));
}

/* The query: k=v&k=v (libpq conninfo_uri_parse_params). */
static int
parse_query(struct conninfo *ci, char *p, struct err *e)
{
	while (*p != '\0') {
		char *k = p, *v = NULL, *dk = NULL, *dv = NULL;

		for (;; p++) {
			if (*p == '=') {
				if (v != NULL)
					return (err_set(e, ERR_USAGE,
					    "extra \"=\" in a URI query "
					    "parameter"));
				*p = '\0';
				v = p + 1;
			} else if (*p == '&' || *p == '\0') {
				if (*p != '\0')
					*p++ = '\0';
				if (v == NULL)
					return (err_set(e, ERR_USAGE,
					    "missing \"=\" in a URI query "
					    "parameter"));
				break;
			}
		}
		if ((dk = uri_decode(k, "query", e)) == NULL)
			return (-1);
		if ((dv = uri_decode(v, "query", e)) == NULL) {
			free(dk);
			return (-1);
		}
		/* libpq's JDBC compatibility. */
		if (strcmp(dk, "ssl") == 0 && strcmp(dv, "true") == 0) {
			free(dk);
			freezero_str(dv);
			dk = xstrdup("sslmode");
			dv = xstrdup("require");
		}
		if (add(ci, dk, strlen(dk), dv, e) == -1) {
			free(dk);
			return (-1);
		}
		free(dk);
	}
	return (0);
}

/*
 * libpq conninfo_uri_parse_options, step by step: the user part is
 * looked for before the first '/', hosts end at ':' '/' '?' ',', the
 * database at '?'.
 */
static int
parse_uri(struct conninfo *ci, const char *uri, struct err *e)
{
	size_t size = strlen(uri) + 1; /* buf gets NULs: wipe it all */
	char *buf = xstrdup(uri), *p = buf, *user, *host, *hosts, *ports;
	char prev = '\0';
	int rc = -1;

	hosts = xstrdup("");
	ports = xstrdup("");
	while (*p != '\0' && *p != '@' && *p != '/')
		p++;
	if (*p == '@') {
		user = buf;
		for (p = user; *p != ':' && *p != '@'; p++)
			;
		if (*p == ':') {
			err_set(e, ERR_USAGE, CONNINFO_PASSWORD);
			goto out;
		}
		*p++ = '\0';
		if (*user != '\0' && add_uri(ci, "user", user, e) == -1)
			goto out;
	} else
		p = buf;
	for (;;) {
		char *t;

		if (*p == '[') {
			host = ++p;
			while (*p != '\0' && *p != ']')
				p++;
			if (*p == '\0' || p == host) {
				err_set(e, ERR_USAGE,
				    "%s IPv6 address in the URI",
				    *p == '\0' ? "unterminated" : "empty");
				goto out;
			}
			*p++ = '\0';
			if (*p != '\0' && *p != ':' && *p != '/' && *p != '?' &&
			    *p != ',') {
				err_set(e, ERR_USAGE,
				    "unexpected \"%c\" after an IPv6 address "
				    "in the URI (expected \":\" or \"/\")",
				    *p);
				goto out;
			}
		} else {
			host = p;
			while (*p != '\0' && *p != ':' && *p != '/' &&
			    *p != '?' && *p != ',')
				p++;
		}
		prev = *p;
		*p = '\0';
		t = xasprintf("%s%s", hosts, host);
		free(hosts);
		hosts = t;
		if (prev == ':') {
			const char *port = ++p;

			while (
			    *p != '\0' && *p != '/' && *p != '?' && *p != ',')
				p++;
			prev = *p;
			*p = '\0';
			t = xasprintf("%s%s", ports, port);
			free(ports);
			ports = t;
		}
		if (prev != ',')
			break;
		p++;
		t = xasprintf("%s,", hosts);
		free(hosts);
		hosts = t;
		t = xasprintf("%s,", ports);
		free(ports);
		ports = t;
	}
	if (*hosts != '\0' && add_uri(ci, "host", hosts, e) == -1)
		goto out;
	if (*ports != '\0' && add_uri(ci, "port", ports, e) == -1)
		goto out;
	if (prev != '\0' && prev != '?') {
		const char *db = ++p;

		while (*p != '\0' && *p != '?')
			p++;
		prev = *p;
		*p = '\0';
		/* Empty: libpq leaves dbname unset. */
		if (*db != '\0' && add_uri(ci, "dbname", db, e) == -1)
			goto out;
	}
	if (prev != '\0' && parse_query(ci, p + 1, e) == -1)
		goto out;
	rc = 0;
out:
	free(hosts);
	free(ports);
	freezero(buf, size);
	return (rc);
}

int
conninfo_parse(const char *s, struct conninfo **out, struct err *e)
{
	struct conninfo *ci = xcalloc(1, sizeof(*ci));
	int rc;

	*out = NULL;
	if (strncmp(s, URI_PREFIX1, strlen(URI_PREFIX1)) == 0)
		rc = parse_uri(ci, s + strlen(URI_PREFIX1), e);
	else if (strncmp(s, URI_PREFIX2, strlen(URI_PREFIX2)) == 0)
		rc = parse_uri(ci, s + strlen(URI_PREFIX2), e);
	else if (strchr(s, '=') != NULL)
		rc = parse_kv(ci, s, e);
	else if (*s != '\0')
		rc = add(ci, "dbname", 6, xstrdup(s), e);
	else
		rc = 0; /* libpq: an empty name is no setting */
	if (rc == -1) {
		conninfo_free(ci);
		return (-1);
	}
	*out = ci;
	return (0);
}

const char *
conninfo_get(const struct conninfo *ci, const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; i < ci->n; i++)
		if (strcmp(ci->v[i].key, key) == 0)
			v = ci->v[i].val;
	return (v);
}

/* " key='value'" onto s at *len, ' and \ escaped by a backslash. */
static char *
append(char *s, size_t *len, const char *key, const char *v)
{
	size_t need = strlen(key) + 2 * strlen(v) + 5;
	char *p;

	s = xreallocarray(s, *len + need, 1);
	p = s + *len;
	if (*len > 0)
		*p++ = ' ';
	p = stpcpy(p, key);
	*p++ = '=';
	*p++ = '\'';
	for (; *v != '\0'; v++) {
		if (*v == '\'' || *v == '\\')
			*p++ = '\\';
		*p++ = *v;
	}
	*p++ = '\'';
	*p = '\0';
	*len = (size_t)(p - s);
	return (s);
}

char *
conninfo_string(const struct conninfo *ci, const char *dbname)
{
	char *s = xstrdup("");
	size_t len = 0;

	for (size_t i = 0; i < ci->n; i++) {
		if (dbname != NULL && strcmp(ci->v[i].key, "dbname") == 0)
			continue;
		s = append(s, &len, ci->v[i].key, ci->v[i].val);
	}
	if (dbname != NULL)
		s = append(s, &len, "dbname", dbname);
	return (s);
}
