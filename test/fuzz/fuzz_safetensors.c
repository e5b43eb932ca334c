/*
 * mvc_safetensors_parse(): the header of a model file, from anywhere.
 * The last input byte picks how much longer than the bytes read the file
 * claims to be (the tensor data is never read while parsing).  A layout
 * that parses must keep its promises: tensors in file order, inside the
 * file, tiling the data, sizes that match dtype and shape.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mvc_layout *l = NULL;
	uint64_t file_size, extra;

	if (size < 1)
		return 0;
	extra = (uint64_t)data[size - 1] << 6;
	size--;
	file_size = size + extra;
	if (mvc_safetensors_parse(&l, data, size, file_size, "fuzz") == 0) {
		uint64_t pos = 0, hlen = 0;

		for (int i = 7; i >= 0; i--)
			hlen = hlen << 8 | data[i];
		pos = 8 + hlen;
		FUZZ_ASSERT(l->file_size == file_size);
		for (size_t i = 0; i < l->ntensors; i++) {
			const mvc_tensor *t = &l->tensors[i];
			uint64_t bits = mvc_tensor_nelem(t) * mvc_dtype_bits(t->dtype);

			FUZZ_ASSERT(t->name && *t->name);
			FUZZ_ASSERT(t->ndim <= MVC_MAX_DIMS);
			FUZZ_ASSERT(t->offset == pos);
			FUZZ_ASSERT(bits / 8 == t->size && bits % 8 == 0);
			pos += t->size;
		}
		FUZZ_ASSERT(pos == file_size);
	}
	mvc_layout_free(l);
	mvc_error_clear();
	return 0;
}
