/*
 * Option handling shared by every subcommand, and top-level reporting.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int
cli_common_option(struct cli_ctx *ctx, const char *cmdname, int opt,
    const char *arg)
{
	enum log_sink sink;

	switch (opt) {
	case 'c':
		ctx->config_path = arg;
		ctx->config_explicit = 1;
		return (0);
	case 'q':
		ctx->quiet = 1;
		ctx->verbose = 0;
		log_set_level(ctx->log, LOGL_ERROR);
		return (0);
	case 'v':
		ctx->verbose = 1;
		ctx->quiet = 0;
		log_set_level(ctx->log, LOGL_DEBUG);
		return (0);
	case CLI_OPT_JSON:
		ctx->json = 1;
		return (0);
	case CLI_OPT_LOG:
		if (log_sink_parse(arg, &sink) == -1) {
			fprintf(stderr,
			    "coffer%s%s: --log takes 'stderr' or 'syslog', "
			    "not '%s'\n",
			    cmdname ? " " : "", cmdname ? cmdname : "", arg);
			return (-1);
		}
		{
			enum log_level lvl = log_get_level(ctx->log);

			log_free(ctx->log);
			ctx->log = log_new("coffer", lvl, sink);
		}
		return (0);
	case CLI_OPT_PASSWORD_FILE:
		ctx->password_file = arg;
		return (0);
	case CLI_OPT_PASSWORD_COMMAND:
		ctx->password_command = arg;
		return (0);
	case CLI_OPT_ACCEPT_NEW_HOST_KEY:
		ctx->accept_new_host_key = 1;
		return (0);
	case CLI_OPT_IDENTITY:
		ctx->identity = arg;
		return (0);
	case CLI_OPT_KNOWN_HOSTS:
		ctx->known_hosts = arg;
		return (0);
	case CLI_OPT_LIMIT_UPLOAD:
	case CLI_OPT_LIMIT_DOWNLOAD: {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(arg, &end, 10);
		if (arg[0] < '0' || arg[0] > '9' || *end != '\0' ||
		    errno != 0 || v > (1ull << 40)) {
			fprintf(stderr,
			    "coffer%s%s: --limit-%s takes a rate in KiB/s "
			    "(0: no limit), not '%s'\n",
			    cmdname ? " " : "", cmdname ? cmdname : "",
			    opt == CLI_OPT_LIMIT_UPLOAD ? "upload" : "download",
			    arg);
			return (-1);
		}
		if (opt == CLI_OPT_LIMIT_UPLOAD) {
			ctx->limit_upload = v;
			ctx->limit_upload_set = 1;
		} else {
			ctx->limit_download = v;
			ctx->limit_download_set = 1;
		}
		return (0);
	}
	case CLI_OPT_PASSWORD:
		/*
		 * Anything on argv is visible in ps(1) and shell history;
		 * say so instead of "unknown option".
		 */
		fprintf(stderr,
		    "coffer: passphrases are never accepted on the command "
		    "line; use --password-file, --password-command or "
		    "COFFER_PASSWORD_FILE\n");
		return (-1);
	default:
		return (-1);
	}
}

static void
print_help(const struct cli_cmd *cmd)
{
	fputs(cmd->usage, stdout);
}

/*
 * Is w the long form (--NAME, --NAME=V, or a prefix) of the option whose
 * value is val?  Then an error names it as typed, not by its letter.
 */
static int
long_word(const char *w, const struct option *lo, int val)
{
	size_t len;

	if (strncmp(w, "--", 2) != 0)
		return (0);
	w += 2;
	len = strcspn(w, "=");
	for (; lo->name != NULL; lo++)
		if (lo->val == val && strncmp(lo->name, w, len) == 0)
			return (1);
	return (0);
}

int
cli_getopt(struct cli_ctx *ctx, const struct cli_cmd *cmd, int argc,
    char **argv, const char *shortopts, const struct option *longopts)
{
	char opts[128];
	int ch;

	/* A leading ':' makes getopt tell a missing value from an unknown
	 * option; commands need not remember it. */
	snprintf(opts, sizeof(opts), "%s%s", shortopts[0] == ':' ? "" : ":",
	    shortopts);
	opterr = 0;
	for (;;) {
		ch = getopt_long(argc, argv, opts, longopts, NULL);
		switch (ch) {
		case -1:
			return (-1);
		case 'h':
			print_help(cmd);
			exit(EXIT_OK);
		case ':':
		case '?':
			if (optopt == CLI_OPT_PASSWORD)
				(void)cli_common_option(ctx, cmd->name,
				    CLI_OPT_PASSWORD, NULL);
			else if (optopt != 0 && optopt < 256 &&
			    !long_word(argv[optind - 1], longopts, optopt))
				cli_usage_error(cmd, "%s -%c",
				    ch == ':' ? "missing value for"
				              : "unknown option",
				    optopt);
			else
				cli_usage_error(cmd, "%s %s",
				    ch == ':' ? "missing value for"
				              : "unknown or ambiguous option",
				    argv[optind - 1]);
			return ('?');
		case CLI_OPT_NO_LOCK:
			ctx->lock = CLI_LOCK_NONE;
			continue;
		case 'c':
		case 'q':
		case 'v':
		case CLI_OPT_JSON:
		case CLI_OPT_LOG:
		case CLI_OPT_PASSWORD_FILE:
		case CLI_OPT_PASSWORD_COMMAND:
		case CLI_OPT_PASSWORD:
		case CLI_OPT_ACCEPT_NEW_HOST_KEY:
		case CLI_OPT_IDENTITY:
		case CLI_OPT_KNOWN_HOSTS:
		case CLI_OPT_LIMIT_UPLOAD:
		case CLI_OPT_LIMIT_DOWNLOAD:
			if (cli_common_option(ctx, cmd->name, ch, optarg) == -1)
				return ('?');
			continue;
		default:
			return (ch);
		}
	}
}

int
cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "coffer %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'coffer help %s')\n", cmd->name);
	return (EXIT_USAGE);
}

int
cli_report(struct cli_ctx *ctx, const struct err *e)
{
	if (e->class == ERR_NONE)
		return (EXIT_OK);
	log_error(ctx->log, "%s", e->msg[0] ? e->msg : "unknown error");
	return (err_exit_status(e->class));
}
