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
	MVC_ENC_GROUPED = 1   /* byte planes, each zstd-compressed or stored */
} mvc_encoding;

/* Largest raw chunk accepted when decoding (untrusted input). */
#define MVC_CHUNK_MAX ((uint64_t)1 << 30)

typedef struct mvc_codec mvc_codec;

/* A reusable encoder/decoder with its zstd contexts and scratch buffers.
 * One per thread. */
int mvc_codec_new(mvc_codec **out);
void mvc_codec_free(mvc_codec *codec);

/*
 * Encode `len` raw bytes whose elements are `plane_width` bytes wide.
 * On success *out points into the codec's buffer (valid until the next
 * call) and *outlen is its size.
 */
int mvc_codec_encode(mvc_codec *codec, const unsigned char **out, size_t *outlen,
                     const void *raw, size_t len, unsigned plane_width);

/*
 * Decode an encoded chunk into `dst`, which must hold exactly `expect`
 * bytes.  MVC_ECORRUPT for malformed input, MVC_EUNSUPPORTED for an
 * encoding or version this build does not know.
 */
int mvc_codec_decode(mvc_codec *codec, void *dst, size_t expect,
                     const void *enc, size_t enclen);

/* The encoding tag of an encoded chunk, or a negative error. */
int mvc_codec_encoding(const void *enc, size_t enclen);

#ifdef __cplusplus
}
#endif
#endif
