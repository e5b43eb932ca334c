/*
 * The working-file records (.mvc/mvc-state, lib/state.c): a cache, so a
 * damaged file must read as empty or partial, never crash or hang.  The
 * input is the file; it is loaded, looked up, changed and saved again,
 * and the saved file must load to the same records.
 */
#include <ftw.h>
#include <unistd.h>
#include "fuzz.h"
#include "scan.h"

static mvc_repo *repo;
static char *statefile, *workfile;

static char *dir;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p) < 0 ? -1 : 0;
}

static void cleanup(void)
{
	mvc_repo_free(repo);
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	free(statefile);
	free(workfile);
}

static void setup(void)
{
	char tmpl[] = "/tmp/mvc-fuzz-state.XXXXXX";
	FILE *f;

	if (!mkdtemp(tmpl) || !(dir = strdup(tmpl)) || mvc_repo_init(&repo, dir) < 0)
		abort();
	atexit(cleanup);
	if (asprintf(&statefile, "%s/.mvc/mvc-state", mvc_repo_workdir(repo)) < 0 ||
	    asprintf(&workfile, "%s/m.safetensors", mvc_repo_workdir(repo)) < 0)
		abort();
	if (!(f = fopen(workfile, "w")))
		abort();
	fputs("x", f);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mvc_state st, again;
	unsigned char d[MVC_DIGEST_SIZE] = { 1 };
	mvc_oid v = { { 2 } };
	FILE *f;

	if (!repo)
		setup();
	if (!(f = fopen(statefile, "wb")) || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	if (mvc__state_load(&st, repo) < 0) {
		mvc_error_clear();
		return 0;
	}
	for (size_t i = 0; i < st.count; i++) {
		FUZZ_ASSERT(mvc__state_get(&st, st.entries[i].path) != NULL);
		mvc__state_fresh(&st.entries[i], workfile);
	}
	FUZZ_ASSERT(mvc__state_set(&st, "m.safetensors", workfile, d, &v, 0) == 0);
	FUZZ_ASSERT(mvc__state_save(&st, repo) == 0);
	FUZZ_ASSERT(mvc__state_load(&again, repo) == 0);
	FUZZ_ASSERT(mvc__state_get(&again, "m.safetensors") != NULL);
	mvc__state_free(&again);
	mvc__state_free(&st);
	mvc_error_clear();
	return 0;
}
