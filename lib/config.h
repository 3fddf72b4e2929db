/*
 * The configuration file (coffer.conf(5)): INI sections [global],
 * [repository NAME], [source NAME], [job NAME] and [drill NAME], checked
 * against a schema when loaded, so that every later read is of a valid
 * value with its default applied.  Sections and keys keep their line for
 * messages ("FILE:LINE: ...").  The parse helpers are shared with command
 * line options that take the same kinds of value.
 */
#ifndef COFFER_CONFIG_H
#define COFFER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct config;
struct config_section;

enum config_type {
	CONFIG_ANY = 0, /* iteration only: every type */
	CONFIG_GLOBAL,
	CONFIG_REPOSITORY,
	CONFIG_SOURCE,
	CONFIG_JOB,
	CONFIG_DRILL,
};

/* The kinds of value a key holds; the getter to use is in brackets. */
enum config_vtype {
	CONFIG_V_STRING,   /* any non-empty text [str] */
	CONFIG_V_COMMAND,  /* a shell command line [str] */
	CONFIG_V_PATH,     /* an absolute path [str] */
	CONFIG_V_NAME,     /* letters, digits, '_', '.', '-' [str] */
	CONFIG_V_ENUM,     /* one word of a fixed set [str] */
	CONFIG_V_URL,      /* sftp://[user@]host[:port]/path [str] */
	CONFIG_V_REF,      /* the NAME of another section [str] */
	CONFIG_V_BOOL,     /* [bool] */
	CONFIG_V_INT,      /* a decimal integer in a range [int] */
	CONFIG_V_SIZE,     /* bytes, binary suffixes [size] */
	CONFIG_V_DURATION, /* seconds [duration] */
	CONFIG_V_PERCENT,  /* 0% to 100% [percent] */
	CONFIG_V_LIST,     /* words [list] */
	CONFIG_V_PATHS,    /* absolute paths [list] */
	CONFIG_V_REFS,     /* NAMEs of other sections [list] */
	CONFIG_V_SCHEDULE, /* a schedule (schedule.h) [str] */
	CONFIG_V_ZONE,     /* a time zone name (schedule_tz_check) [str] */
};

/*
 * Read and check the file at path.  On success *cfgp is the config (free
 * with config_free) and 0 is returned.  On failure *cfgp is NULL, -1 is
 * returned and e holds one line of class ERR_CONFIG: "PATH:LINE: ..." for
 * the first problem in the file (by line), or "config file PATH: ..." when
 * it cannot be opened or read, or is writable by group or others or owned
 * by someone other than the caller or root (the message names the fix).
 */
int config_load(const char *path, struct config **cfgp, struct err *e);

/* Free a config and everything read from it; NULL is fine. */
void config_free(struct config *);

/* The path the config was loaded from, as given to config_load. */
const char *config_file(const struct config *);

/*
 * Sections in file order: the first after prev (the first of all when prev
 * is NULL) whose type is t, or any type for CONFIG_ANY; NULL at the end.
 * Yields [global] only when the file has one.
 */
const struct config_section *config_next(const struct config *,
    const struct config_section *prev, enum config_type t);

/* The section [t name], or NULL.  For CONFIG_GLOBAL use config_global. */
const struct config_section *config_section_find(const struct config *,
    enum config_type t, const char *name);

/*
 * The [job name] of cfg into *out, for every command that takes a job's
 * name (snapshot --job, forget --job, job run, the scheduler).  cfg may
 * be NULL (no file was read).  ERR_USAGE "no [job NAME] in FILE", or
 * "no [job NAME]: no configuration file was read (give -c FILE)".
 */
int config_job_find(const struct config *cfg, const char *name,
    const struct config_section **out, struct err *e);

/*
 * The [global] section: never NULL.  When the file has none, a section
 * with line 0 holding only defaults.
 */
const struct config_section *config_global(const struct config *);

enum config_type config_section_type(const struct config_section *);

/* The NAME of [TYPE NAME]; NULL for [global]. */
const char *config_section_name(const struct config_section *);

/* The line of the section header; 0 for an implicit [global]. */
int config_section_line(const struct config_section *);

/* "repository", "source", ...; "any" for CONFIG_ANY. */
const char *config_type_name(enum config_type);

/*
 * Getters.  Each returns the value from the file or, when the key is not
 * set there, the schema's default.  key must be a key of the section's
 * schema whose type suits the getter (asserted: a wrong name is a bug).
 * A key that does not apply to the section (database for type = files) or
 * is unset without a default has no value.
 */

/*
 * STRING, COMMAND, PATH, NAME, ENUM, URL, REF, SCHEDULE, ZONE: the text,
 * or NULL.
 */
const char *config_get_str(const struct config_section *, const char *key);

/* 0 with *out set, or -1 when there is no value (*out untouched). */
int config_get_bool(const struct config_section *, const char *key, int *out);
int config_get_int(const struct config_section *, const char *key,
    int64_t *out);
int config_get_size(const struct config_section *, const char *key,
    uint64_t *bytes);
int config_get_duration(const struct config_section *, const char *key,
    uint64_t *seconds);
int config_get_percent(const struct config_section *, const char *key,
    double *out);

/*
 * LIST, PATHS, REFS: the number of items, with *items pointing at an array
 * owned by the config (valid until config_free).  0 and *items = NULL
 * when there is no value.
 */
size_t config_get_list(const struct config_section *, const char *key,
    const char *const **items);

/* The line where key is set; 0 when it comes from the default or is unset. */
int config_key_line(const struct config_section *, const char *key);

/*
 * For problems found after loading (a password file that is missing, a
 * schedule that does not parse): set e to class ERR_CONFIG with the message
 * "FILE:LINE: " + fmt, LINE being that of key, or of the section header
 * when key is NULL or not in the file.  Returns -1.
 */
int config_err(struct err *e, const struct config_section *, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * config check's look at the files a loaded config names (none is read):
 * password_file, identity and identity_passphrase_file must be safe for a
 * secret (secfile_check_secret), known_hosts and the program a command
 * starts with (password_command, a source's command, before, after,
 * on_failure, on_success: when its first word is an absolute path) safe from
 * change (secfile_check_trusted); and no directory above any of them, up to /,
 * both as written and after symlinks, may let someone else replace it:
 * owned by the caller or root, and not writable by group or others unless
 * sticky.  A password file must exist; the others may be missing.  The
 * first problem: ERR_CONFIG, "FILE:LINE: " + what and the command that
 * fixes it (config_err).
 */
int config_check_files(const struct config *, struct err *);

/*
 * What a [drill]'s target value names (coffer.conf(5)): a directory (an
 * absolute path), "sqlite", "postgres-scratch", "postgres:CONNINFO",
 * "mysql-scratch", "mysql:DB", "ssh:USER@HOST[:PORT]:/PATH".
 * *arg is the part after "postgres:", "mysql:" or "ssh:" (else the
 * value).  config_load
 * refuses a drill whose target is not supported; the drill engine reads
 * it through here too, so that there is one grammar.
 */
enum config_drill_target {
	CONFIG_DRILL_BAD = 0,
	CONFIG_DRILL_DIR,
	CONFIG_DRILL_SQLITE,
	CONFIG_DRILL_PG_SCRATCH,
	CONFIG_DRILL_PG,
	CONFIG_DRILL_UNSUPPORTED,
	CONFIG_DRILL_MY_SCRATCH,
	CONFIG_DRILL_MY,
	CONFIG_DRILL_SSH,
};
/* The most steps a [drill] of steps names. */
#define CONFIG_DRILL_STEPS_MAX 16

enum config_drill_target config_drill_target(const char *value,
    const char **arg);

/*
 * An ssh: target's argument USER@HOST[:PORT]:/PATH split (HOST may be an
 * IPv6 address in brackets, given without them in host): 0, or -1 with
 * why filled (one phrase).  PATH is absolute, not "/", of letters, digits
 * and "._+-/" only, without "." or ".." components or an empty one: safe
 * to quote in a remote shell command and to remove there.
 */
struct config_ssh_target {
	char user[64];
	char host[256];
	int port; /* 22 when not given */
	char path[1024];
};
int config_drill_ssh(const char *arg, struct config_ssh_target *t, char *why,
    size_t whylen);

/*
 * What the file sets that is read and checked but not acted on yet, as
 * the scheduler will: a job's schedule, timezone, jitter and
 * prune_schedule, and a drill's schedule.
 * warn(arg, msg) is called once for each, in file order, msg being one
 * line "FILE:LINE: ... is not acted on yet: ..."; the count is returned.
 */
size_t config_not_yet(const struct config *,
    void (*warn)(void *arg, const char *msg), void *arg);

/* One key of a section's schema, resolved, for printing. */
struct config_setting {
	const char *key;
	enum config_vtype vtype;
	const char *value; /* as written, or the default; NULL: no value */
	int line;          /* 0 when from the default or unset */
	int is_default;    /* value is the schema's default */
};

/*
 * Iterate over every key of the section's schema that applies to it (for a
 * source, to its type), in schema order, set or not.  *iter starts at 0.
 * Returns 1 with *out filled, or 0 at the end.  out->key and out->value
 * are owned by the config.
 */
int config_setting_next(const struct config_section *, size_t *iter,
    struct config_setting *out);

/*
 * A section name: 1 to CONFIG_NAME_MAX of [A-Za-z0-9_.-], not starting
 * with '.' or '-' (names become file names and appear next to options).
 */
#define CONFIG_NAME_MAX 64
int config_name_valid(const char *s);

/*
 * Every key the schema knows, for the tests that hold coffer.conf(5) to
 * it (and for completion): fn(arg, type, key, later) per key of each
 * section type, later set when nothing acts on the key yet (config check
 * warns of it).
 */
void config_schema_each(void (*fn)(void *arg, enum config_type type,
                            const char *key, int later),
    void *arg);

#endif
