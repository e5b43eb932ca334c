/* Bounded reads for the format parsers (see bytesrc.h). */
#include <stdlib.h>
#include <string.h>
#include "bytesrc.h"

static int truncated(const mvc__src *s, uint64_t need)
{
	return mvc__err(MVC_EFORMAT, "'%s': truncated %s file (%llu bytes; the header needs %llu)",
	    s->what, s->kind, (unsigned long long)s->size, (unsigned long long)need);
}

int mvc__src_read(const mvc__src *s, void *buf, size_t len, uint64_t off)
{
	uint64_t end;

	if (!mvc_add_u64(&end, off, len) || end > s->size)
		return truncated(s, mvc_add_u64(&end, off, len) ? end : UINT64_MAX);
	if (!len)
		return 0;
	if (s->mem) {
		if (end > s->memlen)
			return truncated(s, end);
		memcpy(buf, s->mem + off, len);
		return 0;
	}
	return mvc_read_at(s->fd, buf, len, off, s->what);
}

int mvc__src_view(const unsigned char **out, const mvc__src *s, unsigned char *scratch,
                  size_t len, uint64_t off)
{
	uint64_t end;
	int error;

	if (s->mem) {
		if (!mvc_add_u64(&end, off, len) || end > s->size || end > s->memlen)
			return truncated(s, mvc_add_u64(&end, off, len) ? end : UINT64_MAX);
		*out = s->mem + off;
		return 0;
	}
	if ((error = mvc__src_read(s, scratch, len, off)) < 0)
		return error;
	*out = scratch;
	return 0;
}

bool mvc__utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static int cmp_offset(const void *a, const void *b)
{
	const mvc_tensor *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mvc__layout_sort_check(mvc_layout *l, const char *what)
{
	char **names, q[MVC_QUOTE_MAX];
	int error = 0;

	qsort(l->tensors, l->ntensors, sizeof(*l->tensors), cmp_offset);
	for (size_t i = 1; i < l->ntensors; i++)
		if (l->tensors[i].offset < l->tensors[i - 1].offset + l->tensors[i - 1].size)
			return mvc__err(MVC_EFORMAT, "'%s': tensor '%s' overlaps the tensor before it",
			    what, mvc_quote(q, sizeof(q), l->tensors[i].name));
	if (!(names = mvc__calloc(l->ntensors + 1, sizeof(*names))))
		return MVC_ENOMEM;
	for (size_t i = 0; i < l->ntensors; i++)
		names[i] = l->tensors[i].name;
	qsort(names, l->ntensors, sizeof(*names), cmp_name);
	for (size_t i = 1; i < l->ntensors && !error; i++)
		if (!strcmp(names[i], names[i - 1]))
			error = mvc__err(MVC_EFORMAT, "'%s': two tensors are named '%s' (duplicate names)",
			    what, mvc_quote(q, sizeof(q), names[i]));
	free(names);
	return error;
}
