/*
 * safetensors: 8-byte little-endian header length, a JSON object of
 * tensors {"dtype", "shape", "data_offsets"} and "__metadata__", then
 * the data.  Everything here is untrusted: every number is range-checked
 * and every size product checked for overflow before use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "internal.h"

static int cmp_offset(const void *a, const void *b)
{
	const mvc_tensor *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	/* zero-length tensors may share an offset: keep a stable order */
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int get_u64(uint64_t *out, json_t *v)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int parse_tensor(mvc_tensor *t, const char *name, json_t *info,
                        uint64_t data_size, const char *what)
{
	char q[MVC_QUOTE_MAX];
	json_t *dtype, *shape, *offs, *v;
	uint64_t nelem = 1, bits, begin, end;
	size_t i;

	mvc_quote(q, sizeof(q), name);
	if (!json_is_object(info))
		return mvc__err(MVC_EFORMAT, "'%s': tensor '%s' is not a JSON object", what, q);
	dtype = json_object_get(info, "dtype");
	shape = json_object_get(info, "shape");
	offs = json_object_get(info, "data_offsets");
	if (!json_is_string(dtype))
		return mvc__err(MVC_EFORMAT, "'%s': tensor '%s' has no dtype string", what, q);
	t->dtype = mvc_dtype_from_name(json_string_value(dtype));
	/* GGUF's block types and NumPy's big-endian ones are not safetensors' */
	if (t->dtype == MVC_DTYPE_UNKNOWN || t->dtype > MVC_DTYPE_SAFETENSORS_LAST) {
		char d[MVC_QUOTE_MAX];
		return mvc__err(MVC_EFORMAT, "'%s': tensor '%s' has unknown dtype '%s'",
		    what, q, mvc_quote(d, sizeof(d), json_string_value(dtype)));
	}
	if (!json_is_array(shape))
		return mvc__err(MVC_EFORMAT, "'%s': tensor '%s' has no shape array", what, q);
	if (json_array_size(shape) > MVC_MAX_DIMS)
		return mvc__err(MVC_EFORMAT, "'%s': tensor '%s' has %zu dimensions (at most %d)",
		    what, q, json_array_size(shape), MVC_MAX_DIMS);
	t->ndim = (unsigned)json_array_size(shape);
	json_array_foreach(shape, i, v) {
		if (get_u64(&t->shape[i], v) < 0)
			return mvc__err(MVC_EFORMAT,
			    "'%s': tensor '%s': shape must be non-negative integers", what, q);
		if (!mvc_mul_u64(&nelem, nelem, t->shape[i]))
			return mvc__err(MVC_EFORMAT, "'%s': tensor '%s': shape product overflows",
			    what, q);
	}
	if (!json_is_array(offs) || json_array_size(offs) != 2 ||
	    get_u64(&begin, json_array_get(offs, 0)) < 0 ||
	    get_u64(&end, json_array_get(offs, 1)) < 0)
		return mvc__err(MVC_EFORMAT,
		    "'%s': tensor '%s': data_offsets must be two non-negative integers", what, q);
	if (begin > end || end > data_size)
		return mvc__err(MVC_EFORMAT,
		    "'%s': tensor '%s': data_offsets [%llu, %llu] out of bounds (data is %llu bytes)",
		    what, q, (unsigned long long)begin, (unsigned long long)end,
		    (unsigned long long)data_size);
	if (!mvc_mul_u64(&bits, nelem, mvc_dtype_bits(t->dtype)))
		return mvc__err(MVC_EFORMAT, "'%s': tensor '%s': size overflows", what, q);
	if (bits % 8 != 0)
		return mvc__err(MVC_EFORMAT,
		    "'%s': tensor '%s': %llu elements of %s do not fill whole bytes",
		    what, q, (unsigned long long)nelem, mvc_dtype_name(t->dtype));
	if (bits / 8 != end - begin)
		return mvc__err(MVC_EFORMAT,
		    "'%s': tensor '%s': shape and dtype give %llu bytes but data_offsets give %llu",
		    what, q, (unsigned long long)(bits / 8), (unsigned long long)(end - begin));
	t->size = end - begin;
	t->offset = begin; /* relative for now */
	return 0;
}

static int check_metadata(json_t *meta, const char *what)
{
	const char *k;
	json_t *v;

	if (!json_is_object(meta))
		return mvc__err(MVC_EFORMAT, "'%s': __metadata__ is not a JSON object", what);
	json_object_foreach(meta, k, v) {
		if (!json_is_string(v)) {
			char q[MVC_QUOTE_MAX];
			return mvc__err(MVC_EFORMAT, "'%s': __metadata__ value '%s' is not a string",
			    what, mvc_quote(q, sizeof(q), k));
		}
	}
	return 0;
}

int mvc_safetensors_parse(mvc_layout **out, const unsigned char *data, size_t len,
                          uint64_t file_size, const char *what)
{
	mvc_layout *l = NULL;
	json_t *root = NULL, *v;
	json_error_t jerr;
	uint64_t hlen = 0, data_start, data_size, pos;
	const char *key;
	size_t n = 0;
	int error = MVC_EFORMAT;

	*out = NULL;
	if (len < 8 || file_size < 8)
		return mvc__err(MVC_EFORMAT, "'%s': truncated safetensors file", what);
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | data[i];
	if (hlen > MVC_SAFETENSORS_MAX_HEADER)
		return mvc__err(MVC_EFORMAT, "'%s': safetensors header of %llu bytes is over the limit",
		    what, (unsigned long long)hlen);
	if (hlen > file_size - 8 || hlen > len - 8)
		return mvc__err(MVC_EFORMAT,
		    "'%s': safetensors header length %llu is beyond the end of the file", what,
		    (unsigned long long)hlen);
	if (hlen == 0 || data[8] != '{')
		return mvc__err(MVC_EFORMAT, "'%s': safetensors header is not a JSON object", what);
	data_start = 8 + hlen;
	data_size = file_size - data_start;

	root = json_loadb((const char *)data + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		error = mvc__err(MVC_EFORMAT, "'%s': bad safetensors header JSON at byte %d: %s",
		    what, jerr.position, jerr.text);
		goto done;
	}
	if (!json_is_object(root)) {
		error = mvc__err(MVC_EFORMAT, "'%s': safetensors header is not a JSON object", what);
		goto done;
	}
	if (!(l = mvc__calloc(1, sizeof(*l))) ||
	    !(l->tensors = mvc__calloc(json_object_size(root) + 1, sizeof(mvc_tensor)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	l->format = MVC_FORMAT_SAFETENSORS;
	l->file_size = file_size;
	json_object_foreach(root, key, v) {
		mvc_tensor *t;

		if (!strcmp(key, "__metadata__")) {
			if ((error = check_metadata(v, what)) < 0)
				goto done;
			continue;
		}
		if (!*key) {
			error = mvc__err(MVC_EFORMAT, "'%s': a tensor has an empty name", what);
			goto done;
		}
		t = &l->tensors[n];
		if (!(t->name = mvc__strdup(key))) {
			error = MVC_ENOMEM;
			goto done;
		}
		n++;
		l->ntensors = n;
		if ((error = parse_tensor(t, key, v, data_size, what)) < 0)
			goto done;
	}
	qsort(l->tensors, n, sizeof(mvc_tensor), cmp_offset);
	/* The tensors must tile the data exactly: no gap, no overlap. */
	pos = 0;
	for (size_t i = 0; i < n; i++) {
		mvc_tensor *t = &l->tensors[i];
		char q[MVC_QUOTE_MAX];

		if (t->offset < pos) {
			error = mvc__err(MVC_EFORMAT, "'%s': tensor '%s' overlaps the tensor before it",
			    what, mvc_quote(q, sizeof(q), t->name));
			goto done;
		}
		if (t->offset > pos) {
			error = mvc__err(MVC_EFORMAT,
			    "'%s': bytes %llu to %llu of the data belong to no tensor", what,
			    (unsigned long long)pos, (unsigned long long)t->offset);
			goto done;
		}
		pos = t->offset + t->size;
		t->offset += data_start;
	}
	if (pos != data_size) {
		error = mvc__err(MVC_EFORMAT,
		    "'%s': data_offsets cover %llu of the %llu data bytes", what,
		    (unsigned long long)pos, (unsigned long long)data_size);
		goto done;
	}
	*out = l;
	l = NULL;
	error = 0;
done:
	json_decref(root);
	mvc_layout_free(l);
	return error;
}
