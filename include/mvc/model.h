#ifndef MVC_MODEL_H
#define MVC_MODEL_H
/*
 * Model files as mvc sees them: a sequence of tensors (name, dtype,
 * shape, byte range) and the bytes between them (headers, padding), which
 * mvc keeps verbatim so that a file round-trips bit for bit.
 */
#include <stdio.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types: every dtype of the safetensors specification. */
typedef enum mvc_dtype {
	MVC_DTYPE_UNKNOWN = 0,
	MVC_DTYPE_BOOL, MVC_DTYPE_U8, MVC_DTYPE_I8,
	MVC_DTYPE_F8_E5M2, MVC_DTYPE_F8_E4M3, MVC_DTYPE_F8_E8M0,
	MVC_DTYPE_I16, MVC_DTYPE_U16, MVC_DTYPE_F16, MVC_DTYPE_BF16,
	MVC_DTYPE_I32, MVC_DTYPE_U32, MVC_DTYPE_F32,
	MVC_DTYPE_F64, MVC_DTYPE_I64, MVC_DTYPE_U64, MVC_DTYPE_C64,
	MVC_DTYPE_F4, MVC_DTYPE_F6_E2M3, MVC_DTYPE_F6_E3M2,
	MVC_DTYPE__COUNT
} mvc_dtype;

/* The dtype named `name` ("F32", "BF16", ...), or MVC_DTYPE_UNKNOWN. */
mvc_dtype mvc_dtype_from_name(const char *name);
/* The canonical name of `dt` ("F32"), or "?" for an unknown value. */
const char *mvc_dtype_name(mvc_dtype dt);
/* Size of one element in bits (4 for F4, 6 for F6_*, 16 for BF16...). */
unsigned mvc_dtype_bits(mvc_dtype dt);
/* The width of a byte plane for byte grouping (4 for F32, 4 for C64,
 * 1 for anything of a byte or less). */
unsigned mvc_dtype_plane_width(mvc_dtype dt);

#define MVC_MAX_DIMS 16

typedef struct mvc_tensor {
	char *name;                   /* UTF-8 bytes as in the file; never a path */
	mvc_dtype dtype;
	unsigned ndim;
	uint64_t shape[MVC_MAX_DIMS];
	uint64_t offset;              /* absolute offset of the data in the file */
	uint64_t size;                /* bytes of data */
} mvc_tensor;

typedef enum mvc_format {
	MVC_FORMAT_UNKNOWN = 0,
	MVC_FORMAT_SAFETENSORS
} mvc_format;

const char *mvc_format_name(mvc_format f);
mvc_format mvc_format_from_name(const char *name);

/* A parsed model file: tensors sorted by offset, never overlapping. */
typedef struct mvc_layout {
	mvc_format format;
	uint64_t file_size;
	size_t ntensors;
	mvc_tensor *tensors;
} mvc_layout;

/* Largest safetensors JSON header accepted (untrusted input). */
#define MVC_SAFETENSORS_MAX_HEADER (100u * 1000u * 1000u)

/*
 * Parse the model file open on `fd` (of `file_size` bytes).  Format is
 * detected by content.  Fails with MVC_EFORMAT for a file that looks like
 * a known format but breaks its rules, and MVC_EUNSUPPORTED for a file of
 * no known format.  `what` names the file in messages.
 */
int mvc_layout_read(mvc_layout **out, int fd, uint64_t file_size, const char *what);

/* Parse a safetensors file held in memory (for tests and fuzzing). */
int mvc_safetensors_parse(mvc_layout **out, const unsigned char *data, size_t len,
                          uint64_t file_size, const char *what);

/* Number of elements of `t` (overflow is rejected when parsing). */
uint64_t mvc_tensor_nelem(const mvc_tensor *t);

void mvc_layout_free(mvc_layout *layout);

#ifdef __cplusplus
}
#endif
#endif
