/*
 * Chunk blobs (lib/codec.c), which come from the store or a remote:
 * mvc_codec_encoding(), mvc_codec_delta_info(), mvc_codec_decode() and
 * mvc_codec_decode_chain() on arbitrary bytes; and, as a differential
 * check of the encoder, arbitrary raw bytes encoded (whole and as a delta
 * over a base) must decode back to themselves.
 *
 * Input: byte 0 picks the mode, bytes 1-3 the decoded size (at most
 * 1 MiB), then the mode's bytes.  A chain is split at "\xffCUT".
 */
#include "fuzz.h"

static mvc_codec *codec;

static void decode_one(const uint8_t *enc, size_t len, size_t expect)
{
	unsigned char *dst = malloc(expect ? expect : 1), base[20];
	unsigned depth = 0;
	int rc;

	memset(dst, 0x5a, expect);
	mvc_codec_encoding(enc, len);
	rc = mvc_codec_delta_info(enc, len, base, &depth);
	FUZZ_ASSERT(rc <= 0 || (depth >= 1 && depth <= MVC_DELTA_MAX_DEPTH));
	mvc_codec_decode(codec, dst, expect, enc, len);
	free(dst);
}

static void decode_chain(const uint8_t *data, size_t size, size_t expect)
{
	const void *encs[MVC_DELTA_MAX_DEPTH + 1];
	size_t lens[MVC_DELTA_MAX_DEPTH + 1], n = 0;
	unsigned char *dst = malloc(expect ? expect : 1);

	while (n < MVC_DELTA_MAX_DEPTH + 1) {
		const uint8_t *cut = memmem(data, size, "\xff" "CUT", 4);
		size_t l = cut ? (size_t)(cut - data) : size;

		encs[n] = data;
		lens[n++] = l;
		if (!cut)
			break;
		data += l + 4;
		size -= l + 4;
	}
	mvc_codec_decode_chain(codec, dst, expect, encs, lens, n);
	free(dst);
}

static unsigned char *dup_bytes(const unsigned char *p, size_t n)
{
	unsigned char *q = malloc(n ? n : 1);

	memcpy(q, p, n);
	return q;
}

/* raw -> encode -> decode == raw; and as a delta over a base, alone and
 * in a chain after the base's own encoding */
static void roundtrip(const uint8_t *data, size_t size, unsigned w, unsigned flags, int delta)
{
	size_t len = delta ? size / 2 : size, enclen, lens[2];
	const unsigned char *enc, *base = data + len;
	unsigned char id[20] = { 0 }, *dst, *d, *full;
	const void *encs[2];

	if (!len)
		return;
	dst = malloc(len);
	if (!delta) {
		FUZZ_ASSERT(mvc_codec_encode(codec, &enc, &enclen, data, len, w, flags) == 0);
		FUZZ_ASSERT(mvc_codec_decode(codec, dst, len, enc, enclen) == 0);
		FUZZ_ASSERT(!memcmp(dst, data, len));
		free(dst);
		return;
	}
	FUZZ_ASSERT(mvc_codec_encode_delta(codec, &enc, &enclen, data, base, len, w, flags, id,
	    1 + data[0] % MVC_DELTA_MAX_DEPTH) == 0);
	d = dup_bytes(enc, enclen);
	lens[1] = enclen;
	memcpy(dst, base, len);
	FUZZ_ASSERT(mvc_codec_decode(codec, dst, len, d, lens[1]) == 0);
	FUZZ_ASSERT(!memcmp(dst, data, len));
	FUZZ_ASSERT(mvc_codec_encode(codec, &enc, &enclen, base, len, w, flags) == 0);
	full = dup_bytes(enc, enclen);
	lens[0] = enclen;
	encs[0] = full;
	encs[1] = d;
	memset(dst, 0, len);
	FUZZ_ASSERT(mvc_codec_decode_chain(codec, dst, len, encs, lens, 2) == 0);
	FUZZ_ASSERT(!memcmp(dst, data, len));
	free(full);
	free(d);
	free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode;
	size_t expect;

	if (!codec && mvc_codec_new(&codec) < 0)
		abort();
	if (size < 4)
		return 0;
	mode = data[0];
	expect = ((size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16) & 0xfffff;
	data += 4;
	size -= 4;
	switch (mode % 4) {
	case 0:
		decode_one(data, size, expect);
		break;
	case 1:
		decode_chain(data, size, expect);
		break;
	case 2:
		roundtrip(data, size, 1u << (mode / 4 % 4), (mode / 16) & 1, 0);
		break;
	case 3:
		roundtrip(data, size, 1u << (mode / 4 % 4), (mode / 16) & 1, 1);
		break;
	}
	mvc_error_clear();
	return 0;
}
