/*
 * C-style escaping of names for output.  One scanner decides, byte by
 * byte, what is kept and what is escaped; the writers share it.
 */
#include "esc.h"

#include <stdint.h>
#include <string.h>

#include "xmalloc.h"

/*
 * The length of the well-formed UTF-8 sequence at p (at most left bytes)
 * when it should be printed as is, else 0.
 */
static size_t
utf8_keep(const unsigned char *p, size_t left)
{
	uint32_t cp;
	size_t n;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return (0); /* ASCII is not ours; 0x80-0xc1 never start one */
	n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (left < n)
		return (0);
	cp = p[0] & (0x7fu >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	/* Characters that move or break lines, or reorder text. */
	if (cp <= 0x9f || cp == 0x200e || cp == 0x200f || cp == 0x2028 ||
	    cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069))
		return (0);
	return (n);
}

/*
 * Calls out(arg, piece, n) for each piece of the escaped form; returns the
 * number of code points printed.
 */
static size_t
scan(const char *s, size_t len, void (*out)(void *, const char *, size_t),
    void *arg)
{
	static const char hex[] = "0123456789abcdef";
	static const char named[] = "\a\b\t\n\v\f\r";
	static const char letter[] = "abtnvfr";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, cols = 0, k, run;
	char e[4];
	const char *hit;

	while (i < len) {
		/* A run of bytes kept as they are. */
		run = i;
		for (;;) {
			if (run < len && p[run] >= 0x20 && p[run] < 0x7f &&
			    p[run] != '\\') {
				run++;
				cols++;
			} else if (run < len &&
			    (k = utf8_keep(p + run, len - run)) > 0) {
				run += k;
				cols++;
			} else
				break;
		}
		if (run > i && out != NULL)
			out(arg, s + i, run - i);
		i = run;
		if (i == len)
			break;
		e[0] = '\\';
		if (p[i] == '\\') {
			e[1] = '\\';
			k = 2;
		} else if (p[i] != 0 &&
		    (hit = memchr(named, p[i], sizeof(named) - 1)) != NULL) {
			e[1] = letter[hit - named];
			k = 2;
		} else {
			e[1] = 'x';
			e[2] = hex[p[i] >> 4];
			e[3] = hex[p[i] & 15];
			k = 4;
		}
		if (out != NULL)
			out(arg, e, k);
		cols += k;
		i++;
	}
	return (cols);
}

struct sbuf {
	char *p;
	size_t len;
};

static void
to_buf(void *arg, const char *s, size_t n)
{
	struct sbuf *b = arg;

	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
to_file(void *arg, const char *s, size_t n)
{
	fwrite(s, 1, n, arg);
}

char *
esc_str(const char *s, size_t len)
{
	struct sbuf b;

	/* At most 4 output bytes per input byte. */
	b.p = xreallocarray(NULL, len + 1, 4);
	b.len = 0;
	scan(s, len, to_buf, &b);
	b.p[b.len] = '\0';
	return (b.p);
}

void
esc_fwrite(FILE *f, const char *s, size_t len)
{
	scan(s, len, to_file, f);
}

size_t
esc_width(const char *s, size_t len)
{
	return (scan(s, len, NULL, NULL));
}
