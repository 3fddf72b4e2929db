/*
 * The progress line: pure formatting (tested on its own) and a throttled
 * redraw with "\r" and erase-to-end-of-line.
 */
#include "progress.h"

#include <sys/ioctl.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xmalloc.h"

#define PROGRESS_INTERVAL_NS 250000000ULL /* ~4 redraws a second */
#define PROGRESS_LINE_MAX    512

struct progress {
	int fd;
	int enabled;
	char *label;
	uint64_t total;
	uint64_t done;
	uint64_t start_ns;
	uint64_t last_draw_ns;
	int drawn;
	int finished;
};

/* Human size: "1023 B", "1.5 KiB", ... rounded to the nearest tenth. */
static void
progress_size(char *buf, size_t size, uint64_t n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB",
		"EiB" };
	uint64_t unit = 1024, tenths = 0;
	size_t u;

	if (n < 1024) {
		snprintf(buf, size, "%llu B", (unsigned long long)n);
		return;
	}
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++, unit *= 1024) {
		/* Exact without overflow: the remainder is below 2^60. */
		tenths = (n / unit) * 10 + ((n % unit) * 10 + unit / 2) / unit;
		if (tenths < 10240 || u + 1 == sizeof(units) / sizeof(units[0]))
			break;
	}
	snprintf(buf, size, "%llu.%llu %s", (unsigned long long)(tenths / 10),
	    (unsigned long long)(tenths % 10), units[u]);
}

static void
progress_hms(char *buf, size_t size, uint64_t secs)
{
	snprintf(buf, size, "%llu:%02u:%02u", (unsigned long long)(secs / 3600),
	    (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
}

/* Append to buf at *len, truncating at size. */
static void progress_cat(char *buf, size_t size, size_t *len, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
progress_cat(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len + 1 >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*len += (size_t)n < size - *len ? (size_t)n : size - *len - 1;
}

size_t
progress_format(char *buf, size_t size, uint64_t done, uint64_t total,
    uint64_t elapsed_ns, const char *label)
{
	char d[32], t[32], r[32], hms[32];
	uint64_t pct;
	size_t len = 0;

	if (size == 0)
		return (0);
	buf[0] = '\0';
	progress_size(d, sizeof(d), done);
	if (elapsed_ns == 0)
		snprintf(r, sizeof(r), "-- B/s");
	else {
		double rate = (double)done / ((double)elapsed_ns / 1e9);
		size_t n;

		progress_size(r, sizeof(r),
		    rate >= 18e18 ? UINT64_MAX : (uint64_t)rate);
		n = strlen(r);
		snprintf(r + n, sizeof(r) - n, "/s");
	}
	if (label != NULL && *label != '\0')
		progress_cat(buf, size, &len, "%s: ", label);
	if (total == 0) {
		progress_hms(hms, sizeof(hms), elapsed_ns / 1000000000u);
		progress_cat(buf, size, &len, "%s, %s, elapsed %s", d, r, hms);
		return (len);
	}
	progress_size(t, sizeof(t), total);
	if (done >= total) {
		progress_hms(hms, sizeof(hms), elapsed_ns / 1000000000u);
		progress_cat(buf, size, &len, "%s / %s (100%%), %s, elapsed %s",
		    d, t, r, hms);
		return (len);
	}
	if (done == 0 || elapsed_ns == 0)
		snprintf(hms, sizeof(hms), "--:--:--");
	else {
		/* Time left at the average rate so far, rounded up. */
		double left = (double)(total - done) * (double)elapsed_ns /
		    (double)done / 1e9;
		uint64_t secs = left >= 1e15 ? (uint64_t)1e15 : (uint64_t)left;

		if ((double)secs < left)
			secs++;
		progress_hms(hms, sizeof(hms), secs);
	}
	/* Floor, so 100% only ever shows once everything is there. */
	pct = total <= UINT64_MAX / 100 ? done * 100 / total
	                                : done / (total / 100);
	progress_cat(buf, size, &len, "%s / %s (%u%%), %s, ETA %s", d, t,
	    (unsigned)(pct > 99 ? 99 : pct), r, hms);
	return (len);
}

static uint64_t
progress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* Write it all; the progress line is cosmetic, so errors are dropped. */
static void
progress_write(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void
progress_draw(struct progress *p, uint64_t now, int final)
{
	char line[PROGRESS_LINE_MAX], out[PROGRESS_LINE_MAX + 16];
	struct winsize ws;
	size_t len;
	int n;

	len = progress_format(line, sizeof(line), p->done, p->total,
	    now - p->start_ns, p->label);
	/* A line that wraps cannot be redrawn with "\r": cut it to the
	 * terminal, and not inside a UTF-8 sequence. */
	if (ioctl(p->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
	    len >= ws.ws_col) {
		len = (size_t)ws.ws_col - 1;
		while (len > 0 && ((unsigned char)line[len] & 0xc0) == 0x80)
			len--;
		line[len] = '\0';
	}
	n = snprintf(out, sizeof(out), "\r%s\033[K%s", line, final ? "\n" : "");
	if (n > 0)
		progress_write(p->fd, out,
		    (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
	p->drawn = 1;
	p->last_draw_ns = now;
}

struct progress *
progress_new(int fd, const char *label, uint64_t total, int enabled)
{
	struct progress *p = xcalloc(1, sizeof(*p));

	p->fd = fd;
	p->enabled = enabled;
	p->label = label != NULL ? xstrdup(label) : NULL;
	p->total = total;
	p->start_ns = progress_now();
	p->last_draw_ns = p->start_ns;
	return (p);
}

void
progress_add(struct progress *p, uint64_t n)
{
	uint64_t now;

	if (p == NULL)
		return;
	p->done = n > UINT64_MAX - p->done ? UINT64_MAX : p->done + n;
	if (!p->enabled || p->finished)
		return;
	now = progress_now();
	if (now - p->last_draw_ns >= PROGRESS_INTERVAL_NS)
		progress_draw(p, now, 0);
}

void
progress_set_total(struct progress *p, uint64_t total)
{
	if (p != NULL)
		p->total = total;
}

void
progress_done(struct progress *p)
{
	if (p == NULL || p->finished)
		return;
	if (p->enabled)
		progress_draw(p, progress_now(), 1);
	p->finished = 1;
}

void
progress_free(struct progress *p)
{
	if (p == NULL)
		return;
	if (p->enabled && p->drawn && !p->finished)
		progress_write(p->fd, "\r\033[K", 4);
	free(p->label);
	free(p);
}
