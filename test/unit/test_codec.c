/*
 * Chunk encoding (lib/codec.c): round trips of every plane width, the
 * choice between raw and byte-grouped storage, and a decoder that refuses
 * every malformed or unknown blob instead of guessing.
 */
#include "unit.h"
#include "mvc.h"

typedef struct {
	mvc_codec *codec;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	if (!f || mvc_codec_new(&f->codec) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	mvc_codec_free(f->codec);
	free(f);
	return 0;
}

static uint64_t get_u64le(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get_u32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32le(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Encode, check the header fields, decode into a fresh buffer, compare.
 * Returns a malloc'ed copy of the encoded bytes. */
static unsigned char *roundtrip(mvc_codec *c, const void *raw, size_t len, unsigned w,
                                unsigned flags, size_t *enclen)
{
	const unsigned char *enc = NULL;
	unsigned char *copy, *back;
	int tag;

	assert_ok(mvc_codec_encode(c, &enc, enclen, raw, len, w, flags));
	assert_true(*enclen >= MVC_CHUNK_HEADER_SIZE);
	assert_memory_equal(enc, MVC_CHUNK_MAGIC, 4);
	assert_int_equal(enc[4], MVC_CHUNK_VERSION);
	/* only known flags, and rotation only of multi-byte elements */
	assert_int_equal(enc[7] & ~MVC_CHUNK_ROTATE, 0);
	if (enc[7])
		assert_true(enc[6] == 2 || enc[6] == 4 || enc[6] == 8);
	assert_int_equal(get_u64le(enc + 8), len);
	tag = mvc_codec_encoding(enc, *enclen);
	assert_true(tag == MVC_ENC_RAW || tag == MVC_ENC_GROUPED);
	if (tag == MVC_ENC_RAW) {
		assert_int_equal(*enclen, MVC_CHUNK_HEADER_SIZE + len);
		assert_int_equal(enc[6], 1);
		assert_int_equal(enc[7], 0);
		assert_memory_equal(enc + MVC_CHUNK_HEADER_SIZE, raw, len);
	} else {
		/* never bigger than storing the bytes raw */
		assert_true(*enclen < MVC_CHUNK_HEADER_SIZE + len);
	}
	copy = malloc(*enclen + 1);
	back = malloc(len + 1);
	assert_non_null(copy);
	assert_non_null(back);
	memcpy(copy, enc, *enclen);
	memset(back, 0xa5, len + 1);
	assert_ok(mvc_codec_decode(c, back, len, copy, *enclen));
	assert_memory_equal(back, raw, len);
	assert_int_equal(back[len], 0xa5); /* nothing written past `expect` */
	free(back);
	return copy;
}

static void test_random_roundtrip(void **state)
{
	fx *f = *state;
	static const unsigned widths[] = { 1, 2, 3, 4, 8 };
	static const size_t sizes[] = { 1, 2, 3, 7, 8, 9, 63, 64, 1000, 4096, 65537 };

	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++)
		for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++)
			for (unsigned flags = 0; flags <= MVC_CHUNK_ROTATE; flags++) {
				unsigned char *raw = malloc(sizes[j]), *enc;
				size_t enclen;

				rnd_fill(raw, sizes[j], i * 100 + j);
				enc = roundtrip(f->codec, raw, sizes[j], widths[i], flags, &enclen);
				/* random bytes do not compress: stored raw */
				assert_int_equal(mvc_codec_encoding(enc, enclen), MVC_ENC_RAW);
				free(enc);
				free(raw);
			}
}

/* Trained weights: the sign/exponent bytes repeat, so grouping the bytes
 * of each element into planes makes them compress. */
static void test_floats_grouped(void **state)
{
	fx *f = *state;
	size_t n = 16384, plain_len, rot_len;
	float *w = malloc(n * sizeof(float));
	unsigned char *plain, *rot;

	weights_fill(w, n, 7);
	plain = roundtrip(f->codec, w, n * sizeof(float), 4, 0, &plain_len);
	assert_int_equal(mvc_codec_encoding(plain, plain_len), MVC_ENC_GROUPED);
	assert_int_equal(plain[6], 4);
	assert_int_equal(plain[7], 0);
	assert_true(plain_len < n * sizeof(float) * 9 / 10);
	/* the plane table accounts for every byte after it */
	{
		size_t pos = MVC_CHUNK_HEADER_SIZE + 5 * 4;

		for (int k = 0; k < 4; k++) {
			const unsigned char *rec = plain + MVC_CHUNK_HEADER_SIZE + 5 * k;

			assert_true(rec[0] == 0 || rec[0] == 1);
			if (rec[0] == 0)
				assert_int_equal(get_u32le(rec + 1), n);
			pos += get_u32le(rec + 1);
		}
		assert_int_equal(pos, plain_len);
		/* the top byte (sign and exponent) of small weights compresses;
		 * the lowest mantissa byte is noise and is stored */
		assert_int_equal(plain[MVC_CHUNK_HEADER_SIZE + 5 * 3], 1);
		assert_int_equal(plain[MVC_CHUNK_HEADER_SIZE], 0);
	}
	/* rotated, the sign bit leaves the exponent byte: smaller still */
	rot = roundtrip(f->codec, w, n * sizeof(float), 4, MVC_CHUNK_ROTATE, &rot_len);
	assert_int_equal(mvc_codec_encoding(rot, rot_len), MVC_ENC_GROUPED);
	assert_int_equal(rot[7], MVC_CHUNK_ROTATE);
	assert_true(rot_len < plain_len);
	free(plain);
	free(rot);
	free(w);
}

/* Structured data of each width: element k holds k, so every plane is
 * regular and compresses.  Planes are 2, 4 or 8 bytes wide, else 1. */
static void test_structured_widths(void **state)
{
	fx *f = *state;
	static const struct { unsigned w, planes; } cases[] = {
		{ 1, 1 }, { 2, 2 }, { 4, 4 }, { 8, 8 }, { 3, 1 }, { 5, 1 }, { 6, 1 }, { 7, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (unsigned flags = 0; flags <= MVC_CHUNK_ROTATE; flags++) {
			unsigned w = cases[i].w;
			size_t count = 3000, len = count * w, enclen;
			unsigned char *raw = malloc(len), *enc;

			for (size_t e = 0; e < count; e++)
				for (unsigned k = 0; k < w; k++)
					raw[e * w + k] = (unsigned char)(k == 0 ? e : k == w - 1 ? 0x3f : e >> 8);
			enc = roundtrip(f->codec, raw, len, w, flags, &enclen);
			assert_int_equal(mvc_codec_encoding(enc, enclen), MVC_ENC_GROUPED);
			assert_int_equal(enc[6], cases[i].planes);
			assert_int_equal(enc[7], cases[i].planes > 1 ? flags : 0);
			free(enc);
			free(raw);
		}
}

/* A length that is not a multiple of the width is coded as one plane,
 * and not rotated. */
static void test_odd_sizes(void **state)
{
	fx *f = *state;
	static const unsigned widths[] = { 2, 4, 8 };

	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		size_t len = 4096 * widths[i] + 1, enclen;
		unsigned char *raw = calloc(1, len), *enc;

		for (size_t b = 0; b < len; b += 97)
			raw[b] = (unsigned char)b;
		enc = roundtrip(f->codec, raw, len, widths[i], MVC_CHUNK_ROTATE, &enclen);
		assert_int_equal(mvc_codec_encoding(enc, enclen), MVC_ENC_GROUPED);
		assert_int_equal(enc[6], 1);
		assert_int_equal(enc[7], 0);
		free(enc);
		free(raw);
	}
	/* a width out of range is treated as 1; unknown flags are dropped */
	{
		size_t len = 8000, enclen;
		unsigned char *raw = calloc(1, len), *enc;

		enc = roundtrip(f->codec, raw, len, 0, 0, &enclen);
		assert_int_equal(enc[6], 1);
		free(enc);
		enc = roundtrip(f->codec, raw, len, 16, 0, &enclen);
		assert_int_equal(enc[6], 1);
		free(enc);
		enc = roundtrip(f->codec, raw, len, 4, 0xfe, &enclen);
		assert_int_equal(enc[6], 4);
		assert_int_equal(enc[7], 0);
		free(enc);
		free(raw);
	}
}

static void test_empty_chunk(void **state)
{
	fx *f = *state;
	unsigned char raw[1] = { 0 }, *enc;
	size_t enclen;

	enc = roundtrip(f->codec, raw, 0, 4, MVC_CHUNK_ROTATE, &enclen);
	assert_int_equal(mvc_codec_encoding(enc, enclen), MVC_ENC_RAW);
	assert_int_equal(enclen, MVC_CHUNK_HEADER_SIZE);
	free(enc);
}

/* One codec for many calls of mixed sizes and kinds, as commit and
 * checkout use it; its buffers grow and are reused. */
static void test_reuse(void **state)
{
	fx *f = *state;

	for (int round = 0; round < 40; round++) {
		size_t n = (size_t)((round * 7919) % 50000) + 4, enclen;
		float *w = malloc(n * sizeof(float));
		unsigned char *enc;

		if (round % 3 == 0)
			rnd_fill(w, n * sizeof(float), (uint64_t)round);
		else
			weights_fill(w, n, (uint64_t)round);
		enc = roundtrip(f->codec, w, n * sizeof(float), round % 2 ? 4 : 2,
		    round % 4 < 2 ? MVC_CHUNK_ROTATE : 0, &enclen);
		free(enc);
		free(w);
	}
}

/* Two codecs are independent: one's output survives the other's calls. */
static void test_two_codecs(void **state)
{
	fx *f = *state;
	mvc_codec *other = NULL;
	float a[1024], b[1024], back[1024];
	const unsigned char *ea, *eb;
	size_t la, lb;

	weights_fill(a, 1024, 1);
	weights_fill(b, 1024, 2);
	assert_ok(mvc_codec_new(&other));
	assert_ok(mvc_codec_encode(f->codec, &ea, &la, a, sizeof(a), 4, MVC_CHUNK_ROTATE));
	assert_ok(mvc_codec_encode(other, &eb, &lb, b, sizeof(b), 4, 0));
	assert_ok(mvc_codec_decode(other, back, sizeof(back), ea, la));
	assert_memory_equal(back, a, sizeof(a));
	assert_ok(mvc_codec_decode(f->codec, back, sizeof(back), eb, lb));
	assert_memory_equal(back, b, sizeof(b));
	mvc_codec_free(other);
	mvc_codec_free(NULL);
}

/* A delta: the new chunk XOR its base, applied in place over the base. */
static unsigned char *delta_roundtrip(mvc_codec *c, const void *raw, const void *base,
                                      size_t len, unsigned w, unsigned flags, unsigned depth,
                                      size_t *enclen)
{
	const unsigned char *enc = NULL;
	unsigned char id[20], got[20], *copy, *dst;
	unsigned d = 0;

	for (int i = 0; i < 20; i++)
		id[i] = (unsigned char)(0xa0 + i);
	assert_ok(mvc_codec_encode_delta(c, &enc, enclen, raw, base, len, w, flags, id, depth));
	assert_int_equal(mvc_codec_encoding(enc, *enclen), MVC_ENC_DELTA);
	assert_int_equal(get_u64le(enc + 8), len);
	assert_int_equal(enc[MVC_CHUNK_HEADER_SIZE + 20], depth);
	copy = malloc(*enclen);
	memcpy(copy, enc, *enclen);
	assert_int_equal(mvc_codec_delta_info(copy, *enclen, got, &d), 1);
	assert_memory_equal(got, id, 20);
	assert_int_equal(d, depth);
	dst = malloc(len + 1);
	memcpy(dst, base, len);
	dst[len] = 0x5a;
	assert_ok(mvc_codec_decode(c, dst, len, copy, *enclen));
	assert_memory_equal(dst, raw, len);
	assert_int_equal(dst[len], 0x5a);
	free(dst);
	return copy;
}

static void test_delta_roundtrip(void **state)
{
	fx *f = *state;
	size_t n = 4096, dlen, flen;
	float *base = malloc(n * sizeof(float)), *now = malloc(n * sizeof(float));
	unsigned char *enc, *full;

	weights_fill(base, n, 3);
	memcpy(now, base, n * sizeof(float));
	for (size_t i = 0; i < n; i += 97)
		now[i] += 0.001f;
	for (unsigned flags = 0; flags <= MVC_CHUNK_ROTATE; flags++) {
		enc = delta_roundtrip(f->codec, now, base, n * sizeof(float), 4, flags, 1, &dlen);
		assert_int_equal(enc[6], 4);
		assert_int_equal(enc[7], flags);
		full = roundtrip(f->codec, now, n * sizeof(float), 4, flags, &flen);
		/* few changes: the delta is far smaller than the chunk alone */
		assert_true(dlen * 4 < flen);
		free(enc);
		free(full);
	}
	/* unchanged: nearly nothing */
	enc = delta_roundtrip(f->codec, base, base, n * sizeof(float), 4, MVC_CHUNK_ROTATE,
	    MVC_DELTA_MAX_DEPTH, &dlen);
	assert_true(dlen < 200);
	free(enc);
	/* bytes (one plane) and random data (stored planes) */
	{
		unsigned char a[1000], b[1000];

		rnd_fill(a, sizeof(a), 1);
		rnd_fill(b, sizeof(b), 2);
		free(delta_roundtrip(f->codec, a, b, sizeof(a), 1, MVC_CHUNK_ROTATE, 2, &dlen));
		free(delta_roundtrip(f->codec, a, b, sizeof(a), 8, 0, 3, &dlen));
		free(delta_roundtrip(f->codec, a, b, 999, 4, MVC_CHUNK_ROTATE, 1, &dlen));
	}
	free(base);
	free(now);
}

/* Sparse deltas: few changed blocks are stored alone, behind a map. */
static void test_sparse_delta(void **state)
{
	fx *f = *state;
	size_t n = 65536, len = n * sizeof(float), dlen;
	float *base = malloc(len), *now = malloc(len);
	unsigned char *enc, *bad;
	size_t changed = 0;

	weights_fill(base, n, 5);
	memcpy(now, base, len);
	/* one 64-float row in twenty: sparse */
	for (size_t r = 0; r < n / 64; r += 20, changed++)
		for (size_t i = 0; i < 64; i++)
			now[r * 64 + i] *= 1.5f;
	enc = delta_roundtrip(f->codec, now, base, len, 4, MVC_CHUNK_ROTATE, 1, &dlen);
	assert_int_equal(enc[MVC_CHUNK_HEADER_SIZE + 21], MVC_DELTA_SPARSE);
	assert_int_equal(get_u32le(enc + MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE), 256);
	/* corrupt maps and block sizes are refused, never applied */
	bad = malloc(dlen);
	memcpy(bad, enc, dlen);
	bad[MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE] = 0;
	bad[MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE + 1] = 0;
	assert_err(mvc_codec_decode(f->codec, now, len, bad, dlen), MVC_ECORRUPT, "bad block size");
	memcpy(bad, enc, dlen);
	bad[MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE + 4] ^= 0x02; /* one block more */
	assert_int_equal(mvc_codec_decode(f->codec, now, len, bad, dlen) < 0, 1);
	assert_err(mvc_codec_decode(f->codec, now, len, bad, MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE + 10),
	    MVC_ECORRUPT, "truncated");
	memcpy(bad, enc, dlen);
	bad[MVC_CHUNK_HEADER_SIZE + 21] = 0x80;
	assert_err(mvc_codec_decode(f->codec, now, len, bad, dlen), MVC_EUNSUPPORTED, "delta flags");
	free(bad);
	free(enc);
	/* most rows changed: dense */
	for (size_t i = 0; i < n; i++)
		now[i] = base[i] * 1.25f;
	enc = delta_roundtrip(f->codec, now, base, len, 4, MVC_CHUNK_ROTATE, 1, &dlen);
	assert_int_equal(enc[MVC_CHUNK_HEADER_SIZE + 21], 0);
	free(enc);
	/* a chain mixing sparse and dense deltas decodes as each in turn */
	{
		float *v[4];
		const unsigned char *e;
		const void *encs[4];
		size_t lens[4];
		unsigned char id[20] = { 0 };
		unsigned char *out = malloc(len);

		for (int k = 0; k < 4; k++) {
			v[k] = malloc(len);
			memcpy(v[k], k ? v[k - 1] : base, len);
			for (size_t i = (size_t)k * 7; i < n; i += k == 2 ? 1 : 977)
				v[k][i] += 0.01f * (float)(k + 1);
		}
		assert_ok(mvc_codec_encode(f->codec, &e, &lens[0], v[0], len, 4, MVC_CHUNK_ROTATE));
		encs[0] = memcpy(malloc(lens[0]), e, lens[0]);
		for (int k = 1; k < 4; k++) {
			assert_ok(mvc_codec_encode_delta(f->codec, &e, &lens[k], v[k], v[k - 1], len, 4,
			    MVC_CHUNK_ROTATE, id, (unsigned)k));
			encs[k] = memcpy(malloc(lens[k]), e, lens[k]);
		}
		for (size_t upto = 1; upto <= 4; upto++) {
			assert_ok(mvc_codec_decode_chain(f->codec, out, len, encs, lens, upto));
			assert_memory_equal(out, v[upto - 1], len);
		}
		for (int k = 0; k < 4; k++) {
			free((void *)encs[k]);
			free(v[k]);
		}
		free(out);
	}
	(void)changed;
	free(base);
	free(now);
}

/* An empty chunk, as a delta too: nothing to group, nothing to touch. */
static void test_empty_delta(void **state)
{
	fx *f = *state;
	unsigned char a[1] = { 1 }, b[1] = { 2 }, *enc;
	size_t len;

	enc = delta_roundtrip(f->codec, a, b, 0, 4, MVC_CHUNK_ROTATE, 1, &len);
	free(enc);
	enc = delta_roundtrip(f->codec, a, b, 0, 1, 0, 2, &len);
	free(enc);
}

static void test_delta_bad(void **state)
{
	fx *f = *state;
	unsigned char a[64] = { 1 }, b[64] = { 2 }, id[20] = { 0 }, got[20], *enc, dst[64];
	const unsigned char *out;
	size_t len, flen;
	unsigned depth = 0;

	assert_err(mvc_codec_encode_delta(f->codec, &out, &len, a, b, 64, 1, 0, id, 0),
	    MVC_EINVALID, "delta depth 0 out of range");
	assert_err(mvc_codec_encode_delta(f->codec, &out, &len, a, b, 64, 1, 0, id,
	    MVC_DELTA_MAX_DEPTH + 1), MVC_EINVALID, "out of range");
	enc = delta_roundtrip(f->codec, a, b, 64, 1, 0, 1, &len);
	/* depths a reader must not follow */
	enc[MVC_CHUNK_HEADER_SIZE + 20] = 0;
	assert_err(mvc_codec_delta_info(enc, len, got, &depth), MVC_ECORRUPT,
	    "delta chunk has depth 0");
	enc[MVC_CHUNK_HEADER_SIZE + 20] = MVC_DELTA_MAX_DEPTH + 1;
	assert_err(mvc_codec_delta_info(enc, len, got, &depth), MVC_ECORRUPT, "(at most 10)");
	/* cut inside the delta header */
	assert_err(mvc_codec_delta_info(enc, MVC_CHUNK_HEADER_SIZE + 10, got, &depth),
	    MVC_ECORRUPT, "delta chunk is truncated");
	assert_err(mvc_codec_decode(f->codec, dst, 64, enc, MVC_CHUNK_HEADER_SIZE + 10),
	    MVC_ECORRUPT, "delta chunk is truncated");
	/* cut inside its plane table and its payload */
	assert_err(mvc_codec_decode(f->codec, dst, 64, enc,
	    MVC_CHUNK_HEADER_SIZE + MVC_DELTA_HEADER_SIZE + 2), MVC_ECORRUPT, "bad plane table");
	assert_err(mvc_codec_decode(f->codec, dst, 64, enc, len - 1), MVC_ECORRUPT,
	    "runs past the end");
	free(enc);
	/* a full chunk is no delta; garbage is refused */
	enc = roundtrip(f->codec, a, 64, 1, 0, &flen);
	assert_int_equal(mvc_codec_delta_info(enc, flen, got, &depth), 0);
	enc[0] = 'x';
	assert_err(mvc_codec_delta_info(enc, flen, got, &depth), MVC_ECORRUPT, "bad magic");
	free(enc);
}

/* Encoded fixtures for the decoder tests. */
static unsigned char *enc_floats(mvc_codec *c, size_t n, size_t *enclen)
{
	float *w = malloc(n * sizeof(float));
	unsigned char *enc = NULL;

	weights_fill(w, n, 11);
	enc = roundtrip(c, w, n * sizeof(float), 4, MVC_CHUNK_ROTATE, enclen);
	assert_int_equal(mvc_codec_encoding(enc, *enclen), MVC_ENC_GROUPED);
	assert_int_equal(enc[7], MVC_CHUNK_ROTATE);
	free(w);
	return enc;
}

static unsigned char *enc_random(mvc_codec *c, size_t n, size_t *enclen)
{
	unsigned char *raw = malloc(n), *enc;

	rnd_fill(raw, n, 99);
	enc = roundtrip(c, raw, n, 1, 0, enclen);
	assert_int_equal(mvc_codec_encoding(enc, *enclen), MVC_ENC_RAW);
	free(raw);
	return enc;
}

static void test_bad_magic(void **state)
{
	fx *f = *state;
	size_t enclen;
	unsigned char *enc = enc_random(f->codec, 100, &enclen), dst[100];

	enc[0] = 'X';
	assert_err(mvc_codec_decode(f->codec, dst, 100, enc, enclen), MVC_ECORRUPT, "bad magic");
	assert_err(mvc_codec_encoding(enc, enclen), MVC_ECORRUPT, "bad magic");
	enc[0] = 'M';
	/* shorter than the header */
	assert_err(mvc_codec_decode(f->codec, dst, 100, enc, MVC_CHUNK_HEADER_SIZE - 1),
	    MVC_ECORRUPT, "bad magic");
	assert_err(mvc_codec_encoding(enc, 3), MVC_ECORRUPT, "not an mvc chunk");
	/* a git blob of anything else */
	assert_err(mvc_codec_decode(f->codec, dst, 5, "hello world, not a chunk", 24),
	    MVC_ECORRUPT, "not an mvc chunk");
	free(enc);
}

static void test_unknown_version(void **state)
{
	fx *f = *state;
	size_t enclen;
	unsigned char *enc = enc_random(f->codec, 100, &enclen), dst[100];

	enc[4] = MVC_CHUNK_VERSION + 1;
	assert_err(mvc_codec_decode(f->codec, dst, 100, enc, enclen), MVC_EUNSUPPORTED,
	    "upgrade mvc");
	assert_err(mvc_codec_encoding(enc, enclen), MVC_EUNSUPPORTED, "chunk format version 2");
	enc[4] = 0;
	assert_err(mvc_codec_decode(f->codec, dst, 100, enc, enclen), MVC_EUNSUPPORTED,
	    "version 0 is not supported");
	free(enc);
}

static void test_unknown_encoding(void **state)
{
	fx *f = *state;
	size_t enclen;
	unsigned char *enc = enc_random(f->codec, 100, &enclen), dst[100];

	enc[5] = 3;
	assert_int_equal(mvc_codec_encoding(enc, enclen), 3);
	assert_err(mvc_codec_decode(f->codec, dst, 100, enc, enclen), MVC_EUNSUPPORTED,
	    "chunk encoding 3 is not known");
	assert_true(strstr(mvc_error_last(), "upgrade mvc") != NULL);
	enc[5] = 255;
	assert_err(mvc_codec_decode(f->codec, dst, 100, enc, enclen), MVC_EUNSUPPORTED,
	    "encoding 255");
	free(enc);
}

static void test_unknown_flags(void **state)
{
	fx *f = *state;
	size_t glen, rlen;
	unsigned char *genc = enc_floats(f->codec, 1000, &glen);
	unsigned char *renc = enc_random(f->codec, 100, &rlen);
	unsigned char dst[4000];

	genc[7] |= 0x02;
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_EUNSUPPORTED,
	    "chunk flags 0x03 are not known");
	assert_true(strstr(mvc_error_last(), "upgrade mvc") != NULL);
	genc[7] = 0x80;
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_EUNSUPPORTED,
	    "flags 0x80");
	/* rotation of single bytes, or of raw bytes, is not a thing */
	genc[7] = MVC_CHUNK_ROTATE;
	genc[6] = 1;
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_ECORRUPT,
	    "bad plane table");
	renc[7] = MVC_CHUNK_ROTATE;
	assert_err(mvc_codec_decode(f->codec, dst, 100, renc, rlen), MVC_ECORRUPT,
	    "raw chunk has the wrong length");
	free(genc);
	free(renc);
}

static void test_wrong_size(void **state)
{
	fx *f = *state;
	size_t enclen, glen;
	unsigned char *enc = enc_random(f->codec, 100, &enclen);
	unsigned char *genc = enc_floats(f->codec, 1000, &glen);
	unsigned char dst[4096];

	assert_err(mvc_codec_decode(f->codec, dst, 99, enc, enclen), MVC_ECORRUPT,
	    "chunk holds 100 bytes, 99 expected");
	assert_err(mvc_codec_decode(f->codec, dst, 101, enc, enclen), MVC_ECORRUPT,
	    "101 expected");
	assert_err(mvc_codec_decode(f->codec, dst, 3996, genc, glen), MVC_ECORRUPT,
	    "chunk holds 4000 bytes, 3996 expected");
	free(enc);
	free(genc);
}

static void test_truncated(void **state)
{
	fx *f = *state;
	size_t enclen, glen;
	unsigned char *enc = enc_random(f->codec, 100, &enclen);
	unsigned char *genc = enc_floats(f->codec, 1000, &glen);
	unsigned char dst[4000];

	assert_err(mvc_codec_decode(f->codec, dst, 100, enc, enclen - 1), MVC_ECORRUPT,
	    "raw chunk has the wrong length");
	assert_err(mvc_codec_decode(f->codec, dst, 100, enc, MVC_CHUNK_HEADER_SIZE),
	    MVC_ECORRUPT, "raw chunk has the wrong length");
	/* grouped: cut in the last plane, and inside the plane table */
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen - 1), MVC_ECORRUPT,
	    "runs past the end");
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, MVC_CHUNK_HEADER_SIZE + 12),
	    MVC_ECORRUPT, "bad plane table");
	free(enc);
	free(genc);
}

static void test_trailing_bytes(void **state)
{
	fx *f = *state;
	size_t enclen, glen;
	unsigned char *enc = enc_random(f->codec, 100, &enclen);
	unsigned char *genc = enc_floats(f->codec, 1000, &glen);
	unsigned char dst[4000], *longer;

	longer = malloc(glen + 3);
	memcpy(longer, genc, glen);
	memset(longer + glen, 0, 3);
	assert_err(mvc_codec_decode(f->codec, dst, 4000, longer, glen + 3), MVC_ECORRUPT,
	    "chunk has 3 trailing bytes");
	free(longer);
	longer = malloc(enclen + 1);
	memcpy(longer, enc, enclen);
	longer[enclen] = 0;
	assert_err(mvc_codec_decode(f->codec, dst, 100, longer, enclen + 1), MVC_ECORRUPT,
	    "raw chunk has the wrong length");
	free(longer);
	free(enc);
	free(genc);
}

static void test_plane_past_end(void **state)
{
	fx *f = *state;
	size_t glen;
	unsigned char *genc = enc_floats(f->codec, 1000, &glen);
	unsigned char dst[4000];
	unsigned char *rec = genc + MVC_CHUNK_HEADER_SIZE;

	/* plane 0 claims more bytes than the blob holds */
	put_u32le(rec + 1, (uint32_t)glen);
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_ECORRUPT,
	    "chunk plane 0 runs past the end");
	put_u32le(rec + 1, UINT32_MAX);
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_ECORRUPT,
	    "plane 0 runs past the end");
	free(genc);
}

static void test_bad_plane_table(void **state)
{
	fx *f = *state;
	size_t glen;
	unsigned char *genc = enc_floats(f->codec, 1000, &glen);
	unsigned char dst[4000];

	genc[6] = 0;
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_ECORRUPT,
	    "bad plane table");
	genc[6] = 9;
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_ECORRUPT,
	    "bad plane table");
	/* 4000 bytes do not split into 3 planes */
	genc[6] = 3;
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_ECORRUPT,
	    "bad plane table");
	/* 2 planes: the table no longer matches the payload */
	genc[6] = 2;
	assert_int_equal(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_ECORRUPT);
	free(genc);
}

static void test_bad_plane_method(void **state)
{
	fx *f = *state;
	size_t glen;
	unsigned char *genc = enc_floats(f->codec, 1000, &glen);
	unsigned char dst[4000];

	genc[MVC_CHUNK_HEADER_SIZE] = 7;
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_EUNSUPPORTED,
	    "chunk plane method 7 is not known");
	free(genc);
}

/* A stored plane whose recorded length is not the plane's. */
static void test_stored_plane_length(void **state)
{
	fx *f = *state;
	size_t glen;
	unsigned char *genc = enc_floats(f->codec, 1000, &glen);
	unsigned char dst[4000];
	int k;

	/* find a zstd plane and call it stored: its length is then wrong */
	for (k = 0; k < 4 && genc[MVC_CHUNK_HEADER_SIZE + 5 * k] != 1; k++)
		;
	assert_true(k < 4);
	genc[MVC_CHUNK_HEADER_SIZE + 5 * k] = 0;
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_ECORRUPT,
	    "has the wrong length");
	free(genc);
}

/* Damage inside a zstd frame is caught, whatever byte it hits. */
static void test_corrupt_zstd(void **state)
{
	fx *f = *state;
	size_t glen, pos = MVC_CHUNK_HEADER_SIZE + 5 * 4, zpos = 0, zlen = 0;
	unsigned char *genc = enc_floats(f->codec, 1000, &glen), *rec = NULL;
	unsigned char dst[4000];

	for (int k = 0; k < 4; k++) {
		unsigned char *r = genc + MVC_CHUNK_HEADER_SIZE + 5 * k;

		if (r[0] == 1 && !zlen) {
			rec = r;
			zpos = pos;
			zlen = get_u32le(r + 1);
		}
		pos += get_u32le(r + 1);
	}
	assert_true(zlen > 8);
	/* the frame's magic number */
	genc[zpos] ^= 0xff;
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_ECORRUPT,
	    "does not decompress");
	genc[zpos] ^= 0xff;
	assert_ok(mvc_codec_decode(f->codec, dst, 4000, genc, glen));
	/* a frame cut short: the stored length says less, the rest trails */
	put_u32le(rec + 1, (uint32_t)(zlen - 3));
	assert_err(mvc_codec_decode(f->codec, dst, 4000, genc, glen), MVC_ECORRUPT,
	    "does not decompress");
	put_u32le(rec + 1, (uint32_t)zlen);
	/* every single-byte flip inside the frame is either refused or decodes
	 * to other bytes, which the chunk digest then catches; it never
	 * crashes or writes past the buffer (ASan) */
	for (size_t i = 0; i < zlen; i++) {
		int rc;

		genc[zpos + i] ^= 0x5a;
		rc = mvc_codec_decode(f->codec, dst, 4000, genc, glen);
		assert_true(rc == 0 || rc == MVC_ECORRUPT);
		if (rc < 0)
			assert_non_null(strstr(mvc_error_last(), "does not decompress"));
		genc[zpos + i] ^= 0x5a;
	}
	free(genc);
}

/* A zstd frame that decodes to fewer bytes than the plane needs. */
static void test_short_zstd_plane(void **state)
{
	fx *f = *state;
	size_t glen;
	unsigned char *small = enc_floats(f->codec, 500, &glen);
	unsigned char dst[4000];

	/* claim the 500-element blob holds 1000 elements */
	small[8] = (unsigned char)(4000 & 0xff);
	small[9] = (unsigned char)(4000 >> 8);
	assert_err(mvc_codec_decode(f->codec, dst, 4000, small, glen), MVC_ECORRUPT, "plane");
	free(small);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_random_roundtrip),
		T(test_floats_grouped),
		T(test_structured_widths),
		T(test_odd_sizes),
		T(test_empty_chunk),
		T(test_reuse),
		T(test_two_codecs),
		T(test_delta_roundtrip),
		T(test_sparse_delta),
		T(test_empty_delta),
		T(test_delta_bad),
		T(test_bad_magic),
		T(test_unknown_version),
		T(test_unknown_encoding),
		T(test_unknown_flags),
		T(test_wrong_size),
		T(test_truncated),
		T(test_trailing_bytes),
		T(test_plane_past_end),
		T(test_bad_plane_table),
		T(test_bad_plane_method),
		T(test_stored_plane_length),
		T(test_corrupt_zstd),
		T(test_short_zstd_plane),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
