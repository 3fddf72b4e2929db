/*
 * Leveled logging to stderr or syslog.  A struct log is made once by cli/
 * (or the scheduler) and passed down; library code that only fails returns
 * a struct err instead of logging.
 */
#ifndef COFFER_LOG_H
#define COFFER_LOG_H

enum log_level {
	LOGL_ERROR = 0,
	LOGL_WARN,
	LOGL_INFO, /* default: what an admin wants to see from a manual run */
	LOGL_DEBUG,
};

enum log_sink {
	LOG_SINK_STDERR = 0,
	LOG_SINK_SYSLOG,
};

struct log;

/*
 * A logger printing messages at or above level to sink.  ident prefixes
 * stderr lines ("coffer: ...") and names the program in syslog.  When
 * syslog is asked for but nothing listens on /dev/log, says so once on
 * stderr and logs there instead (syslog(3) would drop every message).
 */
struct log *log_new(const char *ident, enum log_level level, enum log_sink);
void log_free(struct log *);

void log_set_level(struct log *, enum log_level);
enum log_level log_get_level(const struct log *);

/* Print one line (no trailing newline needed).  NULL log prints nothing. */
void log_msg(struct log *, enum log_level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(l, ...) log_msg((l), LOGL_ERROR, __VA_ARGS__)
#define log_warn(l, ...)  log_msg((l), LOGL_WARN, __VA_ARGS__)
#define log_info(l, ...)  log_msg((l), LOGL_INFO, __VA_ARGS__)
#define log_debug(l, ...) log_msg((l), LOGL_DEBUG, __VA_ARGS__)

/* Parse "stderr" / "syslog"; -1 if neither. */
int log_sink_parse(const char *, enum log_sink *);

#endif
