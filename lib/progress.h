/*
 * One updating status line on a terminal: label, bytes done (of the total
 * when known), rate, time left.  The caller decides whether it is shown
 * (fd is a tty and not --quiet); a disabled progress writes nothing.
 */
#ifndef COFFER_PROGRESS_H
#define COFFER_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

struct progress;

/*
 * A progress line on fd with label (copied; NULL for none).  total is the
 * number of bytes expected, 0 if unknown.  enabled 0: every call does
 * nothing, and nothing is ever written.  The clock starts now.
 */
struct progress *progress_new(int fd, const char *label, uint64_t total,
    int enabled);

/* Count n more bytes done; redraws at most about 4 times a second. */
void progress_add(struct progress *, uint64_t n);

/* The total became known (or changed); 0 for unknown. */
void progress_set_total(struct progress *, uint64_t total);

/* Draw the final figures and end the line with a newline.  Once. */
void progress_done(struct progress *);

/* Clear the line if it was drawn and not done, then free.  NULL is fine. */
void progress_free(struct progress *);

/*
 * Format one status line into buf (always NUL-terminated when size > 0,
 * truncated to fit); returns its length.  Sizes are bytes below 1 KiB
 * ("512 B"), else KiB, MiB, GiB, TiB, PiB, EiB with one decimal; the rate
 * is done / elapsed ("-- B/s" before any time passed); times are h:mm:ss.
 * With total known and done < total:
 *	L: 1.5 MiB / 10.0 MiB (15%), 2.5 MiB/s, ETA 0:00:04
 * (the ETA is "--:--:--" until something is done); once done >= total:
 *	L: 10.0 MiB / 10.0 MiB (100%), 2.5 MiB/s, elapsed 0:00:04
 * with total unknown (0):
 *	L: 1.5 MiB, 2.5 MiB/s, elapsed 0:00:01
 * "L: " is the label, left out when it is NULL or empty.
 */
size_t progress_format(char *buf, size_t size, uint64_t done, uint64_t total,
    uint64_t elapsed_ns, const char *label);

#endif
