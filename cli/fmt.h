/*
 * How listings print what a repository holds: sizes, modes, times, names
 * (escaped for people, exact in JSON), and the JSON form of a tree entry.
 * Shared by snapshots, ls and diff.
 */
#ifndef COFFER_CLI_FMT_H
#define COFFER_CLI_FMT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fs/node.h"

/* "0 B" .. "1023 B", then "1.0 KiB", "12.3 MiB", "1.5 GiB", "2.0 TiB". */
void fmt_size(uint64_t n, char *buf, size_t size);

/*
 * A span of seconds for people: "3d 4h", "2h 5m", "4m 10s", "12s"; "-"
 * when negative (none).
 */
void fmt_span(int64_t s, char *buf, size_t size);

/*
 * How long a drill or a stage of one took (drill run, drill status):
 * "12.3 s" under a minute, then "1m04s", "2h05m", "3d04h" (rounded to
 * the second first).  Not fmt_span: scripts and tests read these.
 */
void fmt_dur(double secs, char *buf, size_t size);

/* ls-style "drwxr-xr-x" (with s/S, t/T); buf has room for 11 chars. */
void fmt_mode(enum fs_type, uint32_t mode, char buf[11]);

/* "2026-11-27 10:00:03" in UTC (the number of seconds if out of range). */
void fmt_time(int64_t sec, char *buf, size_t size);

/* "2026-11-27 11:00:03" in local time, "-" for 0 (never): the scheduler's
 * and drills' tables. */
void fmt_time_local(int64_t sec, char *buf, size_t size);

/* sec as a JSON integer, null for 0 (never). */
json_t *fmt_json_time(int64_t sec);

/* "2026-11-27T10:00:03.123456789Z", the form manifests use. */
void fmt_time_iso(int64_t sec, uint32_t nsec, char *buf, size_t size);

/*
 * Set obj[key] to the string of len bytes at s when they are UTF-8 that
 * JSON can carry; else set obj[key "_b64"] to their base64 (RFC 4648), so
 * that any name survives exactly.
 */
void fmt_json_set_bytes(json_t *obj, const char *key, const char *s,
    size_t len);

/* The same for an array element: a string, or {"b64": "..."}. */
json_t *fmt_json_bytes(const char *s, size_t len);

/* The n strings of v as a JSON array, each as fmt_json_bytes makes it. */
json_t *fmt_json_strv(char *const *v, size_t n);

/*
 * The n strings of v, each escaped for a terminal (esc_str), joined by
 * ","; "-" when n is 0.  Free the result.
 */
char *fmt_join_esc(char *const *v, size_t n);

/*
 * A tree entry as a JSON object: path (its full path), name, type, mode
 * (the permission bits as a number), uid, gid, user and group (when
 * known), size, mtime, and when they apply target (symlinks), rdev
 * ([major, minor]), inconsistent (true: changed while read).  name is
 * left out when n has none (the root).
 */
json_t *fmt_json_node(const struct fs_node *n, const char *path);

/* Print j compactly on stdout with a final newline. */
void fmt_json_print(json_t *j);

/* 0 unless writing to stdout failed (a closed pipe, a full disk). */
int fmt_stdout_check(struct err *);

#endif
