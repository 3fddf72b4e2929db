/*
 * coffer init: create a repository with its first key.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo/compress.h"
#include "repo_opts.h"
#include "value.h"

enum {
	OPT_MACHINE_KEY = CLI_OPT_CMD_BASE,
	OPT_COMPRESSION,
	OPT_CHUNK,
	OPT_PACK
};

int
cmd_init(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		CLI_REPO_LONG,
		{ "machine-key", required_argument, NULL, OPT_MACHINE_KEY },
		{ "compression", required_argument, NULL, OPT_COMPRESSION },
		{ "chunk-size", required_argument, NULL, OPT_CHUNK },
		{ "pack-size", required_argument, NULL, OPT_PACK },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("init");
	const struct config_section *sec = NULL;
	struct repo_init_opts o;
	struct stor_opts so;
	struct config *cfg = NULL;
	struct secret *pw = NULL;
	const char *arg = NULL, *machine = NULL, *loc;
	struct repo *r = NULL;
	struct err e;
	uint64_t v;
	int ch, rc = EXIT_USAGE;

	err_clear(&e);
	memset(&o, 0, sizeof(o));
	while ((ch = cli_getopt(ctx, cmd, argc, argv,
	            CLI_COMMON_SHORT "r:", longopts)) != -1) {
		switch (ch) {
		case 'r':
			arg = optarg;
			break;
		case OPT_MACHINE_KEY:
			machine = optarg;
			break;
		case OPT_COMPRESSION:
			if (compress_level_parse(optarg, &o.compression, &e) ==
			    -1)
				return (cli_usage_error(cmd,
				    "--compression: %s", e.msg));
			break;
		case OPT_CHUNK:
			if (value_parse_size(optarg, &v) == -1 ||
			    v > (16u << 20) || v < (16u << 10))
				return (cli_usage_error(cmd,
				    "--chunk-size takes a size from 16K to "
				    "16M"));
			o.chunker.avg_size = (uint32_t)v;
			o.chunker.min_size = (uint32_t)v / 4;
			o.chunker.max_size = (uint32_t)v * 4;
			o.chunker.norm_level = 2;
			break;
		case OPT_PACK:
			if (value_parse_size(optarg, &v) == -1 ||
			    v < (1u << 20) || v > (1u << 30))
				return (cli_usage_error(cmd,
				    "--pack-size takes a size from 1M to 1G"));
			o.pack_size = (uint32_t)v;
			break;
		default:
			return (EXIT_USAGE);
		}
	}
	if (optind != argc)
		return (cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]));
	rc = EXIT_ERROR;
	if (cli_load_config(ctx, &cfg, &e) == -1 ||
	    cli_resolve_repo(arg, cfg, &loc, &sec, &e) == -1)
		goto out;
	if (machine != NULL) {
		struct pass_opts po;

		/* A machine key for cron: made here unless it exists. */
		if (access(machine, F_OK) == -1 && errno == ENOENT &&
		    pass_generate_machine_key(machine, &e) == -1)
			goto out;
		memset(&po, 0, sizeof(po));
		po.password_file = machine;
		if (pass_get(&po, "machine key", 0, &pw, &e) == -1)
			goto out;
	} else if (cli_passphrase(ctx, sec, "new repository passphrase", 1, &pw,
	               &e) == -1)
		goto out;
	o.scrypt = machine ? NULL : cli_scrypt_params();
	cli_key_meta(&o.meta);
	cli_stor_opts(ctx, sec, &so);
	o.stor = &so;
	if (repo_init(loc, &o, secret_data(pw), secret_len(pw),
	        machine ? KEY_KIND_MACHINE : KEY_KIND_PASSPHRASE, &r, &e) == -1)
		goto out;
	if (ctx->json) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "id", repo_id(r),
		    "location", loc, "key", repo_key_id(r));
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else if (!ctx->quiet) {
		printf("created repository %.8s at %s\n", repo_id(r), loc);
		if (machine == NULL)
			printf("keep the passphrase safe: without it the data "
			       "cannot be restored\n");
		else
			printf("keep a copy of %s off this machine: without "
			       "it (or another key) the data cannot be "
			       "restored\n",
			    machine);
	}
	rc = EXIT_OK;
out:
	if (rc != EXIT_OK)
		rc = cli_report(ctx, &e);
	repo_close(r);
	secret_free(pw);
	config_free(cfg);
	return (rc);
}
