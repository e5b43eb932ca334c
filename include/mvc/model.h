#ifndef MVC_MODEL_H
#define MVC_MODEL_H
/*
 * Model files as mvc sees them: a sequence of tensors (name, dtype,
 * shape, byte range) and the bytes between them (headers, padding), which
 * mvc keeps verbatim so that a file round-trips bit for bit.
 */
#include <stdbool.h>
#include <stdio.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Element types: every dtype of the safetensors specification (BOOL to
 * F6_E3M2), then ggml's block-quantised types as GGUF stores them (a
 * block of 32 or 256 elements in a fixed number of bytes: Q4_0 to
 * MXFP4), then the big-endian numeric types of NumPy files (I16_BE to
 * C64_BE; stored verbatim, byte-swapped only to compare values).  New
 * types are only ever appended: the values are part of the ABI.
 */
typedef enum mvc_dtype {
	MVC_DTYPE_UNKNOWN = 0,
	MVC_DTYPE_BOOL, MVC_DTYPE_U8, MVC_DTYPE_I8,
	MVC_DTYPE_F8_E5M2, MVC_DTYPE_F8_E4M3, MVC_DTYPE_F8_E8M0,
	MVC_DTYPE_I16, MVC_DTYPE_U16, MVC_DTYPE_F16, MVC_DTYPE_BF16,
	MVC_DTYPE_I32, MVC_DTYPE_U32, MVC_DTYPE_F32,
	MVC_DTYPE_F64, MVC_DTYPE_I64, MVC_DTYPE_U64, MVC_DTYPE_C64,
	MVC_DTYPE_F4, MVC_DTYPE_F6_E2M3, MVC_DTYPE_F6_E3M2,
	/* ggml block types (GGUF) */
	MVC_DTYPE_Q4_0, MVC_DTYPE_Q4_1, MVC_DTYPE_Q5_0, MVC_DTYPE_Q5_1,
	MVC_DTYPE_Q8_0, MVC_DTYPE_Q8_1, MVC_DTYPE_Q2_K, MVC_DTYPE_Q3_K,
	MVC_DTYPE_Q4_K, MVC_DTYPE_Q5_K, MVC_DTYPE_Q6_K, MVC_DTYPE_Q8_K,
	MVC_DTYPE_IQ2_XXS, MVC_DTYPE_IQ2_XS, MVC_DTYPE_IQ3_XXS, MVC_DTYPE_IQ1_S,
	MVC_DTYPE_IQ4_NL, MVC_DTYPE_IQ3_S, MVC_DTYPE_IQ2_S, MVC_DTYPE_IQ4_XS,
	MVC_DTYPE_IQ1_M, MVC_DTYPE_TQ1_0, MVC_DTYPE_TQ2_0, MVC_DTYPE_MXFP4,
	/* big-endian numeric types (NumPy) */
	MVC_DTYPE_I16_BE, MVC_DTYPE_U16_BE, MVC_DTYPE_F16_BE,
	MVC_DTYPE_I32_BE, MVC_DTYPE_U32_BE, MVC_DTYPE_F32_BE,
	MVC_DTYPE_F64_BE, MVC_DTYPE_I64_BE, MVC_DTYPE_U64_BE, MVC_DTYPE_C64_BE,
	MVC_DTYPE__COUNT
} mvc_dtype;

/* The last dtype of the safetensors specification: a safetensors file
 * holds only BOOL to this. */
#define MVC_DTYPE_SAFETENSORS_LAST MVC_DTYPE_F6_E3M2

/* The dtype named `name` ("F32", "BF16", ...), or MVC_DTYPE_UNKNOWN. */
mvc_dtype mvc_dtype_from_name(const char *name);
/* The canonical name of `dt` ("F32"), or "?" for an unknown value. */
const char *mvc_dtype_name(mvc_dtype dt);
/* Size of one element in bits (4 for F4, 6 for F6_*, 16 for BF16...);
 * 0 for a block type, whose elements have no whole number of bits. */
unsigned mvc_dtype_bits(mvc_dtype dt);
/* The width of a byte plane for byte grouping (4 for F32, 4 for C64,
 * 1 for anything of a byte or less, and for block types). */
unsigned mvc_dtype_plane_width(mvc_dtype dt);
/*
 * The smallest whole unit of a dtype: `*elems` elements in `*bytes`
 * bytes (1 and 4 for F32, 2 and 1 for F4, 4 and 3 for F6_*, 32 and 18
 * for Q4_0, 256 and 210 for Q6_K); 0 and 0 for an unknown value.  A
 * tensor holds a whole number of units, and mvc cuts chunks on them.
 */
void mvc_dtype_unit(mvc_dtype dt, unsigned *elems, unsigned *bytes);
/* The bytes of `nelem` elements of `dt` into `*out`: false when they
 * are not a whole number of units or the size overflows. */
bool mvc_dtype_size(uint64_t *out, mvc_dtype dt, uint64_t nelem);
/* Is `dt` one of ggml's block-quantised types (Q4_0 ... MXFP4)? */
bool mvc_dtype_is_block(mvc_dtype dt);
/* For a big-endian type, its little-endian twin (F32 for F32_BE); else
 * `dt` itself. */
mvc_dtype mvc_dtype_little(mvc_dtype dt);

#define MVC_MAX_DIMS 16

typedef struct mvc_tensor {
	char *name;                   /* UTF-8 bytes as in the file; never a path */
	mvc_dtype dtype;
	unsigned ndim;
	uint64_t shape[MVC_MAX_DIMS];
	uint64_t offset;              /* absolute offset of the data in the file */
	uint64_t size;                /* bytes of data */
} mvc_tensor;

/*
 * File formats (mvc-format(5) lists what mvc understands of each):
 * safetensors; GGUF v2 and v3; a NumPy .npy array; a NumPy .npz archive
 * of stored .npy members; and "opaque", any other file, kept whole as
 * one U8 pseudo-tensor cut into content-defined chunks.
 */
typedef enum mvc_format {
	MVC_FORMAT_UNKNOWN = 0,
	MVC_FORMAT_SAFETENSORS,
	MVC_FORMAT_GGUF,
	MVC_FORMAT_NPY,
	MVC_FORMAT_NPZ,
	MVC_FORMAT_OPAQUE
} mvc_format;

/* "safetensors", "gguf", "npy", "npz", "opaque"; "unknown" otherwise. */
const char *mvc_format_name(mvc_format f);
mvc_format mvc_format_from_name(const char *name);

/* The name of the one pseudo-tensor of an opaque file, and of the one
 * array of an .npy file. */
#define MVC_OPAQUE_TENSOR "bytes"
#define MVC_NPY_TENSOR "array"

/* A parsed model file: tensors sorted by offset, never overlapping. */
typedef struct mvc_layout {
	mvc_format format;
	uint64_t file_size;
	size_t ntensors;
	mvc_tensor *tensors;
} mvc_layout;

/* Largest safetensors JSON header accepted (untrusted input). */
#define MVC_SAFETENSORS_MAX_HEADER (100u * 1000u * 1000u)
/* Largest GGUF header (metadata and tensor infos) accepted. */
#define MVC_GGUF_MAX_HEADER (256u << 20)
/* Most tensors of a GGUF file or members of an .npz archive, most GGUF
 * metadata pairs, longest GGUF string, deepest GGUF array nesting. */
#define MVC_MAX_TENSORS (1u << 20)
#define MVC_GGUF_MAX_KV (1u << 20)
#define MVC_GGUF_MAX_STRING (64u << 20)
#define MVC_GGUF_MAX_DEPTH 4
/* Largest .npy header (the Python dict literal) accepted. */
#define MVC_NPY_MAX_HEADER (1u << 20)

/*
 * Parse the model file open on `fd` (of `file_size` bytes).  Format is
 * detected by content: a file of no format mvc parses is "opaque" (one
 * U8 pseudo-tensor over the whole file).  Fails with MVC_EFORMAT for a
 * file that looks like a known format but breaks its rules.  `what`
 * names the file in messages.
 */
int mvc_layout_read(mvc_layout **out, int fd, uint64_t file_size, const char *what);

/*
 * The same, with the format given: `format` forces it (MVC_FORMAT_UNKNOWN:
 * detect).  A file that is not of a forced format fails with MVC_EFORMAT;
 * any file can be read as MVC_FORMAT_OPAQUE.
 */
int mvc_layout_read_as(mvc_layout **out, int fd, uint64_t file_size, const char *what,
                       mvc_format format);

/*
 * The format a file starting with `head` (its first `len` bytes, at most
 * 64 are looked at) of `file_size` bytes seems to be, from its magic
 * bytes; MVC_FORMAT_OPAQUE when none matches.
 */
mvc_format mvc_format_detect(const unsigned char *head, size_t len, uint64_t file_size);

/*
 * Parsers of files held in memory, for tests and fuzzing: `data` holds
 * the first `len` bytes of a file of `file_size` bytes (all of it, or at
 * least its header; the tensor data need not be there).  Each checks
 * every count, length, offset and dimension before using it.
 */
int mvc_safetensors_parse(mvc_layout **out, const unsigned char *data, size_t len,
                          uint64_t file_size, const char *what);
int mvc_gguf_parse(mvc_layout **out, const unsigned char *data, size_t len,
                   uint64_t file_size, const char *what);
int mvc_npy_parse(mvc_layout **out, const unsigned char *data, size_t len,
                  uint64_t file_size, const char *what);
/* An .npz (zip) archive: `data` must hold the whole file. */
int mvc_npz_parse(mvc_layout **out, const unsigned char *data, size_t len,
                  uint64_t file_size, const char *what);

/* Number of elements of `t` (overflow is rejected when parsing). */
uint64_t mvc_tensor_nelem(const mvc_tensor *t);

void mvc_layout_free(mvc_layout *layout);

#ifdef __cplusplus
}
#endif
#endif
