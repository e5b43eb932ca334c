/* Element types, formats, and format detection. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static const struct {
	const char *name;
	unsigned bits;
	unsigned plane;
} dtypes[MVC_DTYPE__COUNT] = {
	[MVC_DTYPE_UNKNOWN] = { "?", 0, 1 },
	[MVC_DTYPE_BOOL] = { "BOOL", 8, 1 },
	[MVC_DTYPE_U8] = { "U8", 8, 1 },
	[MVC_DTYPE_I8] = { "I8", 8, 1 },
	[MVC_DTYPE_F8_E5M2] = { "F8_E5M2", 8, 1 },
	[MVC_DTYPE_F8_E4M3] = { "F8_E4M3", 8, 1 },
	[MVC_DTYPE_F8_E8M0] = { "F8_E8M0", 8, 1 },
	[MVC_DTYPE_I16] = { "I16", 16, 2 },
	[MVC_DTYPE_U16] = { "U16", 16, 2 },
	[MVC_DTYPE_F16] = { "F16", 16, 2 },
	[MVC_DTYPE_BF16] = { "BF16", 16, 2 },
	[MVC_DTYPE_I32] = { "I32", 32, 4 },
	[MVC_DTYPE_U32] = { "U32", 32, 4 },
	[MVC_DTYPE_F32] = { "F32", 32, 4 },
	[MVC_DTYPE_F64] = { "F64", 64, 8 },
	[MVC_DTYPE_I64] = { "I64", 64, 8 },
	[MVC_DTYPE_U64] = { "U64", 64, 8 },
	/* complex64 is two float32s: group by the component */
	[MVC_DTYPE_C64] = { "C64", 64, 4 },
	[MVC_DTYPE_F4] = { "F4", 4, 1 },
	[MVC_DTYPE_F6_E2M3] = { "F6_E2M3", 6, 1 },
	[MVC_DTYPE_F6_E3M2] = { "F6_E3M2", 6, 1 },
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

const char *mvc_format_name(mvc_format f)
{
	switch (f) {
	case MVC_FORMAT_SAFETENSORS: return "safetensors";
	default: return "unknown";
	}
}

mvc_format mvc_format_from_name(const char *name)
{
	if (!strcmp(name, "safetensors"))
		return MVC_FORMAT_SAFETENSORS;
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

/* Does the start of a file look like safetensors? (length < size, '{') */
static bool looks_like_safetensors(const unsigned char *p, size_t n, uint64_t size)
{
	uint64_t hlen = 0;

	if (n < 9 || size < 9)
		return false;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | p[i];
	return hlen <= size - 8 && p[8] == '{';
}

int mvc_layout_read(mvc_layout **out, int fd, uint64_t file_size, const char *what)
{
	unsigned char head[16];
	size_t n = file_size < sizeof(head) ? (size_t)file_size : sizeof(head);
	unsigned char *hdr = NULL;
	uint64_t hlen = 0;
	int error;

	*out = NULL;
	if ((error = mvc_read_at(fd, head, n, 0, what)) < 0)
		return error;
	if (n >= 9 && head[8] == '{') {
		for (int i = 7; i >= 0; i--)
			hlen = hlen << 8 | head[i];
		if (!looks_like_safetensors(head, n, file_size))
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
	return mvc__err(MVC_EUNSUPPORTED,
	    "'%s' is not a model file mvc can read (supported: safetensors)", what);
}
