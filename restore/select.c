/*
 * Choosing what of a snapshot to restore: one of its sources (--source
 * NAME), and the --include paths made relative to that source's subtree.
 * The one place restore, and later drills, make that choice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "restore/restore.h"
#include "xmalloc.h"

int
rst_pick_source(struct repo *r, const struct manifest *m, const char *name,
    const struct manifest_source **srcp, uint8_t root[IDX_ID_LEN],
    struct err *e)
{
	const struct manifest_source *src = manifest_find_source(m, name);
	struct fs_node n;
	char list[256] = "";
	int rc = -1;

	*srcp = NULL;
	if (src == NULL) {
		for (size_t i = 0; i < m->nsources; i++) {
			size_t l = strlen(list);

			snprintf(list + l, sizeof(list) - l, "%s%s",
			    i ? ", " : "", m->sources[i].name);
		}
		if (m->nsources == 0)
			return (err_set(e, ERR_USAGE,
			    "snapshot %.8s has no sources (it is a snapshot of "
			    "paths): leave out --source",
			    m->id));
		return (err_set(e, ERR_USAGE,
		    "snapshot %.8s has no source %s; it has: %s", m->id, name,
		    list));
	}
	if (strcmp(src->status, "ok") != 0 || src->path == NULL) {
		/* The recorded error may hold a program's lines: one line. */
		char why[256];

		snprintf(why, sizeof(why), "%s",
		    src->error ? src->error : "no error recorded");
		for (char *p = why; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		return (err_set(e, ERR_IO,
		    "source %s failed in snapshot %.8s (%s); restore it from "
		    "an earlier snapshot",
		    name, m->id, why));
	}
	if (rst_lookup(r, m->tree, src->path, &n, e) == -1)
		return (err_wrap(e, "source %s", name));
	if (n.type != FS_DIR)
		err_set(e, ERR_CORRUPT, "source %s: %s is not a directory",
		    name, src->path);
	else if (!(n.flags & FS_NODE_HAS_SUBTREE))
		err_set(e, ERR_CORRUPT, "source %s: %s is empty", name,
		    src->path);
	else {
		memcpy(root, n.subtree, IDX_ID_LEN);
		*srcp = src;
		rc = 0;
	}
	fs_node_clear(&n);
	return (rc);
}

int
rst_reroot_includes(const struct manifest_source *src, char **incs, size_t n,
    struct err *e)
{
	size_t plen = strlen(src->path);

	for (size_t i = 0; i < n; i++) {
		char *p = incs[i];

		if (strncmp(p, src->path, plen) != 0 ||
		    (p[plen] != '\0' && p[plen] != '/'))
			return (err_set(e, ERR_USAGE,
			    "--include %s is not in source %s (%s)", p,
			    src->name, src->path));
		incs[i] = xstrdup(p[plen] == '\0' ? "/" : p + plen);
		free(p);
	}
	return (0);
}

int
rst_select(struct repo *r, const struct manifest *m, const char *source,
    char **incs, size_t n, const char *file, int dump,
    struct rst_selection *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->root, m->tree, IDX_ID_LEN);
	if (source != NULL &&
	    (rst_pick_source(r, m, source, &out->src, out->root, e) == -1 ||
	        rst_reroot_includes(out->src, incs, n, e) == -1))
		return (-1);
	if (dump) {
		if (out->src == NULL || out->src->dump == NULL)
			return (err_set(e, ERR_USAGE,
			    "source %s (%s) has no dump file; restore it with "
			    "--target or --tar",
			    source, out->src ? out->src->type : "-"));
		out->file = xstrdup(out->src->dump);
		memcpy(out->root, m->tree, IDX_ID_LEN);
	} else if (file != NULL)
		out->file = xstrdup(file);
	for (size_t i = 0; i < n; i++) {
		struct fs_node node;

		if (strcmp(incs[i], "/") == 0)
			continue;
		if (rst_lookup(r, out->root, incs[i], &node, e) == -1)
			return (-1);
		fs_node_clear(&node);
	}
	return (0);
}

void
rst_selection_clear(struct rst_selection *s)
{
	free(s->file);
	s->file = NULL;
}
