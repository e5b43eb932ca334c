/*
 * The trust parsers of lib/sign.c, on bytes from anywhere: secret key
 * files (keyfile_parse), trusted-keys files (mvc_trusted_parse) and
 * signed commits as mvc_verify() reads them (split_signed, then
 * parse_payload on the mvcsig header and signed_digests on the
 * message).  The static functions are reached by including sign.c.
 * Byte 0 picks which.
 */
#include "fuzz.h"
#include "../../lib/sign.c"

static void fuzz_keyfile(const uint8_t *data, size_t size)
{
	unsigned char *seed = sodium_malloc(SEED_SIZE);
	keyfile kf;

	keyfile_parse(&kf, NULL, (const char *)data, size, "fuzz");
	keyfile_parse(&kf, seed, (const char *)data, size, "fuzz");
	sodium_free(seed);
}

static void fuzz_trusted(const uint8_t *data, size_t size)
{
	mvc_trusted *t = NULL;

	if (mvc_trusted_parse(&t, (const char *)data, size, "fuzz") == 0) {
		for (size_t i = 0; i < t->count; i++)
			FUZZ_ASSERT(t->keys[i].name && strlen(t->keys[i].name) <= MVC_KEY_NAME_MAX);
		mvc_trusted_free(t);
	}
}

static void fuzz_commit(const uint8_t *data, size_t size)
{
	mvc_buf content = MVC_BUF_INIT;
	mvc_verify_result r;
	unsigned char sig[SIG_SIZE];
	char *payload = NULL;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = split_signed(&content, &payload, (const char *)data, size);
	if (rc >= 0 && payload)
		parse_payload(&r, sig, payload);
	if (rc >= 0) {
		const char *msg = content.len ? memmem(content.ptr, content.len, "\n\n", 2) : NULL;
		signed_file *sf = NULL;
		size_t n = 0;

		msg = msg ? msg + 2 : content.ptr;
		if (msg && signed_digests(&sf, &n, &r, msg, content.len - (size_t)(msg - content.ptr)) == 0)
			for (size_t i = 0; i < n; i++)
				FUZZ_ASSERT(sf[i].path && *sf[i].path);
		free_signed(sf, n);
	}
	mvc_verify_result_clear(&r);
	free(payload);
	mvc_buf_free(&content);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || mvc__global_init() < 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_keyfile(data + 1, size - 1);
		break;
	case 1:
		fuzz_trusted(data + 1, size - 1);
		break;
	case 2:
		fuzz_commit(data + 1, size - 1);
		break;
	}
	mvc_error_clear();
	return 0;
}
