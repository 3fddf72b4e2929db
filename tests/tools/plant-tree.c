/*
 * plant-tree REPO KEYFILE SPEC: what a key holder can write into a
 * repository (issue 16): a snapshot whose trees hold whatever SPEC says,
 * names the tree format refuses included, sealed through the real write
 * path with the machine key in KEYFILE.  Prints the snapshot's id.
 *
 * SPEC, one entry a line ('#' starts a comment), fields split by spaces,
 * names, targets and contents with \xHH escapes (\x2f is '/', \x00 NUL,
 * \x20 a space):
 *   dir NAME [K=V...]            a directory; its entries follow, up to
 *   end
 *   file NAME CONTENT [K=V...]   a regular file (CONTENT "-": empty)
 *   symlink NAME TARGET [K=V...]
 *   chr NAME MAJOR MINOR [K=V...], blk ..., fifo NAME [K=V...]
 * K=V: mode=OCTAL uid=N gid=N mtime=SECONDS nlink=N dev=N ino=N
 * xattr=NAME=VALUE.  A NAME the format refuses ("", ".", "..", holding '/'
 * or NUL) is written as given all the same, by patching the encoded tree;
 * so is one written "=NAME", which may then repeat another's.
 * Exit 0 on success, 1 with a message otherwise.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/node.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "repo/treecodec.h"
#include "xmalloc.h"

#define MAXDEPTH 64
#define MAXNODES 256

struct patch {
	char fake[64], real[64];
	size_t len;
};

struct level {
	struct fs_node nodes[MAXNODES];
	struct patch patches[MAXNODES];
	size_t n, npatches;
};

static struct repo *r;
static struct level lv[MAXDEPTH];
static size_t depth;
static int line_no;

static void
die(const char *what, const struct err *e)
{
	fprintf(stderr, "plant-tree: line %d: %s%s%s\n", line_no, what,
	    e ? ": " : "", e ? e->msg : "");
	exit(1);
}

/* \xHH escapes; *len: the bytes (NUL may be among them). */
static char *
unescape(const char *s, size_t *len)
{
	char *o = xmalloc(strlen(s) + 1);
	size_t n = 0;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] == 'x' &&
		    isxdigit((unsigned char)s[2]) &&
		    isxdigit((unsigned char)s[3])) {
			char h[3] = { s[2], s[3], 0 };

			o[n++] = (char)strtol(h, NULL, 16);
			s += 4;
		} else
			o[n++] = *s++;
	}
	o[n] = '\0';
	*len = n;
	return (o);
}

static void
put_blob(enum idx_blob_type t, const uint8_t *p, size_t n,
    uint8_t id[IDX_ID_LEN])
{
	struct err e;
	int added;

	if (repo_blob_put(r, t, p, n, id, &added, &e) == -1)
		die("put", &e);
}

/* Give n its name: as is when valid, else a placeholder patched later. */
static void
set_name(struct level *l, struct fs_node *n, const char *spec)
{
	static const char pool[] = "#%&+,;=@^~";
	size_t len;
	int force = spec[0] == '=';
	char *raw = unescape(spec + force, &len);
	struct patch *p;

	if (!force && fs_name_valid(raw, len)) {
		n->name = raw;
		return;
	}
	if (len == 0 || len >= sizeof(p->fake) || l->npatches >= 10)
		die("unsupported invalid name", NULL);
	p = &l->patches[l->npatches];
	memset(p->fake, '~', len);
	p->fake[0] = pool[l->npatches];
	p->fake[len] = '\0';
	memcpy(p->real, raw, len);
	p->len = len;
	l->npatches++;
	n->name = xstrndup(p->fake, len);
	free(raw);
}

static void
options(struct fs_node *n, char **tok, int ntok)
{
	for (int i = 0; i < ntok; i++) {
		char *v = strchr(tok[i], '=');

		if (v == NULL)
			die("expected K=V", NULL);
		*v++ = '\0';
		if (strcmp(tok[i], "mode") == 0)
			n->mode = (uint32_t)strtoul(v, NULL, 8);
		else if (strcmp(tok[i], "uid") == 0)
			n->uid = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(tok[i], "gid") == 0)
			n->gid = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(tok[i], "mtime") == 0)
			n->mtime.sec = n->atime.sec = strtoll(v, NULL, 10);
		else if (strcmp(tok[i], "nlink") == 0)
			n->nlink = strtoull(v, NULL, 10);
		else if (strcmp(tok[i], "dev") == 0)
			n->dev = strtoull(v, NULL, 10);
		else if (strcmp(tok[i], "ino") == 0)
			n->ino = strtoull(v, NULL, 10);
		else if (strcmp(tok[i], "xattr") == 0) {
			char *eq = strchr(v, '=');

			if (eq == NULL)
				die("xattr=NAME=VALUE", NULL);
			*eq++ = '\0';
			fs_node_add_xattr(n, v, eq, strlen(eq));
		} else
			die("unknown option", NULL);
	}
}

/* Encode level l's nodes, patch the names, store: the tree's id. */
static void
close_level(struct level *l, uint8_t id[IDX_ID_LEN])
{
	uint8_t *buf;
	size_t len;

	treecodec_encode(l->nodes, l->n, &buf, &len);
	for (size_t i = 0; i < l->npatches; i++) {
		struct patch *p = &l->patches[i];
		uint8_t *at = memmem(buf, len, p->fake, p->len);

		if (at == NULL)
			die("placeholder not found", NULL);
		memcpy(at, p->real, p->len);
	}
	put_blob(IDX_BLOB_TREE, buf, len, id);
	free(buf);
	for (size_t i = 0; i < l->n; i++)
		fs_node_clear(&l->nodes[i]);
	l->n = l->npatches = 0;
}

static struct fs_node *
new_node(const char *name, enum fs_type t)
{
	struct level *l = &lv[depth];
	struct fs_node *n;

	if (l->n == MAXNODES)
		die("too many entries", NULL);
	n = &l->nodes[l->n++];
	memset(n, 0, sizeof(*n));
	n->type = t;
	n->mode = t == FS_DIR ? 0755 : 0644;
	n->mtime.sec = n->atime.sec = n->ctime.sec = 1600000000;
	n->nlink = 1;
	set_name(l, n, name);
	return (n);
}

int
main(int argc, char **argv)
{
	struct manifest m;
	struct err e;
	uint8_t *key, root[IDX_ID_LEN];
	size_t nkey;
	char line[4096];
	FILE *f, *spec;

	if (argc != 4) {
		fprintf(stderr, "usage: plant-tree REPO KEYFILE SPEC\n");
		return (1);
	}
	if ((f = fopen(argv[2], "rb")) == NULL ||
	    (spec = fopen(argv[3], "r")) == NULL) {
		perror("plant-tree");
		return (1);
	}
	key = xmalloc(1024);
	nkey = fread(key, 1, 1024, f);
	fclose(f);
	while (nkey > 0 && (key[nkey - 1] == '\n' || key[nkey - 1] == '\r'))
		nkey--;
	if (repo_open(argv[1], key, nkey, &r, &e) == -1)
		die("open", &e);
	while (fgets(line, sizeof(line), spec) != NULL) {
		char *tok[16], *save = NULL, *t;
		int ntok = 0;
		struct fs_node *n;

		line_no++;
		line[strcspn(line, "\n#")] = '\0';
		for (t = strtok_r(line, " \t", &save); t != NULL && ntok < 16;
		     t = strtok_r(NULL, " \t", &save))
			tok[ntok++] = t;
		if (ntok == 0)
			continue;
		if (strcmp(tok[0], "end") == 0) {
			uint8_t id[IDX_ID_LEN];

			if (depth == 0)
				die("end without dir", NULL);
			close_level(&lv[depth], id);
			depth--;
			n = &lv[depth].nodes[lv[depth].n - 1];
			memcpy(n->subtree, id, IDX_ID_LEN);
			n->flags |= FS_NODE_HAS_SUBTREE;
			continue;
		}
		if (ntok < 2)
			die("expected a name", NULL);
		if (strcmp(tok[0], "dir") == 0) {
			n = new_node(tok[1], FS_DIR);
			options(n, tok + 2, ntok - 2);
			if (++depth == MAXDEPTH)
				die("too deep", NULL);
		} else if (strcmp(tok[0], "file") == 0 && ntok >= 3) {
			size_t len;
			char *data = unescape(tok[2], &len);
			uint8_t id[IDX_ID_LEN];

			n = new_node(tok[1], FS_FILE);
			if (strcmp(data, "-") == 0)
				len = 0;
			if (len > 0) {
				put_blob(IDX_BLOB_DATA, (uint8_t *)data, len,
				    id);
				fs_node_add_chunk(n, id);
			}
			n->size = len;
			free(data);
			options(n, tok + 3, ntok - 3);
		} else if (strcmp(tok[0], "symlink") == 0 && ntok >= 3) {
			size_t len;

			n = new_node(tok[1], FS_SYMLINK);
			n->mode = 0777;
			n->symlink = unescape(tok[2], &len);
			options(n, tok + 3, ntok - 3);
		} else if ((strcmp(tok[0], "chr") == 0 ||
		               strcmp(tok[0], "blk") == 0) &&
		    ntok >= 4) {
			n = new_node(tok[1],
			    tok[0][0] == 'c' ? FS_CHR : FS_BLK);
			n->rdev_major = (uint32_t)strtoul(tok[2], NULL, 10);
			n->rdev_minor = (uint32_t)strtoul(tok[3], NULL, 10);
			options(n, tok + 4, ntok - 4);
		} else if (strcmp(tok[0], "fifo") == 0) {
			n = new_node(tok[1], FS_FIFO);
			options(n, tok + 2, ntok - 2);
		} else
			die("unknown entry", NULL);
	}
	if (depth != 0)
		die("dir without end", NULL);
	close_level(&lv[0], root);
	if (repo_flush(r, &e) == -1)
		die("flush", &e);
	manifest_init(&m);
	clock_gettime(CLOCK_REALTIME, &m.time);
	m.host = xstrdup("plant");
	m.user = xstrdup("plant");
	m.program = xstrdup("plant-tree");
	manifest_add_path(&m, "/planted");
	memcpy(m.tree, root, IDX_ID_LEN);
	if (manifest_save(r, &m, &e) == -1)
		die("manifest", &e);
	printf("%s\n", m.id);
	manifest_clear(&m);
	repo_close(r);
	free(key);
	fclose(spec);
	return (0);
}
