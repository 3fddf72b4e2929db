/*
 * Formatting for listings.  Everything a person reads goes through esc_*,
 * everything a program reads through jansson, with base64 where a name
 * is not UTF-8.
 */
#include "fmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "esc.h"
#include "xmalloc.h"

void
fmt_size(uint64_t n, char *buf, size_t size)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB",
		"EiB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(buf, size, "%llu B", (unsigned long long)n);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f %s", v, unit[u]);
}

void
fmt_span(int64_t s, char *buf, size_t size)
{
	if (s < 0)
		snprintf(buf, size, "-");
	else if (s >= 86400)
		snprintf(buf, size, "%lldd %lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, size, "%lldh %lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, size, "%lldm %llds", (long long)(s / 60),
		    (long long)(s % 60));
	else
		snprintf(buf, size, "%llds", (long long)s);
}

void
fmt_dur(double secs, char *buf, size_t size)
{
	uint64_t v = secs > 0 ? (uint64_t)(secs + 0.5) : 0;

	if (v < 60)
		snprintf(buf, size, "%.1f s", secs);
	else if (v < 3600)
		snprintf(buf, size, "%llum%02llus", (unsigned long long)v / 60,
		    (unsigned long long)v % 60);
	else if (v < 86400)
		snprintf(buf, size, "%lluh%02llum",
		    (unsigned long long)v / 3600,
		    (unsigned long long)(v % 3600) / 60);
	else
		snprintf(buf, size, "%llud%02lluh",
		    (unsigned long long)v / 86400,
		    (unsigned long long)(v % 86400) / 3600);
}

void
fmt_mode(enum fs_type t, uint32_t mode, char buf[11])
{
	static const char rwx[] = "rwxrwxrwx";
	char c;

	switch (t) {
	case FS_DIR:
		c = 'd';
		break;
	case FS_SYMLINK:
		c = 'l';
		break;
	case FS_FIFO:
		c = 'p';
		break;
	case FS_CHR:
		c = 'c';
		break;
	case FS_BLK:
		c = 'b';
		break;
	case FS_SOCK:
		c = 's';
		break;
	case FS_FILE:
		c = '-';
		break;
	default:
		c = '?';
		break;
	}
	buf[0] = c;
	for (int i = 0; i < 9; i++)
		buf[1 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
	if (mode & 04000)
		buf[3] = (mode & 0100) ? 's' : 'S';
	if (mode & 02000)
		buf[6] = (mode & 0010) ? 's' : 'S';
	if (mode & 01000)
		buf[9] = (mode & 0001) ? 't' : 'T';
	buf[10] = '\0';
}

static int
utc(int64_t sec, struct tm *tm)
{
	time_t t = (time_t)sec;

	return ((int64_t)t == sec && gmtime_r(&t, tm) != NULL ? 0 : -1);
}

void
fmt_time_local(int64_t sec, char *buf, size_t size)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (sec == 0) {
		snprintf(buf, size, "-");
		return;
	}
	if ((int64_t)t != sec || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)sec);
}

json_t *
fmt_json_time(int64_t sec)
{
	return (sec != 0 ? json_integer(sec) : json_null());
}

void
fmt_time(int64_t sec, char *buf, size_t size)
{
	struct tm tm;

	if (utc(sec, &tm) == -1 ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)sec);
}

void
fmt_time_iso(int64_t sec, uint32_t nsec, char *buf, size_t size)
{
	struct tm tm;
	char day[64];

	if (utc(sec, &tm) == -1 ||
	    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(buf, size, "%lld.%09u", (long long)sec, nsec);
	else
		snprintf(buf, size, "%s.%09uZ", day, nsec);
}

static char *
b64(const char *s, size_t len)
{
	char *out = xreallocarray(NULL, CRYPTO_B64_LEN(len) + 1, 1);

	crypto_b64_encode(s, len, out);
	return (out);
}

void
fmt_json_set_bytes(json_t *obj, const char *key, const char *s, size_t len)
{
	json_t *v = json_stringn(s, len);
	char *k, *enc;

	if (v != NULL) {
		json_object_set_new(obj, key, v);
		return;
	}
	k = xasprintf("%s_b64", key);
	enc = b64(s, len);
	json_object_set_new(obj, k, json_string(enc));
	free(enc);
	free(k);
}

json_t *
fmt_json_bytes(const char *s, size_t len)
{
	json_t *v = json_stringn(s, len);
	char *enc;

	if (v != NULL)
		return (v);
	enc = b64(s, len);
	v = json_pack("{s:s}", "b64", enc);
	free(enc);
	return (v);
}

json_t *
fmt_json_node(const struct fs_node *n, const char *path)
{
	json_t *j = json_object();
	char when[64];

	fmt_json_set_bytes(j, "path", path, strlen(path));
	if (n->name != NULL)
		fmt_json_set_bytes(j, "name", n->name, strlen(n->name));
	json_object_set_new(j, "type", json_string(fs_type_name(n->type)));
	json_object_set_new(j, "mode", json_integer(n->mode));
	json_object_set_new(j, "uid", json_integer(n->uid));
	json_object_set_new(j, "gid", json_integer(n->gid));
	if (n->user != NULL && n->user[0] != '\0')
		fmt_json_set_bytes(j, "user", n->user, strlen(n->user));
	if (n->group != NULL && n->group[0] != '\0')
		fmt_json_set_bytes(j, "group", n->group, strlen(n->group));
	/* JSON integers are signed 64-bit in jansson. */
	json_object_set_new(j, "size",
	    n->size > INT64_MAX ? json_real((double)n->size)
	                        : json_integer((json_int_t)n->size));
	fmt_time_iso(n->mtime.sec, n->mtime.nsec, when, sizeof(when));
	json_object_set_new(j, "mtime", json_string(when));
	if (n->type == FS_SYMLINK && n->symlink != NULL)
		fmt_json_set_bytes(j, "target", n->symlink, strlen(n->symlink));
	if (n->type == FS_CHR || n->type == FS_BLK)
		json_object_set_new(j, "rdev",
		    json_pack("[I, I]", (json_int_t)n->rdev_major,
		        (json_int_t)n->rdev_minor));
	if (n->flags & FS_NODE_INCONSISTENT)
		json_object_set_new(j, "inconsistent", json_true());
	return (j);
}

void
fmt_json_print(json_t *j)
{
	json_dumpf(j, stdout, JSON_COMPACT);
	putchar('\n');
}

int
fmt_stdout_check(struct err *e)
{
	if (!ferror(stdout))
		return (0);
	if (errno == 0)
		return (err_set(e, ERR_IO, "standard output: write error"));
	return (err_sys(e, ERR_IO, "standard output"));
}

json_t *
fmt_json_strv(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, fmt_json_bytes(v[i], strlen(v[i])));
	return (a);
}

char *
fmt_join_esc(char *const *v, size_t n)
{
	size_t len = 2, at = 0;
	char *out, *s;

	if (n == 0)
		return (xstrdup("-"));
	for (size_t i = 0; i < n; i++)
		len += 4 * strlen(v[i]) + 1;
	out = xmalloc(len);
	for (size_t i = 0; i < n; i++) {
		s = esc_str(v[i], strlen(v[i]));
		at += (size_t)snprintf(out + at, len - at, "%s%s", i ? "," : "",
		    s);
		free(s);
	}
	return (out);
}
