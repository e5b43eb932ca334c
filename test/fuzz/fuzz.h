/*
 * Shared by the fuzz targets (test/fuzz/fuzz_*.c).  Each target is one
 * LLVMFuzzerTestOneInput(): built with libFuzzer by `make fuzz`, and with
 * test/fuzz/standalone.c (a main() that feeds it files) for `make check`,
 * which runs every seed and every saved crash input through it.
 */
#ifndef MVC_FUZZ_H
#define MVC_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A promise the code under test broke: abort, so the input is kept. */
#define FUZZ_ASSERT(c) do {                                                    \
	if (!(c)) {                                                            \
		fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #c);\
		abort();                                                       \
	}                                                                      \
} while (0)

/* Consume a little-endian integer of n bytes from the front of the input
 * (0 for missing bytes). */
static inline uint64_t fuzz_take(const uint8_t **data, size_t *size, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++) {
		if (*size) {
			v |= (uint64_t)**data << (8 * i);
			(*data)++;
			(*size)--;
		}
	}
	return v;
}

/*
 * The promises of a parsed model file (include/mvc/model.h): tensors in
 * offset order, never overlapping, inside the file, each a whole number
 * of its dtype's units and the size that dtype and shape give.
 */
static inline void fuzz_check_layout(const mvc_layout *l, uint64_t file_size)
{
	uint64_t end = 0;

	FUZZ_ASSERT(l->file_size == file_size);
	for (size_t i = 0; i < l->ntensors; i++) {
		const mvc_tensor *t = &l->tensors[i];
		uint64_t size;

		FUZZ_ASSERT(t->name != NULL);
		FUZZ_ASSERT(t->ndim <= MVC_MAX_DIMS);
		FUZZ_ASSERT(t->offset >= end && t->offset <= file_size);
		FUZZ_ASSERT(t->size <= file_size - t->offset);
		FUZZ_ASSERT(mvc_dtype_size(&size, t->dtype, mvc_tensor_nelem(t)) && size == t->size);
		end = t->offset + t->size;
	}
}

#endif
