/*
 * mvc__loose_inflate() (lib/odb.c): loose object files, read by mvc
 * itself because libgit2 1.5.1 never returns from a truncated one.
 * Whatever the bytes, it must return; an object it accepts must inflate
 * to exactly the size its header gives, and the header alone must agree.
 */
#include "fuzz.h"
#include "odb.h"

static void *fz_alloc(size_t n, void *ctx)
{
	(void)ctx;
	return malloc(n);
}

static void fz_free(void *p, void *ctx)
{
	(void)ctx;
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	git_object_t type, htype;
	size_t len = 0, hlen = 0;
	void *body = NULL;
	const char *why;
	int rc;

	rc = mvc__loose_inflate(data, size, &type, &len, &body, fz_alloc, fz_free, NULL, &why);
	FUZZ_ASSERT(rc == 0 ? body != NULL : why != NULL && body == NULL);
	if (rc == 0) {
		FUZZ_ASSERT(((unsigned char *)body)[len] == '\0');
		FUZZ_ASSERT(mvc__loose_inflate(data, size, &htype, &hlen, NULL, fz_alloc, fz_free, NULL,
		    &why) == 0);
		FUZZ_ASSERT(htype == type && hlen == len);
		free(body);
	}
	return 0;
}
