/* Element types, formats, and format detection. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "bytesrc.h"

static const struct {
	const char *name;
	unsigned bits;
	unsigned plane;
	unsigned short belems, bbytes; /* block types: a block's elements and bytes */
} dtypes[MVC_DTYPE__COUNT] = {
	[MVC_DTYPE_UNKNOWN] = { "?", 0, 1, 0, 0 },
	[MVC_DTYPE_BOOL] = { "BOOL", 8, 1, 0, 0 },
	[MVC_DTYPE_U8] = { "U8", 8, 1, 0, 0 },
	[MVC_DTYPE_I8] = { "I8", 8, 1, 0, 0 },
	[MVC_DTYPE_F8_E5M2] = { "F8_E5M2", 8, 1, 0, 0 },
	[MVC_DTYPE_F8_E4M3] = { "F8_E4M3", 8, 1, 0, 0 },
	[MVC_DTYPE_F8_E8M0] = { "F8_E8M0", 8, 1, 0, 0 },
	[MVC_DTYPE_I16] = { "I16", 16, 2, 0, 0 },
	[MVC_DTYPE_U16] = { "U16", 16, 2, 0, 0 },
	[MVC_DTYPE_F16] = { "F16", 16, 2, 0, 0 },
	[MVC_DTYPE_BF16] = { "BF16", 16, 2, 0, 0 },
	[MVC_DTYPE_I32] = { "I32", 32, 4, 0, 0 },
	[MVC_DTYPE_U32] = { "U32", 32, 4, 0, 0 },
	[MVC_DTYPE_F32] = { "F32", 32, 4, 0, 0 },
	[MVC_DTYPE_F64] = { "F64", 64, 8, 0, 0 },
	[MVC_DTYPE_I64] = { "I64", 64, 8, 0, 0 },
	[MVC_DTYPE_U64] = { "U64", 64, 8, 0, 0 },
	/* complex64 is two float32s: group by the component */
	[MVC_DTYPE_C64] = { "C64", 64, 4, 0, 0 },
	[MVC_DTYPE_F4] = { "F4", 4, 1, 0, 0 },
	[MVC_DTYPE_F6_E2M3] = { "F6_E2M3", 6, 1, 0, 0 },
	[MVC_DTYPE_F6_E3M2] = { "F6_E3M2", 6, 1, 0, 0 },
	/* ggml's block types (ggml-common.h): elements and bytes per block */
	[MVC_DTYPE_Q4_0] = { "Q4_0", 0, 1, 32, 18 },
	[MVC_DTYPE_Q4_1] = { "Q4_1", 0, 1, 32, 20 },
	[MVC_DTYPE_Q5_0] = { "Q5_0", 0, 1, 32, 22 },
	[MVC_DTYPE_Q5_1] = { "Q5_1", 0, 1, 32, 24 },
	[MVC_DTYPE_Q8_0] = { "Q8_0", 0, 1, 32, 34 },
	[MVC_DTYPE_Q8_1] = { "Q8_1", 0, 1, 32, 36 },
	[MVC_DTYPE_Q2_K] = { "Q2_K", 0, 1, 256, 84 },
	[MVC_DTYPE_Q3_K] = { "Q3_K", 0, 1, 256, 110 },
	[MVC_DTYPE_Q4_K] = { "Q4_K", 0, 1, 256, 144 },
	[MVC_DTYPE_Q5_K] = { "Q5_K", 0, 1, 256, 176 },
	[MVC_DTYPE_Q6_K] = { "Q6_K", 0, 1, 256, 210 },
	[MVC_DTYPE_Q8_K] = { "Q8_K", 0, 1, 256, 292 },
	[MVC_DTYPE_IQ2_XXS] = { "IQ2_XXS", 0, 1, 256, 66 },
	[MVC_DTYPE_IQ2_XS] = { "IQ2_XS", 0, 1, 256, 74 },
	[MVC_DTYPE_IQ3_XXS] = { "IQ3_XXS", 0, 1, 256, 98 },
	[MVC_DTYPE_IQ1_S] = { "IQ1_S", 0, 1, 256, 50 },
	[MVC_DTYPE_IQ4_NL] = { "IQ4_NL", 0, 1, 32, 18 },
	[MVC_DTYPE_IQ3_S] = { "IQ3_S", 0, 1, 256, 110 },
	[MVC_DTYPE_IQ2_S] = { "IQ2_S", 0, 1, 256, 82 },
	[MVC_DTYPE_IQ4_XS] = { "IQ4_XS", 0, 1, 256, 136 },
	[MVC_DTYPE_IQ1_M] = { "IQ1_M", 0, 1, 256, 56 },
	[MVC_DTYPE_TQ1_0] = { "TQ1_0", 0, 1, 256, 54 },
	[MVC_DTYPE_TQ2_0] = { "TQ2_0", 0, 1, 256, 66 },
	[MVC_DTYPE_MXFP4] = { "MXFP4", 0, 1, 32, 17 },
	/* big-endian: grouped by the element (or component); never rotated */
	[MVC_DTYPE_I16_BE] = { "I16_BE", 16, 2, 0, 0 },
	[MVC_DTYPE_U16_BE] = { "U16_BE", 16, 2, 0, 0 },
	[MVC_DTYPE_F16_BE] = { "F16_BE", 16, 2, 0, 0 },
	[MVC_DTYPE_I32_BE] = { "I32_BE", 32, 4, 0, 0 },
	[MVC_DTYPE_U32_BE] = { "U32_BE", 32, 4, 0, 0 },
	[MVC_DTYPE_F32_BE] = { "F32_BE", 32, 4, 0, 0 },
	[MVC_DTYPE_F64_BE] = { "F64_BE", 64, 8, 0, 0 },
	[MVC_DTYPE_I64_BE] = { "I64_BE", 64, 8, 0, 0 },
	[MVC_DTYPE_U64_BE] = { "U64_BE", 64, 8, 0, 0 },
	[MVC_DTYPE_C64_BE] = { "C64_BE", 64, 4, 0, 0 },
};

mvc_dtype mvc_dtype_from_name(const char *name)
{
	for (int i = 1; i < MVC_DTYPE__COUNT; i++)
		if (!strcmp(dtypes[i].name, name))
			return (mvc_dtype)i;
	return MVC_DTYPE_UNKNOWN;
}

const char *mvc_dtype_name(mvc_dtype dt)
{
	return (unsigned)dt < MVC_DTYPE__COUNT ? dtypes[dt].name : "?";
}

unsigned mvc_dtype_bits(mvc_dtype dt)
{
	return (unsigned)dt < MVC_DTYPE__COUNT ? dtypes[dt].bits : 0;
}

unsigned mvc_dtype_plane_width(mvc_dtype dt)
{
	return (unsigned)dt < MVC_DTYPE__COUNT ? dtypes[dt].plane : 1;
}

bool mvc_dtype_is_block(mvc_dtype dt)
{
	return (unsigned)dt < MVC_DTYPE__COUNT && dtypes[dt].belems != 0;
}

void mvc_dtype_unit(mvc_dtype dt, unsigned *elems, unsigned *bytes)
{
	unsigned bits = mvc_dtype_bits(dt);

	*elems = *bytes = 0;
	if (mvc_dtype_is_block(dt)) {
		*elems = dtypes[dt].belems;
		*bytes = dtypes[dt].bbytes;
	} else if (bits) {
		/* the fewest elements that fill whole bytes: 8 / gcd(bits, 8) */
		unsigned g = bits % 8 == 0 ? 8 : bits % 4 == 0 ? 4 : bits % 2 == 0 ? 2 : 1;

		*elems = 8 / g;
		*bytes = bits * *elems / 8;
	}
}

bool mvc_dtype_size(uint64_t *out, mvc_dtype dt, uint64_t nelem)
{
	unsigned elems, bytes;

	mvc_dtype_unit(dt, &elems, &bytes);
	if (!elems || nelem % elems)
		return false;
	return mvc_mul_u64(out, nelem / elems, bytes);
}

mvc_dtype mvc_dtype_little(mvc_dtype dt)
{
	switch (dt) {
	case MVC_DTYPE_I16_BE: return MVC_DTYPE_I16;
	case MVC_DTYPE_U16_BE: return MVC_DTYPE_U16;
	case MVC_DTYPE_F16_BE: return MVC_DTYPE_F16;
	case MVC_DTYPE_I32_BE: return MVC_DTYPE_I32;
	case MVC_DTYPE_U32_BE: return MVC_DTYPE_U32;
	case MVC_DTYPE_F32_BE: return MVC_DTYPE_F32;
	case MVC_DTYPE_F64_BE: return MVC_DTYPE_F64;
	case MVC_DTYPE_I64_BE: return MVC_DTYPE_I64;
	case MVC_DTYPE_U64_BE: return MVC_DTYPE_U64;
	case MVC_DTYPE_C64_BE: return MVC_DTYPE_C64;
	default: return dt;
	}
}

static const char *const format_names[] = {
	[MVC_FORMAT_SAFETENSORS] = "safetensors",
	[MVC_FORMAT_GGUF] = "gguf",
	[MVC_FORMAT_NPY] = "npy",
	[MVC_FORMAT_NPZ] = "npz",
	[MVC_FORMAT_OPAQUE] = "opaque",
};

const char *mvc_format_name(mvc_format f)
{
	if (f > MVC_FORMAT_UNKNOWN && (size_t)f < MVC_ARRAY_SIZE(format_names))
		return format_names[f];
	return "unknown";
}

mvc_format mvc_format_from_name(const char *name)
{
	for (size_t i = 1; name && i < MVC_ARRAY_SIZE(format_names); i++)
		if (!strcmp(name, format_names[i]))
			return (mvc_format)i;
	return MVC_FORMAT_UNKNOWN;
}

uint64_t mvc_tensor_nelem(const mvc_tensor *t)
{
	uint64_t n = 1;

	for (unsigned i = 0; i < t->ndim; i++)
		n *= t->shape[i];
	return n;
}

void mvc_layout_free(mvc_layout *layout)
{
	if (!layout)
		return;
	for (size_t i = 0; i < layout->ntensors; i++)
		free(layout->tensors[i].name);
	free(layout->tensors);
	free(layout);
}

mvc_format mvc_format_detect(const unsigned char *p, size_t n, uint64_t size)
{
	if (n > size)
		n = (size_t)size;
	/* safetensors: a little-endian u64 header length, then '{'.  A length
	 * below 2^40 tells it from text that happens to have '{' at byte 8;
	 * one beyond the end of the file is a truncated model, refused. */
	if (n >= 9 && p[8] == '{' && !p[5] && !p[6] && !p[7])
		return MVC_FORMAT_SAFETENSORS;
	if (n >= 4 && !memcmp(p, "GGUF", 4))
		return MVC_FORMAT_GGUF;
	if (n >= 6 && !memcmp(p, "\x93NUMPY", 6))
		return MVC_FORMAT_NPY;
	/* a zip: a local file header, or the end record of an empty archive */
	if (n >= 4 && (!memcmp(p, "PK\x03\x04", 4) || !memcmp(p, "PK\x05\x06", 4)))
		return MVC_FORMAT_NPZ;
	return MVC_FORMAT_OPAQUE;
}

/* Any file: one U8 pseudo-tensor over all of it, cut later into
 * content-defined chunks (lib/scan.c). */
static int opaque_layout(mvc_layout **out, uint64_t file_size)
{
	mvc_layout *l;

	if (!(l = mvc__calloc(1, sizeof(*l))) || !(l->tensors = mvc__calloc(1, sizeof(*l->tensors))) ||
	    !(l->tensors[0].name = mvc__strdup(MVC_OPAQUE_TENSOR))) {
		mvc_layout_free(l);
		return MVC_ENOMEM;
	}
	l->format = MVC_FORMAT_OPAQUE;
	l->file_size = file_size;
	l->ntensors = 1;
	l->tensors[0].dtype = MVC_DTYPE_U8;
	l->tensors[0].ndim = 1;
	l->tensors[0].shape[0] = file_size;
	l->tensors[0].size = file_size;
	*out = l;
	return 0;
}

static int read_safetensors(mvc_layout **out, int fd, uint64_t file_size, const char *what,
                            const unsigned char *head, size_t n)
{
	unsigned char *hdr = NULL;
	uint64_t hlen = 0;
	int error;

	if (n < 9 || head[8] != '{')
		return mvc__err(MVC_EFORMAT, "'%s' is not a safetensors file (no JSON header)", what);
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | head[i];
	if (hlen > file_size - 8)
		return mvc__err(MVC_EFORMAT,
		    "'%s': safetensors header length %llu is beyond the end of the "
		    "%llu-byte file (truncated?)", what, (unsigned long long)hlen,
		    (unsigned long long)file_size);
	if (hlen > MVC_SAFETENSORS_MAX_HEADER)
		return mvc__err(MVC_EFORMAT,
		    "'%s': safetensors header of %llu bytes is over the %u-byte limit",
		    what, (unsigned long long)hlen, MVC_SAFETENSORS_MAX_HEADER);
	if (!(hdr = mvc__malloc((size_t)hlen + 8)))
		return MVC_ENOMEM;
	if ((error = mvc_read_at(fd, hdr, (size_t)hlen + 8, 0, what)) == 0)
		error = mvc_safetensors_parse(out, hdr, (size_t)hlen + 8, file_size, what);
	free(hdr);
	return error;
}

int mvc_layout_read_as(mvc_layout **out, int fd, uint64_t file_size, const char *what,
                       mvc_format format)
{
	unsigned char head[64];
	size_t n = file_size < sizeof(head) ? (size_t)file_size : sizeof(head);
	mvc_format f = format;
	int error;

	*out = NULL;
	if ((error = mvc_read_at(fd, head, n, 0, what)) < 0)
		return error;
	if (f == MVC_FORMAT_UNKNOWN)
		f = mvc_format_detect(head, n, file_size);
	switch (f) {
	case MVC_FORMAT_SAFETENSORS:
		return read_safetensors(out, fd, file_size, what, head, n);
	case MVC_FORMAT_GGUF:
		return mvc__gguf_read(out, fd, file_size, what);
	case MVC_FORMAT_NPY:
		error = mvc__npy_read(out, fd, file_size, what);
		/* a valid .npy of a dtype mvc has no type for: any other file */
		if (error == MVC_EUNSUPPORTED && format == MVC_FORMAT_UNKNOWN)
			break;
		return error;
	case MVC_FORMAT_NPZ:
		error = mvc__npz_read(out, fd, file_size, what);
		/* a zip that is not an archive of stored .npy members (PyTorch,
		 * a compressed .npz, a damaged zip): any other file */
		if (error < 0 && error != MVC_ENOMEM && error != MVC_EIO &&
		    format == MVC_FORMAT_UNKNOWN)
			break;
		return error;
	case MVC_FORMAT_OPAQUE:
		return opaque_layout(out, file_size);
	default:
		return mvc__err(MVC_EINVALID, "unknown format");
	}
	mvc_error_clear();
	return opaque_layout(out, file_size);
}

int mvc_layout_read(mvc_layout **out, int fd, uint64_t file_size, const char *what)
{
	return mvc_layout_read_as(out, fd, file_size, what, MVC_FORMAT_UNKNOWN);
}
