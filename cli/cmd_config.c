/*
 * coffer config check: load the configuration, check the files it names
 * (config_check_files: modes and the directories above them; secrets are
 * never read), warn of what it sets that nothing acts on yet
 * (config_not_yet), and print every section with its resolved settings, as
 * text or JSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "opt.h"
#include "secfile.h"
#include "xmalloc.h"

static void
print_text(const struct config *cfg, const struct config_section *s)
{
	struct config_setting st;
	size_t it = 0, w = 0, vw = 0;
	const char *name = config_section_name(s);

	/* Align the keys, and the comments after values up to a point. */
	while (config_setting_next(s, &it, &st)) {
		if (st.value == NULL)
			continue;
		if (strlen(st.key) > w)
			w = strlen(st.key);
		if (strlen(st.value) > vw && strlen(st.value) <= 40)
			vw = strlen(st.value);
	}
	printf("\n[%s%s%s]", config_type_name(config_section_type(s)),
	    name != NULL ? " " : "", name != NULL ? name : "");
	if (config_section_line(s) != 0)
		printf("  # %s:%d", config_file(cfg), config_section_line(s));
	else
		printf("  # not in the file: defaults");
	putchar('\n');
	it = 0;
	while (config_setting_next(s, &it, &st)) {
		if (st.value == NULL)
			continue;
		printf("%-*s = %-*s  # ", (int)w, st.key, (int)vw, st.value);
		if (st.is_default)
			printf("default\n");
		else
			printf("line %d\n", st.line);
	}
}

static json_t *
jcheck(json_t *j)
{
	if (j == NULL) {
		fprintf(stderr, "coffer: out of memory building JSON\n");
		abort();
	}
	return (j);
}

/*
 * A JSON string of s.  Jansson takes only valid UTF-8, and paths need not
 * be: a byte that does not fit becomes U+FFFD.
 */
static json_t *
jstr(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), o = 0, len, i;
	char *buf;
	json_t *j;
	unsigned cp;

	if ((j = json_string(s)) != NULL)
		return (j);
	buf = xmalloc(3 * n + 1);
	while (*p != '\0') {
		if (*p < 0x80) {
			buf[o++] = (char)*p++;
			continue;
		}
		len = (*p & 0xe0) == 0xc0 ? 2
		    : (*p & 0xf0) == 0xe0 ? 3
		    : (*p & 0xf8) == 0xf0 ? 4
		                          : 0;
		cp = len == 2  ? (*p & 0x1fu)
		    : len == 3 ? (*p & 0x0fu)
		               : (*p & 0x07u);
		for (i = 1; i < len && (p[i] & 0xc0) == 0x80; i++)
			cp = (cp << 6) | (p[i] & 0x3fu);
		if (len == 0 || i < len ||
		    cp < (len == 2          ? 0x80u
		                 : len == 3 ? 0x800u
		                            : 0x10000u) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
			continue;
		}
		memcpy(buf + o, p, len);
		o += len;
		p += len;
	}
	buf[o] = '\0';
	j = jcheck(json_string(buf));
	free(buf);
	return (j);
}

static json_t *
jnum(uint64_t v)
{
	if (v <= (uint64_t)INT64_MAX)
		return (jcheck(json_integer((json_int_t)v)));
	return (jcheck(json_real((double)v)));
}

static json_t *
setting_json(const struct config_section *s, const struct config_setting *st)
{
	const char *const *items;
	json_t *a;
	int64_t i;
	uint64_t u;
	double d;
	int b;
	size_t n;

	switch (st->vtype) {
	case CONFIG_V_BOOL:
		if (config_get_bool(s, st->key, &b) == 0)
			return (jcheck(json_boolean(b)));
		break;
	case CONFIG_V_INT:
		if (config_get_int(s, st->key, &i) == 0)
			return (jcheck(json_integer((json_int_t)i)));
		break;
	case CONFIG_V_SIZE:
		if (config_get_size(s, st->key, &u) == 0)
			return (jnum(u));
		break;
	case CONFIG_V_DURATION:
		if (config_get_duration(s, st->key, &u) == 0)
			return (jnum(u));
		break;
	case CONFIG_V_PERCENT:
		if (config_get_percent(s, st->key, &d) == 0)
			return (jcheck(json_real(d)));
		break;
	case CONFIG_V_LIST:
	case CONFIG_V_PATHS:
	case CONFIG_V_REFS:
		a = jcheck(json_array());
		n = config_get_list(s, st->key, &items);
		for (size_t k = 0; k < n; k++)
			json_array_append_new(a, jstr(items[k]));
		return (a);
	default:
		break;
	}
	return (jstr(st->value));
}

static json_t *
section_json(const struct config_section *s)
{
	json_t *js = jcheck(json_object()), *set = jcheck(json_object()), *o;
	struct config_setting st;
	const char *name = config_section_name(s);
	size_t it = 0;

	json_object_set_new(js, "type",
	    jstr(config_type_name(config_section_type(s))));
	json_object_set_new(js, "name",
	    name != NULL ? jstr(name) : json_null());
	json_object_set_new(js, "line",
	    config_section_line(s) != 0
	        ? jcheck(json_integer(config_section_line(s)))
	        : json_null());
	while (config_setting_next(s, &it, &st)) {
		if (st.value == NULL)
			continue;
		o = jcheck(json_object());
		json_object_set_new(o, "value", setting_json(s, &st));
		json_object_set_new(o, "default", json_boolean(st.is_default));
		json_object_set_new(o, "line",
		    st.line != 0 ? jcheck(json_integer(st.line)) : json_null());
		json_object_set_new(set, st.key, o);
	}
	json_object_set_new(js, "settings", set);
	return (js);
}

struct warned {
	struct cli_ctx *ctx;
	json_t *list; /* --json: the same lines */
};

static void
warn_not_yet(void *arg, const char *msg)
{
	struct warned *w = arg;

	log_warn(w->ctx->log, "%s", msg);
	json_array_append_new(w->list, jstr(msg));
}

static int
print_json(const struct config *cfg, json_t *warnings)
{
	const struct config_section *s = NULL;
	json_t *root = jcheck(json_object()), *secs = jcheck(json_array());
	int rc;

	json_object_set_new(root, "file", jstr(config_file(cfg)));
	json_object_set_new(root, "valid", json_true());
	json_object_set(root, "warnings", warnings);
	if (config_section_line(config_global(cfg)) == 0)
		json_array_append_new(secs, section_json(config_global(cfg)));
	while ((s = config_next(cfg, s, CONFIG_ANY)) != NULL)
		json_array_append_new(secs, section_json(s));
	json_object_set_new(root, "sections", secs);
	rc = json_dumpf(root, stdout, JSON_INDENT(2));
	json_decref(root);
	if (rc == -1 || putchar('\n') == EOF)
		return (-1);
	return (0);
}

static const struct opt config_opts[] = { OPT_END };
static const struct opt_spec config_spec = { config_opts, NULL };

int
cmd_config(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("config");
	const struct config_section *s = NULL;
	struct config *cfg = NULL;
	struct warned w = { ctx, NULL };
	const char *path;
	struct err e;
	int rc = EXIT_USAGE, n = 0;

	err_clear(&e);
	/* No options of its own: anything but the common ones is an error. */
	if (opt_parse(ctx, cmd, &config_spec, argc, argv, NULL, NULL) == -1)
		goto out;
	if (optind >= argc) {
		cli_usage_error(cmd, "missing the word 'check'");
		goto out;
	}
	if (strcmp(argv[optind], "check") != 0) {
		cli_usage_error(cmd, "unknown subcommand '%s' (only 'check')",
		    argv[optind]);
		goto out;
	}
	if (optind + 1 < argc) {
		cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind + 1]);
		goto out;
	}
	path = ctx->config_path != NULL ? ctx->config_path : CLI_DEFAULT_CONFIG;
	if (config_load(path, &cfg, &e) == -1 ||
	    config_check_files(cfg, &e) == -1) {
		rc = cli_report(ctx, &e);
		goto out;
	}
	rc = EXIT_OK;
	w.list = jcheck(json_array());
	(void)config_not_yet(cfg, warn_not_yet, &w);
	if (ctx->json) {
		if (print_json(cfg, w.list) == -1) {
			err_sys(&e, ERR_IO, "stdout");
			rc = cli_report(ctx, &e);
		}
		goto out;
	}
	if (ctx->quiet)
		goto out;
	while ((s = config_next(cfg, s, CONFIG_ANY)) != NULL)
		n++;
	printf("# %s: valid, %d section%s\n", path, n, n == 1 ? "" : "s");
	if (config_section_line(config_global(cfg)) == 0)
		print_text(cfg, config_global(cfg));
	while ((s = config_next(cfg, s, CONFIG_ANY)) != NULL)
		print_text(cfg, s);
out:
	json_decref(w.list);
	config_free(cfg);
	return (rc);
}
