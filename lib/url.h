/*
 * Repository URLs: sftp:// and s3://.
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

/* The parts of s3://[access@]endpoint[:port]/bucket[/prefix]. */
struct url_s3 {
	char access[128];  /* an access key id, "" when absent */
	char host[256];    /* as sftp's: IPv6 without its brackets */
	int port;          /* 0 when absent */
	char bucket[64];   /* 3 to 63 of [a-z0-9.-] */
	char prefix[1024]; /* "" or components of [A-Za-z0-9._-], no '/' at
	                      either end */
};

/*
 * Split an s3 URL into *out.  -1 with e (ERR_CONFIG) saying what is
 * wrong, starting with the URL in quotes; a secret key in the URL
 * ("access:secret@") is refused.
 */
int url_parse_s3(const char *s, struct url_s3 *out, struct err *e);

#endif
