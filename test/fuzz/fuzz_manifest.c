/*
 * mvc_manifest_parse(): the MANIFEST blob of a stored file, which may
 * come from any remote.  A manifest that parses must be consistent (the
 * digests it was checked against, tensors inside the file), must be
 * cut into chunks without overflow (mvc__chunk_list, as checkout does;
 * content-defined chunks of opaque files too, whose offsets and lengths
 * must agree with mvc_manifest_chunk_*), and must survive a write and a
 * second parse unchanged.
 */
#include "fuzz.h"
#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mvc_manifest *m = NULL, *m2 = NULL;
	mvc_chunk_ref *refs = NULL;
	size_t nrefs = 0, total = 0;
	char *text = NULL;
	size_t len = 0;

	if (mvc_manifest_parse(&m, (const char *)data, size) == 0) {
		uint64_t covered = 0;

		for (size_t i = 0; i < m->ntensors; i++) {
			const mvc_manifest_tensor *mt = &m->tensors[i];

			FUZZ_ASSERT(mt->chunk_size >= 1 && mt->chunk_size <= MVC_CHUNK_MAX);
			FUZZ_ASSERT(mt->t.offset + mt->t.size <= m->file_size);
			FUZZ_ASSERT(i == 0 || mt->t.offset >= m->tensors[i - 1].t.offset +
			                                       m->tensors[i - 1].t.size);
			covered += mt->t.size;
			total += (size_t)mt->nchunks;
		}
		FUZZ_ASSERT(covered + m->header_size == m->file_size);
		if (mvc__chunk_list(&refs, &nrefs, m) == 0) {
			FUZZ_ASSERT(nrefs == total);
			for (size_t k = 0; k < nrefs; k++) {
				const mvc_manifest_tensor *mt = &m->tensors[refs[k].tensor];
				uint64_t rel = refs[k].offset - mt->t.offset;

				FUZZ_ASSERT(refs[k].len >= 1 && refs[k].len <= mt->chunk_size);
				FUZZ_ASSERT(refs[k].offset + refs[k].len <= mt->t.offset + mt->t.size);
				FUZZ_ASSERT(mvc_manifest_chunk_offset(mt, refs[k].chunk) == rel);
				FUZZ_ASSERT(mvc_manifest_chunk_len(mt, refs[k].chunk) == refs[k].len);
				FUZZ_ASSERT(mvc_manifest_chunk_at(mt, rel) == refs[k].chunk);
				FUZZ_ASSERT(mvc_manifest_chunk_at(mt, rel + refs[k].len - 1) == refs[k].chunk);
			}
		}
		FUZZ_ASSERT(mvc_manifest_write(&text, &len, m) == 0);
		FUZZ_ASSERT(mvc_manifest_parse(&m2, text, len) == 0);
		FUZZ_ASSERT(m2->ntensors == m->ntensors && m2->file_size == m->file_size);
		FUZZ_ASSERT(!memcmp(m2->digest, m->digest, MVC_DIGEST_SIZE));
		for (size_t i = 0; i < m->ntensors; i++)
			FUZZ_ASSERT(!strcmp(m->tensors[i].t.name, m2->tensors[i].t.name));
	}
	free(refs);
	free(text);
	mvc_manifest_free(m);
	mvc_manifest_free(m2);
	mvc_error_clear();
	return 0;
}
