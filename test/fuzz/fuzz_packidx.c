/*
 * Pack indexes read as files (lib/packidx.c, for mvc du, gc and prune):
 * mvc__odbfiles_open() on an index from anywhere, beside a pack of the
 * size the input's first 3 bytes give; then every object it lists found
 * again (when the ids are in order), with its offset and its size as
 * stored, which must lie inside the pack.
 */
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz.h"
#include "packidx.h"

static char *dir, *idxpath, *packpath;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p) < 0 ? -1 : 0;
}

static void cleanup(void)
{
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	free(idxpath);
	free(packpath);
}

static void setup(void)
{
	char tmpl[] = "/tmp/mvc-fuzz-packidx.XXXXXX";
	char *packdir;

	if (!mkdtemp(tmpl) || !(dir = strdup(tmpl)) || asprintf(&packdir, "%s/pack", dir) < 0 ||
	    mkdir(packdir, 0777) < 0 ||
	    asprintf(&idxpath, "%s/pack-0000000000000000000000000000000000000000.idx", packdir) < 0 ||
	    asprintf(&packpath, "%s/pack-0000000000000000000000000000000000000000.pack", packdir) < 0)
		abort();
	free(packdir);
	atexit(cleanup);
}

static void put(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t packlen = (size_t)fuzz_take(&data, &size, 3);
	mvc_odbfiles *f = NULL;

	if (!dir)
		setup();
	put(idxpath, data, size);
	put(packpath, "", 0);
	if (truncate(packpath, (off_t)packlen) < 0)
		abort();
	if (mvc__odbfiles_open(&f, dir) == 0) {
		for (size_t k = 0; k < f->npacks; k++) {
			const mvc_packidx *p = &f->packs[k];

			for (uint32_t i = 0; i < p->count; i++) {
				git_oid id;
				uint32_t j;
				uint64_t off, stored;
				size_t pk;

				/* ids out of order are not found (by libgit2 either) */
				mvc__packidx_oid(&id, p, i);
				if (!mvc__packidx_find(&j, p, &id))
					continue;
				off = mvc__packidx_offset(p, j);
				FUZZ_ASSERT(off >= 12 && off < p->pack_size - 20);
				FUZZ_ASSERT(mvc__packidx_entry_size(p, off) <= p->pack_size - 20 - off);
				FUZZ_ASSERT(mvc__odbfiles_find(&stored, &pk, f, &id) == 1);
			}
		}
		mvc__odbfiles_free(f);
	}
	mvc_error_clear();
	return 0;
}
