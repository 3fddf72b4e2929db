/*
 * Logging: level filtering, the "coffer: warning: " prefixes, one message
 * per line whatever the message holds.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "log.h"
#include "tutil.h"

/* What log_msg printed on stderr for one call. */
#define CAPTURE(out, call)                                                     \
	do {                                                                   \
		struct tutil_capture *cap_ = tutil_capture_begin(2);           \
		call;                                                          \
		(out) = tutil_capture_end(cap_);                               \
	} while (0)

static void
assert_logged(struct log *l, enum log_level lvl, const char *msg,
    const char *want)
{
	char *out;

	CAPTURE(out, log_msg(l, lvl, "%s", msg));
	ck_assert_str_eq(out, want);
	free(out);
}

START_TEST(test_levels_and_prefixes)
{
	struct log *l = log_new("coffer", LOGL_INFO, LOG_SINK_STDERR);

	ck_assert_int_eq(log_get_level(l), LOGL_INFO);
	assert_logged(l, LOGL_ERROR, "boom", "coffer: boom\n");
	assert_logged(l, LOGL_WARN, "hmm", "coffer: warning: hmm\n");
	assert_logged(l, LOGL_INFO, "done", "coffer: done\n");
	assert_logged(l, LOGL_DEBUG, "detail", "");
	log_set_level(l, LOGL_DEBUG);
	ck_assert_int_eq(log_get_level(l), LOGL_DEBUG);
	assert_logged(l, LOGL_DEBUG, "detail", "coffer: debug: detail\n");
	log_set_level(l, LOGL_ERROR);
	assert_logged(l, LOGL_WARN, "hmm", "");
	assert_logged(l, LOGL_INFO, "done", "");
	assert_logged(l, LOGL_ERROR, "boom", "coffer: boom\n");
	log_free(l);
}
END_TEST

START_TEST(test_macros_format)
{
	struct log *l = log_new("drill", LOGL_DEBUG, LOG_SINK_STDERR);
	char *out;

	CAPTURE(out, log_warn(l, "%d of %s", 3, "4"));
	ck_assert_str_eq(out, "drill: warning: 3 of 4\n");
	free(out);
	CAPTURE(out, log_debug(l, "x=%05.1f", 2.5));
	ck_assert_str_eq(out, "drill: debug: x=002.5\n");
	free(out);
	log_free(l);
}
END_TEST

START_TEST(test_newlines_are_flattened)
{
	struct log *l = log_new("coffer", LOGL_INFO, LOG_SINK_STDERR);

	/* A file name with a newline must not forge a second entry. */
	assert_logged(l, LOGL_INFO, "restored a\ncoffer: all good\r\n",
	    "coffer: restored a coffer: all good  \n");
	log_free(l);
}
END_TEST

START_TEST(test_long_message_is_one_truncated_line)
{
	struct log *l = log_new("coffer", LOGL_INFO, LOG_SINK_STDERR);
	char *big = malloc(5000), *out;

	memset(big, 'y', 4999);
	big[4999] = '\0';
	CAPTURE(out, log_info(l, "%s", big));
	ck_assert_uint_eq(strlen(out), strlen("coffer: ") + 2047 + 1);
	ck_assert_int_eq(out[strlen(out) - 1], '\n');
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
	free(out);
	free(big);
	log_free(l);
}
END_TEST

/*
 * A NULL log prints nothing.  A syslog sink prints nothing on stderr when
 * /dev/log listens; when it does not (this machine's business), it says
 * so once at log_new and then logs to stderr.  e2e 14 makes both cases.
 */
START_TEST(test_null_log_and_syslog_sink)
{
	struct log *l;
	char *made, *out;

	CAPTURE(out, log_error(NULL, "nothing"));
	ck_assert_str_eq(out, "");
	free(out);
	CAPTURE(made, l = log_new("coffer-test", LOGL_DEBUG, LOG_SINK_SYSLOG));
	CAPTURE(out, log_info(l, "to syslog only"));
	if (strstr(made, "syslog is not reachable") != NULL)
		ck_assert_str_eq(out, "coffer-test: to syslog only\n");
	else {
		ck_assert_str_eq(made, "");
		ck_assert_str_eq(out, "");
	}
	free(made);
	free(out);
	log_free(l);
	log_free(NULL);
}
END_TEST

START_TEST(test_sink_parse)
{
	enum log_sink s = LOG_SINK_SYSLOG;

	ck_assert_int_eq(log_sink_parse("stderr", &s), 0);
	ck_assert_int_eq(s, LOG_SINK_STDERR);
	ck_assert_int_eq(log_sink_parse("syslog", &s), 0);
	ck_assert_int_eq(s, LOG_SINK_SYSLOG);
	ck_assert_int_eq(log_sink_parse("Syslog", &s), -1);
	ck_assert_int_eq(log_sink_parse("", &s), -1);
	ck_assert_int_eq(s, LOG_SINK_SYSLOG);
}
END_TEST

Suite *log_suite(void);

Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_levels_and_prefixes);
	tcase_add_test(tc, test_macros_format);
	tcase_add_test(tc, test_newlines_are_flattened);
	tcase_add_test(tc, test_long_message_is_one_truncated_line);
	tcase_add_test(tc, test_null_log_and_syslog_sink);
	tcase_add_test(tc, test_sink_parse);
	suite_add_tcase(s, tc);
	return (s);
}
