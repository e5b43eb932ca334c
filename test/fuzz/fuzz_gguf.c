/*
 * mvc_gguf_parse() (lib/gguf.c): a GGUF file's header -- metadata of
 * every type, nested arrays, tensor infos -- from anywhere.  The last
 * input byte says how much longer than the bytes given the file claims
 * to be (tensor data is not read while parsing).  What parses must keep
 * a layout's promises (fuzz.h), and format detection must agree.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mvc_layout *l = NULL;
	uint64_t file_size;

	if (size < 1)
		return 0;
	size--;
	file_size = size + ((uint64_t)data[size] << 8);
	if (mvc_gguf_parse(&l, data, size, file_size, "fuzz") == 0) {
		fuzz_check_layout(l, file_size);
		FUZZ_ASSERT(mvc_format_detect(data, size, file_size) == MVC_FORMAT_GGUF);
	}
	mvc_layout_free(l);
	mvc_error_clear();
	return 0;
}
