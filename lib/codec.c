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
/* The block of a sparse delta's map. */
#define SPARSE_BLOCK 256

struct mvc_codec {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	unsigned char *planes;    /* grouped raw bytes */
	size_t planes_cap;
	unsigned char *out;       /* encoded output */
	size_t out_cap;
	unsigned char *acc;       /* XOR of a chain's deltas, in plane space */
	size_t acc_cap;
	unsigned char *work;      /* a sparse delta's changed blocks */
	size_t work_cap, work_len;
	unsigned char *map;       /* a sparse delta's block map */
	size_t map_cap;
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
	free(c->acc);
	free(c->work);
	free(c->map);
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

/*
 * XOR `raw` with `base` block by block, keeping only the blocks that
 * differ, packed together in c->work, and their map in c->map.  Returns
 * the number of blocks that differ.
 */
static size_t gather_changed(mvc_codec *c, const unsigned char *raw, const unsigned char *base,
                             size_t len, size_t nblocks)
{
	size_t changed = 0, out = 0;

	memset(c->map, 0, (nblocks + 7) / 8);
	for (size_t b = 0; b < nblocks; b++) {
		size_t off = b * SPARSE_BLOCK, n = len - off < SPARSE_BLOCK ? len - off : SPARSE_BLOCK;
		uint64_t any = 0;

		for (size_t i = 0; i < n; i += 8) {
			uint64_t x = 0, y = 0;
			size_t k = n - i < 8 ? n - i : 8;

			memcpy(&x, raw + off + i, k);
			memcpy(&y, base + off + i, k);
			x ^= y;
			memcpy(c->work + out + i, &x, k);
			any |= x;
		}
		if (any) {
			c->map[b / 8] |= (unsigned char)(1u << (b % 8));
			out += n;
			changed++;
		}
	}
	c->work_len = out;
	return changed;
}

int mvc_codec_encode_delta(mvc_codec *c, const unsigned char **out, size_t *outlen,
                           const void *raw, const void *base, size_t len, unsigned w,
                           unsigned flags, const unsigned char base_id[20], unsigned depth)
{
	size_t head = MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE, pos, nblocks;
	size_t maplen = 0;
	unsigned dflags = 0;
	int error;

	if (depth < 1 || depth > MVC_DELTA_MAX_DEPTH)
		return mvc__err(MVC_EINVALID, "delta depth %u out of range", depth);
	flags &= MVC_CHUNK_ROTATE;
	w = check_width(w, len, &flags);
	nblocks = (len + SPARSE_BLOCK - 1) / SPARSE_BLOCK;
	/*
	 * Retraining touches some rows: keep only the blocks that changed, so
	 * that applying the delta costs in proportion to the change, however
	 * long the chain.  Dense when more than half changed.
	 */
	if (nblocks >= 4 && SPARSE_BLOCK % w == 0) {
		if ((error = reserve(&c->work, &c->work_cap, len)) < 0 ||
		    (error = reserve(&c->map, &c->map_cap, (nblocks + 7) / 8)) < 0)
			return error;
		if (gather_changed(c, raw, base, len, nblocks) * 2 <= nblocks) {
			dflags = MVC_DELTA_SPARSE;
			maplen = (nblocks + 7) / 8;
			head += 4 + maplen;
		}
	}
	if (dflags & MVC_DELTA_SPARSE)
		error = encode_planes(c, &pos, head, c->work, NULL, c->work_len, w, flags);
	else
		error = encode_planes(c, &pos, head, raw, base, len, w, flags);
	if (error < 0)
		return error;
	put_header(c->out, MVC_ENC_DELTA, w, flags, len);
	memcpy(c->out + MVC_CHUNK_HEADER_SIZE, base_id, 20);
	c->out[MVC_CHUNK_HEADER_SIZE + 20] = (unsigned char)depth;
	c->out[MVC_CHUNK_HEADER_SIZE + 21] = (unsigned char)dflags;
	memset(c->out + MVC_CHUNK_HEADER_SIZE + 22, 0, 2);
	if (dflags & MVC_DELTA_SPARSE) {
		put_u32(c->out + MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE, SPARSE_BLOCK);
		memcpy(c->out + MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE + 4, c->map, maplen);
	}
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

/* A parsed chunk: its encoding, and where each plane's bytes are. */
typedef struct parsed {
	int enc;
	unsigned w, flags;
	size_t plane_len;
	const unsigned char *pp[MAX_PLANES];
	const unsigned char *map;   /* sparse delta: which blocks are present */
	size_t block, nblocks;
	size_t data_len;            /* bytes the planes hold */
} parsed;

/*
 * Check a chunk's header and plane table, and make its planes readable:
 * stored planes are used where they lie, zstd planes are decompressed
 * into `scratch` (or, for a single plane of a full chunk, into `dst`).
 * A raw chunk is copied into `dst` at once.
 */
static int parse_chunk(mvc_codec *c, parsed *out, unsigned char *dst, unsigned char *scratch,
                       size_t expect, const unsigned char *enc, size_t enclen)
{
	uint64_t raw;
	size_t pos;
	int e;

	memset(out, 0, sizeof(*out));
	if ((e = mvc_codec_encoding(enc, enclen)) < 0)
		return e;
	raw = get_u64(enc + 8);
	out->enc = e;
	out->w = enc[6];
	out->flags = enc[7];
	if (raw != expect)
		return mvc__err(MVC_ECORRUPT, "chunk holds %llu bytes, %zu expected",
		    (unsigned long long)raw, expect);
	if (out->flags & ~(unsigned)MVC_CHUNK_ROTATE)
		return mvc__err(MVC_EUNSUPPORTED,
		    "chunk flags 0x%02x are not known to this mvc (%s); upgrade mvc", out->flags,
		    MVC_VERSION);
	switch (e) {
	case MVC_ENC_RAW:
		if (enclen - MVC_CHUNK_HEADER_SIZE != raw || out->flags)
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
	if (out->w < 1 || out->w > MAX_PLANES || raw % out->w != 0 ||
	    ((out->flags & MVC_CHUNK_ROTATE) && out->w != 2 && out->w != 4 && out->w != 8))
		return mvc__err(MVC_ECORRUPT, "chunk has a bad plane table");
	out->map = NULL;
	out->data_len = (size_t)raw;
	if (e == MVC_ENC_DELTA) {
		unsigned dflags = enc[MVC_CHUNK_HEADER_SIZE + 21];

		if (dflags & ~(unsigned)MVC_DELTA_SPARSE)
			return mvc__err(MVC_EUNSUPPORTED,
			    "delta flags 0x%02x are not known to this mvc (%s); upgrade mvc", dflags,
			    MVC_VERSION);
		if (dflags & MVC_DELTA_SPARSE) {
			size_t maplen, have = 0;

			if (enclen < pos + 4)
				return mvc__err(MVC_ECORRUPT, "sparse delta is truncated");
			out->block = get_u32(enc + pos);
			if (out->block == 0 || out->block % out->w != 0)
				return mvc__err(MVC_ECORRUPT, "sparse delta has a bad block size");
			out->nblocks = (size_t)(raw / out->block + (raw % out->block != 0));
			maplen = (out->nblocks + 7) / 8;
			if (enclen - pos - 4 < maplen)
				return mvc__err(MVC_ECORRUPT, "sparse delta map is truncated");
			out->map = enc + pos + 4;
			for (size_t b = 0; b < out->nblocks; b++)
				if (out->map[b / 8] >> (b % 8) & 1)
					have += b + 1 < out->nblocks ? out->block
					                             : (size_t)raw - b * out->block;
			out->data_len = have;
			pos += 4 + maplen;
		}
	}
	if (enclen < pos + 5 * (size_t)out->w)
		return mvc__err(MVC_ECORRUPT, "chunk has a bad plane table");
	out->plane_len = out->data_len / out->w;
	{
		const unsigned char *table = enc + pos;
		bool direct = out->w == 1 && e != MVC_ENC_DELTA;

		pos += 5 * (size_t)out->w;
		for (unsigned k = 0; k < out->w; k++) {
			const unsigned char *rec = table + 5 * k;
			size_t stored = get_u32(rec + 1);
			unsigned char *into = direct ? dst : scratch + k * out->plane_len;

			if (stored > enclen - pos)
				return mvc__err(MVC_ECORRUPT, "chunk plane %u runs past the end", k);
			if (rec[0] == PLANE_STORED) {
				if (stored != out->plane_len)
					return mvc__err(MVC_ECORRUPT, "stored plane %u has the wrong length", k);
				out->pp[k] = enc + pos;
				if (direct)
					memcpy(dst, enc + pos, out->plane_len);
			} else if (rec[0] == PLANE_ZSTD) {
				size_t z = ZSTD_decompressDCtx(c->dctx, into, out->plane_len, enc + pos, stored);

				if (ZSTD_isError(z) || z != out->plane_len)
					return mvc__err(MVC_ECORRUPT, "chunk plane %u does not decompress%s%s",
					    k, ZSTD_isError(z) ? ": " : "",
					    ZSTD_isError(z) ? ZSTD_getErrorName(z) : "");
				out->pp[k] = into;
			} else {
				return mvc__err(MVC_EUNSUPPORTED, "chunk plane method %u is not known",
				    rec[0]);
			}
			pos += stored;
		}
		if (pos != enclen)
			return mvc__err(MVC_ECORRUPT, "chunk has %zu trailing bytes", enclen - pos);
	}
	return 0;
}

static void xor_into(unsigned char *dst, const unsigned char *src, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t a, b;

		memcpy(&a, dst + i, 8);
		memcpy(&b, src + i, 8);
		a ^= b;
		memcpy(dst + i, &a, 8);
	}
	for (; i < n; i++)
		dst[i] ^= src[i];
}

int mvc_codec_decode(mvc_codec *c, void *dstp, size_t expect, const void *encp, size_t enclen)
{
	unsigned char *dst = dstp;
	parsed p;
	int error;

	if ((error = reserve(&c->planes, &c->planes_cap, expect ? expect : 1)) < 0 ||
	    (error = parse_chunk(c, &p, dst, c->planes, expect, encp, enclen)) < 0)
		return error;
	if (p.map) {
		/* rebuild the changed blocks, then XOR each where it belongs */
		const unsigned char *src;
		size_t in = 0;

		if ((error = reserve(&c->work, &c->work_cap, p.data_len ? p.data_len : 1)) < 0)
			return error;
		ungroup_fused(c->work, p.pp, p.data_len, p.w, (p.flags & MVC_CHUNK_ROTATE) != 0, 0);
		src = c->work;
		for (size_t b = 0; b < p.nblocks; b++) {
			size_t off = b * p.block, n = expect - off < p.block ? expect - off : p.block;

			if (!(p.map[b / 8] >> (b % 8) & 1))
				continue;
			xor_into(dst + off, src + in, n);
			in += n;
		}
		return 0;
	}
	if (p.enc != MVC_ENC_RAW && !(p.w == 1 && p.enc != MVC_ENC_DELTA))
		ungroup_fused(dst, p.pp, expect, p.w, (p.flags & MVC_CHUNK_ROTATE) != 0,
		    p.enc == MVC_ENC_DELTA);
	return 0;
}

int mvc_codec_decode_chain(mvc_codec *c, void *dstp, size_t expect, const void *const *encs,
                           const size_t *enclens, size_t n)
{
	unsigned char *dst = dstp;
	unsigned w = 0, flags = 0;
	const unsigned char *pp[MAX_PLANES];
	int error;

	if (!n)
		return mvc__err(MVC_EINVALID, "empty chain");
	if ((error = mvc_codec_decode(c, dst, expect, encs[0], enclens[0])) < 0)
		return error;
	if (n == 1)
		return 0;
	/*
	 * Grouping and rotation are linear over XOR: when every delta of the
	 * chain has the same planes, XOR them together in plane space and
	 * ungroup once, instead of once per delta.
	 */
	for (size_t i = 1; i < n; i++) {
		const unsigned char *h = encs[i];

		if (enclens[i] < MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE ||
		    (i > 1 && (h[6] != w || h[7] != flags)) ||
		    (h[MVC_CHUNK_HEADER_SIZE + 21] & MVC_DELTA_SPARSE))
			goto one_by_one;
		w = h[6];
		flags = h[7];
	}
	if ((error = reserve(&c->acc, &c->acc_cap, expect ? expect : 1)) < 0 ||
	    (error = reserve(&c->planes, &c->planes_cap, expect ? expect : 1)) < 0)
		return error;
	for (size_t i = 1; i < n; i++) {
		parsed p;

		/* the first delta decompresses straight into the accumulator */
		if ((error = parse_chunk(c, &p, dst, i == 1 ? c->acc : c->planes, expect, encs[i],
		         enclens[i])) < 0)
			return error;
		if (p.enc != MVC_ENC_DELTA)
			return mvc__err(MVC_ECORRUPT, "a chunk in the middle of a delta chain is full");
		for (unsigned k = 0; k < p.w; k++) {
			unsigned char *a = c->acc + k * p.plane_len;

			if (i == 1) {
				if (p.pp[k] != a)
					memcpy(a, p.pp[k], p.plane_len);
			} else {
				xor_into(a, p.pp[k], p.plane_len);
			}
		}
	}
	for (unsigned k = 0; k < w; k++)
		pp[k] = c->acc + k * (expect / w);
	ungroup_fused(dst, pp, expect, w, (flags & MVC_CHUNK_ROTATE) != 0, 1);
	return 0;
one_by_one:
	for (size_t i = 1; i < n; i++)
		if ((error = mvc_codec_decode(c, dst, expect, encs[i], enclens[i])) < 0)
			return error;
	return 0;
}
