/*
 * coffer init: create a repository with its first key.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo_opts.h"

struct init_args {
	const char *repo, *machine;
	int compression;
	uint64_t chunk, pack;
};

#define A(x) offsetof(struct init_args, x)
static const struct opt init_opts[] = {
	CLI_OPT_REPO(struct init_args, repo),
	{ "machine-key", 0, OPT_STR, A(machine), "FILE", 0, 0, 0, NULL },
	{ "compression", 0, OPT_ZSTD, A(compression), "N", 0, 0, 0, NULL },
	{ "chunk-size", 0, OPT_SIZE, A(chunk), "SIZE", 16 << 10, 16 << 20, 0,
	    NULL },
	{ "pack-size", 0, OPT_SIZE, A(pack), "SIZE", 1 << 20, 1 << 30, 0,
	    NULL },
	OPT_END,
};

static const struct opt_spec init_spec = { init_opts, NULL };

int
cmd_init(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("init");
	const struct config_section *sec = NULL;
	struct repo_init_opts o;
	struct stor_opts so;
	struct config *cfg = NULL;
	struct secret *pw = NULL;
	const char *arg, *machine, *loc;
	struct init_args a;
	struct repo *r = NULL;
	struct err e;
	int rc = EXIT_USAGE;

	err_clear(&e);
	memset(&o, 0, sizeof(o));
	memset(&a, 0, sizeof(a));
	if (opt_parse(ctx, cmd, &init_spec, argc, argv, &a, NULL) == -1 ||
	    opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	arg = a.repo;
	machine = a.machine;
	o.compression = a.compression;
	if (a.chunk != 0) {
		o.chunker.avg_size = (uint32_t)a.chunk;
		o.chunker.min_size = (uint32_t)a.chunk / 4;
		o.chunker.max_size = (uint32_t)a.chunk * 4;
		o.chunker.norm_level = 2;
	}
	o.pack_size = (uint32_t)a.pack;
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
	} else if (cli_repo_passphrase(ctx, sec, loc, 1, &pw, &e) == -1)
		goto out;
	o.scrypt = machine ? NULL : cli_scrypt_params();
	cli_key_meta(&o.meta);
	cli_stor_opts(ctx, sec, &so);
	o.actor = ctx->actor;
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
