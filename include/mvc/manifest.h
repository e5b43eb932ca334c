#ifndef MVC_MANIFEST_H
#define MVC_MANIFEST_H
/*
 * The MANIFEST of one stored file: its format, size, digests, the table of
 * tensors and, per tensor, the chunking and every chunk's digest.
 *
 * Digests: a chunk's digest is BLAKE2b-256 of its raw bytes; a tensor's is
 * BLAKE2b-256 over its chunk digests in order; the non-tensor bytes
 * ("header") have a plain BLAKE2b-256; the file's digest is BLAKE2b-256
 * over the header digest followed by every tensor digest in file order.
 */
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MVC_FORMAT_VERSION 1

typedef struct mvc_manifest_tensor {
	mvc_tensor t;               /* name, dtype, shape, offset, size */
	uint64_t chunk_size;        /* bytes per chunk; the last may be shorter
	                               (content-defined: the largest allowed) */
	uint64_t nchunks;
	unsigned char digest[MVC_DIGEST_SIZE];
	unsigned char *chunk_digests; /* nchunks * MVC_DIGEST_SIZE bytes */
	/*
	 * Content-defined chunks (opaque files): nchunks + 1 offsets relative
	 * to the tensor, from 0 to its size, so chunk c is [offsets[c],
	 * offsets[c + 1]).  NULL: every chunk but the last is chunk_size
	 * bytes.  Use mvc_manifest_chunk_offset() and _len() rather than
	 * either field.
	 */
	uint64_t *chunk_offsets;
} mvc_manifest_tensor;

/* Where chunk `c` of `mt` starts (relative to the tensor) and its length. */
uint64_t mvc_manifest_chunk_offset(const mvc_manifest_tensor *mt, uint64_t c);
uint64_t mvc_manifest_chunk_len(const mvc_manifest_tensor *mt, uint64_t c);
/* The chunk that holds byte `off` (below the size) of the tensor. */
uint64_t mvc_manifest_chunk_at(const mvc_manifest_tensor *mt, uint64_t off);

typedef struct mvc_manifest {
	unsigned version;           /* MVC_FORMAT_VERSION of the writer */
	mvc_format format;
	uint64_t file_size;
	unsigned char digest[MVC_DIGEST_SIZE];
	uint64_t header_size;       /* bytes outside every tensor */
	unsigned char header_digest[MVC_DIGEST_SIZE];
	size_t ntensors;
	mvc_manifest_tensor *tensors; /* in file order */
} mvc_manifest;

/* Serialize to the MANIFEST text (JSON, one tensor per line). */
int mvc_manifest_write(char **out, size_t *outlen, const mvc_manifest *m);

/* Parse and fully validate a MANIFEST (untrusted bytes). */
int mvc_manifest_parse(mvc_manifest **out, const char *data, size_t len);

/* Index of the tensor named `name`, or -1. */
long mvc_manifest_find(const mvc_manifest *m, const char *name);

/* Recompute tensor and file digests from the chunk digests. */
void mvc_manifest_seal(mvc_manifest *m);

void mvc_manifest_free(mvc_manifest *m);

/* Lower-case hex of a digest into `out` (MVC_DIGEST_HEXSZ + 1 bytes). */
void mvc_digest_hex(char *out, const unsigned char digest[MVC_DIGEST_SIZE]);

#ifdef __cplusplus
}
#endif
#endif
