/*
 * The data files of mvc score (lib/csv.c): interactions "user,item[,w]"
 * and classifier rows "features...,label", read from a file as
 * mvc__inter_read() and mvc__rows_read() do.  Byte 0 picks the reader
 * and, for interactions, the size of the item and user tables.  What
 * reads must keep its promises: users ascending, items in range and
 * ascending within a user; rows of the same width, labels 0 or 1.
 */
#include <sys/mman.h>
#include <unistd.h>
#include "fuzz.h"
#include "eval.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode;

	if (fd < 0) {
		if ((fd = memfd_create("fuzz.csv", 0)) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	if (mode & 1) {
		mvc__rows r;

		if (mvc__rows_read(&r, path) == 0) {
			FUZZ_ASSERT(r.n > 0 && r.nfeat > 0);
			for (size_t i = 0; i < r.n; i++)
				FUZZ_ASSERT(r.y[i] <= 1);
			mvc__rows_free(&r);
		}
	} else {
		uint64_t n_items = 1 + (mode >> 1) % 64, n_users = (mode >> 7) ? 16 : 0;
		mvc__inter in;

		if (mvc__inter_read(&in, path, n_items, n_users) == 0) {
			FUZZ_ASSERT(in.nusers > 0 && in.start[in.nusers] == in.n);
			for (size_t u = 0; u < in.nusers; u++) {
				FUZZ_ASSERT(u == 0 || in.users[u - 1] < in.users[u]);
				FUZZ_ASSERT(!n_users || in.users[u] < n_users);
				FUZZ_ASSERT(mvc__inter_find(&in, in.users[u]) == (long)u);
				for (size_t k = in.start[u]; k < in.start[u + 1]; k++) {
					FUZZ_ASSERT(in.items[k] < n_items);
					FUZZ_ASSERT(k == in.start[u] || in.items[k - 1] < in.items[k]);
				}
			}
			mvc__inter_free(&in);
		}
	}
	mvc_error_clear();
	return 0;
}
