/*
 * pg_dumpall's \restrict key made stable (pgglobals.h).  Line by line over
 * a bounded buffer: a line longer than the buffer cannot be one of
 * pg_dumpall's key lines and passes through in pieces.
 */
#include "snapshot/pgglobals.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define BUF_LEN  65536
#define KEY_MAX  256 /* longer than any key pg_dumpall writes */
#define RESTRICT "\\restrict "
#define UNRESTR  "\\unrestrict "

struct pgglobals {
	pgglobals_reader rd;
	void *arg;
	char key[PGGLOBALS_KEY_LEN + 1];
	char theirs[KEY_MAX + 1]; /* pg_dumpall's key, once seen */
	size_t theirs_len;
	int header;     /* only comments and empty lines so far */
	int line_start; /* in[ipos] starts a line */
	int eof;
	char *in;
	size_t ipos, ilen;
	char *out; /* a rewritten line, being handed out */
	size_t opos, olen;
};

struct pgglobals *
pgglobals_new(pgglobals_reader rd, void *arg, const char *key)
{
	struct pgglobals *f = xcalloc(1, sizeof(*f));

	f->rd = rd;
	f->arg = arg;
	memcpy(f->key, key, PGGLOBALS_KEY_LEN);
	f->header = f->line_start = 1;
	f->in = xmalloc(BUF_LEN);
	f->out = xmalloc(sizeof(UNRESTR) + PGGLOBALS_KEY_LEN + 2);
	return (f);
}

void
pgglobals_free(struct pgglobals *f)
{
	if (f == NULL)
		return;
	free(f->in);
	free(f->out);
	free(f);
}

/* Read more input after what is buffered; 0 at the end. */
static ssize_t
fill(struct pgglobals *f, struct err *e)
{
	ssize_t n;

	if (f->eof)
		return (0);
	if (f->ipos > 0) {
		memmove(f->in, f->in + f->ipos, f->ilen - f->ipos);
		f->ilen -= f->ipos;
		f->ipos = 0;
	}
	if (f->ilen == BUF_LEN)
		return (0); /* full: the caller passes bytes on */
	if ((n = f->rd(f->arg, f->in + f->ilen, BUF_LEN - f->ilen, e)) < 0)
		return (-1);
	if (n == 0)
		f->eof = 1;
	f->ilen += (size_t)n;
	return (n);
}

/*
 * The line at in[ipos], len bytes without its newline: is it one of
 * pg_dumpall's key lines?  Then its rewrite goes to out.
 */
static int
rewrite(struct pgglobals *f, const char *p, size_t len)
{
	const char *cmd;
	size_t klen, clen;

	if (f->header && len > strlen(RESTRICT) &&
	    memcmp(p, RESTRICT, strlen(RESTRICT)) == 0) {
		klen = len - strlen(RESTRICT);
		if (klen > KEY_MAX ||
		    memchr(p + strlen(RESTRICT), ' ', klen) != NULL)
			return (0);
		memcpy(f->theirs, p + strlen(RESTRICT), klen);
		f->theirs_len = klen;
		cmd = RESTRICT;
	} else if (f->theirs_len > 0 &&
	    len == strlen(UNRESTR) + f->theirs_len &&
	    memcmp(p, UNRESTR, strlen(UNRESTR)) == 0 &&
	    memcmp(p + strlen(UNRESTR), f->theirs, f->theirs_len) == 0)
		cmd = UNRESTR;
	else
		return (0);
	clen = strlen(cmd);
	memcpy(f->out, cmd, clen);
	memcpy(f->out + clen, f->key, PGGLOBALS_KEY_LEN);
	f->out[clen + PGGLOBALS_KEY_LEN] = '\n';
	f->opos = 0;
	f->olen = clen + PGGLOBALS_KEY_LEN + 1;
	return (1);
}

ssize_t
pgglobals_read(void *arg, void *buf, size_t len, struct err *e)
{
	struct pgglobals *f = arg;
	char *nl;
	size_t n;

	if (len == 0)
		return (0);
	for (;;) {
		if (f->opos < f->olen) {
			n = f->olen - f->opos < len ? f->olen - f->opos : len;
			memcpy(buf, f->out + f->opos, n);
			f->opos += n;
			return ((ssize_t)n);
		}
		if (f->ipos == f->ilen && fill(f, e) < 0)
			return (-1);
		if (f->ipos == f->ilen)
			return (0); /* the end */
		nl = memchr(f->in + f->ipos, '\n', f->ilen - f->ipos);
		if (f->line_start && nl == NULL && !f->eof &&
		    (f->ipos > 0 || f->ilen < BUF_LEN)) {
			/* Decide on a whole line: read on first. */
			if (fill(f, e) < 0)
				return (-1);
			continue;
		}
		if (f->line_start && nl != NULL) {
			const char *p = f->in + f->ipos;
			size_t l = (size_t)(nl - p);

			if (rewrite(f, p, l)) {
				f->header = 0;
				f->ipos += l + 1;
				continue;
			}
			/* pg_dumpall's header: comments, empty lines. */
			if (l > 0 && (l < 2 || memcmp(p, "--", 2) != 0))
				f->header = 0;
		} else if (f->line_start)
			f->header = 0;
		/* Pass bytes through, up to and with the next newline. */
		n = nl != NULL ? (size_t)(nl - (f->in + f->ipos)) + 1
		               : f->ilen - f->ipos;
		if (n > len)
			n = len;
		memcpy(buf, f->in + f->ipos, n);
		f->ipos += n;
		f->line_start = f->in[f->ipos - 1] == '\n';
		return ((ssize_t)n);
	}
}
