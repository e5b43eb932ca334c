/*
 * GGUF (llama.cpp), versions 2 and 3, little-endian:
 *
 *   "GGUF"  u32 version  u64 tensor_count  u64 metadata_count
 *   metadata_count x (string key, u32 type, value)
 *   tensor_count x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type,
 *                   u64 offset)
 *   padding to general.alignment (default 32), then the tensor data
 *
 * A string is a u64 length and that many bytes; an array is a u32 element
 * type, a u64 count and the elements.  Offsets are relative to the start
 * of the data and multiples of the alignment.  ne[0] is the innermost
 * dimension: mvc records the shape in row-major order (ne reversed), so
 * that a row of a block-quantised tensor is ne[0] / block elements' worth
 * of whole blocks.
 *
 * Everything here is untrusted: the header is read through a bounded
 * cursor (never more than MVC_GGUF_MAX_HEADER bytes, never past the end
 * of the file), and every count is checked against what is left before
 * anything is allocated for it.
 */
#include <stdlib.h>
#include <string.h>
#include "bytesrc.h"

enum {
	T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STRING, T_ARRAY,
	T_U64, T_I64, T_F64, T__COUNT
};
static const unsigned char scalar_size[T__COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

#define DEFAULT_ALIGNMENT 32
#define MAX_ALIGNMENT (1u << 24)
#define MAX_NAME 4096

/* ggml_type numbers (ggml.h) of the types mvc knows. */
static const struct { uint32_t id; mvc_dtype dt; } ggml_types[] = {
	{ 0, MVC_DTYPE_F32 }, { 1, MVC_DTYPE_F16 }, { 2, MVC_DTYPE_Q4_0 }, { 3, MVC_DTYPE_Q4_1 },
	{ 6, MVC_DTYPE_Q5_0 }, { 7, MVC_DTYPE_Q5_1 }, { 8, MVC_DTYPE_Q8_0 }, { 9, MVC_DTYPE_Q8_1 },
	{ 10, MVC_DTYPE_Q2_K }, { 11, MVC_DTYPE_Q3_K }, { 12, MVC_DTYPE_Q4_K },
	{ 13, MVC_DTYPE_Q5_K }, { 14, MVC_DTYPE_Q6_K }, { 15, MVC_DTYPE_Q8_K },
	{ 16, MVC_DTYPE_IQ2_XXS }, { 17, MVC_DTYPE_IQ2_XS }, { 18, MVC_DTYPE_IQ3_XXS },
	{ 19, MVC_DTYPE_IQ1_S }, { 20, MVC_DTYPE_IQ4_NL }, { 21, MVC_DTYPE_IQ3_S },
	{ 22, MVC_DTYPE_IQ2_S }, { 23, MVC_DTYPE_IQ4_XS }, { 24, MVC_DTYPE_I8 },
	{ 25, MVC_DTYPE_I16 }, { 26, MVC_DTYPE_I32 }, { 27, MVC_DTYPE_I64 },
	{ 28, MVC_DTYPE_F64 }, { 29, MVC_DTYPE_IQ1_M }, { 30, MVC_DTYPE_BF16 },
	{ 34, MVC_DTYPE_TQ1_0 }, { 35, MVC_DTYPE_TQ2_0 }, { 39, MVC_DTYPE_MXFP4 },
};

mvc_dtype mvc__ggml_dtype(uint32_t type)
{
	for (size_t i = 0; i < MVC_ARRAY_SIZE(ggml_types); i++)
		if (ggml_types[i].id == type)
			return ggml_types[i].dt;
	return MVC_DTYPE_UNKNOWN;
}

/* A forward-only reader over the header, through a window of the file. */
typedef struct cur {
	const mvc__src *s;
	uint64_t pos, limit;          /* limit: the end of what may be header */
	const unsigned char *win;     /* bytes [wpos, wpos + wlen) of the file */
	uint64_t wpos;
	size_t wlen;
	unsigned char buf[1 << 16];
} cur;

static int past_limit(cur *c, uint64_t need)
{
	const mvc__src *s = c->s;

	if (need > s->size || (s->mem && need > s->memlen))
		return mvc__err(MVC_EFORMAT,
		    "'%s': truncated GGUF file (%llu bytes; the header needs %llu)", s->what,
		    (unsigned long long)s->size, (unsigned long long)need);
	return mvc__err(MVC_EFORMAT, "'%s': GGUF header is over the %u-byte limit", s->what,
	    MVC_GGUF_MAX_HEADER);
}

/* Make `n` bytes at the position readable: a pointer to them in *p. */
static int need(cur *c, const unsigned char **p, size_t n)
{
	uint64_t end;
	int error;

	if (!mvc_add_u64(&end, c->pos, n) || end > c->limit ||
	    (c->s->mem && end > c->s->memlen))
		return past_limit(c, mvc_add_u64(&end, c->pos, n) ? end : UINT64_MAX);
	if (c->s->mem) {
		*p = c->s->mem + c->pos;
		return 0;
	}
	if (c->pos < c->wpos || end > c->wpos + c->wlen) {
		size_t len = sizeof(c->buf);

		if (n > len)
			return mvc__err(MVC_EFORMAT, "'%s': a GGUF header item is too large",
			    c->s->what);
		if (c->limit - c->pos < len)
			len = (size_t)(c->limit - c->pos);
		if ((error = mvc__src_read(c->s, c->buf, len, c->pos)) < 0)
			return error;
		c->win = c->buf;
		c->wpos = c->pos;
		c->wlen = len;
	}
	*p = c->win + (c->pos - c->wpos);
	return 0;
}

static int get(cur *c, void *dst, size_t n)
{
	const unsigned char *p;
	int error;

	if ((error = need(c, &p, n)) < 0)
		return error;
	memcpy(dst, p, n);
	c->pos += n;
	return 0;
}

static int u32(cur *c, uint32_t *v)
{
	unsigned char b[4] = { 0 };
	int error = get(c, b, 4);

	*v = mvc__le32(b);
	return error;
}

static int u64(cur *c, uint64_t *v)
{
	unsigned char b[8] = { 0 };
	int error = get(c, b, 8);

	*v = mvc__le64(b);
	return error;
}

/* Skip `n` bytes that must all be in the header. */
static int skip(cur *c, uint64_t n)
{
	uint64_t end;

	if (!mvc_add_u64(&end, c->pos, n) || end > c->limit)
		return past_limit(c, mvc_add_u64(&end, c->pos, n) ? end : UINT64_MAX);
	c->pos = end;
	return 0;
}

/* A string's length, checked against the limit and what is left. */
static int str_len(cur *c, uint64_t *len, const char *what_str)
{
	int error;

	if ((error = u64(c, len)) < 0)
		return error;
	if (*len > MVC_GGUF_MAX_STRING)
		return mvc__err(MVC_EFORMAT, "'%s': GGUF %s of %llu bytes is over the %u-byte limit",
		    c->s->what, what_str, (unsigned long long)*len, MVC_GGUF_MAX_STRING);
	if (*len > c->limit - c->pos)
		return past_limit(c, c->pos + *len);
	return 0;
}

static int value(cur *c, uint32_t type, unsigned depth, const char *key);

static int array(cur *c, unsigned depth, const char *key)
{
	uint32_t type;
	uint64_t count, bytes;
	int error;

	if ((error = u32(c, &type)) < 0 || (error = u64(c, &count)) < 0)
		return error;
	if (type >= T__COUNT)
		return mvc__err(MVC_EFORMAT, "'%s': GGUF metadata '%s': unknown array element type %u",
		    c->s->what, key, type);
	if (type != T_STRING && type != T_ARRAY) {
		if (!mvc_mul_u64(&bytes, count, scalar_size[type]))
			return past_limit(c, UINT64_MAX);
		return skip(c, bytes);
	}
	/* strings take 8 bytes at least, arrays 12: the count must fit */
	if (count > (c->limit - c->pos) / (type == T_STRING ? 8 : 12))
		return past_limit(c, UINT64_MAX);
	if (type == T_ARRAY && depth + 1 >= MVC_GGUF_MAX_DEPTH)
		return mvc__err(MVC_EFORMAT, "'%s': GGUF metadata '%s': arrays nested over %u deep",
		    c->s->what, key, MVC_GGUF_MAX_DEPTH);
	for (uint64_t i = 0; i < count; i++)
		if ((error = value(c, type, depth + 1, key)) < 0)
			return error;
	return 0;
}

static int value(cur *c, uint32_t type, unsigned depth, const char *key)
{
	uint64_t len;
	int error;

	switch (type) {
	case T_STRING:
		if ((error = str_len(c, &len, "string")) < 0)
			return error;
		return skip(c, len);
	case T_ARRAY:
		return array(c, depth, key);
	default:
		if (type >= T__COUNT)
			return mvc__err(MVC_EFORMAT, "'%s': GGUF metadata '%s': unknown value type %u",
			    c->s->what, key, type);
		return skip(c, scalar_size[type]);
	}
}

/* The metadata: every value skipped but general.alignment. */
static int metadata(cur *c, uint64_t nkv, uint32_t *alignment)
{
	char key[MVC_QUOTE_MAX + 1], q[MVC_QUOTE_MAX];
	int seen = 0, error;

	for (uint64_t i = 0; i < nkv; i++) {
		uint64_t klen;
		uint32_t type;
		const unsigned char *p;
		size_t kcopy;

		if ((error = str_len(c, &klen, "key")) < 0)
			return error;
		kcopy = klen < MVC_QUOTE_MAX ? (size_t)klen : MVC_QUOTE_MAX;
		if ((error = need(c, &p, kcopy)) < 0)
			return error;
		memcpy(key, p, kcopy);
		key[kcopy] = '\0';
		mvc_quote(q, sizeof(q), key);
		if ((error = skip(c, klen)) < 0 || (error = u32(c, &type)) < 0)
			return error;
		if (klen == 17 && !memcmp(key, "general.alignment", 17)) {
			if (seen++)
				return mvc__err(MVC_EFORMAT, "'%s': GGUF general.alignment is given twice",
				    c->s->what);
			if (type != T_U32)
				return mvc__err(MVC_EFORMAT,
				    "'%s': GGUF general.alignment is not a u32 (type %u)", c->s->what, type);
			if ((error = u32(c, alignment)) < 0)
				return error;
			if (*alignment == 0 || (*alignment & (*alignment - 1)) ||
			    *alignment > MAX_ALIGNMENT)
				return mvc__err(MVC_EFORMAT,
				    "'%s': GGUF general.alignment %u is not a power of two up to %u",
				    c->s->what, *alignment, MAX_ALIGNMENT);
			continue;
		}
		if ((error = value(c, type, 0, q)) < 0)
			return error;
	}
	return 0;
}

/* One tensor info; offsets stay relative to the data for now. */
static int tensor_info(cur *c, mvc_tensor *t, uint64_t idx)
{
	char q[MVC_QUOTE_MAX];
	const unsigned char *p;
	uint64_t len, nelem = 1, ne[MVC_MAX_DIMS];
	uint32_t ndim, type;
	unsigned belems, bbytes;
	int error;

	if ((error = str_len(c, &len, "tensor name")) < 0)
		return error;
	if (len == 0 || len > MAX_NAME)
		return mvc__err(MVC_EFORMAT, "'%s': GGUF tensor %llu has a name of %llu bytes "
		    "(1 to %u allowed)", c->s->what, (unsigned long long)idx,
		    (unsigned long long)len, MAX_NAME);
	if ((error = need(c, &p, (size_t)len)) < 0)
		return error;
	if (!mvc__utf8_ok(p, (size_t)len))
		return mvc__err(MVC_EFORMAT, "'%s': GGUF tensor %llu has a name that is not UTF-8 "
		    "text", c->s->what, (unsigned long long)idx);
	if (!(t->name = mvc__strndup((const char *)p, (size_t)len)))
		return MVC_ENOMEM;
	c->pos += len;
	mvc_quote(q, sizeof(q), t->name);
	if ((error = u32(c, &ndim)) < 0)
		return error;
	if (ndim > MVC_MAX_DIMS)
		return mvc__err(MVC_EFORMAT, "'%s': tensor '%s' has %u dimensions (at most %d)",
		    c->s->what, q, ndim, MVC_MAX_DIMS);
	for (uint32_t d = 0; d < ndim; d++) {
		if ((error = u64(c, &ne[d])) < 0)
			return error;
		if (ne[d] > (uint64_t)INT64_MAX)
			return mvc__err(MVC_EFORMAT, "'%s': tensor '%s': dimension %u is negative",
			    c->s->what, q, d);
		if (!mvc_mul_u64(&nelem, nelem, ne[d]))
			return mvc__err(MVC_EFORMAT, "'%s': tensor '%s': shape product overflows",
			    c->s->what, q);
		t->shape[ndim - 1 - d] = ne[d];  /* row-major: ne reversed */
	}
	t->ndim = ndim;
	if ((error = u32(c, &type)) < 0 || (error = u64(c, &t->offset)) < 0)
		return error;
	if ((t->dtype = mvc__ggml_dtype(type)) == MVC_DTYPE_UNKNOWN)
		return mvc__err(MVC_EFORMAT, "'%s': tensor '%s' has unknown ggml type %u", c->s->what,
		    q, type);
	mvc_dtype_unit(t->dtype, &belems, &bbytes);
	/* a row (ne[0] elements) is a whole number of blocks */
	if ((ndim ? ne[0] : 1) % belems)
		return mvc__err(MVC_EFORMAT,
		    "'%s': tensor '%s': a row of %llu elements is not a whole number of %s blocks "
		    "of %u", c->s->what, q, (unsigned long long)(ndim ? ne[0] : 1),
		    mvc_dtype_name(t->dtype), belems);
	if (!mvc_dtype_size(&t->size, t->dtype, nelem))
		return mvc__err(MVC_EFORMAT, "'%s': tensor '%s': size overflows", c->s->what, q);
	return 0;
}

static int parse(mvc_layout **out, const mvc__src *s)
{
	cur *c = NULL;
	mvc_layout *l = NULL;
	unsigned char head[24];
	uint32_t version, alignment = DEFAULT_ALIGNMENT;
	uint64_t ntensors, nkv, data_start, pos;
	char q[MVC_QUOTE_MAX];
	int error;

	*out = NULL;
	if ((error = mvc__src_read(s, head, 8, 0)) < 0)
		return error;
	if (memcmp(head, "GGUF", 4))
		return mvc__err(MVC_EFORMAT, "'%s' is not a GGUF file (no \"GGUF\" magic)", s->what);
	version = mvc__le32(head + 4);
	if (version == 1)
		return mvc__err(MVC_EUNSUPPORTED,
		    "'%s': GGUF version 1 is not supported (convert it with a current llama.cpp; "
		    "--format opaque stores it as any other file)", s->what);
	if (version != 2 && version != 3) {
		if ((version & 0xffff) == 0 && version != 0)
			return mvc__err(MVC_EUNSUPPORTED,
			    "'%s': a big-endian GGUF file is not supported (--format opaque stores it "
			    "as any other file)", s->what);
		return mvc__err(MVC_EUNSUPPORTED,
		    "'%s': GGUF version %u is not supported (mvc reads versions 2 and 3)", s->what,
		    version);
	}
	if (!(c = mvc__calloc(1, sizeof(*c))))
		return MVC_ENOMEM;
	c->s = s;
	c->pos = 8;
	c->limit = s->size < MVC_GGUF_MAX_HEADER ? s->size : MVC_GGUF_MAX_HEADER;
	if ((error = u64(c, &ntensors)) < 0 || (error = u64(c, &nkv)) < 0)
		goto done;
	/* a tensor info takes 24 bytes at least, a metadata pair 13 */
	if (ntensors > MVC_MAX_TENSORS || ntensors > (c->limit - c->pos) / 24) {
		error = mvc__err(MVC_EFORMAT, "'%s': GGUF tensor count %llu is more than the file can "
		    "hold (or over %u)", s->what, (unsigned long long)ntensors, MVC_MAX_TENSORS);
		goto done;
	}
	if (nkv > MVC_GGUF_MAX_KV || nkv > (c->limit - c->pos) / 13) {
		error = mvc__err(MVC_EFORMAT, "'%s': GGUF metadata count %llu is more than the file "
		    "can hold (or over %u)", s->what, (unsigned long long)nkv, MVC_GGUF_MAX_KV);
		goto done;
	}
	if ((error = metadata(c, nkv, &alignment)) < 0)
		goto done;
	if (!(l = mvc__calloc(1, sizeof(*l))) ||
	    !(l->tensors = mvc__calloc((size_t)ntensors + 1, sizeof(*l->tensors)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	l->format = MVC_FORMAT_GGUF;
	l->file_size = s->size;
	for (uint64_t i = 0; i < ntensors; i++) {
		l->ntensors = (size_t)i + 1;
		if ((error = tensor_info(c, &l->tensors[i], i)) < 0)
			goto done;
	}
	/* the data starts at the next multiple of the alignment */
	data_start = c->pos + (alignment - c->pos % alignment) % alignment;
	if (ntensors && data_start > s->size) {
		error = mvc__err(MVC_EFORMAT, "'%s': truncated GGUF file (the data would start at "
		    "byte %llu of %llu)", s->what, (unsigned long long)data_start,
		    (unsigned long long)s->size);
		goto done;
	}
	for (size_t i = 0; i < l->ntensors; i++) {
		mvc_tensor *t = &l->tensors[i];
		uint64_t end;

		mvc_quote(q, sizeof(q), t->name);
		if (t->offset % alignment) {
			error = mvc__err(MVC_EFORMAT, "'%s': tensor '%s': offset %llu is not a multiple "
			    "of the alignment %u", s->what, q, (unsigned long long)t->offset, alignment);
			goto done;
		}
		if (!mvc_add_u64(&t->offset, t->offset, data_start) ||
		    !mvc_add_u64(&end, t->offset, t->size) || end > s->size) {
			error = mvc__err(MVC_EFORMAT, "'%s': tensor '%s' lies beyond the end of the file "
			    "(truncated?)", s->what, q);
			goto done;
		}
	}
	if ((error = mvc__layout_sort_check(l, s->what)) < 0)
		goto done;
	/* between and after the tensors only padding, less than the alignment:
	 * no room for bytes that would belong to nothing */
	pos = l->ntensors ? data_start : c->pos;
	for (size_t i = 0; i <= l->ntensors; i++) {
		uint64_t next = i < l->ntensors ? l->tensors[i].offset : s->size;

		if (next - pos >= alignment) {
			error = mvc__err(MVC_EFORMAT, "'%s': bytes %llu to %llu of the GGUF file belong "
			    "to no tensor", s->what, (unsigned long long)pos, (unsigned long long)next);
			goto done;
		}
		if (i < l->ntensors)
			pos = l->tensors[i].offset + l->tensors[i].size;
	}
	*out = l;
	l = NULL;
	error = 0;
done:
	free(c);
	mvc_layout_free(l);
	return error;
}

int mvc_gguf_parse(mvc_layout **out, const unsigned char *data, size_t len, uint64_t file_size,
                   const char *what)
{
	mvc__src s = { data, len, -1, file_size, what, "GGUF" };

	return parse(out, &s);
}

int mvc__gguf_read(mvc_layout **out, int fd, uint64_t file_size, const char *what)
{
	mvc__src s = { NULL, 0, fd, file_size, what, "GGUF" };

	return parse(out, &s);
}
