/*
 * Chunk encoding.  A blob is a 16-byte header then a payload:
 *
 *   0  "MVCK"            magic
 *   4  u8 version        MVC_CHUNK_VERSION
 *   5  u8 encoding       mvc_encoding
 *   6  u8 planes         byte planes (grouped, delta), else 1
 *   7  u8 flags          MVC_CHUNK_ROTATE
 *   8  u64le raw size
 *
 * MVC_ENC_DELTA then has 24 bytes: the base blob's 20-byte id, u8 depth,
 * 3 reserved bytes.  MVC_ENC_GROUPED and MVC_ENC_DELTA then have, for
 * each plane, a 5-byte record {u8 method, u32le stored length}, and the
 * planes' bytes in order.  Method 0 stores a plane as is, method 1 is one
 * zstd frame.  Plane k holds byte k of every element, so the exponent
 * bytes of floats sit together and compress; with MVC_CHUNK_ROTATE each
 * element was first rotated left by one bit, moving the sign bit out of
 * the exponent byte.  A delta's planes hold raw XOR base.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include "internal.h"

#define PLANE_STORED 0
#define PLANE_ZSTD 1
#define MAX_PLANES 8
#define ZSTD_LEVEL 1
/* Planes whose sampled order-0 entropy is above this many bits per byte
 * would not shrink by more than a few per cent: store them without
 * spending zstd time (the low mantissa bytes of trained weights). */
#define SKIP_ENTROPY 7.8

struct mvc_codec {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	unsigned char *planes;    /* grouped raw bytes */
	size_t planes_cap;
	unsigned char *out;       /* encoded output */
	size_t out_cap;
};

int mvc_codec_new(mvc_codec **out)
{
	mvc_codec *c = mvc__calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return MVC_ENOMEM;
	c->cctx = ZSTD_createCCtx();
	c->dctx = ZSTD_createDCtx();
	if (!c->cctx || !c->dctx) {
		mvc_codec_free(c);
		return mvc__err(MVC_ENOMEM, "cannot create zstd contexts");
	}
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
	/* byte planes hold skewed symbols, not repeats: short matches cost
	 * more than they save (exponent plane: 35.8% instead of 38.1%, and
	 * faster) */
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_minMatch, 7);
	/* the chunk header already records sizes; save the bytes */
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 0);
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 0);
	*out = c;
	return 0;
}

void mvc_codec_free(mvc_codec *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	free(c->planes);
	free(c->out);
	free(c);
}

static int reserve(unsigned char **buf, size_t *cap, size_t need)
{
	unsigned char *p;

	/* never leave *buf NULL: an empty chunk still memcpy()s 0 bytes into it */
	if (need <= *cap && *buf)
		return 0;
	if (!need)
		need = 1;
	if (!(p = realloc(*buf, need)))
		return mvc__err(MVC_ENOMEM, "out of memory (%zu bytes)", need);
	*buf = p;
	*cap = need;
	return 0;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_header(unsigned char *h, mvc_encoding enc, unsigned planes, unsigned flags,
                       uint64_t raw)
{
	memcpy(h, MVC_CHUNK_MAGIC, 4);
	h[4] = MVC_CHUNK_VERSION;
	h[5] = (unsigned char)enc;
	h[6] = (unsigned char)planes;
	h[7] = (unsigned char)flags;
	put_u64(h + 8, raw);
}

/*
 * Interleave planes back into elements, rotating right when asked, and
 * either store them or XOR them into `dst` (a delta over its base).
 */
static void ungroup_fused(unsigned char *dst, const unsigned char *const *pp, size_t n,
                          unsigned w, int rot, int xor_into)
{
	size_t count = n / w;

	if (w == 4) {
		for (size_t i = 0; i < count; i++) {
			uint32_t v = (uint32_t)pp[0][i] | (uint32_t)pp[1][i] << 8 |
			             (uint32_t)pp[2][i] << 16 | (uint32_t)pp[3][i] << 24, d = 0;

			if (rot)
				v = v >> 1 | v << 31;
			if (xor_into)
				memcpy(&d, dst + 4 * i, 4);
			v ^= d;
			memcpy(dst + 4 * i, &v, 4);
		}
	} else if (w == 2) {
		for (size_t i = 0; i < count; i++) {
			uint16_t v = (uint16_t)(pp[0][i] | pp[1][i] << 8), d = 0;

			if (rot)
				v = (uint16_t)(v >> 1 | v << 15);
			if (xor_into)
				memcpy(&d, dst + 2 * i, 2);
			v ^= d;
			memcpy(dst + 2 * i, &v, 2);
		}
	} else {
		for (size_t i = 0; i < count; i++) {
			uint64_t v = 0, d = 0;

			for (unsigned k = 0; k < w; k++)
				v |= (uint64_t)pp[k][i] << (8 * k);
			if (rot && w == 8)
				v = v >> 1 | v << 63;
			if (xor_into)
				memcpy(&d, dst + (size_t)w * i, w);
			v ^= d;
			memcpy(dst + (size_t)w * i, &v, w);
		}
	}
}

/*
 * Group `raw` (XORed with `base` when given, rotated when asked) into
 * planes in one pass: the common widths get their own loops.
 */
static void group_fused(unsigned char *dst, const unsigned char *raw, const unsigned char *base,
                        size_t n, unsigned w, int rot)
{
	size_t count = n / w;

	if (w == 4) {
		for (size_t i = 0; i < count; i++) {
			uint32_t v, b = 0;

			memcpy(&v, raw + 4 * i, 4);
			if (base)
				memcpy(&b, base + 4 * i, 4);
			v ^= b;
			if (rot)
				v = v << 1 | v >> 31;
			dst[i] = (unsigned char)v;
			dst[count + i] = (unsigned char)(v >> 8);
			dst[2 * count + i] = (unsigned char)(v >> 16);
			dst[3 * count + i] = (unsigned char)(v >> 24);
		}
	} else if (w == 2) {
		for (size_t i = 0; i < count; i++) {
			uint16_t v, b = 0;

			memcpy(&v, raw + 2 * i, 2);
			if (base)
				memcpy(&b, base + 2 * i, 2);
			v ^= b;
			if (rot)
				v = (uint16_t)(v << 1 | v >> 15);
			dst[i] = (unsigned char)v;
			dst[count + i] = (unsigned char)(v >> 8);
		}
	} else {
		for (size_t i = 0; i < count; i++) {
			uint64_t v = 0, b = 0;

			memcpy(&v, raw + (size_t)w * i, w);
			if (base)
				memcpy(&b, base + (size_t)w * i, w);
			v ^= b;
			if (rot && w == 8)
				v = v << 1 | v >> 63;
			for (unsigned k = 0; k < w; k++)
				dst[k * count + i] = (unsigned char)(v >> (8 * k));
		}
	}
}

/* Would zstd gain anything on this plane?  An order-0 entropy estimate on
 * a sample: cheap next to compressing it. */
static bool worth_compressing(const unsigned char *p, size_t n)
{
	unsigned hist[256] = { 0 };
	size_t step, taken = 0;
	double h = 0;

	if (n < 8192)
		return true;
	step = n / 4096;
	for (size_t i = 0; i < n; i += step, taken++)
		hist[p[i]]++;
	for (int b = 0; b < 256; b++)
		if (hist[b]) {
			double q = (double)hist[b] / (double)taken;
			h -= q * log2(q);
		}
	return h < SKIP_ENTROPY;
}

/* Group `src` into planes and encode them after `pos` bytes of header. */
static int encode_planes(mvc_codec *c, size_t *outlen, size_t pos, const unsigned char *raw,
                         const unsigned char *base, size_t len, unsigned w, unsigned flags)
{
	const unsigned char *src = raw;
	size_t plane_len = len / w, bound = ZSTD_compressBound(plane_len), table = pos;
	int error;

	if (bound < plane_len || bound > UINT32_MAX)
		return mvc__err(MVC_EINVALID, "chunk of %zu bytes is too large", len);
	if ((error = reserve(&c->out, &c->out_cap, pos + 5 * MAX_PLANES + w * bound + len)) < 0)
		return error;
	if (w > 1 || base) {
		if ((error = reserve(&c->planes, &c->planes_cap, len)) < 0)
			return error;
		group_fused(c->planes, raw, base, len, w, (flags & MVC_CHUNK_ROTATE) != 0);
		src = c->planes;
	}
	pos += 5 * (size_t)w;
	for (unsigned k = 0; k < w; k++) {
		unsigned char *rec = c->out + table + 5 * k;
		const unsigned char *plane = src + k * plane_len;
		size_t z = 0;

		if (worth_compressing(plane, plane_len))
			z = ZSTD_compress2(c->cctx, c->out + pos, bound, plane, plane_len);
		if (z && !ZSTD_isError(z) && z < plane_len) {
			rec[0] = PLANE_ZSTD;
			put_u32(rec + 1, (uint32_t)z);
			pos += z;
		} else {
			rec[0] = PLANE_STORED;
			put_u32(rec + 1, (uint32_t)plane_len);
			memcpy(c->out + pos, plane, plane_len);
			pos += plane_len;
		}
	}
	*outlen = pos;
	return 0;
}

static unsigned check_width(unsigned w, size_t len, unsigned *flags)
{
	if (w < 1 || w > MAX_PLANES || len % w != 0 || (w != 2 && w != 4 && w != 8))
		w = 1;
	if (w == 1)
		*flags &= ~(unsigned)MVC_CHUNK_ROTATE;
	return w;
}

int mvc_codec_encode(mvc_codec *c, const unsigned char **out, size_t *outlen,
                     const void *raw, size_t len, unsigned w, unsigned flags)
{
	size_t pos;
	int error;

	flags &= MVC_CHUNK_ROTATE;
	w = check_width(w, len, &flags);
	if ((error = encode_planes(c, &pos, MVC_CHUNK_HEADER_SIZE, raw, NULL, len, w, flags)) < 0)
		return error;
	if (pos >= MVC_CHUNK_HEADER_SIZE + len) {
		/* grouping gained nothing: store the raw bytes */
		if ((error = reserve(&c->out, &c->out_cap, MVC_CHUNK_HEADER_SIZE + len)) < 0)
			return error;
		put_header(c->out, MVC_ENC_RAW, 1, 0, len);
		memcpy(c->out + MVC_CHUNK_HEADER_SIZE, raw, len);
		pos = MVC_CHUNK_HEADER_SIZE + len;
	} else {
		put_header(c->out, MVC_ENC_GROUPED, w, flags, len);
	}
	*out = c->out;
	*outlen = pos;
	return 0;
}

int mvc_codec_encode_delta(mvc_codec *c, const unsigned char **out, size_t *outlen,
                           const void *raw, const void *base, size_t len, unsigned w,
                           unsigned flags, const unsigned char base_id[20], unsigned depth)
{
	size_t pos;
	int error;

	if (depth < 1 || depth > MVC_DELTA_MAX_DEPTH)
		return mvc__err(MVC_EINVALID, "delta depth %u out of range", depth);
	flags &= MVC_CHUNK_ROTATE;
	w = check_width(w, len, &flags);
	if ((error = encode_planes(c, &pos, MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE, raw,
	         base, len, w, flags)) < 0)
		return error;
	put_header(c->out, MVC_ENC_DELTA, w, flags, len);
	memcpy(c->out + MVC_CHUNK_HEADER_SIZE, base_id, 20);
	c->out[MVC_CHUNK_HEADER_SIZE + 20] = (unsigned char)depth;
	memset(c->out + MVC_CHUNK_HEADER_SIZE + 21, 0, 3);
	*out = c->out;
	*outlen = pos;
	return 0;
}

int mvc_codec_encoding(const void *enc, size_t enclen)
{
	const unsigned char *h = enc;

	if (enclen < MVC_CHUNK_HEADER_SIZE || memcmp(h, MVC_CHUNK_MAGIC, 4) != 0)
		return mvc__err(MVC_ECORRUPT, "not an mvc chunk (bad magic)");
	if (h[4] != MVC_CHUNK_VERSION)
		return mvc__err(MVC_EUNSUPPORTED,
		    "chunk format version %u is not supported by this mvc (%s); upgrade mvc",
		    h[4], MVC_VERSION);
	return h[5];
}

int mvc_codec_delta_info(const void *encp, size_t enclen, unsigned char base_id[20],
                         unsigned *depth)
{
	const unsigned char *enc = encp;
	int e = mvc_codec_encoding(enc, enclen);

	if (e < 0)
		return e;
	if (e != MVC_ENC_DELTA)
		return 0;
	if (enclen < MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE)
		return mvc__err(MVC_ECORRUPT, "delta chunk is truncated");
	*depth = enc[MVC_CHUNK_HEADER_SIZE + 20];
	if (*depth < 1 || *depth > MVC_DELTA_MAX_DEPTH)
		return mvc__err(MVC_ECORRUPT, "delta chunk has depth %u (at most %d)", *depth,
		    MVC_DELTA_MAX_DEPTH);
	memcpy(base_id, enc + MVC_CHUNK_HEADER_SIZE, 20);
	return 1;
}

int mvc_codec_decode(mvc_codec *c, void *dstp, size_t expect, const void *encp, size_t enclen)
{
	const unsigned char *enc = encp;
	unsigned char *dst = dstp;
	uint64_t raw;
	unsigned w, flags;
	size_t plane_len, pos;
	int e, error;

	if ((e = mvc_codec_encoding(enc, enclen)) < 0)
		return e;
	raw = get_u64(enc + 8);
	w = enc[6];
	flags = enc[7];
	if (raw != expect)
		return mvc__err(MVC_ECORRUPT, "chunk holds %llu bytes, %zu expected",
		    (unsigned long long)raw, expect);
	if (flags & ~(unsigned)MVC_CHUNK_ROTATE)
		return mvc__err(MVC_EUNSUPPORTED,
		    "chunk flags 0x%02x are not known to this mvc (%s); upgrade mvc", flags, MVC_VERSION);
	switch (e) {
	case MVC_ENC_RAW:
		if (enclen - MVC_CHUNK_HEADER_SIZE != raw || flags)
			return mvc__err(MVC_ECORRUPT, "raw chunk has the wrong length");
		memcpy(dst, enc + MVC_CHUNK_HEADER_SIZE, (size_t)raw);
		return 0;
	case MVC_ENC_GROUPED:
		pos = MVC_CHUNK_HEADER_SIZE;
		break;
	case MVC_ENC_DELTA:
		pos = MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE;
		if (enclen < pos)
			return mvc__err(MVC_ECORRUPT, "delta chunk is truncated");
		break;
	default:
		return mvc__err(MVC_EUNSUPPORTED,
		    "chunk encoding %d is not known to this mvc (%s); upgrade mvc", e, MVC_VERSION);
	}
	if (w < 1 || w > MAX_PLANES || raw % w != 0 || enclen < pos + 5 * (size_t)w ||
	    ((flags & MVC_CHUNK_ROTATE) && w != 2 && w != 4 && w != 8))
		return mvc__err(MVC_ECORRUPT, "chunk has a bad plane table");
	plane_len = (size_t)raw / w;
	/* decode into scratch when anything must happen after ungrouping */
	{
		const unsigned char *table = enc + pos, *pp[MAX_PLANES];
		bool direct = w == 1 && e != MVC_ENC_DELTA;

		if (!direct && (error = reserve(&c->planes, &c->planes_cap, (size_t)raw)) < 0)
			return error;
		pos += 5 * (size_t)w;
		for (unsigned k = 0; k < w; k++) {
			const unsigned char *rec = table + 5 * k;
			size_t stored = get_u32(rec + 1);
			unsigned char *into = direct ? dst : c->planes + k * plane_len;

			if (stored > enclen - pos)
				return mvc__err(MVC_ECORRUPT, "chunk plane %u runs past the end", k);
			if (rec[0] == PLANE_STORED) {
				if (stored != plane_len)
					return mvc__err(MVC_ECORRUPT, "stored plane %u has the wrong length", k);
				/* read stored planes where they lie */
				pp[k] = enc + pos;
				if (direct)
					memcpy(dst, enc + pos, plane_len);
			} else if (rec[0] == PLANE_ZSTD) {
				size_t z = ZSTD_decompressDCtx(c->dctx, into, plane_len, enc + pos, stored);

				if (ZSTD_isError(z) || z != plane_len)
					return mvc__err(MVC_ECORRUPT, "chunk plane %u does not decompress%s%s",
					    k, ZSTD_isError(z) ? ": " : "",
					    ZSTD_isError(z) ? ZSTD_getErrorName(z) : "");
				pp[k] = into;
			} else {
				return mvc__err(MVC_EUNSUPPORTED, "chunk plane method %u is not known",
				    rec[0]);
			}
			pos += stored;
		}
		if (pos != enclen)
			return mvc__err(MVC_ECORRUPT, "chunk has %zu trailing bytes", enclen - pos);
		if (!direct)
			ungroup_fused(dst, pp, (size_t)raw, w, (flags & MVC_CHUNK_ROTATE) != 0,
			    e == MVC_ENC_DELTA);
	}
	return 0;
}
