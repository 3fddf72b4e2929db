/*
 * coffer offsite-setup: print the recipe an off-site host's admin applies
 * so that the backup key can add repository files over SFTP but never
 * remove, replace or rename over them.  Runs nothing, connects nowhere.
 * Why each line is there: doc/OFFSITE.md.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite_s3.h"
#include "opt.h"
#include "url.h"
#include "xmalloc.h"

struct offsite_args {
	const char *key;
};

static const struct opt offsite_opts[] = {
	{ "key", 0, OPT_STR, offsetof(struct offsite_args, key), "FILE", 0, 0,
	    0, NULL },
	OPT_END,
};

static const struct opt_spec offsite_spec = { offsite_opts, NULL };

/* Requests the backup key may not make (valid -P names in OpenSSH 9.2). */
#define OFFSITE_DENIED                                                         \
	"remove,rmdir,posix-rename,setstat,fsetstat,lsetstat,symlink,"         \
	"hardlink,copy-data"

/* Plain enough to go into a shell script and an sshd option unquoted. */
static int
word_ok(const char *s, const char *extra)
{
	if (*s == '\0')
		return (0);
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return (0);
	return (1);
}

/*
 * The URL split by url_parse_sftp (one URL parser), then what the recipe
 * needs on top: a user (it is for one account), a path fit for a shell
 * script unquoted, the port filled in, and an IPv6 host in brackets again.
 */
static int
recipe_url(const char *s, struct url_sftp *u, struct err *e)
{
	size_t len;

	if (url_parse_sftp(s, u, e) == -1) {
		e->class = ERR_USAGE; /* a command-line argument, not config */
		return (-1);
	}
	if (u->user[0] == '\0')
		return (err_set(e, ERR_USAGE,
		    "'%s' names no user: the recipe is for one account "
		    "(sftp://USER@HOST/PATH)",
		    s));
	if (u->port == 0)
		u->port = 22;
	if (strchr(u->host, ':') != NULL) {
		if ((len = strlen(u->host)) + 3 > sizeof(u->host))
			return (err_set(e, ERR_USAGE,
			    "'%s' has a host name that is too long", s));
		memmove(u->host + 1, u->host, len);
		u->host[0] = '[';
		u->host[len + 1] = ']';
		u->host[len + 2] = '\0';
	}
	while ((len = strlen(u->path)) > 1 && u->path[len - 1] == '/')
		u->path[len - 1] = '\0';
	if (!word_ok(u->path, "/._-+") || strcmp(u->path, "/") == 0 ||
	    strstr(u->path, "/.") != NULL)
		return (err_set(e, ERR_USAGE,
		    "'%s': use a path of letters, digits and /._-+ below /, "
		    "with no component starting with '.'",
		    s));
	return (0);
}

/* The first line of a public key file, checked to look like one. */
static int
read_pubkey(const char *file, char **out, struct err *e)
{
	char line[16384];
	FILE *f;

	*out = NULL;
	if ((f = fopen(file, "r")) == NULL)
		return (err_sys(e, ERR_USAGE, "--key %s", file));
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		return (err_set(e, ERR_USAGE, "--key %s: empty", file));
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "ssh-", 4) != 0 && strncmp(line, "ecdsa-", 6) != 0)
		return (err_set(e, ERR_USAGE,
		    "--key %s: not an OpenSSH public key line (give the .pub "
		    "file)",
		    file));
	if (strchr(line, '"') != NULL)
		return (err_set(e, ERR_USAGE, "--key %s: has a '\"'", file));
	*out = xstrdup(line);
	return (0);
}

static void
print_recipe(const struct url_sftp *u, const char *key)
{
	const char *base = strrchr(u->path, '/') + 1;
	int plen = (int)(base - 1 - u->path);
	char *parent =
	    plen > 0 ? xstrndup(u->path, (size_t)plen) : xstrdup("/");

	printf("# Append-only off-site repository for coffer replicate.\n"
	       "# URL: sftp://%s@%s:%d%s\n"
	       "# Run these as root on %s; coffer has run nothing there.  "
	       "Why each\n"
	       "# step is there, and the limits: doc/OFFSITE.md.\n\n",
	    u->user, u->host, u->port, u->path, u->host);
	printf("# --- account ---\n"
	       "# The backup key's account: no shell, a home it cannot "
	       "write.\n"
	       "id %s >/dev/null 2>&1 || useradd --system --user-group "
	       "--home-dir /var/lib/%s \\\n"
	       "    --shell /usr/sbin/nologin %s\n\n",
	    u->user, u->user, u->user);
	printf("# --- layout ---\n"
	       "# The directories, made in advance: the key cannot make "
	       "usable ones\n"
	       "# (its umask makes them read-only) nor remove, rename or "
	       "chmod any.\n"
	       "# The top is sticky and root's: the account may add the "
	       "config file\n"
	       "# there but not rename the directories.  data/ and locks/ "
	       "are closed\n"
	       "# to it: it writes into data/00..ff, and never takes locks "
	       "here.\n"
	       "# gone/, forgotten/ and prune/ belong to the copy's own "
	       "retention (root's,\n"
	       "# below); the account only reads gone/ and forgotten/: "
	       "replicate does not\n"
	       "# send again what they name.\n"
	       "U=%s\n"
	       "G=$(id -gn \"$U\")\n"
	       "R=%s\n"
	       "mkdir -p \"$(dirname \"$R\")\"\n"
	       "install -d -o root -g \"$G\" -m 1770 \"$R\"\n"
	       "for d in keys index snapshots log; do\n"
	       "    install -d -o root -g \"$G\" -m 0770 \"$R/$d\"\n"
	       "done\n"
	       "install -d -o root -g \"$G\" -m 0750 \"$R/data\" "
	       "\"$R/locks\"\n"
	       "install -d -o root -g \"$G\" -m 0750 \"$R/gone\" "
	       "\"$R/forgotten\" \"$R/prune\"\n"
	       "for i in $(seq 0 255); do\n"
	       "    install -d -o root -g \"$G\" -m 0770 \"$R/data/$(printf "
	       "%%02x \"$i\")\"\n"
	       "done\n\n",
	    u->user, u->path);
	printf("# --- authorized_keys ---\n"
	       "# One line in /var/lib/%s/.ssh/authorized_keys (root's, "
	       "0644, in a\n"
	       "# root-owned 0755 directory): the key can only speak SFTP, "
	       "starting\n"
	       "# in the repository; files it makes are read-only (-u 0222); "
	       "removing,\n"
	       "# renaming over (posix-rename), chmod/chown/utimes, links and "
	       "server-side\n"
	       "# copies are refused.  Plain SFTP rename stays allowed: coffer "
	       "publishes\n"
	       "# with it, and OpenSSH's rename never replaces an existing "
	       "name.\n"
	       "install -d -o root -g root -m 0755 /var/lib/%s/.ssh\n"
	       "cat >>/var/lib/%s/.ssh/authorized_keys <<'EOF'\n"
	       "restrict,command=\"internal-sftp -d %s -u 0222 "
	       "-P " OFFSITE_DENIED "\" %s\n"
	       "EOF\n"
	       "chown root:root /var/lib/%s/.ssh/authorized_keys\n"
	       "chmod 0644 /var/lib/%s/.ssh/authorized_keys\n\n",
	    u->user, u->user, u->user, u->path, key, u->user, u->user);
	printf("# --- sshd_config alternative ---\n"
	       "# Instead of command=, for every key of the account and with "
	       "it chrooted\n"
	       "# to %s (that directory and its parents must be root's and "
	       "not\n"
	       "# writable by others).  URLs then name the path inside: "
	       "sftp://%s@%s:%d/%s\n"
	       "# In /etc/ssh/sshd_config, then reload sshd:\n"
	       "#   Match User %s\n"
	       "#       ChrootDirectory %s\n"
	       "#       ForceCommand internal-sftp -d /%s -u 0222 "
	       "-P " OFFSITE_DENIED "\n"
	       "#       AllowTcpForwarding no\n"
	       "#       X11Forwarding no\n"
	       "#       PermitTTY no\n\n",
	    parent, u->user, u->host, u->port, base, u->user, parent, base);
	printf("# --- after the first replicate ---\n"
	       "# config is the one repository file not named by its hash, "
	       "and the\n"
	       "# account owns what it uploads: it could rename config away "
	       "and upload\n"
	       "# another.  Once the first replicate has put it there, make "
	       "it root's;\n"
	       "# the sticky top then stops the account renaming, removing "
	       "or\n"
	       "# replacing it.  Check from the primary with\n"
	       "#   coffer check -r OFFSITE --no-lock --compare-config LOCAL\n"
	       "chown root:root %s/config\n"
	       "chmod 0444 %s/config\n\n",
	    u->path, u->path);
	printf("# --- limits and pruning ---\n"
	       "# - The server's SFTP must keep what coffer's store "
	       "promises:\n"
	       "#   fsync@openssh.com (each file on disk before it is "
	       "named) and\n"
	       "#   statvfs@openssh.com (a full disk named as such); "
	       "OpenSSH's\n"
	       "#   internal-sftp above has both.  coffer check -r OFFSITE "
	       "--no-lock\n"
	       "#   prints a 'store lacks' line for each one missing.\n"
	       "# - The key can fill the disk: give the account a quota or "
	       "its own\n"
	       "#   file system (setquota -u %s 0 500G 0 0 /srv).\n"
	       "# - Temp files (names starting with a dot) of an interrupted "
	       "upload stay "
	       "behind;\n"
	       "#   remove them as root while no replicate runs:\n"
	       "#     find %s -name '.*' -type f -mmin +1440 -delete\n"
	       "# - Reading this copy with the backup key (restore, check, "
	       "snapshots)\n"
	       "#   needs --no-lock: the key cannot write locks/.  coffer "
	       "replicate\n"
	       "#   takes no lock on its target.\n"
	       "# - Pruning is privileged, never done with this key: as root "
	       "on this\n"
	       "#   host on the local path %s, or from an admin's machine "
	       "with\n"
	       "#   another account's unrestricted key.  Not while a "
	       "replicate runs.\n"
	       "#   The copy keeps its own policy, which may be longer than "
	       "the primary's,\n"
	       "#   e.g. daily from root's crontab here, with the "
	       "repository's machine key:\n"
	       "#     coffer forget -r %s --password-file KEY --yes "
	       "\\\n"
	       "#         --keep-daily 30 --keep-monthly 24\n"
	       "#     coffer prune -r %s --password-file KEY --yes\n"
	       "#     find %s -user root -type f ! -perm -g+r -exec chgrp "
	       "\"$(id -gn %s)\" {} + -exec chmod g+r {} +\n"
	       "#   (coffer writes its files 0600: the last line lets the "
	       "backup key read\n"
	       "#   the packs and index files the prune wrote, to restore "
	       "with it).\n"
	       "#   A prune deletes what an earlier one marked at least an "
	       "hour before,\n"
	       "#   so the space comes back on the next day's run.  What the "
	       "copy removed\n"
	       "#   stays away: replicate does not send it again (gone/), "
	       "except packs a\n"
	       "#   later snapshot of the primary may need.\n",
	    u->user, u->path, u->path, u->path, u->path, u->path, u->user);
	free(parent);
}

int
cmd_offsite_setup(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("offsite-setup");
	struct offsite_args a;
	const char *keyfile;
	char *key = NULL;
	struct url_sftp u;
	int rc = EXIT_ERROR;
	struct err e;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	if (opt_parse(ctx, cmd, &offsite_spec, argc, argv, &a, NULL) == -1)
		return (EXIT_USAGE);
	keyfile = a.key;
	if (optind + 1 != argc)
		return (cli_usage_error(cmd,
		    optind == argc ? "give the off-site URL"
		                   : "give one URL only"));
	if (strncmp(argv[optind], "s3://", 5) == 0) {
		if (keyfile != NULL) {
			err_set(&e, ERR_USAGE,
			    "--key is for sftp://: an s3:// bucket's writer is "
			    "a user with keys of its own");
			goto out;
		}
		if (offsite_s3_recipe(argv[optind], stdout, &e) == -1)
			goto out;
		goto flush;
	}
	if (recipe_url(argv[optind], &u, &e) == -1)
		goto out;
	if (keyfile != NULL && read_pubkey(keyfile, &key, &e) == -1)
		goto out;
	print_recipe(&u,
	    key ? key
	        : "ssh-ed25519 AAAA...THE-BACKUP-KEY... "
	          "coffer@primary");
flush:
	if (fflush(stdout) == EOF || ferror(stdout)) {
		err_sys(&e, ERR_IO, "write the recipe");
		goto out;
	}
	rc = EXIT_OK;
out:
	if (rc != EXIT_OK)
		rc = cli_report(ctx, &e);
	free(key);
	return (rc);
}
