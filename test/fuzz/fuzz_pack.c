/*
 * Pack indexes and delta chains as the object database guard reads them
 * (lib/odb.c): mvc__pack_idx_check(), mvc__pack_idx_find() and
 * mvc__pack_chain_check() on an index and a pack from anywhere.  Input:
 * a 2-byte index length, the index, then the pack.  Every object of an
 * index that checks is looked up and its chain followed: all must return
 * without reading out of bounds.
 */
#include "fuzz.h"
#include "odb.h"

typedef struct mem {
	const uint8_t *p;
	size_t len;
} mem;

static size_t mem_read(void *ctx, uint64_t off, unsigned char *buf, size_t n)
{
	const mem *m = ctx;

	if (off >= m->len)
		return 0;
	if (n > m->len - off)
		n = (size_t)(m->len - off);
	memcpy(buf, m->p + off, n);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t ilen = (size_t)fuzz_take(&data, &size, 2);
	unsigned char *idx;
	uint32_t count;
	mem pack;

	if (ilen > size)
		ilen = size;
	/* an exact copy: a read past the index is caught */
	idx = malloc(ilen ? ilen : 1);
	memcpy(idx, data, ilen);
	pack.p = data + ilen;
	pack.len = size - ilen;
	if (mvc__pack_idx_check(idx, ilen, &count) == 0) {
		for (uint32_t i = 0; i < count && i < 256; i++) {
			const unsigned char *name = idx + 8 + 1024 + 20 * (size_t)i;
			int64_t off = mvc__pack_idx_find(idx, ilen, name);
			const char *why;

			if (off >= 0 && mvc__pack_chain_check(idx, ilen, mem_read, &pack, pack.len,
			                    (uint64_t)off, &why) < 0)
				FUZZ_ASSERT(why != NULL);
		}
	}
	free(idx);
	return 0;
}
