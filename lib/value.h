/*
 * Parsers for values written in the config or on the command line.  Each
 * takes the whole string (no surrounding space), returns 0 with *out set,
 * or -1 (*out untouched) for anything else, including overflow.
 */
#ifndef COFFER_VALUE_H
#define COFFER_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* yes/no, true/false, on/off, 1/0, any case. */
int value_parse_bool(const char *s, int *out);

/* A decimal integer with an optional sign, within int64_t. */
int value_parse_int(const char *s, int64_t *out);

/*
 * Bytes: digits with an optional suffix K, M, G or T (powers of 1024; any
 * case; KiB, MiB, GiB, TiB also accepted): "512", "64K", "2GiB".
 */
int value_parse_size(const char *s, uint64_t *bytes);

/*
 * Seconds: plain digits ("90"), or one or more numbers with a unit s, m,
 * h, d or w (week): "30s", "5m", "1h30m", "7d".
 */
int value_parse_duration(const char *s, uint64_t *seconds);

/* "5%", "0.5%", "100%": a number from 0 to 100 followed by '%'. */
int value_parse_percent(const char *s, double *out);

/*
 * Split a list: items separated by commas and/or white space; an item in
 * double quotes may hold either ("/srv/My Files").  On success *itemsp is
 * a new array of *np new strings (NULL and 0 for an empty list), freed
 * with value_list_free.  -1 for an unterminated quote, an empty "" item or
 * a quote inside a word.
 */
int value_parse_list(const char *s, char ***itemsp, size_t *np);
void value_list_free(char **items, size_t n);

#endif
