/*
 * NumPy files (lib/npy.c) from anywhere: byte 0 picks mvc_npy_parse()
 * (an .npy header; the file claims byte 1 x 256 bytes more than given)
 * or mvc_npz_parse() (a whole .npz zip archive: local headers, central
 * directory, ZIP64 fields, each member's .npy header).  What parses must
 * keep a layout's promises (fuzz.h).
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mvc_layout *l = NULL;
	uint64_t file_size;
	unsigned mode;

	if (size < 2)
		return 0;
	mode = data[0];
	file_size = size - 2 + ((uint64_t)data[1] << 8);
	data += 2;
	size -= 2;
	if (mode & 1) {
		if (mvc_npz_parse(&l, data, size, size, "fuzz") == 0)
			fuzz_check_layout(l, size);
	} else if (mvc_npy_parse(&l, data, size, file_size, "fuzz") == 0) {
		fuzz_check_layout(l, file_size);
	}
	mvc_layout_free(l);
	mvc_error_clear();
	return 0;
}
