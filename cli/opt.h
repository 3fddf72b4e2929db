/*
 * A command's options declared once, in a table: each option's name, short
 * letter, type, range and the field of the command's options struct it
 * fills, plus the relations between options (which go with which, which
 * exclude each other).  opt_parse reads the command line from the table,
 * with the options every command takes (CLI_COMMON_*) handled as
 * cli_getopt handles them.
 */
#ifndef COFFER_CLI_OPT_H
#define COFFER_CLI_OPT_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

enum opt_type {
	OPT_FLAG,     /* int: set to 1 */
	OPT_COUNT,    /* int: one more each time */
	OPT_STR,      /* const char *: the value (the last one given) */
	OPT_STRV,     /* struct opt_strv: every value, in order */
	OPT_INT,      /* int: a decimal number from min to max */
	OPT_SIZE,     /* uint64_t: value_parse_size, from min to max */
	OPT_DURATION, /* uint64_t seconds: value_parse_duration, min to max */
	OPT_ZSTD,     /* int: compress_level_parse (COMPRESS_LEVEL_MIN..MAX) */
	OPT_FUNC      /* the entry's parse function fills what it likes */
};

/* Flags of an entry. */
#define OPT_NONEMPTY 0x1 /* OPT_STR, OPT_STRV: refuse "" */
#define OPT_OPTIONAL 0x2 /* the value may be left out (--opt or --opt=V) */
#define OPT_NAMED    0x4 /* OPT_FUNC: its message names the option: as is */

/* The values of an OPT_STRV option: pointers into argv. */
struct opt_strv {
	const char **v;
	size_t n;
};

struct opt {
	const char *name; /* the long name without "--", or NULL */
	int letter;       /* the short option, or 0 */
	enum opt_type type;
	size_t off;       /* offsetof the field in the options struct */
	const char *arg;  /* the value's name in messages ("DIR"), or NULL */
	int64_t min, max; /* OPT_INT, OPT_SIZE, OPT_DURATION: the range */
	int flags;        /* OPT_NONEMPTY, OPT_OPTIONAL */
	/*
	 * OPT_FUNC: parse(opts, field, arg, next, e) takes the value arg
	 * (NULL for an OPT_OPTIONAL option given bare) into the options
	 * struct opts, whose field at off is field; next is the word after
	 * the option on the command line, or NULL.  0, or -1 with e set to
	 * what is wrong with arg (printed as "--NAME: MESSAGE", or as
	 * MESSAGE with OPT_NAMED: for engine parsers that name the option).
	 */
	int (*parse)(void *opts, void *field, const char *arg, const char *next,
	    struct err *e);
};

/* A table ends with an entry of neither name nor letter. */
#define OPT_END                                                                \
	{                                                                      \
		NULL, 0, OPT_FLAG, 0, NULL, 0, 0, 0, NULL                      \
	}

enum opt_rel_kind {
	OPT_NEEDS,    /* each of a given needs one of b given */
	OPT_EXCLUDES, /* none of a given with one of b */
	OPT_ONE_OF    /* exactly one of a given (b unused) */
};

/*
 * A relation between options, by long name: a and b are lists of names
 * separated by spaces.  hint, when not NULL, follows the message after
 * ": ".  The messages, one wording per kind:
 *   OPT_NEEDS    "--A goes with --B ARG or --C ARG"
 *   OPT_EXCLUDES "give --A or --B, not both"
 *   OPT_ONE_OF   "give one of --A ARG, --B ARG or --C"
 * A list of relations ends with a NULL a.
 */
struct opt_rel {
	enum opt_rel_kind kind;
	const char *a;
	const char *b;
	const char *hint;
};

#define OPT_REL_END                                                            \
	{                                                                      \
		OPT_NEEDS, NULL, NULL, NULL                                    \
	}

/* The options of one command: its table and the relations of its options. */
struct opt_spec {
	const struct opt *opts;
	const struct opt_rel *rels; /* may be NULL */
};

/* Which options of a table were given: bit i for entry i. */
typedef uint64_t opt_given_t;

#define OPT_MAX 64 /* entries in a table */

/*
 * Parse argv for cmd: the common options into ctx (as cli_getopt does,
 * -h printing cmd's help and exiting 0), the table's into the options
 * struct dst (zeroed by the caller, or holding the defaults), then check
 * the relations.  *given (may be NULL) gets which entries were given.
 * Operands are left at argv[optind..argc-1].  0, or -1 after printing one
 * usage error line naming cmd (the caller returns EXIT_USAGE); on -1 dst
 * may hold values: opt_free it all the same.
 */
int opt_parse(struct cli_ctx *, const struct cli_cmd *, const struct opt_spec *,
    int argc, char **argv, void *dst, opt_given_t *given);

/* Was the option of this long name given? */
int opt_is_given(const struct opt_spec *, opt_given_t, const char *name);

/* Free the arrays of the OPT_STRV fields of dst (the strings are argv's). */
void opt_free(const struct opt_spec *, void *dst);

/*
 * No operand from argv[at] on: 0, or -1 after "unexpected argument 'X'"
 * (the caller returns EXIT_USAGE).
 */
int opt_no_more(const struct cli_cmd *, int argc, char **argv, int at);

/*
 * Is the table sound: names and letters unique, a known type, every name
 * in the relations an option of the table, ranges ordered?  0, or -1 with
 * e saying what is wrong.  For tests: every command's table is checked.
 */
int opt_spec_check(const struct opt_spec *, struct err *);

#endif
