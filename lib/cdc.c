/* Content-defined chunking (see cdc.h). */
#include <stdlib.h>
#include <string.h>
#include "cdc.h"

/* The gear table: 256 outputs of splitmix64 from a fixed seed.  It
 * decides where cuts fall, so changing it would only cost the dedup of
 * the next version of each file, never the reading of stored ones. */
static void gear_table(uint64_t g[256])
{
	uint64_t s = 0x6d76632d63646321ull; /* "mvc-cdc!" */

	for (int i = 0; i < 256; i++) {
		uint64_t z = (s += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		g[i] = z ^ (z >> 31);
	}
}

static const uint64_t *gear(void)
{
	static uint64_t table[256];
	static int ready;  /* written once with the same values: a benign race */

	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		uint64_t t[256];

		gear_table(t);
		memcpy(table, t, sizeof(t));
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
	return table;
}

uint64_t mvc__cdc_max(uint64_t target)
{
	uint64_t max = target > MVC_CHUNK_MAX / 4 ? MVC_CHUNK_MAX : 4 * target;

	return max < 64 ? 64 : max;
}

static unsigned log2_floor(uint64_t v)
{
	unsigned b = 0;

	while (v >>= 1)
		b++;
	return b;
}

uint64_t mvc__cdc_next(const unsigned char *p, uint64_t n, uint64_t max)
{
	const uint64_t *g = gear();
	uint64_t min = max / 16, avg = max / 4, limit = n < max ? n : max, normal, h = 0, i;
	unsigned bits = log2_floor(avg ? avg : 1);
	/* normalised chunking: harder to cut before the average, easier after */
	uint64_t mask_s = ~0ull << (64 - (bits + 2 > 63 ? 63 : bits + 2));
	uint64_t mask_l = ~0ull << (64 - (bits > 3 ? bits - 2 : 1));

	if (n <= min)
		return n;
	normal = avg < limit ? avg : limit;
	for (i = min; i < normal; i++) {
		h = (h << 1) + g[p[i]];
		if (!(h & mask_s))
			return i + 1;
	}
	for (; i < limit; i++) {
		h = (h << 1) + g[p[i]];
		if (!(h & mask_l))
			return i + 1;
	}
	return limit;
}

int mvc__cdc_cut_mem(uint64_t **out, size_t *count, const unsigned char *data, size_t len,
                     uint64_t max)
{
	size_t n = 0, cap = 16;
	uint64_t *v = mvc__malloc(cap * sizeof(*v));

	*out = NULL;
	*count = 0;
	if (!v)
		return MVC_ENOMEM;
	for (size_t pos = 0; pos < len;) {
		uint64_t c = mvc__cdc_next(data + pos, len - pos, max);

		if (n == cap) {
			uint64_t *nv = realloc(v, (cap *= 2) * sizeof(*v));

			if (!nv) {
				free(v);
				return mvc__err(MVC_ENOMEM, "out of memory");
			}
			v = nv;
		}
		v[n++] = c;
		pos += (size_t)c;
	}
	*out = v;
	*count = n;
	return 0;
}

int mvc__cdc_cut_fd(uint64_t **offsets, uint64_t *count, int fd, uint64_t off, uint64_t len,
                    uint64_t max, const char *what)
{
	unsigned char *buf = NULL;
	uint64_t *v = NULL, n = 0, cap = 16, pos = 0, have = 0, start = 0;
	int error = 0;

	*offsets = NULL;
	*count = 0;
	if (max == 0 || max > MVC_CHUNK_MAX)
		return mvc__err(MVC_EINVALID, "bad content-defined chunk size %llu",
		    (unsigned long long)max);
	/* [start, start + have) of the data is in buf; pos is the next cut's start */
	if (!(buf = mvc__malloc((size_t)(len < max ? (len ? len : 1) : max))) ||
	    !(v = mvc__malloc((size_t)cap * sizeof(*v)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	v[n++] = 0;
	while (pos < len) {
		uint64_t want = len - pos < max ? len - pos : max, c;

		if (pos + want > start + have) {
			uint64_t keep = start + have - pos, get = want - keep;

			memmove(buf, buf + (pos - start), (size_t)keep);
			if ((error = mvc_read_at(fd, buf + keep, (size_t)get, off + pos + keep, what)) < 0)
				goto done;
			start = pos;
			have = want;
		}
		c = mvc__cdc_next(buf + (pos - start), want, max);
		pos += c;
		if (n == cap) {
			uint64_t *nv = realloc(v, (size_t)(cap *= 2) * sizeof(*v));

			if (!nv) {
				error = mvc__err(MVC_ENOMEM, "out of memory");
				goto done;
			}
			v = nv;
		}
		v[n++] = pos;
	}
	*offsets = v;
	*count = n - 1;
	v = NULL;
done:
	free(v);
	free(buf);
	return error;
}
