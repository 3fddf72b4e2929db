/*
 * coffer key add | list | remove ID | passwd: the repository's key files.
 * Each passphrase or machine key is one key file wrapping the same master
 * key, so these touch keys/ only.  No change may leave the repository
 * without a key that opens it.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "repo/oplog.h"
#include "repo_opts.h"

struct key_args {
	const char *repo;
	const char *machine;  /* --machine-key */
	const char *new_file; /* --new-password-file */
};

#define A(x) offsetof(struct key_args, x)
static const struct opt key_opts[] = {
	CLI_OPT_REPO(struct key_args, repo),
	{ "machine-key", 0, OPT_STR, A(machine), "FILE", 0, 0, 0, NULL },
	{ "new-password-file", 0, OPT_STR, A(new_file), "FILE", 0, 0, 0, NULL },
	OPT_END,
};

static const struct opt_rel key_rels[] = {
	{ OPT_EXCLUDES, "machine-key", "new-password-file", NULL },
	OPT_REL_END,
};

static const struct opt_spec key_spec = { key_opts, key_rels };

static const char *
kind_name(enum key_kind k)
{
	return (k == KEY_KIND_MACHINE ? "machine" : "passphrase");
}

/* The secret for a new key file: a machine key, or a new passphrase. */
static int
new_secret(const struct key_args *a, struct secret **out, enum key_kind *kind,
    struct err *e)
{
	struct pass_opts po;

	memset(&po, 0, sizeof(po));
	if (a->machine != NULL) {
		/* Made here unless it exists, as by init. */
		if (access(a->machine, F_OK) == -1 && errno == ENOENT &&
		    pass_generate_machine_key(a->machine, e) == -1)
			return (-1);
		*kind = KEY_KIND_MACHINE;
		po.password_file = a->machine;
		return (pass_get(&po, "machine key", 0, out, e));
	}
	*kind = KEY_KIND_PASSPHRASE;
	/* Never the environment's file: that is the current passphrase. */
	po.password_file = a->new_file;
	po.allow_prompt = 1;
	if (pass_get(&po, "new passphrase", 1, out, e) == -1) {
		if (err_has(e, ERR_F_NOSECRET))
			err_set(e, ERR_USAGE,
			    "no new passphrase: give --new-password-file FILE "
			    "(or --machine-key FILE), or run on a terminal");
		return (-1);
	}
	return (0);
}

static void
print_time(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
}

static int
key_list(struct cli_ctx *ctx, struct repo *r, struct err *e)
{
	struct repo_key_entry *v;
	char when[32];
	size_t n;
	json_t *arr;

	if (repo_key_list(r, &v, &n, e) == -1)
		return (-1);
	if (ctx->json) {
		arr = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_pack("{s:s, s:b}", "id", v[i].id,
			    "current", v[i].current);

			if (v[i].damaged)
				json_object_set_new(o, "damaged",
				    json_string(v[i].err.msg));
			else {
				json_object_set_new(o, "kind",
				    json_string(kind_name(v[i].info.kind)));
				json_object_set_new(o, "created",
				    json_integer(v[i].info.created));
				json_object_set_new(o, "host",
				    json_string(v[i].info.host));
				json_object_set_new(o, "user",
				    json_string(v[i].info.user));
			}
			json_array_append_new(arr, o);
		}
		json_dumpf(arr, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(arr);
	} else {
		printf("  %-8s  %-10s  %-19s  %-16s  %s\n", "ID", "KIND",
		    "CREATED (UTC)", "HOST", "USER");
		for (size_t i = 0; i < n; i++) {
			if (v[i].damaged) {
				printf("%c %.8s  %-10s  %s\n",
				    v[i].current ? '*' : ' ', v[i].id,
				    "damaged", v[i].err.msg);
				continue;
			}
			print_time(when, sizeof(when), v[i].info.created);
			printf("%c %.8s  %-10s  %-19s  %-16s  %s\n",
			    v[i].current ? '*' : ' ', v[i].id,
			    kind_name(v[i].info.kind), when, v[i].info.host,
			    v[i].info.user);
		}
	}
	free(v);
	return (0);
}

/* Write a key file for a new secret (not the one in use); its id in id. */
static int
add_key(struct repo *r, const struct secret *cur, const struct key_args *a,
    struct secret **ns, enum key_kind *kind, char id[REPO_HEX_LEN + 1],
    struct err *e)
{
	struct key_file_meta meta;

	if (new_secret(a, ns, kind, e) == -1)
		return (-1);
	if (secret_equal(cur, *ns))
		return (err_set(e, ERR_USAGE,
		    "that %s already opens the repository: it is the one "
		    "given to open it",
		    *kind == KEY_KIND_MACHINE ? "machine key" : "passphrase"));
	cli_key_meta(&meta);
	return (repo_key_add(r, secret_data(*ns), secret_len(*ns), *kind,
	    *kind == KEY_KIND_MACHINE ? NULL : cli_scrypt_params(), &meta, id,
	    e));
}

/* The operations log's record of a passwd: both key ids when it worked. */
static void
record_passwd(struct repo *r, const char *newid, const char *oldid,
    const struct err *failure)
{
	const char *ids[] = { newid, oldid };
	struct oplog_entry ent;

	memset(&ent, 0, sizeof(ent));
	ent.op = OPLOG_KEY_PASSWD;
	ent.failure = failure;
	ent.keys = ids;
	ent.nkeys = failure == NULL ? 2 : 0;
	oplog_record(r, &ent);
}

/*
 * The new key must open the repository by itself before the old one
 * goes: open it afresh with the new secret, and remove the old key file
 * through that opening (a repository never removes the key it was opened
 * with).  Should that fail, the new key file is taken back.
 */
static int
passwd(struct cli_ctx *ctx, struct repo *r, const char *loc,
    const struct stor_opts *so, const struct secret *cur,
    const struct key_args *a, struct err *e)
{
	struct secret *ns = NULL;
	struct repo *r2 = NULL;
	enum key_kind kind;
	char newid[REPO_HEX_LEN + 1], oldid[REPO_HEX_LEN + 1];
	struct err ue;
	int rc = -1;

	snprintf(oldid, sizeof(oldid), "%s", repo_key_id(r));
	if (add_key(r, cur, a, &ns, &kind, newid, e) == -1)
		goto out;
	/* No lock of its own: r holds the exclusive one for both. */
	if (repo_open_opts(loc, so, secret_data(ns), secret_len(ns),
	        REPO_OPEN_SKIP_BAD_INDEX | REPO_OPEN_KEY_HINT, REPO_LOCK_NONE,
	        NULL, &r2, e) == -1 ||
	    strcmp(repo_key_id(r2), oldid) == 0) {
		if (r2 != NULL)
			err_set(e, ERR_INTERNAL,
			    "the new key opened the old key file");
		err_wrap(e, "the new key does not open the repository");
		if (repo_key_remove(r, newid, NULL, &ue) == -1)
			err_wrap(e,
			    "and removing its key file keys/%s failed "
			    "(%s)",
			    newid, ue.msg);
		goto out;
	}
	if (repo_key_remove(r2, oldid, NULL, e) == -1) {
		err_wrap(e,
		    "added key %.8s, but could not remove the old key %.8s "
		    "(both open the repository now)",
		    newid, oldid);
		goto out;
	}
	if (ctx->json)
		printf(
		    "{\"added\":\"%s\",\"removed\":\"%s\",\"kind\":\"%s\"}\n",
		    newid, oldid, kind_name(kind));
	else if (!ctx->quiet)
		printf("added key %.8s (%s) and removed key %.8s: the old "
		       "secret no longer opens the repository\n",
		    newid, kind_name(kind), oldid);
	rc = 0;
out:
	record_passwd(r, newid, oldid, rc == -1 ? e : NULL);
	repo_close(r2);
	secret_free(ns);
	return (rc);
}

int
cmd_key(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("key");
	const struct config_section *sec = NULL;
	struct config *cfg = NULL;
	struct secret *pw = NULL, *ns = NULL;
	struct repo *r = NULL;
	struct lock_opts lo;
	struct stor_opts so;
	struct key_args a;
	const char *sub, *loc;
	enum key_kind kind;
	char id[REPO_HEX_LEN + 1];
	struct err e;
	int nargs, rc = EXIT_USAGE;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	if (opt_parse(ctx, cmd, &key_spec, argc, argv, &a, NULL) == -1)
		return (EXIT_USAGE);
	if (optind == argc)
		return (cli_usage_error(cmd,
		    "say what to do: add, list, remove ID or passwd"));
	sub = argv[optind++];
	nargs = strcmp(sub, "remove") == 0;
	if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 &&
	    strcmp(sub, "remove") != 0 && strcmp(sub, "passwd") != 0)
		return (cli_usage_error(cmd,
		    "no key command '%s' (add, list, remove ID, passwd)", sub));
	if (argc - optind != nargs)
		return (cli_usage_error(cmd,
		    nargs ? "key remove takes one key id"
		          : "unexpected argument '%s'",
		    argv[optind]));
	if ((a.machine != NULL || a.new_file != NULL) &&
	    strcmp(sub, "add") != 0 && strcmp(sub, "passwd") != 0)
		return (cli_usage_error(cmd,
		    "--machine-key and --new-password-file go with add and "
		    "passwd"));

	rc = EXIT_ERROR;
	if (cli_load_config(ctx, &cfg, &e) == -1 ||
	    cli_resolve_repo(a.repo, cfg, &loc, &sec, &e) == -1 ||
	    cli_repo_passphrase(ctx, sec, loc, 0, &pw, &e) == -1)
		goto out;
	/*
	 * Key changes exclude everything else; a listing is shared.  Keys
	 * matter more than any index: open even with a damaged one.
	 */
	ctx->lock =
	    strcmp(sub, "list") == 0 ? CLI_LOCK_SHARED : CLI_LOCK_EXCLUSIVE;
	cli_lock_opts(ctx, &lo);
	cli_stor_opts(ctx, sec, &so);
	if (repo_open_opts(loc, &so, secret_data(pw), secret_len(pw),
	        REPO_OPEN_SKIP_BAD_INDEX | REPO_OPEN_KEY_HINT,
	        cli_lock_mode(ctx), &lo, &r, &e) == -1)
		goto out;
	repo_set_actor(r, ctx->actor);
	if (strcmp(sub, "list") == 0) {
		if (key_list(ctx, r, &e) == -1)
			goto out;
	} else if (strcmp(sub, "add") == 0) {
		if (add_key(r, pw, &a, &ns, &kind, id, &e) == -1)
			goto out;
		if (ctx->json)
			printf("{\"added\":\"%s\",\"kind\":\"%s\"}\n", id,
			    kind_name(kind));
		else if (!ctx->quiet)
			printf("added key %.8s (%s)\n", id, kind_name(kind));
	} else if (strcmp(sub, "remove") == 0) {
		if (repo_key_remove(r, argv[optind], id, &e) == -1)
			goto out;
		if (ctx->json)
			printf("{\"removed\":\"%s\"}\n", id);
		else if (!ctx->quiet)
			printf("removed key %.8s\n", id);
	} else if (passwd(ctx, r, loc, &so, pw, &a, &e) == -1)
		goto out;
	rc = EXIT_OK;
out:
	/* passwd records itself, with both key ids. */
	if (r != NULL &&
	    (strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0))
		oplog_record_key(r,
		    strcmp(sub, "add") == 0 ? OPLOG_KEY_ADD : OPLOG_KEY_REMOVE,
		    rc == EXIT_OK ? id : NULL, rc == EXIT_OK ? NULL : &e);
	if (rc != EXIT_OK)
		rc = cli_report(ctx, &e);
	repo_close(r);
	secret_free(ns);
	secret_free(pw);
	config_free(cfg);
	return (rc);
}
