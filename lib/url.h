/*
 * sftp:// URLs.
 */
#ifndef COFFER_URL_H
#define COFFER_URL_H

#include "err.h"

/* The parts of sftp://[user@]host[:port]/path. */
struct url_sftp {
	char user[256]; /* "" when absent */
	char host[256]; /* a host name, an IPv4 address, or an IPv6 one
	                   without its brackets */
	int port;       /* 0 when absent */
	char path[4096];
};

/*
 * Split an sftp URL into *out.  -1 with e (ERR_CONFIG) saying what is
 * wrong, starting with the URL in quotes; a password in the URL is refused.
 */
int url_parse_sftp(const char *s, struct url_sftp *out, struct err *e);

#endif
