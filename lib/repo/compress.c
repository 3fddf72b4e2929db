/*
 * zstd behind coffer's blob rules: one frame or raw, and a hard bound on
 * what decompression may produce.  Contexts are created once per thread;
 * a fresh ZSTD_CCtx per blob would cost more than compressing a small one.
 */
#include "compress.h"

#include <errno.h>
#include <stdlib.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "xmalloc.h"

struct compress {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	int level;
};

int
compress_level_parse(const char *s, int *level, struct err *e)
{
	char *end;
	long v;

	/* strtol would skip white space: refuse it, as the config does. */
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || (*s != '-' && (*s < '0' || *s > '9')) ||
	    *end != '\0' || v < COMPRESS_LEVEL_MIN || v > COMPRESS_LEVEL_MAX)
		return (
		    err_set(e, ERR_USAGE, "'%s' is not a zstd level (%d-%d)", s,
		        COMPRESS_LEVEL_MIN, COMPRESS_LEVEL_MAX));
	*level = (int)v;
	return (0);
}

static int
level_check(int *level, struct err *e)
{
	if (*level == 0)
		*level = COMPRESS_LEVEL_DEFAULT;
	if (*level < ZSTD_minCLevel() || *level > COMPRESS_LEVEL_MAX)
		return (err_set(e, ERR_USAGE,
		    "compression level %d: choose from %d to %d", *level,
		    ZSTD_minCLevel(), COMPRESS_LEVEL_MAX));
	return (0);
}

int
compress_set_level(struct compress *c, int level, struct err *e)
{
	if (level_check(&level, e) == -1)
		return (-1);
	if (level == c->level)
		return (0);
	if (ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx,
	        ZSTD_c_compressionLevel, level)))
		return (err_set(e, ERR_INTERNAL, /* GCOVR_EXCL_LINE */
		    "zstd: cannot set level %d", level));
	c->level = level;
	return (0);
}

struct compress *
compress_new(int level, struct err *e)
{
	struct compress *c;

	if (level_check(&level, e) == -1)
		return (NULL);
	c = xcalloc(1, sizeof(*c));
	c->level = level;
	if ((c->cctx = ZSTD_createCCtx()) == NULL ||
	    (c->dctx = ZSTD_createDCtx()) == NULL ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx,
	        ZSTD_c_compressionLevel, level)) ||
	    /* The format wants the content size in every frame; integrity
	     * is the AEAD's job, so no checksum. */
	    ZSTD_isError(
	        ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 1)) ||
	    ZSTD_isError(
	        ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 0))) {
		/* GCOVR_EXCL_START: zstd sets up unless memory is gone */
		err_set(e, ERR_INTERNAL, "zstd: cannot set up contexts");
		compress_free(c);
		return (NULL);
		/* GCOVR_EXCL_STOP */
	}
	return (c);
}

void
compress_free(struct compress *c)
{
	if (c == NULL)
		return;
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	free(c);
}

int
compress_encode(struct compress *c, const void *src, size_t n, void *dst,
    size_t *outlen, enum compress_method *method, struct err *e)
{
	size_t r;

	*outlen = 0;
	*method = COMPRESS_RAW;
	if (n == 0)
		return (0);
	/* Room for n - 1 bytes: zstd stops with dstSize_tooSmall exactly
	 * when the frame would not be smaller than the data. */
	r = ZSTD_compress2(c->cctx, dst, n - 1, src, n);
	if (ZSTD_isError(r)) {
		if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
			return (0);
		/* GCOVR_EXCL_START: zstd fails only without memory */
		return (err_set(e, ERR_INTERNAL, "zstd compression: %s",
		    ZSTD_getErrorName(r)));
		/* GCOVR_EXCL_STOP */
	}
	*outlen = r;
	*method = COMPRESS_ZSTD;
	return (0);
}

/*
 * Check that src is one whole zstd frame and nothing else, and get the
 * content size it declares (ZSTD_CONTENTSIZE_UNKNOWN when it does not).
 */
static int
frame_check(const void *src, size_t n, unsigned long long *declared,
    struct err *e)
{
	const unsigned char *p = src;
	unsigned long magic;
	size_t fsize;

	if (n < 4)
		return (err_set(e, ERR_CORRUPT,
		    "compressed blob of %zu bytes is too short", n));
	magic = (unsigned long)p[0] | (unsigned long)p[1] << 8 |
	    (unsigned long)p[2] << 16 | (unsigned long)p[3] << 24;
	if (magic != ZSTD_MAGICNUMBER)
		return (err_set(e, ERR_CORRUPT,
		    "compressed blob is not a zstd frame"));
	fsize = ZSTD_findFrameCompressedSize(src, n);
	if (ZSTD_isError(fsize))
		return (err_set(e, ERR_CORRUPT, "damaged zstd frame: %s",
		    ZSTD_getErrorName(fsize)));
	if (fsize != n)
		return (err_set(e, ERR_CORRUPT,
		    "%zu bytes after the zstd frame", n - fsize));
	*declared = ZSTD_getFrameContentSize(src, n);
	/* GCOVR_EXCL_START: cannot fail once the frame's size was found */
	if (*declared == ZSTD_CONTENTSIZE_ERROR)
		return (err_set(e, ERR_CORRUPT, "damaged zstd frame header"));
	/* GCOVR_EXCL_STOP */
	return (0);
}

/* Decompress a checked frame into cap bytes at dst. */
static int
frame_decode(struct compress *c, const void *src, size_t n, void *dst,
    size_t cap, size_t *outlen, struct err *e)
{
	size_t r;

	r = ZSTD_decompressDCtx(c->dctx, dst, cap, src, n);
	if (ZSTD_isError(r)) {
		if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
			return (err_set(e, ERR_CORRUPT,
			    "zstd frame decompresses to more than %zu bytes",
			    cap));
		return (err_set(e, ERR_CORRUPT, "damaged zstd frame: %s",
		    ZSTD_getErrorName(r)));
	}
	*outlen = r;
	return (0);
}

int
compress_decode(struct compress *c, const void *src, size_t n, void *dst,
    size_t cap, size_t *outlen, struct err *e)
{
	unsigned long long declared;

	*outlen = 0;
	if (frame_check(src, n, &declared, e) == -1)
		return (-1);
	if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > cap)
		return (err_set(e, ERR_CORRUPT,
		    "zstd frame declares %llu bytes, more than the %zu allowed",
		    declared, cap));
	return (frame_decode(c, src, n, dst, cap, outlen, e));
}

int
compress_decode_alloc(struct compress *c, const void *src, size_t n,
    size_t bound, uint8_t **out, size_t *outlen, struct err *e)
{
	unsigned long long declared;
	uint8_t *buf = NULL;
	size_t cap;

	*out = NULL;
	*outlen = 0;
	if (frame_check(src, n, &declared, e) == -1)
		return (-1);
	if (declared == ZSTD_CONTENTSIZE_UNKNOWN)
		cap = bound;
	else if (declared > bound)
		return (err_set(e, ERR_CORRUPT,
		    "zstd frame declares %llu bytes, more than the %zu allowed",
		    declared, bound));
	else
		cap = (size_t)declared;
	buf = xmalloc(cap);
	if (frame_decode(c, src, n, buf, cap, outlen, e) == -1) {
		free(buf);
		return (-1);
	}
	if (*outlen < cap)
		buf = xreallocarray(buf, *outlen, 1);
	*out = buf;
	return (0);
}

int
compress_declared(const void *src, size_t n, uint64_t *declared, struct err *e)
{
	unsigned long long d;

	*declared = COMPRESS_UNDECLARED;
	if (frame_check(src, n, &d, e) == -1)
		return (-1);
	if (d != ZSTD_CONTENTSIZE_UNKNOWN)
		*declared = (uint64_t)d;
	return (0);
}

const char *
compress_version(void)
{
	return (ZSTD_versionString());
}
