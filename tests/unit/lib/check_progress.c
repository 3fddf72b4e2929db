/*
 * The progress line: exact formatting, throttled redraws, and silence
 * when disabled.
 */
#include <sys/types.h>

#include <fcntl.h>
#include <pty.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "progress.h"
#include "tutil.h"

#define KiB 1024ULL
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)
#define SEC 1000000000ULL

static void
assert_format(uint64_t done, uint64_t total, uint64_t ns, const char *label,
    const char *want)
{
	char buf[256];
	size_t n = progress_format(buf, sizeof(buf), done, total, ns, label);

	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(n, strlen(want));
}

START_TEST(test_format_sizes)
{
	assert_format(0, 0, SEC, NULL, "0 B, 0 B/s, elapsed 0:00:01");
	assert_format(1023, 0, SEC, NULL, "1023 B, 1023 B/s, elapsed 0:00:01");
	assert_format(1024, 0, SEC, NULL,
	    "1.0 KiB, 1.0 KiB/s, elapsed 0:00:01");
	assert_format(1536, 0, SEC, NULL,
	    "1.5 KiB, 1.5 KiB/s, elapsed 0:00:01");
	/* 1.04 rounds down, 1.05 up; 1023.95 KiB is 1.0 MiB, not 1024.0. */
	assert_format(1065, 0, SEC, NULL,
	    "1.0 KiB, 1.0 KiB/s, elapsed 0:00:01");
	assert_format(1076, 0, SEC, NULL,
	    "1.1 KiB, 1.1 KiB/s, elapsed 0:00:01");
	assert_format(MiB - 1, 0, SEC, NULL,
	    "1.0 MiB, 1.0 MiB/s, elapsed 0:00:01");
	assert_format(10 * MiB + 512 * KiB, 0, SEC, NULL,
	    "10.5 MiB, 10.5 MiB/s, elapsed 0:00:01");
	assert_format(3 * GiB + 256 * MiB, 0, 2 * SEC, NULL,
	    "3.3 GiB, 1.6 GiB/s, elapsed 0:00:02");
	assert_format(5 * 1024 * GiB, 0, 100 * SEC, NULL,
	    "5.0 TiB, 51.2 GiB/s, elapsed 0:01:40");
	assert_format(UINT64_MAX, 0, SEC, NULL,
	    "16.0 EiB, 16.0 EiB/s, elapsed 0:00:01");
}
END_TEST

START_TEST(test_format_known_total)
{
	assert_format(3 * MiB / 2, 10 * MiB, 600000000ULL, "snapshot",
	    "snapshot: 1.5 MiB / 10.0 MiB (15%), 2.5 MiB/s, ETA 0:00:04");
	/* ETA rounds up: 8.5 MiB left at 2.5 MiB/s is 3.4 s. */
	assert_format(3 * MiB / 2, 10 * MiB, 600000000ULL + 1, "snapshot",
	    "snapshot: 1.5 MiB / 10.0 MiB (15%), 2.5 MiB/s, ETA 0:00:04");
	assert_format(10 * MiB, 10 * MiB, 4 * SEC, "snapshot",
	    "snapshot: 10.0 MiB / 10.0 MiB (100%), 2.5 MiB/s, "
	    "elapsed 0:00:04");
	/* More than announced: still done.  2.75 rounds half up. */
	assert_format(11 * MiB, 10 * MiB, 4 * SEC, "x",
	    "x: 11.0 MiB / 10.0 MiB (100%), 2.8 MiB/s, elapsed 0:00:04");
	/* Floor: 99.99% is 99%. */
	assert_format(9999, 10000, SEC, "x",
	    "x: 9.8 KiB / 9.8 KiB (99%), 9.8 KiB/s, ETA 0:00:01");
	/* Hours, and more than a day. */
	assert_format(GiB, 11 * GiB, 3600 * SEC, "x",
	    "x: 1.0 GiB / 11.0 GiB (9%), 291.3 KiB/s, ETA 10:00:00");
	assert_format(MiB, 101 * MiB, 3723 * SEC, "",
	    "1.0 MiB / 101.0 MiB (0%), 281 B/s, ETA 103:25:00");
}
END_TEST

START_TEST(test_format_unknowns)
{
	assert_format(0, 100, SEC, "x",
	    "x: 0 B / 100 B (0%), 0 B/s, ETA --:--:--");
	assert_format(50, 100, 0, "x",
	    "x: 50 B / 100 B (50%), -- B/s, ETA --:--:--");
	assert_format(50, 0, 0, "x", "x: 50 B, -- B/s, elapsed 0:00:00");
}
END_TEST

START_TEST(test_format_truncates)
{
	char buf[12];

	ck_assert_uint_eq(progress_format(buf, sizeof(buf), 1536, 0, SEC,
	                      "label"),
	    11);
	ck_assert_str_eq(buf, "label: 1.5 ");
	ck_assert_uint_eq(progress_format(buf, 1, 1536, 0, SEC, "label"), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_uint_eq(progress_format(NULL, 0, 1536, 0, SEC, "label"), 0);
}
END_TEST

/* Everything written to the read end of a pipe whose write end is fd. */
static char *
drain(int rfd, int wfd)
{
	char *s;

	close(wfd);
	s = tutil_read_all(rfd, NULL);
	close(rfd);
	return (s);
}

static int
count(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return (n);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1)
		continue;
}

START_TEST(test_disabled_writes_nothing)
{
	struct progress *p;
	int fds[2];
	char *out;

	ck_assert_int_eq(pipe(fds), 0);
	p = progress_new(fds[1], "quiet", 100, 0);
	progress_add(p, 10);
	sleep_ms(300);
	progress_add(p, 10);
	progress_set_total(p, 1000);
	progress_done(p);
	progress_free(p);
	out = drain(fds[0], fds[1]);
	ck_assert_str_eq(out, "");
	free(out);
	/* NULL is harmless everywhere. */
	progress_add(NULL, 1);
	progress_set_total(NULL, 1);
	progress_done(NULL);
	progress_free(NULL);
}
END_TEST

START_TEST(test_redraws_are_throttled)
{
	struct progress *p;
	int fds[2];
	char *out;

	ck_assert_int_eq(pipe(fds), 0);
	p = progress_new(fds[1], "copy", 0, 1);
	for (int i = 0; i < 10000; i++)
		progress_add(p, 1);
	sleep_ms(300);
	progress_add(p, 24);
	progress_add(p, 1000);
	progress_done(p);
	progress_done(p);
	progress_free(p);
	out = drain(fds[0], fds[1]);
	/* Nothing in the first quarter second, one redraw after the pause,
	 * then the final line. */
	ck_assert_int_eq(count(out, "\r"), 2);
	ck_assert(strncmp(out, "\rcopy: 9.8 KiB, ", 16) == 0);
	ck_assert_ptr_nonnull(strstr(out, "\033[K\rcopy: 10.8 KiB, "));
	ck_assert_int_eq(count(out, "\n"), 1);
	ck_assert_str_eq(out + strlen(out) - 4, "\033[K\n");
	free(out);
}
END_TEST

START_TEST(test_free_without_done_clears_the_line)
{
	struct progress *p;
	int fds[2];
	char *out;

	ck_assert_int_eq(pipe(fds), 0);
	p = progress_new(fds[1], "x", 100, 1);
	sleep_ms(300);
	progress_add(p, 10);
	progress_free(p);
	out = drain(fds[0], fds[1]);
	ck_assert(strncmp(out, "\rx: 10 B / 100 B (10%), ", 24) == 0);
	ck_assert_str_eq(out + strlen(out) - 7, "\033[K\r\033[K");
	ck_assert_ptr_null(strchr(out, '\n'));
	free(out);

	/* Never drawn: nothing to clear. */
	ck_assert_int_eq(pipe(fds), 0);
	p = progress_new(fds[1], "x", 100, 1);
	progress_add(p, 10);
	progress_free(p);
	out = drain(fds[0], fds[1]);
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

START_TEST(test_line_is_cut_to_the_terminal)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 20 };
	struct progress *p;
	int master, slave;
	struct termios t;
	char buf[256];
	ssize_t n;

	ck_assert_int_eq(openpty(&master, &slave, NULL, NULL, &ws), 0);
	/* Raw: what we read is exactly what was written. */
	ck_assert_int_eq(tcgetattr(slave, &t), 0);
	cfmakeraw(&t);
	ck_assert_int_eq(tcsetattr(slave, TCSANOW, &t), 0);
	p = progress_new(slave,
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	    0, 1);
	progress_add(p, 1);
	progress_done(p);
	n = read(master, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	/* 19 columns at most, cut before a split character: 9 of the 2-byte
	 * letters (18 bytes), not 9.5. */
	ck_assert_str_eq(buf,
	    "\r\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\033[K\n");
	progress_free(p);
	close(slave);
	close(master);
}
END_TEST

Suite *progress_suite(void);

Suite *
progress_suite(void)
{
	Suite *s = suite_create("progress");
	TCase *fmt = tcase_create("format");
	TCase *draw = tcase_create("draw");

	tcase_add_test(fmt, test_format_sizes);
	tcase_add_test(fmt, test_format_known_total);
	tcase_add_test(fmt, test_format_unknowns);
	tcase_add_test(fmt, test_format_truncates);
	suite_add_tcase(s, fmt);
	tcase_add_test(draw, test_disabled_writes_nothing);
	tcase_add_test(draw, test_redraws_are_throttled);
	tcase_add_test(draw, test_free_without_done_clears_the_line);
	tcase_add_test(draw, test_line_is_cut_to_the_terminal);
	suite_add_tcase(s, draw);
	return (s);
}
