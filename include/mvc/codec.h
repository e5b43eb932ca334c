#ifndef MVC_CODEC_H
#define MVC_CODEC_H
/*
 * Chunk encodings: how the raw bytes of one chunk become the bytes of a
 * git blob, and back.  Every blob starts with a fixed header carrying the
 * format version and an encoding tag (see mvc-format(5)); a reader refuses
 * tags it does not know instead of guessing.
 */
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MVC_CHUNK_MAGIC "MVCK"
#define MVC_CHUNK_VERSION 1
#define MVC_CHUNK_HEADER_SIZE 16

typedef enum mvc_encoding {
	MVC_ENC_RAW = 0,      /* payload is the raw bytes */
	MVC_ENC_GROUPED = 1,  /* byte planes, each zstd-compressed or stored */
	MVC_ENC_DELTA = 2     /* XOR with a base chunk, then as GROUPED */
} mvc_encoding;

/* Flags of a chunk header (byte 7). */
#define MVC_CHUNK_ROTATE 0x01 /* each word rotated left by one bit first, so
                                 that a float's top byte holds only exponent */

/* Longest chain of deltas a reader follows (a delta's base may be a delta). */
#define MVC_DELTA_MAX_DEPTH 10
/* Bytes after the chunk header in a delta: base blob id, depth, delta
 * flags, reserved. */
#define MVC_DELTA_HEADER_SIZE 24
/* Delta flag: only the blocks that differ are stored, after a block map. */
#define MVC_DELTA_SPARSE 0x01

/* Largest raw chunk accepted when decoding (untrusted input). */
#define MVC_CHUNK_MAX ((uint64_t)1 << 30)

typedef struct mvc_codec mvc_codec;

/* A reusable encoder/decoder with its zstd contexts and scratch buffers.
 * One per thread. */
int mvc_codec_new(mvc_codec **out);
void mvc_codec_free(mvc_codec *codec);

/*
 * Encode `len` raw bytes whose elements are `plane_width` bytes wide;
 * `flags` may hold MVC_CHUNK_ROTATE (for float elements).  On success
 * *out points into the codec's buffer (valid until the next call) and
 * *outlen is its size.
 */
int mvc_codec_encode(mvc_codec *codec, const unsigned char **out, size_t *outlen,
                     const void *raw, size_t len, unsigned plane_width, unsigned flags);

/*
 * Encode `raw` as a delta against `base` (same length), whose blob id is
 * `base_id` (20 bytes) and whose own delta depth is depth - 1.
 */
int mvc_codec_encode_delta(mvc_codec *codec, const unsigned char **out, size_t *outlen,
                           const void *raw, const void *base, size_t len,
                           unsigned plane_width, unsigned flags,
                           const unsigned char base_id[20], unsigned depth);

/*
 * Decode an encoded chunk into `dst`, which must hold exactly `expect`
 * bytes.  For a delta, `dst` must already hold the base's raw bytes and
 * the delta is applied in place.  MVC_ECORRUPT for malformed input,
 * MVC_EUNSUPPORTED for an encoding, flag or version this build does not
 * know.
 */
int mvc_codec_decode(mvc_codec *codec, void *dst, size_t expect,
                     const void *enc, size_t enclen);

/*
 * Decode a chain: encs[0] is a full chunk, each encs[i] a delta over
 * encs[i-1].  The same as decoding them in turn, but deltas that share
 * their plane layout are combined before one ungrouping pass.
 */
int mvc_codec_decode_chain(mvc_codec *codec, void *dst, size_t expect,
                           const void *const *encs, const size_t *enclens, size_t n);

/*
 * For a delta chunk: its base's blob id and its depth (1 when the base is
 * a full chunk); returns 1.  Returns 0 for a full chunk, <0 if malformed.
 */
int mvc_codec_delta_info(const void *enc, size_t enclen, unsigned char base_id[20],
                         unsigned *depth);

/* The encoding tag of an encoded chunk, or a negative error. */
int mvc_codec_encoding(const void *enc, size_t enclen);

#ifdef __cplusplus
}
#endif
#endif
